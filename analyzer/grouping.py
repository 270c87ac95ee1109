"""Which loose files are one recording: a body camera splits a continuous recording into files
(DEVICE01_20260315_143000.wav, DEVICE01_20260315_144512.wav, ...). Analysed apart, the gap between
them goes unreported and every later part is flagged for a missing opening; analysed as one case,
continuity finds the gap and checks the resume statement.

Files are one case when they come from the same device (the non-time part of the file name, or a
device tag in the container) and their start times chain: sorted by start, each begins no earlier
than the previous one ends (less the clock tolerance) and at most `group_max_gap_s` later. Start
times come from the file name, else the container's creation_time, the same sources (and the same
one for all files of a group) that `continuity.order_case` then uses for the case timeline.
Only container headers are read (no hashing, no decoding). Files without a device, a start time or
a duration are never grouped.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analyzer.continuity import FILENAME_TIME_PATTERNS, resolve_settings, time_from_filename

if TYPE_CHECKING:
    from analyzer.guide import Guide
    from analyzer.media import Probe

# Fallbacks when the guide does not set them ([settings.grouping] / [grouping], phrasebook/README.md).
DEFAULT_MAX_GAP_S = 7200.0
# Container tags (lower-case, as analyzer.media reports them) that name the recording device. Only
# tags that identify one device: a model name or a generic comment is shared by many cameras.
DEFAULT_DEVICE_TAGS: tuple[str, ...] = ("device_id", "device", "device_serial", "serial_number", "serial")
# Name parts that say what a file is, not which device wrote it (VID_20240105_093000.mp4).
DEFAULT_GENERIC_NAMES: tuple[str, ...] = (
    "VID", "VIDEO", "IMG", "MOV", "REC", "RECORD", "RECORDING", "AUD", "AUDIO", "VOICE", "SOUND",
    "录音", "录像", "视频", "音频",
)  # fmt: skip

_SEPARATORS = re.compile(r"[\s_\-.()\[\]{}]+")


@dataclass(frozen=True)
class FileInfo:
    """What grouping knows of one file."""

    path: str
    device: str | None  # identity used for grouping (upper-case name part, or the tag value)
    device_source: str | None  # "filename" | "metadata"
    start: datetime | None  # naive: camera local time (file name) or UTC (creation_time)
    start_source: str | None  # "filename" | "creation_time"
    duration_s: float | None
    device_tag: str | None = None  # the container's device tag, when it has one (name:value)

    @property
    def end(self) -> datetime | None:
        if self.start is None or not self.duration_s:
            return None
        return self.start + timedelta(seconds=self.duration_s)

    @property
    def groupable(self) -> bool:
        return self.device is not None and self.start is not None and bool(self.duration_s)


@dataclass(frozen=True)
class Grouping:
    """Why the files of one case were put together; stored with the case's report."""

    device: str
    device_source: str  # "filename" | "metadata"
    start_source: str  # "filename" | "creation_time"
    files: tuple[FileInfo, ...]  # start order
    max_gap_s: float

    @property
    def gaps_s(self) -> tuple[float, ...]:
        """Seconds between each file's end and the next one's start (negative: clock overlap)."""
        return tuple(
            (b.start - a.end).total_seconds()  # type: ignore[operator]
            for a, b in zip(self.files, self.files[1:], strict=False)
        )

    @property
    def sentence(self) -> str:
        return f"以下文件来自同一设备 {self.device}，起止时间首尾相接，已合并为一个案件分析"

    def reason_text(self) -> str:
        """One Chinese line: which device, how it is known, and the gaps between the files."""
        how = "文件名" if self.device_source == "filename" else "容器标签"
        when = "文件名中的时间" if self.start_source == "filename" else "容器创建时间"
        gaps = "、".join(_fmt_gap(g) for g in self.gaps_s)
        return (
            f"同一设备 {self.device}（取自{how}），按{when}前后衔接，"
            f"文件间隔 {gaps}（上限 {_fmt_gap(self.max_gap_s)}）"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "reason": "same_device_chained",
            "device": self.device,
            "device_source": self.device_source,
            "start_source": self.start_source,
            "max_gap_s": self.max_gap_s,
            "gaps_s": [round(g, 3) for g in self.gaps_s],
            "files": [
                {
                    "path": f.path,
                    "start": f.start.isoformat(timespec="seconds") if f.start else None,
                    "end": f.end.isoformat(timespec="seconds") if f.end else None,
                    "duration_s": round(float(f.duration_s or 0.0), 3),
                }
                for f in self.files
            ],
            "text": self.sentence,
            "detail": self.reason_text(),
        }


