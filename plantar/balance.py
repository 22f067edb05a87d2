"""Standing balance: load distribution and centre-of-pressure sway of quiet standing.

:func:`balance` takes a trial of someone standing on the mat on both feet or on
one foot, finds the feet, and reports over a window of quiet standing:

- **Load distribution.** Each foot's mean vertical force as a percentage of body
  weight, split into rearfoot and forefoot at a fraction of the foot's length
  along its axis (half, by default).
- **Sway** of the whole-body centre of pressure (COP) and of each foot's own COP,
  with the measures of Prieto et al. (1996, IEEE Trans Biomed Eng 43:956), as
  restated in the review of Quijoux et al. (2021, Physiol Rep 9:e15067): path
  length, mean velocity (total, anteroposterior AP, mediolateral ML), RMS and
  range in AP and ML, the 95 % prediction-ellipse area (Schubert & Kirchner 2014,
  Gait Posture 39:518) and the mean frequency.

The COP is low-pass filtered first, as the literature does: a 4th-order
Butterworth filter run forward and backward (zero phase), cut-off 10 Hz by
default, the filter and cut-off of Quijoux et al. (2021). :func:`sway_measures`
computes the measures of any COP series (from a mat or a force plate).

AP is the direction the person faces (the mean axis of the feet, heel to toe)
and ML the direction to their right, so (ML, AP) is a right-handed frame like the
mat's (x, y) for a person facing +y.
"""

import math

import numpy as np
import pandas as pd
import xarray as xr

from ._schema import STANDARD_GRAVITY_M_S2, check_trial, require_grid
from ._version import __version__
from .geometry import foot_geometry
from .steps import FootstepSegmentation
from .utils import logger

SCHEMA_BALANCE = "balance/1"
#: Default low-pass cut-off of the COP, Hz (Quijoux et al. 2021).
CUTOFF_HZ = 10.0
#: Order of the Butterworth low-pass (each of its two passes).
FILTER_ORDER = 4
#: Shortest window the sway is measured over, s: a few cycles of the slowest sway (0.1-0.5 Hz).
MIN_WINDOW_S = 2.0
#: Below this window length a warning says the measures are less reliable (the literature records 20-60 s).
RECOMMENDED_WINDOW_S = 20.0
#: Quantile of the chi-square distribution with 2 degrees of freedom at 0.95: -2 ln(0.05).
CHI2_2_95 = -2.0 * math.log(0.05)
#: A foot whose chirality (see :class:`plantar.geometry.FootGeometry`) is beyond this is called left or right.
_MIN_CHIRALITY_MM = 15.0

#: Sway measures -> (units, long_name, definition). ML and AP are the COP's coordinates, each minus its mean
#: over the window; n samples at rate fs, T = (n - 1) / fs the time the window spans.
SWAY_MEASURES = {
    "path_length": ("mm", "sway path length",
                    "sum over consecutive samples of the distance between them, sqrt(dML^2 + dAP^2) "
                    "(Prieto et al. 1996: total excursion)"),
    "mean_velocity": ("mm/s", "mean sway velocity", "path_length / T, T = (n - 1) / fs (Prieto et al. 1996)"),
    "mean_velocity_ap": ("mm/s", "mean sway velocity, anteroposterior", "sum of |dAP| / T"),
    "mean_velocity_ml": ("mm/s", "mean sway velocity, mediolateral", "sum of |dML| / T"),
    "rms_ap": ("mm", "RMS sway, anteroposterior", "sqrt(mean(AP^2)), AP minus its mean (Prieto et al. 1996)"),
    "rms_ml": ("mm", "RMS sway, mediolateral", "sqrt(mean(ML^2)), ML minus its mean (Prieto et al. 1996)"),
    "range_ap": ("mm", "sway range, anteroposterior", "max(AP) - min(AP)"),
    "range_ml": ("mm", "sway range, mediolateral", "max(ML) - min(ML)"),
    "ellipse_area": ("mm2", "95 % prediction ellipse area",
                     "pi x chi2(0.95, 2) x sqrt(det S) = pi x 5.991 x sqrt(l1 l2), S the covariance of (ML, AP) "
                     "(1/n), l1, l2 its eigenvalues; semi-axes sqrt(5.991 l) = 2.448 sqrt(l): the ellipse that holds "
                     "95 % of the samples of a normal sway (Schubert & Kirchner 2014, large-sample form)"),
    "ellipse_angle": ("deg", "direction of the ellipse's major axis",
                      "angle of the major axis from the ML axis toward AP, in (-90, 90]"),
    "mean_distance": ("mm", "mean distance", "mean of sqrt(ML^2 + AP^2) (Prieto et al. 1996)"),
    "mean_frequency": ("Hz", "mean frequency",
                       "mean_velocity / (2 pi mean_distance): the turns per second of the COP on a circle of radius "
                       "mean_distance at mean_velocity (Prieto et al. 1996)"),
    "mean_frequency_ap": ("Hz", "mean frequency, anteroposterior",
                          "mean_velocity_ap / (4 sqrt(2) mean |AP|) (Prieto et al. 1996)"),
    "mean_frequency_ml": ("Hz", "mean frequency, mediolateral",
                          "mean_velocity_ml / (4 sqrt(2) mean |ML|) (Prieto et al. 1996)"),
}  # fmt: skip

