"""Training mode: a trainee reads a standard phrase (or a whole scenario) and gets precise feedback.

Built on the same pipeline as the reviewer tools - transcribe -> normalize -> match - so what a trainee
is told is exactly what a reviewer's report would say. Adds what only training needs: the speaking rate,
filler words (counted on the raw transcript, before normalization strips them), which other phrase an
attempt resembles, order mistakes within a scenario, one concrete tip for the worst point, and a
per-trainee SQLite history (best / latest score per phrase, weak phrases).
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from analyzer.match import (
    PhraseMatch,
    TextIndex,
    guide_match_settings,
    mark_diff,
    match_normalized,
    normalize_for,
)

if TYPE_CHECKING:
    from analyzer.guide import Guide, Phrase
    from analyzer.speakers import Speakers
    from analyzer.transcribe import Transcript

DEFAULT_DB_ENV = "SCRIPTCHECK_TRAINING_DB"
_HAN = re.compile(r"[\u3400-\u9fff]")
STATUS_ZH = {"present": "完整", "partial": "不完整", "absent": "未识别到"}


@dataclass
class PhraseFeedback:
    phrase_id: str
    title: str
    score: float
    status: str
    standard: str  # the wording it was compared with, slots as 【标题】
    said: str  # what was heard
    marked: str  # the standard with mistakes marked: [缺:x] [错:x→y] [多:x]
    diff: list[dict] = field(default_factory=list)
    missing_terms: list[str] = field(default_factory=list)
    homophone_terms: list[str] = field(default_factory=list)  # heard only by sound (身边权 for 申辩权)
    slots: dict[str, str] = field(default_factory=dict)
    missing_slots: list[str] = field(default_factory=list)  # Chinese titles
    implausible_slots: list[str] = field(default_factory=list)  # Chinese titles
    start_s: float | None = None
    end_s: float | None = None
    tip: str = ""  # the guide's tip for this phrase
    notes: list[str] = field(default_factory=list)  # Chinese, one line each


@dataclass
class AttemptFeedback:
    target: str  # phrase id or scenario (profile) id
    kind: str  # "phrase" | "scenario"
    title: str
    score: float  # 0-100
    phrases: list[PhraseFeedback]
    transcript_text: str
    duration_s: float
    speech_s: float
    chars_per_s: float
    too_fast: bool
    too_slow: bool
    fillers: dict[str, int]
    order_mistakes: list[str] = field(default_factory=list)
    resembles: str | None = None  # phrase id the attempt sounds like, when it is not the target
    resembles_title: str = ""
    resembles_score: float = 0.0
    tip: str = ""  # one concrete tip for the worst point
    notes: list[str] = field(default_factory=list)
    trainee: str | None = None
    attempt_id: int | None = None
    guide_id: str = ""
    voices: int | None = None  # distinct voices heard in the attempt (analyzer.speakers); None = not checked
    other_voice_phrases: list[str] = field(default_factory=list)  # phrases said by a voice not the trainee

    def to_dict(self) -> dict:
        return asdict(self)

    def format_text(self) -> str:
        return format_feedback(self)


# -- what can be practised --------------------------------------------------------------------------


def practice_targets(guide: Guide) -> list[dict]:
    """Phrases and scenario scripts a trainee can pick, with the wording to read (for CLI and web)."""
    out = [
        {
            "id": p.id,
            "kind": "phrase",
            "title": p.title,
            "standards": [p.display(i) for i in range(len(p.standards))],
            "example": p.example(0),
            "tip": p.tip,
        }
        for p in guide.phrases
    ]
    for pr in guide.profiles:
        out.append(
            {
                "id": pr.id,
                "kind": "scenario",
                "title": pr.title,
                "phrases": list(pr.sequence),
                "standards": [guide.phrase(x).display(0) for x in pr.sequence],
                "example": "".join(guide.phrase(x).example(0) + "。" for x in pr.sequence),
                "tip": pr.description,
            }
        )
    return out


# -- evaluation -----------------------------------------------------------------------------------


def evaluate_attempt(
    audio_path: str | Path,
    target: str,
    guide: Guide,
    trainee: str | None = None,
    store: TrainingStore | str | Path | None = None,
    *,
    transcript: Transcript | None = None,
) -> AttemptFeedback:
    """Transcribe a recorded attempt and give feedback for `target` (a phrase id or a scenario id);
    with `trainee` and `store` the attempt is saved to that trainee's history."""
    from analyzer.media import load_audio, probe
    from analyzer.vad import speech_probs

    info = probe(str(audio_path)) if transcript is None else None  # its error names an empty file
    audio = load_audio(str(audio_path))
    probs = speech_probs(audio)
    if transcript is None:
        from analyzer.coverage import CoverageSettings
        from analyzer.pipeline import covered_transcript
        from analyzer.transcribe import TranscribeOptions

        # decoded as `analyze` decodes, coverage pass included: a window Whisper ends early must not
        # cost the trainee a sentence they said
        coverage = CoverageSettings.from_settings(guide.settings)
        transcript = covered_transcript(audio, probs, TranscribeOptions(), coverage, probe=info)
    feedback = evaluate_transcript(transcript, target, guide, audio=(audio, probs))
    if trainee and store is not None:
        db = store if isinstance(store, TrainingStore) else TrainingStore(store)
        feedback.trainee = trainee
        feedback.attempt_id = db.record(trainee, feedback, audio_path=str(audio_path))
    return feedback


