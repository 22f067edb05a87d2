"""The clinic app's settings in the clinic: the password (scrypt hash), the session secret, mats, complete steps."""

import json

import pytest

import plantar
from plantar.clinic import Clinic, ClinicError
from plantar.clinic import _db
from plantar.clinic._admin import SCRYPT_N, hash_password, verify_password

PASSWORD = "tarsal tunnel 42"


def test_a_password_hash_holds_its_salt_and_costs_and_not_the_password():
    stored = hash_password(PASSWORD)
    fields = json.loads(stored)
    assert fields["kdf"] == "scrypt" and (fields["n"], fields["r"], fields["p"]) == (SCRYPT_N, 8, 1)
    assert len(bytes.fromhex(fields["salt"])) == 16 and len(bytes.fromhex(fields["hash"])) == 32
    assert PASSWORD not in stored and PASSWORD.encode().hex() not in stored
    # a new salt each time: the same password never gives the same hash
    again = json.loads(hash_password(PASSWORD))
    assert again["salt"] != fields["salt"] and again["hash"] != fields["hash"]
    # the hash is scrypt's, as the standard library computes it from the stored salt and costs
    import hashlib

    expected = hashlib.scrypt(PASSWORD.encode(), salt=bytes.fromhex(fields["salt"]), n=SCRYPT_N, r=8, p=1,
                              maxmem=64 * 2**20, dklen=32)  # fmt: skip
    assert fields["hash"] == expected.hex()


@pytest.mark.parametrize("attempt", ["", "tarsal tunnel 4", "tarsal tunnel 42 ", "TARSAL TUNNEL 42", "tarsal"])
def test_only_the_password_itself_verifies(attempt):
    stored = hash_password(PASSWORD, n=2**12)
    assert verify_password(PASSWORD, stored)
    assert not verify_password(attempt, stored)


@pytest.mark.parametrize("stored", ["", "null", "[]", "{}", '{"kdf": "md5", "hash": "00"}',
                                    '{"kdf": "scrypt", "n": 1048576, "r": 8, "p": 64, "salt": "00", "hash": "00"}',
                                    '{"kdf": "scrypt", "n": 3, "r": 8, "p": 1, "salt": "00", "hash": "00"}',
                                    '{"kdf": "scrypt", "n": 1024, "r": 8, "p": 1, "salt": "zz", "hash": "00"}'])  # fmt: skip
def test_a_damaged_or_foreign_hash_never_verifies_and_never_raises(stored):
    assert verify_password(PASSWORD, stored) is False


def test_the_password_is_stored_hashed_and_a_new_one_draws_a_new_secret(clinic):
    assert not clinic.has_password() and not clinic.check_password(PASSWORD)
    secret = clinic.app_secret()
    assert len(secret) == 32 and clinic.app_secret() == secret  # drawn once, kept
    clinic.set_password(PASSWORD)
    assert clinic.has_password() and clinic.check_password(PASSWORD) and not clinic.check_password("tarsal")
    changed = clinic.app_secret()
    assert changed != secret  # sessions signed with the old secret end
    with clinic._engine.connect() as connection:
        values = [v for (v,) in connection.exec_driver_sql("SELECT value FROM settings")]
    assert not any(PASSWORD in v for v in values)
    clinic.set_password("another long one")
    assert clinic.check_password("another long one") and not clinic.check_password(PASSWORD)
    clinic.remove_password()
    assert not clinic.has_password() and not clinic.check_password("another long one")


@pytest.mark.parametrize("password", ["short", "x" * 1025])
def test_a_password_too_short_or_too_long_is_refused(clinic, password):
    with pytest.raises(ClinicError, match=r"clinic '.*': the app's password must have 8 to 1024 characters"):
        clinic.set_password(password)
    assert not clinic.has_password()


def test_two_clinics_have_two_secrets(tmp_path):
    with Clinic.init(tmp_path / "a") as a, Clinic.init(tmp_path / "b") as b:
        assert a.app_secret() != b.app_secret()


