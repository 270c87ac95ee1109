"""The gate in front of every POST body: an upload is answered before a byte of it is read unless the
session is live and its role may upload there, and it is cut off the moment a file passes its limit
or the user's disk quota.

It is a raw ASGI middleware because FastAPI parses a multipart body (spooling every file to a
temporary file) before any route dependency can check the login. The body is counted as it arrives
with python-multipart's streaming parser (the one Starlette parses with), so the limit holds per file
and with or without a Content-Length. A body cut off is never handed on: the route sees a disconnect,
its spooled temporary files are anonymous and go with it, and nothing reaches the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import quote

from python_multipart.multipart import MultipartParser, parse_options_header
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from analyzer.web.auth import SESSION_COOKIE, load_session
from analyzer.web.db import MediaFile, Recording

FORM_MAX_BYTES = 1 << 20  # any other POST body (forms): 1 MiB
FORM_OVERHEAD = 1 << 20  # multipart headers and the small fields beside the files
GUIDE_MAX_BYTES = 2_000_000
ATTEMPT_MAX_BYTES = 50 * 1024 * 1024
GIB = 1 << 30


@dataclass(frozen=True)
class UploadRule:
    roles: tuple[str, ...]
    kind: str  # "original" (per-file limit from the config), "attempt", "guide"
    quota: bool  # counts against the user's disk quota


UPLOAD_ROUTES = {
    "/import/upload": UploadRule(("admin", "reviewer"), "original", True),
    "/train/attempt": UploadRule(("admin", "reviewer", "trainee"), "attempt", True),
    "/admin/guides": UploadRule(("admin",), "guide", False),
}


def used_bytes(db: Session, user_id: int, data_dir: Path) -> int:
    """What a user has put on this server's disk: uploaded originals and training recordings."""
    originals = db.scalar(
        select(func.coalesce(func.sum(MediaFile.size_bytes), 0))
        .join(Recording, MediaFile.recording_id == Recording.id)
        .where(Recording.created_by == user_id, MediaFile.uploaded.is_(True))
    )
    folder = data_dir / "training" / str(user_id)
    attempts = sum(p.stat().st_size for p in folder.iterdir() if p.is_file()) if folder.is_dir() else 0
    return int(originals or 0) + attempts


def part_limit(kind: str, max_upload_bytes: int) -> int:
    return {
        "original": max_upload_bytes,
        "attempt": min(ATTEMPT_MAX_BYTES, max_upload_bytes),
        "guide": GUIDE_MAX_BYTES,
    }[kind]


def remaining_quota(db: Session, user_id: int, data_dir: Path, quota_bytes: int | None) -> int | None:
    if not quota_bytes:
        return None
    return max(0, quota_bytes - used_bytes(db, user_id, data_dir))


def fmt_bytes(n: int) -> str:
    return f"{n / GIB:.1f} GB" if n >= GIB else f"{n / (1 << 20):.0f} MB" if n >= 1 << 20 else f"{n} 字节"


class _Counter:
    """Counts the body as it streams: bytes per multipart part and of all parts together."""

    def __init__(self, boundary: bytes | None, part_max: int, total_max: int | None) -> None:
        self.part_max, self.total_max = part_max, total_max
        self.part = self.total = self.raw = 0
        self.problem = ""
        self.parser = (
            MultipartParser(boundary, {"on_part_begin": self._begin, "on_part_data": self._data})
            if boundary
            else None
        )

    def _begin(self) -> None:
        self.part = 0

    def _data(self, data: bytes, start: int, end: int) -> None:
        self.part += end - start
        self.total += end - start
        if self.part > self.part_max:
            self.problem = "file"
        elif self.total_max is not None and self.total > self.total_max:
            self.problem = "quota"

    def feed(self, chunk: bytes) -> str:
        self.raw += len(chunk)
        if self.parser is None:
            if self.raw > self.part_max:
                self.problem = "file"
            return self.problem
        try:
            self.parser.write(chunk)
        except Exception:
            self.problem = "malformed"
        return self.problem


class UploadGate:
    def __init__(
        self,
        app: ASGIApp,
        *,
        sessions: sessionmaker,
        data_dir: Path,
        max_upload_bytes: int,
        user_quota_bytes: int | None,
    ) -> None:
        self.app = app
        self.sessions = sessions
        self.data_dir = data_dir
        self.max_upload_bytes = max_upload_bytes
        self.user_quota_bytes = user_quota_bytes

    def _who(self, token: str | None) -> tuple[int, str, int | None] | None:
        """(user id, role, remaining quota) of a live session, or None."""
        with self.sessions() as db:
            ws = load_session(db, token)
            if ws is None:
                return None
            left = remaining_quota(db, ws.user.id, self.data_dir, self.user_quota_bytes)
            return ws.user.id, ws.user.role, left

    async def _answer(self, scope: Scope, send: Send, status: int, message: str) -> None:
        from analyzer.web.deps import error_page

        async def no_body() -> Message:
            return {"type": "http.disconnect"}

        response = error_page(Request(scope), status, message)
        response.headers["Connection"] = "close"
        await response(scope, no_body, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        try:
            length = int(headers.get("content-length") or 0)
        except ValueError:
            await self._answer(scope, send, 400, "请求无效（Content-Length）")
            return
        rule = UPLOAD_ROUTES.get(scope["path"])
        boundary = None
        if rule is None:
            part_max, total_max = FORM_MAX_BYTES, None
            too_big = f"请求过大（表单最多 {fmt_bytes(FORM_MAX_BYTES)}）"
        else:
            cookie = SimpleCookie()
            try:
                cookie.load(headers.get("cookie", ""))
            except Exception:
                cookie = SimpleCookie()
            token = cookie[SESSION_COOKIE].value if SESSION_COOKIE in cookie else None
            who = await run_in_threadpool(self._who, token)
            if who is None:
                response = RedirectResponse(f"/login?next={quote(scope['path'])}", status_code=303)
                response.headers["Connection"] = "close"
                await response(scope, receive, send)
                return
            _uid, role, left = who
            if role not in rule.roles:
                await self._answer(scope, send, 403, "无权上传（角色权限不足）")
                return
            part_max = part_limit(rule.kind, self.max_upload_bytes)
            total_max = left if rule.quota else None
            too_big = f"文件过大（每个文件最多 {fmt_bytes(part_max)}）"
            _kind, options = parse_options_header(headers.get("content-type", ""))
            boundary = options.get(b"boundary")
            if total_max is not None and length > total_max + FORM_OVERHEAD:
                await self._answer(scope, send, 413, _quota_text(left))
                return
            if rule.kind != "original" and length > part_max + FORM_OVERHEAD:
                await self._answer(scope, send, 413, too_big)
                return
        if rule is None and length > part_max:
            await self._answer(scope, send, 413, too_big)
            return
        counter = _Counter(boundary, part_max, total_max)
        refused = False

        async def counted_receive() -> Message:
            nonlocal refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                problem = counter.feed(message.get("body", b""))
                if problem:
                    refused = True
                    status, text = {
                        "file": (413, too_big),
                        "quota": (413, _quota_text(total_max)),
                        "malformed": (400, "请求格式错误"),
                    }[problem]
                    await self._answer(scope, send, status, text)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:
                await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not refused:
                raise


def _quota_text(left: int | None) -> str:
    return f"超出个人存储配额（剩余 {fmt_bytes(left or 0)}），请联系管理员"
