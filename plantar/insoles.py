"""Analysis of trials of irregular sensors (in-shoe insoles such as novel pedar or Moticon).

A sensor trial (:func:`plantar.make_sensor_trial`) holds pressure per sensor, each
sensor with its side, centroid, area and outline. Each insole is one foot, so a
step is the stance of one insole (the *insole rule*): the insole's force above a
fraction of the step's own peak force. Force is ``sum(pressure x sensor_area)``
(or, where the trial's attr ``force_variable`` names it, the force the file
reports per insole, as Moticon's, whose sensor areas are not published); the
centre of pressure is the force-weighted centroid of the sensor centroids.

Regions are assigned per sensor from its centroid in the foot frame of its
insole: ``u`` along the insole (0 = heel end, 1 = toe end of the insole's
outline, as a fraction of insole length) and across it, medial positive, with the
``"percent"`` rules of :mod:`plantar.regions` (:func:`sensor_regions`) or the
``"anatomical"`` scheme's heads and toes at their typical places
(:func:`sensor_anatomy`); the insole's medial and lateral halves
(:func:`sensor_medial`) split the whole insole, the heel, the midfoot and the
forefoot. Insoles have no line of
progression: step length and width, foot angle and the footprint's geometry are
not applicable (NaN, and their ``definition`` says ``n/a (insoles)``).
"""

import importlib

import numpy as np
import xarray as xr

from . import regions
from ._schema import check_trial

#: Sides of a two-insole trial, in output order.
SIDES = ("left", "right")
#: Default insole rule: stance starts when the insole's force exceeds ON_FRACTION of the step's peak force...
ON_FRACTION = 0.05
#: ... and ends after its last frame above OFF_FRACTION of that peak (the toe-off convention of insole vendors).
OFF_FRACTION = 0.10
#: Shortest stance and shortest swing of the insole rule, s: shorter ones are noise (or a stance cut by it).
MIN_STANCE_S = 0.10
MIN_SWING_S = 0.05
#: A sensor is loaded (counts in the contact area) above this pressure, kPa, unless told otherwise.
THRESHOLD_KPA = 5.0
#: Regions an insole analysis adds to those of its mask: the insole's halves across its width (medial: toward
#: the other insole) over the whole length, and inside the heel, the midfoot (``arch``) and the forefoot
#: (pedar's usual medial/lateral masks: Lee et al. 2014, J Foot Ankle Res 7:18, split the heel and the
#: forefoot in medial and lateral halves).
SIDE_REGIONS = ("medial", "lateral", "medial_heel", "lateral_heel", "medial_arch", "lateral_arch",
                "medial_forefoot", "lateral_forefoot")  # fmt: skip
#: The regions split in medial and lateral halves (the last six of :data:`SIDE_REGIONS`).
_HALVED = ("heel", "arch", "forefoot")
#: Sensors within this fraction of insole length of a sensor set the insole's centre line there.
_BAND_U = 0.05
#: The step-level variables that need a footprint on a mat (or the line of progression): n/a on insoles.
NOT_APPLICABLE = ("heel_x", "heel_y", "axis_angle", "foot_length", "foot_width", "foot_angle", "step_length",
                  "step_width", "stride_length", "cpei", "arch_index")  # fmt: skip
#: What the analysis says of them (appended to their definition) and what a table or report shows.
NOT_APPLICABLE_NOTE = "n/a (insoles)"


#: Frames reduced at once (bounds the float64 temporaries to a block, whatever the recording's length).
_BLOCK_FRAMES = 4096


def _weighted_sums(pressure, weights):
    """``nan_to_num(pressure) @ weights`` in float64, in blocks of frames: (n_frames, n_columns of weights)."""
    out = np.empty((pressure.shape[0], weights.shape[1]))
    for start in range(0, pressure.shape[0], _BLOCK_FRAMES):
        block = np.nan_to_num(pressure[start : start + _BLOCK_FRAMES].astype(np.float64))
        out[start : start + _BLOCK_FRAMES] = block @ weights
    return out


def _sides(trial):
    present = set(trial["sensor_side"].values.tolist())
    return [s for s in SIDES if s in present]


