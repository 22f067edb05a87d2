"""The report as a clinical document: condition kinds, pairs of one-foot files, what is missing, one vocabulary."""

import json
import re

import numpy as np
import pandas as pd
import pytest
from real_data import real_file

import plantar
from plantar.report import REGION_NAMES, Report, condition_kind, file_side, pair_feet, write_report
from plantar.report._conditions import default_pairs


def test_kinds_from_labels_and_the_comparisons_a_clinician_asks_for():
    assert [condition_kind(k) for k in ("barefoot", "Shoe", "orthotic A", "custom insole", "trial 3")] == [
        "barefoot", "shod", "orthotic", "orthotic", None]
    kinds = {"barefoot": "barefoot", "trainer": "shod", "orthotic A": "orthotic", "boot": "shod",
             "orthotic B": "orthotic"}
    assert default_pairs(kinds) == [("trainer", "barefoot"), ("orthotic A", "trainer"), ("boot", "barefoot"),
                                    ("orthotic B", "boot")]
    assert default_pairs({"a": None, "b": None}) == [("b", "a")]
    with pytest.raises(ValueError, match="kind must be one of"):
        condition_kind("x", {"condition_kind": "sock"})


def test_baseline_overrides_the_default_comparisons():
    walks = plantar.datasets.demo_walks(seed=0, passes=2)
    report = Report()
    for label, (trial, _) in walks.items():
        report.add_trial(trial, label=label, animation=False)
    report.add_summary(baseline="barefoot")
    assert report.pairs == [("shod", "barefoot"), ("orthotic", "barefoot")]
    assert [s.split(":")[0] for s in report.summary[:4]] == [
        "Left foot, shod vs barefoot", "Right foot, shod vs barefoot",
        "Left foot, orthotic vs barefoot", "Right foot, orthotic vs barefoot"]


@pytest.fixture(scope="module")
def fscan():
    left = plantar.read(real_file("tekscan-fscan", "FrasP01L.asf"))
    right = plantar.read(real_file("tekscan-fscan", "FrasP01R.asf"))
    return left, right


def test_the_real_fscan_pair_is_one_condition_with_both_feet(fscan, tmp_path):
    left, right = fscan
    assert (file_side(left), file_side(right)) == ("left", "right")
    paths = write_report([left, right], tmp_path / "fscan.html", animation=False, verbose="error")
    content = json.loads(paths["json"].read_text())
    assert content["meta"]["Conditions"] == "FrasP01 (shod)"
    both = pair_feet(left, right)
    # each foot's pressure is exactly its file's, side by side with one column of no sensor between them
    np.testing.assert_array_equal(both.pressure.values[:, :, :21], left.pressure.values)
    np.testing.assert_array_equal(both.pressure.values[:, :, 22:], right.pressure.values)
    assert np.isnan(both.pressure.values[:, :, 21]).all()
    assert both.attrs["side_split_x_mm"] == pytest.approx(21 * 5.08)
    analysis = plantar.analyze(both)
    for side, trial in (("left", left), ("right", right)):
        alone = plantar.analyze(trial)
        mine = analysis.sel(step=analysis.side == side)
        assert mine.sizes["step"] == alone.sizes["step"] == 6
        np.testing.assert_array_equal(mine["complete"].values, alone["complete"].values)
        np.testing.assert_allclose(mine["peak_pressure"].sel(region="total").values,
                                   alone["peak_pressure"].sel(region="total").values, rtol=1e-6)  # fmt: skip
    # symmetry is reported: the offloading table and sentence exist, with the numbers of plantar.offloading
    si = plantar.offloading(analysis)["symmetry_index"].sel(region="heel")
    rows = [r for r in content["numbers"] if r["table"] == "offloading" and r["region"] == "heel"
            and r["statistic"] == "symmetry_index"]  # fmt: skip
    assert len(rows) == 1 and rows[0]["value"] == pytest.approx(float(si), rel=1e-9)
    assert any("left vs right load" in s for s in content["summary"])
    # in-shoe: the 200 kPa in-shoe criterion applies, with its source
    assert content["meta"]["Targets"] == "FrasP01: 200 kPa"
    assert not any("only the" in n for n in content["notes"])


def test_fscan_pair_from_the_command_line_with_plus_and_pair(fscan, tmp_path):
    from plantar.cli import main

    folder = real_file("tekscan-fscan", "FrasP01L.asf").parent
    for k, argv in enumerate(([f"{folder}/FrasP01L.asf+{folder}/FrasP01R.asf"],
                              ["--pair", f"{folder}/FrasP01L.asf", f"{folder}/FrasP01R.asf"])):  # fmt: skip
        out = tmp_path / f"r{k}.html"
        main(["-q", "report", *argv, "--no-animation", "-o", str(out)])
        meta = json.loads(out.with_suffix(".json").read_text())["meta"]
        assert meta["Conditions"] == "FrasP01 (shod)"


def test_a_single_insole_shows_only_its_foot_with_one_note(fscan, tmp_path):
    left, _ = fscan
    paths = write_report([left], tmp_path / "left.html", animation=False, verbose="error")
    html = paths["html"].read_text()
    notes = json.loads(paths["json"].read_text())["notes"]
    assert [n for n in notes if "right" in n] == [
        "condition 1: only the left insole was recorded, so the right foot and left/right symmetry are left out of "
        "its tables and figures."]
    assert "<h3>Right foot</h3>" not in html and "<h3>Left foot</h3>" in html
    assert "- ± - (0)" not in html and "SI n/a" not in html
    assert "Left/right offloading" not in html


