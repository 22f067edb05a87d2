"""Loading metrics computed from a trial.

Trial-level quantities live here: the vertical force per frame and a summary of a
trial. Everything is vectorised over frames; large trials are reduced in blocks of
frames so that memory stays bounded.
"""

import numpy as np
import xarray as xr

from ._schema import STANDARD_GRAVITY_M_S2, check_trial, is_sensor_trial
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
    1 kPa on 1 mm^2 is 1e-3 N. On a trial of irregular sensors (insoles) ``A_i``
    is each sensor's ``sensor_area`` and the result also holds the force of each
    insole (``force_left``, ``force_right`` as coordinates; see
    :func:`plantar.insoles.sensor_force`).

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
    if is_sensor_trial(trial):
        from .insoles import sensor_force  # the sensor path sits above metrics

        return sensor_force(trial)
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
        and ``source_file``. A trial of irregular sensors (insoles) has no rows,
        columns or pitch (0, 0, NaN, NaN): ``sensels`` counts its sensors and
        ``sensor_geometry`` says where their outlines come from.

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
    grid = not is_sensor_trial(trial)
    extra = {} if grid else {"sensor_geometry": str(attrs.get("sensor_geometry", ""))}
    return {
        "frames": int(time.size),
        "duration_s": float(time[-1] - time[0] + frame_s),
        "rate_hz": float(attrs["sampling_rate_hz"]),
        "rows": int(trial.sizes["y"]) if grid else 0,
        "cols": int(trial.sizes["x"]) if grid else 0,
        "pitch_x_mm": float(attrs["sensor_pitch_x_mm"]) if grid else float("nan"),
        "pitch_y_mm": float(attrs["sensor_pitch_y_mm"]) if grid else float("nan"),
        "sensels": int(np.count_nonzero(~np.isnan(pressure[0]))),
        "loaded_frames": int(np.count_nonzero(force > 0)),
        "peak_pressure_kpa": 0.0 if np.isnan(peak) else peak,
        "max_force_n": float(force.max()),
        "max_force_bw": float(force.max() / (mass * STANDARD_GRAVITY_M_S2)) if mass > 0 else float("nan"),
        "subject": attrs["subject"],
        "condition": attrs["condition"],
        "device": attrs["device"],
        "source_file": attrs["source_file"],
        **extra,
    }


#: Per step x region metrics: name -> (units, long_name, definition). Times "% of stance" run from the step's
#: first contact frame (0 %, t_on) to its last (100 %, t_off), as the stance_percent axis does.
STEP_REGION_METRICS = {
    "peak_pressure": ("kPa", "peak pressure", "max over time and over the region's sensels (peak sensor)"),
    "mean_pressure": ("kPa", "mean pressure",
                      "mean over the frames the region is loaded of region force / loaded region area"),
    "max_force": ("N", "maximum force", "max over time of sum(pressure x sensel area) over the region"),
    "force_time_integral": ("N s", "force-time integral",
                            "trapezoid integral of the region force over contact, from the frame "
                            "before the first to the frame after the last contact"),
    "pressure_time_integral": ("kPa s", "pressure-time integral (novel)",
                               "novel's definition: trapezoid integral of the region's peak-sensel pressure over "
                               "time, the area under the peak pressure curve (pressuRe pti_1; Telfer et al. 2023, "
                               "Sci Rep 13:17068)"),
    "pressure_time_integral_melai": ("kPa s", "pressure-time integral (Melai)",
                                     "Melai et al. 2011 (Gait Posture 34:379): force_time_integral / contact_area "
                                     "(pressuRe pti_2); NaN for a region never loaded"),
    "peak_mask_pressure": ("kPa", "peak mask pressure",
                           "max over time of region force / contact_area (the region's ever-loaded area; "
                           "pressuRe's peak mask pressure); NaN for a region never loaded"),
    "contact_area": ("mm2", "contact area", "area of the region's sensels ever loaded (ever-loaded area)"),
    "max_contact_area": ("mm2", "largest instantaneous contact area",
                         "max over time of the area of the region's sensels loaded in the frame"),
    "contact_time": ("s", "contact time",
                     "from the first to the last frame the region is loaded, plus one frame period"),
    "contact_time_percent": ("%", "contact time (% of stance)",
                             "contact_time / the step's stance time (total's contact_time) x 100 (novel multimask)"),
    "contact_start": ("%", "first contact of the region",
                      "first frame the region is loaded, % of stance (0 % = t_on, 100 % = t_off; novel multimask "
                      "'begin'); NaN if never loaded or for a one-frame step"),
    "contact_end": ("%", "last contact of the region",
                    "last frame the region is loaded, % of stance (novel multimask 'end'); NaN as contact_start"),
    "peak_pressure_instant": ("%", "time of peak pressure",
                              "first frame of the region's peak pressure, % of stance (novel multimask); NaN as "
                              "contact_start"),
    "max_force_instant": ("%", "time of maximum force",
                          "first frame of the region's maximum force, % of stance (novel multimask); NaN as "
                          "contact_start"),
    "relative_load": ("%", "relative load", "region force-time integral / total x 100"),
}  # fmt: skip


