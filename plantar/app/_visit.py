"""The visit page's results: the conditions side by side, the comparison with its verdicts, the report.

Everything shown is decided by the library, as in the loading report: the
analyses are :meth:`plantar.clinic.Clinic.analysis` (computed once per trial),
the comparisons, verdicts and targets :func:`plantar.report._loading.plan_comparisons`,
the tables the report's own, the figures :mod:`plantar.viz`'s. Figures are
made once per trial and kept; the page draws pooled maps and curves, no
animation. Labels go into the page as Dash text, never as HTML.
"""

import threading

import numpy as np

from ..utils import logger

#: Regions of the force curves on the visit page (the report shows all).
CURVE_REGIONS = ("total", "heel", "metatarsal_heads", "toes")

_GRAPH = {"displayModeBar": False}
_BEYOND = {"color": "#b00", "fontWeight": "bold"}
_FLAG = {"background": "#fde0dc", "fontWeight": "bold"}


class VisitResults:
    """What the visit page shows of a visit's conditions, computed once and kept.

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
    >>> from plantar.app._visit import VisitResults
    >>> clinic = Clinic.init(Path(tempfile.mkdtemp()) / "clinic")
    >>> _ = clinic.add_patient("P001"); visit = clinic.add_visit("P001", date="2024-03-01")
    >>> for kind, (walk, _) in plantar.datasets.demo_walks(passes=2).items():
    ...     _ = clinic.add_trial(walk, visit=visit, kind=kind)
    >>> plan = VisitResults(clinic).plan(visit)
    >>> plan["pairs"]
    [('shod', 'barefoot'), ('orthotic', 'shod')]
    >>> clinic.close()
    """

    def __init__(self, clinic):
        self.clinic = clinic
        self._figures = {}  # (uid, name) -> figure dict
        self._plans = {}  # tuple of (uid, label, kind) -> plan
        self._lock = threading.Lock()

    def conditions(self, visit):
        """The visit's conditions: ``[(uid, label, kind)]`` in the order added, labels unique as in the report."""
        from ..report._write import _unique

        trials = self.clinic.visit(visit)["trials"]
        labels = _unique([str(row["label"]) for row in trials])
        return [(row["uid"], label, row["kind"]) for row, label in zip(trials, labels)]

    def plan(self, visit):
        """The loading report's comparisons of the visit (:func:`plantar.report._loading.plan_comparisons`)."""
        from ..report._conditions import check_kind, measurement
        from ..report._loading import plan_comparisons

        conditions = tuple(self.conditions(visit))
        with self._lock:
            if conditions in self._plans:
                return self._plans[conditions]
        analyses = {label: self.clinic.analysis(uid) for uid, label, _ in conditions}
        plan = plan_comparisons({label: dict(analysis=analyses[label], kind=check_kind(kind),
                                             measurement=measurement(analyses[label].attrs))
                                 for _, label, kind in conditions})  # fmt: skip
        plan["conditions"] = conditions
        with self._lock:
            self._plans[conditions] = plan
        return plan

    def figure(self, uid, name):
        """One figure of a trial (``"left"``, ``"right"``: mean step map; ``"curves"``) as a dict, or a str why not."""
        from .. import viz

        key = (uid, name)
        with self._lock:
            if key in self._figures:
                return self._figures[key]
        analysis = self.clinic.analysis(uid)
        try:
            if name == "curves":
                fig = viz.force_curves(analysis, regions=list(CURVE_REGIONS))
                fig.update_layout(width=None, height=520, title=dict(text="Force over stance", subtitle=None),
                                  margin=dict(l=50, r=10, t=60, b=70))  # fmt: skip
            else:
                if not _n_complete(analysis, name):
                    raise ValueError(f"no complete {name} step")
                fig = viz.peak_pressure_map(analysis, side=name)
                fig.update_layout(width=None, height=380, title=dict(text=f"{name} foot", subtitle=None),
                                  margin=dict(l=40, r=10, t=40, b=40))  # fmt: skip
            figure = fig.to_plotly_json()
        except ValueError as exc:
            figure = str(exc).strip().splitlines()[0] if str(exc).strip() else "cannot be drawn"
            logger.debug("visit page: figure %s of %s not drawn: %s", name, uid, figure)
        with self._lock:
            self._figures[key] = figure
        return figure


