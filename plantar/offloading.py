"""Left/right symmetry and offloading of regional loading."""

import numpy as np
import xarray as xr

from .metrics import STEP_REGION_METRICS

#: The symmetry index used throughout (Robinson et al. 1987, J Manipulative Physiol
#: Ther 10:172; Herzog et al. 1989, Med Sci Sports Exerc 21:110).
SYMMETRY_FORMULA = "SI = (M_right - M_left) / (0.5 * (M_right + M_left)) * 100 %, positive = right carries more"


def offloading(analysis, *, metric="force_time_integral", complete_only=True):
    """Compare the left and right feet, region by region.

    For a metric averaged over the steps of each side, the symmetry index
    ``SI = (M_right - M_left) / (0.5 (M_right + M_left)) x 100`` is positive when
    the right foot carries more, negative when it is offloaded. A 10 % cut-off is
    common but arbitrary (Robinson et al. 1987; Herzog et al. 1989).

    Parameters
    ----------
    analysis : xarray.Dataset
        An analysis from :func:`plantar.analyze`.
    metric : str
        A per step and region metric: one of ``peak_pressure``,
        ``mean_pressure``, ``max_force``, ``force_time_integral`` (default),
        ``pressure_time_integral``, ``contact_area``, ``contact_time``,
        ``relative_load``.
    complete_only : bool
        Use complete steps only (default): a footprint cut by the mat edge or the
        recording would bias its side.

    Returns
    -------
    offloading : xarray.Dataset
        Per ``region``: ``left_mean``, ``left_sd``, ``left_n``, ``right_mean``,
        ``right_sd``, ``right_n`` and ``symmetry_index`` (%); NaN where a side has
        no steps. Attrs ``metric``, ``units`` and ``formula``.

    Examples
    --------
    >>> import plantar
    >>> trial, truth = plantar.synth.walk(seed=3, passes=4, offload={"right_heel": 0.3})
    >>> result = plantar.offloading(plantar.analyze(trial))
    >>> bool(result.symmetry_index.sel(region="heel") < -10)   # the right heel carries less
    True
    """
    if metric not in STEP_REGION_METRICS:
        raise ValueError(f"metric must be one of {tuple(STEP_REGION_METRICS)}, got {metric!r}")
    if metric not in analysis:
        raise ValueError(f"the analysis has no {metric!r}: is it an analysis from plantar.analyze()?")
    values = analysis[metric]
    keep = analysis["complete"].values if complete_only else np.ones(analysis.sizes["step"], dtype=bool)
    units = values.attrs.get("units", "")
    out = {}
    stats = {}
    for side in ("left", "right"):
        chosen = values.values[keep & (analysis["side"].values == side)]
        with np.errstate(invalid="ignore"):
            mean = np.nanmean(chosen, axis=0) if len(chosen) else np.full(values.shape[1], np.nan)
            sd = np.nanstd(chosen, axis=0, ddof=1) if len(chosen) > 1 else np.full(values.shape[1], np.nan)
        count = np.sum(np.isfinite(chosen), axis=0) if len(chosen) else np.zeros(values.shape[1], int)
        stats[side] = mean
        out[f"{side}_mean"] = ("region", mean, {"units": units, "long_name": f"mean {metric} of {side} steps"})
        out[f"{side}_sd"] = ("region", sd, {"units": units, "long_name": f"SD of {metric} of {side} steps"})
        out[f"{side}_n"] = ("region", count.astype(int), {"units": "1", "long_name": f"{side} steps"})
    with np.errstate(invalid="ignore", divide="ignore"):
        si = (stats["right"] - stats["left"]) / (0.5 * (stats["right"] + stats["left"])) * 100.0
    out["symmetry_index"] = ("region", si, {"units": "%", "long_name": "symmetry index", "formula": SYMMETRY_FORMULA})
    return xr.Dataset(
        out,
        coords={"region": analysis["region"]},
        attrs={"metric": metric, "units": units, "formula": SYMMETRY_FORMULA, "complete_only": int(complete_only)},
    )
