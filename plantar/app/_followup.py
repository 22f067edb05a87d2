"""The patient page's follow-up: :meth:`plantar.clinic.Clinic.followup` as interactive charts.

Per metric and region (chosen in the page), the visit means with their
confidence intervals over weeks, per condition and side, and whether each
change since the first visit is beyond measurement error, as
:func:`plantar.followup` decides it. Labels go into the page as Dash text.
"""

import functools
import threading

import numpy as np

from ..viz._common import REGION_TITLES

#: Colours of the conditions in the follow-up chart, in order of first appearance.
CONDITION_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
#: Marker of each side in the follow-up chart.
SIDE_SYMBOLS = {"left": "circle", "right": "square", "both": "diamond"}
_METRIC_WORDS = {"peak_pressure": "peak pressure", "force_time_integral": "force-time integral",
                 "relative_load": "relative load", "contact_time": "contact time", "stance_time": "stance time",
                 "double_support_time": "double support time", "step_length": "step length",
                 "step_width": "step width", "stride_length": "stride length", "foot_angle": "foot angle",
                 "cadence_steps_per_min": "cadence", "walking_speed_m_s": "walking speed"}  # fmt: skip
BEYOND = "beyond measurement error"


class Followups:
    """A patient's follow-up, computed once per set of trials and kept.

    Parameters
    ----------
    clinic : plantar.clinic.Clinic
        The clinic.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import plantar
    >>> from plantar.clinic import Clinic
    >>> from plantar.app._followup import Followups
    >>> clinic = Clinic.init(Path(tempfile.mkdtemp()) / "clinic")
    >>> _ = clinic.add_patient("P001")
    >>> for date in ("2024-03-01", "2024-04-12"):
    ...     visit = clinic.add_visit("P001", date=date)
    ...     walk, _ = plantar.synth.walk(seed=visit, passes=1, mat_length_mm=1200)
    ...     _ = clinic.add_trial(walk, visit=visit, kind="barefoot")
    >>> sorted(set(Followups(clinic).of("P001").visits["weeks"]))
    [0.0, 6.0]
    >>> clinic.close()
    """

    def __init__(self, clinic):
        self.clinic = clinic
        self._results = {}  # (code, uids) -> FollowupResult
        self._lock = threading.Lock()

    def of(self, code):
        """The patient's :class:`plantar.FollowupResult`, or None without trials."""
        table = self.clinic.trials(patient=code)
        if table.empty:
            return None
        key = (code, tuple(table["uid"]))
        with self._lock:
            if key in self._results:
                return self._results[key]
        result = self.clinic.followup(code)
        with self._lock:
            self._results[key] = result
        return result


def followup_section(code):
    """The follow-up part of a patient page (Dash components), filled by :func:`register`'s callback."""
    from dash import dcc, html

    metrics = [{"label": words, "value": name} for name, words in _METRIC_WORDS.items()]
    return html.Div([
        dcc.Store(id="followup-code", data=code),
        html.H2("Follow-up", id="followup"),
        html.P("Each visit's mean with its 95 % confidence interval, per condition and side; a filled red outline "
               "marks a change since the first visit beyond measurement error.", style={"margin": "0"}),
        html.Div([
            html.Label(["metric ", dcc.Dropdown(id="followup-metric", options=metrics, value="peak_pressure",
                                                clearable=False, style={"width": "16em"})],
                       style={"display": "inline-block", "marginRight": "1em"}),
            html.Label(["region ", dcc.Dropdown(id="followup-region", value="total", clearable=False,
                                                style={"width": "16em"})], style={"display": "inline-block"}),
        ], style={"margin": "0.5em 0"}),
        dcc.Loading(html.Div(id="followup-body"), type="dot"),
    ])  # fmt: skip


