"""The pressure frames of a trial as an animation, light enough to embed in a report."""

import numbers

import numpy as np
import plotly.graph_objects as go

from .._schema import check_trial, is_sensor_trial
from ..metrics import _BLOCK_FRAMES
from ._common import PRESSURE_SCALE, loaded_box, map_size, mm, mm_axes, new_figure, pool_max, pooled_centres


def pressure_animation(trial, *, max_frames=150, time_range_s=None, max_values=400_000, check=True):
    """The pressure frames as an animated heatmap with a play button and a time slider.

    To stay light (a 60 s walkway recording gives about 1 MB of figure JSON),
    the animation shows at most ``max_frames`` frames, evenly spread over the
    frames with load (frames with nobody on the mat are skipped), and each
    frame only over the sensels loaded in it: the axes cover the part of the
    mat loaded during the recording, and each frame sends the box around its
    own load. Pressures are rounded to 1 kPa. If the frames still hold more
    than ``max_values`` cells, sensels are combined in blocks of 2 x 2, 3 x 3,
    ... (their maximum, so peaks are kept).

    Parameters
    ----------
    trial : xarray.Dataset
        A trial (schema ``trial/1``) with ``pressure`` in kPa.
    max_frames : int
        Most frames in the animation.
    time_range_s : tuple of float | None
        ``(start, end)`` in s: animate only this part of the recording.
    max_values : int
        Most pressure values sent over all frames.
    check : bool
        Check the trial with :func:`plantar.check_trial` first (default). A
        caller that already checked it (the report: the trial was analysed)
        passes False to save the time of a second check.

    Returns
    -------
    fig : plotly.graph_objects.Figure
        A heatmap (kPa on a fixed colour range, zero white; hover with position
        in mm and kPa) with one animation frame per frame shown, named by its
        time, a play / pause button and a time slider; axes in mm with equal
        aspect. On a trial of irregular sensors (insoles): the sensors' outlines,
        and a marker at each sensor's centroid coloured by its pressure in each frame.

    Raises
    ------
    ValueError
        If an option is not allowed or no frame lies in ``time_range_s``.

    Examples
    --------
    >>> import plantar
    >>> from plantar.viz import pressure_animation
    >>> trial, _ = plantar.synth.walk(seed=1, passes=1, mat_length_mm=1000.0)
    >>> fig = pressure_animation(trial, max_frames=40)
    >>> len(fig.frames), len(fig.layout.sliders[0].steps)
    (40, 40)
    >>> fig.layout.sliders[0].currentvalue.suffix
    ' s'
    """
    if check:
        check_trial(trial)
    for name, value in (("max_frames", max_frames), ("max_values", max_values)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    time = trial["time"].values
    chosen = np.ones(time.size, dtype=bool)
    if time_range_s is not None:
        try:
            start, end = (float(t) for t in time_range_s)
        except (TypeError, ValueError):
            raise ValueError(f"time_range_s must be (start, end) in s or None, got {time_range_s!r}") from None
        if not start < end:
            raise ValueError(f"time_range_s must be (start, end) with start < end, got {time_range_s!r}")
        chosen = (time >= start) & (time <= end)
        if not chosen.any():
            raise ValueError(f"no frame lies in time_range_s={time_range_s!r} (the trial runs "
                             f"{time[0]:.2f} .. {time[-1]:.2f} s)")  # fmt: skip
    pressure = trial["pressure"].values
    loaded = chosen & _loaded_frames(pressure)
    candidates = np.flatnonzero(loaded) if loaded.any() else np.flatnonzero(chosen)[:1]
    picks = np.unique(np.round(np.linspace(0, candidates.size - 1, min(max_frames, candidates.size))).astype(int))
    frames = candidates[picks]
    if is_sensor_trial(trial):
        return _sensor_animation(trial, frames, candidates.size)
    stack = np.nan_to_num(pressure[frames])  # (n_shown, y, x)
    x, y = trial["x"].values, trial["y"].values
    box = loaded_box((stack > 0).any(axis=0)) or (slice(0, 1), slice(0, 1))
    stack, x, y = stack[:, box[0], box[1]], x[box[1]], y[box[0]]

    # Per-frame boxes; the coarsest pooling needed to fit max_values.
    factor = 1
    while _cells(stack > 0, factor) > max_values and factor < max(stack.shape[1:]):
        factor += 1
    pooled = np.round(pool_max(stack, factor)).astype(np.uint16)
    x, y = pooled_centres(x, factor), pooled_centres(y, factor)
    rows_on, cols_on = (pooled > 0).any(axis=2), (pooled > 0).any(axis=1)
    pitch_x = float(np.median(np.diff(x))) if x.size > 1 else 1.0
    pitch_y = float(np.median(np.diff(y))) if y.size > 1 else 1.0
    zmax = max(float(pooled.max()), 1.0)

    def heatmap(i):  # a plain dict: plotly validates a frame's dict faster than a graph object
        r, c = _span(rows_on[i]), _span(cols_on[i])
        return dict(type="heatmap", z=pooled[i, r, c], x=mm(x[c]), y=mm(y[r]))

    names = [f"{time[f]:.2f}" for f in frames]
    fig = new_figure()
    first = {key: value for key, value in heatmap(0).items() if key != "type"}
    fig.add_trace(go.Heatmap(
        **first, coloraxis="coloraxis", name="pressure",
        hovertemplate="x %{x:.0f} mm, y %{y:.0f} mm<br><b>%{z} kPa</b><extra></extra>",
    ))  # fmt: skip
    # One animation frame per frame shown: only its z, x and y (the rest stays).
    fig.frames = [dict(data=[heatmap(i)], traces=[0], name=name) for i, name in enumerate(names)]
    gap_ms = 1000.0 * float(np.median(np.diff(time[frames]))) if frames.size > 1 else 100.0
    play = {"frame": {"duration": max(gap_ms, 20.0), "redraw": True}, "fromcurrent": True,
            "transition": {"duration": 0}, "mode": "immediate"}  # fmt: skip
    pause = {"frame": {"duration": 0, "redraw": False}, "mode": "immediate", "transition": {"duration": 0}}
    jump = {"frame": {"duration": 0, "redraw": True}, "mode": "immediate", "transition": {"duration": 0}}
    white_zero = 0.5 / zmax  # integer kPa: 0 is white, 1 kPa already on the scale
    scale = [[0.0, "white"], [white_zero, "white"]] + [
        [white_zero + (1.0 - white_zero) * p, colour] for p, colour in PRESSURE_SCALE
    ]
    condition = trial.attrs.get("condition", "")
    subtitle = f"{frames.size} of {candidates.size} loaded frames, {time[frames[0]]:.1f} - {time[frames[-1]]:.1f} s"
    if factor > 1:
        subtitle += f"; blocks of {factor} x {factor} sensels"
    width, height = map_size(np.ptp(x) + pitch_x, np.ptp(y) + pitch_y, extra_width=260, extra_height=200,
                             min_width=480)
    fig.update_layout(
        title=dict(text=f"Pressure{f' ({condition})' if condition else ''}", subtitle=dict(text=subtitle)),
        coloraxis=dict(colorscale=scale, cmin=0.0, cmax=zmax, colorbar=dict(title=dict(text="kPa"), thickness=14)),
        updatemenus=[dict(
            type="buttons", direction="left", x=0.0, y=-0.1, xanchor="right", yanchor="top", pad=dict(t=28, r=8),
            showactive=False,
            buttons=[dict(label="\u25b6", method="animate", args=[None, play]),
                     dict(label="\u275a\u275a", method="animate", args=[[None], pause])],
        )],
        sliders=[dict(
            active=0, x=0.0, y=-0.1, len=1.0, xanchor="left", yanchor="top", pad=dict(t=10, b=10),
            currentvalue=dict(prefix="t = ", suffix=" s"), ticklen=3, font=dict(size=10),
            steps=[dict(method="animate", label=name, args=[[name], jump]) for name in names],
        )],
        width=width, height=height, margin=dict(l=130, b=150),
    )  # fmt: skip
    fig.update_xaxes(range=[float(x[0] - pitch_x / 2), float(x[-1] + pitch_x / 2)], autorange=False)
    fig.update_yaxes(range=[float(y[0] - pitch_y / 2), float(y[-1] + pitch_y / 2)], autorange=False)
    mm_axes(fig)
    return fig


def _loaded_frames(pressure):
    """Whether each frame has load: its largest pressure (NaN skipped) is above 0, in blocks of frames.

    Pressure is never negative (:func:`plantar.check_trial`), so this is the
    frame's total force being above 0, at a fraction of the cost of a NaN-aware sum.
    """
    flat = pressure.reshape(pressure.shape[0], -1)
    loaded = np.empty(pressure.shape[0], dtype=bool)
    for start in range(0, flat.shape[0], _BLOCK_FRAMES):
        loaded[start : start + _BLOCK_FRAMES] = np.fmax.reduce(flat[start : start + _BLOCK_FRAMES], axis=1) > 0
    return loaded


def _span(on):
    """Slice of the True run of a 1-D mask, from its first to its last True (one cell if none)."""
    where = np.flatnonzero(on)
    return slice(where[0], where[-1] + 1) if where.size else slice(0, 1)


def _cells(loaded, factor):
    """Cells sent over all frames with blocks of ``factor`` sensels: each frame's loaded box.

    A span of n sensels meets at most ceil(n / factor) + 1 blocks.
    """
    height, width = _extent(loaded.any(axis=2)), _extent(loaded.any(axis=1))
    blocks = (np.ceil(height / factor) + 1) * (np.ceil(width / factor) + 1)
    return int(blocks.sum())


def _extent(on):
    """Length of the span from the first to the last True of each row of a 2-D mask (1 if none)."""
    any_on = on.any(axis=1)
    first = np.argmax(on, axis=1)
    last = on.shape[1] - 1 - np.argmax(on[:, ::-1], axis=1)
    return np.where(any_on, last - first + 1, 1)


def _sensor_animation(trial, frames, n_loaded):
    """The animation of a trial of irregular sensors: outlines drawn once, centroid markers coloured per frame."""
    time = trial["time"].values
    pressure = np.round(np.nan_to_num(trial["pressure"].values[frames])).astype(np.uint16)  # (n_shown, sensor)
    ox, oy = trial["outline_x"].values, trial["outline_y"].values
    closed = np.concatenate([ox, ox[:, :1], np.full((ox.shape[0], 1), np.nan)], axis=1)
    closed_y = np.concatenate([oy, oy[:, :1], np.full((oy.shape[0], 1), np.nan)], axis=1)
    zmax = max(float(pressure.max()), 1.0)
    names = [f"{time[f]:.2f}" for f in frames]
    fig = new_figure()
    fig.add_trace(go.Scatter(x=mm(closed.ravel()), y=mm(closed_y.ravel()), mode="lines", hoverinfo="skip",
                             line=dict(width=0.6, color="rgba(90, 90, 90, 0.7)"), name="sensors",
                             showlegend=False))  # fmt: skip
    size = float(np.clip(np.sqrt(np.median(trial["sensor_area"].values)) / 2.0, 4.0, 14.0))
    fig.add_trace(go.Scatter(
        x=mm(trial["sensor_x"].values), y=mm(trial["sensor_y"].values), mode="markers", name="pressure",
        marker=dict(color=pressure[0], coloraxis="coloraxis", size=size, symbol="square"),
        hovertemplate="x %{x:.0f} mm, y %{y:.0f} mm<br><b>%{marker.color} kPa</b><extra></extra>",
    ))  # fmt: skip
    fig.frames = [dict(data=[dict(type="scatter", marker=dict(color=pressure[i]))], traces=[1], name=name)
                  for i, name in enumerate(names)]  # fmt: skip
    gap_ms = 1000.0 * float(np.median(np.diff(time[frames]))) if frames.size > 1 else 100.0
    play = {"frame": {"duration": max(gap_ms, 20.0), "redraw": True}, "fromcurrent": True,
            "transition": {"duration": 0}, "mode": "immediate"}  # fmt: skip
    pause = {"frame": {"duration": 0, "redraw": False}, "mode": "immediate", "transition": {"duration": 0}}
    jump = {"frame": {"duration": 0, "redraw": True}, "mode": "immediate", "transition": {"duration": 0}}
    condition = trial.attrs.get("condition", "")
    subtitle = (f"{frames.size} of {n_loaded} loaded frames, {time[frames[0]]:.1f} - {time[frames[-1]]:.1f} s; "
                f"{trial.sizes['sensor']} sensors")  # fmt: skip
    width, height = map_size(float(np.nanmax(ox) - np.nanmin(ox)), float(np.nanmax(oy) - np.nanmin(oy)),
                             extra_width=260, extra_height=200, min_width=480)  # fmt: skip
    fig.update_layout(
        title=dict(text=f"Pressure{f' ({condition})' if condition else ''}", subtitle=dict(text=subtitle)),
        coloraxis=dict(colorscale=PRESSURE_SCALE, cmin=0.0, cmax=zmax, colorbar=dict(title=dict(text="kPa"),
                                                                                    thickness=14)),
        updatemenus=[dict(
            type="buttons", direction="left", x=0.0, y=-0.1, xanchor="right", yanchor="top", pad=dict(t=28, r=8),
            showactive=False,
            buttons=[dict(label="\u25b6", method="animate", args=[None, play]),
                     dict(label="\u275a\u275a", method="animate", args=[[None], pause])],
        )],
        sliders=[dict(
            active=0, x=0.0, y=-0.1, len=1.0, xanchor="left", yanchor="top", pad=dict(t=10, b=10),
            currentvalue=dict(prefix="t = ", suffix=" s"), ticklen=3, font=dict(size=10),
            steps=[dict(method="animate", label=name, args=[[name], jump]) for name in names],
        )],
        width=width, height=height, margin=dict(l=130, b=150), showlegend=False,
    )  # fmt: skip
    mm_axes(fig)
    return fig
