"""A small seeded review database for the dashboard tests (no tests here).

Three registered officers in two units and one recording without a device, over February and March
2026, with reviewer decisions that override one finding and confirm others, and unreviewed ones.
Every figure the tests expect is computed by hand in test_web_dashboard.py from the table below.
Reports are report-v1 shaped (analyzer.report) and written to result dirs like the worker does.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path

from analyzer.training import TrainingStore
from analyzer.web import registry
from analyzer.web.dashboard import index_recording
from analyzer.web.db import Decision, MediaFile, Recording, User
from analyzer.web.review import keyed_findings, open_flags, recompute_final_score

OFFICERS = [  # device, name, badge, unit
    ("DEV01", "张三", "1001", "一中队"),
    ("DEV02", "李四", "1002", "一中队"),
    ("DEV03", "王五", "2001", "二中队"),
]


def _phrase(pid: str, title: str, status: str, points_lost: float = 0.0) -> dict:
    return {
        "id": pid,
        "title": title,
        "status": status,
        "score": {"present": 100.0, "partial": 60.0, "absent": 0.0}[status],
        "points_lost": points_lost,
        "required": True,
        "start_s": None if status == "absent" else 1.0,
        "end_s": None if status == "absent" else 3.0,
    }


def _finding(code: str, phrase_id: str | None, points: float, start: float | None = None) -> dict:
    return {
        "code": code,
        "severity": "major",
        "message": code,
        "start_s": start,
        "end_s": None,
        "phrase_id": phrase_id,
        "points_lost": points,
    }


# name, file name (device + time) or (free name, created_at), score, opening, rights, findings, decisions
# decisions: {finding code: action}
RECORDINGS = [
    (
        "R1",
        "DEV01_20260305_090000.wav",
        60.0,
        "absent",
        "partial",
        [_finding("opening_missing", "opening", 30.0)],
        {"opening_missing": "override"},
    ),
    (
        "R2",
        "DEV01_20260312_100000.wav",
        80.0,
        "present",
        "absent",
        [
            _finding("rights_notice_missing", "rights_notice", 20.0),
            _finding("interruption_unexplained", None, 0.0, 12.0),
        ],
        {},
    ),
    (
        "R3",
        "20260310_080000_DEV02.mp4",
        40.0,
        "absent",
        "absent",
        [
            _finding("opening_missing", "opening", 30.0),
            _finding("rights_notice_missing", "rights_notice", 30.0),
        ],
        {"opening_missing": "confirm", "rights_notice_missing": "confirm"},
    ),
    ("R4", "DEV03_20260320_140000.wav", 100.0, "present", "present", [], {}),
    (
        "R5",
        ("现场检查.wav", datetime(2026, 3, 15, 9, 0)),
        70.0,
        "partial",
        "present",
        [_finding("opening_incomplete", "opening", 10.0)],
        {},
    ),
    (
        "R6",
        "DEV01_20260210_090000.wav",
        50.0,
        "absent",
        "present",
        [_finding("opening_missing", "opening", 30.0)],
        {},
    ),
    (
        "R7",
        "DEV02_20260215_090000.wav",
        70.0,
        "present",
        "partial",
        [_finding("interruption_unexplained", None, 0.0, 30.0)],
        {},
    ),
]


def seed(app, data_dir: Path) -> dict[str, int]:
    """Registry, recordings, decisions (by the reviewer `rev`); returns recording name -> id."""
    ids: dict[str, int] = {}
    with app.state.sessions() as db:
        for device, name, badge, unit in OFFICERS:
            registry.set_device(db, device, name, badge, unit)
        reviewer = db.query(User).filter_by(username="rev").one()
        for name, file, score, opening, rights, findings, decisions in RECORDINGS:
            fname, created = (file, datetime(2026, 4, 1)) if isinstance(file, str) else file
            result_dir = data_dir / "results" / name
            result_dir.mkdir(parents=True, exist_ok=True)
            rec = Recording(
                title=name,
                status="done",
                progress=1.0,
                stage="完成",
                score=score,
                result_dir=str(result_dir),
                created_at=created,
                files=[
                    MediaFile(
                        position=0,
                        stored_path=str(data_dir / "originals" / fname),
                        original_name=fname,
                        sha256="0" * 64,
                        size_bytes=1,
                    )
                ],
            )
            db.add(rec)
            db.commit()
            registry.attach(db, rec)
            data = {
                "path": fname,
                "score": score,
                "duration_s": 60.0,
                "phrases": [
                    _phrase("opening", "开始记录", opening, 30.0 if opening == "absent" else 0.0),
                    _phrase("rights_notice", "告知权利", rights),
                ],
                "findings": findings,
                "gaps": [],
            }
            doc = {"schema": "report-v1", "guide": {}, "recordings": [data]}
            (result_dir / "report.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
            keys = {f["code"]: k for k, f in keyed_findings(data)}
            for code, action in decisions.items():
                db.add(
                    Decision(
                        recording_id=rec.id, finding_key=keys[code], action=action, reviewer_id=reviewer.id
                    )
                )
            db.commit()
            recompute_final_score(db, rec, data)
            rec.flags_json = json.dumps(open_flags(db, rec, data))
            db.commit()
            index_recording(db, rec, data)
            ids[name] = rec.id
        failed = Recording(title="R8", status="error", error="无法解码", created_at=datetime(2026, 3, 2))
        db.add(failed)
        db.commit()
        ids["R8"] = failed.id
    return ids


# trainee, phrase, score, month (attempts in this order)
ATTEMPTS = [
    ("甲", "opening", 60.0, "2026-02"),
    ("甲", "opening", 90.0, "2026-03"),
    ("甲", "rights_notice", 88.0, "2026-03"),
    ("乙", "opening", 95.0, "2026-03"),
    ("乙", "rights_notice", 50.0, "2026-03"),
    ("丙", "opening", 80.0, "2026-03"),
]


def seed_training(path: Path) -> None:
    TrainingStore(path)  # its schema
    con = sqlite3.connect(path)
    with con:
        for trainee, phrase, score, month in ATTEMPTS:
            at = f"{month}-10T10:00:00"
            cur = con.execute(
                "INSERT INTO attempts (trainee, target, kind, guide_id, score, created_at, feedback_json)"
                " VALUES (?, ?, 'phrase', 'default', ?, ?, '{}')",
                (trainee, phrase, score, at),
            )
            con.execute(
                "INSERT INTO phrase_scores (attempt_id, trainee, phrase_id, score, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (cur.lastrowid, trainee, phrase, score, at),
            )
    con.close()
