"""End to end: a folder of loose files as a body camera leaves them (one recording split into files
named DEVICE_YYYYMMDD_HHMMSS.wav), another camera's files interleaved in time, and an unrelated
file, through `scriptcheck analyze FOLDER` without flags. Real synthesized speech and the real
Whisper base model; short clips of phrases other tests synthesize too, so the cost stays small.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow

SR = 16_000
T0 = datetime(2026, 3, 15, 14, 30, 0)
OPENING = (
    "现在是2024年3月15日上午9时30分，我们在瀍河区中州东路88号，对该公司财务收支情况进行审计检查，"
    "执法全过程记录开始。"
)
REQUEST = "您好，请出示营业执照。"
RETURN = "请您收好文书。"
REASON = "因执法记录仪电量不足中止记录，现在重新开始记录。"
GAP_1 = 14 * 60  # DEVICE01: first file's end to the second file's start
GAP_2 = 3 * 60
GAP_DEV2 = 10 * 60


def speech(texts: list[str], seed: int) -> np.ndarray:
    from bench.audio_tools import add_noise, concat
    from bench.tts import synthesize

    parts: list[np.ndarray | float] = [0.6]
    for text in texts:
        parts += [synthesize(text, sr=SR)[0], 0.9]
    audio, _ = concat(parts, SR)
    return add_noise(audio, SR, 30.0, "white", seed=seed)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> tuple[Path, dict[str, list[str]]]:
    """DEVICE01: three parts (the second resumes with the reason, the third without); DEVICE02: two
    parts that start inside DEVICE01's gaps; note.wav: no time in its name."""
    from bench.audio_tools import write_recording

    root = tmp_path_factory.mktemp("split") / "in"
    root.mkdir()
    names: dict[str, list[str]] = {"DEVICE01": [], "DEVICE02": []}

    def put(device: str, start: datetime, texts: list[str], seed: int) -> datetime:
        audio = speech(texts, seed)
        path = write_recording(root / f"{device}_{start:%Y%m%d_%H%M%S}.wav", audio, SR)
        names[device].append(path.name)
        # the camera names the next part after the second it starts in: round up past this one's end
        return start + timedelta(seconds=math.ceil(len(audio) / SR))

    end = put("DEVICE01", T0, [OPENING, REQUEST], 1)
    end = put("DEVICE01", end + timedelta(seconds=GAP_1), [REASON, RETURN], 2)
    put("DEVICE01", end + timedelta(seconds=GAP_2), [RETURN], 3)
    end = put("DEVICE02", T0 + timedelta(minutes=5), [REQUEST], 4)
    put("DEVICE02", end + timedelta(seconds=GAP_DEV2), [RETURN], 5)
    write_recording(root / "note.wav", speech([REQUEST], 6), SR)
    return root, names


@pytest.fixture(scope="module")
def analysed(folder, tmp_path_factory):
    import contextlib
    import io

    from analyzer.cli import main

    root, _ = folder
    out = tmp_path_factory.mktemp("out")
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(["analyze", str(root), "-o", str(out), "--format", "json,html,csv", "--no-progress"])
    docs = {p.name[: -len(".json")]: json.loads(p.read_text("utf-8")) for p in out.glob("*.json")}
    docs = {k: v for k, v in docs.items() if k != "report" and not k.startswith(".")}
    return code, out, docs, buf.getvalue()


def rec(docs: dict, stem: str) -> dict:
    return docs[stem]["recordings"][0]


