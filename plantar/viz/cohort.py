"""Figures of a cohort: where under the foot two conditions differ (sensel statistics)."""

import numpy as np
import plotly.graph_objects as go

from ._common import DIFFERENCE_SCALE, map_size, mm, mm_axes, new_figure, outline_traces

_ALONG_TITLE = "along the foot axis (mm from heel centre)"
_ACROSS_TITLE = "across (mm, + = right)"


def pixel_map(result):
    """The mean difference between two conditions under the foot, significant sensels outlined.

    Parameters
    ----------
    result : xarray.Dataset
        A result of :func:`plantar.pixel_compare`.

    Returns
    -------
    fig : plotly.graph_objects.Figure
        A heatmap of the subjects' mean difference of peak pressure (kPa,
        blue = less, red = more) on the tested sensels, in the foot frame
        (toes up), with the significant sensels (family-wise error at most
        alpha) outlined in black and the tested area in grey. On insoles of
        irregular sensors (a result on ``sensor``) each sensor is drawn with
        its true outline (one filled polygon per sensor, named
        ``"sensor <number>"``), coloured by its mean difference, untested
        sensors grey and significant ones outlined in black.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> import plantar
    >>> rng = np.random.default_rng(1)
    >>> base = 100 + rng.normal(0, 10, (8, 1, 1, 12, 6))
    >>> after = base + rng.normal(0, 5, base.shape)
    >>> after[..., 4:6, 2:4] -= 30
    >>> maps = xr.Dataset({"mean_peak_pressure_map": (("subject", "condition", "side", "along_mm", "across_mm"),
    ...                     np.concatenate([base, after], axis=1))},
    ...                   coords={"condition": ["barefoot", "insole"], "side": ["right"],
    ...                           "along_mm": np.arange(12) * 5.0, "across_mm": np.arange(6) * 5.0})
    >>> result = plantar.pixel_compare(maps, condition="insole", baseline="barefoot", side="right")
    >>> fig = plantar.viz.pixel_map(result)
    >>> [trace.type for trace in fig.data][:1]
    ['heatmap']
    """
    for name in ("mean_diff", "significant", "tested", "t"):
        if name not in result:
            raise ValueError(f"result has no {name!r}: is it from plantar.pixel_compare()?")
    if "sensor" in result["t"].dims:
        return _sensor_pixel_map(result)
    x, y = result["across_mm"].values, result["along_mm"].values
    tested = result["tested"].values
    diff = np.where(tested, result["mean_diff"].values, np.nan)
    limit = float(np.nanmax(np.abs(diff))) if np.isfinite(diff).any() else 1.0
    significant = result["significant"].values
    fig = new_figure()
    fig.add_trace(go.Heatmap(
        z=np.round(diff, 1).astype(np.float32), x=x, y=y, customdata=np.round(result["t"].values, 2),
        coloraxis="coloraxis", name="mean difference",
        hovertemplate="across %{x:.0f} mm, along %{y:.0f} mm<br><b>%{z:.1f} kPa</b>, t = %{customdata}<extra></extra>",
    ))  # fmt: skip
    spacing = float(abs(x[1] - x[0])) if x.size > 1 else None
    fig.add_traces(outline_traces(tested.astype(np.int8), x, y, pitch=spacing, colour="rgba(120,120,120,0.9)",
                                  dash="dot", name="tested"))  # fmt: skip
    if significant.any():
        fig.add_traces(outline_traces(significant.astype(np.int8), x, y, pitch=spacing, width=2.5,
                                      name="significant", showlegend=True))  # fmt: skip
    a = result.attrs
    subtitle = (f"{a['n_subjects']} subjects, {a['condition']} - {a['baseline']}; {int(significant.sum())} sensels "
                f"significant ({a['method']} statistic, {a['n_permutations']} sign flips, family-wise alpha "
                f"{a['alpha']:g})")  # fmt: skip
    width, height = map_size(np.ptp(x), np.ptp(y))
    fig.update_layout(
        title=dict(text=f"Where the {a['side']} foot's peak pressure changed", subtitle=dict(text=subtitle)),
        width=max(width, 560), height=height, showlegend=True,
        legend=dict(x=1.0, y=0.0, xanchor="right", yanchor="bottom"),
        coloraxis=dict(colorscale=DIFFERENCE_SCALE, cmin=-limit, cmax=limit, colorbar=dict(title=dict(text="kPa"))),
    )  # fmt: skip
    mm_axes(fig, x_title=_ACROSS_TITLE, y_title=_ALONG_TITLE)
    return fig


