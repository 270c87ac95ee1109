"""The device clock (Regulation 第八条): officers check the camera's date and time before they record,
and the opening states the date and time aloud. A camera whose clock is wrong stamps every file of
the case with a wrong time, so the spoken time is compared with the file's own start time.

The spoken time is read from the opening (its `time` slot, else the words around it) and from every
resume statement that states one; the file's start time from its name, else the container's
creation_time, else its modification time less its duration, in that order of trust. A reading that
is not certain is never turned into a mismatch: speech the recogniser damaged (上50.20分 for
上午十点二十分), an opening without a time, or a file without a start time make the check `unchecked`,
and a modification time later than the spoken time may be the time the file was copied.

Settings (guide `[settings.clock]`, defaults below): `clock_check_tolerance_s` (how far the spoken
time may be from the file's time), `clock_utc_offset_h` (the device's time zone, for container times
that carry a zone and for modification times, which are absolute), `clock_sentence_pause_s` (a segment
ending at most this long before the opening's sentence is read with it: Whisper may end a segment at
the time of day).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from analyzer.continuity import FILENAME_TIME_PATTERNS, time_from_filename
from analyzer.grouping import parse_creation_time
from analyzer.normalize import normalize_plain

if TYPE_CHECKING:
    from analyzer.continuity import CaseFile, ContinuityReport
    from analyzer.guide import Guide
    from analyzer.match import PhraseMatch
    from analyzer.media import Probe
    from analyzer.transcribe import Transcript

# Fallbacks when the guide does not set them ([settings.clock], phrasebook/README.md).
DEFAULT_TOLERANCE_S = 300.0
DEFAULT_UTC_OFFSET_H = 8.0  # China Standard Time

Status = Literal["ok", "mismatch", "unchecked"]
SOURCE_TITLES: dict[str, str] = {
    "filename": "文件名",
    "creation_time": "容器创建时间",
    "mtime": "文件修改时间减去时长",
}

# --------------------------------------------------------------------------- spoken time

_PERIODS = ("凌晨", "早上", "早晨", "上午", "中午", "下午", "傍晚", "晚上", "今晚", "夜里", "夜间")
_PERIOD = "|".join(_PERIODS)
_TODAY = ("今天", "今日", "今晚")
_DATE = re.compile(r"(?:(?P<y>\d{4})年)?(?P<mo>\d{1,2})月(?P<d>\d{1,2})[日号]")
# H点/时 with minutes (MM分, MM, 半, 一刻, 三刻, 整) or none; H:MM and H.MM (how Whisper writes 14点30分)
_CLOCK = re.compile(
    rf"(?P<period>{_PERIOD})?"
    r"(?P<h>\d{1,3})(?:(?P<unit>[点时])(?:(?P<m>\d{1,2})分|(?P<m2>\d{2})(?!\d)|(?P<half>半)"
    r"|(?P<q1>[一1])刻|(?P<q3>[三3])刻|(?P<whole>整))?|[:.](?P<m3>\d{1,3})分?)"
)
# a segment ending at most this long before the opening's sentence is part of it
DEFAULT_SENTENCE_PAUSE_S = 1.0
# what shows that a time was said, even when it cannot be read
_TIME_MARKER = re.compile(rf"{_PERIOD}|\d[点时]|\d[:.]\d|\d分|\d+月\d+[日号]")


@dataclass(frozen=True)
class SpokenTime:
    """What a statement says about the date and time. `state`: "read" (a date and/or time of day
    read), "garbled" (a time was said but cannot be read with certainty), "absent" (none said)."""

    state: Literal["read", "garbled", "absent"]
    text: str = ""  # the words read (normalized: Simplified, Arabic numerals)
    year: int | None = None
    month: int | None = None
    day: int | None = None
    today: bool = False  # 今天: the date of the file
    period: str | None = None  # 上午, 下午, ...
    hour: int | None = None  # as said (1-12 with a period, or 0-24)
    minute: int | None = None  # None: only the hour was said
    time_garbled: str = ""  # a time of day was said after the date but cannot be read (上午90)

    @property
    def has_time(self) -> bool:
        return self.hour is not None

    @property
    def has_date(self) -> bool:
        return self.month is not None

    def describe(self) -> str:
        """The reading in Chinese, e.g. 2026年3月15日 下午2:30 / 今天 20时 (分钟未说)."""
        parts: list[str] = []
        if self.has_date:
            parts.append(f"{self.year}年" if self.year else "")
            parts[-1] += f"{self.month}月{self.day}日"
        elif self.today:
            parts.append("今天")
        if self.has_time:
            clock = f"{self.hour}:{self.minute:02d}" if self.minute is not None else f"{self.hour}时"
            parts.append(f"{self.period or ''}{clock}")
        return " ".join(parts) or self.text


def read_spoken_time(text: str) -> SpokenTime:
    """The first date and time of day said in `text` (transcript words, any numerals).

    Only spans that look like numbers are converted (analyzer.normalize, cn2an). A time whose numbers
    are out of range (上50.20分), whose minutes trail off into other sounds (10点1克 for 十点一刻) or
    whose period contradicts its hour is `garbled`, never a guess."""
    norm = normalize_plain(text)
    if not norm:
        return SpokenTime("absent")
    clock = _CLOCK.search(norm)
    garbled = False
    while clock is not None:
        reading = _read_clock(norm, clock)
        if reading is not None:
            break
        garbled = True
        clock = _CLOCK.search(norm, clock.end())
    else:
        reading = None
    date_end = clock.start() if clock is not None and reading is not None else len(norm)
    found_date = next(
        (m for m in _DATE.finditer(norm, 0, date_end) if 1 <= int(m["mo"]) <= 12 and 1 <= int(m["d"]) <= 31),
        None,
    )
    today_at = min((i for i in (norm.find(w) for w in _TODAY) if i >= 0), default=-1)
    today = 0 <= today_at <= date_end
    if reading is None:
        marker = _TIME_MARKER.search(norm)
        if garbled or (marker and found_date is None and not today):
            at = clock.start() if clock is not None else marker.start() if marker else 0
            return SpokenTime("garbled", text=norm[max(0, at - 2) : at + 12])
        if found_date is None and not today:
            return SpokenTime("absent")
    year = month = day = None
    if found_date is not None:
        year = int(found_date["y"]) if found_date["y"] else None
        month, day = int(found_date["mo"]), int(found_date["d"])
    start = min(
        x for x in (found_date.start() if found_date else None, today_at if today else None,
                    clock.start() if reading else None) if x is not None
    )  # fmt: skip
    time_garbled = ""
    if reading is not None:
        period, hour, minute, end = reading
    else:
        period, hour, minute, end = None, None, None, found_date.end() if found_date else today_at + 2
        after = _TIME_MARKER.search(norm, end)
        if after is not None and (garbled or after.start() - end <= 2):
            time_garbled = norm[after.start() : after.start() + 8]
    if period is None and "今晚" in norm[start:end] and hour is not None:
        period = "晚上"
    return SpokenTime(
        "read", text=norm[start:end], year=year, month=month, day=day, today=today and not found_date,
        period=period, hour=hour, minute=minute, time_garbled=time_garbled,
    )  # fmt: skip


_SPELLED_MINUTE = re.compile(r"([零一二两三四五六七八九十]{1,4})分?")


def _spelled_value(text: str) -> int | None:
    import cn2an

    try:
        value = cn2an.cn2an(text, "smart")
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return int(value) if float(value).is_integer() and 0 <= value < 60 else None


def _read_clock(norm: str, m: re.Match) -> tuple[str | None, int, int | None, int] | None:
    """(period, hour, minute, end of the words read) of one clock match, or None when it cannot be
    read with certainty."""
    period = m["period"]
    hour = int(m["h"])
    end = m.end()
    if m["m3"] is not None:
        if len(m["m3"]) != 2:
            return None
        minute: int | None = int(m["m3"])
    elif m["m"] is not None:
        minute = int(m["m"])
    elif m["m2"] is not None:
        minute = int(m["m2"])
    elif m["half"]:
        minute = 30
    elif m["q1"]:
        minute = 15
    elif m["q3"]:
        minute = 45
    elif m["whole"]:
        minute = 0
    else:
        minute = None
        rest = norm[m.end() :]
        if rest[:1].isdigit():
            return None  # 10点1克: the minutes trail off into other sounds
        spelled = _SPELLED_MINUTE.match(rest)
        if m["unit"] and spelled:  # 十点二十: minutes left in characters by normalization
            minute = _spelled_value(spelled.group(1))
            end += len(spelled.group(0))
            if minute is None or (len(spelled.group(1)) == 1 and not spelled.group(0).endswith("分")):
                return None  # 十点一克: one numeral without 分 is no minute anyone says
                return None
    if minute is not None and minute >= 60:
        return None
    if period is None and m.start() > 0 and norm[m.start() - 1] in "上下":
        return None  # 上50.20分: a period word cut short
    if period in ("凌晨", "早上", "早晨", "上午") and hour > 12:
        return None
    if hour > 24 or (period is not None and hour > 23):
        return None
    if hour == 24 and minute:
        return None
    return period, hour, minute, end


# --------------------------------------------------------------------------- file start time


@dataclass(frozen=True)
class FileStart:
    """When a file started by its own account, in the device's local time (naive)."""

    start: datetime | None
    source: str | None  # "filename" | "creation_time" | "mtime"; None: no start time

    @property
    def source_title(self) -> str:
        return SOURCE_TITLES.get(self.source or "", "无")


