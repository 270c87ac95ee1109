"""Continuity's frame-level splice cues on long recordings: the per-band (frames x bands) work is done
a band at a time or in blocks of frames, so the stage's transient memory stays a small multiple of
one (frames x bands) float64 array instead of six or seven of them (issue 19: 1.0 GB per worker for
a 2-hour recording), with the same numbers whatever the block size.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from analyzer.continuity import cues

N_FRAMES = 200_000  # 67 minutes of 20 ms frames
SR = 16_000


@pytest.fixture(scope="module")
def energies() -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Band energies (dB) of a long recording with background steps at 200 s and half-way, and
    speech every 4 s."""
    rng = np.random.default_rng(0)
    e = (rng.normal(size=(N_FRAMES, cues._N_BANDS)) * 2.0 - 60.0).astype(np.float32)
    e[10_000:] += 6.0
    e[N_FRAMES // 2 :] -= 6.0
    speech = [(float(t), float(t) + 1.5) for t in np.arange(0.0, N_FRAMES * 0.02, 4.0)]
    return e, speech


def _transient(fn) -> tuple[float, object]:
    """Peak traced allocation while fn runs, in units of one (frames x bands) float64 array."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        out = fn()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return peak / (N_FRAMES * cues._N_BANDS * 8), out


def _floor_evidence(e: np.ndarray, speech, monkeypatch) -> tuple:
    monkeypatch.setattr(cues, "_band_energies_db", lambda x, sr: e)
    return cues._floor_evidence(np.zeros(8, np.float32), SR, None, speech=speech, dropouts=())


def test_floor_evidence_holds_no_whole_recording_float64_copies(energies, monkeypatch):
    """The noise-floor step statistics (per-band sigmas, level and spectrum z) on a 67-minute
    recording: before, +6.6 arrays' worth at once (the residual, its deviations, padded copies and
    masked sorts for the local sigmas, the z array and its full argsort); now under 3.5."""
    e, speech = energies
    units, out = _transient(lambda: _floor_evidence(e, speech, monkeypatch))
    _, score, *_ = out
    assert float(score.max()) >= 1.0  # the background step is found: the work was really done
    assert units < 3.5, f"transient {units:.2f} x (frames x bands float64)"


def test_pause_steps_hold_no_whole_recording_float64_copies(energies):
    """The pause gain-step cue: before, about 6 arrays' worth (cumulative sums padded by a copy, each
    window mean, the steps, the residual); now the float64 cumulative sum and small per-frame arrays."""
    e, speech = energies
    quiet = np.ones(N_FRAMES, bool)
    quiet[np.random.default_rng(1).integers(0, N_FRAMES, 2000)] = False
    units, z = _transient(lambda: cues.pause_steps(e, quiet, None))
    assert float(np.max(z)) > 0.0
    assert units < 4.0, f"transient {units:.2f} x (frames x bands float64)"


def test_block_size_does_not_change_the_cues(energies, monkeypatch):
    """Blocks of 7 frames (block edges everywhere, partial last block) against one block for the
    whole recording: the same floor steps, scores and pause steps."""
    e, speech = energies
    e = e[:30_011]
    speech = [(s, t) for s, t in speech if t < 30_011 * 0.02]
    quiet = ~cues._frame_mask(speech, len(e), SR, pad_s=0.03)
    monkeypatch.setattr(cues, "_ROWS", 1 << 30)
    whole = _floor_evidence(e, speech, monkeypatch)
    whole_steps = cues.floor_steps(e, 150, 10.0, quiet, 0.03)
    whole_pause = cues.pause_steps(e, np.ones(len(e), bool), None)
    monkeypatch.setattr(cues, "_ROWS", 7)
    blocks = _floor_evidence(e, speech, monkeypatch)
    for a, b in zip(whole, blocks, strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    for a, b in zip(whole_steps, cues.floor_steps(e, 150, 10.0, quiet, 0.03), strict=True):
        assert np.array_equal(a, b)
    assert float(whole[1].max()) >= 1.0
    pause = cues.pause_steps(e, np.ones(len(e), bool), None)
    assert whole_pause.any()
    # A matrix-vector product (BLAS) sums each frame's bands; its threads may split the frames
    # differently by block, so the last bit may differ.
    np.testing.assert_allclose(pause, whole_pause, rtol=1e-12, atol=0)
