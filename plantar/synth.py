"""Synthetic walks over a pressure mat, with their ground truth.

:func:`walk` simulates a person walking across a floor mat and returns the trial a
perfect mat would record, together with the truth every analysis can be checked
against. The model, in brief:

**Force.** Each foot contact carries a vertical force with the double hump of
walking: a loading peak at about 25 % of stance, a mid-stance trough and a push-off
peak, about 1.1-1.2 x body weight and 0.75 x body weight at a stance of 61 % of
the gait cycle. Step impulses obey vertical momentum balance: from one heel strike
to the next the body's vertical velocity repeats, so the force of both feet over
that interval integrates to body weight x its duration, and the mean vertical force
over any stride is body weight (Winter, *Biomechanics and Motor Control of Human
Movement*, 4th ed., 2009, ch. 5).

**Foot.** The plantar surface is twelve load-bearing structures (heel, lateral
midfoot, the five metatarsal heads, the hallux and the four lesser toes), each an
elliptical pressure dome ``(1 - r^2)^gamma`` placed on a foot template scaled to
the foot length. Each structure loads and unloads on its own schedule over stance
(heel strike, foot flat, heel off, push-off), so the centre of pressure rolls from
the heel along the lateral midfoot to the forefoot and leaves over the hallux.
With the default 70 kg walker at 1.2 m/s and 5 mm pitch, peak pressures come out
at about 400-500 kPa under the heel, 500-650 kPa under the metatarsal heads and
370-430 kPa under the toes, within the barefoot values measured on a capacitive
mat in 131 adults (heel 367-517 kPa and forefoot 635-737 kPa at 1.0-1.5 m/s;
Shorten et al. 1989, J Biomech 22:1083). Shod walking spreads the same load over
a larger, flatter footprint, so peaks fall by about half.

**Sensors.** Each sensel reads the mean pressure over its own area (the field is
averaged on a sub-millimetre grid, then scaled so that every structure's force is
kept exactly), and reads nothing where the foot is off the mat.

**Gait.** Steps alternate left and right along a line of progression with the
given step length, width, toe-out angle and cadence, with step-to-step variability
of the size measured on walkways (coefficients of variation of 2-3 % in step
length and time; Hollman et al. 2011, Gait Posture 34:111), over as many passes
(back and forth, with a turn off the mat) as asked. Each foot leaves the ground a
double-support time after the other lands.

The truth holds, per step: side, contact times, heel centre, foot axis, foot angle,
foot length and width, the force-time integral of every region of
:mod:`plantar.regions` integrated from the continuous field, and the centre of
pressure and force per frame.

:func:`insoles` puts the same foot model in a pair of in-shoe insoles and walks
for minutes to hours: a long recording, made in blocks of frames.
"""

import math
import numbers
import types

import numpy as np
import xarray as xr

from . import geometry, regions
from ._schema import STANDARD_GRAVITY_M_S2, _pitch_xy, _positive, make_sensor_trial, make_trial
from ._version import __version__

# Shape of the single-foot vertical force over normalised stance time tau in [0, 1]:
# two Gaussian humps at HUMP_TAU and 1 - HUMP_TAU, width HUMP_WIDTH, with the rise at
# heel strike and the fall at toe-off shaped by 1 - exp(-tau / EDGE_TAU). Fitted so
# that at a stance of 61 % of the cycle the peaks are 1.13 x body weight at 25 % of
# stance and the mid-stance trough 0.76 x body weight.
HUMP_TAU = 0.21
HUMP_WIDTH = 0.19
EDGE_TAU = 0.114

# The foot template. Per structure: centre along the axis (u, fraction of foot
# length from the heel end), centre across (v, fraction of foot length, + medial),
# semi-axes along / across (fractions of foot length), dome exponent gamma,
# relative load weight, and its loading schedule in normalised stance time:
# onset, peak, end. The axis runs through the heel centre and the second toe (v = 0).
_STRUCTURES = (
    # name      u      v       a      b     gamma weight onset  peak   end
    ("heel",    0.135,  0.000, 0.135, 0.118, 1.2, 2.00, 0.00, 0.15, 0.62),
    ("midfoot", 0.420, -0.110, 0.190, 0.055, 0.8, 0.22, 0.05, 0.40, 0.80),
    ("mth1",    0.715,  0.100, 0.060, 0.058, 0.7, 0.55, 0.15, 0.80, 0.98),
    ("mth2",    0.720,  0.015, 0.052, 0.045, 0.7, 0.75, 0.12, 0.75, 0.97),
    ("mth3",    0.700, -0.058, 0.050, 0.042, 0.7, 0.65, 0.12, 0.72, 0.96),
    ("mth4",    0.672, -0.120, 0.048, 0.040, 0.7, 0.45, 0.10, 0.68, 0.94),
    ("mth5",    0.640, -0.172, 0.048, 0.040, 0.7, 0.30, 0.08, 0.60, 0.92),
    ("hallux",  0.930,  0.095, 0.070, 0.055, 0.8, 0.65, 0.35, 0.88, 1.00),
    ("toe2",    0.905,  0.000, 0.038, 0.030, 0.8, 0.18, 0.35, 0.85, 0.99),
    ("toe3",    0.880, -0.055, 0.034, 0.028, 0.8, 0.14, 0.35, 0.84, 0.985),
    ("toe4",    0.850, -0.100, 0.032, 0.026, 0.8, 0.10, 0.35, 0.83, 0.98),
    ("toe5",    0.815, -0.140, 0.030, 0.025, 0.8, 0.07, 0.35, 0.82, 0.975),
)  # fmt: skip
STRUCTURES = tuple(s[0] for s in _STRUCTURES)

#: Which structures' load ``offload={"<side>_<region>": fraction}`` reduces.
_REGION_STRUCTURES = {
    "heel": ("heel",),
    "arch": ("midfoot",),
    "mth1": ("mth1",),
    "mth2_3": ("mth2", "mth3"),
    "mth4_5": ("mth4", "mth5"),
    "metatarsal_heads": ("mth1", "mth2", "mth3", "mth4", "mth5"),
    "hallux": ("hallux",),
    "lesser_toes": ("toe2", "toe3", "toe4", "toe5"),
    "toes": ("hallux", "toe2", "toe3", "toe4", "toe5"),
    "forefoot": ("mth1", "mth2", "mth3", "mth4", "mth5", "hallux", "toe2", "toe3", "toe4", "toe5"),
}

#: Footwear: how much wider each structure's footprint gets (factor and mm added to
#: both semi-axes), the dome exponent, and extra weight on the midfoot, where a
#: shoe's shank and insole pick up load the bare arch does not carry.
_CONDITIONS = {
    "barefoot": dict(grow=1.0, add_mm=0.0, gamma=None, midfoot_weight=1.0),
    "shod": dict(grow=1.25, add_mm=7.0, gamma=0.45, midfoot_weight=2.5),
}

_SIDES = ("left", "right")
#: Variability at variability=1: SDs of step-to-step changes.
_STEP_LENGTH_CV = 0.025
_STEP_TIME_CV = 0.02
_DOUBLE_SUPPORT_CV = 0.05
_STEP_WIDTH_SD_MM = 12.0
_TOE_OUT_SD_DEG = 2.5
_WEIGHT_SD_LOG = 0.08
_LATERAL_SD_MM = 35.0
#: Fine grid for the truth (mm) and the largest sub-sample spacing for sensors (mm).
_TRUTH_GRID_MM = 0.25
_SUBSAMPLE_MM = 1.0