def trial_header(clinic, row):
    """A trial's frame count, attributes and saturation series, read without its pressure frames.

    What :func:`plantar.app.trial_quality` needs of a trial besides its
    analysis: reading the whole trial (every frame decompressed and checked)
    to count saturated frames would cost more than the rest of the page.

    Parameters
    ----------
    clinic : plantar.clinic.Clinic
        The clinic.
    row : dict
        The trial's row (:meth:`plantar.clinic.Clinic.visit`'s ``trials``).

    Returns
    -------
    header : xarray.Dataset
        ``time`` (the frames' times), ``saturated_sensels`` when the trial has
        it, and the trial's attributes.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import plantar
    >>> from plantar.clinic import Clinic
    >>> from plantar.app._visit import trial_header
    >>> clinic = Clinic.init(Path(tempfile.mkdtemp()) / "clinic")
    >>> _ = clinic.add_patient("P001"); visit = clinic.add_visit("P001", date="2024-03-01")
    >>> walk, _ = plantar.synth.walk(seed=0, passes=1)
    >>> row = clinic.add_trial(walk, visit=visit, kind="barefoot")
    >>> trial_header(clinic, row).sizes["time"] == walk.sizes["time"]
    True
    >>> clinic.close()
    """
    import xarray as xr

    with xr.open_dataset(clinic.folder / row["path"], engine="h5netcdf") as ds:  # h5py, as plantar.io
        keep = [name for name in ("saturated_sensels",) if name in ds]
        return xr.Dataset({name: ds[name].load() for name in keep}, coords={"time": ds["time"].values},
                          attrs=dict(ds.attrs))  # fmt: skip


def warm_up():
    """Import what the first visit page needs (statistics, figures) so that its opening does not wait for it."""
    import scipy.stats  # noqa: F401  (compare's tests)

    from .. import compare, viz  # noqa: F401
    from ..report import _loading  # noqa: F401


def results_section(results, visit):
    """The visit's results: summary, conditions side by side, regional loading, comparison (Dash components)."""
    from dash import html

    conditions = results.conditions(visit)
    if not conditions:
        return html.P("No condition yet: record or import one below, and its results appear here.")
    plan = results.plan(visit)
    return html.Div([
        summary_block(plan),
        html.H3("Conditions side by side"),
        side_by_side(results, plan),
        html.H3("Regional loading"),
        regional_tables(plan),
        html.H3("Comparison"),
        comparison_block(plan),
    ])  # fmt: skip


def summary_block(plan):
    """The loading report's plain-language summary of the comparisons, one sentence per line."""
    from dash import html

    from ..report._loading import _sentences

    sentences = _sentences(plan["comparisons"], plan["pairs"], plan["analyses"], plan["goal"], plan["source"],
                           plan["sides"])  # fmt: skip
    if not sentences:
        sentences = ["One condition only: record or import another to compare."] if len(plan["analyses"]) < 2 \
            else ["Too few complete steps to summarise."]  # fmt: skip
    return html.Div([html.H3("Summary"), html.Ul([html.Li(s) for s in sentences])], id="visit-summary",
                    style={"background": "#f4f7fb", "padding": "0.3em 1em", "border": "1px solid #cdd"})


def side_by_side(results, plan):
    """One column per condition: its mean left and right peak-pressure maps (one colour scale) and force curves."""
    from dash import dcc, html

    figures = {uid: {name: results.figure(uid, name) for name in ("left", "right", "curves")}
               for uid, _, _ in plan["conditions"]}  # fmt: skip
    maps = [f for by in figures.values() for name, f in by.items() if name != "curves" and isinstance(f, dict)]
    top = max((_cmax(f) for f in maps), default=0.0)
    columns = []
    for uid, label, kind in plan["conditions"]:
        analysis = plan["analyses"][label]
        n = {s: _n_complete(analysis, s) for s in ("left", "right")}
        target = plan["goal"][label]
        cells = []
        for side in ("left", "right"):
            fig = figures[uid][side]
            if isinstance(fig, dict):
                fig = _with_cmax(fig, top)
                cells.append(dcc.Graph(figure=fig, config=_GRAPH, className="condition-map",
                                       style={"flex": "1", "minWidth": "0", "height": "380px"}))  # fmt: skip
            else:
                cells.append(html.P(f"{side} foot: {fig}", style={"flex": "1"}))
        curves = figures[uid]["curves"]
        columns.append(html.Div([
            html.H4(f"{label}", className="condition-title", style={"margin": "0.2em 0"}),
            html.P(f"{kind}; complete steps left {n['left']}, right {n['right']}; target "
                   + ("none" if target is None else f"{target:g} kPa"), style={"margin": "0", "fontSize": "90%"}),
            html.Div(cells, style={"display": "flex"}),
            dcc.Graph(figure=curves, config=_GRAPH, style={"height": "520px"}) if isinstance(curves, dict)
            else html.P(f"force curves: {curves}"),
        ], className="condition-column", style={"flex": "1", "minWidth": "300px", "border": "1px solid #ddd",
                                                 "padding": "0.3em"}))  # fmt: skip
    return html.Div(columns, id="side-by-side", style={"display": "flex", "gap": "0.5em", "flexWrap": "wrap"})


