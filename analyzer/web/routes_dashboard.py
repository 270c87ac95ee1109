"""Aggregate pages: the dashboard (/dashboard), the trainer view (/dashboard/training), the monthly
report downloads, and the device registry's admin page (/admin/registry).

Reviewers, approvers and admins see every unit; a user with the officer role sees only the recordings
of the registry officer linked to their account (none when no officer is linked).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from analyzer.web import audit_log, registry
from analyzer.web.dashboard import Scope, latest_month, month_of
from analyzer.web.db import User
from analyzer.web.deps import DB, AdminViewer, CsrfViewer, ReaderViewer, Viewer, render, require_roles
from analyzer.web.monthly import build_view, file_stem, produce, training_for
from analyzer.web.routes_admin import default_guide

router = APIRouter()
TrainerViewer = Annotated[Viewer, Depends(require_roles("admin", "reviewer", "approver"))]


def viewer_scope(db: Session, viewer: Viewer, params) -> tuple[Scope, str]:
    """The scope asked for, narrowed to the viewer's own recordings for the officer role; and its period.

    Without a period the latest month with analysed recordings is shown.
    """
    forced = None
    if viewer.user.role == "officer":
        own = registry.officer_of_user(db, viewer.user.id)
        forced = own.id if own else -1
    scope = Scope.from_params(params, officer_id=forced)
    period = str(params.get("period") or "")
    if not (scope.date_from or scope.date_to):
        period = latest_month(db, Scope(unit=scope.unit, officer_id=scope.officer_id)) or month_of(
            date.today()
        )
        scope = Scope.from_params({**dict(params), "period": period}, officer_id=forced)
    elif not period and scope.date_from:
        period = month_of(scope.date_from)
    return Scope(scope.date_from, scope.date_to, scope.unit, scope.officer_id), period


@router.get("/dashboard")
def dashboard_page(request: Request, viewer: ReaderViewer, db: DB):
    scope, period = viewer_scope(db, viewer, request.query_params)
    view = build_view(db, scope)
    return render(
        request,
        "dashboard.html",
        viewer,
        v=view,
        s=view.summary,
        period=period,
        units=registry.units(db),
        officers=registry.officers(db),
        report_qs=urlencode({"period": period, **({"unit": scope.unit} if scope.unit else {})})
        + (f"&officer={scope.officer_id}" if scope.officer_id and viewer.user.role != "officer" else ""),
    )


def _report(request: Request, viewer: Viewer, db: Session, kind: str) -> Response:
    scope, period = viewer_scope(db, viewer, request.query_params)
    training = (
        training_for(request.app.state.data_dir, default_guide(request, db) or None)
        if viewer.user.role != "officer"
        else None
    )
    xlsx, html, _view = produce(
        db, scope, produced_by=viewer.user.username, role=viewer.user.role, training=training
    )
    stem = file_stem(period, scope.unit)
    if kind == "xlsx":
        body, media = xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        body, media = html.encode("utf-8"), "text/html; charset=utf-8"
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(stem)}.{kind}"},
    )


@router.get("/dashboard/report.xlsx")
def report_xlsx(request: Request, viewer: ReaderViewer, db: DB):
    return _report(request, viewer, db, "xlsx")


@router.get("/dashboard/report.html")
def report_html(request: Request, viewer: ReaderViewer, db: DB):
    return _report(request, viewer, db, "html")


@router.get("/dashboard/training")
def training_page(request: Request, viewer: TrainerViewer, db: DB):
    view = training_for(request.app.state.data_dir, default_guide(request, db) or None)
    if view is None:
        raise HTTPException(status_code=500, detail="无法加载用语指引，无法显示训练情况")
    from analyzer.web import charts

    titles = {p["id"]: p["title"] for p in view.phrases}
    ids = [p["id"] for p in view.phrases if p["trainees"]] or [p["id"] for p in view.phrases]
    cells = {}
    for i, t in enumerate(view.trainees):
        for j, pid in enumerate(ids):
            got = t.phrases.get(pid)
            if got:
                cells[(i, j)] = (
                    got["latest"],
                    None,
                    f"{t.trainee} · {titles[pid]}：最近 {got['latest']:.0f} 分",
                )
    heat = charts.heatmap(
        [t.trainee for t in view.trainees], [titles[i] for i in ids], cells, "学员 × 用语：最近一次得分"
    )
    bars = charts.stacked_bars(
        [
            charts.Bar(
                p["title"],
                None if p["failing_pct"] is None else 100 - p["failing_pct"],
                None,
                p["failing_pct"],
                p["trainees"],
            )
            for p in view.phrases
            if p["trainees"]
        ],
        f"各用语：最近一次达到 {view.pass_score:.0f} 分的学员比例",
    )
    trend = charts.line_chart(view.trend, "全班各月练习平均得分") if view.trend else ""
    return render(
        request,
        "dashboard_training.html",
        viewer,
        t=view,
        titles=titles,
        ids=ids,
        heat=heat,
        bars=bars,
        trend=trend,
    )


# ---------------------------------------------------------------- device registry (admin)


def _registry_page(request: Request, viewer: Viewer, db: Session, error: str = "", status_code: int = 200):
    devices = db.execute(
        select(registry.Device, registry.Officer)
        .join(registry.Officer, registry.Officer.id == registry.Device.officer_id)
        .order_by(registry.Officer.unit, registry.Device.device_id)
    ).all()
    users = list(db.scalars(select(User).where(User.role == "officer").order_by(User.username)))
    return render(
        request,
        "admin_registry.html",
        viewer,
        status_code=status_code,
        devices=devices,
        officers=registry.officers(db),
        users=users,
        error=error,
    )


def _must_be_admin(viewer: Viewer) -> None:
    if not viewer.is_admin:
        raise HTTPException(status_code=403, detail="只有管理员可以执行此操作")


def _log(db: Session, viewer: Viewer, target: str, detail: str) -> None:
    audit_log.append(
        db, username=viewer.user.username, role="admin", action="registry_admin", target=target, detail=detail
    )


@router.get("/admin/registry")
def registry_page(request: Request, viewer: AdminViewer, db: DB):
    return _registry_page(request, viewer, db)


@router.post("/admin/registry/devices")
def registry_set_device(
    request: Request,
    viewer: CsrfViewer,
    db: DB,
    device_id: Annotated[str, Form()],
    name: Annotated[str, Form()] = "",
    badge_no: Annotated[str, Form()] = "",
    unit: Annotated[str, Form()] = "",
):
    _must_be_admin(viewer)
    try:
        registry.set_device(db, device_id, name, badge_no, unit)
    except registry.RegistryError as err:
        return _registry_page(request, viewer, db, error=str(err), status_code=400)
    relinked = registry.relink(db)
    _log(
        db,
        viewer,
        device_id.strip(),
        f"登记设备：{name.strip()} {badge_no.strip()} {unit.strip()}；关联录像 {relinked} 条",
    )
    return RedirectResponse("/admin/registry", status_code=303)


@router.post("/admin/registry/devices/{device_id}/delete")
def registry_delete_device(device_id: str, viewer: CsrfViewer, db: DB):
    _must_be_admin(viewer)
    device = db.get(registry.Device, device_id)
    if device is None:
        raise HTTPException(status_code=404, detail="设备不存在")
    db.delete(device)
    db.commit()
    relinked = registry.relink(db)
    _log(db, viewer, device_id, f"删除设备登记；关联录像变动 {relinked} 条")
    return RedirectResponse("/admin/registry", status_code=303)


@router.post("/admin/registry/import")
def registry_import(request: Request, viewer: CsrfViewer, db: DB, file: Annotated[UploadFile, File()]):
    _must_be_admin(viewer)
    name = file.filename or "CSV"
    raw = file.file.read(5_000_000)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("gb18030")  # Excel on Chinese Windows saves CSV in GBK
        except UnicodeDecodeError:
            return _registry_page(request, viewer, db, error=f"{name}：无法识别的文本编码", status_code=400)
    try:
        n = registry.import_csv(db, text, name)
    except registry.RegistryError as err:
        db.rollback()
        return _registry_page(request, viewer, db, error=str(err), status_code=400)
    _log(db, viewer, name, f"导入设备登记表 {n} 行")
    return RedirectResponse("/admin/registry", status_code=303)


@router.post("/admin/registry/officers/{oid}/user")
def registry_link_user(oid: int, viewer: CsrfViewer, db: DB, user_id: Annotated[str, Form()] = ""):
    """Link an officer-role account to a registry officer (it then sees that officer's figures only)."""
    _must_be_admin(viewer)
    officer = db.get(registry.Officer, oid)
    if officer is None:
        raise HTTPException(status_code=404, detail="警员不存在")
    user = db.get(User, int(user_id)) if user_id.isdigit() else None
    if user_id and (user is None or user.role != "officer"):
        raise HTTPException(status_code=400, detail="只能关联角色为“执法人员”的账号")
    if user is not None:
        for other in db.scalars(select(registry.Officer).where(registry.Officer.user_id == user.id)):
            other.user_id = None
        db.flush()
    officer.user_id = user.id if user else None
    db.commit()
    _log(db, viewer, officer.label, f"关联账号 {user.username if user else '（无）'}")
    return RedirectResponse("/admin/registry", status_code=303)
