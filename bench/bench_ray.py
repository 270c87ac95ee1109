"""Ray executor throughput: the same batch on a local Ray cluster with 1 and with 2 worker
processes (one node with one CPU, then a second node with one CPU joined), side by side in one run,
alternating, every run transcribing (no transcript cache), one Whisper thread per task.

    python -m bench.bench_ray [--files 6] [--rounds 2] [--out bench/results/ray.md]

The ratio says how well tasks spread over workers; on a shared 2-core machine the load average of the
other processes bounds it (it is printed next to the figures).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.ray_cluster import Cluster

SR = 16_000
SENTENCES = [
    "现在是2024年3月15日上午9时30分，我们在瀍河区中州东路88号，对该公司财务收支情况进行审计检查，"
    "执法全过程记录开始。",
    "您好，请出示营业执照。",
    "为保护您的合法权益，监督执法行为，本次执法全过程录音录像。",
    "您享有陈述权、申辩权和行政救济权利。",
    "请您认真阅读法律文书内容，并在签名处签名。",
]


def make_batch(folder: Path, n: int) -> float:
    """n recordings of three sentences each; returns their total length in seconds."""
    from bench.audio_tools import add_noise, concat, write_recording
    from bench.tts import synthesize

    total = 0.0
    for i in range(n):
        parts: list[np.ndarray | float] = [0.5]
        for k in range(3):
            parts += [synthesize(SENTENCES[(i + k) % len(SENTENCES)], sr=SR, seed=i)[0], 0.8]
        audio, _ = concat(parts, SR)
        write_recording(folder / f"r{i:02d}.wav", add_noise(audio, SR, 30.0, "white", seed=i), SR)
        total += len(audio) / SR
    return total


def timed_batch(folder: Path, out: Path, address: str) -> float:
    from analyzer.batch import run_batch
    from analyzer.pipeline import AnalyzeOptions

    start = time.perf_counter()
    outcome = run_batch(
        [folder],
        out,
        AnalyzeOptions(cache=False, threads=1),
        formats=["json"],
        progress=False,
        executor="ray",
        ray_address=address,
    )
    wall = time.perf_counter() - start
    assert outcome.analysed == len(list(folder.glob("*.wav"))) and not outcome.failed
    return wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=6)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out", default="bench/results/ray.md")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-ray-"))
    (work / "in").mkdir()
    audio_s = make_batch(work / "in", args.files)
    cluster = Cluster()
    rows: list[tuple[int, int, float, str]] = []
    try:
        cluster.start_node(head=True)
        cluster.wait_for(1)
        # warm-up: each worker process loads the model once; not part of the figures
        timed_batch(work / "in", work / "warm", cluster.address)
        second = None
        for r in range(args.rounds):
            for workers in (1, 2):
                if workers == 2 and second is None:
                    second = cluster.start_node(head=False)
                    cluster.wait_for(2)
                    timed_batch(work / "in", work / f"warm2-{r}", cluster.address)
                if workers == 1 and second is not None:
                    cluster.kill(second)
                    cluster.nodes.remove(second)
                    second = None
                    time.sleep(5)  # let the cluster notice the node is gone
                load = "{:.1f} {:.1f} {:.1f}".format(*os.getloadavg())
                wall = timed_batch(work / "in", work / f"out-{r}-{workers}", cluster.address)
                rows.append((r, workers, wall, load))
                print(f"round {r} workers {workers}: {wall:.1f} s (load {load})", flush=True)
    finally:
        cluster.stop()

    best = {w: min(wall for _, ww, wall, _ in rows if ww == w) for w in (1, 2)}
    ratio = best[1] / best[2]
    lines = [
        f"Batch: {args.files} synthesized recordings, {audio_s:.0f} s of audio in all; no transcript cache;",
        "one Whisper thread per task; Ray 2.60.0 nodes with one CPU each on this machine.",
        "",
        "| round | Ray worker processes | wall (s) | audio h / h | load average (1, 5, 15 min) |",
        "|---|---|---|---|---|",
    ]
    for r, w, wall, load in rows:
        lines.append(f"| {r} | {w} | {wall:.1f} | {audio_s / wall:.1f} | {load} |")
    lines += ["", f"Throughput ratio, 2 vs 1 workers (best of {args.rounds} each): **{ratio:.2f}×**"]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
