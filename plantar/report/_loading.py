"""The orthotic loading report: conditions, regional loading, comparison, plain-language summary."""

import math

import numpy as np
import pandas as pd

from .._schema import SCHEMA_TRIAL
from ..analyze import SCHEMA_ANALYSIS, SCHEMA_ANALYSIS_1, _current, analyze, to_table
from ..insoles import NOT_APPLICABLE_NOTE
from ..offloading import offloading
from ..utils import logger
from ..viz._common import REGION_TITLES
from . import _html
from ._conditions import check_kind, condition_kind, default_pairs, measurement, resolve_targets

#: The in-shoe peak-pressure target, kPa: Owings et al. 2009 (Diabet Med 26:1141-1146) proposed an
#: in-shoe peak pressure below 200 kPa for footwear that keeps a healed diabetic foot ulcer healed;
#: Bus et al. 2013 (Diabetes Care 36:4109-4116) used it to modify footwear. It applies to in-shoe
#: measurements only (see :data:`plantar.report.DEFAULT_TARGETS`).
TARGET_KPA = 200.0

#: Regions in reading order, with the one name a reader sees for each (tables, sentences, figures).
REGION_NAMES = REGION_TITLES

#: Regions the summary speaks of: the base regions (the composites repeat them).
SUMMARY_REGIONS = ("heel", "arch", "mth1", "mth2_3", "mth4_5", "hallux", "lesser_toes")

#: Metrics shown in the comparison tables (every metric is in the CSV and JSON).
TABLE_METRICS = ("peak_pressure", "pressure_time_integral")

#: A left/right difference is mentioned in the summary from this |symmetry index|, %: a
#: reporting convention, not a clinical cut-off (healthy gait shows up to about 10 %;
#: Herzog et al. 1989, Med Sci Sports Exerc 21:110-114).
ASYMMETRY_PCT = 10.0

#: Size of each condition's animation in the report: a report of three conditions stays
#: under 8 MB with plotly.js (benchmarks/report.py).
ANIMATION = dict(max_frames=120, max_values=200_000)

_METRIC_WORDS = {"peak_pressure": "peak pressure", "pressure_time_integral": "pressure-time integral",
                 "force_time_integral": "force-time integral"}  # fmt: skip


def add_trial(report, data, *, label=None, kind=None, animation=True, analysis=None, mask="percent"):
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
    attrs = dict(data.attrs)
    given = analysis is not None  # then the trial itself was not checked by the analysis
    kind = check_kind(kind) if kind is not None else condition_kind(label, attrs)
    if analysis is None:
        analysis = analyze(trial, mask=mask) if trial is not None else data
    analysis = _current(analysis)  # an analysis/1 upgraded once, here
    where = measurement({**analysis.attrs, **attrs})
    report.conditions[label] = dict(trial=trial, analysis=analysis, kind=kind, measurement=where)
    _header(report, analysis)
    section = f"Condition: {label}"
    complete = analysis["complete"].values
    sides = analysis["side"].values
    n = {s: int(np.sum(complete & (sides == s))) for s in ("left", "right")}
    report.add_numbers(_steps_numbers(analysis, label), table="steps")
    report.add_table(_condition_table(analysis, n, kind, where), "Recording and gait", section=section,
                     caption="Complete steps: the whole footprint on the mat and the whole contact recorded; "
                             "only they enter the statistics.")  # fmt: skip
    if analysis.sizes["step"] == 0:
        report.add_note(f"{label}: no foot contact was found in the recording, so it has no maps or statistics.")
    elif n["left"] + n["right"] == 0:
        report.add_note(f"{label}: {_why_incomplete(analysis, attrs)}")
        if trial is not None and _static_stance(analysis):
            _balance(report, trial, label, section)
    else:
        missing = [s for s in ("left", "right") if not n[s]]
        if missing:
            report.add_note(f"{label}: {_missing_side(analysis, attrs, missing[0])}")
    sensors = analysis.attrs.get("map_layout") == "sensor"
    figures = [
        ("Footprints", "walk_footprints", (analysis,), {},
         "Every foot contact on the mat, numbered in time; left and right outlined in their colours, "
         "incomplete steps dashed."),
    ] if not sensors else [
        ("Insoles: peak pressure per sensor", "sensor_map", (analysis,), {},
         "Both insoles, each sensor drawn with its true outline and coloured by its peak pressure, the mean over "
         "the complete steps of its insole."),
    ]  # fmt: skip
    if sensors:
        report.add_note(f"{label}: insoles have no line of progression: step length and width, foot angle, walking "
                        "speed and the gait line in walking coordinates (butterfly) are n/a (insoles).")
    for side in ("left", "right"):
        if n[side] and not sensors:  # the insoles' map shows both sides
            figures.append((f"Peak pressure, mean {side} step", "peak_pressure_map", (analysis,),
                            dict(side=side),
                            f"Map: the mean of the {n[side]} complete {side} steps' peak-pressure maps, aligned on "
                            "the heel centre and foot axis (resampling and averaging lower the highest cell); the "
                            "tables give the mean of each step's peak value, stated under the map's title too. "
                            "Region outlines and the mean centre-of-pressure path (gait line)."))  # fmt: skip
    if n["left"] + n["right"]:
        figures += [
            ("Force curves", "force_curves", (analysis,), {},
             "Force under each region over stance (0-100 %), mean and SD of complete steps, per side."),
        ]  # fmt: skip
        if not sensors:
            figures.append(("Gait line and butterfly", "butterfly", (analysis,), {},
                            "Centre-of-pressure path of every complete step in foot coordinates, and of both feet "
                            "together relative to the walker's progression."))  # fmt: skip
    if trial is not None and animation:
        figures.append(("Pressure frames", "pressure_animation", (trial,), dict(ANIMATION, check=given),
                        "The recording as it was measured; press play or drag the slider (frames thinned in time)."))
    for title, name, args, kwargs, caption in figures:
        _figure(report, section, title, name, args, kwargs, caption)
    return analysis


