"""Reviewer pages: import, queue, recording page (player, timeline, findings, decisions), media with
HTTP Range, viewing requests and access log (第十四条), evidence export (第十三条), masking (第十六条).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import time
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, BinaryIO
from urllib.parse import quote

from fastapi import APIRouter, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from analyzer.report import GAP_TITLES
from analyzer.web import approval, audit_log, metadata, registry, speaker_review
from analyzer.web.approval import Approved, ApprovedPage
from analyzer.web.dashboard import Scope, index_recording, queue_select
from analyzer.web.db import REQUEST_STATES, Decision, MediaFile, Recording, ViewingRequest
from analyzer.web.deps import DB, CsrfViewer, ReaderViewer, StaffViewer, Viewer, must_be_staff, render
from analyzer.web.evidence import build_evidence_zip
from analyzer.web.jobs import AnalysisOutput, load_output, render_report_html, rewrite_paths
from analyzer.web.privacy import mask_recording, mask_text
from analyzer.web.review import (
    ACTIONS,
    EXPLAINABLE_CODES,
    explanations,
    finding_points,
    keyed_findings,
    latest_decisions,
    record_decision,
)
from analyzer.web.routes_admin import default_guide
from analyzer.web.storage import (
    OriginalStore,
    StorageError,
    StoredFile,
    UploadTooLarge,
    list_media,
    mime_for,
    resolve_inside,
    safe_upload_name,
)
from analyzer.web.uploads import fmt_bytes, remaining_quota

router = APIRouter()

# Labels of the queue's filters (UI text); codes are the report's stable finding codes.
FLAG_FILTERS = {
    "opening_missing": "缺少开场说明",
    "interruption_unexplained": "中断未说明原因",
    "gap": "存在空白/中断",
    "opening_incomplete": "开场说明不完整",
    "rights_notice_missing": "未告知权利",
    "low_confidence_audio": "音频难以辨识",
    "stored_late": "超过24小时才存储",
}
PURPOSES = ("案件审核", "执法监督检查", "证据调取", "投诉核查", "培训（经批准）", "其他")
SORTS = {
    "created": Recording.id,
    "score": Recording.final_score,
    "title": Recording.title,
    "duration": Recording.duration_s,
    "status": Recording.status,
}
PLAY_LOG_WINDOW_S = 300.0


def _recording(db: Session, rid: int) -> Recording:
    rec = db.get(Recording, rid)
    if rec is None:
        raise HTTPException(status_code=404, detail="录像不存在")
    return rec


def _log(
    db: Session,
    viewer: Viewer,
    action: str,
    rec: Recording | None,
    grant: ViewingRequest | None = None,
    target: str = "",
    detail: str = "",
) -> None:
    audit_log.append(
        db,
        username=viewer.user.username,
        role=viewer.user.role,
        action=action,
        recording_id=rec.id if rec else None,
        target=target or (rec.title if rec else ""),
        purpose=approval.log_purpose(grant),
        detail=detail,
    )


@lru_cache(maxsize=8)
def guide_phrases(guide: str) -> dict[str, dict[str, Any]]:
    """phrase id -> title and first standard wording, for labels; empty when the guide cannot load."""
    try:
        from analyzer.guide import load_guide

        g = load_guide(guide or None)
    except Exception:
        return {}
    return {
        p.id: {
            "title": p.title,
            "standard": p.display() if p.standards else "",
            "slots": {s.name: s.title or s.name for s in p.slots},
        }
        for p in g.phrases
    }


# ---------------------------------------------------------------- import


@router.get("/import")
def import_form(request: Request, viewer: StaffViewer):
    return render(request, "import.html", viewer, roots=request.app.state.import_roots, error="")


def _new_recording(
    db: Session, request: Request, viewer: Viewer, title: str, is_case: bool, files: list[MediaFile]
) -> Recording:
    rec = Recording(
        title=title[:255],
        is_case=is_case,
        guide=default_guide(request, db),
        created_by=viewer.user.id,
        files=files,
    )
    db.add(rec)
    return rec


def _commit_imports(
    db: Session,
    request: Request,
    viewer: Viewer,
    created: list[Recording],
    source: str = "",
    entered: registry.EnteredMeta | None = None,
) -> RedirectResponse:
    """All recordings of one import in one transaction, then who recorded each (device registry or
    what the importer entered), their log entries and the worker's wake-up. Nothing is visible to
    the worker before the recorder rows are there: it adds a recording's row when it indexes one."""
    db.flush()
    for rec in created:
        registry.attach(db, rec, entered)
    for rec in created:  # 第十一条: capture and storage time, stored more than 24 hours late
        if metadata.on_import(db, rec, 8.0).stored_late:
            rec.flags_json = json.dumps([*rec.flags, "stored_late"])
    db.commit()
    for rec in created:
        detail = "; ".join(f"{f.original_name} sha256={f.sha256}" for f in rec.files)
        _log(db, viewer, "import", rec, detail=detail + (f"；登记自 {source}" if source else ""))
    request.app.state.worker.notify()
    return RedirectResponse("/queue?imported=" + ",".join(str(r.id) for r in created), status_code=303)


