"""`scriptcheck check TRANSCRIPT.json [--guide PATH]`: per-phrase match table for one transcript."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

STATUS_ZH = {"present": "已说", "partial": "部分", "absent": "未说"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("transcript", help="转写稿 JSON（scriptcheck transcribe 的输出）")
    parser.add_argument(
        "--guide", default=None, help="用语指引名称或 TOML 路径（默认 phrasebook/default.toml）"
    )
    parser.add_argument("--json", action="store_true", help="输出 JSON 而不是表格")
    parser.add_argument("--diff", action="store_true", help="同时显示与标准用语的逐字差异")


def _fmt_time(t: float | None) -> str:
    if t is None:
        return "-"
    m, s = divmod(t, 60)
    return f"{int(m):02d}:{s:04.1f}"


def format_table(guide, matches, show_diff: bool = False) -> str:
    from analyzer.match import mark_diff

    header = ["用语", "名称", "状态", "得分", "开始", "结束", "缺少关键词", "槽位", "所说内容"]
    rows = []
    for m in matches:
        phrase = guide.phrase(m.phrase_id)
        slots = "；".join(f"{phrase.slot(k).title}={v}" for k, v in m.slots.items())
        missing = "、".join(m.missing_terms) if m.status != "absent" else ""
        rows.append(
            [
                m.phrase_id,
                phrase.title,
                STATUS_ZH[m.status],
                f"{m.score:.0f}",
                _fmt_time(m.start_s),
                _fmt_time(m.end_s),
                missing,
                slots,
                m.text[:40],
            ]
        )
    lines = ["\t".join(header)]
    for row, m in zip(rows, matches, strict=True):
        lines.append("\t".join(row))
        if show_diff and m.status != "absent":
            lines.append(f"\t  标准：{m.standard}\n\t  比对：{mark_diff(m.diff)}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from analyzer.guide import GuideError, load_guide
    from analyzer.match import match_transcript
    from analyzer.transcribe import Transcript

    try:
        guide = load_guide(args.guide)
    except GuideError as exc:
        print(f"错误: {exc}", file=sys.stderr)
        return 2
    path = Path(args.transcript)
    try:
        transcript = Transcript.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"错误: {path}: 无法读取转写稿 / cannot read transcript: {exc}", file=sys.stderr)
        return 2
    matches = match_transcript(transcript, guide)
    if args.json:
        print(json.dumps([m.to_dict() for m in matches], ensure_ascii=False, indent=2))
    else:
        print(f"用语指引：{guide.title}（{guide.id}）  转写稿：{path}")
        print(format_table(guide, matches, args.diff))
    return 0
