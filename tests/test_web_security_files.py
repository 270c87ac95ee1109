"""Files in the reviewer web app (issue 14): what is served and exported is the checked copy in the
read-only store and nothing else (items 2, 15), uploads are refused before their body is read and
bounded while it streams (item 4), exports never collide or leave files (item 6), failed imports and
training attempts leave nothing behind and attempts run as jobs (item 10), file names are normalised
and refused when they hide characters (item 12), and users never see server paths (item 13).

HTTP level: through TestClient, or a real uvicorn server where the order of reading the body or
concurrency is the point. Analysis is the report-shaped fake of test_web_support, except where the
real pipeline's own error message is the subject.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import io
import mimetypes
import os
import socket
import threading
import time
import zipfile
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient
from media_factory import tone, write_media
from test_web_support import (
    CSRF_RE,
    PASSWORD,
    RawDB,
    add_users,
    csrf_of,
    decide_request,
    fake_analysis,
    grant_access,
    login,
    raw_db,
    request_access,
)

from analyzer.commands import serve
from analyzer.web.app import WebConfig, create_app

WAV_BYTES = b"RIFF" + bytes(range(200))  # never decoded by the fake analysis


def _app(data_dir: Path, *, analyze=fake_analysis, train=None, **config):
    roots = config.pop("import_roots", [data_dir / "inbox"])
    extra = {"train": train} if train is not None else {}
    app = create_app(WebConfig(data_dir=data_dir, import_roots=roots, **config), analyze=analyze, **extra)
    add_users(app)
    return app


@pytest.fixture()
def app(tmp_path):
    return _app(tmp_path / "data")


@pytest.fixture()
def client(app):
    with TestClient(app) as c:
        yield c


def _upload(client, name="a.wav", data=WAV_BYTES, files=None, **form):
    return client.post(
        "/import/upload",
        data={"csrf_token": csrf_of(client), **form},
        files=files or {"files": (name, io.BytesIO(data), "audio/wav")},
        follow_redirects=False,
    )


def _wait_done(client, rid: int, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = next(r for r in client.get("/api/queue").json() if r["id"] == rid)
        if row["status"] in ("done", "error"):
            return row
        time.sleep(0.1)
    raise AssertionError(f"recording {rid} not analysed in {timeout}s")


def _rid(response) -> int:
    assert response.status_code == 303, response.text
    return int(response.headers["location"].split("imported=")[1].split(",")[0])


def _grant(client, rid: int) -> None:
    grant_access(client, rid)


def _export(client, rid: int):
    return client.post(f"/recordings/{rid}/export", data={"csrf_token": csrf_of(client)})


def _db(app) -> RawDB:
    return raw_db(app)


def _stored_path(app, rid: int) -> Path:
    (path,) = _db(app).execute("select stored_path from media_files where recording_id=?", (rid,)).fetchone()
    return Path(path)


def _files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() or p.is_symlink()]


def _register(client, folder: str, mode: str = "case"):
    return client.post(
        "/import/folder",
        data={"csrf_token": csrf_of(client), "folder": folder, "mode": mode},
        follow_redirects=False,
    )


# ---------------------------------------------------------------- item 2: served only from the store


def test_swapped_registered_file_serves_and_exports_the_registered_bytes(app, client, tmp_path):
    """The attack of the issue: after registration the file in the import folder becomes a symlink to
    a secret (here /etc/passwd and the app's own database); nothing of either reaches the reviewer."""
    case = app.state.data_dir / "inbox" / "case1"
    case.mkdir(parents=True)
    (case / "a.wav").write_bytes(WAV_BYTES)
    login(client, "admin")
    rid = _rid(_register(client, "case1"))
    _wait_done(client, rid)
    _grant(client, rid)
    assert client.get(f"/recordings/{rid}/media/0").content == WAV_BYTES  # verified once
    for secret in (Path("/etc/passwd"), app.state.data_dir / "scriptcheck.db"):
        (case / "a.wav").unlink()
        (case / "a.wav").symlink_to(secret)
        played = client.get(f"/recordings/{rid}/media/0")
        assert played.status_code == 200 and played.content == WAV_BYTES
        zf = zipfile.ZipFile(io.BytesIO(_export(client, rid).content))
        assert zf.read("原始文件/a.wav") == WAV_BYTES
        assert "完整性校验：通过" in zf.read("提取说明.txt").decode()
    assert not _stored_path(app, rid).is_relative_to(case)


def test_symlinks_in_an_import_folder_are_refused_even_to_files_inside_it(app, client):
    inbox = app.state.data_dir / "inbox"
    case = inbox / "case2"
    case.mkdir(parents=True)
    (case / "real.wav").write_bytes(WAV_BYTES)
    (case / "link.wav").symlink_to(case / "real.wav")
    login(client, "admin")
    r = _register(client, "case2")
    assert r.status_code == 400 and "link.wav" in r.text and "符号链接" in r.text
    assert client.get("/api/queue").json() == []
    assert not _files_under(app.state.data_dir / "originals")  # the real.wav copied first is undone


def test_a_file_resolving_into_the_data_directory_is_never_registered(tmp_path):
    """Even when an admin makes the data directory itself an import root, the database, the store and
    the results cannot be registered as recordings."""
    data = tmp_path / "data"
    app = _app(data, import_roots=[data])
    with TestClient(app) as client:
        case = data / "evil"
        case.mkdir()
        database = data / "scriptcheck.db"  # on a database server: the chain key instead
        secret = database if database.exists() else data / "keys" / "audit.key"
        os.link(secret, case / "db.wav")  # a hard link: no symlink to catch
        login(client, "admin")
        r = _register(client, "evil")
        assert r.status_code == 400 and "数据目录" in r.text
        assert client.get("/api/queue").json() == []


def test_store_copy_swapped_for_a_link_stops_playback_and_export_omits_it(app, client):
    login(client, "rev")
    rid = _rid(_upload(client))
    _wait_done(client, rid)
    _grant(client, rid)
    assert client.get(f"/recordings/{rid}/media/0").status_code == 200  # hash verified and remembered
    stored = _stored_path(app, rid)
    for target in (Path("/etc/passwd"), app.state.data_dir / "scriptcheck.db"):
        stored.unlink()
        stored.symlink_to(target)
        r = client.get(f"/recordings/{rid}/media/0", headers={"Range": "bytes=0-99"})
        assert r.status_code == 409 and b"root:x:0:0" not in r.content and b"SQLite format" not in r.content
        zf = zipfile.ZipFile(io.BytesIO(_export(client, rid).content))
        assert "原始文件/a.wav" not in zf.namelist()
        assert all(
            b"root:x:0:0" not in zf.read(n) and b"SQLite format" not in zf.read(n) for n in zf.namelist()
        )
        note = zf.read("提取说明.txt").decode()
        assert "完整性校验：不通过" in note and "未包含在证据包中" in note
        assert "a.wav" not in zf.read("SHA256SUMS.txt").decode()
    assert "完整性告警" in client.get("/queue").text
    stored.unlink()  # a linked directory in the store is not followed either, even to the same bytes
    (app.state.data_dir / "elsewhere").mkdir()
    (app.state.data_dir / "elsewhere" / stored.name).write_bytes(WAV_BYTES)
    stored.parent.rmdir()
    stored.parent.symlink_to(app.state.data_dir / "elsewhere")
    assert client.get(f"/recordings/{rid}/media/0").status_code == 409


def test_store_copy_rewritten_in_place_is_caught_within_the_trust_window(app, client):
    """Same size, same path: only the inode's ctime/mtime differ, and the bytes."""
    login(client, "rev")
    rid = _rid(_upload(client))
    _wait_done(client, rid)
    _grant(client, rid)
    assert client.get(f"/recordings/{rid}/media/0").status_code == 200
    stored = _stored_path(app, rid)
    os.chmod(stored, 0o644)
    stored.write_bytes(b"X" * len(WAV_BYTES))
    assert client.get(f"/recordings/{rid}/media/0", headers={"Range": "bytes=0-9"}).status_code == 409
    zf = zipfile.ZipFile(io.BytesIO(_export(client, rid).content))
    assert "原始文件/a.wav" not in zf.namelist() and b"XXXX" not in b"".join(
        zf.read(n) for n in zf.namelist()
    )


def test_media_ranges_come_from_the_checked_open_file(app, client):
    """The media route streams the open, verified file itself (no FileResponse by path): ranges hold."""
    login(client, "rev")
    rid = _rid(_upload(client))
    _wait_done(client, rid)
    _grant(client, rid)
    n = len(WAV_BYTES)
    tail = client.get(f"/recordings/{rid}/media/0", headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == WAV_BYTES[-10:]
    assert tail.headers["content-range"] == f"bytes {n - 10}-{n - 1}/{n}"
    rest = client.get(f"/recordings/{rid}/media/0", headers={"Range": "bytes=100-"})
    assert rest.status_code == 206 and rest.content == WAV_BYTES[100:]
    beyond = client.get(f"/recordings/{rid}/media/0", headers={"Range": f"bytes={n}-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{n}"
    whole = client.get(f"/recordings/{rid}/media/0")
    assert (
        whole.status_code == 200 and whole.content == WAV_BYTES and whole.headers["accept-ranges"] == "bytes"
    )


def test_databases_with_in_place_registrations_are_moved_into_the_store_at_start(tmp_path):
    data = tmp_path / "data"
    app = _app(data)
    case = data / "inbox" / "old"
    case.mkdir(parents=True)
    (case / "kept.wav").write_bytes(WAV_BYTES)
    (case / "changed.wav").write_bytes(WAV_BYTES + b"1")
    with TestClient(app) as client:
        login(client, "admin")
        first = _rid(_register(client, "old", mode="files"))
        _wait_done(client, first)
        _wait_done(client, first + 1)
    con = _db(app)
    ids = dict(con.execute("select original_name, recording_id from media_files").fetchall())
    rid, bad = ids["kept.wav"], ids["changed.wav"]
    with con:  # as a database from before the store held registered files: paths in the folder
        for name in ("kept.wav", "changed.wav"):
            con.execute(
                "update media_files set stored_path=? where original_name=?", (str(case / name), name)
            )
    (case / "changed.wav").write_bytes(WAV_BYTES + b"2")
    report = Path(con.execute("select result_dir from recordings where id=?", (rid,)).fetchone()[0])
    text = (report / "report.json").read_text(encoding="utf-8")
    stored_before = text.split('"path": "')[1].split('"')[0]
    (report / "report.json").write_text(text.replace(stored_before, str(case / "kept.wav")), encoding="utf-8")

    app2 = create_app(WebConfig(data_dir=data, import_roots=[data / "inbox"]), analyze=fake_analysis)
    rows = dict(_db(app2).execute("select original_name, stored_path from media_files").fetchall())
    assert Path(rows["kept.wav"]).parents[2] == data / "originals"
    assert str(case / "kept.wav") not in (report / "report.json").read_text(encoding="utf-8")
    assert rows["changed.wav"] == str(case / "changed.wav")  # not adopted: it no longer matches
    with TestClient(app2) as client:
        login(client, "rev")
        _grant(client, rid)
        assert client.get(f"/recordings/{rid}/media/0").content == WAV_BYTES
        _grant(client, bad)
        page = client.get(f"/recordings/{bad}").text
        assert "未能迁入只读存储" in page or "不在只读存储中" in page
        assert client.get(f"/recordings/{bad}/media/0").status_code == 409


# ---------------------------------------------------------------- item 4: uploads


@pytest.fixture()
def live(tmp_path):
    """A real uvicorn server (the order in which the body is read is the point)."""
    import uvicorn

    app = _app(tmp_path / "data", user_quota_bytes=1 << 20)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield f"http://127.0.0.1:{port}", port, app
    server.should_exit = True
    thread.join(timeout=10)


def _raw_post(port: int, path: str, length: int, cookie: str = "") -> bytes:
    """Send the headers of a `length`-byte multipart upload and 64 KiB of it; return what the server
    answers within 5 s (b'' if it is still waiting for the rest)."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=XyZ\r\n"
        f"Content-Length: {length}\r\n" + (f"Cookie: {cookie}\r\n" if cookie else "") + "\r\n"
    ).encode()
    part = b'--XyZ\r\nContent-Disposition: form-data; name="files"; filename="big.wav"\r\n\r\n'
    answer = b""
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(head + part + b"\0" * 65536)
        s.settimeout(5)
        try:
            while chunk := s.recv(65536):
                answer += chunk
        except (TimeoutError, ConnectionResetError):
            pass
    return answer


def _live_login(base: str, username: str) -> httpx.Client:
    c = httpx.Client(base_url=base, timeout=30)
    c.__enter__()
    token = CSRF_RE.search(c.get("/login").text).group(1)
    r = c.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert r.status_code in (200, 303)
    return c


def test_upload_without_a_login_is_refused_before_its_body_is_read(live):
    base, port, app = live
    answer = _raw_post(port, "/import/upload", 300 * 1024 * 1024)
    assert answer.startswith(b"HTTP/1.1 303") and b"location: /login" in answer.lower()
    assert not _files_under(app.state.data_dir / "originals")
    trainee = _live_login(base, "trainee")  # logged in, but a trainee may not import
    cookie = "; ".join(f"{k}={v}" for k, v in trainee.cookies.items())
    assert _raw_post(port, "/import/upload", 300 * 1024 * 1024, cookie).startswith(b"HTTP/1.1 403")


def test_upload_over_the_quota_is_refused_from_its_content_length(live):
    base, port, _app_ = live
    rev = _live_login(base, "rev")
    cookie = "; ".join(f"{k}={v}" for k, v in rev.cookies.items())
    answer = _raw_post(port, "/import/upload", 300 * 1024 * 1024, cookie)
    assert answer.startswith(b"HTTP/1.1 413") and "超出个人存储配额".encode() in answer


def test_upload_over_the_file_limit_is_cut_off_while_streaming(tmp_path):
    app = _app(tmp_path / "data", max_upload_bytes=4096)
    with TestClient(app) as client:
        login(client, "rev")
        r = _upload(client, data=b"RIFF" + b"\0" * 10_000)
        assert r.status_code == 413 and "文件过大" in r.text
        chunked = client.post(  # no Content-Length: counted as it arrives
            "/import/upload",
            content=iter(
                [b'--B\r\nContent-Disposition: form-data; name="files"; filename="c.wav"\r\n\r\n']
                + [b"\0" * 1000] * 10
                + [b"\r\n--B--\r\n"]
            ),
            headers={"Content-Type": "multipart/form-data; boundary=B"},
        )
        assert chunked.status_code == 413
        assert _rid(_upload(client, data=b"RIFF" + b"\0" * 1000))  # under the limit: accepted
        assert len(_files_under(app.state.data_dir / "originals")) == 1
        assert not list((app.state.data_dir / "tmp").iterdir())


def test_per_user_quota_counts_what_the_user_stored(tmp_path):
    app = _app(tmp_path / "data", user_quota_bytes=6000)
    with TestClient(app) as client, TestClient(app) as other:
        login(client, "rev")
        _rid(_upload(client, data=b"RIFF" + b"\1" * 4000))
        r = _upload(client, data=b"RIFF" + b"\2" * 4000)
        assert r.status_code == 413 and "配额" in r.text
        assert len(_files_under(app.state.data_dir / "originals")) == 1
        login(other, "admin")  # the quota is per user
        _rid(_upload(other, data=b"RIFF" + b"\3" * 4000))


def test_serve_options_set_the_upload_limits():
    parser = argparse.ArgumentParser()
    serve.add_arguments(parser)
    config = serve._config(parser.parse_args(["--max-upload-gb", "0.5", "--user-quota-gb", "0"]))
    assert config.max_upload_bytes == 512 * 1024 * 1024 and config.user_quota_bytes is None
    default = serve._config(parser.parse_args([]))
    assert default.max_upload_bytes == 4 * 1024**3 and default.user_quota_bytes == 100 * 1024**3


# ---------------------------------------------------------------- item 6: exports


def test_parallel_exports_all_succeed_with_unique_names_and_leave_nothing(live):
    base, _port, app = live
    rev = _live_login(base, "rev")
    token = CSRF_RE.search(rev.get("/import").text).group(1)
    r = rev.post("/import/upload", data={"csrf_token": token}, files={"files": ("a.wav", WAV_BYTES)})
    assert r.status_code == 303
    rid = int(r.headers["location"].split("imported=")[1])
    deadline = time.monotonic() + 30
    while rev.get("/api/queue").json()[0]["status"] != "done" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert decide_request(app, request_access(rev, rid)).status_code == 303
    cookies = dict(rev.cookies.items())
    rev.close()

    def one(_i: int) -> tuple[int, str, bytes]:
        with httpx.Client(base_url=base, cookies=cookies, timeout=60) as c:
            r = c.post(f"/recordings/{rid}/export", data={"csrf_token": token})
            return r.status_code, r.headers.get("content-disposition", ""), r.content

    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        results = list(pool.map(one, range(20)))
    assert [status for status, _n, _b in results] == [200] * 20
    assert len({name for _s, name, _b in results}) == 20
    for _s, _n, body in results:
        assert zipfile.ZipFile(io.BytesIO(body)).read("原始文件/a.wav") == WAV_BYTES
    # a download abandoned half way leaves nothing either
    with socket.create_connection(("127.0.0.1", _port)) as s:
        body = f"csrf_token={token}".encode()
        cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
        s.sendall(
            f"POST /recordings/{rid}/export HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        s.recv(100)
    time.sleep(0.5)
    assert not list((app.state.data_dir / "tmp").iterdir())


def test_an_export_that_fails_half_way_leaves_no_file(app, client, monkeypatch):
    login(client, "rev")
    rid = _rid(_upload(client))
    _wait_done(client, rid)
    _grant(client, rid)
    import analyzer.web.evidence as evidence

    def broken(*_a, **_k):
        raise OSError("disk full")

    monkeypatch.setattr(evidence, "render_report_html", broken)
    with pytest.raises(OSError):
        _export(client, rid)
    assert not list((app.state.data_dir / "tmp").iterdir())


# ---------------------------------------------------------------- item 10: failures clean up; training jobs


def test_failed_multi_file_upload_keeps_no_original_without_a_row(app, client):
    login(client, "rev")
    files = [
        ("files", ("good.wav", io.BytesIO(WAV_BYTES), "audio/wav")),
        ("files", ("bad.txt", io.BytesIO(b"x"), "text/plain")),
    ]
    r = _upload(client, files=files)
    assert r.status_code == 400 and "不支持的文件类型" in r.text
    assert not _files_under(app.state.data_dir / "originals")
    assert client.get("/api/queue").json() == []


def _speech_file(folder: Path) -> Path:
    path = folder / "attempt.wav"
    sf.write(path, np.concatenate([tone(1.0, 16000)]), 16000, subtype="PCM_16")
    return path


def _fake_train(gate: threading.Event, fail: bool = False):
    from analyzer import training
    from analyzer.guide import load_guide
    from analyzer.transcribe import Segment, Transcript
    from analyzer.web.jobs import training_store

    def train(audio_path, target, guide, trainee, data_dir):
        assert gate.wait(30)
        if fail:
            raise RuntimeError(f"{audio_path}: 音频无法解码")
        said = Segment(
            start=0.5,
            end=2.5,
            text="您好，请出示营业执照。",
            raw_text="",
            avg_logprob=-0.2,
            no_speech_prob=0.01,
        )
        transcript = Transcript(segments=(said,), language="zh", duration_s=3.0, engine="test", model="none")
        return training.evaluate_attempt(
            audio_path,
            target,
            load_guide(guide),
            trainee=trainee,
            store=training_store(data_dir),
            transcript=transcript,
        ).to_dict()

    return train


def _attempt(client, audio: Path):
    return client.post(
        "/train/attempt",
        data={"csrf_token": csrf_of(client, "/train"), "target": "request_id"},
        files={"audio": ("attempt.wav", audio.read_bytes(), "audio/wav")},
        follow_redirects=False,
    )


def test_training_attempts_run_as_jobs_with_a_per_user_limit(tmp_path):
    gate = threading.Event()
    app = _app(tmp_path / "data", train=_fake_train(gate), training_jobs_per_user=2)
    audio = _speech_file(tmp_path)
    with TestClient(app) as client, TestClient(app) as other:
        login(client, "trainee")
        started = time.monotonic()
        first, second = _attempt(client, audio), _attempt(client, audio)
        assert time.monotonic() - started < 10  # answered while the evaluation is held
        assert first.status_code == 303 and first.headers["location"].startswith("/train/jobs/")
        assert second.status_code == 303
        third = _attempt(client, audio)
        assert third.status_code == 429 and "正在评分" in third.text
        login(other, "rev")
        assert _attempt(other, audio).status_code == 303  # the limit is per user
        job = first.headers["location"]
        assert other.get(job).status_code == 404  # another user's attempt
        status = client.get(f"/train/api/jobs/{job.rsplit('/', 1)[1]}").json()
        assert status["status"] in ("queued", "running") and status["result"] is None
        gate.set()
        deadline = time.monotonic() + 30
        while client.get(f"/train/api/jobs/{job.rsplit('/', 1)[1]}").json()["status"] != "done":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        page = client.get(job)
        assert "/train/attempts/" in str(page.url) and "请出示证照" in page.text
        assert _attempt(client, audio).status_code == 303  # room again


def test_failed_training_attempt_is_deleted_and_explained_without_paths(tmp_path):
    gate = threading.Event()
    gate.set()
    app = _app(tmp_path / "data", train=_fake_train(gate, fail=True))
    audio = _speech_file(tmp_path)
    folder = app.state.data_dir / "training"
    with TestClient(app) as client:
        login(client, "trainee")
        job = _attempt(client, audio).headers["location"]
        deadline = time.monotonic() + 30
        while client.get(f"/train/api/jobs/{job.rsplit('/', 1)[1]}").json()["status"] != "error":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        page = client.get(job).text
        assert "无法评分" in page and "attempt.wav" in page and str(app.state.data_dir) not in page
        assert not [p for p in folder.rglob("*") if p.suffix == ".wav"]
        garbage = client.post(  # refused at once, nothing kept
            "/train/attempt",
            data={"csrf_token": csrf_of(client, "/train"), "target": "request_id"},
            files={"audio": ("练习.webm", b"not audio at all", "audio/webm")},
        )
        assert garbage.status_code == 400 and "无法评分" in garbage.text and "练习.webm" in garbage.text
        assert str(app.state.data_dir) not in garbage.text
        assert not [p for p in folder.rglob("*") if p.suffix in (".webm", ".wav")]


# ---------------------------------------------------------------- item 12 and 15: file names


@pytest.mark.parametrize(
    "name",
    [
        "invoice\u202evaw.mp4.wav",
        "a\u2066b.wav",
        "a\u200bb.wav",
        "a\x07b.wav",
        "a\x1bb.wav",
        "x" * 260 + ".wav",
    ],
)
def test_file_names_hiding_characters_or_overlong_are_refused(app, client, name):
    login(client, "rev")
    body = (
        (  # by hand: an HTTP client would percent-encode some control characters of a file name
            f'--B\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{csrf_of(client)}\r\n'
            f'--B\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n\r\n'
        ).encode()
        + WAV_BYTES
        + b"\r\n--B--\r\n"
    )
    r = client.post(
        "/import/upload",
        content=body,
        headers={"Content-Type": "multipart/form-data; boundary=B"},
        follow_redirects=False,
    )
    assert r.status_code == 400 and ("文件名不合法" in r.text or "文件名过长" in r.text)
    assert "\u202e" not in r.text and "\x1b" not in r.text
    assert not _files_under(app.state.data_dir / "originals")


def test_registered_file_names_are_checked_too(app, client):
    case = app.state.data_dir / "inbox" / "c"
    case.mkdir(parents=True)
    (case / "a\u202eb.wav").write_bytes(WAV_BYTES)
    login(client, "admin")
    r = _register(client, "c")
    assert r.status_code == 400 and "文件名不合法" in r.text and "\u202e" not in r.text


def test_file_names_are_stored_in_nfc(app, client):
    login(client, "rev")
    rid = _rid(_upload(client, name="Cafe\u0301.wav"))
    (name,) = (
        _db(app).execute("select original_name from media_files where recording_id=?", (rid,)).fetchone()
    )
    assert name == "Caf\u00e9.wav"


def test_zip_member_names_unpack_on_windows(app, client):
    login(client, "rev")
    files = [
        ("files", ("10:30 <现场>|?*.wav", io.BytesIO(WAV_BYTES), "audio/wav")),
        ("files", ("con.wav", io.BytesIO(WAV_BYTES + b"1"), "audio/wav")),
        ("files", ("CON.wav", io.BytesIO(WAV_BYTES + b"2"), "audio/wav")),
        ("files", ("trailing. .wav", io.BytesIO(WAV_BYTES + b"3"), "audio/wav")),
    ]
    rid = _rid(_upload(client, files=files, as_case="1"))
    _wait_done(client, rid)
    _grant(client, rid)
    names = [n for n in zipfile.ZipFile(io.BytesIO(_export(client, rid).content)).namelist() if "/" in n]
    assert len(names) == 4
    for n in names:
        base = n.split("/", 1)[1]
        assert not set('<>:"|?*\\') & set(base) and not base.endswith((".", " ")), n
        assert base.split(".")[0].lower() not in ("con", "prn", "aux", "nul"), n
    assert len({n.casefold() for n in names}) == 4


def test_ts_is_served_by_its_container_not_the_hosts_table(app, client, tmp_path, monkeypatch):
    real_guess = mimetypes.guess_type

    def qt_host(url, strict=True):  # a host whose table knows .ts as Qt translations
        return ("text/vnd.trolltech.linguist", None) if str(url).endswith(".ts") else real_guess(url, strict)

    monkeypatch.setattr(mimetypes, "guess_type", qt_host)
    ts = write_media(tmp_path / "cam.ts", tone(1.0, 16000), 16000, codec="mp2", fmt="mpegts")
    mp4 = write_media(tmp_path / "m.mp4", tone(1.0, 16000), 16000, codec="aac", video=True)
    login(client, "rev")
    for name, source, expected in (("cam.ts", ts, "video/mp2t"), ("really-mp4.ts", mp4, "video/mp4")):
        rid = _rid(_upload(client, name=name, data=source.read_bytes()))
        _wait_done(client, rid)
        _grant(client, rid)
        r = client.get(f"/recordings/{rid}/media/0")
        assert r.status_code == 200 and r.headers["content-type"] == expected, name
        assert hashlib.sha256(r.content).hexdigest() == hashlib.sha256(source.read_bytes()).hexdigest()


# ---------------------------------------------------------------- item 13: no server paths shown


def test_analysis_errors_name_the_original_not_the_server_path(tmp_path):
    from analyzer.web.jobs import run_pipeline

    app = _app(tmp_path / "data", analyze=run_pipeline)  # the pipeline's own message for a bad file
    with TestClient(app) as client:
        login(client, "rev")
        rid = _rid(_upload(client, name="坏文件.wav", data=b"RIFF not really a wave file"))
        row = _wait_done(client, rid, timeout=120)
        assert row["status"] == "error" and "坏文件.wav" in row["error"]
        assert str(app.state.data_dir) not in row["error"] and "originals" not in row["error"]
        assert str(app.state.data_dir) not in client.get("/queue").text


def test_guide_upload_errors_do_not_show_the_server_path(app, client):
    login(client, "admin")
    r = client.post(
        "/admin/guides",
        data={"csrf_token": csrf_of(client, "/admin/guides")},
        files={"file": ("broken.toml", b"[[phrases]]\nid=1")},
    )
    assert r.status_code == 400 and "broken.toml" in r.text
    assert str(app.state.data_dir) not in r.text and ".guide-" not in r.text
