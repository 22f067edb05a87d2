"""Loading metrics computed from a trial.

Trial-level quantities live here: the vertical force per frame and a summary of a
trial. Everything is vectorised over frames; large trials are reduced in blocks of
frames so that memory stays bounded.
"""

import numpy as np
import xarray as xr

from ._schema import STANDARD_GRAVITY_M_S2, check_trial, require_grid
from .geometry import _spacing
from .utils.docs import fill_doc

#: Frames reduced at once by the block reductions (bounds temporary memory).
_BLOCK_FRAMES = 256


def _frame_sums(pressure):
    """Sum of each frame over its sensels, NaN (no sensor) counted as 0, float64."""
    sums = np.empty(pressure.shape[0])
    for start in range(0, pressure.shape[0], _BLOCK_FRAMES):
        block = pressure[start : start + _BLOCK_FRAMES]
        sums[start : start + _BLOCK_FRAMES] = np.nansum(block, axis=(1, 2), dtype=np.float64)
    return sums


def _sensel_area_mm2(trial):
    return float(trial.attrs["sensor_pitch_x_mm"]) * float(trial.attrs["sensor_pitch_y_mm"])


@fill_doc
def total_force(trial):
    """Vertical force on the whole mat per frame.

    ``F(t) = sum_i p_i(t) A_i`` over all sensels, with ``A_i`` the sensel area
    (pitch x times pitch y); sensels without a sensor (NaN) add nothing.
    1 kPa on 1 mm^2 is 1e-3 N.

    Parameters
    ----------
    %(trial)s

    Returns
    -------
    force : xarray.DataArray
        Force in N, dim ``time``.

    Examples
    --------
    >>> import numpy as np
    >>> import plantar
    >>> frames = np.zeros((2, 3, 3))
    >>> frames[1] = 100.0   # 100 kPa on nine 5 x 5 mm sensels = 22.5 N
    >>> trial = plantar.make_trial(frames, pitch_mm=5.0, rate_hz=100.0)
    >>> plantar.total_force(trial).values
    array([ 0. , 22.5])
    """
    check_trial(trial)
    require_grid(trial, "plantar.total_force")
    force = _frame_sums(trial["pressure"].values) * _sensel_area_mm2(trial) * 1e-3
    return xr.DataArray(
        force,
        dims=("time",),
        coords={"time": trial["time"]},
        name="force",
        attrs={"units": "N", "long_name": "vertical force on the mat",
               "definition": "sum over sensels of pressure x sensel area"},
    )  # fmt: skip


@fill_doc
def describe(trial):
    """Summarise a trial: size, timing, sensor geometry, peak pressure and force.

    Parameters
    ----------
    %(trial)s

    Returns
    -------
    summary : dict
        ``frames``, ``duration_s``, ``rate_hz``, ``rows``, ``cols``,
        ``pitch_x_mm``, ``pitch_y_mm``, ``sensels`` (with a sensor, i.e. not
        NaN, in the first frame),
        ``loaded_frames`` (frames with any pressure), ``peak_pressure_kpa``,
        ``max_force_n``, ``max_force_bw`` (max force / body weight; NaN when body
        mass is unknown), and the trial's ``subject``, ``condition``, ``device``
        and ``source_file``.

    Examples
    --------
    >>> import numpy as np
    >>> import plantar
    >>> frames = np.zeros((4, 3, 3))
    >>> frames[1:3, 1, 1] = 250.0
    >>> trial = plantar.make_trial(frames, pitch_mm=5.0, rate_hz=100.0)
    >>> info = plantar.describe(trial)
    >>> info["frames"], info["loaded_frames"], info["peak_pressure_kpa"]
    (4, 2, 250.0)
    """
    force = total_force(trial).values
    pressure = trial["pressure"].values
    time = trial["time"].values
    attrs = trial.attrs
    frame_s = float(np.median(np.diff(time))) if time.size > 1 else 1.0 / attrs["sampling_rate_hz"]
    peak = float(np.fmax.reduce(pressure, axis=None))
    mass = float(attrs["body_mass_kg"])
    return {
        "frames": int(time.size),
        "duration_s": float(time[-1] - time[0] + frame_s),
        "rate_hz": float(attrs["sampling_rate_hz"]),
        "rows": int(trial.sizes["y"]),
        "cols": int(trial.sizes["x"]),
        "pitch_x_mm": float(attrs["sensor_pitch_x_mm"]),
        "pitch_y_mm": float(attrs["sensor_pitch_y_mm"]),
        "sensels": int(np.count_nonzero(~np.isnan(pressure[0]))),
        "loaded_frames": int(np.count_nonzero(force > 0)),
        "peak_pressure_kpa": 0.0 if np.isnan(peak) else peak,
        "max_force_n": float(force.max()),
        "max_force_bw": float(force.max() / (mass * STANDARD_GRAVITY_M_S2)) if mass > 0 else float("nan"),
        "subject": attrs["subject"],
        "condition": attrs["condition"],
        "device": attrs["device"],
        "source_file": attrs["source_file"],
    }


