"""The voice features, the number of voices (BIC) and the wearer decision on the cases the first held-out
check got wrong with confidence: far voices merged into one, and at equal level the wearer cues picking a
party. Synthetic signals for the functions; ttskit dialogues (bench/speaker_corpus.py, VAD, no Whisper)
for the decisions."""

from __future__ import annotations

import numpy as np
import pytest

from analyzer.speakers import DEFAULTS, bic, identify, noise_spectrum, voice_space, window_features
from bench.speaker_corpus import HARD, HELD_OUT, NEAR_FAR, SR, far, render, room_ir


def _babble(seed: int, seconds: float = 3.0) -> np.ndarray:
    """Speech-like: noise bursts of 80-250 ms (syllables) with short gaps, through a formant filter."""
    from scipy import signal

    rng = np.random.default_rng(seed)
    out = np.zeros(int(seconds * SR), np.float32)
    pos = 0
    while pos < len(out):
        n = int(rng.uniform(0.08, 0.25) * SR)
        burst = rng.standard_normal(n) * np.hanning(n)
        out[pos : pos + n] = burst[: len(out) - pos]
        pos += n + int(rng.uniform(0.03, 0.12) * SR)
    b, a = signal.iirpeak(700.0 + 200 * seed % 3, 3.0, fs=SR)
    return (signal.lfilter(b, a, out) * 0.1).astype(np.float32)


def test_reverberation_lowers_the_dryness_cue_of_the_same_sound():
    dry = _babble(1)
    wet = np.convolve(dry, room_ir(0.5, 0.0, seed=2))[: len(dry)].astype(np.float32)
    wet *= np.sqrt(np.mean(dry**2) / np.mean(wet**2))
    a, b = window_features(dry), window_features(wet)
    assert a is not None and b is not None
    assert a.dryness_db > b.dryness_db + 2.0
    assert a.embedding.shape == (57,)  # MFCC means, spreads and delta spreads
    n, s, ss = a.frames
    assert n > 100 and s.shape == (19,) and ss.shape == (19, 19)


