"""第十一条: capture and storage time at import (`stored_late` when more than 24 hours apart, a queue
filter), the required metadata prefilled from the analysis and marked extracted or entered, closing a
review only when it is complete, and the metadata in the evidence bundle and the CSV/XLSX. HTTP level;
the analysis is the report-shaped fake of test_web_support with an opening that names place and cause."""

from __future__ import annotations

import copy
import csv
import io
import json
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from test_web_support import add_users, csrf_of, fake_analysis, grant_access, login, upload, wait_done

from analyzer.web import audit_log
from analyzer.web.app import WebConfig, create_app

PLACE = "瀍河区中州东路88号鸿达商贸有限公司"
CAUSE = "对该公司财务收支情况进行审计检查"


def analysis_with_opening(paths, guide, progress):
    out = fake_analysis(paths, guide, progress)
    rec = copy.deepcopy(out.recording)
    opening = rec["phrases"][0]
    opening.update(status="present", score=90.0, slots={"time": "下午2点半", "place": PLACE, "cause": CAUSE})
    out.recording = rec
    return out


@pytest.fixture()
def app(tmp_path):
    data = tmp_path / "data"
    app = create_app(WebConfig(data_dir=data, import_roots=[data / "inbox"]), analyze=analysis_with_opening)
    add_users(app)
    return app


@pytest.fixture()
def client(app):
    with TestClient(app) as c:
        yield c


def beijing_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=8)


def imported(client, name: str) -> int:
    r = upload(client, name=name, data=b"RIFF" + name.encode() + b"\x00" * 100)
    rid = int(r.headers["location"].split("imported=")[1])
    assert wait_done(client, rid)["status"] == "done"
    return rid


def flags(client, rid: int) -> list[str]:
    return next(r for r in client.get("/api/queue").json() if r["id"] == rid)["flags"]


def test_stored_more_than_24_hours_after_recording_is_flagged_and_filterable(client):
    login(client, "rev")
    late = imported(client, "DEVICE01_20260315_143000.wav")
    fresh = imported(client, f"DEVICE02_{beijing_now() - timedelta(hours=1):%Y%m%d_%H%M%S}.wav")
    unknown = imported(client, "renamed.wav")  # no time in the name, no container time
    assert "stored_late" in flags(client, late)
    assert "stored_late" not in flags(client, fresh) and "stored_late" not in flags(client, unknown)
    page = client.get("/queue?flag=stored_late").text
    assert f'href="/recordings/{late}"' in page and f'href="/recordings/{fresh}"' not in page
    grant_access(client, late)
    rec_page = client.get(f"/recordings/{late}").text
    assert "录制后超过 24 小时才存储" in rec_page and "2026-03-15 14:30:00（取自文件名）" in rec_page


def test_metadata_is_prefilled_and_marked_extracted_or_entered(app, client):
    login(client, "rev")
    rid = imported(client, "DEVICE01_20260315_143000.wav")
    grant_access(client, rid)
    page = client.get(f"/recordings/{rid}").text
    assert f'value="{PLACE}"' in page and "自动提取（开场白所说地点）" in page
    assert f'value="{CAUSE}"' in page and "自动提取（开场白所说事由）" in page
    assert 'value="2026-03-15 14:30:00"' in page and "自动提取（文件名）" in page
    r = client.post(
        f"/recordings/{rid}/metadata",
        data={
            "csrf_token": csrf_of(client, f"/recordings/{rid}"),
            "party": "鸿达商贸有限公司",
            "place": PLACE,
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(f"/recordings/{rid}").text
    assert 'value="鸿达商贸有限公司"' in page and "人工填写（rev）" in page
    assert "自动提取（开场白所说地点）" in page  # the place was sent unchanged: still extracted
    with app.state.sessions() as db:
        [e] = [e for e in audit_log.entries_as_dicts(db, rid) if e["action"] == "metadata"]
    assert "当事人姓名或单位名称" in e["detail"] and "录制地点" not in e["detail"]


def test_a_review_closes_only_with_every_required_value(app, client):
    login(client, "rev")
    rid = imported(client, "DEVICE01_20260315_143000.wav")
    grant_access(client, rid)
    client.get(f"/recordings/{rid}")
    token = csrf_of(client, f"/recordings/{rid}")
    r = client.post(f"/recordings/{rid}/close", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 400 and "当事人姓名或单位名称" in r.text and "录制人" in r.text
    fill = {"party": "鸿达商贸有限公司", "recorder": "张明", "badge_no": "豫A12345"}
    client.post(f"/recordings/{rid}/metadata", data={"csrf_token": token, **fill})
    r = client.post(f"/recordings/{rid}/close", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    assert "审阅已完成（rev" in client.get(f"/recordings/{rid}").text
    r = client.post(
        f"/recordings/{rid}/metadata", data={"csrf_token": token, "party": "x"}, follow_redirects=False
    )
    assert r.status_code == 409
    with app.state.sessions() as db:
        assert "close_review" in {e["action"] for e in audit_log.entries_as_dicts(db, rid)}


def test_metadata_in_the_evidence_bundle_and_the_csv_xlsx(client):
    from openpyxl import load_workbook

    login(client, "rev")
    rid = imported(client, "DEVICE01_20260315_143000.wav")
    grant_access(client, rid)
    token = csrf_of(client, f"/recordings/{rid}")
    client.post(f"/recordings/{rid}/metadata", data={"csrf_token": token, "party": "鸿达商贸有限公司"})
    r = client.post(f"/recordings/{rid}/export", data={"csrf_token": token})
    zf = zipfile.ZipFile(io.BytesIO(r.content))
    meta = json.loads(zf.read("音像资料信息.json"))
    assert meta["fields"]["place"] == {
        "title": "录制地点", "value": PLACE, "source": "extracted", "source_detail": "开场白所说地点"
    }  # fmt: skip
    assert meta["fields"]["party"]["source"] == "entered" and meta["stored_late"] is True
    assert "录制地点：" + PLACE in zf.read("提取说明.txt").decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(client.get("/queue/metadata.csv").text.lstrip("\ufeff"))))
    [row] = [x for x in rows if x["编号"] == str(rid)]
    assert row["录制地点"] == PLACE and row["录制地点来源"] == "自动提取" and row["超过24小时存储"] == "是"
    assert row["当事人姓名或单位名称来源"] == "人工填写"
    ws = load_workbook(io.BytesIO(client.get("/queue/metadata.xlsx").content)).active
    header = [c.value for c in ws[1]]
    values = {header[i]: c.value for i, c in enumerate(ws[2])}
    assert values["录制地点"] == PLACE and values["记录日期（时间）"] == "2026-03-15 14:30:00"