def test_a_contact_cut_by_the_recording_says_what_to_do(tmp_path):
    """A plate stance made without layout="window" is one contact cut by the start and end of the frames."""
    trial, _ = plantar.synth.walk(seed=0, passes=1, mat_length_mm=1000)
    analysis = plantar.analyze(trial)
    on, count = int(analysis.frame_on.values[0]), int(analysis.frame_count.values[0])
    cut = trial.isel(time=slice(on + 2, on + count - 2))
    cut = cut.assign_coords(time=cut.time - float(cut.time[0]))
    report = Report()
    report.add_trial(cut, label="barefoot", animation=False)
    report.add_summary()
    note = next(n for n in report.notes if n.startswith("barefoot:"))
    assert "cut by the start or the end of the recording" in note and 'layout="window"' in note
    window = cut.copy()
    window.attrs["layout"] = "window"
    assert plantar.analyze(window)["complete"].values.all()  # the advice works


def test_a_static_stance_points_to_the_standing_analysis(tmp_path):
    frames = np.zeros((100, 40, 20), np.float32)
    frames[:, 5:35, 5:15] = 80.0  # one foot on the plate for the whole 4 s
    trial = plantar.make_trial(frames, pitch_mm=5.0, rate_hz=25.0, condition="standing")
    report = Report()
    report.add_trial(trial, animation=False)
    note = next(n for n in report.notes if n.startswith("standing:"))
    assert "static stance" in note and "standing" in note and "4 s" in note


def test_one_name_per_region_in_the_page_and_figures(tmp_path):
    walks = plantar.datasets.demo_walks(seed=0, passes=2, conditions=("barefoot",))
    report = Report()
    report.add_trial(walks["barefoot"][0], animation=False)
    report.add_summary()
    html = report.to_html()
    for old in ("MTH 1", "MTH 2-3", ">arch<", ">total<"):
        assert old not in html, old
    for name in ("whole foot", "midfoot", "2nd-3rd metatarsal heads"):
        assert f">{name}<" in html  # in the tables
    analysis = report.conditions["barefoot"]["analysis"]
    bars = plantar.viz.symmetry_bars(analysis)
    assert list(bars.data[0].x) == [REGION_NAMES[r] for r in ("total",) + plantar.regions.BASE_REGIONS]
    curves = plantar.viz.force_curves(analysis)
    assert [a.text for a in curves.layout.annotations][:2] == ["whole foot", "heel"]


def test_the_mean_step_map_states_both_statistics(tmp_path):
    """The map's highest cell and the table's mean of per-step peaks are both on the figure, each named."""
    trial, _ = plantar.synth.walk(seed=0, passes=2, mat_length_mm=1500)
    analysis = plantar.analyze(trial)
    fig = plantar.viz.peak_pressure_map(analysis, side="left")
    text = fig.layout.title.subtitle.text
    keep = analysis.complete.values & (analysis.side.values == "left")
    table = float(np.mean(analysis.peak_pressure.sel(region="total").values[keep]))
    mapped = float(np.nanmax(plantar.geometry.aligned_peak_maps(analysis, side="left")["mean_peak_pressure_map"]))
    assert f"highest cell {mapped:.0f} kPa" in text
    assert f"mean of the steps' peak values {table:.0f} kPa" in text
    report = Report()
    report.add_trial(trial, label="barefoot", animation=False)
    report.add_summary()
    cell = re.search(r"<td>whole foot</td><td>(\d+) ±", report.to_html().split("<h3>Left foot</h3>")[1])
    assert float(cell.group(1)) == pytest.approx(round(table), abs=0.5)


def test_a_standing_recording_gets_its_balance_section():
    """A static stance is analysed as standing: the section shows plantar.balance's own numbers."""
    trial, truth = plantar.synth.stand(seed=4, duration_s=12.0)
    trial.attrs["condition"] = "standing"
    report = Report()
    report.add_trial(trial, animation=False)
    html = report.to_html()
    result = plantar.balance(trial)
    assert "Standing balance: load and sway" in html and "Centre-of-pressure sway" in html
    assert f"{float(result['path_length'].sel(cop='body')):.0f}" in html
    assert f"{float(result['ellipse_area'].sel(cop='body')):.0f}" in html


def test_the_report_can_use_the_anatomical_regions(tmp_path):
    """With mask="anatomical" the tables name each metatarsal head, with the analysis's own numbers."""
    walks = plantar.datasets.demo_walks(seed=0, passes=2, conditions=("barefoot",))
    trial = walks["barefoot"][0]
    paths = write_report([trial], tmp_path / "r.html", mask="anatomical", animation=False)
    table = pd.read_csv(paths["csv"])
    analysis = plantar.analyze(trial, mask="anatomical")
    assert {"mth2", "mth3", "mth4", "mth5", "toe2"} <= set(table["region"])
    assert set(table.loc[table.region == "mth3", "region_name"]) == {"3rd metatarsal head"}
    rows = table[(table.table == "steps") & (table.region == "mth3") & (table.metric == "peak_pressure")]
    expected = analysis.peak_pressure.sel(region="mth3").values[rows.step.astype(int).values]
    np.testing.assert_allclose(rows.value.values, expected, rtol=1e-6)
    assert "3rd metatarsal head" in paths["html"].read_text()
