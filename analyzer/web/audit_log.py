"""Access log (第十四条): every viewing request and decision, every view, play and export of a
recording and every refused access, append-only and chained with a secret key.

Each entry's hash is HMAC-SHA256(key, prev_hash + canonical JSON of the entry), with a key kept in
a file outside the database (data-dir/keys/audit.key, mode 0600, created at first start). Without
the key, nobody who can write the database can edit, delete or renumber entries and recompute the
chain; the stored head carries an HMAC too, so cutting entries off the end is detected as well.
Someone holding both the key file and the database can rewrite the chain: against that, an admin
exports the chain head (`export_head`) and keeps it outside the server; `check_exported_head`
later proves that nothing up to that entry has changed since.

Logs started before the key existed keep their unkeyed SHA-256 entries; the signed setting
`audit_keyed_from` says from which entry the keyed chain starts (the first keyed entry's HMAC
covers the last unkeyed hash, so the older part cannot be changed unnoticed either).
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import os
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from analyzer.web.db import AccessLogEntry, LogHead, Setting

GENESIS = "0" * 64
ACTION_TITLES = {
    "view": "查看",
    "play": "播放",
    "export": "导出证据包",
    "unmask": "查看未脱敏内容",
    "decision": "审阅决定",
    "speaker_override": "更正说话人",
    "explanation": "登记书面说明",
    "metadata": "填写音像资料信息",
    "close_review": "完成审阅",
    "retention_class": "设置保存期限分类",
    "legal_hold": "诉讼保全",
    "retention_list": "列出到期录像",
    "retention_delete": "删除到期录像",
    "import": "导入",
    "integrity_alarm": "完整性告警",
    "login": "登录",
    "logout": "退出",
    "log_export": "导出访问日志",
    "user_admin": "用户管理",
    "guide_admin": "用语指引管理",
    "registry_admin": "设备登记管理",
    "report": "生成月度报告",
    "log_head_export": "导出日志链头",
    "reanalyze": "重新分析",
    "view_request": "提交查阅申请",
    "view_approve": "批准查阅申请",
    "view_refuse": "拒绝查阅申请",
    "view_withdraw": "撤回查阅申请",
    "view_expire": "查阅批准过期",
    "access_refused": "未经批准，拒绝访问",
    "metadata_export": "导出音像资料信息",
}
KEY_FILE = Path("keys") / "audit.key"
KEYED_FROM = "audit_keyed_from"
CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
HASHED_FIELDS = ("seq", "ts", "username", "role", "action", "recording_id", "target", "purpose", "detail")
_lock = threading.Lock()


def canonical(entry: AccessLogEntry) -> str:
    data = {name: getattr(entry, name) for name in HASHED_FIELDS}
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def entry_hash(prev_hash: str, entry: AccessLogEntry) -> str:
    """The unkeyed hash of logs written before the key existed (and all anyone can compute)."""
    return hashlib.sha256((prev_hash + canonical(entry)).encode("utf-8")).hexdigest()


def entry_mac(key: bytes, prev_hash: str, entry: AccessLogEntry) -> str:
    return hmac.new(key, (prev_hash + canonical(entry)).encode("utf-8"), hashlib.sha256).hexdigest()


def _mac(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def head_mac(key: bytes, seq: int, last_hash: str) -> str:
    return _mac(key, f"head:{seq}:{last_hash}")


def key_id(key: bytes) -> str:
    """A fingerprint that names the key on an exported head without revealing it."""
    return hashlib.sha256(b"scriptcheck-audit-key-id:" + key).hexdigest()[:16]


def load_or_create_key(data_dir: Path) -> tuple[bytes, bool]:
    """The chain key from data-dir/keys/audit.key, created (0600, its folder 0700) when missing.
    Returns (key, created)."""
    path = data_dir / KEY_FILE
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        os.chmod(path, 0o600)
        text = path.read_text(encoding="ascii").strip()
        try:
            key = bytes.fromhex(text)
        except ValueError:
            key = b""
        if len(key) < 32:
            raise RuntimeError(f"{path}：访问日志密钥文件已损坏（应为 64 位十六进制）") from None
        return key, False
    key = secrets.token_bytes(32)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key.hex() + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return key, True


def attach_key(sessions: sessionmaker[Session], data_dir: Path) -> None:
    """Give every session of `sessions` the chain key of `data_dir` (created at first start), and
    record where the keyed chain starts; the web app and the commands that log both call this."""
    key, created = load_or_create_key(data_dir)
    sessions.configure(info={"audit_key": key})
    with sessions() as db:
        init_chain(db, created)


def derived_key(db: Session, purpose: bytes) -> bytes | None:
    """A key for another use (`purpose`), derived from the chain key so that it lives as protected as
    that one; None for a session made without the key."""
    key = db.info.get("audit_key")
    return hmac.new(key, b"scriptcheck-derived:" + purpose, hashlib.sha256).digest() if key else None


def _key(db: Session) -> bytes:
    key = db.info.get("audit_key")
    if not key:
        raise RuntimeError("访问日志密钥未加载：数据库会话须由 create_app 创建")
    return key


def init_chain(db: Session, key_created: bool) -> None:
    """At start: record from which entry the keyed chain starts. A new log starts keyed at entry 1;
    a log older than a just-created key keeps its entries as the unkeyed part. A missing record
    for a log with entries and an existing key is left missing, for `verify_chain` to report."""
    key = _key(db)
    if db.get(Setting, KEYED_FROM) is not None:
        return
    head = db.get(LogHead, 1)
    seq = head.seq if head else 0
    if seq and not key_created:
        return
    db.add(Setting(key=KEYED_FROM, value=f"{seq + 1}:{_mac(key, f'keyed_from:{seq + 1}')}"))
    if head is not None:
        head.hash = head_mac(key, head.seq, head.hash)  # the old head held the last entry's hash
    db.commit()


def _keyed_from(db: Session, key: bytes) -> int | None:
    setting = db.get(Setting, KEYED_FROM)
    if setting is None:
        return None
    seq, _, mac = setting.value.partition(":")
    if not seq.isdigit() or not hmac.compare_digest(mac, _mac(key, f"keyed_from:{seq}")):
        return None
    return int(seq)


def _head(db: Session) -> LogHead:
    head = db.scalar(select(LogHead).where(LogHead.id == 1).with_for_update())
    if head is None:
        head = LogHead(id=1, seq=0, hash="")
        db.add(head)
        db.flush()
    return head


def _last_hash(db: Session, seq: int) -> str:
    if seq == 0:
        return GENESIS
    last = db.scalar(select(AccessLogEntry.hash).where(AccessLogEntry.seq == seq))
    return last or GENESIS


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
    key = _key(db)
    with _lock:
        head = _head(db)
        prev = _last_hash(db, head.seq)
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
            prev_hash=prev,
            hash="",
        )
        entry.hash = entry_mac(key, prev, entry)
        head.seq, head.hash = entry.seq, head_mac(key, entry.seq, entry.hash)
        db.add(entry)
        db.commit()
        return entry


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    entries: int
    problems: tuple[str, ...] = field(default_factory=tuple)  # Chinese, one line each
    first_bad_seq: int | None = None
    keyed_from: int = 1  # entries before this one carry the unkeyed SHA-256 of older versions
    key_id: str = ""


def verify_chain(db: Session) -> ChainCheck:
    key = _key(db)
    entries = list(db.scalars(select(AccessLogEntry).order_by(AccessLogEntry.seq)))
    problems: list[str] = []
    first_bad: int | None = None
    prev_hash, expected_seq = GENESIS, 1
    keyed_from = _keyed_from(db, key)
    if keyed_from is None:
        problems.append("密钥链起点记录缺失或被篡改：全部记录按密钥链校验")
        first_bad, keyed_from = (1 if entries else None), 1

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
        expected = entry_hash(e.prev_hash, e) if e.seq < keyed_from else entry_mac(key, e.prev_hash, e)
        if not hmac.compare_digest(expected, e.hash):
            bad(e.seq, f"第 {e.seq} 条内容与其哈希不符（记录被修改或被无密钥者重算）")
        prev_hash, expected_seq = e.hash, e.seq + 1
    head = db.get(LogHead, 1)
    head_seq, stored = (head.seq, head.hash) if head else (0, "")
    if entries or head:
        if head_seq != expected_seq - 1 or not hmac.compare_digest(
            stored, head_mac(key, head_seq, prev_hash)
        ):
            bad(
                expected_seq,
                f"日志末尾与链头不符（链头记录 {head_seq} 条，实有 {expected_seq - 1} 条："
                "末尾记录被删除或链头被改）",
            )
    return ChainCheck(
        ok=not problems,
        entries=len(entries),
        problems=tuple(problems),
        first_bad_seq=first_bad,
        keyed_from=keyed_from,
        key_id=key_id(key),
    )


@dataclass(frozen=True)
class ExportedHead:
    """What an admin prints and keeps away from the server: the chain's end at one moment."""

    time: str  # ISO 8601 UTC
    seq: int
    hash: str  # the HMAC of entry `seq`
    key_id: str
    seal: str  # HMAC over the other fields: this server's key made this export
    verified: bool  # the chain verified when the head was exported


