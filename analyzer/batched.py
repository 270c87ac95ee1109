"""Batched decoding: several VAD chunks of one block through Whisper's encoder and decoder at once.

Sequential decoding (transcribe._Engine.run) walks 30 s windows one after another and re-reads a
window from its last timestamp, so speech is encoded more than once and each decoder step serves one
sequence. Here the block's VAD regions are packed into chunks of at most CHUNK_S seconds of
concatenated speech, and `batch_size` chunks go through faster-whisper's BatchedInferencePipeline in
one call: one encoder pass per chunk, one decoder step per token for the whole batch. On 2 CPU
cores that is what beats faster-whisper's own sequential VAD transcription (bench/bench_speed.py).

What the project keeps: its own VAD regions (the pipeline's single Silero pass), times mapped back
per region (a segment never straddles a silence VAD cut out), the hallucination filter (applied by
the caller to what this returns), and the temperature fallback with its per-piece CPU budget: the
batch is decoded at the first temperature, and a chunk whose result fails Whisper's own quality checks
(compression ratio, average log-probability) is decoded again by the sequential engine, which
falls back in temperature within its budget. A chunk the model judges silent (no-speech
probability over the threshold and a low log-probability) is dropped, as sequential decoding does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from analyzer.media import TARGET_SR

if TYPE_CHECKING:
    from analyzer.transcribe import TranscribeOptions, _FasterWhisper

CHUNK_S = 30.0  # Whisper's window: one encoder pass per chunk


def chunk_regions(speech: list[dict], chunk_s: float = CHUNK_S) -> list[list[dict]]:
    """Pack the speech regions into as few chunks of at most chunk_s seconds of speech as fit.

    Every chunk costs one full 30 s encoder pass however little speech it holds, so regions are
    packed first-fit by decreasing length, not only with their neighbours (on the 15-minute bench
    recording: 25 chunks instead of 28 for 31 regions). Inside a chunk regions stay in time order,
    and chunks are ordered by their first region. A region longer than a chunk (VAD splits at 30 s,
    so only by its padding) is cut into pieces of chunk_s seconds: nothing is left undecoded.
    """
    limit = int(chunk_s * TARGET_SR)
    pieces: list[dict] = []
    for region in speech:
        start, end = int(region["start"]), int(region["end"])
        while end - start > limit:
            pieces.append({"start": start, "end": start + limit})
            start += limit
        if end > start:
            pieces.append({"start": start, "end": end})
    chunks: list[list[dict]] = []
    room: list[int] = []
    for piece in sorted(pieces, key=lambda r: (-(r["end"] - r["start"]), r["start"])):
        n = piece["end"] - piece["start"]
        k = next((i for i, left in enumerate(room) if n <= left), None)
        if k is None:
            chunks.append([piece])
            room.append(limit - n)
        else:
            chunks[k].append(piece)
            room[k] -= n
    for chunk in chunks:
        chunk.sort(key=lambda r: r["start"])
    return sorted(chunks, key=lambda c: c[0]["start"])


def batches(chunks: list[list[dict]], batch_size: int) -> Iterator[list[list[dict]]]:
    for i in range(0, len(chunks), max(1, batch_size)):
        yield chunks[i : i + max(1, batch_size)]


def needs_fallback(seg: dict, opts: TranscribeOptions) -> bool:
    """Whisper's own test for a failed decode at one temperature (as sequential decoding applies it)."""
    if opts.compression_ratio_threshold and seg["compression_ratio"] > opts.compression_ratio_threshold:
        return True
    return opts.log_prob_threshold is not None and seg["avg_logprob"] < opts.log_prob_threshold


def is_silent(seg: dict, opts: TranscribeOptions) -> bool:
    """Whisper's no-speech rule: a confident no-speech token and a low log-probability."""
    return (
        opts.no_speech_threshold is not None
        and seg["no_speech_prob"] > opts.no_speech_threshold
        and (opts.log_prob_threshold is None or seg["avg_logprob"] < opts.log_prob_threshold)
    )


def decode_block(
    engine: _FasterWhisper, block: np.ndarray, speech: list[dict], opts: TranscribeOptions
) -> Iterator[tuple[int, list[dict], str]]:
    """Yield (first sample, raw segments in block seconds, note) per batch of chunks."""
    from analyzer.transcribe import _split_at_regions, _TimeMap

    pipeline = engine.batched_pipeline()
    for group in batches(chunk_regions(speech), opts.batch_size):
        regions = [r for chunk in group for r in chunk]
        audio = np.concatenate([block[r["start"] : r["end"]] for r in regions])
        bounds: list[tuple[float, float]] = []  # each chunk's span in the concatenation, seconds
        pos = 0
        for chunk in group:
            n = sum(r["end"] - r["start"] for r in chunk)
            bounds.append((pos / TARGET_SR, (pos + n) / TARGET_SR))
            pos += n
        per_chunk: list[list[dict]] = [[] for _ in group]
        for seg in engine.segments_from(
            pipeline.transcribe(
                audio,
                language=opts.language,
                beam_size=opts.beam_size,
                temperature=opts.temperatures[0],
                initial_prompt=opts.initial_prompt,
                hotwords=opts.hotwords,
                word_timestamps=opts.word_timestamps,
                clip_timestamps=[{"start": a, "end": b} for a, b in bounds],
                batch_size=len(group),
                vad_filter=False,
            )
        ):
            mid = (seg["start"] + seg["end"]) / 2
            i = next((k for k, (_, b) in enumerate(bounds) if mid < b), len(bounds) - 1)
            per_chunk[i].append(seg)
        tmap = _TimeMap(regions)
        out: list[dict] = []
        notes: list[str] = []
        for chunk, segs in zip(group, per_chunk, strict=True):
            if any(needs_fallback(s, opts) for s in segs) and len(opts.temperatures) > 1:
                raw, note = engine.run(block, chunk, opts)  # temperature fallback, CPU budget
                out += raw
                if note:
                    notes.append(note)
                continue
            for seg in segs:
                if is_silent(seg, opts):
                    continue
                if seg["words"]:
                    out += _split_at_regions(seg, tmap)
                elif seg["text"].strip():
                    i = tmap.index(seg["start"])
                    seg["start"], seg["end"] = tmap.to_block(seg["start"], i), tmap.to_block(seg["end"], i)
                    out.append(seg)
        yield group[0][0]["start"], out, "; ".join(notes)
