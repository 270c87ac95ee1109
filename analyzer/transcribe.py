"""Transcribe: audio -> time-stamped Simplified-Chinese transcript, fully offline.

How (and why):
- Audio is streamed from the file in blocks (media.iter_audio); Silero VAD (analyzer.vad) finds
  speech in each block and only speech is decoded. A 2-hour mostly silent recording therefore costs
  VAD time plus a little decoding, and memory stays bounded. Block boundaries are moved into
  silence so no phrase is cut in two. An array already in memory is VAD'd whole, or not at all
  when the caller passes its frame probabilities (the pipeline shares them with continuity).
- Both engines (faster-whisper, openai-whisper) get the same VAD regions, so their results
  are comparable; times are mapped back to the original's timeline.
- Conditioning on previous text is off: with it on, an unintelligible clip was transcribed as an
  earlier phrase word for word (a false pass for a compliance tool).
- Temperature fallback is bounded (two temperatures + a per-clip CPU-time budget; past the budget the
  rest is decoded greedily without fallback, never dropped): on unintelligible audio the default
  six-step fallback multiplied the cost up to 20x. CPU time, not wall time, so a busy machine does
  not trigger it. Its sampling is seeded (SAMPLING_SEED says how far that reaches).
- Known hallucinations on silence/noise (subtitle credits, "请不吝点赞 订阅 转发", loops) are
  dropped by the patterns in analyzer/hallucinations.txt, after VAD and Whisper's own
  no-speech/log-prob/compression thresholds.
- Output is Simplified (OpenCC t2s); the engine's exact text is kept in raw_text.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from analyzer import cache as transcript_cache
from analyzer.media import TARGET_SR, Probe, iter_audio
from analyzer.media import probe as probe_media
from analyzer.models import ModelError, ResolvedModel, resolve_model
from analyzer.vad import (
    FRAME,
    SILENCE_GATE_DBFS,
    SpanOptions,
    release_freed_memory,
    speech_probs,
    speech_spans,
)


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    text: str  # Simplified
    probability: float


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str  # Simplified (OpenCC t2s)
    raw_text: str  # exactly what the engine produced
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float = 0.0
    words: tuple[Word, ...] = ()
    recovered: bool = False  # found by decoding an uncovered stretch of speech again (analyzer.coverage)
    prompted: bool = False  # read by a second look primed with a guide phrase's wording (analyzer.recheck)


@dataclass(frozen=True)
class Transcript:
    segments: tuple[Segment, ...]
    language: str
    duration_s: float
    engine: str  # "faster-whisper" | "openai-whisper"
    model: str  # model name or path as resolved
    options: dict = field(default_factory=dict)
    audio_sha256: str = ""
    speech_regions: tuple[tuple[float, float], ...] = ()  # VAD speech (start, end) s, original timeline
    warnings: tuple[str, ...] = ()  # e.g. a clip that hit the time budget, dropped hallucinations
    elapsed_s: float = 0.0  # wall time of the transcription that produced it (not of a cache hit)
    # Set by analyzer.coverage (None: coverage not measured): VAD speech seconds, of them seconds
    # covered by a word, and the stretches of speech that no decode could transcribe.
    vad_speech_s: float | None = None
    transcribed_s: float | None = None
    untranscribed: tuple[tuple[float, float], ...] = ()

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.segments)

    @property
    def raw_text(self) -> str:
        return "".join(s.raw_text for s in self.segments)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Transcript:
        segments = tuple(
            Segment(**{**s, "words": tuple(Word(**w) for w in s.get("words", ()))}) for s in data["segments"]
        )
        known = {f.name for f in dataclasses.fields(cls)}
        rest = {k: v for k, v in data.items() if k in known and k != "segments"}
        rest["speech_regions"] = tuple(tuple(r) for r in rest.get("speech_regions", ()))
        rest["warnings"] = tuple(rest.get("warnings", ()))
        rest["untranscribed"] = tuple(tuple(r) for r in rest.get("untranscribed", ()))
        return cls(segments=segments, **rest)


def shift_segments(segments: tuple[Segment, ...], offset_s: float) -> tuple[Segment, ...]:
    """Segments (and their words) moved by `offset_s` seconds: onto a case timeline, or from a window
    decoded on its own back onto its recording."""
    if not offset_s:
        return segments
    return tuple(
        dataclasses.replace(
            s,
            start=s.start + offset_s,
            end=s.end + offset_s,
            words=tuple(
                dataclasses.replace(w, start=w.start + offset_s, end=w.end + offset_s) for w in s.words
            ),
        )
        for s in segments
    )


# Defaults chosen by measurement: bench/bench_transcribe.py, results in bench/results/transcribe.md.
DEFAULT_ENGINE = "faster-whisper"
DEFAULT_BEAM_SIZE = 2  # bench/bench_decode.py: beam 5's CER at 1.09x greedy's CPU (results/decode.md)
DEFAULT_COMPUTE_TYPE = "int8"  # as fast or faster than float32, more accurate here, 200 MB less
# Batched (analyzer.batched): 2 VAD chunks per decoder call, each batch prompted with the text before
# it. On the ASR clip and the 5-, 10- and 15-minute bench recordings together (6,206 characters, beam 2)
# it reads 624 characters wrong against 689 for faster-whisper alone and 704 window by window, at about
# 0.73x window by window's transcription CPU (bench/results/speed-batch19d.md). Its word times are
# placed by the VAD's speech in the batch's own time, a chunk's read-on carries the chunk's confidence
# (analyzer.batched.concat_probs, as_one_window), and a chunk's one segment is cut into lines at
# sentence ends and long pauses (analyzer.batched.sentences), as a window's timestamps cut it
# (bench/RESULTS.md, issue 19). `--batch-size 1` decodes window by window.
DEFAULT_BATCH_SIZE = 2


@dataclass(frozen=True)
class TranscribeOptions:
    engine: str = DEFAULT_ENGINE  # "faster-whisper" | "openai-whisper"
    model: str | None = None  # name (base, small, ...) or path; None = embedded base
    language: str | None = "zh"  # None = let Whisper detect
    # 1 = greedy. Read from DEFAULT_BEAM_SIZE when an instance is made, so that setting is the one place
    # the CLI, the web app and training take the default from.
    beam_size: int = field(default_factory=lambda: DEFAULT_BEAM_SIZE)
    best_of: int = 1  # samples per fallback temperature > 0 (kept low: fallback cost)
    compute_type: str = DEFAULT_COMPUTE_TYPE  # faster-whisper only (float32, int8, ...)
    temperatures: tuple[float, ...] = (0.0, 0.4)  # bounded fallback
    clip_cpu_factor: float = 8.0  # per-clip CPU budget = clip_cpu_base_s + factor * clip seconds
    clip_cpu_base_s: float = 60.0
    condition_on_previous_text: bool = False
    word_timestamps: bool = True
    no_speech_threshold: float = 0.6
    compression_ratio_threshold: float = 2.4
    log_prob_threshold: float = -1.0
    initial_prompt: str | None = None
    hotwords: str | None = None  # faster-whisper only
    vad: bool = True
    vad_threshold: float = 0.5
    # Where Silero is unsure of the speech throughout (telephone-band speech of some voices scores
    # 0.3-0.5: one read by Whisper without a word lost had 0.7 s of 20 s heard at 0.5, and its opening
    # was called missing), the recording is cut at this lower threshold instead: when that finds at
    # least vad_unsure_gain times the speech, and vad_unsure_min_s seconds more. 0 = off.
    vad_unsure_threshold: float = 0.3
    vad_unsure_gain: float = 1.5
    vad_unsure_min_s: float = 2.0
    vad_min_silence_ms: int = 2000
    vad_speech_pad_ms: int = 400
    vad_min_speech_ms: int = 250
    simplified: bool = True  # OpenCC t2s on text (raw kept)
    drop_hallucinations: bool = True
    # VAD chunks decoded together (analyzer.batched; faster-whisper only); 1 = sequential windows.
    batch_size: int = DEFAULT_BATCH_SIZE
    # A batched chunk whose words end this many seconds of speech before the chunk does was cut short
    # by the decoder; the rest is read sequentially (analyzer.batched.read_until).
    batch_resume_s: float = 3.0
    # Characters of the text before a batch given to it as its prompt (analyzer.batched.carried_text;
    # 0 = none), and the run of them repeated that sends a chunk back to be read without it.
    batch_context_chars: int = 60
    batch_echo_chars: int = 12
    threads: int = 2  # does not change results: not part of the cache key
    allow_download: bool = False  # ditto

    def key_dict(self) -> dict:
        """Options that can change the transcript (the cache key part)."""
        data = dataclasses.asdict(self)
        for name in ("threads", "allow_download", "model", "engine"):
            data.pop(name)
        data["temperatures"] = list(self.temperatures)
        return data


ProgressFn = Callable[[float, float], None]  # (seconds of audio done, total seconds)

BLOCK_S = 300.0  # audio read and VAD'd at a time (bounded memory on long files)
MAX_REGION_S = 30.0  # VAD splits longer speech at its quietest short pause
PIECE_S = 60.0  # speech seconds decoded per engine call (CPU budget checked per piece)
# The fallback temperature samples. openai-whisper is seeded before every piece (the same audio, the
# same text, always). CTranslate2 cannot be re-seeded once its worker thread has sampled, so with
# faster-whisper the same files analysed in the same order by a fresh process give the same text;
# a sample drawn after other recordings in a long-running process may differ on audio bad enough to
# need the fallback. The transcript cache answers any repeat analysis with the stored text.
SAMPLING_SEED = 1

# With this set, every engine decode ("decode"; "stand-in" when a test replaced the engine), every
# transcription made rather than read ("run") and every cache answer ("cached") appends a line
# "pid kind engine seconds" to the named file, from whichever process made it: the test suite counts
# them to show that each Whisper test transcribed in its own run rather than reading an old transcript.
ACCOUNTING_ENV = "SCRIPTCHECK_DECODE_LOG"


def _account(kind: str, engine: str, seconds: float) -> None:
    if path := os.environ.get(ACCOUNTING_ENV):
        with open(path, "a", encoding="utf-8") as fh:  # one short append: whole lines across processes
            fh.write(f"{os.getpid()} {kind} {engine} {seconds:.2f}\n")


def transcribe(
    source: str | Path | np.ndarray,
    options: TranscribeOptions | None = None,
    *,
    probe: Probe | None = None,
    cache: bool = True,
    progress: ProgressFn | None = None,
    speech_probs: np.ndarray | None = None,
) -> Transcript:
    """Transcribe a recording (path) or a 16 kHz mono float32 array.

    Raises media.MediaError for unusable files and models.ModelError for a missing model.
    With `cache`, an identical earlier request is answered from the transcript cache.
    speech_probs: the array's Silero frame probabilities (analyzer.vad.speech_probs), when the
    caller has them already.
    """
    opts = options or TranscribeOptions()
    resolved = resolve_model(opts.model, opts.engine, allow_download=opts.allow_download)
    if isinstance(source, np.ndarray):
        audio = np.ascontiguousarray(source, dtype=np.float32).reshape(-1)
        sha = "array:" + hashlib.sha256(memoryview(audio).cast("B")).hexdigest()  # no copy
        duration = len(audio) / TARGET_SR

        def blocks() -> Iterator[np.ndarray]:
            yield audio  # in memory already: one block, VAD'd whole

    else:
        info = probe or probe_media(source)
        sha, duration = info.sha256, info.duration_s

        def blocks() -> Iterator[np.ndarray]:
            yield from iter_audio(source, chunk_s=BLOCK_S)

    key = transcript_cache.transcript_key(sha, opts.engine, resolved.model_id, opts.key_dict())
    if cache and (hit := transcript_cache.load(key)) is not None:
        try:
            answer = Transcript.from_dict(hit)
            _account("cached", opts.engine, answer.duration_s)
            return answer
        except (KeyError, TypeError, ValueError):
            pass  # an entry from an incompatible version: transcribe again
    result = _run(blocks(), duration, sha, opts, resolved, progress, speech_probs)
    _account("run", opts.engine, result.duration_s)  # with no speech found, a run without a decode
    if cache:
        transcript_cache.store(key, result.to_dict())
    return result


def _run(
    blocks: Iterator[np.ndarray],
    duration: float,
    sha: str,
    opts: TranscribeOptions,
    resolved: ResolvedModel,
    progress: ProgressFn | None,
    speech_probs: np.ndarray | None = None,
) -> Transcript:
    started = time.monotonic()
    engine = _engine(opts, resolved)
    segments: list[Segment] = []
    regions: list[tuple[float, float]] = []
    warnings: list[str] = []
    total_samples = 0
    for offset, block, speech, probs in _speech_blocks(blocks, opts, speech_probs):
        total_samples = max(total_samples, int(offset * TARGET_SR) + len(block))
        regions += [(offset + c["start"] / TARGET_SR, offset + c["end"] / TARGET_SR) for c in speech]
        for first, raw, note in _decoded(engine, block, speech, opts, probs):
            if progress:
                progress(min(offset + first / TARGET_SR, duration), duration)
            if note:
                warnings.append(f"{offset + first / TARGET_SR:.1f}s: {note}")
            for seg in raw:
                reason = _implausible(seg, block, opts)
                kept = None if reason else _postprocess(seg, offset, opts)
                if kept is None:
                    reason = reason or "known hallucination"
                    warnings.append(
                        f"{offset + seg['start']:.1f}s: dropped ({reason}) {seg['text'].strip()!r}"
                    )
                elif kept.text.strip():
                    segments.append(kept)
            # CTranslate2's buffers for the piece are freed but stay in the heap (about 100 MB after a
            # beam-search window): handed back, the next decode (or stage) does not start above them.
            release_freed_memory()
        if progress:
            progress(min(total_samples / TARGET_SR, duration or total_samples / TARGET_SR), duration)
    segments.sort(key=lambda s: (s.start, s.end))
    return Transcript(
        segments=tuple(segments),
        language=opts.language or engine.detected_language or "",
        duration_s=round(max(duration, total_samples / TARGET_SR), 3),
        engine=opts.engine,
        model=resolved.name,
        options={**opts.key_dict(), "model_id": resolved.model_id},
        audio_sha256=sha,
        speech_regions=tuple((round(a, 3), round(b, 3)) for a, b in regions),
        warnings=tuple(warnings),
        elapsed_s=round(time.monotonic() - started, 3),
    )


# ---------------------------------------------------------------- VAD and blocking


def vad_span_options(opts: TranscribeOptions) -> SpanOptions:
    return SpanOptions(
        threshold=opts.vad_threshold,
        min_speech_ms=opts.vad_min_speech_ms,
        min_silence_ms=opts.vad_min_silence_ms,
        pad_ms=opts.vad_speech_pad_ms,
        max_speech_s=MAX_REGION_S,
    )


def vad_threshold_for(probs: np.ndarray, n_samples: int, opts: TranscribeOptions) -> float:
    """The VAD threshold for one recording's probabilities: `vad_threshold`, or `vad_unsure_threshold`
    where Silero is unsure of its speech throughout (the lower threshold finds `vad_unsure_gain` times
    the speech and `vad_unsure_min_s` more). On the scenario corpora 0.3 instead of 0.5 added 2 s in 48
    recordings and under 4 s in a ttskit one, except where a voice sat under 0.5 throughout (20 s)."""
    low = opts.vad_unsure_threshold
    if not low or low >= opts.vad_threshold:
        return opts.vad_threshold

    def seconds(threshold: float) -> float:
        cut = vad_span_options(dataclasses.replace(opts, vad_threshold=threshold))
        return sum(s["end"] - s["start"] for s in speech_spans(probs, n_samples, cut)) / TARGET_SR

    sure, unsure = seconds(opts.vad_threshold), seconds(low)
    if unsure - sure >= opts.vad_unsure_min_s and unsure >= opts.vad_unsure_gain * sure:
        return low
    return opts.vad_threshold


def speech_timestamps(
    audio: np.ndarray, opts: TranscribeOptions | None = None, probs: np.ndarray | None = None
) -> list[dict]:
    """Speech regions to decode, [{'start': sample, 'end': sample}, ...], of a 16 kHz array."""
    if len(audio) < TARGET_SR // 10:
        return []
    opts = opts or TranscribeOptions()
    if probs is None or len(probs) != -(-len(audio) // FRAME):
        probs = speech_probs(audio)
    threshold = vad_threshold_for(probs, len(audio), opts)
    return speech_spans(
        probs, len(audio), vad_span_options(dataclasses.replace(opts, vad_threshold=threshold))
    )


def _speech_blocks(
    blocks: Iterator[np.ndarray], opts: TranscribeOptions, probs: np.ndarray | None = None
) -> Iterator[tuple[float, np.ndarray, list[dict], np.ndarray | None]]:
    """Yield (offset_s, audio, speech regions in samples of that audio, its VAD frame probabilities or
    None without VAD), cut only inside silence.

    A block whose last speech region runs into its end is cut before that region; the remainder is
    carried into the next block, so a phrase is never split across two decodes.
    """
    carry = np.zeros(0, dtype=np.float32)
    offset = 0  # samples
    pending = next(blocks, None)
    while pending is not None:
        following = next(blocks, None)
        buf = np.concatenate([carry, pending]) if len(carry) else pending
        last = following is None
        if not opts.vad:
            yield offset / TARGET_SR, buf, [{"start": 0, "end": len(buf)}] if len(buf) else [], None
            offset += len(buf)
            carry = np.zeros(0, dtype=np.float32)
        else:
            # Precomputed probabilities cover the whole array, which then arrives as one block.
            given = probs if offset == 0 and last else None
            frames = given if given is not None and len(given) == -(-len(buf) // FRAME) else speech_probs(buf)
            speech = speech_timestamps(buf, opts, frames)
            cut = len(buf)
            edge = len(buf) - int(opts.vad_min_silence_ms * TARGET_SR / 1000) - 1
            if not last and speech and speech[-1]["end"] >= edge and speech[-1]["start"] > 0:
                cut = speech[-1]["start"]
                speech = speech[:-1]
            yield offset / TARGET_SR, buf[:cut], speech, frames[: -(-cut // FRAME)]
            offset += cut
            carry = buf[cut:].copy() if cut < len(buf) else np.zeros(0, dtype=np.float32)
        pending = following


def _decoded(
    engine: _Engine,
    block: np.ndarray,
    speech: list[dict],
    opts: TranscribeOptions,
    probs: np.ndarray | None = None,
) -> Iterator[tuple[int, list[dict], str]]:
    """(first sample, raw segments in block seconds, note) per decoded piece or batch of chunks."""
    if opts.batch_size > 1 and isinstance(engine, _FasterWhisper):
        yield from _decode_batched(engine, block, speech, opts, probs)
        return
    for piece in _pieces(speech):
        raw, note = engine.run(block, piece, opts)
        yield piece[0]["start"], raw, note


def _decode_batched(
    engine: _FasterWhisper,
    block: np.ndarray,
    speech: list[dict],
    opts: TranscribeOptions,
    probs: np.ndarray | None = None,
) -> Iterator[tuple[int, list[dict], str]]:
    """Yield (first sample, raw segments in block seconds, note) per batch of chunks (analyzer.batched):
    one faster-whisper BatchedInferencePipeline call per batch; a chunk failing Whisper's checks is
    decoded again by engine.run (temperature fallback under the per-piece CPU budget), and a chunk whose
    decode stopped reading early (analyzer.batched.read_until) is read on from there by engine.run."""
    from analyzer.batched import (
        as_one_window,
        batches,
        carried_text,
        chunk_regions,
        concat_probs,
        echoes,
        is_silent,
        needs_fallback,
        pauses,
        read_until,
        remainder,
        sentences,
        snap_to_speech,
        words_before,
    )

    pipeline = engine.batched_pipeline()
    end_threshold = vad_span_options(opts).end_threshold
    cuts = pauses(probs, speech, end_threshold)
    context: str | None = None  # the text before the batch, its prompt (batched.carried_text)
    fresh: list[dict] = []
    for group in batches(chunk_regions(speech, cuts=cuts), opts.batch_size):
        regions = [r for chunk in group for r in chunk]
        audio = np.concatenate([block[r["start"] : r["end"]] for r in regions])
        kind = "decode" if type(engine).__module__ == __name__ else "stand-in"
        _account(kind, opts.engine, len(audio) / TARGET_SR)
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
                initial_prompt=opts.initial_prompt or context,
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
        heard = concat_probs(probs, regions)  # the VAD along the batch's concatenated time
        out: list[dict] = []
        notes: list[str] = []
        for chunk, segs, (first, last) in zip(group, per_chunk, bounds, strict=True):
            mine: list[dict] = []  # this chunk's segments in block seconds
            if context and echoes(segs, context, opts.batch_echo_chars):
                # Conditioned on the text before it, Whisper can repeat that text over audio it cannot
                # read; such a chunk is read again without it, window by window.
                raw, note = engine.run(block, chunk, opts)
                out += raw
                notes += [note] if note else []
                fresh = raw
                continue
            if any(needs_fallback(s, opts) for s in segs) and len(opts.temperatures) > 1:
                raw, note = engine.run(block, chunk, opts)  # temperature fallback, CPU budget
                out += raw
                if note:
                    notes.append(note)
                fresh = []  # read at a higher temperature: not carried on as context
                continue
            if segs and all(is_silent(s, opts) for s in segs):
                fresh = []
                continue
            read_to = read_until(segs, first)
            skipped = any(w["end"] > read_to for s in segs for w in s["words"])  # a stretched word
            if skipped or last - read_to >= opts.batch_resume_s:
                # The decode stopped early (its end-of-text came before the chunk's speech ended, or
                # it skipped a line and stretched a word over it): the rest is read sequentially from
                # there, as a sequential window seeks to its last timestamp.
                segs = words_before(segs, read_to)
                rest = remainder(chunk, read_to - first)
                if rest:
                    raw, note = engine.run(block, rest, opts)
                    mine += as_one_window(raw, segs)
                    if note:
                        notes.append(note)
            for seg in segs:
                if is_silent(seg, opts):
                    continue
                if seg["words"]:
                    for line in sentences(snap_to_speech(seg, heard, end_threshold)):
                        mine += _split_at_regions(line, tmap)
                elif seg["text"].strip():
                    i = tmap.index(seg["start"])
                    seg["start"], seg["end"] = tmap.to_block(seg["start"], i), tmap.to_block(seg["end"], i)
                    mine.append(seg)
            out += mine
            fresh = sorted(mine, key=lambda s: s["start"])
        context = carried_text(fresh, opts.batch_context_chars)
        yield group[0][0]["start"], out, "; ".join(notes)


def _pieces(speech: list[dict]) -> Iterator[list[dict]]:
    """Group consecutive speech regions into decode pieces of at most PIECE_S seconds of speech."""
    group: list[dict] = []
    total = 0
    for chunk in speech:
        length = chunk["end"] - chunk["start"]
        if group and total + length > PIECE_S * TARGET_SR:
            yield group
            group, total = [], 0
        group.append(chunk)
        total += length
    if group:
        yield group


class _TimeMap:
    """Map times in the concatenated speech of a piece back to times in its block."""

    def __init__(self, piece: list[dict]):
        self.piece = piece
        self.starts_concat: list[float] = []  # where each region starts in the concatenation (s)
        pos = 0
        for chunk in piece:
            self.starts_concat.append(pos / TARGET_SR)
            pos += chunk["end"] - chunk["start"]
        self.length = pos / TARGET_SR

    def index(self, t: float) -> int:
        i = 0
        for j, s in enumerate(self.starts_concat):
            if t >= s:
                i = j
        return i

    def to_block(self, t: float, index: int | None = None) -> float:
        i = self.index(t) if index is None else index
        return self.piece[i]["start"] / TARGET_SR + (t - self.starts_concat[i])


# ---------------------------------------------------------------- engines


def _split_at_regions(seg: dict, tmap: _TimeMap) -> list[dict]:
    """Map word times back to the block and split the segment where its words fall in different VAD
    regions: a segment must not straddle a silence that VAD cut out (it would hide that silence and
    blur which sentence was said when)."""
    groups: list[tuple[int, list[dict]]] = []
    for w in seg["words"]:
        i = tmap.index((w["start"] + w["end"]) / 2)
        w["start"], w["end"] = tmap.to_block(w["start"], i), tmap.to_block(w["end"], i)
        if groups and groups[-1][0] == i:
            groups[-1][1].append(w)
        else:
            groups.append((i, [w]))
    if len(groups) == 1:
        return [{**seg, "start": seg["words"][0]["start"], "end": seg["words"][-1]["end"]}]
    return [
        {
            **seg,
            "words": words,
            "text": "".join(w["text"] for w in words),
            "start": words[0]["start"],
            "end": words[-1]["end"],
        }
        for _, words in groups
    ]


def cheap_options(opts: TranscribeOptions) -> TranscribeOptions:
    """Greedy, no temperature fallback: bounded cost (at most one decode per 30 s window)."""
    return dataclasses.replace(opts, beam_size=1, temperatures=(0.0,))


class _Engine:
    detected_language: str | None = None
    degraded = False  # set once a clip exceeded its CPU budget: the rest of the file is decoded cheaply

    def run(self, block: np.ndarray, piece: list[dict], opts: TranscribeOptions) -> tuple[list[dict], str]:
        """Decode the piece; return raw segments (times in the block, seconds) and a note."""
        audio = np.concatenate([block[c["start"] : c["end"]] for c in piece])
        tmap = _TimeMap(piece)
        budget = opts.clip_cpu_base_s + opts.clip_cpu_factor * len(audio) / TARGET_SR
        if self.degraded:
            opts = cheap_options(opts)
        # A subclass from elsewhere (a test's stand-in for the network) is not a Whisper decode.
        kind = "decode" if type(self).__module__ == __name__ else "stand-in"
        _account(kind, opts.engine, len(audio) / TARGET_SR)
        raw, note = self.decode(audio, opts, time.process_time() + budget)
        if "CPU budget exceeded" in note:
            self.degraded = True
        mapped: list[dict] = []
        for seg in raw:
            if seg["words"]:
                mapped += _split_at_regions(seg, tmap)
            else:
                i = tmap.index(seg["start"])
                seg["start"], seg["end"] = tmap.to_block(seg["start"], i), tmap.to_block(seg["end"], i)
                mapped.append(seg)
        return mapped, note

    def decode(self, audio: np.ndarray, opts: TranscribeOptions, deadline: float) -> tuple[list[dict], str]:
        raise NotImplementedError


_MODEL_LOCK = threading.Lock()
_LOADED: dict[tuple, object] = {}  # one model at a time: bounded memory in long batches


def _load_cached(key: tuple, loader: Callable[[], object]) -> object:
    with _MODEL_LOCK:
        if key not in _LOADED:
            _LOADED.clear()
            _LOADED[key] = loader()
        return _LOADED[key]


class _FasterWhisper(_Engine):
    def __init__(self, opts: TranscribeOptions, resolved: ResolvedModel):
        import ctranslate2
        from faster_whisper import WhisperModel

        # CTranslate2 seeds each worker thread's generator once, when it first samples: a fixed seed
        # set before then makes a process's transcripts repeatable (see SAMPLING_SEED).
        ctranslate2.set_random_seed(SAMPLING_SEED)
        path = resolved.path
        if opts.compute_type == "int8":
            from analyzer.convert import int8_folder

            # Quantized once into the model cache rather than at every load; checked to compute the same.
            path = int8_folder(path, opts.threads)
        key = ("faster-whisper", str(path), opts.compute_type, opts.threads)
        self.model = _load_cached(
            key,
            lambda: _remember_encodings(
                WhisperModel(
                    str(path),
                    device="cpu",
                    compute_type=opts.compute_type,
                    cpu_threads=opts.threads,
                    local_files_only=True,
                )
            ),
        )

    def decode(self, audio: np.ndarray, opts: TranscribeOptions, deadline: float) -> tuple[list[dict], str]:
        out: list[dict] = []
        segments = self._segments(audio, opts)
        for seg in segments:
            out.append(seg)
            if time.process_time() > deadline and opts.temperatures != (0.0,):
                segments.close()
                resume = seg["end"]
                rest = audio[int(resume * TARGET_SR) :]
                if len(rest) > TARGET_SR // 4:
                    for late in self._segments(rest, cheap_options(opts)):
                        out.append(_shift(late, resume))
                return out, f"CPU budget exceeded at {resume:.1f}s of speech; rest decoded greedily"
        return out, ""

    def batched_pipeline(self):
        from analyzer.batched import pipeline

        return pipeline(self.model, ENCODE_GROUP)

    def _segments(self, audio: np.ndarray, opts: TranscribeOptions) -> Iterator[dict]:
        return self.segments_from(
            self.model.transcribe(
                audio,
                language=opts.language,
                beam_size=opts.beam_size,
                best_of=opts.best_of,
                temperature=list(opts.temperatures),
                compression_ratio_threshold=opts.compression_ratio_threshold,
                log_prob_threshold=opts.log_prob_threshold,
                no_speech_threshold=opts.no_speech_threshold,
                condition_on_previous_text=opts.condition_on_previous_text,
                initial_prompt=opts.initial_prompt,
                hotwords=opts.hotwords,
                word_timestamps=opts.word_timestamps,
                vad_filter=False,  # done by us, once, for both engines
            )
        )

    def segments_from(self, transcribed: tuple) -> Iterator[dict]:
        """faster-whisper's (segments, info) as raw segment dicts."""
        segments, info = transcribed
        self.detected_language = info.language
        try:
            for seg in segments:
                yield {
                    "start": seg.start,
                    "end": seg.end,
                    "text": seg.text,
                    "avg_logprob": seg.avg_logprob,
                    "no_speech_prob": seg.no_speech_prob,
                    "compression_ratio": seg.compression_ratio,
                    "tokens": len(getattr(seg, "tokens", None) or ()),
                    "words": [
                        {"start": w.start, "end": w.end, "text": w.word, "probability": w.probability}
                        for w in (seg.words or ())
                    ],
                }
        finally:
            segments.close()