def export_head(db: Session) -> ExportedHead:
    key = _key(db)
    check = verify_chain(db)
    head = db.get(LogHead, 1)
    seq = head.seq if head else 0
    last = _last_hash(db, seq)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    seal = _mac(key, f"export:{stamp}:{seq}:{last}")
    return ExportedHead(time=stamp, seq=seq, hash=last, key_id=key_id(key), seal=seal, verified=check.ok)


def check_exported_head(db: Session, seq: int, expected_hash: str) -> tuple[bool, str]:
    """Whether entries 1..seq are unchanged since a head (seq, hash) was exported. Holds even
    against someone with the key: entry `seq`'s HMAC covers every entry before it."""
    expected_hash = expected_hash.strip().lower()
    stored = db.scalar(select(AccessLogEntry.hash).where(AccessLogEntry.seq == seq))
    if stored is None:
        return False, f"第 {seq} 条已不存在：导出链头之后有记录被删除"
    if not hmac.compare_digest(stored, expected_hash):
        return False, f"第 {seq} 条的哈希与导出的链头不符：第 1–{seq} 条中有记录在导出之后被改动或删除"
    check = verify_chain(db)
    if check.first_bad_seq is not None and check.first_bad_seq <= seq:
        return False, f"第 {seq} 条的哈希与导出的链头一致，但此前的记录校验失败：{check.problems[0]}"
    return True, f"第 1–{seq} 条自导出链头以来未被改动（第 {seq} 条的哈希与导出值一致，链逐条校验通过）"