def file_start(path: str, probe: Probe | None, *, utc_offset_h: float = DEFAULT_UTC_OFFSET_H,
               patterns: Sequence[str] = FILENAME_TIME_PATTERNS, name: str | None = None,
               use_mtime: bool = True) -> FileStart:  # fmt: skip
    """The file's start time from its name, else its container's creation_time, else its modification
    time less its duration. Times that carry a zone (creation_time with Z, the file system's mtime)
    are moved to the device's zone (`utc_offset_h`); the file name is the device's own local time.
    `name`: the camera's file name when `path` is a copy under another name; `use_mtime=False` for a
    copy, whose modification time is when it was copied."""
    named = time_from_filename(Path(name or path).name, patterns)
    if named is not None:
        return FileStart(named, "filename")
    created = parse_creation_time(getattr(probe, "creation_time", None))
    if created is not None:
        if created.tzinfo is not None:
            created = _local(created, utc_offset_h)
        return FileStart(created, "creation_time")
    duration = float(getattr(probe, "duration_s", 0.0) or 0.0)
    if not use_mtime:
        return FileStart(None, None)
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        return FileStart(None, None)
    if mtime <= 0:
        return FileStart(None, None)
    ended = _local(datetime.fromtimestamp(mtime, UTC), utc_offset_h)
    return FileStart((ended - timedelta(seconds=duration)).replace(microsecond=0), "mtime")


