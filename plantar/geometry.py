"""Foot geometry: heel centre, foot axis, length, width, angle; steps in the foot frame.

Per step, :func:`foot_geometry` measures a footprint. Over an analysis,
:func:`aligned_peak_maps` puts the steps of one side into the foot frame (heel
centre at the origin, foot axis up) and averages them into the mean step, and
:func:`body_cop_butterfly` expresses the centre of pressure of both feet
relative to the walker's progression.

The foot axis runs from the heel centre toward the second toe. Toes are small and
often merge in a pressure image, so the axis is estimated from the loads around
them: it runs from the heel centre to the centroid of the forefoot load (metatarsal
heads and toes, weighted by pressure-time integral), which lies over the second
metatarsal head and the second toe. This is the "heel to forefoot centroid"
estimator of the foot progression angle, one of the six compared against motion
capture in the Impressions toolbox; its bias is about 1 degree on a typical
footprint.
"""

import dataclasses

import numpy as np
import xarray as xr

from .regions import ARCH_END_U, BASE_REGIONS, HEEL_END_U, MTH_END_U

#: Share of contact time at each end used to tell the heel end from the toe end.
_END_SHARE = 0.15
#: Below this roll of the centre of pressure (fraction of footprint length) the foot
#: is taken as standing, and its ends are told apart by their width.
_MIN_ROLL = 0.15


@dataclasses.dataclass(frozen=True)
class FootGeometry:
    """Where a footprint is and how it is oriented, in the mat frame.

    Attributes
    ----------
    heel_x, heel_y : float
        Heel centre, mm: the peak-pressure-weighted centroid of the heel region
        (the first 30 % of foot length).
    axis_x, axis_y : float
        Unit vector of the foot axis, heel to toe.
    heel_end_mm : float
        Position of the heel end along the axis from the heel centre, mm (< 0).
    length_mm, width_mm : float
        Extent of the footprint along and across the axis, mm. The length runs
        between the ends located to a fraction of a sensel (see
        :func:`foot_geometry`); the width between the outermost sensel centres
        (within a pitch of the true width).
    chirality_mm : float
        Evidence for the side from the footprint's own shape, mm: the load centroid
        of the arch region (lateral midfoot contact) minus that of the toe region
        (hallux), across the axis, positive toward the left of the axis. Positive
        suggests a left foot, negative a right foot; near zero says little.
    """

    heel_x: float
    heel_y: float
    axis_x: float
    axis_y: float
    heel_end_mm: float
    length_mm: float
    width_mm: float
    chirality_mm: float

    def foot_coords(self, x, y):
        """Foot-aligned coordinates of points of the mat.

        Parameters
        ----------
        x, y : array_like of float
            Positions in the mat frame, mm (broadcast together).

        Returns
        -------
        u : ndarray
            Along the axis as a fraction of foot length: 0 at the heel end, 1 at
            the toe tip.
        v_left : ndarray
            Across the axis, mm, positive toward the left of the axis (seen from
            above, facing the toes).

        Examples
        --------
        >>> from plantar.geometry import FootGeometry
        >>> g = FootGeometry(0.0, 0.0, 0.0, 1.0, -30.0, 250.0, 100.0, 40.0)
        >>> u, v = g.foot_coords([0.0, -10.0], [95.0, 0.0])
        >>> u.round(3).tolist(), v.tolist()
        ([0.5, 0.12], [0.0, 10.0])
        """
        dx = np.asarray(x, dtype=float) - self.heel_x
        dy = np.asarray(y, dtype=float) - self.heel_y
        along = dx * self.axis_x + dy * self.axis_y
        v_left = -dx * self.axis_y + dy * self.axis_x
        return (along - self.heel_end_mm) / self.length_mm, v_left

    def angle_to(self, direction_x, direction_y):
        """Signed angle from a direction to the foot axis, degrees, counter-clockwise.

        Parameters
        ----------
        direction_x, direction_y : float
            The direction (need not be a unit vector), e.g. the line of progression.

        Returns
        -------
        angle : float
            In (-180, 180]; positive when the foot axis is rotated counter-clockwise
            (seen from above) from the direction, which is toe-out for a left foot
            and toe-in for a right foot.

        Examples
        --------
        >>> from plantar.geometry import FootGeometry
        >>> g = FootGeometry(0.0, 0.0, -0.1736, 0.9848, -30.0, 250.0, 100.0, 40.0)
        >>> round(g.angle_to(0.0, 1.0), 1)
        10.0
        """
        cross = direction_x * self.axis_y - direction_y * self.axis_x
        dot = direction_x * self.axis_x + direction_y * self.axis_y
        return float(np.degrees(np.arctan2(cross, dot)))


