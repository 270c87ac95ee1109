"""Coverage: every stretch of VAD speech ends up in the transcript or is reported as untranscribed.

Whisper can jump to the end of its 30 s window: a window holding four clear sentences came back as
its first sentence, with no warning, and a compliance tool then calls the other three "missing". A
decoded window is therefore never trusted to be complete. After decoding, the speech the VAD heard
(frames at or above the transcriber's `vad_threshold`, inside the regions it decoded) is compared with
the words' time spans; each stretch of at least `coverage_min_gap_s` of speech that no word covers is
decoded again on its own: a window cut to that stretch, with beam search (recheck.decode_window, the
same machinery as the second look at the start). Words found there are merged into the transcript in
time order, in segments marked `recovered`. A window that again covers only part of its stretch
leaves a smaller stretch, which is tried in turn; a window is never decoded twice. Speech lost where
the transcriber cut continuous speech into windows is shorter than a stretch but read by neither
window: it is decoded again too, with the sentences around the cut (gaps_at_cuts). What still yields
nothing stays in `Transcript.untranscribed`, and rules turn a "missing" finding whose window overlaps
it into "needs listening".

Guide settings ([settings.coverage]): `coverage_min_gap_s`, `coverage_tolerance_s` (a word covers
its span widened by this much on each side: word times are approximate), `coverage_max_char_s` (a
segment with more VAD speech per character than this is a skip whose few words were stretched over
it: its words cover nothing), `coverage_min_logprob` (a re-decoded segment from a window Whisper
judged probably silent needs at least this average log-probability), `coverage_beam_size` (0 = no
re-decode; the gaps are then only reported), `coverage_max_redecode_s` (cost bound: seconds of audio
re-decoded per file; stretches past it are reported untranscribed without a second try).
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from analyzer.media import TARGET_SR
from analyzer.vad import FRAME

if TYPE_CHECKING:
    from analyzer.transcribe import Segment, TranscribeOptions, Transcript, Word

FRAME_S = FRAME / TARGET_SR
# A window reaches this far past its stretch on each side, so a word cut by the stretch's edge is
# heard whole (the same margin recheck.decode_head leaves after its last word).
WINDOW_PAD_S = 0.3
# Fallbacks for a guide that does not set them (phrasebook/README.md documents each).
DEFAULTS: dict[str, float] = {
    "coverage_min_gap_s": 1.5,
    "coverage_tolerance_s": 0.3,
    "coverage_max_char_s": 0.8,
    "coverage_min_logprob": -0.7,
    "coverage_beam_size": 5,
    "coverage_max_redecode_s": 300.0,
}


@dataclass(frozen=True)
class CoverageSettings:
    min_gap_s: float = DEFAULTS["coverage_min_gap_s"]
    tolerance_s: float = DEFAULTS["coverage_tolerance_s"]
    max_char_s: float = DEFAULTS["coverage_max_char_s"]
    min_logprob: float = DEFAULTS["coverage_min_logprob"]
    beam_size: int = int(DEFAULTS["coverage_beam_size"])
    max_redecode_s: float = DEFAULTS["coverage_max_redecode_s"]

    @classmethod
    def from_settings(cls, settings: dict[str, float]) -> CoverageSettings:
        value = {**DEFAULTS, **{k: v for k, v in settings.items() if k in DEFAULTS}}
        return cls(
            min_gap_s=float(value["coverage_min_gap_s"]),
            tolerance_s=float(value["coverage_tolerance_s"]),
            max_char_s=float(value["coverage_max_char_s"]),
            min_logprob=float(value["coverage_min_logprob"]),
            beam_size=int(value["coverage_beam_size"]),
            max_redecode_s=float(value["coverage_max_redecode_s"]),
        )


@dataclass(frozen=True)
class Gap:
    """A stretch of VAD speech that no word covers: [start, end] (seconds) and its speech seconds."""

    start: float
    end: float
    speech_s: float


def speech_mask(probs: np.ndarray, regions: Sequence[tuple[float, float]], threshold: float) -> np.ndarray:
    """Per Silero frame: speech, inside the regions the transcriber decoded (their padding excluded)."""
    voiced = np.asarray(probs, dtype=np.float32) >= threshold
    inside = np.zeros(len(voiced), dtype=bool)
    for a, b in regions:
        inside[max(0, int(a / FRAME_S)) : max(0, int(np.ceil(b / FRAME_S)))] = True
    return voiced & inside


def covering_words(transcript: Transcript, speech: np.ndarray, settings: CoverageSettings) -> list[Word]:
    """The words that count as covering speech.

    When Whisper skips, its alignment can spread the few words it wrote over the whole skipped
    stretch (ten characters over 15 s of four sentences). A segment whose words span more than
    `max_char_s` seconds of VAD speech per character is such a skip: its words cover nothing."""
    out: list[Word] = []
    for seg in transcript.segments:
        if not seg.words:
            continue
        chars = sum(len(w.text.strip()) for w in seg.words)
        a, b = int(seg.words[0].start / FRAME_S), int(np.ceil(seg.words[-1].end / FRAME_S))
        voiced = float(speech[max(0, a) : max(0, b)].sum()) * FRAME_S
        if voiced <= settings.max_char_s * max(1, chars):
            out += seg.words
    return out


def word_mask(transcript: Transcript, speech: np.ndarray, settings: CoverageSettings) -> np.ndarray:
    """Per frame: inside some covering word's [start - tolerance, end + tolerance]."""
    n_frames = len(speech)
    covered = np.zeros(n_frames, dtype=bool)
    for w in covering_words(transcript, speech, settings):
        a = max(0, int((w.start - settings.tolerance_s) / FRAME_S))
        b = min(n_frames, int(np.ceil((w.end + settings.tolerance_s) / FRAME_S)))
        covered[a:b] = True
    return covered