def _sensor_pixel_map(result):
    """pixel_map of a per-sensor result: one polygon per sensor, its true outline."""
    from plotly.colors import sample_colorscale

    for name in ("outline_x", "outline_y"):
        if name not in result.coords:
            raise ValueError(f"a per-sensor result needs the sensors' {name!r} (the maps of plantar.batch carry it)")
    tested, significant = result["tested"].values, result["significant"].values
    diff = np.where(tested, result["mean_diff"].values, np.nan)
    limit = float(np.nanmax(np.abs(diff))) if np.isfinite(diff).any() and np.nanmax(np.abs(diff)) > 0 else 1.0
    colours = sample_colorscale(DIFFERENCE_SCALE, np.clip(0.5 + np.nan_to_num(diff) / (2 * limit), 0, 1).tolist())
    ox, oy = result["outline_x"].values, result["outline_y"].values
    numbers, t, p = result["sensor"].values, result["t"].values, result["p_corrected"].values
    fig = new_figure()
    for i in range(numbers.size):  # one polygon per sensor (about a hundred)
        keep = np.isfinite(ox[i])
        if not keep.any():
            continue
        text = (f"sensor {numbers[i]}: {diff[i]:+.1f} kPa, t = {t[i]:.2f}, corrected p = {p[i]:.3f}" if tested[i]
                else f"sensor {numbers[i]}: not tested")  # fmt: skip
        fig.add_trace(go.Scatter(
            x=mm(np.r_[ox[i][keep], ox[i][keep][0]]), y=mm(np.r_[oy[i][keep], oy[i][keep][0]]), mode="lines",
            fill="toself", fillcolor=colours[i] if tested[i] else "rgba(200, 200, 200, 0.6)",
            line=dict(width=2.5, color="black") if significant[i] else dict(width=0.5, color="rgba(90, 90, 90, 0.7)"),
            hoveron="fills", hoverinfo="text", text=text, name=f"sensor {numbers[i]}", showlegend=False,
        ))  # fmt: skip
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", showlegend=False, hoverinfo="skip", name="kPa",
                             marker=dict(coloraxis="coloraxis", color=[-limit, limit], showscale=True)))  # fmt: skip
    if significant.any():
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line=dict(width=2.5, color="black"),
                                 name="significant", showlegend=True))  # fmt: skip
    a = result.attrs
    subtitle = (f"{a['n_subjects']} subjects, {a['condition']} - {a['baseline']}; {int(significant.sum())} of "
                f"{int(tested.sum())} tested sensors significant ({a['method']} statistic, {a['n_permutations']} sign "
                f"flips, family-wise alpha {a['alpha']:g})")  # fmt: skip
    width, height = map_size(np.nanmax(ox) - np.nanmin(ox), np.nanmax(oy) - np.nanmin(oy))
    fig.update_layout(
        title=dict(text=f"Where the {a['side']} foot's peak pressure changed, per sensor",
                   subtitle=dict(text=subtitle)),
        width=max(width, 560), height=height, showlegend=True,
        legend=dict(x=1.0, y=0.0, xanchor="right", yanchor="bottom"),
        coloraxis=dict(colorscale=DIFFERENCE_SCALE, cmin=-limit, cmax=limit, colorbar=dict(title=dict(text="kPa"))),
    )  # fmt: skip
    mm_axes(fig, x_title="x in the insole (mm)", y_title="y in the insole (mm, toes up)")
    return fig
