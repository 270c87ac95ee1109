"""Phrase guides (phrasebook/*.toml) loaded and validated into typed data.

Everything an agency may want to change (wording, key terms, weights, thresholds,
requirements, order, finding severities and messages) lives in the TOML, not here.
The format is documented in phrasebook/README.md.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PHRASEBOOK_DIR = Path(__file__).resolve().parent.parent / "phrasebook"
DEFAULT_GUIDE = "default"
REQUIRED_VALUES = ("always", "profile", "triggered", "optional")
# Placeholders a finding message may use (analyzer.rules fills them; the clock ones for clock_* codes).
MESSAGE_FIELDS = (
    "phrase", "start", "duration", "missing", "end", "detail", "score",
    "where", "spoken", "file_time", "source", "difference", "tolerance", "profile", "rival",
)  # fmt: skip
SEVERITIES = ("critical", "major", "minor", "info")
SLOT_RE = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
APART = "…"  # in a key-term form: "执法全过程…开始" = the parts in order, a few other characters between


# Settings with a bounded range: name -> (lowest value, must be a whole number, the rule in Chinese).
_SETTING_RULES: dict[str, tuple[float, bool, str]] = {
    "coverage_min_gap_s": (0.1, False, "应不小于 0.1 秒"),
    "coverage_tolerance_s": (0.0, False, "应不小于 0"),
    "coverage_max_char_s": (0.1, False, "应不小于 0.1 秒"),
    "coverage_min_logprob": (-10.0, False, "应不小于 -10"),
    "coverage_beam_size": (0.0, True, "应为不小于 0 的整数（0 = 不再次解码）"),
    "coverage_max_redecode_s": (0.0, False, "应不小于 0"),
    "resume_listen_unsure_s": (0.0, False, "应不小于 0 秒"),
    "listen_unsure_s": (0.0, False, "应不小于 0 秒"),
    "resume_unclear_min_score": (0.0, False, "应不小于 0（0–100 的匹配分）"),
    "resume_near_reason_min_score": (0.0, False, "应不小于 0（0–100 的匹配分）"),
    "listen_near_score": (0.0, False, "应不小于 0（0–100 的匹配分，0 = 关闭）"),
    "listen_near_term_score": (0.0, False, "应不小于 0（0–100 的匹配分，0 = 关闭）"),
    "listen_near_form_slots": (0.0, True, "应为不小于 0 的整数（0 = 关闭）"),
    "recheck_near_min_score": (0.0, False, "应不小于 0（0–100 的匹配分，0 = 关闭）"),
    "jump_onset_margin_s": (0.0, False, "应不小于 0 秒"),
    "jump_max_above_floor_db": (0.0, False, "应不小于 0 dB"),
    "jump_max_below_floor_db": (0.0, False, "应不小于 0 dB（0 = 关闭）"),
    "partial_min_other_terms": (0.0, True, "应为不小于 0 的整数（0 = 关闭）"),
    "partial_min_run_chars": (0.0, True, "应为不小于 0 的整数（0 = 关闭）"),
}
# Shares (0..1) among the settings: a value above 1 could never be reached, so the rule would be off.
_SHARE_SETTINGS = ("listen_unsure_share", "other_phrase_listen_below", "recheck_prompt_min_agreement")


class GuideError(Exception):
    """Invalid guide. str(err) names the file, the entry and the field (and the line when known)."""


# [settings.speakers] (analyzer/speakers.py): the meaningful range of each; a value outside is an error.
SPEAKER_SETTING_RANGES: dict[str, tuple[float, float]] = {
    **{
        f"speaker_weight_{k}": (0.0, 100.0)
        for k in ("level", "dryness", "drr", "lowfreq", "phrases", "says_phrases", "asks")
    },
    **{f"speaker_{k}_scale_db": (0.1, 60.0) for k in ("level", "dryness", "drr", "lowfreq")},
    "speaker_window_s": (0.3, 10.0),
    "speaker_min_window_s": (0.05, 10.0),
    "speaker_pause_s": (0.05, 5.0),
    "speaker_vad_threshold": (0.05, 0.95),
    "speaker_channel_weight": (0.0, 100.0),
    "speaker_bic_penalty": (0.0, 100.0),
    "speaker_bic_penalty_noisy": (0.0, 100.0),
    "speaker_min_held_out_gain": (-10.0, 10.0),
    "speaker_shrink_frames": (0.0, 1_000_000.0),
    "speaker_max_voices": (1, 50),
    "speaker_max_windows": (10, 100_000),
    "speaker_min_voice_s": (0.0, 600.0),
    "speaker_frame_above_noise_db": (0.0, 60.0),
    "speaker_noise_max_s": (1.0, 3600.0),
    "speaker_gate_below_snr_db": (-100.0, 200.0),
    "speaker_asks_below_snr_db": (-100.0, 1000.0),
    "speaker_officer_must_ask": (0, 1),
    "speaker_wearer_margin": (0.0, 100.0),
    "speaker_wearer_reach": (0.0, 100.0),
    "speaker_confidence_scale": (0.01, 100.0),
    "speaker_officer_min_phrases": (1, 100),
    "speaker_gate_min_confidence": (0.0, 1.0),
    "speaker_change_min_share": (0.0, 1.0),
    "speaker_voice_margin": (0.0, 100.0),
    "speaker_smooth_runs": (0, 1),
}


@dataclass(frozen=True)
class Slot:
    name: str  # time, place, cause, licence, violation, law, article, amount, deadline, authority, court...
    kind: str  # how a filled slot is recognised (see normalize/match)
    pattern: str = ""  # regex on normalized text for what a filled slot looks like
    required: bool = True
    title: str = ""  # Chinese label
    max_len: int = 24  # longest plausible filled value, in normalized characters
    example: str = ""  # a plausible value, used to render example wordings (training, corpus)
    # words that make a value plausible also when heard only by their toneless pinyin (固涨 for 故障),
    # as key terms are: Whisper's choice of characters does not change what was said
    sound_words: tuple[str, ...] = ()
    # tried where `pattern` does not match at the slot's start: the word after the value misheard
    # (救神机 for 就审计) must not merge the place into the cause that follows it
    loose_pattern: str = ""


@dataclass(frozen=True)
class KeyTerm:
    term: str
    weight: float = 1.0
    alternatives: tuple[str, ...] = ()  # equivalent wordings (e.g. 行政复议 for 行政救济); "A…B": A then B
    essential: bool = False  # a phrase with essential terms is absent unless one of them is heard
    must: bool = False  # the phrase is at most partial while this term is not heard

    @property
    def forms(self) -> tuple[str, ...]:
        return (self.term, *self.alternatives)


@dataclass(frozen=True)
class Phrase:
    id: str
    title: str  # Chinese
    source: str  # where in the regulation / 用语指引 it comes from
    standards: tuple[str, ...]  # standard wordings; slots written as {name}
    slots: tuple[Slot, ...] = ()
    key_terms: tuple[KeyTerm, ...] = ()
    weight: float = 1.0  # share of the recording score
    required: str = "profile"  # "always" | "profile" | "triggered" | "optional"
    triggered_by: tuple[str, ...] = ()  # phrase ids (or "fine") whose presence makes this required
    tip: str = ""  # Chinese training tip
    trigger_terms: tuple[str, ...] = ()  # words in the transcript that make a triggered phrase required
    trigger_events: tuple[str, ...] = ()  # continuity events that make it required ("interruption")
    not_if_heard: tuple[str, ...] = ()  # words that, heard with it, make it another phrase (resume statement)
    officer_only: bool = False  # worded as only an officer speaks to a party: counts whoever's voice it is in

    def slot(self, name: str) -> Slot:
        for s in self.slots:
            if s.name == name:
                return s
        raise KeyError(name)

    def example(self, index: int = 0) -> str:
        """A standard wording with every slot filled by its example value (for training and the corpus)."""
        by_name = {s.name: s.example or s.title for s in self.slots}
        return SLOT_RE.sub(lambda m: by_name.get(m.group(1), ""), self.standards[index])

    def display(self, index: int = 0) -> str:
        """A standard wording with slots shown as 【标题】 for people."""
        by_name = {s.name: s.title or s.name for s in self.slots}
        return SLOT_RE.sub(lambda m: f"【{by_name.get(m.group(1), m.group(1))}】", self.standards[index])


@dataclass(frozen=True)
class OrderRule:
    first: str  # phrase id that must come first
    then: str  # phrase id that must come after
    code: str  # finding code when violated, e.g. rights_before_penalty
    only_if_both: bool = True


@dataclass(frozen=True)
class Profile:
    id: str  # inspection, on_site_penalty, investigation, service
    title: str
    requires: tuple[str, ...]  # phrase ids
    indicators: tuple[str, ...] = ()  # phrase ids / terms whose presence suggests this profile
    script: tuple[str, ...] = ()  # phrase ids in the order a trainee rehearses them (default: requires)
    description: str = ""

    @property
    def sequence(self) -> tuple[str, ...]:
        return self.script or self.requires


@dataclass(frozen=True)
class FindingDef:
    code: str
    severity: str  # critical | major | minor | info
    message: str  # Chinese template; may use {phrase}, {start}, {duration}, {missing}


@dataclass(frozen=True)
class Guide:
    id: str
    title: str
    version: str
    path: str
    phrases: tuple[Phrase, ...]
    profiles: tuple[Profile, ...]
    order_rules: tuple[OrderRule, ...] = ()
    findings: dict[str, FindingDef] = field(default_factory=dict)
    settings: dict[str, float] = field(default_factory=dict)  # thresholds, windows, weights
    fillers: tuple[str, ...] = ()  # filler words counted in training feedback (嗯, 那个 ...)
    strip_fillers: tuple[str, ...] = ()  # interjections removed before matching (嗯, 啊 ...)
    # [grouping] lists (device_tags, generic_names) for analyzer.grouping; only the keys the guide sets
    grouping: dict[str, tuple[str, ...]] = field(default_factory=dict)
    default_profile: str = ""
    agency: str = ""
    source: str = ""

    def phrase(self, phrase_id: str) -> Phrase:
        for p in self.phrases:
            if p.id == phrase_id:
                return p
        raise KeyError(phrase_id)

    def profile(self, profile_id: str) -> Profile:
        for p in self.profiles:
            if p.id == profile_id:
                return p
        raise KeyError(profile_id)

    def setting(self, name: str, default: float | None = None) -> float:
        if name in self.settings:
            return self.settings[name]
        if default is None:
            raise KeyError(f"guide {self.id} has no setting {name!r}")
        return default


def list_guides(directory: str | Path | None = None) -> list[Path]:
    """The guide files shipped in phrasebook/ (or another folder)."""
    folder = Path(directory) if directory else PHRASEBOOK_DIR
    return sorted(folder.glob("*.toml"))


def resolve_guide_path(name_or_path: str | Path | None = None) -> Path:
    if name_or_path is None or str(name_or_path) == "":
        return PHRASEBOOK_DIR / f"{DEFAULT_GUIDE}.toml"
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        return path
    return PHRASEBOOK_DIR / f"{name_or_path}.toml"


_CACHE: dict[tuple[str, float], Guide] = {}


def load_guide(name_or_path: str | Path | None = None) -> Guide:
    """Load and validate a guide: None = phrasebook/default.toml, a bare name = phrasebook/NAME.toml."""
    path = resolve_guide_path(name_or_path)
    try:
        stat = path.stat()
    except OSError as exc:
        raise GuideError(f"{path}: 无法读取用语指引文件 / cannot read guide ({exc.strerror})") from exc
    key = (str(path.resolve()), stat.st_mtime)
    if key not in _CACHE:
        _CACHE[key] = _Loader(path).load()
    return _CACHE[key]


class _Loader:
    """Turns one TOML file into a Guide; every error names file, entry, field and line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.raw = ""

    # -- error helpers -------------------------------------------------------------
    def _line_of(self, *needles: str) -> int | None:
        """Line of the first needle found in order (e.g. the entry's id, then the field) in the raw text."""
        pos = 0
        found = None
        for needle in needles:
            if not needle:
                continue
            i = self.raw.find(needle, pos)
            if i < 0:
                continue
            found = i
            pos = i
        return None if found is None else self.raw.count("\n", 0, found) + 1

    def error(self, entry: str, fld: str, cause: str, *needles: str) -> GuideError:
        line = self._line_of(*needles) if needles else None
        where = f"{self.path}" + (f":{line}" if line else "")
        return GuideError(f"{where}: {entry}: 字段 {fld}: {cause}")

    def _get(self, table: dict, key: str, kind: type | tuple, entry: str, needles: tuple, default: Any = ...):
        if key not in table:
            if default is ...:
                raise self.error(entry, key, "缺少必填字段 / missing", *needles)
            return default
        value = table[key]
        if isinstance(value, bool) and kind in (int, float, (int, float)):
            raise self.error(entry, key, f"应为数字，实际为 {value!r}", *needles, f"{key}")
        if not isinstance(value, kind):
            want = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            raise self.error(entry, key, f"类型应为 {want}，实际为 {type(value).__name__}", *needles, key)
        return value

    def _str_list(self, table: dict, key: str, entry: str, needles: tuple) -> tuple[str, ...]:
        value = self._get(table, key, list, entry, needles, default=[])
        for item in value:
            if not isinstance(item, str) or not item.strip():
                raise self.error(entry, key, f"列表中应为非空字符串，发现 {item!r}", *needles, key)
        return tuple(value)

    # -- loading -------------------------------------------------------------------
    def load(self) -> Guide:
        try:
            self.raw = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise GuideError(f"{self.path}: 无法读取 / cannot read: {exc}") from exc
        try:
            data = tomllib.loads(self.raw)
        except tomllib.TOMLDecodeError as exc:
            raise GuideError(f"{self.path}: TOML 语法错误 / syntax error: {exc}") from exc

        meta = self._get(data, "guide", dict, "[guide]", ("[guide]",))
        needles = ("[guide]",)
        gid = self._get(meta, "id", str, "[guide]", needles)
        settings = self._settings(data)
        slot_defs = self._slot_defs(data)
        phrases = self._phrases(data, slot_defs)
        ids = [p.id for p in phrases]
        profiles = self._profiles(data, ids)
        order_rules = self._order_rules(data, ids)
        findings = self._findings(data)
        for rule in order_rules:
            if rule.code not in findings:
                raise self.error(
                    f"[[order]] {rule.first}->{rule.then}",
                    "code",
                    f"未在 [findings] 中定义: {rule.code}",
                    rule.code,
                )
        fillers_tbl = self._get(data, "fillers", dict, "[fillers]", ("[fillers]",), default={})
        grouping = self._grouping(data)
        if settings.get("group_max_gap_s", 0.0) < 0:
            raise self.error(
                "[settings.grouping]",
                "group_max_gap_s",
                "不能为负数 / must not be negative",
                "group_max_gap_s =",
            )
        if settings.get("clock_check_tolerance_s", 1.0) <= 0:
            raise self.error(
                "[settings.clock]",
                "clock_check_tolerance_s",
                "应大于 0 / must be positive",
                "clock_check_tolerance_s =",
            )
        if settings.get("clock_sentence_pause_s", 0.0) < 0:
            raise self.error(
                "[settings.clock]",
                "clock_sentence_pause_s",
                "不能为负数 / must not be negative",
                "clock_sentence_pause_s =",
            )
        if not -12.0 <= settings.get("clock_utc_offset_h", 0.0) <= 14.0:
            raise self.error(
                "[settings.clock]",
                "clock_utc_offset_h",
                "时区应在 -12 到 14 小时之间 / must be a UTC offset between -12 and 14 hours",
                "clock_utc_offset_h =",
            )
        self._check_ranges(settings)
        default_profile = self._get(meta, "default_profile", str, "[guide]", needles, default="")
        if default_profile and default_profile not in {p.id for p in profiles}:
            raise self.error(
                "[guide]", "default_profile", f"未知的执法类型 {default_profile!r}", "default_profile"
            )
        return Guide(
            id=gid,
            title=self._get(meta, "title", str, "[guide]", needles),
            version=str(self._get(meta, "version", (str, int, float), "[guide]", needles)),
            path=str(self.path),
            phrases=tuple(phrases),
            profiles=tuple(profiles),
            order_rules=tuple(order_rules),
            findings=findings,
            settings=settings,
            fillers=self._str_list(fillers_tbl, "words", "[fillers]", ("[fillers]",)),
            strip_fillers=self._str_list(fillers_tbl, "strip", "[fillers]", ("[fillers]",)),
            grouping=grouping,
            default_profile=default_profile,
            agency=self._get(meta, "agency", str, "[guide]", needles, default=""),
            source=self._get(meta, "source", str, "[guide]", needles, default=""),
        )

    def _grouping(self, data: dict) -> dict[str, tuple[str, ...]]:
        table = self._get(data, "grouping", dict, "[grouping]", ("[grouping]",), default={})
        known = ("device_tags", "generic_names")
        for key in table:
            if key not in known:
                raise self.error(
                    "[grouping]",
                    key,
                    f"未知字段 / unknown key（可选：{', '.join(known)}）",
                    "[grouping]",
                    f"{key} =",
                )
        return {k: self._str_list(table, k, "[grouping]", ("[grouping]",)) for k in known if k in table}

    def _check_ranges(self, settings: dict[str, float]) -> None:
        """Speaker settings outside their meaningful range (a weight below 0, a share above 1)."""
        for key, (lo, hi) in SPEAKER_SETTING_RANGES.items():
            if key in settings and not lo <= settings[key] <= hi:
                cause = f"应在 {lo:g}–{hi:g} 之间 / must be within {lo:g}..{hi:g}"
                raise self.error("[settings.speakers]", key, cause, f"{key} =")

    def _settings(self, data: dict) -> dict[str, float]:
        """[settings] and its sub-tables flattened into one name -> number dict (names must be unique)."""
        table = self._get(data, "settings", dict, "[settings]", ("[settings]",), default={})
        flat: dict[str, float] = {}

        def walk(tbl: dict, prefix: str) -> None:
            for key, value in tbl.items():
                entry = f"[settings{'.' + prefix if prefix else ''}]"
                if isinstance(value, dict):
                    walk(value, f"{prefix}.{key}" if prefix else key)
                    continue
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise self.error(entry, key, f"应为数字，实际为 {value!r}", "[settings", f"{key} =")
                if key in flat:
                    raise self.error(
                        entry, key, "设置名重复 / duplicate setting name", "[settings", f"{key} ="
                    )
                flat[key] = float(value)

        walk(table, "")
        for key, (low, integral, why) in _SETTING_RULES.items():
            value = flat.get(key)
            if value is None:
                continue
            if value < low or (integral and not value.is_integer()):
                raise self.error("[settings]", key, f"{why}，实际为 {value:g}", "[settings", f"{key} =")
        for key, value in flat.items():
            if key.endswith("_listen_unsure_s") and value < 0:
                why = f"应不小于 0 秒，实际为 {value:g}"
                raise self.error("[settings]", key, why, "[settings", f"{key} =")
            if key.endswith(("_listen_near_score", "_listen_near_term_score")) and value < 0:
                why = f"应不小于 0（0–100 的匹配分，0 = 关闭），实际为 {value:g}"
                raise self.error("[settings]", key, why, "[settings", f"{key} =")
            if key.endswith(("listen_prompt_look", "recheck_prompt_near")) and value not in (0.0, 1.0):
                why = f"应为 0（关闭）或 1（开启），实际为 {value:g}"
                raise self.error("[settings]", key, why, "[settings", f"{key} =")
            integral = key.endswith(
                ("_partial_min_other_terms", "partial_other_terms_onward", "_listen_near_form_slots")
            )
            if integral and (value < 0 or not value.is_integer()):
                why = f"应为不小于 0 的整数（0 = 关闭），实际为 {value:g}"
                raise self.error("[settings]", key, why, "[settings", f"{key} =")
            shares = key in _SHARE_SETTINGS or key.endswith("partial_other_terms_share")
            if shares and not 0.0 <= value <= 1.0:
                why = f"应在 0–1 之间，实际为 {value:g}"
                raise self.error("[settings]", key, why, "[settings", f"{key} =")
        return flat

    def _slot_defs(self, data: dict) -> dict[str, dict]:
        table = self._get(data, "slots", dict, "[slots]", ("[slots",), default={})
        for name, spec in table.items():
            entry = f"[slots.{name}]"
            needles = (f"[slots.{name}]",)
            if not isinstance(spec, dict):
                raise self.error(entry, name, "应为表 / must be a table", *needles)
            self._get(spec, "kind", str, entry, needles)
            for key in ("pattern", "loose_pattern"):
                pattern = self._get(spec, key, str, entry, needles, default="")
                if pattern:
                    try:
                        re.compile(pattern)
                    except re.error as exc:
                        raise self.error(entry, key, f"正则表达式无效: {exc}", *needles, key) from exc
            self._get(spec, "max_len", int, entry, needles, default=24)
            self._str_list(spec, "sound_words", entry, needles)
        return table

    def _make_slot(self, name: str, spec: dict, required: bool) -> Slot:
        return Slot(
            name=name,
            kind=spec["kind"],
            pattern=spec.get("pattern", ""),
            required=required,
            title=spec.get("title", name),
            max_len=int(spec.get("max_len", 24)),
            example=spec.get("example", ""),
            sound_words=tuple(spec.get("sound_words", ())),
            loose_pattern=spec.get("loose_pattern", ""),
        )

    def _phrases(self, data: dict, slot_defs: dict[str, dict]) -> list[Phrase]:
        items = self._get(data, "phrases", list, "[[phrases]]", ("[[phrases]]",))
        if not items:
            raise self.error("[[phrases]]", "phrases", "至少需要一条用语 / no phrases", "[[phrases]]")
        phrases: list[Phrase] = []
        seen: set[str] = set()
        for n, item in enumerate(items, 1):
            if not isinstance(item, dict):
                raise self.error(f"[[phrases]] #{n}", "-", "应为表 / must be a table")
            pid = self._get(item, "id", str, f"[[phrases]] #{n}", ("[[phrases]]",))
            entry = f"[[phrases]] id={pid!r}"
            needles = (f'id = "{pid}"',)
            if pid in seen:
                raise self.error(entry, "id", "重复的用语 id / duplicate id", *needles)
            seen.add(pid)
            standards = self._str_list(item, "standards", entry, needles)
            if not standards:
                raise self.error(entry, "standards", "至少需要一种标准表述 / no standard wording", *needles)
            used = {m for s in standards for m in SLOT_RE.findall(s)}
            names = self._str_list(item, "slots", entry, needles)
            optional = self._str_list(item, "optional_slots", entry, needles)
            slots: list[Slot] = []
            for name in (*names, *optional):
                if name not in slot_defs:
                    raise self.error(entry, "slots", f"未在 [slots] 中定义的槽位 {name!r}", *needles, name)
                if name not in used:
                    raise self.error(
                        entry, "slots", f"槽位 {name!r} 未出现在任何 standards 中", *needles, name
                    )
                slots.append(self._make_slot(name, slot_defs[name], required=name in names))
            for name in used:
                if name not in names and name not in optional:
                    raise self.error(
                        entry, "standards", f"表述中的 {{{name}}} 未在 slots 中声明", *needles, name
                    )
            terms = self._key_terms(item, entry, needles)
            required = self._get(item, "required", str, entry, needles, default="profile")
            if required not in REQUIRED_VALUES:
                raise self.error(
                    entry,
                    "required",
                    f"应为 {'/'.join(REQUIRED_VALUES)}，实际为 {required!r}",
                    *needles,
                    "required",
                )
            weight = float(self._get(item, "weight", (int, float), entry, needles, default=1.0))
            if weight < 0:
                raise self.error(entry, "weight", "不能为负 / must be >= 0", *needles, "weight")
            phrases.append(
                Phrase(
                    id=pid,
                    title=self._get(item, "title", str, entry, needles),
                    source=self._get(item, "source", str, entry, needles, default=""),
                    standards=standards,
                    slots=tuple(slots),
                    key_terms=terms,
                    weight=weight,
                    required=required,
                    triggered_by=self._str_list(item, "triggered_by", entry, needles),
                    tip=self._get(item, "tip", str, entry, needles, default=""),
                    trigger_terms=self._str_list(item, "trigger_terms", entry, needles),
                    trigger_events=self._str_list(item, "trigger_events", entry, needles),
                    not_if_heard=self._str_list(item, "not_if_heard", entry, needles),
                    officer_only=bool(self._get(item, "officer_only", bool, entry, needles, default=False)),
                )
            )
        ids = {p.id for p in phrases}
        for p in phrases:
            for t in p.triggered_by:
                if t not in ids:
                    raise self.error(
                        f"[[phrases]] id={p.id!r}",
                        "triggered_by",
                        f"未知的用语 id {t!r}",
                        f'id = "{p.id}"',
                        "triggered_by",
                    )
        return phrases

    def _key_terms(self, item: dict, entry: str, needles: tuple) -> tuple[KeyTerm, ...]:
        raw_terms = self._get(item, "key_terms", list, entry, needles, default=[])
        terms: list[KeyTerm] = []
        for k, t in enumerate(raw_terms, 1):
            tentry = f"{entry} key_terms #{k}"
            if not isinstance(t, dict):
                raise self.error(tentry, "key_terms", "应为表 {term=..., weight=...}", *needles, "key_terms")
            term = self._get(t, "term", str, tentry, (*needles, "key_terms"))
            weight = float(self._get(t, "weight", (int, float), tentry, (*needles, term), default=1.0))
            if weight <= 0:
                raise self.error(tentry, "weight", "应大于 0 / must be > 0", *needles, term)
            alternatives = self._str_list(t, "alternatives", tentry, (*needles, term))
            for form in (term, *alternatives):
                parts = form.split(APART)
                if len(parts) > 1 and not all(re.search(r"[\u3400-\u9fff0-9A-Za-z]", p) for p in parts):
                    raise self.error(
                        tentry, "alternatives", f"“{form}”：省略号 {APART} 两侧都应有文字", *needles, form
                    )
            terms.append(
                KeyTerm(
                    term=term,
                    weight=weight,
                    alternatives=alternatives,
                    essential=bool(self._get(t, "essential", bool, tentry, (*needles, term), default=False)),
                    must=bool(self._get(t, "must", bool, tentry, (*needles, term), default=False)),
                )
            )
        return tuple(terms)

    def _profiles(self, data: dict, ids: list[str]) -> list[Profile]:
        items = self._get(data, "profiles", list, "[[profiles]]", ("[[profiles]]",), default=[])
        profiles = []
        for n, item in enumerate(items, 1):
            pid = self._get(item, "id", str, f"[[profiles]] #{n}", ("[[profiles]]",))
            entry = f"[[profiles]] id={pid!r}"
            needles = (f'id = "{pid}"',)
            requires = self._str_list(item, "requires", entry, needles)
            script = self._str_list(item, "script", entry, needles)
            for fld, values in (("requires", requires), ("script", script)):
                for phrase_id in values:
                    if phrase_id not in ids:
                        raise self.error(entry, fld, f"未知的用语 id {phrase_id!r}", *needles, fld)
            profiles.append(
                Profile(
                    id=pid,
                    title=self._get(item, "title", str, entry, needles),
                    requires=requires,
                    indicators=self._str_list(item, "indicators", entry, needles),
                    script=script,
                    description=self._get(item, "description", str, entry, needles, default=""),
                )
            )
        return profiles

    def _order_rules(self, data: dict, ids: list[str]) -> list[OrderRule]:
        items = self._get(data, "order", list, "[[order]]", ("[[order]]",), default=[])
        rules = []
        for n, item in enumerate(items, 1):
            entry = f"[[order]] #{n}"
            first = self._get(item, "first", str, entry, ("[[order]]",))
            then = self._get(item, "then", str, entry, ("[[order]]",))
            needles = (f'first = "{first}"', f'then = "{then}"')
            for fld, value in (("first", first), ("then", then)):
                if value not in ids:
                    raise self.error(f"{entry} {first}->{then}", fld, f"未知的用语 id {value!r}", *needles)
            rules.append(
                OrderRule(
                    first=first,
                    then=then,
                    code=self._get(item, "code", str, entry, needles, default="order_violation"),
                    only_if_both=self._get(item, "only_if_both", bool, entry, needles, default=True),
                )
            )
        return rules

    def _findings(self, data: dict) -> dict[str, FindingDef]:
        table = self._get(data, "findings", dict, "[findings]", ("[findings",), default={})
        out = {}
        for code, spec in table.items():
            entry = f"[findings.{code}]"
            needles = (f"[findings.{code}]",)
            if not isinstance(spec, dict):
                raise self.error(entry, code, "应为表 / must be a table", *needles)
            severity = self._get(spec, "severity", str, entry, needles)
            if severity not in SEVERITIES:
                raise self.error(
                    entry,
                    "severity",
                    f"应为 {'/'.join(SEVERITIES)}，实际为 {severity!r}",
                    *needles,
                    "severity",
                )
            message = self._get(spec, "message", str, entry, needles)
            try:
                message.format(**dict.fromkeys(MESSAGE_FIELDS, ""))
            except (KeyError, IndexError, ValueError) as exc:
                raise self.error(entry, "message", f"模板占位符无效: {exc}", *needles, "message") from exc
            out[code] = FindingDef(code=code, severity=severity, message=message)
        return out
