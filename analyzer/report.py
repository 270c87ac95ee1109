"""Reports: JSON (versioned schema, analyzer/schema/report-v1.md), self-contained Chinese HTML,
SRT/VTT with findings as cues, and batch summaries (CSV, XLSX, terminal table).

Every writer after `recording_to_dict` works from the JSON dict, not from live objects, so a
batch can rebuild summaries from stored results and the web app can render stored JSON.
All files are written atomically (temp file in the same folder + os.replace).
"""

from __future__ import annotations

import base64
import csv
import functools
import hashlib
import io
import json
import mimetypes
import os
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from analyzer.files import atomic_write_bytes, atomic_write_text
from analyzer.rules import SEVERITY_RANK, fmt_time

if TYPE_CHECKING:
    from analyzer.guide import Guide
    from analyzer.pipeline import RecordingResult

# 1.1: recordings[].recheck; 1.2: recordings[].grouping; 1.3: recordings[].coverage,
# phrases[].needs_listening; 1.4: recordings[].clock; 1.5: recheck.looks, budget_s, decoded_s
# 1.6: recordings[].speakers, phrases[].speaker/speaker_id/said_by_other, segments[].speaker...
# 1.7: resumptions[].said_by_other; speakers.overrides filled by a reviewer's correction (web app)
# 1.8: <phrase_id>_needs_listening (and phrases[].needs_listening) for any required phrase whose
# expected window was heard with low confidence, not only the interruption reason; phrases[].homophone_terms
# 1.9: resumptions[].checked and resumptions[].unclear (a statement heard whose reason cannot be read)
# 1.10: phrases[].unsure_speaker, speaker_confidence; speakers.voices[].confidence, dryness_db
# 1.11: recheck.looks[].why "prompted" (decoded with the phrase's wording as prompt) and looks[].near
# 1.12: recheck.looks[].why "near" (around a near attempt at a phrase not needed), looks[].prompt and
# transcript.segments[].prompted (a second look primed with a phrase's wording)
# 1.13: recheck.looks[].why "primed" (each decode of a near attempt primed with its phrase's wording,
# kept or not) and looks[].agreed
SCHEMA_VERSION = "1.13"
FORMATS = ("json", "html", "srt", "vtt", "csv", "xlsx")
SEVERITY_TITLES = {"critical": "严重", "major": "重要", "minor": "一般", "info": "提示"}
STATUS_TITLES = {"present": "已说", "partial": "部分", "absent": "未说"}
GAP_TITLES = {
    "silence": "长时间无语音",
    "dropout": "数字静音/信号丢失",
    "splice": "疑似剪接",
    "timestamp": "时间戳跳变",
    "file_gap": "文件间中断",
    "clock_overlap": "时间重叠（时钟问题）",
}


# --------------------------------------------------------------------------- JSON


def _r(x: float | None, nd: int = 2) -> float | None:
    return None if x is None else round(float(x), nd)


def guide_sha256(guide: Guide) -> str:
    """Content hash of the guide file: part of a result's fingerprint."""
    try:
        return hashlib.sha256(Path(guide.path).read_bytes()).hexdigest()
    except OSError:
        return ""


def guide_to_dict(guide: Guide | None) -> dict[str, Any]:
    if guide is None:
        return {"id": None, "title": None, "version": None, "path": None, "sha256": None}
    return {
        "id": guide.id,
        "title": guide.title,
        "version": guide.version,
        "path": guide.path,
        "sha256": guide_sha256(guide),
    }


