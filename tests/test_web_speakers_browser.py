"""In headless Chromium against the real server running the real pipeline on a synthesized
multi-speaker recording (bench/speaker_corpus.py: a party reads the opening aloud): the speaker lanes
are drawn and a click on a turn plays from it; a reviewer corrects the reader's role with the form on
the page and the finding goes."""

from __future__ import annotations

import re

import pytest
import soundfile as sf
from test_web_browser import (  # noqa: F401 - fixtures
    _login,
    _prerequisites,
    _state_purpose,
    _wait_all_done,
    _wait_player_at,
    browser,
    playwright,
    server,
)

from bench.speaker_corpus import DIALOGUES, HARD, SR, render

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_reviewer_corrects_a_speaker_in_the_browser(server, browser, tmp_path):  # noqa: F811
    base, app = server
    d = next(x for x in DIALOGUES if x.id == "party-reads-opening")
    wav = tmp_path / "party-reads-opening.wav"
    sf.write(wav, render(d, HARD, None, seed=1).audio, SR, subtype="PCM_16")
    page = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
    _login(page, base, "rev")
    page.goto(f"{base}/import")
    page.set_input_files("#upload-form input[name=files]", str(wav))
    page.click("#upload-form button[type=submit]")
    page.wait_for_url(re.compile(r"/queue\?imported="))
    rid = int(re.search(r"imported=(\d+)", page.url).group(1))
    _wait_all_done(page, base, timeout_s=900)
    page.goto(f"{base}/recordings/{rid}")
    _state_purpose(page)

    lanes = page.locator("#speaker-lanes .lane-row")
    assert lanes.count() >= 2
    # turns are placed by the page's script (the Content-Security-Policy allows no inline styles)
    lefts = page.eval_on_selector_all("#speaker-lanes .turn", "ts => ts.map(t => t.style.left)")
    assert lefts and all(x.endswith("%") for x in lefts)
    # who read a guide phrase aloud (the analysis: `other`, so the phrase is held for listening, not counted)
    from analyzer.web.db import Recording
    from analyzer.web.jobs import load_output

    with app.state.sessions() as db:
        data = load_output(db.get(Recording, rid).result_dir).recording
    shown = next(
        p for p in data["phrases"] if p["id"] in ("opening", "recording_notice") and p["said_by_other"]
    )
    pid, reader = shown["id"], shown["said_by_other"][0]["speaker_id"]
    other = page.locator(f"#speaker-lanes .lane-row[data-speaker={reader}]")
    assert other.get_attribute("data-role") == "other"
    turn = other.locator(".turn").first
    turn.click()
    _wait_player_at(page, float(turn.get_attribute("data-t")))
    assert "其他人员" in page.inner_text("#transcript")

    assert page.locator(f"tr.finding[data-code={pid}_needs_listening]").count() == 1
    row = page.locator(f"#speakers tr.voice[data-speaker={reader}]")
    row.locator("select[name=role]").select_option("officer")
    row.locator("input[name=comment]").fill("复听确认：宣读开场白的是同行执法人员")
    row.locator("button[type=submit]").click()
    page.wait_for_selector(f"#speakers tr.voice[data-speaker={reader}][data-role=officer]")
    assert "审阅人已更正（分析结果：其他人员）" in page.inner_text(
        f"#speakers tr.voice[data-speaker={reader}]"
    )
    assert page.locator(f"tr.finding[data-code={pid}_needs_listening]").count() == 0
    assert "复听确认" in page.inner_text("#speaker-history")
    assert page.locator(f"#speaker-lanes .lane-row[data-speaker={reader}][data-role=officer]").count() == 1
