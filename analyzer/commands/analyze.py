"""`scriptcheck analyze PATH...`: compliance reports for files, cases, or whole folders."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_OUT = "scriptcheck-report"
DEFAULT_FORMATS = "json,html,csv,xlsx"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help=(
            "录音文件，或文件夹（其中的单个文件各为一条录音，同一设备首尾相接的分段文件自动合并为一个案件；"
            "每个子文件夹为一个案件）"
        ),
    )
    parser.add_argument("-o", "--out", default=DEFAULT_OUT, help=f"输出文件夹（默认 {DEFAULT_OUT}）")
    parser.add_argument(
        "--format",
        default=DEFAULT_FORMATS,
        help=f"输出格式，逗号分隔：json,html,srt,vtt,csv,xlsx（默认 {DEFAULT_FORMATS}；JSON 总会写出）",
    )
    parser.add_argument("--profile", help="执法类型（如 inspection、on_site_penalty）；不指定则按内容推断")
    parser.add_argument("--guide", help="用语指引名称或 TOML 路径（默认 phrasebook/default.toml）")
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="并行进程数（默认 0 = 按 CPU 核数、内存和文件数自动决定；受其限制）",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="每个进程（或 Ray 任务）的转写线程数（默认 核数/进程数；Ray 为 1）",
    )
    parser.add_argument(
        "--executor",
        choices=("local", "ray"),
        default="local",
        help=(
            "在哪里分析：local 本机（默认）；ray 每条录音一个 Ray 任务"
            "（输入与输出须在所有节点都能访问的共享存储上）"
        ),
    )
    parser.add_argument(
        "--ray-address",
        metavar="ADDRESS",
        help="加入已有的 Ray 集群（如 10.0.0.5:6379）；不指定则在本机启动一个 Ray 实例",
    )
    parser.add_argument("--engine", choices=("faster-whisper", "openai-whisper"), help="转写引擎")
    parser.add_argument("--model", help="模型名称或路径（默认内置 Whisper base）")
    parser.add_argument("--beam-size", type=int, help="束搜索宽度（默认见 transcribe）")
    parser.add_argument(
        "--batch-size",
        type=int,
        help="同时解码的语音块数（1 = 逐窗口顺序解码；默认见 transcribe，仅 faster-whisper）",
    )
    parser.add_argument("--case", action="store_true", help="把给出的每个文件夹当作一个案件（多个文件）")
    parser.add_argument(
        "--no-group",
        action="store_true",
        help="不自动合并同一设备首尾相接的分段文件（每个文件单独分析）",
    )
    parser.add_argument("--force", action="store_true", help="忽略已有结果，全部重新分析")
    parser.add_argument(
        "--embed-media", action="store_true", help="把原始音视频嵌入 HTML（默认只链接原文件）"
    )
    parser.add_argument("--no-cache", action="store_true", help="不使用转写缓存")
    parser.add_argument("--no-progress", action="store_true", help="不显示进度条")


def run(args: argparse.Namespace) -> int:
    from analyzer.batch import run_batch
    from analyzer.guide import GuideError
    from analyzer.pipeline import AnalyzeOptions
    from analyzer.report import terminal_table

    extra = {"beam_size": args.beam_size} if args.beam_size else {}
    if args.batch_size:
        extra["batch_size"] = args.batch_size
    options = AnalyzeOptions(
        guide=args.guide,
        profile=args.profile,
        engine=args.engine,
        model=args.model,
        transcribe=extra,
        threads=args.threads,
        cache=not args.no_cache,
    )
    formats = [f.strip().lower() for f in args.format.split(",") if f.strip()]
    try:
        outcome = run_batch(
            args.paths,
            args.out,
            options,
            formats=formats,
            workers=args.workers,
            folder_is_case=args.case,
            group=not args.no_group,
            force=args.force,
            embed_media=args.embed_media,
            progress=not args.no_progress and sys.stderr.isatty(),
            executor=args.executor,
            ray_address=args.ray_address,
        )
    except (GuideError, ValueError) as err:
        print(f"错误 / error: {err}", file=sys.stderr)
        return 2
    if not outcome.rows:
        print("错误 / error: 未找到可分析的录音文件 / no recordings found", file=sys.stderr)
        return 2
    print(terminal_table(outcome.rows))
    if outcome.grouped:
        print(f"\n自动合并的案件（同一设备、起止时间首尾相接；--no-group 关闭）：{len(outcome.grouped)} 个")
        for job in outcome.grouped:
            names = " → ".join(Path(p).name for p in job.paths)
            why = job.grouping.reason_text() if job.grouping is not None else ""
            print(f"  {job.name}：{names}\n    {why}")
    counts = f"新分析 {outcome.analysed}，沿用 {outcome.skipped}，失败 {outcome.failed}"
    print(f"\n共 {len(outcome.rows)} 条：{counts}。结果在 {Path(args.out)}/")
    return outcome.exit_code
