"""Step 3: the load curve. Pressure from equalised counts, fitted to known loads."""

import numbers

import numpy as np
import xarray as xr

from .._schema import STANDARD_GRAVITY_M_S2
from ..utils import logger
from ._common import (
    STATUS,
    _add_step,
    _check_raw,
    _check_same_mat,
    _equalised,
    _finish,
    _fraction,
    _inpaint,
    _set_max_seen,
    check_calibration,
)  # fmt: skip

#: The curve families, pressure in kPa from equalised counts ``e``, and the names
#: of their parameters (stored as ``curve_<name>`` attrs). The table's two
#: parameters are 1-D arrays, its knots; it has one free value per pressure level.
MODELS = {
    "linear": ("a",),
    "power": ("a", "b"),
    "exponential": ("a", "b"),
    "table": ("knots_counts", "knots_kpa"),
}
MODEL_FORMULAS = {
    "linear": "P = a * e (a in kPa per count)",
    "power": "P = a * e**b (a in kPa per count**b)",
    "exponential": "P = a * (exp(e / b) - 1) (a in kPa, b in counts)",
    "table": "P = monotone piecewise cubic (PCHIP) through (knots_counts, knots_kpa) from (0, 0); "
             "beyond the last knot the straight line tangent to it there",
}  # fmt: skip

#: The fewest uniform-pressure levels a table is fitted from (their knots and the origin).
MIN_TABLE_LEVELS = 4

#: A model with more parameters is chosen only if its held-out error is below
#: this fraction of the simpler model's, and lower by more than this many
#: percentage points (differences below 1 % of force are within what a mat repeats).
SIMPLER_MARGIN = 0.9
SIMPLER_MARGIN_PCT = 1.0

#: A load needs this many sensels above their gate in some frame.
MIN_LOADED_SENSELS = 4

#: A walk load needs at least this many whole strides on the mat: one to fit on
#: and one to test on (the held-out scheme splits a walk's strides in two).
MIN_WALK_STRIDES = 2

#: Shortest time between two heel strikes of a walk, s (a cadence of 300 steps/min).
MIN_STEP_S = 0.2

#: The highest pressure a calibrated range may reach, in kPa, unless the sensor's
#: rated maximum is known. Barefoot walking peaks at 367-794 kPa (heel and
#: forefoot at 1.0-2.0 m/s; Shorten et al. 1989), so a floor-mat curve that reads
#: more than 2,000 kPa (about 2.5 x the highest of them) within the loads it was
#: fitted to was fitted to wrong forces.
PLAUSIBLE_MAX_KPA = 2000.0


def curve_kpa(model, params, e):
    """Evaluate a load curve: pressure in kPa from equalised counts.

    Parameters
    ----------
    model : {"linear", "power", "exponential", "table"}
        The curve family (see :data:`MODEL_FORMULAS`).
    params : sequence
        ``(a,)`` or ``(a, b)`` in the family's units; for ``"table"``,
        ``(knots_counts, knots_kpa)``: two 1-D arrays of the same length, from
        ``(0, 0)`` and strictly increasing, in equalised counts and kPa.
    e : array_like of float
        Equalised counts (>= 0).

    Returns
    -------
    pressure_kpa : numpy.ndarray
        Pressure in kPa, 0 where ``e`` is 0; same dtype as ``e`` if floating.
        The table is the monotone piecewise-cubic Hermite interpolant of its
        knots (PCHIP: Fritsch and Carlson 1980, SIAM J. Numer. Anal. 17:238;
        :class:`scipy.interpolate.PchipInterpolator`), which never overshoots
        between knots; beyond its last knot it continues along its tangent
        there (linear, with the interpolant's end slope, so value and slope
        are continuous).

    Raises
    ------
    ValueError
        If ``model`` is unknown, or the table's knots are not 1-D, of equal
        length, from the origin and strictly increasing.

    Examples
    --------
    >>> from plantar.calibration import curve_kpa
    >>> float(curve_kpa("power", (0.5, 2.0), 10.0))
    50.0
    >>> knots = ([0.0, 100.0, 200.0, 300.0, 400.0], [0.0, 10.0, 30.0, 60.0, 100.0])
    >>> curve_kpa("table", knots, [200.0, 500.0]).round(1).tolist()    # a knot; extrapolated
    [30.0, 145.0]
    """
    e = np.asarray(e)
    if e.dtype.kind != "f":
        e = e.astype(np.float64)
    if model == "table":
        return _table(*_check_knots(params[0], params[1], "params"))(e)
    a = params[0]
    if model == "linear":
        return a * e
    if model == "power":
        b = params[1]
        if e.ndim < 3 or not (a > 0 and b > 0):
            return a * np.power(np.maximum(e, 0), b)
        # Frames: mostly unloaded cells, whose pressure is a * 0 ** b = 0; the power of the others only.
        out = np.zeros(e.shape, np.result_type(e, a))
        loaded = ~(e <= 0)  # NaN included
        out[loaded] = a * np.power(np.maximum(e[loaded], 0), b)
        return out
    if model == "exponential":
        return a * np.expm1(e / params[1])
    raise ValueError(f"model must be one of {tuple(MODELS)}, got {model!r}")