def _static_stance(analysis):
    """Whether every contact lasts the whole recording, of 2 s or more: someone standing, not walking."""
    n_frames = int(analysis.sizes.get("time", 0))
    frame_on = analysis["frame_on"].values if "frame_on" in analysis else np.array([])
    count = analysis["frame_count"].values if "frame_count" in analysis else np.array([])
    rate = float(analysis.attrs.get("sampling_rate_hz", 0) or 0)
    whole = n_frames and len(frame_on) and bool(np.all(frame_on == 0)) and bool(np.all(frame_on + count >= n_frames))
    return bool(whole and rate and n_frames / rate >= 2.0)


def _balance(report, trial, label, section):
    """The standing-balance section of a static stance, or a note saying why it cannot be measured."""
    from ..balance import balance
    from ._balance import balance_section

    try:
        result = balance(trial)
    except ValueError as exc:
        report.add_note(f"{label}: no standing balance either: {exc}")
        return
    html, fig = balance_section(result)
    report.add_html(html, "Standing balance: load and sway", section=section)
    report.add_figure(fig, "Centre-of-pressure sway", section=section,
                      caption="The centre of pressure over the standing window, with its 95 % prediction ellipse.")


def _why_incomplete(analysis, attrs):
    """Why no step is complete, and what to do about it (one or two sentences)."""
    n_frames = int(analysis.sizes.get("time", 0))
    frame_on = analysis["frame_on"].values if "frame_on" in analysis else np.array([])
    count = analysis["frame_count"].values if "frame_count" in analysis else np.array([])
    rate = float(analysis.attrs.get("sampling_rate_hz", 0) or 0)
    cut_in_time = n_frames and len(frame_on) and bool(np.all((frame_on == 0) | (frame_on + count >= n_frames)))
    if _static_stance(analysis):
        return (f"the foot is on the sensor for the whole recording ({n_frames / rate:.0f} s): a static stance, "
                "not walking, so no step begins and ends in it and its tables are empty; its standing balance "
                "(load and sway, plantar.balance) follows.")  # fmt: skip
    if cut_in_time:
        advice = ("If the file is one contact cut out by the plate's software, read it with layout=\"window\" "
                  "(plantar.make_trial(..., layout=\"window\")) so that the contact counts as complete; "
                  "otherwise record from before the foot lands until after it lifts.")  # fmt: skip
        return ("every contact is cut by the start or the end of the recording, so no step is complete and its "
                "maps, curves and statistics are left out. " + advice)
    return ("every footprint was cut by the edge of the mat or the recording, so no step is complete and its "
            "maps, curves and statistics are left out; have the walker cross the middle of the mat.")


