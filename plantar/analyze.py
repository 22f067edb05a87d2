"""``analyze()``: from a trial to the numbers, in one call.

The pipeline is the public functions run in turn: :class:`FootstepSegmentation`
finds the foot contacts, :func:`foot_geometry` measures each footprint,
:class:`SideAssignment` tells left from right, a masking scheme labels the regions,
and :func:`step_metrics` computes the loading of every region. The result follows
the ``analysis/2`` schema: one Dataset per trial, steps along ``step``, each step's
time series on its own axis ``step_frame`` (frames since its first contact), so the
analysis grows with the number of steps and frames, never with their product.
:func:`upgrade_analysis` brings an ``analysis/1`` Dataset (per-step series on the
whole recording's ``time``) to this layout.
"""

import warnings

import numpy as np
import pandas as pd
import xarray as xr

from . import regions
from ._schema import STANDARD_GRAVITY_M_S2, _check_trial_structure, is_sensor_trial
from ._version import __version__
from .geometry import foot_geometry, gaitrite_distances, pass_directions, progression_lines
from .metrics import (
    FORCE_CURVE,
    GAIT_LINE,
    STANCE_PERCENT,
    STEP_REGION_METRICS,
    arch_index,
    cpei,
    force_curve_features,
    gait_line,
    step_metrics,
    time_normalise,
)
from .steps import _KEEP_BLOCKS, FootstepSegmentation, SideAssignment, _groups, _volume
from .utils import fill_doc, logger, verbose as _verbose

SCHEMA_ANALYSIS = "analysis/2"
#: The previous layout: per-step series on (step, time), NaN outside the step.
SCHEMA_ANALYSIS_1 = "analysis/1"

#: Step-level variables -> (units, long_name, definition).
STEP_VARIABLES = {
    "t_on": ("s", "first contact", "time of the first frame with contact"),
    "t_off": ("s", "last contact", "time of the last frame with contact"),
    "stance_time": ("s", "stance time", "t_off - t_on + one frame period"),
    "double_support_time": ("s", "double support time",
                            "time this foot shares the ground with the previous and the next step of its pass "
                            "(initial + terminal double support; each contact lasting from its first frame to one "
                            "frame period after its last, as stance_time)"),
    "heel_x": ("mm", "heel centre x", "peak-pressure-weighted centroid of the heel region (u < 0.30)"),
    "heel_y": ("mm", "heel centre y", "peak-pressure-weighted centroid of the heel region (u < 0.30)"),
    "axis_angle": ("deg", "foot axis direction",
                   "heel centre to the forefoot load centroid (toward the second toe), counter-clockwise "
                   "from +x"),
    "foot_length": ("mm", "foot length", "extent of the footprint along the foot axis, ends to a fraction "
                    "of a sensel"),
    "foot_width": ("mm", "foot width", "extent of the footprint across the foot axis (sensel centres)"),
    "foot_angle": ("deg", "foot progression angle",
                   "foot axis vs the line of progression named by progression_line, positive = toe-out; NaN if "
                   "the side is unknown or there is no line"),
    "step_length": ("mm", "step length", "GAITRite: from the previous (opposite) heel centre along the line "
                    "of progression named by progression_line ('stride': the line through the opposite foot's "
                    "previous and next heel centres); NaN without a previous complete step of the opposite foot"),
    "step_width": ("mm", "step width", "GAITRite: perpendicular distance from the heel centre to the line of "
                   "progression named by progression_line ('stride': the line through the opposite foot's "
                   "previous and next heel centres)"),
    "stride_length": ("mm", "stride length", "GAITRite: distance from the previous heel centre of the same "
                      "foot"),
    "cpei": ("%", "centre of pressure excursion index",
             "Song et al. 1996: construction line first to last COP; excursion at 2/3 of foot length, "
             "positive lateral; / footprint width there x 100"),
    "arch_index": ("1", "arch index", "Cavanagh & Rodgers 1987: middle third / whole of the toeless "
                   "footprint (toes = u >= 0.80), thirds across the foot axis"),
}  # fmt: skip

#: The gait cycle of a step -> (units, long_name, definition): from its first contact to the next first contact
#: of the same foot (GAITRite definitions).
_CYCLE = ("; NaN unless the same foot's next step follows in the pass, right after or after one step of the other "
          "foot, both complete")
_SUPPORT = ("; NaN unless the opposite foot's previous and next steps are seen (complete, same pass)")
GAIT_CYCLE = {
    "stride_time": ("s", "stride time", "t_on of the same foot's next step - t_on (one gait cycle)" + _CYCLE),
    "swing_time": ("s", "swing time", "stride_time - stance_time" + _CYCLE),
    "single_support_time": ("s", "single support time",
                            "stance_time - double_support_time: the foot alone on the ground (the opposite foot's "
                            "swing)" + _SUPPORT),
    "stance_cycle_percent": ("%", "stance (% of gait cycle)", "stance_time / stride_time x 100" + _CYCLE),
    "swing_cycle_percent": ("%", "swing (% of gait cycle)", "swing_time / stride_time x 100" + _CYCLE),
    "double_support_cycle_percent": ("%", "double support (% of gait cycle)",
                                     "double_support_time / stride_time x 100" + _CYCLE + _SUPPORT[1:]),
    "single_support_cycle_percent": ("%", "single support (% of gait cycle)",
                                     "single_support_time / stride_time x 100" + _CYCLE + _SUPPORT[1:]),
    "stride_cadence": ("steps/min", "cadence of the stride", "2 x 60 / stride_time" + _CYCLE),
}  # fmt: skip


