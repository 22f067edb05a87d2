"""Pressure maps: one step, the mean step of a side, the whole walk, and conditions compared."""

import numpy as np
import plotly.graph_objects as go
import xarray as xr

from ..geometry import _spacing, aligned_peak_maps
from ..regions import BASE_REGIONS, REGIONS
from ._common import (
    COP_COLOUR,
    PRESSURE_SCALE,
    add_placed,
    axis_names,
    REGION_TITLES,
    SIDE_COLOURS,
    check_analysis,
    difference_axis,
    label_scheme,
    loaded_box,
    map_size,
    mm,
    mm_axes,
    mm_axes_layout,
    new_figure,
    outline,
    outline_traces,
    pool_max,
    pooled_centres,
    pressure_axis,
    pressure_heatmap,
    region_heatmaps,
    region_mask,
    region_text,
    set_layout,
)

_ALONG_TITLE = "along the foot axis (mm from heel centre)"
_ACROSS_TITLE = "across (mm, + = right)"


def peak_pressure_map(analysis, *, step=None, side=None, regions=True, cop=True):
    """Peak-pressure map of one step, or of the mean step of one side.

    With ``step``, the step's peak pressure (max over its frames) as measured,
    in mat coordinates, cropped to the footprint. With ``side``, the mean step:
    the complete steps of that side aligned in the foot frame of
    :func:`plantar.geometry.aligned_peak_maps` (heel centre at the origin, the
    foot axis pointing up, each foot as seen from above, not mirrored: a left
    foot's medial side is on the right) and averaged.

    Parameters
    ----------
    analysis : xarray.Dataset
        An analysis from :func:`plantar.analyze`.
    step : int | None
        The step to show (its number in ``analysis.step``); ``None`` shows the
        mean step of ``side``.
    side : {"left", "right"} | None
        With ``step=None``, the side whose mean step is shown.
    regions : bool
        Draw the outlines of the regions (heel, midfoot, the three metatarsal
        head regions, hallux, lesser toes).
    cop : bool
        Draw the centre-of-pressure path (gait line): the step's, or for the mean
        step the mean of the steps' paths at each percent of stance.

    Returns
    -------
    fig : plotly.graph_objects.Figure
        The peak pressure in kPa (0.1 kPa resolution) as one heatmap per region,
        named after it and cropped to it (cells outside the footprint blank),
        on one colour axis; axes in mm with equal aspect; hover with region,
        position and kPa; then, if asked, the region outlines (a white halo and a dark line,
        seen over light and dark cells alike) and the centre-of-pressure path.

    Raises
    ------
    ValueError
        If both or neither of ``step`` and ``side`` are given, or the step or
        side is not in the analysis.

    Examples
    --------
    >>> import plantar
    >>> from plantar.viz import peak_pressure_map
    >>> trial, _ = plantar.synth.walk(seed=1, passes=1, mat_length_mm=1000.0)
    >>> analysis = plantar.analyze(trial)
    >>> fig = peak_pressure_map(analysis, step=0)
    >>> [trace.name for trace in fig.data]    # doctest: +NORMALIZE_WHITESPACE
    ['heel', 'midfoot', '1st metatarsal head', '2nd-3rd metatarsal heads', '4th-5th metatarsal heads',
     'hallux', 'lesser toes', 'regions (halo)', 'regions', 'centre of pressure']
    >>> fig.layout.coloraxis.colorbar.title.text
    'kPa'
    >>> fig = peak_pressure_map(analysis, side="left")   # the mean of the complete left steps
    >>> fig.layout.xaxis.title.text
    'across (mm, + = right)'
    """
    analysis = check_analysis(analysis, "peak_pressure_map", "region_label", "step_cop_x", "step_cop_y")
    if step is not None and side is not None:
        raise ValueError(f"give step or side, not both (got step={step!r}, side={side!r})")
    if step is None and side not in ("left", "right"):
        raise ValueError(f"side must be one of ('left', 'right') when step is None, got {side!r}")
    if analysis.attrs.get("map_layout") == "sensor":
        return sensor_map(analysis, step=step, side=side)
    if step is None:
        return _mean_step_map(analysis, side, regions, cop)
    steps = analysis["step"].values
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step not in steps:
        raise ValueError(f"step must be one of the analysis's steps ({_range(steps)}), got {step!r}")
    k = int(np.flatnonzero(steps == step)[0])
    peak = np.nan_to_num(analysis["peak_pressure_map"].values[k])
    variable, base_regions, _ = label_scheme(analysis)
    labels = analysis[variable].values[k]
    box = loaded_box((peak > 0) | (labels > 0)) or (slice(0, 1), slice(0, 1))
    x, y = analysis["x"].values[box[1]], analysis["y"].values[box[0]]
    pitch = min(_spacing(analysis["x"].values, analysis["y"].values)) or None
    fig = new_figure()
    fig.add_traces(region_heatmaps(peak[box], x, y, labels[box], base_regions=base_regions))
    if regions:
        fig.add_traces(outline_traces(labels[box], x, y, pitch=pitch))
    if cop:
        cop_x, cop_y = analysis["step_cop_x"].values[k], analysis["step_cop_y"].values[k]
        frames = np.isfinite(cop_x)  # the step's loaded frames (padding is NaN)
        into = analysis["step_time"].values[k, frames] - float(analysis["t_on"].values[k])
        fig.add_trace(_cop_trace(cop_x[frames], cop_y[frames], np.round(into, 3), "%{customdata:.2f} s into stance"))
    side_k = str(analysis["side"].values[k])
    subtitle = f"peak pressure {float(peak.max()):.0f} kPa"
    if not bool(analysis["complete"].values[k]):
        subtitle += "; incomplete: cut by the mat edge or the recording"
    width, height = map_size(np.ptp(x) + 2 * (pitch or 0), np.ptp(y) + 2 * (pitch or 0))
    fig.update_layout(title=dict(text=f"Step {step}, {side_k} foot", subtitle=dict(text=subtitle)), showlegend=False,
                      width=width, height=height, **pressure_axis(float(peak.max())))  # fmt: skip
    mm_axes(fig)
    return fig


