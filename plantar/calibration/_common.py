"""What the calibration steps share: the schema, sensel status codes, checks and helpers."""

import datetime
import hashlib
import json
import numbers

import numpy as np
import xarray as xr

from .._schema import check_counts
from .._version import __version__

SCHEMA_CAL = "pmcal/1"

#: Sensel status codes stored in the ``status`` variable.
STATUS = {"ok": 0, "dead": 1, "stuck_high": 2, "noisy": 3, "uncovered": 4}
STATUS_MEANINGS = "0 ok, 1 dead, 2 stuck high, 3 noisy, 4 uncovered in equilibration"

#: Names of the per-sensel variables -> (dtype, units, long_name).
CAL_VARIABLES = {
    "offset_counts": (np.float32, "count", "tare baseline (median of unloaded frames)"),
    "noise_counts": (np.float32, "count", "read noise at rest (1.4826 x MAD of unloaded frames)"),
    "gain": (np.float32, "1", "equilibration gain (median 1)"),
    "status": (np.int8, "1", f"sensel status: {STATUS_MEANINGS}"),
    "saturation_counts": (np.float32, "count", "reading at which the sensel saturates (ADC rail)"),
}

#: Attrs that are 1-D float arrays (NetCDF gives a 1-element array back as a scalar).
ARRAY_ATTRS = ("valid_range_counts", "valid_range_kpa", "curve_knots_counts", "curve_knots_kpa",
               "equilibration_levels_kpa", "equilibration_levels_counts")  # fmt: skip

#: Per-sensel variables of files written since they were added (older files load without them).
OPTIONAL_CAL_VARIABLES = {
    "max_seen_counts": (np.float32, "count",
                        "highest reading seen in the calibration recordings (tare, equilibration, fit loads)"),
}  # fmt: skip


def _check_raw(raw, name="raw"):
    """Check a raw recording, naming the argument in the message."""
    if not isinstance(raw, xr.Dataset):
        raise TypeError(f"{name} must be a raw recording (xarray.Dataset), got {type(raw).__name__}")
    try:
        check_counts(raw)
    except ValueError as exc:
        raise ValueError(f"{name} is not a raw recording (schema counts/1): {exc}") from None


def check_calibration(cal):
    """Check that a Dataset is a calibration (schema ``pmcal/1``).

    Parameters
    ----------
    cal : xarray.Dataset
        A calibration, as returned by :func:`tare`, :func:`equilibrate`,
        :func:`fit` or :func:`load`.

    Raises
    ------
    TypeError
        If ``cal`` is not an :class:`xarray.Dataset`.
    ValueError
        If a variable or attribute is missing or wrong; the message names it.

    Examples
    --------
    >>> import numpy as np
    >>> import plantar
    >>> from plantar import calibration
    >>> raw = plantar.make_counts(np.zeros((100, 4, 4), dtype=np.uint16), pitch_mm=10.0, rate_hz=50.0)
    >>> calibration.check_calibration(calibration.tare(raw))
    """
    if not isinstance(cal, xr.Dataset):
        raise TypeError(f"cal must be a calibration (xarray.Dataset), got {type(cal).__name__}")
    if cal.attrs.get("plantar_schema") != SCHEMA_CAL:
        raise ValueError(
            f"cal is not a calibration: attr 'plantar_schema' is {cal.attrs.get('plantar_schema')!r}, "
            f"expected {SCHEMA_CAL!r}"
        )
    for name, (dtype, _, _) in {**CAL_VARIABLES, **OPTIONAL_CAL_VARIABLES}.items():
        if name not in cal.data_vars:
            if name in OPTIONAL_CAL_VARIABLES:
                continue
            raise ValueError(f"calibration has no variable {name!r}")
        if cal[name].dims != ("y", "x") or cal[name].dtype != dtype:
            raise ValueError(
                f"calibration variable {name!r} must be {np.dtype(dtype)} with dims ('y', 'x'), "
                f"got {cal[name].dtype} with dims {cal[name].dims}"
            )
    for key in ("device", "sensor_pitch_x_mm", "sensor_pitch_y_mm", "threshold_sigma",
                "noise_floor_counts", "model", "procedure", "calibration_id"):  # fmt: skip
        if key not in cal.attrs:
            raise ValueError(f"calibration has no attr {key!r}")
    if cal.attrs["model"] == "table":
        from ._curve import _check_knots

        for key in ("curve_knots_counts", "curve_knots_kpa"):
            if key not in cal.attrs:
                raise ValueError(f"calibration has model 'table' but no attr {key!r}")
        _check_knots(cal.attrs["curve_knots_counts"], cal.attrs["curve_knots_kpa"], "calibration attr curve_knots")


