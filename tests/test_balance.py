"""Standing balance: sway measures against analytic truth, plantar.balance against the standing model's truth."""

import math

import numpy as np
import pytest
import xarray as xr

import plantar
from plantar.balance import CHI2_2_95, SWAY_MEASURES, lowpass, sway_measures

RATE = 100.0


def _whole_periods(seconds, rate=RATE):
    return np.arange(int(round(seconds * rate)) + 1) / rate


# --------------------------------------------------------------------------------------
# sway_measures: analytic COP series


def test_circle_gives_its_speed_frequency_and_spread():
    radius, freq = 6.0, 0.4
    t = _whole_periods(25.0)  # ten turns
    m = sway_measures(radius * np.cos(2 * np.pi * freq * t), radius * np.sin(2 * np.pi * freq * t), rate_hz=RATE)
    # A sampled circle's path is its chords: 2 R sin(w dt / 2) each, 0.003 % short of the arc at 100 Hz.
    chord_speed = 2 * radius * math.sin(np.pi * freq / RATE) * RATE
    assert m["mean_velocity"] == pytest.approx(chord_speed, rel=1e-9)
    assert m["mean_velocity"] == pytest.approx(2 * np.pi * radius * freq, rel=1e-4)
    assert m["path_length"] == pytest.approx(chord_speed * 25.0, rel=1e-9)
    assert m["mean_distance"] == pytest.approx(radius, rel=1e-6)  # the end sample repeats the first: mean off by R/n^2
    assert m["mean_frequency"] == pytest.approx(freq, rel=1e-4)
    assert m["rms_ap"] == pytest.approx(radius / math.sqrt(2), rel=1e-3)
    assert m["rms_ml"] == pytest.approx(radius / math.sqrt(2), rel=1e-3)
    assert m["range_ap"] == pytest.approx(2 * radius, rel=1e-3)
    assert m["ellipse_area"] == pytest.approx(math.pi * CHI2_2_95 * radius**2 / 2, rel=2e-3)


def test_sines_on_two_axes_give_the_published_one_axis_measures():
    a_ml, f_ml, a_ap, f_ap = 3.0, 0.3, 5.0, 0.5
    t = _whole_periods(20.0)  # whole periods of both
    ml = a_ml * np.sin(2 * np.pi * f_ml * t)
    ap = a_ap * np.sin(2 * np.pi * f_ap * t + 0.7)
    m = sway_measures(ml, ap, rate_hz=RATE)
    # mean |d/dt (A sin wt)| = 4 A f; mean |A sin| = 2 A / pi; RMS = A / sqrt 2; the two axes uncorrelated.
    assert m["mean_velocity_ml"] == pytest.approx(4 * a_ml * f_ml, rel=1e-3)
    assert m["mean_velocity_ap"] == pytest.approx(4 * a_ap * f_ap, rel=1e-3)
    assert m["rms_ml"] == pytest.approx(a_ml / math.sqrt(2), rel=1e-3)
    assert m["rms_ap"] == pytest.approx(a_ap / math.sqrt(2), rel=1e-3)
    assert m["range_ml"] == pytest.approx(2 * a_ml, rel=1e-3)
    assert m["range_ap"] == pytest.approx(2 * a_ap, rel=1e-3)
    # Prieto et al. 1996: MFREQ_AP = MVELO_AP / (4 sqrt 2 MDIST_AP) = f pi / (2 sqrt 2) for a sine.
    assert m["mean_frequency_ap"] == pytest.approx(f_ap * math.pi / (2 * math.sqrt(2)), rel=2e-3)
    assert m["mean_frequency_ml"] == pytest.approx(f_ml * math.pi / (2 * math.sqrt(2)), rel=2e-3)
    assert m["ellipse_area"] == pytest.approx(math.pi * CHI2_2_95 * a_ml * a_ap / 2, rel=2e-3)
    assert abs(m["ellipse_angle"]) == pytest.approx(90.0, abs=0.5)  # the major axis is AP


