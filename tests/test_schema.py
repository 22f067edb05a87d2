"""Tests for the trial / raw-recording data model (plantar._schema)."""

import itertools

import numpy as np
import pytest
import xarray as xr

import plantar
from plantar import check_counts, check_trial, make_counts, make_trial

# --------------------------------------------------------------------------------------
# helpers

PITCH_X, PITCH_Y = 5.08, 7.62
RATE = 100.0

STR_ATTRS = (
    "device",
    "source_format",
    "source_file",
    "start_time",
    "subject",
    "condition",
    "calibration_id",
)


def _frames(n_frames=3, n_rows=4, n_cols=2):
    """Small deterministic non-negative frames with a few zeros."""
    data = np.arange(n_frames * n_rows * n_cols, dtype=np.float32).reshape(n_frames, n_rows, n_cols)
    return data * 1.5


def _trial(**kwargs):
    kwargs.setdefault("pitch_mm", (PITCH_X, PITCH_Y))
    kwargs.setdefault("rate_hz", RATE)
    return make_trial(_frames(), **kwargs)


def _counts(**kwargs):
    kwargs.setdefault("pitch_mm", 5.0)
    kwargs.setdefault("rate_hz", 50.0)
    data = np.arange(3 * 4 * 2, dtype=np.int64).reshape(3, 4, 2) * 1000
    return make_counts(data, **kwargs)


# --------------------------------------------------------------------------------------
# make_trial: the result


def test_make_trial_layout_and_dtypes():
    frames = _frames()
    trial = _trial()
    assert isinstance(trial, xr.Dataset)
    assert list(trial.data_vars) == ["pressure"]
    assert trial.pressure.dims == ("time", "y", "x")
    assert trial.pressure.dtype == np.float32
    assert trial.pressure.shape == frames.shape
    np.testing.assert_array_equal(trial.pressure.values, frames)
    assert trial.pressure.attrs["units"] == "kPa"
    assert trial.pressure.attrs["long_name"]
    for name, units in (("time", "s"), ("y", "mm"), ("x", "mm")):
        coord = trial[name]
        assert coord.dims == (name,)
        assert coord.dtype == np.float64
        assert coord.attrs["units"] == units
        assert isinstance(coord.attrs["long_name"], str) and coord.attrs["long_name"]
    assert set(trial.indexes) == {"time", "y", "x"}


def test_make_trial_default_attrs():
    trial = make_trial(_frames(), pitch_mm=5.0, rate_hz=250)
    attrs = trial.attrs
    assert attrs["plantar_schema"] == "trial/1"
    assert attrs["sampling_rate_hz"] == 250.0
    assert type(attrs["sampling_rate_hz"]) is float
    assert attrs["sensor_pitch_x_mm"] == 5.0
    assert attrs["sensor_pitch_y_mm"] == 5.0
    assert type(attrs["sensor_pitch_x_mm"]) is float
    assert type(attrs["sensor_pitch_y_mm"]) is float
    assert attrs["body_mass_kg"] == 0.0
    assert type(attrs["body_mass_kg"]) is float
    assert attrs["plantar_version"] == plantar.__version__
    for key in STR_ATTRS:
        assert attrs[key] == "", key
    expected = {
        "plantar_schema", "sampling_rate_hz", "sensor_pitch_x_mm", "sensor_pitch_y_mm",
        "body_mass_kg", "plantar_version", *STR_ATTRS,
    }
    assert set(attrs) == expected


def test_make_trial_default_time_from_rate():
    trial = make_trial(np.zeros((5, 2, 2)), pitch_mm=1.0, rate_hz=250.0)
    np.testing.assert_array_equal(trial.time.values, np.array([0.0, 0.004, 0.008, 0.012, 0.016]))


def test_make_trial_anisotropic_pitch():
    trial = make_trial(np.zeros((2, 3, 4)), pitch_mm=(5.08, 7.62), rate_hz=RATE)
    np.testing.assert_allclose(trial.x.values, [0.0, 5.08, 10.16, 15.24], rtol=1e-12, atol=0)
    np.testing.assert_allclose(trial.y.values, [0.0, 7.62, 15.24], rtol=1e-12, atol=0)
    np.testing.assert_allclose(np.diff(trial.x.values), 5.08, rtol=1e-12)
    np.testing.assert_allclose(np.diff(trial.y.values), 7.62, rtol=1e-12)
    assert trial.attrs["sensor_pitch_x_mm"] == 5.08
    assert trial.attrs["sensor_pitch_y_mm"] == 7.62


def test_make_trial_origin_offsets_coords():
    # origin_mm is (x, y): x starts at 10, y at -20.
    trial = make_trial(np.zeros((1, 2, 3)), pitch_mm=(2.0, 4.0), rate_hz=RATE, origin_mm=(10.0, -20.0))
    np.testing.assert_array_equal(trial.x.values, [10.0, 12.0, 14.0])
    np.testing.assert_array_equal(trial.y.values, [-20.0, -16.0])


