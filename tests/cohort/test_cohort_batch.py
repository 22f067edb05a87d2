"""plantar.batch on a Dask LocalCluster (two worker processes) and serially: a synthetic study with a known
offload under the first metatarsal head of both feet, broken files, re-runs, and the real recordings.

The cluster and the study are made once for the module; every check is against the study's ground truth
(the walking model's per-step region loads and the offload's place under the foot) or against the serial run.
"""

import functools
import logging
import shutil

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import plantar
from plantar import synth
from plantar.cohort import STATUS_COLUMNS, TABLE_COLUMNS, read_manifest, read_study, synthetic_study
from real_data import REAL

distributed = pytest.importorskip("distributed")

N_SUBJECTS = 8
FOOT_LENGTH_MM = 260.0  # the middle of the study's 245-275 mm


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                       silence_logs=logging.ERROR)  # fmt: skip
    with cluster, distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def study(tmp_path_factory, client):
    folder = tmp_path_factory.mktemp("study")
    # Written one subject per task on the cluster: the parts together are the study.
    write = functools.partial(synthetic_study, folder / "data", n_subjects=N_SUBJECTS, trials=1, passes=2,
                              mat_length_mm=1500.0, seed=11)  # fmt: skip
    parts = client.gather(client.map(lambda i: write(subjects=[i]), range(1, N_SUBJECTS + 1)))
    manifest = pd.concat([m for m, _ in parts], ignore_index=True)
    truth = pd.concat([t for _, t in parts], ignore_index=True)
    result = plantar.batch(folder / "data", folder / "out", pattern="{subject}_{condition}_{trial}.nc",
                           scheduler=client)
    return {"folder": folder, "manifest": manifest, "truth": truth, "result": result}


def test_every_file_is_analysed_on_the_cluster_as_in_a_plain_loop(study, tmp_path):
    result = study["result"]
    status = result["status"]
    assert list(status.columns) == STATUS_COLUMNS
    assert (status["status"] == "ok").all() and len(status) == 2 * N_SUBJECTS
    assert (status["worker_peak_mb"] > 0).all()
    table = result["table"]
    assert list(table.columns) == TABLE_COLUMNS
    # Complete steps per file: as many as the walking model says.
    truth = study["truth"]
    found = table[table.complete].groupby(["subject", "condition", "trial"]).step.nunique()
    expected = truth.groupby(["subject", "condition", "trial"]).step.nunique()
    assert found.to_dict() == expected.to_dict()
    # The same files in a plain loop give the same numbers.
    subset = study["manifest"].iloc[:3]
    serial = plantar.batch(study["folder"] / "data", tmp_path / "serial", manifest=subset, scheduler="serial")
    keys = ["subject", "condition", "trial"]
    mine = table.merge(subset[keys]).reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, serial["table"].reset_index(drop=True))


def test_the_table_opens_as_csv_and_parquet_alike(study):
    paths = study["result"]["paths"]
    from_parquet = pd.read_parquet(paths["table_parquet"])
    from_csv = pd.read_csv(paths["table_csv"], keep_default_na=False, na_values={"value": ["", "NaN"]},
                           dtype={"visit": str, "trial": str, "region": str})  # fmt: skip
    assert list(from_csv.columns) == TABLE_COLUMNS
    pd.testing.assert_frame_equal(from_csv[["subject", "trial", "step", "metric"]],
                                  from_parquet[["subject", "trial", "step", "metric"]])  # fmt: skip
    assert np.allclose(from_csv.value, from_parquet.value, rtol=1e-12, equal_nan=True)
    peak = from_parquet.query("metric == 'peak_pressure'")
    assert (peak.units == "kPa").all() and peak.definition.str.len().min() > 10
    assert read_study(study["folder"] / "out")["table"].equals(from_parquet)


