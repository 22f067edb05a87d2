"""Step 4: apply a calibration. Raw counts to a trial in kPa."""

import numpy as np

from .._schema import TRIAL_ATTRS, make_trial
from ._common import (
    STATUS,
    _check_raw,
    _check_same_mat,
    _equalised,
    _inpaint,
    check_calibration,
)
from ._curve import _params, curve_kpa

_SET_BY_MAKE_TRIAL = ("plantar_schema", "sampling_rate_hz", "sensor_pitch_x_mm", "sensor_pitch_y_mm")


def apply(raw, cal, *, dead="inpaint", check_mat=True):
    """Turn a raw recording into a trial in kPa with a calibration.

    Per sensel and frame, ``P = f(e)`` with ``e = g * max(raw - o, 0)`` gated
    at ``threshold_sigma * max(sigma, floor) * g`` (0 below it) and ``f`` the
    fitted load curve (research notes, section 4.5, step 4). The equalised
    counts of sensels whose status is not ok (dead, stuck high, noisy,
    uncovered) are in-painted from the valid sensels around them
    (biharmonic in-painting, :func:`skimage.restoration.inpaint_biharmonic`:
    smooth, exact for fields quadratic in x and y, single sensels and
    clusters alike, never above the frame's highest valid reading) or set to
    NaN. Vectorised over frames and sensels.

    Two flags mark what the calibration cannot vouch for. A cell is
    *saturated* when its reading is at or above the ADC rail
    (``saturation_counts``): the true pressure may be higher. It is
    *extrapolated* when its equalised counts exceed the calibrated range
    (``valid_range_counts[1]``: the highest equalised counts in the fit's
    loads and levels, or for the table its last knot, the highest pressure
    level), where the curve is used beyond the loads it was fitted to.

    Parameters
    ----------
    raw : xarray.Dataset
        Raw recording (schema ``counts/1``) from the calibrated mat.
    cal : xarray.Dataset
        A fitted calibration (:func:`fit` or :func:`load`) of the same mat.
    dead : {"inpaint", "nan"}
        What to do with sensels whose status is not ok.
    check_mat : bool
        Compare the recording's readings at rest with the tare's, the mat's
        fingerprint (see below); False skips it (device, shape and pitch are
        always checked).

    Returns
    -------
    trial : xarray.Dataset
        Trial (schema ``trial/1``) with ``pressure`` in kPa, the recording's
        coordinates (``time``, ``y``, ``x``, ``seq``, ``t_device``) and attrs,
        ``calibration_id`` set, the per-cell flags ``saturated`` and
        ``extrapolated`` (bool, dims ``(time, y, x)``; never saturated where
        a sensel is in-painted or NaN, its reading not being used) and their
        counts per frame,
        ``saturated_sensels`` and ``extrapolated_sensels`` (int32, dim ``time``).

    A calibration belongs to one mat. A recording from another device, of
    another shape or pitch is refused; so is one whose readings at rest do not
    match the tare's (the fingerprint of mats that send no serial number):
    at least two sensels reading at rest below their tare
    offset by more than six noise standard deviations and a count (after any
    drift of the whole mat downwards), or stuck at the ADC rail alone among
    sensels at rest where the tare read them at rest. On a mat whose firmware
    zeroes the readings at rest, the fingerprint is its stuck sensels: such a
    mat without any carries none.

    Raises
    ------
    ValueError
        If the calibration has no load curve yet, or is for another mat.

    See Also
    --------
    fit, load

    Examples
    --------
    >>> import numpy as np
    >>> import plantar
    >>> from plantar import calibration
    >>> rest = plantar.make_counts(np.zeros((100, 4, 4), np.uint16), pitch_mm=10.0, rate_hz=50.0)
    >>> frames = np.zeros((10, 4, 4), np.uint16)
    >>> frames[:, 1:3, 1:3] = 2000
    >>> loaded = plantar.make_counts(frames, pitch_mm=10.0, rate_hz=50.0)
    >>> cal = calibration.fit(calibration.tare(rest, adc_bits=12), [(loaded, 80.0)], models=("linear",))
    >>> trial = calibration.apply(loaded, cal)
    >>> round(float(trial.pressure[0, 1, 1]), 3), trial.attrs["calibration_id"] == cal.attrs["calibration_id"]
    (200.0, True)
    >>> frames[5, 1, 1] = 4095                    # at the 12-bit rail
    >>> trial = calibration.apply(plantar.make_counts(frames, pitch_mm=10.0, rate_hz=50.0), cal)
    >>> bool(trial.saturated[5, 1, 1]), bool(trial.extrapolated[5, 1, 1]), int(trial.saturated_sensels[5])
    (True, True, 1)
    """
    _check_raw(raw)
    check_calibration(cal)
    if dead not in ("inpaint", "nan"):
        raise ValueError(f"dead must be one of ('inpaint', 'nan'), got {dead!r}")
    if cal.attrs["model"] == "":
        raise ValueError("the calibration has no load curve: run plantar.calibration.fit on it first")
    _check_same_mat(raw, cal, check_fingerprint=check_mat)
    model = cal.attrs["model"]
    params = _params(cal)
    bad = cal["status"].values != STATUS["ok"]
    e = _equalised(raw, cal)
    if dead == "inpaint":
        e = _inpaint(e, bad)
    else:
        e[:, bad] = np.nan
    counts = raw["counts"].values
    saturated = (counts >= cal["saturation_counts"].values) & ~bad
    extrapolated = e > cal.attrs["valid_range_counts"][1]
    pressure = curve_kpa(model, params, e).astype(np.float32, copy=False)

    attrs = {k: v for k, v in raw.attrs.items() if k not in _SET_BY_MAKE_TRIAL}
    attrs.update(calibration_id=cal.attrs["calibration_id"], calibration_model=model)
    trial = make_trial(
        pressure,
        pitch_mm=(raw.attrs["sensor_pitch_x_mm"], raw.attrs["sensor_pitch_y_mm"]),
        rate_hz=raw.attrs["sampling_rate_hz"],
        time_s=raw["time"].values,
        origin_mm=(float(raw["x"].values[0]), float(raw["y"].values[0])),
        **attrs,
    )
    trial = trial.assign_coords(seq=raw["seq"].variable.copy(), t_device=raw["t_device"].variable.copy())
    for name, flags, long_name in (
        ("saturated", saturated, "reading at the ADC rail (pressure understated)"),
        ("extrapolated", extrapolated, "reading beyond the calibrated range (load curve extrapolated)"),
    ):
        trial[name] = (("time", "y", "x"), flags, {"units": "1", "long_name": long_name})
        trial[f"{name}_sensels"] = ("time", flags.reshape(flags.shape[0], -1).sum(axis=1).astype(np.int32),
                                    {"units": "1", "long_name": f"sensels per frame: {long_name}"})  # fmt: skip
    for key in TRIAL_ATTRS:
        trial.attrs.setdefault(key, TRIAL_ATTRS[key][1])
    return trial


