"""plantar.viz: what each figure shows, checked against the numbers it is drawn from."""

import json
import re
import subprocess
import sys

import numpy as np
import plotly.graph_objects as go
import pytest
import xarray as xr

import plantar
from plantar import regions, synth, viz
from plantar.geometry import aligned_peak_maps, body_cop_butterfly
from plantar.viz._common import outline

ROUNDING_KPA = 0.05  # maps are sent rounded to 0.1 kPa


@pytest.fixture(scope="module")
def walk():
    trial, truth = synth.walk(seed=0, passes=2)
    return trial, truth, plantar.analyze(trial)


@pytest.fixture(scope="module")
def long_walk():
    trial, _ = synth.walk(seed=0, duration_s=60)
    return trial, plantar.analyze(trial)


def _heatmaps(fig):
    return [t for t in fig.data if t.type == "heatmap"]


def _assert_mm_axes(fig, x="xaxis", y="yaxis"):
    assert "mm" in fig.layout[x].title.text and "mm" in fig.layout[y].title.text
    anchor = fig.layout[y].scaleanchor
    assert anchor == x.replace("axis", "") and fig.layout[y].scaleratio == 1


def _size(fig):
    return len(fig.to_json())


# --------------------------------------------------------------------------------------
# plotly stays out of the core


def test_importing_plantar_does_not_import_plotly():
    code = ("import sys, plantar, plantar.analyze, plantar.geometry, plantar.metrics, plantar.regions, "
            "plantar.offloading, plantar.steps, plantar.io, plantar.synth\n"
            "assert 'plotly' not in sys.modules, sorted(m for m in sys.modules if 'plotly' in m)[:5]")  # fmt: skip
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)


def test_viz_exports_its_functions():
    assert set(viz.__all__) == {"peak_pressure_map", "pressure_animation", "walk_footprints", "force_curves",
                                "butterfly", "symmetry_bars", "compare_maps", "sway_figure", "pixel_map",
                                "sensor_map"}  # fmt: skip


# --------------------------------------------------------------------------------------
# peak pressure maps


def _region_maps(fig, x_all, y_all, xaxis=None):
    """The pressure of the region heatmaps (of one panel) put back on one grid, and the region of each cell."""
    z = np.full((len(y_all), len(x_all)), np.nan)
    names = np.full(z.shape, "", dtype=object)
    for heat in _heatmaps(fig):
        if xaxis is not None and heat.xaxis != xaxis:
            continue
        rows = np.searchsorted(np.round(y_all, 1), np.round(np.asarray(heat.y, dtype=float), 1))
        cols = np.searchsorted(np.round(x_all, 1), np.round(np.asarray(heat.x, dtype=float), 1))
        block = np.asarray(heat.z, dtype=float)
        inside = np.isfinite(block)
        assert np.isnan(z[np.ix_(rows, cols)][inside]).all()  # regions do not overlap
        z[np.ix_(rows, cols)] = np.where(inside, block, z[np.ix_(rows, cols)])
        names[np.ix_(rows, cols)] = np.where(inside, heat.name, names[np.ix_(rows, cols)])
        assert heat.name in heat.hovertemplate and "kPa" in heat.hovertemplate and "mm" in heat.hovertemplate
    return z, names


