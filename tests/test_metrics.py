import numpy as np
import pytest

import plantar


def test_total_force_analytic_with_anisotropic_pitch_and_nan():
    frames = np.zeros((3, 4, 5))
    frames[1, :2, :3] = 200.0  # 6 sensels x 200 kPa x (5.08 x 7.62 mm^2) = 46.45 N
    frames[2, 0, 0] = 1000.0
    frames[:, 3, 4] = np.nan  # no sensor there
    trial = plantar.make_trial(frames, pitch_mm=(5.08, 7.62), rate_hz=50.0)
    force = plantar.total_force(trial)
    area_m2 = 5.08e-3 * 7.62e-3
    np.testing.assert_allclose(force.values, [0.0, 6 * 200e3 * area_m2, 1000e3 * area_m2], rtol=1e-6)
    assert force.attrs["units"] == "N"
    assert force.dims == ("time",)


def test_total_force_in_blocks_equals_one_pass():
    rng = np.random.default_rng(0)
    frames = rng.random((600, 7, 6)).astype(np.float32) * 100  # more than one block of frames
    frames[:, 0, 0] = np.nan
    trial = plantar.make_trial(frames, pitch_mm=4.0, rate_hz=100.0)
    expected = np.nansum(frames.astype(np.float64), axis=(1, 2)) * 16e-3
    np.testing.assert_allclose(plantar.total_force(trial).values, expected, rtol=1e-9)


def test_describe_reports_the_trial():
    frames = np.zeros((10, 4, 3))
    frames[2:5, 1, 1] = [100.0, 300.0, 200.0]
    frames[:, 0, 0] = np.nan
    trial = plantar.make_trial(frames, pitch_mm=10.0, rate_hz=20.0, body_mass_kg=60.0,
                               subject="P01", condition="barefoot")  # fmt: skip
    info = plantar.describe(trial)
    assert info["frames"] == 10
    assert info["duration_s"] == pytest.approx(0.5)
    assert info["loaded_frames"] == 3
    assert info["peak_pressure_kpa"] == 300.0
    assert info["sensels"] == 11
    assert info["max_force_n"] == pytest.approx(300e3 * 1e-4)
    assert info["max_force_bw"] == pytest.approx(30.0 / (60 * 9.80665))
    assert (info["subject"], info["condition"]) == ("P01", "barefoot")


def test_describe_unknown_mass_and_empty_mat():
    trial = plantar.make_trial(np.zeros((2, 2, 2)), pitch_mm=5.0, rate_hz=100.0)
    info = plantar.describe(trial)
    assert np.isnan(info["max_force_bw"])
    assert info["peak_pressure_kpa"] == 0.0 and info["loaded_frames"] == 0


def test_metrics_refuse_raw_counts():
    raw = plantar.make_counts(np.ones((2, 2, 2), dtype=int), pitch_mm=5.0, rate_hz=100.0)
    with pytest.raises(ValueError, match="calibration"):
        plantar.total_force(raw)
