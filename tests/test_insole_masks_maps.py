"""Insoles of irregular sensors through the common entry points: segmentation, regions and masks, cohort maps.

Each is checked against the synthetic insoles' truth (step times, the structure loading each sensor, a known
offload) or what a real pedar file shows.
"""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import plantar
from plantar.insoles import sensor_anatomy, sensor_regions
from plantar.regions import ANATOMICAL_BASE_REGIONS, ANATOMICAL_REGIONS, BASE_REGIONS, AnatomicalMask
from plantar.steps import FootstepSegmentation
from real_data import real_file


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


def test_balance_still_refuses_a_sensor_trial_in_one_line(walk):
    """Segmentation now takes insoles; balance, which needs footprints on a mat, says so itself."""
    with pytest.raises(ValueError, match="plantar.balance needs a trial on a regular grid.*192 irregular sensors"):
        plantar.balance(walk[0])


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


#: The synthetic foot's structures in the anatomical scheme's base regions.
_ANATOMY = {"heel": "heel", "midfoot": "arch", "mth1": "mth1", "mth2": "mth2", "mth3": "mth3", "mth4": "mth4",
            "mth5": "mth5", "hallux": "hallux", "toe2": "toe2", "toe3": "toes3_5", "toe4": "toes3_5",
            "toe5": "toes3_5"}  # fmt: skip
_TRUTH_CODE = np.array([0] + [ANATOMICAL_BASE_REGIONS.index(_ANATOMY[s]) + 1 for s in plantar.synth.STRUCTURES])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_anatomical_mask_on_insoles_finds_the_structure_loading_each_sensor(seed):
    """As the grid's anatomical mask is tested: >= 90 % of the sensors carrying > 10 % of a step's peak are
    given the structure that loads them most (the synthetic insoles' truth)."""
    trial, truth, _ = plantar.synth.sensor_insoles(seed=seed, duration_s=6.0)
    analysis = plantar.analyze(trial, mask="anatomical")
    assert analysis.attrs["mask"] == "anatomical"
    assert analysis.region.values[: len(ANATOMICAL_REGIONS)].tolist() == list(ANATOMICAL_REGIONS)
    expected = _TRUTH_CODE[truth.sensor_structure.values]
    sensor_side = trial.sensor_side.values
    agree = total = 0
    for k in np.flatnonzero(analysis.complete.values):
        own = sensor_side == analysis.side.values[k]
        peak = analysis.peak_pressure_map.values[k]
        carrying = own & (peak > 0.10 * peak[own].max())
        agree += int((analysis.mask_label.values[k][carrying] == expected[carrying]).sum())
        total += int(carrying.sum())
        assert (analysis.mask_label.values[k][~own] == 0).all()
    assert total > 200
    assert agree / total >= 0.90
    # Every head and toe region is found, on both insoles.
    labels = sensor_anatomy(trial)
    for side in ("left", "right"):
        assert set(labels[sensor_side == side]) == set(range(1, len(ANATOMICAL_BASE_REGIONS) + 1))
    # The percent regions read from either scheme are the same sums, and the coarse labels are the percent map.
    fti = analysis.force_time_integral
    for region, members in ANATOMICAL_REGIONS.items():
        np.testing.assert_allclose(fti.sel(region=region), fti.sel(region=list(members)).sum("region"), rtol=1e-9)
    np.testing.assert_array_equal(AnatomicalMask().coarse(analysis.mask_label.values), analysis.region_label.values)


def test_medial_and_lateral_halves_of_heel_midfoot_and_forefoot_against_the_fine_grid(walk):
    """Each region's medial half carries the fine grid's load of that region's cells medial of the insole's
    centre line (to 0.5 point of the step's load: no sensor straddles the line), and the halves add up."""
    trial, truth, grid = walk
    analysis = plantar.analyze(trial)
    split = grid.attrs["side_split_x_mm"]
    x = grid.x.values
    p = np.nan_to_num(grid.pressure.values)
    cell_sensor = grid.cell_sensor.values
    sensor_label = np.array(BASE_REGIONS)[sensor_regions(trial) - 1]
    halves = {"heel": ("heel",), "arch": ("arch",), "forefoot": ("mth1", "mth2_3", "mth4_5", "hallux", "lesser_toes")}
    checked = 0
    for s, cols in (("left", x < split), ("right", x > split)):
        centre = (x[cols].min() + x[cols].max()) / 2
        medial_cols = cols & ((x > centre) if s == "left" else (x < centre))
        for k in np.flatnonzero(analysis.complete.values & (analysis.side.values == s)):
            frames = slice(int(analysis.frame_on[k]), int(analysis.frame_on[k] + analysis.frame_count[k]))
            load = p[frames].sum(axis=0)
            total = load[:, cols].sum()
            for region, members in halves.items():
                cells = (cell_sensor >= 0) & np.isin(sensor_label[np.clip(cell_sensor, 0, None)], members)
                medial = 100 * load[cells & medial_cols[None, :]].sum() / total
                lateral = 100 * load[cells & (cols & ~medial_cols)[None, :]].sum() / total
                got = analysis.relative_load[k]
                assert float(got.sel(region=f"medial_{region}")) == pytest.approx(medial, abs=0.5), region
                assert float(got.sel(region=f"lateral_{region}")) == pytest.approx(lateral, abs=0.5), region
                fti = analysis.force_time_integral[k]
                both = fti.sel(region=[f"medial_{region}", f"lateral_{region}"]).sum()
                assert float(both) == pytest.approx(float(fti.sel(region=region)), rel=1e-9)
            checked += 1
    assert checked >= 10


