"""Any length, rate, layout and sample format gives a report, never a traceback.

Body cameras record anything from an accidental press (a fraction of a second) to hours, at 8-96 kHz,
mono to 5.1, in 16/24/32-bit integer or float. The signal is the demo recording
`samples/inspection_compliant.wav` (synthesized speech over street noise) behind 0.1 s of digital
zero, as a recorder starting up writes: digital-zero frames are what the noise-floor checks treat
specially, and files shorter than the checks' windows crashed there.

The fast sweep runs every stage for real (PyAV decode and resampling, Silero VAD, transcription's
blocking and time mapping, continuity, matching, the second look, rules, JSON/HTML/SRT reports)
except Whisper's network, whose place is taken by a decoder that returns the demo's script spread
over the speech it is given: Whisper on ~1500 files would take an hour. The `slow` tests run the
real Whisper model through the CLI on every rate and layout at the shortest and the failing lengths.

Durations: 0.05-12 s in small steps, plus every internal window size of the analysis (16 kHz)
domain +-1 sample, taken from the code's constants and the guide's settings.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from fractions import Fraction
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from analyzer import batch, report
from analyzer import transcribe as transcribe_module
from analyzer.guide import load_guide
from analyzer.pipeline import AnalyzeOptions, analyze_recording

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "samples" / "inspection_compliant.wav"
SOURCE_FROM_S = 0.9  # the demo's speech starts at 1.0 s
LEAD_ZERO_S = 0.1  # digital zero before it (recorder start-up)
ANALYSIS_SR = 16_000

RATES = (8_000, 11_025, 16_000, 22_050, 32_000, 44_100, 48_000, 96_000)
LAYOUTS = (1, 2, 6)  # mono, stereo, 5.1
SUBTYPES = ("PCM_16", "PCM_24", "PCM_32", "FLOAT")
STEPS_S = (
    0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 3.45,
    4.0, 4.5, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0,
)  # fmt: skip
SHORT_S = 12.0  # windows up to this long are swept at every rate and layout; longer ones at 16 kHz


def window_sizes() -> dict[str, int]:
    """Analysis-domain (16 kHz) sample counts at which a stage changes how it frames the signal."""
    from analyzer import continuity as c
    from analyzer import media, vad
    from analyzer import transcribe as t
    from analyzer.continuity import cues, splices

    cfg = c.resolve_settings(load_guide().settings)
    hop, frame = cues._HOP, cues._FRAME

    def frames(k: int) -> int:  # samples that give k band-energy frames
        return frame + (k - 1) * hop

    def n(seconds: float) -> int:
        return int(round(float(seconds) * ANALYSIS_SR))

    floor_w = max(4, round(float(cfg["floor_window_s"]) * ANALYSIS_SR / hop))
    pause_w = max(2, round(float(cfg["pause_step_window_s"]) * ANALYSIS_SR / hop))
    tone_k = max(2, round(float(cfg["tone_window_s"]) * ANALYSIS_SR / hop))
    ctx = max(8, int(float(cfg["jump_context_s"]) * ANALYSIS_SR))
    topts = t.TranscribeOptions()
    sizes = {
        "band frame": frame,
        "band hop": hop,
        "floor window": frames(floor_w),
        "floor both sides": frames(2 * floor_w),
        "floor dead-frame reach": frames(2 * floor_w + 1),
        "floor judged frames": frames(2 * floor_w + 10),
        "pause both sides": frames(2 * pause_w),
        "pause dead-frame reach": frames(2 * pause_w + 1),
        "codec edges": 2 * n(splices._CODEC_EDGE_S),
        "tone spectrum": 4 * ANALYSIS_SR,
        "tone windows": 4 * tone_k * hop,
        "tone steps": (6 * tone_k + 10) * hop,
        "jump context": 4 * ctx,
        "jump block": max(ctx, ANALYSIS_SR // 50),
        "saturation block": ANALYSIS_SR // 50,
        "dropout minimum": n(cfg["dropout_min_s"]),
        "dropout edge": n(cfg["dropout_edge_ignore_s"]),
        "splice window": n(cfg["splice_window_s"]),
        "resume minimum": n(cfg["resume_min_interruption_s"]),
        "vad frame": vad.FRAME,
        "vad minimum": vad.SR // 10,
        "vad gate frame": n(vad.GATE_FRAME_S),
        "vad gate pad": n(vad.GATE_PAD_S),
        "speech minimum": n(topts.vad_min_speech_ms / 1000),
        "speech pad": n(topts.vad_speech_pad_ms / 1000),
        "speech silence": n(topts.vad_min_silence_ms / 1000),
        "transcribe minimum": t.TARGET_SR // 10,
        "budget tail": t.TARGET_SR // 4,
        # longer than SHORT_S
        "local sigma reach": frames(int(20.0 * ANALYSIS_SR / hop)),
        "silence gap": n(cfg["silence_gap_s"]),
        "region": n(t.MAX_REGION_S),
        "opening window": n(load_guide().settings.get("opening_window_s", 30.0)),
        "resume window": n(cfg["resume_window_s"]),
        "media chunk": n(60.0),
        "decode piece": n(t.PIECE_S),
        "dropout chunk": 1 << 20,
        "band chunk": frames(4096),
        "vad chunk": vad.CHUNK_FRAMES * vad.FRAME,
        "transcribe block": n(t.BLOCK_S),
    }
    assert media.TARGET_SR == ANALYSIS_SR == c.ANALYSIS_SR == vad.SR
    return sizes


def _window_cases() -> list[tuple[str, int]]:
    cases = {}
    for name, size in window_sizes().items():
        for d in (-1, 0, 1):
            if size + d > 0:
                cases.setdefault(size + d, f"{name}{d:+d}")
    return sorted(((label, size) for size, label in cases.items()), key=lambda c: c[1])


WINDOW_CASES = _window_cases()
SHORT_WINDOWS = [(label, size) for label, size in WINDOW_CASES if size <= SHORT_S * ANALYSIS_SR]
LONG_WINDOWS = [(label, size) for label, size in WINDOW_CASES if size > SHORT_S * ANALYSIS_SR]


@cache
def _source(sr: int, repeats: int = 1) -> np.ndarray:
    """The test signal at `sr`: 0.1 s digital zero, then the demo from 0.9 s on (27.9 s), `repeats` times."""
    from scipy.signal import resample_poly

    x, src_sr = sf.read(SOURCE, dtype="float32")
    x = np.concatenate([x[int(SOURCE_FROM_S * src_sr) :]] * repeats)
    if sr != src_sr:
        ratio = Fraction(sr, src_sr)
        x = resample_poly(x, ratio.numerator, ratio.denominator).astype(np.float32)
    return np.concatenate([np.zeros(int(round(LEAD_ZERO_S * sr)), np.float32), x])


def _script_text(seconds: float) -> str:
    """What the demo says in the first `seconds` of the test signal."""
    truth = json.loads(SOURCE.with_name(SOURCE.stem + ".truth.json").read_text("utf-8"))
    shift = LEAD_ZERO_S - SOURCE_FROM_S
    return "".join(line["text"] for line in truth["script"] if line["start_s"] + shift < seconds)


def _layout(x: np.ndarray, channels: int, seed: int) -> np.ndarray:
    """Mono as is; stereo with a quieter right channel; 5.1 with the voice in the centre, the room
    in the others and a silent LFE. Digital zero stays zero in every channel."""
    if channels == 1:
        return x
    rng = np.random.default_rng(seed)
    gains = (1.0, 0.8) if channels == 2 else (0.4, 0.4, 1.0, 0.0, 0.25, 0.25)
    out = np.stack([g * x for g in gains], axis=1)
    live = np.asarray(gains) > 0.0
    room = rng.standard_normal((len(x), int(live.sum())), dtype=np.float32)
    room *= (x != 0.0)[:, None] * np.float32(0.002)
    out[:, live] += room
    return out


def write_clip(path: Path, n_samples: int, sr: int, channels: int, subtype: str) -> Path:
    x = _source(sr)
    if len(x) < n_samples:  # the long windows, at 16 kHz
        x = _source(sr, -(-n_samples // len(x)) + 1)
    x = x[:n_samples]
    assert len(x) == n_samples
    sf.write(path, _layout(x, channels, n_samples), sr, subtype=subtype, format="WAV")
    return path


class ScriptDecoder(transcribe_module._Engine):
    """Stands in for Whisper's network: the script said so far, spread over the speech it is given."""

    def __init__(self, text: str):
        self.text = text

    def decode(self, audio, opts, deadline):
        if not self.text or not len(audio):
            return [], ""
        step = len(audio) / ANALYSIS_SR / len(self.text)
        words = [
            {"start": i * step, "end": (i + 1) * step, "text": ch, "probability": 0.9}
            for i, ch in enumerate(self.text)
        ]
        return [
            {
                "start": 0.0,
                "end": len(audio) / ANALYSIS_SR,
                "text": self.text,
                "avg_logprob": -0.2,
                "no_speech_prob": 0.01,
                "compression_ratio": 1.2,
                "words": words,
            }
        ], ""


