"""Second look before a timed phrase is reported missing.

Greedy decoding is the fast default, and in noise it drops words that beam search keeps. A false
"opening missing" is the costliest mistake a reviewer sees, so when a phrase the guide times
(`<phrase_id>_window_s`, the opening) was not heard, the start of the recording is decoded once more,
with beam search, and matched again. Only recordings where such a phrase is absent pay for it (a few
seconds), and the report says the second look was taken and what it found.

Guide settings: `recheck_beam_size` (0 = off), `recheck_extra_s` (seconds decoded past the window, for
a phrase that starts late in it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from analyzer.media import TARGET_SR

if TYPE_CHECKING:
    from analyzer.guide import Guide
    from analyzer.match import PhraseMatch
    from analyzer.transcribe import TranscribeOptions, Transcript

DEFAULT_BEAM_SIZE = 5
DEFAULT_EXTRA_S = 20.0


@dataclass(frozen=True)
class Recheck:
    phrase_ids: tuple[str, ...]  # absent after the first decode
    until_s: float  # the first file's [0, until_s) was decoded again
    beam_size: int
    found: tuple[str, ...]  # of phrase_ids, heard (present or partial) in the second decode

    def note(self, titles: dict[str, str]) -> str:
        def names(ids: tuple[str, ...]) -> str:
            return "、".join(f"“{titles.get(p, p)}”" for p in ids)

        head = (
            f"首次识别未检出{names(self.phrase_ids)}，"
            f"已将开头 {self.until_s:.0f} 秒以更细致的解码（beam {self.beam_size}）复核"
        )
        if self.found:
            return f"{head}：复核后检出{names(self.found)}，结果按复核转写"
        return f"{head}：复核后仍未检出"


def phrases_to_recheck(matches: Sequence[PhraseMatch], guide: Guide) -> dict[str, float]:
    """Absent phrases that the guide times from the recording start: phrase id -> its window (s)."""
    if int(guide.settings.get("recheck_beam_size", DEFAULT_BEAM_SIZE)) <= 0:
        return {}
    optional = {p.id for p in guide.phrases if p.required == "optional"}
    out: dict[str, float] = {}
    for m in matches:
        window = guide.settings.get(f"{m.phrase_id}_window_s")
        if window is not None and m.status == "absent" and m.phrase_id not in optional:
            out[m.phrase_id] = float(window)
    return out


def cut_point(transcript: Transcript, target_s: float) -> float:
    """Where the second decode ends: after the last segment that ends by `target_s` (a pause, so no
    sentence is split), or `target_s` itself when no segment ends before it."""
    ends = [s.end for s in transcript.segments if s.end <= target_s]
    return max(ends) if ends else target_s


def merge_head(original: Transcript, head: Transcript, until_s: float) -> Transcript:
    """The original transcript with its segments up to `until_s` replaced by the second decode's."""
    kept = tuple(s for s in original.segments if s.end > until_s)
    new = tuple(s for s in head.segments if s.start < until_s)
    return dataclasses.replace(original, segments=new + kept)


def decode_window(
    audio: np.ndarray,
    start_s: float,
    end_s: float,
    options: TranscribeOptions,
    beam_size: int,
    *,
    cache: bool,
) -> Transcript:
    """`audio[start_s:end_s]` decoded on its own with beam search (its own VAD, no text from outside
    the window to condition on), times on `audio`'s timeline. Also used by analyzer.coverage."""
    from analyzer.transcribe import shift_segments, transcribe

    a = max(0, int(round(start_s * TARGET_SR)))
    b = min(len(audio), int(round(end_s * TARGET_SR)))
    careful = dataclasses.replace(options, beam_size=max(beam_size, options.beam_size))
    part = transcribe(np.ascontiguousarray(audio[a:b]), careful, cache=cache)
    offset = a / TARGET_SR
    if not offset:
        return part
    return dataclasses.replace(
        part,
        segments=shift_segments(part.segments, offset),
        speech_regions=tuple((x + offset, y + offset) for x, y in part.speech_regions),
    )


def decode_head(
    audio: np.ndarray, until_s: float, options: TranscribeOptions, beam_size: int, *, cache: bool
) -> Transcript:
    """The first `until_s` seconds (plus a short tail, so the last word is not clipped) with beam search."""
    return decode_window(audio, 0.0, until_s + 0.3, options, beam_size, cache=cache)


def second_look(
    audio: np.ndarray,
    transcript: Transcript,
    matches: Sequence[PhraseMatch],
    guide: Guide,
    options: TranscribeOptions,
    *,
    cache: bool = True,
) -> tuple[Transcript, Recheck] | None:
    """The first file's transcript after a second look, or None when no timed phrase is absent.
    `audio` is the first file's 16 kHz samples (its start is enough), `transcript` its transcript."""
    from analyzer.match import match_transcript

    absent = phrases_to_recheck(matches, guide)
    if not absent:
        return None
    beam = int(guide.settings.get("recheck_beam_size", DEFAULT_BEAM_SIZE))
    target = max(absent.values()) + float(guide.settings.get("recheck_extra_s", DEFAULT_EXTRA_S))
    until = min(cut_point(transcript, target), len(audio) / TARGET_SR)
    if until <= 0:
        return None
    head = decode_head(audio, until, options, beam, cache=cache)
    merged = merge_head(transcript, head, until)
    again = {m.phrase_id: m for m in match_transcript(merged, guide)}
    found = tuple(p for p in absent if again[p].status != "absent")
    return merged, Recheck(tuple(absent), round(until, 2), max(beam, options.beam_size), found)
