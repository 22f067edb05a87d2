"""group_compare against scipy on the same numbers, Holm's method by its definition, and pixel_compare's
family-wise error over 200 simulated cohorts without an effect."""

import itertools

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import ndimage, stats

import plantar
from plantar.cohort import holm
from plantar.cohort._pixels import _sign_flip_test


def cohort_table(rng, n_subjects=9, steps=(2, 7)):
    """Subjects with different numbers of steps per condition; the insole lowers the heel and leaves the arch."""
    rows = []
    for i in range(n_subjects):
        level = rng.normal(300, 50)
        for condition, shift in (("barefoot", 0.0), ("insole", -25.0), ("shoe", 5.0)):
            for step in range(int(rng.integers(*steps))):
                for region, value in (("heel", level + shift), ("arch", 0.3 * level)):
                    rows.append(dict(subject=f"s{i}", condition=condition, trial="1", step=step, side="right",
                                     complete=True, region=region, metric="peak_pressure",
                                     value=value + rng.normal(0, 20), units="kPa"))  # fmt: skip
    return pd.DataFrame(rows)


def test_group_compare_is_scipy_on_the_subject_means():
    rng = np.random.default_rng(4)
    table = cohort_table(rng)
    result = plantar.group_compare(table, baseline="barefoot", confidence=0.9)
    assert len(result) == 2 * 2  # insole and shoe x heel and arch
    means = table.groupby(["condition", "region", "subject"]).value.mean()
    for row in result.itertuples():
        base, cond = means.loc["barefoot", row.region], means.loc[row.condition, row.region]
        d = (cond - base).to_numpy()
        t_test = stats.ttest_rel(cond.to_numpy(), base.to_numpy())
        interval = t_test.confidence_interval(confidence_level=0.9)
        w_test = stats.wilcoxon(d)
        assert row.n_subjects == d.size == 9
        assert row.diff == pytest.approx(d.mean(), rel=1e-12)
        assert row.t == pytest.approx(t_test.statistic, rel=1e-10)
        assert row.p_t == pytest.approx(t_test.pvalue, rel=1e-10)
        assert (row.ci_low, row.ci_high) == pytest.approx((interval.low, interval.high), rel=1e-10)
        assert row.w == w_test.statistic and row.p_wilcoxon == pytest.approx(w_test.pvalue, rel=1e-12)
        assert row.d_z == pytest.approx(d.mean() / d.std(ddof=1), rel=1e-12)
    assert result.p_t_holm.tolist() == pytest.approx(holm(result.p_t).tolist(), rel=1e-12)
    # The insole's 25 kPa off the heel is found; the arch (no change) is not.
    verdict = result.set_index(["condition", "region"]).significant
    assert verdict[("insole", "heel")] and not verdict[("insole", "arch")] and not verdict[("shoe", "arch")]


def test_each_subject_counts_once_whatever_their_steps():
    """Per-subject means first: a subject with many steps weighs no more than one with two."""
    rows = []
    for subject, n_steps, drop in (("a", 10, 10.0), ("b", 2, 30.0), ("c", 2, 20.0)):
        for condition, value in (("barefoot", 100.0), ("insole", 100.0 - drop)):
            rows += [dict(subject=subject, condition=condition, side="left", region="heel", metric="peak_pressure",
                          value=value) for _ in range(n_steps)]  # fmt: skip
    row = plantar.group_compare(pd.DataFrame(rows)).iloc[0]
    assert row["diff"] == pytest.approx(-20.0, abs=1e-12)  # (-10 - 30 - 20) / 3, not step-weighted (-15.7)


@pytest.mark.parametrize("p, adjusted", [
    ([0.01, 0.04, 0.03, 0.005], [0.03, 0.06, 0.06, 0.02]),  # m = 4: 4 x 0.005, 3 x 0.01, max(2 x 0.03, ...), ...
    ([0.2, np.nan, 0.01], [0.2, np.nan, 0.02]),  # NaN is not part of the family
    ([0.5, 0.6], [1.0, 1.0]),  # capped at 1
])  # fmt: skip
def test_holm_by_its_definition(p, adjusted):
    np.testing.assert_allclose(holm(p), adjusted, rtol=1e-12)


def test_holm_rejects_exactly_what_the_step_down_procedure_rejects():
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 0.05, 30) ** 2
    alpha = 0.05
    order = np.argsort(p)
    rejected = np.zeros(p.size, bool)
    for k, i in enumerate(order):  # Holm 1979: reject while p_(k) <= alpha / (m - k)
        if p[i] > alpha / (p.size - k):
            break
        rejected[i] = True
    assert np.array_equal(holm(p) <= alpha, rejected)


def test_wrong_arguments_are_refused():
    table = cohort_table(np.random.default_rng(1), n_subjects=3)
    with pytest.raises(ValueError, match="baseline must be one of"):
        plantar.group_compare(table, baseline="sandals")
    with pytest.raises(ValueError, match="metrics must be among"):
        plantar.group_compare(table, metrics="speed")
    with pytest.raises(ValueError, match="confidence must be a number in"):
        plantar.group_compare(table, confidence=95)
    with pytest.raises(ValueError, match="no column 'value'"):
        plantar.group_compare(table.drop(columns="value"))


# -- pixel statistics ---------------------------------------------------------------------------------------------

