"""The viewing-request workflow (第十四条 approvals) and reviewers' speaker corrections, merged after
the baseline: tables viewing_requests and speaker_overrides; access_grants (the purpose a session
stated, replaced by approved requests) goes. The purposes stated stay in the access log.

Databases made by `create_all` after those merges and before migrations already hold the new tables
(adopted with the baseline, see analyzer.web.migrations._adopt): existing ones are kept.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

added = sa.MetaData()
# what the new tables' foreign keys point at (existing tables: never created here)
sa.Table("users", added, sa.Column("id", sa.Integer(), primary_key=True))
sa.Table("recordings", added, sa.Column("id", sa.Integer(), primary_key=True))
NEW = ("speaker_overrides", "viewing_requests")

sa.Table(
    "speaker_overrides",
    added,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("recording_id", sa.Integer(), nullable=False),
    sa.Column("speaker_id", sa.String(length=16), nullable=False),
    sa.Column("role", sa.String(length=16), nullable=False),
    sa.Column("previous_role", sa.String(length=16), nullable=False),
    sa.Column("comment", sa.Text(), nullable=False),
    sa.Column("reviewer_id", sa.Integer(), nullable=False),
    sa.Column("analysis_at", sa.DateTime(), nullable=True),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(["recording_id"], ["recordings.id"]),
    sa.ForeignKeyConstraint(["reviewer_id"], ["users.id"]),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_speaker_overrides_recording_id", "recording_id"),
)
sa.Table(
    "viewing_requests",
    added,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("requester_id", sa.Integer(), nullable=False),
    sa.Column("recording_id", sa.Integer(), nullable=False),
    sa.Column("purpose", sa.String(length=64), nullable=False),
    sa.Column("purpose_detail", sa.Text(), nullable=False),
    sa.Column("requested_at", sa.DateTime(), nullable=False),
    sa.Column("state", sa.String(length=16), nullable=False),
    sa.Column("decided_by_id", sa.Integer(), nullable=True),
    sa.Column("decided_at", sa.DateTime(), nullable=True),
    sa.Column("decision_note", sa.Text(), nullable=False),
    sa.Column("valid_until", sa.DateTime(), nullable=True),
    sa.Column("unmasked", sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"]),
    sa.ForeignKeyConstraint(["recording_id"], ["recordings.id"]),
    sa.ForeignKeyConstraint(["requester_id"], ["users.id"]),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_viewing_requests_recording_id", "recording_id"),
    sa.Index("ix_viewing_requests_requester_id", "requester_id"),
    sa.Index("ix_viewing_requests_state", "state"),
)


def upgrade() -> None:
    bind = op.get_bind()
    # checkfirst: the tables create_all made before migrations stay as they are
    added.create_all(bind, tables=[added.tables[name] for name in NEW])
    if sa.inspect(bind).has_table("access_grants"):
        op.drop_table("access_grants")


def downgrade() -> None:
    added.drop_all(op.get_bind(), tables=[added.tables[name] for name in NEW])
