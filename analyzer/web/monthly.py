"""The dashboard's views (figures, charts, the link behind each number) and the monthly report built
from the same views: an XLSX workbook with one sheet per view and a self-contained printable HTML file.

PDF: print the HTML from the browser (Ctrl+P, 另存为 PDF); no PDF library is bundled offline.
"""

from __future__ import annotations

import getpass
import io
import os
import tempfile
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session

from analyzer.web import audit_log, charts
from analyzer.web.dashboard import (
    STATUS_TITLES,
    ClassView,
    Scope,
    Summary,
    month_bounds,
    scope_label,
    summarize,
    trainer_view,
)
from analyzer.web.registry import Officer

HERE = Path(__file__).resolve().parent


@dataclass
class View:
    scope: Scope
    label: str
    summary: Summary
    links: dict[str, str | None] = field(default_factory=dict)
    charts: dict[str, str] = field(default_factory=dict)
    phrase_cols: list[dict[str, Any]] = field(default_factory=list)


def build_view(db: Session, scope: Scope, *, links: bool = True) -> View:
    """Figures and charts for one scope; `links` False for files that leave the app (no queue there)."""
    officer = db.get(Officer, scope.officer_id) if scope.officer_id else None
    summary = summarize(db, scope)
    view = View(scope, scope_label(scope, officer.label if officer else ""), summary)

    def url(s: Scope = scope, **extra: Any) -> str | None:
        return s.queue_url(**extra) if links else None

    view.links = {
        "recordings": url(),
        "unreviewed": url(review="open"),
        "mean_score": url(sort="score", dir="asc"),
        "opening_missing": url(flag="opening_missing"),
        "unexplained_gaps": url(flag="interruption_unexplained"),
    }
    for p in summary.phrases:
        p["links"] = {st: url(phrase=p["id"], phrase_status=st) for st in STATUS_TITLES}
    for o in summary.officers:
        o_scope = replace(scope, officer_id=o["id"] if o["id"] is not None else 0)
        o["links"] = {
            "recordings": url(o_scope),
            "mean_score": url(o_scope, sort="score", dir="asc"),
            "opening_missing": url(o_scope, flag="opening_missing"),
            "unexplained_gaps": url(o_scope, flag="interruption_unexplained"),
            "unreviewed": url(o_scope, review="open"),
            "dashboard": f"/dashboard?{_dashboard_qs(o_scope)}" if links else None,
        }
        o["sparkline"] = charts.sparkline(o["trend"], f"{o['name']} 近 {len(o['trend'])} 个月平均得分")
    for f in summary.findings:
        f["link"] = url(flag=f["code"])
    month_links = []
    for t in summary.trend:
        start, end = month_bounds(t["month"])
        month_links.append(url(replace(scope, date_from=start, date_to=end)))
        t["link"] = month_links[-1]
    view.charts["trend"] = charts.line_chart(
        [(t["month"], t["mean_score"]) for t in summary.trend],
        f"月度平均得分（{view.label}）",
        links=month_links,
    )
    view.charts["phrases"] = charts.stacked_bars(
        [
            charts.Bar(
                p["title"],
                p["present_pct"],
                p["partial_pct"],
                p["absent_pct"],
                p["total"],
                (p["links"]["present"], p["links"]["partial"], p["links"]["absent"]),
            )
            for p in summary.phrases
        ],
        "各项规范用语完成率（必需用语）",
    )
    view.phrase_cols = sorted(summary.phrases, key=lambda p: p["id"])
    rows = [o["name"] for o in summary.officers]
    cells = {}
    for i, o in enumerate(summary.officers):
        o_scope = replace(scope, officer_id=o["id"] if o["id"] is not None else 0)
        for j, p in enumerate(view.phrase_cols):
            h = summary.heat.get((o["key"], p["id"]))
            if h:
                cells[(i, j)] = (
                    h["pct"],
                    url(o_scope, phrase=p["id"], phrase_status="failed"),
                    f"{o['name']} · {p['title']}：{h['said']}/{h['total']} 已说",
                )
    view.charts["heat"] = charts.heatmap(
        rows, [p["title"] for p in view.phrase_cols], cells, "警员 × 用语：已说比例（%）"
    )
    return view