def foot_geometry(step_pressure, x_mm, y_mm, *, threshold_kpa=0.0, iterations=3):
    """Estimate heel centre, foot axis, length and width of one step.

    Parameters
    ----------
    step_pressure : array_like, shape (n_frames, n_rows, n_cols)
        The step's pressure in kPa over its frames and bounding box, zero (or NaN)
        where the sample is not the step's.
    x_mm : array_like, shape (n_cols,)
        Column centres of the box in the mat frame, mm.
    y_mm : array_like, shape (n_rows,)
        Row centres of the box, mm.
    threshold_kpa : float
        Sensels whose peak pressure exceeds this are the footprint.
    iterations : int
        Refinements of the axis (each re-estimates the heel centre and the
        forefoot centroid from the previous axis).

    Returns
    -------
    geometry : FootGeometry
        Heel centre, axis, heel end, foot length and width, and the side evidence
        of the footprint's shape.

    Raises
    ------
    ValueError
        If the step has no sensel above ``threshold_kpa``.

    Notes
    -----
    The footprint is the sensels whose peak pressure exceeds ``threshold_kpa``,
    opened with a 2 x 2 sensel element: a foot is never one sensel wide, and
    lines that are (the creases of an insole, loaded in stance) are left out.

    The first axis is the footprint's principal axis, pointed from where the
    centre of pressure is in the first 15 % of contact time toward where it is in
    the last 15 % (heel to toe); if the centre of pressure rolls less than 15 % of
    the footprint's length (standing), toward the wider end (the forefoot is wider
    than the heel). Then, ``iterations`` times: the footprint's extent
    along the axis gives u (0 heel end, 1 toe tip); the heel centre is the
    peak-pressure-weighted centroid of u < 0.30 and the forefoot point the
    pressure-time-integral-weighted centroid of u >= 0.55; the new axis runs from
    the first to the second.

    The heel and toe ends are located to a fraction of a sensel. A sensor reads
    the mean pressure over its cell, and contact pressure falls to zero at the
    edge of the contact: the reading of an outermost cell relative to its fully
    covered inward neighbour tells how much of it the contact covers (exactly, if
    the pressure falls linearly). Sensel centres alone would place each end
    anywhere within half a pitch.

    Examples
    --------
    >>> import numpy as np
    >>> import plantar
    >>> from plantar.geometry import foot_geometry
    >>> from plantar.steps import FootstepSegmentation
    >>> trial, truth = plantar.synth.walk(seed=0, passes=1, variability=0.0)
    >>> step = FootstepSegmentation().segment(trial).steps_[1]
    >>> g = foot_geometry(step.pressure(trial.pressure.values), trial.x.values[step.cols],
    ...                   trial.y.values[step.rows])
    >>> bool(abs(g.heel_y - float(truth.heel_y[1])) < 5.0)
    True
    """
    p = np.array(step_pressure, dtype=np.float64)  # one copy, ours to change
    if not np.isfinite(p.sum()):  # NaN or inf somewhere (a finite sum is rarely too large: then this is a no-op)
        np.nan_to_num(p, copy=False)
    x_mm, y_mm = np.asarray(x_mm, dtype=float), np.asarray(y_mm, dtype=float)
    peak = p.max(axis=0)
    footprint = peak > threshold_kpa
    if not footprint.any():
        raise ValueError(f"the step has no sensel above {threshold_kpa} kPa")
    # A foot is never one sensel wide: lines that are (the creases of an insole,
    # loaded in stance) are left out of the geometry.
    opened = _open_2x2(footprint)
    if opened.any():
        footprint = opened
        p *= footprint
    rows, cols = np.nonzero(footprint)
    points = np.column_stack([x_mm[cols], y_mm[rows]])
    peak_w = peak[rows, cols]
    load_w = p.sum(axis=0)[rows, cols]  # pressure-time integral, up to the frame period

    # First axis: principal axis of the footprint, heel to toe by the centre of pressure.
    centre = points.mean(axis=0)
    _, vectors = np.linalg.eigh(_covariance(points - centre) if len(points) > 1 else np.eye(2))
    axis = vectors[:, -1]
    start, end = _cop_ends(p, x_mm, y_mm)
    along0 = (points - centre) @ axis
    if abs(np.dot(end - start, axis)) >= _MIN_ROLL * np.ptp(along0):
        heel_first = np.dot(end - start, axis) > 0
    else:
        # Standing still: the forefoot end of the footprint is the wider one.
        across0 = (points - centre) @ np.array([-axis[1], axis[0]])
        cut = np.ptp(along0) * 0.3
        back = np.ptp(across0[along0 <= along0.min() + cut]) if len(points) > 1 else 0.0
        front = np.ptp(across0[along0 >= along0.max() - cut]) if len(points) > 1 else 0.0
        heel_first = front >= back
    if not heel_first:
        axis = -axis
    heel = centre
    for _ in range(max(1, int(iterations))):
        along = (points - heel) @ axis
        u = (along - along.min()) / max(np.ptp(along), 1e-9)
        in_heel = u < HEEL_END_U
        in_front = u >= ARCH_END_U
        heel = _centroid(points[in_heel], peak_w[in_heel], fallback=points[np.argmin(along)])
        if in_front.any() and load_w[in_front].sum() > 0:
            front = _centroid(points[in_front], load_w[in_front], fallback=points[np.argmax(along)])
            new_axis = front - heel
            if np.linalg.norm(new_axis) > 0:
                axis = new_axis / np.linalg.norm(new_axis)
    along = (points - heel) @ axis
    across_left = (points - heel) @ np.array([-axis[1], axis[0]])
    pitch_x, pitch_y = _spacing(x_mm, y_mm)
    half_cell = 0.5 * (abs(axis[0]) * pitch_x + abs(axis[1]) * pitch_y)
    toe_end = _end(along, across_left, peak_w, half_cell)
    heel_end = -_end(-along, across_left, peak_w, half_cell)
    length = float(toe_end - heel_end)
    u = (along - heel_end) / max(length, 1e-9)
    arch = (u >= HEEL_END_U) & (u < ARCH_END_U)
    toes = u >= MTH_END_U
    arch_v = _weighted_mean(across_left[arch], load_w[arch])
    toe_v = _weighted_mean(across_left[toes], load_w[toes])
    chirality = (0.0 if np.isnan(arch_v) else arch_v) - (0.0 if np.isnan(toe_v) else toe_v)
    return FootGeometry(
        heel_x=float(heel[0]),
        heel_y=float(heel[1]),
        axis_x=float(axis[0]),
        axis_y=float(axis[1]),
        heel_end_mm=float(heel_end),
        length_mm=length,
        width_mm=float(np.ptp(across_left)),
        chirality_mm=float(chirality),
    )


def _open_2x2(footprint):
    """Binary opening with a 2 x 2 element: the sensels covered by a 2 x 2 square wholly inside the footprint.

    The result of ``scipy.ndimage.binary_opening(footprint, np.ones((2, 2)))``, without its overhead on a
    footprint's small image.
    """
    corner = np.zeros_like(footprint)  # the squares, by their lower-right sensel
    corner[1:, 1:] = footprint[1:, 1:] & footprint[:-1, 1:] & footprint[1:, :-1] & footprint[:-1, :-1]
    rows = corner.copy()
    rows[:-1] |= corner[1:]
    opened = rows.copy()
    opened[:, :-1] |= rows[:, 1:]
    return opened