def test_anatomical_mask_on_the_real_pedar_file_is_plausible():
    """On the pedar walk: both insoles get the same regions sensor by sensor (the layouts are mirror images),
    the hallux lies medial of the lesser toes, the heel carries the most force early in stance and the hallux
    is the most loaded sensor as the foot leaves."""
    trial = plantar.read(real_file("novel-pedar", "pedar_example.asc"))
    labels = sensor_anatomy(trial)
    side = trial.sensor_side.values
    number = trial.sensor_number.values
    left, right = np.flatnonzero(side == "left"), np.flatnonzero(side == "right")
    np.testing.assert_array_equal(labels[left[np.argsort(number[left])]], labels[right[np.argsort(number[right])]])
    x = trial.sensor_x.values
    hallux, lesser = ANATOMICAL_BASE_REGIONS.index("hallux") + 1, ANATOMICAL_BASE_REGIONS.index("toes3_5") + 1
    assert x[left][labels[left] == hallux].mean() > x[left][labels[left] == lesser].mean()  # left: medial is +x
    assert x[right][labels[right] == hallux].mean() < x[right][labels[right] == lesser].mean()
    analysis = plantar.analyze(trial, mask="anatomical")
    complete = np.flatnonzero(analysis.complete.values)
    assert complete.size >= 15 and set(analysis.side.values[complete]) == {"left", "right"}
    base = list(ANATOMICAL_BASE_REGIONS)
    early = analysis.region_force.sel(region=base, stance_percent=5).values[complete]
    assert (np.array(base)[early.argmax(axis=1)] == "heel").all()
    pressure = np.nan_to_num(trial.pressure.values)
    last = []
    for k in complete:
        end = int(analysis.frame_on[k] + analysis.frame_count[k])
        own = side == analysis.side.values[k]
        last.append(labels[np.argmax(np.where(own, pressure[end - 3 : end].sum(axis=0), -1.0))])
    assert np.mean(np.array(last) == hallux) >= 0.8


def test_a_mask_an_insole_cannot_use_is_refused_in_one_line(walk):
    trial = walk[0]
    with pytest.raises(ValueError, match=r"masked with the 'percent' or 'anatomical' scheme") as error:
        plantar.analyze(trial, mask=type("Drawn", (), {"name": "drawn", "sided_regions": (), "label": None})())
    assert "\n" not in str(error.value)


# -- cohort maps on insoles -----------------------------------------------------------------------------------

#: The structure an orthotic offloads in the synthetic insole study, and by how much.
_OFFLOADED, _OFFLOAD = "mth1", 0.5


def _structure_share(truth, grid, structure):
    """Share of each sensor's load that ``structure`` carries (the truth's load summed over the sensor's cells)."""
    cells = grid.cell_sensor.values.ravel()
    on = cells >= 0
    n = int(cells.max()) + 1
    load = truth.structure_load.values.reshape(truth.sizes["structure"], -1)[:, on]
    per_sensor = np.array([np.bincount(cells[on], weights=row, minlength=n) for row in load])
    k = list(truth.structure_name.values).index(structure)
    return per_sensor[k] / np.maximum(per_sensor.sum(axis=0), 1e-12)


@pytest.fixture(scope="module")
def insole_study(tmp_path_factory):
    """Eight walkers on insoles, usual and with an orthotic that takes half the MTH1 load off the sensors under
    it and changes nothing else (each sensor's pressure x (1 - 0.5 x its MTH1 share), known from the truth)."""
    folder = tmp_path_factory.mktemp("insole_study")
    rng = np.random.default_rng(11)
    shares = []
    for i in range(8):
        person = dict(body_mass_kg=float(rng.uniform(55, 95)), foot_length_mm=float(rng.uniform(245, 275)),
                      cadence_steps_per_min=float(rng.uniform(100, 120)))  # fmt: skip
        for condition in ("usual", "orthotic"):
            trial, truth, grid = plantar.synth.sensor_insoles(seed=int(rng.integers(2**31)), duration_s=6.0, **person)
            share = _structure_share(truth, grid, _OFFLOADED)
            if condition == "orthotic":
                trial = trial.copy(deep=True)
                trial["pressure"].values *= (1 - _OFFLOAD * share).astype(np.float32)
            else:
                shares.append(share)
            plantar.save(trial, folder / f"s{i + 1}_{condition}_1.nc")
    study = plantar.batch(folder, folder / "out", pattern="s{subject}_{condition}_{trial}.nc", scheduler="serial")
    return folder, study, np.mean(shares, axis=0)