ENCODINGS_KEPT = 2
# Chunks of a batch encoded together (analyzer.batched.pipeline): 1 keeps the encoder's memory at what
# sequential decoding needs; the bench sets more to compare.
ENCODE_GROUP = 1


def _remember_encodings(model):
    """`model` with its encoder's last outputs kept by input: a second look or coverage pass that
    decodes the same 30-second window again (the whole of a short recording, typically) reuses the
    encoding rather than running the encoder again. The encoder is deterministic, so the output is the
    same; only the cost goes."""
    encode = model.encode
    kept: dict[tuple, object] = {}
    lock = threading.Lock()

    def remembered(features: np.ndarray):
        features = np.ascontiguousarray(features)
        digest = hashlib.sha1(memoryview(features).cast("B")).hexdigest()
        key = (features.shape, features.dtype.str, digest)
        with lock:
            hit = kept.get(key)
        if hit is not None:
            return hit
        out = encode(features)
        with lock:
            kept[key] = out
            while len(kept) > ENCODINGS_KEPT:
                kept.pop(next(iter(kept)))
        return out

    model.encode = remembered
    return model


def _shift(seg: dict, by: float) -> dict:
    words = [{**w, "start": w["start"] + by, "end": w["end"] + by} for w in seg["words"]]
    return {**seg, "start": seg["start"] + by, "end": seg["end"] + by, "words": words}