#: Per step x region metrics: name -> (units, long_name, definition).
STEP_REGION_METRICS = {
    "peak_pressure": ("kPa", "peak pressure", "max over time and over the region's sensels"),
    "mean_pressure": ("kPa", "mean pressure",
                      "mean over the frames the region is loaded of region force / loaded region area"),
    "max_force": ("N", "maximum force", "max over time of sum(pressure x sensel area) over the region"),
    "force_time_integral": ("N s", "force-time integral",
                            "trapezoid integral of the region force over contact, from the frame "
                            "before the first to the frame after the last contact"),
    "pressure_time_integral": ("kPa s", "pressure-time integral",
                               "trapezoid integral of the region's peak-sensel pressure (novel style)"),
    "contact_area": ("mm2", "contact area", "area of the region's sensels ever loaded"),
    "contact_time": ("s", "contact time",
                     "from the first to the last frame the region is loaded, plus one frame period"),
    "relative_load": ("%", "relative load", "region force-time integral / total x 100"),
}  # fmt: skip


def step_metrics(step_pressure, labels, *, time_s, sensel_area_mm2, threshold_kpa=0.0):
    """Loading metrics of one step for every region.

    Parameters
    ----------
    step_pressure : array_like, shape (n_frames, n_rows, n_cols)
        The step's pressure in kPa over its frames and bounding box; zero where a
        sample is not the step's.
    labels : array_like of int, shape (n_rows, n_cols)
        Base-region label of each sensel (0 = outside the footprint, 1 .. 7 as in
        :data:`plantar.regions.BASE_REGIONS`).
    time_s : array_like of float, shape (n_frames,)
        Frame times, s.
    sensel_area_mm2 : float
        Area of one sensel, mm^2.
    threshold_kpa : float
        A sensel is loaded when its pressure exceeds this.

    Returns
    -------
    metrics : dict of str to ndarray
        One array of shape (11,) per name of :data:`STEP_REGION_METRICS`, in the
        order of :data:`plantar.regions.REGIONS`, and ``"force"``, shape
        (n_frames, 11), the region forces in N. A region without loaded sensels
        has zeros and a NaN mean pressure; a step without any load has NaN
        relative loads.

    Examples
    --------
    A 2 x 1 footprint: heel 100 kPa, arch 50 kPa, for two 10 ms frames of 1 cm^2 sensels:

    >>> import numpy as np
    >>> from plantar.metrics import step_metrics
    >>> p = np.array([[[100.0], [50.0]], [[100.0], [50.0]]])
    >>> m = step_metrics(p, np.array([[1], [2]]), time_s=[0.0, 0.01], sensel_area_mm2=100.0)
    >>> m["max_force"][:3].tolist()    # total, heel, arch
    [15.0, 10.0, 5.0]
    >>> m["force_time_integral"][:3].round(3).tolist()
    [0.3, 0.2, 0.1]
    >>> m["relative_load"][1:3].round(1).tolist()
    [66.7, 33.3]
    """
    p = np.asarray(step_pressure)
    labels = np.asarray(labels)
    time = np.asarray(time_s, dtype=float)
    n_frames = p.shape[0]
    flat = p.reshape(n_frames, -1)
    # Only the labelled sensels count, each in exactly one base region: gather them sorted by region, reduce
    # each base region's columns at once (reduceat), then combine base regions into the 11 regions.
    label_flat = labels.ravel()
    inside = np.flatnonzero(label_flat > 0)
    order = inside[np.argsort(label_flat[inside], kind="stable")]
    flat = np.nan_to_num(flat[:, order].astype(np.float64))
    base_ids, starts = np.unique(label_flat[order], return_index=True)
    from .regions import region_matrix  # regions sits above metrics

    combine = region_matrix().T[:, base_ids - 1]  # (11, present base regions)
    if starts.size:
        base_force = np.add.reduceat(flat, starts, axis=1)
        base_peak = np.maximum.reduceat(flat, starts, axis=1)
        loaded = flat > threshold_kpa
        base_loaded = np.add.reduceat(loaded, starts, axis=1, dtype=np.int64)
        base_ever = np.add.reduceat(loaded.any(axis=0), starts, dtype=np.int64)
        base_max = np.maximum.reduceat(flat.max(axis=0), starts)
    else:
        base_force = base_peak = np.zeros((n_frames, 0))
        base_loaded = np.zeros((n_frames, 0), dtype=np.int64)
        base_ever, base_max = np.zeros(0, dtype=np.int64), np.zeros(0)
    force = base_force @ combine.T * sensel_area_mm2 * 1e-3  # N, (n_frames, 11)
    # Pressure is >= 0, so a region's peak is the largest of its base regions' peaks (0 if it has none).
    peak_sensel = np.where(combine[None], base_peak[:, None, :], 0.0).max(axis=2, initial=0.0)  # (n_frames, 11)
    loaded_area = (base_loaded @ combine.T) * sensel_area_mm2  # mm2
    # Trapezoids from the frame before the first contact to the frame after the last
    # (both unloaded), at the median frame period.
    dt = float(np.median(np.diff(time))) if n_frames > 1 else 0.0
    t_pad = np.concatenate([[time[0] - dt], time, [time[-1] + dt]])
    pad = np.zeros((1, force.shape[1]))
    fti = np.trapezoid(np.vstack([pad, force, pad]), t_pad, axis=0)
    pti = np.trapezoid(np.vstack([pad, peak_sensel, pad]), t_pad, axis=0)
    carried = loaded_area > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_pressure = np.where(carried, force / np.where(carried, loaded_area, 1.0) * 1e3, 0.0).sum(axis=0) / carried.sum(axis=0)
        relative = 100.0 * fti / fti[0]
    first = np.argmax(carried, axis=0)
    last = n_frames - 1 - np.argmax(carried[::-1], axis=0)
    contact_time = np.where(carried.any(axis=0), time[last] - time[first] + dt, 0.0)
    return {
        "peak_pressure": np.where(combine, base_max[None], 0.0).max(axis=1, initial=0.0),
        "mean_pressure": mean_pressure,
        "max_force": force.max(axis=0),
        "force_time_integral": fti,
        "pressure_time_integral": pti,
        "contact_area": (combine @ base_ever) * sensel_area_mm2,
        "contact_time": contact_time,
        "relative_load": relative,
        "force": force,
    }


