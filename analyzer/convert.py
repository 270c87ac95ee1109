"""CTranslate2 Whisper model.bin -> openai-whisper checkpoint, so the PyTorch engine runs offline too;
and -> a pre-quantized int8 copy (int8_folder), so faster-whisper does not quantize at every load.

CTranslate2's model.bin is a simple container (see ctranslate2/specs/model_spec.py `_serialize`):
  u32 binary version, string spec name, u32 revision, u32 variable count,
  per variable: string name, u8 rank, u32 dims..., u8 dtype id, u32 byte count, raw bytes;
  then u32 alias count and (alias, target) string pairs.
Strings are u16 length (incl. NUL) + UTF-8 + NUL; everything little-endian.

Whisper-specific layout (verified on the embedded base model): self-attention q/k/v and
cross-attention k/v are stored fused (plain concatenation along the output axis, key biases zero),
decoder/projection/weight is an alias of the token embedding, no query scaling is folded in, and
config.json carries openai's alignment heads. The conversion is therefore exact: greedy decoding at
temperature 0 gives the same tokens as faster-whisper.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CONVERTER_VERSION = 1
CHECKPOINT_NAME = f"openai-whisper.v{CONVERTER_VERSION}.pt"
# dtype ids, in the order of CTranslate2's DataType enum (include/ctranslate2/types.h).
_DTYPES = ("float32", "int8", "int16", "int32", "float16", "bfloat16")


class ConversionError(Exception):
    """The file is not a CTranslate2 Whisper model this converter understands."""


@dataclass(frozen=True)
class CT2Model:
    spec_name: str
    binary_version: int
    revision: int
    variables: dict[str, np.ndarray]
    aliases: dict[str, str]

    def get(self, name: str) -> np.ndarray:
        return self.variables[self.aliases.get(name, name)]


def read_ct2_model(path: str | os.PathLike) -> CT2Model:
    """Parse a CTranslate2 model.bin into numpy arrays (views on one read of the file)."""
    data = Path(path).read_bytes()
    pos = 0

    def take(fmt: str):
        nonlocal pos
        size = struct.calcsize("<" + fmt)
        if pos + size > len(data):
            raise ConversionError(f"{path}: truncated CTranslate2 file at byte {pos}")
        values = struct.unpack_from("<" + fmt, data, pos)
        pos += size
        return values if len(values) > 1 else values[0]

    def string() -> str:
        nonlocal pos
        length = take("H")
        raw = data[pos : pos + length]
        pos += length
        return raw[:-1].decode("utf-8")

    version = take("I")
    if not 1 <= version <= 6:
        raise ConversionError(f"{path}: not a CTranslate2 model (binary version {version})")
    spec_name = string() if version >= 2 else ""
    revision = take("I") if version >= 3 else 1
    variables: dict[str, np.ndarray] = {}
    for _ in range(take("I")):
        name = string()
        rank = take("B")
        shape = tuple(int(take("I")) for _ in range(rank))
        dtype_id = take("B")
        nbytes = take("I")
        if dtype_id >= len(_DTYPES) or pos + nbytes > len(data):
            raise ConversionError(f"{path}: bad variable record {name!r}")
        buf = data[pos : pos + nbytes]
        pos += nbytes
        variables[name] = _to_array(buf, _DTYPES[dtype_id], shape)
    aliases: dict[str, str] = {}
    if version >= 5 and pos < len(data):
        for _ in range(take("I")):
            alias = string()
            aliases[alias] = string()
    return CT2Model(spec_name, version, revision, variables, aliases)


def _to_array(buf: bytes, dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    if dtype == "bfloat16":  # numpy has no bfloat16: widen to float32 (exact)
        raw = np.frombuffer(buf, dtype="<u2").astype(np.uint32) << 16
        return raw.view(np.float32).reshape(shape)
    return np.frombuffer(buf, dtype=np.dtype(dtype).newbyteorder("<")).reshape(shape)


def _scalar(model: CT2Model, name: str) -> int:
    return int(model.get(name).reshape(-1)[0])


def _layers(model: CT2Model, prefix: str) -> int:
    n = 0
    while f"{prefix}/layer_{n}/ffn/linear_0/weight" in model.variables:
        n += 1
    return n


def whisper_state_dict(model: CT2Model) -> tuple[dict, dict[str, np.ndarray]]:
    """(ModelDimensions kwargs, openai-whisper state dict as numpy arrays) from a CT2 Whisper model."""
    if model.spec_name and model.spec_name != "WhisperSpec":
        raise ConversionError(f"not a Whisper model (spec {model.spec_name})")
    for name, arr in model.variables.items():
        if arr.dtype == np.int8 and arr.ndim >= 2:
            raise ConversionError(
                f"quantized int8 weights ({name}) cannot be converted exactly; use a float model"
            )
    emb = model.get("decoder/embeddings/weight")
    conv1 = model.get("encoder/conv1/weight")
    dims = dict(
        n_mels=int(conv1.shape[1]),
        n_audio_ctx=int(model.get("encoder/position_encodings/encodings").shape[0]),
        n_audio_state=int(conv1.shape[0]),
        n_audio_head=_scalar(model, "encoder/num_heads"),
        n_audio_layer=_layers(model, "encoder"),
        n_vocab=int(emb.shape[0]),
        n_text_ctx=int(model.get("decoder/position_encodings/encodings").shape[0]),
        n_text_state=int(emb.shape[1]),
        n_text_head=_scalar(model, "decoder/num_heads"),
        n_text_layer=_layers(model, "decoder"),
    )
    if "decoder/projection/weight" in model.aliases or "decoder/projection/weight" in model.variables:
        if not np.array_equal(model.get("decoder/projection/weight"), emb):
            raise ConversionError(
                "decoder projection differs from the token embedding (not a Whisper layout)"
            )

    sd: dict[str, np.ndarray] = {}

    def ln(dst: str, src: str) -> None:
        sd[f"{dst}.weight"] = model.get(f"{src}/gamma")
        sd[f"{dst}.bias"] = model.get(f"{src}/beta")

    def linear(dst: str, src: str) -> None:
        sd[f"{dst}.weight"] = model.get(f"{src}/weight")
        sd[f"{dst}.bias"] = model.get(f"{src}/bias")

    def split(src: str, parts: list[str], dst: str) -> None:
        """Un-fuse a concatenated projection; openai's key projection has no bias (CT2 stores zeros)."""
        weight, bias = model.get(f"{src}/weight"), model.get(f"{src}/bias")
        n = weight.shape[0] // len(parts)
        for i, part in enumerate(parts):
            sd[f"{dst}.{part}.weight"] = weight[i * n : (i + 1) * n]
            b = bias[i * n : (i + 1) * n]
            if part == "key":
                if np.any(b != 0):
                    raise ConversionError(f"{src}: non-zero key bias cannot be represented in openai-whisper")
                continue
            sd[f"{dst}.{part}.bias"] = b

    sd["encoder.conv1.weight"] = conv1
    sd["encoder.conv1.bias"] = model.get("encoder/conv1/bias")
    sd["encoder.conv2.weight"] = model.get("encoder/conv2/weight")
    sd["encoder.conv2.bias"] = model.get("encoder/conv2/bias")
    sd["encoder.positional_embedding"] = model.get("encoder/position_encodings/encodings")
    for i in range(dims["n_audio_layer"]):
        src, dst = f"encoder/layer_{i}", f"encoder.blocks.{i}"
        split(f"{src}/self_attention/linear_0", ["query", "key", "value"], f"{dst}.attn")
        linear(f"{dst}.attn.out", f"{src}/self_attention/linear_1")
        ln(f"{dst}.attn_ln", f"{src}/self_attention/layer_norm")
        linear(f"{dst}.mlp.0", f"{src}/ffn/linear_0")
        linear(f"{dst}.mlp.2", f"{src}/ffn/linear_1")
        ln(f"{dst}.mlp_ln", f"{src}/ffn/layer_norm")
    ln("encoder.ln_post", "encoder/layer_norm")

    sd["decoder.token_embedding.weight"] = emb
    sd["decoder.positional_embedding"] = model.get("decoder/position_encodings/encodings")
    for i in range(dims["n_text_layer"]):
        src, dst = f"decoder/layer_{i}", f"decoder.blocks.{i}"
        split(f"{src}/self_attention/linear_0", ["query", "key", "value"], f"{dst}.attn")
        linear(f"{dst}.attn.out", f"{src}/self_attention/linear_1")
        ln(f"{dst}.attn_ln", f"{src}/self_attention/layer_norm")
        linear(f"{dst}.cross_attn.query", f"{src}/attention/linear_0")
        split(f"{src}/attention/linear_1", ["key", "value"], f"{dst}.cross_attn")
        linear(f"{dst}.cross_attn.out", f"{src}/attention/linear_2")
        ln(f"{dst}.cross_attn_ln", f"{src}/attention/layer_norm")
        linear(f"{dst}.mlp.0", f"{src}/ffn/linear_0")
        linear(f"{dst}.mlp.2", f"{src}/ffn/linear_1")
        ln(f"{dst}.mlp_ln", f"{src}/ffn/layer_norm")
    ln("decoder.ln", "decoder/layer_norm")
    return dims, sd


