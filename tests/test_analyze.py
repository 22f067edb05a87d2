"""plantar.analyze against the synthetic walking model's ground truth.

The tolerances are the acceptance criteria of the analysis; each test runs several
seeds and settings. Matching: an analysed step and a true step correspond when
their contacts overlap in time and their heel centres are within 60 mm.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import plantar
from plantar import regions, synth
from plantar.metrics import STEP_REGION_METRICS

SETTINGS = {
    "barefoot": dict(),
    "shod": dict(condition="shod"),
    "anisotropic pitch": dict(pitch_mm=(5.08, 7.62)),
    "walking along x": dict(heading_deg=0.0, mat_length_mm=500.0, mat_width_mm=2000.0),
    "toe-out 15 deg, narrow base": dict(toe_out_deg=15.0, step_width_mm=60.0),
}


def _run(seed, **settings):
    trial, truth = synth.walk(seed=seed, duration_s=20.0, offload={"right_heel": 0.3}, **settings)
    return trial, truth, plantar.analyze(trial)


@pytest.fixture(scope="module", params=[(name, seed) for name in SETTINGS for seed in (0, 1)],
                ids=lambda p: f"{p[0]}-seed{p[1]}")  # fmt: skip
def case(request):
    name, seed = request.param
    trial, truth, analysis = _run(seed, **SETTINGS[name])
    return name, trial, truth, analysis, _match(analysis, truth)


def _match(analysis, truth):
    """{analysis step: truth step or None}."""
    pairs = {}
    for i in range(analysis.sizes["step"]):
        on, off = float(analysis.t_on[i]), float(analysis.t_off[i])
        candidates = [
            (np.hypot(float(analysis.heel_x[i]) - truth.heel_x.values[k], float(analysis.heel_y[i]) - truth.heel_y.values[k]), k)
            for k in range(truth.sizes["step"])
            if truth.t_on.values[k] < off and truth.t_off.values[k] > on
        ]  # fmt: skip
        best = min(candidates) if candidates else None
        pairs[i] = best[1] if best is not None and (best[0] < 60.0 or not truth.complete.values[best[1]]) else None
    return pairs


def _complete_pairs(truth, pairs):
    return [(i, k) for i, k in pairs.items() if k is not None and truth.complete.values[k]]


def test_every_complete_step_found_and_no_false_steps(case):
    _, _, truth, analysis, pairs = case
    found = [k for k in pairs.values() if k is not None]
    assert sorted(set(found)) == sorted(found), "a true step was found twice"
    assert set(np.flatnonzero(truth.complete.values)) <= set(found)
    assert all(k is not None for k in pairs.values()), "a step was found that the walk does not have"
    for i, k in _complete_pairs(truth, pairs):
        assert analysis.complete.values[i]


def test_side_correct_for_every_complete_step(case):
    _, _, truth, analysis, pairs = case
    for i, k in _complete_pairs(truth, pairs):
        assert analysis.side.values[i] == truth.side.values[k]


def test_contact_on_and_off_within_one_frame(case):
    # Contact starts between frames; the first frame after it may still be below the
    # contact threshold, so detection is at the first loaded frame or the next one.
    _, trial, truth, analysis, pairs = case
    time = trial.time.values
    dt = time[1] - time[0]
    for i, k in _complete_pairs(truth, pairs):
        first_loaded = time[np.flatnonzero(truth.force_on_mat.values[k] > 0)[0]]
        last_loaded = time[np.flatnonzero(truth.force_on_mat.values[k] > 0)[-1]]
        assert 0 <= float(analysis.t_on[i]) - first_loaded <= dt + 1e-9
        assert 0 <= last_loaded - float(analysis.t_off[i]) <= dt + 1e-9
        assert abs(float(analysis.t_on[i]) - truth.t_on.values[k]) < 2 * dt
        assert abs(float(analysis.t_off[i]) - truth.t_off.values[k]) < 2 * dt


def test_foot_geometry(case):
    name, trial, truth, analysis, pairs = case
    # Foot length: within 5 mm, or one sensor pitch along the foot where that is coarser.
    length_tol = max(5.0, trial.attrs["sensor_pitch_y_mm"] if name != "walking along x" else trial.attrs["sensor_pitch_x_mm"])
    for i, k in _complete_pairs(truth, pairs):
        heel_error = np.hypot(float(analysis.heel_x[i]) - truth.heel_x.values[k],
                              float(analysis.heel_y[i]) - truth.heel_y.values[k])  # fmt: skip
        assert heel_error < 5.0
        assert float(analysis.foot_length[i]) == pytest.approx(truth.foot_length.values[k], abs=length_tol)
        angle = float(analysis.foot_angle[i])
        if np.isfinite(angle):
            assert angle == pytest.approx(truth.foot_angle.values[k], abs=4.0)


def test_foot_angle_is_measured_where_the_walk_allows():
    # A foot angle needs the line of progression from whole footprints around the step;
    # on a 6 m walkway every complete step has one.
    trial, truth = synth.walk(seed=5, passes=1, mat_length_mm=6000.0, toe_out_deg=12.0)
    analysis = plantar.analyze(trial)
    angles = analysis.foot_angle.values[analysis.complete.values]
    assert np.isfinite(angles).all()
    assert np.mean(angles) == pytest.approx(np.mean(truth.foot_angle.values[truth.complete.values]), abs=2.0)


def test_relative_load_per_region(case):
    _, _, truth, analysis, pairs = case
    for i, k in _complete_pairs(truth, pairs):
        np.testing.assert_allclose(analysis.relative_load.values[i], truth.relative_load.values[k], atol=3.0)


def test_cop_during_mid_stance(case):
    _, _, truth, analysis, pairs = case
    for i, k in _complete_pairs(truth, pairs):
        frames = np.flatnonzero(np.isfinite(analysis.step_cop_x.values[i]))
        mid = frames[int(0.2 * len(frames)) : int(0.8 * len(frames))]
        at = int(analysis.frame_on[i]) + mid  # the trial's frames, where the truth is
        error = np.hypot(analysis.step_cop_x.values[i, mid] - truth.cop_x.values[k, at],
                         analysis.step_cop_y.values[i, mid] - truth.cop_y.values[k, at])  # fmt: skip
        assert np.sqrt(np.mean(error**2)) < 2.0


def test_step_length_width_and_cadence(case):
    _, _, truth, analysis, pairs = case
    compared = 0
    for i, k in _complete_pairs(truth, pairs):
        # The truth's step length and width are measured against the stride line (GAITRite); the
        # other lines are checked in test_short_walkway.py.
        stride = analysis.progression_line.values[i] == "stride"
        for name in ("step_length", "step_width", "stride_length") if stride else ("stride_length",):
            a, t = float(analysis[name][i]), float(truth[name][k])
            if np.isfinite(a) and np.isfinite(t):
                assert a == pytest.approx(t, abs=10.0), name
                compared += 1
    assert compared > 0
    on, done, passes = truth.t_on.values, truth.complete.values, truth.pass_index.values
    intervals = [on[k + 1] - on[k] for k in range(len(on) - 1) if done[k] and done[k + 1] and passes[k] == passes[k + 1]]
    assert analysis.attrs["cadence_steps_per_min"] == pytest.approx(60.0 / np.mean(intervals), rel=0.02)
    assert analysis.attrs["walking_speed_m_s"] == pytest.approx(truth.attrs["speed_m_s"], rel=0.05)


def test_offloading_matches_the_truth(case):
    _, _, truth, analysis, _ = case
    result = plantar.offloading(analysis)
    for region in ("total", "heel", "forefoot"):
        values = truth.force_time_integral.sel(region=region).values
        keep = truth.complete.values
        left = values[keep & (truth.side.values == "left")].mean()
        right = values[keep & (truth.side.values == "right")].mean()
        true_si = (right - left) / (0.5 * (right + left)) * 100
        assert float(result.symmetry_index.sel(region=region)) == pytest.approx(true_si, abs=5.0)
    assert float(result.symmetry_index.sel(region="heel")) < -10  # the offloaded right heel


# --------------------------------------------------------------------------------------
# the analysis Dataset


@pytest.fixture(scope="module")
def demo():
    trial, truth = synth.walk(seed=11, passes=3)
    return trial, truth, plantar.analyze(trial)


def test_schema_of_the_analysis(demo):
    trial, _, analysis = demo
    assert analysis.attrs["plantar_schema"] == "analysis/2"
    assert list(analysis.region.values) == list(regions.REGIONS)
    for name in ("peak_pressure", "mean_pressure", "max_force", "force_time_integral", "pressure_time_integral",
                 "contact_area", "contact_time", "relative_load"):  # fmt: skip
        assert analysis[name].dims == ("step", "region")
        assert analysis[name].attrs["units"] and analysis[name].attrs["definition"]
    for name in ("t_on", "t_off", "foot_length", "foot_width", "foot_angle", "heel_x", "heel_y",
                 "step_length", "step_width", "stride_length", "cpei", "arch_index"):  # fmt: skip
        assert analysis[name].dims == ("step",)
        assert "units" in analysis[name].attrs and analysis[name].attrs["definition"]
    for name in ("step_time", "step_cop_x", "step_cop_y", "step_force"):
        assert analysis[name].dims == ("step", "step_frame")
    for name in ("stance_cop_x", "stance_cop_y", "stance_force"):
        assert analysis[name].dims == ("step", "stance_percent")
    for name in ("frame_on", "frame_count"):
        assert analysis[name].dims == ("step",) and analysis[name].dtype == np.int64
    for name in ("body_cop_x", "body_cop_y"):
        assert analysis[name].dims == ("time",)
    for name in ("frame_on", "frame_count", "step_time", "step_cop_x", "step_cop_y", "step_force", "stance_cop_x",
                 "stance_cop_y", "stance_force", "body_cop_x", "body_cop_y"):  # fmt: skip
        assert analysis[name].attrs["units"] and analysis[name].attrs["long_name"], name
        assert analysis[name].attrs["definition"], name
    assert analysis.region_label.dims == ("step", "y", "x")
    assert analysis.region_label.dtype == np.int8
    assert analysis.side.dims == ("step",)
    for key in ("subject", "condition", "body_mass_kg", "sampling_rate_hz"):
        assert analysis.attrs[key] == trial.attrs[key]
    assert np.isfinite(analysis.attrs["cadence_steps_per_min"])
    # Steps are ordered by first contact.
    assert np.all(np.diff(analysis.t_on.values) >= 0)


def test_region_metrics_are_consistent(demo):
    _, _, analysis = demo
    fti = analysis.force_time_integral
    base = fti.sel(region=list(regions.BASE_REGIONS)).sum("region")
    np.testing.assert_allclose(base, fti.sel(region="total"), rtol=1e-9)
    np.testing.assert_allclose(analysis.relative_load.sel(region="total"), 100.0)
    peak = analysis.peak_pressure
    np.testing.assert_allclose(peak.sel(region="total"), peak.sel(region=list(regions.BASE_REGIONS)).max("region"))
    np.testing.assert_allclose(peak.sel(region="total"), analysis.peak_pressure_map.max(("y", "x")), rtol=1e-6)
    area = analysis.contact_area
    np.testing.assert_allclose(area.sel(region="total"), area.sel(region=list(regions.BASE_REGIONS)).sum("region"))


def test_peak_map_and_labels_look_like_a_foot(demo):
    """Heel posterior, toes anterior, hallux medial: checked on each complete step's label image."""
    trial, _, analysis = demo
    X, Y = np.meshgrid(trial.x.values, trial.y.values)
    for i in np.flatnonzero(analysis.complete.values):
        labels = analysis.region_label.values[i]
        angle = np.radians(float(analysis.axis_angle[i]))
        along = X * np.cos(angle) + Y * np.sin(angle)
        across_left = -X * np.sin(angle) + Y * np.cos(angle)
        mean = {r: along[labels == regions.BASE_REGIONS.index(r) + 1].mean() for r in ("heel", "arch", "mth2_3", "hallux")}
        assert mean["heel"] < mean["arch"] < mean["mth2_3"] < mean["hallux"]
        hallux = across_left[labels == regions.BASE_REGIONS.index("hallux") + 1].mean()
        lesser = across_left[labels == regions.BASE_REGIONS.index("lesser_toes") + 1].mean()
        # Medial is to the right of the axis for a left foot, to the left for a right foot.
        assert (hallux < lesser) if analysis.side.values[i] == "left" else (hallux > lesser)


