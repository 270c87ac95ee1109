"""Command-line entry point: `scriptcheck SUBCOMMAND ...` (also `python -m analyzer`).

Each subcommand lives in `analyzer/commands/<name>.py` and exposes
`add_arguments(parser)` and `run(args) -> int`; modules are imported lazily so that
`scriptcheck --help` does not load Whisper or the web stack.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# name -> (module, one-line Chinese/English help)
COMMANDS: dict[str, tuple[str, str]] = {
    "transcribe": ("analyzer.commands.transcribe", "转写录音（本地 Whisper）/ transcribe recordings"),
    "check": ("analyzer.commands.check", "对转写稿逐条比对用语指引 / match a transcript against a guide"),
    "guide": ("analyzer.commands.guide", "用语指引文件工具 / phrase-guide tools (validate, show)"),
    "gaps": ("analyzer.commands.gaps", "查找中断、剪接与空白 / find gaps, cuts and interruptions"),
    "analyze": ("analyzer.commands.analyze", "合规分析并生成报告 / full compliance analysis and reports"),
    "train": ("analyzer.commands.train", "规范用语训练 / training mode for standard phrases"),
    "serve": ("analyzer.commands.serve", "启动本地审阅网页 / run the local reviewer web app"),
    "eval": ("analyzer.commands.eval", "在标注语料上评测 / evaluate on a labelled corpus"),
    "report": ("analyzer.commands.report", "月度统计报告 / monthly compliance report (XLSX + HTML)"),
    "retention": ("analyzer.commands.retention", "保存期限：列出到期录像 / recordings past retention"),
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scriptcheck", description="执法音像记录规范用语合规分析 (Scriptcheck)"
    )
    parser.add_argument("--version", action="version", version=f"scriptcheck {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if only is None or only == name:
            module = importlib.import_module(module_name)
            module.add_arguments(p)
            p.set_defaults(_run=module.run)
    return parser


def _version() -> str:
    from analyzer import __version__

    return __version__


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # Only import the chosen subcommand's module (keeps `--help` and startup fast).
    chosen = next((a for a in argv if a in COMMANDS), None)
    parser = build_parser(only=chosen if chosen else "__none__")
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("已中断 / interrupted", file=sys.stderr)
        return 130