def _discard(db: Session, store: OriginalStore, saved: list[StoredFile]) -> None:
    """Undo the store writes of a failed import (a file another recording uses stays)."""
    db.rollback()
    for s in saved:
        if db.scalar(select(MediaFile.id).where(MediaFile.stored_path == str(s.path)).limit(1)) is None:
            store.discard(s)


def _import_error(request: Request, viewer: Viewer, status: int, message: str):
    return render(
        request,
        "import.html",
        viewer,
        status_code=status,
        roots=request.app.state.import_roots,
        error=message,
    )


@router.post("/import/upload")
def import_upload(
    request: Request,
    files: Annotated[list[UploadFile], File()],
    viewer: CsrfViewer,
    db: DB,
    title: Annotated[str, Form()] = "",
    as_case: Annotated[str, Form()] = "",
    device_id: Annotated[str, Form()] = "",
    officer_name: Annotated[str, Form()] = "",
    badge_no: Annotated[str, Form()] = "",
    unit: Annotated[str, Form()] = "",
):
    must_be_staff(viewer, "导入")
    entered = registry.EnteredMeta(device_id, officer_name, badge_no, unit)
    store: OriginalStore = request.app.state.store
    config = request.app.state.config
    left = remaining_quota(db, viewer.user.id, request.app.state.data_dir, config.user_quota_bytes)
    saved: list[StoredFile] = []
    stored: list[MediaFile] = []
    try:
        for i, up in enumerate(files):
            name = safe_upload_name(up.filename or "")
            limit, too_large = (
                config.max_upload_bytes,
                f"文件过大（每个文件最多 {fmt_bytes(config.max_upload_bytes)}）",
            )
            if left is not None and left - sum(s.size_bytes for s in saved) < limit:
                limit = left - sum(s.size_bytes for s in saved)
                too_large = f"超出个人存储配额（剩余 {fmt_bytes(max(0, left))}），请联系管理员"
            item = store.save_upload(up.file, name, max_bytes=limit, too_large=too_large)
            saved.append(item)
            stored.append(
                MediaFile(
                    position=i,
                    stored_path=str(item.path),
                    original_name=name,
                    sha256=item.sha256,
                    size_bytes=item.size_bytes,
                    mime=mime_for(item.path, name),
                    uploaded=True,
                )
            )
        created: list[Recording] = []
        if as_case and len(stored) > 1:
            created.append(
                _new_recording(db, request, viewer, title or stored[0].original_name, True, stored)
            )
        else:
            for m in stored:
                m.position = 0
                created.append(_new_recording(db, request, viewer, title or m.original_name, False, [m]))
        return _commit_imports(db, request, viewer, created, entered=entered)
    except StorageError as err:
        _discard(db, store, saved)
        return _import_error(request, viewer, 413 if isinstance(err, UploadTooLarge) else 400, str(err))
    except BaseException:
        _discard(db, store, saved)
        raise


