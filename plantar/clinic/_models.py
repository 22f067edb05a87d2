"""The clinic's tables, as SQLAlchemy 2 typed models.

The database holds metadata and hashes only; pressure frames stay in the NetCDF
trial files in the clinic folder. Every change to these models is an Alembic
revision in ``plantar/clinic/migrations/versions`` (a test compares the models
with the migrated schema).
"""

import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from .._clinic_kinds import CONDITION_KINDS

#: Constraint names follow one convention, so that migrations can name them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _utc_now():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


class Patient(Base):
    """A patient: an id chosen by the clinic (``code``) and optional details."""

    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(Text)
    birth_year: Mapped[int | None] = mapped_column(Integer)
    sex: Mapped[str | None] = mapped_column(String(16))
    body_mass_kg: Mapped[float | None] = mapped_column(Float)
    shoe_size_eu: Mapped[float | None] = mapped_column(Float)
    notes: Mapped[str | None] = mapped_column(Text)
    created_utc: Mapped[datetime.datetime] = mapped_column(DateTime, default=_utc_now)

    visits: Mapped[list["Visit"]] = relationship(back_populates="patient", order_by="Visit.date")


class Visit(Base):
    """One visit of a patient: a date, the complaint, the clinician, notes."""

    __tablename__ = "visits"
    __table_args__ = (Index("ix_visits_patient_date", "patient_id", "date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="RESTRICT"))
    date: Mapped[datetime.date] = mapped_column(Date)
    complaint: Mapped[str | None] = mapped_column(Text)
    clinician: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    created_utc: Mapped[datetime.datetime] = mapped_column(DateTime, default=_utc_now)

    patient: Mapped[Patient] = relationship(back_populates="visits")
    trials: Mapped[list["Trial"]] = relationship(back_populates="visit", order_by="Trial.id")


class Trial(Base):
    """One trial file of a visit, in a condition, with the file's hash and what it holds."""

    __tablename__ = "trials"
    __table_args__ = (
        CheckConstraint("condition_kind IN ('barefoot', 'shod', 'orthotic')", name="condition_kind"),
        CheckConstraint("sha256 <> ''", name="sha256"),
        Index("ix_trials_visit_condition", "visit_id", "condition_kind", "label"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="RESTRICT"))
    condition_kind: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    path: Mapped[str] = mapped_column(String(400), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    device: Mapped[str] = mapped_column(Text, default="")
    calibration_id: Mapped[str] = mapped_column(Text, default="")
    recorded_utc: Mapped[str] = mapped_column(Text, default="")
    sampling_rate_hz: Mapped[float] = mapped_column(Float)
    frame_count: Mapped[int] = mapped_column(Integer)
    duration_s: Mapped[float] = mapped_column(Float)
    source_format: Mapped[str] = mapped_column(Text, default="")
    added_utc: Mapped[datetime.datetime] = mapped_column(DateTime, default=_utc_now)

    visit: Mapped[Visit] = relationship(back_populates="trials")


class Report(Base):
    """A report written from the clinic's trials: its file, hash, and whether it names the patient."""

    __tablename__ = "reports"
    __table_args__ = (Index("ix_reports_patient", "patient_id", "created_utc"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="RESTRICT"))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(Text)
    path: Mapped[str] = mapped_column(String(400), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    created_utc: Mapped[datetime.datetime] = mapped_column(DateTime, default=_utc_now)


class Setting(Base):
    """One setting of the clinic (the app's password hash, its session secret, the protocol's
    complete steps), as a JSON value under a key."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    changed_utc: Mapped[datetime.datetime] = mapped_column(DateTime, default=_utc_now)


class Mat(Base):
    """A mat the clinic uses: a name, its port (or the virtual mat), protocol and calibration file."""

    __tablename__ = "mats"
    __table_args__ = (CheckConstraint("name <> ''", name="name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    port: Mapped[str] = mapped_column(Text)
    protocol: Mapped[str] = mapped_column(String(32))
    calibration: Mapped[str] = mapped_column(Text, default="")
    calibration_id: Mapped[str] = mapped_column(Text, default="")
    added_utc: Mapped[datetime.datetime] = mapped_column(DateTime, default=_utc_now)
