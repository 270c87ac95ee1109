"""Who spoke, on the recording page, and a reviewer's correction of a voice's role.

The lanes and the transcript's speaker column are what analyzer.report already wrote into the report
JSON (its timeline's voice lanes, each segment's speaker fields): nothing is attributed here. A
correction is re-run by the pipeline itself (analyzer.pipeline.reevaluate) on the analysis the worker
kept (`analysis.pickle`, written by the server next to the report); the result is a second report
(`report-reviewed.json`) that the page, the HTML report and the evidence bundle show from then on,
while the analysis's own `report.json` stays as it was.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from analyzer.speakers import ROLE_LABELS, ROLES
from analyzer.web.db import Recording, SpeakerOverride
from analyzer.web.jobs import REVIEWED_FILE, STATE_FILE, AnalysisOutput


class CannotReevaluate(Exception):
    """The stored analysis cannot be re-run (analysed before it was kept, or by another version)."""


def voices(data: dict[str, Any], original: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The voices of the shown analysis, each with the role the analysis itself gave it."""
    sp = data.get("speakers") or {}
    overrides = sp.get("overrides") or {}
    before = {v["speaker_id"]: v for v in ((original or {}).get("speakers") or {}).get("voices", [])}
    rows = []
    for v in sp.get("voices", []):
        was = before.get(v["speaker_id"], v)
        rows.append(
            {
                **v,
                "label": ROLE_LABELS.get(v["role"], v["role"]),
                "analysed_role": was["role"],
                "analysed_label": ROLE_LABELS.get(was["role"], was["role"]),
                "corrected": v["speaker_id"] in overrides,
            }
        )
    return rows


def lanes(data: dict[str, Any]) -> list[dict[str, Any]]:
    """One lane per voice with its turns placed in percent of the recording (analyzer.report's own
    timeline, the one its HTML report draws)."""
    from analyzer.web.jobs import speaker_lanes

    if not data.get("speakers") or not data.get("duration_s"):
        return []
    return speaker_lanes(data)


def context(db: Session, rec: Recording, data: dict[str, Any]) -> dict[str, Any]:
    """Template values for the recording page: voices, lanes, corrections made so far."""
    from analyzer.web.jobs import load_output

    sp = data.get("speakers") or {}
    original = load_output(rec.result_dir, original=True) if sp.get("overrides") else None
    history = db.scalars(
        select(SpeakerOverride)
        .where(SpeakerOverride.recording_id == rec.id)
        .order_by(SpeakerOverride.id.desc())
    )
    return {
        "speaker_voices": voices(data, original.recording if original else None),
        "speaker_history": list(history),
        "speaker_lanes": lanes(data),
        "speaker_confidence": sp.get("confidence"),
        "speaker_notes": sp.get("notes") or [],
        "speaker_roles": {r: ROLE_LABELS[r] for r in ROLES},
    }


def corrected(result_dir: str, overrides: dict[str, str], key: bytes | None) -> AnalysisOutput:
    """The analysis re-run with `overrides` (speaker_id -> role, all of them, not only the newest),
    written as the reviewed report. Raises CannotReevaluate or ValueError (an unknown voice or role)."""
    from analyzer.pipeline import RecordingResult
    from analyzer.web.jobs import load_output, reevaluated, save_reviewed, unseal

    state = Path(result_dir) / STATE_FILE
    original = load_output(result_dir, original=True)
    if original is None or not state.is_file():
        raise CannotReevaluate("该录像的分析结果未保存说话人更正所需的数据，请先重新分析")
    payload = unseal(key, state.read_bytes()) if key else None
    if payload is None:  # not sealed by this server's analysis worker: never unpickled
        raise CannotReevaluate("保存的分析数据未通过校验，请先重新分析")
    try:
        stored = pickle.loads(payload)  # noqa: S301 - sealed with this server's key (jobs.seal)
    except Exception as err:  # a file kept by another version of the analyzer
        raise CannotReevaluate("保存的分析数据无法读取（分析程序版本已更新），请先重新分析") from err
    if not isinstance(stored, RecordingResult):
        raise CannotReevaluate("保存的分析数据无法读取，请先重新分析")
    output = reevaluated(stored, overrides, original.guide)
    save_reviewed(Path(result_dir), output)
    return output


def evidence(db: Session, rec: Recording) -> dict[str, Any]:
    """For the evidence bundle: the corrections (review.json) and the analysis before them."""
    from analyzer.web.jobs import load_output

    rows = list(
        db.scalars(
            select(SpeakerOverride).where(SpeakerOverride.recording_id == rec.id).order_by(SpeakerOverride.id)
        )
    )
    reviewed = bool(rec.result_dir) and (Path(rec.result_dir) / REVIEWED_FILE).is_file()
    return {
        "speaker_overrides": rows,
        "original": load_output(rec.result_dir, original=True) if reviewed else None,
    }
