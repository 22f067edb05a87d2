"""fit refuses what would give wrong kPa; a calibration refuses a recording from another mat."""

import numpy as np
import pytest
from conftest import BODY_MASS_KG, BODY_WEIGHT_N, CELL_AREA_M2, MAT, Session

import plantar
from plantar import calibration
from plantar._schema import STANDARD_GRAVITY_M_S2, make_counts
from plantar.drivers.sim import VirtualMat
from plantar.drivers.sim.bench import standing_pressure_kpa


def _one_line(excinfo):
    assert "\n" not in str(excinfo.value), str(excinfo.value)


# -- a walk needs whole strides on the mat ----------------------------------------------------


def test_a_walk_over_a_short_mat_is_refused():
    """The virtual mat of ``plantar simulate`` (0.51 m) sees one or two steps a pass, never a stride.

    Before, its whole-recording mean force was taken as body weight: force x3.7, a
    held-out error of 0.01 % and a calibrated range up to 52,433 kPa.
    """
    mat = VirtualMat(shape=(64, 64), seed=0, walk_s=20.0, link="tcp")
    device = "plantar virtual mat (serial VM-0001)"
    rng = np.random.default_rng(5)

    def record(frames):
        counts = mat.sensor.counts(np.asarray(frames, float), rng)
        return make_counts(counts, pitch_mm=(8.0, 8.0), rate_hz=100.0, device=device, adc_bits=12)

    walk = np.stack([mat.truth.pressure_kpa(k) for k in range(1000)])
    on_mat = int((walk.sum(axis=(1, 2)) > 0).sum())
    assert 300 < on_mat < 400  # someone on the mat in about a third of the frames
    cal = calibration.tare(record(np.zeros((200, 64, 64))))
    cal = calibration.equilibrate(record(np.full((40, 64, 64), 200.0)), cal, pressure_kpa=200.0)
    with pytest.raises(ValueError, match=r"loads\[0\] \(a walk\) has 0 whole strides on the mat, fewer than the 2") as excinfo:
        calibration.fit(cal, [{"raw": record(walk), "body_mass_kg": BODY_MASS_KG, "average": True}])
    _one_line(excinfo)


@pytest.fixture(scope="module")
def long_walk():
    """Three passes over a 3 m mat (one whole stride each), recorded by a power-law mat."""
    trial, truth = plantar.synth.walk(seed=3, body_mass_kg=BODY_MASS_KG, passes=3, **{**MAT, "mat_length_mm": 3000.0})
    session = Session("power", seed=9, shape=trial.pressure.shape[1:])
    cal = calibration.tare(session.rest())
    cal = calibration.equilibrate(session.uniform(200.0), cal, pressure_kpa=200.0)
    return trial, truth, session, cal, session.raw(trial.pressure.values)


def test_a_walk_with_too_few_strides_says_how_many(long_walk):
    trial, truth, session, cal, raw = long_walk
    one_pass = raw.isel(time=slice(0, 386))  # the first pass: one whole stride
    with pytest.raises(ValueError, match="has 1 whole strides on the mat, fewer than the 2") as excinfo:
        calibration.fit(cal, [{"raw": one_pass, "body_mass_kg": BODY_MASS_KG, "average": True}])
    _one_line(excinfo)
    with pytest.raises(ValueError, match="has 3 whole strides on the mat, fewer than the 4"):
        calibration.fit(cal, [{"raw": raw, "body_mass_kg": BODY_MASS_KG, "average": True}], min_strides=4)


