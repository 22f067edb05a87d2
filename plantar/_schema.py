"""The trial data model: names, units, constructors and checks.

A *trial* (schema ``trial/1``) is an :class:`xarray.Dataset` holding ``pressure`` in
kPa with dims ``(time, y, x)``. A *raw recording* (schema ``counts/1``) has the same
layout with ``counts`` (uint16) instead of ``pressure``, plus per-frame ``seq`` and
``t_device`` coordinates. Every reader, driver and constructor returns one of the two,
and every analysis function checks its input with :func:`check_trial` on entry.

A *sensor trial* is a trial of sensors that are not a grid (in-shoe insoles such as
novel pedar, 99 sensors of different sizes, or Moticon, 16): still schema
``trial/1``, but ``pressure`` has dims ``(time, sensor)`` and each sensor carries its
place, area and outline as coordinates on ``sensor`` (:data:`SENSOR_VARIABLES`):
``sensor_number`` (the vendor's), ``sensor_side`` (``"left"``/``"right"``),
``sensor_x``/``sensor_y`` (its centroid in mm, in the trial frame: toes toward +y,
the left insole at smaller x, as a mat seen from above), ``sensor_area`` (mm², the
area force is computed with: force = sum(pressure x area)) and
``outline_x``/``outline_y`` (dims ``(sensor, vertex)``, the polygon in mm, padded
with NaN). It has no ``sensor_pitch_*`` attrs (there is no pitch) and says where
its geometry comes from in ``sensor_geometry``. :func:`make_sensor_trial` builds one;
:func:`is_sensor_trial` tells the layouts apart; functions that need a grid call
:func:`require_grid`.

Per-frame variables a file states for each insole of a two-insole trial end in
``_left``/``_right`` (``force_reported_left``, ``cop_x_reported_right``, ...). Where
the sensor areas are not published (Moticon), the attr ``force_variable`` names the
per-frame force, without the side, that force-based analysis uses instead of
sum(pressure x area) (``"force_reported"``: ``force_reported_left`` and
``force_reported_right``), and ``sensor_area_source`` says where the areas come from.
"""

import datetime
import numbers
import re

import numpy as np
import xarray as xr

from ._version import __version__
from .utils.docs import fill_doc

SCHEMA_TRIAL = "trial/1"
SCHEMA_COUNTS = "counts/1"
DIMS = ("time", "y", "x")

#: Variable and coordinate names -> (units, long_name).
TRIAL_VARIABLES = {
    "pressure": ("kPa", "plantar pressure"),
    "time": ("s", "time since the first frame"),
    "y": ("mm", "sensor row centre (mat frame)"),
    "x": ("mm", "sensor column centre (mat frame)"),
}
COUNTS_VARIABLES = {
    "counts": ("count", "raw sensor reading"),
    "time": TRIAL_VARIABLES["time"],
    "y": TRIAL_VARIABLES["y"],
    "x": TRIAL_VARIABLES["x"],
    "seq": ("1", "device scan counter"),
    "t_device": ("s", "device clock at scan start (NaN if the device has no clock)"),
}

#: Variables and coordinates of a sensor trial (irregular sensors) -> (units, long_name).
SENSOR_VARIABLES = {
    "pressure": TRIAL_VARIABLES["pressure"],
    "time": TRIAL_VARIABLES["time"],
    "sensor": ("1", "sensor index"),
    "sensor_number": ("1", "sensor number given by the vendor"),
    "sensor_side": ("1", "insole or foot the sensor belongs to (left or right)"),
    "sensor_x": ("mm", "sensor centroid x (trial frame)"),
    "sensor_y": ("mm", "sensor centroid y (trial frame, toes toward +y)"),
    "sensor_area": ("mm2", "sensor area"),
    "outline_x": ("mm", "sensor outline vertex x (NaN after the last vertex)"),
    "outline_y": ("mm", "sensor outline vertex y (NaN after the last vertex)"),
}
SENSOR_DIMS = ("time", "sensor")
#: Plausible area of one sensor in mm² (in-shoe sensors are about 20 .. 600 mm²).
SENSOR_AREA_LIMITS_MM2 = (0.01, 100_000.0)

#: Dataset attributes every trial carries -> (type, default).
TRIAL_ATTRS = {
    "plantar_schema": (str, SCHEMA_TRIAL),
    "sampling_rate_hz": (float, None),
    "sensor_pitch_x_mm": (float, None),
    "sensor_pitch_y_mm": (float, None),
    "device": (str, ""),
    "source_format": (str, ""),
    "source_file": (str, ""),
    "start_time": (str, ""),
    "subject": (str, ""),
    "condition": (str, ""),
    "body_mass_kg": (float, 0.0),
    "calibration_id": (str, ""),
    "plantar_version": (str, __version__),
}

#: Optional dataset attributes that say what the sensor is, and their values:
#: ``layout`` ("mat" when absent: a floor mat or walkway; "insole": in-shoe insoles;
#: "window": one contact cut out of a plate recording by the vendor's software) and
#: ``side`` (the foot, for a one-foot device). ``side_split_x_mm`` (float) puts two
#: insoles side by side: left at smaller x.
OPTIONAL_ATTRS = {"layout": ("mat", "insole", "window"), "side": ("left", "right", "")}

#: Standard gravity in m/s^2: body weight in N is ``body_mass_kg * STANDARD_GRAVITY_M_S2``.
STANDARD_GRAVITY_M_S2 = 9.80665

#: Relative tolerance between coordinate spacing and the pitch attributes.
_PITCH_RTOL = 1e-6

