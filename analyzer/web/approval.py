"""Approval before viewing (第十四条): 因工作需要查阅音像记录的，应当经承办处室主要负责人同意并登记.

A reviewer or admin files a viewing request (purpose) for one recording; an approver, or an admin
who is not the requester, approves or refuses it with a note. An approved request opens that
recording for that user until `valid_until` (the window is configuration, `approval.toml`). Every
route that reveals a recording's content takes `Approved` (or `ApprovedPage`): one check, one place.
Requests, decisions, withdrawals, expiries and refused accesses all go to the access log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from analyzer.web import audit_log
from analyzer.web.config_files import own_or_default, read_toml
from analyzer.web.db import REQUEST_STATES, Recording, User, ViewingRequest, utcnow
from analyzer.web.deps import DB, LoggedIn, Viewer

DEFAULT_SETTINGS_FILE = Path(__file__).resolve().parent / "approval.toml"
DECIDERS = ("approver", "admin")  # who may approve or refuse (never their own request)
REQUESTERS = ("admin", "reviewer")  # who may ask to view


class ApprovalError(Exception):
    """A refused step of the workflow or a bad settings file; str(err) is one Chinese line."""

    def __init__(self, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.status_code = status_code


class ApprovalRedirect(Exception):
    """The recording page without an approved request: answered with the request page."""

    def __init__(self, rid: int) -> None:
        super().__init__(rid)
        self.location = f"/recordings/{rid}/purpose"


# ---------------------------------------------------------------- settings


@dataclass(frozen=True)
class Settings:
    valid_hours: float
    path: str

    @property
    def window(self) -> timedelta:
        return timedelta(hours=self.valid_hours)


def settings_path(data_dir: Path) -> Path:
    """The agency's own DATA_DIR/approval.toml, else the package's default."""
    return own_or_default(data_dir, DEFAULT_SETTINGS_FILE)


def load_settings(path: Path) -> Settings:
    data = read_toml(path, "查阅审批", ApprovalError)
    table = data.get("viewing")
    if not isinstance(table, dict):
        raise ApprovalError(f"{path}: 缺少 [viewing] 表")
    hours = table.get("valid_hours")
    if isinstance(hours, bool) or not isinstance(hours, int | float) or not 0 < hours <= 24 * 366:
        raise ApprovalError(f"{path}: [viewing] valid_hours 应为正数（批准后的有效小时数），实际为 {hours!r}")
    unknown = sorted(set(table) - {"valid_hours"}) + sorted(set(data) - {"viewing"})
    if unknown:
        raise ApprovalError(f"{path}: 未知字段：{', '.join(unknown)}")
    return Settings(float(hours), str(path))


def settings_of(request: Request) -> Settings:
    try:
        return load_settings(settings_path(request.app.state.data_dir))
    except ApprovalError as err:
        raise HTTPException(status_code=500, detail=str(err)) from None


# ---------------------------------------------------------------- log


def fmt_utc(when: datetime | None) -> str:
    return f"{when:%Y-%m-%d %H:%M} UTC" if when else ""


def log_purpose(req: ViewingRequest | None) -> str:
    """The purpose column of the access log for anything done under an approved request."""
    if req is None:
        return ""
    approver = req.decided_by.label if req.decided_by else "（未审批）"
    return f"{req.purpose_text}（批准人：{approver}，查阅申请 #{req.id}）"


def _log(db: Session, user: User, action: str, req: ViewingRequest, detail: str) -> None:
    """One workflow step; its purpose names the approver once the request has been approved."""
    audit_log.append(
        db,
        username=user.username,
        role=user.role,
        action=action,
        recording_id=req.recording_id,
        target=req.recording.title if req.recording else "",
        purpose=log_purpose(req) if req.valid_until is not None else req.purpose_text,
        detail=detail,
    )


# ---------------------------------------------------------------- workflow


def file_request(db: Session, user: User, rec: Recording, purpose: str, detail: str) -> ViewingRequest:
    if user.role not in REQUESTERS:
        raise ApprovalError("无权申请查阅录像", 403)
    open_one = db.scalar(
        select(ViewingRequest).where(
            ViewingRequest.requester_id == user.id,
            ViewingRequest.recording_id == rec.id,
            ViewingRequest.state == "pending",
        )
    )
    if open_one is not None:
        raise ApprovalError(f"已有待审批的查阅申请 #{open_one.id}，请等待审批或先撤回", 409)
    req = ViewingRequest(
        requester_id=user.id,
        recording_id=rec.id,
        purpose=purpose[:64],
        purpose_detail=detail[:500],
        requested_at=utcnow(),
        state="pending",
    )
    db.add(req)
    db.commit()
    _log(db, user, "view_request", req, f"查阅申请 #{req.id}，待承办处室主要负责人审批")
    return req


def decide(
    db: Session, decider: User, req: ViewingRequest, approve: bool, note: str, settings: Settings
) -> ViewingRequest:
    """Approve (valid for the configured window from now) or refuse one pending request."""
    if decider.role not in DECIDERS:
        raise ApprovalError("只有审批人（承办处室主要负责人）或管理员可以审批查阅申请", 403)
    if req.requester_id == decider.id:
        raise ApprovalError("不得审批本人的查阅申请，请由其他审批人审批", 403)
    if req.state != "pending":
        raise ApprovalError(f"该申请{REQUEST_STATES.get(req.state, req.state)}，不能再审批", 409)
    note = note.strip()[:1000]
    if not approve and not note:
        raise ApprovalError("拒绝查阅申请时请填写理由")
    now = utcnow()
    decided = db.execute(  # one decision even when two approvers press at once
        update(ViewingRequest)
        .where(ViewingRequest.id == req.id, ViewingRequest.state == "pending")
        .values(
            state="approved" if approve else "refused",
            decided_by_id=decider.id,
            decided_at=now,
            decision_note=note,
            valid_until=now + settings.window if approve else None,
        )
    )
    db.commit()
    db.refresh(req)
    if decided.rowcount != 1:
        raise ApprovalError(f"该申请{REQUEST_STATES.get(req.state, req.state)}，不能再审批", 409)
    who = f"申请人 {req.requester.label}（{req.requester.username}）"
    if approve:
        detail = f"批准查阅申请 #{req.id}，{who}，有效期至 {fmt_utc(req.valid_until)}"
    else:
        detail = f"拒绝查阅申请 #{req.id}，{who}"
    _log(
        db,
        decider,
        "view_approve" if approve else "view_refuse",
        req,
        detail + (f"；意见：{note}" if note else ""),
    )
    return req


def withdraw(db: Session, user: User, req: ViewingRequest) -> None:
    if req.requester_id != user.id:
        raise ApprovalError("只能撤回本人的查阅申请", 403)
    if req.state not in ("pending", "approved"):
        raise ApprovalError(f"该申请{REQUEST_STATES.get(req.state, req.state)}，无需撤回", 409)
    req.state = "withdrawn"
    db.commit()
    _log(db, user, "view_withdraw", req, f"撤回查阅申请 #{req.id}")


def expire_due(db: Session, requester_id: int | None = None, recording_id: int | None = None) -> None:
    """Approved requests past their window become 已过期, each logged once."""
    query = select(ViewingRequest).where(
        ViewingRequest.state == "approved", ViewingRequest.valid_until <= utcnow()
    )
    if requester_id is not None:
        query = query.where(ViewingRequest.requester_id == requester_id)
    if recording_id is not None:
        query = query.where(ViewingRequest.recording_id == recording_id)
    for req in list(db.scalars(query)):
        req.state = "expired"
        db.commit()
        _log(
            db,
            req.requester,
            "view_expire",
            req,
            f"查阅申请 #{req.id} 的批准已于 {fmt_utc(req.valid_until)} 过期",
        )


def active_request(db: Session, user_id: int, rid: int) -> ViewingRequest | None:
    """The user's approved request in force for the recording (the latest approved one)."""
    expire_due(db, user_id, rid)
    return db.scalars(
        select(ViewingRequest)
        .where(
            ViewingRequest.requester_id == user_id,
            ViewingRequest.recording_id == rid,
            ViewingRequest.state == "approved",
            ViewingRequest.valid_until > utcnow(),
        )
        .order_by(ViewingRequest.decided_at.desc(), ViewingRequest.id.desc())
    ).first()


