"""第十一条: recordings are stored within 24 hours of recording, with their case name, party, recorder
(and 执法证号), recording and storage date/time and place completed.

At import the capture time (the camera's file name, else the container's creation_time; a copy's
modification time is when it was copied, so never that) and the storage time are recorded; more than
24 hours between them is `stored_late`, a queue flag. The metadata is prefilled from what the
analysis extracted (the opening's place and cause, the file's time) and the device registry (who
recorded it), each value marked as extracted or as entered by a named user; a review cannot be closed
while a required value is missing.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from analyzer.web.db import Base, Recording, utcnow

STORE_WITHIN = timedelta(hours=24)
BEIJING = timedelta(hours=8)  # times are shown and entered as Beijing time; stored as UTC
# (field, Chinese title) in the order of 第十一条
FIELDS: tuple[tuple[str, str], ...] = (
    ("case_name", "案件名称"),
    ("party", "当事人姓名或单位名称"),
    ("recorder", "录制人"),
    ("badge_no", "执法证号"),
    ("recorded_time", "记录日期（时间）"),
    ("stored_time", "存储日期（时间）"),
    ("place", "录制地点"),
)
TITLES = dict(FIELDS)


class RecordMetadata(Base):
    """One recording's 第十一条 record. `sources`: field -> "extracted:<from what>" or "entered:<user>"."""

    __tablename__ = "record_metadata"
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id"), primary_key=True)
    case_name: Mapped[str] = mapped_column(Text, default="")
    party: Mapped[str] = mapped_column(Text, default="")
    recorder: Mapped[str] = mapped_column(String(128), default="")
    badge_no: Mapped[str] = mapped_column(String(64), default="")
    recorded_time: Mapped[str] = mapped_column(String(32), default="")
    stored_time: Mapped[str] = mapped_column(String(32), default="")
    place: Mapped[str] = mapped_column(Text, default="")
    sources_json: Mapped[str] = mapped_column(Text, default="{}")
    captured_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)  # device local time
    capture_source: Mapped[str] = mapped_column(String(32), default="")  # filename | creation_time
    stored_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)  # UTC
    stored_late: Mapped[bool] = mapped_column(Boolean, default=False)
    prefilled: Mapped[int] = mapped_column(Integer, default=0)  # the analysis' values were offered
    closed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    closed_by: Mapped[str] = mapped_column(String(64), default="")

    @property
    def sources(self) -> dict[str, str]:
        return json.loads(self.sources_json or "{}")

    def source_of(self, name: str) -> tuple[str, str]:
        """("extracted" | "entered" | "", detail)."""
        kind, _, detail = self.sources.get(name, "").partition(":")
        return kind, detail

    def missing(self) -> list[str]:
        return [title for name, title in FIELDS if not str(getattr(self, name) or "").strip()]

    def as_dict(self) -> dict[str, Any]:
        return {
            "fields": {
                name: {
                    "title": title,
                    "value": getattr(self, name),
                    "source": self.source_of(name)[0],
                    "source_detail": self.source_of(name)[1],
                }
                for name, title in FIELDS
            },
            "captured_at": self.captured_at.isoformat(timespec="seconds") if self.captured_at else None,
            "capture_source": self.capture_source or None,
            "stored_at": self.stored_at.isoformat(timespec="seconds") + "Z",
            "stored_late": self.stored_late,
            "closed_at": self.closed_at.isoformat(timespec="seconds") + "Z" if self.closed_at else None,
            "closed_by": self.closed_by or None,
        }