def _covariance(centred):
    """The 2 x 2 covariance of points (n, 2), n > 1: ``numpy.cov(centred.T)``, computed as it does, without its overhead."""
    deviation = np.array(centred.T, dtype=np.float64)
    deviation -= deviation.mean(axis=1)[:, None]
    c = np.dot(deviation, deviation.T)
    c *= np.true_divide(1, deviation.shape[1] - 1)
    return c


def _median_step(coords):
    """The median spacing of coordinates (a uniform grid's pitch without sorting)."""
    d = np.diff(coords)
    return float(d[0]) if d[0] == d.max() == d.min() else float(np.median(d))


def _spacing(x_mm, y_mm):
    """Sensor pitch in x and y from the coordinates (one from the other if a box is 1 wide)."""
    px = _median_step(x_mm) if len(x_mm) > 1 else np.nan
    py = _median_step(y_mm) if len(y_mm) > 1 else np.nan
    px, py = (py if np.isnan(px) else px), (px if np.isnan(py) else py)
    return (0.0, 0.0) if np.isnan(px) else (px, py)


def _end(along, across, peak, half_cell):
    """Where the footprint ends along the axis (the far end), to a fraction of a sensel.

    A sensor reads the mean pressure over its cell, and contact pressure falls to
    zero at the edge of the contact. If it falls linearly, a cell of width 2h whose
    covered part is z long reads r = z^2 / (4 h (z + h)) times its fully covered
    inward neighbour (one cell back along the axis), so
    z = 2 h (r + sqrt(r^2 + r)), at most 2 h. This is worked out for each sensel
    within one cell of the outermost; the end is the farthest (near a rounded tip
    the outermost sensel may lie off the apex).
    """
    outermost = float(along.max())
    if half_cell <= 0:
        return outermost
    end = outermost
    for i in np.flatnonzero(along >= outermost - 2 * half_cell):
        distance = np.hypot(along - (along[i] - 2 * half_cell), across - across[i])
        j = int(np.argmin(distance))
        if distance[j] > 1.5 * half_cell or peak[j] <= peak[i]:
            continue
        r = peak[i] / peak[j]
        covered = min(2 * half_cell, 2 * half_cell * (r + np.sqrt(r * r + r)))
        end = max(end, float(along[i] - half_cell + covered))
    return end


def _cop_ends(p, x_mm, y_mm):
    """Centre of pressure over the first and the last share of the contact frames."""
    force = p.sum(axis=(1, 2))
    loaded = np.flatnonzero(force > 0)
    n = max(1, int(round(_END_SHARE * len(loaded))))
    ends = []
    for frames in (loaded[:n], loaded[-n:]):
        w = p[frames].sum(axis=0)
        total = w.sum()
        ends.append(np.array([(w.sum(axis=0) @ x_mm) / total, (w.sum(axis=1) @ y_mm) / total]))
    return ends


def _centroid(points, weights, fallback):
    if len(points) == 0 or weights.sum() <= 0:
        return np.asarray(fallback, dtype=float)
    return (points * weights[:, None]).sum(axis=0) / weights.sum()


def _weighted_mean(values, weights):
    if len(values) == 0 or weights.sum() <= 0:
        return np.nan
    return float((values * weights).sum() / weights.sum())


#: Largest angle between the walking directions of a trial's passes for the trial's
#: direction to stand for a pass that gives none, degrees.
TRIAL_DIRECTION_SPREAD_DEG = 5.0