#: Points of a curve normalised to stance: 0, 1, ..., 100 % of stance.
STANCE_PERCENT = np.linspace(0.0, 100.0, 101)


def time_normalise(values, time_s, *, t_on_s=None, t_off_s=None, n_points=101):
    """Resample a curve at evenly spaced fractions of stance (0 .. 100 %).

    Stance runs from ``t_on_s`` (0 %) to ``t_off_s`` (100 %), the first and last
    contact frames; the curve is interpolated linearly between its samples and
    held at its first / last value outside them. NaN samples are skipped (a
    centre of pressure is undefined in a frame without load).

    Parameters
    ----------
    values : array_like of float, shape (n_frames,) or (n_frames, n_columns)
        The curve(s), one row per frame, in any unit.
    time_s : array_like of float, shape (n_frames,)
        Frame times, s, increasing.
    t_on_s, t_off_s : float | None
        Start and end of stance, s; ``None`` takes the first / last of ``time_s``.
    n_points : int
        Number of points, including both ends: 101 gives 0, 1, ..., 100 %.

    Returns
    -------
    resampled : ndarray of float, shape (n_points,) or (n_points, n_columns)
        Same unit as ``values``; NaN in a column without a finite sample. A
        stance of a single frame gives that frame's value throughout.

    Examples
    --------
    A force rising linearly from 0 to 600 N over 0.6 s of stance:

    >>> import numpy as np
    >>> from plantar.metrics import time_normalise
    >>> t = np.arange(7) * 0.1
    >>> time_normalise(1000.0 * t, t, n_points=5).tolist()
    [0.0, 150.0, 300.0, 450.0, 600.0]
    """
    values = np.asarray(values, dtype=float)
    time = np.asarray(time_s, dtype=float)
    if time.ndim != 1 or values.shape[:1] != time.shape:
        raise ValueError(f"values must have one row per frame of time_s ({time.size}), got shape {values.shape}")
    if not (isinstance(n_points, (int, np.integer)) and n_points >= 2):
        raise ValueError(f"n_points must be an integer >= 2, got {n_points!r}")
    columns = values.reshape(time.size, -1)
    start = time[0] if t_on_s is None else float(t_on_s)
    end = time[-1] if t_off_s is None else float(t_off_s)
    at = start + np.linspace(0.0, 1.0, n_points) * (end - start)
    out = np.full((n_points, columns.shape[1]), np.nan)
    for j in range(columns.shape[1]):  # columns are regions or coordinates, never frames
        finite = np.isfinite(columns[:, j])
        if finite.any():
            out[:, j] = np.interp(at, time[finite], columns[finite, j])
    return out.reshape((n_points,) + values.shape[1:])


