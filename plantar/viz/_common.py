"""What the figures share: colours, axes in mm, heatmaps kept light, region outlines.

Figures are embedded many times in a report, so every array is sent as a compact
typed array (float32, rounded), heatmaps are cropped to what is loaded, zero
pressure is left out (NaN: transparent, no hover), and the figures use no
template (plotly's default template alone is 6 kB of JSON per figure).
"""

import numpy as np
import plotly.graph_objects as go
from plotly.colors import sequential
from plotly.subplots import make_subplots

from ..regions import BASE_REGIONS, MASKS, REGIONS, get_mask

#: Left and right, from the Okabe-Ito palette (safe for colour-blind readers).
SIDE_COLOURS = {"left": "#0072B2", "right": "#D55E00", "unknown": "#7F7F7F"}

#: The one name of each region a reader sees: figures, report tables and sentences.
REGION_TITLES = {
    "total": "whole foot",
    "heel": "heel",
    "arch": "midfoot",
    "forefoot": "forefoot",
    "metatarsal_heads": "metatarsal heads",
    "toes": "toes",
    "mth1": "1st metatarsal head",
    "mth2_3": "2nd-3rd metatarsal heads",
    "mth4_5": "4th-5th metatarsal heads",
    "hallux": "hallux",
    "lesser_toes": "lesser toes",
    # the anatomical scheme's own regions (plantar.regions.AnatomicalMask)
    "mth2": "2nd metatarsal head",
    "mth3": "3rd metatarsal head",
    "mth4": "4th metatarsal head",
    "mth5": "5th metatarsal head",
    "toe2": "second toe",
    "toes3_5": "3rd-5th toes",
}

#: Pressure: inferno from light (low) to dark (high), so that peaks stand out on the
#: white of no contact; perceptually uniform and ordered in lightness (readable in
#: grey and by colour-blind readers).
PRESSURE_SCALE = [[i / (len(sequential.Inferno) - 1), c] for i, c in enumerate(sequential.Inferno_r)]

#: Differences: blue (less) - white (0) - red (more), ColorBrewer RdBu reversed.
DIFFERENCE_SCALE = "RdBu_r"

#: Colour of outlines and paths drawn over a pressure map.
OUTLINE_COLOUR = "rgba(30, 30, 30, 0.8)"
HALO_COLOUR = "rgba(255, 255, 255, 0.85)"
COP_COLOUR = "#00A6D6"


def new_figure(rows=1, cols=1, **subplots):
    """A plain white figure (no template), with subplots if asked."""
    if rows * cols > 1 or subplots:
        fig = make_subplots(rows=rows, cols=cols, **subplots)
    else:
        fig = go.Figure()
    set_layout(fig, dict(
        template="none",
        paper_bgcolor="white",
        plot_bgcolor="white",
        font=dict(family="Arial, sans-serif", size=12, color="#222"),
        margin=dict(l=60, r=30, t=90, b=50),
        hoverlabel=dict(bgcolor="white"),
        legend=dict(bgcolor="rgba(255,255,255,0.7)"),
    ))  # fmt: skip
    return fig


def set_layout(fig, layout):
    """Merge ``layout`` (nested dicts, no ``a_b`` shorthands) into the figure's layout, in one assignment.

    Like ``fig.update_layout(**layout)``, but many times faster for a figure with
    many subplots: ``update_layout`` checks every key against the whole layout,
    whereas the layout assigned as one dict is validated once.
    """
    merged = fig.layout.to_plotly_json()
    _merge(merged, layout)
    fig.layout = merged


def add_placed(fig, placed):
    """Add ``(trace, row, col)`` triples to a figure with subplots in one call (one by one is slower)."""
    if placed:
        traces, rows, cols = zip(*placed)
        fig.add_traces(list(traces), rows=list(rows), cols=list(cols))


def _merge(base, update):
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def axis_names(fig, row=1, col=1):
    """(xaxis, yaxis) reference names of a subplot: ("x", "y"), ("x2", "y2"), ..."""
    if fig._grid_ref is None:
        return "x", "y"
    subplot = fig.get_subplot(row, col)
    return subplot.xaxis.plotly_name.replace("axis", ""), subplot.yaxis.plotly_name.replace("axis", "")


def mm_axes(fig, *, x_title="x (mm)", y_title="y (mm)", row=None, col=None):
    """Axes in mm with equal aspect (1 mm across = 1 mm up) on one subplot or the figure."""
    if row is None:
        x_name, _ = axis_names(fig)
        fig.update_xaxes(title_text=x_title, constrain="domain", **_MM_STYLE)
        fig.update_yaxes(title_text=y_title, scaleanchor=x_name, scaleratio=1, constrain="domain", **_MM_STYLE)
    else:
        set_layout(fig, mm_axes_layout(fig, x_title=x_title, y_title=y_title, row=row, col=col))