def approved_recording_ids(db: Session, user_id: int) -> set[int]:
    expire_due(db, user_id)
    return set(
        db.scalars(
            select(ViewingRequest.recording_id).where(
                ViewingRequest.requester_id == user_id,
                ViewingRequest.state == "approved",
                ViewingRequest.valid_until > utcnow(),
            )
        )
    )


def pending_recording_ids(db: Session, user_id: int) -> set[int]:
    return set(
        db.scalars(
            select(ViewingRequest.recording_id).where(
                ViewingRequest.requester_id == user_id, ViewingRequest.state == "pending"
            )
        )
    )


def requests_of(db: Session, user_id: int, rid: int) -> list[ViewingRequest]:
    return list(
        db.scalars(
            select(ViewingRequest)
            .where(ViewingRequest.requester_id == user_id, ViewingRequest.recording_id == rid)
            .order_by(ViewingRequest.id.desc())
        )
    )


def pending(db: Session) -> list[ViewingRequest]:
    """Every pending request, oldest first (an approver's own are listed but not decidable)."""
    return list(
        db.scalars(
            select(ViewingRequest).where(ViewingRequest.state == "pending").order_by(ViewingRequest.id)
        )
    )


def pending_count(db: Session, decider: User) -> int:
    """Pending requests of others: the number in the navigation bar."""
    return (
        db.scalar(
            select(func.count(ViewingRequest.id)).where(
                ViewingRequest.state == "pending", ViewingRequest.requester_id != decider.id
            )
        )
        or 0
    )