def cpei(cop_x_mm, cop_y_mm, geometry, side, footprint, x_mm, y_mm):
    """Centre of pressure excursion index of one step (Song et al. 1996, JAPMA 86:16).

    A construction line runs from the first to the last centre of pressure of the
    step. The centre of pressure excursion (CPE) is the distance from that line to
    the centre-of-pressure path where the path crosses the distal third of the
    foot (the line across the foot axis at 2/3 of foot length from the heel end),
    positive when the path is lateral of the line. CPEI = CPE / width of the
    footprint at that level x 100.

    Parameters
    ----------
    cop_x_mm, cop_y_mm : array_like of float
        Centre of pressure over the step's contact, mm (NaN frames are skipped).
    geometry : plantar.geometry.FootGeometry
        The step's geometry.
    side : {"left", "right", "unknown"}
        The step's side (which way is lateral); "unknown" gives NaN.
    footprint : array_like of bool, shape (n_rows, n_cols)
        The step's footprint over its box.
    x_mm : array_like, shape (n_cols,)
        Column centres of the box, mm.
    y_mm : array_like, shape (n_rows,)
        Row centres of the box, mm.

    Returns
    -------
    cpei : float
        %; NaN if the side is unknown or the path does not reach the distal third.

    Examples
    --------
    A left foot pointing +y whose path bows 5 mm laterally (toward -x):

    >>> import numpy as np
    >>> from plantar.geometry import FootGeometry
    >>> from plantar.metrics import cpei
    >>> g = FootGeometry(0.0, 0.0, 0.0, 1.0, -30.0, 240.0, 100.0, 30.0)
    >>> cop_y = np.linspace(-20.0, 200.0, 50)
    >>> cop_x = -5.0 * np.sin(np.pi * (cop_y + 20.0) / 220.0)
    >>> x, y = np.linspace(-50.0, 50.0, 11), np.linspace(-30.0, 210.0, 25)
    >>> round(cpei(cop_x, cop_y, g, "left", np.ones((25, 11), bool), x, y), 2)   # 4.205 mm / 110 mm
    3.82
    """
    if side not in ("left", "right"):
        return float("nan")
    cop = np.column_stack([np.asarray(cop_x_mm, float), np.asarray(cop_y_mm, float)])
    cop = cop[np.all(np.isfinite(cop), axis=1)]
    if len(cop) < 2:
        return float("nan")
    u_cop, v_cop = geometry.foot_coords(cop[:, 0], cop[:, 1])
    level = 2.0 / 3.0
    crossing = np.flatnonzero((u_cop[:-1] < level) & (u_cop[1:] >= level))
    if crossing.size == 0:
        return float("nan")
    i = crossing[0]
    f = (level - u_cop[i]) / (u_cop[i + 1] - u_cop[i])
    v_at = v_cop[i] + f * (v_cop[i + 1] - v_cop[i])
    u_at = level
    # The construction line from the first to the last point, in foot coordinates.
    (u0, v0), (u1, v1) = (u_cop[0], v_cop[0]), (u_cop[-1], v_cop[-1])
    if u1 == u0:
        return float("nan")
    v_line = v0 + (u_at - u0) / (u1 - u0) * (v1 - v0)
    lateral = 1.0 if side == "left" else -1.0  # v is positive to the left of the axis
    excursion = lateral * (v_at - v_line)
    X, Y = np.meshgrid(np.asarray(x_mm, float), np.asarray(y_mm, float))
    u, v = geometry.foot_coords(X, Y)
    pitch_x, pitch_y = _spacing(np.asarray(x_mm, float), np.asarray(y_mm, float))
    along_cell = abs(geometry.axis_x) * pitch_x + abs(geometry.axis_y) * pitch_y
    across_cell = abs(geometry.axis_y) * pitch_x + abs(geometry.axis_x) * pitch_y
    # The sensels whose cells the level line crosses, and their width across the axis.
    band = np.asarray(footprint, bool) & (np.abs(u - level) * geometry.length_mm <= along_cell / 2)
    if not band.any():
        return float("nan")
    width = np.ptp(v[band]) + across_cell
    return float(100.0 * excursion / width)


