"""Foot geometry of one step: heel centre, foot axis, length, width, angle.

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
from scipy.ndimage import binary_opening

from .regions import ARCH_END_U, HEEL_END_U, MTH_END_U

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
    p = np.nan_to_num(np.asarray(step_pressure, dtype=np.float64))
    x_mm, y_mm = np.asarray(x_mm, dtype=float), np.asarray(y_mm, dtype=float)
    peak = p.max(axis=0)
    footprint = peak > threshold_kpa
    if not footprint.any():
        raise ValueError(f"the step has no sensel above {threshold_kpa} kPa")
    # A foot is never one sensel wide: lines that are (the creases of an insole,
    # loaded in stance) are left out of the geometry.
    opened = binary_opening(footprint, structure=np.ones((2, 2), dtype=bool))
    if opened.any():
        footprint = opened
        p = p * footprint
    rows, cols = np.nonzero(footprint)
    points = np.column_stack([x_mm[cols], y_mm[rows]])
    peak_w = peak[rows, cols]
    load_w = p.sum(axis=0)[rows, cols]  # pressure-time integral, up to the frame period

    # First axis: principal axis of the footprint, heel to toe by the centre of pressure.
    centre = points.mean(axis=0)
    _, vectors = np.linalg.eigh(np.cov((points - centre).T) if len(points) > 1 else np.eye(2))
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


def _spacing(x_mm, y_mm):
    """Sensor pitch in x and y from the coordinates (one from the other if a box is 1 wide)."""
    px = float(np.median(np.diff(x_mm))) if len(x_mm) > 1 else np.nan
    py = float(np.median(np.diff(y_mm))) if len(y_mm) > 1 else np.nan
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


def gaitrite_distances(heel_mm, side, pass_index):
    """Step length, step width and stride length by the GAITRite definitions.

    For step k with the opposite foot's steps k - 1 and k + 1 in the same pass, the
    line of progression runs through their heel centres; step length is the
    distance from the heel centre of step k - 1 to that of step k along that line,
    and step width the perpendicular distance from the heel centre of step k to
    it. Stride length is the distance between the heel centres of step k - 2 and
    step k (the same foot, same pass). Steps of unknown side break the sequence.

    Parameters
    ----------
    heel_mm : array_like of float, shape (n_steps, 2)
        Heel centres (x, y), mm, in order of contact.
    side : array_like of str, shape (n_steps,)
        "left", "right" or "unknown".
    pass_index : array_like of int, shape (n_steps,)
        Pass of each step.

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
    for k in range(1, n - 1):
        if not (known[k] and passes[k - 1] == passes[k] == passes[k + 1]):
            continue
        if side[k - 1] == side[k] or side[k + 1] == side[k] or not (known[k - 1] and known[k + 1]):
            continue
        line = heel[k + 1] - heel[k - 1]
        norm = np.linalg.norm(line)
        if norm == 0:
            continue
        offset = heel[k] - heel[k - 1]
        length[k] = offset @ line / norm
        width[k] = abs(offset[0] * line[1] - offset[1] * line[0]) / norm
    return length, width, stride
