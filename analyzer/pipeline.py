"""One recording (or the files of one case) end to end:
media -> transcribe -> continuity -> match (-> recheck: where a needed phrase was not fully heard,
decoded again with beam search) -> speakers (who said each line;
phrases said by others do not count) -> clock (the spoken time against the files' clocks) -> rules.

Each file is decoded once; the same array feeds Whisper and the continuity checks. A case is
matched on its concatenated timeline (file offsets from continuity), and every time keeps a way
back to a file and a time inside that original.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analyzer.transcribe import Segment, Transcript, shift_segments

if TYPE_CHECKING:
    import numpy as np

    from analyzer.clock import ClockCheck
    from analyzer.continuity import CaseFile, ContinuityReport
    from analyzer.coverage import CoverageSettings
    from analyzer.guide import Guide
    from analyzer.match import PhraseMatch
    from analyzer.media import Probe
    from analyzer.recheck import Recheck
    from analyzer.rules import Evaluation
    from analyzer.speakers import Speakers
    from analyzer.transcribe import TranscribeOptions


@dataclass(frozen=True)
class AnalyzeOptions:
    """What decides a result: part of the batch fingerprint, so a change re-runs the analysis."""

    guide: str | None = None  # name or path; None = phrasebook/default.toml
    profile: str | None = None  # enforcement profile id; None = inferred from what was said
    engine: str | None = None  # None = transcribe's default (faster-whisper)
    model: str | None = None  # None = embedded Whisper base
    transcribe: dict[str, Any] = field(default_factory=dict)  # extra TranscribeOptions fields
    threads: int = 0  # Whisper CPU threads; 0 = transcribe's default
    cache: bool = True  # reuse cached transcripts

    def transcribe_options(self):
        """TranscribeOptions with only the fields set here (defaults stay transcribe's own)."""
        from analyzer.transcribe import TranscribeOptions

        names = {f.name for f in dataclasses.fields(TranscribeOptions)}
        values: dict[str, Any] = {k: v for k, v in self.transcribe.items() if k in names}
        unknown = sorted(set(self.transcribe) - names)
        if unknown:
            raise ValueError(f"未知的转写选项 / unknown transcribe options: {', '.join(unknown)}")
        for name in ("engine", "model", "threads"):
            value = getattr(self, name)
            if value and name in names:
                values[name] = value
        return TranscribeOptions(**values)

    def fingerprint(self) -> dict[str, Any]:
        """The options that change a result (not threads or cache, which only change speed)."""
        topts = self.transcribe_options()
        return {
            "profile": self.profile,
            "engine": topts.engine,
            "model": topts.model,
            "transcribe": topts.key_dict(),
        }


@dataclass
class RecordingResult:
    """Everything known about one recording or case; report.py turns it into JSON/HTML/SRT/rows."""

    paths: list[str]  # the input files, in case-timeline order once analysed
    name: str = ""  # what the reviewer asked for: the file, or the case folder
    is_case: bool = False
    grouping: dict[str, Any] | None = None  # why loose files were analysed as one case (analyzer.grouping)
    files: tuple[CaseFile, ...] = ()  # with offsets on the case timeline
    sha256s: dict[str, str] = field(default_factory=dict)  # path -> SHA-256 of the original
    duration_s: float = 0.0
    probes: dict[str, Probe] = field(default_factory=dict)
    transcripts: dict[str, Transcript] = field(default_factory=dict)  # per file, file time
    transcript: Transcript | None = None  # case timeline
    matches: list[PhraseMatch] = field(default_factory=list)
    continuity: ContinuityReport | None = None
    evaluation: Evaluation | None = None
    guide: Guide | None = None
    recheck: Recheck | None = None  # the second looks, when a needed phrase was absent or partial
    clock: tuple[ClockCheck, ...] = ()  # spoken times against the files' clocks (第八条)
    speakers: Speakers | None = None  # voices, turns, the speaker of each segment (analyzer.speakers)
    # What `reevaluate` starts from when a reviewer corrects a speaker: the phrase matches before
    # speaker attribution, continuity before the resume statements were read, the profile asked for.
    heard: list[PhraseMatch] = field(default_factory=list)
    plain_continuity: ContinuityReport | None = None
    profile: str | None = None
    error: str | None = None  # one line: '<file>: <cause>'
    timings: dict[str, float] = field(default_factory=dict)  # seconds: decode, transcribe, other

    @property
    def sha256(self) -> str:
        """A file's SHA-256; for a case, the SHA-256 of its files' SHA-256s in timeline order."""
        if len(self.paths) == 1:
            return self.sha256s.get(self.paths[0], "")
        if not self.sha256s or len(self.sha256s) < len(self.paths):
            return ""
        joined = "\n".join(self.sha256s[p] for p in self.paths)
        return hashlib.sha256(joined.encode()).hexdigest()

    def file_of(self, t: float | None) -> tuple[str, float | None]:
        from analyzer.rules import locate

        return locate(t, self.files)


_GUIDES: dict[str | None, tuple[int, Guide]] = {}


def _mtime_ns(path: str) -> int:
    try:
        return Path(path).stat().st_mtime_ns
    except OSError:
        return 0


def load_guide_for(options: AnalyzeOptions) -> Guide:
    """The options' guide, loaded once per process and reloaded when its file changes."""
    from analyzer.guide import load_guide

    cached = _GUIDES.get(options.guide)
    if cached and cached[0] == _mtime_ns(cached[1].path):
        return cached[1]
    guide = load_guide(options.guide)
    _GUIDES[options.guide] = (_mtime_ns(guide.path), guide)
    return guide


def shift_transcript(t: Transcript, offset_s: float) -> tuple[Segment, ...]:
    """Segments moved onto the case timeline."""
    return shift_segments(t.segments, offset_s)


def case_transcript(files: tuple[CaseFile, ...], transcripts: dict[str, Transcript]) -> Transcript:
    """One transcript on the case timeline (a single file: its own transcript unchanged)."""
    if len(files) == 1:
        return transcripts[files[0].path]
    segments: list[Segment] = []
    for f in files:
        segments.extend(shift_transcript(transcripts[f.path], f.offset_s))
    first = transcripts[files[0].path]
    end = max((f.offset_s + f.duration_s for f in files), default=0.0)
    regions = tuple(
        (a + f.offset_s, b + f.offset_s) for f in files for a, b in transcripts[f.path].speech_regions
    )
    return Transcript(
        segments=tuple(segments),
        language=first.language,
        duration_s=end,
        engine=first.engine,
        model=first.model,
        options=dict(first.options),
        audio_sha256="",
        speech_regions=regions,
        warnings=tuple(w for f in files for w in transcripts[f.path].warnings),
        elapsed_s=sum(transcripts[f.path].elapsed_s for f in files),
        vad_speech_s=_total(transcripts[f.path].vad_speech_s for f in files),
        transcribed_s=_total(transcripts[f.path].transcribed_s for f in files),
        untranscribed=tuple(
            (a + f.offset_s, b + f.offset_s) for f in files for a, b in transcripts[f.path].untranscribed
        ),
    )


def _total(values: Iterable[float | None]) -> float | None:
    """The sum, or None when any file was not measured."""
    items = list(values)
    return None if any(v is None for v in items) else round(sum(items), 2)  # type: ignore[arg-type]


ProgressFn = Callable[[float, float], None]  # (seconds of audio transcribed, total seconds)


def covered_transcript(
    audio: np.ndarray,
    probs: np.ndarray,
    options: TranscribeOptions,
    coverage: CoverageSettings,
    *,
    probe: Probe | None = None,
    cache: bool = True,
    progress: ProgressFn | None = None,
    timings: dict[str, float] | None = None,
) -> Transcript:
    """A file's transcript as every command reports it: the first decode, then the coverage pass
    (analyzer.coverage), so speech a window skipped is decoded again or reported untranscribed,
    never silently lost. `audio`: the file's 16 kHz samples; `probs`: their Silero frame
    probabilities (analyzer.vad.speech_probs). `timings` (when given) gains the seconds spent in
    "transcribe" and "coverage"."""
    from analyzer.coverage import ensure_coverage
    from analyzer.transcribe import transcribe

    t0 = time.perf_counter()
    first_pass = transcribe(audio, options, probe=probe, cache=cache, progress=progress, speech_probs=probs)
    t1 = time.perf_counter()
    transcript = ensure_coverage(audio, probs, first_pass, options, coverage, cache=cache)
    if timings is not None:
        timings["transcribe"] = timings.get("transcribe", 0.0) + t1 - t0
        timings["coverage"] = timings.get("coverage", 0.0) + time.perf_counter() - t1
    return transcript


def analyze_recording(
    paths: list[str] | str, options: AnalyzeOptions | None = None, *, progress: ProgressFn | None = None
) -> RecordingResult:
    """Analyse one file, or the files of one case, and never raise for bad input.

    A file that cannot be read turns the result into an error result (`error` set, one line),
    so a batch can go on. `progress` is called as transcription advances (web app, CLI).
    """
    from analyzer.media import MediaError

    options = options or AnalyzeOptions()
    if isinstance(paths, (str, Path)):
        paths = [str(paths)]
    paths = [str(p) for p in paths]
    result = RecordingResult(
        paths=list(paths), name=paths[0] if len(paths) == 1 else "", is_case=len(paths) > 1
    )
    try:
        _run(result, options, progress)
    except MediaError as err:
        result.error = _one_line(str(err))
    except Exception as err:  # noqa: BLE001 - one bad recording must not stop a batch
        where = result.paths[0] if len(result.paths) == 1 else (result.name or ", ".join(result.paths))
        result.error = _one_line(f"{where}: {err.__class__.__name__}: {err}")
    return result


def _one_line(text: str) -> str:
    return " ".join(text.split())[:400]


def _run(result: RecordingResult, options: AnalyzeOptions, progress: ProgressFn | None) -> None:
    from analyzer.continuity import analyze_continuity
    from analyzer.coverage import CoverageSettings, ensure_coverage
    from analyzer.match import match_transcript
    from analyzer.media import probe, spool_audio
    from analyzer.recheck import listen_again, look_again
    from analyzer.resumption import check_resumptions
    from analyzer.speakers import identify
    from analyzer.vad import speech_probs

    guide = load_guide_for(options)
    result.guide = guide
    topts = options.transcribe_options()
    coverage = CoverageSettings.from_settings(guide.settings)
    timings = {
        "decode": 0.0, "vad": 0.0, "transcribe": 0.0, "coverage": 0.0, "continuity": 0.0, "match": 0.0,
        "rules": 0.0,
    }  # fmt: skip
    audio: dict[str, Any] = {}
    probs: dict[str, Any] = {}
    t0 = time.perf_counter()
    for path in result.paths:
        pr = probe(path)
        result.probes[path] = pr
        result.sha256s[path] = pr.sha256
    timings["decode"] += time.perf_counter() - t0
    total = sum(p.duration_s for p in result.probes.values())
    done = 0.0
    for path in result.paths:
        t0 = time.perf_counter()
        audio[path] = spool_audio(path)  # read from a mapped file: not resident under every stage
        t1 = time.perf_counter()
        probs[path] = speech_probs(audio[path])  # one VAD pass, for transcription and continuity
        t_vad = time.perf_counter()
        step = None
        if progress is not None:
            base = done

            def step(d: float, _t: float, base: float = base) -> None:
                progress(base + d, total)

        result.transcripts[path] = covered_transcript(
            audio[path], probs[path], topts, coverage, probe=result.probes[path], cache=options.cache,
            progress=step, timings=timings,
        )  # fmt: skip
        done += result.probes[path].duration_s
        timings["decode"] += t1 - t0
        timings["vad"] += t_vad - t1

    t0 = time.perf_counter()
    plain = analyze_continuity(
        result.paths, result.transcripts, guide, audio=audio, probes=result.probes, speech_probs=probs
    )
    continuity = check_resumptions(plain, result.transcripts, guide, audio=audio)
    result.continuity = continuity
    result.files = tuple(continuity.files)
    result.paths = [f.path for f in result.files] or result.paths
    result.duration_s = max((f.offset_s + f.duration_s for f in result.files), default=0.0)
    t1 = time.perf_counter()
    transcript = case_transcript(result.files, result.transcripts)
    result.matches = list(match_transcript(transcript, guide))
    t2 = time.perf_counter()
    files = result.files
    looked = look_again(
        audio, result.transcripts, files, result.matches, guide, topts,
        combine=lambda ts: case_transcript(files, dict(ts)), continuity=continuity,
        profile=options.profile, cache=options.cache,
    )  # fmt: skip
    if looked is not None:
        result.recheck = looked[1]
        if looked[1].found:
            for path, again in looked[0].items():
                if again is not result.transcripts[path]:  # decoded again: its coverage too
                    result.transcripts[path] = ensure_coverage(
                        audio[path], probs[path], again, topts, coverage, cache=options.cache
                    )
            transcript = case_transcript(files, result.transcripts)
            result.matches = list(match_transcript(transcript, guide))
        result.recheck = listen_again(
            audio, transcript, files, result.matches, guide, topts, looked[1], continuity=continuity,
            profile=options.profile, cache=options.cache,
        )  # fmt: skip
    result.transcript = transcript
    t_recheck = time.perf_counter()
    timings["recheck"] = t_recheck - t2
    spans = [(m.phrase_id, m.start_s, m.end_s) for m in result.matches if m.status != "absent"]
    tracks = [(audio[f.path], probs[f.path], f.offset_s) for f in result.files]
    result.speakers = identify(tracks, transcript, spans, guide)
    del audio, probs, tracks
    result.heard, result.plain_continuity, result.profile = list(result.matches), plain, options.profile
    t_speakers = time.perf_counter()
    timings["speakers"] = t_speakers - t_recheck
    t2 = t_recheck
    _attribute_and_evaluate(result)
    t3 = time.perf_counter()
    timings.update(continuity=t1 - t0, match=t2 - t1, rules=t3 - t_speakers)
    timings["other"] = timings["decode"] + timings["continuity"] + timings["match"] + timings["rules"]
    result.timings = {k: round(v, 4) for k, v in timings.items()}


def _attribute_and_evaluate(result: RecordingResult) -> None:
    """From the speakers on: phrases and resume statements count only when an officer said them,
    then the clock checks and the rules (all on what was heard; nothing decoded again)."""
    from analyzer.clock import check_clocks
    from analyzer.resumption import check_resumptions
    from analyzer.rules import evaluate
    from analyzer.speakers import attribute_matches

    guide, speakers = result.guide, result.speakers
    assert guide is not None and speakers is not None and result.transcript is not None
    result.matches = attribute_matches(result.heard, speakers, guide)
    if result.plain_continuity is not None:
        result.continuity = check_resumptions(
            result.plain_continuity, result.transcripts, guide, speakers=speakers
        )
    result.clock = check_clocks(result.matches, result.continuity, result.transcripts, result.probes, guide)
    result.evaluation = evaluate(
        result.matches, result.continuity, result.transcript, guide, result.profile, clock=result.clock,
        heard_again=result.recheck.heard_again if result.recheck is not None else None,
    )  # fmt: skip


def reevaluate(result: RecordingResult, overrides: dict[str, str]) -> RecordingResult:
    """The result as it stands with a reviewer's corrections of speaker roles (speaker_id -> role):
    phrases attributed again, resume statements read again and the rules run again on the stored
    transcript and matches; nothing is decoded or transcribed again. `result` is left as it was."""
    from analyzer.speakers import ROLES

    if result.speakers is None or result.guide is None or result.transcript is None:
        raise ValueError("该分析结果没有说话人信息，无法更正说话人")
    known = {v.speaker_id for v in result.speakers.voices}
    speakers = result.speakers
    for speaker_id, role in overrides.items():
        if speaker_id not in known or role not in ROLES:
            raise ValueError(f"无效的说话人更正：{speaker_id} → {role}")
        speakers = speakers.with_override(speaker_id, role)  # type: ignore[arg-type]
    again = dataclasses.replace(result, speakers=speakers, timings=dict(result.timings))
    _attribute_and_evaluate(again)
    return again