#: Two readings at rest differ when they are more than this many noise standard
#: deviations (``max(noise_counts, noise_floor_counts)``) and one count apart.
MAT_CHECK_SIGMA = 6.0
#: A sensel's reading at rest in a recording: this percentile of its readings over
#: the frames (a foot or a load covers a sensel in fewer than 90 % of a walk's frames).
REST_PERCENTILE = 10
#: A recording is from another mat when at least this many sensels read at rest
#: unlike the tare (one may have failed since; two are not chance: each is off by
#: more than ``MAT_CHECK_SIGMA`` noise standard deviations in 90 % of the frames).
MAT_MISMATCH_SENSELS = 2


def _check_same_mat(raw, cal, name="raw", *, check_fingerprint=True):
    """Refuse a recording from another mat than the calibration's.

    Device, shape and pitch must be the calibration's; then, unless
    ``check_fingerprint`` is False, the recording's readings at rest must match
    the tare's (:func:`_rest_mismatch`), which tells apart mats that send no
    serial number.
    """
    shape_cal = (cal.sizes["y"], cal.sizes["x"])
    shape_raw = (raw.sizes["y"], raw.sizes["x"])
    dev_cal, dev_raw = cal.attrs["device"], raw.attrs.get("device", "")
    if dev_cal != dev_raw or shape_cal != shape_raw:
        raise ValueError(
            f"{name} is from another mat: the calibration is for {dev_cal!r} "
            f"({shape_cal[0]} x {shape_cal[1]} sensels), the recording from {dev_raw!r} "
            f"({shape_raw[0]} x {shape_raw[1]}); use the calibration of this mat"
        )
    for attr in ("sensor_pitch_x_mm", "sensor_pitch_y_mm"):
        if not np.isclose(cal.attrs[attr], raw.attrs[attr], rtol=1e-6, atol=0):
            raise ValueError(
                f"{name} has {attr} = {raw.attrs[attr]:g} but the calibration {cal.attrs[attr]:g}: "
                "it is from another mat; use the calibration of this mat"
            )
    if check_fingerprint:
        message = _rest_mismatch(raw, cal)
        if message:
            raise ValueError(
                f"{name} is from another mat: {message}; use the calibration of this mat (recalibrate a "
                "repaired mat; check_mat=False, or --skip-mat-check, skips this comparison)"
            )


def _rest_mismatch(raw, cal):
    """Why a recording's readings at rest are not the tare's (its mat's fingerprint), or "".

    Each sensel's reading at rest is its :data:`REST_PERCENTILE` th percentile
    over the recording's frames: its zero-load reading wherever it is unloaded
    in a tenth of the frames or more (a walk, someone standing, an empty mat),
    a loaded reading otherwise. Load only raises readings, so on the tare's
    mat no sensel reads at rest clearly *below* its tare offset (a drift of
    the whole mat downwards is taken out first: the median difference, if
    negative). Two disagreements are counted, each beyond
    ``MAT_CHECK_SIGMA * max(noise, floor) + 1`` counts: a sensel reading at
    rest below its tare offset (a sensel stuck at the rail in the tare that
    now reads less, or a lower offset), and a sensel at the ADC rail in at
    least 90 % of the frames, alone among sensels at rest, where the tare read
    it at rest (a hot sensel the tare did not see). Mats whose firmware zeroes
    the readings at rest differ in their stuck sensels; mats with a spread of
    offsets in most sensels.
    """
    counts = raw["counts"].values
    rest = _lower_percentile(counts, REST_PERCENTILE).astype(np.float64)
    offset = cal["offset_counts"].values.astype(np.float64)
    tol = MAT_CHECK_SIGMA * np.maximum(cal["noise_counts"].values, cal.attrs["noise_floor_counts"]) + 1.0
    ok = cal["status"].values == STATUS["ok"]
    diff = rest - offset
    drift = min(0.0, float(np.median(diff[ok]))) if ok.any() else 0.0
    diff -= drift
    below = diff < -tol
    rail = cal["saturation_counts"].values
    at_rest = np.abs(diff) <= tol
    padded = np.pad(at_rest, 1, constant_values=True)
    neighbours_at_rest = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    hot = (rest >= rail) & (offset < rail - tol) & neighbours_at_rest
    wrong = below | hot
    n_wrong = int(wrong.sum())
    if n_wrong < MAT_MISMATCH_SENSELS:
        return ""
    r, c = (int(v[0]) for v in np.nonzero(wrong))
    return (
        f"{n_wrong} sensels read at rest unlike this calibration's tare ({int(below.sum())} lower, "
        f"{int(hot.sum())} stuck at the rail; row {r}, col {c} reads {rest[r, c]:.0f} counts at rest, "
        f"the tare {offset[r, c]:.0f})"
    )


