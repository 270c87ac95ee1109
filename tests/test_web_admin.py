"""Admin side of the web app: bootstrap admin from the CLI, database location and WAL mode, users and
roles, folder registration (copied into the read-only store, the folder untouched), guide upload
(validated), default bind address.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sqlite3
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from test_web_support import CSRF_RE, PASSWORD, csrf_of, login, make_app, raw_db

from analyzer.commands import serve
from analyzer.web.db import database_url
from analyzer.web.migrations import make_engine

ROOT = Path(__file__).resolve().parent.parent


def _serve_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    serve.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_serve_binds_loopback_by_default():
    args = _serve_args()
    assert args.host == "127.0.0.1" and args.port == 8765


def test_create_admin_from_cli_then_log_in(tmp_path, monkeypatch):
    monkeypatch.setenv("SCRIPTCHECK_ADMIN_PASSWORD", PASSWORD)
    db_file = tmp_path / "elsewhere" / "review.db"
    db_file.parent.mkdir()
    args = _serve_args("--data-dir", str(tmp_path / "data"), "--db", str(db_file), "--create-admin", "chief")
    assert serve.run(args) == 0
    assert serve.run(args) == 2  # a second admin of the same name is refused
    con = sqlite3.connect(db_file)
    assert con.execute("select role from users where username='chief'").fetchone() == ("admin",)
    assert con.execute("pragma journal_mode").fetchone() == ("wal",)
    from analyzer.web.app import WebConfig, create_app

    app = create_app(WebConfig(data_dir=tmp_path / "data", db=str(db_file)), start_worker=False)
    with TestClient(app) as client:
        assert login(client, "chief").headers["location"] == "/queue"


def test_database_url_accepts_paths_and_urls(tmp_path):
    assert database_url(None, tmp_path) == f"sqlite:///{(tmp_path / 'scriptcheck.db').resolve()}"
    assert (
        database_url("postgresql+psycopg://u@db/scriptcheck", tmp_path)
        == "postgresql+psycopg://u@db/scriptcheck"
    )
    engine = make_engine(database_url(str(tmp_path / "x.db"), tmp_path))
    with engine.connect() as c:
        assert c.exec_driver_sql("pragma journal_mode").scalar() == "wal"


@pytest.fixture()
def admin_client(tmp_path):
    app = make_app(tmp_path / "data")
    with TestClient(app) as client:
        login(client, "admin")
        yield app, client


def test_admin_creates_user_changes_role_and_disables(admin_client):
    app, client = admin_client
    r = client.post(
        "/admin/users",
        data={
            "csrf_token": csrf_of(client, "/admin/users"),
            "username": "newbie",
            "password": "short",
            "role": "trainee",
        },
    )
    assert r.status_code == 400 and "密码至少" in r.text
    r = client.post(
        "/admin/users",
        data={
            "csrf_token": csrf_of(client, "/admin/users"),
            "username": "newbie",
            "password": PASSWORD,
            "role": "trainee",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    con = raw_db(app)
    uid = con.execute("select id from users where username='newbie'").fetchone()[0]
    with TestClient(app) as other:
        assert login(other, "newbie").headers["location"] == "/train"
        client.post(
            f"/admin/users/{uid}",
            data={"csrf_token": csrf_of(client, "/admin/users"), "role": "reviewer", "active": ""},
        )
        assert other.get("/queue", follow_redirects=False).status_code == 303  # disabled: session ends
        assert login(other, "newbie").headers["location"].startswith("/login?error")
    assert con.execute("select role, active from users where id=?", (uid,)).fetchone() == ("reviewer", 0)
    assert "用户管理" in client.get("/admin/log").text


def test_admin_registers_a_folder_by_copying_into_the_store(admin_client):
    app, client = admin_client
    case = app.state.data_dir / "inbox" / "case1"
    case.mkdir(parents=True)
    for name in ("20261130_090000_A.wav", "20261130_091000_A.wav"):
        (case / name).write_bytes(b"RIFF" + name.encode() * 10)
    before = {p.name: (p.stat().st_mtime_ns, p.stat().st_mode) for p in case.iterdir()}
    r = client.post(
        "/import/folder",
        data={"csrf_token": csrf_of(client), "folder": "case1", "mode": "case"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    rid = int(r.headers["location"].split("=")[1])
    deadline = time.monotonic() + 20
    while (status := client.get("/api/queue").json()[0]["status"]) != "done" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert status == "done", f"the registered case was not analysed in 20 s (status {status!r})"
    con = raw_db(app)
    rows = con.execute(
        "select stored_path, sha256, uploaded, original_name from media_files where recording_id=? "
        "order by position",
        (rid,),
    ).fetchall()
    assert [n for _p, _s, _u, n in rows] == sorted(before)
    store = app.state.data_dir / "originals"
    for path, sha, uploaded, name in rows:
        assert Path(path).parents[2] == store and uploaded == 0  # a read-only copy in the store
        assert Path(path).name == name  # under its own name: the pipeline reads the camera's file name
        assert Path(path).stat().st_mode & 0o777 == 0o444
        assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == sha
        assert Path(path).read_bytes() == (case / name).read_bytes()
    assert {p.name: (p.stat().st_mtime_ns, p.stat().st_mode) for p in case.iterdir()} == before  # untouched


def test_folder_of_single_files_groups_one_devices_split_recording(admin_client):
    """ "Each file on its own": except the parts one camera split from one recording (same device,
    chained start times), which become one case in start order."""
    import numpy as np
    import soundfile as sf

    app, client = admin_client
    inbox = app.state.data_dir / "inbox" / "day"
    inbox.mkdir(parents=True)
    silence = np.zeros(16_000 * 3, np.float32)
    names = ["CAM7_20260315_143010.wav", "CAM7_20260315_143000.wav", "CAM8_20260315_143004.wav", "memo.wav"]
    for name in names:
        sf.write(inbox / name, silence, 16_000)
    r = client.post(
        "/import/folder",
        data={"csrf_token": csrf_of(client), "folder": "day", "mode": "files"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    ids = [int(i) for i in r.headers["location"].split("=")[1].split(",")]
    con = raw_db(app)
    recs = {}
    for rid in ids:
        title, is_case = con.execute("select title, is_case from recordings where id=?", (rid,)).fetchone()
        files = con.execute(
            "select stored_path from media_files where recording_id=? order by position", (rid,)
        ).fetchall()
        recs[title] = (bool(is_case), [Path(p).name for (p,) in files])
    assert recs == {
        "CAM7_20260315_143000.wav 等 2 个文件": (
            True,
            ["CAM7_20260315_143000.wav", "CAM7_20260315_143010.wav"],
        ),
        "CAM8_20260315_143004.wav": (False, ["CAM8_20260315_143004.wav"]),
        "memo.wav": (False, ["memo.wav"]),
    }


def test_admin_uploads_a_validated_guide(admin_client):
    app, client = admin_client
    token = csrf_of(client, "/admin/guides")
    bad = client.post(
        "/admin/guides", data={"csrf_token": token}, files={"file": ("broken.toml", b"[[phrases]]\nid=1")}
    )
    assert bad.status_code == 400 and not (app.state.data_dir / "guides" / "broken.toml").exists()
    default = (ROOT / "phrasebook" / "default.toml").read_bytes()
    ok = client.post(
        "/admin/guides",
        data={"csrf_token": token},
        files={"file": ("agency_v2.toml", default)},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    stored = app.state.data_dir / "guides" / "agency_v2.toml"
    assert stored.read_bytes() == default
    page = client.get("/admin/guides").text
    assert "agency_v2" in page
    r = client.post(
        "/admin/guides/default",
        data={"csrf_token": CSRF_RE.search(page).group(1), "guide": str(stored)},
        follow_redirects=False,
    )
    assert r.status_code == 303 and str(stored) in client.get("/admin/guides").text


def test_uploads_keep_their_bytes_and_the_store_is_content_addressed(admin_client, tmp_path):
    app, client = admin_client
    sample = ROOT / "samples" / "inspection_no_opening.wav"  # tracked in git: absent is a failure
    copy = tmp_path / "x.wav"
    shutil.copy(sample, copy)
    for _ in range(2):
        client.post(
            "/import/upload",
            data={"csrf_token": csrf_of(client)},
            files={"files": ("x.wav", copy.read_bytes(), "audio/wav")},
        )
    stored = [p for p in (app.state.data_dir / "originals").rglob("*.wav")]
    assert len(stored) == 1 and stored[0].read_bytes() == sample.read_bytes()
    assert stored[0].stat().st_mode & 0o777 == 0o444
