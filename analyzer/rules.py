"""Rules: turn phrase matches and continuity events into findings and a score,
driven by the guide's requirements (never by Python constants).

OWNER: analyze/report helper. Interface below is shared; add fields, don't rename.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["critical", "major", "minor", "info"]


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


@dataclass(frozen=True)
class Evaluation:
    profile: str
    profile_inferred: bool
    score: float
    phrase_scores: tuple[PhraseScore, ...]
    findings: tuple[Finding, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)
