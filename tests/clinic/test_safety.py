"""A trial file and its row together or not at all; concurrent writers; owner-only files; no names in logs."""

import logging
import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import plantar
from plantar.clinic import Clinic

ROOT = Path(__file__).resolve().parents[2]


def _mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def _small_trial(seed=0, n=20):
    rng = np.random.default_rng(seed)
    return plantar.make_trial(rng.uniform(0, 300, (n, 12, 8)), pitch_mm=5.0, rate_hz=100.0)


def _run(code, *args, env=None):
    """Run a Python snippet with this worktree's plantar in a new process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *map(str, args)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def test_the_folder_and_the_database_are_owner_only(tmp_path, walk):
    old = os.umask(0o022)  # a permissive umask, as on most desktops
    try:
        with Clinic.init(tmp_path / "clinic") as clinic:
            clinic.add_patient("P001")
            visit = clinic.add_visit("P001", date="2024-03-01")
            row = clinic.add_trial(_small_trial(), visit=visit, kind="barefoot")
            folder = clinic.folder
            for name in ("", "clinic.json", "clinic.sqlite", "clinic.sqlite-wal", "clinic.sqlite-shm", "trials",
                         "reports", "trials/P001", "trials/P001/v1", row["path"]):  # fmt: skip
                assert (folder / name).exists(), name
                assert _mode(folder / name) == (0o700 if (folder / name).is_dir() else 0o600), name
            clinic.backup(tmp_path / "b.tar")
        assert _mode(tmp_path / "b.tar") == 0o600
    finally:
        os.umask(old)


def test_the_sqlite_database_runs_in_wal_mode_with_a_busy_timeout(tmp_path):
    with Clinic.init(tmp_path / "clinic") as clinic:
        with clinic._engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10_000
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_a_failed_row_removes_its_file(clinic, monkeypatch):
    clinic.add_patient("P001")
    visit = clinic.add_visit("P001", date="2024-03-01")

    def fail(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(Clinic, "_insert_trial", fail)
    with pytest.raises(RuntimeError, match="the database went away"):
        clinic.add_trial(_small_trial(), visit=visit, kind="barefoot")
    monkeypatch.undo()
    assert not [p for p in (clinic.folder / "trials").rglob("*") if p.is_file()]
    assert len(clinic.trials()) == 0
    assert clinic.check()["ok"]


CRASH = """
import os, signal, sys
import numpy as np
import plantar
from plantar.clinic import Clinic

clinic = Clinic.open(sys.argv[1])
def die(*args, **kwargs):  # the process is killed after the file is written, before its row
    os.kill(os.getpid(), signal.SIGKILL)
Clinic._insert_trial = die
trial = plantar.make_trial(np.random.default_rng(5).uniform(0, 300, (20, 12, 8)), pitch_mm=5.0, rate_hz=100.0)
clinic.add_trial(trial, visit=int(sys.argv[2]), kind="shod", label="trainer", description="neutral trainer")
"""


def test_a_crash_between_file_and_row_leaves_an_orphan_that_check_adopts(tmp_path, new_url):
    with Clinic.init(tmp_path / "clinic", url=new_url()) as clinic:
        clinic.add_patient("P001")
        visit = clinic.add_visit("P001", date="2024-03-01")
        kept = clinic.add_trial(_small_trial(1), visit=visit, kind="barefoot")
    process = _run(CRASH, tmp_path / "clinic", visit)
    process.communicate(timeout=120)
    assert process.returncode == -signal.SIGKILL
    with Clinic.open(tmp_path / "clinic") as clinic:
        assert list(clinic.trials().uid) == [kept["uid"]]  # no row for the crashed trial
        result = clinic.check()
        assert not result["ok"] and result["checked"] == 1 and len(result["orphans"]) == 1
        orphan = result["orphans"][0]
        assert orphan.startswith("trials/P001/v1/shod-") and not result["temporary"]
        result = clinic.check(adopt=True)
        assert result["adopted"] == [orphan] and not result["orphans"] and result["ok"]
        row = clinic.trials(kind="shod").iloc[0]
        assert (row.path, row.label, row.description, row.frames) == (orphan, "trainer", "neutral trainer", 20)
        assert row.uid in orphan
        expected = np.random.default_rng(5).uniform(0, 300, (20, 12, 8)).astype(np.float32)
        np.testing.assert_array_equal(clinic.read_trial(row.uid).pressure.values, expected)
        assert clinic.check()["ok"]


def test_a_file_that_is_not_a_clinic_trial_is_reported_not_adopted(clinic):
    clinic.add_patient("P001")
    stray = clinic.folder / "trials" / "P001" / "copied-by-hand.nc"
    stray.parent.mkdir()
    plantar.save(_small_trial(), stray)
    leftover = clinic.folder / "trials" / ".x.1234abcd.tmp.nc"
    leftover.write_bytes(b"half a file")
    result = clinic.check(adopt=True)
    assert result["orphans"] == ["trials/P001/copied-by-hand.nc"] and not result["adopted"]
    assert "not a clinic trial file" in result["unadoptable"]["trials/P001/copied-by-hand.nc"]
    assert result["temporary"] == ["trials/.x.1234abcd.tmp.nc"] and not result["ok"]


WRITER = """
import sys, time
from pathlib import Path
import numpy as np
import plantar
from plantar.clinic import Clinic