def side_forces(trial):
    """Vertical force of each insole per frame, N: ``{side: ndarray (n_frames,)}``.

    Where the trial's attr ``force_variable`` names a per-side variable (Moticon:
    ``"force_reported"``), it is used; else ``sum(pressure x sensor_area)`` over
    the side's sensors (NaN pressure adds nothing).

    Parameters
    ----------
    trial : xarray.Dataset
        A sensor trial.

    Returns
    -------
    forces : dict of str to ndarray
        Force in N per side present.

    Examples
    --------
    >>> import plantar
    >>> from plantar.insoles import side_forces
    >>> trial, truth, _ = plantar.synth.sensor_insoles(seed=0, duration_s=3.0)
    >>> sorted(side_forces(trial))
    ['left', 'right']
    """
    variable = trial.attrs.get("force_variable", "")
    side = trial["sensor_side"].values
    area = trial["sensor_area"].values
    sides = _sides(trial)
    # One pass over the array: each side's sensors weighted by their areas.
    weights = np.column_stack([np.where(side == s, area, 0.0) for s in sides])
    sums = _weighted_sums(trial["pressure"].values, weights) * 1e-3
    out = {}
    for j, s in enumerate(sides):
        if variable and f"{variable}_{s}" in trial:
            out[s] = trial[f"{variable}_{s}"].values.astype(np.float64)
        else:
            out[s] = sums[:, j]
    return out


def sensor_force(trial):
    """Vertical force per frame of a sensor trial: ``sum_i p_i(t) A_i`` with each sensor's area.

    Parameters
    ----------
    trial : xarray.Dataset
        A sensor trial.

    Returns
    -------
    force : xarray.DataArray
        Force in N, dim ``time``, with the force of each insole as coordinates
        ``force_left`` / ``force_right`` (N; the file's own where ``force_variable``
        names it).

    Examples
    --------
    >>> import numpy as np
    >>> import plantar
    >>> sx, sy = np.array([-5.0, 5.0, 5.0, -5.0]), np.array([-5.0, -5.0, 5.0, 5.0])
    >>> trial = plantar.make_sensor_trial(
    ...     np.array([[100.0, 50.0, 25.0]]), sensor_number=[1, 2, 1],
    ...     sensor_side=["left", "left", "right"], sensor_x_mm=[0.0, 0.0, 120.0],
    ...     sensor_y_mm=[10.0, 30.0, 10.0], sensor_area_mm2=[100.0, 100.0, 200.0],
    ...     outline_x_mm=[sx, sx, 1.4142 * sx + 120.0], outline_y_mm=[sy + 10.0, sy + 30.0, 1.4142 * sy + 10.0],
    ...     rate_hz=100.0)
    >>> force = plantar.total_force(trial)
    >>> float(force[0]), float(force.force_left[0]), float(force.force_right[0])
    (20.0, 15.0, 5.0)
    """
    check_trial(trial)
    force = _weighted_sums(trial["pressure"].values, trial["sensor_area"].values[:, None])[:, 0] * 1e-3
    coords = {"time": trial["time"]}
    for s, values in side_forces(trial).items():
        coords[f"force_{s}"] = ("time", values, {"units": "N", "long_name": f"vertical force of the {s} insole"})
    return xr.DataArray(
        force,
        dims=("time",),
        coords=coords,
        name="force",
        attrs={"units": "N", "long_name": "vertical force on the sensors",
               "definition": "sum over sensors of pressure x sensor area"},
    )  # fmt: skip


