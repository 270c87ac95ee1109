"""Media in: probe and decode any recording to 16 kHz mono float32, never writing to it.

OWNER: transcription-core helper. Interface below is shared; add fields, don't rename.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TARGET_SR = 16_000


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