def test_make_trial_explicit_nonuniform_time_kept():
    time_s = [0.0, 0.01, 0.04, 0.05]  # two frames lost after the second: a gap, at 100 Hz
    trial = make_trial(np.zeros((4, 2, 2)), pitch_mm=5.0, rate_hz=RATE, time_s=time_s)
    np.testing.assert_array_equal(trial.time.values, np.array(time_s))
    assert trial.time.dtype == np.float64
    assert trial.attrs["sampling_rate_hz"] == RATE


def test_make_trial_nan_allowed():
    frames = _frames()
    frames[0, 0, 0] = np.nan
    frames[2, 3, 1] = np.nan
    trial = make_trial(frames, pitch_mm=5.0, rate_hz=RATE)
    values = trial.pressure.values
    np.testing.assert_array_equal(np.isnan(values), np.isnan(frames))
    np.testing.assert_array_equal(values, frames)  # NaN == NaN in assert_array_equal
    check_trial(trial)


def test_make_trial_negative_zero_allowed():
    trial = make_trial(np.array([[[-0.0, 1.0]]]), pitch_mm=5.0, rate_hz=RATE)
    assert np.signbit(trial.pressure.values[0, 0, 0])
    check_trial(trial)


def test_make_trial_all_nan_allowed():
    trial = make_trial(np.full((2, 2, 2), np.nan), pitch_mm=5.0, rate_hz=RATE)
    assert np.isnan(trial.pressure.values).all()


def test_make_trial_integer_input_converted():
    ints = np.array([[[0, 1], [2, 300]], [[65535, 7], [0, 0]]], dtype=np.int64)
    trial = make_trial(ints, pitch_mm=5.0, rate_hz=RATE)
    assert trial.pressure.dtype == np.float32
    np.testing.assert_array_equal(trial.pressure.values, ints.astype(np.float32))
    # a nested list works too
    trial = make_trial(ints.tolist(), pitch_mm=5.0, rate_hz=RATE)
    np.testing.assert_array_equal(trial.pressure.values, ints.astype(np.float32))


def test_make_trial_float64_input_converted():
    data = np.array([[[0.1, 2.5]]], dtype=np.float64)
    trial = make_trial(data, pitch_mm=5.0, rate_hz=RATE)
    assert trial.pressure.dtype == np.float32
    np.testing.assert_array_equal(trial.pressure.values, data.astype(np.float32))


def test_make_trial_float32_not_copied():
    # Documented: an array that is already C-contiguous float32 is used without a copy.
    data = _frames()
    trial = make_trial(data, pitch_mm=5.0, rate_hz=RATE)
    assert np.shares_memory(trial.pressure.values, data)


def test_make_trial_extra_attrs_kept():
    trial = _trial(
        subject="S01",
        condition="barefoot",
        body_mass_kg=72,
        trial_number=3,
        note="Zoë, 2nd pass",
        gains=[1.0, 2.0],
        start_time="2026-11-21T09:30:00Z",
    )
    attrs = trial.attrs
    assert attrs["subject"] == "S01"
    assert attrs["condition"] == "barefoot"
    assert attrs["body_mass_kg"] == 72.0
    assert type(attrs["body_mass_kg"]) is float  # a known float attr is converted
    assert attrs["trial_number"] == 3
    assert type(attrs["trial_number"]) is int  # an unknown attr is kept as given
    assert attrs["note"] == "Zoë, 2nd pass"
    assert attrs["gains"] == [1.0, 2.0]
    assert attrs["start_time"] == "2026-11-21T09:30:00Z"
    assert attrs["plantar_schema"] == "trial/1"


def test_make_trial_single_sensel():
    trial = make_trial([[[4.0]]], pitch_mm=5.0, rate_hz=RATE)
    assert trial.pressure.shape == (1, 1, 1)
    assert float(trial.pressure[0, 0, 0]) == 4.0
    np.testing.assert_array_equal(trial.time.values, [0.0])


# --------------------------------------------------------------------------------------
# make_trial: errors


def _neg_frames():
    frames = _frames()
    frames[1, 2, 0] = -2.5
    return frames


def _inf_frames():
    frames = _frames()
    frames[2, 1, 1] = np.inf
    return frames


@pytest.mark.parametrize(
    "pressure, match",
    [
        pytest.param(np.zeros((4, 2)), r"must be 3-D \(time, y, x\), got shape \(4, 2\).*frame\[np\.newaxis\]", id="2d"),
        pytest.param(np.zeros(4), r"must be 3-D \(time, y, x\), got shape \(4,\)", id="1d"),
        pytest.param(np.zeros((1, 2, 3, 4)), r"must be 3-D", id="4d"),
        pytest.param(np.zeros((0, 3, 3)), r"at least one frame, row and column, got shape \(0, 3, 3\)", id="no-frames"),
        pytest.param(np.zeros((2, 3, 0)), r"at least one frame, row and column, got shape \(2, 3, 0\)", id="no-cols"),
        pytest.param(_neg_frames(), r"negative values \(min -2\.5 kPa at frame 1, row 2, col 0\)", id="negative"),
        pytest.param(_inf_frames(), r"infinite values", id="inf"),
        pytest.param(np.full((1, 1, 1), -np.inf), r"negative values", id="minus-inf"),
        pytest.param(np.array([[[0.0, -0.5]]]), r"negative values \(min -0\.5 kPa at frame 0, row 0, col 1\)", id="small-negative"),
        pytest.param(np.array([[[0.0], [-1e-30]]]), r"negative values \(min -1e-30 kPa at frame 0, row 1, col 0\)", id="tiny-negative"),
        pytest.param(np.array([[["a", "b"]]]), r"pressure must be numeric, got dtype <U1", id="str"),
        pytest.param(np.array([[[object(), 1]]]), r"pressure must be numeric, got dtype object", id="object"),
        pytest.param(np.ones((1, 1, 2), dtype=complex), r"pressure must be numeric, got dtype complex128", id="complex"),
    ],
)
def test_make_trial_bad_pressure(pressure, match):
    with pytest.raises(ValueError, match=match):
        make_trial(pressure, pitch_mm=5.0, rate_hz=RATE)