def _local(t: datetime, utc_offset_h: float) -> datetime:
    return (t.astimezone(UTC) + timedelta(hours=utc_offset_h)).replace(tzinfo=None)


# --------------------------------------------------------------------------- comparison


@dataclass(frozen=True)
class ClockCheck:
    """One statement of the time compared with the file's clock."""

    role: Literal["opening", "resumption"]
    status: Status
    reason: str  # Chinese: what was compared and what came of it
    file: str = ""
    file_time_s: float | None = None  # where in the file the time was said
    start_s: float | None = None  # the same on the case timeline
    spoken_text: str = ""  # the words read
    spoken: str | None = None  # the reading, ISO 8601 (date and/or time; minutes omitted: HH:00)
    spoken_precision: str | None = None  # "minute" | "hour" | "day"
    file_start: str | None = None  # ISO 8601, device local time
    source: str | None = None  # "filename" | "creation_time" | "mtime"
    file_time: str | None = None  # file_start + file_time_s: the file's clock when the time was said
    difference_s: float | None = None  # spoken - file's clock (0 inside an hour said without minutes)
    date_differs: bool = False
    tolerance_s: float = DEFAULT_TOLERANCE_S

    @property
    def source_title(self) -> str:
        return SOURCE_TITLES.get(self.source or "", "无")

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "status": self.status,
            "reason": self.reason,
            "file": self.file,
            "file_time_s": None if self.file_time_s is None else round(self.file_time_s, 2),
            "start_s": None if self.start_s is None else round(self.start_s, 2),
            "spoken_text": self.spoken_text,
            "spoken": self.spoken,
            "spoken_precision": self.spoken_precision,
            "file_start": self.file_start,
            "source": self.source,
            "file_time": self.file_time,
            "difference_s": None if self.difference_s is None else round(self.difference_s, 1),
            "date_differs": self.date_differs,
            "tolerance_s": self.tolerance_s,
        }