def sensor_cop(trial):
    """Centre of pressure per frame of a sensor trial: force-weighted centroid of the sensor centroids.

    ``COP = sum_i p_i A_i r_i / sum_i p_i A_i`` with ``r_i`` the sensor centroid
    (``sensor_x``, ``sensor_y``) and ``A_i`` its area, over both insoles and per insole.

    Parameters
    ----------
    trial : xarray.Dataset
        A sensor trial.

    Returns
    -------
    cop : xarray.Dataset
        ``cop_x``, ``cop_y`` (both insoles) and ``cop_x_<side>``, ``cop_y_<side>``
        per insole, mm, dim ``time``; NaN in frames without load.

    Examples
    --------
    >>> import numpy as np
    >>> import plantar
    >>> sx, sy = np.array([-5.0, 5.0, 5.0, -5.0]), np.array([-5.0, -5.0, 5.0, 5.0])
    >>> trial = plantar.make_sensor_trial(
    ...     np.array([[100.0, 50.0, 25.0]]), sensor_number=[1, 2, 1],
    ...     sensor_side=["left", "left", "right"], sensor_x_mm=[0.0, 0.0, 120.0],
    ...     sensor_y_mm=[10.0, 30.0, 10.0], sensor_area_mm2=[100.0, 100.0, 200.0],
    ...     outline_x_mm=[sx, sx, 1.4142 * sx + 120.0], outline_y_mm=[sy + 10.0, sy + 30.0, 1.4142 * sy + 10.0],
    ...     rate_hz=100.0)
    >>> c = plantar.cop(trial)
    >>> # (15 x 0 + 5 x 120) / 20 and, left alone, (10 x 10 + 5 x 30) / 15
    >>> round(float(c.cop_x[0]), 6), round(float(c.cop_y_left[0]), 4)
    (30.0, 16.6667)
    """
    check_trial(trial)
    area = trial["sensor_area"].values
    xy = np.column_stack([trial["sensor_x"].values, trial["sensor_y"].values])
    side = trial["sensor_side"].values
    groups = [("", np.ones(side.shape, dtype=bool))] + [(f"_{s}", side == s) for s in _sides(trial)]
    # Force, x moment and y moment of each group, in one pass over the array.
    weights = np.column_stack([np.where(own, area, 0.0) * factor for _, own in groups
                               for factor in (1.0, xy[:, 0], xy[:, 1])])  # fmt: skip
    sums = _weighted_sums(trial["pressure"].values, weights)
    out = {}
    for g, (suffix, own) in enumerate(groups):
        total, moment = sums[:, 3 * g], sums[:, 3 * g + 1 : 3 * g + 3]
        with np.errstate(invalid="ignore", divide="ignore"):
            centre = np.where(total[:, None] > 0, moment / total[:, None], np.nan)
        where = f" ({suffix[1:]} insole)" if suffix else " (both insoles)"
        for j, name in enumerate(("x", "y")):
            out[f"cop_{name}{suffix}"] = xr.DataArray(centre[:, j], dims=("time",), coords={"time": trial["time"]},
                                                      attrs={"units": "mm",
                                                             "long_name": f"centre of pressure {name}{where}"})
    return xr.Dataset(out)


def insole_steps(force_n, time_s, *, on_fraction=ON_FRACTION, off_fraction=OFF_FRACTION, min_stance_s=MIN_STANCE_S,
                 min_swing_s=MIN_SWING_S):  # fmt: skip
    """Stances of one insole from its force: the insole rule.

    The frames above ``on_fraction`` of the insole's typical peak (the median of
    the peaks of the runs above a tenth of its largest force) are runs of
    contact; runs closer than ``min_swing_s`` are joined, runs shorter than
    ``min_stance_s`` dropped. Each stance then starts at its first frame above
    ``on_fraction`` and ends at its last frame above ``off_fraction`` of its own
    peak force. Frames without a value (NaN: a sample the insole did not send)
    take the value of the frame before.

    Parameters
    ----------
    force_n : array_like of float, shape (n_frames,)
        The insole's force, N.
    time_s : array_like of float, shape (n_frames,)
        Frame times, s.
    on_fraction, off_fraction : float
        Start and end of stance, fractions of the step's peak force.
    min_stance_s, min_swing_s : float
        Shortest stance and shortest swing, s.

    Returns
    -------
    frames : ndarray of int, shape (n_steps, 2)
        First and last frame of each stance (both included), in time order.

    Examples
    --------
    Two stances of a half-sine force, 0.5 s each, 0.3 s apart, at 100 Hz:

    >>> import numpy as np
    >>> from plantar.insoles import insole_steps
    >>> t = np.arange(150) / 100.0
    >>> f = np.clip(np.sin(np.pi * (t - 0.1) / 0.5), 0, None) * ((t > 0.1) & (t < 0.6))
    >>> f += np.clip(np.sin(np.pi * (t - 0.9) / 0.5), 0, None) * ((t > 0.9) & (t < 1.4))
    >>> insole_steps(800 * f, t, on_fraction=0.01, off_fraction=0.01).tolist()
    [[11, 59], [91, 139]]
    """
    force = np.asarray(force_n, dtype=float)
    time = np.asarray(time_s, dtype=float)
    if force.size == 0 or not np.isfinite(force).any():
        return np.zeros((0, 2), dtype=np.int64)
    # Fill a missing sample with the one before it (the first ones with the first value).
    index = np.where(np.isfinite(force), np.arange(force.size), 0)
    np.maximum.accumulate(index, out=index)
    force = force[index]
    force[~np.isfinite(force)] = 0.0
    dt = float(np.median(np.diff(time))) if time.size > 1 else 1.0

    def runs(mask):
        edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
        return np.column_stack([np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1])

    coarse = runs(force > 0.1 * force.max())
    if not len(coarse):
        return np.zeros((0, 2), dtype=np.int64)
    peaks = np.maximum.reduceat(force, coarse[:, 0])  # each run and the lower gap after it
    typical = float(np.median(peaks))
    found = runs(force > on_fraction * typical)
    if len(found) > 1:  # join runs split by a short drop
        gap = (found[1:, 0] - found[:-1, 1] - 1) * dt
        keep = np.concatenate([[True], gap >= min_swing_s])
        found = np.column_stack([found[keep, 0], np.maximum.reduceat(found[:, 1], np.flatnonzero(keep))])
    found = found[(found[:, 1] - found[:, 0] + 1) * dt >= min_stance_s]
    out = []
    for first, last in found:  # one stance at a time (a few per second)
        seg = force[first : last + 1]
        peak = seg.max()
        above_on = np.flatnonzero(seg > on_fraction * peak)
        above_off = np.flatnonzero(seg > off_fraction * peak)
        out.append((first + above_on[0], first + max(above_off[-1], above_on[0])))
    return np.array(out, dtype=np.int64).reshape(-1, 2)


