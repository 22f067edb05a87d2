"""Patients, visits and trials: what goes in comes back, on SQLite and PostgreSQL."""

import datetime
import hashlib

import numpy as np
import pytest

import plantar
from plantar.clinic import Clinic, ClinicError


def _sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_patients_and_visits_come_back_as_given(clinic):
    clinic.add_patient("P002", name="Émile Exemple", birth_year=1948, sex="male", body_mass_kg=81.25,
                       shoe_size_eu=44.5, notes="diabetic; neuropathy both feet")  # fmt: skip
    clinic.add_patient("P001")
    first = clinic.add_visit("P002", date="2024-03-01", complaint="ulcer under MTH2", clinician="Dr A",
                             notes="first visit")  # fmt: skip
    second = clinic.add_visit("P002", date=datetime.date(2024, 4, 12))
    earlier = clinic.add_visit("P002", date="2024-02-02")  # added last, dated first
    assert (first, second, earlier) == (1, 2, 3)
    p = clinic.patient("P002")
    assert (p["name"], p["birth_year"], p["sex"], p["body_mass_kg"], p["shoe_size_eu"], p["notes"]) == (
        "Émile Exemple", 1948, "male", 81.25, 44.5, "diabetic; neuropathy both feet")
    assert [v["id"] for v in p["visits"]] == [earlier, first, second]  # by date
    assert p["visits"][1]["complaint"] == "ulcer under MTH2" and p["visits"][1]["clinician"] == "Dr A"
    listed = clinic.patients()
    assert [(x["code"], x["visits"], x["trials"]) for x in listed] == [("P001", 0, 0), ("P002", 3, 0)]
    assert listed[1]["first_visit"] == datetime.date(2024, 2, 2)
    assert listed[1]["last_visit"] == datetime.date(2024, 4, 12)


def test_a_trial_row_states_what_its_file_holds(clinic, walk):
    trial, _ = walk
    clinic.add_patient("P001")
    visit = clinic.add_visit("P001", date="2024-03-01")
    row = clinic.add_trial(trial, visit=visit, kind="orthotic", label="orthotic A",
                           description="full-length EVA, MTH2 cut-out")  # fmt: skip
    path = clinic.folder / row["path"]
    assert row["path"].startswith("trials/P001/v1/orthotic-") and path.is_file()
    assert row["sha256"] == _sha256(path) and row["size_bytes"] == path.stat().st_size
    assert row["frames"] == trial.sizes["time"]
    assert row["sampling_rate_hz"] == trial.attrs["sampling_rate_hz"]
    expected_s = float(trial.time[-1] - trial.time[0]) + 1 / trial.attrs["sampling_rate_hz"]
    assert row["duration_s"] == pytest.approx(expected_s, abs=1e-9)
    assert (row["device"], row["calibration_id"]) == (trial.attrs["device"], trial.attrs["calibration_id"])
    stored = plantar.read(path)
    np.testing.assert_array_equal(stored.pressure.values, trial.pressure.values)
    assert stored.attrs["subject"] == "P001" and stored.attrs["condition"] == "orthotic A"
    assert stored.attrs["clinic_visit_id"] == visit and stored.attrs["clinic_trial_uid"] == row["uid"]
    table = clinic.trials(patient="P001")
    assert len(table) == 1
    got = table.iloc[0]
    assert (got.kind, got.label, got.description, got.sha256) == ("orthotic", "orthotic A",
                                                                    "full-length EVA, MTH2 cut-out", row["sha256"])  # fmt: skip
    assert got.date == datetime.date(2024, 3, 1)


def test_trials_are_found_per_patient_visit_and_condition(clinic, walk):
    trial, _ = walk
    small = trial.isel(time=slice(0, 20))
    for code in ("P001", "P002"):
        clinic.add_patient(code)
    v1 = clinic.add_visit("P001", date="2024-03-01")
    v2 = clinic.add_visit("P001", date="2024-05-01")
    v3 = clinic.add_visit("P002", date="2024-03-02")
    added = [(v1, "barefoot"), (v1, "shod"), (v1, "orthotic"), (v2, "barefoot"), (v2, "orthotic"), (v3, "barefoot")]
    uids = {}
    for visit, kind in added:
        uids.setdefault((visit, kind), []).append(clinic.add_trial(small, visit=visit, kind=kind)["uid"])
    assert len(clinic.trials()) == 6
    assert list(clinic.trials(patient="P001").visit) == [v1, v1, v1, v2, v2]
    assert list(clinic.trials(visit=v2).kind) == ["barefoot", "orthotic"]
    barefoot = clinic.trials(kind="barefoot")
    assert list(zip(barefoot.patient, barefoot.visit)) == [("P001", v1), ("P001", v2), ("P002", v3)]
    assert list(clinic.trials(patient="P001", kind="orthotic").uid) == uids[(v1, "orthotic")] + uids[(v2, "orthotic")]
    assert [(p["code"], p["visits"], p["trials"]) for p in clinic.patients()] == [("P001", 2, 5), ("P002", 1, 1)]


def test_reading_a_trial_checks_its_hash(clinic, walk):
    trial, _ = walk
    clinic.add_patient("P001")
    visit = clinic.add_visit("P001", date="2024-03-01")
    row = clinic.add_trial(trial.isel(time=slice(0, 30)), visit=visit, kind="barefoot")
    assert clinic.read_trial(row["uid"]).sizes["time"] == 30
    path = clinic.folder / row["path"]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ClinicError, match=r"trial file 'trials/P001/v1/barefoot-\w+\.nc' changed"):
        clinic.read_trial(row["uid"])
    path.unlink()
    with pytest.raises(ClinicError, match="is missing"):
        clinic.read_trial(row["uid"])


