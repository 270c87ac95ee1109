"""Match: find each standard phrase of a guide in an imperfect ASR transcript.

How (and why this way):
1. The transcript is normalized once (analyzer.normalize): Simplified, Arabic numerals, and a
   loose-pinyin code string in which homophone errors (申辩/身边) are identical.
2. Cheap anchors: pinyin n-grams of each standard wording are looked up in an n-gram index of the
   transcript; clusters of hits become candidate windows. Only those windows are aligned, so a
   one-hour transcript costs milliseconds (rapidfuzz's partial_ratio heuristics are not used: they
   can miss the best alignment of needles over 64 characters).
3. Each window is aligned to the slot-free literal of the wording with an LCS alignment
   (rapidfuzz Indel) on pinyin codes; the best contiguous chain of matches is kept, with the
   characters between literals read as slot values (the XX parts). The rest of the window on either
   side is aligned again, so that neither a second occurrence nor a real attempt hides behind a
   closer-sounding span of another phrase.
4. Score = weighted pinyin similarity, character similarity, key-term coverage and slot coverage
   (weights from the guide's [settings]); phrases with essential key terms are absent unless one is heard,
   and at least partial when all of them and every required slot are heard (key terms count by sound).
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

import numpy as np
from rapidfuzz import fuzz
from rapidfuzz.distance import LCSseq

from analyzer.guide import APART
from analyzer.normalize import (
    NormText,
    coarse_codes,
    loose_codes,
    normalize_plain,
    normalize_text,
    normalize_transcript,
    pinyin_of,
    syllable_neighbours,
    syllable_slip,
    word_heard,
)

if TYPE_CHECKING:
    from analyzer.guide import Guide, KeyTerm, Phrase, Slot
    from analyzer.transcribe import Transcript

Status = Literal["present", "partial", "absent"]
SLOT_CHAR_COST = 0.01  # a slot value is free to say, but shorter readings win ties
HOMOPHONE_COST = 0.05  # same sound, different character: nearly a match

# Fallbacks when no guide settings are given (a guide's [settings.match] overrides every one of them).
DEFAULT_SETTINGS: dict[str, float] = {
    "present_score": 70.0,
    "partial_score": 45.0,
    "weight_pinyin": 0.40,
    "weight_char": 0.15,
    "weight_terms": 0.30,
    "weight_slots": 0.15,
    "homophone_term_credit": 1.0,
    "homophone_char_credit": 0.8,
    "present_min_slot_coverage": 0.5,
    "min_lcs_share": 0.25,
    "partial_min_terms": 2,
    "implausible_slot_credit": 0.6,
    "near_term_credit": 0.7,
    "neighbour_term_credit": 0.0,
    "near_term_coarse_min_chars": 0,
    "partial_wording_min_chars": 0,
    "partial_min_other_terms": 0,
    "partial_other_terms_share": 0.0,
    "partial_other_terms_onward": 0,
    "partial_min_run_chars": 0,
    "partial_wording_share": 0.8,
    "term_gap_max_chars": 4,
    "partial_term_share": 0.4,
    "partial_min_form_slots": 2,
    "min_seed_share": 0.12,
    "extra_char_penalty": 0.5,
    "seed_ngram": 3,
    "min_seed_hits": 2,
    "window_margin": 8,
    "max_inner_gap": 10,
    "break_gap_s": 2.5,
    "occurrence_min_gap": 2,
}


@dataclass(frozen=True)
class DiffOp:
    op: Literal["equal", "missing", "wrong", "extra"]  # relative to the standard wording
    standard: str  # the standard's characters ("" for extra)
    said: str  # what was said ("" for missing)


@dataclass(frozen=True)
class PhraseMatch:
    phrase_id: str
    status: Status
    score: float  # 0-100
    start_s: float | None
    end_s: float | None
    text: str  # what was said (Simplified transcript span), "" when absent
    standard: str  # the nearest standard wording (alternative) it was compared with
    terms_found: tuple[str, ...] = ()
    missing_terms: tuple[str, ...] = ()
    slots: dict[str, str] = field(default_factory=dict)  # slot name -> value said
    missing_slots: tuple[str, ...] = ()
    diff: tuple[DiffOp, ...] = ()
    char_score: float = 0.0
    pinyin_score: float = 0.0
    occurrences: tuple[tuple[float, float], ...] = ()  # every (start_s, end_s) it was found at
    # added by the matcher owner (defaults keep the interface stable)
    term_score: float = 0.0  # weighted key-term coverage 0-100
    slot_score: float = 0.0  # required slots filled plausibly 0-100
    homophone_terms: tuple[str, ...] = ()  # key terms heard only by sound (e.g. 身边权 for 申辩权)
    implausible_slots: tuple[str, ...] = ()  # filled, but not with what such a slot looks like
    standard_index: int = 0  # which alternative of phrase.standards
    span: tuple[int, int] | None = None  # normalized-text index range [start, end)
    occurrence_matches: tuple[PhraseMatch, ...] = ()  # every occurrence (present/partial), best first
    speaker: str = ""  # who said it (analyzer.speakers): "wearer" | "officer" | "other"; "" = not attributed
    speaker_id: str = ""  # the voice within the recording or case (S1, S2, ...)
    said_by_other: tuple[PhraseMatch, ...] = ()  # occurrences spoken by `other`: shown, never counted
    unsure_speaker: tuple[PhraseMatch, ...] = ()  # counted, by a voice whose role is unsure: shown marked
    speaker_confidence: float | None = None  # that the voice's role is right; None: not attributed

    def to_dict(self) -> dict:
        d = asdict(self)
        d["occurrence_matches"] = [m.to_dict() for m in self.occurrence_matches]
        d["said_by_other"] = [m.to_dict() for m in self.said_by_other]
        d["unsure_speaker"] = [m.to_dict() for m in self.unsure_speaker]
        return d


# -- compiled wordings ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Term:
    term: KeyTerm
    forms_text: tuple[str, ...]
    forms_loose: tuple[str, ...]
    forms_coarse: tuple[str, ...] = ()  # coarse pinyin (aspiration pairs merged), forms of 3+ characters
    forms_apart: tuple[tuple[str, ...], ...] = ()  # "A…B" forms: loose pinyin of each part, in order
    forms_two: tuple[tuple[str, str], ...] = ()  # two-character forms of an essential term: their syllables


@dataclass(frozen=True)
class _Wording:
    """One standard wording prepared for alignment: slot-free literal and where the slots sit in it."""

    index: int
    display: str
    literal: str  # normalized literal characters (slots removed)
    loose: str  # loose pinyin codes of literal
    slot_groups: dict[int, tuple[Slot, ...]]  # literal position -> slots said before that position
    terms: tuple[_Term, ...]
    required_slots: tuple[str, ...]

    @property
    def loose_ord(self) -> np.ndarray:
        return _ords(self.loose)

    @property
    def literal_ord(self) -> np.ndarray:
        return _ords(self.literal)


@lru_cache(maxsize=1024)
def _ords(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


_SLOT_SPLIT = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


@lru_cache(maxsize=512)
def _compile(phrase: Phrase) -> tuple[_Wording, ...]:
    """Normalize each wording's literal parts once per phrase."""
    all_terms = []
    for kt in phrase.key_terms:
        whole = [f for f in kt.forms if APART not in f]
        forms_text = tuple(dict.fromkeys(normalize_plain(f) for f in whole if normalize_plain(f)))
        forms_loose = tuple(loose_codes(pinyin_of(f)) for f in forms_text)
        forms_coarse = tuple(coarse_codes(pinyin_of(f)) for f in forms_text if len(f) >= 3)
        forms_apart = tuple(
            tuple(loose_codes(pinyin_of(normalize_plain(part))) for part in f.split(APART))
            for f in kt.forms
            if APART in f
        )
        two = [pinyin_of(f) for f in forms_text if len(f) == 2] if kt.essential else []
        forms_two = tuple((sy[0], sy[1]) for sy in two if len(sy) == 2)
        all_terms.append(_Term(kt, forms_text, forms_loose, forms_coarse, forms_apart, forms_two))
    wordings: list[_Wording] = []
    literals: list[str] = []
    for idx, standard in enumerate(phrase.standards):
        pieces = _SLOT_SPLIT.split(standard)  # literal, slot, literal, slot, ...
        literal = ""
        groups: dict[int, list[Slot]] = defaultdict(list)
        for k, piece in enumerate(pieces):
            if k % 2 == 0:
                literal += normalize_plain(piece)
            else:
                groups[len(literal)].append(phrase.slot(piece))
        literals.append(literal)
        wordings.append(
            _Wording(
                index=idx,
                display=phrase.display(idx),
                literal=literal,
                loose=loose_codes(pinyin_of(literal)),
                slot_groups={k: tuple(v) for k, v in groups.items()},
                terms=(),
                required_slots=tuple(s.name for g in groups.values() for s in g if s.required),
            )
        )
    # a key term applies to the wordings that contain it; a term in none of them applies to all
    out = []
    for w in wordings:
        applicable = []
        for t in all_terms:
            in_any = any(f in lit for f in t.forms_text for lit in literals)
            if not in_any or any(f in w.literal for f in t.forms_text):
                applicable.append(t)
        out.append(
            _Wording(
                w.index, w.display, w.literal, w.loose, w.slot_groups, tuple(applicable), w.required_slots
            )
        )
    return tuple(out)


