"""The bench calibration procedure, run on a virtual mat's known sensor model, and what a
calibration session puts on the mat (its scenarios)."""

import numbers

import numpy as np

from ... import calibration
from ..._schema import STANDARD_GRAVITY_M_S2, make_counts
from ...synth import stand, walk


def bench_calibration(mat, *, body_mass_kg=70.0, seed=1):
    """Calibrate a virtual mat by the bench procedure of ``calibration/README.md``.

    The calibration recordings go through the mat's own sensor model (with its
    noise, gains, dead and hot sensels), not over the wire: 200 frames of the
    empty mat (tare), 40 frames of a uniform 200 kPa (equilibration), and 40
    frames each of a subject of ``body_mass_kg`` standing on the left foot, the
    right foot and both feet (load-curve fit; the footprints are mid-stance
    frames of a synthetic walk scaled to body weight). The result applies to
    what the mat sends when it is started.

    Parameters
    ----------
    mat : plantar.drivers.sim.VirtualMat
        The mat (it need not be started).
    body_mass_kg : float
        Body mass of the standing subject in kg.
    seed : int
        Seed of the calibration recordings' read noise.

    Returns
    -------
    cal : xarray.Dataset
        The calibration, for this mat's device, shape and pitch.

    Examples
    --------
    >>> from plantar.drivers.sim import VirtualMat, bench_calibration
    >>> mat = VirtualMat(shape=(100, 48), walk_s=2.0)
    >>> cal = bench_calibration(mat)
    >>> cal.attrs["device"]
    'plantar virtual mat (serial VM-0001)'
    """
    sensor, (rows, cols) = mat.sensor, mat.shape
    pitch = mat.info["pitch_mm"]
    device = f"{mat.info['vendor']} {mat.info['model']} (serial {mat.info['serial']})"
    rng = np.random.default_rng(seed)

    def record(pressure_kpa):
        counts = sensor.counts(np.asarray(pressure_kpa, float), rng)
        return make_counts(counts, pitch_mm=tuple(pitch), rate_hz=100.0, device=device,
                           adc_bits=mat.info["adc_bits"])  # fmt: skip

    feet = standing_pressure_kpa(mat, body_mass_kg=body_mass_kg, seed=seed + 1)
    weight_n = body_mass_kg * STANDARD_GRAVITY_M_S2
    cal = calibration.tare(record(np.zeros((200, rows, cols))))
    cal = calibration.equilibrate(record(np.full((40, rows, cols), 200.0)), cal, pressure_kpa=200.0)
    loads = [(record(np.repeat(feet[k][None], 40, axis=0)), weight_n) for k in ("left", "right", "both")]
    return calibration.fit(cal, loads)


