"""Transcribe: audio -> time-stamped Simplified-Chinese transcript, fully offline.

OWNER: transcription-core helper. Interface below is shared; add fields, don't rename.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    text: str  # Simplified
    probability: float


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str  # Simplified (OpenCC t2s)
    raw_text: str  # exactly what the engine produced
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float = 0.0
    words: tuple[Word, ...] = ()


@dataclass(frozen=True)
class Transcript:
    segments: tuple[Segment, ...]
    language: str
    duration_s: float
    engine: str  # "faster-whisper" | "openai-whisper"
    model: str  # model name or path as resolved
    options: dict = field(default_factory=dict)
    audio_sha256: str = ""

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.segments)