def _params(cal):
    """The fitted curve's parameters from a calibration's attrs: Python floats, or the table's knots."""
    model = cal.attrs["model"]
    if model == "table":
        return (cal.attrs["curve_knots_counts"], cal.attrs["curve_knots_kpa"])
    # Python floats: a float32 array times a numpy float64 scalar would be computed in float64.
    return tuple(float(cal.attrs[f"curve_{name}"]) for name in MODELS[model])


def _check_knots(knots_counts, knots_kpa, name):
    """The table's knots as float64 arrays, or a ValueError naming ``name``."""
    x = np.asarray(knots_counts, dtype=np.float64)
    y = np.asarray(knots_kpa, dtype=np.float64)
    if x.ndim != 1 or y.ndim != 1 or x.size != y.size or x.size < 2:
        raise ValueError(f"{name}: the table's knots must be two 1-D arrays of the same length (>= 2), "
                         f"got shapes {x.shape} and {y.shape}")  # fmt: skip
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y)) and x[0] == 0 and y[0] == 0):
        raise ValueError(f"{name}: the table's knots must be finite and start at (0, 0), got ({x[0]}, {y[0]})")
    if np.any(np.diff(x) <= 0) or np.any(np.diff(y) <= 0):
        raise ValueError(f"{name}: the table is not monotone: its knots must increase strictly in counts "
                         f"and in kPa, got counts {x.round(1).tolist()} and kPa {y.round(2).tolist()}")  # fmt: skip
    return x, y


def _table(x, y):
    """The table as a function of counts: PCHIP through the knots, the end tangent beyond the last."""
    import scipy.interpolate  # imported where used: scipy.interpolate costs a second to import

    interpolant = scipy.interpolate.PchipInterpolator(x, y, extrapolate=False)
    end_slope = float(interpolant.derivative()(x[-1]))

    def evaluate(e):
        e = np.asarray(e)
        out = np.zeros(e.shape, e.dtype if e.dtype.kind == "f" else np.float64)
        inside = (e > 0) & (e <= x[-1])  # P(0) = 0; the loaded cells only, mostly few
        out[inside] = interpolant(e[inside])
        beyond = e > x[-1]
        out[beyond] = y[-1] + end_slope * (e[beyond] - x[-1])
        out[np.isnan(e)] = np.nan
        return out

    return evaluate


def _unit_curve(model, theta, u):
    """The curve on normalised counts ``u = e / e_ref`` with log-scale parameters ``theta``."""
    scale = np.exp(theta[0])
    if model == "linear":
        return scale * u
    theta = np.clip(theta, -50.0, 50.0)
    if model == "power":
        return scale * u ** np.minimum(np.exp(theta[1]), 50.0)
    return scale * np.expm1(np.minimum(u / np.exp(theta[1]), 700.0))  # no overflow while searching


def _natural(model, theta, e_ref):
    """Log-scale parameters on normalised counts -> (a, b) in the family's units; knots to counts."""
    if model == "table":
        return (theta[0] * e_ref, theta[1].copy())
    if model == "linear":
        return (float(np.exp(theta[0]) / e_ref),)
    if model == "power":
        b = float(np.exp(theta[1]))
        return (float(np.exp(theta[0]) / e_ref**b), b)
    return (float(np.exp(theta[0])), float(np.exp(theta[1]) * e_ref))


