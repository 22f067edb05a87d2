"""Follow-up of one patient over visits: has the loading changed beyond measurement error?

:func:`followup` takes the analyses of a patient's trials, each with its visit,
date and condition, and gives per visit, condition, side, region and metric the
visit mean with its confidence interval, the change since the first and since
the previous visit with theirs, a verdict on whether each change is beyond the
error of measuring the same walking twice, and with three or more visits the
trend per week. It works on per-step numbers of :func:`plantar.analyze` only,
so it needs neither a clinic nor the trials' files.

**The error model.** A trial's value is the mean of its complete steps of one
side. Trials of the same condition at the same visit measure the same walking,
so their scatter is the between-session error of a trial. It comes, in order of
preference, from

1. the patient's own repeated trials: a trial mean of n steps varies as
   ``phi x s^2 / n``, with ``s^2`` the step-to-step variance of the measure
   (pooled over all the patient's trials of the condition) and ``phi >= 1`` how
   much more the trials of a visit scatter than their steps alone predict,
   estimated from every visit with two or more trials and pooled over every
   side, region and metric of the condition (each measure's own few trials
   could not estimate it; many together can). The degrees of freedom are those
   of ``s^2``. A measure without a step-to-step variance (one step per trial;
   cadence and walking speed, one value per trial, followed with side "both")
   uses its trials' own scatter;
2. published test-retest reliability (:data:`PUBLISHED_ERROR`), as a coefficient
   of variation applied to the patient's first-visit mean, when no visit has two
   trials of the condition;

and the table says which (``error_source``). A visit's mean is the mean of its
trials, its standard error ``sqrt(phi s^2 sum(1 / n_j)) / m`` for m trials of
n_j steps, or the published SEM of a session.

**The verdict.** A change is *beyond measurement error* when it exceeds the
minimal detectable change at the family-wise confidence of the follow-up: a
follow-up makes many comparisons at once (sides x regions x metrics x visits),
and at 95 % each, a patient whose walking did not change would have some region
called changed nearly every time. So the threshold is
``t_q(df) x SE_change`` with ``q = 1 - (1 - confidence) / (2 k)``, k the number of
changes the follow-up compares, since the first and since the previous visit
together (Bonferroni), ``SE_change`` the standard error of the difference of the
two visit means. The per-comparison
minimal detectable change (``mdc``, at ``confidence``; with one trial per visit
it is the familiar ``MDC95 = 1.96 x sqrt(2) x SEM``, Weir 2005, J Strength Cond
Res 19:231) is reported beside it.

**The timeline.** Tissue adapts over weeks (muscle in about 4-6 weeks, tendon
and ligament in 8-12 or more), so a follow-up less than
:data:`STRUCTURAL_CHANGE_WEEKS` after the first visit gets a note that
structural change is not yet expected.
"""

import dataclasses
import datetime

import numpy as np
import pandas as pd

from .analyze import SCHEMA_ANALYSIS, SCHEMA_ANALYSIS_1
from .metrics import STEP_REGION_METRICS

#: The per step and region metrics followed over visits.
REGION_METRICS = ("peak_pressure", "force_time_integral", "relative_load", "contact_time")
#: The per-step spatiotemporal parameters followed over visits (region "" in the table).
SPATIOTEMPORAL = ("stance_time", "double_support_time", "step_length", "step_width", "stride_length",
                  "foot_angle")  # fmt: skip
#: Spatiotemporal parameters of a whole trial (attrs of the analysis), followed with side "both".
TRIAL_PARAMETERS = {"cadence_steps_per_min": "steps/min", "walking_speed_m_s": "m/s"}
SIDES = ("left", "right")
#: Follow-ups earlier than this after the first visit are too early to show structural change, weeks.
STRUCTURAL_CHANGE_WEEKS = 4.0
STRUCTURAL_NOTE = ("structural change not yet expected: follow-up less than 4 weeks after the first visit "
                   "(tissue adapts over 4-12 weeks)")  # fmt: skip

