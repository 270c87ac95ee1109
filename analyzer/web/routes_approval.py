"""The approver's page (第十四条): pending viewing requests to approve or refuse with a note, and the
decisions made lately. Approvers (承办处室主要负责人) and admins decide; nobody decides their own.
A requester's own page lists their requests and what became of them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from analyzer.web import approval
from analyzer.web.db import REQUEST_STATES, ViewingRequest
from analyzer.web.deps import DB, CsrfViewer, StaffViewer, Viewer, render, require_roles

router = APIRouter()
DeciderViewer = Annotated[Viewer, Depends(require_roles(*approval.DECIDERS))]
RECENT = 50


@router.get("/approvals")
def approvals_page(request: Request, viewer: DeciderViewer, db: DB, error: str = ""):
    approval.expire_due(db)
    decided = list(
        db.scalars(
            select(ViewingRequest)
            .where(ViewingRequest.state != "pending")
            .order_by(ViewingRequest.id.desc())
            .limit(RECENT)
        )
    )
    return render(
        request,
        "approvals.html",
        viewer,
        pending=approval.pending(db),
        decided=decided,
        states=REQUEST_STATES,
        valid_hours=approval.settings_of(request).valid_hours,
        error=error,
    )


@router.post("/approvals/{qid}/decide")
def decide(
    request: Request,
    qid: int,
    viewer: CsrfViewer,
    db: DB,
    decision: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
):
    req = db.get(ViewingRequest, qid)
    if req is None:
        raise HTTPException(status_code=404, detail="查阅申请不存在")
    if decision not in ("approve", "refuse"):
        raise HTTPException(status_code=400, detail="请选择批准或拒绝")
    try:
        approval.decide(db, viewer.user, req, decision == "approve", note, approval.settings_of(request))
    except approval.ApprovalError as err:
        raise HTTPException(status_code=err.status_code, detail=str(err)) from None
    return RedirectResponse(f"/approvals#request-{qid}", status_code=303)


@router.get("/requests")
def my_requests(request: Request, viewer: StaffViewer, db: DB):
    approval.expire_due(db, viewer.user.id)
    mine = list(
        db.scalars(
            select(ViewingRequest)
            .where(ViewingRequest.requester_id == viewer.user.id)
            .order_by(ViewingRequest.id.desc())
            .limit(200)
        )
    )
    return render(request, "my_requests.html", viewer, requests=mine, states=REQUEST_STATES)
