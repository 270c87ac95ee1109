"""Splices: where a recording was cut and joined. A join leaves no gap in time, so it is found
from the cues in analyzer.continuity.cues, each with its own threshold in the file's own
sigmas, merged into one event per cut and placed on the sample where the waveform steps.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from analyzer.continuity.cues import (
    _FRAME,
    _HOP,
    _floor_evidence,
    _frame_mask,
    _within,
    pause_steps,
    sample_jumps,
    stationary_tones,
    tone_phase_scores,
)
from analyzer.continuity.events import GapEvent, resolve_settings
from analyzer.continuity.gaps import _runs, speech_intervals

_CODEC_EDGE_S = 0.5  # a file's first and last half second: codec priming / end padding, never a join


def _quiet_frames_agree(
    e: np.ndarray, quiet: np.ndarray, d: np.ndarray, k: int, window: int, live: np.ndarray
) -> bool:
    """Do the speech-free (VAD) frames themselves show the floor step found at k, and does it last?
    A window whose low percentile is still speech (little silence in it) shows a "step" the pauses
    do not; a passing swell of traffic is gone a few seconds later. Needs 3 windows each side.
    Only `live` frames count: a dropout's digital silence is no background, and seconds of it
    near a line's end would read as the floor falling there."""
    n = len(e)
    use = np.abs(d) >= 3.0
    if not use.any():
        return False
    # Not the half second around k itself: a speech onset the VAD heard late would pass as "quiet".
    quiet = quiet & live
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
    far_l = e[max(0, k - 3 * window) : max(0, k - window)][live[max(0, k - 3 * window) : max(0, k - window)]]
    far_r = e[k + window : k + 3 * window][live[k + window : k + 3 * window]]
    if len(far_l) < window // 2 or len(far_r) < window // 2:
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
    live = e_db.max(axis=1) > -100.0
    for dd in dropouts:
        live &= ~((times > dd.start_s - 0.1) & (times < dd.end_s + 0.1))
    for a, b in _runs(floor_hit):
        k = a + int(np.argmax(floor[a:b]))
        if not _quiet_frames_agree(e_db, clear, floor_d[k], k, window, live):
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