def test_step_map_shows_the_step_peak_map(walk):
    _, _, analysis = walk
    k = 2
    fig = viz.peak_pressure_map(analysis, step=k)
    assert isinstance(fig, go.Figure)
    heatmaps = _heatmaps(fig)
    assert [t.name for t in heatmaps] == ["heel", "midfoot", "1st metatarsal head", "2nd-3rd metatarsal heads",
                                            "4th-5th metatarsal heads", "hallux", "lesser toes"]
    assert [t.name for t in fig.data[len(heatmaps):]] == ["regions (halo)", "regions", "centre of pressure"]
    peak = analysis.peak_pressure_map.isel(step=k).values
    labels = analysis.region_label.isel(step=k).values
    z, names = _region_maps(fig, analysis.x.values, analysis.y.values)
    # Every sensel of the footprint shows its peak pressure (0.1 kPa), in its region; nothing else is drawn.
    foot = labels > 0
    np.testing.assert_allclose(z[foot], peak[foot], atol=ROUNDING_KPA + 1e-4)
    assert np.isnan(z[~foot]).all()
    for code, region in enumerate(regions.BASE_REGIONS, start=1):
        assert set(names[labels == code]) == {heatmaps[code - 1].name}
    # Each region's box is tight: the pressure sent is little more than the footprint.
    assert sum(np.size(h.z) for h in heatmaps) < 2.0 * foot.sum()
    assert fig.layout.coloraxis.colorbar.title.text == "kPa" and fig.layout.coloraxis.cmin == 0
    assert fig.layout.coloraxis.cmax >= float(peak.max())
    assert all(h.coloraxis == "coloraxis" for h in heatmaps)
    _assert_mm_axes(fig)
    # The COP path is the step's centre of pressure.
    cop = fig.data[-1]
    finite = np.isfinite(analysis.step_cop_x.values[k])
    assert finite.sum() == int(analysis.frame_count[k])  # every contact frame is loaded
    np.testing.assert_allclose(cop.x, analysis.step_cop_x.values[k][finite], atol=0.05)
    np.testing.assert_allclose(cop.y, analysis.step_cop_y.values[k][finite], atol=0.05)
    np.testing.assert_allclose(cop.customdata, analysis.step_time.values[k][finite] - float(analysis.t_on[k]),
                               atol=1e-3)  # fmt: skip
    assert _size(fig) < 25_000


def test_step_map_options_and_errors(walk):
    _, _, analysis = walk
    fig = viz.peak_pressure_map(analysis, step=0, regions=False, cop=False)
    assert {t.type for t in fig.data} == {"heatmap"}
    with pytest.raises(ValueError, match="step or side, not both"):
        viz.peak_pressure_map(analysis, step=0, side="left")
    with pytest.raises(ValueError, match="step must be one of"):
        viz.peak_pressure_map(analysis, step=99)
    with pytest.raises(ValueError, match="side must be one of"):
        viz.peak_pressure_map(analysis)
    with pytest.raises(ValueError, match="is it an analysis"):
        viz.peak_pressure_map(xr.Dataset(), step=0)


@pytest.mark.parametrize("side", ["left", "right"])
def test_mean_step_map_is_the_aligned_mean(walk, side):
    _, _, analysis = walk
    fig = viz.peak_pressure_map(analysis, side=side)
    aligned = aligned_peak_maps(analysis, side=side)
    z, names = _region_maps(fig, aligned.across_mm.values, aligned.along_mm.values)
    mean, labels = aligned.mean_peak_pressure_map.values, aligned.mean_region_label.values
    np.testing.assert_allclose(z[labels > 0], mean[labels > 0], atol=ROUNDING_KPA + 1e-4)
    assert np.isnan(z[labels == 0]).all()
    assert set(names[labels == regions.BASE_REGIONS.index("hallux") + 1]) == {"hallux"}
    z = np.nan_to_num(z)
    # Heel at the origin, toes up at about a foot length from the heel end.
    heel = np.unravel_index(np.argmax(np.where(aligned.along_mm.values[:, None] < 40, z, 0)), z.shape)
    assert abs(heel[0] - list(aligned.along_mm.values).index(0.0)) <= 2
    assert abs(heel[1] - list(aligned.across_mm.values).index(0.0)) <= 2
    along = aligned.along_mm.values[np.any(z > 0, axis=1)]
    assert np.ptp(along) == pytest.approx(float(aligned.foot_length.mean()), abs=3 * aligned.attrs["spacing_mm"])
    # The gait line is the mean COP path over 0 .. 100 % of stance.
    cop = fig.data[-1]
    np.testing.assert_allclose(cop.y, aligned.mean_cop_along, atol=0.05)
    np.testing.assert_allclose(cop.customdata, np.arange(101))
    _assert_mm_axes(fig)
    assert fig.layout.coloraxis.colorbar.title.text == "kPa"
    assert _size(fig) < 25_000


# --------------------------------------------------------------------------------------
# animation


