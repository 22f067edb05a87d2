"""Figures of standing balance: the centre of pressure's sway, from :func:`plantar.balance`."""

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ._common import SIDE_COLOURS

#: Colour of the whole-body centre of pressure.
BODY_COLOUR = "#1d2329"


def sway_figure(result):
    """The sway of a standing trial: statokinesigram with its ellipse, and AP / ML over time.

    Parameters
    ----------
    result : xarray.Dataset
        From :func:`plantar.balance` (schema ``balance/1``).

    Returns
    -------
    fig : plotly.graph_objects.Figure
        Left: the filtered COP of the body and of each foot in the mat frame
        (mm, equal axes) with the body's 95 % prediction ellipse. Right: the
        body COP's AP and ML coordinates (mm, from their mean) over time (s).

    Examples
    --------
    >>> import plantar
    >>> from plantar.viz.balance import sway_figure
    >>> trial, _ = plantar.synth.stand(seed=0, duration_s=5.0)
    >>> fig = sway_figure(plantar.balance(trial))
    >>> [trace.name for trace in fig.data][:3]
    ['body', 'left', 'right']
    """
    if result.attrs.get("plantar_schema") != "balance/1":
        raise ValueError(f"sway_figure needs a balance result (schema 'balance/1'), got "
                         f"{result.attrs.get('plantar_schema')!r}")  # fmt: skip
    fig = make_subplots(rows=1, cols=2, column_widths=[0.42, 0.58], horizontal_spacing=0.1,
                        subplot_titles=("centre of pressure on the mat", "body sway over time"))  # fmt: skip
    for cop in result.cop.values:
        colour = BODY_COLOUR if cop == "body" else SIDE_COLOURS.get(str(cop), "#7F7F7F")
        fig.add_trace(go.Scatter(x=np.round(result.cop_x.sel(cop=cop).values, 2).astype(np.float32),
                                 y=np.round(result.cop_y.sel(cop=cop).values, 2).astype(np.float32),
                                 mode="lines", name=str(cop), line=dict(color=colour, width=1)), row=1, col=1)  # fmt: skip
    x, y = _ellipse(result)
    fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name="95 % ellipse (body)",
                             line=dict(color=BODY_COLOUR, dash="dash", width=1)), row=1, col=1)  # fmt: skip
    t = result.time.values.astype(np.float32)
    for name, colour in (("cop_ap", "#009E73"), ("cop_ml", "#CC79A7")):
        values = result[name].sel(cop="body").values
        fig.add_trace(go.Scatter(x=t, y=np.round(values - values.mean(), 2).astype(np.float32), mode="lines",
                                 name=name[4:].upper() + " (body)", line=dict(color=colour, width=1)),
                      row=1, col=2)  # fmt: skip
    fig.update_xaxes(title_text="x (mm)", row=1, col=1)
    fig.update_yaxes(title_text="y (mm)", scaleanchor="x", scaleratio=1, row=1, col=1)
    fig.update_xaxes(title_text="time (s)", row=1, col=2)
    fig.update_yaxes(title_text="sway (mm)", row=1, col=2)
    fig.update_layout(template=None, height=380, margin=dict(l=50, r=10, t=40, b=40),
                      legend=dict(orientation="h", y=-0.18))  # fmt: skip
    return fig


def _ellipse(result, n=121):
    """The body's 95 % prediction ellipse in the mat frame (mm)."""
    from ..balance import CHI2_2_95

    x, y = result.cop_x.sel(cop="body").values, result.cop_y.sel(cop="body").values
    cov = np.cov(np.vstack([x, y]), bias=True)
    values, vectors = np.linalg.eigh(cov)
    angle = np.linspace(0, 2 * math.pi, n)
    unit = np.vstack([np.cos(angle), np.sin(angle)]) * np.sqrt(CHI2_2_95 * np.clip(values, 0, None))[:, None]
    points = vectors @ unit
    return (np.round(points[0] + x.mean(), 2).astype(np.float32), np.round(points[1] + y.mean(), 2).astype(np.float32))
