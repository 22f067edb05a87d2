"""Loading metrics computed from a trial.

Trial-level quantities live here: the vertical force per frame and a summary of a
trial. Everything is vectorised over frames; large trials are reduced in blocks of
frames so that memory stays bounded.
"""

import numpy as np
import xarray as xr

from ._schema import STANDARD_GRAVITY_M_S2, check_trial
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
