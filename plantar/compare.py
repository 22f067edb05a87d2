"""Compare conditions (barefoot, shod, orthosis A, B, ...) against a baseline.

:func:`compare` answers the clinician's question "did this condition change the
loading of this region beyond the patient's own step-to-step noise?" for every
side, region and metric at once, from the per-step numbers of
:func:`plantar.analyze`. Each condition is one analysis; its complete steps of
one side are the sample. Because only per-step numbers are compared, analyses
from different mats (device, sensor pitch) compare as well as analyses from one.

:func:`comparison_table` turns the result into a tidy table for a report's CSV.
"""

import numbers

import numpy as np
import xarray as xr

from ._version import __version__
from .analyze import SCHEMA_ANALYSIS, SCHEMA_ANALYSIS_1
from .metrics import LOADING_METRICS, STEP_REGION_METRICS

SCHEMA_COMPARISON = "comparison/1"

#: The sides compared; steps of unknown side are left out.
SIDES = ("left", "right")

#: The verdicts, in the order of their meaning.
VERDICTS = ("baseline", "beyond noise", "within noise", "too few steps")

#: Variable -> (units, long_name, formula). ``None`` units: the metric's own (see ``metric_units``).
_FORMULAS = {
    "mean": (None, "mean over steps",
             "m = sum(x_i) / n over the complete steps of the side with a finite value"),
    "sd": (None, "standard deviation over steps",
           "s = sqrt(sum((x_i - m)^2) / (n - 1)) (sample SD, ddof = 1)"),
    "n": ("1", "number of steps", "complete steps of the side with a finite value"),
    "diff": (None, "difference from baseline", "diff = m_condition - m_baseline; NaN for the baseline"),
    "diff_pct": ("%", "difference from baseline, percent",
                 "diff_pct = 100 * diff / m_baseline; NaN where m_baseline = 0"),
    "ci_low": (None, "confidence interval of the difference, lower end",
               ("Welch: diff - t_q(df) * se, se = sqrt(s_c^2 / n_c + s_b^2 / n_b), "
                "df = se^4 / ((s_c^2 / n_c)^2 / (n_c - 1) + (s_b^2 / n_b)^2 / (n_b - 1)) "
                "(Welch-Satterthwaite), q = (1 + confidence) / 2")),
    "ci_high": (None, "confidence interval of the difference, upper end",
                "Welch: diff + t_q(df) * se, se and df as for ci_low"),
    "p_value": ("1", "p-value of the difference",
                ("Welch two-sided: p = 2 * (1 - T_df(|diff| / se)); 0 if se = 0 and diff != 0, "
                 "1 if both are 0")),
    "hedges_g": ("1", "standardised difference (Hedges' g)",
                 ("g = J * diff / s_p, s_p = sqrt(((n_c - 1) s_c^2 + (n_b - 1) s_b^2) / (n_c + n_b - 2)), "
                  "J = 1 - 3 / (4 (n_c + n_b) - 9) (Hedges 1981; Hedges & Olkin 1985); NaN where s_p = 0")),
    "sem": (None, "standard error of measurement of one step",
            ("SEM = s_p = sqrt(((n_c - 1) s_c^2 + (n_b - 1) s_b^2) / (n_c + n_b - 2)), the pooled "
             "step-to-step SD of the baseline and the condition (the baseline's own SD on its row)")),
    "mdc": (None, "minimal detectable change (95 %)",
            "MDC95 = 1.96 * sqrt(2) * SEM (Weir 2005; Haley & Fragala-Pinkham 2006)"),
    "beyond_noise": ("1", "change beyond step-to-step noise",
                     "the confidence interval excludes 0 and |diff| > mdc"),
    "verdict": ("", "verdict",
                ("'baseline' for the baseline; 'too few steps' where the baseline or the condition has "
                 "n < 2; else 'beyond noise' where beyond_noise, 'within noise' otherwise")),
}  # fmt: skip


