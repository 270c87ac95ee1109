"""Second looks before a required phrase is reported missing or incomplete.

The first decode searches narrowly (beam 2 by default, bench/results/decode.md), and in noise or
with an unfamiliar voice it drops or garbles words that a wider beam keeps. So when a phrase the
recording needs was not heard (absent) or heard only in part, the stretch where it is expected is
decoded once more, with a wider beam search, and matched again:

* a phrase the guide times from the start (`<phrase_id>_window_s`, the opening): the start;
* the interruption reason: the resume window after each interruption where none was heard;
* a partial phrase: where it was heard, a few seconds either side;
* any other: between the phrases the guide's [[order]] puts before and after it (when heard), else
  the whole recording;
* a phrase this recording does not need but that the guide's [[order]] puts after the last phrase
  heard (the return of documents after the signing request): the rest of the recording after it, when
  at most `recheck_expected_max_s` long. A phrase said is reported as said whether or not the inferred
  profile needs it, and such a tail is cheap to decode again.

Windows are decoded shortest first within `recheck_max_s` seconds of audio per recording; one that
does not fit is recorded as not decoded. A window's decode replaces the first decode's segments there
only when it makes a phrase it was taken for better heard and no phrase worse. Every look is kept
(`Recheck.looks`) for the report.

A second look searches wider than the first decode or is not taken: with `recheck_beam_size` no
larger than the first decode's beam (TranscribeOptions.beam_size), decoding the stretch again would
repeat the same search.

Guide settings: `recheck_beam_size` (0 = off), `recheck_extra_s` (seconds decoded past a timed
window), `recheck_max_s` (audio seconds per recording), `recheck_pad_s` (around a partial phrase),
`recheck_expected_max_s` (the longest stretch looked at for a phrase not needed; absent or 0: none).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from analyzer.media import TARGET_SR

if TYPE_CHECKING:
    from analyzer.continuity import CaseFile, ContinuityReport
    from analyzer.guide import Guide
    from analyzer.match import PhraseMatch
    from analyzer.transcribe import TranscribeOptions, Transcript

DEFAULT_BEAM_SIZE = 5
DEFAULT_EXTRA_S = 20.0
DEFAULT_MAX_S = 120.0
DEFAULT_PAD_S = 6.0
EDGE_S = 0.3  # decoded beyond each end of a window, so a word at its edge is not clipped

_RANK = {"absent": 0, "partial": 1, "present": 2}


@dataclass(frozen=True)
class Look:
    """One window decoded again (or, over the budget, not)."""

    phrase_ids: tuple[str, ...]  # taken for these phrases (absent or partial before it)
    file: str
    start_s: float  # file time; the window is [start_s, end_s)
    end_s: float
    why: str  # "timed" | "resume" | "partial" | "order" | "whole" | "expected"
    decoded: bool = True  # False: it did not fit in recheck_max_s
    found: tuple[str, ...] = ()  # of phrase_ids, better heard after it (its decode is then used)
    offset_s: float = 0.0  # the file's place on the case timeline

    def to_dict(self) -> dict:
        return {
            "phrases": list(self.phrase_ids),
            "file": self.file,
            "start_s": round(self.start_s, 3),
            "end_s": round(self.end_s, 3),
            "case_start_s": round(self.offset_s + self.start_s, 3),
            "why": self.why,
            "decoded": self.decoded,
            "found": list(self.found),
        }


@dataclass(frozen=True)
class Recheck:
    phrase_ids: tuple[str, ...]  # absent (or partial) after the first decode, looked at again
    until_s: float  # the first file's [0, until_s) was decoded again (0.0: the start was not)
    beam_size: int
    found: tuple[str, ...]  # of phrase_ids, better heard in the second decode
    looks: tuple[Look, ...] = ()
    budget_s: float = 0.0  # recheck_max_s
    decoded_s: float = 0.0  # audio seconds decoded again

    def note(self, titles: dict[str, str]) -> str:
        def names(ids: tuple[str, ...]) -> str:
            return "、".join(f"“{titles.get(p, p)}”" for p in ids)

        if not self.looks:  # the start only (second_look)
            head = (
                f"首次识别未检出{names(self.phrase_ids)}，"
                f"已将开头 {self.until_s:.0f} 秒以更细致的解码（beam {self.beam_size}）复核"
            )
        else:
            skipped = sum(1 for lk in self.looks if not lk.decoded)
            head = (
                f"首次识别未检出或不完整：{names(self.phrase_ids)}，"
                f"已将其应出现的 {len(self.looks) - skipped} 段共 {self.decoded_s:.0f} 秒录音"
                f"以更细致的解码（beam {self.beam_size}）复核"
            )
            if skipped:
                head += f"（另 {skipped} 段超出复核时长上限 {self.budget_s:.0f} 秒，未复核）"
        if self.found:
            return f"{head}：复核后检出{names(self.found)}，结果按复核转写"
        return f"{head}：复核后仍未检出"


def recheck_beam(guide: Guide, options: TranscribeOptions) -> int:
    """The second looks' beam, or 0 when they are off or would search no wider than the first decode."""
    beam = int(guide.settings.get("recheck_beam_size", DEFAULT_BEAM_SIZE))
    return beam if beam > options.beam_size else 0


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
    the window to condition on), times on `audio`'s timeline. Also used by analyzer.coverage.

    Window by window (batch size 1) whatever the first pass used: a window is a chunk or two, so
    batching saves nothing, and sequential decoding reads on from its last timestamp where a batched
    decode can end its text early."""
    from analyzer.transcribe import shift_segments, transcribe

    a = max(0, int(round(start_s * TARGET_SR)))
    b = min(len(audio), int(round(end_s * TARGET_SR)))
    careful = dataclasses.replace(options, beam_size=max(beam_size, options.beam_size), batch_size=1)
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


def merge_window(original: Transcript, window: Transcript, start_s: float, end_s: float) -> Transcript:
    """The original with its segments inside [start_s, end_s] replaced by the window's decode."""
    kept_before = tuple(s for s in original.segments if s.end <= start_s)
    kept_after = tuple(s for s in original.segments if s.start >= end_s)
    new = tuple(s for s in window.segments if s.start < end_s and s.end > start_s - EDGE_S)
    return dataclasses.replace(original, segments=kept_before + new + kept_after)