#: The verdicts of a change.
VERDICTS = ("beyond measurement error", "within measurement error", "no error estimate", "no data")

#: Published between-session error, as a coefficient of variation (SEM / mean, %), used when the patient
#: has no visit with two trials of a condition. Rows: (metric, regions or "*" for the others, CV %, source).
#: The values are the ranges the sources state, not per-region values of one study:
#:
#: - Cousins SD, Morrison SC, Drechsler WI 2012, "The reliability of plantar pressure assessment during
#:   barefoot level walking in children aged 7-11 years", J Foot Ankle Res 5:8: coefficients of variation
#:   of 10.12-19.84 % over three trials for peak pressure, peak force, pressure- and force-time integrals in
#:   every region but the lesser toes (27.15-56.08 %); taken here at 15 %.
#: - Xu C, Wen X-X, Huang L-Y et al. 2017, "Normal foot loading parameters and repeatability of the
#:   Footscan platform system", J Foot Ankle Res 10:30 (32 adults, sessions one week apart): inter-session
#:   CVs of peak pressure, contact time, contact area, pressure-time integral and maximum force below 28 %
#:   in all ten zones; 28 % is used for the lesser toes, whose trial-to-trial CV alone exceeds 27 %.
#: - Test-retest reliability of the Pedar-X insole over linear and curved walking (J NeuroEng Rehabil 2014,
#:   11:95; 16 adults, sessions two days apart): whole-foot mean percent error between sessions below 5 %
#:   for peak force, peak pressure, contact area and stance duration; used for the whole foot's peak
#:   pressure and contact time and for stance time.
#:
#: Relative load and the spatial parameters have no published between-session value here: without repeated
#: trials their verdict is "no error estimate".
PUBLISHED_ERROR = (
    ("peak_pressure", ("total",), 5.0, "Pedar-X test-retest 2014 (J NeuroEng Rehabil 11:95): whole foot < 5 %"),
    ("contact_time", ("total",), 5.0, "Pedar-X test-retest 2014 (J NeuroEng Rehabil 11:95): whole foot < 5 %"),
    ("stance_time", ("",), 5.0, "Pedar-X test-retest 2014 (J NeuroEng Rehabil 11:95): stance < 5 %"),
    ("peak_pressure", ("lesser_toes",), 28.0, "Xu et al. 2017 (J Foot Ankle Res 10:30): inter-session CV < 28 %"),
    ("force_time_integral", ("lesser_toes",), 28.0,
     "Xu et al. 2017 (J Foot Ankle Res 10:30): inter-session CV < 28 %"),
    ("contact_time", ("lesser_toes",), 28.0, "Xu et al. 2017 (J Foot Ankle Res 10:30): inter-session CV < 28 %"),
    ("peak_pressure", "*", 15.0, "Cousins et al. 2012 (J Foot Ankle Res 5:8): CV 10-20 % by region"),
    ("force_time_integral", "*", 15.0, "Cousins et al. 2012 (J Foot Ankle Res 5:8): CV 10-20 % by region"),
    ("contact_time", "*", 15.0, "Xu et al. 2017 (J Foot Ankle Res 10:30): inter-session CV < 28 %; "
     "15 % as for the other regional metrics"),
)  # fmt: skip

