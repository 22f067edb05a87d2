"""plantar.compare: condition comparison against the synthetic model and analytic cases.

Three kinds of check:

- the synthetic walking model told to offload a region: the comparison finds the
  offloading, of the size the model's own truth gives, and nothing on the other foot;
- the same walker twice (another seed): no change beyond noise, counted over 20 seeds;
- hand-made analyses with known numbers: the statistics against scipy and hand
  computation, step selection, NaN handling and the error messages.
"""

import numpy as np
import pytest
import xarray as xr
from scipy import stats

import plantar
from plantar import regions, synth
from plantar.compare import compare, comparison_table
from plantar.metrics import LOADING_METRICS, STEP_REGION_METRICS

#: The metrics compare compares by default.
METRICS = LOADING_METRICS
REGIONS = tuple(regions.REGIONS)
#: Walks of 4 passes over the default 2 m mat: about 5 complete steps per side.
PASSES = 4


# --------------------------------------------------------------------------------------
# helpers


def _truth_mean(truth, side, region, metric):
    """Mean over the truth's complete steps of one side."""
    chosen = (truth.side.values == side) & truth.complete.values.astype(bool)
    return float(truth[metric].sel(region=region).values[chosen].mean())


def _analysis(values, sides, *, complete=None, device="hand-made mat"):
    """A minimal analysis Dataset (the per-step metrics compare reads).

    ``values``: (step,) or (step, region); metric k of METRICS gets ``values * (k + 1)``.
    """
    values = np.asarray(values, dtype=float)
    if values.ndim == 1:
        values = np.repeat(values[:, None], len(REGIONS), axis=1)
    n = values.shape[0]
    complete = np.ones(n, bool) if complete is None else np.asarray(complete, bool)
    data = {name: (("step", "region"), values * (k + 1), {"units": STEP_REGION_METRICS[name][0]})
            for k, name in enumerate(METRICS)}  # fmt: skip
    data["complete"] = ("step", complete)
    return xr.Dataset(
        data,
        coords={"step": np.arange(n), "side": ("step", list(sides)), "region": list(REGIONS)},
        attrs={"plantar_schema": "analysis/2", "device": device},
    )


# --------------------------------------------------------------------------------------
# 1. the offloading the synthetic model was told to create


@pytest.fixture(scope="module", params=["mth2_3", "heel"])
def offloaded(request):
    region = request.param
    before_trial, before = synth.walk(seed=21, passes=PASSES)
    after_trial, after = synth.walk(seed=22, passes=PASSES, offload={f"right_{region}": 0.3})
    result = compare(
        {"barefoot": plantar.analyze(before_trial), "offloaded": plantar.analyze(after_trial)},
        baseline="barefoot",
    )
    return region, result, before, after


@pytest.mark.parametrize("metric", ["force_time_integral", "relative_load"])
def test_the_offloading_is_found_with_the_size_of_the_truth(offloaded, metric):
    region, result, before, after = offloaded
    row = result.sel(condition="offloaded", side="right", region=region, metric=metric)
    true_diff = _truth_mean(after, "right", region, metric) - _truth_mean(before, "right", region, metric)
    assert true_diff < 0
    diff = float(row["diff"])
    assert diff < 0
    # the measured difference of means within 10 % of the truth's (mask and step selection differ)
    assert abs(diff - true_diff) <= 0.10 * abs(true_diff), (diff, true_diff)
    assert float(row.ci_high) < 0
    assert abs(diff) > float(row.mdc)
    assert str(row.verdict.values) == "beyond noise"
    assert bool(row.beyond_noise)
    assert float(row.hedges_g) < -1.0


@pytest.mark.parametrize("metric", ["force_time_integral", "relative_load", "peak_pressure"])
def test_the_other_foot_is_not_changed(offloaded, metric):
    region, result, _, _ = offloaded
    row = result.sel(condition="offloaded", side="left", region=region, metric=metric)
    assert str(row.verdict.values) == "within noise"
    assert not bool(row.beyond_noise)


