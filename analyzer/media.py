"""Media in: probe and decode any recording to 16 kHz mono float32, never writing to it.

Everything goes through PyAV (FFmpeg libraries), so wav/flac/mp3/m4a/aac/ogg/opus/amr and the
video containers body cameras write (mp4/mov/avi/mkv) all work without an ffmpeg binary.
Files are opened read-only. Decoding is streamed (`iter_audio`) so a 2-hour recording never has
to be held in memory as a whole.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import tempfile
import threading
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

TARGET_SR = 16_000

# Forward jumps in the audio presentation timestamps longer than this are filled with silence when
# decoding, so transcript times stay on the original's timeline (what a player shows).
PTS_GAP_FILL_S = 0.2
# ...but never fill more than this (a broken timestamp must not make us allocate hours of zeros).
PTS_GAP_FILL_MAX_S = 6 * 3600.0


class MediaError(Exception):
    """Unreadable or unusable media. str(err) is one line: '<path>: <cause in plain words>'."""


@dataclass(frozen=True)
class Probe:
    path: str
    sha256: str
    size_bytes: int
    container: str  # e.g. "mov,mp4,m4a,3gp,3g2,mj2", "wav"
    duration_s: float
    sample_rate: int  # of the original audio stream
    channels: int
    codec: str  # audio codec name
    has_video: bool
    creation_time: str | None = None  # ISO 8601 from container tags, when present
    tags: dict[str, str] = field(default_factory=dict)  # container + stream tags (encoder, device, ...)
    start_time_s: float = 0.0  # container start time (first presentation timestamp), usually 0
    bit_rate: int = 0  # container bit rate, bits/s (0 when unknown)
    video_codec: str | None = None


class PacketTime(NamedTuple):
    """One demuxed audio packet's place on the original's timeline (seconds)."""

    pts_s: float
    dur_s: float


def _fail(path: str | os.PathLike, cause: str) -> MediaError:
    return MediaError(f"{path}: {cause}")


def sha256_file(path: str | os.PathLike, chunk_bytes: int = 1 << 20) -> str:
    """SHA-256 of the file's bytes, read in chunks (fingerprint of the original; cache key)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk_bytes):
            digest.update(block)
    return digest.hexdigest()


def _check_file(path: str | os.PathLike) -> Path:
    p = Path(path)
    if not p.exists():
        raise _fail(path, "文件不存在 / file not found")
    if not p.is_file():
        raise _fail(path, "不是普通文件 / not a regular file")
    if p.stat().st_size == 0:
        raise _fail(path, "文件为空（0 字节）/ empty file (0 bytes)")
    return p


def _open_container(path: str | os.PathLike):
    """Open read-only with PyAV, turning FFmpeg errors into one-line MediaErrors."""
    import av

    p = _check_file(path)
    try:
        return av.open(str(p), mode="r")
    except av.error.InvalidDataError:
        raise _fail(
            path, "无法识别的媒体格式或文件已损坏/截断 / not a media file, or damaged/truncated"
        ) from None
    except av.error.FFmpegError as err:
        raise _fail(path, f"无法打开媒体 / cannot open media ({_ffmpeg_reason(err)})") from None
    except (OSError, UnicodeError) as err:
        raise _fail(path, f"无法读取 / cannot read ({err.__class__.__name__}: {err})") from None


def _ffmpeg_reason(err: Exception) -> str:
    text = getattr(err, "strerror", None) or str(err)
    return " ".join(str(text).split())[:160]


def _audio_stream(container, path: str | os.PathLike):
    if not container.streams.audio:
        kinds = "视频" if container.streams.video else "任何"
        raise _fail(path, f"没有音轨（只有{kinds}流）/ no audio track")
    return container.streams.audio[0]


def _tags(container, stream) -> dict[str, str]:
    tags: dict[str, str] = {}
    for source in (container.metadata, stream.metadata):
        for key, value in (source or {}).items():
            tags.setdefault(str(key).lower(), str(value))
    for vstream in container.streams.video[:1]:
        for key, value in (vstream.metadata or {}).items():
            tags.setdefault(f"video:{str(key).lower()}", str(value))
    return tags


