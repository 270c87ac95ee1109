"""Normalize Chinese ASR text for matching, keeping every character's link to its source and time.

Why: Whisper output mixes Traditional and Simplified, full- and half-width forms, digits and
Chinese numerals, punctuation styles and homophone errors. Matching works on one canonical form
(Simplified, half-width, no punctuation or interjections, Arabic numerals in number-like spans)
plus a toneless "loose" pinyin view in which most homophone errors (申辩/身边, 执法/指法) vanish.
Every normalized character keeps the index of the source character it came from and that
character's (start, end) time, so any match points back into the original recording.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from analyzer.transcribe import Transcript

SENTENCE_END = set("。！？!?；;…")
CLAUSE_END = set("，,、：:")  # end a clause: a trailing slot (请出示XX证) does not run past one
_HAN_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")

# Chinese numerals and the units after which a numeral span is converted (amounts, dates, times, articles).
_CN_DIGITS = "零〇一二两三四五六七八九幺"
_CN_NUM = _CN_DIGITS + "十百千万亿"
_NUM_SPAN = re.compile(
    rf"[{_CN_NUM}点]*[{_CN_NUM}](?=个工作日|工作日|个月|万元|小时|年|月|日|号|时|点|分|秒|条|款|项|元|块|天|周|岁|次|倍)"
)
_PHONE_SPAN = re.compile(r"(?<=拨打)[零〇一二三四五六七八九幺]{3,}|[零〇一二三四五六七八九幺]{4,}")
_TIME_CONTEXT = (
    "上午", "下午", "晚上", "今晚", "早上", "中午", "凌晨", "傍晚", "日", "号", "今天", "现在是", "现在",
)  # fmt: skip
_DIGIT_OF = {c: str(i) for i, c in enumerate("零一二三四五六七八九")} | {"〇": "0", "幺": "1", "两": "2"}


@dataclass
class NormText:
    """A normalized view of `source`: text[i] came from source[src[i]], spoken at times[i]."""

    source: str
    text: str
    src: list[int]
    times: list[tuple[float, float]] = field(default_factory=list)
    pinyin: list[str] = field(default_factory=list)  # toneless syllable per normalized char
    loose: str = ""  # one code character per normalized char: loose pinyin, for homophone-tolerant matching
    breaks: frozenset[int] = frozenset()  # normalized positions preceded by a sentence end or a long pause
    # positions preceded by any break, a clause mark or a segment boundary (where another speaker may start)
    clause_breaks: frozenset[int] = frozenset()

    def __len__(self) -> int:
        return len(self.text)

    def time_span(self, i: int, j: int) -> tuple[float | None, float | None]:
        """Start/end time of normalized chars [i, j)."""
        if not self.times or i >= j:
            return None, None
        return self.times[i][0], self.times[j - 1][1]

    def source_span(self, i: int, j: int) -> str:
        """The original text behind normalized chars [i, j) (punctuation inside kept)."""
        if i >= j:
            return ""
        return self.source[self.src[i] : self.src[j - 1] + 1]


# -- character-level canonical forms ------------------------------------------------------------


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """OpenCC t2s, guaranteed to keep the length (one-to-one characters) so positions stay valid."""
    converted = _t2s().convert(text)
    if len(converted) == len(text):
        return converted
    out = []
    for ch in text:
        c = _t2s().convert(ch)
        out.append(c if len(c) == 1 else ch)
    return "".join(out)


@lru_cache(maxsize=8192)
def _canonical_char(ch: str) -> str:
    """Half-width, lower-case form of one char; "" for punctuation, symbols and spaces."""
    c = unicodedata.normalize("NFKC", ch)
    if len(c) != 1:
        c = ch
    c = c.lower()
    if c.isspace():
        return ""
    cat = unicodedata.category(c)
    if cat[0] in "PSZC":
        return ""
    return c


def _number_value(span: str) -> str | None:
    """Arabic form of a Chinese numeral span; digit strings (二零二零) are read digit by digit."""
    if all(c in _DIGIT_OF for c in span) and (len(span) >= 2 or span in _DIGIT_OF):
        if len(span) >= 2:
            return "".join(_DIGIT_OF[c] for c in span)
    import cn2an

    try:
        value = cn2an.cn2an(span.replace("幺", "一"), "smart")
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _numeral_replacements(text: str) -> list[tuple[int, int, str]]:
    """(start, end, arabic) for number-like spans only; never run cn2an.transform on whole text."""
    out: list[tuple[int, int, str]] = []
    for m in _NUM_SPAN.finditer(text):
        span, start, end = m.group(0), m.start(), m.end()
        span = span.lstrip("点")
        start = end - len(span)
        if not span:
            continue
        unit = text[end : end + 1]
        if unit in "时点分秒" and len(span) == 1:
            before = text[max(0, start - 3) : start]
            if not (before.endswith(_TIME_CONTEXT) or (before and before[-1].isdigit())):
                continue  # 一时, 一点: "for a moment", "a bit"
        if unit in "条款项":
            prev = text[start - 1 : start]
            if prev not in ("第", "条", "款") and not prev.isdigit():
                continue
        if "点" in span:  # 九点三十 before 分: split hour and minute
            head, _, tail = span.partition("点")
            hv, tv = _number_value(head), _number_value(tail) if tail else ""
            if hv is None or tv is None:
                continue
            out.append((start, start + len(head), hv))
            if tail:
                out.append((start + len(head) + 1, end, tv))
            continue
        value = _number_value(span)
        if value is not None:
            out.append((start, end, value))
    taken = [(a, b) for a, b, _ in out]
    for m in _PHONE_SPAN.finditer(text):  # numbers read digit by digit: 110, ID and phone numbers
        if not any(a < m.end() and m.start() < b for a, b in taken):
            out.append((m.start(), m.end(), "".join(_DIGIT_OF[c] for c in m.group(0))))
    out.sort()
    return out


# -- pinyin ------------------------------------------------------------------------------------

_LOOSE_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("n", "l"))
_SAME_SYLLABLE = {"nin": "ni"}  # 您/你: Whisper swaps them constantly, the meaning is the same
_LOOSE_FINALS = (("ing", "in"), ("eng", "en"))
_CODES: dict[str, str] = {}


@lru_cache(maxsize=4096)
def loose_syllable(syllable: str) -> str:
    """Merge the confusions ASR and regional accents make (zh/z, ch/c, sh/s, n/l, ing/in, eng/en)."""
    s = _SAME_SYLLABLE.get(syllable, syllable)
    for a, b in _LOOSE_INITIALS:
        if s.startswith(a):
            s = b + s[len(a) :]
            break
    for a, b in _LOOSE_FINALS:
        if s.endswith(a):
            s = s[: -len(a)] + b
            break
    return s


_INITIALS = (
    "zh", "ch", "sh", "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h", "j", "q", "x", "r", "z", "c",
    "s", "y", "w",
)  # fmt: skip


def split_syllable(syllable: str) -> tuple[str, str]:
    """(initial, final) of a loose syllable ("" initial for 安, 欧)."""
    s = loose_syllable(syllable)
    for ini in _INITIALS:
        if s.startswith(ini) and len(s) > len(ini):
            return ini, s[len(ini) :]
    return "", s


@lru_cache(maxsize=65536)
def syllable_slip(a: str, b: str) -> bool:
    """Two toneless syllables with the same initial (after the loose merges) and different finals
    (生/收: sheng/shou). Far more common by chance than syllable_neighbours, so the matcher counts it
    only where the rest of the wording was heard in place (analyzer.match._slipped_in_place)."""
    if not (a.isalpha() and b.isalpha()) or loose_syllable(a) == loose_syllable(b):
        return False
    (ia, fa), (ib, fb) = split_syllable(a), split_syllable(b)
    return bool(ia) and ia == ib and fa != fb


@lru_cache(maxsize=65536)
def syllable_neighbours(a: str, b: str) -> bool:
    """Two toneless syllables that differ, after the loose merges, only in an initial of the same coarse
    class (签/仙: q/x), the confusion Whisper makes most on Mandarin words it half hears. A final
    confused too (收/生) would also make 你好 a neighbour of 拿好, so it does not count."""
    if not (a.isalpha() and b.isalpha()) or loose_syllable(a) == loose_syllable(b):
        return False
    (ia, fa), (ib, fb) = split_syllable(a), split_syllable(b)
    return fa == fb and ia != ib and _COARSE_INITIALS.get(ia, ia) == _COARSE_INITIALS.get(ib, ib)


def code_of(syllable: str) -> str:
    """One private-use character per loose syllable, so rapidfuzz can compare syllable strings fast.
    Digits and other single non-letters stand for themselves."""
    if len(syllable) == 1 and not syllable.isalpha():
        return syllable
    key = loose_syllable(syllable)
    code = _CODES.get(key)
    if code is None:
        code = _CODES[key] = chr(0xE000 + len(_CODES))
    return code


@lru_cache(maxsize=65536)
def _word_pinyin(word: str) -> tuple[str, ...]:
    hit = _pinyin_table().get(word)
    return hit if hit is not None else _pypinyin(word)


def _pypinyin(word: str) -> tuple[str, ...]:
    from pypinyin import Style, lazy_pinyin

    syl = lazy_pinyin(word, style=Style.NORMAL, errors=lambda s: list(s))
    if len(syl) != len(word):  # safety: keep one syllable per character
        syl = [lazy_pinyin(c, style=Style.NORMAL, errors=lambda s: list(s))[0] for c in word]
    return tuple(syl)


_HAN_RANGES = ((0x3400, 0x9FFF), (0xF900, 0xFAFF))  # the Han characters pinyin_of segments
PINYIN_TABLE_VERSION = 1


@lru_cache(maxsize=1)
def _pinyin_table() -> dict[str, tuple[str, ...]]:
    """_pypinyin of every word jieba can return on Han text here (the words of the segmentation
    dictionary and every single Han character), computed once into the cache folder: loading the
    table takes a fraction of importing pypinyin's phrase dictionary, which a short recording
    otherwise pays at every start. Keyed by the dictionary and pypinyin's data files, so an upgrade
    of either builds it again."""
    import hashlib
    import marshal
    from importlib.util import find_spec

    from analyzer.files import atomic_write_bytes

    dictionary = _segmentation_dictionary()
    spec = find_spec("pypinyin")
    data = Path(spec.origin).parent if spec and spec.origin else None
    stamp = [dictionary.name, str(PINYIN_TABLE_VERSION)]
    for name in ("phrases_dict.py", "pinyin_dict.py", "__init__.py"):
        try:
            st = (data / name).stat() if data else None
            stamp.append(f"{name}:{st.st_size}:{int(st.st_mtime)}" if st else name)
        except OSError:
            stamp.append(name)
    path = dictionary.parent / f"pinyin-{hashlib.sha256('|'.join(stamp).encode()).hexdigest()[:16]}.marshal"
    try:
        table = marshal.loads(path.read_bytes())
        if isinstance(table, dict):
            return table
    except (OSError, ValueError, EOFError, TypeError):
        pass
    with open(dictionary, encoding="utf-8") as fh:
        words = [line.split(" ", 1)[0] for line in fh if line.strip()]
    chars = [chr(c) for a, b in _HAN_RANGES for c in range(a, b + 1)]
    table = {w: _pypinyin(w) for w in dict.fromkeys(words + chars)}
    atomic_write_bytes(path, marshal.dumps(table))
    return table


SEGMENTATION_MIN_FREQ = 10  # jieba dictionary words rarer than this are left out of segmentation


def _segmentation_dictionary() -> Path:
    """jieba's dictionary without its rare words (108k of 349k entries; single characters all kept),
    built once into the cache folder. Segmentation only has to put polyphones in the right word
    for pypinyin, and on 28k characters of guide, scenario and test text it gives the same pinyin
    as the full dictionary, while loading in 0.09 s instead of 0.36 s (bench/RESULTS.md)."""
    import jieba

    from analyzer.files import atomic_write_text
    from analyzer.models import cache_dir

    path = cache_dir() / f"jieba-{jieba.__version__}-min{SEGMENTATION_MIN_FREQ}.txt"
    if not path.exists():
        source = Path(jieba.__file__).resolve().parent / "dict.txt"
        kept = []
        with open(source, encoding="utf-8") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) >= 2 and (len(parts[0]) == 1 or int(parts[1]) >= SEGMENTATION_MIN_FREQ):
                    kept.append(f"{parts[0]} {parts[1]}\n")
        atomic_write_text(path, "".join(kept))
    return path


@lru_cache(maxsize=1)
def _jieba():
    """A jieba tokenizer on the pruned dictionary; its own parse cache goes to the cache folder too."""
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    path = _segmentation_dictionary()
    tokenizer = jieba.Tokenizer(str(path))
    tokenizer.tmp_dir = str(path.parent)
    tokenizer.initialize()
    return tokenizer


def pinyin_of(text: str) -> list[str]:
    """Toneless pinyin, one syllable per character: Han runs are segmented with jieba (polyphones follow
    the word), every other character stands for itself."""
    out: list[str] = []
    for run in re.finditer(r"[\u3400-\u9fff\uf900-\ufaff]+|[^\u3400-\u9fff\uf900-\ufaff]+", text):
        chunk = run.group(0)
        if _HAN_RE.match(chunk):
            for word in _jieba().lcut(chunk, HMM=False):
                out.extend(_word_pinyin(word))
        else:
            out.extend(chunk)
    return out


def loose_codes(syllables: Iterable[str]) -> str:
    return "".join(code_of(s) for s in syllables)


_COARSE_INITIALS = dict.fromkeys("bp", "b") | dict.fromkeys("dt", "d") | dict.fromkeys("gk", "g")
_COARSE_INITIALS |= dict.fromkeys("jqx", "j") | dict.fromkeys("zcs", "z") | dict.fromkeys("fh", "h")
_COARSE_INITIALS |= dict.fromkeys("lr", "l")


def coarse_codes(syllables: Iterable[str]) -> str:
    """Coarser than loose: aspirated/unaspirated and fricative pairs merged too (签个字 = 签各次). Used only
    to recognise key terms heard unclearly, never for alignment."""
    out = []
    for s in syllables:
        if len(s) > 1 or s.isalpha():
            s = loose_syllable(s)
            if s[0] in _COARSE_INITIALS:
                s = "~" + _COARSE_INITIALS[s[0]] + s[1:]
        out.append(code_of(s))
    return "".join(out)


# -- the whole normalization -------------------------------------------------------------------


def normalize_text(
    text: str,
    times: Sequence[tuple[float, float]] | None = None,
    *,
    strip: Iterable[str] = ("嗯", "啊", "呃"),
    breaks_at: Iterable[int] = (),
    with_pinyin: bool = True,
    clause_breaks_at: Iterable[int] = (),
) -> NormText:
    """Normalize `text`; `times[k]` is the (start, end) of source char k; `breaks_at` source indices that
    begin a new sentence (segment starts after a long pause); `clause_breaks_at` ones that begin a new
    segment."""
    strip_set = set(strip)
    simplified = to_simplified(text)
    chars: list[str] = []
    src: list[int] = []
    hard_break = {int(b) for b in breaks_at}
    soft_break = {int(b) for b in clause_breaks_at}
    pending_break = pending_clause = False
    brk: set[int] = set()
    clause: set[int] = set()
    for k, ch in enumerate(simplified):
        if k in hard_break:
            pending_break = True
        if k in soft_break:
            pending_clause = True
        c = _canonical_char(ch)
        if not c:
            if (
                ch in ".:：．"
                and chars
                and chars[-1].isdigit()
                and k + 1 < len(simplified)
                and (unicodedata.normalize("NFKC", simplified[k + 1]).isdigit())
            ):  # 2:30, 3.5: a separator inside a number, not the end of a clause
                chars.append("." if ch in ".．" else ":")
                src.append(k)
            elif ch in SENTENCE_END:
                pending_break = True
            elif ch in CLAUSE_END:
                pending_clause = True
            continue
        if c in strip_set:
            continue
        if pending_break:
            brk.add(len(chars))
        if pending_break or pending_clause:
            clause.add(len(chars))
        pending_break = pending_clause = False
        chars.append(c)
        src.append(k)
    base = "".join(chars)
    # numerals -> Arabic on number-like spans only
    reps = _numeral_replacements(base)
    if reps:
        new_chars: list[str] = []
        new_src: list[int] = []
        new_brk: set[int] = set()
        new_clause: set[int] = set()

        def mark_breaks(i: int) -> None:  # a break before old index i stays before what replaces it
            if i in brk:
                new_brk.add(len(new_chars))
            if i in clause:
                new_clause.add(len(new_chars))

        def keep(a: int, b: int) -> None:
            for i in range(a, b):
                mark_breaks(i)
                new_chars.append(base[i])
                new_src.append(src[i])

        pos = 0
        for start, end, value in reps:
            if start < pos:
                continue
            keep(pos, start)
            mark_breaks(start)
            n = end - start
            for d, digit in enumerate(value):
                new_chars.append(digit)
                new_src.append(src[start + min(n - 1, d * n // max(1, len(value)))])
            pos = end
        keep(pos, len(base))
        base, src, brk, clause = "".join(new_chars), new_src, new_brk, new_clause
    norm_times = [times[s] for s in src] if times else []
    syllables = pinyin_of(base) if with_pinyin else []
    return NormText(
        source=text,
        text=base,
        src=src,
        times=norm_times,
        pinyin=syllables,
        loose=loose_codes(syllables) if with_pinyin else "",
        breaks=frozenset(brk),
        clause_breaks=frozenset(clause),
    )


@lru_cache(maxsize=4096)
def loose_of(text: str) -> str:
    """Loose pinyin codes of a short text (a key word), spelled as `NormText.loose` spells a
    transcript: `loose_of(word) in norm.loose` is the word heard by its toneless pinyin (终止 for 中止,
    纪录 for 记录), with the same tolerance as key terms."""
    return loose_codes(pinyin_of(normalize_plain(text)))


@lru_cache(maxsize=16)
def loose_text(text: str) -> str:
    """`NormText.loose` of a whole transcript text, kept for the few texts looked up repeatedly."""
    return normalize_text(text).loose


def word_heard(word: str, text: str, loose: str | None = None) -> bool:
    """A short word heard in `text` by its characters or, as key terms are, by its toneless pinyin
    (纪录 for 记录, 终止 for 中止), which Whisper's choice of characters does not change. `loose` is
    the text's `NormText.loose` where the caller has it."""
    if not word:
        return False
    if word in text:
        return True
    code = loose_of(word)
    return code != "" and code in (loose_text(text) if loose is None else loose)


