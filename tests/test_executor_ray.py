"""The Ray executor on a real local Ray cluster: a head node and one worker node (`ray start`, one
CPU each, 127.0.0.1), started here and always stopped. Synthesized recordings go through the real
Whisper model on both executors; the reports must be the same apart from timings, and a worker node
killed in the middle of a batch must not lose or duplicate a result.

The first tests (results published once, Ray missing) need neither Ray nor the model.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from analyzer import batch
from analyzer.batch import RESULTS_DIR, STATE_FILE, discover, run_batch
from analyzer.executors import ExecutorError, make_executor
from analyzer.pipeline import AnalyzeOptions
from bench.ray_cluster import Cluster

SR = 16_000
SENTENCES = [
    "现在是2024年3月15日上午9时30分，我们在瀍河区中州东路88号，对该公司财务收支情况进行审计检查，"
    "执法全过程记录开始。",
    "您好，请出示营业执照。",
    "为保护您的合法权益，监督执法行为，本次执法全过程录音录像。",
    "您享有陈述权、申辩权和行政救济权利。",
    "请您认真阅读法律文书内容，并在签名处签名。",
]
SCENES = {"a.wav": [0, 1, 2], "b.wav": [1, 2, 3], "c.wav": [0, 2, 4], "d.wav": [3, 4]}
OPTIONS = AnalyzeOptions(cache=False, threads=1)  # every run transcribes; one thread like a Ray task
FORMATS = ["json", "html", "srt", "csv"]


# --------------------------------------------------------------------------- without Ray


def test_a_job_that_runs_twice_keeps_its_first_result(tmp_path, monkeypatch):
    calls = []

    def fake_analyse(paths, options):
        from analyzer.pipeline import RecordingResult

        calls.append(paths)
        return RecordingResult(paths=list(paths), error=None, duration_s=float(len(calls)))

    job = discover([tmp_path / "x.wav"])[0]
    monkeypatch.setattr(batch, "analyze_recording", fake_analyse)
    monkeypatch.setattr(batch, "write_outputs", lambda *a, **k: [])
    first = batch._analyse_job(job, "f" * 64, AnalyzeOptions(), str(tmp_path), ("json",), False)[1]
    again = batch._analyse_job(job, "f" * 64, AnalyzeOptions(), str(tmp_path), ("json",), False)[1]
    assert len(calls) == 1 and again == first and first["duration_s"] == 1.0
    # two runs racing: the one that publishes second gets the first one's result back
    published = tmp_path / RESULTS_DIR / ("e" * 64 + ".json")
    one = batch._publish_once(published, {"duration_s": 1.0})
    two = batch._publish_once(published, {"duration_s": 2.0})
    assert one == two == {"duration_s": 1.0}
    assert sorted(p.name for p in published.parent.iterdir()) == sorted(
        ["e" * 64 + ".json", "f" * 64 + ".json"]
    )


def test_ray_missing_is_one_clear_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ExecutorError, match=r"pip install -e \.\[ray\]"):
        make_executor("ray")
    with pytest.raises(ExecutorError, match="unknown executor"):
        run_batch([], "unused-out-dir-never-created", executor="dask")


def test_serve_with_ray_but_without_ray_installed_says_how_to_get_it(tmp_path, monkeypatch, capsys):
    import argparse

    from analyzer.commands import serve

    parser = argparse.ArgumentParser()
    serve.add_arguments(parser)
    args = parser.parse_args(["--executor", "ray", "--data-dir", str(tmp_path / "data")])
    assert serve._config(args).executor == "ray"
    monkeypatch.setitem(sys.modules, "ray", None)
    assert serve.run(args) == 2
    err = capsys.readouterr().err
    assert "pip install -e .[ray]" in err and len(err.strip().splitlines()) == 1


def test_progress_counts_recordings_and_audio_hours(tmp_path, capsys):
    for name in ("x.mp4", "y.mp4"):
        (tmp_path / "in").mkdir(exist_ok=True)
        (tmp_path / "in" / name).write_text("not a video\n", encoding="utf-8")
    run_batch([tmp_path / "in"], tmp_path / "out", formats=["json"], progress=True, on_error=lambda e: None)
    err = capsys.readouterr().err
    assert "2/2" in err and "音频 0.00 小时" in err and "失败 2" in err


# --------------------------------------------------------------------------- a real cluster


@pytest.fixture(scope="module")
def cluster():
    """Head node + one worker node, one CPU each (bench/ray_cluster.py); always stopped."""
    pytest.importorskip("ray")
    c = Cluster()
    try:
        c.start_node(head=True)
        c.wait_for(1)
        c.worker = c.start_node(head=False)
        c.wait_for(2)
        yield c
    finally:
        c.stop()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    from bench.audio_tools import add_noise, concat, write_recording
    from bench.tts import synthesize

    root = tmp_path_factory.mktemp("ray-corpus")
    for i, (name, keys) in enumerate(SCENES.items()):
        parts: list[np.ndarray | float] = [0.5]
        for k in keys:
            parts += [synthesize(SENTENCES[k], sr=SR, seed=i)[0], 0.8]
        audio, _ = concat(parts, SR)
        write_recording(root / name, add_noise(audio, SR, 30.0, "white", seed=i), SR)
    (root / "corrupt.mp4").write_text("this is not a video\n", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def local(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("local-out")
    outcome = run_batch([corpus], out, OPTIONS, formats=FORMATS, progress=False, on_error=lambda e: None)
    assert outcome.analysed == len(SCENES) and outcome.failed == 1
    return out


def _comparable(path: Path) -> dict:
    doc = json.loads(path.read_text("utf-8"))
    doc.pop("created_at", None)
    for r in doc["recordings"]:
        r.pop("timings_s", None)
    return doc


def _html_comparable(path: Path) -> str:
    return re.sub(r"生成于 \d{4}-\d\d-\d\d \d\d:\d\d UTC", "生成于", path.read_text("utf-8"))


def _same_reports(a: Path, b: Path) -> None:
    names = sorted(p.name for p in a.iterdir() if p.is_file() and p.name != STATE_FILE)
    assert names == sorted(p.name for p in b.iterdir() if p.is_file() and p.name != STATE_FILE)
    for name in names:
        if name.endswith(".json"):
            assert _comparable(a / name) == _comparable(b / name), name
        elif name.endswith(".html"):  # the page says when it was made (minutes); all else the same bytes
            assert _html_comparable(a / name) == _html_comparable(b / name), name
        else:
            assert (a / name).read_bytes() == (b / name).read_bytes(), name


@pytest.mark.slow
def test_ray_cluster_gives_the_local_reports(cluster, corpus, local, tmp_path_factory):
    out = tmp_path_factory.mktemp("ray-out")  # beside the local one: the HTML links the originals relatively
    errors: list[str] = []
    outcome = run_batch(
        [corpus], out, OPTIONS, formats=FORMATS, progress=False, on_error=errors.append,
        executor="ray", ray_address=cluster.address,
    )  # fmt: skip
    assert outcome.analysed == len(SCENES) and outcome.failed == 1
    assert len(errors) == 1 and "corrupt.mp4" in errors[0] and "\n" not in errors[0]
    _same_reports(local, out)
    state = json.loads((out / STATE_FILE).read_text("utf-8"))["entries"]
    assert sorted(p.name for p in (out / RESULTS_DIR).iterdir()) == sorted(
        f"{e['fingerprint']}.json" for e in state.values() if not e["error"]
    )
    # resume: nothing is current-less, so nothing runs again
    again = run_batch([corpus], out, OPTIONS, formats=FORMATS, progress=False, on_error=lambda e: None,
                      executor="ray", ray_address=cluster.address)  # fmt: skip
    assert again.skipped == len(SCENES) and again.analysed == 0


@pytest.mark.slow(transcriber=False)  # slow for the cluster; no Whisper
def test_every_node_must_see_inputs_and_output(cluster, corpus, tmp_path):
    from analyzer.executors import RayExecutor

    executor = RayExecutor(address=cluster.address)
    executor.check_storage([str(corpus / "a.wav")], str(tmp_path))  # shared: fine
    with pytest.raises(ExecutorError, match=r"nowhere\.wav.*cannot read input.*every node"):
        executor.check_storage([str(corpus / "a.wav"), str(tmp_path / "nowhere.wav")], str(tmp_path))
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    with pytest.raises(ExecutorError, match="cannot write the output folder"):
        executor.check_storage([str(corpus / "a.wav")], str(not_a_folder))


@pytest.mark.slow
def test_web_background_analysis_on_ray(cluster, corpus):
    from analyzer.cache import transcripts_dir
    from analyzer.web.jobs import RayPipeline, run_pipeline

    stages: list[str] = []
    on_ray = RayPipeline(cluster.address)([str(corpus / "d.wav")], None, lambda f, s: stages.append(s))
    shutil.rmtree(transcripts_dir(), ignore_errors=True)  # both transcribe: no answer from the cache
    here = run_pipeline([str(corpus / "d.wav")], None, lambda f, s: None)
    on_ray.recording.pop("timings_s")
    here.recording.pop("timings_s")
    assert on_ray.recording == here.recording and on_ray.guide == here.guide
    assert stages and "Ray" in stages[0]


@pytest.mark.slow
def test_cli_joins_the_cluster(cluster, corpus, tmp_path):
    import subprocess

    out = tmp_path / "cli-out"
    cmd = [sys.executable, "-m", "analyzer", "analyze", str(corpus / "corrupt.mp4"), str(corpus / "d.wav")]
    cmd += ["-o", str(out), "--format", "json,csv", "--no-cache"]
    cmd += ["--executor", "ray", "--ray-address", cluster.address]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=Path(__file__).parent.parent)
    assert proc.returncode == 1, proc.stderr  # the corrupt file fails, alone
    errors = [line for line in proc.stderr.splitlines() if line.startswith("错误 / error")]
    assert len(errors) == 1 and "corrupt.mp4" in errors[0]
    assert "d.wav" in proc.stdout and "新分析 1" in proc.stdout
    assert json.loads((out / "d.wav.json").read_text("utf-8"))["recordings"][0]["error"] is None


@pytest.mark.slow
def test_killed_worker_node_mid_run_completes_once(cluster, corpus, local, tmp_path_factory):
    """Runs last: it leaves the cluster with its head node only."""
    out = tmp_path_factory.mktemp("ray-killed-out")
    result: dict = {}

    def go() -> None:
        try:
            result["outcome"] = run_batch([corpus], out, OPTIONS, formats=FORMATS, progress=False,
                                          on_error=lambda e: None, executor="ray",
                                          ray_address=cluster.address)  # fmt: skip
        except BaseException as err:  # noqa: BLE001 - re-raised in the test thread
            result["error"] = err

    runner = threading.Thread(target=go)
    runner.start()
    worker_session = cluster.worker.pid
    deadline = time.monotonic() + 240
    busy = False
    while not busy and time.monotonic() < deadline and runner.is_alive():
        ps = subprocess.run(["ps", "-eo", "sid=,args="], capture_output=True, text=True).stdout
        busy = any(
            line.split(None, 1)[0] == str(worker_session) and "_analyse_job" in line
            for line in ps.splitlines()
            if line.strip()
        )
        time.sleep(0.2)
    assert busy, "the worker node never ran a recording"
    cluster.kill(cluster.worker)
    runner.join(timeout=600)
    assert not runner.is_alive() and "error" not in result, result.get("error")
    outcome = result["outcome"]
    assert outcome.analysed == len(SCENES) and outcome.failed == 1
    _same_reports(local, out)
    state = json.loads((out / STATE_FILE).read_text("utf-8"))["entries"]
    assert sorted(state) == sorted([*SCENES, "corrupt.mp4"])
    assert [s for s, e in state.items() if e["error"]] == ["corrupt.mp4"]
    assert len(list((out / RESULTS_DIR).iterdir())) == len(SCENES)