#: Every per-step variable of the analysis -> (units, long_name, definition).
STEP_LEVEL = {**STEP_VARIABLES, **GAIT_CYCLE, **FORCE_CURVE, **GAIT_LINE}


#: Where each step's series lie in the trial -> (units, long_name, definition).
FRAME_INDEX = {
    "frame_on": ("1", "first contact frame", "index along time of the step's first contact frame, its step_frame 0"),
    "frame_count": ("1", "contact frames", "frames from the first to the last contact frame, both included: the "
                    "step's step_frame runs 0 .. frame_count - 1"),
}  # fmt: skip

#: Per-step series on (step, step_frame) -> (units, long_name, definition). ``step_frame`` j of step k is the
#: trial's frame ``frame_on[k] + j``; from ``frame_count[k]`` on, every series is NaN (padding).
STEP_SERIES = {
    "step_time": ("s", "time of the step's frame",
                  "the trial's time of frame frame_on + step_frame, i.e. time[frame_on + step_frame]; NaN from "
                  "frame_count on"),
    "step_cop_x": ("mm", "centre of pressure x of the step",
                   "pressure-weighted centroid x of the step's own samples in the frame; NaN in a frame without "
                   "load and from frame_count on"),
    "step_cop_y": ("mm", "centre of pressure y of the step",
                   "pressure-weighted centroid y of the step's own samples in the frame; NaN in a frame without "
                   "load and from frame_count on"),
    "step_force": ("N", "vertical force of the step",
                   "sum over the step's own samples of pressure x sensel area; NaN from frame_count on"),
    "step_contact_area": ("mm2", "contact area of the step",
                          "area of the step's sensels loaded in the frame (above the contact threshold); NaN from "
                          "frame_count on"),
}  # fmt: skip

#: The stance-normalised series on (step, stance_percent) -> (source on step_frame, units, long_name, definition).
_STANCE = ("interpolated linearly in time at 0, 1, ..., 100 % of stance (0 % = t_on, 100 % = t_off, the first and "
           "last contact frames), frames without a value skipped, as region_force")
STANCE_SERIES = {
    "stance_cop_x": ("step_cop_x", "mm", "centre of pressure x of the step over stance", "step_cop_x " + _STANCE),
    "stance_cop_y": ("step_cop_y", "mm", "centre of pressure y of the step over stance", "step_cop_y " + _STANCE),
    "stance_force": ("step_force", "N", "vertical force of the step over stance",
                     "step_force " + _STANCE + "; equal to region_force of the region 'total'"),
}  # fmt: skip


#: What ``progression_line`` says, stated in its ``definition``.
PROGRESSION_LINE = (
    "the line of progression foot_angle, step_length and step_width are measured against: 'stride' = "
    "GAITRite's, through the heel centres of the opposite foot's previous and next complete steps; otherwise "
    "a line in the walking direction of the pass through the heel centre of the opposite foot's previous "
    "complete step (else its next), that direction taken from 'pass' = the pass's own complete footprints "
    "(the mean direction from the first to the last heel centre of each foot down twice), 'trial' = the "
    "trial's other passes (their mean direction, if they agree within 5 deg), or 'mat' = the long axis of "
    "the walkway; '' = none (a lone footprint, a step of unknown side, insoles): the three are NaN"
)