#: Parts of a foot the load is split into.
PARTS = ("whole", "rearfoot", "forefoot")


def sway_measures(cop_ml_mm, cop_ap_mm, *, rate_hz):
    """Sway measures of a centre-of-pressure series (already filtered).

    Parameters
    ----------
    cop_ml_mm, cop_ap_mm : array_like of float, shape (n,)
        The COP's mediolateral and anteroposterior coordinates, mm, sampled
        evenly; no NaN. Each is taken relative to its own mean.
    rate_hz : float
        Sampling rate, Hz.

    Returns
    -------
    measures : dict of str to float
        The measures named in :data:`SWAY_MEASURES` (their units and
        definitions are there).

    Examples
    --------
    A COP that circles at 0.5 Hz on a 4 mm radius: its mean frequency is 0.5
    Hz and its mean velocity 2 pi x 4 x 0.5 = 12.57 mm/s.

    >>> import numpy as np
    >>> from plantar.balance import sway_measures
    >>> t = np.arange(2001) / 100.0
    >>> m = sway_measures(4 * np.cos(np.pi * t), 4 * np.sin(np.pi * t), rate_hz=100.0)
    >>> round(m["mean_frequency"], 3), round(m["mean_velocity"], 2), round(m["rms_ap"], 3)
    (0.5, 12.57, 2.828)
    """
    ml = np.asarray(cop_ml_mm, dtype=float)
    ap = np.asarray(cop_ap_mm, dtype=float)
    if ml.ndim != 1 or ml.shape != ap.shape:
        raise ValueError(f"cop_ml_mm and cop_ap_mm must be 1-D of one length, got shapes {ml.shape} and {ap.shape}")
    if ml.size < 3:
        raise ValueError(f"sway needs at least 3 samples, got {ml.size}")
    if not (np.isfinite(ml).all() and np.isfinite(ap).all()):
        raise ValueError("the COP series must be finite (no NaN: a frame without load)")
    if not (isinstance(rate_hz, (int, float)) and np.isfinite(rate_hz) and rate_hz > 0):
        raise ValueError(f"rate_hz must be a positive number, got {rate_hz!r}")
    ml = ml - ml.mean()
    ap = ap - ap.mean()
    duration = (ml.size - 1) / float(rate_hz)
    d_ml, d_ap = np.diff(ml), np.diff(ap)
    path = float(np.hypot(d_ml, d_ap).sum())
    velocity = path / duration
    velocity_ap = float(np.abs(d_ap).sum()) / duration
    velocity_ml = float(np.abs(d_ml).sum()) / duration
    cov = np.cov(np.vstack([ml, ap]), bias=True)
    eigenvalues, vectors = np.linalg.eigh(cov)
    major = vectors[:, -1]
    angle = math.degrees(math.atan2(major[1], major[0]))
    angle = angle - 180.0 if angle > 90.0 else angle + 180.0 if angle <= -90.0 else angle
    mean_distance = float(np.hypot(ml, ap).mean())
    mean_abs_ap, mean_abs_ml = float(np.abs(ap).mean()), float(np.abs(ml).mean())

    def ratio(a, b):
        return a / b if b > 0 else math.nan

    return {
        "path_length": path,
        "mean_velocity": velocity,
        "mean_velocity_ap": velocity_ap,
        "mean_velocity_ml": velocity_ml,
        "rms_ap": float(np.sqrt(np.mean(ap**2))),
        "rms_ml": float(np.sqrt(np.mean(ml**2))),
        "range_ap": float(np.ptp(ap)),
        "range_ml": float(np.ptp(ml)),
        "ellipse_area": float(math.pi * CHI2_2_95 * math.sqrt(max(np.linalg.det(cov), 0.0))),
        "ellipse_angle": angle,
        "mean_distance": mean_distance,
        "mean_frequency": ratio(velocity, 2 * math.pi * mean_distance),
        "mean_frequency_ap": ratio(velocity_ap, 4 * math.sqrt(2) * mean_abs_ap),
        "mean_frequency_ml": ratio(velocity_ml, 4 * math.sqrt(2) * mean_abs_ml),
    }