def test_batch_keeps_a_mean_peak_map_per_sensor_for_insoles(insole_study):
    folder, study, _ = insole_study
    maps = study["maps"]
    assert (study["status"].status == "ok").all() and maps.attrs["map_layout"] == "sensor"
    assert maps.mean_peak_pressure_map.dims == ("subject", "condition", "side", "sensor")
    # The map of one subject, condition and side is the mean of its complete steps' peak pressure per sensor.
    trial = plantar.read(folder / "s3_orthotic_1.nc")
    analysis = plantar.analyze(trial)
    for side in ("left", "right"):
        keep = analysis.complete.values & (analysis.side.values == side)
        own = trial.sensor_side.values == side
        expected = analysis.peak_pressure_map.values[keep][:, own].astype(np.float64).mean(axis=0)
        got = maps.mean_peak_pressure_map.sel(subject="3", condition="orthotic", side=side).values
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-4)
        assert int(maps.n_steps.sel(subject="3", condition="orthotic", side=side)) == int(keep.sum())
        np.testing.assert_array_equal(maps.sensor.values, trial.sensor_number.values[own])
    # A second run reads the cache and gives the same maps.
    again = plantar.batch(folder, folder / "out", pattern="s{subject}_{condition}_{trial}.nc", scheduler="serial")
    assert (again["status"].status == "skipped").all()
    xr.testing.assert_identical(again["maps"], maps)


