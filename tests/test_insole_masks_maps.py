"""Insoles of irregular sensors through the common entry points: segmentation, regions and masks, cohort maps.

Each is checked against the synthetic insoles' truth (step times, the structure loading each sensor, a known
offload) or what a real pedar file shows.
"""

import numpy as np
import pytest

import plantar
from plantar.steps import FootstepSegmentation


@pytest.fixture(scope="module")
def walk():
    trial, truth, grid = plantar.synth.sensor_insoles(seed=5, duration_s=8.0)
    return trial, truth, grid


def test_footstep_segmentation_applies_the_insole_rule_to_a_sensor_trial(walk):
    trial, truth, _ = walk
    seg = FootstepSegmentation().fit(trial)
    steps = seg.steps_
    assert seg.threshold_kpa_ == plantar.insoles.THRESHOLD_KPA and not seg.stuck_.any()
    # The steps are the insole rule's, side by side: each truth stance found once, on its side, within 2 frames.
    time = trial.time.values
    for side, force in plantar.insoles.side_forces(trial).items():
        rule = plantar.insoles.insole_steps(force, time)
        mine = [s for s in steps if s.side == side]
        assert [[s.frames.start, s.frames.stop - 1] for s in mine] == rule.tolist()
    found = 0
    for k in np.flatnonzero(truth.complete.values):
        near = [s for s in steps if s.side == truth.side.values[k] and abs(s.frames.start - int(truth.frame_on[k])) <= 2]
        assert len(near) == 1, f"truth step {k} found {len(near)} times"
        found += 1
    assert found >= 10
    assert [s.frames.start for s in steps] == sorted(s.frames.start for s in steps)
    # A step's pressure is its insole's sensors in its frames (the other insole's are 0), as the analysis takes it.
    pressure = trial.pressure.values
    side = trial.sensor_side.values
    for step in steps[:4]:
        block = step.pressure(pressure)
        assert step.rows is None and block.shape == step.mask.shape
        own = side[step.cols] == step.side
        np.testing.assert_array_equal(block[:, own], pressure[step.frames, step.cols][:, own])
        assert not block[:, ~own].any()


def test_analyze_takes_a_configured_segmentation_on_a_sensor_trial(walk):
    trial, _, _ = walk
    seg = FootstepSegmentation(on_fraction=0.02, off_fraction=0.02, threshold_kpa=2.0)
    analysis = plantar.analyze(trial, segmentation=seg)
    assert analysis.frame_on.values.tolist() == [s.frames.start for s in seg.steps_]
    assert analysis.side.values.tolist() == [s.side for s in seg.steps_]
    assert analysis.attrs["threshold_kpa"] == 2.0 and "above 0.02" in analysis.attrs["step_rule"]
    # A lower off fraction ends stance later than the default rule does, step for step.
    default = plantar.analyze(trial)
    assert default.sizes["step"] == analysis.sizes["step"]
    assert (analysis.frame_count.values >= default.frame_count.values).all()
    assert (analysis.frame_count.values > default.frame_count.values).sum() >= analysis.sizes["step"] // 2
    with pytest.raises(ValueError, match="takes each step's side from its insole"):
        plantar.analyze(trial, sides=plantar.steps.SideAssignment())
    with pytest.raises(ValueError, match="on_fraction must be a fraction"):
        FootstepSegmentation(on_fraction=5.0).segment(trial)
