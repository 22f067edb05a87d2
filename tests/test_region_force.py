"""Region force over time-normalised stance (``analysis.region_force``) and ``time_normalise``."""

import numpy as np
import pytest

import plantar
from plantar import regions, synth
from plantar.metrics import time_normalise


@pytest.fixture(scope="module")
def walk():
    trial, truth = synth.walk(seed=4, passes=2, offload={"left_heel": 0.3})
    return trial, truth, plantar.analyze(trial)


def test_time_normalise_is_exact_for_linear_curves_and_skips_nan():
    t = np.arange(11) * 0.05  # 0 .. 0.5 s
    curves = np.column_stack([200.0 * t, 50.0 - 20.0 * t])
    out = time_normalise(curves, t)
    assert out.shape == (101, 2)
    np.testing.assert_allclose(out[:, 0], 200.0 * np.linspace(0.0, 0.5, 101), atol=1e-12)
    np.testing.assert_allclose(out[:, 1], 50.0 - 20.0 * np.linspace(0.0, 0.5, 101), atol=1e-12)
    # A frame without a value (NaN) is interpolated over; a column without any is NaN.
    holed = np.column_stack([200.0 * t, np.full(t.size, np.nan)])
    holed[4, 0] = np.nan
    out = time_normalise(holed, t, n_points=11)
    np.testing.assert_allclose(out[:, 0], 200.0 * t, atol=1e-12)
    assert np.isnan(out[:, 1]).all()
    # Stance given explicitly: held at the ends outside the samples.
    out = time_normalise(200.0 * t[2:], t[2:], t_on_s=0.0, t_off_s=0.5, n_points=6)
    np.testing.assert_allclose(out, [20.0, 20.0, 40.0, 60.0, 80.0, 100.0])
    # One frame: its value throughout.
    assert time_normalise([7.0], [0.3], n_points=3).tolist() == [7.0, 7.0, 7.0]


def test_time_normalise_refuses_bad_input():
    with pytest.raises(ValueError, match="one row per frame"):
        time_normalise(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="n_points"):
        time_normalise(np.zeros(3), np.arange(3.0), n_points=1)


def test_region_force_schema(walk):
    _, _, analysis = walk
    force = analysis.region_force
    assert force.dims == ("step", "region", "stance_percent")
    assert force.shape == (analysis.sizes["step"], len(regions.REGIONS), 101)
    np.testing.assert_array_equal(analysis.stance_percent.values, np.arange(101.0))
    assert analysis.stance_percent.attrs["units"] == "%"
    assert force.attrs["units"] == "N" and force.attrs["long_name"] and "stance" in force.attrs["definition"]


def test_base_regions_add_up_to_the_total_and_the_total_is_the_step_force(walk):
    _, _, analysis = walk
    force = analysis.region_force
    base = force.sel(region=list(regions.BASE_REGIONS)).sum("region")
    np.testing.assert_allclose(base, force.sel(region="total"), rtol=1e-9, atol=1e-9)
    for k in range(analysis.sizes["step"]):
        t_on, t_off = float(analysis.t_on[k]), float(analysis.t_off[k])
        at = t_on + analysis.stance_percent.values / 100.0 * (t_off - t_on)
        count = int(analysis.frame_count[k])
        expected = np.interp(at, analysis.step_time.values[k, :count], analysis.step_force.values[k, :count])
        np.testing.assert_allclose(force.sel(region="total").values[k], expected, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(analysis.stance_force.values[k], expected, rtol=1e-9, atol=1e-9)


def test_integral_over_real_time_is_the_force_time_integral(walk):
    """Trapezoids of the curve over t_on .. t_off plus the two end half-frames = FTI.

    ``force_time_integral`` integrates the frame samples padded with an unloaded
    frame before the first and after the last contact, so it holds, beyond the
    curve over stance, exactly the two end triangles dt/2 (F(0 %) + F(100 %)).
    What is left is the error of resampling a piecewise-linear curve (one piece
    per frame, ~65 of them) at 101 points: at most (dt_res^2 / 8) x the jumps of
    slope, about 0.01 % of the total here; 0.1 % of the step's total FTI allows
    for steps of other length without hiding a wrong time axis (that would be
    off by tens of percent).
    """
    _, _, analysis = walk
    dt = float(np.median(np.diff(analysis.time.values)))
    for k in range(analysis.sizes["step"]):
        t_on, t_off = float(analysis.t_on[k]), float(analysis.t_off[k])
        t = t_on + analysis.stance_percent.values / 100.0 * (t_off - t_on)
        curves = analysis.region_force.values[k]
        integral = np.trapezoid(curves, t, axis=1) + 0.5 * dt * (curves[:, 0] + curves[:, -1])
        fti = analysis.force_time_integral.values[k]
        np.testing.assert_allclose(integral, fti, rtol=0, atol=1e-3 * fti[0])


def test_region_shares_match_the_synthetic_truth(walk):
    """The regional impulse shares of the curves agree with the model's (as relative_load does: 3 %)."""
    _, truth, analysis = walk
    for k in np.flatnonzero(analysis.complete.values):
        near = np.hypot(truth.heel_x.values - float(analysis.heel_x[k]), truth.heel_y.values - float(analysis.heel_y[k]))
        j = int(np.argmin(near))
        assert near[j] < 30.0
        area = analysis.region_force.values[k].sum(axis=1)  # equal spacing: sums are proportional to integrals
        share = 100.0 * area / area[0]
        np.testing.assert_allclose(share, truth.relative_load.values[j], atol=3.0)


def test_offloaded_heel_shows_in_the_curves(walk):
    """The left heel was offloaded by 30 %: its mean force curve peaks lower than the right's."""
    _, _, analysis = walk
    heel = analysis.region_force.sel(region="heel").where(analysis.complete)
    left = heel.where(analysis.side == "left").mean("step").max()
    right = heel.where(analysis.side == "right").mean("step").max()
    assert float(left) < 0.85 * float(right)
