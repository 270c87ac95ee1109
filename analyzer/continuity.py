"""Continuity: gaps, dropouts, splices and container holes within a file; gaps and
overlaps between the files of a case; and whether each resumption states its reason.

OWNER: continuity helper. Interface below is shared; add fields, don't rename.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

GapKind = Literal["silence", "dropout", "splice", "timestamp", "file_gap", "clock_overlap"]


@dataclass(frozen=True)
class GapEvent:
    kind: GapKind
    start_s: float  # case timeline (file offset applied); equals file time for a single file
    end_s: float
    confidence: float = 1.0  # 0-1
    file: str = ""  # the file it was found in (the later file for file_gap)
    file_start_s: float = 0.0  # time inside that file, for jumping the player there
    detail: str = ""  # Chinese, one line

    @property
    def duration_s(self) -> float:
        return max(0.0, self.end_s - self.start_s)

    @property
    def is_interruption(self) -> bool:
        """Events after which the officer must state a reason (第十条)."""
        return self.kind in ("file_gap", "splice", "timestamp", "dropout")


@dataclass(frozen=True)
class CaseFile:
    path: str
    offset_s: float  # where this file starts on the case timeline
    duration_s: float
    start_time: str | None  # ISO 8601 wall-clock start, when known
    start_source: str  # "creation_time" | "filename" | "manifest" | "order"


@dataclass(frozen=True)
class Resumption:
    after: GapEvent
    reason_given: bool
    reason_text: str = ""
    start_s: float | None = None  # when the reason was stated
    window_s: float = 0.0


@dataclass(frozen=True)
class ContinuityReport:
    files: tuple[CaseFile, ...]
    events: tuple[GapEvent, ...]
    resumptions: tuple[Resumption, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
