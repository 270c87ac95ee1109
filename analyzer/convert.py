"""CTranslate2 Whisper model.bin -> openai-whisper checkpoint, so the PyTorch engine runs offline too.

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
