"""The analysis on real recordings from commercial systems (skipped without ../shared/data/real).

Nothing in these files states the steps, so the checks are what a clinician would
check: the number of steps, stance times that make sense for walking, the side the
file states, and footprints whose regions lie like a foot's.
"""

import subprocess
import sys

import numpy as np
import pytest

import plantar
from plantar.regions import BASE_REGIONS
from real_data import real_file


def analyse(folder, name):
    return plantar.analyze(plantar.read(real_file(folder, name)))


def stance_s(analysis):
    return (analysis.t_off - analysis.t_on).values + 1.0 / analysis.attrs["sampling_rate_hz"]


def assert_foot_shaped(analysis, k):
    """Heel, arch, metatarsal heads and toes in that order along the foot axis; hallux medial."""
    labels = analysis.region_label.values[k]
    X, Y = np.meshgrid(analysis.x.values, analysis.y.values)
    angle = np.radians(float(analysis.axis_angle[k]))
    along = X * np.cos(angle) + Y * np.sin(angle)
    left_of_axis = -X * np.sin(angle) + Y * np.cos(angle)

    def mean(region, values):
        return values[labels == BASE_REGIONS.index(region) + 1].mean()

    order = [mean(r, along) for r in ("heel", "arch", "mth2_3", "hallux")]
    assert order == sorted(order)
    # The heel, not the arch, carries the rear of the foot.
    peak = analysis.peak_pressure.isel(step=k)
    load = analysis.relative_load.isel(step=k)
    assert peak.sel(region="heel") > peak.sel(region="arch")
    assert load.sel(region="heel") > load.sel(region="arch")
    side = analysis.side.values[k]
    if side in ("left", "right"):
        hallux, lesser = mean("hallux", left_of_axis), mean("lesser_toes", left_of_axis)
        assert (hallux < lesser) if side == "left" else (hallux > lesser)


@pytest.mark.parametrize("name, side", [("FrasP01L.asf", "left"), ("FrasP01R.asf", "right")])
def test_fscan_insoles_give_about_six_steps_of_walking(name, side):
    analysis = analyse("tekscan-fscan", name)
    assert 5 <= analysis.sizes["step"] <= 7
    assert set(analysis.side.values) == {side}  # one insole, one foot: its shape says which
    complete = analysis.complete.values
    assert complete.sum() >= 4
    # Stance in walking lasts about 0.5-0.9 s (60 % of a 1-1.4 s gait cycle).
    assert np.all((stance_s(analysis)[complete] > 0.5) & (stance_s(analysis)[complete] < 0.9))
    assert 80 < analysis.attrs["cadence_steps_per_min"] < 130
    for k in np.flatnonzero(complete):
        assert_foot_shaped(analysis, k)
    # The same foot every time: lengths agree within a sensel.
    assert np.ptp(analysis.foot_length.values[complete]) <= 5.08
    # An insole does not travel over the sensor: no line of progression, so no foot angle or steps.
    assert (analysis.progression_line.values == "").all()
    for name in ("foot_angle", "step_length", "step_width", "stride_length"):
        assert np.isnan(analysis[name].values).all()


def test_the_creased_right_insole_loses_its_stuck_sensels():
    trial = plantar.read(real_file("tekscan-fscan", "FrasP01R.asf"))
    segmentation = plantar.steps.FootstepSegmentation().segment(trial)
    assert segmentation.stuck_.sum() == 17  # the README's 17 creased sensels
    left = analyse("tekscan-fscan", "FrasP01L.asf")
    right = plantar.analyze(trial)
    # Both feet of one person: lengths within 10 mm of each other.
    assert abs(np.median(right.foot_length) - np.median(left.foot_length)) < 10