#: Plausibility limits of every trial and raw recording (stated in the README's data model).
#: Frame rate in Hz: from slow static recordings to the fastest plates.
RATE_LIMITS_HZ = (1.0, 20_000.0)
#: Sensor pitch in mm: from the finest in-shoe sensors to coarse floor mats.
PITCH_LIMITS_MM = (0.1, 1000.0)
#: Pressure in kPa must be below this (100 MPa): no plantar pressure comes near it,
#: while a corrupt cell (3.4e38, 1e20) lies far beyond.
MAX_PRESSURE_KPA = 100_000.0
#: ``sampling_rate_hz`` must agree with the median (or mean) step of ``time`` to this fraction.
RATE_RTOL = 0.01


# --------------------------------------------------------------------------------------
# constructors


@fill_doc
def make_trial(pressure, *, pitch_mm, rate_hz, time_s=None, origin_mm=(0.0, 0.0), **attrs):
    """Build a trial Dataset (schema ``trial/1``) from an array of pressure frames.

    Parameters
    ----------
    pressure : array_like, shape (n_frames, n_rows, n_cols)
        Pressure in kPa, in (time, y, x) order; values >= 0, NaN where there is no
        sensor (trimmed outline, dead sensel). Stored as float32; an array that is
        already C-contiguous float32 is used without a copy.
    %(pitch_mm)s
    %(rate_hz)s
    %(time_s)s
    %(origin_mm)s
    %(trial_attrs)s

    Returns
    -------
    trial : xarray.Dataset
        The trial; it passes :func:`check_trial`.

    Raises
    ------
    ValueError
        If the shape, a value, the pitch, the rate, the times or an attribute is
        not valid; the message names it.

    See Also
    --------
    check_trial, make_counts

    Examples
    --------
    >>> import numpy as np
    >>> import plantar
    >>> frames = np.zeros((3, 4, 2))
    >>> frames[1, 2, 1] = 150.0
    >>> trial = plantar.make_trial(frames, pitch_mm=5.0, rate_hz=100.0, condition="barefoot")
    >>> trial.pressure.dims
    ('time', 'y', 'x')
    >>> trial.x.values
    array([0., 5.])
    >>> float(trial.pressure.max())
    150.0
    """
    data = _as_frames(pressure, "pressure")
    if data.dtype.kind not in "fiub":
        raise ValueError(f"pressure must be numeric, got dtype {data.dtype}")
    data = np.ascontiguousarray(data, dtype=np.float32)
    ds = _build(data, "pressure", TRIAL_VARIABLES, pitch_mm, rate_hz, time_s, origin_mm)
    ds.attrs.update(_build_attrs(SCHEMA_TRIAL, pitch_mm, rate_hz, attrs))
    check_trial(ds)
    return ds


@fill_doc
def make_counts(
    counts,
    *,
    pitch_mm,
    rate_hz,
    seq=None,
    t_device_s=None,
    time_s=None,
    origin_mm=(0.0, 0.0),
    **attrs,
):
    """Build a raw recording (schema ``counts/1``) from frames of sensor counts.

    This is what acquisition produces before calibration: the analysis functions
    refuse it until a calibration has turned it into a trial in kPa.

    Parameters
    ----------
    counts : array_like of int, shape (n_frames, n_rows, n_cols)
        Raw sensor readings (0 .. 65535), in (time, y, x) order. Stored as uint16.
    %(pitch_mm)s
    %(rate_hz)s
    seq : array_like of int | None
        Device scan counter per frame (0 .. 2**32 - 1). ``None`` numbers the
        frames 0, 1, 2, ...
    t_device_s : array_like of float | None
        Device clock per frame in s. ``None`` (a device without a clock) stores NaN.
    %(time_s)s
    %(origin_mm)s
    %(trial_attrs)s

    Returns
    -------
    raw : xarray.Dataset
        The raw recording; it passes :func:`check_counts`.

    See Also
    --------
    check_counts, make_trial

    Examples
    --------
    >>> import numpy as np
    >>> import plantar
    >>> raw = plantar.make_counts(np.zeros((2, 3, 3), dtype=np.uint16),
    ...                           pitch_mm=10.0, rate_hz=50.0, seq=[7, 8])
    >>> raw.counts.dtype
    dtype('uint16')
    >>> raw.seq.values
    array([7, 8], dtype=uint32)
    """
    data = _as_frames(counts, "counts")
    if data.dtype.kind not in "iub":
        raise ValueError(f"counts must be integers, got dtype {data.dtype}")
    if data.size and (data.min() < 0 or data.max() > np.iinfo(np.uint16).max):
        raise ValueError(
            f"counts must lie in 0 .. 65535, got {data.min()} .. {data.max()}"
        )
    data = np.ascontiguousarray(data, dtype=np.uint16)
    ds = _build(data, "counts", COUNTS_VARIABLES, pitch_mm, rate_hz, time_s, origin_mm)
    n_frames = data.shape[0]
    if seq is None:
        seq = np.arange(n_frames)
    seq = _as_per_frame(seq, n_frames, "seq")
    if seq.dtype.kind not in "iub" or (
        seq.size and (seq.min() < 0 or seq.max() > np.iinfo(np.uint32).max)
    ):
        raise ValueError("seq must be integers in 0 .. 2**32 - 1")
    if t_device_s is None:
        t_device_s = np.full(n_frames, np.nan)
    t_device = _as_per_frame(t_device_s, n_frames, "t_device_s").astype(np.float64)
    ds = ds.assign_coords(
        seq=("time", seq.astype(np.uint32), _var_attrs(COUNTS_VARIABLES, "seq")),
        t_device=("time", t_device, _var_attrs(COUNTS_VARIABLES, "t_device")),
    )
    ds.attrs.update(_build_attrs(SCHEMA_COUNTS, pitch_mm, rate_hz, attrs))
    check_counts(ds)
    return ds