def test_body_cop_lies_between_the_feet(demo):
    _, _, analysis = demo
    # Each step's series laid out on the whole recording's time, as a dense (step, time) array.
    n, frames = analysis.sizes["step"], analysis.sizes["time"]
    force, cop_x = np.zeros((n, frames)), np.zeros((n, frames))
    for k in range(n):
        first, count = int(analysis.frame_on[k]), int(analysis.frame_count[k])
        force[k, first : first + count] = analysis.step_force.values[k, :count]
        cop_x[k, first : first + count] = np.nan_to_num(analysis.step_cop_x.values[k, :count])
    loaded = force.sum(axis=0) > 0
    expected_x = (cop_x * force).sum(axis=0)[loaded] / force.sum(axis=0)[loaded]
    np.testing.assert_allclose(analysis.body_cop_x.values[loaded], expected_x, rtol=1e-9)
    assert np.isnan(analysis.body_cop_x.values[~loaded]).all()
    # Both feet down (double support): the body COP lies strictly between the two feet's.
    double = (force > 0).sum(axis=0) == 2
    assert double.sum() > 20
    feet = np.where(force[:, double] > 0, cop_x[:, double], np.nan)
    inside = (np.nanmin(feet, axis=0) < analysis.body_cop_x.values[double]) & (
        analysis.body_cop_x.values[double] < np.nanmax(feet, axis=0)
    )
    assert inside.all()


