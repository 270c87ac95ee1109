"""Benchmark: match a generated 1-hour transcript (~15,000 characters) against the default guide.

Target (issue 3): under 200 ms on one core. The transcript mixes everyday talk with every phrase of
the guide several times (exact, homophone-damaged, Traditional, with numerals as digits), one segment
every ~4 s with word timestamps, like Whisper output. Reported: the full match_transcript call
(normalization included) and its two parts, median of several runs after one warm-up.

    python -m bench.bench_match [--runs 7] [--chars 15000] [--write bench/results/match.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TALK = [
    "您好，我们是区审计局的，今天过来看一下你们的账目",
    "这个发票的日期和合同上的不一致，你们财务是怎么处理的",
    "负责人现在在不在，能不能打个电话让他过来一下",
    "这些凭证我们需要复印一份带回去核对",
    "去年的专项资金是分三次拨付的，每次的用途都要说明",
    "你先别着急，慢慢说，我们都会记下来",
    "这个仓库里面的货物是什么时候进的",
    "请把近三年的银行流水打印出来",
    "好的，那我们先看一下这边的材料",
    "今天天气挺热的，大家辛苦了",
    "这个问题我们回去以后还要研究一下",
    "你们公司一共有多少员工，社保是怎么交的",
]
DAMAGE = {"申辩": "身边", "执法": "指法", "全过程": "全国城", "记录": "纪录", "权益": "全域", "陈述": "成束"}


def make_transcript(target_chars: int = 15_000, seed: int = 0):
    from analyzer.guide import load_guide
    from analyzer.normalize import to_simplified  # noqa: F401  (warm OpenCC import path)
    from analyzer.transcribe import Segment, Transcript, Word

    rng = random.Random(seed)
    guide = load_guide()
    phrases = [p.example(i) for p in guide.phrases for i in range(len(p.standards))]
    segments = []
    t = 0.0
    total = 0
    k = 0
    while total < target_chars:
        if k % 6 == 5:
            text = rng.choice(phrases)
            if rng.random() < 0.5:
                for a, b in DAMAGE.items():
                    text = text.replace(a, b)
        else:
            text = rng.choice(TALK)
        text += "。"
        dur = len(text) / 4.2
        words = []
        pos = t
        for i in range(0, len(text), 2):
            w = text[i : i + 2]
            words.append(Word(start=round(pos, 2), end=round(pos + len(w) / 4.2, 2), text=w, probability=0.9))
            pos += len(w) / 4.2
        segments.append(
            Segment(
                start=round(t, 2),
                end=round(t + dur, 2),
                text=text,
                raw_text=text,
                avg_logprob=-0.3,
                no_speech_prob=0.02,
                words=tuple(words),
            )
        )
        t += dur + rng.uniform(0.3, 2.0)
        total += len(text)
        k += 1
    return Transcript(
        segments=tuple(segments), language="zh", duration_s=round(t, 1), engine="bench", model="bench"
    )


def run(runs: int = 7, chars: int = 15_000) -> dict:
    from analyzer.guide import load_guide
    from analyzer.match import match_normalized, match_transcript, normalize_for

    guide = load_guide()
    transcript = make_transcript(chars)
    n_chars = len(transcript.text)
    match_transcript(transcript, guide)  # warm-up: jieba dictionary, OpenCC, compiled wordings
    full, full_cpu, norm_t, match_t = [], [], [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        match_transcript(transcript, guide)
        full.append(time.perf_counter() - t0)
        full_cpu.append(time.process_time() - c0)
        c0 = time.process_time()
        norm = normalize_for(transcript, guide)
        c1 = time.process_time()
        matches = match_normalized(norm, guide)
        c2 = time.process_time()
        norm_t.append(c1 - c0)
        match_t.append(c2 - c1)
    found = sum(len(m.occurrences) for m in matches)
    return {
        "chars": n_chars,
        "segments": len(transcript.segments),
        "duration_min": transcript.duration_s / 60,
        "phrases": len(guide.phrases),
        "occurrences_found": found,
        "full_ms": 1000 * statistics.median(full),
        "full_cpu_ms": 1000 * statistics.median(full_cpu),
        "load": os.getloadavg()[0],
        "normalize_ms": 1000 * statistics.median(norm_t),
        "match_ms": 1000 * statistics.median(match_t),
        "runs": runs,
    }


def markdown(r: dict) -> str:
    cpu = platform.processor() or platform.machine()
    return "\n".join(
        [
            "## Matcher speed (issue 3)",
            "",
            f"`python -m bench.bench_match` - generated transcript of {r['chars']:,} characters in "
            f"{r['segments']} "
            f"segments ({r['duration_min']:.0f} min of speech), {r['phrases']} phrases of the default guide, "
            f"{r['occurrences_found']} phrase occurrences found; median of {r['runs']} runs after a warm-up, "
            "one core "
            f"({cpu}, Python {platform.python_version()}).",
            "",
            "CPU time of the process is the figure (the machine is shared; wall time is shown with the load",
            "average at the time).",
            "",
            "| step | CPU ms |",
            "|---|---|",
            f"| normalize (OpenCC, numerals, jieba + pypinyin) | {r['normalize_ms']:.0f} |",
            f"| match all phrases (anchors + alignment + scoring) | {r['match_ms']:.0f} |",
            f"| **match_transcript total** (target < 200) | **{r['full_cpu_ms']:.0f}** |",
            f"| match_transcript wall time (load average {r['load']:.1f}) | {r['full_ms']:.0f} |",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--chars", type=int, default=15_000)
    ap.add_argument("--write", type=Path, default=None, help="write the markdown result here")
    args = ap.parse_args(argv)
    try:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    except (AttributeError, OSError):
        pass
    result = run(args.runs, args.chars)
    text = markdown(result)
    print(text)
    if args.write:
        from analyzer.files import atomic_write_text

        atomic_write_text(args.write, text)
    return 0 if result["full_cpu_ms"] < 200 else 1


if __name__ == "__main__":
    raise SystemExit(main())