#: Readings within this many counts above a sensel's lowest are told apart by :func:`_lower_percentile`.
_PERCENTILE_SPAN = 64
#: Frames whose readings :func:`_lower_percentile` counts at once (bounds its temporary arrays).
_PERCENTILE_BATCH_FRAMES = 128


def _lower_percentile(counts, percentile):
    """``np.percentile(counts, percentile, axis=0, method="lower")`` of integer frames, counted instead of sorted.

    The ``method="lower"`` percentile is one of each sensel's readings, the
    k-th smallest. Each sensel's readings from its lowest to
    ``_PERCENTILE_SPAN - 2`` counts above are counted (one histogram of all
    sensels, a batch of frames at a time), which finds it wherever it lies in
    that span, as it does for a sensel unloaded in enough frames; the other
    sensels are sorted as numpy does.
    """
    n = counts.shape[0]
    k = int(np.percentile(np.arange(n), percentile, method="lower"))  # the index numpy takes
    flat = counts.reshape(n, -1)
    n_cells, span = flat.shape[1], _PERCENTILE_SPAN
    low = flat.min(axis=0)
    base = np.arange(n_cells, dtype=np.int64) * span
    hist = np.zeros(n_cells * span, np.int64)
    for start in range(0, n, _PERCENTILE_BATCH_FRAMES):
        above = flat[start : start + _PERCENTILE_BATCH_FRAMES].astype(np.int64) - low
        np.minimum(above, span - 1, out=above)
        above += base
        hist += np.bincount(above.ravel(), minlength=hist.size)
    # The first value whose readings at or below it outnumber k; the last bin holds all beyond the span.
    at = np.argmax(hist.reshape(n_cells, span).cumsum(axis=1) > k, axis=1)
    out = (low.astype(np.int64) + at).astype(counts.dtype)
    beyond = np.flatnonzero(at == span - 1)
    if beyond.size:
        out[beyond] = np.percentile(flat[:, beyond], percentile, axis=0, method="lower")
    return out.reshape(counts.shape[1:])


def _fraction(value, name):
    if not (isinstance(value, numbers.Real) and not isinstance(value, bool) and 0 <= value <= 1):
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    return float(value)


def _adc_rail(raw, adc_bits):
    """ADC rail in counts: from ``adc_bits``, the recording's attrs, or 65535 (uint16)."""
    if adc_bits is None:
        adc_bits = raw.attrs.get("adc_bits")
    if adc_bits is None and "device_info" in raw.attrs:
        try:
            adc_bits = json.loads(raw.attrs["device_info"]).get("adc_bits")
        except (ValueError, AttributeError):
            adc_bits = None
    if adc_bits is None:
        return 0, 65535
    if not (isinstance(adc_bits, numbers.Integral) and 1 <= adc_bits <= 16):
        raise ValueError(f"adc_bits must be an integer in 1 .. 16, got {adc_bits!r}")
    return int(adc_bits), 2 ** int(adc_bits) - 1


def _gate_counts(cal):
    """Per-sensel gate on equalised counts: threshold_sigma x max(noise, floor) x gain."""
    sigma = np.maximum(cal["noise_counts"].values, cal.attrs["noise_floor_counts"])
    return (cal.attrs["threshold_sigma"] * sigma * cal["gain"].values).astype(np.float32)


