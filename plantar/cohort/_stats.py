"""Conditions compared within subjects across a cohort: paired tests, effect sizes, Holm's correction."""

import numbers

import numpy as np
import pandas as pd

#: Columns of :func:`group_compare`'s result -> (units, definition). ``None`` units: the metric's own.
GROUP_COLUMNS = {
    "condition": ("", "the condition compared with the baseline"),
    "baseline": ("", "the baseline condition"),
    "side": ("", "left or right"),
    "region": ("", "region of the foot; empty for step-level metrics"),
    "metric": ("", "the metric"),
    "units": ("", "units of the metric"),
    "n_subjects": ("1", "subjects with a mean in both conditions (the pairs)"),
    "mean_baseline": (None, "mean over the pairs of the subjects' baseline means (each the mean of the subject's "
                            "steps)"),
    "mean_condition": (None, "mean over the pairs of the subjects' condition means"),
    "diff": (None, "mean paired difference d = mean_i(condition_i - baseline_i)"),
    "diff_pct": ("%", "100 * diff / mean_baseline"),
    "ci_low": (None, "lower end of the confidence interval of diff: diff - t_q(n - 1) * sd_diff / sqrt(n), "
                     "q = (1 + confidence) / 2"),
    "ci_high": (None, "upper end: diff + t_q(n - 1) * sd_diff / sqrt(n)"),
    "sd_diff": (None, "sample SD of the paired differences (ddof = 1)"),
    "t": ("1", "paired t statistic diff / (sd_diff / sqrt(n))"),
    "df": ("1", "degrees of freedom n - 1"),
    "p_t": ("1", "two-sided p-value of the paired t-test (Student 1908)"),
    "p_t_holm": ("1", "p_t adjusted by Holm's step-down method over every row of the result (Holm 1979)"),
    "w": ("1", "Wilcoxon signed-rank statistic: the smaller of the sums of the ranks of |d_i| of positive and of "
               "negative differences, zero differences dropped (Wilcoxon 1945)"),
    "p_wilcoxon": ("1", "two-sided p-value of the Wilcoxon signed-rank test (exact without ties or zeros for "
                        "n <= 50, else the normal approximation; scipy.stats.wilcoxon)"),
    "p_wilcoxon_holm": ("1", "p_wilcoxon adjusted by Holm's method over every row of the result"),
    "d_z": ("1", "Cohen's d_z = diff / sd_diff, the standardised mean paired difference (Cohen 1988, eq. 2.3.5)"),
    "significant": ("1", "p_t_holm < alpha: the difference holds with the family-wise error rate at most alpha"),
}  # fmt: skip


