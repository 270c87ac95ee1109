"""A revision after the baseline, for tests only (tests/test_web_migrations.py): it gives
`recordings` a column by rebuilding the table (SQLite's batch mode copies it while other tables'
foreign keys point at it), as a real later revision would.

Revision ID: t0002
Revises: the package's head
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from analyzer.web.migrations import head_revision

revision = "t0002"
down_revision = head_revision()  # the package's revisions only: this one always comes after them
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("recordings", recreate=_recreate()) as batch:
        batch.add_column(sa.Column("later_note", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("recordings", recreate=_recreate()) as batch:
        batch.drop_column("later_note")


def _recreate() -> str:
    return "always" if op.get_bind().dialect.name == "sqlite" else "auto"