# -- transcript index -----------------------------------------------------------------------------


class TextIndex:
    """A normalized text plus its pinyin n-gram index (built once, shared by all phrases)."""

    def __init__(self, norm: NormText) -> None:
        self.norm = norm
        self.loose_ord = np.frombuffer(norm.loose.encode("utf-32-le"), dtype=np.uint32)
        self.text_ord = np.frombuffer(norm.text.encode("utf-32-le"), dtype=np.uint32)
        self.breaks = sorted(norm.breaks)
        self.clause_breaks = sorted(norm.clause_breaks)
        self._grams: dict[int, dict[str, list[int]]] = {}

    def grams(self, n: int) -> dict[str, list[int]]:
        if n not in self._grams:
            idx: dict[str, list[int]] = defaultdict(list)
            s = self.norm.loose
            for p in range(len(s) - n + 1):
                idx[s[p : p + n]].append(p)
            self._grams[n] = idx
        return self._grams[n]


PER_PHRASE = (
    "partial_min_other_terms",
    "partial_other_terms_share",
    "partial_other_terms_onward",
)  # `<phrase_id>_<name>` replaces `<name>` for one phrase


def _settings(settings: dict[str, float] | None) -> dict[str, float]:
    merged = dict(DEFAULT_SETTINGS)
    if settings:
        merged.update(
            {
                k: v
                for k, v in settings.items()
                if k in DEFAULT_SETTINGS or any(k.endswith(f"_{name}") for name in PER_PHRASE)
            }
        )
    return merged


def _setting(cfg: dict[str, float], phrase: Phrase, name: str) -> float:
    return cfg.get(f"{phrase.id}_{name}", cfg[name])


# -- candidate windows ----------------------------------------------------------------------------


def _slot_allowance(w: _Wording) -> int:
    return sum(s.max_len for g in w.slot_groups.values() for s in g)


