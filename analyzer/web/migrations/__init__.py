"""Schema migrations of the web app's database (Alembic), configured in code.

The migration environment ships inside the package (env.py and versions/ next to this file), so an
installed wheel can upgrade a database without an alembic.ini or a source checkout. `make_engine`
(here) brings every database to the head revision:

- a new, empty database is created at head (on any server: there is nothing to lose);
- SQLite is upgraded at start, as the embedded default has no administrator to ask;
- a server database (PostgreSQL) that is behind is left alone unless asked (`scriptcheck serve
  --migrate`): several app servers may share it, and its administrator decides when it changes;
- a database made before migrations existed (tables, no `alembic_version`) is recognised when its
  tables are the baseline's, stamped with the baseline and upgraded from there.

A new revision: change the models, then `python -m analyzer.web.migrations revision "message"`
writes one with the differences filled in (review it); tests/test_web_migrations.py fails while
the models and the revisions disagree.
"""

from __future__ import annotations

import importlib
import logging
import os
import pkgutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, MetaData, inspect, text

from analyzer.web.db import new_engine

HERE = Path(__file__).resolve().parent
VERSIONS = HERE / "versions"
BASELINE = "0001"
PG_LOCK_KEY = 0x5C_0017  # pg_advisory_xact_lock: one app server migrates, the others wait and find head

log = logging.getLogger(__name__)


class SchemaError(RuntimeError):
    """The database's schema cannot be used by this version (message in Chinese, one line)."""


class SchemaBehind(SchemaError):
    """A server database behind head, and no --migrate."""


def target_metadata() -> MetaData:
    """The models' tables: those of every module of analyzer.web (tables are declared next to the
    code that uses them, so the metadata is complete only when all of them are imported)."""
    for module in pkgutil.iter_modules([str(HERE.parent)]):
        if module.name != "migrations":
            importlib.import_module(f"analyzer.web.{module.name}")
    from analyzer.web.db import Base

    return Base.metadata


def alembic_config(connection: Connection | None = None, extra_versions: Sequence[Path] = ()) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", os.pathsep.join(str(p) for p in (VERSIONS, *extra_versions)))
    cfg.attributes["connection"] = connection
    return cfg


@dataclass(frozen=True)
class Outcome:
    before: str | None  # revision found; None: no alembic_version
    after: str
    action: str  # current | created | adopted | upgraded

    def describe(self) -> str:
        if self.action == "current":
            return f"数据库结构已是最新版本（{self.after}），无需升级"
        if self.action == "created":
            return f"已创建数据库结构（版本 {self.after}）"
        if self.action == "adopted":
            return f"已识别迁移前创建的数据库（基线 {BASELINE}），并升级到版本 {self.after}"
        return f"数据库结构已从版本 {self.before} 升级到 {self.after}"


def head_revision(cfg: Config | None = None) -> str:
    head = ScriptDirectory.from_config(cfg or alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _baseline(script: ScriptDirectory) -> ModuleType:
    revision = script.get_revision(BASELINE)
    assert revision is not None
    return revision.module


def _adopt(connection: Connection, cfg: Config, script: ScriptDirectory) -> None:
    """A database made by `create_all` before migrations: stamp it with the baseline when its tables
    are the baseline's (a table missing altogether is created, as create_all did at every start);
    tables of models merged later are kept when they are as the models have them (the revision that
    adds them leaves existing ones alone)."""
    baseline: MetaData = _baseline(script).metadata
    insp = inspect(connection)
    existing = set(insp.get_table_names())
    models = target_metadata()
    problems = [f"多出表 {n}" for n in sorted(existing - set(baseline.tables) - set(models.tables))]
    # a table beyond the baseline is one create_all made for a model merged later: as the model has it
    later = [models.tables[n] for n in existing - set(baseline.tables) if n in models.tables]
    for table in [*baseline.sorted_tables, *later]:
        if table.name not in existing:
            continue
        have = {c["name"] for c in insp.get_columns(table.name)}
        want = {c.name for c in table.columns}
        problems += [f"{table.name} 缺少列 {c}" for c in sorted(want - have)]
        problems += [f"{table.name} 多出列 {c}" for c in sorted(have - want)]
    if problems:
        raise SchemaError(
            "无法识别的数据库结构：没有版本记录（alembic_version），表结构也与基线 "
            f"{BASELINE} 不符（{'；'.join(problems[:5])}{' 等' if len(problems) > 5 else ''}）"
        )
    missing = [t for t in baseline.sorted_tables if t.name not in existing]
    baseline.create_all(connection, tables=missing)
    command.stamp(cfg, BASELINE)


def make_engine(url: str, *, migrate: bool = False) -> Engine:
    """An engine on a database at the schema's head revision (see prepare)."""
    engine = new_engine(url)
    try:
        prepare(engine, migrate=migrate)
    except BaseException:
        engine.dispose()
        raise
    return engine


def prepare(engine: Engine, *, migrate: bool = False, extra_versions: Sequence[Path] = ()) -> Outcome:
    """Bring the database to head, or raise SchemaError/SchemaBehind (see the module docstring)."""
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        if sqlite:  # batch migrations copy tables: foreign keys are checked once, at the end
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        try:
            outcome = _prepare(connection, migrate, extra_versions)
        finally:
            if sqlite:  # the pooled connection goes back as make_engine configured it
                connection.rollback()
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()
    if outcome.action != "current":
        log.info(outcome.describe())
    return outcome


def _prepare(connection: Connection, migrate: bool, extra_versions: Sequence[Path]) -> Outcome:
    sqlite = connection.dialect.name == "sqlite"
    if connection.dialect.name == "postgresql":  # held until commit or rollback
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_LOCK_KEY})
    cfg = alembic_config(connection, extra_versions)
    script = ScriptDirectory.from_config(cfg)
    head = script.get_current_head()
    assert head is not None
    current = current_revision(connection)
    if current == head:
        connection.rollback()
        return Outcome(current, head, "current")
    if current is not None and current not in {r.revision for r in script.walk_revisions()}:
        raise SchemaError(f"数据库结构版本 {current} 比本程序（{head}）新：请升级 Scriptcheck")
    tables = set(inspect(connection).get_table_names()) - {"alembic_version"}
    if tables and not (migrate or sqlite):
        found = current or "迁移前创建，无版本记录"
        raise SchemaBehind(
            f"数据库结构（{found}）落后于本程序（{head}）：请先运行 scriptcheck serve --migrate"
        )
    if current is None and tables:
        _adopt(connection, cfg, script)
        action = "adopted"
    else:
        action = "upgraded" if tables else "created"
    command.upgrade(cfg, "head")
    if sqlite and (broken := connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()):
        raise SchemaError(f"升级后外键不一致：{broken[:3]}")
    connection.commit()
    return Outcome(current, head, action)
