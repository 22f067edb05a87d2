"""The synthetic walking model: its physics and its ground truth.

Numbers are checked against physics (momentum balance, force conservation), against
the model's own truth, or against the published ranges the model claims.
"""

import numpy as np
import pytest

import plantar
from plantar import regions, synth

G = 9.80665


@pytest.fixture(scope="module")
def walk_3():
    return synth.walk(seed=3, passes=3)


@pytest.fixture(scope="module")
def long_mat():
    """A long mat, so several whole strides are on it."""
    return synth.walk(seed=1, passes=1, mat_length_mm=6000.0)


def step_frames(trial, truth, k):
    t = trial.time.values
    return (t > truth.t_on.values[k]) & (t < truth.t_off.values[k])


def foot_coords(trial, truth, k):
    """Position of every sensel along the truth foot axis, as u (0 heel end, 1 toe tip)."""
    X, Y = np.meshgrid(trial.x.values, trial.y.values)
    angle = np.radians(truth.axis_angle.values[k])
    along = (X - truth.heel_x.values[k]) * np.cos(angle) + (Y - truth.heel_y.values[k]) * np.sin(angle)
    template = synth._template(truth.attrs["condition"], truth.attrs["foot_length_mm"])
    return (along - template.heel_end) / template.length


def step_pressure(trial, truth, k):
    """The step's frames, with sensels far from its footprint zeroed (other passes)."""
    u = foot_coords(trial, truth, k)
    X, Y = np.meshgrid(trial.x.values, trial.y.values)
    near = np.hypot(X - truth.heel_x.values[k], Y - truth.heel_y.values[k]) < 1.2 * truth.foot_length.values[k]
    return trial.pressure.values[step_frames(trial, truth, k)] * near, u


# --------------------------------------------------------------------------------------
# force and momentum


@pytest.mark.parametrize("condition", ["barefoot", "shod"])
@pytest.mark.parametrize("seed", [1, 2])
def test_stride_mean_force_is_body_weight(condition, seed):
    mass = 62.0 + 10 * seed
    trial, truth = synth.walk(seed=seed, passes=1, mat_length_mm=6000.0, condition=condition,
                              body_mass_kg=mass)  # fmt: skip
    force = plantar.total_force(trial).values
    t, t_on, complete = trial.time.values, truth.t_on.values, truth.complete.values
    checked = 0
    for k in range(1, truth.sizes["step"] - 3):
        if complete[k - 1 : k + 3].all():  # every foot loading the window is on the mat
            window = (t >= t_on[k]) & (t < t_on[k + 2])
            assert force[window].mean() == pytest.approx(mass * G, rel=0.02)
            checked += 1
    assert checked >= 3


def test_force_on_mat_is_exactly_the_sum_of_pressure(walk_3):
    trial, truth = walk_3
    measured = plantar.total_force(trial).values
    expected = truth.force_on_mat.sum("step").values
    np.testing.assert_allclose(measured, expected, rtol=1e-5, atol=1e-3 * measured.max())


def test_complete_steps_carry_their_whole_force(walk_3):
    trial, truth = walk_3
    done = truth.complete.values
    np.testing.assert_allclose(truth.force_on_mat.values[done], truth.force.values[done], rtol=1e-9)
    assert (truth.force_on_mat.values[~done].sum(axis=1) < truth.force.values[~done].sum(axis=1)).all()