@dataclass(frozen=True)
class ClockSettings:
    tolerance_s: float = DEFAULT_TOLERANCE_S
    utc_offset_h: float = DEFAULT_UTC_OFFSET_H
    resume_window_s: float = 30.0
    sentence_pause_s: float = DEFAULT_SENTENCE_PAUSE_S
    patterns: tuple[str, ...] = FILENAME_TIME_PATTERNS

    @classmethod
    def from_guide(cls, guide: Guide | None) -> ClockSettings:
        values: Mapping[str, Any] = getattr(guide, "settings", None) or {}
        return cls(
            tolerance_s=float(values.get("clock_check_tolerance_s", DEFAULT_TOLERANCE_S)),
            utc_offset_h=float(values.get("clock_utc_offset_h", DEFAULT_UTC_OFFSET_H)),
            resume_window_s=float(values.get("resume_window_s", 30.0)),
            sentence_pause_s=float(values.get("clock_sentence_pause_s", DEFAULT_SENTENCE_PAUSE_S)),
        )


def compare(
    spoken: SpokenTime,
    start: FileStart,
    file_time_s: float,
    settings: ClockSettings | None = None,
    *,
    role: Literal["opening", "resumption"] = "opening",
    file: str = "",
    start_s: float | None = None,
) -> ClockCheck:
    """Compare what was said with the file's clock at the moment it was said."""
    s = settings or ClockSettings()
    base: dict[str, Any] = {
        "role": role, "file": file, "file_time_s": file_time_s, "start_s": start_s,
        "spoken_text": spoken.text, "tolerance_s": s.tolerance_s,
        "file_start": _iso(start.start), "source": start.source,
    }  # fmt: skip
    if spoken.state == "absent":
        return ClockCheck(status="unchecked", reason="未说明日期时间，无法核对设备时钟", **base)
    if spoken.state == "garbled":
        return ClockCheck(
            status="unchecked",
            reason=f"口述时间无法可靠识别（“{spoken.text[:24]}”），无法核对设备时钟，请人工收听",
            **base,
        )
    if start.start is None:
        return ClockCheck(
            status="unchecked",
            reason="文件没有可信的开始时间（文件名无时间、无容器创建时间、无修改时间），无法核对设备时钟",
            **base,
        )
    at = start.start + timedelta(seconds=file_time_s)
    base["file_time"] = _iso(at)
    lo, hi, precision = _interval(spoken, at)
    base["spoken"] = _spoken_iso(spoken, lo)
    base["spoken_precision"] = precision
    if not spoken.has_time:
        if spoken.has_date and lo.date() != at.date():
            return _verdict(spoken, start, lo, hi, at, s, base, date_differs=True)
        if spoken.time_garbled:
            return ClockCheck(
                status="unchecked",
                reason=(
                    f"日期相符，口述时刻无法可靠识别（“{spoken.time_garbled}”），无法核对设备时钟，请人工收听"
                ),
                **base,
            )
        return ClockCheck(status="unchecked", reason="只说了日期，未说几点几分，无法核对设备时钟", **base)
    date_differs = spoken.has_date and lo.date() != at.date()
    return _verdict(spoken, start, lo, hi, at, s, base, date_differs=date_differs)


def _verdict(
    spoken: SpokenTime, start: FileStart, lo: datetime, hi: datetime, at: datetime, s: ClockSettings,
    base: dict[str, Any], *, date_differs: bool,
) -> ClockCheck:  # fmt: skip
    diff = _signed_distance(at, lo, hi)
    base["difference_s"] = diff
    base["date_differs"] = date_differs
    off = date_differs or abs(diff) > s.tolerance_s
    said = spoken.describe()
    file_clock = f"{_fmt_dt(at)}（取自{start.source_title}，文件开始于 {_fmt_dt(start.start)}）"
    if not off:
        return ClockCheck(status="ok", reason=f"口述时间 {said} 与文件时间 {file_clock} 相符", **base)
    if start.source == "mtime" and diff < 0:
        return ClockCheck(
            status="unchecked",
            reason=(
                f"文件时间取自修改时间，比口述时间 {said} 晚 {fmt_difference(-diff)}，"
                "可能是复制文件的时间，无法据此判断设备时钟"
            ),
            **base,
        )  # fmt: skip
    what = "日期不同，" if date_differs else ""
    way = "文件时间比口述时间晚" if diff < 0 else "文件时间比口述时间早"
    return ClockCheck(
        status="mismatch",
        reason=(
            f"口述时间 {said}，文件时间 {file_clock}，{what}相差 {fmt_difference(abs(diff))}"
            f"（{way}，允许 {fmt_difference(s.tolerance_s)}）"
        ),
        **base,
    )


