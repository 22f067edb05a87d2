"""The follow-up report: a patient's loading over visits, from :func:`plantar.followup`."""

import numpy as np
import pandas as pd

from ..followup import SIDES, VERDICTS, FollowupResult
from ..utils import fill_doc, logger, verbose
from ._report import Report, _paths, check_paths

#: Metrics the report's figures and tables show, in this order (every metric is in the CSV and JSON).
SHOWN_METRICS = ("peak_pressure", "relative_load", "force_time_integral", "contact_time")
_METRIC_TITLES = {"peak_pressure": "peak pressure", "relative_load": "relative load",
                  "force_time_integral": "force-time integral", "contact_time": "contact time"}  # fmt: skip
#: Statistics of each visit row written to the CSV and JSON.
_STATISTICS = ("mean", "ci_low", "ci_high", "se", "sem", "trials", "steps", "weeks", "change_first",
               "change_first_low", "change_first_high", "mdc_first", "threshold_first", "change_previous",
               "change_previous_low", "change_previous_high", "mdc_previous", "threshold_previous")  # fmt: skip
_UNITLESS = {"trials": "1", "steps": "1", "weeks": "week", "beyond_first": "1", "beyond_previous": "1"}


@fill_doc
@verbose
def write_followup_report(result, fname, *, subject, concern=None, title=None, meta=None, overwrite=False,
                          verbose=None):  # fmt: skip
    """Write the follow-up report of one patient: HTML, CSV and JSON.

    The report has a header (the subject as given: a patient code for an
    anonymous report), a plain-language summary of the changes beyond
    measurement error, the timeline (weeks since the first visit, with a note
    for a follow-up too early for structural change), the regions of concern
    over time (visit means with their confidence intervals, and the band of
    measurement error around the first visit), the verdicts, the conditions
    compared at each visit, and the trends per week. Every number of
    ``result`` is in the CSV and JSON.

    Parameters
    ----------
    result : plantar.FollowupResult
        From :func:`plantar.followup`.
    fname : str | pathlib.Path
        The HTML file; ``.csv`` and ``.json`` are written beside it.
    subject : str
        Who the report is of, as shown in its header (e.g. the patient's code).
    concern : sequence of (str, str) | None
        ``(side, region)`` pairs to show over time; default: every side and
        region with a change beyond measurement error, else the region with the
        highest peak pressure of each side at the first visit.
    title : str | None
        Page title; default "Follow-up: SUBJECT".
    meta : dict | None
        More header fields (e.g. ``{"Visits": "3"}``).
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
    >>> from plantar.report import write_followup_report
    >>> visits = plantar.synth.visits(seed=3, weeks=(0, 2), trials_per_visit=1, mat_length_mm=1200)
    >>> records = [{"visit": k + 1, "weeks": v["weeks"], "condition": "barefoot",
    ...             "analysis": plantar.analyze(t, verbose="error")}
    ...            for k, v in enumerate(visits) for t in v["trials"]]
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "followup.html"
    >>> sorted(write_followup_report(plantar.followup(records), out, subject="P001", verbose="error"))
    ['csv', 'html', 'json']
    """
    if not isinstance(result, FollowupResult):
        raise TypeError(f"result must come from plantar.followup(), got {type(result).__name__}")
    check_paths(_paths(fname).values(), overwrite=overwrite)
    visits = result.visits
    report = Report(title=title or f"Follow-up: {subject}", subject=subject)
    timeline = visits.drop_duplicates("visit")[["visit", "date", "weeks", "note"]]
    report.meta["Visits"] = str(len(timeline))
    report.meta["Conditions"] = ", ".join(dict.fromkeys(visits["condition"]))
    report.meta.update({str(k): str(v) for k, v in (meta or {}).items()})
    pairs = _concern(visits, concern)

    report.summary.extend(_summary(result, pairs))
    for note in result.notes:
        report.add_note(note)
    report.add_table(_timeline_table(visits, timeline), "Visits", section="Timeline",
                     caption="Weeks since the first visit; tissue adapts over 4-12 weeks, so a follow-up within "
                             "4 weeks cannot show structural change yet.")  # fmt: skip
    sources = visits.drop_duplicates("error_source")["error_source"].tolist()
    report.add_html("<ul>" + "".join(f"<li>{_esc(s)}</li>" for s in sources) + "</ul>"
                    f"<p>A change is beyond measurement error when it exceeds the minimal detectable change at "
                    f"{100 * result.confidence:g} % family-wise (Bonferroni over {result.comparisons['first']} "
                    f"changes since the first visit and {result.comparisons['previous']} since the previous "
                    "one).</p>", "Measurement error used", section="Timeline")  # fmt: skip
    for side, region in pairs:
        report.add_figure(_figure(visits, side, region), f"{side} {region}", section="Regions of concern over time",
                          caption="Visit means with their confidence intervals per condition; the band is the "
                                  "first visit's mean plus or minus the change needed to be beyond measurement "
                                  "error.")  # fmt: skip
    changes, flags = _verdict_table(visits, pairs)
    report.add_table(changes, "Changes", section="Verdicts", flags=flags,
                     caption="Change since the first and since the previous visit, with its confidence interval; "
                             "flagged: beyond measurement error.")  # fmt: skip
    report.add_table(_conditions_table(visits, pairs), "Visit means by condition", section="Conditions at each visit",
                     caption="Visit mean of each condition, for the regions of concern.")  # fmt: skip
    if not result.trend.empty:
        trend = result.trend[result.trend["metric"].isin(SHOWN_METRICS)]
        trend = trend[[(s, r) in pairs for s, r in zip(trend["side"], trend["region"])]]
        table = pd.DataFrame({"condition": trend["condition"], "side": trend["side"], "region": trend["region"],
                              "metric": [_METRIC_TITLES.get(m, m) for m in trend["metric"]],
                              "slope per week": [f"{s:.3g} {u}/week [{lo:.3g}, {hi:.3g}]" for s, u, lo, hi in
                                                 zip(trend["slope_per_week"], trend["units"], trend["slope_low"],
                                                     trend["slope_high"])]}).set_index("condition")  # fmt: skip
        report.add_table(table, "Trend per week", section="Trend",
                         caption=f"Weighted least-squares slope over the visits, {100 * result.confidence:g} % "
                                 "confidence interval.")  # fmt: skip
        report.add_numbers(_long(result.trend, ("visits", "slope_per_week", "slope_low", "slope_high"), "trend"),
                           table="trend")  # fmt: skip
    judged = {f"beyond_{a}": np.where(visits[f"verdict_{a}"] == VERDICTS[0], 1.0,
                                      np.where(visits[f"verdict_{a}"] == VERDICTS[1], 0.0, np.nan))
              for a in ("first", "previous")}  # 1 = beyond measurement error, 0 = within, empty = not judged
    report.add_numbers(_long(visits.assign(**judged), (*_STATISTICS, *judged), "visits"), table="visits")
    logger.info("follow-up report of %s: %d visits, %d regions of concern", subject, len(timeline), len(pairs))
    return report.save(fname, overwrite=overwrite)


