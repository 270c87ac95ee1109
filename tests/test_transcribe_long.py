"""A 2-hour recording (mostly silence and street noise, three phrases) in bounded memory, skipping non-speech.

The file is generated streaming to disk (FLAC, 60 s blocks), so the test itself never holds it in memory;
the transcription runs in a subprocess whose peak resident memory (ru_maxrss) is checked.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SR = 16_000
HOURS_S = 2 * 3600
PHRASES = {  # start second -> phrase
    600: "执法全过程记录开始。",
    3900: "您好，请出示您的营业执照。",
    7080: "请您收好文书。",
}
NOISE_STRETCHES = [(1200, 1320), (4200, 4320), (6000, 6120)]  # street noise, no speech
MAX_RSS_MB = 1536

CHILD = r"""
import json, sys, time
from analyzer.transcribe import TranscribeOptions, transcribe
t0 = time.perf_counter()
result = transcribe(sys.argv[1], TranscribeOptions(), cache=False)
print(json.dumps({
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over fork+exec from the (big) pytest parent
    "rss_mb": int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]) / 1024,
    "seconds": time.perf_counter() - t0,
    "duration_s": result.duration_s,
    "segments": [[s.start, s.end, s.text] for s in result.segments],
    "speech": result.speech_regions,
}, ensure_ascii=False))
"""


def write_two_hours(path: Path) -> None:
    import soundfile as sf

    from bench.audio_tools import make_noise
    from bench.tts import synthesize

    speech = {start: synthesize(text, seed=5, sr=SR)[0] for start, text in PHRASES.items()}
    street = make_noise("street", 120 * SR, SR, seed=11)
    street = (0.03 * street / np.abs(street).max()).astype(np.float32)
    block = 60
    with sf.SoundFile(path, "w", samplerate=SR, channels=1, format="FLAC", subtype="PCM_16") as out:
        for t in range(0, HOURS_S, block):
            chunk = np.zeros(block * SR, np.float32)
            for a, b in NOISE_STRETCHES:
                if a <= t < b:
                    offset = (t - a) * SR
                    chunk += street[offset : offset + block * SR]
            for start, audio in speech.items():
                if t <= start < t + block:
                    i = (start - t) * SR
                    n = min(len(audio), len(chunk) - i)
                    chunk[i : i + n] += audio[:n]
            out.write(chunk)


@pytest.mark.slow
def test_two_hour_file_bounded_memory_and_only_speech_decoded(tmp_path):
    from analyzer.eval_metrics import cer

    path = tmp_path / "两小时 记录.flac"
    write_two_hours(path)
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
        check=False,
        timeout=1500,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"2-hour file: peak RSS {result['rss_mb']:.0f} MB, {result['seconds']:.0f} s, {result['speech']}")
    assert result["rss_mb"] < MAX_RSS_MB, result["rss_mb"]
    assert abs(result["duration_s"] - HOURS_S) < 1.0
    speech_total = sum(e - s for s, e in result["speech"])
    assert speech_total < 60, result["speech"]  # only the three phrases reach the decoder
    for start, phrase in PHRASES.items():
        heard = "".join(text for s, e, text in result["segments"] if s < start + 8 and e > start - 1)
        assert cer(phrase, heard) <= 0.5, (start, phrase, heard)
    for s, e, text in result["segments"]:  # nothing invented in silence or in the noise stretches
        assert any(start - 1 <= s <= start + 8 for start in PHRASES), (s, e, text)
