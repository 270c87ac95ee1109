"""Personal data in transcripts (第十六条): ID-card, phone, plate and licence numbers masked
for display and export.

Only text is masked, never identifiers such as SHA-256 values or paths: every pattern requires
that the number is not glued to other Latin letters or digits, and structured data is masked
field by field (`mask_data`, `mask_recording`); HTML is rendered from masked data.
"""

from __future__ import annotations

import re
from typing import Any

_EDGE_L = r"(?<![0-9A-Za-z])"
_EDGE_R = r"(?![0-9A-Za-z])"
_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_CN_DIGITS = "零〇一二三四五六七八九幺"

PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("id_card", re.compile(_EDGE_L + r"\d{6}[ ]?\d{8}[ ]?\d{3}[\dXx]" + _EDGE_R)),
    ("mobile", re.compile(_EDGE_L + r"(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}" + _EDGE_R)),
    ("landline", re.compile(_EDGE_L + r"(?:\(0\d{2,3}\)|0\d{2,3})[- ]?\d{7,8}(?:-\d{1,5})?" + _EDGE_R)),
    ("service_line", re.compile(_EDGE_L + r"[48]00[- ]?\d{3}[- ]?\d{4}" + _EDGE_R)),
    ("plate", re.compile(f"[{_PROVINCES}][A-Za-z][·・ ]?[A-Za-z0-9]{{4,5}}[A-Za-z0-9挂学警]" + _EDGE_R)),
    (
        "licence",
        re.compile(
            r"(?<=证号|件号|照号|证码|驾照|号码|编号)[是为：:\s]*"
            + _EDGE_L
            + r"[A-Za-z0-9][A-Za-z0-9-]{5,}"
            + _EDGE_R
        ),
    ),
    ("spoken_number", re.compile(f"[{_CN_DIGITS}]{{7,}}")),
)

# Fields of the report JSON that hold identifiers, not speech: never masked.
_KEEP_KEYS = frozenset(
    {
        "sha256",
        "path",
        "file",
        "files",
        "hash",
        "prev_hash",
        "id",
        "phrase_id",
        "code",
        "guide",
        "model",
        "engine",
    }
)


def _mask_span(match: re.Match[str]) -> str:
    text = match.group(0)
    lead = len(text) - len(text.lstrip("是为：: "))
    body = text[lead:]
    keep_head, keep_tail = (2, 2) if len(body) >= 8 else (1, 1)
    if len(body) <= 4:
        keep_head, keep_tail = 0, 0
    masked = body[:keep_head] + "*" * (len(body) - keep_head - keep_tail) + body[len(body) - keep_tail :]
    return text[:lead] + masked


def find_personal_data(text: str) -> list[tuple[str, str]]:
    """(kind, the matched text) for every personal number in `text`; for tests and the unmask notice."""
    return [(kind, m.group(0)) for kind, pattern in PATTERNS for m in pattern.finditer(text)]


def mask_text(text: str) -> str:
    for _kind, pattern in PATTERNS:
        text = pattern.sub(_mask_span, text)
    return text


def mask_data(value: Any, key: str = "") -> Any:
    """A copy of JSON-like data with every speech string masked (identifier fields kept)."""
    if key in _KEEP_KEYS:
        return value
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: mask_data(v, k) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_data(v, key) for v in value]
    return value


def mask_recording(recording: dict[str, Any]) -> dict[str, Any]:
    """A masked copy of one report recording. Word timings of a line that held personal data are
    dropped, since a number split across words would escape the per-string patterns."""
    masked = mask_data(recording)
    for original, seg in zip(
        (recording.get("transcript") or {}).get("segments") or [],
        (masked.get("transcript") or {}).get("segments") or [],
        strict=True,
    ):
        words = "".join(str(w[2]) for w in original.get("words") or [] if len(w) > 2)
        if seg.get("text") != original.get("text") or mask_text(words) != words:
            seg["words"] = []
    return masked
