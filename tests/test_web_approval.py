"""第十四条: viewing needs an approved request. A reviewer (or admin) files a request with a purpose,
an approver other than the requester approves or refuses it with a note, the approval opens the
recording for a configured window, and every content route refuses without it (admins too).
Requests, decisions, expiries, uses and refusals are in the hash-chained access log.
"""

from __future__ import annotations

import csv
import io
import json
import re
import tempfile
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from test_web_support import (
    csrf_of,
    decide_request,
    decider,
    fake_analysis,
    grant_access,
    login,
    make_app,
    request_access,
    upload,
    wait_done,
)

from analyzer.web import approval, audit_log
from analyzer.web.app import WebConfig, create_app
from analyzer.web.db import ViewingRequest, utcnow

# Routes with a recording in their path that reveal none of its content (the request form itself,
# re-queueing the analysis, the admin's retention settings). Every other one must need an approval.
NOT_CONTENT = {
    ("GET", "/recordings/{rid}/purpose"),
    ("POST", "/recordings/{rid}/purpose"),
    ("POST", "/recordings/{rid}/purpose/{qid}/withdraw"),
    ("POST", "/recordings/{rid}/reanalyze"),
    ("POST", "/admin/retention/{rid}/class"),
    ("POST", "/admin/retention/{rid}/hold"),
    ("POST", "/admin/retention/{rid}/delete"),
}


def _app_routes() -> list[APIRoute]:
    """The routes of a real app, so that a route added to any router is checked here too."""
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(WebConfig(data_dir=Path(tmp)), analyze=fake_analysis, start_worker=False)
        routes = list(_api_routes(app.routes))
        app.state.engine.dispose()
    return routes


def _api_routes(routes) -> Iterator[APIRoute]:
    """Every APIRoute, also inside included routers (FastAPI keeps those as one entry each; this app
    includes them without an extra prefix, the routers carry their own)."""
    for r in routes:
        if isinstance(r, APIRoute):
            yield r
        elif hasattr(r, "original_router"):
            yield from _api_routes(r.original_router.routes)


ROUTES = _app_routes()
CONTENT_ROUTES = sorted(
    {
        (method, r.path)
        for r in ROUTES
        if "{rid}" in r.path or r.path.startswith("/recordings/")
        for method in r.methods
        if (method, r.path) not in NOT_CONTENT
    }
)


@pytest.fixture()
def app(tmp_path):
    return make_app(tmp_path / "data")


@pytest.fixture()
def client(app):
    with TestClient(app) as c:
        yield c


def _imported(client) -> int:
    r = upload(client)
    assert r.status_code == 303, r.text
    rid = int(r.headers["location"].split("imported=")[1].split(",")[0])
    assert wait_done(client, rid)["status"] == "done"
    return rid


@pytest.fixture()
def rid(client) -> int:
    assert login(client, "rev").status_code == 303
    return _imported(client)


def _log(app, rid: int | None = None) -> list[dict]:
    with app.state.sessions() as db:
        assert audit_log.verify_chain(db).ok
        return audit_log.entries_as_dicts(db, rid)


def _request(app, qid: int) -> ViewingRequest:
    with app.state.sessions() as db:
        req = db.get(ViewingRequest, qid)
        assert req is not None
        _ = req.decided_by, req.requester  # loaded while the session is open
        return req


def _shift_clock(monkeypatch, delta: timedelta) -> None:
    """Time passes for the approval workflow (its clock is analyzer.web.approval.utcnow)."""
    monkeypatch.setattr(approval, "utcnow", lambda: utcnow() + delta)


def _viewable(client, rid: int) -> bool:
    page = client.get(f"/recordings/{rid}", follow_redirects=False)
    media = client.get(f"/recordings/{rid}/media/0")
    assert (page.status_code == 200) == (media.status_code == 200), (page.status_code, media.status_code)
    if page.status_code != 200:
        assert page.status_code == 303 and page.headers["location"] == f"/recordings/{rid}/purpose"
        assert media.status_code == 403 and "第十四条" in media.text
    return page.status_code == 200


# ---------------------------------------------------------------- the workflow


