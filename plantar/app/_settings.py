"""The clinic app's settings page: the clinic's mats, the ports this computer sees, complete steps per side.

The mats are the clinic's (:meth:`plantar.clinic.Clinic.add_mat`), kept in its
database by name with their port (or the virtual mat), protocol and
calibration file; the capture panel of a visit offers them first. Names are
put into the page as text children, never as HTML.
"""

from pathlib import Path


#: Prefix of a stored mat's value in the capture panel's mat list.
MAT_PREFIX = "mat:"


def nav_links(*, login):
    """The header's links: the settings page, and "Log out" when the app asks for a password.

    Parameters
    ----------
    login : bool
        Whether the app asks for the clinic's password.

    Returns
    -------
    links : list
        Dash components for the header.

    Examples
    --------
    >>> from plantar.app._settings import nav_links
    >>> [link.children for link in nav_links(login=True) if not isinstance(link, str)]
    ['Settings', 'Log out']
    """
    from dash import dcc, html

    links = [" ", dcc.Link("Settings", href="/settings", id="nav-settings", style={"marginLeft": "2em"})]
    if login:  # a full page load: the logout page is the server's, not a Dash page
        links += [" ", html.A("Log out", href="/logout", id="nav-logout", style={"marginLeft": "1em"})]
    return links


def mat_options(clinic):
    """The clinic's mats as options of the capture panel's mat list.

    Parameters
    ----------
    clinic : plantar.clinic.Clinic
        The clinic.

    Returns
    -------
    options : list of dict
        ``{"label": ..., "value": "mat:NAME"}`` per mat, by name.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from plantar.clinic import Clinic
    >>> from plantar.app._settings import mat_options
    >>> with Clinic.init(Path(tempfile.mkdtemp()) / "clinic") as clinic:
    ...     _ = clinic.add_mat("room 2", port="virtual")
    ...     mat_options(clinic)
    [{'label': 'room 2 (virtual mat, pmat1)', 'value': 'mat:room 2'}]
    """
    return [{"label": f"{m['name']} ({_port_text(m['port'])}, {m['protocol']})", "value": MAT_PREFIX + m["name"]}
            for m in clinic.mats()]  # fmt: skip


def is_stored_mat(value):
    """Whether a value of the capture panel's mat list names one of the clinic's mats."""
    return isinstance(value, str) and value.startswith(MAT_PREFIX)


def connect_stored(capture, clinic, value):
    """Connect the capture controller to one of the clinic's mats, with its protocol and calibration.

    Parameters
    ----------
    capture : plantar.app.Capture
        The capture controller.
    clinic : plantar.clinic.Clinic
        The clinic whose mat it is.
    value : str
        ``"mat:NAME"`` (see :func:`mat_options`).

    Returns
    -------
    info : dict
        What the mat says about itself (see :meth:`plantar.app.Capture.connect`).

    Raises
    ------
    ValueError
        If the clinic has no such mat; what :meth:`plantar.app.Capture.connect`
        raises if the port or calibration cannot be opened.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from plantar.clinic import Clinic
    >>> from plantar.app import Capture
    >>> from plantar.app._settings import connect_stored
    >>> clinic = Clinic.init(Path(tempfile.mkdtemp()) / "clinic")
    >>> _ = clinic.add_mat("demo", port="virtual")
    >>> capture = Capture(clinic)
    >>> connect_stored(capture, clinic, "mat:demo")["rows"]
    250
    >>> capture.close(); clinic.close()
    """
    from ._web import VIRTUAL

    name = value[len(MAT_PREFIX):]
    found = next((m for m in clinic.mats() if m["name"] == name), None)
    if found is None:
        raise ValueError(f"the clinic has no mat named {name!r} (any more): see the settings page")
    if found["port"] == VIRTUAL:
        return capture.connect_virtual()
    return capture.connect(found["port"], protocol=found["protocol"], calibration=found["calibration"] or None)


