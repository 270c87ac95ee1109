"""The forensic cues of a splice, each measured on its own: a step in the noise floor's level or
spectrum, a background gain step inside a pause, a phase jump of a steady background tone (mains
hum), and a sample step in a quiet stretch of the waveform. analyzer.continuity.splices weighs
them into events; the benchmark sweeps call them singly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from analyzer.continuity.events import ANALYSIS_SR, GapEvent, resolve_settings
from analyzer.continuity.gaps import speech_intervals

_FRAME = 512
_HOP = 320  # 20 ms at 16 kHz
_N_BANDS = 12
_ROWS = 1 << 14  # frames per block where a per-frame step is done in blocks (bounded temporaries)


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
    n = len(e)
    k = np.arange(n)
    valid = (k >= window) & (k <= n - window)
    if not valid.any():
        return np.zeros_like(e), valid
    if quiet is not None:
        c = np.concatenate([[0], np.cumsum(quiet)])
        frac = np.minimum(c[k] - c[np.clip(k - window, 0, n)], c[np.clip(k + window, 0, n)] - c[k]) / window
        valid &= frac >= min_quiet
        if not valid.any():  # nothing to judge: no filtering (and no SciPy import on a short file)
            return np.zeros_like(e), valid
    from scipy.ndimage import percentile_filter

    # Band by band: SciPy's 1-D rank filter is ~30x faster than the same filter over a 2-D array.
    floor = np.empty_like(e)
    for j in range(e.shape[1]):
        floor[:, j] = percentile_filter(e[:, j], percentile, size=window, mode="nearest")
    half = window // 2  # a centred filter at c covers [c - half, c - half + window)
    after, before = np.clip(k + half, 0, n - 1), np.clip(k - window + half, 0, n - 1)
    d = np.empty_like(floor)
    for i in range(0, n, _ROWS):  # no whole-length temporaries beside floor and d
        d[i : i + _ROWS] = floor[after[i : i + _ROWS]] - floor[before[i : i + _ROWS]]
    del floor
    d[~valid] = 0.0
    return d, valid


def _within(mask: np.ndarray, reach: int) -> np.ndarray:
    """Frames within `reach` frames of a True frame of `mask`, as long as `mask` whatever `reach`
    (a 'same' convolution returns the kernel's length when the kernel is the longer: short files)."""
    n = len(mask)
    c = np.concatenate([[0], np.cumsum(mask, dtype=np.int64)])
    k = np.arange(n)
    return c[np.minimum(n, k + reach + 1)] > c[np.maximum(0, k - reach)]


def _robust_sigma(a: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Per column: MAD sigma of the valid rows. Column by column, so the temporaries are a column
    long, not a copy of the whole (frames x bands) array (35 MB each for 2 hours at float64)."""
    return np.concatenate([_robust_sigma_2d(a[valid, j : j + 1]) for j in range(a.shape[1])])


def _robust_sigma_2d(v: np.ndarray) -> np.ndarray:
    return 1.4826 * np.median(np.abs(v - np.median(v, axis=0)), axis=0) + 0.05


def _local_sigma(a: np.ndarray, valid: np.ndarray, window: int, reach: int, block: int = 50) -> np.ndarray:
    """Robust sigma (MAD) of the series `a` (frames x columns) for every frame, from the frames
    within `reach` before and after it but outside its own +-window (the step being judged), as
    the larger of the two sides: a quiet office before a cut does not set the bar for the street
    after it. Where a side is too short, no less than the whole file's spread."""
    return np.repeat(_block_sigma(a, valid, window, reach, block), block, axis=0)[: len(a)]


def _block_sigma(a: np.ndarray, valid: np.ndarray, window: int, reach: int, block: int = 50) -> np.ndarray:
    """_local_sigma once per `block` frames (frame k has row k // block), column by column: every
    step is per column, and a column at a time keeps the median copies a column long."""
    return np.concatenate(
        [_block_sigma_column(a[:, j : j + 1], valid, window, reach, block) for j in range(a.shape[1])], axis=1
    )


def _block_sigma_column(a: np.ndarray, valid: np.ndarray, window: int, reach: int, block: int) -> np.ndarray:
    glob = _robust_sigma_2d(a[valid])
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
    return np.maximum(local, glob * 0.5)


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
    # Per frame, in blocks of rows, and the per-band sigmas a column at a time: no (frames x bands)
    # float64 array of the whole recording (35 MB each for 2 hours; there were several at once).
    level = np.concatenate([(d[i : i + _ROWS] * weights).sum(axis=1) for i in range(0, n, _ROWS)])
    level /= weights.sum()
    reach = int(20.0 * sr / _HOP)
    level_z = np.abs(level) / _local_sigma(level[:, None], valid, window, reach)[:, 0]
    block = 50
    local = np.concatenate(
        [_block_sigma((d[:, j] - level)[:, None], valid, window, reach, block) for j in range(d.shape[1])],
        axis=1,
    )
    shape_z, shape_db = np.empty(n), np.empty(n, dtype=np.result_type(d, level))
    for i in range(0, n, _ROWS):
        rows = slice(i, i + _ROWS)
        rest = d[rows] - level[rows, None]
        rest_z = np.abs(rest) / local[np.arange(i, min(n, i + _ROWS)) // block]
        top = np.argsort(rest_z, axis=1)[:, -3:]
        shape_z[rows] = np.sqrt(np.mean(np.take_along_axis(rest_z, top, axis=1) ** 2, axis=1))
        shape_db[rows] = np.sqrt(np.mean(np.take_along_axis(rest, top, axis=1) ** 2, axis=1))
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
    ce = np.empty((n + 1, e.shape[1]))
    ce[0] = 0.0
    np.cumsum(e, axis=0, dtype=np.float64, out=ce[1:])

    def mean(a: np.ndarray, b: np.ndarray, bands: slice) -> np.ndarray:  # mean energy of frames [a, b)
        return (ce[b, bands] - ce[a, bands]) / (b - a)[:, None]

    lo, mid_lo, mid_hi, hi = kk - w, kk - h, kk + h, np.minimum(kk + w, n)
    # The per-band steps (after - before) a band at a time for their sigmas, then per frame in blocks
    # of rows: no (frames x bands) float64 temporaries of the whole recording beside ce.
    bands = [slice(j, j + 1) for j in range(e.shape[1])]
    sigma = np.concatenate([_robust_sigma(mean(kk, hi, b) - mean(lo, kk, b), ok) for b in bands])
    weights = 1.0 / sigma**2 / (1.0 / sigma**2).sum()
    level, shape, trend = np.empty(n), np.empty(n), np.empty(n)
    every = slice(None)
    for i in range(0, n, _ROWS):
        r = slice(i, i + _ROWS)
        d = mean(kk[r], hi[r], every) - mean(lo[r], kk[r], every)
        level[r] = d @ weights
        shape[r] = np.sqrt(np.mean(((d - level[r, None]) / sigma) ** 2, axis=1))
        trend[r] = np.maximum(
            np.abs((mean(mid_lo[r], kk[r], every) - mean(lo[r], mid_lo[r], every)) @ weights),
            np.abs((mean(mid_hi[r], hi[r], every) - mean(kk[r], mid_hi[r], every)) @ weights),
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
    unedited microphone signal, band-limited and continuous, does not. Speech (0.1 s after it,
    jump_onset_margin_s before it: the VAD hears an onset late, after a plosive's burst or the
    first soft samples of a line that starts abruptly after silence) and `exclude` spans (s) are
    skipped, and so are steps with sound on either side (jump_max_above_floor_db over the local
    background floor: speech the VAD did not hear, whose syllables start as abruptly as a join) and
    steps out of (or into) near-silence (jump_max_below_floor_db under that floor: the background
    itself fell quiet, as a synthesized babble voice does between its words, and a sound starting
    there starts on a step; a join between two stretches of background has background on both
    sides)."""
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
    onset = float(cfg["jump_onset_margin_s"])
    skip = [(s - onset, e + 0.1) for s, e in speech] + list(exclude)
    if skip and len(cand):
        t = (cand + 1) / sr
        starts = np.array([s for s, _ in skip])
        ends = np.array([e for _, e in skip])
        order = np.argsort(starts)
        starts, reach = starts[order], np.maximum.accumulate(ends[order])  # furthest end so far
        i = np.searchsorted(starts, t, side="right") - 1  # last span starting at or before t
        cand = cand[~((i >= 0) & (reach[np.maximum(i, 0)] >= t))]
    off_floor = _level_off_floor(
        x, sr, float(cfg["jump_max_above_floor_db"]), float(cfg["jump_max_below_floor_db"])
    )
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
        if off_floor(i + 1):
            continue
        if out and i - out[-1][0] < sr // 10:
            if z > out[-1][1]:
                out[-1] = (i + 1, z)
            continue
        out.append((i + 1, z))  # the first sample of the later piece
    return out


def _level_off_floor(
    x: np.ndarray, sr: int, above_db: float, below_db: float, context_s: float = 3.0
) -> Callable[[int], bool]:
    """A test of a sample index: is the 20 ms before or after it more than `above_db` above the
    background floor (10th percentile of the live 20 ms frame levels within `context_s`), or more than
    `below_db` under it (0: not tested)? A join in a quiet stretch has background on both sides; a step
    inside speech the VAD missed has sound, and one out of a hush in the background has none."""
    fr = max(1, sr // 50)
    nf = len(x) // fr
    if nf == 0:
        return lambda i: False
    level = 10.0 * np.log10(
        np.mean(np.square(x[: nf * fr].reshape(nf, fr), dtype=np.float64), axis=1) + 1e-12
    )
    reach = max(1, int(context_s * sr / fr))

    def test(i: int) -> bool:
        a, b = max(0, i - fr), min(len(x), i + fr)
        near = [
            10.0 * math.log10(float(np.mean(np.square(x[lo:hi], dtype=np.float64))) + 1e-12)
            for lo, hi in ((a, i), (i, b))
            if hi > lo
        ]
        k = i // fr
        around = level[max(0, k - reach) : min(nf, k + reach + 1)]
        live = around[around > -100.0]  # digital silence (a dropout, a fade to zero) is no background
        if not len(live):
            return False
        floor = float(np.percentile(live, 10))
        return max(near) - floor > above_db or (below_db > 0 and floor - min(near) > below_db)

    return test