def sensor_regions(trial):
    """Base region of each sensor (``"percent"`` scheme) from its place in its insole.

    ``u`` runs along the insole from the heel end (0) to the toe end (1) of the
    side's sensor outlines (percent of insole length); across it the position is
    measured medial positive (medial = toward the other insole: +x for the left
    insole, -x for the right). :func:`plantar.regions.percent_labels` then
    gives heel (u < 0.30), arch, the metatarsal heads in three bands across the
    insole, hallux and lesser toes.

    Parameters
    ----------
    trial : xarray.Dataset
        A sensor trial.

    Returns
    -------
    labels : ndarray of int8, shape (n_sensors,)
        1 .. 7 = index into :data:`plantar.regions.BASE_REGIONS` plus one.

    Examples
    --------
    >>> import plantar
    >>> from plantar.insoles import sensor_regions
    >>> from plantar.regions import BASE_REGIONS
    >>> trial, _, _ = plantar.synth.sensor_insoles(seed=0, duration_s=3.0)
    >>> labels = sensor_regions(trial)
    >>> [BASE_REGIONS[labels[k] - 1] for k in (0, 88, 95)]   # left insole: heel; toe row, lateral to medial
    ['heel', 'lesser_toes', 'hallux']
    """
    side = trial["sensor_side"].values
    x, y = trial["sensor_x"].values, trial["sensor_y"].values
    oy = trial["outline_y"].values
    labels = np.zeros(side.size, dtype=np.int8)
    for s in np.unique(side):
        own = side == s
        y0, y1 = np.nanmin(oy[own]), np.nanmax(oy[own])
        u = (y[own] - y0) / (y1 - y0) if y1 > y0 else np.full(own.sum(), 0.5)
        medial = x[own] if s != "right" else -x[own]
        labels[own] = regions.percent_labels(u, medial, np.ones(own.sum(), dtype=bool))
    return labels


def sensor_medial(trial):
    """Whether each sensor lies in the medial half of its insole.

    The insole's centre line at a sensor is the middle of the outlines of the
    insole's sensors within 5 % of insole length of it (so a curved insole is
    split along its own shape); medial is toward the other insole (+x for the
    left insole, -x for the right).

    Parameters
    ----------
    trial : xarray.Dataset
        A sensor trial.

    Returns
    -------
    medial : ndarray of bool, shape (n_sensors,)

    Examples
    --------
    >>> import plantar
    >>> from plantar.insoles import sensor_medial
    >>> trial, _, _ = plantar.synth.sensor_insoles(seed=0, duration_s=3.0)
    >>> medial = sensor_medial(trial)
    >>> medial[:8].tolist()   # the left insole's heel row, from lateral (small x) to medial
    [False, False, False, False, True, True, True, True]
    """
    side = trial["sensor_side"].values
    x, y = trial["sensor_x"].values, trial["sensor_y"].values
    ox, oy = trial["outline_x"].values, trial["outline_y"].values
    left_x, right_x = np.nanmin(ox, axis=1), np.nanmax(ox, axis=1)
    medial = np.zeros(side.size, dtype=bool)
    for s in np.unique(side):
        own = np.flatnonzero(side == s)
        length = np.nanmax(oy[own]) - np.nanmin(oy[own])
        near = np.abs(y[own][:, None] - y[own][None, :]) <= _BAND_U * length  # (sensor, sensor) of one insole
        low = np.where(near, left_x[own][None, :], np.inf).min(axis=1)
        high = np.where(near, right_x[own][None, :], -np.inf).max(axis=1)
        centre = (low + high) / 2
        medial[own] = x[own] > centre if s != "right" else x[own] < centre
    return medial