def _esc(text):
    from ._html import esc

    return esc(text)


def _concern(visits, concern):
    if concern is not None:
        return [(str(s), str(r)) for s, r in concern]
    changed = visits[(visits["verdict_first"] == VERDICTS[0]) | (visits["verdict_previous"] == VERDICTS[0])]
    pairs = list(dict.fromkeys((s, r) for s, r in zip(changed["side"], changed["region"]) if r))
    if pairs:
        return pairs
    first = visits[(visits["weeks"] == 0) & (visits["metric"] == "peak_pressure") & (visits["region"] != "total")]
    for side in SIDES:
        rows = first[first["side"] == side].dropna(subset=["mean"])
        if not rows.empty:
            pairs.append((side, str(rows.loc[rows["mean"].idxmax(), "region"])))
    return pairs


def _summary(result, pairs):
    visits = result.visits
    last = visits[visits["weeks"] == visits["weeks"].max()]
    lines = []
    changed = last[last["verdict_first"] == VERDICTS[0]]
    weeks = float(visits["weeks"].max())
    if visits["visit"].nunique() < 2:
        return ["Only one visit: nothing to follow yet."]
    if changed.empty:
        lines.append(f"At the last visit ({weeks:.1f} weeks after the first), no region's loading has changed "
                     "beyond measurement error since the first visit.")  # fmt: skip
    for row in changed.itertuples():
        where = f"{row.side} {row.region}".strip()
        direction = "up" if row.change_first > 0 else "down"
        lines.append(f"{row.condition}, {where}, {_METRIC_TITLES.get(row.metric, row.metric.replace('_', ' '))}: "
                     f"{direction} {abs(row.change_first):.3g} {row.units} since the first visit "
                     f"({weeks:.1f} weeks), beyond measurement error.")  # fmt: skip
    return lines


def _timeline_table(visits, timeline):
    counts = visits[visits["trials"] > 0].groupby("visit")
    conditions = counts["condition"].agg(lambda c: ", ".join(dict.fromkeys(c)))
    trials = visits[visits["trials"] > 0].drop_duplicates(["visit", "condition"]).groupby("visit")["trials"].sum()
    return pd.DataFrame({
        "visit": timeline["visit"].astype(str),
        "date": [str(d) if d is not None and d == d else "" for d in timeline["date"]],
        "weeks": [f"{w:.1f}" for w in timeline["weeks"]],
        "conditions": [conditions.get(v, "") for v in timeline["visit"]],
        "trials": [int(trials.get(v, 0)) for v in timeline["visit"]],
        "note": timeline["note"],
    }).set_index("visit")  # fmt: skip