# --------------------------------------------------------------------------------------
# 2. the same walker twice: nothing beyond noise

N_SEEDS = 20


@pytest.fixture(scope="module")
def null_comparisons():
    """20 independent pairs of walks of the same walker, same parameters, other seeds."""
    found = []
    for k in range(N_SEEDS):
        trials = [synth.walk(seed=1000 + 2 * k + j, passes=PASSES)[0] for j in (0, 1)]
        found.append(compare({"first": plantar.analyze(trials[0]), "second": plantar.analyze(trials[1])}))
    return found


def _false_positives(comparisons, metric):
    """(seeds, side, region) array: beyond noise although nothing changed."""
    return np.stack([(r.verdict.sel(condition="second", metric=metric) == "beyond noise").values
                     for r in comparisons])  # fmt: skip


@pytest.mark.parametrize("metric", ["peak_pressure", "force_time_integral"])
def test_an_identical_condition_is_within_noise(null_comparisons, metric):
    """Peak pressure and FTI, every region of both feet: a false positive in at most 1 of 20 seeds.

    Measured when written: no false positive at all for these two metrics in the 20 seeds
    (20 x 2 sides x 11 regions each).
    """
    positives = _false_positives(null_comparisons, metric)
    seeds_with_a_false_positive = int(positives.any(axis=(1, 2)).sum())
    assert seeds_with_a_false_positive <= 1, f"{metric}: false positives in {seeds_with_a_false_positive} of 20 seeds"
    too_few = sum(int((r.verdict.sel(condition="second") == "too few steps").sum()) for r in null_comparisons)
    assert too_few == 0  # the test is about noise, not about missing steps


def test_every_cell_is_within_noise_in_19_of_20_seeds(null_comparisons):
    """Per side x region x metric, all eight metrics: beyond noise in at most 1 of the 20 seeds.

    Measured when written: 4 false positives over 20 x 176 cells (right toes max force,
    left mth2_3 and left arch contact area, right total mean pressure), each in one seed;
    so 16 of 20 seeds are free of any false positive over all 176 cells.
    """
    counts = np.stack([_false_positives(null_comparisons, m) for m in METRICS], axis=-1).sum(axis=0)
    assert counts.max() <= 1, {
        f"{s}/{REGIONS[r]}/{METRICS[m]}": int(counts[i, r, m]) for i, s in enumerate(("left", "right"))
        for r in range(len(REGIONS)) for m in range(len(METRICS)) if counts[i, r, m] > 1
    }  # fmt: skip


def test_the_confidence_interval_alone_excludes_zero_at_its_nominal_rate(null_comparisons):
    """Without the MDC rule, about 5 % of the cells would be 'changed' (the 95 % interval's error rate)."""
    rates = [float(((r.ci_low.sel(condition="second") > 0) | (r.ci_high.sel(condition="second") < 0)).mean())
             for r in null_comparisons]  # fmt: skip
    assert 0.01 < np.mean(rates) < 0.10


# --------------------------------------------------------------------------------------
# 3. analytic checks on hand-made analyses

BASE_LEFT = np.array([10.0, 12.0, 11.0, 14.0, 9.0])
BASE_RIGHT = np.array([20.0, 22.0, 19.0, 25.0])
COND_LEFT = np.array([13.0, 15.0, 12.0, 16.0, 14.0, 17.0])
COND_RIGHT = np.array([13.0, 12.0, 15.0])


@pytest.fixture(scope="module")
def hand_made():
    base = _analysis(np.r_[BASE_LEFT, BASE_RIGHT], ["left"] * 5 + ["right"] * 4, device="mat A")
    cond = _analysis(np.r_[COND_LEFT, COND_RIGHT], ["left"] * 6 + ["right"] * 3, device="mat B")
    return base, cond, compare({"orthosis": cond, "barefoot": base}, baseline="barefoot", confidence=0.90)


