"""Each bad calibration input is refused with a one-line ValueError naming what and why."""

import numpy as np
import pytest
from conftest import BODY_WEIGHT_N, Session

import plantar
from plantar import calibration


@pytest.fixture(scope="module")
def session():
    return Session("power", seed=2)


@pytest.fixture(scope="module")
def equilibrated(session):
    cal = calibration.tare(session.rest())
    return calibration.equilibrate(session.uniform(200.0), cal, pressure_kpa=200.0)


def _one_line(excinfo):
    assert "\n" not in str(excinfo.value)


def test_tare_with_someone_standing_on_the_mat_is_refused(session, stances):
    one_foot, _ = stances
    with pytest.raises(ValueError, match="tare frames are loaded.*tare with nobody on the mat") as excinfo:
        calibration.tare(session.raw(one_foot, 200))
    _one_line(excinfo)


def test_tare_with_someone_stepping_on_for_a_while_is_refused(session, stances):
    one_foot, _ = stances
    frames = np.zeros((200, *session.sensor.shape))
    frames[120:150] = one_foot  # fewer than half the frames: the median stays unloaded
    with pytest.raises(ValueError, match="tare frames are loaded: in 30 of 200 frames"):
        calibration.tare(session.raw(frames))


def test_tare_with_too_few_frames_is_refused(session):
    with pytest.raises(ValueError, match="at least 100 unloaded frames"):
        calibration.tare(session.rest(20))


def test_equilibration_with_part_of_the_mat_uncovered_is_refused(session):
    cal = calibration.tare(session.rest())
    pressure = np.full(session.sensor.shape, 200.0)
    pressure[:40] = 0  # a third of the mat
    with pytest.raises(ValueError, match=r"33\.\d % of the mat uncovered \(rows 0..39") as excinfo:
        calibration.equilibrate(session.raw(pressure, 20), cal)
    _one_line(excinfo)


def test_a_small_uncovered_corner_is_flagged_within_the_allowance(session):
    cal = calibration.tare(session.rest())
    pressure = np.full(session.sensor.shape, 200.0)
    pressure[:5, :5] = 0  # 25 sensels, 0.5 % of the mat
    cal = calibration.equilibrate(session.raw(pressure, 20), cal)
    status = cal.status.values
    expected = np.zeros(status.shape, bool)
    expected[:5, :5] = True
    expected &= ~session.sensor.hot
    np.testing.assert_array_equal(status == calibration.STATUS["uncovered"], expected)
    assert np.all(cal.gain.values[expected] == 1)


def test_saturated_equilibration_is_refused(session):
    cal = calibration.tare(session.rest())
    with pytest.raises(ValueError, match="equilibration frames are saturated.*lower pressure"):
        calibration.equilibrate(session.uniform(1200.0, 10), cal)


def test_two_parameter_model_with_one_load_is_refused(session, stances):
    one_foot, _ = stances
    cal = calibration.tare(session.rest())
    cal = calibration.equilibrate(session.uniform(200.0), cal)  # no known pressure: not a load
    loads = [(session.raw(one_foot, 10), BODY_WEIGHT_N)]
    with pytest.raises(ValueError, match="model 'power' has 2 parameters but there is only 1 load") as excinfo:
        calibration.fit(cal, loads, models=("power",))
    _one_line(excinfo)
    with pytest.raises(ValueError, match="model 'power' has 2 parameters"):
        calibration.fit(cal, loads)  # by default too: never a silent linear curve
    # Allowed explicitly, the two-parameter models are dropped and linear is fitted.
    fitted = calibration.fit(cal, loads, allow_fewer_loads=True)
    assert fitted.attrs["model"] == "linear"
    assert "heldout_rms_pct_power" not in fitted.attrs
    assert fitted.attrs["heldout_scheme"] == "first and second half of each recorded load"


def test_saturated_load_is_refused(session, stances, equilibrated):
    one_foot, _ = stances
    heavy = one_foot * 4  # about 280 kg on one foot: peaks beyond the rail
    with pytest.raises(ValueError, match=r"loads\[0\] is saturated.*understates the pressure"):
        calibration.fit(equilibrated, [(session.raw(heavy, 10), 4 * BODY_WEIGHT_N)])


def test_unloaded_and_malformed_loads_are_refused(session, equilibrated):
    with pytest.raises(ValueError, match=r"loads\[0\] is not loaded"):
        calibration.fit(equilibrated, [(session.rest(10), BODY_WEIGHT_N)])
    with pytest.raises(ValueError, match=r"loads\[0\]\['force_n'\] must be a positive number"):
        calibration.fit(equilibrated, [(session.rest(10), -1.0)])
    with pytest.raises(ValueError, match="exactly one of"):
        calibration.fit(equilibrated, [{"raw": session.rest(10)}])
    with pytest.raises(ValueError, match="models must be"):
        calibration.fit(equilibrated, [], models=("cubic",))


def test_apply_needs_a_fitted_curve_and_counts(session, equilibrated, walk):
    with pytest.raises(ValueError, match="no load curve: run plantar.calibration.fit"):
        calibration.apply(session.rest(5), equilibrated)
    trial, _ = walk
    with pytest.raises(ValueError, match="raw is not a raw recording"):
        calibration.tare(trial)