def _duration_s(container, stream) -> float:
    if container.duration is not None and container.duration > 0:
        import av

        return float(container.duration) / av.time_base
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    return 0.0


def _first_frame_decodes(container, stream, path: str | os.PathLike, header_s: float) -> None:
    """Decode until the first audio frame: catches files whose header parses but whose data does not.
    header_s: the duration the header states (0: a recording stopped before its first sample)."""
    import av

    try:
        for packet in container.demux(stream):
            for _frame in packet.decode():
                return
    except av.error.FFmpegError as err:
        raise _fail(path, f"音频无法解码 / audio cannot be decoded ({_ffmpeg_reason(err)})") from None
    if header_s <= 0:
        raise _fail(path, "录音为空（音轨中没有任何采样）/ empty recording (no audio samples)")
    raise _fail(path, "音轨中没有可解码的音频（文件可能被截断）/ no decodable audio (truncated file?)")


def _header_info(container: Any, stream: Any) -> dict[str, Any]:
    """The Probe fields the container header gives (everything but path, size and SHA-256)."""
    ctx = stream.codec_context
    tags = _tags(container, stream)
    video = container.streams.video[0] if container.streams.video else None
    return dict(
        container=container.format.name,
        duration_s=_duration_s(container, stream),
        sample_rate=int(ctx.sample_rate or stream.rate or 0),
        channels=int(getattr(ctx, "channels", 0) or (ctx.layout.nb_channels if ctx.layout else 0)),
        codec=ctx.name,
        has_video=video is not None,
        creation_time=tags.get("creation_time") or tags.get("video:creation_time"),
        tags=tags,
        start_time_s=float(container.start_time) / 1_000_000 if container.start_time is not None else 0.0,
        bit_rate=int(container.bit_rate or 0),
        video_codec=video.codec_context.name if video is not None else None,
    )


def probe(path: str | os.PathLike) -> Probe:
    """Describe a recording (format, audio stream, tags, SHA-256) and check its audio decodes."""
    p = _check_file(path)
    with _open_container(p) as container:
        stream = _audio_stream(container, path)
        info = _header_info(container, stream)
        _first_frame_decodes(container, stream, path, info["duration_s"])
    if "mp4" in info["container"] or "mov" in info["container"]:
        _check_mp4_boxes(p)
    if info["duration_s"] <= 0:
        info["duration_s"] = _decoded_duration(p)
    return Probe(path=str(path), sha256=sha256_file(p), size_bytes=p.stat().st_size, **info)


def probe_header(path: str | os.PathLike) -> Probe:
    """What the container header says (duration, tags, stream layout) without hashing or decoding:
    cheap enough to run on every file of a folder when deciding which files belong together.
    `sha256` is empty; `duration_s` is 0 when the header does not give one."""
    p = _check_file(path)
    with _open_container(p) as container:
        info = _header_info(container, _audio_stream(container, path))
    return Probe(path=str(path), sha256="", size_bytes=p.stat().st_size, **info)


def _check_mp4_boxes(path: Path) -> None:
    """A cut-off MP4/MOV (copy interrupted, camera died) still opens when its index comes first, and
    then silently decodes only part of the audio. Walk the top-level boxes: one that claims to run past
    the end of the file means the file is truncated."""
    size = path.stat().st_size
    pos = 0
    with open(path, "rb") as fh:
        while pos + 8 <= size:
            fh.seek(pos)
            header = fh.read(16)
            box_size = int.from_bytes(header[:4], "big")
            box_type = header[4:8].decode("latin-1")
            if box_size == 1 and len(header) >= 16:
                box_size = int.from_bytes(header[8:16], "big")
            elif box_size == 0:  # "extends to end of file"
                return
            if box_size < 8:
                return  # not a box structure we understand; leave it to FFmpeg
            if pos + box_size > size:
                raise _fail(
                    path,
                    f"文件被截断（{box_type} 块缺少 {pos + box_size - size} 字节）/ truncated file "
                    f"(box {box_type!r} is missing {pos + box_size - size} bytes)",
                )
            pos += box_size


