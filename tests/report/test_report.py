"""The loading report: contents checked against the analysis, the comparison and the synthetic truth."""

import json
import re

import numpy as np
import pandas as pd
import pytest

import plantar
from plantar.compare import compare
from plantar.report import NUMBER_COLUMNS, Report, write_report


@pytest.fixture(scope="module")
def demo():
    walks = plantar.datasets.demo_walks(seed=0, passes=4)
    return {label: trial for label, (trial, _) in walks.items()}


@pytest.fixture(scope="module")
def written(demo, tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "report.html"
    paths = write_report(demo, out, verbose="error")
    return paths, out.read_text(encoding="utf-8")


def test_files_are_written_beside_each_other(written):
    paths, _ = written
    assert sorted(paths) == ["csv", "html", "json"]
    for path in paths.values():
        assert path.exists() and path.stat().st_size > 0
    assert paths["csv"].with_suffix(".html") == paths["html"] == paths["json"].with_suffix(".html")


def test_plotly_is_embedded_once_and_every_figure_is_placed(written):
    _, html = written
    assert len(re.findall(r"\* plotly\.js v\d", html)) == 1          # the library's banner, once
    assert re.search(r"<(script|link)[^>]+(src|href)=", html) is None   # nothing fetched: works offline
    divs = re.findall(r'id="(figure-\d+)"', html)
    calls = re.findall(r'Plotly\.newPlot\(\s*"(figure-\d+)"', html)
    assert len(divs) >= 12 and sorted(set(divs)) == sorted(set(calls))


def test_normal_conditions_give_no_notes(written):
    paths, html = written
    report = json.loads(paths["json"].read_text())
    assert report["notes"] == []
    assert 'class="note"' not in html


def test_header_names_subject_device_and_conditions(written, demo):
    paths, html = written
    meta = json.loads(paths["json"].read_text())["meta"]
    assert meta["Conditions"] == "barefoot, shod, orthotic"
    assert meta["Device"] == demo["barefoot"].attrs["device"]
    assert meta["Body mass"] == "70 kg"
    assert "<dt>Subject</dt><dd>demo</dd>" in html
    assert meta["Comparisons"] == "shod vs barefoot; orthotic vs shod"


def test_csv_and_json_hold_the_same_numbers(written):
    paths, _ = written
    csv = pd.read_csv(paths["csv"], keep_default_na=False, na_values=[""])
    assert list(csv.columns) == NUMBER_COLUMNS
    records = json.loads(paths["json"].read_text())["numbers"]
    assert len(records) == len(csv)
    values = np.array([np.nan if r["value"] is None else r["value"] for r in records], float)
    np.testing.assert_allclose(values, csv["value"].to_numpy(float), rtol=1e-12, equal_nan=True)


def test_every_step_number_is_in_the_csv(written, demo):
    paths, _ = written
    csv = pd.read_csv(paths["csv"], keep_default_na=False, na_values=[""])
    steps = csv[(csv["table"] == "steps") & (csv["condition"] == "orthotic")]
    expected = plantar.to_table(plantar.analyze(demo["orthotic"]))
    assert len(steps) == len(expected)
    np.testing.assert_allclose(steps["value"].to_numpy(float), expected["value"].to_numpy(float),
                               rtol=1e-9, equal_nan=True)  # fmt: skip


def test_comparison_numbers_equal_the_comparison(written, demo):
    """Each condition's own numbers once; each pair's difference with the baseline it was compared with."""
    paths, html = written
    csv = pd.read_csv(paths["csv"], keep_default_na=False, na_values=[""])
    csv["baseline"] = csv["baseline"].fillna("")
    analyses = {label: plantar.analyze(trial) for label, trial in demo.items()}
    comparison = compare(analyses, baseline="shod")  # the orthotic is compared with its shoe
    rows = csv[(csv["table"] == "comparison")].set_index(["condition", "baseline", "side", "region", "metric",
                                                          "statistic"])  # fmt: skip
    for statistic in ("mean", "sd", "diff", "ci_low", "ci_high", "hedges_g", "mdc"):
        expected = float(comparison[statistic].sel(condition="orthotic", side="right", region="mth2_3",
                                                   metric="peak_pressure"))  # fmt: skip
        baseline = "" if statistic in ("mean", "sd") else "shod"
        got = rows.loc[("orthotic", baseline, "right", "mth2_3", "peak_pressure", statistic), "value"]
        assert got == pytest.approx(expected, rel=1e-9)
    assert set(rows.xs("diff", level="statistic").index.droplevel([2, 3, 4]).unique()) == {
        ("shod", "barefoot"), ("orthotic", "shod")}
    # every row carries the key and the one display name of its region
    named = csv[csv["region"] == "mth2_3"]["region_name"].unique().tolist()
    assert named == ["2nd-3rd metatarsal heads"]
    # the table shown in the page carries the same numbers, rounded
    mean = float(comparison["mean"].sel(condition="orthotic", side="right", region="metatarsal_heads",
                                        metric="peak_pressure"))  # fmt: skip
    assert f"{mean:.0f}" in html


def test_summary_states_the_orthotic_offloading_the_model_made(demo, tmp_path):
    """Against the same shoe, the orthotic takes 35 % of the load off the right metatarsal heads."""
    paths = write_report({"shod": demo["shod"], "orthotic": demo["orthotic"]}, tmp_path / "r.html",
                         animation=False, verbose="error")  # fmt: skip
    summary = json.loads(paths["json"].read_text())["summary"]
    right = next(s for s in summary if s.startswith("Right foot, orthotic vs shod: peak pressure"))
    # the region the orthotic targets leads: the largest change of the foot
    assert right.startswith("Right foot, orthotic vs shod: peak pressure 2nd-3rd metatarsal heads "), right
    change = re.search(r"(\S*metatarsal heads?) (\d+) → (\d+) kPa \(([-+]\d+) %\)", right)
    assert change is not None, right
    before, after, percent = float(change.group(2)), float(change.group(3)), float(change.group(4))
    assert after < before and -60 < percent < -10, right
    assert percent == pytest.approx(100 * (after - before) / before, abs=1.0)
    left = next(s for s in summary if s.startswith("Left foot, orthotic vs shod"))
    assert "metatarsal" not in left, left  # the orthotic did nothing to the left foot


def test_summary_states_the_offloaded_right_heel(written):
    """The walker offloads the right heel by 30 %: the left/right sentence of every condition says so."""
    paths, _ = written
    summary = json.loads(paths["json"].read_text())["summary"]
    for condition in ("barefoot", "shod"):
        line = next(s for s in summary if s.startswith(f"{condition}, left vs right load"))
        si = float(re.search(r"right heel (\d+) % below the left", line).group(1))
        assert 10 < si < 40, line


def test_target_flags_follow_the_threshold(demo, tmp_path):
    report = Report()
    report.add_trial(demo["barefoot"], animation=False)
    comparison = report.add_summary(target_kpa=300.0)
    html = report.to_html()
    for side in ("left", "right"):
        table = html.split(f"<h3>{side.capitalize()} foot</h3>")[1].split("</table>")[0]
        flagged = re.findall(r'<td class="flag">([\d.]+) ±', table)
        means = comparison["mean"].sel(condition="barefoot", side=side, metric="peak_pressure").values
        assert sorted(float(v) for v in flagged) == sorted(float(f"{m:.0f}") for m in means if m > 300.0)
        assert len(flagged) >= 1


def test_no_plate_step_is_flagged_against_the_in_shoe_criterion(written):
    """The demo walks on a plate: the 200 kPa in-shoe criterion flags nothing, and the page says why."""
    paths, html = written
    assert 'class="flag"' not in html
    assert "criterion of Owings et al. 2009 is for in-shoe measurements" in html
    assert json.loads(paths["json"].read_text())["meta"]["Targets"] == "barefoot, shod, orthotic: none"


def test_in_shoe_recordings_get_the_in_shoe_target(demo):
    """The same walk read as insoles (layout="insole") is flagged above 200 kPa, with its source cited."""
    report = Report()
    insoles, _ = plantar.synth.insoles(seed=0, duration_s=8.0, condition="shod")
    assert insoles.attrs["layout"] == "insole"
    report.add_trial(insoles, label="shod", animation=False)
    comparison = report.add_summary()
    html = report.to_html()
    assert report.targets["shod"]["target_kpa"] == 200.0 and "Owings" in report.targets["shod"]["source"]
    n_flagged = 0
    for side in ("left", "right"):
        table = html.split(f"<h3>{side.capitalize()} foot</h3>")[1].split("</table>")[0]
        flagged = re.findall(r'<td class="flag">([\d.]+) ±', table)
        means = comparison["mean"].sel(condition="shod", side=side, metric="peak_pressure").values
        assert sorted(float(v) for v in flagged) == sorted(float(f"{m:.0f}") for m in means if m > 200.0)
        n_flagged += len(flagged)
    assert n_flagged >= 1


def test_summary_leads_with_the_regions_above_target_and_what_became_of_them(demo, tmp_path):
    """With a 200 kPa target for shoes, the orthotic's summary line starts with the targeted metatarsal heads."""
    paths = write_report({"shod": demo["shod"], "orthotic": demo["orthotic"]}, tmp_path / "r.html",
                         targets={"shod": 200, "orthotic": 200}, animation=False, verbose="error")  # fmt: skip
    summary = json.loads(paths["json"].read_text())["summary"]
    right = next(s for s in summary if s.startswith("Right foot, orthotic vs shod:"))
    assert right.startswith("Right foot, orthotic vs shod: above the 200 kPa target: peak pressure "), right
    analyses = {k: plantar.analyze(demo[k]) for k in ("shod", "orthotic")}
    c = compare(analyses, baseline="shod").sel(side="right", metric="peak_pressure")
    before = c["mean"].sel(condition="shod").to_series()
    after = c["mean"].sel(condition="orthotic").to_series()
    above = [r for r in ("heel", "arch", "mth1", "mth2_3", "mth4_5", "hallux", "lesser_toes")
             if max(before[r], after[r]) > 200]  # fmt: skip
    assert "mth2_3" in above
    head = right.split(";")[0]
    for r in above:  # every region above target is named, with its before and after
        name = plantar.report.REGION_NAMES[r]
        assert f"{name} {before[r]:.0f} → {after[r]:.0f} kPa" in head, (r, head)
    # ... the highest first
    order = sorted(above, key=lambda r: -max(before[r], after[r]))
    positions = [head.index(plantar.report.REGION_NAMES[r] + " ") for r in order]
    assert positions == sorted(positions)


def test_a_single_condition_gives_a_report_with_a_note(demo, tmp_path):
    paths = write_report([demo["barefoot"]], tmp_path / "one.html", animation=False, verbose="error")
    notes = json.loads(paths["json"].read_text())["notes"]
    assert notes == ["Only one condition was given, so there is no comparison between conditions."]
    assert "<h2>Regional loading</h2>" in paths["html"].read_text()


def test_a_trial_without_complete_steps_is_noted_and_the_rest_shown(demo, tmp_path):
    # A walk that starts mid-contact on a mat too short for a whole footprint.
    short, _ = plantar.synth.walk(seed=5, passes=1, mat_length_mm=240.0, lead_s=-0.2, condition="shod")
    empty = plantar.make_trial(np.zeros((50, 20, 10), np.float32), pitch_mm=5.0, rate_hz=100.0, condition="empty")
    paths = write_report({"barefoot": demo["barefoot"], "cut": short, "empty": empty}, tmp_path / "r.html",
                         animation=False, verbose="error")  # fmt: skip
    notes = json.loads(paths["json"].read_text())["notes"]
    assert any(n.startswith("cut: every") and "no step is complete" in n for n in notes)
    assert any(n.startswith("empty: no foot contact") for n in notes)
    assert any("different mats" in n for n in notes)
    html = paths["html"].read_text()
    assert "<h2>Condition: barefoot</h2>" in html and "<h2>Comparison</h2>" in html
    summary = json.loads(paths["json"].read_text())["summary"]
    assert any("cut vs barefoot: too few complete steps" in s for s in summary)


def test_conditions_from_different_mats_are_compared_with_a_note(demo, tmp_path):
    other, _ = plantar.synth.walk(seed=9, passes=4, pitch_mm=8.0, **plantar.datasets.demo_walker("shod"))
    paths = write_report({"barefoot": demo["barefoot"], "shod, 8 mm mat": other}, tmp_path / "r.html",
                         animation=False, verbose="error")  # fmt: skip
    notes = json.loads(paths["json"].read_text())["notes"]
    assert len(notes) == 1 and "different mats" in notes[0] and "8 x 8 mm" in notes[0]
    assert "<h2>Comparison</h2>" in paths["html"].read_text()


def test_existing_files_are_not_replaced(demo, tmp_path):
    out = tmp_path / "r.html"
    write_report([demo["shod"]], out, animation=False, verbose="error")
    before = out.read_bytes()
    with pytest.raises(FileExistsError, match="r.html' exists"):
        write_report([demo["barefoot"]], out, animation=False, verbose="error")
    assert out.read_bytes() == before
    write_report([demo["barefoot"]], out, animation=False, overwrite=True, verbose="error")
    assert out.read_bytes() != before


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(labels=["a"]), "labels has 1 names for 2 conditions"),
        (dict(labels=["a", "a"]), "labels must be different"),
        (dict(baseline="orthotic B"), "baseline must be one of the conditions"),
        (dict(target_kpa=-5), "target_kpa must be a positive number"),
    ],
)
def test_bad_arguments_name_what_is_wrong(demo, tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        write_report([demo["barefoot"], demo["shod"]], tmp_path / "r.html", animation=False, **kwargs)
    assert not (tmp_path / "r.html").exists()


def test_report_items_and_sections():
    import plotly.graph_objects as go

    report = Report(title="t")
    report.add_figure(go.Figure(), "a", section="S")
    with pytest.raises(ValueError, match="already has an item 'a'"):
        report.add_figure(go.Figure(), "a", section="S")
    report.add_figure(go.Figure(go.Bar(y=[1])), "a", section="S", replace=True)
    with pytest.raises(TypeError, match="plotly Figure"):
        report.add_figure("not a figure", "b")
    with pytest.raises(ValueError, match="flags must have the table's shape"):
        report.add_table(pd.DataFrame({"x": [1, 2]}), "t", flags=np.zeros(3, bool))
    with pytest.raises(ValueError, match="must end in .html"):
        report.save("report.pdf")
    assert report.sections == [("Summary", []), ("S", ["a"])]


def test_analyses_given_are_used_not_computed_again(demo, written, tmp_path, monkeypatch):
    """write_report given the trials' analyses never runs analyze, and writes the same numbers and tables."""
    import plantar.report._loading as loading

    analyses = {label: plantar.analyze(trial) for label, trial in demo.items()}
    calls = []
    real = loading.analyze
    monkeypatch.setattr(loading, "analyze", lambda *a, **k: calls.append(a) or real(*a, **k))
    paths = write_report(demo, tmp_path / "r.html", analyses=analyses, verbose="error")
    assert calls == []
    # The counter counts: without the analyses, each trial is analysed once (and only once).
    write_report(demo, tmp_path / "again.html", animation=False, verbose="error")
    assert len(calls) == len(demo)
    before, html = written
    assert paths["csv"].read_text() == before["csv"].read_text()
    tables = re.compile(r'<table class="data">.*?</table>|<div class="(?:summary|note)">.*?</div>', re.S)
    assert tables.findall(paths["html"].read_text()) == tables.findall(html)
    # The animation still comes from the trials.
    animations = re.compile(r"Plotly\.addFrames\('figure-\d+'")
    assert len(animations.findall(paths["html"].read_text())) == len(animations.findall(html)) == len(demo)


def test_analyses_must_be_of_the_trials(demo, tmp_path):
    analysis = plantar.analyze(demo["barefoot"])
    other, _ = plantar.synth.walk(seed=0, passes=1, mat_length_mm=1000.0, pitch_mm=8.0)
    with pytest.raises(ValueError, match="analyses has 1 analyses for 2 conditions"):
        write_report([demo["barefoot"], demo["shod"]], tmp_path / "r.html", analyses=[analysis])
    with pytest.raises(ValueError, match="analysis is not of this trial"):
        write_report([other], tmp_path / "r.html", analyses=[analysis])
    with pytest.raises(ValueError, match="analysis must be an analysis"):
        write_report([demo["barefoot"]], tmp_path / "r.html", analyses=[demo["barefoot"]])
    assert not (tmp_path / "r.html").exists()


def test_an_anonymous_report_never_shows_the_trials_subject(tmp_path, capsys):
    """A vendor file may carry the patient's name as its subject: --anonymous keeps it out of every file."""
    from plantar.cli import main

    paths = []
    for k, condition in enumerate(("barefoot", "shod")):
        trial, _ = plantar.synth.walk(seed=k, passes=1, mat_length_mm=1500, condition=condition)
        plantar.save(trial.assign_attrs(subject="Jane Example"), tmp_path / f"{condition}.nc")
        paths.append(str(tmp_path / f"{condition}.nc"))
    named = tmp_path / "named.html"
    assert main(["report", *paths, "-o", str(named), "--no-animation"]) == 0
    assert "Jane Example" in named.read_text(encoding="utf-8")  # the name is there to leave out
    for args, shown in ((["--anonymous"], "anonymous"), (["--anonymous", "--subject", "P012"], "P012")):
        out = tmp_path / f"{shown}.html"
        assert main(["report", *paths, "-o", str(out), "--no-animation", *args]) == 0
        for path in (out, out.with_suffix(".csv"), out.with_suffix(".json")):
            assert "Jane" not in path.read_text(encoding="utf-8")
        assert json.loads(out.with_suffix(".json").read_text())["subject"] == shown
        assert f"<dt>Subject</dt><dd>{shown}</dd>" in out.read_text(encoding="utf-8")  # the header's subject
    capsys.readouterr()


def test_a_figure_is_written_as_plotly_writes_it_and_left_unchanged():
    """The report encodes each figure without plotly's deep copy: the same JSON, the figure untouched."""
    import plotly.graph_objects as go
    import plotly.io

    from plantar.report._report import _figure_dict, _figure_html
    from plantar.viz import force_curves, pressure_animation, walk_footprints

    trial, _ = plantar.synth.walk(seed=1, passes=2, mat_length_mm=1000.0)
    analysis = plantar.analyze(trial)
    extra = go.Figure(go.Scatter(x=np.arange(5, dtype=np.int64), y=np.array([1.0, np.nan, 2.0, 3.0, 4.0]),
                                 text=np.array(["a", "b", "c", "d", "e"]), customdata=np.ones((5, 2), np.float32)))
    extra.update_layout(width=640, xaxis=dict(range=np.array([0.0, 4.0])))
    figures = [walk_footprints(analysis), force_curves(analysis), pressure_animation(trial, max_frames=12), extra]
    for fig in figures:
        before = plotly.io.to_json(fig, validate=False)
        assert plotly.io.to_json(_figure_dict(fig), validate=False) == plotly.io.to_json(fig.to_dict(), validate=False)
        div = _figure_html(fig, "figure-1")
        assert plotly.io.to_json(fig, validate=False) == before
        written = json.loads(re.search(r"Plotly\.newPlot\(\s*\"figure-1\",\s*(\[.*?\]),\s*\{", div, re.S).group(1))
        assert written == json.loads(plotly.io.json.to_json_plotly(fig.to_dict()["data"]))
    assert '"width":640' not in div and "max-width: 640px" in div and extra.layout.width == 640
