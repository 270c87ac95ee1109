"""Match: find each standard phrase of a guide in an imperfect ASR transcript.

OWNER: matcher helper. Interface below is shared; add fields, don't rename.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Status = Literal["present", "partial", "absent"]


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
