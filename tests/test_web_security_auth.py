"""Security review of the reviewer web app (issue 14): login limits, user names and passwords,
sessions, the keyed access-log chain, concurrent decisions, CSV export, masking of comments, path
integers, serve's network options, the Content-Security-Policy header.

Attacks are reproduced over HTTP against a live uvicorn server (real threads, real sockets) where
concurrency matters, otherwise through the ASGI test client; analysis is the report-shaped fake
of test_web_support (the real pipeline runs in test_web_browser.py).
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import hmac
import io
import json
import os
import random
import socket
import stat
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from conftest import TEST_DB
from fastapi.testclient import TestClient
from test_web_support import (
    CSRF_RE,
    PASSWORD,
    RawDB,
    csrf_of,
    database_bytes,
    grant_access,
    login,
    make_app,
    raw_db,
)

from analyzer.web import audit_log

WAV_BYTES = b"RIFF" + b"\x00" * 200


@pytest.fixture()
def app(tmp_path):
    return make_app(tmp_path / "data")


@pytest.fixture()
def client(app):
    with TestClient(app) as c:
        yield c


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def live_server(app):
    """The app served by uvicorn on a loopback port, in a thread of this process."""
    import uvicorn

    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "server did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


def _login_form_token(c) -> str:
    return CSRF_RE.search(c.get("/login").text).group(1)


def _post_login(c, username: str, password: str, token: str):
    return c.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )


def _outcome(response) -> str:
    location = response.headers.get("location", "")
    if "error=locked" in location:
        return "locked"
    if "error=bad" in location:
        return "bad"
    return "in" if response.status_code == 303 else f"http {response.status_code}"


def _upload(client, name: str = "a.wav", **form):
    return client.post(
        "/import/upload",
        data={"csrf_token": csrf_of(client), **form},
        files={"files": (name, io.BytesIO(WAV_BYTES), "audio/wav")},
        follow_redirects=False,
    )


def _wait_done(client, rid: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = next(r for r in client.get("/api/queue").json() if r["id"] == rid)
        if row["status"] in ("done", "error"):
            assert row["status"] == "done", row
            return
        time.sleep(0.1)
    raise AssertionError(f"recording {rid} not analysed in {timeout}s")


def _imported(client, **form) -> int:
    r = _upload(client, **form)
    assert r.status_code == 303, r.text
    rid = int(r.headers["location"].split("imported=")[1].split(",")[0])
    _wait_done(client, rid)
    return rid


def _grant(client, rid: int) -> None:
    grant_access(client, rid)


def _db(app) -> RawDB:
    return raw_db(app)


# ---------------------------------------------------------------- 1. login limits


@pytest.mark.parametrize("spelling", [" rev", "rev ", "rev\t", "rev\u3000", "rev\n", "REV", "ｒｅｖ"])
def test_lockout_holds_for_every_spelling_of_the_name(client, spelling):
    for _ in range(5):
        assert _outcome(login(client, "rev", "wrong-guess-1")) == "bad"
    assert _outcome(login(client, spelling)) == "locked"  # the right password, another spelling
    assert _outcome(login(client, "rev")) == "locked"


def test_parallel_wrong_passwords_are_all_counted(app):
    """20 guesses at once over real sockets: no more than the limit get their password checked,
    and afterwards even the right password is refused."""
    with live_server(app) as base:
        clients = [httpx.Client(base_url=base, timeout=120) for _ in range(20)]
        tokens = [_login_form_token(c) for c in clients]
        barrier = threading.Barrier(len(clients))
        outcomes: list[str] = []

        def guess(c, token):
            barrier.wait()
            outcomes.append(_outcome(_post_login(c, "rev", f"wrong-guess-{random.random()}", token)))

        threads = [threading.Thread(target=guess, args=ct) for ct in zip(clients, tokens, strict=True)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert len(outcomes) == 20
        assert outcomes.count("bad") <= 5 and outcomes.count("bad") + outcomes.count("locked") == 20
        assert _outcome(_post_login(clients[0], "rev", PASSWORD, _login_form_token(clients[0]))) == "locked"
        for c in clients:
            c.close()
    with _db(app) as con:
        assert (
            con.execute("select count from login_attempts where kind='name' and key='rev'").fetchone()[0]
            >= 20
        )


def test_failures_from_one_address_are_limited_across_names(tmp_path):
    from test_web_support import add_users, fake_analysis

    from analyzer.web.app import WebConfig, create_app
    from analyzer.web.throttle import Limits

    app = create_app(
        WebConfig(data_dir=tmp_path / "data", login_limits=Limits(per_name=5, per_address=8)),
        analyze=fake_analysis,
    )
    add_users(app)
    with TestClient(app) as client:
        for i in range(8):  # a guesser spraying names: each name stays under its own limit
            assert _outcome(login(client, f"user{i}", "wrong-guess-1")) == "bad"
        assert _outcome(login(client, "admin")) == "locked"


def test_a_flood_of_failed_names_does_not_wipe_a_lockout(app, client):
    for _ in range(5):
        login(client, "rev", "wrong-guess-1")
    assert _outcome(login(client, "rev")) == "locked"
    now = datetime.now(UTC).replace(tzinfo=None)  # naive UTC, as the app stores it
    insert = "insert into login_attempts values ('name', ?, ?, ?)"
    with _db(app) as con:  # 10,001 sprayed names (inserted directly: 10,001 argon2 hashes take hours)
        con.executemany(insert, [(f"sprayed{i}", 1, now) for i in range(10_001)])
        con.executemany(insert, [(f"old{i}", 5, now - timedelta(hours=1)) for i in range(100)])
    assert _outcome(login(client, "someone-new", "wrong-guess-1")) == "bad"
    assert _outcome(login(client, "rev")) == "locked"
    with _db(app) as con:
        assert con.execute("select count(*) from login_attempts where key like 'old%'").fetchone()[0] == 0
        assert (
            con.execute("select count(*) from login_attempts where key like 'sprayed%'").fetchone()[0]
            == 10_001
        )


def test_lockout_expires_after_its_window(app, client):
    for _ in range(5):
        login(client, "rev", "wrong-guess-1")
    assert _outcome(login(client, "rev")) == "locked"
    with _db(app) as con:
        earlier = {
            "sqlite": "datetime(window_start, '-16 minutes')",
            "postgresql": "window_start - interval '16 minutes'",
        }
        con.execute(f"update login_attempts set window_start = {earlier[con.dialect]}")
    assert _outcome(login(client, "rev")) == "in"


WEAK = [
    "12345678",
    "password",
    "password1234",
    "Password2024!",
    "1234567890",
    "qwertyuiop",
    "aaaaaaaaaaaa",
    "abababababab",
    "iloveyou!!!!",
]


def _serve_args(*argv: str) -> argparse.Namespace:
    from analyzer.commands import serve

    parser = argparse.ArgumentParser()
    serve.add_arguments(parser)
    return parser.parse_args(list(argv))


@pytest.mark.parametrize("weak", WEAK)
def test_common_and_short_passwords_are_refused_everywhere(app, client, tmp_path, monkeypatch, weak):
    from analyzer.commands import serve

    login(client, "admin")
    r = client.post(
        "/admin/users",
        data={
            "csrf_token": csrf_of(client, "/admin/users"),
            "username": "newbie",
            "password": weak,
            "role": "reviewer",
        },
    )
    assert r.status_code == 400 and ("密码至少 10 位" in r.text or "常见" in r.text or "重复" in r.text), weak
    uid = _db(app).execute("select id from users where username='rev'").fetchone()[0]
    r = client.post(
        f"/admin/users/{uid}",
        data={
            "csrf_token": csrf_of(client, "/admin/users"),
            "password": weak,
            "role": "reviewer",
            "active": "1",
        },
    )
    assert r.status_code == 400, weak
    r = client.post(
        "/account/password",
        data={
            "csrf_token": csrf_of(client, "/account/password"),
            "current": PASSWORD,
            "new": weak,
            "again": weak,
        },
    )
    assert r.status_code == 400, weak
    monkeypatch.setenv("SCRIPTCHECK_ADMIN_PASSWORD", weak)
    args = _serve_args("--data-dir", str(tmp_path / "cli"), "--create-admin", "chief")
    assert serve.run(args) == 2, weak


def test_a_good_password_is_accepted_and_can_be_changed_by_its_user(app, client):
    login(client, "rev")
    new = "lantern-orbit-57"
    r = client.post(
        "/account/password",
        data={
            "csrf_token": csrf_of(client, "/account/password"),
            "current": PASSWORD,
            "new": new,
            "again": new,
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert client.get("/queue", follow_redirects=False).status_code == 303  # this session ended too
    assert _outcome(login(client, "rev")) == "bad"
    assert _outcome(login(client, "rev", new)) == "in"


# ---------------------------------------------------------------- 12. look-alike user names


@pytest.mark.parametrize(
    "name", ["аdmin", "Admin", "ADMIN", " admin", "ａｄｍｉｎ", "admin\u200b", "rev\u0435"]
)
def test_look_alike_user_names_are_refused(app, client, name):
    login(client, "admin")
    r = client.post(
        "/admin/users",
        data={
            "csrf_token": csrf_of(client, "/admin/users"),
            "username": name,
            "password": "lantern-orbit-57",
            "role": "admin",
        },
    )
    assert r.status_code == 400, repr(name)
    with _db(app) as con:
        assert (
            con.execute(
                "select count(*) from users where username not in ('admin', 'rev', 'trainee', 'head')"
            ).fetchone()[0]
            == 0
        )


def test_user_names_are_stored_in_their_normal_form(app, client):
    login(client, "admin")
    r = client.post(
        "/admin/users",
        data={
            "csrf_token": csrf_of(client, "/admin/users"),
            "username": "Zhang_San",
            "password": "lantern-orbit-57",
            "role": "reviewer",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    with _db(app) as con:
        assert con.execute("select username from users order by id desc limit 1").fetchone() == ("zhang_san",)
    with TestClient(app) as other:
        assert _outcome(login(other, "ZHANG_SAN ", "lantern-orbit-57")) == "in"


# ---------------------------------------------------------------- 5. sessions end with the password


def _uid(app, name: str) -> int:
    return _db(app).execute("select id from users where username=?", (name,)).fetchone()[0]


def test_password_reset_ends_the_users_sessions(app, client):
    login(client, "admin")
    with TestClient(app) as victim:
        login(victim, "rev")
        assert victim.get("/queue", follow_redirects=False).status_code == 200
        r = client.post(
            f"/admin/users/{_uid(app, 'rev')}",
            data={
                "csrf_token": csrf_of(client, "/admin/users"),
                "role": "reviewer",
                "active": "1",
                "password": "lantern-orbit-57",
            },
            follow_redirects=False,
        )
        assert r.status_code == 303
        assert victim.get("/queue", follow_redirects=False).status_code == 303


def test_deactivate_then_reactivate_does_not_revive_old_sessions(app, client):
    login(client, "admin")
    with TestClient(app) as victim:
        login(victim, "rev")
        uid = _uid(app, "rev")
        for active in ("", "1"):
            r = client.post(
                f"/admin/users/{uid}",
                data={"csrf_token": csrf_of(client, "/admin/users"), "role": "reviewer", "active": active},
                follow_redirects=False,
            )
            assert r.status_code == 303
        assert _db(app).execute("select active from users where id=?", (uid,)).fetchone() == (1,)
        assert victim.get("/queue", follow_redirects=False).status_code == 303
        assert _outcome(login(victim, "rev")) == "in"  # a fresh login works again


# ---------------------------------------------------------------- 3. keyed access-log chain


def _log_some(client) -> int:
    login(client, "rev")
    rid = _imported(client)
    _grant(client, rid)
    for _ in range(3):
        client.get(f"/recordings/{rid}")
    return rid


def _rechain(con: RawDB, mac) -> None:
    """What an attacker who can write the database does after deleting an entry: renumber the
    rest and recompute every link, every hash and the head with `mac(prev_hash, canonical)`."""
    rows = con.execute(
        f"select id, {', '.join(audit_log.HASHED_FIELDS)} from access_log order by seq"
    ).fetchall()
    prev = audit_log.GENESIS
    for seq, (row_id, *values) in enumerate(rows, start=1):
        entry = dict(zip(audit_log.HASHED_FIELDS, values, strict=True), seq=seq)
        text = json.dumps(entry, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        digest = mac(prev, text)
        con.execute(
            "update access_log set seq=?, prev_hash=?, hash=? where id=?", (seq, prev, digest, row_id)
        )
        prev = digest
    con.execute("update access_log_head set seq=?, hash=?", (len(rows), prev))


def _unkeyed(prev: str, text: str) -> str:
    return hashlib.sha256((prev + text).encode()).hexdigest()


def _guessed_key(prev: str, text: str) -> str:
    return hmac.new(b"\0" * 32, (prev + text).encode(), hashlib.sha256).hexdigest()


@pytest.mark.parametrize("mac", [_unkeyed, _guessed_key], ids=["app-function", "guessed-key"])
def test_a_deleted_entry_with_the_chain_recomputed_is_detected(app, client, mac):
    rid = _log_some(client)
    with _db(app) as con:
        con.execute("delete from access_log where seq = 2")
        _rechain(con, mac)
    with app.state.sessions() as db:
        check = audit_log.verify_chain(db)
    assert not check.ok and check.first_bad_seq == 1
    login(client, "admin")
    page = client.get("/admin/log").text
    assert "校验失败" in page and "校验通过" not in page
    assert rid


def test_truncating_the_log_and_its_head_is_detected(app, client):
    _log_some(client)
    with _db(app) as con:
        seq, last = con.execute(
            "select seq, hash from access_log order by seq desc limit 1 offset 1"
        ).fetchone()
        con.execute("delete from access_log where seq > ?", (seq,))
        con.execute("update access_log_head set seq=?, hash=?", (seq, last))
    with app.state.sessions() as db:
        check = audit_log.verify_chain(db)
    assert not check.ok and any("末尾" in p for p in check.problems)


def test_the_chain_key_is_a_private_file_outside_the_database(app):
    path = app.state.data_dir / "keys" / "audit.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    key = path.read_text().strip()
    assert len(bytes.fromhex(key)) == 32
    stored = database_bytes(app)
    assert b"$argon2id$" in stored  # what is searched holds the rows (the users' password hashes)
    assert key.encode() not in stored and bytes.fromhex(key) not in stored


def test_an_exported_head_proves_earlier_entries_unchanged_even_against_the_key_holder(app, client):
    _log_some(client)
    login(client, "admin")
    page = client.get("/admin/log/head").text
    seq = int(page.split('id="head-seq">')[1].split("<")[0])
    head_hash = page.split('id="head-hash">')[1].split("<")[0]
    assert "导出时间" in page and seq >= 5 and len(head_hash) == 64
    ok = client.get("/admin/log/head", params={"check_seq": seq, "check_hash": head_hash}).text
    assert "核对通过" in ok
    key = bytes.fromhex((app.state.data_dir / "keys" / "audit.key").read_text().strip())
    with _db(app) as con:  # someone with the key file AND the database rewrites history
        con.execute("delete from access_log where seq = 2")
        _rechain(con, lambda prev, text: hmac.new(key, (prev + text).encode(), hashlib.sha256).hexdigest())
        con.execute(
            "update access_log_head set hash=?",
            (
                audit_log.head_mac(
                    key, *con.execute("select seq, hash from access_log order by seq desc").fetchone()
                ),
            ),
        )
    with app.state.sessions() as db:
        assert audit_log.verify_chain(db).ok  # the key holder's forgery passes the chain check...
    bad = client.get("/admin/log/head", params={"check_seq": seq, "check_hash": head_hash}).text
    assert "核对失败" in bad  # ...but not the check against the head exported before it


def test_a_log_from_before_the_key_is_kept_as_its_unkeyed_part(tmp_path):
    data = tmp_path / "data"
    app = make_app(data)
    with TestClient(app) as client:
        _log_some(client)
    (data / "keys" / "audit.key").unlink()  # as if written by a version without the key
    with _db(app) as con:
        con.execute("delete from settings where key = 'audit_keyed_from'")
        _rechain(con, _unkeyed)
        (n,) = con.execute("select count(*) from access_log").fetchone()
    from analyzer.web.app import WebConfig, create_app

    upgraded = create_app(WebConfig(data_dir=data), start_worker=False)
    with TestClient(upgraded) as client:
        login(client, "admin")
        page = client.get("/admin/log").text
        assert "校验通过" in page and f"第 1–{n} 条写于启用密钥之前" in page
    with _db(upgraded) as con:  # the unkeyed part is covered by the first keyed entry's HMAC
        con.execute("update access_log set purpose='培训' where seq = 1")
        _rechain(con, _unkeyed)
    with upgraded.state.sessions() as db:
        check = audit_log.verify_chain(db)
    assert not check.ok and check.first_bad_seq == n + 1


# ---------------------------------------------------------------- 8. CSV formula injection


def test_access_log_csv_defuses_formula_cells(app, client):
    login(client, "rev")
    titles = ['=HYPERLINK("http://evil.example")', "+1+2", "-3+4", "@SUM(A1)", "\tx", "\rx"]
    for title in titles:
        assert _upload(client, title=title).status_code == 303
    client.post("/logout", data={"csrf_token": csrf_of(client)})
    login(client, "admin")
    rows = list(csv.DictReader(io.StringIO(client.get("/admin/log/export?fmt=csv").text.lstrip("\ufeff"))))
    targets = [r["target"] for r in rows if r["action"] == "import"]
    assert sorted(targets) == sorted("'" + t for t in titles)
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value
    doc = json.loads(client.get("/admin/log/export?fmt=json").text)  # JSON keeps the exact values
    assert sorted(e["target"] for e in doc["entries"] if e["action"] == "import") == sorted(titles)


# ---------------------------------------------------------------- 7. concurrent decisions


def test_parallel_decisions_leave_the_score_of_the_latest_one(app, monkeypatch):
    """Five bursts of 20 decisions from two reviewers at once, over real sockets. Reading the decisions
    back is slowed by a random few milliseconds, as a busy server would, so that the requests
    interleave; the stored score and flags must still follow the latest decision."""
    from analyzer.web import review
    from analyzer.web.db import User

    with app.state.sessions() as db:
        rev = db.query(User).filter_by(username="rev").one()
        db.add(
            User(username="rev2", password_hash=rev.password_hash, role="reviewer", display_name="审阅人丁")
        )
        db.commit()
    real = review.latest_decisions

    def slow_latest(db, rec):
        found = real(db, rec)
        time.sleep(random.uniform(0.0, 0.03))
        return found

    monkeypatch.setattr(review, "latest_decisions", slow_latest)
    key = "opening_missing@-#1"
    with live_server(app) as base:
        clients = [httpx.Client(base_url=base, timeout=120) for _ in range(2)]
        for c, name in zip(clients, ("rev", "rev2"), strict=True):
            assert _outcome(login(c, name)) == "in"
        rid = _imported(clients[0])
        for c in clients:
            grant_access(c, rid, app=app)
        tokens = [csrf_of(c, f"/recordings/{rid}") for c in clients]
        for _burst in range(5):
            barrier = threading.Barrier(20)
            statuses: list[int] = []

            def decide(i, barrier=barrier, statuses=statuses):
                c, token = clients[i % 2], tokens[i % 2]
                action = random.choice(["override", "confirm"])
                barrier.wait()
                r = c.post(
                    f"/recordings/{rid}/decisions",
                    data={"csrf_token": token, "finding_key": key, "action": action},
                    follow_redirects=False,
                )
                statuses.append(r.status_code)

            threads = [threading.Thread(target=decide, args=(i,)) for i in range(20)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            assert statuses == [303] * 20
            with _db(app) as con:
                (latest,) = con.execute(
                    "select action from decisions where recording_id=? and finding_key=?"
                    " order by id desc limit 1",
                    (rid, key),
                ).fetchone()
                score, flags = con.execute(
                    "select final_score, flags_json from recordings where id=?", (rid,)
                ).fetchone()
            assert score == (92.5 if latest == "override" else 62.5), (latest, score)
            assert ("opening_missing" in json.loads(flags)) == (latest == "confirm")
        for c in clients:
            c.close()


# ---------------------------------------------------------------- 9. personal data in comments


def test_comments_are_masked_for_other_reviewers_and_in_the_log(app, client):
    login(client, "rev")
    rid = _imported(client)
    _grant(client, rid)
    comment = "当事人身份证41030219900101123X，电话13812345678"
    r = client.post(
        f"/recordings/{rid}/decisions",
        data={
            "csrf_token": csrf_of(client, f"/recordings/{rid}"),
            "finding_key": "gap@20.00#1",
            "action": "confirm",
            "comment": comment,
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    with TestClient(app) as other:
        login(other, "admin")
        _grant(other, rid)
        page = other.get(f"/recordings/{rid}").text
        assert "当事人身份证" in page
        assert "41030219900101123X" not in page and "13812345678" not in page
        assert "41030219900101123X" not in other.get("/admin/log").text
        token = csrf_of(other, f"/recordings/{rid}")
        other.post(f"/recordings/{rid}/unmask", data={"csrf_token": token, "reason": "法院调取"})
        assert "41030219900101123X" in other.get(f"/recordings/{rid}").text  # unmasked, logged


def test_unmasked_export_needs_a_reason_and_is_logged_as_an_unmask(app, client):
    login(client, "admin")
    rid = _imported(client)
    _grant(client, rid)
    token = csrf_of(client, f"/recordings/{rid}")
    r = client.post(f"/recordings/{rid}/export", data={"csrf_token": token, "unmasked": "1"})
    assert r.status_code == 400 and "理由" in r.text
    r = client.post(
        f"/recordings/{rid}/export",
        data={"csrf_token": token, "unmasked": "1", "unmask_reason": "检察院调取"},
    )
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    with app.state.sessions() as db:
        entries = audit_log.entries_as_dicts(db, rid)
    unmasks = [e for e in entries if e["action"] == "unmask"]
    assert len(unmasks) == 1 and "检察院调取" in unmasks[0]["detail"]
    assert any(e["action"] == "export" and "检察院调取" in e["detail"] for e in entries)


# ---------------------------------------------------------------- 11. path integers


@pytest.mark.parametrize(
    "method, url",
    [
        ("GET", "/recordings/99999999999999999999999"),
        ("GET", "/recordings/9223372036854775808/purpose"),
        ("GET", "/recordings/99999999999999999999999/report.html"),
        ("GET", "/train/attempts/99999999999999999999999"),
        ("POST", "/recordings/99999999999999999999999/purpose"),
        ("POST", "/admin/users/99999999999999999999999"),
    ],
)
def test_out_of_range_path_numbers_are_not_found(app, method, url):
    with TestClient(app, raise_server_exceptions=False) as client:
        login(client, "admin")
        token = csrf_of(client)
        r = client.request(method, url, data={"csrf_token": token, "purpose": "案件审核"})
        assert r.status_code == 404, (url, r.status_code)


# ---------------------------------------------------------------- 15. guides, re-analysis


def test_a_built_in_guide_can_be_made_the_default(app, client):
    login(client, "admin")
    page = client.get("/admin/guides").text
    assert 'name="guide" value="market-supervision"' in page
    r = client.post(
        "/admin/guides/default",
        data={"csrf_token": csrf_of(client, "/admin/guides"), "guide": "market-supervision"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    rid = _imported(client)
    with _db(app) as con:
        assert con.execute("select guide from recordings where id=?", (rid,)).fetchone() == (
            "market-supervision",
        )


def test_reanalysis_is_logged(app, client):
    login(client, "rev")
    rid = _imported(client)
    r = client.post(
        f"/recordings/{rid}/reanalyze", data={"csrf_token": csrf_of(client)}, follow_redirects=False
    )
    assert r.status_code == 303
    with app.state.sessions() as db:
        entries = audit_log.entries_as_dicts(db, rid)
    assert [e["username"] for e in entries if e["action"] == "reanalyze"] == ["rev"]


# ---------------------------------------------------------------- 14. network options, umask, Host


@pytest.fixture()
def uvicorn_calls(monkeypatch):
    import uvicorn

    calls: list[tuple] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    return calls


@pytest.mark.parametrize(
    "extra",
    [
        [],
        ["--secure-cookies"],
        ["--ssl-certfile", "CERT", "--ssl-keyfile", "KEY", "--allowed-host", "review.example"],
        ["--behind-proxy", "--allowed-host", "review.example"],
        ["--secure-cookies", "--ssl-certfile", "CERT", "--ssl-keyfile", "KEY"],  # no host names
        ["--secure-cookies", "--ssl-certfile", "CERT", "--allowed-host", "review.example"],
    ],
)
def test_a_network_address_needs_https_secure_cookies_and_host_names(tmp_path, uvicorn_calls, capsys, extra):
    from analyzer.commands import serve

    (tmp_path / "cert.pem").write_text("x")
    (tmp_path / "key.pem").write_text("x")
    extra = [
        str(tmp_path / "cert.pem") if a == "CERT" else str(tmp_path / "key.pem") if a == "KEY" else a
        for a in extra
    ]
    args = _serve_args("--host", "0.0.0.0", "--data-dir", str(tmp_path / "data"), *extra)
    assert serve.run(args) == 2
    assert uvicorn_calls == [] and "无法启动" in capsys.readouterr().err


def _https_args(tmp_path, *more: str) -> argparse.Namespace:
    (tmp_path / "cert.pem").write_text("x")
    (tmp_path / "key.pem").write_text("x")
    return _serve_args(
        "--host",
        "0.0.0.0",
        "--data-dir",
        str(tmp_path / "data"),
        "--secure-cookies",
        "--ssl-certfile",
        str(tmp_path / "cert.pem"),
        "--ssl-keyfile",
        str(tmp_path / "key.pem"),
        *more,
    )


def test_https_serving_checks_the_host_header(tmp_path, uvicorn_calls):
    from analyzer.commands import serve

    assert serve.run(_https_args(tmp_path, "--allowed-host", "review.example")) == 0
    ((app, kw),) = uvicorn_calls
    assert kw["ssl_certfile"].endswith("cert.pem") and kw["ssl_keyfile"].endswith("key.pem")
    assert kw["proxy_headers"] is False
    with TestClient(app, base_url="https://review.example") as good:
        assert good.get("/healthz").status_code == 200
    with TestClient(app, base_url="https://attacker.example") as rebound:
        assert rebound.get("/healthz").status_code == 400
        assert rebound.get("/login").status_code == 400


def test_loopback_serving_also_checks_the_host_header(tmp_path, uvicorn_calls):
    from analyzer.commands import serve

    assert serve.run(_serve_args("--data-dir", str(tmp_path / "data"))) == 0
    ((app, kw),) = uvicorn_calls
    with TestClient(app, base_url="http://127.0.0.1:8765") as local:
        assert local.get("/healthz").status_code == 200
    with TestClient(app, base_url="http://rebind.attacker.example:8765") as rebound:
        assert rebound.get("/healthz").status_code == 400


def test_serve_creates_files_readable_by_its_account_only(tmp_path, uvicorn_calls, monkeypatch):
    from analyzer.commands import serve

    os.umask(0o022)  # a typical login shell's
    data = tmp_path / "data"
    monkeypatch.setenv("SCRIPTCHECK_ADMIN_PASSWORD", "lantern-orbit-57")
    assert serve.run(_serve_args("--data-dir", str(data), "--create-admin", "chief")) == 0
    assert serve.run(_serve_args("--data-dir", str(data))) == 0
    files = [data / "keys" / "audit.key"]
    if TEST_DB == "sqlite":  # on a database server the database is no file of the data directory
        files.append(data / "scriptcheck.db")
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path
    for sub in ("originals", "results", "tmp", "keys"):
        assert stat.S_IMODE((data / sub).stat().st_mode) & 0o077 == 0, sub


# ---------------------------------------------------------------- 15. Content-Security-Policy


def test_pages_carry_a_strict_content_security_policy(client):
    login(client, "rev")
    rid = _imported(client)
    _grant(client, rid)
    for path in ("/login", "/queue", f"/recordings/{rid}", "/train", "/static/app.css"):
        policy = client.get(path).headers["content-security-policy"]
        assert "default-src 'self'" in policy and "script-src 'self'" in policy, path
        assert "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy, path
    page = client.get(f"/recordings/{rid}").text
    assert " style=" not in page and "<script>" not in page  # nothing inline for the policy to block
    report = client.get(f"/recordings/{rid}/report.html")
    policy = report.headers["content-security-policy"]
    inline = report.text.split("<script>")[1].split("</script>")[0]
    digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in policy and "default-src 'none'" in policy