@fill_doc
@_verbose
def analyze(trial, *, threshold_kpa=None, mask="percent", segmentation=None, sides=None, verbose=None):
    """Analyse a trial: steps, sides, foot geometry, regions and loading metrics.

    Parameters
    ----------
    %(trial)s
    threshold_kpa : float | None
        Contact threshold per sensel, kPa; ``None`` sets it from the data (see
        :class:`plantar.steps.FootstepSegmentation`). Give this or
        ``segmentation``, not both.
    mask : str | object
        Masking scheme: ``"percent"`` (default; :mod:`plantar.regions`) or a mask
        object (see :func:`plantar.regions.get_mask`).
    segmentation : plantar.steps.FootstepSegmentation | None
        A configured segmentation to use instead of the default one (on a
        trial of irregular sensors, its insole rule).
    sides : plantar.steps.SideAssignment | None
        A configured side assignment to use instead of the default one.
    %(verbose)s

    Returns
    -------
    analysis : xarray.Dataset
        Schema ``analysis/2``: per ``step`` (ordered by first contact) the side
        (coordinate), ``t_on``, ``t_off``, ``frame_on``, ``frame_count``,
        ``complete``, foot geometry, spatiotemporal parameters with the line of
        progression they are measured against (``progression_line``), CPEI and
        arch index; per step and ``region`` the loading metrics (peak and mean
        pressure, max force, force- and pressure-time integrals, contact area and
        time, relative load); per step and ``step_frame`` (frames since the
        step's first contact, 0 .. the longest stance - 1, NaN past each step's
        own ``frame_count``) the frame's time ``step_time``, the centre of
        pressure ``step_cop_x``, ``step_cop_y`` and the force ``step_force``;
        per step and ``stance_percent`` (0, 1, ..., 100 % of stance) the same
        normalised to stance (``stance_cop_x``, ``stance_cop_y``,
        ``stance_force``) and per region (``region_force``); per step the region
        label image and peak-pressure map over the mat; per ``time`` the centre
        of pressure of both feet (``body_cop_x``, ``body_cop_y``). Every variable
        states its units, long name and definition. Trial attrs are kept;
        ``cadence_steps_per_min`` and ``walking_speed_m_s`` are added.

    Notes
    -----
    The trial attr ``layout`` says what the sensor is: ``"mat"`` (default; a
    floor mat or walkway), ``"insole"`` (one or two in-shoe insoles: no mat edge,
    no line of progression, contact by Tekscan's residual-force rule) or
    ``"window"`` (one contact cut out of a plate recording by the vendor's
    software, as emed and footscan exports are).

    A step is ``complete`` when its contact lies wholly inside the recording and,
    on a mat, its footprint does not touch the edge of the mat; a window is one
    complete contact. Incomplete steps are kept, but left out of cadence, speed
    and the GAITRite distances.

    Foot angle, step length and step width are measured against GAITRite's
    line of progression (through the heel centres of the opposite foot's
    previous and next complete steps) where it exists, else against the
    walking direction of the pass (from the pass's own footprints, the trial's
    other passes, or a walkway's long axis; see
    :func:`plantar.geometry.pass_directions`), through the opposite foot's
    previous heel centre: ``progression_line`` says which, per step. A lone
    footprint and insoles have none.

    Step k's frame ``step_frame = j`` is the trial's frame ``frame_on[k] + j``,
    at time ``step_time[k, j]``; the step's series end at ``frame_count[k]``.
    The output grows as the number of steps times the longest stance (plus the
    per-frame centre of pressure of both feet), not as steps times frames.

    Examples
    --------
    >>> import plantar
    >>> trial, truth = plantar.synth.walk(seed=2, passes=2)
    >>> analysis = plantar.analyze(trial)
    >>> analysis.sizes["step"] == truth.sizes["step"]
    True
    >>> heel = analysis.relative_load.sel(region="heel").where(analysis.complete)
    >>> bool(20 < float(heel.mean()) < 45)
    True
    >>> analysis.step_force.dims, analysis.stance_force.dims
    (('step', 'step_frame'), ('step', 'stance_percent'))
    >>> k = 0    # step 0's frames are the trial's frames from frame_on on
    >>> first = int(analysis.frame_on[k])
    >>> float(analysis.step_time[k, 0]) == float(trial.time[first]) == float(analysis.t_on[k])
    True
    """
    _check_trial_structure(trial)  # the values are checked in segmentation's pass over the array
    if is_sensor_trial(trial):
        from .insoles import analyze_sensors  # the sensor path sits above analyze

        if sides is not None:
            raise ValueError("a trial of irregular sensors takes each step's side from its insole: give no sides "
                             "(see plantar.insoles.analyze_sensors)")
        return analyze_sensors(trial, threshold_kpa=threshold_kpa, mask=mask, segmentation=segmentation)
    if segmentation is not None and threshold_kpa is not None:
        raise ValueError("give threshold_kpa or segmentation, not both")
    segmentation = segmentation or FootstepSegmentation(threshold_kpa=threshold_kpa)
    sides = sides or SideAssignment()
    scheme = regions.get_mask(mask)
    segmentation._segment_checked(trial, keep_blocks=True)
    steps = segmentation.steps_
    threshold = segmentation.threshold_kpa_
    pressure = trial["pressure"].values
    time = trial["time"].values
    x, y = trial["x"].values, trial["y"].values
    area_mm2 = float(trial.attrs["sensor_pitch_x_mm"]) * float(trial.attrs["sensor_pitch_y_mm"])
    if not steps:
        warnings.warn("no foot contact found in the trial: the analysis is empty", stacklevel=2)

    # Each step's block is kept from segmentation to loading when all of them together are small beside the
    # array (a walkway); else (insoles, whose steps' boxes cover the recording) it is taken from the trial twice.
    blocks = vars(segmentation).pop("_blocks", None)  # not held by the segmentation past the analysis
    if blocks is None and sum(_volume(s) for s in steps) <= _KEEP_BLOCKS * pressure.size:
        blocks = [s.pressure(pressure) for s in steps]  # a segmentation that keeps none
    geometry = [foot_geometry(s.pressure(pressure) if blocks is None else blocks[k], x[s.cols], y[s.rows],
                              threshold_kpa=threshold) for k, s in enumerate(steps)]  # fmt: skip
    frame_on = np.array([s.frames.start for s in steps], dtype=np.int64)
    frame_count = np.array([s.frames.stop - s.frames.start for s in steps], dtype=np.int64)
    t_on = time[frame_on]
    t_off = time[frame_on + frame_count - 1]
    layout = trial.attrs.get("layout", "mat")  # checked by check_trial
    complete = np.array([_complete(s, pressure.shape, layout) for s in steps], dtype=bool)
    sides.assign(
        t_on_s=t_on,
        t_off_s=t_off,
        heel_mm=[(g.heel_x, g.heel_y) for g in geometry],
        axis=[(g.axis_x, g.axis_y) for g in geometry],
        chirality_mm=[g.chirality_mm for g in geometry],
        complete=complete,
        side=trial.attrs.get("side") or None,
        side_split_x_mm=trial.attrs.get("side_split_x_mm"),
        layout=layout,
    )
    side = sides.sides_

    region_names = list(getattr(scheme, "regions", regions.REGIONS))
    matrix = scheme.region_matrix() if hasattr(scheme, "region_matrix") else regions.region_matrix()
    base_regions = tuple(getattr(scheme, "base_regions", regions.BASE_REGIONS))
    n, n_regions = len(steps), len(region_names)
    sided = [region_names.index(r) for r in getattr(scheme, "sided_regions", ())]
    dt = float(np.median(np.diff(time))) if time.size > 1 else 1.0 / float(trial.attrs["sampling_rate_hz"])
    mass = float(trial.attrs.get("body_mass_kg", 0.0) or 0.0)
    body_weight = mass * STANDARD_GRAVITY_M_S2 if mass > 0 else None
    metric_values = {name: np.full((n, n_regions), np.nan) for name in STEP_REGION_METRICS}
    # Per-step series on their own axis: frames since the step's first contact, padded to the longest stance.
    longest = int(frame_count.max()) if n else 0
    series = {name: np.full((n, longest), np.nan) for name in STEP_SERIES}
    region_force = np.full((n, n_regions, STANCE_PERCENT.size), np.nan)
    label_maps = np.zeros((n, y.size, x.size), dtype=np.int8)
    own_labels = base_regions != regions.BASE_REGIONS  # the scheme's own labels are kept beside the percent ones
    mask_maps = np.zeros((n, y.size, x.size), dtype=np.int8) if own_labels else None
    peak_maps = np.zeros((n, y.size, x.size), dtype=np.float32)
    step_values = {name: np.full(n, np.nan) for name in (*STEP_VARIABLES, *FORCE_CURVE, *GAIT_LINE)}
    for k, (step, g) in enumerate(zip(steps, geometry)):
        block = step.pressure(pressure) if blocks is None else blocks[k]
        count = frame_count[k]
        peak = block.max(axis=0)
        footprint = peak > threshold
        if getattr(scheme, "uses_pressure", False):
            labels = scheme.label(g, side[k], x[step.cols], y[step.rows], footprint, peak_kpa=peak)
        else:
            labels = scheme.label(g, side[k], x[step.cols], y[step.rows], footprint)
        step_time = time[step.frames]
        m = step_metrics(block, labels, time_s=step_time, sensel_area_mm2=area_mm2, threshold_kpa=threshold,
                         matrix=matrix)  # fmt: skip
        for name in STEP_REGION_METRICS:
            metric_values[name][k] = m[name]
            if side[k] == "unknown":
                metric_values[name][k, sided] = np.nan
        total = block.sum(axis=(1, 2), dtype=np.float64)
        loaded = total > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            cop_x = np.where(loaded, (block.sum(axis=1) @ x[step.cols]) / total, np.nan)
            cop_y = np.where(loaded, (block.sum(axis=2) @ y[step.rows]) / total, np.nan)
        series["step_time"][k, :count] = step_time
        series["step_cop_x"][k, :count] = cop_x
        series["step_cop_y"][k, :count] = cop_y
        series["step_force"][k, :count] = m["force"][:, 0]
        series["step_contact_area"][k, :count] = m["loaded_area"][:, 0]
        region_force[k] = time_normalise(m["force"], step_time, n_points=STANCE_PERCENT.size).T
        if side[k] == "unknown":
            region_force[k, sided] = np.nan
        if own_labels:
            mask_maps[k, step.rows, step.cols] = labels
            label_maps[k, step.rows, step.cols] = scheme.coarse(labels)
        else:
            label_maps[k, step.rows, step.cols] = labels
        peak_maps[k, step.rows, step.cols] = peak
        step_values["heel_x"][k], step_values["heel_y"][k] = g.heel_x, g.heel_y
        step_values["axis_angle"][k] = np.degrees(np.arctan2(g.axis_y, g.axis_x))
        step_values["foot_length"][k], step_values["foot_width"][k] = g.length_mm, g.width_mm
        step_values["stance_time"][k] = m["contact_time"][0]
        step_values["cpei"][k] = cpei(cop_x, cop_y, g, side[k], footprint, x[step.cols], y[step.rows])
        step_values["arch_index"][k] = arch_index(g, footprint, x[step.cols], y[step.rows])
        for name, value in force_curve_features(m["force"][:, 0], step_time, body_weight_n=body_weight).items():
            step_values[name][k] = value
        for name, value in gait_line(cop_x, cop_y, step_time, g, side[k]).items():
            step_values[name][k] = value
    step_values["t_on"], step_values["t_off"] = t_on.astype(float), t_off.astype(float)
    # Insoles do not travel over the sensor: no line of progression, no step length or width.
    usable = np.where(complete & (layout != "insole"), side, "unknown")
    heel = np.column_stack([step_values["heel_x"], step_values["heel_y"]])
    passes = sides.pass_index_
    # The walking direction of each pass, from its complete footprints (or the trial's other passes, or
    # the long axis of a walkway).
    whole = usable != "unknown"
    extent = np.array([np.ptp(x), np.ptp(y)])
    walkway = layout == "mat" and extent.max() >= 2 * extent.min()
    pass_direction, source = pass_directions(heel, usable, passes, complete=whole,
                                             mat_axis=np.eye(2)[np.argmax(extent)] if walkway else None)  # fmt: skip
    direction, _, line = progression_lines(heel, usable, passes, pass_direction=pass_direction, source=source)
    # Footprints cut by the mat edge: the pass's direction, for their foot angle only.
    cut = ~complete & (layout == "mat") & np.isin(side, ("left", "right")) & np.isfinite(pass_direction).all(axis=1)
    direction[cut], line[cut] = pass_direction[cut], source[cut]
    for k in np.flatnonzero(line != ""):
        angle = geometry[k].angle_to(*direction[k])
        step_values["foot_angle"][k] = angle if side[k] == "left" else -angle
    (step_values["step_length"], step_values["step_width"], step_values["stride_length"]) = gaitrite_distances(
        heel, usable, passes, pass_direction=pass_direction
    )
    step_values["double_support_time"] = _double_support(t_on, t_off, sides.pass_index_, dt)
    cycle = _gait_cycle(t_on, step_values["stance_time"], step_values["double_support_time"], side, complete,
                        sides.pass_index_)  # fmt: skip
    cadence, speed = _cadence_and_speed(t_on, heel, complete, side, sides.pass_index_, sides.direction_)
    if layout == "insole":
        speed = float("nan")  # insoles do not travel over the sensor

    stance = _stance_series(series, t_on, t_off)
    body_cop = _body_cop(series, frame_on, time.size)
    step_values.update(cycle)
    analysis = _dataset(trial, step_values, metric_values, complete, side, sides.pass_index_, line, frame_on,
                        frame_count, series, stance, region_force, label_maps, peak_maps, body_cop,
                        region_names)  # fmt: skip
    if own_labels:
        analysis["mask_label"] = (("step", "y", "x"), mask_maps, {
            "units": "1", "long_name": f"region of each sensel ({scheme.name} mask)",
            "definition": "0 = outside, k = k-th base region of the mask: " + ", ".join(base_regions)})  # fmt: skip
    analysis.attrs.update(
        plantar_schema=SCHEMA_ANALYSIS,
        plantar_version=__version__,
        cadence_steps_per_min=cadence,
        walking_speed_m_s=speed,
        threshold_kpa=threshold,
        mask=scheme.name,
        stuck_sensels=int(segmentation.stuck_.sum()),
    )
    logger.info(
        "analysed %d steps (%d complete; %d left, %d right, %d unknown)",
        n, int(complete.sum()), int((side == "left").sum()), int((side == "right").sum()),
        int((side == "unknown").sum()),
    )  # fmt: skip
    return analysis