def group_compare(table, *, baseline=None, metrics=None, regions=None, complete_only=True, confidence=0.95,
                  alpha=0.05):  # fmt: skip
    """Compare conditions within subjects across a cohort: paired tests with Holm's correction.

    Each subject's steps are averaged first (per condition, side, region and
    metric, over all the subject's trials of that condition), so each subject
    counts once, whatever their number of steps. For each condition against
    the baseline, the subjects with a mean in both give paired differences
    ``d_i``; from them:

    - the mean difference and its confidence interval, ``diff +- t_q(n - 1) *
      sd / sqrt(n)``;
    - the paired t-test (Student 1908) and the Wilcoxon signed-rank test
      (Wilcoxon 1945; zero differences dropped, exact p-value for n <= 50
      without ties, as :func:`scipy.stats.wilcoxon`);
    - Cohen's d_z = diff / sd (Cohen 1988; Lakens 2013, Front Psychol 4:863);
    - Holm's step-down correction of both p-values over every row of the
      result, i.e. every condition, side, region and metric tested (Holm 1979,
      Scand J Stat 6:65-70), which keeps the family-wise error rate at most
      ``alpha`` whatever the dependence between the tests.

    Parameters
    ----------
    table : pandas.DataFrame | str | os.PathLike
        The tidy table of :func:`plantar.batch` (or its CSV or Parquet file):
        at least ``subject``, ``condition``, ``side``, ``region``, ``metric``
        and ``value`` (and ``complete``, ``units`` if there).
    baseline : str | None
        The condition the others are compared with; default the first in the
        table.
    metrics : sequence of str | str | None
        Metrics to test; default every metric of the table.
    regions : sequence of str | str | None
        Regions to test (``""`` = the step-level metrics); default all.
    complete_only : bool
        Average complete steps only (default).
    confidence : float
        Confidence level of the interval, in (0, 1).
    alpha : float
        Family-wise error rate for ``significant``, in (0, 1).

    Returns
    -------
    result : pandas.DataFrame
        One row per condition (other than the baseline), side, region and
        metric, with the columns of :data:`GROUP_COLUMNS` (each defined
        there); ``attrs`` holds ``confidence``, ``alpha`` and the definitions.
        Statistics are NaN with fewer than 2 pairs; where every difference is
        0, p = 1.

    See Also
    --------
    plantar.compare : one subject's conditions, step against step.
    plantar.pixel_compare : the same question sensel by sensel.

    Examples
    --------
    Five subjects whose right heel peak drops by 20 kPa on the insole:

    >>> import numpy as np, pandas as pd
    >>> import plantar
    >>> rng = np.random.default_rng(0)
    >>> rows = [dict(subject=f"s{i}", condition=c, side="right", region="heel", metric="peak_pressure",
    ...              value=v, units="kPa")
    ...         for i, base in enumerate(rng.normal(300, 40, 5))
    ...         for c, v in (("barefoot", base), ("insole", base - 20 + rng.normal(0, 3)))]
    >>> result = plantar.group_compare(pd.DataFrame(rows), baseline="barefoot")
    >>> row = result.iloc[0]
    >>> row["condition"], int(row["n_subjects"]), bool(row["ci_low"] < -15 and row["ci_high"] < 0)
    ('insole', 5, True)
    >>> bool(row["significant"]), bool(row["d_z"] < -2)
    (True, True)
    """
    from scipy import stats  # here: scipy.stats is slow to import

    table = _load_table(table)
    _check_options(confidence, alpha, complete_only)
    missing = [c for c in ("subject", "condition", "side", "region", "metric", "value") if c not in table.columns]
    if missing:
        raise ValueError(f"table has no column {', '.join(map(repr, missing))}: is it the table of plantar.batch?")
    table = table[table["side"].isin(("left", "right"))]
    if complete_only and "complete" in table.columns:
        table = table[table["complete"].astype(bool)]
    conditions = list(dict.fromkeys(table["condition"].astype(str)))
    if baseline is None:
        if not conditions:
            raise ValueError("table holds no step of a known side: nothing to compare")
        baseline = conditions[0]
    if baseline not in conditions:
        raise ValueError(f"baseline must be one of the table's conditions {tuple(conditions)}, got {baseline!r}")
    table = _select(table, "metrics", "metric", metrics)
    table = _select(table, "regions", "region", regions)
    units = table.groupby("metric")["units"].first() if "units" in table.columns else pd.Series(dtype=str)

    keys = ["side", "region", "metric"]
    means = (table.assign(value=table["value"].astype(float))
             .groupby(["condition", *keys, "subject"], sort=False)["value"].mean())  # NaN values skipped
    wide = means.unstack("condition")
    frames = []
    for condition in conditions:
        if condition == baseline:
            continue
        pairs = wide[[baseline, condition]].dropna()
        d = (pairs[condition] - pairs[baseline]).rename("d")
        grouped = pd.concat([pairs, d], axis=1).groupby(level=keys, sort=False)
        summary = grouped.agg(n_subjects=("d", "size"), mean_baseline=(baseline, "mean"),
                              mean_condition=(condition, "mean"), diff=("d", "mean"), sd_diff=("d", "std"))  # fmt: skip
        summary["w"], summary["p_wilcoxon"] = _wilcoxon(grouped["d"], summary.index, stats)
        summary.insert(0, "condition", condition)
        frames.append(summary)
    if not frames:
        raise ValueError(f"the table has one condition only ({baseline!r}): nothing to compare")
    result = pd.concat(frames).reset_index()
    n = result["n_subjects"].to_numpy(float)
    diff, sd = result["diff"].to_numpy(float), result["sd_diff"].to_numpy(float)
    enough = n >= 2
    with np.errstate(invalid="ignore", divide="ignore"):
        se = sd / np.sqrt(n)
        df = np.where(enough, n - 1, np.nan)
        t_stat = np.where(se > 0, diff / se, np.where(diff == 0, 0.0, np.sign(diff) * np.inf))
        p_t = np.where(se > 0, 2 * stats.t.sf(np.abs(t_stat), df), np.where(diff == 0, 1.0, 0.0))
        half = stats.t.ppf(0.5 + confidence / 2, df) * se
        d_z = np.where(sd > 0, diff / sd, np.nan)
    result["diff_pct"] = np.where(result["mean_baseline"] != 0, 100 * diff / result["mean_baseline"], np.nan)
    result["ci_low"], result["ci_high"] = np.where(enough, diff - half, np.nan), np.where(enough, diff + half, np.nan)
    result["t"], result["df"] = np.where(enough, t_stat, np.nan), df
    result["p_t"], result["d_z"] = np.where(enough, p_t, np.nan), np.where(enough, d_z, np.nan)
    result["p_t_holm"] = holm(result["p_t"].to_numpy())
    result["p_wilcoxon_holm"] = holm(result["p_wilcoxon"].to_numpy())
    result["significant"] = result["p_t_holm"] < alpha
    result["baseline"] = baseline
    result["units"] = result["metric"].map(units).fillna("") if len(units) else ""
    result = result[list(GROUP_COLUMNS)]
    result.attrs.update(confidence=float(confidence), alpha=float(alpha), baseline=baseline,
                        definitions={k: v[1] for k, v in GROUP_COLUMNS.items()})  # fmt: skip
    return result