def _as_frames(array, name):
    data = np.asarray(array)
    if data.ndim != 3:
        hint = " (for one frame use frame[np.newaxis])" if data.ndim == 2 else ""
        raise ValueError(
            f"{name} must be 3-D (time, y, x), got shape {data.shape}{hint}"
        )
    if 0 in data.shape:
        raise ValueError(f"{name} must have at least one frame, row and column, got shape {data.shape}")
    return data


def _as_per_frame(values, n_frames, name):
    values = np.asarray(values)
    if values.dtype.kind not in "iufb":
        raise ValueError(f"{name} must be numbers, got dtype {values.dtype}")
    if values.shape != (n_frames,):
        raise ValueError(f"{name} must have one value per frame ({n_frames}), got shape {values.shape}")
    return values


def _number_pair(value, name, *, scalar):
    """(x, y) floats from an (x, y) pair of numbers, or one number if ``scalar``."""
    items = (value, value) if (scalar and _is_number(value)) else value
    try:
        items = tuple(items)
    except TypeError:
        items = ()
    if len(items) != 2 or isinstance(value, (str, bytes)) or not all(_is_number(v) for v in items):
        expected = "a number or an (x, y) pair of numbers" if scalar else "an (x, y) pair in mm"
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return float(items[0]), float(items[1])


def _is_number(value):
    return isinstance(value, (numbers.Real, np.number)) and not isinstance(value, (bool, np.bool_))


def _pitch_xy(pitch_mm):
    """``pitch_mm`` (number or (x, y)) -> (x, y) floats, validated."""
    pitch = _number_pair(pitch_mm, "pitch_mm", scalar=True)
    if not all(np.isfinite(p) and p > 0 for p in pitch):
        raise ValueError(f"pitch_mm must be positive and finite, got {pitch_mm!r}")
    low, high = PITCH_LIMITS_MM
    if not all(low <= p <= high for p in pitch):
        raise ValueError(f"pitch_mm must lie in {low:g} .. {high:g} mm, got {pitch_mm!r}")
    return pitch


def _var_attrs(table, name):
    units, long_name = table[name]
    return {"units": units, "long_name": long_name}


def _build(data, name, table, pitch_mm, rate_hz, time_s, origin_mm):
    pitch_x, pitch_y = _pitch_xy(pitch_mm)
    rate_hz = _positive(rate_hz, "rate_hz")
    low, high = RATE_LIMITS_HZ
    if not low <= rate_hz <= high:
        raise ValueError(f"rate_hz must lie in {low:g} .. {high:g} Hz, got {rate_hz:g}")
    n_frames, n_rows, n_cols = data.shape
    x0, y0 = _number_pair(origin_mm, "origin_mm", scalar=False)
    if not (np.isfinite(x0) and np.isfinite(y0)):
        raise ValueError(f"origin_mm must be finite, got {origin_mm!r}")
    if time_s is None:
        time = np.arange(n_frames, dtype=np.float64) / rate_hz
    else:
        time = _as_per_frame(time_s, n_frames, "time_s").astype(np.float64)
    return xr.Dataset(
        {name: (DIMS, data, _var_attrs(table, name))},
        coords={
            "time": ("time", time, _var_attrs(table, "time")),
            "y": ("y", y0 + pitch_y * np.arange(n_rows, dtype=np.float64), _var_attrs(table, "y")),
            "x": ("x", x0 + pitch_x * np.arange(n_cols, dtype=np.float64), _var_attrs(table, "x")),
        },
    )


def _positive(value, name):
    if not _is_number(value):
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    value = float(value)
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return value


def _build_attrs(schema, pitch_mm, rate_hz, attrs):
    pitch_x, pitch_y = _pitch_xy(pitch_mm)
    out = {name: default for name, (_, default) in TRIAL_ATTRS.items() if default is not None}
    out.update(
        plantar_schema=schema,
        sampling_rate_hz=float(rate_hz),
        sensor_pitch_x_mm=pitch_x,
        sensor_pitch_y_mm=pitch_y,
    )
    for key, value in attrs.items():
        if key in ("plantar_schema", "sampling_rate_hz", "sensor_pitch_x_mm", "sensor_pitch_y_mm"):
            raise ValueError(f"attr {key!r} is set from the arguments; do not pass it")
        kind = TRIAL_ATTRS.get(key, (None,))[0]
        if kind is float and _is_number(value):
            value = float(value)
        elif isinstance(value, np.str_):
            value = str(value)
        out[key] = value
    return out


# --------------------------------------------------------------------------------------
# checks


@fill_doc
def check_trial(trial):
    """Check that a Dataset is a valid trial (schema ``trial/1``).

    Checked: the ``pressure`` variable (dims ``(time, y, x)``, float32, values >= 0
    and below :data:`MAX_PRESSURE_KPA` (100 MPa), or NaN), the ``time``, ``y`` and
    ``x`` coordinates (float64, finite, strictly increasing, time starting at 0,
    spacing equal to the pitch attributes), the ``units`` and ``long_name`` of every
    variable, and the dataset attributes (present, of the right type, valid values,
    storable in NetCDF). Plausibility: ``sampling_rate_hz`` within
    :data:`RATE_LIMITS_HZ` (1 Hz .. 20 kHz) and equal to 1 / the median or the mean
    step of ``time`` within 1 % (gaps in ``time`` are allowed); the pitch within
    :data:`PITCH_LIMITS_MM` (0.1 .. 1000 mm).

    Parameters
    ----------
    %(trial)s

    Raises
    ------
    TypeError
        If ``trial`` is not an :class:`xarray.Dataset`.
    ValueError
        If anything is wrong; the message names the variable, dim, unit or
        attribute and what was expected.

    See Also
    --------
    make_trial, check_counts

    Examples
    --------
    >>> import numpy as np
    >>> import plantar
    >>> trial = plantar.make_trial(np.zeros((2, 3, 3)), pitch_mm=5.0, rate_hz=100.0)
    >>> plantar.check_trial(trial)
    >>> plantar.check_trial(trial.assign_attrs(body_mass_kg=-1.0))
    Traceback (most recent call last):
    ...
    ValueError: attr 'body_mass_kg' must be >= 0 (0 = unknown), got -1.0
    """
    _check_trial_structure(trial)
    _check_pressure_values(trial["pressure"].values, _PRESSURE_WHERE)


