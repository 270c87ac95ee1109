"""第十一条 pages: the recording's metadata form (prefilled, each value marked extracted or entered),
closing a review (refused while a required value is missing), and the metadata of the queue as CSV
or XLSX. Every change is in the access log."""

from __future__ import annotations

import csv
import io

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from analyzer.web import metadata
from analyzer.web.db import Recording, utcnow
from analyzer.web.deps import DB, CsrfViewer, StaffViewer, must_be_staff
from analyzer.web.routes_review import _granted, _log, _recording

router = APIRouter()


@router.post("/recordings/{rid}/metadata")
async def save_metadata(request: Request, rid: int, viewer: CsrfViewer, db: DB):
    must_be_staff(viewer, "填写音像资料信息")
    rec = _recording(db, rid)
    grant = _granted(db, viewer, rid)
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
def close_review(rid: int, viewer: CsrfViewer, db: DB):
    """审阅完成: only with every 第十一条 value present."""
    must_be_staff(viewer, "完成审阅")
    rec = _recording(db, rid)
    grant = _granted(db, viewer, rid)
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


def _export_rows(db) -> list[dict]:
    recs = list(db.scalars(select(Recording).order_by(Recording.id)))
    return metadata.rows_for_export(db, recs)


@router.get("/queue/metadata.csv")
def metadata_csv(viewer: StaffViewer, db: DB):
    rows = _export_rows(db)
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

    rows = _export_rows(db)
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
