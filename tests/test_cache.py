"""The transcript cache key follows the code that shapes a transcript (analyzer/cache.py): a change to
a transcription source, the hallucination list, the OpenCC data or an engine package is a new key, so
an entry written by other code is never returned."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import numpy as np
import pytest

from analyzer import cache
from analyzer import transcribe as tx

SR = 16_000


@pytest.fixture
def sources(tmp_path, monkeypatch):
    """A copy of analyzer/ whose files the test may edit; fingerprints recomputed from it."""
    copy = tmp_path / "analyzer"
    shutil.copytree(cache.PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(cache, "PACKAGE_DIR", copy)
    cache.code_fingerprint.cache_clear()
    yield copy
    cache.code_fingerprint.cache_clear()


def fingerprint() -> str:
    cache.code_fingerprint.cache_clear()
    return cache.code_fingerprint("faster-whisper")


@pytest.mark.parametrize("name", cache.TRANSCRIPT_SOURCES)
def test_editing_a_transcription_source_changes_the_key(sources, name):
    before = fingerprint()
    key = cache.transcript_key("a" * 64, "faster-whisper", "embedded:x", {"beam_size": 1})
    with open(sources / name, "a", encoding="utf-8") as fh:
        fh.write("\n# edited\n")
    assert fingerprint() != before
    assert cache.transcript_key("a" * 64, "faster-whisper", "embedded:x", {"beam_size": 1}) != key


def test_the_listed_sources_are_what_transcribe_runs():
    """Every project module the listed sources import is listed, or named as not shaping the text."""
    listed = set(cache.TRANSCRIPT_SOURCES) | set(cache.NOT_TRANSCRIPT_SOURCES)
    todo = [n for n in cache.TRANSCRIPT_SOURCES if n.endswith(".py")]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        tree = ast.parse((cache.PACKAGE_DIR / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            modules = []
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("analyzer"):
                modules = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                modules = [a.name for a in node.names if a.name.startswith("analyzer")]
            for module in modules:
                parts = module.split(".")[1:]
                if not parts:
                    continue
                rel = Path(*parts)
                for candidate in (rel.with_suffix(".py"), rel / "__init__.py"):
                    if (cache.PACKAGE_DIR / candidate).is_file():
                        assert str(candidate) in listed, f"{name} imports {candidate}: add it to cache.py"
                        if str(candidate) in cache.TRANSCRIPT_SOURCES:
                            todo.append(str(candidate))
    assert "transcribe.py" in seen and "vad.py" in seen and "media.py" in seen


def test_package_versions_and_opencc_data_are_in_the_key(monkeypatch, tmp_path):
    before = fingerprint()
    real = cache._version
    monkeypatch.setattr(cache, "_version", lambda d: "9.9" if d == "ctranslate2" else real(d))
    assert fingerprint() != before
    monkeypatch.setattr(cache, "_version", real)
    assert fingerprint() == before
    data = [shutil.copy(p, tmp_path / p.name) for p in cache._opencc_files()]
    assert any(Path(p).name == "t2s.json" for p in data) and len(data) >= 2
    monkeypatch.setattr(cache, "_opencc_files", lambda: [Path(p) for p in data])
    assert fingerprint() == before  # same bytes, same key
    Path(data[-1]).write_bytes(Path(data[-1]).read_bytes() + b"\0")
    assert fingerprint() != before
    # each engine has its own packages in the key
    cache.code_fingerprint.cache_clear()
    assert cache.code_fingerprint("openai-whisper") != cache.code_fingerprint("faster-whisper")


def test_an_entry_written_by_other_code_is_not_returned(sources, tmp_path, monkeypatch):
    monkeypatch.setenv("SCRIPTCHECK_CACHE", str(tmp_path / "cache"))
    audio = np.zeros(SR, np.float32)

    def made(text: str) -> tx.Transcript:
        seg = tx.Segment(start=0.1, end=0.9, text=text, raw_text=text, avg_logprob=-0.1, no_speech_prob=0.0)
        return tx.Transcript(
            segments=(seg,), language="zh", duration_s=1.0, engine="faster-whisper", model="b"
        )

    runs: list[str] = []

    def fake_run(*args, **kwargs):
        runs.append("decoded")
        return made("新代码")

    monkeypatch.setattr(tx, "_run", fake_run)
    assert tx.transcribe(audio).text == "新代码" and len(runs) == 1
    assert tx.transcribe(audio).text == "新代码" and len(runs) == 1  # answered by the entry
    # the same request after a change to the hallucination list: decoded again, not the old entry
    with open(sources / "hallucinations.txt", "a", encoding="utf-8") as fh:
        fh.write("\n新代码\n")
    cache.code_fingerprint.cache_clear()
    monkeypatch.setattr(tx, "_run", lambda *a, **k: runs.append("decoded") or made("改后"))
    assert tx.transcribe(audio).text == "改后" and len(runs) == 2
    assert len(list((tmp_path / "cache" / "transcripts").rglob("*.json"))) == 2
