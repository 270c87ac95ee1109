"""Speaker attribution without Whisper: phrases said by others, guide settings, reports, bad input."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from analyzer import report
from analyzer.guide import PHRASEBOOK_DIR, SPEAKER_SETTING_RANGES, GuideError, load_guide
from analyzer.match import PhraseMatch
from analyzer.pipeline import RecordingResult
from analyzer.rules import evaluate
from analyzer.speakers import (
    DEFAULTS,
    ROLE_LABELS,
    SegmentSpeaker,
    Speakers,
    Turn,
    Voice,
    attribute_matches,
    identify,
)
from analyzer.transcribe import Segment, Transcript


def _voices(confidence: float = 0.9) -> Speakers:
    return Speakers(
        voices=(
            Voice("S1", "wearer", 5.0, -20.0, 30.0, 0.0, confidence=confidence),
            Voice("S2", "other", 5.0, -30.0, 20.0, -3.0, confidence=confidence),
        ),
        turns=(
            Turn(0.0, 5.0, "S1", "wearer"),
            Turn(5.5, 10.0, "S2", "other"),
            Turn(10.5, 14.0, "S1", "wearer"),
        ),
        segments=(),
        confidence=confidence,
    )


def _match(pid: str, a: float, b: float, text: str = "执法全过程记录开始") -> PhraseMatch:
    return PhraseMatch(pid, "present", 95.0, a, b, text, text)


def _matches(guide, said: list[PhraseMatch]) -> list[PhraseMatch]:
    from analyzer.match import absent_match

    by_id = {m.phrase_id: m for m in said}
    return [by_id.get(p.id) or absent_match(p) for p in guide.phrases]


def _transcript(duration: float = 14.0) -> Transcript:
    return Transcript(
        (Segment(5.6, 9.8, "执法全过程记录开始", "执法全过程记录开始", -0.2, 0.01),), "zh", duration, "x", "y"
    )


def _report_of(tmp_path, guide, sp, start_s: float, end_s: float):
    """The report JSON of a 14 s recording whose opening was heard at (start_s, end_s), voices `sp`."""
    import soundfile as sf

    from analyzer.continuity import CaseFile

    wav = tmp_path / "a.wav"
    sf.write(wav, np.zeros(16000 * 14, np.float32), 16000)
    matches = attribute_matches(_matches(guide, [_match("opening", start_s, end_s)]), sp, guide)
    tr = _transcript()
    res = RecordingResult(
        paths=[str(wav)], name=str(wav), files=(CaseFile(str(wav), 0.0, 14.0, None, "order"),)
    )
    res.duration_s, res.transcript, res.matches, res.speakers, res.guide = 14.0, tr, matches, sp, guide
    res.evaluation = evaluate(matches, None, tr, guide)
    return report.recording_to_dict(res)


def test_a_phrase_said_only_by_other_is_absent_for_the_rules_and_kept_as_evidence():
    guide = load_guide()
    matches = attribute_matches(_matches(guide, [_match("opening", 6.0, 9.0)]), _voices(), guide)
    opening = next(m for m in matches if m.phrase_id == "opening")
    assert opening.status == "absent" and opening.speaker == "other" and opening.speaker_id == "S2"
    assert [(o.start_s, o.speaker) for o in opening.said_by_other] == [(6.0, "other")]
    ev = evaluate(matches, None, _transcript(), guide)
    codes = {f.code for f in ev.findings}
    # heard, but only from a voice taken for other: not counted, and not asserted missing either
    assert "opening_missing" not in codes and "opening_needs_listening" in codes
    held = next(f for f in ev.findings if f.code == "opening_needs_listening")
    assert "其他人员" in held.message and held.severity == guide.findings["needs_listening_speaker"].severity
    assert (held.start_s, held.end_s) == (6.0, 9.0)
    assert next(p for p in ev.phrase_scores if p.phrase_id == "opening").points_lost == 0.0


def test_a_phrase_from_other_is_asserted_missing_when_the_attribution_is_sure_or_the_guide_says_so():
    guide = load_guide()
    matches = attribute_matches(_matches(guide, [_match("opening", 6.0, 9.0)]), _voices(), guide)
    sure = [
        dataclasses.replace(
            m, said_by_other=tuple(dataclasses.replace(o, speaker_confidence=1.0) for o in m.said_by_other)
        )
        for m in matches
    ]
    assert "opening_missing" in {f.code for f in evaluate(sure, None, _transcript(), guide).findings}
    strict = dataclasses.replace(guide, settings={**guide.settings, "other_phrase_listen_below": 0.0})
    assert "opening_missing" in {f.code for f in evaluate(matches, None, _transcript(), strict).findings}


def test_the_wearers_occurrence_counts_when_another_voice_also_said_it():
    guide = load_guide()
    by_other, by_wearer = _match("opening", 6.0, 9.0), _match("opening", 11.0, 13.5)
    best = dataclasses.replace(
        by_other, occurrence_matches=(by_other, by_wearer), occurrences=((6.0, 9.0), (11.0, 13.5))
    )
    matches = attribute_matches(_matches(guide, [best]), _voices(), guide)
    opening = next(m for m in matches if m.phrase_id == "opening")
    assert (opening.status, opening.start_s, opening.speaker, opening.speaker_id) == (
        "present",
        11.0,
        "wearer",
        "S1",
    )
    assert opening.occurrences == ((11.0, 13.5),)
    assert [o.start_s for o in opening.said_by_other] == [6.0]


def test_a_phrase_said_by_a_voice_surely_other_does_not_count_and_one_unsurely_other_counts_marked():
    """Only a voice `other` at least `speaker_gate_min_confidence` sure keeps a phrase from counting;
    under the gate the label is a guess, and the phrase counts, marked speaker-unsure."""
    guide = load_guide()
    said = _matches(guide, [_match("opening", 6.0, 9.0)])
    sure = next(m for m in attribute_matches(said, _voices(0.85), guide) if m.phrase_id == "opening")
    assert sure.status == "absent" and (sure.speaker, sure.speaker_confidence) == ("other", 0.85)
    assert [o.start_s for o in sure.said_by_other] == [6.0] and sure.unsure_speaker == ()
    unsure = next(m for m in attribute_matches(said, _voices(0.55), guide) if m.phrase_id == "opening")
    assert unsure.status == "present" and (unsure.speaker, unsure.speaker_id) == ("other", "S2")
    assert unsure.speaker_confidence == 0.55 and unsure.said_by_other == ()
    assert [o.start_s for o in unsure.unsure_speaker] == [6.0]


def test_a_phrase_only_an_officer_says_counts_from_any_voice_marked_and_a_notice_does_not():
    """A party reads notices aloud; it does not ask the officer to sign or impose a fine. The voice
    taken surely for another person's (a split of the officer's voice at 5 dB) says the sign request
    and the opening: the request counts, marked for listening; the opening stays held back."""
    guide = load_guide()
    only = {p.id for p in guide.phrases if p.officer_only}
    assert only >= {"sign_request", "fine_statement", "request_id"}
    assert not only & {"opening", "recording_notice", "rights_notice"}
    said = _matches(guide, [_match("opening", 5.6, 7.0), _match("sign_request", 7.5, 9.8, "请您签字")])
    matches = {m.phrase_id: m for m in attribute_matches(said, _voices(0.95), guide)}
    sign, opening = matches["sign_request"], matches["opening"]
    assert sign.status == "present" and (sign.speaker, sign.speaker_id) == ("other", "S2")
    assert [o.start_s for o in sign.unsure_speaker] == [7.5] and sign.said_by_other == ()
    assert opening.status == "absent" and [o.start_s for o in opening.said_by_other] == [5.6]


def test_windows_of_one_stretch_of_speech_take_its_main_voice():
    """Windows cut from speech without a pause are one person's: a 1.5-s alternation between two
    clusters inside one sentence is smoothed to the voice holding most of it; across a pause, or on a
    tie, the windows keep their voices."""
    from analyzer.speakers import _smooth_runs, _Window

    def w(a: float, b: float) -> _Window:
        return _Window(a, b, None)  # type: ignore[arg-type]

    sentence = [w(0.0, 1.5), w(1.5, 3.0), w(3.0, 4.5), w(4.5, 5.5), w(6.0, 7.5), w(8.0, 9.0), w(9.0, 10.0)]
    labels = ["S1", "S2", "S1", "S2", "S2", "S1", "S2"]
    assert _smooth_runs(sentence, labels) == ["S1", "S1", "S1", "S1", "S2", "S1", "S2"]


def test_a_phrase_from_a_voice_whose_role_is_unsure_counts_marked_for_listening():
    """The wearer's voice, but the decision is a coin flip: the phrase counts (holding it lost the
    officer's own phrases), with the speaker, its confidence and the occurrence to listen to."""
    guide = load_guide()
    said = _matches(guide, [_match("opening", 1.0, 4.0)])
    matches = attribute_matches(said, _voices(confidence=0.55), guide)
    opening = next(m for m in matches if m.phrase_id == "opening")
    assert opening.status == "present" and (opening.speaker, opening.speaker_id) == ("wearer", "S1")
    assert opening.speaker_confidence == 0.55
    assert [o.start_s for o in opening.unsure_speaker] == [1.0] and opening.said_by_other == ()
    codes = {f.code for f in evaluate(matches, None, _transcript(), guide).findings}
    assert "opening_needs_listening" not in codes and "opening_missing" not in codes
    # a reviewer who listened confirms the voice: no longer marked
    sure = _voices(confidence=0.55).with_override("S1", "wearer")
    again = next(m for m in attribute_matches(said, sure, guide) if m.phrase_id == "opening")
    assert again.status == "present" and again.speaker == "wearer" and again.unsure_speaker == ()


