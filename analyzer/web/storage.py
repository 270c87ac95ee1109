"""Originals (第十二条): every original, uploaded or registered from a server folder, is copied into a
content-addressed, read-only (0o444) store under data-dir with its SHA-256, and served only from there.

Why a copy and not a hard link: a hard link shares the inode, so a later write to the registered file
would change the stored one, and making the store's copy read-only would change the mode of the
registered file as well (originals are never written to). The store costs disk space; that is the price.

Reading an original opens it relative to the store's directory with O_NOFOLLOW at every step (a
symlink placed in the store is refused, never followed), hashes the open file and hands out that same
open file, so what was checked is what is served or exported. A verified hash is remembered only for
that inode with its size, mtime and ctime: a file swapped or rewritten in place is hashed again.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
import tempfile
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

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
MAX_NAME_BYTES = 255  # NAME_MAX of common file systems: no real file has a longer name
_CHUNK = 1 << 20
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)

# Served type by the container PyAV finds in the file (the host's mimetypes table maps .ts to Qt
# translations or TypeScript on some systems); by our own suffix table only when probing fails.
_CONTAINER_MIME = {
    "mpegts": ("video/mp2t", "video/mp2t"),
    "mov,mp4,m4a,3gp,3g2,mj2": ("video/mp4", "audio/mp4"),
    "matroska,webm": ("video/webm", "audio/webm"),
    "wav": ("audio/wav", "audio/wav"),
    "mp3": ("audio/mpeg", "audio/mpeg"),
    "ogg": ("video/ogg", "audio/ogg"),
    "flac": ("audio/flac", "audio/flac"),
    "aac": ("audio/aac", "audio/aac"),
    "amr": ("audio/amr", "audio/amr"),
    "asf": ("video/x-ms-asf", "audio/x-ms-wma"),
    "avi": ("video/x-msvideo", "video/x-msvideo"),
}
_SUFFIX_MIME = {
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".aac": "audio/aac",
    ".flac": "audio/flac",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".webm": "video/webm",
    ".mp4": "video/mp4",
    ".mov": "video/quicktime",
    ".mkv": "video/x-matroska",
    ".avi": "video/x-msvideo",
    ".3gp": "video/3gpp",
    ".amr": "audio/amr",
    ".wma": "audio/x-ms-wma",
    ".ts": "video/mp2t",
    ".mts": "video/mp2t",
}


class StorageError(Exception):
    """Refused or unreadable input; str(err) is one Chinese line naming the file and the cause."""


class UploadTooLarge(StorageError):
    """An upload over the per-file limit or the user's quota (answered with HTTP 413)."""


def _shown(name: str) -> str:
    """A refused name as it may be shown: control and direction characters escaped, length bounded."""
    text = name if name.isprintable() and not _bad_chars(name) else ascii(name)[1:-1]
    return text if len(text) <= 80 else text[:77] + "…"


