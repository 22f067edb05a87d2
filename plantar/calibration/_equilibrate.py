"""Step 2: equilibration. Per-sensel gain under a uniform pressure; dead and uncovered sensels."""

import numpy as np

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
    check_calibration,
)  # fmt: skip


def equilibrate(raw, cal, *, pressure_kpa=None, cover_sigma=3.0, dead_fraction=0.2, max_dead_cluster=2,
                gain_limits=(0.5, 2.0), max_uncovered_fraction=0.02, max_saturated_fraction=0.001,
                min_frames=5):  # fmt: skip
    """Add per-sensel gains from frames under a uniform pressure (air bladder, foam and weights).

    Steady frames are those whose median reading above offset is at least 90 %
    of the largest. Per sensel ``r = median over steady frames of (raw - o)``;
    a sensel is covered if ``r > cover_sigma * max(sigma, floor)`` and
    ``r >= dead_fraction * median(r of covered sensels)``. The gain is
    ``g = median(r) / r`` over covered sensels, clamped to ``gain_limits``, so
    equalised counts ``e = g * (raw - o)`` read alike under the same pressure
    (Tekscan's equilibration; the flat field of camera sensors; research notes
    section 4.5). Sensels that read too little are *dead* where they form small
    patches (at most ``max_dead_cluster`` sensels) inside covered ones, and
    *uncovered* otherwise; their gain stays 1.

    Parameters
    ----------
    raw : xarray.Dataset
        Raw recording (schema ``counts/1``) of the mat under a uniform pressure.
    cal : xarray.Dataset
        Calibration from :func:`tare` of the same mat.
    pressure_kpa : float | None
        The uniform pressure in kPa, if known; :func:`fit` then uses it as one
        known load.
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
        Largest fraction of covered readings at the ADC rail; more is refused.
    min_frames : int
        Fewest steady frames accepted.

    Returns
    -------
    cal : xarray.Dataset
        A new calibration with ``gain`` set and dead (1) and uncovered (4)
        sensels flagged in ``status``; attrs ``equilibration_counts`` (the
        equalised reading under the pressure) and ``equilibration_kpa``
        (0 if not given).

    Raises
    ------
    ValueError
        If the recording is from another mat, part of the mat is uncovered,
        the pressure saturates the sensels, or there are too few steady frames.

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
    """
    _check_raw(raw)
    check_calibration(cal)
    _check_same_mat(raw, cal)
    if pressure_kpa is not None:
        pressure_kpa = _positive(pressure_kpa, "pressure_kpa")
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
    counts = raw["counts"].values
    signal = counts.astype(np.float32) - cal["offset_counts"].values
    level = np.median(signal[:, usable], axis=1)
    if level.max() <= 0:
        raise ValueError("equilibration frames are not loaded: the median sensel reads no more than at rest")
    steady = level >= 0.9 * level.max()
    if steady.sum() < min_frames:
        raise ValueError(
            f"equilibration needs at least {min_frames} steady frames (min_frames), got {int(steady.sum())}: "
            "hold the pressure constant for longer"
        )
    r = np.median(signal[steady], axis=0)
    sigma = np.maximum(cal["noise_counts"].values, cal.attrs["noise_floor_counts"])
    above_noise = usable & (r > cover_sigma * sigma)
    if not above_noise.any():
        raise ValueError("equilibration frames are not loaded: no sensel reads above its noise")
    typical = float(np.median(r[above_noise]))
    covered = above_noise & (r >= dead_fraction * typical)

    saturated = counts[steady][:, covered] >= cal["saturation_counts"].values[covered]
    if saturated.mean() > max_saturated_fraction:
        raise ValueError(
            f"equilibration frames are saturated: {100 * saturated.mean():.1f} % of covered readings are at the "
            f"rail ({cal['saturation_counts'].values.max():.0f} counts), so gains would be wrong: "
            "equilibrate at a lower pressure"
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
    gain = np.ones(r.shape)
    gain[covered] = np.clip(typical / r[covered], low, high)
    n_clamped = int(((typical / r[covered]) < low).sum() + ((typical / r[covered]) > high).sum())
    logger.info("equilibration: %d steady frames, %d dead, %d uncovered, %d gains clamped",
                int(steady.sum()), int(small.sum()), int(uncovered.sum()), n_clamped)  # fmt: skip

    out = cal.copy(deep=True)
    out["gain"].values[...] = gain.astype(np.float32)
    out["status"].values[...] = status
    out.attrs["equilibration_counts"] = typical
    out.attrs["equilibration_kpa"] = 0.0 if pressure_kpa is None else pressure_kpa
    out.attrs["model"] = ""  # any earlier curve was fitted to other gains
    out.attrs["procedure"] = _add_step(out, {
        "step": "equilibrate", "frames": int(raw.sizes["time"]), "steady_frames": int(steady.sum()),
        "pressure_kpa": out.attrs["equilibration_kpa"], "equalised_counts": typical,
        "dead": int(small.sum()), "uncovered": int(uncovered.sum()), "gains_clamped": n_clamped,
        "gain_limits": [low, high], "source_file": str(raw.attrs.get("source_file", "")),
    })  # fmt: skip
    return _finish(out)
