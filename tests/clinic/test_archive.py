"""Backup to one archive and restore into a new folder (across SQLite and PostgreSQL); patient export."""

import csv
import hashlib
import io
import json
import tarfile

import numpy as np
import pytest
import sqlalchemy as sa

import plantar
from plantar.clinic import Clinic, ClinicError
from plantar.clinic._models import Base


def _fill(clinic, walk):
    trial, _ = walk
    clinic.add_patient("P001", name="Ann Example", birth_year=1960, sex="female", body_mass_kg=61.5,
                       shoe_size_eu=38, notes="left hallux valgus")  # fmt: skip
    clinic.add_patient("P002")
    v1 = clinic.add_visit("P001", date="2024-03-01", complaint="forefoot pain", clinician="Dr A", notes="n1")
    v2 = clinic.add_visit("P001", date="2024-04-26")
    clinic.add_visit("P002", date="2024-03-02")
    for visit, kind, label in ((v1, "barefoot", None), (v1, "orthotic", "orthotic A"), (v2, "orthotic", "orthotic A")):
        clinic.add_trial(trial.isel(time=slice(0, 60)), visit=visit, kind=kind, label=label, description="EVA")
    report = clinic.folder / "reports" / "P001.html"
    report.write_text("<html>report</html>")
    clinic.add_report(report, patient="P001", visit=v1, kind="loading", anonymous=True)
    clinic.add_mat("walkway <b>2</b>", port="virtual")
    clinic.set_password("the clinic's password")


def _rows(clinic):
    """Every row of every table, as plain values."""
    with clinic._engine.connect() as connection:
        return {table.name: [dict(row) for row in connection.execute(
                    sa.select(table).order_by(*table.primary_key.columns)).mappings()]
                for table in Base.metadata.sorted_tables}  # fmt: skip


@pytest.mark.parametrize("target", ["same", "other"])
def test_a_backup_restores_every_row_and_file(tmp_path, backend, new_url, walk, target):
    from conftest import PostgresDatabases, postgres_admin_url

    with Clinic.init(tmp_path / "clinic", url=new_url()) as clinic:
        _fill(clinic, walk)
        rows = _rows(clinic)
        manifest = clinic.backup(tmp_path / "clinic.tar")
        hashes = dict(zip(clinic.trials().path, clinic.trials().sha256))
    # the settings hold the app's password hash and session secret
    assert manifest["rows"] == {"patients": 2, "visits": 3, "trials": 3, "reports": 1, "mats": 1, "settings": 2}
    assert {path: entry["sha256"] for path, entry in manifest["files"].items() if path.startswith("trials/")} == hashes
    restore_backend = backend if target == "same" else {"sqlite": "postgresql", "postgresql": "sqlite"}[backend]
    databases = PostgresDatabases(postgres_admin_url()) if restore_backend == "postgresql" else None
    try:
        url = databases.new() if databases else None
        with Clinic.restore(tmp_path / "clinic.tar", tmp_path / "restored", url=url) as again:
            assert _rows(again) == rows
            assert again.patient("P001")["notes"] == "left hallux valgus"
            result = again.check()
            assert result["ok"] and result["checked"] == 4
            for path, sha in hashes.items():
                assert hashlib.sha256((again.folder / path).read_bytes()).hexdigest() == sha
            again.add_patient("P003")  # the ids go on after the restored ones
            visit = again.add_visit("P003", date="2024-05-01")
            assert visit == 4
            assert again.check_password("the clinic's password") and not again.check_password("the clinic")
            again.add_mat("second mat", port="virtual")  # and the mats' ids too
            assert [m["name"] for m in again.mats()] == ["second mat", "walkway <b>2</b>"]
    finally:
        if databases:
            databases.drop_all()


def _rewrite(archive, out, change):
    """Copy a tar archive, passing each member's bytes through ``change(name, data)``."""
    with tarfile.open(archive) as src, tarfile.open(out, "w") as dst:
        for member in src.getmembers():
            data = change(member.name, src.extractfile(member).read())
            member.size = len(data)
            dst.addfile(member, io.BytesIO(data))


def test_a_damaged_backup_is_refused_and_leaves_nothing(tmp_path, new_url, walk):
    with Clinic.init(tmp_path / "clinic", url=new_url()) as clinic:
        _fill(clinic, walk)
        clinic.backup(tmp_path / "clinic.tar")
        victim = clinic.trials().path.iloc[1]

    def flip(name, data):
        if name == f"files/{victim}":
            data = bytearray(data)
            data[len(data) // 3] ^= 0x10
        return bytes(data)

    _rewrite(tmp_path / "clinic.tar", tmp_path / "bad.tar", flip)
    url = new_url()
    with pytest.raises(ClinicError, match=f"backup '.*bad.tar': file '{victim}' fails its sha256"):
        Clinic.restore(tmp_path / "bad.tar", tmp_path / "restored", url=url)
    assert not (tmp_path / "restored").exists()
    if url is not None:  # the PostgreSQL database is empty again: a second try succeeds
        with Clinic.restore(tmp_path / "clinic.tar", tmp_path / "restored", url=url) as again:
            assert again.check()["ok"]

    def drop_a_row(name, data):
        if name == "database.json":
            dump = json.loads(data)
            dump["tables"]["trials"].pop()
            data = json.dumps(dump).encode()
        return data

    _rewrite(tmp_path / "clinic.tar", tmp_path / "edited.tar", drop_a_row)
    with pytest.raises(ClinicError, match="database.json fails its sha256 in the manifest"):
        Clinic.restore(tmp_path / "edited.tar", tmp_path / "other")
    (tmp_path / "not.tar").write_bytes(b"hello")
    with pytest.raises(ClinicError, match=r"'.*not.tar' is not a clinic backup"):
        Clinic.restore(tmp_path / "not.tar", tmp_path / "other")


def test_a_backup_refuses_a_changed_file_and_writes_nothing(clinic, walk):
    _fill(clinic, walk)
    path = clinic.folder / clinic.trials().path.iloc[0]
    path.write_bytes(path.read_bytes()[:-1] + b"\0")
    with pytest.raises(ClinicError, match="file 'trials/P001/v1/barefoot-.*' changed since it was added"):
        clinic.backup(clinic.folder.parent / "b.tar")
    assert not (clinic.folder.parent / "b.tar").exists()
    assert not [p for p in clinic.folder.parent.iterdir() if p.name.startswith(".b.")]


def test_a_patient_export_holds_the_trials_and_their_table(clinic, walk, tmp_path):
    _fill(clinic, walk)
    paths = clinic.export_patient("P001", tmp_path / "export")
    table = clinic.trials(patient="P001")
    assert len(paths) == len(table) + 1 and paths[-1].name == "trials.csv"
    with open(paths[-1], newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["uid"] for r in rows] == list(table.uid)
    assert [r["label"] for r in rows] == ["barefoot", "orthotic A", "orthotic A"]
    assert [r["date"] for r in rows] == ["2024-03-01", "2024-03-01", "2024-04-26"]
    for row, path in zip(rows, paths):
        assert row["file"] == path.name
        assert hashlib.sha256(path.read_bytes()).hexdigest() == row["sha256"]
        np.testing.assert_array_equal(plantar.read(path).pressure.values, walk[0].pressure.values[:60])
    assert "Ann Example" not in paths[-1].read_text() and "hallux" not in paths[-1].read_text()
    with pytest.raises(FileExistsError):  # an export never replaces a file
        clinic.export_patient("P001", tmp_path / "export")