def test_request_pending_approve_view_until_expiry_then_refused(app, client, rid, monkeypatch):
    (app.state.data_dir / "approval.toml").write_text("[viewing]\nvalid_hours = 2\n", encoding="utf-8")
    assert not _viewable(client, rid)
    qid = request_access(client, rid, "投诉核查", "群众投诉态度问题")
    page = client.get(f"/recordings/{rid}/purpose").text
    assert "待审批" in page and 'id="purpose-form"' not in page  # one pending request at a time
    assert not _viewable(client, rid)
    assert _request(app, qid).state == "pending"

    boss = decider(app)
    listing = boss.get("/approvals").text
    assert re.search(r'id="pending-count">1<', listing)  # the count in the navigation bar
    assert f'data-request="{qid}" data-recording="{rid}"' in listing and "群众投诉态度问题" in listing

    assert decide_request(app, qid, "approve", "同意查阅").status_code == 303
    req = _request(app, qid)
    assert req.state == "approved" and req.decision_note == "同意查阅" and req.decided_by.username == "head"
    assert req.valid_until - req.decided_at == timedelta(hours=2)  # from approval.toml in DATA_DIR
    assert 'id="pending-count"' not in boss.get("/approvals").text
    assert _viewable(client, rid)
    assert f"查阅申请 #{qid}" in client.get(f"/recordings/{rid}").text

    _shift_clock(monkeypatch, timedelta(hours=1, minutes=59))
    assert _viewable(client, rid)
    _shift_clock(monkeypatch, timedelta(hours=2, minutes=1))
    assert not _viewable(client, rid)
    assert _request(app, qid).state == "expired"
    entries = _log(app, rid)
    [expired] = [e for e in entries if e["action"] == "view_expire"]  # logged once
    assert expired["username"] == "rev" and f"#{qid}" in expired["detail"]
    refused = [e for e in entries if e["action"] == "access_refused"]
    assert refused[-1]["username"] == "rev" and "过期" in refused[-1]["detail"]
    assert "已过期" in client.get(f"/recordings/{rid}/purpose").text
    assert 'id="purpose-form"' in client.get(f"/recordings/{rid}/purpose").text  # may ask again


def test_a_refused_request_opens_nothing(app, client, rid):
    qid = request_access(client, rid)
    r = decide_request(app, qid, "refuse", note="")
    assert r.status_code == 400 and "理由" in r.text  # a refusal says why
    assert decide_request(app, qid, "refuse", note="事由不充分").status_code == 303
    req = _request(app, qid)
    assert req.state == "refused" and req.valid_until is None and req.decision_note == "事由不充分"
    assert not _viewable(client, rid)
    assert "已拒绝" in client.get(f"/recordings/{rid}/purpose").text
    assert decide_request(app, qid, "approve").status_code == 409  # decided once
    assert not _viewable(client, rid)
    [entry] = [e for e in _log(app, rid) if e["action"] == "view_refuse"]
    assert entry["username"] == "head" and entry["role"] == "approver" and "事由不充分" in entry["detail"]


def test_an_approver_cannot_approve_their_own_request(app, client, rid):
    with TestClient(app) as admin:
        login(admin, "admin")
        qid = request_access(admin, rid)
        page = admin.get("/approvals").text
        assert "本人申请" in page and f'action="/approvals/{qid}/decide"' not in page
        r = admin.post(
            f"/approvals/{qid}/decide",
            data={"csrf_token": csrf_of(admin, "/approvals"), "decision": "approve", "note": "同意"},
            follow_redirects=False,
        )
        assert r.status_code == 403 and "本人" in r.text
        assert _request(app, qid).state == "pending"
        assert not _viewable(admin, rid)
        assert decide_request(app, qid).status_code == 303  # another approver may
        assert _viewable(admin, rid)
    views = [e for e in _log(app, rid) if e["action"] == "view"]
    assert views and views[-1]["username"] == "admin" and views[-1]["role"] == "admin"
    assert "张科长" in views[-1]["purpose"] and f"#{qid}" in views[-1]["purpose"]