def _missing_side(analysis, attrs, side):
    """What is said once when one foot has no complete step."""
    recorded = set(analysis["side"].values.astype(str).tolist()) & {"left", "right"}
    one_foot = attrs.get("side") in ("left", "right") or recorded <= {("right" if side == "left" else "left")}
    what = "insole" if attrs.get("layout") == "insole" else "foot"
    if one_foot:
        return (f"only the {'right' if side == 'left' else 'left'} {what} was recorded, so the {side} foot and "
                "left/right symmetry are left out of its tables and figures.")  # fmt: skip
    return f"no complete {side} step (every {side} footprint was cut), so the {side} foot is left out of its tables."


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


def add_summary(report, *, baseline=None, target_kpa=None, targets=None):
    """Add regional loading, left/right offloading, the comparisons and the plain-language summary."""
    if not report.conditions:
        report.add_note("No trial was added, so there is nothing to summarise.")
        return None
    labels = list(report.conditions)
    plan = plan_comparisons(report.conditions, baseline=baseline, target_kpa=target_kpa, targets=targets)
    goal, source, pairs, comparisons = plan["goal"], plan["source"], plan["pairs"], plan["comparisons"]
    first, baselines, sides, analyses = plan["first"], plan["baselines"], plan["sides"], plan["analyses"]
    report.targets, report.pairs = plan["targets"], pairs
    if pairs:
        report.meta["Comparisons"] = "; ".join(f"{label} vs {base}" for label, base in pairs)
    report.meta["Targets"] = _target_summary(report.targets)
    _note_different_mats(report, analyses)
    comparison = comparisons[first]
    report.comparison, report.comparisons = comparison, comparisons
    report.add_numbers(_tidy_comparison(comparisons, pairs), table="comparison")

    section = "Regional loading"
    for side in sides:
        frame, flags = _loading_table(comparison, side, goal)
        report.add_table(frame, f"{side.capitalize()} foot", section=section, flags=flags,
                         caption="Mean ± SD of each complete step's peak pressure (n steps); PTI: pressure-time "
                                 "integral; load: share of the whole foot's force-time integral. "
                                 + _target_caption(report.targets))  # fmt: skip
    both = [k for k in labels if all(_n_complete(analyses[k], s) for s in ("left", "right"))]
    if both:
        report.add_numbers(_tidy_symmetry({k: analyses[k] for k in both}), table="offloading")
        report.add_table(_symmetry_table({k: analyses[k] for k in both}), "Left/right offloading", section=section,
                         caption="Symmetry index SI = (right - left) / mean of both x 100 % of the force-time "
                                 "integral; negative: the right foot carries less.")  # fmt: skip
        shown = first if first in both else both[0]
        _figure(report, section, f"Left and right, peak pressure ({shown})", "symmetry_bars",
                (analyses[shown],), {"metric": "peak_pressure"},
                "Mean ± SD of complete steps per region and side, with the symmetry index.")

    if len(labels) < 2:
        report.add_note("Only one condition was given, so there is no comparison between conditions.")
    else:
        section = "Comparison"
        for label, base in pairs:
            c = comparisons[base]
            ready = [s for s in sides if _n_complete(analyses[label], s) and _n_complete(analyses[base], s)]
            for metric in TABLE_METRICS:
                frame, classes = _comparison_table(c, label, base, metric, ready)
                if len(frame):
                    unit = str(c["metric_units"].sel(metric=metric).values)
                    report.add_html(_html.table(frame, classes=classes),
                                    f"{label} vs {base}: {_METRIC_WORDS[metric]} ({unit})", section=section)
        report.add_html(
            '<p class="caption">Difference = condition minus baseline, with its 95 % confidence interval '
            "(Welch). Beyond noise: the interval excludes 0 and the change exceeds the minimal detectable "
            "change MDC95 = 1.96 x sqrt(2) x SEM from this patient's own step-to-step variability "
            "(Weir 2005). g: Hedges' effect size.</p>", "How to read the comparison", section=section)  # fmt: skip
        for base in baselines:
            group = [base] + [k for k, b in pairs if b == base]
            if len(group) < 2:
                continue
            for side in sides:
                ready = [k for k in group if _n_complete(analyses[k], side)]
                if base in ready and len(ready) > 1:
                    _figure(report, section, f"{side.capitalize()} foot: mean peak pressure, "
                                             f"{', '.join(ready[1:])} vs {base}",
                            "compare_maps", ({k: analyses[k] for k in ready},),
                            dict(baseline=base, side=side, comparison=comparisons[base]),
                            "Feet aligned on heel centre and foot axis; same colour scale. Maps: mean of the "
                            "steps' aligned peak-pressure maps. Difference maps: condition minus baseline; regions "
                            "whose peak pressure changed beyond noise are marked.")  # fmt: skip
    report.summary[:] = _sentences(comparisons, pairs, analyses, goal, source, sides)
    return comparison