def _dashboard_qs(scope: Scope) -> str:
    from urllib.parse import urlencode

    return urlencode(scope.params())


# ---------------------------------------------------------------- the monthly report


def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(str(HERE / "templates")), autoescape=select_autoescape())
    return env


def render_html(view: View, training: ClassView | None, produced_by: str, produced_at: str) -> str:
    css = "\n".join(
        (HERE / "static" / name).read_text(encoding="utf-8") for name in ("app.css", "dashboard.css")
    )
    return (
        _env()
        .get_template("report_monthly.html")
        .render(
            v=view,
            s=view.summary,
            training=training,
            produced_by=produced_by,
            produced_at=produced_at,
            css=css,
            status_titles=STATUS_TITLES,
        )
    )


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value / 100.0, 4)


def build_xlsx(view: View, training: ClassView | None, produced_by: str, produced_at: str) -> bytes:
    """One sheet per view; percentages as numbers formatted as % so that Excel can chart them."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    s = view.summary
    wb = Workbook()
    bold = Font(bold=True)

    def sheet(title: str, header: list[str], rows: list[list[Any]], pct_cols: tuple[int, ...] = ()):
        ws = wb.create_sheet(title)
        ws.append(header)
        for cell in ws[1]:
            cell.font = bold
        for r in rows:
            ws.append(r)
        for col in pct_cols:
            for row in ws.iter_rows(min_row=2, min_col=col + 1, max_col=col + 1):
                for cell in row:
                    cell.number_format = "0.0%"
        for i, _h in enumerate(header):
            ws.column_dimensions[ws.cell(1, i + 1).column_letter].width = 16 if i else 24
        return ws

    ov = wb.active
    ov.title = "概览"
    for row in (
        ["执法音像记录规范用语月度报告"],
        ["范围", view.label],
        ["生成人", produced_by],
        ["生成时间（UTC）", produced_at],
        [],
        ["已分析录像", s.recordings],
        ["其中尚未审阅（按分析结果计）", s.unreviewed],
        ["平均得分（审阅后）", s.mean_score],
        ["缺少开始记录用语", s.opening_missing],
        ["缺少开始记录用语比例", _pct(s.opening_missing_pct)],
        ["中断后未说明原因", s.unexplained_gaps],
        ["中断后未说明原因比例", _pct(s.unexplained_gaps_pct)],
    ):
        ov.append(row)
    ov["A1"].font = Font(bold=True, size=14)
    for ref in ("B10", "B12"):
        ov[ref].number_format = "0.0%"
    ov.column_dimensions["A"].width = 30
    ov.column_dimensions["B"].width = 40
    sheet(
        "用语完成率",
        ["用语", "编号", "必需次数", "已说", "部分", "未说", "已说比例", "部分比例", "未说比例"],
        [
            [
                p["title"],
                p["id"],
                p["total"],
                p["present"],
                p["partial"],
                p["absent"],
                _pct(p["present_pct"]),
                _pct(p["partial_pct"]),
                _pct(p["absent_pct"]),
            ]
            for p in s.phrases
        ],
        (6, 7, 8),
    )
    months = [t["month"] for t in s.trend]
    sheet(
        "警员",
        ["警员", "执法证号", "单位", "录像", "平均得分", "缺少开场", "缺少开场比例", "中断未说明", "未审阅"]
        + [f"{m} 平均分" for m in months],
        [
            [
                o["name"],
                o["badge_no"],
                o["unit"],
                o["recordings"],
                o["mean_score"],
                o["opening_missing"],
                _pct(o["opening_missing_pct"]),
                o["unexplained_gaps"],
                o["unreviewed"],
                *o["trend"],
            ]
            for o in s.officers
        ],
        (6,),
    )
    sheet(
        "警员×用语",
        ["警员", *[p["title"] for p in view.phrase_cols]],
        [
            [
                o["name"],
                *[_pct((s.heat.get((o["key"], p["id"])) or {}).get("pct")) for p in view.phrase_cols],
            ]
            for o in s.officers
        ],
        tuple(range(1, len(view.phrase_cols) + 1)),
    )
    sheet(
        "常见问题",
        ["问题", "代码", "次数", "涉及录像", "涉及录像比例"],
        [[f["title"], f["code"], f["count"], f["recordings"], _pct(f["pct"])] for f in s.findings],
        (4,),
    )
    sheet(
        "月度趋势",
        ["月份", "录像", "平均得分", "缺少开场比例"],
        [[t["month"], t["recordings"], t["mean_score"], _pct(t["opening_missing_pct"])] for t in s.trend],
        (3,),
    )
    if training is not None:
        sheet(
            "训练",
            ["用语", "练习人数", f"最近一次低于 {training.pass_score:.0f} 分", "比例", "学员"],
            [
                [
                    p["title"],
                    p["trainees"],
                    p["failing"],
                    _pct(p["failing_pct"]),
                    "、".join(p["failing_names"]),
                ]
                for p in training.phrases
            ],
            (3,),
        )
        sheet(
            "学员",
            ["学员", "状态", "薄弱用语", "尚未练习"],
            [
                [
                    t.trainee,
                    "可以上岗" if t.ready else ("需要练习" if t.weak or t.unpractised else "一般"),
                    "、".join(t.weak),
                    "、".join(t.unpractised),
                ]
                for t in training.trainees
            ],
        )
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def training_for(data_dir: Path, guide: str | None) -> ClassView | None:
    """The trainer view from the app's training store, or None when the guide cannot be loaded."""
    try:
        from analyzer.guide import load_guide

        g = load_guide(guide or None)
    except Exception:
        return None
    return trainer_view(
        data_dir / "training" / "attempts.sqlite",
        [(p.id, p.title) for p in g.phrases],
        float(g.setting("training_pass_score", 85.0)),
        float(g.setting("weak_score", 70.0)),
    )


