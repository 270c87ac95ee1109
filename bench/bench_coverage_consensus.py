"""Can two independent decodes that agree read what the coverage pass leaves untranscribed, without
accepting words that were not said? (issue 13, part 3)

Per recording of a scenario corpus, each file is decoded as the pipeline decodes it (the first pass,
then analyzer.coverage.ensure_coverage). Every stretch still untranscribed is then decoded again in
several windows, each with beam search at temperature 0 only (no sampling: the same audio gives the
same text in any process):

* `alone`: the stretch ± 0.3 s; `wide`: ± 1.5 s; `early`: from 3 s before it to 0.3 s after;
  `late`: from 0.3 s before to 3 s after; `context`: with the sentences around it (coverage._window);
* `denoised-alone`, `denoised-context`: the same windows of the file after spectral subtraction (a
  noise spectrum from the file's frames below Silero probability 0.15, Wiener-style gain, floor 0.1).

From each window, the words whose middle lies in the stretch, of segments that pass Whisper's own
thresholds (log-probability, compression ratio) and are no loop; the coverage pass's stricter rule for
windows judged probably silent (`coverage_min_logprob`) is what consensus would replace. Every pair of
windows is aligned character by character (rapidfuzz Levenshtein opcodes on reading forms); the
characters both read, in runs of at least two, are the pair's agreed text. Printed per stretch: what
was said there (the script lines), every window's reading, and the agreed text of the best pair at
each agreement threshold with its characters not said (bench.eval's scoring).

    python -m bench.bench_coverage_consensus CORPUS --only 031_ [--json OUT]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
from rapidfuzz.distance import Levenshtein

from analyzer.coverage import FRAME_S, CoverageSettings, _repeats_itself, _window, ensure_coverage
from analyzer.eval_metrics import reading_form, said_errors
from analyzer.evaluation import RECOVERED_SLACK_S
from analyzer.media import TARGET_SR
from analyzer.recheck import decode_window
from analyzer.transcribe import TranscribeOptions, transcribe
from bench.bench_coverage_level import corpus_files, file_lines

THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9)


def denoise(audio: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Spectral subtraction with a noise spectrum from the frames Silero calls silence."""
    from scipy.signal import istft, stft

    f, t, z = stft(audio, fs=TARGET_SR, nperseg=512, noverlap=384)
    quiet = np.flatnonzero(np.asarray(probs) < 0.15)
    cols = np.clip((quiet * FRAME_S * TARGET_SR / 128).astype(int), 0, z.shape[1] - 1)
    power = np.abs(z) ** 2
    noise = (
        power[:, np.unique(cols)].mean(axis=1, keepdims=True)
        if len(cols)
        else power.min(axis=1, keepdims=True)
    )
    gain = np.maximum(1.0 - noise / np.maximum(power, 1e-12), 0.1)
    _, clean = istft(z * gain, fs=TARGET_SR, nperseg=512, noverlap=384)
    return np.ascontiguousarray(clean[: len(audio)], dtype=np.float32)


def windows(transcript, stretch: tuple[float, float], duration: float) -> dict[str, tuple[float, float]]:
    a, b = stretch
    return {
        "alone": (max(0.0, a - 0.3), min(duration, b + 0.3)),
        "wide": (max(0.0, a - 1.5), min(duration, b + 1.5)),
        "early": (max(0.0, a - 3.0), min(duration, b + 0.3)),
        "late": (max(0.0, a - 0.3), min(duration, b + 3.0)),
        "context": _window(transcript, stretch, duration, with_context=True),
    }


def reading(part, stretch, options: TranscribeOptions) -> dict:
    """The words of a window's acceptable segments whose middle lies in the stretch."""
    texts = [s.text for s in part.segments]
    words, segs = [], []
    for seg in part.segments:
        ok = (
            seg.avg_logprob >= options.log_prob_threshold
            and seg.compression_ratio <= options.compression_ratio_threshold
            and texts.count(seg.text) == 1
            and not _repeats_itself(seg.text)
        )
        inside = [w for w in seg.words if stretch[0] <= (w.start + w.end) / 2 <= stretch[1]]
        if inside:
            segs.append([seg.text, round(seg.avg_logprob, 2), round(seg.no_speech_prob, 2), ok])
        if ok:
            words += inside
    return {"text": "".join(w.text for w in words), "segments": segs}


def agreed(x: str, y: str) -> tuple[str, float]:
    """The characters two readings share, in runs of at least two, and 2·shared / (len x + len y)."""
    x, y = reading_form(x), reading_form(y)
    if not x or not y:
        return "", 0.0
    runs = [x[o.src_start : o.src_end] for o in Levenshtein.opcodes(x, y) if o.tag == "equal"]
    runs = [r for r in runs if len(r) >= 2]
    shared = sum(len(r) for r in runs)
    return "".join(runs), 2 * shared / (len(x) + len(y))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--only", nargs="*", default=[])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    options, settings = TranscribeOptions(), CoverageSettings()
    unsampled = dataclasses.replace(options, temperatures=(0.0,))
    rows = []
    for truth, file, audio, probs in corpus_files(args.corpus, args.only):
        first = transcribe(audio, options, speech_probs=probs)
        t = ensure_coverage(audio, probs, first, options, settings)
        duration = len(audio) / TARGET_SR
        quiet = None
        lines = file_lines(truth.data, file)
        for stretch in t.untranscribed:
            said = "".join(
                x
                for p, q, x in lines
                if p < stretch[1] + RECOVERED_SLACK_S and q > stretch[0] - RECOVERED_SLACK_S
            )
            cpu0 = time.process_time()
            reads: dict[str, dict] = {}
            for name, (a, b) in windows(t, stretch, duration).items():
                reads[name] = reading(decode_window(audio, a, b, unsampled, 5, cache=True), stretch, options)
                if name in ("alone", "context"):
                    quiet = denoise(audio, probs) if quiet is None else quiet
                    part = decode_window(quiet, a, b, unsampled, 5, cache=True)
                    reads[f"denoised-{name}"] = reading(part, stretch, options)
            cpu = time.process_time() - cpu0
            names = list(reads)
            pairs = []
            for i, m in enumerate(names):
                for n in names[i + 1 :]:
                    text, score = agreed(reads[m]["text"], reads[n]["text"])
                    if text:
                        errors, length = said_errors(said, text)
                        pairs.append(
                            {
                                "pair": [m, n],
                                "text": text,
                                "agreement": round(score, 2),
                                "chars": length,
                                "unsaid": errors,
                            }
                        )
            best = {}
            for th in THRESHOLDS:
                ok = [p for p in pairs if p["agreement"] >= th]
                if ok:
                    top = max(ok, key=lambda p: (p["agreement"], len(p["text"])))
                    best[str(th)] = top
            row = {
                "id": truth.id,
                "file": file["name"],
                "stretch": list(stretch),
                "said": said,
                "reads": reads,
                "pairs": pairs,
                "best": best,
                "cpu_s": round(cpu, 1),
            }
            rows.append(row)
            print(json.dumps(row, ensure_ascii=False), flush=True)
    print("\n| threshold | stretches read | agreed chars | of them unsaid |")
    print("|---:|---:|---:|---:|")
    for th in THRESHOLDS:
        got = [r["best"][str(th)] for r in rows if str(th) in r["best"]]
        chars, unsaid = sum(g["chars"] for g in got), sum(g["unsaid"] for g in got)
        print(f"| {th} | {len(got)} of {len(rows)} | {chars} | {unsaid} |")
    if args.json:
        args.json.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
