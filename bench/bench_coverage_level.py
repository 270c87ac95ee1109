"""Does bringing a quiet voice to a standard level let Whisper read what the coverage pass leaves
untranscribed, without making it accept words that were not said? (issue 13, part 3)

Whisper's log-mel input is floored 8 decades below the window's loudest bin and then offset by a
fixed constant ((log_spec + 4) / 4), so the absolute level of a quiet voice shifts what the model
sees. Per recording of a scenario corpus, each file is decoded as the pipeline decodes it (the first
pass, then analyzer.coverage.ensure_coverage) in three ways:

* `plain`: as the pipeline does today;
* `window`: every re-decoded window amplified so that its VAD speech frames reach `--level` dBFS RMS
  (at least 1×, at most `--max-gain` dB, never past a sample at 0.99: no clipping);
* `file`: the whole file amplified that way (its speech frames' level) before the first pass as well;
* `t0`: no gain; the re-decodes at temperature 0 only (no sampled fallback, so no sampler state).

The VAD frame probabilities are always the original audio's (the pipeline's VAD and continuity
checks read the original). Figures per variant: seconds reported untranscribed (inside a script line
/ background talkers only), seconds of VAD speech not covered by a word, the recovered segments'
characters and their CER against the lines said there (bench.eval's scoring), and the transcript's CER
against the whole script of the file.

    python -m bench.bench_coverage_level CORPUS --only 031_ 043_ 047_ [--level -20] [--max-gain 20]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from analyzer.coverage import FRAME_S, CoverageSettings, ensure_coverage
from analyzer.eval_metrics import character_errors, reading_form, said_errors
from analyzer.evaluation import RECOVERED_SLACK_S, Truth, _overlap_s, load_corpus
from analyzer.media import TARGET_SR, load_audio
from analyzer.transcribe import TranscribeOptions, transcribe
from analyzer.vad import FRAME, speech_probs

VARIANTS = ("plain", "window", "file", "t0")


def speech_gain(
    audio: np.ndarray, probs: np.ndarray, a: float, b: float, level: float, max_gain: float
) -> float:
    """The gain bringing the VAD speech frames of audio[a:b] to `level` dBFS RMS (at least 1, at most
    `max_gain` dB, no sample past 0.99)."""
    fa, fb = max(0, int(a / FRAME_S)), min(len(probs), int(np.ceil(b / FRAME_S)))
    frames = [i for i in range(fa, fb) if probs[i] >= 0.5]
    if not frames:
        return 1.0
    voiced = np.concatenate([audio[i * FRAME : (i + 1) * FRAME] for i in frames]).astype(np.float64)
    window = audio[int(a * TARGET_SR) : int(b * TARGET_SR)]
    rms, peak = float(np.sqrt(np.mean(voiced**2))), float(np.max(np.abs(window))) if len(window) else 0.0
    if rms <= 0 or peak <= 0:
        return 1.0
    return float(max(1.0, min(10 ** ((level - 20 * np.log10(rms)) / 20), 10 ** (max_gain / 20), 0.99 / peak)))


def decode(audio: np.ndarray, probs: np.ndarray, variant: str, level: float, max_gain: float):
    """First pass and coverage pass, as pipeline.covered_transcript, with the variant's gain; and the
    coverage pass's CPU seconds."""
    import analyzer.recheck as recheck

    options, settings = TranscribeOptions(), CoverageSettings()
    if variant == "file":
        gain = speech_gain(audio, probs, 0.0, len(audio) / TARGET_SR, level, max_gain)
        audio = (audio * np.float32(gain)).astype(np.float32)
    first = transcribe(audio, options, speech_probs=probs)
    original = recheck.decode_window
    if variant == "t0":

        def unsampled(audio_, start_s, end_s, options_, beam_size, *, cache):
            once = dataclasses.replace(options_, temperatures=(0.0,))
            return original(audio_, start_s, end_s, once, beam_size, cache=cache)

        recheck.decode_window = unsampled
    if variant == "window":

        def louder(audio_, start_s, end_s, options_, beam_size, *, cache):
            g = speech_gain(audio_, probs, start_s, end_s, level, max_gain)
            return original(
                (audio_ * np.float32(g)).astype(np.float32), start_s, end_s, options_, beam_size, cache=cache
            )

        recheck.decode_window = louder
    try:
        cpu = time.process_time()
        # decoded afresh for every variant (the first pass may come from the cache): its CPU compares
        covered = ensure_coverage(audio, probs, first, options, settings, cache=False)
        return covered, time.process_time() - cpu
    finally:
        recheck.decode_window = original


