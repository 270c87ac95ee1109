"""Continuity of one recording or case, every detector in turn: per-file gaps, dropouts, splices
and container holes, then the gaps between files, all on the case timeline.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from analyzer.continuity.case import _media, _probe, case_gaps, order_case
from analyzer.continuity.events import (
    ANALYSIS_SR,
    ContinuityReport,
    GapEvent,
    _guide_settings,
    resolve_settings,
)
from analyzer.continuity.gaps import (
    _as_analysis_audio,
    find_dropouts,
    find_silences,
    find_timestamp_gaps,
    speech_intervals,
)
from analyzer.continuity.splices import find_splices

if TYPE_CHECKING:
    from analyzer.guide import Guide
    from analyzer.media import Probe
    from analyzer.transcribe import Transcript


def find_gaps(
    audio: np.ndarray | None,
    sr: int,
    probe: Probe | None = None,
    transcript: Transcript | None = None,
    settings: Mapping[str, Any] | None = None,
    *,
    path: str | None = None,
    speech_probs: np.ndarray | None = None,
) -> list[GapEvent]:
    """All continuity events inside one recording, in file time, sorted by start.

    audio: decoded mono float samples (16 kHz preferred); when None, long silences are taken from the
    transcript's segment gaps instead of the VAD. probe (or path) enables the container timestamp check.
    speech_probs: Silero frame probabilities of the 16 kHz audio, shared with transcription.
    """
    cfg = resolve_settings(settings)
    file = path or (probe.path if probe is not None else "")
    events: list[GapEvent] = []
    if audio is not None and len(audio):
        x = _as_analysis_audio(audio, sr)
        dropouts = find_dropouts(x, ANALYSIS_SR, cfg)
        speech = speech_intervals(x, ANALYSIS_SR, cfg, speech_probs if sr == ANALYSIS_SR else None)
        events += dropouts
        events += find_silences(speech, len(x) / ANALYSIS_SR, cfg, dropouts=dropouts)
        events += find_splices(x, ANALYSIS_SR, cfg, speech=speech, dropouts=dropouts)
    elif transcript is not None:
        speech = [(s.start, s.end) for s in transcript.segments]
        duration = transcript.duration_s or (speech[-1][1] if speech else 0.0)
        events += find_silences(speech, duration, cfg, dropouts=[])
    if file and os.path.exists(file):
        holes = find_timestamp_gaps(file, cfg)
        # A decoder fills a timestamp hole with silence: that dropout is the same event.
        events = [e for e in events if e.kind != "dropout" or not _mostly_inside(e, holes)]
        events += holes
    events = [replace(e, file=file, file_start_s=e.start_s, file_end_s=e.end_s) for e in events]
    return sorted(events, key=lambda e: (e.start_s, e.end_s))


def _mostly_inside(event: GapEvent, others: Sequence[GapEvent]) -> bool:
    overlap = sum(max(0.0, min(event.end_s, o.end_s) - max(event.start_s, o.start_s)) for o in others)
    return overlap >= 0.5 * max(event.duration_s, 1e-9) and bool(others)


def analyze_continuity(
    files: list[str],
    transcripts: Mapping[str, Transcript] | None,
    guide: Guide | None,
    *,
    audio: Mapping[str, np.ndarray] | None = None,
    probes: Mapping[str, Probe] | None = None,
    manifest: str | os.PathLike[str] | Mapping[str, str] | None = None,
    filename_regex: str | Sequence[str] | None = None,
    settings: Mapping[str, Any] | None = None,
    speech_probs: Mapping[str, np.ndarray] | None = None,
) -> ContinuityReport:
    """Continuity of one recording or case: files on one timeline and every event in case time.
    Whether the officer stated a reason after each interruption is analyzer.resumption's question
    (it needs the phrase matcher); this report leaves `resumptions` empty.

    audio: already-decoded 16 kHz mono arrays by path (decoded here with analyzer.media.load_audio
    when absent). transcripts: by path; a file whose audio is empty has its long silences taken
    from the segment gaps. guide: only its settings are read. settings: overrides on top of the guide's.
    speech_probs: Silero frame probabilities by path (analyzer.vad.speech_probs), as transcription
    computed them, so the VAD network runs once per file.
    """
    cfg = _guide_settings(guide)
    if settings:
        cfg.update(settings)
    transcripts = transcripts or {}
    audio = dict(audio or {})
    probes = dict(probes or {})
    for p in files:
        if p not in probes:
            try:
                probes[p] = _probe(p)
            except Exception:  # noqa: BLE001 - a decoded array may still be analysable
                if p not in audio:
                    raise
                probes[p] = None  # type: ignore[assignment]
    durations = {}
    for p in files:
        if p in audio:
            durations[p] = len(audio[p]) / ANALYSIS_SR
        elif probes.get(p) is not None:
            durations[p] = float(probes[p].duration_s)
        else:
            durations[p] = 0.0
    notes: list[str] = []
    case = order_case(
        files, probes=probes, manifest=manifest, filename_regex=filename_regex, durations=durations,
        settings=cfg, notes=notes,
    )  # fmt: skip
    events = case_gaps(case, cfg, notes)

    for cf in case:
        x = audio.get(cf.path)
        if x is None:
            x = _media().load_audio(cf.path, sr=ANALYSIS_SR)
        found = find_gaps(
            x, ANALYSIS_SR, probes.get(cf.path), transcripts.get(cf.path), cfg, path=cf.path,
            speech_probs=(speech_probs or {}).get(cf.path),
        )  # fmt: skip
        for ev in found:
            events.append(replace(ev, start_s=ev.start_s + cf.offset_s, end_s=ev.end_s + cf.offset_s))
    events.sort(key=lambda e: (e.start_s, e.end_s))
    return ContinuityReport(tuple(case), tuple(events), (), tuple(notes))