def settings_page(clinic):
    """The settings page: the clinic's mats (add, remove), the ports seen, complete steps per side.

    Parameters
    ----------
    clinic : plantar.clinic.Clinic
        The clinic.

    Returns
    -------
    page : dash.html.Div

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from plantar.clinic import Clinic
    >>> from plantar.app._settings import settings_page
    >>> with Clinic.init(Path(tempfile.mkdtemp()) / "clinic") as clinic:
    ...     settings_page(clinic).children[0].children
    'Settings'
    """
    from dash import dcc, html

    from ..drivers import PROTOCOLS, list_ports
    from ._web import VIRTUAL

    ports = list_ports()
    port_options = [{"label": "virtual mat (demo walker)", "value": VIRTUAL}] + [
        {"label": f"{p['device']} {p['description'] or ''}".strip(), "value": p["device"]} for p in ports]  # fmt: skip
    protocols = [{"label": f"{name}: {p.description}", "value": name} for name, p in PROTOCOLS.items()]
    password = ("The app asks for the clinic's password (change it with 'plantar clinic password')."
                if clinic.has_password() else
                "No password: the app serves this computer only (127.0.0.1). To use it from another computer, "
                "set one with 'plantar clinic password', then serve with --host.")  # fmt: skip
    return html.Div([
        html.H1("Settings"),
        html.H2("Mats"),
        html.Div(id="settings-mats", children=mats_table(clinic)),
        html.H3("Add a mat"),
        html.Div([
            dcc.Input(id="settings-mat-name", placeholder="name, e.g. walkway room 2", style={"width": "16em"}), " ",
            dcc.Dropdown(id="settings-mat-port", options=port_options, value=VIRTUAL, clearable=False,
                         style={"width": "22em", "display": "inline-block", "verticalAlign": "middle"}), " ",
            dcc.Input(id="settings-mat-url", placeholder="or a port / URL (socket://host:port)",
                      style={"width": "18em"}),
        ], style={"margin": "0.3em 0"}),
        html.Div([
            dcc.Dropdown(id="settings-mat-protocol", options=protocols, value="pmat1", clearable=False,
                         style={"width": "40em", "display": "inline-block", "verticalAlign": "middle"}), " ",
        ], style={"margin": "0.3em 0"}),
        html.Div([
            dcc.Input(id="settings-mat-calibration", placeholder="calibration file (.pmcal.nc) on this computer",
                      style={"width": "30em"}), " ",
            html.Button("Add mat", id="settings-add-mat", style={"fontWeight": "bold"}),
        ], style={"margin": "0.3em 0"}),
        html.Div([
            dcc.Dropdown(id="settings-remove-name", options=_remove_options(clinic), placeholder="a mat to remove",
                         style={"width": "22em", "display": "inline-block", "verticalAlign": "middle"}), " ",
            html.Button("Remove mat", id="settings-remove-mat"),
        ], style={"margin": "0.3em 0"}),
        html.P(id="settings-mat-message"),
        html.H2("Ports this computer sees"),
        html.Ul([html.Li(f"{p['device']}  {_usb(p)}  {p['description'] or ''}", className="port") for p in ports])
        if ports else html.P("No serial port found (plug the mat in and reload this page)."),
        html.H2("Walks"),
        html.Div([
            "Complete steps per side a walk needs (fewer: \"repeat this walk\"): ",
            dcc.Input(id="settings-steps", type="number", min=1, max=50, step=1, value=clinic.complete_steps(),
                      style={"width": "5em"}), " ",
            html.Button("Save", id="settings-save-steps"),
            html.Span(id="settings-steps-message", style={"marginLeft": "1em"}),
        ]),
        html.H2("Password"),
        html.P(password, id="settings-password"),
    ])  # fmt: skip