@pytest.mark.parametrize("side", ["left", "right"])
def test_pixel_compare_per_sensor_finds_the_offload_there_and_only_there(insole_study, side):
    _, study, share = insole_study
    result = plantar.pixel_compare(study["maps"], condition="orthotic", baseline="usual", side=side)
    assert result.t.dims == ("sensor",) and result.attrs["exact"] == 1 and result.attrs["n_subjects"] == 8
    own = np.flatnonzero(np.isin(np.arange(share.size) // 96, [0 if side == "left" else 1]))
    share = share[own]
    significant = result.significant.values
    # Only there: every significant sensor carries MTH1 load (a quarter or more of its own) and lost pressure.
    assert significant.any()
    assert (share[significant] >= 0.25).all(), result.sensor.values[significant & (share < 0.25)]
    assert (result.mean_diff.values[significant] < 0).all()
    # There: the loaded sensors MTH1 loads most (half of their load or more, over 50 kPa) are all found.
    under = (share >= 0.5) & (result.mean_baseline.values > 50)
    assert under.sum() >= 2 and significant[under].all()
    # The figure draws each sensor's own outline, the significant ones in black.
    fig = plantar.viz.pixel_map(result)
    polygons = [trace for trace in fig.data if trace.fill == "toself"]
    assert len(polygons) == result.sizes["sensor"]
    black = {trace.name for trace in polygons if trace.line.color == "black"}
    assert black == {f"sensor {n}" for n in result.sensor.values[significant]}
    first = polygons[0]
    np.testing.assert_allclose(np.asarray(first.x[:4], dtype=float), result.outline_x.values[0], atol=0.06)


def test_cohort_report_of_an_insole_study_draws_its_sensor_maps(insole_study, tmp_path):
    folder, study, _ = insole_study
    paths = plantar.cohort.write_cohort_report(study, tmp_path / "cohort.html", baseline="usual", n_permutations=256)
    numbers = pd.read_csv(paths["csv"])
    counts = numbers[numbers.metric == "significant_sensels"].set_index("side")["value"]
    for side in ("left", "right"):
        expected = plantar.pixel_compare(study["maps"], condition="orthotic", baseline="usual", side=side,
                                         n_permutations=256).significant.sum()  # fmt: skip
        assert counts[side] == float(expected) > 0
    assert "per-sensor peak-pressure maps" in paths["html"].read_text()


def _sensor_maps(a, b):
    """Maps Dataset of per-sensor maps (n, sensors) in two conditions, as plantar.batch writes them."""
    data = np.stack([a, b], axis=1)[:, :, None]
    return xr.Dataset({"mean_peak_pressure_map": (("subject", "condition", "side", "sensor"), data)},
                      coords={"subject": [str(k) for k in range(a.shape[0])], "condition": ["usual", "orthotic"],
                              "side": ["right"], "sensor": np.arange(1, a.shape[1] + 1)})  # fmt: skip


def test_family_wise_error_per_sensor_over_200_cohorts_without_effect():
    """No effect: the share of cohorts with any significant sensor is about alpha = 5 %.

    200 cohorts of 8 subjects (all 256 sign flips) on a 12 x 8 insole of 96 sensors, smooth random fields
    (neighbouring sensors correlated, as pressure under one structure is). If the error is controlled exactly
    the count of cohorts with a false positive is Binomial(200, 0.05): 99.9 % of counts in [2, 21]; 200 cohorts
    bound a rate of 5 % within about +-3 points (one standard error 1.5 points), enough to tell control from
    its absence (uncorrected per-sensor tests here flag most cohorts); the seed is fixed, so the test is
    deterministic.
    """
    from scipy import ndimage, stats

    rng = np.random.default_rng(77)
    hits = uncorrected = 0
    for _ in range(200):
        base = 150 + ndimage.gaussian_filter(rng.normal(0, 30, (8, 12, 8)), (0, 1, 1))
        noise = ndimage.gaussian_filter(rng.normal(0, 20, (2, 8, 12, 8)), (0, 0, 1.2, 1.2))
        a, b = (base + noise[0]).reshape(8, -1), (base + noise[1]).reshape(8, -1)
        result = plantar.pixel_compare(_sensor_maps(a, b), condition="orthotic", baseline="usual", side="right",
                                       n_permutations=256)  # fmt: skip
        hits += bool(result.significant.any())
        uncorrected += bool((stats.ttest_rel(b, a).pvalue < 0.05).any())
    low, high = stats.binom.interval(0.999, 200, 0.05)
    assert (low, high) == (2, 21)
    assert low <= hits <= high, hits
    assert uncorrected > 100


def test_sensor_maps_refuse_clusters_and_mixed_layouts(insole_study, caplog):
    _, study, _ = insole_study
    with pytest.raises(ValueError, match="method='cluster' needs sensels on a grid") as error:
        plantar.pixel_compare(study["maps"], condition="orthotic", baseline="usual", side="left", method="cluster")
    assert "\n" not in str(error.value)
    from plantar.cohort._batch import _map_arrays, _maps, _sensor_dataset

    def one(numbers):  # one file's map sums, as a task hands them to the driver
        geometry = {name: np.zeros((2, numbers.size) + ((4,) if name.startswith("outline") else ()))
                    for name in ("sensor_x", "sensor_y", "sensor_area", "outline_x", "outline_y")}  # fmt: skip
        return _map_arrays(_sensor_dataset(numbers, np.ones((2, numbers.size)), np.ones(2, dtype=np.int64), geometry))

    with pytest.raises(ValueError, match="different sensor layouts \\(16, 99 sensors"):
        _maps([("a", "x", one(np.arange(1, 100))), ("b", "x", one(np.arange(1, 17)))], 5.0)
    # A study of mats and insoles: the aligned maps hold the mats' (a grid in the foot frame) and say so.
    grid = xr.Dataset({"peak_pressure_sum": (("side", "along_mm", "across_mm"), np.full((2, 1, 2), 6.0)),
                       "n_steps": ("side", np.full(2, 3, dtype=np.int64))},
                      coords={"side": ["left", "right"], "along_mm": [0.0], "across_mm": [0.0, 5.0]})  # fmt: skip
    with caplog.at_level("WARNING", logger="plantar"):
        maps = _maps([("a", "x", one(np.arange(1, 100))), ("b", "x", _map_arrays(grid))], 5.0)
    assert "the 1 insole files' maps are left out" in caplog.text
    assert maps.subject.values.tolist() == ["b"] and "sensor" not in maps.dims
    np.testing.assert_allclose(maps.mean_peak_pressure_map.values, 2.0)


def test_a_region_without_a_sensor_is_nan_on_moticon_insoles():
    """Moticon's 16 sensors: every sensor gets a region; a head without a sensor of its own has NaN metrics
    (it measures nothing), the regions with sensors add up to the whole insole."""
    trial = plantar.read(real_file("moticon-opengo", "230927_102114.txt"))
    labels = sensor_anatomy(trial)
    analysis = plantar.analyze(trial, mask="anatomical")
    side = trial.sensor_side.values
    for s in ("left", "right"):
        steps = analysis.side.values == s
        present = {ANATOMICAL_BASE_REGIONS[k - 1] for k in labels[side == s]}
        for region in ANATOMICAL_BASE_REGIONS:
            peak = analysis.peak_pressure.sel(region=region).values[steps]
            assert np.isnan(peak).all() != (region in present), region
        assert len(present) < len(ANATOMICAL_BASE_REGIONS)
        fti = analysis.force_time_integral.sel(region=sorted(present)).values[steps].sum(axis=1)
        np.testing.assert_allclose(fti, analysis.force_time_integral.sel(region="total").values[steps], rtol=1e-9)
