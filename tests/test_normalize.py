"""Normalization: canonical text for matching, pinyin view, and the link back to source and time."""

from __future__ import annotations

import pytest

from analyzer.normalize import (
    loose_codes,
    normalize_plain,
    normalize_text,
    normalize_transcript,
    pinyin_of,
    to_simplified,
)
from analyzer.transcribe import Segment, Transcript, Word


def test_traditional_to_simplified_keeps_length():
    src = "執法全過程記錄開始，乾隆後來"
    out = to_simplified(src)
    assert out.startswith("执法全过程记录开始")
    assert len(out) == len(src)


def test_width_punctuation_and_interjections_removed():
    assert normalize_plain("嗯，您好啊！請出示ＡＢＣ１２３。") == "您好请出示abc123"
    assert normalize_plain("罚款金额") == "罚款金额"  # 额 is not stripped inside a word


@pytest.mark.parametrize(
    ("words", "digits"),
    [
        ("二零二零年十二月二十八日", "2020年12月28日"),
        ("第五十条第二项", "第50条第2项"),
        ("第二百七十七条", "第277条"),
        ("处以五千元的罚款", "处以5000元的罚款"),
        ("两万元", "20000元"),
        ("上午九时三十分", "上午9时30分"),
        ("十五日内", "15日内"),
        ("六个月内", "6个月内"),
        ("拨打一一零", "拨打110"),
        ("第四十九条第一款第二项", "第49条第1款第2项"),
    ],
)
def test_numerals_in_number_like_spans(words, digits):
    assert normalize_plain(words) == normalize_plain(digits) == digits


@pytest.mark.parametrize(
    "text", ["全国统一零售价", "一时行为难以控制时", "一五一十", "三三两两", "请你一一核对", "一点也不"]
)
def test_idioms_and_ordinary_words_are_not_converted(text):
    assert normalize_plain(text) == text


def test_pinyin_one_syllable_per_character_with_mixed_runs():
    text = normalize_plain("行政执法申辩权abc12银行")
    syl = pinyin_of(text)
    assert len(syl) == len(text)
    assert syl[:2] == ["xing", "zheng"] and syl[-2:] == ["yin", "hang"]
    assert syl[7:12] == ["a", "b", "c", "1", "2"]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("申辩", "身边"),
        ("执法", "指法"),
        ("全过程", "全国城"),
        ("记录", "纪录"),
        ("申辩", "申辨"),
        ("陈述", "成束"),
    ],
)
def test_homophones_share_the_loose_pinyin_view(a, b):
    assert loose_codes(pinyin_of(a)) == loose_codes(pinyin_of(b))
    assert loose_codes(pinyin_of(a)) != loose_codes(pinyin_of("行政"))


def test_every_normalized_char_points_back_to_its_source_char():
    src = "嗯，違反了《治安管理處罰法》第五十條第二項規定。"
    n = normalize_text(src)
    assert n.text == "违反了治安管理处罚法第50条第2项规定"
    assert len(n.src) == len(n.text) == len(n.loose) == len(n.pinyin)
    assert src[n.src[0]] == "違"
    five = n.text.index("50")
    assert src[n.src[five]] in "五十"
    assert n.source_span(0, 3) == "違反了"
    assert "治安管理處罰法" in n.source_span(3, 10)


def _segment(start, end, text, words=()):
    return Segment(
        start=start,
        end=end,
        text=text,
        raw_text=text,
        avg_logprob=-0.2,
        no_speech_prob=0.0,
        words=tuple(words),
    )


