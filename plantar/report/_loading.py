"""The orthotic loading report: conditions, regional loading, comparison, plain-language summary."""

import math

import numpy as np
import pandas as pd

from .._schema import SCHEMA_TRIAL
from ..analyze import SCHEMA_ANALYSIS, SCHEMA_ANALYSIS_1, _current, analyze, to_table
from ..offloading import offloading
from ..utils import logger
from . import _html

#: Default target for mean peak pressure, kPa. Owings et al. 2009 (Diabet Med 26:1141-1146)
#: proposed an in-shoe peak pressure below 200 kPa for footwear that keeps a healed diabetic
#: foot ulcer healed; Bus et al. 2013 (Diabetes Care 36:4109-4116) used it to modify footwear.
#: It is an in-shoe criterion: barefoot walkway peaks of healthy feet usually exceed it.
TARGET_KPA = 200.0

#: Regions in reading order, with the words used in tables and sentences.
REGION_NAMES = {
    "total": "whole foot",
    "heel": "heel",
    "arch": "midfoot",
    "forefoot": "forefoot",
    "metatarsal_heads": "metatarsal heads",
    "mth1": "1st metatarsal head",
    "mth2_3": "2nd-3rd metatarsal heads",
    "mth4_5": "4th-5th metatarsal heads",
    "toes": "toes",
    "hallux": "hallux",
    "lesser_toes": "lesser toes",
}

#: Metrics shown in the comparison tables (every metric is in the CSV and JSON).
TABLE_METRICS = ("peak_pressure", "pressure_time_integral")

#: A left/right difference is mentioned in the summary from this |symmetry index|, %: a
#: reporting convention, not a clinical cut-off (healthy gait shows up to about 10 %;
#: Herzog et al. 1989, Med Sci Sports Exerc 21:110-114).
ASYMMETRY_PCT = 10.0

#: Size of each condition's animation in the report: a report of three conditions stays
#: under 8 MB with plotly.js (benchmarks/report.py).
ANIMATION = dict(max_frames=120, max_values=200_000)

#: Families of regions: the summary names at most one region of each.
_FAMILIES = (("heel",), ("arch",), ("metatarsal_heads", "mth1", "mth2_3", "mth4_5"), ("toes", "hallux", "lesser_toes"))

_METRIC_WORDS = {"peak_pressure": "peak pressure", "pressure_time_integral": "pressure-time integral",
                 "force_time_integral": "force-time integral"}  # fmt: skip