def test_a_walk_over_whole_strides_calibrates_and_its_heldout_error_is_real(long_walk):
    """The walk and the equilibration level are two loads: each half of the strides is predicted by a
    curve fitted to the other half (before: even and odd frames of the same frames, and the level in
    both, gave 0.01 %)."""
    trial, truth, session, cal, raw = long_walk
    out = calibration.fit(cal, [{"raw": raw, "body_mass_kg": BODY_MASS_KG, "average": True}])
    assert out.attrs["heldout_scheme"] == "first and second half of each recorded load"
    heldout = {m: out.attrs[f"heldout_rms_pct_{m}"] for m in ("linear", "power", "exponential")}
    assert all(value > 0.1 for value in heldout.values()), heldout  # measured: power 1.4 %, linear 8.7 %
    assert heldout["power"] < 5
    import json

    walk_load = json.loads(out.attrs["procedure"])[-1]["loads"][0]
    assert walk_load["strides"] == 3 and walk_load["frames"] == 109 + 109 + 109
    got = calibration.apply(raw, out).pressure.values
    force_error = np.nansum(got) / trial.pressure.values.sum() - 1
    assert abs(force_error) < 0.03  # measured: 0.001 %
    assert out.attrs["valid_range_kpa"][1] < 2 * float(trial.pressure.max())


def test_the_heldout_frames_are_not_fitted():
    """Two static loads of two feet, each its own frames: the second half of each recording is held
    out, so a load whose second half reads 10 % more is predicted 5 % off, not 0."""
    session = Session("linear", seed=2, shape=(40, 40), dead=0, hot=0, noise_sd_counts=0.0)
    cal = calibration.tare(session.rest())
    y, x = np.mgrid[:40, :40]
    foot = np.where((y - 20) ** 2 / 144 + (x - 20) ** 2 / 36 < 1, 150.0, 0.0)
    force_n = foot.sum() * 1000 * CELL_AREA_M2
    first, second = session.raw(foot, 10), session.raw(foot * 1.1, 10)
    load = {"raw": plantar.make_counts(np.concatenate([first.counts.values, second.counts.values]),
                                       pitch_mm=10.0, rate_hz=100.0, device=session.device, adc_bits=12),
            "force_n": force_n}  # fmt: skip
    out = calibration.fit(cal, [load], models=("linear",))
    assert out.attrs["heldout_scheme"] == "first and second half of each recorded load"
    # Fitted on one half, tested on the other: off by 1.1 (or 1 / 1.1) in force, about 10 %.
    assert out.attrs["heldout_rms_pct_linear"] == pytest.approx(100 * np.sqrt((0.1**2 + (1 / 1.1 - 1) ** 2) / 2),
                                                                rel=0.05)  # fmt: skip


# -- a curve must stay within a plausible range ------------------------------------------------


def test_a_curve_beyond_the_plausible_or_rated_maximum_is_refused(stances):
    one_foot, two_feet = stances
    session = Session("power", seed=4)
    cal = calibration.tare(session.rest())
    loads = [(session.raw(one_foot, 20), BODY_WEIGHT_N), (session.raw(two_feet, 20), BODY_WEIGHT_N)]
    fitted = calibration.fit(cal, loads)
    peak_kpa = fitted.attrs["valid_range_kpa"][1]
    assert 300 < peak_kpa < 1000 and peak_kpa == pytest.approx(one_foot.max(), rel=0.1)
    # Body mass typed as 700 kg: every pressure ten times too high.
    wrong = [(raw, 10 * force_n) for raw, force_n in loads]
    with pytest.raises(ValueError, match="above the plausible maximum for a floor mat .max_kpa. of 2,000 kPa") as excinfo:
        calibration.fit(cal, wrong)
    _one_line(excinfo)
    assert calibration.fit(cal, wrong, max_kpa=20000.0).attrs["valid_range_kpa"][1] > 2000
    rated = calibration.tare(session.rest(), rated_max_kpa=0.8 * peak_kpa)
    assert rated.attrs["rated_max_kpa"] == pytest.approx(0.8 * peak_kpa)
    with pytest.raises(ValueError, match="above the sensor's rated maximum"):
        calibration.fit(rated, loads)
    with pytest.raises(ValueError, match="max_kpa must be a positive number"):
        calibration.fit(cal, loads, max_kpa=-1.0)


