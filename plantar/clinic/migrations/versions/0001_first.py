"""The first clinic schema: patients, visits, trials and reports.

Revision ID: 0001
Revises:
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "patients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("birth_year", sa.Integer(), nullable=True),
        sa.Column("sex", sa.String(length=16), nullable=True),
        sa.Column("body_mass_kg", sa.Float(), nullable=True),
        sa.Column("shoe_size_eu", sa.Float(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_utc", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patients")),
        sa.UniqueConstraint("code", name=op.f("uq_patients_code")),
    )
    op.create_table(
        "visits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("complaint", sa.Text(), nullable=True),
        sa.Column("clinician", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_utc", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name=op.f("fk_visits_patient_id_patients"),
                                ondelete="RESTRICT"),  # fmt: skip
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visits")),
    )
    op.create_index("ix_visits_patient_date", "visits", ["patient_id", "date"], unique=False)
    op.create_table(
        "trials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("condition_kind", sa.String(length=16), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("path", sa.String(length=400), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("device", sa.Text(), nullable=False),
        sa.Column("calibration_id", sa.Text(), nullable=False),
        sa.Column("recorded_utc", sa.Text(), nullable=False),
        sa.Column("sampling_rate_hz", sa.Float(), nullable=False),
        sa.Column("frame_count", sa.Integer(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("source_format", sa.Text(), nullable=False),
        sa.Column("added_utc", sa.DateTime(), nullable=False),
        sa.CheckConstraint("condition_kind IN ('barefoot', 'shod', 'orthotic')",
                           name=op.f("ck_trials_condition_kind")),  # fmt: skip
        sa.CheckConstraint("sha256 <> ''", name=op.f("ck_trials_sha256")),
        sa.ForeignKeyConstraint(["visit_id"], ["visits.id"], name=op.f("fk_trials_visit_id_visits"),
                                ondelete="RESTRICT"),  # fmt: skip
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trials")),
        sa.UniqueConstraint("path", name=op.f("uq_trials_path")),
        sa.UniqueConstraint("uid", name=op.f("uq_trials_uid")),
    )
    op.create_index("ix_trials_visit_condition", "trials", ["visit_id", "condition_kind", "label"], unique=False)
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("path", sa.String(length=400), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("created_utc", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name=op.f("fk_reports_patient_id_patients"),
                                ondelete="RESTRICT"),  # fmt: skip
        sa.ForeignKeyConstraint(["visit_id"], ["visits.id"], name=op.f("fk_reports_visit_id_visits"),
                                ondelete="RESTRICT"),  # fmt: skip
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
        sa.UniqueConstraint("path", name=op.f("uq_reports_path")),
    )
    op.create_index("ix_reports_patient", "reports", ["patient_id", "created_utc"], unique=False)


def downgrade():
    op.drop_index("ix_reports_patient", table_name="reports")
    op.drop_table("reports")
    op.drop_index("ix_trials_visit_condition", table_name="trials")
    op.drop_table("trials")
    op.drop_index("ix_visits_patient_date", table_name="visits")
    op.drop_table("visits")
    op.drop_table("patients")
