"""Batch plumbing without the model: discovery, worker planning, fingerprints, CLI errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from analyzer.batch import WORKER_MEMORY_BYTES, Job, State, discover, job_fingerprint, plan_workers
from analyzer.pipeline import AnalyzeOptions, analyze_recording

ROOT = Path(__file__).resolve().parent.parent


def touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_discover_loose_files_cases_and_nesting(tmp_path):
    touch(tmp_path / "a.mp4")
    touch(tmp_path / "a.wav")
    touch(tmp_path / "notes.txt")
    touch(tmp_path / "案件一" / "DSJ_20240101_080000.mp4")
    touch(tmp_path / "案件一" / "DSJ_20240101_081000.mp4")
    touch(tmp_path / "2024" / "case2" / "x.MP4")  # one file in a folder: a plain recording
    jobs = {j.stem: j for j in discover([tmp_path])}
    assert set(jobs) == {"a.mp4", "a.wav", "案件一", "2024/case2"}
    assert jobs["案件一"].is_case and len(jobs["案件一"].paths) == 2
    assert not jobs["2024/case2"].is_case and jobs["2024/case2"].paths[0].endswith("x.MP4")
    single = discover([tmp_path / "a.mp4", tmp_path / "a.mp4"])
    assert [j.stem for j in single] == ["a.mp4", "a.mp4-2"]  # no two results share a name
    as_case = discover([tmp_path / "案件一"], folder_is_case=True)
    assert len(as_case) == 1 and as_case[0].is_case


def test_plan_workers_bounded_by_cores_and_memory():
    gib = 1024**3
    assert plan_workers(1, cores=2, available=8 * gib) == (1, 2)
    assert plan_workers(4, cores=2, available=8 * gib) == (2, 1)
    assert plan_workers(8, cores=16, available=int(2.5 * WORKER_MEMORY_BYTES)) == (2, 8)
    assert plan_workers(3, cores=16, available=64 * gib) == (3, 5)
    assert plan_workers(4, cores=4, available=100) == (1, 4)


def test_plan_workers_gives_the_cores_to_the_processes_that_run():
    gib = 1024**3
    assert plan_workers(2, cores=2, available=8 * gib, jobs=1) == (1, 2)  # one file: both threads
    assert plan_workers(2, cores=2, available=8 * gib, jobs=5) == (2, 1)
    assert plan_workers(0, cores=4, available=64 * gib, jobs=3) == (3, 1)  # 0 = as many as allowed
    assert plan_workers(0, cores=2, available=8 * gib) == (2, 1)


def test_fingerprint_follows_content_and_options(tmp_path):
    f = touch(tmp_path / "r.wav", b"one")
    job = discover([f])[0]
    state = State(tmp_path / "out")
    run = {"guide_sha256": "g", "model_id": "m", **AnalyzeOptions().fingerprint()}
    first = job_fingerprint(job, state, run)
    assert job_fingerprint(job, state, run) == first
    assert job_fingerprint(job, state, {**run, "guide_sha256": "g2"}) != first
    assert job_fingerprint(job, state, {**run, **AnalyzeOptions(profile="inspection").fingerprint()}) != first
    # threads and cache change speed only
    assert AnalyzeOptions(threads=7, cache=False).fingerprint() == AnalyzeOptions().fingerprint()
    touch(f, b"two")
    assert job_fingerprint(job, state, run) != first


def test_unknown_transcribe_option_is_rejected():
    with pytest.raises(ValueError, match="unknown transcribe options"):
        AnalyzeOptions(transcribe={"beam_sise": 3}).transcribe_options()
    assert AnalyzeOptions(transcribe={"beam_size": 1}, threads=3).transcribe_options().threads == 3


def test_bad_media_becomes_an_error_result(tmp_path):
    empty = touch(tmp_path / "empty.mp4", b"")
    r = analyze_recording(str(empty))
    assert r.error and "empty.mp4" in r.error and "\n" not in r.error
    assert r.evaluation is None


def test_cli_reports_errors_and_exit_codes(tmp_path):
    bad = touch(tmp_path / "in" / "broken.mp4", b"not a video at all")
    out = tmp_path / "out"
    cmd = [
        sys.executable,
        "-m",
        "analyzer",
        "analyze",
        str(bad.parent),
        "-o",
        str(out),
        "--format",
        "json,csv",
    ]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr
    assert "broken.mp4" in proc.stderr and "broken.mp4" in proc.stdout  # error line + table row
    doc = json.loads((out / "broken.mp4.json").read_text("utf-8"))
    assert doc["recordings"][0]["error"] and (out / "summary.csv").exists()
    none = subprocess.run(
        [
            sys.executable,
            "-m",
            "analyzer",
            "analyze",
            str(tmp_path / "nothing-here"),
            "-o",
            str(tmp_path / "o"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert none.returncode != 0
    wrong = subprocess.run(
        [sys.executable, "-m", "analyzer", "analyze", str(bad), "--profile", "nope", "-o", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert wrong.returncode == 2 and "nope" in wrong.stderr


def test_two_copies_of_the_same_audio_are_two_results(tmp_path):
    """The name and modification time shape a result (device clock, grouping, report paths), so a
    copy of a file under another name is never answered with the original's stored result."""
    (tmp_path / "a.wav").write_bytes(b"RIFF....same")
    (tmp_path / "b.wav").write_bytes(b"RIFF....same")
    state = State(tmp_path / "out")
    run = {"guide_sha256": "g", "model_id": "m", **AnalyzeOptions().fingerprint()}
    a, b = (Job(name=n, paths=(str(tmp_path / n),), is_case=False, stem=n) for n in ("a.wav", "b.wav"))
    assert job_fingerprint(a, state, run) != job_fingerprint(b, state, run)
    os.utime(tmp_path / "a.wav", ns=(1, 1))
    first = job_fingerprint(a, state, run)
    os.utime(tmp_path / "a.wav", ns=(2, 2))
    assert job_fingerprint(a, state, run) != first
