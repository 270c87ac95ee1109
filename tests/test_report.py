"""Report writers on a constructed two-file case (fast, no model): JSON fields, HTML links,
subtitles, summaries, atomic writes."""

from __future__ import annotations

import dataclasses
import json
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from analyzer import report
from analyzer.continuity import CaseFile, ContinuityReport, GapEvent, Resumption
from analyzer.guide import load_guide
from analyzer.match import DiffOp, PhraseMatch
from analyzer.pipeline import RecordingResult, case_transcript
from analyzer.rules import evaluate
from analyzer.transcribe import Segment, Transcript, Word


def _transcript(lines: list[tuple[float, float, str]], duration: float) -> Transcript:
    segs = []
    for a, b, text in lines:
        step = (b - a) / len(text)
        words = tuple(Word(a + i * step, a + (i + 1) * step, ch, 0.9) for i, ch in enumerate(text))
        segs.append(Segment(a, b, text, text, -0.3, 0.02, words=words))
    return Transcript(tuple(segs), "zh", duration, "faster-whisper", "base")


@pytest.fixture(scope="module")
def case(tmp_path_factory) -> RecordingResult:
    import soundfile as sf

    folder = tmp_path_factory.mktemp("orig")
    a, b = folder / "DSJ_20240315_093000.wav", folder / "DSJ_20240315_093500.wav"
    for p in (a, b):
        sf.write(p, np.zeros(16000 * 30, np.float32), 16000)
    guide = load_guide()
    files = (CaseFile(str(a), 0.0, 30.0, None, "filename"), CaseFile(str(b), 300.0, 30.0, None, "filename"))
    transcripts = {
        str(a): _transcript([(1.0, 6.0, "为保护您的合法权益，本次执法全过程录音录像")], 30.0),
        str(b): _transcript([(2.0, 4.0, "您好，请出示营业执照")], 30.0),
    }
    gap = GapEvent("file_gap", 30.0, 300.0, file=str(b), file_start_s=0.0, detail="两段录像间隔 4 分 30 秒")
    cont = ContinuityReport(files, (gap,), (Resumption(gap, False, window_s=30.0),))
    merged = case_transcript(files, transcripts)
    notice = guide.phrase("recording_notice")
    matches = []
    for p in guide.phrases:
        if p.id == "recording_notice":
            diff = (
                DiffOp("equal", "为保护您的合法权益", "为保护您的合法权益"),
                DiffOp("missing", "监督执法行为", ""),
            )
            said = "为保护您的合法权益本次执法全过程录音录像"
            matches.append(
                PhraseMatch(
                    p.id,
                    "present",
                    80.0,
                    1.0,
                    6.0,
                    said,
                    notice.standards[0],
                    diff=diff,
                    occurrences=((1.0, 6.0),),
                )
            )
        elif p.id == "request_id":
            matches.append(
                PhraseMatch(p.id, "present", 95.0, 302.0, 304.0, "您好请出示营业执照", p.standards[0])
            )
        else:
            matches.append(PhraseMatch(p.id, "absent", 0.0, None, None, "", p.standards[0]))
    ev = evaluate(matches, cont, merged, guide)
    return RecordingResult(
        paths=[str(a), str(b)],
        name=str(folder),
        is_case=True,
        files=files,
        sha256s={str(a): "a" * 64, str(b): "b" * 64},
        duration_s=330.0,
        transcripts=transcripts,
        transcript=merged,
        matches=matches,
        continuity=cont,
        evaluation=ev,
        guide=guide,
    )