def pass_directions(heel_mm, side, pass_index, *, complete=None, mat_axis=None):
    """Walking direction of each pass, from the heel centres of its footprints.

    The lines joining successive heel centres of the same foot are free of the
    step width: the direction of a pass is the mean of the unit vectors from
    the first to the last heel centre of each foot down at least twice in the
    pass among its complete footprints (source ``"pass"``). A pass in which no
    foot is down twice (two footprints on a short walkway) takes the walking
    direction of the trial's other passes (source ``"trial"``): the mean of
    their directions, each turned to point the way this pass walks (from its
    first heel centre to its last, footprints cut by the mat edge included),
    used only if they lie within :data:`TRIAL_DIRECTION_SPREAD_DEG` of their
    mean (passes along one walkway). Failing both, if ``mat_axis`` is given, a
    pass walking within 30 degrees of it takes the mat's long axis (source
    ``"mat"``): on a walkway people walk along it. A pass of one footprint (a
    lone footprint) has no direction.

    Parameters
    ----------
    heel_mm : array_like of float, shape (n_steps, 2)
        Heel centres (x, y), mm, in order of contact.
    side : array_like of str, shape (n_steps,)
        "left", "right" or "unknown" (not used for lines).
    pass_index : array_like of int, shape (n_steps,)
        Pass of each step.
    complete : array_like of bool, shape (n_steps,) | None
        Which footprints are whole (their heel centres place the lines); the
        others only tell which way a pass walks. ``None``: all.
    mat_axis : array_like of float, shape (2,) | None
        The long axis of a walkway (x, y), e.g. ``(0, 1)`` for a mat longer in
        y; ``None``: not used.

    Returns
    -------
    direction : ndarray of float, shape (n_steps, 2)
        Unit vector of the walking direction of each step's pass; NaN where
        there is none.
    source : ndarray of str, shape (n_steps,)
        ``"pass"``, ``"trial"``, ``"mat"`` or ``""`` (none).

    Examples
    --------
    >>> from plantar.geometry import pass_directions
    >>> heels = [[0.0, 0.0], [100.0, 600.0], [0.0, 1200.0], [60.0, 1500.0], [-40.0, 900.0]]
    >>> direction, source = pass_directions(heels, ["left", "right", "left", "left", "right"],
    ...                                     [0, 0, 0, 1, 1])
    >>> direction.round(3).tolist(), source.tolist()
    ([[0.0, 1.0], [0.0, 1.0], [0.0, 1.0], [-0.0, -1.0], [-0.0, -1.0]], ['pass', 'pass', 'pass', 'trial', 'trial'])
    >>> direction, source = pass_directions(heels[3:], ["left", "right"], [1, 1], mat_axis=(0.0, 1.0))
    >>> direction.tolist(), source.tolist()
    ([[0.0, -1.0], [0.0, -1.0]], ['mat', 'mat'])
    """
    heel = np.asarray(heel_mm, dtype=float).reshape(-1, 2)
    side = np.asarray(side)
    passes = np.asarray(pass_index)
    direction = np.full(heel.shape, np.nan)
    source = np.full(len(heel), "", dtype="<U5")
    finite = np.isfinite(heel).all(axis=1)
    whole = np.ones(len(heel), dtype=bool) if complete is None else np.asarray(complete, dtype=bool)
    usable = finite & whole & np.isin(side, ("left", "right"))
    heading = {}
    for p in np.unique(passes):
        members = (passes == p) & usable
        lines = []
        for s in ("left", "right"):
            foot = heel[members & (side == s)]
            if len(foot) >= 2 and np.linalg.norm(foot[-1] - foot[0]) > 0:
                lines.append((foot[-1] - foot[0]) / np.linalg.norm(foot[-1] - foot[0]))
        d = np.sum(lines, axis=0) if lines else np.zeros(2)
        if np.linalg.norm(d) > 0:
            direction[passes == p], source[passes == p] = d / np.linalg.norm(d), "pass"
        elif ((passes == p) & finite).sum() >= 2:
            ends = heel[(passes == p) & finite][[0, -1]]
            heading[p] = ends[1] - ends[0]  # the way it walks, within the step width
    known = np.unique(passes[source == "pass"])
    if heading and known.size:
        ways = np.array([direction[passes == p][0] for p in known])
        for p, rough in heading.items():
            aligned = ways * np.where(ways @ rough >= 0, 1.0, -1.0)[:, None]
            mean = aligned.sum(axis=0) / np.linalg.norm(aligned.sum(axis=0))
            if np.degrees(np.arccos(np.clip(aligned @ mean, -1.0, 1.0))).max() <= TRIAL_DIRECTION_SPREAD_DEG:
                direction[passes == p], source[passes == p] = mean, "trial"
    if mat_axis is not None:
        axis = np.asarray(mat_axis, dtype=float).reshape(2) / np.linalg.norm(mat_axis)
        for p, rough in heading.items():
            cosine = rough @ axis / max(np.linalg.norm(rough), 1e-9)
            if source[passes == p][0] == "" and abs(cosine) >= np.cos(np.radians(30.0)):
                direction[passes == p], source[passes == p] = np.sign(cosine) * axis, "mat"
    return direction, source


def progression_lines(heel_mm, side, pass_index, *, pass_direction=None, source=None):
    """Line of progression at each step: GAITRite's stride line, else the pass's direction.

    For step k with the opposite foot's steps k - 1 and k + 1 in the same pass,
    the line of progression runs through their heel centres (GAITRite; it
    follows a curving walk): ``"stride"``. Otherwise, where the walking
    direction of the step's pass is known (see :func:`pass_directions`), the
    line runs in that direction through the heel centre of the opposite foot's
    previous step, or of its next step if there is no previous one:
    ``"pass"``. A step of unknown side, or with neither, has no line: ``""``.

    Parameters
    ----------
    heel_mm : array_like of float, shape (n_steps, 2)
        Heel centres (x, y), mm, in order of contact.
    side : array_like of str, shape (n_steps,)
        "left", "right" or "unknown"; steps of unknown side break the sequence.
    pass_index : array_like of int, shape (n_steps,)
        Pass of each step.
    pass_direction : array_like of float, shape (n_steps, 2) | None
        Walking direction of each step's pass (NaN where unknown); ``None``:
        stride lines only.
    source : array_like of str, shape (n_steps,) | None
        Where each pass direction comes from (``"pass"``, ``"trial"`` or
        ``"mat"``, from :func:`pass_directions`); ``None``: ``"pass"``.

    Returns
    -------
    direction : ndarray of float, shape (n_steps, 2)
        Unit vector of the line at each step; NaN where there is none.
    anchor : ndarray of int, shape (n_steps,)
        The opposite foot's step the line runs through (k - 1, else k + 1);
        -1 where there is none.
    line : ndarray of str, shape (n_steps,)
        ``"stride"``, ``"pass"``, ``"trial"``, ``"mat"`` or ``""``.

    Examples
    --------
    >>> from plantar.geometry import progression_lines
    >>> heels = [[0.0, 0.0], [100.0, 600.0], [0.0, 1200.0]]
    >>> direction, anchor, line = progression_lines(heels, ["left", "right", "left"], [0] * 3,
    ...                                             pass_direction=[[0.0, 1.0]] * 3)
    >>> direction.tolist(), anchor.tolist(), line.tolist()
    ([[0.0, 1.0], [0.0, 1.0], [0.0, 1.0]], [1, 0, 1], ['pass', 'stride', 'pass'])
    """
    heel = np.asarray(heel_mm, dtype=float).reshape(-1, 2)
    side = np.asarray(side)
    passes = np.asarray(pass_index)
    n = len(heel)
    d_pass = np.full((n, 2), np.nan) if pass_direction is None else np.asarray(pass_direction, float).reshape(n, 2)
    direction = np.full((n, 2), np.nan)
    anchor = np.full(n, -1)
    line = np.full(n, "", dtype="<U6")
    known = np.isin(side, ("left", "right")) & np.isfinite(heel).all(axis=1)
    # The opposite foot's previous and next step in the same pass, where they exist.
    opposite = np.zeros((2, n), dtype=bool)
    opposite[0, 1:] = known[:-1] & known[1:] & (passes[:-1] == passes[1:]) & (side[:-1] != side[1:])
    opposite[1, :-1] = opposite[0, 1:]
    for k in np.flatnonzero(known):
        has_prev, has_next = opposite[0, k], opposite[1, k]
        if has_prev and has_next:
            span = heel[k + 1] - heel[k - 1]
            if np.linalg.norm(span) > 0:
                direction[k], anchor[k], line[k] = span / np.linalg.norm(span), k - 1, "stride"
                continue
        if np.isfinite(d_pass[k]).all():
            direction[k], line[k] = d_pass[k], "pass" if source is None else source[k]
            anchor[k] = k - 1 if has_prev else (k + 1 if has_next else -1)
    return direction, anchor, line