@router.post("/import/folder")
def import_folder(
    request: Request,
    folder: Annotated[str, Form()],
    viewer: CsrfViewer,
    db: DB,
    mode: Annotated[str, Form()] = "case",
):
    """Register the files of a folder inside the configured import roots: each is copied into the
    read-only store (the folder is only read) and served from there; a symlink is refused."""
    if viewer.user.role != "admin":
        raise HTTPException(status_code=403, detail="只有管理员可以登记服务器上的文件夹")
    roots: list[Path] = request.app.state.import_roots
    resolved, root = None, None
    for root in roots:
        try:
            resolved = resolve_inside(root, folder)
            break
        except StorageError:
            continue
    if resolved is None or not resolved.is_dir():
        reason = "不在允许导入的目录内" if resolved is None else "不是文件夹"
        return render(
            request, "import.html", viewer, status_code=400, roots=roots, error=f"{folder}：{reason}"
        )
    groups: list[tuple[str, list[Path]]] = []
    if mode == "subdirs":
        groups = [
            (d.name, list_media(d)) for d in sorted(resolved.iterdir()) if d.is_dir() and not d.is_symlink()
        ]
    elif mode == "files":  # one recording per file, except one device's split recording (one case)
        from analyzer.grouping import group_paths
        from analyzer.guide import GuideError, load_guide

        try:
            guide = load_guide(default_guide(request, db) or None)
        except GuideError:  # the analysis reports the guide; grouping then uses its fallback settings
            guide = None
        groups = []
        for paths, why in group_paths([str(p) for p in list_media(resolved)], guide):
            title = Path(paths[0]).name if why is None else f"{Path(paths[0]).name} 等 {len(paths)} 个文件"
            groups.append((title, [Path(p) for p in paths]))
    else:
        groups = [(resolved.name, list_media(resolved))]
    groups = [(name, paths) for name, paths in groups if paths]
    if not groups:
        return render(
            request,
            "import.html",
            viewer,
            status_code=400,
            roots=roots,
            error=f"{folder}：没有可分析的媒体文件",
        )
    data_dir: Path = request.app.state.data_dir
    store: OriginalStore = request.app.state.store
    saved: list[StoredFile] = []
    created: list[Recording] = []
    try:
        for name, paths in groups:
            media = []
            for i, p in enumerate(paths):
                item = store.ingest(p, data_dir, [data_dir / "inbox"])
                saved.append(item)
                media.append(
                    MediaFile(
                        position=i,
                        stored_path=str(item.path),
                        original_name=p.name,
                        sha256=item.sha256,
                        size_bytes=item.size_bytes,
                        mime=mime_for(item.path, p.name),
                        uploaded=False,
                    )
                )
            created.append(_new_recording(db, request, viewer, name, len(media) > 1, media))
        return _commit_imports(db, request, viewer, created, source=folder)
    except StorageError as err:
        _discard(db, store, saved)
        return _import_error(request, viewer, 400, f"{folder}：{err}")
    except BaseException:
        _discard(db, store, saved)
        raise


# ---------------------------------------------------------------- queue


@router.get("/queue")
def queue(
    request: Request,
    viewer: ReaderViewer,
    db: DB,
    flag: Annotated[list[str] | None, Query()] = None,
    score_below: str = "",
    status: str = "",
    q: str = "",
    sort: str = "created",
    dir: str = "desc",
):
    flag = flag or []
    column = SORTS.get(sort, Recording.id)
    order = column.asc() if dir == "asc" else column.desc()
    own_only = viewer.user.role == "officer"  # only the recordings of the officer linked to this user
    own = registry.officer_of_user(db, viewer.user.id) if own_only else None
    scope = Scope.from_params(request.query_params, officer_id=(own.id if own else -1) if own_only else None)
    query = select(Recording).order_by(order.nulls_last(), Recording.id.desc())
    if scope.is_set:  # period, unit, officer, phrase: the same conditions as the dashboard's figures
        query = query.where(Recording.id.in_(queue_select(scope)))
    rows = list(db.scalars(query))
    try:
        below = float(score_below) if score_below.strip() else None
    except ValueError:
        below = None
    if below is not None:
        rows = [r for r in rows if r.final_score is not None and r.final_score < below]
    if flag:
        rows = [r for r in rows if all(code in r.flags for code in flag)]
    if status:
        rows = [r for r in rows if r.status == status]
    if q.strip():
        rows = [r for r in rows if q.strip().lower() in r.title.lower()]
    who = registry.who_recorded(db, [r.id for r in rows])
    staff = viewer.user.role in approval.REQUESTERS
    return render(
        request,
        "queue.html",
        viewer,
        rows=rows,
        approved=approval.approved_recording_ids(db, viewer.user.id) if staff else set(),
        pending_ids=approval.pending_recording_ids(db, viewer.user.id) if staff else set(),
        flags=flag,
        score_below=score_below,
        status=status,
        q=q,
        sort=sort,
        dir=dir,
        flag_filters=FLAG_FILTERS,
        scope=scope,
        who=who,
        units=registry.units(db),
        officers=[own] if own else ([] if own_only else registry.officers(db)),
    )


