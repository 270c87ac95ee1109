"""第十条, written explanations: when recording truly could not continue, the officer explains in
writing. HTTP level (the report-shaped fake analysis of test_web_support has a `gap` finding, an
interruption, and `opening_missing`, which is not one)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import zipfile

import pytest
from fastapi.testclient import TestClient
from test_web_support import csrf_of, grant_access, login, make_app, upload, wait_done

from analyzer.web import audit_log

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
GAP_KEY = "gap@20.00#1"


@pytest.fixture()
def app(tmp_path):
    return make_app(tmp_path / "data")


@pytest.fixture()
def client(app):
    with TestClient(app) as c:
        yield c


@pytest.fixture()
def rid(client) -> int:
    assert login(client, "rev").status_code == 303
    r = upload(client)
    rid = int(r.headers["location"].split("imported=")[1])
    assert wait_done(client, rid)["status"] == "done"
    grant_access(client, rid)
    return rid


def explain(client, rid: int, key: str = GAP_KEY, text: str = "", scan: tuple[str, bytes] | None = None):
    files = {"scan": (scan[0], io.BytesIO(scan[1]), "application/octet-stream")} if scan else None
    return client.post(
        f"/recordings/{rid}/explanations",
        data={"csrf_token": csrf_of(client, f"/recordings/{rid}"), "finding_key": key, "text": text},
        files=files,
        follow_redirects=False,
    )


def flags(client, rid: int) -> list[str]:
    return next(r for r in client.get("/api/queue").json() if r["id"] == rid)["flags"]


def test_an_explained_interruption_shows_as_explained_not_as_a_violation(client, rid):
    page = client.get(f"/recordings/{rid}").text
    assert "附书面说明（第十条）" in page and "已书面说明" not in page
    assert "gap" in flags(client, rid)
    why = "执法记录仪电池耗尽，备用电池也无电，确实无法继续记录。"
    r = explain(client, rid, text=why, scan=("说明.pdf", PDF))
    assert r.status_code == 303
    page = client.get(f"/recordings/{rid}").text
    assert "已书面说明（第十条），不计为违规" in page and "备用电池也无电" in page
    assert hashlib.sha256(PDF).hexdigest() in page
    assert "gap" not in flags(client, rid) and "opening_missing" in flags(client, rid)


def test_the_scan_is_stored_read_only_with_its_sha256_and_served_after_a_check(app, client, rid):
    explain(client, rid, scan=("scan.png", PNG))
    sha = hashlib.sha256(PNG).hexdigest()
    [stored] = [p for p in (app.state.data_dir / "explanations").rglob("*.png")]
    assert stored.parent.name == sha and stored.read_bytes() == PNG
    assert stat.S_IMODE(os.stat(stored).st_mode) == 0o444
    page = client.get(f"/recordings/{rid}").text
    eid = page.split("/explanations/")[1].split("/scan")[0]
    got = client.get(f"/recordings/{rid}/explanations/{eid}/scan")
    assert got.status_code == 200 and got.content == PNG
    os.chmod(stored, 0o644)
    stored.write_bytes(PNG + b"changed")
    assert client.get(f"/recordings/{rid}/explanations/{eid}/scan").status_code == 409


def test_only_interruptions_take_an_explanation_and_it_must_say_something(client, rid):
    assert explain(client, rid, key="opening_missing@-#1", text="忘了说").status_code == 400
    assert explain(client, rid, key="nope@1.00#1", text="x").status_code == 400
    assert explain(client, rid, text="   ").status_code == 400
    assert explain(client, rid, scan=("fake.pdf", PNG)).status_code == 400  # content is not a PDF
    assert explain(client, rid, scan=("run.exe", b"MZ" + b"\x00" * 20)).status_code == 400
    assert "gap" in flags(client, rid)


def test_explanations_need_a_stated_purpose_and_staff(app, client, rid):
    with TestClient(app) as other:
        login(other, "admin")  # a session without a stated purpose
        token = csrf_of(other)
        r = other.post(
            f"/recordings/{rid}/explanations",
            data={"csrf_token": token, "finding_key": GAP_KEY, "text": "x"},
            follow_redirects=False,
        )
        assert r.status_code == 403


def test_registration_is_in_the_access_log(app, client, rid):
    explain(client, rid, text="设备故障", scan=("s.pdf", PDF))
    with app.state.sessions() as db:
        entries = audit_log.entries_as_dicts(db, rid)
        assert audit_log.verify_chain(db).ok
    [e] = [e for e in entries if e["action"] == "explanation"]
    assert e["target"] == GAP_KEY and hashlib.sha256(PDF).hexdigest() in e["detail"]
    assert e["username"] == "rev" and "案件审核" in e["purpose"]


def test_the_evidence_bundle_carries_the_explanation_and_its_scan(client, rid):
    explain(client, rid, text="现场有人阻挠，无法继续记录。联系电话13812345678", scan=("scan.pdf", PDF))
    r = client.post(f"/recordings/{rid}/export", data={"csrf_token": csrf_of(client, f"/recordings/{rid}")})
    assert r.status_code == 200
    zf = zipfile.ZipFile(io.BytesIO(r.content))
    names = zf.namelist()
    [text_name] = [n for n in names if n.startswith("书面说明/") and n.endswith(".txt")]
    [scan_name] = [n for n in names if n.startswith("书面说明/") and n.endswith("scan.pdf")]
    assert zf.read(scan_name) == PDF
    text = zf.read(text_name).decode("utf-8")
    assert "无法继续记录" in text and GAP_KEY in text and "13812345678" not in text  # masked
    sha = hashlib.sha256(PDF).hexdigest()
    assert f"{sha}  {scan_name}" in zf.read("SHA256SUMS.txt").decode("utf-8")
    review = json.loads(zf.read("review.json"))
    [e] = review["explanations"]
    assert e["finding"] == GAP_KEY and e["scan_sha256"] == sha and e["author"] == "rev"
    note = zf.read("提取说明.txt").decode("utf-8")
    assert "书面说明" in note and sha in note
