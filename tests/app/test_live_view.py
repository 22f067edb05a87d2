"""The live view: the route's payload is the latest frame pooled, in kPa with a calibration, split per foot."""

import time

import numpy as np
import pytest

import plantar
from plantar import calibration
from plantar.app._live import LIVE_ROUTE, LiveView, decode_map, split_feet
from plantar.clinic import Clinic
from plantar.drivers.sim import SensorModel, VirtualMat

IDEAL = dict(gain_sd=0.0, offset_mean_counts=0.0, offset_sd_counts=0.0, noise_sd_counts=0.0, dead_sensels=0,
             hot_sensels=0)  # fmt: skip


@pytest.fixture
def app(tmp_path):
    pytest.importorskip("dash")
    from plantar.app import make_app

    with Clinic.init(tmp_path / "clinic") as clinic:
        app = make_app(clinic)
        yield app
        app.capture.close()


def _latest(client, after=None):
    answer = client.get(LIVE_ROUTE if after is None else f"{LIVE_ROUTE}?after={after}")
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    return answer.get_json()


def _block_max(frame, factor):
    """The maximum of each factor x factor block, cell by cell (edge blocks: what is left of the mat)."""
    rows, cols = -(-frame.shape[0] // factor), -(-frame.shape[1] // factor)
    out = np.zeros((rows, cols))
    for r in range(rows):
        for c in range(cols):
            out[r, c] = frame[r * factor : (r + 1) * factor, c * factor : (c + 1) * factor].max()
    return out


def test_the_route_gives_the_latest_frame_pooled_and_says_when_it_is_unchanged(app):
    """A held load on a 400 x 100 walkway (pooled by 7, the last blocks cut by the mat's edge) as the page gets it."""
    load = np.zeros((400, 100))
    load[100:160, 20:45] = np.linspace(50.0, 300.0, 25)  # a gradient across: each block's maximum is its last column
    load[396:400, 97:100] = 200.0  # in the edge blocks
    client = app.server.test_client()
    assert _latest(client) == {"seq": None, "status": "no mat connected: pick one and press Connect",
                               "recording": False, "unchanged": False}  # fmt: skip
    with VirtualMat(shape=(400, 100), frames_kpa=load, sensor=SensorModel(**IDEAL), rate_hz=50.0) as mat:
        mat.start()
        app.capture.connect(mat.url)
        deadline = time.monotonic() + 30
        while len(app.capture._frames) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        sent = app.capture._frames[-1].counts.astype(float)  # the mat sends this frame, again and again
        assert sent.max() > 0
        p = _latest(client)
        assert (p["rows"], p["cols"], p["pool"]) == (58, 15, [7, 7])
        shown = decode_map(p["map"], p["scale"], (p["rows"], p["cols"]))
        expected = _block_max(sent, 7)
        assert p["scale"] == expected.max()
        np.testing.assert_allclose(shown, expected, atol=expected.max() / 131070)
        assert p["unit"] == "counts" and p["force_unit"] == "counts"
        # all the load on one footprint left of a walk down the rows (the mat's middle is the line at first)
        assert p["left"] + p["right"] == pytest.approx(sent[sent > 0].sum(), rel=1e-6)
        assert p["left"] == pytest.approx(sent[:, :50].sum(), rel=1e-6)
        # the trail: one point per kept frame, each at the load's centre in map cells
        rows, cols = np.indices(sent.shape)
        centre = [(np.sum(sent * rows) / sent.sum() - 3) / 7, (np.sum(sent * cols) / sent.sum() - 3) / 7]
        points = np.array([q for q in p["trail"] if q is not None])
        assert len(points) >= 1
        np.testing.assert_allclose(points, np.broadcast_to(centre, points.shape), atol=0.006)
        # the page asks again with the frame it drew: the map is left out until a newer frame arrives
        again = _latest(client, after=p["seq"])
        assert again["unchanged"] == (again["seq"] == p["seq"])
        if again["unchanged"]:
            assert "map" not in again and "frames/s from the mat" in again["status"]
        deadline = time.monotonic() + 10
        while (newer := _latest(client, after=p["seq"]))["unchanged"] and time.monotonic() < deadline:
            time.sleep(0.02)
        assert int(newer["seq"]) > int(p["seq"]) and "map" in newer
        # read-only
        assert client.post(LIVE_ROUTE).status_code == 405
        app.capture.disconnect()
    assert _latest(client)["seq"] is None


def test_with_a_calibration_the_view_is_in_kpa_and_counts_saturated_sensels():
    """The linear curve of the calibration's own example: 2,000 counts are 200 kPa on 10 mm sensels."""
    rest = plantar.make_counts(np.zeros((100, 4, 4), np.uint16), pitch_mm=10.0, rate_hz=50.0)
    frames = np.zeros((10, 4, 4), np.uint16)
    frames[:, 1:3, 1:3] = 2000
    loaded = plantar.make_counts(frames, pitch_mm=10.0, rate_hz=50.0)
    cal = calibration.fit(calibration.tare(rest, adc_bits=12), [(loaded, 80.0)], models=("linear",))
    frame = frames[0].copy()
    frame[2, 2] = 4095  # at the 12-bit rail
    truth = calibration.apply(plantar.make_counts(frame[None], pitch_mm=10.0, rate_hz=50.0), cal)
    view = LiveView((4, 4), pitch_mm=(10.0, 10.0), calibration=cal)
    view.add(frame[None], keys=[7])
    live = view.state()
    assert live["unit"] == "kPa" and live["seq"] == 7
    np.testing.assert_allclose(live["map"], truth.pressure.values[0], rtol=1e-6)
    assert live["peak"] == pytest.approx(float(truth.pressure.max()), rel=1e-6)
    assert live["saturated_cells"] == int(truth.saturated_sensels[0]) == 1
    # force: kPa x cell area (100 mm^2) = mN per cell
    assert live["force_left"] + live["force_right"] == pytest.approx(float(truth.pressure.sum()) * 0.1, rel=1e-6)


def _per_foot(seed, passes):
    """Feed a synthetic walk to the live view frame by frame, as it arrives: the forces it shows and the truth's."""
    walk, truth = plantar.synth.walk(seed=seed, passes=passes)
    pressure = walk.pressure.values
    view = LiveView(pressure.shape[1:], pitch_mm=(5.0, 5.0))
    shown = np.zeros((len(pressure), 2))
    for i in range(len(pressure)):  # the live view's own pace: one frame at a time
        view.add(pressure[i : i + 1], keys=[i])
        live = view.state()
        shown[i] = live["force_left"], live["force_right"]
    shown *= 5.0 * 5.0 / 1000.0  # sum of kPa x 25 mm^2: N
    side = truth.side.values
    force = truth.force_on_mat.values
    true = np.column_stack([force[side == "left"].sum(axis=0), force[side == "right"].sum(axis=0)])
    return shown, true, force, truth.pass_index.values


@pytest.mark.parametrize("seed", [0, 3])
def test_each_foot_gets_its_force_of_the_synthetic_walk(seed):
    """Three passes back and forth: with both feet down, each foot's force is the truth's."""
    shown, true, force, pass_index = _per_foot(seed, passes=3)
    both = (true > 0).all(axis=1)
    single = (true > 0).sum(axis=1) == 1
    close = (np.abs(shown - true) <= 0.05 * true).all(axis=1)
    assert both.sum() > 60  # about 30 frames of double support per pass
    assert close[both].mean() >= 0.95, f"{close[both].mean():.3f} of {both.sum()} frames with both feet down"
    # one foot down: once both feet have been down in the pass, the walking line puts it on its side
    loaded = force > 0
    frame_pass = np.where(loaded.any(axis=0), pass_index[np.argmax(loaded, axis=0)], -1)
    placed = np.zeros(len(true), bool)
    for k in np.unique(frame_pass[frame_pass >= 0]):
        mine = frame_pass == k
        placed |= mine & (np.cumsum(both & mine) > 0)
    assert (single & placed).sum() > 250
    assert close[single & placed].mean() >= 0.95
    # and the load shown is all the load on the mat
    total = true.sum(axis=1)
    np.testing.assert_allclose(shown.sum(axis=1)[total > 0], total[total > 0], rtol=1e-5)


def test_toes_go_with_their_foot_and_a_noisy_sensel_does_not_move_the_line():
    """Walking along the columns, towards smaller x: a foot with separate toes, the other foot, a hot sensel."""
    frame = np.zeros((60, 200))
    frame[10:22, 120:170] = 1.0  # a foot (rows 10-21), its toes 5 sensels (25 mm) ahead at smaller x
    frame[12:20, 108:115] = 1.0
    frame[35:47, 20:70] = 2.0  # the other foot, a step ahead
    frame[58, 190] = 50.0  # a hot sensel
    left, right, line = split_feet(frame, axis=1, direction=-1, line=None, pitch_mm=(5.0, 5.0))
    # walking towards -x, left is towards -y (smaller rows): the first foot with its toes
    assert left == 12 * 50 + 8 * 7
    assert right == 2.0 * 12 * 50 + 50.0
    assert line == pytest.approx((15.5 + 40.5) / 2, abs=0.2)