class _OpenAIWhisper(_Engine):
    def __init__(self, opts: TranscribeOptions, resolved: ResolvedModel):
        import torch

        torch.set_num_threads(max(1, opts.threads))
        if resolved.format == "pt":
            checkpoint = resolved.path
        else:
            from analyzer.convert import openai_checkpoint

            checkpoint = openai_checkpoint(resolved.path)
        key = ("openai-whisper", str(checkpoint))
        self.model = _load_cached(key, lambda: _load_openai(checkpoint))

    def decode(self, audio: np.ndarray, opts: TranscribeOptions, deadline: float) -> tuple[list[dict], str]:
        import torch
        import whisper

        torch.manual_seed(SAMPLING_SEED)
        result = whisper.transcribe(
            self.model,
            audio,
            verbose=None,
            language=opts.language,
            temperature=tuple(opts.temperatures),
            beam_size=opts.beam_size if opts.beam_size > 1 else None,
            best_of=opts.best_of,
            compression_ratio_threshold=opts.compression_ratio_threshold,
            logprob_threshold=opts.log_prob_threshold,
            no_speech_threshold=opts.no_speech_threshold,
            condition_on_previous_text=opts.condition_on_previous_text,
            initial_prompt=opts.initial_prompt,
            word_timestamps=opts.word_timestamps,
            fp16=False,
        )
        self.detected_language = result.get("language")
        out = [
            {
                "start": s["start"],
                "end": s["end"],
                "text": s["text"],
                "avg_logprob": s["avg_logprob"],
                "no_speech_prob": s["no_speech_prob"],
                "compression_ratio": s["compression_ratio"],
                "words": [
                    {"start": w["start"], "end": w["end"], "text": w["word"], "probability": w["probability"]}
                    for w in s.get("words", ())
                ],
            }
            for s in result["segments"]
        ]
        over = time.process_time() > deadline and opts.temperatures != (0.0,)
        note = "CPU budget exceeded; following clips decoded greedily" if over else ""
        if opts.hotwords:
            note = (note + "; " if note else "") + "hotwords ignored by openai-whisper"
        return out, note