@pytest.mark.parametrize("folder, name", [("novel-emed", "emed_test.lst"), ("rsscan-footscan", "footscan_test.xls")])
def test_a_plate_step_is_one_complete_foot(folder, name):
    analysis = analyse(folder, name)
    assert analysis.sizes["step"] == 1 and bool(analysis.complete[0])
    assert_foot_shaped(analysis, 0)
    assert 220 < float(analysis.foot_length[0]) < 300
    assert 0.4 < stance_s(analysis)[0] < 1.5
    np.testing.assert_allclose(analysis.relative_load.sel(region="total"), 100.0)


def test_footscan_side_is_the_file_s():
    analysis = analyse("rsscan-footscan", "footscan_test.xls")
    assert analysis.side.values.tolist() == ["right"]


def test_emed_side_from_the_footprint_shape():
    # The export does not say; the footprint's shape (hallux and lateral midfoot
    # contact) says right, as the reader's own landmark check does.
    analysis = analyse("novel-emed", "emed_test.lst")
    assert analysis.side.values.tolist() == ["right"]


def test_xsensor_insoles_sides_by_the_split():
    trial = plantar.read(real_file("xsensor", "xsensor_data.csv"))
    analysis = plantar.analyze(trial)
    split = trial.attrs["side_split_x_mm"]
    assert analysis.sizes["step"] == 4
    assert (analysis.side.values == np.where(analysis.heel_x.values < split, "left", "right")).all()
    assert set(analysis.side.values) == {"left", "right"}


def test_pliance_high_arched_foot_is_one_contact():
    analysis = analyse("novel-pliance", "pliance_test.asc")
    assert analysis.sizes["step"] == 1  # heel and forefoot 75 mm apart, no midfoot contact
    assert not analysis.complete[0]  # loaded from the first frame to the last
    assert 240 < float(analysis.foot_length[0]) < 300
    assert float(analysis.arch_index[0]) < 0.1


@pytest.mark.parametrize(
    "folder, name",
    [("tekscan-fscan", "FrasP01L.asf"), ("tekscan-fscan", "FrasP01R.asf"), ("novel-emed", "emed_test.lst"),
     ("rsscan-footscan", "footscan_test.xls"), ("xsensor", "xsensor_data.csv"), ("novel-pliance", "pliance_test.asc")],
)  # fmt: skip
def test_plantar_analyze_works_on_every_converted_real_file(tmp_path, folder, name):
    source = real_file(folder, name)
    converted = tmp_path / "converted.nc"
    run = [sys.executable, "-m", "plantar"]
    assert subprocess.run([*run, "convert", source, "-o", converted], capture_output=True, timeout=300).returncode == 0
    result = subprocess.run([*run, "analyze", converted, "-o", tmp_path / "steps.csv"], capture_output=True,
                            text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert " steps, " in result.stdout and (tmp_path / "steps.csv").stat().st_size > 0
    direct = plantar.analyze(plantar.read(source))
    assert f"{direct.sizes['step']} steps" in result.stdout


def test_a_paired_insole_walk_finds_each_insoles_stuck_sensels():
    """The F-Scan pair side by side gives every step the numbers of its own file.

    The right insole's 17 creased sensels never drop to zero; they are stuck in the
    right foot's swing phases, while the left foot is down, so the idle phases are
    looked for per insole (the whole pair is never idle). Without that, each right
    step carried their 30 N.
    """
    from plantar.report import pair_feet

    left = plantar.read(real_file("tekscan-fscan", "FrasP01L.asf"))
    right = plantar.read(real_file("tekscan-fscan", "FrasP01R.asf"))
    paired = plantar.analyze(pair_feet(left, right))
    for side, alone in (("left", plantar.analyze(left)), ("right", plantar.analyze(right))):
        mine = paired.side.values == side
        assert mine.sum() == alone.sizes["step"]
        for name in ("max_force", "peak_pressure", "force_time_integral"):
            np.testing.assert_allclose(paired[name].values[mine], alone[name].values, rtol=1e-6, err_msg=name)
    seg = plantar.steps.FootstepSegmentation().segment(pair_feet(left, right))
    assert int(seg.stuck_[:, : left.sizes["x"]].sum()) == 0 and int(seg.stuck_.sum()) == 17
