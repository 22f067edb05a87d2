"""The clinic's settings (the app's password hash and session secret) and its mats.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "settings",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("changed_utc", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_settings")),
    )
    op.create_table(
        "mats",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("port", sa.Text(), nullable=False),
        sa.Column("protocol", sa.String(length=32), nullable=False),
        sa.Column("calibration", sa.Text(), nullable=False),
        sa.Column("calibration_id", sa.Text(), nullable=False),
        sa.Column("added_utc", sa.DateTime(), nullable=False),
        sa.CheckConstraint("name <> ''", name=op.f("ck_mats_name")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mats")),
        sa.UniqueConstraint("name", name=op.f("uq_mats_name")),
    )


def downgrade():
    op.drop_table("mats")
    op.drop_table("settings")
