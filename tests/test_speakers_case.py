"""A voice keeps its speaker_id across the files of one case: the files' speech is clustered together
on the case timeline (ttskit voices from bench/speaker_corpus.py; VAD, no Whisper)."""

from __future__ import annotations

import pytest

from analyzer.speakers import identify
from analyzer.vad import speech_probs
from bench.speaker_corpus import DIALOGUES, NEAR_FAR, SR, render


@pytest.mark.slow(transcriber=False)  # synthesizes the dialogue when the TTS cache lacks it
def test_a_voice_keeps_its_id_in_every_file_of_a_case():
    d = next(x for x in DIALOGUES if x.id == "patrol-a")
    r = render(d, NEAR_FAR, 10.0, seed=3)
    # cut between the 4th and 5th lines: two files, each holding the wearer and the parties
    cut = (r.truth[3]["end_s"] + r.truth[4]["start_s"]) / 2
    k = int(cut * SR)
    first, second = r.audio[:k], r.audio[k:]
    gap_s = 120.0  # the second file starts two minutes later on the case timeline
    tracks = [(first, speech_probs(first), 0.0), (second, speech_probs(second), cut + gap_s)]
    sp = identify(tracks)

    def who(line: dict) -> str:
        offset = 0.0 if line["start_s"] < cut else gap_s
        sid, _ = sp.at(line["start_s"] + offset, line["end_s"] + offset)
        return sid

    wearer = {who(x) for x in r.truth if x["role"] == "wearer"}
    assert len(wearer) == 1  # one id for the wearer in both files
    [sid] = wearer
    assert sp.role_of(sid) == "wearer"
    for voice in {x["voice"] for x in r.truth if x["role"] == "other"}:
        ids = {who(x) for x in r.truth if x["voice"] == voice}
        assert sid not in ids
