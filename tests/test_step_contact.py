"""Every loaded sensel of a foot contact belongs to its step.

Within a step, the peak-pressure map must equal the raw per-sensel maximum over
the step's frames for every sensel of the footprint: a sensel loaded alone for a
frame as the foot lands or leaves is the foot's, not a stuck sensel and not
noise. Noise away from any foot is still dropped.
"""

import numpy as np
import pytest

import plantar
from plantar import synth
from plantar.steps import FootstepSegmentation
from real_data import real_file


@pytest.fixture(scope="module")
def stance():
    """One barefoot stance on a plate (5 mm, 100 Hz), as a single contact."""
    trial, truth = synth.walk(seed=13, passes=1, mat_length_mm=6000.0, variability=0.0)
    k = 4
    X, Y = np.meshgrid(trial.x.values, trial.y.values)
    near = np.hypot(X - truth.heel_x.values[k], Y - truth.heel_y.values[k]) < 280
    pressure = trial.pressure.values * near
    loaded = np.flatnonzero((pressure > 1.0).any(axis=(1, 2)))
    return pressure[loaded[0] - 5 : loaded[-1] + 6]  # five empty frames either side


def _trial(pressure):
    return plantar.make_trial(np.ascontiguousarray(pressure, dtype=np.float32), pitch_mm=5.0, rate_hz=100.0)


def peak_map_error_kpa(trial, analysis, threshold_kpa):
    """Largest |peak map - raw max over the step's frames| on the loaded sensels of its box (+ 1 sensel), kPa."""
    pressure = np.nan_to_num(trial.pressure.values)
    time = trial.time.values
    n_y, n_x = pressure.shape[1:]
    worst = 0.0
    for k in range(analysis.sizes["step"]):
        label = analysis.region_label.values[k] > 0
        rows, cols = np.flatnonzero(label.any(axis=1)), np.flatnonzero(label.any(axis=0))
        box = (slice(max(rows[0] - 1, 0), min(rows[-1] + 2, n_y)), slice(max(cols[0] - 1, 0), min(cols[-1] + 2, n_x)))
        frames = (time >= float(analysis.t_on[k])) & (time <= float(analysis.t_off[k]))
        raw = pressure[frames][:, box[0], box[1]].max(axis=0)
        footprint = raw > threshold_kpa
        peak = analysis.peak_pressure_map.values[k][box]
        worst = max(worst, float(np.abs(raw - peak)[footprint].max()))
    return worst


def test_a_sensel_loaded_alone_in_the_last_frame_is_not_stuck(stance):
    # A plate export cut to the contact (no empty frame), whose last frame holds one toe sensel
    # loaded alone: the last block of frames is the quietest, but it is the edge of the contact.
    pressure = stance[5:-5].copy()
    pressure = pressure[(len(pressure) - 1) % 4 :]
    toe = np.unravel_index(np.argmax(pressure[-2] * (pressure[-1] > 1.0)), pressure.shape[1:])
    pressure[-1] = 0.0
    pressure[-1][toe] = 80.0
    assert len(pressure) % 4 == 1  # the lone frame is a block of its own (blocks of 0.04 s)
    trial = _trial(pressure)
    segmentation = FootstepSegmentation().segment(trial)
    assert segmentation.stuck_.sum() == 0
    analysis = plantar.analyze(trial)
    assert analysis.sizes["step"] == 1
    assert float(analysis.t_off[0]) == pytest.approx(float(trial.time[-1]))  # the contact ends with the toe
    assert float(analysis.peak_pressure_map[0][toe]) == pytest.approx(float(pressure[:, toe[0], toe[1]].max()))
    assert peak_map_error_kpa(trial, analysis, segmentation.threshold_kpa_) == 0.0


@pytest.mark.parametrize("when", ["before the foot lands", "after the foot leaves"])
def test_a_sensel_loaded_alone_for_one_frame_at_the_edge_of_contact_is_the_foot_s(stance, when):
    pressure = stance.copy()
    loaded = np.flatnonzero((pressure > 1.0).any(axis=(1, 2)))
    footprint = (pressure > 1.0).any(axis=0)
    # The frame before the first (after the last) contact, at a sensel of the footprint far from
    # every sensel loaded in that first (last) frame: not connected to the foot in space and time.
    edge, lone = (loaded[0], loaded[0] - 1) if when == "before the foot lands" else (loaded[-1], loaded[-1] + 1)
    rows, cols = np.nonzero(footprint)
    er, ec = np.nonzero(pressure[edge] > 1.0)
    far = np.hypot(rows[:, None] - er[None], cols[:, None] - ec[None]).min(axis=1)
    sensel = (rows[np.argmax(far)], cols[np.argmax(far)])
    assert far.max() > 10  # sensels apart
    pressure[lone][sensel] = 120.0
    trial = _trial(pressure)
    analysis = plantar.analyze(trial)
    assert analysis.sizes["step"] == 1
    first, last = float(analysis.t_on[0]), float(analysis.t_off[0])
    assert (first if when == "before the foot lands" else last) == pytest.approx(float(trial.time[lone]))
    assert float(analysis.peak_pressure_map[0][sensel]) == pytest.approx(float(pressure[:, sensel[0], sensel[1]].max()))
    assert peak_map_error_kpa(trial, analysis, float(analysis.attrs["threshold_kpa"])) == 0.0


def test_noise_away_from_the_foot_is_still_dropped(stance):
    clean = plantar.analyze(_trial(stance))
    pressure = stance.copy()
    loaded = np.flatnonzero((pressure > 1.0).any(axis=(1, 2)))
    footprint = (pressure > 1.0).any(axis=0)
    rows, cols = np.nonzero(footprint)
    # A lone loaded sensel in the frame before the foot lands, two sensels beyond the footprint's
    # end; another in mid-stance far from the foot; a third lasting three frames in the empty lead-in.
    pressure[loaded[0] - 1, rows.max() + 2, cols[np.argmax(rows)]] = 120.0
    pressure[loaded[len(loaded) // 2], 5, 5] = 120.0
    pressure[0:3, 5, 6] = 120.0
    analysis = plantar.analyze(_trial(pressure))
    assert analysis.sizes["step"] == 1
    assert float(analysis.t_on[0]) == float(clean.t_on[0]) and float(analysis.t_off[0]) == float(clean.t_off[0])
    np.testing.assert_array_equal(analysis.peak_pressure_map.values, clean.peak_pressure_map.values)


@pytest.mark.parametrize("first_frame", [0, 5, 25])
def test_real_500_hz_plate_stance_keeps_every_loaded_sensel(first_frame):
    # RSscan footscan, 500 Hz: one right-foot stance of 329 frames, the contact lasting 327. Cut
    # to start later (as an export cut to the contact), its last block of frames holds two hallux
    # sensels loaded alone as the foot leaves: they must stay in the step.
    trial = plantar.read(real_file("rsscan-footscan", "footscan_test.xls"))
    trial = trial.isel(time=slice(first_frame, None))
    trial = trial.assign_coords(time=trial.time - trial.time[0])
    segmentation = FootstepSegmentation().segment(trial)
    assert segmentation.stuck_.sum() == 0
    analysis = plantar.analyze(trial)
    assert analysis.sizes["step"] == 1
    assert peak_map_error_kpa(trial, analysis, segmentation.threshold_kpa_) == 0.0
    # The contact ends where the file's does: the last frame with a loaded sensel.
    loaded = np.flatnonzero((np.nan_to_num(trial.pressure.values) > segmentation.threshold_kpa_).any(axis=(1, 2)))
    assert float(analysis.t_off[0]) == pytest.approx(float(trial.time[loaded[-1]]))