def _load_openai(checkpoint: Path):
    from analyzer.convert import load_openai_model

    return load_openai_model(checkpoint)


def _engine(opts: TranscribeOptions, resolved: ResolvedModel) -> _Engine:
    if opts.engine == "faster-whisper":
        if resolved.format != "ct2":
            raise ValueError(f"faster-whisper needs a CTranslate2 model folder, got {resolved.path}")
        return _FasterWhisper(opts, resolved)
    if opts.engine == "openai-whisper":
        try:
            import torch  # noqa: F401
            import whisper  # noqa: F401
        except ImportError as err:  # an optional extra: `pip install -e .` alone does not bring it
            raise ModelError(
                f"openai-whisper 引擎需要可选依赖 / the openai-whisper engine needs the torch extra "
                f'({err.name} is not installed): pip install torch==2.13.0 -e ".[torch]"'
            ) from None
        return _OpenAIWhisper(opts, resolved)
    raise ValueError(f"unknown engine {opts.engine!r}")


# ---------------------------------------------------------------- post-processing


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    return _t2s().convert(text) if text else text


@lru_cache(maxsize=1)
def hallucination_patterns() -> tuple[re.Pattern, ...]:
    """Known Whisper hallucinations (analyzer/hallucinations.txt, one regex a line, '#' comments)."""
    text = resources.files("analyzer").joinpath("hallucinations.txt").read_text(encoding="utf-8")
    lines = (ln.strip() for ln in text.splitlines())
    return tuple(re.compile(ln) for ln in lines if ln and not ln.startswith("#"))