@pytest.mark.parametrize(
    "pitch, match",
    [
        (0, r"pitch_mm must be positive and finite, got 0"),
        (0.0, r"pitch_mm must be positive and finite"),
        (-5.0, r"pitch_mm must be positive and finite, got -5\.0"),
        ((5.0, -1.0), r"pitch_mm must be positive and finite"),
        ((5.0, 0.0), r"pitch_mm must be positive and finite"),
        (np.nan, r"pitch_mm must be positive and finite"),
        (np.inf, r"pitch_mm must be positive and finite"),
        ((5.0, 5.0, 5.0), r"pitch_mm must be a number or an \(x, y\) pair of numbers, got \(5\.0, 5\.0, 5\.0\)"),
        ([5.0], r"pitch_mm must be a number or an \(x, y\) pair"),
        (None, r"pitch_mm must be a number or an \(x, y\) pair of numbers, got None"),
    ],
)
def test_make_trial_bad_pitch(pitch, match):
    with pytest.raises(ValueError, match=match):
        make_trial(_frames(), pitch_mm=pitch, rate_hz=RATE)


@pytest.mark.parametrize("rate", [0, 0.0, -100.0, np.nan, np.inf, None, "fast"])
def test_make_trial_bad_rate(rate):
    with pytest.raises(ValueError, match=r"rate_hz must be a positive number"):
        make_trial(_frames(), pitch_mm=5.0, rate_hz=rate)


@pytest.mark.parametrize(
    "origin", [(1.0,), (1.0, 2.0, 3.0), 5.0, None, ("a", "b")]
)
def test_make_trial_bad_origin(origin):
    with pytest.raises(ValueError, match=r"origin_mm must be an \(x, y\) pair in mm"):
        make_trial(_frames(), pitch_mm=5.0, rate_hz=RATE, origin_mm=origin)


@pytest.mark.parametrize(
    "time_s, match",
    [
        pytest.param([0.5, 0.6, 0.7], r"coordinate 'time' must start at 0 s.*start_time", id="not-at-0"),
        pytest.param([0.0, 0.2, 0.1], r"coordinate 'time' must be strictly increasing", id="decreasing"),
        pytest.param([0.0, 0.1, 0.1], r"coordinate 'time' must be strictly increasing", id="repeated"),
        pytest.param([0.0, 0.1], r"time_s must have one value per frame \(3\), got shape \(2,\)", id="too-short"),
        pytest.param([0.0, 0.1, 0.2, 0.3], r"time_s must have one value per frame \(3\), got shape \(4,\)", id="too-long"),
        pytest.param([[0.0, 0.1, 0.2]], r"time_s must have one value per frame \(3\), got shape \(1, 3\)", id="2d"),
        pytest.param([0.0, np.nan, 0.2], r"coordinate 'time' has non-finite values", id="nan"),
    ],
)
def test_make_trial_bad_time(time_s, match):
    with pytest.raises(ValueError, match=match):
        make_trial(_frames(), pitch_mm=5.0, rate_hz=RATE, time_s=time_s)


