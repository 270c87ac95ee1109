"""A reviewer corrects who a voice is (执法人员（佩戴者） / 其他执法人员 / 其他人员): stored like the
other review decisions, logged, and the findings re-evaluated by the pipeline (speaker_review)."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from analyzer.speakers import ROLE_LABELS
from analyzer.web.approval import Approved
from analyzer.web.dashboard import index_recording
from analyzer.web.db import Recording, SpeakerOverride, utcnow
from analyzer.web.deps import DB, CsrfViewer, must_be_staff
from analyzer.web.jobs import load_output, seal_key
from analyzer.web.privacy import mask_text
from analyzer.web.review import open_flags, recompute_final_score
from analyzer.web.routes_review import _log
from analyzer.web.speaker_review import CannotReevaluate, corrected

router = APIRouter()


@router.post("/recordings/{rid}/speakers")
def correct_speaker(
    request: Request,
    rid: int,
    speaker_id: Annotated[str, Form()],
    role: Annotated[str, Form()],
    viewer: CsrfViewer,
    access: Approved,
    db: DB,
    comment: Annotated[str, Form()] = "",
):
    must_be_staff(viewer, "更正说话人")
    rec, grant = access.recording, access.request
    output = load_output(rec.result_dir) if rec.status == "done" else None
    if output is None:
        raise HTTPException(status_code=400, detail="尚无分析结果")
    sp = output.recording.get("speakers") or {}
    current = {v["speaker_id"]: v["role"] for v in sp.get("voices", [])}
    if speaker_id not in current or role not in ROLE_LABELS:
        raise HTTPException(status_code=400, detail="无效的说话人更正")
    reason = comment.strip()[:2000]
    if not reason:
        raise HTTPException(status_code=400, detail="请填写更正理由")
    rec = db.scalars(
        select(Recording)
        .where(Recording.id == rid)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    db.add(
        SpeakerOverride(
            recording_id=rid,
            speaker_id=speaker_id,
            role=role,
            previous_role=current[speaker_id],
            comment=reason,
            reviewer_id=viewer.user.id,
            analysis_at=rec.finished_at,
            created_at=utcnow(),
        )
    )
    db.flush()  # on SQLite the INSERT takes the write lock: a second correction waits for this one
    db.refresh(rec)
    # Under the lock: the corrections made so far (a reviewer's at the same time included), and this one.
    now = load_output(rec.result_dir)
    overrides = {
        **(((now.recording if now else {}).get("speakers") or {}).get("overrides") or {}),
        speaker_id: role,
    }
    try:
        fixed = corrected(rec.result_dir, overrides, seal_key(db))
    except CannotReevaluate as err:
        db.rollback()
        raise HTTPException(status_code=409, detail=str(err)) from None
    except ValueError as err:  # the kept result names other voices than its report
        db.rollback()
        raise HTTPException(status_code=400, detail=str(err)) from None
    data = fixed.recording
    rec.score = float(data.get("score") or 0.0)
    rec.profile = str(data.get("profile") or "")
    db.flush()
    recompute_final_score(db, rec, data)
    rec.flags_json = json.dumps(open_flags(db, rec, data))
    db.commit()
    index_recording(db, rec, data)
    _log(
        db,
        viewer,
        "speaker_override",
        rec,
        grant,
        target=speaker_id,
        detail=f"{ROLE_LABELS[current[speaker_id]]} → {ROLE_LABELS[role]}：{mask_text(reason[:200])}；"
        f"重新评估后得分 {rec.score:.1f}",
    )
    return RedirectResponse(f"/recordings/{rid}#speakers", status_code=303)