#: Columns of :attr:`FollowupResult.visits` -> (units, meaning). ``None`` units: the metric's own.
VISIT_COLUMNS = {
    "visit": ("", "the visit's id or label"),
    "date": ("", "the visit's date"),
    "weeks": ("week", "weeks since the first visit"),
    "condition": ("", "condition label (compared with the same label at other visits)"),
    "side": ("", "left or right; 'both' for cadence and walking speed"),
    "region": ("", "region of plantar.regions; '' for a spatiotemporal parameter"),
    "metric": ("", "per-step metric of plantar.analyze"),
    "units": ("", "units of the metric"),
    "trials": ("1", "trials of the condition at the visit with a value"),
    "steps": ("1", "complete steps of the side in those trials"),
    "mean": (None, "visit mean: mean over trials of each trial's mean over its steps"),
    "ci_low": (None, "confidence interval of the visit mean, lower end: mean - t_q(df) se"),
    "ci_high": (None, "confidence interval of the visit mean, upper end: mean + t_q(df) se"),
    "se": (None, "standard error of the visit mean: sqrt(phi s^2 sum(1 / n_j)) / trials (own error), or sem"),
    "sem": (None, "between-session standard error of measurement of one trial of the patient's mean number "
                  "of steps (see error_source)"),
    "error_df": ("1", "degrees of freedom of the error (of s^2; inf for a published value)"),
    "error_source": ("", "where sem comes from: the patient's own repeated trials, or the published source"),
    "change_first": (None, "mean - the first visit's mean (same condition, side, region, metric)"),
    "change_first_low": (None, "confidence interval of change_first, lower end"),
    "change_first_high": (None, "confidence interval of change_first, upper end"),
    "mdc_first": (None, "minimal detectable change vs the first visit at the confidence: t_q(df) se_change"),
    "threshold_first": (None, "the same at the family-wise confidence (Bonferroni over every change compared)"),
    "verdict_first": ("", "beyond / within measurement error: |change_first| > threshold_first"),
    "change_previous": (None, "mean - the previous visit's mean"),
    "change_previous_low": (None, "confidence interval of change_previous, lower end"),
    "change_previous_high": (None, "confidence interval of change_previous, upper end"),
    "mdc_previous": (None, "minimal detectable change vs the previous visit"),
    "threshold_previous": (None, "the same at the family-wise confidence"),
    "verdict_previous": ("", "beyond / within measurement error: |change_previous| > threshold_previous"),
    "note": ("", "a note on the timeline (a follow-up too early for structural change)"),
}

#: Columns of :attr:`FollowupResult.trend`.
TREND_COLUMNS = {
    "condition": ("", "condition label"),
    "side": ("", "left or right"),
    "region": ("", "region; '' for a spatiotemporal parameter"),
    "metric": ("", "per-step metric"),
    "units": ("", "units of the metric"),
    "visits": ("1", "visits with a mean"),
    "slope_per_week": (None, "weighted least-squares slope of the visit means over weeks (weights 1 / se^2)"),
    "slope_low": (None, "confidence interval of the slope, lower end: slope - t_q(df) se_slope"),
    "slope_high": (None, "confidence interval of the slope, upper end"),
    "error_source": ("", "where the visit means' errors come from"),
}


@dataclasses.dataclass
class FollowupResult:
    """What :func:`followup` finds: tables of the visits and of the trends, and notes.

    Attributes
    ----------
    visits : pandas.DataFrame
        One row per visit, condition, side, region and metric (columns of
        :data:`VISIT_COLUMNS`).
    trend : pandas.DataFrame
        With three or more visits, one row per condition, side, region and
        metric (columns of :data:`TREND_COLUMNS`); empty otherwise.
    notes : list of str
        Notes on the follow-up (timeline, missing data).
    confidence : float
        The confidence of the intervals.
    comparisons : dict of str to int
        The number of changes compared against the first and against the
        previous visit; their sum is the Bonferroni k of the verdicts.
    """

    visits: pd.DataFrame
    trend: pd.DataFrame
    notes: list
    confidence: float
    comparisons: dict

    def changed(self, against="first"):
        """The rows whose change since the first (or previous) visit is beyond measurement error.

        Parameters
        ----------
        against : {"first", "previous"}
            The reference visit.

        Returns
        -------
        rows : pandas.DataFrame
            The rows of :attr:`visits` with that verdict.

        Examples
        --------
        >>> import plantar
        >>> visits = plantar.synth.visits(seed=3, weeks=(0, 8), trials_per_visit=1, mat_length_mm=1200)
        >>> records = [{"visit": k + 1, "weeks": v["weeks"], "condition": "barefoot",
        ...             "analysis": plantar.analyze(t, verbose="error")}
        ...            for k, v in enumerate(visits) for t in v["trials"]]
        >>> plantar.followup(records).changed().empty
        True
        """
        if against not in ("first", "previous"):
            raise ValueError(f"against must be 'first' or 'previous', got {against!r}")
        return self.visits[self.visits[f"verdict_{against}"] == VERDICTS[0]]


