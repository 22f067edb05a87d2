"""Shared by the vendor reader tests: where the real recordings are, and foot landmarks.

The landmarks tell how a footprint lies in the mat frame: with the toes toward +y,
a LEFT foot seen from above has its hallux and its medial arch at +x of the foot's
long axis and its lateral midfoot contact at -x; a RIGHT foot is the mirror image.
"""

import numpy as np
from real_data import REAL, real_file  # noqa: F401  (re-exported for the vendor tests)


def landmarks(peak, x, y, *, foot_y_mm=None, threshold_kpa=None):
    """Where the hallux, the midfoot contact and the toe line lie relative to the foot axis.

    ``peak`` is a peak-pressure image (y, x) of one foot with the toes assumed
    toward +y; NaN = no sensor. The foot spans ``foot_y_mm`` = (heel end, toe end)
    along y (default: the footprint's extent). Bands along the foot, as fractions
    u of its length from the heel: heel u < 0.25, midfoot 0.3 <= u < 0.55,
    forefoot 0.6 <= u < 0.8, toes u >= 0.85. The axis runs from the
    pressure-weighted heel centroid to the forefoot centroid (straight along y
    through the forefoot when the heel never touched). The hallux is the highest
    peak of the toe band; the midfoot contact is the centroid of the loaded
    sensels of the midfoot band; the toe line is how much further forward (mm,
    along the axis) the footprint reaches at +x of the axis than at -x: the
    hallux side reaches furthest, as the toe line slopes back to the fifth toe.

    Returns
    -------
    marks : dict
        ``hallux_mm``, ``midfoot_mm`` (signed distance from the axis, + = at +x
        looking toward the toes), ``toe_line_mm`` and ``axis`` (unit vector).
    """
    peak = np.nan_to_num(np.asarray(peak, float))
    if threshold_kpa is None:
        threshold_kpa = 0.05 * peak.max()
    X, Y = np.meshgrid(x, y)
    loaded = peak > threshold_kpa
    y0, y1 = foot_y_mm if foot_y_mm is not None else (Y[loaded].min(), Y[loaded].max())
    u = (Y - y0) / (y1 - y0)

    def centroid(mask, weights):
        w = np.where(mask, weights, 0.0)
        return np.array([(w * X).sum(), (w * Y).sum()]) / w.sum()

    fore = centroid(loaded & (u >= 0.6) & (u < 0.8), peak)
    heel_band = loaded & (u < 0.25)
    heel = centroid(heel_band, peak) if heel_band.any() else fore - [0.0, 1.0]
    axis = (fore - heel) / np.hypot(*(fore - heel))

    def offset(point):  # + = right of the axis looking toward the toes
        return float(axis[1] * (point[0] - heel[0]) - axis[0] * (point[1] - heel[1]))

    toes = loaded & (u >= 0.85)
    k = np.argmax(np.where(toes, peak, -1.0))
    hallux = np.array([X.flat[k], Y.flat[k]])
    midfoot = centroid(loaded & (u >= 0.3) & (u < 0.55), np.ones_like(peak))
    # toe line: how much further forward the footprint reaches at +x of the axis than at -x
    along = axis[0] * (X - heel[0]) + axis[1] * (Y - heel[1])
    across = axis[1] * (X - heel[0]) - axis[0] * (Y - heel[1])
    margin = 0.5 * np.diff(x).mean()
    reach_plus = along[loaded & (across > margin)].max()
    reach_minus = along[loaded & (across < -margin)].max()
    return {
        "hallux_mm": offset(hallux),
        "midfoot_mm": offset(midfoot),
        "toe_line_mm": float(reach_plus - reach_minus),
        "axis": axis,
    }


def apparent_side(peak, x, y, **options):
    """'left', 'right' or 'unclear': the toe line and the midfoot contact must agree.

    A left foot seen from above with its toes toward +y reaches furthest forward
    at +x (hallux side) and touches down with its lateral midfoot at -x.
    """
    marks = landmarks(peak, x, y, **options)
    if marks["toe_line_mm"] > 0 > marks["midfoot_mm"]:
        return "left"
    if marks["toe_line_mm"] < 0 < marks["midfoot_mm"]:
        return "right"
    return "unclear"


def cop_progression_mm(trial, *, threshold_n=20.0):
    """Per foot contact, COP y at the last loaded frame minus at the first (mm).

    Contacts are runs of frames whose total force exceeds ``threshold_n``.
    Positive values mean the centre of pressure rolls toward +y: the toes point
    to +y.
    """
    p = trial.pressure.fillna(0)
    area_m2 = trial.attrs["sensor_pitch_x_mm"] * trial.attrs["sensor_pitch_y_mm"] * 1e-6
    force = (p.sum(("y", "x")) * 1e3 * area_m2).values
    cop_y = ((p * p.y).sum(("y", "x")) / p.sum(("y", "x")).where(lambda s: s > 0)).values
    on = force > threshold_n
    edges = np.flatnonzero(np.diff(np.concatenate([[0], on.astype(int), [0]])))
    runs = edges.reshape(-1, 2)
    return np.array([cop_y[b - 1] - cop_y[a] for a, b in runs if b - a >= 5])


def widest_fraction(peak, x, y, *, threshold_kpa=None):
    """Where along y the footprint is widest, as a fraction of its length (0 = smallest y).

    The forefoot is wider than the heel, so with the toes toward +y this is
    above 0.5. ``peak`` is a peak-pressure image (y, x).
    """
    peak = np.nan_to_num(np.asarray(peak, float))
    if threshold_kpa is None:
        threshold_kpa = 0.05 * peak.max()
    loaded = peak > threshold_kpa
    rows = np.flatnonzero(loaded.any(axis=1))
    width = loaded.sum(axis=1)
    return float((y[np.argmax(width)] - y[rows[0]]) / (y[rows[-1]] - y[rows[0]]))


def assert_round_trip(trial, folder):
    """plantar.save then plantar.read gives back the identical trial."""
    import xarray as xr

    import plantar

    path = folder / "round_trip.nc"
    plantar.save(trial, path)
    xr.testing.assert_identical(plantar.read(path), trial)


def run_convert(source, folder):
    """Run ``python -m plantar convert SOURCE -o OUT.nc``; return the trial read from OUT.nc."""
    import subprocess
    import sys

    import plantar

    out = folder / "converted.nc"
    done = subprocess.run(
        [sys.executable, "-m", "plantar", "convert", str(source), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert out.is_file()
    return plantar.read(out)


def assert_names(exc_info, path, *parts):
    """The error message names the file and every one of ``parts`` (e.g. 'line 12', 'ROWS')."""
    message = str(exc_info.value)
    assert str(path) in message, message
    for part in parts:
        assert part in message, f"{part!r} not in: {message}"