def register(app, clinic, followups):
    """Add the follow-up's callbacks to the app.

    Parameters
    ----------
    app : dash.Dash
        The app (its patient page holds :func:`followup_section`).
    clinic : plantar.clinic.Clinic
        The clinic.
    followups : Followups
        The follow-ups, kept between requests.
    """
    from dash import Input, Output, State, dcc, html, no_update

    @app.callback(Output("followup-region", "options"), Output("followup-region", "value"),
                  Input("followup-metric", "value"), State("followup-region", "value"),
                  State("followup-code", "data"))  # fmt: skip
    def regions(metric, region, code):
        result = followups.of(code) if code else None
        if result is None:
            return [], None
        rows = result.visits[result.visits["metric"] == metric]
        names = list(dict.fromkeys(rows["region"].tolist()))
        options = [{"label": REGION_TITLES.get(r, r) if r else "(whole walk)", "value": r} for r in names]
        return options, region if region in names else (names[0] if names else None)

    @app.callback(Output("followup-body", "children"), Input("followup-metric", "value"),
                  Input("followup-region", "value"), State("followup-code", "data"))  # fmt: skip
    def body(metric, region, code):
        if not code:
            return no_update
        try:
            result = followups.of(code)
        except (ValueError, OSError) as exc:
            return html.P(f"No follow-up: {(str(exc).strip().splitlines() or [type(exc).__name__])[0]}",
                          className="error")  # fmt: skip
        if result is None:
            return html.P("No trial yet: the follow-up appears once visits have conditions recorded.")
        if region is None:
            return no_update
        rows = result.visits[(result.visits["metric"] == metric) & (result.visits["region"] == region)]
        visits = result.visits["visit"].nunique()
        notes = list(result.notes)
        if visits < 2:
            notes.insert(0, "One visit so far: the follow-up compares visits once there is a second.")
        return html.Div([
            dcc.Graph(id="followup-chart", figure=followup_figure(rows, metric, region),
                      config={"displayModeBar": False}, style={"height": "460px", "maxWidth": "1000px"}),
            html.Ul([html.Li(n) for n in notes], className="notes") if notes else "",
            followup_table(rows),
        ])  # fmt: skip


def followup_figure(rows, metric, region):
    """The visit means with their confidence intervals over weeks, a trace per condition and side (a figure dict).

    Parameters
    ----------
    rows : pandas.DataFrame
        Rows of :attr:`plantar.FollowupResult.visits` of one metric and region.
    metric, region : str
        What the rows are of (for the title).

    Returns
    -------
    figure : dict
        A plotly figure: x weeks since the first visit, y the visit mean, error
        bars the confidence interval; points whose change since the first visit
        is beyond measurement error drawn large with a red outline.

    Examples
    --------
    >>> import pandas as pd
    >>> from plantar.app._followup import followup_figure
    >>> rows = pd.DataFrame({"condition": ["barefoot"] * 2, "side": ["left"] * 2, "weeks": [0.0, 6.0],
    ...                      "mean": [300.0, 250.0], "ci_low": [280.0, 240.0], "ci_high": [320.0, 260.0],
    ...                      "units": ["kPa"] * 2, "date": ["2024-03-01", "2024-04-12"],
    ...                      "verdict_first": ["", "beyond measurement error"], "change_first": [float("nan"), -50.0]})
    >>> fig = followup_figure(rows, "peak_pressure", "heel")
    >>> fig["data"][0]["name"], fig["data"][0]["marker"]["line"]["color"]
    ('barefoot, left', ['rgba(0,0,0,0)', '#b00'])
    """
    conditions = list(dict.fromkeys(rows["condition"].tolist()))
    colours = {c: CONDITION_COLOURS[k % len(CONDITION_COLOURS)] for k, c in enumerate(conditions)}
    data = []
    for (condition, side), group in rows.groupby(["condition", "side"], sort=False):
        group = group.sort_values("weeks")
        mean = group["mean"].to_numpy(float)
        beyond = (group["verdict_first"] == BEYOND).to_numpy()
        text = [f"{condition}, {side}: {m:.4g} [{lo:.4g}, {hi:.4g}] {u}<br>{d}; "
                + (v if v else "first visit") for m, lo, hi, u, d, v in
                zip(mean, group["ci_low"], group["ci_high"], group["units"], group["date"].astype(str),
                    group["verdict_first"])]  # fmt: skip
        data.append({
            "type": "scatter", "mode": "lines+markers", "name": f"{condition}, {side}",
            "x": group["weeks"].round(2).tolist(), "y": _finite(mean),
            "error_y": {"type": "data", "symmetric": False, "array": _finite(group["ci_high"].to_numpy(float) - mean),
                        "arrayminus": _finite(mean - group["ci_low"].to_numpy(float)), "thickness": 1.5},
            "line": {"color": colours[condition], "dash": "solid" if side != "right" else "dot"},
            "marker": {"symbol": SIDE_SYMBOLS.get(side, "circle"), "size": [14 if b else 8 for b in beyond],
                       "color": colours[condition],
                       "line": {"width": 3, "color": ["#b00" if b else "rgba(0,0,0,0)" for b in beyond]}},
            "text": text, "hovertemplate": "%{text}<extra></extra>",
        })  # fmt: skip
    units = str(rows["units"].iloc[0]) if len(rows) else ""
    where = REGION_TITLES.get(region, region) if region else "whole walk"
    return {"data": data, "layout": {
        "title": {"text": f"{_METRIC_WORDS.get(metric, metric)}, {where}" + (f" ({units})" if units else "")},
        "xaxis": {"title": {"text": "weeks since the first visit"}, "zeroline": False},
        "yaxis": {"title": {"text": units}}, "margin": {"l": 60, "r": 10, "t": 50, "b": 50},
        "legend": {"orientation": "h", "y": -0.2}, "hovermode": "closest"}}  # fmt: skip


