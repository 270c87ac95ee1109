"""End to end in headless Chromium against the real server running the REAL pipeline (embedded
Whisper base) on the synthesized samples: log in, import a two-file case and a recording, wait for
the analysis, filter for a missing opening, open the recording, jump the player from a finding,
override a finding, export an evidence bundle; roles and login redirects; a screenshot for the README.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import pytest
from test_web_support import APPROVER, PASSWORD, add_users

from analyzer.web.app import WebConfig, create_app

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
CASE_FILES = sorted((SAMPLES / "case_gap").glob("*.mp4"))
NO_OPENING = SAMPLES / "inspection_no_opening.wav"
# The README's screenshot is refreshed only when asked, so a test run never changes tracked files:
# SCRIPTCHECK_UPDATE_SCREENSHOTS=1 python -m pytest tests/test_web_browser.py
SCREENSHOT = (
    ROOT / "bench" / "results" / "web-recording-page.png"
    if os.environ.get("SCRIPTCHECK_UPDATE_SCREENSHOTS")
    else Path(tempfile.gettempdir()) / "scriptcheck-web-recording-page.png"
)
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module", autouse=True)
def _prerequisites():
    """Chromium and the tracked samples must be there: in CI (CI=true) their absence fails every
    test here; locally the tests skip and the session summary lists them as not run."""
    from conftest import skip_or_fail

    if not Path(CHROMIUM).exists():
        skip_or_fail(f"browser tests: Debian chromium not found at {CHROMIUM} (apt-get install chromium)")
    if len(CASE_FILES) != 2 or not NO_OPENING.exists():
        skip_or_fail(
            f"browser tests: samples missing under {SAMPLES} (they are tracked: git checkout samples)"
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    import uvicorn

    data_dir = tmp_path_factory.mktemp("web-e2e")
    app = create_app(WebConfig(data_dir=data_dir))  # the real analysis (analyzer.pipeline)
    add_users(app)
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "server did not start"
    yield f"http://127.0.0.1:{port}", app
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def playwright():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright):
    b = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield b
    b.close()


def _login(page, base: str, username: str, *, open_form: bool = True) -> None:
    if open_form:
        page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_load_state()


def _wait_all_done(page, base: str, timeout_s: float = 600) -> None:
    """Wait on the queue's JSON, not by reloading /queue: the queue page reloads itself when a row
    finishes, and a test navigation racing that reload is aborted by the browser."""
    page.goto("about:blank")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        rows = page.request.get(f"{base}/api/queue").json()
        assert not any(r["status"] == "error" for r in rows), rows
        if rows and all(r["status"] == "done" for r in rows):
            break
        time.sleep(1.0)
    else:
        raise AssertionError("analysis did not finish")
    page.goto(f"{base}/queue")
    statuses = page.eval_on_selector_all("#queue tr[data-id]", "rows => rows.map(r => r.dataset.status)")
    assert statuses and all(s == "done" for s in statuses), page.inner_text("#queue")


def _approve_in_browser(browser, base: str, note: str = "同意查阅") -> None:
    """The approver (承办处室主要负责人) approves the oldest pending viewing request in the UI."""
    context = browser.new_context()
    page = context.new_page()
    _login(page, base, APPROVER)
    page.goto(f"{base}/approvals")
    row = page.locator("#pending-requests tr[data-request]").first
    row.locator("input[name=note]").fill(note)
    row.locator("button.approve").click()
    page.wait_for_selector("#decided-requests tr[data-state=approved]")
    context.close()


def _state_purpose(page) -> None:
    """第十四条: file a viewing request, have the approver approve it, then open the recording."""
    page.wait_for_selector("#purpose-form")
    page.select_option("select[name=purpose]", "案件审核")
    page.click("#purpose-form button[type=submit]")
    page.wait_for_selector("#request-pending")
    _approve_in_browser(page.context.browser, page.url.split("/recordings/")[0])
    page.reload()
    page.click("#open-recording")
    page.wait_for_selector("#player-card")


def _wait_player_at(page, expected: float, pos: int = 0) -> None:
    """The active player is file `pos`, its currentTime at `expected` (it may have played on a little)."""
    page.wait_for_function(
        """([t, pos]) => { const el = document.querySelector('.players .player.active');
                          return el && Number(el.dataset.pos) === pos && el.readyState >= 1
                                 && el.currentTime > t - 0.25 && el.currentTime < t + 1.5; }""",
        arg=[expected, pos],
        timeout=15000,
    )


def test_reviewer_flow_end_to_end(server, browser, tmp_path):
    base, app = server
    # Hold the (real) analysis at its start until the queue has shown it running, then let it go.
    gate, real_analysis = threading.Event(), app.state.worker.analyze

    def gated_analysis(paths, guide, progress):
        assert gate.wait(120), "the test never released the analysis"
        return real_analysis(paths, guide, progress)

    app.state.worker.analyze = gated_analysis
    context = browser.new_context(accept_downloads=True, viewport={"width": 1366, "height": 900})
    page = context.new_page()
    _login(page, base, "rev")
    assert page.url.endswith("/queue")

    # Import a two-file case (upload, analysed as one case), then a single recording.
    page.goto(f"{base}/import")
    page.set_input_files("#upload-form input[name=files]", [str(p) for p in CASE_FILES])
    page.fill("#upload-form input[name=title]", "案件：两段录像")
    page.check("#upload-form input[name=as_case]")
    page.click("#upload-form button[type=submit]")
    page.wait_for_url(re.compile(r"/queue\?imported="))
    page.wait_for_selector("#queue tr[data-status=running] progress")  # visible progress while it runs
    assert "开始分析" in page.inner_text("#queue tr[data-status=running] .stage")
    gate.set()
    page.goto(f"{base}/import")
    page.set_input_files("#upload-form input[name=files]", str(NO_OPENING))
    page.click("#upload-form button[type=submit]")
    page.wait_for_url(re.compile(r"/queue\?imported="))
    _wait_all_done(page, base)
    assert page.locator("#queue tr[data-id]").count() == 2

    # Filter for a missing opening: only the recording without it remains.
    page.check("#filter-form input[value=opening_missing]")
    page.click("#filter-form button[type=submit]")
    page.wait_for_url(re.compile(r"flag=opening_missing"))
    rows = page.locator("#queue tr[data-id]")
    assert rows.count() == 1 and "inspection_no_opening" in rows.first.inner_text()

    # Open it: the purpose is asked first (第十四条), then the recording page.
    rows.first.locator("a.open").click()
    _state_purpose(page)
    rid = int(re.search(r"/recordings/(\d+)", page.url).group(1))
    assert page.locator("tr.finding[data-code=opening_missing]").count() == 1

    # A click on a transcript line plays from there.
    line = page.locator("#transcript button.seek").last
    line.click()
    _wait_player_at(page, float(line.get_attribute("data-t")))

    # Override the missing-opening finding: the final score gets the opening's points back.
    analysed = float(page.inner_text("#final-score"))
    row = page.locator("tr.finding[data-code=opening_missing]")
    row.locator("select[name=action]").select_option("override")
    row.locator("input[name=comment]").fill("开场在另一段录像中已说明")
    row.locator("button[type=submit]").click()
    page.wait_for_selector("tr.finding.overridden[data-code=opening_missing]")
    assert float(page.inner_text("#final-score")) > analysed
    assert "审阅人乙" in page.inner_text("tr.finding[data-code=opening_missing] .decision")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo({top: 0, behavior: 'instant'})")
    page.wait_for_function("() => window.scrollY === 0")  # a function: the CSP forbids eval
    page.wait_for_timeout(300)
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    # Export an evidence bundle and check what is in it.
    with page.expect_download() as download_info:
        page.click("#export-button")
    bundle = tmp_path / "bundle.zip"
    download_info.value.save_as(bundle)
    with zipfile.ZipFile(bundle) as zf:
        names = set(zf.namelist())
        assert {
            "原始文件/inspection_no_opening.wav",
            "SHA256SUMS.txt",
            "report.json",
            "report.html",
            "review.json",
            "提取说明.txt",
        } <= names
        original = zf.read("原始文件/inspection_no_opening.wav")
        assert original == NO_OPENING.read_bytes()
        assert hashlib.sha256(original).hexdigest() in zf.read("SHA256SUMS.txt").decode()
        note = zf.read("提取说明.txt").decode()
        assert "提取人：审阅人乙" in note and "提取时间：" in note and "完整性校验：通过" in note
        report = json.loads(zf.read("report.json"))
        codes = {f["code"] for f in report["recordings"][0]["findings"]}
        assert "opening_missing" in codes
        review = json.loads(zf.read("review.json"))
        assert review["decisions"][0]["action"] == "override" and review["final_score"] > review["score"]

    # The case: click its gap finding; the player goes to the file and time the finding names
    # (for a gap between files: where the recording resumed), else to the case time's file.
    page.goto(f"{base}/queue")
    page.locator("#queue tr[data-id] a.open", has_text="案件").click()
    _state_purpose(page)
    files = json.loads(page.get_attribute("#player-card", "data-files"))
    assert len(files) == 2 and files[1]["offset_s"] > files[0]["offset_s"]
    gap = page.locator("#findings tr.finding[data-code=gap] button.seek").first
    t = float(gap.get_attribute("data-t"))
    if gap.get_attribute("data-file") is not None:
        pos, local = int(gap.get_attribute("data-file")), float(gap.get_attribute("data-local"))
    else:
        pos = max(i for i, f in enumerate(files) if f["offset_s"] <= t)
        local = t - files[pos]["offset_s"]
    gap.click()
    _wait_player_at(page, local, pos=pos)
    # ... and a phrase said in the second file switches to that file at the right time.
    later = page.locator("#phrases button.seek").evaluate_all(
        "(bs, off) => bs.map(b => parseFloat(b.dataset.t)).filter(t => t >= off)", files[1]["offset_s"]
    )
    assert later, "no phrase found in the second file of the case"
    page.locator(f"#phrases button.seek[data-t='{later[0]:g}']").first.click()
    _wait_player_at(page, later[0] - files[1]["offset_s"], pos=1)

    # Every view, play and export is in the access log, and the chain verifies.
    with app.state.sessions() as db:
        from analyzer.web import audit_log

        assert audit_log.verify_chain(db).ok
        actions = {(e["action"], e["username"]) for e in audit_log.entries_as_dicts(db, rid)}
    assert {("view", "rev"), ("play", "rev"), ("export", "rev"), ("decision", "rev")} <= actions
    context.close()


@pytest.mark.slow(transcriber=False)  # a browser, no recording analysed
def test_trainee_cannot_open_the_review_queue(server, browser):
    base, _app = server
    context = browser.new_context()
    page = context.new_page()
    _login(page, base, "trainee")
    assert page.url.endswith("/train")
    response = page.goto(f"{base}/queue")
    assert response.status == 403 and "无权访问" in page.inner_text("#error-message")
    assert page.locator("nav a[href='/queue']").count() == 0
    context.close()


@pytest.mark.slow(transcriber=False)  # a browser, no recording analysed
def test_logged_out_user_is_redirected_to_login(server, browser):
    base, _app = server
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{base}/recordings/1")
    assert "/login?next=/recordings/1" in page.url and page.locator("#login-form").count() == 1
    _login(page, base, "rev", open_form=False)
    # Back where they were going: the recording, or its viewing request page when no approved request
    # opens it (the recording exists only when the end-to-end flow ran before).
    assert re.search(r"/recordings/1(/purpose)?$", page.url), page.url
    page.click("button.link:has-text('退出')")
    page.wait_for_url(re.compile(r"/login"))
    page.goto(f"{base}/queue")
    assert "/login" in page.url
    context.close()


@pytest.fixture(scope="module")
def spoken_request_id(tmp_path_factory) -> Path:
    """A synthesized reading of the ID-request phrase, padded with silence, as the fake microphone's input."""
    import numpy as np
    import soundfile as sf

    from bench.tts import synthesize

    speech, sr = synthesize("您好，请出示营业执照。", sr=48000)
    pad = np.zeros(int(0.4 * sr), dtype=np.float32)
    path = tmp_path_factory.mktemp("mic") / "request_id.wav"
    sf.write(path, np.concatenate([pad, speech, pad, pad, pad, pad]), sr, subtype="PCM_16")
    return path


