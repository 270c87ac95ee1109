"""Resume statements (Regulation 第十条): after any interruption the officer states the reason
when recording resumes. analyzer.continuity finds the interruptions from audio, timestamps and
VAD; this module reads the first seconds of resumed speech for the guide's
`interruption_reason` phrase with the phrase matcher, which is where matches meet findings.
Like a guide phrase, the statement is the officer's to make: with the speakers known
(analyzer.speakers), speech by `other` is left out before matching, and a reason heard only from
`other` is kept in `said_by_other` for the reviewer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from analyzer.continuity.events import (
    ANALYSIS_SR,
    ContinuityReport,
    GapEvent,
    Resumption,
    _guide_settings,
    resolve_settings,
)
from analyzer.match import guide_match_settings, match_text
from analyzer.normalize import normalize_plain
from analyzer.speakers import said_by_other

if TYPE_CHECKING:
    from analyzer.guide import Guide
    from analyzer.speakers import Speakers
    from analyzer.transcribe import Transcript


def check_resumptions(
    report: ContinuityReport,
    transcripts: Mapping[str, Transcript] | None,
    guide: Guide | None,
    *,
    audio: Mapping[str, np.ndarray] | None = None,
    settings: Mapping[str, Any] | None = None,
    transcribe_window: Callable[[str, np.ndarray, float, float], Transcript | None] | None = None,
    speakers: Speakers | None = None,
) -> ContinuityReport:
    """The report with, for every interruption, whether the reason was stated on resuming.

    transcripts: by path; an interruption in a file without one is reported as not checked, unless
    `transcribe_window(path, audio, start_s, end_s)` is given: then only the resume window after each
    interruption is transcribed (a Transcript in file time), which is how `scriptcheck gaps` avoids
    transcribing whole recordings. audio: the decoded 16 kHz arrays by path, for those windows
    (decoded here when absent). settings: overrides on top of the guide's, as for analyze_continuity.
    speakers: who spoke (case timeline); what `other` said does not state the reason.
    Speech in the window that the transcript lists as untranscribed (the coverage pass) goes into
    `Resumption.untranscribed` (case time); without a reason heard, such a resumption is noted for
    listening, not as unexplained, as the rules hold `interruption_reason_needs_listening`.
    """
    cfg = _guide_settings(guide)
    if settings:
        cfg.update(settings)
    transcripts = transcripts or {}
    audio = dict(audio or {})
    resumptions: list[Resumption] = []
    offsets = {cf.path: cf.offset_s for cf in report.files}
    min_gap = float(cfg["resume_min_interruption_s"])
    for ev in report.events:
        if not ev.is_interruption or guide is None:
            continue
        if ev.kind in ("dropout", "timestamp") and ev.duration_s < min_gap:
            continue
        resume_at = ev.file_end_s if ev.file_end_s is not None else ev.file_start_s
        window = float(cfg["resume_window_s"])
        transcript = transcripts.get(ev.file)
        if transcript is None and transcribe_window is not None:
            if ev.file not in audio:
                from analyzer.media import load_audio

                audio[ev.file] = load_audio(ev.file, sr=ANALYSIS_SR)
            transcript = transcribe_window(ev.file, audio[ev.file], resume_at, resume_at + window)
        res = check_resumption(
            ev,
            transcript,
            guide,
            resume_at_s=resume_at,
            case_offset_s=offsets.get(ev.file, 0.0),
            settings=cfg,
            speakers=speakers,
        )
        spans = getattr(transcript, "untranscribed", ())
        unread = [(a, b) for a, b in spans if a < resume_at + window and b > resume_at]
        if unread:
            offset = offsets.get(ev.file, 0.0)
            res = replace(res, untranscribed=tuple((a + offset, b + offset) for a, b in unread))
        resumptions.append(res)
    # a window holding speech no decode could read is not asserted unexplained: the reason may be there
    not_given = [r for r in resumptions if r.checked and not r.reason_given and r.unclear is None]
    held = sum(1 for r in not_given if r.untranscribed)
    missing = len(not_given) - held
    unclear = sum(1 for r in resumptions if r.unclear is not None)
    notes = report.notes
    if missing:
        notes += (f"{missing} 处中断后恢复录制时未说明中止原因（第十条）",)
    if unclear:
        notes += (f"{unclear} 处中断后恢复录制时说明了情况，但所说原因未能听清，需人工收听（第十条）",)
    if held:
        notes += (f"{held} 处中断后恢复录制时有语音未能转写，未能核对是否说明原因，需人工收听（第十条）",)
    return replace(report, resumptions=tuple(resumptions), notes=notes)


def check_resumption(
    event: GapEvent,
    transcript: Transcript | None,
    guide: Guide,
    *,
    resume_at_s: float,
    case_offset_s: float = 0.0,
    settings: Mapping[str, Any] | None = None,
    speakers: Speakers | None = None,
) -> Resumption:
    """Did the officer state why recording stopped, within resume_window_s after resume_at_s
    (file time of the resumed file)? Matched with the guide's interruption-reason phrase, on the
    officers' speech only when `speakers` (case timeline) is given."""
    cfg = resolve_settings(settings)
    window = float(cfg["resume_window_s"])
    if transcript is None:
        return Resumption(event, False, window_s=window, checked=False)
    phrase_id = str(cfg["interruption_reason_phrase"])
    try:
        phrase = guide.phrase(phrase_id)
    except KeyError:
        return Resumption(event, False, window_s=window, checked=False)
    match_settings = guide_match_settings(guide)
    segs = [s for s in transcript.segments if s.end > resume_at_s and s.start < resume_at_s + window]
    by_other = [
        s for s in segs if said_by_other(speakers, s.start + case_offset_s, s.end + case_offset_s, guide)
    ]
    segs = [s for s in segs if s not in by_other]
    heard_from_other = ""
    if by_other:
        m = match_text(
            "".join(s.text for s in by_other), phrase, _char_times(by_other), settings=match_settings
        )
        heard_from_other = m.text if m.status != "absent" and not m.missing_slots else ""
    if not segs:
        return Resumption(event, False, window_s=window, said_by_other=heard_from_other)
    text = "".join(s.text for s in segs)
    times = _char_times(segs)
    m = match_text(text, phrase, times, settings=match_settings)
    # 第十条 asks for the *reason*: the statement must be heard and its required slots (the reason)
    # said like one; "现在重新开始记录" alone does not say why recording stopped. Words in the reason's
    # place that do not read as a reason (ASR damage, or a reason the guide does not list) are neither
    # a reason given nor none: a reviewer listens.
    heard = m.status != "absent" and not m.missing_slots
    unreadable = set(m.implausible_slots) & {s.name for s in phrase.slots if s.required}
    given = heard and not unreadable
    start = m.start_s
    if start is None and heard:
        start = _locate(segs, m.text)
    unclear = None
    if heard and unreadable:
        a = start if start is not None else segs[0].start
        b = m.end_s if m.end_s is not None else max(s.end for s in segs)
        unclear = (a + case_offset_s, max(a, b) + case_offset_s)
    elif not heard and (said := _reason_in_garbled_statement(text, phrase, m.score, cfg)) is not None:
        a, b = times[said[0]][0], times[max(said[0], said[1] - 1)][1]
        unclear = (a + case_offset_s, max(a, b) + case_offset_s)
    return Resumption(
        event,
        given,
        reason_text=m.text if given else "",
        start_s=None if start is None else start + case_offset_s,
        window_s=window,
        score=float(m.score),
        terms_found=tuple(m.terms_found),
        said_by_other="" if given else heard_from_other,
        unclear=unclear,
    )