def _fmt_local(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S")


def capture_time(rec: Recording, utc_offset_h: float) -> tuple[datetime | None, str]:
    """When the first file was recorded, by the camera's clock: its original name, else its container."""
    from analyzer.clock import file_start
    from analyzer.media import probe_header

    for f in rec.files:
        try:
            probe = probe_header(f.stored_path)
        except Exception:  # unreadable: the analysis reports why; the name may still carry the time
            probe = None
        start = file_start(
            f.stored_path, probe, utc_offset_h=utc_offset_h, name=f.original_name, use_mtime=False
        )
        if start.start is not None:
            return start.start, start.source or ""
    return None, ""


def on_import(db: Session, rec: Recording, utc_offset_h: float) -> RecordMetadata:
    """Capture and storage time of a newly imported recording, and whether it was stored late."""
    captured, source = capture_time(rec, utc_offset_h)
    stored = rec.created_at or utcnow()
    meta = db.get(RecordMetadata, rec.id) or RecordMetadata(recording_id=rec.id)
    meta.captured_at, meta.capture_source, meta.stored_at = captured, source, stored
    stored_local = stored + timedelta(hours=utc_offset_h)
    meta.stored_late = captured is not None and stored_local - captured > STORE_WITHIN
    values = {"stored_time": _fmt_local(stored_local)}
    how = {"stored_time": "extracted:导入时间"}
    if captured is not None:
        values["recorded_time"] = _fmt_local(captured)
        how["recorded_time"] = "extracted:" + ("文件名" if source == "filename" else "容器创建时间")
    _offer(meta, values, how)
    db.merge(meta)
    return meta


def get(db: Session, rec: Recording) -> RecordMetadata:
    """The recording's record, made on first use for recordings imported before it existed."""
    meta = db.get(RecordMetadata, rec.id)
    if meta is None:
        meta = on_import(db, rec, 8.0)
        db.commit()
        meta = db.get(RecordMetadata, rec.id)
    return meta  # type: ignore[return-value]


def prefill(db: Session, rec: Recording, recording: dict[str, Any] | None) -> RecordMetadata:
    """Offer what the analysis and the registry know, once per analysis; entered values stay."""
    meta = get(db, rec)
    if recording is None or meta.prefilled:
        return meta
    values: dict[str, str] = {}
    how: dict[str, str] = {}
    opening = next((p for p in recording.get("phrases") or [] if p.get("id") == "opening"), None)
    slots = (opening or {}).get("slots") or {}
    if (opening or {}).get("status") != "absent":
        if slots.get("place"):
            values["place"], how["place"] = slots["place"], "extracted:开场白所说地点"
        if slots.get("cause"):
            values["case_name"], how["case_name"] = slots["cause"], "extracted:开场白所说事由"
    clock = next(iter(recording.get("clock") or []), None)
    if clock and clock.get("file_start") and not meta.recorded_time:
        values["recorded_time"] = clock["file_start"].replace("T", " ")
        how["recorded_time"] = f"extracted:{clock.get('source') or ''}"
    from analyzer.web import registry

    who = registry.who_recorded(db, [rec.id]).get(rec.id)
    officer = getattr(who, "officer", None)
    if officer is not None:
        values["recorder"], how["recorder"] = officer.name, "extracted:设备登记"
        if officer.badge_no:
            values["badge_no"], how["badge_no"] = officer.badge_no, "extracted:设备登记"
    _offer(meta, values, how)
    meta.prefilled = 1
    db.commit()
    return meta


def _offer(meta: RecordMetadata, values: dict[str, str], how: dict[str, str]) -> None:
    """Fill empty fields (never one a person entered) and mark them extracted."""
    sources = meta.sources
    for name, value in values.items():
        if sources.get(name, "").startswith("entered:") or str(getattr(meta, name) or "").strip():
            continue
        setattr(meta, name, str(value)[:500])
        sources[name] = how[name]
    meta.sources_json = json.dumps(sources, ensure_ascii=False)


def enter(db: Session, meta: RecordMetadata, form: dict[str, str], user: str) -> list[str]:
    """Save what a person typed; returns the titles of the fields that changed (marked entered)."""
    sources = meta.sources
    changed = []
    for name, title in FIELDS:
        if name not in form:
            continue
        value = form[name].strip()[:500]
        if value != (getattr(meta, name) or ""):
            setattr(meta, name, value)
            sources[name] = f"entered:{user}"
            changed.append(title)
    meta.sources_json = json.dumps(sources, ensure_ascii=False)
    db.commit()
    return changed


def stored_late_ids(db: Session) -> set[int]:
    return set(db.scalars(select(RecordMetadata.recording_id).where(RecordMetadata.stored_late.is_(True))))


def rows_for_export(db: Session, recs: list[Recording]) -> list[dict[str, Any]]:
    """One row per recording for the CSV/XLSX: the 第十一条 fields and the two times."""
    out = []
    for rec in recs:
        meta = get(db, rec)
        row: dict[str, Any] = {"编号": rec.id, "录像": rec.title}
        for name, title in FIELDS:
            kind, _ = meta.source_of(name)
            row[title] = getattr(meta, name)
            row[f"{title}来源"] = {"extracted": "自动提取", "entered": "人工填写"}.get(kind, "")
        row["超过24小时存储"] = "是" if meta.stored_late else "否"
        row["原始文件"] = "；".join(Path(f.original_name).name for f in rec.files)
        out.append(row)
    return out
