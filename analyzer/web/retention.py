"""Retention (第十五条): how long recordings are kept comes from national and provincial rules, so it
is configuration: a period per recording class (`retention.toml`), a legal hold that overrides it,
a daily list of recordings past their period (`scriptcheck retention list`, the admin page), and a
deletion that only an admin confirms, one recording at a time. Deletion removes the uploaded
originals and everything derived from them (analysis results, cached transcripts, scans of written
explanations, decisions) and keeps an access-log entry and a tombstone with every SHA-256.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from analyzer.web import audit_log
from analyzer.web.config_files import own_or_default, read_toml
from analyzer.web.db import (
    Explanation,
    MediaFile,
    Recording,
    RetentionState,
    Tombstone,
    utcnow,
)

DEFAULT_POLICY_FILE = Path(__file__).resolve().parent / "retention.toml"
DEFAULT_CLASS = "default"


class RetentionError(Exception):
    """A bad policy file or a refused deletion; str(err) is one Chinese line naming the cause."""


@dataclass(frozen=True)
class RetentionClass:
    id: str
    title: str
    days: int


@dataclass(frozen=True)
class Policy:
    classes: dict[str, RetentionClass]
    path: str

    def of(self, class_id: str) -> RetentionClass:
        return self.classes.get(class_id) or self.classes[DEFAULT_CLASS]


def policy_path(data_dir: Path) -> Path:
    """The agency's own DATA_DIR/retention.toml, else the package's placeholder periods."""
    return own_or_default(data_dir, DEFAULT_POLICY_FILE)


def load_policy(path: Path) -> Policy:
    data = read_toml(path, "保存期限", RetentionError)
    table = data.get("classes")
    if not isinstance(table, dict) or not table:
        raise RetentionError(f"{path}: 缺少 [classes.<id>] 保存期限分类")
    classes: dict[str, RetentionClass] = {}
    for cid, spec in table.items():
        where = f"{path}: [classes.{cid}]"
        if not isinstance(spec, dict):
            raise RetentionError(f"{where} 应为表")
        title, days = spec.get("title"), spec.get("days")
        if not isinstance(title, str) or not title.strip():
            raise RetentionError(f"{where} 缺少 title（中文名称）")
        if isinstance(days, bool) or not isinstance(days, int) or days <= 0:
            raise RetentionError(f"{where} days 应为正整数（保存天数），实际为 {days!r}")
        unknown = sorted(set(spec) - {"title", "days"})
        if unknown:
            raise RetentionError(f"{where} 未知字段：{', '.join(unknown)}")
        classes[cid] = RetentionClass(cid, title.strip(), days)
    if DEFAULT_CLASS not in classes:
        raise RetentionError(f"{path}: 缺少 [classes.{DEFAULT_CLASS}]（未分类录像的保存期限）")
    return Policy(classes, str(path))


# ---------------------------------------------------------------- which recordings are due


@dataclass(frozen=True)
class RetentionRow:
    recording: Recording
    retention_class: RetentionClass
    stored_at: datetime
    due_at: datetime
    legal_hold: bool
    hold_reason: str

    @property
    def past(self) -> bool:
        return self.due_at <= utcnow()

    @property
    def deletable(self) -> bool:
        return self.past and not self.legal_hold and self.recording.status not in ("queued", "running")


def state_of(db: Session, rid: int) -> RetentionState:
    return db.get(RetentionState, rid) or RetentionState(recording_id=rid)


def rows(db: Session, policy: Policy, now: datetime | None = None) -> list[RetentionRow]:
    """Every recording with its class, when it was stored, when its period ends, and its hold."""
    states = {s.recording_id: s for s in db.scalars(select(RetentionState))}
    out = []
    for rec in db.scalars(select(Recording).order_by(Recording.id)):
        st = states.get(rec.id)
        cls = policy.of(st.retention_class if st else DEFAULT_CLASS)
        stored = rec.created_at
        out.append(
            RetentionRow(
                recording=rec,
                retention_class=cls,
                stored_at=stored,
                due_at=stored + timedelta(days=cls.days),
                legal_hold=bool(st and st.legal_hold),
                hold_reason=st.hold_reason if st else "",
            )
        )
    return out


def past_retention(db: Session, policy: Policy) -> list[RetentionRow]:
    """Recordings whose period has ended, held ones included (the list says they are held)."""
    return [r for r in rows(db, policy) if r.past]


# ---------------------------------------------------------------- deletion


def delete_recording(
    db: Session,
    rec: Recording,
    policy: Policy,
    *,
    admin: str,
    reason: str,
    data_dir: Path,
) -> Tombstone:
    """Delete one recording past its retention period and not on hold, as an admin confirmed.

    The access-log entry is written before anything is removed, so an interrupted deletion is
    still on record; registered originals (in an import folder) are not the app's to delete and are
    named in the tombstone instead."""
    row = next((r for r in rows(db, policy) if r.recording.id == rec.id), None)
    if row is None:
        raise RetentionError(f"录像 {rec.id} 不存在")
    if row.legal_hold:
        raise RetentionError(f"录像 {rec.id} 处于诉讼保全（legal hold），不得删除：{row.hold_reason}")
    if not row.past:
        raise RetentionError(f"录像 {rec.id} 未到保存期限（{row.due_at:%Y-%m-%d} 到期），不得删除")
    if rec.status in ("queued", "running"):
        raise RetentionError(f"录像 {rec.id} 正在分析，请稍后再删除")
    if not reason.strip():
        raise RetentionError("请填写删除依据（保存期限届满的规定）")
    files = [
        {"name": f.original_name, "sha256": f.sha256, "size_bytes": f.size_bytes, "uploaded": f.uploaded}
        for f in rec.files
    ]
    sums = "; ".join(f"{f['name']} sha256={f['sha256']}" for f in files)
    audit_log.append(
        db,
        username=admin,
        role="admin",
        action="retention_delete",
        recording_id=rec.id,
        target=rec.title,
        purpose=f"保存期限届满（{row.retention_class.title}，{row.retention_class.days} 天）",
        detail=f"{reason.strip()[:300]}；{sums}",
    )
    removed, kept = _remove_files(db, rec, data_dir)
    tomb = Tombstone(
        recording_id=rec.id,
        title=rec.title,
        retention_class=row.retention_class.id,
        stored_at=row.stored_at,
        files_json=json.dumps(files, ensure_ascii=False),
        deleted_by=admin,
        deleted_at=utcnow(),
        reason=reason.strip()[:2000],
        detail="；".join(removed + kept),
    )
    _delete_rows_of(db, rec.id)
    db.delete(rec)
    db.add(tomb)
    db.commit()
    return tomb


def _delete_rows_of(db: Session, rid: int) -> None:
    """Every row that refers to the recording (decisions, grants, explanations, retention state, the
    dashboard's facts, ...): whichever table has a foreign key to it, so tables added later go too."""
    from sqlalchemy import delete

    from analyzer.web.db import Base

    for table in reversed(Base.metadata.sorted_tables):
        if table.name in ("recordings", "media_files"):
            continue  # the recording itself, and its files through the relationship's cascade
        for fk in table.foreign_keys:
            if fk.column.table.name == "recordings":
                db.execute(delete(table).where(fk.parent == rid))


def _remove_files(db: Session, rec: Recording, data_dir: Path) -> tuple[list[str], list[str]]:
    """Remove the recording's uploaded originals, results, cached transcripts and explanation scans.
    Returns (what was removed, what was kept and why), in Chinese."""
    removed: list[str] = []
    kept: list[str] = []
    forgotten = _forget_transcripts([Path(f.stored_path) for f in rec.files])
    if forgotten:
        removed.append(f"转写缓存 {forgotten} 条")
    for f in rec.files:
        path = Path(f.stored_path)
        if not f.uploaded:
            kept.append(f"{f.original_name}：登记时所在的服务器文件夹中的文件不由本系统删除，请按规定处置")
        shared = db.scalar(
            select(MediaFile).where(MediaFile.stored_path == f.stored_path, MediaFile.id != f.id)
        )
        if shared is not None:
            kept.append(f"{f.original_name}：内容与录像 {shared.recording_id} 的文件相同，随该录像保留")
            continue
        if _unlink_inside(path, data_dir / "originals"):
            removed.append(
                f"原始文件 {f.original_name}（存储副本）" if not f.uploaded else f"原始文件 {f.original_name}"
            )
    result_dir = Path(rec.result_dir) if rec.result_dir else None
    if (
        result_dir
        and result_dir.is_dir()
        and result_dir.resolve().is_relative_to((data_dir / "results").resolve())
    ):
        shutil.rmtree(result_dir, ignore_errors=True)
        removed.append("分析结果")
    for e in db.scalars(select(Explanation).where(Explanation.recording_id == rec.id)):
        if e.file_path and _unlink_inside(Path(e.file_path), data_dir / "explanations"):
            removed.append(f"书面说明扫描件 {e.file_name}")
    return removed, kept


def _unlink_inside(path: Path, root: Path) -> bool:
    try:
        if not path.resolve().is_relative_to(root.resolve()):
            return False
        path.unlink()
        with contextlib.suppress(OSError):
            path.parent.rmdir()  # the store keeps one folder per content; gone when it is empty
        return True
    except OSError:
        return False


def _forget_transcripts(paths: list[Path]) -> int:
    """Cached transcripts of these files: the pipeline keys them by the decoded audio, so each
    readable original is decoded once more to find them."""
    import hashlib

    from analyzer import cache
    from analyzer.media import MediaError, load_audio

    keys = set()
    for p in paths:
        try:
            audio = load_audio(str(p))
        except (MediaError, OSError):
            continue
        keys.add("array:" + hashlib.sha256(memoryview(audio).cast("B")).hexdigest())
    return cache.forget(keys) if keys else 0


def describe(row: RetentionRow) -> dict[str, Any]:
    """One line of the daily list (the CLI's JSON)."""
    return {
        "recording_id": row.recording.id,
        "title": row.recording.title,
        "class": row.retention_class.id,
        "class_title": row.retention_class.title,
        "days": row.retention_class.days,
        "stored_at": row.stored_at.isoformat(timespec="seconds") + "Z",
        "due_at": row.due_at.isoformat(timespec="seconds") + "Z",
        "legal_hold": row.legal_hold,
        "hold_reason": row.hold_reason,
        "files": [{"name": f.original_name, "sha256": f.sha256} for f in row.recording.files],
    }