def gaitrite_distances(heel_mm, side, pass_index, *, pass_direction=None):
    """Step length, step width and stride length by the GAITRite definitions.

    For step k with the opposite foot's steps k - 1 and k + 1 in the same pass, the
    line of progression runs through their heel centres; step length is the
    distance from the heel centre of step k - 1 to that of step k along that line,
    and step width the perpendicular distance from the heel centre of step k to
    it. Stride length is the distance between the heel centres of step k - 2 and
    step k (the same foot, same pass). Steps of unknown side break the sequence.

    Where the stride line is missing (the first and last footprints on a short
    walkway) and ``pass_direction`` is given, the line of progression runs in
    the pass's walking direction through the opposite foot's previous heel
    centre (else its next one): step length is measured along it from the
    previous heel centre (NaN without a previous step of the opposite foot)
    and step width perpendicular to it (see :func:`progression_lines`).

    Parameters
    ----------
    heel_mm : array_like of float, shape (n_steps, 2)
        Heel centres (x, y), mm, in order of contact.
    side : array_like of str, shape (n_steps,)
        "left", "right" or "unknown".
    pass_index : array_like of int, shape (n_steps,)
        Pass of each step.
    pass_direction : array_like of float, shape (n_steps, 2) | None
        Walking direction of each step's pass (NaN where unknown), e.g. from
        :func:`pass_directions`; ``None``: the stride line only.

    Returns
    -------
    step_length, step_width, stride_length : ndarray of float, shape (n_steps,)
        mm; NaN where the steps needed are missing.

    Examples
    --------
    >>> from plantar.geometry import gaitrite_distances
    >>> heels = [[0.0, 0.0], [100.0, 600.0], [0.0, 1200.0], [100.0, 1800.0]]
    >>> length, width, stride = gaitrite_distances(heels, ["left", "right"] * 2, [0] * 4)
    >>> length.tolist(), width.tolist(), stride.tolist()
    ([nan, 600.0, 600.0, nan], [nan, 100.0, 100.0, nan], [nan, nan, 1200.0, 1200.0])
    >>> length, width, _ = gaitrite_distances(heels, ["left", "right"] * 2, [0] * 4,
    ...                                       pass_direction=[[0.0, 1.0]] * 4)
    >>> length.tolist(), width.tolist()
    ([nan, 600.0, 600.0, 600.0], [100.0, 100.0, 100.0, 100.0])
    """
    heel = np.asarray(heel_mm, dtype=float).reshape(-1, 2)
    side = np.asarray(side)
    passes = np.asarray(pass_index)
    n = len(heel)
    length, width, stride = (np.full(n, np.nan) for _ in range(3))
    known = np.isin(side, ("left", "right"))
    for k in range(2, n):
        if known[k] and passes[k - 2] == passes[k] and side[k - 2] == side[k] and side[k - 1] != side[k]:
            stride[k] = np.linalg.norm(heel[k] - heel[k - 2])
    direction, anchor, line = progression_lines(heel, side, passes, pass_direction=pass_direction)
    for k in np.flatnonzero(anchor >= 0):
        d = direction[k]
        offset = heel[k] - heel[anchor[k]]
        width[k] = abs(offset[0] * d[1] - offset[1] * d[0])
        if anchor[k] == k - 1:
            length[k] = offset @ d
    return length, width, stride


#: The foot frame of :func:`aligned_peak_maps`, stated in its output.
FOOT_FRAME = (
    "along_mm: from the heel centre (heel_x, heel_y) toward the toes along the foot axis (axis_angle); "
    "across_mm: perpendicular to it, positive to the right of the axis seen from above with the toes up. "
    "Feet are not mirrored: a left foot has its medial side at +across_mm, a right foot at -across_mm, "
    "as each lies on the mat seen from above"
)


