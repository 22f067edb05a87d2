"""Contact labelled as runs along rows equals 3-D connected-component labelling.

Segmentation finds the connected parts of contact (26-connectivity in time, y and
x) from runs of contact along each row, joined across neighbouring rows and
frames (``plantar.steps._components``). The reference is scikit-image's 3-D
labelling with ``connectivity=3``, which segmentation used before: the parts, their
order (first sample in C order), their boxes and their masks must be the same,
on the cases where labelling by runs could go wrong and on random arrays.
"""

import numpy as np
import pytest
from scipy.ndimage import find_objects
from skimage.measure import label

import plantar
import plantar.steps
from plantar import synth
from plantar.steps import FootstepSegmentation, _components, _runs


def _reference(mask):
    """(box, mask) of each part, by 3-D labelling."""
    labels = label(mask, connectivity=3)
    return [(box, labels[box] == k) for k, box in enumerate(find_objects(labels), start=1)]


def _assert_same(arrays):
    found = _components([(m.shape, _runs(m)) for m in arrays])
    assert len(found) == len(arrays)
    for mask, parts in zip(arrays, found):
        expected = _reference(mask)
        assert [box for box, _ in parts] == [box for box, _ in expected]
        for (_, got), (_, want) in zip(parts, expected):
            assert got.dtype == bool and np.array_equal(got, want)


def _foot(shape, frames, rows, cols):
    mask = np.zeros(shape, dtype=bool)
    mask[frames, rows, cols] = True
    return mask


def test_two_feet_touching_in_one_frame_are_one_part_and_apart_otherwise():
    # Two feet side by side, one empty column apart; in frame 5 a sensel touches both diagonally.
    mask = _foot((10, 12, 12), slice(0, 10), slice(2, 10), slice(0, 4)) | _foot(
        (10, 12, 12), slice(0, 10), slice(2, 10), slice(5, 9)
    )
    _assert_same([mask])
    assert len(_components([(mask.shape, _runs(mask))])[0]) == 2
    mask[5, 1, 4] = True  # touches (5, 2, 3) and (5, 2, 5) diagonally
    _assert_same([mask])
    assert len(_components([(mask.shape, _runs(mask))])[0]) == 1
    # A sensel touching the left foot's last row diagonally in the next frame joins it, in time and space.
    apart = _foot((3, 5, 5), slice(0, 1), slice(0, 2), slice(0, 2))
    apart[1, 2, 2] = True  # (0, 1, 1) and (1, 2, 2): neighbours across a frame and a diagonal
    _assert_same([apart])
    assert len(_components([(apart.shape, _runs(apart))])[0]) == 1
    apart[1, 2, 2], apart[1, 3, 2] = False, True  # two rows away: apart
    _assert_same([apart])
    assert len(_components([(apart.shape, _runs(apart))])[0]) == 2


def test_a_step_split_by_a_one_frame_gap_is_two_parts():
    mask = _foot((9, 6, 6), slice(0, 4), slice(1, 5), slice(1, 5)) | _foot((9, 6, 6), slice(5, 9), slice(1, 5), slice(1, 5))
    _assert_same([mask])
    parts = _components([(mask.shape, _runs(mask))])[0]
    assert [box[0] for box, _ in parts] == [slice(0, 4), slice(5, 9)]


def test_a_step_touching_the_edges_of_the_array():
    # A footprint in the first and last frames, rows and columns: no run may wrap into the next row or frame.
    mask = np.zeros((6, 5, 7), dtype=bool)
    mask[0, :, -1] = True  # last column of every row of frame 0
    mask[1, :, 0] = True  # first column of frame 1: touches frame 0 only at the corners of a row apart
    mask[5, -1, :] = True
    mask[4, 0, 0] = True
    _assert_same([mask])
    full = np.ones((4, 3, 5), dtype=bool)
    _assert_same([full])
    assert len(_components([(full.shape, _runs(full))])[0]) == 1


def test_a_foot_lifted_and_replaced_at_the_same_place_is_two_parts():
    footprint = _foot((1, 8, 6), 0, slice(1, 7), slice(1, 5))[0]
    mask = np.zeros((20, 8, 6), dtype=bool)
    mask[2:8] = footprint
    mask[12:18] = footprint
    mask[10, 0, 0] = True  # a lone sensel in between, touching neither
    _assert_same([mask])
    parts = _components([(mask.shape, _runs(mask))])[0]
    assert [box[0] for box, _ in parts] == [slice(2, 8), slice(10, 11), slice(12, 18)]


def test_arrays_found_together_stay_apart():
    # Found in one batch, the last frame of one array and the first of the next are not neighbours.
    a, b = np.ones((3, 4, 4), dtype=bool), np.ones((2, 4, 4), dtype=bool)
    found = _components([(a.shape, _runs(a)), (np.zeros((0, 4, 4)).shape, _runs(np.zeros((0, 4, 4), bool))),
                         (b.shape, _runs(b))])  # fmt: skip
    assert [len(parts) for parts in found] == [1, 0, 1]
    assert found[0][0][0] == (slice(0, 3), slice(0, 4), slice(0, 4))
    assert found[2][0][0] == (slice(0, 2), slice(0, 4), slice(0, 4))


@pytest.mark.parametrize("seed", range(4))
def test_random_arrays_equal_3d_labelling(seed):
    rng = np.random.default_rng(seed)
    for _ in range(150):
        arrays = [rng.random(tuple(rng.integers(1, 9, 3))) < rng.random() * 0.6 for _ in range(rng.integers(1, 4))]
        _assert_same(arrays)
    # A long sparse array (a pooled region along a walk) and a dense one.
    _assert_same([rng.random((400, 20, 10)) < 0.02, rng.random((30, 40, 20)) < 0.45])


def test_the_batch_size_does_not_change_the_steps(monkeypatch):
    trial, truth = synth.walk(seed=5, passes=2)
    steps = FootstepSegmentation().segment(trial).steps_
    monkeypatch.setattr(plantar.steps, "_BATCH_RUNS", 1)  # one pooled region per batch
    one_by_one = FootstepSegmentation().segment(trial).steps_
    assert len(steps) == len(one_by_one) == truth.sizes["step"]
    for s, t in zip(steps, one_by_one):
        assert (s.frames, s.rows, s.cols) == (t.frames, t.rows, t.cols)
        assert np.array_equal(s.mask, t.mask)


def test_a_footstep_keeps_its_mask():
    rng = np.random.default_rng(0)
    mask = rng.random((7, 5, 3)) < 0.5
    step = plantar.steps.Footstep(slice(2, 9), slice(0, 5), slice(4, 7), mask)
    assert step.mask.dtype == bool and step.mask.shape == (7, 5, 3)
    assert np.array_equal(step.mask, mask)
