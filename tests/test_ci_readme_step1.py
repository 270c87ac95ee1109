"""`.ci/run` runs README step 1 as the README writes it and checks the reports it promises."""

from __future__ import annotations

import importlib.util
import json
import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("readme_step1", ROOT / ".ci" / "readme_step1.py")
step1 = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(step1)


def test_the_command_is_the_readme_line_and_ci_runs_it():
    readme = (ROOT / "README.md").read_text("utf-8")
    cmd = step1.command()
    assert f"\n{cmd}\n" in readme and cmd.startswith("pip install -e . && scriptcheck analyze ")
    ci = (ROOT / ".ci" / "run").read_text("utf-8")
    # the fresh venv and step 1 come before anything installs the test extras
    assert ci.index("python -m venv") < ci.index('bash -euo pipefail -c "$step1"') < ci.index(".[test")
    assert "--system-site-packages" not in ci


def test_promised_reports_cover_every_input(tmp_path, monkeypatch):
    files = [str(f) for f in step1.promised()]
    inputs = re.findall(r"samples/\S+", step1.command())
    assert inputs and len(files) == 2 * len(inputs) + 2
    for name in (Path(i).name for i in inputs):
        assert f"out/{name}.json" in files and f"out/{name}.html" in files
    assert {"out/summary.csv", "out/summary.xlsx"} <= set(files)


def test_check_fails_unless_every_report_is_written_by_this_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    since = tmp_path / "started"
    since.touch()
    assert step1.check(since) == 1  # nothing written
    for f in step1.promised():
        f.parent.mkdir(parents=True, exist_ok=True)
        doc = {"recordings": [{"error": None, "score": 49.0}]}
        f.write_text(json.dumps(doc) if f.suffix == ".json" else "x", "utf-8")
    assert step1.check(since) == 0
    stale = step1.promised()[-1]
    os.utime(stale, (since.stat().st_mtime - 60, since.stat().st_mtime - 60))
    assert step1.check(since) == 1  # left over from an earlier run
    os.utime(stale)
    failed = next(f for f in step1.promised() if f.suffix == ".json")
    failed.write_text(json.dumps({"recordings": [{"error": "x.wav: ModuleNotFoundError", "score": None}]}))
    assert step1.check(since) == 1  # a report of an error is not a report
