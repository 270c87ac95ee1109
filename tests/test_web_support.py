"""Shared helpers for the web tests (no tests here): an app on a temp data dir, users, login.

The fake analysis below is ONLY for unit-level tests of auth, CSRF, access log, masking and
decisions; the browser end-to-end test (test_web_browser.py) runs the real pipeline.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from analyzer.web.app import WebConfig, create_app
from analyzer.web.auth import hash_password
from analyzer.web.db import User
from analyzer.web.jobs import AnalysisOutput

PASSWORD = "correct-horse-9"
APPROVER = "head"  # the approver (承办处室主要负责人) of add_users
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def fake_analysis(paths: list[str], guide: str | None, progress) -> AnalysisOutput:
    """A report-shaped result (schema of analyzer.report) with a missing opening, a gap and personal data."""
    progress(0.5, "分析中")
    recording = {
        "path": paths[0],
        "kind": "case" if len(paths) > 1 else "file",
        "sha256": "",
        "duration_s": 30.0,
        "profile": "inspection",
        "profile_title": "行政检查",
        "profile_inferred": True,
        "score": 62.5,
        "error": None,
        "files": [
            {"path": p, "sha256": "", "offset_s": 15.0 * i, "duration_s": 15.0, "has_video": False}
            for i, p in enumerate(paths)
        ],
        "phrases": [
            {
                "id": "opening",
                "title": "开场说明",
                "status": "absent",
                "score": 0.0,
                "points_lost": 30.0,
                "required": True,
                "weight": 3.0,
                "file": None,
                "file_start_s": None,
                "start_s": None,
                "end_s": None,
                "text": "",
                "standard": "我们是洛阳市瀍河回族区审计局执法人员",
                "diff": [],
                "missing_terms": ["审计局"],
                "missing_slots": [],
                "reasons": ["未说开场说明"],
            },
            {
                "id": "rights_notice",
                "title": "告知权利",
                "status": "partial",
                "score": 75.0,
                "points_lost": 7.5,
                "required": True,
                "weight": 1.0,
                "file": paths[0],
                "file_start_s": 10.0,
                "start_s": 10.0,
                "end_s": 14.0,
                "text": "你有陈述的权利",
                "standard": "您有陈述和申辩的权利",
                "diff": [
                    {"op": "wrong", "standard": "您", "said": "你"},
                    {"op": "equal", "standard": "有陈述", "said": "有陈述"},
                    {"op": "missing", "standard": "和申辩", "said": ""},
                    {"op": "equal", "standard": "的权利", "said": "的权利"},
                ],
                "missing_terms": ["申辩"],
                "missing_slots": [],
                "reasons": ["缺少关键词：申辩"],
            },
        ],
        "gaps": [
            {
                "kind": "silence",
                "start_s": 20.0,
                "end_s": 25.0,
                "duration_s": 5.0,
                "interruption": False,
                "confidence": 0.9,
                "file": paths[-1],
                "file_start_s": 5.0,
                "detail": "长时间无语音",
            }
        ],
        "notes": ["首次识别未检出“开始记录”，已将开头 30 秒以更细致的解码（beam 5）复核：复核后仍未检出"],
        "findings": [
            {
                "code": "opening_missing",
                "severity": "critical",
                "message": "未发现开场说明",
                "start_s": None,
                "end_s": None,
                "phrase_id": "opening",
                "file": "",
                "file_start_s": None,
            },
            {
                "code": "gap",
                "severity": "minor",
                "message": "20 秒处约 5 秒无语音",
                "start_s": 20.0,
                "end_s": 25.0,
                "phrase_id": None,
                "file": paths[-1],
                "file_start_s": 5.0,
            },
        ],
        "transcript": {
            "segments": [
                {
                    "start_s": 1.0,
                    "end_s": 4.0,
                    "text": "请出示身份证，号码41030219900101123X",
                    "file": paths[0],
                    "file_start_s": 1.0,
                    "raw_text": "",
                    "avg_logprob": -0.3,
                    "no_speech_prob": 0.01,
                    "words": [[1.0, 2.0, "请出示身份证，号码", 0.9], [2.0, 4.0, "41030219900101123X", 0.9]],
                },
                {
                    "start_s": 5.0,
                    "end_s": 8.0,
                    "text": "联系电话138 1234 5678",
                    "file": paths[0],
                    "file_start_s": 5.0,
                    "raw_text": "",
                    "avg_logprob": -0.3,
                    "no_speech_prob": 0.01,
                    "words": [
                        [5.0, 6.0, "联系电话138", 0.9],
                        [6.0, 7.0, " 1234", 0.9],
                        [7.0, 8.0, " 5678", 0.9],
                    ],
                },
                {
                    "start_s": 10.0,
                    "end_s": 14.0,
                    "text": "你有陈述的权利",
                    "file": paths[0],
                    "file_start_s": 10.0,
                    "raw_text": "",
                    "avg_logprob": -0.3,
                    "no_speech_prob": 0.01,
                    "words": [],
                },
            ]
        },
    }
    return AnalysisOutput(recording=recording, guide={"id": "default", "title": "测试指引"})


@lru_cache(maxsize=1)
def _password_hash() -> str:
    return hash_password(PASSWORD)  # argon2 takes ~0.4 s here: hash once for all test users


def add_users(app) -> None:
    with app.state.sessions() as db:
        for username, role, name in (
            ("admin", "admin", "管理员甲"),
            ("rev", "reviewer", "审阅人乙"),
            ("trainee", "trainee", "学员丙"),
            (APPROVER, "approver", "张科长"),
        ):
            db.add(User(username=username, password_hash=_password_hash(), role=role, display_name=name))
        db.commit()


def make_app(data_dir: Path, **kwargs):
    app = create_app(
        WebConfig(data_dir=data_dir, import_roots=[data_dir / "inbox"]), analyze=fake_analysis, **kwargs
    )
    add_users(app)
    return app


def login(client, username: str, password: str = PASSWORD):
    page = client.get("/login")
    token = CSRF_RE.search(page.text).group(1)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )


def csrf_of(client, path: str = "/import") -> str:
    return CSRF_RE.search(client.get(path).text).group(1)


def upload(client, name: str = "a.wav", data: bytes = b"RIFF" + b"\x00" * 200, **form):
    """Import one file through the upload form (the fake analysis never decodes it)."""
    import io

    token = csrf_of(client)
    return client.post(
        "/import/upload",
        data={"csrf_token": token, **form},
        files={"files": (name, io.BytesIO(data), "audio/wav")},
        follow_redirects=False,
    )


def wait_done(client, rid: int, timeout: float = 20.0) -> dict:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = next(r for r in client.get("/api/queue").json() if r["id"] == rid)
        if row["status"] in ("done", "error"):
            return row
        time.sleep(0.1)
    raise AssertionError(f"recording {rid} not analysed in {timeout}s")


def request_access(client, rid: int, purpose: str = "案件审核", detail: str = "") -> int:
    """File a viewing request (第十四条) through the request form; returns its number."""
    token = csrf_of(client, f"/recordings/{rid}/purpose")
    r = client.post(
        f"/recordings/{rid}/purpose",
        data={"csrf_token": token, "purpose": purpose, "purpose_detail": detail},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    found = re.search(
        r'data-request="(\d+)" data-state="pending"', client.get(f"/recordings/{rid}/purpose").text
    )
    assert found, "the filed request is not listed as pending"
    return int(found.group(1))


_deciders: dict[tuple[int, str], object] = {}


def decider(app, username: str = APPROVER):
    """A client logged in as `username` (one login per app and user: argon2 is slow)."""
    from fastapi.testclient import TestClient

    key = (id(app), username)
    client = _deciders.get(key)
    if client is None or client.app is not app:
        client = TestClient(app)
        assert login(client, username).status_code == 303
        _deciders[key] = client
    return client


def decide_request(app, qid: int, decision: str = "approve", note: str = "同意", approver: str = APPROVER):
    """Approve or refuse request `qid` on the approvals page as `approver`; returns the response."""
    client = decider(app, approver)
    return client.post(
        f"/approvals/{qid}/decide",
        data={"csrf_token": csrf_of(client, "/approvals"), "decision": decision, "note": note},
        follow_redirects=False,
    )


def grant_access(client, rid: int, purpose: str = "案件审核", approver: str = APPROVER, app=None) -> int:
    """The whole 第十四条 workflow through the real routes: the client's user files a request and
    the approver approves it on the approvals page. Returns the request's number. `app`: for a
    client over a real socket (a TestClient knows its app)."""
    qid = request_access(client, rid, purpose)
    r = decide_request(app or client.app, qid, approver=approver)
    assert r.status_code == 303, r.text
    return qid


class RawDB:
    """The app's database through its own DB-API driver, outside the app (as someone with access to
    the database server would change it), with sqlite3's conventions on either backend: `?`
    placeholders, `with con:` commits without closing."""

    def __init__(self, app):
        engine = app.state.engine
        self.dialect = engine.dialect.name
        cargs, cparams = engine.dialect.create_connect_args(engine.url)
        self.con = engine.dialect.loaded_dbapi.connect(*cargs, **cparams)

    def _sql(self, sql: str, params) -> str:
        if self.dialect == "postgresql" and params is not None:
            return sql.replace("%", "%%").replace("?", "%s")
        return sql

    def execute(self, sql: str, params=None):
        cur = self.con.cursor()
        cur.execute(self._sql(sql, params), params) if params is not None else cur.execute(sql)
        return cur

    def executemany(self, sql: str, rows):
        cur = self.con.cursor()
        cur.executemany(self._sql(sql, ()), rows)
        return cur

    def commit(self) -> None:
        self.con.commit()

    def close(self) -> None:
        self.con.close()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *_):
        if exc_type is None:
            self.con.commit()
        else:
            self.con.rollback()


def raw_db(app) -> RawDB:
    return RawDB(app)


def database_bytes(app) -> bytes:
    """Everything the app's database holds, to search for what must never be stored there: the
    SQLite file itself, or on a server every row of every table."""
    engine = app.state.engine
    if engine.dialect.name == "sqlite":
        path = Path(engine.url.database)
        return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
    from sqlalchemy import select

    from analyzer.web.migrations import target_metadata

    with engine.connect() as con:
        rows = [repr(r) for t in target_metadata().sorted_tables for r in con.execute(select(t))]
    return "\n".join(rows).encode()