def test_trainee_records_in_the_browser_and_sees_feedback(server, playwright, spoken_request_id):
    """MediaRecorder in Chromium (fake microphone fed with synthesized speech) -> webm upload -> PyAV ->
    the real training evaluation -> the feedback page and the trainee's progress."""
    base, app = server
    mic_args = [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={spoken_request_id}",
    ]
    b = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + mic_args)
    try:
        context = b.new_context(permissions=["microphone"])
        page = context.new_page()
        _login(page, base, "trainee")
        page.select_option("#target", "request_id")
        assert "请出示" in page.inner_text("#standard-text")
        page.click("#rec-start")
        page.wait_for_selector("#recorder.on")
        page.wait_for_timeout(3600)
        page.click("#rec-stop")
        page.wait_for_url(re.compile(r"/train/attempts/\d+"), timeout=300_000)
        assert "请出示证照" in page.inner_text("h1")
        assert float(page.inner_text("#train-score")) >= 60, page.inner_text("#phrase-feedback")
        assert "请出示营业" in page.inner_text(".kv")  # what was heard (执照 is often heard as 执政)
        recorded = [
            p.suffix for p in (app.state.data_dir / "training").rglob("*") if p.suffix in (".webm", ".ogg")
        ]
        assert recorded, "the browser recording was not uploaded as webm/ogg"
        page.goto(f"{base}/train")
        assert "请出示证照" in page.inner_text("#progress")
    finally:
        b.close()
