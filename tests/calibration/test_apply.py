"""apply: per-cell flags, biharmonic in-painting of bad sensels, and the highest reading seen.

The in-painting is checked on analytic pressure fields through a noise-free
linear mat (counts = 10 x kPa), whose bad sensels are a cluster the
equilibration finds uncovered and a few dead ones.
"""

import numpy as np
import pytest
from conftest import BODY_WEIGHT_N, Session

import plantar
from plantar import calibration

KPA_PER_COUNT = 0.1
SHAPE = (40, 40)
PITCH_MM = 10.0


def linear_mat_counts(pressure_kpa, bad=None):
    """Counts of a noise-free linear mat (10 counts per kPa); ``bad`` sensels read 0."""
    counts = np.rint(np.asarray(pressure_kpa) / KPA_PER_COUNT)
    if bad is not None:
        counts[..., bad] = 0
    raw = np.clip(counts, 0, 4095).astype(np.uint16)
    return plantar.make_counts(raw, pitch_mm=PITCH_MM, rate_hz=100.0, device="linear mat", adc_bits=12)


@pytest.fixture(scope="module")
def linear_mat():
    """A calibration of the linear mat with a 3 x 3 cluster and two single sensels that read nothing."""
    bad = np.zeros(SHAPE, bool)
    bad[12:15, 22:25] = True  # a cluster: uncovered (more than max_dead_cluster sensels)
    bad[25, 14] = bad[5, 5] = True  # single dead sensels: under the blobs below, and off them
    cal = calibration.tare(linear_mat_counts(np.zeros((100, *SHAPE))))
    cal = calibration.equilibrate(linear_mat_counts(np.full((20, *SHAPE), 200.0), bad), cal, pressure_kpa=200.0)
    cal = calibration.fit(cal, [], models=("linear",))
    assert cal.attrs["curve_a"] == pytest.approx(KPA_PER_COUNT, rel=1e-9)
    assert (cal.status.values != 0).sum() == 11
    return cal, bad


def blob(kind, n_frames=30):
    """A pressure blob drifting along y over the mat: a paraboloid or a Gaussian, peak 300 kPa."""
    y, x = np.mgrid[: SHAPE[0], : SHAPE[1]].astype(float)
    cy = np.linspace(17.0, 23.0, n_frames)[:, None, None]
    r2 = (y - cy) ** 2 + (x - 20.0) ** 2
    if kind == "paraboloid":
        return np.maximum(0.0, 300.0 * (1 - r2 / 15.0**2))
    return 300.0 * np.exp(-r2 / (2 * 5.0**2))


def test_clusters_and_single_sensels_are_inpainted_close_to_an_analytic_field(linear_mat):
    cal, bad = linear_mat
    for kind, tolerance_kpa in (("paraboloid", 0.2), ("gaussian", 1.0)):
        true = blob(kind)
        out = calibration.apply(linear_mat_counts(true, bad), cal).pressure.values
        error = np.abs(out[:, bad] - true[:, bad])
        # A quadratic field is in-painted exactly (the biharmonic stencil vanishes on it): only the
        # counts' rounding (0.05 kPa) remains; the Gaussian's higher derivatives leave a little more.
        assert error.max() < tolerance_kpa, (kind, error.max())  # measured: 0.06 and 0.5 kPa of 300
        gate_kpa = cal.attrs["threshold_sigma"] * cal.attrs["noise_floor_counts"] * KPA_PER_COUNT  # 0.4 kPa
        above = true[:, ~bad] > gate_kpa + 0.05
        np.testing.assert_allclose(out[:, ~bad][above], true[:, ~bad][above], atol=0.05 + 1e-4)
        assert np.all(out[:, ~bad][~above] <= gate_kpa + 0.05 + 1e-4)


def test_a_peak_hidden_by_a_cluster_is_not_invented(linear_mat):
    cal, bad = linear_mat
    y, x = np.mgrid[: SHAPE[0], : SHAPE[1]].astype(float)
    true = np.maximum(0.0, 300.0 * (1 - ((y - 13) ** 2 + (x - 23) ** 2) / 10.0**2))[None]  # peak in the cluster
    out = calibration.apply(linear_mat_counts(true, bad), cal).pressure.values
    highest_valid = out[0][~bad].max()
    assert out[0][bad].max() == pytest.approx(highest_valid, abs=1e-3)  # clipped to the valid readings
    assert highest_valid == pytest.approx(300.0 * (1 - 2**2 / 10**2), abs=0.05)  # the ring 2 sensels out
    assert true[0][bad].max() - out[0][bad].max() == pytest.approx(12.0, abs=0.06)  # 4 % of the peak lost


def test_inpainting_is_one_solve_for_all_frames():
    from plantar.calibration._common import _inpaint

    bad = np.zeros(SHAPE, bool)
    bad[12:15, 22:25] = True
    frames = blob("paraboloid", 3000).astype(np.float32)
    filled = _inpaint(frames, bad)  # three batches of frames
    np.testing.assert_allclose(filled[:, bad], frames[:, bad], atol=2e-3)
    assert np.isnan(_inpaint(frames[:2], np.ones(SHAPE, bool))).all()  # nothing valid: NaN


