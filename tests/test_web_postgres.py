"""The web app's database on a real PostgreSQL server: the session's throwaway cluster (Debian's
`postgresql`, initdb under a temporary folder, a Unix socket only, no TCP; tests/conftest.py).

What is PostgreSQL's own: two processes appending at once must leave one linear hash chain (the
log's head row is locked for each append), and `serve` on a server URL. The rest of the web suite
runs on PostgreSQL with SCRIPTCHECK_TEST_DB=postgresql (.ci/run).
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

N = 150  # appends per writer process


@pytest.fixture()
def pg_url(pg_cluster):
    """A new, empty database on the session's throwaway cluster (tests/conftest.py)."""
    url = pg_cluster.new_database()
    yield url
    pg_cluster.drop(url)


def _append_many(url: str, data_dir: str, who: str, n: int, ready) -> None:
    from analyzer.web import audit_log
    from analyzer.web.db import make_sessionmaker
    from analyzer.web.migrations import make_engine

    sessions = make_sessionmaker(make_engine(url))
    audit_log.attach_key(sessions, Path(data_dir))
    ready.wait(timeout=120)  # both writers start appending at the same moment
    for i in range(n):
        with sessions() as db:
            audit_log.append(db, username=who, action="view", detail=str(i))


def test_access_log_stays_one_chain_with_two_writer_processes(pg_url, tmp_path):
    from sqlalchemy import select

    from analyzer.web import audit_log
    from analyzer.web.db import AccessLogEntry, make_sessionmaker
    from analyzer.web.migrations import make_engine

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