def test_inputs_are_not_changed(session, equilibrated):
    before = equilibrated.copy(deep=True)
    raw = session.uniform(100.0, 10)
    raw_before = raw.copy(deep=True)
    calibration.fit(equilibrated, [{"raw": raw, "pressure_kpa": 100.0}])
    assert equilibrated.identical(before)
    assert raw.identical(raw_before)


def test_dead_sensels_as_nan(session, equilibrated, stances):
    one_foot, two_feet = stances
    loads = [(session.raw(one_foot, 10), BODY_WEIGHT_N), (session.raw(two_feet, 10), BODY_WEIGHT_N)]
    cal = calibration.fit(equilibrated, loads)
    out = calibration.apply(session.raw(one_foot, 3), cal, dead="nan")
    bad = cal.status.values != 0
    assert np.isnan(out.pressure.values[:, bad]).all()
    assert not np.isnan(out.pressure.values[:, ~bad]).any()
    plantar.check_trial(out)
    with pytest.raises(ValueError, match=r"dead must be one of \('inpaint', 'nan'\)"):
        calibration.apply(session.rest(3), cal, dead="zero")


def test_a_table_needs_four_pressure_levels(session, stances):
    one_foot, two_feet = stances
    cal = calibration.tare(session.rest())
    cal = calibration.equilibrate([(session.uniform(kpa, 10), kpa) for kpa in (50.0, 100.0, 200.0)], cal)
    loads = [(session.raw(one_foot, 10), BODY_WEIGHT_N), (session.raw(two_feet, 10), BODY_WEIGHT_N)]
    with pytest.raises(ValueError, match="model 'table' needs at least 4 uniform-pressure levels .* got 3") as excinfo:
        calibration.fit(cal, loads, models=("power", "table"))
    _one_line(excinfo)
    fitted = calibration.fit(cal, loads)  # by default the table is tried only when there are enough levels
    assert "heldout_rms_pct_table" not in fitted.attrs and fitted.attrs["model"] == "power"
    fitted = calibration.fit(cal, loads, models=("power", "table"), allow_fewer_loads=True)
    assert fitted.attrs["model"] == "power"


def test_levels_that_do_not_read_more_at_a_higher_pressure_are_refused(session):
    cal = calibration.tare(session.rest())
    levels = {kpa: session.uniform(kpa, 10) for kpa in (50.0, 100.0, 200.0, 300.0)}
    swapped = {50.0: levels[50.0], 100.0: levels[100.0], 200.0: levels[300.0], 300.0: levels[200.0]}
    with pytest.raises(ValueError, match=r"equilibration levels are not increasing: 300 kPa reads \d+ counts, "
                                         r"no more than 200 kPa") as excinfo:  # fmt: skip
        calibration.equilibrate(swapped, cal)
    _one_line(excinfo)
    # The same mistake in the fit's pressure loads: the table would not be monotone.
    equilibrated = calibration.equilibrate(session.uniform(200.0, 10), cal)
    loads = [{"raw": raw, "pressure_kpa": kpa} for kpa, raw in swapped.items()]
    with pytest.raises(ValueError, match="uniform-pressure levels are not increasing: 300 kPa .* not be monotone"):
        calibration.fit(equilibrated, loads, models=("table",))
    with pytest.raises(ValueError, match="uniform-pressure levels are not increasing"):
        calibration.fit(equilibrated, loads, models=("power",))  # whatever the curve: the levels are wrong


def test_malformed_levels_are_refused(session):
    cal = calibration.tare(session.rest())
    raw = session.uniform(100.0, 10)
    with pytest.raises(ValueError, match="two levels at 100 kPa"):
        calibration.equilibrate([(raw, 100.0), (raw, 100.0)], cal)
    with pytest.raises(ValueError, match="pressure_kpa of raw level 1 must be a positive number"):
        calibration.equilibrate([(raw, 100.0), (raw, -5.0)], cal)
    with pytest.raises(ValueError, match="pressure_kpa must be None when raw holds levels"):
        calibration.equilibrate([(raw, 100.0)], cal, pressure_kpa=100.0)
    with pytest.raises(ValueError, match=r"raw\[0\] must be a \(raw, pressure_kpa\) pair"):
        calibration.equilibrate([raw], cal)
    with pytest.raises(ValueError, match="raw holds no equilibration level"):
        calibration.equilibrate({}, cal)


def test_the_cli_writes_no_calibration_from_levels_that_do_not_increase(session, tmp_path):
    import subprocess
    import sys

    cal_path = tmp_path / "mat.pmcal.nc"
    calibration.save(calibration.tare(session.rest()), cal_path)
    args = []
    for kpa, level in ((50.0, 50.0), (100.0, 100.0), (200.0, 300.0), (300.0, 200.0)):  # two labels swapped
        path = tmp_path / f"bladder{level:g}.nc"
        plantar.save(session.uniform(level, 10), path)
        args += ["--level", f"{path}:{kpa:g}"]
    out = tmp_path / "levels.pmcal.nc"
    result = subprocess.run([sys.executable, "-m", "plantar", "calibrate", "equilibrate", *args, "-c", cal_path,
                             "-o", out], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("plantar: error: ")]
    assert len(errors) == 1 and "levels are not increasing" in errors[0], result.stderr
    assert not out.exists()
