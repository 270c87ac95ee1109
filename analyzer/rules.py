"""Rules: turn phrase matches and continuity events into findings and a score,
driven by the guide's requirements (never by Python constants).

What the guide decides (phrasebook/*.toml):
- which phrases a recording needs: `Phrase.required` ("always" / "profile" / "triggered" / "optional"),
  the profile's `requires`, and the triggers `triggered_by` (phrase ids heard), `trigger_terms` (words
  heard) and `trigger_events` ("interruption");
- the profile when none is given: the one whose `indicators` (phrase ids or words) were heard most,
  else `Guide.default_profile`;
- order: `OrderRule(first, then, code)` (rights notice before the fine, obstruction warnings in order);
- severities and Chinese messages: `Guide.findings[code]`, falling back to the generic
  `phrase_missing` / `phrase_incomplete` (or `phrase_partial`) / `order_violation` entries;
- weights and thresholds: `Phrase.weight` and `Guide.settings`: `<phrase_id>_window_s` (e.g.
  `opening_window_s`: the phrase must start within it), `points_<severity>` / `points_<code>`,
  `low_confidence_logprob`, `low_confidence_no_speech`, `low_confidence_no_speech_logprob`,
  `low_confidence_gap_s`, `low_confidence_min_s`, `low_confidence_fraction`.

Score (0-100): each required phrase owns a share of 100 proportional to its weight and loses
share x (100 - phrase score)/100; an order or timing finding costs `points_<code>` (else
`points_<severity>`) more, charged to the phrase that came late. Continuity events and unclear audio
are flags for the reviewer and cost points only when the guide sets `points_<code>` for them. So the
per-phrase `points_lost` (plus `Evaluation.deductions` not tied to a phrase) add up to 100 - score,
each with its Chinese reasons.

Untranscribed speech (analyzer/coverage.py: VAD speech that no decode could read) is reported as
`untranscribed_speech`, one finding per stretch. A required phrase not heard whose window overlaps such
a stretch (`<phrase_id>_window_s` from the start when the guide times it, else the whole recording or
case; for the interruption reason, the resume window) is not asserted missing: it is reported as
`<phrase_id>_needs_listening` (definition `needs_listening`), at the stretch's times, and loses no points
until a reviewer has listened. So is any required phrase not heard whose expected window (timed from the
start, between its [[order]] neighbours heard, else the whole recording) holds `listen_unsure_s` seconds
and `listen_unsure_share` of its speech heard with low confidence outside the phrases heard, and the
interruption reason when the resume window holds `resume_listen_unsure_s` such seconds, or when its
resume statement was heard with words in the reason's place that do not read as a reason (definition
`needs_listening_unsure`): the phrase may be in it, unless the phrase's prompted look (its window decoded
with its own wording as prompt, analyzer.recheck.listen_again; `<phrase_id>_listen_prompt_look`) read that
speech with nothing like the phrase in it. A phrase required only because the profile was
inferred, when another profile fitting within `profile_margin` does not require it, is
`<phrase_id>_profile_unsure` (definition `profile_unsure`), not missing, and loses no points either.
A required phrase heard only from a voice the speaker attribution took for `other`, less surely than
`other_phrase_listen_below` (a reviewer's correction is sure), is not counted and not asserted missing:
`<phrase_id>_needs_listening` (definition `needs_listening_speaker`), at the first time it was heard.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from analyzer.clock import ClockCheck
    from analyzer.continuity import CaseFile, ContinuityReport, GapEvent
    from analyzer.guide import FindingDef, Guide, Phrase, Profile
    from analyzer.match import PhraseMatch
    from analyzer.transcribe import Transcript

Severity = Literal["critical", "major", "minor", "info"]
SEVERITY_RANK: dict[str, int] = {"critical": 0, "major": 1, "minor": 2, "info": 3}


@dataclass(frozen=True)
class Finding:
    code: str  # stable: opening_missing, gap, ...
    severity: Severity
    message: str  # Chinese
    start_s: float | None  # case timeline; None when it refers to the whole recording
    end_s: float | None = None
    phrase_id: str | None = None
    file: str = ""
    file_start_s: float | None = None


@dataclass(frozen=True)
class PhraseScore:
    phrase_id: str
    required: bool
    weight: float
    score: float  # 0-100
    points_lost: float  # of the recording score
    reasons: tuple[str, ...] = ()  # Chinese: why each point was lost
    title: str = ""  # Chinese phrase title from the guide
    required_because: str = ""  # "always" | "profile" | "triggered:<id>" | "" when not required
    needs_listening: bool = False  # held for a reviewer (speech unheard, or heard from `other`)


@dataclass(frozen=True)
class Evaluation:
    profile: str
    profile_inferred: bool
    score: float
    phrase_scores: tuple[PhraseScore, ...]
    findings: tuple[Finding, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)
    profile_title: str = ""
    profile_evidence: tuple[str, ...] = ()  # indicators that chose an inferred profile
    speech_s: float = 0.0  # seconds covered by transcript segments
    unintelligible_s: float = 0.0  # of those, seconds the model was unsure about
    deductions: tuple[Deduction, ...] = ()  # points lost to findings (order, timing, opted-in events)
    required: tuple[str, ...] = ()  # phrase ids this recording needed


@dataclass(frozen=True)
class Deduction:
    code: str  # the finding code that cost the points
    points: float  # of the recording score
    reason: str  # Chinese
    phrase_id: str | None = None  # the phrase it is charged to (None: the recording as a whole)


# Event kind (continuity) -> finding code. Codes are the stable report vocabulary; severities and
# messages for them come from the guide.
EVENT_CODES: dict[str, str] = {
    "silence": "gap",
    "file_gap": "gap",
    "timestamp": "gap",
    "dropout": "dropout",
    "splice": "splice",
    "clock_overlap": "clock_overlap",
}

# Last-resort definitions, used only when a guide defines neither the code nor its generic form.
_FALLBACK_MESSAGES: dict[str, str] = {
    "phrase_missing": "未检出“{phrase}”",
    "phrase_incomplete": "“{phrase}”未说明：{missing}",
    "order_violation": "“{first}”应在“{then}”之前（{start}）",
    "interruption_unexplained": "{start} 处恢复记录后未说明中止原因（中断 {duration}）",
    "event": "{detail}",
    "low_confidence_audio": "约 {duration} 语音无法可靠识别（占 {fraction}），请人工收听核实",
    "clock_problem": "{detail}",
    "needs_listening": "未检出“{phrase}”，但 {start}–{end} 有未能转写的语音，需人工听取",
    "needs_listening_unsure": "未检出“{phrase}”，但 {start}–{end} 的语音识别置信度低，需人工听取",
    "needs_listening_speaker": "“{phrase}”仅在 {start}–{end} 由判为其他人员的声音说出，需人工听取确认说话人",
    "needs_listening_term": "未检出完整的“{phrase}”，但 {start}–{end} 听到了它的关键词，需人工听取",
    "needs_listening_form": "未检出完整的“{phrase}”，但 {start}–{end} 听到了它的多项要素，需人工听取",
    "profile_unsure": "未检出“{phrase}”：推断的“{profile}”需要，但也可能是“{rival}”（不需要），请确认类型",
    "untranscribed_speech": "{start}–{end} 约 {duration} 语音未能转写，需人工听取",
    "clock_mismatch": "{where}设备时钟与口述时间不符：{detail}",
    "clock_unchecked": "{where}未能核对设备时钟：{detail}",
}


def fmt_time(seconds: float | None) -> str:
    """H:MM:SS / M:SS, the form reviewers read off a player."""
    if seconds is None:
        return "—"
    s = int(round(max(0.0, seconds)))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def fmt_duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} 秒"
    m, s = divmod(int(round(seconds)), 60)
    return f"{m} 分 {s} 秒"


class _Lenient(dict):
    def __missing__(self, key: str) -> str:
        return ""


def _render(template: str, values: dict[str, object]) -> str:
    """Format a guide message template; unknown placeholders render empty rather than crash."""
    try:
        return string.Formatter().vformat(template, (), _Lenient(values))
    except (ValueError, IndexError):
        return template


def locate(t: float | None, files: Sequence[CaseFile]) -> tuple[str, float | None]:
    """Case time -> (file, time inside that file), so every finding points into an original."""
    if t is None or not files:
        return (files[0].path if files else ""), (None if t is None else t)
    chosen = files[0]
    for f in files:
        if f.offset_s <= t + 1e-6:
            chosen = f
    return chosen.path, max(0.0, t - chosen.offset_s)


class _Findings:
    """Collects findings with guide-driven severity/message and file-relative times."""

    def __init__(self, guide: Guide, files: Sequence[CaseFile]):
        self.guide = guide
        self.files = files
        self.items: list[Finding] = []

    def definition(self, code: str, generics: Sequence[str]) -> FindingDef | None:
        for name in (code, *generics):
            if name in self.guide.findings:
                return self.guide.findings[name]
        return None

    def add(
        self,
        code: str,
        generics: Sequence[str],
        start_s: float | None,
        end_s: float | None = None,
        phrase_id: str | None = None,
        file: str | None = None,
        file_start_s: float | None = None,
        **values: object,
    ) -> Finding:
        d = self.definition(code, generics)
        severity = d.severity if d else "major"
        fallback = next((_FALLBACK_MESSAGES[g] for g in (code, *generics) if g in _FALLBACK_MESSAGES), code)
        values.setdefault("start", fmt_time(start_s))
        values.setdefault("end", fmt_time(end_s))
        message = _render(d.message if d else fallback, values)
        if file is None:
            file, file_start_s = locate(start_s, self.files)
        finding = Finding(
            code=code,
            severity=severity,  # type: ignore[arg-type]
            message=message,
            start_s=start_s,
            end_s=end_s,
            phrase_id=phrase_id,
            file=file,
            file_start_s=file_start_s,
        )
        self.items.append(finding)
        return finding


def _said(m: PhraseMatch | None) -> bool:
    return m is not None and m.status != "absent"


def _first_time(m: PhraseMatch | None) -> float | None:
    if m is None or not _said(m):
        return None
    times = [s for s, _ in m.occurrences] if m.occurrences else []
    if m.start_s is not None:
        times.append(m.start_s)
    return min(times) if times else None


def _inside(a: PhraseMatch, b: PhraseMatch) -> bool:
    """Every occurrence of `a` lies within an occurrence of `b`."""
    spans_a = list(a.occurrences) or [(a.start_s, a.end_s)]
    spans_b = list(b.occurrences) or [(b.start_s, b.end_s)]
    return all(
        sa is not None
        and ea is not None
        and any(sb is not None and eb is not None and sb <= sa and ea <= eb for sb, eb in spans_b)
        for sa, ea in spans_a
    )


def _heard(word: str, text: str) -> bool:
    """A word (a profile indicator, a trigger term) heard in `text` (normalize.word_heard)."""
    from analyzer.normalize import word_heard

    return word_heard(word, text)


def _indicator_hit(indicator: str, matches: dict[str, PhraseMatch], text: str) -> bool:
    if indicator in matches:
        return _said(matches[indicator])
    return _heard(indicator, text)


def choose_profile(
    guide: Guide, matches: dict[str, PhraseMatch], text: str, profile: str | None
) -> tuple[Profile, bool, tuple[str, ...]]:
    """The given profile, or the best fit to what was said: its indicators heard (phrase ids or
    words) plus its required phrases heard, so the most specific fully-heard procedure wins;
    ties go to the guide's default profile."""
    if not guide.profiles:
        raise ValueError(f"{guide.path}: 用语指引未定义执法类型（profiles）")
    if profile:
        for p in guide.profiles:
            if p.id == profile or p.title == profile:
                return p, False, ()
        known = ", ".join(p.id for p in guide.profiles)
        raise ValueError(f"未知的执法类型 {profile!r}（可选：{known}）")
    default_id = getattr(guide, "default_profile", "") or guide.profiles[0].id
    ranked = sorted(guide.profiles, key=lambda p: p.id != default_id)  # default first: wins ties
    fits = profile_fits(guide, matches, text)
    best = max(ranked, key=lambda p: fits[p.id][0])
    return best, True, fits[best.id][1]