def scale(raw, kpa_per_count=None):
    """Turn a raw recording into a trial in kPa with one linear scale for every sensel.

    ``P = kpa_per_count * counts``: the calibration of a sensor whose vendor
    states a single linear factor (Tekscan's one-point calibration, kept by
    :mod:`plantar.io.tekscan` as the attr ``kpa_per_count_stated``), or a factor
    the user knows. No offset, per-sensel gain or load curve: for a mat
    calibrated by plantar's procedure use :func:`apply`. Sensels outside the
    sensor's outline (a variable ``outline`` that is 0 there) are NaN.

    Parameters
    ----------
    raw : xarray.Dataset
        Raw recording (schema ``counts/1``).
    kpa_per_count : float | None
        kPa per count. ``None`` uses the recording's ``kpa_per_count_stated``
        attr (the factor its file states).

    Returns
    -------
    trial : xarray.Dataset
        Trial (schema ``trial/1``) with ``pressure`` in kPa, the recording's
        coordinates and attrs; ``calibration_id`` names the scale
        (``linear <k> kPa/count``) and ``calibration_model`` is ``"linear"``.

    Raises
    ------
    ValueError
        If no factor is given and the recording states none, or the factor is
        not a positive finite number.

    See Also
    --------
    apply

    Examples
    --------
    >>> import numpy as np
    >>> import plantar
    >>> from plantar import calibration
    >>> raw = plantar.make_counts(np.full((2, 2, 2), 10, np.uint16), pitch_mm=5.08, rate_hz=50.0)
    >>> trial = calibration.scale(raw, kpa_per_count=5.94)
    >>> float(trial.pressure[0, 0, 0]), trial.attrs["calibration_id"]
    (59.400001525878906, 'linear 5.94 kPa/count')
    """
    _check_raw(raw)
    source = "given"
    if kpa_per_count is None:
        if "kpa_per_count_stated" not in raw.attrs:
            raise ValueError(
                "the recording states no kPa per count (attr 'kpa_per_count_stated'): pass kpa_per_count"
            )
        kpa_per_count, source = raw.attrs["kpa_per_count_stated"], "stated in the file"
    try:
        k = float(kpa_per_count)
    except (TypeError, ValueError):
        raise ValueError(f"kpa_per_count must be a number, got {kpa_per_count!r}") from None
    if not (np.isfinite(k) and k > 0):
        raise ValueError(f"kpa_per_count must be a positive finite number, got {kpa_per_count!r}")
    pressure = (raw["counts"].values * k).astype(np.float32)
    if "outline" in raw.data_vars:
        pressure[:, raw["outline"].values == 0] = np.nan
    attrs = {k_: v for k_, v in raw.attrs.items() if k_ not in _SET_BY_MAKE_TRIAL}
    attrs.update(calibration_id=f"linear {k:.6g} kPa/count", calibration_model="linear", kpa_per_count=k,
                 kpa_per_count_source=source)  # fmt: skip
    trial = make_trial(
        pressure,
        pitch_mm=(raw.attrs["sensor_pitch_x_mm"], raw.attrs["sensor_pitch_y_mm"]),
        rate_hz=raw.attrs["sampling_rate_hz"],
        time_s=raw["time"].values,
        origin_mm=(float(raw["x"].values[0]), float(raw["y"].values[0])),
        **attrs,
    )
    trial = trial.assign_coords(seq=raw["seq"].variable.copy(), t_device=raw["t_device"].variable.copy())
    for key in TRIAL_ATTRS:
        trial.attrs.setdefault(key, TRIAL_ATTRS[key][1])
    return trial