def mm_axes_layout(fig, *, x_title="x (mm)", y_title="y (mm)", row=1, col=1, x_range=None, y_range=None):
    """Layout entries of :func:`mm_axes` for one subplot (and its ranges), to set many subplots at once.

    One ``update_layout`` with the axes of every subplot is much faster than an
    ``update_xaxes(row=..., col=...)`` per subplot, which searches the layout
    each time.
    """
    x_name, y_name = axis_names(fig, row, col)
    x_axis = dict(title=dict(text=x_title), constrain="domain", **_MM_STYLE)
    y_axis = dict(title=dict(text=y_title), scaleanchor=x_name, scaleratio=1, constrain="domain", **_MM_STYLE)
    if x_range is not None:
        x_axis["range"] = [float(v) for v in x_range]
    if y_range is not None:
        y_axis["range"] = [float(v) for v in y_range]
    return {_layout_key(x_name): x_axis, _layout_key(y_name): y_axis}


def plain_axes(fig, *, x_title, y_title, row=None, col=None):
    """Ordinary value axes with a light grid."""
    if row is None:
        fig.update_xaxes(title_text=x_title, **_PLAIN_STYLE)
        fig.update_yaxes(title_text=y_title, **_PLAIN_STYLE)
    else:
        set_layout(fig, plain_axes_layout(fig, x_title=x_title, y_title=y_title, row=row, col=col))


def plain_axes_layout(fig, *, x_title, y_title, row=1, col=1, x_range=None):
    """Layout entries of :func:`plain_axes` for one subplot, to set many subplots at once."""
    x_name, y_name = axis_names(fig, row, col)
    x_axis = dict(title=dict(text=x_title), **_PLAIN_STYLE)
    if x_range is not None:
        x_axis["range"] = [float(v) for v in x_range]
    return {_layout_key(x_name): x_axis, _layout_key(y_name): dict(title=dict(text=y_title), **_PLAIN_STYLE)}


_MM_STYLE = dict(showgrid=False, zeroline=False, ticks="outside", showline=True, linecolor="#999", mirror=False)
_PLAIN_STYLE = dict(showgrid=True, gridcolor="#E5E5E5", zeroline=False, ticks="outside", showline=True,
                    linecolor="#999")  # fmt: skip


def _layout_key(axis_name):
    """Layout key of an axis reference: "x" -> "xaxis", "y3" -> "yaxis3"."""
    return axis_name[0] + "axis" + axis_name[1:]


def pressure_axis(zmax_kpa, *, name="coloraxis", title="kPa"):
    """Layout entry of a shared pressure colour axis from 0 to ``zmax_kpa``."""
    top = float(np.ceil(zmax_kpa)) if np.isfinite(zmax_kpa) and zmax_kpa > 0 else 1.0
    return {name: dict(colorscale=PRESSURE_SCALE, cmin=0.0, cmax=top,
                       colorbar=dict(title=dict(text=title), thickness=14, len=0.8))}  # fmt: skip


def difference_axis(limit_kpa, *, name="coloraxis2", x=1.12):
    """Layout entry of a diverging colour axis centred at 0, from -limit to +limit kPa."""
    top = float(np.ceil(limit_kpa)) if np.isfinite(limit_kpa) and limit_kpa > 0 else 1.0
    return {name: dict(colorscale=DIFFERENCE_SCALE, cmin=-top, cmax=top, cmid=0.0,
                       colorbar=dict(title=dict(text="kPa"), thickness=14, len=0.45, y=0.22, x=x))}  # fmt: skip


def kpa(values, *, blank_zero=True, decimals=1):
    """Pressures rounded to ``decimals`` as float32, zero (no contact) as NaN."""
    z = np.round(np.nan_to_num(np.asarray(values, dtype=np.float64)), decimals).astype(np.float32)
    if blank_zero:
        z[z <= 0] = np.nan
    return z


def mm(values, decimals=1):
    """Positions rounded to 0.1 mm, float32 (NaN kept: it breaks a line)."""
    return np.round(np.asarray(values, dtype=np.float64), decimals).astype(np.float32)


def label_scheme(analysis):
    """What a map of ``analysis`` labels its cells with: ``(variable, base regions, regions)``.

    An analysis with a masking scheme of its own (``mask="anatomical"``) keeps
    its labels in ``mask_label`` (``region_label`` holds their coarse percent
    equivalents); its maps are drawn and hovered with the scheme's own regions,
    those its tables report.
    """
    name = analysis.attrs.get("mask", "percent")
    if "mask_label" in analysis.variables and name in MASKS:
        scheme = get_mask(name)
        return "mask_label", tuple(scheme.base_regions), dict(scheme.regions)
    return "region_label", BASE_REGIONS, REGIONS