def test_an_admin_may_approve_another_users_request_and_is_logged_as_admin(app, client, rid):
    qid = request_access(client, rid)
    assert 'id="pending-count">1<' in decider(app, "admin").get("/approvals").text
    assert decide_request(app, qid, approver="admin").status_code == 303
    assert _request(app, qid).decided_by.username == "admin" and _viewable(client, rid)
    [entry] = [e for e in _log(app, rid) if e["action"] == "view_approve"]
    assert (entry["username"], entry["role"]) == ("admin", "admin") and "批准人：管理员甲" in entry["purpose"]


@pytest.mark.parametrize("who", ["rev", "trainee"])
def test_only_approvers_and_admins_decide(app, client, rid, who):
    qid = request_access(client, rid)
    with TestClient(app) as other:
        login(other, who)
        assert other.get("/approvals", follow_redirects=False).status_code == 403
        r = other.post(
            f"/approvals/{qid}/decide",
            data={"csrf_token": csrf_of(other, "/train"), "decision": "approve", "note": "同意"},
            follow_redirects=False,
        )
        assert r.status_code == 403
    assert _request(app, qid).state == "pending"
    assert not _viewable(client, rid)


def test_deciding_needs_the_csrf_token(app, client, rid):
    qid = request_access(client, rid)
    r = decider(app).post(f"/approvals/{qid}/decide", data={"decision": "approve"}, follow_redirects=False)
    assert r.status_code == 403 and _request(app, qid).state == "pending"


def test_an_admin_without_an_approved_request_is_refused_and_logged_as_admin(app, client, rid):
    with TestClient(app) as admin:
        login(admin, "admin")
        assert not _viewable(admin, rid)
        r = admin.post(f"/recordings/{rid}/export", data={"csrf_token": csrf_of(admin)})
        assert r.status_code == 403
    refused = [e for e in _log(app, rid) if e["action"] == "access_refused"]
    assert {e["role"] for e in refused} == {"admin"} and len(refused) == 3
    assert all("无查阅申请" in e["detail"] for e in refused)


def test_the_requester_can_withdraw(app, client, rid):
    qid = grant_access(client, rid)
    assert _viewable(client, rid)
    r = client.post(
        f"/recordings/{rid}/purpose/{qid}/withdraw",
        data={"csrf_token": csrf_of(client, f"/recordings/{rid}/purpose")},
        follow_redirects=False,
    )
    assert r.status_code == 303 and _request(app, qid).state == "withdrawn"
    assert not _viewable(client, rid)
    assert any(e["action"] == "view_withdraw" for e in _log(app, rid))


def test_requests_decisions_and_uses_are_logged_and_the_chain_verifies(app, client, rid):
    assert client.get(f"/recordings/{rid}/media/0").status_code == 403
    qid = grant_access(client, rid, purpose="证据调取")
    client.get(f"/recordings/{rid}")
    client.get(f"/recordings/{rid}/media/0")
    entries = _log(app, rid)
    by_action = {e["action"]: e for e in entries}
    assert {"access_refused", "view_request", "view_approve", "view", "play"} <= set(by_action)
    filed, approve = by_action["view_request"], by_action["view_approve"]
    assert filed["username"] == "rev" and filed["purpose"] == "证据调取"
    assert approve["username"] == "head" and f"#{qid}" in approve["detail"]
    assert "有效期至" in approve["detail"] and "意见：同意" in approve["detail"]
    for action in ("view_approve", "view", "play"):
        assert "证据调取" in by_action[action]["purpose"] and "批准人：张科长" in by_action[action]["purpose"]


def test_the_evidence_bundle_states_the_approved_request(app, client, rid):
    qid = grant_access(client, rid, purpose="证据调取")
    r = client.post(f"/recordings/{rid}/export", data={"csrf_token": csrf_of(client)})
    assert r.status_code == 200
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        note = z.read("提取说明.txt").decode("utf-8")
        review = json.loads(z.read("review.json"))
    req = _request(app, qid)
    assert "提取事由：证据调取" in note and f"查阅申请：#{qid}" in note
    assert "批准人：张科长（账号 head，审批人）" in note and "批准时间：" in note and "审批意见：同意" in note
    assert review["viewing_request"]["approver"] == "head" and review["viewing_request"]["id"] == qid
    assert review["viewing_request"]["decided_at"] == req.decided_at.isoformat() + "Z"


