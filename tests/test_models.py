"""analyzer.models (offline resolution, embedded model assembly) and analyzer.convert (CT2 reader)."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy as np
import pytest

from analyzer import convert, models


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """Empty project models/ folder, no SCRIPTCHECK_MODELS, a fresh cache dir."""
    project = tmp_path / "project_models"
    project.mkdir()
    monkeypatch.setattr(models, "PROJECT_MODELS_DIR", project)
    monkeypatch.delenv("SCRIPTCHECK_MODELS", raising=False)
    monkeypatch.setenv("SCRIPTCHECK_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("SCRIPTCHECK_MODEL_CACHE", raising=False)
    monkeypatch.chdir(tmp_path)
    return project


def test_model_store_is_its_own_setting(tmp_path, monkeypatch):
    """A fresh transcript cache need not mean a fresh model: $SCRIPTCHECK_MODEL_CACHE keeps them apart."""
    monkeypatch.setenv("SCRIPTCHECK_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("SCRIPTCHECK_MODEL_CACHE", raising=False)
    assert models.model_cache_dir() == tmp_path / "cache" / "models"
    monkeypatch.setenv("SCRIPTCHECK_MODEL_CACHE", str(tmp_path / "store"))
    assert models.model_cache_dir() == tmp_path / "store"
    assert models.cache_dir() == tmp_path / "cache"


def fake_ct2(folder: Path, *, tokenizer: bool = True) -> Path:
    folder.mkdir(parents=True)
    (folder / "model.bin").write_bytes(b"\x06\x00\x00\x00fake")
    (folder / "config.json").write_text("{}")
    (folder / "vocabulary.txt").write_text("a\n")
    if tokenizer:
        (folder / "tokenizer.json").write_text("{}")
    return folder


def test_embedded_model_is_assembled_once_and_matches_pinned_hash(isolated, tmp_path):
    first = models.resolve_model()
    assert first.source == "embedded" and first.format == "ct2" and first.name == "base"
    model_bin = first.path / "model.bin"
    assert model_bin.stat().st_size == models.EMBEDDED_SIZE == 145_217_532
    digest = hashlib.sha256(model_bin.read_bytes()).hexdigest()
    assert digest == models.EMBEDDED_SHA256
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        assert (first.path / name).is_file()
    assert first.path.is_relative_to(tmp_path / "cache")
    leftovers = [p.name for p in first.path.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []  # assembled in a temp folder and renamed: nothing half-made stays
    mtime = model_bin.stat().st_mtime_ns
    again = models.resolve_model("base")
    assert again.path == first.path and model_bin.stat().st_mtime_ns == mtime  # not rebuilt
    assert models.embedded_model_dir(verify=True) == first.path


def test_damaged_assembly_is_rebuilt(isolated):
    path = models.embedded_model_dir()
    with open(path / "model.bin", "r+b") as fh:
        fh.truncate(1000)
    rebuilt = models.embedded_model_dir()
    assert (rebuilt / "model.bin").stat().st_size == models.EMBEDDED_SIZE


def test_corrupted_same_size_is_caught_by_verify(isolated):
    path = models.embedded_model_dir()
    with open(path / "model.bin", "r+b") as fh:
        fh.seek(1000)
        fh.write(b"\xff" * 16)
    with pytest.raises(models.ModelError, match="checksum"):
        models.embedded_model_dir(verify=True)


def test_resolution_order_path_then_models_dirs_then_embedded(isolated, tmp_path, monkeypatch):
    assert models.resolve_model("base").source == "embedded"
    env_dir = tmp_path / "env_models"
    env_model = fake_ct2(env_dir / "whisper-base-ct2")
    monkeypatch.setenv("SCRIPTCHECK_MODELS", str(env_dir))
    assert models.resolve_model("base").path == env_model
    project_model = fake_ct2(isolated / "whisper-base-ct2")
    resolved = models.resolve_model("base")
    assert resolved.path == project_model and resolved.source == "models-dir"
    explicit = fake_ct2(tmp_path / "elsewhere" / "my model")
    by_path = models.resolve_model(str(explicit))
    assert by_path.path == explicit and by_path.source == "path"
    assert models.resolve_model(explicit / "model.bin").path == explicit


def test_names_map_to_folder_and_checkpoint_names(isolated):
    small = fake_ct2(isolated / "whisper-small-ct2")
    assert models.resolve_model("small").path == small
    assert models.resolve_model("whisper-small").path == small
    turbo = fake_ct2(isolated / "faster-whisper-large-v3-turbo")
    assert models.resolve_model("turbo").path == turbo
    assert models.resolve_model("large-v3-turbo").path == turbo
    (isolated / "medium.pt").write_bytes(b"x")
    resolved = models.resolve_model("medium", "openai-whisper")
    assert resolved.format == "pt" and resolved.path == isolated / "medium.pt"
    # openai-whisper also accepts a CT2 folder (converted on use)
    assert models.resolve_model("small", "openai-whisper").format == "ct2"


def test_missing_model_says_which_files_go_where(isolated, monkeypatch):
    import faster_whisper.utils

    def no_network(*args, **kwargs):  # pragma: no cover - must never be reached
        raise AssertionError("tried to download without --allow-download")

    monkeypatch.setattr(faster_whisper.utils, "download_model", no_network)
    with pytest.raises(models.ModelError) as info:
        models.resolve_model("small")
    message = str(info.value)
    assert "\n" not in message
    for needle in ("model.bin", "tokenizer.json", "config.json", "vocabulary.txt", "--allow-download"):
        assert needle in message
    assert str(isolated / "whisper-small-ct2") in message
    with pytest.raises(models.ModelError) as info:
        models.resolve_model("large-v3", "openai-whisper")
    assert str(isolated / "large-v3.pt") in str(info.value)


def test_incomplete_folder_names_the_missing_file(isolated):
    folder = fake_ct2(isolated / "whisper-small-ct2", tokenizer=False)
    with pytest.raises(models.ModelError, match="tokenizer.json"):
        models.resolve_model("small")
    with pytest.raises(models.ModelError, match="tokenizer.json"):
        models.resolve_model(str(folder))


def test_bad_paths_and_engine_mismatch(isolated, tmp_path):
    with pytest.raises(models.ModelError, match="does not exist"):
        models.resolve_model(str(tmp_path / "nowhere" / "model"))
    checkpoint = tmp_path / "tiny.pt"
    checkpoint.write_bytes(b"x")
    with pytest.raises(models.ModelError, match="openai-whisper"):
        models.resolve_model(str(checkpoint), "faster-whisper")
    with pytest.raises(models.ModelError, match="unknown engine"):
        models.resolve_model("base", "whisper.cpp")


# ---------------------------------------------------------------- CT2 reader / converter


@pytest.fixture(scope="module")
def embedded_ct2() -> convert.CT2Model:
    return convert.read_ct2_model(models.embedded_model_dir() / "model.bin")


def test_reader_sees_the_documented_layout(embedded_ct2):
    m = embedded_ct2
    assert m.spec_name == "WhisperSpec" and m.binary_version == 6
    assert len(m.variables) == 212
    assert m.aliases == {"decoder/projection/weight": "decoder/embeddings/weight"}
    assert m.variables["decoder/embeddings/weight"].dtype == np.float16
    assert m.variables["decoder/embeddings/weight"].shape == (51865, 512)
    fused = m.variables["encoder/layer_0/self_attention/linear_0/bias"]
    assert fused.shape == (1536,)
    assert not np.any(fused[512:1024])  # key bias stored as zeros
    assert np.any(fused[:512]) and np.any(fused[1024:])


def test_state_dict_unfuses_projections_and_has_base_dims(embedded_ct2):
    dims, sd = convert.whisper_state_dict(embedded_ct2)
    assert dims == dict(
        n_mels=80,
        n_audio_ctx=1500,
        n_audio_state=512,
        n_audio_head=8,
        n_audio_layer=6,
        n_vocab=51865,
        n_text_ctx=448,
        n_text_state=512,
        n_text_head=8,
        n_text_layer=6,
    )
    fused = embedded_ct2.variables["decoder/layer_2/self_attention/linear_0/weight"]
    assert np.array_equal(sd["decoder.blocks.2.attn.query.weight"], fused[:512])
    assert np.array_equal(sd["decoder.blocks.2.attn.key.weight"], fused[512:1024])
    assert np.array_equal(sd["decoder.blocks.2.attn.value.weight"], fused[1024:])
    assert "decoder.blocks.2.attn.key.bias" not in sd
    cross = embedded_ct2.variables["decoder/layer_2/attention/linear_1/weight"]
    assert np.array_equal(sd["decoder.blocks.2.cross_attn.value.weight"], cross[512:])

    from whisper.model import ModelDimensions, Whisper

    expected = set(Whisper(ModelDimensions(**dims)).state_dict())
    assert set(sd) == expected  # every parameter and persistent buffer, nothing extra


def test_converted_checkpoint_loads_with_alignment_heads(isolated):
    import torch

    ct2_dir = models.embedded_model_dir()
    checkpoint = convert.openai_checkpoint(ct2_dir)
    assert checkpoint.parent == ct2_dir  # cached next to the assembled model
    assert convert.openai_checkpoint(ct2_dir) == checkpoint
    model = convert.load_openai_model(checkpoint)
    heads = model.alignment_heads.to_dense().nonzero().tolist()
    assert heads == [[3, 1], [4, 2], [4, 3], [4, 7], [5, 1], [5, 2], [5, 4], [5, 6]]
    emb = model.decoder.token_embedding.weight.detach()
    raw = convert.read_ct2_model(ct2_dir / "model.bin").variables["decoder/embeddings/weight"]
    assert torch.equal(emb, torch.from_numpy(raw.astype(np.float32)))


def test_user_ct2_folder_converts_into_cache_not_beside_it(isolated, tmp_path, monkeypatch):
    import shutil

    user = tmp_path / "user_models" / "whisper-base-ct2"
    shutil.copytree(models.embedded_model_dir(), user, ignore=shutil.ignore_patterns("*.pt"))
    checkpoint = convert.openai_checkpoint(user)
    assert checkpoint.is_relative_to(models.cache_dir()) and not list(user.glob("*.pt"))


def test_reader_rejects_non_ct2_files(tmp_path):
    bogus = tmp_path / "model.bin"
    bogus.write_bytes(b"\x99\x00\x00\x00garbage")
    with pytest.raises(convert.ConversionError):
        convert.read_ct2_model(bogus)
    truncated = tmp_path / "t.bin"
    truncated.write_bytes((models.embedded_model_dir() / "model.bin").read_bytes()[:5000])
    with pytest.raises(convert.ConversionError, match="truncated|bad variable"):
        convert.read_ct2_model(truncated)


def _user_copy(tmp_path: Path) -> Path:
    import shutil

    user = tmp_path / "user_models" / "whisper-base-ct2"
    shutil.copytree(models.embedded_model_dir(), user, ignore=shutil.ignore_patterns("*.pt"))
    return user


@pytest.mark.slow(transcriber=False)  # loads and runs the models below analyzer.transcribe
def test_int8_copy_is_made_once_checked_and_loaded(isolated, tmp_path, monkeypatch):
    """faster-whisper in int8 loads a copy quantized once into the model cache (not at every load),
    and only after the copy was shown to compute bit for bit what load-time quantization computes."""
    import subprocess

    from analyzer import transcribe

    user = _user_copy(tmp_path)
    folder = convert.int8_folder(user, threads=2)
    assert folder != user and folder.is_relative_to(models.model_cache_dir() / "quantized")
    assert (folder / convert.INT8_MARKER).is_file()
    quantized = convert.read_ct2_model(folder / "model.bin")
    assert quantized.variables["encoder/layer_0/ffn/linear_0/weight"].dtype == np.int8
    assert quantized.variables["decoder/embeddings/weight"].dtype == np.int8
    assert quantized.variables["encoder/conv1/weight"].dtype == np.float16  # as load-time quantization
    assert (folder / "model.bin").stat().st_size < 0.6 * (user / "model.bin").stat().st_size
    assert convert.same_int8_model(user, folder, n_mels=80, threads=2)
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no half-made folder

    def no_child(*args, **kwargs):
        raise AssertionError("the copy is made once")

    monkeypatch.setattr(subprocess, "run", no_child)
    assert convert.int8_folder(user) == folder
    monkeypatch.setattr(transcribe, "_LOADED", {})
    resolved = models.ResolvedModel(str(user), user, "ct2", "path", "test")
    transcribe._FasterWhisper(transcribe.TranscribeOptions(compute_type="int8"), resolved)
    assert [k[1] for k in transcribe._LOADED] == [str(folder)]
    transcribe._FasterWhisper(transcribe.TranscribeOptions(compute_type="float32"), resolved)
    assert [k[1] for k in transcribe._LOADED] == [str(user)]  # other compute types: the model as it is


@pytest.mark.slow
def test_int8_copy_transcribes_exactly_as_load_time_quantization(speech_wav, monkeypatch):
    """Real speech, greedy and beam search, words and their probabilities: the same transcript."""
    from analyzer import transcribe
    from analyzer.media import load_audio

    audio = load_audio(
        speech_wav("为保护您的合法权益，监督执法行为，本次执法全过程录音录像。请出示营业执照。")
    )

    def run() -> list[dict]:
        monkeypatch.setattr(transcribe, "_LOADED", {})
        out = []
        for beam in (1, 5):
            t = transcribe.transcribe(audio, transcribe.TranscribeOptions(beam_size=beam), cache=False)
            out.append([dataclasses.asdict(s) for s in t.segments])
        return out

    prequantized = run()
    loaded = [k[1] for k in transcribe._LOADED]
    monkeypatch.setattr(convert, "int8_folder", lambda path, threads=1: Path(path))
    at_load = run()
    assert "-int8-" in loaded[0] and "-int8-" not in [k[1] for k in transcribe._LOADED][0]
    assert prequantized == at_load and prequantized[0][0]["text"]


def test_int8_copy_that_does_not_check_out_is_not_used(isolated, tmp_path, monkeypatch):
    user = _user_copy(tmp_path)
    monkeypatch.setattr(convert, "same_int8_model", lambda *a, **k: False)
    target = tmp_path / "store" / "quantized" / "x-int8"
    assert convert._make_int8_folder(user, target, "key", 1) == user
    assert not target.exists()  # nothing half-made left behind
    assert [p.name for p in target.parent.iterdir()] == ["x-int8.unusable"]  # not tried at every load
    (target.parent / "x-int8.unusable").unlink()
    monkeypatch.setattr(convert, "same_int8_model", lambda *a, **k: True)
    assert convert._make_int8_folder(user, target, "key", 1) == target
    assert convert._int8_ready(target, "key") and not convert._int8_ready(target, "other key")
    assert convert._make_int8_folder(target, tmp_path / "again", "k2", 1) == target  # int8 already
    (target / "model.bin").write_bytes(b"short")
    assert not convert._int8_ready(target, "key")  # a damaged copy is not loaded

    import subprocess

    spawned: list[list[str]] = []

    def failing_child(cmd, **kwargs):  # leaves what a child whose copy did not check out leaves
        spawned.append(cmd)
        Path(cmd[5]).parent.mkdir(parents=True, exist_ok=True)
        Path(cmd[5] + ".unusable").write_text(cmd[6])

    monkeypatch.setattr(subprocess, "run", failing_child)
    monkeypatch.setenv("SCRIPTCHECK_MODEL_CACHE", str(tmp_path / "store2"))
    assert convert.int8_folder(user) == user and len(spawned) == 1  # the float model
    assert convert.int8_folder(user) == user and len(spawned) == 1  # not tried at every load