def check_report(out: Path, stem: str, wav: Path, duration_s: float) -> dict:
    """The files a reviewer gets, and a JSON document that says what the schema promises."""
    doc = json.loads((out / f"{stem}.json").read_text("utf-8"))
    assert doc["schema_version"] == report.SCHEMA_VERSION
    (rec,) = doc["recordings"]
    assert rec["error"] is None, rec["error"]
    assert rec["path"] == str(wav) and rec["kind"] == "file"
    assert rec["sha256"] == hashlib.sha256(wav.read_bytes()).hexdigest()
    assert rec["duration_s"] == pytest.approx(duration_s, abs=0.011)
    assert isinstance(rec["profile"], str) and 0 <= rec["score"] <= 100
    assert [p["id"] for p in rec["phrases"]] == [p.id for p in load_guide().phrases]
    end = rec["duration_s"] + 0.011
    for p in rec["phrases"]:
        assert p["status"] in ("present", "partial", "absent") and 0 <= p["score"] <= 100
        assert p["start_s"] is None or 0 <= p["start_s"] <= p["end_s"] <= end
    for g in rec["gaps"]:
        assert 0 <= g["start_s"] <= g["end_s"] <= end, g
    for f in rec["findings"]:
        assert f["code"] and f["message"] and f["severity"] in report.SEVERITY_TITLES
        assert f["start_s"] is None or 0 <= f["start_s"] <= end, f
    for s in rec["transcript"]["segments"]:
        assert 0 <= s["start_s"] <= s["end_s"] <= end, s
    html = (out / f"{stem}.html").read_text("utf-8")
    assert "<html" in html and wav.name in html
    assert (out / f"{stem}.srt").exists()
    return rec