@router.get("/api/queue")
def queue_status(viewer: StaffViewer, db: DB):
    rows = db.scalars(select(Recording).order_by(Recording.id))
    return JSONResponse(
        [
            {
                "id": r.id,
                "status": r.status,
                "progress": round(r.progress, 3),
                "stage": r.stage,
                "score": r.final_score,
                "flags": r.flags,
                "error": r.error,
            }
            for r in rows
        ]
    )


# ---------------------------------------------------------------- viewing requests (第十四条)


def _request_page(
    request: Request, viewer: Viewer, db: Session, rec: Recording, status: int = 200, error: str = ""
):
    mine = approval.requests_of(db, viewer.user.id, rec.id)
    return render(
        request,
        "purpose.html",
        viewer,
        status_code=status,
        rec=rec,
        purposes=PURPOSES,
        requests=mine,
        pending=next((r for r in mine if r.state == "pending"), None),
        active=approval.active_request(db, viewer.user.id, rec.id),
        states=REQUEST_STATES,
        valid_hours=approval.settings_of(request).valid_hours,
        error=error,
    )


@router.get("/recordings/{rid}/purpose")
def purpose_form(request: Request, rid: int, viewer: StaffViewer, db: DB):
    """The viewer's requests for this recording, and the form to file one."""
    return _request_page(request, viewer, db, _recording(db, rid))


@router.post("/recordings/{rid}/purpose")
def purpose_submit(
    request: Request,
    rid: int,
    purpose: Annotated[str, Form()],
    viewer: CsrfViewer,
    db: DB,
    purpose_detail: Annotated[str, Form()] = "",
):
    """File a viewing request; the recording opens once an approver approves it."""
    must_be_staff(viewer, "申请查阅录像")
    rec = _recording(db, rid)
    purpose, detail = purpose.strip(), purpose_detail.strip()
    if purpose not in PURPOSES or (purpose == "其他" and not detail):
        return _request_page(request, viewer, db, rec, 400, "请选择查阅事由（选“其他”时须填写事由说明）")
    try:
        approval.file_request(db, viewer.user, rec, purpose, detail)
    except approval.ApprovalError as err:
        return _request_page(request, viewer, db, rec, err.status_code, str(err))
    return RedirectResponse(f"/recordings/{rid}/purpose", status_code=303)


@router.post("/recordings/{rid}/purpose/{qid}/withdraw")
def purpose_withdraw(rid: int, qid: int, viewer: CsrfViewer, db: DB):
    req = db.get(ViewingRequest, qid)
    if req is None or req.recording_id != rid:
        raise HTTPException(status_code=404, detail="查阅申请不存在")
    try:
        approval.withdraw(db, viewer.user, req)
    except approval.ApprovalError as err:
        raise HTTPException(status_code=err.status_code, detail=str(err)) from None
    return RedirectResponse(f"/recordings/{rid}/purpose", status_code=303)


# ---------------------------------------------------------------- integrity (第十二条)


def verify_files(request: Request, db: Session, viewer: Viewer, rec: Recording) -> list[str]:
    """Re-hash the originals in the store (an unchanged inode verified before is not read again); a
    mismatch raises the recording's alarm and is logged. Returns the problems."""
    store: OriginalStore = request.app.state.store
    problems = []
    for f in rec.files:
        reason = store.verify(f.stored_path, f.sha256)
        if reason:
            problems.append(f"{f.original_name}：{reason}（入库时 SHA-256 {f.sha256[:16]}…）")
    set_alarm(db, viewer, rec, problems)
    return problems


def set_alarm(
    db: Session, viewer: Viewer, rec: Recording, problems: list[str], *, clear: bool = True
) -> None:
    alarm = "；".join(problems)
    if alarm and alarm != rec.integrity_alarm:
        rec.integrity_alarm = alarm
        db.commit()
        _log(db, viewer, "integrity_alarm", rec, detail=alarm)
    elif not alarm and rec.integrity_alarm and clear:
        rec.integrity_alarm = ""
        db.commit()


# ---------------------------------------------------------------- recording page


