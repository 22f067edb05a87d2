"""Curves and bars: regional force over stance, gait lines and butterfly, left/right symmetry."""

import numpy as np
import plotly.graph_objects as go

from ..geometry import aligned_peak_maps, body_cop_butterfly
from ..metrics import STEP_REGION_METRICS
from ..offloading import offloading
from ..regions import BASE_REGIONS, REGIONS
from ._common import (
    REGION_TITLES,
    SIDE_COLOURS,
    add_placed,
    check_analysis,
    mm,
    mm_axes_layout,
    new_figure,
    outline,
    plain_axes,
    plain_axes_layout,
    set_layout,
)

#: Regions shown by default: the whole foot, then the base regions heel to toe.
DEFAULT_REGIONS = ("total",) + BASE_REGIONS

_SIDES = ("left", "right")


def _check_regions(regions):
    regions = DEFAULT_REGIONS if regions is None else tuple(regions)
    unknown = [r for r in regions if r not in REGIONS]
    if unknown or not regions:
        raise ValueError(f"regions must be names from {tuple(REGIONS)} or None, got {unknown or list(regions)}")
    return regions


def _rgba(colour, alpha):
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r}, {g}, {b}, {alpha})"


def force_curves(analysis, *, regions=None, complete_only=True):
    """Force over stance per region, left and right: mean and SD band over steps.

    Uses ``analysis.region_force``: each step's region force resampled at 0, 1,
    ..., 100 % of its stance (first to last contact frame), so steps of
    different duration average point by point.

    Parameters
    ----------
    analysis : xarray.Dataset
        An analysis from :func:`plantar.analyze`.
    regions : sequence of str | None
        Regions to show, one panel each, from :data:`plantar.regions.REGIONS`;
        ``None`` shows the whole foot (``total``) and the seven base regions.
    complete_only : bool
        Average complete steps only (default).

    Returns
    -------
    fig : plotly.graph_objects.Figure
        One panel per region (two columns), each with the mean force (N) of the
        left and the right steps against percent of stance and a band of
        +/- 1 SD (sample SD; no band for a single step). Legend entries carry
        the number of steps.

    Raises
    ------
    ValueError
        If a region is unknown or the analysis has no ``region_force``.

    Examples
    --------
    >>> import plantar
    >>> from plantar.viz import force_curves
    >>> trial, _ = plantar.synth.walk(seed=1, passes=1, mat_length_mm=1000.0)
    >>> fig = force_curves(plantar.analyze(trial), regions=["heel", "toes"], complete_only=False)
    >>> [trace.name for trace in fig.data if trace.mode == "lines" and trace.fill is None]
    ['left (n = 1)', 'right (n = 1)', 'left (n = 1)', 'right (n = 1)']
    """
    check_analysis(analysis, "region_force", "complete")
    regions = _check_regions(regions)
    cols = 1 if len(regions) == 1 else 2
    rows = -(-len(regions) // cols)
    fig = new_figure(rows, cols, subplot_titles=[REGION_TITLES[r] for r in regions], vertical_spacing=0.25 / rows,
                     horizontal_spacing=0.1)  # fmt: skip
    percent = analysis["stance_percent"].values
    short = np.array_equal(percent, np.round(percent))  # whole percents: sent as short integers
    percent = percent.astype(np.int16) if short else percent.astype(np.float32)
    keep = analysis["complete"].values.astype(bool) if complete_only else np.ones(analysis.sizes["step"], bool)
    placed, axes = [], {}  # traces and axes set at once: plotly is slow one by one
    for i, region in enumerate(regions):
        row, col = i // cols + 1, i % cols + 1
        curves = analysis["region_force"].sel(region=region).values
        for side in _SIDES:
            chosen = curves[keep & (analysis["side"].values == side)]
            chosen = chosen[np.isfinite(chosen).all(axis=1)]
            if not len(chosen):
                continue
            mean = chosen.mean(axis=0)
            colour = SIDE_COLOURS[side]
            label = f"{side} (n = {len(chosen)})"
            if len(chosen) > 1:
                sd = chosen.std(axis=0, ddof=1)
                placed.append((go.Scatter(
                    x=np.concatenate([percent, percent[::-1]]),
                    y=np.round(np.concatenate([mean + sd, (mean - sd)[::-1]]), 1).astype(np.float32),
                    fill="toself", fillcolor=_rgba(colour, 0.2), line=dict(width=0), mode="lines",
                    hoverinfo="skip", showlegend=False, legendgroup=side, name=f"{side} SD",
                ), row, col))  # fmt: skip
            placed.append((go.Scatter(
                x=percent, y=np.round(mean, 1).astype(np.float32), mode="lines",
                line=dict(color=colour, width=2), name=label, legendgroup=side, showlegend=i == 0,
                hovertemplate=f"{side}, {REGION_TITLES[region]}<br>%{{x:.0f}} % of stance<br><b>%{{y:.0f}} N</b>"
                              "<extra></extra>",
            ), row, col))  # fmt: skip
        axes.update(plain_axes_layout(fig, x_title="stance (%)" if row == rows else "",
                                      y_title="force (N)" if col == 1 else "", row=row, col=col))  # fmt: skip
    for name in [name for name in fig.layout if name.startswith("xaxis")]:  # every subplot, even an empty one
        axes.setdefault(name, {})["range"] = [0, 100]
    add_placed(fig, placed)
    which = "complete steps" if complete_only else "steps"
    set_layout(fig, dict(title=dict(text="Force over stance by region", subtitle=dict(text=f"mean +/- SD of {which}")),
                         height=230 * rows + 170, width=900, margin=dict(t=110, b=100),
                         legend=dict(orientation="h", y=0.005, yanchor="bottom", yref="container"), **axes))  # fmt: skip
    return fig


def butterfly(analysis):
    """Gait lines of each foot, and the butterfly of the centre of pressure of both feet.

    Left and middle panels: the centre-of-pressure path of every complete step
    of each side (thin) and their mean (thick), in the foot frame of
    :func:`plantar.geometry.aligned_peak_maps` (heel centre at the origin, the
    foot axis up, each foot as seen from above), over the outline of the mean
    footprint. Right panel: the centre of pressure of both feet relative to the
    walker's progression, from :func:`plantar.geometry.body_cop_butterfly`
    (forward: along the pass's line of progression minus the progression at
    the walking speed; lateral: positive to the walker's right), coloured by
    support: single support on the left or the right foot, or double support.

    Parameters
    ----------
    analysis : xarray.Dataset
        An analysis from :func:`plantar.analyze`.

    Returns
    -------
    fig : plotly.graph_objects.Figure
        Three panels with axes in mm and equal aspect; a side without complete
        steps, or a walk too short for the butterfly (each pass needs three
        steps), leaves its panel with a note.

    Examples
    --------
    >>> import plantar
    >>> from plantar.viz import butterfly
    >>> trial, _ = plantar.synth.walk(seed=0, passes=1)
    >>> fig = butterfly(plantar.analyze(trial))
    >>> [trace.name for trace in fig.data if trace.xaxis == "x3"]
    ['left single support', 'right single support', 'double support']
    """
    analysis = check_analysis(analysis, "stance_cop_x", "stance_cop_y", "body_cop_x", "body_cop_y", "complete")
    fig = new_figure(1, 3, horizontal_spacing=0.08,
                     subplot_titles=["left foot: gait lines", "right foot: gait lines", "both feet: butterfly"])  # fmt: skip
    placed, axes = [], {}  # traces and axes set at once: plotly is slow one by one
    for col, side in enumerate(_SIDES, start=1):
        colour = SIDE_COLOURS[side]
        try:
            aligned = aligned_peak_maps(analysis, side=side)
        except ValueError:
            _note(fig, f"no complete {side} step", col)
            axes.update(mm_axes_layout(fig, x_title="across (mm, + = right)", y_title="along (mm)", row=1, col=col))
            continue
        xs, ys = outline(aligned["mean_region_label"].values > 0, aligned["across_mm"].values,
                         aligned["along_mm"].values, pitch=aligned.attrs["spacing_mm"])  # fmt: skip
        placed.append((go.Scatter(x=xs, y=ys, mode="lines", line=dict(color="#BBBBBB", width=1), hoverinfo="skip",
                                  name="mean footprint", showlegend=False), 1, col))  # fmt: skip
        across, along = aligned["cop_across"].values, aligned["cop_along"].values
        breaks = np.full((across.shape[0], 1), np.nan)
        placed.append((go.Scatter(
            x=mm(np.hstack([across, breaks]).ravel()), y=mm(np.hstack([along, breaks]).ravel()), mode="lines",
            line=dict(color=_rgba(colour, 0.45), width=1), name=f"{side} steps (n = {across.shape[0]})",
            hoverinfo="skip", showlegend=False,
        ), 1, col))  # fmt: skip
        placed.append((go.Scatter(
            x=mm(aligned["mean_cop_across"].values), y=mm(aligned["mean_cop_along"].values), mode="lines",
            line=dict(color=colour, width=3), name=f"{side} mean", showlegend=False,
            customdata=aligned["stance_percent"].values.astype(np.float32),
            hovertemplate=f"{side} mean gait line<br>%{{customdata:.0f}} % of stance<br>across %{{x:.0f}} mm, "
                          "along %{y:.0f} mm<extra></extra>",
        ), 1, col))  # fmt: skip
        axes.update(mm_axes_layout(fig, x_title="across (mm, + = right)", y_title="along (mm)", row=1, col=col))

    wings = body_cop_butterfly(analysis)
    forward, lateral = wings["forward"].values, wings["lateral"].values
    support, passes = wings["support"].values, wings["pass_index"].values
    if np.isfinite(forward).any():
        same_pass = np.concatenate([[False], passes[1:] == passes[:-1]])
        for kind, colour, name in (("left", SIDE_COLOURS["left"], "left single support"),
                                   ("right", SIDE_COLOURS["right"], "right single support"),
                                   ("double", "#555555", "double support")):  # fmt: skip
            on = support == kind
            # Join each run to the frame before it, so the colours meet without gaps.
            drawn = on | (np.concatenate([on[1:], [False]]) & np.concatenate([same_pass[1:], [False]]))
            placed.append((go.Scatter(
                x=mm(_with_breaks(lateral, drawn)), y=mm(_with_breaks(forward, drawn)), mode="lines",
                line=dict(color=colour, width=2), name=name, connectgaps=False,
                hovertemplate=f"{name}<br>lateral %{{x:.0f}} mm, forward %{{y:.0f}} mm<extra></extra>",
            ), 1, 3))  # fmt: skip
    else:
        _note(fig, "too few steps per pass for a butterfly", 3)
    axes.update(mm_axes_layout(fig, x_title="lateral (mm, + = right)", y_title="forward (mm)", row=1, col=3))
    add_placed(fig, placed)
    speed = wings.attrs["speed_mm_s"]
    set_layout(fig, dict(
        title=dict(text="Gait lines and butterfly",
                   subtitle=dict(text="centre of pressure of each complete step in the foot frame (thin), their mean "
                                      "(thick); both feet relative to the walker"
                                      + (f" (progression at {speed / 1000:.2f} m/s removed)" if np.isfinite(speed)
                                         else ""))),
        width=1100, height=560, legend=dict(orientation="h", y=-0.15), **axes,
    ))  # fmt: skip
    return fig


def _with_breaks(values, keep):
    """The kept values, with a NaN wherever a run of kept frames ends (a break in the line)."""
    index = np.flatnonzero(keep)
    if index.size == 0:
        return np.zeros(0)
    starts = np.flatnonzero(np.diff(index) > 1) + 1
    return np.insert(values[index], starts, np.nan)


def _note(fig, text, col):
    fig.add_annotation(text=text, showarrow=False, x=0.5, y=0.5, xref=f"x{col if col > 1 else ''} domain",
                       yref=f"y{col if col > 1 else ''} domain", font=dict(color="#777"))  # fmt: skip


def symmetry_bars(analysis, *, metric="peak_pressure", regions=None):
    """Left vs right of a regional metric, with the symmetry index of each region.

    Bars give the mean over complete steps of each side with +/- 1 SD error
    bars; above each region the symmetry index of :func:`plantar.offloading`,
    ``SI = (M_right - M_left) / (0.5 (M_right + M_left)) x 100 %`` (positive:
    the right carries more), bold where ``|SI| > 10 %`` (a common, if
    arbitrary, cut-off; Robinson et al. 1987).

    Parameters
    ----------
    analysis : xarray.Dataset
        An analysis from :func:`plantar.analyze`.
    metric : str
        A per step and region metric (see :func:`plantar.offloading`), e.g.
        ``"peak_pressure"`` (default), ``"force_time_integral"``.
    regions : sequence of str | None
        Regions to show; ``None`` shows the whole foot and the seven base
        regions.

    Returns
    -------
    fig : plotly.graph_objects.Figure
        Two bar traces (left, right) grouped by region, and one annotation per
        region with its symmetry index (``"SI +12.3 %"``; ``"SI n/a"`` where a
        side has no steps).

    Raises
    ------
    ValueError
        If the metric or a region is unknown.

    Examples
    --------
    >>> import plantar
    >>> from plantar.viz import symmetry_bars
    >>> trial, _ = plantar.synth.walk(seed=0, passes=2, mat_length_mm=1000.0)
    >>> fig = symmetry_bars(plantar.analyze(trial), metric="force_time_integral", regions=["heel", "hallux"])
    >>> [trace.name for trace in fig.data], len(fig.layout.annotations)
    (['left', 'right'], 2)
    """
    check_analysis(analysis, "side", "complete")
    regions = _check_regions(regions)
    result = offloading(analysis, metric=metric).sel(region=list(regions))
    units = result.attrs["units"]
    names = [REGION_TITLES[r] for r in regions]
    fig = new_figure()
    top = np.zeros(len(regions))
    for side in _SIDES:
        mean, sd = result[f"{side}_mean"].values, result[f"{side}_sd"].values
        n = result[f"{side}_n"].values
        top = np.fmax(top, mean + np.nan_to_num(sd))
        fig.add_trace(go.Bar(
            x=names, y=np.round(mean, 2), name=side, marker_color=SIDE_COLOURS[side],
            error_y=dict(type="data", array=np.round(np.nan_to_num(sd), 2), visible=True, thickness=1.2, width=4),
            customdata=np.column_stack([np.round(np.nan_to_num(sd), 2), n]),
            hovertemplate=f"{side}, %{{x}}<br><b>%{{y:.1f}} {units}</b> +/- %{{customdata[0]:.1f}} "
                          f"(n = %{{customdata[1]}})<extra></extra>",
        ))  # fmt: skip
    si = result["symmetry_index"].values
    notes = []  # set with the layout at once: add_annotation one by one is slow
    for name, value, height in zip(names, si, top):
        text = "SI n/a" if not np.isfinite(value) else f"SI {value:+.1f} %"
        strong = np.isfinite(value) and abs(value) > 10.0
        notes.append(dict(x=name, y=float(np.nan_to_num(height)), text=f"<b>{text}</b>" if strong else text,
                          showarrow=False, yshift=14, font=dict(size=11, color="#000" if strong else "#555")))  # fmt: skip
    long_name = STEP_REGION_METRICS[metric][1]
    set_layout(fig, dict(
        title=dict(text=f"{long_name.capitalize()}: left vs right",
                   subtitle=dict(text="mean +/- SD of complete steps; symmetry index SI = (R - L) / (0.5 (R + L)) "
                                      "x 100 %, positive: the right carries more")),
        barmode="group", bargap=0.25, width=900, height=520, margin=dict(t=110, b=100),
        legend=dict(orientation="h", y=0.005, yanchor="bottom", yref="container"), annotations=notes,
    ))  # fmt: skip
    plain_axes(fig, x_title="region", y_title=f"{long_name} ({units})")
    fig.update_xaxes(showgrid=False)
    return fig


__all__ = ["butterfly", "force_curves", "symmetry_bars"]