def add_trial(report, data, *, label=None, animation=True, analysis=None):
    """Analyse a trial (or take an analysis, or the trial's analysis given) and add its section; return the analysis."""
    schema = data.attrs.get("plantar_schema")
    if schema not in (SCHEMA_TRIAL, SCHEMA_ANALYSIS, SCHEMA_ANALYSIS_1):
        raise ValueError(f"add_trial needs a trial or an analysis, got schema {schema!r}")
    trial = data if schema == SCHEMA_TRIAL else None
    if analysis is not None:
        _check_analysis_of(analysis, trial)
    label = str(label if label is not None else data.attrs.get("condition") or f"condition {len(report.conditions) + 1}")
    if label in report.conditions:
        raise ValueError(f"a condition labelled {label!r} is already in the report; give another label")
    if analysis is None:
        analysis = analyze(trial) if trial is not None else data
    analysis = _current(analysis)  # an analysis/1 upgraded once, here
    report.conditions[label] = dict(trial=trial, analysis=analysis)
    _header(report, analysis)
    section = f"Condition: {label}"
    complete = analysis["complete"].values
    sides = analysis["side"].values
    n = {s: int(np.sum(complete & (sides == s))) for s in ("left", "right")}
    report.add_numbers(_steps_numbers(analysis, label), table="steps")
    report.add_table(_condition_table(analysis, n), "Recording and gait", section=section,
                     caption="Complete steps: the whole footprint on the mat and the whole contact recorded; "
                             "only they enter the statistics.")  # fmt: skip
    if analysis.sizes["step"] == 0:
        report.add_note(f"{label}: no foot contact was found in the recording, so it has no maps or statistics.")
    elif n["left"] + n["right"] == 0:
        report.add_note(f"{label}: no complete step (every footprint was cut by the mat edge or the recording); "
                        "its maps, curves and statistics are left out.")  # fmt: skip
    figures = [
        ("Footprints", "walk_footprints", (analysis,), {},
         "Every foot contact on the mat, numbered in time; left and right outlined in their colours, "
         "incomplete steps dashed."),
    ]  # fmt: skip
    for side in ("left", "right"):
        if n[side]:
            figures.append((f"Peak pressure, mean {side} step", "peak_pressure_map", (analysis,),
                            dict(side=side),
                            f"Mean of the {n[side]} complete {side} steps, aligned on the heel centre and foot axis; "
                            "region outlines and the mean centre-of-pressure path (gait line)."))  # fmt: skip
        elif analysis.sizes["step"]:
            report.add_note(f"{label}: no complete {side} step; the {side} foot is left out of the maps and statistics.")
    if n["left"] + n["right"]:
        figures += [
            ("Force curves", "force_curves", (analysis,), {},
             "Force under each region over stance (0-100 %), mean and SD of complete steps, per side."),
            ("Gait line and butterfly", "butterfly", (analysis,), {},
             "Centre-of-pressure path of every complete step in foot coordinates, and of both feet together "
             "relative to the walker's progression."),
        ]  # fmt: skip
    if trial is not None and animation:
        figures.append(("Pressure frames", "pressure_animation", (trial,), ANIMATION,
                        "The recording as it was measured; press play or drag the slider (frames thinned in time)."))
    for title, name, args, kwargs, caption in figures:
        _figure(report, section, title, name, args, kwargs, caption)
    return analysis


def _check_analysis_of(analysis, trial):
    """Refuse an analysis that is not one, or plainly not of ``trial`` (another mat or frame rate)."""
    schema = analysis.attrs.get("plantar_schema") if hasattr(analysis, "attrs") else None
    if schema not in (SCHEMA_ANALYSIS, SCHEMA_ANALYSIS_1):
        raise ValueError(f"analysis must be an analysis from plantar.analyze(), got schema {schema!r}")
    if trial is None:
        raise ValueError("give analysis only with a trial (an analysis given as the data is used as it is)")
    for name in ("sampling_rate_hz", "sensor_pitch_x_mm", "sensor_pitch_y_mm"):
        if name in trial.attrs and name in analysis.attrs and float(trial.attrs[name]) != float(analysis.attrs[name]):
            raise ValueError(f"analysis is not of this trial: its {name} is {analysis.attrs[name]!r}, "
                             f"the trial's {trial.attrs[name]!r}")  # fmt: skip
    for dim in ("y", "x"):
        if dim in analysis.sizes and analysis.sizes[dim] != trial.sizes[dim]:
            raise ValueError(f"analysis is not of this trial: it has {analysis.sizes[dim]} {dim} sensels, "
                             f"the trial {trial.sizes[dim]}")  # fmt: skip


