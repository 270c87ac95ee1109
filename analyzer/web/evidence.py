"""Evidence bundle (第十三条): the untouched original(s), their SHA-256, the report, the reviewer's
decisions, the written explanations of interruptions (第十条, text and scans) and an extraction
note (提取说明) naming the extractor, the time and the approved viewing request (第十四条).

An original is put in only when the bytes written hash to the SHA-256 recorded at import; the bundle
is built in an unnamed temporary file, so parallel exports never share a name and a failed or
interrupted one leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import BinaryIO

from analyzer import __version__
from analyzer.media import sha256_file
from analyzer.web.db import (
    ROLE_TITLES,
    Decision,
    Explanation,
    MediaFile,
    Recording,
    SpeakerOverride,
    User,
    ViewingRequest,
)
from analyzer.web.jobs import AnalysisOutput, render_report_html, rewrite_paths
from analyzer.web.privacy import mask_data, mask_recording
from analyzer.web.storage import StorageError

BEIJING = timezone(timedelta(hours=8))
MASKED_NOTE = "报告中的身份证号、电话号码、车牌及证件号码已脱敏"
UNMASKED_NOTE = "未脱敏（管理员要求，已记入访问日志）"


_WINDOWS_BAD = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$", re.IGNORECASE)


def windows_safe(name: str, fallback: str) -> str:
    """A member name every unzip tool can write, Windows Explorer included: no <>:"/\\|?* or control
    characters, no trailing dot or space, no device name (CON, NUL, COM1…)."""
    name = _WINDOWS_BAD.sub("_", name).rstrip(" .")
    if not name or name.strip("_") == "":
        return fallback
    if _WINDOWS_RESERVED.match(name):
        name = "_" + name
    return name


def _member_names(rec: Recording) -> list[str]:
    names, seen = [], set()
    for f in rec.files:
        name = windows_safe(Path(f.original_name).name, f"file{f.position}")
        if name.casefold() in seen:  # Windows file names ignore case
            name = f"{f.position}_{name}"
        seen.add(name.casefold())
        names.append(f"原始文件/{name}")
    return names


def _explanation_members(explanations: list[Explanation]) -> list[tuple[Explanation, str, str]]:
    """(explanation, text member, scan member or "") in the bundle's 书面说明/ folder."""
    out = []
    for e in sorted(explanations, key=lambda e: e.id):
        scan = f"书面说明/{e.id}_{Path(e.file_name).name or 'scan'}" if e.file_path else ""
        out.append((e, f"书面说明/{e.id}.txt", scan))
    return out


def explanation_text(e: Explanation, scan: str, unmasked: bool) -> str:
    lines = [
        "书面说明（《行政执法音像记录管理制度》第十条：确实无法继续记录的，应当书面说明情况）",
        "",
        f"对应问题：{e.finding_key}",
        f"登记人：{e.author.label}（账号 {e.author.username}）",
        f"登记时间：{e.created_at:%Y-%m-%dT%H:%M:%SZ}",
        "",
        (e.text if unmasked else mask_data(e.text)) or "（仅扫描件）",
    ]
    if scan:
        lines += ["", f"扫描件：{scan}  大小 {e.file_size} 字节  SHA-256 {e.file_sha256}"]
    return "\n".join(lines) + "\n"


def extraction_note(
    rec: Recording,
    extractor: User,
    grant: ViewingRequest,
    when: datetime,
    names: list[str],
    unmasked: bool,
    integrity_problems: list[str],
    omitted: set[str] = frozenset(),
    explained: list[tuple[Explanation, str, str]] = (),  # type: ignore[assignment]
) -> str:
    approver = grant.decided_by
    lines = [
        "提取说明",
        "",
        f"录像编号：{rec.id}",
        f"录像名称：{rec.title}",
        f"提取人：{extractor.label}（账号 {extractor.username}）",
        f"提取时间：{when.astimezone(BEIJING):%Y年%m月%d日 %H:%M:%S}（北京时间）/ {when:%Y-%m-%dT%H:%M:%SZ}",
        f"提取事由：{grant.purpose_text}",
        f"查阅申请：#{grant.id}（{grant.requester.label}，{_utc(grant.requested_at)} 提出）",
        f"批准人：{approver.label}（账号 {approver.username}，{ROLE_TITLES.get(approver.role, '')}）"
        if approver
        else "批准人：（无）",
        f"批准时间：{_utc(grant.decided_at)}",
        f"审批意见：{grant.decision_note or '（无）'}",
        f"批准有效期至：{_utc(grant.valid_until)}",
        "个人信息：" + (UNMASKED_NOTE if unmasked else MASKED_NOTE),
        "",
        "原始文件（自存储系统复制，未经任何修改；SHA-256 见 SHA256SUMS.txt）：",
    ]
    for name, f in zip(names, rec.files, strict=True):
        left_out = "  （校验不通过，未包含在证据包中）" if name in omitted else ""
        lines.append(f"  {name}  大小 {f.size_bytes} 字节  SHA-256 {f.sha256}{left_out}")
    if explained:
        lines += ["", "书面说明（第十条，见 书面说明/ 文件夹）："]
        for e, text_name, scan in explained:
            lines.append(f"  {text_name}  对应问题 {e.finding_key}")
            if scan:
                left_out = "  （校验不通过，未包含在证据包中）" if scan in omitted else ""
                lines.append(f"  {scan}  大小 {e.file_size} 字节  SHA-256 {e.file_sha256}{left_out}")
    lines.append("")
    if integrity_problems:
        lines.append("完整性校验：不通过！" + "；".join(integrity_problems))
    else:
        lines.append("完整性校验：通过（提取时重新计算的 SHA-256 与入库时一致）")
    lines += [
        "",
        "附件：report.json（分析结果）、report.html（分析报告）、review.json（审阅决定、书面说明与查阅批准）",
        f"生成软件：Scriptcheck {__version__}",
        "依据：《行政执法音像记录管理制度》第十三条",
        "",
    ]
    return "\n".join(lines)