def profile_fits(
    guide: Guide, matches: dict[str, PhraseMatch], text: str
) -> dict[str, tuple[int, tuple[str, ...]]]:
    """profile id -> (fit, the indicators heard): its indicators heard plus its required phrases heard."""
    out: dict[str, tuple[int, tuple[str, ...]]] = {}
    for p in guide.profiles:
        hits = tuple(i for i in p.indicators if _indicator_hit(i, matches, text))
        heard = sum(1 for r in p.requires if _said(matches.get(r)))
        out[p.id] = (len(hits) + heard, hits)
    return out


def unsure_requirements(
    guide: Guide, chosen: Profile, matches: dict[str, PhraseMatch], text: str
) -> dict[str, str]:
    """Phrases an inferred profile requires that a profile fitting nearly as well (within the guide's
    `profile_margin`) does not: phrase id -> that profile's id. Their absence rests on a guess of
    what kind of enforcement act this was (审计调查取证 said as the cause of an inspection makes it
    look like an investigation, which also needs the rights notice), so it is not asserted as missing."""
    margin = guide.settings.get("profile_margin")
    if margin is None or margin < 0:
        return {}
    fits = profile_fits(guide, matches, text)
    best = fits[chosen.id][0]
    rivals = sorted(
        (q for q in guide.profiles if q.id != chosen.id and fits[q.id][0] >= best - margin),
        key=lambda q: -fits[q.id][0],
    )
    out: dict[str, str] = {}
    for pid in chosen.requires:
        rival = next((q for q in rivals if pid not in q.requires), None)
        if rival is not None:
            out[pid] = rival.id
    return out