def walk(
    *,
    seed,
    body_mass_kg=70.0,
    foot_length_mm=260.0,
    speed_m_s=None,
    cadence_steps_per_min=None,
    step_length_mm=None,
    step_width_mm=100.0,
    toe_out_deg=7.0,
    stance_fraction=0.61,
    heading_deg=90.0,
    passes=None,
    duration_s=None,
    turn_s=1.5,
    lead_s=0.5,
    mat_length_mm=2000.0,
    mat_width_mm=500.0,
    pitch_mm=5.0,
    rate_hz=100.0,
    condition="barefoot",
    offload=None,
    stance_scale=None,
    variability=1.0,
    subject="synthetic",
):
    """Simulate a walk across a pressure mat; return the trial and its ground truth.

    Of walking speed, cadence and step length give any two (the third follows
    from speed = step length x cadence); by default cadence is 110 steps/min and
    step length 650 mm (1.19 m/s).

    Parameters
    ----------
    seed : int
        Seed of the random generator: the same arguments and seed give the same walk.
    body_mass_kg : float
        Body mass in kg; the mean vertical force over a stride is
        ``body_mass_kg * 9.80665`` N.
    foot_length_mm : float
        Foot length in mm: heel end to hallux tip of the barefoot footprint. A
        shod footprint (the outsole) is longer; ``truth.foot_length`` gives it.
    speed_m_s : float | None
        Walking speed in m/s.
    cadence_steps_per_min : float | None
        Cadence in steps per minute.
    step_length_mm : float | None
        Step length in mm (heel to opposite heel, along the line of progression).
    step_width_mm : float
        Step width in mm: distance between the left and right heel-centre lines.
    toe_out_deg : float
        Foot progression angle in degrees, positive = toe-out, both feet.
    stance_fraction : float
        Stance time as a fraction of the gait cycle (0.5 .. 0.75); 0.61 is typical
        at comfortable speed.
    heading_deg : float
        Walking direction of the first pass, degrees counter-clockwise from the
        mat's +x axis: 90 (default) walks toward +y, along the mat's length.
        Later passes walk back and forth.
    passes : int | None
        Number of passes over the mat. Default 1 when ``duration_s`` is None.
    duration_s : float | None
        Record for this long, walking back and forth; the last contact may be cut.
        Give ``passes`` or ``duration_s``, not both.
    turn_s : float
        Time with nobody on the mat between passes, in s.
    lead_s : float
        Time recorded before the first contact, in s; negative starts the
        recording during the first contact (which is then incomplete).
    mat_length_mm, mat_width_mm : float
        Mat size in mm along y (rows) and x (columns).
    pitch_mm : float | tuple of float
        Sensor pitch in mm, or ``(x, y)``.
    rate_hz : float
        Frame rate in Hz.
    condition : {"barefoot", "shod"}
        Footwear. Shod spreads the load over a larger, flatter footprint (the
        outsole), with lower peaks and more load under the midfoot.
    offload : dict of str to float | None
        Reduce the load under a region of one foot, e.g. ``{"right_heel": 0.3}``:
        the load of the structures under that region is cut by that fraction
        relative to the rest of the foot; the step's impulse still follows from
        momentum balance, so the rest of the foot carries more.
        Keys are ``"<left|right>_<region>"`` with a region of
        :data:`plantar.regions.REGIONS` other than ``total``.
    stance_scale : dict of str to float | None
        Lengthen or shorten the stance of one side, e.g. ``{"left": 0.9}`` for a
        10 % shorter left stance (the double support after a left step shrinks).
        Impulses follow from momentum balance, so the side with the shorter
        stance also carries less impulse and the stride mean force stays body
        weight.
    variability : float
        Scale of step-to-step variability (0 = every step identical).
    subject : str
        Subject label stored in the trial.

    Returns
    -------
    trial : xarray.Dataset
        The trial (schema ``trial/1``); pressure in kPa.
    truth : xarray.Dataset
        Ground truth per step (dim ``step``, ordered by contact time):
        ``side``, ``t_on``, ``t_off`` (s), ``complete``, ``pass_index``,
        ``heel_x``, ``heel_y`` (mm), ``axis_angle`` (deg), ``foot_angle``
        (deg, + = toe-out), ``foot_length``, ``foot_width`` (mm), ``step_length``,
        ``step_width``, ``stride_length`` (mm, GAITRite definitions), ``impulse`` (N s),
        ``force_time_integral`` and ``relative_load`` per ``region``, per
        ``time``: ``force`` and ``force_on_mat`` (N), ``cop_x``, ``cop_y`` (mm),
        and per ``y`` and ``x`` (the mat's sensels) ``structure``: the
        structure that loads each sensel in the step (0 = none, k =
        ``STRUCTURES[k - 1]``: the one with the largest share of the sensel's
        pressure-time integral).

    Examples
    --------
    >>> import plantar
    >>> trial, truth = plantar.synth.walk(seed=0, passes=2)
    >>> trial.pressure.dims
    ('time', 'y', 'x')
    >>> sorted(set(truth.side.values.tolist()))
    ['left', 'right']
    >>> round(float(truth.foot_length[0]), 6)
    260.0
    >>> import numpy as np
    >>> k = int(np.flatnonzero(truth.complete)[0])    # each of the twelve structures loads sensels of its own
    >>> np.unique(truth.structure[k]).tolist() == list(range(len(plantar.synth.STRUCTURES) + 1))
    True
    """
    gait = _gait_parameters(
        speed_m_s, cadence_steps_per_min, step_length_mm, stance_fraction,
        stance_scale, variability, body_mass_kg,
    )  # fmt: skip
    if condition not in _CONDITIONS:
        raise ValueError(f"condition must be one of {tuple(_CONDITIONS)}, got {condition!r}")
    if passes is not None and duration_s is not None:
        raise ValueError("give passes or duration_s, not both")
    if duration_s is None:
        passes = 1 if passes is None else passes
        if not (isinstance(passes, numbers.Integral) and passes >= 1):
            raise ValueError(f"passes must be a positive integer, got {passes!r}")
    else:
        duration_s = _positive(duration_s, "duration_s")
    for name, value in (("step_width_mm", step_width_mm), ("turn_s", turn_s)):
        if not (np.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be >= 0, got {value!r}")
    mat = _Mat(
        _positive(mat_length_mm, "mat_length_mm"),
        _positive(mat_width_mm, "mat_width_mm"),
        pitch_mm,
        _positive(rate_hz, "rate_hz"),
    )
    offload_gain = _offload_gains(offload)
    rng = np.random.default_rng(seed)
    template = _template(condition, _positive(foot_length_mm, "foot_length_mm"))

    steps = _plan_steps(
        rng, gait, template, mat, offload_gain, step_width_mm, toe_out_deg, heading_deg,
        passes, duration_s, turn_s, lead_s,
    )  # fmt: skip
    if not steps:
        raise ValueError(
            "no step touches the mat: the walk passes beside it "
            f"(mat {mat_width_mm:g} x {mat_length_mm:g} mm, heading {heading_deg:g} deg)"
        )
    if duration_s is not None:
        n_frames = max(1, int(round(duration_s * mat.rate_hz)))
    else:
        n_frames = int(math.ceil((max(s["t_off"] for s in steps) + 0.5) * mat.rate_hz)) + 1
    time = np.arange(n_frames) / mat.rate_hz
    steps = [s for s in steps if s["t_on"] < time[-1] and s["t_off"] > 0]

    pressure = np.zeros((n_frames, mat.n_rows, mat.n_cols), dtype=np.float32)
    truth_steps = [_render_step(step, template, mat, time, pressure) for step in steps]
    trial = make_trial(
        pressure,
        pitch_mm=(mat.pitch_x, mat.pitch_y),
        rate_hz=mat.rate_hz,
        device="plantar synthetic walk",
        source_format="synthetic",
        subject=subject,
        condition=condition,
        body_mass_kg=float(body_mass_kg),
    )
    truth = _truth_dataset(truth_steps, template, time, mat.n_rows, mat.n_cols)
    truth.attrs.update(
        seed=int(seed),
        body_mass_kg=float(body_mass_kg),
        foot_length_mm=float(foot_length_mm),
        speed_m_s=gait.speed_m_s,
        cadence_steps_per_min=gait.cadence,
        step_length_mm=gait.step_length_mm,
        step_width_mm=float(step_width_mm),
        toe_out_deg=float(toe_out_deg),
        stance_fraction=float(stance_fraction),
        condition=condition,
        offload=repr(dict(offload or {})),
        stance_scale=repr(dict(stance_scale or {})),
        variability=float(variability),
        plantar_version=__version__,
    )
    return trial, truth


def visits(*, seed, weeks=(0.0, 6.0, 12.0), offload=None, trials_per_visit=2, passes=1, **options):
    """Simulate a patient seen at several visits, whose loading may change between them.

    Each visit is ``trials_per_visit`` walks (:func:`walk`, each with its own
    seed drawn from ``seed``) of the same walker. An offload changes linearly
    with time from the first to the last visit: ``{"right_heel": (0.3, 0.1)}``
    offloads the right heel by 30 % at the first visit and by 10 % at the last
    (a heel getting better over the weeks); ``{"right_metatarsal_heads": (0.0,
    0.25)}`` is an orthotic's metatarsal offload appearing; a single number keeps
    the offload the same at every visit. Everything else (gait, body, step-to-step
    variability) stays the same, so a patient without ``offload`` does not
    change at all between visits, beyond step-to-step variability.

    Parameters
    ----------
    seed : int
        Seed: the same arguments and seed give the same visits.
    weeks : sequence of float
        Time of each visit in weeks since the first (increasing, from 0).
    offload : dict of str to float | (float, float) | None
        Per ``"<left|right>_<region>"`` (as in :func:`walk`), the offload fraction
        at every visit, or the pair (at the first visit, at the last visit).
    trials_per_visit : int
        Walks recorded at each visit.
    passes : int
        Passes over the mat per walk.
    **options
        Passed to :func:`walk` (e.g. ``mat_length_mm``, ``condition``, ``pitch_mm``).

    Returns
    -------
    visits : list of dict
        One per visit, in time order: ``weeks`` (float), ``offload`` (the
        fractions used at that visit, dict), ``trials`` and ``truths`` (lists of
        the walks' trials and ground truths, as :func:`walk` returns them).

    Examples
    --------
    >>> import plantar
    >>> visits = plantar.synth.visits(seed=1, weeks=(0, 6, 12), offload={"right_heel": (0.3, 0.1)},
    ...                               trials_per_visit=1, mat_length_mm=1200)
    >>> [round(v["offload"]["right_heel"], 2) for v in visits]
    [0.3, 0.2, 0.1]
    >>> len(visits[0]["trials"]), visits[0]["trials"][0].pressure.dims
    (1, ('time', 'y', 'x'))
    """
    weeks = np.asarray(weeks, dtype=float)
    if weeks.ndim != 1 or weeks.size < 1 or not np.all(np.isfinite(weeks)) or np.any(np.diff(weeks) <= 0):
        raise ValueError(f"weeks must be increasing finite times, got {weeks.tolist()}")
    if not (isinstance(trials_per_visit, numbers.Integral) and trials_per_visit >= 1):
        raise ValueError(f"trials_per_visit must be a positive integer, got {trials_per_visit!r}")
    span = weeks[-1] - weeks[0]
    plan = {}
    for key, value in (offload or {}).items():
        first, last = (value, value) if isinstance(value, numbers.Real) else tuple(value)
        plan[key] = (float(first), float(last))
    seeds = np.random.SeedSequence(seed).generate_state(weeks.size * trials_per_visit)
    out = []
    for k, week in enumerate(weeks):
        share = float(week - weeks[0]) / span if span > 0 else 0.0
        fractions = {key: float(first + share * (last - first)) for key, (first, last) in plan.items()}
        walks = [walk(seed=int(seeds[k * trials_per_visit + j]), passes=passes, offload=fractions or None, **options)
                 for j in range(trials_per_visit)]  # fmt: skip
        out.append({"weeks": float(week), "offload": fractions, "trials": [w[0] for w in walks],
                    "truths": [w[1] for w in walks]})  # fmt: skip
    return out


def visit_truth(truths, metric="relative_load"):
    """The true visit mean of a per-step region metric, per side and region, over the complete steps.

    Parameters
    ----------
    truths : sequence of xarray.Dataset
        The ground truths of a visit's walks (from :func:`walk` or :func:`visits`).
    metric : {"relative_load", "force_time_integral"}
        The region metric of the truth.

    Returns
    -------
    truth : xarray.DataArray
        Dims ``(side, region)``: the mean over the complete steps of each side of
        every walk (each walk's mean first, then the mean of the walks, as
        :func:`plantar.followup` averages trials), in the metric's units.

    Examples
    --------
    >>> import plantar
    >>> _, truth = plantar.synth.walk(seed=0, passes=2, offload={"right_heel": 0.3})
    >>> heel = plantar.synth.visit_truth([truth]).sel(region="heel")
    >>> bool(heel.sel(side="right") < heel.sel(side="left"))
    True
    """
    per_walk = []
    for truth in truths:
        values = truth[metric].where(truth["complete"])
        per_walk.append(xr.concat([values.where(truth["side"] == side).mean("step") for side in _SIDES],
                                  dim=xr.DataArray(list(_SIDES), dims="side", name="side")))  # fmt: skip
    result = xr.concat(per_walk, dim="walk").mean("walk")
    result.attrs = {"units": truths[0][metric].attrs["units"], "long_name": truths[0][metric].attrs["long_name"]}
    return result


def insoles(
    *,
    seed,
    duration_s,
    rate_hz=100.0,
    body_mass_kg=70.0,
    foot_length_mm=260.0,
    cadence_steps_per_min=110.0,
    stance_fraction=0.61,
    pitch_mm=8.5,
    condition="barefoot",
    variability=1.0,
    lead_s=0.5,
    block_frames=8192,
    subject="synthetic",
    offload=None,
):
    """Simulate walking in shoes with pressure insoles; return the trial and its ground truth.

    Both insoles lie side by side on one grid, as XSENSOR exports them (see
    :mod:`plantar.io.xsensor`): the left insole in columns ``0 .. n - 1``, one
    column without a sensor (NaN), the right insole in columns ``n + 1 .. 2n``;
    toes toward +y; trial attrs ``layout="insole"`` and ``side_split_x_mm`` (the x
    of the empty column). Each foot is the model of :func:`walk` (its load-bearing
    structures, force over stance and momentum balance), fixed in its insole
    with its axis along +y; the walker steps left and right in turn, with the
    stride-to-stride variability of :func:`walk` in step time, double support
    and the load of each structure. The recording is built in blocks of frames
    with array operations, in float32: an hour at 100 Hz (360,000 frames) takes
    about as much memory as its pressure array.

    Parameters
    ----------
    seed : int
        Seed of the random generator: the same arguments and seed give the same recording.
    duration_s : float
        Length of the recording, s; the last contact may be cut.
    rate_hz : float
        Frame rate, Hz.
    body_mass_kg : float
        Body mass, kg: the mean vertical force of both feet over a stride is
        ``body_mass_kg * 9.80665`` N.
    foot_length_mm : float
        Foot length, mm (heel end to hallux tip of the footprint).
    cadence_steps_per_min : float
        Cadence, steps per minute.
    stance_fraction : float
        Stance time as a fraction of the gait cycle (0.5 .. 0.75).
    pitch_mm : float
        Sensor pitch of the insoles, mm (square sensels); each insole is the
        foot's footprint plus one sensel all round.
    condition : {"barefoot", "shod"}
        The foot's load distribution: ``"barefoot"`` (the plantar surface on a
        thin insole) or ``"shod"`` (spread wider and flatter, as under a
        cushioned insole; the insole grows with it).
    variability : float
        Scale of stride-to-stride variability (0 = every step identical).
    lead_s : float
        Time before the first contact, s (>= 0).
    block_frames : int
        Frames rendered at once (bounds the temporary memory).
    subject : str
        Subject label stored in the trial.
    offload : dict of str to float | None
        Per ``"<left|right>_<region>"``, the fraction of that region's load an
        orthotic takes off, as in :func:`walk` (the foot's momentum balance moves
        it to the other structures).

    Returns
    -------
    trial : xarray.Dataset
        The trial (schema ``trial/1``), pressure in kPa, float32.
    truth : xarray.Dataset
        Per ``step`` (ordered by contact time): ``side``, ``t_on``, ``t_off``
        (s, continuous time: the foot touches and leaves the insole between
        frames), ``complete`` (the contact lies inside the recording),
        ``impulse`` (N s), ``peak_force`` (N), and per ``step`` and ``step_frame``
        the vertical force ``force`` (N) in the step's frames: frame
        ``frame_on + step_frame``, the frames strictly between ``t_on`` and
        ``t_off`` (``frame_count`` of them; NaN past them). The insole measures
        all of it: every structure lies on its insole. Per ``structure``
        (named by ``structure_name``, as :data:`STRUCTURES`) and sensel
        (``y``, ``x``): ``structure_load``, the structure's force-time
        integral over the recording on the sensel (N s), and per sensel
        ``structure``, the structure that loads it most (0 = none, k =
        ``STRUCTURES[k - 1]``).

    Examples
    --------
    >>> import numpy as np
    >>> import plantar
    >>> trial, truth = plantar.synth.insoles(seed=0, duration_s=10.0)
    >>> trial.attrs["layout"], trial.pressure.dtype, trial.sizes["time"]
    ('insole', dtype('float32'), 1000)
    >>> split = trial.attrs["side_split_x_mm"]
    >>> bool(np.isnan(trial.pressure.sel(x=split).values).all())    # the column between the insoles
    True
    >>> sorted(set(truth.side.values.tolist())), bool(truth.sizes["step"] >= 15)
    (['left', 'right'], True)
    """
    duration_s = _positive(duration_s, "duration_s")
    rate_hz = _positive(rate_hz, "rate_hz")
    if condition not in _CONDITIONS:
        raise ValueError(f"condition must be one of {tuple(_CONDITIONS)}, got {condition!r}")
    if not (np.isfinite(lead_s) and lead_s >= 0):
        raise ValueError(f"lead_s must be >= 0, got {lead_s!r}")
    if not (isinstance(block_frames, numbers.Integral) and block_frames >= 1):
        raise ValueError(f"block_frames must be a positive integer, got {block_frames!r}")
    gait = _gait_parameters(None, cadence_steps_per_min, 650.0, stance_fraction, None, variability, body_mass_kg)
    rng = np.random.default_rng(seed)
    template = _template(condition, _positive(foot_length_mm, "foot_length_mm"))
    pitch = float(_positive(pitch_mm, "pitch_mm"))
    # One insole: the footprint and a sensel all round; the heel centre placed so the left foot fits.
    insole = _Mat(template.length + 2 * pitch, template.width + 2 * pitch, pitch, rate_hz)
    heel_left = np.array([insole.x_range[0] + pitch - template.lateral_edge, insole.y_range[0] + pitch - template.heel_end])
    heel = {"left": heel_left, "right": np.array([sum(insole.x_range) - heel_left[0], heel_left[1]])}
    axis = np.array([0.0, 1.0])
    kernels, shares = {}, {}
    for side in _SIDES:
        foot = dict(heel=heel[side], axis=axis, medial=_rot(axis, -90.0 if side == "left" else 90.0))
        k, rows, cols, on = _sensor_kernels(template, foot, insole)
        full = np.zeros((len(STRUCTURES), insole.n_rows, insole.n_cols))
        full[:, rows, cols] = k
        shares[side] = full  # each structure's fraction of its force on each sensel
        kernels[side] = full.reshape(len(STRUCTURES), -1) * (1000.0 / pitch**2)  # N -> kPa per sensel

    # The steps: left and right in turn, from lead_s to the end of the recording.
    var = gait.variability
    n_frames = max(1, int(round(duration_s * rate_hz)))
    time = np.arange(n_frames) / rate_hz
    placed, t, side = [], float(lead_s), int(rng.integers(2))
    while t < time[-1]:
        overlap = (gait.stance_s[_SIDES[side]] - gait.step_period_s) * (1 + rng.normal(0, _DOUBLE_SUPPORT_CV) * var)
        placed.append(dict(side=_SIDES[side], t_on=t, overlap=overlap))
        t += gait.step_period_s * (1 + rng.normal(0, _STEP_TIME_CV) * var)
        side = 1 - side
    _load_steps(rng, gait, template, placed, _offload_gains(offload))
    t_on = np.array([p["t_on"] for p in placed])
    stance = np.array([p["stance"] for p in placed])
    weight = np.array([p["weight"] * p["gain"] for p in placed]).reshape(len(placed), len(STRUCTURES))
    scale = np.array([p["scale"] for p in placed])
    sides = np.array([p["side"] for p in placed])

    n_cols = 2 * insole.n_cols + 1
    pressure = np.empty((n_frames, insole.n_rows, n_cols), dtype=np.float32)
    pressure[:, :, insole.n_cols] = np.nan  # no sensor between the insoles
    columns = {"left": slice(0, insole.n_cols), "right": slice(insole.n_cols + 1, n_cols)}
    for start in range(0, n_frames, block_frames):
        at = time[start : start + block_frames]
        for side in _SIDES:
            own = np.flatnonzero(sides == side)  # a foot's contacts follow one another
            forces = _foot_forces(at, t_on[own], stance[own], weight[own], scale[own], template)
            block = (forces @ kernels[side]).astype(np.float32)
            pressure[start : start + at.size, :, columns[side]] = block.reshape(at.size, insole.n_rows, insole.n_cols)

    trial = make_trial(
        pressure,
        pitch_mm=pitch,
        rate_hz=rate_hz,
        device="plantar synthetic insoles",
        source_format="synthetic",
        subject=subject,
        condition=condition,
        body_mass_kg=float(body_mass_kg),
        layout="insole",
        side_split_x_mm=float(insole.n_cols * pitch),
    )
    truth = _insole_truth(time, sides, t_on, stance, weight, scale, template, placed)
    # Which structure loads each sensel: each structure's force-time integral over the recording's steps, spread
    # as its kernel spreads its force (the insole is fixed to the foot: the same sensels every step).
    load = np.zeros((len(STRUCTURES), insole.n_rows, n_cols))
    for side in _SIDES:
        mine = [p for p in placed if p["side"] == side and p["t_on"] < time[-1]]
        impulse = sum((np.trapezoid(_structure_forces(_TAU_FINE, template.schedule, p["weight"], p["gain"], 1.0),
                                    _TAU_FINE, axis=0) * p["stance"] * p["scale"] for p in mine),
                      np.zeros(len(STRUCTURES)))  # fmt: skip
        load[:, :, columns[side]] = shares[side] * impulse[:, None, None]
    structure = np.where(load.max(axis=0) > 0, np.argmax(load, axis=0) + 1, 0).astype(np.int8)
    truth = truth.assign_coords(structure_name=("structure", list(STRUCTURES)), y=trial["y"], x=trial["x"])
    truth["structure_load"] = (("structure", "y", "x"), load, dict(
        units="N s", long_name="load of each structure on each sensel",
        definition="the structure's force-time integral over the recording's steps on the sensel"))  # fmt: skip
    truth["structure"] = (("y", "x"), structure, dict(
        units="1", long_name="structure that loads the sensel",
        definition="0 = none, k = STRUCTURES[k - 1]: the largest share of the sensel's pressure-time integral"))  # fmt: skip
    truth.attrs.update(seed=int(seed), body_mass_kg=float(body_mass_kg), foot_length_mm=float(foot_length_mm),
                       cadence_steps_per_min=gait.cadence, stance_fraction=float(stance_fraction),
                       condition=condition, variability=float(variability), offload=repr(dict(offload or {})),
                       plantar_version=__version__)  # fmt: skip
    return trial, truth


#: Sensor rows and columns per insole of :func:`sensor_insoles` (12 x 8 = 96 sensors, about a pedar insole's 99).
SENSOR_ROWS, SENSOR_COLS = 12, 8


def sensor_insoles(*, seed, duration_s, fine_pitch_mm=4.0, **options):
    """Simulate walking on insoles of irregular sensors; return the sensor trial, its ground truth and the grid.

    The insoles of :func:`insoles` are rendered on a fine grid and each insole is
    cut into ``SENSOR_ROWS x SENSOR_COLS`` rectangular sensors (96, about a pedar
    insole; an even number across, so none straddles the insole's centre line),
    each a whole number of grid cells: taller at the heel, shorter toward the
    toes, so the sensors differ in size. A sensor's pressure is the
    mean of its cells' pressures, so ``sum(pressure x sensor_area)`` equals the
    fine grid's force in every frame (to float32 rounding), and the truth of
    :func:`insoles` (step times, force per frame) holds for the sensor trial.

    Parameters
    ----------
    seed : int
        Seed of the random generator.
    duration_s : float
        Length of the recording, s.
    fine_pitch_mm : float
        Pitch of the grid the sensors are cut from, mm.
    **options
        Further arguments of :func:`insoles` (``rate_hz``, ``body_mass_kg``,
        ``condition``, ``variability``, ...).

    Returns
    -------
    trial : xarray.Dataset
        A sensor trial (dims ``(time, sensor)``, ``layout="insole"``), both
        insoles, sides in ``sensor_side``, ``side_split_x_mm`` between them.
    truth : xarray.Dataset
        The truth of :func:`insoles` (on the fine grid), and per ``sensor``
        ``sensor_structure``: the structure that loads the sensor most (its
        cells' ``structure_load`` summed; 0 = none, k = ``STRUCTURES[k - 1]``).
    grid : xarray.Dataset
        The fine-grid trial the sensors were cut from, with the coordinate
        ``cell_sensor`` (y, x): the sensor index of each cell, -1 between the insoles.

    Examples
    --------
    >>> import numpy as np
    >>> import plantar
    >>> trial, truth, grid = plantar.synth.sensor_insoles(seed=0, duration_s=4.0)
    >>> trial.sizes["sensor"], sorted(set(trial.sensor_side.values.tolist()))
    (192, ['left', 'right'])
    >>> force = (trial.pressure * trial.sensor_area).sum("sensor") * 1e-3
    >>> bool(np.allclose(force, plantar.total_force(grid), rtol=1e-4, atol=1e-3))
    True
    """
    fine = float(_positive(fine_pitch_mm, "fine_pitch_mm"))
    grid, truth = insoles(seed=seed, duration_s=duration_s, pitch_mm=fine, **options)
    p = grid["pressure"].values
    x, y = grid["x"].values, grid["y"].values
    n_rows, n_all = p.shape[1], p.shape[2]
    n_cols = (n_all - 1) // 2
    # Row bands taller at the heel than at the toes; column bands equal.
    u = np.linspace(0.0, 1.0, SENSOR_ROWS + 1)
    row_edges = np.round(n_rows * (1.0 - (1.0 - u) ** 1.25)).astype(int)
    row_edges = np.maximum.accumulate(np.maximum(row_edges, np.arange(SENSOR_ROWS + 1)))
    row_edges[-1] = n_rows
    col_edges = np.round(np.linspace(0, n_cols, SENSOR_COLS + 1)).astype(int)
    cell_sensor = np.full((n_rows, n_all), -1, dtype=np.int64)
    number, side, cx, cy, area, ox, oy = [], [], [], [], [], [], []
    half = fine / 2.0
    for s, offset in (("left", 0), ("right", n_cols + 1)):
        for r in range(SENSOR_ROWS):
            for c in range(SENSOR_COLS):
                r0, r1 = row_edges[r], row_edges[r + 1]
                c0, c1 = offset + col_edges[c], offset + col_edges[c + 1]
                cell_sensor[r0:r1, c0:c1] = len(number)
                x0, x1, y0, y1 = x[c0] - half, x[c1 - 1] + half, y[r0] - half, y[r1 - 1] + half
                number.append(r * SENSOR_COLS + c + 1)
                side.append(s)
                cx.append((x0 + x1) / 2)
                cy.append((y0 + y1) / 2)
                area.append((r1 - r0) * (c1 - c0) * fine * fine)
                ox.append([x0, x1, x1, x0])
                oy.append([y0, y0, y1, y1])
    n_sensors = len(number)
    flat = cell_sensor.ravel()
    used = np.flatnonzero(flat >= 0)
    # Sum the cells of each sensor at once (a sparse sum over the cells), then divide by the cell count.
    summing = np.zeros((used.size, n_sensors), dtype=np.float32)
    summing[np.arange(used.size), flat[used]] = 1.0
    counts = summing.sum(axis=0)
    frames = p.reshape(p.shape[0], -1)[:, used]
    pressure = (frames.astype(np.float64) @ summing) / counts
    attrs = {k: v for k, v in grid.attrs.items() if k in ("subject", "condition", "body_mass_kg", "side_split_x_mm")}
    trial = make_sensor_trial(
        pressure,
        sensor_number=np.array(number),
        sensor_side=np.array(side),
        sensor_x_mm=np.array(cx),
        sensor_y_mm=np.array(cy),
        sensor_area_mm2=np.array(area),
        outline_x_mm=np.array(ox),
        outline_y_mm=np.array(oy),
        rate_hz=float(grid.attrs["sampling_rate_hz"]),
        time_s=grid["time"].values,
        device="plantar synthetic sensor insoles",
        source_format="synthetic",
        sensor_geometry=f"rectangles of whole {fine:g} mm cells of the synthetic insole grid",
        **attrs,
    )
    about = {"units": "1", "long_name": "sensor of the cell (-1: none)"}
    grid = grid.assign_coords(cell_sensor=(("y", "x"), cell_sensor, about))
    # Each structure's load on each sensor: the sum over its cells; the structure loading it most.
    load = truth["structure_load"].values.reshape(len(STRUCTURES), -1)[:, used] @ summing
    structure = np.where(load.max(axis=0) > 0, np.argmax(load, axis=0) + 1, 0).astype(np.int8)
    truth["sensor_structure"] = ("sensor", structure, dict(
        units="1", long_name="structure that loads the sensor",
        definition="0 = none, k = STRUCTURES[k - 1]: the largest share of the sensor's pressure-time integral"))  # fmt: skip
    return trial, truth, grid


#: Sway of :func:`stand`, per direction: frequencies (Hz) and relative amplitudes of its sines.
#: Quiet-stance sway has most of its power below 1 Hz (Prieto et al. 1996).
SWAY_SINES = {
    "ap": ((0.11, 0.27, 0.53, 0.97), (1.0, 0.7, 0.4, 0.2)),
    "ml": ((0.13, 0.31, 0.61, 1.07), (1.0, 0.6, 0.35, 0.15)),
}
#: Structures of the rearfoot and the forefoot load groups of :func:`stand`.
_REAR = ("heel", "midfoot")


def stand(
    *,
    seed,
    duration_s=30.0,
    body_mass_kg=70.0,
    foot_length_mm=260.0,
    feet="both",
    stance_width_mm=170.0,
    toe_out_deg=7.0,
    left_share=0.5,
    forefoot_share=0.4,
    sway_ap_mm=4.0,
    sway_ml_mm=2.5,
    sway="sines",
    step_off=None,
    forefoot_from=0.5,
    mat_length_mm=500.0,
    mat_width_mm=500.0,
    pitch_mm=5.0,
    rate_hz=100.0,
    condition="barefoot",
    subject="synthetic",
    periodic=False,
):
    """Simulate a person standing still on a pressure mat; return the trial and its ground truth.

    The feet are the foot model of :func:`walk` (twelve load-bearing structures),
    set down side by side facing +y (toe-out ``toe_out_deg`` each), or one foot
    alone. Each foot's load is split between a rearfoot group (heel, lateral
    midfoot) and a forefoot group (metatarsal heads, toes), each with the fixed
    inner proportions of the walking foot. The body weight is on the feet
    throughout (quiet stance: vertical accelerations are negligible), and the
    whole-body centre of pressure (COP) follows a prescribed sway about a mean
    position set by ``left_share`` and ``forefoot_share``:

    - ``"sines"``: in AP (y) and ML (x) a sum of four sines each
      (:data:`SWAY_SINES`: 0.1-1.1 Hz, random phases), less its mean, scaled so
      that the RMS of each direction over the recording is ``sway_ap_mm`` and
      ``sway_ml_mm``;
    - ``"random"``: a random walk pulled back to the mean (an Ornstein-Uhlenbeck
      process with a 2 s time constant, stationary RMS ``sway_ap_mm`` and
      ``sway_ml_mm``), smoothed to 2 Hz as quiet sway is.

    On both feet, the COP's y sets the forefoot share of both feet and its x
    the left/right share, exactly (the feet are mirror images). On one foot,
    the COP moves on the line between the foot's rearfoot and forefoot load
    centres: its y follows the sway and its x follows y (``sway_ml_mm`` is
    unused).

    Parameters
    ----------
    seed : int
        Seed of the phases (``"sines"``) or the random walk (``"random"``).
    duration_s : float
        Length of the recording, s.
    body_mass_kg : float
        Body mass, kg: the feet carry ``body_mass_kg * 9.80665`` N.
    foot_length_mm : float
        Foot length, mm.
    feet : {"both", "left", "right"}
        The feet on the mat.
    stance_width_mm : float
        Distance between the two heel centres, mm.
    toe_out_deg : float
        Angle of each foot's axis out from +y, degrees.
    left_share : float
        Mean share of body weight on the left foot (0 .. 1), both feet.
    forefoot_share : float
        Mean share of each foot's load on its forefoot load group (0 .. 1).
    sway_ap_mm, sway_ml_mm : float
        RMS sway of the whole-body COP along y (AP) and x (ML), mm.
    sway : {"sines", "random"}
        The sway's form (see above).
    step_off : tuple | None
        ``(side, start_s, end_s)``: that foot leaves the mat over this interval
        (the other carries the body weight), both feet only.
    forefoot_from : float
        Where the forefoot of the truth's ``forefoot_force`` begins, as a
        fraction of the footprint's length from its heel end along its axis.
    mat_length_mm, mat_width_mm : float
        Mat size along y (rows) and x (columns), mm.
    pitch_mm : float | tuple of float
        Sensor pitch, mm, or ``(x, y)``.
    rate_hz : float
        Frame rate, Hz.
    condition : {"barefoot", "shod"}
        Footwear, as for :func:`walk`.
    subject : str
        Subject label stored in the trial.
    periodic : bool
        Make the sway repeat exactly every ``duration_s`` (``"sines"`` only):
        each sine's frequency is rounded to the nearest non-zero multiple of
        ``1 / duration_s``, so the recording played in a loop (as the virtual
        mat plays it) has no jump where it starts again.

    Returns
    -------
    trial : xarray.Dataset
        The trial (schema ``trial/1``), pressure in kPa.
    truth : xarray.Dataset
        Per ``cop`` (``"body"`` then each foot) and ``time``: ``cop_x``,
        ``cop_y`` (mm, the COP of the continuous pressure field, unfiltered);
        per ``foot`` and ``time``: ``force`` and ``forefoot_force`` (N, the load
        beyond ``forefoot_from`` of the foot's length); per ``foot``:
        ``heel_x``, ``heel_y`` (mm), ``axis_angle`` (deg); attrs: the arguments
        and ``body_weight_n``.

    Examples
    --------
    >>> import numpy as np
    >>> import plantar
    >>> trial, truth = plantar.synth.stand(seed=0, duration_s=10.0)
    >>> truth.foot.values.tolist()
    ['left', 'right']
    >>> bool(np.allclose(truth.force.sum("foot"), truth.attrs["body_weight_n"]))
    True
    >>> round(float(truth.cop_y.sel(cop="body").std()), 1)     # the RMS sway in AP, mm
    4.0
    """
    if feet not in ("both", "left", "right"):
        raise ValueError(f"feet must be one of ('both', 'left', 'right'), got {feet!r}")
    if sway not in ("sines", "random"):
        raise ValueError(f"sway must be one of ('sines', 'random'), got {sway!r}")
    if periodic and sway != "sines":
        raise ValueError("periodic sway needs sway='sines' (a random walk does not repeat)")
    for name, value in (("left_share", left_share), ("forefoot_share", forefoot_share),
                        ("forefoot_from", forefoot_from)):  # fmt: skip
        if not (0 < value < 1):
            raise ValueError(f"{name} must lie in (0, 1), got {value!r}")
    for name, value in (("sway_ap_mm", sway_ap_mm), ("sway_ml_mm", sway_ml_mm), ("stance_width_mm", stance_width_mm)):
        if not (np.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be >= 0, got {value!r}")
    duration_s = _positive(duration_s, "duration_s")
    mat = _Mat(_positive(mat_length_mm, "mat_length_mm"), _positive(mat_width_mm, "mat_width_mm"), pitch_mm,
               _positive(rate_hz, "rate_hz"))  # fmt: skip
    template = _template(condition, _positive(foot_length_mm, "foot_length_mm"))
    rng = np.random.default_rng(seed)
    n_frames = max(3, int(round(duration_s * mat.rate_hz)))
    time = np.arange(n_frames) / mat.rate_hz
    body_weight = float(body_mass_kg) * STANDARD_GRAVITY_M_S2

    # The feet: heel centres stance_width_mm apart, centred on the mat, toes toward +y.
    sides = ("left", "right") if feet == "both" else (feet,)
    mid_heel_y = mat.centre[1] - 0.5 * template.length - template.heel_end
    placed = {}
    for side in sides:
        sign = -1.0 if side == "left" else 1.0
        heel = np.array([mat.centre[0] + sign * 0.5 * stance_width_mm * (feet == "both"), mid_heel_y])
        axis = _rot(np.array([0.0, 1.0]), toe_out_deg if side == "left" else -toe_out_deg)
        placed[side] = dict(heel=heel, axis=axis, medial=_rot(axis, -90.0 if side == "left" else 90.0))
    rear = np.isin(STRUCTURES, _REAR)
    group_weight = np.stack([np.where(rear, template.weight, 0.0), np.where(rear, 0.0, template.weight)])
    group_weight /= group_weight.sum(axis=1, keepdims=True)  # (2 groups, structures), each sums to 1
    centres = {s: _structure_centres(template, p["heel"], p["axis"], p["medial"]) for s, p in placed.items()}
    group_centre = {s: group_weight @ c for s, c in centres.items()}  # (2, 2): rear, front x (x, y)

    # The sway of the body COP about its mean.
    offsets = {}
    for key, rms in (("ap", sway_ap_mm), ("ml", sway_ml_mm)):
        if sway == "sines":
            freqs, amps = (np.array(v) for v in SWAY_SINES[key])
            if periodic:  # whole cycles in duration_s: the sway repeats exactly after it
                freqs = np.maximum(np.round(freqs * n_frames / mat.rate_hz), 1.0) * mat.rate_hz / n_frames
            phases = rng.uniform(0, 2 * np.pi, freqs.size)
            wave = (amps[:, None] * np.sin(2 * np.pi * freqs[:, None] * time + phases[:, None])).sum(axis=0)
            wave -= wave.mean()
            offsets[key] = wave * rms / max(float(np.std(wave)), 1e-12)  # RMS over the recording: rms
        else:
            offsets[key] = _sway_random_walk(rng, time, mat.rate_hz, rms)
    g0 = group_centre[sides[0]]
    front = forefoot_share + offsets["ap"] / (g0[1, 1] - g0[0, 1])  # y sets the forefoot share
    if feet == "both":
        x_of = {s: (1 - front) * group_centre[s][0, 0] + front * group_centre[s][1, 0] for s in sides}
        # The mean position: left_share on the left foot, forefoot_share on each forefoot.
        base = sum(w * ((1 - forefoot_share) * group_centre[s][0, 0] + forefoot_share * group_centre[s][1, 0])
                   for s, w in (("left", left_share), ("right", 1 - left_share)))  # fmt: skip
        target_x = base + offsets["ml"]
        left = (x_of["right"] - target_x) / (x_of["right"] - x_of["left"])
        share = {"left": left, "right": 1 - left}
        if step_off is not None:
            side_off, t0, t1 = step_off
            if side_off not in sides:
                raise ValueError(f"step_off side must be 'left' or 'right', got {side_off!r}")
            off = (time >= t0) & (time <= t1)
            share[side_off] = np.where(off, 0.0, share[side_off])
            other = "right" if side_off == "left" else "left"
            share[other] = np.where(off, 1.0, share[other])
    else:
        if step_off is not None:
            raise ValueError("step_off needs both feet on the mat")
        share = {sides[0]: np.ones(n_frames)}
    if not (np.all((front > 0) & (front < 1)) and all(np.all((v >= 0) & (v <= 1)) for v in share.values())):
        raise ValueError("the sway is too large for the feet: the COP leaves the base of support")

    # Render: each structure's force per frame times its sensor kernel.
    pressure = np.zeros((n_frames, mat.n_rows, mat.n_cols), dtype=np.float32)
    area = mat.pitch_x * mat.pitch_y
    force, fore, cop = {}, {}, {}
    fractions = {}
    for side in sides:
        groups = np.column_stack([1 - front, front]) * (share[side] * body_weight)[:, None]  # (n, 2)
        forces = groups @ group_weight  # (n, structures)
        kernels, rows, cols, on_mat = _sensor_kernels(template, placed[side], mat)
        if not np.allclose(on_mat, 1.0):
            raise ValueError("the feet do not fit on the mat: make it larger")
        block = (forces @ kernels.reshape(len(STRUCTURES), -1)) * (1000.0 / area)
        pressure[:, rows, cols] += block.reshape(n_frames, *kernels.shape[1:]).astype(np.float32)
        force[side] = forces.sum(axis=1)
        fractions[side] = _forefoot_fractions(template, forefoot_from)
        fore[side] = forces @ fractions[side]
        with np.errstate(invalid="ignore", divide="ignore"):
            cop[side] = (forces @ centres[side]) / force[side][:, None]
    total = sum(force.values())
    body = sum(force[s][:, None] * np.nan_to_num(cop[s]) for s in sides) / total[:, None]

    trial = make_trial(pressure, pitch_mm=(mat.pitch_x, mat.pitch_y), rate_hz=mat.rate_hz,
                       device="plantar synthetic standing", source_format="synthetic", subject=subject,
                       condition=condition, body_mass_kg=float(body_mass_kg))  # fmt: skip
    names = ["body", *sides]
    cops = np.stack([body, *(cop[s] for s in sides)])
    truth = xr.Dataset(
        {
            "cop_x": (("cop", "time"), cops[..., 0], dict(units="mm", long_name="centre of pressure x")),
            "cop_y": (("cop", "time"), cops[..., 1], dict(units="mm", long_name="centre of pressure y")),
            "force": (("foot", "time"), np.stack([force[s] for s in sides]),
                      dict(units="N", long_name="vertical force of the foot")),
            "forefoot_force": (("foot", "time"), np.stack([fore[s] for s in sides]),
                               dict(units="N", long_name="vertical force of the forefoot",
                                    definition=f"load beyond {forefoot_from:g} of the footprint's length from its "
                                    "heel end, along its axis")),
            "heel_x": ("foot", [placed[s]["heel"][0] for s in sides], dict(units="mm", long_name="heel centre x")),
            "heel_y": ("foot", [placed[s]["heel"][1] for s in sides], dict(units="mm", long_name="heel centre y")),
            "axis_angle": ("foot", [float(np.degrees(np.arctan2(placed[s]["axis"][1], placed[s]["axis"][0])))
                                    for s in sides], dict(units="deg", long_name="foot axis direction")),
        },  # fmt: skip
        coords={"cop": names, "foot": list(sides),
                "time": ("time", time, dict(units="s", long_name="time since the first frame"))},  # fmt: skip
        attrs=dict(seed=int(seed), body_mass_kg=float(body_mass_kg), body_weight_n=body_weight, feet=feet,
                   sway=sway, sway_ap_mm=float(sway_ap_mm), sway_ml_mm=float(sway_ml_mm),
                   left_share=float(left_share), forefoot_share=float(forefoot_share),
                   forefoot_from=float(forefoot_from), stance_width_mm=float(stance_width_mm),
                   toe_out_deg=float(toe_out_deg), step_off=repr(step_off), condition=condition,
                   foot_length_mm=float(foot_length_mm), periodic=int(bool(periodic)),
                   plantar_version=__version__),  # fmt: skip
    )
    return trial, truth


def _sway_random_walk(rng, time, rate_hz, rms):
    """An Ornstein-Uhlenbeck sway (2 s time constant), smoothed to 2 Hz, scaled to RMS ``rms`` over the recording."""
    from scipy.signal import butter, lfilter, sosfiltfilt

    tau_s = 2.0
    a = math.exp(-1.0 / (rate_hz * tau_s))
    burn_in = int(round(5 * tau_s * rate_hz))  # start in the stationary state
    noise = rng.normal(0.0, 1.0, time.size + burn_in)
    walk = lfilter([math.sqrt(1 - a * a)], [1.0, -a], noise)[burn_in:]
    if 2.0 < 0.5 * rate_hz:
        walk = sosfiltfilt(butter(2, 2.0, fs=rate_hz, output="sos"), walk)
    walk = walk - walk.mean()
    return walk * rms / max(float(np.std(walk)), 1e-12)


def _forefoot_fractions(template, forefoot_from):
    """Fraction of each structure's load beyond ``forefoot_from`` of the footprint's length (fine grid)."""
    h = _TRUTH_GRID_MM
    along = np.arange(template.heel_end + h / 2, template.toe_end, h)
    across = np.arange(template.lateral_edge + h / 2, template.medial_edge, h)
    A, C = np.meshgrid(along, across, indexing="ij")
    density = template.density(A, C).reshape(len(STRUCTURES), -1)
    front = ((A - template.heel_end) / template.length >= forefoot_from).ravel()
    return density[:, front].sum(axis=1) / density.sum(axis=1)


def _foot_forces(time, t_on, stance, weight, scale, template):
    """Force of each structure of one foot at ``time``, (n_frames, n_structures) N; its contacts do not overlap."""
    step = np.searchsorted(t_on, time, side="right") - 1
    k = np.clip(step, 0, None)
    tau = np.where(step >= 0, (time - t_on[k]) / stance[k], -1.0)  # -1: before the first contact (no force)
    return _structure_forces(tau, template.schedule, weight[k], 1.0, scale[k, None])


def _insole_truth(time, sides, t_on, stance, weight, scale, template, placed):
    """Per-step truth of :func:`insoles`, each step's force on its own frames (step, step_frame)."""
    n = t_on.size
    t_off = t_on + stance
    frame_on = np.searchsorted(time, t_on, side="right")  # the first frame after the foot lands
    frame_count = np.searchsorted(time, t_off, side="left") - frame_on
    longest = int(frame_count.max()) if n else 0
    frames = frame_on[:, None] + np.arange(longest)
    inside = np.arange(longest) < frame_count[:, None]
    tau = np.where(inside, (time[np.clip(frames, 0, time.size - 1)] - t_on[:, None]) / stance[:, None], -1.0)
    force = _structure_forces(tau, template.schedule, weight[:, None], 1.0, scale[:, None, None]).sum(axis=-1)
    force = np.where(inside, force, np.nan)
    impulse = np.array([p["impulse"] for p in placed])

    def var(dims, data, units, long_name, definition):
        return (dims, data, dict(units=units, long_name=long_name, definition=definition))

    return xr.Dataset(
        {
            "t_on": var("step", t_on, "s", "start of contact", "continuous time the foot lands"),
            "t_off": var("step", t_off, "s", "end of contact", "continuous time the foot leaves"),
            "complete": var("step", (t_on >= time[0]) & (t_off <= time[-1]), "1", "complete step",
                            "the contact lies inside the recording"),
            "impulse": var("step", impulse, "N s", "vertical impulse of the step", "integral of force over contact"),
            "peak_force": var("step", np.nanmax(force, axis=1, initial=0.0), "N", "peak force of the step",
                              "largest force in the step's frames"),
            "frame_on": var("step", frame_on.astype(np.int64), "1", "first frame of the step",
                            "index along the trial's time of the first frame after t_on"),
            "frame_count": var("step", frame_count.astype(np.int64), "1", "frames of the step",
                               "frames strictly between t_on and t_off"),
            "force": var(("step", "step_frame"), force, "N", "vertical force of the foot",
                         "in the trial's frame frame_on + step_frame; NaN past frame_count"),
        },
        coords={
            "step": ("step", np.arange(n)),
            "side": ("step", sides.astype(str)),
            "step_frame": ("step_frame", np.arange(longest), dict(units="1", long_name="frames since frame_on")),
        },
    )


# --------------------------------------------------------------------------------------
# parameters


def _gait_parameters(speed, cadence, step_length, stance_fraction, stance_scale, variability, mass):
    given = {k: v for k, v in (("speed_m_s", speed), ("cadence_steps_per_min", cadence),
                              ("step_length_mm", step_length)) if v is not None}  # fmt: skip
    for name, value in given.items():
        _positive(value, name)
    if len(given) == 3:
        implied = step_length / 1000.0 * cadence / 60.0
        if abs(implied - speed) > 0.01 * speed:
            raise ValueError(
                f"speed_m_s={speed} does not match step_length_mm x cadence ({implied:.3f} m/s); "
                "give two of the three"
            )
    if cadence is None:
        cadence = 60.0 * speed * 1000.0 / step_length if (speed and step_length) else 110.0
    if step_length is None:
        step_length = speed * 1000.0 * 60.0 / cadence if speed else 650.0
    speed = step_length / 1000.0 * cadence / 60.0
    if not 0.5 <= stance_fraction <= 0.75:
        raise ValueError(f"stance_fraction must lie in 0.5 .. 0.75, got {stance_fraction!r}")
    scale = {"left": 1.0, "right": 1.0}
    for side, value in (stance_scale or {}).items():
        if side not in scale:
            raise ValueError(f"stance_scale keys must be 'left' or 'right', got {side!r}")
        if not 0.5 <= value <= 1.5:
            raise ValueError(f"stance_scale[{side!r}] must lie in 0.5 .. 1.5, got {value!r}")
        scale[side] = float(value)
    if not (np.isfinite(variability) and variability >= 0):
        raise ValueError(f"variability must be >= 0, got {variability!r}")
    step_period = 60.0 / cadence
    return types.SimpleNamespace(
        speed_m_s=float(speed),
        cadence=float(cadence),
        step_length_mm=float(step_length),
        step_period_s=step_period,
        stance_s={side: stance_fraction * 2 * step_period * scale[side] for side in _SIDES},
        variability=float(variability),
        body_weight_n=_positive(mass, "body_mass_kg") * STANDARD_GRAVITY_M_S2,
    )


def _offload_gains(offload):
    """``{"right_heel": 0.3}`` -> {side: gain per structure}."""
    gains = {side: np.ones(len(STRUCTURES)) for side in _SIDES}
    for key, fraction in (offload or {}).items():
        side, _, region = key.partition("_")
        if side not in gains or region not in _REGION_STRUCTURES:
            raise ValueError(
                f"offload keys must be '<left|right>_<region>' with a region of "
                f"{tuple(_REGION_STRUCTURES)}, got {key!r}"
            )
        if not 0 <= fraction < 1:
            raise ValueError(f"offload[{key!r}] must lie in [0, 1), got {fraction!r}")
        for name in _REGION_STRUCTURES[region]:
            gains[side][STRUCTURES.index(name)] *= 1.0 - fraction
    return gains


class _Mat:
    def __init__(self, length_mm, width_mm, pitch_mm, rate_hz):
        self.pitch_x, self.pitch_y = _pitch_xy(pitch_mm)
        self.n_rows = max(1, int(round(length_mm / self.pitch_y)))
        self.n_cols = max(1, int(round(width_mm / self.pitch_x)))
        self.rate_hz = rate_hz
        # Sensel centres run from 0; the sensing area reaches half a pitch beyond.
        self.x_range = (-self.pitch_x / 2, (self.n_cols - 0.5) * self.pitch_x)
        self.y_range = (-self.pitch_y / 2, (self.n_rows - 0.5) * self.pitch_y)
        self.centre = np.array([np.mean(self.x_range), np.mean(self.y_range)])


# --------------------------------------------------------------------------------------
# the foot


class _Template:
    """The foot of one condition in mm, relative to the heel centre, + across = medial."""

    def __init__(self, condition, foot_length_mm):
        spec = _CONDITIONS[condition]
        table = np.array([s[1:] for s in _STRUCTURES], dtype=float)
        u, v, a, b, gamma, weight = table[:, :6].T
        L = foot_length_mm
        heel_u = u[0]
        self.along = (u - heel_u) * L
        self.across = v * L
        self.semi_along = a * L * spec["grow"] + spec["add_mm"]
        self.semi_across = b * L * spec["grow"] + spec["add_mm"]
        self.gamma = gamma if spec["gamma"] is None else np.full_like(gamma, spec["gamma"])
        self.weight = weight.copy()
        self.weight[STRUCTURES.index("midfoot")] *= spec["midfoot_weight"]
        self.schedule = table[:, 6:9]  # onset, peak, end
        # Extent of the footprint (union of the structures) along and across the axis.
        self.heel_end = np.min(self.along - self.semi_along)
        self.toe_end = np.max(self.along + self.semi_along)
        self.length = self.toe_end - self.heel_end
        self.medial_edge = np.max(self.across + self.semi_across)
        self.lateral_edge = np.min(self.across - self.semi_across)
        self.width = self.medial_edge - self.lateral_edge
        self.region_fractions = _region_fractions(self)

    def density(self, along, across, structures=slice(None)):
        """Load density of each structure at points, 1/mm^2, shape (n_structures, ...).

        Each structure's density integrates to 1 over the plane. ``structures``
        (a slice) takes some of them only.
        """
        shape = (-1,) + (1,) * np.ndim(along)
        r2 = ((along - self.along[structures].reshape(shape)) / self.semi_along[structures].reshape(shape)) ** 2 + (
            (across - self.across[structures].reshape(shape)) / self.semi_across[structures].reshape(shape)
        ) ** 2
        gamma = self.gamma[structures].reshape(shape)
        norm = (gamma + 1) / (np.pi * self.semi_along[structures] * self.semi_across[structures]).reshape(shape)
        return np.where(r2 < 1, norm * np.clip(1 - r2, 0, None) ** gamma, 0.0)


_TEMPLATES = {}


def _template(condition, foot_length_mm):
    key = (condition, float(foot_length_mm))
    if key not in _TEMPLATES:
        _TEMPLATES[key] = _Template(condition, foot_length_mm)
    return _TEMPLATES[key]


def _region_fractions(template):
    """Fraction of each structure's load in each base region, shape (n_structures, 7).

    Integrated on a fine grid; the footprint is the union of the structures.
    """
    h = _TRUTH_GRID_MM
    along = np.arange(template.heel_end + h / 2, template.toe_end, h)
    across = np.arange(template.lateral_edge + h / 2, template.medial_edge, h)
    A, C = np.meshgrid(along, across, indexing="ij")
    # Each structure's density on the grid points of its ellipse's bounding box (zero beyond it).
    density = np.zeros((len(STRUCTURES),) + A.shape)
    for k in range(len(STRUCTURES)):
        rows = slice(*np.searchsorted(along, template.along[k] + np.array([-1, 1]) * template.semi_along[k]))
        cols = slice(*np.searchsorted(across, template.across[k] + np.array([-1, 1]) * template.semi_across[k]))
        density[k, rows, cols] = template.density(A[rows, cols], C[rows, cols], slice(k, k + 1))[0]
    footprint = density.max(axis=0) > 0
    u = (A - template.heel_end) / template.length
    labels = regions.percent_labels(u, C, footprint)
    mass = density.reshape(len(STRUCTURES), -1)
    onehot = labels.reshape(-1, 1) == np.arange(1, len(regions.BASE_REGIONS) + 1)
    fractions = mass @ onehot
    return fractions / mass.sum(axis=1, keepdims=True)


# --------------------------------------------------------------------------------------
# force over stance


def _shape(tau):
    """Single-foot vertical force shape over normalised stance (unscaled)."""
    tau = np.asarray(tau, dtype=float)
    hump = np.exp(-0.5 * ((tau - HUMP_TAU) / HUMP_WIDTH) ** 2) + np.exp(
        -0.5 * ((tau - 1 + HUMP_TAU) / HUMP_WIDTH) ** 2
    )
    inside = (tau > 0) & (tau < 1)
    edges = (1 - np.exp(-np.clip(tau, 0, 1) / EDGE_TAU)) * (
        1 - np.exp(-np.clip(1 - tau, 0, 1) / EDGE_TAU)
    )
    return np.where(inside, hump * edges, 0.0)


def _activation(tau, schedule, weight):
    """Load share of each structure over normalised stance, shape (..., n_structures).

    Each structure rises on a half cosine from its onset to its peak and falls on a
    half cosine to its end; the shares are these times the weights, normalised to
    sum to one wherever anything is loaded.
    """
    tau = np.asarray(tau, dtype=float)[..., np.newaxis]
    onset, peak, end = schedule.T
    rise = 0.5 * (1 - np.cos(np.pi * np.clip((tau - onset) / (peak - onset), 0, 1)))
    fall = 0.5 * (1 + np.cos(np.pi * np.clip((tau - peak) / (end - peak), 0, 1)))
    level = np.where(tau <= peak, rise, fall) * weight
    total = level.sum(axis=-1, keepdims=True)
    return np.divide(level, total, out=np.zeros_like(level), where=total > 0)


def _structure_forces(tau, schedule, weight, gain, scale):
    """Force of each structure (N) at normalised times ``tau``."""
    return scale * _shape(tau)[..., np.newaxis] * _activation(tau, schedule, weight) * gain


_TAU_FINE = np.linspace(0.0, 1.0, 4001)


# --------------------------------------------------------------------------------------
# the walk


def _rot(vector, degrees):
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    return np.array([c * vector[0] - s * vector[1], s * vector[0] + c * vector[1]])


def _half_extent(template, axis, medial):
    """Half extents in x and y of each structure's ellipse, shape (n_structures, 2)."""
    return np.sqrt(
        (template.semi_along[:, None] * np.abs(axis)) ** 2
        + (template.semi_across[:, None] * np.abs(medial)) ** 2
    )


def _structure_centres(template, heel, axis, medial):
    return heel + template.along[:, None] * axis + template.across[:, None] * medial


def _plan_steps(
    rng, gait, template, mat, offload_gain, width, toe_out, heading, passes, duration, turn, lead
):
    """Place and time every step that touches the mat."""
    var = gait.variability
    steps = []
    t_next = lead
    pass_index = 0
    empty_passes = 0
    while empty_passes < 2:  # two empty passes in a row: the walk misses the mat both ways
        if passes is not None and pass_index >= passes:
            break
        if duration is not None and t_next >= duration:
            break
        direction = _rot(np.array([1.0, 0.0]), heading + 180.0 * (pass_index % 2))
        left = _rot(direction, 90.0)
        origin = mat.centre + left * rng.normal(0, _LATERAL_SD_MM) * var
        half = 0.5 * (
            abs(direction[0]) * np.ptp(mat.x_range) + abs(direction[1]) * np.ptp(mat.y_range)
        )
        side = int(rng.integers(2))
        s = -half - template.length - gait.step_length_mm * rng.uniform(0.0, 1.0)
        t = 0.0
        placed = []
        while s < half + template.length:
            side_name = _SIDES[side]
            lateral = 0.5 * max(width + rng.normal(0, _STEP_WIDTH_SD_MM) * var, 0.0)
            heel = origin + direction * s + left * (lateral if side_name == "left" else -lateral)
            angle = toe_out + rng.normal(0, _TOE_OUT_SD_DEG) * var
            axis = _rot(direction, angle if side_name == "left" else -angle)
            medial = _rot(axis, -90.0 if side_name == "left" else 90.0)
            # Double support: how long this foot stays down after the other lands.
            overlap = (gait.stance_s[side_name] - gait.step_period_s) * (
                1 + rng.normal(0, _DOUBLE_SUPPORT_CV) * var
            )
            placed.append(
                dict(side=side_name, heel=heel, axis=axis, medial=medial, foot_angle=angle,
                     t_on=t, overlap=overlap, pass_index=pass_index)
            )  # fmt: skip
            s += gait.step_length_mm * (1 + rng.normal(0, _STEP_LENGTH_CV) * var)
            t += gait.step_period_s * (1 + rng.normal(0, _STEP_TIME_CV) * var)
            side = 1 - side
        _load_steps(rng, gait, template, placed, offload_gain)
        for step in placed:
            centres = _structure_centres(template, step["heel"], step["axis"], step["medial"])
            extent = _half_extent(template, step["axis"], step["medial"])
            low, high = centres - extent, centres + extent
            step["on_mat"] = bool(
                np.any(
                    (high[:, 0] > mat.x_range[0]) & (low[:, 0] < mat.x_range[1])
                    & (high[:, 1] > mat.y_range[0]) & (low[:, 1] < mat.y_range[1])
                )
            )  # fmt: skip
            # Whole, as far as the mat can tell: clear of its outermost sensels (a
            # footprint reaching into them may go on beyond the edge).
            step["inside"] = bool(
                low[:, 0].min() >= mat.x_range[0] + mat.pitch_x
                and high[:, 0].max() <= mat.x_range[1] - mat.pitch_x
                and low[:, 1].min() >= mat.y_range[0] + mat.pitch_y
                and high[:, 1].max() <= mat.y_range[1] - mat.pitch_y
            )
        touching = [step for step in placed if step["on_mat"]]
        empty_passes = 0 if touching else empty_passes + 1
        if touching:
            shift = t_next - touching[0]["t_on"]
            for step in touching:
                step["t_on"] += shift
                step["t_off"] = step["t_on"] + step["stance"]
            steps.extend(touching)
            t_next = max(step["t_off"] for step in touching) + turn
        pass_index += 1
    steps.sort(key=lambda step: step["t_on"])
    return steps


def _load_steps(rng, gait, template, placed, offload_gain):
    """Stance, structure weights and force scale of consecutive steps (dicts with ``t_on``, ``overlap``, ``side``).

    Each step's stance lasts until the opposite foot's next heel strike plus its
    double support (``overlap``); its impulse follows from vertical momentum balance.
    """
    var = gait.variability
    tail = None
    for i, step in enumerate(placed):
        after = placed[i + 1]["t_on"] - step["t_on"] if i + 1 < len(placed) else gait.step_period_s
        # Toe-off follows the opposite foot's heel strike by the double support time.
        step["stance"] = after + step.pop("overlap")
        step["weight"] = template.weight * np.exp(rng.normal(0, _WEIGHT_SD_LOG, len(STRUCTURES)) * var)
        step["gain"] = offload_gain[step["side"]]
        unit = _structure_forces(_TAU_FINE, template.schedule, step["weight"], step["gain"], 1.0)
        curve = unit.sum(axis=1)
        cumulative = np.concatenate([[0.0], np.cumsum(0.5 * (curve[1:] + curve[:-1]) * np.diff(_TAU_FINE))])
        head = np.interp(after / step["stance"], _TAU_FINE, cumulative) / cumulative[-1]
        # Vertical momentum balance: from one heel strike to the next the body's
        # vertical velocity repeats, so the force of both feet over that interval
        # (the end of the previous step plus the start of this one) integrates to
        # body weight x its duration.
        if tail is None:
            tail = gait.body_weight_n * after * (1 - head)
        impulse = (gait.body_weight_n * after - tail) / head
        tail = impulse * (1 - head)
        step["impulse"] = impulse
        step["scale"] = impulse / (step["stance"] * cumulative[-1])


def _render_step(step, template, mat, time, pressure):
    """Add one step's pressure to ``pressure``; return its truth."""
    side, weight, gain, scale = step["side"], step["weight"], step["gain"], step["scale"]
    unit = _structure_forces(_TAU_FINE, template.schedule, weight, gain, 1.0)
    impulse_by_structure = np.trapezoid(unit, _TAU_FINE, axis=0) * step["stance"] * scale

    kernels, rows, cols, on_mat = _sensor_kernels(template, step, mat)
    in_contact = (time > step["t_on"]) & (time < step["t_off"])
    frames = np.flatnonzero(in_contact)
    tau = (time[frames] - step["t_on"]) / step["stance"]
    forces = _structure_forces(tau, template.schedule, weight, gain, scale)  # (n, structures)
    if frames.size and rows.stop > rows.start and cols.stop > cols.start:
        area = mat.pitch_x * mat.pitch_y
        block = (forces @ kernels.reshape(len(STRUCTURES), -1)) * (1000.0 / area)  # kPa
        pressure[frames, rows, cols] += block.reshape(frames.size, *kernels.shape[1:]).astype(
            np.float32
        )
    centres = _structure_centres(template, step["heel"], step["axis"], step["medial"])
    n_frames = time.size
    force = np.zeros(n_frames)
    force_on_mat = np.zeros(n_frames)
    cop = np.full((n_frames, 2), np.nan)
    total = forces.sum(axis=1)
    force[frames] = total
    force_on_mat[frames] = forces @ on_mat
    loaded = total > 0
    cop[frames[loaded]] = (forces[loaded] @ centres) / total[loaded, None]

    fti_base = impulse_by_structure @ template.region_fractions
    # The structure that loads each sensel: the largest share of its pressure-time integral.
    share = kernels * impulse_by_structure[:, None, None]
    structure = np.where(share.max(axis=0, initial=0.0) > 0, np.argmax(share, axis=0) + 1, 0).astype(np.int8)
    return dict(
        side=side,
        t_on=step["t_on"],
        t_off=step["t_off"],
        complete=step["inside"] and step["t_on"] >= time[0] and step["t_off"] <= time[-1],
        pass_index=step["pass_index"],
        heel=step["heel"],
        axis=step["axis"],
        foot_angle=step["foot_angle"],
        impulse=impulse_by_structure.sum(),
        fti=fti_base @ regions.region_matrix(),
        force=force,
        force_on_mat=force_on_mat,
        cop=cop,
        structure=(rows, cols, structure),
    )


def _sensor_kernels(template, step, mat):
    """Each structure's share of its force per sensel, over the step's sensels.

    Returns the kernels (n_structures, n_rows, n_cols) over the sensels of the
    step's bounding box that lie on the mat, their row and column slices, and each
    structure's fraction of force on the mat.
    """
    centres = _structure_centres(template, step["heel"], step["axis"], step["medial"])
    extent = _half_extent(template, step["axis"], step["medial"])
    low, high = (centres - extent).min(axis=0), (centres + extent).max(axis=0)
    pitch = np.array([mat.pitch_x, mat.pitch_y])
    first = np.floor(low / pitch).astype(int) - 1
    last = np.ceil(high / pitch).astype(int) + 1
    n_sub = max(2, int(math.ceil(pitch.max() / _SUBSAMPLE_MM)))
    offsets = (np.arange(n_sub) + 0.5) / n_sub - 0.5
    xs = (np.arange(first[0], last[0] + 1)[:, None] + offsets).ravel() * mat.pitch_x
    ys = (np.arange(first[1], last[1] + 1)[:, None] + offsets).ravel() * mat.pitch_y
    X, Y = np.meshgrid(xs - step["heel"][0], ys - step["heel"][1])
    along = X * step["axis"][0] + Y * step["axis"][1]
    across = X * step["medial"][0] + Y * step["medial"][1]
    density = template.density(along, across)
    n_y, n_x = last[1] - first[1] + 1, last[0] - first[0] + 1
    cells = density.reshape(len(STRUCTURES), n_y, n_sub, n_x, n_sub).sum(axis=(2, 4))
    cells /= cells.sum(axis=(1, 2), keepdims=True)  # each structure's force is kept exactly
    row0, col0 = max(first[1], 0), max(first[0], 0)
    row1, col1 = min(last[1] + 1, mat.n_rows), min(last[0] + 1, mat.n_cols)
    rows, cols = slice(row0, max(row1, row0)), slice(col0, max(col1, col0))
    kernels = cells[:, rows.start - first[1] : rows.stop - first[1], cols.start - first[0] : cols.stop - first[0]]
    return kernels, rows, cols, kernels.sum(axis=(1, 2))


def _truth_dataset(steps, template, time, n_rows, n_cols):
    n = len(steps)

    def column(key):
        return np.array([s[key] for s in steps]) if steps else np.zeros(0)

    heel = column("heel").reshape(n, 2)
    axis = column("axis").reshape(n, 2)
    axis_angle = np.degrees(np.arctan2(axis[:, 1], axis[:, 0]))
    step_length, step_width, stride_length = geometry.gaitrite_distances(
        heel, column("side"), column("pass_index")
    )
    fti = column("fti").reshape(n, len(regions.REGIONS))
    relative = 100.0 * fti / fti[:, :1] if n else fti
    per_frame = lambda key: column(key).reshape(n, time.size)  # noqa: E731
    cop = column("cop").reshape(n, time.size, 2)

    def var(dims, data, units, long_name, **extra):
        return (dims, data, dict(units=units, long_name=long_name, **extra))

    structure = np.zeros((n, n_rows, n_cols), dtype=np.int8)
    for k, s in enumerate(steps):
        rows, cols, local = s["structure"]
        structure[k, rows, cols] = local

    ds = xr.Dataset(
        {
            "t_on": var("step", column("t_on").astype(float), "s", "start of contact (continuous time)"),
            "t_off": var("step", column("t_off").astype(float), "s", "end of contact (continuous time)"),
            "complete": var("step", column("complete").astype(bool), "1",
                            "footprint clear of the mat's outermost sensels and contact fully "
                            "inside the recording"),
            "pass_index": var("step", column("pass_index").astype(int), "1", "pass over the mat, from 0"),
            "heel_x": var("step", heel[:, 0], "mm", "heel centre x",
                          definition="centre of the heel (calcaneal) load, on the foot axis"),
            "heel_y": var("step", heel[:, 1], "mm", "heel centre y",
                          definition="centre of the heel (calcaneal) load, on the foot axis"),
            "axis_angle": var("step", axis_angle, "deg", "foot axis direction",
                              definition="heel centre to second toe, counter-clockwise from +x"),
            "foot_angle": var("step", column("foot_angle").astype(float), "deg", "foot progression angle",
                              definition="foot axis vs line of progression, positive = toe-out"),
            "foot_length": var("step", np.full(n, template.length), "mm", "foot length",
                               definition="extent of the footprint along the foot axis"),
            "foot_width": var("step", np.full(n, template.width), "mm", "foot width",
                              definition="extent of the footprint across the foot axis"),
            "step_length": var("step", step_length, "mm", "step length",
                               definition="GAITRite: along the line of progression from the "
                               "previous (opposite) heel centre; line of progression = the "
                               "previous and next heel centres of the opposite foot"),
            "step_width": var("step", step_width, "mm", "step width",
                              definition="GAITRite: perpendicular distance from the heel centre "
                              "to the line of progression of the opposite foot"),
            "stride_length": var("step", stride_length, "mm", "stride length",
                                 definition="GAITRite: distance between the heel centres of this "
                                 "and the previous footprint of the same foot"),
            "impulse": var("step", column("impulse").astype(float), "N s", "vertical impulse of the step"),
            "force_time_integral": var(("step", "region"), fti, "N s", "force-time integral",
                                       definition="integral over contact of the region's force, "
                                       "from the continuous pressure field of the whole foot"),
            "relative_load": var(("step", "region"), relative, "%", "relative load",
                                 definition="region force-time integral / total x 100"),
            "force": var(("step", "time"), per_frame("force"), "N", "vertical force of the whole foot"),
            "force_on_mat": var(("step", "time"), per_frame("force_on_mat"), "N",
                                "vertical force of the part of the foot on the mat"),
            "cop_x": var(("step", "time"), cop[..., 0], "mm", "centre of pressure x (whole foot)"),
            "cop_y": var(("step", "time"), cop[..., 1], "mm", "centre of pressure y (whole foot)"),
            "structure": var(("step", "y", "x"), structure, "1", "structure that loads the sensel",
                             definition="0 = none, k = STRUCTURES[k - 1]: the structure with the largest share "
                             "of the sensel's pressure-time integral in the step"),
        },
        coords={
            "step": ("step", np.arange(n)),
            "side": ("step", column("side").astype(str) if n else np.zeros(0, dtype=str)),
            "region": ("region", list(regions.REGIONS)),
            "time": ("time", time, dict(units="s", long_name="time since the first frame")),
        },
    )
    return ds
