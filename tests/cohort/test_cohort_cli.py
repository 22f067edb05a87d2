"""``plantar batch`` run as a user would: a separate process, its files, output and exit code."""

import subprocess
import sys

import pandas as pd
import pytest
import xarray as xr

from plantar.cohort import synthetic_study
from real_data import REAL


def run(*args):
    return subprocess.run([sys.executable, "-m", "plantar", *map(str, args)], capture_output=True, text=True,
                          timeout=300)  # fmt: skip


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli-study")
    synthetic_study(folder / "data", n_subjects=3, trials=1, passes=1, mat_length_mm=1500.0, seed=5)
    (folder / "data" / "s04_barefoot_1.nc").write_text("not a trial\n")
    return folder


def test_batch_writes_the_table_status_maps_and_report(folder):
    out = folder / "out"
    result = run("batch", folder / "data", "--pattern", "{subject}_{condition}_{trial}.nc", "-o", out,
                 "--scheduler", "serial", "--report", "--baseline", "barefoot")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("7 files: 6 ok, 1 errors, 0 skipped; 3 subjects")
    assert "error: cannot read" in result.stdout and "s04_barefoot_1.nc" in result.stdout
    assert "7/7 files  1 errors" in result.stderr  # the progress bar's last line
    status = pd.read_csv(out / "status.csv", keep_default_na=False)
    assert sorted(status.status) == ["error"] + ["ok"] * 6
    table = pd.read_parquet(out / "table.parquet")
    assert set(table.condition) == {"barefoot", "insole"}
    html = (out / "report.html").read_text(encoding="utf-8")
    for heading in ("Group comparison", "Under the foot", "Status of every file"):
        assert heading in html
    numbers = pd.read_csv(out / "report.csv")
    assert {"group comparison"} <= set(numbers.table)
    again = run("-q", "batch", folder / "data", "--pattern", "{subject}_{condition}_{trial}.nc", "-o", out,
                "--scheduler", "serial")  # fmt: skip
    assert again.returncode == 0 and again.stdout.startswith("7 files: 0 ok, 1 errors, 6 skipped")


def test_batch_help_has_an_example():
    result = run("batch", "--help")
    assert result.returncode == 0 and "example:" in result.stdout and "plantar batch" in result.stdout


def test_batch_needs_a_manifest_or_a_pattern(folder):
    result = run("batch", folder / "data", "-o", folder / "x")
    assert result.returncode == 2 and "one of the arguments --manifest --pattern is required" in result.stderr


def test_batch_refuses_a_folder_it_did_not_write(folder, tmp_path):
    (tmp_path / "notes.txt").write_text("mine\n")
    result = run("batch", folder / "data", "--pattern", "{subject}_{condition}_{trial}.nc", "-o", tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("plantar: error: output folder")


def test_batch_of_the_real_exports_on_a_local_cluster(tmp_path):
    """The default scheduler: a local Dask cluster of processes (two workers here)."""
    if not REAL.is_dir():
        pytest.skip(f"real recordings not available (looked in {REAL})")
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("file,subject,condition,side\n"
                        f"{REAL}/tekscan-fscan/FrasP01L.asf,P01,walk,left\n"
                        f"{REAL}/tekscan-fscan/FrasP01R.asf,P01,walk,right\n"
                        f"{REAL}/novel-emed/emed_test.lst,E01,barefoot,\n"
                        f"{REAL}/novel-pedar/pedar_example.asc,P02,walk,\n")  # fmt: skip
    result = run("batch", REAL, "--manifest", manifest, "-o", tmp_path / "out", "--workers", "2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("4 files: 4 ok, 0 errors")
    table = pd.read_csv(tmp_path / "out" / "table.csv", keep_default_na=False, dtype={"trial": str})
    assert set(table[table.subject == "P01"].side) == {"left", "right"}
    assert set(table[table.subject == "P02"].side) == {"left", "right"}  # the pedar insoles, both feet
    # The aligned maps are the mats' (the insoles' per-sensor maps cannot join a foot-frame grid).
    maps = xr.load_dataset(tmp_path / "out" / "maps.nc", engine="h5netcdf")
    assert sorted(maps.subject.values.tolist()) == ["E01", "P01"]