def test_animation_frames_slider_and_values(walk):
    trial, _, _ = walk
    fig = viz.pressure_animation(trial, max_frames=60)
    frames = fig.frames
    assert 0 < len(frames) <= 60
    slider = fig.layout.sliders[0]
    assert [s.label for s in slider.steps] == [f.name for f in frames]
    times = np.array([float(f.name) for f in frames])
    assert np.all(np.diff(times) > 0)
    assert [b.label for b in fig.layout.updatemenus[0].buttons] == ["\u25b6", "\u275a\u275a"]
    assert fig.layout.updatemenus[0].buttons[0].args[1]["frame"]["redraw"] is True
    assert fig.layout.coloraxis.colorbar.title.text == "kPa" and fig.layout.coloraxis.cmin == 0
    _assert_mm_axes(fig)
    # Each frame shows the trial's pressure at its time, rounded to 1 kPa, over its loaded box.
    for frame in frames[::10]:
        i = int(np.argmin(np.abs(trial.time.values - float(frame.name))))
        data = frame.data[0]
        shown = trial.pressure.isel(time=i).sel(x=list(data.x), y=list(data.y)).fillna(0).values
        np.testing.assert_allclose(np.asarray(data.z, dtype=float), np.round(shown), atol=0.5 + 1e-6)
        # The box holds every sensel that rounds to 1 kPa or more.
        outside = trial.pressure.isel(time=i).fillna(0).values.copy()
        outside[np.ix_(np.isin(trial.y, data.y), np.isin(trial.x, data.x))] = 0
        assert outside.max() < 0.5
        assert np.max(data.z) <= fig.layout.coloraxis.cmax
    # Only frames with load are shown.
    force = plantar.total_force(trial)
    assert all(float(force.sel(time=float(f.name), method="nearest")) > 0 for f in frames)


def test_animation_options(walk):
    trial, _, _ = walk
    fig = viz.pressure_animation(trial, max_frames=500, time_range_s=(1.0, 1.5))
    times = [float(f.name) for f in fig.frames]
    assert min(times) >= 1.0 and max(times) <= 1.5 and len(times) == 51
    coarse = viz.pressure_animation(trial, max_frames=20, max_values=2_000)
    assert "blocks of" in coarse.layout.title.subtitle.text
    assert sum(np.size(f.data[0].z) for f in coarse.frames) <= 2_000
    with pytest.raises(ValueError, match="max_frames must be a positive integer"):
        viz.pressure_animation(trial, max_frames=0)
    with pytest.raises(ValueError, match="time_range_s"):
        viz.pressure_animation(trial, time_range_s=(3.0, 2.0))
    with pytest.raises(ValueError, match="no frame lies"):
        viz.pressure_animation(trial, time_range_s=(100.0, 200.0))


def test_animation_of_a_minute_stays_light(long_walk):
    trial, _ = long_walk
    fig = viz.pressure_animation(trial)
    assert len(fig.frames) == 150
    assert _size(fig) < 1_500_000


# --------------------------------------------------------------------------------------
# the walk


def test_walk_footprints_numbers_every_step(walk):
    _, _, analysis = walk
    fig = viz.walk_footprints(analysis)
    numbers = _step_numbers(fig)
    assert len(numbers) == analysis.sizes["step"]
    expected = [f"{s}" + ("" if c else "*") for s, c in zip(analysis.step.values, analysis.complete.values)]
    assert sorted(n["text"] for n in numbers) == sorted(expected)
    assert len(_heatmaps(fig)) == analysis.sizes["step"]  # one per step, on its box
    # One panel per pass, footprint outlines coloured by side.
    assert len({t.xaxis for t in fig.data}) == len(np.unique(analysis.pass_index))
    colours = {t.name: t.line.color for t in fig.data if t.type == "scatter"}
    assert colours["left"] != colours["right"]
    # Each step's map is its own peak map.
    step2 = next(h for h in _heatmaps(fig) if h.name == "step 2")
    assert np.nanmax(np.asarray(step2.z, dtype=float)) == pytest.approx(
        float(analysis.peak_pressure_map.isel(step=2).max()), abs=ROUNDING_KPA + 1e-4)
    _assert_mm_axes(fig)
    assert fig.layout.coloraxis.colorbar.title.text == "kPa"