def compare(analyses, *, baseline=None, metrics=None, complete_only=True, confidence=0.95):
    """Compare conditions with a baseline, side by side, region by region.

    For each condition, side, region and metric the steps of that side give a
    mean and an SD; the condition's mean is compared with the baseline's by
    Welch's unequal-variance t statistic (Welch 1947, Biometrika 34:28;
    Satterthwaite 1946, Biometrics Bull 2:110), by Hedges' g, and with the
    minimal detectable change of one step.

    A change counts as *beyond noise* when both hold:

    - the Welch confidence interval of the difference of means excludes 0 (the
      means differ by more than chance), and
    - the difference is larger than the minimal detectable change
      ``MDC95 = 1.96 * sqrt(2) * SEM`` (Weir 2005, J Strength Cond Res 19:231-240;
      Haley & Fragala-Pinkham 2006, Phys Ther 86:735-743), where the standard
      error of measurement SEM is the pooled step-to-step SD of the two
      conditions: the change is larger than what would be seen between two
      single steps of the same condition 95 % of the time.

    The second rule is the stricter one with many steps: it asks for a change
    the patient's own step-to-step variation would not produce, not only one
    that differs from zero.

    Hedges' g is Cohen's d with the pooled SD, times the small-sample correction
    ``J = 1 - 3 / (4 (n_c + n_b) - 9)`` (Hedges 1981, J Educ Stat 6:107-128;
    Hedges & Olkin 1985, *Statistical Methods for Meta-Analysis*, ch. 5).

    Parameters
    ----------
    analyses : dict of str to xarray.Dataset
        One analysis (schema ``analysis/2``, or ``analysis/1``, whose per-step
        metrics are the same, from :func:`plantar.analyze`) per
        condition, keyed by the condition's label (e.g. ``"barefoot"``,
        ``"orthosis A"``). The order of the dict is the order of the result.
    baseline : str | None
        Label of the condition the others are compared with; ``None`` (default)
        takes the first label.
    metrics : sequence of str | str | None
        Per step and region metrics to compare, in the order wanted: any of
        :data:`plantar.metrics.STEP_REGION_METRICS` (the variants and the
        regional timing too). ``None`` (default) compares the loading metrics
        ``peak_pressure``, ``mean_pressure``, ``max_force``,
        ``force_time_integral``, ``pressure_time_integral``, ``contact_area``,
        ``contact_time``, ``relative_load``, in that order
        (:data:`plantar.metrics.LOADING_METRICS`), which every analysis has.
    complete_only : bool
        Use complete steps only (default): a footprint cut by the mat edge or the
        end of the recording would bias its side's numbers.
    confidence : float
        Confidence level of the interval of the difference, in (0, 1); default
        0.95.

    Returns
    -------
    comparison : xarray.Dataset
        Schema ``comparison/1``, dims ``condition`` (the labels, in the order
        given; coordinate ``device`` holds each analysis's device), ``side``
        (``"left"``, ``"right"``), ``region`` (the analyses' regions) and
        ``metric`` (coordinates ``metric_units``, ``metric_long_name``).
        Variables per condition, side, region and metric: ``mean``, ``sd``
        (ddof = 1) and ``n`` (int) of the steps; ``diff`` (condition - baseline)
        and ``diff_pct`` (% of the baseline mean); ``ci_low``, ``ci_high`` (Welch
        interval of ``diff``) and ``p_value``; ``hedges_g``; ``sem`` and ``mdc``
        in the metric's units; ``beyond_noise`` (bool) and ``verdict`` (str:
        ``"baseline"``, ``"beyond noise"``, ``"within noise"`` or ``"too few
        steps"``). Where the baseline or the condition has fewer than 2 steps the
        statistics are NaN and the verdict is ``"too few steps"``; on the
        baseline's row ``diff`` to ``hedges_g`` are NaN and ``sem``, ``mdc`` are
        the baseline's own. Every variable states its formula in
        ``attrs["formula"]``. Attrs: ``plantar_schema``, ``baseline``,
        ``confidence``, ``complete_only`` (0 or 1). ``mean`` and ``diff`` share
        their names with Dataset methods: select them as ``comparison["diff"]``.

    See Also
    --------
    comparison_table : the result as a tidy table.
    plantar.offloading : left against right within one analysis.

    Examples
    --------
    Halve the load under the right second and third metatarsal heads:

    >>> import plantar
    >>> from plantar.compare import compare
    >>> before, _ = plantar.synth.walk(seed=1, passes=2)
    >>> after, _ = plantar.synth.walk(seed=2, passes=2, offload={"right_mth2_3": 0.5})
    >>> result = compare({"barefoot": plantar.analyze(before), "insole": plantar.analyze(after)},
    ...                  baseline="barefoot", metrics=["force_time_integral", "peak_pressure"])
    >>> dict(result.sizes)
    {'condition': 2, 'side': 2, 'region': 11, 'metric': 2}
    >>> right = result.sel(condition="insole", side="right", region="mth2_3", metric="force_time_integral")
    >>> bool(right["diff"] < 0), str(right.verdict.values)
    (True, 'beyond noise')
    >>> str(result.verdict.sel(condition="barefoot", side="right", region="mth2_3",
    ...                        metric="force_time_integral").values)
    'baseline'
    """
    labels, baseline, metrics = _check_arguments(analyses, baseline, metrics, complete_only, confidence)
    first = analyses[labels[0]]
    regions = [str(r) for r in first["region"].values]

    # mean, sd, n per condition, side, region, metric: (C, S, R, M)
    shape = (len(labels), len(SIDES), len(regions), len(metrics))
    mean, sd = np.full(shape, np.nan), np.full(shape, np.nan)
    count = np.zeros(shape, dtype=int)
    for c, label in enumerate(labels):
        analysis = analyses[label]
        values = np.stack([analysis[name].transpose("step", "region").values for name in metrics], axis=-1)
        keep = analysis["complete"].values.astype(bool) if complete_only else np.ones(values.shape[0], bool)
        side_of_step = analysis["side"].values.astype(str)
        for s, side in enumerate(SIDES):
            mean[c, s], sd[c, s], count[c, s] = _describe(values[keep & (side_of_step == side)])

    b = labels.index(baseline)
    result = _welch(mean, sd, count, mean[b], sd[b], count[b], confidence)
    is_baseline = np.asarray([label == baseline for label in labels])[:, None, None, None]
    enough = (count >= 2) & (count[b] >= 2)
    verdict = np.where(result["beyond_noise"], "beyond noise", "within noise")
    verdict = np.where(enough, verdict, "too few steps")
    verdict = np.where(is_baseline, "baseline", verdict).astype(str)
    result["beyond_noise"] &= ~is_baseline
    for name in ("diff", "diff_pct", "ci_low", "ci_high", "p_value", "hedges_g"):
        result[name] = np.where(is_baseline, np.nan, result[name])

    dims = ("condition", "side", "region", "metric")
    data = {"mean": mean, "sd": sd, "n": count, **result, "verdict": verdict}
    variables = {}
    for name, (units, long_name, formula) in _FORMULAS.items():
        attrs = {"units": "see metric_units" if units is None else units, "long_name": long_name,
                 "formula": formula}  # fmt: skip
        variables[name] = (dims, data[name], attrs)
    devices = [str(analyses[label].attrs.get("device", "")) for label in labels]
    return xr.Dataset(
        variables,
        coords={
            "condition": ("condition", list(labels), {"long_name": "condition"}),
            "device": ("condition", devices, {"long_name": "device of the condition's recording"}),
            "side": ("side", list(SIDES), {"long_name": "side"}),
            "region": ("region", regions, {"long_name": "region", "scheme": str(first.attrs.get("mask", ""))}),
            "metric": ("metric", list(metrics), {"long_name": "metric"}),
            "metric_units": ("metric", [STEP_REGION_METRICS[m][0] for m in metrics], {"long_name": "units"}),
            "metric_long_name": ("metric", [STEP_REGION_METRICS[m][1] for m in metrics], {"long_name": "metric name"}),
        },
        attrs={
            "plantar_schema": SCHEMA_COMPARISON,
            "plantar_version": __version__,
            "baseline": baseline,
            "confidence": float(confidence),
            "complete_only": int(bool(complete_only)),
            "definition": (
                "each condition's steps of one side against the baseline's steps of that side; "
                "beyond noise = Welch interval excludes 0 and |diff| > MDC95"
            ),
        },
    )


