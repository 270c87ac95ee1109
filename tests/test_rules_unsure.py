"""Findings that rest on something heard badly or guessed are held for a reviewer, not asserted:
a resume window heard with low confidence, a phrase only an unsure profile inference requires."""

from __future__ import annotations

import dataclasses

import pytest

from analyzer.continuity import CaseFile, ContinuityReport, GapEvent, Resumption
from analyzer.guide import load_guide
from analyzer.rules import evaluate
from analyzer.transcribe import Segment, Transcript
from tests.test_rules import check_points_add_up, codes, matches, single, transcript


@pytest.fixture(scope="module")
def guide():
    return load_guide()


FILES = (CaseFile("a.mp4", 0.0, 60.0, None, "filename"), CaseFile("b.mp4", 300.0, 60.0, None, "filename"))
GAP = GapEvent("file_gap", 60.0, 300.0, file="b.mp4", file_start_s=0.0, detail="两文件间隔 4 分钟")
COMPLIANT = {"opening": (1.0, 8.0), "request_id": (10.0, 12.0), "recording_notice": (13.0, 19.0)}


def resumed(logprob: float, length_s: float = 3.5) -> Transcript:
    """The first file heard well; the resumed file opens with a sentence heard with `logprob`
    (Whisper's reading of 因设备电量不足中止记录 by another voice at 5 dB), then a clear one."""
    segs = (
        Segment(1.0, 8.0, "执法全过程记录开始", "执法全过程记录开始", -0.2, 0.02),
        Segment(300.5, 300.5 + length_s, "设备共上中大的进入简单继续", "", logprob, 0.1),
        Segment(306.0, 310.0, "请您认真阅读法律文书内容并在签名处签名", "", -0.2, 0.02),
    )
    return Transcript(segs, "zh", 360.0, "faster-whisper", "base")


def _unexplained(guide, t: Transcript):
    cont = ContinuityReport(files=FILES, events=(GAP,), resumptions=(Resumption(GAP, False),))
    return evaluate(matches(guide, COMPLIANT), cont, t, guide)


def test_a_resume_window_heard_badly_needs_listening_instead_of_unexplained(guide):
    ev = _unexplained(guide, resumed(-0.95))
    assert "interruption_unexplained" not in codes(ev)
    f = next(f for f in ev.findings if f.code == "interruption_reason_needs_listening")
    assert (f.start_s, f.end_s) == (300.5, 304.0) and f.file == "b.mp4"
    assert "置信度低" in f.message and f.severity == guide.findings["needs_listening_unsure"].severity
    reason = next(ps for ps in ev.phrase_scores if ps.phrase_id == "interruption_reason")
    assert reason.points_lost == 0.0
    check_points_add_up(ev)


@pytest.mark.parametrize(("logprob", "length_s"), [(-0.2, 3.5), (-0.95, 0.8)])
def test_a_resume_window_heard_well_still_asserts_the_missing_reason(guide, logprob, length_s):
    """Heard with confidence (or only a short word heard badly): the reason was not said."""
    ev = _unexplained(guide, resumed(logprob, length_s))
    assert "interruption_unexplained" in codes(ev)
    assert "interruption_reason_needs_listening" not in codes(ev)


def test_without_the_setting_a_badly_heard_window_is_asserted(guide):
    settings = {k: v for k, v in guide.settings.items() if k != "resume_listen_unsure_s"}
    g = dataclasses.replace(guide, settings=settings)
    assert "interruption_unexplained" in codes(_unexplained(g, resumed(-0.95)))


INSPECTION_WITH_SIGNING = dict(COMPLIANT, sign_request=(40.0, 45.0))


def test_a_cause_word_that_tips_the_inference_does_not_assert_a_missing_rights_notice(guide):
    """审计调查取证 said as the cause of an inspection: 调查 and 取证 make it look like an
    investigation, which also needs the rights notice; inspection fits nearly as well."""
    t = transcript("2026年12月1日上午9时，在华林超市，就审计调查取证事由，执法全过程记录开始。")
    ev = evaluate(matches(guide, INSPECTION_WITH_SIGNING), single(), t, guide)
    assert ev.profile == "investigation" and ev.profile_inferred
    assert "rights_notice_missing" not in codes(ev)
    f = next(f for f in ev.findings if f.code == "rights_notice_profile_unsure")
    assert "调查取证" in f.message and "行政检查" in f.message
    rights = next(ps for ps in ev.phrase_scores if ps.phrase_id == "rights_notice")
    assert rights.required and rights.points_lost == 0.0 and "确认执法类型" in rights.reasons[0]
    check_points_add_up(ev)


def test_a_clear_inference_still_asserts_the_missing_rights_notice(guide):
    said = dict(INSPECTION_WITH_SIGNING, fine_statement=(30.0, 38.0), return_documents=(50.0, 52.0))
    t = transcript("对您处以2000元的罚款")
    ev = evaluate(matches(guide, said), single(), t, guide)
    assert ev.profile == "on_site_penalty" and "rights_notice_missing" in codes(ev)
    assert "rights_notice_profile_unsure" not in codes(ev)


def test_a_given_profile_is_not_second_guessed(guide):
    t = transcript("就审计调查取证事由，执法全过程记录开始。")
    ev = evaluate(matches(guide, INSPECTION_WITH_SIGNING), single(), t, guide, profile="investigation")
    assert "rights_notice_missing" in codes(ev) and "rights_notice_profile_unsure" not in codes(ev)
