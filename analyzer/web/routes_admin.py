"""Admin pages: users and roles, phrase guides, and the access log (view, verify, export)."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from analyzer.web import audit_log
from analyzer.web.auth import AuthError, check_password, create_user, expire_sessions, set_password
from analyzer.web.db import ROLES, Setting, User
from analyzer.web.deps import DB, AdminViewer, CsrfViewer, Viewer, render
from analyzer.web.jobs import first_line
from analyzer.web.storage import public_message

router = APIRouter(prefix="/admin")


def _must_be_admin(viewer: Viewer) -> None:
    if not viewer.is_admin:
        raise HTTPException(status_code=403, detail="只有管理员可以执行此操作")


def _users_page(request: Request, viewer: Viewer, db: Session, error: str = "", status_code: int = 200):
    users = list(db.scalars(select(User).order_by(User.id)))
    return render(
        request, "admin_users.html", viewer, status_code=status_code, users=users, roles=ROLES, error=error
    )


@router.get("/users")
def users(request: Request, viewer: AdminViewer, db: DB):
    return _users_page(request, viewer, db)


@router.post("/users")
def add_user(
    request: Request,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    role: Annotated[str, Form()],
    viewer: CsrfViewer,
    db: DB,
    display_name: Annotated[str, Form()] = "",
):
    _must_be_admin(viewer)
    try:
        user = create_user(db, username, password, role, display_name.strip())
    except AuthError as err:
        return _users_page(request, viewer, db, error=str(err), status_code=400)
    audit_log.append(
        db,
        username=viewer.user.username,
        role="admin",
        action="user_admin",
        target=user.username,
        detail=f"新建用户，角色 {role}",
    )
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/users/{uid}")
def update_user(
    request: Request,
    uid: int,
    viewer: CsrfViewer,
    db: DB,
    role: Annotated[str, Form()] = "",
    active: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
):
    _must_be_admin(viewer)
    user = db.get(User, uid)
    if user is None:
        raise HTTPException(status_code=404, detail="用户不存在")
    if password:
        try:
            check_password(password, user.username)
        except AuthError as err:
            return _users_page(request, viewer, db, error=str(err), status_code=400)
    changes = []
    if role and role in ROLES and role != user.role:
        if user.id == viewer.user.id:
            return _users_page(request, viewer, db, error="不能修改自己的角色", status_code=400)
        user.role = role
        changes.append(f"角色改为 {role}")
    want_active = active == "1"
    if want_active != user.active and user.id != viewer.user.id:
        user.active = want_active
        if not want_active:
            expire_sessions(db, user)  # a reactivated account starts without its old sessions
        changes.append("启用" if want_active else "停用")
    db.commit()
    if password:
        set_password(db, user, password)  # ends the user's sessions
        changes.append("重设密码")
    if changes:
        audit_log.append(
            db,
            username=viewer.user.username,
            role="admin",
            action="user_admin",
            target=user.username,
            detail="，".join(changes),
        )
    return RedirectResponse("/admin/users", status_code=303)


# ---------------------------------------------------------------- guides


def _guide_dir(request: Request) -> Path:
    return request.app.state.data_dir / "guides"


def _guides(request: Request) -> list[dict[str, str]]:
    """Built-in and uploaded guides; `value` is what the default setting stores (a built-in by its
    name, so that it follows the package; an uploaded one by its path)."""
    found = []
    try:
        from analyzer.guide import list_guides

        for p in list_guides():
            found.append({"name": p.stem, "path": str(p), "source": "内置", "value": p.stem})
    except Exception as err:  # the package's guides are someone else's; show the problem, keep the page
        found.append(
            {
                "name": "（无法列出内置用语指引）",
                "path": str(err).splitlines()[0] if str(err) else "",
                "source": "",
                "value": "",
            }
        )
    for p in sorted(_guide_dir(request).glob("*.toml")):
        found.append({"name": p.stem, "path": str(p), "source": "上传", "value": str(p)})
    return found


def default_guide(request: Request, db: Session) -> str:
    setting = db.get(Setting, "default_guide")
    return setting.value if setting else (request.app.state.config.guide or "")


def _guides_page(request: Request, viewer: Viewer, db: Session, error: str = "", status_code: int = 200):
    return render(
        request,
        "admin_guides.html",
        viewer,
        status_code=status_code,
        guides=_guides(request),
        current=default_guide(request, db),
        error=error,
    )


@router.get("/guides")
def guides(request: Request, viewer: AdminViewer, db: DB):
    return _guides_page(request, viewer, db)


@router.post("/guides")
def upload_guide(request: Request, file: Annotated[UploadFile, File()], viewer: CsrfViewer, db: DB):
    """A new guide TOML, validated with analyzer.guide.load_guide before it is kept."""
    _must_be_admin(viewer)
    name = file.filename or ""
    if not re.fullmatch(r"[A-Za-z0-9_\-]{1,64}\.toml", name):
        return _guides_page(
            request, viewer, db, f"{name!r}：文件名只能包含字母、数字、下划线，扩展名 .toml", status_code=400
        )
    content = file.file.read(2_000_000)
    fd, tmp = tempfile.mkstemp(dir=_guide_dir(request), prefix=".guide-", suffix=".toml")
    with os.fdopen(fd, "wb") as fh:
        fh.write(content)
    try:
        from analyzer.guide import load_guide

        load_guide(tmp)
    except Exception as err:
        os.unlink(tmp)
        reason = public_message(first_line(err), {tmp: name}, [request.app.state.data_dir])
        return _guides_page(request, viewer, db, f"{name}：{reason}", status_code=400)
    os.replace(tmp, _guide_dir(request) / name)
    audit_log.append(
        db,
        username=viewer.user.username,
        role="admin",
        action="guide_admin",
        target=name,
        detail="上传用语指引",
    )
    return RedirectResponse("/admin/guides", status_code=303)


@router.post("/guides/default")
def set_default_guide(request: Request, viewer: CsrfViewer, db: DB, guide: Annotated[str, Form()] = ""):
    _must_be_admin(viewer)
    allowed = {g["value"] for g in _guides(request)} | {""}
    if guide not in allowed:
        raise HTTPException(status_code=400, detail="未知的用语指引")
    setting = db.get(Setting, "default_guide") or Setting(key="default_guide")
    setting.value = guide
    db.merge(setting)
    db.commit()
    audit_log.append(
        db,
        username=viewer.user.username,
        role="admin",
        action="guide_admin",
        target=guide or "默认",
        detail="设为默认用语指引",
    )
    return RedirectResponse("/admin/guides", status_code=303)


# ---------------------------------------------------------------- access log


@router.get("/log")
def log_page(request: Request, viewer: AdminViewer, db: DB):
    check = audit_log.verify_chain(db)
    entries = audit_log.entries_as_dicts(db)[::-1][:500]
    return render(
        request, "admin_log.html", viewer, check=check, entries=entries, titles=audit_log.ACTION_TITLES
    )


@router.get("/log/head")
def log_head(
    request: Request,
    viewer: AdminViewer,
    db: DB,
    check_seq: str = "",
    check_hash: str = "",
    fmt: str = "html",
):
    """The chain head to print and keep away from the server, and the later check against one."""
    result = None
    if check_seq.strip() or check_hash.strip():
        if not check_seq.strip().isdigit() or len(check_seq.strip()) > 12:
            result = (False, "请填写导出链头上的条目数（整数）")
        else:
            result = audit_log.check_exported_head(db, int(check_seq.strip()), check_hash)
        return render(
            request,
            "admin_log_head.html",
            viewer,
            head=None,
            result=result,
            check_seq=check_seq,
            check_hash=check_hash,
        )
    head = audit_log.export_head(db)
    audit_log.append(
        db,
        username=viewer.user.username,
        role="admin",
        action="log_head_export",
        detail=f"第 {head.seq} 条 {head.hash}",
    )
    if fmt == "json":
        stamp = head.time.replace("-", "").replace(":", "")
        return Response(
            json.dumps(dataclasses.asdict(head), ensure_ascii=False, indent=1),
            media_type="application/json",
            headers={"Content-Disposition": f'attachment; filename="access-log-head-{stamp}.json"'},
        )
    return render(request, "admin_log_head.html", viewer, head=head, result=None, check_seq="", check_hash="")


@router.get("/log/export")
def log_export(viewer: AdminViewer, db: DB, fmt: str = "csv"):
    if fmt not in ("csv", "json"):
        raise HTTPException(status_code=400, detail="格式只能是 csv 或 json")
    audit_log.append(db, username=viewer.user.username, role="admin", action="log_export", detail=fmt)
    body = audit_log.export_csv(db) if fmt == "csv" else audit_log.export_json(db)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    media = "text/csv; charset=utf-8" if fmt == "csv" else "application/json"
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="access-log-{stamp}.{fmt}"'},
    )
