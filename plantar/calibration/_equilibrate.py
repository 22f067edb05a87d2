"""Step 2: equilibration. Per-sensel gain under a uniform pressure; dead and uncovered sensels."""

import numpy as np
import xarray as xr

from .._schema import _positive
from ..utils import logger
from ._common import (
    STATUS,
    _add_step,
    _check_raw,
    _check_same_mat,
    _components,
    _finish,
    _fraction,
    _set_max_seen,
    check_calibration,
)  # fmt: skip


def equilibrate(raw, cal, *, pressure_kpa=None, cover_sigma=3.0, dead_fraction=0.2, max_dead_cluster=2,
                gain_limits=(0.5, 2.0), max_uncovered_fraction=0.02, max_saturated_fraction=0.001,
                min_frames=5):  # fmt: skip
    """Add per-sensel gains from frames under a uniform pressure (air bladder, foam and weights).

    For each pressure level, steady frames are those whose median reading
    above offset is at least 90 % of the largest, and per sensel
    ``r_k = median over steady frames of (raw - o)``; ``t_k`` is the median of
    ``r_k`` over the sensels above noise. A sensel is covered if, at every
    level, ``r_k > cover_sigma * max(sigma, floor)`` and
    ``r_k >= dead_fraction * t_k``. Its gain makes its readings match the
    median sensel's: ``g = 1 / s`` with ``s`` the least-squares slope through
    the origin of its readings against the typical ones,
    ``s = sum_k t_k r_k / sum_k t_k**2`` (``g = t / r`` for one level),
    normalised to median 1 over covered sensels and clamped to
    ``gain_limits``, so equalised counts ``e = g * (raw - o)`` read alike under
    the same pressure (Tekscan's equilibration; the flat field of camera
    sensors; research notes section 4.5). Several levels average out the
    noise of one and hold the gain over the whole range for sensors whose
    response is a common curve times a per-sensel gain. Sensels that read
    too little are *dead* where they form small patches (at most
    ``max_dead_cluster`` sensels) inside covered ones, and *uncovered*
    otherwise; their gain stays 1.

    Each level's mean equalised counts over covered sensels, with its
    pressure, is kept: :func:`fit` uses the levels of known pressure as
    uniform-pressure loads (four or more allow the ``"table"`` curve).

    Parameters
    ----------
    raw : xarray.Dataset | sequence of (xarray.Dataset, float) | dict of float to xarray.Dataset
        Raw recording (schema ``counts/1``) of the mat under one uniform
        pressure; or several levels, as ``(raw, pressure_kpa)`` pairs or a
        ``{pressure_kpa: raw}`` dict (pressures in kPa, distinct, any order).
    cal : xarray.Dataset
        Calibration from :func:`tare` of the same mat.
    pressure_kpa : float | None
        For one recording: its uniform pressure in kPa, if known (:func:`fit`
        then uses it as one known load). None when ``raw`` holds several levels.
    cover_sigma : float
        A sensel is covered if its reading exceeds this many noise standard deviations.
    dead_fraction : float
        A sensel reading below this fraction of the median covered reading is not covered.
    max_dead_cluster : int
        Largest patch of non-covered sensels counted as dead rather than uncovered.
    gain_limits : tuple of float
        ``(low, high)`` clamp of the gains.
    max_uncovered_fraction : float
        Largest fraction of the mat that may be uncovered (flagged, gain 1);
        more is refused.
    max_saturated_fraction : float
        Largest fraction of covered readings at the ADC rail in any level; more is refused.
    min_frames : int
        Fewest steady frames accepted per level.

    Returns
    -------
    cal : xarray.Dataset
        A new calibration with ``gain`` set, dead (1) and uncovered (4)
        sensels flagged in ``status`` and ``max_seen_counts`` raised to the
        highest readings; attrs ``equilibration_levels_kpa`` (1-D, the levels'
        pressures in kPa, increasing; 0 for one level of unknown pressure) and
        ``equilibration_levels_counts`` (1-D, each level's mean equalised
        counts over covered sensels), and for one recording also
        ``equilibration_counts`` and ``equilibration_kpa`` (0 if not given),
        its level and pressure.

    Raises
    ------
    ValueError
        If the recording is from another mat, part of the mat is uncovered,
        the pressure saturates the sensels, there are too few steady frames,
        or the levels are malformed, repeat a pressure or do not read more
        at a higher pressure.

    See Also
    --------
    tare, fit

    Examples
    --------
    >>> import numpy as np
    >>> import plantar
    >>> from plantar import calibration
    >>> rest = plantar.make_counts(np.zeros((100, 3, 3), np.uint16), pitch_mm=10.0, rate_hz=50.0)
    >>> cal = calibration.tare(rest, adc_bits=12)
    >>> loaded = np.full((20, 3, 3), 1000, np.uint16)
    >>> loaded[:, 0, 0] = 800                     # a less sensitive sensel
    >>> raw = plantar.make_counts(loaded, pitch_mm=10.0, rate_hz=50.0)
    >>> cal = calibration.equilibrate(raw, cal, pressure_kpa=200.0)
    >>> float(cal.gain[0, 0]), float(cal.gain[1, 1])
    (1.25, 1.0)

    Two levels, the same sensel reading 20 % low at both:

    >>> low = plantar.make_counts(np.where(loaded == 800, 400, 500).astype(np.uint16), pitch_mm=10.0, rate_hz=50.0)
    >>> cal = calibration.equilibrate({100.0: low, 200.0: raw}, calibration.tare(rest, adc_bits=12))
    >>> float(cal.gain[0, 0]), cal.attrs["equilibration_levels_kpa"].tolist()
    (1.25, [100.0, 200.0])
    """
    check_calibration(cal)
    levels = _levels(raw, pressure_kpa)
    for index, (level_raw, _) in enumerate(levels):
        where = "raw" if len(levels) == 1 else f"raw level {index}"
        _check_raw(level_raw, where)
        _check_same_mat(level_raw, cal, where)
    cover_sigma = _positive(cover_sigma, "cover_sigma")
    dead_fraction = _fraction(dead_fraction, "dead_fraction")
    max_uncovered_fraction = _fraction(max_uncovered_fraction, "max_uncovered_fraction")
    max_saturated_fraction = _fraction(max_saturated_fraction, "max_saturated_fraction")
    low, high = (_positive(v, "gain_limits") for v in gain_limits)
    if not low <= 1 <= high:
        raise ValueError(f"gain_limits must be (low, high) with low <= 1 <= high, got {gain_limits!r}")

    status = cal["status"].values.copy()
    status[(status == STATUS["dead"]) | (status == STATUS["uncovered"])] = STATUS["ok"]  # found anew here
    usable = status == STATUS["ok"]
    sigma = np.maximum(cal["noise_counts"].values, cal.attrs["noise_floor_counts"])
    rail = cal["saturation_counts"].values
    readings, typical, covered, n_steady = [], [], usable.copy(), []
    for index, (level_raw, kpa) in enumerate(levels):  # a few levels: a loop over levels, not frames
        name = "equilibration frames" if len(levels) == 1 else f"equilibration level {index} ({kpa:g} kPa)"
        r, t, cov, steady = _level(level_raw, cal, usable, sigma, rail, cover_sigma, dead_fraction,
                                   max_saturated_fraction, min_frames, name)  # fmt: skip
        readings.append(r)
        typical.append(t)
        covered &= cov
        n_steady.append(steady)
    readings, typical = np.stack(readings), np.asarray(typical)
    if len(levels) > 1 and np.any(np.diff(typical) <= 0):
        k = int(np.flatnonzero(np.diff(typical) <= 0)[0])
        raise ValueError(
            f"equilibration levels are not increasing: {levels[k + 1][1]:g} kPa reads {typical[k + 1]:.0f} counts, "
            f"no more than {levels[k][1]:g} kPa ({typical[k]:.0f} counts): check the pressures of raw"
        )

    low_mask = usable & ~covered
    labels, sizes = _components(low_mask)
    small = (sizes <= max_dead_cluster)[labels] & low_mask
    uncovered = low_mask & ~small
    if uncovered.mean() > max_uncovered_fraction:
        rows, cols = np.nonzero(uncovered)
        raise ValueError(
            f"equilibration leaves {100 * uncovered.mean():.1f} % of the mat uncovered (rows {rows.min()}.."
            f"{rows.max()}, cols {cols.min()}..{cols.max()} read no load; at most "
            f"{100 * max_uncovered_fraction:g} % allowed): cover the whole mat with the uniform pressure"
        )
    status[small] = STATUS["dead"]
    status[uncovered] = STATUS["uncovered"]
    # Least-squares slope through the origin of each sensel's readings against the typical ones.
    slope = np.tensordot(typical, readings, axes=1) / np.sum(typical**2)
    raw_gain = np.ones(slope.shape)
    raw_gain[covered] = 1.0 / slope[covered]
    if len(levels) > 1:
        raw_gain[covered] /= np.median(raw_gain[covered])
    gain = np.ones(slope.shape)
    gain[covered] = np.clip(raw_gain[covered], low, high)
    n_clamped = int(((raw_gain[covered] < low) | (raw_gain[covered] > high)).sum())
    level_counts = (gain[covered] * readings[:, covered]).mean(axis=1)
    level_kpa = np.array([0.0 if kpa is None else kpa for _, kpa in levels])
    logger.info("equilibration: %d level(s), %s steady frames, %d dead, %d uncovered, %d gains clamped",
                len(levels), n_steady, int(small.sum()), int(uncovered.sum()), n_clamped)  # fmt: skip

    out = cal.copy(deep=True)
    out["gain"].values[...] = gain.astype(np.float32)
    out["status"].values[...] = status
    _set_max_seen(out, *(level_raw for level_raw, _ in levels))
    for key in ("equilibration_counts", "equilibration_kpa"):
        out.attrs.pop(key, None)
    out.attrs["equilibration_levels_kpa"] = level_kpa
    out.attrs["equilibration_levels_counts"] = level_counts
    if len(levels) == 1:
        out.attrs["equilibration_counts"] = float(level_counts[0])
        out.attrs["equilibration_kpa"] = float(level_kpa[0])
    out.attrs["model"] = ""  # any earlier curve was fitted to other gains
    out.attrs["procedure"] = _add_step(out, {
        "step": "equilibrate", "frames": [int(r.sizes["time"]) for r, _ in levels], "steady_frames": n_steady,
        "pressure_kpa": level_kpa.tolist(), "equalised_counts": level_counts.tolist(),
        "dead": int(small.sum()), "uncovered": int(uncovered.sum()), "gains_clamped": n_clamped,
        "gain_limits": [low, high], "source_file": [str(r.attrs.get("source_file", "")) for r, _ in levels],
    })  # fmt: skip
    return _finish(out)