def test_prediction_ellipse_holds_95_percent_of_normal_samples_and_matches_prieto():
    from scipy.stats import f as f_dist

    rng = np.random.default_rng(3)
    cov = np.array([[9.0, 4.0], [4.0, 16.0]])
    n = 40_000
    samples = rng.multivariate_normal([0.0, 0.0], cov, size=n)
    m = sway_measures(samples[:, 0], samples[:, 1], rate_hz=RATE)
    # Area of the true 95 % region: pi chi2 sqrt(det), within the sampling error of det (about 1.5 % at n = 40000).
    assert m["ellipse_area"] == pytest.approx(math.pi * CHI2_2_95 * math.sqrt(np.linalg.det(cov)), rel=0.02)
    # The fraction of samples inside the ellipse: 95 % within 4 binomial SDs (0.44 %).
    centred = samples - samples.mean(axis=0)
    s = np.cov(centred.T, bias=True)
    inside = np.einsum("ij,jk,ik->i", centred, np.linalg.inv(s), centred) <= CHI2_2_95
    assert inside.mean() == pytest.approx(0.95, abs=4 * math.sqrt(0.95 * 0.05 / n))
    # Prieto's 95 % ellipse area, 2 pi F(0.95; 2, n - 2) sqrt(det S), tends to the same for large n.
    prieto = 2 * math.pi * f_dist.ppf(0.95, 2, n - 2) * math.sqrt(np.linalg.det(s))
    assert m["ellipse_area"] == pytest.approx(prieto, rel=2e-4)
    # The major axis of this covariance is at atan2 of its eigenvector: about 62 degrees from ML toward AP.
    _, vectors = np.linalg.eigh(cov)
    assert m["ellipse_angle"] == pytest.approx(math.degrees(math.atan2(vectors[1, 1], vectors[0, 1])) % 180, abs=2.0)


def test_random_walk_mean_velocity_is_the_mean_step_over_the_frame_period():
    rng = np.random.default_rng(7)
    sigma, n = 0.2, 50_000  # mm per frame and axis
    steps = rng.normal(0.0, sigma, (2, n))
    ml, ap = np.cumsum(steps, axis=1)
    m = sway_measures(ml, ap, rate_hz=RATE)
    # E|step| on one axis = sigma sqrt(2/pi); the 2-D step is Rayleigh: E = sigma sqrt(pi/2). SE about 0.4 %.
    assert m["mean_velocity_ml"] == pytest.approx(RATE * sigma * math.sqrt(2 / math.pi), rel=0.02)
    assert m["mean_velocity_ap"] == pytest.approx(RATE * sigma * math.sqrt(2 / math.pi), rel=0.02)
    assert m["mean_velocity"] == pytest.approx(RATE * sigma * math.sqrt(math.pi / 2), rel=0.02)
    assert m["path_length"] == pytest.approx(m["mean_velocity"] * (n - 1) / RATE, rel=1e-12)


def test_sway_measures_refuses_what_it_cannot_measure():
    with pytest.raises(ValueError, match="at least 3 samples"):
        sway_measures([0.0, 1.0], [0.0, 1.0], rate_hz=RATE)
    with pytest.raises(ValueError, match="NaN"):
        sway_measures([0.0, np.nan, 1.0], [0.0, 1.0, 2.0], rate_hz=RATE)
    with pytest.raises(ValueError, match="one length"):
        sway_measures([0.0, 1.0, 2.0], [0.0, 1.0], rate_hz=RATE)


def test_lowpass_passes_sway_removes_tremor_and_leaves_what_it_cannot_filter():
    t = np.arange(4000) / RATE
    sway = 3 * np.sin(2 * np.pi * 0.4 * t)
    tremor = 0.5 * np.sin(2 * np.pi * 25.0 * t)
    out = lowpass(sway + tremor, rate_hz=RATE, cutoff_hz=10.0)
    # A 4th-order Butterworth run twice: 25 Hz at 10 Hz cut-off is 1/(1 + 2.5^8)= -64 dB; 0.4 Hz untouched.
    assert np.abs(out - sway)[200:-200].max() < 0.5 * 1.2e-3 + 1e-4
    assert np.array_equal(lowpass(tremor, rate_hz=RATE, cutoff_hz=None), tremor)
    assert np.array_equal(lowpass(tremor, rate_hz=RATE, cutoff_hz=60.0), tremor)  # above Nyquist


# --------------------------------------------------------------------------------------
# plantar.balance on the standing model


def _truth_measures(truth, cop, result, first=0, count=None):
    """Sway measures of the model's own (continuous-field) COP, filtered and turned like balance() does."""
    x = truth.cop_x.sel(cop=cop).values
    y = truth.cop_y.sel(cop=cop).values
    rate = result.attrs["sampling_rate_hz"]
    x, y = lowpass(np.vstack([x, y]), rate_hz=rate, cutoff_hz=result.attrs["cutoff_hz"] or None)
    count = x.size - first if count is None else count
    x, y = x[first : first + count], y[first : first + count]
    angle = math.radians(result.attrs["ap_axis_deg"])
    ap = np.array([math.cos(angle), math.sin(angle)])
    return sway_measures(x * ap[1] - y * ap[0], x * ap[0] + y * ap[1], rate_hz=rate)