@dataclass
class MonthlyFiles:
    xlsx: Path
    html: Path


def file_stem(period: str, unit: str) -> str:
    safe_unit = "".join(c for c in unit if c.isalnum() or c in "-_")[:40]
    return f"scriptcheck-monthly-{period}" + (f"-{safe_unit}" if safe_unit else "")


def produce(
    db: Session,
    scope: Scope,
    *,
    produced_by: str,
    role: str,
    training: ClassView | None,
) -> tuple[bytes, str, View]:
    """The workbook and the HTML for a scope, and the access-log entry saying who produced them."""
    view = build_view(db, scope, links=False)
    at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M")
    xlsx = build_xlsx(view, training, produced_by, at)
    html = render_html(view, training, produced_by, at)
    audit_log.append(
        db,
        username=produced_by,
        role=role,
        action="report",
        target=view.label,
        detail=f"月度报告：{view.summary.recordings} 条录像",
    )
    return xlsx, html, view


def write_monthly(
    db: Session, scope: Scope, out_dir: Path, stem: str, training: ClassView | None
) -> MonthlyFiles:
    """`scriptcheck report monthly`: files written atomically; the OS user is logged as the producer."""
    try:
        user = getpass.getuser()
    except Exception:
        user = "unknown"
    xlsx, html, _view = produce(db, scope, produced_by=f"os:{user}", role="cli", training=training)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = MonthlyFiles(out_dir / f"{stem}.xlsx", out_dir / f"{stem}.html")
    umask = os.umask(0)
    os.umask(umask)
    for path, data in ((files.xlsx, xlsx), (files.html, html.encode("utf-8"))):
        fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=".tmp-", suffix=path.suffix)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o666 & ~umask)  # like any file the user writes (mkstemp makes it 0600)
        os.replace(tmp, path)
    return files