def lowpass(values, *, rate_hz, cutoff_hz=CUTOFF_HZ):
    """Low-pass filter series the way the COP is filtered before its sway is measured.

    A Butterworth filter of order :data:`FILTER_ORDER` (4) run forward and
    backward (``scipy.signal.sosfiltfilt``): zero phase, the magnitude response
    squared (-6 dB at the cut-off). This is the filter of Quijoux et al. (2021),
    with their 10 Hz cut-off by default.

    Parameters
    ----------
    values : array_like of float, shape (..., n)
        Evenly sampled series along the last axis; no NaN.
    rate_hz : float
        Sampling rate, Hz.
    cutoff_hz : float | None
        Cut-off frequency, Hz. ``None``, or a cut-off at or above the Nyquist
        frequency (``rate_hz / 2``), leaves the series as they are.

    Returns
    -------
    filtered : ndarray of float
        Same shape as ``values``.

    Examples
    --------
    A 0.5 Hz sway passes; a 20 Hz tremor on it is removed:

    >>> import numpy as np
    >>> from plantar.balance import lowpass
    >>> t = np.arange(3000) / 100.0
    >>> slow = np.sin(np.pi * t)
    >>> out = lowpass(slow + 0.5 * np.sin(40 * np.pi * t), rate_hz=100.0)
    >>> bool(np.abs(out - slow)[100:-100].max() < 0.01)
    True
    """
    from scipy.signal import butter, sosfiltfilt

    values = np.asarray(values, dtype=float)
    if cutoff_hz is None or cutoff_hz >= 0.5 * rate_hz:
        return values.copy()
    if not (np.isfinite(cutoff_hz) and cutoff_hz > 0):
        raise ValueError(f"cutoff_hz must be a positive number or None, got {cutoff_hz!r}")
    sos = butter(FILTER_ORDER, cutoff_hz, btype="lowpass", fs=rate_hz, output="sos")
    return sosfiltfilt(sos, values, axis=-1)