class _Data:
    """The gated equalised counts of all loads, grouped into residuals.

    Each residual is one frame of a load (known force, or mean pressure over the
    covered sensels), or one half (even or odd frames) of a whole-recording load
    (the walk: mean force = body weight). ``pred = scale * sum of P over its group``.
    Uniform-pressure loads are also kept as levels ``(load, kPa, mean counts)``,
    the table's knots.
    """

    def __init__(self):
        self.u, self.group = [], []
        self.scale, self.target, self.kind, self.load, self.half, self.kpa_per_unit = [], [], [], [], [], []
        self.levels = []

    def add(self, values, scale, target, kind, load, half, kpa_per_unit):
        index = len(self.target)
        self.u.append(values)
        self.group.append(np.full(values.size, index))
        self.scale.append(scale)
        self.target.append(target)
        self.kind.append(kind)
        self.load.append(load)
        self.half.append(half)
        self.kpa_per_unit.append(kpa_per_unit)

    def freeze(self, e_ref):
        self.u = np.concatenate(self.u) / e_ref
        self.group = np.concatenate(self.group)
        for name in ("scale", "target", "load", "half", "kpa_per_unit"):
            setattr(self, name, np.asarray(getattr(self, name), dtype=float))
        self.load = self.load.astype(int)
        self.half = self.half.astype(int)
        # Every load weighs the same, whatever its number of residuals.
        n_per_load = np.bincount(self.load)
        self.weight = 1.0 / np.sqrt(n_per_load[self.load])
        self.levels = [(load, kpa, counts / e_ref) for load, kpa, counts in self.levels]

    def relative(self, curve, rows):
        """Relative residuals (prediction / target - 1) of the residuals in ``rows``; ``curve(u)`` in kPa."""
        take = rows[self.group]
        sums = np.bincount(self.group[take], curve(self.u[take]), minlength=len(self.target))
        return (self.scale[rows] * sums[rows]) / self.target[rows] - 1.0


def _table_levels(data, rows=None):
    """Knots of the table from the levels among ``rows`` (all if None): (counts, kPa) from the origin.

    Levels at the same pressure are pooled (mean counts). Raises a ValueError
    naming the loads if the counts do not increase with the pressure.
    """
    levels = data.levels
    if rows is not None:
        kept = set(np.unique(data.load[rows]).tolist())
        levels = [level for level in levels if level[0] in kept]
    kpa = np.array([level[1] for level in levels])
    counts = np.array([level[2] for level in levels])
    unique_kpa, which = np.unique(kpa, return_inverse=True)
    pooled = np.bincount(which, counts) / np.bincount(which)
    if np.any(np.diff(pooled) <= 0):
        k = int(np.flatnonzero(np.diff(pooled) <= 0)[0])
        raise ValueError(
            f"the uniform-pressure levels are not increasing: {unique_kpa[k + 1]:g} kPa reads "
            f"{pooled[k + 1] * data.e_ref:.0f} equalised counts, no more than {unique_kpa[k]:g} kPa "
            f"({pooled[k] * data.e_ref:.0f}), so the table would not be monotone: check the pressures of the loads"
        )
    return np.concatenate([[0.0], pooled]), np.concatenate([[0.0], unique_kpa])


def _n_levels(data):
    return np.unique([level[1] for level in data.levels]).size


def _n_params(model, n_levels):
    """Free parameters of a model: its parameters, or one per level for the table."""
    return n_levels if model == "table" else len(MODELS[model])


