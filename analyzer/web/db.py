"""Storage of the reviewer app: users, sessions, recordings, decisions, access log.

SQLAlchemy 2 so that an agency can point `SCRIPTCHECK_DB` / `--db` at a server database later;
the embedded default is SQLite in WAL mode (readers do not block the analysis worker's writes).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    create_engine,
    event,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, sessionmaker

ROLES = ("admin", "reviewer", "approver", "officer", "trainee")
ROLE_TITLES = {
    "admin": "管理员",
    "reviewer": "审阅人",
    "approver": "审批人",  # 承办处室主要负责人: decides viewing requests (第十四条); reads dashboard, queue
    "officer": "执法人员",  # sees the figures of their own recordings (linked in the device registry)
    "trainee": "学员",
}


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    display_name: Mapped[str] = mapped_column(String(128), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    @property
    def label(self) -> str:
        return self.display_name or self.username


class WebSession(Base):
    """Server-side session: the cookie carries a random token, the table only its SHA-256."""

    __tablename__ = "sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    user: Mapped[User] = relationship()


class MediaFile(Base):
    """One original file, copied read-only into the store under data-dir (uploaded or registered);
    `uploaded` is False for one registered from a server folder (then it counts against no quota)."""

    __tablename__ = "media_files"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    stored_path: Mapped[str] = mapped_column(Text)
    original_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    mime: Mapped[str] = mapped_column(String(64), default="application/octet-stream")
    uploaded: Mapped[bool] = mapped_column(Boolean, default=True)


class Recording(Base):
    """A recording or a case (several files on one timeline) and its analysis state."""

    __tablename__ = "recordings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(255))
    is_case: Mapped[bool] = mapped_column(Boolean, default=False)
    guide: Mapped[str] = mapped_column(String(255), default="")
    profile: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued|running|done|error
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    stage: Mapped[str] = mapped_column(String(128), default="排队中")
    error: Mapped[str] = mapped_column(Text, default="")
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)  # as analysed
    final_score: Mapped[float | None] = mapped_column(Float, nullable=True)  # after reviewer decisions
    flags_json: Mapped[str] = mapped_column(Text, default="[]")  # finding codes (open ones)
    result_dir: Mapped[str] = mapped_column(Text, default="")
    integrity_alarm: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    files: Mapped[list[MediaFile]] = relationship(order_by=MediaFile.position, cascade="all, delete-orphan")

    @property
    def flags(self) -> list[str]:
        return json.loads(self.flags_json or "[]")


class Decision(Base):
    """A reviewer's verdict on one finding; the latest per finding counts, earlier ones stay as history."""

    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id"), index=True)
    finding_key: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(16))  # confirm | override
    comment: Mapped[str] = mapped_column(Text, default="")
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    reviewer: Mapped[User] = relationship()


class SpeakerOverride(Base):
    """A reviewer's correction of one voice's role (analyzer.speakers: wearer | officer | other) in the
    analysis finished at `analysis_at`; the latest per voice counts, earlier ones stay as history."""

    __tablename__ = "speaker_overrides"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id"), index=True)
    speaker_id: Mapped[str] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(16))
    previous_role: Mapped[str] = mapped_column(String(16), default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    analysis_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    reviewer: Mapped[User] = relationship()


class Explanation(Base):
    """A written explanation (第十条) of why recording could not continue, attached to one
    interruption finding: text and/or a scan kept read-only with its SHA-256. Never edited; a later
    one for the same finding is shown above the earlier ones."""

    __tablename__ = "explanations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id"), index=True)
    finding_key: Mapped[str] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text, default="")
    file_path: Mapped[str] = mapped_column(Text, default="")  # stored scan, "" when text only
    file_name: Mapped[str] = mapped_column(String(255), default="")
    file_sha256: Mapped[str] = mapped_column(String(64), default="")
    file_size: Mapped[int] = mapped_column(Integer, default=0)
    file_mime: Mapped[str] = mapped_column(String(64), default="")
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    author: Mapped[User] = relationship()