def _complete(step, shape, layout):
    n_frames, n_rows, n_cols = shape
    if layout == "window":
        return True  # one contact cut out by the vendor's software: all of it, in space and time
    if step.frames.start == 0 or step.frames.stop == n_frames:
        return False
    if layout == "mat":
        footprint = step.mask.any(axis=0)
        if step.rows.start == 0 and footprint[0].any():
            return False
        if step.rows.stop == n_rows and footprint[-1].any():
            return False
        if step.cols.start == 0 and footprint[:, 0].any():
            return False
        if step.cols.stop == n_cols and footprint[:, -1].any():
            return False
    return True


def _double_support(t_on, t_off, passes, dt):
    """Time each step shares with the previous and the next step of its pass.

    A contact holds the ground from its first contact frame to one frame period after its last (as stance_time).
    """
    n = len(t_on)
    out = np.zeros(n)
    for k in range(n):
        for j in (k - 1, k + 1):
            if 0 <= j < n and passes[j] == passes[k]:
                out[k] += max(0.0, min(t_off[k], t_off[j]) + dt - max(t_on[k], t_on[j]))
    return out


def _gait_cycle(t_on, stance, double_support, side, complete, passes):
    """Stride, swing and support times of each step and their share of the gait cycle (see GAIT_CYCLE)."""
    n = len(t_on)
    out = {name: np.full(n, np.nan) for name in GAIT_CYCLE}
    if n == 0:
        return out
    side, passes, complete = np.asarray(side), np.asarray(passes), np.asarray(complete, dtype=bool)
    index = np.arange(n)
    known = np.isin(side, ("left", "right")) & complete

    def follows(offset, same):
        """Step k + offset exists, is complete, in k's pass, of k's side (same) or the other (not same)."""
        j = np.clip(index + offset, 0, n - 1)
        inside = (index + offset >= 0) & (index + offset < n)
        return inside & known & known[j] & (passes[j] == passes) & ((side[j] == side) == same)

    # The same foot's next contact: right after (the other foot unseen: one insole, a footfall off the mat)
    # or after one contact of the other foot.
    next_opposite = follows(1, False)
    at_once = follows(1, True)
    after_other = next_opposite & follows(2, True)
    stride_ok = at_once | after_other
    j2 = np.clip(np.where(at_once, index + 1, index + 2), 0, n - 1)
    support_ok = follows(-1, False) & next_opposite
    stride = np.where(stride_ok, t_on[j2] - t_on, np.nan)
    single = np.where(support_ok, stance - double_support, np.nan)
    out["stride_time"] = stride
    out["swing_time"] = stride - stance
    out["single_support_time"] = single
    with np.errstate(invalid="ignore", divide="ignore"):
        out["stance_cycle_percent"] = 100.0 * stance / stride
        out["swing_cycle_percent"] = 100.0 * (stride - stance) / stride
        out["double_support_cycle_percent"] = np.where(support_ok, 100.0 * double_support / stride, np.nan)
        out["single_support_cycle_percent"] = 100.0 * single / stride
        out["stride_cadence"] = 120.0 / stride
    return out