def test_one_model_from_equilibration_levels_alone_has_no_heldout_error():
    session = Session("linear", seed=1, shape=(20, 20), dead=0, hot=0)
    cal = calibration.tare(session.rest())
    cal = calibration.equilibrate(session.uniform(200.0), cal, pressure_kpa=200.0)
    out = calibration.fit(cal, [], models=("linear",))
    assert np.isnan(out.attrs["heldout_rms_pct_linear"])  # nothing held out: not measured, never 0
    cal2 = calibration.equilibrate({100.0: session.uniform(100.0), 300.0: session.uniform(300.0)},
                                   calibration.tare(session.rest()))  # fmt: skip
    with pytest.raises(ValueError, match="cannot be compared: the only loads are 2 equilibration level"):
        calibration.fit(cal2, [])


# -- a calibration belongs to one mat ----------------------------------------------------------

SENSITRONICS = "sensitronics-zrle"  # what a recording from any Sensitronics mat carries as 'device'


def _u8_record(mat, pressure, rng):
    counts = mat.sensor.counts(np.asarray(pressure, float), rng)
    return make_counts(counts, pitch_mm=(8.0, 8.0), rate_hz=50.0, device=SENSITRONICS, adc_bits=8)


@pytest.fixture(scope="module")
def mat_a():
    """The reproducer's setting: a 32 x 32 Sensitronics mat calibrated by a 30 kg subject."""
    mat = VirtualMat(SENSITRONICS, shape=(32, 32), seed=0, walk_s=2.0)
    rng = np.random.default_rng(1)
    feet = standing_pressure_kpa(mat, body_mass_kg=30.0, seed=2)
    weight_n = 30.0 * STANDARD_GRAVITY_M_S2
    cal = calibration.tare(_u8_record(mat, np.zeros((200, 32, 32)), rng))
    cal = calibration.equilibrate(_u8_record(mat, np.full((40, 32, 32), 100.0), rng), cal, pressure_kpa=100.0)
    loads = [(_u8_record(mat, np.repeat(feet[k][None], 40, 0), rng), weight_n) for k in ("left", "right", "both")]
    return mat, calibration.fit(cal, loads), feet


def test_a_calibration_is_refused_on_another_mat_without_serial_numbers(mat_a, tmp_path):
    """Before, mat B's recording was accepted with a force 45 % too high."""
    mat, cal, feet = mat_a
    path = tmp_path / "matA.pmcal.nc"
    calibration.save(cal, path)
    truth = np.repeat(feet["both"][None], 20, 0)
    rng = np.random.default_rng(3)
    for _ in range(3):  # its own mat, standing: accepted, right
        raw = _u8_record(mat, truth, rng)
        pressure = calibration.apply(raw, calibration.load(path, raw=raw)).pressure.values
        assert np.nansum(pressure[0]) == pytest.approx(truth[0].sum(), rel=0.03)  # measured: -0.4 %
    empty = _u8_record(mat, np.zeros((20, 32, 32)), rng)
    calibration.apply(empty, cal)  # and empty
    refused = 0
    for seed in range(7, 17):  # ten other mats of the same make
        other = VirtualMat(SENSITRONICS, shape=(32, 32), seed=seed, walk_s=2.0)
        raw = _u8_record(other, truth, rng)
        with pytest.raises(ValueError, match="raw is from another mat: .* sensels read at rest unlike") as excinfo:
            calibration.apply(raw, cal)
        _one_line(excinfo)
        assert "check_mat=False" in str(excinfo.value)
        with pytest.raises(ValueError, match="matA.pmcal.nc' does not fit raw: raw is from another mat"):
            calibration.load(path, raw=raw)
        refused += 1
        calibration.apply(raw, cal, check_mat=False)  # the override
    assert refused == 10


def test_another_mat_is_refused_at_every_step(mat_a):
    mat, cal, feet = mat_a
    other = VirtualMat(SENSITRONICS, shape=(32, 32), seed=7, walk_s=2.0)
    rng = np.random.default_rng(4)
    with pytest.raises(ValueError, match="raw is from another mat"):
        calibration.equilibrate(_u8_record(other, np.full((40, 32, 32), 100.0), rng), cal, pressure_kpa=100.0)
    with pytest.raises(ValueError, match=r"loads\[0\] is from another mat"):
        calibration.fit(cal, [(_u8_record(other, np.repeat(feet["both"][None], 40, 0), rng), 294.2)])


