"""The clinic app's capture controller: recordings in the server, one at a time, and the live view."""

import threading
import time

import numpy as np
import pytest

from plantar.app import Capture, CaptureError, trial_quality
from plantar.clinic import Clinic
from plantar.drivers.sim import SensorModel, VirtualMat

RATE_HZ = 100.0


@pytest.fixture
def clinic(tmp_path):
    with Clinic.init(tmp_path / "clinic") as clinic:
        clinic.add_patient("P001", name="Jane Example")
        clinic.add_visit("P001", date="2024-03-01")
        yield clinic


@pytest.fixture
def capture(clinic):
    capture = Capture(clinic)
    yield capture
    capture.close()


def _wait_frames(capture, n, timeout_s=20.0):
    deadline = time.monotonic() + timeout_s
    while len(capture._frames) < n and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(capture._frames) >= n, "the mat sent no frames"


def test_recording_is_stored_in_the_visit_with_its_quality(clinic, capture):
    capture.connect_virtual(seed=3)
    _wait_frames(capture, 10)
    status = capture.start(visit=1, kind="orthotic", label="orthotic A")
    assert status["state"] == "recording" and status["condition"] == "orthotic A"
    started = time.monotonic()
    time.sleep(3.0)
    asked_s = time.monotonic() - started
    status = capture.stop()
    assert status["state"] == "ready" and status["error"] is None
    last = status["last"]
    trials = clinic.visit(1)["trials"]
    assert [(t["uid"], t["kind"], t["label"]) for t in trials] == [(last["uid"], "orthotic", "orthotic A")]
    # the recording spans the time between start and stop (the thread ends it within one status interval)
    assert asked_s - 0.2 < last["duration_s"] < asked_s + 1.0
    assert last["sampling_rate_hz"] == pytest.approx(RATE_HZ, rel=0.01)
    trial = clinic.read_trial(last["uid"])
    # the quality says what the stored file states (a busy host may lose frames of the virtual mat's pty)
    assert last["quality"] == trial_quality(trial)
    assert last["quality"]["frames_lost"] == trial.attrs["frames_lost"]
    assert last["quality"]["frames"] == trial.sizes["time"] == last["frames"]
    # the raw recording stays beside the clinic's trials; the journal is gone once converted
    raw = list((clinic.folder / "recordings" / "P001").iterdir())
    assert [p.suffix for p in raw] == [".nc"]


def test_a_second_start_is_refused_while_recording(clinic, capture):
    capture.connect_virtual(seed=1)
    _wait_frames(capture, 10)
    capture.start(visit=1, kind="barefoot")
    with pytest.raises(CaptureError, match=r"a recording is running \(barefoot\)"):
        capture.start(visit=1, kind="shod")
    with pytest.raises(CaptureError, match="stop it before"):
        capture.disconnect()
    time.sleep(1.0)
    capture.stop()
    with pytest.raises(CaptureError, match="no recording is running"):
        capture.stop()
    capture.start(visit=1, kind="shod")  # once stored, the next condition starts
    time.sleep(1.0)
    capture.stop()
    assert [t["kind"] for t in clinic.visit(1)["trials"]] == ["barefoot", "shod"]


def test_start_needs_a_mat_a_calibration_and_a_visit(clinic, capture):
    with pytest.raises(CaptureError, match="no mat is connected"):
        capture.start(visit=1, kind="barefoot")
    with pytest.raises(ValueError, match="there is no visit 7"):
        capture.start(visit=7, kind="barefoot")
    with pytest.raises(CaptureError, match="kind must be one of"):
        capture.start(visit=1, kind="sandals")
    with VirtualMat(shape=(16, 16), walk_s=2.0) as mat:
        mat.start()
        capture.connect(mat.url)
        with pytest.raises(CaptureError, match="no calibration"):
            capture.start(visit=1, kind="barefoot")
        capture.disconnect()


def _post(client, output, inputs, state, changed):
    body = {"output": output, "outputs": dict(zip(("id", "property"), output.split("."))),
            "inputs": inputs, "state": state, "changedPropIds": [changed]}  # fmt: skip
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200, response.data[:300]
    return response.get_json()["response"]


def test_closing_the_page_leaves_the_recording_running(clinic):
    """The page starts a recording, then goes away: nothing asks the server for 3 s; the recording runs on."""
    from plantar.app import make_app

    app = make_app(clinic)
    capture = app.capture
    try:
        capture.connect_virtual(seed=2)
        _wait_frames(capture, 10)
        state = [{"id": "visit-id", "property": "data", "value": 1},
                 {"id": "kind", "property": "value", "value": "shod"},
                 {"id": "label", "property": "value", "value": "trainers"}]  # fmt: skip
        page = app.server.test_client()
        answer = _post(page, "capture-message.children", [{"id": "start", "property": "n_clicks", "value": 1},
                       {"id": "stop", "property": "n_clicks", "value": None}], state, "start.n_clicks")  # fmt: skip
        assert "Recording trainers" in answer["capture-message"]["children"]
        started = time.monotonic()
        del page  # the tab closes: no live view, no requests
        time.sleep(3.0)
        assert capture.status()["state"] == "recording"
        assert capture.status()["frames"] >= 2.0 * RATE_HZ  # frames kept arriving into the journal
        other = app.server.test_client()  # another tab stops it
        asked = time.monotonic() - started
        answer = _post(other, "capture-message.children", [{"id": "start", "property": "n_clicks", "value": 1},
                       {"id": "stop", "property": "n_clicks", "value": 1}], state, "stop.n_clicks")  # fmt: skip
        elapsed = time.monotonic() - started
        assert answer["capture-message"]["children"] == "Stored."
        last = capture.last
        assert last["label"] == "trainers" and last["kind"] == "shod"
        # it ran from the start to the stop: storing it afterwards (calibration, analysis) is not part of it
        assert asked - 1.0 < last["duration_s"] <= elapsed + 0.5
    finally:
        capture.close()