@pytest.fixture
def analyse(monkeypatch, tmp_path):
    """analyse(n_samples, sr, channels, subtype) -> the report's recording entry."""
    guide = report.guide_to_dict(load_guide())
    options = AnalyzeOptions(cache=False)

    def run(n_samples: int, sr: int, channels: int, subtype: str) -> dict:
        seconds = n_samples / sr
        decoder = ScriptDecoder(_script_text(seconds))
        monkeypatch.setattr(transcribe_module, "_engine", lambda opts, resolved: decoder)
        stem = f"clip_{n_samples}_{sr}_{channels}_{subtype}"
        wav = write_clip(tmp_path / f"{stem}.wav", n_samples, sr, channels, subtype)
        result = analyze_recording(str(wav), options)
        rec = report.recording_to_dict(result)
        batch.write_outputs(rec, guide, tmp_path, stem, ("json", "html", "srt"))
        return check_report(tmp_path, stem, wav, seconds)

    return run


def _grid() -> list:
    cases = []
    for i, seconds in enumerate(STEPS_S):
        for j, sr in enumerate(RATES):
            for k, channels in enumerate(LAYOUTS):
                subtype = SUBTYPES[(i + j + k) % len(SUBTYPES)]  # every format at every rate and layout
                cases.append(pytest.param(seconds, sr, channels, subtype, id=f"{seconds}s-{sr}-{channels}ch"))
    return cases


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("seconds, sr, channels, subtype", _grid())
def test_every_length_rate_and_layout_gives_a_report(analyse, seconds, sr, channels, subtype):
    rec = analyse(int(round(seconds * sr)), sr, channels, subtype)
    if seconds >= 3.0:  # a sentence and more: the pipeline heard speech and matched it
        assert rec["transcript"]["segments"] and rec["speech_s"] > 0


def test_the_pipeline_reads_the_recording_from_a_mapping_and_lets_it_go(analyse, monkeypatch):
    """The decoded recording is spooled (analyzer.media.spool_audio: not resident under every stage)
    and nothing the result keeps holds it once the analysis is done."""
    import gc
    import mmap

    from analyzer import media, vad

    seen: list[np.ndarray] = []
    real = vad.speech_probs

    def spy(audio: np.ndarray) -> np.ndarray:
        seen.append(audio)
        return real(audio)

    monkeypatch.setattr(vad, "speech_probs", spy)
    rec = analyse(40 * ANALYSIS_SR, ANALYSIS_SR, 1, "PCM_16")
    assert rec["transcript"]["segments"]
    audio = seen[0]
    assert len(audio) == 40 * ANALYSIS_SR and not audio.flags.writeable
    assert isinstance(audio.base, memoryview) and isinstance(audio.base.obj, mmap.mmap)
    seen.clear()
    del audio
    gc.collect()
    assert not media._SPOOLED


