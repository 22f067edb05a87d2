"""The cohort report: the group comparison with confidence intervals, the sensel maps, the per-file status."""

from pathlib import Path

import numpy as np
import pandas as pd

from ..utils import fill_doc, logger, verbose as _verbose
from ._batch import read_study
from ._pixels import pixel_compare
from ._stats import group_compare

#: Metrics of the report's group table by default (every metric is in its CSV).
REPORT_METRICS = ("peak_pressure", "force_time_integral", "relative_load")
_STATISTICS = ["n_subjects", "mean_baseline", "mean_condition", "diff", "diff_pct", "ci_low", "ci_high", "sd_diff",
               "t", "df", "p_t", "p_t_holm", "w", "p_wilcoxon", "p_wilcoxon_holm", "d_z"]  # fmt: skip


@fill_doc
@_verbose
def write_cohort_report(study, fname, *, baseline=None, metrics=REPORT_METRICS, method="max", n_permutations=5000,
                        title=None, overwrite=False, verbose=None):  # fmt: skip
    """Write the cohort report of a study: HTML, with every number as CSV and JSON beside it.

    The report holds a summary (files, subjects, conditions, what differs),
    the group comparison of every condition with the baseline
    (:func:`plantar.group_compare`: mean paired difference with its 95 %
    confidence interval, Holm-corrected p-values, Cohen's d_z; significant
    rows flagged), the sensel maps of each condition and side
    (:func:`plantar.pixel_compare` and :func:`plantar.viz.pixel_map`), and
    the status of every file. What cannot be computed (one condition, too few
    subjects for a map) is a note; the rest is written.

    Parameters
    ----------
    study : dict | str | os.PathLike
        What :func:`plantar.batch` returned, or its output folder.
    fname : str | os.PathLike
        The HTML file to write; ``.csv`` and ``.json`` beside it.
    baseline : str | None
        The condition the others are compared with; default the first.
    metrics : sequence of str
        Metrics shown in the group table (all of them are in the CSV).
    method : {"max", "cluster"}
        Inference of the sensel maps (see :func:`plantar.pixel_compare`).
    n_permutations : int
        Most sign flips of the sensel tests.
    title : str | None
        Page title; default "Cohort report: " and the study's folder.
    overwrite : bool
        Replace existing files.
    %(verbose)s

    Returns
    -------
    paths : dict of str to pathlib.Path
        ``{"html": ..., "csv": ..., "json": ...}``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import plantar
    >>> from plantar.cohort import synthetic_study, write_cohort_report
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> manifest, _ = synthetic_study(folder / "data", n_subjects=3, trials=1, passes=1)
    >>> study = plantar.batch(folder / "data", folder / "out", manifest=manifest, scheduler="serial")
    >>> paths = write_cohort_report(study, folder / "out" / "report.html", verbose="error")
    >>> sorted(paths)
    ['csv', 'html', 'json']
    """
    from ..report import Report
    from ..viz import pixel_map

    if not isinstance(study, dict):
        folder = Path(study)
        study = read_study(folder)
    else:
        folder = Path(study["paths"]["options"]).parent if "paths" in study else Path(".")
    table, status, maps = study["table"], study["status"], study["maps"]
    report = Report(title=title or f"Cohort report: {folder.name}", subject=f"{table.subject.nunique()} subjects")
    counts = status["status"].value_counts()
    conditions = list(dict.fromkeys(table["condition"]))
    report.meta.update({"Files": f"{len(status)} ({counts.get('ok', 0)} ok, {counts.get('error', 0)} errors, "
                                 f"{counts.get('skipped', 0)} skipped)",
                        "Conditions": ", ".join(conditions)})  # fmt: skip
    report.summary.append(f"{len(status)} files of {table.subject.nunique()} subjects in {len(conditions)} "
                          f"conditions ({', '.join(conditions)}); {counts.get('error', 0)} could not be analysed "
                          "(see Files).")  # fmt: skip
    baseline = baseline or (conditions[0] if conditions else None)
    if len(conditions) < 2:
        report.add_note("The study has fewer than two conditions: nothing to compare.")
    else:
        _group_section(report, table, baseline, metrics)
        _pixel_section(report, maps, conditions, baseline, method, n_permutations, pixel_map)
    shown = status[["file", "subject", "condition", "visit", "trial", "status", "reason", "steps"]].copy()
    shown["file"] = [Path(f).name for f in shown["file"]]
    flags = np.zeros(shown.shape, dtype=bool)
    flags[:, list(shown.columns).index("status")] = (shown["status"] == "error").to_numpy()
    report.add_table(shown.set_index("file"), "Status of every file", section="Files", flags=flags[:, 1:],
                     caption="ok: analysed now; skipped: done before with the same content and options (from "
                             "the cache), or a name that does not match the pattern; error: the one-line "
                             "reason.")  # fmt: skip
    return report.save(fname, overwrite=overwrite)


