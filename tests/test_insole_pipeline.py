"""The analysis pipeline on trials of irregular sensors (insoles), against the synthetic truth and real files."""

import numpy as np
import pytest

import plantar
from plantar.insoles import insole_steps, sensor_regions
from plantar.regions import BASE_REGIONS, percent_labels
from real_data import real_file


@pytest.fixture(scope="module")
def walk():
    trial, truth, grid = plantar.synth.sensor_insoles(seed=3, duration_s=8.0)
    return trial, truth, grid, plantar.analyze(trial)


def _matched(analysis, truth):
    """Pairs (analysis step, truth step) of the same side whose first frames are within 2 frames."""
    pairs = []
    for k in range(truth.sizes["step"]):
        if not bool(truth.complete[k]) or int(truth.frame_count[k]) < 10:
            continue
        same = np.flatnonzero((analysis.side.values == str(truth.side.values[k]))
                              & (np.abs(analysis.frame_on.values - int(truth.frame_on[k])) <= 2))  # fmt: skip
        assert same.size == 1, f"truth step {k} found {same.size} times"
        pairs.append((int(same[0]), k))
    return pairs


def test_force_is_pressure_times_area_exactly_per_frame_and_side(walk):
    trial, _, grid, _ = walk
    force = plantar.total_force(trial)
    p = trial.pressure.values.astype(np.float64)
    area = trial.sensor_area.values
    np.testing.assert_allclose(force.values, p @ area * 1e-3, rtol=1e-12)
    left = trial.sensor_side.values == "left"
    np.testing.assert_allclose(force.force_left.values, p[:, left] @ area[left] * 1e-3, rtol=1e-12)
    np.testing.assert_allclose(force.force_left + force.force_right, force, rtol=1e-12)
    # The sensors are whole cells of the synthetic grid: the grid's force is kept (float32 rounding).
    np.testing.assert_allclose(force.values, plantar.total_force(grid).values, rtol=1e-4, atol=1e-3)


def test_cop_is_the_force_weighted_centroid_and_near_the_fine_grid(walk):
    trial, _, grid, _ = walk
    c = plantar.cop(trial)
    p = trial.pressure.values.astype(np.float64)
    left = trial.sensor_side.values == "left"
    w = p[:, left] * trial.sensor_area.values[left]
    loaded = w.sum(axis=1) > 0
    expected = (w @ trial.sensor_x.values[left])[loaded] / w.sum(axis=1)[loaded]
    np.testing.assert_allclose(c.cop_x_left.values[loaded], expected, rtol=1e-12)
    assert np.isnan(c.cop_x_left.values[~loaded]).all()
    # Against the fine grid's COP of the left insole: within half the largest sensor (the sampling's bound).
    split = grid.attrs["side_split_x_mm"]
    fine = plantar.cop(grid.where(grid.x < split))
    half = 0.5 * np.sqrt(trial.sensor_area.values.max())
    both = loaded & np.isfinite(fine.cop_y.values)
    assert np.nanmax(np.abs(c.cop_y_left.values[both] - fine.cop_y.values[both])) < half
    assert np.nanmax(np.abs(c.cop_x_left.values[both] - fine.cop_x.values[both])) < half