def test_to_table_is_tidy_and_complete(demo):
    _, _, analysis = demo
    table = plantar.to_table(analysis)
    n_steps, n_regions = analysis.sizes["step"], analysis.sizes["region"]
    per_region = table[table.region != ""]
    assert len(per_region) == n_steps * n_regions * len(STEP_REGION_METRICS)
    assert (table.definition != "").all()
    row = per_region[(per_region.step == 2) & (per_region.region == "heel") & (per_region.metric == "max_force")]
    assert float(row.value.iloc[0]) == pytest.approx(float(analysis.max_force.sel(region="heel")[2]))
    assert set(table.units) >= {"kPa", "N", "N s", "kPa s", "mm2", "s", "%", "mm", "deg"}
    with pytest.raises(ValueError, match="analysis"):
        plantar.to_table(xr.Dataset())


# --------------------------------------------------------------------------------------
# sides the device knows, and walks the segmentation must survive


def test_side_from_trial_attrs(demo):
    trial, _, _ = demo
    analysis = plantar.analyze(trial.assign_attrs(side="left"))
    assert set(analysis.side.values) == {"left"}
    split = float(trial.x.values.mean())
    analysis = plantar.analyze(trial.assign_attrs(side_split_x_mm=split))
    assert (analysis.side.values == np.where(analysis.heel_x.values < split, "left", "right")).all()