def _cadence_and_speed(t_on, heel, complete, side, passes, direction):
    """Cadence (steps/min) from successive complete steps; speed (m/s) per pass, GAITRite style.

    Two successive contacts of the same foot (one insole, or a step missing on the
    mat) are a stride apart: that interval counts as two steps.
    """
    intervals = []
    distance, duration = 0.0, 0.0
    for members in _groups(np.asarray(passes)):  # one sort, not one scan per pass
        members = members[complete[members]]
        if len(members) < 2:
            continue
        gaps = np.diff(t_on[members])
        consecutive = np.diff(members) == 1
        same_foot = (side[members][1:] == side[members][:-1]) & (side[members][1:] != "unknown")
        intervals += list(np.where(same_foot, gaps / 2, gaps)[consecutive])
        travel = heel[members[-1]] - heel[members[0]]
        known = np.all(np.isfinite(direction[members]), axis=1)
        if known.any():
            d = direction[members][known].mean(axis=0)
            distance += abs(travel @ (d / np.linalg.norm(d)))
        else:
            distance += np.linalg.norm(travel)  # at most a step width's tilt too long
        duration += t_on[members[-1]] - t_on[members[0]]
    if not intervals:
        return float("nan"), float("nan")
    intervals = np.array(intervals)
    intervals = intervals[(intervals > 0) & (intervals < 1.5 * np.median(intervals))]
    if not intervals.size:
        return float("nan"), float("nan")
    cadence = 60.0 / intervals.mean()
    speed = distance / duration / 1000.0 if duration > 0 else float("nan")
    return float(cadence), float(speed)


