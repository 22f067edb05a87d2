"""The report's section on standing balance, from a :func:`plantar.balance` result."""

from ._html import esc

#: Sway measures shown, in order: (variable, label, decimals).
_SWAY_ROWS = (
    ("path_length", "path length", 0),
    ("mean_velocity", "mean velocity", 1),
    ("mean_velocity_ap", "mean velocity AP", 1),
    ("mean_velocity_ml", "mean velocity ML", 1),
    ("rms_ap", "RMS AP", 1),
    ("rms_ml", "RMS ML", 1),
    ("range_ap", "range AP", 1),
    ("range_ml", "range ML", 1),
    ("ellipse_area", "95 % ellipse area", 0),
    ("mean_frequency", "mean frequency", 2),
)


def balance_section(result):
    """The balance section of a report: an HTML fragment and the sway figure.

    Parameters
    ----------
    result : xarray.Dataset
        From :func:`plantar.balance` (schema ``balance/1``).

    Returns
    -------
    html : str
        A self-contained fragment: the window and filter, the load on each
        foot and its rearfoot and forefoot (% of body weight), and the sway
        measures of the body and of each foot, with units and a note on their
        definitions.
    fig : plotly.graph_objects.Figure
        :func:`plantar.viz.balance.sway_figure` of the result.

    Examples
    --------
    >>> import plantar
    >>> from plantar.report._balance import balance_section
    >>> trial, _ = plantar.synth.stand(seed=0, duration_s=5.0)
    >>> html, fig = balance_section(plantar.balance(trial))
    >>> "% of body weight" in html and "95 % ellipse area" in html
    True
    """
    from ..viz.balance import sway_figure

    if result.attrs.get("plantar_schema") != "balance/1":
        raise ValueError(f"balance_section needs a balance result (schema 'balance/1'), got "
                         f"{result.attrs.get('plantar_schema')!r}")  # fmt: skip
    a = result.attrs
    feet = [str(f) for f in result.foot.values]
    parts = (("whole", "whole foot"), ("rearfoot", "rearfoot"), ("forefoot", "forefoot"))
    load_rows = "".join(
        f"<tr><td>{esc(label)}</td>"
        + "".join(f"<td>{float(result.load_pct.sel(foot=f, part=part)):.1f} %</td>" for f in feet) + "</tr>"
        for part, label in parts
    )  # fmt: skip
    load = (f"<table class='data'><tr><th>load (% of body weight)</th>"
            + "".join(f"<th>{esc(f)} foot</th>" for f in feet) + f"</tr>{load_rows}</table>")  # fmt: skip
    cops = [str(c) for c in result.cop.values]
    sway_rows = "".join(
        f"<tr><td>{esc(label)} ({esc(result[name].attrs['units'])})</td>"
        + "".join(f"<td>{float(result[name].sel(cop=c)):.{dec}f}</td>" for c in cops) + "</tr>"
        for name, label, dec in _SWAY_ROWS
    )  # fmt: skip
    sway = (f"<table class='data'><tr><th>sway of the centre of pressure</th>"
            + "".join(f"<th>{'body' if c == 'body' else esc(c) + ' foot'}</th>" for c in cops)
            + f"</tr>{sway_rows}</table>")  # fmt: skip
    caption = (
        f"Standing {a['window_s']:.1f} s ({a['window_start_s']:.2f}-{a['window_end_s']:.2f} s of the recording). "
        f"Body weight {a['body_weight_n']:.0f} N ({esc(a['body_weight_source'])}). Rearfoot and forefoot: the foot "
        f"split at {a['forefoot_from']:g} of its length along its axis. Centre of pressure filtered: "
        f"{esc(a['filter'])}. AP = where the person faces, ML = across. Definitions: Prieto et al. 1996 (path, "
        "velocity, RMS, mean frequency), Schubert &amp; Kirchner 2014 (95 % prediction ellipse)."
    )
    html = f"<div class='balance'>{load}{sway}<p class='caption'>{caption}</p></div>"
    return html, sway_figure(result)
