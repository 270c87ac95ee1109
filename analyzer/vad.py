"""Voice activity: Silero speech probabilities, computed once per recording, and speech spans cut from them.

Transcription needs coarse regions (long pauses kept inside a region, padded, split at 30 s) and
continuity needs a tight mask (every pause of 0.1 s, little padding). Both come from the same
per-frame probabilities, so the network (the Silero model bundled with faster-whisper, offline)
runs once per recording instead of once per consumer. `speech_spans` applies the same
post-processing as `faster_whisper.vad.get_speech_timestamps` (tested equal), to precomputed
probabilities.

Frames quieter than SILENCE_GATE_DBFS skip the network (probability 0): dropouts, muted stretches
and digital silence cost nothing, so a 2-hour mostly silent file takes seconds, not a minute.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

SR = 16_000
FRAME = 512  # samples per Silero frame (32 ms)
SILENCE_GATE_DBFS = -55.0  # quieter than this cannot hold speech
GATE_FRAME_S = 0.25
GATE_PAD_S = 1.0
CHUNK_FRAMES = 9375  # 300 s per network call, with fresh state, as the streaming transcriber reads
BATCH_FRAMES = 512  # frames per ONNX run within a call (the state carried): bounded activations
_CONTEXT = 64  # samples of the previous frame the network sees before each frame


@dataclass(frozen=True)
class SpanOptions:
    """Post-processing of the frame probabilities (the fields of faster-whisper's VadOptions)."""

    threshold: float = 0.5
    min_speech_ms: int = 250
    min_silence_ms: int = 2000
    pad_ms: int = 400
    max_speech_s: float = float("inf")
    neg_threshold: float | None = None

    @property
    def end_threshold(self) -> float:
        """The probability below which a frame ends speech (Silero's default: threshold - 0.15)."""
        return self.neg_threshold if self.neg_threshold is not None else max(self.threshold - 0.15, 0.01)


def active_spans(audio: np.ndarray) -> list[tuple[int, int]]:
    """Sample spans (padded by GATE_PAD_S) where the level rises above SILENCE_GATE_DBFS."""
    frame = int(GATE_FRAME_S * SR)
    n = len(audio) // frame
    if n == 0:
        return [(0, len(audio))] if len(audio) else []
    gate = 10 ** (SILENCE_GATE_DBFS / 20)
    frames = audio[: n * frame].reshape(n, frame)
    rms = np.sqrt(np.einsum("ij,ij->i", frames, frames) / frame)  # no full-length temporary
    loud = rms > gate
    if len(audio) > n * frame:
        loud = np.append(loud, np.sqrt(np.mean(np.square(audio[n * frame :], dtype=np.float64))) > gate)
    pad = int(GATE_PAD_S / GATE_FRAME_S)
    spans: list[tuple[int, int]] = []
    for i in np.flatnonzero(loud).tolist():
        a, b = max(0, (i - pad) * frame), min(len(audio), (i + 1 + pad) * frame)
        if spans and a <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], b))
        else:
            spans.append((a, b))
    return spans