@pytest.mark.parametrize("fraction, frames", [(0.01, 1), (None, 2)])
def test_steps_by_the_insole_rule_match_the_truth(walk, fraction, frames):
    """At 1 % of the peak (the contact itself: the synthetic force has no noise) within one frame; with the
    default rule (on at 5 %, off at 10 % of the peak, the vendors' toe-off convention) within two."""
    trial, truth, _, analysis = walk
    if fraction is not None:
        analysis = plantar.insoles.analyze_sensors(trial, on_fraction=fraction, off_fraction=fraction)
    pairs = _matched(analysis, truth)
    assert len(pairs) >= 10
    for k, j in pairs:
        assert abs(int(analysis.frame_on[k]) - int(truth.frame_on[j])) <= frames
        last = int(analysis.frame_on[k] + analysis.frame_count[k])
        assert abs(last - int(truth.frame_on[j] + truth.frame_count[j])) <= frames
        assert analysis.side.values[k] == truth.side.values[j]
    # Step force: the truth's force in the step's frames, to 0.5 % of its peak (float32 pressure).
    for k, j in pairs:
        count = min(int(analysis.frame_count[k]), int(truth.frame_count[j]))
        shift = int(truth.frame_on[j]) - int(analysis.frame_on[k])
        ours = analysis.step_force.values[k, max(shift, 0) : max(shift, 0) + count - abs(shift)]
        theirs = truth.force.values[j, max(-shift, 0) : max(-shift, 0) + count - abs(shift)]
        np.testing.assert_allclose(ours, theirs, atol=5e-3 * float(truth.peak_force[j]))


def test_support_times_and_not_applicable_variables(walk):
    trial, truth, _, analysis = walk
    contact = plantar.insoles.analyze_sensors(trial, on_fraction=0.01, off_fraction=0.01)
    dt = 1.0 / 100.0
    inner = contact.single_support_time.notnull().values
    assert inner.sum() >= 6
    # Truth: stance minus the overlaps with the opposite foot's previous and next contacts (each end of each
    # contact found within one frame, each contact held one frame period after its last frame).
    for k in np.flatnonzero(inner):
        j = int(np.argmin(np.abs(truth.t_on.values - float(contact.t_on[k]))))
        overlap = sum(max(0.0, min(truth.t_off[j], truth.t_off[i]) - max(truth.t_on[j], truth.t_on[i]))
                      for i in (j - 1, j + 1))  # fmt: skip
        assert abs(float(contact.double_support_time[k]) - float(overlap)) <= 2 * dt
        stance = float(truth.t_off[j] - truth.t_on[j])
        assert abs(float(contact.single_support_time[k]) - (stance - float(overlap))) <= 3 * dt
    for name in ("step_length", "foot_angle", "step_width", "cpei"):
        assert analysis[name].isnull().all()
        assert analysis[name].attrs["definition"].endswith("n/a (insoles)")
    assert analysis.attrs["map_layout"] == "sensor"
    assert analysis.peak_pressure_map.dims == ("step", "sensor")
    table = plantar.to_table(analysis)
    rows = table.query("metric == 'step_length'")
    assert len(rows) == analysis.sizes["step"] and rows.definition.str.endswith("n/a (insoles)").all()


def test_regional_loads_against_the_fine_grid_truth(walk):
    """Relative loads of heel, arch, metatarsal heads and toes within 4 points of the fine grid's.

    The truth labels every cell of the fine grid by its own position in the insole (the same percent rule);
    the sensors straddle the region borders, which bounds the difference.
    """
    trial, truth, grid, analysis = walk
    left = grid.x.values < grid.attrs["side_split_x_mm"]
    cells = grid.cell_sensor.values[:, left]
    y = np.broadcast_to(grid.y.values[:, None], cells.shape)
    x = np.broadcast_to(grid.x.values[None, left], cells.shape)
    pitch = grid.attrs["sensor_pitch_y_mm"]
    u = (y - (y.min() - pitch / 2)) / (np.ptp(y) + pitch)
    cell_labels = percent_labels(u, x, np.ones(u.shape, dtype=bool))
    p = np.nan_to_num(grid.pressure.values[:, :, left])
    for k, j in _matched(analysis, truth):
        if analysis.side.values[k] != "left":
            continue
        frames = slice(int(analysis.frame_on[k]), int(analysis.frame_on[k] + analysis.frame_count[k]))
        load = np.array([p[frames][:, cell_labels == b].sum() for b in range(1, 8)])
        share = dict(zip(BASE_REGIONS, 100 * load / load.sum()))
        expected = {"heel": share["heel"], "arch": share["arch"],
                    "metatarsal_heads": share["mth1"] + share["mth2_3"] + share["mth4_5"],
                    "toes": share["hallux"] + share["lesser_toes"]}  # fmt: skip
        for region, value in expected.items():
            assert abs(float(analysis.relative_load[k].sel(region=region)) - value) < 4.0, region
        total = float(analysis.force_time_integral[k].sel(region="total"))
        assert total == pytest.approx(float(truth.impulse[j]), rel=0.03)


