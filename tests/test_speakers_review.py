"""Statements the officer must make count only when an officer said them (resume statements, like
guide phrases), and a reviewer's correction of a voice re-runs the rules on the stored result."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from analyzer import continuity as C
from analyzer.guide import load_guide
from analyzer.match import PhraseMatch, absent_match
from analyzer.pipeline import RecordingResult, reevaluate
from analyzer.resumption import check_resumption, check_resumptions
from analyzer.speakers import Speakers, Turn, Voice
from analyzer.transcribe import Segment, Transcript

REASON = "因执法记录仪电量不足中止记录，现在重新开始记录。"


@pytest.fixture(scope="module")
def guide():
    return load_guide()


def _speakers(reason_by: str = "other", confidence: float = 0.9) -> Speakers:
    """S1 the wearer; S2 speaks 1-13 s (where the resume statement is) and 20-28 s."""
    role2 = "wearer" if reason_by == "wearer" else reason_by
    return Speakers(
        voices=(Voice("S1", "wearer", 8.0, -20.0, 30.0, 0.0), Voice("S2", role2, 16.0, -30.0, 20.0, -3.0)),
        turns=(
            Turn(0.0, 0.8, "S1", "wearer"),
            Turn(1.0, 13.0, "S2", role2),
            Turn(14.0, 19.0, "S1", "wearer"),
            Turn(20.0, 28.0, "S2", role2),
        ),
        segments=(),
        confidence=confidence,
    )


def _said(text: str, start: float = 1.0) -> Transcript:
    seg = Segment(start, start + 0.25 * len(text), text, text, -0.2, 0.01)
    return Transcript((seg,), "zh", 60.0, "test", "none")


def test_a_resume_reason_said_by_another_person_does_not_count(guide):
    event = C.GapEvent("file_gap", 10.0, 250.0)
    res = check_resumption(event, _said(REASON), guide, resume_at_s=0.0, speakers=_speakers("other"))
    assert res.checked and not res.reason_given
    assert "电量不足" in res.said_by_other and res.to_dict()["said_by_other"] == res.said_by_other
    officer = check_resumption(event, _said(REASON), guide, resume_at_s=0.0, speakers=_speakers("officer"))
    assert officer.reason_given and officer.said_by_other == ""


def test_a_reason_said_by_another_person_does_not_count_even_when_the_decision_is_unsure(guide):
    event = C.GapEvent("file_gap", 10.0, 250.0)
    unsure = _speakers("other", confidence=0.55)
    res = check_resumption(event, _said(REASON), guide, resume_at_s=0.0, speakers=unsure)
    assert res.checked and not res.reason_given and "电量不足" in res.said_by_other


def test_case_offsets_place_the_resumed_file_on_the_speakers_timeline(guide):
    """The resumed file starts at 100 s of the case: its speech at 1 s is at 101 s, the wearer's."""
    sp = dataclasses.replace(
        _speakers("other"), turns=(*_speakers("other").turns, Turn(100.0, 115.0, "S1", "wearer"))
    )
    report = C.ContinuityReport(
        files=(
            C.CaseFile("a.wav", 0.0, 30.0, None, "order"),
            C.CaseFile("b.wav", 100.0, 30.0, None, "order"),
        ),
        events=(C.GapEvent("file_gap", 30.0, 100.0, file="b.wav", file_start_s=0.0, file_end_s=0.0),),
    )
    out = check_resumptions(report, {"b.wav": _said(REASON)}, guide, speakers=sp)
    assert [r.reason_given for r in out.resumptions] == [True]


def _match(pid: str, a: float, b: float, text: str) -> PhraseMatch:
    return PhraseMatch(pid, "present", 95.0, a, b, text, text)


def stored_result(guide, path: str = "a.wav") -> RecordingResult:
    """What the pipeline keeps: the opening heard in S2's voice, which the analysis took for a party
    (a hand-made transcript; tests/test_web_speakers_e2e.py does the same on synthesized speech)."""
    from analyzer.pipeline import _attribute_and_evaluate
    from analyzer.speakers import _segments, settings_of

    opening = "现在是2024年3月8日14时，在某某公司，就日常检查事由，执法全过程记录开始。"
    heard = [
        _match("opening", 1.5, 12.0, opening) if p.id == "opening" else absent_match(p) for p in guide.phrases
    ]
    transcript = Transcript(
        (
            Segment(1.0, 13.0, opening, opening, -0.2, 0.01),
            Segment(14.2, 18.5, "好的，我们在这里等您。", "好的，我们在这里等您。", -0.2, 0.01),
        ),
        "zh",
        30.0,
        "test",
        "none",
    )
    files = (C.CaseFile(path, 0.0, 30.0, None, "order"),)
    result = RecordingResult(paths=[path], name=Path(path).name, guide=guide, transcript=transcript,
                             transcripts={path: transcript}, duration_s=30.0, files=files)  # fmt: skip
    sp = _speakers("other")
    result.speakers = dataclasses.replace(sp, segments=_segments(sp, transcript, settings_of(guide)))
    result.heard = heard
    result.plain_continuity = C.ContinuityReport(files=files, events=())
    _attribute_and_evaluate(result)
    return result


_stored_result = stored_result


def test_a_voice_reclassified_as_the_wearer_satisfies_the_phrase_and_the_finding_goes(guide):
    stored = _stored_result(guide)
    assert "opening_missing" in {f.code for f in stored.evaluation.findings}
    before = stored.evaluation.score
    fixed = reevaluate(stored, {"S2": "wearer"})
    opening = next(m for m in fixed.matches if m.phrase_id == "opening")
    assert (opening.status, opening.speaker, opening.speaker_id) == ("present", "wearer", "S2")
    assert "opening_missing" not in {f.code for f in fixed.evaluation.findings}
    assert fixed.evaluation.score > before and fixed.speakers.overrides == {"S2": "wearer"}
    # the stored analysis is left as it was
    assert "opening_missing" in {f.code for f in stored.evaluation.findings}
    assert stored.speakers.overrides == {} and stored.evaluation.score == before


def test_a_correction_to_other_takes_a_phrase_away_even_from_an_unsure_analysis(guide):
    from analyzer.pipeline import _attribute_and_evaluate

    stored = _stored_result(guide)
    stored.speakers = _speakers("wearer", confidence=0.55)  # S2 taken for a wearer voice

    _attribute_and_evaluate(stored)
    assert "opening_missing" not in {f.code for f in stored.evaluation.findings}
    fixed = reevaluate(stored, {"S2": "other"})
    assert "opening_missing" in {f.code for f in fixed.evaluation.findings}
    assert fixed.speakers.confidence == 1.0


def test_an_unknown_voice_or_role_is_refused(guide):
    stored = _stored_result(guide)
    with pytest.raises(ValueError):
        reevaluate(stored, {"S9": "wearer"})
    with pytest.raises(ValueError):
        reevaluate(stored, {"S2": "boss"})
