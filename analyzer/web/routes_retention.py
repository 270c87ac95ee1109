"""Admin page for retention (第十五条): the periods in force, every recording's class, legal hold
and due date, the recordings past their period, deletion one at a time on an admin's confirmation,
and the tombstones of what was deleted. Nothing here deletes on its own."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from analyzer.web import audit_log
from analyzer.web.db import Recording, RetentionState, Tombstone, utcnow
from analyzer.web.deps import DB, AdminViewer, CsrfViewer, Viewer, render
from analyzer.web.retention import RetentionError, delete_recording, load_policy, policy_path, rows
from analyzer.web.routes_review import _recording

router = APIRouter(prefix="/admin/retention")


def _policy(request: Request):
    try:
        return load_policy(policy_path(request.app.state.data_dir))
    except RetentionError as err:
        raise HTTPException(status_code=500, detail=str(err)) from None


def _admin(viewer: Viewer) -> None:
    if not viewer.is_admin:
        raise HTTPException(status_code=403, detail="只有管理员可以管理保存期限")


@router.get("")
def retention_page(request: Request, viewer: AdminViewer, db: DB, done: str = "", error: str = ""):
    policy = _policy(request)
    all_rows = rows(db, policy)
    tombstones = list(db.scalars(select(Tombstone).order_by(Tombstone.id.desc())))
    return render(
        request,
        "admin_retention.html",
        viewer,
        policy=policy,
        rows=all_rows,
        due=[r for r in all_rows if r.past],
        tombstones=tombstones,
        done=done,
        error=error,
    )


@router.post("/{rid}/class")
def set_class(
    request: Request, rid: int, viewer: CsrfViewer, db: DB, retention_class: Annotated[str, Form()]
):
    _admin(viewer)
    policy = _policy(request)
    rec = db.get(Recording, rid)
    if rec is None or retention_class not in policy.classes:
        raise HTTPException(status_code=400, detail="录像或保存期限分类不存在")
    state = db.get(RetentionState, rid) or RetentionState(recording_id=rid)
    state.retention_class, state.updated_by, state.updated_at = (
        retention_class,
        viewer.user.username,
        utcnow(),
    )
    db.merge(state)
    db.commit()
    audit_log.append(
        db, username=viewer.user.username, role="admin", action="retention_class", recording_id=rid,
        target=rec.title, detail=f"保存期限分类：{policy.of(retention_class).title}",
    )  # fmt: skip
    return RedirectResponse("/admin/retention", status_code=303)


@router.post("/{rid}/hold")
def set_hold(
    request: Request,
    rid: int,
    viewer: CsrfViewer,
    db: DB,
    hold: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
):
    _admin(viewer)
    rec = _recording(db, rid)
    on = hold == "1"
    if on and not reason.strip():
        raise HTTPException(status_code=400, detail="请填写诉讼保全的依据")
    state = db.get(RetentionState, rid) or RetentionState(recording_id=rid)
    state.legal_hold, state.hold_reason = on, reason.strip()[:1000] if on else ""
    state.updated_by, state.updated_at = viewer.user.username, utcnow()
    db.merge(state)
    db.commit()
    audit_log.append(
        db, username=viewer.user.username, role="admin", action="legal_hold", recording_id=rid,
        target=rec.title, detail=("设置诉讼保全：" + reason.strip()[:300]) if on else "解除诉讼保全",
    )  # fmt: skip
    return RedirectResponse("/admin/retention", status_code=303)


@router.post("/{rid}/delete")
def delete(
    request: Request,
    rid: int,
    viewer: CsrfViewer,
    db: DB,
    confirm: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
):
    """Delete after the admin typed the recording's number: past retention and not held only."""
    _admin(viewer)
    rec = _recording(db, rid)
    if confirm.strip() != str(rid):
        raise HTTPException(status_code=400, detail=f"请在确认框中输入录像编号 {rid} 以确认删除")
    try:
        tomb = delete_recording(
            db,
            rec,
            _policy(request),
            admin=viewer.user.username,
            reason=reason,
            data_dir=request.app.state.data_dir,
        )
    except RetentionError as err:
        raise HTTPException(status_code=400, detail=str(err)) from None
    return RedirectResponse(f"/admin/retention?done={tomb.recording_id}", status_code=303)