#: How the value checks name the pressure of a trial in their messages.
_PRESSURE_WHERE = "variable 'pressure'"


def _check_trial_structure(trial):
    """All of :func:`check_trial` but the pressure values (which need a pass over the array).

    For a caller that passes over the array anyway: it takes the minimum and
    maximum of each block of frames on the way and ends with
    :func:`_raise_for_pressure_range`.
    """
    _check_dataset(trial)
    if "pressure" not in trial.data_vars:
        if "counts" in trial.data_vars:
            raise ValueError(
                "this is a raw recording in 'counts', not a trial in kPa: "
                "apply a calibration first to turn counts into kPa (plantar.calibration.apply, or "
                "plantar.calibration.scale for one linear factor such as a Tekscan raw export's)"
            )
        raise ValueError(
            f"trial has no 'pressure' variable (data variables: {sorted(trial.data_vars)})"
        )
    if "sensor" in trial["pressure"].dims:
        _check_sensor_layout(trial)
        return
    _check_layout(trial, "pressure", np.float32, TRIAL_VARIABLES, SCHEMA_TRIAL)


@fill_doc
def check_counts(raw):
    """Check that a Dataset is a valid raw recording (schema ``counts/1``).

    As :func:`check_trial` (with the same limits on rate, pitch and time), for
    ``counts`` (uint16, units ``"count"``) with the per-frame coordinates ``seq``
    (uint32) and ``t_device`` (float64, s).

    Parameters
    ----------
    raw : xarray.Dataset
        A raw recording, as made by :func:`make_counts` or an acquisition driver.

    Raises
    ------
    TypeError
        If ``raw`` is not an :class:`xarray.Dataset`.
    ValueError
        If anything is wrong; the message names what and what was expected.

    See Also
    --------
    make_counts, check_trial

    Examples
    --------
    >>> import numpy as np
    >>> import plantar
    >>> raw = plantar.make_counts(np.ones((2, 3, 3), dtype=int), pitch_mm=5.0, rate_hz=100.0)
    >>> plantar.check_counts(raw)
    """
    _check_dataset(raw)
    if "counts" not in raw.data_vars:
        raise ValueError(
            f"raw recording has no 'counts' variable (data variables: {sorted(raw.data_vars)})"
        )
    _check_layout(raw, "counts", np.uint16, COUNTS_VARIABLES, SCHEMA_COUNTS)
    for name, dtype in (("seq", np.uint32), ("t_device", np.float64)):
        if name not in raw.coords:
            raise ValueError(f"raw recording has no '{name}' coordinate")
        coord = raw.coords[name]
        if coord.dims != ("time",):
            raise ValueError(f"coordinate '{name}' has dims {coord.dims}; expected ('time',)")
        if coord.dtype != dtype:
            raise ValueError(f"coordinate '{name}' has dtype {coord.dtype}; expected {np.dtype(dtype)}")


def _check_dataset(ds):
    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"expected an xarray.Dataset, got {type(ds).__name__}")


def _check_layout(ds, name, dtype, table, schema):
    var = ds[name]
    if var.dims != DIMS:
        raise ValueError(f"variable '{name}' has dims {var.dims}; expected {DIMS}")
    if var.dtype != dtype:
        raise ValueError(f"variable '{name}' has dtype {var.dtype}; expected {np.dtype(dtype)}")
    if 0 in var.shape:
        raise ValueError(f"variable '{name}' is empty (shape {var.shape}); a trial needs at least one frame")
    for dim in DIMS:
        if dim not in ds.indexes:
            raise ValueError(f"dim '{dim}' has no coordinate; expected {table[dim][1]} in {table[dim][0]}")
        coord = ds[dim]
        if coord.dtype != np.float64:
            raise ValueError(f"coordinate '{dim}' has dtype {coord.dtype}; expected float64")
        values = coord.values
        if not np.all(np.isfinite(values)):
            raise ValueError(f"coordinate '{dim}' has non-finite values")
        if values.size > 1 and not np.all(np.diff(values) > 0):
            raise ValueError(f"coordinate '{dim}' must be strictly increasing")
    if ds["time"].values[0] != 0:
        raise ValueError(
            f"coordinate 'time' must start at 0 s, got {ds['time'].values[0]!r} "
            "(keep the absolute start in attr 'start_time')"
        )
    for var_name in ds.variables:
        _check_var_attrs(ds[var_name], table)
    _check_attrs(ds, schema)
    _check_rate_against_time(ds["time"].values, ds.attrs["sampling_rate_hz"])
    for dim, attr in (("x", "sensor_pitch_x_mm"), ("y", "sensor_pitch_y_mm")):
        steps = np.diff(ds[dim].values)
        pitch = ds.attrs[attr]
        if steps.size and not np.allclose(steps, pitch, rtol=_PITCH_RTOL, atol=0):
            raise ValueError(
                f"coordinate '{dim}' spacing ({steps.min():g} .. {steps.max():g} mm) "
                f"does not match attr '{attr}' = {pitch:g} mm"
            )


