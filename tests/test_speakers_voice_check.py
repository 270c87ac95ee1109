"""The voice check of a non-wearer's speech (`speakers.voice_margins`) on real ttskit speech: the lines
of the seed-59 scenario recording 004 (officer Aixia, party Aiwei 4 dB quieter), cut into windows as
the attribution cuts them. A piece of the officer's own voice labelled as another voice must sound like
the wearer; a party's speech, the guide phrases it reads aloud included, must not."""

from __future__ import annotations

import numpy as np
import pytest

from analyzer.speakers import DEFAULTS, SR, voice_margins, window_features
from tests.test_speakers_phrase_cue import LINES, PARTY

RECORDING_NOTICE = "为保护您的合法权益，监督执法行为，本次执法全过程录音录像。"
MARGIN = DEFAULTS["speaker_voice_margin"]


def _windows(text: str, who: str) -> list[tuple[int, np.ndarray, np.ndarray]]:
    from bench import tts_multi

    party = who == PARTY
    audio, _ = tts_multi.synthesize(
        text, speaker=who, seed=101 if party else 0, speed=1.08 if party else 1.0,
        gain_db=-4.0 if party else 0.0, sr=SR,
    )  # fmt: skip
    step = int(1.5 * SR)
    out = []
    for a in range(0, len(audio) - int(0.4 * SR), step):
        f = window_features(np.asarray(audio[a : a + step], np.float32))
        assert f is not None
        out.append(f.frames)
    return out


@pytest.fixture(scope="module")
def lines() -> dict[str, list]:
    return {pid or text: _windows(text, who) for who, text, pid in LINES} | {
        "party_reads_notice": _windows(RECORDING_NOTICE, PARTY)
    }


def _margins(groups: list[tuple[list, str, bool]]) -> list[list[float | None]]:
    frames, sid, phrased = [], [], []
    for windows, voice, in_phrase in groups:
        frames += windows
        sid += [voice] * len(windows)
        phrased += [in_phrase] * len(windows)
    flat = voice_margins(frames, sid, {"S1"}, DEFAULTS["speaker_shrink_frames"], phrased)
    out, at = [], 0
    for windows, _, _ in groups:
        out.append(flat[at : at + len(windows)])
        at += len(windows)
    return out


def _party_lines(lines: dict[str, list]) -> list:
    return [w for (who, text, pid) in LINES if who == PARTY for w in lines[text]]


def _wearer(lines: dict[str, list]) -> list:
    said = ("request_id", "recording_notice", "sign_request", "return_documents")
    return [w for pid in said for w in lines[pid]]


def test_the_officers_long_opening_split_off_as_another_voice_sounds_like_the_wearer(lines):
    wearer, opening, party = _margins(
        [(_wearer(lines), "S1", True), (lines["opening"], "S2", True), (_party_lines(lines), "S3", False)]
    )
    assert all(m is None for m in wearer)
    assert float(np.mean(opening)) > MARGIN  # its phrase counts
    assert max(party) < MARGIN  # the party's own lines never sound like the wearer


def test_the_officers_phrase_in_a_cluster_with_the_party_sounds_like_the_wearer(lines):
    """Two voices only: the officer's opening fell into the party's cluster. Compared with that
    cluster's speech outside the guide phrases (the party's lines), it is the wearer's voice."""
    _, opening, party = _margins(
        [(_wearer(lines), "S1", True), (lines["opening"], "S2", True), (_party_lines(lines), "S2", False)]
    )
    assert float(np.mean(opening)) > MARGIN
    assert max(party) < MARGIN


def test_a_party_reading_a_guide_phrase_aloud_does_not_sound_like_the_wearer(lines):
    _, notice, party = _margins(
        [
            (_wearer(lines), "S1", True),
            (lines["party_reads_notice"], "S2", True),
            (_party_lines(lines), "S2", False),
        ]
    )
    assert float(np.mean(notice)) < MARGIN  # its phrase is left to the confidence gate
    assert max(party) < MARGIN
