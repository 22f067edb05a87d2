"""The parameters vendors report: anatomical regions, timing, force-curve features, gait line, metric variants.

Each is checked against analytic truth (constructed curves, paths and blocks) or the synthetic walk's own
truth (its anatomy, contact times).
"""

import numpy as np
import pytest

import plantar
from plantar.geometry import FootGeometry
from plantar.metrics import force_curve_features, gait_line, step_metrics
from plantar.regions import ANATOMICAL_BASE_REGIONS, ANATOMICAL_REGIONS, AnatomicalMask
from plantar.synth import STRUCTURES

#: The synthetic foot's structures in the anatomical scheme's base regions.
_ANATOMY = {"heel": "heel", "midfoot": "arch", "mth1": "mth1", "mth2": "mth2", "mth3": "mth3", "mth4": "mth4",
            "mth5": "mth5", "hallux": "hallux", "toe2": "toe2", "toe3": "toes3_5", "toe4": "toes3_5",
            "toe5": "toes3_5"}  # fmt: skip
_TRUTH_CODE = np.array([0] + [ANATOMICAL_BASE_REGIONS.index(_ANATOMY[s]) + 1 for s in STRUCTURES])


def _matched(analysis, truth):
    """Truth step index of each complete analysed step (by first contact)."""
    pairs = []
    for k in np.flatnonzero(analysis.complete.values):
        j = int(np.argmin(np.abs(truth.t_on.values - float(analysis.t_on[k]))))
        pairs.append((k, j))
    return pairs