def test_flags_mark_saturated_and_extrapolated_cells_and_save_exactly(tmp_path):
    session = Session("power", seed=6)
    sensor = session.sensor
    cal = calibration.tare(session.rest())
    cal = calibration.equilibrate(session.uniform(200.0), cal, pressure_kpa=200.0)
    cal = calibration.fit(cal, [{"raw": session.uniform(50.0), "pressure_kpa": 50.0},
                                {"raw": session.uniform(300.0), "pressure_kpa": 300.0}])  # fmt: skip
    assert cal.attrs["valid_range_kpa"][1] == pytest.approx(300.0, rel=0.02)
    # Three patches: within the calibrated range, beyond it, and far beyond the rail.
    pressure = np.zeros((4, *sensor.shape))
    pressure[:, 10:20, 5:15] = 150.0
    pressure[:, 40:50, 5:15] = 450.0
    pressure[:, 70:80, 5:15] = 3000.0
    pressure[0] = 0.0  # an empty frame
    out = calibration.apply(session.raw(pressure), cal)
    ok = cal.status.values == 0
    for name in ("saturated", "extrapolated"):
        flags = out[name]
        assert flags.dims == ("time", "y", "x") and flags.dtype == bool
        assert flags.attrs["units"] == "1" and flags.attrs["long_name"]
        np.testing.assert_array_equal(out[f"{name}_sensels"].values, flags.values.sum(axis=(1, 2)))
    saturated, extrapolated = out.saturated.values, out.extrapolated.values
    expected = np.broadcast_to((pressure[1] == 3000.0) & ok, saturated.shape[1:])
    np.testing.assert_array_equal(saturated[1:], np.broadcast_to(expected, saturated[1:].shape))
    assert not saturated[0].any()
    beyond = (pressure >= 450.0) & ok
    np.testing.assert_array_equal(extrapolated[:, ok], beyond[:, ok])
    plantar.check_trial(out)
    path = tmp_path / "flags.nc"
    plantar.save(out, path)
    back = plantar.read(path)
    plantar.check_trial(back)
    assert back.identical(out)
    assert back.saturated.dtype == bool
    assert path.stat().st_size < 100_000  # the flags are compressed: 2 x 19200 cells uncompressed


def test_max_seen_counts_is_the_highest_reading_of_every_calibration_recording(stances):
    one_foot, two_feet = stances
    session = Session("power", seed=8)
    rest, uniform = session.rest(), session.uniform(200.0)
    loads = [(session.raw(one_foot, 10), BODY_WEIGHT_N), (session.raw(two_feet, 10), BODY_WEIGHT_N)]
    cal = calibration.tare(rest)
    np.testing.assert_array_equal(cal.max_seen_counts.values, rest.counts.values.max(axis=0))
    cal = calibration.equilibrate(uniform, cal, pressure_kpa=200.0)
    cal = calibration.fit(cal, loads)
    recordings = [rest, uniform] + [raw for raw, _ in loads]
    highest = np.max([raw.counts.values.max(axis=0) for raw in recordings], axis=0)
    np.testing.assert_array_equal(cal.max_seen_counts.values, highest)
    assert cal.max_seen_counts.attrs["units"] == "count"
    assert (cal.max_seen_counts.values[session.sensor.hot] == 4095).all()
    assert (cal.saturation_counts.values == 4095).all()  # the rail: what flags a reading as saturated


def test_the_power_curve_of_frames_is_the_formula_at_every_cell():
    """Frames take the power only of their loaded cells: the others are 0 kPa, NaN stays NaN."""
    rng = np.random.default_rng(3)
    e = (rng.random((20, 16, 12)) ** 6 * 3000).astype(np.float32)
    e[e < 30] = 0.0
    e[0, 0, :2] = np.nan
    e[1, 2, 3] = -0.0
    a, b = 0.0123, 1.37
    got = plantar.calibration.curve_kpa("power", (a, b), e)
    expected = a * np.maximum(e.astype(np.float64), 0) ** b
    assert got.dtype == np.float32 and got.shape == e.shape
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=0)  # NaN where e is NaN, 0 where unloaded
    assert np.isnan(got[0, 0, :2]).all() and (got[e == 0] == 0).all() and not np.signbit(got[e == 0]).any()
    assert 0.05 < (e > 0).mean() < 0.95  # both kinds of cells were there


@pytest.mark.parametrize("percentile", [0, 10, 50, 99.9, 100])
def test_the_readings_at_rest_are_numpys_lower_percentile(percentile):
    """Counted, not sorted: the same reading per sensel as numpy's, in the span and beyond it."""
    from plantar.calibration._common import _PERCENTILE_SPAN, _lower_percentile

    rng = np.random.default_rng(int(percentile * 10))
    counts = (rng.random((300, 6, 5)) ** 6 * 4000).astype(np.uint16)  # mostly near 0, some far above
    counts[:, 0, 0] = 1000 + rng.integers(0, 3, 300)  # a narrow span far from 0
    counts[:, 1, 1] = rng.integers(0, 4 * _PERCENTILE_SPAN, 300)  # readings spread beyond the span
    expected = np.percentile(counts, percentile, axis=0, method="lower")
    got = _lower_percentile(counts, percentile)
    assert got.dtype == expected.dtype and np.array_equal(got, expected)
