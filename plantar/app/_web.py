"""The clinic app's pages (Dash): patients, a patient, a visit with capture and report.

Every callback hands its job to :class:`plantar.clinic.Clinic` or
:class:`~plantar.app.Capture` and shows the answer; text the clinic holds
(names, notes, labels) goes into the page as Dash text children, which the
browser shows as text, never as HTML.
"""

import datetime
import logging
import tempfile
import urllib.parse
from pathlib import Path

from ..utils import logger
from . import _auth, _settings
from ._auth import LOCAL_HOSTS  # noqa: F401  (the addresses served without a password)
from ._capture import Capture, CaptureError
from ._followup import Followups, followup_section
from ._followup import register as register_followup
from ._live import add_live_route, live_view
from ._quality import trial_quality
from ._visit import VisitResults, trial_header, visit_results_layout
from ._visit import register as register_visit

#: Milliseconds between two polls of the live view at least (the page draws each new frame once).
LIVE_INTERVAL_MS = 25

#: Milliseconds between two checks for a newly stored recording.
STORED_INTERVAL_MS = 500

VIRTUAL = "virtual"

#: Largest file the import accepts, in bytes.
MAX_UPLOAD_BYTES = 200_000_000


def make_app(clinic, capture=None, *, demo=False, live_interval_ms=LIVE_INTERVAL_MS):
    """Build the Dash app over a clinic (and a capture controller).

    Parameters
    ----------
    clinic : plantar.clinic.Clinic
        The clinic the app shows and changes.
    capture : Capture | None
        The capture controller; default a new one over ``clinic``.
    demo : bool
        Offer the virtual mat first (the demo).
    live_interval_ms : int
        Milliseconds between two polls of the live view.

    Returns
    -------
    app : dash.Dash
        The app; ``app.server`` is its Flask (WSGI) application,
        ``app.capture`` its capture controller and ``app.guard`` its login and
        CSRF checks (:class:`plantar.app._auth.Guard`: a login when the
        clinic has a password).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from plantar.clinic import Clinic
    >>> from plantar.app import make_app
    >>> clinic = Clinic.init(Path(tempfile.mkdtemp()) / "clinic")
    >>> app = make_app(clinic)
    >>> app.server.test_client().get("/").status_code
    200
    >>> app.capture.close(); clinic.close()
    """
    import dash
    from dash import Input, Output, State, ctx, dcc, html, no_update

    capture = Capture(clinic, min_steps=clinic.complete_steps()) if capture is None else capture
    qualities = {}  # trial uid -> trial_quality, computed once per trial
    results = VisitResults(clinic)  # the visit page's results, computed once per trial

    def quality_of(row):
        if row["uid"] not in qualities:
            last = capture.last
            if last is not None and last["uid"] == row["uid"]:
                qualities[row["uid"]] = last["quality"]
            else:
                qualities[row["uid"]] = trial_quality(trial_header(clinic, row), clinic.analysis(row["uid"]),
                                                      min_steps=capture.min_steps)  # fmt: skip
        return qualities[row["uid"]]

    app = dash.Dash(__name__, title="plantar clinic", suppress_callback_exceptions=True, update_title=None)
    app.capture = capture
    app.guard = _auth.Guard(app.server, clinic)  # a login when the clinic has a password; CSRF checks
    add_live_route(app, capture)  # read-only, behind the guard's login
    app.layout = html.Div(
        [
            dcc.Location(id="url"),
            html.Header([dcc.Link("plantar clinic", href="/", className="home"),
                         html.Span(f" {clinic.folder}", className="folder"),
                         *_settings.nav_links(login=app.guard.login)]),  # fmt: skip
            html.Main(id="page"),
        ],
        style={"fontFamily": "sans-serif", "margin": "1em 2em"},
    )

    # ------------------------------------------------------------------ pages

    @app.callback(Output("page", "children"), Input("url", "pathname"))
    def page(pathname):
        parts = [urllib.parse.unquote(p) for p in (pathname or "/").strip("/").split("/") if p]
        try:
            if len(parts) == 2 and parts[0] == "patient":
                return patient_page(parts[1])
            if len(parts) == 2 and parts[0] == "visit" and parts[1].isdigit():
                return visit_page(int(parts[1]))
            if parts == ["settings"]:
                return _settings.settings_page(clinic)
        except ValueError as exc:
            return html.P(_one_line(exc), className="error")
        return patients_page()

    def patients_page():
        return html.Div([
            html.H1("Patients"),
            dcc.Input(id="patient-search", placeholder="search by code or name", debounce=False, value=""),
            html.Div(id="patient-list"),
            html.H2("Add a patient"),
            dcc.Input(id="new-code", placeholder="code, e.g. P012"), " ",
            dcc.Input(id="new-name", placeholder="name (optional)"), " ",
            dcc.Input(id="new-birth-year", placeholder="birth year (optional)", type="number"), " ",
            html.Button("Add patient", id="add-patient"),
            html.P(id="patient-message"),
        ])  # fmt: skip

    @app.callback(Output("patient-list", "children"), Output("patient-message", "children"),
                  Input("patient-search", "value"), Input("add-patient", "n_clicks"),
                  State("new-code", "value"), State("new-name", "value"), State("new-birth-year", "value"))  # fmt: skip
    def patients(search, clicks, code, name, birth_year):
        message = ""
        if ctx.triggered_id == "add-patient" and clicks:
            try:
                clinic.add_patient((code or "").strip(), name=(name or "").strip() or None,
                                   birth_year=int(birth_year) if birth_year else None)  # fmt: skip
                message = f"Added patient {code.strip()}."
            except ValueError as exc:
                message = _one_line(exc)
        wanted = (search or "").strip().lower()
        rows = [p for p in clinic.patients()
                if not wanted or wanted in p["code"].lower() or wanted in (p["name"] or "").lower()]  # fmt: skip
        if not rows:
            return html.P("No patient yet." if not wanted else "No patient matches."), message
        items = [html.Li([dcc.Link(p["code"], href=f"/patient/{urllib.parse.quote(p['code'])}"),
                          f"  {p['name'] or ''}  ", html.Small(f"{p['visits']} visits, {p['trials']} trials")],
                         className="patient")  # fmt: skip
                 for p in rows]  # fmt: skip
        return html.Ul(items), message

    def patient_page(code):
        patient = clinic.patient(code)
        visits = [html.Li([dcc.Link(f"Visit {v['id']}, {v['date']}", href=f"/visit/{v['id']}"),
                           f"  {v['complaint'] or ''}  ", html.Small(f"{len(v['trials'])} conditions")],
                          className="visit")  # fmt: skip
                  for v in reversed(patient["visits"])]  # fmt: skip
        return html.Div([
            dcc.Store(id="patient-code", data=code),
            html.H1(" ".join(str(x) for x in (patient["code"], patient["name"] or "") if x)),
            html.P(f"born {patient['birth_year']}" if patient["birth_year"] else ""),
            html.H2("Visits"),
            html.Ul(visits) if visits else html.P("No visit yet."),
            html.H2("Start a visit"),
            dcc.Input(id="visit-date", value=datetime.date.today().isoformat(), placeholder="YYYY-MM-DD"), " ",
            dcc.Input(id="visit-complaint", placeholder="complaint (optional)"), " ",
            html.Button("Start visit", id="add-visit"),
            html.P(id="visit-message"),
            followup_section(code),
        ])  # fmt: skip

    @app.callback(Output("url", "pathname", allow_duplicate=True), Output("visit-message", "children"),
                  Input("add-visit", "n_clicks"), State("patient-code", "data"), State("visit-date", "value"),
                  State("visit-complaint", "value"), prevent_initial_call=True)  # fmt: skip
    def add_visit(clicks, code, date, complaint):
        if not clicks:  # a button appearing with its page is no click
            return no_update, no_update
        try:
            visit = clinic.add_visit(code, date=(date or "").strip(), complaint=(complaint or "").strip() or None)
        except ValueError as exc:
            return no_update, _one_line(exc)
        return f"/visit/{visit}", ""

    def visit_page(visit):
        found = clinic.visit(visit)
        code = found["patient"]
        options = [{"label": "virtual mat (demo walker)", "value": VIRTUAL}]
        from ..drivers import list_ports

        ports = [{"label": f"{p['device']} {p['description'] or ''}".strip(), "value": p["device"]}
                 for p in list_ports()]  # fmt: skip
        options = options + ports if demo else ports + options
        options = _settings.mat_options(clinic) + options  # the clinic's own mats first
        return html.Div([
            dcc.Store(id="visit-id", data=visit),
            dcc.Store(id="last-uid", data=None),
            html.P(dcc.Link(f"< patient {code}", href=f"/patient/{urllib.parse.quote(code)}")),
            html.H1(f"Visit {visit}, {found['date']}"),
            html.P(found["complaint"] or ""),
            html.P([html.A("Results", href="#results"), " · ", html.A("Report", href="#report"), " · ",
                    html.A("Capture", href="#capture")]),
            html.H2("Conditions"),
            html.Div(id="conditions", children=conditions_table(found["trials"])),
            html.H2("Capture", id="capture"),
            html.Div([
                dcc.Dropdown(id="mat", options=options, value=options[0]["value"] if options else None,
                             clearable=False, style={"width": "24em", "display": "inline-block"}),
                " ", dcc.Input(id="calibration", placeholder="calibration file (.pmcal.nc) for a port"),
                " ", html.Button("Connect", id="connect"),
                html.Span(id="mat-message", style={"marginLeft": "1em"}),
            ]),
            html.Div([
                dcc.RadioItems(id="kind", options=["barefoot", "shod", "orthotic"], value="barefoot", inline=True),
                dcc.Input(id="label", placeholder="label, e.g. orthotic A (optional)"), " ",
                html.Button("Start recording", id="start", style={"fontWeight": "bold"}), " ",
                html.Button("Stop", id="stop"),
                html.Span(id="capture-message", style={"marginLeft": "1em"}),
            ], style={"margin": "0.5em 0"}),
            *live_view(live_interval_ms),
            dcc.Interval(id="tick", interval=STORED_INTERVAL_MS),
            html.Div(id="quality"),
            html.H3("Import a file"),
            html.P("A vendor export or plantar file, as the condition chosen above (kind and label).",
                   style={"margin": "0"}),
            dcc.Upload(id="upload", children=html.Div("Drop a file here, or click to choose one"),
                       max_size=MAX_UPLOAD_BYTES, multiple=False,
                       style={"border": "1px dashed #888", "padding": "1em", "width": "30em", "cursor": "pointer"}),
            html.P(id="upload-message"),
            visit_results_layout(results, visit),
        ])  # fmt: skip

    def conditions_table(trials):
        if not trials:
            return html.P("No condition recorded yet.")
        header = html.Tr([html.Th(h) for h in ("condition", "kind", "duration", "steps L / R",
                                               "complete L / R", "lost frames", "saturated frames", "")])  # fmt: skip
        rows = []
        for row in trials:
            q = quality_of(row)
            rows.append(html.Tr([
                html.Td(row["label"]), html.Td(row["kind"]), html.Td(f"{row['duration_s']:.1f} s"),
                html.Td(f"{q['steps_left']} / {q['steps_right']}"),
                html.Td(f"{q['complete_left']} / {q['complete_right']}"),
                html.Td(str(q["frames_lost"])), html.Td(str(q["saturated_frames"])),
                html.Td("repeat this walk" if q["repeat"] else "ok", className="repeat" if q["repeat"] else "ok"),
            ], className="condition"))  # fmt: skip
        return html.Table([header, *rows], className="conditions")

    # ------------------------------------------------------------------ capture

    @app.callback(Output("mat-message", "children"), Input("connect", "n_clicks"), State("mat", "value"),
                  State("calibration", "value"), prevent_initial_call=True)  # fmt: skip
    def connect(clicks, mat, calibration):
        if not clicks:
            return no_update
        try:
            if _settings.is_stored_mat(mat):
                info = _settings.connect_stored(capture, clinic, mat)
            elif mat == VIRTUAL:
                info = capture.connect_virtual()
            elif mat:
                info = capture.connect(mat, calibration=(calibration or "").strip() or None)
            else:
                return "Pick a mat first."
        except (OSError, ValueError, RuntimeError) as exc:
            return f"Could not connect: {_one_line(exc)}"
        cal = "" if capture._calibration is not None else " (no calibration: recordings cannot be stored)"
        return f"Connected: {info.get('model', 'mat')} {info.get('rows')} x {info.get('cols')}{cal}"

    @app.callback(Output("capture-message", "children"), Input("start", "n_clicks"), Input("stop", "n_clicks"),
                  State("visit-id", "data"), State("kind", "value"), State("label", "value"),
                  prevent_initial_call=True)  # fmt: skip
    def start_stop(start, stop, visit, kind, label):
        if not (start if ctx.triggered_id == "start" else stop):
            return no_update
        try:
            if ctx.triggered_id == "start":
                status = capture.start(visit=visit, kind=kind, label=label)
                return f"Recording {status['condition']}: press Stop when the walk is done."
            status = capture.stop()
        except (CaptureError, ValueError) as exc:
            return _one_line(exc)
        if status["error"]:
            return f"The recording failed: {status['error']}"
        return "Stored." if status["state"] != "recording" else "Still storing the recording..."

    @app.callback(Output("last-uid", "data"), Input("tick", "n_intervals"), State("last-uid", "data"))
    def tick(_, last_uid):
        last = capture.last
        uid = last["uid"] if last is not None else None
        return uid if uid != last_uid else no_update

    @app.callback(Output("conditions", "children"), Output("quality", "children"), Input("last-uid", "data"),
                  State("visit-id", "data"), prevent_initial_call=True)  # fmt: skip
    def stored(uid, visit):
        found = clinic.visit(visit)
        last = capture.last
        summary = ""
        if last is not None and last["uid"] == uid and last["visit"] == visit:
            q = last["quality"]
            text = (f"{last['label']} ({last['kind']}): left {q['steps_left']} steps ({q['complete_left']} complete), "
                    f"right {q['steps_right']} steps ({q['complete_right']} complete); {q['frames_lost']} frames lost; "
                    f"{q['saturated_frames']} frames with saturated sensels.")  # fmt: skip
            verdict = (html.P([html.Strong("Repeat this walk: "), "; ".join(q["reasons"])], className="repeat",
                              style={"color": "#b00"}) if q["repeat"]
                       else html.P(html.Strong("Good walk: enough complete steps on each side."),
                                   className="ok"))  # fmt: skip
            summary = html.Div([html.H3("Last recording"), html.P(text), verdict], id="quality-summary")
        if capture.error:
            summary = html.P(f"The last recording failed: {capture.error}", className="error")
        return conditions_table(found["trials"]), summary

    # ------------------------------------------------------------------ import

    @app.callback(Output("upload-message", "children"), Output("conditions", "children", allow_duplicate=True),
                  Input("upload", "contents"), State("upload", "filename"), State("visit-id", "data"),
                  State("kind", "value"), State("label", "value"), prevent_initial_call=True)  # fmt: skip
    def upload(contents, filename, visit, kind, label):
        if not contents:
            return no_update, no_update
        try:
            row = import_upload(clinic, contents, filename, visit=visit, kind=kind, label=label)
        except (ValueError, OSError) as exc:
            return f"Not imported: {_one_line(exc)}", no_update
        return (f"Imported {row['label']} ({row['kind']}): {row['frames']} frames",
                conditions_table(clinic.visit(visit)["trials"]))  # fmt: skip

    # ------------------------------------------------------------------ results, report, follow-up

    _settings.register_callbacks(app, clinic, capture)
    register_visit(app, clinic, results)
    register_followup(app, clinic, Followups(clinic))
    return app


