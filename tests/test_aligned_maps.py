"""Steps aligned in the foot frame (``aligned_peak_maps``) and the butterfly of both feet."""

import numpy as np
import pytest
import xarray as xr

import plantar
from plantar import regions, synth
from plantar.geometry import aligned_peak_maps, body_cop_butterfly

LABEL = {name: k + 1 for k, name in enumerate(regions.BASE_REGIONS)}


@pytest.fixture(scope="module")
def walk():
    trial, truth = synth.walk(seed=3, passes=3)
    return trial, truth, plantar.analyze(trial)


def _centroid(aligned, label, name="mean_region_label"):
    where = aligned[name] == label
    along = aligned.along_mm.broadcast_like(where).where(where).mean()
    across = aligned.across_mm.broadcast_like(where).where(where).mean()
    return float(along), float(across)


@pytest.mark.parametrize("side", ["left", "right"])
def test_mean_step_has_its_heel_at_the_origin_and_toes_up(walk, side):
    _, truth, analysis = walk
    aligned = aligned_peak_maps(analysis, side=side)
    spacing = aligned.attrs["spacing_mm"]
    chosen = (analysis.side == side) & analysis.complete
    assert aligned.attrs["n_steps"] == int(chosen.sum()) == aligned.sizes["step"]
    np.testing.assert_array_equal(aligned.step.values, analysis.step.values[chosen.values])
    length = float(analysis.foot_length.where(chosen).mean())
    # The heel peak lies on the heel centre (the origin), within two grid cells.
    mean = aligned.mean_peak_pressure_map
    heel = mean.where(mean.along_mm < 0.2 * length).argmax(...)
    assert abs(float(aligned.along_mm[int(heel["along_mm"])])) <= 2 * spacing
    assert abs(float(aligned.across_mm[int(heel["across_mm"])])) <= 2 * spacing
    # The footprint runs along +along_mm, one foot length long (sensel centres: one cell short).
    foot = aligned.mean_region_label > 0
    along = aligned.along_mm.broadcast_like(foot).where(foot)
    assert float(along.max() - along.min()) + spacing == pytest.approx(length, abs=2 * spacing)
    assert float(along.max()) == pytest.approx(length - 0.12 * length, abs=0.06 * length)  # heel end ~12 % behind
    # Regions in order along the axis; medial on the right (+across) for a left foot, seen from above.
    order = [_centroid(aligned, LABEL[r])[0] for r in ("heel", "arch", "mth2_3", "hallux")]
    assert order == sorted(order)
    medial = _centroid(aligned, LABEL["mth1"])[1] - _centroid(aligned, LABEL["mth4_5"])[1]
    assert medial > 20.0 if side == "left" else medial < -20.0
    assert aligned.mean_region_label.sel(along_mm=0.0, across_mm=0.0) == LABEL["heel"]


def test_each_step_is_resampled_faithfully(walk):
    """Bilinear resampling on a grid of the sensor pitch keeps the load and the peak of each step."""
    _, _, analysis = walk
    aligned = aligned_peak_maps(analysis, side="left")
    cell = float(analysis.attrs["sensor_pitch_x_mm"]) * float(analysis.attrs["sensor_pitch_y_mm"])
    spacing = aligned.attrs["spacing_mm"]
    for i, k in enumerate(aligned.step.values):
        original = analysis.peak_pressure_map.values[k]
        resampled = aligned.peak_pressure_map.values[i]
        assert resampled.sum() * spacing**2 == pytest.approx(original.sum() * cell, rel=0.03)
        assert resampled.max() == pytest.approx(original.max(), rel=0.15)
        assert resampled.max() <= original.max() + 1e-3
    assert aligned.peak_pressure_map.dtype == np.float32 and aligned.region_label.dtype == np.int8
    np.testing.assert_allclose(aligned.mean_peak_pressure_map, aligned.peak_pressure_map.mean("step"), rtol=1e-6)