def snap(transcript: Transcript, start_s: float, end_s: float, duration_s: float) -> tuple[float, float]:
    """A window widened to whole segments: a segment that crosses an edge is decoded with it."""
    for s in transcript.segments:
        if s.start < start_s < s.end:
            start_s = s.start
        if s.start < end_s < s.end:
            end_s = s.end
    return max(0.0, start_s), min(duration_s, end_s)


def second_look(
    audio: np.ndarray,
    transcript: Transcript,
    matches: Sequence[PhraseMatch],
    guide: Guide,
    options: TranscribeOptions,
    *,
    cache: bool = True,
) -> tuple[Transcript, Recheck] | None:
    """The first file's transcript after a second look at its start, or None when no timed phrase is
    absent. `audio` is the first file's 16 kHz samples (its start is enough), `transcript` its transcript."""
    from analyzer.match import match_transcript

    absent = phrases_to_recheck(matches, guide)
    beam = recheck_beam(guide, options)
    if not absent or not beam:
        return None
    target = max(absent.values()) + float(guide.settings.get("recheck_extra_s", DEFAULT_EXTRA_S))
    until = min(cut_point(transcript, target), len(audio) / TARGET_SR)
    if until <= 0:
        return None
    head = decode_head(audio, until, options, beam, cache=cache)
    merged = merge_head(transcript, head, until)
    again = {m.phrase_id: m for m in match_transcript(merged, guide)}
    found = tuple(p for p in absent if again[p].status != "absent")
    return merged, Recheck(tuple(absent), round(until, 2), beam, found)


# -- every required phrase ----------------------------------------------------------------------------


def _needed(
    matches: Sequence[PhraseMatch],
    guide: Guide,
    transcript: Transcript,
    continuity: ContinuityReport | None,
    profile: str | None,
) -> list[PhraseMatch]:
    """Matches of the phrases this recording needs (as the rules will decide) not fully heard."""
    from analyzer.rules import choose_profile, required_phrases

    by_id = {m.phrase_id: m for m in matches}
    text = "".join(s.text for s in transcript.segments)
    try:
        chosen = choose_profile(guide, by_id, text, profile)[0]
    except ValueError:
        return []
    interrupted = bool(continuity and any(r for r in continuity.resumptions))
    required = required_phrases(guide, chosen, by_id, text, interrupted)
    return [m for m in matches if m.phrase_id in required and m.status != "present"]