def plan_comparisons(conditions, *, baseline=None, target_kpa=None, targets=None):
    """What the loading report compares and against which targets: pairs, comparisons, targets, sides.

    The one place that decides, for the report and the clinic app alike, which
    condition is compared with which (a shoe with barefoot, each orthotic with
    its shoe, or all with ``baseline``), the comparisons
    (:func:`plantar.compare.compare`, with their verdicts beyond or within
    step-to-step noise) and each condition's peak-pressure target.

    Parameters
    ----------
    conditions : dict of str to dict
        Per condition label, in order: ``analysis`` (its :func:`plantar.analyze`
        result), ``kind`` (``"barefoot"``, ``"shod"``, ``"orthotic"`` or None)
        and ``measurement`` (``"in-shoe"`` or ``"platform"``).
    baseline : str | None
        Compare every condition with this one; default by kind.
    target_kpa : float | None
        One target for every condition, kPa; default by measurement and kind.
    targets : dict | None
        Targets per kind, kPa or None (see :meth:`Report.add_summary`).

    Returns
    -------
    plan : dict
        ``pairs`` ([(condition, baseline)]), ``comparisons`` ({baseline:
        comparison}), ``first`` (the baseline of the first pair, or the first
        condition), ``baselines`` (in order), ``goal`` ({label: target kPa or
        None}), ``source`` ({label: where the target comes from}), ``targets``
        ({label: dict(target_kpa, source, kind, measurement)}), ``sides`` (the
        sides with a complete step in some condition) and ``analyses``
        ({label: analysis}).

    Examples
    --------
    >>> import plantar
    >>> from plantar.report._loading import plan_comparisons
    >>> walks = plantar.datasets.demo_walks(passes=2)
    >>> conditions = {k: dict(analysis=plantar.analyze(t), kind=k, measurement="platform")
    ...               for k, (t, _) in walks.items()}
    >>> plan = plan_comparisons(conditions)
    >>> plan["pairs"], plan["goal"]["orthotic"]
    ([('shod', 'barefoot'), ('orthotic', 'shod')], None)
    >>> verdict = plan["comparisons"]["shod"]["verdict"].sel(condition="orthotic", side="right", region="total",
    ...                                                      metric="peak_pressure")
    >>> str(verdict.values) in ("beyond noise", "within noise")
    True
    """
    from ..compare import compare

    labels = list(conditions)
    if baseline is not None and baseline not in labels:
        raise ValueError(f"baseline must be one of the conditions {labels}, got {baseline!r}")
    table, sources = resolve_targets(targets, target_kpa)
    info = conditions
    goal = {k: table[(info[k]["measurement"], info[k]["kind"])] for k in labels}
    source = {k: sources[(info[k]["measurement"], info[k]["kind"])] for k in labels}
    chosen = {k: dict(target_kpa=goal[k], source=source[k], kind=info[k]["kind"],
                      measurement=info[k]["measurement"]) for k in labels}  # fmt: skip
    if baseline is not None:
        pairs = [(k, baseline) for k in labels if k != baseline]
    else:
        pairs = default_pairs({k: info[k]["kind"] for k in labels})
    analyses = {label: info[label]["analysis"] for label in labels}
    first = pairs[0][1] if pairs else labels[0]
    baselines = list(dict.fromkeys([first] + [b for _, b in pairs]))
    comparisons = {b: compare(analyses, baseline=b) for b in baselines}
    sides = [s for s in ("left", "right") if any(_n_complete(a, s) for a in analyses.values())]
    return dict(pairs=pairs, comparisons=comparisons, first=first, baselines=baselines, goal=goal, source=source,
                targets=chosen, sides=sides, analyses=analyses)