#: Tolerances of the measures from the mat (5 mm sensels) vs the model's continuous COP: the sensels
#: average the field, which shifts the COP by a fraction of a millimetre, slowly; relative, except the angle.
_TOLERANCE = dict(path_length=0.03, mean_velocity=0.03, mean_velocity_ap=0.03, mean_velocity_ml=0.03,
                  rms_ap=0.02, rms_ml=0.02, range_ap=0.03, range_ml=0.03, ellipse_area=0.04,
                  mean_distance=0.02, mean_frequency=0.03, mean_frequency_ap=0.03, mean_frequency_ml=0.03)  # fmt: skip


@pytest.mark.parametrize("sway", ["sines", "random"])
def test_balance_of_two_feet_matches_the_model(sway):
    trial, truth = plantar.synth.stand(seed=1, duration_s=20.0, sway=sway, left_share=0.56, forefoot_share=0.35,
                                       sway_ap_mm=5.0, sway_ml_mm=3.0)  # fmt: skip
    result = plantar.balance(trial)
    assert result.foot.values.tolist() == ["left", "right"]
    assert result.cop.values.tolist() == ["body", "left", "right"]
    assert result.sizes["time"] == trial.sizes["time"]  # the whole recording is quiet standing
    assert result.attrs["ap_axis_deg"] == pytest.approx(90.0, abs=1.0)  # facing +y
    weight = truth.attrs["body_weight_n"]
    for foot in ("left", "right"):
        force = float(truth.force.sel(foot=foot).mean())
        fore = float(truth.forefoot_force.sel(foot=foot).mean())
        # Loads in % of body weight: the sensels keep every structure's force; the forefoot cut at half the
        # estimated foot length moves with its ends (a fraction of a sensel: under 1 % of body weight).
        assert float(result.load_pct.sel(foot=foot, part="whole")) == pytest.approx(100 * force / weight, abs=0.3)
        assert float(result.load_pct.sel(foot=foot, part="forefoot")) == pytest.approx(100 * fore / weight, abs=1.0)
        assert float(result.load_pct.sel(foot=foot, part="rearfoot")) == pytest.approx(100 * (force - fore) / weight,
                                                                                   abs=1.0)  # fmt: skip
    assert float(result.load_pct.sel(foot="left", part="whole")) == pytest.approx(56.0, abs=0.5)
    for cop in ("body", "left", "right"):
        expected = _truth_measures(truth, cop, result)
        for name, rel in _TOLERANCE.items():
            if cop != "body" and name in ("ellipse_area", "mean_frequency_ml", "range_ml", "rms_ml",
                                          "mean_velocity_ml"):  # fmt: skip
                continue  # one foot's COP moves on a line: its ML spread is a fraction of a mm, checked below
            assert float(result[name].sel(cop=cop)) == pytest.approx(expected[name], rel=rel), (cop, name)
    assert float(result.rms_ml.sel(cop="left")) == pytest.approx(_truth_measures(truth, "left", result)["rms_ml"],
                                                                 abs=0.1)  # fmt: skip
    # The body's sway is the sway the model was given.
    assert float(result.rms_ap.sel(cop="body")) == pytest.approx(float(truth.cop_y.sel(cop="body").std()), rel=0.02)
    assert float(result.rms_ml.sel(cop="body")) == pytest.approx(float(truth.cop_x.sel(cop="body").std()), rel=0.02)


def test_balance_on_one_foot():
    trial, truth = plantar.synth.stand(seed=2, duration_s=12.0, feet="right", sway_ap_mm=3.0)
    result = plantar.balance(trial)
    assert result.foot.values.tolist() == ["right"]  # the footprint's own shape tells the side
    assert float(result.load_pct.sel(foot="right", part="whole")) == pytest.approx(100.0, abs=0.3)
    for name in SWAY_MEASURES:  # on one foot, the body COP is the foot's
        assert float(result[name].sel(cop="body")) == pytest.approx(float(result[name].sel(cop="right")), rel=1e-9)
    expected = _truth_measures(truth, "body", result)
    for name in ("rms_ap", "mean_velocity_ap", "path_length", "range_ap"):
        assert float(result[name].sel(cop="body")) == pytest.approx(expected[name], rel=_TOLERANCE[name])