def test_sensor_regions_follow_the_insole_and_its_side():
    trial, _, _ = plantar.synth.sensor_insoles(seed=0, duration_s=3.0)
    labels = sensor_regions(trial)
    names = np.array(BASE_REGIONS)[labels - 1]
    side, x, y = trial.sensor_side.values, trial.sensor_x.values, trial.sensor_y.values
    for s, medial_sign in (("left", 1.0), ("right", -1.0)):
        own = side == s
        u = (y[own] - y[own].min()) / np.ptp(y[own])
        assert set(names[own][u < 0.25]) == {"heel"}
        mth1, mth45 = own & (names == "mth1"), own & (names == "mth4_5")
        assert medial_sign * (x[mth1].mean() - x[mth45].mean()) > 0  # the first metatarsal head is medial


def test_insole_rule_drops_noise_and_joins_short_drops():
    t = np.arange(300) / 100.0
    f = np.zeros(300)
    f[50:110] = 800.0
    f[70] = 0.0  # a one-frame drop inside stance: joined
    f[150:152] = 500.0  # a 20 ms blip in swing: dropped
    f[200:260] = 700.0
    f[230] = np.nan  # a missing sample: the one before
    np.testing.assert_array_equal(insole_steps(f, t), [[50, 109], [200, 259]])


def test_moticon_steps_agree_with_the_vendor_events_within_two_frames():
    trial = plantar.read(real_file("moticon-opengo", "230927_102114.txt"))
    analysis = plantar.analyze(trial)
    checked = 0
    for side in ("left", "right"):
        events = trial[f"step_event_{side}"].values
        own = analysis.side.values == side
        first = analysis.frame_on.values[own]
        last = first + analysis.frame_count.values[own] - 1
        for code, ours in ((1, first), (2, last)):
            for i in np.flatnonzero(events == code):
                assert np.abs(ours - i).min() <= 2, (side, code, i)
                checked += 1
    assert checked == 28  # 7 heel strikes and 7 toe offs per foot in the file
    relative = analysis.relative_load.sel(region=["heel", "arch", "forefoot"]).sum("region")
    np.testing.assert_allclose(relative.where(analysis.complete, drop=True), 100.0, atol=1e-6)


def test_sensor_map_draws_one_true_polygon_per_sensor(walk):
    trial, _, _, analysis = walk
    fig = plantar.viz.sensor_map(analysis)
    polygons = [t for t in fig.data if t.fill == "toself"]
    assert len(polygons) == trial.sizes["sensor"]
    # Each polygon is its sensor's outline, closed; its colour follows the mean peak of the complete steps.
    i = 20
    np.testing.assert_allclose(polygons[i].x[:4], trial.outline_x.values[i], atol=0.05)
    np.testing.assert_allclose(polygons[i].y[:4], trial.outline_y.values[i], atol=0.05)
    keep = analysis.complete.values & (analysis.side.values == str(trial.sensor_side.values[i]))
    expected = float(analysis.peak_pressure_map.values[keep, i].mean())
    assert f"{expected:.1f} kPa" in polygons[i].text
    step = int(analysis.step[np.flatnonzero(analysis.side.values == "right")[0]])
    one = plantar.viz.peak_pressure_map(analysis, step=step)
    assert len([t for t in one.data if t.fill == "toself"]) == int((trial.sensor_side == "right").sum())