def region_text(labels, base_regions=BASE_REGIONS):
    """Region name of each labelled cell ('' outside), for hover text; label k is ``base_regions[k - 1]``."""
    names = np.array([""] + [REGION_TITLES[r] for r in base_regions], dtype=object)
    return names[np.clip(np.asarray(labels, dtype=int), 0, len(base_regions))]


def region_mask(labels, region, base_regions=BASE_REGIONS, regions=REGIONS):
    """Cells of a (possibly composite) region of ``regions`` (default :data:`plantar.regions.REGIONS`)."""
    codes = [base_regions.index(r) + 1 for r in regions[region]]
    return np.isin(labels, codes)


def loaded_box(loaded, margin=1):
    """(rows, cols) slices of the cells that are True, with a margin; None if none is."""
    rows, cols = np.flatnonzero(loaded.any(axis=1)), np.flatnonzero(loaded.any(axis=0))
    if rows.size == 0:
        return None
    return (slice(max(rows[0] - margin, 0), rows[-1] + 1 + margin),
            slice(max(cols[0] - margin, 0), cols[-1] + 1 + margin))  # fmt: skip


def cell_edges(centres, pitch=None):
    """Edges of the cells whose centres are given (n + 1 of them)."""
    c = np.asarray(centres, dtype=float)
    if c.size == 1:
        half = 0.5 * (pitch or 1.0)
        return np.array([c[0] - half, c[0] + half])
    mid = 0.5 * (c[1:] + c[:-1])
    return np.concatenate([[c[0] - (mid[0] - c[0])], mid, [c[-1] + (c[-1] - mid[-1])]])


def outline(labels, x, y, *, pitch=None):
    """Boundaries between cells of different labels, as polylines with NaN breaks.

    The outline follows the cell edges (the sensels as they are). The edges are
    found and merged into straight runs with array operations (no loop over
    cells); the runs are then joined end to end into polylines, which keeps the
    figure small (a footprint has a few hundred runs).

    Parameters
    ----------
    labels : ndarray, shape (n_rows, n_cols)
        Label (or bool mask) per cell; the outside of the array counts as 0.
    x, y : ndarray
        Cell centres of the columns and rows, mm.

    Returns
    -------
    xs, ys : ndarray of float32
        Polyline vertices, mm, each polyline followed by a NaN.
    """
    labels = np.asarray(labels)
    padded = np.pad(labels.astype(np.int16), 1)
    xe, ye = cell_edges(x, pitch), cell_edges(y, pitch)
    # Vertical edges: left edge of column j (0..n_cols) in row i, merged along rows.
    vertical = padded[1:-1, :-1] != padded[1:-1, 1:]  # (n_rows, n_cols + 1)
    col, start, end = _runs(vertical.T)
    # Horizontal edges: bottom edge of row i (0..n_rows) in column j, merged along columns.
    horizontal = padded[:-1, 1:-1] != padded[1:, 1:-1]  # (n_rows + 1, n_cols)
    row, left, right = _runs(horizontal)
    # Segment ends as (edge column, edge row) indices into xe, ye.
    first = np.concatenate([np.column_stack([col, start]), np.column_stack([left, row])])
    last = np.concatenate([np.column_stack([col, end]), np.column_stack([right, row])])
    vertices = []
    for chain in _chains(first, last):
        vertices.extend(chain)
        vertices.append((-1, -1))
    if not vertices:
        return np.zeros(0, np.float32), np.zeros(0, np.float32)
    ix, iy = np.array(vertices).T
    gap = ix < 0
    return mm(np.where(gap, np.nan, xe[ix])), mm(np.where(gap, np.nan, ye[iy]))


def _chains(first, last):
    """Join segments (first -> last vertex) that share an end into polylines (lists of vertices)."""
    from collections import deque

    ends = {}
    for i, (a, b) in enumerate(zip(map(tuple, first), map(tuple, last))):
        ends.setdefault(a, []).append(i)
        ends.setdefault(b, []).append(i)
    used = np.zeros(len(first), dtype=bool)
    chains = []
    for i in range(len(first)):  # a few hundred runs of a footprint's boundary, not cells
        if used[i]:
            continue
        used[i] = True
        chain = deque([tuple(first[i]), tuple(last[i])])
        for forward in (True, False):
            while True:
                tip = chain[-1] if forward else chain[0]
                j = next((j for j in ends[tip] if not used[j]), None)
                if j is None:
                    break
                used[j] = True
                other = tuple(last[j]) if tuple(first[j]) == tip else tuple(first[j])
                chain.append(other) if forward else chain.appendleft(other)
        chains.append(list(chain))
    return chains


def _runs(mask):
    """Runs of True along axis 1: (line, first, one past last) for each run."""
    padded = np.pad(mask.astype(np.int8), ((0, 0), (1, 1)))
    step = np.diff(padded, axis=1)
    line, start = np.nonzero(step == 1)
    _, end = np.nonzero(step == -1)
    return line, start, end


