"""Schema migrations of the web app's database (analyzer.web.migrations, Alembic).

The database from before migrations (tests/data/web-before-migrations) was made by the code of
that time (`create_all`, then users, a recording, a decision and a keyed access log written through
the app): its SQL dump and its access-log key. A later revision for tests only lives in
tests/data/migrations-later.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import Column, Integer, MetaData, Table, inspect
from test_web_support import PASSWORD, login

from analyzer.web import audit_log, migrations
from analyzer.web.db import make_sessionmaker, new_engine
from analyzer.web.migrations import make_engine

HERE = Path(__file__).resolve().parent
BEFORE = HERE / "data" / "web-before-migrations"
LATER = HERE / "data" / "migrations-later"
TABLES = ("users", "recordings", "media_files", "decisions", "access_log", "access_log_head", "settings")


ORIGINAL = b"RIFF" + "迁移前的原始文件".encode() * 40  # the recording's one original, in the store


def _before_migrations(tmp_path: Path) -> Path:
    """A data folder as the app left it before migrations: database, access-log key, original."""
    data = (tmp_path / "data").resolve()
    (data / "keys").mkdir(parents=True, mode=0o700)
    sha = hashlib.sha256(ORIGINAL).hexdigest()
    stored = data / "originals" / sha[:2] / sha / "x.wav"
    stored.parent.mkdir(parents=True)
    stored.write_bytes(ORIGINAL)
    con = sqlite3.connect(data / "scriptcheck.db")
    con.executescript((BEFORE / "scriptcheck.sql").read_text(encoding="utf-8").replace("@DATA@", str(data)))
    con.close()
    shutil.copy(BEFORE / "audit.key", data / "keys" / "audit.key")
    os.chmod(data / "keys" / "audit.key", 0o600)
    return data


def _rows(db_file: Path) -> dict[str, list[tuple]]:
    con = sqlite3.connect(db_file)
    try:
        return {t: con.execute(f"select * from {t} order by 1").fetchall() for t in TABLES}
    finally:
        con.close()


def _version(db_file: Path) -> list[tuple]:
    con = sqlite3.connect(db_file)
    try:
        return con.execute("select version_num from alembic_version").fetchall()
    finally:
        con.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'new.db'}"
        return
    cluster = request.getfixturevalue("pg_cluster")
    url = cluster.new_database()
    yield url
    cluster.drop(url)


def test_migrations_at_head_make_exactly_the_models_schema(empty_url):
    engine = make_engine(empty_url)  # a new database: created through the migrations
    try:
        with engine.connect() as con:
            assert migrations.current_revision(con) == migrations.head_revision()
            command.check(migrations.alembic_config(con))  # raises on any difference
            # ...and the comparison does see a model change that has no revision
            changed = MetaData()
            for table in migrations.target_metadata().tables.values():
                table.to_metadata(changed)
            Table("later_table", changed, Column("id", Integer, primary_key=True))
            diffs = compare_metadata(MigrationContext.configure(con), changed)
            assert [d[0] for d in diffs] == ["add_table"] and diffs[0][1].name == "later_table"
    finally:
        engine.dispose()


def test_a_database_from_before_migrations_upgrades_in_place_when_the_app_starts(tmp_path):
    from analyzer.web.app import WebConfig, create_app

    data = _before_migrations(tmp_path)
    db_file = data / "scriptcheck.db"
    before = _rows(db_file)
    assert before["access_log"] and before["decisions"] and not inspect_has_version(db_file)
    app = create_app(WebConfig(data_dir=data, db=str(db_file)), start_worker=False)
    assert _version(db_file) == [(migrations.head_revision(),)]
    assert _rows(db_file) == before
    with app.state.sessions() as db:
        check = audit_log.verify_chain(db)
    assert check.ok and check.entries == 5, check.problems
    with TestClient(app) as client:
        assert login(client, "chief").headers["location"] == "/queue"  # its password hash still works
        assert "迁移前的录像" in client.get("/queue").text
    with app.state.sessions() as db:
        check = audit_log.verify_chain(db)
    assert check.ok and check.entries == 6, check.problems  # the login went on the same chain
    app.state.engine.dispose()


def inspect_has_version(db_file: Path) -> bool:
    engine = new_engine(f"sqlite:///{db_file}")
    try:
        return inspect(engine).has_table("alembic_version")
    finally:
        engine.dispose()


def test_a_database_from_before_migrations_goes_through_a_later_revision(tmp_path):
    data = _before_migrations(tmp_path)
    db_file = data / "scriptcheck.db"
    before = _rows(db_file)
    engine = new_engine(f"sqlite:///{db_file}")
    try:
        outcome = migrations.prepare(engine, extra_versions=[LATER])
        assert (outcome.before, outcome.after, outcome.action) == (None, "t0002", "adopted")
        assert "later_note" in {c["name"] for c in inspect(engine).get_columns("recordings")}
        with engine.connect() as con:  # the rebuilt table kept its rows and the references to it
            assert con.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
            assert con.exec_driver_sql("PRAGMA foreign_keys").fetchone() == (1,)
        sessions = make_sessionmaker(engine)
        audit_log.attach_key(sessions, data)
        with sessions() as db:
            check = audit_log.verify_chain(db)
        assert check.ok and check.entries == 5, check.problems
    finally:
        engine.dispose()
    after = _rows(db_file)
    assert [r[-1] for r in after["recordings"]] == [""]  # the new column, at its default
    assert {**after, "recordings": [r[:-1] for r in after["recordings"]]} == before
    assert _version(db_file) == [("t0002",)]
    assert migrations.prepare(new_engine(f"sqlite:///{db_file}"), extra_versions=[LATER]).action == "current"


def test_a_database_from_before_migrations_gets_a_table_it_never_had(tmp_path):
    data = _before_migrations(tmp_path)
    con = sqlite3.connect(data / "scriptcheck.db")
    con.execute("drop table tombstones")  # made by a version before retention existed
    con.commit()
    con.close()
    engine = make_engine(f"sqlite:///{data / 'scriptcheck.db'}")
    try:
        assert inspect(engine).has_table("tombstones")
    finally:
        engine.dispose()
    assert _version(data / "scriptcheck.db") == [(migrations.head_revision(),)]


def test_a_database_made_by_the_models_before_migrations_is_adopted(tmp_path):
    """Tables of models merged after the baseline, made by create_all before migrations existed."""
    db_file = tmp_path / "now.db"
    engine = new_engine(f"sqlite:///{db_file}")
    migrations.target_metadata().create_all(engine)
    with engine.begin() as con:
        con.exec_driver_sql(
            "insert into users (username, display_name, password_hash, role, active, created_at) "
            "values ('chief', '', 'x', 'admin', 1, '2026-01-01 00:00:00')"
        )
    try:
        outcome = migrations.prepare(engine)
        assert (outcome.before, outcome.action) == (None, "adopted")
        with engine.connect() as con:
            command.check(migrations.alembic_config(con))
            assert con.exec_driver_sql("select username from users").fetchall() == [("chief",)]
    finally:
        engine.dispose()


def test_a_database_unlike_the_baseline_is_refused_and_left_alone(tmp_path):
    data = _before_migrations(tmp_path)
    con = sqlite3.connect(data / "scriptcheck.db")
    con.execute("alter table users add column nickname text")
    con.commit()
    con.close()
    before = (data / "scriptcheck.db").read_bytes()
    with pytest.raises(migrations.SchemaError, match="users 多出列 nickname"):
        make_engine(f"sqlite:///{data / 'scriptcheck.db'}")
    assert not inspect_has_version(data / "scriptcheck.db")
    assert _rows(data / "scriptcheck.db")["users"]
    assert len((data / "scriptcheck.db").read_bytes()) == len(before)


def _serve(argv: list[str]) -> int:
    from analyzer.commands import serve

    parser = argparse.ArgumentParser()
    serve.add_arguments(parser)
    return serve.run(parser.parse_args(argv))


def test_postgresql_behind_head_starts_only_with_migrate(pg_cluster, tmp_path, monkeypatch, capsys):
    url = pg_cluster.new_database()
    try:
        engine = new_engine(url)  # as `create_all` left a PostgreSQL database before migrations
        baseline = migrations._baseline(migrations.ScriptDirectory.from_config(migrations.alembic_config()))
        baseline.metadata.create_all(engine)
        monkeypatch.setenv("SCRIPTCHECK_ADMIN_PASSWORD", PASSWORD)
        args = ["--data-dir", str(tmp_path / "data"), "--db", url, "--create-admin", "pgchief"]
        with pytest.raises(migrations.SchemaBehind):
            make_engine(url)
        assert _serve(args) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "scriptcheck serve --migrate" in err
        assert not inspect(engine).has_table("alembic_version")

        assert _serve([*args, "--migrate"]) == 0
        out = capsys.readouterr().out
        assert "已识别迁移前创建的数据库" in out and "已创建管理员 pgchief" in out
        with engine.connect() as con:
            assert migrations.current_revision(con) == migrations.head_revision()
        assert (
            _serve(["--data-dir", str(tmp_path / "data"), "--db", url, "--migrate", "--create-admin", "x"])
            == 0
        )
        assert "无需升级" in capsys.readouterr().out

        # a later revision: refused without --migrate, applied with it
        with pytest.raises(migrations.SchemaBehind, match="scriptcheck serve --migrate"):
            migrations.prepare(engine, extra_versions=[LATER])
        outcome = migrations.prepare(engine, migrate=True, extra_versions=[LATER])
        assert (outcome.before, outcome.after, outcome.action) == (
            migrations.head_revision(),
            "t0002",
            "upgraded",
        )
        assert "later_note" in {c["name"] for c in inspect(engine).get_columns("recordings")}
        engine.dispose()
    finally:
        pg_cluster.drop(url)


def test_the_migrations_ship_in_the_wheel_and_run_from_it(tmp_path):
    """No alembic.ini, no checkout: the installed package alone upgrades a database."""
    src = tmp_path / "src"  # a copy: an in-tree build would leave build/ in the checkout
    shutil.copytree(HERE.parent / "analyzer", src / "analyzer", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(HERE.parent / name, src / name)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(src),
        ],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    (wheel,) = tmp_path.glob("scriptcheck-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("env.py", "script.py.mako", "versions/0001_baseline.py"):
        assert f"analyzer/web/migrations/{name}" in names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = (
        "import analyzer, sys; from analyzer.web.migrations import make_engine; "
        "from analyzer.web import migrations; e = make_engine(sys.argv[1]); "
        "c = e.connect(); print(analyzer.__file__, migrations.current_revision(c))"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    out = subprocess.run(
        [sys.executable, "-c", code, f"sqlite:///{tmp_path / 'w.db'}"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    ).stdout.split()
    assert out == [str(site / "analyzer" / "__init__.py"), migrations.head_revision()]


def test_serve_migrate_says_what_it_did_then_serves(tmp_path, monkeypatch, capsys):
    import uvicorn

    served = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: served.append(app))
    data = _before_migrations(tmp_path)
    db_file = data / "scriptcheck.db"
    assert _serve(["--data-dir", str(data), "--db", str(db_file), "--migrate"]) == 0
    out = capsys.readouterr().out
    assert f"已识别迁移前创建的数据库（基线 0001），并升级到版本 {migrations.head_revision()}" in out
    assert len(served) == 1 and _version(db_file) == [(migrations.head_revision(),)]
    assert _serve(["--data-dir", str(data), "--db", str(db_file), "--migrate"]) == 0
    assert "无需升级" in capsys.readouterr().out and len(served) == 2