@pytest.mark.parametrize(
    "attrs, match",
    [
        pytest.param({"sampling_rate_hz": 100.0}, r"attr 'sampling_rate_hz' is set from the arguments", id="rate"),
        pytest.param({"sensor_pitch_x_mm": 5.0}, r"attr 'sensor_pitch_x_mm' is set from the arguments", id="pitch-x"),
        pytest.param({"sensor_pitch_y_mm": 5.0}, r"attr 'sensor_pitch_y_mm' is set from the arguments", id="pitch-y"),
        pytest.param({"plantar_schema": "trial/1"}, r"attr 'plantar_schema' is set from the arguments", id="schema"),
        pytest.param({"flag": True}, r"attr 'flag' is a bool, which NetCDF cannot store", id="bool"),
        pytest.param({"flag": np.bool_(False)}, r"attr 'flag' is a bool", id="np-bool"),
        pytest.param({"meta": {"a": 1}}, r"attr 'meta' has type dict, which NetCDF cannot store", id="dict"),
        pytest.param({"grid": [[1, 2], [3, 4]]}, r"attr 'grid' has type list, which NetCDF cannot store", id="2d-list"),
        pytest.param({"names": ["a", "b"]}, r"attr 'names' has type list", id="str-list"),
        pytest.param({"missing": None}, r"attr 'missing' has type NoneType", id="none"),
        pytest.param({"subject": 7}, r"attr 'subject' must be a str, got int 7", id="str-attr-int"),
        pytest.param({"body_mass_kg": "70"}, r"attr 'body_mass_kg' must be a number, got str '70'", id="mass-str"),
        pytest.param({"body_mass_kg": True}, r"attr 'body_mass_kg' must be a number, got bool", id="mass-bool"),
        pytest.param({"body_mass_kg": -1}, r"attr 'body_mass_kg' must be >= 0 \(0 = unknown\), got -1\.0", id="mass-neg"),
        pytest.param({"body_mass_kg": -0.25}, r"attr 'body_mass_kg' must be >= 0 \(0 = unknown\), got -0\.25", id="mass-slightly-neg"),
        pytest.param({"body_mass_kg": float("nan")}, r"attr 'body_mass_kg' must be >= 0", id="mass-nan"),
        pytest.param({"start_time": "yesterday"}, r"attr 'start_time' must be ISO 8601", id="start-time"),
    ],
)
def test_make_trial_bad_attrs(attrs, match):
    with pytest.raises(ValueError, match=match):
        make_trial(_frames(), pitch_mm=5.0, rate_hz=RATE, **attrs)


@pytest.mark.parametrize(
    "start_time",
    ["2026-11-21T09:30:00Z", "2026-11-21T09:30:00", "2026-11-21T09:30:00.250+01:00", "2026-11-21"],
)
def test_valid_start_time_passes(start_time):
    trial = _trial(start_time=start_time)
    check_trial(trial)
    assert trial.attrs["start_time"] == start_time
    check_trial(_trial().assign_attrs(start_time=start_time))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        pytest.param({"pitch_mm": "55"}, r"pitch_mm", id="pitch-str"),
        pytest.param({"pitch_mm": ("a", "b")}, r"pitch_mm", id="pitch-str-pair"),
        pytest.param({"pitch_mm": 5.0, "origin_mm": "12"}, r"origin_mm", id="origin-str"),
    ],
)
def test_make_trial_str_pitch_or_origin_rejected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_trial(_frames(), rate_hz=RATE, **kwargs)


# --------------------------------------------------------------------------------------
# check_trial


def test_check_trial_accepts_valid():
    trial = _trial()
    assert check_trial(trial) is None
    check_trial(make_trial(np.zeros((1, 1, 1)), pitch_mm=1.0, rate_hz=1.0))
    check_trial(plantar.synth.walk(seed=0, passes=1)[0].isel(time=slice(0, 3)))


def _with_attrs(var, **changes):
    """A copy of a DataArray's attrs with ``changes`` applied (None deletes)."""
    attrs = dict(var.attrs)
    for key, value in changes.items():
        if value is None:
            attrs.pop(key, None)
        else:
            attrs[key] = value
    return attrs


def _set_var_attrs(ds, name, **changes):
    ds = ds.copy()
    ds[name].attrs = _with_attrs(ds[name], **changes)
    return ds


def _replace_coord(ds, name, values):
    return ds.assign_coords({name: (name, np.asarray(values), dict(ds[name].attrs))})


def _set_value(ds, index, value):
    ds = ds.copy(deep=True)
    ds["pressure"].values[index] = value
    return ds


def _del_attr(ds, key):
    ds = ds.copy()
    del ds.attrs[key]
    return ds