def test_reanalysis_of_a_visit_is_plantar_analyze_of_each_trial(clinic, walk):
    trial, truth = walk
    clinic.add_patient("P001")
    visit = clinic.add_visit("P001", date="2024-03-01")
    uids = [clinic.add_trial(trial, visit=visit, kind=kind)["uid"] for kind in ("barefoot", "shod")]
    analyses = clinic.analyze_visit(visit, threshold_kpa=5.0)
    assert list(analyses) == uids
    expected = plantar.analyze(trial, threshold_kpa=5.0)
    for result in analyses.values():
        assert result.sizes["step"] == expected.sizes["step"] == truth.sizes["step"]
        np.testing.assert_array_equal(result["peak_pressure"].values, expected["peak_pressure"].values)


def test_a_report_is_recorded_with_its_hash_and_anonymity(clinic):
    clinic.add_patient("P001")
    visit = clinic.add_visit("P001", date="2024-03-01")
    out = clinic.folder / "reports" / "P001-v1.html"
    out.write_text("<html>report</html>")
    row = clinic.add_report(out, patient="P001", visit=visit, kind="loading", anonymous=True)
    assert (row["path"], row["anonymous"], row["visit"]) == ("reports/P001-v1.html", True, visit)
    assert row["sha256"] == _sha256(out)
    assert clinic.check()["checked"] == 1
    out.write_text("<html>changed</html>")
    assert clinic.check()["changed"] == ["reports/P001-v1.html"]
    with pytest.raises(ClinicError, match="not inside the clinic folder"):
        clinic.add_report(clinic.folder.parent / "elsewhere.html", patient="P001", kind="loading")


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda c: c.add_patient("P001"), r"clinic '.*clinic': patient 'P001' exists already"),
        (lambda c: c.add_patient("Jane Doe"), r"a patient code is 1 to 64 letters.*got 'Jane Doe'"),
        (lambda c: c.add_patient("P009", sex="f"), r"patient 'P009': sex must be one of"),
        (lambda c: c.add_patient("P009", birth_year=1066), r"patient 'P009': birth year 1066"),
        (lambda c: c.add_patient("P009", body_mass_kg=0.2), r"patient 'P009': body mass 0.2 is outside"),
        (lambda c: c.add_visit("P404", date="2024-03-01"), r"there is no patient 'P404'"),
        (lambda c: c.add_visit("P001", date="03/01/2024"), r"patient 'P001': date must be YYYY-MM-DD"),
        (lambda c: c.trials(patient="P404"), r"there is no patient 'P404'"),
        (lambda c: c.analyze_visit(99), r"there is no visit 99"),
        (lambda c: c.read_trial("feed"), r"there is no trial feed"),
    ],
)
def test_every_error_is_one_line_naming_the_clinic(clinic, call, message):
    clinic.add_patient("P001")
    with pytest.raises(ClinicError, match=message) as info:
        call(clinic)
    assert "\n" not in str(info.value) and str(clinic.folder) in str(info.value)


def test_trial_errors_name_the_visit_kind_and_recording(clinic, walk):
    trial, _ = walk
    clinic.add_patient("P001")
    visit = clinic.add_visit("P001", date="2024-03-01")
    with pytest.raises(ClinicError, match="there is no visit 7"):
        clinic.add_trial(trial, visit=7, kind="barefoot")
    with pytest.raises(ClinicError, match=r"kind must be one of \('barefoot', 'shod', 'orthotic'\), got 'sandals'"):
        clinic.add_trial(trial, visit=visit, kind="sandals")
    raw = plantar.make_counts(np.zeros((5, 4, 4), np.uint16), pitch_mm=8.0, rate_hz=100.0)
    with pytest.raises(ClinicError, match="patient 'P001': this is a raw recording in counts; give a calibration"):
        clinic.add_trial(raw, visit=visit, kind="barefoot")
    assert len(clinic.trials()) == 0 and not any((clinic.folder / "trials").rglob("*.nc"))


def test_open_finds_what_init_made_and_refuses_what_is_not_a_clinic(tmp_path, new_url):
    url = new_url()
    with Clinic.init(tmp_path / "c", url=url) as clinic:
        clinic.add_patient("P001")
    with Clinic.open(tmp_path / "c") as clinic:  # the URL (if any) is stored in the folder
        assert [p["code"] for p in clinic.patients()] == ["P001"]
    with pytest.raises(ClinicError, match=r"cannot create clinic '.*c': it exists and is not an empty folder"):
        Clinic.init(tmp_path / "c")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ClinicError, match=r"'.*empty' is not a clinic folder \(no clinic.json\)"):
        Clinic.open(tmp_path / "empty")
    with pytest.raises(ClinicError, match=r"clinic '.*nowhere' does not exist"):
        Clinic.open(tmp_path / "nowhere")
    if url is not None:  # a second clinic on the same PostgreSQL database is refused, and nothing is left behind
        with pytest.raises(ClinicError, match=r"cannot create clinic '.*d': its database .* is not empty"):
            Clinic.init(tmp_path / "d", url=url)
        assert not (tmp_path / "d").exists()


def test_an_unreachable_database_is_one_line_and_leaves_nothing(tmp_path):
    url = f"postgresql://nobody@/clinic?host={tmp_path / 'no-server'}"
    with pytest.raises(ClinicError, match=r"cannot create clinic '.*c': cannot open its database") as info:
        Clinic.init(tmp_path / "c", url=url)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "c").exists()
