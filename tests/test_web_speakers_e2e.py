"""The web app on a real analysed multi-speaker recording (ttskit voices, bench/speaker_corpus.py,
through Whisper and the whole pipeline): the recording page shows the speaker lanes and the
transcript's speaker column, and a reviewer's correction of the party who read the opening aloud
makes the opening count (the finding goes), without transcribing again."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
import soundfile as sf
from conftest import decode_log
from fastapi.testclient import TestClient
from test_web_security import _grant, _wait_done
from test_web_support import add_users, csrf_of, login

from analyzer.web.app import WebConfig, create_app
from analyzer.web.jobs import run_pipeline
from bench.speaker_corpus import DIALOGUES, HARD, SR, render

pytestmark = pytest.mark.slow


def test_real_recording_lanes_column_and_a_correction(tmp_path):
    d = next(x for x in DIALOGUES if x.id == "party-reads-opening")
    r = render(d, HARD, None, seed=1)  # the party at the wearer's level reads the opening aloud
    wav = io.BytesIO()
    sf.write(wav, r.audio, SR, subtype="PCM_16", format="WAV")
    app = create_app(WebConfig(data_dir=tmp_path / "data", import_roots=[]), analyze=run_pipeline)
    add_users(app)
    with TestClient(app) as client:
        login(client, "rev")
        up = client.post(
            "/import/upload",
            data={"csrf_token": csrf_of(client)},
            files={"files": ("reads.wav", wav.getvalue(), "audio/wav")},
            follow_redirects=False,
        )
        rid = int(up.headers["location"].split("imported=")[1])
        assert _wait_done(client, rid, timeout=900)["status"] == "done"
        _grant(client, rid)
        folder = next((app.state.data_dir / "results").iterdir())
        data = json.loads((folder / "report.json").read_text())["recordings"][0]
        voices = {v["speaker_id"]: v["role"] for v in data["speakers"]["voices"]}
        assert "wearer" in voices.values() and "other" in voices.values()
        # the opening and the recording notice were read by the party: absent, shown as theirs
        read = [p for p in data["phrases"] if p["id"] in ("opening", "recording_notice")]
        assert all(p["status"] == "absent" for p in read)
        shown = next(p for p in read if p["said_by_other"])
        pid, reader = shown["id"], shown["said_by_other"][0]["speaker_id"]
        assert voices[reader] == "other"

        page = client.get(f"/recordings/{rid}").text
        assert 'id="speaker-lanes"' in page
        for sid, role in voices.items():
            assert f'class="lane-row" data-speaker="{sid}" data-role="{role}"' in page
        transcript = page[page.index('id="transcript"') :]
        assert 'class="speaker-col"' in transcript
        assert f'其他人员 <span class="mono">{reader}</span>' in transcript
        assert "执法人员（佩戴者）" in transcript
        assert f'data-code="{pid}_needs_listening"' in page

        log = decode_log()
        start = log.offset()
        r = client.post(
            f"/recordings/{rid}/speakers",
            data={
                "csrf_token": csrf_of(client, f"/recordings/{rid}"),
                "speaker_id": reader,
                "role": "officer",
                "comment": "复听确认：宣读开场白的是同行执法人员",
            },
            follow_redirects=False,
        )
        assert r.status_code == 303
        page = client.get(f"/recordings/{rid}").text
        assert f'data-code="{pid}_needs_listening"' not in page
        assert f'data-speaker="{reader}" data-role="officer"' in page
        reviewed = json.loads((folder / "report-reviewed.json").read_text())["recordings"][0]
        now = next(p for p in reviewed["phrases"] if p["id"] == pid)
        assert now["status"] != "absent" and now["speaker"] == "officer" and now["speaker_id"] == reader
        # held for listening, it cost nothing; counted after the correction, it is scored on its wording
        held = next(p for p in data["phrases"] if p["id"] == pid)
        assert held["needs_listening"] and held["points_lost"] == 0.0 and held["score"] == 0.0
        assert now["score"] > 0.0 and not now["needs_listening"]
        assert reviewed["transcript"]["segments"] == [
            {**s, **{k: s2[k] for k in ("speaker", "speaker_label")}}
            for s, s2 in zip(data["transcript"]["segments"], reviewed["transcript"]["segments"], strict=True)
        ]  # the same transcript: only who said it changed
        assert not [
            ln for ln in log.lines_since(start) if ln[1] in ("decode", "cached")
        ]  # not transcribed again

        export = client.post(
            f"/recordings/{rid}/export", data={"csrf_token": csrf_of(client, f"/recordings/{rid}")}
        )
        z = zipfile.ZipFile(io.BytesIO(export.content))
        bundle = json.loads(z.read("report.json"))["recordings"][0]
        assert not {f"{pid}_missing", f"{pid}_needs_listening"} & {f["code"] for f in bundle["findings"]}
        assert json.loads(z.read("review.json"))["speaker_overrides"][0]["role"] == "officer"
