"""plantar calibrate and plantar record --calibration, run as a clinic would."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import BODY_WEIGHT_N, Session, make_stances, make_walk

import plantar
from plantar.drivers import FLAG_AFTER_REBOOT
from plantar.drivers.sim import VirtualMat

REFERENCE = Path(__file__).parents[2] / "calibration" / "virtual-mat_VM-0001.pmcal.nc"


def run(*args):
    return subprocess.run([sys.executable, "-m", "plantar", *map(str, args)], capture_output=True, text=True,
                          timeout=300)  # fmt: skip


def assert_one_line_error(result, phrase):
    assert result.returncode == 1, result
    errors = [line for line in result.stderr.splitlines() if line.startswith("plantar: error: ")]
    assert len(errors) == 1 and phrase in errors[0] and "Traceback" not in result.stderr, result.stderr


def test_the_calibrate_steps_from_files(tmp_path):
    """tare -> equilibrate -> fit -> show -> apply from recordings on disk; kPa checked against the truth."""
    session = Session("power")
    one_foot, two_feet = make_stances(*make_walk())
    files = {}
    for name, raw in {"empty": session.rest(), "bladder": session.uniform(200.0),
                      "one": session.raw(one_foot, 30), "two": session.raw(two_feet, 30),
                      "check": session.raw(two_feet, 10)}.items():  # fmt: skip
        files[name] = tmp_path / f"{name}.nc"
        plantar.save(raw, files[name])
    cal = tmp_path / "mat.pmcal.nc"
    steps = [
        ("tare", "--from", files["empty"], "-o", cal),
        ("equilibrate", "--from", files["bladder"], "--pressure-kpa", 200, "-c", cal, "-o", cal, "--overwrite"),
        ("fit", "--load", f"{files['one']}:{BODY_WEIGHT_N}", "--load", f"{files['two']}:{BODY_WEIGHT_N}",
         "-c", cal, "-o", cal, "--overwrite"),
    ]  # fmt: skip
    for step in steps:
        result = run("calibrate", *step)
        assert result.returncode == 0, result.stderr
        assert "wrote" in result.stdout
    shown = run("calibrate", "show", cal)
    assert shown.returncode == 0 and "curve: power" in shown.stdout and "2 stuck-high" in shown.stdout
    trial_path = tmp_path / "check_kpa.nc"
    result = run("calibrate", "apply", files["check"], "-c", cal, "-o", trial_path)
    assert result.returncode == 0, result.stderr
    trial = plantar.read(trial_path)
    loaded = two_feet > 20.0
    error = (trial.pressure.values[:, loaded] - two_feet[loaded]) / two_feet[loaded]
    assert np.sqrt(np.mean(error**2)) < 0.10


def test_calibrate_bad_input_gives_one_line_errors(tmp_path):
    session = Session("power")
    standing = tmp_path / "standing.nc"
    one_foot, _ = make_stances(*make_walk())
    raw = session.raw(one_foot, 200)
    plantar.save(raw, standing)
    result = run("calibrate", "tare", "--from", standing, "-o", tmp_path / "cal.pmcal.nc")
    assert_one_line_error(result, "tare with nobody on the mat")
    assert not (tmp_path / "cal.pmcal.nc").exists()
    result = run("calibrate", "fit", "--load", "nofile", "-c", tmp_path / "x.pmcal.nc", "-o", tmp_path / "y")
    assert_one_line_error(result, "no calibration file")
    if REFERENCE.exists():
        result = run("calibrate", "fit", "--load", "nofile", "-c", REFERENCE, "-o", tmp_path / "y")
        assert_one_line_error(result, "FILE:NUMBER")
    assert not (tmp_path / "y").exists()


@pytest.mark.skipif(not REFERENCE.exists(), reason="the reference calibration is made by calibration/make_reference.py")
def test_record_with_the_reference_calibration_gives_true_kpa(tmp_path):
    """The virtual mat as plantar simulate starts it, recorded in kPa with its reference calibration."""
    out = tmp_path / "walk.nc"
    with VirtualMat("pmat1", walk_s=20.0, seed=0) as mat:
        result = run("record", "--port", mat.url, "--seconds", 4, "-o", out, "--calibration", REFERENCE)
    assert result.returncode == 0, result.stderr
    trial, raw = plantar.read(out), plantar.read(tmp_path / "walk.counts.nc")
    plantar.check_trial(trial)
    assert trial.attrs["calibration_id"] == plantar.calibration.load(REFERENCE).attrs["calibration_id"]
    scans = mat.truth.scans
    boot = np.cumsum((raw.flags.values & FLAG_AFTER_REBOOT) != 0)
    lookup = {(int(b), int(s)): int(k) for k, b, s in zip(scans["scan"], scans["boot"], scans["seq"])}
    true = np.stack([mat.truth.pressure_kpa(lookup[(int(b), int(s))]) for b, s in zip(boot, raw.seq.values)])
    got = trial.pressure.values
    loaded = true > 50.0
    assert loaded.sum() > 1000
    rms = np.sqrt(np.mean(((got[loaded] - true[loaded]) / true[loaded]) ** 2))
    assert rms < 0.10
    cell = float(trial.attrs["sensor_pitch_x_mm"] * trial.attrs["sensor_pitch_y_mm"]) * 1e-6
    frames = true.sum(axis=(1, 2)) > 0
    force_true = true[frames].sum() * 1000 * cell
    force_got = np.nansum(got[frames]) * 1000 * cell
    assert force_got == pytest.approx(force_true, rel=0.03)
