"""Make real media files for the media/transcription tests with PyAV (any codec/container, tags, cuts)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def tone(seconds: float, sr: int, freq: float = 440.0, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(round(seconds * sr))) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write_media(
    path: str | Path,
    audio: np.ndarray | None,
    sr: int,
    *,
    codec: str = "aac",
    fmt: str | None = None,
    channels: int = 1,
    video: bool = False,
    metadata: dict[str, str] | None = None,
    skip: tuple[float, float] | None = None,
    frame_size: int = 1024,
) -> Path:
    """Encode `audio` (mono float32; duplicated to `channels`) with `codec` into `path`.

    `video` adds a tiny picture track; `audio=None` writes video only. `skip=(at_s, gap_s)` leaves a
    hole in the audio timestamps at `at_s` (the samples continue `gap_s` later), like a cut recording.
    """
    import av

    path = Path(path)
    out = av.open(str(path), "w", format=fmt)
    for key, value in (metadata or {}).items():
        out.metadata[key] = value
    vstream = None
    if video:
        vstream = out.add_stream("mpeg4", rate=5)
        vstream.width, vstream.height, vstream.pix_fmt = 64, 48, "yuv420p"
    astream = None
    if audio is not None:
        astream = out.add_stream(codec, rate=sr)
        astream.layout = "mono" if channels == 1 else "stereo"
        fixed = astream.codec_context.frame_size or frame_size
        planar = astream.format.is_planar
        fmt_name = astream.format.name
        shift = 0
        for i in range(0, len(audio), fixed):
            block = audio[i : i + fixed]
            if len(block) < fixed and astream.codec_context.frame_size:
                block = np.pad(block, (0, fixed - len(block)))
            data = np.tile(block, (channels, 1))  # (channels, n)
            if not planar:
                data = data.T.reshape(1, -1)  # interleaved
            if fmt_name.startswith("s16"):
                data = (np.clip(data, -1, 1) * 32767).astype(np.int16)
            elif fmt_name.startswith("s32"):
                data = (np.clip(data, -1, 1) * 2147483647).astype(np.int32)
            elif fmt_name.startswith("dbl"):
                data = data.astype(np.float64)
            else:
                data = data.astype(np.float32)
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(data), format=fmt_name, layout=astream.layout.name
            )
            frame.sample_rate = sr
            if skip and shift == 0 and i / sr >= skip[0]:
                shift = int(round(skip[1] * sr))
            frame.pts = i + shift
            for packet in astream.encode(frame):
                out.mux(packet)
        for packet in astream.encode(None):
            out.mux(packet)
    if vstream is not None:
        seconds = len(audio) / sr if audio is not None else 3.0
        for k in range(max(1, int(seconds * 5))):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 80, np.uint8), format="rgb24")
            frame.pts = k
            for packet in vstream.encode(frame):
                out.mux(packet)
        for packet in vstream.encode(None):
            out.mux(packet)
    out.close()
    return path
