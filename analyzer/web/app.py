"""The reviewer web app: `create_app(WebConfig)` builds the FastAPI application.

Server-rendered Jinja2 pages in Chinese, a little vanilla JS. Analysis runs in a background
worker (analyzer.web.jobs) on the real pipeline; tests may inject `analyze` for unit-level checks.
"""

from __future__ import annotations

import hmac
import secrets
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from analyzer import __version__
from analyzer.rules import fmt_time
from analyzer.web import (
    approval,
    audit_log,
    dashboard,
    routes_admin,
    routes_approval,
    routes_dashboard,
    routes_explain,
    routes_metadata,
    routes_retention,
    routes_review,
    routes_speakers,
    routes_train,
    throttle,
)
from analyzer.web.auth import (
    SESSION_COOKIE,
    AuthError,
    authenticate,
    end_session,
    normalise_username,
    set_password,
    start_session,
    verify_password,
)
from analyzer.web.db import ROLE_TITLES, User, database_url, make_sessionmaker
from analyzer.web.deps import (
    DB,
    CsrfViewer,
    LoggedIn,
    LoginRequired,
    bounded_path_ids,
    error_page,
    render,
)
from analyzer.web.jobs import (
    AnalysisWorker,
    AnalyzeFn,
    RayPipeline,
    TrainFn,
    TrainingWorker,
    load_output,
    rewrite_paths,
    run_pipeline,
    run_training,
    save_output,
)
from analyzer.web.migrations import make_engine
from analyzer.web.privacy import mask_text
from analyzer.web.storage import OriginalStore, StorageError
from analyzer.web.uploads import GIB, UploadGate

HERE = Path(__file__).resolve().parent
LOGIN_CSRF_COOKIE = "sc_login_csrf"
# No inline script or style anywhere in the app's own pages: injected markup cannot run.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


@dataclass
class WebConfig:
    data_dir: Path
    db: str | None = None  # SQLAlchemy URL or SQLite file path; default data_dir/scriptcheck.db
    import_roots: list[Path] = field(default_factory=list)  # folders an admin may register recordings from
    guide: str | None = None  # default phrase guide (name or path); None = the package default
    workers: int = 1
    executor: str = "local"  # "ray": background analysis as Ray tasks (analyzer.executors.RayPipeline)
    ray_address: str | None = None  # None with executor "ray": a local Ray instance
    secure_cookies: bool = False  # set when served behind HTTPS
    max_upload_bytes: int = 4 * GIB  # per uploaded file
    user_quota_bytes: int | None = 100 * GIB  # uploaded originals + training recordings; None: no quota
    training_jobs_per_user: int = 2  # attempts waiting or being evaluated at once
    login_limits: throttle.Limits = field(default_factory=throttle.Limits)
    allowed_hosts: list[str] | None = None  # Host header names served (serve's --allowed-host); None: any


def _home_for(role: str) -> str:
    return {"trainee": "/train", "approver": "/dashboard", "officer": "/dashboard"}.get(role, "/queue")


def adopt_registered_originals(sessions, store: OriginalStore, data_dir: Path) -> None:
    """Databases from before the store held every original point at files registered in place: copy
    each one that still hashes as registered into the store (and its report's paths with it). One that
    no longer does keeps its old path, which is never served, and gets an integrity alarm."""
    from sqlalchemy import select

    from analyzer.web.db import Recording

    with sessions() as db:
        for rec in db.scalars(select(Recording)):
            moved: dict[str, str] = {}
            for f in rec.files:
                if store.contains(f.stored_path):
                    continue
                try:
                    saved = store.ingest(Path(f.stored_path), data_dir, [data_dir / "inbox"])
                except (StorageError, OSError) as err:
                    saved, reason = None, str(err).split("：", 1)[-1]
                else:
                    reason = "" if saved.sha256 == f.sha256 else "内容与登记时的 SHA-256 不符"
                if reason:
                    if saved is not None:
                        store.discard(saved)
                    alarm = f"{f.original_name}：未能迁入只读存储（{reason}），已停止播放和导出原始文件"
                    if alarm not in rec.integrity_alarm:
                        rec.integrity_alarm = "；".join(a for a in (rec.integrity_alarm, alarm) if a)
                    continue
                moved[f.stored_path] = str(saved.path)
                f.stored_path = str(saved.path)
            output = load_output(rec.result_dir, original=True) if moved else None
            if output is not None:
                output.recording = rewrite_paths(output.recording, moved)
                save_output(Path(rec.result_dir), output)
            db.commit()