def outline_traces(labels, x, y, *, pitch=None, colour=OUTLINE_COLOUR, width=1.0, name="regions", dash=None,
                   halo=True, **kwargs):  # fmt: skip
    """Line traces of :func:`outline`, not hoverable: a white halo (seen over dark cells) and the line."""
    xs, ys = outline(labels, x, y, pitch=pitch)
    traces = []
    if halo:
        traces.append(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color=HALO_COLOUR, width=width + 2.0),
                                 hoverinfo="skip", showlegend=False, name=f"{name} (halo)"))  # fmt: skip
    traces.append(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color=colour, width=width, dash=dash), name=name,
                             hoverinfo="skip", showlegend=kwargs.pop("showlegend", False), **kwargs))  # fmt: skip
    return traces


def map_size(x_extent_mm, y_extent_mm, *, plot_height=620, extra_width=190, extra_height=140, min_width=380):
    """(width, height) in px of a figure whose plot shows x by y mm at equal scale."""
    plot_width = plot_height * float(x_extent_mm) / max(float(y_extent_mm), 1e-9)
    return max(int(round(plot_width + extra_width)), min_width), int(plot_height + extra_height)


def pressure_heatmap(z_kpa, x, y, *, labels=None, x_name="x", y_name="y", coloraxis="coloraxis", name="peak pressure"):
    """A heatmap of pressure: rounded to 0.1 kPa, zero transparent, hover with kPa, region and mm."""
    hover = f"{x_name} %{{x:.0f}} mm, {y_name} %{{y:.0f}} mm<br><b>%{{z:.1f}} kPa</b>"
    text = None
    if labels is not None:
        text = region_text(labels)
        hover = "%{text}<br>" + hover
    return go.Heatmap(z=kpa(z_kpa), x=mm(x), y=mm(y), text=text, coloraxis=coloraxis, hoverongaps=False,
                      hovertemplate=hover + "<extra></extra>", name=name)  # fmt: skip


def region_heatmaps(z_kpa, x, y, labels, *, x_name="x", y_name="y", coloraxis="coloraxis", base_regions=BASE_REGIONS):
    """Pressure as one heatmap per base region, each cropped to its region, named and hovered by it.

    A per-cell text of region names would weigh more than the pressures
    themselves; a heatmap per region carries the name once, in its hover
    template, and its box is tighter than the footprint's. Cells outside every
    region (below the contact threshold) are left out.
    """
    z_kpa, labels = np.asarray(z_kpa), np.asarray(labels)
    traces = []
    for code, region in enumerate(base_regions, start=1):
        inside = labels == code
        box = loaded_box(inside, margin=0)
        if box is None:
            continue
        z = np.where(inside[box], z_kpa[box], 0.0)
        title = REGION_TITLES[region]
        hover = f"<b>{title}</b><br>{x_name} %{{x:.0f}} mm, {y_name} %{{y:.0f}} mm<br><b>%{{z:.1f}} kPa</b>"
        traces.append(go.Heatmap(z=kpa(z), x=mm(x[box[1]]), y=mm(y[box[0]]), coloraxis=coloraxis, hoverongaps=False,
                                 hovertemplate=hover + "<extra></extra>", name=title))  # fmt: skip
    return traces


def check_analysis(analysis, *names):
    """Refuse what is not an analysis from plantar.analyze(); return it, an ``analysis/1`` upgraded."""
    from ..analyze import _current

    analysis = _current(analysis)
    for name in names:
        if name not in analysis:
            raise ValueError(f"the analysis has no {name!r}: is it an analysis from plantar.analyze()?")
    return analysis


def pool_max(values, factor):
    """Max over blocks of ``factor`` x ``factor`` (or ``(rows, cols)``) cells of the last two axes (zero padded)."""
    fy, fx = (factor, factor) if np.isscalar(factor) else factor
    if (fy, fx) == (1, 1):
        return values
    *lead, n_rows, n_cols = values.shape
    rows, cols = -(-n_rows // fy) * fy, -(-n_cols // fx) * fx
    padded = np.zeros((*lead, rows, cols), dtype=values.dtype)
    padded[..., :n_rows, :n_cols] = values
    blocks = padded.reshape(*lead, rows // fy, fy, cols // fx, fx)
    return blocks.max(axis=(-3, -1))


def pooled_centres(centres, factor):
    """Centres of blocks of ``factor`` cells (evenly spaced cells, the last block padded)."""
    c = np.asarray(centres, dtype=float)
    if factor == 1:
        return c
    pitch = float(np.median(np.diff(c))) if c.size > 1 else 1.0
    n = -(-c.size // factor)
    return c[0] + (np.arange(n) * factor + 0.5 * (factor - 1)) * pitch