def regional_tables(plan):
    """The report's regional loading table of each side: conditions side by side, peaks above target flagged."""
    from dash import html

    from ..report._loading import _loading_table, _target_caption

    blocks = []
    first = plan["comparisons"][plan["first"]]
    for side in plan["sides"]:
        frame, flags = _loading_table(first, side, plan["goal"])
        blocks += [html.H4(f"{side.capitalize()} foot"), _table(frame, flags=flags, className="regional")]
    if not blocks:
        return html.P("No complete step in any condition: nothing to tabulate.")
    caption = ("Mean ± SD of each complete step's peak pressure (n steps); PTI: pressure-time integral; load: share "
               "of the whole foot's force-time integral. " + _target_caption(plan["targets"]))  # fmt: skip
    return html.Div([*blocks, html.P(caption, className="caption", style={"fontSize": "85%"})])


def comparison_block(plan):
    """Each condition against its baseline (as in the report): peak pressure open, pressure-time integral folded."""
    from dash import html

    from ..report._loading import _METRIC_WORDS, TABLE_METRICS, _comparison_table

    if len(plan["analyses"]) < 2:
        return html.P("Only one condition so far: there is nothing to compare.")
    blocks = []
    for label, base in plan["pairs"]:
        c = plan["comparisons"][base]
        ready = [s for s in plan["sides"]
                 if _n_complete(plan["analyses"][label], s) and _n_complete(plan["analyses"][base], s)]  # fmt: skip
        if not ready:
            blocks.append(html.P(f"{label} vs {base}: no side has complete steps in both."))
            continue
        for k, metric in enumerate(TABLE_METRICS):
            frame, classes = _comparison_table(c, label, base, metric, ready)
            unit = str(c["metric_units"].sel(metric=metric).values)
            title = f"{label} vs {base}: {_METRIC_WORDS[metric]} ({unit})"
            table = _table(frame, beyond=classes, className="comparison")
            if k == 0:
                blocks += [html.H4(title, className="pair-title"), table]
            else:
                blocks.append(html.Details([html.Summary(title), table]))
    blocks.append(html.P(
        "Difference = condition minus baseline, with its 95 % confidence interval (Welch). Beyond noise: the "
        "interval excludes 0 and the change exceeds the minimal detectable change MDC95 = 1.96 x sqrt(2) x SEM "
        "from this patient's own step-to-step variability (Weir 2005). g: Hedges' effect size.",
        className="caption", style={"fontSize": "85%"}))  # fmt: skip
    return html.Div(blocks, id="comparison")


def _table(frame, *, flags=None, beyond=None, className=None):
    """A pandas table as a Dash table of text: flagged cells shaded, verdict cells beyond noise in bold red."""
    from dash import html

    header = html.Tr([html.Th(frame.index.name or "")] + [html.Th(str(c)) for c in frame.columns])
    rows = []
    for i, (name, values) in enumerate(zip(frame.index, frame.itertuples(index=False))):
        cells = [html.Th(str(name), style={"textAlign": "left"})]
        for j, value in enumerate(values):
            style = {"padding": "0 0.5em", "textAlign": "right"}
            cls = None
            if flags is not None and flags[i, j]:
                style.update(_FLAG)
                cls = "above-target"
            if beyond is not None and (i, j) in beyond:
                style.update(_BEYOND)
                cls = "beyond"
            cells.append(html.Td(str(value), style=style, className=cls))
        rows.append(html.Tr(cells))
    return html.Table([html.Thead(header), html.Tbody(rows)], className=className,
                      style={"borderCollapse": "collapse", "fontSize": "90%", "margin": "0.3em 0"})  # fmt: skip


def _n_complete(analysis, side):
    if "step" not in analysis.sizes or not analysis.sizes["step"]:
        return 0
    return int(np.count_nonzero(analysis["complete"].values.astype(bool) & (analysis["side"].values == side)))


def _cmax(figure):
    axis = figure.get("layout", {}).get("coloraxis", {})
    return float(axis.get("cmax") or 0.0)


def _with_cmax(figure, top):
    """The figure on the colour scale 0..top shared by every map of the page (a shallow copy)."""
    if not top:
        return figure
    layout = dict(figure["layout"])
    layout["coloraxis"] = {**layout.get("coloraxis", {}), "cmin": 0, "cmax": top}
    return {**figure, "layout": layout}


