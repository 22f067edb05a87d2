"""Forward model of a resistive pressure sensor array: kPa in, ADC counts out.

Each sensel converts the pressure on it into counts through an ideal response
``h`` (one of four families, below), scaled by its own gain and shifted by its
own offset; read noise is added, the result is rounded and clipped to the ADC's
range, and the firmware's dead band zeroes small readings. A few sensels are
dead (always 0) or hot (always at the rail), as on worn mats.

The response families are written as pressure from ideal counts ``c`` (gain 1,
offset 0), the form a calibration fit estimates:

- ``"linear"``: ``P = a * c``; ``a`` in kPa per count, default ``1000 / rail``.
- ``"power"``: ``P = a * c**b``; ``b`` default 1.3, ``a`` in kPa, default
  ``1000 / rail**b``.
- ``"exponential"``: ``P = a * (exp(c / b) - 1)``; ``b`` in counts, default
  ``rail / 3``, ``a`` in kPa, default ``1000 / (e**3 - 1)``.
- ``"hill"``: ``P = a * (c / (b - c))**(1 / n)``, that is
  ``c = b * P**n / (a**n + P**n)``; ``b`` in counts (the reading approached
  at infinite pressure), default ``1.25 * rail``; ``n`` (dimensionless),
  default 1.5; ``a`` in kPa (the pressure that reads ``b / 2``), default
  ``1000 * ((b - rail) / rail)**(1 / n)``, which puts 1000 kPa at the rail
  (``b`` must then exceed the rail; otherwise the default ``a`` is 250 kPa).

With the defaults 1000 kPa reaches the rail (4095 counts for a 12-bit ADC) at
gain 1. The power law with ``b > 1`` has a sensitivity (counts per kPa) that falls
with load, as the conductance of force-sensing resistors does; the exponential
family, whose counts grow with the logarithm of pressure (very sensitive at light
load, compressed at high load), mimics piezoresistive films such as velostat.
The Hill family saturates: with ``n = 1`` it is a force-sensing resistor read
through a voltage divider (conductance proportional to load: ``b * P / (a + P)``;
Interlink Electronics, FSR Integration Guide), and ``n > 1`` adds the FSR's
insensitive start at light load, an S-shaped response. It is neither a power law
nor an exponential, for testing calibrations that must not assume either.
"""

import math
import numbers

import numpy as np

from .._frame import _check_shape

#: The response families and the names of their parameters.
CURVES = {"linear": ("a",), "power": ("a", "b"), "exponential": ("a", "b"), "hill": ("a", "b", "n")}

#: Pressure at the rail, in kPa, of the default response curves (gain 1, offset 0).
FULL_SCALE_KPA = 1000.0