def test_a_missing_step_does_not_flip_the_sides():
    trial, truth = synth.walk(seed=12, passes=1, mat_length_mm=6000.0)
    # Remove one foot contact from the frames (as if that foot had missed the mat).
    k = 3
    pressure = trial.pressure.values.copy()
    X, Y = np.meshgrid(trial.x.values, trial.y.values)
    near = np.hypot(X - truth.heel_x.values[k], Y - truth.heel_y.values[k]) < 250
    frames = (trial.time.values > truth.t_on.values[k]) & (trial.time.values < truth.t_off.values[k])
    pressure[np.ix_(frames, *[np.arange(n) for n in near.shape])] *= ~near
    analysis = plantar.analyze(trial.copy(data={"pressure": pressure}))
    matched = _match(analysis, truth)
    assert k not in matched.values()
    for i, j in matched.items():
        if j is not None and truth.complete.values[j]:
            assert analysis.side.values[i] == truth.side.values[j]


def test_single_step_side_from_the_footprint_shape():
    trial, truth = synth.walk(seed=13, passes=1, mat_length_mm=6000.0)
    k = 4
    keep = (trial.time.values > truth.t_on.values[k] - 0.05) & (trial.time.values < truth.t_off.values[k] + 0.05)
    X, Y = np.meshgrid(trial.x.values, trial.y.values)
    near = np.hypot(X - truth.heel_x.values[k], Y - truth.heel_y.values[k]) < 280
    single = trial.pressure.values[keep] * near
    one = plantar.make_trial(single, pitch_mm=5.0, rate_hz=100.0)
    analysis = plantar.analyze(one)
    assert analysis.sizes["step"] == 1
    assert analysis.side.values[0] == truth.side.values[k]
    assert np.isnan(analysis.foot_angle.values[0])  # no line of progression from one step
    assert analysis.progression_line.values[0] == ""
    assert np.isnan(analysis.step_width.values[0]) and np.isnan(analysis.step_length.values[0])


