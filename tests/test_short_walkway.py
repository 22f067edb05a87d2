"""Foot angle, step length and step width on a short walkway (2 m: two to four footprints a pass).

Most complete footprints on a 2 m mat have no GAITRite stride line (the opposite
foot's previous and next footprints): the analysis then measures against the
pass's walking direction and says which line it used in ``progression_line``.
The truth of each value is its definition applied to the synthetic walk's true
heel centres (as the truth of the GAITRite values is); the foot angle's truth is
the walker's, against the true walking direction.
"""

import numpy as np
import pytest

import plantar
from plantar import synth
from plantar.geometry import gaitrite_distances, pass_directions

#: Walks over a 2 m x 0.5 m mat: slow with a wide base, narrow with a large toe-out, fast (two
#: footprints a pass, none of them with a stride line) with a very wide base.
WALKS = {
    "slow": dict(speed_m_s=0.8, step_width_mm=100.0, toe_out_deg=7.0),
    "narrow, toe-out 12 deg": dict(speed_m_s=1.2, step_width_mm=60.0, toe_out_deg=12.0),
    "fast, wide": dict(speed_m_s=1.6, step_width_mm=140.0, toe_out_deg=3.0),
}


def _match(analysis, truth):
    """{analysis step: truth step} for complete analysed steps (contact overlap, heels within 60 mm)."""
    pairs = {}
    for i in np.flatnonzero(analysis.complete.values):
        on, off = float(analysis.t_on[i]), float(analysis.t_off[i])
        overlap = (truth.t_on.values < off) & (truth.t_off.values > on)
        distance = np.hypot(truth.heel_x.values - float(analysis.heel_x[i]), truth.heel_y.values - float(analysis.heel_y[i]))
        k = int(np.argmin(np.where(overlap, distance, np.inf)))
        assert overlap[k] and distance[k] < 60.0, f"analysed step {i} has no true step"
        pairs[int(i)] = k
    return pairs


# Seed 10 of the fast walk has a pass with one complete footprint between two cut by the mat edges.
@pytest.fixture(scope="module", params=[(name, seed) for name in WALKS for seed in (0, 1, 2)] + [("fast, wide", 10)],
                ids=lambda p: f"{p[0]}-seed{p[1]}")  # fmt: skip
def walk(request):
    name, seed = request.param
    trial, truth = synth.walk(seed=seed, passes=4, mat_length_mm=2000.0, **WALKS[name])
    analysis = plantar.analyze(trial)
    pairs = _match(analysis, truth)
    # The definitions applied to the true heel centres of the same complete footprints (the others,
    # cut by the mat edge, only tell which way a pass walks).
    heel = np.column_stack([analysis.heel_x.values, analysis.heel_y.values])
    for i, k in pairs.items():
        heel[i] = truth.heel_x.values[k], truth.heel_y.values[k]
    complete = analysis.complete.values
    usable = np.where(complete, analysis.side.values, "unknown")
    passes = analysis.pass_index.values
    direction, source = pass_directions(heel, usable, passes, complete=complete, mat_axis=(0.0, 1.0))
    length, width, _ = gaitrite_distances(heel, usable, passes, pass_direction=direction)
    return analysis, truth, pairs, dict(step_length=length, step_width=width, source=source)


def test_every_complete_step_has_a_foot_angle_and_a_step_width(walk):
    analysis, truth, pairs, _ = walk
    complete = [i for i, k in pairs.items() if truth.complete.values[k]]
    assert len(complete) >= 6
    whole = analysis.complete.values
    for i in complete:
        assert analysis.progression_line.values[i] in ("stride", "pass", "trial", "mat")
        assert np.isfinite(analysis.foot_angle.values[i])
        # Step width needs a complete footprint of the opposite foot next to it in the pass.
        neighbour = [j for j in (i - 1, i + 1) if 0 <= j < len(whole) and whole[j]
                     and analysis.pass_index.values[j] == analysis.pass_index.values[i]]  # fmt: skip
        assert np.isfinite(analysis.step_width.values[i]) == bool(neighbour)


def test_foot_angle_within_4_deg_of_the_walker_s(walk):
    analysis, truth, pairs, _ = walk
    for i, k in pairs.items():
        if truth.complete.values[k]:
            assert float(analysis.foot_angle[i]) == pytest.approx(float(truth.foot_angle[k]), abs=4.0)


def test_step_length_and_width_within_10_mm_of_their_definition(walk):
    analysis, truth, pairs, true = walk
    for i, k in pairs.items():
        if not truth.complete.values[k]:
            continue
        line = analysis.progression_line.values[i]
        assert line == ("stride" if line == "stride" else true["source"][i])  # the same line as the truth's
        for name in ("step_length", "step_width"):
            value, expected = float(analysis[name][i]), true[name][i]
            # NaN exactly where the definition gives none (step length: no previous footprint).
            assert np.isnan(value) == np.isnan(expected), name
            if np.isfinite(expected):
                assert value == pytest.approx(expected, abs=10.0), (name, line)
        if line == "stride" and np.isfinite(truth.step_width.values[k]):
            # GAITRite's own line: the synthetic truth's values (computed from all its steps).
            assert float(analysis.step_width[i]) == pytest.approx(float(truth.step_width[k]), abs=10.0)


def test_step_length_is_missing_only_for_the_first_footprint_of_a_pass(walk):
    analysis, truth, pairs, _ = walk
    complete = analysis.complete.values
    for i, k in pairs.items():
        if not truth.complete.values[k]:
            continue
        previous = i > 0 and complete[i - 1] and analysis.pass_index.values[i - 1] == analysis.pass_index.values[i]
        assert np.isfinite(analysis.step_length.values[i]) == previous


def test_the_line_s_definition_is_stated(walk):
    analysis, *_ = walk
    assert "stride" in analysis.progression_line.attrs["definition"]
    for name in ("foot_angle", "step_length", "step_width"):
        assert "progression_line" in analysis[name].attrs["definition"]


def test_long_walkway_lines_are_gaitrite_s_stride_lines():
    # On a 6 m walkway every complete step but the first and last of a pass has the stride line,
    # and those values are the synthetic truth's (GAITRite on the true heel centres).
    trial, truth = synth.walk(seed=5, passes=1, mat_length_mm=6000.0)
    analysis = plantar.analyze(trial)
    complete = np.flatnonzero(analysis.complete.values)
    lines = analysis.progression_line.values[complete]
    assert (lines[1:-1] == "stride").all() and set(lines[[0, -1]]) == {"pass"}
    for i, k in _match(analysis, truth).items():
        if analysis.progression_line.values[i] == "stride":
            for name in ("step_length", "step_width"):
                assert float(analysis[name][i]) == pytest.approx(float(truth[name][k]), abs=10.0)