def _case_files(rec: Recording, data: dict[str, Any]) -> list[dict[str, Any]]:
    """Player sources with their offsets on the case timeline (from the report when it has them)."""
    by_path = {}
    for entry in data.get("files") or []:
        if isinstance(entry, dict) and entry.get("path"):
            by_path[str(Path(entry["path"]).resolve())] = entry
    files, offset = [], 0.0
    for f in rec.files:
        entry = by_path.get(str(Path(f.stored_path).resolve()), {})
        duration = entry.get("duration_s")
        start = entry.get("offset_s", offset)
        files.append(
            {
                "pos": f.position,
                "name": f.original_name,
                "mime": f.mime,
                "offset_s": float(start or 0.0),
                "duration_s": duration,
                "video": entry.get("has_video", f.mime.startswith("video")),
                "url": f"/recordings/{rec.id}/media/{f.position}",
                "sha256": f.sha256,
            }
        )
        offset = float(start or 0.0) + float(duration or 0.0)
    if len(files) == 1 and files[0]["duration_s"] is None:
        files[0]["duration_s"] = data.get("duration_s")
    return sorted(files, key=lambda f: f["offset_s"])  # the player maps case time by ascending offset


def _timeline(
    data: dict[str, Any], keyed: list[tuple[str, dict]], total: float, phrases: dict[str, dict[str, str]]
) -> list[dict[str, Any]]:
    total = max(total, 0.001)

    def place(start: float | None, end: float | None) -> tuple[float, float]:
        s = max(0.0, min(float(start or 0.0), total))
        e = max(s, min(float(end if end is not None else s), total))
        return 100 * s / total, max(0.4, 100 * (e - s) / total)

    items = []
    for p in data.get("phrases") or []:
        if p.get("status") in ("present", "partial") and p.get("start_s") is not None:
            left, width = place(p["start_s"], p.get("end_s"))
            title = p.get("title") or phrases.get(p.get("id"), {}).get("title", p.get("id"))
            items.append(
                {
                    "kind": "phrase",
                    "cls": p["status"],
                    "left": left,
                    "width": width,
                    "t": p["start_s"],
                    "label": f"{title}（{p.get('score', 0):.0f}分）",
                }
            )
    for g in data.get("gaps") or []:
        left, width = place(g.get("start_s"), g.get("end_s"))
        items.append(
            {
                "kind": "gap",
                "cls": g.get("kind", "gap"),
                "left": left,
                "width": width,
                "t": g.get("start_s") or 0.0,
                "label": f"{GAP_TITLES.get(g.get('kind'), g.get('kind'))} {g.get('duration_s') or 0:.1f} 秒",
            }
        )
    for key, f in keyed:
        if f.get("start_s") is not None:
            left, _w = place(f["start_s"], None)
            items.append(
                {
                    "kind": "finding",
                    "cls": f.get("severity", "info"),
                    "left": left,
                    "width": 0.6,
                    "t": f["start_s"],
                    "label": f.get("message", f.get("code")),
                    "key": key,
                    "seek_file": f.get("seek_file"),
                    "seek_local": f.get("seek_local"),
                }
            )
    return items


def _transcript(segments: list[dict], data: dict[str, Any], phrases: dict[str, dict[str, str]]) -> list[dict]:
    hits = [
        (float(p["start_s"]), float(p.get("end_s") or p["start_s"]), p)
        for p in data.get("phrases") or []
        if p.get("status") in ("present", "partial") and p.get("start_s") is not None
    ]
    rows = []
    for s in segments:
        start, end = float(s.get("start_s") or 0.0), float(s.get("end_s") or 0.0)
        labels = [
            p.get("title") or phrases.get(p.get("id"), {}).get("title", p.get("id"))
            for hs, he, p in hits
            if hs < end and he > start
        ]
        rows.append(
            {
                "start_s": start,
                "end_s": end,
                "text": s.get("text", ""),
                "phrases": labels,
                **{k: s.get(k) for k in ("speaker", "speaker_id", "speaker_label", "speaker_confidence")},
            }
        )
    return rows


REQUIRED_TITLES = {"always": "始终必需", "profile": "本类执法必需", "triggered": "因相关环节而必需"}