def balance(
    trial,
    *,
    window_s=None,
    start_s=None,
    cutoff_hz=CUTOFF_HZ,
    forefoot_from=0.5,
    ap_axis_deg=None,
    threshold_kpa=None,
):
    """Load distribution and centre-of-pressure sway of a standing trial.

    Parameters
    ----------
    trial : xarray.Dataset
        A trial (schema ``trial/1``) of someone standing on the mat on both
        feet or on one.
    window_s : float | None
        Length of the window the numbers are taken over, s. ``None``: to the
        end of the quiet standing.
    start_s : float | None
        Start of the window, s (trial time). ``None``: the start of the longest
        stretch of the recording with the same feet on the mat throughout
        (quiet standing, after the person has stepped on).
    cutoff_hz : float | None
        Low-pass cut-off of the COP, Hz (see :func:`lowpass`); ``None`` or a
        cut-off at or above half the frame rate: not filtered. The filter runs
        over the whole stretch of standing the window lies in, so its start-up
        does not fall in the window.
    forefoot_from : float
        Where the forefoot begins, as a fraction of the foot's length from the
        heel end along the foot axis (0.5: the front half is forefoot, the back
        half rearfoot).
    ap_axis_deg : float | None
        The anteroposterior direction (where the person faces), degrees
        counter-clockwise from the mat's +x axis. ``None``: the mean axis of the
        feet, heel to toe (see :func:`plantar.geometry.foot_geometry`).
    threshold_kpa : float | None
        Contact threshold per sensel (see
        :class:`plantar.steps.FootstepSegmentation`); ``None``: from the data.

    Returns
    -------
    result : xarray.Dataset
        Schema ``balance/1``. Per ``cop`` (``"body"``: the COP of everything
        on the mat, then each foot's own COP): the sway measures of
        :data:`SWAY_MEASURES`. Per ``foot`` (``"left"``, ``"right"``, or the one
        foot, ``"unknown"`` if its side cannot be told) and ``part``
        (``"whole"``, ``"rearfoot"``, ``"forefoot"``): ``force`` (mean vertical
        force, N) and ``load_pct`` (% of body weight). Per ``cop`` and ``time``
        (the window's frames): the filtered COP ``cop_x``, ``cop_y`` (mat frame,
        mm) and ``cop_ml``, ``cop_ap`` (mm, from the body COP's mean). Attrs
        give the window, the filter, the AP direction, the body weight used
        and where it came from. Every variable states its ``definition``.

    Raises
    ------
    ValueError
        If no foot or more than two are on the mat, the window is shorter than
        :data:`MIN_WINDOW_S` or reaches beyond the standing, or a foot steps
        off or on inside the window.

    Notes
    -----
    Body weight is ``body_mass_kg x 9.80665`` N when the trial states the mass,
    else the mean total force on the mat over the window (the loads then add
    up to 100 %). On one foot the body COP is that foot's COP.

    Examples
    --------
    >>> import plantar
    >>> trial, truth = plantar.synth.stand(seed=0, duration_s=20.0)
    >>> result = plantar.balance(trial)
    >>> result.cop.values.tolist(), result.foot.values.tolist()
    (['body', 'left', 'right'], ['left', 'right'])
    >>> bool(abs(float(result.load_pct.sel(foot="left", part="whole")) - 50.0) < 2.0)
    True
    >>> round(float(result.rms_ap.sel(cop="body")), 1) > 0
    True
    """
    check_trial(trial)
    require_grid(trial, "plantar.balance")  # its feet are found as footprints on a mat
    if not (isinstance(forefoot_from, (int, float)) and 0 < forefoot_from < 1):
        raise ValueError(f"forefoot_from must be a fraction in (0, 1), got {forefoot_from!r}")
    for name, value in (("window_s", window_s), ("start_s", start_s), ("cutoff_hz", cutoff_hz)):
        if value is not None and not (isinstance(value, (int, float)) and np.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a number >= 0 or None, got {value!r}")
    time = trial["time"].values
    rate = float(trial.attrs["sampling_rate_hz"])
    n_frames = time.size
    pressure = trial["pressure"].values
    steps = FootstepSegmentation(threshold_kpa=threshold_kpa).segment(trial).steps_
    if not steps:
        raise ValueError("no foot on the mat: nothing to measure the balance of")

    # Stretches with the same contacts throughout: the frames between the changes.
    starts = np.array([s.frames.start for s in steps])
    stops = np.array([s.frames.stop for s in steps])
    cuts = np.unique(np.concatenate([[0, n_frames], starts, stops]))
    active = (starts[None, :] <= cuts[:-1, None]) & (stops[None, :] > cuts[:-1, None])  # (stretches, steps)
    loaded = active.any(axis=1)
    lengths = np.where(loaded, np.diff(cuts), 0)
    if start_s is None:
        k = int(np.argmax(lengths))
        first = int(cuts[k])
    else:
        first = int(np.searchsorted(time, start_s - 0.5 / rate))
        if first >= n_frames:
            raise ValueError(f"start_s = {start_s:g} s is past the end of the recording ({time[-1]:.2f} s)")
        k = int(np.searchsorted(cuts, first, side="right") - 1)
        if not loaded[k]:
            raise ValueError(f"nobody stands on the mat at start_s = {start_s:g} s")
    feet = np.flatnonzero(active[k])
    # The window: from `first`, window_s long or to the end of this stretch.
    end_of_stretch = int(cuts[k + 1])
    last = end_of_stretch if window_s is None else first + int(round(window_s * rate))
    change = cuts[(cuts > first) & (cuts < min(last, n_frames))]
    if change.size:
        raise ValueError(
            f"a foot steps off or onto the mat at {time[change[0]]:.2f} s, inside the window "
            f"{time[first]:.2f}-{time[first] + (last - first) / rate:.2f} s: choose a window of quiet standing "
            f"(start_s, window_s)"
        )
    if last > n_frames:
        raise ValueError(
            f"window_s = {window_s:g} s reaches past the end of the recording: {(n_frames - first) / rate:.2f} s "
            f"of standing from {time[first]:.2f} s"
        )
    n = last - first
    if n / rate < MIN_WINDOW_S or n < 3:
        raise ValueError(
            f"the window of quiet standing is {n / rate:.2f} s long ({time[first]:.2f} s on); sway needs at least "
            f"{MIN_WINDOW_S:g} s"
        )
    if len(feet) > 2:
        raise ValueError(f"{len(feet)} separate contacts on the mat at once: balance takes one or two feet")
    if n / rate < RECOMMENDED_WINDOW_S:
        logger.warning("balance over %.1f s: sway measures are usually taken over 20-60 s of standing", n / rate)

    stretch = slice(int(cuts[k]), end_of_stretch)  # the filter runs over the whole stretch
    x_all, y_all = trial["x"].values, trial["y"].values
    area_mm2 = float(trial.attrs["sensor_pitch_x_mm"]) * float(trial.attrs["sensor_pitch_y_mm"])
    force, mx, my, fore, geometries = [], [], [], [], []
    for index in feet:
        step = steps[index]
        p = step.pressure(pressure)[stretch.start - step.frames.start : stretch.stop - step.frames.start].astype(float)
        xs, ys = x_all[step.cols], y_all[step.rows]
        g = foot_geometry(p, xs, ys)
        u, _ = g.foot_coords(*np.meshgrid(xs, ys))
        front = u >= forefoot_from
        f = p.sum(axis=(1, 2))
        force.append(f * area_mm2 * 1e-3)
        mx.append(p.sum(axis=1) @ xs)
        my.append(p.sum(axis=2) @ ys)
        fore.append(p[:, front].sum(axis=1) * area_mm2 * 1e-3)
        geometries.append(g)
    force, fore = np.array(force), np.array(fore)
    pressure_sum = force / (area_mm2 * 1e-3)
    if (pressure_sum <= 0).any():
        raise ValueError("a foot carries no load in a frame of the standing: it steps off")
    foot_x, foot_y = np.array(mx) / pressure_sum, np.array(my) / pressure_sum
    body_x = (np.array(mx).sum(axis=0)) / pressure_sum.sum(axis=0)
    body_y = (np.array(my).sum(axis=0)) / pressure_sum.sum(axis=0)

    # Directions: AP = where the person faces, ML = to their right.
    if ap_axis_deg is None:
        axes = np.array([[g.axis_x, g.axis_y] for g in geometries]).mean(axis=0)
        ap = axes / np.linalg.norm(axes)
        ap_source = "the mean axis of the feet, heel to toe"
    else:
        ap = np.array([math.cos(math.radians(ap_axis_deg)), math.sin(math.radians(ap_axis_deg))])
        ap_source = "given"
    ml = np.array([ap[1], -ap[0]])
    sides = _sides(geometries, ml)

    cop_x = lowpass(np.vstack([body_x, foot_x]), rate_hz=rate, cutoff_hz=cutoff_hz)
    cop_y = lowpass(np.vstack([body_y, foot_y]), rate_hz=rate, cutoff_hz=cutoff_hz)
    window = slice(first - stretch.start, last - stretch.start)
    cop_x, cop_y = cop_x[:, window], cop_y[:, window]
    centre = np.array([cop_x[0].mean(), cop_y[0].mean()])
    cop_ml = (cop_x - centre[0]) * ml[0] + (cop_y - centre[1]) * ml[1]
    cop_ap = (cop_x - centre[0]) * ap[0] + (cop_y - centre[1]) * ap[1]
    measures = [sway_measures(cop_ml[i], cop_ap[i], rate_hz=rate) for i in range(cop_ml.shape[0])]

    mean_force = force[:, window].mean(axis=1)
    mean_fore = fore[:, window].mean(axis=1)
    mass = float(trial.attrs.get("body_mass_kg", 0.0) or 0.0)
    if mass > 0:
        body_weight, weight_source = mass * STANDARD_GRAVITY_M_S2, "body_mass_kg x 9.80665"
    else:
        body_weight, weight_source = float(mean_force.sum()), "mean total force on the mat over the window"
    part_force = np.column_stack([mean_force, mean_force - mean_fore, mean_fore])
    filtered = cutoff_hz is not None and cutoff_hz < 0.5 * rate
    if cutoff_hz is not None and not filtered:
        logger.warning("cutoff_hz = %g Hz is at or above half the frame rate (%g Hz): the COP is not filtered",
                       cutoff_hz, rate)  # fmt: skip
    filter_text = (
        f"{FILTER_ORDER}th-order Butterworth low-pass at {cutoff_hz:g} Hz, forward and backward (zero phase), "
        "over the stretch of standing the window lies in" if filtered else "none"
    )
    return _dataset(trial, sides, measures, part_force, body_weight, weight_source, cop_x, cop_y, cop_ml, cop_ap,
                    time[first:last], ap, ap_source, filter_text, cutoff_hz if filtered else 0.0, forefoot_from,
                    mass)  # fmt: skip


def _sides(geometries, ml):
    """Left/right of the feet: two by their position across the AP axis, one by its shape."""
    if len(geometries) == 2:
        across = [np.dot([g.heel_x, g.heel_y], ml) for g in geometries]
        return ["left", "right"] if across[0] < across[1] else ["right", "left"]
    chirality = geometries[0].chirality_mm
    if chirality > _MIN_CHIRALITY_MM:
        return ["left"]
    return ["right"] if chirality < -_MIN_CHIRALITY_MM else ["unknown"]


def _dataset(trial, sides, measures, part_force, body_weight, weight_source, cop_x, cop_y, cop_ml, cop_ap, time,
             ap, ap_source, filter_text, cutoff_hz, forefoot_from, mass):  # fmt: skip
    order = np.argsort([("left", "right", "unknown").index(s) for s in sides], kind="stable")
    sides = [sides[i] for i in order]
    cop_order = np.concatenate([[0], order + 1])
    cop_names = ["body", *sides]

    def var(dims, data, units, long_name, definition):
        return (dims, data, dict(units=units, long_name=long_name, definition=definition))

    data = {
        name: var("cop", np.array([measures[i][name] for i in cop_order]), *SWAY_MEASURES[name])
        for name in SWAY_MEASURES
    }
    split = (f"rearfoot = the foot's sensels before {forefoot_from:g} of its length from the heel end along the foot "
             "axis, forefoot = the rest")  # fmt: skip
    data["force"] = var(("foot", "part"), part_force[order], "N", "mean vertical force",
                        f"mean over the window of the sum of pressure x sensel area over the part; {split}")
    data["load_pct"] = var(("foot", "part"), 100.0 * part_force[order] / body_weight, "%", "load (% of body weight)",
                       f"force / body weight x 100, body weight = {weight_source}; {split}")
    where = "pressure-weighted centroid of the sensels of everything on the mat ('body') or of one foot"
    data["cop_x"] = var(("cop", "time"), cop_x[cop_order], "mm", "centre of pressure x (filtered)",
                        f"{where}, mat frame, low-pass filtered ({filter_text})")
    data["cop_y"] = var(("cop", "time"), cop_y[cop_order], "mm", "centre of pressure y (filtered)",
                        f"{where}, mat frame, low-pass filtered ({filter_text})")
    data["cop_ml"] = var(("cop", "time"), cop_ml[cop_order], "mm", "centre of pressure, mediolateral",
                         "cop_x, cop_y minus the body COP's mean over the window, along ML (to the person's right)")
    data["cop_ap"] = var(("cop", "time"), cop_ap[cop_order], "mm", "centre of pressure, anteroposterior",
                         "cop_x, cop_y minus the body COP's mean over the window, along AP (where the person faces)")
    keep = {k: v for k, v in trial.attrs.items() if k in ("device", "source_format", "source_file", "start_time",
                                                           "subject", "condition", "calibration_id")}  # fmt: skip
    rate = float(trial.attrs["sampling_rate_hz"])
    attrs = dict(
        keep,
        plantar_schema=SCHEMA_BALANCE,
        plantar_version=__version__,
        body_mass_kg=mass,
        sampling_rate_hz=rate,
        window_start_s=float(time[0]),
        window_end_s=float(time[-1]),
        window_s=float(time.size / rate),
        cutoff_hz=float(cutoff_hz),
        filter=filter_text,
        ap_axis_deg=float(math.degrees(math.atan2(ap[1], ap[0]))),
        ap_axis=f"AP = {ap_source}; ML = AP turned 90 degrees clockwise (to the person's right)",
        body_weight_n=float(body_weight),
        body_weight_source=weight_source,
        forefoot_from=float(forefoot_from),
    )
    return xr.Dataset(
        data,
        coords={
            "cop": ("cop", cop_names),
            "foot": ("foot", sides),
            "part": ("part", list(PARTS)),
            "time": ("time", time, dict(units="s", long_name="time of the window's frames")),
        },
        attrs=attrs,
    )


def balance_table(result):
    """A balance result as a tidy table: one row per COP or foot, part and measure.

    Parameters
    ----------
    result : xarray.Dataset
        From :func:`balance` (schema ``balance/1``).

    Returns
    -------
    table : pandas.DataFrame
        Columns ``cop`` (``"body"`` or a foot), ``part`` (empty for sway
        measures; ``whole``, ``rearfoot``, ``forefoot`` for the load),
        ``metric``, ``value``, ``units``.

    Examples
    --------
    >>> import plantar
    >>> trial, _ = plantar.synth.stand(seed=0, duration_s=10.0)
    >>> table = plantar.balance_table(plantar.balance(trial))
    >>> list(table.columns)
    ['cop', 'part', 'metric', 'value', 'units']
    >>> table.query("metric == 'ellipse_area' and cop == 'body'")["units"].item()
    'mm2'
    """
    if not isinstance(result, xr.Dataset) or result.attrs.get("plantar_schema") != SCHEMA_BALANCE:
        got = result.attrs.get("plantar_schema") if isinstance(result, xr.Dataset) else type(result).__name__
        raise ValueError(f"balance_table needs a balance result (schema {SCHEMA_BALANCE!r}), got {got!r}")
    rows = []
    for name in SWAY_MEASURES:
        for cop, value in zip(result["cop"].values, result[name].values):
            rows.append((str(cop), "", name, float(value), result[name].attrs["units"]))
    for name in ("load_pct", "force"):
        for i, foot in enumerate(result["foot"].values):
            for j, part in enumerate(result["part"].values):
                rows.append((str(foot), str(part), name, float(result[name].values[i, j]), result[name].attrs["units"]))
    return pd.DataFrame(rows, columns=["cop", "part", "metric", "value", "units"])