def recording_to_dict(result: RecordingResult) -> dict[str, Any]:
    """One entry of `recordings[]` (schema: analyzer/schema/report-v1.md)."""
    ev = result.evaluation
    files = [
        {
            "path": f.path,
            "sha256": result.sha256s.get(f.path, ""),
            "offset_s": _r(f.offset_s, 3),
            "duration_s": _r(f.duration_s, 3),
            "start_time": f.start_time,
            "start_source": f.start_source,
            **_probe_fields(result, f.path),
        }
        for f in result.files
    ]
    if not files:  # failed before continuity ordered them
        files = [
            {"path": p, "sha256": result.sha256s.get(p, ""), "offset_s": None, "duration_s": None}
            for p in result.paths
        ]
    rec: dict[str, Any] = {
        "path": result.name or (result.paths[0] if result.paths else ""),
        "kind": "case" if result.is_case else "file",
        "grouping": result.grouping,
        "sha256": result.sha256 or None,
        "duration_s": _r(result.duration_s, 3) if not result.error else None,
        "profile": ev.profile if ev else None,
        "profile_title": ev.profile_title if ev else None,
        "profile_inferred": ev.profile_inferred if ev else None,
        "profile_evidence": list(ev.profile_evidence) if ev else [],
        "score": ev.score if ev else None,
        "error": result.error,
        "files": files,
        "phrases": _phrases(result),
        "gaps": _gaps(result),
        "resumptions": _resumptions(result),
        "findings": [_finding(f) for f in ev.findings] if ev else [],
        "notes": _notes(result) if ev else [],
        "recheck": _recheck(result),
        "coverage": _coverage(result),
        "clock": [c.to_dict() for c in result.clock],
        "speakers": _speakers(result),
        "speech_s": ev.speech_s if ev else None,
        "unintelligible_s": ev.unintelligible_s if ev else None,
        "transcript": _transcript(result),
        "timings_s": dict(result.timings),
    }
    return rec


def _probe_fields(result: RecordingResult, path: str) -> dict[str, Any]:
    p = result.probes.get(path)
    if p is None:
        return {}
    return {
        "container": p.container,
        "codec": p.codec,
        "has_video": p.has_video,
        "creation_time": p.creation_time,
        "size_bytes": p.size_bytes,
    }


def _phrases(result: RecordingResult) -> list[dict[str, Any]]:
    ev = result.evaluation
    scores = {ps.phrase_id: ps for ps in ev.phrase_scores} if ev else {}
    out = []
    for m in result.matches:
        ps = scores.get(m.phrase_id)
        try:
            slot_titles = {s.name: s.title or s.name for s in result.guide.phrase(m.phrase_id).slots}
        except (AttributeError, KeyError):
            slot_titles = {}
        said = m.status != "absent"
        start, end = (m.start_s, m.end_s) if said else (None, None)
        file, file_t = result.file_of(start)
        out.append(
            {
                "id": m.phrase_id,
                "title": ps.title if ps else m.phrase_id,
                "status": m.status,
                "score": ps.score if ps else _r(m.score, 1),
                "match_score": _r(m.score, 1),
                "required": ps.required if ps else False,
                "required_because": ps.required_because if ps else "",
                "weight": ps.weight if ps else None,
                "points_lost": ps.points_lost if ps else 0.0,
                "reasons": list(ps.reasons) if ps else [],
                "needs_listening": ps.needs_listening if ps else False,
                "start_s": _r(start),
                "end_s": _r(end),
                "file": file if start is not None else None,
                "file_start_s": _r(file_t),
                "text": m.text if said else "",
                # the closest thing heard for an absent phrase (evidence for the reviewer), else null
                "nearest": None
                if said or m.start_s is None
                else {
                    "start_s": _r(m.start_s),
                    "end_s": _r(m.end_s),
                    "text": m.text,
                    "score": _r(m.score, 1),
                },
                "standard": m.standard,
                "terms_found": list(m.terms_found),
                "missing_terms": list(m.missing_terms),
                "homophone_terms": list(m.homophone_terms) if said else [],
                "slots": dict(m.slots),
                "missing_slots": list(m.missing_slots),
                "slot_titles": slot_titles,
                "diff": [{"op": d.op, "standard": d.standard, "said": d.said} for d in m.diff],
                "occurrences": [[_r(a), _r(b)] for a, b in m.occurrences] if said else [],
                "speaker": m.speaker or None,
                "speaker_id": m.speaker_id or None,
                "speaker_confidence": _r(m.speaker_confidence, 3),
                "said_by_other": [_heard_from_other(result, o) for o in m.said_by_other],
                "unsure_speaker": [_heard_from_other(result, o) for o in m.unsure_speaker],
            }
        )
    return out