def _bad_chars(name: str) -> list[str]:
    """Control, format (bidirectional overrides, zero-width) and line/paragraph separator characters."""
    return [c for c in name if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")]


def clean_name(name: str) -> str:
    """The file name in NFC, refused when it hides characters a reader cannot see or is overlong."""
    name = unicodedata.normalize("NFC", name or "")
    if _bad_chars(name):
        raise StorageError(f"{_shown(name)}：文件名不合法（含控制字符或文字方向控制符）")
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise StorageError(f"{_shown(name)}：文件名过长（最多 {MAX_NAME_BYTES} 字节）")
    return name


def safe_upload_name(name: str) -> str:
    """The client's file name (NFC), refused when it names a path, hides characters or is overlong."""
    if not name or "/" in name or "\\" in name or name in (".", "..") or ".." in name or "\x00" in name:
        raise StorageError(f"{_shown(name)}：文件名不合法（不得包含路径）")
    if re.match(r"^[A-Za-z]:", name):
        raise StorageError(f"{_shown(name)}：文件名不合法（不得包含盘符）")
    name = clean_name(name)
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


def public_message(text: str, names: dict[str, str], hidden_roots: list[Path]) -> str:
    """`text` for a user: each server path in `names` replaced by the file's original name, and any other
    absolute path under `hidden_roots` cut to its last component."""
    for path, name in sorted(names.items(), key=lambda kv: -len(kv[0])):
        if path:
            text = text.replace(path, name)
    for root in hidden_roots:
        prefix = re.escape(str(root).rstrip("/"))
        text = re.sub(prefix + r"(?:/[^\s/:：'\"，；]*)*/([^\s/:：'\"，；]+)", r"\1", text)
        text = text.replace(str(root), "")
    return text


def mime_for(path: Path, name: str) -> str:
    """The type a browser is told, from the container PyAV finds in the stored file."""
    try:
        import av

        with av.open(str(path), mode="r") as container:
            video, audio = _CONTAINER_MIME.get(container.format.name, (None, None))
            if video:
                return video if container.streams.video else audio
    except Exception:  # undecodable here: the analysis reports why; the type falls back to the suffix
        pass
    return _SUFFIX_MIME.get(Path(name).suffix.lower(), "application/octet-stream")


# Scans of written explanations (第十条): suffix -> the first bytes such a file starts with.
DOCUMENT_TYPES: dict[str, tuple[bytes, ...]] = {
    ".pdf": (b"%PDF-",),
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".tif": (b"II*\x00", b"MM\x00*"),
    ".tiff": (b"II*\x00", b"MM\x00*"),
}
MAX_DOCUMENT_BYTES = 20 << 20


def safe_document_name(name: str) -> str:
    """Like safe_upload_name, for the scan of a written explanation (PDF or image)."""
    if not name or "/" in name or "\\" in name or name in (".", "..") or ".." in name or "\x00" in name:
        raise StorageError(f"{name!r}：文件名不合法（不得包含路径）")
    suffix = Path(name).suffix.lower()
    if suffix not in DOCUMENT_TYPES:
        kind = suffix or "（无扩展名）"
        raise StorageError(f"{name}：不支持的文件类型 {kind}（仅接受 PDF、PNG、JPEG、TIFF）")
    return name


class _Prefixed:
    """A stream whose first bytes were already read (to check the file type)."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self.head, self.rest = head, rest

    def read(self, n: int = -1) -> bytes:
        if self.head:
            out, self.head = self.head, b""
            return out
        return self.rest.read(n)


@dataclass(frozen=True)
class StoredFile:
    path: Path
    sha256: str
    size_bytes: int
    created: bool = True  # False when the same content was already in the store


class OriginalStore:
    """Content-addressed, read-only store of every original the app serves or exports."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self._verified: dict[tuple[int, int, int, int, int], str] = {}  # inode identity -> verified sha
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- writing

    def _keep(self, tmp: str, digest: str, size: int, name: str) -> StoredFile:
        # root/ab/<sha256>/<original name>: content-addressed, and the pipeline still reads the camera's
        # file name (device and start time, for ordering and grouping a case's files)
        final = self.root / digest[:2] / digest / name
        final.parent.mkdir(parents=True, exist_ok=True)
        if os.path.lexists(final):
            os.unlink(tmp)  # same content under the same name already stored (and read-only)
            return StoredFile(path=final, sha256=digest, size_bytes=size, created=False)
        os.chmod(tmp, 0o444)
        os.replace(tmp, final)
        return StoredFile(path=final, sha256=digest, size_bytes=size)

    def _copy_in(self, source: BinaryIO, name: str, max_bytes: int | None, too_large: str) -> StoredFile:
        digest, size = hashlib.sha256(), 0
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := source.read(_CHUNK):
                    size += len(chunk)
                    if max_bytes is not None and size > max_bytes:
                        raise UploadTooLarge(f"{name}：{too_large}")
                    digest.update(chunk)
                    out.write(chunk)
            if size == 0:
                raise StorageError(f"{name}：文件为空")
            return self._keep(tmp, digest.hexdigest(), size, name)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def save_upload(
        self, stream: BinaryIO, name: str, *, max_bytes: int | None = None, too_large: str = "文件过大"
    ) -> StoredFile:
        return self._copy_in(stream, safe_upload_name(name), max_bytes, too_large)

    def save_document(self, stream: BinaryIO, name: str) -> StoredFile:
        """A scanned written explanation (PDF or image), checked by its first bytes, not its name."""
        name = clean_name(safe_document_name(name))
        suffix = Path(name).suffix.lower()
        head = stream.read(16)
        if not any(head.startswith(magic) for magic in DOCUMENT_TYPES[suffix]):
            kind = suffix[1:].upper()
            raise StorageError(f"{name}：文件内容不是 {kind}（仅接受 PDF、PNG、JPEG、TIFF 扫描件）")
        limit = f"文件超过 {MAX_DOCUMENT_BYTES >> 20} MB"
        return self._copy_in(_Prefixed(head, stream), name, MAX_DOCUMENT_BYTES, limit)

    def ingest(self, path: Path, data_dir: Path, allowed_in_data: list[Path]) -> StoredFile:
        """Copy a registered file into the store. A symlink is refused (O_NOFOLLOW), and so is any file
        that resolves into the data directory outside `allowed_in_data` (the database, keys, the store)."""
        name = clean_name(path.name)
        real = Path(os.path.realpath(path))
        if real.is_relative_to(data_dir) and not any(real.is_relative_to(a) for a in allowed_in_data):
            raise StorageError(f"{name}：指向数据目录内的文件，拒绝登记")
        try:
            fd = os.open(path, _OPEN_FLAGS)
        except OSError as err:
            reason = "是符号链接" if err.errno == errno.ELOOP else "无法读取"
            raise StorageError(f"{name}：{reason}，拒绝登记") from None
        with os.fdopen(fd, "rb") as source:
            if not stat.S_ISREG(os.fstat(source.fileno()).st_mode):
                raise StorageError(f"{name}：不是普通文件，拒绝登记")
            return self._copy_in(source, name, None, "")

    def discard(self, stored: StoredFile) -> None:
        """Undo a save of this request (a failed import): only a file this request created goes."""
        if stored.created:
            try:
                os.unlink(stored.path)
                stored.path.parent.rmdir()  # only when no other name of that content is left
            except OSError:
                pass

    # ---------------------------------------------------------------- reading

    def contains(self, stored_path: str) -> bool:
        try:
            self._relative(stored_path, "")
        except StorageError:
            return False
        return True

    def _relative(self, stored_path: str, sha256: str) -> tuple[str, ...]:
        """The stored path's components below the store: ab/<sha256>/<name>, or ab/<sha256><suffix> as
        uploads were stored before registered files were copied too."""
        parts = Path(stored_path).parts
        root = self.root.parts
        below = parts[len(root) :]
        if parts[: len(root)] != root or len(below) not in (2, 3) or any(p in ("", ".", "..") for p in below):
            raise StorageError("原始文件不在只读存储中")
        if sha256 and (below[0] != sha256[:2] or not below[1].startswith(sha256)):
            raise StorageError("原始文件的存储位置与其 SHA-256 不符")
        if len(below) == 3 and sha256 and below[1] != sha256:
            raise StorageError("原始文件的存储位置与其 SHA-256 不符")
        return below

    def open(self, stored_path: str, sha256: str) -> BinaryIO:
        """The stored file, opened without following any symlink inside the store; a regular file only."""
        *dirs, name = self._relative(stored_path, sha256)
        dir_fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for d in dirs:
                inner = os.open(d, _DIR_FLAGS, dir_fd=dir_fd)
                os.close(dir_fd)
                dir_fd = inner
            fd = os.open(name, _OPEN_FLAGS, dir_fd=dir_fd)
        except OSError:
            raise StorageError("原始文件不可读或已被替换为链接") from None
        finally:
            os.close(dir_fd)
        fh = os.fdopen(fd, "rb")
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            fh.close()
            raise StorageError("原始文件不是普通文件")
        os.set_blocking(fd, True)
        return fh

    def open_verified(self, stored_path: str, sha256: str, *, use_cache: bool = True) -> BinaryIO:
        """The stored file, open and checked against `sha256` (hashed unless this very inode, unchanged,
        was verified before). Raises StorageError on any mismatch; the caller serves this handle."""
        fh = self.open(stored_path, sha256)
        try:
            st = os.fstat(fh.fileno())
            key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
            with self._lock:
                known = self._verified.get(key)
            if not (use_cache and known == sha256):
                digest = hashlib.sha256()
                while chunk := fh.read(_CHUNK):
                    digest.update(chunk)
                if digest.hexdigest() != sha256:
                    raise StorageError("当前内容与入库时的 SHA-256 不符")
                with self._lock:
                    self._verified[key] = sha256
                fh.seek(0)
            return fh
        except BaseException:
            fh.close()
            raise

    def verify(self, stored_path: str, sha256: str, *, use_cache: bool = True) -> str:
        """'' when the stored file is intact, else the reason (one Chinese phrase)."""
        try:
            self.open_verified(stored_path, sha256, use_cache=use_cache).close()
        except StorageError as err:
            return str(err)
        except OSError:
            return "原始文件不可读"
        return ""


def list_media(folder: Path) -> list[Path]:
    """Media files of a folder; symlinks are listed too, so that registering them is refused aloud."""
    return sorted(
        p for p in folder.iterdir() if (p.is_symlink() or p.is_file()) and p.suffix.lower() in MEDIA_SUFFIXES
    )