def test_mats_with_a_spread_of_offsets_are_told_apart_and_a_drift_is_not_a_mismatch():
    """Mats whose readings at rest are not zeroed: the offsets themselves are the fingerprint."""
    kwargs = {"curve": "power", "shape": (30, 30), "offset_mean_counts": 120.0, "offset_sd_counts": 4.0,
              "noise_sd_counts": 1.5, "deadband_counts": 0, "dead": 0, "hot": 0}  # fmt: skip
    a, b = Session(seed=31, **kwargs), Session(seed=32, **kwargs)
    cal = calibration.tare(a.rest())
    walk = np.zeros((50, 30, 30))
    walk[10:30, 5:15, 10:18] = 200.0  # a foot in 20 of 50 frames
    calibration._common._check_same_mat(a.raw(walk), cal)
    drifted = a.raw(walk)
    drifted["counts"].values[...] = np.maximum(drifted.counts.values.astype(int) - 15, 0)  # the whole mat 15 lower
    calibration._common._check_same_mat(drifted, cal)
    with pytest.raises(ValueError, match="sensels read at rest unlike this calibration's tare"):
        calibration._common._check_same_mat(b.raw(walk), cal)


def test_the_cli_refuses_in_one_line_and_can_skip_the_mat_check(mat_a, tmp_path, capsys):
    from plantar.cli import main

    mat, cal, feet = mat_a
    rng = np.random.default_rng(6)
    paths = {name: tmp_path / f"{name}.nc" for name in ("empty", "bladder", "short_walk", "other")}
    plantar.save(_u8_record(mat, np.zeros((200, 32, 32)), rng), paths["empty"])
    plantar.save(_u8_record(mat, np.full((40, 32, 32), 100.0), rng), paths["bladder"])
    walk = np.stack([mat.truth.pressure_kpa(k) for k in range(200)])  # its 32 x 32 window of a walk
    plantar.save(_u8_record(mat, walk, rng), paths["short_walk"])
    other = VirtualMat(SENSITRONICS, shape=(32, 32), seed=8, walk_s=2.0)
    plantar.save(_u8_record(other, np.repeat(feet["both"][None], 20, 0), rng), paths["other"])
    tare, eq = tmp_path / "tare.pmcal.nc", tmp_path / "eq.pmcal.nc"
    assert main(["calibrate", "tare", "--from", str(paths["empty"]), "-o", str(tare)]) == 0
    assert main(["calibrate", "equilibrate", "--from", str(paths["bladder"]), "--pressure-kpa", "100", "-c", str(tare),
                 "-o", str(eq)]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["calibrate", "fit", "--walk", str(paths["short_walk"]), "--body-mass-kg", "70", "-c", str(eq),
                 "-o", str(tmp_path / "walk.pmcal.nc")]) == 1  # fmt: skip
    err = [line for line in capsys.readouterr().err.splitlines() if "error" in line or "Traceback" in line]
    assert len(err) == 1 and err[0].startswith("plantar: error: loads[0] (a walk) has 0 whole strides"), err
    assert not (tmp_path / "walk.pmcal.nc").exists()
    fitted = tmp_path / "matA.pmcal.nc"
    calibration.save(cal, fitted)
    out = tmp_path / "other_kpa.nc"
    assert main(["calibrate", "apply", str(paths["other"]), "-c", str(fitted), "-o", str(out)]) == 1
    err = [line for line in capsys.readouterr().err.splitlines() if "error" in line or "Traceback" in line]
    assert len(err) == 1 and "is from another mat" in err[0] and "--skip-mat-check" in err[0], err
    assert not out.exists()
    assert main(["calibrate", "apply", str(paths["other"]), "-c", str(fitted), "-o", str(out), "--skip-mat-check"]) == 0
    assert out.exists()