#: id -> (mutation of a valid trial, exception type, phrase of the message (regex)).
MUTATIONS = {
    "not-a-dataset": (lambda t: t.pressure, TypeError, r"expected an xarray\.Dataset, got DataArray"),
    "dims-order": (
        lambda t: t.transpose("time", "x", "y"),
        ValueError,
        r"variable 'pressure' has dims \('time', 'x', 'y'\); expected \('time', 'y', 'x'\)",
    ),
    "float64-pressure": (
        lambda t: t.assign(pressure=t.pressure.astype(np.float64)),
        ValueError,
        r"variable 'pressure' has dtype float64; expected float32",
    ),
    "missing-pressure": (
        lambda t: t.drop_vars("pressure"),
        ValueError,
        r"trial has no 'pressure' variable",
    ),
    "raw-counts": (
        lambda t: _counts(),
        ValueError,
        r"raw recording in 'counts'.*apply a calibration first",
    ),
    "empty": (
        lambda t: t.isel(time=slice(0, 0)),
        ValueError,
        r"variable 'pressure' is empty",
    ),
    "missing-x-coord": (
        lambda t: t.drop_vars("x"),
        ValueError,
        r"dim 'x' has no coordinate",
    ),
    "float32-y-coord": (
        lambda t: _replace_coord(t, "y", t.y.values.astype(np.float32)),
        ValueError,
        r"coordinate 'y' has dtype float32; expected float64",
    ),
    "nan-x-coord": (
        lambda t: _replace_coord(t, "x", [0.0, np.nan]),
        ValueError,
        r"coordinate 'x' has non-finite values",
    ),
    "non-increasing-x": (
        lambda t: _replace_coord(t, "x", t.x.values[::-1]),
        ValueError,
        r"coordinate 'x' must be strictly increasing",
    ),
    "time-not-at-0": (
        lambda t: _replace_coord(t, "time", t.time.values + 0.5),
        ValueError,
        r"coordinate 'time' must start at 0 s",
    ),
    "missing-units": (
        lambda t: _set_var_attrs(t, "pressure", units=None),
        ValueError,
        r"variable 'pressure' has no 'units' attr",
    ),
    "wrong-units": (
        lambda t: _set_var_attrs(t, "pressure", units="Pa"),
        ValueError,
        r"variable 'pressure' has units 'Pa'; expected 'kPa'",
    ),
    "wrong-coord-units": (
        lambda t: _set_var_attrs(t, "time", units="ms"),
        ValueError,
        r"variable 'time' has units 'ms'; expected 's'",
    ),
    "missing-long-name-on-coord": (
        lambda t: _set_var_attrs(t, "x", long_name=None),
        ValueError,
        r"variable 'x' has no 'long_name' attr",
    ),
    "bool-var-attr": (
        lambda t: _set_var_attrs(t, "pressure", filtered=True),
        ValueError,
        r"attr 'filtered' of variable 'pressure' is a bool",
    ),
    "x-spacing-vs-pitch": (
        lambda t: t.assign_attrs(sensor_pitch_x_mm=6.0),
        ValueError,
        r"coordinate 'x' spacing \(5\.08 \.\. 5\.08 mm\) does not match attr 'sensor_pitch_x_mm' = 6 mm",
    ),
    "y-spacing-vs-pitch": (
        lambda t: t.assign_attrs(sensor_pitch_y_mm=7.0),
        ValueError,
        r"coordinate 'y' spacing \(7\.62 \.\. 7\.62 mm\) does not match attr 'sensor_pitch_y_mm' = 7 mm",
    ),
    "missing-attr": (
        lambda t: _del_attr(t, "subject"),
        ValueError,
        r"attr 'subject' is missing",
    ),
    "missing-schema": (
        lambda t: _del_attr(t, "plantar_schema"),
        ValueError,
        r"attr 'plantar_schema' is None; expected 'trial/1'",
    ),
    "wrong-schema": (
        lambda t: t.assign_attrs(plantar_schema="trial/2"),
        ValueError,
        r"attr 'plantar_schema' is 'trial/2'; expected 'trial/1'",
    ),
    "str-attr-wrong-type": (
        lambda t: t.assign_attrs(device=3),
        ValueError,
        r"attr 'device' must be a str, got int 3",
    ),
    "float-attr-wrong-type": (
        lambda t: t.assign_attrs(sampling_rate_hz="100"),
        ValueError,
        r"attr 'sampling_rate_hz' must be a number, got str '100'",
    ),
    "zero-rate": (
        lambda t: t.assign_attrs(sampling_rate_hz=0.0),
        ValueError,
        r"attr 'sampling_rate_hz' must be positive, got 0\.0",
    ),
    "negative-body-mass": (
        lambda t: t.assign_attrs(body_mass_kg=-1.0),
        ValueError,
        r"attr 'body_mass_kg' must be >= 0 \(0 = unknown\), got -1\.0",
    ),
    "invalid-start-time": (
        lambda t: t.assign_attrs(start_time="21/11/2026 09:30"),
        ValueError,
        r"attr 'start_time' must be ISO 8601 .* got '21/11/2026 09:30'",
    ),
    "dict-attr": (
        lambda t: t.assign_attrs(meta={"a": 1}),
        ValueError,
        r"attr 'meta' has type dict, which NetCDF cannot store",
    ),
    "negative-pressure": (
        lambda t: _set_value(t, (1, 2, 0), -1.5),
        ValueError,
        r"variable 'pressure' has negative values \(min -1\.5 kPa at frame 1, row 2, col 0\)",
    ),
    "inf-pressure": (
        lambda t: _set_value(t, (2, 0, 1), np.inf),
        ValueError,
        r"variable 'pressure' has infinite values",
    ),
}


def _check_trial_message(case):
    mutate, exc_type, match = MUTATIONS[case]
    bad = mutate(_trial())
    with pytest.raises(exc_type, match=match) as info:
        check_trial(bad)
    return str(info.value)


@pytest.mark.parametrize("case", list(MUTATIONS))
def test_check_trial_rejects(case):
    _check_trial_message(case)


def test_check_trial_mutations_do_not_change_original():
    trial = _trial()
    reference = trial.copy(deep=True)
    for mutate, _, _ in MUTATIONS.values():
        mutate(trial)
    xr.testing.assert_identical(trial, reference)
    check_trial(trial)


def test_check_trial_messages_pairwise_distinct():
    assert len(MUTATIONS) >= 15
    messages = {case: _check_trial_message(case) for case in MUTATIONS}
    for (a, msg_a), (b, msg_b) in itertools.combinations(messages.items(), 2):
        assert msg_a != msg_b, f"cases {a!r} and {b!r} give the same message: {msg_a!r}"