def fit(cal, loads=(), *, models=None, allow_fewer_loads=False, max_saturated_fraction=0.001, max_kpa=None,
        min_strides=MIN_WALK_STRIDES):
    """Fit the load curve, pressure from equalised counts, to known loads; choose the model.

    With equalised counts ``e = g * max(raw - o, 0)`` gated at
    ``threshold_sigma * max(sigma, floor) * g`` (dead and stuck sensels filled
    from their neighbours, as :func:`apply` does), the predicted force of a
    frame is ``F = 1000 * A * sum_ij f(e_ij)`` N (``A`` the cell area in m2,
    ``f`` in kPa); a uniform pressure predicts ``mean_ij f(e_ij)`` over covered
    sensels. The parametric curves minimise the relative residuals
    ``prediction / known - 1`` with :func:`scipy.optimize.least_squares`, each
    load weighing the same (research notes, section 4.5). The ``"table"`` is
    fitted from the uniform-pressure levels alone (the equilibration's levels
    of known pressure and the ``pressure_kpa`` loads, at least
    ``MIN_TABLE_LEVELS``): its knots are ``(0, 0)`` and each level's mean
    equalised counts with its pressure, joined by a monotone cubic (see
    :func:`curve_kpa`); known forces only test it.

    A walk (``"average": True``) counts only over whole strides: from a heel
    strike to the same foot's next one, every foot contact in between wholly
    on the mat (no load on its outer sensels, the other foot on the mat at the
    first heel strike, contact throughout, at most two feet at once), found
    by :class:`plantar.steps.FootstepSegmentation` on the gated equalised
    counts. Over a whole stride the mean vertical force is body weight; over
    other frames (the person partly or wholly off the mat) it is not, so a
    walk with fewer than ``min_strides`` whole strides is refused.

    The model is chosen by held-out error, never by in-sample fit: with more
    loads than the largest parametric model has parameters, *leave one load
    out* (fit on the others, predict the one left out, for each load in turn;
    for the table, leaving out a level removes its knot, so the top level is
    predicted by extrapolation); otherwise each recorded load is split in two
    in time (the first and second halves of its frames, or of a walk's
    strides), fitted on one half and tested on the other; the equilibration's
    levels (kept as one value each) are fitted in both and tested in neither,
    so every tested frame is one the fit did not see. The model
    with the lowest held-out RMS error wins, except that a model with fewer
    parameters (the table has one per level) is kept unless the other's error
    is below 90 % of its own and lower by more than 1 percentage point.

    A curve whose calibrated range (below) reaches more than ``max_kpa`` is
    refused: the forces or pressures of the loads do not match their readings.

    Parameters
    ----------
    cal : xarray.Dataset
        Calibration from :func:`equilibrate` (or :func:`tare`). Its
        equilibration levels of known pressure are loads too.
    loads : sequence
        Known loads, each either ``(raw, force_n)``: a raw recording of a
        static load of ``force_n`` N (body weight on one foot or on two feet:
        ``body_mass_kg * 9.80665``), using the frames where the summed
        equalised counts are at least 80 % of their 90th percentile; or a dict
        with key ``"raw"`` and one of ``"force_n"`` (as the tuple; add
        ``"average": True`` for a walk whose mean force over whole strides
        is ``force_n``, body weight), ``"body_mass_kg"``
        (the same, in kg, with ``"average"`` as for ``force_n``) or
        ``"pressure_kpa"`` (a uniform pressure over the mat, in kPa).
    models : sequence of str | None
        Families to try among :data:`MODELS` (see :data:`MODEL_FORMULAS`);
        None tries them all, the table only where there are
        ``MIN_TABLE_LEVELS`` pressure levels or more.
    allow_fewer_loads : bool
        If a model has more parameters than there are loads (or a table asked
        for has fewer levels than it needs), drop it (with a log message)
        instead of refusing.
    max_saturated_fraction : float
        Largest fraction of loaded readings at the ADC rail in any load; more is refused.
    max_kpa : float | None
        Highest pressure the calibrated range may reach, in kPa; None takes the
        sensor's rated maximum if the calibration records one (attr
        ``rated_max_kpa``), else :data:`PLAUSIBLE_MAX_KPA` (2,000 kPa).
    min_strides : int
        Fewest whole strides a walk load must have on the mat.

    Returns
    -------
    cal : xarray.Dataset
        A new calibration with attrs ``model``, ``model_formula``, the
        parameters ``curve_<name>`` (``curve_a``, ``curve_b``, or the table's
        1-D ``curve_knots_counts`` and ``curve_knots_kpa``),
        ``valid_range_counts`` and ``valid_range_kpa`` (the calibrated range:
        from the lowest equalised counts seen in the loads up to the highest,
        or for the table up to its last knot; :func:`apply` flags readings
        beyond it as extrapolated), ``fit_rms_force_pct``
        (in-sample RMS of the relative force errors, %), ``fit_rms_kpa`` (the
        same as mean-pressure errors, kPa), ``heldout_rms_pct_<model>`` for each
        model tried, ``heldout_scheme``, and the loads in ``procedure`` (a
        walk's whole strides among them);
        ``max_seen_counts`` raised to the loads' highest readings.

    Raises
    ------
    ValueError
        If a load is malformed, from another mat, unloaded or saturated, a
        walk has fewer than ``min_strides`` whole strides on the mat, a
        model has more parameters than there are loads, a table is asked for
        with fewer than ``MIN_TABLE_LEVELS`` levels, the levels do not
        read more at a higher pressure, several models are to be compared
        but the only loads are as few equilibration levels as their
        parameters (nothing can be held out; with one model its held-out
        error is NaN, not measured), or the calibrated range exceeds ``max_kpa``.

    See Also
    --------
    tare, equilibrate, apply

    Examples
    --------
    >>> import numpy as np
    >>> import plantar
    >>> from plantar import calibration
    >>> rest = plantar.make_counts(np.zeros((100, 4, 4), np.uint16), pitch_mm=10.0, rate_hz=50.0)
    >>> cal = calibration.tare(rest, adc_bits=12)
    >>> frames = np.zeros((10, 4, 4), np.uint16)
    >>> frames[:, 1:3, 1:3] = 2000                 # 4 sensels of 1 cm2
    >>> raw = plantar.make_counts(frames, pitch_mm=10.0, rate_hz=50.0)
    >>> cal = calibration.fit(cal, [(raw, 80.0)], models=("linear",))
    >>> cal.attrs["model"], round(cal.attrs["curve_a"], 6)      # 200 kPa at 2000 counts
    ('linear', 0.1)
    """
    check_calibration(cal)
    max_saturated_fraction = _fraction(max_saturated_fraction, "max_saturated_fraction")
    limit_kpa, limit_what = _max_kpa(cal, max_kpa)
    if not (isinstance(min_strides, numbers.Integral) and min_strides >= 1):
        raise ValueError(f"min_strides must be a positive integer, got {min_strides!r}")
    asked = models is not None
    if models is None:
        models = tuple(MODELS)
    if isinstance(models, str):
        models = (models,)
    models = tuple(models)
    if not models or any(m not in MODELS for m in models):
        raise ValueError(f"models must be None or a non-empty sequence of {tuple(MODELS)}, got {models!r}")
    if isinstance(loads, dict) or (isinstance(loads, tuple) and loads and isinstance(loads[0], xr.Dataset)):
        loads = [loads]  # one load given on its own
    loads = list(loads)
    data, described, highest = _gather(cal, loads, max_saturated_fraction, int(min_strides))
    n_loads = len(described)
    if n_loads == 0:
        raise ValueError("fit needs at least one known load (loads is empty and the calibration has no "
                         "equilibration pressure)")
    n_levels = _n_levels(data)
    usable = []
    for model in models:
        if model == "table" and n_levels < MIN_TABLE_LEVELS:
            message = (
                f"model 'table' needs at least {MIN_TABLE_LEVELS} uniform-pressure levels (loads with "
                f"'pressure_kpa', or equilibration levels of known pressure), got {n_levels}: "
                "add bladder levels or leave 'table' out of models"
            )
        elif model != "table" and len(MODELS[model]) > n_loads:
            message = (
                f"model {model!r} has {len(MODELS[model])} parameters but there is only {n_loads} load level: "
                "give at least two loads (e.g. body weight on one foot and on two feet, or a known uniform "
                "pressure) or fit models=('linear',)"
            )
        else:
            usable.append(model)
            continue
        quiet = model == "table" and not asked  # tried by default only where the levels allow it
        if not (quiet or allow_fewer_loads):
            raise ValueError(message)
        (logger.info if quiet else logger.warning)("fit: dropping %s", message)
    if not usable:
        raise ValueError(f"no model in {models!r} can be fitted to {n_loads} load(s); add loads")

    e_ref = float(np.percentile(np.concatenate(data.u), 99))
    data.e_ref = e_ref
    data.freeze(e_ref)
    everything = np.ones(len(data.target), bool)
    most = max((len(MODELS[m]) for m in usable if m != "table"), default=1)
    if n_loads > most:
        scheme = "leave one load out"
        folds = [data.load != k for k in range(n_loads)]
    else:
        scheme = "first and second half of each recorded load"
        folds = [data.half != 1, data.half != 0]  # half -1 (an equilibration level): always fitted, never tested
        if not np.any(data.half >= 0):  # equilibration levels only, one value each: nothing to hold out
            if len(usable) > 1:
                raise ValueError(
                    f"the models {usable} cannot be compared: the only loads are {n_loads} equilibration "
                    "level(s), one value each, so no load can be held out; add a recorded load (--load, "
                    "--pressure, --walk) or more levels, or fit one model (e.g. models=('linear',))"
                )
            scheme = "none (the only loads are equilibration levels, one value each)"
            folds = []
    if n_levels > 1:
        _table_levels(data)  # refuse pressure levels that do not read more at a higher pressure
    heldout, fitted = {}, {}
    for model in usable:
        errors = []
        for train in folds:
            curve, _ = _fit_model(data, model, train)
            test = ~train
            errors.append(data.weight[test] * data.relative(curve, test))
        if folds:
            errors = np.concatenate(errors)
            heldout[model] = float(100 * np.sqrt(np.sum(errors**2) / np.sum(_weights_sq(data, folds))))
        else:
            heldout[model] = float("nan")  # not measured (one model, nothing held out)
        fitted[model] = _fit_model(data, model, everything)
    chosen = _choose(usable, heldout, n_levels)
    curve, params = fitted[chosen]
    params = _natural(chosen, params, e_ref)

    rel = data.relative(curve, everything)
    w2 = data.weight**2
    rms_pct = float(100 * np.sqrt(np.sum(w2 * rel**2) / np.sum(w2)))
    pred_err_kpa = rel * data.target * data.kpa_per_unit
    rms_kpa = float(np.sqrt(np.sum(w2 * pred_err_kpa**2) / np.sum(w2)))
    e_seen = data.u * e_ref
    top = params[0][-1] if chosen == "table" else float(e_seen.max())
    valid_counts = np.array([float(e_seen.min()), float(top)])
    valid_kpa = curve_kpa(chosen, params, valid_counts).astype(float)
    if not valid_kpa[1] <= limit_kpa:
        raise ValueError(
            f"the fitted {chosen} curve reads {valid_kpa[1]:,.0f} kPa at the loads' highest reading "
            f"({valid_counts[1]:.0f} equalised counts), above {limit_what} of {limit_kpa:,.0f} kPa: the loads' "
            "forces do not match their readings (check the body mass, that all of it was on the mat, and "
            "the pressures given); no calibration is made"
        )
    logger.info("fit: %s chosen (%s); held-out RMS %s; in-sample %.2f %% / %.2f kPa", chosen, scheme,
                {m: round(v, 2) for m, v in heldout.items()}, rms_pct, rms_kpa)  # fmt: skip

    out = cal.copy(deep=True)
    for key in [k for k in out.attrs if k.startswith(("curve_", "heldout_rms_pct_"))]:
        del out.attrs[key]
    out.attrs.update(
        model=chosen,
        model_formula=MODEL_FORMULAS[chosen],
        valid_range_counts=valid_counts,
        valid_range_kpa=valid_kpa,
        fit_rms_force_pct=rms_pct,
        fit_rms_kpa=rms_kpa,
        heldout_scheme=scheme,
    )
    for name, value in zip(MODELS[chosen], params):
        out.attrs[f"curve_{name}"] = value
    for model, value in heldout.items():
        out.attrs[f"heldout_rms_pct_{model}"] = value
    if highest:
        _set_max_seen(out, *highest)
    out.attrs["procedure"] = _add_step(out, {
        "step": "fit", "loads": described, "models": list(usable), "model": chosen,
        "heldout_scheme": scheme, "heldout_rms_pct": heldout,
    })  # fmt: skip
    return _finish(out)