def test_maps_average_each_subjects_complete_steps(study):
    maps = study["result"]["maps"]
    table = study["result"]["table"]
    steps = table[table.complete & (table.metric == "t_on")].groupby(["subject", "condition", "side"]).size()
    for (subject, condition, side), n in steps.items():
        assert int(maps.n_steps.sel(subject=subject, condition=condition, side=side)) == n
    mean = maps.mean_peak_pressure_map.sel(condition="barefoot", side="right")
    # The heel centre is the origin of the foot frame: the heel's peak lies within a sensel of it.
    heel = mean.mean("subject").where(mean.along_mm < 60)
    at = heel.argmax(...)
    assert abs(float(maps.along_mm[int(at["along_mm"])])) <= 5.0
    assert abs(float(maps.across_mm[int(at["across_mm"])])) <= 5.0


def test_group_compare_recovers_the_offload_the_walker_was_given(study):
    table, truth = study["result"]["table"], study["truth"].assign(complete=True, units="N s")
    kwargs = dict(baseline="barefoot", metrics="force_time_integral", regions=["heel", "arch", "mth1", "hallux"])
    measured = plantar.group_compare(table, **kwargs).set_index(["side", "region"])
    true = plantar.group_compare(truth, **kwargs).set_index(["side", "region"])
    for side in ("left", "right"):
        got, want = measured.loc[(side, "mth1")], true.loc[(side, "mth1")]
        # The true mean paired difference (half the load off mth1) lies in the measured 95 % interval,
        # and the measured one within 15 % of it.
        assert got["ci_low"] <= want["diff"] <= got["ci_high"]
        assert got["diff"] == pytest.approx(want["diff"], rel=0.15)
        assert got["significant"] and got["diff"] < 0
        # Nothing else was changed under the foot: no other region is significant after Holm's correction.
        for region in ("heel", "arch", "hallux"):
            assert not measured.loc[(side, region), "significant"], (side, region)


@pytest.mark.parametrize("method", ["max", "cluster"])
def test_pixel_compare_finds_the_offload_there_and_only_there(study, method):
    """The offload is under the first metatarsal head: in the foot frame at along = (0.715 - 0.135) L from the
    heel centre, across = 0.10 L medial (synthetic model's template), within its semi-axes 0.06 L x 0.058 L."""
    template = {s[0]: s[1:] for s in synth._STRUCTURES}
    u, v, a, b = template["mth1"][:4]
    u_heel = template["heel"][0]
    maps = study["result"]["maps"]
    for side, medial in (("left", 1.0), ("right", -1.0)):
        result = plantar.pixel_compare(maps, condition="insole", baseline="barefoot", side=side, method=method)
        # Every subject with complete steps of the side in both conditions; all their sign flips.
        n = int(((maps.n_steps.sel(side=side) > 0).sum("condition") == 2).sum())
        assert result.attrs["n_subjects"] == n >= N_SUBJECTS - 1
        assert result.attrs["exact"] == 1 and result.attrs["n_permutations"] == 2**n
        hits = np.argwhere(result.significant.values)
        assert len(hits) >= 4, (side, method)
        along = result.along_mm.values[hits[:, 0]]
        across = result.across_mm.values[hits[:, 1]]
        # Within the head's outline grown by the foot lengths' spread (15 mm) and two sensels (10 mm).
        grow = 15.0 + 10.0
        inside = (((along - (u - u_heel) * FOOT_LENGTH_MM) / (a * FOOT_LENGTH_MM + grow)) ** 2
                  + ((across - medial * v * FOOT_LENGTH_MM) / (b * FOOT_LENGTH_MM + grow)) ** 2) <= 1.0  # fmt: skip
        assert inside.all(), (side, method, list(zip(along[~inside], across[~inside])))
        assert (result.t.values[result.significant.values] < 0).all()  # less load, never more
        assert (result.mean_diff.values[result.significant.values] < 0).all()