def aligned_peak_maps(analysis, *, side, complete_only=True, spacing_mm=None):
    """Peak-pressure maps of one side's steps in foot coordinates, and their mean.

    Each step's peak-pressure map is resampled (bilinear) on a common grid in
    the foot frame: the origin at the step's heel centre, ``along_mm`` along its
    foot axis toward the toes, ``across_mm`` perpendicular, positive to the right
    of the axis seen from above. Feet are not mirrored, so each side looks as it
    lies on the mat, toes up: a left foot's medial side is at +``across_mm``, a
    right foot's at -``across_mm``. The region labels are carried over (nearest
    sensel) and each step's centre-of-pressure path is expressed in the same
    frame and resampled at 0, 1, ..., 100 % of stance.

    The mean step is the mean of the aligned maps (zero where a step has no
    contact), its region label image the label most steps give a point (among
    the points inside the footprint of at least half of the steps), and its
    centre-of-pressure path the mean of the steps' paths at each percent of
    stance.

    Parameters
    ----------
    analysis : xarray.Dataset
        An analysis from :func:`plantar.analyze`.
    side : {"left", "right"}
        The side whose steps are aligned.
    complete_only : bool
        Use complete steps only (default): a footprint cut by the mat edge
        would distort the mean.
    spacing_mm : float | None
        Grid spacing, mm; ``None`` takes the finer sensor pitch of the mat.

    Returns
    -------
    aligned : xarray.Dataset
        Dims ``step`` (the steps used, with their ``step`` numbers and ``side``),
        ``along_mm`` and ``across_mm`` (grid nodes, multiples of the spacing, so
        grids of the same spacing align exactly) and ``stance_percent``:

        - ``peak_pressure_map`` (step, along_mm, across_mm), kPa, float32;
        - ``region_label`` (step, along_mm, across_mm), int8, 0 = outside,
          k = k-th base region of :data:`plantar.regions.BASE_REGIONS`;
        - ``cop_along``, ``cop_across`` (step, stance_percent), mm;
        - ``mean_peak_pressure_map``, ``mean_region_label`` (along_mm,
          across_mm) and ``mean_cop_along``, ``mean_cop_across``
          (stance_percent): the mean step;
        - ``foot_length`` (step), mm, from the analysis;
        - where the analysis has a masking scheme's own labels (``mask_label``,
          ``mask="anatomical"``): ``mask_label`` and ``mean_mask_label``, the
          same for those labels.

        Attrs ``side``, ``spacing_mm``, ``n_steps`` and ``frame`` (the
        definition of the foot frame).

    Raises
    ------
    ValueError
        If ``side`` or ``spacing_mm`` is not allowed, or the side has no step
        to align.

    Examples
    --------
    >>> import plantar
    >>> from plantar.geometry import aligned_peak_maps
    >>> trial, _ = plantar.synth.walk(seed=0, passes=1, mat_length_mm=1000.0)
    >>> aligned = aligned_peak_maps(plantar.analyze(trial), side="left")
    >>> aligned.mean_peak_pressure_map.dims
    ('along_mm', 'across_mm')
    >>> aligned.attrs["n_steps"], aligned.attrs["spacing_mm"]
    (1, 5.0)
    >>> heel = aligned.mean_peak_pressure_map.where(aligned.along_mm < 40).argmax(...)
    >>> [float(aligned[dim][int(i)]) for dim, i in heel.items()]    # the heel peak, mm
    [0.0, 0.0]
    """
    from .metrics import STANCE_PERCENT  # here: metrics imports this module

    if side not in ("left", "right"):
        raise ValueError(f"side must be one of ('left', 'right'), got {side!r}")
    from .analyze import _current  # here: analyze imports this module

    analysis = _current(analysis)
    for name in ("peak_pressure_map", "region_label", "heel_x", "heel_y", "axis_angle", "stance_cop_x",
                 "stance_cop_y"):  # fmt: skip
        if name not in analysis:
            raise ValueError(f"the analysis has no {name!r}: is it an analysis from plantar.analyze()?")
    x, y = analysis["x"].values.astype(float), analysis["y"].values.astype(float)
    pitch_x, pitch_y = _spacing(x, y)
    if spacing_mm is None:
        spacing = float(min(pitch_x, pitch_y))
    else:
        spacing = float(spacing_mm)
        if not (np.isfinite(spacing) and spacing > 0):
            raise ValueError(f"spacing_mm must be a positive number of mm or None, got {spacing_mm!r}")
    heel_x, heel_y = analysis["heel_x"].values, analysis["heel_y"].values
    angle = np.radians(analysis["axis_angle"].values)
    chosen = (analysis["side"].values == side) & np.isfinite(heel_x + heel_y + angle)
    if complete_only:
        chosen &= analysis["complete"].values.astype(bool)
    steps = np.flatnonzero(chosen)
    if steps.size == 0:
        kind = "complete " if complete_only else ""
        raise ValueError(f"the analysis has no {kind}{side} step to align (side={side!r})")

    # Each step's box (a sensel of margin) and the extent of its footprint in its foot frame.
    boxes, lo, hi = [], np.full(2, np.inf), np.full(2, -np.inf)
    for k in steps:
        loaded = (analysis["region_label"].values[k] > 0) | (analysis["peak_pressure_map"].values[k] > 0)
        rows, cols = np.flatnonzero(loaded.any(axis=1)), np.flatnonzero(loaded.any(axis=0))
        box = (slice(max(rows[0] - 1, 0), rows[-1] + 2), slice(max(cols[0] - 1, 0), cols[-1] + 2))
        boxes.append(box)
        yy, xx = np.nonzero(loaded)
        along, across = _to_foot(x[xx], y[yy], heel_x[k], heel_y[k], angle[k])
        lo = np.minimum(lo, [along.min(), across.min()])
        hi = np.maximum(hi, [along.max(), across.max()])
    margin = 0.5 * max(pitch_x, pitch_y)
    along_mm = np.arange(np.floor((lo[0] - margin) / spacing), np.ceil((hi[0] + margin) / spacing) + 1) * spacing
    across_mm = np.arange(np.floor((lo[1] - margin) / spacing), np.ceil((hi[1] + margin) / spacing) + 1) * spacing
    A, C = np.meshgrid(along_mm, across_mm, indexing="ij")

    from scipy.ndimage import map_coordinates  # imported where used: scipy.ndimage is slow to import

    n = steps.size
    maps = np.zeros((n, along_mm.size, across_mm.size), dtype=np.float32)
    labels = np.zeros((n, along_mm.size, across_mm.size), dtype=np.int8)
    # A masking scheme's own labels (mask="anatomical"), aligned as well, for maps drawn with its regions.
    fine = analysis["mask_label"].values if "mask_label" in analysis.variables else None
    fine_labels = np.zeros_like(labels) if fine is not None else None
    # The step's centre of pressure over stance, turned into its foot frame (linear interpolation and this
    # rigid motion commute).
    along, across = _to_foot(analysis["stance_cop_x"].values[steps], analysis["stance_cop_y"].values[steps],
                             heel_x[steps, None], heel_y[steps, None], angle[steps, None])  # fmt: skip
    cop = np.stack([along, across], axis=-1)
    for i, (k, (rows, cols)) in enumerate(zip(steps, boxes)):
        X, Y = _from_foot(A, C, heel_x[k], heel_y[k], angle[k])
        xb, yb = x[cols], y[rows]
        # Fractional sensel indices in the box; points off the box fall on the constant 0.
        where = [np.interp(Y, yb, np.arange(yb.size), left=-2.0, right=yb.size + 1.0),
                 np.interp(X, xb, np.arange(xb.size), left=-2.0, right=xb.size + 1.0)]  # fmt: skip
        peak = np.nan_to_num(analysis["peak_pressure_map"].values[k][rows, cols].astype(np.float64))
        maps[i] = np.clip(map_coordinates(peak, where, order=1, mode="constant", cval=0.0), 0.0, None)
        labels[i] = map_coordinates(analysis["region_label"].values[k][rows, cols], where, order=0,
                                    mode="constant", cval=0)  # fmt: skip
        if fine is not None:
            fine_labels[i] = map_coordinates(fine[k][rows, cols], where, order=0, mode="constant", cval=0)


    mean_labels = _mean_labels(labels, len(BASE_REGIONS))
    with np.errstate(invalid="ignore"):
        mean_cop = np.nanmean(cop, axis=0) if np.isfinite(cop).any() else np.full(cop.shape[1:], np.nan)

    mm = {"units": "mm"}
    label_attrs = {"units": "1", "long_name": "region", "definition": "0 = outside, k = k-th base region: "
                   + ", ".join(BASE_REGIONS)}  # fmt: skip
    kpa = {"units": "kPa"}
    aligned = xr.Dataset(
        {
            "peak_pressure_map": (("step", "along_mm", "across_mm"), maps,
                                  {**kpa, "long_name": "peak pressure of the step, in the foot frame"}),
            "region_label": (("step", "along_mm", "across_mm"), labels, label_attrs),
            "cop_along": (("step", "stance_percent"), cop[..., 0], {**mm, "long_name": "centre of pressure along"}),
            "cop_across": (("step", "stance_percent"), cop[..., 1], {**mm, "long_name": "centre of pressure across"}),
            "mean_peak_pressure_map": (("along_mm", "across_mm"), maps.mean(axis=0),
                                       {**kpa, "long_name": "mean peak pressure of the steps",
                                        "definition": "mean over steps of the aligned maps, 0 where no contact"}),
            "mean_region_label": (("along_mm", "across_mm"), mean_labels,
                                  {**label_attrs, "long_name": "region of the mean step",
                                   "definition": label_attrs["definition"] + "; the label most steps give the "
                                   "point, where at least half of the steps have contact"}),
            "mean_cop_along": ("stance_percent", mean_cop[:, 0], {**mm, "long_name": "mean centre of pressure along"}),
            "mean_cop_across": ("stance_percent", mean_cop[:, 1],
                                {**mm, "long_name": "mean centre of pressure across"}),
            "foot_length": ("step", analysis["foot_length"].values[steps], {**mm, "long_name": "foot length"}),
        },
        coords={
            "step": ("step", analysis["step"].values[steps]),
            "side": ("step", analysis["side"].values[steps]),
            "along_mm": ("along_mm", along_mm, {**mm, "long_name": "along the foot axis from the heel centre"}),
            "across_mm": ("across_mm", across_mm, {**mm, "long_name": "across the foot axis, + to its right"}),
            "stance_percent": ("stance_percent", STANCE_PERCENT, {"units": "%", "long_name": "percent of stance"}),
        },
        attrs={"side": side, "spacing_mm": spacing, "n_steps": int(n), "complete_only": int(complete_only),
               "frame": FOOT_FRAME},  # fmt: skip
    )
    if fine is not None:
        fine_attrs = {k: v for k, v in analysis["mask_label"].attrs.items() if k in ("units", "long_name", "definition")}
        n_fine = int(fine.max()) if fine.size else 0
        aligned["mask_label"] = (("step", "along_mm", "across_mm"), fine_labels, fine_attrs)
        aligned["mean_mask_label"] = (("along_mm", "across_mm"), _mean_labels(fine_labels, n_fine),
                                      {**fine_attrs, "long_name": "region of the mean step (the analysis's mask)",
                                       "definition": fine_attrs.get("definition", "") + "; the label most steps give "
                                       "the point, where at least half of the steps have contact"})  # fmt: skip
    return aligned