def step_metrics(step_pressure, labels, *, time_s, sensel_area_mm2, threshold_kpa=0.0, matrix=None):
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
    sensel_area_mm2 : float | array_like of float, shape (n_rows, n_cols)
        Area of one sensel, mm^2, or of each sample (irregular sensors: an
        insole's sensors as one row, each with its area).
    threshold_kpa : float
        A sensel is loaded when its pressure exceeds this.
    matrix : array_like, shape (n_base, n_regions) | None
        Sums base-region values into the regions reported (a masking scheme's
        ``region_matrix()``); ``None`` = :func:`plantar.regions.region_matrix`
        (the 7 base regions into the 11 regions).

    Returns
    -------
    metrics : dict of str to ndarray
        One array of shape (n_regions,) per name of :data:`STEP_REGION_METRICS`,
        in the order of the matrix's columns (:data:`plantar.regions.REGIONS`),
        ``"force"``, shape (n_frames, n_regions), the region forces in N, and
        ``"loaded_area"``, the same shape, the area loaded in each frame, mm^2.
        A region without loaded sensels has zeros, NaN mean pressures and NaN
        times; a step without any load has NaN relative loads.

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
    >>> m["pressure_time_integral_melai"][1:3].round(3).tolist()   # FTI / area: 0.2 N s / 100 mm2
    [2.0, 1.0]
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
    flat = flat[:, order].astype(np.float64)
    if not np.isfinite(flat.sum()):  # NaN or inf somewhere
        np.nan_to_num(flat, copy=False)
    base_ids, starts = np.unique(label_flat[order], return_index=True)
    from .regions import region_matrix  # regions sits above metrics

    combine = (region_matrix() if matrix is None else np.asarray(matrix, dtype=float)).T[:, base_ids - 1]
    areas = np.asarray(sensel_area_mm2, dtype=float)
    # Irregular sensors: each sample weighted by its own area (the sums below are then in mm2, the scale 1).
    weight = np.broadcast_to(areas, labels.shape).ravel()[order] if areas.ndim else None
    scale = 1.0 if areas.ndim else float(areas)
    if starts.size:
        base_force = np.add.reduceat(flat if weight is None else flat * weight, starts, axis=1)
        base_peak = np.maximum.reduceat(flat, starts, axis=1)
        loaded = flat > threshold_kpa
        counted = loaded if weight is None else loaded * weight
        base_loaded = np.add.reduceat(counted, starts, axis=1, dtype=np.int64 if weight is None else float)
        ever = loaded.any(axis=0)
        base_ever = np.add.reduceat(ever if weight is None else ever * weight, starts,
                                    dtype=np.int64 if weight is None else float)  # fmt: skip
        base_max = np.maximum.reduceat(flat.max(axis=0), starts)
    else:
        base_force = base_peak = np.zeros((n_frames, 0))
        base_loaded = np.zeros((n_frames, 0), dtype=np.int64)
        base_ever, base_max = np.zeros(0, dtype=np.int64), np.zeros(0)
    force = base_force @ combine.T * scale * 1e-3  # N, (n_frames, 11)
    # Pressure is >= 0, so a region's peak is the largest of its base regions' peaks (0 if it has none).
    peak_sensel = np.where(combine[None], base_peak[:, None, :], 0.0).max(axis=2, initial=0.0)  # (n_frames, 11)
    loaded_area = (base_loaded @ combine.T) * scale  # mm2
    # Trapezoids from the frame before the first contact to the frame after the last
    # (both unloaded), at the median frame period.
    dt = float(np.median(np.diff(time))) if n_frames > 1 else 0.0
    t_pad = np.concatenate([[time[0] - dt], time, [time[-1] + dt]])
    pad = np.zeros((1, force.shape[1]))
    fti = np.trapezoid(np.vstack([pad, force, pad]), t_pad, axis=0)
    pti = np.trapezoid(np.vstack([pad, peak_sensel, pad]), t_pad, axis=0)
    carried = loaded_area > 0
    ever_area = (combine @ base_ever) * scale
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_pressure = np.where(carried, force / np.where(carried, loaded_area, 1.0) * 1e3, 0.0).sum(axis=0) / carried.sum(axis=0)
        relative = 100.0 * fti / fti[0]
        area = np.where(ever_area > 0, ever_area, np.nan)
        melai = fti / area * 1e3  # N s / mm2 -> kPa s
        mask_peak = force.max(axis=0) / area * 1e3  # N / mm2 -> kPa
    anywhere = carried.any(axis=0)
    first = np.argmax(carried, axis=0)
    last = n_frames - 1 - np.argmax(carried[::-1], axis=0)
    contact_time = np.where(anywhere, time[last] - time[first] + dt, 0.0)
    # Instants as % of stance: 0 % = the first frame (t_on), 100 % = the last (t_off).
    span = time[-1] - time[0]

    def percent(frame):
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(anywhere & (span > 0), 100.0 * (time[frame] - time[0]) / span, np.nan)

    with np.errstate(invalid="ignore", divide="ignore"):
        contact_percent = np.where(anywhere, 100.0 * contact_time / contact_time[0], np.nan)
    return {
        "peak_pressure": np.where(combine, base_max[None], 0.0).max(axis=1, initial=0.0),
        "mean_pressure": mean_pressure,
        "max_force": force.max(axis=0),
        "force_time_integral": fti,
        "pressure_time_integral": pti,
        "pressure_time_integral_melai": melai,
        "peak_mask_pressure": mask_peak,
        "contact_area": ever_area,
        "max_contact_area": loaded_area.max(axis=0),
        "contact_time": contact_time,
        "contact_time_percent": contact_percent,
        "contact_start": percent(first),
        "contact_end": percent(last),
        "peak_pressure_instant": percent(np.argmax(peak_sensel, axis=0)),
        "max_force_instant": percent(np.argmax(force, axis=0)),
        "relative_load": relative,
        "force": force,
        "loaded_area": loaded_area,
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
    areas are equal, so pressure weights are force weights. On a trial of
    irregular sensors (insoles) the weights are forces ``p_i A_i`` and the
    centre of each insole is given too (``cop_x_left``, ...; see
    :func:`plantar.insoles.sensor_cop`).

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
    if is_sensor_trial(trial):
        from .insoles import sensor_cop  # the sensor path sits above metrics

        return sensor_cop(trial)
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


#: The loading metrics every analysis has had since the first schema: what ``compare`` compares by default.
LOADING_METRICS = ("peak_pressure", "mean_pressure", "max_force", "force_time_integral", "pressure_time_integral",
                   "contact_area", "contact_time", "relative_load")


#: Force-curve features of a step -> (units, long_name, definition).
FORCE_CURVE = {
    "force_peak1": ("N", "first force peak",
                    "largest force in the first half of stance (0-50 %), refined between frames by the parabola "
                    "through the frame and its neighbours (Moticon and footscan reports)"),
    "force_peak1_instant": ("%", "time of the first force peak", "% of stance (0 % = t_on, 100 % = t_off)"),
    "force_valley": ("N", "mid-stance force minimum",
                     "smallest force between the two peaks, refined as the peaks"),
    "force_valley_instant": ("%", "time of the force minimum", "% of stance (0 % = t_on, 100 % = t_off)"),
    "force_peak2": ("N", "second force peak", "largest force in the second half of stance (50-100 %), refined "
                    "as force_peak1"),
    "force_peak2_instant": ("%", "time of the second force peak", "% of stance (0 % = t_on, 100 % = t_off)"),
    "loading_rate": ("N/s", "loading rate",
                     "mean slope of the force from first contact to the first peak: (force_peak1 - force at "
                     "t_on) / (its time - t_on) (footscan 'load rate')"),
    "loading_rate_bw": ("1/s", "loading rate in body weights per second",
                        "loading_rate / (body_mass_kg x 9.80665 N/kg); NaN when the body mass is unknown"),
}  # fmt: skip


def _refine(values, i):
    """Value and sub-sample offset of an extremum at index i: the parabola through i - 1, i, i + 1."""
    if 0 < i < len(values) - 1:
        a, b, c = values[i - 1], values[i], values[i + 1]
        curvature = a - 2.0 * b + c
        if np.isfinite(curvature) and curvature != 0:
            offset = float(np.clip(0.5 * (a - c) / curvature, -0.5, 0.5))
            return float(b - 0.25 * (a - c) * offset), offset
    return float(values[i]), 0.0


def force_curve_features(force_n, time_s, *, body_weight_n=None):
    """First and second force peaks, the minimum between them and the loading rate of one step.

    Stance runs from the first (0 %) to the last (100 %) frame of ``time_s``.
    The first peak is the largest force of the first half of stance, the
    second the largest of the second half, the valley the smallest force
    between them; each is refined between frames by the parabola through the
    extreme frame and its two neighbours (exact for a parabolic extremum). The
    loading rate is the mean slope from first contact to the first peak. A
    curve with one hump (running, standing) gives its peak as both peaks,
    or the hump and a point on its flank.

    Parameters
    ----------
    force_n : array_like of float, shape (n_frames,)
        The step's vertical force in its frames, N (NaN frames are skipped).
    time_s : array_like of float, shape (n_frames,)
        The frames' times, s, evenly spaced.
    body_weight_n : float | None
        Body weight, N, for the loading rate in body weights per second.

    Returns
    -------
    features : dict of str to float
        The names of :data:`FORCE_CURVE`; NaN for a step of fewer than three
        frames.

    Examples
    --------
    A double hump: peaks of 800 N at 25 % and 700 N at 75 % of a 0.6 s stance:

    >>> import numpy as np
    >>> from plantar.metrics import force_curve_features
    >>> t = np.arange(61) * 0.01
    >>> tau = t / 0.6
    >>> f = 800 * np.exp(-0.5 * ((tau - 0.25) / 0.12) ** 2) + 700 * np.exp(-0.5 * ((tau - 0.75) / 0.12) ** 2)
    >>> out = force_curve_features(f, t, body_weight_n=700.0)
    >>> round(out["force_peak1"]), round(out["force_peak1_instant"]), round(out["force_peak2_instant"])
    (800, 25, 75)
    >>> 50 < out["force_valley_instant"] < 60     # nearer the lower peak
    True
    """
    out = dict.fromkeys(FORCE_CURVE, float("nan"))
    force = np.asarray(force_n, dtype=float)
    time = np.asarray(time_s, dtype=float)
    keep = np.isfinite(force)
    force, time = force[keep], time[keep]
    if force.size < 3 or time[-1] <= time[0]:
        return out
    span = time[-1] - time[0]
    dt = float(np.median(np.diff(time)))
    percent = 100.0 * (time - time[0]) / span
    first_half = np.flatnonzero(percent <= 50.0)
    second_half = np.flatnonzero(percent >= 50.0)
    i1 = int(first_half[np.argmax(force[first_half])])
    i2 = int(second_half[np.argmax(force[second_half])])
    between = np.arange(i1, i2 + 1)
    iv = int(between[np.argmin(force[between])])
    for name, i in (("force_peak1", i1), ("force_valley", iv), ("force_peak2", i2)):
        value, offset = _refine(force, i)
        out[name] = value
        out[name + "_instant"] = 100.0 * (time[i] + offset * dt - time[0]) / span
    rise_s = out["force_peak1_instant"] / 100.0 * span
    if rise_s > 0:
        out["loading_rate"] = (out["force_peak1"] - force[0]) / rise_s
        if body_weight_n is not None and body_weight_n > 0:
            out["loading_rate_bw"] = out["loading_rate"] / body_weight_n
    return {k: float(v) for k, v in out.items()}


#: Gait-line measures of a step -> (units, long_name, definition).
GAIT_LINE = {
    "gait_line_length": ("mm", "gait line length", "length of the step's centre-of-pressure path (the polyline "
                         "through its frames with load)"),
    "gait_line_width": ("mm", "gait line width",
                        "largest lateral excursion of the centre-of-pressure path from the heel-to-toe line (the "
                        "foot axis, heel centre toward the second toe); NaN for a step of unknown side"),
    "gait_line_start_along": ("%", "gait line start, along the foot",
                              "first centre of pressure along the foot axis, % of foot length from the heel end"),
    "gait_line_start_medial": ("mm", "gait line start, across the foot",
                               "first centre of pressure across the foot axis, mm, positive medial; NaN for a step "
                               "of unknown side"),
    "gait_line_end_along": ("%", "gait line end, along the foot",
                            "last centre of pressure along the foot axis, % of foot length from the heel end"),
    "gait_line_end_medial": ("mm", "gait line end, across the foot",
                             "last centre of pressure across the foot axis, mm, positive medial; NaN as above"),
    "gait_line_velocity": ("mm/s", "mean gait line velocity",
                           "gait_line_length / time from the first to the last frame with load"),
    "gait_line_heel_percent": ("%", "time of the centre of pressure under the heel",
                               "share of the step's frames with load whose centre of pressure lies at u < 0.30 of "
                               "foot length (the heel band of the percent scheme)"),
    "gait_line_midfoot_percent": ("%", "time of the centre of pressure under the midfoot",
                                  "as gait_line_heel_percent, 0.30 <= u < 0.55"),
    "gait_line_forefoot_percent": ("%", "time of the centre of pressure under the forefoot",
                                   "as gait_line_heel_percent, u >= 0.55"),
}  # fmt: skip


def gait_line(cop_x_mm, cop_y_mm, time_s, geometry, side):
    """Length, width, ends, speed and dwell times of one step's centre-of-pressure path (gait line).

    Parameters
    ----------
    cop_x_mm, cop_y_mm : array_like of float, shape (n_frames,)
        The step's centre of pressure in its frames, mm; NaN in frames without load.
    time_s : array_like of float, shape (n_frames,)
        The frames' times, s.
    geometry : plantar.geometry.FootGeometry
        The step's foot frame (heel centre, axis, heel end, length).
    side : {"left", "right", "unknown"}
        The step's side: which way is medial.

    Returns
    -------
    measures : dict of str to float
        The names of :data:`GAIT_LINE`; NaN without a frame of load (and the
        length and velocity NaN with fewer than two).

    Examples
    --------
    A left foot along +y: the path runs straight from 20 mm behind the heel centre to 180 mm ahead of it, and
    bows 6 mm laterally (-x) half way:

    >>> import numpy as np
    >>> from plantar.geometry import FootGeometry
    >>> from plantar.metrics import gait_line
    >>> g = FootGeometry(0.0, 0.0, 0.0, 1.0, -40.0, 250.0, 100.0, 10.0)
    >>> y = np.linspace(-20.0, 180.0, 41)
    >>> x = -6.0 * np.sin(np.pi * (y + 20.0) / 200.0)
    >>> out = gait_line(x, y, np.arange(41) * 0.015, g, "left")
    >>> round(out["gait_line_width"], 3), out["gait_line_start_along"], out["gait_line_end_along"]
    (6.0, 8.0, 88.0)
    >>> round(out["gait_line_heel_percent"] + out["gait_line_midfoot_percent"] + out["gait_line_forefoot_percent"])
    100
    """
    out = dict.fromkeys(GAIT_LINE, float("nan"))
    x, y = np.asarray(cop_x_mm, dtype=float), np.asarray(cop_y_mm, dtype=float)
    time = np.asarray(time_s, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    if not keep.any():
        return out
    x, y, time = x[keep], y[keep], time[keep]
    u, v_left = geometry.foot_coords(x, y)
    sign = {"left": -1.0, "right": 1.0}.get(side, np.nan)  # v_left x sign = + medial
    medial = v_left * sign
    out["gait_line_start_along"], out["gait_line_end_along"] = 100.0 * u[0], 100.0 * u[-1]
    out["gait_line_start_medial"], out["gait_line_end_medial"] = medial[0], medial[-1]
    out["gait_line_width"] = float(np.max(-medial))
    if x.size > 1:
        out["gait_line_length"] = float(np.hypot(np.diff(x), np.diff(y)).sum())
        if time[-1] > time[0]:
            out["gait_line_velocity"] = out["gait_line_length"] / (time[-1] - time[0])
    from .regions import ARCH_END_U, HEEL_END_U  # regions sits above metrics

    out["gait_line_heel_percent"] = 100.0 * np.mean(u < HEEL_END_U)
    out["gait_line_midfoot_percent"] = 100.0 * np.mean((u >= HEEL_END_U) & (u < ARCH_END_U))
    out["gait_line_forefoot_percent"] = 100.0 * np.mean(u >= ARCH_END_U)
    return {k: float(v) for k, v in out.items()}
