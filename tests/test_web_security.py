"""Web app security and record-keeping: login, roles, CSRF, path traversal, the hash-chained access
log (edit and delete detected), integrity alarm, masking, decisions and the evidence bundle.

Unit level: analysis is the report-shaped fake of test_web_support (the real pipeline runs in
test_web_browser.py).
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from test_web_support import PASSWORD, csrf_of, grant_access, login, make_app, raw_db, upload, wait_done

from analyzer.web import audit_log, routes_admin, routes_review, routes_speakers, routes_train
from analyzer.web.db import WebSession, utcnow

WAV_BYTES = b"RIFF" + b"\x00" * 200  # never decoded: the fake analysis does not read it


@pytest.fixture()
def app(tmp_path):
    return make_app(tmp_path / "data")


@pytest.fixture()
def client(app):
    with TestClient(app) as c:
        yield c


def _upload(client, name: str = "a.wav", data: bytes = WAV_BYTES, **form):
    """test_web_support.upload with a real WAV header by default."""
    return upload(client, name, data, **form)


_wait_done = wait_done


def _grant(client, rid: int) -> None:
    grant_access(client, rid)


def _imported(client, **kw) -> int:
    r = _upload(client, **kw)
    assert r.status_code == 303, r.text
    rid = int(r.headers["location"].split("imported=")[1].split(",")[0])
    assert _wait_done(client, rid)["status"] == "done"
    return rid


# ---------------------------------------------------------------- login, sessions, roles


def test_logged_out_user_is_redirected_to_login(client):
    for path in ("/queue", "/recordings/1", "/admin/log", "/train", "/"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path


def test_login_sets_httponly_lax_cookie_and_bad_password_fails(client):
    assert login(client, "rev", "wrong-password").headers["location"].startswith("/login?error=bad")
    r = login(client, "rev")
    assert r.status_code == 303 and r.headers["location"] == "/queue"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


def test_repeated_failed_logins_lock_the_name_for_a_while(client):
    for _ in range(5):
        assert "error=bad" in login(client, "rev", "guess-guess").headers["location"]
    assert "error=locked" in login(client, "rev").headers["location"]  # even the right password


def test_passwords_are_argon2_hashed(app):
    con = raw_db(app)
    hashes = [h for (h,) in con.execute("select password_hash from users")]
    assert hashes and all(h.startswith("$argon2id$") and PASSWORD not in h for h in hashes)


def test_session_expires_after_idle_time(app, client):
    login(client, "rev")
    assert client.get("/queue", follow_redirects=False).status_code == 200
    with app.state.sessions() as db:
        for ws in db.query(WebSession):
            ws.last_seen = utcnow() - timedelta(hours=1)
        db.commit()
    r = client.get("/queue", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_trainee_cannot_open_review_pages(client):
    login(client, "trainee")
    for path in ("/queue", "/api/queue", "/import", "/recordings/1", "/admin/log", "/admin/users"):
        assert client.get(path, follow_redirects=False).status_code == 403, path


def test_reviewer_cannot_use_admin_pages(client):
    login(client, "rev")
    for path in ("/admin/users", "/admin/log", "/admin/log/export?fmt=csv", "/admin/guides"):
        assert client.get(path, follow_redirects=False).status_code == 403, path


# ---------------------------------------------------------------- CSRF


def _post_routes() -> list[str]:
    routers = (routes_review.router, routes_admin.router, routes_train.router, routes_speakers.router)
    paths = [
        r.path for router in routers for r in router.routes if isinstance(r, APIRoute) and "POST" in r.methods
    ]
    return [*paths, "/logout"]


def test_every_post_route_refuses_a_missing_or_wrong_csrf_token(client):
    login(client, "admin")
    paths = _post_routes()
    assert len(paths) >= 10
    for path in paths:
        url = path.replace("{rid}", "1").replace("{uid}", "1").replace("{aid}", "1")
        assert client.post(url, data={"x": "1"}, follow_redirects=False).status_code == 403, url
        bad = client.post(url, data={"csrf_token": "forged"}, follow_redirects=False)
        assert bad.status_code == 403 and "CSRF" in bad.text, url
    assert client.get("/queue", follow_redirects=False).status_code == 200  # still logged in


def test_login_form_needs_its_csrf_token(client):
    r = client.post("/login", data={"username": "rev", "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 403


def test_csrf_token_from_another_session_is_refused(app):
    with TestClient(app) as a, TestClient(app) as b:
        login(a, "rev")
        login(b, "admin")
        other = csrf_of(b)
        r = a.post(
            "/import/upload",
            data={"csrf_token": other},
            files={"files": ("x.wav", b"RIFF", "audio/wav")},
            follow_redirects=False,
        )
        assert r.status_code == 403


# ---------------------------------------------------------------- path traversal


@pytest.mark.parametrize(
    "name", ["../../evil.wav", "..\\evil.wav", "/etc/evil.wav", "sub/evil.wav", "C:evil.wav"]
)
def test_upload_file_names_with_paths_are_refused(app, client, name):
    login(client, "rev")
    r = _upload(client, name=name)
    assert r.status_code == 400 and "文件名不合法" in r.text
    assert not (app.state.data_dir.parent / "evil.wav").exists()
    assert not list(app.state.data_dir.rglob("evil.wav"))


def test_folder_registration_outside_import_roots_is_refused(app, client, tmp_path):
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "x.wav").write_bytes(WAV_BYTES)
    inbox = app.state.data_dir / "inbox"
    (inbox / "link").symlink_to(secret)
    login(client, "admin")
    for folder in ("../../secret", str(secret), f"{inbox}/../../secret", "link", "/"):
        token = csrf_of(client)
        r = client.post(
            "/import/folder", data={"csrf_token": token, "folder": folder}, follow_redirects=False
        )
        assert r.status_code == 400 and "不在允许导入的目录内" in r.text, folder
    assert client.get("/api/queue").json() == []


def test_folder_registration_is_admin_only(client):
    login(client, "rev")
    r = client.post(
        "/import/folder", data={"csrf_token": csrf_of(client), "folder": "x"}, follow_redirects=False
    )
    assert r.status_code == 403


@pytest.mark.parametrize(
    "url",
    [
        "/static/..%2f..%2fweb%2fapp.py",
        "/static/%2e%2e/%2e%2e/db.py",
        "/recordings/1/media/..%2f..%2fscriptcheck.db",
        "/recordings/1/media/0/..%2f..%2f..%2fscriptcheck.db",
        "/admin/log/export?fmt=../../scriptcheck.db",
    ],
)
def test_path_traversal_in_urls_is_refused(client, url):
    login(client, "admin")
    r = client.get(url, follow_redirects=False)
    assert r.status_code in (400, 403, 404, 422), url
    assert b"SQLite format" not in r.content and b"def create_app" not in r.content


def test_guide_upload_name_with_path_is_refused(client):
    login(client, "admin")
    token = csrf_of(client, "/admin/guides")
    r = client.post(
        "/admin/guides", data={"csrf_token": token}, files={"file": ("../x.toml", b"id='x'", "text/plain")}
    )
    assert r.status_code == 400


def test_login_next_cannot_redirect_off_site(client):
    page = client.get("/login?next=//evil.example/")
    assert 'value="/"' in page.text and "evil.example" not in page.text


# ---------------------------------------------------------------- access log


def test_views_plays_exports_are_logged_with_purpose_and_chain_verifies(app, client):
    login(client, "rev")
    rid = _imported(client)
    r = client.get(f"/recordings/{rid}", follow_redirects=False)
    assert r.headers["location"] == f"/recordings/{rid}/purpose"  # purpose first (第十四条)
    _grant(client, rid)
    assert client.get(f"/recordings/{rid}").status_code == 200
    assert client.get(f"/recordings/{rid}/media/0").status_code == 200
    assert client.post(f"/recordings/{rid}/export", data={"csrf_token": csrf_of(client)}).status_code == 200
    with app.state.sessions() as db:
        entries = audit_log.entries_as_dicts(db, rid)
        assert audit_log.verify_chain(db).ok
    actions = [e["action"] for e in entries]
    assert {"import", "view", "play", "export"} <= set(actions)
    for e in entries:
        if e["action"] in ("view", "play", "export"):
            assert e["username"] == "rev" and "案件审核" in e["purpose"] and "张科长" in e["purpose"]


def _log_some(app, client) -> None:
    login(client, "rev")
    rid = _imported(client)
    _grant(client, rid)
    for _ in range(3):
        client.get(f"/recordings/{rid}")


def test_access_log_detects_an_edited_entry(app, client):
    _log_some(app, client)
    con = raw_db(app)
    with con:
        con.execute("update access_log set purpose = '培训' where seq = 3")
    con.close()
    with app.state.sessions() as db:
        check = audit_log.verify_chain(db)
    assert not check.ok and check.first_bad_seq == 3
    login(client, "admin")
    page = client.get("/admin/log").text
    assert "哈希链校验失败" in page and "第 3 条内容与其哈希不符" in page


def test_access_log_detects_a_recomputed_entry_by_the_broken_link(app, client):
    _log_some(app, client)
    with app.state.sessions() as db:  # edit AND recompute that entry's own hash: the next link breaks
        from analyzer.web.db import AccessLogEntry

        e = db.query(AccessLogEntry).filter_by(seq=2).one()
        e.username = "someone-else"
        e.hash = audit_log.entry_hash(e.prev_hash, e)
        db.commit()
        check = audit_log.verify_chain(db)
    assert not check.ok and check.first_bad_seq == 2  # the unkeyed recompute fails at once


def test_access_log_detects_a_deleted_entry(app, client):
    _log_some(app, client)
    con = raw_db(app)
    with con:
        con.execute("delete from access_log where seq = 2")
    con.close()
    with app.state.sessions() as db:
        check = audit_log.verify_chain(db)
    assert not check.ok and check.first_bad_seq == 2
    assert any("缺失" in p for p in check.problems)


def test_access_log_detects_entries_cut_off_the_end(app, client):
    _log_some(app, client)
    con = raw_db(app)
    with con:
        last = con.execute("select max(seq) from access_log").fetchone()[0]
        con.execute("delete from access_log where seq = ?", (last,))
    con.close()
    with app.state.sessions() as db:
        check = audit_log.verify_chain(db)
    assert not check.ok and any("末尾" in p for p in check.problems)


def test_access_log_export_csv_and_json(app, client):
    _log_some(app, client)
    login(client, "admin")
    csv_text = client.get("/admin/log/export?fmt=csv").text
    assert csv_text.lstrip("\ufeff").startswith("seq,ts,username") and "view" in csv_text
    doc = json.loads(client.get("/admin/log/export?fmt=json").text)
    assert doc["verified"] is True and len(doc["entries"]) >= 5
    assert doc["entries"][1]["prev_hash"] == doc["entries"][0]["hash"]


# ---------------------------------------------------------------- originals, integrity, media


def test_uploaded_original_is_read_only_with_sha256(app, client):
    login(client, "rev")
    rid = _imported(client)
    con = raw_db(app)
    path, sha = con.execute(
        "select stored_path, sha256 from media_files where recording_id=?", (rid,)
    ).fetchone()
    import hashlib

    assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == sha
    assert os.stat(path).st_mode & 0o777 == 0o444


def test_media_supports_range_requests(client):
    login(client, "rev")
    rid = _imported(client)
    _grant(client, rid)
    r = client.get(f"/recordings/{rid}/media/0", headers={"Range": "bytes=4-13"})
    assert r.status_code == 206 and r.content == WAV_BYTES[4:14]
    assert r.headers["content-range"] == f"bytes 4-13/{len(WAV_BYTES)}"


def test_media_needs_a_stated_purpose(client):
    login(client, "rev")
    rid = _imported(client)
    assert client.get(f"/recordings/{rid}/media/0").status_code == 403


def test_tampered_original_raises_integrity_alarm(app, client):
    login(client, "rev")
    rid = _imported(client)
    _grant(client, rid)
    con = raw_db(app)
    (path,) = con.execute("select stored_path from media_files where recording_id=?", (rid,)).fetchone()
    os.chmod(path, 0o644)
    Path(path).write_bytes(WAV_BYTES + b"tampered")
    app.state.store._verified.clear()
    page = client.get(f"/recordings/{rid}").text
    assert "完整性告警" in page
    assert client.get(f"/recordings/{rid}/media/0").status_code == 409
    with app.state.sessions() as db:
        assert any(e["action"] == "integrity_alarm" for e in audit_log.entries_as_dicts(db, rid))
    assert "完整性告警" in client.get("/queue").text


# ---------------------------------------------------------------- decisions, masking, export


def test_override_restores_the_findings_points(client):
    login(client, "rev")
    rid = _imported(client)
    _grant(client, rid)
    page = client.get(f"/recordings/{rid}").text
    assert 'data-key="opening_missing@-#1"' in page
    assert "复核后仍未检出" in page  # the report's notes are shown with the findings
    r = client.post(
        f"/recordings/{rid}/decisions",
        data={
            "csrf_token": csrf_of(client, f"/recordings/{rid}"),
            "finding_key": "opening_missing@-#1",
            "action": "override",
            "comment": "开场在上一段录像中",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    row = next(x for x in client.get("/api/queue").json() if x["id"] == rid)
    assert row["score"] == 92.5  # 62.5 + the opening phrase's 30 points lost
    assert "opening_missing" not in row["flags"] and "gap" in row["flags"]
    page = client.get(f"/recordings/{rid}").text
    assert "开场在上一段录像中" in page and "审阅人乙" in page
    unknown = client.post(
        f"/recordings/{rid}/decisions",
        data={
            "csrf_token": csrf_of(client, f"/recordings/{rid}"),
            "finding_key": "nope@1#1",
            "action": "override",
        },
    )
    assert unknown.status_code == 400


def test_personal_data_masked_unless_admin_unmasks(client):
    login(client, "rev")
    rid = _imported(client)
    _grant(client, rid)
    page = client.get(f"/recordings/{rid}").text
    assert "41030219900101123X" not in page and "1234 5678" not in page and "41**" in page
    report = client.get(f"/recordings/{rid}/report.html").text
    assert "41030219900101123X" not in report and "5678" not in report
    assert (
        client.post(
            f"/recordings/{rid}/unmask", data={"csrf_token": csrf_of(client), "reason": "x"}
        ).status_code
        == 403
    )

    client.post("/logout", data={"csrf_token": csrf_of(client)})
    login(client, "admin")
    _grant(client, rid)
    token = csrf_of(client, f"/recordings/{rid}")
    client.post(f"/recordings/{rid}/unmask", data={"csrf_token": token, "reason": "法院调取"})
    assert "41030219900101123X" in client.get(f"/recordings/{rid}").text
    log = client.get("/admin/log").text
    assert "查看未脱敏内容" in log and "法院调取" in log


def test_evidence_bundle_contents(app, client):
    login(client, "rev")
    rid = _imported(client)
    _grant(client, rid)
    r = client.post(f"/recordings/{rid}/export", data={"csrf_token": csrf_of(client)})
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    zf = zipfile.ZipFile(io.BytesIO(r.content))
    names = set(zf.namelist())
    assert {
        "原始文件/a.wav",
        "SHA256SUMS.txt",
        "report.json",
        "report.html",
        "review.json",
        "提取说明.txt",
    } <= names
    assert zf.read("原始文件/a.wav") == WAV_BYTES
    import hashlib

    assert zf.read("SHA256SUMS.txt").decode().split()[0] == hashlib.sha256(WAV_BYTES).hexdigest()
    note = zf.read("提取说明.txt").decode()
    assert "提取人：审阅人乙（账号 rev）" in note and "提取时间：" in note and "完整性校验：通过" in note
    report = json.loads(zf.read("report.json"))
    assert report["schema_version"] and report["recordings"][0]["files"][0]["path"] == "原始文件/a.wav"
    assert "41030219900101123X" not in zf.read("report.json").decode()
    assert "41030219900101123X" not in zf.read("report.html").decode()
    assert not list((app.state.data_dir / "tmp").glob("*.zip"))  # temp bundle removed after sending


def test_queue_filters_and_sort(client):
    login(client, "rev")
    rid = _imported(client)
    assert f'data-id="{rid}"' in client.get("/queue?flag=opening_missing").text
    assert f'data-id="{rid}"' not in client.get("/queue?flag=interruption_unexplained").text
    assert f'data-id="{rid}"' in client.get("/queue?score_below=70").text
    assert f'data-id="{rid}"' not in client.get("/queue?score_below=50").text
    assert client.get("/queue?sort=score&dir=asc").status_code == 200


# ---------------------------------------------------------------- training pages


def test_training_attempts_are_private_to_the_trainee(app, client):
    from analyzer.guide import load_guide
    from analyzer.training import evaluate_transcript
    from analyzer.transcribe import Segment, Transcript
    from analyzer.web.jobs import training_store

    said = Segment(
        start=0.5,
        end=2.5,
        text="您好，请出示营业执照。",
        raw_text="您好，请出示营业执照。",
        avg_logprob=-0.2,
        no_speech_prob=0.01,
    )
    transcript = Transcript(segments=(said,), language="zh", duration_s=3.0, engine="test", model="none")
    feedback = evaluate_transcript(transcript, "request_id", load_guide(None))
    feedback.trainee = "trainee"  # as evaluate_attempt does before storing
    aid = training_store(app.state.data_dir).record("trainee", feedback)
    login(client, "trainee")
    page = client.get(f"/train/attempts/{aid}")
    assert page.status_code == 200 and "请出示证照" in page.text
    assert "请出示证照" in client.get("/train").text  # progress table
    with TestClient(app) as other:
        login(other, "rev")
        assert other.get(f"/train/attempts/{aid}").status_code == 404
        assert other.get("/train").status_code == 200  # everyone may practise
    with TestClient(app) as chief:
        login(chief, "admin")
        assert chief.get(f"/train/attempts/{aid}").status_code == 200


def test_training_upload_names_and_targets_are_checked(client):
    login(client, "trainee")
    token = csrf_of(client, "/train")
    bad_name = client.post(
        "/train/attempt",
        data={"csrf_token": token, "target": "request_id"},
        files={"audio": ("../../x.webm", b"\x1a\x45\xdf\xa3", "audio/webm")},
    )
    assert bad_name.status_code == 400 and "文件名不合法" in bad_name.text
    bad_target = client.post(
        "/train/attempt",
        data={"csrf_token": token, "target": "../../etc/passwd"},
        files={"audio": ("a.webm", b"\x1a\x45\xdf\xa3", "audio/webm")},
    )
    assert bad_target.status_code == 400
    garbage = client.post(
        "/train/attempt",
        data={"csrf_token": token, "target": "request_id"},
        files={"audio": ("a.webm", b"not audio at all", "audio/webm")},
    )
    assert garbage.status_code == 400 and "无法评分" in garbage.text


def test_findings_link_to_the_file_and_time_the_report_names(client):
    login(client, "rev")
    rid = _imported(client)
    _grant(client, rid)
    page = client.get(f"/recordings/{rid}").text
    row = page[page.index('data-code="gap"') :]
    assert 'data-t="20.0" data-file="0" data-local="5.0"' in row[: row.index("</tr>")]