def evaluate_transcript(
    transcript: Transcript, target: str, guide: Guide, *, audio: tuple | None = None
) -> AttemptFeedback:
    """Feedback for an attempt already transcribed (the part of evaluate_attempt that needs no model).

    With `audio` (16 kHz samples, VAD frame probabilities) the attempt is checked to be one voice: a
    phrase said by someone else is said so and does not count for the trainee."""
    ids = {p.id for p in guide.phrases}
    profiles = {p.id: p for p in guide.profiles}
    if target in ids:
        kind, sequence, title = "phrase", (target,), guide.phrase(target).title
    elif target in profiles:
        kind, sequence, title = "scenario", profiles[target].sequence, profiles[target].title
    else:
        raise KeyError(f"用语指引 {guide.id} 中没有用语或情景 {target!r}")
    cfg = guide_match_settings(guide)
    norm = normalize_for(transcript, guide)
    matches = {m.phrase_id: m for m in match_normalized(TextIndex(norm), guide)}
    speakers = _speakers(audio, transcript, list(matches.values()), guide) if audio is not None else None
    if speakers is not None:
        from analyzer.speakers import attribute_matches

        matches = {m.phrase_id: m for m in attribute_matches(list(matches.values()), speakers, guide)}
    phrase_fb = [_phrase_feedback(guide.phrase(pid), matches[pid]) for pid in sequence]
    weights = [guide.phrase(pid).weight or 1.0 for pid in sequence]
    score = round(sum(f.score * w for f, w in zip(phrase_fb, weights, strict=True)) / sum(weights), 1)

    speech_s = _speech_seconds(transcript)
    n_chars = len(_HAN.findall(norm.text)) + sum(c.isdigit() for c in norm.text)
    rate = n_chars / speech_s if speech_s > 0 else 0.0
    too_fast = rate > guide.setting("max_chars_per_s", 6.0)
    too_slow = 0 < rate < guide.setting("min_chars_per_s", 1.5) and n_chars >= 6
    fillers = count_fillers(transcript.text, guide.fillers, [guide.phrase(pid).example() for pid in sequence])

    fb = AttemptFeedback(
        target=target,
        kind=kind,
        title=title,
        score=score,
        phrases=phrase_fb,
        transcript_text=transcript.text,
        duration_s=transcript.duration_s,
        speech_s=round(speech_s, 2),
        chars_per_s=round(rate, 2),
        too_fast=too_fast,
        too_slow=too_slow,
        fillers=fillers,
        guide_id=guide.id,
    )
    if speakers is not None:
        fb.voices = len(speakers.voices)
        fb.other_voice_phrases = [pid for pid in sequence if matches[pid].said_by_other]
    if kind == "scenario":
        fb.order_mistakes = _order_mistakes(guide, sequence, matches)
    else:
        _find_resemblance(fb, target, matches, guide, cfg)
    fb.notes = _attempt_notes(fb, guide)
    fb.tip = _worst_point_tip(fb, guide)
    return fb