def _target_summary(targets):
    """The targets in a few words for the header: "shod, orthotic: 200 kPa; barefoot: none"."""
    groups = {}
    for label, t in targets.items():
        groups.setdefault(t["target_kpa"], []).append(label)
    return "; ".join(f"{', '.join(labels)}: " + ("none" if value is None else f"{value:g} kPa")
                     for value, labels in groups.items())  # fmt: skip


def _target_caption(targets):
    """Which target applies to which condition, with its source; or why none does."""
    groups = {}
    for label, t in targets.items():
        groups.setdefault((t["target_kpa"], t["source"]), []).append(label)
    parts = []
    for (value, source), labels in groups.items():
        names = ", ".join(labels)
        if value is None:
            parts.append(f"{names}: no target (the 200 kPa criterion of Owings et al. 2009 is for in-shoe "
                         "measurements; no published barefoot or shoe-on-plate threshold transfers between "
                         "devices)")  # fmt: skip
        else:
            parts.append(f"{names}: flagged above {value:g} kPa ({source})")
    return "Targets: " + "; ".join(parts) + "."


# -- tables -----------------------------------------------------------------------------------------
def _fmt(value, digits=0):
    return "-" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def _condition_table(analysis, n, kind, where):
    a = analysis.attrs
    stance = analysis["stance_time"].values[analysis["complete"].values] if analysis.sizes["step"] else []
    rows = {
        "condition kind": f"{kind or 'not stated'} ({where} measurement)",
        "foot contacts": f"{analysis.sizes['step']}",
        "complete steps (left / right)": f"{n['left']} / {n['right']}",
        "cadence (steps/min)": _fmt(a.get("cadence_steps_per_min", np.nan)),
        "walking speed (m/s)": (_fmt(a.get("walking_speed_m_s", np.nan), 2) if a.get("map_layout") != "sensor"
                                else NOT_APPLICABLE_NOTE),
        "stance time (s)": _fmt(np.mean(stance), 2) if len(stance) else "-",
        "device": a.get("device", "") or "-",
        "calibration": a.get("calibration_id", "") or "none stated",
        "sensor pitch (mm)": (f"{a.get('sensor_pitch_x_mm', 0):g} x {a.get('sensor_pitch_y_mm', 0):g}"
                              if a.get("map_layout") != "sensor"
                              else f"{NOT_APPLICABLE_NOTE}: {analysis.sizes.get('sensor', 0)} sensors"),
        "frame rate (Hz)": f"{a.get('sampling_rate_hz', 0):g}",
    }
    frame = pd.DataFrame({"value": list(rows.values())}, index=pd.Index(list(rows), name=""))
    return frame


def _loading_table(comparison, side, goal):
    """Regional loading of one side: the conditions that have complete steps of it, flagged above their target."""
    columns, flags = {}, []
    c = comparison.sel(side=side)
    mean, sd, n = c["mean"].values, c["sd"].values, c["n"].values  # (condition, region, metric)
    metrics = c.metric.values.tolist()
    peak, pti, load = (metrics.index(m) for m in ("peak_pressure", "pressure_time_integral", "relative_load"))
    total = comparison.region.values.tolist().index("total")
    for k, label in enumerate(comparison.condition.values.tolist()):
        if n[k, total, peak] == 0:
            continue
        columns[f"{label}: peak (kPa)"] = [f"{_fmt(m)} ± {_fmt(s)} ({int(j)})"
                                           for m, s, j in zip(mean[k, :, peak], sd[k, :, peak], n[k, :, peak])]
        target = goal.get(label)
        flags.append(mean[k, :, peak] > target if target is not None else np.zeros(len(mean[k]), bool))
        columns[f"{label}: PTI (kPa s)"] = [_fmt(v, 1) for v in mean[k, :, pti]]
        columns[f"{label}: load (%)"] = [_fmt(v, 1) for v in mean[k, :, load]]
    regions = comparison.region.values.tolist()
    frame = pd.DataFrame(columns, index=pd.Index([REGION_NAMES.get(r, r) for r in regions], name="region"))
    mask = np.zeros(frame.shape, dtype=bool)
    for k, flag in enumerate(flags):
        mask[:, 3 * k] = flag
    return frame, mask


