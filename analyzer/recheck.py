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
  profile needs it, and such a tail is cheap to decode again;
* a phrase this recording does not need (as heard) whose closest wording still scored at least
  `recheck_near_min_score`: where that attempt was heard, `recheck_pad_s` either side. A fine statement
  garbled past recognition (对因此已两千元的发展 for 对您处以2000元的罚款, 5 dB) left the recording an
  inspection, so neither it nor the rights notice and signing request it brings were looked at again;
  decoded alone with the wider beam it read 对您处于2000元的罚款.

A look whose wider beam still does not hear a phrase heard nearly there (its closest wording scoring at
least `recheck_near_min_score`) decodes the stretch of that attempt once more with the phrase's own
wording as prompt (`recheck_prompt_near`): 您享有臣宿权生病权和行政究竟权力 read as 您享有陈述权
申辩权和行政救济权利 when primed (a ttskit voice at 10 dB). A prompt can lead the decoder, so that
decode is kept only when, besides hearing the phrase better and no phrase worse, it reads that speech
as the unprompted wider beam did but for a few words (their syllables' similarity by sound at least
`recheck_prompt_min_agreement`, and no more syllables): a prompt that wrote the phrase into other talk
changes the whole stretch. Only the stretch where the phrase was heard
nearly is primed, never a whole long window. Its lines are marked `prompted` in the transcript. Every
primed decode is recorded as a look of its own (why "primed", with its prompt and whether it agreed),
kept or not.

When a look changes which phrases the recording needs (a fine statement found makes it a penalty),
the phrases it needs now and were not looked at get their windows in a second round.

Windows are decoded shortest first within `recheck_max_s` seconds of audio per recording; one that
does not fit is recorded as not decoded. A window's decode replaces the first decode's segments there
only when it makes a phrase it was taken for better heard and no phrase worse. Every look is kept
(`Recheck.looks`) for the report.

A second look searches wider than the first decode or is not taken: with `recheck_beam_size` no
larger than the first decode's beam (TranscribeOptions.beam_size), decoding the stretch again would
repeat the same search.

Guide settings: `recheck_beam_size` (0 = off), `recheck_extra_s` (seconds decoded past a timed
window), `recheck_max_s` (audio seconds per recording), `recheck_pad_s` (around a partial phrase),
`recheck_expected_max_s` (the longest stretch looked at for a phrase not needed; absent or 0: none),
`recheck_near_min_score` (a phrase not needed looked at where its closest wording was heard; absent or
0: none), `recheck_prompt_near` (1: the prompted decode above; 0: off), `recheck_prompt_min_agreement`.

