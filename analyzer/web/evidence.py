"""Evidence bundle (第十三条): the untouched original(s), their SHA-256, the report, the reviewer's
decisions and an extraction note (提取说明) naming the extractor and the time.
"""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from analyzer import __version__
from analyzer.web.db import AccessGrant, Decision, Recording, User
from analyzer.web.jobs import AnalysisOutput, render_report_html, rewrite_paths
from analyzer.web.privacy import mask_data, mask_recording

BEIJING = timezone(timedelta(hours=8))
MASKED_NOTE = "报告中的身份证号、电话号码、车牌及证件号码已脱敏"
UNMASKED_NOTE = "未脱敏（管理员要求，已记入访问日志）"


def _member_names(rec: Recording) -> list[str]:
    names, seen = [], set()
    for f in rec.files:
        name = Path(f.original_name).name or f"file{f.position}"
        if name in seen:
            name = f"{f.position}_{name}"
        seen.add(name)
        names.append(f"原始文件/{name}")
    return names


def extraction_note(
    rec: Recording,
    extractor: User,
    grant: AccessGrant,
    when: datetime,
    names: list[str],
    unmasked: bool,
    integrity_problems: list[str],
) -> str:
    lines = [
        "提取说明",
        "",
        f"录像编号：{rec.id}",
        f"录像名称：{rec.title}",
        f"提取人：{extractor.label}（账号 {extractor.username}）",
        f"提取时间：{when.astimezone(BEIJING):%Y年%m月%d日 %H:%M:%S}（北京时间）/ {when:%Y-%m-%dT%H:%M:%SZ}",
        f"提取事由：{grant.purpose}",
        f"批准人：{grant.approver}",
        "个人信息：" + (UNMASKED_NOTE if unmasked else MASKED_NOTE),
        "",
        "原始文件（自存储系统复制，未经任何修改；SHA-256 见 SHA256SUMS.txt）：",
    ]
    for name, f in zip(names, rec.files, strict=True):
        lines.append(f"  {name}  大小 {f.size_bytes} 字节  SHA-256 {f.sha256}")
    lines.append("")
    if integrity_problems:
        lines.append("完整性校验：不通过！" + "；".join(integrity_problems))
    else:
        lines.append("完整性校验：通过（提取时重新计算的 SHA-256 与入库时一致）")
    lines += [
        "",
        "附件：report.json（分析结果）、report.html（分析报告）、review.json（审阅决定）",
        f"生成软件：Scriptcheck {__version__}",
        "依据：《行政执法音像记录管理制度》第十三条",
        "",
    ]
    return "\n".join(lines)


def build_evidence_zip(
    out_dir: Path,
    rec: Recording,
    output: AnalysisOutput | None,
    decisions: list[Decision],
    extractor: User,
    grant: AccessGrant,
    *,
    unmasked: bool,
    integrity_problems: list[str],
) -> Path:
    when = datetime.now(UTC)
    names = _member_names(rec)
    zip_path = out_dir / f"evidence-{rec.id}-{when:%Y%m%dT%H%M%SZ}-{extractor.username}.zip"
    sums = "".join(f"{f.sha256}  {name}\n" for name, f in zip(names, rec.files, strict=True))
    tmp = zip_path.with_suffix(".part")
    with zipfile.ZipFile(tmp, "w") as zf:
        for name, f in zip(names, rec.files, strict=True):
            zf.write(f.stored_path, name, compress_type=zipfile.ZIP_STORED)  # read only, byte for byte
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
        }
        zf.writestr("review.json", json.dumps(review, ensure_ascii=False, indent=1))
        zf.writestr(
            "提取说明.txt", extraction_note(rec, extractor, grant, when, names, unmasked, integrity_problems)
        )
    tmp.replace(zip_path)
    return zip_path
