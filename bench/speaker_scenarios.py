"""Speaker attribution on a scenario corpus (bench/scenarios.py with `--voices ttskit`): the whole
pipeline per recording, then each scripted line's role from `result.speakers` against who said it.

The speaker corpus (bench/bench_speakers.py) renders parties far away or reverberant; a scenario
corpus renders them only 4 dB quieter and dry, with the voice variations (fast, slow, quiet) and noise
of the scenario evaluation, so this is where the wearer cues meet voices that differ by themselves.
A line is right when an officer's line is attributed to `wearer` or `officer` and a party's to `other`.

    python -m bench.speaker_scenarios /work/sealed/corpus-voices59 [--out FILE.md]
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path


def _band(truth: dict) -> str:
    snr = truth.get("snr_db")
    return "clean" if snr is None else f"{snr:g} dB"


def run(corpus: Path) -> tuple[dict[str, list[int]], list[str]]:
    from analyzer.pipeline import AnalyzeOptions, analyze_recording

    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    rows: list[str] = []
    for folder in sorted(p for p in corpus.iterdir() if (p / "truth.json").exists()):
        truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
        result = analyze_recording([str(folder / f["name"]) for f in truth["files"]], AnalyzeOptions())
        if result.error or result.speakers is None:
            rows.append(f"| {folder.name} | error: {result.error} | | |")
            continue
        sp = result.speakers
        ok = 0
        for line in truth["script"]:
            who, _ = sp.at(line["start_s"], line["end_s"])
            ok += (sp.role_of(who) in ("wearer", "officer")) == (line["speaker"] == "officer")
        n = len(truth["script"])
        for key in ("all", _band(truth)):
            totals[key][0] += ok
            totals[key][1] += n
        voices = "; ".join(
            f"{v.speaker_id} {v.role} {getattr(v, 'confidence', sp.confidence):.2f} {len(v.phrases)} phrases"
            for v in sp.voices
        )
        rows.append(f"| {folder.name} | {ok}/{n} | {sp.confidence:.2f} | {voices} |")
    return totals, rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    totals, rows = run(args.corpus)
    lines = [
        f"# Speaker attribution on `{args.corpus}`",
        "",
        f"`python -m bench.speaker_scenarios {args.corpus}`; officer lines right when `wearer` or `officer`.",
        "",
        "| SNR | lines right |",
        "|---|---|",
        *(f"| {k} | {ok}/{n} = {ok / n:.1%} |" for k, (ok, n) in sorted(totals.items()) if n),
        "",
        "| recording | lines right | wearer decision confidence | voices (role, confidence, phrases) |",
        "|---|---|---|---|",
        *rows,
    ]
    text = "\n".join(lines) + "\n"
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
