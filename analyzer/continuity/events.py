"""What continuity reports: gap events, the files of a case on one timeline, resumptions, and the
settings every detector reads.

Thresholds come from the guide's `settings`; DEFAULT_SETTINGS holds the value used when the guide
does not set a key, so a guide may override any subset.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from analyzer.guide import Guide


GapKind = Literal["silence", "dropout", "splice", "timestamp", "file_gap", "clock_overlap"]

ANALYSIS_SR = 16_000

# Used when the guide's [settings] does not set a key. Seconds unless the name says otherwise.
DEFAULT_SETTINGS: dict[str, Any] = {
    "silence_gap_s": 30.0,  # speechless stretch reported as "silence" when longer than this
    "vad_threshold": 0.5,  # Silero speech probability
    "vad_min_silence_s": 0.1,  # VAD resolution for the speech mask (gaps are merged later)
    "vad_speech_pad_s": 0.03,
    "dropout_min_s": 0.5,  # digital-silence / stuck / saturated runs shorter than this are ignored
    "dropout_flat_eps": 1e-4,  # peak-to-peak amplitude (full scale 1.0) of a "flat" run (~3 LSB at 16 bit)
    "dropout_clip_level": 0.999,  # |sample| at or above this counts as clipped
    "dropout_edge_ignore_s": 2.0,  # digital silence touching the file start/end shorter than this is start-up
    "splice_window_s": 3.0,  # one cut gives one event: hits closer than this are merged
    "floor_window_s": 2.5,  # noise floor (a low percentile of every band) compared on each side of a frame
    "floor_percentile": 20.0,  # speech only adds energy: the quietest fifth of frames is the background
    "floor_min_background": 0.03,  # fraction of speech-free (VAD) frames each window needs to be judged
    "splice_min_level_z": 5.5,  # noise-floor level step, in the file's own robust sigmas
    "splice_min_level_db": 5.0,  # ... and at least this many dB (inverse-variance mean over bands)
    "splice_min_shape_z": 7.0,  # noise-floor spectrum change (level taken out), robust sigmas, top 3 bands
    "splice_min_shape_db": 6.0,  # ... and at least this many dB in those bands (RMS)
    "splice_min_jump_z": 10.0,  # sample step in a quiet stretch, in local first-difference sigmas
    "jump_context_s": 0.01,  # the stretch each side of a step whose first differences set its sigma
    "jump_min_level": 0.002,  # steps smaller than this (full scale 1.0, ~-54 dBFS) are not judged
    "jump_onset_margin_s": 0.3,  # a step this close before the VAD's speech start is the onset itself
    "jump_max_above_floor_db": 15.0,  # 20 ms either side of a step this far above the local floor: sound
    "jump_max_below_floor_db": 15.0,  # ... this far under it: a hush in the background, not a join (0 = off)
    "splice_min_tone_score": 8.0,  # phase jump of a steady background tone, in its own noise sigmas
    "pause_step_window_s": 0.2,  # a cut inside a pause: background level this long before vs after
    "pause_step_pad_s": 0.1,  # ... with both stretches this far clear of speech (VAD)
    "splice_min_pause_z": 8.0,  # that step, in sigmas of the same step at the file's other pause points
    "splice_min_pause_db": 4.0,  # ... and at least this many dB
    "pause_step_max_shape": 2.0,  # equal in every band (a gain step): RMS band deviation, in band sigmas
    "pause_step_min_flatness": 4.0,  # abrupt: the step is this many times the trend within either side
    "pause_step_min_points": 50,  # pause points a file needs before its own spread can be trusted
    "splice_min_confidence": 0.5,  # suspected splices below this confidence are not reported
    "tone_window_s": 1.0,  # coherent window for the tone phase on each side
    "tone_min_prominence_db": 8.0,  # a steady tone stands this far above the neighbouring spectrum
    "tone_min_hz": 40.0,
    "tone_max_hz": 1000.0,
    "tone_max_count": 3.0,
    "timestamp_gap_s": 0.1,  # packet-timestamp hole beyond one packet duration
    "file_gap_tolerance_s": 2.0,  # back-to-back files closer than this are one continuous recording
    "clock_tolerance_s": 5.0,  # a later file may start this much before the earlier one ends (clock skew)
    "resume_window_s": 30.0,  # seconds of resumed audio searched for the stated reason
    "resume_min_interruption_s": 2.0,  # shorter dropouts/holes are glitches: reported, no reason expected
    "interruption_reason_phrase": "interruption_reason",  # guide phrase id of the reason statement
    "resume_unclear_min_score": 30.0,  # statement not heard, but scored this and a reason introduced: unclear
    "resume_near_reason_min_score": 20.0,  # ... scored this and a reason word heard one initial off: unclear
}

KIND_TITLES: dict[str, str] = {
    "silence": "长时间无语音",
    "dropout": "数字静音/信号中断",
    "splice": "疑似剪接",
    "timestamp": "时间戳断档",
    "file_gap": "文件间中断",
    "clock_overlap": "时钟异常（重叠/倒退）",
}


@dataclass(frozen=True)
class GapEvent:
    kind: GapKind
    start_s: float  # case timeline (file offset applied); equals file time for a single file
    end_s: float
    confidence: float = 1.0  # 0-1
    file: str = ""  # the file it was found in (the later file for file_gap)
    file_start_s: float = 0.0  # time inside that file, for jumping the player there
    detail: str = ""  # Chinese, one line
    file_end_s: float | None = None  # end inside that file (None when the event spans files)
    prev_file: str = ""  # file_gap / clock_overlap: the earlier file

    @property
    def duration_s(self) -> float:
        return max(0.0, self.end_s - self.start_s)

    @property
    def is_interruption(self) -> bool:
        """Events after which the officer must state a reason (第十条)."""
        return self.kind in ("file_gap", "splice", "timestamp", "dropout")

    @property
    def title(self) -> str:
        return KIND_TITLES.get(self.kind, self.kind)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "title": self.title,
            "start_s": round(self.start_s, 3),
            "end_s": round(self.end_s, 3),
            "duration_s": round(self.duration_s, 3),
            "confidence": round(self.confidence, 3),
            "file": self.file,
            "file_start_s": round(self.file_start_s, 3),
            "file_end_s": None if self.file_end_s is None else round(self.file_end_s, 3),
            "prev_file": self.prev_file,
            "is_interruption": self.is_interruption,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class CaseFile:
    path: str
    offset_s: float  # where this file starts on the case timeline
    duration_s: float
    start_time: str | None  # ISO 8601 wall-clock start, when known
    start_source: str  # "creation_time" | "filename" | "manifest" | "order"

    @property
    def end_s(self) -> float:
        return self.offset_s + self.duration_s

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "offset_s": round(self.offset_s, 3),
            "duration_s": round(self.duration_s, 3),
            "start_time": self.start_time,
            "start_source": self.start_source,
        }


@dataclass(frozen=True)
class Resumption:
    after: GapEvent
    reason_given: bool
    reason_text: str = ""
    start_s: float | None = None  # when the reason was stated
    window_s: float = 0.0
    checked: bool = True  # False when no transcript of the resumed audio was available
    score: float = 0.0  # match score of the reason statement (0-100)
    terms_found: tuple[str, ...] = ()  # reason key terms heard (设备故障, 电量不足, ...)
    said_by_other: str = ""  # a reason heard only from someone other than the officers (not counted)
    # the statement heard, but what stands where its reason belongs not readable as one (刚才英尼社被控制
    # 中断了记录): (case start, case end) of the statement, for a reviewer to listen to; else None
    unclear: tuple[float, float] | None = None
    # (case start, case end) of speech in the resume window that no decode could read (the coverage
    # pass's `untranscribed`): the reason may be there, so a reviewer listens
    untranscribed: tuple[tuple[float, float], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "after": self.after.to_dict(),
            "reason_given": self.reason_given,
            "reason_text": self.reason_text,
            "start_s": None if self.start_s is None else round(self.start_s, 3),
            "window_s": self.window_s,
            "checked": self.checked,
            "score": round(self.score, 1),
            "terms_found": list(self.terms_found),
            "said_by_other": self.said_by_other,
            "unclear": None if self.unclear is None else [round(x, 3) for x in self.unclear],
            "untranscribed": [[round(a, 3), round(b, 3)] for a, b in self.untranscribed],
        }


@dataclass(frozen=True)
class ContinuityReport:
    files: tuple[CaseFile, ...]
    events: tuple[GapEvent, ...]
    resumptions: tuple[Resumption, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def interruptions(self) -> tuple[GapEvent, ...]:
        return tuple(e for e in self.events if e.is_interruption)

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": [f.to_dict() for f in self.files],
            "events": [e.to_dict() for e in self.events],
            "resumptions": [r.to_dict() for r in self.resumptions],
            "notes": list(self.notes),
        }


class ContinuityError(Exception):
    """Bad case input (unreadable manifest, unknown file). str(err) names the file and the cause."""


# --------------------------------------------------------------------------------------------
# Settings


def resolve_settings(settings: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Defaults overlaid with the guide's settings (or any mapping), so callers may pass partial dicts."""
    merged = dict(DEFAULT_SETTINGS)
    if settings:
        merged.update({k: v for k, v in settings.items() if v is not None})
    return merged


def _guide_settings(guide: Guide | None) -> dict[str, Any]:
    return resolve_settings(getattr(guide, "settings", None) or {})
