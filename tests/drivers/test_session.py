"""End to end through real pyserial: the virtual mat on a pty, a session, the recorder.

Every received frame is checked against what the mat sent for that scan, and every
counter against the faults the mat says it injected.
"""

import datetime
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import plantar
from plantar.drivers import (
    FLAG_AFTER_REBOOT,
    FLAG_AFTER_RECONNECT,
    FLAG_DEVICE_OVERRUN,
    DeviceError,
    PortError,
    open_mat,
)
from plantar.drivers.sim import Faults, VirtualMat

pytestmark = pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs ptys (Linux, macOS)")


def _scans_of(raw_or_frames, truth):
    """Truth scan index of each recorded frame, from its boot (reboots seen so far) and seq."""
    seq = np.asarray(raw_or_frames["seq"], np.int64)
    flags = np.asarray(raw_or_frames["flags"], np.int64)
    boot = np.cumsum((flags & FLAG_AFTER_REBOOT) != 0)
    scans = truth.scans
    lookup = {(int(b), int(s)): int(k) for k, b, s in zip(scans["scan"], scans["boot"], scans["seq"])}
    return np.array([lookup[(int(b), int(s))] for b, s in zip(boot, seq)])


def _check_against_truth(raw, truth):
    """Every frame is what the mat sent; every sent scan in range is there; losses add up."""
    scan = _scans_of({"seq": raw.seq.values, "flags": raw.flags.values}, truth)
    for i, k in enumerate(scan):
        np.testing.assert_array_equal(raw.counts.values[i], truth.counts(k), err_msg=f"frame {i} (scan {k})")
    fate = truth.scans["fate"]
    assert np.all(fate[scan] == "sent")
    in_range = np.arange(scan[0], scan[-1] + 1)
    boots = truth.scans["boot"]
    # Scans whose loss the scan counter can show: within a boot, between received frames.
    seen_boots = np.unique(boots[scan])
    countable = np.zeros(fate.size, bool)
    for b in seen_boots:
        mine = scan[boots[scan] == b]
        countable[mine.min() : mine.max() + 1] = True
    # Frames the mat wrote just before an unplug may still be in the port's buffer when it vanishes
    # (a busy host reads late): they go with it, though the mat counts them sent.
    in_flight = np.zeros(fate.size, bool)
    for i in np.flatnonzero(np.asarray(raw.flags.values) & FLAG_AFTER_RECONNECT):
        in_flight[scan[i - 1] + 1 : scan[i]] = i > 0
    missing = countable.copy()
    missing[scan] = False
    assert np.all((fate[missing] != "sent") | in_flight[missing]), "a sent frame is missing"
    assert raw.attrs["frames_lost"] == int(missing[in_range].sum())
    return scan