def _max_kpa(cal, max_kpa):
    """The highest pressure the calibrated range may reach, and what it is (for messages)."""
    if max_kpa is None:
        rated = cal.attrs.get("rated_max_kpa")
        if rated is not None and np.isfinite(rated) and rated > 0:
            return float(rated), "the sensor's rated maximum (attr rated_max_kpa)"
        return PLAUSIBLE_MAX_KPA, "the plausible maximum for a floor mat (max_kpa)"
    if not (isinstance(max_kpa, numbers.Real) and not isinstance(max_kpa, bool) and np.isfinite(max_kpa)
            and max_kpa > 0):
        raise ValueError(f"max_kpa must be a positive number or None, got {max_kpa!r}")
    return float(max_kpa), "max_kpa"


def _fit_model(data, model, rows):
    """Fit ``model`` on the residuals ``rows``: (curve of normalised counts in kPa, its parameters)."""
    if model == "table":
        x, y = _table_levels(data, rows)
        return _table(x, y), (x, y)
    theta = _least_squares(data, model, rows)
    return (lambda u: _unit_curve(model, theta, u)), theta


def _weights_sq(data, folds):
    return np.concatenate([data.weight[~train] ** 2 for train in folds])


def _choose(models, heldout, n_levels):
    """The lowest held-out error, unless a simpler model is within the margin."""
    order = sorted(models, key=lambda m: heldout[m])
    best = order[0]
    n_params = {m: _n_params(m, n_levels) for m in models}
    for model in sorted(models, key=lambda m: (n_params[m], heldout[m])):
        better = heldout[best] < min(SIMPLER_MARGIN * heldout[model], heldout[model] - SIMPLER_MARGIN_PCT)
        if n_params[model] < n_params[best] and not better:
            return model
    return best


