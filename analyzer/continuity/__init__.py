"""Continuity: gaps, dropouts, splices and container holes within a file, and gaps and overlaps
between the files of a case, from audio, container timestamps and VAD only.

Regulation 第十条: recording must not be stopped or paused for non-technical reasons. This package
finds the interruptions (signal, container and file-time evidence); whether the officer stated the
reason on resuming is analyzer.resumption's question, since it needs the phrase matcher.
Thresholds come from the guide's `settings` (defaults in DEFAULT_SETTINGS).

One module per job: `events` (what is reported, settings), `gaps` (dropouts, silences, timestamp
holes), `cues` and `splices` (splice forensics: floor, spectrum, pauses, hum phase, waveform steps),
`case` (ordering a case's files, gaps between them) and `analysis` (analyze_continuity, what the
pipeline calls, and find_gaps for one file). The names below are re-exported for callers.
"""

from analyzer.continuity.analysis import analyze_continuity, find_gaps
from analyzer.continuity.case import (
    FILENAME_TIME_PATTERNS,
    MEDIA_EXTENSIONS,
    case_gaps,
    collect_media,
    order_case,
    read_manifest,
    time_from_filename,
)
from analyzer.continuity.cues import (
    floor_steps,
    pause_steps,
    sample_jumps,
    splice_scores,
    stationary_tones,
    tone_phase_scores,
)
from analyzer.continuity.events import (
    ANALYSIS_SR,
    DEFAULT_SETTINGS,
    KIND_TITLES,
    CaseFile,
    ContinuityError,
    ContinuityReport,
    GapEvent,
    GapKind,
    Resumption,
    resolve_settings,
)
from analyzer.continuity.gaps import (
    find_dropouts,
    find_silences,
    find_timestamp_gaps,
    packet_times,
    speech_intervals,
)
from analyzer.continuity.splices import find_splices

__all__ = [
    "ANALYSIS_SR",
    "CaseFile",
    "ContinuityError",
    "ContinuityReport",
    "DEFAULT_SETTINGS",
    "FILENAME_TIME_PATTERNS",
    "GapEvent",
    "GapKind",
    "KIND_TITLES",
    "MEDIA_EXTENSIONS",
    "Resumption",
    "analyze_continuity",
    "case_gaps",
    "collect_media",
    "find_dropouts",
    "find_gaps",
    "find_silences",
    "find_splices",
    "find_timestamp_gaps",
    "floor_steps",
    "order_case",
    "packet_times",
    "pause_steps",
    "read_manifest",
    "resolve_settings",
    "sample_jumps",
    "speech_intervals",
    "splice_scores",
    "stationary_tones",
    "time_from_filename",
    "tone_phase_scores",
]
