"""The plantar command, run as a user would: a separate process, its output and exit code."""

import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import plantar


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "plantar", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=300)  # fmt: skip


def assert_one_line_error(result, *phrases):
    assert result.returncode == 1, result
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("plantar: error: ")]
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for phrase in phrases:
        assert phrase in errors[0], errors[0]


def test_help_lists_the_subcommands():
    result = run("--help")
    assert result.returncode == 0
    for command in ("demo", "analyze", "report", "convert", "info", "devices", "simulate", "record", "calibrate"):
        assert command in result.stdout


@pytest.mark.parametrize("command", ["demo", "analyze", "report", "convert", "info", "devices", "simulate", "record"])
def test_each_subcommand_help_has_an_example(command):
    result = run(command, "--help")
    assert result.returncode == 0
    assert "example:" in result.stdout and f"plantar {command}" in result.stdout


def test_console_script_is_installed():
    exe = shutil.which("plantar")
    if exe is None:
        pytest.skip("the plantar console script is not on PATH")
    result = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and plantar.__version__ in result.stdout


def test_demo_from_the_synthetic_model_writes_trials_truth_and_report(tmp_path):
    out = tmp_path / "demo"
    result = run("demo", "--source", "synthetic", "-o", out, "--passes", "2", "--seed", "3")
    assert result.returncode == 0, result.stderr
    walks = plantar.datasets.demo_walks(seed=3, passes=2)
    for condition in ("barefoot", "shod", "orthotic"):
        trial = plantar.read(out / f"{condition}.nc")
        expected, truth = walks[condition]
        xr.testing.assert_identical(trial, expected)
        with xr.open_dataset(out / f"{condition}.truth.nc", engine="h5netcdf") as saved:
            xr.testing.assert_identical(saved.load(), truth)
        peak = float(trial.pressure.max())
        assert f"{peak:.0f} kPa" in result.stdout
    for name in ("report.html", "report.csv", "report.json"):
        assert (out / name).stat().st_size > 0 and f"wrote {out / name}" in result.stdout
    line = next(x for x in result.stdout.splitlines() if "Right foot, orthotic vs shod: peak pressure" in x)
    assert "2nd-3rd metatarsal heads" in line and "beyond noise" in line
    # A second run does not overwrite anything unless asked, and says so before any work.
    again = run("demo", "--source", "synthetic", "-o", out, "--passes", "1")
    assert_one_line_error(again, "exists", "--overwrite")
    assert run("demo", "--source", "synthetic", "-o", out, "--passes", "1", "--overwrite").returncode == 0
    # --baseline compares every condition with the one named, instead of the shoe for the orthotic.
    result = run("demo", "--source", "synthetic", "-o", out, "--passes", "2", "--seed", "3", "--overwrite",
                 "--baseline", "barefoot")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "orthotic vs barefoot" in result.stdout and "orthotic vs shod" not in result.stdout
    table = pd.read_csv(out / "report.csv", keep_default_na=False)
    assert set(table.loc[(table.condition == "orthotic") & (table.baseline != ""), "baseline"]) == {"barefoot"}


def test_demo_records_calibrated_virtual_mats_and_reports(tmp_path):
    """The default demo: one calibrated virtual mat, three conditions recorded over the wire."""
    out = tmp_path / "demo"
    result = run("demo", "-o", out, "--seconds", "8")
    assert result.returncode == 0, result.stderr
    for condition in ("barefoot", "shod", "orthotic"):
        trial = plantar.read(out / f"{condition}.nc")
        raw = plantar.read(out / f"{condition}.counts.nc")
        assert trial.attrs["condition"] == condition and trial.attrs["calibration_id"]
        assert trial.sizes["time"] == raw.sizes["time"] and trial.sizes["time"] >= 0.95 * 8 * 100
        # calibrated kPa: the walker's (70 kg) force peaks at 1.0-1.5 x body weight, as walking does
        peak_bw = float(plantar.total_force(trial).max()) / (70 * 9.80665)
        assert 1.0 < peak_bw < 1.5
    import json

    report = json.loads((out / "report.json").read_text())
    assert report["notes"] == []  # one mat, one calibration: nothing to warn about
    assert report["meta"]["Calibration"] == plantar.read(out / "barefoot.nc").attrs["calibration_id"]