def speech_probs(audio: np.ndarray) -> np.ndarray:
    """Silero speech probability of every 512-sample frame of a 16 kHz mono array (float32).

    The network runs over each loud span (frame-aligned, in 300 s pieces) with fresh state, as it
    would on that span alone; quiet frames get 0."""
    from faster_whisper.vad import get_vad_model

    x = np.ascontiguousarray(audio, dtype=np.float32).reshape(-1)
    n_frames = -(-len(x) // FRAME)
    probs = np.zeros(n_frames, dtype=np.float32)
    if len(x) < SR // 10:
        return probs
    model = get_vad_model()
    for a, b in active_spans(x):
        fa, fb = a // FRAME, -(-b // FRAME)
        for start in range(fa, fb, CHUNK_FRAMES):  # bounded memory: the model batches all it is given
            stop = min(fb, start + CHUNK_FRAMES)
            # A copy: the model zeroes part of the array it is given (faster-whisper always passes it
            # a padded copy), and the caller's audio must come back untouched.
            chunk = x[start * FRAME : stop * FRAME]
            chunk = np.pad(chunk, (0, -len(chunk) % FRAME))
            probs[start : start + len(chunk) // FRAME] = _network(model, chunk).reshape(-1)
    if n_frames > CHUNK_FRAMES:
        release_freed_memory()
    return probs


def _network(model: Any, chunk: np.ndarray) -> np.ndarray:
    """model(chunk): faster-whisper's SileroVADModel call (frames with the previous frame's last 64
    samples as context, the LSTM state carried from run to run), with the frames given to the ONNX
    session BATCH_FRAMES at a time instead of 10000: the same probabilities (tests/test_vad.py
    compares them bit for bit), without the network's activations for a whole 300 s piece at once
    (about 100 MB per piece in use at once, more left fragmented in the heap). `chunk` is modified, as
    the call does. A model of another shape (another faster-whisper version) is simply called."""
    session = getattr(model, "session", None)
    if session is None or [i.name for i in session.get_inputs()] != ["input", "h", "c"]:
        return np.asarray(model(chunk), np.float32)
    frames = chunk.reshape(-1, FRAME)
    frames[-1, -_CONTEXT:] = 0  # as the call does: the first frame's context is zeros
    context = np.roll(frames[:, -_CONTEXT:], 1, 0)
    h = np.zeros((1, 1, 128), dtype=np.float32)
    c = np.zeros((1, 1, 128), dtype=np.float32)
    out = []
    for i in range(0, len(frames), BATCH_FRAMES):
        batch = np.concatenate([context[i : i + BATCH_FRAMES], frames[i : i + BATCH_FRAMES]], 1)
        probs, h, c = session.run(None, {"input": batch, "h": h, "c": c})
        out.append(np.asarray(probs, np.float32).reshape(-1))
    return np.concatenate(out)


def release_freed_memory() -> None:
    """Hand freed heap memory back to the system (glibc malloc_trim; elsewhere nothing). The network's
    buffers for each 300 s piece are freed but stay in the heap, fragmented: on a 15-minute recording
    about 130 MB that every later stage of the analysis would otherwise sit on top of."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def speech_spans(probs: np.ndarray, n_samples: int, options: SpanOptions | None = None) -> list[dict]:
    """Speech regions [{'start': sample, 'end': sample}, ...] from frame probabilities.

    The hysteresis, minimum lengths, padding and max-length split of Silero's reference
    post-processing, as faster-whisper implements it."""
    o = options or SpanOptions()
    threshold = o.threshold
    neg_threshold = o.end_threshold
    min_speech = SR * o.min_speech_ms / 1000
    pad = SR * o.pad_ms / 1000
    max_speech = SR * o.max_speech_s - FRAME - 2 * pad
    min_silence = SR * o.min_silence_ms / 1000
    min_silence_at_max = SR * 98 / 1000

    speeches: list[dict] = []
    current: dict = {}
    triggered = False
    temp_end = prev_end = next_start = 0
    for i, p in enumerate(np.asarray(probs, dtype=np.float64).tolist()):
        pos = FRAME * i
        if p >= threshold and temp_end:
            temp_end = 0
            if next_start < prev_end:
                next_start = pos
        if p >= threshold and not triggered:
            triggered = True
            current["start"] = pos
            continue
        if triggered and pos - current["start"] > max_speech:
            if prev_end:
                current["end"] = prev_end
                speeches.append(current)
                current = {}
                if next_start < prev_end:
                    triggered = False
                else:
                    current["start"] = next_start
                prev_end = next_start = temp_end = 0
            else:
                current["end"] = pos
                speeches.append(current)
                current = {}
                prev_end = next_start = temp_end = 0
                triggered = False
                continue
        if p < neg_threshold and triggered:
            if not temp_end:
                temp_end = pos
            if pos - temp_end > min_silence_at_max:
                prev_end = temp_end
            if pos - temp_end < min_silence:
                continue
            current["end"] = temp_end
            if current["end"] - current["start"] > min_speech:
                speeches.append(current)
            current = {}
            prev_end = next_start = temp_end = 0
            triggered = False
    if current and n_samples - current["start"] > min_speech:
        current["end"] = n_samples
        speeches.append(current)

    for i, s in enumerate(speeches):
        if i == 0:
            s["start"] = int(max(0, s["start"] - pad))
        if i != len(speeches) - 1:
            silence = speeches[i + 1]["start"] - s["end"]
            if silence < 2 * pad:
                s["end"] += int(silence // 2)
                speeches[i + 1]["start"] = int(max(0, speeches[i + 1]["start"] - silence // 2))
            else:
                s["end"] = int(min(n_samples, s["end"] + pad))
                speeches[i + 1]["start"] = int(max(0, speeches[i + 1]["start"] - pad))
        else:
            s["end"] = int(min(n_samples, s["end"] + pad))
    return [{"start": int(s["start"]), "end": int(s["end"])} for s in speeches]