EXPORT_FIELDS = (*HASHED_FIELDS, "prev_hash", "hash")


def entries_as_dicts(db: Session, recording_id: int | None = None) -> list[dict]:
    query = select(AccessLogEntry).order_by(AccessLogEntry.seq)
    if recording_id is not None:
        query = query.where(AccessLogEntry.recording_id == recording_id)
    return [{name: getattr(e, name) for name in EXPORT_FIELDS} for e in db.scalars(query)]


def csv_safe(value: object) -> object:
    """A cell that a spreadsheet would run as a formula is prefixed with ' (shown as text)."""
    if isinstance(value, str) and value.startswith(CSV_FORMULA_START):
        return "'" + value
    return value


def export_csv(db: Session) -> str:
    """For reading in a spreadsheet; formula-like cells are defused, so re-verify from the JSON."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=EXPORT_FIELDS)
    writer.writeheader()
    writer.writerows({k: csv_safe(v) for k, v in row.items()} for row in entries_as_dicts(db))
    return "\ufeff" + buf.getvalue()  # BOM so that Excel opens the Chinese text correctly


def export_json(db: Session) -> str:
    check = verify_chain(db)
    doc = {
        "chain": {
            "algorithm": "hmac-sha256(key, prev_hash + canonical_json(entry))",
            "legacy_algorithm": "sha256(prev_hash + canonical_json(entry))",
            "keyed_from_seq": check.keyed_from,
            "key_id": check.key_id,
            "genesis": GENESIS,
        },
        "verified": check.ok,
        "problems": list(check.problems),
        "entries": entries_as_dicts(db),
    }
    return json.dumps(doc, ensure_ascii=False, indent=1)
