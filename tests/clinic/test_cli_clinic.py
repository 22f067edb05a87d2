"""The 'plantar clinic' commands: a whole session, --help with an example everywhere, one-line errors."""

import pytest

import plantar
from plantar.cli import main

COMMANDS = [["clinic"], ["clinic", "init"], ["clinic", "patient"], ["clinic", "patient", "add"],
            ["clinic", "patient", "list"], ["clinic", "patient", "show"], ["clinic", "patient", "export"],
            ["clinic", "visit"], ["clinic", "visit", "add"], ["clinic", "trial"], ["clinic", "trial", "add"],
            ["clinic", "trial", "import"], ["clinic", "followup"], ["clinic", "check"], ["clinic", "backup"],
            ["clinic", "restore"]]  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_clinic_command_has_help_with_an_example(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "example:" in out and "plantar clinic" in out.split("example:")[1]


def test_a_whole_session(tmp_path, capsys, walk):
    plantar.save(walk[0].isel(time=slice(0, 50)), tmp_path / "walk.nc")
    c = str(tmp_path / "clinic")

    def run(*args):
        status = main(list(args))
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    assert run("clinic", "init", c)[0] == 0
    assert run("clinic", "patient", "add", "P012", "--name", "Jane Example", "--birth-year", "1961", "-C", c)[0] == 0
    status, out, _ = run("clinic", "visit", "add", "P012", "--date", "2024-03-01", "--complaint", "heel pain", "-C", c)
    assert status == 0 and "added visit 1 of patient P012" in out
    status, out, _ = run("clinic", "trial", "add", str(tmp_path / "walk.nc"), "--visit", "1", "--kind", "orthotic",
                         "--label", "orthotic A", "-C", c)  # fmt: skip
    assert status == 0 and "added orthotic trial" in out and "50 frames at 100 Hz" in out
    status, out, _ = run("clinic", "patient", "list", "-C", c)
    assert status == 0 and out.splitlines()[1].split()[:6] == ["P012", "Jane", "Example", "1961", "-", "1"]
    status, out, _ = run("clinic", "patient", "show", "P012", "-C", c)
    assert status == 0 and "orthotic A" in out and "visit 1  2024-03-01" in out
    status, out, _ = run("clinic", "check", "-C", c)
    assert status == 0 and "1 files match their sha256" in out
    status, out, _ = run("clinic", "backup", "-o", str(tmp_path / "b.tar"), "-C", c)
    assert status == 0 and "0 mats, 1 patients, 0 settings, 1 visits, 0 reports, 1 trials; 1 files" in out
    status, out, _ = run("clinic", "restore", str(tmp_path / "b.tar"), str(tmp_path / "again"))
    assert status == 0 and "1 patients, 1 files match their sha256" in out
    status, out, _ = run("clinic", "patient", "export", "P012", "-o", str(tmp_path / "export"), "-C", c)
    assert status == 0 and (tmp_path / "export" / "trials.csv").is_file()
    next((tmp_path / "clinic" / "trials").rglob("*.nc")).unlink()
    status, out, _ = run("clinic", "check", "-C", c)
    assert status == 1 and "missing: trials/P012/v1/orthotic-" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["clinic", "patient", "list", "-C", "{tmp}/nowhere"], "clinic '{tmp}/nowhere' does not exist"),
        (["clinic", "patient", "show", "P404", "-C", "{tmp}/c"], "clinic '{tmp}/c': there is no patient 'P404'"),
        (["clinic", "patient", "add", "P1", "-C", "{tmp}/c"], "clinic '{tmp}/c': patient 'P1' exists already"),
        (["clinic", "visit", "add", "P1", "--date", "1/3/24", "-C", "{tmp}/c"], "clinic '{tmp}/c', patient 'P1': date must be YYYY-MM-DD"),
        (["clinic", "trial", "add", "{tmp}/none.nc", "--visit", "1", "--kind", "shod", "-C", "{tmp}/c"],
         "no such file: '{tmp}/none.nc'"),
        (["clinic", "trial", "add", "{tmp}/c/clinic.json", "--visit", "1", "--kind", "shod", "-C", "{tmp}/c"],
         "cannot read '{tmp}/c/clinic.json'"),
        (["clinic", "init", "{tmp}/c"], "cannot create clinic '{tmp}/c': it exists and is not an empty folder"),
        (["clinic", "restore", "{tmp}/c/clinic.json", "{tmp}/r"], "'{tmp}/c/clinic.json' is not a clinic backup"),
        (["clinic", "patient", "list"], "give the clinic folder with -C DIR (or set PLANTAR_CLINIC)"),
    ],
)
def test_every_clinic_error_is_one_line(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.delenv("PLANTAR_CLINIC", raising=False)
    assert main(["clinic", "init", str(tmp_path / "c")]) == 0
    assert main(["clinic", "patient", "add", "P1", "-C", str(tmp_path / "c")]) == 0
    capsys.readouterr()
    status = main([a.format(tmp=tmp_path) for a in args])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 1
    assert err[-1].startswith(f"plantar: error: {message.format(tmp=tmp_path)}")
    assert sum(line.startswith("plantar: error:") for line in err) == 1