def normalize_plain(text: str) -> str:
    """Just the canonical text (no pinyin): for comparing short strings such as key terms and slots."""
    return normalize_text(text, with_pinyin=False).text


def transcript_char_times(transcript: Transcript, break_gap_s: float = 2.5) -> tuple[str, list, list[int]]:
    """Source text (segments joined), per-char (start, end) and sentence-break source indices.

    Word timestamps are used where the words spell the segment text; otherwise times are
    interpolated evenly across the segment."""
    parts: list[str] = []
    times: list[tuple[float, float]] = []
    breaks: list[int] = []
    prev_end: float | None = None
    offset = 0
    for seg in transcript.segments:
        text = seg.text
        if prev_end is not None and seg.start - prev_end >= break_gap_s:
            breaks.append(offset)
        seg_times = _segment_char_times(seg, text)
        parts.append(text)
        times.extend(seg_times)
        offset += len(text)
        prev_end = seg.end
    return "".join(parts), times, breaks


def _segment_char_times(seg, text: str) -> list[tuple[float, float]]:
    n = len(text)
    if n == 0:
        return []
    words = [w for w in (seg.words or ()) if w.text and w.text.strip()]
    if words:
        out: list[tuple[float, float] | None] = [None] * n
        k = 0
        simple = to_simplified(text)
        ok = True
        joined = to_simplified("\x00".join(w.text.strip() for w in words)).split("\x00")
        for w, wtext in zip(words, joined, strict=False):
            wlen = len(wtext)
            for j, wc in enumerate(wtext):
                # find this word char in the segment text from k on (skip punctuation/spaces in text)
                idx = simple.find(wc, k, min(n, k + 4))
                if idx < 0:
                    continue
                span = (w.end - w.start) / max(1, wlen)
                out[idx] = (w.start + j * span, w.start + (j + 1) * span)
                k = idx + 1
        known = [i for i, t in enumerate(out) if t is not None]
        if len(known) >= max(1, n // 3):
            # fill characters not covered by words (punctuation, mismatches) from neighbours
            last: tuple[float, float] = (seg.start, seg.start)
            for i in range(n):
                if out[i] is None:
                    out[i] = (last[1], last[1])
                else:
                    last = out[i]  # type: ignore[assignment]
            return [t for t in out if t is not None]
        ok = False
        del ok
    step = (seg.end - seg.start) / n
    return [(seg.start + i * step, seg.start + (i + 1) * step) for i in range(n)]


def normalize_transcript(
    transcript: Transcript, strip: Iterable[str] = ("嗯", "啊", "呃"), break_gap_s: float = 2.5
) -> NormText:
    """The whole transcript as one NormText (phrases are found across segment boundaries)."""
    source, times, breaks = transcript_char_times(transcript, break_gap_s)
    segment_starts, offset = [], 0
    for seg in transcript.segments:
        segment_starts.append(offset)
        offset += len(seg.text)
    return normalize_text(source, times, strip=strip, breaks_at=breaks, clause_breaks_at=segment_starts)
