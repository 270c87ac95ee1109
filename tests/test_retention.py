"""第十五条, retention: periods per recording class from a configuration file, a legal hold that
overrides them, a daily list (`scriptcheck retention list`, the admin page) that never deletes, and
an admin-confirmed deletion that removes the original and derived data but keeps an access-log
entry and a tombstone with the SHA-256. HTTP level with the report-shaped fake analysis."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from test_web_support import csrf_of, login, make_app, upload, wait_done

from analyzer.web import audit_log
from analyzer.web.db import Recording, Tombstone
from analyzer.web.retention import RetentionError, load_policy, policy_path

WAV = b"RIFF" + b"\x01" * 300


@pytest.fixture()
def app(tmp_path):
    return make_app(tmp_path / "data")


@pytest.fixture()
def client(app):
    with TestClient(app) as c:
        yield c


def imported(client, name: str = "a.wav", data: bytes = WAV) -> int:
    r = upload(client, name=name, data=data)
    rid = int(r.headers["location"].split("imported=")[1])
    assert wait_done(client, rid)["status"] == "done"
    return rid


def age(app, rid: int, days: int) -> None:
    """Pretend the recording was stored `days` ago."""
    with app.state.sessions() as db:
        rec = db.get(Recording, rid)
        rec.created_at = rec.created_at - timedelta(days=days)
        db.commit()


def post(client, path: str, **data):
    return client.post(
        path, data={"csrf_token": csrf_of(client, "/admin/retention"), **data}, follow_redirects=False
    )


def cli_list(data_dir: Path, *extra: str) -> tuple[int, str]:
    from analyzer.cli import main

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(["retention", "list", "--data-dir", str(data_dir), *extra])
    return code, buf.getvalue()


def test_policy_is_configuration_with_a_default_class(tmp_path):
    policy = load_policy(policy_path(tmp_path))
    assert {"default", "penalty_case", "complaint"} <= set(policy.classes)
    own = tmp_path / "retention.toml"
    own.write_text('[classes.default]\ntitle = "一般"\ndays = 30\n', "utf-8")
    assert policy_path(tmp_path) == own and load_policy(own).of("unknown").days == 30
    own.write_text('[classes.penalty]\ntitle = "处罚"\ndays = 30\n', "utf-8")
    with pytest.raises(RetentionError, match=r"retention\.toml: 缺少 \[classes\.default\]"):
        load_policy(own)
    own.write_text('[classes.default]\ntitle = "一般"\ndays = -1\n', "utf-8")
    with pytest.raises(RetentionError, match=r"\[classes\.default\] days 应为正整数"):
        load_policy(own)


def test_the_daily_list_names_recordings_past_retention_and_deletes_nothing(app, client):
    login(client, "admin")
    old, new = imported(client, "old.wav", WAV), imported(client, "new.wav", WAV + b"\x02")
    age(app, old, 200)  # default class: 180 days
    code, out = cli_list(app.state.data_dir)
    assert code == 0 and f"#{old}" in out and f"#{new}" not in out
    code, out = cli_list(app.state.data_dir, "--json")
    [item] = json.loads(out)["due"]
    assert item["recording_id"] == old and item["files"][0]["sha256"] == hashlib.sha256(WAV).hexdigest()
    with app.state.sessions() as db:
        assert db.get(Recording, old) is not None  # listing never deletes
        actions = [e["action"] for e in audit_log.entries_as_dicts(db)]
    assert actions.count("retention_list") == 2
    page = client.get("/admin/retention").text
    assert f'class="due" data-rid="{old}"' in page and f'class="due" data-rid="{new}"' not in page


def test_class_and_legal_hold_change_what_is_due(app, client):
    login(client, "admin")
    rid = imported(client)
    age(app, rid, 200)
    assert post(client, f"/admin/retention/{rid}/class", retention_class="penalty_case").status_code == 303
    assert f"#{rid}" not in cli_list(app.state.data_dir)[1]  # 3650 days
    post(client, f"/admin/retention/{rid}/class", retention_class="default")
    assert post(client, f"/admin/retention/{rid}/hold", hold="1").status_code == 400  # a hold needs a reason
    assert post(client, f"/admin/retention/{rid}/hold", hold="1", reason="行政诉讼中").status_code == 303
    out = cli_list(app.state.data_dir)[1]
    assert f"#{rid}" in out and "诉讼保全：行政诉讼中" in out
    r = post(client, f"/admin/retention/{rid}/delete", confirm=str(rid), reason="期限届满")
    assert r.status_code == 400 and "诉讼保全" in r.text
    with app.state.sessions() as db:
        actions = {e["action"] for e in audit_log.entries_as_dicts(db, rid)}
    assert {"retention_class", "legal_hold"} <= actions


def test_deletion_needs_an_admin_an_expired_period_and_a_typed_confirmation(app, client):
    login(client, "admin")
    rid = imported(client)
    assert post(client, f"/admin/retention/{rid}/delete", confirm=str(rid), reason="x").status_code == 400
    age(app, rid, 200)
    assert post(client, f"/admin/retention/{rid}/delete", confirm="1234", reason="x").status_code == 400
    assert post(client, f"/admin/retention/{rid}/delete", confirm=str(rid), reason=" ").status_code == 400
    with TestClient(app) as rev:
        login(rev, "rev")
        assert rev.get("/admin/retention").status_code == 403
        token = csrf_of(rev)
        r = rev.post(f"/admin/retention/{rid}/delete", data={"csrf_token": token, "confirm": str(rid)})
        assert r.status_code == 403
    with app.state.sessions() as db:
        assert db.get(Recording, rid) is not None


def test_deletion_removes_original_and_derived_data_and_keeps_a_tombstone_and_the_log(app, client):
    login(client, "admin")
    rid = imported(client)
    keep = imported(client, "keep.wav", WAV + b"\x03")
    with app.state.sessions() as db:
        rec = db.get(Recording, rid)
        original, result_dir = Path(rec.files[0].stored_path), Path(rec.result_dir)
    assert original.is_file() and result_dir.is_dir()
    age(app, rid, 181)
    r = post(client, f"/admin/retention/{rid}/delete", confirm=str(rid), reason="保存期限届满（示例规定）")
    assert r.status_code == 303
    assert not original.exists() and not result_dir.exists()
    sha = hashlib.sha256(WAV).hexdigest()
    with app.state.sessions() as db:
        assert db.get(Recording, rid) is None and db.get(Recording, keep) is not None
        [tomb] = db.query(Tombstone).all()
        assert tomb.recording_id == rid and tomb.files[0]["sha256"] == sha and tomb.deleted_by == "admin"
        assert "原始文件" in tomb.detail and "分析结果" in tomb.detail
        [entry] = [e for e in audit_log.entries_as_dicts(db, rid) if e["action"] == "retention_delete"]
        assert sha in entry["detail"] and "保存期限届满" in entry["detail"]
        assert audit_log.verify_chain(db).ok
    page = client.get(f"/admin/retention?done={rid}").text
    assert f'class="tombstone" data-rid="{rid}"' in page and sha in page
    assert client.get(f"/recordings/{rid}").status_code == 404


def test_a_registered_original_is_not_deleted_by_the_app_only_its_stored_copy(app, client):
    inbox = app.state.data_dir / "inbox" / "case1"
    inbox.mkdir(parents=True)
    (inbox / "x.wav").write_bytes(WAV)
    login(client, "admin")
    r = client.post(
        "/import/folder",
        data={"csrf_token": csrf_of(client), "folder": str(inbox), "mode": "case"},
        follow_redirects=False,
    )
    rid = int(r.headers["location"].split("imported=")[1])
    wait_done(client, rid)
    age(app, rid, 200)
    assert (
        post(client, f"/admin/retention/{rid}/delete", confirm=str(rid), reason="期限届满").status_code == 303
    )
    assert (inbox / "x.wav").read_bytes() == WAV
    with app.state.sessions() as db:
        [tomb] = db.query(Tombstone).all()
    assert "服务器文件夹中的文件不由本系统删除" in tomb.detail and "存储副本" in tomb.detail


def test_deletion_takes_the_cached_transcripts_of_the_original_with_it(app, client, tmp_path, monkeypatch):
    """The pipeline caches transcripts by the decoded audio; a deleted recording's entries go too."""
    import numpy as np
    import soundfile as sf

    from analyzer import cache
    from analyzer.media import load_audio

    monkeypatch.setenv("SCRIPTCHECK_CACHE", str(tmp_path / "cache"))
    wav = tmp_path / "tone.wav"
    sf.write(wav, (0.2 * np.sin(np.arange(16_000) / 5.0)).astype(np.float32), 16_000)
    audio = load_audio(str(wav))
    mine = "array:" + hashlib.sha256(memoryview(audio).cast("B")).hexdigest()
    cache.store("a" * 64, {"audio_sha256": mine, "segments": [{"text": "个人信息"}]})
    cache.store("b" * 64, {"audio_sha256": "array:" + "0" * 64, "segments": []})
    login(client, "admin")
    rid = imported(client, "tone.wav", wav.read_bytes())
    age(app, rid, 200)
    assert (
        post(client, f"/admin/retention/{rid}/delete", confirm=str(rid), reason="期限届满").status_code == 303
    )
    assert cache.load("a" * 64) is None and cache.load("b" * 64) is not None
    with app.state.sessions() as db:
        [tomb] = db.query(Tombstone).all()
    assert "转写缓存 1 条" in tomb.detail
