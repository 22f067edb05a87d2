"""Maps of an analysis with the anatomical mask are drawn and hovered with its own regions."""

import numpy as np
import pytest

import plantar
from plantar.geometry import aligned_peak_maps
from plantar.regions import ANATOMICAL_BASE_REGIONS
from plantar.viz import compare_maps, peak_pressure_map
from plantar.viz._common import REGION_TITLES


@pytest.fixture(scope="module")
def walks():
    barefoot, _ = plantar.synth.walk(seed=3, passes=3, mat_length_mm=2000.0)
    offloaded, _ = plantar.synth.walk(seed=3, passes=3, mat_length_mm=2000.0, offload={"left_mth2_3": 0.5})
    return {"barefoot": plantar.analyze(barefoot, mask="anatomical"),
            "orthotic": plantar.analyze(offloaded, mask="anatomical")}  # fmt: skip


def _heatmap_names(fig):
    return {t.name for t in fig.data if t.type == "heatmap"}


def test_a_step_map_names_each_metatarsal_head(walks):
    analysis = walks["barefoot"]
    step = int(analysis.step.values[analysis.complete.values][0])
    names = _heatmap_names(peak_pressure_map(analysis, step=step))
    k = int(np.flatnonzero(analysis.step.values == step)[0])
    present = {ANATOMICAL_BASE_REGIONS[c - 1] for c in np.unique(analysis.mask_label.values[k]) if c > 0}
    # one heatmap per region of the step's anatomical labels, named as the tables name them
    assert names == {REGION_TITLES[r] for r in present}
    assert {"2nd metatarsal head", "3rd metatarsal head"} <= names
    assert "2nd-3rd metatarsal heads" not in names
    # a percent analysis keeps the percent regions
    percent = plantar.analyze(plantar.synth.walk(seed=3, passes=3, mat_length_mm=2000.0)[0])
    assert "2nd-3rd metatarsal heads" in _heatmap_names(peak_pressure_map(percent, step=step))


def test_the_mean_map_and_the_comparison_use_the_aligned_anatomical_labels(walks):
    analysis = walks["barefoot"]
    aligned = aligned_peak_maps(analysis, side="left")
    # the aligned anatomical labels fall inside the aligned percent footprint, region for region where both agree
    fine, coarse = aligned.mean_mask_label.values, aligned.mean_region_label.values
    assert aligned.mask_label.shape == aligned.region_label.shape
    # the mean foot has every metatarsal head of its own (labels 3 .. 7: mth1 .. mth5)
    assert {3, 4, 5, 6, 7} <= set(np.unique(fine).tolist())
    # both schemes share the footprint and agree on the heel (label 1 in both) on >= 80 % of its points
    assert ((fine > 0) == (coarse > 0)).mean() > 0.97
    assert ((fine == 1) & (coarse == 1)).sum() >= 0.8 * (coarse == 1).sum()
    names = _heatmap_names(peak_pressure_map(analysis, side="left"))
    assert "2nd metatarsal head" in names and "2nd-3rd metatarsal heads" not in names
    comparison = plantar.compare(walks, baseline="barefoot")
    fig = compare_maps(walks, baseline="barefoot", side="left", comparison=comparison)
    assert "3rd metatarsal head" in _heatmap_names(fig)
    # the halved 2nd-3rd heads are outlined as the anatomical regions the comparison flags
    flagged = comparison.beyond_noise.sel(condition="orthotic", side="left", metric="peak_pressure")
    flagged = {str(r) for r in flagged.region.values[flagged.values]}
    assert flagged & {"mth2", "mth3"}
    outlined = {t.name.removesuffix(" changed") for t in fig.data if t.name and t.name.endswith(" changed")}
    assert outlined & {"mth2", "mth3", "mth2_3"} and outlined <= flagged
