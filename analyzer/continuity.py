"""Continuity: gaps, dropouts, splices and container holes within a file; gaps and
overlaps between the files of a case; and whether each resumption states its reason.

OWNER: continuity helper. Interface below is shared; add fields, don't rename.

Regulation 第十条: recording must not be stopped or paused for non-technical reasons, and
after any interruption the officer states the reason when recording resumes. This module
finds the interruptions (signal, container and file-time evidence) and checks the first
seconds of resumed speech for the guide's `interruption_reason` phrase. Thresholds come
from the guide's `settings` (defaults in DEFAULT_SETTINGS); phrase wording only from the guide.

Public API: analyze_continuity (what the pipeline calls), find_gaps (one file), order_case +
case_gaps (files of a case), check_resumption, and the single detectors find_dropouts,
find_silences, find_splices (with its cues splice_scores / floor_steps, stationary_tones,
sample_jumps), find_timestamp_gaps, time_from_filename, read_manifest.
"""

from __future__ import annotations

import csv
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:
    from analyzer.guide import Guide
    from analyzer.media import Probe
    from analyzer.transcribe import Transcript

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
}

# Body-camera file-name timestamps: YYYYMMDD_HHMMSS, YYYYMMDDHHMMSS, YYYY-MM-DD_HH-MM-SS, with any
# device id / sequence number around them (e.g. DSJ0012_20240105_093000_0001.MP4). The first match
# in the name is the start time. Override with settings["filename_regex"] or order_case(filename_regex=).
FILENAME_TIME_PATTERNS: tuple[str, ...] = (
    r"(?<!\d)(?P<y>(?:19|20)\d{2})(?P<mo>\d{2})(?P<d>\d{2})[_\-T ]?"
    r"(?P<h>\d{2})(?P<mi>\d{2})(?P<s>\d{2})(?!\d)",
    r"(?<!\d)(?P<y>(?:19|20)\d{2})[-.](?P<mo>\d{2})[-.](?P<d>\d{2})[ _T\-]"
    r"(?P<h>\d{2})[-.:](?P<mi>\d{2})[-.:](?P<s>\d{2})(?!\d)",
)

MEDIA_EXTENSIONS = frozenset(
    ".mp4 .mov .m4v .avi .mkv .ts .mts .3gp .flv .wmv .wav .mp3 .m4a .aac .amr .flac .ogg .opus .wma".split()
)

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


# --------------------------------------------------------------------------------------------
# Within one file


def find_gaps(
    audio: np.ndarray | None,
    sr: int,
    probe: Probe | None = None,
    transcript: Transcript | None = None,
    settings: Mapping[str, Any] | None = None,
    *,
    path: str | None = None,
    speech_probs: np.ndarray | None = None,
) -> list[GapEvent]:
    """All continuity events inside one recording, in file time, sorted by start.

    audio: decoded mono float samples (16 kHz preferred); when None, long silences are taken from the
    transcript's segment gaps instead of the VAD. probe (or path) enables the container timestamp check.
    speech_probs: Silero frame probabilities of the 16 kHz audio, shared with transcription.
    """
    cfg = resolve_settings(settings)
    file = path or (probe.path if probe is not None else "")
    events: list[GapEvent] = []
    if audio is not None and len(audio):
        x = _as_analysis_audio(audio, sr)
        dropouts = find_dropouts(x, ANALYSIS_SR, cfg)
        speech = speech_intervals(x, ANALYSIS_SR, cfg, speech_probs if sr == ANALYSIS_SR else None)
        events += dropouts
        events += find_silences(speech, len(x) / ANALYSIS_SR, cfg, dropouts=dropouts)
        events += find_splices(x, ANALYSIS_SR, cfg, speech=speech, dropouts=dropouts)
    elif transcript is not None:
        speech = [(s.start, s.end) for s in transcript.segments]
        duration = transcript.duration_s or (speech[-1][1] if speech else 0.0)
        events += find_silences(speech, duration, cfg, dropouts=[])
    if file and os.path.exists(file):
        holes = find_timestamp_gaps(file, cfg)
        # A decoder fills a timestamp hole with silence: that dropout is the same event.
        events = [e for e in events if e.kind != "dropout" or not _mostly_inside(e, holes)]
        events += holes
    events = [replace(e, file=file, file_start_s=e.start_s, file_end_s=e.end_s) for e in events]
    return sorted(events, key=lambda e: (e.start_s, e.end_s))


def _mostly_inside(event: GapEvent, others: Sequence[GapEvent]) -> bool:
    overlap = sum(max(0.0, min(event.end_s, o.end_s) - max(event.start_s, o.start_s)) for o in others)
    return overlap >= 0.5 * max(event.duration_s, 1e-9) and bool(others)


def _as_analysis_audio(audio: np.ndarray, sr: int) -> np.ndarray:
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim > 1:
        x = x.mean(axis=1 if x.shape[0] > x.shape[1] else 0).astype(np.float32)
    if sr != ANALYSIS_SR:
        # Linear interpolation keeps exact zeros and flat runs flat, which the dropout check relies on.
        n = int(round(len(x) * ANALYSIS_SR / sr))
        x = np.interp(np.arange(n) * (sr / ANALYSIS_SR), np.arange(len(x)), x).astype(np.float32)
    return x