def sensor_anatomy(trial):
    """Anatomical region of each sensor (``"anatomical"`` scheme) from its centroid in its insole.

    The insole stands for the foot: ``u`` runs along it from the heel end (0)
    to the toe end (1) of the side's sensor outlines, and across it medial is
    toward the other insole. Heel, midfoot (``arch``), the metatarsal band and
    the toes are the ``"percent"`` scheme's bands (u < 0.30, < 0.55, < 0.80,
    the rest; :mod:`plantar.regions`). Inside the metatarsal band each sensor
    goes to the nearest of the metatarsal heads MTH1 .. MTH5, and beyond it to
    the nearest of hallux, second toe and toes 3-5, at their typical places in
    a footprint (:data:`plantar.regions.ANATOMICAL_SEEDS`: fractions of foot
    length along, and of the metatarsal band's width across from its medial
    border, here the width of the insole's outlines in that band), distances
    in mm. An insole has no pressure image of its own to find the heads in
    (each sensor is 1-2 cm across, the heads 2-3 cm apart): this is the
    geometric half of :class:`plantar.regions.AnatomicalMask`, the sensors
    fixed to the foot, as pedar's fixed sensor masks are.

    Parameters
    ----------
    trial : xarray.Dataset
        A sensor trial.

    Returns
    -------
    labels : ndarray of int8, shape (n_sensors,)
        1 .. 10 = index into :data:`plantar.regions.ANATOMICAL_BASE_REGIONS` plus one.

    Examples
    --------
    >>> import plantar
    >>> from plantar.insoles import sensor_anatomy
    >>> from plantar.regions import ANATOMICAL_BASE_REGIONS
    >>> trial, _, _ = plantar.synth.sensor_insoles(seed=0, duration_s=3.0)
    >>> labels = sensor_anatomy(trial)
    >>> [ANATOMICAL_BASE_REGIONS[labels[k] - 1] for k in (0, 40, 56, 63, 95)]   # left insole
    ['heel', 'arch', 'mth5', 'mth1', 'hallux']
    """
    side = trial["sensor_side"].values
    x, y = trial["sensor_x"].values, trial["sensor_y"].values
    ox, oy = trial["outline_x"].values, trial["outline_y"].values
    base = regions.ANATOMICAL_BASE_REGIONS
    seed_code = np.array([base.index(name) + 1 for name, _, _ in regions.ANATOMICAL_SEEDS])
    seed_u = np.array([u for _, u, _ in regions.ANATOMICAL_SEEDS])
    seed_w = np.array([w for _, _, w in regions.ANATOMICAL_SEEDS])
    heads = np.isin(seed_code, [base.index(f"mth{k}") + 1 for k in range(1, 6)])
    toes = np.isin(seed_code, [base.index(name) + 1 for name in ("hallux", "toe2", "toes3_5")])
    labels = np.zeros(side.size, dtype=np.int8)
    for s in np.unique(side):
        own = side == s
        sign = 1.0 if s != "right" else -1.0  # medial: +x on the left insole, -x on the right
        y0, y1 = np.nanmin(oy[own]), np.nanmax(oy[own])
        length = y1 - y0 if y1 > y0 else 1.0
        u = (y[own] - y0) / length
        v = sign * x[own]
        band = (u >= regions.ARCH_END_U) & (u < regions.MTH_END_U)
        edges = sign * (ox[own][band] if band.any() else ox[own])
        medial, lateral = np.nanmax(edges), np.nanmin(edges)
        width = max(medial - lateral, 1e-9)
        # Distance (mm) from each sensor to each seed: along the insole and across it.
        d = np.hypot((u[:, None] - seed_u[None]) * length, v[:, None] - (medial - seed_w[None] * width))
        nearest_head = seed_code[heads][np.argmin(d[:, heads], axis=1)]
        nearest_toe = seed_code[toes][np.argmin(d[:, toes], axis=1)]
        labels[own] = np.select([u < regions.HEEL_END_U, u < regions.ARCH_END_U, u < regions.MTH_END_U],
                                [base.index("heel") + 1, base.index("arch") + 1, nearest_head], default=nearest_toe)
    return labels


