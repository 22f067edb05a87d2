"""Trials of irregular sensors (insoles): construction, checks, NetCDF round trip, and the grid-only guard."""

import numpy as np
import pytest
import xarray as xr

import plantar
from plantar._schema import require_grid


def _square(cx, cy, side):
    half = side / 2
    return np.array([cx - half, cx + half, cx + half, cx - half]), np.array([cy - half, cy - half, cy + half, cy + half])


def _parts(n_frames=50, seed=0):
    """Three left sensors and two right ones: squares of known area, plus a triangle, with random pressure."""
    rng = np.random.default_rng(seed)
    centres = [(0.0, 10.0, 10.0), (0.0, 30.0, 14.0), (12.0, 200.0, 8.0), (120.0, 10.0, 12.0)]
    xs, ys = [], []
    for cx, cy, side in centres:
        x, y = _square(cx, cy, side)
        xs.append(np.r_[x, np.nan])
        ys.append(np.r_[y, np.nan])
    xs.append(np.array([110.0, 130.0, 120.0, np.nan, np.nan]))  # a triangle: 3 vertices, then NaN
    ys.append(np.array([190.0, 190.0, 220.0, np.nan, np.nan]))
    areas = [side**2 for _, _, side in centres] + [0.5 * 20.0 * 30.0]
    return dict(
        pressure=rng.uniform(0, 400, (n_frames, 5)),
        sensor_number=[1, 2, 3, 1, 2],
        sensor_side=["left", "left", "left", "right", "right"],
        sensor_x_mm=[0.0, 0.0, 12.0, 120.0, 120.0],
        sensor_y_mm=[10.0, 30.0, 200.0, 10.0, 200.0],
        sensor_area_mm2=areas,
        outline_x_mm=np.array([np.pad(x, (0, 5 - x.size), constant_values=np.nan) for x in xs]),
        outline_y_mm=np.array([np.pad(y, (0, 5 - y.size), constant_values=np.nan) for y in ys]),
        rate_hz=100.0,
    )


def test_force_is_pressure_times_area_exactly():
    parts = _parts()
    trial = plantar.make_sensor_trial(**parts, device="test insoles")
    assert trial.pressure.dims == ("time", "sensor") and trial.pressure.dtype == np.float32
    expected = (parts["pressure"].astype(np.float32).astype(np.float64) * np.array(parts["sensor_area_mm2"])).sum(1)
    force = (trial.pressure.astype(np.float64) * trial.sensor_area).sum("sensor").values
    np.testing.assert_allclose(force, expected, rtol=1e-12)  # kPa x mm2
    np.testing.assert_array_equal(trial.pressure.max("time").values, parts["pressure"].astype(np.float32).max(0))
    assert trial.attrs["layout"] == "insole" and "sensor_pitch_x_mm" not in trial.attrs
    assert plantar.is_sensor_trial(trial)
    for name, (units, _) in plantar._schema.SENSOR_VARIABLES.items():
        assert trial[name].attrs["units"] == units


def test_netcdf_round_trip_is_exact(tmp_path):
    parts = _parts(n_frames=3000)
    parts["pressure"][5, 2] = np.nan  # a sensor without a reading
    trial = plantar.make_sensor_trial(**parts, device="test insoles", sensor_geometry="drawn by the test")
    path = tmp_path / "insoles.nc"
    plantar.save(trial, path)
    back = plantar.read(path)
    xr.testing.assert_identical(back, trial)
    assert list(back.sensor_side.values) == parts["sensor_side"]


def test_a_changed_byte_in_the_sensor_pressure_is_detected(tmp_path):
    parts = _parts(n_frames=3000)
    path = tmp_path / "insoles.nc"
    plantar.save(plantar.make_sensor_trial(**parts), path)
    data = bytearray(path.read_bytes())
    import h5py

    with h5py.File(path, "r") as f:
        offset = f["pressure"].id.get_chunk_info(0).byte_offset
    data[offset + 100] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(plantar.io.FileFormatError, match="pressure"):
        plantar.read(path)


def _broken(change):
    parts = _parts()
    change(parts)
    return parts


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p.update(sensor_side=["left", "left", "left", "right", "middle"]), "'left' or 'right', got 'middle'"),
        (lambda p: p.update(sensor_number=[1, 2, 1, 1, 2]), "sensor left 1 appears more than once"),
        (lambda p: p["sensor_area_mm2"].__setitem__(1, 0.0), "sensor_area' of sensor left 2 is 0.0"),
        (lambda p: p["outline_x_mm"].__setitem__((4, 2), np.nan), "fewer than 3 vertices|finite vertices first"),
        (lambda p: p["outline_x_mm"].__setitem__((0, 1), np.nan), "finite vertices first"),
        (lambda p: p.__setitem__("sensor_x_mm", [0.0, 0.0, 12.0, 120.0, 150.0]), "sensor_x' of sensor right 2 lies outside"),
        (lambda p: p["pressure"].__setitem__((7, 3), -1.0), "negative values .* at frame 7, sensor 3"),
        (lambda p: p.__setitem__("pressure", p["pressure"][0]), "must be 2-D"),
        (lambda p: p.__setitem__("sensor_y_mm", [1.0, 2.0]), "one value per sensor"),
    ],
)
def test_broken_geometry_or_values_are_named(change, message):
    with pytest.raises(ValueError, match=message):
        plantar.make_sensor_trial(**_broken(change))


def test_a_pitch_attr_is_refused():
    trial = plantar.make_sensor_trial(**_parts())
    with pytest.raises(ValueError, match="irregular sensors has no pitch"):
        plantar.check_trial(trial.assign_attrs(sensor_pitch_x_mm=5.0))


def test_grid_trials_are_unchanged_and_grid_functions_refuse_sensors_clearly():
    grid = plantar.make_trial(np.zeros((2, 3, 3)), pitch_mm=5.0, rate_hz=100.0)
    assert not plantar.is_sensor_trial(grid)
    require_grid(grid, "anything")
    trial = plantar.make_sensor_trial(**_parts(), device="test insoles")
    with pytest.raises(ValueError, match="footstep segmentation needs a trial on a regular grid.*5 irregular sensors"):
        require_grid(trial, "footstep segmentation")