def _check_arguments(analyses, baseline, metrics, complete_only, confidence):
    """Validate the public arguments; return (labels, baseline, metrics)."""
    if not isinstance(analyses, dict):
        raise ValueError(
            f"analyses must be a dict of condition label to analysis Dataset, got {type(analyses).__name__}"
        )
    if not analyses:
        raise ValueError("analyses must hold at least one condition, got an empty dict")
    labels = list(analyses)
    for label in labels:
        if not isinstance(label, str) or not label:
            raise ValueError(f"analyses: condition labels must be non-empty str, got {label!r}")
        analysis = analyses[label]
        schema = analysis.attrs.get("plantar_schema") if isinstance(analysis, xr.Dataset) else None
        if schema not in (SCHEMA_ANALYSIS, SCHEMA_ANALYSIS_1):
            got = f"schema {schema!r}" if isinstance(analysis, xr.Dataset) else type(analysis).__name__
            raise ValueError(
                f"analyses[{label!r}] must be an analysis (schema {SCHEMA_ANALYSIS!r}) from plantar.analyze(), "
                f"got {got}"
            )
        missing = [name for name in ("complete", "side", "region") if name not in analysis.variables]
        if missing:
            raise ValueError(f"analyses[{label!r}] has no {', '.join(missing)}: is it from plantar.analyze()?")
    regions = list(analyses[labels[0]]["region"].values)
    for label in labels[1:]:
        if list(analyses[label]["region"].values) != regions:
            raise ValueError(
                f"analyses[{label!r}] has regions {list(map(str, analyses[label]['region'].values))}, "
                f"analyses[{labels[0]!r}] has {list(map(str, regions))}: analyse both with the same mask"
            )
    if baseline is None:
        baseline = labels[0]
    if baseline not in analyses:
        raise ValueError(f"baseline must be one of the labels {tuple(labels)}, got {baseline!r}")
    if metrics is None:
        metrics = list(LOADING_METRICS)
    elif isinstance(metrics, str):
        metrics = [metrics]
    else:
        metrics = list(metrics)
    if not metrics:
        raise ValueError(f"metrics must name at least one of {tuple(STEP_REGION_METRICS)}, got none")
    for name in metrics:
        if name not in STEP_REGION_METRICS:
            raise ValueError(f"metrics must be among {tuple(STEP_REGION_METRICS)}, got {name!r}")
    if len(set(metrics)) != len(metrics):
        raise ValueError(f"metrics must not repeat a name, got {metrics}")
    for label in labels:
        missing = [name for name in metrics if name not in analyses[label].variables]
        if missing:
            raise ValueError(f"analyses[{label!r}] has no {', '.join(missing)}: is it from plantar.analyze()?")
    if not isinstance(complete_only, (bool, np.bool_)):
        raise ValueError(f"complete_only must be True or False, got {complete_only!r}")
    if not (isinstance(confidence, numbers.Real) and 0 < confidence < 1):
        raise ValueError(f"confidence must be a number in (0, 1), e.g. 0.95, got {confidence!r}")
    return labels, baseline, metrics