def _mean_step_map(analysis, side, regions, cop):
    aligned = aligned_peak_maps(analysis, side=side)
    mean = aligned["mean_peak_pressure_map"].values
    variable, base_regions, _ = label_scheme(analysis)
    labels = aligned[f"mean_{variable}"].values
    x, y = aligned["across_mm"].values, aligned["along_mm"].values
    fig = new_figure()
    fig.add_traces(region_heatmaps(mean, x, y, labels, x_name="across", y_name="along", base_regions=base_regions))
    if regions:
        fig.add_traces(outline_traces(labels, x, y, pitch=aligned.attrs["spacing_mm"]))
    if cop:
        fig.add_trace(_cop_trace(aligned["mean_cop_across"].values, aligned["mean_cop_along"].values,
                                 aligned["stance_percent"].values, "%{customdata:.0f} % of stance"))  # fmt: skip
    n = aligned.attrs["n_steps"]
    subtitle = (f"mean of {n} step{'s' if n != 1 else ''}' peak-pressure maps, aligned: highest cell "
                f"{float(np.nanmax(mean)):.0f} kPa; mean of the steps' peak values {_mean_peak(analysis, side):.0f} kPa")
    width, height = map_size(np.ptp(x), np.ptp(y))
    fig.update_layout(title=dict(text=f"Mean {side} step: peak pressure", subtitle=dict(text=subtitle)),
                      showlegend=False, width=width, height=height, **pressure_axis(float(mean.max())))  # fmt: skip
    mm_axes(fig, x_title=_ACROSS_TITLE, y_title=_ALONG_TITLE)
    return fig


def _mean_peak(analysis, side):
    """Mean over the side's complete steps of each step's whole-foot peak pressure (the report tables' number), kPa."""
    keep = analysis["complete"].values & (analysis["side"].values == side)
    peaks = analysis["peak_pressure"].sel(region="total").values[keep]
    return float(np.mean(peaks)) if peaks.size else float("nan")


def _cop_trace(x, y, when, when_format):
    return go.Scatter(x=mm(x), y=mm(y), customdata=np.asarray(when, dtype=np.float32), mode="lines",
                      line=dict(color=COP_COLOUR, width=2.5), name="centre of pressure",
                      hovertemplate="centre of pressure<br>" + when_format + "<extra></extra>")  # fmt: skip


def _range(steps):
    return f"{int(steps.min())} .. {int(steps.max())}" if steps.size else "none"


