"""Device registry, dashboard aggregates, queue filters behind each number, roles, trainer view and the
monthly report, on the seeded database of dashboard_seed.py. Expected figures are computed by hand:

March 2026, all units (R8 failed: not counted): R1 90 (60 + 30 restored by the override), R2 80,
R3 40, R4 100, R5 70 -> 5 recordings, mean 76.0; opening missing (open) R3 only -> 1 (20.0 %);
unexplained gap R2 -> 1; unreviewed R2 and R5 -> 2.
Required phrases: opening R1 present (overridden), R2 present, R3 absent, R4 present, R5 partial ->
3/1/1 = 60/20/20 %; rights R1 partial, R2 absent, R3 absent, R4 present, R5 present -> 40/20/40 %.
"""

from __future__ import annotations

import argparse
import io
import re
import time
from datetime import date

import pytest
from dashboard_seed import seed, seed_training
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from test_web_support import PASSWORD, _password_hash, csrf_of, grant_access, login, make_app

from analyzer.web import registry
from analyzer.web.dashboard import Scope, queue_ids, summarize, trainer_view
from analyzer.web.db import AccessLogEntry, User

MARCH = Scope(date(2026, 3, 1), date(2026, 3, 31))


@pytest.fixture
def seeded(tmp_path):
    app = make_app(tmp_path, start_worker=False)
    ids = seed(app, tmp_path)
    with app.state.sessions() as db:
        db.add(User(username="zhang", password_hash=_password_hash(), role="officer", display_name="张三"))
        db.add(User(username="boss", password_hash=_password_hash(), role="approver", display_name="科长"))
        db.commit()
        zhang = db.query(User).filter_by(username="zhang").one()
        officer = db.query(registry.Officer).filter_by(badge_no="1001").one()
        officer.user_id = zhang.id
        db.commit()
    return app, ids


def _officer_id(app, badge: str) -> int:
    with app.state.sessions() as db:
        return db.query(registry.Officer).filter_by(badge_no=badge).one().id


# ---------------------------------------------------------------- device ids and the registry


@pytest.mark.parametrize(
    ("name", "device"),
    [
        ("DEVICE01_20260315_143000.wav", "DEVICE01"),
        ("20261130_090000_DEV01.mp4", "DEV01"),
        ("DSJ0012_20240105_093000_0001.MP4", "DSJ0012"),
        ("zf-A17 2026-03-15 14-30-00.mov", "ZF_A17"),
        ("VID_20260315_143000.mp4", None),
        ("现场检查.wav", None),
        ("20260315_143000.wav", None),
    ],
)
def test_device_id_from_file_name(name, device):
    assert registry.device_id_from_name(name) == device


def test_device_id_from_container_tags():
    assert registry.device_id_from_tags({"encoder": "x", "video:device_id": "DSJ-9"}) == "DSJ-9"
    assert registry.device_id_from_tags({"serial_number": " a12 "}) == "A12"
    assert registry.device_id_from_tags({"encoder": "Lavf"}) is None


def test_registry_csv_import_links_recordings_and_rejects_bad_rows(seeded):
    app, ids = seeded
    with app.state.sessions() as db:
        bad = "device_id,officer,badge_no,unit\nDEV09,赵六,3001,三中队\n,钱七,3002,三中队\n"
        with pytest.raises(registry.RegistryError, match="第 3 行"):
            registry.import_csv(db, bad, "reg.csv")
        db.rollback()
        assert db.get(registry.Device, "DEV09") is None  # all rows or none
        # DEV02 moves to a new officer: R3 and R7 (linked through the registry) follow
        n = registry.import_csv(db, "\ufeff设备编号,警员,执法证号,单位\nDEV02,钱七,3002,三中队\n", "reg.csv")
        assert n == 1
        who = registry.who_recorded(db, [ids["R3"], ids["R7"], ids["R1"]])
        assert who[ids["R3"]].officer.name == "钱七" and who[ids["R3"]].unit == "三中队"
        assert who[ids["R7"]].officer.badge_no == "3002"
        assert who[ids["R1"]].officer.name == "张三"