def _window_grid() -> list:
    """At 16 kHz (the analysis rate) every size +-1 in every layout; at the other rates the number of
    native samples that decodes to the size itself (+-1 there is not +-1 after resampling)."""
    cases = []
    for i, (label, size) in enumerate(SHORT_WINDOWS):
        for k, channels in enumerate(LAYOUTS):
            subtype = SUBTYPES[(i + k) % len(SUBTYPES)]
            cases.append(pytest.param(size, ANALYSIS_SR, channels, subtype, id=f"{label}-16000-{channels}ch"))
        if not label.endswith("+0"):
            continue
        for j, sr in enumerate(r for r in RATES if r != ANALYSIS_SR):
            native = max(1, int(round(size * sr / ANALYSIS_SR)))
            channels = LAYOUTS[(i + j) % len(LAYOUTS)]
            subtype = SUBTYPES[(i + 2 * j) % len(SUBTYPES)]
            cases.append(pytest.param(native, sr, channels, subtype, id=f"{label}-{sr}-{channels}ch"))
    return cases


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("n_samples, sr, channels, subtype", _window_grid())
def test_every_window_size_plus_minus_one_gives_a_report(analyse, n_samples, sr, channels, subtype):
    analyse(n_samples, sr, channels, subtype)


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("label, n_samples", LONG_WINDOWS, ids=[label for label, _ in LONG_WINDOWS])
def test_long_window_sizes_plus_minus_one_give_a_report(analyse, label, n_samples):
    analyse(n_samples, ANALYSIS_SR, 1, "PCM_16")


def test_window_sizes_come_from_the_code():
    sizes = window_sizes()
    # The crash of issue 13: a 3.45 s file is shorter than the floor check's dead-frame reach.
    assert sizes["floor window"] < 3.45 * ANALYSIS_SR < sizes["floor dead-frame reach"]
    swept = {size for _, size in WINDOW_CASES}
    assert all({s - 1, s, s + 1} - {0} <= swept for s in sizes.values())


@pytest.mark.parametrize("sr", RATES)
@pytest.mark.parametrize("channels", LAYOUTS)
def test_decoding_keeps_every_rate_layout_and_format_on_time(tmp_path, sr, channels):
    """Every sample format at every rate and layout decodes to the right length and level."""
    from analyzer.media import load_audio, probe

    for subtype in SUBTYPES:
        wav = write_clip(tmp_path / f"{subtype}.wav", int(round(3.45 * sr)), sr, channels, subtype)
        info = probe(wav)
        assert (info.sample_rate, info.channels) == (sr, channels)
        x = load_audio(wav)
        assert abs(len(x) - 3.45 * ANALYSIS_SR) <= 2
        assert np.all(x[: int(0.09 * ANALYSIS_SR)] == 0.0)  # digital zero stays exactly zero
        assert 0.005 < float(np.sqrt(np.mean(x[ANALYSIS_SR:] ** 2))) < 0.5


@pytest.mark.parametrize("channels", LAYOUTS)
def test_a_file_without_samples_is_one_clear_line(tmp_path, channels):
    wav = tmp_path / "empty.wav"
    sf.write(wav, np.zeros((0, channels), np.float32), 48_000, subtype="PCM_24")
    result = analyze_recording(str(wav), AnalyzeOptions(cache=False))
    assert result.error and result.error.startswith(str(wav)) and "\n" not in result.error
    assert "empty recording" in result.error  # the cause in plain words, not an exception's name


@pytest.mark.slow
def test_real_whisper_on_every_rate_and_layout_through_the_cli(tmp_path):
    """The CLI with the real model: 0.05 s (digital zero), 0.5 s (noise), 3.45 s (the failing length,
    a sentence) at every rate, layouts and formats rotating; plus 5.1 at 96 kHz 24-bit and 8 kHz mono.
    Each gives its reports; the sentences are transcribed; nothing prints a traceback."""
    clips: dict[Path, float] = {}
    combos = [(s, sr, LAYOUTS[(i + j) % 3], SUBTYPES[(i + j) % 4])
              for i, s in enumerate((0.05, 0.5, 3.45)) for j, sr in enumerate(RATES)]  # fmt: skip
    combos += [(3.45, 96_000, 6, "PCM_24"), (12.0, 8_000, 1, "PCM_16"), (0.05, 96_000, 6, "PCM_24")]
    for seconds, sr, channels, subtype in combos:
        n = int(round(seconds * sr))
        name = f"in_{seconds}s_{sr}_{channels}ch_{subtype}.wav"
        wav = write_clip(tmp_path / name, n, sr, channels, subtype)
        clips[wav] = n / sr
    empty = tmp_path / "in_empty.wav"
    sf.write(empty, np.zeros((0, 6), np.float32), 96_000, subtype="PCM_24")
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "analyzer", "analyze", *map(str, clips), str(empty), "-o", str(out),
         "--format", "json,html,srt,csv,xlsx", "--no-cache"],
        cwd=ROOT, capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    assert "Traceback" not in proc.stderr + proc.stdout
    assert proc.returncode == 1  # the empty file
    errors = [line for line in proc.stderr.splitlines() if line.startswith("错误")]
    assert len(errors) == 1 and str(empty) in errors[0] and "empty recording" in errors[0], proc.stderr
    for wav, seconds in clips.items():
        rec = check_report(out, wav.name, wav, seconds)
        if seconds >= 3.0:
            assert len("".join(s["text"] for s in rec["transcript"]["segments"])) >= 8, wav.name
    assert (out / "summary.csv").exists() and (out / "summary.xlsx").exists()
