"""Speakers in the web app: lanes and the transcript's speaker column on the recording page, and a
reviewer's correction of a voice's role (permissions, CSRF, the access log, findings re-evaluated by
the pipeline, the original analysis kept, the evidence bundle).

The analysis here is the pipeline's own result object built from a hand-made transcript (no Whisper);
tests/test_web_speakers_e2e.py runs the same flow on synthesized multi-speaker speech."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from fastapi.testclient import TestClient
from test_speakers_review import stored_result
from test_web_security import _grant, _imported, _upload, _wait_done
from test_web_support import PASSWORD, add_users, csrf_of, fake_analysis, login

from analyzer import report
from analyzer.guide import load_guide
from analyzer.web import audit_log
from analyzer.web.app import WebConfig, create_app
from analyzer.web.db import User
from analyzer.web.jobs import AnalysisOutput


def stored_analysis(paths: list[str], guide: str | None, progress) -> AnalysisOutput:
    g = load_guide()
    result = stored_result(g, paths[0])
    return AnalysisOutput(report.recording_to_dict(result), report.guide_to_dict(g), result=result)


@pytest.fixture()
def app(tmp_path):
    app = create_app(
        WebConfig(data_dir=tmp_path / "data", import_roots=[tmp_path / "data" / "inbox"]),
        analyze=stored_analysis,
    )
    add_users(app)
    from analyzer.web.auth import hash_password

    with app.state.sessions() as db:
        db.add(User(username="appr", password_hash=hash_password(PASSWORD), role="approver"))
        db.commit()
    return app


@pytest.fixture()
def client(app):
    with TestClient(app) as c:
        yield c


def _correct(
    client, rid: int, speaker_id: str = "S2", role: str = "wearer", comment: str = "S2 是佩戴者本人"
):
    return client.post(
        f"/recordings/{rid}/speakers",
        data={
            "csrf_token": csrf_of(client, f"/recordings/{rid}"),
            "speaker_id": speaker_id,
            "role": role,
            "comment": comment,
        },
        follow_redirects=False,
    )


def _queue_row(client, rid: int) -> dict:
    return next(r for r in client.get("/api/queue").json() if r["id"] == rid)


def test_the_page_shows_speaker_lanes_and_a_speaker_column(client):
    login(client, "rev")
    rid = _imported(client)
    _grant(client, rid)
    page = client.get(f"/recordings/{rid}").text
    assert 'id="speaker-lanes"' in page
    assert 'class="lane-row" data-speaker="S1" data-role="wearer"' in page
    assert 'class="lane-row" data-speaker="S2" data-role="other"' in page
    assert page.count('class="turn tl role-other"') == 2  # S2's two turns, placed by data-left
    # transcript: each line with its speaker, id and confidence
    transcript = page[page.index('id="transcript"') :]
    assert '其他人员 <span class="mono">S2</span>' in transcript
    assert '执法人员（佩戴者） <span class="mono">S1</span>' in transcript
    assert "90%" in transcript  # share of the segment (1.0) x the wearer decision's confidence (0.9)
    # the opening read by S2 is shown as theirs and not counted
    assert "其他人员（S2）" in page and "不计入" in page
    assert 'data-code="opening_missing"' in page


def test_a_reviewer_correction_re_evaluates_the_findings_and_is_logged(app, client):
    login(client, "rev")
    rid = _imported(client)
    _grant(client, rid)
    before = _queue_row(client, rid)
    assert "opening_missing" in before["flags"]
    r = _correct(client, rid)
    assert r.status_code == 303 and r.headers["location"].endswith("#speakers")
    after = _queue_row(client, rid)
    assert "opening_missing" not in after["flags"] and after["score"] > before["score"]
    page = client.get(f"/recordings/{rid}").text
    assert 'data-code="opening_missing"' not in page
    assert 'class="lane-row" data-speaker="S2" data-role="wearer"' in page
    assert "审阅人已更正（分析结果：其他人员）" in page
    history = page[page.index('id="speaker-history"') :]
    assert (
        "审阅人乙" in history and "S2 是佩戴者本人" in history and "其他人员 → 执法人员（佩戴者）" in history
    )
    with app.state.sessions() as db:
        entries = [e for e in audit_log.entries_as_dicts(db, rid) if e["action"] == "speaker_override"]
    assert len(entries) == 1
    assert entries[0]["username"] == "rev" and entries[0]["target"] == "S2"
    assert (
        "其他人员 → 执法人员（佩戴者）" in entries[0]["detail"] and "S2 是佩戴者本人" in entries[0]["detail"]
    )
    assert entries[0]["purpose"].startswith("案件审核")


def test_the_original_analysis_stays_as_it_was(app, client):
    login(client, "rev")
    rid = _imported(client)
    _grant(client, rid)
    folder = next((app.state.data_dir / "results").iterdir())
    original = (folder / "report.json").read_bytes()
    assert _correct(client, rid).status_code == 303
    assert (folder / "report.json").read_bytes() == original
    codes = {f["code"] for f in json.loads(original)["recordings"][0]["findings"]}
    reviewed = json.loads((folder / "report-reviewed.json").read_text())["recordings"][0]
    assert "opening_missing" in codes and "opening_missing" not in {f["code"] for f in reviewed["findings"]}
    assert reviewed["speakers"]["overrides"] == {"S2": "wearer"}
    assert "opening_missing" in client.get(f"/recordings/{rid}/report.html?original=1").text
    assert "opening_missing" not in client.get(f"/recordings/{rid}/report.html").text


def test_corrections_accumulate_and_a_later_one_can_undo_an_earlier(client):
    login(client, "rev")
    rid = _imported(client)
    _grant(client, rid)
    assert _correct(client, rid, "S2", "officer", "S2 是同行的执法人员").status_code == 303
    assert "opening_missing" not in _queue_row(client, rid)["flags"]
    assert _correct(client, rid, "S1", "wearer", "确认佩戴者").status_code == 303
    page = client.get(f"/recordings/{rid}").text
    assert 'data-speaker="S2" data-role="officer"' in page  # the first correction still holds
    assert _correct(client, rid, "S2", "other", "复听后确为当事人").status_code == 303
    assert "opening_missing" in _queue_row(client, rid)["flags"]


def test_the_evidence_bundle_carries_the_correction_and_the_original(client):
    login(client, "rev")
    rid = _imported(client)
    _grant(client, rid)
    assert _correct(client, rid).status_code == 303
    r = client.post(f"/recordings/{rid}/export", data={"csrf_token": csrf_of(client, f"/recordings/{rid}")})
    assert r.status_code == 200
    z = zipfile.ZipFile(io.BytesIO(r.content))
    bundle = json.loads(z.read("report.json"))["recordings"][0]
    first = json.loads(z.read("report-original.json"))["recordings"][0]
    assert "opening_missing" not in {f["code"] for f in bundle["findings"]}
    assert "opening_missing" in {f["code"] for f in first["findings"]}
    [o] = json.loads(z.read("review.json"))["speaker_overrides"]
    assert (o["speaker_id"], o["role"], o["previous_role"], o["reviewer"]) == ("S2", "wearer", "other", "rev")
    assert o["current"] is True
    assert "执法人员（佩戴者）" in z.read("report.html").decode()
    assert "report-original.json" in z.read("提取说明.txt").decode()


def test_only_reviewers_and_admins_may_correct_and_need_a_stated_purpose(app, client):
    login(client, "rev")
    rid = _imported(client)
    client.cookies.clear()
    login(client, "appr")
    r = client.post(
        f"/recordings/{rid}/speakers",
        data={"csrf_token": csrf_of(client, "/queue"), "speaker_id": "S2", "role": "wearer", "comment": "x"},
        follow_redirects=False,
    )
    assert r.status_code == 403
    client.cookies.clear()
    login(client, "admin")
    r = client.post(
        f"/recordings/{rid}/speakers",
        data={"csrf_token": csrf_of(client, "/queue"), "speaker_id": "S2", "role": "wearer", "comment": "x"},
        follow_redirects=False,
    )
    assert r.status_code == 403  # no purpose stated in this session (第十四条)
    _grant(client, rid)
    assert _correct(client, rid).status_code == 303


def test_csrf_and_bad_input_are_refused(client):
    login(client, "rev")
    rid = _imported(client)
    _grant(client, rid)
    form = {"speaker_id": "S2", "role": "wearer", "comment": "x"}
    assert client.post(f"/recordings/{rid}/speakers", data=form).status_code == 403
    assert (
        client.post(f"/recordings/{rid}/speakers", data={**form, "csrf_token": "forged"}).status_code == 403
    )
    assert _correct(client, rid, speaker_id="S9").status_code == 400
    assert _correct(client, rid, role="boss").status_code == 400
    assert _correct(client, rid, comment="  ").status_code == 400
    assert "opening_missing" in _queue_row(client, rid)["flags"]


def test_a_new_analysis_starts_without_the_earlier_corrections(client):
    login(client, "rev")
    rid = _imported(client)
    _grant(client, rid)
    assert _correct(client, rid).status_code == 303
    client.post(f"/recordings/{rid}/reanalyze", data={"csrf_token": csrf_of(client, f"/recordings/{rid}")})
    assert _wait_done(client, rid)["status"] == "done"
    assert "opening_missing" in _queue_row(client, rid)["flags"]
    page = client.get(f"/recordings/{rid}").text
    assert 'data-speaker="S2" data-role="other"' in page and "审阅人已更正" not in page
    assert "针对此前的一次分析，现已不适用" in page[page.index('id="speaker-history"') :]
    r = client.post(f"/recordings/{rid}/export", data={"csrf_token": csrf_of(client, f"/recordings/{rid}")})
    z = zipfile.ZipFile(io.BytesIO(r.content))
    assert "report-original.json" not in z.namelist()
    assert [o["current"] for o in json.loads(z.read("review.json"))["speaker_overrides"]] == [False]


def test_a_result_kept_without_the_analysis_asks_for_a_new_analysis(tmp_path):
    app = create_app(
        WebConfig(data_dir=tmp_path / "d", import_roots=[tmp_path / "d" / "inbox"]), analyze=_report_only
    )
    add_users(app)
    with TestClient(app) as client:
        login(client, "rev")
        r = _upload(client)
        rid = int(r.headers["location"].split("imported=")[1])
        assert _wait_done(client, rid)["status"] == "done"
        _grant(client, rid)
        r = _correct(client, rid)
        assert r.status_code == 409 and "重新分析" in r.text


def _report_only(paths: list[str], guide: str | None, progress) -> AnalysisOutput:
    """A report with speakers but no kept pipeline result (as analysed before results were kept)."""
    out = stored_analysis(paths, guide, progress)
    return AnalysisOutput(out.recording, out.guide)


def test_fake_analysis_without_speakers_shows_no_speaker_section(tmp_path):
    app = create_app(
        WebConfig(data_dir=tmp_path / "d", import_roots=[tmp_path / "d" / "inbox"]), analyze=fake_analysis
    )
    add_users(app)
    with TestClient(app) as client:
        login(client, "rev")
        rid = int(_upload(client).headers["location"].split("imported=")[1])
        assert _wait_done(client, rid)["status"] == "done"
        _grant(client, rid)
        page = client.get(f"/recordings/{rid}").text
        assert 'id="speakers"' not in page and 'id="speaker-lanes"' not in page


class _Trap:
    """Unpickling this runs code: what a file put into the results folder by someone else could do."""

    def __reduce__(self):
        return (exec, ("import pathlib; pathlib.Path(__import__('os').environ['TRAP']).write_text('ran')",))


def test_a_kept_result_not_sealed_by_this_server_is_never_unpickled(client, tmp_path, monkeypatch):
    import pickle

    from analyzer.web.jobs import STATE_FILE

    trap = tmp_path / "trap"
    monkeypatch.setenv("TRAP", str(trap))
    login(client, "rev")
    r = _upload(client)
    rid = int(r.headers["location"].split("imported=")[1])
    assert _wait_done(client, rid)["status"] == "done"
    _grant(client, rid)
    state = next((tmp_path / "data").rglob(STATE_FILE))
    sealed = state.read_bytes()
    state.write_bytes(sealed[:32] + pickle.dumps(_Trap()))  # the old seal over new contents
    r = _correct(client, rid)
    assert r.status_code == 409 and "校验" in r.text
    state.write_bytes(pickle.dumps(_Trap()))  # no seal at all
    assert _correct(client, rid).status_code == 409
    assert not trap.exists()
    state.write_bytes(sealed)  # the server's own file still works
    assert _correct(client, rid).status_code == 303