def _wilcoxon(differences, index, stats):
    """Wilcoxon signed-rank statistic and two-sided p per group (NaN with fewer than 2 non-zero differences)."""
    w, p = np.full(len(index), np.nan), np.full(len(index), np.nan)
    position = {key: k for k, key in enumerate(index)}
    for key, d in differences:  # one test per side, region and metric: scipy's exact distribution per n
        d = d.to_numpy(float)
        if d.size < 2:
            continue
        if not np.any(d != 0):
            w[position[key]], p[position[key]] = 0.0, 1.0
            continue
        res = stats.wilcoxon(d, zero_method="wilcox", alternative="two-sided")
        w[position[key]], p[position[key]] = float(res.statistic), float(res.pvalue)
    return w, p


def holm(p_values):
    """Holm's step-down adjusted p-values (Holm 1979, Scand J Stat 6:65-70).

    Sorted ascending, the k-th smallest of m p-values becomes
    ``max_{j <= k} min(1, (m - j + 1) p_(j))``; rejecting where the adjusted p
    is below alpha keeps the family-wise error rate at most alpha. NaN values
    are left out of the family and stay NaN.

    Parameters
    ----------
    p_values : array_like of float
        The p-values of the family.

    Returns
    -------
    adjusted : numpy.ndarray
        The adjusted p-values, in the input's order.

    Examples
    --------
    >>> from plantar.cohort import holm
    >>> holm([0.01, 0.04, 0.03, 0.005]).tolist()
    [0.03, 0.06, 0.06, 0.02]
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    finite = np.flatnonzero(np.isfinite(p))
    if finite.size == 0:
        return out
    order = finite[np.argsort(p[finite], kind="stable")]
    m = order.size
    stepped = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out[order] = np.maximum.accumulate(stepped)
    return np.round(out, 15)


def _load_table(table):
    if isinstance(table, pd.DataFrame):
        return table
    from pathlib import Path

    path = Path(table)
    if path.suffix.lower() == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype={c: str for c in ("subject", "condition", "visit", "trial", "side", "region",
                                                      "metric", "units")}, keep_default_na=False,
                       na_values={"value": ["", "NaN", "nan"]})  # fmt: skip


def _select(table, name, column, wanted):
    if wanted is None:
        return table
    wanted = [wanted] if isinstance(wanted, str) else list(wanted)
    unknown = [w for w in wanted if w not in set(table[column])]
    if unknown:
        raise ValueError(f"{name} must be among the table's {tuple(dict.fromkeys(table[column]))}, got {unknown[0]!r}")
    return table[table[column].isin(wanted)]


def _check_options(confidence, alpha, complete_only):
    if not (isinstance(confidence, numbers.Real) and 0 < confidence < 1):
        raise ValueError(f"confidence must be a number in (0, 1), e.g. 0.95, got {confidence!r}")
    if not (isinstance(alpha, numbers.Real) and 0 < alpha < 1):
        raise ValueError(f"alpha must be a number in (0, 1), e.g. 0.05, got {alpha!r}")
    if not isinstance(complete_only, (bool, np.bool_)):
        raise ValueError(f"complete_only must be True or False, got {complete_only!r}")