def test_ten_second_walk_with_wire_faults(tmp_path):
    """10 s at 100 Hz with bit errors, bursts of lost frames and a boot banner."""
    faults = Faults(seed=3, bit_error_rate=1e-5, bursts=((2.0, 5), (5.5, 17)), banner=b"bootloader v1\r\n",
                    junk_every_s=3.0)  # fmt: skip
    mat = VirtualMat("pmat1", shape=(48, 40), pitch_mm=8.0, rate_hz=100.0, seed=1, walk_s=12.0,
                     faults=faults, clock_drift_ppm=2000.0)  # fmt: skip
    shown = []  # what the status line shows, last the final numbers of the recording
    with mat:
        with open_mat(mat.url, protocol="pmat1") as session:
            path = session.record(tmp_path / "walk.nc", seconds=10.0, subject="S1", condition="barefoot",
                                  status=lambda stats, latest: shown.append(stats))  # fmt: skip
            time.sleep(0.3)  # the session goes on counting after the recording: the file must not
            whole_session = session.stats
    raw = plantar.read(path)
    plantar.check_counts(raw)
    assert not (tmp_path / "walk.pmrec").exists()
    truth = mat.truth
    scan = _check_against_truth(raw, truth)
    fate = truth.scans["fate"][scan[0] : scan[-1] + 1]
    injected = int(np.sum(fate == "dropped") + np.sum(fate == "corrupted"))
    assert np.sum(fate == "dropped") >= 22  # both bursts inside the recording
    assert np.sum(fate == "corrupted") > 0  # 1e-5 per bit over ~10 s of frames
    # One count: the file, the recording's live statistics and the truth agree exactly.
    stats = shown[-1]
    assert stats.frames == raw.sizes["time"] and "journal_complete" not in raw.attrs, (stats, raw.attrs)
    assert raw.attrs["frames_lost"] == injected == stats.lost_frames
    assert whole_session.frames > stats.frames
    assert [s.lost_frames for s in shown] == sorted(s.lost_frames for s in shown)
    assert 0 < stats.crc_errors + stats.bad_packets <= np.sum(truth.scans["fate"][scan[0] :] == "corrupted")
    assert stats.junk_bytes > 0 and stats.reboots == 0
    # A frame after a device-side loss carries the device's overrun flag.
    after_burst = np.flatnonzero(np.diff(scan) > 1) + 1
    dropped_before = [truth.scans["fate"][scan[i] - 1] == "dropped" for i in after_burst]
    assert all(raw.flags.values[i] & FLAG_DEVICE_OVERRUN for i, d in zip(after_burst, dropped_before) if d)
    # Time: on the scan grid, drift-corrected to the host clock.
    t_scan = truth.scans["t_scan_ns"][scan]
    true_rate = 1e9 * (scan[-1] - scan[0]) / (t_scan[-1] - t_scan[0])
    assert raw.attrs["sampling_rate_hz"] == pytest.approx(true_rate, rel=5e-4)
    assert abs(true_rate - 100.0) > 0.1  # the drift was there to correct
    np.testing.assert_allclose(raw.time.values, (t_scan - t_scan[0]) / 1e9, atol=1e-3)
    assert raw.sizes["time"] >= 0.95 * 10.0 * 100.0 - injected
    assert raw.attrs["subject"] == "S1" and "virtual mat" in raw.attrs["device"]


def test_unplug_reconnects_and_marks_the_gap(tmp_path):
    faults = Faults(unplugs=((1.5, 2.0),))
    mat = VirtualMat("pmat1", shape=(32, 32), rate_hz=100.0, walk_s=8.0, faults=faults)
    with mat:
        with open_mat(mat.url, protocol="pmat1") as session:
            started = time.monotonic()
            path = session.record(tmp_path / "walk.nc", seconds=6.0)
            stats = session.stats
    raw = plantar.read(path)
    truth = mat.truth
    assert stats.reconnects == 1 and stats.reboots == 0
    gap = np.flatnonzero(raw.flags.values & FLAG_AFTER_RECONNECT)
    assert gap.size == 1
    i = gap[0]
    dt = float(raw.time[i] - raw.time[i - 1])
    assert 2.0 <= dt <= 2.0 + 3.0  # unplugged 2 s, back within the back-off (2 s at most) and a handshake
    unplug = [t for t, kind, _ in truth.events if kind == "unplug"][0]
    replug = [t for t, kind, _ in truth.events if kind == "replug"][0]
    lost_at, back_at = stats.gaps_ns[0]
    assert unplug <= lost_at <= unplug + 0.5e9 and back_at - replug <= 3.0e9
    _check_against_truth(raw, truth)
    assert float(raw.time[-1]) > 3.5 and time.monotonic() - started < 12.0