def add_summary(report, *, baseline=None, target_kpa=TARGET_KPA):
    """Add regional loading, left/right offloading, the comparison and the plain-language summary."""
    from ..compare import compare, comparison_table

    if not report.conditions:
        report.add_note("No trial was added, so there is nothing to summarise.")
        return None
    labels = list(report.conditions)
    if baseline is None:
        baseline = labels[0]
    if baseline not in labels:
        raise ValueError(f"baseline must be one of the conditions {labels}, got {baseline!r}")
    target_kpa = float(target_kpa)
    if not (math.isfinite(target_kpa) and target_kpa > 0):
        raise ValueError(f"target_kpa must be a positive number of kPa, got {target_kpa!r}")
    analyses = {label: report.conditions[label]["analysis"] for label in labels}
    _note_different_mats(report, analyses)
    comparison = compare(analyses, baseline=baseline)
    report.comparison = comparison
    numbers = comparison_table(comparison)
    report.add_numbers(_tidy_comparison(numbers), table="comparison")

    section = "Regional loading"
    for side in ("left", "right"):
        frame, flags = _loading_table(comparison, side, target_kpa)
        report.add_table(frame, f"{side.capitalize()} foot", section=section, flags=flags,
                         caption=f"Mean ± SD over complete steps (n). Flagged: mean peak pressure above the "
                                 f"{target_kpa:g} kPa target (in-shoe criterion of Owings et al. 2009).")  # fmt: skip
    sym = _symmetry_table(analyses)
    report.add_numbers(_tidy_symmetry(analyses), table="offloading")
    report.add_table(sym, "Left/right offloading", section=section,
                     caption="Symmetry index SI = (right - left) / mean of both x 100 % of the force-time "
                             "integral; negative: the right foot carries less.")  # fmt: skip
    _figure(report, section, f"Left and right, peak pressure ({baseline})", "symmetry_bars",
            (analyses[baseline],), {"metric": "peak_pressure"},
            "Mean ± SD of complete steps per region and side, with the symmetry index.")

    if len(labels) < 2:
        report.add_note("Only one condition was given, so there is no comparison between conditions.")
    else:
        section = "Comparison"
        for label in labels:
            if label == baseline:
                continue
            frame, classes = _comparison_table(comparison, label, baseline)
            report.add_html(_html.table(frame, classes=classes), f"{label} vs {baseline}", section=section)
        report.add_html(
            '<p class="caption">Difference = condition minus baseline, with its 95 % confidence interval '
            "(Welch). Beyond noise: the interval excludes 0 and the change exceeds the minimal detectable "
            "change MDC95 = 1.96 x sqrt(2) x SEM from this patient's own step-to-step variability "
            "(Weir 2005). g: Hedges' effect size.</p>", "How to read the comparison", section=section)  # fmt: skip
        for side in ("left", "right"):
            ready = [label for label in labels if _n_complete(analyses[label], side)]
            if baseline in ready and len(ready) > 1:
                _figure(report, "Summary", f"{side.capitalize()} foot: mean peak pressure by condition",
                        "compare_maps", ({k: analyses[k] for k in ready},),
                        dict(baseline=baseline, side=side, comparison=comparison),
                        "Feet aligned on heel centre and foot axis; same colour scale. Difference maps: "
                        "condition minus baseline; regions whose peak pressure changed beyond noise are marked.")  # fmt: skip
    report.summary[:] = _sentences(comparison, analyses, baseline, target_kpa)
    return comparison


# -- tables -----------------------------------------------------------------------------------------
def _fmt(value, digits=0):
    return "-" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def _condition_table(analysis, n):
    a = analysis.attrs
    stance = analysis["stance_time"].values[analysis["complete"].values] if analysis.sizes["step"] else []
    rows = {
        "foot contacts": f"{analysis.sizes['step']}",
        "complete steps (left / right)": f"{n['left']} / {n['right']}",
        "cadence (steps/min)": _fmt(a.get("cadence_steps_per_min", np.nan)),
        "walking speed (m/s)": _fmt(a.get("walking_speed_m_s", np.nan), 2),
        "stance time (s)": _fmt(np.mean(stance), 2) if len(stance) else "-",
        "device": a.get("device", "") or "-",
        "calibration": a.get("calibration_id", "") or "none stated",
        "sensor pitch (mm)": f"{a.get('sensor_pitch_x_mm', 0):g} x {a.get('sensor_pitch_y_mm', 0):g}",
        "frame rate (Hz)": f"{a.get('sampling_rate_hz', 0):g}",
    }
    frame = pd.DataFrame({"value": list(rows.values())}, index=pd.Index(list(rows), name=""))
    return frame


