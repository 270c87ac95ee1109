"""Small audio helpers for tests, samples and the scenario corpus: assemble, degrade and package speech.

Everything is float32 mono numpy at an explicit sample rate, deterministic for a given seed. Noise is mixed
at an SNR measured against the *active* speech (frames within 30 dB of the loudest), so a recording with long
pauses is not made artificially easy. Containers are written with PyAV (AAC in mp4, optional video track,
creation_time tag) the way body cameras produce them.
"""

from __future__ import annotations

import fractions
import os
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import soundfile as sf

NOISE_KINDS = ("white", "street", "wind", "babble")


def silence(seconds: float, sr: int) -> np.ndarray:
    return np.zeros(int(round(seconds * sr)), np.float32)


def concat(parts: Sequence[np.ndarray | float], sr: int) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Join clips and silences (a float is that many seconds of silence).
    Returns the audio and the (start_s, end_s) of every clip part, in order, for ground-truth times."""
    pieces: list[np.ndarray] = []
    spans: list[tuple[float, float]] = []
    pos = 0
    for part in parts:
        chunk = silence(part, sr) if isinstance(part, int | float) else np.asarray(part, np.float32)
        if not isinstance(part, int | float):
            spans.append((pos / sr, (pos + len(chunk)) / sr))
        pieces.append(chunk)
        pos += len(chunk)
    audio = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
    return audio.astype(np.float32), spans


def speech_power(audio: np.ndarray, sr: int, *, frame_s: float = 0.02, floor_db: float = 30.0) -> float:
    """Mean power of the active frames (within `floor_db` of the loudest frame)."""
    frame = max(1, int(frame_s * sr))
    n = len(audio) // frame
    if n == 0:
        return float(np.mean(audio.astype(np.float64) ** 2)) if len(audio) else 0.0
    powers = np.mean(audio[: n * frame].astype(np.float64).reshape(n, frame) ** 2, axis=1)
    peak = powers.max()
    if peak <= 0:
        return 0.0
    active = powers[powers >= peak * 10 ** (-floor_db / 10)]
    return float(active.mean())


def _shaped_noise(n: int, sr: int, rng: np.random.Generator, gain_at) -> np.ndarray:
    """Gaussian noise with the magnitude spectrum `gain_at(freqs_hz)`."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1.0 / sr)
    return np.fft.irfft(spectrum * gain_at(freqs), n).astype(np.float32)


def _slow_envelope(n: int, sr: int, rng: np.random.Generator, *, rate_hz: float, depth: float) -> np.ndarray:
    """A smooth random gain curve around 1 (traffic passing, gusts)."""
    points = max(4, int(n / sr * rate_hz) + 4)
    knots = rng.uniform(1 - depth, 1 + depth, points)
    return np.interp(np.arange(n), np.linspace(0, n, points), knots).astype(np.float32)


def make_noise(
    kind: str, n: int, sr: int, *, seed: int = 0, babble_sources: Sequence[np.ndarray] = ()
) -> np.ndarray:
    """Unit-power noise of `kind`: white; street (rumble below ~500 Hz, pink above, passing traffic);
    wind (strong < 200 Hz, gusting); babble (several other voices summed, from `babble_sources`)."""
    rng = np.random.default_rng(seed)
    if kind == "white":
        noise = rng.standard_normal(n).astype(np.float32)
    elif kind == "street":
        noise = _shaped_noise(
            n, sr, rng, lambda f: 1.0 / np.sqrt(np.maximum(f, 20.0)) * (1 + 4.0 / (1 + (f / 400.0) ** 2))
        )
        noise *= _slow_envelope(n, sr, rng, rate_hz=0.3, depth=0.6)
    elif kind == "wind":
        noise = _shaped_noise(n, sr, rng, lambda f: 1.0 / (1 + (np.maximum(f, 5.0) / 150.0) ** 2))
        noise *= _slow_envelope(n, sr, rng, rate_hz=1.5, depth=0.9) ** 2
    elif kind == "babble":
        if not babble_sources:
            raise ValueError("babble noise needs babble_sources (other speech at the same sample rate)")
        noise = np.zeros(n, np.float32)
        for src in babble_sources:
            src = np.asarray(src, np.float32)
            if not len(src):
                continue
            start = int(rng.integers(0, len(src)))
            reps = int(np.ceil((n + start) / len(src)))
            noise += np.tile(src, reps)[start : start + n] / (np.sqrt(speech_power(src, sr)) + 1e-9)
    else:
        raise ValueError(f"unknown noise kind {kind!r}; choose one of {NOISE_KINDS}")
    power = float(np.mean(noise.astype(np.float64) ** 2))
    return (noise / np.sqrt(power)).astype(np.float32) if power > 0 else noise


def add_noise(
    audio: np.ndarray,
    sr: int,
    snr_db: float,
    kind: str = "white",
    *,
    seed: int = 0,
    babble_sources: Sequence[np.ndarray] = (),
) -> np.ndarray:
    """Mix noise so that active-speech power / noise power = `snr_db`. Clipped to [-1, 1]."""
    noise = make_noise(kind, len(audio), sr, seed=seed, babble_sources=babble_sources)
    scale = np.sqrt(speech_power(audio, sr) / 10 ** (snr_db / 10))
    return np.clip(audio + scale * noise, -1.0, 1.0).astype(np.float32)


def apply_gain(audio: np.ndarray, gain_db: float) -> np.ndarray:
    return np.clip(audio * 10 ** (gain_db / 20), -1.0, 1.0).astype(np.float32)