def test_report_command_writes_html_csv_json(tmp_path):
    paths = []
    for seed, condition in enumerate(("barefoot", "orthotic")):
        trial, _ = plantar.synth.walk(seed=seed, passes=2, **plantar.datasets.demo_walker(condition))
        plantar.save(trial, tmp_path / f"{condition}.nc")
        paths.append(tmp_path / f"{condition}.nc")
    out = tmp_path / "out" / "r.html"
    result = run("report", *paths, "--label", "barefoot", "--label", "orthotic A", "-o", out, "--no-animation")
    assert result.returncode == 0, result.stderr
    for suffix in (".html", ".csv", ".json"):
        assert out.with_suffix(suffix).exists()
    assert "Right foot, orthotic A vs barefoot" in result.stdout
    assert f"wrote {out}" in result.stdout
    # refuses to replace it, with one line
    assert_one_line_error(run("report", *paths, "-o", out), "exists", "--overwrite")


def test_report_command_bad_input_is_one_line(tmp_path):
    trial, _ = plantar.synth.walk(seed=0, passes=1)
    plantar.save(trial, tmp_path / "a.nc")
    assert_one_line_error(run("report", tmp_path / "missing.nc", "-o", tmp_path / "r.html"), "missing.nc")
    assert_one_line_error(run("report", tmp_path / "a.nc", "--label", "x", "--label", "y", "-o", tmp_path / "r.html"),
                          "labels has 2 names for 1 conditions")  # fmt: skip
    (tmp_path / "junk.nc").write_bytes(b"not a netcdf file")
    assert_one_line_error(run("report", tmp_path / "junk.nc", "-o", tmp_path / "r.html"), "junk.nc")
    assert not (tmp_path / "r.html").exists()


def test_report_of_a_trial_without_complete_steps_is_still_written(tmp_path):
    trial = plantar.make_trial(np.zeros((30, 10, 8), np.float32), pitch_mm=5.0, rate_hz=100.0, condition="empty")
    plantar.save(trial, tmp_path / "empty.nc")
    result = run("report", tmp_path / "empty.nc", "-o", tmp_path / "r.html")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "no foot contact" in result.stderr
    assert (tmp_path / "r.html").exists()


def test_info_and_convert(tmp_path):
    frames = np.zeros((5, 4, 3))
    frames[2, 1, 1] = 123.4
    trial = plantar.make_trial(frames, pitch_mm=(5.08, 7.62), rate_hz=50.0, subject="P07", body_mass_kg=80.0)
    plantar.save(trial, tmp_path / "in.nc")
    info = run("info", tmp_path / "in.nc")
    assert info.returncode == 0, info.stderr
    assert "P07" in info.stdout and "123.4 kPa" in info.stdout and "5.08 x 7.62 mm" in info.stdout
    converted = run("convert", tmp_path / "in.nc", "-o", tmp_path / "out.nc")
    assert converted.returncode == 0, converted.stderr
    xr.testing.assert_identical(plantar.read(tmp_path / "out.nc"), trial)
    assert_one_line_error(run("convert", tmp_path / "in.nc", "-o", tmp_path / "out.nc"), "out.nc", "exists")


def test_bad_input_gives_one_line_errors(tmp_path):
    assert_one_line_error(run("info", tmp_path / "missing.nc"), "no such file", "missing.nc")
    garbage = tmp_path / "garbage.nc"
    garbage.write_bytes(b"\x00\x01 not a netcdf file " * 50)
    assert_one_line_error(run("info", garbage), "garbage.nc", "not a NetCDF")
    notes = tmp_path / "notes.txt"
    notes.write_text("hello\n")
    assert_one_line_error(run("info", notes), "notes.txt", "netcdf")
    plantar.save(plantar.make_trial(np.zeros((2, 2, 2)), pitch_mm=5.0, rate_hz=10.0), tmp_path / "ok.nc")
    assert_one_line_error(run("convert", tmp_path / "ok.nc", "-o", tmp_path / "ok.csv"), "ok.csv", ".nc")


def test_debug_shows_the_traceback(tmp_path):
    result = run("--debug", "info", tmp_path / "missing.nc")
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_wrong_command_line_exits_2():
    result = run("demo", "--passes", "0")
    assert result.returncode == 2 and "positive integer" in result.stderr
    assert run("frobnicate").returncode == 2


def test_analyze_prints_a_summary_and_writes_the_tidy_table(tmp_path):
    import pandas as pd

    trial, truth = plantar.synth.walk(seed=4, passes=3, offload={"right_heel": 0.3})
    plantar.save(trial, tmp_path / "walk.nc")
    result = run("analyze", tmp_path / "walk.nc", "-o", tmp_path / "steps.csv")
    assert result.returncode == 0, result.stderr
    analysis = plantar.analyze(trial)
    done = analysis.complete.values
    assert f"{analysis.sizes['step']} steps, {int(done.sum())} complete" in result.stdout
    assert f"cadence {analysis.attrs['cadence_steps_per_min']:.1f} steps/min" in result.stdout
    heel_si = float(plantar.offloading(analysis).symmetry_index.sel(region="heel"))
    assert f"{heel_si:+.1f} %" in result.stdout
    table = pd.read_csv(tmp_path / "steps.csv", keep_default_na=False)
    expected = plantar.to_table(analysis)
    assert len(table) == len(expected)
    row = table[(table.metric == "peak_pressure") & (table.region == "heel") & (table.step == 0)]
    assert float(row.value.iloc[0]) == pytest.approx(float(analysis.peak_pressure.sel(region="heel")[0]))
    assert_one_line_error(run("analyze", tmp_path / "walk.nc", "-o", tmp_path / "steps.csv"), "steps.csv", "exists")