def test_reboot_is_reported_as_a_reboot(tmp_path):
    mat = VirtualMat("pmat1", shape=(24, 24), rate_hz=100.0, walk_s=5.0, faults=Faults(reboots=(1.0,)))
    with mat:
        with open_mat(mat.url, protocol="pmat1") as session:
            path = session.record(tmp_path / "walk.nc", seconds=3.0)
            stats = session.stats
    raw = plantar.read(path)
    assert stats.reboots == 1 and raw.attrs["device_reboots"] == 1
    assert stats.lost_frames < 1000  # a restart, not four billion lost frames
    after = np.flatnonzero(raw.flags.values & FLAG_AFTER_REBOOT)
    assert after.size == 1 and raw.seq.values[after[0]] < raw.seq.values[after[0] - 1]
    scan = _check_against_truth(raw, mat.truth)
    t_scan = mat.truth.scans["t_scan_ns"][scan]
    # The restart is placed in time from the host clock, to within a frame or two.
    np.testing.assert_allclose(raw.time.values, (t_scan - t_scan[0]) / 1e9, atol=0.025)


@pytest.mark.parametrize("protocol", ["sensitronics-zrle", "kitronyx-csv", "csv-rows"])
def test_other_protocols_end_to_end(protocol):
    shape = {"sensitronics-zrle": (10, 16), "kitronyx-csv": (16, 10), "csv-rows": (12, 20)}[protocol]
    mat = VirtualMat(protocol, shape=shape, rate_hz=50.0, walk_s=3.0, pitch_mm=20.0)
    before = datetime.datetime.now(datetime.timezone.utc)
    with mat:
        with open_mat(mat.url, protocol=protocol, shape=shape, rate_hz=50.0, pitch_mm=20.0) as session:
            raw = session.read(n_frames=40)
    assert raw.counts.shape == (40,) + shape
    start = datetime.datetime.fromisoformat(raw.attrs["start_time"])  # wall clock of the first frame
    assert before <= start <= datetime.datetime.now(datetime.timezone.utc)
    scans = mat.truth.scans
    sent = scans["scan"][scans["fate"] == "sent"]
    sent_counts = [mat.truth.counts(k) for k in sent]
    # No scan counter: each frame must be a scan the mat sent, in the order it sent
    # them (a polled mat may answer two polls with the same latest scan).
    at = 0
    for i in range(40):
        matches = [j for j in range(at, len(sent)) if np.array_equal(sent_counts[j], raw.counts.values[i])]
        assert matches, f"frame {i} is not a scan the mat sent after the previous frame's"
        at = matches[0]


def test_wrong_protocol_is_named_within_seconds():
    with VirtualMat("csv-rows", shape=(8, 8), rate_hz=50.0, walk_s=2.0) as mat:
        started = time.monotonic()
        with pytest.raises(DeviceError, match=rf"{mat.url}.*not with a PMAT/1 INFO.*protocol"):
            open_mat(mat.url, protocol="pmat1", timeout_s=1.5)
        assert time.monotonic() - started < 4.0


def test_silent_device_missing_port_and_busy_port(tmp_path):
    master, slave = os.openpty()
    try:
        import tty

        tty.setraw(slave)
        name = os.ttyname(slave)
        started = time.monotonic()
        with pytest.raises(DeviceError, match=rf"{name} sent nothing within 1 s"):
            open_mat(name, protocol="pmat1", timeout_s=1.0)
        assert time.monotonic() - started < 3.0
    finally:
        os.close(master)
        os.close(slave)
    with pytest.raises(PortError, match=r"/dev/plantar-no-such-port.*no such port"):
        open_mat("/dev/plantar-no-such-port")
    with VirtualMat("pmat1", shape=(8, 8), walk_s=1.0) as mat:
        with open_mat(mat.url) as session:
            with pytest.raises(PortError, match="in use"):
                open_mat(mat.url)
            assert session.stats.connected


def test_ctrl_c_stops_and_keeps_the_recording(tmp_path):
    calls = []

    def status(stats, latest):
        calls.append(stats.frames)
        if len(calls) == 4:
            raise KeyboardInterrupt

    with VirtualMat("pmat1", shape=(16, 16), rate_hz=100.0, walk_s=3.0) as mat:
        with open_mat(mat.url) as session:
            path = session.record(tmp_path / "walk.nc", seconds=30.0, status=status, status_interval_s=0.25)
    raw = plantar.read(path)
    assert 0.5 < float(raw.time[-1]) < 2.0 and raw.sizes["time"] >= calls[-1]