def test_double_hump_of_single_foot_force(long_mat):
    _, truth = long_mat
    bw = truth.attrs["body_mass_kg"] * G
    for k in range(truth.sizes["step"]):
        f = truth.force.values[k]
        on = np.flatnonzero(f > 0)
        curve = f[on] / bw
        n = curve.size
        first, second = curve[: n // 2].max(), curve[n // 2 :].max()
        trough = curve[int(0.4 * n) : int(0.6 * n)].min()
        assert 1.05 < first < 1.25 and 1.05 < second < 1.25
        assert 0.6 < trough < 0.9
        assert trough < 0.85 * min(first, second)


def test_truth_impulse_matches_force_and_regions(walk_3):
    trial, truth = walk_3
    dt = 1.0 / trial.attrs["sampling_rate_hz"]
    for k in range(truth.sizes["step"]):
        if not (truth.t_on.values[k] > 0 and truth.t_off.values[k] < trial.time.values[-1]):
            continue
        # Frame sampling of a smooth curve: the sum over 100 Hz frames is within 1 %.
        assert truth.force.values[k].sum() * dt == pytest.approx(truth.impulse.values[k], rel=0.01)
    total = truth.force_time_integral.sel(region="total").values
    np.testing.assert_allclose(total, truth.impulse.values, rtol=1e-9)


# --------------------------------------------------------------------------------------
# regions


def test_region_integrals_sum_to_total(walk_3):
    _, truth = walk_3
    fti = truth.force_time_integral
    base = fti.sel(region=list(regions.BASE_REGIONS)).sum("region")
    np.testing.assert_allclose(base, fti.sel(region="total"), rtol=1e-9)
    for name, members in regions.REGIONS.items():
        np.testing.assert_allclose(fti.sel(region=name), fti.sel(region=list(members)).sum("region"), rtol=1e-9)
    np.testing.assert_allclose(truth.relative_load.sel(region="total"), 100.0)
    assert (fti >= 0).all()


def test_structures_fall_in_their_regions():
    """Structures away from region boundaries lie wholly in their region (barefoot).

    This pins the medial/lateral sense of w and its measurement across the whole
    band: measured row by row, the hallux tip would count as lesser toes.
    """
    fractions = synth._template("barefoot", 250.0).region_fractions
    np.testing.assert_allclose(fractions.sum(axis=1), 1.0, rtol=1e-9)
    for structure, region in [("heel", "heel"), ("hallux", "hallux"), ("mth1", "mth1"),
                              ("mth5", "mth4_5"), ("toe3", "lesser_toes"), ("toe4", "lesser_toes")]:  # fmt: skip
        share = fractions[synth.STRUCTURES.index(structure), regions.BASE_REGIONS.index(region)]
        assert share > 0.99, (structure, region, share)


def test_shod_structures_spread_over_region_boundaries():
    fractions = synth._template("shod", 250.0).region_fractions
    np.testing.assert_allclose(fractions.sum(axis=1), 1.0, rtol=1e-9)
    heel = fractions[synth.STRUCTURES.index("heel"), regions.BASE_REGIONS.index("heel")]
    assert 0.8 < heel < 0.99


def test_truth_loads_agree_with_the_pressure_the_mat_records(walk_3):
    """Heel (u < 0.30) and forefoot (u >= 0.55) loads measured on the sensels."""
    trial, truth = walk_3
    area = trial.attrs["sensor_pitch_x_mm"] * trial.attrs["sensor_pitch_y_mm"]
    dt = 1.0 / trial.attrs["sampling_rate_hz"]
    for k in np.flatnonzero(truth.complete.values):
        p, u = step_pressure(trial, truth, k)
        fti = p.sum(axis=0) * area * 1e-3 * dt
        total = fti.sum()
        heel = 100 * fti[u < regions.HEEL_END_U].sum() / total
        forefoot = 100 * fti[u >= regions.ARCH_END_U].sum() / total
        # Only the few sensels straddling u = 0.30 and 0.55 differ (measured: < 0.1 points).
        assert heel == pytest.approx(float(truth.relative_load.sel(region="heel")[k]), abs=0.3)
        assert forefoot == pytest.approx(float(truth.relative_load.sel(region="forefoot")[k]), abs=0.3)


# --------------------------------------------------------------------------------------
# pressure and centre of pressure


def _region_peaks(trial, truth, k):
    p, u = step_pressure(trial, truth, k)
    peak = p.max(axis=0)
    return peak[u < regions.HEEL_END_U].max(), peak[(u >= regions.ARCH_END_U) & (u < 1.05)].max()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_barefoot_peaks_in_published_range(seed):
    # Healthy adults walking barefoot, 5 mm sensors: heel about 300-700 kPa, forefoot
    # 300-800 kPa (Shorten et al. 1989, J Biomech 22:1083: heel 367-517 kPa and forefoot
    # 635-737 kPa at 1.0-1.5 m/s).
    trial, truth = synth.walk(seed=seed, passes=2)
    peaks = np.array([_region_peaks(trial, truth, k) for k in np.flatnonzero(truth.complete.values)])
    assert len(peaks) >= 4
    assert ((peaks[:, 0] > 300) & (peaks[:, 0] < 700)).all()
    assert ((peaks[:, 1] > 300) & (peaks[:, 1] < 800)).all()


def test_shod_has_lower_wider_peaks():
    bare, bare_truth = synth.walk(seed=4, passes=2, condition="barefoot")
    shod, shod_truth = synth.walk(seed=4, passes=2, condition="shod")
    bare_peaks = np.array([_region_peaks(bare, bare_truth, k) for k in np.flatnonzero(bare_truth.complete.values)])
    shod_peaks = np.array([_region_peaks(shod, shod_truth, k) for k in np.flatnonzero(shod_truth.complete.values)])
    assert shod_peaks[:, 0].mean() < 0.7 * bare_peaks[:, 0].mean()
    assert shod_peaks[:, 1].mean() < 0.7 * bare_peaks[:, 1].mean()

    def area(trial, truth):
        k = int(np.flatnonzero(truth.complete.values)[0])
        p, _ = step_pressure(trial, truth, k)
        return (p.max(axis=0) > 0).sum()

    assert area(shod, shod_truth) > 1.3 * area(bare, bare_truth)
    assert float(shod_truth.foot_length[0]) > float(bare_truth.foot_length[0])


def test_cop_rolls_from_heel_to_toe_in_every_stance(walk_3):
    trial, truth = walk_3
    for k in np.flatnonzero(truth.complete.values):
        p, u = step_pressure(trial, truth, k)
        weight = p.reshape(len(p), -1)
        u_cop = weight @ u.ravel() / weight.sum(axis=1)  # measured COP, as u along the foot
        n = len(u_cop)
        assert u_cop[: max(1, n // 10)].mean() < 0.25  # starts under the heel
        assert u_cop[-max(1, n // 10) :].mean() > 0.75  # leaves over the toes
        # Heel to toe: the COP hardly ever moves backwards.
        assert (np.diff(u_cop) > -0.01).all()


def test_truth_cop_matches_the_pressure_centroid(walk_3):
    trial, truth = walk_3
    X, Y = np.meshgrid(trial.x.values, trial.y.values)
    for k in np.flatnonzero(truth.complete.values):
        p, _ = step_pressure(trial, truth, k)
        total = p.sum(axis=(1, 2))
        cop_x = (p * X).sum(axis=(1, 2)) / total
        cop_y = (p * Y).sum(axis=(1, 2)) / total
        frames = step_frames(trial, truth, k)
        err = np.hypot(cop_x - truth.cop_x.values[k, frames], cop_y - truth.cop_y.values[k, frames])
        # The sensels average the field exactly and each structure's centroid is its
        # centre, so only float32 rounding remains (measured: < 0.01 mm).
        assert np.sqrt(np.mean(err**2)) < 0.05


# --------------------------------------------------------------------------------------
# geometry and timing


def test_footprint_matches_truth_length_and_axis(walk_3):
    trial, truth = walk_3
    pitch = trial.attrs["sensor_pitch_y_mm"]
    for k in np.flatnonzero(truth.complete.values):
        p, u = step_pressure(trial, truth, k)
        loaded = p.max(axis=0) > 0
        length = (u[loaded].max() - u[loaded].min()) * truth.foot_length.values[k]
        # Sensel centres sample the footprint: within one pitch (measured -0.5 .. 4.1 mm).
        assert length == pytest.approx(truth.foot_length.values[k], abs=pitch)


def test_gait_parameters_come_out_as_asked():
    trial, truth = synth.walk(seed=5, passes=1, mat_length_mm=8000.0, cadence_steps_per_min=100.0,
                              step_length_mm=700.0, step_width_mm=120.0, toe_out_deg=10.0)  # fmt: skip
    assert np.mean(np.diff(truth.t_on.values)) == pytest.approx(60 / 100.0, rel=0.02)
    assert np.nanmean(truth.step_length.values) == pytest.approx(700.0, rel=0.03)
    assert np.nanmean(truth.step_width.values) == pytest.approx(120.0, abs=10.0)
    assert np.nanmean(truth.stride_length.values) == pytest.approx(1400.0, rel=0.03)
    assert truth.foot_angle.mean() == pytest.approx(10.0, abs=1.5)
    assert truth.attrs["speed_m_s"] == pytest.approx(0.7 * 100 / 60)
    sides = truth.side.values
    assert (sides[1:] != sides[:-1]).all()  # alternating


def test_left_foot_lies_at_smaller_x_when_walking_toward_plus_y():
    _, truth = synth.walk(seed=6, passes=1, variability=0.0)
    left = truth.heel_x.values[truth.side.values == "left"]
    right = truth.heel_x.values[truth.side.values == "right"]
    assert left.max() < right.min()
    assert np.allclose(right.mean() - left.mean(), 100.0)  # the step width


def test_medial_side_follows_the_foot():
    """The hallux is medial: for the left foot (walking +y) it is at larger x than toe 5."""
    trial, truth = synth.walk(seed=7, passes=1, variability=0.0, toe_out_deg=0.0)
    for k in np.flatnonzero(truth.complete.values):
        p, u = step_pressure(trial, truth, k)
        last = p[-3:].sum(axis=0)  # push-off: only the toes
        X = np.meshgrid(trial.x.values, trial.y.values)[0]
        cop_x = (last * X).sum() / last.sum()
        side = truth.side.values[k]
        heel_x = truth.heel_x.values[k]
        # The last COP is under the hallux, medial of the axis.
        assert (cop_x > heel_x) if side == "left" else (cop_x < heel_x)


def test_recording_cuts_make_steps_incomplete():
    trial, truth = synth.walk(seed=8, duration_s=6.0, lead_s=-0.2)
    assert trial.sizes["time"] == 600
    assert not truth.complete.values[0] and truth.t_on.values[0] < 0
    assert truth.t_on.values.max() < trial.time.values[-1]
    cut = truth.t_off.values > trial.time.values[-1]
    assert not truth.complete.values[cut].any()
    assert truth.pass_index.max() >= 1  # walked back


def test_steps_over_the_mat_end_are_incomplete_and_lose_force(walk_3):
    _, truth = walk_3
    partial = ~truth.complete.values & (truth.t_on.values > 0) & (truth.t_off.values < truth.time.values[-1])
    assert partial.any()
    lost = truth.force.values[partial].sum(axis=1) - truth.force_on_mat.values[partial].sum(axis=1)
    assert (lost > 0).all()


@pytest.mark.parametrize("pitch", [(5.08, 7.62), 10.0])
def test_anisotropic_and_coarse_pitch_conserve_force(pitch):
    trial, truth = synth.walk(seed=9, passes=1, pitch_mm=pitch, heading_deg=0.0,
                              mat_length_mm=600.0, mat_width_mm=2000.0)  # fmt: skip
    np.testing.assert_allclose(plantar.total_force(trial).values, truth.force_on_mat.sum("step").values,
                               rtol=1e-5, atol=1e-2)  # fmt: skip
    assert trial.attrs["sensor_pitch_y_mm"] == (pitch[1] if isinstance(pitch, tuple) else pitch)
    # Walking along +x: the feet advance in x.
    assert np.all(np.diff(truth.heel_x.values[truth.pass_index.values == 0]) > 0)


# --------------------------------------------------------------------------------------
# asymmetry options


def _side_means(truth, variable, region=None):
    values = truth[variable] if region is None else truth[variable].sel(region=region)
    done = truth.complete.values
    return {side: float(values.values[done & (truth.side.values == side)].mean()) for side in ("left", "right")}


def test_offloading_the_right_heel_shows_in_truth_and_pressure():
    trial, truth = synth.walk(seed=10, passes=4, offload={"right_heel": 0.3})
    heel = _side_means(truth, "relative_load", "heel")
    forefoot = _side_means(truth, "relative_load", "forefoot")
    assert forefoot["right"] > forefoot["left"]
    # As documented: the heel's load relative to the rest of the foot is cut by 30 %
    # (the heel structure is ~97 % of the heel region; step-to-step weights vary 8 %).
    odds = {side: heel[side] / (100 - heel[side]) for side in heel}
    assert odds["right"] / odds["left"] == pytest.approx(0.7, abs=0.06)
    # The symmetry index of heel FTI is negative: the right heel carries less.
    fti = _side_means(truth, "force_time_integral", "heel")
    si = (fti["right"] - fti["left"]) / (0.5 * (fti["right"] + fti["left"])) * 100
    assert si < -10
    # The mat sees it too.
    peaks = {"left": [], "right": []}
    for k in np.flatnonzero(truth.complete.values):
        peaks[truth.side.values[k]].append(_region_peaks(trial, truth, k)[0])
    assert np.mean(peaks["right"]) < 0.85 * np.mean(peaks["left"])


def test_no_offload_means_symmetric_sides():
    _, truth = synth.walk(seed=10, passes=4)
    heel = _side_means(truth, "relative_load", "heel")
    assert heel["right"] == pytest.approx(heel["left"], rel=0.08)


def test_shorter_left_stance():
    _, truth = synth.walk(seed=11, passes=1, mat_length_mm=8000.0, stance_scale={"left": 0.9})
    stance = truth.t_off - truth.t_on
    left = float(stance.values[truth.side.values == "left"].mean())
    right = float(stance.values[truth.side.values == "right"].mean())
    assert left == pytest.approx(0.9 * right, rel=0.03)
    impulse = _side_means(truth, "impulse")
    assert impulse["left"] < impulse["right"]


def test_no_variability_gives_identical_steps():
    _, truth = synth.walk(seed=12, passes=1, mat_length_mm=6000.0, variability=0.0)
    inner = truth.complete.values
    rel = truth.relative_load.values[inner]
    np.testing.assert_allclose(rel, rel[:1].repeat(len(rel), axis=0), rtol=1e-9)
    np.testing.assert_allclose(np.diff(truth.t_on.values), 60 / 110.0, rtol=1e-9)


# --------------------------------------------------------------------------------------
# determinism and arguments


def test_same_seed_same_walk_other_seed_other_walk():
    a, ta = synth.walk(seed=13, passes=1)
    b, tb = synth.walk(seed=13, passes=1)
    c, _ = synth.walk(seed=14, passes=1)
    assert a.identical(b) and ta.identical(tb)
    assert not (a.sizes == c.sizes and np.array_equal(a.pressure.values, c.pressure.values))


def test_trial_is_valid_and_truth_attrs_survive_netcdf(tmp_path, walk_3):
    trial, truth = walk_3
    plantar.check_trial(trial)
    truth.to_netcdf(tmp_path / "truth.nc", engine="h5netcdf")
    import xarray as xr

    with xr.open_dataset(tmp_path / "truth.nc", engine="h5netcdf") as back:
        xr.testing.assert_identical(back.load(), truth)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(speed_m_s=1.0, cadence_steps_per_min=100.0, step_length_mm=700.0), "does not match"),
        (dict(condition="sandals"), "condition must be one of"),
        (dict(offload={"right_knee": 0.3}), "offload keys"),
        (dict(offload={"right_heel": 1.2}), r"offload\['right_heel'\]"),
        (dict(stance_scale={"middle": 0.9}), "stance_scale keys"),
        (dict(passes=2, duration_s=10.0), "passes or duration_s"),
        (dict(passes=0), "passes must be"),
        (dict(body_mass_kg=-70.0), "body_mass_kg"),
        (dict(pitch_mm=0.0), "pitch_mm"),
        (dict(stance_fraction=0.9), "stance_fraction"),
        (dict(mat_width_mm=100.0, heading_deg=90.0, step_width_mm=900.0), "no step touches the mat"),
        (dict(mat_width_mm=100.0, step_width_mm=900.0, passes=None, duration_s=20.0), "no step touches the mat"),
    ],
)
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        synth.walk(seed=0, **kwargs)


# --------------------------------------------------------------------------------------
# insoles


@pytest.fixture(scope="module")
def insole_walk():
    return synth.insoles(seed=4, duration_s=30.0)


def test_insoles_lie_side_by_side_like_xsensor(insole_walk):
    trial, truth = insole_walk
    plantar.check_trial(trial)
    assert trial.attrs["layout"] == "insole" and trial.pressure.dtype == np.float32
    split = trial.attrs["side_split_x_mm"]
    gap = np.flatnonzero(np.isclose(trial.x.values, split))
    assert gap.size == 1 and np.isnan(trial.pressure.values[:, :, gap[0]]).all()
    assert np.isfinite(trial.pressure.values[:, :, : gap[0]]).all()
    assert np.isfinite(trial.pressure.values[:, :, gap[0] + 1 :]).all()
    assert 2 * gap[0] + 1 == trial.sizes["x"]  # two insoles of equal width
    # Each foot loads only its own insole, heel toward -y (toes toward +y).
    left = truth.side.values == "left"
    area = trial.attrs["sensor_pitch_x_mm"] * trial.attrs["sensor_pitch_y_mm"]
    p = np.nan_to_num(trial.pressure.values)
    for k in range(truth.sizes["step"]):
        if not truth.complete.values[k]:
            continue
        first, count = int(truth.frame_on[k]), int(truth.frame_count[k])
        own = slice(0, gap[0]) if left[k] else slice(gap[0] + 1, None)
        force = p[first : first + count, :, own].sum(axis=(1, 2), dtype=np.float64) * area * 1e-3
        # All of the step's force is on its insole (float32 pressure: 1e-5 of the peak).
        np.testing.assert_allclose(force, truth.force.values[k, :count], rtol=1e-4,
                                   atol=1e-5 * float(truth.peak_force[k]))  # fmt: skip
    early = p[int(truth.frame_on[1]) + 2]  # just after heel strike of step 1: the heel's rows carry the load
    rows = early[:, : gap[0]] if left[1] else early[:, gap[0] + 1 :]
    loaded_y = trial.y.values[rows.sum(axis=1) > 0]
    assert loaded_y.max() < trial.y.values.mean()


def test_insole_steps_alternate_with_momentum_balance(insole_walk):
    trial, truth = insole_walk
    sides = truth.side.values
    assert (sides[1:] != sides[:-1]).all()
    assert np.all(np.diff(truth.t_on.values) > 0)
    # Each foot's contacts follow one another; the feet overlap in double support.
    for side in ("left", "right"):
        own = sides == side
        assert np.all(truth.t_on.values[own][1:] > truth.t_off.values[own][:-1])
    assert np.all(truth.t_off.values[:-1] > truth.t_on.values[1:])
    # Over whole strides inside the recording the mean force of both feet is body weight (within 1 %).
    dt = 1.0 / trial.attrs["sampling_rate_hz"]
    area = trial.attrs["sensor_pitch_x_mm"] * trial.attrs["sensor_pitch_y_mm"]
    total = np.nansum(trial.pressure.values, axis=(1, 2), dtype=np.float64) * area * 1e-3
    start, stop = (np.searchsorted(trial.time.values, truth.t_on.values[k]) for k in (2, truth.sizes["step"] - 3))
    assert total[start:stop].mean() == pytest.approx(70.0 * G, rel=0.01)
    # The truth impulse is the truth force integrated over the step's frames (complete steps, 1 %).
    whole = truth.complete.values
    np.testing.assert_allclose(np.nansum(truth.force.values[whole], axis=1) * dt, truth.impulse.values[whole],
                               rtol=0.01)  # fmt: skip
    # Stride-to-stride variability: step times vary by about the 2 % CV of the model.
    cv = np.std(np.diff(truth.t_on.values)) / np.mean(np.diff(truth.t_on.values))
    assert 0.01 < cv < 0.04


def test_insoles_are_reproducible_and_long_ones_are_made_in_blocks():
    a, ta = synth.insoles(seed=5, duration_s=12.0)
    b, tb = synth.insoles(seed=5, duration_s=12.0, block_frames=97)
    np.testing.assert_array_equal(a.pressure.values, b.pressure.values)
    np.testing.assert_array_equal(ta.t_on.values, tb.t_on.values)
    c, _ = synth.insoles(seed=6, duration_s=12.0)
    assert not np.array_equal(np.nan_to_num(a.pressure.values), np.nan_to_num(c.pressure.values))


@pytest.mark.parametrize("kwargs, match", [
    (dict(duration_s=0.0), "duration_s"),
    (dict(duration_s=5.0, condition="boots"), "condition"),
    (dict(duration_s=5.0, lead_s=-1.0), "lead_s"),
    (dict(duration_s=5.0, block_frames=0), "block_frames"),
])  # fmt: skip
def test_bad_insole_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        synth.insoles(seed=0, **kwargs)