def test_centre_of_pressure_rolls_from_heel_to_toes_in_the_foot_frame(walk):
    _, _, analysis = walk
    for side in ("left", "right"):
        aligned = aligned_peak_maps(analysis, side=side)
        length = float(aligned.foot_length.mean())
        along = aligned.cop_along.values
        assert np.isfinite(along).all() and np.isfinite(aligned.cop_across.values).all()
        assert np.all(np.abs(along[:, 0]) < 0.1 * length)  # first contact at the heel
        assert np.all(along[:, -1] > 0.6 * length)  # push-off over the toes
        assert np.all(np.abs(aligned.cop_across.values) < 60.0)  # within the foot
        np.testing.assert_allclose(aligned.mean_cop_along, aligned.cop_along.mean("step"))
        # The mat COP maps back: step k's COP at 50 % of stance, from the analysis, rotated into the frame.
        k, i = int(aligned.step.values[0]), 0
        t = float(analysis.t_on[k]) + 0.5 * float(analysis.t_off[k] - analysis.t_on[k])
        count = int(analysis.frame_count[k])
        x = np.interp(t, analysis.step_time.values[k, :count], analysis.step_cop_x.values[k, :count])
        y = np.interp(t, analysis.step_time.values[k, :count], analysis.step_cop_y.values[k, :count])
        angle = np.radians(float(analysis.axis_angle[k]))
        dx, dy = x - float(analysis.heel_x[k]), y - float(analysis.heel_y[k])
        assert aligned.cop_along.values[i, 50] == pytest.approx(dx * np.cos(angle) + dy * np.sin(angle), abs=1e-6)
        assert aligned.cop_across.values[i, 50] == pytest.approx(dx * np.sin(angle) - dy * np.cos(angle), abs=1e-6)


def test_grids_of_one_spacing_align_exactly(walk):
    _, _, analysis = walk
    shod_trial, _ = synth.walk(seed=3, passes=1, condition="shod")
    a = aligned_peak_maps(analysis, side="right", spacing_mm=2.5)
    b = aligned_peak_maps(plantar.analyze(shod_trial), side="right", spacing_mm=2.5)
    for aligned in (a, b):
        for dim in ("along_mm", "across_mm"):
            steps = aligned[dim].values / 2.5
            np.testing.assert_allclose(steps, np.round(steps), atol=1e-9)
    joined = xr.align(a.mean_peak_pressure_map, b.mean_peak_pressure_map, join="outer", fill_value=0)
    assert joined[0].sizes["along_mm"] >= max(a.sizes["along_mm"], b.sizes["along_mm"])
    assert float(joined[0].sum()) == pytest.approx(float(a.mean_peak_pressure_map.sum()))
    assert a.attrs["spacing_mm"] == 2.5 and a.along_mm.attrs["units"] == "mm"
    assert "medial" in a.attrs["frame"]


def test_incomplete_steps_on_request_and_errors(walk):
    trial, _ = synth.walk(seed=1, passes=1, mat_length_mm=1000.0)  # a left step, and a right one cut by the edge
    analysis = plantar.analyze(trial)
    with pytest.raises(ValueError, match="no complete right step"):
        aligned_peak_maps(analysis, side="right")
    assert aligned_peak_maps(analysis, side="right", complete_only=False).attrs["n_steps"] == 1
    with pytest.raises(ValueError, match="side must be one of"):
        aligned_peak_maps(analysis, side="both")
    with pytest.raises(ValueError, match="spacing_mm"):
        aligned_peak_maps(analysis, side="left", spacing_mm=0)
    with pytest.raises(ValueError, match="is it an analysis"):
        aligned_peak_maps(trial, side="left")


# --------------------------------------------------------------------------------------
# butterfly


