"""Gaps inside one recording that the signal or the container shows directly: digital dropouts
(flat, stuck or clipped runs), long speechless stretches (Silero VAD), and holes in the packet
timestamps. Splices, which need forensic cues, are in analyzer.continuity.splices.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from analyzer.continuity.events import ANALYSIS_SR, GapEvent, resolve_settings


def _as_analysis_audio(audio: np.ndarray, sr: int) -> np.ndarray:
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim > 1:
        x = x.mean(axis=1 if x.shape[0] > x.shape[1] else 0).astype(np.float32)
    if sr != ANALYSIS_SR:
        # Linear interpolation keeps exact zeros and flat runs flat, which the dropout check relies on.
        n = int(round(len(x) * ANALYSIS_SR / sr))
        x = np.interp(np.arange(n) * (sr / ANALYSIS_SR), np.arange(len(x)), x).astype(np.float32)
    return x


def _run_bounds(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) indices of the True runs of a boolean array. One temporary of the
    mask's length (where it changes), no padded copy: masks here can be a sample each of 3 hours."""
    mask = np.asarray(mask, dtype=bool)
    if not len(mask):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    change = np.flatnonzero(mask[1:] != mask[:-1]) + 1
    rising = mask[change]
    starts, ends = change[rising], change[~rising]
    if mask[0]:
        starts = np.concatenate(([0], starts))
    if mask[-1]:
        ends = np.concatenate((ends, [len(mask)]))
    return starts, ends


def _runs(mask: np.ndarray, min_len: int = 1) -> list[tuple[int, int]]:
    """[start, end) index pairs of the True runs of a boolean array, at least min_len long."""
    starts, ends = _run_bounds(mask)
    if min_len > 1:
        keep = ends - starts >= min_len
        starts, ends = starts[keep], ends[keep]
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


_STEP = 1 << 20  # samples per block in the per-sample scans: bounded memory on long recordings


def _still_runs(x: np.ndarray, eps: float, min_len: int) -> list[tuple[int, int]]:
    """_runs of |x[i+1] - x[i]| <= eps, at least min_len long, found block by block (a run that
    reaches a block's end is carried into the next): no mask of the whole recording."""
    out: list[tuple[int, int]] = []
    carry: tuple[int, int] | None = None
    n = len(x) - 1
    for s in range(0, n, _STEP):
        e = min(n, s + _STEP)
        starts, ends = _run_bounds(np.abs(np.diff(x[s : e + 1])) <= eps)
        starts, ends = starts + s, ends + s
        if carry is not None:
            if len(starts) and starts[0] == s:
                starts[0] = carry[0]
            elif carry[1] - carry[0] >= min_len:
                out.append(carry)
            carry = None
        if len(ends) and ends[-1] == e:
            carry = (int(starts[-1]), int(ends[-1]))
            starts, ends = starts[:-1], ends[:-1]
        keep = ends - starts >= min_len
        out += zip(starts[keep].tolist(), ends[keep].tolist(), strict=True)
    if carry is not None and carry[1] - carry[0] >= min_len:
        out.append(carry)
    return out


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
    for a, b in _still_runs(x, eps, max(1, min_len - 1)):
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
    win = max(1, sr // 50)
    n = len(x) // win
    frac = np.zeros(n)  # share of clipped samples per 20 ms, block by block: no per-sample mask
    per = max(1, _STEP // win)
    for i in range(0, n, per):
        j = min(n, i + per)
        block = x[i * win : j * win].reshape(j - i, win)
        frac[i:j] = ((block >= level) | (block <= -level)).mean(axis=1)
    if frac.any():
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