def _levels(raw, pressure_kpa):
    """The recordings and their pressures, ``[(raw, kpa or None), ...]``, by increasing pressure."""
    if isinstance(raw, xr.Dataset):
        if pressure_kpa is not None:
            pressure_kpa = _positive(pressure_kpa, "pressure_kpa")
        return [(raw, pressure_kpa)]
    if isinstance(raw, dict):
        pairs = [(value, key) for key, value in raw.items()]
    elif isinstance(raw, (list, tuple)):
        pairs = list(raw)
        for index, pair in enumerate(pairs):
            if not (isinstance(pair, tuple) and len(pair) == 2):
                raise ValueError(
                    f"raw[{index}] must be a (raw, pressure_kpa) pair, got {type(pair).__name__}"
                )
    else:
        raise TypeError(
            "raw must be a raw recording (xarray.Dataset), a sequence of (raw, pressure_kpa) pairs or a "
            f"{{pressure_kpa: raw}} dict, got {type(raw).__name__}"
        )
    if not pairs:
        raise ValueError("raw holds no equilibration level")
    if pressure_kpa is not None:
        raise ValueError("pressure_kpa must be None when raw holds levels: give each level's pressure in raw")
    pairs = [(level, _positive(kpa, f"pressure_kpa of raw level {i}")) for i, (level, kpa) in enumerate(pairs)]
    pairs.sort(key=lambda pair: pair[1])
    kpa = np.array([k for _, k in pairs])
    if np.any(np.diff(kpa) == 0):
        raise ValueError(f"raw has two levels at {kpa[np.flatnonzero(np.diff(kpa) == 0)[0]]:g} kPa: give each "
                         "pressure once (one recording per level)")  # fmt: skip
    return pairs