def required_phrases(
    guide: Guide,
    profile: Profile,
    matches: dict[str, PhraseMatch],
    text: str,
    interrupted: bool,
) -> dict[str, str]:
    """phrase id -> why it is required ("always", "profile", "triggered:<what>")."""
    out: dict[str, str] = {}
    for p in guide.phrases:
        if p.required == "always":
            out[p.id] = "always"
        elif p.id in profile.requires:
            out[p.id] = "profile"
        elif p.required != "optional" or p.triggered_by or getattr(p, "trigger_terms", ()):
            events = ("interruption",) if interrupted else ()
            for trigger in p.triggered_by:
                if trigger in events or _indicator_hit(trigger, matches, text):
                    out[p.id] = f"triggered:{trigger}"
                    break
            else:
                for word in getattr(p, "trigger_terms", ()):
                    if _heard(word, text):
                        out[p.id] = f"triggered:{word}"
                        break
                else:
                    for event in getattr(p, "trigger_events", ()):
                        if event in events:
                            out[p.id] = f"triggered:{event}"
                            break
    return out


def _speech_quality(
    transcript: Transcript, settings: dict[str, float], taken: Sequence[tuple[float, float]] = ()
) -> tuple[float, float, float | None]:
    """(seconds of speech, seconds of it not reliably transcribed, first such time), leaving out
    the `taken` spans.

    Unreliable = segments below the guide's log-probability (or above its no-speech threshold while
    below `low_confidence_no_speech_logprob`), plus
    stretches (over `low_confidence_gap_s`) where the VAD heard speech but Whisper kept no text.
    """
    min_gap = settings.get("low_confidence_gap_s", 1.0)
    speech = unsure = 0.0
    first: float | None = None
    spans = sorted((s.start, s.end) for s in transcript.segments)

    def add(a: float, b: float, is_unsure: bool) -> None:
        nonlocal speech, unsure, first
        for x, y in free_parts(a, b, taken):
            speech += y - x
            if is_unsure:
                unsure += y - x
                first = x if first is None or x < first else first

    for s in transcript.segments:
        add(s.start, s.end, _unsure_segment(s, settings))
    for a, b in getattr(transcript, "speech_regions", ()) or ():
        cursor = a
        for s0, s1 in spans:
            if s1 <= cursor or s0 >= b:
                continue
            if s0 - cursor >= min_gap:
                add(cursor, s0, True)
            cursor = max(cursor, s1)
        if b - cursor >= min_gap:
            add(cursor, b, True)
    return speech, unsure, first


def _unsure_segment(segment: object, settings: dict[str, float]) -> bool:
    """A segment the recogniser was unsure of: below the guide's log-probability, or above its
    no-speech probability while also below `low_confidence_no_speech_logprob` (Whisper's no-speech
    probability is often high on clearly decoded speech; like Whisper's own no-speech rule it counts
    only together with a low log-probability)."""
    lp = float(getattr(segment, "avg_logprob", 0.0))
    ns = float(getattr(segment, "no_speech_prob", 0.0))
    return lp < settings.get("low_confidence_logprob", -1.0) or (
        ns > settings.get("low_confidence_no_speech", 0.6)
        and lp < settings.get("low_confidence_no_speech_logprob", -0.5)
    )


def _unsure_stretch(
    transcript: Transcript, settings: dict[str, float], start: float, end: float | None, min_s: float
) -> tuple[float, float] | None:
    """(first start, last end) of the unsure segments inside [start, end] when they hold at least
    min_s seconds of speech, else None."""
    hits = [
        (max(s.start, start), s.end if end is None else min(s.end, end))
        for s in transcript.segments
        if s.end > start and (end is None or s.start < end) and _unsure_segment(s, settings)
    ]
    if not hits or sum(b - a for a, b in hits) < min_s:
        return None
    return min(a for a, _ in hits), max(b for _, b in hits)


def _unsure_share(
    transcript: Transcript,
    settings: dict[str, float],
    start: float,
    end: float | None,
    taken: Sequence[tuple[float, float]] = (),
) -> tuple[float, float, list[tuple[float, float]]]:
    """(seconds of speech inside [start, end] outside the `taken` spans, of them heard with low
    confidence, the pieces of that unsure speech in time order)."""
    speech = unsure = 0.0
    pieces: list[tuple[float, float]] = []
    for s in transcript.segments:
        a, b = max(s.start, start), s.end if end is None else min(s.end, end)
        free = free_parts(a, b, taken)
        length = sum(y - x for x, y in free)
        speech += length
        if length > 0 and _unsure_segment(s, settings):
            unsure += length
            pieces += free
    return speech, unsure, sorted(pieces)