def corpus_files(corpus: Path, only: list[str]) -> Iterator[tuple[Truth, dict, np.ndarray, np.ndarray]]:
    """(truth, file entry, 16 kHz samples, Silero frame probabilities) per file of the recordings whose
    id holds one of `only` (all when empty)."""
    for truth in load_corpus(corpus):
        if only and not any(o in truth.id for o in only):
            continue
        for path, file in zip(truth.paths, truth.data["files"], strict=True):
            audio = load_audio(path)
            yield truth, file, audio, speech_probs(audio)


def file_lines(truth: dict, file: dict) -> list[tuple[float, float, str]]:
    """The script lines said in one file, on its own timeline."""
    return [
        (x["start_s"] - file["offset_s"], x["end_s"] - file["offset_s"], x["text"])
        for x in truth["script"]
        if x.get("file", file["name"]) == file["name"]
    ]


def score(truth: dict, file: dict, t) -> dict:
    lines = file_lines(truth, file)
    voice = sum(_overlap_s((a, b), [(x, y) for x, y, _ in lines]) for a, b in t.untranscribed)
    untranscribed = sum(b - a for a, b in t.untranscribed)
    rec_err = rec_len = 0
    recovered = []
    for s in t.segments:
        if s.recovered:
            heard = "".join(
                x for p, q, x in lines if p < s.end + RECOVERED_SLACK_S and q > s.start - RECOVERED_SLACK_S
            )
            e, n = said_errors(heard, s.text)
            rec_err, rec_len = rec_err + e, rec_len + n
            recovered.append([round(s.start, 2), round(s.end, 2), s.text])
    ref = reading_form("".join(x for _, _, x in lines))
    errors, length = character_errors(ref, reading_form(t.text))
    return {
        "untranscribed_s": round(untranscribed, 2),
        "in_lines_s": round(voice, 2),
        "uncovered_s": round((t.vad_speech_s or 0) - (t.transcribed_s or 0), 2),
        "recovered_chars": rec_len,
        "recovered_errors": rec_err,
        "recovered": recovered,
        "cer_errors": errors,
        "cer_chars": length,
        "untranscribed": [list(u) for u in t.untranscribed],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--only", nargs="*", default=[])
    parser.add_argument("--level", type=float, default=-20.0, help="target speech RMS, dBFS")
    parser.add_argument("--max-gain", type=float, default=20.0, help="dB")
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    rows = []
    for truth, file, audio, probs in corpus_files(args.corpus, args.only):
        for variant in args.variants:
            t, cpu = decode(audio, probs, variant, args.level, args.max_gain)
            row = {"id": truth.id, "file": file["name"], "variant": variant, **score(truth.data, file, t)}
            row["coverage_cpu_s"] = round(cpu, 1)
            rows.append(row)
            print(json.dumps(row, ensure_ascii=False), flush=True)
    print(
        "\n| variant | untranscribed s (in lines) | uncovered s | recovered chars | recovered CER | CER "
        "| coverage CPU s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for v in args.variants:
        r = [x for x in rows if x["variant"] == v]
        rc, re_ = sum(x["recovered_chars"] for x in r), sum(x["recovered_errors"] for x in r)
        cc, ce = sum(x["cer_chars"] for x in r), sum(x["cer_errors"] for x in r)
        untranscribed, in_lines = sum(x["untranscribed_s"] for x in r), sum(x["in_lines_s"] for x in r)
        uncovered = sum(x["uncovered_s"] for x in r)
        rec_cer, cer = re_ / rc if rc else 0.0, ce / cc if cc else 0.0
        print(
            f"| {v} | {untranscribed:.1f} ({in_lines:.1f}) | {uncovered:.1f} | {rc} | {rec_cer:.2f} "
            f"| {cer:.3f} | {sum(x['coverage_cpu_s'] for x in r):.1f} |"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
