"""Transcript cache: transcription is the slow step, so do it once per (audio, engine, model, options).

Entries are plain JSON files under `<cache dir>/transcripts/`, written atomically (temp file +
os.replace) so a crash or a parallel worker never leaves a half-written entry behind.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from analyzer.models import cache_dir

FORMAT_VERSION = 3  # bump when the stored transcript shape or post-processing changes


def transcripts_dir() -> Path:
    return cache_dir() / "transcripts"


def transcript_key(audio_sha256: str, engine: str, model_id: str, options: dict) -> str:
    """Stable key: same audio bytes + engine + model + result-affecting options -> same key."""
    payload = json.dumps(
        {"v": FORMAT_VERSION, "audio": audio_sha256, "engine": engine, "model": model_id, "options": options},
        sort_keys=True,
        ensure_ascii=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def entry_path(key: str) -> Path:
    return transcripts_dir() / key[:2] / f"{key}.json"


def load(key: str) -> dict | None:
    """The stored transcript dict, or None when absent or unreadable (a damaged entry is a miss)."""
    path = entry_path(key)
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def store(key: str, data: dict) -> Path:
    from analyzer.files import atomic_write_text

    return atomic_write_text(entry_path(key), json.dumps(data, ensure_ascii=False))
