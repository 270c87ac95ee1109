"""Server-rendered SVG charts: score trend per month, per-phrase pass-rate bars, an officer x phrase
heat map and row sparklines.

Plain SVG strings with presentation attributes only (no inline style or script: the pages run under a
strict Content-Security-Policy, and the monthly HTML report embeds the same markup offline). Every text
is escaped; Chinese labels use the page's CJK fonts. Bars and cells may carry a link to the queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

FONT = "Noto Sans CJK SC, Noto Sans SC, Noto Serif CJK SC, Microsoft YaHei, PingFang SC, sans-serif"
OK, PART, BAD, MUTED, LINE, BRAND = "#1e7e34", "#d4a017", "#c82333", "#666666", "#dde1e6", "#1f3a5f"


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _svg(width: float, height: float, body: list[str], label: str, cls: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {cls}" role="img" aria-label="{_e(label)}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}" '
        f'font-family="{FONT}" font-size="12">'
        f"<title>{_e(label)}</title>{''.join(body)}</svg>"
    )


def _link(href: str | None, inner: str, label: str = "") -> str:
    if not href:
        return inner
    return (
        f'<a href="{_e(href)}" class="chart-link">{f"<title>{_e(label)}</title>" if label else ""}{inner}</a>'
    )


def text_width(text: str, size: float = 12.0) -> float:
    """Rough rendered width: CJK characters are square, the rest about half as wide."""
    return sum(size if ord(c) > 0x2E80 else size * 0.6 for c in text)


def score_color(pct: float | None) -> str:
    """Red (0) through amber (50-70) to green (100); grey for no data."""
    if pct is None:
        return "#eeeeee"
    p = max(0.0, min(100.0, pct)) / 100.0
    stops = [(0.0, (200, 35, 51)), (0.5, (240, 173, 78)), (0.8, (140, 198, 120)), (1.0, (30, 126, 52))]
    for (p0, c0), (p1, c1) in zip(stops, stops[1:], strict=False):
        if p <= p1:
            t = (p - p0) / (p1 - p0)
            rgb = [round(a + (b - a) * t) for a, b in zip(c0, c1, strict=True)]
            return "#{:02x}{:02x}{:02x}".format(*rgb)
    return "#1e7e34"


def line_chart(
    points: Sequence[tuple[str, float | None]],
    label: str,
    *,
    width: int = 560,
    height: int = 220,
    y_max: float = 100.0,
    unit: str = "分",
    links: Sequence[str | None] | None = None,
) -> str:
    """Values per category (months) on a 0..y_max axis; missing months leave a break in the line."""
    left, right, top, bottom = 40, 12, 14, 34
    pw, ph = width - left - right, height - top - bottom
    n = max(1, len(points))
    step = pw / n
    body = []
    for tick in range(0, 101, 25):
        v = y_max * tick / 100
        y = top + ph - ph * tick / 100
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="{LINE}"/>')
        body.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{MUTED}">{v:.0f}</text>')
    xy: list[tuple[float, float] | None] = []
    for i, (cat, value) in enumerate(points):
        x = left + step * (i + 0.5)
        body.append(
            f'<text x="{x:.1f}" y="{height - 12}" text-anchor="middle" fill="{MUTED}">{_e(cat)}</text>'
        )
        xy.append(None if value is None else (x, top + ph - ph * max(0.0, min(value, y_max)) / y_max))
    run: list[tuple[float, float]] = []
    for p in [*xy, None]:
        if p is None:
            if len(run) > 1:
                pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
                body.append(f'<polyline points="{pts}" fill="none" stroke="{BRAND}" stroke-width="2"/>')
            run = []
        else:
            run.append(p)
    for i, p in enumerate(xy):
        if p is None:
            continue
        cat, value = points[i]
        x, y = p
        dot = (
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{BRAND}"/>'
            f'<text x="{x:.1f}" y="{y - 8:.1f}" text-anchor="middle" class="value">{value:.1f}</text>'
        )
        body.append(_link(links[i] if links else None, dot, f"{cat}：{value:.1f} {unit}"))
    return _svg(width, height, body, label, "line-chart")


@dataclass(frozen=True)
class Bar:
    label: str
    present: float | None  # percentages of the required occurrences
    partial: float | None
    absent: float | None
    total: int
    links: tuple[str | None, str | None, str | None] = (None, None, None)


def stacked_bars(bars: Sequence[Bar], label: str, *, width: int = 640) -> str:
    """One 100 % bar per phrase: said (green), partial (amber), missing (red)."""
    label_w = min(260.0, max([text_width(b.label) for b in bars] + [60.0]) + 10)
    row_h, top = 26, 26
    height = top + row_h * max(1, len(bars)) + 8
    bw = width - label_w - 60
    body = []
    legend_x = label_w
    for title, color in (("已说", OK), ("部分", PART), ("未说", BAD)):
        body.append(f'<rect x="{legend_x:.0f}" y="4" width="12" height="12" fill="{color}"/>')
        body.append(f'<text x="{legend_x + 16:.0f}" y="15">{title}</text>')
        legend_x += 60
    for i, b in enumerate(bars):
        y = top + i * row_h
        body.append(
            f'<text x="{label_w - 8:.0f}" y="{y + 15}" text-anchor="end" class="bar-label">'
            f"{_e(b.label)}</text>"
        )
        x = label_w
        for value, color, link, name in zip(
            (b.present, b.partial, b.absent), (OK, PART, BAD), b.links, ("已说", "部分", "未说"), strict=True
        ):
            if not value:
                continue
            w = bw * value / 100
            seg = f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="18" fill="{color}"/>'
            if w > 30:
                seg += (
                    f'<text x="{x + w / 2:.1f}" y="{y + 16}" text-anchor="middle" fill="#ffffff">'
                    f"{value:.0f}%</text>"
                )
            body.append(_link(link, seg, f"{b.label} {name}：{value:.1f}%"))
            x += w
        body.append(f'<text x="{label_w + bw + 6:.0f}" y="{y + 16}" fill="{MUTED}">n={b.total}</text>')
    return _svg(width, height, body, label, "bar-chart")


def heatmap(
    rows: Sequence[str],
    cols: Sequence[str],
    cells: dict[tuple[int, int], tuple[float | None, str | None, str]],
    label: str,
    *,
    cell_w: int = 56,
    cell_h: int = 26,
) -> str:
    """rows x cols of percentages (cell: value, link, tooltip); columns titled at an angle."""
    label_w = max([text_width(r) for r in rows] + [60.0]) + 10
    head = min(160.0, max([text_width(c) for c in cols] + [40.0]) * 0.72 + 16)
    width = label_w + cell_w * max(1, len(cols)) + head * 0.72 + 10
    height = head + cell_h * max(1, len(rows)) + 30
    body = []
    for j, c in enumerate(cols):
        x = label_w + cell_w * j + cell_w / 2
        body.append(
            f'<text x="{x:.1f}" y="{head - 6:.1f}" transform="rotate(-35 {x:.1f} {head - 6:.1f})" '
            f'class="col-label">{_e(c)}</text>'
        )
    for i, r in enumerate(rows):
        y = head + cell_h * i
        body.append(
            f'<text x="{label_w - 8:.1f}" y="{y + 16:.1f}" text-anchor="end" class="row-label">{_e(r)}</text>'
        )
        for j in range(len(cols)):
            value, link, tip = cells.get((i, j), (None, None, ""))
            x = label_w + cell_w * j
            fill = score_color(value)
            text_fill = "#222222" if value is None or 35 <= value <= 80 else "#ffffff"
            cell = (
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{cell_w - 2}" height="{cell_h - 2}" fill="{fill}"/>'
                f'<text x="{x + (cell_w - 2) / 2:.1f}" y="{y + 16:.1f}" text-anchor="middle" '
                f'fill="{text_fill}">'
                f"{'—' if value is None else f'{value:.0f}'}</text>"
            )
            body.append(_link(link, cell, tip))
    ly = head + cell_h * max(1, len(rows)) + 10
    for k, v in enumerate((0, 25, 50, 75, 100)):
        x = label_w + k * 44
        body.append(f'<rect x="{x:.0f}" y="{ly:.0f}" width="14" height="12" fill="{score_color(v)}"/>')
        body.append(f'<text x="{x + 17:.0f}" y="{ly + 11:.0f}" fill="{MUTED}">{v}%</text>')
    return _svg(width, height, body, label, "heatmap")


def sparkline(values: Sequence[float | None], label: str, *, width: int = 90, height: int = 24) -> str:
    """A row's trend scaled to its own range, the last point marked; breaks where a month has no data."""
    n = len(values)
    known = [v for v in values if v is not None]
    if not known:
        return ""
    low, high = min(known) - 5.0, max(known) + 5.0  # the shape of the trend, not its level
    step = (width - 4) / max(1, n - 1)
    pts = [
        None if v is None else (2 + step * i, height - 2 - (height - 4) * (v - low) / (high - low))
        for i, v in enumerate(values)
    ]
    body, run = [], []
    for p in [*pts, None]:
        if p is None:
            if len(run) > 1:
                body.append(
                    '<polyline points="'
                    + " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
                    + f'" fill="none" stroke="{BRAND}" stroke-width="1.5"/>'
                )
            run = []
        else:
            run.append(p)
    last = next(p for p in reversed(pts) if p is not None)
    body.append(f'<circle cx="{last[0]:.1f}" cy="{last[1]:.1f}" r="2.5" fill="{BRAND}"/>')
    return _svg(width, height, body, label, "sparkline")
