"""Request plumbing shared by the routers: database session, login, roles, CSRF, rendering."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from analyzer.web.auth import SESSION_COOKIE, csrf_ok, load_session
from analyzer.web.db import User, WebSession


class LoginRequired(Exception):
    """Raised for a request without a live session; answered with a redirect to /login."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


MAX_ROW_ID = 2**63 - 1  # the largest integer a database row id (SQLite INTEGER, BIGINT) can hold


def bounded_path_ids(request: Request) -> None:
    """A path number no row can have is answered 404 before it reaches the database, which would
    fail on it (OverflowError) instead of finding nothing."""
    for value in request.path_params.values():
        digits = value.removeprefix("-") if isinstance(value, str) else ""
        if digits.isascii() and digits.isdigit() and (len(digits) > 19 or int(digits) > MAX_ROW_ID):
            raise HTTPException(status_code=404, detail="页面不存在")


def get_db(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as db:
        yield db


@dataclass
class Viewer:
    session: WebSession
    user: User

    @property
    def is_admin(self) -> bool:
        return self.user.role == "admin"


def current_viewer(request: Request, db: Annotated[Session, Depends(get_db)]) -> Viewer:
    ws = load_session(db, request.cookies.get(SESSION_COOKIE))
    if ws is None:
        next_path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(quote(next_path, safe="/?=&"))
    return Viewer(session=ws, user=ws.user)


def require_roles(*roles: str) -> Callable[..., Viewer]:
    def check(viewer: Annotated[Viewer, Depends(current_viewer)]) -> Viewer:
        if viewer.user.role not in roles:
            raise HTTPException(status_code=403, detail="无权访问此页面（角色权限不足）")
        return viewer

    return check


def must_be_staff(viewer: Viewer, what: str) -> None:
    """For routes that take a CSRF-checked viewer: only admins and reviewers may `what` (e.g. 导出)."""
    if viewer.user.role not in ("admin", "reviewer"):
        raise HTTPException(status_code=403, detail=f"无权{what}")


async def csrf_protect(request: Request, viewer: Annotated[Viewer, Depends(current_viewer)]) -> Viewer:
    """Every state-changing request carries the session's CSRF token (form field or X-CSRF-Token header)."""
    submitted = request.headers.get("x-csrf-token")
    if not submitted:
        form = await request.form()
        value = form.get("csrf_token")
        submitted = value if isinstance(value, str) else None
    if not csrf_ok(viewer.session, submitted):
        raise HTTPException(status_code=403, detail="CSRF 校验失败：请刷新页面后重试")
    return viewer


DB = Annotated[Session, Depends(get_db)]
LoggedIn = Annotated[Viewer, Depends(current_viewer)]
CsrfViewer = Annotated[Viewer, Depends(csrf_protect)]
StaffViewer = Annotated[Viewer, Depends(require_roles("admin", "reviewer"))]
AdminViewer = Annotated[Viewer, Depends(require_roles("admin"))]
# Aggregates and the queue: approvers read them too; an officer only their own recordings' rows.
ReaderViewer = Annotated[Viewer, Depends(require_roles("admin", "reviewer", "approver", "officer"))]


def render(
    request: Request, template: str, viewer: Viewer | None = None, status_code: int = 200, **context: Any
):
    context.update(
        viewer=viewer,
        user=viewer.user if viewer else None,
        csrf_token=viewer.session.csrf_token if viewer else "",
    )
    return request.app.state.templates.TemplateResponse(request, template, context, status_code=status_code)


def error_page(request: Request, status_code: int, message: str) -> HTMLResponse:
    return request.app.state.templates.TemplateResponse(
        request,
        "error.html",
        {"message": message, "status_code": status_code, "viewer": None, "user": None, "csrf_token": ""},
        status_code=status_code,
    )
