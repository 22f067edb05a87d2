"""Foot geometry and side assignment on analytic footprints."""

import numpy as np
import pytest

from plantar.geometry import FootGeometry, foot_geometry, gaitrite_distances, pass_directions, progression_lines
from plantar.steps import SideAssignment


def ellipse_step(angle_deg, heel=(200.0, 200.0), pitch=(2.0, 2.0), frames=40, sub=5):
    """A rolling footprint: a heel dome, then a wider forefoot dome, along an axis.

    Each sensel reads the mean pressure over its cell (averaged on a sub x sub grid),
    as a real sensor does.
    """
    a = np.radians(angle_deg)
    axis = np.array([np.cos(a), np.sin(a)])
    x = np.arange(0.0, 500.0, pitch[0])
    y = np.arange(0.0, 500.0, pitch[1])
    offsets = (np.arange(sub) + 0.5) / sub - 0.5
    X, Y = np.meshgrid((x[:, None] + offsets * pitch[0]).ravel(), (y[:, None] + offsets * pitch[1]).ravel())
    along = (X - heel[0]) * axis[0] + (Y - heel[1]) * axis[1]
    across = -(X - heel[0]) * axis[1] + (Y - heel[1]) * axis[0]

    def cells(field):
        return field.reshape(len(y), sub, len(x), sub).mean(axis=(1, 3))

    heel_dome = cells(np.clip(1 - (along / 35.0) ** 2 - (across / 30.0) ** 2, 0, None))
    fore_dome = cells(np.clip(1 - ((along - 170.0) / 40.0) ** 2 - (across / 50.0) ** 2, 0, None))
    t = np.linspace(0, 1, frames)[:, None, None]
    p = 400 * (1 - t) * heel_dome + 400 * t * fore_dome
    return p, x, y, axis


@pytest.mark.parametrize("angle", [90.0, 0.0, -135.0, 33.0])
def test_heel_centre_axis_and_length_of_an_analytic_footprint(angle):
    p, x, y, axis = ellipse_step(angle)
    g = foot_geometry(p, x, y)
    # Symmetric domes: the heel centre and the axis are exact up to sampling.
    assert g.heel_x == pytest.approx(200.0, abs=1.0) and g.heel_y == pytest.approx(200.0, abs=1.0)
    assert np.degrees(np.arctan2(g.axis_y, g.axis_x)) == pytest.approx(angle, abs=1.0)
    # From the heel end (-35 mm) to the toe end (170 + 40 mm): 245 mm, within one
    # 2 mm pitch at any angle (the sub-sensel end model is 1-D; on an oblique grid the
    # inward neighbour is not straight behind). The width runs between the outermost
    # sensel centres, each within half a pitch of the edge.
    assert g.length_mm == pytest.approx(245.0, abs=2.0)
    assert g.heel_end_mm == pytest.approx(-35.0, abs=2.0)
    assert g.width_mm == pytest.approx(100.0, abs=2.0)


@pytest.mark.parametrize("pitch", [(2.0, 2.0), (5.0, 5.0), (2.0, 3.0)])
def test_ends_to_a_fraction_of_a_sensel_on_an_aligned_grid(pitch):
    # The domes fall to zero as 1 - r^2, nearly linearly at the edge, where the end
    # model is exact; the curvature leaves up to a third of a pitch (0 to 0.33 over
    # 2-10 mm pitches), where sensel centres alone are off by up to half a pitch.
    p, x, y, _ = ellipse_step(90.0, pitch=pitch)
    g = foot_geometry(p, x, y)
    assert g.heel_end_mm == pytest.approx(-35.0, abs=pitch[1] / 3 + 0.05)
    assert g.heel_end_mm + g.length_mm == pytest.approx(210.0, abs=pitch[1] / 3 + 0.05)