def find_gaps(
    transcript: Transcript,
    speech: np.ndarray,
    settings: CoverageSettings,
    *,
    min_speech_s: float | None = None,
    within: tuple[float, float] | None = None,
) -> list[Gap]:
    """Stretches of at least `min_speech_s` (default `min_gap_s`) of speech with no word, each inside
    one decoded region (and inside `within`, when given).

    A stretch runs from the first to the last uncovered speech frame between two words (pauses inside
    it count towards its length, not towards its speech seconds), so a pause between two sentences
    that the VAD kept inside one region is never a gap, and four skipped sentences are one stretch."""
    least = settings.min_gap_s if min_speech_s is None else min_speech_s
    n = len(speech)
    covered = word_mask(transcript, speech, settings)
    gaps: list[Gap] = []
    for a, b in transcript.speech_regions:
        if within is not None:
            a, b = max(a, within[0]), min(b, within[1])
        fa, fb = max(0, int(a / FRAME_S)), min(n, int(np.ceil(b / FRAME_S)))
        run_start: int | None = None
        for i in range(fa, fb + 1):
            blocked = i >= fb or covered[i]
            if not blocked and run_start is None:
                run_start = i
            if blocked and run_start is not None:
                voiced = np.flatnonzero(speech[run_start:i])
                if len(voiced) and len(voiced) * FRAME_S >= least:
                    first, last = run_start + int(voiced[0]), run_start + int(voiced[-1]) + 1
                    start, end = round(first * FRAME_S, 3), round(last * FRAME_S, 3)
                    gaps.append(Gap(start, end, round(len(voiced) * FRAME_S, 3)))
                run_start = None
    return gaps


def split_at_pause(gap: Gap, speech: np.ndarray) -> list[tuple[float, float]]:
    """The stretch cut in two in the middle of its longest pause; [] when it holds no pause."""
    fa, fb = int(round(gap.start / FRAME_S)), int(round(gap.end / FRAME_S))
    quiet = ~speech[fa:fb]
    best_len, best_at, run = 0, -1, 0
    for i, q in enumerate(quiet.tolist()):
        run = run + 1 if q else 0
        if run > best_len:
            best_len, best_at = run, i
    if best_len == 0:
        return []
    mid = fa + best_at - best_len // 2
    return [(gap.start, round(mid * FRAME_S, 3)), (round(mid * FRAME_S, 3), gap.end)]


def measure(transcript: Transcript, speech: np.ndarray, settings: CoverageSettings) -> tuple[float, float]:
    """(seconds of VAD speech, of them seconds covered by a word)."""
    covered = word_mask(transcript, speech, settings)
    return round(float(speech.sum()) * FRAME_S, 2), round(float((speech & covered).sum()) * FRAME_S, 2)


