"""Transcript cache: transcription is the slow step, so do it once per (audio, engine, model, options,
code).

Entries are plain JSON files under `<cache dir>/transcripts/`, written atomically (temp file +
os.replace) so a crash or a parallel worker never leaves a half-written entry behind.

The key carries a fingerprint of everything that shapes a transcript besides the audio, the model
and the options: the project's transcription sources, the installed engine packages and the
OpenCC conversion data. A change to any of them is a different key, so an entry written by other
code is never returned (a regression in transcription cannot hide behind its own old results).
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from analyzer.models import cache_dir

FORMAT_VERSION = 3  # bump when the stored transcript shape changes

PACKAGE_DIR = Path(__file__).resolve().parent

# Project files whose bytes shape a transcript (relative to analyzer/). A whole file is hashed, so
# an edit to a comment also starts fresh entries: cheap, and never wrong.
TRANSCRIPT_SOURCES = (
    "transcribe.py",  # decode options, blocking, pieces, time mapping, hallucination and loop filters
    "hallucinations.txt",  # the patterns of dropped segments
    "batched.py",  # with --batch-size: how regions are packed into chunks and which go back to fallback
    "vad.py",  # which regions are decoded (Silero frame probabilities and their post-processing)
    "media.py",  # decoding, downmixing and resampling a file into the 16 kHz array that is decoded
    "convert.py",  # the openai-whisper checkpoint made from the CTranslate2 model
)
# Modules that transcribe.py (or a file above) imports but that do not shape the text: the key
# and its storage, and model lookup (the model's identity is a key field of its own, model_id).
NOT_TRANSCRIPT_SOURCES = ("cache.py", "models.py")

# Installed distributions whose code shapes a transcript, by engine; their versions are hashed.
# Silero VAD is bundled in faster-whisper and runs on onnxruntime for both engines; av decodes files;
# OpenCC converts to Simplified (its t2s data files are hashed as well, see _opencc_files).
COMMON_PACKAGES = ("faster-whisper", "onnxruntime", "av", "numpy", "opencc")
ENGINE_PACKAGES = {
    "faster-whisper": ("ctranslate2", "tokenizers"),
    "openai-whisper": ("openai-whisper", "torch", "tiktoken"),
}


def transcripts_dir() -> Path:
    return cache_dir() / "transcripts"


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "absent"


def _opencc_files() -> list[Path]:
    """The t2s configuration of the installed OpenCC and the dictionaries it names."""
    import opencc

    configs = sorted(Path(opencc.__file__).resolve().parent.rglob("t2s.json"))
    if not configs:
        return []
    config = configs[0]
    names = sorted(set(_named_files(json.loads(config.read_text(encoding="utf-8")))))
    return [config, *(config.parent / n for n in names)]


def _named_files(node: object) -> list[str]:
    if isinstance(node, dict):
        found = [node["file"]] if isinstance(node.get("file"), str) else []
        return found + [f for v in node.values() for f in _named_files(v)]
    if isinstance(node, list):
        return [f for v in node for f in _named_files(v)]
    return []


@lru_cache(maxsize=4)
def code_fingerprint(engine: str) -> str:
    """SHA-256 over what shapes `engine`'s transcripts besides audio, model and options (once a process)."""
    digest = hashlib.sha256()
    files = [PACKAGE_DIR / name for name in TRANSCRIPT_SOURCES] + _opencc_files()
    for path in files:
        digest.update(path.name.encode() + b"\0")
        digest.update(path.read_bytes() if path.is_file() else b"<missing>")
        digest.update(b"\0")
    for dist in (*COMMON_PACKAGES, *ENGINE_PACKAGES.get(engine, ())):
        digest.update(f"{dist}=={_version(dist)}\0".encode())
    return digest.hexdigest()


def transcript_key(audio_sha256: str, engine: str, model_id: str, options: dict) -> str:
    """Stable key: same audio bytes + engine + model + result-affecting options + code -> same key."""
    payload = json.dumps(
        {
            "v": FORMAT_VERSION,
            "code": code_fingerprint(engine),
            "audio": audio_sha256,
            "engine": engine,
            "model": model_id,
            "options": options,
        },
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


def forget(audio_keys: set[str]) -> int:
    """Remove every entry made from audio with one of these hashes (a recording deleted after its
    retention period takes its transcripts with it). Returns how many were removed."""
    removed = 0
    for path in transcripts_dir().glob("*/*.json"):
        try:
            with open(path, encoding="utf-8") as fh:
                sha = json.load(fh).get("audio_sha256")
        except (OSError, ValueError, AttributeError):
            continue
        if sha in audio_keys:
            try:
                path.unlink()
                removed += 1
            except OSError:
                continue
    return removed
