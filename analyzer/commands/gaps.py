"""`scriptcheck gaps PATH...`: interruptions, cuts, dropouts and long silences of one recording or
case (a folder, or several files of one case), as a Chinese table or JSON.

Signal and container checks need no model; the resume-statement check (第十条) transcribes the
audio after each interruption with local Whisper unless --no-transcribe is given, with the coverage
pass `analyze` uses: speech in that window that no decode reads is listed as untranscribed (JSON
`resumptions[].untranscribed`, a column of the table) and the resumption is held for listening, not
called unexplained.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from analyzer.coverage import CoverageSettings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="录音文件、同一案件的多个文件或文件夹 / file(s) or folder of one case",
    )
    parser.add_argument("--guide", default=None, help="用语指引（名称或 .toml 路径；默认内置指引）")
    parser.add_argument("--manifest", default=None, help="清单 CSV（path,start_time），给出各文件开始时间")
    parser.add_argument(
        "--filename-regex",
        default=None,
        help="从文件名取开始时间的正则（命名组 y mo d h mi s），默认识别 YYYYMMDD_HHMMSS / YYYYMMDDHHMMSS",
    )
    parser.add_argument(
        "--silence-gap-s", type=float, default=None, help="无语音超过此秒数报告（默认取指引设置）"
    )
    parser.add_argument(
        "--no-transcribe", action="store_true", help="只做信号与封装检查，不检查恢复录制时的原因说明"
    )
    parser.add_argument("--json", action="store_true", help="输出 JSON")
    parser.add_argument("--no-cache", action="store_true", help="不使用转写缓存")


def _fmt_time(seconds: float) -> str:
    sign = "-" if seconds < 0 else ""
    s = abs(seconds)
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{sign}{int(h):02d}:{int(m):02d}:{sec:04.1f}"


def _width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def _table(rows: list[list[str]]) -> str:
    widths = [max(_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(_pad(c, w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render(report, out=None) -> None:
    """The report as plain Chinese text: files, events, resumptions, notes."""
    out = out or sys.stdout
    print("文件：", file=out)
    rows = [["序号", "文件", "案件时间轴起点", "时长", "开始时间", "时间来源"]]
    source_names = {
        "creation_time": "容器创建时间",
        "filename": "文件名",
        "manifest": "清单",
        "order": "文件顺序",
    }
    for i, f in enumerate(report.files, 1):
        rows.append(
            [
                str(i),
                Path(f.path).name,
                _fmt_time(f.offset_s),
                _fmt_time(f.duration_s),
                f.start_time or "未知",
                source_names.get(f.start_source, f.start_source),
            ]
        )
    print(_table(rows), file=out)
    print(file=out)
    if not report.events:
        print("未发现中断、剪接、信号丢失或长时间无语音。", file=out)
    else:
        print(f"事件（{len(report.events)} 个，其中中断 {len(report.interruptions)} 个）：", file=out)
        rows = [["类型", "开始", "结束", "时长", "置信度", "文件", "文件内时间", "说明"]]
        for e in report.events:
            rows.append(
                [
                    e.title,
                    _fmt_time(e.start_s),
                    _fmt_time(e.end_s),
                    f"{e.duration_s:.1f}秒",
                    f"{e.confidence:.2f}",
                    Path(e.file).name,
                    _fmt_time(e.file_start_s),
                    e.detail,
                ]
            )
        print(_table(rows), file=out)
    if report.resumptions:
        print(file=out)
        print("恢复录制时的原因说明（第十条）：", file=out)
        rows = [["中断", "恢复于", "结论", "说明时间", "所说内容", "未能转写的语音"]]
        for r in report.resumptions:
            if not r.checked:
                verdict = "未检查（无转写）"
            else:
                verdict = (
                    "已说明原因"
                    if r.reason_given
                    else "原因未能听清，需人工收听"
                    if r.unclear
                    else "有语音未能转写，需人工收听"
                    if r.untranscribed
                    else "未说明原因"
                )
            unread = "，".join(f"{_fmt_time(a)}–{_fmt_time(b)}" for a, b in r.untranscribed)
            rows.append(
                [
                    r.after.title,
                    _fmt_time(r.after.end_s),
                    verdict,
                    _fmt_time(r.start_s) if r.start_s is not None else "-",
                    r.reason_text or "-",
                    unread or "-",
                ]
            )
        print(_table(rows), file=out)
    for note in report.notes:
        print(f"注：{note}", file=out)


def _window_transcriber(cache: bool, coverage: CoverageSettings):
    """Transcribe only the resume window after an interruption (not the whole recording), with the
    times put back into file time. The window gets analyze's coverage pass
    (pipeline.covered_transcript): speech its first decode skipped is decoded again, and what no
    decode reads is in the transcript's `untranscribed`, so the resumption lists it for a reviewer
    instead of reading the window as silent. A failure leaves that resumption unchecked and is
    reported."""
    from dataclasses import replace

    import numpy as np

    from analyzer.media import TARGET_SR, MediaError
    from analyzer.models import ModelError
    from analyzer.pipeline import covered_transcript
    from analyzer.transcribe import TranscribeOptions, shift_segments
    from analyzer.vad import speech_probs

    options = TranscribeOptions()

    def run_window(path: str, audio, start_s: float, end_s: float):
        a, b = int(start_s * TARGET_SR), int(end_s * TARGET_SR)
        if b - a < TARGET_SR // 2:
            return None
        window = np.ascontiguousarray(audio[a:b])
        try:
            part = covered_transcript(window, speech_probs(window), options, coverage, cache=cache)
        except (MediaError, ModelError) as err:
            print(f"错误 / error: {path}: 转写失败，未检查原因说明（{err}）", file=sys.stderr)
            return None
        offset = a / TARGET_SR
        return replace(
            part,
            segments=shift_segments(part.segments, offset),
            speech_regions=tuple((x + offset, y + offset) for x, y in part.speech_regions),
            untranscribed=tuple((x + offset, y + offset) for x, y in part.untranscribed),
            duration_s=end_s,
        )

    return run_window


def run(args: argparse.Namespace) -> int:
    from analyzer.continuity import ContinuityError, analyze_continuity, collect_media
    from analyzer.guide import GuideError, load_guide
    from analyzer.media import MediaError, load_audio, probe
    from analyzer.resumption import check_resumptions

    try:
        guide = load_guide(args.guide)
    except (GuideError, OSError) as err:
        print(f"错误 / error: {err}", file=sys.stderr)
        return 2
    files = collect_media(args.paths)
    if not files:
        print("错误 / error: 没有找到录音文件 / no media files given", file=sys.stderr)
        return 2
    failed = 0
    probes, audio, usable = {}, {}, []
    for path in files:
        try:
            probes[path] = probe(path)
            audio[path] = load_audio(path)
            usable.append(path)
        except (MediaError, OSError) as err:
            print(f"错误 / error: {err}", file=sys.stderr)
            failed += 1
    if not usable:
        return 1
    window_transcriber = None
    if not args.no_transcribe:
        from analyzer.coverage import CoverageSettings

        window_transcriber = _window_transcriber(
            not args.no_cache, CoverageSettings.from_settings(guide.settings)
        )
    overrides = {} if args.silence_gap_s is None else {"silence_gap_s": args.silence_gap_s}
    try:
        report = analyze_continuity(
            usable,
            {},  # no whole-file transcripts: only the resume windows are transcribed, on demand
            guide,
            audio=audio,
            probes=probes,
            manifest=args.manifest,
            filename_regex=args.filename_regex,
            settings=overrides,
        )
        report = check_resumptions(
            report, {}, guide, audio=audio, settings=overrides, transcribe_window=window_transcriber
        )
    except (ContinuityError, MediaError) as err:
        print(f"错误 / error: {err}", file=sys.stderr)
        return 1
    if args.json:
        json.dump(report.to_dict(), sys.stdout, ensure_ascii=False, indent=2)
        print()
    else:
        render(report)
    return 1 if failed else 0
