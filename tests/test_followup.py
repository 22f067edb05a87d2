"""plantar.followup against the synthetic walker's truth: changes found with their sign and size, a patient
who does not change is not called changed, the error model's numbers from the trials themselves."""

import datetime

import numpy as np
import pytest

import plantar
from plantar.followup import PUBLISHED_ERROR, STRUCTURAL_NOTE, VERDICTS

#: A walkway long enough for two to three complete steps of each side per pass, two passes a walk; coarse
#: enough in space and time to be fast.
MAT = dict(mat_length_mm=3000, mat_width_mm=400, pitch_mm=10, passes=2, rate_hz=50)
WEEKS = (0.0, 6.0, 12.0)


def _records(visits, condition="barefoot"):
    return [{"visit": k + 1, "weeks": v["weeks"], "condition": condition,
             "analysis": plantar.analyze(trial, verbose="error")}
            for k, v in enumerate(visits) for trial in v["trials"]]  # fmt: skip


def _row(result, visit, side, region, metric, condition="barefoot"):
    rows = result.visits.query("visit == @visit and side == @side and region == @region and metric == @metric "
                               "and condition == @condition")  # fmt: skip
    assert len(rows) == 1
    return rows.iloc[0]


@pytest.fixture(scope="module")
def heel():
    """A right heel offload easing from 30 % to 10 % over 12 weeks, two walks per visit."""
    visits = plantar.synth.visits(seed=11, weeks=WEEKS, offload={"right_heel": (0.3, 0.1)}, trials_per_visit=2, **MAT)
    return visits, plantar.followup(_records(visits))


@pytest.mark.parametrize("metric", ["relative_load", "force_time_integral"])
def test_a_changing_heel_is_found_with_its_sign_and_size(heel, metric):
    visits, result = heel
    truth = [plantar.synth.visit_truth(v["truths"], metric).sel(side="right", region="heel").item() for v in visits]
    for k in (2, 3):
        row = _row(result, k, "right", "heel", metric)
        true_change, true_step = truth[k - 1] - truth[0], truth[k - 1] - truth[k - 2]
        assert np.sign(row["change_first"]) == np.sign(true_change) == 1
        assert row["change_first"] == pytest.approx(true_change, rel=0.15)
        assert row["change_previous"] == pytest.approx(true_step, rel=0.15)
        assert row["change_first_low"] < row["change_first"] < row["change_first_high"]
    assert _row(result, 3, "right", "heel", metric)["verdict_first"] == VERDICTS[0]
    # The trend per week: the truth's from the first to the last visit, within 15 %.
    trend = result.trend.query("side == 'right' and region == 'heel' and metric == @metric").iloc[0]
    assert trend["slope_per_week"] == pytest.approx((truth[2] - truth[0]) / 12.0, rel=0.15)
    assert trend["slope_low"] > 0 and trend["visits"] == 3


def test_the_unchanged_foot_is_not_called_changed(heel):
    _, result = heel
    left = result.visits.query("side == 'left'")
    assert (left["verdict_first"] != VERDICTS[0]).all() and (left["verdict_previous"] != VERDICTS[0]).all()


def test_an_orthotic_metatarsal_offload_appearing_is_found():
    visits = plantar.synth.visits(seed=5, weeks=(0.0, 8.0), offload={"right_metatarsal_heads": (0.0, 0.3)},
                                  trials_per_visit=2, **MAT)  # fmt: skip
    result = plantar.followup(_records(visits, "orthotic A"))
    truth = [plantar.synth.visit_truth(v["truths"]).sel(side="right", region="metatarsal_heads").item() for v in visits]
    row = _row(result, 2, "right", "metatarsal_heads", "relative_load", condition="orthotic A")
    assert row["change_first"] < 0
    assert row["change_first"] == pytest.approx(truth[1] - truth[0], rel=0.15)
    assert row["verdict_first"] == VERDICTS[0]
    assert result.trend.empty  # two visits: no trend


def test_a_patient_who_does_not_change_is_not_called_changed_in_19_of_20_seeds():
    called = []
    for seed in range(20):
        visits = plantar.synth.visits(seed=seed, weeks=WEEKS, trials_per_visit=2, **MAT)
        result = plantar.followup(_records(visits))
        if not (result.changed("first").empty and result.changed("previous").empty):
            called.append(seed)
        # Every change was judged against an error estimate (the first visit and missing data have no verdict).
        assert result.visits["verdict_first"].isin([*VERDICTS[:2], "", VERDICTS[3]]).all()
    assert len(called) <= 1, f"seeds called changed: {called}"