def test_balance_window_and_its_errors():
    trial, truth = plantar.synth.stand(seed=4, duration_s=12.0)
    result = plantar.balance(trial, start_s=2.0, window_s=5.0)
    assert result.sizes["time"] == 500
    assert result.attrs["window_start_s"] == pytest.approx(2.0)
    assert result.attrs["window_s"] == pytest.approx(5.0)
    expected = _truth_measures(truth, "body", result, first=200, count=500)
    assert float(result.rms_ap.sel(cop="body")) == pytest.approx(expected["rms_ap"], rel=0.02)
    with pytest.raises(ValueError, match=r"at least 2 s"):
        plantar.balance(trial, window_s=1.0)
    with pytest.raises(ValueError, match="past the end of the recording"):
        plantar.balance(trial, start_s=10.0, window_s=5.0)
    with pytest.raises(ValueError, match="forefoot_from"):
        plantar.balance(trial, forefoot_from=1.5)


def test_a_step_off_inside_the_window_is_an_error_and_the_default_window_avoids_it():
    trial, _ = plantar.synth.stand(seed=5, duration_s=16.0, step_off=("right", 10.0, 11.0))
    with pytest.raises(ValueError, match=r"a foot steps off or onto the mat at 1\d\.\d\d s"):
        plantar.balance(trial, start_s=0.0, window_s=15.0)
    result = plantar.balance(trial)  # the longest stretch with both feet down: before the step-off
    assert result.attrs["window_start_s"] == 0.0
    assert result.attrs["window_end_s"] < 10.0 < result.attrs["window_end_s"] + 0.2
    assert result.foot.values.tolist() == ["left", "right"]


def test_balance_refuses_walking_and_an_empty_mat():
    walk, _ = plantar.synth.walk(seed=0, passes=1)
    with pytest.raises(ValueError, match="sway needs at least"):
        plantar.balance(walk)
    empty = plantar.make_trial(np.zeros((300, 10, 10)), pitch_mm=5.0, rate_hz=100.0)
    with pytest.raises(ValueError, match="no foot on the mat"):
        plantar.balance(empty)


def test_balance_result_saves_and_tabulates(tmp_path):
    trial, _ = plantar.synth.stand(seed=6, duration_s=6.0, body_mass_kg=80.0)
    result = plantar.balance(trial, cutoff_hz=5.0)
    assert result.attrs["cutoff_hz"] == 5.0 and "5 Hz" in result.attrs["filter"]
    assert result.attrs["body_weight_n"] == pytest.approx(80.0 * 9.80665)
    for name in [*SWAY_MEASURES, "load_pct", "force", "cop_x", "cop_y", "cop_ml", "cop_ap"]:
        assert result[name].attrs["units"] and result[name].attrs["definition"], name
    path = tmp_path / "balance.nc"
    result.to_netcdf(path)
    with xr.open_dataset(path) as back:
        xr.testing.assert_allclose(back.load(), result)
    table = plantar.balance_table(result)
    assert len(table) == 3 * len(SWAY_MEASURES) + 2 * 2 * 3
    row = table.query("cop == 'left' and part == 'forefoot' and metric == 'load_pct'")
    assert row["value"].item() == pytest.approx(float(result.load_pct.sel(foot="left", part="forefoot")))
    assert row["units"].item() == "%"
    with pytest.raises(ValueError, match="balance result"):
        plantar.balance_table(trial)


# --------------------------------------------------------------------------------------
# the real pliance recording (one foot on the mat)