def create_app(
    config: WebConfig,
    *,
    analyze: AnalyzeFn | None = None,
    train: TrainFn | None = None,
    start_worker: bool = True,
) -> FastAPI:
    data_dir = config.data_dir.resolve()
    approval.load_settings(approval.settings_path(data_dir))  # a bad approval.toml stops the start
    for sub in ("originals", "explanations", "results", "training", "guides", "inbox", "tmp"):
        (data_dir / sub).mkdir(parents=True, exist_ok=True)
    engine = make_engine(database_url(config.db, data_dir))
    sessions = make_sessionmaker(engine)
    audit_log.attach_key(sessions, data_dir)
    if analyze is None and config.executor == "ray":
        analyze = RayPipeline(config.ray_address)
    worker = AnalysisWorker(sessions, data_dir / "results", analyze or run_pipeline, workers=config.workers)
    trainer = TrainingWorker(sessions, data_dir, train or run_training)
    store = OriginalStore(data_dir / "originals")
    adopt_registered_originals(sessions, store, data_dir)
    with sessions() as db:  # recordings analysed before the dashboard's tables existed
        dashboard.backfill(db, load_output)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if start_worker:
            worker.start()
            trainer.start()
        yield
        worker.stop()
        trainer.stop()

    app = FastAPI(
        title="Scriptcheck 审阅",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(bounded_path_ids)],
    )
    app.state.config = config
    app.state.data_dir = data_dir
    app.state.engine = engine
    app.state.sessions = sessions
    app.state.worker = worker
    app.state.training_worker = trainer
    app.state.store = store
    app.state.documents = OriginalStore(data_dir / "explanations")  # scans of written explanations
    app.state.import_roots = [p.resolve() for p in (config.import_roots or [data_dir / "inbox"])]
    app.state.play_log = {}  # (session, recording, file) -> last logged play
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals.update(version=__version__, role_titles=ROLE_TITLES)

    def pending_approvals(user: User | None) -> int:
        """Viewing requests of others waiting for this approver or admin (第十四条): the nav's count."""
        if user is None or user.role not in approval.DECIDERS:
            return 0
        with sessions() as db:
            return approval.pending_count(db, user)

    templates.env.globals["pending_approvals"] = pending_approvals
    templates.env.filters["t"] = fmt_time
    templates.env.filters["mask"] = mask_text
    app.state.templates = templates
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    if config.allowed_hosts is not None:  # a page under another name (DNS rebinding) gets 400
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=config.allowed_hosts)

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired):
        return RedirectResponse(f"/login?next={exc.next_path}", status_code=303)

    @app.exception_handler(approval.ApprovalRedirect)
    async def _approval_required(request: Request, exc: approval.ApprovalRedirect):
        return RedirectResponse(exc.location, status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        message = exc.detail if isinstance(exc.detail, str) else "请求无效"
        if exc.status_code == 404 and message == "Not Found":
            message = "页面不存在"
        return error_page(request, exc.status_code, message)

    app.add_middleware(
        UploadGate,
        sessions=sessions,
        data_dir=data_dir,
        max_upload_bytes=config.max_upload_bytes,
        user_quota_bytes=config.user_quota_bytes,
    )

    @app.middleware("http")
    async def _security_headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.get("/login")
    def login_form(request: Request, next: str = "/", error: str = ""):
        token = secrets.token_urlsafe(24)
        response = render(request, "login.html", next=_safe_next(next), error=error, login_csrf=token)
        response.set_cookie(
            LOGIN_CSRF_COOKIE,
            token,
            max_age=3600,
            httponly=True,
            samesite="lax",
            secure=config.secure_cookies,
        )
        return response

    @app.post("/login")
    def login(
        request: Request,
        username: Annotated[str, Form()],
        password: Annotated[str, Form()],
        db: DB,
        csrf_token: Annotated[str, Form()] = "",
        next: Annotated[str, Form()] = "/",
    ):
        cookie_token = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        if not cookie_token or not hmac.compare_digest(cookie_token, csrf_token):
            raise HTTPException(status_code=403, detail="CSRF 校验失败：请刷新登录页后重试")
        name = normalise_username(username)[:200]
        address = request.client.host if request.client else ""
        if not throttle.begin_attempt(db, name, address, config.login_limits):
            return RedirectResponse(f"/login?error=locked&next={quote(_safe_next(next))}", status_code=303)
        user = authenticate(db, username, password)
        if user is None:
            return RedirectResponse(f"/login?error=bad&next={quote(_safe_next(next))}", status_code=303)
        throttle.attempt_succeeded(db, name, address)
        new = start_session(db, user)
        audit_log.append(db, username=user.username, role=user.role, action="login")
        target = _safe_next(next)
        response = RedirectResponse(target if target != "/" else _home_for(user.role), status_code=303)
        response.set_cookie(
            SESSION_COOKIE, new.token, httponly=True, samesite="lax", secure=config.secure_cookies
        )
        response.delete_cookie(LOGIN_CSRF_COOKIE)
        return response

    @app.post("/logout")
    def logout(viewer: CsrfViewer, db: DB):
        end_session(db, viewer.session)
        audit_log.append(db, username=viewer.user.username, role=viewer.user.role, action="logout")
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    @app.get("/account/password")
    def account_form(request: Request, viewer: LoggedIn):
        return render(request, "account.html", viewer, error="")

    @app.post("/account/password")
    def account_password(
        request: Request,
        viewer: CsrfViewer,
        db: DB,
        current: Annotated[str, Form()] = "",
        new: Annotated[str, Form()] = "",
        again: Annotated[str, Form()] = "",
    ):
        """Change one's own password: the current one is checked under the login limits."""
        user = viewer.user
        address = request.client.host if request.client else ""
        if not throttle.begin_attempt(db, user.username, address, config.login_limits):
            error = "密码错误次数过多，请 15 分钟后再试"
        elif not verify_password(user.password_hash, current):
            error = "当前密码不正确"
        elif new != again:
            throttle.attempt_succeeded(db, user.username, address)
            error = "两次输入的新密码不一致"
        else:
            throttle.attempt_succeeded(db, user.username, address)
            try:
                set_password(db, user, new)
            except AuthError as err:
                error = str(err)
            else:
                audit_log.append(
                    db,
                    username=user.username,
                    role=user.role,
                    action="user_admin",
                    target=user.username,
                    detail="本人修改密码",
                )
                response = RedirectResponse("/login?error=changed", status_code=303)
                response.delete_cookie(SESSION_COOKIE)
                return response
        return render(request, "account.html", viewer, status_code=400, error=error)

    @app.get("/")
    def home(viewer: LoggedIn):
        return RedirectResponse(_home_for(viewer.user.role), status_code=303)

    @app.get("/healthz")
    def healthz():
        return {"ok": True, "version": __version__}

    app.include_router(routes_review.router)
    app.include_router(routes_approval.router)
    app.include_router(routes_speakers.router)
    app.include_router(routes_explain.router)
    app.include_router(routes_metadata.router)
    app.include_router(routes_retention.router)
    app.include_router(routes_admin.router)
    app.include_router(routes_train.router)
    app.include_router(routes_dashboard.router)
    return app


def _safe_next(next_path: str) -> str:
    """Only same-site paths after login (no open redirect to another host)."""
    if not next_path.startswith("/") or next_path.startswith("//") or "\\" in next_path:
        return "/"
    return next_path