def _least_squares(data, model, rows):
    """Fit log-scale parameters on the residuals ``rows``."""
    import scipy.optimize  # imported where used: it costs most of a second to import

    def residuals(theta):
        return data.weight[rows] * data.relative(lambda u: _unit_curve(model, theta, u), rows)

    starts = [(0.0,)] if model == "linear" else [(0.0, np.log(s)) for s in (0.3, 1.0, 3.0)]
    best = None
    for start in starts:
        theta = np.array(start, float)
        # Scale first: the prediction is proportional to exp(theta[0]).
        ratio = data.relative(lambda u: _unit_curve(model, theta, u), rows) + 1.0
        theta[0] = -np.log(np.median(ratio[ratio > 0])) if np.any(ratio > 0) else 0.0
        result = scipy.optimize.least_squares(residuals, theta, method="lm" if rows.sum() > len(theta) else "trf")
        if best is None or result.cost < best.cost:
            best = result
    return best.x


def _gather(cal, loads, max_saturated_fraction, min_strides):
    """Turn the loads into residual groups of gated equalised counts; also return the recordings."""
    data = _Data()
    described, recordings = [], []
    area_m2 = cal.attrs["sensor_pitch_x_mm"] * cal.attrs["sensor_pitch_y_mm"] * 1e-6
    bad = cal["status"].values != STATUS["ok"]
    covered = cal["status"].values == STATUS["ok"]
    for index, load in enumerate(loads):
        raw, kind, value, average = _parse_load(load, index)
        where = f"loads[{index}]"
        _check_raw(raw, where)
        _check_same_mat(raw, cal, where)
        recordings.append(raw)
        e = _inpaint(_equalised(raw, cal), bad)
        e = np.nan_to_num(e, copy=False)
        total = e.reshape(e.shape[0], -1).sum(axis=1)
        n_above = (e > 0).reshape(e.shape[0], -1).sum(axis=1)
        if n_above.max() < MIN_LOADED_SENSELS:
            raise ValueError(
                f"{where} is not loaded: at most {n_above.max()} sensels read above their noise gate in any frame"
            )
        strides = []
        if average:
            strides = _whole_strides(np.where(bad, np.float32(0), e), raw, cal)  # measured sensels only
            if len(strides) < min_strides:
                n_on = int(np.count_nonzero(total))
                raise ValueError(
                    f"{where} (a walk) has {len(strides)} whole strides on the mat, fewer than the {min_strides} "
                    f"a walk load needs (min_strides): the mean force is body weight only over whole strides "
                    f"(heel strike to the same foot's next, every contact in between wholly on the mat), and "
                    f"someone was on the mat in {n_on} of its {e.shape[0]} frames; walk over a longer mat or "
                    "make more passes, or calibrate with standing loads"
                )
            frames = np.concatenate([np.arange(start, stop) for start, stop in strides])
        else:
            frames = np.nonzero(total >= 0.8 * np.percentile(total, 90))[0]
        loaded = e[frames] > 0
        at_rail = raw["counts"].values[frames] >= cal["saturation_counts"].values
        saturated = (at_rail & loaded & ~bad).sum() / max(int((loaded & ~bad).sum()), 1)
        if saturated > max_saturated_fraction:
            raise ValueError(
                f"{where} is saturated: {100 * saturated:.1f} % of its loaded readings are at the rail "
                f"({cal['saturation_counts'].values.max():.0f} counts), which understates the pressure: "
                "calibrate with a load within the mat's range"
            )
        load_id = len(described)
        if kind == "force":
            if average:  # one residual per stride: its mean force is body weight
                for i, (start, stop) in enumerate(strides):
                    block = e[start:stop]
                    n_loaded = (block > 0).reshape(stop - start, -1).sum(axis=1).mean()
                    data.add(block[block > 0], 1000 * area_m2 / (stop - start), value, "force", load_id,
                             int(2 * i >= len(strides)), 1.0 / (1000 * area_m2 * max(n_loaded, 1)))  # fmt: skip
            else:
                n_loaded = loaded.reshape(len(frames), -1).sum(axis=1)
                for i, frame in enumerate(frames):
                    values = e[frame][e[frame] > 0]
                    data.add(values, 1000 * area_m2, value, "force", load_id, int(2 * i >= len(frames)),
                             1.0 / (1000 * area_m2 * max(n_loaded[i], 1)))  # fmt: skip
        else:
            for i, frame in enumerate(frames):
                values = e[frame][covered]
                data.add(values, 1.0 / values.size, value, "pressure", load_id, int(2 * i >= len(frames)), 1.0)
            data.levels.append((load_id, value, float(e[frames][:, covered].mean())))
        described.append({
            "kind": kind, "value": value, "units": "N" if kind == "force" else "kPa", "average": average,
            "frames": len(frames), "source_file": str(raw.attrs.get("source_file", "")),
            **({"strides": len(strides)} if average else {}),
        })  # fmt: skip
    for kpa, level in zip(*_equilibration_levels(cal)):
        if kpa <= 0:
            continue  # a level of unknown pressure: no load
        values = np.array([level])  # every covered sensel reads the level: one value stands for all
        load_id = len(described)
        data.add(values, 1.0, kpa, "pressure", load_id, -1, 1.0)  # no frames: fitted, never tested on
        data.levels.append((load_id, kpa, level))
        described.append({"kind": "pressure", "value": kpa, "units": "kPa", "average": False, "frames": 0,
                          "source_file": "equilibration"})  # fmt: skip
    return data, described, recordings


