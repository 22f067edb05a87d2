"""Segmentation reads the pressure array once, in blocks of frames, with bounded memory.

The value checks of :func:`plantar.check_trial`, the contact labelling, the stuck
sensels and the insoles' residual-force rule all come from one pass over the
array in blocks of frames: the results must not depend on the blocks (checked
against the rule applied to the whole array at once), the checks must say what
``check_trial`` says wherever the bad value lies, and the temporary memory must
stay a small fraction of the array instead of a copy of it.
"""

import tracemalloc

import numpy as np
import pytest

import plantar
import plantar._schema
from plantar import synth
from plantar.steps import FootstepSegmentation


@pytest.fixture(scope="module")
def walk():
    trial, truth = synth.walk(seed=4, passes=2)
    return trial, truth


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of three frames' worth of bytes (pooled to whole groups of frames): many blocks, a ragged last one."""
    monkeypatch.setattr(plantar._schema, "_CHECK_BLOCK_BYTES", 3 * 400 * 100 * 4)


def _steps(segmentation):
    return [(s.frames, s.rows, s.cols, s.mask.tobytes()) for s in segmentation.steps_]


def _two_insoles(trial):
    """The walk as if on two insoles side by side (left at smaller x), with a dead sensel."""
    pressure = trial.pressure.values.copy()
    pressure[:, 40, 20] = np.nan
    split = float(trial.x.values[50] - 1.0)
    return trial.copy(data={"pressure": pressure}).assign_attrs(layout="insole", side_split_x_mm=split), split


def test_the_residual_force_rule_per_block_equals_the_rule_on_the_whole_array(walk, small_blocks):
    trial, truth = walk
    insoles, split = _two_insoles(trial)
    pressure = insoles.pressure.values
    # The rule on the whole array at once: each foot's force per frame, its frames below
    # F_min + 10 % of the range emptied.
    ruled = pressure.copy()
    x = insoles.x.values
    n_low = []
    for columns in (x < split, x >= split):
        force = np.nansum(pressure[:, :, columns], axis=(1, 2), dtype=np.float64)
        low = force < force.min() + 0.10 * (force.max() - force.min())
        ruled[np.ix_(low, np.arange(pressure.shape[1]), np.flatnonzero(columns))] = 0.0
        n_low.append(int(low.sum()))
    assert min(n_low) > 0 and max(n_low) < pressure.shape[0]  # the rule empties some frames of each foot
    blocked = FootstepSegmentation().segment(insoles)
    # The same trial with the rule already applied, segmented without it: the same steps.
    direct = FootstepSegmentation(residual_force_fraction=0.0).segment(insoles.copy(data={"pressure": ruled}))
    assert blocked.threshold_kpa_ == direct.threshold_kpa_ == 1.0
    assert not blocked.stuck_.any() and not direct.stuck_.any()
    assert len(blocked.steps_) == truth.sizes["step"]
    assert _steps(blocked) == _steps(direct)
    # ... and the rule did change them: without it the steps start earlier or end later.
    unruled = FootstepSegmentation(residual_force_fraction=0.0).segment(insoles)
    assert sum(s.frames.stop - s.frames.start for s in unruled.steps_) > sum(
        s.frames.stop - s.frames.start for s in blocked.steps_
    )


def test_the_blocks_do_not_change_the_steps(walk, small_blocks, monkeypatch):
    trial, truth = walk
    pressure = trial.pressure.values.copy()
    pressure[:, 5, 7] += 60.0  # a hot sensel, stuck the whole recording
    noisy = trial.copy(data={"pressure": pressure})
    small = FootstepSegmentation().segment(noisy)
    monkeypatch.setattr(plantar._schema, "_CHECK_BLOCK_BYTES", pressure.nbytes)  # one block: the whole array
    whole = FootstepSegmentation().segment(noisy)
    assert len(small.steps_) == truth.sizes["step"]
    assert small.stuck_[5, 7] and small.stuck_.sum() == 1
    assert np.array_equal(small.stuck_, whole.stuck_)
    assert _steps(small) == _steps(whole)


@pytest.mark.parametrize(
    "where, value, match",
    [
        ((604, 3, 4), -1.5, r"variable 'pressure' has negative values \(min -1\.5 kPa at frame 604, row 3, col 4\)"),
        ((300, 0, 1), np.inf, r"variable 'pressure' has infinite values"),
        ((300, 3, 4), -1.5, r"variable 'pressure' has negative values \(min -1\.5 kPa at frame 300, row 3, col 4\)"),
        ((604, 7, 9), 2e5, r"implausible values \(max 200000 kPa at frame 604, row 7, col 9\).*100000 kPa"),
    ],
)  # fmt: skip
def test_analysis_and_segmentation_check_the_values_as_check_trial_does(walk, small_blocks, where, value, match):
    """A bad value in the middle, or alone in the last, ragged block of frames: the pass finds it and says where."""
    trial, _ = walk
    pressure = trial.pressure.values.copy()
    assert pressure.shape[0] == 605  # blocks of 4 frames: frame 604 is the last block's only one
    pressure[where] = value
    bad = trial.copy(data={"pressure": pressure})
    for check in (plantar.check_trial, plantar.analyze, lambda t: FootstepSegmentation().segment(t)):
        with pytest.raises(ValueError, match=match):
            check(bad)


@pytest.mark.parametrize("dead_from", [None, 0, 300])
def test_the_integer_peak_finds_what_the_float_peak_finds(walk, small_blocks, monkeypatch, dead_from):
    """The peaks taken as integers (every value finite and >= 0) and as floats (NaN skipped) give the same steps.

    A dead sensel (NaN) from the first frame, or from the middle of the recording, sends the pass to the float
    path from that block on; negative zeros (not negative values) take it too, and must not be reported.
    """
    trial, truth = walk
    pressure = trial.pressure.values.copy()
    pressure[200:260, 0, :] = -0.0
    if dead_from is not None:
        pressure[dead_from:, 40, 20] = np.nan
    odd = trial.copy(data={"pressure": pressure})
    plantar.check_trial(odd)
    fast = FootstepSegmentation().segment(odd)
    monkeypatch.setattr(plantar.steps, "_INF_BITS", np.uint32(0))  # every block on the float path
    slow = FootstepSegmentation().segment(odd)
    assert len(fast.steps_) == truth.sizes["step"]
    assert fast.threshold_kpa_ == slow.threshold_kpa_
    assert np.array_equal(fast.stuck_, slow.stuck_)
    assert _steps(fast) == _steps(slow)
    analysis = plantar.analyze(odd)
    assert analysis.sizes["step"] == truth.sizes["step"]


@pytest.mark.parametrize("layout", ["mat", "insole"])
def test_segmentation_memory_is_a_small_fraction_of_the_array(walk, layout):
    """Before, a mat took 0.38 x the array (blocks of 256 frames) and insoles 3.3 x (a copy and its force sums)."""
    trial, truth = walk
    trial = trial.assign_attrs(layout=layout)
    segmentation = FootstepSegmentation()
    tracemalloc.start()
    try:
        segmentation.segment(trial)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(segmentation.steps_) == truth.sizes["step"]
    assert peak <= 0.15 * trial.pressure.nbytes