def _fmt_gap(seconds: float) -> str:
    s = abs(seconds)
    sign = "-" if seconds < 0 else ""
    if s < 60:
        return f"{sign}{s:.0f} 秒"
    m, sec = divmod(int(round(s)), 60)
    h, m = divmod(m, 60)
    return sign + (f"{h} 小时 {m} 分" if h else f"{m} 分 {sec} 秒")


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class GroupSettings:
    max_gap_s: float = DEFAULT_MAX_GAP_S
    tolerance_s: float = 5.0  # a next file may start this much before the previous ends (clock skew)
    device_tags: tuple[str, ...] = DEFAULT_DEVICE_TAGS
    generic_names: tuple[str, ...] = DEFAULT_GENERIC_NAMES
    patterns: tuple[str, ...] = FILENAME_TIME_PATTERNS  # the ones order_case reads case files with

    @classmethod
    def from_guide(cls, guide: Guide | None) -> GroupSettings:
        values = dict(getattr(guide, "settings", None) or {})
        cfg = resolve_settings(values)
        lists: Mapping[str, tuple[str, ...]] = getattr(guide, "grouping", None) or {}
        return cls(
            max_gap_s=float(values.get("group_max_gap_s", DEFAULT_MAX_GAP_S)),
            tolerance_s=max(float(cfg["file_gap_tolerance_s"]), float(cfg["clock_tolerance_s"])),
            device_tags=tuple(t.lower() for t in lists.get("device_tags", DEFAULT_DEVICE_TAGS)),
            generic_names=tuple(lists.get("generic_names", DEFAULT_GENERIC_NAMES)),
        )


# --------------------------------------------------------------------------- one file


def device_from_name(name: str, settings: GroupSettings | None = None) -> str | None:
    """The device part of a body-camera file name: what is left around the timestamp, without
    sequence numbers after it (DSJ0012_20240105_093000_0001 -> DSJ0012) and without words that
    name the kind of file (VID, REC, 录音). None when the name has no timestamp or nothing else."""
    s = settings or GroupSettings()
    stem = Path(name).stem
    when = time_from_filename(stem, s.patterns)
    if when is None:
        return None
    span = _time_span(stem, s.patterns, when)
    if span is None:
        return None
    generic = {g.upper() for g in s.generic_names}
    before = [t for t in _SEPARATORS.split(stem[: span[0]]) if t]
    after = [t for t in _SEPARATORS.split(stem[span[1] :]) if t and not t.isdigit()]
    parts = [t.upper() for t in before + after if t.upper() not in generic]
    return "_".join(parts) or None


def _time_span(stem: str, patterns: Sequence[str], when: datetime) -> tuple[int, int] | None:
    """Where in the name the timestamp that time_from_filename read lies."""
    for pattern in patterns:
        for m in re.finditer(pattern, stem):
            if time_from_filename(m.group(0), (pattern,)) == when:
                return m.span()
    return None