def _equalised(raw, cal):
    """Equalised counts ``e = g * max(raw - o, 0)``, gated, as float32 (time, y, x)."""
    counts = raw["counts"].values
    e = counts.astype(np.float32)
    e -= cal["offset_counts"].values
    np.maximum(e, 0, out=e)
    e *= cal["gain"].values
    e[e <= _gate_counts(cal)] = 0
    return e


#: Frames in-painted per call (bounds the memory of the (y, x, frames) copies).
INPAINT_BATCH_FRAMES = 256


def _inpaint(frames, bad):
    """Fill the ``bad`` (y, x) cells of every frame by biharmonic in-painting.

    :func:`skimage.restoration.inpaint_biharmonic` (Damelin and Hoang 2018)
    solves the discrete biharmonic equation over the bad cells, with the valid
    cells around them (two sensels deep) as boundary values: a smooth surface
    that continues the field's level, slope and curvature, exact for fields
    cubic in x and y, for single sensels and clusters alike. All bad cells
    form one sparse system, factorised once per batch of frames, the frames
    being its channels. The in-painted values stay within the range of the
    frame's valid readings (skimage clips to it), so no value above the
    frame's highest valid reading is invented. If no cell is valid, all stay NaN.
    """
    out = frames.copy()
    if not bad.any():
        return out
    out[:, bad] = np.nan
    if bad.all():
        return out
    from skimage.restoration import inpaint_biharmonic

    for t0 in range(0, out.shape[0], INPAINT_BATCH_FRAMES):  # batches of frames, for memory only
        batch = out[t0 : t0 + INPAINT_BATCH_FRAMES]
        image = np.moveaxis(np.where(bad, 0, batch), 0, -1)  # (y, x, frames): frames as channels
        filled = inpaint_biharmonic(image, bad, channel_axis=-1)
        batch[:, bad] = np.moveaxis(filled, -1, 0)[:, bad]
    return out


def _max_seen(cal, *raws):
    """Per-sensel highest reading over the calibration so far and these recordings (float32)."""
    seen = [raw["counts"].values.max(axis=0) for raw in raws]
    if "max_seen_counts" in cal.data_vars:
        seen.append(cal["max_seen_counts"].values)
    return np.maximum.reduce(seen).astype(np.float32)


def _set_max_seen(out, *raws):
    """Store :func:`_max_seen` in ``out`` (a new calibration, changed in place)."""
    name = "max_seen_counts"
    dtype, units, long_name = OPTIONAL_CAL_VARIABLES[name]
    out[name] = (("y", "x"), _max_seen(out, *raws).astype(dtype), {"units": units, "long_name": long_name})


def _components(mask):
    """Label 4-connected components of ``mask``; return (labels, sizes per label, 0 first)."""
    from scipy import ndimage  # imported where used: importing scipy.ndimage costs a good part of a second

    labels, n = ndimage.label(mask)
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    return labels, sizes


def _add_step(cal, step):
    """Return the procedure JSON with one more step appended."""
    steps = json.loads(cal.attrs.get("procedure", "[]"))
    steps.append(step)
    return json.dumps(steps, separators=(",", ":"), sort_keys=True)


def _utc_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _plain(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _content_id(cal):
    """Short hash (12 hex digits) of the calibration's values and attrs, ``calibration_id`` left out."""
    h = hashlib.sha256()
    for name in sorted(cal.variables):
        var = cal.variables[name]
        values = np.ascontiguousarray(var.values)
        h.update(f"{name}|{values.dtype.str}|{values.shape}|".encode())
        h.update(values.tobytes())
        h.update(json.dumps({k: _plain(v) for k, v in var.attrs.items()}, sort_keys=True).encode())
    attrs = {k: _plain(v) for k, v in cal.attrs.items() if k != "calibration_id"}
    h.update(json.dumps(attrs, sort_keys=True).encode())
    return h.hexdigest()[:12]


def _finish(cal):
    """Stamp the version, the date and the content hash; return the calibration."""
    cal.attrs["plantar_version"] = __version__
    cal.attrs["calibration_id"] = _content_id(cal)
    return cal