def test_check_trial_pitch_tolerance():
    # spacing within 1e-6 relative of the pitch attr is accepted; beyond, rejected
    trial = _trial()
    check_trial(trial.assign_attrs(sensor_pitch_x_mm=PITCH_X * (1 + 1e-7)))
    with pytest.raises(ValueError, match=r"does not match attr 'sensor_pitch_x_mm'"):
        check_trial(trial.assign_attrs(sensor_pitch_x_mm=PITCH_X * (1 + 1e-5)))


def test_check_trial_accepts_numpy_attr_types():
    trial = _trial().assign_attrs(
        body_mass_kg=np.float32(70.5), sampling_rate_hz=np.int64(100), gains=np.array([1.0, 2.0])
    )
    check_trial(trial)


# --------------------------------------------------------------------------------------
# make_counts / check_counts


def test_make_counts_layout_and_defaults():
    data = np.arange(24, dtype=np.int64).reshape(3, 4, 2) * 1000
    raw = make_counts(data, pitch_mm=5.0, rate_hz=50.0)
    assert list(raw.data_vars) == ["counts"]
    assert raw.counts.dims == ("time", "y", "x")
    assert raw.counts.dtype == np.uint16
    np.testing.assert_array_equal(raw.counts.values, data)
    assert raw.counts.attrs["units"] == "count"
    assert raw.seq.dtype == np.uint32
    assert raw.seq.dims == ("time",)
    np.testing.assert_array_equal(raw.seq.values, [0, 1, 2])
    assert raw.t_device.dtype == np.float64
    assert raw.t_device.dims == ("time",)
    assert np.isnan(raw.t_device.values).all() and raw.t_device.shape == (3,)
    assert raw.seq.attrs["units"] == "1"
    assert raw.t_device.attrs["units"] == "s"
    np.testing.assert_array_equal(raw.time.values, [0.0, 0.02, 0.04])
    assert raw.attrs["plantar_schema"] == "counts/1"
    assert raw.attrs["sampling_rate_hz"] == 50.0
    check_counts(raw)


def test_make_counts_explicit_seq_and_t_device_kept():
    seq = [7, 8, 2**32 - 1]
    t_device = [12.5, 12.52, 12.54]
    raw = _counts(seq=seq, t_device_s=t_device)
    np.testing.assert_array_equal(raw.seq.values, np.array(seq, dtype=np.uint32))
    assert raw.seq.dtype == np.uint32
    np.testing.assert_array_equal(raw.t_device.values, np.array(t_device))


def test_make_counts_full_range():
    data = np.array([[[0, 65535]]])
    raw = make_counts(data, pitch_mm=5.0, rate_hz=50.0)
    np.testing.assert_array_equal(raw.counts.values, [[[0, 65535]]])
    raw = make_counts(np.array([[[0, 65535]]], dtype=np.uint16), pitch_mm=5.0, rate_hz=50.0)
    np.testing.assert_array_equal(raw.counts.values, [[[0, 65535]]])


@pytest.mark.parametrize(
    "counts, kwargs, match",
    [
        pytest.param(np.zeros((2, 2, 2)), {}, r"counts must be integers, got dtype float64", id="float"),
        pytest.param(np.full((2, 2, 2), 65536), {}, r"counts must lie in 0 \.\. 65535, got 65536 \.\. 65536", id="too-big"),
        pytest.param(np.full((2, 2, 2), -1), {}, r"counts must lie in 0 \.\. 65535, got -1 \.\. -1", id="negative"),
        pytest.param(np.zeros((2, 2)), {}, r"counts must be 3-D", id="2d"),
        pytest.param(np.zeros((2, 2, 2), int), {"seq": [0, 1, 2]}, r"seq must have one value per frame \(2\), got shape \(3,\)", id="seq-length"),
        pytest.param(np.zeros((2, 2, 2), int), {"seq": [-1, 0]}, r"seq must be integers in 0 \.\. 2\*\*32 - 1", id="seq-negative"),
        pytest.param(np.zeros((2, 2, 2), int), {"seq": [0, 2**32]}, r"seq must be integers in 0 \.\. 2\*\*32 - 1", id="seq-too-big"),
        pytest.param(np.zeros((2, 2, 2), int), {"seq": [0.0, 1.0]}, r"seq must be integers", id="seq-float"),
        pytest.param(np.zeros((2, 2, 2), int), {"t_device_s": [0.0]}, r"t_device_s must have one value per frame \(2\), got shape \(1,\)", id="t-device-length"),
        pytest.param(np.zeros((2, 2, 2), int), {"pitch_mm": -1.0}, r"pitch_mm must be positive", id="pitch"),
    ],
)
def test_make_counts_errors(counts, kwargs, match):
    kwargs = {"pitch_mm": 5.0, "rate_hz": 50.0, **kwargs}
    with pytest.raises(ValueError, match=match):
        make_counts(counts, **kwargs)


def test_check_counts_accepts_valid():
    assert check_counts(_counts(seq=[3, 4, 5], t_device_s=[1.0, 1.1, 1.2])) is None