@pytest.mark.parametrize("side, b, c", [("left", BASE_LEFT, COND_LEFT), ("right", BASE_RIGHT, COND_RIGHT)])
@pytest.mark.parametrize("metric", ["peak_pressure", "contact_time"])
def test_welch_interval_and_p_value_match_scipy(hand_made, side, b, c, metric):
    _, _, result = hand_made
    scale = METRICS.index(metric) + 1
    reference = stats.ttest_ind(c * scale, b * scale, equal_var=False)
    interval = reference.confidence_interval(confidence_level=0.90)
    row = result.sel(condition="orthosis", side=side, region="mth2_3", metric=metric)
    np.testing.assert_allclose(float(row["diff"]), (c.mean() - b.mean()) * scale, rtol=1e-12)
    np.testing.assert_allclose(float(row.p_value), reference.pvalue, rtol=1e-9)
    np.testing.assert_allclose([float(row.ci_low), float(row.ci_high)], [interval.low, interval.high], rtol=1e-9)
    np.testing.assert_allclose(float(row["mean"]), c.mean() * scale, rtol=1e-12)
    np.testing.assert_allclose(float(row.sd), c.std(ddof=1) * scale, rtol=1e-12)
    assert int(row.n) == len(c)
    np.testing.assert_allclose(float(row.diff_pct), 100 * (c.mean() - b.mean()) / b.mean(), rtol=1e-12)


@pytest.mark.parametrize("side, b, c", [("left", BASE_LEFT, COND_LEFT), ("right", BASE_RIGHT, COND_RIGHT)])
def test_hedges_g_sem_and_mdc_by_hand(hand_made, side, b, c):
    _, _, result = hand_made
    row = result.sel(condition="orthosis", side=side, region="heel", metric="peak_pressure")
    n1, n2 = len(c), len(b)
    pooled = np.sqrt(((n1 - 1) * c.var(ddof=1) + (n2 - 1) * b.var(ddof=1)) / (n1 + n2 - 2))
    d = (c.mean() - b.mean()) / pooled
    g = d * (1 - 3 / (4 * (n1 + n2) - 9))
    np.testing.assert_allclose(float(row.hedges_g), g, rtol=1e-12)
    np.testing.assert_allclose(float(row.sem), pooled, rtol=1e-12)
    np.testing.assert_allclose(float(row.mdc), 1.96 * np.sqrt(2) * pooled, rtol=1e-12)
    excludes_zero = row.ci_low > 0 or row.ci_high < 0
    expected = bool(excludes_zero and abs(c.mean() - b.mean()) > 1.96 * np.sqrt(2) * pooled)
    assert bool(row.beyond_noise) == expected
    assert str(row.verdict.values) == ("beyond noise" if expected else "within noise")


def test_the_hand_made_verdicts(hand_made):
    """Left: +3.3 with SDs of 1.9, so the 90 % interval excludes 0 (p = 0.02), but the change is
    below the MDC of 5.3: within noise. Right: -8.2 against an MDC of 6.3: beyond noise."""
    _, _, result = hand_made
    verdict = result.verdict.sel(condition="orthosis", region="total", metric="peak_pressure")
    left = result.sel(condition="orthosis", side="left", region="total", metric="peak_pressure")
    assert float(left.ci_low) > 0 and float(left["diff"]) < float(left.mdc)
    assert verdict.values.tolist() == ["within noise", "beyond noise"]


