"""The web app's database on a real PostgreSQL server: a throwaway cluster (Debian's `postgresql`,
initdb under a temporary folder, a Unix socket only, no TCP), started here and always stopped.

Only the schema and the access log so far: two processes appending at once must leave one linear
hash chain (the log's head row is locked for each append).
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

PG_BIN = Path("/usr/lib/postgresql")
N = 150  # appends per writer process


def _pg_tool(name: str) -> str | None:
    found = sorted(PG_BIN.glob(f"*/bin/{name}"))
    return str(found[-1]) if found else shutil.which(name)


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture(scope="module")
def pg_url():
    from conftest import skip_or_fail

    try:
        import psycopg  # noqa: F401
    except ImportError:
        skip_or_fail("PostgreSQL tests: psycopg not installed (pip install -e '.[test]')")
    initdb, pg_ctl = _pg_tool("initdb"), _pg_tool("pg_ctl")
    if not initdb or not pg_ctl:
        skip_or_fail("PostgreSQL tests: server binaries not installed (apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="pgt", dir="/tmp"))
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(root, "postgres")
    data = root / "data"
    with socket.socket() as s:  # the port only names the socket file: no TCP listener
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    subprocess.run(_as_postgres([initdb, "-D", str(data), "-A", "trust", "-U", "postgres"]),
                   check=True, capture_output=True)  # fmt: skip
    opts = f"-k {root} -c listen_addresses='' -p {port}"
    start = [pg_ctl, "-D", str(data), "-o", opts, "-l", str(root / "log"), "-w", "start"]
    subprocess.run(_as_postgres(start), check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@/postgres?host={root}&port={port}"
    finally:
        subprocess.run(
            _as_postgres([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]), capture_output=True
        )
        shutil.rmtree(root, ignore_errors=True)


def _append_many(url: str, data_dir: str, who: str, n: int, ready) -> None:
    from analyzer.web import audit_log
    from analyzer.web.db import make_engine, make_sessionmaker

    sessions = make_sessionmaker(make_engine(url))
    audit_log.attach_key(sessions, Path(data_dir))
    ready.wait(timeout=120)  # both writers start appending at the same moment
    for i in range(n):
        with sessions() as db:
            audit_log.append(db, username=who, action="view", detail=str(i))


def test_access_log_stays_one_chain_with_two_writer_processes(pg_url, tmp_path):
    from sqlalchemy import select

    from analyzer.web import audit_log
    from analyzer.web.db import AccessLogEntry, make_engine, make_sessionmaker

    sessions = make_sessionmaker(make_engine(pg_url))  # creates the schema on the server
    audit_log.attach_key(sessions, tmp_path)
    with sessions() as db:
        audit_log.append(db, username="setup", action="view")  # the head row exists before the race
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Barrier(2)
    procs = [
        ctx.Process(target=_append_many, args=(pg_url, str(tmp_path), f"u{k}", N, ready)) for k in range(2)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
        assert p.exitcode == 0
    with sessions() as db:
        check = audit_log.verify_chain(db)
        seqs = list(db.scalars(select(AccessLogEntry.seq).order_by(AccessLogEntry.seq)))
        users = [e.username for e in db.scalars(select(AccessLogEntry).order_by(AccessLogEntry.seq))]
    assert check.ok, check.problems
    assert seqs == list(range(1, 2 * N + 2))
    assert users.count("u0") == users.count("u1") == N


def test_serve_creates_an_admin_and_logs_in_on_postgresql(pg_url, tmp_path, monkeypatch):
    import argparse

    from fastapi.testclient import TestClient
    from test_web_support import PASSWORD, login

    from analyzer.commands import serve
    from analyzer.web.app import WebConfig, create_app

    parser = argparse.ArgumentParser()
    serve.add_arguments(parser)
    monkeypatch.setenv("SCRIPTCHECK_ADMIN_PASSWORD", PASSWORD)
    data = tmp_path / "data"
    assert (
        serve.run(parser.parse_args(["--data-dir", str(data), "--db", pg_url, "--create-admin", "pgchief"]))
        == 0
    )
    app = create_app(WebConfig(data_dir=data, db=pg_url), start_worker=False)
    with TestClient(app) as client:
        assert login(client, "pgchief").headers["location"] == "/queue"
        assert client.get("/queue").status_code == 200


def test_postgresql_without_its_driver_is_one_clear_line(tmp_path, monkeypatch, capsys):
    import argparse
    import sys

    from analyzer.commands import serve

    parser = argparse.ArgumentParser()
    serve.add_arguments(parser)
    monkeypatch.setitem(sys.modules, "psycopg", None)
    args = parser.parse_args(["--data-dir", str(tmp_path), "--db", "postgresql+psycopg://u@h/db"])
    assert serve.run(args) == 2
    err = capsys.readouterr().err
    assert "pip install -e .[postgresql]" in err and len(err.strip().splitlines()) == 1