def walk_footprints(analysis, *, pass_index=None, max_cells=20_000):
    """The whole walk on the mat: every footprint, its side and its number.

    One panel per pass over the mat (passes back and forth would otherwise
    overlap), in mat coordinates on one scale. Each panel shows the peak
    pressure of each of the pass's steps (a heatmap per step, cropped to its
    footprint), each footprint outlined in its side's colour (blue left, orange
    right, grey unknown), dashed when the step is incomplete (cut by the mat
    edge or the recording), and its step number behind its heel (``*`` marks
    an incomplete step). The arrow in a panel's title is the walking direction
    in the mat frame.

    Parameters
    ----------
    analysis : xarray.Dataset
        An analysis from :func:`plantar.analyze`.
    pass_index : int | None
        Show only this pass (``analysis.pass_index``); ``None`` shows all.
    max_cells : int
        Most heatmap cells over all panels: a larger loaded area is shown with
        blocks of 2 x 2, 3 x 3, ... sensels (their maximum), keeping the figure
        light.

    Returns
    -------
    fig : plotly.graph_objects.Figure
        Per step a heatmap of peak pressure (kPa, one colour axis for all),
        per pass one outline trace per side and completeness, and one text
        trace of the step numbers (named ``"step numbers"``, hover: step and
        side); axes in mm with equal aspect.

    Raises
    ------
    ValueError
        If ``pass_index`` is not a pass of the analysis or ``max_cells`` is not
        a positive integer.

    Examples
    --------
    >>> import plantar
    >>> from plantar.viz import walk_footprints
    >>> trial, _ = plantar.synth.walk(seed=1, passes=1, mat_length_mm=1000.0)
    >>> analysis = plantar.analyze(trial)
    >>> fig = walk_footprints(analysis)
    >>> [list(t.text) for t in fig.data if t.name == "step numbers"]    # step 1 is cut by the mat edge
    [['0', '1*']]
    """
    check_analysis(analysis, "peak_pressure_map", "region_label", "complete", "pass_index")
    if analysis.attrs.get("map_layout") == "sensor":
        return sensor_map(analysis)
    if isinstance(max_cells, bool) or not isinstance(max_cells, (int, np.integer)) or max_cells < 1:
        raise ValueError(f"max_cells must be a positive integer, got {max_cells!r}")
    passes = analysis["pass_index"].values
    known = sorted(set(passes.tolist()))
    if pass_index is not None and pass_index not in known:
        raise ValueError(f"pass_index must be one of {known} or None, got {pass_index!r}")
    shown = known if pass_index is None else [pass_index]
    x_all, y_all = analysis["x"].values, analysis["y"].values
    pitch = min(_spacing(x_all, y_all)) or 1.0
    # Each step on its own box: a footprint is small, the mat between them empty.
    boxes = {}
    for k in np.flatnonzero(np.isin(passes, shown)):
        peak = np.nan_to_num(analysis["peak_pressure_map"].values[k])
        box = loaded_box((peak > 0) | (analysis["region_label"].values[k] > 0))
        if box is not None:
            boxes[k] = box
    total = sum((b[0].stop - b[0].start) * (b[1].stop - b[1].start) for b in boxes.values())
    factor = int(np.ceil(np.sqrt(total / max_cells))) if total > max_cells else 1
    labels = {k: _step_label(analysis, k) for k in boxes}
    panels = []  # (pass, steps, x span, y span), each spanning its footprints and their numbers
    for p in shown:
        steps = [k for k in np.flatnonzero(passes == p) if k in boxes]
        lx = [labels[k]["x"] for k in steps] + [x_all[boxes[k][1]][i] for k in steps for i in (0, -1)]
        ly = [labels[k]["y"] for k in steps] + [y_all[boxes[k][0]][i] for k in steps for i in (0, -1)]
        if steps:
            panels.append((p, steps, (min(lx) - 2 * pitch, max(lx) + 2 * pitch), (min(ly) - 3 * pitch, max(ly) + 3 * pitch)))
    if not panels:
        panels.append((None, [], (x_all[0] - pitch, x_all[0] + pitch), (y_all[0] - pitch, y_all[0] + pitch)))
    # Panels of one size and scale, as many per row as fit about 1100 px.
    width_mm = max(hi - lo for _, _, (lo, hi), _ in panels)
    y_lo, y_hi = min(p[3][0] for p in panels), max(p[3][1] for p in panels)
    aspect = width_mm / (y_hi - y_lo)
    panel_w = min(1100.0, 760.0 * aspect)
    n_cols = max(1, min(len(panels), int(1100.0 // (panel_w + 30.0)) or 1))
    n_rows = -(-len(panels) // n_cols)
    panel_h = panel_w / aspect
    plot_w, plot_h = n_cols * panel_w + (n_cols - 1) * 30.0, n_rows * panel_h + (n_rows - 1) * 60.0
    titles = [_pass_title(analysis, p, steps) for p, steps, *_ in panels]
    specs = [[{} if r * n_cols + c < len(panels) else None for c in range(n_cols)] for r in range(n_rows)]
    fig = new_figure(n_rows, n_cols, specs=specs, subplot_titles=titles, horizontal_spacing=30.0 / plot_w,
                     vertical_spacing=60.0 / plot_h)  # fmt: skip
    zmax, legend = 0.0, set()
    traces, rows_of, cols_of, axes = [], [], [], {}  # added in one call: plotly is slow one by one
    for i, (p, steps, x_span, _) in enumerate(panels):
        row, col = i // n_cols + 1, i % n_cols + 1
        groups, panel = {}, []
        for k in steps:
            rows, cols = boxes[k]
            z = pool_max(np.nan_to_num(analysis["peak_pressure_map"].values[k][rows, cols]), factor)
            zmax = max(zmax, float(z.max()))
            side, complete = str(analysis["side"].values[k]), bool(analysis["complete"].values[k])
            heat = pressure_heatmap(z, pooled_centres(x_all[cols], factor), pooled_centres(y_all[rows], factor),
                                    name=f"step {analysis['step'].values[k]}")  # fmt: skip
            heat.hovertemplate = f"step {analysis['step'].values[k]} ({side})<br>" + heat.hovertemplate
            panel.append(heat)
            xs, ys = outline(analysis["region_label"].values[k][rows, cols] > 0, x_all[cols], y_all[rows], pitch=pitch)
            groups.setdefault((side, complete), []).append((xs, ys))
        for (side, complete), lines in sorted(groups.items(), key=lambda item: (item[0][0], not item[0][1])):
            name = side + ("" if complete else " (incomplete)")
            panel.append(go.Scatter(
                x=np.concatenate([a for a, _ in lines]), y=np.concatenate([b for _, b in lines]), mode="lines",
                line=dict(color=SIDE_COLOURS.get(side, SIDE_COLOURS["unknown"]), width=1.5,
                          dash=None if complete else "dash"),
                name=name, legendgroup=name, showlegend=name not in legend, hoverinfo="skip",
            ))  # fmt: skip
            legend.add(name)
        if steps:
            panel.append(_step_numbers([labels[k] for k in steps]))
        traces += panel
        rows_of += [row] * len(panel)
        cols_of += [col] * len(panel)
        centre = 0.5 * (x_span[0] + x_span[1])
        axes.update(mm_axes_layout(
            fig, x_title="x (mm)" if row == n_rows or i + n_cols >= len(panels) else "",
            y_title="y (mm)" if col == 1 else "", row=row, col=col,
            x_range=(centre - width_mm / 2, centre + width_mm / 2), y_range=(y_lo, y_hi),
        ))  # fmt: skip
    if traces:
        fig.add_traces(traces, rows=rows_of, cols=cols_of)
    n_steps = sum(len(steps) for _, steps, *_ in panels)
    n_incomplete = sum(int(not analysis["complete"].values[k]) for _, steps, *_ in panels for k in steps)
    subtitle = f"{n_steps} step{'s' if n_steps != 1 else ''}"
    if n_incomplete:
        subtitle += f"; * = incomplete (dashed outline): {n_incomplete}"
    if factor > 1:
        subtitle += f"; shown in blocks of {factor} x {factor} sensels"
    set_layout(fig, dict(title=dict(text="Footprints of the walk", subtitle=dict(text=subtitle)),
                         width=int(plot_w + 200), height=int(plot_h + 200), margin=dict(t=110, b=90), **axes,
                         legend=dict(orientation="h", y=0.005, yanchor="bottom", yref="container"),
                         **pressure_axis(zmax)))  # fmt: skip
    return fig


def _pass_title(analysis, p, steps):
    """'pass p' and an arrow for the walking direction, from the first to the last heel centre."""
    if p is None:
        return "no steps"
    heel = np.column_stack([analysis["heel_x"].values[steps], analysis["heel_y"].values[steps]])
    heel = heel[np.isfinite(heel).all(axis=1)]
    if len(heel) < 2:
        return f"pass {p}"
    dx, dy = heel[-1] - heel[0]
    arrow = ("\u2192" if dx > 0 else "\u2190") if abs(dx) > abs(dy) else ("\u2191" if dy > 0 else "\u2193")
    return f"pass {p} {arrow}"


def _step_label(analysis, k):
    """Number of step k, placed behind its heel (or at its footprint's centre if the geometry is unknown)."""
    heel = np.array([float(analysis["heel_x"].values[k]), float(analysis["heel_y"].values[k])])
    angle = np.radians(float(analysis["axis_angle"].values[k]))
    length = float(analysis["foot_length"].values[k])
    if np.all(np.isfinite(heel)) and np.isfinite(angle) and np.isfinite(length):
        where = heel - (0.12 * length + 25.0) * np.array([np.cos(angle), np.sin(angle)])
    else:
        rows, cols = np.nonzero(analysis["region_label"].values[k] > 0)
        where = np.array([analysis["x"].values[cols].mean(), analysis["y"].values[rows].mean()])
    side = str(analysis["side"].values[k])
    complete = bool(analysis["complete"].values[k])
    step = int(analysis["step"].values[k])
    colour = SIDE_COLOURS.get(side, SIDE_COLOURS["unknown"]) if complete else SIDE_COLOURS["unknown"]
    return dict(x=round(float(where[0]), 1), y=round(float(where[1]), 1), text=f"{step}" + ("" if complete else "*"),
                colour=colour, hovertext=f"step {step}, {side}" + ("" if complete else ", incomplete"))  # fmt: skip


def _step_numbers(labels):
    """One text trace of the step numbers of a panel (one trace, not an annotation per step: far lighter)."""
    return go.Scatter(
        x=[label["x"] for label in labels], y=[label["y"] for label in labels], mode="text",
        text=[label["text"] for label in labels], hovertext=[label["hovertext"] for label in labels],
        textfont=dict(color=[label["colour"] for label in labels], size=13), hoverinfo="text",
        showlegend=False, name="step numbers", cliponaxis=False,
    )  # fmt: skip


def compare_maps(analyses, *, baseline, side, comparison=None):
    """Mean peak-pressure maps of conditions side by side, and their differences.

    Each condition's complete steps of ``side`` are aligned and averaged in the
    foot frame of :func:`plantar.geometry.aligned_peak_maps` (heel centre at the
    origin, the foot axis up, the same grid for all), so the feet lie on top of
    each other. The top row shows the mean maps on one colour range; the bottom
    row the difference of each condition from the baseline (condition minus
    baseline, kPa) on a diverging scale centred at 0, with the baseline's region
    outlines. Given a comparison from :func:`plantar.compare.compare`, the
    regions whose peak pressure changed beyond step-to-step noise
    (``beyond_noise``) are outlined thick and labelled with the change of their
    peak pressure in kPa (``diff``); composite regions (forefoot, toes, ...)
    only when none of their base regions is marked.

    Parameters
    ----------
    analyses : dict of str to xarray.Dataset
        Analyses by condition label (e.g. ``{"barefoot": a, "shod": b}``).
    baseline : str
        The condition the others are compared with.
    side : {"left", "right"}
        The side shown.
    comparison : xarray.Dataset | None
        A comparison of the same conditions, with ``beyond_noise`` (and, for
        the labels, ``diff``) over ``condition``, ``side``, ``region`` and
        ``metric``; the metric ``"peak_pressure"`` is used.

    Returns
    -------
    fig : plotly.graph_objects.Figure
        One column per condition (baseline first): the mean map on top (one
        heatmap per region, on a shared pressure colour axis, kPa), the
        difference below (one heatmap named ``"<condition> - <baseline>"``, on a
        second, diverging colour axis); axes in mm with equal aspect.

    On insole analyses (``map_layout = "sensor"``, the same sensors in every
    condition) each panel draws the insole's sensors with their outlines: the
    mean peak pressure of each sensor on top, its difference from the baseline
    below (``comparison`` is not used there).

    Raises
    ------
    ValueError
        If ``analyses`` is empty, ``baseline`` or ``side`` is not allowed, a
        condition has no complete step of that side, or ``comparison`` lacks a
        condition or the variables needed.

    Examples
    --------
    >>> import plantar
    >>> from plantar.viz import compare_maps
    >>> barefoot, _ = plantar.synth.walk(seed=0, passes=1, mat_length_mm=1000.0)
    >>> shod, _ = plantar.synth.walk(seed=0, passes=1, mat_length_mm=1000.0, condition="shod")
    >>> analyses = {"barefoot": plantar.analyze(barefoot), "shod": plantar.analyze(shod)}
    >>> fig = compare_maps(analyses, baseline="barefoot", side="left")
    >>> [panel.text for panel in fig.layout.annotations]
    ['barefoot (n = 1)', 'shod (n = 1)', 'shod - barefoot']
    """
    if not isinstance(analyses, dict) or not analyses:
        raise ValueError(f"analyses must be a non-empty dict of condition -> analysis, got {type(analyses).__name__}")
    if baseline not in analyses:
        raise ValueError(f"baseline must be one of {tuple(analyses)}, got {baseline!r}")
    if side not in ("left", "right"):
        raise ValueError(f"side must be one of ('left', 'right'), got {side!r}")
    conditions = [baseline] + [c for c in analyses if c != baseline]
    if all(a.attrs.get("map_layout") == "sensor" for a in analyses.values()):
        return _sensor_compare_maps(analyses, conditions, side)
    if comparison is not None:
        for name in ("beyond_noise", "condition", "region", "side", "metric"):
            if name not in comparison.variables:
                raise ValueError(f"comparison has no {name!r}: is it a comparison from plantar.compare()?")
        missing = [c for c in conditions[1:] if c not in comparison["condition"].values]
        if missing:
            raise ValueError(f"comparison has no condition {missing[0]!r} (it has {list(comparison.condition.values)})")
    spacing = min(min(_spacing(a["x"].values, a["y"].values)) for a in analyses.values())
    aligned = []
    for c in conditions:
        check_analysis(analyses[c], "peak_pressure_map", "region_label")
        try:
            aligned.append(aligned_peak_maps(analyses[c], side=side, spacing_mm=spacing))
        except ValueError as error:
            raise ValueError(f"condition {c!r}: {error}") from None
    # the conditions' own masking scheme if they share one (mask="anatomical"), else the percent regions
    schemes = {label_scheme(analyses[c])[1] for c in conditions}
    variable, base_regions, scheme_regions = label_scheme(analyses[baseline])
    if len(schemes) > 1:
        variable, base_regions, scheme_regions = "region_label", BASE_REGIONS, REGIONS
    means = xr.align(*[a[["mean_peak_pressure_map", f"mean_{variable}"]] for a in aligned], join="outer",
                     fill_value=0)  # fmt: skip
    x, y = means[0]["across_mm"].values, means[0]["along_mm"].values
    maps = [m["mean_peak_pressure_map"].values for m in means]
    labels = [m[f"mean_{variable}"].values for m in means]
    n = len(conditions)
    rows = 2 if n > 1 else 1
    titles = [f"{c} (n = {a.attrs['n_steps']})" for c, a in zip(conditions, aligned)]
    titles += [f"{c} - {baseline}" for c in conditions[1:]]
    specs = [[{}] * n] + ([[None] + [{}] * (n - 1)] if rows == 2 else [])
    fig = new_figure(rows, n, specs=specs, subplot_titles=titles, horizontal_spacing=0.06, vertical_spacing=0.08)
    placed, notes = [], []  # traces and labels added at once: plotly is slow one by one
    for j, (c, z, lab) in enumerate(zip(conditions, maps, labels)):
        heat = region_heatmaps(z, x, y, lab, x_name="across", y_name="along", base_regions=base_regions)
        placed += [(trace, 1, j + 1) for trace in heat + outline_traces(lab, x, y, pitch=spacing)]
    limit = 0.0
    base, base_labels = maps[0], labels[0]
    for j, (c, z) in enumerate(zip(conditions[1:], maps[1:]), start=2):
        diff = np.round(z.astype(np.float64) - base, 1).astype(np.float32)
        diff[(z <= 0) & (base <= 0)] = np.nan
        limit = max(limit, float(np.nanmax(np.abs(diff))) if np.isfinite(diff).any() else 0.0)
        placed.append((go.Heatmap(
            z=diff, x=mm(x), y=mm(y), text=region_text(base_labels, base_regions), coloraxis="coloraxis2",
            hoverongaps=False,
            name=f"{c} - {baseline}",
            hovertemplate="%{text}<br>across %{x:.0f} mm, along %{y:.0f} mm<br><b>%{z:+.1f} kPa</b><extra></extra>",
        ), 2, j))  # fmt: skip
        placed += [(trace, 2, j) for trace in outline_traces(base_labels, x, y, pitch=spacing)]
        if comparison is not None:
            _mark_changes(fig, placed, notes, comparison, c, side, base_labels, x, y, spacing, row=2, col=j,
                          base_regions=base_regions, regions=scheme_regions)  # fmt: skip
    add_placed(fig, placed)
    layout = pressure_axis(max(float(np.max(m)) for m in maps))
    if rows == 2:
        layout["coloraxis"]["colorbar"].update(len=0.45, y=0.78)
        layout.update(difference_axis(limit, x=1.02))
    for r in range(1, rows + 1):
        for j in range(1 if r == 1 else 2, n + 1):
            first = j == (1 if r == 1 else 2)
            y_title = _ALONG_TITLE if first else ""
            layout.update(mm_axes_layout(fig, x_title=_ACROSS_TITLE, y_title=y_title, row=r, col=j))
    set_layout(fig, dict(title=dict(text=f"Mean peak pressure, {side} foot: conditions compared with {baseline}"),
                         showlegend=False, width=280 * n + 160, height=590 * rows + 80,
                         annotations=list(fig.layout.annotations) + notes, **layout))  # fmt: skip
    return fig


def _mark_changes(fig, placed, notes, comparison, condition, side, labels, x, y, spacing, *, row, col,
                  base_regions=BASE_REGIONS, regions=REGIONS):  # fmt: skip
    """Outline thick, and label with the change, the regions whose peak pressure changed beyond noise.

    Base regions are marked one by one; a composite region (forefoot, toes, ...)
    only when none of its base regions is, so that no outline is drawn twice.
    The outlines go to ``placed`` as ``(trace, row, col)`` and the labels to
    ``notes`` as annotation dicts, for the caller to add at once.
    """
    changed = comparison["beyond_noise"].sel(condition=condition, side=side, metric="peak_pressure")
    marked = {str(r) for r, flag in zip(changed["region"].values, changed.values) if bool(flag) and str(r) in regions}
    base = [r for r in regions if r in marked and regions[r] == (r,)]
    composite = [r for r in regions if r in marked and regions[r] != (r,) and not set(regions[r]) & set(base)]
    x_name, y_name = axis_names(fig, row, col)
    for region in base + composite:
        mask = region_mask(labels, region, base_regions, regions)
        if not mask.any():
            continue
        placed += [(trace, row, col) for trace in outline_traces(mask, x, y, pitch=spacing, colour="black", width=3.0,
                                                                  name=f"{region} changed")]  # fmt: skip
        text, hover = "", f"{REGION_TITLES[region]}: changed beyond step-to-step noise"
        if "diff" in comparison:
            value = float(comparison["diff"].sel(condition=condition, side=side, region=region, metric="peak_pressure"))
            text, hover = f"{value:+.0f}", hover + f", {value:+.1f} kPa"
        rows, cols = np.nonzero(mask)
        notes.append(dict(x=round(float(x[cols].mean()), 1), y=round(float(y[rows].mean()), 1), text=f"<b>{text}</b>",
                          hovertext=hover, showarrow=False, font=dict(size=10, color="black"),
                          bgcolor="rgba(255,255,255,0.7)", xref=x_name, yref=y_name))  # fmt: skip


def sensor_map(analysis, *, step=None, side=None):
    """Peak pressure per sensor of an insole analysis, each sensor drawn with its true outline.

    One filled polygon per sensor (its ``outline_x``/``outline_y``), coloured by
    its peak pressure: of one step (its insole), or the mean over the complete
    steps of each insole (``side`` = one insole; neither = both insoles).
    Hovering a sensor gives its number, region and kPa.

    Parameters
    ----------
    analysis : xarray.Dataset
        An analysis of a sensor trial (attr ``map_layout = "sensor"``).
    step : int | None
        The step to show; ``None`` shows the mean of complete steps.
    side : {"left", "right"} | None
        With ``step=None``, only this insole.

    Returns
    -------
    fig : plotly.graph_objects.Figure
        The polygons (one trace per sensor, named ``"<side> <number>"``) and a
        marker-less trace carrying the kPa colour bar; axes in mm, equal aspect.

    Examples
    --------
    >>> import plantar
    >>> from plantar.viz.maps import sensor_map
    >>> trial, _, _ = plantar.synth.sensor_insoles(seed=1, duration_s=5.0)
    >>> fig = sensor_map(plantar.analyze(trial))
    >>> len([t for t in fig.data if t.fill == "toself"]) == trial.sizes["sensor"]
    True
    """
    from plotly.colors import sample_colorscale

    from ..regions import BASE_REGIONS

    if analysis.attrs.get("map_layout") != "sensor":
        raise ValueError("sensor_map needs the analysis of a trial of irregular sensors (map_layout 'sensor')")
    peaks = np.nan_to_num(analysis["peak_pressure_map"].values.astype(np.float64))
    sensor_side = analysis["sensor_side"].values
    sides = analysis["side"].values
    if step is not None:
        steps = analysis["step"].values
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step not in steps:
            raise ValueError(f"step must be one of the analysis's steps ({_range(steps)}), got {step!r}")
        k = int(np.flatnonzero(steps == step)[0])
        shown = sensor_side == sides[k]
        value = peaks[k]
        title = f"Step {step}, {sides[k]} insole: peak pressure per sensor"
    else:
        shown = np.isin(sensor_side, [side] if side else ["left", "right"])
        value = np.zeros(sensor_side.size)
        counts = []
        for s in np.unique(sensor_side[shown]):
            keep = analysis["complete"].values & (sides == s)
            own = sensor_side == s
            counts.append(f"{int(keep.sum())} {s}")
            if keep.any():
                value[own] = peaks[keep][:, own].mean(axis=0)
        title = (f"Mean {side + ' ' if side else ''}step: peak pressure per sensor "
                 f"(complete steps: {', '.join(counts)})")  # fmt: skip
    top = float(value[shown].max()) if shown.any() else 0.0
    scale = top if top > 0 else 1.0
    colours = sample_colorscale(PRESSURE_SCALE, np.clip(value / scale, 0, 1).tolist())
    ox, oy = analysis["outline_x"].values, analysis["outline_y"].values
    labels = analysis["region_label"].values.max(axis=0) if analysis.sizes["step"] else np.zeros(sensor_side.size, int)
    numbers = analysis["sensor_number"].values
    fig = new_figure()
    for i in np.flatnonzero(shown):
        keep = np.isfinite(ox[i])
        region = BASE_REGIONS[labels[i] - 1] if labels[i] > 0 else "-"
        fig.add_trace(go.Scatter(x=mm(np.r_[ox[i][keep], ox[i][keep][0]]), y=mm(np.r_[oy[i][keep], oy[i][keep][0]]),
                                 mode="lines", fill="toself", fillcolor=colours[i],
                                 line=dict(width=0.5, color="rgba(60, 60, 60, 0.6)"), hoveron="fills",
                                 name=f"{sensor_side[i]} {numbers[i]}",
                                 text=f"{sensor_side[i]} sensor {numbers[i]} ({region}): {value[i]:.1f} kPa",
                                 hoverinfo="text", showlegend=False))  # fmt: skip
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", showlegend=False, hoverinfo="skip", name="kPa",
                             marker=dict(coloraxis="coloraxis", color=[0.0, scale], showscale=True)))  # fmt: skip
    x_all, y_all = ox[shown][np.isfinite(ox[shown])], oy[shown][np.isfinite(oy[shown])]
    width, height = map_size(np.ptp(x_all) if x_all.size else 1.0, np.ptp(y_all) if y_all.size else 1.0)
    fig.update_layout(title=dict(text=title, subtitle=dict(text=f"highest sensor {top:.0f} kPa")), showlegend=False,
                      width=width, height=height, **pressure_axis(scale))  # fmt: skip
    mm_axes(fig)
    return fig


def _sensor_means(analysis, side, condition):
    keep = analysis["complete"].values & (analysis["side"].values == side)
    if not keep.any():
        raise ValueError(f"condition {condition!r} has no complete {side} step")
    own = analysis["sensor_side"].values == side
    return np.nan_to_num(analysis["peak_pressure_map"].values[keep][:, own].astype(np.float64)).mean(axis=0), own


def _sensor_compare_maps(analyses, conditions, side):
    """compare_maps on insole analyses: per-sensor mean peak maps and differences, drawn with the sensor outlines."""
    from plotly.colors import sample_colorscale

    first = analyses[conditions[0]]
    for c in conditions[1:]:
        a = analyses[c]
        same = a.sizes.get("sensor") == first.sizes.get("sensor") and all(
            np.array_equal(a[name].values, first[name].values, equal_nan=a[name].dtype.kind == "f")
            for name in ("sensor_number", "sensor_side", "outline_x", "outline_y"))  # fmt: skip
        if not same:
            raise ValueError(f"conditions {conditions[0]!r} and {c!r} were recorded with different insoles: their "
                             "sensor maps cannot be compared sensor by sensor")  # fmt: skip
    means, own = {}, None
    for c in conditions:
        means[c], own = _sensor_means(analyses[c], side, c)
    ox, oy = first["outline_x"].values[own], first["outline_y"].values[own]
    numbers = first["sensor_number"].values[own]
    n = len(conditions)
    titles = [f"{c} (n = {int((analyses[c].complete.values & (analyses[c].side.values == side)).sum())})"
              for c in conditions] + [""] + [f"{c} - {conditions[0]}" for c in conditions[1:]]  # fmt: skip
    fig = new_figure(rows=2, cols=n, subplot_titles=titles, vertical_spacing=0.08, horizontal_spacing=0.04)
    top = max(float(v.max()) for v in means.values()) or 1.0
    diffs = {c: means[c] - means[conditions[0]] for c in conditions[1:]}
    limit = max([float(np.abs(d).max()) for d in diffs.values()] + [1.0])

    def polygons(values, colours, row, col, unit_text):
        for i in range(values.size):
            keep = np.isfinite(ox[i])
            fig.add_trace(go.Scatter(
                x=mm(np.r_[ox[i][keep], ox[i][keep][0]]), y=mm(np.r_[oy[i][keep], oy[i][keep][0]]), mode="lines",
                fill="toself", fillcolor=colours[i], line=dict(width=0.4, color="rgba(60, 60, 60, 0.5)"),
                hoveron="fills", hoverinfo="text", showlegend=False, name=f"{side} {numbers[i]}",
                text=f"{side} sensor {numbers[i]}: {values[i]:+.1f} {unit_text}" if unit_text == "kPa change"
                else f"{side} sensor {numbers[i]}: {values[i]:.1f} kPa",
            ), row=row, col=col)  # fmt: skip

    for j, c in enumerate(conditions):
        polygons(means[c], sample_colorscale(PRESSURE_SCALE, np.clip(means[c] / top, 0, 1).tolist()), 1, j + 1, "kPa")
        if j:
            scale = np.clip(0.5 + diffs[c] / (2 * limit), 0, 1).tolist()
            polygons(diffs[c], sample_colorscale("RdBu_r", scale), 2, j + 1, "kPa change")
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", showlegend=False, hoverinfo="skip",
                             marker=dict(coloraxis="coloraxis", color=[0.0, top])), row=1, col=1)  # fmt: skip
    if n > 1:
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", showlegend=False, hoverinfo="skip",
                                 marker=dict(coloraxis="coloraxis2", color=[-limit, limit])), row=2, col=2)  # fmt: skip
    width, height = map_size(n * (np.nanmax(ox) - np.nanmin(ox)), 2 * (np.nanmax(oy) - np.nanmin(oy)))
    fig.update_layout(title=dict(text=f"{side.capitalize()} insole: mean peak pressure per sensor"),
                      showlegend=False, width=width, height=height, **pressure_axis(top),
                      **difference_axis(limit))  # fmt: skip
    for row in (1, 2):
        for col in range(1, n + 1):
            mm_axes(fig, row=row, col=col)
    return fig


__all__ = ["compare_maps", "peak_pressure_map", "sensor_map", "walk_footprints"]