folder, visit, name, n, go = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), Path(sys.argv[5])
rng = np.random.default_rng(abs(hash(name)) % 2**32)
with Clinic.open(folder) as clinic:
    while not go.exists():  # both writers start together
        time.sleep(0.005)
    for k in range(n):
        trial = plantar.make_trial(rng.uniform(0, 300, (8, 10, 6)), pitch_mm=5.0, rate_hz=100.0)
        clinic.add_trial(trial, visit=visit, kind="barefoot", label=f"{name}-{k}")
        clinic.add_patient(f"{name}-{k}")
print("done")
"""


def test_two_writer_processes_lose_nothing(tmp_path, new_url):
    n = 25
    with Clinic.init(tmp_path / "clinic", url=new_url()) as clinic:
        clinic.add_patient("P001")
        visit = clinic.add_visit("P001", date="2024-03-01")
    go = tmp_path / "go"
    writers = [_run(WRITER, tmp_path / "clinic", visit, name, n, go) for name in ("A", "B")]
    go.touch()
    for writer in writers:
        out, err = writer.communicate(timeout=300)
        assert writer.returncode == 0, err
        assert out.strip() == "done"
    with Clinic.open(tmp_path / "clinic") as clinic:
        labels = sorted(clinic.trials().label)
        assert labels == sorted(f"{name}-{k}" for name in "AB" for k in range(n))
        assert len({p["code"] for p in clinic.patients()}) == 2 * n + 1
        result = clinic.check()
        assert result["ok"] and result["checked"] == 2 * n


def test_names_and_notes_never_reach_a_log(tmp_path, new_url, caplog, walk):
    name, notes, visit_notes = "Zoë Secretname", "lives at 7 Hiddenway", "confided: Privatenote"
    secrets = ("Secretname", "Hiddenway", "Privatenote")
    caplog.set_level(logging.DEBUG)  # every logger: plantar, sqlalchemy, alembic
    for logger_name in ("sqlalchemy.engine", "sqlalchemy.pool", "alembic"):
        logging.getLogger(logger_name).setLevel(logging.DEBUG)
    try:
        with Clinic.init(tmp_path / "clinic", url=new_url()) as clinic:
            clinic.add_patient("P001", name=name, notes=notes, birth_year=1950)
            visit = clinic.add_visit("P001", date="2024-03-01", notes=visit_notes, complaint="heel pain")
            clinic.add_trial(walk[0].isel(time=slice(0, 40)), visit=visit, kind="barefoot")
            with pytest.raises(Exception):
                clinic.add_patient("P001", name=name, notes=notes)
            assert clinic.patient("P001")["name"] == name
            clinic.patients()
            clinic.trials()
            clinic.check(adopt=True)
            clinic.export_patient("P001", tmp_path / "export")
            clinic.backup(tmp_path / "b.tar")
        with Clinic.restore(tmp_path / "b.tar", tmp_path / "again", url=new_url()) as again:
            assert again.patient("P001")["notes"] == notes
    finally:
        for logger_name in ("sqlalchemy.engine", "sqlalchemy.pool", "alembic"):
            logging.getLogger(logger_name).setLevel(logging.NOTSET)
    text = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert any(r.name.startswith("sqlalchemy.engine") for r in caplog.records)  # the SQL was logged ...
    assert "INSERT INTO patients" in text
    for secret in secrets:  # ... without its parameters
        assert secret not in text
    assert "P001" in text  # the patient is named by code
    exported = (tmp_path / "export" / "trials.csv").read_text()
    assert not any(secret in exported for secret in secrets)
