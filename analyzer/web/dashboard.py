"""Aggregates over many recordings: per unit, officer, phrase and month, computed in SQL.

The report JSON of each recording is flattened once (at analysis time, after each decision, and for
older rows at start) into two small indexed tables: one row per phrase and one per finding, both
already reflecting reviewer decisions. The dashboard, the queue's filters and the monthly report all
read them through `Scope`, so a figure and the queue behind it always count the same rows.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    Select,
    String,
    case,
    delete,
    distinct,
    func,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from analyzer.web.db import Base, Decision, Recording
from analyzer.web.registry import Officer, RecordingMeta, attach
from analyzer.web.review import keyed_findings

STATUS_TITLES = {"present": "已说", "partial": "部分", "absent": "未说"}
# Chinese names of the report's finding codes, for counts (the per-recording message has the details).
FINDING_TITLES = {
    "opening_missing": "缺少开始记录用语",
    "opening_late": "开始记录用语过晚",
    "opening_incomplete": "开始记录用语不完整",
    "recording_notice_missing": "未告知正在录音录像",
    "rights_notice_missing": "未告知陈述申辩与救济权利",
    "rights_before_penalty": "权利告知晚于处罚告知",
    "fine_statement_incomplete": "罚款告知不完整",
    "sign_request_missing": "未请当事人签收文书",
    "escalation_out_of_order": "妨碍执法应对顺序不当",
    "interruption_unexplained": "中断后未说明原因",
    "gap": "存在空白/中断",
    "dropout": "音频丢失",
    "splice": "疑似剪接",
    "clock_overlap": "时钟异常",
    "low_confidence_audio": "语音难以辨认",
    "phrase_missing": "未说规范用语",
    "phrase_partial": "规范用语不完整",
    "order_violation": "用语顺序不当",
    "untranscribed_speech": "语音未能转写",
    "opening_needs_listening": "开始记录用语待人工听取",
    "request_id_needs_listening": "出示证照用语待人工听取",
    "recording_notice_needs_listening": "录音录像告知待人工听取",
    "rights_notice_needs_listening": "权利告知待人工听取",
    "interruption_reason_needs_listening": "中断原因待人工听取",
}
# A code of a phrase the table does not name: by its ending (the guide's generic definitions).
FINDING_SUFFIX_TITLES = (
    ("_needs_listening", "未检出用语，待人工听取"),
    ("_profile_unsure", "执法类型待确认"),
    ("_missing", "未说规范用语"),
    ("_incomplete", "规范用语不完整"),
    ("_late", "用语过晚"),
)


def finding_title(code: str) -> str:
    """The Chinese name of a finding code for counts; the code itself only when nothing names it."""
    if code in FINDING_TITLES:
        return FINDING_TITLES[code]
    return next((title for end, title in FINDING_SUFFIX_TITLES if code.endswith(end)), code)


TREND_MONTHS = 6


class PhraseResult(Base):
    """One phrase of one analysed recording; `final_status` applies reviewer decisions."""

    __tablename__ = "phrase_results"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id"))
    phrase_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(128), default="")
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(8))  # as analysed: present | partial | absent
    final_status: Mapped[str] = mapped_column(String(8))
    __table_args__ = (
        # covering: the per-phrase and heat-map GROUP BYs read only the index
        Index("ix_phrase_results_rec", "recording_id", "required", "phrase_id", "final_status"),
        Index("ix_phrase_results_phrase", "phrase_id", "final_status"),
    )


class FindingResult(Base):
    """One finding of one analysed recording, with whether a reviewer decided on it and how."""

    __tablename__ = "finding_results"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id"))
    finding_key: Mapped[str] = mapped_column(String(128))
    code: Mapped[str] = mapped_column(String(64))
    phrase_id: Mapped[str] = mapped_column(String(64), default="")
    decided: Mapped[bool] = mapped_column(Boolean, default=False)
    overridden: Mapped[bool] = mapped_column(Boolean, default=False)
    __table_args__ = (
        Index("ix_finding_results_rec", "recording_id", "overridden", "code", "decided"),
        Index("ix_finding_results_code", "code", "overridden"),
    )


# ---------------------------------------------------------------- flattening


def final_phrase_status(status: str, findings_on_phrase: list[bool]) -> str:
    """A phrase found missing or partial counts as said once a reviewer overrode every finding on it."""
    if status != "present" and findings_on_phrase and all(findings_on_phrase):
        return "present"
    return status


def index_recording(db: Session, rec: Recording, data: dict[str, Any]) -> None:
    """(Re)write the phrase and finding rows of one recording from its report and current decisions."""
    latest: dict[str, Decision] = {}
    for d in db.scalars(select(Decision).where(Decision.recording_id == rec.id).order_by(Decision.id)):
        latest[d.finding_key] = d
    db.execute(delete(PhraseResult).where(PhraseResult.recording_id == rec.id))
    db.execute(delete(FindingResult).where(FindingResult.recording_id == rec.id))
    overridden_by_phrase: dict[str, list[bool]] = {}
    open_codes: set[str] = set()
    undecided = False
    for key, f in keyed_findings(data):
        d = latest.get(key)
        over = d is not None and d.action == "override"
        phrase_id = str(f.get("phrase_id") or "")
        if phrase_id:
            overridden_by_phrase.setdefault(phrase_id, []).append(over)
        if not over:
            open_codes.add(str(f.get("code")))
        undecided = undecided or d is None
        db.add(
            FindingResult(
                recording_id=rec.id,
                finding_key=key[:128],
                code=str(f.get("code") or "?")[:64],
                phrase_id=phrase_id[:64],
                decided=d is not None,
                overridden=over,
            )
        )
    for p in data.get("phrases") or []:
        if not p.get("id"):
            continue
        status = str(p.get("status") or "absent")
        db.add(
            PhraseResult(
                recording_id=rec.id,
                phrase_id=str(p["id"])[:64],
                title=str(p.get("title") or p["id"])[:128],
                required=bool(p.get("required")),
                status=status,
                final_status=final_phrase_status(status, overridden_by_phrase.get(p["id"], [])),
            )
        )
    meta = db.get(RecordingMeta, rec.id)
    if meta is None:
        when = rec.created_at
        meta = RecordingMeta(recording_id=rec.id, recorded_at=when, month=when.strftime("%Y-%m"))
        db.add(meta)
    meta.indexed = 1
    meta.opening_missing = int("opening_missing" in open_codes)
    meta.unexplained_gap = int("interruption_unexplained" in open_codes)
    meta.undecided, meta.decided = int(undecided), int(bool(latest))
    db.commit()


def backfill(db: Session, load_output: Callable[[str], Any]) -> int:
    """Recordings from before these tables existed: device, officer and time from their files and the
    registry; and the analysed ones (or those whose index is stale) indexed from their reports."""
    unlinked = db.scalars(
        select(Recording)
        .outerjoin(RecordingMeta, RecordingMeta.recording_id == Recording.id)
        .where(RecordingMeta.recording_id.is_(None))
    ).all()
    for rec in unlinked:
        attach(db, rec)
    todo = db.scalars(
        select(Recording)
        .outerjoin(RecordingMeta, RecordingMeta.recording_id == Recording.id)
        .where(Recording.status == "done", func.coalesce(RecordingMeta.indexed, 0) == 0)
    ).all()
    done = 0
    for rec in todo:
        output = load_output(rec.result_dir)
        if output is not None:
            index_recording(db, rec, output.recording)
            done += 1
    return done


# ---------------------------------------------------------------- scope (the filters)


def month_bounds(period: str) -> tuple[date, date]:
    """'2026-03' -> (2026-03-01, 2026-03-31); raises ValueError for anything else."""
    year, month = (int(x) for x in period.split("-"))
    last = calendar.monthrange(year, month)[1]
    return date(year, month, 1), date(year, month, last)


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value.strip()) if value and value.strip() else None
    except ValueError:
        return None


def _months_back(end: date, n: int) -> list[str]:
    y, m = end.year, end.month
    out = []
    for _ in range(n):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return out[::-1]


@dataclass(frozen=True)
class Scope:
    """Which analysed recordings a figure counts: recorded between two dates, of a unit or officer."""

    date_from: date | None = None
    date_to: date | None = None  # inclusive
    unit: str = ""
    officer_id: int | None = None
    # queue-only refinements, set by the links behind a number
    flag: tuple[str, ...] = ()  # open finding codes (all must be present)
    phrase: str = ""
    phrase_status: str = ""  # final status of a required phrase
    review: str = ""  # "open": has a finding no reviewer decided on yet

    @classmethod
    def from_params(cls, params: Mapping[str, Any], officer_id: int | None = None) -> Scope:
        """From query parameters: period=YYYY-MM or from/to, unit, officer, phrase, phrase_status, review."""
        date_from, date_to = _date(str(params.get("from") or "")), _date(str(params.get("to") or ""))
        period = str(params.get("period") or "")
        if period and not (date_from or date_to):
            try:
                date_from, date_to = month_bounds(period)
            except ValueError:
                pass
        officer = str(params.get("officer") or "")
        officer = "0" if officer == "none" else officer
        flags = params.getlist("flag") if hasattr(params, "getlist") else params.get("flag") or []
        return cls(
            date_from=date_from,
            date_to=date_to,
            unit=str(params.get("unit") or "")[:128],
            officer_id=officer_id
            if officer_id is not None
            else (int(officer) if officer.isdigit() else None),
            flag=tuple(str(f) for f in (flags if isinstance(flags, list | tuple) else [flags])),
            phrase=str(params.get("phrase") or "")[:64],
            phrase_status=str(params.get("phrase_status") or ""),
            review=str(params.get("review") or ""),
        )

    @property
    def is_set(self) -> bool:
        return (
            bool(self.date_from or self.date_to or self.unit or self.officer_id is not None or self.phrase)
            or self.review == "open"
        )

    def params(self, **extra: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.date_from:
            out["from"] = self.date_from.isoformat()
        if self.date_to:
            out["to"] = self.date_to.isoformat()
        if self.unit:
            out["unit"] = self.unit
        if self.officer_id is not None:
            out["officer"] = self.officer_id
        out.update({k: v for k, v in extra.items() if v not in (None, "")})
        return out

    def query(self) -> str:
        """This scope with its queue-only refinements (not flags), as a query string."""
        return urlencode(
            self.params(phrase=self.phrase, phrase_status=self.phrase_status, review=self.review)
        )

    def queue_url(self, **extra: Any) -> str:
        return "/queue?" + urlencode(self.params(status="done", **extra), doseq=True)

    def where(self, query: Select, done_only: bool = True) -> Select:
        """Restrict a query that already joins Recording and RecordingMeta (figures: analysed ones)."""
        if done_only:
            query = query.where(Recording.status == "done")
        if self.date_from:
            query = query.where(
                RecordingMeta.recorded_at >= datetime.combine(self.date_from, datetime.min.time())
            )
        if self.date_to:
            end = datetime.combine(self.date_to + timedelta(days=1), datetime.min.time())
            query = query.where(RecordingMeta.recorded_at < end)
        if self.unit:
            query = query.where(RecordingMeta.unit == self.unit)
        if self.officer_id == 0:  # recordings no registered officer is linked to
            query = query.where(RecordingMeta.officer_id.is_(None))
        elif self.officer_id is not None:
            query = query.where(RecordingMeta.officer_id == self.officer_id)
        return query


def _base(*columns: Any) -> Select:
    return (
        select(*columns)
        .select_from(Recording)
        .join(RecordingMeta, RecordingMeta.recording_id == Recording.id)
    )


def _open_code(code: str) -> Any:
    return (
        select(FindingResult.id)
        .where(
            FindingResult.recording_id == Recording.id,
            FindingResult.code == code,
            FindingResult.overridden.is_(False),
        )
        .exists()
    )


_UNDECIDED = (
    select(FindingResult.id)
    .where(FindingResult.recording_id == Recording.id, FindingResult.decided.is_(False))
    .exists()
)


def queue_ids(db: Session, scope: Scope) -> set[int]:
    return set(db.scalars(queue_select(scope)))


def queue_select(scope: Scope) -> Select:
    """The ids of the recordings behind a figure, for the queue (the conditions the figure counted)."""
    query = scope.where(_base(Recording.id), done_only=False)  # the figures' links add status=done
    for code in scope.flag:
        query = query.where(_open_code(code))
    if scope.phrase:
        cond = [PhraseResult.recording_id == Recording.id, PhraseResult.phrase_id == scope.phrase]
        if scope.phrase_status:
            wanted = ("partial", "absent") if scope.phrase_status == "failed" else (scope.phrase_status,)
            cond += [PhraseResult.final_status.in_(wanted), PhraseResult.required.is_(True)]
        query = query.where(select(PhraseResult.id).where(*cond).exists())
    if scope.review == "open":
        query = query.where(_UNDECIDED)
    return query


# ---------------------------------------------------------------- the figures


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _mean(value: Any) -> float | None:
    return round(float(value), 1) if value is not None else None


@dataclass
class Summary:
    scope: Scope
    recordings: int = 0
    unreviewed: int = 0  # with at least one finding no reviewer decided on
    decided: int = 0  # with at least one decision
    mean_score: float | None = None
    opening_missing: int = 0
    unexplained_gaps: int = 0
    phrases: list[dict[str, Any]] = field(default_factory=list)
    officers: list[dict[str, Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    trend: list[dict[str, Any]] = field(default_factory=list)  # per month up to the period's end
    heat: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (officer key, phrase)

    @property
    def opening_missing_pct(self) -> float | None:
        return _pct(self.opening_missing, self.recordings)

    @property
    def unexplained_gaps_pct(self) -> float | None:
        return _pct(self.unexplained_gaps, self.recordings)


def _officer_key(officer_id: int | None) -> str:
    return "none" if officer_id is None else str(officer_id)


def phrase_title(db: Session, phrase_id: str) -> str:
    """The phrase's title as its latest report gave it (one indexed lookup)."""
    title = db.scalar(
        select(PhraseResult.title)
        .where(PhraseResult.phrase_id == phrase_id)
        .order_by(PhraseResult.id.desc())
        .limit(1)
    )
    return title or phrase_id


