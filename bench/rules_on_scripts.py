"""The rules on the scenario corpora's scripts, heard perfectly: which profile-dependent findings the
inference of the enforcement profile gets right, without Whisper (seconds of CPU, any number of seeds).

Each scenario of `bench.scenarios.make_corpus_plan` (the plans of the rendered corpora, same seeds) is
turned into a transcript of its script, one segment per line, all files back to back; the matcher and
`rules.evaluate` (profile inferred, as in `bench.eval`) run on it, and the profile-dependent checked
findings are compared with the scenario's truth (`scenarios.expected_findings`; a code it does not
check, such as sign_request_missing, counts as not expected). Run once with the
guide as it is and once with its `profile_margin` removed (every requirement of the inferred profile
asserted), side by side. Interruptions are not checked here (no continuity).

    python -m bench.rules_on_scripts [--seeds 0 7 11 13 17 19 23 29 31 37] [--count 64]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CODES = ("opening_missing", "recording_notice_missing", "rights_notice_missing", "rights_before_penalty")
CHARS_PER_S = 4.5


def script_transcript(scenario):
    """The scenario's lines as a perfectly heard transcript (times from a steady speaking rate), and
    the phrase statuses its truth gives (said = present/partial)."""
    from analyzer.transcribe import Segment, Transcript
    from bench.scenarios import _VARIANT_STATUS

    segs, t, said = [], 0.5, {}
    for plan in scenario.files:
        for line in plan.lines:
            t += line.pause_before_s
            end = t + max(0.6, len(line.text) / CHARS_PER_S)
            segs.append(Segment(t, end, line.text, line.text, -0.2, 0.02))
            if line.phrase_id and line.phrase_id not in said:
                said[line.phrase_id] = {"status": _VARIANT_STATUS[line.variant], "start_s": t, "end_s": end}
            t = end
    return Transcript(tuple(segs), "zh", t + 1.0, "faster-whisper", "base"), said


def run(seeds, count, guide):
    from analyzer.match import match_transcript
    from analyzer.rules import evaluate
    from bench.scenarios import expected_findings, make_corpus_plan

    tally = {code: Counter() for code in CODES}
    held, profiles = Counter(), Counter()
    for seed in seeds:
        for sc in make_corpus_plan(count, seed=seed, snr_levels=(None,)):
            transcript, said = script_transcript(sc)
            truth = set(expected_findings(sc, said, []))
            ev = evaluate(match_transcript(transcript, guide), None, transcript, guide)
            got = {f.code for f in ev.findings}
            profiles[(sc.profile, ev.profile)] += 1
            for code in CODES:
                tally[code][
                    ("tp" if code in got else "fn") if code in truth else ("fp" if code in got else "tn")
                ] += 1
            for code in got:
                if code.endswith("_profile_unsure"):
                    instead = code.removesuffix("_profile_unsure") + "_missing"
                    held[(code, "right" if instead in truth else "wrong")] += 1
    return tally, held, profiles


def main(argv: list[str] | None = None) -> int:
    from analyzer.guide import load_guide

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 7, 11, 13, 17, 19, 23, 29, 31, 37])
    parser.add_argument("--count", type=int, default=64)
    args = parser.parse_args(argv)
    guide = load_guide()
    without = dataclasses.replace(
        guide, settings={k: v for k, v in guide.settings.items() if k != "profile_margin"}
    )
    n = len(args.seeds) * args.count
    print(
        f"{n} scenario scripts (seeds {' '.join(map(str, args.seeds))}, {args.count} each), heard perfectly\n"
    )
    print("| code | guide as it is: TP / FP / FN / TN | without profile_margin: TP / FP / FN / TN |")
    print("|---|---|---|")
    now, held, profiles = run(args.seeds, args.count, guide)
    before, _, _ = run(args.seeds, args.count, without)
    for code in CODES:
        a, b = now[code], before[code]
        row = lambda c: f"{c['tp']} / {c['fp']} / {c['fn']} / {c['tn']}"  # noqa: E731
        print(f"| {code} | {row(a)} | {row(b)} |")
    print(
        "\n`<phrase>_profile_unsure` instead of `<phrase>_missing` (right: the truth expects"
        " `<phrase>_missing`; of these codes it checks only rights_notice_missing):"
    )
    for code in sorted({c for c, _ in held}):
        print(f"- {code}: {held[(code, 'right')]} right, {held[(code, 'wrong')]} wrong")
    print(
        "\nProfile (truth -> inferred): "
        + ", ".join(f"{a} -> {b}: {k}" for (a, b), k in sorted(profiles.items()))
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