def _check_rate_against_time(time, rate_hz):
    """``sampling_rate_hz`` must agree with the frame times.

    A recording may have gaps (lost frames, an unplugged mat) and jittered time
    stamps, so neither every step nor the mean is the rule: the rate is accepted
    when one period (1 / rate) lies within :data:`RATE_RTOL` of the median step
    (gaps do not move it) or of the mean step (stamps that alternate between two
    values, such as 13 and 14 ms, do not move that), or when at least half of the
    steps are whole numbers of periods (within :data:`RATE_RTOL` of a period) and
    some are one period: a recording on its scan grid that lost more frames than
    it kept.
    """
    if time.size < 2:
        return
    steps = np.diff(time)
    period = 1.0 / rate_hz
    median, mean = float(np.median(steps)), float(time[-1] - time[0]) / (time.size - 1)
    if min(abs(median - period), abs(mean - period)) <= RATE_RTOL * period:
        return
    periods = steps / period
    whole = np.rint(periods)
    on_grid = (whole >= 1) & (np.abs(periods - whole) <= RATE_RTOL)
    if on_grid.mean() >= 0.5 and np.any(on_grid & (whole == 1)):
        return
    raise ValueError(
        f"attr 'sampling_rate_hz' ({rate_hz:g} Hz) contradicts coordinate 'time': its median step is "
        f"{median:.6g} s ({1.0 / median:.6g} Hz), its mean step {mean:.6g} s; one of them must be "
        f"1 / sampling_rate_hz within {RATE_RTOL:.0%}, or most steps whole periods"
    )


def _check_var_attrs(var, table):
    name = var.name
    for key in ("units", "long_name"):
        value = var.attrs.get(key)
        if not isinstance(value, str) or not value:
            raise ValueError(f"variable '{name}' has no '{key}' attr")
    if name in table and var.attrs["units"] != table[name][0]:
        raise ValueError(
            f"variable '{name}' has units {var.attrs['units']!r}; expected {table[name][0]!r}"
        )
    for key, value in var.attrs.items():
        _check_attr_type(value, f"attr '{key}' of variable '{name}'")


def _check_attrs(ds, schema, *, grid=True):
    attrs = ds.attrs
    got = attrs.get("plantar_schema")
    if got != schema:
        raise ValueError(f"attr 'plantar_schema' is {got!r}; expected {schema!r}")
    pitch_keys = ("sensor_pitch_x_mm", "sensor_pitch_y_mm")
    if not grid:
        present = [key for key in pitch_keys if key in attrs]
        if present:
            raise ValueError(f"attr {present[0]!r}: a trial of irregular sensors has no pitch")
    for key, (kind, _) in TRIAL_ATTRS.items():
        if not grid and key in pitch_keys:
            continue
        if key not in attrs:
            raise ValueError(f"attr {key!r} is missing")
        value = attrs[key]
        if kind is str and not isinstance(value, str):
            raise ValueError(f"attr {key!r} must be a str, got {type(value).__name__} {value!r}")
        if kind is float and not _is_number(value):
            raise ValueError(f"attr {key!r} must be a number, got {type(value).__name__} {value!r}")
    for key in ("sampling_rate_hz", *(pitch_keys if grid else ())):
        if not (np.isfinite(attrs[key]) and attrs[key] > 0):
            raise ValueError(f"attr {key!r} must be positive, got {attrs[key]!r}")
    limits = [("sampling_rate_hz", RATE_LIMITS_HZ, "Hz")]
    if grid:
        limits += [(key, PITCH_LIMITS_MM, "mm") for key in pitch_keys]
    for key, (low, high), unit in limits:
        if not low <= attrs[key] <= high:
            raise ValueError(f"attr {key!r} is {attrs[key]:g} {unit}; it must lie in {low:g} .. {high:g} {unit}")
    mass = attrs["body_mass_kg"]
    if not (np.isfinite(mass) and mass >= 0):
        raise ValueError(f"attr 'body_mass_kg' must be >= 0 (0 = unknown), got {mass!r}")
    if attrs["start_time"]:
        try:
            # Python < 3.11 does not read a trailing "Z" (UTC) itself.
            datetime.datetime.fromisoformat(re.sub(r"Z$", "+00:00", attrs["start_time"]))
        except ValueError:
            raise ValueError(
                f"attr 'start_time' must be ISO 8601 (e.g. '2026-11-21T09:30:00') or '', "
                f"got {attrs['start_time']!r}"
            ) from None
    for key, value in attrs.items():
        if not isinstance(key, str) or not key:
            raise ValueError(f"attr name {key!r} is not a non-empty str")
        _check_attr_type(value, f"attr {key!r}")
    for key, allowed in OPTIONAL_ATTRS.items():
        if key in attrs and attrs[key] not in allowed:
            raise ValueError(f"attr {key!r} must be one of {allowed}, got {attrs[key]!r}")
    if "side_split_x_mm" in attrs and not (
        _is_number(attrs["side_split_x_mm"]) and np.isfinite(attrs["side_split_x_mm"])
    ):
        raise ValueError(f"attr 'side_split_x_mm' must be a finite number, got {attrs['side_split_x_mm']!r}")