def plausible(
    seg: Segment, options: TranscribeOptions, settings: CoverageSettings, texts: Sequence[str]
) -> bool:
    """Whether a segment of a re-decode may be taken as speech.

    Beam search on audio that cannot be read (muffled, through a wall) invents text: "谢谢,谢谢"
    (log-probability -0.87), or one question three times over, in a window Whisper judged probably
    silent. Such text would cover the stretch and hide it from the reviewer. So a re-decode's segment
    must reach Whisper's log-probability threshold and compression-ratio limit, must not repeat in its
    window (a loop), and, from a window judged probably silent, must reach `min_logprob` (clear speech
    the first pass skipped came back at -0.26 to -0.46 from such windows: the judgement is the
    window's, made at its start). A segment that is one clause said over and over (再偷懒,再偷懒,再偷懒 at
    -0.88 from babble) is such a loop inside one segment."""
    ratio = options.compression_ratio_threshold
    doubtful = seg.no_speech_prob > options.no_speech_threshold
    return (
        seg.avg_logprob >= options.log_prob_threshold
        and not (doubtful and seg.avg_logprob < settings.min_logprob)
        and (not ratio or seg.compression_ratio <= ratio)
        and texts.count(seg.text) == 1
        and not _repeats_itself(seg.text)
    )


_CLAUSE_BREAK = re.compile(r"[\s,，。.、;；:：!！?？…]+")


def _repeats_itself(text: str) -> bool:
    """Whether the text is one clause repeated (at least twice, nothing else)."""
    clauses = [c for c in _CLAUSE_BREAK.split(text) if c]
    return len(clauses) >= 2 and len(set(clauses)) == 1


def _recovered_segments(
    part: Transcript,
    gap: Gap,
    existing: Sequence[tuple[float, float]],
    options: TranscribeOptions,
    settings: CoverageSettings,
) -> list[Segment]:
    """The window's plausible segments, cut to the words whose middle lies in the stretch and in no
    existing word (the window's margins hear the neighbouring words again), marked recovered."""
    out: list[Segment] = []
    texts = [s.text for s in part.segments]
    for seg in part.segments:
        if not plausible(seg, options, settings, texts):
            continue
        kept = []
        for w in seg.words:
            mid = (w.start + w.end) / 2
            if gap.start <= mid <= gap.end and not any(a <= mid <= b for a, b in existing):
                kept.append(w)
        if not kept or not "".join(w.text for w in kept).strip():
            continue
        whole = len(kept) == len(seg.words)
        text = seg.text if whole else "".join(w.text for w in kept)
        out.append(
            dataclasses.replace(
                seg,
                start=kept[0].start,
                end=kept[-1].end,
                text=text,
                raw_text=seg.raw_text if whole else text,
                words=tuple(kept),
                recovered=True,
            )
        )
    return out


def _window(
    transcript: Transcript, stretch: tuple[float, float], duration: float, *, with_context: bool
) -> tuple[float, float]:
    """The audio decoded for a stretch: the stretch and a short margin, or with the sentences around it
    (from the start of the segment before it to the end of the one after it, at most MAX_REGION_S in
    all): a fragment cut from the end of a sentence is often unreadable alone."""
    from analyzer.transcribe import MAX_REGION_S

    a, b = stretch[0] - WINDOW_PAD_S, stretch[1] + WINDOW_PAD_S
    if with_context:
        # Word times, not segment times: a segment that skipped ends where its window ended.
        spans = [(s.words[0].start, s.words[-1].end) for s in transcript.segments if s.words]
        before = [x for x, y in spans if y <= stretch[0] + WINDOW_PAD_S]
        after = [y for x, y in spans if x >= stretch[1] - WINDOW_PAD_S]
        room = max(0.0, MAX_REGION_S - (b - a))
        a = max(max(before, default=a), a - room / 2) if before else a
        b = min(min(after, default=b), b + room / 2) if after else b
    return max(0.0, a), min(duration, b)


def gaps_at_cuts(
    transcript: Transcript, speech: np.ndarray, settings: CoverageSettings, min_speech_s: float
) -> list[tuple[float, float]]:
    """Uncovered speech next to a cut the transcriber made inside continuous speech, shorter than
    `min_gap_s` and at least `min_speech_s`: per cut, from the first to the last such frame on either
    side of it.

    A region longer than the transcriber's window is cut at its quietest short pause, which can be
    inside a sentence; Whisper then reads neither end of it (the window before stops at its last
    clear clause, the one after starts at its first), so a second or so of speech is lost at the
    cut, below `min_gap_s`. Uncovered speech with no word between it and such a cut (regions that
    touch) is that loss."""
    regions = transcript.speech_regions
    cuts = [b for (_, b), (c, _) in itertools.pairwise(regions) if c - b <= FRAME_S]
    if not cuts:
        return []
    mids = [(w.start + w.end) / 2 for w in covering_words(transcript, speech, settings)]
    # the longer ones are the first pass's to decode, and reported when they stay unread
    gaps = [
        g
        for g in find_gaps(transcript, speech, settings, min_speech_s=min_speech_s)
        if g.speech_s < settings.min_gap_s
    ]
    out: list[tuple[float, float]] = []
    for cut in cuts:
        # find_gaps keeps each gap inside one region, so a gap lies before or after the cut
        lo_hi = [(g.end, cut) if g.end <= cut else (cut, g.start) for g in gaps]
        near = [g for g, (lo, hi) in zip(gaps, lo_hi, strict=True) if not any(lo < m < hi for m in mids)]
        if near:
            out.append((min(g.start for g in near), max(g.end for g in near)))
    return out