def _stance_series(series, t_on, t_off):
    """The step series on stance_percent: each step's frames interpolated at 0 .. 100 % of its stance."""
    n = len(t_on)
    out = {name: np.full((n, STANCE_PERCENT.size), np.nan) for name in STANCE_SERIES}
    sources = [source for source, *_ in STANCE_SERIES.values()]
    for k in range(n):  # one interpolation per step (of its own frames)
        frames = np.isfinite(series["step_time"][k])
        values = np.column_stack([series[source][k, frames] for source in sources])
        curves = time_normalise(values, series["step_time"][k, frames], t_on_s=t_on[k], t_off_s=t_off[k],
                                n_points=STANCE_PERCENT.size)  # fmt: skip
        for name, curve in zip(STANCE_SERIES, curves.T):
            out[name][k] = curve
    return out


def _step_frames(frame_on, n_step_frames):
    """The trial frame of every (step, step_frame), shape (n_steps, n_step_frames)."""
    return np.asarray(frame_on, dtype=np.int64)[:, None] + np.arange(n_step_frames)


def _body_cop(series, frame_on, n_frames):
    """Centre of pressure of all steps together per frame, (n_frames, 2) mm: their force-weighted mean."""
    force = series["step_force"]
    frames = _step_frames(frame_on, force.shape[1])
    used = force > 0  # False on padding (NaN) and in frames without load
    index, weights = frames[used], force[used]
    total = np.bincount(index, weights=weights, minlength=n_frames)
    body = np.full((n_frames, 2), np.nan)
    loaded = total > 0
    for j, name in enumerate(("step_cop_x", "step_cop_y")):
        moment = np.bincount(index, weights=weights * series[name][used], minlength=n_frames)
        body[loaded, j] = moment[loaded] / total[loaded]
    return body


def _dataset(trial, step_values, metric_values, complete, side, passes, line, frame_on, frame_count, series, stance,
             region_force, label_maps, peak_maps, body_cop, region_names, space=("y", "x")):  # fmt: skip
    def var(dims, data, units, long_name, definition=None):
        attrs = {"units": units, "long_name": long_name}
        if definition:
            attrs["definition"] = definition
        return (dims, data, attrs)

    data = {}
    for name, (units, long_name, definition) in STEP_LEVEL.items():
        data[name] = var("step", step_values[name], units, long_name, definition)
    for name, values in (("frame_on", frame_on), ("frame_count", frame_count)):
        data[name] = var("step", np.asarray(values, dtype=np.int64), *FRAME_INDEX[name])
    data["complete"] = var("step", complete, "1", "complete step",
                           "contact inside the recording and footprint off the mat edge")  # fmt: skip
    data["pass_index"] = var("step", np.asarray(passes, dtype=int), "1", "pass over the mat, from 0")
    data["progression_line"] = ("step", np.asarray(line, dtype="<U6"), {"long_name": "line of progression used",
                                "definition": PROGRESSION_LINE})  # fmt: skip
    for name, (units, long_name, definition) in STEP_REGION_METRICS.items():
        data[name] = var(("step", "region"), metric_values[name], units, long_name, definition)
    for name, (units, long_name, definition) in STEP_SERIES.items():
        data[name] = var(("step", "step_frame"), series[name], units, long_name, definition)
    for name, (_, units, long_name, definition) in STANCE_SERIES.items():
        data[name] = var(("step", "stance_percent"), stance[name], units, long_name, definition)
    data["region_force"] = var(("step", "region", "stance_percent"), region_force, "N",
                               "vertical force of the region over stance",
                               "sum over the region's sensels of pressure x sensel area, interpolated linearly "
                               "at 0, 1, ..., 100 % of stance (0 % = t_on, 100 % = t_off, the first and last "
                               "contact frames); NaN for medial/lateral regions of a step of unknown side")  # fmt: skip
    data["body_cop_x"] = var("time", body_cop[:, 0], "mm", "centre of pressure x of both feet",
                             "force-weighted mean of the centres of pressure of the steps in contact")  # fmt: skip
    data["body_cop_y"] = var("time", body_cop[:, 1], "mm", "centre of pressure y of both feet",
                             "force-weighted mean of the centres of pressure of the steps in contact")  # fmt: skip
    data["region_label"] = var(("step", *space), label_maps, "1", "region of each sensel",
                               "0 = outside, k = k-th base region: " + ", ".join(regions.BASE_REGIONS))  # fmt: skip
    data["peak_pressure_map"] = var(("step", *space), peak_maps, "kPa", "peak pressure of the step",
                                    "max over the step's frames")  # fmt: skip
    n = len(complete)
    n_step_frames = series["step_time"].shape[1]
    ds = xr.Dataset(
        data,
        coords={
            "step": ("step", np.arange(n)),
            "side": ("step", np.asarray(side, dtype=str) if n else np.zeros(0, dtype="<U7")),
            "region": ("region", region_names),
            "step_frame": ("step_frame", np.arange(n_step_frames),
                           {"units": "1", "long_name": "frames since the step's first contact"}),
            "stance_percent": ("stance_percent", STANCE_PERCENT, {"units": "%", "long_name": "percent of stance"}),
            "time": trial["time"],
            **{name: trial[name] for name in space},
        },
    )
    ds.attrs.update({k: v for k, v in trial.attrs.items() if k != "plantar_schema"})
    return ds


