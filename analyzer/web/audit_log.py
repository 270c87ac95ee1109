"""Access log (第十四条): every view, play and export of a recording, append-only and hash-chained.

Each entry's hash is SHA-256(prev_hash + canonical JSON of the entry). Editing an entry breaks its
own hash; deleting one breaks the next entry's link or the sequence; cutting entries off the end
no longer matches the stored chain head. `verify_chain` reports the first place that fails.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from analyzer.web.db import AccessLogEntry, LogHead

GENESIS = "0" * 64
ACTION_TITLES = {
    "view": "查看",
    "play": "播放",
    "export": "导出证据包",
    "unmask": "查看未脱敏内容",
    "decision": "审阅决定",
    "import": "导入",
    "integrity_alarm": "完整性告警",
    "login": "登录",
    "logout": "退出",
    "log_export": "导出访问日志",
    "user_admin": "用户管理",
    "guide_admin": "用语指引管理",
    "registry_admin": "设备登记管理",
    "report": "生成月度报告",
}
HASHED_FIELDS = ("seq", "ts", "username", "role", "action", "recording_id", "target", "purpose", "detail")
_lock = threading.Lock()


def canonical(entry: AccessLogEntry) -> str:
    data = {name: getattr(entry, name) for name in HASHED_FIELDS}
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def entry_hash(prev_hash: str, entry: AccessLogEntry) -> str:
    return hashlib.sha256((prev_hash + canonical(entry)).encode("utf-8")).hexdigest()


def _head(db: Session) -> LogHead:
    head = db.scalar(select(LogHead).where(LogHead.id == 1).with_for_update())
    if head is None:
        head = LogHead(id=1, seq=0, hash=GENESIS)
        db.add(head)
        db.flush()
    return head


def append(
    db: Session,
    *,
    username: str,
    action: str,
    role: str = "",
    recording_id: int | None = None,
    target: str = "",
    purpose: str = "",
    detail: str = "",
) -> AccessLogEntry:
    """Add one entry at the end of the chain and commit it."""
    with _lock:
        head = _head(db)
        entry = AccessLogEntry(
            seq=head.seq + 1,
            ts=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            username=username,
            role=role,
            action=action,
            recording_id=recording_id,
            target=target,
            purpose=purpose,
            detail=detail,
            prev_hash=head.hash,
            hash="",
        )
        entry.hash = entry_hash(head.hash, entry)
        head.seq, head.hash = entry.seq, entry.hash
        db.add(entry)
        db.commit()
        return entry


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    entries: int
    problems: tuple[str, ...] = field(default_factory=tuple)  # Chinese, one line each
    first_bad_seq: int | None = None


def verify_chain(db: Session) -> ChainCheck:
    entries = list(db.scalars(select(AccessLogEntry).order_by(AccessLogEntry.seq)))
    problems: list[str] = []
    first_bad: int | None = None
    prev_hash, expected_seq = GENESIS, 1

    def bad(seq: int, message: str) -> None:
        nonlocal first_bad
        problems.append(message)
        if first_bad is None:
            first_bad = seq

    for e in entries:
        if e.seq != expected_seq:
            bad(expected_seq, f"第 {expected_seq} 条起缺失 {e.seq - expected_seq} 条记录（已被删除）")
        if e.prev_hash != prev_hash:
            bad(e.seq, f"第 {e.seq} 条与前一条的链接不符（前一条被删除或修改）")
        if entry_hash(e.prev_hash, e) != e.hash:
            bad(e.seq, f"第 {e.seq} 条内容与其哈希不符（记录被修改）")
        prev_hash, expected_seq = e.hash, e.seq + 1
    head = db.get(LogHead, 1)
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
    if head_seq != expected_seq - 1 or head_hash != prev_hash:
        bad(
            expected_seq,
            f"日志末尾与链头不符（链头记录 {head_seq} 条，实有 {expected_seq - 1} 条：末尾记录被删除）",
        )
    return ChainCheck(
        ok=not problems, entries=len(entries), problems=tuple(problems), first_bad_seq=first_bad
    )


EXPORT_FIELDS = (*HASHED_FIELDS, "prev_hash", "hash")


def entries_as_dicts(db: Session, recording_id: int | None = None) -> list[dict]:
    query = select(AccessLogEntry).order_by(AccessLogEntry.seq)
    if recording_id is not None:
        query = query.where(AccessLogEntry.recording_id == recording_id)
    return [{name: getattr(e, name) for name in EXPORT_FIELDS} for e in db.scalars(query)]


def export_csv(db: Session) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=EXPORT_FIELDS)
    writer.writeheader()
    writer.writerows(entries_as_dicts(db))
    return "\ufeff" + buf.getvalue()  # BOM so that Excel opens the Chinese text correctly


def export_json(db: Session) -> str:
    check = verify_chain(db)
    doc = {
        "chain": {"algorithm": "sha256(prev_hash + canonical_json(entry))", "genesis": GENESIS},
        "verified": check.ok,
        "problems": list(check.problems),
        "entries": entries_as_dicts(db),
    }
    return json.dumps(doc, ensure_ascii=False, indent=1)