def _utc(when: datetime | None) -> str:
    """A stored (naive UTC) time as the extraction note writes times: Beijing time."""
    if when is None:
        return "（无）"
    return f"{when.replace(tzinfo=UTC).astimezone(BEIJING):%Y年%m月%d日 %H:%M:%S}（北京时间）"


class _Mismatch(Exception):
    """An original's bytes did not hash to its recorded SHA-256 while being written into the bundle."""


@dataclass
class EvidenceZip:
    file: BinaryIO  # anonymous temporary file (no name on disk): closing it frees the space
    size: int
    name: str  # download name, unique per export
    problems: list[str]


def _add_original(zf: zipfile.ZipFile, member: str, source: BinaryIO, sha256: str) -> None:
    digest = hashlib.sha256()
    info = zipfile.ZipInfo(member, date_time=datetime.now().timetuple()[:6])
    info.compress_type = zipfile.ZIP_STORED  # byte for byte
    with zf.open(info, "w", force_zip64=True) as out:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
            out.write(chunk)
    if digest.hexdigest() != sha256:
        raise _Mismatch(member)


def build_evidence_zip(
    out_dir: Path,
    rec: Recording,
    output: AnalysisOutput | None,
    decisions: list[Decision],
    extractor: User,
    grant: ViewingRequest,
    *,
    unmasked: bool,
    open_original: Callable[[MediaFile], BinaryIO],
    explanations: Sequence[Explanation] = (),
    metadata: dict | None = None,
    speaker_overrides: Sequence[SpeakerOverride] = (),
    original: AnalysisOutput | None = None,
) -> EvidenceZip:
    """The bundle in an unnamed temporary file under `out_dir`. Each original is hashed as it is written;
    one that does not match its recorded SHA-256 (or cannot be opened) is left out, and the note says so."""
    when = datetime.now(UTC)
    names = _member_names(rec)
    explained = _explanation_members(list(explanations))
    problems: dict[str, str] = {}
    download = f"evidence-{rec.id}-{when:%Y%m%dT%H%M%S}-{secrets.token_hex(4)}-{extractor.username}.zip"
    for _attempt in range(len(rec.files) + 1):
        fh = tempfile.TemporaryFile(dir=out_dir, prefix="evidence-")
        try:
            _write_bundle(
                fh,
                when,
                names,
                problems,
                rec,
                output,
                decisions,
                extractor,
                grant,
                unmasked,
                open_original,
                explained,
                metadata,
                speaker_overrides,
                original,
            )
        except _Mismatch as bad:
            fh.close()
            f = rec.files[names.index(str(bad))]
            problems[str(bad)] = f"{f.original_name}：当前内容与入库时的 SHA-256（{f.sha256[:16]}…）不符"
            continue
        except BaseException:
            fh.close()
            raise
        size = fh.seek(0, os.SEEK_END)
        fh.seek(0)
        return EvidenceZip(file=fh, size=size, name=download, problems=list(problems.values()))
    raise RuntimeError("evidence bundle could not be built")