def _coverage(result: RecordingResult) -> dict[str, Any] | None:
    """VAD speech against the words that cover it (analyzer/coverage.py); null when not measured."""
    t = result.transcript
    if t is None or t.vad_speech_s is None:
        return None
    spans = []
    for a, b in t.untranscribed:
        file, file_t = result.file_of(a)
        spans.append({"start_s": _r(a), "end_s": _r(b), "file": file, "file_start_s": _r(file_t)})
    return {
        "vad_speech_s": _r(t.vad_speech_s),
        "transcribed_s": _r(t.transcribed_s),
        "untranscribed_s": _r(sum(b - a for a, b in t.untranscribed)),
        "untranscribed": spans,
        "recovered_segments": sum(1 for s in t.segments if s.recovered),
    }


def _heard_from_other(result: RecordingResult, m) -> dict[str, Any]:
    file, file_t = result.file_of(m.start_s)
    return {
        "start_s": _r(m.start_s),
        "end_s": _r(m.end_s),
        "file": file,
        "file_start_s": _r(file_t),
        "text": m.text,
        "status": m.status,
        "score": _r(m.score, 1),
        "speaker_id": m.speaker_id or None,
        "speaker_confidence": _r(m.speaker_confidence, 3),
    }


def _speakers(result: RecordingResult) -> dict[str, Any] | None:
    from analyzer.speakers import ROLE_LABELS

    sp = result.speakers
    if sp is None:
        return None
    return {
        "method": sp.method,
        "confidence": sp.confidence,
        "voices": [
            {
                "speaker_id": v.speaker_id,
                "role": v.role,
                "label": ROLE_LABELS[v.role],
                "speech_s": v.speech_s,
                "level_db": v.level_db,
                "drr_db": v.drr_db,
                "lowfreq_db": v.lowfreq_db,
                "dryness_db": v.dryness_db,
                "phrases": list(v.phrases),
                "score": v.score,
                "confidence": v.confidence,
            }
            for v in sp.voices
        ],
        "turns": [
            {"start_s": _r(t.start_s), "end_s": _r(t.end_s), "speaker_id": t.speaker_id, "role": t.role}
            for t in sp.turns
        ],
        "notes": list(sp.notes),
        "overrides": dict(sp.overrides),
    }


def _recheck(result: RecordingResult) -> dict[str, Any] | None:
    r = result.recheck
    if r is None:
        return None
    return {
        "phrases": list(r.phrase_ids),
        "until_s": _r(r.until_s),
        "beam_size": r.beam_size,
        "found": list(r.found),
        "budget_s": _r(r.budget_s),
        "decoded_s": _r(r.decoded_s),
        "looks": [lk.to_dict() for lk in r.looks],
    }


def _notes(result: RecordingResult) -> list[str]:
    """The rules' notes, the second look at the start when one was taken, continuity's notes."""
    ev = result.evaluation
    notes = list(ev.notes) if ev else []
    if result.recheck is not None and result.guide is not None:
        notes.append(result.recheck.note({p.id: p.title for p in result.guide.phrases}))
    return notes + list(result.continuity.notes if result.continuity else ())


def _gaps(result: RecordingResult) -> list[dict[str, Any]]:
    if not result.continuity:
        return []
    return [
        {
            "kind": e.kind,
            "start_s": _r(e.start_s),
            "end_s": _r(e.end_s),
            "duration_s": _r(e.duration_s),
            "confidence": _r(e.confidence),
            "interruption": e.is_interruption,
            "file": e.file,
            "file_start_s": _r(e.file_start_s),
            "detail": e.detail,
        }
        for e in result.continuity.events
    ]


def _resumptions(result: RecordingResult) -> list[dict[str, Any]]:
    if not result.continuity:
        return []
    return [
        {
            "after_kind": r.after.kind,
            "gap_start_s": _r(r.after.start_s),
            "gap_end_s": _r(r.after.end_s),
            "reason_given": r.reason_given,
            "reason_text": r.reason_text,
            "start_s": _r(r.start_s),
            "window_s": _r(r.window_s),
            "said_by_other": r.said_by_other or None,
            "checked": r.checked,
            "unclear": _unclear(result, r.unclear),
        }
        for r in result.continuity.resumptions
    ]