def test_layout_order_units_and_devices(hand_made):
    _, _, result = hand_made
    assert result.verdict.dims == ("condition", "side", "region", "metric")
    assert result.condition.values.tolist() == ["orthosis", "barefoot"]  # the order given
    assert result.device.values.tolist() == ["mat B", "mat A"]
    assert result.side.values.tolist() == ["left", "right"]
    assert result.region.values.tolist() == list(REGIONS)
    assert result.metric.values.tolist() == list(METRICS)
    assert result.metric_units.values.tolist() == ["kPa", "kPa", "N", "N s", "kPa s", "mm2", "s", "%"]
    assert result.metric_long_name.sel(metric="force_time_integral").item() == "force-time integral"
    assert result.n.dtype.kind == "i" and result.beyond_noise.dtype == bool
    assert result.attrs["plantar_schema"] == "comparison/1"
    assert result.attrs["baseline"] == "barefoot"
    assert result.attrs["confidence"] == 0.90
    assert result.attrs["complete_only"] == 1
    for name, var in result.data_vars.items():
        assert var.attrs["formula"] and var.attrs["long_name"] and "units" in var.attrs, name
        assert var.attrs["units"] or name == "verdict", name
    assert "Hedges" in result.hedges_g.attrs["formula"] and "1.96 * sqrt(2)" in result.mdc.attrs["formula"]
    for value in result.attrs.values():
        assert isinstance(value, (str, int, float))


def test_the_baseline_row(hand_made):
    _, _, result = hand_made
    row = result.sel(condition="barefoot")
    assert set(np.unique(row.verdict.values)) == {"baseline"}
    assert not row.beyond_noise.any()
    for name in ("diff", "diff_pct", "ci_low", "ci_high", "p_value", "hedges_g"):
        assert np.isnan(row[name].values).all(), name
    left = row.sel(side="left", region="heel", metric="peak_pressure")
    np.testing.assert_allclose(float(left["mean"]), BASE_LEFT.mean())
    np.testing.assert_allclose(float(left.sem), BASE_LEFT.std(ddof=1))  # pooled with itself: its own SD
    np.testing.assert_allclose(float(left.mdc), 1.96 * np.sqrt(2) * BASE_LEFT.std(ddof=1))


def test_only_complete_steps_of_the_side_count():
    # baseline: 3 complete left steps, an incomplete left outlier, an unknown-side outlier
    base = _analysis([10.0, 11.0, 12.0, 500.0, 900.0, 20.0, 21.0], ["left"] * 4 + ["unknown", "right", "right"],
                     complete=[True, True, True, False, True, True, True])  # fmt: skip
    cond = _analysis([10.5, 11.5, 12.5, 20.0, 21.5], ["left"] * 3 + ["right"] * 2)
    row = compare({"a": base, "b": cond}).sel(condition="a", region="total", metric="peak_pressure")
    assert row.n.values.tolist() == [3, 2]
    np.testing.assert_allclose(row["mean"].values, [11.0, 20.5])
    everything = compare({"a": base, "b": cond}, complete_only=False)
    row = everything.sel(condition="a", region="total", metric="peak_pressure")
    assert row.n.values.tolist() == [4, 2]  # the incomplete step now counts; the unknown side never
    np.testing.assert_allclose(float(row["mean"].sel(side="left")), (10 + 11 + 12 + 500) / 4)
    assert everything.attrs["complete_only"] == 0


def test_nan_values_are_left_out():
    values = np.tile(np.array([[10.0], [12.0], [14.0], [np.nan], [20.0], [22.0]]), (1, len(REGIONS)))
    values[:, REGIONS.index("heel")] = [np.nan, np.nan, 5.0, 6.0, np.nan, 1.0]
    base = _analysis(values, ["left"] * 4 + ["right"] * 2)
    cond = _analysis([11.0, 13.0, 15.0, 17.0, 21.0, 24.0], ["left"] * 4 + ["right"] * 2)
    result = compare({"base": base, "cond": cond}, metrics=["mean_pressure"])
    row = result.sel(condition="base", side="left", region="total", metric="mean_pressure")
    assert int(row.n) == 3
    np.testing.assert_allclose(float(row["mean"]), 2 * 12.0)  # mean_pressure is metric 2: values x 2
    # heel: baseline has 2 finite left values and 1 right one
    heel = result.sel(region="heel", metric="mean_pressure")
    assert heel.n.sel(condition="base").values.tolist() == [2, 1]
    assert heel.verdict.sel(condition="cond", side="right").item() == "too few steps"
    assert heel.verdict.sel(condition="cond", side="left").item() in ("beyond noise", "within noise")
    assert np.isfinite(heel.p_value.sel(condition="cond", side="left"))