def _loading_table(comparison, side, target_kpa):
    columns, flags = {}, []
    peak = comparison.sel(side=side, metric="peak_pressure")
    for label in comparison.condition.values.tolist():
        c = comparison.sel(condition=label, side=side)
        columns[f"{label}: peak (kPa)"] = [
            f"{_fmt(m)} ± {_fmt(s)} ({int(k)})" for m, s, k in
            zip(c["mean"].sel(metric="peak_pressure").values, c["sd"].sel(metric="peak_pressure").values,
                c["n"].sel(metric="peak_pressure").values)]  # fmt: skip
        flags.append(peak["mean"].sel(condition=label).values > target_kpa)
        columns[f"{label}: PTI (kPa s)"] = [_fmt(v, 1) for v in c["mean"].sel(metric="pressure_time_integral").values]
        columns[f"{label}: load (%)"] = [_fmt(v, 1) for v in c["mean"].sel(metric="relative_load").values]
    regions = comparison.region.values.tolist()
    frame = pd.DataFrame(columns, index=pd.Index([REGION_NAMES.get(r, r) for r in regions], name="region"))
    mask = np.zeros(frame.shape, dtype=bool)
    for k, flag in enumerate(flags):
        mask[:, 3 * k] = flag
    return frame, mask


def _symmetry_table(analyses):
    columns = {}
    for label, analysis in analyses.items():
        if not analysis.sizes["step"]:
            continue
        o = offloading(analysis)
        columns[f"{label}: left (N s)"] = [_fmt(v, 1) for v in o["left_mean"].values]
        columns[f"{label}: right (N s)"] = [_fmt(v, 1) for v in o["right_mean"].values]
        columns[f"{label}: SI (%)"] = [_fmt(v, 1) for v in o["symmetry_index"].values]
    regions = next(iter(analyses.values())).region.values.tolist()
    return pd.DataFrame(columns, index=pd.Index([REGION_NAMES.get(r, r) for r in regions], name="region"))


def _comparison_table(comparison, label, baseline):
    rows, classes, index = [], {}, []
    sides, regions = ("left", "right"), comparison.region.values.tolist()
    names = ("mean", "diff", "ci_low", "ci_high", "diff_pct", "hedges_g", "mdc", "verdict", "beyond_noise")
    # Each variable as one (side, region) array per metric: far faster than a .sel() per cell.
    cells = {}
    for metric in TABLE_METRICS:
        c = comparison.sel(condition=label, metric=metric, side=list(sides)).transpose("side", "region")
        b = comparison["mean"].sel(condition=baseline, metric=metric, side=list(sides)).transpose("side", "region")
        cells[metric] = {name: c[name].values for name in names} | {"baseline": b.values}
    units = {metric: str(comparison["metric_units"].sel(metric=metric).values) for metric in TABLE_METRICS}
    for i, side in enumerate(sides):
        for j, region in enumerate(regions):
            row = {}
            for metric in TABLE_METRICS:
                v, unit = cells[metric], units[metric]
                digits = 0 if unit == "kPa" else 1
                name = _METRIC_WORDS.get(metric, metric)
                row[f"{name}: {baseline} ({unit})"] = _fmt(float(v["baseline"][i, j]), digits)
                row[f"{name}: {label} ({unit})"] = _fmt(float(v["mean"][i, j]), digits)
                row[f"{name}: difference [95 % CI]"] = (
                    f"{_fmt(float(v['diff'][i, j]), digits)} [{_fmt(float(v['ci_low'][i, j]), digits)}, "
                    f"{_fmt(float(v['ci_high'][i, j]), digits)}]")  # fmt: skip
                row[f"{name}: %"] = _fmt(float(v["diff_pct"][i, j]))
                row[f"{name}: g"] = _fmt(float(v["hedges_g"][i, j]), 1)
                row[f"{name}: MDC"] = _fmt(float(v["mdc"][i, j]), digits)
                row[f"{name}: verdict"] = str(v["verdict"][i, j])
                if bool(v["beyond_noise"][i, j]):
                    classes[(len(rows), len(row) - 1)] = "beyond"
            rows.append(row)
            index.append(f"{side} {REGION_NAMES.get(region, region)}")
    return pd.DataFrame(rows, index=pd.Index(index, name="side and region")), classes