def _interval(spoken: SpokenTime, at: datetime) -> tuple[datetime, datetime, str]:
    """[lo, hi) of the moments the statement can mean, the one nearest the file's clock."""
    if spoken.has_date:
        days = [_nearest_date(spoken, at)]
    elif spoken.today:
        days = [at.date()]
    else:
        days = [at.date() + timedelta(days=k) for k in (-1, 0, 1)]
    if not spoken.has_time:
        d = days[0]
        lo = datetime(d.year, d.month, d.day)
        return lo, lo + timedelta(days=1), "day"
    length = timedelta(minutes=1) if spoken.minute is not None else timedelta(hours=1)
    candidates = []
    for d in days:
        for h in _hours(spoken):
            lo = datetime(d.year, d.month, d.day) + timedelta(hours=h, minutes=spoken.minute or 0)
            candidates.append((lo, lo + length))
    lo, hi = min(candidates, key=lambda c: abs(_signed_distance(at, *c)))
    return lo, hi, "minute" if spoken.minute is not None else "hour"


def _hours(spoken: SpokenTime) -> list[int]:
    h = int(spoken.hour or 0)
    p = spoken.period
    if p in ("凌晨",):
        return [0 if h == 12 else h]
    if p in ("早上", "早晨", "上午"):
        return [h]
    if p == "中午":
        return [h if h >= 11 else h + 12]
    if p is not None:  # 下午, 傍晚, 晚上, 今晚, 夜里, 夜间
        return [h + 12 if h < 12 else h]
    if h == 24:
        return [24]
    return [h, h + 12] if h < 12 else [h]


def _nearest_date(spoken: SpokenTime, at: datetime) -> date:
    years = [spoken.year] if spoken.year else [at.year - 1, at.year, at.year + 1]
    out: list[date] = []
    for y in years:
        try:
            out.append(date(y, int(spoken.month or 1), int(spoken.day or 1)))
        except ValueError:
            continue
    if not out:
        return at.date()
    return min(out, key=lambda d: abs((d - at.date()).days))


def _signed_distance(at: datetime, lo: datetime, hi: datetime) -> float:
    """Seconds the statement is ahead of (+) or behind (-) the file's clock; 0 inside [lo, hi)."""
    if at < lo:
        return (lo - at).total_seconds()
    if at >= hi:
        return -(at - hi).total_seconds()
    return 0.0


def fmt_difference(seconds: float) -> str:
    s = int(round(abs(seconds)))
    d, rem = divmod(s, 86400)
    h, rem = divmod(rem, 3600)
    m, sec = divmod(rem, 60)
    if d:
        return f"{d} 天 {h} 小时" if h else f"{d} 天"
    if h:
        return f"{h} 小时 {m} 分"
    if m:
        return f"{m} 分 {sec} 秒" if sec else f"{m} 分钟"
    return f"{sec} 秒"


def _iso(t: datetime | None) -> str | None:
    return t.isoformat(timespec="seconds") if t is not None else None


def _fmt_dt(t: datetime | None) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S") if t is not None else "—"


def _spoken_iso(spoken: SpokenTime, lo: datetime) -> str:
    if not spoken.has_time:
        return lo.date().isoformat()
    return lo.isoformat(timespec="minutes")


# --------------------------------------------------------------------------- a recording or case