def test_report_on_insoles_gives_both_feet_symmetry_regions_and_maps(walk, tmp_path):
    from plantar.report import Report

    trial, _, _, analysis = walk
    report = Report()
    report.add_trial(trial, label="shod", analysis=analysis)
    report.add_summary()
    html = report.to_html()
    assert "Insoles: peak pressure per sensor" in html
    assert "n/a (insoles)" in html
    assert "could not be drawn" not in html
    for side in ("left", "right"):
        assert (analysis.complete.values & (analysis.side.values == side)).sum() >= 4
    symmetry = plantar.offloading(analysis)
    heel_left = float(analysis.force_time_integral.sel(region="heel").where(
        analysis.complete & (analysis.side == "left")).mean())  # fmt: skip
    assert float(symmetry.left_mean.sel(region="heel")) == pytest.approx(heel_left, rel=1e-9)
    path = tmp_path / "insoles.html"
    report.save(path)
    assert path.stat().st_size > 10_000


@pytest.mark.parametrize("folder, name", [("novel-pedar", "pedar_example.asc"),
                                          ("moticon-opengo", "230927_102114.txt")])  # fmt: skip
def test_real_insole_files_analyse_with_both_feet_and_regions(folder, name):
    trial = plantar.read(real_file(folder, name))
    analysis = plantar.analyze(trial)
    for side in ("left", "right"):
        assert (analysis.complete.values & (analysis.side.values == side)).sum() >= 5
    # Regional loads add up: heel + arch + forefoot = 100 % of the total force-time integral.
    load = analysis.relative_load.sel(region=["heel", "arch", "forefoot"]).sum("region")
    np.testing.assert_allclose(load.where(analysis.complete, drop=True), 100.0, atol=1e-6)
    if "force_variable" not in trial.attrs:  # pedar: the step force is sum(pressure x published area)
        k = int(np.flatnonzero(analysis.complete.values)[0])
        own = trial.sensor_side.values == analysis.side.values[k]
        frame = int(analysis.frame_on[k]) + 5
        expected = float((trial.pressure.values[frame, own].astype(float) * trial.sensor_area.values[own]).sum() * 1e-3)
        assert float(analysis.step_force[k, 5]) == pytest.approx(expected, rel=1e-9)
    fig = plantar.viz.sensor_map(analysis)
    assert len([t for t in fig.data if t.fill == "toself"]) == trial.sizes["sensor"]


def test_an_insole_offload_is_found_by_compare_on_its_side_only():
    """An orthotic taking 30 % off the right metatarsal heads (same walker, same seed): the right metatarsal
    heads' share of the load falls by at least 4 points and beyond the step-to-step noise, the left foot's
    regional shares stay as they were (the model changes nothing there)."""
    analyses = {}
    for label, offload in (("shoe", None), ("orthotic", {"right_metatarsal_heads": 0.3})):
        trial, _, _ = plantar.synth.sensor_insoles(seed=5, duration_s=12.0, condition="shod", offload=offload)
        analyses[label] = plantar.analyze(trial)
    c = plantar.compare(analyses, baseline="shoe")
    load = c["diff"].sel(condition="orthotic", metric="relative_load")
    assert float(load.sel(side="right", region="metatarsal_heads")) < -4.0
    assert c["verdict"].sel(condition="orthotic", metric="relative_load", side="right",
                            region="metatarsal_heads").item() == "beyond noise"  # fmt: skip
    np.testing.assert_allclose(load.sel(side="left").values, 0.0, atol=1e-6)


@pytest.mark.parametrize("folder, name", [("novel-pedar", "pedar_example.asc"),
                                          ("moticon-opengo", "230927_102114.txt")])  # fmt: skip