@pytest.mark.parametrize("pitch_mm", [5.0, 8.0, 10.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_anatomical_mask_finds_the_structure_loading_each_sensel(pitch_mm, seed):
    trial, truth = plantar.synth.walk(seed=seed, passes=2, pitch_mm=pitch_mm)
    analysis = plantar.analyze(trial, mask="anatomical")
    agree = total = 0
    sides = set()
    for k, j in _matched(analysis, truth):
        peak = analysis.peak_pressure_map.values[k]
        carrying = peak > 0.10 * peak.max()
        expected = _TRUTH_CODE[truth.structure.values[j]][carrying]
        agree += int((analysis.mask_label.values[k][carrying] == expected).sum())
        total += int(carrying.sum())
        sides.add(str(analysis.side.values[k]))
    assert sides == {"left", "right"}
    assert total > 200
    assert agree / total >= 0.90


def test_anatomical_regions_add_up_and_keep_the_percent_names():
    trial, _ = plantar.synth.walk(seed=4, passes=1)
    anatomical = plantar.analyze(trial, mask="anatomical")
    percent = plantar.analyze(trial)
    assert set(percent.region.values) <= set(anatomical.region.values)
    fti = anatomical.force_time_integral
    for region, members in ANATOMICAL_REGIONS.items():
        np.testing.assert_allclose(fti.sel(region=region), fti.sel(region=list(members)).sum("region"), rtol=1e-9)
    # The same footprint: the whole foot's numbers do not depend on the scheme.
    np.testing.assert_allclose(anatomical.force_time_integral.sel(region="total"),
                               percent.force_time_integral.sel(region="total"), rtol=1e-12)  # fmt: skip
    # The coarse labels name the percent scheme's base regions: MTH2 and MTH3 are drawn as mth2_3.
    coarse = AnatomicalMask().coarse(anatomical.mask_label.values)
    np.testing.assert_array_equal(coarse, anatomical.region_label.values)
    assert anatomical.attrs["mask"] == "anatomical" and "mask_label" not in percent


def test_force_curve_features_of_a_known_double_hump():
    stance = 0.62
    t = np.arange(0.0, stance + 1e-9, 0.01)

    def curve(tau):
        return 760.0 * np.exp(-0.5 * ((tau - 0.23) / 0.11) ** 2) + 690.0 * np.exp(-0.5 * ((tau - 0.78) / 0.13) ** 2)

    fine = np.linspace(0.0, 1.0, 200001)
    f_fine = curve(fine)
    first, second = fine < 0.5, fine >= 0.5
    i1, i2 = np.argmax(np.where(first, f_fine, -1)), np.argmax(np.where(second, f_fine, -1))
    iv = i1 + np.argmin(f_fine[i1 : i2 + 1])
    out = force_curve_features(curve(t / t[-1]), t, body_weight_n=686.0)
    assert out["force_peak1"] == pytest.approx(f_fine[i1], rel=2e-3)
    assert out["force_peak2"] == pytest.approx(f_fine[i2], rel=2e-3)
    assert out["force_valley"] == pytest.approx(f_fine[iv], rel=2e-3)
    for name, i in (("force_peak1_instant", i1), ("force_peak2_instant", i2), ("force_valley_instant", iv)):
        assert out[name] == pytest.approx(100.0 * fine[i], abs=0.3)  # a frame is 1.6 % of this stance
    rate = (out["force_peak1"] - curve(0.0)) / (out["force_peak1_instant"] / 100.0 * t[-1])
    assert out["loading_rate"] == pytest.approx(rate, rel=1e-12)
    assert out["loading_rate"] == pytest.approx((f_fine[i1] - curve(0.0)) / (fine[i1] * t[-1]), rel=0.01)
    assert out["loading_rate_bw"] == pytest.approx(out["loading_rate"] / 686.0, rel=1e-12)
    assert np.isnan(force_curve_features(curve(t / t[-1]), t)["loading_rate_bw"])
    assert all(np.isnan(v) for v in force_curve_features([1.0, 2.0], [0.0, 0.01]).values())


@pytest.mark.parametrize("side", ["left", "right"])
def test_gait_line_of_a_known_path(side):
    # A foot along +x (axis angle 0): the path runs 200 mm along the axis at 2 mm per 10 ms frame, bowing
    # laterally by 7 mm in its middle; lateral is +y for a left foot (left of its axis, away from the body's
    # midline), -y for a right one.
    g = FootGeometry(0.0, 0.0, 1.0, 0.0, -50.0, 250.0, 90.0, 0.0)
    along = np.arange(-30.0, 170.0 + 1e-9, 2.0)
    lateral = 7.0 * np.sin(np.pi * (along + 30.0) / 200.0)
    y = lateral if side == "left" else -lateral
    t = np.arange(along.size) * 0.01
    out = gait_line(along, y, t, g, side)
    length = np.hypot(np.diff(along), np.diff(y)).sum()
    assert out["gait_line_length"] == pytest.approx(length, rel=1e-12)
    assert 200.0 < length < 201.0
    assert out["gait_line_velocity"] == pytest.approx(length / t[-1], rel=1e-12)
    assert out["gait_line_width"] == pytest.approx(7.0, abs=1e-9)
    assert out["gait_line_start_along"] == pytest.approx(100.0 * 20.0 / 250.0)
    assert out["gait_line_end_along"] == pytest.approx(100.0 * 220.0 / 250.0)
    assert out["gait_line_start_medial"] == pytest.approx(0.0, abs=1e-9)
    # u < 0.30: along < 25 mm, 28 of the 101 points; 0.30 <= u < 0.55: 25 .. 87.5 mm, 31 points.
    assert out["gait_line_heel_percent"] == pytest.approx(100.0 * 28 / 101)
    assert out["gait_line_midfoot_percent"] == pytest.approx(100.0 * 31 / 101)
    assert out["gait_line_forefoot_percent"] == pytest.approx(100.0 * 42 / 101)
    assert np.isnan(gait_line(along, y, t, g, "unknown")["gait_line_width"])


def test_region_timing_and_metric_variants_of_a_constructed_step():
    # Eleven 10 ms frames; heel (label 1): two sensels loaded in frames 0..5, peak in frame 2; arch (label 2):
    # one sensel loaded in frames 4..10, at most 80 kPa in frame 8. Sensels of 100 mm^2.
    p = np.zeros((11, 1, 3))
    p[0:6, 0, 0] = [50, 100, 200, 100, 50, 20]
    p[1:4, 0, 1] = 40.0
    p[4:11, 0, 2] = [10, 20, 40, 60, 80, 30, 10]
    labels = np.array([[1, 1, 2]])
    t = np.arange(11) * 0.01
    m = step_metrics(p, labels, time_s=t, sensel_area_mm2=100.0, threshold_kpa=0.0)
    heel, arch = 1, 2  # columns of REGIONS: total, heel, arch, ...
    assert m["contact_start"][heel] == pytest.approx(0.0) and m["contact_end"][heel] == pytest.approx(50.0)
    assert m["contact_start"][arch] == pytest.approx(40.0) and m["contact_end"][arch] == pytest.approx(100.0)
    assert m["peak_pressure_instant"][heel] == pytest.approx(20.0)
    assert m["peak_pressure_instant"][arch] == pytest.approx(80.0)
    assert m["max_force_instant"][heel] == pytest.approx(20.0)  # 240 kPa x 100 mm^2 = 24 N in frame 2
    assert m["contact_time_percent"][heel] == pytest.approx(100.0 * 0.06 / 0.11)
    assert np.isnan(m["contact_start"][3])  # forefoot: never loaded
    # Variants: area ever loaded vs the largest in one frame; Melai's PTI = FTI / area; peak mask pressure.
    assert m["contact_area"][heel] == pytest.approx(200.0) and m["max_contact_area"][heel] == pytest.approx(200.0)
    assert m["contact_area"][0] == pytest.approx(300.0) and m["max_contact_area"][0] == pytest.approx(200.0)
    assert m["pressure_time_integral_melai"][heel] == pytest.approx(m["force_time_integral"][heel] / 200.0 * 1e3)
    assert m["peak_mask_pressure"][heel] == pytest.approx(240.0 / 2)  # 24 N over 200 mm^2 = 120 kPa
    assert m["peak_mask_pressure"][arch] == pytest.approx(80.0)
    np.testing.assert_allclose(m["loaded_area"][:, 0], 100.0 * (p > 0).sum(axis=(1, 2)))
    assert np.isnan(m["pressure_time_integral_melai"][3]) and np.isnan(m["peak_mask_pressure"][3])


def test_gait_cycle_times_match_the_synthetic_walk():
    trial, truth = plantar.synth.walk(seed=5, passes=2, mat_length_mm=5000.0)
    analysis = plantar.analyze(trial)
    dt = float(trial.time[1] - trial.time[0])
    pairs = dict(_matched(analysis, truth))
    checked = 0
    for k, j in pairs.items():
        if np.isnan(analysis.stride_time[k]):
            continue
        same = (truth.side.values == truth.side.values[j]) & (truth.pass_index.values == truth.pass_index.values[j])
        later = np.flatnonzero(same & (np.arange(truth.sizes["step"]) > j))
        stride = truth.t_on.values[later[0]] - truth.t_on.values[j]
        stance = truth.t_off.values[j] - truth.t_on.values[j]
        assert float(analysis.stride_time[k]) == pytest.approx(stride, abs=dt)
        assert float(analysis.swing_time[k]) == pytest.approx(stride - stance, abs=2 * dt)
        percent = float(analysis.stance_cycle_percent[k])
        assert percent == pytest.approx(100 * stance / stride, abs=100 * 2 * dt / stride)
        assert float(analysis.stride_cadence[k]) == pytest.approx(120.0 / stride, rel=dt / stride * 1.01)
        if np.isfinite(analysis.single_support_time[k]):
            before, after = j - 1, j + 1
            on, off = truth.t_on.values, truth.t_off.values
            ds = (off[before] - on[j]) + (off[j] - on[after])
            assert float(analysis.double_support_time[k]) == pytest.approx(ds, abs=2 * dt)
            assert float(analysis.single_support_time[k]) == pytest.approx(stance - ds, abs=3 * dt)
            total = (analysis.stance_cycle_percent[k] + analysis.swing_cycle_percent[k])
            assert float(total) == pytest.approx(100.0)
        checked += 1
    assert checked >= 6


def test_double_support_is_not_short_by_a_frame():
    # Each contact holds the ground from its first frame to a frame period after its last, as stance time:
    # over many steps the error against the continuous truth averages out (it was one frame short).
    trial, truth = plantar.synth.walk(seed=6, passes=2, mat_length_mm=5000.0)
    analysis = plantar.analyze(trial)
    dt = float(trial.time[1] - trial.time[0])
    errors = []
    for k, j in _matched(analysis, truth):
        if 0 < k < analysis.sizes["step"] - 1 and np.isfinite(analysis.single_support_time[k]):
            ds = (truth.t_off.values[j - 1] - truth.t_on.values[j]) + (truth.t_off.values[j] - truth.t_on.values[j + 1])
            errors.append(float(analysis.double_support_time[k]) - ds)
    assert len(errors) >= 8
    assert abs(np.mean(errors)) < 0.5 * dt


def test_contact_area_series_and_force_curve_on_step_frames():
    trial, _ = plantar.synth.walk(seed=7, passes=1)
    analysis = plantar.analyze(trial)
    area = analysis.step_contact_area
    assert area.dims == ("step", "step_frame")
    np.testing.assert_allclose(area.max("step_frame"), analysis.max_contact_area.sel(region="total"))
    k = int(np.flatnonzero(analysis.complete.values)[0])
    first, count = int(analysis.frame_on[k]), int(analysis.frame_count[k])
    threshold = analysis.attrs["threshold_kpa"]
    labels = analysis.region_label.values[k] > 0
    block = trial.pressure.values[first : first + count]
    sensel = float(trial.attrs["sensor_pitch_x_mm"]) * float(trial.attrs["sensor_pitch_y_mm"])
    expected = ((block > threshold) & labels).sum(axis=(1, 2)) * sensel  # no other foot in this step's frames
    np.testing.assert_allclose(area.values[k, :count], expected)
    assert analysis.force_peak1[k] == pytest.approx(float(analysis.step_force[k].max()), rel=0.3)
    force = analysis.step_force.values[k, :count]
    assert float(analysis.force_peak1[k]) >= force[: count // 2].max() - 1e-9


def test_table_carries_the_variants_with_their_definitions():
    trial, _ = plantar.synth.walk(seed=2, passes=1)
    table = plantar.to_table(plantar.analyze(trial, mask="anatomical"))
    heel = table.query("step == 0 and region == 'mth2'").set_index("metric")
    assert "Melai" in heel.loc["pressure_time_integral_melai", "definition"]
    assert "novel" in heel.loc["pressure_time_integral", "definition"]
    for name in ("force_peak1", "loading_rate", "gait_line_length", "stride_time", "stance_cycle_percent"):
        row = table.query("step == 0 and metric == @name")
        assert len(row) == 1 and row.iloc[0]["region"] == "" and row.iloc[0]["definition"]


@pytest.mark.parametrize("folder, name", [("novel-emed", "emed_test.lst"), ("rsscan-footscan", "footscan_test.xls")])
def test_anatomical_regions_of_the_real_plate_steps_lie_in_anatomical_order(folder, name):
    from real_data import real_file

    trial = plantar.read(real_file(folder, name))
    analysis = plantar.analyze(trial, mask="anatomical")
    assert analysis.side.values.tolist() == ["right"]
    assert (analysis.contact_area.sel(region=list(ANATOMICAL_BASE_REGIONS))[0] > 0).all()
    np.testing.assert_allclose(analysis.force_time_integral.sel(region="total"),
                               plantar.analyze(trial).force_time_integral.sel(region="total"), rtol=1e-12)  # fmt: skip
    # Foot frame: along the axis from the heel centre, and medial (a right foot's medial side, toward the body's
    # midline, is to the left of its axis).
    angle = np.radians(float(analysis.axis_angle[0]))
    X, Y = np.meshgrid(analysis.x.values - float(analysis.heel_x[0]), analysis.y.values - float(analysis.heel_y[0]))
    along = X * np.cos(angle) + Y * np.sin(angle)
    medial = -X * np.sin(angle) + Y * np.cos(angle)
    labels, load = analysis.mask_label.values[0], analysis.peak_pressure_map.values[0]

    def centre(region):
        inside = labels == ANATOMICAL_BASE_REGIONS.index(region) + 1
        return np.average(along[inside], weights=load[inside]), np.average(medial[inside], weights=load[inside])

    heads = [centre(f"mth{i}") for i in range(1, 6)]
    assert all(a[1] > b[1] for a, b in zip(heads, heads[1:]))  # MTH1 most medial .. MTH5 most lateral
    assert centre("hallux")[0] > heads[0][0] and centre("toe2")[0] > heads[1][0]  # toes beyond their heads
    assert centre("heel")[0] < centre("arch")[0] < min(h[0] for h in heads)


def test_emed_force_curve_features_match_the_force_the_file_states():
    from real_data import real_file

    trial = plantar.read(real_file("novel-emed", "emed_test.lst"))
    analysis = plantar.analyze(trial)
    first, count = int(analysis.frame_on[0]), int(analysis.frame_count[0])
    stated = force_curve_features(trial.force_reported.values[first : first + count],
                                  trial.time.values[first : first + count])  # fmt: skip
    for name in ("force_peak1", "force_valley", "force_peak2"):
        assert float(analysis[name][0]) == pytest.approx(stated[name], abs=0.5)  # the export rounds each row
        assert float(analysis[name + "_instant"][0]) == pytest.approx(stated[name + "_instant"], abs=0.1)
    assert float(analysis.loading_rate[0]) == pytest.approx(stated["loading_rate"], rel=1e-3)


def test_table_of_an_analysis_written_before_the_new_variables():
    trial, _ = plantar.synth.walk(seed=2, passes=1)
    analysis = plantar.analyze(trial)
    new = ["pressure_time_integral_melai", "peak_mask_pressure", "max_contact_area", "contact_start", "force_peak1",
           "gait_line_length", "stride_time", "step_contact_area"]
    table = plantar.to_table(analysis.drop_vars(new))
    assert not set(new) & set(table.metric)
    assert len(table.query("metric == 'peak_pressure'")) == analysis.sizes["step"] * analysis.sizes["region"]


def test_stride_and_swing_of_one_insole_alone():
    # One foot's insole, the other foot unseen: stride and swing need the same foot only; support phases need both.
    trial, truth = plantar.synth.insoles(seed=3, duration_s=12.0)
    split = trial.attrs["side_split_x_mm"]
    left = trial.sel(x=trial.x[trial.x < split]).assign_attrs(side="left")
    del left.attrs["side_split_x_mm"]
    analysis = plantar.analyze(left)
    dt = float(trial.time[1] - trial.time[0])
    on = truth.t_on.values[truth.side.values == "left"]
    off = truth.t_off.values[truth.side.values == "left"]
    checked = 0
    for k in np.flatnonzero(np.isfinite(analysis.stride_time.values)):
        j = int(np.argmin(np.abs(on - float(analysis.t_on[k]))))
        assert float(analysis.stride_time[k]) == pytest.approx(on[j + 1] - on[j], abs=dt)
        # Insole contact follows Tekscan's residual-force rule (F > F_min + 10 % of the range), which cuts the
        # soft start and end of contact: stance is shorter than the foot's, swing longer by as much.
        assert float(analysis.swing_time[k]) == pytest.approx(float(analysis.stride_time[k] - analysis.stance_time[k]))
        assert on[j + 1] - off[j] - dt < float(analysis.swing_time[k]) < on[j + 1] - off[j] + 0.1 * (off[j] - on[j])
        checked += 1
    assert checked >= 8
    assert np.isnan(analysis.single_support_time.values).all()