def insert_dropout(audio: np.ndarray, sr: int, start_s: float, duration_s: float) -> np.ndarray:
    """Replace a stretch with exact digital zeros (recorder lost the signal; the timeline is kept)."""
    out = np.array(audio, np.float32, copy=True)
    a = int(round(start_s * sr))
    out[a : a + int(round(duration_s * sr))] = 0.0
    return out


def cut_out(audio: np.ndarray, sr: int, start_s: float, end_s: float) -> np.ndarray:
    """Remove a section (an edit: what was said there is gone and the audio jumps)."""
    a, b = int(round(start_s * sr)), int(round(end_s * sr))
    return np.concatenate([audio[:a], audio[b:]]).astype(np.float32)


def resample(audio: np.ndarray, sr: int, new_sr: int) -> np.ndarray:
    """High-quality resampling with sox."""
    if sr == new_sr:
        return np.asarray(audio, np.float32)
    from bench.tts import sox_effects

    return sox_effects(audio, sr, out_sr=new_sr)[0]


def telephone_band(audio: np.ndarray, sr: int, *, keep_sr: bool = True) -> tuple[np.ndarray, int]:
    """8 kHz narrow-band speech (300-3400 Hz), as from a phone line or a cheap recorder.
    With keep_sr the result is brought back to `sr` (band-limited content at the original rate)."""
    from bench.tts import sox_effects

    narrow, _ = sox_effects(audio, sr, out_sr=8000, extra=["sinc", "300-3400"])
    if keep_sr:
        return resample(narrow, 8000, sr), sr
    return narrow, 8000


def _atomic_target(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="." + path.stem + ".", suffix=path.suffix)
    os.close(fd)
    return Path(tmp)


def write_audio(path: str | Path, audio: np.ndarray, sr: int) -> Path:
    """wav (16-bit PCM), flac or ogg (Vorbis), by suffix; written atomically."""
    path = Path(path)
    suffix = path.suffix.lower()
    subtype = {".wav": "PCM_16", ".flac": "PCM_16", ".ogg": "VORBIS"}.get(suffix)
    if subtype is None:
        raise ValueError(f"{path}: use write_mp4 for {suffix or 'no suffix'}; write_audio does wav/flac/ogg")
    tmp = _atomic_target(path)
    sf.write(tmp, np.clip(audio, -1, 1), sr, subtype=subtype, format=suffix[1:].upper())
    os.replace(tmp, path)
    return path


def _iso(creation_time: datetime | str) -> str:
    if isinstance(creation_time, str):
        creation_time = datetime.fromisoformat(creation_time.replace("Z", "+00:00"))
    if creation_time.tzinfo is None:
        creation_time = creation_time.replace(tzinfo=UTC)
    utc = creation_time.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond:06d}Z"


def write_mp4(
    path: str | Path,
    audio: np.ndarray,
    sr: int,
    *,
    video: bool = False,
    creation_time: datetime | str | None = None,
    bitrate: int = 32_000,
    tags: dict[str, str] | None = None,
    video_fps: int = 2,
    video_size: tuple[int, int] = (160, 120),
) -> Path:
    """mp4 (.mp4/.m4a) with AAC mono audio and, if `video`, a tiny H.264 picture track (a grey frame
    whose brightness steps each second) so that it looks like a body-camera file to probes.
    `creation_time` (aware or naive-UTC datetime / ISO string) goes into the container's creation_time tag."""
    import av

    path = Path(path)
    tmp = _atomic_target(path)
    samples = np.clip(np.asarray(audio, np.float32), -1, 1)
    try:
        with av.open(str(tmp), "w", format="mp4") as container:
            if creation_time is not None:
                container.metadata["creation_time"] = _iso(creation_time)
            for key, value in (tags or {}).items():
                container.metadata[key] = value
            vstream = None
            if video:
                vstream = container.add_stream("libx264", rate=video_fps)
                vstream.width, vstream.height = video_size
                vstream.pix_fmt = "yuv420p"
                vstream.options = {"preset": "ultrafast", "crf": "40"}
            astream = container.add_stream("aac", rate=sr)
            astream.layout = "mono"
            astream.bit_rate = bitrate
            astream.time_base = fractions.Fraction(1, sr)
            frame_n = 1024
            for i in range(0, len(samples), frame_n):
                chunk = samples[i : i + frame_n]
                frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="fltp", layout="mono")
                frame.sample_rate = sr
                frame.pts = i
                frame.time_base = astream.time_base
                for packet in astream.encode(frame):
                    container.mux(packet)
            for packet in astream.encode(None):
                container.mux(packet)
            if vstream is not None:
                # never longer than the audio, so the container duration is the audio's
                n_frames = max(1, int(len(samples) / sr * video_fps))
                w, h = video_size
                for k in range(n_frames):
                    level = 40 + (k // video_fps) * 23 % 160
                    img = np.full((h, w, 3), level, np.uint8)
                    vframe = av.VideoFrame.from_ndarray(img, format="rgb24")
                    vframe.pts = k
                    for packet in vstream.encode(vframe):
                        container.mux(packet)
                for packet in vstream.encode(None):
                    container.mux(packet)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def write_recording(
    path: str | Path,
    audio: np.ndarray,
    sr: int,
    *,
    creation_time: datetime | str | None = None,
    video: bool = False,
    tags: dict[str, str] | None = None,
) -> Path:
    """Write by suffix: .mp4/.m4a/.mov via PyAV, anything else via soundfile."""
    if Path(path).suffix.lower() in (".mp4", ".m4a", ".mov"):
        return write_mp4(path, audio, sr, video=video, creation_time=creation_time, tags=tags)
    return write_audio(path, audio, sr)


def read_creation_time(path: str | Path) -> str | None:
    """The container's creation_time tag, if any (for checks)."""
    import av

    with av.open(str(path)) as container:
        return container.metadata.get("creation_time")