def _unclear(result: RecordingResult, span: tuple[float, float] | None) -> dict[str, Any] | None:
    """Where a resume statement was heard but its reason could not be read, for a reviewer to play."""
    if span is None:
        return None
    file, file_start = result.file_of(span[0])
    return {"start_s": _r(span[0]), "end_s": _r(span[1]), "file": file, "file_start_s": _r(file_start)}


def _finding(f) -> dict[str, Any]:
    return {
        "code": f.code,
        "severity": f.severity,
        "message": f.message,
        "start_s": _r(f.start_s),
        "end_s": _r(f.end_s),
        "phrase_id": f.phrase_id,
        "file": f.file,
        "file_start_s": _r(f.file_start_s),
    }


def _transcript(result: RecordingResult) -> dict[str, Any] | None:
    t = result.transcript
    if t is None:
        return None
    from analyzer.speakers import ROLE_LABELS

    who = {s.index: s for s in result.speakers.segments} if result.speakers else {}
    segments = []
    for i, s in enumerate(t.segments):
        file, file_t = result.file_of(s.start)
        sp = who.get(i)
        segments.append(
            {
                "start_s": _r(s.start),
                "end_s": _r(s.end),
                "text": s.text,
                "raw_text": s.raw_text,
                "avg_logprob": _r(s.avg_logprob, 3),
                "no_speech_prob": _r(s.no_speech_prob, 3),
                "recovered": s.recovered,
                "prompted": s.prompted,
                "file": file,
                "file_start_s": _r(file_t),
                "words": [[_r(w.start), _r(w.end), w.text, _r(w.probability, 3)] for w in s.words],
                "speaker": sp.role if sp else None,
                "speaker_id": sp.speaker_id if sp else None,
                "speaker_label": ROLE_LABELS[sp.role] if sp else None,
                "speaker_confidence": sp.confidence if sp else None,
                "word_speakers": list(sp.words) if sp and sp.words else None,
            }
        )
    return {
        "engine": t.engine,
        "model": t.model,
        "language": t.language,
        "options": _jsonable(t.options),
        "segments": segments,
    }


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except TypeError:
        return json.loads(json.dumps(value, default=str))


def document(recordings: Sequence[dict[str, Any]], guide: Guide | dict[str, Any] | None) -> dict[str, Any]:
    """The top-level JSON document: schema_version, guide, recordings[]."""
    from analyzer import __version__

    return {
        "schema_version": SCHEMA_VERSION,
        "generator": f"scriptcheck {__version__}",
        "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "guide": guide if isinstance(guide, dict) else guide_to_dict(guide),
        "recordings": list(recordings),
    }


def write_json(path: str | os.PathLike, doc: dict[str, Any]) -> Path:
    return atomic_write_text(path, json.dumps(doc, ensure_ascii=False, indent=1) + "\n")


# --------------------------------------------------------------------------- SRT / VTT


def _cues(rec: dict[str, Any], file: str | None) -> list[tuple[float, float, str]]:
    """Transcript lines and findings of one file, on that file's own timeline (for its player)."""
    cues: list[tuple[float, float, str]] = []
    t = rec.get("transcript") or {}
    for s in t.get("segments", []):
        if file is not None and s.get("file") != file:
            continue
        start = s["file_start_s"] if s.get("file_start_s") is not None else s["start_s"]
        who = f"{s['speaker_label']}（{s['speaker_id']}）：" if s.get("speaker_label") else ""
        cues.append((start, start + max(0.3, s["end_s"] - s["start_s"]), who + s["text"]))
    for f in rec.get("findings", []):
        if f.get("start_s") is None:
            if file is None or file == _first_file(rec):
                label = SEVERITY_TITLES.get(f["severity"], f["severity"])
                cues.append((0.0, 4.0, f"【{label}】{f['message']}"))
            continue
        if file is not None and f.get("file") != file:
            continue
        start = f["file_start_s"] if f.get("file_start_s") is not None else f["start_s"]
        span = (f["end_s"] - f["start_s"]) if f.get("end_s") is not None else 0.0
        label = SEVERITY_TITLES.get(f["severity"], f["severity"])
        cues.append((start, start + max(3.0, min(span, 10.0)), f"【{label}】{f['message']}"))
    cues.sort(key=lambda c: (c[0], c[1]))
    return cues