def test_metadata_export_has_rows_only_for_approved_recordings(app, client, rid):
    other = _imported(client)
    grant_access(client, other)
    text = client.get("/queue/metadata.csv").text
    ids = [row["编号"] for row in csv.DictReader(io.StringIO(text.lstrip("\ufeff")))]
    assert ids == [str(other)]
    [entry] = [e for e in _log(app) if e["action"] == "metadata_export"]
    assert f"含录像 {other}" in entry["detail"] and "未导出 1 条" in entry["detail"]


def test_a_second_pending_request_is_refused(app, client, rid):
    request_access(client, rid)
    r = client.post(
        f"/recordings/{rid}/purpose",
        data={"csrf_token": csrf_of(client, f"/recordings/{rid}/purpose"), "purpose": "案件审核"},
    )
    assert r.status_code == 409 and "待审批" in r.text


def test_a_bad_settings_file_stops_the_start_naming_the_file(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "approval.toml").write_text("[viewing]\nvalid_hours = 0\n", encoding="utf-8")
    with pytest.raises(approval.ApprovalError, match=r"approval\.toml: \[viewing\] valid_hours"):
        create_app(WebConfig(data_dir=data), analyze=fake_analysis, start_worker=False)


# ---------------------------------------------------------------- every content route


def _depends_on_approval(route: APIRoute) -> bool:
    stack = [route.dependant]
    while stack:
        d = stack.pop()
        if d.call in (approval.require_approval, approval.require_approval_page):
            return True
        stack.extend(d.dependencies)
    return False


def test_the_content_routes_are_found():
    paths = {path for _m, path in CONTENT_ROUTES}
    assert {"/recordings/{rid}", "/recordings/{rid}/media/{pos}", "/recordings/{rid}/export"} <= paths
    assert len(CONTENT_ROUTES) >= 10


@pytest.mark.parametrize(("method", "path"), CONTENT_ROUTES, ids=[f"{m} {p}" for m, p in CONTENT_ROUTES])
def test_every_content_route_needs_an_approved_request(app, client, rid, method, path):
    route = next(r for r in ROUTES if r.path == path and method in r.methods)
    assert _depends_on_approval(route), f"{method} {path} reveals a recording without the approval check"
    qid = request_access(client, rid)  # pending: not yet approved
    url = path.format(rid=rid, pos=0, name="a.wav", eid=1)
    with TestClient(app) as admin:  # admins too
        login(admin, "admin")
        token = csrf_of(admin)
        for who in (client, admin):
            r = who.request(method, url, data={"csrf_token": token if who is admin else csrf_of(client)},
                            follow_redirects=False)  # fmt: skip
            if (method, path) == ("GET", "/recordings/{rid}"):
                assert r.status_code == 303 and r.headers["location"].endswith("/purpose")
            else:
                assert r.status_code == 403 and "第十四条" in r.text, (who, r.status_code, r.text[:200])
    refused = [e for e in _log(app, rid) if e["action"] == "access_refused" and url in e["detail"]]
    assert [e["username"] for e in refused] == ["rev", "admin"]
    assert f"查阅申请 #{qid}待审批" in refused[0]["detail"]


def test_the_requester_sees_what_became_of_their_requests(app, client, rid):
    refused = request_access(client, rid)
    decide_request(app, refused, "refuse", note="请补充事由")
    approved = grant_access(client, rid)
    page = client.get("/requests").text
    assert f'data-request="{approved}" data-state="approved"' in page
    assert f'data-request="{refused}" data-state="refused"' in page and "请补充事由" in page
    assert f'href="/recordings/{rid}"' in page
    with TestClient(app) as trainee:
        login(trainee, "trainee")
        assert trainee.get("/requests", follow_redirects=False).status_code == 403


def test_the_queue_shows_the_reviewers_request_state(app, client, rid):
    def badge() -> str:
        row = re.search(rf'<tr data-id="{rid}".*?</tr>', client.get("/queue").text, flags=re.S)
        assert row
        text = row.group(0)
        return "approved" if "已批准查阅" in text else "pending" if "查阅待审批" in text else ""

    assert badge() == ""
    qid = request_access(client, rid)
    assert badge() == "pending"
    decide_request(app, qid)
    assert badge() == "approved"