def import_upload(clinic, contents, filename, *, visit, kind, label=None, max_bytes=MAX_UPLOAD_BYTES):
    """Import a file uploaded by the page into a visit, through :meth:`plantar.clinic.Clinic.import_trial`.

    Parameters
    ----------
    clinic : plantar.clinic.Clinic
        The clinic.
    contents : str
        The upload as the browser sends it: ``data:TYPE;base64,DATA``.
    filename : str
        The file's name on the clinician's computer (only its last part is
        used, to tell the format).
    visit : int
        The visit's id.
    kind : {"barefoot", "shod", "orthotic"}
        The kind of condition.
    label : str | None
        The condition's label; default: ``kind``.
    max_bytes : int
        Largest file accepted, in bytes.

    Returns
    -------
    trial : dict
        The trial's row (see :meth:`plantar.clinic.Clinic.trials`).

    Raises
    ------
    ValueError
        If the upload is too big or not a file plantar reads (the reason in one
        line, naming the file).

    Examples
    --------
    >>> import base64, tempfile
    >>> from pathlib import Path
    >>> from plantar.clinic import Clinic
    >>> from plantar.app._web import import_upload
    >>> clinic = Clinic.init(Path(tempfile.mkdtemp()) / "clinic")
    >>> _ = clinic.add_patient("P001"); visit = clinic.add_visit("P001", date="2024-03-01")
    >>> junk = "data:text/plain;base64," + base64.b64encode(b"not a trial").decode()
    >>> try:
    ...     import_upload(clinic, junk, "walk.csv", visit=visit, kind="barefoot")
    ... except ValueError as exc:
    ...     print("refused")
    refused
    >>> clinic.close()
    """
    import base64
    import binascii
    import re

    name = re.sub(r"[^\w.+-]", "_", Path(str(filename or "upload").replace("\\", "/")).name).lstrip(".") or "upload"
    _, _, data = str(contents).partition(",")
    if len(data) * 3 // 4 > max_bytes:
        raise ValueError(f"'{name}' is larger than {max_bytes / 1e6:g} MB, the import's limit")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"'{name}': the upload is not valid base64") from None
    with tempfile.TemporaryDirectory(prefix="plantar-upload-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(raw)
        try:
            return clinic.import_trial(path, visit=visit, kind=kind, label=(label or "").strip() or None)
        except Exception as exc:  # noqa: BLE001  (any reader's failure is said in the page; the visit is untouched)
            if isinstance(exc, (ValueError, OSError)):
                raise ValueError(_one_line(exc).replace(str(path), name).replace(str(tmp), "")) from None
            raise ValueError(f"'{name}': {type(exc).__name__}: {_one_line(exc)}") from None


def _one_line(exc):
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def serve(folder=None, *, port=8050, host="127.0.0.1", demo=False, open_browser=True, on_ready=None,
          behind_proxy=False):
    """Run the clinic app until Ctrl-C.

    Parameters
    ----------
    folder : str | os.PathLike | None
        The clinic folder; with ``demo`` and None, a new temporary clinic
        with a demo patient.
    port : int
        TCP port (0: any free port).
    host : str
        The address to listen on: ``127.0.0.1`` (or ``localhost``); any
        other (``0.0.0.0``: every address of this computer) only when the
        clinic has a password (``plantar clinic password``), and then the app
        asks for it (see :mod:`plantar.app._auth`).
    demo : bool
        Offer the virtual mat first; without ``folder``, a temporary clinic.
    open_browser : bool
        Open the app in the browser.
    on_ready : callable | None
        Called as ``on_ready(url, folder)`` once the app listens.
    behind_proxy : bool
        The app is served through one reverse proxy (with https): believe its
        ``X-Forwarded-*`` headers (see :func:`plantar.app._auth.trust_proxy`).

    Returns
    -------
    url : str
        Where the app was.

    Raises
    ------
    ValueError
        For another host than 127.0.0.1 when the clinic has no password (and
        for the demo, which has none), or without a folder outside the demo.
    """
    from werkzeug.serving import make_server

    from ..clinic import Clinic

    if folder is None and not demo:
        raise ValueError("give the clinic folder with --folder (or -C), or try the app with --demo")
    if folder is None and not _auth.is_local(host):
        raise ValueError(f"the demo clinic has no password, so it serves 127.0.0.1 only, got --host {host}")
    if folder is None:
        folder = Path(tempfile.mkdtemp(prefix="plantar-demo-")) / "clinic"
        clinic = Clinic.init(folder)
        clinic.add_patient("DEMO01", name="Demo Patient", birth_year=1970, body_mass_kg=70.0)
        clinic.add_visit("DEMO01", date=datetime.date.today(), complaint="demo: right heel pain")
    else:
        clinic = Clinic.open(folder)
        if not _auth.is_local(host) and not clinic.has_password():
            clinic.close()
            raise ValueError(f"clinic '{folder}' has no password, so the app serves 127.0.0.1 only, got --host {host}: "
                             f"set one with 'plantar clinic password --folder {folder}'")  # fmt: skip
    try:
        app = make_app(clinic, demo=demo)
        if behind_proxy:
            _auth.trust_proxy(app.server)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per request of the live view
        server = make_server(host, int(port), app.server, threaded=True)
    except BaseException:
        clinic.close()
        raise
    shown = host if _auth.is_local(host) or host not in ("0.0.0.0", "::") else "127.0.0.1"
    url = f"http://{f'[{shown}]' if ':' in shown else shown}:{server.server_port}/"
    if app.guard.login:
        logger.info("the clinic app asks for the clinic's password (listening on %s)", host)
    logger.info("the clinic app of '%s' is at %s", clinic.folder, url)
    if on_ready is not None:
        on_ready(url, clinic.folder)
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        app.capture.close()
        clinic.close()
    return url
