"""`scriptcheck transcribe FILE...`: local Whisper transcripts as json, txt, srt or vtt.

A transcript here gets the coverage pass `analyze` gives it (pipeline.covered_transcript): speech a
window skipped is decoded again, and what stays unread is listed as untranscribed (json
`untranscribed`; a cue of its own in txt, srt and vtt; a line on stderr), never left out silently.
One bad file gives one line on stderr and the others go on; the exit code is non-zero at the end
if any file failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

FORMATS = ("json", "txt", "srt", "vtt")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from analyzer.models import ENGINES

    parser.add_argument(
        "files", nargs="+", metavar="FILE", help="录音或视频文件 / recordings (audio or video)"
    )
    parser.add_argument("--engine", choices=ENGINES, default=None, help="识别引擎（默认 faster-whisper）")
    parser.add_argument("--model", default=None, help="模型名（base、small…）或路径；默认内置 base")
    parser.add_argument("--format", choices=FORMATS, default="json", help="输出格式（默认 json）")
    parser.add_argument("-o", "--output-dir", default=None, help="输出文件夹；不给则打印到标准输出")
    parser.add_argument("--language", default="zh", help="语言代码（默认 zh；auto = 自动识别）")
    parser.add_argument("--beam-size", type=int, default=None, help="束搜索宽度（1 = 贪心）")
    parser.add_argument(
        "--batch-size", type=int, default=None, help="同时解码的语音块数（1 = 顺序解码；仅 faster-whisper）"
    )
    parser.add_argument("--compute-type", default=None, help="faster-whisper 计算精度（float32、int8…）")
    parser.add_argument("--threads", type=int, default=None, help="CPU 线程数（默认 2）")
    parser.add_argument("--initial-prompt", default=None, help="提示文本（实验性，可能引入幻觉）")
    parser.add_argument("--hotwords", default=None, help="热词（仅 faster-whisper；实验性，可能引入幻觉）")
    parser.add_argument("--no-vad", action="store_true", help="不做语音检测（整段识别，较慢）")
    parser.add_argument("--no-cache", action="store_true", help="不使用转写缓存")
    parser.add_argument(
        "--guide",
        default=None,
        help="用语指引名称或 TOML 路径，取其语音覆盖设置（默认 phrasebook/default.toml）",
    )
    parser.add_argument(
        "--allow-download", action="store_true", help="允许联网下载缺失的模型（默认从不联网）"
    )


def _options(args: argparse.Namespace):
    from analyzer.transcribe import TranscribeOptions

    chosen = {
        "engine": args.engine,
        "model": args.model,
        "beam_size": args.beam_size,
        "batch_size": args.batch_size,
        "compute_type": args.compute_type,
        "threads": args.threads,
        "initial_prompt": args.initial_prompt,
        "hotwords": args.hotwords,
    }
    opts = TranscribeOptions(**{k: v for k, v in chosen.items() if v is not None})
    language = None if args.language in ("auto", "") else args.language
    return TranscribeOptions(
        **{
            **opts.__dict__,
            "language": language,
            "vad": not args.no_vad,
            "allow_download": args.allow_download,
        }
    )


def run(args: argparse.Namespace) -> int:
    from analyzer.coverage import CoverageSettings
    from analyzer.files import atomic_write_text
    from analyzer.guide import GuideError, load_guide
    from analyzer.media import MediaError, probe, spool_audio
    from analyzer.models import ModelError, resolve_model
    from analyzer.pipeline import covered_transcript
    from analyzer.vad import speech_probs

    opts = _options(args)
    try:
        resolve_model(opts.model, opts.engine, allow_download=opts.allow_download)
        coverage = CoverageSettings.from_settings(load_guide(args.guide).settings)
    except (ModelError, GuideError) as err:
        print(f"错误 / error: {err}", file=sys.stderr)
        return 2
    out_dir = Path(args.output_dir) if args.output_dir else None
    failed = 0
    for name in args.files:
        try:
            info = probe(name)  # its error names the file and the cause
            audio = spool_audio(name)
            with _progress_bar(name) as progress:
                transcript = covered_transcript(
                    audio, speech_probs(audio), opts, coverage, probe=info, cache=not args.no_cache,
                    progress=progress,
                )  # fmt: skip
            del audio
            text = render(transcript, args.format)
        except (MediaError, ModelError) as err:
            print(f"错误 / error: {err}", file=sys.stderr)
            failed += 1
            continue
        except Exception as err:  # one unexpected failure must not stop a batch
            print(f"错误 / error: {name}: {err.__class__.__name__}: {err}", file=sys.stderr)
            failed += 1
            continue
        for a, b in transcript.untranscribed:
            where = f"{_clock(a, '.')}–{_clock(b, '.')}"
            print(f"{name}: {where} 有语音未能转写，需人工听取 / untranscribed speech", file=sys.stderr)
        if out_dir is None:
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
        else:
            target = out_dir / f"{Path(name).stem}.{args.format}"
            atomic_write_text(target, text)
            print(f"{name} -> {target}", file=sys.stderr)
    if failed:
        print(f"{failed}/{len(args.files)} 个文件失败 / file(s) failed", file=sys.stderr)
    return 1 if failed else 0


class _progress_bar:
    """tqdm bar over seconds of audio, shown on stderr (hidden when stderr is not a terminal)."""

    def __init__(self, name: str):
        self.name = name
        self.bar = None

    def __enter__(self):
        return self.update

    def update(self, done: float, total: float) -> None:
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(
                total=round(total, 1) or None,
                unit="s",
                desc=Path(self.name).name[:40],
                file=sys.stderr,
                disable=None,
                leave=False,
            )
        self.bar.n = round(done, 1)
        self.bar.refresh()

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()


UNTRANSCRIBED_CUE = "［未能转写的语音，需人工听取］"


def _cues(transcript) -> list[tuple[float, float, str]]:
    """(start, end, text) of the segments and of each untranscribed stretch, in time order: a text
    format has no other place to say that speech there was heard but not read."""
    cues = [(s.start, s.end, s.text) for s in transcript.segments]
    cues += [(a, b, UNTRANSCRIBED_CUE) for a, b in transcript.untranscribed]
    return sorted(cues, key=lambda c: (c[0], c[1]))


def render(transcript, fmt: str) -> str:
    """Transcript as json / txt / srt / vtt text."""
    if fmt == "json":
        return json.dumps(transcript.to_dict(), ensure_ascii=False, indent=1)
    cues = _cues(transcript)
    if fmt == "txt":
        return "".join(f"[{_clock(a, '.')} - {_clock(b, '.')}] {text}\n" for a, b, text in cues)
    if fmt == "srt":
        return "\n".join(
            f"{i}\n{_clock(a, ',')} --> {_clock(b, ',')}\n{text}\n" for i, (a, b, text) in enumerate(cues, 1)
        )
    if fmt == "vtt":
        body = "\n".join(f"{_clock(a, '.')} --> {_clock(b, '.')}\n{text}\n" for a, b, text in cues)
        return "WEBVTT\n\n" + body
    raise ValueError(f"unknown format {fmt!r}")


def _clock(seconds: float, sep: str) -> str:
    ms = int(round(max(seconds, 0.0) * 1000))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"