def test_live_view_pools_a_big_mat_and_follows_the_centre_of_pressure(clinic, capture):
    """A held load on rows 40-49, columns 4-9 of a 128 x 32 mat: drawn on 64 x 16 cells, its centre known."""
    load = np.zeros((128, 32))
    load[40:50, 4:10] = 150.0
    ideal = SensorModel(gain_sd=0.0, offset_mean_counts=0.0, offset_sd_counts=0.0, noise_sd_counts=0.0,
                        dead_sensels=0, hot_sensels=0)  # fmt: skip
    with VirtualMat(shape=(128, 32), frames_kpa=load, sensor=ideal, rate_hz=RATE_HZ) as mat:
        mat.start()
        capture.connect(mat.url)
        _wait_frames(capture, 20)
        time.sleep(1.2)  # a whole second of frames for the rate
        live = capture.live()
        assert live["pool"] == (2, 2) and live["map"].shape == (64, 16)
        rows, cols = np.nonzero(live["map"])
        assert (rows.min(), rows.max(), cols.min(), cols.max()) == (20, 24, 2, 4)
        assert live["peak"] == live["map"].max() > 0
        # a uniform block: its centre of pressure is its middle, the middle of cells 20-24 and 2-4 as drawn
        np.testing.assert_allclose(live["trail_row"], 22.0, atol=1e-6)
        np.testing.assert_allclose(live["trail_col"], 3.0, atol=1e-6)
        assert live["load_left"] == pytest.approx(100.0) and live["load_right"] == pytest.approx(0.0)
        # the mat's rate: a busy machine may lose frames, never add any
        assert 0.5 * RATE_HZ < live["frame_rate_hz"] <= 1.1 * RATE_HZ
        # polled as the page does, every 100 ms: a poll hands over the newest frame, never an older one
        polls, started = [], time.monotonic()
        for _ in range(10):
            time.sleep(0.1)
            polls.append(capture.live()["seq"])
        elapsed = time.monotonic() - started
        assert all(b >= a for a, b in zip(polls, polls[1:])) and len(set(polls)) >= 2
        # frames drawn per second: at most one per poll, about 10 a second here (fewer if frames came late)
        assert 0.0 < capture.live()["drawn_hz"] <= 1.5 * 10 / min(1.0, elapsed)
        capture.disconnect()
    assert capture.live() == {"map": None, "seq": None}


def test_stop_from_another_thread_while_a_client_polls(clinic, capture):
    """Live polls on one thread and stop on another do not disturb the recording."""
    capture.connect_virtual(seed=4)
    _wait_frames(capture, 10)
    capture.start(visit=1, kind="barefoot")
    seen, done = [], threading.Event()

    def poll():
        while not done.is_set():
            seen.append(capture.live()["seq"])
            time.sleep(0.05)

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(1.5)
    status = capture.stop()
    done.set()
    poller.join()
    assert status["error"] is None and status["last"]["frames"] > 1.0 * RATE_HZ
    assert len(set(seen)) > 10


def _upload(data, name):
    import base64

    return "data:application/octet-stream;base64," + base64.b64encode(data).decode(), name


def test_an_upload_is_imported_through_plantar_read_and_a_broken_one_says_why(clinic, tmp_path):
    import plantar
    from plantar.app._web import import_upload

    walk, _ = plantar.synth.walk(seed=0, passes=1)
    plantar.save(walk, tmp_path / "walk.nc")
    row = import_upload(clinic, *_upload((tmp_path / "walk.nc").read_bytes(), "C:\\exports\\walk.nc"), visit=1,
                        kind="shod", label="trainers")  # fmt: skip
    assert (row["kind"], row["label"], row["frames"]) == ("shod", "trainers", walk.sizes["time"])
    assert np.array_equal(clinic.read_trial(row["uid"]).pressure.values, walk.pressure.values)
    hostile = '<img src=x onerror="alert(1)">.nc'
    with pytest.raises(ValueError) as info:
        import_upload(clinic, *_upload(b"\x89HDF not really", hostile), visit=1, kind="shod")
    message = str(info.value)
    assert "\n" not in message and "<" not in message and "plantar-upload-" not in message
    with pytest.raises(ValueError, match="larger than 0.001 MB"):
        import_upload(clinic, *_upload(bytes(2000), "big.nc"), visit=1, kind="shod", max_bytes=1000)
    # the broken files left the visit as it was
    assert [t["label"] for t in clinic.visit(1)["trials"]] == ["trainers"]