def _whole_strides(e, raw, cal):
    """Whole strides of a walk on the mat: ``[(first frame, stop frame), ...]``, not overlapping.

    Foot contacts are found by :class:`plantar.steps.FootstepSegmentation` on
    the gated equalised counts ``e`` of the sensels whose status is ok (the
    others 0, not in-painted: an in-painted outer sensel would put a foot next
    to the edge on it), contact where they are above 0. A stride runs
    from a heel strike to the heel strike after next (the same foot's next):
    it is whole when the other foot is on the mat at its first frame (double
    support seen), some foot is in contact in every frame and never more than
    two, no foot contact touches the mat's outer sensels in any of its frames
    (a foot partly off the mat),
    and its heel strikes are at least :data:`MIN_STEP_S` apart.
    """
    from .._schema import make_trial
    from ..steps import FootstepSegmentation

    n_frames, n_rows, n_cols = e.shape
    pitch = (cal.attrs["sensor_pitch_x_mm"], cal.attrs["sensor_pitch_y_mm"])
    rate_hz = float(raw.attrs["sampling_rate_hz"])
    contact = make_trial(e, pitch_mm=pitch, rate_hz=rate_hz, time_s=raw["time"].values)
    steps = FootstepSegmentation(threshold_kpa=0.0, min_force_n=0.0).segment(contact).steps_
    starts = np.array([step.frames.start for step in steps], dtype=int)
    stops = np.array([step.frames.stop for step in steps], dtype=int)
    order = np.argsort(starts, kind="stable")
    starts, stops = starts[order], stops[order]
    in_contact = np.zeros(n_frames + 1, int)
    np.add.at(in_contact, starts, 1)
    np.add.at(in_contact, stops, -1)
    in_contact = np.cumsum(in_contact)[:n_frames]
    at_edge = np.zeros(n_frames, bool)  # a foot on the mat's outer sensels (noise alone is no foot)
    for step in steps:
        mask = step.mask
        touches = np.zeros(mask.shape[0], bool)
        if step.rows.start == 0:
            touches |= mask[:, 0, :].any(axis=1)
        if step.rows.stop == n_rows:
            touches |= mask[:, -1, :].any(axis=1)
        if step.cols.start == 0:
            touches |= mask[:, :, 0].any(axis=1)
        if step.cols.stop == n_cols:
            touches |= mask[:, :, -1].any(axis=1)
        at_edge[step.frames] |= touches
    min_frames = MIN_STEP_S * rate_hz
    strides, end = [], -1
    for k in range(len(starts) - 2):  # a loop over foot contacts
        first, stop = starts[k], starts[k + 2]
        window = slice(first, stop)
        if (first >= end and in_contact[first] >= 2 and in_contact[window].min() >= 1
                and in_contact[window].max() <= 2 and not at_edge[window].any()
                and min(starts[k + 1] - first, stop - starts[k + 1]) >= min_frames):  # fmt: skip
            strides.append((int(first), int(stop)))
            end = stop
    return strides


