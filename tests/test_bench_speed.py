"""bench/bench_speed.py's main part compares what a user gets: `analyze` with its default options and
faster-whisper alone at the pipeline's default beam (issue 18 may change it in analyzer.transcribe)."""

from __future__ import annotations

import inspect
from pathlib import Path

from bench import bench_speed


def test_default_options_row_passes_no_batch_size():
    plain = bench_speed.analyze_cmd([Path("r.mp4")], Path("out"), None)
    assert "--batch-size" not in plain
    sized = bench_speed.analyze_cmd([Path("r.mp4")], Path("out"), 4)
    assert sized[sized.index("--batch-size") + 1] == "4"


def test_faster_whisper_alone_decodes_at_the_pipelines_default_beam():
    source = inspect.getsource(bench_speed.run_fw)
    assert "beam_size=DEFAULT_BEAM_SIZE" in source
    assert "beam_size=1" not in source