def check_clocks(
    matches: Sequence[PhraseMatch],
    continuity: ContinuityReport | None,
    transcripts: Mapping[str, Transcript],
    probes: Mapping[str, Probe],
    guide: Guide,
) -> tuple[ClockCheck, ...]:
    """The opening's stated time, and every resume statement that states one, against the clock of
    the file it was said in. The opening is checked even when it says no time (then `unchecked`)."""
    s = ClockSettings.from_guide(guide)
    files: tuple[CaseFile, ...] = tuple(continuity.files) if continuity else ()
    starts: dict[str, FileStart] = {}

    def start_of(path: str) -> FileStart:
        if path not in starts:
            starts[path] = file_start(
                path, probes.get(path), utc_offset_h=s.utc_offset_h, patterns=s.patterns
            )
        return starts[path]

    out: list[ClockCheck] = []
    opening = _opening(matches, guide)
    first = files[0].path if files else next(iter(transcripts), "")
    if opening is None or opening.status == "absent" or opening.start_s is None:
        if first:
            out.append(compare(SpokenTime("absent"), start_of(first), 0.0, s, file=first, start_s=None))
    else:
        path, t = _locate(opening.start_s, files, first)
        spoken = _opening_time(opening, transcripts.get(path), t, s.sentence_pause_s)
        out.append(compare(spoken, start_of(path), t, s, file=path, start_s=opening.start_s))
    offsets = {f.path: f.offset_s for f in files}
    for r in continuity.resumptions if continuity else ():
        ev = r.after
        transcript = transcripts.get(ev.file)
        if transcript is None:
            continue
        at = ev.file_end_s if ev.file_end_s is not None else ev.file_start_s
        for seg in transcript.segments:
            if seg.end <= at or seg.start >= at + s.resume_window_s:
                continue
            spoken = read_spoken_time(seg.text)
            if spoken.state == "absent":
                continue
            t = max(at, float(seg.start))
            out.append(
                compare(spoken, start_of(ev.file), t, s, role="resumption", file=ev.file,
                        start_s=t + offsets.get(ev.file, 0.0))
            )  # fmt: skip
            break
    return tuple(out)


def _opening(matches: Sequence[PhraseMatch], guide: Guide) -> PhraseMatch | None:
    """The match of the phrase that opens a recording with the time: a phrase required always whose
    wording has a time slot (the guide's opening)."""
    for p in guide.phrases:
        if p.required == "always" and any(getattr(x, "kind", "") == "time" for x in p.slots):
            return next((m for m in matches if m.phrase_id == p.id), None)
    return None


def _opening_time(
    opening: PhraseMatch,
    transcript: Transcript | None,
    file_time_s: float,
    sentence_pause_s: float = DEFAULT_SENTENCE_PAUSE_S,
) -> SpokenTime:
    """The opening's `time` slot when it reads as a time of day; else the words of the opening and of
    the sentence it starts in (the slot may have caught 88号 of the place, or 22月 of a garbled year),
    with the sentence just before it when no pause parts them (Whisper can end a segment at the time:
    今天下午2点半。| 我们在…). A slot that stops at the hour (上午10点 of 上午10点一刻) gives way to the
    sentence's reading of the same hour with its minutes."""
    slot = next((v for k, v in opening.slots.items() if k == "time" and v), "")
    from_slot = read_spoken_time(slot) if slot else SpokenTime("absent")
    if from_slot.state != "read" or not from_slot.has_time:
        from_slot = SpokenTime("absent")
    texts = [opening.text]
    if transcript is not None:
        around = [
            seg
            for seg in transcript.segments
            if seg.end > file_time_s - 1.0 and seg.start < file_time_s + 1.0
        ]
        first = min((seg.start for seg in around), default=file_time_s)
        before = [seg for seg in transcript.segments if first - sentence_pause_s <= seg.end <= first]
        texts.insert(0, "".join(seg.text for seg in [*before[-1:], *around]))
    readings = [read_spoken_time(t) for t in texts if t]
    if from_slot.state == "read":
        finer = (
            r
            for r in readings
            if r.state == "read" and r.has_time and from_slot.minute is None and r.minute is not None
            and (r.period, r.hour) == (from_slot.period, from_slot.hour)
        )  # fmt: skip
        return next(finer, from_slot)
    for r in readings:
        if r.state == "read" and r.has_time:
            return r
    for state in ("garbled", "read"):
        for r in readings:
            if r.state == state:
                return r
    return SpokenTime("absent")


def _locate(t: float, files: Sequence[CaseFile], first: str) -> tuple[str, float]:
    chosen = files[0] if files else None
    for f in files:
        if f.offset_s <= t + 1e-6:
            chosen = f
    if chosen is None:
        return first, max(0.0, t)
    return chosen.path, max(0.0, t - chosen.offset_s)
