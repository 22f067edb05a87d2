"""The README's calibration commands, as written, against ``plantar simulate``: twice in a row.

``plantar simulate`` runs as its own process (the user's second terminal); each
``plantar calibrate`` step's prompt is answered by typing the scenario it asks
for into the simulator, then Enter. The calibrated kPa of the person standing
are checked against the virtual mat's truth.
"""

import os
import queue
import shlex
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from conftest import run_prompted

import plantar
from plantar.drivers.sim import VirtualMat
from plantar.drivers.sim.bench import scenario_pressure_kpa

README = Path(__file__).parents[2] / "README.md"
BODY_MASS_KG = 70.0
#: What to type into the simulator at each prompt of plantar calibrate.
ANSWERS = (
    ("Clear the mat", "empty"),
    ("Put a uniform pressure of 200 kPa", "uniform 200"),
    ("Step on the mat with your left foot only", "standing left"),
    ("Step on the mat with your right foot only", "standing right"),
    ("Step on the mat with both feet", "standing both"),
)


def readme_commands():
    """The plantar commands of the README's calibration section, in order."""
    text = README.read_text()
    section = text[text.index("## Calibration: counts to kPa") :]
    block = section[section.index("```\n") + 4 :]
    block = block[: block.index("```")]
    return [shlex.split(line) for line in block.splitlines() if line.startswith("plantar ")]


def lines_of(stream):
    """A queue that receives the lines of a text stream, read by a thread."""
    out = queue.Queue()

    def pump():
        for line in stream:
            out.put(line)
        out.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return out


def next_line(lines, what, timeout_s=60):
    try:
        line = lines.get(timeout=timeout_s)
    except queue.Empty:
        raise AssertionError(f"no line from {what} within {timeout_s} s") from None
    assert line is not None, f"{what} ended"
    return line


class Simulator:
    """``plantar simulate --scenario empty`` in its own process; ``type`` changes what is on the mat."""

    def __init__(self):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "plantar", "simulate", "--scenario", "empty", "--body-mass-kg", str(BODY_MASS_KG)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.stderr = lines_of(self.proc.stderr)
        self.port = next_line(lines_of(self.proc.stdout), "plantar simulate's stdout").strip()
        self._wait_for("virtual mat: nothing (empty)")  # what it starts with
        self._wait_for("Ctrl-C stops the mat.")  # the last line of its greeting: nothing left unread

    def _wait_for(self, text):
        while True:
            line = next_line(self.stderr, "plantar simulate's stderr")
            assert "not understood" not in line, line
            if line.startswith(text):
                return line

    def type(self, command):
        """Type a line; wait until the simulator says the mat has it."""
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        self._wait_for("virtual mat: ")
        return command

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def run_step(args, simulator, cwd):
    """Run one README command; answer its prompts by typing into the simulator. Returns (stdout, prompts)."""
    typed = []

    def answer(prompt):
        answer = [command for start, command in ANSWERS if prompt.startswith(start)]
        assert len(answer) == 1, f"unexpected prompt: {prompt}"
        typed.append(simulator.type(answer[0]))

    returncode, stdout, stderr, _ = run_prompted(args, answer, timeout_s=180, cwd=cwd)
    assert returncode == 0, (args, stderr)
    return stdout, typed


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs ptys (Linux, macOS)")
def test_the_readme_calibration_commands_twice_against_plantar_simulate(tmp_path):
    commands = readme_commands()
    assert [c[:3] for c in commands] == [["plantar", "calibrate", "tare"], ["plantar", "calibrate", "equilibrate"],
                                         ["plantar", "calibrate", "fit"], ["plantar", "record", "--port"]]  # fmt: skip
    # The truth: what plantar simulate's default mat (64 x 64, 8 mm, seed 0) carries for each answer.
    truth_mat = VirtualMat(shape=(64, 64), pitch_mm=8.0, frames_kpa=np.zeros((64, 64)), link="tcp")
    standing = scenario_pressure_kpa(truth_mat, "standing", body_mass_kg=BODY_MASS_KG, stance="both")
    weight_n = BODY_MASS_KG * 9.80665
    cell_m2 = 8e-3 * 8e-3
    simulator = Simulator()
    try:
        for run in range(2):  # the second run replaces the first's files (--overwrite)
            typed = []
            for command in commands:
                args = [simulator.port if word == "PORT" else word for word in command[1:]]
                if args[0] == "record":
                    typed.append(simulator.type("standing both"))
                stdout, prompts = run_step(args, simulator, tmp_path)
                typed += prompts
                if args[:2] == ["calibrate", "fit"]:
                    assert "curve: " in stdout
            assert typed[:5] == ["empty", "uniform 200", "standing left", "standing right", "standing both"], typed
            out = plantar.read(tmp_path / "standing.nc")
            cal = plantar.calibration.load(tmp_path / "mat.pmcal.nc")
            assert out.attrs["calibration_id"] == cal.attrs["calibration_id"]
            assert sorted(p.name for p in tmp_path.iterdir()) == [
                "mat-eq.pmcal.nc", "mat-tare.pmcal.nc", "mat.pmcal.nc", "standing.counts.nc", "standing.nc"]
            p = out.pressure.values
            assert p.shape[0] >= 200  # 5 s at 100 Hz, less any lost frames
            loaded = standing > 20.0
            rms = np.sqrt(np.mean(((p[:, loaded] - standing[loaded]) / standing[loaded]) ** 2))
            assert rms < 0.10, rms  # measured: 0.4 %
            force_n = np.nansum(p, axis=(1, 2)) * 1000 * cell_m2
            assert np.median(force_n) == pytest.approx(weight_n, rel=0.03)  # measured: 0.01 %
    finally:
        simulator.close()
