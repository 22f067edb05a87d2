"""A virtual mat with a known sensor, and the raw recordings a calibration session makes on it."""

import subprocess
import sys
import threading

import numpy as np
import pytest

import plantar
from plantar.drivers.sim import SensorModel

PITCH_MM = 10.0
RATE_HZ = 100.0
BODY_MASS_KG = 70.0
BODY_WEIGHT_N = BODY_MASS_KG * 9.80665
CELL_AREA_M2 = (PITCH_MM * 1e-3) ** 2
DEVICE = "plantar virtual mat (serial VM-0001)"
MAT = {"mat_length_mm": 1200.0, "mat_width_mm": 400.0, "pitch_mm": PITCH_MM, "rate_hz": RATE_HZ}


class Session:
    """Records raw frames of a known sensor under known pressure fields."""

    def __init__(self, curve="power", *, seed=0, shape=(120, 40), dead=3, hot=2, device=DEVICE, **sensor):
        self.sensor = SensorModel(seed=seed, curve=curve, shape=shape, dead_sensels=dead, hot_sensels=hot, **sensor)
        self.rng = np.random.default_rng(seed + 100)
        self.device = device

    def raw(self, pressure_kpa, n_frames=None):
        """Raw recording of a pressure field (y, x), held for n_frames, or of frames (time, y, x)."""
        p = np.asarray(pressure_kpa, dtype=float)
        if n_frames is not None:
            p = np.broadcast_to(p, (n_frames, *p.shape))
        counts = self.sensor.counts(p, self.rng)
        return plantar.make_counts(counts, pitch_mm=PITCH_MM, rate_hz=RATE_HZ, device=self.device, adc_bits=12)

    def rest(self, n_frames=200):
        return self.raw(np.zeros(self.sensor.shape), n_frames)

    def uniform(self, kpa, n_frames=30):
        return self.raw(np.full(self.sensor.shape, kpa), n_frames)


def make_walk():
    """A synthetic walk (true kPa) over the mat: two passes."""
    return plantar.synth.walk(seed=1, body_mass_kg=BODY_MASS_KG, passes=2, turn_s=0.3, **MAT)


def make_stances(trial, truth):
    """True pressure of standing on one foot and on two feet, each totalling body weight."""
    p = trial.pressure.values.astype(float)
    force = p.sum(axis=(1, 2)) * 1000 * CELL_AREA_M2
    feet = []
    for step in range(2):  # mid-stance of the first left and right steps, alone on the mat
        t_on, t_off = float(truth.t_on[step]), float(truth.t_off[step])
        mid = np.searchsorted(trial.time.values, t_on + 0.5 * (t_off - t_on))
        feet.append(p[mid] / force[mid])
    one_foot = feet[0] * BODY_WEIGHT_N
    two_feet = (feet[0] + feet[1]) * BODY_WEIGHT_N / 2
    return one_foot, two_feet


def pressure_force_n(p):
    return np.nansum(p, axis=(-2, -1)) * 1000 * CELL_AREA_M2


@pytest.fixture(scope="session")
def walk():
    return make_walk()


@pytest.fixture(scope="session")
def stances(walk):
    return make_stances(*walk)


def run_prompted(args, on_prompt, *, timeout_s=180, cwd=None):
    """Run ``plantar *args`` as a user would; at each "Press Enter when ready" call ``on_prompt``, then press Enter.

    ``on_prompt(prompt)`` gets the line before the "Press Enter" line (what to
    put on the mat) and sets the mat up for it. The process is killed after
    ``timeout_s``. Returns ``(returncode, stdout, stderr, prompts)``.
    """
    proc = subprocess.Popen([sys.executable, "-m", "plantar", *map(str, args)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd)  # fmt: skip
    watchdog = threading.Timer(timeout_s, proc.kill)
    watchdog.start()
    prompts, stderr, previous = [], [], ""
    try:
        for line in proc.stderr:
            stderr.append(line)
            if line.startswith("Press Enter when ready"):
                on_prompt(previous)
                prompts.append(previous.strip())
                proc.stdin.write("\n")
                proc.stdin.flush()
            previous = line
        stdout = proc.stdout.read()
        proc.wait()
    finally:
        watchdog.cancel()
    return proc.returncode, stdout, "".join(stderr), prompts