@pytest.mark.parametrize(
    "mutate, exc_type, match",
    [
        pytest.param(lambda r: r.drop_vars("seq"), ValueError, r"raw recording has no 'seq' coordinate", id="missing-seq"),
        pytest.param(lambda r: r.drop_vars("t_device"), ValueError, r"raw recording has no 't_device' coordinate", id="missing-t-device"),
        pytest.param(
            lambda r: r.assign(counts=r.counts.astype(np.int32)),
            ValueError,
            r"variable 'counts' has dtype int32; expected uint16",
            id="counts-dtype",
        ),
        pytest.param(
            lambda r: r.assign_coords(seq=("time", r.seq.values.astype(np.int64), dict(r.seq.attrs))),
            ValueError,
            r"coordinate 'seq' has dtype int64; expected uint32",
            id="seq-dtype",
        ),
        pytest.param(
            lambda r: r.assign_coords(t_device=("time", r.t_device.values.astype(np.float32), dict(r.t_device.attrs))),
            ValueError,
            r"coordinate 't_device' has dtype float32; expected float64",
            id="t-device-dtype",
        ),
        pytest.param(lambda r: r.drop_vars("counts"), ValueError, r"raw recording has no 'counts' variable", id="missing-counts"),
        pytest.param(lambda r: _trial(), ValueError, r"raw recording has no 'counts' variable \(data variables: \['pressure'\]\)", id="a-trial"),
        pytest.param(
            lambda r: r.assign_attrs(plantar_schema="trial/1"),
            ValueError,
            r"attr 'plantar_schema' is 'trial/1'; expected 'counts/1'",
            id="wrong-schema",
        ),
        pytest.param(lambda r: r.to_array(), TypeError, r"expected an xarray\.Dataset", id="not-a-dataset"),
    ],
)
def test_check_counts_rejects(mutate, exc_type, match):
    with pytest.raises(exc_type, match=match):
        check_counts(mutate(_counts()))


def test_check_trial_and_check_counts_are_exclusive():
    with pytest.raises(ValueError):
        check_counts(_trial())
    with pytest.raises(ValueError, match="calibration"):
        check_trial(_counts())


@pytest.mark.parametrize(
    "kwargs, match",
    [
        pytest.param({"rate_hz": True}, "rate_hz must be a positive number", id="rate-bool"),
        pytest.param({"rate_hz": "100"}, "rate_hz must be a positive number", id="rate-str"),
        pytest.param({"time_s": ["0", "0.1", "0.2"]}, "time_s must be numbers", id="time-str"),
        pytest.param({"origin_mm": 3.0}, r"origin_mm must be an \(x, y\) pair in mm", id="origin-scalar"),
        pytest.param({"origin_mm": (0.0, np.inf)}, "origin_mm must be finite", id="origin-inf"),
    ],
)
def test_make_trial_refuses_text_and_bools_for_numbers(kwargs, match):
    args = {"pitch_mm": 5.0, "rate_hz": RATE, **kwargs}
    with pytest.raises(ValueError, match=match):
        make_trial(np.zeros((3, 2, 2)), **args)


def test_make_counts_names_text_device_times():
    with pytest.raises(ValueError, match="t_device_s must be numbers"):
        make_counts(np.zeros((2, 2, 2), dtype=int), pitch_mm=5.0, rate_hz=RATE, t_device_s=["a", "b"])


def test_numpy_string_attrs_become_plain_str():
    trial = make_trial(np.zeros((1, 1, 1)), pitch_mm=5.0, rate_hz=RATE, subject=np.str_("S01"))
    assert type(trial.attrs["subject"]) is str and trial.attrs["subject"] == "S01"


def test_attr_names_must_be_non_empty_str():
    trial = make_trial(np.zeros((1, 1, 1)), pitch_mm=5.0, rate_hz=RATE)
    with pytest.raises(ValueError, match="attr name"):
        check_trial(trial.assign_attrs(**{"": 1}))


# --------------------------------------------------------------------------------------
# plausibility: rate, pitch, pressure, rate against time


@pytest.mark.parametrize("rate", [0.5, 20_000.5, 1e300])
def test_make_trial_refuses_an_implausible_rate(rate):
    with pytest.raises(ValueError, match=r"rate_hz must lie in 1 \.\. 20000 Hz"):
        make_trial(_frames(), pitch_mm=5.0, rate_hz=rate)


@pytest.mark.parametrize("rate", [1.0, 20_000.0])
def test_the_rate_limits_themselves_are_accepted(rate):
    assert make_trial(_frames(), pitch_mm=5.0, rate_hz=rate).attrs["sampling_rate_hz"] == rate


@pytest.mark.parametrize("pitch", [0.05, 1e-320, 1001.0, 1e308, (5.0, 2000.0)])
def test_make_trial_refuses_an_implausible_pitch(pitch):
    with pytest.raises(ValueError, match=r"pitch_mm must lie in 0\.1 \.\. 1000 mm"):
        make_trial(_frames(), pitch_mm=pitch, rate_hz=RATE)