def free_parts(a: float, b: float, taken: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """[a, b] less the `taken` spans, as ordered pieces."""
    pieces = [(a, b)] if b > a else []
    for x, y in sorted(taken):
        rest: list[tuple[float, float]] = []
        for p, q in pieces:
            if y <= p or x >= q:
                rest.append((p, q))
                continue
            if x > p:
                rest.append((p, x))
            if y < q:
                rest.append((y, q))
        pieces = rest
    return pieces


def expected_window(
    guide: Guide, by_id: dict[str, PhraseMatch], phrase_id: str
) -> tuple[float, float | None]:
    """Where a phrase not heard was expected (case timeline; end None: the end of the recording): from
    the start to `<phrase_id>_window_s` when the guide times it, else between the phrases the guide's
    [[order]] puts before and after it when they were heard, else the whole recording. The same
    stretches the second look decodes again (analyzer/recheck.py calls this)."""
    window = guide.settings.get(f"{phrase_id}_window_s")
    if window is not None:
        return 0.0, float(window)
    lo, hi = 0.0, None
    for rule in guide.order_rules:
        before, after = by_id.get(rule.first), by_id.get(rule.then)
        if rule.then == phrase_id and _said(before) and before is not None and before.end_s is not None:
            lo = max(lo, before.end_s)
        if rule.first == phrase_id and _said(after) and after is not None and after.start_s is not None:
            hi = after.start_s if hi is None else min(hi, after.start_s)
    if hi is not None and hi - lo < 1.0:
        return 0.0, None
    return lo, hi


def _points(settings: dict[str, float], code: str, severity: str, *, opt_in: bool = False) -> float:
    """Points a finding costs: `points_<code>`, else (unless opt-in only) `points_<severity>`."""
    if f"points_{code}" in settings:
        return settings[f"points_{code}"]
    return 0.0 if opt_in else settings.get(f"points_{severity}", 0.0)


def evaluate(
    matches: Sequence[PhraseMatch],
    continuity: ContinuityReport | None,
    transcript: Transcript,
    guide: Guide,
    profile: str | None = None,
    *,
    clock: Sequence[ClockCheck] = (),
    heard_again: Mapping[str, Transcript] | None = None,
) -> Evaluation:
    """Findings and scores for one recording or case (all times on the case timeline). `clock`: the
    spoken times compared with the files' clocks (analyzer.clock), one finding each when they differ
    or could not be compared. `heard_again`: phrase id -> its window decoded with its wording as
    prompt (analyzer.recheck.listen_again; see `_heard_unsure`).

    Each step is one of the guide's rules; findings of equal severity and time keep the order of the
    steps, so reordering them changes reports."""
    by_id = {m.phrase_id: m for m in matches}
    text = transcript.text
    files = continuity.files if continuity else ()
    events: tuple[GapEvent, ...] = continuity.events if continuity else ()
    resumptions = continuity.resumptions if continuity else ()
    acc = _Assessment(guide, _Findings(guide, files), heard_again=dict(heard_again or {}))

    chosen, inferred, evidence = choose_profile(guide, by_id, text, profile)
    if inferred:
        why = "、".join(_title(guide, e) for e in evidence) if evidence else "无明显特征，采用默认类型"
        acc.notes.append(f"执法类型未指定，按录音内容推断为“{chosen.title}”（依据：{why}）")
    interrupted = bool(resumptions)  # continuity lists one resumption per interruption
    required = required_phrases(guide, chosen, by_id, text, interrupted=interrupted)
    if inferred:
        acc.profile = chosen
        acc.rival_profiles = {
            pid: rival
            for pid, rival in unsure_requirements(guide, chosen, by_id, text).items()
            if required.get(pid) == "profile"
        }

    _untranscribed_speech_flagged(acc, transcript)
    _required_phrases_said_in_full(acc, by_id, required, resumptions, transcript)
    _phrases_said_in_time(acc, by_id, required)
    _phrases_said_in_order(acc, by_id)
    explained = _interruptions_explained(acc, resumptions, transcript)
    _continuity_events_flagged(acc, events)
    _device_clock_checked(acc, clock)
    speech_s, unsure_s = _unclear_audio_flagged(acc, transcript, by_id)

    phrase_scores, total = _score(
        guide, by_id, required, acc.deductions, resumptions, explained, acc.needs_listening, acc.unconfirmed
    )
    findings = sorted(
        acc.found.items,
        key=lambda f: (SEVERITY_RANK.get(f.severity, 9), f.start_s if f.start_s is not None else -1.0),
    )
    return Evaluation(
        profile=chosen.id,
        profile_inferred=inferred,
        score=round(total, 1),
        phrase_scores=tuple(phrase_scores),
        findings=tuple(findings),
        notes=tuple(acc.notes),
        profile_title=chosen.title,
        profile_evidence=evidence,
        speech_s=round(speech_s, 2),
        unintelligible_s=round(unsure_s, 2),
        deductions=tuple(acc.deductions),
        required=tuple(pid for pid in (p.id for p in guide.phrases) if pid in required),
    )


@dataclass
class _Assessment:
    """What the rule steps of `evaluate` add to: findings, notes for the reviewer, point deductions."""

    guide: Guide
    found: _Findings
    notes: list[str] = field(default_factory=list)
    deductions: list[Deduction] = field(default_factory=list)
    charged: set[tuple[str, str]] = field(default_factory=set)  # (code, late phrase) already charged
    untranscribed: tuple[tuple[float, float], ...] = ()  # speech no decode could read (case timeline)
    needs_listening: set[str] = field(default_factory=set)  # phrases not asserted missing because of it
    profile: Profile | None = None  # the inferred profile (None: given by the caller)
    rival_profiles: dict[str, str] = field(default_factory=dict)  # see unsure_requirements
    unconfirmed: set[str] = field(default_factory=set)  # not heard, required only by an unsure inference
    heard_again: dict[str, Transcript] = field(default_factory=dict)  # phrase id -> its prompted decode

    @property
    def settings(self) -> dict[str, float]:
        return self.guide.settings

    def late(self, code: str, pid: str, at: float | None, why: str, **values: object) -> None:
        """Timing and order: one finding per (code, late phrase), its points charged to that phrase."""
        if (code, pid) in self.charged:
            return
        self.charged.add((code, pid))
        f = self.found.add(code, ("order_violation",), at, phrase_id=pid, **values)
        pts = _points(self.settings, code, f.severity)
        if pts > 0:
            self.deductions.append(Deduction(code=code, points=pts, reason=why, phrase_id=pid))

    def listen_for(
        self,
        phrase_id: str,
        title: str,
        span: tuple[float, float],
        *,
        unsure: bool = False,
        definition: str | None = None,
    ) -> None:
        """A phrase not heard where untranscribed speech (unsure: speech heard with low confidence)
        could hold it, or heard only from a voice the attribution took for `other` (definition
        `needs_listening_speaker`): a reviewer listens first."""
        if definition is None:
            definition = "needs_listening_unsure" if unsure else "needs_listening"
        self.needs_listening.add(phrase_id)
        self.found.add(
            f"{phrase_id}_needs_listening",
            (definition, "needs_listening"),
            span[0],
            span[1],
            phrase_id=phrase_id,
            phrase=title,
        )

    def confirm_profile(self, phrase_id: str, title: str) -> None:
        """A phrase not heard that only the inferred profile, not a rival fitting nearly as well,
        requires: a reviewer confirms the kind of enforcement act first."""
        self.unconfirmed.add(phrase_id)
        rival = self.rival_profiles[phrase_id]
        self.found.add(
            f"{phrase_id}_profile_unsure",
            ("profile_unsure",),
            None,
            phrase_id=phrase_id,
            phrase=title,
            profile=self.profile.title if self.profile else "",
            rival=next((p.title for p in self.guide.profiles if p.id == rival), rival),
        )


def _untranscribed_speech_flagged(acc: _Assessment, transcript: Transcript) -> None:
    """Every second of VAD speech is in the transcript or reported: each stretch no decode could read
    is a flag for the reviewer, and the steps below do not call a phrase missing that it may hold."""
    acc.untranscribed = tuple(getattr(transcript, "untranscribed", ()) or ())
    for a, b in acc.untranscribed:
        acc.found.add("untranscribed_speech", (), a, b, duration=fmt_duration(b - a))


def _overlapping(
    spans: Sequence[tuple[float, float]], start: float, end: float | None
) -> tuple[float, float] | None:
    """The first span overlapping [start, end] (end None: to the end of the recording)."""
    for a, b in spans:
        if b > start and (end is None or a < end):
            return a, b
    return None


def _required_phrases_said_in_full(
    acc: _Assessment,
    by_id: dict[str, PhraseMatch],
    required: dict[str, str],
    resumptions: Sequence,
    transcript: Transcript,
) -> None:
    """Every required phrase is said, with all its slots filled (the reason phrase is judged per
    interruption instead).

    Not hearing a phrase is asserted only where the speech it was expected in was heard: when that
    window holds untranscribed speech, or speech heard with low confidence (at least `listen_unsure_s`
    seconds and `listen_unsure_share` of the window's speech below the guide's low_confidence_* rule,
    after the second look at that window), the phrase may have been said there, garbled beyond
    recognition, and a reviewer listens first. Speech where other phrases were heard does not count,
    and the share keeps the few unsure segments of clearly heard speech from hiding a phrase that was
    not said. `<phrase_id>_listen_unsure_s` replaces `listen_unsure_s` for one phrase."""
    guide, found = acc.guide, acc.found
    for p in guide.phrases:
        m = by_id.get(p.id)
        if p.id not in required:
            continue
        if m is None or not _said(m):
            if resumptions and p.id == _reason_phrase(guide):  # reported per interruption below
                continue
            heard_from_other = _heard_only_from_other(acc, m)
            if heard_from_other is not None:
                acc.listen_for(p.id, p.title, heard_from_other, definition="needs_listening_speaker")
                continue
            window = acc.settings.get(f"{p.id}_window_s")
            span = _overlapping(acc.untranscribed, 0.0, float(window) if window is not None else None)
            unsure = False
            if span is None:
                span = _heard_unsure(acc, by_id, p.id, transcript)
                unsure = span is not None
            near = _heard_near(acc, by_id, p, transcript) if span is None else None
            if near is not None:
                start, end, why = near
                acc.listen_for(p.id, p.title, (start, end), definition=why)
            elif span is not None:
                acc.listen_for(p.id, p.title, span, unsure=unsure)
            elif p.id in acc.rival_profiles:
                acc.confirm_profile(p.id, p.title)
            else:
                found.add(f"{p.id}_missing", ("phrase_missing",), None, phrase_id=p.id, phrase=p.title)
            continue
        if m.missing_slots:
            missing = "、".join(_slot_title(p, s) for s in m.missing_slots)
            found.add(
                f"{p.id}_incomplete",
                ("phrase_incomplete", "phrase_partial"),
                m.start_s,
                m.end_s,
                phrase_id=p.id,
                phrase=p.title,
                missing=missing,
            )


def _heard_only_from_other(acc: _Assessment, m: PhraseMatch | None) -> tuple[float, float] | None:
    """Where a required phrase was heard, but only from a voice taken for `other` less surely than
    `other_phrase_listen_below` (a reviewer's correction is sure: 1.0), else None. Attribution errs
    (an officer's long statement split off as a far voice), and a false "missing" for a phrase that
    was heard is worse evidence than a reviewer listening: not counted, not asserted missing."""
    bound = acc.settings.get("other_phrase_listen_below", 0.0)
    heard = [
        o
        for o in (m.said_by_other if m is not None else ())
        if o.start_s is not None and (o.speaker_confidence is None or o.speaker_confidence < bound)
    ]
    if not heard:
        return None
    first = min(heard, key=lambda o: o.start_s or 0.0)
    start = float(first.start_s or 0.0)
    return (start, float(first.end_s) if first.end_s is not None else start)


def _heard_unsure(
    acc: _Assessment, by_id: dict[str, PhraseMatch], phrase_id: str, transcript: Transcript
) -> tuple[float, float] | None:
    """The unsure speech in a phrase's expected window when enough of it was heard with low
    confidence for the phrase to be in it (see `unsure_pieces`), else None; the reviewer is pointed
    at the unsure speech of one file, the first that holds any."""
    pieces = unsure_pieces(acc.guide, by_id, phrase_id, transcript, acc.heard_again.get(phrase_id))
    if not pieces:
        return None
    first = pieces[0][0]
    bound = next((f.end_s for f in acc.found.files if f.offset_s <= first < f.end_s), None)
    return first, max(b for a, b in pieces if bound is None or a < bound)


def unsure_pieces(
    guide: Guide,
    by_id: dict[str, PhraseMatch],
    phrase_id: str,
    transcript: Transcript,
    heard_again: Transcript | None = None,
) -> list[tuple[float, float]]:
    """The pieces of unsure speech (time order) in a phrase's expected window when enough of it was
    heard with low confidence for the phrase to be in it (`listen_unsure_s`, `listen_unsure_share`),
    else []. Speech where another phrase was heard is not counted: however badly heard, it held that
    phrase (an opening not said, before a request for ID and a recording notice heard in garbled
    speech). Nor is speech that the phrase's prompted look (`heard_again`, decoded with the phrase's
    own wording as prompt; analyzer.recheck.listen_again) read without anything like the phrase in it:
    a prompt pulls a said phrase out of garbled speech, so what it still reads as other talk (a quiet
    party's conversation) did not hold it. When that decode heard the phrase or an attempt at it
    (`prompted_attempt`), every unsure second counts."""
    cfg = guide.settings
    min_s = cfg.get(f"{phrase_id}_listen_unsure_s", cfg.get("listen_unsure_s"))
    if min_s is None:
        return []
    start, end = expected_window(guide, by_id, phrase_id)
    taken = _taken_spans(by_id)
    phrase = next((p for p in guide.phrases if p.id == phrase_id), None)
    if (
        heard_again is not None
        and phrase is not None
        and prompted_attempt(guide, by_id, phrase, heard_again) is None
    ):
        taken += read_spans(heard_again, cfg.get("low_confidence_gap_s", 1.0))
    speech, unsure, pieces = _unsure_share(transcript, cfg, start, end, taken)
    if not pieces or unsure < min_s or unsure < cfg.get("listen_unsure_share", 0.0) * speech:
        return []
    return pieces


def _heard_near(
    acc: _Assessment, by_id: dict[str, PhraseMatch], phrase: Phrase, transcript: Transcript
) -> tuple[float, float, str] | None:
    """Where the phrase's expected window, outside the phrases heard, holds a near miss of it, with the
    finding definition that says why, else None. Its closest wording there has one of its key terms
    heard (by characters, sound or nearly) and either scores at least `listen_near_score` with a slot of
    a checkable form (a time, a place, an amount) said like such a value (`needs_listening_near`), or,
    for a phrase the guide does not time from the start, scores at least `listen_near_term_score`
    (`needs_listening_term`). Clearly heard speech that has the phrase's structure but not enough of its
    words (2026年12月1日下午…只法全过成那个记录 for a garbled opening), or a key term in words garbled
    around it (有全数权和行政策计权力 for 您享有陈述权和行政救济权利; 监督只发行名，本次只发钱过程 for the
    recording notice spoken fast), is an attempt Whisper garbled, not a phrase left out. Speech where a
    phrase was heard, from any voice, is no near miss (another phrase's, or this one's said by a party);
    speech that holds no key term (a party's replies, a request for ID) keeps the finding asserted. On
    the six scenario corpora of 2026-12-04 every `<phrase>_missing` asserted next to such an attempt was
    false, and none asserted rightly had one. The opening keeps the stricter test: its own window holds
    the time and place, and a resume statement or a party's words share its key terms.
    Without a key term, at least `listen_near_form_slots` of its checkable slots said like such values
    in its wording's order, scoring at least `listen_near_score`, are a near miss too
    (`needs_listening_form`; not for a phrase timed from the start, which a time and a place alone
    would hold). `<phrase_id>_listen_near_score` / `<phrase_id>_listen_near_term_score` /
    `<phrase_id>_listen_near_form_slots` replace the settings for one phrase; absent or 0: off."""
    cfg = acc.settings
    min_score = cfg.get(f"{phrase.id}_listen_near_score", cfg.get("listen_near_score", 0.0))
    term_score = cfg.get(f"{phrase.id}_listen_near_term_score", cfg.get("listen_near_term_score", 0.0))
    form_slots = int(cfg.get(f"{phrase.id}_listen_near_form_slots", cfg.get("listen_near_form_slots", 0)))
    if cfg.get(f"{phrase.id}_window_s") is not None:
        term_score, form_slots = 0.0, 0
    if not min_score and not term_score:
        return None
    m = _closest_outside(acc.guide, by_id, phrase, transcript)
    if m is None or m.start_s is None:
        return None
    end = m.end_s if m.end_s is not None else m.start_s
    forms = {s.name for s in phrase.slots if s.required and s.kind not in ("text", "names")}
    said_forms = [n for n in m.slots if n in forms and n not in m.implausible_slots]
    if not m.terms_found:
        # no key term, but several values of its own checkable forms said in its wording's order
        # (您可以在六十日内向…六个月内向…人民法院…: both deadlines and the court, the key terms garbled)
        if form_slots and min_score and m.score >= min_score and len(said_forms) >= form_slots:
            return m.start_s, end, "needs_listening_form"
        return None
    formed = bool(said_forms)
    if min_score and m.score >= min_score and formed:
        return m.start_s, end, "needs_listening_near"
    if term_score and m.score >= term_score:
        return m.start_s, end, "needs_listening_term"
    return None


def _closest_outside(
    guide: Guide, by_id: dict[str, PhraseMatch], phrase: Phrase, transcript: Transcript
) -> PhraseMatch | None:
    """The phrase's closest wording (analyzer.match.closest_attempt) in its expected window, in the
    segments mostly outside the phrases heard, from any voice (another phrase's speech, or this one's
    said by a party reading it aloud, is no attempt at it), else None."""
    from analyzer.match import TextIndex, closest_attempt, guide_match_settings, normalize_for

    start, end = expected_window(guide, by_id, phrase.id)
    taken = _taken_spans(by_id) + [
        (float(o.start_s), float(o.end_s))
        for m in by_id.values()
        for o in m.said_by_other
        if o.start_s is not None and o.end_s is not None
    ]
    free = tuple(
        s
        for s in transcript.segments
        if s.end > start
        and (end is None or s.start < end)
        and sum(y - x for x, y in free_parts(s.start, s.end, taken)) * 2 >= s.end - s.start
    )
    if not free:
        return None
    window = replace(transcript, segments=free)
    return closest_attempt(TextIndex(normalize_for(window, guide)), phrase, guide_match_settings(guide))


def prompted_attempt(
    guide: Guide, by_id: dict[str, PhraseMatch], phrase: Phrase, heard_again: Transcript
) -> PhraseMatch | None:
    """The phrase as its prompted look (analyzer.recheck.listen_again) heard it outside the phrases
    heard, when that decode heard it (present or partial) or came near it (a key term, or its closest
    wording scoring at least `listen_near_score`; with that setting 0 any attempt), else None."""
    m = _closest_outside(guide, by_id, phrase, heard_again)
    if m is None:
        return None
    cfg = guide.settings
    min_score = cfg.get(f"{phrase.id}_listen_near_score", cfg.get("listen_near_score", 0.0))
    return m if m.status != "absent" or m.terms_found or m.score >= min_score else None


def read_spans(transcript: Transcript, join_s: float) -> list[tuple[float, float]]:
    """Where a decode put words (segments without words: the segment), pieces closer than `join_s`
    joined: the speech it read."""
    spans = sorted(
        [(w.start, w.end) for s in transcript.segments for w in s.words]
        + [(s.start, s.end) for s in transcript.segments if not s.words]
    )
    out: list[tuple[float, float]] = []
    for a, b in spans:
        if out and a - out[-1][1] < join_s:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _taken_spans(by_id: dict[str, PhraseMatch], *, present_only: bool = False) -> list[tuple[float, float]]:
    """Where the phrases heard (only those heard as present) were said, every occurrence."""
    return [
        (float(occ[0]), float(occ[1]))
        for m in by_id.values()
        if (m.status == "present" if present_only else _said(m))
        for occ in (m.occurrences or ((m.start_s, m.end_s),))
        if occ[0] is not None and occ[1] is not None
    ]


def _phrases_said_in_time(acc: _Assessment, by_id: dict[str, PhraseMatch], required: dict[str, str]) -> None:
    """A required phrase with a `<phrase_id>_window_s` setting starts within that many seconds."""
    for p in acc.guide.phrases:
        window = acc.settings.get(f"{p.id}_window_s")
        first = _first_time(by_id.get(p.id))
        if window is not None and first is not None and first > window and p.id in required:
            limit = fmt_duration(window)
            why = f"出现过晚（{fmt_time(first)}，应在开始后 {limit} 内）"
            acc.late(f"{p.id}_late", p.id, first, why, phrase=p.title, window=limit)


def _phrases_said_in_order(acc: _Assessment, by_id: dict[str, PhraseMatch]) -> None:
    """The guide's order rules: `first` is said before `then` (or, unless only_if_both, at all)."""
    guide = acc.guide
    for rule in guide.order_rules:
        ta, tb = _first_time(by_id.get(rule.first)), _first_time(by_id.get(rule.then))
        if tb is None or (ta is None and rule.only_if_both) or (ta is not None and ta <= tb):
            continue
        if ta is not None and _inside(by_id[rule.first], by_id[rule.then]):
            # phrases are not said inside one another: `then` heard over `first` is a span stretched
            # back over the phrases before it (the fine statement from the recording notice's 您的,
            # its own 您的 heard as 您都), not `then` said first
            continue
        title_a, title_b = _title(guide, rule.first), _title(guide, rule.then)
        why = f"顺序错误：应在“{title_b}”（{fmt_time(tb)}）之前说" + (
            f"，实际在 {fmt_time(ta)}" if ta is not None else "，实际未说"
        )
        acc.late(
            rule.code,
            rule.first,
            ta if ta is not None else tb,
            why,
            phrase=title_a,
            first=title_a,
            then=title_b,
            first_start=fmt_time(ta),
            then_start=fmt_time(tb),
        )


def _interruptions_explained(acc: _Assessment, resumptions: Sequence, transcript: Transcript) -> int:
    """第十条: after each interruption the reason is stated on resuming. Returns how many count as
    explained (stated, or not checkable for want of a transcript).

    Not hearing a reason is asserted only where the resumed speech was heard well: when speech in the
    resume window could not be transcribed, or at least `resume_listen_unsure_s` seconds of it were
    heard with low confidence (the guide's low_confidence_* rule; this is after the second look at
    that window), the reason may have been said there, and a reviewer listens first. So does one whose
    resume statement was heard with words in the reason's place that do not read as a reason
    (`Resumption.unclear`)."""
    explained = 0
    unsure_min = acc.settings.get("resume_listen_unsure_s")
    for r in resumptions:
        if r.reason_given or not getattr(r, "checked", True):
            explained += 1  # unchecked (no transcript of the resumed audio): not held against the officer
            if not r.reason_given:
                acc.notes.append(f"{fmt_time(r.after.end_s)} 处中断后的录音无转写，未能核对是否说明原因")
            continue
        ev = r.after
        span = _overlapping(acc.untranscribed, ev.end_s, ev.end_s + r.window_s if r.window_s else None)
        unsure = False
        if span is None and getattr(r, "unclear", None) is not None:
            span, unsure = r.unclear, True  # the statement heard, its reason not readable
        if span is None and unsure_min is not None:
            end = ev.end_s + r.window_s if r.window_s else None
            span = _unsure_stretch(transcript, acc.settings, ev.end_s, end, float(unsure_min))
            unsure = span is not None
        if span is not None:  # the reason may be in speech that could not be transcribed or was heard badly
            explained += 1
            reason_id = _reason_phrase(acc.guide)
            acc.listen_for(reason_id, _title(acc.guide, reason_id), span, unsure=unsure)
            continue
        acc.found.add(
            "interruption_unexplained",
            (),
            ev.end_s,
            phrase_id=_reason_phrase(acc.guide),
            duration=fmt_duration(ev.duration_s),
            kind=ev.kind,
            detail=ev.detail,
            window=fmt_duration(r.window_s) if r.window_s else "",
        )
    return explained


def _continuity_events_flagged(acc: _Assessment, events: Sequence[GapEvent]) -> None:
    """Every continuity event is a flag for the reviewer; it costs points only when the guide sets
    `points_<code>` for it."""
    for ev in events:
        code = EVENT_CODES.get(ev.kind, ev.kind)
        generics = ("clock_problem",) if ev.kind == "clock_overlap" else ("event",)
        f = acc.found.add(
            code,
            generics,
            ev.start_s,
            ev.end_s,
            file=ev.file or None,
            file_start_s=ev.file_start_s if ev.file else None,
            duration=fmt_duration(ev.duration_s),
            detail=ev.detail or ev.kind,
            kind=ev.kind,
            confidence=f"{ev.confidence:.0%}",
        )
        pts = _points(acc.settings, code, f.severity, opt_in=True)
        if pts > 0:
            acc.deductions.append(Deduction(code=code, points=pts, reason=f.message))


def _device_clock_checked(acc: _Assessment, checks: Sequence[ClockCheck]) -> None:
    """第八条: the time said in the opening (and in each resume statement that states one) agrees with
    the file's clock. A mismatch is a flag (`clock_mismatch`); a check that could not be made says so
    (`clock_unchecked`). Points only when the guide sets `points_<code>`."""
    from analyzer.clock import fmt_difference

    for c in checks:
        if c.status == "ok":
            continue
        code = "clock_mismatch" if c.status == "mismatch" else "clock_unchecked"
        where = "开场白" if c.role == "opening" else f"{fmt_time(c.start_s)} 处恢复记录时"
        f = acc.found.add(
            code,
            (),
            c.start_s,
            file=c.file or None,
            file_start_s=c.file_time_s,
            where=where,
            detail=c.reason,
            spoken=c.spoken_text or "—",
            file_time=(c.file_time or "—").replace("T", " "),
            source=c.source_title,
            difference="—" if c.difference_s is None else fmt_difference(c.difference_s),
            tolerance=fmt_duration(c.tolerance_s),
        )
        pts = _points(acc.settings, code, f.severity, opt_in=True)
        if pts > 0:
            acc.deductions.append(Deduction(code=code, points=pts, reason=f.message))


def _unclear_audio_flagged(
    acc: _Assessment, transcript: Transcript, by_id: dict[str, PhraseMatch]
) -> tuple[float, float]:
    """Speech the recogniser was unsure of, when it is long enough and a large enough share of
    speech, makes the score advisory. Returns (speech seconds, unsure seconds).

    Unsure speech in which a guide phrase was recognised as present does not count: it was understood,
    whatever Whisper's confidence in it (clear 10 dB sentences came back word for word at avg
    log-probability -0.56 with a no-speech probability of 0.79). Speech holding a phrase heard only
    partly still does: its words were not all understood."""
    settings = acc.settings
    speech_s, unsure_s, first_unsure = _speech_quality(transcript, settings)
    taken = _taken_spans(by_id, present_only=True)
    _, free_unsure, free_first = (
        _speech_quality(transcript, settings, taken) if taken else (speech_s, unsure_s, first_unsure)
    )
    fraction = settings.get("low_confidence_fraction", 0.5)
    if free_unsure >= settings.get("low_confidence_min_s", 10.0) and free_unsure >= fraction * speech_s:
        f = acc.found.add(
            "low_confidence_audio",
            (),
            free_first if free_first is not None else first_unsure,
            duration=fmt_duration(unsure_s),
            fraction=f"{unsure_s / speech_s:.0%}",
            speech=fmt_duration(speech_s),
        )
        share = f"{unsure_s / speech_s:.0%}"
        acc.notes.append(
            f"约 {share} 的语音（{fmt_duration(unsure_s)}）识别置信度低，得分仅供参考，请人工收听"
        )
        pts = _points(settings, "low_confidence_audio", f.severity, opt_in=True)
        if pts > 0:
            acc.deductions.append(Deduction(code="low_confidence_audio", points=pts, reason=f.message))
    return speech_s, unsure_s


def _reason_phrase(guide: Guide) -> str:
    """The phrase that states why recording was interrupted (continuity's setting, else its stable id)."""
    return str(guide.settings.get("interruption_reason_phrase", "interruption_reason"))


def _score(
    guide: Guide,
    by_id: dict[str, PhraseMatch],
    required: dict[str, str],
    deductions: Sequence[Deduction],
    resumptions: Sequence,
    explained: int,
    unheard: set[str] | frozenset[str] = frozenset(),
    unconfirmed: set[str] | frozenset[str] = frozenset(),
) -> tuple[list[PhraseScore], float]:
    total_weight = sum(p.weight for p in guide.phrases if p.id in required)
    reason_id = _reason_phrase(guide)
    out: list[PhraseScore] = []
    lost_total = 0.0
    for p in guide.phrases:
        m = by_id.get(p.id)
        is_required = p.id in required
        reasons: list[str] = []
        if p.id == reason_id and resumptions:
            score = 100.0 * explained / len(resumptions)
            if explained < len(resumptions):
                n = len(resumptions)
                reasons.append(f"{n - explained}/{n} 次中断后恢复记录时未说明原因")
        elif p.id in unheard:
            score = 0.0
            reasons.append(
                "未检出该用语，但其应出现的时段有未能转写或识别置信度低的语音，需人工听取（不按缺失扣分）"
            )
        elif p.id in unconfirmed:
            score = 0.0
            reasons.append(
                "未检出该用语；仅推断的执法类型需要它，而推断依据不足，需人工确认执法类型（不按缺失扣分）"
            )
        elif m is None or not _said(m):
            score = 0.0
            reasons.append("未检出该用语")
        else:
            score = float(m.score)
            if score < 100:
                reasons.append(_similarity_reason(p, m))
        share = (p.weight / total_weight * 100.0) if (is_required and total_weight > 0) else 0.0
        # Not asserted missing while speech where it belongs is untranscribed (or the profile that needs
        # it is only a guess): a reviewer listens (confirms) first.
        lost = 0.0 if p.id in unheard or p.id in unconfirmed else share * (100.0 - score) / 100.0
        if is_required and lost > 0:
            pts = f"{lost:.1f}" if lost >= 0.05 else f"{lost:.2f}"
            reasons[-1] = f"{reasons[-1]}（扣 {pts} 分）" if reasons else f"扣 {pts} 分"
        for d in deductions:
            if d.phrase_id == p.id:
                lost += d.points
                reasons.append(f"{d.reason}（{d.code}，扣 {d.points:.1f} 分）")
        if not is_required:
            reasons.append("非本次执法必需用语，不计入总分")
        lost_total += lost
        out.append(
            PhraseScore(
                phrase_id=p.id,
                required=is_required,
                weight=p.weight,
                score=round(score, 1),
                points_lost=round(lost, 2),
                reasons=tuple(reasons),
                title=p.title,
                required_because=required.get(p.id, ""),
                needs_listening=p.id in unheard,
            )
        )
    known = {p.id for p in guide.phrases}
    lost_total += sum(d.points for d in deductions if d.phrase_id not in known)
    total = 100.0 - lost_total if total_weight > 0 else 100.0 - lost_total
    return out, max(0.0, min(100.0, total))


def _similarity_reason(p: Phrase, m: PhraseMatch) -> str:
    parts = [f"与标准用语相符 {m.score:.1f}/100" if m.score > 99 else f"与标准用语相符 {m.score:.0f}/100"]
    if m.missing_terms:
        parts.append("缺少关键词：" + "、".join(m.missing_terms))
    if m.missing_slots:
        parts.append("未说明：" + "、".join(_slot_title(p, s) for s in m.missing_slots))
    if m.status == "partial":
        parts.append("仅部分说出")
    return "；".join(parts)


def _slot_title(p: Phrase, name: str) -> str:
    for s in p.slots:
        if s.name == name:
            return s.title or s.name
    return name


def _title(guide: Guide, phrase_id: str) -> str:
    try:
        return guide.phrase(phrase_id).title
    except KeyError:
        return phrase_id
