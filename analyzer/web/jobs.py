"""Background analysis: the thin adapter onto analyzer.pipeline / analyzer.report, and the worker
thread that takes queued recordings from the database one by one (state survives a restart).

Nothing here analyses anything itself: `run_pipeline` calls `analyze_recording` and keeps the
report JSON of analyzer.report; pages and bundles render analyzer.report's HTML from it on demand.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from analyzer.web import audit_log
from analyzer.web.dashboard import index_recording
from analyzer.web.db import Recording, TrainingJob, utcnow
from analyzer.web.review import open_flags, recompute_final_score
from analyzer.web.storage import public_message

log = logging.getLogger("scriptcheck.web")

Progress = Callable[[float, str], None]  # (fraction 0-1, Chinese stage text)


# Next to report.json in a recording's result folder: the pipeline's result, from which a reviewer's
# correction of a speaker is re-evaluated (analyzer/web/speaker_review.py), and the report as corrected.
STATE_FILE = "analysis.pickle"
REVIEWED_FILE = "report-reviewed.json"


@dataclass
class AnalysisOutput:
    """What the web app keeps of one analysed recording or case: the report JSON and, from a fresh
    analysis, the pipeline's result (kept for re-evaluating a reviewer's speaker corrections)."""

    recording: dict[str, Any]  # one entry of the report JSON's recordings[] (analyzer/schema/report-v1.md)
    guide: dict[str, Any] = field(default_factory=dict)  # the report document's `guide`
    result: Any = None  # analyzer.pipeline.RecordingResult of the analysis that wrote `recording`

    def document(self, recording: dict[str, Any] | None = None) -> dict[str, Any]:
        from analyzer import report

        return report.document([recording if recording is not None else self.recording], self.guide)


AnalyzeFn = Callable[[list[str], str | None, Progress], AnalysisOutput]

EXPECTED_RTF = 0.15  # transcription wall time per second of audio on a 2-core machine (facts.md: 0.05-0.1)


def run_pipeline(paths: list[str], guide: str | None, progress: Progress) -> AnalysisOutput:
    """The real analysis: analyzer.pipeline.analyze_recording, then analyzer.report's JSON."""
    from analyzer import report
    from analyzer.media import probe
    from analyzer.pipeline import AnalyzeOptions, analyze_recording

    try:  # the duration for the progress estimate (probe re-reads the file for its SHA-256: ~1% of the run)
        duration = sum(probe(p).duration_s for p in paths)
    except Exception:
        duration = 0.0
    done = threading.Event()

    def tick() -> None:  # the pipeline has no progress callback: show an estimate from the duration
        start = time.monotonic()
        expected = max(5.0, duration * EXPECTED_RTF + 5.0)
        while not done.wait(1.0):
            elapsed = time.monotonic() - start
            left = max(0, int(expected - elapsed))
            progress(
                0.05 + 0.9 * min(1.0, elapsed / expected),
                f"转写与比对中（约剩 {left} 秒）" if left else "转写与比对中",
            )

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    try:
        result = analyze_recording(list(paths), AnalyzeOptions(guide=guide))
    finally:
        done.set()
        ticker.join()
    if result.error:
        raise RuntimeError(result.error)
    if len(paths) > 1:  # say so when the files are one device's split recording (analyzer.grouping)
        from analyzer.grouping import explain

        why = explain(list(paths), result.guide)
        result.grouping = why.to_dict() if why is not None else None
    recording = report.recording_to_dict(result)
    return AnalysisOutput(recording=recording, guide=report.guide_to_dict(result.guide), result=result)


def _pipeline_task(paths: list[str], guide: str | None) -> AnalysisOutput:
    return run_pipeline(paths, guide, lambda fraction, stage: None)