def test_an_import_becomes_visible_with_its_recorder_in_one_transaction(tmp_path, monkeypatch):
    """The analysis worker indexes a recording as soon as it can see it (and adds its recorder row
    then): seen before the import's recorder row was written, both inserted that row, and the upload
    failed on the duplicate. Nothing of an import may be visible to another session until all of it is."""
    from analyzer.web.db import Recording

    app = make_app(tmp_path, start_worker=False)
    seen: list[object] = []
    attach = registry.attach

    def attach_while_looking(db, rec, entered=None):
        with app.state.sessions() as other:
            seen.append(other.get(Recording, rec.id))
        return attach(db, rec, entered)

    monkeypatch.setattr(registry, "attach", attach_while_looking)
    with TestClient(app) as client:
        login(client, "rev")
        r = client.post(
            "/import/upload",
            data={"csrf_token": csrf_of(client)},
            files=[("files", (n, b"RIFF0000WAVE", "audio/wav")) for n in ("a.wav", "b.wav")],
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
    assert len(seen) == 2 and seen == [None, None]
    with app.state.sessions() as db:
        ids = [rid for (rid,) in db.query(Recording.id)]
        assert len(ids) == 2 and set(registry.who_recorded(db, ids)) == set(ids)  # committed together


def test_upload_takes_officer_from_registry_or_from_entered_metadata(tmp_path):
    app = make_app(tmp_path, start_worker=False)
    with app.state.sessions() as db:
        registry.set_device(db, "DEV01", "张三", "1001", "一中队")
    with TestClient(app) as client:
        login(client, "rev")
        token = csrf_of(client)
        r = client.post(
            "/import/upload",
            data={"csrf_token": token},
            files={"files": ("DEV01_20260305_090000.wav", b"RIFF0000WAVE", "audio/wav")},
            follow_redirects=False,
        )
        first = int(r.headers["location"].split("=")[1])
        r = client.post(
            "/import/upload",
            data={"csrf_token": token, "officer_name": "孙八", "badge_no": "4001", "unit": "四中队"},
            files={"files": ("clip.wav", b"RIFF0000WAVE", "audio/wav")},
            follow_redirects=False,
        )
        second = int(r.headers["location"].split("=")[1])
        with app.state.sessions() as db:
            who = registry.who_recorded(db, [first, second])
        assert who[first].officer.name == "张三" and who[first].device_id == "DEV01"
        assert who[first].recorded_at.isoformat() == "2026-03-05T09:00:00"
        assert who[second].officer.name == "孙八" and who[second].unit == "四中队"
        assert who[second].source == "entered"
        page = client.get("/queue").text
        assert "张三（1001）" in page and "孙八（4001）" in page and "四中队" in page
        only = client.get("/queue", params={"unit": "四中队"}).text
        assert "clip.wav" in only and "DEV01_20260305_090000.wav" not in only


def test_admin_registry_page_edits_and_logs(seeded):
    app, _ids = seeded
    with TestClient(app) as client:
        login(client, "admin")
        token = csrf_of(client, "/admin/registry")
        r = client.post(
            "/admin/registry/devices",
            data={
                "csrf_token": token,
                "device_id": "DEV07",
                "name": "周九",
                "badge_no": "5001",
                "unit": "五中队",
            },
            follow_redirects=False,
        )
        assert r.status_code == 303
        page = client.get("/admin/registry").text
        assert "DEV07" in page and "周九" in page
        r = client.post(
            "/admin/registry/import",
            data={"csrf_token": token},
            files={"file": ("reg.csv", "device_id,unit\nDEV08,六中队\n".encode(), "text/csv")},
        )
        assert r.status_code == 400 and "表头" in r.text
        with app.state.sessions() as db:
            assert db.query(AccessLogEntry).filter_by(action="registry_admin").count() == 1
    with TestClient(app) as client:
        login(client, "rev")
        assert client.get("/admin/registry").status_code == 403


# ---------------------------------------------------------------- aggregates (hand-computed)


def test_march_figures_all_units(seeded):
    app, _ids = seeded
    with app.state.sessions() as db:
        s = summarize(db, MARCH)
    assert (s.recordings, s.mean_score, s.opening_missing, s.unexplained_gaps) == (5, 76.0, 1, 1)
    assert (s.unreviewed, s.decided) == (2, 2)
    assert (s.opening_missing_pct, s.unexplained_gaps_pct) == (20.0, 20.0)
    phrases = {p["id"]: p for p in s.phrases}
    assert (phrases["opening"]["present"], phrases["opening"]["partial"], phrases["opening"]["absent"]) == (
        3,
        1,
        1,
    )
    assert (phrases["opening"]["present_pct"], phrases["opening"]["absent_pct"]) == (60.0, 20.0)
    assert (phrases["rights_notice"]["present_pct"], phrases["rights_notice"]["partial_pct"]) == (40.0, 20.0)
    assert phrases["rights_notice"]["absent_pct"] == 40.0
    assert [p["id"] for p in s.phrases] == ["rights_notice", "opening"]  # most missed first
    officers = {o["name"]: o for o in s.officers}
    assert set(officers) == {"张三", "李四", "王五", "（未登记）"}
    zs = officers["张三"]
    assert (zs["recordings"], zs["mean_score"], zs["opening_missing"], zs["unexplained_gaps"]) == (
        2,
        85.0,
        0,
        1,
    )
    assert zs["unreviewed"] == 1 and zs["trend"][-2:] == [50.0, 85.0] and zs["change"] == 35.0
    assert officers["李四"]["trend"][-2:] == [70.0, 40.0] and officers["李四"]["change"] == -30.0
    assert officers["王五"]["mean_score"] == 100.0 and officers["王五"]["change"] is None
    assert officers["（未登记）"]["mean_score"] == 70.0
    assert [o["name"] for o in s.officers] == ["李四", "（未登记）", "张三", "王五"]  # lowest score first
    assert [(f["code"], f["count"]) for f in s.findings] == [
        ("rights_notice_missing", 2),
        ("interruption_unexplained", 1),
        ("opening_incomplete", 1),
        ("opening_missing", 1),
    ]
    trend = {t["month"]: t for t in s.trend}
    assert [t["month"] for t in s.trend] == ["2025-10", "2025-11", "2025-12", "2026-01", "2026-02", "2026-03"]
    assert (trend["2026-02"]["mean_score"], trend["2026-02"]["recordings"]) == (60.0, 2)
    assert (trend["2026-03"]["mean_score"], trend["2026-03"]["recordings"]) == (76.0, 5)
    assert trend["2026-02"]["opening_missing_pct"] == 50.0  # R6 of R6, R7
    zid = str(_officer_id(app, "1001"))
    assert s.heat[(zid, "opening")] == {"said": 2, "total": 2, "pct": 100.0}
    assert s.heat[(zid, "rights_notice")] == {"said": 0, "total": 2, "pct": 0.0}


def test_march_figures_one_unit(seeded):
    app, _ids = seeded
    with app.state.sessions() as db:
        s = summarize(db, Scope(date(2026, 3, 1), date(2026, 3, 31), unit="一中队"))
    assert (s.recordings, s.mean_score, s.opening_missing, s.unexplained_gaps, s.unreviewed) == (
        3,
        70.0,
        1,
        1,
        1,
    )
    assert s.opening_missing_pct == 33.3
    assert {o["name"] for o in s.officers} == {"张三", "李四"}


def test_a_decision_moves_the_figures(seeded):
    """Overriding R3's opening_missing: it no longer counts as missing and its phrase counts as said."""
    app, ids = seeded
    with TestClient(app) as client:
        login(client, "rev")
        rid = ids["R3"]
        token = csrf_of(client, "/queue")
        grant_access(client, rid, purpose="执法监督检查")
        r = client.post(
            f"/recordings/{rid}/decisions",
            data={"csrf_token": token, "finding_key": "opening_missing@-#1", "action": "override"},
            follow_redirects=False,
        )
        assert r.status_code == 303
        page = client.get(f"/recordings/{rid}").text
        assert re.search(r'id="rec-officer">李四（1002） · 一中队 <span class="hint">设备 DEV02</span>', page)
    with app.state.sessions() as db:
        s = summarize(db, MARCH)
    assert s.opening_missing == 0
    assert {p["id"]: p["present"] for p in s.phrases}["opening"] == 4
    assert s.mean_score == 82.0  # R3 40 -> 70: (90 + 80 + 70 + 100 + 70) / 5


def test_queue_filters_match_the_figures(seeded):
    app, ids = seeded
    zid = _officer_id(app, "1001")
    with app.state.sessions() as db:
        assert queue_ids(db, MARCH) == {ids[n] for n in ("R1", "R2", "R3", "R4", "R5")}
        assert queue_ids(db, Scope(MARCH.date_from, MARCH.date_to, flag=("opening_missing",))) == {ids["R3"]}
        rights_absent = Scope(MARCH.date_from, MARCH.date_to, phrase="rights_notice", phrase_status="absent")
        assert queue_ids(db, rights_absent) == {ids["R2"], ids["R3"]}
        assert queue_ids(db, Scope(MARCH.date_from, MARCH.date_to, review="open")) == {ids["R2"], ids["R5"]}
        assert queue_ids(db, Scope(officer_id=zid)) == {ids["R1"], ids["R2"], ids["R6"]}
        assert queue_ids(db, Scope(MARCH.date_from, MARCH.date_to, officer_id=0)) == {ids["R5"]}
    with TestClient(app) as client:
        login(client, "rev")
        page = client.get("/dashboard", params={"period": "2026-03"}).text
        href = re.search(r'<a class="num" href="([^"]+)" id="kpi-opening">20.0%</a>', page).group(1)
        queue = client.get(href.replace("&amp;", "&")).text
        titles = re.findall(r'class="open" href="/recordings/\d+">(R\d)</a>', queue)
        assert titles == ["R3"]
        row = re.search(
            r'data-code="rights_notice_missing"><td>[^<]*</td><td><a class="num" href="([^"]+)">2</a>', page
        )
        queue = client.get(row.group(1).replace("&amp;", "&")).text
        assert sorted(re.findall(r'class="open" href="/recordings/\d+">(R\d)</a>', queue)) == ["R2", "R3"]


# ---------------------------------------------------------------- pages and roles


def test_dashboard_page_shows_figures_and_charts(seeded):
    app, _ids = seeded
    with TestClient(app) as client:
        login(client, "rev")
        page = client.get("/dashboard", params={"period": "2026-03"})
        assert page.status_code == 200
        text = page.text
        assert re.search(r'id="kpi-recordings">5<', text) and re.search(r'id="kpi-mean">76.0<', text)
        assert re.search(r'id="kpi-unreviewed">2<', text)
        assert text.count("<svg") >= 3 and "月度平均得分" in text and "警员 × 用语" in text
        assert "2026 年 3 月 · 全部单位" in text
        assert "<script>" not in text and " style=" not in text  # CSP: no inline script or style
        default = client.get("/dashboard").text  # latest month with data
        assert "2026 年 3 月" in default
        unit = client.get("/dashboard", params={"period": "2026-03", "unit": "二中队"}).text
        start = unit.index('id="officer-table"')
        table = unit[start : unit.index("</table>", start)]
        assert re.search(r'id="kpi-recordings">1<', unit) and "王五" in table and "张三" not in table


def test_roles_officer_sees_only_own_and_trainee_none(seeded):
    app, ids = seeded
    with TestClient(app) as client:
        assert login(client, "zhang").headers["location"] == "/dashboard"
        # asking for another officer or unit does not widen the view
        lid = _officer_id(app, "1002")
        page = client.get("/dashboard", params={"period": "2026-03", "officer": lid}).text
        assert re.search(r'id="kpi-recordings">2<', page) and "李四" not in page and "王五" not in page
        queue = client.get("/queue").text
        assert set(re.findall(r"<td>(R\d)</td>", queue)) == {"R1", "R2", "R6"}
        assert client.get(f"/recordings/{ids['R1']}").status_code == 403
        assert client.get("/dashboard/training").status_code == 403
        assert client.get("/import").status_code == 403
    with TestClient(app) as client:
        login(client, "boss")
        page = client.get("/dashboard", params={"period": "2026-03"}).text
        assert re.search(r'id="kpi-recordings">5<', page)
        assert client.get("/dashboard/training").status_code == 200
    with TestClient(app) as client:
        login(client, "trainee")
        assert client.get("/dashboard").status_code == 403


def test_officer_without_a_linked_officer_sees_nothing(seeded):
    app, _ids = seeded
    with app.state.sessions() as db:
        db.add(User(username="nolink", password_hash=_password_hash(), role="officer"))
        db.commit()
    with TestClient(app) as client:
        login(client, "nolink", PASSWORD)
        page = client.get("/dashboard", params={"period": "2026-03"}).text
        assert re.search(r'id="kpi-recordings">0<', page)
        assert "<td>R" not in client.get("/queue").text


# ---------------------------------------------------------------- trainer view


def test_trainer_view_hand_computed(tmp_path):
    path = tmp_path / "attempts.sqlite"
    seed_training(path)
    view = trainer_view(path, [("opening", "开始记录"), ("rights_notice", "告知权利")], 85.0, 70.0)
    rows = {t.trainee: t for t in view.trainees}
    assert rows["甲"].ready and rows["甲"].phrases["opening"]["history"] == [
        ("2026-02", 60.0),
        ("2026-03", 90.0),
    ]
    assert rows["甲"].phrases["opening"]["attempts"] == 2 and rows["甲"].phrases["opening"]["best"] == 90.0
    assert not rows["乙"].ready and rows["乙"].weak == ["rights_notice"]
    assert not rows["丙"].ready and rows["丙"].weak == [] and rows["丙"].unpractised == ["rights_notice"]
    assert [(p["id"], p["failing"], p["failing_pct"]) for p in view.phrases] == [
        ("rights_notice", 1, 50.0),
        ("opening", 1, 33.3),
    ]
    assert view.phrases[0]["failing_names"] == ["乙"]
    assert view.trend == [("2026-02", 60.0), ("2026-03", 80.6)]  # (90 + 88 + 95 + 50 + 80) / 5


def test_trainer_page(seeded, tmp_path):
    app, _ids = seeded
    seed_training(tmp_path / "training" / "attempts.sqlite")
    with TestClient(app) as client:
        login(client, "rev")
        page = client.get("/dashboard/training")
        assert page.status_code == 200
        assert 'data-trainee="乙"' in page.text and "需要练习" in page.text
        assert (
            "<svg" in page.text and "学员 × 用语" in page.text and 'id="chart-class-trend"><svg' in page.text
        )


# ---------------------------------------------------------------- monthly report


def test_monthly_report_cli_writes_workbook_and_html_and_logs_os_user(seeded, tmp_path, monkeypatch):
    app, _ids = seeded
    from analyzer.commands import report

    monkeypatch.setattr("getpass.getuser", lambda: "chief")
    parser = argparse.ArgumentParser()
    report.add_arguments(parser)
    out = tmp_path / "out"
    args = parser.parse_args(
        ["monthly", "--period", "2026-03", "--unit", "一中队", "-o", str(out), "--data-dir", str(tmp_path)]
    )
    assert report.run(args) == 0
    xlsx = out / "scriptcheck-monthly-2026-03-一中队.xlsx"
    html = (out / "scriptcheck-monthly-2026-03-一中队.html").read_text(encoding="utf-8")
    wb = load_workbook(xlsx)
    assert wb.sheetnames[:6] == ["概览", "用语完成率", "警员", "警员×用语", "常见问题", "月度趋势"]
    overview = {r[0]: r[1] for r in wb["概览"].iter_rows(values_only=True) if r and r[0]}
    assert overview["已分析录像"] == 3 and overview["平均得分（审阅后）"] == 70.0
    assert overview["其中尚未审阅（按分析结果计）"] == 1 and overview["生成人"] == "os:chief"
    officers = {r[0]: r for r in wb["警员"].iter_rows(min_row=2, values_only=True)}
    assert officers["张三"][3:5] == (2, 85.0) and officers["李四"][3:5] == (1, 40.0)
    assert "2026 年 3 月 · 一中队" in html and html.count("<svg") >= 3 and "os:chief" in html
    assert 'href="/queue' not in html  # the file leaves the app: no links into it
    with app.state.sessions() as db:
        entry = db.query(AccessLogEntry).filter_by(action="report").one()
        assert (entry.username, entry.role) == ("os:chief", "cli")
    bad = parser.parse_args(["monthly", "--period", "2026-3", "-o", str(out), "--data-dir", str(tmp_path)])
    assert report.run(bad) == 2


def test_monthly_report_button_downloads_and_logs_user(seeded):
    app, _ids = seeded
    with TestClient(app) as client:
        login(client, "boss")
        page = client.get("/dashboard", params={"period": "2026-03"}).text
        href = re.search(r'href="(/dashboard/report.xlsx\?[^"]+)"', page).group(1).replace("&amp;", "&")
        r = client.get(href)
        assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
        wb = load_workbook(io.BytesIO(r.content))
        overview = {row[0]: row[1] for row in wb["概览"].iter_rows(values_only=True) if row and row[0]}
        assert overview["已分析录像"] == 5 and overview["生成人"] == "boss"
        assert "训练" in wb.sheetnames
        html = client.get("/dashboard/report.html", params={"period": "2026-03"})
        assert html.status_code == 200 and "<svg" in html.text
    with app.state.sessions() as db:
        users = [e.username for e in db.query(AccessLogEntry).filter_by(action="report")]
    assert users == ["boss", "boss"]


def test_backfill_indexes_recordings_analysed_before(seeded, tmp_path):
    """A database from before the dashboard (no who/when rows, no index rows): a restart rebuilds them."""
    app, _ids = seeded
    from analyzer.web.dashboard import FindingResult, PhraseResult

    with app.state.sessions() as db:
        db.query(PhraseResult).delete()
        db.query(FindingResult).delete()
        db.query(registry.RecordingMeta).delete()
        db.commit()
        assert summarize(db, MARCH).recordings == 0
    app2 = make_app_again(tmp_path)
    with app2.state.sessions() as db:
        s = summarize(db, MARCH)
        who = registry.who_recorded(db, [_ids["R3"], _ids["R8"]])
    assert (s.recordings, s.mean_score, s.opening_missing, s.unreviewed, len(s.phrases)) == (5, 76.0, 1, 2, 2)
    assert who[_ids["R3"]].officer.name == "李四" and who[_ids["R8"]].officer is None


def make_app_again(data_dir):
    from test_web_support import fake_analysis

    from analyzer.web.app import WebConfig, create_app

    return create_app(WebConfig(data_dir=data_dir), analyze=fake_analysis, start_worker=False)


def test_worker_indexes_each_analysed_recording(tmp_path):
    """The analysis worker fills the per-phrase and per-finding rows (fake_analysis: opening missing,
    rights notice partial, a gap) and the registry's officer, so a new recording counts at once."""
    app = make_app(tmp_path)
    with app.state.sessions() as db:
        registry.set_device(db, "DEV01", "张三", "1001", "一中队")
    with TestClient(app) as client:
        login(client, "rev")
        client.post(
            "/import/upload",
            data={"csrf_token": csrf_of(client)},
            files={"files": ("DEV01_20260305_090000.wav", b"RIFF0000WAVE", "audio/wav")},
        )
        deadline = time.monotonic() + 30
        while client.get("/api/queue").json()[0]["status"] != "done" and time.monotonic() < deadline:
            time.sleep(0.1)
    with app.state.sessions() as db:
        s = summarize(db, MARCH)
    assert (s.recordings, s.mean_score, s.opening_missing, s.unreviewed) == (1, 62.5, 1, 1)
    assert {p["id"]: (p["present"], p["partial"], p["absent"]) for p in s.phrases} == {
        "opening": (0, 0, 1),
        "rights_notice": (0, 1, 0),
    }
    assert [o["name"] for o in s.officers] == ["张三"]
    assert [(f["code"], f["count"]) for f in s.findings] == [("gap", 1), ("opening_missing", 1)]


def test_charts_escape_labels_and_draw_what_they_are_given():
    from xml.etree import ElementTree

    from analyzer.web import charts

    bars = charts.stacked_bars(
        [charts.Bar('<script>"x"</script>', 50.0, 25.0, 25.0, 4, ("/queue?a=1&b=2", None, None))], "t"
    )
    assert "<script>" not in bars and "&lt;script&gt;&quot;x&quot;" in bars and "a=1&amp;b=2" in bars
    svg = ElementTree.fromstring(bars)  # well-formed XML
    ns = "{http://www.w3.org/2000/svg}"
    widths = [float(r.get("width")) for r in svg.iter(f"{ns}rect") if r.get("height") == "18"]
    assert len(widths) == 3 and widths[0] == pytest.approx(2 * widths[1])  # 50 % vs 25 %
    line = ElementTree.fromstring(
        charts.line_chart([("2026-01", 80.0), ("2026-02", None), ("2026-03", 90.0)], "t")
    )
    assert len(list(line.iter(f"{ns}circle"))) == 2 and not list(line.iter(f"{ns}polyline"))  # a gap: no line
    heat = ElementTree.fromstring(
        charts.heatmap(["甲"], ["开始记录", "告知权利"], {(0, 0): (100.0, None, "")}, "t")
    )
    cells = [r.get("fill") for r in heat.iter(f"{ns}rect")][:2]
    assert cells == [charts.score_color(100.0), charts.score_color(None)]
    assert charts.score_color(0.0) == "#c82333" and charts.score_color(100.0) == "#1e7e34"


def test_held_findings_are_named_in_chinese_on_the_dashboard():
    """A phrase held for a reviewer (any phrase of any guide) is counted under a Chinese name."""
    from analyzer.web.dashboard import finding_title

    assert finding_title("recording_notice_needs_listening") == "录音录像告知待人工听取"
    assert finding_title("sign_request_needs_listening") == "未检出用语，待人工听取"
    assert finding_title("return_documents_profile_unsure") == "执法类型待确认"
    assert finding_title("gap") == "存在空白/中断"
    assert finding_title("made_up_code") == "made_up_code"
