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


# --------------------------------------------------------------------------------------
# per step and region


def test_step_metrics_analytic():
    from plantar.metrics import step_metrics
    from plantar.regions import REGIONS

    # Heel sensel (label 1) at 200 kPa for 3 frames; hallux (6) at 100 kPa in frame 2 only.
    p = np.zeros((3, 2, 2))
    p[:, 0, 0] = 200.0
    p[2, 1, 1] = 100.0
    labels = np.array([[1, 0], [0, 6]])
    m = step_metrics(p, labels, time_s=[0.0, 0.1, 0.2], sensel_area_mm2=50.0)
    r = {name: i for i, name in enumerate(REGIONS)}
    heel_n = 200e3 * 50e-6  # 10 N
    assert m["max_force"][r["heel"]] == pytest.approx(heel_n)
    assert m["max_force"][r["total"]] == pytest.approx(heel_n + 5.0)
    # Trapezoid from the unloaded frame before (t = -0.1) to the one after (t = 0.3).
    assert m["force_time_integral"][r["heel"]] == pytest.approx(heel_n * 0.3)
    assert m["force_time_integral"][r["hallux"]] == pytest.approx(5.0 * 0.1)
    assert m["pressure_time_integral"][r["heel"]] == pytest.approx(200.0 * 0.3)
    assert m["peak_pressure"][r["toes"]] == 100.0 and m["peak_pressure"][r["arch"]] == 0.0
    assert m["contact_area"][r["total"]] == 100.0
    assert m["contact_time"][r["heel"]] == pytest.approx(0.3) and m["contact_time"][r["hallux"]] == pytest.approx(0.1)
    assert m["mean_pressure"][r["heel"]] == pytest.approx(200.0)
    # Total: 10 N on 50 mm2 twice, then 15 N on 100 mm2: mean of 200, 200, 150 kPa.
    assert m["mean_pressure"][r["total"]] == pytest.approx((200 + 200 + 150) / 3)
    assert m["relative_load"][r["heel"]] == pytest.approx(100 * 3.0 / 3.5)
    # A region without load: zero load, and no mean pressure (no loaded area to divide by).
    assert m["relative_load"][r["arch"]] == 0.0 and m["force_time_integral"][r["arch"]] == 0.0
    assert np.isnan(m["mean_pressure"][r["arch"]])


def test_arch_index_analytic():
    from plantar.geometry import FootGeometry
    from plantar.metrics import arch_index

    g = FootGeometry(0.0, 0.0, 0.0, 1.0, -0.5, 100.0, 10.0, 0.0)
    y = np.arange(0.0, 100.0)  # 1 mm rows: thirds of the toeless 80 mm are 0-26.7-53.3-80
    x = np.arange(-5.0, 6.0)
    footprint = np.ones((100, 11), bool)
    footprint[30:50, 3:] = False  # a high arch: the middle third is narrow
    middle = ((y >= 26.17) & (y < 52.83))  # u = (y + 0.5) / 100
    expected = footprint[middle].sum() / footprint[y < 79.5].sum()
    assert arch_index(g, footprint, x, y) == pytest.approx(expected, abs=0.01)
    assert np.isnan(arch_index(g, np.zeros((100, 11), bool), x, y))


def test_cpei_sign_follows_the_side():
    from plantar.geometry import FootGeometry
    from plantar.metrics import cpei

    g = FootGeometry(0.0, 0.0, 0.0, 1.0, -30.0, 240.0, 100.0, 0.0)
    cop_y = np.linspace(-20.0, 200.0, 60)
    bow = -6.0 * np.sin(np.pi * (cop_y + 20.0) / 220.0)  # toward -x
    x, y = np.linspace(-45.0, 45.0, 10), np.linspace(-30.0, 210.0, 25)
    fp = np.ones((25, 10), bool)
    left = cpei(bow, cop_y, g, "left", fp, x, y)
    right = cpei(bow, cop_y, g, "right", fp, x, y)
    assert left > 0 and right == pytest.approx(-left)  # -x is lateral for a left foot walking +y
    assert np.isnan(cpei(bow, cop_y, g, "unknown", fp, x, y))
    assert np.isnan(cpei(bow[:10], cop_y[:10], g, "left", fp, x, y))  # never reaches 2/3 of the foot


def test_cop_of_the_whole_mat():
    frames = np.zeros((3, 3, 4))
    frames[1, 0, 0] = 100.0
    frames[2, 2, 3] = 50.0
    frames[2, 0, 0] = 50.0
    frames[:, 1, 1] = np.nan
    trial = plantar.make_trial(frames, pitch_mm=(4.0, 6.0), rate_hz=10.0, origin_mm=(2.0, 1.0))
    c = plantar.cop(trial)
    assert np.isnan(c.cop_x.values[0])
    np.testing.assert_allclose(c.cop_x.values[1:], [2.0, 2.0 + 6.0])
    np.testing.assert_allclose(c.cop_y.values[1:], [1.0, 1.0 + 6.0])
    assert c.cop_x.attrs["units"] == "mm"