def test_one_device_split_recording_is_one_case_with_its_gaps(folder, analysed):
    root, names = folder
    code, out, docs, _ = analysed
    assert code == 0
    assert set(docs) == {Path(names["DEVICE01"][0]).stem, Path(names["DEVICE02"][0]).stem, "note.wav"}
    r = rec(docs, Path(names["DEVICE01"][0]).stem)
    assert r["kind"] == "case" and not r["error"]
    assert [Path(f["path"]).name for f in r["files"]] == names["DEVICE01"]
    g = r["grouping"]
    assert g["reason"] == "same_device_chained" and g["device"] == "DEVICE01"
    assert g["device_source"] == "filename" and g["start_source"] == "filename"
    assert [Path(f["path"]).name for f in g["files"]] == names["DEVICE01"]
    assert g["gaps_s"] == pytest.approx([GAP_1, GAP_2], abs=1.5)
    # the gaps between the files are reported, on the case timeline, each checked for its reason
    gaps = [x for x in r["gaps"] if x["kind"] == "file_gap"]
    assert [x["duration_s"] for x in gaps] == pytest.approx([GAP_1, GAP_2], abs=1.5)
    assert [Path(x["file"]).name for x in gaps] == names["DEVICE01"][1:]
    assert [x["reason_given"] for x in r["resumptions"]] == [True, False]
    codes = [f["code"] for f in r["findings"]]
    assert "opening_missing" not in codes  # the later parts are not recordings of their own
    unexplained = [f for f in r["findings"] if f["code"] == "interruption_unexplained"]
    assert [Path(f["file"]).name for f in unexplained] == [names["DEVICE01"][2]]
    assert next(p for p in r["phrases"] if p["id"] == "opening")["status"] == "present"


def test_interleaved_device_is_its_own_case_and_unrelated_file_its_own_recording(folder, analysed):
    _, names = folder
    _, _, docs, _ = analysed
    r = rec(docs, Path(names["DEVICE02"][0]).stem)
    assert r["kind"] == "case" and r["grouping"]["device"] == "DEVICE02"
    assert [Path(f["path"]).name for f in r["files"]] == names["DEVICE02"]
    [gap] = [x for x in r["gaps"] if x["kind"] == "file_gap"]
    assert gap["duration_s"] == pytest.approx(GAP_DEV2, abs=1.5)
    note = rec(docs, "note.wav")
    assert note["kind"] == "file" and note["grouping"] is None and len(note["files"]) == 1


def test_report_and_console_say_which_files_were_grouped_and_why(folder, analysed):
    _, names = folder
    _, out, docs, stdout = analysed
    html = (out / f"{Path(names['DEVICE01'][0]).stem}.html").read_text("utf-8")
    assert "以下文件来自同一设备 DEVICE01，起止时间首尾相接，已合并为一个案件分析" in html
    assert all(n in html for n in names["DEVICE01"])
    assert "以下文件来自同一设备" not in (out / "note.wav.html").read_text("utf-8")
    assert "自动合并的案件" in stdout and "2 个" in stdout
    assert " → ".join(names["DEVICE01"]) in stdout and " → ".join(names["DEVICE02"]) in stdout
    assert "同一设备 DEVICE01（取自文件名）" in stdout and "14 分" in stdout
    assert f"{names['DEVICE01'][0]} 等 3 个文件" in stdout  # the table row of the case


def test_rerun_resumes_from_the_stored_group_results(folder, analysed):
    import contextlib
    import io

    from analyzer.cli import main

    root, _ = folder
    _, out, _, _ = analysed
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["analyze", str(root), "-o", str(out), "--format", "json,html,csv", "--no-progress"]) == 0
    assert "新分析 0，沿用 3，失败 0" in buf.getvalue()


def test_web_analysis_of_the_grouped_files_says_why(folder):
    """The web app analyses a case from its stored files; the report says when they are one device's
    split recording (the same reason the batch gives)."""
    from analyzer.web.jobs import run_pipeline

    root, names = folder
    out = run_pipeline([str(root / n) for n in names["DEVICE02"]], None, lambda f, s: None)
    assert out.recording["grouping"]["device"] == "DEVICE02"
    assert [Path(f["path"]).name for f in out.recording["grouping"]["files"]] == names["DEVICE02"]
    mixed = run_pipeline(
        [str(root / names["DEVICE01"][0]), str(root / names["DEVICE02"][0])], None, lambda f, s: None
    )
    assert mixed.recording["kind"] == "case" and mixed.recording["grouping"] is None