def test_a_broken_file_is_a_status_row_and_the_batch_goes_on(study, client, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(study["folder"] / "data", data, ignore=shutil.ignore_patterns("s0[3-8]_*"))
    good = sorted(data.glob("*.nc"))
    (data / "s09_barefoot_1.nc").write_bytes(good[0].read_bytes()[:5000])  # truncated
    (data / "s09_insole_1.nc").write_text("not a trial\n")
    (data / "readme.txt").write_text("notes\n")
    result = plantar.batch(data, tmp_path / "out", pattern="{subject}_{condition}_{trial}.nc", scheduler=client)
    status = result["status"].set_index("file")
    assert (status.loc[[str(p) for p in good], "status"] == "ok").all()
    for name in ("s09_barefoot_1.nc", "s09_insole_1.nc"):
        row = status.loc[str(data / name)]
        assert row["status"] == "error" and name in row["reason"] and "\n" not in row["reason"]
    assert status.loc[str(data / "readme.txt"), "status"] == "skipped"
    assert set(result["table"].subject) == {"s01", "s02"}


def test_a_rerun_skips_the_files_done_and_redoes_a_changed_one(study, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(study["folder"] / "data", data, ignore=shutil.ignore_patterns("s0[2-8]_*"))
    pattern = "{subject}_{condition}_{trial}.nc"
    first = plantar.batch(data, tmp_path / "out", pattern=pattern, scheduler="serial")
    again = plantar.batch(data, tmp_path / "out", pattern=pattern, scheduler="serial")
    assert (again["status"].status == "skipped").all()
    assert (again["status"].reason == "done before (same content and options)").all()
    pd.testing.assert_frame_equal(first["table"], again["table"])
    # A changed file (same name, other content) is analysed again; the other is still skipped.
    trial, _ = synth.walk(seed=99, passes=1, mat_length_mm=1500.0)
    plantar.save(trial, data / "s01_insole_1.nc", overwrite=True)
    changed = plantar.batch(data, tmp_path / "out", pattern=pattern, scheduler="serial").get("status")
    assert changed.set_index("condition").status.to_dict() == {"barefoot": "skipped", "insole": "ok"}
    # Other options: every file again.
    other = plantar.batch(data, tmp_path / "out", pattern=pattern, scheduler="serial", threshold_kpa=20.0)
    assert (other["status"].status == "ok").all()


def test_the_cluster_the_loop_and_the_cache_give_the_same_maps(study, client, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(study["folder"] / "data", data, ignore=shutil.ignore_patterns("s0[3-8]_*"))
    pattern = "{subject}_{condition}_{trial}.nc"
    first = plantar.batch(data, tmp_path / "out", pattern=pattern, scheduler=client)
    serial = plantar.batch(data, tmp_path / "serial", pattern=pattern, scheduler="serial")
    assert (first["status"].status == "ok").all() and len(first["status"]) == 4
    xr.testing.assert_identical(first["maps"], serial["maps"])
    pd.testing.assert_frame_equal(first["table"], serial["table"])
    # Each file's map sums are the aligned maps of its complete steps: the mean map over a subject's steps.
    assert int(first["maps"].n_steps.sum()) == int(first["table"].query("complete").groupby(
        ["subject", "condition", "trial", "side"]).step.nunique().sum())  # fmt: skip
    # Read back from the cache on a re-run: the same table and maps, number for number.
    again = plantar.batch(data, tmp_path / "out", pattern=pattern, scheduler=client)
    assert (again["status"].status == "skipped").all()
    xr.testing.assert_identical(again["maps"], first["maps"])
    pd.testing.assert_frame_equal(again["table"], first["table"])
    # An entry without its JSON (a write cut short) is not complete: that file alone is analysed again.
    entry = first["status"].set_index("file").loc[str(data / "s02_insole_1.nc"), "cache"]
    (tmp_path / "out" / f"{entry}.json").unlink()
    redone = plantar.batch(data, tmp_path / "out", pattern=pattern, scheduler=client)["status"]
    assert redone.set_index("file").status.to_dict() == {
        str(data / name): ("ok" if name == "s02_insole_1.nc" else "skipped")
        for name in ("s01_barefoot_1.nc", "s01_insole_1.nc", "s02_barefoot_1.nc", "s02_insole_1.nc")}  # fmt: skip


def test_an_output_folder_with_other_files_is_refused(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "thesis.docx").write_text("")
    with pytest.raises(FileExistsError, match="not written by plantar batch"):
        plantar.batch(tmp_path, tmp_path / "out", pattern="{subject}_{condition}.nc", scheduler="serial")


@pytest.mark.parametrize("text, message", [
    ("file,subject\na.nc,s1\n", "no column 'condition'"),
    ("file,subject,condition\na.nc,s1,\n", "line 2: condition is empty"),
    ("file,subject,condition,side\na.nc,s1,shod,both\n", "line 2: side must be left, right or empty"),
    ("file,subject,condition\na.nc,s1,shod\na.nc,s1,barefoot\n", "line 3: file .* is listed twice"),
    ("file,subject,condition,trial\na.nc,s1,shod,1\nb.nc,s1,shod,1\n", "line 3: subject 's1'.* earlier file"),
    ("file,subject,condition,body_mass_kg\na.nc,s1,shod,heavy\n", "line 2: body_mass_kg must be a number"),
])  # fmt: skip
def test_a_wrong_manifest_is_refused_naming_its_line(tmp_path, text, message):
    (tmp_path / "m.csv").write_text(text)
    with pytest.raises(ValueError, match=message):
        read_manifest(tmp_path / "m.csv")


REAL_FILES = [  # file, subject, condition, side: what the folder's README states
    ("tekscan-fscan/FrasP01L.asf", "P01", "walk", "left"),
    ("tekscan-fscan/FrasP01R.asf", "P01", "walk", "right"),
    ("novel-emed/emed_test.lst", "emed", "barefoot", ""),
    ("rsscan-footscan/footscan_test.xls", "footscan", "barefoot", ""),
    ("xsensor/xsensor_data.csv", "xsensor", "walk", ""),
    ("novel-pliance/pliance_test.asc", "pliance", "standing", ""),
    ("mun104-template/MUN104.csv.zip", "mun104", "template", ""),  # not a recording: an error row
]


def test_the_real_recordings_on_the_cluster(client, tmp_path):
    if not REAL.is_dir():
        pytest.skip(f"real recordings not available (looked in {REAL})")
    manifest = pd.DataFrame([{"file": str(REAL / f), "subject": s, "condition": c, "side": side}
                             for f, s, c, side in REAL_FILES])  # fmt: skip
    result = plantar.batch(REAL, tmp_path / "out", manifest=manifest, scheduler=client)
    status = result["status"].set_index("subject")
    assert (status.drop(index="mun104").status == "ok").all()
    assert status.loc["mun104", "status"] == "error" and "MUN104.csv.zip" in status.loc["mun104", "reason"]
    table = result["table"]
    fscan = table[(table.subject == "P01") & (table.metric == "t_on")]
    # About six steps per insole (README), each of the side the manifest gives.
    assert fscan.groupby("side").size().between(5, 7).all() and set(fscan.side) == {"left", "right"}
    # One step each on the emed and footscan plates; the footscan step is the right foot the file states.
    assert table[(table.subject == "emed") & (table.metric == "t_on")].step.nunique() == 1
    assert set(table[(table.subject == "footscan") & (table.metric == "t_on")].side) == {"right"}
    # Peak pressures as plantar.analyze gives them file by file.
    one = plantar.analyze(plantar.read(REAL / REAL_FILES[2][0]))
    got = table.query("subject == 'emed' and metric == 'peak_pressure' and region == 'heel'").value.iloc[0]
    assert got == pytest.approx(float(one.peak_pressure.sel(region="heel")[0]), rel=1e-12)