def test_complete_steps_default_3_and_kept(clinic):
    assert clinic.complete_steps() == 3
    clinic.set_complete_steps(5)
    assert clinic.complete_steps() == 5
    for bad in (0, 51, 2.5, "three", None):
        with pytest.raises(ClinicError, match="complete steps per side must be a whole number from 1 to 50"):
            clinic.set_complete_steps(bad)
    assert clinic.complete_steps() == 5


@pytest.fixture(scope="module")
def calibration_file(tmp_path_factory):
    from plantar.drivers.sim import VirtualMat, bench_calibration

    cal = bench_calibration(VirtualMat(shape=(60, 40), walk_s=1.0))
    path = tmp_path_factory.mktemp("cal") / "mat.pmcal.nc"
    plantar.calibration.save(cal, path)
    return path, cal.attrs["calibration_id"]


def test_mats_are_kept_with_their_checked_calibration(clinic, calibration_file, tmp_path):
    path, calibration_id = calibration_file
    hostile = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    clinic.add_mat(hostile, port="/dev/ttyACM0", protocol="pmat1", calibration=path)
    clinic.add_mat("demo", port="virtual")
    mats = {m["name"]: m for m in clinic.mats()}
    assert list(mats) == sorted([hostile, "demo"])
    assert (mats[hostile]["port"], mats[hostile]["protocol"], mats[hostile]["calibration"],
            mats[hostile]["calibration_id"]) == ("/dev/ttyACM0", "pmat1", str(path.resolve()), calibration_id)  # fmt: skip
    assert (mats["demo"]["calibration"], mats["demo"]["calibration_id"]) == ("", "")
    with pytest.raises(ClinicError, match="a mat named 'demo' exists already"):
        clinic.add_mat("demo", port="virtual")
    junk = tmp_path / "junk.pmcal.nc"
    junk.write_bytes(b"not a calibration")
    with pytest.raises(plantar.io.FileFormatError, match="junk.pmcal.nc"):
        clinic.add_mat("other", port="/dev/ttyUSB0", calibration=junk)
    with pytest.raises(FileNotFoundError):
        clinic.add_mat("other", port="/dev/ttyUSB0", calibration=tmp_path / "missing.pmcal.nc")
    with pytest.raises(ClinicError, match="protocol must be one of"):
        clinic.add_mat("other", port="/dev/ttyUSB0", protocol="nope")
    for name in ("", "   ", "a\nb", "x" * 101):
        with pytest.raises(ClinicError, match="a mat's name has 1 to 100 characters"):
            clinic.add_mat(name, port="virtual")
    with pytest.raises(ClinicError, match="give its port"):
        clinic.add_mat("other", port=" ")
    assert len(clinic.mats()) == 2  # nothing refused was kept
    clinic.remove_mat("demo")
    assert [m["name"] for m in clinic.mats()] == [hostile]
    with pytest.raises(ClinicError, match="there is no mat named 'demo'"):
        clinic.remove_mat("demo")


def test_a_clinic_of_the_first_schema_is_upgraded_and_gets_settings(tmp_path, new_url):
    """A clinic made before the settings existed: opening it upgrades it, its rows stay, the settings work."""
    folder = tmp_path / "clinic"
    from plantar.clinic._store import _create

    clinic = _create(folder, new_url(), revision="0001")
    try:
        assert _db.current_revision(clinic._engine) == "0001"
        assert {"settings", "mats"}.isdisjoint(_db.table_names(clinic._engine))
        with clinic._writer.begin() as connection:
            connection.exec_driver_sql("INSERT INTO patients (id, code, name, created_utc) "
                                       "VALUES (1, 'P001', 'Old Patient', '2024-03-01 09:00:00')")  # fmt: skip
    finally:
        clinic.close()
    with Clinic.open(folder) as opened:
        assert _db.current_revision(opened._engine) == _db.head_revision() == "0002"
        assert opened.patient("P001")["name"] == "Old Patient"
        assert not opened.has_password() and opened.mats() == [] and opened.complete_steps() == 3
        opened.set_password(PASSWORD)
        opened.add_mat("walkway", port="virtual")
        assert _db.schema_drift(opened._engine) == []
    with Clinic.open(folder) as again:
        assert again.check_password(PASSWORD) and [m["name"] for m in again.mats()] == ["walkway"]
