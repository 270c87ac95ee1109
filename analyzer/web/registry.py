"""Who recorded what: the device registry (device id -> officer, 执法证号, unit) and each recording's link
to it, so that the dashboard can count per officer and unit.

A recording's officer comes from the registry through its device id (file name or container tags), or
from what the importer typed in. Registry-derived links follow later registry edits; typed-in ones
are kept as entered. The tables are new ones (created on start), so an existing database needs no
migration.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from analyzer.continuity import time_from_filename
from analyzer.grouping import DEFAULT_DEVICE_TAGS, device_from_name
from analyzer.web.db import Base, Recording, utcnow

# Container/stream tag names a camera may put its own id under (lower-cased, as analyzer.media reads
# them): the batch grouping's, and two more spellings seen on body cameras.
DEVICE_TAGS = (*DEFAULT_DEVICE_TAGS, "deviceid", "device_sn")


class Officer(Base):
    __tablename__ = "officers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    badge_no: Mapped[str] = mapped_column(String(32), default="", index=True)  # 执法证号
    unit: Mapped[str] = mapped_column(String(128), default="", index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, unique=True)

    @property
    def label(self) -> str:
        return f"{self.name}（{self.badge_no}）" if self.badge_no else self.name


class Device(Base):
    __tablename__ = "devices"
    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id"), index=True)


class RecordingMeta(Base):
    """Who and when, per recording; `month` (YYYY-MM of recorded_at) keeps GROUP BY portable."""

    __tablename__ = "recording_meta"
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id"), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(64), default="", index=True)
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"), nullable=True)
    unit: Mapped[str] = mapped_column(String(128), default="")
    source: Mapped[str] = mapped_column(String(16), default="")  # registry | entered | ""
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    month: Mapped[str] = mapped_column(String(7), default="")
    indexed: Mapped[int] = mapped_column(Integer, default=0)  # per-phrase/finding rows are current
    # per-recording facts of those rows, kept with them so that the figures need no subquery per row
    opening_missing: Mapped[int] = mapped_column(Integer, default=0)  # open opening_missing finding
    unexplained_gap: Mapped[int] = mapped_column(Integer, default=0)  # open interruption_unexplained
    undecided: Mapped[int] = mapped_column(Integer, default=0)  # a finding no reviewer decided on
    decided: Mapped[int] = mapped_column(Integer, default=0)  # at least one decision

    __table_args__ = (
        Index("ix_meta_recorded_at", "recorded_at"),
        Index("ix_meta_unit_recorded", "unit", "recorded_at"),
        Index("ix_meta_officer_recorded", "officer_id", "recorded_at"),
        Index("ix_meta_month", "month", "unit"),
    )


class RegistryError(ValueError):
    """A bad registry row or CSV; str(err) is a Chinese one-liner naming the line."""


def device_id_from_name(name: str) -> str | None:
    """The device part of a body-camera file name, by the batch grouping's rule (analyzer.grouping):
    DEVICE01_20260315_143000.wav -> DEVICE01, 20261130_090000_DEV01.mp4 -> DEV01,
    DSJ0012_20240105_093000_0001.MP4 -> DSJ0012; a name without a timestamp names no device.
    """
    device = device_from_name(name)
    return normalize_device(device) if device else None


def normalize_device(device_id: str) -> str:
    """Device ids compare case-insensitively (names and registry entries are typed by people)."""
    return device_id.strip().upper()[:64]


def device_id_from_tags(tags: dict[str, str]) -> str | None:
    for key in DEVICE_TAGS:
        for k in (key, f"video:{key}"):
            value = normalize_device(tags.get(k) or "")
            if value:
                return value
    return None


def container_tags(path: str) -> dict[str, str]:
    """Container and stream tags (lower-cased keys); empty when the file cannot be opened."""
    try:
        import av

        with av.open(path) as container:
            tags: dict[str, str] = {}
            for source in [container.metadata, *(s.metadata for s in container.streams)]:
                for key, value in (source or {}).items():
                    tags.setdefault(str(key).lower(), str(value))
            return tags
    except Exception:  # unreadable here is reported by the analysis itself
        return {}


def _parse_time(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=None)


@dataclass
class EnteredMeta:
    """What the importer typed in (all optional)."""

    device_id: str = ""
    officer_name: str = ""
    badge_no: str = ""
    unit: str = ""

    def any(self) -> bool:
        return bool(self.device_id or self.officer_name or self.badge_no or self.unit)


def find_or_add_officer(db: Session, name: str, badge_no: str, unit: str) -> Officer:
    """The registry's officer with this 执法证号 (or, without one, this name and unit); added when new."""
    name, badge_no, unit = name.strip()[:64], badge_no.strip()[:32], unit.strip()[:128]
    query = select(Officer).where(Officer.badge_no == badge_no) if badge_no else None
    if query is None:
        query = select(Officer).where(Officer.name == name, Officer.unit == unit, Officer.badge_no == "")
    officer = db.scalars(query).first()
    if officer is None:
        officer = Officer(name=name or badge_no, badge_no=badge_no, unit=unit)
        db.add(officer)
        db.flush()
    return officer


def _apply_registry(db: Session, meta: RecordingMeta) -> None:
    device = db.get(Device, meta.device_id) if meta.device_id else None
    officer = db.get(Officer, device.officer_id) if device else None
    meta.officer_id = officer.id if officer else None
    meta.unit = officer.unit if officer else ""
    meta.source = "registry" if officer else ""