def test_kill_minus_nine_keeps_everything_up_to_the_last_second(tmp_path):
    out = tmp_path / "walk.nc"
    with VirtualMat("pmat1", shape=(64, 64), rate_hz=200.0, walk_s=10.0) as mat:
        proc = subprocess.Popen(
            [sys.executable, "-m", "plantar", "-q", "record", "--port", mat.url, "--seconds", "60", "-o", str(out)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        journal = tmp_path / "walk.pmrec"
        deadline = time.monotonic() + 60  # a busy machine starts the recorder slowly: wait for frames, not time
        while time.monotonic() < deadline:
            time.sleep(0.2)
            scans = mat.truth.scans
            if journal.exists() and np.sum(scans["t_host_ns"] >= 0) > 600:  # 3 s of frames sent
                break
        killed_ns = time.monotonic_ns()
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert not out.exists()
    raw = plantar.read(journal)
    plantar.check_counts(raw)
    assert raw.attrs["journal_complete"] == 0
    scans = mat.truth.scans
    before = (scans["fate"] == "sent") & (scans["t_host_ns"] >= 0) & (scans["t_host_ns"] <= killed_ns - 1e9)
    first = int(raw.seq.values[0])
    wanted = set(scans["seq"][before & (scans["seq"] >= first)].tolist())
    assert len(wanted) > 300
    assert wanted <= set(raw.seq.values.tolist())


def test_record_over_a_tcp_socket(tmp_path):
    """socket:// URLs (Windows, a network bridge) keep the frame rate and the frame times."""
    with VirtualMat("pmat1", shape=(64, 64), rate_hz=200.0, walk_s=4.0, link="tcp") as mat:
        assert mat.url.startswith("socket://")
        with open_mat(mat.url) as session:
            path = session.record(tmp_path / "walk.nc", seconds=2.0)
    raw = plantar.read(path)
    scan = _check_against_truth(raw, mat.truth)
    assert raw.sizes["time"] >= 0.9 * 2.0 * 200
    # Frames are read as they come, not in bursts: the time from the mat's write to the host's read
    # stays within 30 ms for 95 % of frames (a busy machine may hold up a few).
    written = mat.truth.scans["t_host_ns"][scan]
    latency = raw.t_host.values - (written - written[0]) / 1e9
    assert np.percentile(latency, 97.5) - np.percentile(latency, 2.5) < 0.03


def _true_times(raw, truth):
    """The true scan time of each recorded frame, in s from the first one's, and the scan indices."""
    scan = _scans_of({"seq": raw.seq.values, "flags": raw.flags.values}, truth)
    t_scan = truth.scans["t_scan_ns"][scan]
    return (t_scan - t_scan[0]) / 1e9, scan


def _stance_times(pressure, time_s, scan, rate_hz):
    """Steps found on a walk's true pressure at the given frame times: {first scan: (last scan, t_off - t_on)}."""
    from plantar.steps import FootstepSegmentation

    trial = plantar.make_trial(pressure, pitch_mm=8.0, rate_hz=rate_hz, time_s=time_s)
    steps = FootstepSegmentation(threshold_kpa=20.0).segment(trial).steps_
    return {int(scan[s.frames.start]): (int(scan[s.frames.stop - 1]), float(time_s[s.frames.stop - 1] -
            time_s[s.frames.start])) for s in steps}  # fmt: skip


FAULTS = {
    # Self-powered: the device scans on while unplugged, then idles until the host's START.
    "unplug": Faults(seed=2, bit_error_rate=1e-5, unplugs=((2.5, 2.0),)),
    # Powered by the link: it reboots when plugged back (counter and clock restart).
    "unplug-reboot": Faults(unplugs=((2.5, 2.0),), unplug_reboots=True),
    "reboot": Faults(reboots=(2.5,)),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_time_stays_true_through_an_unplug_and_a_reboot(tmp_path, fault):
    """Every frame's time is its true scan time; stance times are those of the walk without the fault."""
    mat = VirtualMat("pmat1", shape=(96, 64), pitch_mm=8.0, rate_hz=100.0, seed=4, walk_s=8.0,
                     faults=FAULTS[fault], clock_drift_ppm=300.0)  # fmt: skip
    shown = []
    with mat:
        with open_mat(mat.url, protocol="pmat1") as session:
            path = session.record(tmp_path / "walk.nc", seconds=7.5, status=lambda stats, _: shown.append(stats))
    raw = plantar.read(path)
    truth = mat.truth
    period = 0.01 * (1 + 300e-6)
    true_s, scan = _true_times(raw, truth)
    _check_against_truth(raw, truth)
    breaks = np.flatnonzero(raw.flags.values & (FLAG_AFTER_RECONNECT | FLAG_AFTER_REBOOT))
    assert breaks.size == 1 and raw.attrs["reconnects" if fault != "reboot" else "device_reboots"] == 1
    # The mat's rate, not a stretch of it, and every frame within one frame period of its scan.
    assert raw.attrs["sampling_rate_hz"] == pytest.approx(1 / period, rel=2e-4)
    np.testing.assert_allclose(raw.time.values, true_s, rtol=0, atol=period)
    # The gap is a gap in time (2 s unplugged plus the reconnection), flagged, not spread over the frames.
    i = breaks[0]
    gap_s = float(raw.time[i] - raw.time[i - 1])
    assert gap_s == pytest.approx(true_s[i] - true_s[i - 1], abs=period)
    assert gap_s > (2.0 if fault != "reboot" else 0.0)
    assert raw.attrs["frames_lost"] == shown[-1].lost_frames
    # Stance times: the steps found on the recording's frames at the recorded times equal, to a frame
    # period, those found on the same walk recorded without the fault (every scan, at its true time).
    first, last = scan[0], scan[-1]
    every = np.arange(first, last + 1)
    every = every[np.isin(truth.scans["boot"][every], truth.scans["boot"][scan])]
    every = every[truth.scans["t_scan_ns"][every] >= 0]
    clean_s = (truth.scans["t_scan_ns"][every] - truth.scans["t_scan_ns"][first]) / 1e9
    pressure = {k: truth.pressure_kpa(k) for k in every}
    clean = _stance_times(np.stack([pressure[k] for k in every]), clean_s, every, 1 / period)
    recorded = _stance_times(np.stack([pressure[k] for k in scan]), raw.time.values, scan,
                             raw.attrs["sampling_rate_hz"])  # fmt: skip
    whole = [k for k, (end, _) in recorded.items() if k in clean and clean[k][0] == end]  # same first, last scan
    assert sum(k < scan[i] for k in whole) >= 1 and sum(k >= scan[i] for k in whole) >= 1, (recorded, clean)
    for k in whole:
        assert recorded[k][1] == pytest.approx(clean[k][1], abs=period), k


def _failing_after(n_writes, real):
    """A Recorder._write_now that fails as a full disk does after ``n_writes`` writes."""
    import errno

    calls = []

    def write_now(self, records):
        calls.append(len(records))
        if len(calls) > n_writes:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(self, records)

    return write_now


def test_a_full_disk_keeps_the_journal_and_says_how_to_recover(tmp_path, monkeypatch):
    """The journal stops at the full disk and keeps every frame written; one line says so and how to recover."""
    from plantar.drivers import Recorder

    monkeypatch.setattr(Recorder, "_write_now", _failing_after(15, Recorder._write_now))
    with VirtualMat("pmat1", shape=(16, 16), rate_hz=100.0, walk_s=3.0) as mat:
        with open_mat(mat.url) as session:
            with pytest.raises(OSError) as info:
                session.record(tmp_path / "walk.nc", seconds=20.0, status_interval_s=0.1)
    message = str(info.value)
    assert "\n" not in message and message.startswith("disk full: cannot write journal")
    assert f"plantar convert {tmp_path / 'walk.pmrec'}" in message and not (tmp_path / "walk.nc").exists()
    n_kept = int(message.split("keeps the first ")[1].split()[0])
    raw = plantar.read(tmp_path / "walk.pmrec")
    assert raw.sizes["time"] == n_kept > 0 and raw.attrs["journal_complete"] == 0
    _check_against_truth(raw, mat.truth)


@pytest.mark.parametrize("how", ["no room", "write fails"])
def test_a_failed_netcdf_save_keeps_the_journal(tmp_path, monkeypatch, how):
    """No room for the NetCDF file, or its write fails: the journal stays, and the message says how to convert it."""
    import errno
    import shutil

    from plantar import io

    if how == "no room":
        usage = shutil.disk_usage(tmp_path)
        monkeypatch.setattr(shutil, "disk_usage", lambda path: usage._replace(free=50_000))
    else:
        def save(*args, **kwargs):
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(io, "save", save)
    with VirtualMat("pmat1", shape=(16, 16), rate_hz=100.0, walk_s=3.0) as mat:
        with open_mat(mat.url) as session:
            with pytest.raises(OSError, match=r"^disk full: .*walk\.nc.*safe in its journal .*plantar convert"):
                session.record(tmp_path / "walk.nc", seconds=1.0)
    assert not (tmp_path / "walk.nc").exists()
    raw = plantar.read(tmp_path / "walk.pmrec")
    assert "journal_complete" not in raw.attrs and raw.sizes["time"] >= 50
    _check_against_truth(raw, mat.truth)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="mounts a small tmpfs (root)")
def test_plantar_record_on_a_full_disk_exits_1_in_one_line(tmp_path):
    tiny = tmp_path / "tiny"
    tiny.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(tiny)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        with VirtualMat("pmat1", shape=(64, 64), rate_hz=200.0, walk_s=5.0) as mat:
            result = subprocess.run(
                [sys.executable, "-m", "plantar", "record", "--port", mat.url, "--seconds", "30",
                 "-o", str(tiny / "walk.nc")], capture_output=True, text=True, timeout=120,
            )  # fmt: skip
        errors = [line for line in result.stderr.splitlines() if line.startswith("plantar: error:")]
        assert result.returncode == 1 and len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
        assert errors[0].startswith("plantar: error: disk full:") and "plantar convert" in errors[0]
        raw = plantar.read(tiny / "walk.pmrec")
        assert raw.sizes["time"] > 50
        _check_against_truth(raw, mat.truth)
    finally:
        subprocess.run(["umount", str(tiny)], capture_output=True)



class _PtyLikePort:
    """A port as pyserial's posix one behaves: ``read(n)`` returns at most ``n`` of the bytes waiting.

    ``in_waiting`` is 0 the first time it is asked (the reader waits for the first byte
    of a packet that then arrives whole), and the bytes left after that.
    """

    def __init__(self, data):
        self.data = bytearray(data)
        self.reads = 0
        self.asked = 0

    @property
    def in_waiting(self):
        self.asked += 1
        return 0 if self.asked == 1 else len(self.data)

    def read(self, n):
        self.reads += 1
        out = bytes(self.data[:n])
        del self.data[:n]
        return out


def test_a_packet_that_arrived_at_once_is_read_in_one_turn():
    """A read that waited for one byte also takes the bytes that came with it: one turn per packet."""
    from plantar.drivers.session import Session

    packet = plantar.drivers.pmat1.encode_frame(np.eye(4, dtype=int), seq=1, t_device_us=0)
    port = _PtyLikePort(packet)
    assert Session("loop://")._read(port) == packet
    assert port.reads == 2 and port.data == b""
