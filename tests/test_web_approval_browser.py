"""第十四条 in headless Chromium: a reviewer asks to view a recording, the approver sees the request
counted in the navigation bar and approves it with a note, and the reviewer then opens the recording
and plays it. The analysis is the fake one of test_web_support (this is about access, not speech);
the file played is a real synthesized sample, so the browser decodes and plays real audio.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pytest
from test_web_browser import CHROMIUM, CHROMIUM_ARGS, NO_OPENING, _login
from test_web_support import APPROVER, add_users, fake_analysis

from analyzer.web import audit_log
from analyzer.web.app import WebConfig, create_app

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow(transcriber=False),  # a browser; nothing is transcribed
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    import socket

    import uvicorn

    app = create_app(WebConfig(data_dir=tmp_path_factory.mktemp("approval-web")), analyze=fake_analysis)
    add_users(app)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started
    yield f"http://127.0.0.1:{port}", app
    srv.should_exit = True
    thread.join(timeout=10)


def test_reviewer_requests_approver_approves_reviewer_opens_and_plays(server):
    from playwright.sync_api import sync_playwright

    base, app = server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        reviewer = browser.new_context().new_page()
        _login(reviewer, base, "rev")
        reviewer.goto(f"{base}/import")
        reviewer.set_input_files("#upload-form input[name=files]", str(NO_OPENING))
        reviewer.click("#upload-form button[type=submit]")
        reviewer.wait_for_url(re.compile(r"/queue\?imported="))
        rid = int(reviewer.url.split("imported=")[1])
        deadline = time.monotonic() + 30
        while reviewer.request.get(f"{base}/api/queue").json()[0]["status"] != "done":
            assert time.monotonic() < deadline, "analysis did not finish"
            time.sleep(0.2)

        # Opening the recording asks for a viewing request first; filing one leaves it pending.
        reviewer.goto(f"{base}/queue")
        reviewer.locator(f"#queue tr[data-id='{rid}'] a.open").click()
        reviewer.wait_for_url(re.compile(rf"/recordings/{rid}/purpose$"))
        reviewer.select_option("#purpose-form select[name=purpose]", "投诉核查")
        reviewer.fill("#purpose-form input[name=purpose_detail]", "群众投诉执法态度")
        reviewer.click("#purpose-form button[type=submit]")
        reviewer.wait_for_selector("#request-pending")
        assert reviewer.goto(f"{base}/recordings/{rid}/media/0").status == 403
        reviewer.goto(f"{base}/recordings/{rid}")
        assert reviewer.url.endswith(f"/recordings/{rid}/purpose")  # still not open

        # The approver sees the request counted in the navigation bar and approves it with a note.
        approver = browser.new_context().new_page()
        _login(approver, base, APPROVER)
        assert approver.inner_text("#pending-count") == "1"
        approver.click("#nav-approvals")
        row = approver.locator(f"#pending-requests tr[data-recording='{rid}']")
        assert "群众投诉执法态度" in row.inner_text() and "审阅人乙" in row.inner_text()
        row.locator("input[name=note]").fill("同意，限本次投诉核查")
        row.locator("button.approve").click()
        approver.wait_for_selector("#no-pending")
        assert approver.locator("#pending-count").count() == 0
        assert "同意，限本次投诉核查" in approver.inner_text("#decided-requests")

        # The reviewer opens the recording and plays it.
        reviewer.goto(f"{base}/recordings/{rid}/purpose")
        reviewer.click("#open-recording")
        reviewer.wait_for_selector("#player-card")
        assert "张科长" in reviewer.inner_text("#viewing-approval")
        reviewer.evaluate("document.querySelector('.players .player.active').play()")
        reviewer.wait_for_function(
            "() => document.querySelector('.players .player.active').currentTime > 0.5", timeout=15000
        )
        browser.close()

    with app.state.sessions() as db:
        assert audit_log.verify_chain(db).ok
        entries = audit_log.entries_as_dicts(db, rid)
    actions = [(e["action"], e["username"]) for e in entries]
    for expected in (
        ("access_refused", "rev"),
        ("view_request", "rev"),
        ("view_approve", APPROVER),
        ("view", "rev"),
        ("play", "rev"),
    ):
        assert expected in actions, expected
    [play] = [e for e in entries if e["action"] == "play"]
    assert "投诉核查" in play["purpose"] and "批准人：张科长" in play["purpose"]