def followup(trials, *, confidence=0.95, complete_only=True):
    """Follow one patient over visits: visit means, changes, verdicts and trends, with confidence intervals.

    Parameters
    ----------
    trials : sequence of dict
        One per trial, with keys ``visit`` (an id or label), ``date``
        (:class:`datetime.date` or ``"YYYY-MM-DD"``) or ``weeks`` (weeks since
        the first visit), ``condition`` (label, e.g. ``"barefoot"`` or
        ``"orthotic A"``: a condition is followed under the same label at every
        visit) and ``analysis`` (from :func:`plantar.analyze`).
    confidence : float
        Confidence of the intervals (0.5 .. 0.999); the verdicts hold it
        family-wise over the changes compared.
    complete_only : bool
        Use complete steps only (default).

    Returns
    -------
    result : FollowupResult
        ``visits`` (one row per visit, condition, side, region and metric:
        visit mean with its CI, changes since the first and the previous visit
        with theirs, the between-session error and its source, the verdicts,
        weeks since the first visit and a timeline note), ``trend`` (slope per
        week with its CI, with three or more visits), ``notes``.

    Raises
    ------
    ValueError
        If a trial lacks a key, an analysis is not one, or dates and weeks are
        mixed.

    Notes
    -----
    See the module's description for the error model and the verdict. A metric
    is followed where it has a value at two or more visits.

    Examples
    --------
    A patient whose right heel offload eases from 30 % to 10 % over 12 weeks,
    two walks of two passes per visit:

    >>> import plantar
    >>> visits = plantar.synth.visits(seed=2, weeks=(0, 6, 12), offload={"right_heel": (0.3, 0.1)},
    ...                               trials_per_visit=2, passes=2, mat_length_mm=3000, mat_width_mm=400,
    ...                               pitch_mm=10, rate_hz=50)
    >>> records = [{"visit": k + 1, "weeks": v["weeks"], "condition": "barefoot",
    ...             "analysis": plantar.analyze(t, verbose="error")}
    ...            for k, v in enumerate(visits) for t in v["trials"]]
    >>> result = plantar.followup(records)
    >>> heel = result.visits.query("side == 'right' and region == 'heel' and metric == 'relative_load'")
    >>> bool(heel["change_first"].iloc[-1] > 0), heel["verdict_first"].iloc[-1]
    (True, 'beyond measurement error')
    >>> heel["error_source"].iloc[0][:30]
    "the patient's repeated trials "
    """
    if not 0.5 <= float(confidence) <= 0.999:
        raise ValueError(f"confidence must lie in 0.5 .. 0.999, got {confidence!r}")
    records = _trial_records(list(trials), complete_only)
    visits = _visit_table(records)
    notes = []
    early = visits.loc[(visits["weeks"] > 0) & (visits["weeks"] < STRUCTURAL_CHANGE_WEEKS), "visit"].unique()
    visits["note"] = np.where(visits["visit"].isin(early), STRUCTURAL_NOTE, "")
    for visit in early:
        weeks = visits.loc[visits["visit"] == visit, "weeks"].iloc[0]
        notes.append(f"visit {visit} is {weeks:.1f} weeks after the first: {STRUCTURAL_NOTE}")
    visits = _errors(visits, records)
    comparisons = {}
    for against in ("first", "previous"):
        visits, comparisons[against] = _changes(visits, against, float(confidence), family=None)
    # The verdicts hold the confidence over every change the follow-up compares (Bonferroni).
    family = sum(comparisons.values())
    for against in ("first", "previous"):
        visits, _ = _changes(visits, against, float(confidence), family=family)
    trend = _trend(visits, float(confidence))
    return FollowupResult(visits=visits[list(VISIT_COLUMNS)].reset_index(drop=True), trend=trend, notes=notes,
                          confidence=float(confidence), comparisons=comparisons)  # fmt: skip