@pytest.mark.parametrize("high", [100_000.0, 3.4e38])
def test_pressure_at_or_above_100_mpa_is_refused(high):
    frames = _frames()
    frames[2, 1, 0] = high
    with pytest.raises(ValueError, match=r"implausible values \(max .* kPa at frame 2, row 1, col 0\).*100000 kPa"):
        make_trial(frames, pitch_mm=5.0, rate_hz=RATE)
    frames[2, 1, 0] = np.nextafter(np.float32(100_000.0), np.float32(0))  # just below: a pressure
    assert make_trial(frames, pitch_mm=5.0, rate_hz=RATE).pressure.values.max() < 100_000.0


@pytest.mark.parametrize("key, value", [("sampling_rate_hz", 1e300), ("sampling_rate_hz", 0.2),
                                        ("sensor_pitch_x_mm", 1e-300)])  # fmt: skip
def test_check_trial_refuses_implausible_attrs(key, value):
    trial = make_trial(_frames(), pitch_mm=5.0, rate_hz=RATE)
    with pytest.raises(ValueError, match=rf"attr '{key}' is .* it must lie in"):
        check_trial(trial.assign_attrs({key: value}))


def test_check_trial_refuses_a_rate_that_contradicts_time():
    trial = make_trial(np.zeros((10, 2, 2)), pitch_mm=5.0, rate_hz=100.0)  # time steps of 10 ms
    with pytest.raises(ValueError, match=r"'sampling_rate_hz' \(50 Hz\) contradicts coordinate 'time'.*0\.01 s"):
        check_trial(trial.assign_attrs(sampling_rate_hz=50.0))
    with pytest.raises(ValueError, match=r"'sampling_rate_hz' \(101\.5 Hz\) contradicts"):
        check_trial(trial.assign_attrs(sampling_rate_hz=101.5))  # 1.5 % off
    check_trial(trial.assign_attrs(sampling_rate_hz=100.9))  # within 1 %


def test_a_recording_with_gaps_keeps_its_device_rate():
    """Lost frames and an unplugged mat leave gaps in time: the median step is still the period."""
    scan = np.concatenate([np.arange(0, 40), np.arange(42, 60), np.arange(260, 300)])  # 2 and 200 scans lost
    trial = make_trial(np.zeros((scan.size, 2, 2)), pitch_mm=5.0, rate_hz=100.0, time_s=scan / 100.0)
    assert (trial.time.values[-1] - trial.time.values[0]) / (scan.size - 1) > 0.02  # the mean step is twice the period
    raw = make_counts(np.zeros((scan.size, 2, 2), np.uint16), pitch_mm=5.0, rate_hz=100.0, seq=scan,
                      time_s=scan / 100.0)  # fmt: skip
    check_counts(raw)


def test_a_recording_that_lost_more_frames_than_it_kept_keeps_its_device_rate():
    """A bad link on a 100 Hz grid: one frame in three arrives, with a few neighbours; the rate stays 100 Hz."""
    rng = np.random.default_rng(3)
    scan = np.sort(rng.choice(np.arange(600), size=180, replace=False))
    scan = np.union1d(scan, scan[::4] + 1)  # some frames one period apart
    steps = np.diff(scan)
    assert np.median(steps) >= 2 and np.any(steps == 1)  # the median step is not the period
    raw = make_counts(np.zeros((scan.size, 2, 2), np.uint16), pitch_mm=5.0, rate_hz=100.0, seq=scan,
                      time_s=(scan - scan[0]) / 100.0)  # fmt: skip
    check_counts(raw)
    # Twice the true rate puts every step on a whole number of (half) periods, but none on one.
    doubled = make_counts(np.zeros((scan.size, 2, 2), np.uint16), pitch_mm=5.0, rate_hz=100.0, seq=scan,
                          time_s=(scan - scan[0]) / 100.0)  # fmt: skip
    with pytest.raises(ValueError, match=r"'sampling_rate_hz' \(200 Hz\) contradicts"):
        check_counts(doubled.assign_attrs(sampling_rate_hz=200.0))


def test_jittered_time_stamps_agree_with_their_mean_rate():
    """Stamps 13 or 14 ms apart (XSENSOR): the median is 13 ms, the mean rate is the rate."""
    steps = np.tile([0.013, 0.014, 0.013], 20)
    time_s = np.concatenate([[0.0], np.cumsum(steps)])
    rate = (time_s.size - 1) / time_s[-1]
    assert abs(np.median(steps) * rate - 1) > 0.01  # the median alone would refuse it
    make_trial(np.zeros((time_s.size, 2, 2)), pitch_mm=5.0, rate_hz=rate, time_s=time_s)


def test_check_counts_applies_the_same_limits():
    raw = _counts()
    with pytest.raises(ValueError, match=r"contradicts coordinate 'time'"):
        check_counts(raw.assign_attrs(sampling_rate_hz=25.0))
    with pytest.raises(ValueError, match=r"attr 'sampling_rate_hz' is 1e\+300 Hz"):
        check_counts(raw.assign_attrs(sampling_rate_hz=1e300))
    with pytest.raises(ValueError, match=r"rate_hz must lie in"):
        _counts(rate_hz=0.5)
