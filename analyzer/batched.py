"""Batched decoding: how a block's VAD regions become chunks and batches, and when a chunk's result
is not kept (transcribe._decode_batched runs them through faster-whisper).

Sequential decoding (transcribe._Engine.run) walks 30 s windows one after another and re-reads a
window from its last timestamp, so speech is encoded more than once and each decoder step serves one
sequence. Here the block's VAD regions are packed into chunks of at most CHUNK_S seconds of
concatenated speech (a chunk filled up to a pause inside the next region when that region does not
fit whole, as a sequential window ends between sentences), and `batch_size` chunks go through
faster-whisper's BatchedInferencePipeline in one call: one encoder pass per chunk, one decoder step
per token for the whole batch
(bench/bench_speed.py measures it against sequential decoding and faster-whisper alone).

The encoder runs one chunk at a time (`pipeline`): CTranslate2's encoder holds every chunk's
self-attention scores at once (8 heads x 1500 x 1500 floats, about 72 MB a chunk), so encoding a batch of
4 together added about 250 MB to the peak, while on a CPU a 30-second chunk already fills the matrix
products and batching the encoder saves no time. Only the decoder, where one step per token serves
the whole batch, is batched.

What the project keeps: its own VAD regions (the pipeline's single Silero pass), times mapped back
per region (a segment never straddles a silence VAD cut out), the hallucination filter (applied by
the caller to what this returns), and the temperature fallback with its per-piece CPU budget: the
batch is decoded at the first temperature, and a chunk whose result fails Whisper's own quality checks
(compression ratio, average log-probability) is decoded again by the sequential engine, which
falls back in temperature within its budget. A chunk the model judges silent (no-speech
probability over the threshold and a low log-probability) is dropped, as sequential decoding does.
The batch is decoded without timestamp tokens, so no window seeks on: a chunk whose text ended before
its speech did, or that skipped a line and stretched a word over it (read_until), is read on from
there by the sequential engine, under the same budget.

Each batch is prompted with the end of the text before it (carried_text), which a window decoded on
its own lacks; a chunk that repeats its prompt (echoes) is read again window by window without it.

So that the rules read batched output as they read window by window's: a word is moved out of the
pauses it was aligned over in the batch's own concatenated time (concat_probs, snap_to_speech) before
it is placed in its VAD region, and a read-on carries the confidence of the chunk it continues
(as_one_window), as a sequential window gives all its segments one; and the chunk's one segment is cut
into lines at sentence ends and long pauses (sentences), as a window's timestamps cut it.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise
from typing import Any, Protocol

import numpy as np

from analyzer.media import TARGET_SR

CHUNK_S = 30.0  # Whisper's window: one encoder pass per chunk
WORD_S_PER_CHAR = 1.0  # longest believable word, seconds a character (read_until)
STRETCH_S = 1.0  # a word longer than believable by this much was stretched over a skip
PAUSE_S = 0.2  # the shortest quiet stretch inside a VAD region a chunk may end at (pauses)
SENTENCE_ENDS = "。！？!?；;"  # a word ending in one of these ends a transcript line (sentences)
SENTENCE_PAUSE_S = 1.0  # a pause between two words this long ends a line too (sentences)


class Thresholds(Protocol):
    """Whisper's quality thresholds (TranscribeOptions has them)."""

    compression_ratio_threshold: float | None
    log_prob_threshold: float | None
    no_speech_threshold: float | None


def pauses(
    probs: np.ndarray | None, speech: list[dict], neg_threshold: float, pause_s: float = PAUSE_S
) -> list[int]:
    """Sample positions (the middle of each run of at least pause_s seconds of frames below the VAD's
    end-of-speech threshold) inside the speech regions: where a chunk may end inside a region.

    The VAD merges sentences closer than its minimum silence (2 s) into one region, so its regions
    run to its 30 s limit; the pauses between those sentences are what sequential decoding's
    timestamps cut windows at."""
    if probs is None or not len(probs):
        return []
    from analyzer.vad import FRAME

    quiet = np.concatenate([[False], np.asarray(probs) < neg_threshold, [False]])
    edges = np.flatnonzero(np.diff(quiet.astype(np.int8)))
    least = max(1, int(np.ceil(pause_s * TARGET_SR / FRAME)))
    out: list[int] = []
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        if b - a < least:
            continue
        mid = (a + b) * FRAME // 2
        if any(r["start"] < mid < r["end"] for r in speech):
            out.append(int(mid))
    return out


