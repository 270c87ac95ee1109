"""The default decode (issue 18): the beam chosen by bench/bench_decode.py (bench/results/decode.md)
is what every way into the pipeline decodes with, and it is set in one place,
`analyzer.transcribe.DEFAULT_BEAM_SIZE`: the CLI (`analyze`, `transcribe`, `train`), the web app's
analysis and training jobs all take it from `TranscribeOptions()`, so changing that one setting
changes all of them. Whisper itself is replaced by a recorder of the options it was asked to decode
with; which transcript a beam gives is the bench's business."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from analyzer import transcribe as tx

CHOSEN_BEAM = 2  # bench/results/decode.md, 2026-12-03


@pytest.fixture
def asked(deaf_decoder: list[tx.TranscribeOptions]) -> list[tx.TranscribeOptions]:
    """Options of every transcription that reached the decoder (none answered from the cache)."""
    return deaf_decoder


@pytest.fixture
def recording(tmp_path) -> Path:
    path = tmp_path / "clip.wav"
    noise = 0.01 * np.random.default_rng(18).standard_normal(3 * 16_000)
    sf.write(path, noise.astype(np.float32), 16_000)
    return path


def first_decodes(path: Path, tmp_path: Path, asked: list) -> dict[str, tx.TranscribeOptions]:
    """The options of the first decode of `path` through each entry point."""
    from analyzer.cli import main
    from analyzer.web import jobs

    entries = {
        "cli analyze": lambda: main(
            ["analyze", str(path), "-o", str(tmp_path / "out"), "--workers", "1", "--no-progress", "--force"]
        ),
        "cli transcribe": lambda: main(["transcribe", str(path), "-o", str(tmp_path / "tx")]),
        "cli train": lambda: main(["train", "--phrase", "opening", str(path)]),
        "web analysis job": lambda: jobs.run_pipeline([str(path)], None, lambda fraction, stage: None),
        "web training job": lambda: jobs.run_training(str(path), "opening", None, "张三", tmp_path / "web"),
    }
    out = {}
    for name, enter in entries.items():
        before = len(asked)
        enter()
        assert len(asked) > before, f"{name}: nothing decoded"
        out[name] = asked[before]
    return out


def test_every_entry_point_decodes_with_the_measured_default_beam(recording, tmp_path, asked):
    assert tx.TranscribeOptions().beam_size == tx.DEFAULT_BEAM_SIZE == CHOSEN_BEAM
    for name, opts in first_decodes(recording, tmp_path, asked).items():
        assert opts.beam_size == CHOSEN_BEAM, name
        assert opts.key_dict() == tx.TranscribeOptions().key_dict(), name  # all other defaults too


def test_changing_the_one_setting_changes_every_entry_point(recording, tmp_path, asked, monkeypatch):
    other = CHOSEN_BEAM + 2
    monkeypatch.setattr(tx, "DEFAULT_BEAM_SIZE", other)
    assert tx.TranscribeOptions().beam_size == other
    for name, opts in first_decodes(recording, tmp_path, asked).items():
        assert opts.beam_size == other, name
