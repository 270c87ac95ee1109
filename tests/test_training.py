"""Training mode: feedback on attempts, scenarios, history; real-model tests on synthesized attempts."""

from __future__ import annotations

import json

import pytest

from analyzer.guide import load_guide
from analyzer.training import (
    TrainingStore,
    count_fillers,
    evaluate_attempt,
    evaluate_transcript,
    format_history,
)
from analyzer.transcribe import Segment, Transcript, Word


@pytest.fixture(scope="module")
def guide():
    return load_guide()


def _said(text: str, seconds: float, start: float = 0.0) -> Segment:
    """A segment whose characters are spread evenly over `seconds` (word timestamps like Whisper's)."""
    n = len(text)
    words = tuple(
        Word(start + i * seconds / n, start + (i + 1) * seconds / n, c, 0.9) for i, c in enumerate(text)
    )
    return Segment(
        start=start,
        end=start + seconds,
        text=text,
        raw_text=text,
        avg_logprob=-0.2,
        no_speech_prob=0.0,
        words=words,
    )


def _t(*segments: Segment) -> Transcript:
    return Transcript(
        segments=segments, language="zh", duration_s=segments[-1].end + 0.5, engine="t", model="t"
    )


def test_clean_reading_scores_high_with_normal_rate(guide):
    fb = evaluate_transcript(_t(_said("您享有陈述权、申辩权和行政救济权利。", 4.0)), "rights_notice", guide)
    assert fb.score >= 95 and fb.phrases[0].status == "present"
    assert 3.0 < fb.chars_per_s < 5.0 and not fb.too_fast
    assert fb.resembles is None and fb.fillers == {}


def test_dropped_term_is_named_and_is_the_tip(guide):
    fb = evaluate_transcript(_t(_said("您享有陈述权和行政救济权利。", 3.5)), "rights_notice", guide)
    p = fb.phrases[0]
    assert p.missing_terms == ["申辩权"]
    assert "[缺:申辩权]" in p.marked
    assert "申辩权" in fb.tip
    assert any("漏说关键词：申辩权" in n for n in p.notes)


def test_fast_reading_and_fillers_are_flagged(guide):
    text = "嗯，那个，您享有陈述权、申辩权，就是，和行政救济权利。"
    fb = evaluate_transcript(_t(_said(text, 2.0)), "rights_notice", guide)
    assert fb.too_fast and fb.chars_per_s > guide.settings["max_chars_per_s"]
    assert fb.fillers == {"嗯": 1, "那个": 1, "就是": 1}
    assert any("语速过快" in n for n in fb.notes) and any("口头语" in n for n in fb.notes)


def test_fillers_inside_the_standard_wording_are_not_counted():
    assert count_fillers("就是这个那个", ["那个", "就是"], ["这就是标准"]) == {"那个": 1}


def test_wrong_phrase_scores_low_and_names_what_it_resembles(guide):
    fb = evaluate_transcript(
        _t(_said("请您认真阅读法律文书内容，并在签名处签名。", 4.5)), "rights_notice", guide
    )
    assert fb.score < guide.settings["partial_score"]
    assert fb.resembles == "sign_request"
    assert "请签收法律文书" in fb.tip


def test_slots_unfilled_or_implausible(guide):
    fb = evaluate_transcript(
        _t(_said("您的违法行为违反了审计法，依据审计法的规定，对您处以罚款。", 6.0)), "fine_statement", guide
    )
    p = fb.phrases[0]
    assert "罚款金额" in p.missing_slots or "罚款金额" in p.implausible_slots
    assert "条款项" in p.missing_slots


def test_scenario_reports_each_phrase_and_order_mistakes(guide):
    t = _t(
        _said(
            "二零二三年七月十二日上午十时，瀍河区中州东路六十六号顺发超市，对该超市进行检查，执法全过程记录开始。",
            9,
            0,
        ),
        _said("您好，请出示营业执照。", 2.5, 10),
        _said("为保护您的合法权益，监督执法行为，本次执法全过程录音录像。", 6, 13),
        _said(
            "您的违规销售过期食品的行为违反了《食品安全法》，依据《食品安全法》第一百二十四条的规定，对您处以五千元的罚款。",
            12,
            20,
        ),
        _said("您享有陈述权、申辩权和行政救济权利。", 4, 33),
        _said("请您认真阅读法律文书内容，并在签名处签名。", 5, 38),
        _said("请您收好文书。", 2, 44),
    )
    fb = evaluate_transcript(t, "on_site_penalty", guide)
    assert fb.kind == "scenario"
    assert [p.phrase_id for p in fb.phrases] == list(guide.profile("on_site_penalty").sequence)
    assert all(p.status == "present" for p in fb.phrases)
    assert any("告知陈述申辩与救济权利」应在「当场罚款告知」之前" in m for m in fb.order_mistakes)
    assert "顺序" in fb.tip


def test_unknown_target_is_an_error(guide):
    with pytest.raises(KeyError):
        evaluate_transcript(_t(_said("您好", 1)), "nope", guide)