def _expected_next(
    matches: Sequence[PhraseMatch], guide: Guide, needed: Sequence[PhraseMatch], total_s: float
) -> list[tuple[str, float, float, str]]:
    """(phrase id, case start, case end, "expected") for each phrase not needed and not heard that an
    [[order]] rule puts after the last phrase heard, over the rest of the recording after that
    phrase, when it is at most `recheck_expected_max_s` long."""
    limit = float(guide.settings.get("recheck_expected_max_s", 0.0))
    if limit <= 0:
        return []
    by_id = {m.phrase_id: m for m in matches}
    optional = {p.id for p in guide.phrases if p.required == "optional"}
    skip = {m.phrase_id for m in needed} | optional
    heard = [m for m in matches if m.status != "absent" and m.start_s is not None and m.end_s is not None]
    if not heard:
        return []
    last = max(heard, key=lambda m: m.end_s or 0.0)
    lo = float(last.end_s or 0.0)
    if not 1.0 <= total_s - lo <= limit:
        return []
    out: list[tuple[str, float, float, str]] = []
    for rule in guide.order_rules:
        then = by_id.get(rule.then)
        if rule.first != last.phrase_id or then is None or then.status != "absent" or rule.then in skip:
            continue
        if all(o[0] != rule.then for o in out):
            out.append((rule.then, lo, total_s, "expected"))
    return out


def _windows(
    todo: Sequence[PhraseMatch],
    matches: Sequence[PhraseMatch],
    guide: Guide,
    files: Sequence[CaseFile],
    continuity: ContinuityReport | None,
) -> list[tuple[str, float, float, str]]:
    """(phrase id, case start, case end, why) for every phrase to look at again."""
    from analyzer.rules import expected_window

    cfg = guide.settings
    by_id = {m.phrase_id: m for m in matches}
    total = max((f.end_s for f in files), default=0.0)
    pad = float(cfg.get("recheck_pad_s", DEFAULT_PAD_S))
    reason = str(cfg.get("interruption_reason_phrase", "interruption_reason"))
    offsets = {f.path: f.offset_s for f in files}
    out: list[tuple[str, float, float, str]] = []
    for m in todo:
        pid = m.phrase_id
        timed = cfg.get(f"{pid}_window_s")
        if m.status == "partial" and m.start_s is not None and m.end_s is not None:
            out.append((pid, max(0.0, m.start_s - pad), min(total, m.end_s + pad), "partial"))
        elif timed is not None:
            out.append((pid, 0.0, float(timed) + float(cfg.get("recheck_extra_s", DEFAULT_EXTRA_S)), "timed"))
        elif pid == reason and continuity is not None:
            window = float(cfg.get("resume_window_s", 30.0))
            for r in continuity.resumptions:
                if r.checked and not r.reason_given:
                    ev = r.after
                    at = ev.file_end_s if ev.file_end_s is not None else ev.file_start_s
                    if at is not None:
                        lo = offsets.get(ev.file, 0.0) + at
                        out.append((pid, lo, lo + window, "resume"))
        else:
            lo, hi = expected_window(guide, by_id, pid)
            if hi is None and lo == 0.0:
                out.append((pid, 0.0, total, "whole"))
            else:
                out.append((pid, lo, total if hi is None else min(hi, total), "order"))
    return out


