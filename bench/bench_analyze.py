"""Wall time and peak memory of `analyze` on a 10-minute recording, split into transcription and
everything else (decode, continuity, matching, rules, report writing). Target: everything else
< 5% of the total.

    python -m bench.bench_analyze [--minutes 10] [--out bench/results/analyze.md]

The recording is built from synthesized guide sentences (bench/tts.py, cached) with natural pauses
and street noise at 25 dB SNR, about 60% speech, written as AAC in mp4 like a body camera. The
transcript cache is bypassed so transcription is really measured.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SR = 16_000
REFERENCE_RTF = 0.073  # faster-whisper base float32 beam 5 on this 2-core machine, idle (facts.md)
LINES = [
    "现在是2024年3月15日上午9时30分，我们在瀍河区中州东路88号，对该公司财务收支情况进行审计检查，执法全过程记录开始。",
    "您好，请出示营业执照。",
    "为保护您的合法权益，监督执法行为，本次执法全过程录音录像。",
    "请把近三年的账簿和凭证拿出来，我们需要查阅。",
    "这一笔支出的发票在哪里？请您解释一下用途。",
    "您享有陈述权、申辩权和行政救济权利。",
    "您的拒绝提供审计资料的行为违反了中华人民共和国审计法，依据中华人民共和国审计法实施条例第四十九条第一款的规定，"
    "对您处以五千元的罚款。",
    "请您认真阅读法律文书内容，并在签名处签名。",
    "请您收好文书。",
]


def build_recording(path: Path, minutes: float) -> float:
    import numpy as np

    from bench.audio_tools import add_noise, concat, write_recording
    from bench.tts import synthesize

    clips = [synthesize(t, sr=SR, seed=i % 3)[0] for i, t in enumerate(LINES)]
    rng = np.random.default_rng(0)
    parts: list = [1.0]
    total = 1.0
    i = 0
    while total < minutes * 60:
        clip = clips[i % len(clips)]
        pause = float(rng.uniform(0.8, 6.0))
        parts += [clip, pause]
        total += len(clip) / SR + pause
        i += 1
    audio, _ = concat(parts, SR)
    audio = audio[: int(minutes * 60 * SR)]
    audio = add_noise(audio, SR, 25.0, "street", seed=1)
    write_recording(path, audio, SR)
    return len(audio) / SR


def measure(path: Path, out_dir: Path) -> dict:
    """Runs in a fresh process so peak RSS is this analysis alone."""
    from analyzer import report
    from analyzer.pipeline import AnalyzeOptions, analyze_recording

    t0 = time.perf_counter()
    result = analyze_recording([str(path)], AnalyzeOptions(cache=False))
    t1 = time.perf_counter()
    if result.error:
        raise SystemExit(result.error)
    rec = report.recording_to_dict(result)
    guide = report.guide_to_dict(result.guide)
    report.write_json(out_dir / "bench.json", report.document([rec], guide))
    report.write_html(rec, guide, out_dir / "bench.html")
    report.write_subtitles(rec, out_dir / "bench", "srt")
    t2 = time.perf_counter()
    timings = dict(result.timings)
    timings["report"] = t2 - t1
    timings["total"] = t2 - t0
    timings["other"] = timings["total"] - timings["transcribe"]
    return {
        "timings": {k: round(v, 3) for k, v in timings.items()},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "duration_s": result.duration_s,
        "segments": len(result.transcript.segments) if result.transcript else 0,
        "findings": [f.code for f in result.evaluation.findings] if result.evaluation else [],
        "score": result.evaluation.score if result.evaluation else None,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "analyze.md"))
    ap.add_argument("--measure", help=argparse.SUPPRESS)  # internal: child process
    args = ap.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(Path(args.measure), Path(args.measure).parent)))
        return 0

    with tempfile.TemporaryDirectory(prefix="bench-analyze-") as tmp:
        rec_path = Path(tmp) / "ten_minutes.mp4"
        seconds = build_recording(rec_path, args.minutes)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = subprocess.run(
            [sys.executable, "-m", "bench.bench_analyze", "--measure", str(rec_path)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            return proc.returncode
        data = json.loads(proc.stdout.strip().splitlines()[-1])
    t = data["timings"]
    share = t["other"] / t["total"]
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    rows = [
        ("transcribe (faster-whisper base, cache off)", t["transcribe"]),
        ("decode (PyAV -> 16 kHz float32, once)", t["decode"]),
        ("continuity (VAD, dropouts, splices, packets)", t["continuity"]),
        ("match (normalize + matcher)", t["match"]),
        ("rules", t["rules"]),
        ("reports (JSON + HTML + SRT)", t["report"]),
    ]
    lines = [
        "# `scriptcheck analyze` on a 10-minute recording",
        "",
        f"Command: `python -m bench.bench_analyze --minutes {args.minutes:g}` ({machine}).",
        "",
        f"Recording: {seconds:.0f} s mp4/AAC, synthesized guide sentences with 0.8-6 s pauses, street noise"
        " 25 dB SNR; transcript cache off.",
        "",
        "| stage | seconds | share of total |",
        "|---|---:|---:|",
        *[f"| {name} | {sec:.2f} | {sec / t['total']:.1%} |" for name, sec in rows],
        f"| **total wall time** | **{t['total']:.2f}** | 100% |",
        f"| everything except transcription | {t['other']:.2f} | **{share:.1%}** (target < 5%) |",
        "",
        f"Real-time factor of the whole analysis: {t['total'] / seconds:.3f} (transcription alone "
        f"{t['transcribe'] / seconds:.3f}). Peak resident memory of the analysing process: "
        f"{data['peak_rss_mb']:.0f} MB.",
        "",
        f"Everything except transcription costs {t['other'] / seconds:.4f} s per second of audio. At the "
        f"transcription speed measured on a quiet machine (faster-whisper base float32 beam 5, RTF "
        f"{REFERENCE_RTF}, shared/notes/facts.md) its share would be "
        f"{t['other'] / (t['other'] + REFERENCE_RTF * seconds):.1%}; the share above depends on how busy "
        f"the CPU was during transcription (load average {os.getloadavg()[0]:.1f} when this finished).",
        "",
        f"Result: {data['segments']} transcript segments, score {data['score']}, findings: "
        f"{', '.join(sorted(set(data['findings']))) or 'none'}.",
        "",
        f"Verdict: everything else is {share:.1%} of the total: {'PASS' if share < 0.05 else 'FAIL'} (< 5%).",
        "",
    ]
    text = "\n".join(lines)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