class RetentionState(Base):
    """A recording's retention class (第十五条) and legal hold; no row: class `default`, no hold."""

    __tablename__ = "retention"
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id"), primary_key=True)
    retention_class: Mapped[str] = mapped_column(String(64), default="default")
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    hold_reason: Mapped[str] = mapped_column(Text, default="")
    updated_by: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Tombstone(Base):
    """What remains of a recording deleted after its retention period: who, when, why, and the
    SHA-256 of every original, so the deletion itself stays provable."""

    __tablename__ = "tombstones"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recording_id: Mapped[int] = mapped_column(Integer, index=True)  # no foreign key: the row is gone
    title: Mapped[str] = mapped_column(String(255))
    retention_class: Mapped[str] = mapped_column(String(64))
    stored_at: Mapped[datetime] = mapped_column(DateTime)
    files_json: Mapped[str] = mapped_column(Text, default="[]")  # name, sha256, size_bytes, uploaded
    deleted_by: Mapped[str] = mapped_column(String(64))
    deleted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    reason: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[str] = mapped_column(Text, default="")  # what was removed, what could not be

    @property
    def files(self) -> list[dict[str, Any]]:
        return json.loads(self.files_json or "[]")


class ViewingRequest(Base):
    """A request to view one recording (第十四条): filed with a purpose, approved or refused by an
    approver (承办处室主要负责人) other than the requester, and valid until `valid_until`. Only an
    approved request inside its window opens the recording; the row is never deleted."""

    __tablename__ = "viewing_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(64))  # one of routes_review.PURPOSES
    purpose_detail: Mapped[str] = mapped_column(Text, default="")
    requested_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)  # see REQUEST_STATES
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    decision_note: Mapped[str] = mapped_column(Text, default="")
    valid_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    unmasked: Mapped[bool] = mapped_column(Boolean, default=False)  # an admin unmasked under it
    requester: Mapped[User] = relationship(foreign_keys=[requester_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    recording: Mapped[Recording] = relationship()

    @property
    def purpose_text(self) -> str:
        return self.purpose + (f"：{self.purpose_detail}" if self.purpose_detail else "")


REQUEST_STATES = {
    "pending": "待审批",
    "approved": "已批准",
    "refused": "已拒绝",
    "expired": "已过期",
    "withdrawn": "已撤回",
}


class AccessLogEntry(Base):
    """Append-only, hash-chained: hash = SHA-256(prev_hash + canonical JSON of the entry)."""

    __tablename__ = "access_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    ts: Mapped[str] = mapped_column(String(32))  # ISO 8601 UTC, part of the hashed entry
    username: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16), default="")
    action: Mapped[str] = mapped_column(String(32))
    recording_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    target: Mapped[str] = mapped_column(Text, default="")
    purpose: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[str] = mapped_column(Text, default="")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class LogHead(Base):
    """The chain's last seq and hash, so that cutting entries off the end is detectable too."""

    __tablename__ = "access_log_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    hash: Mapped[str] = mapped_column(String(64), default="")


class TrainingJob(Base):
    """One training attempt waiting for, or given, its evaluation (transcription runs off the request)."""

    __tablename__ = "training_jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    target: Mapped[str] = mapped_column(String(64))
    guide: Mapped[str] = mapped_column(String(255), default="")
    audio_path: Mapped[str] = mapped_column(Text)
    audio_name: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued|running|done|error
    error: Mapped[str] = mapped_column(Text, default="")
    attempt_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    user: Mapped[User] = relationship()


class LoginAttempt(Base):
    """Login attempts within the current window, per normalised user name ("name") and per client
    address ("addr"); see analyzer.web.throttle."""

    __tablename__ = "login_attempts"
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column(DateTime, index=True)


class Setting(Base):
    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def database_url(db: str | None, data_dir: Path) -> str:
    """`--db` / SCRIPTCHECK_DB: a SQLAlchemy URL or a plain file path; default data-dir/scriptcheck.db."""
    if not db:
        return f"sqlite:///{(data_dir / 'scriptcheck.db').resolve()}"
    if "://" in db:
        return db
    return f"sqlite:///{Path(db).expanduser().resolve()}"


def new_engine(url: str) -> Engine:
    """An engine as the app uses it, on the schema as it is (analyzer.web.migrations.make_engine brings
    the schema to head first)."""
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 10}
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)