def _per_file(
    windows: Sequence[tuple[str, float, float, str]],
    files: Sequence[CaseFile],
    transcripts: Mapping[str, Transcript],
) -> list[Look]:
    """Case windows cut at file edges, widened to whole segments, overlapping ones merged."""
    pieces: list[Look] = []
    for pid, lo, hi, why in windows:
        for f in files:
            a, b = max(lo, f.offset_s) - f.offset_s, min(hi, f.end_s) - f.offset_s
            if b - a <= 0.05:
                continue
            a, b = snap(transcripts[f.path], a, b, f.duration_s)
            pieces.append(Look((pid,), f.path, a, b, why, offset_s=f.offset_s))
    pieces.sort(key=lambda lk: (lk.file, lk.start_s))
    merged: list[Look] = []
    for lk in pieces:
        last = merged[-1] if merged else None
        if last is not None and last.file == lk.file and lk.start_s <= last.end_s:
            ids = tuple(dict.fromkeys(last.phrase_ids + lk.phrase_ids))
            why = last.why if _WHY_ORDER.index(last.why) <= _WHY_ORDER.index(lk.why) else lk.why
            merged[-1] = dataclasses.replace(last, phrase_ids=ids, end_s=max(last.end_s, lk.end_s), why=why)
        else:
            merged.append(lk)
    return merged


_WHY_ORDER = ("timed", "resume", "partial", "expected", "order", "whole")


def look_again(
    audio: Mapping[str, np.ndarray],
    transcripts: Mapping[str, Transcript],
    files: Sequence[CaseFile],
    matches: Sequence[PhraseMatch],
    guide: Guide,
    options: TranscribeOptions,
    *,
    combine: Callable[[Mapping[str, Transcript]], Transcript],
    continuity: ContinuityReport | None = None,
    profile: str | None = None,
    cache: bool = True,
) -> tuple[dict[str, Transcript], Recheck] | None:
    """Transcripts by path after a second look at every window where a needed phrase was not (fully)
    heard, or None when every needed phrase was heard in full (or second looks are off, or would
    search no wider than the first decode did)).

    `audio`: each file's 16 kHz samples; `files`: the case files with their timeline offsets (one
    file: offset 0); `combine`: the files' transcripts as one on the case timeline. Windows are
    decoded one at a time, shortest first; a window's decode is kept only when a phrase it was taken
    for is better heard and no phrase is heard worse."""
    from analyzer.match import match_transcript

    beam = recheck_beam(guide, options)
    if not beam or not files:
        return None
    files = tuple(files)
    current = dict(transcripts)
    todo = _needed(matches, guide, combine(current), continuity, profile)
    total = max((f.end_s for f in files), default=0.0)
    expected = _expected_next(matches, guide, todo, total)
    if not todo and not expected:
        return None
    windows = _windows(todo, matches, guide, files, continuity) + expected
    looks = _per_file(windows, files, current)
    budget = float(guide.settings.get("recheck_max_s", DEFAULT_MAX_S))
    spent = 0.0
    rank = {m.phrase_id: _RANK[m.status] for m in matches}
    done: list[Look] = []
    for lk in sorted(looks, key=lambda x: (_WHY_ORDER.index(x.why), x.end_s - x.start_s)):
        length = lk.end_s - lk.start_s
        if spent + length > budget:
            done.append(dataclasses.replace(lk, decoded=False))
            continue
        spent += length
        lo, hi = max(0.0, lk.start_s - EDGE_S), lk.end_s + EDGE_S  # a word at an edge is not clipped
        window = decode_window(audio[lk.file], lo, hi, options, beam, cache=cache)
        trial = dict(current)
        trial[lk.file] = merge_window(current[lk.file], window, lk.start_s, lk.end_s)
        again = {m.phrase_id: _RANK[m.status] for m in match_transcript(combine(trial), guide)}
        better = tuple(p for p in lk.phrase_ids if again[p] > rank[p])
        if better and all(again[p] >= rank[p] for p in rank):
            current, rank = trial, again
        else:
            better = ()
        done.append(dataclasses.replace(lk, found=better))
    done.sort(key=lambda x: (x.offset_s + x.start_s, x.phrase_ids))
    found = tuple(dict.fromkeys(p for lk in done for p in lk.found))
    first = done[0] if done else None
    head = first is not None and first.decoded and first.start_s == 0 and first.file == files[0].path
    until = first.end_s if first is not None and head else 0.0
    recheck = Recheck(
        phrase_ids=tuple(m.phrase_id for m in todo) + tuple(w[0] for w in expected),
        until_s=round(until, 2),
        beam_size=beam,
        found=found,
        looks=tuple(done),
        budget_s=budget,
        decoded_s=round(spent, 2),
    )
    return current, recheck