def _reason_introduced(text: str, phrase: Any) -> tuple[int, int] | None:
    """(start, end) in `text` of a reason introduced the way the phrase's wordings introduce their
    required slot (因…, 由于…: the one or two characters before it) and read as one by that slot
    (its pattern or sound words): 因此被电源不足 when the rest of the statement was garbled. A reason
    word without its introducer (天气挺冷的, a party's remark) says nothing about why recording stopped."""
    from analyzer.match import _plausible

    for slot in phrase.slots:
        if not slot.required:
            continue
        marker = "{" + slot.name + "}"
        leads = {
            re.split(r"[，。、,.\s]", std.split(marker, 1)[0])[-1][-2:]
            for std in phrase.standards
            if marker in std
        }
        leads = {lead for lead in leads if lead}
        if not leads:
            continue
        lead_rx = "|".join(re.escape(x) for x in sorted(leads, key=len, reverse=True))
        for m in re.finditer(rf"(?:{lead_rx})([^，。、,.!?！？；;\s]{{1,{slot.max_len}}})", text):
            if _plausible(slot, normalize_plain(m.group(1))):
                return m.start(), m.end()
    return None


def _reason_in_garbled_statement(
    text: str, phrase: Any, score: float, cfg: dict[str, float]
) -> tuple[int, int] | None:
    """(start, end) in `text` of a reason perhaps stated in a resume statement not heard, with part of
    its wording aligned: either its words garbled (重新开始解读 for 重新开始记录) with a reason introduced
    the way the guide's wordings introduce it (因…电源不足, score at least `resume_unclear_min_score`),
    or introducer and reason both misheard (仁社在天亮… for 因设备电量…) with a reason word one initial
    off by its coarse class (天亮 for 电量: t/d; at least `resume_near_reason_min_score`). Neither is a
    reason given, nor silence about it: a reviewer listens."""
    if score >= float(cfg["resume_unclear_min_score"]):
        said = _reason_introduced(text, phrase)
        if said is not None:
            return said
    if score >= float(cfg["resume_near_reason_min_score"]):
        return _reason_heard_near(text, phrase)
    return None