def test_too_few_steps_gives_nan_statistics_not_an_error():
    base = _analysis([10.0, 11.0, 12.0, 20.0], ["left", "left", "left", "right"])  # 1 right step
    cond = _analysis([15.0, 16.0, 17.0], ["left", "left", "left"])  # no right step at all
    with np.errstate(all="raise"):
        result = compare({"base": base, "cond": cond})
    right = result.sel(side="right")
    assert right.n.sel(condition="base").values.max() == 1
    assert right.n.sel(condition="cond").values.max() == 0
    assert set(np.unique(right.verdict.sel(condition="cond").values)) == {"too few steps"}
    assert set(np.unique(right.verdict.sel(condition="base").values)) == {"baseline"}
    for name in ("diff", "diff_pct", "ci_low", "ci_high", "p_value", "hedges_g", "sem", "mdc"):
        assert np.isnan(right[name].sel(condition="cond").values).all(), name
    assert np.isnan(right.sd.sel(condition="base")).all()  # one step: no SD
    assert np.isnan(right["mean"].sel(condition="cond")).all()
    assert not right.beyond_noise.any()
    assert set(np.unique(result.verdict.sel(condition="cond", side="left").values)) <= {
        "beyond noise", "within noise"}  # fmt: skip


def test_zero_variance_and_zero_baseline():
    base = _analysis([0.0, 0.0, 0.0, 5.0, 5.0], ["left"] * 3 + ["right"] * 2)
    cond = _analysis([1.0, 1.0, 1.0, 5.0, 5.0], ["left"] * 3 + ["right"] * 2)
    result = compare({"base": base, "cond": cond}, metrics="peak_pressure")
    assert result.metric.values.tolist() == ["peak_pressure"]
    result = result.sel(condition="cond", region="heel", metric="peak_pressure")
    left, right = result.sel(side="left"), result.sel(side="right")
    # no step-to-step noise at all: any change is beyond it; none is within it
    assert float(left["diff"]) == 1.0 and np.isnan(float(left.diff_pct))  # baseline mean 0
    assert float(left.ci_low) == float(left.ci_high) == 1.0 and float(left.p_value) == 0.0
    assert str(left.verdict.values) == "beyond noise" and np.isnan(float(left.hedges_g))
    assert float(right["diff"]) == 0.0 and float(right.p_value) == 1.0
    assert str(right.verdict.values) == "within noise"


def test_baseline_only():
    base = _analysis([10.0, 11.0, 12.0, 20.0, 22.0], ["left"] * 3 + ["right"] * 2)
    result = compare({"barefoot": base})
    assert result.sizes["condition"] == 1 and result.attrs["baseline"] == "barefoot"
    assert set(np.unique(result.verdict.values)) == {"baseline"}
    assert np.isnan(result["diff"].values).all() and np.isnan(result.p_value.values).all()
    np.testing.assert_allclose(result["mean"].sel(side="left", metric="peak_pressure").values, 11.0)


def test_a_single_metric_and_a_later_baseline():
    base = _analysis([10.0, 11.0, 12.0, 20.0, 22.0], ["left"] * 3 + ["right"] * 2)
    cond = _analysis([13.0, 14.0, 15.0, 21.0, 23.0], ["left"] * 3 + ["right"] * 2)
    result = compare({"shod": cond, "barefoot": base}, baseline="barefoot", metrics=["contact_time", "max_force"])
    assert result.metric.values.tolist() == ["contact_time", "max_force"]
    assert result.metric_units.values.tolist() == ["s", "N"]
    left = result.sel(condition="shod", side="left", region="toes")
    np.testing.assert_allclose(left["diff"].values, [3.0 * 7, 3.0 * 3])  # contact_time x 7, max_force x 3