def test_plantar_report_on_a_real_insole_file_gives_both_feet_symmetry_and_regions(folder, name, tmp_path):
    import json

    from plantar.cli import main

    out = tmp_path / "report.html"
    assert main(["-q", "report", str(real_file(folder, name)), "--no-animation", "-o", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    assert "Insoles: peak pressure per sensor" in html and "could not be drawn" not in html
    assert "n/a (insoles)" in html
    numbers = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    text = json.dumps(numbers)
    for word in ("symmetry_index", "heel", "metatarsal_heads", "left", "right"):
        assert word in text, word


def test_describe_a_sensor_trial(walk):
    trial, _, _, _ = walk
    info = plantar.describe(trial)
    assert info["sensels"] == trial.sizes["sensor"] and (info["rows"], info["cols"]) == (0, 0)
    assert np.isnan(info["pitch_x_mm"]) and "cells" in info["sensor_geometry"]
    force = trial.pressure.values.astype(np.float64) @ trial.sensor_area.values * 1e-3
    assert info["max_force_n"] == pytest.approx(force.max(), rel=1e-12)
    assert info["peak_pressure_kpa"] == pytest.approx(float(trial.pressure.max()))


def test_medial_and_lateral_halves_against_the_fine_grid(walk):
    """The insole's medial half (toward the other insole) carries the fine grid's medial share of the load
    (cells by their own x against the insole's centre line), to 0.5 point: no sensor straddles the line."""
    trial, truth, grid, analysis = walk
    split = grid.attrs["side_split_x_mm"]
    x = grid.x.values
    p = np.nan_to_num(grid.pressure.values)
    for s, cols in (("left", x < split), ("right", x > split)):
        pitch = grid.attrs["sensor_pitch_x_mm"]
        centre = (x[cols].min() + x[cols].max()) / 2
        medial = (x > centre) if s == "left" else (x < centre)
        medial_cols, lateral_cols = cols & medial, cols & ~medial
        assert abs(medial_cols.sum() - lateral_cols.sum()) <= 1 and pitch > 0
        for k in np.flatnonzero(analysis.complete.values & (analysis.side.values == s)):
            frames = slice(int(analysis.frame_on[k]), int(analysis.frame_on[k] + analysis.frame_count[k]))
            share = 100 * p[frames][:, :, medial_cols].sum() / p[frames][:, :, cols].sum()
            assert float(analysis.relative_load[k].sel(region="medial")) == pytest.approx(share, abs=0.5)
            both = analysis.relative_load[k].sel(region=["medial", "lateral"]).sum()
            assert float(both) == pytest.approx(100.0, abs=1e-9)


def test_animation_of_a_sensor_trial_colours_each_sensor_by_its_pressure(walk):
    trial, _, _, _ = walk
    fig = plantar.viz.pressure_animation(trial, max_frames=25)
    assert len(fig.frames) == 25
    outline = fig.data[0]
    assert np.isnan(np.asarray(outline.x, dtype=float)).sum() == trial.sizes["sensor"]  # one closed ring each
    times = np.array([float(f.name) for f in fig.frames])
    for f, t in zip(fig.frames[::6], times[::6]):
        frame = int(np.argmin(np.abs(trial.time.values - t)))
        expected = np.round(trial.pressure.values[frame])
        np.testing.assert_array_equal(np.asarray(f.data[0].marker.color, dtype=float), expected)


def test_compare_maps_and_a_two_condition_report_on_insoles():
    from plantar.report import Report

    report, analyses = Report(), {}
    for label, offload in (("shoe", None), ("orthotic", {"right_metatarsal_heads": 0.3})):
        trial, _, _ = plantar.synth.sensor_insoles(seed=5, duration_s=8.0, condition="shod", offload=offload)
        analyses[label] = report.add_trial(trial, label=label, animation=False)
    report.add_summary()
    assert "could not be drawn" not in report.to_html()
    fig = plantar.viz.compare_maps(analyses, baseline="shoe", side="right")
    right = analyses["shoe"].sensor_side.values == "right"
    polygons = [t for t in fig.data if t.fill == "toself"]
    assert len(polygons) == 3 * right.sum()  # two mean maps and one difference
    means = {}
    for label, a in analyses.items():
        keep = a.complete.values & (a.side.values == "right")
        means[label] = a.peak_pressure_map.values[keep][:, right].mean(axis=0)
    i = 50
    difference = polygons[2 * right.sum() + i]
    assert f"{means['orthotic'][i] - means['shoe'][i]:+.1f} kPa" in difference.text