def test_the_error_model_from_repeated_trials_matches_the_trials_themselves(heel):
    """Visit means, SEM, confidence intervals and thresholds recomputed from each trial's per-step table."""
    from scipy import stats

    visits, result = heel
    tables = [[plantar.to_table(plantar.analyze(trial, verbose="error")) for trial in v["trials"]] for v in visits]

    def measure(side, region, metric):
        """Per visit, per trial: the finite values of the complete steps of the side."""
        out = []
        for visit in tables:
            rows = []
            for table in visit:
                x = table.query("complete and side == @side and region == @region and metric == @metric")["value"]
                rows.append(x[np.isfinite(x)].to_numpy())
            out.append([x for x in rows if x.size])
        return out

    def parts(m):
        """Pooled step variance and its df; squared deviations of trial means and their expectation / phi s^2."""
        df = sum(x.size - 1 for v in m for x in v if x.size > 1)
        step_var = sum(((x - x.mean()) ** 2).sum() for v in m for x in v if x.size > 1) / df
        ss = sum(((np.array([x.mean() for x in v]) - np.mean([x.mean() for x in v])) ** 2).sum() for v in m)
        expected = sum((1 - 1 / len(v)) * sum(1 / x.size for x in v) for v in m if len(v) > 1)
        return step_var, df, ss, expected

    # The inflation of trial-to-trial over step-to-step scatter, pooled over every measure followed.
    ratio = expected = 0.0
    measures = result.visits.query("side != 'both'")[["side", "region", "metric"]].drop_duplicates()
    for side, region, metric in measures.itertuples(index=False):  # cadence and speed have no step variance
        with np.errstate(invalid="ignore", divide="ignore"):
            step_var, df, ss, e = parts(measure(side, region, metric))
        if df > 0 and step_var > 0 and np.isfinite(ss):
            ratio, expected = ratio + ss / step_var, expected + e
    inflation = max(1.0, ratio / expected)
    m = measure("right", "heel", "peak_pressure")
    step_var, df, _, _ = parts(m)
    unit = inflation * step_var
    se = [np.sqrt(unit * sum(1 / x.size for x in v)) / len(v) for v in m]
    for k, visit in enumerate(m, start=1):
        row = _row(result, k, "right", "heel", "peak_pressure")
        mean = np.mean([x.mean() for x in visit])
        assert row["mean"] == pytest.approx(mean, rel=1e-12)
        assert row["error_df"] == df and row["se"] == pytest.approx(se[k - 1], rel=1e-9)
        assert row["sem"] == pytest.approx(np.sqrt(unit * np.mean([1 / x.size for v in m for x in v])), rel=1e-9)
        half = stats.t.ppf(0.975, df) * se[k - 1]
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((mean - half, mean + half))
    last = _row(result, 3, "right", "heel", "peak_pressure")
    se_change = np.hypot(se[2], se[0])
    assert last["mdc_first"] == pytest.approx(stats.t.ppf(0.975, df) * se_change)
    k = result.comparisons["first"] + result.comparisons["previous"]
    assert last["threshold_first"] == pytest.approx(stats.t.ppf(1 - 0.05 / (2 * k), df) * se_change)
    second = _row(result, 2, "right", "heel", "peak_pressure")
    assert last["change_previous"] == pytest.approx(last["mean"] - second["mean"])


def test_published_error_is_used_without_repeated_trials_and_said_so():
    visits = plantar.synth.visits(seed=2, weeks=(0.0, 6.0), trials_per_visit=1, **MAT)
    result = plantar.followup(_records(visits))
    cv = {(m, r if isinstance(r, str) else r[0]): value for m, r, value, _ in PUBLISHED_ERROR}
    first = _row(result, 1, "right", "heel", "peak_pressure")
    assert first["error_source"].startswith("published: Cousins et al. 2012")
    assert first["sem"] == pytest.approx(cv[("peak_pressure", "*")] / 100 * first["mean"])
    toes = _row(result, 2, "left", "lesser_toes", "peak_pressure")
    assert toes["sem"] == pytest.approx(0.28 * _row(result, 1, "left", "lesser_toes", "peak_pressure")["mean"])
    # MDC95 of one trial per visit is the familiar 1.96 x sqrt(2) x SEM.
    second = _row(result, 2, "right", "heel", "peak_pressure")
    assert second["mdc_first"] == pytest.approx(1.959964 * np.sqrt(2) * first["sem"], rel=1e-6)
    # Relative load has no published between-session value: its change is not judged.
    assert _row(result, 2, "right", "heel", "relative_load")["verdict_first"] == VERDICTS[2]
    assert _row(result, 2, "right", "heel", "relative_load")["error_source"] == "none"
    # Cadence and walking speed: one value a trial, both feet; no published value either.
    records = _records(visits)
    for metric in ("cadence_steps_per_min", "walking_speed_m_s"):
        row = _row(result, 2, "both", "", metric)
        assert row["mean"] == records[1]["analysis"].attrs[metric] and row["verdict_first"] == VERDICTS[2]


def test_dates_give_weeks_and_an_early_follow_up_gets_its_note():
    visits = plantar.synth.visits(seed=4, weeks=(0.0, 2.0, 9.0), trials_per_visit=1, **MAT)
    first = datetime.date(2024, 3, 1)
    records = [dict(r, date=first + datetime.timedelta(weeks=r.pop("weeks"))) for r in _records(visits)]
    result = plantar.followup(records)
    timeline = result.visits.drop_duplicates("visit").set_index("visit")
    assert timeline["weeks"].tolist() == [0.0, 2.0, 9.0]
    assert timeline["date"].tolist() == [first + datetime.timedelta(weeks=w) for w in (0, 2, 9)]
    assert timeline["note"].tolist() == ["", STRUCTURAL_NOTE, ""]
    assert len(result.notes) == 1 and "visit 2 is 2.0 weeks after the first" in result.notes[0]


def test_bad_input_is_refused_in_one_line():
    trial, _ = plantar.synth.walk(seed=0, passes=1, mat_length_mm=1200)
    analysis = plantar.analyze(trial, verbose="error")
    with pytest.raises(ValueError, match="trial 0 needs the keys .* it lacks \\['condition'\\]"):
        plantar.followup([{"visit": 1, "weeks": 0, "analysis": analysis}])
    with pytest.raises(ValueError, match="not a mix"):
        plantar.followup([{"visit": 1, "weeks": 0, "condition": "b", "analysis": analysis},
                          {"visit": 2, "date": "2024-03-01", "condition": "b", "analysis": analysis}])  # fmt: skip
    with pytest.raises(ValueError, match="must come from plantar.analyze"):
        plantar.followup([{"visit": 1, "weeks": 0, "condition": "b", "analysis": trial}])
    with pytest.raises(ValueError, match="at least one"):
        plantar.followup([])