def _refusal_reason(db: Session, user_id: int, rid: int) -> str:
    last = db.scalars(
        select(ViewingRequest)
        .where(ViewingRequest.requester_id == user_id, ViewingRequest.recording_id == rid)
        .order_by(ViewingRequest.id.desc())
    ).first()
    if last is None:
        return "无查阅申请"
    if last.state == "expired":
        return f"查阅申请 #{last.id} 的批准已于 {fmt_utc(last.valid_until)} 过期"
    return f"查阅申请 #{last.id}{REQUEST_STATES.get(last.state, last.state)}"


# ---------------------------------------------------------------- the one check


@dataclass
class Access:
    """A content route's licence: the viewer, the recording and the approved request in force."""

    viewer: Viewer
    recording: Recording
    request: ViewingRequest


def _check(request: Request, rid: int, viewer: Viewer, db: Session, page: bool) -> Access:
    rec = db.get(Recording, rid)
    if rec is None:
        raise HTTPException(status_code=404, detail="录像不存在")
    req = active_request(db, viewer.user.id, rid)
    if req is not None:
        return Access(viewer, rec, req)
    reason = _refusal_reason(db, viewer.user.id, rid)
    audit_log.append(
        db,
        username=viewer.user.username,
        role=viewer.user.role,
        action="access_refused",
        recording_id=rid,
        target=rec.title,
        detail=f"{request.method} {request.url.path}：未经批准，拒绝访问（{reason}）",
    )
    if page and viewer.user.role in REQUESTERS:
        raise ApprovalRedirect(rid)
    raise HTTPException(
        status_code=403,
        detail=f"查阅该录像须经承办处室主要负责人批准（第十四条）：{reason}。请先提交查阅申请",
    )


def require_approval(request: Request, rid: int, viewer: LoggedIn, db: DB) -> Access:
    return _check(request, rid, viewer, db, page=False)


def require_approval_page(request: Request, rid: int, viewer: LoggedIn, db: DB) -> Access:
    return _check(request, rid, viewer, db, page=True)


Approved = Annotated[Access, Depends(require_approval)]
ApprovedPage = Annotated[Access, Depends(require_approval_page)]