def _side_split(labels, medial, scheme):
    """Labels split in medial/lateral halves (1 .. 2 n_base) and the matrix summing them into the regions.

    Label k (of the scheme's ``n_base`` base regions) becomes k on the medial half and k + n_base on the
    lateral; the matrix's columns are the scheme's regions, then :data:`SIDE_REGIONS`.
    """
    n_base = len(scheme.base_regions)
    split = np.where(labels > 0, labels + n_base * (~medial), 0).astype(np.int8)
    base = scheme.region_matrix()
    names = list(scheme.regions)
    halves = np.zeros((n_base, len(SIDE_REGIONS)))
    halves[:, 0] = 1.0  # the medial (or lateral) half of the whole insole
    for j, name in enumerate(_HALVED):
        halves[:, 2 + 2 * j] = base[:, names.index(name)]
    matrix = np.zeros((2 * n_base, base.shape[1] + len(SIDE_REGIONS)))
    matrix[:n_base, : base.shape[1]] = base
    matrix[n_base:, : base.shape[1]] = base
    matrix[:n_base, base.shape[1] :] = halves  # medial: "medial", "medial_heel", ...
    matrix[n_base:, base.shape[1] + 1 :] = halves[:, :-1]  # lateral: shifted by one column
    return split, matrix


def analyze_sensors(trial, *, threshold_kpa=None, mask="percent", on_fraction=ON_FRACTION, off_fraction=OFF_FRACTION,
                    min_stance_s=MIN_STANCE_S, min_swing_s=MIN_SWING_S, segmentation=None):  # fmt: skip
    """Analyse a trial of irregular sensors (insoles): steps by the insole rule, sides, regions, loading.

    :func:`plantar.analyze` calls this for a sensor trial. The result is an
    ``analysis/2`` Dataset with the variables of a grid analysis; the per-sensor
    ones (``region_label``, ``peak_pressure_map``) lie on ``(step, sensor)``
    instead of ``(step, y, x)``, the sensors' geometry (``sensor_x``,
    ``sensor_y``, ``sensor_area``, ``sensor_side``, ``outline_x``, ``outline_y``)
    comes along as coordinates, and the attr ``map_layout = "sensor"`` says so.

    Each insole is one foot: its steps are its stances (:func:`insole_steps`),
    its side the insole's. Per step: force and centre of pressure of the
    insole's sensors (force: the file's own where ``force_variable`` names it),
    and per region (:func:`sensor_regions`, plus the insole's ``medial`` and
    ``lateral`` halves of :func:`sensor_medial`) the loading metrics of
    :func:`plantar.metrics.step_metrics` with each sensor's area (contact area =
    the summed areas of the loaded sensors). Both insoles share one clock, so
    double and single support, swing and stride times are measured. Foot
    geometry, the line of progression and what depends on them are not
    applicable: NaN, their ``definition`` ends with ``n/a (insoles)`` and the
    attr ``not_applicable`` lists them.

    Parameters
    ----------
    trial : xarray.Dataset
        A sensor trial (:func:`plantar.make_sensor_trial`).
    threshold_kpa : float | None
        A sensor is loaded above this pressure, kPa; ``None``: :data:`THRESHOLD_KPA`.
    mask : str | object
        ``"percent"`` (:func:`sensor_regions`) or ``"anatomical"``
        (:func:`sensor_anatomy`: each metatarsal head, hallux, second toe,
        toes 3-5; the labels in ``mask_label``), or the scheme object of
        either name. A region without a sensor on an insole (few sensors, as
        Moticon's 16) has NaN metrics on that insole's steps. Beside the scheme's regions, every analysis has the
        insole's medial and lateral halves over its whole length and inside
        the heel, the midfoot and the forefoot (:data:`SIDE_REGIONS`,
        :func:`sensor_medial`).
    on_fraction, off_fraction, min_stance_s, min_swing_s : float
        The insole rule (:func:`insole_steps`).
    segmentation : plantar.steps.FootstepSegmentation | None
        A configured segmentation (its insole rule: ``on_fraction``,
        ``off_fraction``, ``min_contact_s``, ``min_swing_s``; its
        ``threshold_kpa``) instead of the one made from the arguments above.

    Returns
    -------
    analysis : xarray.Dataset
        Schema ``analysis/2``.

    Examples
    --------
    >>> import plantar
    >>> trial, truth, _ = plantar.synth.sensor_insoles(seed=1, duration_s=6.0)
    >>> analysis = plantar.analyze(trial)
    >>> analysis.attrs["map_layout"], analysis.peak_pressure_map.dims
    ('sensor', ('step', 'sensor'))
    >>> sorted(set(analysis.side.values.tolist())), int(analysis.complete.sum()) >= 8
    (['left', 'right'], True)
    """
    _an = importlib.import_module("plantar.analyze")  # its helpers are reused (it imports this module lazily)

    check_trial(trial)
    name = mask if isinstance(mask, str) else getattr(mask, "name", None)
    if name not in _SENSOR_MASKS:
        raise ValueError(f"a trial of irregular sensors is masked with the 'percent' or 'anatomical' scheme "
                         f"(from each sensor's place in its insole), got {mask!r}")
    scheme = regions.get_mask(name)
    if segmentation is None:
        segmentation = importlib.import_module("plantar.steps").FootstepSegmentation(
            threshold_kpa=threshold_kpa, min_contact_s=min_stance_s, on_fraction=on_fraction,
            off_fraction=off_fraction, min_swing_s=min_swing_s)  # fmt: skip
    elif threshold_kpa is not None:
        raise ValueError("give threshold_kpa or segmentation, not both")
    segmentation._segment_sensors(trial)
    threshold = segmentation.threshold_kpa_
    time = trial["time"].values
    pressure = trial["pressure"].values  # each step's block is taken (and its NaN set to 0) in turn
    area = trial["sensor_area"].values
    xy = np.column_stack([trial["sensor_x"].values, trial["sensor_y"].values])
    sensor_side = trial["sensor_side"].values
    labels = _SENSOR_MASKS[name](trial)
    forces = side_forces(trial)
    reported = bool(trial.attrs.get("force_variable", ""))
    found = [(step.frames.start, step.frames.stop - 1, step.side) for step in segmentation.steps_]
    n = len(found)
    frame_on = np.array([f[0] for f in found], dtype=np.int64)
    frame_count = np.array([f[1] - f[0] + 1 for f in found], dtype=np.int64)
    side = np.array([f[2] for f in found], dtype="<U7")
    t_on = time[frame_on] if n else np.zeros(0)
    t_off = time[frame_on + frame_count - 1] if n else np.zeros(0)
    complete = (frame_on > 0) & (frame_on + frame_count < time.size)
    region_names = list(scheme.regions) + list(SIDE_REGIONS)
    split, matrix = _side_split(labels, sensor_medial(trial), scheme)
    coarse = scheme.coarse(labels)  # the percent scheme's base regions, for drawing
    # A region without a sensor on an insole (a metatarsal head among Moticon's 16 sensors) measures nothing: NaN.
    empty = {s: np.bincount(split[sensor_side == s], minlength=matrix.shape[0] + 1)[1:] @ matrix == 0
             for s in np.unique(sensor_side)}  # fmt: skip
    dt = float(np.median(np.diff(time))) if time.size > 1 else 1.0 / float(trial.attrs["sampling_rate_hz"])
    mass = float(trial.attrs.get("body_mass_kg", 0.0) or 0.0)
    body_weight = mass * _an.STANDARD_GRAVITY_M_S2 if mass > 0 else None
    metric_values = {name: np.full((n, len(region_names)), np.nan) for name in _an.STEP_REGION_METRICS}
    longest = int(frame_count.max()) if n else 0
    series = {name: np.full((n, longest), np.nan) for name in _an.STEP_SERIES}
    region_force = np.full((n, len(region_names), _an.STANCE_PERCENT.size), np.nan)
    n_sensors = area.size
    label_maps = np.zeros((n, n_sensors), dtype=np.int8)
    mask_maps = np.zeros((n, n_sensors), dtype=np.int8)
    peak_maps = np.zeros((n, n_sensors), dtype=np.float32)
    step_values = {name: np.full(n, np.nan) for name in (*_an.STEP_VARIABLES, *_an.FORCE_CURVE, *_an.GAIT_LINE)}
    for k, (first, last, s) in enumerate(found):  # one step at a time, its frames at once
        own = np.flatnonzero(sensor_side == s)
        frames = slice(first, last + 1)
        block = np.nan_to_num(pressure[frames][:, own].astype(np.float64))
        step_time = time[frames]
        m = _an.step_metrics(block[:, None, :], split[own][None, :], time_s=step_time,
                             sensel_area_mm2=area[own][None, :], threshold_kpa=threshold, matrix=matrix)  # fmt: skip
        for name in _an.STEP_REGION_METRICS:
            metric_values[name][k] = m[name]
            metric_values[name][k, empty[s]] = np.nan
        weights = block * area[own]
        total = weights.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            cop = np.where(total[:, None] > 0, weights @ xy[own] / total[:, None], np.nan)
        force = forces[s][frames] if reported else m["force"][:, 0]
        count = frame_count[k]
        series["step_time"][k, :count] = step_time
        series["step_cop_x"][k, :count] = cop[:, 0]
        series["step_cop_y"][k, :count] = cop[:, 1]
        series["step_force"][k, :count] = force
        series["step_contact_area"][k, :count] = m["loaded_area"][:, 0]
        region_force[k] = _an.time_normalise(m["force"], step_time, n_points=_an.STANCE_PERCENT.size).T
        region_force[k, empty[s]] = np.nan
        label_maps[k, own] = coarse[own]
        mask_maps[k, own] = labels[own]
        peak_maps[k, own] = block.max(axis=0)
        step_values["stance_time"][k] = t_off[k] - t_on[k] + dt
        for name, value in _an.force_curve_features(force, step_time, body_weight_n=body_weight).items():
            step_values[name][k] = value
    step_values["t_on"], step_values["t_off"] = t_on.astype(float), t_off.astype(float)
    passes = np.zeros(n, dtype=int)  # both insoles share one clock: one pass
    step_values["double_support_time"] = _an._double_support(t_on, t_off, passes, dt)
    cycle = _an._gait_cycle(t_on, step_values["stance_time"], step_values["double_support_time"], side, complete,
                            passes)  # fmt: skip
    step_values.update(cycle)
    cadence, _ = _an._cadence_and_speed(t_on, np.full((n, 2), np.nan), complete, side, passes,
                                        np.full((n, 2), np.nan))  # fmt: skip
    stance = _an._stance_series(series, t_on, t_off)
    body_cop = _an._body_cop(series, frame_on, time.size)
    line = np.full(n, "", dtype="<U6")
    analysis = _an._dataset(trial, step_values, metric_values, complete, side, passes, line, frame_on, frame_count,
                            series, stance, region_force, label_maps, peak_maps, body_cop, region_names,
                            space=("sensor",))  # fmt: skip
    for name in NOT_APPLICABLE:
        analysis[name].attrs["definition"] = analysis[name].attrs.get("definition", "") + "; " + NOT_APPLICABLE_NOTE
    analysis["complete"].attrs["definition"] = "the stance lies inside the recording (insole rule)"
    analysis["region_label"].attrs["long_name"] = "region of each sensor"
    analysis["region_label"].attrs["definition"] += " (from the sensor centroid in its insole)"
    if scheme.base_regions != regions.BASE_REGIONS:
        analysis["mask_label"] = (("step", "sensor"), mask_maps, {
            "units": "1", "long_name": f"region of each sensor ({scheme.name} mask)",
            "definition": "0 = outside, k = k-th base region of the mask: " + ", ".join(scheme.base_regions)
            + " (from the sensor centroid in its insole)"})  # fmt: skip
    if reported:
        for name in ("step_force", "stance_force"):
            analysis[name].attrs["definition"] = (f"the file's force of the insole ({trial.attrs['force_variable']}"
                                                  "_<side>) in the step's frames; regions from pressure x sensor_area")
    geometry = ("sensor_number", "sensor_side", "sensor_x", "sensor_y", "sensor_area", "outline_x", "outline_y")
    analysis = analysis.assign_coords({name: trial[name] for name in geometry})
    analysis.attrs.update(
        plantar_schema=_an.SCHEMA_ANALYSIS,
        plantar_version=_an.__version__,
        map_layout="sensor",
        not_applicable=", ".join(NOT_APPLICABLE),
        step_rule=(f"insole rule: stance from the first frame above {segmentation.on_fraction:g} to the last "
                   f"above {segmentation.off_fraction:g} of the step's peak force; stance >= "
                   f"{segmentation.min_contact_s:g} s, swing >= {segmentation.min_swing_s:g} s"),
        cadence_steps_per_min=cadence,
        walking_speed_m_s=float("nan"),
        threshold_kpa=threshold,
        mask=scheme.name,
        stuck_sensels=0,
    )
    _an.logger.info("analysed %d insole steps (%d complete; %d left, %d right)", n, int(complete.sum()),
                    int((side == "left").sum()), int((side == "right").sum()))  # fmt: skip
    return analysis


#: The masks of a sensor trial: each sensor's base label from its place in its insole.
_SENSOR_MASKS = {"percent": sensor_regions, "anatomical": sensor_anatomy}

__all__ = ["analyze_sensors", "insole_steps", "sensor_anatomy", "sensor_cop", "sensor_force", "sensor_medial",
           "sensor_regions", "side_forces"]
