"""Originals (第十二条): uploaded files kept read-only (0o444) under data-dir with their SHA-256;
registered folders are only read. Every file is re-hashed before it is served or exported.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import re
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from analyzer.media import sha256_file

MEDIA_SUFFIXES = frozenset(
    {
        ".wav",
        ".mp3",
        ".m4a",
        ".aac",
        ".flac",
        ".ogg",
        ".oga",
        ".opus",
        ".webm",
        ".mp4",
        ".mov",
        ".mkv",
        ".avi",
        ".3gp",
        ".amr",
        ".wma",
        ".ts",
        ".mts",
    }
)
VERIFY_CACHE_S = 60.0  # media range requests within this window reuse the last full re-hash
_CHUNK = 1 << 20


class StorageError(Exception):
    """Refused or unreadable input; str(err) is one Chinese line naming the file and the cause."""


def safe_upload_name(name: str) -> str:
    """The client's file name, refused when it tries to name a path (traversal, absolute, drive)."""
    if not name or "/" in name or "\\" in name or name in (".", "..") or ".." in name or "\x00" in name:
        raise StorageError(f"{name!r}：文件名不合法（不得包含路径）")
    if re.match(r"^[A-Za-z]:", name):
        raise StorageError(f"{name!r}：文件名不合法（不得包含盘符）")
    suffix = Path(name).suffix.lower()
    if suffix not in MEDIA_SUFFIXES:
        raise StorageError(f"{name}：不支持的文件类型 {suffix or '（无扩展名）'}")
    return name


def resolve_inside(root: Path, user_path: str) -> Path:
    """`user_path` resolved (symlinks followed) and refused unless it stays inside `root`."""
    if "\x00" in user_path:
        raise StorageError("路径不合法")
    candidate = Path(user_path).expanduser()
    if not candidate.is_absolute():
        candidate = root / candidate
    resolved = candidate.resolve()
    try:
        resolved.relative_to(root.resolve())
    except ValueError:
        raise StorageError(f"{user_path}：不在允许导入的目录内") from None
    return resolved


def guess_mime(name: str) -> str:
    extra = {".m4a": "audio/mp4", ".opus": "audio/ogg", ".webm": "video/webm", ".mkv": "video/x-matroska"}
    suffix = Path(name).suffix.lower()
    return extra.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


@dataclass(frozen=True)
class StoredFile:
    path: Path
    sha256: str
    size_bytes: int


class OriginalStore:
    """Content-addressed, read-only store of uploaded originals."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self._verified: dict[tuple[str, str], tuple[float, bool]] = {}
        self._lock = threading.Lock()

    def save_upload(self, stream: BinaryIO, name: str) -> StoredFile:
        suffix = Path(safe_upload_name(name)).suffix.lower()
        digest, size = hashlib.sha256(), 0
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(_CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
            if size == 0:
                raise StorageError(f"{name}：文件为空")
            sha = digest.hexdigest()
            final = self.root / sha[:2] / f"{sha}{suffix}"
            final.parent.mkdir(exist_ok=True)
            if final.exists():
                os.unlink(tmp)  # same content already stored (and read-only)
            else:
                os.chmod(tmp, 0o444)
                os.replace(tmp, final)
            return StoredFile(path=final, sha256=sha, size_bytes=size)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def verify(self, path: Path, expected_sha256: str, *, use_cache: bool = False) -> bool:
        """True when the file still hashes to `expected_sha256` (cached for a minute only if asked)."""
        key = (str(path), expected_sha256)
        now = time.monotonic()
        with self._lock:
            cached = self._verified.get(key)
        if use_cache and cached and now - cached[0] < VERIFY_CACHE_S:
            return cached[1]
        try:
            ok = sha256_file(path) == expected_sha256
        except OSError:
            ok = False
        with self._lock:
            self._verified[key] = (now, ok)
        return ok


def list_media(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in MEDIA_SUFFIXES)
