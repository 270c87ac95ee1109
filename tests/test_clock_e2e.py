"""第八条 end to end: real synthesized speech through the real Whisper base model and `scriptcheck
analyze FOLDER`. Openings that state the time in several forms, in files whose clocks are right or
wrong: one device's split recording named by the camera (the resume statement checked too), the same
opening under a wrong name, renamed files that only have their modification time, and an mp4 with a
container creation_time.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow

SR = 16_000
PLACE = "我们在瀍河区中州东路88号，对该公司财务收支情况进行审计检查，执法全过程记录开始。"
OPENING_DATE = "现在是二零二六年三月十五日下午两点半，" + PLACE  # date + 下午两点半
OPENING_TODAY = "今天下午两点半，" + PLACE  # relative to the file's date
OPENING_24H = "现在是14点30分，" + PLACE
OPENING_QUARTER = "现在是上午十点一刻，" + PLACE
RESUME = "现在是下午两点五十分，因执法记录仪电量不足中止记录，现在重新开始记录。"
REQUEST = "您好，请出示营业执照。"
UTC_OFFSET = timedelta(hours=8)  # the guide's clock_utc_offset_h


def speech(texts: list[str], seed: int) -> np.ndarray:
    from bench.audio_tools import add_noise, concat
    from bench.tts import synthesize

    parts: list[np.ndarray | float] = [0.6]
    for text in texts:
        parts += [synthesize(text, sr=SR)[0], 0.9]
    audio, _ = concat(parts, SR)
    return add_noise(audio, SR, 30.0, "white", seed=seed)


def set_start_by_mtime(path: Path, local_start: datetime, duration_s: float) -> None:
    """The modification time a file gets when the device closes it, for a device on UTC+8."""
    end = (local_start + timedelta(seconds=duration_s) - UTC_OFFSET).replace(tzinfo=UTC).timestamp()
    os.utime(path, (end, end))


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    import contextlib
    import io

    from analyzer.cli import main
    from bench.audio_tools import write_audio, write_mp4

    root = tmp_path_factory.mktemp("clock") / "in"
    root.mkdir()
    t0 = datetime(2026, 3, 15, 14, 30, 0)
    first = speech([OPENING_DATE, REQUEST], 1)
    write_audio(root / f"DEVICE01_{t0:%Y%m%d_%H%M%S}.wav", first, SR)
    resumed_at = t0 + timedelta(minutes=20)  # the resume statement says 两点五十分
    write_audio(root / f"DEVICE01_{resumed_at:%Y%m%d_%H%M%S}.wav", speech([RESUME, REQUEST], 2), SR)
    # the same opening, on a camera whose clock runs 90 minutes fast
    write_audio(root / "DEVICE02_20260315_160000.wav", first, SR)
    today = speech([OPENING_TODAY], 3)
    ok = write_audio(root / "renamed_ok.wav", today, SR)
    set_start_by_mtime(ok, t0, len(today) / SR)
    wrong = root / "renamed_wrong.wav"
    shutil.copyfile(ok, wrong)
    set_start_by_mtime(wrong, t0 - timedelta(minutes=90), len(today) / SR)  # ended before 两点半
    h24 = speech([OPENING_24H], 4)
    write_audio(root / "DEVICE03_20260315_143000.wav", h24, SR)
    quarter = speech([OPENING_QUARTER], 5)
    write_mp4(root / "morning.mp4", quarter, SR, creation_time=datetime(2026, 3, 15, 2, 15, tzinfo=UTC))

    out = tmp_path_factory.mktemp("out")
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(["analyze", str(root), "-o", str(out), "--format", "json,html", "--no-progress"])
    recs = {}
    for p in out.glob("*.json"):
        doc = json.loads(p.read_text("utf-8"))
        for r in doc.get("recordings", []):
            recs[Path(r["files"][0]["path"]).name] = r
    return code, out, recs


def clock(recs: dict, name: str) -> list[dict]:
    return recs[name]["clock"]


def codes(recs: dict, name: str) -> list[str]:
    return [f["code"] for f in recs[name]["findings"]]


def test_right_clock_in_a_split_recording_and_its_resume_statement(analysed):
    code, _, recs = analysed
    assert code == 0
    r = recs["DEVICE01_20260315_143000.wav"]
    assert r["kind"] == "case" and len(r["files"]) == 2
    opening, resumed = r["clock"]
    assert opening["role"] == "opening" and opening["status"] == "ok" and opening["source"] == "filename"
    assert opening["spoken"] == "2026-03-15T14:30"
    assert resumed["role"] == "resumption" and resumed["status"] == "ok"
    assert Path(resumed["file"]).name == "DEVICE01_20260315_145000.wav"
    assert resumed["spoken"] == "2026-03-15T14:50"
    assert "clock_mismatch" not in codes(recs, "DEVICE01_20260315_143000.wav")


def test_wrong_file_name_time_is_a_major_mismatch_stating_both_times_and_the_source(analysed):
    _, out, recs = analysed
    [c] = clock(recs, "DEVICE02_20260315_160000.wav")
    assert c["status"] == "mismatch" and c["source"] == "filename"
    assert c["difference_s"] == pytest.approx(-90 * 60, abs=120)
    [f] = [f for f in recs["DEVICE02_20260315_160000.wav"]["findings"] if f["code"] == "clock_mismatch"]
    assert f["severity"] == "major"
    assert "2:30" in f["message"] and "2026-03-15 16:00" in f["message"] and "文件名" in f["message"]
    assert "1 小时 2" in f["message"]  # 1 小时 29/30 分
    html = (out / "DEVICE02_20260315_160000.wav.html").read_text("utf-8")
    assert "设备时钟核对（第八条，开场白）：不符" in html


def test_renamed_files_fall_back_to_the_modification_time(analysed):
    _, _, recs = analysed
    [ok] = clock(recs, "renamed_ok.wav")
    assert ok["source"] == "mtime" and ok["status"] == "ok"
    assert ok["spoken"] == "2026-03-15T14:30"  # 今天: the file's date
    [wrong] = clock(recs, "renamed_wrong.wav")
    assert wrong["source"] == "mtime" and wrong["status"] == "mismatch"
    assert wrong["difference_s"] == pytest.approx(90 * 60, abs=120)  # said later than the file ended
    assert "clock_mismatch" in codes(recs, "renamed_wrong.wav")


def test_twenty_four_hour_form(analysed):
    _, _, recs = analysed
    [c] = clock(recs, "DEVICE03_20260315_143000.wav")
    assert c["status"] == "ok" and c["spoken"] == "2026-03-15T14:30"


def test_creation_time_source_and_damaged_speech_never_a_false_mismatch(analysed):
    """十点一刻 comes out of Whisper as 10点1克: read as unknown (checked unread), not as 10:01."""
    _, _, recs = analysed
    [c] = clock(recs, "morning.mp4")
    assert c["source"] == "creation_time" and c["file_start"].startswith("2026-03-15T10:15")
    assert c["status"] in ("ok", "unchecked")
    if c["status"] == "unchecked":
        assert "无法可靠识别" in c["reason"]
        assert "clock_unchecked" in codes(recs, "morning.mp4")
    else:
        assert c["spoken"] == "2026-03-15T10:15"