def ensure_coverage(
    audio: np.ndarray,
    probs: np.ndarray,
    transcript: Transcript,
    options: TranscribeOptions,
    settings: CoverageSettings,
    *,
    cache: bool = True,
) -> Transcript:
    """The transcript with every uncovered stretch of speech decoded again, and what stays uncovered
    recorded (`untranscribed`, `vad_speech_s`, `transcribed_s`). `audio` is the file's 16 kHz samples,
    `probs` its Silero frame probabilities (analyzer.vad.speech_probs).

    A window can skip again: what it leaves uncovered is tried again as a smaller window; a stretch that
    yields nothing new alone is tried with the sentences around it, then cut in two at its longest
    pause (Whisper skips less on short windows), down to pieces shorter than the transcriber's
    `vad_min_speech_ms`. Then speech lost at a cut inside continuous speech (gaps_at_cuts), however
    short, is decoded with the sentences around the cut. A window is never decoded twice, and
    `max_redecode_s` bounds the cost."""
    from analyzer.recheck import decode_window
    from analyzer.transcribe import vad_threshold_for

    speech = speech_mask(probs, transcript.speech_regions, vad_threshold_for(probs, len(audio), options))
    shortest = options.vad_min_speech_ms / 1000
    duration = len(audio) / TARGET_SR
    budget = settings.max_redecode_s
    warnings = list(transcript.warnings)
    queue: list[tuple[float, float, bool]] = []  # (start, end, with the sentences around it)
    if settings.beam_size > 0:
        queue = [(g.start, g.end, False) for g in find_gaps(transcript, speech, settings)]
    tried: set[tuple[float, float, bool]] = set()
    # A stretch with no words around it gets the same window alone and with context, and a stretch left
    # after a window can give that window again: its decode is reused (what the transcript cache would
    # answer), not repeated.
    decoded: dict[tuple[float, float], Transcript] = {}
    for phase in ("gaps", "cuts"):
        if phase == "cuts" and settings.beam_size > 0:
            queue = [(a, b, True) for a, b in gaps_at_cuts(transcript, speech, settings, shortest)]
        while queue:
            item = queue.pop(0)
            if item in tried:
                continue
            tried.add(item)
            stretch = item[:2]
            a, b = _window(transcript, stretch, duration, with_context=item[2])
            part = decoded.get((round(a, 3), round(b, 3)))
            if part is None:
                if b - a > budget:
                    warnings.append(
                        f"{stretch[0]:.1f}s: re-decode budget spent, {stretch[1] - stretch[0]:.1f}s not tried"
                    )
                    continue
                budget -= b - a
                part = decode_window(audio, a, b, options, settings.beam_size, cache=cache)
                decoded[(round(a, 3), round(b, 3))] = part
            existing = [(w.start, w.end) for w in covering_words(transcript, speech, settings)]
            found = _recovered_segments(part, Gap(stretch[0], stretch[1], 0.0), existing, options, settings)
            if found:
                merged = sorted((*transcript.segments, *found), key=lambda s: (s.start, s.end))
                transcript = dataclasses.replace(transcript, segments=tuple(merged))
            for rest in find_gaps(transcript, speech, settings, min_speech_s=shortest, within=stretch):
                if (rest.start, rest.end) != stretch:
                    queue.append((rest.start, rest.end, False))
                elif not item[2]:
                    queue.append((rest.start, rest.end, True))
                else:
                    queue += [(x, y, False) for x, y in split_at_pause(rest, speech)]
    gaps = find_gaps(transcript, speech, settings)
    vad_s, covered_s = measure(transcript, speech, settings)
    return dataclasses.replace(
        transcript,
        untranscribed=tuple((g.start, g.end) for g in gaps),
        vad_speech_s=vad_s,
        transcribed_s=covered_s,
        warnings=tuple(warnings),
    )