def parse_creation_time(text: str | None) -> datetime | None:
    """A container's creation_time as written: aware when it carries a zone (2026-03-15T06:30:00Z)."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.strip().replace("/", "-"))
    except ValueError:
        return None


def _parse_creation_time(text: str | None) -> datetime | None:
    t = parse_creation_time(text)
    return t.astimezone(UTC).replace(tzinfo=None) if t is not None and t.tzinfo else t


def file_info(path: str, probe: Probe | None, settings: GroupSettings | None = None) -> FileInfo:
    """Device, start time and duration of one file, from its name and its container header."""
    s = settings or GroupSettings()
    tags = dict(getattr(probe, "tags", None) or {})
    tag = next(
        (
            (k, str(tags.get(k) or tags.get(f"video:{k}")).strip())
            for k in s.device_tags
            if str(tags.get(k) or tags.get(f"video:{k}") or "").strip()
        ),
        None,
    )
    name_device = device_from_name(path, s)
    device, device_source = (name_device, "filename") if name_device else (None, None)
    if device is None and tag is not None:
        device, device_source = tag[1], "metadata"
    start = time_from_filename(Path(path).name, s.patterns)
    start_source: str | None = "filename" if start is not None else None
    if start is None:
        start = _parse_creation_time(getattr(probe, "creation_time", None))
        start_source = "creation_time" if start is not None else None
    duration = float(getattr(probe, "duration_s", 0.0) or 0.0) if probe is not None else None
    return FileInfo(
        path=path,
        device=device,
        device_source=device_source,
        start=start,
        start_source=start_source,
        duration_s=duration if duration and duration > 0 else None,
        device_tag=f"{tag[0]}:{tag[1]}" if tag else None,
    )


# --------------------------------------------------------------------------- many files


def group_files(infos: Sequence[FileInfo], settings: GroupSettings | None = None) -> list[list[FileInfo]]:
    """Partition files into groups (input order of each group's first file; a group of one is a
    plain recording). Files are candidates for one group only with the same device, the same device
    tag (when their containers have one) and the same start-time source; within that, sorted by
    start, a file joins the group before it when it starts after that group's last file ends
    (within the tolerance) and no more than max_gap_s later; two files starting at the same second
    are never parts of one recording."""
    s = settings or GroupSettings()
    order = {f.path: i for i, f in enumerate(infos)}
    buckets: dict[tuple[Any, ...], list[FileInfo]] = {}
    groups: list[list[FileInfo]] = []
    for f in infos:
        if f.groupable:
            key = (f.device.upper() if f.device else None, f.device_tag, f.start_source)  # type: ignore[union-attr]
            buckets.setdefault(key, []).append(f)
        else:
            groups.append([f])
    for members in buckets.values():
        members.sort(key=lambda f: (f.start, f.path))
        current = [members[0]]
        for f in members[1:]:
            prev = current[-1]
            gap = (f.start - prev.end).total_seconds()  # type: ignore[operator]
            if f.start > prev.start and -s.tolerance_s <= gap <= s.max_gap_s:  # type: ignore[operator]
                current.append(f)
            else:
                groups.append(current)
                current = [f]
        groups.append(current)
    groups.sort(key=lambda g: min(order[f.path] for f in g))
    return groups


def grouping_of(members: Sequence[FileInfo], settings: GroupSettings | None = None) -> Grouping | None:
    """The reason record of a group of two or more files (None for a single file)."""
    if len(members) < 2:
        return None
    s = settings or GroupSettings()
    first = members[0]
    return Grouping(
        device=first.device or "",
        device_source=first.device_source or "",
        start_source=first.start_source or "",
        files=tuple(members),
        max_gap_s=s.max_gap_s,
    )


ProbeFn = Callable[[str], "Probe | None"]


def _header(path: str) -> Probe | None:
    from analyzer.media import probe_header

    try:
        return probe_header(path)
    except Exception:  # noqa: BLE001 - an unreadable file stays on its own; its analysis says why
        return None


def group_paths(
    paths: Sequence[str | os.PathLike[str]],
    guide: Guide | None = None,
    *,
    probe: ProbeFn | None = None,
) -> list[tuple[list[str], Grouping | None]]:
    """Files -> recordings: each entry is the paths of one recording (start order for a group) and,
    for a group, why its files were put together."""
    names = [str(p) for p in paths]
    if len(names) < 2:
        return [([p], None) for p in names]
    s = GroupSettings.from_guide(guide)
    probe = probe or _header
    infos = [file_info(p, probe(p), s) for p in names]
    out: list[tuple[list[str], Grouping | None]] = []
    for members in group_files(infos, s):
        out.append(([f.path for f in members], grouping_of(members, s)))
    return out


def explain(
    paths: Sequence[str | os.PathLike[str]], guide: Guide | None = None, *, probe: ProbeFn | None = None
) -> Grouping | None:
    """The grouping reason when exactly these files form one group (the web app's cases), else None."""
    result = group_paths(paths, guide, probe=probe)
    if len(result) == 1 and result[0][1] is not None:
        return result[0][1]
    return None