class RayPipeline:
    """Background analysis (an AnalyzeFn) as one Ray task per recording: the same run_pipeline, on
    whichever node has room (analyzer.executors.RayExecutor). The task reads the stored originals
    by path, so the data folder must be on storage that every node sees."""

    def __init__(self, address: str | None = None, threads: int = 1) -> None:
        from analyzer.batch import WORKER_MEMORY_BYTES
        from analyzer.executors import RayExecutor

        self.executor = RayExecutor(address=address, threads=threads, memory=WORKER_MEMORY_BYTES)
        self._task = self.executor.remote(_pipeline_task)

    def __call__(self, paths: list[str], guide: str | None, progress: Progress) -> AnalysisOutput:
        progress(0.05, "已提交到 Ray 集群分析")
        return self.executor.get(self._task.remote(list(paths), guide))


def first_line(err: BaseException) -> str:
    return (str(err).splitlines() or [type(err).__name__])[0]


def rewrite_paths(recording: dict[str, Any], mapping: dict[str, str]) -> dict[str, Any]:
    """A copy of the report with the stored originals' paths replaced (bundle names, media URLs)."""

    def swap(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: swap(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [swap(v, key) for v in value]
        if key in ("path", "file") and isinstance(value, str):
            return mapping.get(value, value)
        return value

    return swap(recording)


def render_report_html(output: AnalysisOutput, recording: dict[str, Any], html_path: str) -> str:
    """The pipeline's own HTML report for `recording` (already masked and with its paths rewritten)."""
    from analyzer import report

    return report.render_html(recording, output.guide, html_path)


SEAL_PURPOSE = b"kept-analysis-result"


def seal_key(db: Session) -> bytes | None:
    """The key that seals the kept analysis result (derived from the access log's key in
    data-dir/keys, 0600): a file put into the results folder without it is never unpickled."""
    return audit_log.derived_key(db, SEAL_PURPOSE)


def seal(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest() + payload


def unseal(key: bytes, sealed: bytes) -> bytes | None:
    """The payload, or None when its seal does not verify under `key`."""
    mac, payload = sealed[:32], sealed[32:]
    return payload if hmac.compare_digest(mac, hmac.new(key, payload, hashlib.sha256).digest()) else None


def save_output(result_dir: Path, output: AnalysisOutput, key: bytes | None = None) -> None:
    """The analysis's report; with a fresh analysis's result also that result (sealed with `key`; not
    kept without one), and a reviewed report of the analysis before is dropped (its corrections named
    the voices of that analysis)."""
    import pickle

    from analyzer import report
    from analyzer.files import atomic_write_bytes

    result_dir.mkdir(parents=True, exist_ok=True)
    if output.result is not None:
        (result_dir / REVIEWED_FILE).unlink(missing_ok=True)
        (result_dir / STATE_FILE).unlink(missing_ok=True)
        try:
            state = pickle.dumps(output.result) if key else None
        except Exception:  # noqa: BLE001 - the report stands without it; corrections then need a re-analysis
            log.warning("analysis result in %s not kept: %s", result_dir, traceback.format_exc())
        else:
            if key and state is not None:
                atomic_write_bytes(result_dir / STATE_FILE, seal(key, state))
    report.write_json(result_dir / "report.json", output.document())


def reevaluated(result: Any, overrides: dict[str, str], guide: dict[str, Any]) -> AnalysisOutput:
    """analyzer.pipeline.reevaluate with a reviewer's speaker corrections, as a report."""
    from analyzer import report
    from analyzer.pipeline import reevaluate

    return AnalysisOutput(recording=report.recording_to_dict(reevaluate(result, overrides)), guide=guide)


def speaker_lanes(recording: dict[str, Any]) -> list[dict[str, Any]]:
    """analyzer.report's voice lanes (its HTML report's): each voice with its turns in percent."""
    from analyzer import report

    return report._timeline({"gaps": [], **recording})["voices"]


def save_reviewed(result_dir: Path, output: AnalysisOutput) -> None:
    from analyzer import report

    report.write_json(result_dir / REVIEWED_FILE, output.document())


def load_output(result_dir: str, *, original: bool = False) -> AnalysisOutput | None:
    """The report as it stands (a reviewer's speaker corrections applied), or with `original` the
    analysis's own report."""
    if not result_dir:
        return None
    path = Path(result_dir) / "report.json"
    reviewed = Path(result_dir) / REVIEWED_FILE
    if not original and reviewed.exists():
        path = reviewed
    if not path.exists():
        return None
    doc = json.loads(path.read_text(encoding="utf-8"))
    return AnalysisOutput(recording=doc["recordings"][0], guide=doc.get("guide") or {})


class QueueWorker:
    """Daemon threads that claim queued rows from the database one at a time (state survives a restart)."""

    thread_name = "scriptcheck-job"

    def __init__(self, sessions: sessionmaker, workers: int = 1) -> None:
        self.sessions = sessions
        self.workers = max(1, workers)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._claim_lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def requeue(self) -> None:
        """Put back what a restart interrupted."""

    def claim(self) -> int | None:
        raise NotImplementedError

    def process(self, item_id: int) -> None:
        raise NotImplementedError

    def start(self) -> None:
        self.requeue()
        for i in range(self.workers):
            t = threading.Thread(target=self._loop, name=f"{self.thread_name}-{i}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        for t in self._threads:
            t.join(timeout=5)

    def notify(self) -> None:
        self._wake.set()

    def _claim(self) -> int | None:
        with self._claim_lock:
            return self.claim()

    def _loop(self) -> None:
        while not self._stop.is_set():
            item_id = self._claim()
            if item_id is None:
                self._wake.wait(timeout=2.0)
                self._wake.clear()
                continue
            self.process(item_id)


class AnalysisWorker(QueueWorker):
    """Analyses queued recordings with the pipeline, one per worker thread."""

    thread_name = "scriptcheck-analysis"

    def __init__(
        self, sessions: sessionmaker, results_root: Path, analyze: AnalyzeFn, workers: int = 1
    ) -> None:
        super().__init__(sessions, workers)
        self.results_root = results_root
        self.analyze = analyze

    def requeue(self) -> None:
        with self.sessions() as db:
            for rec in db.scalars(select(Recording).where(Recording.status == "running")):
                rec.status, rec.stage, rec.progress = "queued", "排队中（服务重启后重新分析）", 0.0
            db.commit()

    def claim(self) -> int | None:
        with self.sessions() as db:
            rec = db.scalars(
                select(Recording).where(Recording.status == "queued").order_by(Recording.id).limit(1)
            ).first()
            if rec is None:
                return None
            rec.status, rec.progress, rec.stage, rec.started_at = "running", 0.01, "开始分析", utcnow()
            db.commit()
            return rec.id

    def process(self, rec_id: int) -> None:
        with self.sessions() as db:
            rec = db.get(Recording, rec_id)
            paths = [f.stored_path for f in rec.files]
            names = {f.stored_path: f.original_name for f in rec.files}
            guide = rec.guide or None
        last_write = [0.0]

        def progress(fraction: float, stage: str) -> None:
            now = time.monotonic()
            if now - last_write[0] < 0.5 and fraction < 1.0:
                return
            last_write[0] = now
            with self.sessions() as db2:
                r = db2.get(Recording, rec_id)
                r.progress, r.stage = max(0.0, min(fraction, 0.99)), stage[:128]
                db2.commit()

        try:
            output = self.analyze(paths, guide, progress)
            result_dir = self.results_root / str(rec_id)
            with self.sessions() as db:
                key = seal_key(db)
            save_output(result_dir, output, key)
        except Exception as err:  # one bad recording must not stop the queue
            log.warning("analysis of recording %s failed: %s", rec_id, traceback.format_exc())
            with self.sessions() as db:
                rec = db.get(Recording, rec_id)
                rec.status, rec.stage, rec.finished_at = "error", "分析失败", utcnow()
                rec.error = public_message(first_line(err), names, [self.results_root.parent])[:500]
                db.commit()
            return
        with self.sessions() as db:
            rec = db.get(Recording, rec_id)
            data = output.recording
            rec.result_dir = str(result_dir)
            rec.score = float(data.get("score") or 0.0)
            rec.duration_s = data.get("duration_s")
            rec.profile = str(data.get("profile") or "")
            rec.status, rec.progress, rec.stage, rec.finished_at, rec.error = (
                "done",
                1.0,
                "完成",
                utcnow(),
                "",
            )
            recompute_final_score(db, rec, data)
            rec.flags_json = json.dumps(open_flags(db, rec, data))
            db.commit()
            index_recording(db, rec, data)


# ---------------------------------------------------------------- training (analyzer.training, issue 6)


def training_targets(guide: str | None) -> list[dict[str, str]]:
    """What a trainee can practise: every phrase of the guide, and its scenarios (profile sequences)."""
    from analyzer.guide import load_guide

    g = load_guide(guide or None)
    targets = [
        {"id": p.id, "kind": "phrase", "title": p.title, "text": p.display(), "example": p.example()}
        for p in g.phrases
    ]
    for profile in g.profiles:
        if profile.sequence:
            steps = [g.phrase(pid) for pid in profile.sequence]
            text = " → ".join(f"{p.title}：{p.display()}" for p in steps)
            example = "".join(p.example() for p in steps)
            targets.append(
                {
                    "id": profile.id,
                    "kind": "scenario",
                    "title": profile.title,
                    "text": text,
                    "example": example,
                }
            )
    return targets


def training_store(data_dir: Path):
    from analyzer.training import TrainingStore

    return TrainingStore(data_dir / "training" / "attempts.sqlite")


def run_training(
    audio_path: str, target: str, guide: str | None, trainee: str, data_dir: Path
) -> dict[str, Any]:
    """analyzer.training.evaluate_attempt on one attempt, saved to the trainee's history."""
    from analyzer import training
    from analyzer.guide import load_guide

    feedback = training.evaluate_attempt(
        audio_path, target, load_guide(guide or None), trainee=trainee, store=training_store(data_dir)
    )
    return feedback.to_dict()


TrainFn = Callable[[str, str, str | None, str, Path], dict[str, Any]]


class TrainingWorker(QueueWorker):
    """Evaluates queued training attempts (transcription takes seconds to minutes: never in a request).
    A failed attempt's recording is deleted; the trainee sees why on the attempt's page."""

    thread_name = "scriptcheck-training"

    def __init__(self, sessions: sessionmaker, data_dir: Path, train: TrainFn, workers: int = 1) -> None:
        super().__init__(sessions, workers)
        self.data_dir = data_dir
        self.train = train

    def requeue(self) -> None:
        with self.sessions() as db:
            for job in db.scalars(select(TrainingJob).where(TrainingJob.status == "running")):
                job.status = "queued"
            db.commit()

    def claim(self) -> int | None:
        with self.sessions() as db:
            job = db.scalars(
                select(TrainingJob).where(TrainingJob.status == "queued").order_by(TrainingJob.id).limit(1)
            ).first()
            if job is None:
                return None
            job.status = "running"
            db.commit()
            return job.id

    def process(self, job_id: int) -> None:
        with self.sessions() as db:
            job = db.get(TrainingJob, job_id)
            audio, name, target, guide = job.audio_path, job.audio_name, job.target, job.guide or None
            username = job.user.username
        try:
            feedback = self.train(audio, target, guide, username, self.data_dir)
        except Exception as err:  # undecodable audio and the like: the trainee sees why
            log.info("training attempt %s failed: %s", job_id, traceback.format_exc())
            Path(audio).unlink(missing_ok=True)
            reason = public_message(first_line(err), {audio: name}, [self.data_dir])
            with self.sessions() as db:
                job = db.get(TrainingJob, job_id)
                job.status, job.error, job.finished_at = "error", reason[:500], utcnow()
                db.commit()
            return
        with self.sessions() as db:
            job = db.get(TrainingJob, job_id)
            job.status, job.attempt_id, job.finished_at = "done", int(feedback["attempt_id"]), utcnow()
            db.commit()