def _figure(visits, side, region):
    from ..viz._common import SIDE_COLOURS, new_figure, plain_axes_layout, set_layout

    shown = [m for m in SHOWN_METRICS if ((visits["side"] == side) & (visits["region"] == region)
                                          & (visits["metric"] == m)).any()]  # fmt: skip
    fig = new_figure(rows=1, cols=max(len(shown), 1), subplot_titles=[_METRIC_TITLES[m] for m in shown] or None,
                     horizontal_spacing=0.07)  # fmt: skip
    palette = ["#000000", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442"]
    conditions = list(dict.fromkeys(visits["condition"]))
    layout = {}
    for col, metric in enumerate(shown, start=1):
        rows = visits[(visits["side"] == side) & (visits["region"] == region) & (visits["metric"] == metric)]
        units = rows["units"].iloc[0]
        for k, condition in enumerate(conditions):
            own = rows[(rows["condition"] == condition) & (rows["trials"] > 0)]
            if own.empty:
                continue
            colour = SIDE_COLOURS[side] if len(conditions) == 1 else palette[k % len(palette)]
            band = own["threshold_first"].fillna(own["threshold_first"].min())
            first = float(own["mean"].iloc[0])
            if np.isfinite(band).any():
                x = own["weeks"].tolist()
                fig.add_scatter(x=x + x[::-1], y=(first + band).tolist() + (first - band).tolist()[::-1],
                                mode="lines", fill="toself", fillcolor="rgba(120,120,120,0.15)", line=dict(width=0),
                                hoverinfo="skip", showlegend=False, row=1, col=col)  # fmt: skip
            fig.add_scatter(x=own["weeks"], y=own["mean"], mode="lines+markers", name=condition,
                            legendgroup=condition, showlegend=col == 1, line=dict(color=colour),
                            error_y=dict(type="data", symmetric=False, array=own["ci_high"] - own["mean"],
                                         arrayminus=own["mean"] - own["ci_low"]),
                            hovertemplate="week %{x:.1f}: %{y:.3g} " + units + "<extra>" + condition + "</extra>",
                            row=1, col=col)  # fmt: skip
        layout.update(plain_axes_layout(fig, x_title="weeks since the first visit", y_title=units, row=1, col=col))
    layout.update(height=330, margin=dict(l=60, r=30, t=40, b=50))
    set_layout(fig, layout)
    return fig


def _verdict_table(visits, pairs):
    rows = visits[(visits["weeks"] > 0) & visits["metric"].isin(SHOWN_METRICS)
                  & pd.Series([(s, r) in pairs for s, r in zip(visits["side"], visits["region"])],
                              index=visits.index)]  # fmt: skip
    rows = rows[rows["verdict_first"] != VERDICTS[3]]

    def interval(change, low, high):
        return [f"{c:+.3g} [{lo:+.3g}, {hi:+.3g}]" if c == c else "" for c, lo, hi in zip(change, low, high)]

    table = pd.DataFrame({
        "visit": rows["visit"].astype(str), "weeks": [f"{w:.1f}" for w in rows["weeks"]],
        "condition": rows["condition"], "side": rows["side"], "region": rows["region"],
        "metric": [_METRIC_TITLES.get(m, m) for m in rows["metric"]], "units": rows["units"],
        "change since first": interval(rows["change_first"], rows["change_first_low"], rows["change_first_high"]),
        "verdict (first)": rows["verdict_first"],
        "change since previous": interval(rows["change_previous"], rows["change_previous_low"],
                                          rows["change_previous_high"]),
        "verdict (previous)": rows["verdict_previous"],
    }).set_index("visit")  # fmt: skip
    flags = np.zeros(table.shape, bool)
    for name in ("verdict (first)", "verdict (previous)"):
        flags[:, table.columns.get_loc(name)] = (table[name] == VERDICTS[0]).to_numpy()
    return table, flags


def _conditions_table(visits, pairs):
    rows = visits[visits["metric"].isin(SHOWN_METRICS) & (visits["trials"] > 0)
                  & pd.Series([(s, r) in pairs for s, r in zip(visits["side"], visits["region"])],
                              index=visits.index)]  # fmt: skip
    if rows.empty:
        return pd.DataFrame({"": ["no data"]})
    rows = rows.assign(cell=[f"{m:.3g} [{lo:.3g}, {hi:.3g}]" for m, lo, hi in
                             zip(rows["mean"], rows["ci_low"], rows["ci_high"])],
                       where=[f"{s} {r} {_METRIC_TITLES[m]} ({u})" for s, r, m, u in
                              zip(rows["side"], rows["region"], rows["metric"], rows["units"])],
                       at=[f"visit {v} (week {w:.1f})" for v, w in zip(rows["visit"], rows["weeks"])])  # fmt: skip
    table = rows.pivot_table(index=["at", "where"], columns="condition", values="cell", aggfunc="first", sort=False)
    table.index = [f"{a}: {w}" for a, w in table.index]
    return table.fillna("")


def _long(frame, statistics, kind):
    """The table's numbers, one per row, in the report's columns (the visit and its date in ``step``/``statistic``)."""
    parts = []
    for name in statistics:
        if name not in frame:
            continue
        units = frame["units"] if name not in _UNITLESS and name not in ("visits",) else _UNITLESS.get(name, "1")
        prefix = (("visit " + frame["visit"].astype(str) + ": ") if "visit" in frame else "")
        parts.append(pd.DataFrame({"condition": frame["condition"], "side": frame["side"], "region": frame["region"],
                                   "metric": frame["metric"], "statistic": prefix + name, "value": frame[name],
                                   "units": units}))  # fmt: skip
    return pd.concat(parts, ignore_index=True)