def _speech_seconds(transcript: Transcript) -> float:
    """Time actually spent speaking: first to last word of every segment (segment bounds as fallback)."""
    total = 0.0
    for seg in transcript.segments:
        words = [w for w in seg.words if w.text.strip()]
        if words:
            total += max(0.0, words[-1].end - words[0].start)
        else:
            total += max(0.0, seg.end - seg.start)
    return total


def count_fillers(text: str, fillers: Iterable[str], expected_texts: Iterable[str] = ()) -> dict[str, int]:
    """Filler words in the raw (Simplified) transcript, minus those the standard wording itself contains."""
    expected = "".join(expected_texts)
    out: dict[str, int] = {}
    for word in sorted(set(fillers), key=len, reverse=True):
        n = text.count(word) - expected.count(word)
        # a longer filler (那个) already counted must not count again as its parts
        if n > 0:
            out[word] = n
            text = text.replace(word, " ")
    return out


def _phrase_feedback(phrase: Phrase, m: PhraseMatch) -> PhraseFeedback:
    titles = {s.name: (s.title or s.name) for s in phrase.slots}
    fb = PhraseFeedback(
        phrase_id=phrase.id,
        title=phrase.title,
        score=m.score,
        status=m.status,
        standard=m.standard,
        said=m.text,
        marked=mark_diff(m.diff) if m.status != "absent" else "",
        diff=[asdict(d) for d in m.diff] if m.status != "absent" else [],
        missing_terms=list(m.missing_terms),
        homophone_terms=list(m.homophone_terms),
        slots={titles.get(k, k): v for k, v in m.slots.items()},
        missing_slots=[titles.get(k, k) for k in m.missing_slots] if m.status != "absent" else [],
        implausible_slots=[titles.get(k, k) for k in m.implausible_slots],
        start_s=m.start_s,
        end_s=m.end_s,
        tip=phrase.tip,
    )
    notes = [f"「{phrase.title}」得分 {m.score:.0f}（{STATUS_ZH[m.status]}）"]
    if m.status == "absent":
        notes.append("没有识别到这条规范用语。")
    else:
        if m.missing_terms:
            notes.append("漏说关键词：" + "、".join(m.missing_terms))
        if m.homophone_terms:
            notes.append("关键词发音不清（识别成了近音字）：" + "、".join(m.homophone_terms))
        if fb.missing_slots:
            notes.append("未说出：" + "、".join(f"【{t}】" for t in fb.missing_slots))
        if fb.implausible_slots:
            bad = "、".join(f"【{t}】“{fb.slots.get(t, '')}”" for t in fb.implausible_slots)
            notes.append("内容不像应有的样子，请说具体：" + bad)
        wrong = [d for d in m.diff if d.op == "wrong" and not d.standard.startswith("【")]
        if wrong:
            notes.append("说错或听不清：" + "、".join(f"“{d.standard}”说成了“{d.said}”" for d in wrong[:4]))
        extra = [d.said for d in m.diff if d.op == "extra"]
        if extra:
            notes.append("多说了：" + "、".join(f"“{e}”" for e in extra[:3]))
    fb.notes = notes
    return fb