def test_standing_foot_is_oriented_by_its_wider_end():
    p, x, y, _ = ellipse_step(90.0)
    still = np.repeat(p[20:21], 30, axis=0)  # heel and forefoot loaded, nothing moves
    g = foot_geometry(still, x, y)
    assert g.axis_y == pytest.approx(1.0, abs=0.01)


def test_anisotropic_pitch():
    p, x, y, _ = ellipse_step(90.0, pitch=(2.0, 3.0))
    g = foot_geometry(p, x, y)
    assert g.length_mm == pytest.approx(245.0, abs=1.5)
    assert g.heel_y == pytest.approx(200.0, abs=1.5)


def test_empty_step_is_refused():
    with pytest.raises(ValueError, match="no sensel above"):
        foot_geometry(np.zeros((3, 4, 4)), np.arange(4.0), np.arange(4.0))


def test_foot_coords_and_angle_to():
    g = FootGeometry(10.0, 20.0, 0.0, 1.0, -30.0, 240.0, 90.0, 0.0)
    u, v = g.foot_coords([10.0, 0.0], [20.0 + 90.0, 20.0])
    np.testing.assert_allclose(u, [0.5, 30.0 / 240.0])
    np.testing.assert_allclose(v, [0.0, 10.0])  # -x is to the left of +y
    assert g.angle_to(1.0, 0.0) == pytest.approx(90.0)
    assert g.angle_to(0.0, 2.0) == pytest.approx(0.0)


def test_gaitrite_distances_analytic():
    # Left heels at x = -50, right at x = +50, 600 mm steps; a missing step breaks the chain.
    heel = [[-50, 0], [50, 600], [-50, 1200], [50, 1800], [-50, 2400], [-50, 3600], [50, 4200]]
    side = ["left", "right", "left", "right", "left", "left", "right"]
    length, width, stride = gaitrite_distances(heel, side, [0] * 7)
    np.testing.assert_allclose(length[1:4], 600.0)
    np.testing.assert_allclose(width[1:4], 100.0)
    np.testing.assert_allclose(stride[2:5], 1200.0)
    assert np.isnan(length[[0, 4, 5, 6]]).all() and np.isnan(stride[[0, 1, 5, 6]]).all()



def test_distances_against_the_pass_line_where_no_stride_line_exists():
    # A pass of three footprints walking along +y, the right foot 20 mm off the left foot's line's
    # parallel; then a pass of two walking back along -y: no foot down twice.
    heel = [[0, 0], [120, 600], [10, 1200], [500, 1000], [400, 300]]
    side = ["left", "right", "left", "right", "left"]
    passes = [0, 0, 0, 1, 1]
    direction, source = pass_directions(heel, side, passes)
    d = np.array([10.0, 1200.0]) / np.hypot(10.0, 1200.0)  # the left foot's heel-to-heel line
    np.testing.assert_allclose(direction[:3], [d] * 3)
    np.testing.assert_allclose(direction[3:], [-d] * 2)  # the trial's direction, turned the way it walks
    assert source.tolist() == ["pass"] * 3 + ["trial"] * 2
    line_dir, anchor, line = progression_lines(heel, side, passes, pass_direction=direction, source=source)
    assert line.tolist() == ["pass", "stride", "pass", "trial", "trial"]
    assert anchor.tolist() == [1, 0, 1, 4, 3]
    length, width, stride = gaitrite_distances(heel, side, passes, pass_direction=direction)
    n = np.array([-d[1], d[0]])
    # Step 0: no previous step, width from the next (right) heel across the pass line.
    assert np.isnan(length[0]) and width[0] == pytest.approx(abs((np.array([0.0, 0.0]) - [120, 600]) @ n))
    # Step 1: GAITRite's stride line through steps 0 and 2.
    assert length[1] == pytest.approx(np.array([120, 600]) @ d)
    assert width[1] == pytest.approx(abs(d[0] * 600 - d[1] * 120))
    # Step 2: along and across the pass line from the previous (right) heel.
    offset = np.array([10.0, 1200.0]) - [120, 600]
    assert length[2] == pytest.approx(offset @ d) and width[2] == pytest.approx(abs(offset @ n))
    # Pass 1 walks back: step 4's length is along -d from step 3.
    assert length[4] == pytest.approx((np.array([400, 300]) - [500, 1000]) @ -d)
    assert width[3] == width[4] == pytest.approx(abs((np.array([400, 300]) - [500, 1000]) @ n))
    assert np.isnan(length[3]) and np.isnan(stride).sum() == 4
    # Without a pass direction the GAITRite values alone, unchanged.
    length, width, _ = gaitrite_distances(heel, side, passes)
    assert np.isfinite(length).tolist() == np.isfinite(width).tolist() == [False, True, False, False, False]


