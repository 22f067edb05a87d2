"""Sensel-by-sensel paired tests on aligned maps, with permutation inference of the family-wise error."""

import numbers

import numpy as np
import xarray as xr

#: What each method controls, stated in the result.
METHODS = {
    "max": "maximum statistic: a sensel is significant where |t| exceeds the (1 - alpha) quantile of the "
           "largest |t| over the analysed sensels under sign flips (Nichols & Holmes 2002, Hum Brain Mapp 15:1-25)",
    "cluster": "cluster mass: clusters of neighbouring sensels (4-connected) with |t| above the primary threshold "
               "and one sign; a cluster is significant where its mass (sum of |t|) exceeds the (1 - alpha) quantile "
               "of the largest cluster mass under sign flips (Bullmore et al. 1999, IEEE Trans Med Imaging "
               "18:32-42; Nichols & Holmes 2002)",
}  # fmt: skip
#: Largest number of permutations handled in one block (memory: block x sensels floats).
_BLOCK = 1024


def pixel_compare(maps, *, condition, baseline, side, method="max", n_permutations=5000, alpha=0.05,
                  cluster_p=0.01, seed=0):  # fmt: skip
    """Where under the foot do two conditions differ? A paired test per sensel, family-wise error controlled.

    On the aligned mean peak-pressure maps of each subject (:func:`plantar.batch`;
    steps aligned on heel centre and foot axis), each subject's difference map
    ``condition - baseline`` is tested sensel by sensel with the one-sample
    t statistic across subjects (as statistical parametric mapping of plantar
    pressure does, Pataky et al. 2008, J Biomech 41:1987-1994). The
    family-wise error over all sensels is controlled by permutation
    (Nichols & Holmes 2002, Hum Brain Mapp 15:1-25): under the null
    hypothesis each subject's difference is as likely to have either sign, so
    the sign of each subject's whole map is flipped (all ``2**n`` flips when
    that is at most ``n_permutations``, else that many random flips, the
    observed one included) and the distribution of the largest statistic over
    the map gives the threshold:

    - ``method="max"``: the largest |t|; a sensel is significant where its
      corrected p (share of flips whose largest |t| reaches the sensel's) is
      below ``alpha``;
    - ``method="cluster"``: clusters of 4-connected sensels of one sign with
      ``|t|`` above the primary threshold ``t_(1 - cluster_p / 2)(n - 1)``, by
      their mass (sum of |t|; Bullmore et al. 1999); more sensitive to a
      broad effect, and says "somewhere in this cluster", not "at this sensel".

    Only sensels where at least half of the subjects have load in both
    conditions are tested (the same rule for either sign, so the flips stay
    exchangeable).

    On insoles of irregular sensors (maps on ``sensor`` instead of
    ``along_mm``, ``across_mm``; each sensor fixed to the foot, so the same
    sensor is the same place under every subject's foot) the test is per
    sensor, with the same maximum-statistic permutation over all the tested
    sensors; ``method="cluster"`` is refused there (irregular sensors have no
    4-neighbourhood to form clusters in).

    Parameters
    ----------
    maps : xarray.Dataset
        ``mean_peak_pressure_map`` on (subject, condition, side, along_mm,
        across_mm), or on (subject, condition, side, sensor) for insoles, as
        :func:`plantar.batch` writes it (``maps.nc``).
    condition, baseline : str
        The conditions compared (``condition - baseline``).
    side : {"left", "right"}
        The foot.
    method : {"max", "cluster"}
        The inference (see above).
    n_permutations : int
        Most sign flips to draw (at least 100); all ``2**n`` are used when fewer.
    alpha : float
        Family-wise error rate, in (0, 1).
    cluster_p : float
        Two-sided p of the primary threshold of ``method="cluster"``.
    seed : int
        Seed of the random flips.

    Returns
    -------
    result : xarray.Dataset
        On (along_mm, across_mm), or on ``sensor`` with the sensors'
        geometry of the maps as coordinates: ``t`` (0 outside the tested sensels),
        ``p_corrected`` (the sensel's, or its cluster's, corrected p; NaN
        where not tested or in no cluster), ``significant`` (bool),
        ``tested`` (bool), ``mean_baseline``, ``mean_condition`` and
        ``mean_diff`` (kPa, over the subjects); ``cluster`` (int, 0 = none;
        cluster method). Attrs: ``method``, ``definition``, ``condition``,
        ``baseline``, ``side``, ``n_subjects``, ``n_permutations`` (used),
        ``exact`` (1 if all flips), ``alpha``, ``t_threshold`` (the critical
        |t| of the max method, or the primary threshold of the cluster
        method), ``cluster_mass_threshold`` (cluster method).

    Raises
    ------
    ValueError
        If an option is not allowed, or fewer than 3 subjects have maps in
        both conditions.

    Examples
    --------
    Eight subjects whose maps drop by 30 kPa in one patch:

    >>> import numpy as np, xarray as xr
    >>> import plantar
    >>> rng = np.random.default_rng(1)
    >>> base = 100 + rng.normal(0, 10, (8, 1, 1, 12, 6))
    >>> after = base + rng.normal(0, 5, base.shape)
    >>> after[..., 4:6, 2:4] -= 30
    >>> maps = xr.Dataset({"mean_peak_pressure_map": (("subject", "condition", "side", "along_mm", "across_mm"),
    ...                     np.concatenate([base, after], axis=1))},
    ...                   coords={"condition": ["barefoot", "insole"], "side": ["right"],
    ...                           "along_mm": np.arange(12) * 5.0, "across_mm": np.arange(6) * 5.0})
    >>> result = plantar.pixel_compare(maps, condition="insole", baseline="barefoot", side="right")
    >>> result.attrs["n_permutations"], result.attrs["exact"]    # 2**8 sign flips: all of them
    (256, 1)
    >>> np.argwhere(result.significant.values).tolist()
    [[4, 2], [4, 3], [5, 2], [5, 3]]
    """
    _check(maps, condition, baseline, side, method, n_permutations, alpha, cluster_p)
    data = maps["mean_peak_pressure_map"].sel(side=side).transpose("subject", "condition", ...)
    dims = data.dims[2:]  # (along_mm, across_mm), or (sensor,)
    a = data.sel(condition=baseline).values.astype(np.float64)
    b = data.sel(condition=condition).values.astype(np.float64)
    space = tuple(range(1, a.ndim))
    both = np.isfinite(a).all(axis=space) & np.isfinite(b).all(axis=space)
    a, b = a[both], b[both]
    n = a.shape[0]
    if n < 3:
        raise ValueError(f"pixel_compare needs at least 3 subjects with maps of the {side} foot in both "
                         f"{baseline!r} and {condition!r}, got {n}")  # fmt: skip
    out = _sign_flip_test(a, b, method=method, n_permutations=n_permutations, alpha=alpha, cluster_p=cluster_p,
                          seed=seed)  # fmt: skip
    t_map, p_map, significant, tested, cluster_map = (out[k] for k in ("t", "p", "significant", "tested", "cluster"))
    diff, signs, exact, attrs = b - a, out["signs"], out["exact"], out["attrs"]
    kpa = {"units": "kPa"}
    result = xr.Dataset(
        {
            "t": (dims, t_map, {"units": "1", "long_name": "paired t statistic across subjects",
                                "definition": "mean(d) / (sd(d) / sqrt(n)), d = condition - baseline per subject"}),
            "p_corrected": (dims, p_map, {"units": "1", "long_name": "family-wise corrected p"}),
            "significant": (dims, significant, {"long_name": f"significant at family-wise alpha = {alpha:g}"}),
            "tested": (dims, tested, {"long_name": "tested: at least half of the subjects load it in both"}),
            "mean_baseline": (dims, a.mean(axis=0), {**kpa, "long_name": f"mean over subjects, {baseline}"}),
            "mean_condition": (dims, b.mean(axis=0), {**kpa, "long_name": f"mean over subjects, {condition}"}),
            "mean_diff": (dims, diff.mean(axis=0), {**kpa, "long_name": f"mean difference, {condition} - {baseline}"}),
            "cluster": (dims, cluster_map, {"units": "1", "long_name": "cluster, 0 = none (cluster method)"}),
        },
        coords=_space_coords(maps, side, dims),
        attrs={"method": method, "definition": METHODS[method], "condition": condition, "baseline": baseline,
               "side": side, "n_subjects": int(n), "n_permutations": int(signs.shape[0]), "exact": int(exact),
               "alpha": float(alpha), **attrs},  # fmt: skip
    )
    return result


