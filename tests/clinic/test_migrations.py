"""The schema: built by the shipped migrations, no drift from the models, older databases upgraded."""

import datetime

import pytest
import sqlalchemy as sa

from plantar.clinic import Clinic, ClinicError
from plantar.clinic import _db

FIRST = "0001"


def _engine(tmp_path, new_url):
    url = new_url() or _db.sqlite_url(tmp_path / "db.sqlite")
    return _db.make_engine(url)


def test_the_migrated_schema_is_the_models(tmp_path, new_url):
    engine = _engine(tmp_path, new_url)
    assert _db.current_revision(engine) is None
    _db.upgrade(engine)
    assert _db.current_revision(engine) == _db.head_revision()
    assert _db.table_names(engine) == {"alembic_version", "patients", "visits", "trials", "reports", "settings", "mats"}
    assert _db.schema_drift(engine) == []  # what 'alembic check' would say: nothing to generate
    engine.dispose()


def test_the_drift_check_sees_a_model_change(tmp_path, new_url):
    engine = _engine(tmp_path, new_url)
    _db.upgrade(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE patients ADD COLUMN nickname VARCHAR(20)")
    diffs = _db.schema_drift(engine)
    assert [d[0] for d in diffs] == ["remove_column"] and diffs[0][3].name == "nickname"
    engine.dispose()


def test_rows_made_at_the_first_revision_survive_the_upgrade(tmp_path, new_url):
    engine = _engine(tmp_path, new_url)
    _db.upgrade(engine, FIRST)
    created = datetime.datetime(2024, 3, 1, 9, 30)
    with engine.begin() as connection:  # rows written by the first schema's SQL, not by today's models
        connection.execute(sa.text("INSERT INTO patients (id, code, name, birth_year, created_utc) "
                                   "VALUES (1, 'P001', 'First Patient', 1950, :t)"), {"t": created})  # fmt: skip
        connection.execute(sa.text("INSERT INTO visits (id, patient_id, date, created_utc) "
                                   "VALUES (1, 1, :d, :t)"), {"d": datetime.date(2024, 3, 1), "t": created})  # fmt: skip
        connection.execute(sa.text(
            "INSERT INTO trials (id, uid, visit_id, condition_kind, label, description, path, sha256, size_bytes, "
            "device, calibration_id, recorded_utc, sampling_rate_hz, frame_count, duration_s, source_format, added_utc) "
            "VALUES (1, 'abc', 1, 'shod', 'trainer', '', 'trials/P001/v1/shod-abc.nc', :sha, 10, 'mat', 'cal-1', '', "
            "100.0, 50, 0.5, 'netcdf', :t)"), {"sha": "0" * 64, "t": created})  # fmt: skip
    _db.upgrade(engine)
    assert _db.current_revision(engine) == _db.head_revision()
    engine.dispose()
    folder = tmp_path / "clinic"
    folder.mkdir()
    clinic = Clinic(folder, engine.url.render_as_string(hide_password=False))
    try:
        patient = clinic.patient("P001")
        assert (patient["name"], patient["birth_year"], patient["created_utc"]) == ("First Patient", 1950, created)
        trial = clinic.trials().iloc[0]
        assert (trial.uid, trial.kind, trial.label, trial.frames, trial.calibration_id) == ("abc", "shod", "trainer",
                                                                                            50, "cal-1")  # fmt: skip
    finally:
        clinic.close()


def test_open_refuses_a_database_of_a_newer_plantar(tmp_path, new_url):
    with Clinic.init(tmp_path / "clinic", url=new_url()) as clinic:
        with clinic._engine.begin() as connection:
            connection.exec_driver_sql("UPDATE alembic_version SET version_num = 'ffff'")
    with pytest.raises(ClinicError, match=r"clinic '.*clinic': its database is at schema revision 'ffff', made by a newer"):
        Clinic.open(tmp_path / "clinic")


def test_every_revision_can_be_walked_down_and_up(tmp_path, new_url):
    engine = _engine(tmp_path, new_url)
    _db.upgrade(engine)
    from alembic import command

    with _db.writer(engine).begin() as connection:
        command.downgrade(_db._config(connection), "base")
    assert _db.table_names(engine) == {"alembic_version"}
    _db.upgrade(engine)
    assert _db.schema_drift(engine) == []
    engine.dispose()
