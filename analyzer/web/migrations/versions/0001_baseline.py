"""Baseline: the web app's schema when migrations started (what `create_all` made until then).

The tables are declared here, frozen, rather than as create_table operations, so that a database made
before migrations can be compared with the baseline and stamped (analyzer.web.migrations._adopt).
Later revisions change the schema with operations as usual; this file never changes.

Revision ID: 0001
Revises:
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

metadata = sa.MetaData()

sa.Table(
    "access_log",
    metadata,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("seq", sa.Integer(), nullable=False),
    sa.Column("ts", sa.String(length=32), nullable=False),
    sa.Column("username", sa.String(length=64), nullable=False),
    sa.Column("role", sa.String(length=16), nullable=False),
    sa.Column("action", sa.String(length=32), nullable=False),
    sa.Column("recording_id", sa.Integer(), nullable=True),
    sa.Column("target", sa.Text(), nullable=False),
    sa.Column("purpose", sa.Text(), nullable=False),
    sa.Column("detail", sa.Text(), nullable=False),
    sa.Column("prev_hash", sa.String(length=64), nullable=False),
    sa.Column("hash", sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("seq"),
)
sa.Table(
    "access_log_head",
    metadata,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("seq", sa.Integer(), nullable=False),
    sa.Column("hash", sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint("id"),
)
sa.Table(
    "login_attempts",
    metadata,
    sa.Column("kind", sa.String(length=8), nullable=False),
    sa.Column("key", sa.String(length=255), nullable=False),
    sa.Column("count", sa.Integer(), nullable=False),
    sa.Column("window_start", sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint("kind", "key"),
    sa.Index("ix_login_attempts_window_start", "window_start"),
)
sa.Table(
    "settings",
    metadata,
    sa.Column("key", sa.String(length=64), nullable=False),
    sa.Column("value", sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint("key"),
)
sa.Table(
    "tombstones",
    metadata,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("recording_id", sa.Integer(), nullable=False),
    sa.Column("title", sa.String(length=255), nullable=False),
    sa.Column("retention_class", sa.String(length=64), nullable=False),
    sa.Column("stored_at", sa.DateTime(), nullable=False),
    sa.Column("files_json", sa.Text(), nullable=False),
    sa.Column("deleted_by", sa.String(length=64), nullable=False),
    sa.Column("deleted_at", sa.DateTime(), nullable=False),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("detail", sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_tombstones_recording_id", "recording_id"),
)
sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("username", sa.String(length=64), nullable=False),
    sa.Column("display_name", sa.String(length=128), nullable=False),
    sa.Column("password_hash", sa.String(length=255), nullable=False),
    sa.Column("role", sa.String(length=16), nullable=False),
    sa.Column("active", sa.Boolean(), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_users_username", "username", unique=True),
)
sa.Table(
    "officers",
    metadata,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("name", sa.String(length=64), nullable=False),
    sa.Column("badge_no", sa.String(length=32), nullable=False),
    sa.Column("unit", sa.String(length=128), nullable=False),
    sa.Column("user_id", sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("user_id"),
    sa.Index("ix_officers_badge_no", "badge_no"),
    sa.Index("ix_officers_unit", "unit"),
)
sa.Table(
    "recordings",
    metadata,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("title", sa.String(length=255), nullable=False),
    sa.Column("is_case", sa.Boolean(), nullable=False),
    sa.Column("guide", sa.String(length=255), nullable=False),
    sa.Column("profile", sa.String(length=64), nullable=False),
    sa.Column("status", sa.String(length=16), nullable=False),
    sa.Column("progress", sa.Float(), nullable=False),
    sa.Column("stage", sa.String(length=128), nullable=False),
    sa.Column("error", sa.Text(), nullable=False),
    sa.Column("duration_s", sa.Float(), nullable=True),
    sa.Column("score", sa.Float(), nullable=True),
    sa.Column("final_score", sa.Float(), nullable=True),
    sa.Column("flags_json", sa.Text(), nullable=False),
    sa.Column("result_dir", sa.Text(), nullable=False),
    sa.Column("integrity_alarm", sa.Text(), nullable=False),
    sa.Column("created_by", sa.Integer(), nullable=True),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("started_at", sa.DateTime(), nullable=True),
    sa.Column("finished_at", sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(["created_by"], ["users.id"]),
    sa.PrimaryKeyConstraint("id"),
)
sa.Table(
    "sessions",
    metadata,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("token_hash", sa.String(length=64), nullable=False),
    sa.Column("user_id", sa.Integer(), nullable=False),
    sa.Column("csrf_token", sa.String(length=64), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("last_seen", sa.DateTime(), nullable=False),
    sa.Column("expires_at", sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_sessions_token_hash", "token_hash", unique=True),
)
sa.Table(
    "training_jobs",
    metadata,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("user_id", sa.Integer(), nullable=False),
    sa.Column("target", sa.String(length=64), nullable=False),
    sa.Column("guide", sa.String(length=255), nullable=False),
    sa.Column("audio_path", sa.Text(), nullable=False),
    sa.Column("audio_name", sa.String(length=255), nullable=False),
    sa.Column("status", sa.String(length=16), nullable=False),
    sa.Column("error", sa.Text(), nullable=False),
    sa.Column("attempt_id", sa.Integer(), nullable=True),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("finished_at", sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_training_jobs_user_id", "user_id"),
)
sa.Table(
    "access_grants",
    metadata,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("session_id", sa.Integer(), nullable=False),
    sa.Column("recording_id", sa.Integer(), nullable=False),
    sa.Column("purpose", sa.Text(), nullable=False),
    sa.Column("approver", sa.String(length=128), nullable=False),
    sa.Column("unmasked", sa.Boolean(), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(["recording_id"], ["recordings.id"]),
    sa.ForeignKeyConstraint(["session_id"], ["sessions.id"]),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_access_grants_recording_id", "recording_id"),
    sa.Index("ix_access_grants_session_id", "session_id"),
)
sa.Table(
    "decisions",
    metadata,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("recording_id", sa.Integer(), nullable=False),
    sa.Column("finding_key", sa.String(length=128), nullable=False),
    sa.Column("action", sa.String(length=16), nullable=False),
    sa.Column("comment", sa.Text(), nullable=False),
    sa.Column("reviewer_id", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(["recording_id"], ["recordings.id"]),
    sa.ForeignKeyConstraint(["reviewer_id"], ["users.id"]),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_decisions_recording_id", "recording_id"),
)
sa.Table(
    "devices",
    metadata,
    sa.Column("device_id", sa.String(length=64), nullable=False),
    sa.Column("officer_id", sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(["officer_id"], ["officers.id"]),
    sa.PrimaryKeyConstraint("device_id"),
    sa.Index("ix_devices_officer_id", "officer_id"),
)
sa.Table(
    "explanations",
    metadata,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("recording_id", sa.Integer(), nullable=False),
    sa.Column("finding_key", sa.String(length=128), nullable=False),
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("file_path", sa.Text(), nullable=False),
    sa.Column("file_name", sa.String(length=255), nullable=False),
    sa.Column("file_sha256", sa.String(length=64), nullable=False),
    sa.Column("file_size", sa.Integer(), nullable=False),
    sa.Column("file_mime", sa.String(length=64), nullable=False),
    sa.Column("author_id", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(["author_id"], ["users.id"]),
    sa.ForeignKeyConstraint(["recording_id"], ["recordings.id"]),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_explanations_recording_id", "recording_id"),
)
sa.Table(
    "finding_results",
    metadata,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("recording_id", sa.Integer(), nullable=False),
    sa.Column("finding_key", sa.String(length=128), nullable=False),
    sa.Column("code", sa.String(length=64), nullable=False),
    sa.Column("phrase_id", sa.String(length=64), nullable=False),
    sa.Column("decided", sa.Boolean(), nullable=False),
    sa.Column("overridden", sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(["recording_id"], ["recordings.id"]),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_finding_results_code", "code", "overridden"),
    sa.Index("ix_finding_results_rec", "recording_id", "overridden", "code", "decided"),
)
sa.Table(
    "media_files",
    metadata,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("recording_id", sa.Integer(), nullable=False),
    sa.Column("position", sa.Integer(), nullable=False),
    sa.Column("stored_path", sa.Text(), nullable=False),
    sa.Column("original_name", sa.String(length=255), nullable=False),
    sa.Column("sha256", sa.String(length=64), nullable=False),
    sa.Column("size_bytes", sa.Integer(), nullable=False),
    sa.Column("mime", sa.String(length=64), nullable=False),
    sa.Column("uploaded", sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(["recording_id"], ["recordings.id"]),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_media_files_recording_id", "recording_id"),
)
sa.Table(
    "phrase_results",
    metadata,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("recording_id", sa.Integer(), nullable=False),
    sa.Column("phrase_id", sa.String(length=64), nullable=False),
    sa.Column("title", sa.String(length=128), nullable=False),
    sa.Column("required", sa.Boolean(), nullable=False),
    sa.Column("status", sa.String(length=8), nullable=False),
    sa.Column("final_status", sa.String(length=8), nullable=False),
    sa.ForeignKeyConstraint(["recording_id"], ["recordings.id"]),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_phrase_results_phrase", "phrase_id", "final_status"),
    sa.Index("ix_phrase_results_rec", "recording_id", "required", "phrase_id", "final_status"),
)
sa.Table(
    "record_metadata",
    metadata,
    sa.Column("recording_id", sa.Integer(), nullable=False),
    sa.Column("case_name", sa.Text(), nullable=False),
    sa.Column("party", sa.Text(), nullable=False),
    sa.Column("recorder", sa.String(length=128), nullable=False),
    sa.Column("badge_no", sa.String(length=64), nullable=False),
    sa.Column("recorded_time", sa.String(length=32), nullable=False),
    sa.Column("stored_time", sa.String(length=32), nullable=False),
    sa.Column("place", sa.Text(), nullable=False),
    sa.Column("sources_json", sa.Text(), nullable=False),
    sa.Column("captured_at", sa.DateTime(), nullable=True),
    sa.Column("capture_source", sa.String(length=32), nullable=False),
    sa.Column("stored_at", sa.DateTime(), nullable=False),
    sa.Column("stored_late", sa.Boolean(), nullable=False),
    sa.Column("prefilled", sa.Integer(), nullable=False),
    sa.Column("closed_at", sa.DateTime(), nullable=True),
    sa.Column("closed_by", sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(["recording_id"], ["recordings.id"]),
    sa.PrimaryKeyConstraint("recording_id"),
)
sa.Table(
    "recording_meta",
    metadata,
    sa.Column("recording_id", sa.Integer(), nullable=False),
    sa.Column("device_id", sa.String(length=64), nullable=False),
    sa.Column("officer_id", sa.Integer(), nullable=True),
    sa.Column("unit", sa.String(length=128), nullable=False),
    sa.Column("source", sa.String(length=16), nullable=False),
    sa.Column("recorded_at", sa.DateTime(), nullable=False),
    sa.Column("month", sa.String(length=7), nullable=False),
    sa.Column("indexed", sa.Integer(), nullable=False),
    sa.Column("opening_missing", sa.Integer(), nullable=False),
    sa.Column("unexplained_gap", sa.Integer(), nullable=False),
    sa.Column("undecided", sa.Integer(), nullable=False),
    sa.Column("decided", sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(["officer_id"], ["officers.id"]),
    sa.ForeignKeyConstraint(["recording_id"], ["recordings.id"]),
    sa.PrimaryKeyConstraint("recording_id"),
    sa.Index("ix_meta_month", "month", "unit"),
    sa.Index("ix_meta_officer_recorded", "officer_id", "recorded_at"),
    sa.Index("ix_meta_recorded_at", "recorded_at"),
    sa.Index("ix_meta_unit_recorded", "unit", "recorded_at"),
    sa.Index("ix_recording_meta_device_id", "device_id"),
)
sa.Table(
    "retention",
    metadata,
    sa.Column("recording_id", sa.Integer(), nullable=False),
    sa.Column("retention_class", sa.String(length=64), nullable=False),
    sa.Column("legal_hold", sa.Boolean(), nullable=False),
    sa.Column("hold_reason", sa.Text(), nullable=False),
    sa.Column("updated_by", sa.String(length=64), nullable=False),
    sa.Column("updated_at", sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(["recording_id"], ["recordings.id"]),
    sa.PrimaryKeyConstraint("recording_id"),
)


def upgrade() -> None:
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    metadata.drop_all(op.get_bind())