def chunk_regions(speech: list[dict], chunk_s: float = CHUNK_S, cuts: list[int] = ()) -> list[list[dict]]:
    """Pack consecutive speech regions into chunks of at most chunk_s seconds of speech, in time order;
    a region that does not fit into what is left of a chunk fills it up to its last pause (`cuts`,
    block samples: see pauses) that fits, and the rest of the region opens the next chunk.

    Cutting only between regions left chunks of a few seconds: the VAD splits speech at its 30 s limit,
    and the short rest of a split region does not fit beside the next region, so it went alone, cut
    from the sentences around it, and Whisper read it worse (on the 5-minute bench recording the
    opening's closing words alone in a 5.7 s chunk came back with two syllables wrong, read right in
    the 30 s sequential window that also held the sentence before it). Sequential decoding fills every window
    to 30 s and ends it at a timestamp between sentences; a chunk here ends at a pause between them.

    Packing by length instead (first-fit decreasing: 25 instead of 28 chunks on the 15-minute bench
    recording) put regions far apart into one window, and Whisper skipped the second: first-pass
    coverage of tests/test_batched.py's speech fell from over 0.99 to 0.83.

    A region longer than a chunk with no pause to end it at is cut into pieces of chunk_s seconds, so
    the model never sees more than its window and nothing is left undecoded.
    """
    limit = int(chunk_s * TARGET_SR)
    cuts = sorted(cuts)
    chunks: list[list[dict]] = []
    group: list[dict] = []
    total = 0
    for region in speech:
        start, end = int(region["start"]), int(region["end"])
        while end > start:
            room = limit - total
            if end - start <= room:
                group.append({"start": start, "end": end})
                total += end - start
                break
            cut = max((c for c in cuts if start < c <= start + room and c < end), default=None)
            if cut is not None:
                group.append({"start": start, "end": cut})
                start = cut
            elif not group:
                group.append({"start": start, "end": start + limit})
                start += limit
            chunks.append(group)
            group, total = [], 0
    if group:
        chunks.append(group)
    return chunks


def _letters(text: str) -> int:
    return max(1, sum(ch.isalnum() for ch in text))


def read_until(segs: list[dict], start: float, stretch_s: float = STRETCH_S) -> float:
    """Where a chunk's decode stopped reading, in the batch's concatenated seconds: the end of its
    last word, or the start of a skip inside it; the chunk's start when it produced nothing.

    Decoded without timestamp tokens, as the batched pipeline does, Whisper sometimes ends its text
    before the chunk's speech ends: on the scenario corpus's 30-second recordings a chunk came back
    with two of its three sentences and nothing past 5.7 s of its 13.9 s (a tail of 6.8-8.3 s of
    speech, where complete chunks leave 0.0-1.8 s after their last word). It also skips a line in
    the middle of a chunk and stretches the word before it over the line (2.8-3.8 s for a character
    or two, where words last 0.1-0.9 s), or its last word over a skipped last line (8.1 s): a word
    longer than WORD_S_PER_CHAR seconds a character by `stretch_s` or more is where the decode
    stopped, from its start (the stretched word was placed where the skipped line begins; reading on
    from a second into it missed the line again). Sequential decoding seeks to its last timestamp and
    reads on; this finds the point to read on from."""
    for seg in segs:
        for w in seg["words"]:
            if w["end"] - w["start"] - WORD_S_PER_CHAR * _letters(w["text"]) >= stretch_s:
                return max(start, w["start"])
    ends = [w["end"] for s in segs for w in s["words"]] or [s["end"] for s in segs if s["text"].strip()]
    return max([start, *ends])


def words_before(segs: list[dict], until: float) -> list[dict]:
    """The segments cut to their words that start before `until` (text rebuilt from those words)."""
    kept = []
    for seg in segs:
        words = [w for w in seg["words"] if w["start"] < until]
        if words and len(words) < len(seg["words"]):
            words[-1] = {**words[-1], "end": min(words[-1]["end"], until)}
            seg = {**seg, "words": words, "text": "".join(w["text"] for w in words), "end": words[-1]["end"]}
        if words or (not seg["words"] and seg["end"] <= until):
            kept.append(seg)
    return kept


def remainder(chunk: list[dict], skip_s: float) -> list[dict]:
    """The chunk's regions (block samples) past its first `skip_s` seconds of concatenated speech."""
    skip = max(0, int(round(skip_s * TARGET_SR)))
    rest: list[dict] = []
    for region in chunk:
        length = region["end"] - region["start"]
        if skip >= length:
            skip -= length
            continue
        rest.append({"start": region["start"] + skip, "end": region["end"]})
        skip = 0
    return rest