def summarize(db: Session, scope: Scope, trend_months: int = TREND_MONTHS) -> Summary:
    """Every figure of the dashboard for one scope, in a handful of GROUP BY queries."""
    s = Summary(scope=scope)
    row = db.execute(
        scope.where(
            _base(
                func.count(Recording.id),
                func.avg(Recording.final_score),
                func.sum(RecordingMeta.opening_missing),
                func.sum(RecordingMeta.unexplained_gap),
                func.sum(RecordingMeta.undecided),
                func.sum(RecordingMeta.decided),
            )
        )
    ).one()
    s.recordings = int(row[0] or 0)
    s.mean_score = _mean(row[1])
    s.opening_missing, s.unexplained_gaps = int(row[2] or 0), int(row[3] or 0)
    s.unreviewed, s.decided = int(row[4] or 0), int(row[5] or 0)

    # per phrase (required ones): said / partial / missing after decisions
    phrase_rows = db.execute(
        scope.where(
            _base(PhraseResult.phrase_id, PhraseResult.final_status, func.count())
            .join(PhraseResult, PhraseResult.recording_id == Recording.id)
            .where(PhraseResult.required.is_(True))
            .group_by(PhraseResult.phrase_id, PhraseResult.final_status)
        )
    ).all()
    by_phrase: dict[str, dict[str, Any]] = {}
    for pid, status, n in phrase_rows:
        if pid not in by_phrase:
            by_phrase[pid] = {
                "id": pid,
                "title": phrase_title(db, pid),
                "present": 0,
                "partial": 0,
                "absent": 0,
            }
        entry = by_phrase[pid]
        entry[status] = entry.get(status, 0) + int(n)
    for entry in by_phrase.values():
        total = entry["present"] + entry["partial"] + entry["absent"]
        entry.update(
            total=total,
            present_pct=_pct(entry["present"], total),
            partial_pct=_pct(entry["partial"], total),
            absent_pct=_pct(entry["absent"], total),
        )
    s.phrases = sorted(by_phrase.values(), key=lambda e: (-(e["absent_pct"] or 0), e["id"]))

    # per officer
    officer_rows = db.execute(
        scope.where(
            _base(
                RecordingMeta.officer_id,
                func.count(Recording.id),
                func.avg(Recording.final_score),
                func.sum(RecordingMeta.opening_missing),
                func.sum(RecordingMeta.unexplained_gap),
                func.sum(RecordingMeta.undecided),
            ).group_by(RecordingMeta.officer_id)
        )
    ).all()
    ids = [r[0] for r in officer_rows if r[0] is not None]
    officers = {o.id: o for o in db.scalars(select(Officer).where(Officer.id.in_(ids)))} if ids else {}
    end = scope.date_to or date.today()
    months = _months_back(end, trend_months)
    trend_scope = replace(scope, date_from=None)
    trend_rows = db.execute(
        trend_scope.where(
            _base(
                RecordingMeta.officer_id, RecordingMeta.month, func.avg(Recording.final_score), func.count()
            )
            .where(RecordingMeta.month.in_(months))
            .group_by(RecordingMeta.officer_id, RecordingMeta.month)
        )
    ).all()
    officer_trend: dict[int | None, dict[str, float]] = {}
    for oid, month, mean, _n in trend_rows:
        officer_trend.setdefault(oid, {})[month] = _mean(mean)
    for oid, n, mean, om, ug, unrev in officer_rows:
        o = officers.get(oid)
        points = [officer_trend.get(oid, {}).get(m) for m in months]
        known = [p for p in points if p is not None]
        s.officers.append(
            {
                "id": oid,
                "key": _officer_key(oid),
                "name": o.name if o else "（未登记）",
                "badge_no": o.badge_no if o else "",
                "unit": o.unit if o else "",
                "recordings": int(n),
                "mean_score": _mean(mean),
                "opening_missing": int(om or 0),
                "opening_missing_pct": _pct(int(om or 0), int(n)),
                "unexplained_gaps": int(ug or 0),
                "unreviewed": int(unrev or 0),
                "trend": points,
                "change": round(known[-1] - known[-2], 1) if len(known) >= 2 else None,
            }
        )
    s.officers.sort(key=lambda o: (o["mean_score"] is None, o["mean_score"] or 0, o["name"]))

    # officer x phrase heat map (share said, required phrases)
    heat_rows = db.execute(
        scope.where(
            _base(
                RecordingMeta.officer_id,
                PhraseResult.phrase_id,
                func.sum(case((PhraseResult.final_status == "present", 1), else_=0)),
                func.count(),
            )
            .join(PhraseResult, PhraseResult.recording_id == Recording.id)
            .where(PhraseResult.required.is_(True))
            .group_by(RecordingMeta.officer_id, PhraseResult.phrase_id)
        )
    ).all()
    for oid, pid, said, total in heat_rows:
        s.heat[(_officer_key(oid), pid)] = {
            "said": int(said),
            "total": int(total),
            "pct": _pct(int(said), int(total)),
        }

    # most frequent findings still standing
    finding_rows = db.execute(
        scope.where(
            _base(FindingResult.code, func.count(), func.count(distinct(Recording.id)))
            .join(FindingResult, FindingResult.recording_id == Recording.id)
            .where(FindingResult.overridden.is_(False))
            .group_by(FindingResult.code)
            .order_by(func.count().desc(), FindingResult.code)
            .limit(10)
        )
    ).all()
    s.findings = [
        {
            "code": code,
            "title": finding_title(code),
            "count": int(n),
            "recordings": int(nrec),
            "pct": _pct(int(nrec), s.recordings),
        }
        for code, n, nrec in finding_rows
    ]

    # score trend per month (the unit or officer, up to the period's end)
    month_rows = db.execute(
        trend_scope.where(
            _base(
                RecordingMeta.month,
                func.avg(Recording.final_score),
                func.count(),
                func.sum(RecordingMeta.opening_missing),
            )
            .where(RecordingMeta.month.in_(months))
            .group_by(RecordingMeta.month)
        )
    ).all()
    by_month = {m: (mean, n, om) for m, mean, n, om in month_rows}
    s.trend = [
        {
            "month": m,
            "mean_score": _mean(by_month[m][0]) if m in by_month else None,
            "recordings": int(by_month[m][1]) if m in by_month else 0,
            "opening_missing_pct": _pct(int(by_month[m][2] or 0), int(by_month[m][1]))
            if m in by_month
            else None,
        }
        for m in months
    ]
    return s


