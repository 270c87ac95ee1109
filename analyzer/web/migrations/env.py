"""Alembic's environment for the web app's schema. Run through analyzer.web.migrations, which hands
over an open connection (no alembic.ini, no URL here): the same code path for the app, the CLI and
the tests."""

from __future__ import annotations

from alembic import context

from analyzer.web.migrations import target_metadata

connection = context.config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise RuntimeError("run migrations through analyzer.web.migrations (scriptcheck serve --migrate)")

context.configure(
    connection=connection,
    target_metadata=target_metadata(),
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters a table by copying it
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
