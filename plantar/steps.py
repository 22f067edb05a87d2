"""Footstep segmentation and left/right assignment.

A footstep is one foot contact: a connected region of contact in space and time.
:class:`FootstepSegmentation` finds them; :class:`SideAssignment` tells left from
right. Both are small classes with their parameters set in ``__init__`` and their
results in ``name_`` attributes, so that a lab can tune or replace either.
"""

import dataclasses

import numpy as np

from . import insoles
from ._schema import _PRESSURE_WHERE, _block_frames, _check_trial_structure, _raise_for_pressure_range, check_trial
from ._schema import is_sensor_trial
from .utils import logger

#: The steps' pressure blocks are kept from segmentation through the analysis while they hold at most this
#: fraction of the array.
_KEEP_BLOCKS = 0.05
#: Frames per bucket of the index that finds the parts of a contact near in time.
_MERGE_BUCKET = 64
#: Frames with at most this fraction of the busiest frame's contact are idle.
_IDLE_FRACTION = 0.05
#: Runs of contact (see _components) whose parts are found at once: the temporary memory stays about 1 MB.
_BATCH_RUNS = 1 << 13
#: The bits of float32 +inf: non-negative finite float32 values are below them as unsigned integers.
_INF_BITS = np.uint32(0x7F800000)
#: Unsigned integers as wide as n bools, to "or" n neighbouring samples in one comparison.
_WORDS = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


@dataclasses.dataclass(frozen=True)
class Footstep:
    """One foot contact: where and when it is in the trial, and which samples are its.

    On a grid the box is (time, y, x). On a trial of irregular sensors
    (insoles, dims ``(time, sensor)``) the box is (time, sensor): ``rows`` is
    ``None``, ``cols`` is the span of the ``sensor`` axis that holds the
    insole's sensors, ``mask`` is 2-D and marks the insole's own sensors in
    every frame of its stance (each sensor of an insole is under that foot,
    loaded or not), and ``side`` is the insole's.

    Attributes
    ----------
    frames, rows, cols : slice
        The step's bounding box in the trial's (time, y, x) index space;
        on a sensor trial ``rows`` is ``None`` and ``cols`` slices ``sensor``.
    mask : ndarray of bool, shape (n_frames, n_rows, n_cols) or (n_frames, n_sensors)
        Which samples inside the box belong to this step (contact above the
        threshold, connected to it). Other feet inside the box are False. Kept
        bit-packed (a step's box of an insole is the insole over its stance) and
        unpacked on each access.
    side : str | None
        The insole's side (``"left"``/``"right"``) on a sensor trial; ``None``
        on a grid (:class:`SideAssignment` tells).
    """

    frames: slice
    rows: slice
    cols: slice
    side: str = None
    _bits: np.ndarray = dataclasses.field(repr=False, default=None)

    def __init__(self, frames, rows, cols, mask, side=None):
        object.__setattr__(self, "frames", frames)
        object.__setattr__(self, "rows", rows)
        object.__setattr__(self, "cols", cols)
        object.__setattr__(self, "side", side)
        object.__setattr__(self, "_bits", np.packbits(np.asarray(mask, dtype=bool), axis=None))
        object.__setattr__(self, "_shape", np.shape(mask))

    @property
    def mask(self):
        """Which samples inside the box are this step's (bool, shape (n_frames, n_rows, n_cols))."""
        return np.unpackbits(self._bits, count=int(np.prod(self._shape))).view(bool).reshape(self._shape)

    def pressure(self, pressure):
        """This step's pressure (kPa) in its box; zero where the sample is not this step's.

        Parameters
        ----------
        pressure : ndarray, shape (n_frames, n_rows, n_cols) or (n_frames, n_sensors)
            The trial's whole pressure array.

        Returns
        -------
        step_pressure : ndarray of float32
            Shape of :attr:`mask`.

        Examples
        --------
        >>> import numpy as np
        >>> from plantar.steps import Footstep
        >>> step = Footstep(slice(0, 1), slice(0, 1), slice(0, 2), np.array([[[True, False]]]))
        >>> step.pressure(np.full((3, 2, 2), 7.0, dtype=np.float32))
        array([[[7., 0.]]], dtype=float32)
        """
        return self._pressure(pressure, self.mask)

    def _pressure(self, pressure, mask):
        """:meth:`pressure` with the step's :attr:`mask` already unpacked."""
        box = pressure[self.frames, self.cols] if self.rows is None else pressure[self.frames, self.rows, self.cols]
        out = np.where(mask, box, np.float32(0))
        # A trial's steps hold no NaN (no sensor, no contact) and no inf: check, rather than replace, on the way
        # (their samples exceed the threshold and the rest is 0, so the maximum is finite unless one is inf).
        return out if out.size == 0 or np.isfinite(out.max()) else np.nan_to_num(out)