def convert(ct2_dir: str | os.PathLike, out_path: str | os.PathLike) -> Path:
    """Write an openai-whisper checkpoint (dims, fp16/fp32 state dict, alignment heads) atomically."""
    import torch

    ct2_dir = Path(ct2_dir)
    dims, sd = whisper_state_dict(read_ct2_model(ct2_dir / "model.bin"))
    heads = _alignment_heads(ct2_dir)
    checkpoint = {
        "dims": dims,
        "model_state_dict": {k: torch.from_numpy(np.array(v)) for k, v in sd.items()},
        "alignment_heads": heads,
        "converted_from": "ctranslate2",
        "converter_version": CONVERTER_VERSION,
    }
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out_path.name}.", suffix=".tmp", dir=out_path.parent)
    os.close(fd)
    try:
        torch.save(checkpoint, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out_path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return out_path


def _alignment_heads(ct2_dir: Path) -> list[list[int]] | None:
    config = ct2_dir / "config.json"
    if not config.is_file():
        return None
    heads = json.loads(config.read_text(encoding="utf-8")).get("alignment_heads")
    return [[int(a), int(b)] for a, b in heads] if heads else None


def openai_checkpoint(ct2_dir: str | os.PathLike) -> Path:
    """The converted checkpoint for a CT2 folder, converting once and caching it.

    Next to the model when that folder is writable (the assembled embedded model), otherwise in
    the cache under a key of the folder's path, size and mtime (user models stay untouched).
    """
    ct2_dir = Path(ct2_dir)
    beside = ct2_dir / CHECKPOINT_NAME
    if beside.is_file():
        return beside
    from analyzer.models import model_cache_dir

    try:
        ct2_dir.resolve().relative_to(model_cache_dir().resolve())
        target = beside  # a folder we assembled ourselves
    except ValueError:
        import hashlib

        st = (ct2_dir / "model.bin").stat()
        tag = hashlib.sha256(f"{ct2_dir.resolve()}:{st.st_size}:{int(st.st_mtime)}".encode()).hexdigest()[:16]
        target = model_cache_dir() / "converted" / f"{ct2_dir.name}-{tag}" / CHECKPOINT_NAME
    if not target.is_file():
        convert(ct2_dir, target)
    return target


def load_openai_model(checkpoint: str | os.PathLike, device: str = "cpu"):
    """Load a .pt (converted here or an original openai-whisper file) with the right alignment heads."""
    import torch
    import whisper
    from whisper.model import ModelDimensions, Whisper

    ckpt = torch.load(str(checkpoint), map_location=device, weights_only=True)
    model = Whisper(ModelDimensions(**ckpt["dims"]))
    model.load_state_dict(ckpt["model_state_dict"])
    heads = ckpt.get("alignment_heads")
    if heads:
        mask = torch.zeros(model.dims.n_text_layer, model.dims.n_text_head, dtype=torch.bool)
        for layer, head in heads:
            mask[layer, head] = True
        model.register_buffer("alignment_heads", mask.to_sparse(), persistent=False)
    else:
        stem = Path(checkpoint).stem
        if stem in whisper._ALIGNMENT_HEADS:  # an original openai checkpoint placed by the user
            model.set_alignment_heads(whisper._ALIGNMENT_HEADS[stem])
    return model.to(device)


INT8_DIRNAME_SUFFIX = "-int8"
INT8_MARKER = "int8-verified.json"


def quantize_int8(
    ct2_dir: str | os.PathLike, out_dir: str | os.PathLike, model: CT2Model | None = None
) -> Path:
    """Write `ct2_dir`'s model with its linear weights quantized to int8 (per-row scales), using
    CTranslate2's own converter code, so that loading it with compute type int8 skips the quantization
    CTranslate2 otherwise does at every load. The convolution weights stay as they are: CTranslate2
    does not quantize them when it loads a float model, and a quantized copy would decode differently."""
    from ctranslate2.specs import model_spec, whisper_spec

    ct2_dir, out_dir = Path(ct2_dir), Path(out_dir)
    model = model or read_ct2_model(ct2_dir / "model.bin")
    if model.spec_name != "WhisperSpec":
        raise ConversionError(f"not a Whisper model (spec {model.spec_name or 'unknown'})")
    spec = whisper_spec.WhisperSpec(
        _layers(model, "encoder"), _scalar(model, "encoder/num_heads"),
        _layers(model, "decoder"), _scalar(model, "decoder/num_heads"),
    )  # fmt: skip
    try:
        for name, value in [
            *model.variables.items(),
            *((a, model.variables[t]) for a, t in model.aliases.items()),
        ]:
            scope, attr = model_spec._parent_scope(name)
            setattr(model_spec.index_spec(spec, scope), attr, value)
    except (AttributeError, IndexError) as err:  # a layout this CTranslate2's WhisperSpec does not have
        raise ConversionError(f"{ct2_dir}: {err}") from None
    spec.register_vocabulary((ct2_dir / "vocabulary.txt").read_text(encoding="utf-8").splitlines())
    spec.validate()
    spec._alias_variables()
    spec._quantize("int8", variable_filter=lambda name: "/conv" not in name)
    out_dir.mkdir(parents=True, exist_ok=True)
    spec._serialize(str(out_dir / "model.bin"))
    return out_dir


def same_int8_model(
    a_dir: str | os.PathLike, b_dir: str | os.PathLike, n_mels: int, threads: int = 1
) -> bool:
    """Whether two models loaded with compute type int8 compute bit for bit the same: encoder output
    on fixed pseudo-random features, and a short greedy decode's tokens and scores (the decoder,
    token embedding and output projection)."""
    import ctranslate2

    vocab = (Path(a_dir) / "vocabulary.txt").read_text(encoding="utf-8").splitlines()
    start = vocab.index("<|startoftranscript|>")
    features = np.random.default_rng(0).standard_normal((1, n_mels, 3000)).astype(np.float32)
    outputs = []
    for folder in (a_dir, b_dir):
        model = ctranslate2.models.Whisper(
            str(folder), device="cpu", compute_type="int8", intra_threads=threads
        )
        view = ctranslate2.StorageView.from_array(features)
        encoded = np.array(model.encode(view))
        result = model.generate(view, [[start]], beam_size=1, max_length=24, return_scores=True)[0]
        outputs.append((encoded, result.sequences_ids, result.scores))
        del model
    (ea, ta, sa), (eb, tb, sb) = outputs
    return bool(np.array_equal(ea, eb)) and ta == tb and sa == sb


def int8_folder(ct2_dir: str | os.PathLike, threads: int = 1) -> Path:
    """A pre-quantized int8 copy of a float CTranslate2 Whisper model, made once and checked to compute
    exactly what the float model computes with compute type int8 (same_int8_model); `ct2_dir` itself
    when the copy cannot be made or checked, or the model is already quantized.

    The copy lives in the model cache, under a key of the model's path, size and mtime and of the
    CTranslate2 version (whose quantization it must match), with a marker written only after the check.
    """
    import hashlib

    import ctranslate2

    from analyzer.models import model_cache_dir

    ct2_dir = Path(ct2_dir)
    try:
        st = (ct2_dir / "model.bin").stat()
    except OSError:
        return ct2_dir
    key = f"{ct2_dir.resolve()}:{st.st_size}:{int(st.st_mtime)}:ctranslate2-{ctranslate2.__version__}"
    tag = hashlib.sha256(key.encode()).hexdigest()[:16]
    target = model_cache_dir() / "quantized" / f"{ct2_dir.name}{INT8_DIRNAME_SUFFIX}-{tag}"
    if _int8_ready(target, key):
        return target
    if _unusable(target).exists() or not _writable(target.parent):
        return ct2_dir  # tried before and failed, or nowhere to write: the float model, as before
    # In a child process: CTranslate2's converter imports torch when it is installed, which would stay
    # in this process's memory for good.
    import subprocess
    import sys

    try:
        subprocess.run(
            [sys.executable, "-m", "analyzer.convert", "int8", str(ct2_dir), str(target), key, str(threads)],
            check=False, capture_output=True, timeout=900,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        pass  # the float model then, quantized at load as before
    return target if _int8_ready(target, key) else ct2_dir


def _int8_ready(target: Path, key: str) -> bool:
    try:
        recorded = json.loads((target / INT8_MARKER).read_text(encoding="utf-8"))
        return recorded.get("source") == key and (target / "model.bin").stat().st_size == recorded.get("size")
    except (OSError, ValueError, AttributeError):
        return False


def _writable(folder: Path) -> bool:
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return os.access(folder, os.W_OK)


def _unusable(target: Path) -> Path:
    """Written when a copy could not be made or did not compute the same: not tried at every load."""
    return target.parent / f"{target.name}.unusable"


def _make_int8_folder(ct2_dir: Path, target: Path, key: str, threads: int) -> Path:
    made = _try_int8_folder(ct2_dir, target, key, threads)
    if made != target:
        try:
            _unusable(target).write_text(key, encoding="utf-8")
        except OSError:
            pass
    return made


def _try_int8_folder(ct2_dir: Path, target: Path, key: str, threads: int) -> Path:
    import shutil

    from analyzer.models import EMBEDDED_SIDE_FILES

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        source = read_ct2_model(ct2_dir / "model.bin")
        if any(v.dtype == np.int8 and v.ndim >= 2 for v in source.variables.values()):
            return ct2_dir  # quantized already
        n_mels = int(source.get("encoder/conv1/weight").shape[1])
        quantize_int8(ct2_dir, tmp, source)
        del source
        for name in EMBEDDED_SIDE_FILES:
            if (ct2_dir / name).is_file():
                shutil.copyfile(ct2_dir / name, tmp / name)
        if not same_int8_model(ct2_dir, tmp, n_mels, threads):
            return ct2_dir
        size = (tmp / "model.bin").stat().st_size
        (tmp / INT8_MARKER).write_text(json.dumps({"source": key, "size": size}), encoding="utf-8")
        tmp.chmod(0o755)
        if target.exists():  # a half-made folder from before: replace it
            shutil.rmtree(target, ignore_errors=True)
        try:
            os.replace(tmp, target)
        except OSError:
            if not (target / INT8_MARKER).is_file():  # someone else won the race only if it exists
                return ct2_dir
        return target
    except (ConversionError, OSError, ValueError, RuntimeError):
        return ct2_dir  # the float model, quantized at load as before
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


@dataclass(frozen=True)
class ConversionReport:
    dims: dict
    variables: int
    aliases: dict


def describe(ct2_dir: str | os.PathLike) -> ConversionReport:
    """What the reader found (for tests and `--verbose` output)."""
    model = read_ct2_model(Path(ct2_dir) / "model.bin")
    dims, _ = whisper_state_dict(model)
    return ConversionReport(dims=dims, variables=len(model.variables), aliases=dict(model.aliases))


# The child int8_folder starts: python -m analyzer.convert int8 SRC TARGET KEY THREADS
if __name__ == "__main__":
    import sys

    if len(sys.argv) == 6 and sys.argv[1] == "int8":
        made = _make_int8_folder(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4], int(sys.argv[5]))
        raise SystemExit(0 if made == Path(sys.argv[3]) else 1)
    raise SystemExit("usage: python -m analyzer.convert int8 SRC TARGET KEY THREADS")