def arch_index(geometry, footprint, x_mm, y_mm):
    """Arch index of one footprint (Cavanagh & Rodgers 1987, J Biomech 20:547).

    The toes excluded (here: the part of the footprint from 80 % of foot length
    on, the toe band of the ``"percent"`` regions), the remaining length is split
    into equal thirds across the foot axis; the arch index is the area of the
    middle third over the area of all three. Cut-offs often quoted: <= 0.21 high
    arch, >= 0.26 low arch (to be read with care: studies differ).

    Parameters
    ----------
    geometry : plantar.geometry.FootGeometry
        The step's geometry (axis and length).
    footprint : array_like of bool, shape (n_rows, n_cols)
        The footprint (sensels ever loaded) over its box.
    x_mm : array_like, shape (n_cols,)
        Column centres of the box, mm.
    y_mm : array_like, shape (n_rows,)
        Row centres of the box, mm.

    Returns
    -------
    arch_index : float
        Dimensionless, 0 .. 1; NaN for an empty footprint.

    Examples
    --------
    A rectangular footprint has an arch index of one third:

    >>> import numpy as np
    >>> from plantar.geometry import FootGeometry
    >>> from plantar.metrics import arch_index
    >>> g = FootGeometry(0.0, 0.0, 0.0, 1.0, -2.5, 300.0, 50.0, 0.0)
    >>> x, y = np.arange(-25.0, 26.0, 5.0), np.arange(0.0, 300.0, 5.0)
    >>> round(arch_index(g, np.ones((60, 11), bool), x, y), 3)
    0.333
    """
    from .regions import MTH_END_U

    X, Y = np.meshgrid(np.asarray(x_mm, float), np.asarray(y_mm, float))
    u, _ = geometry.foot_coords(X, Y)
    body = np.asarray(footprint, bool) & (u < MTH_END_U)
    if not body.any():
        return float("nan")
    third = np.floor(np.clip(u[body], 0, MTH_END_U - 1e-12) / (MTH_END_U / 3)).astype(int)
    return float(np.mean(third == 1))


def cop(trial):
    """Centre of pressure of the whole mat per frame.

    ``COP = sum_i p_i r_i / sum_i p_i`` over all sensels (NaN = no sensor is
    skipped), with ``r_i`` the sensel centre; NaN in frames without load. Sensor
    areas are equal, so pressure weights are force weights.

    Parameters
    ----------
    trial : xarray.Dataset
        A trial (schema ``trial/1``).

    Returns
    -------
    cop : xarray.Dataset
        ``cop_x`` and ``cop_y`` in mm, dim ``time``.

    Examples
    --------
    >>> import numpy as np
    >>> import plantar
    >>> frames = np.zeros((2, 2, 2))
    >>> frames[1, 0, 0], frames[1, 1, 1] = 100.0, 300.0
    >>> c = plantar.cop(plantar.make_trial(frames, pitch_mm=10.0, rate_hz=100.0))
    >>> c.cop_x.values.tolist(), c.cop_y.values.tolist()
    ([nan, 7.5], [nan, 7.5])
    """
    check_trial(trial)
    require_grid(trial, "plantar.cop")
    p = trial["pressure"]
    weights = p.fillna(0)
    total = weights.sum(("y", "x"))
    out = {}
    for name in ("x", "y"):
        moment = (weights.sum("y" if name == "x" else "x") * trial[name]).sum(name)
        out[f"cop_{name}"] = (moment / total.where(total > 0)).assign_attrs(
            units="mm", long_name=f"centre of pressure {name} (whole mat)"
        )
    return xr.Dataset(out)