def _write_bundle(
    fh: BinaryIO,
    when: datetime,
    names: list[str],
    problems: dict[str, str],
    rec: Recording,
    output: AnalysisOutput | None,
    decisions: list[Decision],
    extractor: User,
    grant: ViewingRequest,
    unmasked: bool,
    open_original: Callable[[MediaFile], BinaryIO],
    explained: list[tuple[Explanation, str, str]],
    metadata: dict | None = None,
    speaker_overrides: Sequence[SpeakerOverride] = (),
    original: AnalysisOutput | None = None,
) -> None:
    with zipfile.ZipFile(fh, "w", allowZip64=True) as zf:
        for name, f in zip(names, rec.files, strict=True):
            if name in problems:
                continue
            try:
                source = open_original(f)
            except (StorageError, OSError) as err:
                problems[name] = f"{f.original_name}：{str(err) or '不可读'}"
                continue
            with source:
                _add_original(zf, name, source, f.sha256)
        for e, text_name, scan in explained:
            zf.writestr(text_name, explanation_text(e, scan, unmasked))
            if scan and _hash_or_empty(e.file_path) != e.file_sha256:
                problems[scan] = f"书面说明扫描件 {e.file_name}：与登记时的 SHA-256 不符或不可读"
            elif scan:
                zf.write(e.file_path, scan, compress_type=zipfile.ZIP_STORED)  # byte for byte
        sums = "".join(
            f"{f.sha256}  {name}\n" for name, f in zip(names, rec.files, strict=True) if name not in problems
        )
        sums += "".join(
            f"{e.file_sha256}  {scan}\n" for e, _t, scan in explained if scan and scan not in problems
        )
        zf.writestr("SHA256SUMS.txt", sums)
        if output is not None:
            recording = output.recording if unmasked else mask_recording(output.recording)
            in_bundle = rewrite_paths(
                recording, {f.stored_path: n for n, f in zip(names, rec.files, strict=True)}
            )
            zf.writestr("report.json", json.dumps(output.document(in_bundle), ensure_ascii=False, indent=1))
            for_html = rewrite_paths(
                recording, {f.stored_path: f"/bundle/{n}" for n, f in zip(names, rec.files, strict=True)}
            )
            zf.writestr("report.html", render_report_html(output, for_html, "/bundle/report.html"))
        if original is not None and output is not None and speaker_overrides:
            # The analysis as it came out, before the reviewer's speaker corrections (report.json).
            first = original.recording if unmasked else mask_recording(original.recording)
            first = rewrite_paths(first, {f.stored_path: n for n, f in zip(names, rec.files, strict=True)})
            zf.writestr(
                "report-original.json", json.dumps(original.document(first), ensure_ascii=False, indent=1)
            )
        review = {
            "recording_id": rec.id,
            "score": rec.score,
            "final_score": rec.final_score,
            "decisions": [
                {
                    "finding": d.finding_key,
                    "action": d.action,
                    "comment": d.comment if unmasked else mask_data(d.comment),
                    "reviewer": d.reviewer.username,
                    "time": d.created_at.isoformat() + "Z",
                }
                for d in decisions
            ],
            "explanations": [
                {
                    "finding": e.finding_key,
                    "text": e.text if unmasked else mask_data(e.text),
                    "scan": scan or None,
                    "scan_sha256": e.file_sha256 or None,
                    "author": e.author.username,
                    "time": e.created_at.isoformat() + "Z",
                }
                for e, _t, scan in explained
            ],
            "viewing_request": {  # 第十四条: the approved request the extraction was made under
                "id": grant.id,
                "requester": grant.requester.username,
                "purpose": grant.purpose_text,
                "requested_at": grant.requested_at.isoformat() + "Z",
                "approver": grant.decided_by.username if grant.decided_by else None,
                "decided_at": grant.decided_at.isoformat() + "Z" if grant.decided_at else None,
                "note": grant.decision_note,
                "valid_until": grant.valid_until.isoformat() + "Z" if grant.valid_until else None,
            },
            "speaker_overrides": [
                {
                    "speaker_id": o.speaker_id,
                    "role": o.role,
                    "previous_role": o.previous_role,
                    "comment": o.comment if unmasked else mask_data(o.comment),
                    "reviewer": o.reviewer.username,
                    "time": o.created_at.isoformat() + "Z",
                    "current": o.analysis_at == rec.finished_at,  # False: made on an earlier analysis
                }
                for o in speaker_overrides
            ],
        }
        zf.writestr("review.json", json.dumps(review, ensure_ascii=False, indent=1))
        if metadata is not None:  # 第十一条
            zf.writestr("音像资料信息.json", json.dumps(metadata, ensure_ascii=False, indent=1))
        note = extraction_note(
            rec, extractor, grant, when, names, unmasked, list(problems.values()), set(problems), explained
        )
        if original is not None and output is not None and speaker_overrides:
            note += (
                "\n说话人身份经审阅人更正：report.json、report.html 为更正后按同一分析流程重新评估的结果"
                "（未重新转写），更正前的分析结果见 report-original.json，"
                "更正记录（审阅人、时间、理由）见 review.json。\n"
            )
        if metadata is not None:
            fields = metadata.get("fields", {})
            lines = [f"{f['title']}：{f['value'] or '（未填写）'}" for f in fields.values()]
            late = "（超过24小时才存储）" if metadata.get("stored_late") else ""
            note += "\n音像资料信息（第十一条，见 音像资料信息.json）：\n" + "\n".join(lines) + late + "\n"
        zf.writestr("提取说明.txt", note)


def _hash_or_empty(path: str) -> str:
    try:
        return sha256_file(path)
    except OSError:
        return ""
