"""The dashboard in headless Chromium: the charts render as SVG with Chinese labels, a number opens the
filtered queue behind it, the trainer view renders; and the README's screenshot on a larger synthetic
database (bench/bench_dashboard.py's generator).

The figures come from the hand-computed seed of dashboard_seed.py (see test_web_dashboard.py).
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from dashboard_seed import seed, seed_training
from test_web_support import PASSWORD, add_users, make_app

from analyzer.web.app import WebConfig, create_app

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# Refreshed only when asked, so that a test run never changes tracked files:
# SCRIPTCHECK_UPDATE_SCREENSHOTS=1 python -m pytest tests/test_web_dashboard_browser.py
SCREENSHOT = (
    ROOT / "bench" / "results" / "dashboard.png"
    if os.environ.get("SCRIPTCHECK_UPDATE_SCREENSHOTS")
    else Path(tempfile.gettempdir()) / "scriptcheck-dashboard.png"
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed"),
]


def _serve(app):
    import socket

    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "server did not start"
    return srv, thread, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def seeded_server(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("dash-e2e")
    app = make_app(data_dir, start_worker=False)
    seed(app, data_dir)
    seed_training(data_dir / "training" / "attempts.sqlite")
    srv, thread, base = _serve(app)
    yield base
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _login(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_load_state()


def test_dashboard_charts_and_a_number_leads_to_its_queue(seeded_server, browser):
    base = seeded_server
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _login(page, base, "rev")
    page.goto(f"{base}/dashboard?period=2026-03")
    assert page.inner_text("#kpi-recordings") == "5" and page.inner_text("#kpi-mean") == "76.0"
    for chart in ("#chart-trend", "#chart-phrases", "#chart-heat"):
        assert page.locator(f"{chart} svg").count() == 1
    # the trend has a point for February and March; bars and heat cells are drawn and rendered
    assert page.locator("#chart-trend svg circle").count() == 2
    assert page.locator("#chart-phrases svg rect").count() >= 3 + 5  # legend + segments
    box = page.locator("#chart-heat svg").bounding_box()
    assert box and box["width"] > 100 and box["height"] > 50
    labels = page.eval_on_selector_all(
        "#chart-phrases svg text, #chart-heat svg text", "ts => ts.map(t => t.textContent)"
    )
    assert "告知权利" in labels and "开始记录" in labels and "张三" in labels
    width = page.evaluate(
        "() => [...document.querySelectorAll('#chart-heat svg text')].find(t => t.textContent === '张三')"
        ".getComputedTextLength()"
    )
    assert width > 15  # the CJK glyphs are rendered (not zero-width boxes)
    # a number opens the filtered queue behind it
    page.click("#kpi-opening")
    page.wait_for_url(re.compile(r"/queue\?"))
    titles = page.eval_on_selector_all(
        "#queue tr[data-id] td:nth-child(2)", "tds => tds.map(t => t.innerText.trim())"
    )
    assert titles == ["R3"]
    assert page.locator("#filter-unit").count() == 1
    # a heat cell: 张三's missed rights notice (R1 partial, R2 missing)
    page.goto(f"{base}/dashboard?period=2026-03")
    page.locator("#chart-heat svg a", has=page.locator("title", has_text="张三 · 告知权利")).click()
    page.wait_for_url(re.compile(r"phrase=rights_notice"))
    titles = page.eval_on_selector_all(
        "#queue tr[data-id] td:nth-child(2)", "tds => tds.map(t => t.innerText.trim())"
    )
    assert sorted(titles) == ["R1", "R2"]
    page.goto(f"{base}/dashboard?period=2026-03")
    page.emulate_media(media="print")  # printable: no navigation or controls, the charts stay
    assert page.locator("header.top").is_hidden() and page.locator("#dashboard-form").is_hidden()
    assert page.locator("#chart-phrases svg").is_visible()
    page.emulate_media(media="screen")
    page.goto(f"{base}/dashboard/training")
    assert page.locator("#chart-class svg").count() == 1
    assert "需要练习" in page.inner_text("#trainee-table")
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors
    page.close()


def test_dashboard_screenshot_on_a_larger_database(tmp_path, browser):
    sys.path.insert(0, str(ROOT))
    from bench.bench_dashboard import seed_synthetic

    app = create_app(WebConfig(data_dir=tmp_path), start_worker=False)
    add_users(app)
    seed_synthetic(app.state.sessions, 1200, officers=10)
    srv, thread, base = _serve(app)
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        _login(page, base, "rev")
        page.goto(f"{base}/dashboard?period=2026-03&unit=城东执法一中队")
        assert page.locator("svg.heatmap").count() == 1
        n = int(page.inner_text("#kpi-recordings"))
        assert n > 0
        page.screenshot(path=str(SCREENSHOT), full_page=True)
        assert SCREENSHOT.stat().st_size > 20_000
        page.close()
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
