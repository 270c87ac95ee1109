"""Training mode in the browser (issue 6): pick a phrase or scenario, record with the microphone
(MediaRecorder, webm/ogg, decoded by PyAV in the pipeline) or upload a file, and see the feedback of
analyzer.training, whose store keeps each trainee's history. Attempts are practice audio, not evidence.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import RedirectResponse

from analyzer.web.deps import DB, CsrfViewer, LoggedIn, Viewer, render
from analyzer.web.jobs import run_training, training_store, training_targets
from analyzer.web.routes_admin import default_guide
from analyzer.web.storage import StorageError, safe_upload_name

router = APIRouter(prefix="/train")
MAX_ATTEMPT_BYTES = 50 * 1024 * 1024


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
    targets, _problem = _targets(request, db)
    if target not in {t["id"] for t in targets}:
        raise HTTPException(status_code=400, detail=f"未知的练习项目：{target}")
    try:
        suffix = Path(safe_upload_name(audio.filename or "")).suffix.lower()
    except StorageError as err:
        return _page(request, db, viewer, chosen=target, error=str(err), status_code=400)
    data = audio.file.read(MAX_ATTEMPT_BYTES + 1)
    if not data or len(data) > MAX_ATTEMPT_BYTES:
        return _page(request, db, viewer, chosen=target, error="录音为空或超过 50 MB", status_code=400)
    data_dir: Path = request.app.state.data_dir
    folder = data_dir / "training" / str(viewer.user.id)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{secrets.token_hex(8)}{suffix}"
    path.write_bytes(data)
    try:
        feedback = run_training(
            str(path), target, default_guide(request, db) or None, viewer.user.username, data_dir
        )
    except Exception as err:  # undecodable audio and the like: the trainee sees why
        reason = (str(err).splitlines() or [type(err).__name__])[0]
        return _page(request, db, viewer, chosen=target, error=f"无法评分：{reason}", status_code=400)
    return RedirectResponse(f"/train/attempts/{feedback['attempt_id']}", status_code=303)


@router.get("/attempts/{aid}")
def train_result(request: Request, aid: int, viewer: LoggedIn, db: DB):
    feedback = training_store(request.app.state.data_dir).feedback(aid)
    if feedback is None or (feedback.get("trainee") != viewer.user.username and not viewer.is_admin):
        raise HTTPException(status_code=404, detail="练习记录不存在")
    return render(request, "train_result.html", viewer, fb=feedback, aid=aid)