def test_a_reviewer_override_makes_that_voice_an_officer():
    guide = load_guide()
    sp = _voices().with_override("S2", "officer")
    matches = attribute_matches(_matches(guide, [_match("opening", 6.0, 9.0)]), sp, guide)
    opening = next(m for m in matches if m.phrase_id == "opening")
    assert (opening.status, opening.speaker) == ("present", "officer")
    assert sp.overrides == {"S2": "officer"} and sp.turns[1].role == "officer"


def test_every_speaker_setting_is_in_the_default_guide_and_validated(tmp_path):
    guide = load_guide()
    assert set(DEFAULTS) <= set(guide.settings) and set(DEFAULTS) == set(SPEAKER_SETTING_RANGES)
    text = (PHRASEBOOK_DIR / "default.toml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(
        text.replace("speaker_gate_min_confidence = 0.8", "speaker_gate_min_confidence = 1.6"), "utf-8"
    )
    line = (
        text.splitlines().index(
            next(x for x in text.splitlines() if x.startswith("speaker_gate_min_confidence"))
        )
        + 1
    )
    with pytest.raises(GuideError, match=rf"bad.toml:{line}: .*speaker_gate_min_confidence"):
        load_guide(bad)


@pytest.mark.parametrize(
    "audio",
    [
        np.zeros(0, np.float32),
        np.zeros(800, np.float32),
        np.zeros(16000 * 5, np.float32),
    ],
    ids=["empty", "50ms", "silence"],
)
def test_no_speech_gives_no_voices_and_zero_confidence(audio):
    from analyzer.vad import speech_probs

    sp = identify([(audio, speech_probs(audio), 0.0)], None)
    assert sp.voices == () and sp.turns == () and sp.confidence == 0.0 and sp.notes