def _reason_heard_near(text: str, phrase: Any) -> tuple[int, int] | None:
    """(start, end) in `text` of one of a required slot's sound words (电量, 故障) heard with exactly
    one syllable off by an initial of the same coarse class (天亮 for 电量: t/d), the rest by its
    toneless pinyin: the confusion Whisper makes most on a word it half hears. One-syllable words
    would match too much by chance and are not tried."""
    from analyzer.normalize import loose_syllable, pinyin_of, syllable_neighbours

    syl = pinyin_of(text)
    if len(syl) != len(text):  # pinyin_of keeps one element per character; anything else: no index
        return None
    loose = [loose_syllable(x) if x.isalpha() else x for x in syl]
    for slot in phrase.slots:
        if not slot.required:
            continue
        for word in slot.sound_words:
            want = [loose_syllable(x) for x in pinyin_of(normalize_plain(word))]
            n = len(want)
            if n < 2:
                continue
            for i in range(len(loose) - n + 1):
                got = loose[i : i + n]
                off = [j for j in range(n) if got[j] != want[j]]
                if len(off) == 1 and syllable_neighbours(syl[i + off[0]], want[off[0]]):
                    return i, i + n
    return None


def _char_times(segments: Sequence[Any]) -> list[tuple[float, float]]:
    """(start, end) for every character of the joined segment texts: word times where the
    transcript has them, else spread evenly across the segment."""
    out: list[tuple[float, float]] = []
    for s in segments:
        words = getattr(s, "words", ()) or ()
        spans = [(w.start, w.end, w.text) for w in words] if "".join(w.text for w in words) == s.text else []
        for start, end, text in spans or [(s.start, s.end, s.text)]:
            n = max(1, len(text))
            out += [
                (start + (end - start) * i / n, start + (end - start) * (i + 1) / n) for i in range(len(text))
            ]
    return out


def _locate(segments: Sequence[Any], text: str) -> float | None:
    for s in segments:
        if text and (text[:4] in s.text or s.text in text):
            return float(s.start)
    return float(segments[0].start) if segments else None
