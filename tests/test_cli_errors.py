"""Every error of the plantar command is one line, ``plantar: error: ...``, without a traceback."""

import subprocess
import sys

import pytest

from plantar.cli import main


def one_error_line(text):
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    assert lines[0].startswith("plantar: error: "), text
    assert "Traceback" not in text and "usage:" not in text
    return lines[0]


# every subcommand with a wrong command line: argparse's errors, exit status 2
BAD_COMMAND_LINES = [
    ([], "required: COMMAND"),
    (["nope"], "invalid choice: 'nope'"),
    (["--no-such-option", "info", "x.nc"], "unrecognized arguments"),
    (["demo", "--passes", "0"], "--passes: must be a positive integer, got '0'"),
    (["demo", "--passes", "x"], "--passes: must be a positive integer, got 'x'"),
    (["demo", "--seconds", "-1"], "--seconds: must be a positive number"),
    (["demo", "--source", "camera"], "--source: invalid choice"),
    (["report"], "required: TRIAL"),
    (["report", "a.nc", "--target-kpa", "lots"], "--target-kpa: must be a positive number, got 'lots'"),
    (["convert", "a.csv"], "required: -o/--output"),
    (["convert", "a.csv", "-o", "b.nc", "--format", "word"], "--format: invalid choice"),
    (["analyze"], "required: input"),
    (["analyze", "a.nc", "--threshold-kpa", "abc"], "--threshold-kpa: invalid float value: 'abc'"),
    (["info"], "required: input"),
    (["info", "a.nc", "b.nc"], "unrecognized arguments: b.nc"),
    (["devices", "--all"], "unrecognized arguments: --all"),
    (["simulate", "--shape", "3"], "--shape: must be ROWSxCOLS"),
    (["simulate", "--rate-hz", "fast"], "--rate-hz: invalid float value"),
    (["simulate", "--link", "usb"], "--link: invalid choice"),
    (["record", "--port", "x"], "required: -o/--output"),
    (["record", "-o", "w.nc"], "required: --port"),
    (["record", "--port", "x", "-o", "w.nc", "--seconds", "ten"], "--seconds: invalid float value"),
    (["calibrate"], "required: STEP"),
    (["calibrate", "weigh"], "invalid choice: 'weigh'"),
    (["calibrate", "tare"], "required: -o/--output"),
    (["calibrate", "equilibrate", "-o", "m.pmcal.nc"], "required: -c/--calibration"),
    (["calibrate", "fit", "-c", "a", "-o", "b", "--model", "cubic"], "--model: invalid choice"),
    (["calibrate", "apply", "w.nc", "-c", "m.pmcal.nc"], "required: -o/--output"),
    (["calibrate", "apply", "w.nc", "-c", "m", "-o", "k.nc", "--dead", "zero"], "--dead: invalid choice"),
    (["calibrate", "show"], "required: input"),
]


@pytest.mark.parametrize(("argv", "phrase"), BAD_COMMAND_LINES, ids=[" ".join(a) or "nothing" for a, _ in BAD_COMMAND_LINES])
def test_a_wrong_command_line_is_one_line_with_status_2(capsys, argv, phrase):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    line = one_error_line(err)
    assert phrase in line, line
    assert line.endswith("--help'"), line  # says where the usage is


def test_every_subcommand_is_covered():
    commands = {argv[0] for argv, _ in BAD_COMMAND_LINES if argv and not argv[0].startswith("-")}
    steps = {argv[1] for argv, _ in BAD_COMMAND_LINES if len(argv) > 1 and argv[0] == "calibrate"}
    assert {"demo", "report", "convert", "analyze", "info", "devices", "simulate", "record", "calibrate"} <= commands
    assert {"tare", "equilibrate", "fit", "apply", "show"} <= steps


def _files(tmp_path):
    (tmp_path / "empty.asf").write_bytes(b"")
    (tmp_path / "unknown.csv").write_text("name,weight\nA,1\n")
    (tmp_path / "not-a-cal.pmcal.nc").write_text("hello\n")
    (tmp_path / "cut.lst").write_bytes(b"\n\t\t\t\tPage 1\n\n\tFile: a.dat \tMatrix: 64x95 \n")
    return tmp_path


# errors met while running a subcommand: exit status 1
def _bad_runs(d):
    return [
        (["info", d / "missing.nc"], "no such file"),
        (["info", d / "empty.asf"], "empty.asf': the file is empty"),
        (["convert", d / "unknown.csv", "-o", d / "u.nc"], "not a format plantar knows (known: netcdf (.nc), tekscan"),
        (["convert", d / "cut.lst", "-o", d / "c.nc"], "cut.lst': line"),
        (["analyze", d / "unknown.csv"], "not a format plantar knows"),
        (["report", d / "missing.nc", "-o", d / "r.html"], "missing.nc"),
        (["simulate", "--protocol", "smoke-signals", "--seconds", "0.1"], "protocol"),
        (["record", "--port", str(d / "no-such-port"), "-o", d / "w.nc", "--timeout-s", "0.5"], "no-such-port"),
        (["calibrate", "show", d / "not-a-cal.pmcal.nc"], ""),
        (["calibrate", "apply", d / "missing.nc", "-c", d / "not-a-cal.pmcal.nc", "-o", d / "k.nc"], ""),
        (["calibrate", "tare", "--from", d / "empty.asf", "-o", d / "m.pmcal.nc"], "empty"),
    ]


@pytest.mark.parametrize("case", range(11))
def test_an_error_while_running_is_one_line_with_status_1(tmp_path, capsys, case):
    argv, phrase = _bad_runs(_files(tmp_path))[case]
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert status == 1, (out, err)
    errors = [line for line in err.splitlines() if line.startswith("plantar: error: ")]
    assert len(errors) == 1, err
    assert "Traceback" not in err
    assert phrase in errors[0], errors[0]


def test_the_process_shows_no_traceback_without_debug(tmp_path):
    d = _files(tmp_path)
    run = [sys.executable, "-m", "plantar", "-q", "convert", str(d / "cut.lst"), "-o", str(d / "c.nc")]
    result = subprocess.run(run, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and result.stdout == ""
    one_error_line(result.stderr)
    debug = subprocess.run(run[:3] + ["--debug"] + run[3:], capture_output=True, text=True, timeout=120)
    assert debug.returncode == 1 and "Traceback" in debug.stderr and "FileFormatError" in debug.stderr
    bad = subprocess.run([sys.executable, "-m", "plantar", "info"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    one_error_line(bad.stderr)