class FootstepSegmentation:
    """Find foot contacts as connected regions of contact in space and time.

    A sample is *in contact* when its pressure exceeds ``threshold_kpa``. Contact
    is first pooled into blocks of about ``block_s`` x ``block_mm`` x ``block_mm``
    and labelled in 3-D (time, y, x; 26-connectivity), which separates two feet
    on the mat at once and repeated passes over the same spot. Each pooled region
    is then labelled again at full resolution inside its own bounding box, and
    the connected parts of one contact are put back together: largest first, a
    part joins a contact it overlaps in time (by half its own duration or more),
    lies within ``merge_distance_mm`` of, and still fits in a foot with
    (``max_foot_length_mm`` x ``max_foot_width_mm``). Toes that touch apart from
    the forefoot join it; two feet side by side, or the trailing toes and the
    leading heel of a short step, do not fit in one foot and stay apart.

    A part at the edge of a contact in time (in the frame before or after it, or
    overlapping it less than half its own duration) joins it when its footprint
    touches the contact's, within a sensel: a sensel loaded alone for a frame as
    the foot lands or leaves belongs to the foot, so every loaded sensel of a
    footprint is its step's and the step's peak map is the raw per-sensel
    maximum over its frames.

    The pressure array is read once, in blocks of frames (with the value checks
    of :func:`plantar.check_trial`): time grows linearly with the recording and
    temporary memory is a small fraction of the array; everything else is done on
    each pooled region's or step's bounding box. Contact is labelled from its
    runs along rows, joined across neighbouring rows and frames (the result of
    3-D labelling, at a cost that grows with the contact rather than with the
    boxes' volume), and the steps' masks are kept bit-packed.

    Sensels that stay in contact while the mat is otherwise idle (creased insoles,
    hot sensels) are found first and ignored; idle frames lie inside a phase
    without a foot, never at the first or last frames of a contact. Regions with
    less than ``min_area_mm2`` of footprint, ``min_contact_s`` of contact or
    ``min_force_n`` of peak force are noise and dropped.

    A trial of irregular sensors (in-shoe insoles such as pedar or Moticon;
    :func:`plantar.is_sensor_trial`) has no space to label: each insole is one
    foot, and its steps are its stances by the *insole rule*
    (:func:`plantar.insoles.insole_steps`) on the insole's force
    (:func:`plantar.insoles.side_forces`), with ``on_fraction``,
    ``off_fraction``, ``min_contact_s`` as the shortest stance and
    ``min_swing_s``. Each step is a :class:`Footstep` over ``(time, sensor)``
    with its ``side`` set; ``threshold_kpa`` (default
    :data:`plantar.insoles.THRESHOLD_KPA`) is then only the level at which a
    sensor counts as loaded in the analysis, and the parameters of contact in
    space (``min_area_mm2``, ``min_force_n``, ``block_*``, ``merge_distance_mm``,
    ``max_foot_*``, ``stuck_fraction``, ``residual_force_fraction``) do not
    apply. So one call segments a mat, a grid insole and a sensor insole.

    Parameters
    ----------
    threshold_kpa : float | None
        Contact threshold per sensel, kPa. ``None`` (default) sets it from the
        data: the median plus 5 robust standard deviations (1.4826 x MAD) of a
        sample of all values, and at least 1 kPa. Vendor exports are zero outside
        contact, so this gives 1 kPa there; on a noisy raw mat it sits above the
        noise floor. (Tekscan's alternative, a threshold on total force of
        F_min + 10 % of the range, suits insoles with residual force but cannot
        separate two feet on a mat.)
    min_contact_s : float
        Shortest contact kept, s.
    min_area_mm2 : float
        Smallest footprint kept, mm^2 (a toe tip alone is about 200 mm^2).
    min_force_n : float
        Smallest peak force kept, N.
    block_s, block_mm : float
        Size of the pooling blocks in s and mm.
    merge_distance_mm : float
        Largest gap between two parts of one contact, mm: toes to forefoot is
        about 20-25 mm in adults; a high-arched foot without midfoot contact
        leaves 50-100 mm between heel and forefoot.
    max_foot_length_mm, max_foot_width_mm : float
        Size of the largest footprint (shod included), mm.
    stuck_fraction : float
        A sensel in contact in more than this fraction of the idle frames is
        stuck. The idle frames are the tenth of frames with the fewest sensels in
        contact, if those hold at most 5 % of the busiest frame's contact (no foot
        on the mat), and only those inside an idle phase (the blocks of
        ``block_s`` before and after are idle too): the last frames of a contact,
        a toe loaded alone, are not idle. Without idle frames (someone standing
        throughout, a plate export cut to the contact) no sensel is called stuck.
    residual_force_fraction : float | None
        Insoles: a frame counts as contact only where the foot's force exceeds
        F_min + this fraction of (F_max - F_min), Tekscan's rule for in-shoe
        sensors, whose force rarely returns to zero in swing. ``None`` (default):
        0.10 for insoles (trial attr ``layout`` = ``"insole"``; each foot on its own
        side of ``side_split_x_mm`` when both are in the trial, and its contact
        labelled on its own columns: two insoles are two sensors), off for mats.
    on_fraction, off_fraction : float
        Trials of irregular sensors: a stance starts at the first frame above
        ``on_fraction`` and ends at the last above ``off_fraction`` of the
        step's peak force (the insole rule).
    min_swing_s : float
        Trials of irregular sensors: shortest swing, s; stances closer than
        this are one.

    Attributes
    ----------
    threshold_kpa_ : float
        The threshold used.
    stuck_ : ndarray of bool, shape (n_rows, n_cols) or (n_sensors,)
        Sensels found stuck and ignored (none on a trial of irregular sensors).
    steps_ : list of Footstep
        The steps found, ordered by their first frame.

    Examples
    --------
    >>> import plantar
    >>> from plantar.steps import FootstepSegmentation
    >>> trial, truth = plantar.synth.walk(seed=0, passes=1)
    >>> seg = FootstepSegmentation().segment(trial)
    >>> len(seg.steps_) == truth.sizes["step"]
    True

    The same call on insoles of irregular sensors (the insole rule):

    >>> insoles, truth, _ = plantar.synth.sensor_insoles(seed=0, duration_s=4.0)
    >>> steps = FootstepSegmentation().segment(insoles).steps_
    >>> len(steps) == truth.sizes["step"], steps[0].rows, steps[0].mask.ndim
    (True, None, 2)
    >>> sorted({s.side for s in steps})
    ['left', 'right']
    """

    def __init__(
        self,
        *,
        threshold_kpa=None,
        min_contact_s=0.1,
        min_area_mm2=400.0,
        min_force_n=20.0,
        block_s=0.04,
        block_mm=20.0,
        merge_distance_mm=100.0,
        max_foot_length_mm=350.0,
        max_foot_width_mm=160.0,
        stuck_fraction=0.5,
        residual_force_fraction=None,
        on_fraction=insoles.ON_FRACTION,
        off_fraction=insoles.OFF_FRACTION,
        min_swing_s=insoles.MIN_SWING_S,
    ):
        self.threshold_kpa = threshold_kpa
        self.min_contact_s = min_contact_s
        self.min_area_mm2 = min_area_mm2
        self.min_force_n = min_force_n
        self.block_s = block_s
        self.block_mm = block_mm
        self.merge_distance_mm = merge_distance_mm
        self.max_foot_length_mm = max_foot_length_mm
        self.max_foot_width_mm = max_foot_width_mm
        self.stuck_fraction = stuck_fraction
        self.residual_force_fraction = residual_force_fraction
        self.on_fraction = on_fraction
        self.off_fraction = off_fraction
        self.min_swing_s = min_swing_s

    def segment(self, trial):
        """Find the steps of a trial.

        Parameters
        ----------
        trial : xarray.Dataset
            A trial (schema ``trial/1``): on a grid, or of irregular sensors
            (the insole rule; see the class).

        Returns
        -------
        self : FootstepSegmentation
            With ``threshold_kpa_``, ``stuck_`` and ``steps_`` set.
        """
        if is_sensor_trial(trial):
            check_trial(trial)
            return self._segment_sensors(trial)
        _check_trial_structure(trial)
        return self._segment_checked(trial)

    #: Same as :meth:`segment` (the name estimators use).
    fit = segment

    def _segment_sensors(self, trial):
        """:meth:`segment` for a checked trial of irregular sensors: each insole's stances by the insole rule."""
        for name in ("min_contact_s", "min_swing_s"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and np.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a number >= 0, got {value!r}")
        for name in ("on_fraction", "off_fraction"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0 < value < 1):
                raise ValueError(f"{name} must be a fraction of the step's peak force in (0, 1), got {value!r}")
        threshold = insoles.THRESHOLD_KPA if self.threshold_kpa is None else self.threshold_kpa
        if not (np.isfinite(threshold) and threshold >= 0):
            raise ValueError(f"threshold_kpa must be >= 0 or None, got {threshold!r}")
        time = trial["time"].values
        sensor_side = trial["sensor_side"].values
        steps = []
        for side, force in insoles.side_forces(trial).items():
            own = np.flatnonzero(sensor_side == side)
            span = slice(int(own[0]), int(own[-1]) + 1)
            mine = (sensor_side[span] == side)[None, :]
            found = insoles.insole_steps(force, time, on_fraction=self.on_fraction, off_fraction=self.off_fraction,
                                         min_stance_s=self.min_contact_s, min_swing_s=self.min_swing_s)  # fmt: skip
            for first, last in found:  # one stance at a time (a few per second)
                frames = slice(int(first), int(last) + 1)
                mask = np.broadcast_to(mine, (frames.stop - frames.start, mine.shape[1]))
                steps.append(Footstep(frames, None, span, mask, side=side))
        steps.sort(key=lambda s: (s.frames.start, insoles.SIDES.index(s.side)))
        logger.info("found %d insole steps by the insole rule", len(steps))
        self.threshold_kpa_ = float(threshold)
        self.stuck_ = np.zeros(trial.sizes["sensor"], dtype=bool)
        self.steps_ = steps
        return self

    def _segment_checked(self, trial, check_values=True, keep_blocks=False):
        """:meth:`segment` for a trial whose structure is checked (:func:`plantar.analyze` does).

        The pressure values are checked in the same pass over the array that
        finds the contact, with :func:`plantar.check_trial`'s messages. With
        ``keep_blocks``, the steps' pressure blocks (:meth:`Footstep.pressure`),
        taken here to weigh each step, are kept in ``_blocks`` (in the order of
        ``steps_``) if all of them hold at most :data:`_KEEP_BLOCKS` of the
        array, else ``_blocks`` is None.
        """
        for name in ("min_contact_s", "min_area_mm2", "min_force_n", "block_s", "block_mm",
                     "merge_distance_mm", "max_foot_length_mm", "max_foot_width_mm", "stuck_fraction",
                     "residual_force_fraction"):  # fmt: skip
            value = getattr(self, name)
            if name == "residual_force_fraction" and value is None:
                continue
            if not (isinstance(value, (int, float)) and np.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a number >= 0, got {value!r}")
        pressure = trial["pressure"].values
        fraction = self.residual_force_fraction
        if fraction is None:
            fraction = 0.10 if trial.attrs.get("layout") == "insole" else 0.0
        time = trial["time"].values
        pitch = (float(trial.attrs["sensor_pitch_y_mm"]), float(trial.attrs["sensor_pitch_x_mm"]))
        rate = float(trial.attrs["sampling_rate_hz"])
        threshold = self.threshold_kpa
        if threshold is None:
            threshold = _auto_threshold(pressure)
        elif not (np.isfinite(threshold) and threshold >= 0):
            raise ValueError(f"threshold_kpa must be >= 0 or None, got {threshold!r}")
        factors = (
            max(1, int(round(self.block_s * rate))),
            max(1, int(round(self.block_mm / pitch[0]))),
            max(1, int(round(self.block_mm / pitch[1]))),
        )
        feet = _feet(trial["x"].values, trial.attrs.get("side_split_x_mm")) if fraction else None
        scan = _scan(pressure, threshold, factors, feet)
        if check_values:
            _raise_for_pressure_range(scan.low, scan.high, pressure, _PRESSURE_WHERE)
        # Stuck sensels are found in the raw data (the residual-force rule empties their idle frames).
        if feet is None:
            stuck = _stuck_sensels(pressure, threshold, scan.active_per_block, factors[0], self.stuck_fraction)
        else:  # each insole idles in its own swing phases, while the other foot is on the ground
            stuck = np.zeros(pressure.shape[1:], dtype=bool)
            for foot, columns in enumerate(feet):
                mine = _stuck_sensels(pressure, threshold, scan.active_per_foot[foot], factors[0], self.stuck_fraction)
                stuck[:, columns] = mine[:, columns]
        below_rule, regions = None, [(scan.coarse, None)]
        if fraction:
            below_rule = _residual_force_rule(scan.force, feet, fraction)
            # Two insoles side by side are two sensors: each one's contact is labelled on its own
            # (else the two feet's alternating contacts join into one region as long as the walk).
            regions = []
            for foot, columns in enumerate(feet):
                own = np.zeros(pressure.shape[2], dtype=bool)
                own[columns] = True
                regions.append((_pool_frames(scan.frame_tiles[foot], below_rule[foot], factors[0], scan.coarse_shape[1:]), own))
            scan.frame_tiles = None
        parts = []
        for coarse, own in regions:
            _drop_stuck(coarse, pressure, threshold, factors, stuck, below_rule, feet, own)
            # Each pooled region's contact at full resolution, held as runs; the parts of a batch of regions
            # are found at once (a bounded batch: the work stays linear in the recording's length).
            batch, n_runs = [], 0
            found = _components([(coarse.shape, _runs(coarse))])[0]
            for k, (box, region) in enumerate(found):
                batch.append(_region_contact(pressure, box, region, factors, threshold, stuck, below_rule, feet, own))
                n_runs += len(batch[-1][1][0])
                if n_runs >= _BATCH_RUNS or k == len(found) - 1:
                    parts += _parts(batch)
                    batch, n_runs = [], 0
        x, y = trial["x"].values, trial["y"].values
        steps = _merge_parts(parts, x, y, self.merge_distance_mm, self.max_foot_length_mm, self.max_foot_width_mm,
                             touch_mm=1.01 * np.hypot(*pitch))  # fmt: skip
        area_mm2 = pitch[0] * pitch[1]
        # The steps' pressure blocks are kept for the analysis while all of them hold at most a small fraction
        # of the array (a walkway; an insole's steps' boxes cover the recording).
        keep = keep_blocks and sum(_volume(step) for step in steps) <= _KEEP_BLOCKS * pressure.size
        kept = []
        for step in steps:
            duration = time[step.frames.stop - 1] - time[step.frames.start] + 1.0 / rate
            mask = step.mask
            footprint = mask.any(axis=0).sum() * area_mm2
            block = step._pressure(pressure, mask)
            peak_force = (block.sum(axis=(1, 2)) * area_mm2 * 1e-3).max()
            if duration >= self.min_contact_s and footprint >= self.min_area_mm2 and peak_force >= self.min_force_n:
                kept.append((step, block if keep else None))
        kept.sort(key=lambda s: (s[0].frames.start, s[0].cols.start, s[0].rows.start))
        if keep_blocks:
            self._blocks = [block for _, block in kept] if keep else None
        kept = [step for step, _ in kept]
        logger.info(
            "found %d steps (threshold %.3g kPa, %d stuck sensels, %d noise regions dropped)",
            len(kept), threshold, int(stuck.sum()), len(steps) - len(kept),
        )  # fmt: skip
        self.threshold_kpa_ = float(threshold)
        self.stuck_ = stuck
        self.steps_ = kept
        return self


def _volume(step):
    """Samples in a step's box."""
    return (step.frames.stop - step.frames.start) * (step.rows.stop - step.rows.start) * (step.cols.stop - step.cols.start)


def _auto_threshold(pressure):
    """Median + 5 robust SDs of about a million sampled values (whole frames), at least 1 kPa.

    When more than half of the sampled values are 0 and none is negative (a vendor
    export, zero outside contact), the median and the MAD are 0: this is counted
    a few frames at a time, without copying the sample.
    """
    n_t, n_y, n_x = pressure.shape
    n_frames = min(n_t, max(1, 1_000_000 // (n_y * n_x)))
    frames = np.linspace(0, n_t - 1, n_frames).astype(int)
    finite = zeros = negative = 0
    for first in range(0, n_frames, 64):
        chunk = pressure[frames[first : first + 64]]
        finite += int(np.count_nonzero(np.isfinite(chunk)))
        zeros += int(np.count_nonzero(chunk == 0))
        negative += int(np.count_nonzero(chunk < 0))
    if finite == 0 or (negative == 0 and zeros > finite / 2):
        return 1.0
    sample = pressure[frames].ravel()
    if finite < sample.size:
        sample = sample[np.isfinite(sample)]
    median = np.median(sample)
    mad = np.median(np.abs(sample - median))
    return float(max(1.0, median + 5 * 1.4826 * mad))


@dataclasses.dataclass
class _Scan:
    """What segmentation takes from the whole pressure array, in one pass (:func:`_scan`).

    ``low`` and ``high`` are its minimum and maximum (NaN skipped: the value
    check; ``low`` is 0 in place of a minimum found >= 0 without a pass of its
    own, all the check needs); ``active_per_block`` the sensels in contact in each pooled block of
    frames (for the stuck sensels); ``coarse`` the contact pooled into blocks of
    frames and tiles of sensels. With the residual-force rule (``feet`` given),
    ``force`` holds each foot's total pressure per frame (kPa x sensels) and
    ``frame_tiles`` each foot's contact pooled into tiles per frame (bit-packed,
    tiles in C order), for the rule to drop frames from before they are pooled in
    time, and ``active_per_foot`` each foot's sensels in contact per block (an
    insole's stuck sensels show in its own swing phases, while the other foot is
    down); ``coarse`` is then None.
    """

    low: np.floating
    high: np.floating
    active_per_block: np.ndarray
    coarse_shape: tuple = ()
    coarse: np.ndarray | None = None
    force: np.ndarray | None = None
    frame_tiles: np.ndarray | None = None
    active_per_foot: np.ndarray | None = None


def _feet(x, split_x_mm):
    """The columns of each foot, as slices: one foot, or two insoles side by side (left at smaller x)."""
    if split_x_mm is None:
        return [slice(0, len(x))]
    split = int(np.searchsorted(x, split_x_mm))  # x increases: the left foot's columns come first
    return [slice(0, split), slice(split, len(x))]


def _scan(pressure, threshold, factors, feet=None):
    """One pass over the pressure array, in blocks of frames that stay in the cache.

    Per block: its minimum and maximum (the value check), the peak of each group
    of ``factors[0]`` frames (NaN = no sensor is skipped; where every value is
    finite and >= 0, the peak and the check come from one integer maximum of the
    values' bits, without a pass for the minimum) compared with the
    threshold and pooled in space into tiles of ``factors[1:]`` sensels, and the
    sensels in contact per group. With ``feet`` (the residual-force rule) also
    each foot's force per frame and its contact pooled into tiles per frame.
    Temporary memory is about two blocks of 4 MB, whatever the recording's length.
    """
    n_t, n_y, n_x = pressure.shape
    ft, fy, fx = factors
    tiles = (-(-n_y // fy), -(-n_x // fx))
    n_blocks = -(-n_t // ft)
    scan = _Scan(low=np.float32(np.nan), high=np.float32(np.nan), active_per_block=np.zeros(n_blocks, np.int64),
                 coarse_shape=(n_blocks, *tiles))  # fmt: skip
    if feet is None:
        scan.coarse = np.zeros((n_blocks, *tiles), dtype=bool)
    else:
        scan.force = np.zeros((len(feet), n_t))
        scan.active_per_foot = np.zeros((len(feet), n_blocks), np.int64)
        scan.frame_tiles = np.zeros((len(feet), n_t, -(-tiles[0] * tiles[1] // 8)), dtype=np.uint8)
    step = _block_frames(pressure.shape, pressure.itemsize, multiple=ft)
    # Blocks of at most 1/64 of the array: the temporary memory is a small fraction of it, however short.
    step = max(ft, min(step, pressure.nbytes // 64 // max(1, n_y * n_x * pressure.itemsize) // ft * ft))
    padded = np.zeros((max(step, ft), tiles[0] * fy, tiles[1] * fx), dtype=bool)
    peak_buffer = np.empty((-(-max(step, ft) // ft), n_y, n_x), dtype=pressure.dtype)
    # As unsigned integers, non-negative finite float32 values sort as the floats do, and below every negative,
    # infinite or NaN value: the integer maximum of a group of frames is its peak and, below the bits of +inf,
    # says the group holds only such values (the value check) in the same read. Once a block holds other
    # values, the blocks take the float path (the minimum and NaN-skipping maximum).
    bits = pressure.view(np.uint32) if pressure.dtype == np.float32 else None
    for first in range(0, n_t, step):
        block = pressure[first : first + step]
        n = -(-len(block) // ft)
        peak = peak_buffer[:n]
        if bits is not None and len(block) % ft == 0:
            grouped = bits[first : first + step].reshape(n, ft, n_y, n_x)
            peak_bits = peak.view(np.uint32)
            if ft == 1:
                peak_bits[...] = grouped[:, 0]
            else:
                np.maximum(grouped[:, 0], grouped[:, 1], out=peak_bits)
            for k in range(2, ft):
                np.maximum(peak_bits, grouped[:, k], out=peak_bits)
            top = np.maximum.reduce(peak_bits, axis=None)
            if top < _INF_BITS:  # every value finite and >= 0: the minimum needs no pass of its own
                scan.low = np.fmin(scan.low, np.float32(0))
                scan.high = np.fmax(scan.high, np.uint32(top).view(np.float32))
            else:
                bits = None
        if bits is None or len(block) % ft:
            scan.low = np.fmin(scan.low, np.fmin.reduce(block, axis=None))
            grouped = block
            if len(block) % ft:
                grouped = np.concatenate([block, np.full((n * ft - len(block), n_y, n_x), np.nan, np.float32)])
            grouped = grouped.reshape(n, ft, n_y, n_x)
            if ft == 1:
                peak = grouped[:, 0]
            else:
                np.fmax(grouped[:, 0], grouped[:, 1], out=peak)
            for k in range(2, ft):
                np.fmax(peak, grouped[:, k], out=peak)
            scan.high = np.fmax(scan.high, np.fmax.reduce(peak, axis=None))
        active = peak > threshold  # NaN compares False: no sensor, no contact
        blocks = slice(first // ft, first // ft + n)
        scan.active_per_block[blocks] = _count_true(active.reshape(n, -1))
        if feet is None:
            scan.coarse[blocks] = _pool_space(active, padded, fy, fx)
            continue
        in_contact = block > threshold
        for foot, columns in enumerate(feet):
            scan.active_per_foot[foot, blocks] = _count_true(active[:, :, columns].reshape(n, -1))
            scan.force[foot, first : first + len(block)] = np.nansum(block[:, :, columns], axis=(1, 2), dtype=np.float64)
            mine = np.zeros_like(in_contact)
            mine[:, :, columns] = in_contact[:, :, columns]
            pooled = _pool_space(mine, padded, fy, fx).reshape(len(block), -1)
            scan.frame_tiles[foot, first : first + len(block)] = np.packbits(pooled, axis=1)
    return scan


def _pool_space(active, padded, fy, fx):
    """Contact (n, n_y, n_x) pooled into tiles of fy x fx sensels (any in contact).

    ``padded`` is a reused buffer of shape (>= n, a multiple of fy >= n_y, a multiple
    of fx >= n_x) for grids that do not divide into whole tiles. An "or" of the fy
    interleaved rows, then of the fx neighbouring columns: as one word per tile
    when fx bytes make a word, else of fx interleaved slices; several times faster
    than ``any`` over an axis.
    """
    n, n_y, n_x = active.shape
    if n_y % fy or n_x % fx:
        padded[:n, :n_y, :n_x] = active
        active = padded[:n]
    rows = active.reshape(n, active.shape[1] // fy, fy, active.shape[2])
    pooled = rows[:, :, 0].copy()
    for k in range(1, fy):
        pooled |= rows[:, :, k]
    if fx in _WORDS:
        return pooled.view(_WORDS[fx]) != 0
    cols = pooled.reshape(n, pooled.shape[1], pooled.shape[2] // fx, fx)
    tiles = cols[..., 0].copy()
    for k in range(1, fx):
        tiles |= cols[..., k]
    return tiles


def _count_true(rows):
    """The number of True in each row of a 2-D bool array (int64)."""
    if hasattr(np, "bitwise_count") and rows.shape[1] % 8 == 0 and rows.flags.c_contiguous:
        return np.bitwise_count(rows.view(np.uint64)).sum(axis=1, dtype=np.int64)  # a bit per True byte
    return rows.view(np.uint8).sum(axis=1, dtype=np.int64)


def _residual_force_rule(force, feet, fraction):
    """Each foot's frames whose force is below F_min + fraction x (F_max - F_min): (n_feet, n_frames) bool.

    Tekscan's rule for in-shoe sensors: these frames of the foot count as no contact.
    """
    low = np.zeros(force.shape, dtype=bool)
    for foot in range(len(feet)):
        f = force[foot]
        low[foot] = f < f.min() + fraction * (f.max() - f.min())
    return low


def _pool_frames(frame_tiles, below_rule, ft, tiles):
    """One foot's contact tiles per frame (bit-packed), without its frames below the rule, pooled into blocks of ft frames.

    Unpacked a block of frames at a time: the temporary memory stays bounded.
    """
    n_t = len(below_rule)
    n_blocks = -(-n_t // ft)
    coarse = np.zeros((n_blocks, *tiles), dtype=bool)
    step = _block_frames((1, *tiles), 1, multiple=ft)
    step = max(ft, min(step, n_t // 64 // ft * ft))  # at most 1/64 of the frames at a time
    for first in range(0, n_t, step):
        chunk = np.unpackbits(frame_tiles[first : first + step], axis=1, count=tiles[0] * tiles[1]).view(bool)
        chunk &= ~below_rule[first : first + step, None]
        n = -(-len(chunk) // ft)
        padded = np.zeros((n * ft, chunk.shape[1]), dtype=bool)
        padded[: len(chunk)] = chunk
        coarse[first // ft : first // ft + n] = padded.reshape(n, ft, *tiles).any(axis=1)
    return coarse


def _rule_mask(below_rule, feet, frames, cols):
    """Samples (frames, 1, cols) the residual-force rule leaves out, for a box of the trial."""
    if below_rule is None:
        return None
    n_x = feet[-1].stop
    out = np.zeros((frames.stop - frames.start, 1, n_x), dtype=bool)
    for foot, columns in enumerate(feet):
        out[:, 0, columns] = below_rule[foot, frames][:, None]
    return out[:, :, cols]


def _drop_stuck(coarse, pressure, threshold, factors, stuck, below_rule=None, feet=None, own=None):
    """Recompute, without the stuck sensels, the pooled blocks of the tiles that hold them (in place).

    ``own``: the columns (bool per column) whose contact ``coarse`` pools; None for all.
    """
    if not stuck.any():
        return
    n_t, n_y, n_x = pressure.shape
    ft, fy, fx = factors
    stuck_padded = np.zeros((coarse.shape[1] * fy, coarse.shape[2] * fx), dtype=bool)
    stuck_padded[:n_y, :n_x] = stuck
    tiles = stuck_padded.reshape(coarse.shape[1], fy, coarse.shape[2], fx).any(axis=(1, 3))
    for j, k in zip(*np.nonzero(tiles)):
        rows, cols = slice(j * fy, min((j + 1) * fy, n_y)), slice(k * fx, min((k + 1) * fx, n_x))
        contact = (pressure[:, rows, cols] > threshold) & ~stuck[rows, cols]
        if below_rule is not None:
            contact &= ~_rule_mask(below_rule, feet, slice(0, n_t), cols)
        if own is not None:
            contact &= own[cols]
        in_contact = np.zeros(coarse.shape[0] * ft, dtype=bool)
        in_contact[:n_t] = contact.any(axis=(1, 2))
        coarse[:, j, k] = in_contact.reshape(coarse.shape[0], ft).any(axis=1)


def _stuck_sensels(pressure, threshold, active_per_block, ft, stuck_fraction):
    """Sensels in contact in most of the idle frames, if the mat has idle phases.

    Idle frames are those of the quietest tenth of the blocks of frames, if these
    hold at most 5 % of the busiest block's contact, and only blocks inside an
    idle phase (both neighbouring blocks idle too): a block at the edge of a
    foot contact holds the first or last loaded sensels of the foot (a heel or a
    toe loaded alone), which are not stuck. A sensel is stuck if it is in
    contact in more than ``stuck_fraction`` of the first frames of those blocks
    and of all their frames.
    """
    none = np.zeros(pressure.shape[1:], dtype=bool)
    busiest = active_per_block.max()
    quiet = np.sort(np.argsort(active_per_block, kind="stable")[: max(1, len(active_per_block) // 10)])
    if busiest == 0 or active_per_block[quiet].max() > _IDLE_FRACTION * busiest:
        return none  # no idle phase: nothing can be called stuck
    idle = np.concatenate([[True], active_per_block <= _IDLE_FRACTION * busiest, [True]])
    quiet = quiet[idle[quiet] & idle[quiet + 2]]  # idle[b + 1] is block b's; the recording's ends count as idle
    if quiet.size == 0:
        return none
    n_t = pressure.shape[0]
    first = pressure[np.minimum(quiet * ft, n_t - 1)] > threshold
    candidates = first.sum(axis=0, dtype=np.int64) / len(first) > stuck_fraction  # the mean, without a float copy
    rows, cols = np.nonzero(candidates)
    frames = (quiet[:, None] * ft + np.arange(ft)).ravel()
    frames = frames[frames < n_t]
    in_contact = pressure[frames[:, None], rows[None, :], cols[None, :]] > threshold
    stuck = none.copy()
    stuck[rows, cols] = in_contact.mean(axis=0) > stuck_fraction
    return stuck


def _region_contact(pressure, box, region, factors, threshold, stuck, below_rule=None, feet=None, own=None):
    """The contact inside one pooled region at full resolution: its box in the trial, and its runs (:func:`_runs`).

    ``box`` and ``region`` are the region's box and mask in the pooled grid; ``own``
    the columns (bool per column) the region is of (one insole), None for all.
    """
    n_t, n_y, n_x = pressure.shape
    full = tuple(slice(s.start * f, min(s.stop * f, n)) for s, f, n in zip(box, factors, (n_t, n_y, n_x)))
    shape = tuple(s.stop - s.start for s in full)
    # The region's blocks at full resolution: each pooled sample spread over its block (one copy).
    ft, fy, fx = factors
    contact = pressure[full] > threshold
    if not region.all():  # other regions' blocks in the box: leave their contact out
        spread = np.broadcast_to(region[:, None, :, None, :, None],
                                 (region.shape[0], ft, region.shape[1], fy, region.shape[2], fx))  # fmt: skip
        spread = spread.reshape(region.shape[0] * ft, region.shape[1] * fy, region.shape[2] * fx)
        contact &= spread[: shape[0], : shape[1], : shape[2]]
    contact &= ~stuck[full[1], full[2]]
    if below_rule is not None:
        contact &= ~_rule_mask(below_rule, feet, full[0], full[2])
    if own is not None:
        contact &= own[full[2]]
    return full, _runs(contact)


def _runs(mask):
    """The runs of True along the last axis of a 3-D bool array, in C order.

    Returns (row, start, end), int32: the run's row (frame x n_rows + row) and its
    first and one-past-last column.
    """
    n_t, n_y, n_x = mask.shape
    rows = mask.reshape(n_t * n_y, n_x)
    change = np.zeros((n_t * n_y, n_x + 1), dtype=bool)  # True where a run starts, and just after it ends
    change[:, :n_x] = rows
    change[:, 1:] ^= rows
    row, col = np.divmod(np.flatnonzero(change), n_x + 1)
    return row[0::2].astype(np.int32), col[0::2].astype(np.int32), col[1::2].astype(np.int32)


def _parts(batch):
    """The connected parts of contact of pooled regions, each a :class:`Footstep` (its mask bit-packed).

    ``batch`` lists each region's box in the trial and its runs of contact (:func:`_region_contact`).
    """
    found = _components([(tuple(s.stop - s.start for s in full), runs) for full, runs in batch])
    return [
        Footstep(*(slice(o.start + b.start, o.start + b.stop) for o, b in zip(full, box)), mask)
        for (full, _), parts in zip(batch, found)
        for box, mask in parts
    ]


def _components(arrays):
    """The connected parts (26-connectivity) of several 3-D bool arrays given as runs.

    Parameters
    ----------
    arrays : list of (shape, runs)
        Each array's shape and its runs (:func:`_runs`).

    Returns
    -------
    parts : list of list of (box, mask)
        Per array, its parts in the order of their first sample in C order (the
        numbering of ``skimage.measure.label(array, connectivity=3)``): each
        part's box (a tuple of three slices into its array) and which samples in
        the box are the part's.

    Notes
    -----
    Two runs are one part if they lie in neighbouring rows of one frame, or in
    the same or neighbouring rows of neighbouring frames, and their columns
    overlap or touch (diagonals count). The runs of all arrays are joined at once
    (:func:`_join`), one kind of neighbour at a time: the work and the temporary
    memory grow with the number of runs (about 100 bytes each), not with the
    arrays' volume, and a sparse array (a foot's toes in a long pooled region)
    costs little more than its contact.
    """
    shapes = np.array([shape for shape, _ in arrays], dtype=np.int64).reshape(-1, 3)
    which = np.repeat(np.arange(len(arrays), dtype=np.int32), [len(runs[0]) for _, runs in arrays])  # each run's array
    n_runs = len(which)
    if n_runs == 0:
        return [[] for _ in arrays]
    local, start, end = (np.concatenate([runs[i] for _, runs in arrays]) for i in range(3))
    frame, y = np.divmod(local, shapes[which, 1].astype(np.int32))
    rows = shapes[:, 0] * shapes[:, 1]
    row = local + (np.cumsum(rows) - rows).astype(np.int32)[which]  # the rows of all arrays one after the other
    del local
    row_runs = np.bincount(row, minlength=int(rows.sum()) + 1)
    row_first = np.concatenate([[0], np.cumsum(row_runs)])  # the runs of row r: row_first[r] .. row_first[r + 1]
    parent = np.arange(n_runs, dtype=np.int32)
    for dt, dy in ((0, 1), (1, -1), (1, 0), (1, 1)):  # the later neighbours of a run's row
        n_t, n_y = shapes[which, 0], shapes[which, 1]
        runs = np.flatnonzero((frame + dt < n_t) & (y + dy >= 0) & (y + dy < n_y)).astype(np.int32)
        target = row[runs] + dt * n_y[runs] + dy
        del n_t, n_y
        first, count = row_first[target], row_runs[target]
        # Every run of the target row, kept where its columns overlap or touch [start, end).
        a = np.repeat(runs, count)
        b = (np.repeat(first - (np.cumsum(count) - count), count) + np.arange(int(count.sum()))).astype(np.int32)
        del runs, target, first, count
        near = (start[b] <= end[a]) & (end[b] >= start[a])
        _join(parent, a[near], b[near])
        del a, b, near
    del row, row_runs, row_first
    # A part's root is its first run: the parts are numbered in C order.
    is_root = parent == np.arange(n_runs, dtype=np.int32)
    part = (np.cumsum(is_root, dtype=np.int32) - 1)[parent]
    n = int(is_root.sum())
    lo = np.stack([np.full(n, np.iinfo(np.int32).max, dtype=np.int32)] * 3)
    hi = np.zeros((3, n), dtype=np.int32)
    for axis, (first, last) in enumerate(((frame, frame + 1), (y, y + 1), (start, end))):
        np.minimum.at(lo[axis], part, first)
        np.maximum.at(hi[axis], part, last)
    shape = (hi - lo).astype(np.int64)
    volume = shape.prod(axis=0)
    offset = np.cumsum(volume) - volume
    # All parts' masks in one buffer: +1 where a run starts, -1 just after it ends, summed along the buffer.
    base = offset[part] + ((frame - lo[0, part]) * shape[1, part] + y - lo[1, part]) * shape[2, part] + start - lo[2, part]
    buffer = np.zeros(int(volume.sum()) + 1, dtype=np.int8)
    buffer[base] = 1
    buffer[base + (end - start)] -= 1  # runs do not overlap: a run may only end where another starts
    del base
    buffer = np.cumsum(buffer, dtype=np.int8, out=buffer).view(bool)  # 1 inside a run, else 0
    parts = [[] for _ in arrays]
    for k, array in enumerate(which[is_root]):
        box = tuple(slice(int(a), int(b)) for a, b in zip(lo[:, k], hi[:, k]))
        parts[array].append((box, buffer[offset[k] : offset[k] + volume[k]].reshape(shape[:, k])))
    return parts


def _join(parent, a, b):
    """Join the components of a graph along the edges (a, b), in place.

    ``parent`` holds each node's root, the smallest node of its component (every
    node pointing at its root, as :func:`numpy.arange` does for no edges).
    Hooking and pointer jumping, vectorised: each round every edge between two
    components hooks the larger root onto the smaller (onto one of them, for a
    root with several), and every node then points to its root. Each component
    not the smallest of its neighbours is hooked, so the number of components
    joined by edges at least halves each round: O(log n) rounds of O(n + edges).
    """
    while True:
        ra, rb = parent[a], parent[b]
        apart = ra != rb
        if not apart.any():
            return
        a, b, ra, rb = a[apart], b[apart], ra[apart], rb[apart]  # edges within a component are done
        parent[np.maximum(ra, rb)] = np.minimum(ra, rb)  # a root onto a smaller root: no cycle
        while True:
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            parent[:] = grand


def _merge_parts(parts, x, y, merge_distance_mm, max_length_mm, max_width_mm, touch_mm):
    """Group parts (Footsteps) of one foot contact (e.g. toes apart from the forefoot); empties ``parts``.

    Largest first, each part joins the nearest group it overlaps in time (by at
    least half its own duration), lies within ``merge_distance_mm`` of, and still
    fits in a foot with (``max_length_mm`` x ``max_width_mm``); else it starts a group.
    A part at the edge of a group's contact in time (overlapping it less, or in
    the frame just before or after it) joins it if its footprint touches the
    group's (within ``touch_mm``, a sensel's diagonal): a sensel loaded alone for
    a frame as the foot lands or leaves belongs to that foot, not to noise.
    """
    info = []
    for step in parts:
        frames, rows, cols = step.frames, step.rows, step.cols
        footprint = step.mask.any(axis=0)
        yy, xx = np.nonzero(footprint)
        points = np.column_stack([x[cols][xx], y[rows][yy]])
        info.append(dict(frames=frames, rows=rows, cols=cols, step=step, points=points, area=len(points)))
    parts.clear()  # the parts are held once, here: each is freed once its group is a step
    order = sorted(range(len(info)), key=lambda i: -info[i]["area"])
    # Only groups that overlap a part in time or touch it (overlap >= 0) can take it: they
    # are found through buckets of frames, so that the work grows with the number of parts,
    # not its square. Each group is listed in every bucket its frames reach.
    groups, buckets = [], {}
    # Per group: first frame, frame after the last, and the box of its points (x min, y min, x max, y max).
    starts, stops, boxes = np.zeros(len(info), int), np.zeros(len(info), int), np.zeros((len(info), 4))
    for i in order:
        part = info[i]
        start, stop = part["frames"].start, part["frames"].stop
        near = sorted({g for b in range((start - 1) // _MERGE_BUCKET, stop // _MERGE_BUCKET + 1)
                       for g in buckets.get(b, ())})  # fmt: skip
        box = np.concatenate([part["points"].min(axis=0), part["points"].max(axis=0)])
        near = np.array(near, dtype=int)
        overlap = np.minimum(stop, stops[near]) - np.maximum(start, starts[near])
        box_gap = _box_gaps_mm(box, boxes[near])
        edge = overlap < 0.5 * (stop - start)  # at the edge of the group's contact in time
        # Apart in time or at the edge without touching, or far apart (the other foot, another pass):
        near = near[~(edge & ((overlap < 0) | (box_gap > touch_mm))) & (box_gap <= merge_distance_mm)]
        best, best_gap = None, np.inf
        for g in near:
            group = groups[g]
            gap = _gap_mm(part["points"], group["points"])
            if min(stop, stops[g]) - max(start, starts[g]) < 0.5 * (stop - start) and gap > touch_mm:
                continue  # at the edge of the contact without touching its footprint
            if gap <= merge_distance_mm and gap < best_gap and _fits_foot(
                np.vstack([part["points"], group["points"]]), max_length_mm, max_width_mm
            ):
                best, best_gap = g, gap
        if best is None:
            best = len(groups)
            groups.append(dict(members=[part], points=part["points"]))
            starts[best], stops[best], boxes[best] = start, stop, box
            reached = [(start, stop)]
        else:
            group = groups[best]
            group["members"].append(part)
            group["points"] = np.vstack([group["points"], part["points"]])
            reached = [(start, starts[best]), (stops[best], stop)]  # frames the group newly reaches
            starts[best], stops[best] = min(starts[best], start), max(stops[best], stop)
            boxes[best] = np.concatenate([np.minimum(boxes[best, :2], box[:2]), np.maximum(boxes[best, 2:], box[2:])])
        for first, end in reached:
            for b in range(first // _MERGE_BUCKET, (end - 1) // _MERGE_BUCKET + 1) if end > first else ():
                buckets.setdefault(b, set()).add(best)
    info.clear()
    return [_union(group.pop("members")) for group in groups]


def _box_gaps_mm(box, boxes):
    """Gaps between a box (x min, y min, x max, y max) and each of boxes (n, 4), mm; lower bounds of _gap_mm."""
    gap = np.maximum(0.0, np.maximum(box[:2] - boxes[:, 2:], boxes[:, :2] - box[2:]))
    return np.hypot(gap[:, 0], gap[:, 1])


def _gap_mm(a, b):
    """Smallest distance between two sets of points (mm)."""
    if len(a) * len(b) > 250_000:  # keep the work small: compare every n-th point only
        a, b = a[:: max(1, len(a) // 500)], b[:: max(1, len(b) // 500)]
    if len(a) * len(b) <= 4096:
        return float(np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2).min()))
    from scipy.spatial import cKDTree  # imported where used: only large parts need it

    return float(cKDTree(b).query(a, k=1)[0].min())


def _fits_foot(points, max_length_mm, max_width_mm):
    """True if the points' extents along and across their principal axis fit in a foot."""
    centred = points - points.mean(axis=0)
    _, vectors = np.linalg.eigh(centred.T @ centred)
    along = centred @ vectors[:, 1]
    across = centred @ vectors[:, 0]
    return np.ptp(along) <= max_length_mm and np.ptp(across) <= max_width_mm


def _union(members):
    """One Footstep from parts: their union on the union of their boxes."""
    if len(members) == 1:
        return members[0]["step"]
    frames = slice(min(m["frames"].start for m in members), max(m["frames"].stop for m in members))
    rows = slice(min(m["rows"].start for m in members), max(m["rows"].stop for m in members))
    cols = slice(min(m["cols"].start for m in members), max(m["cols"].stop for m in members))
    mask = np.zeros((frames.stop - frames.start, rows.stop - rows.start, cols.stop - cols.start), dtype=bool)
    for m in members:
        mask[
            m["frames"].start - frames.start : m["frames"].stop - frames.start,
            m["rows"].start - rows.start : m["rows"].stop - rows.start,
            m["cols"].start - cols.start : m["cols"].stop - cols.start,
        ] |= m["step"].mask
    return Footstep(frames=frames, rows=rows, cols=cols, mask=mask)


class SideAssignment:
    """Tell left from right feet by where each step falls along the walk.

    Steps are grouped into passes (a new pass starts after more than ``max_gap_s``
    without contact, or when the walk turns back). Within a pass the feet
    alternate left and right on either side of the line of progression: each step
    lies to the left or right of the line through its neighbours (the opposite
    foot's previous and next steps), by about the step width. A neighbour more
    than 1.5 step periods away is not used, so a missing step (a foot off the mat)
    does not flip the sides after it. Two neighbouring steps found on the same side
    contradict alternation: the one with the weaker evidence becomes "unknown".

    A step without usable neighbours (a pass of one step, a single footprint on a
    plate) is assigned from the footprint's own shape when that is clear: the
    lateral midfoot contact lies on the lateral side and the hallux on the medial
    side (``FootGeometry.chirality_mm``). Where the walk and the shape disagree, or
    neither is clear, the side is "unknown": never a guess presented as fact.

    Devices that know the side override all this: a trial attr ``side``
    ("left"/"right", one insole or a single-foot plate) or ``side_split_x_mm``
    (two insoles side by side: left at smaller x).

    Parameters
    ----------
    min_offset_mm : float
        Smallest sideways offset from the line of progression taken as evidence, mm.
    min_chirality_mm : float
        Smallest footprint-shape evidence taken for a side, mm.
    max_gap_s : float
        Longest time without contact inside one pass, s.

    Attributes
    ----------
    sides_ : ndarray of str
        "left", "right" or "unknown" per step.
    pass_index_ : ndarray of int
        Pass of each step, from 0.
    direction_ : ndarray of float, shape (n_steps, 2)
        Unit vector of the line of progression at each step (mat frame); NaN
        where it is not known (a pass of fewer than three steps).
    evidence_mm_ : ndarray of float
        Sideways offset of each step from the line of its neighbours, mm, positive
        to the left; NaN without neighbours.

    Examples
    --------
    >>> import numpy as np
    >>> from plantar.steps import SideAssignment
    >>> heels = np.array([[-50.0, 0.0], [50.0, 650.0], [-50.0, 1300.0]])
    >>> sides = SideAssignment().assign(
    ...     t_on_s=[0.0, 0.55, 1.1], t_off_s=[0.65, 1.2, 1.75], heel_mm=heels,
    ...     axis=[[0.0, 1.0]] * 3, chirality_mm=[0.0, 0.0, 0.0]).sides_
    >>> sides.tolist()
    ['left', 'right', 'left']
    """

    def __init__(self, *, min_offset_mm=25.0, min_chirality_mm=15.0, max_gap_s=1.0):
        self.min_offset_mm = min_offset_mm
        self.min_chirality_mm = min_chirality_mm
        self.max_gap_s = max_gap_s

    def assign(
        self, *, t_on_s, t_off_s, heel_mm, axis, chirality_mm, complete=None, side=None, side_split_x_mm=None,
        layout="mat",
    ):  # fmt: skip
        """Assign a side to every step.

        Parameters
        ----------
        t_on_s, t_off_s : array_like of float, shape (n_steps,)
            First and last contact time of each step, s, in order of ``t_on_s``.
        heel_mm : array_like of float, shape (n_steps, 2)
            Heel centres (x, y) in the mat frame, mm.
        axis : array_like of float, shape (n_steps, 2)
            Unit vectors of the foot axes, heel to toe.
        chirality_mm : array_like of float, shape (n_steps,)
            Side evidence of each footprint's shape (``FootGeometry.chirality_mm``).
        complete : array_like of bool, shape (n_steps,) | None
            Which footprints are whole. A footprint cut by the mat edge has a
            misplaced heel centre: it is not used to place the line of
            progression of its neighbours. ``None``: all are whole.
        side : {"left", "right"} | None
            The trial's ``side`` attr, if the device knows it.
        side_split_x_mm : float | None
            The trial's ``side_split_x_mm`` attr, if the device knows it.
        layout : {"mat", "insole", "window"}
            The trial's ``layout`` attr. Insoles do not travel: there is no line
            of progression, and all steps on one insole are one foot, whose side
            (unless the device says) is the consensus of the footprints' shapes.

        Returns
        -------
        self : SideAssignment
            With ``sides_``, ``pass_index_``, ``direction_`` and ``evidence_mm_`` set.
        """
        t_on = np.asarray(t_on_s, dtype=float)
        t_off = np.asarray(t_off_s, dtype=float)
        heel = np.asarray(heel_mm, dtype=float).reshape(-1, 2)
        axis = np.asarray(axis, dtype=float).reshape(-1, 2)
        chirality = np.asarray(chirality_mm, dtype=float)
        n = len(t_on)
        whole = np.ones(n, dtype=bool) if complete is None else np.asarray(complete, dtype=bool)
        if not (len(t_off) == len(heel) == len(axis) == len(chirality) == n):
            raise ValueError("t_on_s, t_off_s, heel_mm, axis and chirality_mm must have one entry per step")
        if side not in (None, "", "left", "right"):
            raise ValueError(f"side must be 'left', 'right' or None, got {side!r}")
        passes = _passes(t_on, t_off, heel, self.max_gap_s)
        direction = np.zeros((n, 2))
        evidence = np.full(n, np.nan)
        sides = np.full(n, "unknown", dtype="<U7")
        period = _step_period(t_on, passes)
        for members in _groups(passes):
            direction[members] = _directions(heel[members], axis[members], whole[members])
            evidence[members] = _zigzag(heel[members], axis[members], t_on[members], period, whole[members])
        strong = np.abs(evidence) >= self.min_offset_mm
        sides[strong & (evidence > 0)] = "left"
        sides[strong & (evidence < 0)] = "right"
        # Alternation: neighbouring steps (no step missing between) are opposite feet.
        for k in range(1, n):
            if passes[k] == passes[k - 1] and t_on[k] - t_on[k - 1] < 1.5 * period:
                if sides[k] == sides[k - 1] != "unknown":
                    weaker = k if abs(evidence[k]) < abs(evidence[k - 1]) else k - 1
                    sides[weaker] = "unknown"
        shape = np.where(chirality >= self.min_chirality_mm, "left",
                         np.where(chirality <= -self.min_chirality_mm, "right", "unknown"))  # fmt: skip
        fallback = whole & ~strong & (sides == "unknown")
        sides[fallback] = shape[fallback]
        disagree = (sides != shape) & (shape != "unknown") & (sides != "unknown") & strong
        sides[disagree] = "unknown"
        # A footprint cut by the mat edge says little by itself: it is the opposite foot
        # of its whole neighbours (if they agree).
        opposite = {"left": "right", "right": "left"}
        for k in np.flatnonzero(~whole):
            votes = {
                opposite[sides[j]]
                for j in (k - 1, k + 1)
                if 0 <= j < n and whole[j] and passes[j] == passes[k]
                and abs(t_on[j] - t_on[k]) < 1.5 * period and sides[j] in opposite
            }  # fmt: skip
            sides[k] = votes.pop() if len(votes) == 1 else "unknown"
        if layout == "insole":
            passes = np.zeros(n, dtype=int)
            direction[:] = np.nan
            evidence[:] = np.nan
            feet = [np.ones(n, bool)] if side_split_x_mm is None else [heel[:, 0] < side_split_x_mm, heel[:, 0] >= side_split_x_mm]
            for foot in feet:
                mean = chirality[foot].mean() if foot.any() else 0.0
                sides[foot] = "left" if mean >= self.min_chirality_mm else ("right" if mean <= -self.min_chirality_mm else "unknown")
        if side in ("left", "right"):
            sides[:] = side
        elif side_split_x_mm is not None:
            sides[:] = np.where(heel[:, 0] < float(side_split_x_mm), "left", "right")
        self.sides_ = sides
        self.pass_index_ = passes
        self.direction_ = direction
        self.evidence_mm_ = evidence
        return self


def _passes(t_on, t_off, heel, max_gap_s):
    """Pass index per step: a new pass after a pause or when the walk turns back."""
    passes = np.zeros(len(t_on), dtype=int)
    last_off = -np.inf
    start = 0
    for k in range(len(t_on)):
        new = t_on[k] - last_off > max_gap_s
        if not new and k - start >= 1:
            heading = heel[k - 1] - heel[start]
            if np.linalg.norm(heading) > 0 and np.dot(heel[k] - heel[k - 1], heading) < -0.5 * np.linalg.norm(
                heel[k] - heel[k - 1]
            ):
                new = True  # walked back
        if new and k > 0:
            start = k
            passes[k] = passes[k - 1] + 1
        elif k > 0:
            passes[k] = passes[k - 1]
        last_off = t_off[k] if new else max(last_off, t_off[k])
    return passes


def _groups(passes):
    """Indices of the steps of each pass, pass by pass (one sort, not one scan per pass)."""
    order = np.argsort(passes, kind="stable")
    return np.split(order, np.flatnonzero(np.diff(passes[order])) + 1) if len(order) else []


def _step_period(t_on, passes):
    """Median time between successive steps within passes (s)."""
    gaps = np.diff(t_on)[np.diff(passes) == 0]
    return float(np.median(gaps)) if gaps.size else np.inf


def _pass_direction(heel, axis, whole):
    """Walking direction of one pass, and whether it is known.

    The midpoints of successive heel centres lie on the line of progression (the
    left and right offsets cancel), so the direction runs from the first midpoint
    to the last. From whole footprints (two pairs of them or more) the direction
    is known. Otherwise it is estimated from all footprints (a footprint cut by
    the mat edge is displaced mostly along its foot axis), or with fewer than three
    steps from the feet's mean axis (the two feet's toe-out roughly cancels): good
    enough to tell the feet apart, not for a foot angle.
    """
    for usable in (whole, np.ones_like(whole)):
        pairs = np.flatnonzero(usable[1:] & usable[:-1])
        if len(pairs) >= 2:
            mid = 0.5 * (heel[pairs + 1] + heel[pairs])
            span = mid[-1] - mid[0]
            if np.linalg.norm(span) > 150.0:
                # Known well enough for a foot angle only from whole footprints.
                return span / np.linalg.norm(span), bool(usable is whole)
    mean_axis = axis.sum(axis=0)
    norm = np.linalg.norm(mean_axis)
    direction = mean_axis / norm if norm > 0 else np.array([0.0, 1.0])
    return direction, False


def _directions(heel, axis, whole):
    """Line of progression at each step of one pass (NaN where unknown).

    Between two whole neighbours it runs through their heels (the opposite foot's
    previous and next steps; GAITRite), which follows a curving walk; elsewhere it
    is the pass's direction.
    """
    d_pass, known = _pass_direction(heel, axis, whole)
    out = np.tile(d_pass if known else np.full(2, np.nan), (len(heel), 1))
    for k in range(1, len(heel) - 1):
        if not (whole[k - 1] and whole[k + 1]):
            continue
        span = heel[k + 1] - heel[k - 1]
        if np.linalg.norm(span) > 150.0 and np.dot(span, d_pass) > 0:
            out[k] = span / np.linalg.norm(span)
    return out


def _zigzag(heel, axis, t_on, period, whole):
    """Sideways offset of each step from its neighbours, mm, positive to the left.

    With two whole neighbours (no step missing in between): the distance from the
    line through their heels. With one: the offset from that neighbour across the
    pass's walking direction. Either is about the step width.
    """
    n = len(heel)
    d_pass, _ = _pass_direction(heel, axis, whole)
    left = np.array([-d_pass[1], d_pass[0]])
    out = np.full(n, np.nan)
    for k in np.flatnonzero(whole):
        prev = k - 1 if k > 0 and whole[k - 1] and t_on[k] - t_on[k - 1] < 1.5 * period else None
        nxt = k + 1 if k + 1 < n and whole[k + 1] and t_on[k + 1] - t_on[k] < 1.5 * period else None
        if prev is not None and nxt is not None:
            line = heel[nxt] - heel[prev]
            offset = heel[k] - heel[prev]
            norm = np.linalg.norm(line)
            if norm > 0 and np.dot(line, d_pass) > 0:
                out[k] = (line[0] * offset[1] - line[1] * offset[0]) / norm
                continue
        other = prev if prev is not None else nxt
        if other is not None:
            out[k] = (heel[k] - heel[other]) @ left
    return out