def attach(db: Session, rec: Recording, entered: EnteredMeta | None = None) -> RecordingMeta:
    """Create the recording's who/when row at import: device from the first file's name or tags."""
    entered = entered or EnteredMeta()
    first = rec.files[0] if rec.files else None
    tags = container_tags(first.stored_path) if first else {}
    device = (
        normalize_device(entered.device_id)
        or (device_id_from_name(first.original_name) if first else None)
        or device_id_from_tags(tags)
        or ""
    )
    when = (
        (time_from_filename(first.original_name) if first else None)
        or _parse_time(tags.get("creation_time") or "")
        or rec.created_at
        or utcnow()
    )
    meta = db.get(RecordingMeta, rec.id) or RecordingMeta(recording_id=rec.id)
    meta.device_id, meta.recorded_at, meta.month = device, when, when.strftime("%Y-%m")
    if entered.officer_name.strip() or entered.badge_no.strip():
        officer = find_or_add_officer(db, entered.officer_name, entered.badge_no, entered.unit)
        meta.officer_id, meta.unit, meta.source = officer.id, officer.unit or entered.unit.strip(), "entered"
    else:
        _apply_registry(db, meta)
        if not meta.officer_id and entered.unit.strip():
            meta.unit, meta.source = entered.unit.strip()[:128], "entered"
    db.add(meta)
    db.flush()  # committed with the import it belongs to
    return meta


def relink(db: Session) -> int:
    """After a registry edit: recordings linked through the registry (or not at all) follow it."""
    changed = 0
    for meta in db.scalars(select(RecordingMeta).where(RecordingMeta.source.in_(("registry", "")))):
        before = (meta.officer_id, meta.unit)
        _apply_registry(db, meta)
        changed += (meta.officer_id, meta.unit) != before
    db.commit()
    return changed


def set_device(db: Session, device_id: str, name: str, badge_no: str, unit: str) -> Device:
    if not device_id.strip() or len(device_id.strip()) > 64:
        raise RegistryError("设备编号不能为空，且不超过 64 个字符")
    if not name.strip() and not badge_no.strip():
        raise RegistryError(f"设备 {device_id}：请填写警员姓名或执法证号")
    device_id = normalize_device(device_id)
    officer = find_or_add_officer(db, name, badge_no, unit)
    if name.strip():
        officer.name = name.strip()[:64]
    if unit.strip():
        officer.unit = unit.strip()[:128]
    device = db.get(Device, device_id) or Device(device_id=device_id, officer_id=officer.id)
    device.officer_id = officer.id
    db.add(device)
    db.commit()
    return device


CSV_COLUMNS = {
    "device_id": ("device_id", "设备编号", "设备"),
    "name": ("officer", "name", "警员", "姓名"),
    "badge_no": ("badge_no", "执法证号"),
    "unit": ("unit", "单位", "部门"),
}


def import_csv(db: Session, text: str, source: str = "CSV") -> int:
    """Rows device_id,officer,badge_no,unit (header in English or Chinese); all rows or none."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    rows = [r for r in reader if any(c.strip() for c in r)]
    if not rows:
        raise RegistryError(f"{source}：文件为空")
    header = [c.strip().lower() for c in rows[0]]
    index = {}
    for key, names in CSV_COLUMNS.items():
        for i, col in enumerate(header):
            if col in names:
                index[key] = i
    if "device_id" not in index or not ({"name", "badge_no"} & index.keys()):
        raise RegistryError(
            f"{source} 第 1 行：表头须包含 device_id（设备编号）以及 officer（警员）或 badge_no（执法证号）"
        )
    parsed = []
    for line, row in enumerate(rows[1:], start=2):
        get = {k: (row[i].strip() if i < len(row) else "") for k, i in index.items()}
        if not get.get("device_id"):
            raise RegistryError(f"{source} 第 {line} 行：缺少设备编号")
        if not get.get("name") and not get.get("badge_no"):
            raise RegistryError(f"{source} 第 {line} 行：缺少警员姓名或执法证号")
        parsed.append(get)
    for get in parsed:
        set_device(db, get["device_id"], get.get("name", ""), get.get("badge_no", ""), get.get("unit", ""))
    relink(db)
    return len(parsed)


def units(db: Session) -> list[str]:
    found = set(db.scalars(select(Officer.unit).distinct())) | set(
        db.scalars(select(RecordingMeta.unit).distinct())
    )
    return sorted(u for u in found if u)


def officer_of_user(db: Session, user_id: int) -> Officer | None:
    return db.scalars(select(Officer).where(Officer.user_id == user_id)).first()


def officers(db: Session) -> list[Officer]:
    return list(db.scalars(select(Officer).order_by(Officer.unit, Officer.name)))


@dataclass
class Who:
    device_id: str
    officer: Officer | None
    unit: str
    source: str
    recorded_at: datetime


def who_recorded(db: Session, recording_ids: list[int]) -> dict[int, Who]:
    """Officer, unit, device and time of each recording (for the queue and the recording page)."""
    if not recording_ids:
        return {}
    rows = db.execute(
        select(RecordingMeta, Officer)
        .outerjoin(Officer, Officer.id == RecordingMeta.officer_id)
        .where(RecordingMeta.recording_id.in_(recording_ids))
    ).all()
    return {m.recording_id: Who(m.device_id, o, m.unit, m.source, m.recorded_at) for m, o in rows}
