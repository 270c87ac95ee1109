"""第十一条 in headless Chromium against the real server and the REAL pipeline: a recording stored
months after it was made (its camera file name says when) is flagged stored late and found with the
queue's filter; its metadata form comes prefilled with the place and cause Whisper heard in the
opening and the time from the file name, marked 自动提取; the reviewer fills the rest (marked 人工填写),
and the review closes only then."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pytest
from test_web_browser import CHROMIUM, CHROMIUM_ARGS, _login, _state_purpose
from test_web_support import add_users

from analyzer.web.app import WebConfig, create_app

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed"),
]
NAME = "DEVICE01_20260315_143000.wav"
OPENING = "今天下午两点半，我们在鸿达商贸有限公司，对该公司财务收支情况进行审计检查，执法全过程记录开始。"


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    from test_clock_e2e import SR, speech

    from bench.audio_tools import write_audio

    folder = tmp_path_factory.mktemp("meta-in")
    return write_audio(folder / NAME, speech([OPENING], 7), SR)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    import socket

    import uvicorn

    app = create_app(WebConfig(data_dir=tmp_path_factory.mktemp("meta-web")))  # the real pipeline
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
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


def test_metadata_form_prefilled_from_speech_completed_by_hand_and_review_closed(server, recording):
    from playwright.sync_api import sync_playwright

    base = server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        _login(page, base, "rev")
        page.goto(f"{base}/import")
        page.set_input_files("#upload-form input[name=files]", str(recording))
        page.click("#upload-form button[type=submit]")
        page.wait_for_url(re.compile(r"/queue\?imported="))
        page.goto("about:blank")
        deadline = time.monotonic() + 600
        while not all(r["status"] == "done" for r in page.request.get(f"{base}/api/queue").json()):
            assert time.monotonic() < deadline, "analysis did not finish"
            time.sleep(1.0)

        page.goto(f"{base}/queue")
        page.check("#filter-form input[value=stored_late]")
        page.click("#filter-form button[type=submit]")
        page.wait_for_url(re.compile(r"flag=stored_late"))
        rows = page.locator("#queue tr[data-id]")
        assert rows.count() == 1 and NAME in rows.first.inner_text()
        rows.first.locator("a.open").click()
        _state_purpose(page)

        assert "录制后超过 24 小时才存储" in page.inner_text("#metadata")
        place = page.locator("#metadata-form input[name=place]").input_value()
        assert place.endswith("公司") and "商贸" in place  # what Whisper heard of 鸿达商贸有限公司
        assert "自动提取（开场白所说地点）" in page.inner_text("[data-field=place]")
        assert "财务收支" in page.locator("#metadata-form input[name=case_name]").input_value()
        assert page.locator("#metadata-form input[name=recorded_time]").input_value() == "2026-03-15 14:30:00"
        assert page.locator("#close-button").is_disabled()
        assert "当事人姓名或单位名称" in page.inner_text("#metadata-missing")

        page.fill("#metadata-form input[name=place]", "鸿达商贸有限公司")
        page.fill("#metadata-form input[name=party]", "鸿达商贸有限公司")
        page.fill("#metadata-form input[name=recorder]", "张明")
        page.fill("#metadata-form input[name=badge_no]", "豫A12345")
        page.click("#metadata-save")
        page.wait_for_selector("#close-button:not([disabled])")
        assert "人工填写（rev）" in page.inner_text("[data-field=place]")
        assert "人工填写（rev）" in page.inner_text("[data-field=party]")
        assert "自动提取（文件名）" in page.inner_text("[data-field=recorded_time]")
        page.click("#close-button")
        page.wait_for_selector("#review-closed")
        assert page.locator("#metadata-form input[name=party]").is_disabled()
        browser.close()