@pytest.mark.parametrize("call, message", [
    (lambda a: compare([a]), r"analyses must be a dict .* got list"),
    (lambda a: compare({}), r"analyses must hold at least one condition"),
    (lambda a: compare({"a": a}, baseline="b"), r"baseline must be one of the labels \('a',\), got 'b'"),
    (lambda a: compare({"a": a}, metrics=["peak"]), r"metrics must be among \('peak_pressure', .*got 'peak'"),
    (lambda a: compare({"a": a}, metrics=[]), r"metrics must name at least one"),
    (lambda a: compare({"a": a, "b": a.assign_attrs(plantar_schema="trial/1")}),
     r"analyses\['b'\] must be an analysis \(schema 'analysis/2'\).*got schema 'trial/1'"),
    (lambda a: compare({"a": a, "b": a.peak_pressure}), r"analyses\['b'\] must be an analysis.*got DataArray"),
    (lambda a: compare({"a": a, "b": a.isel(region=slice(0, 5))}), r"analyses\['b'\] has regions"),
    (lambda a: compare({"a": a}, confidence=95), r"confidence must be a number in \(0, 1\).*got 95"),
    (lambda a: compare({"a": a}, complete_only="yes"), r"complete_only must be True or False"),
    (lambda a: compare({1: a}), r"condition labels must be non-empty str, got 1"),
])  # fmt: skip
def test_bad_input_names_the_parameter(call, message):
    analysis = _analysis([10.0, 11.0, 12.0, 20.0], ["left"] * 2 + ["right"] * 2)
    with pytest.raises(ValueError, match=message):
        call(analysis)


def test_a_trial_is_refused():
    trial, _ = synth.walk(seed=0, passes=1, mat_length_mm=1000.0)
    with pytest.raises(ValueError, match=r"analyses\['barefoot'\] must be an analysis.*got schema 'trial/1'"):
        compare({"barefoot": trial})


def test_the_input_is_not_changed(hand_made):
    base, cond, _ = hand_made
    copies = base.copy(deep=True), cond.copy(deep=True)
    compare({"a": base, "b": cond})
    xr.testing.assert_identical(base, copies[0])
    xr.testing.assert_identical(cond, copies[1])


def test_comparison_table(hand_made):
    _, _, result = hand_made
    table = comparison_table(result)
    assert len(table) == 2 * 2 * len(REGIONS) * len(METRICS)
    assert list(table.columns[:6]) == ["condition", "device", "side", "region", "metric", "units"]
    for name in result.data_vars:
        assert name in table.columns
    row = table.query("condition == 'orthosis' and side == 'right' and region == 'mth1' and metric == 'max_force'")
    assert len(row) == 1
    row = row.iloc[0]
    cell = result.sel(condition="orthosis", side="right", region="mth1", metric="max_force")
    assert row["units"] == "N" and row["device"] == "mat B" and row["baseline"] == "barefoot"
    assert row["verdict"] == str(cell.verdict.values) and row["n"] == int(cell.n)
    np.testing.assert_allclose(row[["mean", "diff", "ci_low", "p_value", "mdc"]].astype(float),
                               [float(cell[k]) for k in ("mean", "diff", "ci_low", "p_value", "mdc")])  # fmt: skip
    assert table["confidence"].eq(0.90).all()
    assert table["beyond_noise"].dtype == bool
    with pytest.raises(ValueError, match=r"comparison must be a comparison \(schema 'comparison/1'\)"):
        comparison_table(_analysis([1.0], ["left"]))


# --------------------------------------------------------------------------------------
# 4. NetCDF


def test_netcdf_round_trip(hand_made, tmp_path):
    _, _, result = hand_made
    path = tmp_path / "comparison.nc"
    result.to_netcdf(path, engine="h5netcdf")
    with xr.open_dataset(path, engine="h5netcdf") as back:
        back = back.load()
    xr.testing.assert_identical(back, result)
    cell = back.sel(condition="barefoot", side="left", region="heel", metric="peak_pressure")
    assert cell.verdict.item() == "baseline"
    assert back.beyond_noise.dtype == bool
