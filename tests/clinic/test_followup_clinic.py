"""A patient's follow-up through the clinic: three visits from the virtual mat and a vendor's files, the report
written by 'plantar clinic followup', recorded in the clinic, and anonymous when asked."""

import datetime
import json
import stat

import numpy as np
import pytest

import plantar
from plantar.cli import main
from plantar.followup import VERDICTS

NAME, BORN = "Jane Example", "1961"
#: A right heel offload easing from 30 % to 10 % over 12 weeks; two walks per visit, as tests/test_followup.py
#: on a walkway of 2.4 m (the virtual mat's bench calibration stands the subject on a mat no longer).
MAT = dict(mat_length_mm=2400, mat_width_mm=400, pitch_mm=10, passes=2, rate_hz=50)
WEEKS = (0.0, 6.0, 12.0)
FIRST = datetime.date(2024, 3, 4)


def _tekscan(path, trial):
    """The trial as a Tekscan ASCII movie in kPa (integers), as a vendor's software exports it."""
    frames = np.rint(trial.pressure.values).astype(int)
    n, rows, cols = frames.shape
    pitch = float(trial.attrs["sensor_pitch_x_mm"])
    head = ["DATA_TYPE MOVIE", "VERSION Tekscan Pressure Measurement System 6.33", "HARDWARE 116-1974-1",
            "SENSOR_TYPE WALKWAY", f"ROWS {rows}", f"COLS {cols}", f"ROW_SPACING {pitch} mm", f"COL_SPACING {pitch} mm",
            f"SENSEL_AREA {pitch * pitch} mm2", "NOISE_THRESHOLD 3",
            f"SECONDS_PER_FRAME {1 / trial.attrs['sampling_rate_hz']}", "TIME Monday, 15 April 2024 10:02:11 a.m.",
            "SATURATION_PRESSURE 1514.73 KPa", "CALIBRATION_MODE_1 Walk", "COMMENTS:", f"{NAME}, walkway",
            "START_FRAME 1", f"END_FRAME {n}", "UNITS KPa", "MIRROR_ROW 0", "MIRROR_COL 0", "ASCII_DATA @@",
            ""]  # fmt: skip
    body = []
    for k, frame in enumerate(frames):
        body.append(f"Frame {k + 1}")
        body.append("\n".join(",".join(map(str, row)) for row in frame))
        body.append("")
    path.write_text("\n".join(head + body + ["@@", ""]), encoding="latin-1")
    return path


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    """Per visit, the files of its two walks: raw recordings of the virtual mat (visits 1 and 3, with the
    mat's bench calibration) and a vendor's exports (visit 2); and the visits' truths."""
    from plantar import calibration
    from plantar.drivers.sim import VirtualMat, bench_calibration

    folder = tmp_path_factory.mktemp("recordings")
    visits = plantar.synth.visits(seed=11, weeks=WEEKS, offload={"right_heel": (0.3, 0.1)}, trials_per_visit=2, **MAT)
    shape = visits[0]["trials"][0].pressure.shape[1:]
    mat = VirtualMat(shape=shape, pitch_mm=MAT["pitch_mm"], rate_hz=MAT["rate_hz"], seed=5,
                     frames_kpa=np.zeros((1, *shape)))  # fmt: skip
    cal = bench_calibration(mat)
    calibration.save(cal, folder / "mat.pmcal.nc")
    rng = np.random.default_rng(8)
    files = []
    for k, visit in enumerate(visits):
        paths = []
        for j, trial in enumerate(visit["trials"]):
            if k == 1:
                paths.append(_tekscan(folder / f"v{k}-{j}.asf", trial))
                continue
            raw = plantar.make_counts(mat.sensor.counts(trial.pressure.values, rng), pitch_mm=MAT["pitch_mm"],
                                      rate_hz=MAT["rate_hz"], device=cal.attrs["device"],
                                      adc_bits=mat.info["adc_bits"], subject=NAME)  # fmt: skip
            plantar.save(raw, folder / f"v{k}-{j}.nc")
            paths.append(folder / f"v{k}-{j}.nc")
        files.append(paths)
    return folder, files, visits