def _level(raw, cal, usable, sigma, rail, cover_sigma, dead_fraction, max_saturated_fraction, min_frames, name):
    """One level: per-sensel median reading, typical reading, covered sensels, steady frames."""
    counts = raw["counts"].values
    signal = counts.astype(np.float32) - cal["offset_counts"].values
    level = np.median(signal[:, usable], axis=1)
    if level.max() <= 0:
        raise ValueError(f"{name} are not loaded: the median sensel reads no more than at rest")
    steady = level >= 0.9 * level.max()
    if steady.sum() < min_frames:
        raise ValueError(
            f"{name}: equilibration needs at least {min_frames} steady frames (min_frames), got "
            f"{int(steady.sum())}: hold the pressure constant for longer"
        )
    r = np.median(signal[steady], axis=0)
    above_noise = usable & (r > cover_sigma * sigma)
    if not above_noise.any():
        raise ValueError(f"{name} are not loaded: no sensel reads above its noise")
    typical = float(np.median(r[above_noise]))
    covered = above_noise & (r >= dead_fraction * typical)
    saturated = counts[steady][:, covered] >= rail[covered]
    if saturated.mean() > max_saturated_fraction:
        raise ValueError(
            f"{name} are saturated: {100 * saturated.mean():.1f} % of covered readings are at the "
            f"rail ({rail.max():.0f} counts), so gains would be wrong: equilibrate at a lower pressure"
        )
    return r, typical, covered, int(steady.sum())
