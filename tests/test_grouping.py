"""Grouping loose files into one case (analyzer/grouping.py) and its place in batch discovery:
file names, container headers and start-time chains, without the model."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from analyzer.batch import State, discover, job_fingerprint
from analyzer.grouping import (
    FileInfo,
    GroupSettings,
    device_from_name,
    explain,
    file_info,
    group_files,
    group_paths,
)
from analyzer.guide import GuideError, load_guide
from analyzer.media import Probe, probe_header
from analyzer.pipeline import AnalyzeOptions

T0 = datetime(2026, 3, 15, 14, 30, 0)
ROOT = Path(__file__).resolve().parent.parent


def name(device: str | None, start: datetime, ext: str = ".wav", suffix: bool = False) -> str:
    stamp = f"{start:%Y%m%d_%H%M%S}"
    if device is None:
        return stamp + ext
    return f"{stamp}_{device}{ext}" if suffix else f"{device}_{stamp}{ext}"


def fake_probe(durations: dict[str, float], tags: dict[str, dict[str, str]] | None = None):
    """A header probe answering from a table (by file name): durations and container tags."""

    def probe(path: str) -> Probe | None:
        key = Path(path).name
        if key not in durations:
            return None
        t = dict((tags or {}).get(key, {}))
        return Probe(
            path=path, sha256="", size_bytes=1, container="wav", duration_s=durations[key], sample_rate=16000,
            channels=1, codec="pcm_s16le", has_video=False, creation_time=t.get("creation_time"), tags=t,
        )  # fmt: skip

    return probe


def infos(files: dict[str, float], tags: dict[str, dict[str, str]] | None = None) -> list[FileInfo]:
    probe = fake_probe(files, tags)
    return [file_info(p, probe(p)) for p in files]


def paths_of(groups: list[list[FileInfo]]) -> list[list[str]]:
    return [[f.path for f in g] for g in groups]


@pytest.mark.parametrize(
    ("file_name", "device"),
    [
        ("DEVICE01_20260315_143000.wav", "DEVICE01"),
        ("20261130_090000_DEV01.mp4", "DEV01"),
        ("dev01_20261130_090000.MP4", "DEV01"),
        ("DSJ0012_20240105_093000_0001.MP4", "DSJ0012"),  # sequence number after the time is not the device
        ("0012_2024-01-05_09-30-00.wav", "0012"),
        ("VID_20240105_093000.mp4", None),  # what the file is, not which device wrote it
        ("录音_20240105_093000.m4a", None),
        ("20240105_093000.mp4", None),
        ("20240105_093000_0003.mp4", None),
        ("compliant.wav", None),  # no time: never grouped by name
    ],
)
def test_device_from_name(file_name, device):
    assert device_from_name(file_name) == device


def test_three_chained_files_of_one_device_are_one_group():
    d = 40.0
    starts = [T0, T0 + timedelta(seconds=d + 14 * 60 + 12), T0 + timedelta(seconds=2 * d + 14 * 60 + 12 + 90)]
    files = {name("DEVICE01", s): d for s in starts}
    groups = group_files(infos(files))
    assert paths_of(groups) == [list(files)]
    why = explain(list(files), probe=fake_probe(files))
    assert why is not None and why.device == "DEVICE01" and why.device_source == "filename"
    assert why.start_source == "filename"
    assert why.gaps_s == pytest.approx((14 * 60 + 12, 90.0))
    d_ = why.to_dict()
    assert d_["reason"] == "same_device_chained" and [Path(f["path"]).name for f in d_["files"]] == list(
        files
    )
    assert d_["files"][0]["start"] == "2026-03-15T14:30:00" and d_["files"][0]["end"] == "2026-03-15T14:30:40"
    assert "DEVICE01" in d_["text"] and "首尾相接" in d_["text"]
    assert "14 分 12 秒" in d_["detail"] and "1 分 30 秒" in d_["detail"]


def test_two_interleaved_devices_are_two_groups_and_unrelated_files_stay_alone():
    d = 60.0
    files = {
        name("DEVICE01", T0): d,
        name("DEVICE02", T0 + timedelta(minutes=2)): d,
        name("DEVICE01", T0 + timedelta(minutes=5)): d,
        name("DEVICE02", T0 + timedelta(minutes=7)): d,
        name("DEVICE03", T0 + timedelta(minutes=3)): d,  # another device, one file
        "note.wav": d,  # no time in the name, no creation time
        name(None, T0 + timedelta(minutes=4)): d,  # a time but no device
        name("VID", T0 + timedelta(minutes=6)): d,
    }
    groups = paths_of(group_files(infos(files)))
    keys = list(files)
    assert groups == [[keys[0], keys[2]], [keys[1], keys[3]], [keys[4]], [keys[5]], [keys[6]], [keys[7]]]


def test_chain_breaks_on_long_gaps_overlaps_and_equal_starts():
    d = 600.0
    late = T0 + timedelta(seconds=d + 7200 + 1)  # one second past the 2-hour bound
    files = {name("CAM", T0): d, name("CAM", late): d}
    assert len(group_files(infos(files))) == 2
    assert len(group_files(infos(files), GroupSettings(max_gap_s=3 * 3600))) == 1
    overlap = {name("CAM", T0): d, name("CAM", T0 + timedelta(seconds=d - 60)): d}
    assert len(group_files(infos(overlap))) == 2
    skew = {name("CAM", T0): d, name("CAM", T0 + timedelta(seconds=d - 3)): d}  # within the clock tolerance
    assert len(group_files(infos(skew))) == 1
    same = [
        FileInfo("a/CAM_20260315_143000.wav", "CAM", "filename", T0, "filename", 2.0),
        FileInfo("b/CAM_20260315_143000.wav", "CAM", "filename", T0, "filename", 2.0),
    ]
    assert len(group_files(same)) == 2  # a copy of one file is not its continuation


def test_device_suffix_names_and_a_later_split():
    """Device after the time (samples/case_gap style); a third file hours later starts a new group."""
    d = 300.0
    files = {
        name("DEV01", T0, ".mp4", suffix=True): d,
        name("DEV01", T0 + timedelta(minutes=10), ".mp4", suffix=True): d,
        name("DEV01", T0 + timedelta(hours=5), ".mp4", suffix=True): d,
    }
    keys = list(files)
    assert paths_of(group_files(infos(files))) == [keys[:2], keys[2:]]


def test_device_and_start_from_container_metadata():
    """No device and no time in the names: the container's device tag and creation_time decide."""
    files = {"a.mp4": 30.0, "b.mp4": 30.0, "c.mp4": 30.0, "d.mp4": 30.0}
    tags = {
        "a.mp4": {"creation_time": "2026-03-15T06:30:00.000000Z", "device_id": "SN-7"},
        "b.mp4": {"creation_time": "2026-03-15T06:31:00.000000Z", "device_id": "SN-7"},
        "c.mp4": {"creation_time": "2026-03-15T06:32:00.000000Z", "device_id": "SN-8"},
        "d.mp4": {"creation_time": "2026-03-15T06:33:00.000000Z"},  # no device tag
    }
    got = infos(files, tags)
    assert got[0].device == "SN-7" and got[0].device_source == "metadata"
    assert got[0].start == datetime(2026, 3, 15, 6, 30) and got[0].start_source == "creation_time"
    assert paths_of(group_files(got)) == [["a.mp4", "b.mp4"], ["c.mp4"], ["d.mp4"]]
    # a camera that writes its serial into the comment tag: the guide names the tag
    comment = {k: {"creation_time": v["creation_time"], "comment": "CAM9"} for k, v in tags.items()}
    probe = fake_probe(files, comment)
    assert len(group_files([file_info(p, probe(p)) for p in files])) == 4
    s = GroupSettings(device_tags=("comment",))
    assert paths_of(group_files([file_info(p, probe(p), s) for p in files], s)) == [list(files)]


