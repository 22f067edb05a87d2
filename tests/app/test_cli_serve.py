"""'plantar clinic serve': its help, what it refuses, and a demo served and stopped with Ctrl-C."""

import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from plantar.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_serve_has_help_with_an_example(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["clinic", "serve", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "plantar clinic serve --demo" in out.split("example:")[1]


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::"])
def test_the_demo_has_no_password_so_another_address_is_refused(host, capsys):
    assert main(["clinic", "serve", "--demo", "--host", host, "--no-browser"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "127.0.0.1 only" in err and "no password" in err


def test_serve_needs_a_folder_outside_the_demo(capsys, monkeypatch):
    monkeypatch.delenv("PLANTAR_CLINIC", raising=False)
    assert main(["clinic", "serve", "--no-browser"]) == 1
    assert "--demo" in capsys.readouterr().err


def test_the_demo_is_served_on_127_0_0_1_and_stops_on_ctrl_c():
    pytest.importorskip("dash")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "plantar", "clinic", "serve", "--demo", "--port", "0", "--no-browser"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=ROOT)
    try:
        line = proc.stdout.readline()
        url = re.search(r"is at (http://127\.0\.0\.1:\d+/)", line).group(1)
        page = urllib.request.urlopen(url, timeout=30).read().decode()
        assert "<title>plantar clinic</title>" in page
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
