"""Training mode in the browser (issue 6): pick a phrase or scenario, record with the microphone
(MediaRecorder, webm/ogg, decoded by PyAV in the pipeline) or upload a file, and see the feedback of
analyzer.training, whose store keeps each trainee's history. Attempts are practice audio, not evidence;
they are evaluated by the training worker (analyzer.web.jobs), a few per trainee at a time, and a
recording whose evaluation fails is deleted.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy import func, select

from analyzer.web.db import TrainingJob
from analyzer.web.deps import DB, CsrfViewer, LoggedIn, Viewer, render
from analyzer.web.jobs import first_line, training_store, training_targets
from analyzer.web.routes_admin import default_guide
from analyzer.web.storage import StorageError, public_message, safe_upload_name
from analyzer.web.uploads import fmt_bytes, part_limit, remaining_quota

router = APIRouter(prefix="/train")


def _targets(request: Request, db: DB) -> tuple[list[dict[str, str]], str]:
    try:
        return training_targets(default_guide(request, db) or None), ""
    except Exception as err:  # guide not loadable: say so, keep the page
        return [], (str(err).splitlines() or [type(err).__name__])[0]


def _page(
    request: Request, db: DB, viewer: Viewer, chosen: str = "", error: str = "", status_code: int = 200
):
    targets, problem = _targets(request, db)
    store = training_store(request.app.state.data_dir)
    titles = {t["id"]: t["title"] for t in targets}
    return render(
        request,
        "train.html",
        viewer,
        status_code=status_code,
        targets=targets,
        problem=problem,
        error=error,
        chosen=chosen,
        titles=titles,
        attempts=store.attempts(viewer.user.username, limit=20),
        progress=store.progress(viewer.user.username),
    )


@router.get("")
def train_page(request: Request, viewer: LoggedIn, db: DB, target: str = ""):
    return _page(request, db, viewer, chosen=target)


@router.post("/attempt")
def train_attempt(
    request: Request,
    viewer: CsrfViewer,
    db: DB,
    target: Annotated[str, Form()],
    audio: Annotated[UploadFile, File()],
):
    """Keep the recording and queue its evaluation (transcription runs in the training worker); the
    browser is sent to the job's page, which shows the feedback once it is ready."""
    targets, _problem = _targets(request, db)
    if target not in {t["id"] for t in targets}:
        raise HTTPException(status_code=400, detail=f"未知的练习项目：{target}")
    try:
        name = safe_upload_name(audio.filename or "")
    except StorageError as err:
        return _page(request, db, viewer, chosen=target, error=str(err), status_code=400)
    config = request.app.state.config
    pending = db.scalar(
        select(func.count(TrainingJob.id)).where(
            TrainingJob.user_id == viewer.user.id, TrainingJob.status.in_(("queued", "running"))
        )
    )
    if pending >= config.training_jobs_per_user:
        message = f"已有 {pending} 次练习正在评分，请等评分完成后再提交"
        return _page(request, db, viewer, chosen=target, error=message, status_code=429)
    data_dir: Path = request.app.state.data_dir
    left = remaining_quota(db, viewer.user.id, data_dir, config.user_quota_bytes)
    limit = part_limit("attempt", config.max_upload_bytes)
    data = audio.file.read(limit + 1)
    if not data or len(data) > limit:
        error = f"录音为空或超过 {fmt_bytes(limit)}"
        return _page(request, db, viewer, chosen=target, error=error, status_code=400)
    if left is not None and len(data) > left:
        error = f"超出个人存储配额（剩余 {fmt_bytes(left)}），请联系管理员"
        return _page(request, db, viewer, chosen=target, error=error, status_code=413)
    folder = data_dir / "training" / str(viewer.user.id)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{secrets.token_hex(8)}{Path(name).suffix.lower()}"
    try:
        path.write_bytes(data)
        problem = _undecodable(path, name, data_dir)
        if problem:
            path.unlink()
            return _page(request, db, viewer, chosen=target, error=f"无法评分：{problem}", status_code=400)
        job = TrainingJob(
            user_id=viewer.user.id,
            target=target,
            guide=default_guide(request, db) or "",
            audio_path=str(path),
            audio_name=name,
        )
        db.add(job)
        db.commit()
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    request.app.state.training_worker.notify()
    return RedirectResponse(f"/train/jobs/{job.id}", status_code=303)


def _undecodable(path: Path, name: str, data_dir: Path) -> str:
    """Why the recording cannot be evaluated, found at once (no transcription): '' when it decodes."""
    from analyzer.media import MediaError, probe

    try:
        probe(path)
    except MediaError as err:
        return public_message(first_line(err), {str(path): name}, [data_dir])
    return ""


def _job(db: DB, viewer: Viewer, jid: int) -> TrainingJob:
    job = db.get(TrainingJob, jid) if 0 < jid < 2**63 else None
    if job is None or (job.user_id != viewer.user.id and not viewer.is_admin):
        raise HTTPException(status_code=404, detail="练习记录不存在")
    return job


@router.get("/jobs/{jid}")
def train_job_page(request: Request, jid: int, viewer: LoggedIn, db: DB):
    job = _job(db, viewer, jid)
    if job.status == "done" and job.attempt_id is not None:
        return RedirectResponse(f"/train/attempts/{job.attempt_id}", status_code=303)
    return render(request, "train_job.html", viewer, job=job)


@router.get("/api/jobs/{jid}")
def train_job_status(jid: int, viewer: LoggedIn, db: DB):
    job = _job(db, viewer, jid)
    result = f"/train/attempts/{job.attempt_id}" if job.attempt_id is not None else None
    return JSONResponse({"status": job.status, "error": job.error, "result": result})


@router.get("/attempts/{aid}")
def train_result(request: Request, aid: int, viewer: LoggedIn, db: DB):
    feedback = training_store(request.app.state.data_dir).feedback(aid)
    if feedback is None or (feedback.get("trainee") != viewer.user.username and not viewer.is_admin):
        raise HTTPException(status_code=404, detail="练习记录不存在")
    return render(request, "train_result.html", viewer, fb=feedback, aid=aid)
