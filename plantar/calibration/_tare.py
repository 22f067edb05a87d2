"""Step 1: tare. Per-sensel offset and read noise from unloaded frames; stuck and noisy sensels."""

import numpy as np
import xarray as xr

from .._schema import _positive
from ..utils import logger
from ._common import (
    CAL_VARIABLES,
    OPTIONAL_CAL_VARIABLES,
    SCHEMA_CAL,
    STATUS,
    _adc_rail,
    _add_step,
    _check_raw,
    _components,
    _finish,
    _utc_now,
)  # fmt: skip

#: Median absolute deviation to standard deviation, for normal noise.
MAD_TO_SD = 1.4826


def tare(raw, *, min_frames=100, threshold_sigma=4.0, noise_floor_counts=1.0, noisy_factor=5.0,
         stuck_sigma=10.0, adc_bits=None, rated_max_kpa=None):  # fmt: skip
    """Start a calibration from unloaded frames: per-sensel offset, noise and faults.

    The offset is the median over frames, ``o = median(raw)``, and the noise
    ``sigma = 1.4826 * MAD`` (robust to a few spikes), or, if larger, the
    99.5th percentile's distance above the median divided by 2.576 (the same
    for normal noise; it catches sensels whose offset sits at the firmware's
    dead band, which read 0 most of the time and a few counts now and then). With
    ``s = max(median(sigma), noise_floor_counts)``, a sensel is *stuck high* if
    its offset is at the ADC rail or above ``median(o) + stuck_sigma * s``, and
    *noisy* if ``sigma > noisy_factor * s`` (research notes, section 4.5; the
    floor keeps a quiet mat whose firmware zeroes small readings, where
    ``median(sigma)`` is 0, from flagging every sensel that flickers). Dead
    sensels usually read like unloaded ones and are found by :func:`equilibrate`.

    Parameters
    ----------
    raw : xarray.Dataset
        Raw recording (schema ``counts/1``) with nobody on the mat.
    min_frames : int
        Fewest frames accepted (the research notes advise >= 200).
    threshold_sigma : float
        Gate, in noise standard deviations, below which equalised readings are
        taken as unloaded (stored for :func:`fit` and :func:`apply`; 3 .. 5).
    noise_floor_counts : float
        Smallest noise, in counts, used for gates and fault limits.
    noisy_factor : float
        A sensel is noisy if its noise exceeds this many times the typical noise.
    stuck_sigma : float
        A sensel is stuck high if its offset is this many typical noise
        standard deviations above the median offset.
    adc_bits : int | None
        ADC resolution; ``None`` reads it from the recording's ``adc_bits`` or
        ``device_info`` attrs, else takes the uint16 rail (65535 counts).
    rated_max_kpa : float | None
        The sensor's rated maximum pressure in kPa, if its maker states one:
        stored as attr ``rated_max_kpa``, and :func:`fit` then refuses a curve
        whose calibrated range goes beyond it.

    Returns
    -------
    cal : xarray.Dataset
        A new calibration (schema ``pmcal/1``) with ``offset_counts``,
        ``noise_counts``, ``status``, ``saturation_counts`` (the ADC rail: a
        reading there is saturated), ``max_seen_counts`` (the highest reading
        so far; :func:`equilibrate` and :func:`fit` raise it to the highest of
        their recordings) and ``gain`` (all 1).

    Raises
    ------
    ValueError
        If ``raw`` is not a raw recording, has too few frames, or the mat was
        loaded during the tare (a patch of sensels, or a burst of frames, reads
        well above the rest).

    See Also
    --------
    equilibrate, fit, apply

    Examples
    --------
    >>> import numpy as np
    >>> import plantar
    >>> from plantar import calibration
    >>> counts = np.full((200, 3, 4), 10, dtype=np.uint16)
    >>> counts[:, 1, 2] = 4095                     # one sensel stuck at the rail
    >>> raw = plantar.make_counts(counts, pitch_mm=10.0, rate_hz=50.0, device="mat 7")
    >>> cal = calibration.tare(raw, adc_bits=12)
    >>> float(cal.offset_counts[0, 0]), int(cal.status[1, 2])
    (10.0, 2)
    """
    _check_raw(raw)
    if not (isinstance(min_frames, (int, np.integer)) and min_frames >= 1):
        raise ValueError(f"min_frames must be a positive integer, got {min_frames!r}")
    threshold_sigma = _positive(threshold_sigma, "threshold_sigma")
    noise_floor_counts = _positive(noise_floor_counts, "noise_floor_counts")
    noisy_factor = _positive(noisy_factor, "noisy_factor")
    stuck_sigma = _positive(stuck_sigma, "stuck_sigma")
    if rated_max_kpa is not None:
        rated_max_kpa = _positive(rated_max_kpa, "rated_max_kpa")
    n_frames = raw.sizes["time"]
    if n_frames < min_frames:
        raise ValueError(
            f"tare needs at least {min_frames} unloaded frames (min_frames), got {n_frames}: record longer"
        )
    bits, rail = _adc_rail(raw, adc_bits)
    counts = raw["counts"].values.astype(np.float32)
    offset = np.median(counts, axis=0)
    noise = np.maximum(
        MAD_TO_SD * np.median(np.abs(counts - offset), axis=0),
        (np.percentile(counts, 99.5, axis=0) - offset) / 2.576,
    )
    typical = max(float(np.median(noise)), noise_floor_counts)
    limit = float(np.median(offset)) + stuck_sigma * typical

    at_rail = offset >= rail
    high = (offset > limit) & ~at_rail
    _, sizes = _components(high)
    n_sensels = offset.size
    if high.sum() > max(2, 0.01 * n_sensels) or sizes[1:].max(initial=0) > 2:
        rows, cols = np.nonzero(high)
        raise ValueError(
            f"tare frames are loaded: {int(high.sum())} sensels (rows {rows.min()}..{rows.max()}, "
            f"cols {cols.min()}..{cols.max()}) read up to {offset[high].max():.0f} counts against a "
            f"median of {np.median(offset):.0f}: tare with nobody on the mat"
        )
    busy = (counts > offset + stuck_sigma * typical).reshape(n_frames, -1).sum(axis=1)
    if busy.max() > max(3, 0.01 * n_sensels):
        frames = np.nonzero(busy > max(3, 0.01 * n_sensels))[0]
        raise ValueError(
            f"tare frames are loaded: in {frames.size} of {n_frames} frames (first {frames[0]}) up to "
            f"{busy.max()} sensels read over {stuck_sigma * typical:.0f} counts above their median: tare with nobody on the mat"
        )
    status = np.zeros(offset.shape, np.int8)
    status[noise > noisy_factor * typical] = STATUS["noisy"]
    status[at_rail | high] = STATUS["stuck_high"]
    logger.info("tare: %d frames, %d stuck-high and %d noisy sensels", n_frames,
                int((status == STATUS["stuck_high"]).sum()), int((status == STATUS["noisy"]).sum()))  # fmt: skip

    values = {
        "offset_counts": offset,
        "noise_counts": noise,
        "gain": np.ones(offset.shape),
        "status": status,
        "saturation_counts": np.full(offset.shape, rail),
        "max_seen_counts": counts.max(axis=0),
    }
    cal = xr.Dataset(
        {
            name: (("y", "x"), np.asarray(values[name]).astype(dtype), {"units": units, "long_name": long_name})
            for name, (dtype, units, long_name) in {**CAL_VARIABLES, **OPTIONAL_CAL_VARIABLES}.items()
        },
        coords={"y": raw["y"].variable.copy(), "x": raw["x"].variable.copy()},
    )
    cal["status"].attrs["flag_values"] = np.arange(len(STATUS), dtype=np.int8)
    cal["status"].attrs["flag_meanings"] = " ".join(STATUS)
    cal.attrs = {
        "plantar_schema": SCHEMA_CAL,
        "device": str(raw.attrs.get("device", "")),
        "sensor_pitch_x_mm": float(raw.attrs["sensor_pitch_x_mm"]),
        "sensor_pitch_y_mm": float(raw.attrs["sensor_pitch_y_mm"]),
        "adc_bits": bits,
        "threshold_sigma": threshold_sigma,
        "noise_floor_counts": noise_floor_counts,
        "model": "",
        "created_utc": _utc_now(),
    }
    if rated_max_kpa is not None:
        cal.attrs["rated_max_kpa"] = rated_max_kpa
    cal.attrs["procedure"] = _add_step(cal, {
        "step": "tare", "frames": int(n_frames), "min_frames": int(min_frames), "noisy_factor": noisy_factor,
        "stuck_sigma": stuck_sigma, "source_file": str(raw.attrs.get("source_file", "")),
        "start_time": str(raw.attrs.get("start_time", "")),
    })  # fmt: skip
    return _finish(cal)