def _equilibration_levels(cal):
    """The equilibration's levels: (kPa, mean equalised counts) as float arrays; kPa 0 = not known."""
    if "equilibration_levels_kpa" in cal.attrs:
        return (np.atleast_1d(np.asarray(cal.attrs["equilibration_levels_kpa"], float)),
                np.atleast_1d(np.asarray(cal.attrs["equilibration_levels_counts"], float)))  # fmt: skip
    if "equilibration_kpa" in cal.attrs:  # files written before several levels were kept
        return np.array([float(cal.attrs["equilibration_kpa"])]), np.array([float(cal.attrs["equilibration_counts"])])
    return np.zeros(0), np.zeros(0)


def _parse_load(load, index):
    where = f"loads[{index}]"
    if isinstance(load, tuple):
        if len(load) != 2:
            raise ValueError(f"{where} must be (raw, force_n) or a dict, got a tuple of {len(load)}")
        load = {"raw": load[0], "force_n": load[1]}
    if not isinstance(load, dict) or "raw" not in load:
        raise ValueError(f"{where} must be (raw, force_n) or a dict with key 'raw', got {type(load).__name__}")
    keys = [k for k in ("force_n", "body_mass_kg", "pressure_kpa") if k in load]
    unknown = set(load) - {"raw", "force_n", "body_mass_kg", "pressure_kpa", "average"}
    if len(keys) != 1 or unknown:
        raise ValueError(
            f"{where} must have 'raw' and exactly one of 'force_n', 'body_mass_kg', 'pressure_kpa' "
            f"(and optionally 'average'), got keys {sorted(load)}"
        )
    value = load[keys[0]]
    if not (isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value) and value > 0):
        raise ValueError(f"{where}[{keys[0]!r}] must be a positive number, got {value!r}")
    value = float(value)
    if keys[0] == "body_mass_kg":
        value *= STANDARD_GRAVITY_M_S2
    average = bool(load.get("average", False))
    kind = "pressure" if keys[0] == "pressure_kpa" else "force"
    if kind == "pressure" and average:
        raise ValueError(f"{where}: 'average' applies to a known force, not to 'pressure_kpa'")
    return load["raw"], kind, value, average
