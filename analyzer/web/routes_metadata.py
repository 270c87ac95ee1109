"""第十一条 pages: the recording's metadata form (prefilled, each value marked extracted or entered),
closing a review (refused while a required value is missing), and the metadata of the queue as CSV
or XLSX (rows of the recordings the user may view, 第十四条). Every change is in the access log."""

from __future__ import annotations

import csv
import io

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from analyzer.web import approval, audit_log, metadata
from analyzer.web.approval import Approved
from analyzer.web.db import Recording, utcnow
from analyzer.web.deps import DB, CsrfViewer, StaffViewer, Viewer, must_be_staff
from analyzer.web.routes_review import _log

router = APIRouter()


@router.post("/recordings/{rid}/metadata")
async def save_metadata(request: Request, rid: int, viewer: CsrfViewer, access: Approved, db: DB):
    must_be_staff(viewer, "填写音像资料信息")
    rec, grant = access.recording, access.request
    form = await request.form()
    values = {name: str(form.get(name) or "") for name, _t in metadata.FIELDS if name in form}
    meta = metadata.get(db, rec)
    if meta.closed_at is not None:
        raise HTTPException(status_code=409, detail="审阅已完成，音像资料信息不再修改")
    changed = metadata.enter(db, meta, values, viewer.user.username)
    if changed:
        _log(db, viewer, "metadata", rec, grant, detail="修改：" + "、".join(changed))
    return RedirectResponse(f"/recordings/{rid}#metadata", status_code=303)


@router.post("/recordings/{rid}/close")
def close_review(rid: int, viewer: CsrfViewer, access: Approved, db: DB):
    """审阅完成: only with every 第十一条 value present."""
    must_be_staff(viewer, "完成审阅")
    rec, grant = access.recording, access.request
    meta = metadata.get(db, rec)
    missing = meta.missing()
    if missing:
        raise HTTPException(
            status_code=400, detail="请先完善音像资料信息（第十一条）：" + "、".join(missing) + " 未填写"
        )
    if meta.closed_at is None:
        meta.closed_at, meta.closed_by = utcnow(), viewer.user.username
        db.commit()
        _log(db, viewer, "close_review", rec, grant, detail="审阅完成，音像资料信息齐全")
    return RedirectResponse(f"/recordings/{rid}#metadata", status_code=303)


def _export_rows(db: Session, viewer: Viewer, kind: str) -> list[dict]:
    """Rows only for the recordings this user holds an approved viewing request for (第十四条): the
    values name parties, places and cases. The export, and what it left out, is logged."""
    allowed = approval.approved_recording_ids(db, viewer.user.id)
    recs = list(db.scalars(select(Recording).order_by(Recording.id)))
    shown = [r for r in recs if r.id in allowed]
    audit_log.append(
        db,
        username=viewer.user.username,
        role=viewer.user.role,
        action="metadata_export",
        target=f"metadata.{kind}",
        detail=f"含录像 {', '.join(str(r.id) for r in shown) or '无'}；"
        f"未经批准查阅、未导出 {len(recs) - len(shown)} 条",
    )
    return metadata.rows_for_export(db, shown)


@router.get("/queue/metadata.csv")
def metadata_csv(viewer: StaffViewer, db: DB):
    rows = _export_rows(db, viewer, "csv")
    buf = io.StringIO()
    if rows:
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return Response(
        "\ufeff" + buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="metadata.csv"'},
    )


@router.get("/queue/metadata.xlsx")
def metadata_xlsx(viewer: StaffViewer, db: DB):
    from openpyxl import Workbook

    rows = _export_rows(db, viewer, "xlsx")
    wb = Workbook()
    ws = wb.active
    ws.title = "音像资料信息"
    if rows:
        ws.append(list(rows[0]))
        for row in rows:
            ws.append(list(row.values()))
    buf = io.BytesIO()
    wb.save(buf)
    return Response(
        buf.getvalue(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": 'attachment; filename="metadata.xlsx"'},
    )