def _order_mistakes(guide: Guide, sequence: tuple[str, ...], matches: dict[str, PhraseMatch]) -> list[str]:
    """Phrases of the scenario said in the wrong order (scenario order and the guide's order rules)."""
    said = [
        (matches[p].start_s, p)
        for p in sequence
        if matches[p].status != "absent" and matches[p].start_s is not None
    ]
    out: list[str] = []
    pairs = {(a, b) for i, a in enumerate(sequence) for b in sequence[i + 1 :]}
    pairs |= {(r.first, r.then) for r in guide.order_rules if r.first in sequence and r.then in sequence}
    at = {p: t for t, p in said}
    for a, b in sorted(pairs, key=lambda ab: (sequence.index(ab[0]), sequence.index(ab[1]))):
        if a in at and b in at and at[a] > at[b]:
            out.append(f"「{guide.phrase(a).title}」应在「{guide.phrase(b).title}」之前说")
    return out


def _find_resemblance(
    fb: AttemptFeedback, target: str, matches: dict[str, PhraseMatch], guide: Guide, cfg: dict[str, float]
) -> None:
    """When the attempt is weak for its target, name the phrase it does sound like."""
    if matches[target].score >= cfg["present_score"]:
        return
    others = [m for pid, m in matches.items() if pid != target]
    best = max(others, key=lambda m: m.score, default=None)
    if best is not None and best.score >= cfg["partial_score"] and best.score > matches[target].score:
        fb.resembles = best.phrase_id
        fb.resembles_title = guide.phrase(best.phrase_id).title
        fb.resembles_score = best.score


def _attempt_notes(fb: AttemptFeedback, guide: Guide) -> list[str]:
    notes = []
    limit = guide.setting("max_chars_per_s", 6.0)
    if fb.too_fast:
        notes.append(
            f"语速过快：约 {fb.chars_per_s:.1f} 字/秒（建议不超过 {limit:g} 字/秒），当事人可能听不清。"
        )
    elif fb.too_slow:
        notes.append(f"语速过慢或停顿过多：约 {fb.chars_per_s:.1f} 字/秒。")
    else:
        notes.append(f"语速：约 {fb.chars_per_s:.1f} 字/秒。")
    if fb.fillers:
        n = sum(fb.fillers.values())
        words = "、".join(f"“{k}”×{v}" for k, v in fb.fillers.items())
        flag = "偏多" if n > guide.setting("max_fillers", 2) else ""
        notes.append(f"口头语{flag}：{words}")
    if fb.resembles:
        notes.append(
            f"这段话更像「{fb.resembles_title}」（{fb.resembles_score:.0f} 分），而不是「{fb.title}」。"
        )
    notes.extend(fb.order_mistakes)
    if fb.voices is not None and fb.voices > 1:
        notes.append(f"录音中听到 {fb.voices} 个人的声音：练习应由本人独自完成。")
    for pid in fb.other_voice_phrases:
        notes.append(f"「{guide.phrase(pid).title}」是另一个人说的，不计入本人的成绩。")
    return notes


def _speakers(audio: tuple, transcript: Transcript, matches: list[PhraseMatch], guide: Guide) -> Speakers:
    """The trainee is the voice closest to the microphone (the wearer rule of analyzer.speakers)."""
    from analyzer.speakers import identify

    samples, probs = audio
    spans = [(m.phrase_id, m.start_s, m.end_s) for m in matches if m.status != "absent"]
    return identify([(samples, probs, 0.0)], transcript, spans, guide)