def mats_table(clinic):
    """The clinic's mats as a table (name, port, protocol, calibration file), names as text.

    Parameters
    ----------
    clinic : plantar.clinic.Clinic
        The clinic.

    Returns
    -------
    table : dash component

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from plantar.clinic import Clinic
    >>> from plantar.app._settings import mats_table
    >>> with Clinic.init(Path(tempfile.mkdtemp()) / "clinic") as clinic:
    ...     mats_table(clinic).children
    'No mat yet: add one below (the virtual mat needs no calibration).'
    """
    from dash import html

    mats = clinic.mats()
    if not mats:
        return html.P("No mat yet: add one below (the virtual mat needs no calibration).")
    rows = [html.Tr([html.Th(h) for h in ("name", "port", "protocol", "calibration")])]
    for m in mats:
        if not m["calibration"]:
            cal = "bench-calibrated (virtual)" if m["port"] == "virtual" else "none: recordings cannot be stored"
        elif not Path(m["calibration"]).is_file():
            cal = f"{m['calibration']}: MISSING (add the mat again with the file's new place)"
        else:
            cal = f"{m['calibration']} ({m['calibration_id']})"
        rows.append(html.Tr([html.Td(m["name"]), html.Td(_port_text(m["port"])), html.Td(m["protocol"]),
                             html.Td(cal)], className="mat"))  # fmt: skip
    return html.Table(rows, className="mats")


def register_callbacks(app, clinic, capture):
    """Add the settings page's callbacks to the app (see :func:`plantar.app.make_app`).

    Parameters
    ----------
    app : dash.Dash
        The app.
    clinic : plantar.clinic.Clinic
        The clinic.
    capture : plantar.app.Capture
        The capture controller (its complete steps follow the setting).
    """
    from dash import Input, Output, State, ctx, no_update

    @app.callback(Output("settings-mats", "children"), Output("settings-mat-message", "children"),
                  Output("settings-remove-name", "options"),
                  Input("settings-add-mat", "n_clicks"), Input("settings-remove-mat", "n_clicks"),
                  State("settings-mat-name", "value"), State("settings-mat-port", "value"),
                  State("settings-mat-url", "value"), State("settings-mat-protocol", "value"),
                  State("settings-mat-calibration", "value"), State("settings-remove-name", "value"),
                  prevent_initial_call=True)  # fmt: skip
    def mats(add, remove, name, port, url, protocol, calibration, removing):
        if not (add if ctx.triggered_id == "settings-add-mat" else remove):
            return no_update, no_update, no_update
        try:
            if ctx.triggered_id == "settings-add-mat":
                mat = clinic.add_mat(name, port=(url or "").strip() or port, protocol=protocol,
                                     calibration=(calibration or "").strip() or None)  # fmt: skip
                message = f"Added mat {mat['name']}: it is offered first in the capture panel of a visit."
            else:
                if not removing:
                    return no_update, "Pick the mat to remove first.", no_update
                clinic.remove_mat(removing)
                message = f"Removed mat {removing}."
        except (ValueError, OSError) as exc:
            return no_update, f"Not done: {_one_line(exc)}", no_update
        return mats_table(clinic), message, _remove_options(clinic)

    @app.callback(Output("settings-steps-message", "children"), Input("settings-save-steps", "n_clicks"),
                  State("settings-steps", "value"), prevent_initial_call=True)  # fmt: skip
    def steps(clicks, value):
        if not clicks:
            return no_update
        try:
            clinic.set_complete_steps(value)
        except ValueError as exc:
            return f"Not saved: {_one_line(exc)}"
        capture.min_steps = clinic.complete_steps()
        return f"Saved: a walk needs {capture.min_steps} complete steps per side."


def _remove_options(clinic):
    return [{"label": m["name"], "value": m["name"]} for m in clinic.mats()]


def _port_text(port):
    from ._web import VIRTUAL

    return "virtual mat" if port == VIRTUAL else port


def _usb(port):
    return f"USB {port['vid']:04x}:{port['pid']:04x}" if port["vid"] is not None else "not USB"


def _one_line(exc):
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