def test_pass_directions_refuse_what_the_walk_does_not_say():
    heel = [[0, 0], [100, 600], [0, 1200], [1000, 0], [1250, 580], [1300, 1210], [2000, 0], [2100, 600]]
    side = ["left", "right", "left"] * 2 + ["left", "right"]
    passes = [0, 0, 0, 1, 1, 1, 2, 2]
    # Passes 0 and 1 walk 14 degrees apart: the trial's direction says nothing about pass 2.
    direction, source = pass_directions(heel, side, passes)
    assert source.tolist() == ["pass"] * 6 + [""] * 2 and np.isnan(direction[6:]).all()
    # The walkway's long axis stands in for it; not for a pass walking across the mat.
    direction, source = pass_directions(heel, side, passes, mat_axis=(0.0, 1.0))
    assert source[6:].tolist() == ["mat"] * 2
    np.testing.assert_allclose(direction[6:], [[0.0, 1.0]] * 2)
    _, source = pass_directions(heel, side, passes, mat_axis=(1.0, 0.0))
    assert source[6:].tolist() == ["", ""]
    # A lone footprint has no direction; footprints cut by the mat edge only say which way a pass walks.
    _, source = pass_directions([[0, 0]], ["left"], [0], mat_axis=(0.0, 1.0))
    assert source.tolist() == [""]
    direction, source = pass_directions(heel, side, passes, complete=[True] * 6 + [False] * 2, mat_axis=(0.0, 1.0))
    assert source[6:].tolist() == ["mat"] * 2
    direction, source = pass_directions(heel[:3], side[:3], [0] * 3, complete=[True, False, False])
    assert source.tolist() == [""] * 3 and np.isnan(direction).all()

def _walk(n, width=100.0, step=650.0, period=0.55, heading=(0.0, 1.0), first="left", t0=0.0):
    d = np.asarray(heading, float) / np.linalg.norm(heading)
    left = np.array([-d[1], d[0]])
    sign = 1 if first == "left" else -1
    heels = np.array([k * step * d + (sign * (-1) ** k) * width / 2 * left for k in range(n)])
    t_on = t0 + period * np.arange(n)
    sides = ["left" if sign * (-1) ** k > 0 else "right" for k in range(n)]
    return heels, t_on, sides, np.tile(d, (n, 1))


def test_sides_alternate_and_follow_the_walking_direction():
    for heading in [(0.0, 1.0), (1.0, 0.0), (-1.0, -1.0)]:
        heels, t_on, truth, axis = _walk(6, heading=heading, first="right")
        s = SideAssignment().assign(t_on_s=t_on, t_off_s=t_on + 0.65, heel_mm=heels, axis=axis, chirality_mm=np.zeros(6))
        assert s.sides_.tolist() == truth
        np.testing.assert_allclose(s.evidence_mm_ * np.where(np.array(truth) == "left", 1, -1), 100.0)


