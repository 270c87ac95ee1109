"""analyzer.vad: one Silero pass per recording, spans cut from it exactly as faster-whisper would."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analyzer import vad

SR = 16_000


@pytest.fixture(scope="module")
def speech_with_pauses(tts):
    """Two synthesized sentences, 3 s of room noise between, digital silence at the end."""
    from bench.audio_tools import add_noise

    a, _ = tts.synthesize("现在是上午九时三十分，执法全过程记录开始。", sr=SR, seed=0)
    b, _ = tts.synthesize("您好，请出示营业执照。", sr=SR, seed=1)
    x = np.concatenate([np.zeros(SR // 2), a, np.zeros(3 * SR), b, np.zeros(SR)]).astype(np.float32)
    x = add_noise(x, SR, 30.0, "street", seed=3)
    x = np.concatenate([x, np.zeros(4 * SR + 77, dtype=np.float32)])  # not a frame multiple
    return x


@pytest.mark.parametrize(
    "options",
    [
        vad.SpanOptions(),  # transcription-like
        vad.SpanOptions(min_silence_ms=100, pad_ms=30, min_speech_ms=100),  # continuity-like
        vad.SpanOptions(min_silence_ms=2000, pad_ms=400, max_speech_s=2.0),  # forced splits
    ],
)
def test_spans_equal_faster_whisper_on_the_same_probabilities(speech_with_pauses, options):
    from faster_whisper.vad import VadOptions, get_speech_timestamps, get_vad_model

    x = speech_with_pauses
    reference = get_speech_timestamps(
        x,
        VadOptions(
            threshold=options.threshold,
            min_speech_duration_ms=options.min_speech_ms,
            min_silence_duration_ms=options.min_silence_ms,
            speech_pad_ms=options.pad_ms,
            max_speech_duration_s=options.max_speech_s,
        ),
    )
    padded = np.pad(x, (0, vad.FRAME - len(x) % vad.FRAME))
    probs = get_vad_model()(padded).reshape(-1)
    assert len(reference) >= 2
    assert vad.speech_spans(probs, len(x), options) == [dict(r) for r in reference]


def test_gated_probabilities_find_both_sentences_and_skip_digital_silence(speech_with_pauses):
    x = speech_with_pauses
    before = x.copy()
    probs = vad.speech_probs(x)
    assert np.array_equal(x, before)  # the network's wrapper writes into its input: never ours
    assert len(probs) == -(-len(x) // vad.FRAME)
    silent_tail = probs[-(5 * SR // 2) // vad.FRAME :]  # the gate pads loud parts by 1-1.25 s
    assert np.all(silent_tail == 0.0)  # below the gate: the network never ran there
    spans = vad.speech_spans(probs, len(x), vad.SpanOptions(min_silence_ms=1000, pad_ms=0))
    assert len(spans) == 2
    pause_start, pause_end = spans[0]["end"] / SR, spans[1]["start"] / SR
    assert 2.5 < pause_end - pause_start < 3.6


def test_transcription_and_continuity_reuse_given_probabilities(speech_with_pauses, monkeypatch):
    """With the probabilities given, neither consumer runs the network again."""
    from analyzer import continuity, transcribe

    x = speech_with_pauses
    probs = vad.speech_probs(x)
    calls = []
    real = vad.speech_probs
    monkeypatch.setattr(transcribe, "speech_probs", lambda a: calls.append("t") or real(a))
    monkeypatch.setattr(vad, "speech_probs", lambda a: calls.append("c") or real(a))
    regions = transcribe.speech_timestamps(x, transcribe.TranscribeOptions(), probs)
    tight = continuity.speech_intervals(x, SR, None, probs)
    assert calls == []
    # Same network output, two cuts: transcription pads 0.4 s, continuity's mask stays tight.
    assert len(regions) == 2 and len(tight) >= 2
    assert regions[0]["start"] / SR < tight[0][0] - 0.3
    assert regions[-1]["end"] / SR > tight[-1][1] + 0.3
    assert transcribe.speech_timestamps(x, transcribe.TranscribeOptions()) == regions
    assert calls == ["t"]


def test_a_long_array_hands_the_networks_freed_buffers_back(monkeypatch):
    """After a recording longer than one 300 s network call the freed heap is handed back to the
    system (on a 15-minute recording about 130 MB the later stages would otherwise sit on), and the
    probabilities are the same either way; a short clip does not pay for it."""
    from analyzer import vad

    calls: list[int] = []
    monkeypatch.setattr(vad, "release_freed_memory", lambda: calls.append(1))
    rng = np.random.default_rng(0)
    long = (0.05 * rng.standard_normal(vad.CHUNK_FRAMES * vad.FRAME + 16_000)).astype(np.float32)
    probs = vad.speech_probs(long)
    assert calls == [1]
    vad.speech_probs(long[: 5 * 16_000])
    assert calls == [1]
    monkeypatch.undo()
    vad.release_freed_memory()  # callable on this system, no error
    assert np.array_equal(vad.speech_probs(long), probs)


def test_batched_network_runs_give_the_calls_probabilities_bit_for_bit(speech_with_pauses):
    """The frames go to the ONNX session BATCH_FRAMES at a time with the LSTM state carried, instead
    of faster-whisper's call with all of a 300 s piece at once: the same numbers, on speech, across
    batch edges and with a partial last batch."""
    from faster_whisper.vad import get_vad_model

    model = get_vad_model()
    x = np.tile(speech_with_pauses, 3)
    x = x[: (len(x) // vad.FRAME) * vad.FRAME]
    assert len(x) // vad.FRAME > 2 * vad.BATCH_FRAMES and (len(x) // vad.FRAME) % vad.BATCH_FRAMES
    expected = np.asarray(model(x.copy()), np.float32).reshape(-1)
    got = vad._network(model, x.copy())
    assert got.dtype == np.float32 and got.shape == expected.shape
    assert np.array_equal(got, expected)
    assert expected.max() > 0.5 and expected.min() < 0.1  # speech and pauses both in it


def test_a_300_s_network_call_does_not_hold_its_activations_at_once():
    """Peak resident memory of the VAD over one full 300 s call of loud audio (onnxruntime's own
    allocations, which tracemalloc does not see): the network's activations for the whole piece
    were about 95 MB more than the process held before; a batch of frames at a time, a few MB."""
    import subprocess
    import sys

    if not Path("/proc/self/status").exists():
        pytest.skip("needs /proc (Linux) to read the peak resident memory")
    code = (
        "import numpy as np; from analyzer import vad; from faster_whisper.vad import get_vad_model;"
        "get_vad_model();"
        "n = vad.CHUNK_FRAMES * vad.FRAME;"
        "x = (0.05 * np.random.default_rng(0).standard_normal(n)).astype(np.float32);"
        "vad.speech_probs(x[: 2 * vad.FRAME * vad.BATCH_FRAMES]);"  # warm up the session
        "hwm = lambda: int([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]);"
        "rss = lambda: int([l for l in open('/proc/self/status') if l.startswith('VmRSS')][0].split()[1]);"
        "before = max(hwm(), rss()); p = vad.speech_probs(x); assert p.max() >= 0.0;"
        "print((hwm() - before) / 1024)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    grown_mb = float(out.stdout.strip().splitlines()[-1])
    print(f"VAD over 300 s raised the peak by {grown_mb:.1f} MB")
    assert grown_mb < 40.0, f"the VAD raised the peak by {grown_mb:.0f} MB"