def _check_attr_type(value, where):
    """Attrs must survive NetCDF unchanged: str, int, float or a 1-D numeric array."""
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{where} is a bool, which NetCDF cannot store; use 0 or 1")
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError(f"{where} contains a NUL character, which NetCDF cannot store")
        return
    if isinstance(value, (numbers.Real, np.number)):
        return
    if isinstance(value, (list, tuple, np.ndarray)):
        array = np.asarray(value)
        if array.ndim == 1 and array.dtype.kind in "iuf":
            if array.size < 2:
                raise ValueError(
                    f"{where} is an array of {array.size} element(s), which NetCDF reads back "
                    "as a number: store the number itself (or leave the attr out)"
                )
            return
    raise ValueError(
        f"{where} has type {type(value).__name__}, which NetCDF cannot store; "
        "use str, int, float or a 1-D numeric array"
    )


#: Bytes of an array a check reads at once: a block of frames this size stays in a
#: core's cache while it is reduced twice (minimum and maximum), so that checking
#: the values costs one pass over memory.
_CHECK_BLOCK_BYTES = 4 << 20


def _block_frames(shape, itemsize, *, multiple=1):
    """Frames per block of about :data:`_CHECK_BLOCK_BYTES` (at least ``multiple``, a multiple of it)."""
    per_frame = max(1, int(np.prod(shape[1:])) * itemsize)
    frames = max(1, _CHECK_BLOCK_BYTES // per_frame) // multiple * multiple
    return max(multiple, frames)


def _check_pressure_values(data, where):
    """Reject negative, infinite and implausibly high pressure; NaN (no sensor) is allowed.

    One pass over the array, in blocks of frames that stay in the cache while
    ``np.fmin.reduce`` and ``np.fmax.reduce`` (which skip NaN) read them.
    """
    low = high = np.float32(np.nan)
    step = _block_frames(data.shape, data.itemsize)
    for first in range(0, data.shape[0], step):
        block = data[first : first + step]
        low = np.fmin(low, np.fmin.reduce(block, axis=None))
        high = np.fmax(high, np.fmax.reduce(block, axis=None))
    _raise_for_pressure_range(low, high, data, where)


def _raise_for_pressure_range(low, high, data, where):
    """Raise the value check's error for the minimum and maximum (NaN skipped) of ``data``.

    ``data`` is only read again to say where a bad value lies.
    """
    if low < 0:
        raise ValueError(
            f"{where} has negative values (min {low:g} kPa at {_cell_name(data, np.nanargmin(data))}); "
            "pressure must be >= 0, NaN where there is no sensor"
        )
    if np.isinf(high):
        raise ValueError(f"{where} has infinite values; pressure must be finite or NaN")
    if high >= MAX_PRESSURE_KPA:
        raise ValueError(
            f"{where} has implausible values (max {high:g} kPa at {_cell_name(data, np.nanargmax(data))}); "
            f"pressure must be below {MAX_PRESSURE_KPA:g} kPa (100 MPa)"
        )


def _cell_name(data, flat_index):
    """'frame f, row r, col c' (a grid) or 'frame f, sensor s' of a flat index into ``data``."""
    place = np.unravel_index(flat_index, data.shape)
    if data.ndim == 2:
        return f"frame {place[0]}, sensor {place[1]}"
    return f"frame {place[0]}, row {place[1]}, col {place[2]}"


# --------------------------------------------------------------------------------------
# trials of irregular sensors (insoles)

_SIDES = ("left", "right")


@fill_doc
def make_sensor_trial(
    pressure,
    *,
    sensor_number,
    sensor_side,
    sensor_x_mm,
    sensor_y_mm,
    sensor_area_mm2,
    outline_x_mm,
    outline_y_mm,
    rate_hz,
    time_s=None,
    **attrs,
):
    """Build a trial of sensors that are not a grid (schema ``trial/1``, dims ``(time, sensor)``).

    In-shoe insoles have sensors of different shapes and sizes (novel pedar: 99
    per insole; Moticon: 16). Each sensor keeps its vendor number, its side, its
    centroid, its area and its outline; force is ``sum(pressure x area)``.

    Parameters
    ----------
    pressure : array_like, shape (n_frames, n_sensors)
        Pressure in kPa; values >= 0, NaN for a sensor without a reading. Stored
        as float32.
    sensor_number : array_like of int, shape (n_sensors,)
        The vendor's number of each sensor (unique per side).
    sensor_side : array_like of str, shape (n_sensors,)
        ``"left"`` or ``"right"``: the insole each sensor belongs to.
    sensor_x_mm, sensor_y_mm : array_like of float, shape (n_sensors,)
        Centroid of each sensor in mm, in the trial frame: toes toward +y, the
        left insole at smaller x than the right (as a mat seen from above).
    sensor_area_mm2 : array_like of float, shape (n_sensors,)
        Area of each sensor in mm², the area force is computed with.
    outline_x_mm, outline_y_mm : array_like of float, shape (n_sensors, n_vertices)
        Outline polygon of each sensor in mm; at least 3 vertices; a sensor with
        fewer vertices than others ends with NaN.
    %(rate_hz)s
    %(time_s)s
    **attrs
        Trial attributes (``device``, ``source_format``, ``sensor_geometry``,
        ``subject``, ...). ``layout`` defaults to ``"insole"``.

    Returns
    -------
    trial : xarray.Dataset
        The trial; it passes :func:`check_trial`.

    Raises
    ------
    ValueError
        If a shape, a value, the rate, the times, the geometry or an attribute
        is not valid; the message names it.

    See Also
    --------
    is_sensor_trial, make_trial

    Examples
    --------
    Two square sensors of 1 cm² on a left insole and one of 2 cm² on the right:

    >>> import numpy as np
    >>> import plantar
    >>> sx, sy = np.array([-5.0, 5.0, 5.0, -5.0]), np.array([-5.0, -5.0, 5.0, 5.0])
    >>> trial = plantar.make_sensor_trial(
    ...     np.array([[100.0, 50.0, 25.0]]), sensor_number=[1, 2, 1],
    ...     sensor_side=["left", "left", "right"], sensor_x_mm=[0.0, 0.0, 120.0],
    ...     sensor_y_mm=[10.0, 30.0, 10.0], sensor_area_mm2=[100.0, 100.0, 200.0],
    ...     outline_x_mm=[sx, sx, 1.4142 * sx + 120.0], outline_y_mm=[sy + 10.0, sy + 30.0, 1.4142 * sy + 10.0],
    ...     rate_hz=100.0, device="example insoles")
    >>> trial.pressure.dims
    ('time', 'sensor')
    >>> float((trial.pressure * trial.sensor_area).sum() * 1e-3)  # force in N (kPa x mm² = mN)
    20.0
    >>> plantar.is_sensor_trial(trial)
    True
    """
    data = np.asarray(pressure)
    if data.ndim != 2 or 0 in data.shape:
        raise ValueError(f"pressure must be 2-D (time, sensor) with at least one of each, got shape {data.shape}")
    if data.dtype.kind not in "fiub":
        raise ValueError(f"pressure must be numeric, got dtype {data.dtype}")
    data = np.ascontiguousarray(data, dtype=np.float32)
    n_frames, n_sensors = data.shape
    rate_hz = _positive(rate_hz, "rate_hz")
    low, high = RATE_LIMITS_HZ
    if not low <= rate_hz <= high:
        raise ValueError(f"rate_hz must lie in {low:g} .. {high:g} Hz, got {rate_hz:g}")
    if time_s is None:
        time = np.arange(n_frames, dtype=np.float64) / rate_hz
    else:
        time = _as_per_frame(time_s, n_frames, "time_s").astype(np.float64)

    def per_sensor(values, name, kind):
        values = np.asarray(values)
        if values.shape != (n_sensors,):
            raise ValueError(f"{name} must have one value per sensor ({n_sensors}), got shape {values.shape}")
        if kind == "int":
            if values.dtype.kind not in "iu":
                raise ValueError(f"{name} must be integers, got dtype {values.dtype}")
            return values.astype(np.int32)
        if kind == "str":
            return np.array([str(v) for v in values], dtype=object)
        if values.dtype.kind not in "iuf":
            raise ValueError(f"{name} must be numbers, got dtype {values.dtype}")
        return values.astype(np.float64)

    def outline(values, name):
        values = np.asarray(values, dtype=np.float64)
        if values.ndim != 2 or values.shape[0] != n_sensors:
            raise ValueError(f"{name} must be (sensor, vertex) with one row per sensor, got shape {values.shape}")
        return values

    def var(name, dims, values):
        return (dims, values, _var_attrs(SENSOR_VARIABLES, name))

    ds = xr.Dataset(
        {"pressure": var("pressure", SENSOR_DIMS, data)},
        coords={
            "time": var("time", ("time",), time),
            "sensor": var("sensor", ("sensor",), np.arange(n_sensors, dtype=np.int32)),
            "sensor_number": var("sensor_number", ("sensor",), per_sensor(sensor_number, "sensor_number", "int")),
            "sensor_side": var("sensor_side", ("sensor",), per_sensor(sensor_side, "sensor_side", "str")),
            "sensor_x": var("sensor_x", ("sensor",), per_sensor(sensor_x_mm, "sensor_x_mm", "float")),
            "sensor_y": var("sensor_y", ("sensor",), per_sensor(sensor_y_mm, "sensor_y_mm", "float")),
            "sensor_area": var("sensor_area", ("sensor",), per_sensor(sensor_area_mm2, "sensor_area_mm2", "float")),
            "outline_x": var("outline_x", ("sensor", "vertex"), outline(outline_x_mm, "outline_x_mm")),
            "outline_y": var("outline_y", ("sensor", "vertex"), outline(outline_y_mm, "outline_y_mm")),
        },
    )
    out = {name: default for name, (_, default) in TRIAL_ATTRS.items() if default is not None}
    out.update(plantar_schema=SCHEMA_TRIAL, sampling_rate_hz=rate_hz, layout="insole", sensor_geometry="")
    for key, value in attrs.items():
        if key in ("plantar_schema", "sampling_rate_hz", "sensor_pitch_x_mm", "sensor_pitch_y_mm"):
            raise ValueError(f"attr {key!r} is set from the arguments or has no meaning here; do not pass it")
        kind = TRIAL_ATTRS.get(key, (None,))[0]
        if kind is float and _is_number(value):
            value = float(value)
        elif isinstance(value, np.str_):
            value = str(value)
        out[key] = value
    ds.attrs.update(out)
    check_trial(ds)
    return ds


@fill_doc
def is_sensor_trial(trial):
    """Tell whether a trial holds irregular sensors (dims ``(time, sensor)``) rather than a grid.

    Parameters
    ----------
    %(trial)s

    Returns
    -------
    is_sensors : bool
        True for a trial of irregular sensors (insoles such as pedar or
        Moticon), False for a trial on a grid of sensels.

    Examples
    --------
    >>> import numpy as np
    >>> import plantar
    >>> plantar.is_sensor_trial(plantar.make_trial(np.zeros((1, 2, 2)), pitch_mm=5.0, rate_hz=50.0))
    False
    """
    return "pressure" in trial.data_vars and "sensor" in trial["pressure"].dims


def require_grid(trial, what):
    """Raise a clear error if ``trial`` holds irregular sensors, for functions that need a grid.

    Parameters
    ----------
    trial : xarray.Dataset
        A checked trial.
    what : str
        What needs the grid, named in the message (e.g. ``"plantar.analyze"``).

    Raises
    ------
    ValueError
        If the trial holds irregular sensors.

    Examples
    --------
    >>> import numpy as np
    >>> import plantar
    >>> from plantar._schema import require_grid
    >>> require_grid(plantar.make_trial(np.zeros((1, 2, 2)), pitch_mm=5.0, rate_hz=50.0), "this")
    """
    if is_sensor_trial(trial):
        raise ValueError(
            f"{what} needs a trial on a regular grid of sensels; this trial holds "
            f"{trial.sizes['sensor']} irregular sensors ({trial.attrs.get('device') or 'insoles'})"
        )


def _check_sensor_layout(ds):
    """The structure of a trial of irregular sensors (all but the pressure values)."""
    table = SENSOR_VARIABLES
    pressure = ds["pressure"]
    if pressure.dims != SENSOR_DIMS:
        raise ValueError(f"variable 'pressure' has dims {pressure.dims}; expected {SENSOR_DIMS} or {DIMS}")
    if pressure.dtype != np.float32:
        raise ValueError(f"variable 'pressure' has dtype {pressure.dtype}; expected float32")
    if 0 in pressure.shape:
        raise ValueError(f"variable 'pressure' is empty (shape {pressure.shape}); a trial needs a frame and a sensor")
    n = pressure.shape[1]
    expected = {
        "time": (("time",), "f8"),
        "sensor": (("sensor",), "i4"),
        "sensor_number": (("sensor",), "i4"),
        "sensor_side": (("sensor",), "O"),
        "sensor_x": (("sensor",), "f8"),
        "sensor_y": (("sensor",), "f8"),
        "sensor_area": (("sensor",), "f8"),
        "outline_x": (("sensor", "vertex"), "f8"),
        "outline_y": (("sensor", "vertex"), "f8"),
    }
    for name, (dims, dtype) in expected.items():
        if name not in ds.coords:
            raise ValueError(f"a trial of irregular sensors needs the coordinate '{name}' ({table[name][1]})")
        coord = ds.coords[name]
        if coord.dims != dims:
            raise ValueError(f"coordinate '{name}' has dims {coord.dims}; expected {dims}")
        if dtype == "O":
            if coord.dtype.kind not in "OU":
                raise ValueError(f"coordinate '{name}' has dtype {coord.dtype}; expected str")
        elif coord.dtype != np.dtype(dtype):
            raise ValueError(f"coordinate '{name}' has dtype {coord.dtype}; expected {np.dtype(dtype)}")
    time = ds["time"].values
    if not np.all(np.isfinite(time)):
        raise ValueError("coordinate 'time' has non-finite values")
    if time.size > 1 and not np.all(np.diff(time) > 0):
        raise ValueError("coordinate 'time' must be strictly increasing")
    if time[0] != 0:
        raise ValueError(
            f"coordinate 'time' must start at 0 s, got {time[0]!r} (keep the absolute start in attr 'start_time')"
        )
    if not np.array_equal(ds["sensor"].values, np.arange(n)):
        raise ValueError("coordinate 'sensor' must number the sensors 0 .. n-1")
    side = np.asarray(ds["sensor_side"].values, dtype=str)
    wrong = ~np.isin(side, _SIDES)
    if wrong.any():
        raise ValueError(f"coordinate 'sensor_side' must be 'left' or 'right', got {str(side[wrong][0])!r}")
    number = ds["sensor_number"].values
    keys = np.char.add(np.char.add(side, ":"), number.astype(str))
    unique, counts = np.unique(keys, return_counts=True)
    if np.any(counts > 1):
        raise ValueError(f"sensor {unique[counts > 1][0].replace(':', ' ')} appears more than once")
    for name in ("sensor_x", "sensor_y"):
        if not np.all(np.isfinite(ds[name].values)):
            raise ValueError(f"coordinate '{name}' has non-finite values")
    area = ds["sensor_area"].values
    low, high = SENSOR_AREA_LIMITS_MM2
    bad = ~((area >= low) & (area <= high))
    if bad.any():
        k = int(np.argmax(bad))
        raise ValueError(
            f"coordinate 'sensor_area' of sensor {side[k]} {number[k]} is {float(area[k])!r} mm2; "
            f"it must lie in {low:g} .. {high:g} mm2"
        )
    ox, oy = ds["outline_x"].values, ds["outline_y"].values
    given = np.isfinite(ox)
    if not np.array_equal(given, np.isfinite(oy)) or np.any(np.diff(given.astype(np.int8), axis=1) > 0):
        raise ValueError("coordinates 'outline_x'/'outline_y' must hold finite vertices first, then NaN, alike")
    few = given.sum(axis=1) < 3
    if few.any():
        k = int(np.argmax(few))
        raise ValueError(f"the outline of sensor {side[k]} {number[k]} has fewer than 3 vertices")
    slack = 1e-6 * (1.0 + np.nanmax(np.abs(np.concatenate([ox.ravel(), oy.ravel()]))))
    for name, centre, vertices in (("sensor_x", ds["sensor_x"].values, ox), ("sensor_y", ds["sensor_y"].values, oy)):
        outside = (centre < np.nanmin(vertices, axis=1) - slack) | (centre > np.nanmax(vertices, axis=1) + slack)
        if outside.any():
            k = int(np.argmax(outside))
            raise ValueError(f"coordinate '{name}' of sensor {side[k]} {number[k]} lies outside its outline")
    for var_name in ds.variables:
        _check_var_attrs(ds[var_name], table)
    _check_attrs(ds, SCHEMA_TRIAL, grid=False)
    _check_rate_against_time(time, ds.attrs["sampling_rate_hz"])