def standing_pressure_kpa(mat, *, body_mass_kg=70.0, seed=2):
    """Pressure of a subject standing on a virtual mat: on the left foot, the right foot, both.

    Each footprint is the mid-stance frame of a complete step of a synthetic
    walk on the mat's grid, scaled so that it carries the whole body weight;
    ``"both"`` is the mean of the two.

    Parameters
    ----------
    mat : plantar.drivers.sim.VirtualMat
        The mat (its shape and pitch).
    body_mass_kg : float
        Body mass in kg.
    seed : int
        Seed of the synthetic walk.

    Returns
    -------
    feet : dict of str to numpy.ndarray
        ``{"left", "right", "both"}``: (rows, cols) pressure in kPa.

    Examples
    --------
    >>> from plantar.drivers.sim import VirtualMat
    >>> from plantar.drivers.sim.bench import standing_pressure_kpa
    >>> feet = standing_pressure_kpa(VirtualMat(shape=(100, 48), walk_s=2.0))
    >>> area_m2 = 8e-3 * 8e-3
    >>> round(float(feet["both"].sum()) * 1000 * area_m2 / 9.80665, 6)   # kg
    70.0
    """
    (rows, cols), pitch = mat.shape, mat.info["pitch_mm"]
    cell_area_m2 = pitch[0] * pitch[1] * 1e-6
    # a floor at least as long as the mat, so a footprint window of the mat's length always fits
    trial, truth = walk(seed=seed, body_mass_kg=body_mass_kg, passes=1, mat_length_mm=max(rows * pitch[1], 2400.0),
                        mat_width_mm=max(cols * pitch[0], 400.0), pitch_mm=tuple(pitch), rate_hz=100.0)  # fmt: skip
    weight_n = body_mass_kg * STANDARD_GRAVITY_M_S2
    feet = {}
    for side in ("left", "right"):
        step = int(np.flatnonzero((truth.side.values == side) & truth.complete.values)[0])
        mid = np.searchsorted(trial.time.values, float(truth.t_on[step] + truth.t_off[step]) / 2)
        p = np.nan_to_num(trial.pressure.values[mid].astype(float))[:, :cols]
        y0 = max(0, min(p.shape[0] - rows, int(np.argmax(p.sum(axis=1))) - rows // 2))
        p = p[y0 : y0 + rows]
        feet[side] = p / (p.sum() * 1000 * cell_area_m2) * weight_n
    feet["both"] = (feet["left"] + feet["right"]) / 2
    return feet


#: What can be on a virtual mat in a calibration session (see :func:`scenario_pressure_kpa`).
SCENARIOS = ("empty", "uniform", "standing", "walk")
#: The feet a standing subject can stand on.
STANCES = ("both", "left", "right")
#: A swaying subject's sway repeats after this many seconds (the frames the mat plays in a loop).
SWAY_LOOP_S = 20.0


def scenario_pressure_kpa(mat, scenario, *, pressure_kpa=200.0, body_mass_kg=70.0, stance="both", seed=2,
                          sway_ap_mm=0.0, sway_ml_mm=0.0):  # fmt: skip
    """The true pressure of a calibration scenario on a virtual mat, to play with ``set_pressure``.

    Parameters
    ----------
    mat : plantar.drivers.sim.VirtualMat
        The mat (its shape and pitch).
    scenario : {"empty", "uniform", "standing", "walk"}
        Nothing on the mat (tare); a uniform pressure over all of it (an air
        bladder: equilibration, or a known pressure load); a subject standing
        still (the load curve's known force: body weight); or the mat's
        synthetic walker (as :class:`VirtualMat` plays it by default: a walk
        of ``mat.walk_s`` s at the mat's rate, looped).
    pressure_kpa : float
        The uniform pressure in kPa (``"uniform"``).
    body_mass_kg : float
        The standing subject's body mass in kg (``"standing"``): the footprints
        carry ``body_mass_kg * 9.80665`` N in total.
    stance : {"both", "left", "right"}
        The feet the subject stands on (``"standing"``).
    seed : int
        Seed of the footprints (see :func:`standing_pressure_kpa`) or of the
        sway's phases.
    sway_ap_mm, sway_ml_mm : float
        RMS sway of the standing subject's centre of pressure along the mat
        (AP, y) and across it (ML, x), mm (``"standing"``). Both 0 (default):
        the subject stands still on the footprints of
        :func:`standing_pressure_kpa`, as a calibration asks. Otherwise the
        subject is the standing model of :func:`plantar.synth.stand` (feet side
        by side, or one foot), swaying as a sum of sines that repeats every
        :data:`SWAY_LOOP_S` s, so the mat can play it in a loop without a jump.
        On one foot only the AP sway is used (see :func:`plantar.synth.stand`).

    Returns
    -------
    pressure_kpa : numpy.ndarray of float, shape (rows, cols) or (n_frames, rows, cols)
        The pressure on each sensel in kPa (frames for ``"walk"`` and a
        swaying subject).

    Raises
    ------
    ValueError
        If the scenario or stance is unknown, or a pressure or mass is not positive.

    Examples
    --------
    >>> from plantar.drivers.sim import VirtualMat
    >>> from plantar.drivers.sim.bench import scenario_pressure_kpa
    >>> mat = VirtualMat(shape=(100, 48), walk_s=1.0, link="tcp")
    >>> float(scenario_pressure_kpa(mat, "uniform", pressure_kpa=150.0).max())
    150.0
    >>> p = scenario_pressure_kpa(mat, "standing", body_mass_kg=70.0, stance="left")
    >>> round(float(p.sum()) * 1000 * 8e-3 * 8e-3 / 9.80665, 6)   # kg on the mat
    70.0
    >>> swaying = scenario_pressure_kpa(mat, "standing", sway_ap_mm=4.0, sway_ml_mm=2.5)
    >>> swaying.shape   # 20 s at the mat's 100 Hz, played in a loop
    (2000, 100, 48)
    """
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario must be one of {SCENARIOS}, got {scenario!r}")
    if scenario == "empty":
        return np.zeros(mat.shape)
    if scenario == "walk":
        from .mat import _walk_frames

        return _walk_frames(mat.shape, mat.pitch_mm, mat.rate_hz, mat.seed, mat.walk_s, body_mass_kg=body_mass_kg)[0]
    if scenario == "uniform":
        if not (isinstance(pressure_kpa, numbers.Real) and np.isfinite(pressure_kpa) and pressure_kpa > 0):
            raise ValueError(f"pressure_kpa must be a positive number, got {pressure_kpa!r}")
        return np.full(mat.shape, float(pressure_kpa))
    if stance not in STANCES:
        raise ValueError(f"stance must be one of {STANCES}, got {stance!r}")
    if not (isinstance(body_mass_kg, numbers.Real) and np.isfinite(body_mass_kg) and body_mass_kg > 0):
        raise ValueError(f"body_mass_kg must be a positive number, got {body_mass_kg!r}")
    for name, value in (("sway_ap_mm", sway_ap_mm), ("sway_ml_mm", sway_ml_mm)):
        if not (isinstance(value, numbers.Real) and np.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a number >= 0, got {value!r}")
    if sway_ap_mm == 0 and sway_ml_mm == 0:
        return standing_pressure_kpa(mat, body_mass_kg=float(body_mass_kg), seed=seed)[stance]
    (rows, cols), (pitch_x, pitch_y) = mat.shape, mat.pitch_mm
    trial, _ = stand(seed=seed, duration_s=SWAY_LOOP_S, body_mass_kg=float(body_mass_kg), feet=stance,
                     sway_ap_mm=float(sway_ap_mm), sway_ml_mm=float(sway_ml_mm), periodic=True,
                     mat_length_mm=rows * pitch_y, mat_width_mm=cols * pitch_x, pitch_mm=(pitch_x, pitch_y),
                     rate_hz=mat.rate_hz)  # fmt: skip
    return trial.pressure.values