def _step_numbers(fig):
    """The step numbers the figure shows: one dict per label, from its text traces."""
    out = []
    for t in fig.data:
        if t.type == "scatter" and t.mode == "text":
            for i, text in enumerate(t.text):
                out.append(dict(text=text, x=t.x[i], y=t.y[i], colour=t.textfont.color[i], hover=t.hovertext[i],
                                xaxis=t.xaxis))  # fmt: skip
    return out


def test_walk_footprints_labels_each_step_behind_its_heel():
    trial, _ = synth.walk(seed=1, passes=2, mat_length_mm=1500.0)
    analysis = plantar.analyze(trial)
    assert not analysis.complete.values.all()  # an incomplete step is labelled too
    fig = viz.walk_footprints(analysis)
    assert not [a for a in fig.layout.annotations if a.hovertext]  # one text trace per panel, not an annotation each
    numbers = {n["text"].rstrip("*"): n for n in _step_numbers(fig)}
    assert sorted(numbers, key=int) == [str(s) for s in analysis.step.values]
    panels = {}
    for k, step in enumerate(analysis.step.values):
        label, side, complete = numbers[str(step)], str(analysis.side.values[k]), bool(analysis.complete.values[k])
        assert label["text"] == f"{step}" + ("" if complete else "*")
        assert label["hover"] == f"step {step}, {side}" + ("" if complete else ", incomplete")
        colour = viz._common.SIDE_COLOURS[side] if complete else viz._common.SIDE_COLOURS["unknown"]
        assert label["colour"] == colour
        # Behind the heel, along the foot axis, by 12 % of the foot length + 25 mm (rounded to 0.1 mm).
        angle = np.radians(float(analysis.axis_angle.values[k]))
        back = 0.12 * float(analysis.foot_length.values[k]) + 25.0
        heel = np.array([float(analysis.heel_x.values[k]), float(analysis.heel_y.values[k])])
        np.testing.assert_allclose([label["x"], label["y"]], heel - back * np.array([np.cos(angle), np.sin(angle)]),
                                   atol=0.05 + 1e-6)  # fmt: skip
        panels.setdefault(int(analysis.pass_index.values[k]), set()).add(label["xaxis"])
    # The steps of one pass are labelled on that pass's panel, each pass on its own.
    assert all(len(axes) == 1 for axes in panels.values())
    assert len(set.union(*panels.values())) == len(panels)


def test_walk_footprints_marks_incomplete_steps():
    trial, _ = synth.walk(seed=1, passes=1, mat_length_mm=1000.0)
    analysis = plantar.analyze(trial)
    assert not analysis.complete.values.all()
    fig = viz.walk_footprints(analysis)
    dashed = [t for t in fig.data if t.type == "scatter" and t.line.dash == "dash"]
    assert dashed and all("incomplete" in t.name for t in dashed)
    assert "incomplete" in fig.layout.title.subtitle.text
    with pytest.raises(ValueError, match="pass_index must be one of"):
        viz.walk_footprints(analysis, pass_index=5)


def test_walk_of_a_minute_stays_light(long_walk):
    _, analysis = long_walk
    fig = viz.walk_footprints(analysis)
    assert len(_step_numbers(fig)) == analysis.sizes["step"]
    assert _size(fig) < 500_000
    one = viz.walk_footprints(analysis, pass_index=1)
    assert len(_heatmaps(one)) == int((analysis.pass_index == 1).sum())


# --------------------------------------------------------------------------------------
# force curves, butterfly, symmetry


def test_force_curves_are_the_mean_and_sd_of_region_force(walk):
    _, _, analysis = walk
    fig = viz.force_curves(analysis)
    assert len(fig.layout.annotations) == 8  # subplot titles: total and the seven base regions
    means = [t for t in fig.data if t.fill is None]
    bands = [t for t in fig.data if t.fill == "toself"]
    assert len(means) == 16 and len(bands) == 16
    heel_left = next(t for t in means if t.xaxis == "x2" and t.name.startswith("left"))
    chosen = analysis.region_force.sel(region="heel").where(analysis.complete & (analysis.side == "left"), drop=True)
    np.testing.assert_allclose(heel_left.y, chosen.mean("step"), atol=0.05 + 1e-3)
    assert heel_left.name == f"left (n = {chosen.sizes['step']})"
    band = next(t for t in bands if t.xaxis == "x2" and t.legendgroup == "left")
    upper = np.asarray(band.y[:101], dtype=float)
    np.testing.assert_allclose(upper, chosen.mean("step") + chosen.std("step", ddof=1), atol=0.05 + 1e-3)
    np.testing.assert_allclose(heel_left.x, np.arange(101))
    assert fig.layout.yaxis.title.text == "force (N)" and fig.layout.xaxis7.title.text == "stance (%)"
    with pytest.raises(ValueError, match="regions must be names"):
        viz.force_curves(analysis, regions=["knee"])