def test_store_keeps_best_latest_and_weak(tmp_path, guide):
    store = TrainingStore(tmp_path / "train.sqlite")
    for text in ["您享有陈述权和行政救济权利。", "您享有陈述权、申辩权和行政救济权利。", "您享有陈述权。"]:
        fb = evaluate_transcript(_t(_said(text, 3.5)), "rights_notice", guide)
        store.record("李四", fb)
    fb = evaluate_transcript(_t(_said("请您收好文书。", 2)), "return_documents", guide)
    attempt = store.record("李四", fb)
    prog = {p.phrase_id: p for p in store.progress("李四", guide.settings["weak_score"])}
    assert prog["rights_notice"].attempts == 3
    assert prog["rights_notice"].best >= 95 and prog["rights_notice"].latest < prog["rights_notice"].best
    assert prog["rights_notice"].weak and not prog["return_documents"].weak
    assert store.weak_phrases("李四", guide) == ["rights_notice"]
    assert store.feedback(attempt)["target"] == "return_documents"
    assert store.trainees() == ["李四"]
    text = format_history(store, "李四", guide)
    assert "仍然薄弱：告知陈述申辩与救济权利" in text and "尚未练习" in text


def test_feedback_serializes(guide):
    fb = evaluate_transcript(_t(_said("您享有陈述权、申辩权和行政救济权利。", 4.0)), "rights_notice", guide)
    d = json.loads(json.dumps(fb.to_dict(), ensure_ascii=False))
    assert d["phrases"][0]["phrase_id"] == "rights_notice"
    assert "改进建议" in fb.format_text()


# -- real model on synthesized attempts ------------------------------------------------------------

PERFECT = "您享有陈述权、申辩权和行政救济权利。"
DROPPED = "您享有陈述权和行政救济权利。"
WRONG = "请您认真阅读法律文书内容，并在签名处签名。"


@pytest.fixture(scope="module")
def attempts(tmp_path_factory):
    """Synthesized attempts (bench/tts.py, cached), each transcribed once by the real model."""
    from bench.tts import synthesize_to_file

    folder = tmp_path_factory.mktemp("attempts")
    specs = {
        "perfect": (PERFECT, 1.0),
        "dropped": (DROPPED, 1.0),
        "fast": (PERFECT, 1.8),
        "wrong": (WRONG, 1.0),
    }
    return {
        k: synthesize_to_file(text, folder / f"{k}.wav", seed=3, speed=speed)
        for k, (text, speed) in specs.items()
    }


@pytest.mark.slow
def test_synthesized_attempts_end_to_end(attempts, guide, tmp_path):
    store = TrainingStore(tmp_path / "t.sqlite")
    perfect = evaluate_attempt(attempts["perfect"], "rights_notice", guide, trainee="王五", store=store)
    assert perfect.score >= 90, perfect.format_text()
    assert not perfect.too_fast

    dropped = evaluate_attempt(attempts["dropped"], "rights_notice", guide, trainee="王五", store=store)
    assert "申辩权" in dropped.phrases[0].missing_terms, dropped.format_text()
    assert dropped.score < perfect.score

    fast = evaluate_attempt(attempts["fast"], "rights_notice", guide)
    assert fast.too_fast, fast.format_text()
    assert fast.chars_per_s > perfect.chars_per_s * 1.4

    wrong = evaluate_attempt(attempts["wrong"], "rights_notice", guide)
    assert wrong.score < guide.settings["partial_score"], wrong.format_text()
    assert wrong.resembles == "sign_request"

    prog = {p.phrase_id: p for p in store.progress("王五")}
    assert prog["rights_notice"].attempts == 2 and prog["rights_notice"].best == perfect.score


@pytest.mark.slow
def test_train_cli_prints_feedback_and_history(attempts, tmp_path, capsys):
    from analyzer.cli import main

    db = str(tmp_path / "cli.sqlite")
    assert (
        main(
            ["train", "--phrase", "rights_notice", str(attempts["dropped"]), "--trainee", "赵六", "--db", db]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "申辩权" in out and "改进建议" in out
    assert main(["train", "--history", "赵六", "--db", db]) == 0
    assert "rights_notice" in capsys.readouterr().out
    assert main(["train", "--phrase", "nope", str(attempts["dropped"]), "--db", db]) == 2


def test_practice_targets_list_phrases_and_scenarios(guide):
    from analyzer.training import practice_targets

    targets = {t["id"]: t for t in practice_targets(guide)}
    assert targets["rights_notice"]["kind"] == "phrase" and "申辩权" in targets["rights_notice"]["example"]
    penalty = targets["on_site_penalty"]
    assert penalty["kind"] == "scenario" and penalty["phrases"][0] == "opening"
    assert "【罚款金额】" in "".join(penalty["standards"])


def test_train_cli_empty_recording_is_one_line_naming_the_file_once(tmp_path, capsys):
    import numpy as np
    import soundfile as sf

    from analyzer.cli import main

    empty = tmp_path / "attempt.wav"
    sf.write(empty, np.zeros(0, np.float32), 16_000)
    assert main(["train", "--phrase", "opening", str(empty)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.count(str(empty)) == 1 and "empty recording" in err