_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)
_LOOP = re.compile(r"(.{1,12}?)\1{3,}")  # a unit said 4+ times in a row: a decoding loop


def is_hallucination(text: str) -> bool:
    """True for text that is one of Whisper's known inventions on silence/noise."""
    plain = _PUNCT.sub("", to_simplified(text))
    return any(p.search(plain) for p in hallucination_patterns())


def collapse_loops(text: str) -> str:
    """'好的好的好的好的好的' -> '好的': keep one copy of a unit repeated 4+ times."""
    return _LOOP.sub(r"\1", text)


def _implausible(seg: dict, block: np.ndarray, opts: TranscribeOptions) -> str:
    """Why a decoded segment cannot be real speech ('' when it can).

    Text over audio quieter than the silence gate is invented (Whisper loops on digital silence when
    VAD is off); a compression ratio still above the threshold after every fallback temperature that is
    not a plain loop (those are collapsed to one copy) is degenerate output."""
    if not opts.drop_hallucinations:
        return ""
    a, b = int(seg["start"] * TARGET_SR), int(seg["end"] * TARGET_SR)
    span = block[max(0, a) : max(b, a + 1)]
    if len(span) and np.sqrt(np.mean(np.square(span, dtype=np.float64))) < 10 ** (SILENCE_GATE_DBFS / 20):
        return "no sound under the text"
    ratio = seg["compression_ratio"]
    if (
        opts.compression_ratio_threshold
        and ratio > opts.compression_ratio_threshold
        and not _LOOP.search(seg["text"])
    ):
        return f"unrepairable repetition, compression ratio {ratio:.1f}"  # a plain loop is collapsed instead
    return ""