def test_butterfly_panels(walk):
    _, _, analysis = walk
    fig = viz.butterfly(analysis)
    for i in ("", "2", "3"):
        _assert_mm_axes(fig, f"xaxis{i}", f"yaxis{i}")
    wings = body_cop_butterfly(analysis)
    drawn = [t for t in fig.data if t.xaxis == "x3"]
    assert [t.name for t in drawn] == ["left single support", "right single support", "double support"]
    left = np.asarray(drawn[0].x, dtype=float)
    on = wings.support.values == "left"
    runs = int(np.sum(np.diff(np.concatenate([[0], on.astype(int)])) == 1))
    # The left single-support frames, each run joined to the frame before it so the colours meet.
    assert np.isin(np.round(wings.lateral.values[on], 1), np.round(left, 1)).all()
    assert np.isfinite(left).sum() == on.sum() + runs
    # Gait lines: one polyline per complete step of the side, then their mean.
    aligned = aligned_peak_maps(analysis, side="right")
    steps = next(t for t in fig.data if t.xaxis == "x2" and t.name.startswith("right steps"))
    assert int(np.isnan(np.asarray(steps.x, dtype=float)).sum()) == aligned.sizes["step"]
    assert _size(fig) < 100_000


def test_butterfly_notes_missing_data():
    trial, _ = synth.walk(seed=1, passes=1, mat_length_mm=1000.0)
    fig = viz.butterfly(plantar.analyze(trial))
    notes = [a.text for a in fig.layout.annotations]
    assert "no complete right step" in notes and "too few steps per pass for a butterfly" in notes


@pytest.mark.parametrize("metric", ["peak_pressure", "force_time_integral"])
def test_symmetry_bars_show_offloading(walk, metric):
    _, _, analysis = walk
    fig = viz.symmetry_bars(analysis, metric=metric)
    result = plantar.offloading(analysis, metric=metric)
    shown = ("total",) + regions.BASE_REGIONS
    bars = {t.name: t for t in fig.data}
    assert set(bars) == {"left", "right"}
    np.testing.assert_allclose(bars["left"].y, result.left_mean.sel(region=list(shown)), atol=0.01)
    np.testing.assert_allclose(bars["right"].error_y.array, result.right_sd.sel(region=list(shown)), atol=0.01)
    si = [float(re.search(r"SI ([+-][\d.]+) %", a.text).group(1)) for a in fig.layout.annotations]
    np.testing.assert_allclose(si, result.symmetry_index.sel(region=list(shown)), atol=0.05 + 1e-9)
    assert result.attrs["units"] in fig.layout.yaxis.title.text
    with pytest.raises(ValueError, match="metric must be one of"):
        viz.symmetry_bars(analysis, metric="speed")


# --------------------------------------------------------------------------------------
# comparison


def _comparison(conditions, changed):
    """A comparison Dataset of the contract of plantar.compare.compare (condition, side, region, metric)."""
    region = list(regions.REGIONS)
    shape = (len(conditions), 2, len(region), 1)
    beyond = np.zeros(shape, dtype=bool)
    diff = np.zeros(shape)
    for c, r, value in changed:
        beyond[conditions.index(c), 0, region.index(r), 0] = True
        diff[conditions.index(c), 0, region.index(r), 0] = value
    dims = ("condition", "side", "region", "metric")
    return xr.Dataset(
        {"beyond_noise": (dims, beyond), "diff": (dims, diff),
         "verdict": (dims, np.where(beyond, "beyond noise", "within noise"))},
        coords={"condition": conditions, "side": ["left", "right"], "region": region, "metric": ["peak_pressure"]},
    )  # fmt: skip