# -- numbers for the CSV / JSON ---------------------------------------------------------------------
def _steps_numbers(analysis, label):
    if not analysis.sizes["step"]:
        return pd.DataFrame(columns=["value"])
    table = to_table(analysis)
    statistic = np.where(table["complete"], "value", "value (incomplete step)")
    return table.assign(condition=label, statistic=statistic).drop(columns="complete")


def _tidy_comparison(frame):
    value_columns = [c for c in frame.columns
                     if c not in ("condition", "side", "region", "metric", "units", "verdict", "device")
                     and pd.api.types.is_numeric_dtype(frame[c])]  # fmt: skip
    long = frame.melt(id_vars=["condition", "side", "region", "metric", "units"], value_vars=value_columns,
                      var_name="statistic", value_name="value")  # fmt: skip
    verdict = frame[["condition", "side", "region", "metric", "verdict"]].copy()
    verdict["statistic"] = "beyond_noise"
    verdict["value"] = (frame["verdict"] == "beyond noise").astype(float).where(
        frame["verdict"].isin(["beyond noise", "within noise"]))
    verdict["units"] = "1 = beyond noise, 0 = within noise"
    return pd.concat([long, verdict.drop(columns="verdict")], ignore_index=True)


def _tidy_symmetry(analyses):
    frames = []
    for label, analysis in analyses.items():
        if not analysis.sizes["step"]:
            continue
        o = offloading(analysis)
        for name in ("left_mean", "left_sd", "left_n", "right_mean", "right_sd", "right_n", "symmetry_index"):
            frames.append(pd.DataFrame({
                "condition": label, "region": o.region.values, "metric": o.attrs["metric"],
                "statistic": name, "value": o[name].values.astype(float),
                "units": "%" if name == "symmetry_index" else ("1" if name.endswith("_n") else o.attrs["units"]),
            }))  # fmt: skip
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["value"])


# -- words ----------------------------------------------------------------------------------------------
def _sentences(comparison, analyses, baseline, target_kpa):
    out = []
    labels = comparison.condition.values.tolist()
    shown = ("heel", "arch", "metatarsal_heads", "mth1", "mth2_3", "mth4_5", "toes", "hallux", "lesser_toes")
    for label in labels:
        if label == baseline:
            continue
        for side in ("left", "right"):
            c = comparison.sel(condition=label, side=side, metric="peak_pressure")
            b = comparison.sel(condition=baseline, side=side, metric="peak_pressure")
            if int(b["n"].sel(region="total")) < 2 or int(c["n"].sel(region="total")) < 2:
                out.append(f"{side.capitalize()} foot, {label} vs {baseline}: too few complete steps to compare.")
                continue
            changed = [r for r in shown if bool(c["beyond_noise"].sel(region=r))]
            changed.sort(key=lambda r: -abs(float(c["diff_pct"].sel(region=r))))
            picked = []  # the largest change of each family of regions, the largest first
            for r in changed:
                family = next(f for f in _FAMILIES if r in f)
                if not any(p in family for p in picked):
                    picked.append(r)
            prefix = f"{side.capitalize()} foot, {label} vs {baseline}: "
            if picked:
                changes = [f"{REGION_NAMES[r]} {float(b['mean'].sel(region=r)):.0f} → "
                           f"{float(c['mean'].sel(region=r)):.0f} kPa ({float(c['diff_pct'].sel(region=r)):+.0f} %)"
                           for r in picked[:2]]  # fmt: skip
                out.append(prefix + "peak pressure " + ", ".join(changes) + ", beyond noise.")
            else:
                out.append(prefix + "no region's peak pressure changed beyond step-to-step noise.")
    for label in labels:
        above = []
        for side in ("left", "right"):
            mean = comparison["mean"].sel(condition=label, side=side, metric="peak_pressure")
            for r in shown:
                if r in ("metatarsal_heads", "toes"):
                    continue
                v = float(mean.sel(region=r))
                if np.isfinite(v) and v > target_kpa:
                    above.append((f"{side} {REGION_NAMES[r]}", v))
        if len(above) > 3:
            highest = max(above, key=lambda a: a[1])
            out.append(f"{label}: mean peak pressure above the {target_kpa:g} kPa target in {len(above)} regions, "
                       f"highest under the {highest[0]} ({highest[1]:.0f} kPa).")  # fmt: skip
        elif above:
            out.append(f"{label}: mean peak pressure above the {target_kpa:g} kPa target under the "
                       + ", ".join(f"{name} ({v:.0f} kPa)" for name, v in above) + ".")
        elif np.isfinite(float(comparison["mean"].sel(condition=label, side="left", metric="peak_pressure",
                                                      region="total"))):  # fmt: skip
            out.append(f"{label}: no region's mean peak pressure is above the {target_kpa:g} kPa target.")
    for label, analysis in analyses.items():
        if not analysis.sizes["step"]:
            continue
        o = offloading(analysis)
        notes = []
        for r in ("heel", "arch", "metatarsal_heads", "toes"):
            si = float(o["symmetry_index"].sel(region=r))
            if np.isfinite(si) and abs(si) >= ASYMMETRY_PCT:
                less, more = ("right", "left") if si < 0 else ("left", "right")
                notes.append(f"{less} {REGION_NAMES[r]} {abs(si):.0f} % below the {more}")
        if notes:
            out.append(f"{label}, left vs right load (force-time integral): " + "; ".join(notes) + ".")
    return out