def test_pliance_foot_balance_matches_the_force_and_cop_the_file_states():
    from real_data import real_file

    trial = plantar.read(real_file("novel-pliance", "pliance_test.asc"))
    result = plantar.balance(trial)
    # One foot, loaded from the first frame to the last: the window is the whole recording (281 frames at 24 Hz).
    assert result.foot.values.tolist() == ["unknown"]  # a high-arched print: its shape does not tell the side
    assert result.sizes["time"] == 281
    assert result.attrs["body_weight_source"].startswith("mean total force")  # the file states no body mass
    # The file's force per frame is printed to 0.001 N and equals sum(kPa x area) within 0.01 N (its README):
    # the mean force agrees within 0.01 N.
    assert float(result.force.sel(foot="unknown", part="whole")) == pytest.approx(
        float(trial.force_reported.mean()), abs=0.01)
    assert float(result.load_pct.sel(foot="unknown", part="whole")) == pytest.approx(100.0, abs=1e-9)
    # The file's COP (printed to 0.01 mm, the pressure-weighted centroid) through the same filter and axes.
    stated = _truth_measures(xr.Dataset({"cop_x": (("cop", "time"), trial.cop_x_reported.values[None]),
                                         "cop_y": (("cop", "time"), trial.cop_y_reported.values[None])},
                                        coords={"cop": ["body"]}), "body", result)  # fmt: skip
    # Printing moves each coordinate by at most 0.005 mm: positions, spreads and ranges within 0.02 mm; each of
    # the 280 path segments within 0.015 mm (4.2 mm in all, 1.3 % of the path: a bound, not an estimate).
    for name in ("rms_ap", "rms_ml", "range_ap", "range_ml", "mean_distance"):
        assert float(result[name].sel(cop="body")) == pytest.approx(stated[name], abs=0.02), name
    for name in ("path_length", "mean_velocity", "mean_velocity_ap", "mean_velocity_ml"):
        assert float(result[name].sel(cop="body")) == pytest.approx(stated[name], rel=0.013), name
    assert float(result.ellipse_area.sel(cop="body")) == pytest.approx(stated["ellipse_area"], rel=1e-3)
    # Not quiet standing: the COP runs heel to toe (240 mm in AP) while the load builds up and goes.
    assert 200 < float(result.range_ap.sel(cop="body")) < 280


# --------------------------------------------------------------------------------------
# plantar balance FILE


def test_balance_command_writes_the_table_and_fails_in_one_line(tmp_path):
    import json
    import subprocess
    import sys

    import pandas as pd

    trial, _ = plantar.synth.stand(seed=8, duration_s=8.0)
    path = tmp_path / "standing.nc"
    plantar.save(trial, path)
    run = [sys.executable, "-m", "plantar", "balance", str(path)]
    done = subprocess.run([*run, "--window", "5", "-o", str(tmp_path / "b.csv")], capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "2 feet: left, right" in done.stdout and "sway of body" in done.stdout
    table = pd.read_csv(tmp_path / "b.csv")
    expected = plantar.balance_table(plantar.balance(trial, window_s=5.0))
    assert np.allclose(table["value"].to_numpy(), expected["value"].to_numpy(), rtol=1e-9)
    done = subprocess.run([*run, "--out", str(tmp_path / "b.json")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    written = json.loads((tmp_path / "b.json").read_text())
    assert written["settings"]["plantar_schema"] == "balance/1" and len(written["rows"]) == len(expected)
    for bad, message in ((["--window", "60"], "reaches past the end"), (["-o", str(tmp_path / "b.txt")], ".csv or .json")):
        done = subprocess.run([*run, *bad], capture_output=True, text=True, timeout=300)
        assert done.returncode == 1
        errors = [line for line in done.stderr.splitlines() if line.startswith("plantar: error:")]
        assert len(errors) == 1 and message in errors[0] and "Traceback" not in done.stderr


def test_report_balance_section_shows_the_numbers_and_the_sway():
    from plantar.report._balance import balance_section

    trial, _ = plantar.synth.stand(seed=9, duration_s=5.0, left_share=0.6)
    result = plantar.balance(trial)
    html, fig = balance_section(result)
    left = float(result.load_pct.sel(foot="left", part="whole"))
    assert f"{left:.1f} %" in html and abs(left - 60.0) < 1.0
    assert f"{float(result.ellipse_area.sel(cop='body')):.0f}</td>" in html
    assert "Butterworth" in html and "Prieto" in html
    names = [trace.name for trace in fig.data]
    assert names[:3] == ["body", "left", "right"] and "95 % ellipse (body)" in names
    body = fig.data[0]
    assert np.allclose(body.x, result.cop_x.sel(cop="body").values, atol=0.01)
    # The drawn ellipse is the prediction ellipse: its area (shoelace) is the body's ellipse_area.
    ex, ey = (np.asarray(v, dtype=float) for v in (fig.data[3].x, fig.data[3].y))
    area = 0.5 * abs(np.dot(ex[:-1], ey[1:]) - np.dot(ex[1:], ey[:-1]))
    assert area == pytest.approx(float(result.ellipse_area.sel(cop="body")), rel=2e-3)