def _diff_map(fig):
    (diff,) = [t for t in _heatmaps(fig) if " - " in t.name]
    return diff


def test_a_condition_compared_with_itself_differs_by_zero(walk):
    _, _, analysis = walk
    fig = viz.compare_maps({"barefoot": analysis, "again": analysis}, baseline="barefoot", side="left")
    assert [a.text for a in fig.layout.annotations] == ["barefoot (n = 3)", "again (n = 3)", "again - barefoot"]
    diff = _diff_map(fig)
    grid = np.asarray(diff.x, dtype=float), np.asarray(diff.y, dtype=float)
    first, _ = _region_maps(fig, *grid, xaxis="x")
    second, _ = _region_maps(fig, *grid, xaxis="x2")
    np.testing.assert_array_equal(first, second)
    values = np.asarray(diff.z, dtype=float)
    assert np.isfinite(values).sum() > 100 and np.all(values[np.isfinite(values)] == 0)
    assert {t.coloraxis for t in _heatmaps(fig) if t is not diff} == {"coloraxis"} and diff.coloraxis == "coloraxis2"
    assert fig.layout.coloraxis2.cmid == 0 and fig.layout.coloraxis2.cmin == -fig.layout.coloraxis2.cmax
    assert fig.layout.coloraxis.colorbar.title.text == "kPa" == fig.layout.coloraxis2.colorbar.title.text
    for i in ("", "3"):  # the first panel of each row carries the axis titles
        _assert_mm_axes(fig, f"xaxis{i}", f"yaxis{i}")
    assert fig.layout.yaxis2.scaleanchor == "x2" and fig.layout.yaxis2.scaleratio == 1


def test_compare_maps_aligns_the_feet_and_marks_changes(walk):
    _, _, analysis = walk
    offloaded, _ = synth.walk(seed=5, passes=2, offload={"left_heel": 0.4})
    shod, _ = synth.walk(seed=6, passes=2, condition="shod")
    analyses = {"barefoot": analysis, "heel cup": plantar.analyze(offloaded), "shod": plantar.analyze(shod)}
    comparison = _comparison(["barefoot", "heel cup", "shod"],
                             [("heel cup", "heel", -120.0), ("shod", "forefoot", -150.0), ("shod", "hallux", -90.0)])
    fig = viz.compare_maps(analyses, baseline="barefoot", side="left", comparison=comparison)
    diffs = [t for t in _heatmaps(fig) if " - " in t.name]
    assert [d.name for d in diffs] == ["heel cup - barefoot", "shod - barefoot"]
    # One grid for all, heel centre at the origin; the difference is condition minus baseline.
    grid = np.asarray(diffs[0].x, dtype=float), np.asarray(diffs[0].y, dtype=float)
    np.testing.assert_array_equal(diffs[1].x, diffs[0].x)
    assert 0.0 in grid[0] and 0.0 in grid[1]
    barefoot = np.nan_to_num(_region_maps(fig, *grid, xaxis="x")[0])
    heel_cup = np.nan_to_num(_region_maps(fig, *grid, xaxis="x2")[0])
    diff = np.asarray(diffs[0].z, dtype=float)
    both = (barefoot > 0) & (heel_cup > 0)  # inside both mean footprints: both maps are drawn there
    np.testing.assert_allclose(diff[both], (heel_cup - barefoot)[both], atol=0.1 + 1e-4)
    heel = grid[1][:, None] < 40.0
    assert np.nanmean(np.where(heel & (barefoot > 100), diff, np.nan)) < -30.0  # the offloaded heel is blue
    # Marked: the heel for the heel cup; for shod the hallux, and not the forefoot as well (the hallux is part
    # of it: no region is outlined twice).
    changed = [t.name for t in fig.data if t.name and t.name.endswith("changed")]
    assert changed == ["heel changed", "hallux changed"]
    labels = [a for a in fig.layout.annotations if a.hovertext]
    assert [a.text for a in labels] == ["<b>-120</b>", "<b>-90</b>"]
    assert all(t.line.width == 3.0 for t in fig.data if t.name and t.name.endswith("changed"))
    assert _size(fig) < 250_000