def _space_coords(maps, side, dims):
    """The coordinates of the tested space, of the side: mm axes, or each sensor's number and geometry."""
    out = {}
    for name, coord in maps.coords.items():
        if coord.dims and set(coord.dims) & set(dims) and not set(coord.dims) & {"subject", "condition"}:
            out[name] = coord.sel(side=side) if "side" in coord.dims else coord
    return out


def _sign_flip_test(a, b, *, method, n_permutations, alpha, cluster_p, seed):
    """The test on (n, rows, cols) arrays of the baseline and condition maps (see :func:`pixel_compare`)."""
    n = a.shape[0]
    diff = b - a
    loaded = 2 * ((a > 0) & (b > 0)).sum(axis=0) >= n
    tested = loaded & np.any(diff != 0, axis=0)
    d = diff[:, tested]  # (n, V)
    signs, exact = _sign_flips(n, n_permutations, seed)
    t_obs = _t_values(signs[:1], d)[0]
    shape = tested.shape
    t_map = np.zeros(shape)
    t_map[tested] = t_obs
    p_map = np.full(shape, np.nan)
    cluster_map = np.zeros(shape, dtype=np.int32)
    attrs = {}
    if method == "max":
        largest = np.concatenate([np.abs(_t_values(block, d)).max(axis=1, initial=0.0)
                                  for block in _blocks(signs)])  # fmt: skip
        p_map[tested] = (largest[None, :] >= np.abs(t_obs)[:, None] - 1e-12).mean(axis=1)
        significant = np.zeros(shape, dtype=bool)
        significant[tested] = p_map[tested] < alpha
        attrs["t_threshold"] = float(np.quantile(largest, 1 - alpha, method="higher"))
    else:
        from scipy import stats

        u = float(stats.t.ppf(1 - cluster_p / 2, n - 1))
        labels, masses = _clusters(t_map[None], u)
        largest = np.concatenate([_largest_cluster_mass(_scatter(_t_values(block, d), tested), u)
                                  for block in _blocks(signs)])  # fmt: skip
        cluster_map = labels[0]
        p_cluster = (largest[None, :] >= masses[:, None] - 1e-9).mean(axis=1)
        if masses.size:
            p_map = np.where(cluster_map > 0, p_cluster[np.maximum(cluster_map - 1, 0)], np.nan)
        significant = np.isfinite(p_map) & (p_map < alpha)
        attrs["t_threshold"] = u
        attrs["cluster_mass_threshold"] = float(np.quantile(largest, 1 - alpha, method="higher"))
    return {"t": t_map, "p": p_map, "significant": significant, "tested": tested, "cluster": cluster_map,
            "signs": signs, "exact": exact, "attrs": attrs}