def _first_file(rec: dict[str, Any]) -> str | None:
    files = rec.get("files") or []
    return files[0]["path"] if files else None


def _stamp(t: float, sep: str) -> str:
    ms = int(round(max(0.0, t) * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def to_srt(rec: dict[str, Any], file: str | None = None) -> str:
    lines = []
    for i, (a, b, text) in enumerate(_cues(rec, file), 1):
        lines += [str(i), f"{_stamp(a, ',')} --> {_stamp(b, ',')}", text, ""]
    return "\n".join(lines)


def to_vtt(rec: dict[str, Any], file: str | None = None) -> str:
    lines = ["WEBVTT", ""]
    for a, b, text in _cues(rec, file):
        lines += [f"{_stamp(a, '.')} --> {_stamp(b, '.')}", text, ""]
    return "\n".join(lines)


def write_subtitles(rec: dict[str, Any], stem: str | os.PathLike, fmt: str) -> list[Path]:
    """`<stem>.srt` for a file; for a case one per file (`<stem>.<n>.srt`), each on its own timeline."""
    render = to_srt if fmt == "srt" else to_vtt
    files = [f["path"] for f in rec.get("files", [])]
    stem = Path(stem)
    if len(files) <= 1:
        return [atomic_write_text(stem.with_name(f"{stem.name}.{fmt}"), render(rec, None))]
    return [
        atomic_write_text(stem.with_name(f"{stem.name}.{i}.{fmt}"), render(rec, f))
        for i, f in enumerate(files, 1)
    ]


# --------------------------------------------------------------------------- HTML


def media_url(original: str, html_path: str | os.PathLike) -> str:
    """Link to the original (relative when possible), never a copy."""
    orig = Path(original).resolve()
    try:
        rel = os.path.relpath(orig, Path(html_path).resolve().parent)
        return quote(Path(rel).as_posix())
    except ValueError:
        return orig.as_uri()


def _embedded(original: str) -> str:
    mime = mimetypes.guess_type(original)[0] or "application/octet-stream"
    data = base64.b64encode(Path(original).read_bytes()).decode("ascii")
    return f"data:{mime};base64,{data}"


def _marked_words(rec: dict[str, Any]) -> list[dict[str, Any]]:
    """Transcript lines with the spans inside phrase matches marked (by phrase and status)."""
    hits = [
        (p["start_s"], p["end_s"], p["id"], p["status"], p["title"])
        for p in rec.get("phrases", [])
        if p["status"] != "absent" and p.get("start_s") is not None and p.get("end_s") is not None
    ]

    def hit_for(a: float, b: float) -> tuple[str, str, str] | None:
        mid = (a + b) / 2
        for s, e, pid, status, title in hits:
            if s - 0.05 <= mid <= e + 0.05:
                return pid, status, title
        return None

    lines = []
    for seg in (rec.get("transcript") or {}).get("segments", []):
        pieces: list[dict[str, Any]] = []
        words = seg.get("words") or []
        if words:
            for w in words:
                h = hit_for(w[0], w[1])
                if pieces and pieces[-1]["hit"] == h:
                    pieces[-1]["text"] += w[2]
                else:
                    pieces.append({"text": w[2], "hit": h})
        else:
            pieces.append({"text": seg["text"], "hit": hit_for(seg["start_s"], seg["end_s"])})
        lines.append({**seg, "pieces": pieces})
    return lines


def _timeline(rec: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    dur = rec.get("duration_s") or 0.0
    if dur <= 0:
        return {"phrases": [], "gaps": [], "findings": [], "files": [], "untranscribed": [], "voices": []}

    def pct(t: float) -> float:
        return round(max(0.0, min(100.0, 100.0 * t / dur)), 3)

    def width(a: float, b: float) -> float:
        return max(0.4, pct(b) - pct(a))

    phrases = [
        {**p, "left": pct(p["start_s"]), "width": width(p["start_s"], p["end_s"] or p["start_s"])}
        for p in rec.get("phrases", [])
        if p["status"] != "absent" and p.get("start_s") is not None
    ]
    gaps = [{**g, "left": pct(g["start_s"]), "width": width(g["start_s"], g["end_s"])} for g in rec["gaps"]]
    findings = [
        {**f, "index": i, "left": pct(f["start_s"])}
        for i, f in enumerate(rec.get("findings", []))
        if f.get("start_s") is not None
    ]
    files = [{**f, "left": pct(f["offset_s"])} for f in rec.get("files", []) if f.get("offset_s") is not None]
    untranscribed = [
        {**u, "left": pct(u["start_s"]), "width": width(u["start_s"], u["end_s"])}
        for u in (rec.get("coverage") or {}).get("untranscribed", [])
    ]
    sp = rec.get("speakers") or {}
    voices = [
        {
            **v,
            "turns": [
                {**t, "left": pct(t["start_s"]), "width": width(t["start_s"], t["end_s"])}
                for t in sp.get("turns", [])
                if t["speaker_id"] == v["speaker_id"]
            ],
        }
        for v in sp.get("voices", [])
    ]
    return {
        "phrases": phrases, "gaps": gaps, "findings": findings, "files": files,
        "untranscribed": untranscribed, "voices": voices,
    }  # fmt: skip


def _speaker_label(role: str) -> str:
    from analyzer.speakers import ROLE_LABELS

    return ROLE_LABELS.get(role, role)


@functools.cache
def _environment():
    """One environment per process: it caches the compiled template (compiling it took ~0.2 s per
    report) and recompiles it when the template file changes."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).parent / "templates")),
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["t"] = fmt_time
    env.filters["sev"] = lambda s: SEVERITY_TITLES.get(s, s)
    env.filters["status"] = lambda s: STATUS_TITLES.get(s, s)
    env.filters["gapkind"] = lambda k: GAP_TITLES.get(k, k)
    env.filters["speaker"] = _speaker_label
    env.filters["basename"] = lambda p: Path(p or "").name
    return env


def render_html(
    rec: dict[str, Any],
    guide: dict[str, Any] | None,
    html_path: str | os.PathLike,
    *,
    embed_media: bool = False,
    media_urls: Sequence[str] | None = None,
) -> str:
    """Self-contained Chinese HTML (inline CSS/JS); media linked relative to `html_path`, or at
    `media_urls` (one per file, e.g. the web app's own media route), or embedded if asked."""
    files = []
    for i, f in enumerate(rec.get("files", [])):
        path = f.get("path") or ""
        if media_urls is not None and i < len(media_urls):
            src = media_urls[i]
        elif embed_media and path and Path(path).is_file():
            src = _embedded(path)
        else:
            src = media_url(path, html_path) if path else ""
        files.append({**f, "index": i, "src": src, "name": Path(path).name, "is_video": f.get("has_video")})
    index_of = {f["path"]: f["index"] for f in files}
    findings = [
        {
            **f,
            "file_index": index_of.get(f.get("file") or "", 0),
            "seek_s": f["file_start_s"] if f.get("file_start_s") is not None else (f.get("start_s") or 0.0),
        }
        for f in rec.get("findings", [])
    ]
    template = _environment().get_template("report.html")
    return template.render(
        rec=rec,
        guide=guide or {},
        files=files,
        findings=findings,
        index_of=index_of,
        lines=_marked_words(rec),
        timeline=_timeline(rec),
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


def write_html(
    rec: dict[str, Any], guide: dict[str, Any] | None, path: str | os.PathLike, *, embed_media: bool = False
) -> Path:
    return atomic_write_text(path, render_html(rec, guide, path, embed_media=embed_media))


# --------------------------------------------------------------------------- batch summaries

SUMMARY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("path", "文件/案件"),
    ("duration_s", "时长(秒)"),
    ("profile", "执法类型"),
    ("profile_inferred", "类型为推断"),
    ("score", "得分"),
    ("opening", "开场白"),
    ("critical", "严重问题数"),
    ("flags", "问题标记"),
    ("untranscribed_s", "未转写语音(秒)"),
    ("error", "错误"),
)


def summary_row(rec: dict[str, Any]) -> dict[str, Any]:
    """One row per recording: what a reviewer sorts and filters on."""
    opening = next((p for p in rec.get("phrases", []) if p["id"] == "opening"), None)
    codes: list[str] = []
    for f in sorted(rec.get("findings", []), key=lambda f: SEVERITY_RANK.get(f["severity"], 9)):
        if f["code"] not in codes:
            codes.append(f["code"])
    return {
        "path": rec.get("path", ""),
        "duration_s": rec.get("duration_s"),
        "profile": rec.get("profile_title") or rec.get("profile") or "",
        "profile_inferred": "是" if rec.get("profile_inferred") else ("否" if rec.get("profile") else ""),
        "score": rec.get("score"),
        "opening": STATUS_TITLES.get(opening["status"], "") if opening else "",
        "critical": sum(1 for f in rec.get("findings", []) if f["severity"] == "critical"),
        "flags": " ".join(codes),
        "untranscribed_s": (rec.get("coverage") or {}).get("untranscribed_s"),
        "error": rec.get("error") or "",
    }


def worst_first(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Errors first, then lowest score, then most critical findings."""
    return sorted(
        rows,
        key=lambda r: (
            0 if r["error"] else 1,
            r["score"] if r["score"] is not None else -1.0,
            -r["critical"],
            r["path"],
        ),
    )


def write_csv(rows: Sequence[dict[str, Any]], path: str | os.PathLike) -> Path:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([title for _, title in SUMMARY_COLUMNS])
    for r in rows:
        writer.writerow(["" if r[k] is None else r[k] for k, _ in SUMMARY_COLUMNS])
    # BOM so that Excel opens the Chinese text correctly
    return atomic_write_bytes(path, ("\ufeff" + buf.getvalue()).encode("utf-8"))


def write_xlsx(rows: Sequence[dict[str, Any]], path: str | os.PathLike) -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    wb = Workbook()
    ws = wb.active
    ws.title = "汇总"
    ws.append([title for _, title in SUMMARY_COLUMNS])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    red = PatternFill("solid", fgColor="F8D7DA")
    amber = PatternFill("solid", fgColor="FFF3CD")
    for r in rows:
        ws.append([r[k] for k, _ in SUMMARY_COLUMNS])
        row = ws.max_row
        fill = red if r["error"] or (r["score"] is not None and r["score"] < 60) or r["critical"] else None
        fill = fill or (amber if r["score"] is not None and r["score"] < 85 else None)
        if fill:
            for cell in ws[row]:
                cell.fill = fill
    widths = {"path": 48, "flags": 60, "error": 60}
    for i, (key, _) in enumerate(SUMMARY_COLUMNS, 1):
        ws.column_dimensions[ws.cell(1, i).column_letter].width = widths.get(key, 12)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    buf = io.BytesIO()
    wb.save(buf)
    return atomic_write_bytes(path, buf.getvalue())


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _fit(text: str, width: int) -> str:
    out, used = "", 0
    for ch in text:
        w = _width(ch)
        if used + w > width:
            return out[:-1] + "…" + " " * (width - used) if out else ""
        out += ch
        used += w
    return out + " " * (width - used)


def terminal_table(rows: Sequence[dict[str, Any]], max_path: int = 40) -> str:
    """Aligned summary for the terminal (CJK characters counted as two columns)."""
    header = ("得分", "开场白", "执法类型", "时长", "问题", "文件/案件")
    table: list[tuple[str, ...]] = []
    for r in rows:
        score = "错误" if r["error"] else ("" if r["score"] is None else f"{r['score']:.0f}")
        prof = r["profile"] + ("(推断)" if r["profile_inferred"] == "是" else "")
        dur = fmt_time(r["duration_s"]) if r["duration_s"] is not None else ""
        issues = r["error"] if r["error"] else r["flags"]
        path = r["path"] if _width(r["path"]) <= max_path else "…" + r["path"][-(max_path - 2) :]
        table.append((score, r["opening"], prof, dur, issues, path))
    widths = [max([_width(h)] + [_width(row[i]) for row in table]) for i, h in enumerate(header)]
    widths[4] = min(widths[4], 50)
    lines = ["  ".join(_fit(h, widths[i]) for i, h in enumerate(header)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row in table:
        lines.append("  ".join(_fit(c, widths[i]) for i, c in enumerate(row)).rstrip())
    return "\n".join(lines)