def upgrade_analysis(analysis):
    """Bring an ``analysis/1`` Dataset to the current schema (``analysis/2``).

    ``analysis/1`` kept each step's centre of pressure and force on the whole
    recording's ``time`` (``cop_x``, ``cop_y``, ``force`` on (step, time), NaN
    or 0 outside the step). They move to the step's own axis ``step_frame``
    (``step_cop_x``, ``step_cop_y``, ``step_force``, with ``step_time``,
    ``frame_on`` and ``frame_count``) and to ``stance_percent``
    (``stance_cop_x``, ``stance_cop_y``, ``stance_force``), exactly as
    :func:`analyze` computes them now; everything else is kept. The steps'
    frames are gathered at once from their first and last contact times.
    An analysis already of the current schema is returned as it is. The
    functions that take an analysis (``to_table``, ``compare``, the figures
    and the report) upgrade an ``analysis/1`` themselves.

    Parameters
    ----------
    analysis : xarray.Dataset
        An analysis of schema ``analysis/1`` or ``analysis/2``.

    Returns
    -------
    analysis : xarray.Dataset
        Schema ``analysis/2``.

    Raises
    ------
    ValueError
        If the Dataset is not an analysis.

    Examples
    --------
    An ``analysis/1`` Dataset rebuilt from a current analysis, and upgraded back:

    >>> import numpy as np
    >>> import plantar
    >>> from plantar.analyze import upgrade_analysis
    >>> trial, _ = plantar.synth.walk(seed=2, passes=1)
    >>> new = plantar.analyze(trial)
    >>> n, frames = new.sizes["step"], new.sizes["time"]
    >>> force = np.zeros((n, frames))
    >>> for k in range(n):
    ...     count, first = int(new.frame_count[k]), int(new.frame_on[k])
    ...     force[k, first : first + count] = new.step_force.values[k, :count]
    >>> old = new.drop_vars(["frame_on", "frame_count", "step_time", "step_cop_x", "step_cop_y", "step_force",
    ...                      "stance_cop_x", "stance_cop_y", "stance_force", "step_frame"])
    >>> old = old.assign(force=(("step", "time"), force), cop_x=(("step", "time"), np.full((n, frames), np.nan)),
    ...                  cop_y=(("step", "time"), np.full((n, frames), np.nan)))
    >>> old.attrs["plantar_schema"] = "analysis/1"
    >>> upgraded = upgrade_analysis(old)
    >>> upgraded.attrs["plantar_schema"], bool((upgraded.frame_on == new.frame_on).all())
    ('analysis/2', True)
    >>> bool(np.allclose(upgraded.step_force, new.step_force, equal_nan=True))
    True
    """
    schema = analysis.attrs.get("plantar_schema") if isinstance(analysis, xr.Dataset) else None
    if schema == SCHEMA_ANALYSIS:
        return analysis
    if schema != SCHEMA_ANALYSIS_1:
        got = f"schema {schema!r}" if isinstance(analysis, xr.Dataset) else type(analysis).__name__
        raise ValueError(f"upgrade_analysis needs an analysis (schema {SCHEMA_ANALYSIS_1!r} or "
                         f"{SCHEMA_ANALYSIS!r}) from plantar.analyze(), got {got}")  # fmt: skip
    time = analysis["time"].values
    # t_on and t_off are frame times: their frames are found exactly.
    frame_on = np.searchsorted(time, analysis["t_on"].values).astype(np.int64)
    frame_count = np.searchsorted(time, analysis["t_off"].values) - frame_on + 1
    longest = int(frame_count.max()) if frame_count.size else 0
    frames = _step_frames(frame_on, longest)
    inside = np.arange(longest) < frame_count[:, None]
    at = np.where(inside, frames, 0)
    series = {"step_time": np.where(inside, time[at], np.nan)}
    for new, old in (("step_cop_x", "cop_x"), ("step_cop_y", "cop_y"), ("step_force", "force")):
        series[new] = np.where(inside, np.take_along_axis(analysis[old].values, at, axis=1), np.nan)
    stance = _stance_series(series, analysis["t_on"].values, analysis["t_off"].values)
    ds = analysis.drop_vars(["cop_x", "cop_y", "force"])
    for name, values in (("frame_on", frame_on), ("frame_count", frame_count)):
        ds[name] = ("step", values.astype(np.int64), dict(zip(("units", "long_name", "definition"), FRAME_INDEX[name])))
    for name, (units, long_name, definition) in STEP_SERIES.items():
        if name in series:  # analysis/1 kept no contact area per frame
            ds[name] = (("step", "step_frame"), series[name], {"units": units, "long_name": long_name,
                                                               "definition": definition})  # fmt: skip
    for name, (_, units, long_name, definition) in STANCE_SERIES.items():
        ds[name] = (("step", "stance_percent"), stance[name], {"units": units, "long_name": long_name,
                                                               "definition": definition})  # fmt: skip
    ds = ds.assign_coords(step_frame=("step_frame", np.arange(longest),
                                      {"units": "1", "long_name": "frames since the step's first contact"}))  # fmt: skip
    ds.attrs["plantar_schema"] = SCHEMA_ANALYSIS
    logger.info("upgraded an analysis of schema %r to %r", SCHEMA_ANALYSIS_1, SCHEMA_ANALYSIS)
    return ds