def test_voice_statistics_at_5_db_come_from_the_frames_above_the_background():
    """White noise 5 dB under a speech-like sound: the frames near the background (the gaps between
    syllables) are left out, so the window's MFCC mean moves toward the clean sound's."""
    rng = np.random.default_rng(3)
    voice = np.concatenate([np.zeros(SR, np.float32), _babble(2, 3.0), np.zeros(SR, np.float32)])
    power = float(np.mean(_babble(2, 3.0) ** 2))
    noisy = (voice + rng.standard_normal(len(voice)) * np.sqrt(power / 10**0.5)).astype(np.float32)
    probs = np.r_[np.zeros(31), np.ones(94), np.zeros(32)].astype(np.float32)[: len(voice) // 512]
    noise = noise_spectrum(noisy, probs, DEFAULTS)
    assert noise is not None
    window = slice(SR, 4 * SR)
    clean = window_features(voice[window])
    every = window_features(noisy[window])
    gated = window_features(noisy[window], noise, 6.0)
    assert clean is not None and every is not None and gated is not None
    assert gated.frames[0] < every.frames[0] * 0.8

    def off(f) -> float:
        return float(np.linalg.norm(f.embedding[:19] - clean.embedding[:19]))

    assert off(gated) < off(every)
    assert window_features(noisy[window], noise, 0.0).frames[0] == every.frames[0]


def _frames(rng: np.random.Generator, mean: float, n: int = 150) -> tuple[int, np.ndarray, np.ndarray]:
    x = rng.standard_normal((n, 19)) + mean
    return n, x.sum(axis=0), x.T @ x


def test_bic_prefers_two_voices_only_when_the_frames_differ():
    rng = np.random.default_rng(0)
    same = [_frames(rng, 0.0) for _ in range(8)]
    two = [_frames(rng, 0.0) for _ in range(4)] + [_frames(rng, 1.5) for _ in range(4)]
    one_label, two_labels = np.zeros(8, int), np.array([0] * 4 + [1] * 4)
    assert bic(same, one_label, 1.0) > bic(same, two_labels, 1.0)
    assert bic(two, two_labels, 1.0) > bic(two, one_label, 1.0)


def test_voice_space_standardizes_each_dimension_and_weights_the_cues():
    rng = np.random.default_rng(1)
    emb = rng.standard_normal((30, 4)) * np.array([100.0, 1.0, 0.01, 5.0])
    cues = rng.standard_normal((30, 2)) * 10.0
    space = voice_space(emb, cues, {**DEFAULTS, "speaker_channel_weight": 3.0})
    assert space.shape == (30, 6)
    assert np.allclose(space[:, :4].std(axis=0), 1.0, atol=1e-3)
    assert np.allclose(space[:, 4:].std(axis=0), 3.0, atol=1e-2)


def test_a_single_voice_near_and_far_is_not_merged_when_the_cues_differ():
    """The wearer's voice and the same kind of voice far away (reverberant, 10 dB lower): two voices."""
    near = np.concatenate([_babble(3, 2.0), np.zeros(SR // 2, np.float32)] * 4)
    away = far(np.concatenate([_babble(4, 2.0), np.zeros(SR // 2, np.float32)] * 4), NEAR_FAR, seed=5)
    audio = np.concatenate([near, away]).astype(np.float32)
    probs = np.repeat(np.tile(np.r_[np.ones(62), np.zeros(16)], 8), 1)[: len(audio) // 512 + 1]
    sp = identify([(audio, probs.astype(np.float32), 0.0)])
    assert len(sp.voices) >= 2
    first, _ = sp.at(1.0, 1.5)
    last, _ = sp.at(len(audio) / SR - 2.0, len(audio) / SR - 1.5)
    assert sp.role_of(first) == "wearer" and sp.role_of(last) == "other"


def _accuracy(d, dist, snr) -> tuple[int, int, object]:
    import zlib

    from analyzer.vad import speech_probs

    r = render(d, dist, snr, seed=zlib.crc32(d.id.encode()) % 1000)
    spans = [(x["phrase_id"], x["start_s"], x["end_s"]) for x in r.truth if x["phrase_id"]]
    sp = identify([(r.audio, speech_probs(r.audio), 0.0)], None, spans)
    ok = 0
    for line in r.truth:
        who, _ = sp.at(line["start_s"], line["end_s"])
        ok += (sp.role_of(who) == "wearer") == (line["role"] == "wearer")
    return ok, len(r.truth), sp


@pytest.mark.slow(transcriber=False)  # synthesizes the dialogues when the TTS cache lacks them
@pytest.mark.parametrize(
    ("dialogue", "dist"),
    [
        ("ho-traffic-stop", NEAR_FAR),
        ("ho-party-reads-opening-and-rights", NEAR_FAR),
        ("ho-three-parties", HARD),
    ],
    ids=["far-voices-merged", "far-party-reads", "equal-level-wearer-cues"],
)
def test_the_first_held_out_failures_are_attributed(dialogue, dist):
    """Clean: these came out as 4/8, 4/7 and 2/8 lines right with confidence 0.95-1.0 before."""
    d = next(x for x in HELD_OUT if x.id == dialogue)
    ok, n, sp = _accuracy(d, dist, None)
    assert ok >= n - 1, (ok, n, sp.voices)
    assert sum(v.role == "wearer" for v in sp.voices) == 1


def test_a_voice_reading_three_notices_aloud_is_a_party_and_one_that_also_asks_is_an_officer():
    """A second voice saying three guide phrases was `officer`, a role resting on its phrases alone,
    and its phrases counted (marked): a party reading the opening and the notices aloud satisfied the
    guide. Reading notices is what a party does too; asking the listener to act (请出示, 请您签字) is
    not: without such a phrase the far voice is `other` and its phrases do not count. With one, it is
    `officer`, unsure until a reviewer confirms it, and its phrases count marked speaker-unsure."""
    from analyzer.guide import load_guide
    from analyzer.match import PhraseMatch, absent_match
    from analyzer.speakers import attribute_matches

    near = np.concatenate([_babble(3, 2.0), np.zeros(SR // 2, np.float32)] * 4)
    away = far(np.concatenate([_babble(4, 2.0), np.zeros(SR // 2, np.float32)] * 4), NEAR_FAR, seed=5)
    audio = np.concatenate([near, away]).astype(np.float32)
    probs = np.tile(np.r_[np.ones(62), np.zeros(16)], 8)[: len(audio) // 512 + 1].astype(np.float32)
    guide = load_guide()
    read = [("opening", 10.5, 12.0), ("recording_notice", 13.0, 14.5), ("rights_notice", 15.5, 17.0)]
    sp = identify([(audio, probs, 0.0)], None, [("request_id", 0.5, 2.0), *read], guide)
    party = next(v for v in sp.voices if set(v.phrases) == {p for p, _, _ in read})
    assert party.role == "other" and party.confidence >= 0.8, sp.voices
    said = {pid: PhraseMatch(pid, "present", 95.0, a, b, "x", "x") for pid, a, b in read}
    matches = attribute_matches([said.get(p.id) or absent_match(p) for p in guide.phrases], sp, guide)
    for m in matches:
        if m.phrase_id in said:
            assert m.status == "absent" and m.said_by_other, m

    asked = [("opening", 10.5, 12.0), ("recording_notice", 13.0, 14.5), ("sign_request", 15.5, 17.0)]
    sp = identify([(audio, probs, 0.0)], None, [("request_id", 0.5, 2.0), *asked], guide)
    officer = [v for v in sp.voices if v.role == "officer"]
    assert officer and all(v.confidence <= 0.5 for v in officer)
    said = {pid: PhraseMatch(pid, "present", 95.0, a, b, "x", "x") for pid, a, b in asked}
    matches = attribute_matches([said.get(p.id) or absent_match(p) for p in guide.phrases], sp, guide)
    for m in matches:
        if m.phrase_id in said:
            assert m.status == "present" and m.speaker == "officer", m
            assert m.unsure_speaker and m.speaker_confidence is not None and m.speaker_confidence <= 0.5, m