def smooth_cohort(rng, n, shape=(12, 6), effect=None):
    """Baseline and condition maps (n, rows, cols) of smooth random fields, kPa; ``effect`` added to the condition."""
    base = 150 + ndimage.gaussian_filter(rng.normal(0, 30, (n, *shape)), (0, 1, 1))
    noise = ndimage.gaussian_filter(rng.normal(0, 20, (2, n, *shape)), (0, 0, 1.2, 1.2))
    return base + noise[0], base + noise[1] + (0 if effect is None else effect)


def reference_test(a, b, alpha):
    """The max-statistic test written plainly: every sign flip, one at a time."""
    d = (b - a).reshape(a.shape[0], -1)
    n = d.shape[0]
    largest = []
    for signs in itertools.product((1.0, -1.0), repeat=n):
        flipped = d * np.array(signs)[:, None]
        t = flipped.mean(0) / (flipped.std(0, ddof=1) / np.sqrt(n))
        largest.append(np.abs(t).max())
    t_obs = d.mean(0) / (d.std(0, ddof=1) / np.sqrt(n))
    p = (np.array(largest)[None, :] >= np.abs(t_obs)[:, None] - 1e-12).mean(1)
    return t_obs.reshape(a.shape[1:]), p.reshape(a.shape[1:])


def test_max_statistic_matches_the_plain_enumeration():
    rng = np.random.default_rng(3)
    a, b = smooth_cohort(rng, 6, effect=np.pad(np.full((2, 2), -40.0), ((5, 5), (2, 2))))
    out = _sign_flip_test(a, b, method="max", n_permutations=1000, alpha=0.05, cluster_p=0.01, seed=0)
    t_ref, p_ref = reference_test(a, b, 0.05)
    assert out["exact"] and out["signs"].shape == (64, 6)
    np.testing.assert_allclose(out["t"], t_ref, rtol=1e-9)
    np.testing.assert_allclose(out["p"], p_ref, rtol=1e-12)
    assert out["significant"][5:7, 2:4].all()


def test_cluster_masses_match_labelling_each_flip_alone():
    rng = np.random.default_rng(5)
    a, b = smooth_cohort(rng, 7)
    out = _sign_flip_test(a, b, method="cluster", n_permutations=1000, alpha=0.05, cluster_p=0.05, seed=0)
    u = out["attrs"]["t_threshold"]
    assert u == pytest.approx(stats.t.ppf(0.975, 6))
    d = b - a
    largest = []
    for signs in out["signs"]:
        f = d * signs[:, None, None]
        t = f.mean(0) / (f.std(0, ddof=1) / np.sqrt(7))
        best = 0.0
        for mask in (t > u, t < -u):
            labels, k = ndimage.label(mask)
            for j in range(1, k + 1):
                best = max(best, np.abs(t[labels == j]).sum())
        largest.append(best)
    assert out["attrs"]["cluster_mass_threshold"] == pytest.approx(np.quantile(largest, 0.95, method="higher"))


@pytest.mark.parametrize("method", ["max", "cluster"])
def test_family_wise_error_over_200_cohorts_without_effect(method):
    """No effect: the share of cohorts with any significant sensel is about alpha = 5 %.

    200 cohorts of 8 subjects (all 256 sign flips), 12 x 6 sensel maps of smooth random fields. The count
    of cohorts with a false positive is Binomial(200, 0.05) if the error is controlled exactly: mean 10,
    and 99.9 % of counts in [2, 21] (scipy.stats.binom.interval); the seed is fixed, so the test is
    deterministic.
    """
    rng = np.random.default_rng(2024)
    hits = 0
    for _ in range(200):
        a, b = smooth_cohort(rng, 8)
        out = _sign_flip_test(a, b, method=method, n_permutations=256, alpha=0.05, cluster_p=0.01, seed=0)
        hits += bool(out["significant"].any())
    low, high = stats.binom.interval(0.999, 200, 0.05)
    assert (low, high) == (2, 21)
    assert low <= hits <= high, hits


def test_pixel_compare_reads_the_maps_of_the_batch_and_refuses_wrong_options():
    rng = np.random.default_rng(8)
    a, b = smooth_cohort(rng, 5)
    data = np.stack([a, b], axis=1)[:, :, None]
    maps = xr.Dataset({"mean_peak_pressure_map": (("subject", "condition", "side", "along_mm", "across_mm"), data)},
                      coords={"subject": list("abcde"), "condition": ["barefoot", "shoe"], "side": ["left"],
                              "along_mm": np.arange(12) * 5.0, "across_mm": np.arange(6) * 5.0})  # fmt: skip
    result = plantar.pixel_compare(maps, condition="shoe", baseline="barefoot", side="left")
    np.testing.assert_allclose(result.mean_diff.values, (b - a).mean(0), rtol=1e-12)
    assert result.attrs["n_permutations"] == 32 and result.attrs["n_subjects"] == 5
    with pytest.raises(ValueError, match="method must be one of"):
        plantar.pixel_compare(maps, condition="shoe", baseline="barefoot", side="left", method="tfce")
    with pytest.raises(ValueError, match="side must be one of"):
        plantar.pixel_compare(maps, condition="shoe", baseline="barefoot", side="right")
    with pytest.raises(ValueError, match="at least 3 subjects"):
        plantar.pixel_compare(maps.isel(subject=[0, 1]), condition="shoe", baseline="barefoot", side="left")