def test_name_and_container_disagreeing_or_mixed_time_sources_are_not_grouped():
    d = 30.0
    a, b = name("CAM", T0), name("CAM", T0 + timedelta(minutes=1))
    files = {a: d, b: d}
    serials = {a: {"serial": "X1"}, b: {"serial": "X2"}}  # one name prefix, two cameras
    assert len(group_files(infos(files, serials))) == 2
    # one file timed by its name, the other only by its container: never one timeline
    mixed = {a: d, "CAM_clip.mp4": d}
    tags = {"CAM_clip.mp4": {"creation_time": "2026-03-15T14:31:00", "device_id": "CAM"}}
    assert len(group_files(infos(mixed, tags))) == 2


def test_unprobeable_files_are_never_grouped():
    files = [name("CAM", T0), name("CAM", T0 + timedelta(minutes=1))]
    out = group_paths(files, probe=lambda p: None)
    assert [(ps, why) for ps, why in out] == [([files[0]], None), ([files[1]], None)]


def test_real_container_header_is_read_without_decoding(tmp_path):
    from bench.audio_tools import write_mp4, write_recording

    x = np.zeros(16_000 * 2, np.float32)
    first = write_recording(tmp_path / name("BODYCAM7", T0), x, 16_000)
    second = write_recording(tmp_path / name("BODYCAM7", T0 + timedelta(seconds=3)), x, 16_000)
    tagged = write_mp4(
        tmp_path / "clip.mp4", x, 16_000, creation_time="2026-03-15T06:30:00Z", tags={"comment": "S1"}
    )
    [(paths, why)] = [g for g in group_paths([first, second, tagged]) if g[1] is not None]
    assert paths == [str(first), str(second)] and why.gaps_s == pytest.approx((1.0,), abs=0.05)
    info = file_info(str(tagged), probe_header(tagged))
    assert info.start == datetime(2026, 3, 15, 6, 30) and info.duration_s == pytest.approx(2.0, abs=0.1)


