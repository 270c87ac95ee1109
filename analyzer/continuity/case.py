"""The files of a case on one timeline: which file came first (container creation time, the
body camera's file name, or a manifest), where each one starts, and the gaps and clock
overlaps between consecutive files.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analyzer.continuity.events import CaseFile, ContinuityError, GapEvent, resolve_settings

if TYPE_CHECKING:
    from analyzer.media import Probe


# Body-camera file-name timestamps: YYYYMMDD_HHMMSS, YYYYMMDDHHMMSS, YYYY-MM-DD_HH-MM-SS, with any
# device id / sequence number around them (e.g. DSJ0012_20240105_093000_0001.MP4). The first match
# in the name is the start time. Override with settings["filename_regex"] or order_case(filename_regex=).
FILENAME_TIME_PATTERNS: tuple[str, ...] = (
    r"(?<!\d)(?P<y>(?:19|20)\d{2})(?P<mo>\d{2})(?P<d>\d{2})[_\-T ]?"
    r"(?P<h>\d{2})(?P<mi>\d{2})(?P<s>\d{2})(?!\d)",
    r"(?<!\d)(?P<y>(?:19|20)\d{2})[-.](?P<mo>\d{2})[-.](?P<d>\d{2})[ _T\-]"
    r"(?P<h>\d{2})[-.:](?P<mi>\d{2})[-.:](?P<s>\d{2})(?!\d)",
)

MEDIA_EXTENSIONS = frozenset(
    ".mp4 .mov .m4v .avi .mkv .ts .mts .3gp .flv .wmv .wav .mp3 .m4a .aac .amr .flac .ogg .opus .wma".split()
)


def collect_media(paths: Iterable[str | os.PathLike[str]]) -> list[str]:
    """Files of a case: the given files, and the media files inside given folders (sorted by name)."""
    out: list[str] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(str(c) for c in p.iterdir() if c.is_file() and c.suffix.lower() in MEDIA_EXTENSIONS)
        else:
            out.append(str(p))
    return out


def time_from_filename(name: str, patterns: Sequence[str] | str | None = None) -> datetime | None:
    """Start time encoded in a body-camera file name (first valid match), naive local time."""
    if isinstance(patterns, str):
        patterns = (patterns,)
    stem = Path(name).name
    for pattern in patterns or FILENAME_TIME_PATTERNS:
        for m in re.finditer(pattern, stem):
            g = m.groupdict()
            try:
                return datetime(
                    int(g["y"]), int(g["mo"]), int(g["d"]), int(g.get("h") or 0), int(g.get("mi") or 0),
                    int(g.get("s") or 0),
                )  # fmt: skip
            except (KeyError, ValueError, TypeError):
                continue
    return None


def read_manifest(manifest: str | os.PathLike[str] | Mapping[str, str]) -> dict[str, datetime]:
    """path -> start time from a CSV with columns path,start_time (header optional; ISO 8601)."""
    if isinstance(manifest, Mapping):
        rows: list[tuple[str, str]] = [(str(k), str(v)) for k, v in manifest.items()]
    else:
        try:
            with open(manifest, newline="", encoding="utf-8-sig") as fh:
                rows = [(r[0].strip(), r[1].strip()) for r in csv.reader(fh) if len(r) >= 2 and r[0].strip()]
        except OSError as err:
            raise ContinuityError(f"{manifest}: 无法读取清单文件（{err.strerror or err}）") from err
    out: dict[str, datetime] = {}
    for i, (p, t) in enumerate(rows):
        try:
            out[p] = _parse_time(t)
        except ValueError:
            if i == 0 and not isinstance(manifest, Mapping):
                continue  # header row
            raise ContinuityError(f"{manifest}: 第 {i + 1} 行时间无法解析：{t!r}") from None
    return out


def _parse_time(text: str) -> datetime:
    t = text.strip().replace("/", "-")
    if t.endswith("Z"):
        t = t[:-1] + "+00:00"
    return datetime.fromisoformat(t)


def _manifest_lookup(table: Mapping[str, datetime], path: str) -> datetime | None:
    for key in (path, os.path.abspath(path), Path(path).name):
        if key in table:
            return table[key]
    by_name = {Path(k).name: v for k, v in table.items()}
    return by_name.get(Path(path).name)


def _media() -> Any:
    try:
        from analyzer import media
    except ImportError:  # pragma: no cover - media is part of the package
        return None
    return media


def _probe(path: str) -> Probe | None:
    """analyzer.media.probe when available; otherwise a minimal read-only PyAV probe."""
    media = _media()
    fn = getattr(media, "probe", None)
    if fn is not None:
        return fn(path)
    import av

    from analyzer.media import Probe

    try:
        with av.open(path, mode="r") as c:
            a = next((s for s in c.streams if s.type == "audio"), None)
            duration = c.duration / 1_000_000 if c.duration else 0.0
            tags = {str(k): str(v) for k, v in (c.metadata or {}).items()}
            return Probe(
                path=path, sha256="", size_bytes=os.path.getsize(path), container=c.format.name,
                duration_s=duration, sample_rate=a.rate if a else 0, channels=a.channels if a else 0,
                codec=a.codec_context.name if a else "", has_video=any(s.type == "video" for s in c.streams),
                creation_time=tags.get("creation_time"), tags=tags,
            )  # fmt: skip
    except Exception as err:  # noqa: BLE001
        raise ContinuityError(f"{path}: 无法读取媒体文件（{err}）") from err


def order_case(
    paths: Sequence[str],
    *,
    probes: Mapping[str, Probe] | None = None,
    manifest: str | os.PathLike[str] | Mapping[str, str] | None = None,
    filename_regex: str | Sequence[str] | None = None,
    durations: Mapping[str, float] | None = None,
    settings: Mapping[str, Any] | None = None,
    notes: list[str] | None = None,
) -> list[CaseFile]:
    """Files of one case on one wall-clock timeline (CaseFile.offset_s, gaps included).

    One time source is used for the whole case (mixing a camera's local-time file names with UTC
    container tags would invent hours of gaps): the manifest if it covers every file, else file-name
    timestamps if every name has one, else container creation_time if every file has one, else
    name order with no gap information. Files come back sorted by start; pass a list as `notes` to
    receive remarks (in Chinese) about the time source. case_gaps() gives the events between them.
    """
    cfg = resolve_settings(settings)
    patterns = filename_regex or cfg.get("filename_regex") or FILENAME_TIME_PATTERNS
    probes = dict(probes or {})
    durations = dict(durations or {})
    for p in paths:
        if p not in durations:
            if p not in probes:
                probes[p] = _probe(p)
            durations[p] = float(probes[p].duration_s) if probes[p] is not None else 0.0

    notes = notes if notes is not None else []
    starts: dict[str, datetime] = {}
    source = "order"
    table = read_manifest(manifest) if manifest is not None else {}
    from_manifest = {p: _manifest_lookup(table, p) for p in paths}
    from_name = {p: time_from_filename(p, patterns) for p in paths}

    def from_tag() -> dict[str, datetime | None]:
        out: dict[str, datetime | None] = {}
        for p in paths:
            if p not in probes:
                probes[p] = _probe(p)
            ct = getattr(probes[p], "creation_time", None)
            try:
                out[p] = _parse_time(ct) if ct else None
            except ValueError:
                out[p] = None
        return out

    for name, source_of in (
        ("manifest", lambda: from_manifest),
        ("filename", lambda: from_name),
        ("creation_time", from_tag),
    ):
        found = source_of()
        if all(found[p] is not None for p in paths):
            starts, source = {p: found[p] for p in paths}, name  # type: ignore[misc]
            break
        if name == "manifest" and manifest is not None:
            missing = [Path(p).name for p in paths if found[p] is None]
            notes.append(f"清单未列出 {len(missing)} 个文件（{'、'.join(missing[:3])}），改用其他时间来源")
    if source == "order" and len(paths) > 1:
        notes.append(
            "无法确定各文件的开始时间（无清单、文件名无时间、无创建时间），按文件名顺序衔接，无法判断文件间中断"
        )

    if starts:
        starts = {p: _comparable(t) for p, t in starts.items()}
        ordered = sorted(paths, key=lambda p: (starts[p], p))
        first = starts[ordered[0]]
        files = [
            CaseFile(p, (starts[p] - first).total_seconds(), durations[p], _iso(starts[p]), source)
            for p in ordered
        ]
    else:
        ordered, offset, files = sorted(paths), 0.0, []
        for p in ordered:
            files.append(CaseFile(p, offset, durations[p], None, "order"))
            offset += durations[p]
    return files


def case_gaps(
    files: Sequence[CaseFile], settings: Mapping[str, Any] | None = None, notes: list[str] | None = None
) -> list[GapEvent]:
    """Gaps (interruptions) and overlaps/backward steps (clock problems) between consecutive files
    of an ordered case; back-to-back files within file_gap_tolerance_s are one continuous recording."""
    cfg = resolve_settings(settings)
    notes = notes if notes is not None else []
    if files and files[0].start_source == "order":
        return []
    events: list[GapEvent] = []
    tol = float(cfg["file_gap_tolerance_s"])
    clock_tol = max(tol, float(cfg["clock_tolerance_s"]))
    chained = 0
    for prev, nxt in zip(files, files[1:], strict=False):
        gap = nxt.offset_s - prev.end_s
        if gap > tol:
            events.append(
                GapEvent(
                    "file_gap",
                    prev.end_s,
                    nxt.offset_s,
                    1.0,
                    file=nxt.path,
                    file_start_s=0.0,
                    file_end_s=0.0,
                    prev_file=prev.path,
                    detail=(
                        f"{Path(prev.path).name} 结束后 {_fmt_duration(gap)} "
                        f"才开始 {Path(nxt.path).name}，录制中断"
                    ),
                )  # fmt: skip
            )
        elif gap < -clock_tol:
            events.append(
                GapEvent(
                    "clock_overlap",
                    nxt.offset_s,
                    prev.end_s,
                    1.0,
                    file=nxt.path,
                    file_start_s=0.0,
                    file_end_s=min(-gap, nxt.duration_s),
                    prev_file=prev.path,
                    detail=(
                        f"{Path(nxt.path).name} 的开始时间早于 {Path(prev.path).name} "
                        f"的结束时间 {_fmt_duration(-gap)}，"
                        "时钟或文件时间有误（重叠/倒退）"
                    ),
                )  # fmt: skip
            )
        else:
            chained += 1
    if chained:
        notes.append(f"{chained} 处文件首尾相接（间隔在 {tol:g} 秒以内），视为同一段连续录制的分段")
    return events


def _comparable(t: datetime) -> datetime:
    """Aware times to UTC, naive kept naive; a mix is made naive UTC so sorting works."""
    return t.astimezone(UTC).replace(tzinfo=None) if t.tzinfo else t


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="seconds")


def _fmt_duration(seconds: float) -> str:
    s = abs(seconds)
    if s < 60:
        return f"{s:.1f} 秒"
    m, sec = divmod(int(round(s)), 60)
    h, m = divmod(m, 60)
    return f"{h} 小时 {m} 分 {sec} 秒" if h else f"{m} 分 {sec} 秒"