def test_stuck_sensels_and_noise_specks_are_not_steps():
    trial, truth = synth.walk(seed=14, passes=2)
    pressure = trial.pressure.values.copy()
    rng = np.random.default_rng(0)
    pressure[:, 5, 7] += 60.0  # a hot sensel, loaded the whole recording
    pressure[:, 300:302, 90] += 25.0  # a crease: two sensels never unload
    specks = rng.integers(0, [pressure.shape[0], 400, 100], size=(40, 3))
    pressure[specks[:, 0], specks[:, 1], specks[:, 2]] += 80.0  # single-frame blips
    noisy = trial.copy(data={"pressure": pressure})
    segmentation = plantar.steps.FootstepSegmentation().segment(noisy)
    assert segmentation.stuck_[5, 7] and segmentation.stuck_[300:302, 90].all()
    assert segmentation.stuck_.sum() == 3
    analysis = plantar.analyze(noisy)
    clean = plantar.analyze(trial)
    assert analysis.sizes["step"] == clean.sizes["step"]
    np.testing.assert_allclose(analysis.t_on, clean.t_on)


def test_two_feet_on_the_mat_together_are_two_steps():
    """Standing on both feet side by side: two contacts, one per foot, the whole time."""
    trial, truth = synth.walk(seed=15, passes=1, mat_length_mm=6000.0, variability=0.0)
    a, b = 2, 3  # consecutive steps: left and right
    X, Y = np.meshgrid(trial.x.values, trial.y.values)
    # Each foot as at mid-stance (heel and forefoot loaded), held still as in standing.
    frame_a = int(np.flatnonzero(trial.time.values >= 0.5 * (truth.t_on.values[a] + truth.t_off.values[a]))[0])
    frame_b = int(np.flatnonzero(trial.time.values >= 0.5 * (truth.t_on.values[b] + truth.t_off.values[b]))[0])
    foot_a = trial.pressure.values[frame_a] * (np.hypot(X - truth.heel_x.values[a], Y - truth.heel_y.values[a]) < 280)
    foot_b = trial.pressure.values[frame_b] * (np.hypot(X - truth.heel_x.values[b], Y - truth.heel_y.values[b]) < 280)
    shift = int(round((truth.heel_y.values[b] - truth.heel_y.values[a]) / 5.0))  # bring foot b beside foot a
    foot_b = np.roll(foot_b, -shift, axis=0)
    standing = np.zeros((60, 400 * 3, 100), dtype=np.float32)
    standing[5:55] = foot_a + foot_b
    analysis = plantar.analyze(plantar.make_trial(standing, pitch_mm=5.0, rate_hz=100.0))
    assert analysis.sizes["step"] == 2
    assert sorted(analysis.side.values.tolist()) == ["left", "right"]


# --------------------------------------------------------------------------------------
# bad input


def test_empty_and_contactless_trials():
    with pytest.raises(ValueError, match="empty"):
        plantar.analyze(synth.walk(seed=0, passes=1)[0].isel(time=slice(0, 0)))
    quiet = plantar.make_trial(np.zeros((50, 20, 10)), pitch_mm=5.0, rate_hz=100.0)
    with pytest.warns(UserWarning, match="no foot contact"):
        analysis = plantar.analyze(quiet)
    assert analysis.sizes["step"] == 0 and analysis.attrs["plantar_schema"] == "analysis/2"
    assert analysis.sizes["step_frame"] == 0 and np.isnan(analysis.body_cop_x.values).all()
    assert np.isnan(analysis.attrs["cadence_steps_per_min"])
    assert plantar.offloading(analysis).left_n.sum() == 0
    assert len(plantar.to_table(analysis)) == 0