# --------------------------------------------------------------------------- discovery


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def folder(tmp_path: Path) -> tuple[Path, dict[str, float]]:
    d = 45.0
    files = {
        name("DEVICE01", T0): d,
        name("DEVICE01", T0 + timedelta(seconds=d + 14 * 60)): d,
        name("DEVICE01", T0 + timedelta(seconds=2 * d + 20 * 60)): d,
        name("DEVICE02", T0 + timedelta(minutes=1)): d,
        name("DEVICE02", T0 + timedelta(minutes=10)): d,
        "unrelated.wav": d,
    }
    for f in files:
        touch(tmp_path / "in" / f)
    touch(tmp_path / "in" / "案件一" / name("DEVICE09", T0))  # a subfolder stays one case, as before
    touch(tmp_path / "in" / "案件一" / "x.wav")
    return tmp_path / "in", files


def test_discover_groups_loose_files_and_keeps_the_rest(tmp_path):
    root, files = folder(tmp_path)
    keys = list(files)
    jobs = {j.stem: j for j in discover([root], probe=fake_probe(files))}
    assert set(jobs) == {Path(keys[0]).stem, Path(keys[3]).stem, "unrelated.wav", "案件一"}
    dev1 = jobs[Path(keys[0]).stem]
    assert dev1.is_case and [Path(p).name for p in dev1.paths] == keys[:3]
    assert dev1.grouping is not None and dev1.grouping.device == "DEVICE01"
    assert dev1.name.endswith("等 3 个文件")
    assert [Path(p).name for p in jobs[Path(keys[3]).stem].paths] == keys[3:5]
    assert not jobs["unrelated.wav"].is_case and jobs["unrelated.wav"].grouping is None
    assert jobs["案件一"].is_case and jobs["案件一"].grouping is None
    # --no-group: every loose file on its own; --case: the folder is one case
    plain = discover([root], group=False, probe=fake_probe(files))
    assert {j.stem for j in plain} == {*keys, "案件一"}
    assert [len(j.paths) for j in discover([root], folder_is_case=True)] == [6]
    # files given one by one are grouped the same way; the same file twice stays two jobs
    given = discover([root / k for k in keys[:2]] + [root / keys[0]], probe=fake_probe(files))
    assert [(j.stem, len(j.paths)) for j in given] == [(Path(keys[0]).stem, 2), (keys[0], 1)]


def test_group_fingerprint_covers_every_file(tmp_path):
    root, files = folder(tmp_path)
    job = next(j for j in discover([root], probe=fake_probe(files)) if j.grouping is not None)
    state = State(tmp_path / "out")
    run = {"guide_sha256": "g", "model_id": "m", **AnalyzeOptions().fingerprint()}
    first = job_fingerprint(job, state, run)
    Path(job.paths[-1]).write_bytes(b"changed")
    assert job_fingerprint(job, state, run) != first


def test_guide_grouping_settings_are_validated(tmp_path):
    guide = load_guide()
    assert guide.settings["group_max_gap_s"] == 7200.0
    assert GroupSettings.from_guide(guide).max_gap_s == 7200.0
    text = (ROOT / "phrasebook" / "default.toml").read_text("utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("group_max_gap_s = 7200.0", "group_max_gap_s = -1.0"), "utf-8")
    with pytest.raises(GuideError, match=r"bad\.toml:\d+: .*group_max_gap_s"):
        load_guide(bad)
    bad.write_text(text.replace("[grouping]\n", '[grouping]\ndevice_tag = ["serial"]\n'), "utf-8")
    with pytest.raises(GuideError, match="device_tag"):
        load_guide(bad)
    ok = tmp_path / "ok.toml"
    ok.write_text(
        text.replace('device_tags = ["device_id"', 'device_tags = ["Comment", "device_id"'), "utf-8"
    )
    assert GroupSettings.from_guide(load_guide(ok)).device_tags[0] == "comment"


def test_cli_passes_no_group_and_lists_the_groups_after_the_table(tmp_path, monkeypatch, capsys):
    """`--no-group` reaches the batch; without it, the console names each group, its files and why."""
    import analyzer.batch as batch
    from analyzer.batch import BatchOutcome
    from analyzer.cli import main

    root, files = folder(tmp_path)
    calls: list[bool] = []

    def fake_run_batch(inputs, out, options, **kw):
        calls.append(kw["group"])
        jobs = discover(inputs, group=kw["group"], probe=fake_probe(files))
        rows = [
            {"path": j.name, "duration_s": 1.0, "profile": "", "profile_inferred": "", "score": 90.0,
             "opening": "", "critical": 0, "flags": "", "error": ""}
            for j in jobs
        ]  # fmt: skip
        return BatchOutcome(rows=rows, analysed=len(jobs), grouped=[j for j in jobs if j.grouping])

    monkeypatch.setattr(batch, "run_batch", fake_run_batch)
    assert main(["analyze", str(root), "-o", str(tmp_path / "out")]) == 0
    text = capsys.readouterr().out
    keys = list(files)
    assert "自动合并的案件" in text and " → ".join(keys[:3]) in text and " → ".join(keys[3:5]) in text
    assert "同一设备 DEVICE01（取自文件名），按文件名中的时间前后衔接，文件间隔 14 分 0 秒、6 分 0 秒" in text
    assert f"{keys[0]} 等 3 个文件" in text
    assert main(["analyze", str(root), "-o", str(tmp_path / "out"), "--no-group"]) == 0
    assert calls == [True, False] and "自动合并" not in capsys.readouterr().out