def _candidate_windows(index: TextIndex, w: _Wording, cfg: dict[str, float]) -> list[tuple[int, int]]:
    L = len(w.literal)
    if L == 0:
        return []
    n = int(cfg["seed_ngram"]) if L >= 8 else 2
    n = min(n, L)
    grams = index.grams(n)
    hits: list[tuple[int, int]] = []
    for o in range(L - n + 1):
        for p in grams.get(w.loose[o : o + n], ()):
            hits.append((p, o))
    if not hits:
        return []
    hits.sort()
    max_group = max((sum(s.max_len for s in g) for g in w.slot_groups.values()), default=0)
    gap_allow = int(cfg["max_inner_gap"]) + max_group + n
    need = min(max(int(cfg["min_seed_hits"]), int(cfg["min_seed_share"] * (L - n + 1))), L - n + 1)
    margin = int(cfg["window_margin"])
    total = len(index.norm.text)
    span_cap = int(1.5 * (L + _slot_allowance(w))) + 2 * margin
    # slot values said between the start (end) of the wording and a hit shift where it starts (ends)
    mid = {pos: sum(x.max_len for x in g) for pos, g in w.slot_groups.items() if 0 < pos < L}
    before = [sum(v for pos, v in mid.items() if pos <= o) for o in range(L)]
    after = [sum(v for pos, v in mid.items() if pos > o) for o in range(L)]
    windows: list[tuple[int, int]] = []
    group: list[tuple[int, int]] = []

    def flush() -> None:
        if not group:
            return
        if len({o for _, o in group}) >= need:
            lo = max(0, min(p - o - before[o] for p, o in group) - margin)
            hi = min(total, max(p + (L - o) + after[o] for p, o in group) + margin)
            if hi - lo <= span_cap:
                windows.append((lo, hi))
            else:  # a long run of hits (repeated or overlapping phrases): overlapping windows
                step = max(1, span_cap // 2)
                for s in range(lo, hi, step):
                    windows.append((s, min(hi, s + span_cap)))
                    if s + span_cap >= hi:
                        break

    for hit in hits:
        if group and hit[0] - group[-1][0] > gap_allow:
            flush()
            group = []
        group.append(hit)
    flush()
    return windows


def _anchor_windows(index: TextIndex, w: _Wording, cfg: dict[str, float]) -> list[tuple[int, int]]:
    """Windows around an essential key term heard in an "A…B" form (执法权过程进步开始): there the
    words between the parts are garbled, often too many for enough n-gram seeds of the wording, yet
    the anchor says where the phrase would be. The window reaches as far before and after the anchor
    as the wording (with its slots) extends from the anchor's first part."""
    L = len(w.literal)
    margin = int(cfg["window_margin"])
    total = len(index.norm.loose)
    slack = _slot_allowance(w)
    gap = int(cfg["term_gap_max_chars"])
    windows: list[tuple[int, int]] = []
    for t in w.terms:
        if not t.term.essential:
            continue
        for parts in t.forms_apart:
            at = w.loose.find(parts[0])
            before, after = (at, L - at) if at >= 0 else (L, L)
            for m in _apart_pattern(parts, gap).finditer(index.norm.loose):
                lo = max(0, m.start() - before - slack - margin)
                hi = min(total, m.start() + after + slack + margin)
                windows.append((lo, max(hi, m.end())))
    return windows


def _term_windows(
    index: TextIndex, w: _Wording, cfg: dict[str, float], seeded: Sequence[tuple[int, int]]
) -> list[tuple[int, int]]:
    """Windows around an essential key term heard whole (exactly or by its toneless pinyin) where no
    n-gram window already covers it: a short phrase with one garbled politeness word (仅宁收好 for the
    polite opening word) or a wording said in other words around its key terms (……终止录制，现在恢复纪录)
    has too few seeds, yet its key term says where it would be. The window reaches as far before and
    after the term as the wording (with its slots) extends from it."""
    if not w.required_slots:  # without slots a key term alone is only a mention
        return []
    L = len(w.literal)
    margin, slack = int(cfg["window_margin"]), _slot_allowance(w)
    text = index.norm.loose
    total = len(text)
    windows: list[tuple[int, int]] = []
    for t in w.terms:
        if not t.term.essential:
            continue
        for code in t.forms_loose:
            if not code:
                continue
            at = w.loose.find(code)
            before, after = (at, L - at) if at >= 0 else (L, L)
            p = text.find(code)
            while p >= 0:
                if not any(lo <= p and p + len(code) <= hi for lo, hi in seeded):
                    lo = max(0, p - before - slack - margin)
                    hi = min(total, p + after + slack + margin)
                    windows.append((lo, hi))
                p = text.find(code, p + 1)
        if cfg["neighbour_term_credit"] > 0:
            for form in t.forms_two:
                at = w.loose.find(loose_codes(form))
                before, after = (at, L - at) if at >= 0 else (L, L)
                near = _neighbour_positions(form, index.norm, 0, total)
                if at >= 0:  # a slip counts only inside the wording (_slipped_in_place)
                    near += _neighbour_positions(form, index.norm, 0, total, syllable_slip)
                for p in near:
                    if not any(lo <= p and p + 2 <= hi for lo, hi in seeded):
                        windows.append(
                            (max(0, p - before - slack - margin), min(total, p + after + slack + margin))
                        )
    return windows


def _led_slot_forms(t: _Term, w: _Wording) -> list[tuple[str, str, int, list[Slot]]]:
    """(form, loose code, position in the wording, the required slots right after it) of an essential
    key term's forms of three or more syllables that a required slot follows in the wording
    (请出示{licence}): what the term asks for is said next, so the term and that value say together
    which phrase it is."""
    if not t.term.essential:
        return []
    out = []
    for form, code in zip(t.forms_text, t.forms_loose, strict=True):
        k = w.literal.find(form)
        slots = [s for s in w.slot_groups.get(k + len(form), ()) if s.required] if k >= 0 else []
        if len(form) >= 3 and slots:
            out.append((form, code, k, slots))
    return out


def _leads_unlike(t: _Term, w: _Wording, implausible: Sequence[str]) -> bool:
    """The key term leads a required slot in the wording (请出示{licence}), which was said, but not like
    such a value."""
    return any(s.name in implausible for *_, slots in _led_slot_forms(t, w) for s in slots)


def _slot_led_windows(
    index: TextIndex, w: _Wording, cfg: dict[str, float], seeded: Sequence[tuple[int, int]]
) -> list[tuple[int, int]]:
    """Windows around an essential key term heard with one syllable wrong right where the wording
    has it before a slot (请同时开户时可证 for a request for 开户许可证, its 您好 garbled
    too): the wording is short, so too few of its syllables are left to seed a window. The window
    reaches as far before and after the term as the wording (with its slots) extends from it;
    _substituted_before_slot decides whether it was the phrase."""
    if cfg["neighbour_term_credit"] <= 0:
        return []
    L, margin, slack = len(w.literal), int(cfg["window_margin"]), _slot_allowance(w)
    text = index.norm.loose
    windows: list[tuple[int, int]] = []
    for t in w.terms:
        for _, code, at, _ in _led_slot_forms(t, w):
            n = len(code)
            for p in range(len(text) - n + 1):
                if sum(a != b for a, b in zip(code, text[p : p + n], strict=True)) != 1:
                    continue
                if not any(lo <= p and p + n <= hi for lo, hi in seeded):
                    windows.append((max(0, p - at - margin), min(len(text), p + (L - at) + slack + margin)))
    return windows


def _neighbour_positions(
    form: tuple[str, str],
    norm: NormText,
    lo: int,
    hi: int,
    near: Callable[[str, str], bool] = syllable_neighbours,
) -> list[int]:
    """Where in norm[lo:hi] a two-syllable key term was heard with one syllable `near` its own and
    the other syllable right: by default one initial confused (仙字 for 签字; see
    normalize.syllable_neighbours); with `near=syllable_slip` one final slipped (生好 for 收好:
    candidates only, see _slipped_in_place)."""
    a, b = form
    code_a, code_b = loose_codes((a,)), loose_codes((b,))
    text, pinyin = norm.loose, norm.pinyin
    out = []
    for i in range(lo, min(hi, len(text), len(pinyin)) - 1):
        if (text[i] == code_a and near(pinyin[i + 1], b)) or (text[i + 1] == code_b and near(pinyin[i], a)):
            out.append(i)
    return out


def _slipped_in_place(t: _Term, w: _Wording, al: _Alignment, norm: NormText) -> bool:
    """A two-character essential key term heard with one syllable's final slipped (生好 for 收好:
    sheng for shou) where every other syllable of the wording was heard in its place: the one
    substitution of the alignment is that syllable. A final confused anywhere else would make 你好 a
    neighbour of 拿好; inside a wording heard whole around it (请您生好文书) it is the phrase."""
    L = len(w.literal)
    if len(al.subs) != 1 or len(al.pairs) != L - 1 or al.extras:
        return False
    ((i, j),) = al.subs
    for f in t.forms_text:
        k = w.literal.find(f) if len(f) == 2 else -1
        if k >= 0 and i in (k, k + 1) and j < len(norm.pinyin):
            said = pinyin_of(w.literal[i])
            if len(said) == 1 and syllable_slip(norm.pinyin[j], said[0]):
                return True
    return False


def _substituted_in_place(t: _Term, w: _Wording, al: _Alignment, norm: NormText) -> bool:
    """An essential key term of three or more characters heard with one syllable wrong (顶出是 for
    请出示: its politeness word garbled) where every other syllable of the wording was heard in its
    place: the one substitution of the alignment lies inside the term. Two of its syllables alone
    could be another sentence's; with the wording whole around them it is the phrase.

    The garbled syllable may also have been read into the slot said right after it (请出身台务会计资料
    for 请出示财务会计资料: 身 opens the licence slot's value); that counts as the same substitution."""
    L = len(w.literal)
    if len(al.pairs) != L - 1 or al.extras:
        return False
    if len(al.subs) == 1:
        ((i, _),) = al.subs
    elif not al.subs:
        unpaired = set(range(L)) - {p[0] for p in al.pairs}
        (i,) = unpaired
        if not _read_into_slot(w, al, norm, i):
            return False
    else:
        return False
    for f in t.forms_text:
        k = w.literal.find(f) if len(f) >= 3 else -1
        if k >= 0 and k <= i < k + len(f):
            return True
    return False


def _substituted_before_slot(t: _Term, w: _Wording, al: _Alignment, norm: NormText) -> range | None:
    """An essential key term of three or more syllables heard with one of them wrong, its other
    syllables in place, and right after it the required slot the wording puts there, said like such a
    value (请同时开户时可证: 同 for 出, 开户时可证 a licence; 请出现财务快些资料, where the wrong 现 was
    read into the value). Whatever became of the words before it (您好 garbled too), the term and its
    object together are the request. The term's rows in the wording, else None."""
    at = dict(al.pairs)
    wrong = dict(al.subs)
    paired = set(at.values())
    for form, _, k, slots in _led_slot_forms(t, w):
        n = len(form)
        heard = [i for i in range(k, k + n) if i in at]
        if len(heard) != n - 1:
            continue
        (miss,) = (i for i in range(k, k + n) if i not in at)
        base = at[heard[0]] - (heard[0] - k)  # where the term starts, its heard syllables in place
        if any(at[i] != base + (i - k) for i in heard):
            continue
        j = base + (miss - k)  # where the wrong syllable was said
        if not 0 <= j < len(norm.text) or j in paired or wrong.get(miss, j) != j:
            continue
        for slot in slots:
            value = al.slot_values.get(slot.name, "").strip()
            if miss == k + n - 1 and value[:1] == norm.text[j] and norm.text.startswith(value, j):
                value = value[1:]  # the wrong syllable taken for the value's first character
            if value and _plausible(slot, value) and norm.text.startswith(value, base + n):
                return range(k, k + n)
    return None


def _led_by(t: _Term, w: _Wording, al: _Alignment, norm: NormText, led: dict[str, range]) -> bool:
    """_substituted_before_slot, its rows noted in `led`."""
    rows = _substituted_before_slot(t, w, al, norm)
    if rows is not None:
        led[t.term.term] = rows
    return rows is not None


def _read_into_slot(w: _Wording, al: _Alignment, norm: NormText, i: int) -> bool:
    """The wording's syllable `i`, unheard, sits right before a slot, its neighbour before it was
    heard, and the text right after that neighbour opens the slot's value: the syllable was heard as
    something else and taken for the value's first character."""
    group = w.slot_groups.get(i + 1)
    before = [j for a, j in al.pairs if a == i - 1]
    if not group or not before:
        return False
    nxt = before[0] + 1
    for slot in group:
        value = al.slot_values.get(slot.name, "").strip()
        if len(value) >= 2 and norm.text.startswith(value, nxt):
            return True
    return False


def _slot_windows(index: TextIndex, w: _Wording, cfg: dict[str, float]) -> list[tuple[int, int]]:
    """Windows starting at a date or clock time said where the wording opens with a time slot
    (2026年12月3日上午11时15分…): in noise Whisper keeps the digits while it garbles the words, so the
    time says where an opening would be even when too few of its words are heard to seed a window."""
    if cfg["partial_min_form_slots"] <= 0:
        return []
    lead = [s for s in w.slot_groups.get(0, ()) if s.kind == "time" and s.pattern]
    if not lead:
        return []
    L, margin, slack = len(w.literal), int(cfg["window_margin"]), _slot_allowance(w)
    total = len(index.norm.text)
    windows: list[tuple[int, int]] = []
    for slot in lead:
        for m in _rx(slot.pattern).finditer(index.norm.text):
            if _CLOCK_OR_DATE.search(m.group(0)):
                windows.append((max(0, m.start() - margin), min(total, m.start() + L + slack + margin)))
    return windows


_CLOCK_OR_DATE = re.compile(r"\d{1,2}[时点:]|\d{1,2}月\d{1,2}[日号]|\d{4}年\d{1,2}月")


# -- alignment of one window ----------------------------------------------------------------------


@dataclass
class _Alignment:
    pairs: list[tuple[int, int]]  # (literal index, absolute normalized index)
    lo: int  # normalized span [lo, hi) including slot values
    hi: int
    slot_values: dict[str, str]
    extras: int
    subs: list[tuple[int, int]] = field(default_factory=list)  # (literal index, absolute index) mismatches
    inserts: dict[int, list[int]] = field(default_factory=dict)  # literal position -> inserted indices


def _align(
    index: TextIndex,
    w: _Wording,
    lo: int,
    hi: int,
    cfg: dict[str, float],
    fence: tuple[int, int] | None = None,
) -> _Alignment | None:
    """Semi-global alignment of the wording's literal to norm[lo:hi] on loose-pinyin codes.

    Edit-distance DP, one numpy row per literal character (insertions along a row via a running
    minimum): free start and end in the window; inserting transcript characters costs 1, except at
    slot positions where it is (almost) free - the inserted run is the slot's value. Leading and
    trailing slots are read outwards from the window, but not past `fence` (the text a neighbouring
    match already holds)."""
    L = len(w.literal)
    width = hi - lo
    if L == 0 or width <= 0:
        return None
    codes = index.loose_ord[lo:hi]
    chars = index.text_ord[lo:hi]
    t_codes, t_chars = w.loose_ord, w.literal_ord
    ins_cost = np.full(L + 1, 1.0)
    for pos in w.slot_groups:
        ins_cost[pos] = SLOT_CHAR_COST
    ins_cost[0] = 0.0  # free start
    ramp = {c: c * np.arange(width + 1, dtype=np.float64) for c in set(ins_cost[1:].tolist())}
    # substitution costs for every (literal char, window char) at once
    same_sound = t_codes[:, None] == codes[None, :]
    sub = np.where(same_sound, np.where(t_chars[:, None] == chars[None, :], 0.0, HOMOPHONE_COST), 1.0)
    for pos in w.slot_groups:
        if 0 < pos < L:  # a wrong character right after a slot value is more likely part of it (电量不足)
            sub[pos, ~same_sound[pos]] += 2 * SLOT_CHAR_COST
    D = np.empty((L + 1, width + 1))
    D[0] = 0.0
    e = np.empty(width + 1)
    for i in range(1, L + 1):
        prev = D[i - 1]
        e[0] = prev[0] + 1.0
        np.minimum(prev[:-1] + sub[i - 1], prev[1:] + 1.0, out=e[1:])
        c = ins_cost[i]
        if c == 0.0:
            np.minimum.accumulate(e, out=D[i])
        else:
            r = ramp[c]
            np.minimum.accumulate(e - r, out=D[i])
            D[i] += r
    end = int(np.argmin(D[L]))
    if D[L][end] >= L:  # nothing of the literal found in the window
        return None
    cell, sub_at = D.item, sub.item  # single-cell reads without numpy scalar objects
    # traceback
    i, j = L, end
    pairs: list[tuple[int, int]] = []
    inserts: dict[int, list[int]] = defaultdict(list)  # row (literal position) -> absolute indices inserted
    while i > 0:
        here = cell(i, j)
        if abs(here - (cell(i - 1, j) + 1.0)) < 1e-9:  # deletions first: "missing 申辩权", not "权申辩"
            i -= 1
        elif j > 0 and abs(here - (cell(i - 1, j - 1) + sub_at(i - 1, j - 1))) < 1e-9:
            if sub_at(i - 1, j - 1) < 1.0:
                pairs.append((i - 1, lo + j - 1))
            else:
                pairs.append((i - 1, -(lo + j - 1) - 1))  # substitution: encoded negative
            i, j = i - 1, j - 1
        else:
            inserts[i].append(lo + j - 1)
            j -= 1
    pairs.reverse()
    pairs = _restart_in_slot(w, index.norm, pairs, inserts)
    matched = [(a, b) for a, b in pairs if b >= 0]
    if not matched:
        return None
    subs = [(a, -b - 1) for a, b in pairs if b < 0]
    norm = index.norm
    floor, ceil = fence if fence is not None else (0, len(norm.text))
    span_lo = min(b for _, b in matched + subs)
    span_hi = max(b for _, b in matched + subs) + 1
    slot_values: dict[str, str] = {}
    extras = 0
    for row, idxs in inserts.items():
        if row in w.slot_groups:
            idxs.sort()
            slot_values.update(_split_slots(w.slot_groups[row], norm.text[idxs[0] : idxs[-1] + 1]))
            span_lo, span_hi = min(span_lo, idxs[0]), max(span_hi, idxs[-1] + 1)
        else:
            extras += len(idxs)
    # leading and trailing slots: read outwards from the aligned span, stopping at sentence breaks
    first_i, last_i = pairs[0][0], pairs[-1][0]
    lead = w.slot_groups.get(0) if first_i <= 2 else None
    if lead:
        allow = sum(s.max_len for s in lead) + first_i
        a = max(floor, span_lo - allow)
        k = bisect.bisect_right(index.breaks, span_lo)
        if k and index.breaks[k - 1] > a:
            a = index.breaks[k - 1]
        values, used_from = _split_leading(lead, norm.text[a:span_lo])
        slot_values.update(values)
        if values:
            span_lo = a + used_from
    else:
        # a slot after a first word that was not heard (因 heard as 您 in 因{reason}，音像记录中止), the
        # words after it heard from at most two on: read outwards like a leading slot, within the
        # sentence; words there that its pattern does not recognise are its value all the same, to be
        # reported as implausible (not as unsaid)
        inner = [p for p in w.slot_groups if 0 < p <= 2 and p <= first_i <= p + 2 and p < L]
        group = w.slot_groups[max(inner)] if inner else ()
        if len(group) == 1 and group[0].pattern and group[0].name not in slot_values:
            a = max(floor, span_lo - group[0].max_len - first_i)
            k = bisect.bisect_right(index.breaks, span_lo)
            if k and index.breaks[k - 1] > a:
                a = index.breaks[k - 1]
            chunk = norm.text[a:span_lo]
            found = _slot_match(group[0], chunk, anchored=False)
            if found is not None:
                slot_values[group[0].name] = chunk[found.start() :]
                span_lo = a + found.start()
            elif len(chunk) >= 2:
                slot_values[group[0].name] = chunk[-group[0].max_len :]
                span_lo = span_lo - len(slot_values[group[0].name])
    trail = w.slot_groups.get(L) if last_i >= L - 3 else None
    if trail:
        b = min(ceil, span_hi + sum(s.max_len for s in trail))
        k = bisect.bisect_right(index.clause_breaks, span_hi)
        if k < len(index.clause_breaks) and index.clause_breaks[k] < b:
            b = index.clause_breaks[k]
        values, used_to = _split_trailing(trail, norm.text[span_hi:b])
        slot_values.update(values)
        span_hi += used_to
    return _Alignment(matched, span_lo, span_hi, slot_values, extras, subs, dict(inserts))


def _restart_in_slot(
    w: _Wording, norm: NormText, pairs: list[tuple[int, int]], inserts: dict[int, list[int]]
) -> list[tuple[int, int]]:
    """A wording that opens with a few words and then a slot (您的{violation}违反了…): when those words
    are said again inside what the alignment read as the slot's value, the phrase starts at the last
    of them. Slot characters are nearly free, so an earlier sentence's 您的 (保护您的合法权益) would
    otherwise open the fine statement, and its start would fall before the phrases said between."""
    row = min(w.slot_groups, default=0)
    if not 0 < row <= 4 or not inserts.get(row) or len(pairs) <= row:
        return pairs
    head = pairs[:row]
    if [a for a, _ in head] != list(range(row)) or any(b < 0 for _, b in head):
        return pairs  # the opening words not all heard, in order
    run = sorted(inserts[row])
    if run[-1] - run[0] + 1 != len(run):
        return pairs
    # by sound or by characters (的确 reads di: 您的确协提供 still holds 您的); one character of value left
    a, b = run[0], run[-1]
    q = max(norm.loose.rfind(w.loose[:row], a, b), norm.text.rfind(w.literal[:row], a, b))
    if q >= 0:
        inserts[row] = list(range(q + row, run[-1] + 1))
        return [(i, q + i) for i in range(row)] + pairs[row:]
    # those words not said again (您都 for 您的), but the value runs over the end of a sentence: the
    # phrase starts after the last one, its opening words unheard
    ends = [k for k in norm.breaks if a < k <= b]
    if not ends:
        return pairs
    inserts[row] = list(range(max(ends), run[-1] + 1))
    return pairs[row:]


def _slot_match(slot: Slot, text: str, anchored: bool) -> re.Match | None:
    if not slot.pattern:
        return None
    rx = _rx(slot.pattern)
    candidates = [rx.match(text)] if anchored else []
    candidates += list(rx.finditer(text))
    for m in candidates:
        if m and _value(m):
            return m
    return None


@lru_cache(maxsize=256)
def _rx(pattern: str) -> re.Pattern:
    return re.compile(pattern)


def _value(m: re.Match) -> str:
    if "value" in m.re.groupindex and m.group("value") is not None:
        return m.group("value")
    return m.group(0)


def _split_slots(slots: Sequence[Slot], chunk: str) -> dict[str, str]:
    """Divide the text between two literals among the slots said there, in order."""
    if len(slots) == 1:
        return {slots[0].name: chunk} if chunk else {}
    out: dict[str, str] = {}
    pos = 0
    for k, slot in enumerate(slots):
        rest = chunk[pos:]
        if not rest:
            break
        if k == len(slots) - 1:
            out[slot.name] = rest
            break
        m = _slot_match(slot, rest, anchored=True)
        if m is None and slot.loose_pattern:
            m = _rx(slot.loose_pattern).match(rest)
            m = m if m and _value(m) else None
        if m is None:
            continue
        out[slot.name] = _value(m)
        pos += m.end()
    return out


def _split_leading(slots: Sequence[Slot], chunk: str) -> tuple[dict[str, str], int]:
    """Slots before the first literal (e.g. time+place+cause of the opening): the first slot's pattern
    marks where the phrase starts; returns values and the offset in chunk where they begin."""
    if not chunk:
        return {}, 0
    first = _slot_match(slots[0], chunk, anchored=False)
    begin = first.start() if first is not None else 0
    if first is None and len(slots) > 1:
        # no recognisable first slot: keep at most the last slots' allowance
        begin = max(0, len(chunk) - sum(s.max_len for s in slots[1:]))
    values = _split_slots(slots, chunk[begin:])
    if first is None and slots[0].name in values:
        values.pop(slots[0].name)
    return values, begin


def _split_trailing(slots: Sequence[Slot], chunk: str) -> tuple[dict[str, str], int]:
    """Slots after the last literal (e.g. the licence of 请出示XX): take what their patterns accept; a
    last slot the pattern does not accept (ASR: 营业执照 -> 营业执政) gets the rest of the sentence, which
    is then reported as implausible rather than missing."""
    out: dict[str, str] = {}
    pos = 0
    for k, slot in enumerate(slots):
        rest = chunk[pos:]
        m = _rx(slot.pattern).match(rest) if slot.pattern else None
        if m is None or not _value(m):
            if k == len(slots) - 1 and len(rest) >= 2:
                value = rest[: slot.max_len]
                out[slot.name] = value
                pos += len(value)
            break
        out[slot.name] = _value(m)
        pos += m.end()
    return out, pos


# -- scoring ----------------------------------------------------------------------------------------


def _one_off(form: str, region: str) -> bool:
    """`form` heard in `region` with exactly one syllable substituted (rapidfuzz partial_ratio is an
    exact alignment for needles under 64)."""
    cutoff = 100.0 * (len(form) - 1) / len(form) - 0.1
    return fuzz.partial_ratio(form, region, score_cutoff=cutoff) >= cutoff


def _heard_nearly(
    t: _Term, region_loose: str, region_coarse: Callable[[], str], coarse_one_off_min: int = 0
) -> bool:
    """A key term of 3+ characters heard with its initials blurred, or of 4+ characters with one
    syllable wrong; one of `coarse_one_off_min`+ characters (0: none) also with its initials blurred
    and one syllable wrong (继续持法全国成绩率 for 继续执法全过程记录: 持/执 blurred, 率 for 录), which
    a term that long is not by chance."""
    if t.forms_coarse and any(f in region_coarse() for f in t.forms_coarse):
        return True
    if any(len(f) >= 4 and _one_off(f, region_loose) for f in t.forms_loose):
        return True
    if coarse_one_off_min > 0:
        long = [f for f in t.forms_coarse if len(f) >= max(4, coarse_one_off_min)]
        return bool(long) and any(_one_substituted(f, region_coarse()) for f in long)
    return False


def _one_substituted(form: str, region: str) -> bool:
    """`form` in `region` with at most one syllable substituted in place (no shift: an insertion and a
    deletion would let 止后执法全过程记录 pass for 开始执法全过程记录)."""
    n = len(form)
    return any(
        sum(a != b for a, b in zip(form, region[i : i + n], strict=True)) <= 1
        for i in range(len(region) - n + 1)
    )


@lru_cache(maxsize=256)
def _apart_pattern(parts: tuple[str, ...], max_gap: int) -> re.Pattern:
    """Parts in order, at most max_gap characters between them; a part of 4+ syllables may have one
    syllable heard wrong (the same allowance as _heard_nearly), shorter parts must sound right."""

    def part(codes: str) -> str:
        exact = re.escape(codes)
        if len(codes) < 4:
            return exact
        blurred = [re.escape(codes[:i]) + "." + re.escape(codes[i + 1 :]) for i in range(len(codes))]
        return "(?:" + "|".join([exact, *blurred]) + ")"

    return re.compile(f".{{0,{max_gap}}}".join(part(c) for c in parts), re.DOTALL)


def _heard_apart(t: _Term, region_loose: str, max_gap: int) -> bool:
    """An "A…B" form: its parts heard in order with a few other syllables between (执法全过程……开始
    with the words between garbled), which a whole-form comparison would reject."""
    return any(_apart_pattern(parts, max_gap).search(region_loose) for parts in t.forms_apart)


def _other_phrase_heard(phrase: Phrase, region_text: str, region_loose: str) -> bool:
    """A `not_if_heard` word in the region, by its characters or its toneless pinyin (终止 for 中止),
    the same way its key terms are heard."""
    return any(word_heard(word, region_text, region_loose) for word in phrase.not_if_heard)


def _plausible(slot: Slot, value: str) -> bool:
    if not slot.pattern:
        return bool(value)
    return (
        _rx(slot.pattern).fullmatch(value) is not None
        or (
            slot.kind not in ("text", "names")
            and _slot_match(slot, value, anchored=False) is not None
            and len(value) <= slot.max_len
        )
        or (len(value) <= slot.max_len and any(word_heard(w, value) for w in slot.sound_words))
    )


def _said_in_structure(
    w: _Wording,
    slots: dict[str, Slot],
    filled: dict[str, str],
    implausible: list[str],
    must_heard: bool,
    cfg: dict[str, float],
) -> bool:
    """An attempt at the phrase although its essential key term was not heard: at least
    `partial_min_form_slots` required slots of a checkable form (a time, a place, an amount; free text
    does not count) said like such values, and either every other required slot said too, or its
    `must` key term heard (time, place and 执法全过程那个记录 without 开始 is an opening said badly)."""
    need = int(cfg["partial_min_form_slots"])
    if need <= 0 or not w.required_slots:
        return False
    said = [n for n in w.required_slots if n in filled and n not in implausible]
    if sum(slots[n].kind not in ("text", "names") for n in said) < need:
        return False
    return len(said) == len(w.required_slots) or must_heard


def _heard_nearly_whole(w: _Wording, pinyin_sim: float, found: Sequence[str], cfg: dict[str, float]) -> bool:
    """A long wording heard by sound nearly whole, in order, with its other key terms (if it has any)
    partly heard: an attempt at the phrase even though Whisper garbled its essential key word
    (我已经向您先读了文书内容，请您先课 for …宣读了文书内容，请您签字). Sixteen syllables in order do
    not come together by chance; a short wording might, so it needs `partial_wording_min_chars`."""
    need = int(cfg["partial_wording_min_chars"])
    if need <= 0 or len(w.literal) < need or pinyin_sim < cfg["partial_wording_share"]:
        return False
    others = [t for t in w.terms if not t.term.essential]
    return not others or any(t.term.term in found for t in others)


def _heard_onward(w: _Wording, al: _Alignment, found: Sequence[str]) -> bool:
    """A syllable of the wording heard after the last of its key terms heard: the sentence went on
    towards the words it is for (我已经向您宣读了文书内容 alone reads a document out; 文书内容请于先次
    goes on to ask for the signature)."""
    ends = [
        w.literal.find(f) + len(f)
        for t in w.terms
        if t.term.term in found
        for f in t.forms_text
        if f and f in w.literal
    ]
    return bool(ends) and any(i >= max(ends) for i, _ in al.pairs)


def _longest_run(al: _Alignment) -> int:
    """The most consecutive syllables of the wording heard in place, one after another."""
    best = run = 0
    prev: tuple[int, int] | None = None
    for i, j in al.pairs:
        run = run + 1 if prev is not None and (i, j) == (prev[0] + 1, prev[1] + 1) else 1
        best, prev = max(best, run), (i, j)
    return best


def _evaluate(
    phrase: Phrase,
    w: _Wording,
    index: TextIndex,
    al: _Alignment,
    cfg: dict[str, float],
    *,
    found_by: str = "seeds",
) -> PhraseMatch | None:
    """Score one alignment. `found_by` says how its window was found: "seeds" (n-gram seeds of the
    wording, or an anchor); "term" (a key term alone: only the key terms with every required slot said
    make it an attempt); "slot_led" (a key term with one syllable wrong before its slot: only that
    reading, _substituted_before_slot with the phrase's other evidence, makes it a near miss, never an
    attempt; None where it is not that)."""
    term_only = found_by == "term"
    norm = index.norm
    L = len(w.literal)
    pen = cfg["extra_char_penalty"]
    matched = len(al.pairs)
    same = sum(1.0 if norm.text[j] == w.literal[i] else cfg["homophone_char_credit"] for i, j in al.pairs)
    denom = L + pen * al.extras
    pinyin_sim = matched / denom if denom else 0.0
    char_sim = same / denom if denom else 0.0
    # key terms: searched in the matched span (a little wider), exact first, then by sound
    lo, hi = max(0, al.lo - 2), min(len(norm.text), al.hi + 2)
    region_text, region_loose = norm.text[lo:hi], norm.loose[lo:hi]
    found, missing, homophone, neighbour = [], [], [], []
    off: list[str] = []  # terms heard nearly with a whole syllable wrong
    led: dict[str, range] = {}  # terms heard with one syllable wrong before their slot's value: their rows
    got = total = 0.0
    essential_total = essential_found = essential_whole = others_whole = 0
    region_coarse = lru_cache(maxsize=1)(lambda: coarse_codes(norm.pinyin[lo:hi]))

    def apart_region(t: _Term) -> str:
        # an "A…B" form's last part may lie past the aligned span by the gap it allows (执法全过程那个记录)
        reach = int(cfg["term_gap_max_chars"]) + max(len(parts[-1]) for parts in t.forms_apart)
        return norm.loose[lo : min(len(norm.loose), hi + reach)]

    for t in w.terms:
        total += t.term.weight
        credit, whole = 0.0, True  # whole: heard exactly or by its toneless pinyin, not just nearly
        if any(f in region_text for f in t.forms_text):
            credit = 1.0
        elif any(f and f in region_loose for f in t.forms_loose):
            credit = cfg["homophone_term_credit"]
            homophone.append(t.term.term)
        elif _heard_nearly(t, region_loose, region_coarse, int(cfg["near_term_coarse_min_chars"])) or (
            t.forms_apart and _heard_apart(t, apart_region(t), int(cfg["term_gap_max_chars"]))
        ):
            # one syllable off (录音录像 -> 度音录相), initials blurred (签个字 -> 签各次), or the parts of
            # an "A…B" form apart (执法权过程进步开始)
            credit, whole = cfg["near_term_credit"], False
            homophone.append(t.term.term)
            if not (t.forms_coarse and any(f in region_coarse() for f in t.forms_coarse)):
                off.append(t.term.term)  # a whole syllable wrong, not just initials blurred
        elif cfg["neighbour_term_credit"] > 0 and (
            (
                t.forms_two
                and (
                    any(_neighbour_positions(f, norm, lo, hi) for f in t.forms_two)
                    or _slipped_in_place(t, w, al, norm)
                )
            )
            or (t.term.essential and _substituted_in_place(t, w, al, norm))
            or (t.term.essential and _led_by(t, w, al, norm, led))
        ):
            # 仙字 for 签字, 顶出是 for 请出示: counted only with the phrase's other evidence (below), and
            # never as present
            credit, whole = cfg["neighbour_term_credit"], False
            neighbour.append(t.term.term)
            homophone.append(t.term.term)
        else:
            whole = False
        if t.term.essential:
            essential_total += 1
            essential_found += credit > 0
            essential_whole += whole
        elif whole:
            others_whole += 1
        got += t.term.weight * credit
        (found if credit > 0 else missing).append(t.term.term)
    term_cov = got / total if total else 0.0
    slots_all = {s.name: s for g in w.slot_groups.values() for s in g}
    filled: dict[str, str] = {}
    implausible: list[str] = []
    slot_points = 0.0
    for name, value in al.slot_values.items():
        value = value.strip()
        if not value or name not in slots_all:
            continue
        filled[name] = value
        if _plausible(slots_all[name], value):
            slot_points += 1.0 if slots_all[name].required else 0.0
        else:
            implausible.append(name)
            slot_points += cfg["implausible_slot_credit"] if slots_all[name].required else 0.0
    missing_slots = tuple(n for n in w.required_slots if n not in filled)
    slot_cov = slot_points / len(w.required_slots) if w.required_slots else 0.0
    essential_off = [t for t in w.terms if t.term.essential and t.term.term in off]
    unlike = [t for t in essential_off if _leads_unlike(t, w, implausible)]
    if unlike and essential_found == len(essential_off):
        # its essential key terms heard only with a whole syllable wrong, and the value the wording names
        # after its key term not like such a value (您好，请出去一下: 出去一下 one syllable from 出示一下,
        # 去一下 no licence): another sentence, no key term of this one heard
        for t in unlike:
            got -= t.term.weight * cfg["near_term_credit"]
            essential_found -= 1
            found.remove(t.term.term)
            homophone.remove(t.term.term)
            missing.append(t.term.term)
        term_cov = got / total if total else 0.0
    if neighbour:
        # a key term heard as a near neighbour counts only when the rest of the phrase is there: every
        # required slot said like such a value, and another of its key terms heard (when it has one);
        # one heard right before its slot's value needs only the other essential terms (a politeness
        # word garbled beside it does not sink it)
        others = [t for t in w.terms if t.term.term not in neighbour and (t.term.essential or not led)]
        slots_ok = all(n in filled and n not in implausible for n in w.required_slots)
        evidence = (
            slots_ok
            and (w.required_slots or others)
            and (not others or any(t.term.term in found for t in others))
        )
        if not evidence:
            for t in w.terms:
                if t.term.term in neighbour:
                    got -= t.term.weight * cfg["neighbour_term_credit"]
                    essential_found -= t.term.essential
                    found.remove(t.term.term)
                    homophone.remove(t.term.term)
                    missing.append(t.term.term)
            neighbour = []
            term_cov = got / total if total else 0.0
    parts = [(cfg["weight_pinyin"], pinyin_sim), (cfg["weight_char"], char_sim)]
    if w.terms:
        parts.append((cfg["weight_terms"], term_cov))
    if w.required_slots:
        parts.append((cfg["weight_slots"], slot_cov))
    weight_sum = sum(p[0] for p in parts)
    score = 100.0 * sum(a * b for a, b in parts) / weight_sum if weight_sum else 0.0
    must_missing = any(t.term.must and t.term.term in missing for t in w.terms)
    if essential_total and not essential_found:
        score = min(score, cfg["partial_score"] - 0.1)
        must_heard = any(t.term.must for t in w.terms) and not must_missing
        other_phrase = _other_phrase_heard(phrase, region_text, region_loose)
        if not other_phrase and _said_in_structure(w, slots_all, filled, implausible, must_heard, cfg):
            score = cfg["partial_score"]  # time, place (and cause) said in order: an attempt, words unclear
        elif not other_phrase and not term_only and _heard_nearly_whole(w, pinyin_sim, found, cfg):
            score = cfg[
                "partial_score"
            ]  # the sentence heard but its key word garbled (请您先课 for 请您签字)
        elif (
            not other_phrase
            and not term_only
            and 0 < _setting(cfg, phrase, "partial_min_other_terms") <= others_whole
            and pinyin_sim >= _setting(cfg, phrase, "partial_other_terms_share")
            and (not _setting(cfg, phrase, "partial_other_terms_onward") or _heard_onward(w, al, found))
        ):
            # its essential word garbled (罚款 heard as 法团), but several of its other key terms heard
            # whole in the span aligned to it (违反了 … 依据 … 的规定): the sentence was said; a phrase
            # with a key term no other sentence says (文书内容) may need fewer, with more of its
            # syllables heard around it
            score = cfg["partial_score"]
    elif not term_only and len(found) >= cfg["partial_min_terms"] and term_cov >= cfg["partial_term_share"]:
        # several of its key terms heard together: an attempt at this phrase, however loosely worded
        score = max(score, cfg["partial_score"])
    said_by_terms = bool(
        essential_total
        and essential_whole == essential_total
        and w.required_slots
        and all(n in filled and n not in implausible for n in w.required_slots)
        and not _other_phrase_heard(phrase, region_text, region_loose)
    )
    said_by_run = bool(
        essential_total
        and essential_whole == essential_total
        and not w.required_slots
        and 0 < cfg["partial_min_run_chars"] <= _longest_run(al)
        and not _other_phrase_heard(phrase, region_text, region_loose)
    )
    if said_by_terms or said_by_run:
        # every essential key term heard whole and every required slot said like such a value (or, in
        # a wording without slots, a run of its syllables heard in place: 在签名处签名): the phrase was
        # said, whatever became of its other words (one garbled politeness word, 认真阅读 → 认知)
        score = max(score, cfg["partial_score"])
    elif term_only:  # the key term alone, without the slots that make it this phrase (收好了吗)
        score = min(score, cfg["partial_score"] - 0.1)
    if essential_total and not essential_found:
        pass
    elif must_missing or (w.required_slots and slot_cov < cfg["present_min_slot_coverage"]):
        score = min(score, cfg["present_score"] - 0.1)
    if neighbour:  # said, but its key word misheard: flagged for the trainer, never present
        score = max(cfg["partial_score"], min(score, cfg["present_score"] - 0.1))
    led_kept = {t: rows for t, rows in led.items() if t in neighbour}
    if found_by == "slot_led" and not led_kept:
        return None
    if led_kept and not any(all(i not in rows for rows in led_kept.values()) for i, _ in al.pairs):
        # two syllables of a three-syllable term and a value after it, nothing else of the wording, are
        # too little to say the phrase was said (我出示过营业执照了 is a party's reply): a near miss, which
        # the rules hold for listening instead of calling the phrase missing
        score = min(score, cfg["partial_score"] - 0.1)
    score = round(max(0.0, min(100.0, score)), 1)
    status: Status = (
        "present"
        if score >= cfg["present_score"]
        else "partial"
        if score >= cfg["partial_score"]
        else "absent"
    )
    start_s, end_s = norm.time_span(al.lo, al.hi)
    return PhraseMatch(
        phrase_id=phrase.id,
        status=status,
        score=score,
        start_s=start_s,
        end_s=end_s,
        text=norm.source_span(al.lo, al.hi),
        standard=w.display,
        terms_found=tuple(found),
        missing_terms=tuple(missing),
        slots=filled,
        missing_slots=missing_slots,
        char_score=round(100 * char_sim, 1),
        pinyin_score=round(100 * pinyin_sim, 1),
        term_score=round(100 * term_cov, 1),
        slot_score=round(100 * slot_cov, 1),
        homophone_terms=tuple(homophone),
        implausible_slots=tuple(implausible),
        standard_index=w.index,
        span=(al.lo, al.hi),
    )


def _diff(w: _Wording, norm: NormText, al: _Alignment) -> list[DiffOp]:
    """Character-level diff of what was said against the wording: equal / missing / wrong / extra.
    Slots appear as one op each, labelled 【标题】 (equal when plausibly filled)."""
    ops: list[DiffOp] = []

    def add(op: str, std: str, said: str) -> None:
        if not std and not said:
            return
        if ops and ops[-1].op == op and "【" not in ops[-1].standard and "【" not in std:
            last = ops.pop()
            ops.append(DiffOp(op, last.standard + std, last.said + said))  # type: ignore[arg-type]
        else:
            ops.append(DiffOp(op, std, said))  # type: ignore[arg-type]

    def slot_ops(slots: Sequence[Slot]) -> None:
        for s in slots:
            value = al.slot_values.get(s.name, "")
            label = f"【{s.title or s.name}】"
            if not value:
                if s.required:
                    add("missing", label, "")
            elif _plausible(s, value):
                add("equal", label, value)
            else:
                add("wrong", label, value)

    said_at: dict[int, tuple[str, int]] = {i: ("match", j) for i, j in al.pairs}
    said_at.update({i: ("sub", j) for i, j in al.subs})
    lit, text = w.literal, norm.text
    for r in range(len(lit) + 1):
        if r in w.slot_groups:
            slot_ops(w.slot_groups[r])
        elif r in al.inserts and r > 0:
            add("extra", "", "".join(text[j] for j in sorted(al.inserts[r])))
        if r == len(lit):
            break
        kind, j = said_at.get(r, ("missing", -1))
        if kind == "missing":
            add("missing", lit[r], "")
        else:
            add("equal" if text[j] == lit[r] else "wrong", lit[r], text[j])
    return ops


# -- public API ---------------------------------------------------------------------------------------


def absent_match(phrase: Phrase) -> PhraseMatch:
    return PhraseMatch(
        phrase_id=phrase.id,
        status="absent",
        score=0.0,
        start_s=None,
        end_s=None,
        text="",
        standard=phrase.display(0),
        missing_terms=tuple(t.term for t in phrase.key_terms),
        missing_slots=tuple(s.name for s in phrase.slots if s.required),
    )


def _attempts(
    index: TextIndex, phrase: Phrase, cfg: dict[str, float]
) -> list[tuple[PhraseMatch, _Wording, _Alignment]]:
    """Every alignment of the phrase's wordings worth scoring in an indexed text, best first."""
    results: list[tuple[PhraseMatch, _Wording, _Alignment]] = []
    whole = (0, len(index.norm.text))
    for w in _compile(phrase):
        windows = _candidate_windows(index, w, cfg)
        seeded = set(windows)
        for win in _anchor_windows(index, w, cfg) + _slot_windows(index, w, cfg):
            if win not in seeded:
                seeded.add(win)
                windows.append(win)
        work = [(lo, hi, whole, "seeds") for lo, hi in windows]
        # windows found by a key term alone: a mere mention of the term must not count as an attempt
        work += [(lo, hi, whole, "term") for lo, hi in _term_windows(index, w, cfg, windows)]
        # and by a key term heard with one syllable wrong before a slot: only that reading counts there
        work += [(lo, hi, whole, "slot_led") for lo, hi in _slot_led_windows(index, w, cfg, windows)]
        while work:
            lo, hi, fence, found_by = work.pop()
            # cheap upper bound first (bit-parallel LCS in C): skip windows that cannot reach partial
            if LCSseq.similarity(w.loose, index.norm.loose[lo:hi]) < cfg["min_lcs_share"] * len(w.literal):
                continue
            al = _align(index, w, lo, hi, cfg, fence)
            if al is None:
                continue
            m = _evaluate(phrase, w, index, al, cfg, found_by=found_by)
            if m is not None:
                results.append((m, w, al))
            # the rest of the window may hold another occurrence - or, when the closest-sounding
            # span failed (a later phrase that shares its words), the real attempt; either way it
            # must not read slot values back into the span just aligned
            for a, b, rest_fence in ((lo, al.lo, (fence[0], al.lo)), (al.hi, hi, (al.hi, fence[1]))):
                if b - a >= max(2, len(w.literal) // 2):
                    work.append((a, b, rest_fence, found_by))
    results.sort(key=lambda r: (-r[0].score, r[0].span[0] if r[0].span else 0))
    return results


def match_phrase(index: TextIndex, phrase: Phrase, settings: dict[str, float] | None = None) -> PhraseMatch:
    """Best occurrence of one phrase in an indexed text, with every other occurrence attached."""
    results = _attempts(index, phrase, _settings(settings))
    if not results:
        return absent_match(phrase)
    best = results[0][0]
    if best.status == "absent":  # keep the closest score (training uses it), drop the spurious span
        return replace(
            absent_match(phrase),
            score=best.score,
            char_score=best.char_score,
            pinyin_score=best.pinyin_score,
            term_score=best.term_score,
        )
    # non-overlapping occurrences (present or partial), best first; diffs only for those
    chosen: list[PhraseMatch] = []
    for m, w, al in results:
        if m.status == "absent" or m.span is None:
            continue
        if all(m.span[1] <= c.span[0] or m.span[0] >= c.span[1] for c in chosen if c.span):
            chosen.append(replace(m, diff=tuple(_diff(w, index.norm, al))))
    return _with_occurrences(chosen[0], tuple(chosen))


def closest_attempt(
    index: TextIndex, phrase: Phrase, settings: dict[str, float] | None = None
) -> PhraseMatch | None:
    """The best-scoring alignment of a phrase, whatever its status, with its span, slots and key
    terms (match_phrase drops them from an absent result): what a near miss was heard as."""
    results = _attempts(index, phrase, _settings(settings))
    return results[0][0] if results else None


def _with_occurrences(best: PhraseMatch, chosen: tuple[PhraseMatch, ...]) -> PhraseMatch:
    times = tuple(
        sorted((m.start_s, m.end_s) for m in chosen if m.start_s is not None and m.end_s is not None)
    )
    return replace(best, occurrences=times, occurrence_matches=chosen)


def guide_match_settings(guide: Guide) -> dict[str, float]:
    return _settings(guide.settings)


def match_normalized(norm: NormText | TextIndex, guide: Guide) -> list[PhraseMatch]:
    """Every phrase of the guide against an already normalized text, in guide order."""
    index = norm if isinstance(norm, TextIndex) else TextIndex(norm)
    cfg = guide_match_settings(guide)
    return [match_phrase(index, p, cfg) for p in guide.phrases]


def normalize_for(transcript: Transcript, guide: Guide) -> NormText:
    cfg = guide_match_settings(guide)
    return normalize_transcript(
        transcript, strip=guide.strip_fillers or ("嗯", "啊", "呃"), break_gap_s=cfg["break_gap_s"]
    )


def match_transcript(transcript: Transcript, guide: Guide) -> list[PhraseMatch]:
    """One PhraseMatch per phrase of the guide, in guide order (absent ones included)."""
    return match_normalized(normalize_for(transcript, guide), guide)


def match_text(
    text: str,
    phrase: Phrase,
    times: Sequence[tuple[float, float]] | None = None,
    *,
    settings: dict[str, float] | None = None,
    strip: Sequence[str] = ("嗯", "啊", "呃"),
) -> PhraseMatch:
    """One phrase on plain text; `times[k]` is the (start, end) of text[k] when known."""
    norm = normalize_text(text, times, strip=strip)
    return match_phrase(TextIndex(norm), phrase, settings)


def mark_diff(diff: Sequence[DiffOp]) -> str:
    """The standard wording with mistakes marked for people: [缺:x] missing, [错:x→y] wrong, [多:x] extra."""
    out = []
    for d in diff:
        if d.op == "equal":
            out.append(d.said if d.standard.startswith("【") else d.standard)
        elif d.op == "missing":
            out.append(f"[缺:{d.standard}]")
        elif d.op == "wrong":
            out.append(f"[错:{d.standard}→{d.said}]")
        else:
            out.append(f"[多:{d.said}]")
    return "".join(out)