def _run(capsys, *args):
    status = main([str(a) for a in args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_three_visits_from_the_virtual_mat_and_vendor_files_give_the_followup_report(
        recordings, tmp_path, new_url, capsys):  # fmt: skip
    folder, files, visits = recordings
    c = tmp_path / "clinic"
    url = new_url()
    assert _run(capsys, "clinic", "init", c, *(["--database-url", url] if url else []))[0] == 0
    assert _run(capsys, "clinic", "patient", "add", "P012", "--name", NAME, "--birth-year", BORN, "-C", c)[0] == 0
    for k, (weeks, paths) in enumerate(zip(WEEKS, files), start=1):
        date = FIRST + datetime.timedelta(weeks=weeks)
        status, out, err = _run(capsys, "clinic", "visit", "add", "P012", "--date", date, "-C", c)
        assert status == 0, err
        for path in paths:
            extra = ["--calibration", folder / "mat.pmcal.nc"] if path.suffix == ".nc" else []
            status, out, err = _run(capsys, "clinic", "trial", "import", path, "--visit", k, "--kind", "barefoot",
                                    *extra, "-C", c)  # fmt: skip
            assert status == 0, err
    status, out, err = _run(capsys, "clinic", "followup", "P012", "--anonymous", "-C", c)
    assert status == 0, err
    assert "recorded it in the clinic" in out

    reports = sorted((c / "reports" / "P012").iterdir())
    assert [p.suffix for p in reports] == [".csv", ".html", ".json"]
    for path in reports:
        text = path.read_text(encoding="utf-8")
        assert "Jane" not in text and "Example" not in text and BORN not in text  # anonymous: the code only
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    html = next(p for p in reports if p.suffix == ".html").read_text(encoding="utf-8")
    assert "P012" in html and "Regions of concern over time" in html and "Verdicts" in html
    assert "Conditions at each visit" in html and "Trend" in html

    # The report's numbers: the right heel's relative load rose beyond measurement error by week 12, as the truth.
    numbers = json.loads(next(p for p in reports if p.suffix == ".json").read_text())["numbers"]
    heel = {r["statistic"]: r["value"] for r in numbers
            if (r["side"], r["region"], r["metric"]) == ("right", "heel", "relative_load")}  # fmt: skip
    truth = [plantar.synth.visit_truth(v["truths"]).sel(side="right", region="heel").item() for v in visits]
    assert heel["visit 3: weeks"] == 12.0 and heel["visit 3: beyond_first"] == 1.0
    assert heel["visit 3: change_first"] > 0 and truth[2] - truth[0] > 0
    assert heel["visit 3: change_first"] == pytest.approx(truth[2] - truth[0], rel=0.3)  # through sensor + calibration

    # Recorded in the clinic's reports table, hashes checked by 'clinic check'.
    status, out, err = _run(capsys, "clinic", "check", "-C", c)
    assert status == 0, err
    assert out.startswith(f"{6 + 3} files match their sha256")
    from plantar.clinic import Clinic

    with Clinic.open(c) as clinic:
        import sqlalchemy as sa
        from sqlalchemy.orm import Session

        from plantar.clinic._models import Report

        with Session(clinic._engine) as session:
            rows = session.execute(sa.select(Report.kind, Report.anonymous, Report.path)).all()
    assert sorted(r.path.rsplit(".", 1)[1] for r in rows) == ["csv", "html", "json"]
    assert {(r.kind, r.anonymous) for r in rows} == {("followup", True)}


def test_a_named_report_shows_the_name_and_an_outside_folder_is_not_recorded(recordings, clinic, tmp_path):
    folder, files, visits = recordings
    clinic.add_patient("P020", name=NAME, birth_year=int(BORN))
    for k, weeks in enumerate(WEEKS[:2]):
        visit = clinic.add_visit("P020", date=FIRST + datetime.timedelta(weeks=weeks))
        for trial in visits[k]["trials"]:
            clinic.add_trial(trial, visit=visit, kind="barefoot")
    paths = clinic.write_followup_report("P020", verbose="error")
    html = paths["html"].read_text(encoding="utf-8")
    assert f"P020, {NAME}, born {BORN}" in html
    outside = clinic.write_followup_report("P020", folder=tmp_path / "out", anonymous=True, verbose="error")
    assert outside["html"].parent == tmp_path / "out" and NAME not in outside["html"].read_text(encoding="utf-8")
    assert clinic.check()["checked"] == 4 + 3  # the trials and the first report's three files only


def test_followup_of_a_patient_without_trials_is_one_line(clinic, capsys):
    from plantar.clinic import ClinicError

    clinic.add_patient("P030")
    with pytest.raises(ClinicError, match="patient 'P030' has no trials to follow"):
        clinic.followup("P030")
    status, _, err = _run(capsys, "clinic", "followup", "P030", "-C", clinic.folder)
    assert status != 0 and len(err.strip().splitlines()) == 1 and "no trials to follow" in err
    status, _, err = _run(capsys, "clinic", "followup", "NOPE", "-C", clinic.folder)
    assert status != 0 and "there is no patient 'NOPE'" in err


def test_the_verdicts_of_the_clinic_are_those_of_plantar_followup(recordings, clinic):
    """The clinic's follow-up is plantar.followup of its trials, dated by their visits."""
    _, _, visits = recordings
    clinic.add_patient("P040")
    records = []
    for k, weeks in enumerate(WEEKS):
        date = FIRST + datetime.timedelta(weeks=weeks)
        visit = clinic.add_visit("P040", date=date)
        for trial in visits[k]["trials"]:
            clinic.add_trial(trial, visit=visit, kind="barefoot")
            records.append({"visit": visit, "date": date, "condition": "barefoot",
                            "analysis": plantar.analyze(trial, verbose="error")})  # fmt: skip
    ours = clinic.followup("P040").visits
    direct = plantar.followup(records).visits
    assert ours["verdict_first"].tolist() == direct["verdict_first"].tolist()
    np.testing.assert_allclose(ours["mean"], direct["mean"], rtol=1e-12, equal_nan=True)
    heel = ours.query("side == 'right' and region == 'heel' and metric == 'relative_load'")
    assert heel["verdict_first"].iloc[-1] == VERDICTS[0] and heel["weeks"].tolist() == list(WEEKS)