def test_recording_dict_has_the_documented_fields(case):
    rec = report.recording_to_dict(case)
    doc = report.document([rec], case.guide)
    assert doc["schema_version"] == report.SCHEMA_VERSION and doc["guide"]["id"] == case.guide.id
    assert len(doc["guide"]["sha256"]) == 64
    assert rec["kind"] == "case" and rec["duration_s"] == 330.0 and len(rec["sha256"]) == 64
    assert [f["offset_s"] for f in rec["files"]] == [0.0, 300.0]
    req = next(p for p in rec["phrases"] if p["id"] == "request_id")
    assert req["file"].endswith("093500.wav") and req["file_start_s"] == 2.0 and req["start_s"] == 302.0
    opening = next(p for p in rec["phrases"] if p["id"] == "opening")
    assert opening["status"] == "absent" and opening["start_s"] is None and opening["text"] == ""
    assert "opening_missing" in [f["code"] for f in rec["findings"]]
    unexplained = next(f for f in rec["findings"] if f["code"] == "interruption_unexplained")
    assert unexplained["file"].endswith("093500.wav") and unexplained["file_start_s"] == 0.0
    assert rec["gaps"][0] == {**rec["gaps"][0], "kind": "file_gap", "start_s": 30.0, "duration_s": 270.0}
    seg2 = rec["transcript"]["segments"][1]
    assert seg2["start_s"] == 302.0 and seg2["file_start_s"] == 2.0
    json.dumps(doc, ensure_ascii=False)  # serialisable


def test_error_result_dict():
    r = RecordingResult(paths=["x.mp4"], name="x.mp4", error="x.mp4: 文件为空（0 字节）")
    rec = report.recording_to_dict(r)
    assert rec["error"] and rec["score"] is None and rec["profile"] is None and rec["phrases"] == []
    row = report.summary_row(rec)
    assert row["error"] and row["score"] is None


class _Parser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.findings: list[list[dict]] = []
        self.media: list[dict] = []
        self.in_row = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and "finding" in (a.get("class") or ""):
            self.findings.append([])
            self.in_row = True
        elif tag == "a" and self.in_row and "seek" in (a.get("class") or ""):
            self.findings[-1].append(a)
        elif tag in ("audio", "video"):
            self.media.append(a)

    def handle_endtag(self, tag):
        if tag == "tr":
            self.in_row = False


def test_html_links_findings_and_originals(case, tmp_path):
    rec = report.recording_to_dict(case)
    out = report.write_html(rec, report.guide_to_dict(case.guide), tmp_path / "r" / "case.html")
    html = out.read_text("utf-8")
    p = _Parser()
    p.feed(html)
    assert len(p.findings) == len(rec["findings"]) > 0
    for links, f in zip(p.findings, rec["findings"], strict=True):
        assert links, f
        assert float(links[0]["data-t"]) == pytest.approx(f["file_start_s"] or 0.0, abs=0.01)
    unexplained = rec["findings"].index(
        next(f for f in rec["findings"] if f["code"] == "interruption_unexplained")
    )
    assert p.findings[unexplained][0]["data-file"] == "1"  # plays the second file
    srcs = [m["src"] for m in p.media]
    assert all(not s.startswith("data:") for s in srcs)
    from urllib.parse import unquote

    assert [(out.parent / unquote(s)).resolve() for s in srcs] == [Path(x).resolve() for x in case.paths]
    assert "<script src" not in html and "<link" not in html and "http" not in html
    assert 'class="missing"' in html and "监督执法行为" in html  # the diff marks what was left out
    embedded = report.render_html(rec, None, tmp_path / "e.html", embed_media=True)
    assert embedded.count('src="data:audio/') == 2


def test_html_template_is_compiled_once_per_process(case, tmp_path, monkeypatch):
    """A batch renders one HTML report per recording: compiling the template each time cost more
    than rendering it."""
    import jinja2

    compiled = []
    original = jinja2.Environment.compile

    def counting(self, *args, **kwargs):
        compiled.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    rec = report.recording_to_dict(case)
    guide = report.guide_to_dict(case.guide)
    pages = [report.write_html(rec, guide, tmp_path / f"{i}.html").read_text("utf-8") for i in range(3)]
    assert len(compiled) <= 1 and pages[0] == pages[1] == pages[2] and "监督执法行为" in pages[0]


def test_subtitles_per_file_with_findings(case, tmp_path):
    rec = report.recording_to_dict(case)
    paths = report.write_subtitles(rec, tmp_path / "case", "srt")
    assert [p.name for p in paths] == ["case.1.srt", "case.2.srt"]
    second = paths[1].read_text("utf-8")
    assert "00:00:02,000 --> " in second and "您好，请出示营业执照" in second
    assert "【重要】" in second or "【严重】" in second  # interruption finding as a cue at 0:00 of file 2
    vtt = report.to_vtt(rec, rec["files"][0]["path"])
    assert vtt.startswith("WEBVTT") and "00:00:01.000 --> 00:00:06.000" in vtt