def _symmetry_table(analyses):
    columns = {}
    for label, analysis in analyses.items():
        o = offloading(analysis)
        columns[f"{label}: left (N s)"] = [_fmt(v, 1) for v in o["left_mean"].values]
        columns[f"{label}: right (N s)"] = [_fmt(v, 1) for v in o["right_mean"].values]
        columns[f"{label}: SI (%)"] = [_fmt(v, 1) for v in o["symmetry_index"].values]
    regions = next(iter(analyses.values())).region.values.tolist()
    return pd.DataFrame(columns, index=pd.Index([REGION_NAMES.get(r, r) for r in regions], name="region"))


def _comparison_table(comparison, label, baseline, metric, sides):
    """One metric of one condition against its baseline: a row per side and region, narrow enough to print."""
    rows, classes, index = [], {}, []
    regions = comparison.region.values.tolist()
    if not sides:
        return pd.DataFrame(), classes
    names = ("mean", "diff", "ci_low", "ci_high", "diff_pct", "hedges_g", "mdc", "verdict", "beyond_noise")
    c = comparison.sel(condition=label, metric=metric, side=list(sides)).transpose("side", "region")
    v = {name: c[name].values for name in names}
    b = comparison["mean"].sel(condition=baseline, metric=metric, side=list(sides)).transpose("side", "region").values
    digits = 0 if str(comparison["metric_units"].sel(metric=metric).values) == "kPa" else 1
    for i, side in enumerate(sides):
        for j, region in enumerate(regions):
            row = {
                baseline: _fmt(float(b[i, j]), digits),
                label: _fmt(float(v["mean"][i, j]), digits),
                "difference [95 % CI]": (f"{_fmt(float(v['diff'][i, j]), digits)} "
                                         f"[{_fmt(float(v['ci_low'][i, j]), digits)}, "
                                         f"{_fmt(float(v['ci_high'][i, j]), digits)}]"),  # fmt: skip
                "%": _fmt(float(v["diff_pct"][i, j])),
                "g": _fmt(float(v["hedges_g"][i, j]), 1),
                "MDC": _fmt(float(v["mdc"][i, j]), digits),
                "verdict": str(v["verdict"][i, j]),
            }
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


#: Statistics of one condition alone, and of a condition against its baseline.
_DESCRIPTIVE = ("mean", "sd", "n")
_PAIRED = ("diff", "diff_pct", "ci_low", "ci_high", "p_value", "hedges_g", "sem", "mdc")


def _tidy_comparison(comparisons, pairs):
    """Each condition's mean, SD and n once; each pair's difference statistics with its baseline named."""
    first = next(iter(comparisons.values()))
    frames = [_long(first, list(first.condition.values), _DESCRIPTIVE, "")]
    for label, base in pairs:
        frames.append(_long(comparisons[base], [label], _PAIRED + ("beyond_noise",), base))
    return pd.concat(frames, ignore_index=True)