def _decoded_duration(path: Path) -> float:
    """Fallback for streams without a duration in the header: count decoded samples (streamed)."""
    total = 0
    for chunk in iter_audio(path, chunk_s=60.0):
        total += len(chunk)
    return total / TARGET_SR


def iter_audio(
    path: str | os.PathLike, chunk_s: float = 30.0, sr: int = TARGET_SR, *, fill_gaps: bool = True
) -> Iterator[np.ndarray]:
    """Yield consecutive float32 mono chunks of `chunk_s` seconds (the last may be shorter).

    Only one chunk plus one decoded frame is held at a time. With `fill_gaps`, forward jumps in the
    audio timestamps (cuts, dropped packets) become silence, so sample index / sr is the time a
    player would show.
    """
    import av

    if chunk_s <= 0:
        raise ValueError("chunk_s must be positive")
    chunk_len = max(1, int(round(chunk_s * sr)))
    container = _open_container(path)
    try:
        stream = _audio_stream(container, path)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sr)
        pending: list[np.ndarray] = []
        pending_len = 0
        emitted = 0  # samples produced so far (decoded + filled)

        def take(arr: np.ndarray) -> Iterator[np.ndarray]:
            nonlocal pending_len
            pending.append(arr)
            pending_len += len(arr)
            while pending_len >= chunk_len:
                joined = np.concatenate(pending) if len(pending) > 1 else pending[0]
                out, rest = joined[:chunk_len], joined[chunk_len:]
                pending.clear()
                pending_len = len(rest)
                if pending_len:
                    pending.append(rest)
                yield np.ascontiguousarray(out, dtype=np.float32)

        def frames() -> Iterator:
            try:
                for packet in container.demux(stream):
                    try:
                        yield from packet.decode()
                    except av.error.InvalidDataError:
                        continue  # one damaged packet: skip it, keep the rest of the recording
            except av.error.FFmpegError as err:
                raise _fail(path, f"音频解码失败 / audio decoding failed ({_ffmpeg_reason(err)})") from None
            yield None  # flush

        decoded_any = False
        origin = float(container.start_time) / 1_000_000 if container.start_time is not None else 0.0
        drop = 0  # leading samples before the timeline origin (codec priming with negative pts)
        for frame in frames():
            if frame is not None and fill_gaps and frame.time is not None:
                gap = float(frame.time) - origin - emitted / sr
                if not decoded_any and gap < 0:
                    drop = int(round(-gap * sr))
                elif PTS_GAP_FILL_S < gap < PTS_GAP_FILL_MAX_S:
                    fill = int(round(gap * sr))
                    emitted += fill
                    while fill > 0:  # in bounded pieces: a long gap must not allocate at once
                        piece = min(fill, chunk_len)
                        yield from take(np.zeros(piece, dtype=np.float32))
                        fill -= piece
            for out in resampler.resample(frame):
                arr = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
                if drop:
                    cut = min(drop, arr.size)
                    arr, drop = arr[cut:], drop - cut
                if arr.size:
                    decoded_any = True
                    emitted += arr.size
                    yield from take(arr)
        if not decoded_any:
            raise _fail(path, "音轨中没有可解码的音频 / no decodable audio")
        if pending_len:
            yield np.ascontiguousarray(np.concatenate(pending), dtype=np.float32)
    finally:
        container.close()


def load_audio(path: str | os.PathLike, sr: int = TARGET_SR) -> np.ndarray:
    """Whole recording as one float32 mono array at `sr` (use iter_audio for long files).

    The chunks are copied into the result one by one and each is freed once copied, so the peak is
    the recording plus one chunk, not twice the recording (np.concatenate holds both)."""
    chunks = list(iter_audio(path, chunk_s=60.0, sr=sr))
    if len(chunks) == 1:
        return chunks[0]
    out = np.empty(sum(len(c) for c in chunks), dtype=np.float32)
    pos = 0
    chunks.reverse()
    while chunks:
        chunk = chunks.pop()
        out[pos : pos + len(chunk)] = chunk
        pos += len(chunk)
        del chunk
    return out


