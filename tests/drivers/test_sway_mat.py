"""A person standing and swaying on the virtual mat, measured by plantar.balance.

The truth is the sway asked for: the standing model scales its centre of
pressure (COP) to the RMS asked over the loop the mat plays, so what the mat's
sensor model, the calibration and the balance measures give back is checked
against that number.
"""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import plantar
from plantar import calibration
from plantar.balance import balance
from plantar.drivers.sim import VirtualMat, bench_calibration
from plantar.drivers.sim.bench import SWAY_LOOP_S, scenario_pressure_kpa

SWAY_AP_MM, SWAY_ML_MM = 5.0, 3.0


def _cop_mm(frames, pitch_mm):
    """Whole-mat COP per frame from the pressure frames (x across the columns, y along the rows), mm."""
    rows, cols = frames.shape[1:]
    force = frames.sum(axis=(1, 2))
    x = (frames.sum(axis=1) @ ((np.arange(cols) + 0.5) * pitch_mm[0])) / force
    y = (frames.sum(axis=2) @ ((np.arange(rows) + 0.5) * pitch_mm[1])) / force
    return x, y


@pytest.fixture(scope="module")
def mat():
    return VirtualMat(shape=(64, 64), walk_s=1.0, link="tcp")


@pytest.fixture(scope="module")
def cal(mat):
    return bench_calibration(mat)


@pytest.mark.parametrize("stance", ["both", "left"])
def test_the_sway_asked_for_is_what_balance_measures_through_the_sensor(mat, cal, stance):
    frames = scenario_pressure_kpa(mat, "standing", stance=stance, body_mass_kg=70.0, sway_ap_mm=SWAY_AP_MM,
                                   sway_ml_mm=SWAY_ML_MM)  # fmt: skip
    assert frames.shape == (int(SWAY_LOOP_S * mat.rate_hz), 64, 64)
    # the body weight on the mat in every frame (quiet standing), within float32 rounding
    force_n = frames.astype(float).sum(axis=(1, 2)) * 1000 * 8e-3 * 8e-3
    np.testing.assert_allclose(force_n, 70.0 * 9.80665, rtol=1e-5)
    counts = mat.sensor.counts(frames.astype(float), np.random.default_rng(0))
    raw = plantar.make_counts(counts, pitch_mm=tuple(mat.info["pitch_mm"]), rate_hz=mat.rate_hz,
                              device=cal.attrs["device"], adc_bits=mat.info["adc_bits"])  # fmt: skip
    result = balance(calibration.apply(raw, cal))
    body = result.sel(cop="body")
    # Sensor noise, gain spread and the calibration's fit error move the COP by well under 2 %
    # of the sway (measured 0.1-0.9 %); the sensels' 8 mm sampling of the footprint is within that.
    assert float(body.rms_ap) == pytest.approx(SWAY_AP_MM, rel=0.02)
    if stance == "both":
        assert float(body.rms_ml) == pytest.approx(SWAY_ML_MM, rel=0.02)
        # the mean load is half on each foot (the model's left_share 0.5), within 1 point of body weight
        np.testing.assert_allclose(result.load_pct.isel(part=0), 50.0, atol=1.0)
    else:
        # on one foot the COP moves along the line between rearfoot and forefoot: ML follows AP, far smaller
        assert float(body.rms_ml) < 0.1 * SWAY_AP_MM


def test_the_loop_has_no_jump(mat):
    """The mat plays the frames in a loop: from the last frame to the first the COP moves as between any two."""
    frames = scenario_pressure_kpa(mat, "standing", sway_ap_mm=SWAY_AP_MM, sway_ml_mm=SWAY_ML_MM).astype(float)
    x, y = _cop_mm(frames, mat.pitch_mm)
    step = np.hypot(np.diff(x), np.diff(y))
    wrap = float(np.hypot(x[0] - x[-1], y[0] - y[-1]))
    assert wrap <= step.max()
    # without the periodic rounding of the sines' frequencies the wrap is a jump of millimetres
    trial, _ = plantar.synth.stand(seed=2, duration_s=SWAY_LOOP_S, sway_ap_mm=SWAY_AP_MM, sway_ml_mm=SWAY_ML_MM,
                                   mat_length_mm=512.0, mat_width_mm=512.0, pitch_mm=8.0, rate_hz=mat.rate_hz)  # fmt: skip
    xs, ys = _cop_mm(np.nan_to_num(trial.pressure.values.astype(float)), mat.pitch_mm)
    assert float(np.hypot(xs[0] - xs[-1], ys[0] - ys[-1])) > 10 * step.max()


def test_a_still_subject_is_the_calibration_footprint(mat):
    still = scenario_pressure_kpa(mat, "standing", stance="right", body_mass_kg=70.0)
    assert still.shape == (64, 64)
    with pytest.raises(ValueError, match="sway_ap_mm must be a number >= 0"):
        scenario_pressure_kpa(mat, "standing", sway_ap_mm=-1.0)
    with pytest.raises(ValueError, match="periodic sway needs sway='sines'"):
        plantar.synth.stand(seed=0, duration_s=2.0, sway="random", periodic=True)


def _run(*args):
    return subprocess.run([sys.executable, "-m", "plantar", *map(str, args)], capture_output=True, text=True,
                          timeout=300)  # fmt: skip


def test_simulate_a_swaying_subject_record_it_and_measure_the_balance(tmp_path):
    """The command-line way: a swaying subject on the virtual mat, recorded in kPa, then 'plantar balance'."""
    shape = (48, 48)
    cal = bench_calibration(VirtualMat(shape=shape, seed=0, link="tcp"))  # the simulated mat's own sensor
    calibration.save(cal, tmp_path / "mat.pmcal.nc")
    sim = subprocess.Popen([sys.executable, "-m", "plantar", "simulate", "--shape", "48x48", "--seed", "0",
                            "--link", "tcp", "--scenario", "standing", "--sway-ap-mm", str(SWAY_AP_MM),
                            "--sway-ml-mm", str(SWAY_ML_MM), "--seconds", "120"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        url = sim.stdout.readline().strip()
        assert url, sim.stderr.read()
        out = tmp_path / "standing.nc"
        recorded = _run("record", "--port", url, "--seconds", "22", "-o", out, "--calibration", tmp_path / "mat.pmcal.nc",
                        "--body-mass-kg", "70")  # fmt: skip
        assert recorded.returncode == 0, recorded.stderr
    finally:
        sim.terminate()
        sim.wait(timeout=10)
    trial = plantar.read(out)
    assert trial.pressure.attrs["units"] == "kPa"
    # one whole loop of the sway (20 s), where its RMS is the one asked for whatever the phase it starts at
    measured = _run("balance", out, "--window", SWAY_LOOP_S, "-o", tmp_path / "balance.csv")
    assert measured.returncode == 0, measured.stderr
    assert "standing 20.0 s" in measured.stdout
    table = pd.read_csv(tmp_path / "balance.csv")
    body = table[(table["cop"] == "body")].set_index("metric")["value"]
    # as through the sensor in-process, plus the frames the recording may lose on a loaded machine
    assert body["rms_ap"] == pytest.approx(SWAY_AP_MM, rel=0.03)
    assert body["rms_ml"] == pytest.approx(SWAY_ML_MM, rel=0.03)