class SensorModel:
    """Per-sensel forward model of a pressure mat: true kPa to ADC counts.

    ``counts = clip(round(offset + gain * h(P) + noise), 0, rail)``, then readings
    below ``deadband_counts`` become 0 (the firmware's dead band, like the
    minimum send value of Sensitronics' firmware, which keeps unloaded sensels
    at exactly 0 so that zero-run encodings stay short), dead sensels read 0 and
    hot sensels read the rail. The format a device sends may clamp further (a
    u8 format cannot carry 4095); the virtual mat does that, not this model.

    The per-sensel arrays (:attr:`gain`, :attr:`offset_counts`, :attr:`dead`,
    :attr:`hot`) need the mat's shape: pass ``shape``, or build the model
    without it and bind it with :meth:`for_shape` (which the virtual mat does).
    They are drawn once, from ``seed``, in a fixed order, so the same seed and
    shape give the same sensels.

    Parameters
    ----------
    seed : int
        Seed of the per-sensel gains, offsets and dead and hot positions.
    adc_bits : int
        ADC resolution in bits (1 .. 16); the rail is ``2**adc_bits - 1`` counts.
    curve : {"linear", "power", "exponential", "hill"}
        Family of the ideal response (see the module's table).
    curve_params : dict of str to float | None
        Parameters ``a`` (kPa, or kPa per count for ``linear``), ``b``
        (exponent for ``power``, counts for ``exponential`` and ``hill``) and
        ``n`` (``hill``'s exponent) overriding the defaults, which put
        1000 kPa at the rail.
    gain_sd : float
        Spread of the per-sensel gain: ``gain ~ LogNormal(0, gain_sd)``
        (dimensionless; 0.15 is about +-15 %).
    offset_mean_counts, offset_sd_counts : float
        Per-sensel offset ``~ Normal(mean, sd)``, clipped at 0, in counts.
    noise_sd_counts : float
        Standard deviation of the read noise of each scan, in counts.
    deadband_counts : int
        Readings below this many counts are sent as 0 (0 disables it).
    dead_sensels, hot_sensels : int
        Number of sensels stuck at 0 and stuck at the rail.
    shape : tuple of int | None
        ``(rows, cols)`` of the mat, or None for a model not bound to a mat yet.

    Attributes
    ----------
    params : dict of str to float
        The curve's parameters, defaults filled in.
    rail_counts : int
        The largest reading, ``2**adc_bits - 1``.
    gain : numpy.ndarray of float64, shape (rows, cols) | None
        Per-sensel gain (None until bound to a shape).
    offset_counts : numpy.ndarray of float64, shape (rows, cols) | None
        Per-sensel offset in counts.
    dead, hot : numpy.ndarray of bool, shape (rows, cols) | None
        Masks of the dead and hot sensels (disjoint).

    Examples
    --------
    >>> import numpy as np
    >>> from plantar.drivers.sim import SensorModel
    >>> model = SensorModel(seed=1, shape=(4, 5), dead_sensels=1, hot_sensels=1)
    >>> counts = model.counts(np.full((4, 5), 200.0), np.random.default_rng(0))
    >>> counts.dtype, int(counts[model.dead][0]), int(counts[model.hot][0])
    (dtype('uint16'), 0, 4095)
    >>> round(float(model.ideal_pressure_kpa(model.ideal_counts(200.0))), 9)
    200.0
    """

    def __init__(
        self,
        *,
        seed=0,
        adc_bits=12,
        curve="power",
        curve_params=None,
        gain_sd=0.15,
        offset_mean_counts=1.5,
        offset_sd_counts=0.7,
        noise_sd_counts=0.7,
        deadband_counts=4,
        dead_sensels=3,
        hot_sensels=2,
        shape=None,
    ):
        if not (isinstance(adc_bits, numbers.Integral) and 1 <= adc_bits <= 16):
            raise ValueError(f"adc_bits must be an integer in 1 .. 16, got {adc_bits!r}")
        if curve not in CURVES:
            raise ValueError(f"curve must be one of {tuple(CURVES)}, got {curve!r}")
        for name, value in (
            ("gain_sd", gain_sd), ("offset_sd_counts", offset_sd_counts),
            ("noise_sd_counts", noise_sd_counts), ("deadband_counts", deadband_counts),
        ):  # fmt: skip
            if not (isinstance(value, numbers.Real) and math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if not (isinstance(offset_mean_counts, numbers.Real) and math.isfinite(offset_mean_counts)):
            raise ValueError(f"offset_mean_counts must be a finite number, got {offset_mean_counts!r}")
        for name, value in (("dead_sensels", dead_sensels), ("hot_sensels", hot_sensels)):
            if not (isinstance(value, numbers.Integral) and value >= 0):
                raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
        self.seed = seed
        self.adc_bits = int(adc_bits)
        self.curve = curve
        self.curve_params = curve_params
        self.gain_sd = gain_sd
        self.offset_mean_counts = offset_mean_counts
        self.offset_sd_counts = offset_sd_counts
        self.noise_sd_counts = noise_sd_counts
        self.deadband_counts = deadband_counts
        self.dead_sensels = dead_sensels
        self.hot_sensels = hot_sensels
        self.rail_counts = 2**self.adc_bits - 1
        self.params = _curve_params(curve, curve_params, self.rail_counts)
        self.shape = None if shape is None else _check_shape(shape)
        self.gain = self.offset_counts = self.dead = self.hot = None
        if self.shape is not None:
            self._draw_sensels()

    def _draw_sensels(self):
        rows, cols = self.shape
        n_stuck = self.dead_sensels + self.hot_sensels
        if n_stuck > rows * cols:
            raise ValueError(f"dead_sensels + hot_sensels must be at most rows * cols = {rows * cols}, got {n_stuck}")
        rng = np.random.default_rng(self.seed)
        self.gain = rng.lognormal(0.0, self.gain_sd, self.shape)
        self.offset_counts = np.maximum(rng.normal(self.offset_mean_counts, self.offset_sd_counts, self.shape), 0.0)
        stuck = rng.choice(rows * cols, n_stuck, replace=False)
        self.dead = np.zeros(self.shape, bool)
        self.hot = np.zeros(self.shape, bool)
        self.dead.flat[stuck[: self.dead_sensels]] = True
        self.hot.flat[stuck[self.dead_sensels :]] = True
        self._dead_at = np.nonzero(self.dead)  # index arrays: faster than the masks per scan
        self._hot_at = np.nonzero(self.hot)

    def _kwargs(self):
        return {
            name: getattr(self, name)
            for name in (
                "seed", "adc_bits", "curve", "curve_params", "gain_sd", "offset_mean_counts",
                "offset_sd_counts", "noise_sd_counts", "deadband_counts", "dead_sensels", "hot_sensels",
            )
        }  # fmt: skip

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self._kwargs().items())
        return f"SensorModel({args}, shape={self.shape!r})"

    def for_shape(self, shape):
        """Return this model bound to a mat of ``shape`` (a new model; this one is unchanged).

        Parameters
        ----------
        shape : tuple of int
            ``(rows, cols)`` of the mat.

        Returns
        -------
        model : SensorModel
            The same parameters with per-sensel arrays of that shape; ``self``
            if it is already bound to that shape.

        Examples
        --------
        >>> from plantar.drivers.sim import SensorModel
        >>> SensorModel(seed=0).for_shape((3, 4)).gain.shape
        (3, 4)
        """
        shape = _check_shape(shape)
        if self.shape == shape:
            return self
        return SensorModel(**self._kwargs(), shape=shape)

    def ideal_counts(self, pressure_kpa):
        """Return the ideal response ``h(P)``: counts at gain 1 and offset 0, unrounded.

        Parameters
        ----------
        pressure_kpa : array_like of float
            Pressure in kPa (negative values count as 0).

        Returns
        -------
        counts : numpy.ndarray of float64
            Ideal counts, not rounded and not clipped at the rail.

        Examples
        --------
        >>> from plantar.drivers.sim import SensorModel
        >>> round(float(SensorModel(curve="linear").ideal_counts(1000.0)), 6)
        4095.0
        """
        p = np.maximum(np.asarray(pressure_kpa, dtype=np.float64), 0.0)
        a = self.params["a"]
        if self.curve == "linear":
            return p / a
        if self.curve == "power":
            return (p / a) ** (1.0 / self.params["b"])
        if self.curve == "hill":
            ratio = (p / a) ** self.params["n"]
            return self.params["b"] * ratio / (1.0 + ratio)
        return self.params["b"] * np.log1p(p / a)

    def ideal_pressure_kpa(self, counts):
        """Return the pressure of ideal counts, ``P(c)``, the inverse of :meth:`ideal_counts`.

        This is the noise-free response at gain 1 and offset 0: the curve a
        calibration fit should recover.

        Parameters
        ----------
        counts : array_like of float
            Counts (gain 1, offset 0, no noise).

        Returns
        -------
        pressure_kpa : numpy.ndarray of float64
            Pressure in kPa.

        Examples
        --------
        >>> from plantar.drivers.sim import SensorModel
        >>> round(float(SensorModel(curve="power").ideal_pressure_kpa(4095)), 6)
        1000.0
        """
        c = np.asarray(counts, dtype=np.float64)
        a = self.params["a"]
        if self.curve == "linear":
            return a * c
        if self.curve == "power":
            return a * np.maximum(c, 0.0) ** self.params["b"]
        if self.curve == "hill":
            b = self.params["b"]
            with np.errstate(divide="ignore", invalid="ignore"):
                p = a * (np.maximum(c, 0.0) / (b - c)) ** (1.0 / self.params["n"])
            return np.where(c < b, p, np.inf)
        return a * np.expm1(c / self.params["b"])

    def counts(self, pressure_kpa, rng):
        """Return the counts a scan of this mat reads under a pressure field.

        Parameters
        ----------
        pressure_kpa : array_like of float, shape (..., rows, cols)
            True pressure on each sensel in kPa; NaN and negative values count as 0.
        rng : numpy.random.Generator
            Source of the read noise (one standard normal per cell, drawn only
            if ``noise_sd_counts > 0``).

        Returns
        -------
        counts : numpy.ndarray of uint16, shape (..., rows, cols)
            Readings in 0 .. :attr:`rail_counts`.

        Examples
        --------
        >>> import numpy as np
        >>> from plantar.drivers.sim import SensorModel
        >>> model = SensorModel(seed=0, shape=(2, 2), dead_sensels=0, hot_sensels=0)
        >>> model.counts(np.zeros((2, 2)), np.random.default_rng(0)).tolist()
        [[0, 0], [0, 0]]
        """
        if self.shape is None:
            raise ValueError("this SensorModel has no shape: bind it with model.for_shape((rows, cols))")
        p = np.asarray(pressure_kpa)
        if p.shape[-2:] != self.shape:
            raise ValueError(f"pressure_kpa must end in the model's shape {self.shape}, got {p.shape}")
        # h(0) = 0, and a pressure field is mostly unloaded: evaluate h where loaded only.
        loaded = p > 0
        c = np.zeros(p.shape)
        c[loaded] = self.ideal_counts(p[loaded])
        c *= self.gain
        c += self.offset_counts
        if self.noise_sd_counts > 0:
            c += self.noise_sd_counts * rng.standard_normal(p.shape)
        np.rint(c, out=c)
        np.clip(c, 0, self.rail_counts, out=c)
        c[c < self.deadband_counts] = 0
        c[(..., *self._dead_at)] = 0
        c[(..., *self._hot_at)] = self.rail_counts
        return c.astype(np.uint16)


def _curve_params(curve, given, rail):
    names = CURVES[curve]
    given = dict(given or {})
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise ValueError(f"curve_params for curve {curve!r} must have keys in {names}, got {unknown}")
    if curve == "linear":
        params = {"a": FULL_SCALE_KPA / rail}
    elif curve == "power":
        b = float(given.get("b", 1.3))
        params = {"a": FULL_SCALE_KPA / rail**b, "b": b}
    elif curve == "hill":
        b, n = float(given.get("b", 1.25 * rail)), float(given.get("n", 1.5))
        a = FULL_SCALE_KPA * ((b - rail) / rail) ** (1.0 / n) if b > rail and n > 0 else 250.0
        params = {"a": a, "b": b, "n": n}
    else:
        params = {"a": FULL_SCALE_KPA / math.expm1(3.0), "b": rail / 3.0}
    params.update({k: float(v) for k, v in given.items()})
    for name, value in params.items():
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"curve_params[{name!r}] must be a positive finite number, got {value!r}")
    return params
