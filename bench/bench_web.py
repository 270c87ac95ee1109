"""What the reviewer web app adds on top of the pipeline: upload -> analysed (vs the pipeline alone),
recording page, evidence export, access-log verification at scale, password check.

    python bench/bench_web.py [--log-entries 5000]

The transcript cache is warm for both the direct and the web run (the first, untimed run fills it),
so the difference is the web app's own cost: storing the original, the queue, the worker, the JSON.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _timed(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log-entries", type=int, default=5000)
    parser.add_argument("--sample", default=str(ROOT / "samples" / "inspection_no_opening.wav"))
    args = parser.parse_args(argv)

    from fastapi.testclient import TestClient

    from analyzer.web import audit_log
    from analyzer.web.app import WebConfig, create_app
    from analyzer.web.auth import create_user, hash_password, verify_password
    from analyzer.web.jobs import run_pipeline

    sample = Path(args.sample)
    run_pipeline([str(sample)], None, lambda f, s: None)  # warm the transcript cache and the model
    direct = _timed(lambda: run_pipeline([str(sample)], None, lambda f, s: None))

    data_dir = Path(tempfile.mkdtemp(prefix="bench-web-"))
    app = create_app(WebConfig(data_dir=data_dir))
    with app.state.sessions() as db:
        create_user(db, "bench", "bench-password-1", "admin")
    rows = []
    with TestClient(app) as client:
        page = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        client.post("/login", data={"username": "bench", "password": "bench-password-1", "csrf_token": token})
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/import").text).group(1)

        def upload_and_wait() -> int:
            r = client.post(
                "/import/upload",
                data={"csrf_token": csrf},
                files={"files": (sample.name, sample.read_bytes(), "audio/wav")},
                follow_redirects=False,
            )
            rid = int(r.headers["location"].split("=")[1])
            while next(x for x in client.get("/api/queue").json() if x["id"] == rid)["status"] not in (
                "done",
                "error",
            ):
                time.sleep(0.05)
            return rid

        web_times = []
        for _ in range(3):
            t0 = time.perf_counter()
            rid = upload_and_wait()
            web_times.append(time.perf_counter() - t0)
        web = statistics.median(web_times)
        client.post(
            f"/recordings/{rid}/purpose", data={"csrf_token": csrf, "purpose": "案件审核", "approver": "x"}
        )
        page_s = _timed(lambda: client.get(f"/recordings/{rid}"), 5)
        export_s = _timed(lambda: client.post(f"/recordings/{rid}/export", data={"csrf_token": csrf}), 3)
        rows += [
            ("pipeline alone (warm cache), s", f"{direct:.2f}"),
            ("upload -> analysed through the web app, s", f"{web:.2f}"),
            ("web app's own share, s", f"{web - direct:.2f}"),
            ("recording page render, ms", f"{page_s * 1000:.0f}"),
            ("evidence export (zip), ms", f"{export_s * 1000:.0f}"),
        ]

    with app.state.sessions() as db:
        t0 = time.perf_counter()
        for i in range(args.log_entries):
            audit_log.append(
                db, username="bench", action="view", recording_id=1, purpose="bench", detail=str(i)
            )
        append_ms = (time.perf_counter() - t0) * 1000 / args.log_entries
        t0 = time.perf_counter()
        check = audit_log.verify_chain(db)
        verify_s = time.perf_counter() - t0
    assert check.ok
    stored = hash_password("x" * 12)
    rows += [
        ("access-log append (commit each), ms/entry", f"{append_ms:.2f}"),
        (f"access-log verify, {check.entries} entries, s", f"{verify_s:.2f}"),
        ("argon2id password check, ms", f"{_timed(lambda: verify_password(stored, 'x' * 12)) * 1000:.0f}"),
    ]
    print("| measure | value |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