def _worst_point_tip(fb: AttemptFeedback, guide: Guide) -> str:
    """One concrete tip for the point that costs the most."""
    worst = min(fb.phrases, key=lambda p: p.score)
    phrase = guide.phrase(worst.phrase_id)
    if fb.resembles:
        return f"你说的是「{fb.resembles_title}」。本题要求「{fb.title}」，标准说法：{phrase.display(0)}"
    if worst.status == "absent":
        return f"「{worst.title}」没有说出来。标准说法：{phrase.display(0)}"
    must = [t.term for t in phrase.key_terms if t.term in worst.missing_terms and (t.must or t.essential)]
    if must or worst.missing_terms:
        term = (must or worst.missing_terms)[0]
        return f"「{worst.title}」漏了关键词“{term}”。{phrase.tip}"
    if worst.missing_slots:
        return f"「{worst.title}」没有说出【{worst.missing_slots[0]}】，要说具体内容。{phrase.tip}"
    if worst.implausible_slots:
        return f"「{worst.title}」中【{worst.implausible_slots[0]}】说得不具体，请按规范说出明确内容。"
    if fb.order_mistakes:
        return f"顺序有误：{fb.order_mistakes[0]}。"
    if fb.too_fast:
        return f"放慢语速，一字一句说清楚（现在约 {fb.chars_per_s:.1f} 字/秒，建议 4～5 字/秒）。"
    if worst.homophone_terms:
        return f"“{worst.homophone_terms[0]}”要咬字清楚，现在听起来像近音字。"
    if sum(fb.fillers.values()) > guide.setting("max_fillers", 2):
        return "减少“嗯”“那个”“就是”等口头语，先想好再开口。"
    wrong = [d for d in worst.diff if d["op"] in ("wrong", "missing") and not d["standard"].startswith("【")]
    if wrong:
        d = wrong[0]
        return (
            f"「{worst.title}」中“{d['standard']}”"
            + (f"说成了“{d['said']}”" if d["said"] else "漏说了")
            + "，请照标准用语说。"
        )
    return f"很好。{phrase.tip}" if worst.score < 100 else "很好，保持。"


# -- presentation -----------------------------------------------------------------------------------


def format_feedback(fb: AttemptFeedback) -> str:
    kind = "用语" if fb.kind == "phrase" else "情景"
    lines = [f"训练{kind}：{fb.title}（{fb.target}）  总分：{fb.score:.0f}"]
    if fb.trainee:
        lines[0] += f"  学员：{fb.trainee}"
    lines.append(f"识别结果：{fb.transcript_text}")
    for p in fb.phrases:
        lines.append("")
        lines.append(f"■ {p.title}  得分 {p.score:.0f}（{STATUS_ZH.get(p.status, p.status)}）")
        lines.append(f"  标准：{p.standard}")
        if p.status != "absent":
            lines.append(f"  所说：{p.said}")
            lines.append(f"  比对：{p.marked}")
        lines.extend(f"  - {n}" for n in p.notes[1:])
    lines.append("")
    lines.extend(f"· {n}" for n in fb.notes)
    lines.append(f"改进建议：{fb.tip}")
    return "\n".join(lines)


# -- per-trainee history (SQLite) -----------------------------------------------------------------------


@dataclass(frozen=True)
class PhraseProgress:
    phrase_id: str
    attempts: int
    best: float
    latest: float
    latest_at: str
    weak: bool


def default_db_path() -> Path:
    env = os.environ.get(DEFAULT_DB_ENV)
    return Path(env) if env else Path.home() / ".scriptcheck" / "training.sqlite"