def test_passes_split_at_pauses_and_turns():
    a_heels, a_on, a_sides, a_axis = _walk(4)
    b_heels, b_on, b_sides, b_axis = _walk(4, heading=(0.0, -1.0), first="right", t0=a_on[-1] + 3.0)
    b_heels = b_heels + a_heels[-1]
    s = SideAssignment().assign(
        t_on_s=np.r_[a_on, b_on], t_off_s=np.r_[a_on, b_on] + 0.65, heel_mm=np.vstack([a_heels, b_heels]),
        axis=np.vstack([a_axis, b_axis]), chirality_mm=np.zeros(8),
    )  # fmt: skip
    assert s.pass_index_.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    assert s.sides_.tolist() == a_sides + b_sides
    np.testing.assert_allclose(s.direction_[:4], [[0, 1]] * 4, atol=1e-9)
    np.testing.assert_allclose(s.direction_[4:], [[0, -1]] * 4, atol=1e-9)


def test_a_missing_step_keeps_the_sides():
    heels, t_on, truth, axis = _walk(7)
    keep = [0, 1, 2, 4, 5, 6]  # the 4th footfall missed the mat
    s = SideAssignment().assign(t_on_s=t_on[keep], t_off_s=t_on[keep] + 0.65, heel_mm=heels[keep],
                                axis=axis[keep], chirality_mm=np.zeros(6))  # fmt: skip
    assert s.sides_.tolist() == [truth[k] for k in keep]


def test_weak_or_contradicting_evidence_says_unknown():
    heels, t_on, _, axis = _walk(3, width=10.0)  # feet almost in line: no clear zig-zag
    s = SideAssignment().assign(t_on_s=t_on, t_off_s=t_on + 0.65, heel_mm=heels, axis=axis, chirality_mm=np.zeros(3))
    assert s.sides_.tolist() == ["unknown"] * 3
    # The walk says left/right/left, the footprints' shapes say the opposite: unknown.
    heels, t_on, truth, axis = _walk(3)
    shape = np.array([-40.0, 40.0, -40.0])
    s = SideAssignment().assign(t_on_s=t_on, t_off_s=t_on + 0.65, heel_mm=heels, axis=axis, chirality_mm=shape)
    assert s.sides_.tolist() == ["unknown"] * 3


def test_single_footprint_by_shape_and_device_sides():
    one = dict(t_on_s=[0.0], t_off_s=[0.6], heel_mm=[[0.0, 0.0]], axis=[[0.0, 1.0]])
    assert SideAssignment().assign(**one, chirality_mm=[30.0]).sides_.tolist() == ["left"]
    assert SideAssignment().assign(**one, chirality_mm=[-30.0]).sides_.tolist() == ["right"]
    assert SideAssignment().assign(**one, chirality_mm=[5.0]).sides_.tolist() == ["unknown"]
    assert SideAssignment().assign(**one, chirality_mm=[30.0], side="right").sides_.tolist() == ["right"]
    assert np.isnan(SideAssignment().assign(**one, chirality_mm=[30.0]).direction_).all()
    with pytest.raises(ValueError, match="side must be"):
        SideAssignment().assign(**one, chirality_mm=[0.0], side="middle")


def test_the_footprint_opening_and_covariance_are_scipy_and_numpy_s():
    """The opening and the covariance foot_geometry computes itself equal scipy's and numpy's, bit for bit."""
    from scipy.ndimage import binary_opening

    from plantar.geometry import _covariance, _open_2x2, _spacing

    rng = np.random.default_rng(7)
    for _ in range(2000):
        shape = tuple(int(n) for n in rng.integers(1, 12, 2))
        footprint = rng.random(shape) < rng.random()
        assert np.array_equal(_open_2x2(footprint), binary_opening(footprint, structure=np.ones((2, 2), dtype=bool)))
        points = np.round(rng.normal(size=(int(rng.integers(2, 400)), 2)) * rng.random(2) * 100 / 5) * 5 + 1000.0
        centred = points - points.mean(axis=0)
        assert np.array_equal(_covariance(centred), np.cov(centred.T))
    irregular = np.array([0.0, 5.0, 10.0, 16.0, 21.0])
    assert _spacing(irregular, np.arange(3) * 8.0) == (5.0, 8.0)  # the median step; a uniform one exactly
