"""`scriptcheck gaps` decodes only the resume window after each interruption; that window gets the
coverage pass `analyze` gives a whole file (pipeline.covered_transcript), so every second of speech the
VAD heard in it is in its transcript or reported as untranscribed, never read as silence.

Real synthesized speech (bench/tts.py), decoded by the embedded Whisper base model: a body camera's two
files four minutes apart; the second starts with the resume statement muffled as if through a wall
(low-passed at 300 Hz: Silero calls it speech, Whisper cannot read it), then a clear sentence.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import pytest

from bench.audio_tools import concat, write_mp4
from bench.tts import synthesize

pytestmark = pytest.mark.slow

SR = 16_000
T0 = datetime(2024, 3, 8, 14, 0, 0)
REASON = "因执法记录仪电量不足中止记录，现在重新开始记录。"
BEFORE = ["请您提供本单位近三年的财务账簿和会计凭证。", "我们将对检查情况制作现场笔录，请您核对后签字确认。"]
AFTER = "对检查结果有异议的，您有权进行陈述和申辩。"


def _muffled(text: str) -> np.ndarray:
    from scipy.signal import butter, sosfilt

    audio = synthesize(text, sr=SR)[0]
    audio = sosfilt(butter(8, 300, fs=SR, output="sos"), audio).astype(np.float32)
    return 0.5 * audio / np.abs(audio).max()


@pytest.fixture(scope="module")
def case(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("gaps_coverage")
    before = concat([1.0, synthesize(BEFORE[0], sr=SR)[0], 0.8, synthesize(BEFORE[1], sr=SR)[0], 1.0], SR)[0]
    muffled = _muffled(REASON)
    after = concat([1.0, muffled, 0.8, synthesize(AFTER, sr=SR)[0], 1.0], SR)[0]
    end_a = T0 + timedelta(seconds=round(len(before) / SR))
    start_b = end_a + timedelta(minutes=4)
    return {
        "before": str(write_mp4(folder / f"DSJ01_{T0:%Y%m%d_%H%M%S}.mp4", before, SR)),
        "after": str(write_mp4(folder / f"DSJ01_{start_b:%Y%m%d_%H%M%S}.mp4", after, SR)),
        "muffled_span": (1.0, 1.0 + len(muffled) / SR),  # file time of the second file
    }


def test_the_gaps_command_reports_resumed_speech_it_cannot_read(case, capsys):
    """The muffled statement is listed as untranscribed speech of the resumption (case time), the
    resumption is held for listening rather than called unexplained, and the clear sentence after it
    is transcribed. Before the window had the coverage pass, the muffled seconds vanished and the
    verdict was 未说明原因."""
    from analyzer.cli import main

    assert main(["gaps", case["before"], case["after"], "--json", "--no-cache"]) == 0
    data = json.loads(capsys.readouterr().out)
    [res] = data["resumptions"]
    assert res["after"]["kind"] == "file_gap" and res["checked"] and not res["reason_given"]
    offset = next(f["offset_s"] for f in data["files"] if f["path"] == case["after"])
    a0, b0 = (offset + t for t in case["muffled_span"])
    spans = res["untranscribed"]
    assert spans and all(a < b0 and b > a0 for a, b in spans), (spans, a0, b0)
    assert sum(b - a for a, b in spans) >= 0.5 * (b0 - a0), spans  # most of it; a syllable may be read
    assert any("未能转写" in n for n in data["notes"]), data["notes"]
    assert not any("未说明中止原因" in n for n in data["notes"]), data["notes"]

    assert main(["gaps", case["before"], case["after"]]) == 0
    text = capsys.readouterr().out
    assert "有语音未能转写，需人工收听" in text and "未说明原因" not in text


def test_every_second_of_speech_in_the_resume_window_is_transcribed_or_reported(case):
    """The window transcript in file time: VAD speech not covered by a word and not inside a reported
    untranscribed span is under one stretch's minimum (`coverage_min_gap_s`), and the sentence after
    the muffled statement is read."""
    from analyzer.commands.gaps import _window_transcriber
    from analyzer.coverage import FRAME_S, CoverageSettings, speech_mask, word_mask
    from analyzer.guide import load_guide
    from analyzer.media import load_audio
    from analyzer.vad import speech_probs

    settings = CoverageSettings.from_settings(load_guide().settings)
    audio = load_audio(case["after"])
    start = 0.0
    t = _window_transcriber(False, settings)(case["after"], audio, start, start + 30.0)
    assert t is not None
    window = audio[: int(30.0 * SR)]
    speech = speech_mask(speech_probs(window), t.speech_regions, 0.5)
    words = word_mask(t, speech, settings)
    reported = np.zeros(len(speech), bool)
    for a, b in t.untranscribed:
        reported[int(a / FRAME_S) : int(np.ceil(b / FRAME_S))] = True
    assert t.untranscribed
    assert (speech & ~words & ~reported).sum() * FRAME_S < settings.min_gap_s
    assert "检查结果" in "".join(s.text for s in t.segments)  # the clear sentence after it