def latest_month(db: Session, scope: Scope) -> str | None:
    """The most recent month with analysed recordings in scope (the dashboard's default period)."""
    return db.scalar(scope.where(_base(func.max(RecordingMeta.month))))


def month_of(value: date) -> str:
    return f"{value.year:04d}-{value.month:02d}"


def scope_label(scope: Scope, officer_name: str = "") -> str:
    parts = []
    if scope.date_from and scope.date_to:
        start, end = scope.date_from, scope.date_to
        whole_month = start.day == 1 and end == month_bounds(month_of(start))[1]
        parts.append(f"{start.year} 年 {start.month} 月" if whole_month else f"{start} 至 {end}")
    elif scope.date_from:
        parts.append(f"{scope.date_from} 起")
    elif scope.date_to:
        parts.append(f"至 {scope.date_to}")
    else:
        parts.append("全部时间")
    parts.append(scope.unit or "全部单位")
    if officer_name:
        parts.append(officer_name)
    return " · ".join(parts)


# ---------------------------------------------------------------- trainer view (training history)


@dataclass
class TraineeRow:
    trainee: str
    phrases: dict[str, dict[str, Any]]  # phrase id -> attempts, latest, best, history [(month, mean)]
    weak: list[str]
    unpractised: list[str]
    ready: bool