def test_summary_worst_first_csv_xlsx_table(case, tmp_path):
    from openpyxl import load_workbook

    good = report.recording_to_dict(case)
    bad = report.recording_to_dict(
        RecordingResult(paths=["坏文件.mp4"], name="坏文件.mp4", error="坏文件.mp4: 损坏")
    )
    better = {**good, "path": "better", "score": 99.0, "findings": []}
    rows = report.worst_first(report.summary_row(r) for r in (better, good, bad))
    assert [r["path"] for r in rows] == ["坏文件.mp4", good["path"], "better"]
    assert rows[1]["opening"] == "未说" and "opening_missing" in rows[1]["flags"]
    report.write_csv(rows, tmp_path / "s.csv")
    assert (tmp_path / "s.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    report.write_xlsx(rows, tmp_path / "s.xlsx")
    ws = load_workbook(tmp_path / "s.xlsx").active
    assert ws.max_row == 4 and ws.cell(2, 1).value == "坏文件.mp4" and ws.cell(4, 5).value == 99.0
    short = [
        {**r, "path": name, "error": ""}
        for r, name in zip(rows, ["坏文件.mp4", "案件A", "b.wav"], strict=True)
    ]
    table = report.terminal_table(short).splitlines()
    assert len(table) == 5 and table[0].startswith("得分")
    # the path column starts at the same display column on every line (CJK counts two columns)
    starts = [report._width(line[: line.rindex(r["path"])]) for line, r in zip(table[2:], short, strict=True)]
    assert starts == [report._width(table[0][: table[0].index("文件/案件")])] * 3
    assert "错误" in report.terminal_table(rows).splitlines()[2]


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path):
    from analyzer.files import atomic_write_text

    target = tmp_path / "x.json"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_every_second_look_is_in_the_json_and_the_html(case, tmp_path):
    import dataclasses

    from analyzer.recheck import Look, Recheck

    looks = (
        Look(("opening",), case.paths[0], 0.0, 30.0, "timed"),
        Look(("sign_request",), case.paths[1], 10.0, 25.0, "order", found=("sign_request",), offset_s=300.0),
        Look(("return_documents",), case.paths[1], 0.0, 30.0, "whole", decoded=False, offset_s=300.0),
        Look(("opening",), case.paths[0], 0.0, 30.0, "prompted", near=True),
        Look(("sign_request",), case.paths[1], 12.0, 16.0, "primed", offset_s=300.0, prompt="请您签字。"),
        Look(("sign_request",), case.paths[1], 18.0, 21.0, "primed", offset_s=300.0, prompt="请您签字。",
             agreed=True, found=("sign_request",)),
    )  # fmt: skip
    looked = dataclasses.replace(
        case,
        recheck=Recheck(
            ("opening", "sign_request", "return_documents"), 30.0, 5, ("sign_request",), looks, 50.0, 45.0
        ),
    )
    rec = report.recording_to_dict(looked)
    assert rec["recheck"]["budget_s"] == 50.0 and rec["recheck"]["decoded_s"] == 45.0
    assert [lk["why"] for lk in rec["recheck"]["looks"]] == [
        "timed", "order", "whole", "prompted", "primed", "primed"
    ]  # fmt: skip
    assert rec["recheck"]["looks"][1] == {
        "phrases": ["sign_request"], "file": case.paths[1], "start_s": 10.0, "end_s": 25.0,
        "case_start_s": 310.0, "why": "order", "decoded": True, "found": ["sign_request"], "near": False,
        "prompt": "", "agreed": False,
    }  # fmt: skip
    assert rec["recheck"]["looks"][3]["near"] is True
    primed = rec["recheck"]["looks"][5]
    assert primed["agreed"] is True and primed["found"] == ["sign_request"]
    assert primed["prompt"] == "请您签字。"
    html = report.write_html(rec, report.guide_to_dict(case.guide), tmp_path / "l.html").read_text("utf-8")
    table = html[html.index('id="recheck"') :]
    table = table[: table.index("</details>")]
    assert table.count("<tr>") == 7  # header + one row per look
    assert "相近内容（以用语原文提示解码）" in table
    assert "差别大（可能是提示带出的字词），未采用" in table and "基本一致，检出，已采用" in table
    assert table.count("提示原文：请您签字。") == 2  # what each primed decode was primed with
    assert "复核后检出" in table and "复核后仍未检出" in table and "超出复核时长上限" in table
    assert "以用语原文提示解码" in table and "听出疑似该用语，需人工听取" in table
    assert "按顺序应出现的区间" in table and "请签收法律文书" in table


