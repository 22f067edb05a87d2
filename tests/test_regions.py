import numpy as np
import pytest

from plantar import regions


def test_region_matrix_sums_base_regions():
    m = regions.region_matrix()
    assert m.shape == (len(regions.BASE_REGIONS), len(regions.REGIONS))
    names = list(regions.REGIONS)
    base = np.arange(1.0, 8.0)  # heel=1, arch=2, mth1=3, mth2_3=4, mth4_5=5, hallux=6, lesser=7
    out = dict(zip(names, base @ m))
    assert out["total"] == 28
    assert out["forefoot"] == 3 + 4 + 5 + 6 + 7
    assert out["metatarsal_heads"] == 12
    assert out["toes"] == 13
    for name in regions.BASE_REGIONS:
        assert out[name] == base[regions.BASE_REGIONS.index(name)]


@pytest.mark.parametrize(
    "u, expected",
    [(0.0, "heel"), (0.2999, "heel"), (0.30, "arch"), (0.5499, "arch"), (0.55, "mth1"), (0.7999, "mth1"),
     (0.80, "hallux"), (1.0, "hallux")],
)  # fmt: skip
def test_band_boundaries_along_the_foot(u, expected):
    # One medial point (v = 10) at u, plus points that make every band 30 wide.
    us = np.array([u, 0.6, 0.6, 0.9, 0.9])
    vs = np.array([10.0, 10.0, -20.0, 10.0, -20.0])
    labels = regions.percent_labels(us, vs, np.ones(5, dtype=bool))
    assert regions.BASE_REGIONS[labels[0] - 1] == expected


@pytest.mark.parametrize(
    "v, mth, toe",
    [(30.0, "mth1", "hallux"), (20.0001, "mth1", "hallux"), (19.9999, "mth2_3", "hallux"),
     (18.0001, "mth2_3", "hallux"), (17.9999, "mth2_3", "lesser_toes"), (10.0001, "mth2_3", "lesser_toes"),
     (9.9999, "mth4_5", "lesser_toes"), (0.0, "mth4_5", "lesser_toes")],
)  # fmt: skip
def test_thirds_and_hallux_split_across_the_band(v, mth, toe):
    # Bands from v = 0 (lateral) to v = 30 (medial): thirds at 20 and 10, hallux at w < 0.4 (v > 18).
    us = np.array([0.6, 0.6, 0.6, 0.9, 0.9, 0.9])
    vs = np.array([30.0, 0.0, v, 30.0, 0.0, v])
    labels = regions.percent_labels(us, vs, np.ones(6, dtype=bool))
    assert regions.BASE_REGIONS[labels[2] - 1] == mth
    assert regions.BASE_REGIONS[labels[5] - 1] == toe


def test_width_is_measured_across_the_whole_band_not_per_row():
    # A toe band where only a narrow hallux reaches the tip (u = 0.98): its lateral
    # edge is still hallux, because w is relative to the whole toe band.
    us = np.array([0.85, 0.85, 0.98, 0.98])
    vs = np.array([30.0, 0.0, 30.0, 22.0])
    labels = regions.percent_labels(us, vs, np.ones(4, dtype=bool))
    assert [regions.BASE_REGIONS[k - 1] for k in labels[2:]] == ["hallux", "hallux"]


def test_outside_the_footprint_is_zero():
    u = np.array([0.1, 0.6, 0.9])
    labels = regions.percent_labels(u, np.zeros(3), np.array([True, False, False]))
    assert labels.tolist() == [1, 0, 0]
    assert labels.dtype == np.int8