def _mean_labels(labels, n_labels):
    """The mean foot's labels: the most frequent label among the steps, where at least half have contact."""
    n = labels.shape[0]
    counts = (labels[:, None] == np.arange(1, n_labels + 1)[None, :, None, None]).sum(axis=0)
    inside = 2 * counts.sum(axis=0) >= n
    return np.where(inside, counts.argmax(axis=0) + 1, 0).astype(np.int8)


def _to_foot(x, y, heel_x, heel_y, angle):
    """Mat (x, y) to the foot frame (along, across to the right of the axis), mm; angle in rad."""
    dx, dy = np.asarray(x, dtype=float) - heel_x, np.asarray(y, dtype=float) - heel_y
    c, s = np.cos(angle), np.sin(angle)
    return dx * c + dy * s, dx * s - dy * c


def _from_foot(along, across, heel_x, heel_y, angle):
    """The foot frame back to the mat frame, mm; angle in rad."""
    c, s = np.cos(angle), np.sin(angle)
    return heel_x + along * c + across * s, heel_y + along * s - across * c


def body_cop_butterfly(analysis):
    """Centre of pressure of both feet relative to the walker's progression (butterfly).

    On a treadmill the centre of pressure of both feet traces a figure of eight
    (the "butterfly" of Zebris-type reports): the belt carries each foot back
    while its centre of pressure rolls forward, and the centre jumps across in
    double support. On a mat the walker moves instead, so the same shape appears
    after subtracting the progression: for each pass, with the line of
    progression along the lines joining successive heel centres of the same
    foot among its complete steps (or, if no foot is down twice, along the
    mean of their foot axes) and the walker advancing along it at the trial's
    walking speed,

    ``forward(t) = COP(t) . d - v t - f``  and  ``lateral(t) = COP(t) . n - l``,

    with ``d`` the unit direction, ``n`` its right-hand normal (positive to the
    walker's right) and ``v`` the speed. The offsets anchor every pass the same
    way, so that passes overlay: ``l`` puts the midline halfway between the
    mean left and the mean right heel centre (lateral 0 between the feet), and
    ``f`` puts the heel strikes, ``h_k . d - v t_on_k``, at 0 on average; one
    constant over all passes then centres ``forward`` on the frames used. Only
    frames in which every foot on the ground is measured are used: from the
    first contact of the pass's second step to the last contact of its
    second-to-last step (before, the foot behind may still be off the mat;
    after, the next one may already be on the ground beyond it), without any
    incomplete step in contact.

    Parameters
    ----------
    analysis : xarray.Dataset
        An analysis from :func:`plantar.analyze` (a walk over a mat).

    Returns
    -------
    butterfly : xarray.Dataset
        Per ``time``: ``forward`` and ``lateral`` (mm; NaN outside the frames
        used), ``pass_index`` (-1 outside) and ``support`` (``"left"`` or
        ``"right"`` in single support, ``"double"``, ``""`` outside). Attrs
        ``speed_mm_s`` (the speed subtracted) and ``definition``.

    Examples
    --------
    >>> import numpy as np
    >>> import plantar
    >>> from plantar.geometry import body_cop_butterfly
    >>> trial, _ = plantar.synth.walk(seed=0, passes=1)
    >>> butterfly = body_cop_butterfly(plantar.analyze(trial))
    >>> right = butterfly.lateral.where(butterfly.support == "right")
    >>> bool(right.mean() > 20)    # mm to the right while on the right foot
    True
    """
    from .analyze import _current, _step_frames  # here: analyze imports this module

    analysis = _current(analysis)
    for name in ("body_cop_x", "body_cop_y", "step_force", "frame_on", "heel_x", "heel_y", "pass_index", "complete"):
        if name not in analysis:
            raise ValueError(f"the analysis has no {name!r}: is it an analysis from plantar.analyze()?")
    time = analysis["time"].values
    cop = np.column_stack([analysis["body_cop_x"].values, analysis["body_cop_y"].values])
    # The loaded frames of each step, as (step, trial frame) pairs.
    force = analysis["step_force"].values
    loaded = force > 0  # False on the padding (NaN)
    step_of = np.broadcast_to(np.arange(force.shape[0])[:, None], force.shape)[loaded]
    frame_of = _step_frames(analysis["frame_on"].values, force.shape[1])[loaded]
    complete = analysis["complete"].values.astype(bool)
    passes = analysis["pass_index"].values
    side = analysis["side"].values
    heel = np.column_stack([analysis["heel_x"].values, analysis["heel_y"].values])
    t_on, t_off = analysis["t_on"].values, analysis["t_off"].values
    speed = float(analysis.attrs.get("walking_speed_m_s", np.nan)) * 1000.0
    forward, lateral = np.full(time.size, np.nan), np.full(time.size, np.nan)
    pass_of_time = np.full(time.size, -1)
    cut_down = np.zeros(time.size, dtype=bool)  # an incomplete step is on the ground
    cut_down[frame_of[~complete[step_of]]] = True
    usable_time = np.isfinite(cop).all(axis=1) & ~cut_down
    for p in np.unique(passes):
        members = np.flatnonzero(passes == p)
        if members.size < 3 or not np.isfinite(speed):
            continue
        window = usable_time & (time >= t_on[members[1]]) & (time <= t_off[members[-2]])
        good = members[complete[members] & np.isfinite(heel[members]).all(axis=1)]
        if not window.any() or good.size < 2:
            continue
        points = heel[good]
        d = _progression(points, side[good], np.radians(analysis["axis_angle"].values[good]))
        if d is None:
            continue
        n = np.array([d[1], -d[0]])
        sides = side[good]
        if {"left", "right"} <= set(sides.tolist()):
            midline = 0.5 * ((points[sides == "left"] @ n).mean() + (points[sides == "right"] @ n).mean())
        else:
            midline = (points @ n).mean()
        strikes = (points @ d - speed * t_on[good]).mean()
        forward[window] = cop[window] @ d - speed * time[window] - strikes
        lateral[window] = cop[window] @ n - midline
        pass_of_time[window] = p
    used = pass_of_time >= 0
    if used.any():
        forward[used] -= forward[used].mean()
    on_ground = pass_of_time[frame_of] >= 0
    n_on = np.bincount(frame_of[on_ground], minlength=time.size)
    # In a frame with one step down, the sum of the steps down is that step.
    only = np.bincount(frame_of[on_ground], weights=step_of[on_ground], minlength=time.size).astype(int)
    single = np.where(n_on == 1, side[np.where(n_on == 1, only, 0)] if side.size else "", "")
    support = np.where(n_on > 1, "double", single).astype("<U6")
    return xr.Dataset(
        {
            "forward": ("time", forward, {"units": "mm", "long_name": "centre of pressure forward of the walker"}),
            "lateral": ("time", lateral, {"units": "mm", "long_name": "centre of pressure to the walker's right"}),
            "pass_index": ("time", pass_of_time, {"units": "1", "long_name": "pass over the mat, -1 = not used"}),
            "support": ("time", support, {"long_name": "support", "definition": "the foot in single support, "
                                          "'double' with both feet down, '' in frames not used"}),
        },
        coords={"time": analysis["time"]},
        attrs={"speed_mm_s": speed, "definition": "COP of both feet minus the walker's progression at the "
               "trial's walking speed along each pass's line of progression (same-foot heel centres, else the "
               "mean foot axis); lateral from the midline between the left and right heel centres, positive to the "
               "walker's right; forward from the heel strikes, centred over all passes"},  # fmt: skip
    )


def _progression(heel, side, axis_rad):
    """Unit direction of walking from one pass's heel centres (in order of contact).

    The mean of the lines joining successive heel centres of the same foot (they
    are free of the step width); with no foot down twice, the mean of the foot
    axes (the toe-out of the left and right foot cancel). None if neither exists.
    """
    strides = [heel[side == s][-1] - heel[side == s][0] for s in ("left", "right") if np.sum(side == s) >= 2]
    if strides:
        d = np.sum([v / np.linalg.norm(v) for v in strides if np.linalg.norm(v) > 0], axis=0)
    else:
        d = np.array([np.cos(axis_rad), np.sin(axis_rad)]).T[np.isfinite(axis_rad)].sum(axis=0)
    norm = np.linalg.norm(d) if np.ndim(d) else 0.0
    return d / norm if norm > 0 else None