def snap_to_speech(
    seg: dict, probs: np.ndarray | None, end_threshold: float, pause_s: float = PAUSE_S
) -> dict:
    """The segment (times in block seconds) with each word moved out of the pauses it was stretched
    over: a word holding a VAD pause (pause_s or more of frames below end_threshold) with speech after
    it starts where that speech does, and a word ends at its last speech frame.

    Decoded without timestamp tokens, a whole chunk is one segment, and the alignment of its words
    stretches the word after a pause back over it (and over the end of the sentence before): on the
    scenario corpus 47 of 130 phrase starts came out 1.0-1.6 s early (the pause before the sentence,
    under the VAD's 2 s, so inside one region), against 10 window by window, where each sentence's
    timestamps bound its words."""
    if probs is None or not len(probs) or not seg["words"]:
        return seg
    from analyzer.vad import FRAME

    speech = np.asarray(probs) >= end_threshold
    least = max(1, int(np.ceil(pause_s * TARGET_SR / FRAME)))
    words = []
    for w in seg["words"]:
        a = max(0, int(w["start"] * TARGET_SR) // FRAME)
        b = min(len(speech), -(-int(w["end"] * TARGET_SR) // FRAME))
        inside = speech[a:b]
        heard = np.flatnonzero(inside)
        if len(heard):
            first = heard[0]
            gaps = np.flatnonzero(np.diff(heard) > least)  # a pause between two heard frames
            if len(gaps):
                first = heard[gaps[-1] + 1]
            start = max(w["start"], (a + first) * FRAME / TARGET_SR)
            end = min(w["end"], (a + heard[-1] + 1) * FRAME / TARGET_SR)
            w = {**w, "start": start, "end": max(start, end)}
        words.append(w)
    return {**seg, "words": words, "start": words[0]["start"], "end": words[-1]["end"]}


def sentences(seg: dict, pause_s: float = SENTENCE_PAUSE_S) -> list[dict]:
    """The segment cut into lines: after each word that ends a sentence (SENTENCE_ENDS) and between
    two words pause_s or more apart (times as snap_to_speech leaves them). Each line keeps the
    segment's confidence and takes its share of the tokens by characters.

    Decoded without timestamp tokens, a batched chunk is one segment of up to 30 s; a sequential
    window's timestamps give a segment per sentence. A reviewer reads the transcript line by line, a
    line gets one speaker, and the rules read a line's times: five lines by three voices shown as one
    line with one speaker hid who said what (tests/test_web_speakers_e2e.py). Whisper punctuates the
    batched text as it does a window's, so its sentence ends are where a window would have cut; a
    long pause cuts where it left the punctuation out."""
    words = seg["words"]
    if len(words) < 2:
        return [seg]
    lines: list[list[dict]] = [[words[0]]]
    for before, w in pairwise(words):
        tail = before["text"].strip()[-1:]
        if (tail and tail in SENTENCE_ENDS) or w["start"] - before["end"] >= pause_s:
            lines.append([w])
        else:
            lines[-1].append(w)
    if len(lines) == 1:
        return [seg]
    total = seg.get("tokens") or 0
    shares = np.cumsum([_letters("".join(w["text"] for w in line)) for line in lines])
    given = np.round(total * shares / shares[-1]).astype(int)  # cumulative: they add up to total
    out = []
    for line, tokens in zip(lines, np.diff(given, prepend=0), strict=True):
        text = "".join(w["text"] for w in line)
        part = {**seg, "words": line, "text": text, "start": line[0]["start"], "end": line[-1]["end"]}
        if total:
            part["tokens"] = int(tokens)
        out.append(part)
    return out


def concat_probs(probs: np.ndarray | None, regions: list[dict]) -> np.ndarray | None:
    """The VAD frame probabilities along the concatenation of `regions` (block samples), as the batch
    decodes them: concatenated frame k takes the block frame that its middle sample comes from.

    Without timestamp tokens, the alignment stretches the first word after a region boundary back over
    the end of the region before it (the pads around each boundary are quiet); placed by its middle, a
    word then lands in the earlier region, up to the whole silence the VAD cut out early (a request
    for ID said at 11.8 s started at 9.0 s). Snapped to the speech here first (snap_to_speech), in the
    batch's own time, it falls in the region its speech is in."""
    if probs is None or not len(probs) or not regions:
        return None
    from analyzer.vad import FRAME

    lengths = np.array([r["end"] - r["start"] for r in regions])
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    mids = np.arange(-(-int(lengths.sum()) // FRAME)) * FRAME + FRAME // 2
    which = np.clip(np.searchsorted(starts, mids, side="right") - 1, 0, len(regions) - 1)
    block = np.array([r["start"] for r in regions])[which] + mids - starts[which]
    return np.asarray(probs)[np.clip(block // FRAME, 0, len(probs) - 1)]


def as_one_window(read_on: list[dict], before: list[dict]) -> list[dict]:
    """The read-on's segments judged with the confidence of the window they continue: the average
    log-probability over the chunk's decode and the read-on, weighted by tokens.

    A sequential window reports one average log-probability for all its segments. A read-on decodes
    the few seconds after where a batched chunk stopped on their own, and Whisper is less sure of a
    short window: on the inspection_no_opening sample the party's reply 请,我知道了, read the same
    either way, came back at -0.85 alone against -0.20 inside its sequential window, and the
    low-confidence rules (calibrated on sequential windows) held the missing opening for listening."""
    if not read_on or not before:
        return read_on
    both = [*before, *read_on]
    weights = [s.get("tokens") or _letters(s["text"]) for s in both]
    lp = sum(w * s["avg_logprob"] for w, s in zip(weights, both, strict=True)) / sum(weights)
    return [{**s, "avg_logprob": lp} for s in read_on]


def carried_text(segs: list[dict], chars: int) -> str | None:
    """The last `chars` characters of a chunk's text, as the prompt of the batch after it; None when
    it read nothing, was read at a higher temperature or chars is 0.

    Batched chunks are decoded without the text before them, as window by window with
    condition_on_previous_text off; Whisper then picks between homophones with nothing to go on.
    Decoded after the previous chunk's words (all chunks of a batch are given the text of the last
    chunk before the batch: the chunk just before the second is in the same batch), the 5-minute and
    15-minute bench recordings read with fewer errors than without it (bench/results/speed-batch19d.md)."""
    text = "".join(s["text"] for s in segs).strip()
    return text[-chars:] if chars > 0 and text else None


def echoes(segs: list[dict], context: str, run: int) -> bool:
    """Whether the chunk's text repeats `run` or more consecutive characters of its prompt: Whisper
    conditioned on earlier text can copy it over audio it cannot read (an unintelligible clip came back
    as an earlier sentence word for word)."""
    text = "".join(s["text"] for s in segs)
    if run <= 0 or len(context) < run:
        return False
    return any(context[i : i + run] in text for i in range(len(context) - run + 1))


def batches(chunks: list[list[dict]], batch_size: int) -> Iterator[list[list[dict]]]:
    for i in range(0, len(chunks), max(1, batch_size)):
        yield chunks[i : i + max(1, batch_size)]


def needs_fallback(seg: dict, opts: Thresholds) -> bool:
    """Whisper's own test for a failed decode at one temperature (as sequential decoding applies it)."""
    if opts.compression_ratio_threshold and seg["compression_ratio"] > opts.compression_ratio_threshold:
        return True
    return opts.log_prob_threshold is not None and seg["avg_logprob"] < opts.log_prob_threshold


def is_silent(seg: dict, opts: Thresholds) -> bool:
    """Whisper's no-speech rule: a confident no-speech token and a low log-probability."""
    return (
        opts.no_speech_threshold is not None
        and seg["no_speech_prob"] > opts.no_speech_threshold
        and (opts.log_prob_threshold is None or seg["avg_logprob"] < opts.log_prob_threshold)
    )


class _EncodeInGroups:
    """A WhisperModel whose encode() takes a batch `group` chunks at a time and stacks the outputs.

    Everything else is the model's own (the pipeline reads its tokenizer, feature extractor and
    CTranslate2 model through it)."""

    def __init__(self, model: Any, group: int):
        self._model = model
        self._group = max(1, group)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    def encode(self, features: np.ndarray) -> Any:
        if features.ndim < 3 or len(features) <= self._group:
            return self._model.encode(features)
        import ctranslate2

        parts = [
            np.asarray(self._model.encode(features[i : i + self._group]))
            for i in range(0, len(features), self._group)
        ]
        return ctranslate2.StorageView.from_array(np.ascontiguousarray(np.concatenate(parts)))


def pipeline(model: Any, encode_group: int = 1) -> Any:
    """faster-whisper's BatchedInferencePipeline on `model`, its encoder run encode_group chunks at a
    time (the decoder and word alignment see the whole batch, as before)."""
    from faster_whisper import BatchedInferencePipeline

    return BatchedInferencePipeline(_EncodeInGroups(model, encode_group))