def _group_section(report, table, baseline, metrics):
    result = group_compare(table, baseline=baseline)
    numbers = result.melt(id_vars=["condition", "side", "region", "metric", "units"], value_vars=_STATISTICS,
                          var_name="statistic", value_name="value")  # fmt: skip
    report.add_numbers(numbers, table="group comparison")
    shown = result[result["metric"].isin(metrics)]
    alpha = result.attrs["alpha"]
    significant = result[result["significant"]]
    if len(significant):
        top = significant.reindex(significant["p_t_holm"].sort_values().index).head(5)
        for row in top.itertuples():
            report.summary.append(
                f"{row.condition} vs {baseline}, {row.side} {row.region or 'step'} {row.metric}: "
                f"{row.diff:+.3g} {row.units} (95 % CI {row.ci_low:+.3g} to {row.ci_high:+.3g}; "
                f"Holm p = {row.p_t_holm:.2g}; d_z = {row.d_z:.2f}; {row.n_subjects} subjects)."
            )
    else:
        report.summary.append(f"No difference from {baseline} holds after Holm's correction (alpha {alpha:g}).")
    frame = pd.DataFrame({
        "condition": shown["condition"], "side": shown["side"], "region": shown["region"].replace("", "(step)"),
        "metric": shown["metric"], "units": shown["units"], "n": shown["n_subjects"],
        f"{baseline} mean": shown["mean_baseline"].round(2),
        "difference [95 % CI]": [f"{d:+.2f} [{lo:+.2f}, {hi:+.2f}]" for d, lo, hi in
                                 zip(shown["diff"], shown["ci_low"], shown["ci_high"])],
        "p (t, Holm)": shown["p_t_holm"].map(lambda p: f"{p:.3g}"),
        "p (Wilcoxon, Holm)": shown["p_wilcoxon_holm"].map(lambda p: f"{p:.3g}"),
        "d_z": shown["d_z"].round(2),
    })  # fmt: skip
    flags = np.zeros(frame.shape, dtype=bool)
    flags[:, list(frame.columns).index("difference [95 % CI]")] = shown["significant"].to_numpy()
    report.add_table(frame.set_index("condition"), "Conditions against the baseline", section="Group comparison",
                     flags=flags[:, 1:],
                     caption=f"Each subject's steps averaged first; paired differences from {baseline} across "
                             "subjects with their 95 % confidence interval; paired t-test and Wilcoxon signed-rank "
                             "test, both Holm-corrected over every region and metric; flagged: p (t, Holm) < "
                             f"{alpha:g}. "
                             "Every statistic of every metric is in the CSV.")  # fmt: skip


def _pixel_section(report, maps, conditions, baseline, method, n_permutations, pixel_map):
    for condition in conditions:
        if condition == baseline:
            continue
        for side in ("left", "right"):
            try:
                result = pixel_compare(maps, condition=condition, baseline=baseline, side=side, method=method,
                                       n_permutations=n_permutations)  # fmt: skip
            except ValueError as exc:
                report.add_note(f"No sensel map of {condition} vs {baseline}, {side} foot: {exc}.")
                continue
            n = int(result["significant"].sum())
            logger.info("sensel map %s vs %s, %s: %d significant sensels", condition, baseline, side, n)
            maps_text = ("per-sensor peak-pressure maps (insole sensors, each fixed to the foot)"
                         if "sensor" in result["t"].dims else "aligned peak-pressure maps")  # fmt: skip
            report.add_figure(pixel_map(result), f"{condition} vs {baseline}, {side} foot", section="Under the foot",
                              caption=f"Mean difference of the subjects' {maps_text}; outlined in "
                                      f"black: sensels whose change holds with a family-wise error of at most "
                                      f"{result.attrs['alpha']:g} ({result.attrs['definition']}).")  # fmt: skip
            frame = pd.DataFrame({"condition": condition, "side": side, "metric": "significant_sensels",
                                  "statistic": "count", "value": [float(n)], "units": "1"})  # fmt: skip
            report.add_numbers(frame, table="sensel maps")