def spool_audio(path: str | os.PathLike, sr: int = TARGET_SR) -> np.ndarray:
    """The recording as load_audio gives it (the same samples), held in a temporary file mapped
    read-only instead of in the process's own memory.

    A 2-hour recording is 460 MB as float32, and every stage of an analysis reads all of it: kept in
    memory it sits under the peak of every stage (transcription's included). Mapped, the pages a
    stage reads are handed back a moment later (`_drop_pages`, on a timer); they come back from the
    page cache, not the decoder, when read again. The file has no name (created in a private
    directory that is removed before this returns, and unlinked at once or never linked), so nothing
    is left on disk whatever happens to the process; its space is freed when the array is.
    Where the file cannot be written (disk full) or pages cannot be handed back (no madvise), the
    recording is held in memory as load_audio holds it."""
    if not hasattr(mmap, "MADV_DONTNEED"):
        return load_audio(path, sr)
    try:
        with tempfile.TemporaryDirectory(prefix="scriptcheck-audio-") as tmp:
            with tempfile.TemporaryFile(dir=tmp) as fh:
                for chunk in iter_audio(path, chunk_s=60.0, sr=sr):
                    fh.write(memoryview(chunk).cast("B"))
                fh.flush()
                if fh.tell() == 0:
                    return np.zeros(0, dtype=np.float32)
                pages = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)  # outlives the file object
    except OSError:
        return load_audio(path, sr)
    _start_dropping(pages)
    return np.frombuffer(pages, dtype=np.float32)


SPOOL_DROP_S = 0.02  # how often the pages read from spooled audio are handed back
_SPOOLED: weakref.WeakSet[mmap.mmap] = weakref.WeakSet()
_DROPPER: list[threading.Thread] = []
_DROP_LOCK = threading.Lock()


def _start_dropping(pages: mmap.mmap) -> None:
    with _DROP_LOCK:  # the set is changed and copied under the lock: analyses may run in threads
        _SPOOLED.add(pages)
        if not _DROPPER or not _DROPPER[0].is_alive():
            _DROPPER[:] = [threading.Thread(target=_drop_loop, name="spooled-audio-pages", daemon=True)]
            _DROPPER[0].start()


def _drop_loop() -> None:
    """Runs while any spooled recording is alive. On a timer rather than at each read: the stages
    read the array wherever they like (transcription hashes it whole before its first decode)."""
    while True:
        with _DROP_LOCK:
            live = list(_SPOOLED)
            if not live:
                _DROPPER.clear()
                return
        _drop_pages(live)
        del live  # not kept alive through the wait
        time.sleep(SPOOL_DROP_S)


def _drop_pages(live: list[mmap.mmap]) -> None:
    """Unmap the resident pages of the spooled recordings (madvise DONTNEED). The mapping is of a
    file, read-only, so this loses nothing: a page read again is mapped again from the page cache."""
    for pages in live:
        try:
            pages.madvise(mmap.MADV_DONTNEED)
        except (ValueError, OSError):  # closed meanwhile
            pass


def iter_audio_packet_times(path: str | os.PathLike) -> Iterator[PacketTime]:
    """Demux (no decoding) the first audio stream and yield each packet's pts and duration in seconds.

    For continuity checks: a jump between one packet's pts+dur and the next pts is a cut or drop.
    Packets without a pts are skipped.
    """
    import av

    container = _open_container(path)
    try:
        stream = _audio_stream(container, path)
        base = float(stream.time_base) if stream.time_base is not None else 1.0 / (stream.rate or 1)
        try:
            for packet in container.demux(stream):
                if packet.pts is None or packet.size == 0:
                    continue
                yield PacketTime(packet.pts * base, (packet.duration or 0) * base)
        except av.error.FFmpegError as err:
            raise _fail(path, f"读取数据包失败 / reading packets failed ({_ffmpeg_reason(err)})") from None
    finally:
        container.close()


def audio_packet_times(path: str | os.PathLike) -> list[PacketTime]:
    """All audio packet (pts_s, dur_s) pairs, in file order (see iter_audio_packet_times)."""
    return list(iter_audio_packet_times(path))
