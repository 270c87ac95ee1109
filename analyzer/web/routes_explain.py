"""Written explanations (第十条): when recording truly could not continue, the officer explains in
writing. A reviewer attaches the explanation (text and/or a scanned PDF/image) to an interruption
finding; the scan is stored read-only with its SHA-256, re-verified before it is served, and the
finding then counts as explained rather than as a violation. Every step is in the access log.
"""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from analyzer.web.approval import Approved
from analyzer.web.db import Explanation, utcnow
from analyzer.web.deps import DB, CsrfViewer, StaffViewer, must_be_staff
from analyzer.web.jobs import load_output
from analyzer.web.review import EXPLAINABLE_CODES, keyed_findings, open_flags, recompute_final_score
from analyzer.web.routes_review import _log
from analyzer.web.storage import StorageError

router = APIRouter()
MAX_TEXT = 5000


@router.post("/recordings/{rid}/explanations")
def attach_explanation(
    request: Request,
    rid: int,
    finding_key: Annotated[str, Form()],
    viewer: CsrfViewer,
    access: Approved,
    db: DB,
    text: Annotated[str, Form()] = "",
    scan: Annotated[UploadFile | None, File()] = None,
):
    must_be_staff(viewer, "登记书面说明")
    rec, grant = access.recording, access.request
    output = load_output(rec.result_dir)
    findings = dict(keyed_findings(output.recording)) if output else {}
    finding = findings.get(finding_key)
    if finding is None:
        raise HTTPException(status_code=400, detail="该问题不存在")
    if finding.get("code") not in EXPLAINABLE_CODES:
        raise HTTPException(status_code=400, detail="只有录制中断类问题可以附书面说明（第十条）")
    has_file = scan is not None and bool(scan.filename)
    if not text.strip() and not has_file:
        raise HTTPException(status_code=400, detail="请填写书面说明或上传扫描件")
    entry = Explanation(
        recording_id=rid,
        finding_key=finding_key,
        text=text.strip()[:MAX_TEXT],
        author_id=viewer.user.id,
        created_at=utcnow(),
    )
    if has_file:
        assert scan is not None
        try:
            saved = request.app.state.documents.save_document(scan.file, scan.filename or "")
        except StorageError as err:
            raise HTTPException(status_code=400, detail=str(err)) from None
        entry.file_path, entry.file_sha256, entry.file_size = str(saved.path), saved.sha256, saved.size_bytes
        entry.file_name = Path(scan.filename or "").name[:255]
        entry.file_mime = mimetypes.guess_type(entry.file_name)[0] or "application/octet-stream"
    db.add(entry)
    db.commit()
    if output is not None:
        recompute_final_score(db, rec, output.recording)
        rec.flags_json = json.dumps(open_flags(db, rec, output.recording))
        db.commit()
    scan_note = f"；扫描件 {entry.file_name} sha256={entry.file_sha256}" if entry.file_sha256 else ""
    _log(db, viewer, "explanation", rec, grant, target=finding_key, detail=f"书面说明 #{entry.id}{scan_note}")
    return RedirectResponse(f"/recordings/{rid}#findings", status_code=303)


@router.get("/recordings/{rid}/explanations/{eid}/scan")
def explanation_scan(request: Request, rid: int, eid: int, viewer: StaffViewer, access: Approved, db: DB):
    """The stored scan, re-hashed before it is served (a changed file is refused and logged)."""
    rec, grant = access.recording, access.request
    entry = db.get(Explanation, eid)
    if entry is None or entry.recording_id != rid or not entry.file_path:
        raise HTTPException(status_code=404, detail="扫描件不存在")
    try:
        fh = request.app.state.documents.open_verified(entry.file_path, entry.file_sha256, use_cache=False)
    except (StorageError, OSError):
        detail = "书面说明扫描件校验不符"
        _log(db, viewer, "integrity_alarm", rec, grant, target=entry.file_name, detail=detail)
        raise HTTPException(
            status_code=409, detail="完整性告警：书面说明扫描件的 SHA-256 与登记时不符"
        ) from None
    with fh:
        content = fh.read()  # a scan is at most MAX_DOCUMENT_BYTES
    _log(db, viewer, "view", rec, grant, target=entry.file_name, detail=f"书面说明 #{entry.id} 扫描件")
    return Response(
        content,
        media_type=entry.file_mime or "application/octet-stream",
        headers={
            "Content-Disposition": f"attachment; filename*=utf-8''{quote(entry.file_name)}",
            "Cache-Control": "no-store",
        },
    )