A prompted look (`listen_again`, why "prompted"): a needed phrase the guide times from the start, still
not heard after the looks above, whose window holds speech heard with low confidence, and for which
`<phrase_id>_listen_prompt_look` (else `listen_prompt_look`) is 1. Low confidence alone cannot tell a
phrase garbled beyond recognition from other talk heard unsurely (a quiet party's conversation), so the
window is decoded once more with beam search and the phrase's own wording as the decoder's prompt, which
pulls a said phrase out of garbled speech (大零二日以时…执法结果整体都开始 came back as …执法全过程记录
开始 on a 5 dB voice) but does not put it into talk that never held it. Stretches of the window's speech
that decode left without words (Whisper can skip ahead) are decoded again on their own, with the same
prompt. A prompted decode is never used as the transcript, since a prompt can lead the decoder: it is
evidence for the rules only (`Recheck.heard_again`; analyzer/rules.py), which stop holding the phrase for
a reviewer when that decode heard the unsure speech and nothing like the phrase in it. It counts against
`recheck_max_s` like any look.
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
    from analyzer.guide import Guide, Phrase
    from analyzer.match import PhraseMatch
    from analyzer.transcribe import TranscribeOptions, Transcript

DEFAULT_BEAM_SIZE = 5
DEFAULT_EXTRA_S = 20.0
DEFAULT_MAX_S = 120.0
DEFAULT_PAD_S = 6.0
EDGE_S = 0.3  # decoded beyond each end of a window, so a word at its edge is not clipped

_RANK = {"absent": 0, "partial": 1, "present": 2}


def _standing(m: PhraseMatch) -> tuple[int, int]:
    """How well a phrase is heard: its status, then (same status) fewer required slots missing. A look
    that keeps the opening present but splits its time off into another sentence hears it worse."""
    return _RANK[m.status], -len(m.missing_slots)


@dataclass(frozen=True)
class Look:
    """One window decoded again (or, over the budget, not)."""

    phrase_ids: tuple[str, ...]  # taken for these phrases (absent or partial before it)
    file: str
    start_s: float  # file time; the window is [start_s, end_s)
    end_s: float
    # "timed" | "resume" | "partial" | "order" | "whole" | "expected" | "near" | "prompted" | "primed"
    why: str
    decoded: bool = True  # False: it did not fit in recheck_max_s
    found: tuple[str, ...] = ()  # of phrase_ids, better heard after it (its decode is then used)
    offset_s: float = 0.0  # the file's place on the case timeline
    near: bool = False  # prompted: the phrase, or an attempt at it, heard in the prompted decode
    prompt: str = ""  # the wording the kept decode (primed: this decode) was primed with ("": unprompted)
    agreed: bool = False  # primed: it read the stretch like the unprompted decode (else never used)

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
            "near": self.near,
            "prompt": self.prompt,
            "agreed": self.agreed,
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
    # phrase id -> its window decoded with the phrase's wording as prompt (case timeline): evidence for
    # the rules, never the transcript (see listen_again)
    heard_again: Mapping[str, Transcript] = dataclasses.field(default_factory=dict)

    def note(self, titles: dict[str, str]) -> str:
        def names(ids: tuple[str, ...]) -> str:
            return "、".join(f"“{titles.get(p, p)}”" for p in ids)

        if not self.looks:  # the start only (second_look)
            head = (
                f"首次识别未检出{names(self.phrase_ids)}，"
                f"已将开头 {self.until_s:.0f} 秒以更细致的解码（beam {self.beam_size}）复核"
            )
        else:
            windows = [lk for lk in self.looks if lk.why != "primed"]
            skipped = sum(1 for lk in windows if not lk.decoded)
            head = (
                f"首次识别未检出或不完整：{names(self.phrase_ids)}，"
                f"已将其应出现的 {len(windows) - skipped} 段录音"
                f"以更细致的解码（beam {self.beam_size}）复核（共解码 {self.decoded_s:.0f} 秒）"
            )
            if skipped:
                head += f"（另 {skipped} 段超出复核时长上限 {self.budget_s:.0f} 秒，未复核）"
            primed = [lk for lk in self.looks if lk.why == "primed" and lk.decoded]
            if primed:
                kept = sum(1 for lk in primed if lk.found)
                used = f"{kept} 处读法与不提示时基本一致并检出，采用" if kept else "均未采用"
                head += f"；其中 {len(primed)} 处相近内容又以用语原文提示解码，{used}"
            prompted = [lk for lk in self.looks if lk.why == "prompted" and lk.decoded]
            if prompted:
                near = [p for lk in prompted if lk.near for p in lk.phrase_ids]
                heard = "，仍无相近内容"
                if near:
                    heard = f"，听出疑似{names(tuple(near))}（仅供人工听取，不作为转写）"
                head += f"；其中 {len(prompted)} 段以用语原文提示解码{heard}"
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


def _close_attempts(
    transcript: Transcript, guide: Guide, phrase_ids: set[str], floor: float
) -> list[tuple[Phrase, PhraseMatch]]:
    """(phrase, its closest wording) for each guide phrase in `phrase_ids` whose closest wording in
    `transcript` scores at least `floor` and has a place on the timeline, in guide order."""
    from analyzer.match import TextIndex, closest_attempt, guide_match_settings, normalize_for

    index = TextIndex(normalize_for(transcript, guide))
    settings = guide_match_settings(guide)
    out: list[tuple[Phrase, PhraseMatch]] = []
    for p in guide.phrases:
        if p.id not in phrase_ids:
            continue
        m = closest_attempt(index, p, settings)
        if m is not None and m.score >= floor and m.start_s is not None and m.end_s is not None:
            out.append((p, m))
    return out


def _near_misses(
    transcript: Transcript, matches: Sequence[PhraseMatch], guide: Guide, skip: set[str], total_s: float
) -> list[tuple[str, float, float, str]]:
    """(phrase id, case start, case end, "near") for each phrase not needed, not optional and not
    heard (`matches`: the transcript's) whose closest wording scored at least
    `recheck_near_min_score`, around that attempt."""
    floor = float(guide.settings.get("recheck_near_min_score", 0.0))
    if floor <= 0:
        return []
    pad = float(guide.settings.get("recheck_pad_s", DEFAULT_PAD_S))
    optional = {p.id for p in guide.phrases if p.required == "optional"}
    unheard = {m.phrase_id for m in matches if m.status == "absent"} - skip - optional
    return [
        (p.id, max(0.0, float(m.start_s or 0.0) - pad), min(total_s, float(m.end_s or 0.0) + pad), "near")
        for p, m in _close_attempts(transcript, guide, unheard, floor)
    ]


def _prompt_candidates(
    lk: Look,
    matched: Sequence[PhraseMatch],
    transcript: Transcript,
    guide: Guide,
    rank: Mapping[str, tuple[int, int]],
) -> list[tuple[Phrase, float, float]]:
    """(phrase, start, end in the look's file) for each phrase of a look, still not better heard after
    its wider beam, whose closest wording inside the window scores at least `recheck_near_min_score`:
    where that attempt was heard, worth one decode primed with the phrase's wording
    (`recheck_prompt_near`). Only that stretch is primed, so other speech in a long window is not
    read under a prompt meant for one phrase."""
    cfg = guide.settings
    floor = float(cfg.get("recheck_near_min_score", 0.0))
    if cfg.get("recheck_prompt_near", 0.0) < 1 or floor <= 0:
        return []
    status = {m.phrase_id: _RANK[m.status] for m in matched}
    todo = {p for p in lk.phrase_ids if status[p] <= rank[p][0] and status[p] != _RANK["present"]}
    lo, hi = lk.offset_s + lk.start_s, lk.offset_s + lk.end_s
    inside = dataclasses.replace(
        transcript, segments=tuple(s for s in transcript.segments if s.end > lo and s.start < hi)
    )
    out: list[tuple[Phrase, float, float]] = []
    for p, m in _close_attempts(inside, guide, todo, floor):
        a, b = max(lo, float(m.start_s or 0.0)) - lk.offset_s, min(hi, float(m.end_s or 0.0)) - lk.offset_s
        if b > a and phrase_prompt(p):
            out.append((p, a, b))
    return out


def _agrees(plain: Transcript, primed: Transcript, start_s: float, end_s: float, guide: Guide) -> bool:
    """The primed decode reads [start_s, end_s] as the unprompted one did but for a few words: the
    similarity of their syllables (toneless, initials and finals Whisper confuses taken as one:
    loose pinyin) is at least `recheck_prompt_min_agreement`. By sound, because what a prompt rightly
    changes is homophones (臣宿权生病权 → 陈述权申辩权 agrees 0.88 by sound, 0.56 by characters);
    a prompt that writes the phrase over other talk agrees under 0.2, one that keeps half of it 0.43.
    Nor may it read more syllables than the unprompted decode (beyond one, or half of what the
    similarity leaves): a phrase said in part (陈述权 and 救济 without 申辩权) must not come back
    whole because the prompt held the rest."""
    from rapidfuzz.distance import Levenshtein

    from analyzer.normalize import loose_syllable, normalize_plain, pinyin_of

    def sounds(t: Transcript) -> list[str]:
        text = normalize_plain("".join(s.text for s in t.segments if s.end > start_s and s.start < end_s))
        return [loose_syllable(x) for x in pinyin_of(text)]

    a, b = sounds(plain), sounds(primed)
    need = float(guide.settings.get("recheck_prompt_min_agreement", 1.0))
    longer = len(b) - len(a) > max(1, (1.0 - need) * len(a) / 2)  # words the prompt may have put in
    return bool(a and b) and not longer and Levenshtein.normalized_similarity(a, b) >= need


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


_WHY_ORDER = ("timed", "resume", "partial", "expected", "near", "order", "whole", "prompted", "primed")


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
    for is better heard and no phrase is heard worse (a lower status, or the same with more required
    slots missing). Where it is not, a phrase heard nearly in it is tried once primed with its wording
    (see the module docstring); phrases needed only after a look found another are looked at in a
    second round."""
    from analyzer.match import match_transcript

    beam = recheck_beam(guide, options)
    if not beam or not files:
        return None
    files = tuple(files)
    current = dict(transcripts)
    case = combine(current)
    todo = _needed(matches, guide, case, continuity, profile)
    total = max((f.end_s for f in files), default=0.0)
    expected = _expected_next(matches, guide, todo, total)
    skip = {m.phrase_id for m in todo} | {w[0] for w in expected}
    near = _near_misses(case, matches, guide, skip, total)
    if not todo and not expected and not near:
        return None
    windows = _windows(todo, matches, guide, files, continuity) + expected + near
    budget = float(guide.settings.get("recheck_max_s", DEFAULT_MAX_S))
    spent = 0.0
    rank = {m.phrase_id: _standing(m) for m in matches}
    done: list[Look] = []
    looked = {w[0] for w in windows}
    for _round in range(2):
        looks = _per_file(windows, files, current)
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
            matched = match_transcript(combine(trial), guide)
            again = {m.phrase_id: _standing(m) for m in matched}
            better = tuple(p for p in lk.phrase_ids if again[p][0] > rank[p][0])
            prompt = ""
            if not (better and all(again[p] >= rank[p] for p in rank)):
                better = ()
                for phrase, a, b in _prompt_candidates(lk, matched, combine(trial), guide, rank):
                    a, b = snap(current[lk.file], a, b, len(audio[lk.file]) / TARGET_SR)
                    text = phrase_prompt(phrase)
                    attempt = Look((phrase.id,), lk.file, a, b, "primed", offset_s=lk.offset_s, prompt=text)
                    if spent + b - a > budget:
                        done.append(dataclasses.replace(attempt, decoded=False))
                        continue
                    spent += b - a
                    primed = dataclasses.replace(options, initial_prompt=text)
                    heard = decode_window(
                        audio[lk.file], max(0.0, a - EDGE_S), b + EDGE_S, primed, beam, cache=cache
                    )
                    if not _agrees(window, heard, a, b, guide):
                        done.append(attempt)
                        continue
                    heard = dataclasses.replace(
                        heard, segments=tuple(dataclasses.replace(x, prompted=True) for x in heard.segments)
                    )
                    trial = dict(current)
                    trial[lk.file] = merge_window(current[lk.file], heard, a, b)
                    again = {m.phrase_id: _standing(m) for m in match_transcript(combine(trial), guide)}
                    kept = again[phrase.id][0] > rank[phrase.id][0] and all(again[p] >= rank[p] for p in rank)
                    done.append(dataclasses.replace(attempt, agreed=True, found=(phrase.id,) if kept else ()))
                    if kept:
                        better, prompt = tuple(p for p in lk.phrase_ids if again[p][0] > rank[p][0]), text
                        break
            if better:
                current, rank = trial, again
            done.append(dataclasses.replace(lk, found=better, prompt=prompt))
        if not any(lk.found for lk in done):
            break
        # what the recording needs as heard now (a fine statement found makes it a penalty)
        case = combine(current)
        heard_now = match_transcript(case, guide)
        needed_now = _needed(heard_now, guide, case, continuity, profile)
        more = [m for m in needed_now if m.phrase_id not in looked]
        if not more:
            break
        todo = [*todo, *more]
        windows = _windows(more, heard_now, guide, files, continuity)
        looked |= {w[0] for w in windows}
    done.sort(key=lambda x: (x.offset_s + x.start_s, x.phrase_ids))
    found = tuple(dict.fromkeys(p for lk in done for p in lk.found))
    first = next((lk for lk in done if lk.why != "primed"), None)
    head = first is not None and first.decoded and first.start_s == 0 and first.file == files[0].path
    until = first.end_s if first is not None and head else 0.0
    recheck = Recheck(
        phrase_ids=tuple(m.phrase_id for m in todo) + tuple(w[0] for w in expected + near),
        until_s=round(until, 2),
        beam_size=beam,
        found=found,
        looks=tuple(done),
        budget_s=budget,
        decoded_s=round(spent, 2),
    )
    return current, recheck


# -- a prompted look before a phrase is held for a reviewer -------------------------------------------


def phrase_prompt(phrase: Phrase) -> str:
    """What a prompted look primes the decoder with: the phrase's first standard wording without its
    slots, as a sentence (the default opening: its closing words and a full stop). Slot values are the
    recording's own, so none is put into the prompt."""
    from analyzer.guide import SLOT_RE

    text = SLOT_RE.sub("", phrase.standards[0]).strip("，,、；;。 ") if phrase.standards else ""
    return f"{text}。" if text else ""


def prompt_look_on(guide: Guide, phrase_id: str) -> bool:
    """`<phrase_id>_listen_prompt_look`, else `listen_prompt_look`, is 1."""
    cfg = guide.settings
    return cfg.get(f"{phrase_id}_listen_prompt_look", cfg.get("listen_prompt_look", 0.0)) >= 1


def _skipped(
    heard: Transcript, decoded: Transcript, lo: float, hi: float, min_s: float
) -> list[tuple[float, float]]:
    """Stretches of `heard`'s segments inside [lo, hi] that `decoded` left without a word, each at
    least `min_s` long (what a decode that skipped ahead did not read)."""
    from analyzer.rules import free_parts, read_spans

    read = read_spans(decoded, 0.0)
    pieces: list[tuple[float, float]] = []
    for s in heard.segments:
        for a, b in free_parts(max(s.start, lo), min(s.end, hi), read):
            if pieces and a - pieces[-1][1] < 0.5:
                pieces[-1] = (pieces[-1][0], b)
            else:
                pieces.append((a, b))
    return [(a, b) for a, b in pieces if b - a >= min_s]


def listen_again(
    audio: Mapping[str, np.ndarray],
    transcript: Transcript,
    files: Sequence[CaseFile],
    matches: Sequence[PhraseMatch],
    guide: Guide,
    options: TranscribeOptions,
    recheck: Recheck,
    *,
    continuity: ContinuityReport | None = None,
    profile: str | None = None,
    cache: bool = True,
) -> Recheck:
    """`recheck` (the looks `look_again` took) with the prompted looks (see the module's docstring)
    added: one Look per phrase, and in `heard_again` the phrase's window decoded with its wording as
    prompt (case timeline). `transcript`, `matches`: the case as heard after the other looks."""
    from analyzer.rules import prompted_attempt, unsure_pieces
    from analyzer.transcribe import shift_segments

    beam = recheck_beam(guide, options)
    if not beam or not files:
        return recheck
    cfg = guide.settings
    spent_s = recheck.decoded_s
    first = files[0]
    by_id = {m.phrase_id: m for m in matches}
    phrases = {p.id: p for p in guide.phrases}
    budget = float(cfg.get("recheck_max_s", DEFAULT_MAX_S))
    heard_again: dict[str, Transcript] = {}
    looks: list[Look] = []
    for m in _needed(matches, guide, transcript, continuity, profile):
        pid, timed = m.phrase_id, cfg.get(f"{m.phrase_id}_window_s")
        prompt = phrase_prompt(phrases[pid])
        if m.status != "absent" or timed is None or not prompt or not prompt_look_on(guide, pid):
            continue
        if not unsure_pieces(guide, by_id, pid, transcript):
            continue  # the rules would not hold it for its unsure speech: nothing to settle
        own = dataclasses.replace(
            transcript,
            segments=shift_segments(
                tuple(s for s in transcript.segments if first.offset_s <= s.start < first.end_s),
                -first.offset_s,
            ),
        )
        lo, hi = snap(own, 0.0, min(float(timed), first.duration_s), first.duration_s)
        look = Look((pid,), first.path, lo, hi, "prompted", offset_s=first.offset_s)
        if spent_s + hi - lo > budget:
            looks.append(dataclasses.replace(look, decoded=False))
            continue
        spent_s += hi - lo
        prompted = dataclasses.replace(options, initial_prompt=prompt)
        samples = audio[first.path]
        decoded = decode_window(samples, max(0.0, lo - EDGE_S), hi + EDGE_S, prompted, beam, cache=cache)
        extra: list = []
        for a, b in _skipped(own, decoded, lo, hi, float(cfg.get("low_confidence_gap_s", 1.0)) / 2):
            if spent_s + b - a > budget:
                break
            spent_s += b - a
            part = decode_window(samples, max(0.0, a - EDGE_S), b + EDGE_S, prompted, beam, cache=cache)
            extra += [s for s in part.segments if s.end > a and s.start < b]
        segments = tuple(sorted((*decoded.segments, *extra), key=lambda s: s.start))
        again = dataclasses.replace(decoded, segments=shift_segments(segments, first.offset_s))
        heard_again[pid] = again
        near = prompted_attempt(guide, by_id, phrases[pid], again) is not None
        looks.append(dataclasses.replace(look, near=near))
    if not looks:
        return recheck
    every = tuple(sorted(recheck.looks + tuple(looks), key=lambda x: (x.offset_s + x.start_s, x.phrase_ids)))
    return dataclasses.replace(recheck, looks=every, heard_again=heard_again, decoded_s=round(spent_s, 2))