def _long(comparison, labels, names, baseline):
    """Variables ``names`` of ``labels`` as tidy rows, with numpy (no pandas melt)."""
    c = comparison.sel(condition=labels)
    shape = c["mean"].shape  # condition, side, region, metric
    grid = np.meshgrid(*(np.asarray(c[d].values, dtype=object) for d in ("condition", "side", "region", "metric")),
                       indexing="ij")  # fmt: skip
    units = np.broadcast_to(np.asarray(c["metric_units"].values, dtype=object), shape).ravel()
    frames = []
    for name in names:
        values = c[name].values.astype(float).ravel()
        if name == "beyond_noise":
            enough = np.isin(c["verdict"].values, ("beyond noise", "within noise")).ravel()
            values = np.where(enough, values, np.nan)
            unit = np.full(values.size, "1 = beyond noise, 0 = within noise", dtype=object)
        elif name in ("n",):
            unit = np.full(values.size, "1", dtype=object)
        elif name in ("diff_pct",):
            unit = np.full(values.size, "%", dtype=object)
        elif name in ("p_value", "hedges_g"):
            unit = np.full(values.size, "1", dtype=object)
        else:
            unit = units
        frames.append(pd.DataFrame({"condition": grid[0].ravel(), "baseline": baseline, "side": grid[1].ravel(),
                                    "region": grid[2].ravel(), "metric": grid[3].ravel(), "statistic": name,
                                    "value": values, "units": unit}))  # fmt: skip
    return pd.concat(frames, ignore_index=True)


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
def _sentences(comparisons, pairs, analyses, goal, source, sides):
    """The summary: per comparison and side, the regions above target and what became of them, then the
    other changes beyond noise, largest first; then each condition against its target; then left/right."""
    out = []
    for label, base in pairs:
        comparison = comparisons[base]
        for side in sides:
            c = comparison.sel(condition=label, side=side, metric="peak_pressure")
            b = comparison.sel(condition=base, side=side, metric="peak_pressure")
            prefix = f"{side.capitalize()} foot, {label} vs {base}: "
            if int(b["n"].sel(region="total")) < 2 or int(c["n"].sel(region="total")) < 2:
                out.append(prefix + "too few complete steps to compare.")
                continue
            rows = {r: (float(b["mean"].sel(region=r)), float(c["mean"].sel(region=r)),
                        float(c["diff"].sel(region=r)), float(c["diff_pct"].sel(region=r)),
                        bool(c["beyond_noise"].sel(region=r))) for r in SUMMARY_REGIONS}  # fmt: skip
            limits = [t for t in (goal.get(base), goal.get(label)) if t is not None]
            above = [r for r in SUMMARY_REGIONS if limits and max(rows[r][0], rows[r][1]) > min(limits)]
            above.sort(key=lambda r: -max(rows[r][0], rows[r][1]))
            parts = []
            if above:
                limit = min(limits)
                said = []
                for r in above:
                    before, after, _, pct, beyond = rows[r]
                    verdict = "beyond noise" if beyond else "within noise"
                    where = ("now below the target" if after <= limit < before else
                             "still above" if after > limit and before > limit else
                             "now above the target" if after > limit >= before else "")  # fmt: skip
                    said.append(f"{REGION_NAMES[r]} {before:.0f} → {after:.0f} kPa ({pct:+.0f} %, {verdict}"
                                + (f", {where}" if where else "") + ")")
                parts.append(f"above the {limit:g} kPa target: peak pressure " + ", ".join(said))
            others = [r for r in SUMMARY_REGIONS if rows[r][4] and r not in above]
            others.sort(key=lambda r: -abs(rows[r][2]))
            if others:
                said = [f"{REGION_NAMES[r]} {rows[r][0]:.0f} → {rows[r][1]:.0f} kPa ({rows[r][3]:+.0f} %)"
                        for r in others[:3]]  # fmt: skip
                more = f" and {len(others) - 3} more" if len(others) > 3 else ""
                lead = "other changes beyond noise, largest first: " if above else "peak pressure "
                parts.append(lead + ", ".join(said) + more + (", beyond noise" if not above else ""))
            elif not above:
                parts.append("no region's peak pressure changed beyond step-to-step noise")
            out.append(prefix + "; ".join(parts) + ".")
    for label, analysis in analyses.items():
        target = goal.get(label)
        if target is None:
            continue
        high = []
        for side in sides:
            if not _n_complete(analysis, side):
                continue
            mean = comparisons[next(iter(comparisons))]["mean"].sel(condition=label, side=side, metric="peak_pressure")
            for r in SUMMARY_REGIONS:
                v = float(mean.sel(region=r))
                if np.isfinite(v) and v > target:
                    high.append((f"{side} {REGION_NAMES[r]}", v))
        if high:
            high.sort(key=lambda a: -a[1])
            out.append(f"{label}: mean peak pressure above the {target:g} kPa target under the "
                       + ", ".join(f"{name} ({v:.0f} kPa)" for name, v in high) + f" ({source[label]}).")
        elif any(_n_complete(analysis, s) for s in sides):
            out.append(f"{label}: no region's mean peak pressure is above the {target:g} kPa target.")
    for label, analysis in analyses.items():
        if not all(_n_complete(analysis, s) for s in ("left", "right")):
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
    report.meta["Conditions"] = ", ".join(
        label if (c["kind"] or "") in ("", label) else f"{label} ({c['kind']})" for label, c in report.conditions.items())


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