class TrainingStore:
    """Attempts per trainee in SQLite: one row per attempt, one row per phrase scored in it."""

    SCHEMA = """
    CREATE TABLE IF NOT EXISTS attempts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        trainee TEXT NOT NULL,
        target TEXT NOT NULL,
        kind TEXT NOT NULL,
        guide_id TEXT NOT NULL,
        score REAL NOT NULL,
        created_at TEXT NOT NULL,
        audio_path TEXT,
        feedback_json TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS phrase_scores (
        attempt_id INTEGER NOT NULL REFERENCES attempts(id) ON DELETE CASCADE,
        trainee TEXT NOT NULL,
        phrase_id TEXT NOT NULL,
        score REAL NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS phrase_scores_trainee ON phrase_scores(trainee, phrase_id);
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else default_db_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as con:
            con.executescript(self.SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=10)
        con.execute("PRAGMA foreign_keys = ON")
        return con

    def record(self, trainee: str, fb: AttemptFeedback, audio_path: str | None = None) -> int:
        now = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime())
        with self._connect() as con:
            cur = con.execute(
                "INSERT INTO attempts (trainee, target, kind, guide_id, score, created_at, audio_path,"
                " feedback_json)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    trainee,
                    fb.target,
                    fb.kind,
                    fb.guide_id,
                    fb.score,
                    now,
                    audio_path,
                    json.dumps(fb.to_dict(), ensure_ascii=False),
                ),
            )
            attempt_id = int(cur.lastrowid)
            con.executemany(
                "INSERT INTO phrase_scores (attempt_id, trainee, phrase_id, score, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                [(attempt_id, trainee, p.phrase_id, p.score, now) for p in fb.phrases],
            )
        return attempt_id

    def progress(self, trainee: str, weak_score: float = 70.0) -> list[PhraseProgress]:
        """Best and latest score per phrase practised, in order of first practice."""
        with self._connect() as con:
            rows = con.execute(
                "SELECT phrase_id, score, created_at, attempt_id FROM phrase_scores WHERE trainee = ?"
                " ORDER BY attempt_id",
                (trainee,),
            ).fetchall()
        out: dict[str, PhraseProgress] = {}
        for phrase_id, score, created_at, _ in rows:
            old = out.get(phrase_id)
            best = max(score, old.best) if old else score
            n = old.attempts + 1 if old else 1
            out[phrase_id] = PhraseProgress(phrase_id, n, best, score, created_at, score < weak_score)
        return list(out.values())

    def attempts(self, trainee: str, limit: int = 50) -> list[dict]:
        with self._connect() as con:
            rows = con.execute(
                "SELECT id, target, kind, score, created_at FROM attempts WHERE trainee = ?"
                " ORDER BY id DESC LIMIT ?",
                (trainee, limit),
            ).fetchall()
        return [dict(zip(("id", "target", "kind", "score", "created_at"), r, strict=True)) for r in rows]

    def feedback(self, attempt_id: int) -> dict | None:
        with self._connect() as con:
            row = con.execute("SELECT feedback_json FROM attempts WHERE id = ?", (attempt_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def trainees(self) -> list[str]:
        with self._connect() as con:
            return [r[0] for r in con.execute("SELECT DISTINCT trainee FROM attempts ORDER BY trainee")]

    def weak_phrases(self, trainee: str, guide: Guide) -> list[str]:
        """Practised phrases whose latest score is still below the guide's weak_score."""
        weak = guide.setting("weak_score", 70.0)
        seen = {p.phrase_id: p for p in self.progress(trainee, weak)}
        return [p.id for p in guide.phrases if p.id in seen and seen[p.id].latest < weak]

    def unpractised(self, trainee: str, guide: Guide) -> list[str]:
        seen = {p.phrase_id for p in self.progress(trainee)}
        return [p.id for p in guide.phrases if p.id not in seen]


def format_history(store: TrainingStore, trainee: str, guide: Guide) -> str:
    weak_score = guide.setting("weak_score", 70.0)
    progress = store.progress(trainee, weak_score)
    if not progress:
        return f"学员 {trainee} 还没有训练记录。"
    lines = [f"学员：{trainee}", "用语\t名称\t次数\t最好\t最近\t最近时间\t状态"]
    ids = {p.id for p in guide.phrases}
    for p in progress:
        title = guide.phrase(p.phrase_id).title if p.phrase_id in ids else p.phrase_id
        state = (
            "薄弱"
            if p.weak
            else ("掌握" if p.latest >= guide.setting("training_pass_score", 85.0) else "一般")
        )
        lines.append(
            f"{p.phrase_id}\t{title}\t{p.attempts}\t{p.best:.0f}\t{p.latest:.0f}\t{p.latest_at}\t{state}"
        )
    weak = store.weak_phrases(trainee, guide)
    if weak:
        lines.append("仍然薄弱：" + "、".join(guide.phrase(w).title for w in weak))
    todo = store.unpractised(trainee, guide)
    if todo:
        lines.append("尚未练习：" + "、".join(guide.phrase(w).title for w in todo))
    return "\n".join(lines)