def test_analyze_with_the_anatomical_mask_writes_each_metatarsal_head(tmp_path):
    import pandas as pd

    trial, _ = plantar.synth.walk(seed=4, passes=1)
    plantar.save(trial, tmp_path / "walk.nc")
    result = run("analyze", tmp_path / "walk.nc", "--mask", "anatomical", "-o", tmp_path / "steps.csv")
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(tmp_path / "steps.csv", keep_default_na=False)
    expected = plantar.to_table(plantar.analyze(trial, mask="anatomical"))
    assert len(table) == len(expected)
    assert {"mth1", "mth2", "mth3", "mth4", "mth5", "toe2", "toes3_5"} <= set(table.region)
    row = expected.query("metric == 'force_time_integral' and region == 'mth2' and step == 1").iloc[0]
    got = table[(table.metric == "force_time_integral") & (table.region == "mth2") & (table.step == 1)]
    assert float(got.value.iloc[0]) == pytest.approx(row["value"])


def test_analyze_a_trial_without_steps(tmp_path):
    plantar.save(plantar.make_trial(np.zeros((20, 10, 10)), pitch_mm=5.0, rate_hz=100.0), tmp_path / "empty.nc")
    result = run("analyze", tmp_path / "empty.nc")
    assert result.returncode == 0, result.stderr
    assert "0 steps" in result.stdout and "no complete step" in result.stdout


def test_devices_lists_ports_and_protocols():
    result = run("devices")
    assert result.returncode == 0, result.stderr
    assert "serial ports" in result.stdout
    for name in plantar.drivers.PROTOCOLS:
        assert name in result.stdout


def test_simulate_then_record_then_info_and_recover(tmp_path):
    """A virtual mat in one process, the recorder in another, as in a clinic without hardware."""
    mat = subprocess.Popen([sys.executable, "-m", "plantar", "simulate", "--shape", "32x24", "--rate-hz", "100",
                            "--seconds", "30"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        url = mat.stdout.readline().strip()
        assert url, mat.stderr.read()
        out = tmp_path / "walk.nc"
        result = run("record", "--port", url, "--seconds", "2", "-o", out, "--subject", "S7", "--keep-journal")
        assert result.returncode == 0, result.stderr
        assert "wrote" in result.stdout and "0 lost" in result.stdout
        raw = plantar.read(out)
        assert raw.attrs["subject"] == "S7" and raw.counts.shape[1:] == (32, 24)
        assert 180 <= raw.sizes["time"] <= 220
        info = run("info", out)
        assert info.returncode == 0 and "raw recording in counts" in info.stdout and "lost frames" in info.stdout
        # The journal kept beside it converts to the same recording.
        recovered = tmp_path / "recovered.nc"
        assert run("convert", tmp_path / "walk.pmrec", "-o", recovered).returncode == 0
        np.testing.assert_array_equal(plantar.read(recovered).counts.values, raw.counts.values)
        again = run("record", "--port", url, "--seconds", "1", "-o", out)
        assert_one_line_error(again, "exists")
    finally:
        mat.terminate()
        mat.wait(timeout=10)


def test_record_bad_ports_give_one_line_errors(tmp_path):
    assert_one_line_error(run("record", "--port", "/dev/plantar-no-such-port", "-o", tmp_path / "w.nc"),
                          "/dev/plantar-no-such-port", "no such port")  # fmt: skip
    assert_one_line_error(run("record", "--port", "socket://127.0.0.1:9", "-o", tmp_path / "w.nc"),
                          "socket://127.0.0.1:9")  # fmt: skip
    assert_one_line_error(run("record", "--port", "loop://", "--timeout-s", "1", "-o", tmp_path / "w.nc"),
                          "loop://", "PMAT/1")  # fmt: skip
    assert not (tmp_path / "w.nc").exists() and not (tmp_path / "w.pmrec").exists()


def test_the_command_starts_without_scipy():
    """scipy.ndimage costs a good part of a second to import: a command that does not use it (record,
    info, convert) never imports it."""
    code = "import sys, plantar.cli; print(sorted(m for m in sys.modules if m.split('.')[0] == 'scipy'))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