def test_single_frame_and_all_nan_frames():
    trial, _ = synth.walk(seed=0, passes=1)
    with pytest.warns(UserWarning, match="no foot contact"):
        one_frame = plantar.make_trial(trial.pressure.values[60:61], pitch_mm=5.0, rate_hz=100.0)
        assert plantar.analyze(one_frame).sizes["step"] == 0  # too short to be a contact
    pressure = trial.pressure.values.copy()
    pressure[100:120] = np.nan  # frames the mat did not deliver
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        analysis = plantar.analyze(trial.copy(data={"pressure": pressure}))
    assert analysis.sizes["step"] >= 1


def test_raw_counts_are_refused():
    raw = plantar.make_counts(np.ones((5, 4, 4), dtype=int), pitch_mm=5.0, rate_hz=100.0)
    with pytest.raises(ValueError, match="calibration"):
        plantar.analyze(raw)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(mask="automagic"), "mask must be one of"),
        (dict(layout="carpet"), "attr 'layout' must be one of"),
        (dict(threshold_kpa=-1.0), "threshold_kpa"),
        (dict(threshold_kpa=5.0, segmentation=plantar.steps.FootstepSegmentation()), "not both"),
        (dict(segmentation=plantar.steps.FootstepSegmentation(min_contact_s=-1)), "min_contact_s"),
    ],
)
def test_bad_options_are_named(kwargs, match):
    trial, _ = synth.walk(seed=0, passes=1)
    if "layout" in kwargs:
        trial = trial.assign_attrs(layout=kwargs.pop("layout"))
    with pytest.raises(ValueError, match=match):
        plantar.analyze(trial, **kwargs)


def test_offloading_options():
    trial, _ = synth.walk(seed=0, passes=1)
    analysis = plantar.analyze(trial)
    with pytest.raises(ValueError, match="metric must be one of"):
        plantar.offloading(analysis, metric="happiness")
    result = plantar.offloading(analysis, metric="peak_pressure", complete_only=False)
    assert result.attrs["units"] == "kPa" and "formula" in result.attrs
    n = int(result.left_n.sel(region="total") + result.right_n.sel(region="total"))
    assert n == int(np.isin(analysis.side.values, ("left", "right")).sum())


# --------------------------------------------------------------------------------------
# per-step series on their own axis (analysis/2), and analysis/1 upgraded


def test_no_variable_grows_as_steps_times_frames(demo):
    """Per-step series live on step_frame (the longest stance), never on (step, time)."""
    trial, _, analysis = demo
    for name, variable in analysis.variables.items():
        assert not {"step", "time"} <= set(variable.dims), name
    longest = int(analysis.frame_count.max())
    assert analysis.sizes["step_frame"] == longest < 0.2 * analysis.sizes["time"]
    np.testing.assert_array_equal(analysis.step_frame.values, np.arange(longest))


def test_step_series_are_the_trials_frames_of_the_step(demo):
    trial, _, analysis = demo
    time = trial.time.values
    pressure = trial.pressure.values
    area = trial.attrs["sensor_pitch_x_mm"] * trial.attrs["sensor_pitch_y_mm"]
    for k in range(analysis.sizes["step"]):
        first, count = int(analysis.frame_on[k]), int(analysis.frame_count[k])
        np.testing.assert_array_equal(analysis.step_time.values[k, :count], time[first : first + count])
        assert analysis.t_on.values[k] == time[first] and analysis.t_off.values[k] == time[first + count - 1]
        for name in ("step_time", "step_cop_x", "step_cop_y", "step_force"):
            assert np.isnan(analysis[name].values[k, count:]).all()  # padding
        # The step's force is at most the whole mat's force in each of its frames, and all of it when
        # the step is alone on the mat.
        mat = np.nansum(pressure[first : first + count], axis=(1, 2), dtype=np.float64) * area * 1e-3
        force = analysis.step_force.values[k, :count]
        assert np.all(force <= mat * (1 + 1e-6) + 1e-9)
        others = [j for j in range(analysis.sizes["step"]) if j != k and analysis.frame_on[j] < first + count
                  and analysis.frame_on[j] + analysis.frame_count[j] > first]  # fmt: skip
        if not others:
            np.testing.assert_allclose(force, mat, rtol=1e-5)