@dataclass
class ClassView:
    trainees: list[TraineeRow]
    phrases: list[dict[str, Any]]  # id, title, trainees, failing (latest below pass), failing_pct
    months: list[str]
    pass_score: float
    weak_score: float
    trend: list[tuple[str, float]] = field(default_factory=list)  # the class's mean score per month


def trainer_view(
    store_path: Path, phrases: list[tuple[str, str]], pass_score: float, weak_score: float
) -> ClassView:
    """Each trainee's mastery per phrase over time, from analyzer.training's store (its own SQLite).

    Ready: every phrase of the guide practised and the latest attempt at or above the pass score.
    Needs practice: a phrase whose latest attempt is below the weak score, or one never practised.
    """
    import sqlite3

    rows: list[tuple[str, str, float, str]] = []
    if store_path.exists():
        con = sqlite3.connect(store_path, timeout=10)
        try:
            rows = con.execute(
                "SELECT trainee, phrase_id, score, substr(created_at, 1, 7) FROM phrase_scores"
                " ORDER BY attempt_id"
            ).fetchall()
        except sqlite3.Error:
            rows = []
        finally:
            con.close()
    ids = [pid for pid, _t in phrases]
    per: dict[str, dict[str, dict[str, Any]]] = {}
    months: set[str] = set()
    for trainee, pid, score, month in rows:
        months.add(month)
        entry = per.setdefault(trainee, {}).setdefault(
            pid, {"attempts": 0, "latest": 0.0, "best": 0.0, "by_month": {}}
        )
        entry["attempts"] += 1
        entry["latest"] = float(score)
        entry["best"] = max(entry["best"], float(score))
        entry["by_month"].setdefault(month, []).append(float(score))
    month_list = sorted(months)
    by_month: dict[str, list[float]] = {}
    for _trainee, _pid, score, month in rows:
        by_month.setdefault(month, []).append(float(score))
    trend = [(m, round(sum(v) / len(v), 1)) for m, v in sorted(by_month.items())]
    trainees = []
    for trainee in sorted(per):
        got = per[trainee]
        for entry in got.values():
            entry["history"] = [
                (m, round(sum(v) / len(v), 1)) for m, v in sorted(entry.pop("by_month").items())
            ]
        weak = [pid for pid in ids if pid in got and got[pid]["latest"] < weak_score]
        unpractised = [pid for pid in ids if pid not in got]
        ready = not unpractised and all(got[pid]["latest"] >= pass_score for pid in ids)
        trainees.append(TraineeRow(trainee, got, weak, unpractised, ready))
    class_phrases = []
    for pid, title in phrases:
        tried = [t for t in trainees if pid in t.phrases]
        failing = [t for t in tried if t.phrases[pid]["latest"] < pass_score]
        class_phrases.append(
            {
                "id": pid,
                "title": title,
                "trainees": len(tried),
                "failing": len(failing),
                "failing_names": [t.trainee for t in failing],
                "failing_pct": _pct(len(failing), len(tried)),
            }
        )
    class_phrases.sort(key=lambda p: (-(p["failing_pct"] or 0), -p["failing"], p["id"]))
    return ClassView(trainees, class_phrases, month_list, pass_score, weak_score, trend)