def test_a_phrase_held_for_listening_and_terms_heard_by_sound_are_shown(case, tmp_path):
    """The HTML says why an absent phrase costs nothing (held for listening), and which key terms of a
    phrase said were heard only by their sound (the trainer checks the pronunciation)."""
    rec = report.recording_to_dict(case)
    absent = next(p for p in rec["phrases"] if p["status"] == "absent" and p["required"])
    said = next(p for p in rec["phrases"] if p["status"] != "absent")
    assert said["homophone_terms"] == [] and absent["homophone_terms"] == []
    absent["needs_listening"], said["homophone_terms"] = True, ["签名"]
    html = report.write_html(rec, report.guide_to_dict(case.guide), tmp_path / "h.html").read_text("utf-8")

    def block(pid: str) -> str:
        start = html.index(f'id="phrase-{pid}"')
        return html[start : html.find('<div class="phrase"', start)]

    assert "待人工听取，不按缺失扣分" in block(absent["id"])
    assert "仅按读音或近音检出的关键词：签名" in block(said["id"])
    assert "待人工听取，不按缺失扣分" not in block(said["id"])


def test_a_resume_statement_whose_reason_cannot_be_read_is_in_the_json(case):
    """Resumption.unclear (the statement heard, its reason not readable: interruption_reason_needs_listening)
    reaches the report with its times in the case and in the file, so a reviewer can play it."""
    from analyzer.resumption import check_resumptions

    b = case.paths[1]
    said = "刚才英尼社被控制上更多的纪录,现在继续持法全国成绩率。"
    heard = {**case.transcripts, b: _transcript([(0.7, 6.3, said)], 30.0)}
    plain = ContinuityReport(case.files, case.continuity.events)
    cont = check_resumptions(plain, heard, case.guide)
    r = cont.resumptions[0]
    assert r.unclear is not None and not r.reason_given
    merged = case_transcript(case.files, heard)
    ev = evaluate(case.matches, cont, merged, case.guide)
    assert "interruption_reason_needs_listening" in {f.code for f in ev.findings}
    result = dataclasses.replace(case, continuity=cont, transcripts=heard, transcript=merged, evaluation=ev)
    rec = report.recording_to_dict(result)
    row = rec["resumptions"][0]
    assert row["checked"] is True and row["reason_given"] is False
    assert row["unclear"] == {
        "start_s": round(r.unclear[0], 2),
        "end_s": round(r.unclear[1], 2),
        "file": b,
        "file_start_s": round(r.unclear[0] - 300.0, 2),
    }
    assert 300.7 <= row["unclear"]["start_s"] < row["unclear"]["end_s"] <= 306.3
    # a resumption whose reason was plainly not said has none
    assert report.recording_to_dict(case)["resumptions"][0]["unclear"] is None


def test_every_resumption_field_is_in_the_schema_document(case):
    schema = (Path(report.__file__).parent / "schema" / "report-v1.md").read_text(encoding="utf-8")
    row = next(line for line in schema.splitlines() if line.startswith("| `resumptions` |"))
    fields = report.recording_to_dict(case)["resumptions"][0]
    assert fields and all(f"`{name}`" in row for name in fields), [n for n in fields if f"`{n}`" not in row]
    assert f'`"{report.SCHEMA_VERSION}"`' in schema and f"schema version {report.SCHEMA_VERSION}" in schema