def _describe(values):
    """Mean, sample SD and count of finite values over axis 0 of (step, ...) values."""
    finite = np.isfinite(values)
    n = finite.sum(axis=0)
    total = np.where(finite, values, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, total / n, np.nan)
        squares = np.where(finite, (values - mean) ** 2, 0.0).sum(axis=0)
        sd = np.where(n > 1, np.sqrt(squares / (n - 1)), np.nan)
    return mean, sd, n


def _welch(mean, sd, n, mean_b, sd_b, n_b, confidence):
    """Statistics of each condition against the baseline, broadcast over all dims.

    ``mean``, ``sd``, ``n``: (C, ...) arrays; ``mean_b``, ``sd_b``, ``n_b``: the
    baseline's (...) arrays. Where either n < 2 every statistic is NaN.
    """
    from scipy import stats  # imported here: scipy.stats costs most of a second to import, and only this needs it

    enough = (n >= 2) & (n_b >= 2)
    nc = np.where(enough, n, np.nan).astype(float)
    nb = np.where(enough, n_b, np.nan).astype(float)
    vc, vb = sd**2, sd_b**2
    with np.errstate(invalid="ignore", divide="ignore"):
        diff = np.where(enough, mean - mean_b, np.nan)
        diff_pct = np.where(mean_b != 0, 100.0 * diff / mean_b, np.nan)
        # Welch standard error and Welch-Satterthwaite degrees of freedom
        wc, wb = vc / nc, vb / nb
        se = np.sqrt(wc + wb)
        df = (wc + wb) ** 2 / (wc**2 / (nc - 1) + wb**2 / (nb - 1))
        t_crit = stats.t.ppf(0.5 + confidence / 2.0, df)
        half = np.where(se > 0, t_crit * se, 0.0)
        ci_low, ci_high = diff - half, diff + half
        t_stat = np.abs(diff) / se
        p_value = np.where(se > 0, 2.0 * stats.t.sf(t_stat, df), np.where(diff != 0, 0.0, 1.0))
        # pooled SD: Hedges' g and the standard error of measurement
        pooled = np.sqrt(((nc - 1) * vc + (nb - 1) * vb) / (nc + nb - 2))
        correction = 1.0 - 3.0 / (4.0 * (nc + nb) - 9.0)
        hedges_g = np.where(pooled > 0, correction * diff / pooled, np.nan)
        mdc = 1.96 * np.sqrt(2.0) * pooled
    nan = ~enough
    ci_low, ci_high, p_value = (np.where(nan, np.nan, a) for a in (ci_low, ci_high, p_value))
    excludes_zero = (ci_low > 0) | (ci_high < 0)
    beyond = enough & excludes_zero & (np.abs(diff) > mdc)
    return {
        "diff": diff,
        "diff_pct": diff_pct,
        "ci_low": ci_low,
        "ci_high": ci_high,
        "p_value": p_value,
        "hedges_g": hedges_g,
        "sem": pooled,
        "mdc": mdc,
        "beyond_noise": beyond,
    }