def test_stance_series_are_the_step_series_over_stance(demo):
    from plantar.metrics import time_normalise

    _, _, analysis = demo
    for k in range(analysis.sizes["step"]):
        count = int(analysis.frame_count[k])
        t = analysis.step_time.values[k, :count]
        for name, source in (("stance_cop_x", "step_cop_x"), ("stance_cop_y", "step_cop_y"),
                             ("stance_force", "step_force")):  # fmt: skip
            expected = time_normalise(analysis[source].values[k, :count], t)
            np.testing.assert_allclose(analysis[name].values[k], expected, rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(analysis.stance_force.values[k], analysis.region_force.sel(region="total").values[k],
                                   rtol=1e-9)  # fmt: skip
        assert analysis.stance_cop_x.values[k, 0] == pytest.approx(analysis.step_cop_x.values[k, 0])
        assert analysis.stance_cop_y.values[k, -1] == pytest.approx(analysis.step_cop_y.values[k, count - 1])


def _as_analysis_1(analysis):
    """The same analysis in the analysis/1 layout: cop_x, cop_y and force on (step, time)."""
    n, frames = analysis.sizes["step"], analysis.sizes["time"]
    dense = {"cop_x": np.full((n, frames), np.nan), "cop_y": np.full((n, frames), np.nan), "force": np.zeros((n, frames))}
    for k in range(n):
        first, count = int(analysis.frame_on[k]), int(analysis.frame_count[k])
        for old, new in (("cop_x", "step_cop_x"), ("cop_y", "step_cop_y"), ("force", "step_force")):
            dense[old][k, first : first + count] = analysis[new].values[k, :count]
    old = analysis.drop_vars(["frame_on", "frame_count", "step_time", "step_cop_x", "step_cop_y", "step_force",
                              "stance_cop_x", "stance_cop_y", "stance_force", "step_frame"])  # fmt: skip
    for name, units in (("cop_x", "mm"), ("cop_y", "mm"), ("force", "N")):
        old[name] = (("step", "time"), dense[name], {"units": units, "long_name": name})
    old.attrs["plantar_schema"] = "analysis/1"
    return old


def test_an_analysis_1_is_upgraded_to_the_same_analysis(demo):
    from plantar.analyze import upgrade_analysis

    _, _, analysis = demo
    old = _as_analysis_1(analysis)
    upgraded = upgrade_analysis(old)
    assert upgraded.attrs["plantar_schema"] == "analysis/2"
    assert set(upgraded.variables) == set(analysis.variables)
    for name in analysis.variables:
        assert upgraded[name].dims == analysis[name].dims, name
        np.testing.assert_allclose(upgraded[name].values, analysis[name].values, rtol=1e-12, atol=1e-12,
                                   equal_nan=True) if analysis[name].dtype.kind == "f" else \
            np.testing.assert_array_equal(upgraded[name].values, analysis[name].values)  # fmt: skip
        assert upgraded[name].attrs == analysis[name].attrs, name
    assert upgrade_analysis(analysis) is analysis
    with pytest.raises(ValueError, match=r"upgrade_analysis needs an analysis \(schema 'analysis/1' or 'analysis/2'\)"
                                         r".*got schema 'trial/1'"):  # fmt: skip
        upgrade_analysis(demo[0])


def test_the_consumers_take_an_analysis_1(demo):
    """to_table, compare, the aligned maps, the butterfly, the figures and the report give what they give
    for the same analysis in the current layout."""
    from plantar.geometry import aligned_peak_maps, body_cop_butterfly
    from plantar.report import Report

    _, _, analysis = demo
    old = _as_analysis_1(analysis)
    pd.testing.assert_frame_equal(plantar.to_table(old), plantar.to_table(analysis))
    c_old, c_new = plantar.compare({"a": old, "b": analysis}), plantar.compare({"a": analysis, "b": analysis})
    np.testing.assert_allclose(c_old["diff"].values, c_new["diff"].values, equal_nan=True)
    for side in ("left", "right"):
        xr.testing.assert_allclose(aligned_peak_maps(old, side=side), aligned_peak_maps(analysis, side=side))
    xr.testing.assert_identical(body_cop_butterfly(old), body_cop_butterfly(analysis))
    k = int(np.flatnonzero(analysis.complete.values)[0])
    a, b = plantar.viz.peak_pressure_map(old, step=k), plantar.viz.peak_pressure_map(analysis, step=k)
    np.testing.assert_allclose(a.data[-1].x, b.data[-1].x)
    np.testing.assert_allclose(a.data[-1].y, b.data[-1].y)
    assert len(plantar.viz.butterfly(old).data) == len(plantar.viz.butterfly(analysis).data)
    added = Report().add_trial(old, animation=False)
    assert added.attrs["plantar_schema"] == "analysis/2"


# --------------------------------------------------------------------------------------
# in-shoe insoles (synth.insoles)


@pytest.mark.parametrize("seed, settings", [(0, {}), (1, dict(condition="shod", rate_hz=200.0)),
                                            (2, dict(variability=2.0, cadence_steps_per_min=95.0))])  # fmt: skip
def test_insole_steps_sides_contact_and_force(seed, settings):
    """Every contact found with its side; contact from the first to the last frame the foot's force exceeds
    10 % of its range (the insole rule), within a frame; force per frame within 1 % of the step's peak (the
    sensels under the contact threshold at the footprint's edge are not the step's)."""
    trial, truth = synth.insoles(seed=seed, duration_s=30.0, **settings)
    analysis = plantar.analyze(trial)
    n = analysis.sizes["step"]
    # Every contact is found; only one cut by the end of the recording too short to be a step may be missing.
    assert n == truth.sizes["step"] or (n == truth.sizes["step"] - 1 and not truth.complete.values[-1])
    truth = truth.isel(step=slice(0, n))
    np.testing.assert_array_equal(analysis.side.values, truth.side.values)
    np.testing.assert_array_equal(analysis.complete.values, truth.complete.values)
    force = truth.force.values
    for side in ("left", "right"):
        own = np.flatnonzero(truth.side.values == side)
        cut = 0.10 * np.nanmax(force[own])  # F_min = 0 in swing
        for k in own[truth.complete.values[own]]:
            above = np.flatnonzero(force[k] > cut)
            first, last = truth.frame_on.values[k] + above[0], truth.frame_on.values[k] + above[-1]
            assert abs(int(analysis.frame_on[k]) - first) <= 1
            assert abs(int(analysis.frame_on[k] + analysis.frame_count[k] - 1) - last) <= 1
            # Contact times: the rule's 10 % of the force is reached 13-15 ms after landing (and before leaving),
            # so the first and last contact frames lie within 20 ms and a frame of the true landing and leaving
            # (at 100 Hz: one or two frames).
            dt = 1.0 / trial.attrs["sampling_rate_hz"]
            assert 0 < float(analysis.t_on[k]) - float(truth.t_on[k]) <= 0.02 + dt
            assert 0 < float(truth.t_off[k]) - float(analysis.t_off[k]) <= 0.02 + dt
            start = int(analysis.frame_on[k]) - int(truth.frame_on[k])
            count = int(analysis.frame_count[k])
            np.testing.assert_allclose(analysis.step_force.values[k, :count], force[k, start : start + count],
                                       atol=0.01 * float(truth.peak_force[k]))  # fmt: skip
    whole = truth.complete.values
    # The frames the rule leaves out carry under 1 % of the impulse.
    ratio = analysis.force_time_integral.sel(region="total").values[whole] / truth.impulse.values[whole]
    assert np.all((ratio > 0.99) & (ratio <= 1.001))
    peak = analysis.max_force.sel(region="total").values[whole] / truth.peak_force.values[whole]
    np.testing.assert_allclose(peak, 1.0, atol=0.005)


def test_a_long_insole_recording_gives_an_analysis_a_tenth_of_its_size():
    """The analysis grows with the steps, not with steps x frames: 1 and 3 min of insoles give the same ratio."""
    ratios = []
    for minutes in (1, 3):
        trial, truth = synth.insoles(seed=7, duration_s=60.0 * minutes)
        analysis = plantar.analyze(trial)
        assert abs(analysis.sizes["step"] - truth.sizes["step"]) <= 1
        ratios.append(sum(v.nbytes for v in analysis.variables.values()) / trial.pressure.nbytes)
    assert max(ratios) < 0.15  # analysis/1: 0.8 x at 1 min, 2.3 x at 3 min
    assert ratios[1] == pytest.approx(ratios[0], rel=0.05)
