"""The second look at a recording's start (analyzer/recheck.py): which phrases earn one, where the
second decode ends, how its segments replace the first decode's, and, with the real model on
synthesized speech, that a recording without an opening keeps its flag after it."""

from __future__ import annotations

import dataclasses

import pytest

from analyzer import recheck
from analyzer.guide import load_guide
from analyzer.match import match_transcript
from analyzer.transcribe import Segment, TranscribeOptions, Transcript, transcribe
from bench.audio_tools import add_noise, concat
from bench.tts import synthesize

SR = 16_000


def seg(start: float, end: float, text: str) -> Segment:
    return Segment(start=start, end=end, text=text, raw_text=text, avg_logprob=-0.2, no_speech_prob=0.01)


def transcript(*segments: Segment) -> Transcript:
    return Transcript(
        segments=tuple(segments), language="zh", duration_s=60.0, engine="faster-whisper", model="base"
    )


@pytest.fixture(scope="module")
def guide():
    return load_guide(None)


def test_only_absent_timed_phrases_are_rechecked(guide):
    heard = transcript(seg(1.0, 6.0, "您好，请出示您的营业执照。"))
    matches = match_transcript(heard, guide)
    todo = recheck.phrases_to_recheck(matches, guide)
    assert todo == {"opening": float(guide.settings["opening_window_s"])}
    said = transcript(
        seg(0.5, 9.0, "2026年3月5日上午9时，在瀍河区启明南路1号，对某某公司开展检查，执法全过程记录开始。")
    )
    assert recheck.phrases_to_recheck(match_transcript(said, guide), guide) == {}
    off = dataclasses.replace(guide, settings={**guide.settings, "recheck_beam_size": 0})
    assert recheck.phrases_to_recheck(matches, off) == {}


def test_cut_point_falls_in_a_pause_and_merge_replaces_only_the_head():
    first = transcript(
        seg(1.0, 10.0, "甲"), seg(12.0, 49.0, "乙"), seg(50.5, 58.0, "丙"), seg(59.0, 70.0, "丁")
    )
    until = recheck.cut_point(first, 50.0)
    assert until == 49.0  # after 乙, not inside 丙
    assert recheck.cut_point(transcript(seg(40.0, 80.0, "长")), 50.0) == 50.0
    head = transcript(seg(0.8, 9.5, "甲'"), seg(11.9, 48.8, "乙'"))
    merged = recheck.merge_head(first, head, until)
    assert [s.text for s in merged.segments] == ["甲'", "乙'", "丙", "丁"]
    assert merged.duration_s == first.duration_s


@pytest.mark.slow
def test_second_look_with_the_real_model_keeps_a_true_missing_opening(guide):
    """Real speech without an opening: the careful decode runs on the start only and still finds none."""
    lines = ["您好，请出示您的营业执照。", "为保护您的合法权益，监督执法行为，本次执法全过程录音录像。"]
    parts: list = [0.8]
    for text in lines:
        parts += [synthesize(text, seed=5, sr=SR)[0], 1.0]
    audio = add_noise(concat(parts, SR)[0], SR, 20.0, "street", seed=5)
    opts = TranscribeOptions()
    first = transcribe(audio, opts, cache=False)
    matches = match_transcript(first, guide)
    assert {m.phrase_id: m.status for m in matches}["opening"] == "absent"
    looked = recheck.second_look(audio, first, matches, guide, opts, cache=False)
    assert looked is not None
    merged, done = looked
    assert done.phrase_ids == ("opening",) and done.found == () and done.beam_size == 5
    assert 0 < done.until_s <= len(audio) / SR
    assert "录音录像" in "".join(s.text for s in merged.segments)  # the careful decode heard the speech
    assert "仍未检出" in done.note({p.id: p.title for p in guide.phrases})