def _walker(speed_mm_s=1200.0, sway_mm=40.0, surge_mm=60.0, period_s=1.0):
    """A minimal analysis: one pass toward +y, body COP = progression + a known figure of eight."""
    time = np.arange(0.0, 4.0, 0.01)
    phase = 2 * np.pi * time / period_s
    cop_x = 250.0 + sway_mm * np.sin(phase)  # one sway per stride
    cop_y = 100.0 + speed_mm_s * time + surge_mm * np.sin(2 * phase)  # two surges per stride
    t_on = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0])
    t_off = t_on + 0.6
    frame_on = np.round(t_on * 100).astype(np.int64)
    force = np.full((7, 61), 500.0)  # 61 frames of contact each, from frame_on on
    heel_y = 100.0 + speed_mm_s * t_on
    heel_x = np.where(np.arange(7) % 2 == 0, 200.0, 300.0)
    side = np.where(np.arange(7) % 2 == 0, "left", "right")
    return xr.Dataset(
        {
            "body_cop_x": ("time", cop_x), "body_cop_y": ("time", cop_y),
            "step_force": (("step", "step_frame"), force), "frame_on": ("step", frame_on),
            "heel_x": ("step", heel_x), "heel_y": ("step", heel_y), "t_on": ("step", t_on), "t_off": ("step", t_off),
            "pass_index": ("step", np.zeros(7, int)), "complete": ("step", np.ones(7, bool)),
            "axis_angle": ("step", np.full(7, 90.0)),
        },
        coords={"time": time, "step": np.arange(7), "side": ("step", side)},
        attrs={"walking_speed_m_s": speed_mm_s / 1000.0},
    )  # fmt: skip


def test_butterfly_recovers_a_known_figure_of_eight():
    analysis = _walker()
    wings = body_cop_butterfly(analysis)
    used = wings.pass_index.values == 0
    time = analysis.time.values
    # Frames from the second step's first contact to the second-to-last step's last contact.
    np.testing.assert_array_equal(used, (time >= 0.5) & (time <= 3.1))
    phase = 2 * np.pi * time[used]
    # Same-foot heel centres lie on x = 200 and x = 300: the line of progression is +y, its right-hand
    # normal +x, the midline x = 250; what remains after the progression is the figure of eight.
    lateral, forward = wings.lateral.values[used], wings.forward.values[used]
    expected_lateral = 40.0 * np.sin(phase)
    expected_forward = 60.0 * np.sin(2 * phase)
    np.testing.assert_allclose(lateral, expected_lateral, atol=1e-6)  # 0 midway between the heel lines
    np.testing.assert_allclose(forward, expected_forward - expected_forward.mean(), atol=1e-6)
    assert np.isnan(wings.forward.values[~used]).all()
    assert wings.attrs["speed_mm_s"] == pytest.approx(1200.0)
    assert wings.forward.attrs["units"] == "mm" and "progression" in wings.attrs["definition"]


def test_butterfly_of_a_synthetic_walk(walk):
    _, _, analysis = walk
    wings = body_cop_butterfly(analysis)
    support = wings.support.values
    assert set(np.unique(support)) <= {"", "left", "right", "double"}
    # On the left foot the centre of pressure is left of the walker's line, on the right foot right of it.
    assert float(wings.lateral.where(wings.support == "left").mean()) < -15.0
    assert float(wings.lateral.where(wings.support == "right").mean()) > 15.0
    # Centred on each pass, and about a step long forward and back (the foot rolls slower than the body).
    for p in np.unique(wings.pass_index.values[wings.pass_index.values >= 0]):
        forward = wings.forward.values[wings.pass_index.values == p]
        assert 100.0 < np.ptp(forward) < 700.0
    assert abs(np.nanmean(wings.forward.values)) < 1e-6
    # Passes overlay: each side's single-support wing lies at the same lateral place in every pass.
    for foot in ("left", "right"):
        on = wings.support.values == foot
        centres = [np.mean(wings.lateral.values[on & (wings.pass_index.values == p)])
                   for p in np.unique(wings.pass_index.values[on])]  # fmt: skip
        assert len(centres) >= 1 and np.ptp(centres) < 25.0
    assert (wings.pass_index.values[np.isnan(wings.forward.values)] == -1).all()