def test_compare_maps_with_plantar_compare(walk):
    compare = pytest.importorskip("plantar.compare")
    _, _, analysis = walk
    offloaded, _ = synth.walk(seed=5, passes=2, offload={"left_heel": 0.4})
    analyses = {"barefoot": analysis, "heel cup": plantar.analyze(offloaded)}
    comparison = compare.compare(analyses, baseline="barefoot")
    fig = viz.compare_maps(analyses, baseline="barefoot", side="left", comparison=comparison)
    flagged = comparison.beyond_noise.sel(condition="heel cup", side="left", metric="peak_pressure")
    base = [r for r in regions.BASE_REGIONS if bool(flagged.sel(region=r))]
    changed = [t.name.removesuffix(" changed") for t in fig.data if t.name and t.name.endswith("changed")]
    assert set(base) <= set(changed)


def test_compare_maps_errors(walk):
    _, _, analysis = walk
    with pytest.raises(ValueError, match="baseline must be one of"):
        viz.compare_maps({"a": analysis}, baseline="b", side="left")
    with pytest.raises(ValueError, match="side must be one of"):
        viz.compare_maps({"a": analysis}, baseline="a", side="both")
    with pytest.raises(ValueError, match="non-empty dict"):
        viz.compare_maps({}, baseline="a", side="left")
    trial, _ = synth.walk(seed=1, passes=1, mat_length_mm=1000.0)
    with pytest.raises(ValueError, match="condition 'short'.*no complete right step"):
        viz.compare_maps({"a": analysis, "short": plantar.analyze(trial)}, baseline="a", side="right")
    with pytest.raises(ValueError, match="comparison has no condition 'b'"):
        viz.compare_maps({"a": analysis, "b": analysis}, baseline="a", side="left",
                         comparison=_comparison(["a"], []))  # fmt: skip


# --------------------------------------------------------------------------------------
# building blocks


def test_outline_follows_the_cell_edges():
    labels = np.zeros((4, 5), dtype=int)
    labels[1:3, 1:3] = 1
    labels[1:3, 3] = 2
    xs, ys = outline(labels, np.arange(5) * 10.0, np.arange(4) * 10.0)
    polylines = np.split(np.column_stack([xs, ys]), np.flatnonzero(np.isnan(xs)) + 1)
    points = {tuple(p) for line in polylines for p in line if np.isfinite(p).all()}
    # The 3 x 2 block's corners and the inner edge between labels 1 and 2.
    assert {(5.0, 5.0), (35.0, 5.0), (35.0, 25.0), (5.0, 25.0), (25.0, 5.0), (25.0, 25.0)} <= points
    # Total length: perimeter of the block (2 x (30 + 20)) plus the inner edge (20).
    length = sum(np.hypot(*np.diff(line[np.isfinite(line).all(axis=1)], axis=0).T).sum() for line in polylines)
    assert length == pytest.approx(120.0)


def test_figures_are_json_without_template(walk):
    _, _, analysis = walk
    fig = viz.symmetry_bars(analysis)
    layout = json.loads(fig.to_json())["layout"]
    assert len(json.dumps(layout.get("template", {}))) < 200  # not plotly's 6 kB default template in every figure


def test_animation_finds_the_loaded_frames_as_the_frame_sums_do():
    """The animation's test for load (largest pressure above 0) agrees with the total force above 0."""
    from plantar.metrics import _frame_sums
    from plantar.viz.animation import _loaded_frames

    rng = np.random.default_rng(0)
    pressure = np.zeros((600, 7, 5), np.float32)
    pressure[rng.random(600) < 0.3, 3, 2] = 0.01  # a light touch on one sensel
    pressure[::7] = rng.random((86, 7, 5)).astype(np.float32) * 200
    pressure[:, 0, 0] = np.nan  # a sensel without a sensor
    pressure[5] = np.nan  # a frame without any sensor reading
    loaded = _loaded_frames(pressure)
    np.testing.assert_array_equal(loaded, _frame_sums(pressure) > 0)
    assert 0 < loaded.sum() < loaded.size and not loaded[5]
