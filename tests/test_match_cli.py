"""`scriptcheck check TRANSCRIPT.json` prints the per-phrase table."""

from __future__ import annotations

import json

from analyzer.cli import main
from analyzer.transcribe import Segment, Transcript


def _write_transcript(path, *texts):
    segs = tuple(
        Segment(start=5.0 * i, end=5.0 * i + 4, text=t, raw_text=t, avg_logprob=-0.2, no_speech_prob=0.0)
        for i, t in enumerate(texts)
    )
    t = Transcript(segments=segs, language="zh", duration_s=5.0 * len(texts), engine="t", model="t")
    path.write_text(json.dumps(t.to_dict(), ensure_ascii=False), encoding="utf-8")
    return path


def test_check_prints_chinese_table(tmp_path, capsys):
    path = _write_transcript(tmp_path / "t.json", "您好，请出示营业执照。", "您享有陈述权和行政救济权利。")
    assert main(["check", str(path), "--diff"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[1].split("\t")[:4] == ["用语", "名称", "状态", "得分"]
    rows = {ln.split("\t")[0]: ln.split("\t") for ln in lines[2:] if not ln.startswith("\t")}
    assert len(rows) == 12
    assert rows["request_id"][2] == "已说" and rows["request_id"][4] == "00:00.0"
    assert rows["rights_notice"][2] == "部分" and rows["rights_notice"][6] == "申辩权"
    assert rows["opening"][2] == "未说"
    assert "[缺:申辩权]" in out


def test_check_json_and_other_guide(tmp_path, capsys):
    path = _write_transcript(tmp_path / "t.json", "本次检查全程录音录像，请您知悉。")
    assert main(["check", str(path), "--guide", "market-supervision", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {d["phrase_id"]: d["status"] for d in data}["recording_notice"] == "present"


def test_check_bad_input_is_one_line_error(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    assert main(["check", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert str(bad) in err and len(err.splitlines()) == 1
    assert main(["check", str(bad), "--guide", str(tmp_path / "missing.toml")]) == 2