def comparison_table(comparison):
    """A comparison as a tidy table: one row per condition, side, region and metric.

    Parameters
    ----------
    comparison : xarray.Dataset
        A comparison (schema ``comparison/1``) from :func:`compare`.

    Returns
    -------
    table : pandas.DataFrame
        Columns ``condition``, ``device``, ``side``, ``region``, ``metric``,
        ``units``, ``mean``, ``sd``, ``n``, ``diff``, ``diff_pct``, ``ci_low``,
        ``ci_high``, ``p_value``, ``hedges_g``, ``sem``, ``mdc``,
        ``beyond_noise``, ``verdict``, then ``baseline`` and ``confidence`` (the
        same on every row, so that a CSV stands on its own). Rows are ordered
        condition, side, region, metric, as in the comparison.

    Examples
    --------
    >>> import plantar
    >>> from plantar.compare import compare, comparison_table
    >>> a, _ = plantar.synth.walk(seed=1, passes=1, mat_length_mm=1000)
    >>> b, _ = plantar.synth.walk(seed=2, passes=1, mat_length_mm=1000, condition="shod")
    >>> result = compare({"barefoot": plantar.analyze(a), "shod": plantar.analyze(b)},
    ...                  metrics="peak_pressure")
    >>> table = comparison_table(result)
    >>> len(table)    # 2 conditions x 2 sides x 11 regions x 1 metric
    44
    >>> table.loc[0, ["condition", "side", "region", "metric", "units"]].tolist()
    ['barefoot', 'left', 'total', 'peak_pressure', 'kPa']
    """
    is_dataset = isinstance(comparison, xr.Dataset)
    if not is_dataset or comparison.attrs.get("plantar_schema") != SCHEMA_COMPARISON:
        got = f"schema {comparison.attrs.get('plantar_schema')!r}" if is_dataset else type(comparison).__name__
        raise ValueError(
            f"comparison must be a comparison (schema {SCHEMA_COMPARISON!r}) from plantar.compare(), got {got}"
        )
    names = list(_FORMULAS)
    table = comparison[names].drop_vars("metric_long_name").to_dataframe().reset_index()
    table = table.rename(columns={"metric_units": "units"})
    table["verdict"] = table["verdict"].astype(str)
    table["beyond_noise"] = table["beyond_noise"].astype(bool)
    table["n"] = table["n"].astype(int)
    table["baseline"] = str(comparison.attrs["baseline"])
    table["confidence"] = float(comparison.attrs["confidence"])
    columns = ["condition", "device", "side", "region", "metric", "units", *names, "baseline", "confidence"]
    return table[columns]