def test_music_like_tones_do_not_crash_and_report_a_confidence():
    t = np.arange(16000 * 8) / 16000
    notes = np.sin(2 * np.pi * (220 * 2 ** (np.floor(t * 2) % 12 / 12)) * t) * 0.3
    probs = np.full(-(-len(t) // 512), 0.9, np.float32)  # as if the VAD took it all for speech
    sp = identify([(notes.astype(np.float32), probs, 0.0)], None)
    assert sp.voices and 0.0 <= sp.confidence <= 1.0
    assert sum(v.role == "wearer" for v in sp.voices) == 1


def test_report_json_html_and_subtitles_carry_the_speaker(tmp_path):

    guide = load_guide()
    sp = dataclasses.replace(_voices(), segments=(SegmentSpeaker(0, "S2", "other", 0.8),))
    rec = _report_of(tmp_path, guide, sp, 6.0, 9.0)
    assert report.SCHEMA_VERSION == "1.13"
    opening = next(p for p in rec["phrases"] if p["id"] == "opening")
    assert opening["status"] == "absent" and opening["speaker"] == "other" and opening["speaker_id"] == "S2"
    assert opening["said_by_other"][0]["start_s"] == 6.0
    seg = rec["transcript"]["segments"][0]
    assert (seg["speaker"], seg["speaker_id"], seg["speaker_label"]) == ("other", "S2", "其他人员")
    assert [v["label"] for v in rec["speakers"]["voices"]] == [ROLE_LABELS["wearer"], ROLE_LABELS["other"]]
    assert "其他人员（S2）：执法全过程记录开始" in report.to_srt(rec)
    assert "其他人员（S2）：执法全过程记录开始" in report.to_vtt(rec)
    html = report.render_html(rec, report.guide_to_dict(guide), tmp_path / "r.html")
    assert 'id="speaker-lanes"' in html and html.count('class="turn role-') == 3
    assert "执法人员（佩戴者） S1" in html and "非执法人员所说，不计入" in html


def test_report_json_and_html_show_a_phrase_counted_from_an_unsure_speaker(tmp_path):

    guide = load_guide()
    sp = _voices(confidence=0.55)
    rec = _report_of(tmp_path, guide, sp, 1.0, 4.0)
    opening = next(p for p in rec["phrases"] if p["id"] == "opening")
    assert opening["status"] == "present" and opening["said_by_other"] == []
    assert (opening["speaker"], opening["speaker_confidence"]) == ("wearer", 0.55)
    assert [(o["start_s"], o["speaker_id"]) for o in opening["unsure_speaker"]] == [(1.0, "S1")]
    assert [v["confidence"] for v in rec["speakers"]["voices"]] == [0.55, 0.55]
    codes = {f["code"] for f in rec["findings"]}
    assert "opening_needs_listening" not in codes and "opening_missing" not in codes
    html = report.render_html(rec, report.guide_to_dict(guide), tmp_path / "r.html")
    assert "说话人不确定（把握 55%），已计入" in html


def test_counts_for_officer_unless_the_voice_is_surely_other():
    from analyzer.speakers import counts_for_officer

    sure, unsure = _voices(confidence=0.9), _voices(confidence=0.55)
    assert counts_for_officer(sure, "S1", 0.8) and counts_for_officer(unsure, "S1", 0.8)
    assert not counts_for_officer(sure, "S2", 0.8)  # `other`, sure of it
    assert counts_for_officer(unsure, "S2", 0.8)  # `other`, a guess
    assert counts_for_officer(sure, "", 0.8)  # no voice told apart: nothing to hold it against
    assert not counts_for_officer(unsure.with_override("S2", "other"), "S2", 0.8)  # a reviewer said so
    assert counts_for_officer(unsure.with_override("S2", "officer"), "S2", 0.8)


def test_a_resume_statement_is_set_aside_only_when_a_voice_surely_other_said_it():
    from analyzer.speakers import said_by_other

    guide = load_guide()
    assert said_by_other(_voices(0.9), 6.0, 9.0, guide)  # `other`, sure of it
    assert not said_by_other(_voices(0.55), 6.0, 9.0, guide)  # `other`, a guess: it counts
    assert not said_by_other(_voices(0.9), 1.0, 4.0, guide)  # the wearer


def test_a_phrase_from_a_voice_surely_other_counts_when_its_speech_sounds_like_the_wearer():
    """A piece of the wearer's voice split off by its distance cues (a long opening read without
    pauses) is `other` at 0.9; its speech sounds like the wearer's (voice margin over
    `speaker_voice_margin`), so its phrase counts, marked speaker-unsure. Not a false opening_missing."""
    guide = load_guide()
    said = _matches(guide, [_match("opening", 6.0, 9.0)])
    split_off = dataclasses.replace(_voices(0.9), voice_checks=((5.5, 7.5, 1.4), (7.5, 10.0, 0.9)))
    opening = next(m for m in attribute_matches(said, split_off, guide) if m.phrase_id == "opening")
    assert opening.status == "present" and (opening.speaker, opening.speaker_id) == ("other", "S2")
    assert [o.start_s for o in opening.unsure_speaker] == [6.0] and opening.said_by_other == ()
    counted = attribute_matches(said, split_off, guide)
    codes = {f.code for f in evaluate(counted, None, _transcript(), guide).findings}
    assert "opening_missing" not in codes
    # speech that sounds no more like the wearer than like another voice: the gate decides, as before
    party = dataclasses.replace(_voices(0.9), voice_checks=((5.5, 7.5, 0.3), (7.5, 10.0, -2.0)))
    held = next(m for m in attribute_matches(said, party, guide) if m.phrase_id == "opening")
    assert held.status == "absent" and [o.start_s for o in held.said_by_other] == [6.0]
    # a reviewer who listened and said `other`: the voice statistics no longer count
    corrected = split_off.with_override("S2", "other")
    assert corrected.voice_checks == ()
    gone = next(m for m in attribute_matches(said, corrected, guide) if m.phrase_id == "opening")
    assert gone.status == "absent"


def test_voice_margin_weighs_the_checked_windows_by_their_overlap():
    sp = dataclasses.replace(_voices(0.9), voice_checks=((0.0, 1.0, 2.0), (1.0, 4.0, -1.0)))
    assert sp.voice_margin(0.0, 1.0) == pytest.approx(2.0)
    assert sp.voice_margin(0.5, 2.5) == pytest.approx((0.5 * 2.0 - 1.5) / 2.0)
    assert sp.voice_margin(5.0, 6.0) == 0.0 and sp.voice_margin(None, None) == 0.0