# --------------------------------------------------------------------------------------------------------------
# per trial: the mean, variance and number of the steps of each side, region and metric


def _trial_records(trials, complete_only):
    if not trials:
        raise ValueError("followup needs trials: give at least one")
    rows, dated = [], None
    for k, trial in enumerate(trials):
        missing = [key for key in ("visit", "condition", "analysis") if key not in trial]
        if missing or ("date" not in trial and "weeks" not in trial):
            raise ValueError(f"trial {k} needs the keys visit, condition, analysis and date or weeks; "
                             f"it lacks {missing or ['date or weeks']}")  # fmt: skip
        if dated is None:
            dated = "date" in trial
        elif dated != ("date" in trial):
            raise ValueError("give every trial a date, or every trial weeks, not a mix")
        analysis = trial["analysis"]
        if getattr(analysis, "attrs", {}).get("plantar_schema") not in (SCHEMA_ANALYSIS, SCHEMA_ANALYSIS_1):
            raise ValueError(f"trial {k}: analysis must come from plantar.analyze()")
        when = _date(trial["date"]) if dated else float(trial["weeks"])
        rows.append(_summarise(analysis, complete_only).assign(
            trial=k, visit=trial["visit"], when=when, condition=str(trial["condition"])))  # fmt: skip
    table = pd.concat(rows, ignore_index=True)
    first = table["when"].min()
    if dated:
        table["date"] = table["when"]
        table["weeks"] = [(d - first).days / 7.0 for d in table["when"]]
    else:
        table["date"] = None
        table["weeks"] = table["when"] - first
    return table.drop(columns="when")


def _date(value):
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    return datetime.date.fromisoformat(str(value))


def _summarise(analysis, complete_only):
    side = analysis["side"].values
    used = analysis["complete"].values.astype(bool) if complete_only else np.ones(side.size, bool)
    region_names = [str(r) for r in analysis["region"].values]
    columns = {"side": [], "region": [], "metric": [], "units": [], "trial_mean": [], "step_var": [], "n": []}
    for name in (*REGION_METRICS, *SPATIOTEMPORAL):
        if name not in analysis:
            continue
        values = analysis[name].values.astype(float).reshape(side.size, -1)  # (step, region) or (step, 1)
        names = region_names if name in STEP_REGION_METRICS else [""]
        for s in SIDES:
            x = np.where((used & (side == s))[:, None], values, np.nan)
            n = np.isfinite(x).sum(axis=0)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = np.nansum(x, axis=0) / n
                var = np.nansum((x - mean) ** 2, axis=0) / (n - 1)
            columns["side"] += [s] * len(names)
            columns["region"] += names
            columns["metric"] += [name] * len(names)
            columns["units"] += [analysis[name].attrs.get("units", "")] * len(names)
            columns["trial_mean"].append(np.where(n > 0, mean, np.nan))
            columns["step_var"].append(np.where(n >= 2, var, np.nan))
            columns["n"].append(n)
    for name, units in TRIAL_PARAMETERS.items():  # one value per trial, both feet: no step-to-step variance
        value = float(analysis.attrs.get(name, np.nan))
        for key, item in (("side", "both"), ("region", ""), ("metric", name), ("units", units)):
            columns[key].append(item)
        columns["trial_mean"].append(np.array([value]))
        columns["step_var"].append(np.array([np.nan]))
        columns["n"].append(np.array([int(np.isfinite(value))]))
    for key in ("trial_mean", "step_var", "n"):
        columns[key] = np.concatenate(columns[key])
    table = pd.DataFrame(columns)
    # The whole foot's relative load is 100 % by definition: nothing to follow.
    return table[~((table["metric"] == "relative_load") & (table["region"] == "total"))]