def test_times_come_from_words_and_fall_back_to_interpolation():
    words = [Word(10.0, 10.5, "您好", 0.9), Word(10.6, 11.0, "，", 0.9), Word(11.0, 12.2, "请出示", 0.9)]
    seg1 = _segment(10.0, 12.2, "您好，请出示", words)
    seg2 = _segment(20.0, 22.0, "營業執照")  # no words: interpolated
    n = normalize_transcript(
        Transcript(segments=(seg1, seg2), language="zh", duration_s=30, engine="t", model="t")
    )
    assert n.text == "您好请出示营业执照"
    assert n.times[0] == pytest.approx((10.0, 10.25))
    assert n.times[2][0] == pytest.approx(11.0)
    assert n.times[4][1] == pytest.approx(12.2)
    assert n.times[5] == pytest.approx((20.0, 20.5))
    assert n.times[8] == pytest.approx((21.5, 22.0))
    assert 5 in n.breaks  # long pause between segments ends a sentence
    start, end = n.time_span(2, 9)
    assert start == pytest.approx(11.0) and end == pytest.approx(22.0)


def test_pruned_segmentation_dictionary_keeps_polyphones_in_their_words():
    """Segmentation runs on jieba's dictionary without its rare words (faster start-up): the
    polyphones must still follow the word they are in, as with the full dictionary."""
    import jieba

    from analyzer.normalize import (
        SEGMENTATION_MIN_FREQ,
        _segmentation_dictionary,
        _word_pinyin,
        pinyin_of,
    )

    path = _segmentation_dictionary()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert 50_000 < len(lines) < 200_000
    assert all(len(w) == 1 or int(f) >= SEGMENTATION_MIN_FREQ for w, f in (ln.split() for ln in lines[:5000]))
    cases = {
        "过程中行政处罚": "guo cheng zhong xing zheng chu fa",  # not 中行 (zhong hang, the bank)
        "财务账簿和会计凭证": "cai wu zhang bu he kuai ji ping zheng",
        "任何人不得擅自传播": "ren he ren bu de shan zi chuan bo",
        "我们都会记下来": "wo men dou hui ji xia lai",
    }
    for text, expected in cases.items():
        assert " ".join(pinyin_of(text)) == expected, text
    full = jieba.Tokenizer()  # the unpruned dictionary: words may differ, their pinyin may not
    full.initialize()
    for text in cases:
        assert pinyin_of(text) == [s for w in full.lcut(text, HMM=False) for s in _word_pinyin(w)], text


def test_a_colon_between_digits_stays_in_a_clock_time():
    """下午2:30 keeps its colon (a clause break there turned it into 下午230); 今晚八点 is a time."""
    assert normalize_plain("现在是下午2:30，我们在") == "现在是下午2:30我们在"
    assert normalize_plain("下午2：30") == "下午2:30"
    assert normalize_plain("今晚八点半") == "今晚8点半"


def test_pinyin_comes_from_a_table_built_once_with_pypinyin(tmp_path):
    """The pinyin of every word the segmenter can return is computed once into the cache folder, so a
    fresh process segments and reads pinyin without importing pypinyin (its phrase dictionary is the
    biggest part of a short recording's start-up); the table says what pypinyin says."""
    import os
    import random
    import subprocess
    import sys

    from analyzer.normalize import _pinyin_table, _pypinyin

    code = (
        "import sys; from analyzer.normalize import pinyin_of;"
        "print(' '.join(pinyin_of('执法全过程记录开始，请您出示证件。中行过程中行政处罚')));"
        "print('pypinyin' in sys.modules)"
    )
    env = {**os.environ, "SCRIPTCHECK_CACHE": str(tmp_path / "cache")}
    runs = [subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
            for _ in range(2)]  # fmt: skip
    first, second = (r.stdout.splitlines() for r in runs)
    assert first[0] == second[0].strip() and first[0].startswith("zhi fa quan guo cheng ji lu kai shi")
    assert "xing zheng chu fa" in first[0]
    assert second[1] == "False"  # the table was there: pypinyin not imported
    assert list((tmp_path / "cache").glob("pinyin-*.marshal"))
    table = _pinyin_table()
    assert len(table) > 100_000 and "执法" in table and "㐀" in table
    sample = random.Random(0).sample(sorted(table), 3000)
    assert all(table[w] == _pypinyin(w) for w in sample)