def followup_table(rows):
    """The rows as a table: visit, condition, side, mean [CI], change since the first and previous visit, verdicts."""
    from dash import html

    header = html.Tr([html.Th(h) for h in ("date", "weeks", "condition", "side", "trials", "steps", "mean [95 % CI]",
                                            "change since first [CI]", "verdict", "change since previous",
                                            "verdict")])  # fmt: skip
    body = []
    for r in rows.sort_values(["condition", "side", "weeks"]).itertuples():
        beyond = {"color": "#b00", "fontWeight": "bold"}
        _fmt = functools.partial(_fixed, decimals=_decimals(r.mean))  # one precision per row: its mean's
        body.append(html.Tr([
            _td(str(r.date)), _td(f"{r.weeks:.1f}"), _td(str(r.condition)), _td(str(r.side)),
            _td(str(r.trials)), _td(str(r.steps)),
            _td(f"{_fmt(r.mean)} [{_fmt(r.ci_low)}, {_fmt(r.ci_high)}]"),
            _td(f"{_fmt(r.change_first)} [{_fmt(r.change_first_low)}, {_fmt(r.change_first_high)}]"
                    if np.isfinite(r.change_first) else ""),
            _td(str(r.verdict_first), className="beyond" if r.verdict_first == BEYOND else None,
                style=beyond if r.verdict_first == BEYOND else None),
            _td(_fmt(r.change_previous) if np.isfinite(r.change_previous) else ""),
            _td(str(r.verdict_previous), className="beyond" if r.verdict_previous == BEYOND else None,
                style=beyond if r.verdict_previous == BEYOND else None),
        ], className="followup-row"))  # fmt: skip
    return html.Table([html.Thead(header), html.Tbody(body)], className="followup",
                      style={"fontSize": "90%", "borderCollapse": "collapse"})  # fmt: skip


def _td(text, *, className=None, style=None):
    from dash import html

    return html.Td(text, className=className, style={"padding": "0.1em 0.6em", **(style or {})})


def _decimals(value):
    """Decimals that show ``value`` to three significant digits (0 to 3): 559, 24.8, 0.612."""
    if value is None or not np.isfinite(value) or value == 0:
        return 1
    return int(np.clip(2 - np.floor(np.log10(abs(value))), 0, 3))


def _fixed(value, decimals):
    return "-" if value is None or not np.isfinite(value) else f"{value:.{decimals}f}"


def _finite(values):
    return [None if not np.isfinite(v) else round(float(v), 3) for v in np.asarray(values, dtype=float)]