def _phrase_rows(data: dict[str, Any], phrases: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Per-phrase rows; `relevant` is False for phrases neither said nor required (shown folded)."""
    rows = []
    for p in data.get("phrases") or []:
        info = phrases.get(p.get("id"), {})
        slot_titles = info.get("slots", {})
        because = p.get("required_because") or ""
        rows.append(
            {
                **p,
                "title": p.get("title") or info.get("title", p.get("id")),
                "standard_text": p.get("standard") or info.get("standard", ""),
                "diff": p.get("diff") or [],
                "missing_slot_titles": [slot_titles.get(s, s) for s in p.get("missing_slots") or []],
                "required_title": REQUIRED_TITLES.get(because, because),
                "relevant": bool(p.get("required")) or p.get("status") != "absent",
            }
        )
    return rows


def _player_index(rec: Recording, files: list[dict[str, Any]]) -> dict[str, int]:
    """Stored path of each original -> index of its player on the page."""
    index_of_pos = {f["pos"]: i for i, f in enumerate(files)}
    return {str(Path(m.stored_path).resolve()): index_of_pos[m.position] for m in rec.files}


def _seek_target(item: dict[str, Any], player_of: dict[str, int]) -> dict[str, Any]:
    """Where a click plays: the file and time the report names (a file gap: where recording resumed)."""
    if not item.get("file") or item.get("file_start_s") is None:
        return {}
    index = player_of.get(str(Path(item["file"]).resolve()))
    return {} if index is None else {"seek_file": index, "seek_local": float(item["file_start_s"])}


@router.get("/recordings/{rid}")
def recording_page(request: Request, rid: int, viewer: StaffViewer, access: ApprovedPage, db: DB):
    rec, grant = access.recording, access.request
    verify_files(request, db, viewer, rec)
    _log(db, viewer, "view", rec, grant)
    output: AnalysisOutput | None = load_output(rec.result_dir) if rec.status == "done" else None
    data = output.recording if output else {}
    if data and not grant.unmasked:
        data = mask_recording(data)
    segments = (data.get("transcript") or {}).get("segments") or []
    phrases = guide_phrases(rec.guide)
    keyed = keyed_findings(data)
    points = finding_points(data)
    decisions = latest_decisions(db, rec)
    explained = explanations(db, rec)
    history = list(
        db.scalars(select(Decision).where(Decision.recording_id == rid).order_by(Decision.id.desc()))
    )
    record = metadata.prefill(db, rec, output.recording if output else None)
    files = _case_files(rec, data)
    who = registry.who_recorded(db, [rec.id]).get(rec.id)
    total = float(data.get("duration_s") or 0.0) or sum(float(f["duration_s"] or 0) for f in files)
    player_of = _player_index(rec, files)
    keyed = [(k, {**f, **_seek_target(f, player_of)}) for k, f in keyed]
    return render(
        request,
        "recording.html",
        viewer,
        rec=rec,
        who=who,
        record=record,
        record_fields=metadata.FIELDS,
        data=data,
        grant=grant,
        files=files,
        total=total,
        findings=[
            {
                "key": k,
                **f,
                "points": points.get(k, 0.0),
                "decision": decisions.get(k),
                "explanations": explained.get(k, []),
                "explainable": f.get("code") in EXPLAINABLE_CODES,
            }
            for k, f in keyed
        ],
        timeline=_timeline(data, keyed, total, phrases),
        transcript=_transcript(segments, data, phrases),
        phrase_rows=_phrase_rows(data, phrases),
        history=history,
        actions=ACTIONS,
        log=audit_log.entries_as_dicts(db, rid)[-50:] if viewer.is_admin else [],
        mask_comments=not grant.unmasked,
        files_json=json.dumps(files, ensure_ascii=False),
        **speaker_review.context(db, rec, data),
    )


@router.get("/recordings/{rid}/report.html")
def recording_report(
    request: Request, rid: int, viewer: StaffViewer, access: Approved, db: DB, original: bool = False
):
    """The pipeline's own HTML report (masked unless an admin unmasked it under this request); with
    `original`, the analysis's own before a reviewer's speaker corrections."""
    rec, grant = access.recording, access.request
    output = load_output(rec.result_dir, original=original)
    if output is None:
        raise HTTPException(status_code=404, detail="尚无分析报告")
    _log(db, viewer, "view", rec, grant, detail="HTML 报告")
    data = output.recording if grant.unmasked else mask_recording(output.recording)
    urls = {f.stored_path: f"/recordings/{rid}/media/{f.position}/{f.original_name}" for f in rec.files}
    html = render_report_html(output, rewrite_paths(data, urls), f"/recordings/{rid}/report.html")
    return HTMLResponse(html, headers={"Content-Security-Policy": report_csp(html)})


def report_csp(html: str) -> str:
    """The standalone report carries its own inline script and styles (it must work as one file in
    an evidence bundle): exactly its own scripts may run, by hash; nothing else."""
    hashes = [
        base64.b64encode(hashlib.sha256(m.group(1).encode("utf-8")).digest()).decode()
        for m in re.finditer(r"<script>(.*?)</script>", html, flags=re.S)
    ]
    scripts = " ".join(f"'sha256-{h}'" for h in hashes) or "'none'"
    return (
        f"default-src 'none'; script-src {scripts}; style-src 'unsafe-inline'; img-src 'self' data:; "
        "media-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


@router.get("/recordings/{rid}/media/{pos}")
@router.get("/recordings/{rid}/media/{pos}/{name}")
def media(
    request: Request, rid: int, pos: int, viewer: StaffViewer, access: Approved, db: DB, name: str = ""
):
    """The original, with HTTP Range (seeking); re-verified (hash cached a minute) and logged as a play."""
    rec, grant = access.recording, access.request
    f = next((m for m in rec.files if m.position == pos), None)
    if f is None:
        raise HTTPException(status_code=404, detail="文件不存在")
    store: OriginalStore = request.app.state.store
    try:
        fh = store.open_verified(f.stored_path, f.sha256)
    except (StorageError, OSError) as err:
        reason = str(err) if isinstance(err, StorageError) else "原始文件不可读"
        set_alarm(db, viewer, rec, [f"{f.original_name}：{reason}（入库时 SHA-256 {f.sha256[:16]}…）"])
        raise HTTPException(
            status_code=409, detail="完整性告警：原始文件的 SHA-256 与入库时不符，已停止播放并记录"
        ) from None
    plays: dict = request.app.state.play_log
    key = (viewer.session.id, rid, pos)
    if time.monotonic() - plays.get(key, -1e9) > PLAY_LOG_WINDOW_S:
        plays[key] = time.monotonic()
        _log(
            db,
            viewer,
            "play",
            rec,
            grant,
            target=f.original_name,
            detail=request.headers.get("range", "全部"),
        )
    return ranged_response(fh, f.mime, f.original_name, request.headers.get("range"))


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _stream(fh: BinaryIO, start: int, length: int) -> Iterator[bytes]:
    """`length` bytes from `start` of the open (already verified) file, then the file is closed."""
    try:
        fh.seek(start)
        while length > 0:
            chunk = fh.read(min(length, 1 << 20))
            if not chunk:
                break
            length -= len(chunk)
            yield chunk
    finally:
        fh.close()


def ranged_response(fh: BinaryIO, mime: str, name: str, range_header: str | None) -> Response:
    """The open file, whole or one byte range (RFC 9110: several ranges may be answered with the whole)."""
    size = os.fstat(fh.fileno()).st_size
    headers = {
        "Accept-Ranges": "bytes",
        "Cache-Control": "no-store",
        "Content-Disposition": f"inline; filename*=utf-8''{quote(name)}",
    }
    start, end, status = 0, size - 1, 200
    match = _RANGE.match((range_header or "").strip())
    if match and (match.group(1) or match.group(2)):
        first, last = match.groups()
        if first:
            start, end = int(first), min(int(last), size - 1) if last else size - 1
        else:
            start, end = max(0, size - int(last)), size - 1
        if start > end or start >= size:
            fh.close()
            return Response(status_code=416, headers={"Content-Range": f"bytes */{size}"})
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    headers["Content-Length"] = str(end - start + 1)
    return StreamingResponse(
        _stream(fh, start, end - start + 1), status_code=status, media_type=mime, headers=headers
    )


# ---------------------------------------------------------------- decisions


@router.post("/recordings/{rid}/decisions")
def decide(
    request: Request,
    rid: int,
    finding_key: Annotated[str, Form()],
    action: Annotated[str, Form()],
    viewer: CsrfViewer,
    access: Approved,
    db: DB,
    comment: Annotated[str, Form()] = "",
):
    must_be_staff(viewer, "审阅")
    rec, grant = access.recording, access.request
    output = load_output(rec.result_dir)
    if output is None or action not in ACTIONS:
        raise HTTPException(status_code=400, detail="无效的审阅决定")
    if finding_key not in dict(keyed_findings(output.recording)):
        raise HTTPException(status_code=400, detail="该问题不存在")
    rec = record_decision(
        db, rid, output.recording, finding_key, action, comment.strip()[:2000], viewer.user.id
    )
    index_recording(db, rec, output.recording)
    _log(
        db,
        viewer,
        "decision",
        rec,
        grant,
        target=finding_key,
        detail=f"{ACTIONS[action]} {mask_text(comment.strip()[:200])}",
    )
    return RedirectResponse(f"/recordings/{rid}#findings", status_code=303)


# ---------------------------------------------------------------- unmask and export


@router.post("/recordings/{rid}/unmask")
def unmask(
    request: Request,
    rid: int,
    viewer: CsrfViewer,
    access: Approved,
    db: DB,
    reason: Annotated[str, Form()] = "",
):
    if not viewer.is_admin:
        raise HTTPException(status_code=403, detail="只有管理员可以查看未脱敏内容")
    rec, grant = access.recording, access.request
    if not reason.strip():
        raise HTTPException(status_code=400, detail="请填写查看未脱敏内容的理由")
    grant.unmasked = True
    db.commit()
    _log(db, viewer, "unmask", rec, grant, detail=reason.strip()[:500])
    return RedirectResponse(f"/recordings/{rid}", status_code=303)


@router.post("/recordings/{rid}/export")
def export(
    request: Request,
    rid: int,
    viewer: CsrfViewer,
    access: Approved,
    db: DB,
    unmasked: Annotated[str, Form()] = "",
    unmask_reason: Annotated[str, Form()] = "",
):
    must_be_staff(viewer, "导出")
    rec, grant = access.recording, access.request
    want_unmasked = bool(unmasked) and viewer.is_admin
    if want_unmasked:
        reason = unmask_reason.strip()[:500]
        if not reason:
            raise HTTPException(status_code=400, detail="不脱敏导出须填写理由")
        _log(db, viewer, "unmask", rec, grant, detail=f"不脱敏导出：{reason}")
    output = load_output(rec.result_dir)
    decisions = list(db.scalars(select(Decision).where(Decision.recording_id == rid).order_by(Decision.id)))
    store: OriginalStore = request.app.state.store
    bundle = build_evidence_zip(
        request.app.state.data_dir / "tmp",
        rec,
        output,
        decisions,
        viewer.user,
        grant,
        unmasked=want_unmasked,
        open_original=lambda f: store.open(f.stored_path, f.sha256),
        explanations=[e for rows in explanations(db, rec).values() for e in rows],
        metadata=metadata.prefill(db, rec, output.recording if output else None).as_dict(),
        **speaker_review.evidence(db, rec),
    )
    try:
        set_alarm(db, viewer, rec, bundle.problems)
        _log(
            db,
            viewer,
            "export",
            rec,
            grant,
            target=bundle.name,
            detail=(f"未脱敏（理由：{unmask_reason.strip()[:500]}）" if want_unmasked else "已脱敏")
            + (f"；完整性告警，原始文件未包含：{'；'.join(bundle.problems)}" if bundle.problems else ""),
        )
    except BaseException:
        bundle.file.close()
        raise
    return StreamingResponse(
        _stream(bundle.file, 0, bundle.size),
        media_type="application/zip",
        headers={
            "Content-Length": str(bundle.size),
            "Content-Disposition": f"attachment; filename*=utf-8''{quote(bundle.name)}",
        },
    )


@router.post("/recordings/{rid}/reanalyze")
def reanalyze(request: Request, rid: int, viewer: CsrfViewer, db: DB):
    must_be_staff(viewer, "操作")
    rec = _recording(db, rid)
    if rec.status in ("queued", "running"):
        return RedirectResponse("/queue", status_code=303)
    rec.status, rec.progress, rec.stage, rec.error = "queued", 0.0, "排队中", ""
    db.commit()
    _log(db, viewer, "reanalyze", rec, detail=f"用语指引 {rec.guide or '内置默认'}")
    request.app.state.worker.notify()
    return RedirectResponse("/queue", status_code=303)