# -- helpers ------------------------------------------------------------------------------------------------
def _figure(report, section, title, name, args, kwargs, caption):
    """Draw one figure; a figure that cannot be drawn becomes a note, never a failed report."""
    from .. import viz

    try:
        fig = getattr(viz, name)(*args, **kwargs)
    except Exception as exc:  # a report must still be written: say what is missing and why
        logger.debug("figure %r failed", title, exc_info=True)
        report.add_note(f"{section}: the figure '{title}' could not be drawn ({exc}).")
        return
    report.add_figure(fig, title, section=section, caption=caption)


def _header(report, analysis):
    a = analysis.attrs
    if not report.subject:
        report.subject = str(a.get("subject", ""))
    report.meta.setdefault("Date", str(a.get("start_time", ""))[:16].replace("T", " ") or "not stated")
    report.meta.setdefault("Device", a.get("device", "") or "not stated")
    report.meta.setdefault("Calibration", a.get("calibration_id", "") or "none stated")
    mass = float(a.get("body_mass_kg", 0) or 0)
    report.meta.setdefault("Body mass", f"{mass:g} kg" if mass > 0 else "not stated")
    report.meta["Conditions"] = ", ".join(report.conditions)


def _n_complete(analysis, side):
    return int(np.sum(analysis["complete"].values & (analysis["side"].values == side)))


def _note_different_mats(report, analyses):
    def mat(a):
        return (a.attrs.get("device", ""), float(a.attrs.get("sensor_pitch_x_mm", 0)),
                float(a.attrs.get("sensor_pitch_y_mm", 0)), a.sizes.get("y"), a.sizes.get("x"))  # fmt: skip

    mats = {label: mat(a) for label, a in analyses.items()}
    if len(set(mats.values())) > 1:
        described = "; ".join(f"{label}: {m[0] or 'device not stated'}, {m[1]:g} x {m[2]:g} mm sensors, "
                              f"{m[3]} x {m[4]}" for label, m in mats.items())  # fmt: skip
        report.add_note(
            "The conditions were recorded on different mats (" + described + "). Feet are aligned before maps "
            "are compared, but a difference between conditions may come from the mats as well.")
    calibrations = {a.attrs.get("calibration_id", "") for a in analyses.values()}
    if len(calibrations) > 1:
        report.add_note("The conditions have different calibrations: " + ", ".join(
            f"{label}: {a.attrs.get('calibration_id', '') or 'none'}" for label, a in analyses.items()) + ".")