# --------------------------------------------------------------------------------------------------------------
# per visit: the mean of the trials; the error of measurement


_KEYS = ["condition", "side", "region", "metric"]


def _visit_table(records):
    valid = records[records["n"] > 0]
    grouped = valid.groupby(["visit", *_KEYS], sort=False, dropna=False)
    visits = grouped.agg(date=("date", "first"), weeks=("weeks", "first"), units=("units", "first"),
                         trials=("trial_mean", "size"), steps=("n", "sum"),
                         mean=("trial_mean", "mean")).reset_index()  # fmt: skip
    # Every visit/condition/side/region/metric with no data still gets a row, so the timeline is whole.
    every = records[["visit", "date", "weeks", *_KEYS, "units"]].drop_duplicates(["visit", *_KEYS])
    visits = every.merge(visits.drop(columns=["date", "weeks", "units"]), on=["visit", *_KEYS], how="left")
    visits["trials"] = visits["trials"].fillna(0).astype(int)
    visits["steps"] = visits["steps"].fillna(0).astype(int)
    return visits.sort_values(["weeks", "visit"], kind="stable").reset_index(drop=True)


def _errors(visits, records):
    """Add sem, se, error_df and error_source per condition, side, region and metric (see the module's text)."""
    valid = records[records["n"] > 0].copy()
    by_visit = valid.groupby(["visit", *_KEYS], dropna=False)
    valid["visit_mean"] = by_visit["trial_mean"].transform("mean")
    valid["visit_trials"] = by_visit["trial_mean"].transform("size")
    valid["dev2"] = (valid["trial_mean"] - valid["visit_mean"]) ** 2
    valid["inv_n"] = 1.0 / valid["n"]
    valid["step_df"] = (valid["n"] - 1).where(np.isfinite(valid["step_var"]), 0)
    valid["step_ss"] = (valid["step_var"] * valid["step_df"]).fillna(0.0)
    # Under the model, E[sum of squared deviations of a visit's trials] = phi s^2 (1 - 1/m) sum(1/n_j).
    valid["expected"] = (1.0 - 1.0 / valid["visit_trials"]) * valid["inv_n"]
    repeated = valid[valid["visit_trials"] >= 2]
    group = valid.groupby(_KEYS, dropna=False).agg(step_ss=("step_ss", "sum"), step_df=("step_df", "sum"),
                                                   inv_n=("inv_n", "mean")).reset_index()  # fmt: skip
    between = repeated.groupby(_KEYS, dropna=False).agg(ss=("dev2", "sum"), trials=("dev2", "size"),
                                                        visits=("visit", "nunique"),
                                                        expected=("expected", "sum")).reset_index()  # fmt: skip
    between["df"] = between["trials"] - between["visits"]
    error = between.merge(group, on=_KEYS, how="left")
    with np.errstate(invalid="ignore", divide="ignore"):
        error["step_var"] = error["step_ss"] / error["step_df"]  # pooled step-to-step variance
        ratio = error["ss"] / error["step_var"]  # ~ phi x chi-square(df), phi = between-trial inflation
    # How much more the trials scatter than their steps predict, pooled over every measure of the condition.
    usable = np.isfinite(ratio) & (error["step_var"] > 0) & (error["step_df"] > 0) & (error["df"] > 0)
    pooled = error[usable].assign(ratio=ratio[usable]).groupby("condition").agg(
        ratio=("ratio", "sum"), expected=("expected", "sum"), measures=("df", "size"))  # fmt: skip
    inflation = (pooled["ratio"] / pooled["expected"]).clip(lower=1.0)
    error["inflation"] = error["condition"].map(inflation).astype(float)
    error["measures"] = error["condition"].map(pooled["measures"]).astype(float)
    modelled = (np.isfinite(error["step_var"]) & (error["step_var"] > 0) & (error["step_df"] > 0)
                & np.isfinite(error["inflation"]))  # fmt: skip
    with np.errstate(invalid="ignore", divide="ignore"):
        own = error["ss"] / error["df"]
    error["unit_var"] = np.where(modelled, error["inflation"] * error["step_var"], np.nan)  # per step
    error["sem"] = np.sqrt(np.where(modelled, error["unit_var"] * error["inv_n"], own).astype(float))
    error["error_df"] = np.where(modelled, error["step_df"], error["df"]).astype(float)
    error["error_source"] = [
        f"the patient's repeated trials ({int(v)} visits with 2+ trials of {c}; trials scatter {i:.2f} x as much "
        f"as their steps predict, pooled over {int(m)} measures; step variance df {int(d)})" if p else
        f"the patient's repeated trials ({int(v)} visits with 2+ trials of {c}, df {int(d)})"
        for v, c, i, m, d, p in zip(error["visits"], error["condition"], error["inflation"], error["measures"],
                                    error["error_df"], modelled)
    ]  # fmt: skip
    visits = visits.merge(error[[*_KEYS, "sem", "unit_var", "error_df", "error_source"]], on=_KEYS, how="left")
    visits = visits.astype({"sem": float, "unit_var": float, "error_df": float, "error_source": object})
    inv_n = by_visit["inv_n"].sum().rename("sum_inv_n").reset_index()
    visits = visits.merge(inv_n, on=["visit", *_KEYS], how="left")
    visits["published"] = visits["sem"].isna()
    first = visits[visits["trials"] > 0].groupby(_KEYS, dropna=False)["mean"].first().rename("first_mean")
    visits = visits.merge(first.reset_index(), on=_KEYS, how="left")
    cv, source = _published(visits["metric"], visits["region"])
    published = visits["published"].to_numpy()
    visits.loc[published, "sem"] = (cv / 100.0 * visits["first_mean"].abs())[published]
    visits.loc[published, "error_df"] = np.inf
    visits.loc[published, "error_source"] = np.where(np.isfinite(cv), "published: " + source, "none")[published]
    trials = visits["trials"].where(visits["trials"] > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        se_model = np.sqrt(visits["unit_var"] * visits["sum_inv_n"]) / trials  # var(mean of m) = sum(var_j) / m^2
        se_own = visits["sem"] / np.sqrt(trials)
    se = np.where(np.isfinite(visits["unit_var"]), se_model, se_own)
    visits["se"] = np.where(published, visits["sem"].where(visits["trials"] > 0), se)
    return visits


def _published(metric, region):
    """The published CV (%) and its source for each metric and region (NaN and "" where there is none)."""
    metric, region = np.asarray(metric), np.asarray(region)
    cv = np.full(metric.size, np.nan)
    source = np.full(metric.size, "", dtype=object)
    for name, regions, value, text in PUBLISHED_ERROR:
        hit = np.isnan(cv) & (metric == name)
        if regions != "*":
            hit &= np.isin(region, regions)
        cv[hit] = value
        source[hit] = text
    return cv, source


# --------------------------------------------------------------------------------------------------------------
# changes, verdicts, trend


def _quantile(q, df):
    """Student's t quantile at ``q`` with ``df`` degrees of freedom (the normal's where df is infinite)."""
    from scipy.special import ndtri, stdtrit  # not scipy.stats: its import alone takes seconds

    df = np.asarray(df, dtype=float)
    return np.where(np.isfinite(df), stdtrit(np.where(df >= 1, df, 1.0), q), ndtri(q))


def _changes(visits, against, confidence, family):
    visits = visits.copy()
    has = (visits["trials"] > 0) & np.isfinite(visits["mean"])
    keys = [visits[k] for k in _KEYS]
    position = has.astype(int).groupby(keys, dropna=False).cumsum()  # 1 at the first visit with data, ...
    row = pd.Series(visits.index, index=visits.index)
    if against == "first":
        first = row.where(has & (position == 1)).groupby(keys, dropna=False).transform("max")
        ref = first
    else:
        ref = row.where(has).groupby(keys, dropna=False).shift(1)
        ref = ref.groupby(keys, dropna=False).ffill()
    compared = has & (position >= 2) & ref.notna()
    ref_index = ref.where(compared).fillna(-1).astype(int).to_numpy()
    lookup = np.where(ref_index >= 0, ref_index, 0)
    ref_mean = np.where(ref_index >= 0, visits["mean"].to_numpy()[lookup], np.nan)
    ref_se = np.where(ref_index >= 0, visits["se"].to_numpy()[lookup], np.nan)
    change = np.where(compared, visits["mean"].to_numpy() - ref_mean, np.nan)
    se_change = np.sqrt(visits["se"].to_numpy() ** 2 + ref_se**2)
    q = _quantile(0.5 + confidence / 2.0, visits["error_df"])
    k = int(np.isfinite(change).sum())
    q_family = _quantile(1.0 - (1.0 - confidence) / (2.0 * max(family or k, 1)), visits["error_df"])
    mdc = np.where(np.isfinite(change), q * se_change, np.nan)
    threshold = np.where(np.isfinite(change), q_family * se_change, np.nan)
    visits[f"change_{against}"] = change
    visits[f"change_{against}_low"] = change - mdc
    visits[f"change_{against}_high"] = change + mdc
    visits[f"mdc_{against}"] = mdc
    visits[f"threshold_{against}"] = threshold
    with np.errstate(invalid="ignore"):
        verdict = np.where(np.abs(change) > threshold, VERDICTS[0], VERDICTS[1])
    verdict = np.where(np.isfinite(change) & ~np.isfinite(threshold), VERDICTS[2], verdict)
    # No change to judge: the reference visit itself (""), or no data at this visit or before it.
    verdict = np.where(np.isfinite(change), verdict, np.where(has & (position == 1), "", VERDICTS[3]))
    visits[f"verdict_{against}"] = verdict
    if against == "first":
        q_visit = _quantile(0.5 + confidence / 2.0, visits["error_df"])
        visits["ci_low"] = visits["mean"] - q_visit * visits["se"]
        visits["ci_high"] = visits["mean"] + q_visit * visits["se"]
    return visits, k


def _trend(visits, confidence):
    rows = []
    for keys, group in visits[visits["trials"] > 0].groupby(_KEYS, dropna=False, sort=False):
        group = group[np.isfinite(group["mean"])]
        if group["visit"].nunique() < 3:
            continue
        x, y, se = group["weeks"].to_numpy(float), group["mean"].to_numpy(float), group["se"].to_numpy(float)
        if np.all(np.isfinite(se) & (se > 0)):
            w = 1.0 / se**2
        else:
            w = np.ones_like(x)
        xm = np.sum(w * x) / np.sum(w)
        sxx = np.sum(w * (x - xm) ** 2)
        if sxx <= 0:
            continue
        slope = np.sum(w * (x - xm) * (y - np.sum(w * y) / np.sum(w))) / sxx
        if np.all(np.isfinite(se) & (se > 0)):
            se_slope, df = np.sqrt(1.0 / sxx), group["error_df"].iloc[0]
        else:  # no error estimate: the scatter about the line
            resid = y - (np.sum(w * y) / np.sum(w) + slope * (x - xm))
            df = x.size - 2
            se_slope = np.sqrt(np.sum(resid**2) / df / sxx)
        q = float(_quantile(0.5 + confidence / 2.0, df))
        rows.append({**dict(zip(_KEYS, keys)), "units": group["units"].iloc[0], "visits": int(x.size),
                     "slope_per_week": slope, "slope_low": slope - q * se_slope, "slope_high": slope + q * se_slope,
                     "error_source": group["error_source"].iloc[0]})  # fmt: skip
    return pd.DataFrame(rows, columns=list(TREND_COLUMNS))
