"""Who spoke: speaker turns, one voice per cluster, and which voice is the camera wearer.

Reviewers score what the officer said, so a phrase read aloud by a party must not satisfy the guide.
Speech (the VAD's frame probabilities, computed once per recording) is cut at pauses into short
windows; each window gets a voice embedding (MFCC statistics: numpy/scipy, no extra model, no torch)
and three distance cues. Windows are clustered per recording, or over the case timeline so a voice
keeps its `speaker_id` across the files of one case.

The wearer is the voice closest to the microphone: louder, with deeper dips between syllables
(a blind direct-to-reverberant proxy: reverberation fills the dips), more low-frequency energy
(proximity effect), and usually the one saying the guide's phrases. Each cue is compared between
voices and weighted by the guide (`[settings.speakers]`); the margin between the best and the second
voice is the decision's confidence. Another voice that says several distinct guide phrases is
`officer`; everyone else is `other`.

`attribute_matches` applies the result to phrase matches: a phrase said only by `other` becomes
absent for the rules, with what was heard kept in `said_by_other` so reports can show it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    from analyzer.guide import Guide
    from analyzer.match import PhraseMatch
    from analyzer.transcribe import Transcript

Role = Literal["wearer", "officer", "other"]
ROLES: tuple[str, ...] = ("wearer", "officer", "other")
ROLE_LABELS: dict[str, str] = {"wearer": "执法人员（佩戴者）", "officer": "其他执法人员", "other": "其他人员"}
SR = 16_000
N_FFT = 512
HOP = 160  # 10 ms
N_MELS = 40
N_MFCC = 20

# Defaults of [settings.speakers]; a guide overrides each by name.
DEFAULTS: dict[str, float] = {
    "speaker_window_s": 1.5,  # longest analysis window; pauses of speaker_pause_s cut windows too
    "speaker_min_window_s": 0.4,  # shorter speech pieces are attributed from their neighbours
    "speaker_pause_s": 0.25,  # a pause this long may be a change of speaker
    "speaker_vad_threshold": 0.5,
    "speaker_cluster_distance": 0.13,  # average-linkage cosine distance that still joins two voices
    "speaker_max_voices": 8,
    "speaker_max_windows": 3000,  # more windows: clustered on a subsample, the rest by nearest voice
    "speaker_min_voice_s": 1.0,  # a voice with less speech joins its nearest voice
    "speaker_weight_level": 1.0,  # wearer cues: weight per scale of difference between voices
    "speaker_level_scale_db": 6.0,
    "speaker_weight_drr": 1.0,
    "speaker_drr_scale_db": 6.0,
    "speaker_weight_lowfreq": 0.5,
    "speaker_lowfreq_scale_db": 3.0,
    "speaker_weight_phrases": 1.0,  # share of the guide phrases heard in that voice
    "speaker_wearer_margin": 0.5,  # a voice this close to the best wearer score is the wearer too
    "speaker_confidence_scale": 1.0,  # margin of this many weighted units = confidence 0.73
    "speaker_officer_min_phrases": 3,  # a non-wearer voice saying this many distinct phrases is an officer
    "speaker_gate_min_confidence": 0.6,  # below: phrases by `other` still count, and a note says why
    "speaker_change_min_share": 0.25,  # a segment with this share of another voice is split by words
}


UNSURE_NOTE = "佩戴者判断把握不足"


def settings_of(guide: Guide | None) -> dict[str, float]:
    values = dict(DEFAULTS)
    if guide is not None:
        values.update({k: v for k, v in guide.settings.items() if k in DEFAULTS})
    return values


@dataclass(frozen=True)
class Voice:
    speaker_id: str  # "S1", "S2", ... in order of first speech on the (case) timeline
    role: Role
    speech_s: float
    level_db: float  # speech level, dBFS
    drr_db: float  # syllable dip depth, dB (direct-to-reverberant proxy)
    lowfreq_db: float  # 60-250 Hz energy over 250-4000 Hz, dB
    phrases: tuple[str, ...] = ()  # guide phrase ids heard in this voice
    score: float = 0.0  # weighted wearer cues (the wearer has the highest)


@dataclass(frozen=True)
class Turn:
    start_s: float
    end_s: float
    speaker_id: str
    role: Role


@dataclass(frozen=True)
class SegmentSpeaker:
    """Who said transcript segment `index`; `words` (speaker ids, one per word) when it spans a change."""

    index: int
    speaker_id: str
    role: Role
    confidence: float  # share of the segment's speech in that voice x the wearer decision's confidence
    words: tuple[str, ...] = ()


@dataclass(frozen=True)
class Speakers:
    voices: tuple[Voice, ...]
    turns: tuple[Turn, ...]
    segments: tuple[SegmentSpeaker, ...]
    confidence: float  # of the wearer decision (1.0 with one voice and enough speech; 0.0 without speech)
    method: str = "mfcc"
    notes: tuple[str, ...] = ()  # Chinese, for the reviewer
    overrides: dict[str, str] = field(default_factory=dict)  # speaker_id -> role, set by a reviewer

    def role_of(self, speaker_id: str) -> Role:
        for v in self.voices:
            if v.speaker_id == speaker_id:
                return v.role
        return "other"

    def at(self, start_s: float | None, end_s: float | None) -> tuple[str, float]:
        """The voice that spoke most of [start_s, end_s] and its share ("", 0.0 when no turn overlaps)."""
        if start_s is None:
            return "", 0.0
        end_s = start_s if end_s is None else end_s
        if end_s - start_s < 0.05:
            start_s, end_s = start_s - 0.25, end_s + 0.25
        acc: dict[str, float] = {}
        for t in self.turns:
            ov = min(end_s, t.end_s) - max(start_s, t.start_s)
            if ov > 0:
                acc[t.speaker_id] = acc.get(t.speaker_id, 0.0) + ov
        if not acc:
            near = min(
                self.turns, key=lambda t: abs((t.start_s + t.end_s) / 2 - (start_s + end_s) / 2), default=None
            )
            return (near.speaker_id, 0.0) if near else ("", 0.0)
        sid = max(acc, key=lambda k: acc[k])
        return sid, acc[sid] / sum(acc.values())

    def with_override(self, speaker_id: str, role: Role) -> Speakers:
        """A reviewer's correction: that voice's role everywhere (turns, segments). A reviewer has
        listened, so the roles are no longer a guess: the wearer decision's confidence becomes 1 and
        phrases said by `other` are held back even where the analysis alone was too unsure to."""
        voices = tuple(
            dataclasses.replace(v, role=role) if v.speaker_id == speaker_id else v for v in self.voices
        )
        turns = tuple(
            dataclasses.replace(t, role=role) if t.speaker_id == speaker_id else t for t in self.turns
        )
        segs = tuple(
            dataclasses.replace(s, role=role) if s.speaker_id == speaker_id else s for s in self.segments
        )
        return dataclasses.replace(
            self,
            voices=voices,
            turns=turns,
            segments=segs,
            confidence=1.0,
            notes=tuple(n for n in self.notes if not n.startswith(UNSURE_NOTE)),
            overrides={**self.overrides, speaker_id: role},
        )


# -- features -------------------------------------------------------------------------------------


def _mel_filters() -> np.ndarray:
    def mel(f: np.ndarray | float) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    pts = 700.0 * (10 ** (np.linspace(mel(60.0), mel(7600.0), N_MELS + 2) / 2595.0) - 1.0)
    freqs = np.fft.rfftfreq(N_FFT, 1.0 / SR)
    fb = np.zeros((N_MELS, len(freqs)), np.float32)
    for i in range(N_MELS):
        lo, mid, hi = pts[i], pts[i + 1], pts[i + 2]
        fb[i] = np.clip(np.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)), 0.0, None)
    return fb


_MEL = _mel_filters()
_FREQS = np.fft.rfftfreq(N_FFT, 1.0 / SR)
_LOW = (_FREQS >= 60) & (_FREQS < 250)
_MID = (_FREQS >= 250) & (_FREQS < 4000)
_HANN = np.hanning(N_FFT).astype(np.float32)


def _power_frames(x: np.ndarray) -> np.ndarray:
    if len(x) < N_FFT:
        x = np.pad(x, (0, N_FFT - len(x)))
    n = 1 + (len(x) - N_FFT) // HOP
    idx = np.arange(N_FFT)[None, :] + HOP * np.arange(n)[:, None]
    spec = np.fft.rfft(x[idx] * _HANN, axis=1)
    return (spec.real**2 + spec.imag**2).astype(np.float32)


@dataclass(frozen=True)
class WindowFeatures:
    embedding: np.ndarray
    level_db: float
    drr_db: float
    lowfreq_db: float


def window_features(x: np.ndarray) -> WindowFeatures | None:
    """Embedding and distance cues of one speech window (16 kHz); None when it holds no signal."""
    from scipy.fft import dct

    power = _power_frames(np.asarray(x, np.float32))
    energy = power.sum(axis=1) + 1e-10
    e_db = 10 * np.log10(energy)
    if not np.isfinite(e_db).all() or e_db.max() < -100:
        return None
    speech = e_db >= e_db.max() - 30.0
    p = power[speech]
    logmel = np.log(p @ _MEL.T + 1e-8)
    mfcc = dct(logmel, type=2, axis=1, norm="ortho")[:, 1:N_MFCC]
    embedding = np.concatenate([mfcc.mean(axis=0), mfcc.std(axis=0)]).astype(np.float32)
    loud = np.sort(e_db)[len(e_db) // 2 :]
    level = 10 * np.log10(np.mean(10 ** (loud / 10)) / (N_FFT * np.sum(_HANN**2) / 2) + 1e-12)
    dips = float(np.percentile(e_db, 90) - np.percentile(e_db, 10))
    low = float(10 * np.log10((p[:, _LOW].sum() + 1e-10) / (p[:, _MID].sum() + 1e-10)))
    return WindowFeatures(embedding, float(level), dips, low)


Embedder = Callable[[np.ndarray], np.ndarray]


# -- windows, clustering ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Window:
    start_s: float  # case timeline
    end_s: float
    features: WindowFeatures


def speech_pieces(probs: np.ndarray, n_samples: int, cfg: dict[str, float]) -> list[tuple[int, int]]:
    """Sample spans of speech cut at pauses and at `speaker_window_s` (pieces shorter than
    `speaker_min_window_s` are dropped: their words take the nearest window's voice)."""
    from analyzer.vad import FRAME, SpanOptions, speech_spans

    opts = SpanOptions(
        threshold=cfg["speaker_vad_threshold"],
        min_speech_ms=100,
        min_silence_ms=int(cfg["speaker_pause_s"] * 1000),
        pad_ms=30,
    )
    spans = speech_spans(probs, n_samples, opts) if len(probs) else []
    win = max(int(cfg["speaker_window_s"] * SR), FRAME)
    least = int(cfg["speaker_min_window_s"] * SR)
    pieces: list[tuple[int, int]] = []
    for s in spans:
        a, b = int(s["start"]), min(int(s["end"]), n_samples)
        k = max(1, round((b - a) / win))
        edges = np.linspace(a, b, k + 1).astype(int)
        pieces.extend((int(x), int(y)) for x, y in zip(edges[:-1], edges[1:], strict=True) if y - x >= least)
    return pieces


def _cluster(emb: np.ndarray, cfg: dict[str, float]) -> np.ndarray:
    """Voice label per window: average-linkage agglomerative clustering on cosine distance."""
    from scipy.cluster.hierarchy import fcluster, linkage

    n = len(emb)
    if n == 1:
        return np.zeros(1, int)
    limit = int(cfg["speaker_max_windows"])
    pick = np.arange(n) if n <= limit else np.linspace(0, n - 1, limit).astype(int)
    z = linkage(emb[pick], method="average", metric="cosine")
    sub = fcluster(z, t=cfg["speaker_cluster_distance"], criterion="distance") - 1
    k = int(sub.max()) + 1
    max_voices = max(1, int(cfg["speaker_max_voices"]))
    if k > max_voices:
        sub = fcluster(z, t=max_voices, criterion="maxclust") - 1
        k = int(sub.max()) + 1
    if n == len(pick):
        return sub
    cent = _centroids(emb[pick], sub, k)
    return np.argmax(_unit(emb) @ cent.T, axis=1)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / (np.linalg.norm(x, axis=-1, keepdims=True) + 1e-9)


def _centroids(emb: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    u = _unit(emb)
    return _unit(
        np.stack(
            [u[labels == c].mean(axis=0) if np.any(labels == c) else np.zeros(u.shape[1]) for c in range(k)]
        )
    )


def _absorb_small(labels: np.ndarray, emb: np.ndarray, dur: np.ndarray, cfg: dict[str, float]) -> np.ndarray:
    """Voices with less than `speaker_min_voice_s` of speech join their nearest voice."""
    labels = labels.copy()
    while True:
        ids = np.unique(labels)
        if len(ids) <= 1:
            return labels
        totals = {int(c): float(dur[labels == c].sum()) for c in ids}
        small = min(totals, key=lambda c: totals[c])
        if totals[small] >= cfg["speaker_min_voice_s"]:
            return labels
        rest = [c for c in totals if c != small]
        cent = {c: _unit(emb[labels == c].mean(axis=0)) for c in totals}
        target = max(rest, key=lambda c: float(cent[c] @ cent[small]))
        labels[labels == small] = target


# -- the decision ----------------------------------------------------------------------------------


def identify(
    audio: Sequence[tuple[np.ndarray, np.ndarray, float]],
    transcript: Transcript | None = None,
    phrase_spans: Sequence[tuple[str, float, float]] = (),
    guide: Guide | None = None,
    *,
    embedder: Embedder | None = None,
    method: str = "mfcc",
) -> Speakers:
    """Voices, turns and the speaker of each transcript segment for one recording or case.

    `audio`: per file (16 kHz mono samples, VAD frame probabilities, offset on the case timeline).
    `phrase_spans`: (phrase_id, start_s, end_s) of phrases heard, for the "says the phrases" cue and
    the `officer` role. `embedder` replaces the MFCC embedding (bench comparison)."""
    cfg = settings_of(guide)
    windows: list[_Window] = []
    embs: list[np.ndarray] = []
    for samples, probs, offset in audio:
        x = np.asarray(samples, np.float32).reshape(-1)
        for a, b in speech_pieces(np.asarray(probs), len(x), cfg):
            f = window_features(x[a:b])
            if f is None:
                continue
            windows.append(_Window(offset + a / SR, offset + b / SR, f))
            embs.append(embedder(x[a:b]) if embedder is not None else f.embedding)
    if not windows:
        return Speakers((), (), (), 0.0, method, ("未检出可区分说话人的语音",))
    emb = np.stack(embs).astype(np.float64)
    emb_n = emb
    dur = np.array([w.end_s - w.start_s for w in windows])
    labels = _absorb_small(_cluster(emb_n, cfg), emb_n, dur, cfg)
    # Voice ids in order of first speech.
    order: dict[int, str] = {}
    for c in labels.tolist():
        order.setdefault(int(c), f"S{len(order) + 1}")
    sid = [order[int(c)] for c in labels]

    def weighted(vals: list[float], ws: list[float]) -> float:
        return float(np.average(vals, weights=ws)) if vals else 0.0

    stats: dict[str, dict] = {}
    for w, s in zip(windows, sid, strict=True):
        d = stats.setdefault(s, {"dur": 0.0, "level": [], "drr": [], "low": [], "w": []})
        d["dur"] += w.end_s - w.start_s
        d["level"].append(w.features.level_db)
        d["drr"].append(w.features.drr_db)
        d["low"].append(w.features.lowfreq_db)
        d["w"].append(w.end_s - w.start_s)
    turns = _turns(windows, sid)
    spoken = Speakers((), tuple(Turn(t.start_s, t.end_s, t.speaker_id, "other") for t in turns), (), 0.0)
    heard: dict[str, set[str]] = {s: set() for s in stats}
    for pid, a, b in phrase_spans:
        who, _ = spoken.at(a, b)
        if who in heard:
            heard[who].add(pid)
    n_phrases = max(1, sum(len(h) for h in heard.values()))
    cues = {
        s: (
            weighted(d["level"], d["w"]),
            weighted(d["drr"], d["w"]),
            weighted(d["low"], d["w"]),
            len(heard[s]) / n_phrases,
        )
        for s, d in stats.items()
    }
    best = [max(c[i] for c in cues.values()) for i in range(4)]
    scores = {
        s: cfg["speaker_weight_level"] * (c[0] - best[0]) / cfg["speaker_level_scale_db"]
        + cfg["speaker_weight_drr"] * (c[1] - best[1]) / cfg["speaker_drr_scale_db"]
        + cfg["speaker_weight_lowfreq"] * (c[2] - best[2]) / cfg["speaker_lowfreq_scale_db"]
        + cfg["speaker_weight_phrases"] * (c[3] - best[3])
        for s, c in cues.items()
    }
    ranked = sorted(scores, key=lambda s: scores[s], reverse=True)
    # One person's voice may come out as two clusters (a shout, a turn away); both score like the wearer.
    wearers = {s for s in ranked if scores[ranked[0]] - scores[s] <= cfg["speaker_wearer_margin"]}
    if len(wearers) == len(ranked):
        wearers = {ranked[0]}
    rest = [s for s in ranked if s not in wearers]
    total_s = sum(d["dur"] for d in stats.values())
    notes: list[str] = []
    if not rest:
        confidence = min(1.0, total_s / 3.0)  # a second or two of speech says little about the voice
        notes.append("录音中只检出一个说话人，视为佩戴执法记录仪的执法人员")
    else:
        margin = (min(scores[s] for s in wearers) - scores[rest[0]]) / cfg["speaker_confidence_scale"]
        confidence = 2.0 / (1.0 + math.exp(-margin)) - 1.0  # 0 at a tie, -> 1 with a clear margin
        confidence = 0.5 + 0.5 * confidence
    roles: dict[str, Role] = {}
    for s in stats:
        if s in wearers:
            roles[s] = "wearer"
        elif len(heard[s]) >= cfg["speaker_officer_min_phrases"]:
            roles[s] = "officer"
        else:
            roles[s] = "other"
    voices = tuple(
        Voice(
            speaker_id=s,
            role=roles[s],
            speech_s=round(stats[s]["dur"], 2),
            level_db=round(cues[s][0], 1),
            drr_db=round(cues[s][1], 1),
            lowfreq_db=round(cues[s][2], 1),
            phrases=tuple(sorted(heard[s])),
            score=round(scores[s], 3),
        )
        for s in sorted(stats, key=lambda k: int(k[1:]))
    )
    turns = tuple(dataclasses.replace(t, role=roles[t.speaker_id]) for t in turns)
    result = Speakers(voices, turns, (), round(confidence, 3), method, tuple(notes))
    if confidence < cfg["speaker_gate_min_confidence"] and rest:
        result = dataclasses.replace(
            result,
            notes=(
                *notes,
                f"{UNSURE_NOTE}（{confidence:.0%}），其他人员所说的规范用语仍计入，请人工收听核实",
            ),
        )
    if transcript is not None:
        result = dataclasses.replace(result, segments=_segments(result, transcript, cfg))
    return result


def _turns(windows: list[_Window], sid: list[str]) -> list[Turn]:
    turns: list[Turn] = []
    for w, s in zip(windows, sid, strict=True):
        if turns and turns[-1].speaker_id == s and w.start_s - turns[-1].end_s < 1.0:
            turns[-1] = dataclasses.replace(turns[-1], end_s=w.end_s)
        else:
            turns.append(Turn(w.start_s, w.end_s, s, "other"))
    return turns


def _segments(sp: Speakers, transcript: Transcript, cfg: dict[str, float]) -> tuple[SegmentSpeaker, ...]:
    out: list[SegmentSpeaker] = []
    for i, seg in enumerate(transcript.segments):
        who, share = sp.at(seg.start, seg.end)
        if not who:
            continue
        words: tuple[str, ...] = ()
        if seg.words and share < 1.0 - cfg["speaker_change_min_share"]:
            words = tuple(sp.at(w.start, w.end)[0] or who for w in seg.words)
            if len(set(words)) == 1:
                words = ()
        out.append(SegmentSpeaker(i, who, sp.role_of(who), round(share * sp.confidence, 3), words))
    return tuple(out)


# -- phrases --------------------------------------------------------------------------------------


def attribute_matches(matches: Sequence[PhraseMatch], sp: Speakers, guide: Guide) -> list[PhraseMatch]:
    """Each match with `speaker`/`speaker_id`; a phrase said only by `other` becomes absent (what was
    heard kept in `said_by_other`), unless the wearer decision is too unsure to act on."""
    from analyzer.match import absent_match

    gate = holds_back_other(sp, guide)
    phrases = {p.id: p for p in guide.phrases}
    out: list[PhraseMatch] = []
    for m in matches:
        if m.status == "absent" or m.start_s is None or not sp.turns:
            out.append(m)
            continue
        tagged = [_tag(o, sp) for o in (m.occurrence_matches or (m,))]
        by_officer = [o for o in tagged if o.speaker != "other"]  # unattributed speech counts
        by_other = tuple(o for o in tagged if o.speaker == "other")
        if by_officer:
            best = by_officer[0]
            out.append(
                dataclasses.replace(
                    best,
                    occurrence_matches=tuple(by_officer),
                    said_by_other=by_other,
                    occurrences=tuple((o.start_s, o.end_s) for o in by_officer),
                )
            )
        elif gate and m.phrase_id in phrases:
            first = by_other[0]
            out.append(dataclasses.replace(
                absent_match(phrases[m.phrase_id]), speaker="other", speaker_id=first.speaker_id,
                said_by_other=by_other,
            ))  # fmt: skip
        else:
            out.append(dataclasses.replace(_tag(m, sp), said_by_other=by_other))
    return out


def holds_back_other(sp: Speakers, guide: Guide | None) -> bool:
    """Whether what `other` says is kept from counting as the officer's: the wearer decision is sure
    enough (`speaker_gate_min_confidence`), or there is only one voice."""
    return sp.confidence >= settings_of(guide)["speaker_gate_min_confidence"] or len(sp.voices) <= 1


def said_by_other(sp: Speakers | None, start_s: float, end_s: float, guide: Guide | None) -> bool:
    """[start_s, end_s] (case timeline) was spoken by `other`, surely enough that it does not count
    for a statement the officer must make (a resume statement, like a guide phrase)."""
    if sp is None or not sp.turns or not holds_back_other(sp, guide):
        return False
    who, _ = sp.at(start_s, end_s)
    return bool(who) and sp.role_of(who) == "other"


def _tag(m: PhraseMatch, sp: Speakers) -> PhraseMatch:
    who, _ = sp.at(m.start_s, m.end_s)
    return dataclasses.replace(m, speaker=sp.role_of(who) if who else "", speaker_id=who)


def single_voice(sp: Speakers) -> bool:
    """Training: the attempt holds one voice (or no distinguishable speech)."""
    return len(sp.voices) <= 1