def _runs(mask: np.ndarray, min_len: int = 1) -> list[tuple[int, int]]:
    """[start, end) index pairs of the True runs of a boolean array, at least min_len long."""
    if not len(mask):
        return []
    m = np.concatenate(([False], mask.astype(bool), [False]))
    edges = np.flatnonzero(m[1:] != m[:-1])
    starts, ends = edges[0::2], edges[1::2]
    if min_len > 1:
        keep = ends - starts >= min_len
        starts, ends = starts[keep], ends[keep]
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def find_dropouts(x: np.ndarray, sr: int, settings: Mapping[str, Any] | None = None) -> list[GapEvent]:
    """Digital silence, stuck (constant) values and saturated stretches: no microphone or speech
    pause produces these, so they mark lost or replaced data. Sample-accurate."""
    cfg = resolve_settings(settings)
    eps = float(cfg["dropout_flat_eps"])
    min_len = int(float(cfg["dropout_min_s"]) * sr)
    edge_ignore = int(float(cfg["dropout_edge_ignore_s"]) * sr)
    events: list[GapEvent] = []
    if len(x) < 2:
        return events
    # Candidate flat runs: successive samples differ by at most eps; then require the whole run to
    # stay within eps peak to peak (a slow ramp would pass the first test only).
    still = np.empty(len(x) - 1, dtype=bool)
    step = 1 << 20  # in chunks: no full-length float array of differences on long recordings
    for s in range(0, len(still), step):
        e = min(len(still), s + step)
        np.less_equal(np.abs(np.diff(x[s : e + 1])), eps, out=still[s:e])
    for a, b in _runs(still, max(1, min_len - 1)):
        end = b + 1  # samples a..b are within eps of their neighbours
        for s, e in _flat_subruns(x, a, end, eps, min_len):
            if (s == 0 or e >= len(x)) and e - s < edge_ignore:
                continue  # start-up / shut-down silence of the recorder, not lost data
            level = float(np.mean(x[s:e]))
            if abs(level) <= eps:
                what = "数字静音（采样值恒为零）"
            elif abs(level) >= float(cfg["dropout_clip_level"]):
                what = f"信号卡在满幅（恒为 {level:+.3f}）"
            else:
                what = f"采样值恒定不变（{level:+.5f}）"
            events.append(
                GapEvent("dropout", s / sr, e / sr, 1.0, detail=f"{what}，持续 {(e - s) / sr:.2f} 秒")
            )
    # Saturation: nearly every sample at the rails (e.g. alternating ±full scale) for a long stretch.
    level = float(cfg["dropout_clip_level"])
    clip = (x >= level) | (x <= -level)  # no full-length float temporary
    if clip.any():
        win = max(1, sr // 50)
        n = len(x) // win
        frac = clip[: n * win].reshape(n, win).mean(axis=1)
        for a, b in _runs(frac >= 0.9):
            s, e = a * win, b * win
            if e - s >= min_len and not any(ev.start_s * sr <= s and e <= ev.end_s * sr for ev in events):
                events.append(
                    GapEvent(
                        "dropout", s / sr, e / sr, 0.9, detail=f"信号持续削顶饱和，持续 {(e - s) / sr:.2f} 秒"
                    )
                )
    return sorted(events, key=lambda e: e.start_s)


def _flat_subruns(x: np.ndarray, a: int, b: int, eps: float, min_len: int) -> list[tuple[int, int]]:
    seg = x[a:b]
    if float(seg.max() - seg.min()) <= eps:
        return [(a, b)]
    # Rare: a slow drift inside a still run. Split where the value leaves eps around the run start.
    out: list[tuple[int, int]] = []
    s = a
    while s < b:
        ref = x[s]
        away = np.flatnonzero(np.abs(x[s:b] - ref) > eps / 2)
        e = s + int(away[0]) if len(away) else b
        if e - s >= min_len:
            out.append((s, e))
        s = max(e, s + 1)
    return out


def speech_intervals(
    x: np.ndarray,
    sr: int,
    settings: Mapping[str, Any] | None = None,
    probs: np.ndarray | None = None,
) -> list[tuple[float, float]]:
    """Silero VAD speech stretches in seconds, tight padding. probs: the recording's frame
    probabilities (analyzer.vad.speech_probs) when the caller has them, so the network runs once."""
    from analyzer.vad import FRAME, SR, SpanOptions, speech_probs, speech_spans

    cfg = resolve_settings(settings)
    x = _as_analysis_audio(x, sr)  # Silero here runs at 16 kHz; times below are in seconds
    sr = SR
    if probs is None or len(probs) != -(-len(x) // FRAME):
        probs = speech_probs(x)
    opts = SpanOptions(
        threshold=float(cfg["vad_threshold"]),
        min_silence_ms=int(float(cfg["vad_min_silence_s"]) * 1000),
        pad_ms=int(float(cfg["vad_speech_pad_s"]) * 1000),
        min_speech_ms=100,
    )
    return [(d["start"] / sr, min(d["end"], len(x)) / sr) for d in speech_spans(probs, len(x), opts)]


def find_silences(
    speech: Sequence[tuple[float, float]],
    duration_s: float,
    settings: Mapping[str, Any] | None = None,
    *,
    dropouts: Sequence[GapEvent] = (),
) -> list[GapEvent]:
    """Speechless stretches longer than silence_gap_s (leading and trailing ones included).
    Time already reported as dropout does not count, so a dropout is not reported twice."""
    cfg = resolve_settings(settings)
    limit = float(cfg["silence_gap_s"])
    bounds = [(0.0, 0.0), *sorted(speech), (duration_s, duration_s)]
    events: list[GapEvent] = []
    for (_, prev_end), (next_start, _) in zip(bounds, bounds[1:], strict=False):
        if next_start - prev_end <= limit:
            continue
        covered = sum(max(0.0, min(d.end_s, next_start) - max(d.start_s, prev_end)) for d in dropouts)
        if next_start - prev_end - covered <= limit:
            continue
        at_start, at_end = prev_end <= 0, next_start >= duration_s
        where = (
            "录音全程"
            if at_start and at_end
            else "录音开头"
            if at_start
            else "录音结尾"
            if at_end
            else "录音中"
        )
        events.append(
            GapEvent(
                "silence",
                prev_end,
                next_start,
                1.0,
                detail=f"{where}连续 {next_start - prev_end:.1f} 秒未检测到语音",
            )
        )
    return events


# Splices ---------------------------------------------------------------------------------------

_FRAME = 512
_HOP = 320  # 20 ms at 16 kHz
_N_BANDS = 12
_CODEC_EDGE_S = 0.5  # a file's first and last half second: codec priming / end padding, never a join


def _band_energies_db(x: np.ndarray, sr: int) -> np.ndarray:
    """Log energies (dB) of log-spaced bands 80 Hz - Nyquist, one row per 20 ms frame."""
    n_frames = 1 + (len(x) - _FRAME) // _HOP if len(x) >= _FRAME else 0
    edges = np.geomspace(80.0, sr / 2, _N_BANDS + 1)
    freqs = np.fft.rfftfreq(_FRAME, 1.0 / sr)
    band_of = np.clip(np.searchsorted(edges, freqs, side="right") - 1, -1, _N_BANDS)
    valid = (band_of >= 0) & (band_of < _N_BANDS)
    weights = np.zeros((len(freqs), _N_BANDS), dtype=np.float32)
    weights[np.flatnonzero(valid), band_of[valid]] = 1.0
    window = np.hanning(_FRAME).astype(np.float32)
    out = np.empty((n_frames, _N_BANDS), dtype=np.float32)
    chunk = 4096
    for i in range(0, n_frames, chunk):
        idx = np.arange(i, min(n_frames, i + chunk))
        frames = np.lib.stride_tricks.sliding_window_view(x, _FRAME)[idx * _HOP] * window
        power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
        out[idx] = 10.0 * np.log10(power @ weights + 1e-12)
    return out


def _frame_mask(intervals: Iterable[tuple[float, float]], n_frames: int, sr: int, pad_s: float) -> np.ndarray:
    """True for frames overlapping any interval (padded)."""
    mask = np.zeros(n_frames, dtype=bool)
    for s, e in intervals:
        a = max(0, int(math.floor(((s - pad_s) * sr - _FRAME) / _HOP)) + 1)
        b = min(n_frames, int(math.ceil((e + pad_s) * sr / _HOP)))
        if b > a:
            mask[a:b] = True
    return mask


def floor_steps(
    e: np.ndarray, window: int, percentile: float, quiet: np.ndarray | None = None, min_quiet: float = 0.03
) -> tuple[np.ndarray, np.ndarray]:
    """D[k, band]: the band's noise floor (low percentile of its frame energies, dB) over the `window`
    frames from k on, minus that over the `window` frames before k. Speech only ever adds energy, so
    a low percentile follows the background even where only a fifth of the frames are speech-free.
    With `quiet` (per frame, speech-free by the VAD), windows with less than `min_quiet` of such
    frames are left unjudged: a window full of speech reads speech as "floor".
    Returns (D, valid) where valid marks frames with both windows judged."""
    from scipy.ndimage import percentile_filter

    n = len(e)
    k = np.arange(n)
    valid = (k >= window) & (k <= n - window)
    if not valid.any():
        return np.zeros_like(e), valid
    if quiet is not None:
        c = np.concatenate([[0], np.cumsum(quiet)])
        frac = np.minimum(c[k] - c[np.clip(k - window, 0, n)], c[np.clip(k + window, 0, n)] - c[k]) / window
        valid &= frac >= min_quiet
    # Band by band: SciPy's 1-D rank filter is ~30x faster than the same filter over a 2-D array.
    columns = [percentile_filter(e[:, j], percentile, size=window, mode="nearest") for j in range(e.shape[1])]
    floor = np.stack(columns, axis=1)
    half = window // 2  # a centred filter at c covers [c - half, c - half + window)
    d = floor[np.clip(k + half, 0, n - 1)] - floor[np.clip(k - window + half, 0, n - 1)]
    d[~valid] = 0.0
    return d, valid


def _within(mask: np.ndarray, reach: int) -> np.ndarray:
    """Frames within `reach` frames of a True frame of `mask`."""
    return np.convolve(mask.astype(float), np.ones(2 * reach + 1), mode="same") > 0


def _robust_sigma(a: np.ndarray, valid: np.ndarray) -> np.ndarray:
    v = a[valid]
    return 1.4826 * np.median(np.abs(v - np.median(v, axis=0)), axis=0) + 0.05


def _local_sigma(a: np.ndarray, valid: np.ndarray, window: int, reach: int, block: int = 50) -> np.ndarray:
    """Robust sigma (MAD) of the series `a` (frames x columns) for every frame, from the frames
    within `reach` before and after it but outside its own +-window (the step being judged), as
    the larger of the two sides: a quiet office before a cut does not set the bar for the street
    after it. Where a side is too short, no less than the whole file's spread."""
    glob = _robust_sigma(a, valid)
    n = len(a)
    dev = np.abs(a - np.median(a[valid], axis=0))
    dev[~valid] = np.nan
    nb = -(-n // block)
    pad = np.full((nb * block, a.shape[1]), np.nan)
    pad[:n] = dev
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        blocks = np.nanmedian(pad.reshape(nb, block, -1), axis=1)  # (nb, cols)
        span, gap = max(3, reach // block), -(-window // block)
        padded = np.concatenate([np.full((span + gap, a.shape[1]), np.nan), blocks,
                                 np.full((span + gap, a.shape[1]), np.nan)])  # fmt: skip
        view = np.lib.stride_tricks.sliding_window_view(padded, span, axis=0)  # (len, cols, span)
        left = np.nanmedian(view[:nb], axis=-1)  # blocks [j - span - gap, j - gap)
        right = np.nanmedian(view[span + 2 * gap + 1 : span + 2 * gap + 1 + nb], axis=-1)
        count_l = np.sum(~np.isnan(view[:nb, 0]), axis=-1)
        count_r = np.sum(~np.isnan(view[span + 2 * gap + 1 : span + 2 * gap + 1 + nb, 0]), axis=-1)
    left = np.where((count_l >= 3)[:, None], left, np.nan)
    right = np.where((count_r >= 3)[:, None], right, np.nan)
    both = np.fmax(left, right)
    # One side too short (near the file's ends, short files): no less than the whole file's spread.
    one_sided = np.isnan(left) | np.isnan(right)
    both = np.where(one_sided, np.fmax(both, (glob - 0.05) / 1.4826), both)
    local = 1.4826 * both + 0.05
    local = np.maximum(local, glob * 0.5)
    return np.repeat(local, block, axis=0)[:n]


def splice_scores(
    x: np.ndarray,
    sr: int,
    settings: Mapping[str, Any] | None = None,
    *,
    speech: Sequence[tuple[float, float]] | None = None,
    dropouts: Sequence[GapEvent] = (),
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-frame evidence that the background noise floor changes abruptly at the frame boundary.

    Two change-point statistics on the per-band noise-floor step D (floor_steps), each judged
    against the file's own variability (median absolute deviation over all frames, so a gusty or
    traffic-swept background sets its own bar): the level step (inverse-variance mean over bands)
    and the spectrum change (what is left per band after the level step, mean of the 3 most
    changed bands). Returns (times_s, score, step_db): score is the larger of level_z / its
    threshold and shape_z / its threshold (1.0 = at threshold, 0 where the step is below the
    dB minimum), step_db the step behind it. `speech`: VAD intervals (computed when None).
    """
    times, score, step_db, *_ = _floor_evidence(x, sr, settings, speech=speech, dropouts=dropouts)
    return times, score, step_db


def _floor_evidence(
    x: np.ndarray,
    sr: int,
    settings: Mapping[str, Any] | None,
    *,
    speech: Sequence[tuple[float, float]] | None,
    dropouts: Sequence[GapEvent],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """splice_scores plus what find_splices reuses: per-band steps D, band energies, quiet mask."""
    cfg = resolve_settings(settings)
    e = _band_energies_db(x, sr)
    n = len(e)
    times = (np.arange(n) * _HOP + _FRAME / 2) / sr
    window = max(4, int(round(float(cfg["floor_window_s"]) * sr / _HOP)))
    if speech is None:
        speech = speech_intervals(x, sr, cfg)
    quiet = ~_frame_mask(speech, n, sr, pad_s=0.03)
    d, valid = floor_steps(
        e, window, float(cfg["floor_percentile"]), quiet, float(cfg["floor_min_background"])
    )
    # Frames at the digital floor (dropouts, fades to zero) carry no background: no judgement near them.
    dead = e.max(axis=1) <= -100.0 if n else np.zeros(0, bool)
    for s, t in [(dd.start_s, dd.end_s) for dd in dropouts]:
        dead |= (times > s - 0.1) & (times < t + 0.1)
    if dead.any():
        valid &= ~_within(dead, window)
    if valid.sum() < 10:
        return times, np.zeros(n), np.zeros(n), d, e, quiet
    sigma = _robust_sigma(d, valid)
    weights = 1.0 / sigma**2
    level = (d * weights).sum(axis=1) / weights.sum()
    reach = int(20.0 * sr / _HOP)
    level_z = np.abs(level) / _local_sigma(level[:, None], valid, window, reach)[:, 0]
    rest = d - level[:, None]
    rest_z = np.abs(rest) / _local_sigma(rest, valid, window, reach)
    top = np.argsort(rest_z, axis=1)[:, -3:]
    shape_z = np.sqrt(np.mean(np.take_along_axis(rest_z, top, axis=1) ** 2, axis=1))
    shape_db = np.sqrt(np.mean(np.take_along_axis(rest, top, axis=1) ** 2, axis=1))
    level_score = np.where(
        np.abs(level) >= float(cfg["splice_min_level_db"]), level_z / float(cfg["splice_min_level_z"]), 0.0
    )
    shape_score = np.where(
        shape_db >= float(cfg["splice_min_shape_db"]), shape_z / float(cfg["splice_min_shape_z"]), 0.0
    )
    score = np.maximum(level_score, shape_score)
    step_db = np.where(level_score >= shape_score, np.abs(level), shape_db)
    score[~valid] = 0.0
    return times, score, step_db, d, e, quiet


def _quiet_frames_agree(e: np.ndarray, quiet: np.ndarray, d: np.ndarray, k: int, window: int) -> bool:
    """Do the speech-free (VAD) frames themselves show the floor step found at k, and does it last?
    A window whose low percentile is still speech (little silence in it) shows a "step" the pauses
    do not; a passing swell of traffic is gone a few seconds later. Needs 3 windows each side."""
    n = len(e)
    use = np.abs(d) >= 3.0
    if not use.any():
        return False
    # Not the half second around k itself: a speech onset the VAD heard late would pass as "quiet".
    quiet = quiet.copy()
    quiet[max(0, k - window // 5) : k + window // 5] = False
    for reach in (window, 2 * window, 4 * window):
        left = np.flatnonzero(quiet[max(0, k - reach) : k])
        right = np.flatnonzero(quiet[k : min(n, k + reach)])
        if len(left) >= 10 and len(right) >= 10:
            break
    else:
        return False
    m_left = np.median(e[max(0, k - reach) + left], axis=0)
    m_right = np.median(e[k + right], axis=0)
    seen = (m_right - m_left)[use]
    want = d[use]
    if float(np.dot(seen, want) / np.dot(want, want)) < 0.5:
        return False
    # A lasting change, not a swell: the floors 1-3 windows away differ the same way (traffic passing
    # by rises and falls within seconds; a different place or a machine switched off stays).
    far_l, far_r = e[max(0, k - 3 * window) : max(0, k - window)], e[k + window : k + 3 * window]
    if len(far_l) < window or len(far_r) < window:
        return False
    far = np.percentile(far_r, 20, axis=0) - np.percentile(far_l, 20, axis=0)
    return float(np.dot(far[use], want) / np.dot(want, want)) >= 0.5


def _floor_change_point(e: np.ndarray, k: int, window: int, percentile: float) -> int:
    """Frame of the noise-floor change near k. Per band, the floors on each side (low percentile)
    and a mid threshold between them; a frame below the threshold in a band whose floor rises
    is evidence it lies before the cut, below it in a band whose floor falls, after it (loud
    frames say nothing: speech). The split that best separates the two kinds (CUSUM) is the cut."""
    n = len(e)
    lo, hi = max(0, k - window), min(n, k + window)
    left = np.percentile(e[lo:k], percentile, axis=0) if k - lo > 4 else None
    right = np.percentile(e[k:hi], percentile, axis=0) if hi - k > 4 else None
    if left is None or right is None:
        return k
    step = right - left
    use = np.abs(step) >= 3.0
    if not use.any():
        return k
    mid = (left + right) / 2.0
    below = e[lo:hi][:, use] < mid[use]
    vote = np.where(step[use] > 0, -1.0, 1.0)  # -1: looks like before the cut, +1: after
    v = (below * vote).sum(axis=1)
    if not np.any(v):
        return k
    c = np.concatenate([[0.0], np.cumsum(v - v.mean())])
    return lo + int(np.argmin(c))


def pause_steps(e: np.ndarray, quiet: np.ndarray, settings: Mapping[str, Any] | None = None) -> np.ndarray:
    """Per frame: how far an abrupt background gain step at the frame's start stands out, in sigmas,
    where the frames on both sides are speech-free (0 elsewhere). A cut joins two moments whose
    backgrounds differ in level; in a pause the join shows as a step between the `pause_step_window_s`
    before and after it, equal in every band (a gain, not a voice) and abrupt: flat on both sides
    (traffic swelling or a gust ramps, so each side has a trend of its own). The file's own pause
    points set the bar, so a gusty background raises it.
    e: band energies (dB) per frame; quiet: frames clear of speech (and of dead audio)."""
    cfg = resolve_settings(settings)
    n = len(e)
    w = max(2, int(round(float(cfg["pause_step_window_s"]) * ANALYSIS_SR / _HOP)))
    h = w // 2
    z = np.zeros(n)
    k = np.arange(n)
    kk = np.clip(k, w, max(w, n - w))
    c = np.concatenate([[0], np.cumsum(quiet)])
    ok = (k >= w) & (k <= n - w) & (c[np.minimum(kk + w, n)] - c[kk - w] == 2 * w)
    if ok.sum() < int(cfg["pause_step_min_points"]):
        return z
    ce = np.concatenate([np.zeros((1, e.shape[1])), np.cumsum(e, axis=0, dtype=np.float64)])

    def mean(a: np.ndarray, b: np.ndarray) -> np.ndarray:  # per-band mean energy of frames [a, b)
        return (ce[b] - ce[a]) / (b - a)[:, None]

    lo, mid_lo, mid_hi, hi = kk - w, kk - h, kk + h, np.minimum(kk + w, n)
    d = mean(kk, hi) - mean(lo, kk)  # per band: after - before
    sigma = _robust_sigma(d, ok)
    weights = 1.0 / sigma**2 / (1.0 / sigma**2).sum()
    level = d @ weights
    shape = np.sqrt(np.mean(((d - level[:, None]) / sigma) ** 2, axis=1))
    trend = np.maximum(
        np.abs((mean(mid_lo, kk) - mean(lo, mid_lo)) @ weights),
        np.abs((mean(mid_hi, hi) - mean(kk, mid_hi)) @ weights),
    )
    lv = level[ok]
    centre = float(np.median(lv))
    spread = 1.4826 * float(np.median(np.abs(lv - centre))) + 0.05
    keep = (
        ok
        & (np.abs(level) >= float(cfg["splice_min_pause_db"]))
        & (shape <= float(cfg["pause_step_max_shape"]))
        & (np.abs(level) >= float(cfg["pause_step_min_flatness"]) * trend)
    )
    z[keep] = np.abs(level[keep] - centre) / spread
    return z


def stationary_tones(x: np.ndarray, sr: int, settings: Mapping[str, Any] | None = None) -> list[float]:
    """Frequencies (Hz) of steady tones in the background: mains hum and its harmonics, fans,
    engines. Their phase runs on continuously in an unedited recording (the ENF method of audio
    forensics), so they time a cut even when the noise level happens to match on both sides."""
    cfg = resolve_settings(settings)
    n_fft = sr  # 1 Hz resolution
    n = len(x) // n_fft
    if n < 4:
        return []
    window = np.hanning(n_fft).astype(np.float32)
    power = np.zeros(n_fft // 2 + 1)
    for i in range(0, n, 64):
        block = x[i * n_fft : min(n, i + 64) * n_fft].reshape(-1, n_fft) * window
        power += (np.abs(np.fft.rfft(block, axis=1)) ** 2).sum(axis=0)
    db = 10.0 * np.log10(power / n + 1e-20)
    lo, hi = int(cfg["tone_min_hz"]), min(int(cfg["tone_max_hz"]), len(db) - 30)
    prominence = float(cfg["tone_min_prominence_db"])
    found: list[tuple[float, float]] = []
    for i in range(max(lo, 30), hi):
        if db[i] < db[i - 3 : i + 4].max():
            continue
        height = db[i] - float(np.median(db[i - 25 : i + 26]))
        if height >= prominence:
            a, b, c = db[i - 1], db[i], db[i + 1]
            denom = a - 2 * b + c
            shift = 0.5 * (a - c) / denom if denom else 0.0
            found.append((i + shift, height))
    found.sort(key=lambda fh: -fh[1])
    return [f for f, _ in found[: int(cfg["tone_max_count"])]]


def tone_phase_scores(
    x: np.ndarray, sr: int, f0: float, window_s: float, background: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Phase step of the tone f0 across every 20 ms frame boundary, as a z-score against the
    file's own phase noise. Only background frames count (speech harmonics sweep through the
    tone's band and would jitter its phase). Returns (score, demodulated tone per frame)."""
    n = len(x) // _HOP
    k_win = max(2, int(round(window_s * sr / _HOP)))
    if n < 4 * k_win:
        return np.zeros(n), np.zeros(n, complex)
    z = np.empty(n, dtype=np.complex128)
    per = 4096  # frames per chunk: bounded memory on long recordings
    for i in range(0, n, per):
        j = min(n, i + per)
        t = np.arange(i * _HOP, j * _HOP, dtype=np.float64) / sr
        z[i:j] = (x[i * _HOP : j * _HOP] * np.exp(-2j * np.pi * f0 * t)).reshape(j - i, _HOP).mean(axis=1)
    # The tone's true frequency differs slightly from f0: take out the residual rotation, estimated
    # on window-long coherent sums (per-frame products are dominated by noise).
    m = n // k_win
    zk = z[: m * k_win].reshape(m, k_win).mean(axis=1)
    rot = np.angle(np.sum(zk[1:] * np.conj(zk[:-1]))) / k_win
    z = z * np.exp(-1j * rot * np.arange(n))
    # Inverse-power weights: frames where speech (or a bump) adds energy in the tone's band count
    # less, background frames fully; speech frames are kept so a cut inside speech is still seen.
    # The reference is the local background level (a tone may run only part of the time).
    power = np.abs(z) ** 2
    ref = _local_background_level(power, background[:n] if background is not None else None, k_win)
    weight = np.clip(ref / (power + 1e-20), 0.0, 1.0)
    z = z * weight
    count = np.concatenate([[0], np.cumsum(weight)])
    c = np.concatenate([[0], np.cumsum(z)])
    score = np.zeros(n)
    k = np.arange(3 * k_win, n - 3 * k_win)
    if len(k) < 10:
        return score, z

    def step_z(near: int, far: int) -> tuple[np.ndarray, np.ndarray]:
        """Phase step between [k-far, k-near) and [k+near, k+far), in MAD sigmas of the file."""
        left, right = c[k - near] - c[k - far], c[k + far] - c[k + near]
        wl = count[k - near] - count[k - far]
        wr = count[k + far] - count[k + near]
        ok = np.minimum(wl, wr) >= 0.3 * (far - near)
        # The tone must be there on both sides (a fan switched off, a musical note that ends: no phase)
        amp_l, amp_r = np.abs(left) / np.maximum(wl, 1e-9), np.abs(right) / np.maximum(wr, 1e-9)
        if ok.any():
            typical = float(np.percentile(np.concatenate([amp_l[ok], amp_r[ok]]), 90))
            ok &= (amp_l >= 0.4 * typical) & (amp_r >= 0.4 * typical)
        step = np.abs(np.angle(right * np.conj(left)))
        sigma = float(np.median(step[ok])) * 1.4826 + 1e-6 if ok.sum() >= 10 else np.inf
        return step / sigma, ok

    # A cut is a lasting step: the phase differs both just around the boundary and between the
    # stretches 1-3 windows away. Speech jitters the phase only while it lasts, so only the near test fires.
    near, ok_near = step_z(0, k_win)
    far, ok_far = step_z(k_win, 3 * k_win)
    ok = ok_near & ok_far
    score[k[ok]] = np.minimum(near[ok], far[ok])
    return score, z


def _local_background_level(power: np.ndarray, background: np.ndarray | None, block: int) -> np.ndarray:
    """Per-frame median power of the surrounding speech-free frames (blocks of `block` frames,
    median over 5 blocks), so that weights follow a tone that starts and stops."""
    n = len(power)
    nb = max(1, -(-n // block))
    pad = np.full(nb * block, np.nan)
    pad[:n] = power if background is None else np.where(background, power, np.nan)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            blocks = np.nanmedian(pad.reshape(nb, block), axis=1)
            if np.isnan(blocks).all():
                blocks = np.full(nb, float(np.median(power)))
            idx = np.arange(nb)
            good = ~np.isnan(blocks)
            blocks = np.interp(idx, idx[good], blocks[good])
            windows = np.lib.stride_tricks.sliding_window_view(np.pad(blocks, 2, mode="edge"), 5)
            local = np.median(windows, axis=1)
    return np.repeat(local, block)[:n]


def _phase_change_point(z: np.ndarray, k: int, k_win: int) -> int:
    """Maximum-likelihood frame of a phase step near k: the split that makes both sides most coherent."""
    lo, hi = max(0, k - k_win), min(len(z), k + k_win)
    seg = z[lo:hi]
    c = np.concatenate([[0], np.cumsum(seg)])
    total = c[-1]
    fit = np.abs(c[1:-1]) + np.abs(total - c[1:-1])
    return lo + 1 + int(np.argmax(fit))


def _confidence(score: float, threshold: float) -> float:
    return float(1.0 / (1.0 + math.exp(-4.0 * (score / threshold - 1.0))))


def _jump_candidates(x: np.ndarray, block: int, min_level: float, factor: float) -> np.ndarray:
    """Indices i of first differences |x[i+1] - x[i]| at least min_level and more than `factor` times
    the median |difference| of their `block`-sample block (every 4th sample of it: a cheap
    pre-selection, each candidate is judged exactly afterwards). In chunks of whole blocks, so a long
    recording never holds a full-length difference array; a last partial block uses the median of
    the block before it."""
    n_d = len(x) - 1
    chunk = block * max(1, (1 << 20) // block)
    found: list[np.ndarray] = []
    last_med = np.float32(0.0)
    for start in range(0, n_d, chunk):
        ad = np.abs(np.diff(x[start : min(n_d, start + chunk) + 1]))
        nb = len(ad) // block
        if nb:
            med = np.median(ad[: nb * block].reshape(nb, block)[:, ::4], axis=1)
            last_med = med[-1]
            per_sample = np.repeat(med, block)
            per_sample = np.concatenate([per_sample, np.full(len(ad) - len(per_sample), last_med)])
        else:
            per_sample = np.full(len(ad), last_med)
        hit = np.flatnonzero((ad >= min_level) & (ad > factor * np.maximum(per_sample, 1e-6)))
        found.append(hit + start)
    return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)


def sample_jumps(
    x: np.ndarray,
    sr: int,
    settings: Mapping[str, Any] | None = None,
    *,
    speech: Sequence[tuple[float, float]] = (),
    exclude: Sequence[tuple[float, float]] = (),
) -> list[tuple[int, float]]:
    """Waveform steps in quiet stretches: (sample index, z) where one first difference x[i] - x[i-1]
    exceeds splice_min_jump_z times the local first-difference sigma on BOTH sides (so a speech
    onset, whose far side is loud, does not count), and the waveform stays moved (a click comes
    back at once). Joining two pieces of audio at arbitrary samples leaves such a step; an
    unedited microphone signal, band-limited and continuous, does not. Speech (with 0.1 s margin)
    and `exclude` spans (s) are skipped."""
    cfg = resolve_settings(settings)
    thr = float(cfg["splice_min_jump_z"])
    ctx = max(8, int(float(cfg["jump_context_s"]) * sr))
    min_level = float(cfg["jump_min_level"])
    if len(x) < 4 * ctx:
        return []
    x = np.asarray(x, dtype=np.float32)
    n_d = len(x) - 1  # first differences d[i] = x[i + 1] - x[i]
    block = max(ctx, sr // 50)
    if n_d // block == 0:
        return []
    cand = _jump_candidates(x, block, min_level, 0.5 * thr * 1.4826)
    cand = cand[(cand >= ctx + 2) & (cand <= n_d - ctx - 3)]
    skip = [(s - 0.1, e + 0.1) for s, e in speech] + list(exclude)
    if skip and len(cand):
        t = (cand + 1) / sr
        starts = np.array([s for s, _ in skip])
        ends = np.array([e for _, e in skip])
        order = np.argsort(starts)
        starts, reach = starts[order], np.maximum.accumulate(ends[order])  # furthest end so far
        i = np.searchsorted(starts, t, side="right") - 1  # last span starting at or before t
        cand = cand[~((i >= 0) & (reach[np.maximum(i, 0)] >= t))]
    out: list[tuple[int, float]] = []
    for i in cand.tolist():
        left = np.abs(np.diff(x[i - ctx - 1 : i]))  # |d| over [i - ctx - 1, i - 1)
        right = np.abs(np.diff(x[i + 2 : i + ctx + 3]))  # |d| over [i + 2, i + ctx + 2)
        sigma = 1.4826 * max(float(np.median(left)), float(np.median(right)), 1e-5)
        step = float(x[i + 1]) - float(x[i])
        z = abs(step) / sigma
        if z < thr:
            continue
        # A step, not a click: the waveform stays displaced for a few samples after the jump.
        before = float(np.mean(x[i - 3 : i + 1]))
        after = float(np.mean(x[i + 1 : i + 5]))
        if (after - before) * step < 0.5 * step * step:
            continue
        if out and i - out[-1][0] < sr // 10:
            if z > out[-1][1]:
                out[-1] = (i + 1, z)
            continue
        out.append((i + 1, z))  # the first sample of the later piece
    return out


def find_splices(
    x: np.ndarray,
    sr: int,
    settings: Mapping[str, Any] | None = None,
    *,
    speech: Sequence[tuple[float, float]] | None = None,
    dropouts: Sequence[GapEvent] = (),
) -> list[GapEvent]:
    """Points where a piece was probably cut out. Four independent cues:
    a change of the background noise floor / spectrum (level or spectral-shape step of the
    per-band low-percentile energies, judged against the file's own variability), a phase jump
    in a steady background tone (hum), a sample-level step of the waveform in a quiet stretch,
    and an abrupt gain step of the background inside a pause (pause_steps). Confidence combines the
    cues that fired (1 - prod(1 - c)). A cut inside steady broadband noise of the same level and
    spectrum on both sides leaves none of these and cannot be found from the audio."""
    cfg = resolve_settings(settings)
    if speech is None:
        speech = speech_intervals(x, sr, cfg)
    times, floor, step_db, floor_d, e_db, _ = _floor_evidence(x, sr, cfg, speech=speech, dropouts=dropouts)
    n = len(floor)
    if not n:
        return []
    window = max(4, int(round(float(cfg["floor_window_s"]) * sr / _HOP)))
    floor_hit = floor >= 1.0
    # Confirmed by the pauses, or not a background change. Frames well clear of speech only: reverb
    # and the codec (AAC spreads its quantization noise ~0.1 s around loud frames) lift the rest.
    clear = ~_frame_mask(speech, n, sr, pad_s=0.15)
    for a, b in _runs(floor_hit):
        k = a + int(np.argmax(floor[a:b]))
        if not _quiet_frames_agree(e_db, clear, floor_d[k], k, window):
            floor_hit[a:b] = False
            floor[a:b] = np.minimum(floor[a:b], 0.99)

    tone_thr = float(cfg["splice_min_tone_score"])
    tone_win = float(cfg["tone_window_s"])
    tone_k = max(2, int(round(tone_win * sr / _HOP)))
    tone = np.zeros(n)
    demod: list[tuple[float, np.ndarray, np.ndarray]] = []
    background = ~_frame_mask(speech, len(x) // _HOP, sr, pad_s=0.06)
    for f0 in stationary_tones(x, sr, cfg):
        s, z = tone_phase_scores(x, sr, f0, tone_win, background)
        s = np.pad(s, (0, max(0, n - len(s))))[:n]
        demod.append((f0, s, z))
        tone = np.maximum(tone, s)
    tone_hit = tone >= tone_thr

    dropout_spans = [(d.start_s - 1.0, d.end_s + 1.0) for d in dropouts]
    # Nothing is joined at the file's own ends: the codec's priming and end padding are not cuts.
    ends = [(0.0, _CODEC_EDGE_S), (len(x) / sr - _CODEC_EDGE_S, len(x) / sr)]
    jumps = sample_jumps(x, sr, cfg, speech=speech, exclude=dropout_spans + ends)
    jump_thr = float(cfg["splice_min_jump_z"])
    jump_strength = np.zeros(n)
    for i, z in jumps:
        k = min(n - 1, i // _HOP)
        jump_strength[k] = max(jump_strength[k], z / jump_thr)

    pause_thr = float(cfg["splice_min_pause_z"])
    clear_of_speech = ~_frame_mask(speech, n, sr, pad_s=float(cfg["pause_step_pad_s"]))
    edges = np.zeros(n, bool)  # dead audio and the file's ends
    edge = int(_CODEC_EDGE_S * sr / _HOP)
    edges[:edge] = edges[max(0, n - edge) :] = True
    edges |= e_db.max(axis=1) <= -100.0
    pause_w = int(round(float(cfg["pause_step_window_s"]) * sr / _HOP))
    edges = _within(edges, pause_w)
    pause = pause_steps(e_db, clear_of_speech & ~edges, cfg)
    pause_hit = pause >= pause_thr

    hit = floor_hit | tone_hit | (jump_strength >= 1.0) | pause_hit
    for s, e in dropout_spans:  # a dropout's own edges are already reported
        hit &= ~((times > s) & (times < e))
    strength = np.maximum.reduce([floor, tone / tone_thr, jump_strength, pause / pause_thr])
    reach = max(tone_k, window, int(float(cfg["splice_window_s"]) * sr / _HOP))
    candidates: list[int] = []
    for a, b in _runs(hit):
        k = a + int(np.argmax(strength[a:b]))
        lo, hi = max(0, k - reach), min(n, k + reach)
        if strength[k] < strength[lo:hi].max():  # one cut gives one event
            continue
        candidates.append(k)
    events: list[GapEvent] = []
    for k in candidates:
        lo, hi = max(0, k - reach), min(n, k + reach)
        f_conf = _confidence(float(floor[lo:hi].max()), 1.0) if floor_hit[lo:hi].any() else 0.0
        t_conf = _confidence(float(tone[lo:hi].max()), tone_thr) if tone_hit[lo:hi].any() else 0.0
        near_jumps = [(i, z) for i, z in jumps if lo * _HOP <= i < hi * _HOP and z >= jump_thr]
        j_conf = _confidence(max(z for _, z in near_jumps), jump_thr) if near_jumps else 0.0
        p_conf = _confidence(float(pause[lo:hi].max()), pause_thr) if pause_hit[lo:hi].any() else 0.0
        reasons: list[str] = []
        boundary: int | None = None
        if p_conf:
            kp = lo + int(np.argmax(pause[lo:hi]))
            boundary = kp * _HOP + (_FRAME - _HOP) // 2  # between the last frame before and the first after
            reasons.append(f"停顿中背景突变（各频带一致，{float(pause[kp]):.0f}σ）")
        if t_conf:
            f0, s, z = max(demod, key=lambda d: float(d[1][lo:hi].max()))
            boundary = _phase_change_point(z, lo + int(np.argmax(s[lo:hi])), tone_k) * _HOP
            reasons.append(f"背景 {f0:.0f} Hz 稳定音相位跳变（{float(tone[lo:hi].max()):.1f}σ）")
        if f_conf:
            kf = lo + int(np.argmax(floor[lo:hi]))
            if boundary is None:
                kc = _floor_change_point(e_db, kf, window, float(cfg["floor_percentile"]))
                boundary = kc * _HOP
            reasons.append(f"背景噪声突变 {step_db[kf]:.1f} dB")
        if near_jumps:
            # A step within a second of the estimate is the cut itself, to the sample.
            ref = boundary if boundary is not None else near_jumps[0][0]
            close = [(i, z) for i, z in near_jumps if abs(i - ref) <= sr]
            if close:
                i, z = max(close, key=lambda iz: iz[1])
                boundary = i
                reasons.append(f"安静段波形阶跃 {z:.0f}σ")
            else:
                j_conf = 0.0
        if boundary is None:
            continue
        conf = 1.0 - (1.0 - f_conf) * (1.0 - t_conf) * (1.0 - j_conf) * (1.0 - p_conf)
        if conf < float(cfg["splice_min_confidence"]):
            continue
        if not near_jumps or not j_conf:
            sample, _ = _refine_to_sample(x, boundary, sr)  # timing only: speech has sharp edges too
        else:
            sample = boundary
        if events and sample / sr - events[-1].start_s < float(cfg["splice_window_s"]):
            continue
        detail = "，".join(reasons) + "，疑似删去片段后拼接"
        events.append(GapEvent("splice", sample / sr, sample / sr, round(min(conf, 0.99), 3), detail=detail))
    return events


def _refine_to_sample(x: np.ndarray, boundary: int, sr: int) -> tuple[int, float]:
    """The cut sample near a frame boundary: the largest jump in the second difference (a splice
    leaves a step in the waveform), measured against the local typical jump. Returns (sample, z)."""
    reach = _FRAME  # the step is known to within one frame
    a, b = max(2, boundary - reach), min(len(x) - 1, boundary + reach)
    if b - a < 8:
        return boundary, 0.0
    d2 = np.abs(x[a:b] - 2 * x[a - 1 : b - 1] + x[a - 2 : b - 2])
    ctx = np.abs(np.diff(x[max(0, a - sr // 4) : min(len(x), b + sr // 4)], n=2))
    scale = float(np.median(ctx)) + 1e-9
    i = int(np.argmax(d2))
    z = float(d2[i] / scale)
    if z < 8:
        return boundary, z
    return a + i - 1, z  # the jump is between samples (a+i-2, a+i-1) / (a+i-1, a+i)


# Container timestamps -----------------------------------------------------------------------


def packet_times(
    path: str | os.PathLike[str],
) -> tuple[dict[str, list[tuple[float, float, float | None]]], float]:
    """(pts_s, duration_s, dts_s) of every audio/video packet, per stream ("audio:0", "video:1"), in
    demux order, and the container start time in seconds (where decoded audio begins; AAC priming
    packets have negative pts). Reads the container read-only without decoding."""
    import av

    out: dict[str, list[tuple[float, float, float | None]]] = {}
    with av.open(str(path), mode="r") as container:
        start = container.start_time / 1_000_000 if container.start_time is not None else 0.0
        streams = [s for s in container.streams if s.type in ("audio", "video")]
        if not streams:
            return out
        for packet in container.demux(streams):
            if packet.pts is None or packet.size == 0:
                continue
            tb = float(packet.time_base)
            key = f"{packet.stream.type}:{packet.stream.index}"
            dts = None if packet.dts is None else packet.dts * tb
            out.setdefault(key, []).append((packet.pts * tb, (packet.duration or 0) * tb, dts))
    return out, float(start)


def find_timestamp_gaps(
    path: str | os.PathLike[str], settings: Mapping[str, Any] | None = None
) -> list[GapEvent]:
    """Holes and backward jumps in the packet timestamps of each stream: cut or lost data in an
    mp4/ts shows here even when the decoded audio simply runs on."""
    cfg = resolve_settings(settings)
    tol = float(cfg["timestamp_gap_s"])
    try:
        streams, origin = packet_times(path)
    except Exception as err:  # noqa: BLE001 - any demux failure is reported, not fatal
        return [GapEvent("timestamp", 0.0, 0.0, 0.3, detail=f"无法读取封装时间戳：{err}")]
    if not streams:
        return []
    raw: list[GapEvent] = []
    for key, packets in streams.items():
        if len(packets) < 3:
            continue
        pts = np.array(sorted(p[0] for p in packets)) - origin
        durs = np.array([p[1] for p in packets])
        steps = np.diff(pts)
        typical = float(np.median(durs[durs > 0])) if (durs > 0).any() else float(np.median(steps))
        if not math.isfinite(typical) or typical <= 0:
            typical = float(np.median(steps[steps > 0])) if (steps > 0).any() else 0.0
        hole = steps - typical
        name = "音频" if key.startswith("audio") else "视频"
        for i in np.flatnonzero(hole > max(tol, 2 * typical)):
            s, e = float(pts[i] + typical), float(pts[i + 1])
            raw.append(GapEvent("timestamp", s, e, 1.0, detail=f"{name}流时间戳缺口 {e - s:.2f} 秒"))
        dts = [p[2] for p in packets if p[2] is not None]
        for i in range(1, len(dts)):
            if dts[i] < dts[i - 1] - max(tol, 2 * typical):
                t = dts[i] - origin
                back = dts[i - 1] - dts[i]
                raw.append(GapEvent("timestamp", t, t, 0.9, detail=f"{name}流时间戳倒退 {back:.2f} 秒"))
    return _merge_events(raw)


def _merge_events(events: list[GapEvent]) -> list[GapEvent]:
    """Same hole seen in audio and video: one event, details joined."""
    out: list[GapEvent] = []
    for ev in sorted(events, key=lambda e: e.start_s):
        if out and ev.kind == out[-1].kind and ev.start_s <= out[-1].end_s + 0.5:
            last = out[-1]
            detail = last.detail if ev.detail in last.detail else f"{last.detail}；{ev.detail}"
            out[-1] = replace(
                last,
                start_s=min(last.start_s, ev.start_s),
                end_s=max(last.end_s, ev.end_s),
                confidence=max(last.confidence, ev.confidence),
                detail=detail,
            )
        else:
            out.append(ev)
    return out


# --------------------------------------------------------------------------------------------
# Across the files of a case


def collect_media(paths: Iterable[str | os.PathLike[str]]) -> list[str]:
    """Files of a case: the given files, and the media files inside given folders (sorted by name)."""
    out: list[str] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(str(c) for c in p.iterdir() if c.is_file() and c.suffix.lower() in MEDIA_EXTENSIONS)
        else:
            out.append(str(p))
    return out


def time_from_filename(name: str, patterns: Sequence[str] | str | None = None) -> datetime | None:
    """Start time encoded in a body-camera file name (first valid match), naive local time."""
    if isinstance(patterns, str):
        patterns = (patterns,)
    stem = Path(name).name
    for pattern in patterns or FILENAME_TIME_PATTERNS:
        for m in re.finditer(pattern, stem):
            g = m.groupdict()
            try:
                return datetime(
                    int(g["y"]), int(g["mo"]), int(g["d"]), int(g.get("h") or 0), int(g.get("mi") or 0),
                    int(g.get("s") or 0),
                )  # fmt: skip
            except (KeyError, ValueError, TypeError):
                continue
    return None


def read_manifest(manifest: str | os.PathLike[str] | Mapping[str, str]) -> dict[str, datetime]:
    """path -> start time from a CSV with columns path,start_time (header optional; ISO 8601)."""
    if isinstance(manifest, Mapping):
        rows: list[tuple[str, str]] = [(str(k), str(v)) for k, v in manifest.items()]
    else:
        try:
            with open(manifest, newline="", encoding="utf-8-sig") as fh:
                rows = [(r[0].strip(), r[1].strip()) for r in csv.reader(fh) if len(r) >= 2 and r[0].strip()]
        except OSError as err:
            raise ContinuityError(f"{manifest}: 无法读取清单文件（{err.strerror or err}）") from err
    out: dict[str, datetime] = {}
    for i, (p, t) in enumerate(rows):
        try:
            out[p] = _parse_time(t)
        except ValueError:
            if i == 0 and not isinstance(manifest, Mapping):
                continue  # header row
            raise ContinuityError(f"{manifest}: 第 {i + 1} 行时间无法解析：{t!r}") from None
    return out


def _parse_time(text: str) -> datetime:
    t = text.strip().replace("/", "-")
    if t.endswith("Z"):
        t = t[:-1] + "+00:00"
    return datetime.fromisoformat(t)


def _manifest_lookup(table: Mapping[str, datetime], path: str) -> datetime | None:
    for key in (path, os.path.abspath(path), Path(path).name):
        if key in table:
            return table[key]
    by_name = {Path(k).name: v for k, v in table.items()}
    return by_name.get(Path(path).name)


def _media() -> Any:
    try:
        from analyzer import media
    except ImportError:  # pragma: no cover - media is part of the package
        return None
    return media


def _probe(path: str) -> Probe | None:
    """analyzer.media.probe when available; otherwise a minimal read-only PyAV probe."""
    media = _media()
    fn = getattr(media, "probe", None)
    if fn is not None:
        return fn(path)
    import av

    from analyzer.media import Probe

    try:
        with av.open(path, mode="r") as c:
            a = next((s for s in c.streams if s.type == "audio"), None)
            duration = c.duration / 1_000_000 if c.duration else 0.0
            tags = {str(k): str(v) for k, v in (c.metadata or {}).items()}
            return Probe(
                path=path, sha256="", size_bytes=os.path.getsize(path), container=c.format.name,
                duration_s=duration, sample_rate=a.rate if a else 0, channels=a.channels if a else 0,
                codec=a.codec_context.name if a else "", has_video=any(s.type == "video" for s in c.streams),
                creation_time=tags.get("creation_time"), tags=tags,
            )  # fmt: skip
    except Exception as err:  # noqa: BLE001
        raise ContinuityError(f"{path}: 无法读取媒体文件（{err}）") from err


def order_case(
    paths: Sequence[str],
    *,
    probes: Mapping[str, Probe] | None = None,
    manifest: str | os.PathLike[str] | Mapping[str, str] | None = None,
    filename_regex: str | Sequence[str] | None = None,
    durations: Mapping[str, float] | None = None,
    settings: Mapping[str, Any] | None = None,
    notes: list[str] | None = None,
) -> list[CaseFile]:
    """Files of one case on one wall-clock timeline (CaseFile.offset_s, gaps included).

    One time source is used for the whole case (mixing a camera's local-time file names with UTC
    container tags would invent hours of gaps): the manifest if it covers every file, else file-name
    timestamps if every name has one, else container creation_time if every file has one, else
    name order with no gap information. Files come back sorted by start; pass a list as `notes` to
    receive remarks (in Chinese) about the time source. case_gaps() gives the events between them.
    """
    cfg = resolve_settings(settings)
    patterns = filename_regex or cfg.get("filename_regex") or FILENAME_TIME_PATTERNS
    probes = dict(probes or {})
    durations = dict(durations or {})
    for p in paths:
        if p not in durations:
            if p not in probes:
                probes[p] = _probe(p)
            durations[p] = float(probes[p].duration_s) if probes[p] is not None else 0.0

    notes = notes if notes is not None else []
    starts: dict[str, datetime] = {}
    source = "order"
    table = read_manifest(manifest) if manifest is not None else {}
    from_manifest = {p: _manifest_lookup(table, p) for p in paths}
    from_name = {p: time_from_filename(p, patterns) for p in paths}

    def from_tag() -> dict[str, datetime | None]:
        out: dict[str, datetime | None] = {}
        for p in paths:
            if p not in probes:
                probes[p] = _probe(p)
            ct = getattr(probes[p], "creation_time", None)
            try:
                out[p] = _parse_time(ct) if ct else None
            except ValueError:
                out[p] = None
        return out

    for name, source_of in (
        ("manifest", lambda: from_manifest),
        ("filename", lambda: from_name),
        ("creation_time", from_tag),
    ):
        found = source_of()
        if all(found[p] is not None for p in paths):
            starts, source = {p: found[p] for p in paths}, name  # type: ignore[misc]
            break
        if name == "manifest" and manifest is not None:
            missing = [Path(p).name for p in paths if found[p] is None]
            notes.append(f"清单未列出 {len(missing)} 个文件（{'、'.join(missing[:3])}），改用其他时间来源")
    if source == "order" and len(paths) > 1:
        notes.append(
            "无法确定各文件的开始时间（无清单、文件名无时间、无创建时间），按文件名顺序衔接，无法判断文件间中断"
        )

    if starts:
        starts = {p: _comparable(t) for p, t in starts.items()}
        ordered = sorted(paths, key=lambda p: (starts[p], p))
        first = starts[ordered[0]]
        files = [
            CaseFile(p, (starts[p] - first).total_seconds(), durations[p], _iso(starts[p]), source)
            for p in ordered
        ]
    else:
        ordered, offset, files = sorted(paths), 0.0, []
        for p in ordered:
            files.append(CaseFile(p, offset, durations[p], None, "order"))
            offset += durations[p]
    return files


def case_gaps(
    files: Sequence[CaseFile], settings: Mapping[str, Any] | None = None, notes: list[str] | None = None
) -> list[GapEvent]:
    """Gaps (interruptions) and overlaps/backward steps (clock problems) between consecutive files
    of an ordered case; back-to-back files within file_gap_tolerance_s are one continuous recording."""
    cfg = resolve_settings(settings)
    notes = notes if notes is not None else []
    if files and files[0].start_source == "order":
        return []
    events: list[GapEvent] = []
    tol = float(cfg["file_gap_tolerance_s"])
    clock_tol = max(tol, float(cfg["clock_tolerance_s"]))
    chained = 0
    for prev, nxt in zip(files, files[1:], strict=False):
        gap = nxt.offset_s - prev.end_s
        if gap > tol:
            events.append(
                GapEvent(
                    "file_gap",
                    prev.end_s,
                    nxt.offset_s,
                    1.0,
                    file=nxt.path,
                    file_start_s=0.0,
                    file_end_s=0.0,
                    prev_file=prev.path,
                    detail=(
                        f"{Path(prev.path).name} 结束后 {_fmt_duration(gap)} "
                        f"才开始 {Path(nxt.path).name}，录制中断"
                    ),
                )  # fmt: skip
            )
        elif gap < -clock_tol:
            events.append(
                GapEvent(
                    "clock_overlap",
                    nxt.offset_s,
                    prev.end_s,
                    1.0,
                    file=nxt.path,
                    file_start_s=0.0,
                    file_end_s=min(-gap, nxt.duration_s),
                    prev_file=prev.path,
                    detail=(
                        f"{Path(nxt.path).name} 的开始时间早于 {Path(prev.path).name} "
                        f"的结束时间 {_fmt_duration(-gap)}，"
                        "时钟或文件时间有误（重叠/倒退）"
                    ),
                )  # fmt: skip
            )
        else:
            chained += 1
    if chained:
        notes.append(f"{chained} 处文件首尾相接（间隔在 {tol:g} 秒以内），视为同一段连续录制的分段")
    return events


def _comparable(t: datetime) -> datetime:
    """Aware times to UTC, naive kept naive; a mix is made naive UTC so sorting works."""
    return t.astimezone(UTC).replace(tzinfo=None) if t.tzinfo else t


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="seconds")


def _fmt_duration(seconds: float) -> str:
    s = abs(seconds)
    if s < 60:
        return f"{s:.1f} 秒"
    m, sec = divmod(int(round(s)), 60)
    h, m = divmod(m, 60)
    return f"{h} 小时 {m} 分 {sec} 秒" if h else f"{m} 分 {sec} 秒"


# --------------------------------------------------------------------------------------------
# Resume statements


def check_resumption(
    event: GapEvent,
    transcript: Transcript | None,
    guide: Guide,
    *,
    resume_at_s: float,
    case_offset_s: float = 0.0,
    settings: Mapping[str, Any] | None = None,
) -> Resumption:
    """Did the officer state why recording stopped, within resume_window_s after resume_at_s
    (file time of the resumed file)? Matched with the guide's interruption-reason phrase."""
    cfg = resolve_settings(settings)
    window = float(cfg["resume_window_s"])
    if transcript is None:
        return Resumption(event, False, window_s=window, checked=False)
    phrase_id = str(cfg["interruption_reason_phrase"])
    try:
        phrase = guide.phrase(phrase_id)
    except KeyError:
        return Resumption(event, False, window_s=window, checked=False)
    from analyzer.match import match_text

    try:
        from analyzer.match import guide_match_settings

        match_settings: dict[str, float] | None = guide_match_settings(guide)
    except ImportError:
        match_settings = None

    segs = [s for s in transcript.segments if s.end > resume_at_s and s.start < resume_at_s + window]
    if not segs:
        return Resumption(event, False, window_s=window)
    text = "".join(s.text for s in segs)
    times = _char_times(segs)
    m = match_text(text, phrase, times, settings=match_settings)
    # 第十条 asks for the *reason*: the statement must be heard and its required slots (the reason)
    # filled; "现在重新开始记录" alone does not say why recording stopped.
    given = m.status != "absent" and not m.missing_slots
    start = m.start_s
    if start is None and given:
        start = _locate(segs, m.text)
    return Resumption(
        event,
        given,
        reason_text=m.text if given else "",
        start_s=None if start is None else start + case_offset_s,
        window_s=window,
        score=float(m.score),
        terms_found=tuple(m.terms_found),
    )


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


# --------------------------------------------------------------------------------------------
# Top level


def analyze_continuity(
    files: list[str],
    transcripts: Mapping[str, Transcript] | None,
    guide: Guide | None,
    *,
    audio: Mapping[str, np.ndarray] | None = None,
    probes: Mapping[str, Probe] | None = None,
    manifest: str | os.PathLike[str] | Mapping[str, str] | None = None,
    filename_regex: str | Sequence[str] | None = None,
    settings: Mapping[str, Any] | None = None,
    transcribe_window: Callable[[str, np.ndarray, float, float], Transcript | None] | None = None,
    speech_probs: Mapping[str, np.ndarray] | None = None,
) -> ContinuityReport:
    """Continuity of one recording or case: files on one timeline, every event in case time, and
    for every interruption whether the reason was stated on resuming.

    audio: already-decoded 16 kHz mono arrays by path (decoded here with analyzer.media.load_audio
    when absent). transcripts: by path; an interruption in a file without one is reported as not
    checked, unless `transcribe_window(path, audio, start_s, end_s)` is given: then only the resume
    window after each interruption is transcribed (a Transcript in file time), which is how
    `scriptcheck gaps` avoids transcribing whole recordings. settings: overrides on top of the guide's.
    speech_probs: Silero frame probabilities by path (analyzer.vad.speech_probs), as transcription
    computed them, so the VAD network runs once per file.
    """
    cfg = _guide_settings(guide)
    if settings:
        cfg.update(settings)
    transcripts = transcripts or {}
    audio = dict(audio or {})
    probes = dict(probes or {})
    for p in files:
        if p not in probes:
            try:
                probes[p] = _probe(p)
            except Exception:  # noqa: BLE001 - a decoded array may still be analysable
                if p not in audio:
                    raise
                probes[p] = None  # type: ignore[assignment]
    durations = {}
    for p in files:
        if p in audio:
            durations[p] = len(audio[p]) / ANALYSIS_SR
        elif probes.get(p) is not None:
            durations[p] = float(probes[p].duration_s)
        else:
            durations[p] = 0.0
    notes: list[str] = []
    case = order_case(
        files, probes=probes, manifest=manifest, filename_regex=filename_regex, durations=durations,
        settings=cfg, notes=notes,
    )  # fmt: skip
    events = case_gaps(case, cfg, notes)

    resumptions: list[Resumption] = []
    for cf in case:
        x = audio.get(cf.path)
        if x is None:
            x = _media().load_audio(cf.path, sr=ANALYSIS_SR)
            if transcribe_window is not None:
                audio[cf.path] = x
        found = find_gaps(
            x, ANALYSIS_SR, probes.get(cf.path), transcripts.get(cf.path), cfg, path=cf.path,
            speech_probs=(speech_probs or {}).get(cf.path),
        )  # fmt: skip
        for ev in found:
            events.append(replace(ev, start_s=ev.start_s + cf.offset_s, end_s=ev.end_s + cf.offset_s))
    events.sort(key=lambda e: (e.start_s, e.end_s))
    offsets = {cf.path: cf.offset_s for cf in case}
    min_gap = float(cfg["resume_min_interruption_s"])
    for ev in events:
        if not ev.is_interruption or guide is None:
            continue
        if ev.kind in ("dropout", "timestamp") and ev.duration_s < min_gap:
            continue
        resume_at = ev.file_end_s if ev.file_end_s is not None else ev.file_start_s
        transcript = transcripts.get(ev.file)
        if transcript is None and transcribe_window is not None and ev.file in audio:
            window = float(cfg["resume_window_s"])
            transcript = transcribe_window(ev.file, audio[ev.file], resume_at, resume_at + window)
        resumptions.append(
            check_resumption(
                ev,
                transcript,
                guide,
                resume_at_s=resume_at,
                case_offset_s=offsets.get(ev.file, 0.0),
                settings=cfg,
            )
        )
    missing = sum(1 for r in resumptions if r.checked and not r.reason_given)
    if missing:
        notes.append(f"{missing} 处中断后恢复录制时未说明中止原因（第十条）")
    return ContinuityReport(tuple(case), tuple(events), tuple(resumptions), tuple(notes))