def _postprocess(seg: dict, offset: float, opts: TranscribeOptions) -> Segment | None:
    """Raw engine segment -> Segment on the original timeline; None when it is a known hallucination."""
    raw = seg["text"].strip()
    if opts.drop_hallucinations and is_hallucination(raw):
        return None
    convert = to_simplified if opts.simplified else (lambda s: s)
    text = convert(raw)
    words = [
        Word(
            start=round(offset + float(w["start"]), 3),
            end=round(offset + float(w["end"]), 3),
            text=convert(w["text"].strip()),
            probability=round(float(w["probability"]), 4),
        )
        for w in seg["words"]
    ]
    if opts.drop_hallucinations and _LOOP.search(text):
        text = collapse_loops(text)
        words = _drop_looped_words(words)
    return Segment(
        start=round(offset + float(seg["start"]), 3),
        end=round(offset + float(seg["end"]), 3),
        text=text,
        raw_text=raw,
        avg_logprob=round(float(seg["avg_logprob"]), 4),
        no_speech_prob=round(float(seg["no_speech_prob"]), 4),
        compression_ratio=round(float(seg["compression_ratio"]), 4),
        words=tuple(words),
    )


def _drop_looped_words(words: list[Word]) -> list[Word]:
    """Remove the words that make up the repeats of a loop (keep the first copy)."""
    joined = "".join(w.text for w in words)
    removed: list[tuple[int, int]] = [(m.start() + len(m.group(1)), m.end()) for m in _LOOP.finditer(joined)]
    kept, pos = [], 0
    for w in words:
        start, pos = pos, pos + len(w.text)
        if not any(a <= start < b for a, b in removed):
            kept.append(w)
    return kept