def _sign_flips(n, n_permutations, seed):
    """Sign flips of the n subjects, (P, n), the identity first; all 2**n when that is at most n_permutations."""
    if 2**n <= n_permutations:
        codes = np.arange(2**n)
        bits = (codes[:, None] >> np.arange(n)[None, :]) & 1
        return 1.0 - 2.0 * bits, True
    rng = np.random.default_rng(seed)
    signs = rng.choice((-1.0, 1.0), size=(n_permutations, n))
    signs[0] = 1.0
    return signs, False


def _blocks(signs):
    return (signs[k : k + _BLOCK] for k in range(0, signs.shape[0], _BLOCK))


def _t_values(signs, d):
    """One-sample t of the sign-flipped differences, (P, V): flips change the mean, not the sum of squares."""
    n = d.shape[0]
    mean = signs @ d / n
    squares = (d**2).sum(axis=0)
    var = np.maximum(squares - n * mean**2, 0.0) / (n - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = mean / np.sqrt(var / n)
    return np.where(var > 0, t, 0.0)


def _scatter(t, tested):
    """(P, V) values on the tested sensels -> (P, rows, cols) maps, 0 elsewhere."""
    out = np.zeros((t.shape[0], *tested.shape))
    out[:, tested] = t
    return out


def _clusters(t_maps, u):
    """Label clusters of each map (in-plane 4-connectivity, one sign); their masses (sum of |t|), in label order."""
    from scipy import ndimage

    structure = np.zeros((3, 3, 3), dtype=bool)
    structure[1] = ndimage.generate_binary_structure(2, 1)
    positive, n_pos = ndimage.label(t_maps > u, structure=structure)
    negative, n_neg = ndimage.label(t_maps < -u, structure=structure)
    labels = np.where(negative > 0, negative + n_pos, positive)
    masses = np.bincount(labels.ravel(), weights=np.abs(t_maps).ravel(), minlength=n_pos + n_neg + 1)[1:]
    return labels, masses


def _largest_cluster_mass(t_maps, u):
    """The largest cluster mass of each of the (P, rows, cols) maps, 0 for a map without a cluster."""
    labels, masses = _clusters(t_maps, u)
    owner = np.zeros(masses.size + 1, dtype=np.int64)
    flat = labels.reshape(labels.shape[0], -1)
    perm = np.repeat(np.arange(labels.shape[0]), flat.shape[1])
    owner[flat.ravel()] = perm
    largest = np.zeros(labels.shape[0])
    np.maximum.at(largest, owner[1:], masses)
    return largest


def _check(maps, condition, baseline, side, method, n_permutations, alpha, cluster_p):
    if not isinstance(maps, xr.Dataset) or "mean_peak_pressure_map" not in maps:
        raise ValueError("maps must be the aligned maps of plantar.batch (a Dataset with mean_peak_pressure_map)")
    sensors = "sensor" in maps["mean_peak_pressure_map"].dims
    for dim in ("subject", "condition", "side", *(("sensor",) if sensors else ("along_mm", "across_mm"))):
        if dim not in maps["mean_peak_pressure_map"].dims:
            raise ValueError(f"maps' mean_peak_pressure_map has no dim {dim!r}: is it from plantar.batch?")
    if sensors and method == "cluster":
        raise ValueError("method='cluster' needs sensels on a grid (4-neighbours); insole sensors are irregular: "
                         "use method='max'")  # fmt: skip
    conditions = [str(c) for c in maps["condition"].values]
    for name, value in (("condition", condition), ("baseline", baseline)):
        if value not in conditions:
            raise ValueError(f"{name} must be one of the maps' conditions {tuple(conditions)}, got {value!r}")
    if condition == baseline:
        raise ValueError(f"condition and baseline must differ, got {condition!r} twice")
    sides = [str(s) for s in maps["side"].values]
    if side not in sides:
        raise ValueError(f"side must be one of {tuple(sides)}, got {side!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {tuple(METHODS)}, got {method!r}")
    if not (isinstance(n_permutations, numbers.Integral) and n_permutations >= 100):
        raise ValueError(f"n_permutations must be an integer >= 100, got {n_permutations!r}")
    for name, value in (("alpha", alpha), ("cluster_p", cluster_p)):
        if not (isinstance(value, numbers.Real) and 0 < value < 1):
            raise ValueError(f"{name} must be a number in (0, 1), got {value!r}")