def _current(analysis):
    """An ``analysis/1`` upgraded to the current schema; anything else as it is (the caller checks it)."""
    if isinstance(analysis, xr.Dataset) and analysis.attrs.get("plantar_schema") == SCHEMA_ANALYSIS_1:
        return upgrade_analysis(analysis)
    return analysis


def to_table(analysis):
    """The analysis as a tidy table: one row per step, region and metric.

    Parameters
    ----------
    analysis : xarray.Dataset
        An analysis (schema ``analysis/2``, or ``analysis/1``: the table holds
        the per-step numbers the analysis has) from :func:`analyze`.

    Returns
    -------
    table : pandas.DataFrame
        Columns ``step``, ``side``, ``complete``, ``region``, ``metric``,
        ``value``, ``units``, ``definition``. Step-level metrics (foot length,
        step length, CPEI, force peaks, gait line, ...) have an empty
        ``region``. Where systems define a quantity differently, each variant
        is a metric of its own, side by side (``pressure_time_integral`` per
        novel and ``pressure_time_integral_melai``; ``peak_pressure`` and
        ``peak_mask_pressure``; ``contact_area`` and ``max_contact_area``), and
        ``definition`` says which is which, with its source. Ready for R,
        pandas or a spreadsheet.

    Examples
    --------
    >>> import plantar
    >>> trial, _ = plantar.synth.walk(seed=2, passes=1)
    >>> table = plantar.to_table(plantar.analyze(trial))
    >>> list(table.columns)
    ['step', 'side', 'complete', 'region', 'metric', 'value', 'units', 'definition']
    >>> row = table.query("metric == 'peak_pressure' and region == 'heel'").iloc[0]
    >>> row["units"]
    'kPa'
    >>> heel = table.query("region == 'heel' and metric.str.startswith('pressure_time_integral')")
    >>> sorted(set(heel.metric))
    ['pressure_time_integral', 'pressure_time_integral_melai']
    """
    if analysis.attrs.get("plantar_schema") not in (SCHEMA_ANALYSIS, SCHEMA_ANALYSIS_1):  # same per-step metrics
        raise ValueError(
            f"to_table needs an analysis (schema {SCHEMA_ANALYSIS!r}), "
            f"got schema {analysis.attrs.get('plantar_schema')!r}"
        )
    steps = analysis["step"].values
    regions = np.asarray(analysis["region"].values, dtype=object)
    per_region = [name for name in STEP_REGION_METRICS if name in analysis]  # an older analysis lacks some
    per_step = [name for name in STEP_LEVEL if name in analysis]
    n_steps, n_regions = steps.size, regions.size
    # rows: each per-region metric step by step (regions in order), then each per-step metric; built as whole
    # columns at once (a table of a few thousand rows per metric, not one frame per metric)
    index = np.concatenate([np.repeat(np.arange(n_steps), n_regions)] * len(per_region)
                           + [np.arange(n_steps)] * len(per_step) + [np.zeros(0, int)])  # fmt: skip
    sizes = [n_steps * n_regions] * len(per_region) + [n_steps] * len(per_step)
    names = per_region + per_step

    def repeated(values):
        return np.repeat(np.array(values, dtype=object), sizes) if names else np.zeros(0, dtype=object)

    region = np.concatenate([np.tile(regions, n_steps)] * len(per_region)
                            + [np.full(n_steps, "", dtype=object)] * len(per_step) + [np.zeros(0, dtype=object)])  # fmt: skip
    value = np.concatenate([analysis[name].values.ravel().astype(np.float64) for name in names] + [np.zeros(0)])
    return pd.DataFrame({
        "step": steps[index],
        "side": analysis["side"].values[index],
        "complete": analysis["complete"].values[index],
        "region": region,
        "metric": repeated(names),
        "value": value,
        "units": repeated([analysis[name].attrs["units"] for name in names]),
        "definition": repeated([analysis[name].attrs.get("definition", "") for name in names]),
    })  # fmt: skip