def visit_results_layout(results, visit):
    """The results and report part of a visit page, drawn with the page and updated by :func:`register`'s callbacks.

    Parameters
    ----------
    results : VisitResults
        What the page shows, kept between requests.
    visit : int
        The visit's id.

    Returns
    -------
    div : dash.html.Div
        The results (:func:`results_section`) and the report's buttons.
    """
    from dash import dcc, html

    try:
        shown, section = [uid for uid, _, _ in results.conditions(visit)], results_section(results, visit)
    except (ValueError, OSError) as exc:
        shown, section = None, html.P(f"The results cannot be shown: {_one_line(exc)}", className="error")
    return html.Div([
        html.H2("Results", id="results"),
        html.Div([
            html.Button("Write report", id="write-report", style={"fontWeight": "bold"}),
            html.Span(" the loading report of every condition: stored in the clinic, as HTML (and PDF where Chromium "
                      "is installed)", style={"color": "#555"}),
            dcc.Loading(html.Div(id="report-message", style={"margin": "0.3em 0"}), type="dot"),
            html.Div([html.Button("Download HTML", id="download-html"), " ",
                      html.Button("Download PDF", id="download-pdf")],
                     id="report-downloads", style={"display": "none", "margin": "0.5em 0"}),
            dcc.Download(id="report-download"),
            dcc.Download(id="report-download-pdf"),
        ], id="report", style={"margin": "0.5em 0"}),
        dcc.Store(id="results-of", data=shown),
        dcc.Loading(html.Div(section, id="visit-results"), type="dot"),
    ])  # fmt: skip


def register(app, clinic, results):
    """Add the callbacks of the visit's results and report to the app.

    Parameters
    ----------
    app : dash.Dash
        The app (its visit page holds :func:`visit_results_layout`).
    clinic : plantar.clinic.Clinic
        The clinic.
    results : VisitResults
        What the page shows, kept between requests.
    """
    from pathlib import Path

    from dash import Input, Output, State, ctx, dcc, html, no_update

    from ..report._report import _chromium

    written = {}  # visit -> the paths of its last report (kept in the server: the page names no file)
    threading.Thread(target=warm_up, name="plantar app warm-up", daemon=True).start()

    @app.callback(Output("visit-results", "children"), Output("results-of", "data"), Input("conditions", "children"),
                  State("visit-id", "data"), State("results-of", "data"))  # fmt: skip
    def refresh(_, visit, shown):  # the conditions' table changes with every trial stored or imported
        if visit is None or not ctx.triggered_id:
            return no_update, no_update
        try:
            uids = [uid for uid, _, _ in results.conditions(int(visit))]
            if shown == uids:  # the same conditions: the page keeps its figures
                return no_update, no_update
            return results_section(results, int(visit)), uids
        except (ValueError, OSError) as exc:
            return html.P(f"The results cannot be shown: {_one_line(exc)}", className="error"), None

    @app.callback(Output("report-message", "children"), Output("report-download", "data"),
                  Output("report-downloads", "style"), Input("write-report", "n_clicks"), State("visit-id", "data"),
                  prevent_initial_call=True)  # fmt: skip
    def write_report(clicks, visit):
        if not clicks:  # a button appearing with its page is no click
            return no_update, no_update, no_update
        pdf = _chromium() is not None
        try:
            paths = clinic.write_visit_report(int(visit), pdf=pdf, verbose="warning")
        except (ValueError, OSError, RuntimeError) as exc:
            return f"No report: {_one_line(exc)}", no_update, {"display": "none"}
        written[int(visit)] = paths
        html_path = Path(paths["html"])
        said = "HTML and PDF" if "pdf" in paths else "HTML (no PDF: Chromium is not installed)"
        return (f"Report stored in the clinic ({said}): {html_path.relative_to(clinic.folder)}",
                dcc.send_file(str(html_path)), {"display": "block", "margin": "0.5em 0"})  # fmt: skip

    @app.callback(Output("report-download", "data", allow_duplicate=True), Output("report-download-pdf", "data"),
                  Input("download-html", "n_clicks"), Input("download-pdf", "n_clicks"), State("visit-id", "data"),
                  prevent_initial_call=True)  # fmt: skip
    def download(html_clicks, pdf_clicks, visit):
        paths = written.get(int(visit)) if visit is not None else None
        if paths is None or not (html_clicks if ctx.triggered_id == "download-html" else pdf_clicks):
            return no_update, no_update
        if ctx.triggered_id == "download-html":
            return dcc.send_file(str(paths["html"])), no_update
        if "pdf" not in paths:
            return no_update, no_update
        return no_update, dcc.send_file(str(paths["pdf"]))


def _one_line(exc):
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
