"""The virtual mat: its sensor model, and what a host sees through real pyserial ports.

The sensor model is checked against its own parameters with explicit tolerances. The
mat is driven like hardware (``serial.serial_for_url`` plus the protocol's parser) and
every frame received is compared with the mat's truth, scan by scan; each fault is
injected alone and checked from the host's side.
"""

import inspect
import math
import os
import struct
import time

import numpy as np
import pytest
import serial
from numpydoc.docscrape import ClassDoc, FunctionDoc

from plantar.drivers import FLAG_DEVICE_OVERRUN, FLAG_SATURATED, PROTOCOLS, pmat1
from plantar.drivers.sim import Faults, MatTruth, SensorModel, VirtualMat
from plantar.io.journal import scan_times

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the pty link needs Linux or macOS")

BANNER = b"virtual mat bootloader v1\r\n"


# --------------------------------------------------------------------------------------
# sensor model


def test_gain_and_offset_statistics_follow_the_parameters():
    model = SensorModel(seed=4, shape=(200, 200), gain_sd=0.2, offset_mean_counts=1.5, offset_sd_counts=0.7)
    log_gain = np.log(model.gain)
    n = log_gain.size
    assert abs(log_gain.mean()) < 4 * 0.2 / math.sqrt(n)  # LogNormal(0, sd): mean log gain 0
    assert log_gain.std() == pytest.approx(0.2, rel=0.02)
    # Offsets ~ Normal(1.5, 0.7) clipped at 0: mean of max(X, 0) = mu Phi(mu/sd) + sd phi(mu/sd).
    z = 1.5 / 0.7
    expected = 1.5 * 0.5 * (1 + math.erf(z / math.sqrt(2))) + 0.7 * math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    assert model.offset_counts.min() >= 0
    assert model.offset_counts.mean() == pytest.approx(expected, abs=4 * 0.7 / math.sqrt(n))
    assert np.median(model.offset_counts) == pytest.approx(1.5, abs=0.02)


def test_dead_and_hot_sensels_are_fixed_by_the_seed():
    a = SensorModel(seed=7, shape=(20, 30), dead_sensels=5, hot_sensels=4)
    b = SensorModel(seed=7, dead_sensels=5, hot_sensels=4).for_shape((20, 30))
    c = SensorModel(seed=8, shape=(20, 30))
    assert (a.dead.sum(), a.hot.sum(), (a.dead & a.hot).sum()) == (5, 4, 0)
    assert np.array_equal(a.dead, b.dead) and np.array_equal(a.hot, b.hot) and np.array_equal(a.gain, b.gain)
    assert not np.array_equal(a.dead, c.dead)
    rng = np.random.default_rng(0)
    for kpa in (0.0, 300.0, 5000.0):
        counts = a.counts(np.full(a.shape, kpa), rng)
        assert (counts[a.dead] == 0).all() and (counts[a.hot] == a.rail_counts).all()


@pytest.mark.parametrize("curve", ["linear", "power", "exponential", "hill"])
def test_response_is_monotone_puts_1000_kpa_at_the_rail_and_inverts_exactly(curve):
    model = SensorModel(curve=curve)
    kpa = np.linspace(0.0, 2000.0, 4001)
    counts = model.ideal_counts(kpa)
    assert (np.diff(counts) > 0).all()
    assert model.ideal_counts(1000.0) == pytest.approx(4095.0, rel=1e-12)
    c = np.arange(1, 4096, dtype=float)  # noise-free integer counts
    assert np.max(np.abs(model.ideal_counts(model.ideal_pressure_kpa(c)) / c - 1)) < 1e-9
    assert np.max(np.abs(model.ideal_pressure_kpa(counts[1:]) / kpa[1:] - 1)) < 1e-9
    if curve in ("power", "exponential"):  # sensitivity (counts per kPa) falls with load
        assert (np.diff(counts, 2) < 0).all()
    if curve == "hill":  # S-shaped: sensitivity rises up to the inflection, then falls
        a, n = model.params["a"], model.params["n"]
        inflection = a * ((n - 1) / (n + 1)) ** (1 / n)  # d2c/dP2 = 0 of c = b P**n / (a**n + P**n)
        curvature = np.diff(counts, 2)
        middle = kpa[1:-1]
        assert (curvature[middle < 0.98 * inflection] > 0).all()
        assert (curvature[middle > 1.02 * inflection] < 0).all()


def test_hill_response_with_n_1_is_an_fsr_in_a_voltage_divider():
    model = SensorModel(curve="hill", curve_params={"n": 1.0})
    b = 1.25 * 4095
    assert model.params == pytest.approx({"a": 250.0, "b": b, "n": 1.0})
    kpa = np.array([10.0, 250.0, 1000.0, 5000.0])
    np.testing.assert_allclose(model.ideal_counts(kpa), b * kpa / (250.0 + kpa), rtol=1e-12)
    assert model.ideal_pressure_kpa(b) == np.inf


def test_noise_free_model_reads_the_rounded_ideal_response():
    model = SensorModel(
        seed=1, shape=(8, 8), gain_sd=0.0, offset_mean_counts=0.0, offset_sd_counts=0.0,
        noise_sd_counts=0.0, deadband_counts=0, dead_sensels=0, hot_sensels=0,
    )  # fmt: skip
    kpa = np.linspace(1.0, 990.0, 64).reshape(8, 8)
    counts = model.counts(kpa, np.random.default_rng(0))
    assert np.array_equal(counts, np.rint(model.ideal_counts(kpa)))
    # The inverse recovers the pressure within the quantisation: half a count either side.
    c = counts.astype(float)
    half_count_kpa = np.maximum(
        model.ideal_pressure_kpa(c + 0.5) - model.ideal_pressure_kpa(c),
        model.ideal_pressure_kpa(c) - model.ideal_pressure_kpa(c - 0.5),
    )
    assert (np.abs(model.ideal_pressure_kpa(c) - kpa) <= half_count_kpa * (1 + 1e-9)).all()


def test_read_noise_offset_and_gain_statistics_per_sensel():
    model = SensorModel(seed=3, shape=(6, 5), dead_sensels=0, hot_sensels=0, noise_sd_counts=2.0)
    kpa = np.full((4000, 6, 5), 300.0)
    counts = model.counts(kpa, np.random.default_rng(1)).astype(float)
    # Rounding adds a uniform error of variance 1/12.
    assert counts.std(axis=0) == pytest.approx(np.full((6, 5), math.sqrt(4 + 1 / 12)), rel=0.08)
    expected = model.offset_counts + model.gain * model.ideal_counts(300.0)
    assert np.abs(counts.mean(axis=0) - expected).max() < 4 * 2.0 / math.sqrt(4000) + 0.01


def test_deadband_zeroes_small_readings_and_the_rail_clips():
    model = SensorModel(seed=0, shape=(30, 30), deadband_counts=4, hot_sensels=0)
    rng = np.random.default_rng(2)
    light = model.counts(np.zeros((30, 30)), rng)
    assert set(np.unique(light).tolist()) <= {0} | set(range(4, 20))
    assert (model.counts(np.full((30, 30), 20000.0), rng)[~model.dead] == 4095).all()
    assert model.counts(np.full((30, 30), 1e6), rng).max() == 4095


def test_sensor_model_rejects_bad_parameters():
    with pytest.raises(ValueError, match="curve must be one of"):
        SensorModel(curve="cubic")
    with pytest.raises(ValueError, match="curve_params for curve 'linear'"):
        SensorModel(curve="linear", curve_params={"b": 2.0})
    with pytest.raises(ValueError, match="no shape"):
        SensorModel().counts(np.zeros((2, 2)), np.random.default_rng(0))
    with pytest.raises(ValueError, match="dead_sensels \\+ hot_sensels"):
        SensorModel(shape=(2, 2), dead_sensels=3, hot_sensels=2)
    with pytest.raises(ValueError, match="adc_bits"):
        SensorModel(adc_bits=17)


# --------------------------------------------------------------------------------------
# the mat, through real ports


class Host:
    """A bare-bones host: a pyserial port and the protocol's parser."""

    def __init__(self, url, protocol="pmat1", shape=None):
        self.port = serial.serial_for_url(url, baudrate=115200, timeout=0.02)
        self.parser = PROTOCOLS[protocol].parser(shape=shape)
        self.frames = []  # every frame received
        self.request_id = 0
        self._returned = 0

    def _feed(self):
        # Read what is there as soon as it is there, so frames get accurate host times.
        self.frames += self.parser.feed(self.port.read(self.port.in_waiting or 1))

    def read(self, seconds):
        """Read for ``seconds``; return the frames received since the last call."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self._feed()
        new = self.frames[self._returned :]
        self._returned = len(self.frames)
        return new

    def send(self, packet_type, body=b""):
        self.request_id += 1
        self.port.write(pmat1.encode_packet(packet_type, self.request_id, body))
        return self.request_id

    def reply(self, packet_type, timeout_s=1.0):
        """Read until a packet of that type arrives; return it (frames read meanwhile are kept)."""
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            for i, packet in enumerate(self.parser.packets):
                if packet.type == packet_type:
                    del self.parser.packets[i]
                    return packet
            self._feed()
        raise AssertionError(f"no packet of type 0x{packet_type:02x} within {timeout_s} s")

    def start(self, rate_hz, encoding=pmat1.ENCODING_ZERO_RUN):
        request = self.send(pmat1.START, struct.pack("<HB", rate_hz, encoding))
        ack = self.reply(pmat1.ACK)
        assert ack.seq == request
        return struct.unpack("<IB", ack.body)

    def close(self):
        self.port.close()


@pytest.fixture
def run():
    """Start mats and open hosts; stop and close all of them whatever the test did."""
    mats, hosts = [], []

    def make(protocol="pmat1", *, host=True, **kwargs):
        kwargs = {"shape": (32, 32), "pitch_mm": 10.0, "walk_s": 3.0, **kwargs}
        mat = VirtualMat(protocol, **kwargs)
        mats.append(mat)
        mat.start()
        if not host:
            return mat
        host = Host(mat.url, protocol, mat.shape)
        hosts.append(host)
        if PROTOCOLS[protocol].poll is None:  # let the boot INFO arrive (or not), then forget it
            host.read(0.05)
            getattr(host.parser, "packets", []).clear()
        return mat, host

    yield make
    for host in hosts:
        host.close()
    for mat in mats:
        mat.stop()


def scan_of(truth, boot=0):
    """seq -> scan index, for the scans of one boot."""
    scans = truth.scans
    mine = scans["boot"] == boot
    return dict(zip(scans["seq"][mine].tolist(), scans["scan"][mine].tolist()))


def assert_frames_match_truth(frames, truth, boot=0):
    """Each frame is its scan's counts and flags; OVERRUN is set exactly after the device dropped scans.

    Scans the device skipped on its own (a host not reading) may appear under
    load; the truth names them and the frames must say so.
    """
    scans = truth.scans
    scan = scan_of(truth, boot)
    emitted = np.flatnonzero(np.isin(scans["fate"], ["sent", "corrupted"]))
    boot_start = np.searchsorted(scans["boot"], boot)
    previous_seq = -1
    for frame in frames:
        k = scan[frame.seq]
        np.testing.assert_array_equal(frame.counts, truth.counts(k), err_msg=f"seq {frame.seq}")
        # "corrupted" only for a packet that lost its last byte to an equal one and so arrived whole.
        assert scans["fate"][k] in ("sent", "corrupted") and frame.flags == scans["flags"][k]
        assert frame.seq > previous_seq
        previous_seq = frame.seq
        before = emitted[emitted < k]
        since = max(boot_start, before[-1] + 1 if before.size else 0)
        assert bool(frame.flags & FLAG_DEVICE_OVERRUN) == ("dropped" in scans["fate"][since:k]), frame


def kinds(truth):
    """The kinds of the events injected or commanded (not the device's own skips)."""
    return [kind for _, kind, _ in truth.events if kind != "backlog"]


def n_dropped(truth):
    return int((truth.scans["fate"] == "dropped").sum())


def test_pmat1_handshake_stream_rate_and_stop(run):
    mat, host = run(shape=(64, 64), pitch_mm=8.0, rate_hz=100.0)
    assert host.read(0.1) == []  # idle until START
    host.send(pmat1.GET_INFO)
    info = pmat1.parse_info(host.reply(pmat1.INFO).body)
    assert info == mat.info
    assert (info["rows"], info["cols"], info["adc_bits"], info["encodings"]) == (64, 64, 12, [1, 2, 3])
    assert host.start(200) == (host.request_id, 0)
    started_ns = time.monotonic_ns()
    frames = host.read(1.5)
    read_until_ns = time.monotonic_ns()
    seq = np.array([f.seq for f in frames])
    t_host_ns = np.array([f.t_host_ns for f in frames])
    # The rate from the earliest arrivals (a busy machine delays some frames, never speeds them up).
    _, _, rate_hz = scan_times(seq, t_host_ns, np.zeros(seq.size, int), has_seq=True)
    assert rate_hz == pytest.approx(200.0, rel=0.02)
    scans = mat.truth.scans
    assert np.sum(scans["t_scan_ns"] <= read_until_ns) >= 0.95 * 200 * (read_until_ns - started_ns) / 1e9
    # Every scan written at least 0.3 s before reading stopped was received.
    written = scans["seq"][(scans["fate"] == "sent") & (scans["t_host_ns"] >= 0)
                           & (scans["t_host_ns"] < read_until_ns - 0.3e9)]  # fmt: skip
    assert len(written) > 100 and set(written.tolist()) <= set(seq.tolist())
    dropped = int(np.sum(scans["fate"][seq[0] : seq[-1] + 1] == "dropped"))
    assert seq[0] == 0 and np.diff(seq).sum() == len(frames) - 1 + dropped
    assert (np.diff([f.t_device_us for f in frames]) == 5000 * np.diff(seq)).all()
    assert all(f.flags & FLAG_SATURATED for f in frames)  # the hot sensels are at the rail
    assert_frames_match_truth(frames, mat.truth)
    # PING -> PONG: the host time echoed, then the device clock.
    t_ns = time.monotonic_ns()
    request = host.send(pmat1.PING, struct.pack("<Q", t_ns))
    pong = host.reply(pmat1.PONG)
    echoed, t_device_us = struct.unpack("<QQ", pong.body)
    assert (pong.seq, echoed) == (request, t_ns) and t_device_us > 1_400_000
    # STOP -> ACK, then silence.
    request = host.send(pmat1.STOP)
    assert struct.unpack("<IB", host.reply(pmat1.ACK).body) == (request, 0)
    n_frames = len(host.frames)  # the frames sent before the ACK
    host.read(0.3)
    assert len(host.frames) == n_frames
    scans = mat.truth.scans
    assert [f.seq for f in host.frames] == scans["seq"][scans["fate"] == "sent"].tolist()
    assert kinds(mat.truth) == ["start", "stop"]
    assert host.parser.stats.errors() == 0


def test_device_clock_drifts_against_the_host_clock(run):
    ppm = 40_000.0  # a 4 % slow RC oscillator, large enough to measure in a second
    mat, host = run(clock_drift_ppm=ppm)
    host.start(100)
    frames = host.read(1.0)
    seq = np.array([f.seq for f in frames])
    t_host_ns = np.array([f.t_host_ns for f in frames])
    _, _, rate_hz = scan_times(seq, t_host_ns, np.zeros(seq.size, int), has_seq=True)  # earliest arrivals
    assert rate_hz == pytest.approx(100.0 / 1.04, rel=0.01)
    scans = mat.truth.scans
    slope = np.polyfit(scans["t_scan_ns"] * 1e-3, scans["t_device_us"], 1)[0]
    assert slope == pytest.approx(1 / 1.04, rel=1e-5)


def test_start_with_a_bad_rate_or_encoding_is_refused(run):
    mat, host = run()
    assert host.start(0)[1] == 1
    assert host.start(100, encoding=7)[1] == 1
    assert host.read(0.2) == [] and mat.truth.scans["scan"].size == 0
    assert [d["status"] for _, kind, d in mat.truth.events if kind == "start"] == [1, 1]


@pytest.mark.parametrize("encoding", [pmat1.ENCODING_U8, pmat1.ENCODING_U16])
def test_each_encoding_carries_the_truths_counts(run, encoding):
    mat, host = run(rate_hz=100.0)
    host.start(100, encoding)
    frames = host.read(0.4)
    assert len(frames) > 25
    assert_frames_match_truth(frames, mat.truth)
    limit = 255 if encoding == pmat1.ENCODING_U8 else 4095
    assert set(mat.truth.scans["max_count"].tolist()) == {limit}
    assert max(int(f.counts.max()) for f in frames) == limit


def test_a_host_that_does_not_read_gets_overrun_flags(run):
    mat, host = run(shape=(64, 64), pitch_mm=8.0)
    host.start(200, pmat1.ENCODING_U16)  # 8 KiB frames fill the pty's buffer in two frames
    time.sleep(0.5)
    host.read(0.3)
    host.send(pmat1.STOP)
    host.reply(pmat1.ACK)
    host.read(0.2)
    dropped = n_dropped(mat.truth)
    assert dropped > 50 and "backlog" in [kind for _, kind, _ in mat.truth.events]
    seq = np.array([f.seq for f in host.frames])
    flags = np.array([f.flags for f in host.frames])
    gap = np.diff(seq) - 1
    assert (gap >= 0).all() and gap.sum() == dropped
    assert (flags[1:][gap > 0] & FLAG_DEVICE_OVERRUN).all()
    assert not (flags[1:][gap == 0] & FLAG_DEVICE_OVERRUN).any()
    assert_frames_match_truth(host.frames, mat.truth)


def test_a_late_device_thread_sends_every_scan_late_none_skipped(run):
    """A device thread held up 80 ms (a busy machine) still performs every scan at its time and sends it."""
    mat, host = run()
    command = mat._command

    def slow_command(packet, now):  # the device stalls 80 ms on a PING
        if packet.type == pmat1.PING:
            time.sleep(0.08)
        command(packet, now)

    mat._command = slow_command
    host.start(200)
    host.read(0.2)
    host.send(pmat1.PING, struct.pack("<Q", 0))
    host.read(0.3)
    scans = mat.truth.scans
    seq = [f.seq for f in host.frames]
    late = (scans["t_host_ns"] - scans["t_scan_ns"])[seq]
    assert late.max() >= 0.06e9  # scans due during the stall went out late ...
    assert seq == list(range(len(seq))) and np.all(scans["fate"][: len(seq)] == "sent")  # ... every one
    np.testing.assert_array_equal(np.diff(scans["t_device_us"]), 5000)  # each stamped at its own time
    assert not any(f.flags & FLAG_DEVICE_OVERRUN for f in host.frames)
    assert_frames_match_truth(host.frames, mat.truth)


def test_a_burst_is_a_seq_gap_of_exactly_n_with_the_overrun_flag(run):
    mat, host = run(faults=Faults(bursts=[(0.3, 7)]))
    host.start(100)
    host.read(0.7)
    (burst,) = [d for _, kind, d in mat.truth.events if kind == "burst"]
    assert burst["n_frames"] == 7
    by_seq = {f.seq: f for f in host.frames}
    first = burst["first_seq"]
    assert first - 1 in by_seq and first + 7 in by_seq
    assert not any(s in by_seq for s in range(first, first + 7))
    assert by_seq[first + 7].flags & FLAG_DEVICE_OVERRUN
    scans = mat.truth.scans
    assert scans["fate"][burst["first_scan"] : burst["first_scan"] + 7].tolist() == ["dropped"] * 7
    assert_frames_match_truth(host.frames, mat.truth)


def test_a_reboot_restarts_seq_and_sends_banner_and_info_unprompted(run):
    mat, host = run(faults=Faults(reboots=[0.3], banner=BANNER))
    junk_before = host.parser.stats.junk_bytes
    host.start(100)
    info = pmat1.parse_info(host.reply(pmat1.INFO, timeout_s=1.5).body)
    assert info["serial"] == "VM-0001"
    assert host.parser.stats.junk_bytes - junk_before >= len(BANNER)
    before = list(host.frames)
    assert before[0].seq == 0 and len(before) >= 25
    assert_frames_match_truth(before, mat.truth, boot=0)
    host.read(0.2)
    assert len(host.frames) == len(before)  # idle until the next START
    host.start(100)
    after = host.read(0.3)
    assert [f.seq for f in after][:3] == [0, 1, 2]
    assert after[0].t_device_us < 500_000  # the device clock restarted too
    scans = mat.truth.scans
    assert scans["scan"].tolist() == list(range(scans["scan"].size))  # continuous over the reboot
    assert set(scans["boot"].tolist()) == {0, 1}
    assert_frames_match_truth(after, mat.truth, boot=1)
    assert kinds(mat.truth) == ["banner", "start", "reboot", "banner", "start"]


def test_junk_lines_between_frames_are_skipped_by_the_parser(run):
    mat, host = run(faults=Faults(junk_every_s=0.1))
    host.start(100)
    host.read(0.55)
    n_junk = [kind for _, kind, _ in mat.truth.events].count("junk")
    assert n_junk >= 4
    assert host.parser.stats.junk_bytes >= n_junk * 20 and host.parser.stats.errors() == 0
    assert host.frames[0].seq == 0
    assert_frames_match_truth(host.frames, mat.truth)


def read_until_unplugged(host, timeout_s):
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        try:
            host._feed()
        except serial.SerialException:
            return time.monotonic_ns()
    raise AssertionError("the port never failed")


def wait_for_path(path, timeout_s):
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if os.path.exists(path):
            return time.monotonic_ns()
        time.sleep(0.005)
    raise AssertionError(f"{path} did not come back within {timeout_s} s")


def test_an_unplug_fails_the_read_removes_the_path_and_replugs(run):
    mat, host = run(faults=Faults(unplugs=[(0.3, 0.5)]))
    host.start(100)
    t_failed = read_until_unplugged(host, 1.5)
    ((t_unplug, _, detail),) = [e for e in mat.truth.events if e[1] == "unplug"]
    assert detail == {"duration_s": 0.5} and t_failed - t_unplug < 0.2e9
    assert not os.path.lexists(mat.url)
    host.close()
    t_back = wait_for_path(mat.url, 1.5)
    assert (t_back - t_unplug) * 1e-9 < 0.5 + 0.5
    last_seq = host.frames[-1].seq
    host = Host(mat.url, shape=mat.shape)
    try:
        host.send(pmat1.GET_INFO)
        assert pmat1.parse_info(host.reply(pmat1.INFO).body)["rows"] == 32
        assert host.read(0.2) == []  # idle after the replug
        host.start(100)
        after = host.read(0.3)
    finally:
        host.close()
    scans = mat.truth.scans
    n_unplugged = int((scans["fate"] == "unplugged").sum())
    assert n_unplugged == pytest.approx(50, abs=5)  # the device kept scanning for 0.5 s
    assert after[0].seq > last_seq + n_unplugged - 5  # seq counted those scans
    assert_frames_match_truth(after, mat.truth)
    assert kinds(mat.truth) == ["start", "unplug", "replug", "start"]


def test_a_bus_powered_device_reboots_on_replug(run):
    mat, host = run(faults=Faults(unplugs=[(0.2, 0.3)], unplug_reboots=True))
    host.start(100)
    read_until_unplugged(host, 1.5)
    host.close()
    wait_for_path(mat.url, 1.5)
    host = Host(mat.url, shape=mat.shape)
    try:
        host.start(100)
        after = host.read(0.2)
    finally:
        host.close()
    assert after[0].seq == 0
    scans = mat.truth.scans
    assert "unplugged" not in scans["fate"].tolist()  # powered off meanwhile
    assert kinds(mat.truth) == ["start", "unplug", "replug", "reboot", "start"]
    assert_frames_match_truth(after, mat.truth, boot=1)


@pytest.mark.parametrize("rates", [{"bit_error_rate": 2e-4}, {"byte_drop_rate": 1e-3}])
def test_line_errors_become_crc_errors_and_corrupted_fates(run, rates):
    mat, host = run(faults=Faults(seed=5, **rates))
    assert host.start(100) == (host.request_id, 0)  # replies are never corrupted
    host.read(0.8)
    host.send(pmat1.STOP)
    host.read(0.2)
    scans = mat.truth.scans
    corrupted = set(scans["seq"][scans["fate"] == "corrupted"].tolist())
    sent = set(scans["seq"][scans["fate"] == "sent"].tolist())
    received = {f.seq for f in host.frames}
    assert len(corrupted) >= 10 and len(sent) >= 10
    assert host.parser.stats.errors() >= 0.8 * len(corrupted)
    if "bit_error_rate" in rates:
        assert received <= sent  # a flipped bit always changes the packet: no corrupted frame gets through
    else:
        # A packet whose lost byte was its last one arrives whole when the next byte on the line
        # equals it (about 1 in 256): its CRC holds because its content is exactly what was sent.
        # Such a frame, like every other, must equal the scan the mat made (checked below).
        assert received <= sent | corrupted
        assert len(received & corrupted) <= max(1, len(corrupted) // 16)
    assert all(s > max(received) for s in sent - received)  # only a tail may still be pending
    kind = "bitflip" if "bit_error_rate" in rates else "byte_drop"
    assert {d["scan"] for _, k, d in mat.truth.events if k == kind} == set(np.flatnonzero(scans["fate"] == "corrupted"))
    assert_frames_match_truth(host.frames, mat.truth)


def _other_protocols(poll):
    names = [name for name, p in PROTOCOLS.items() if name != "pmat1" and (p.poll is not None) == poll]
    return names or [pytest.param(None, marks=pytest.mark.skip(reason="no such protocol registered"))]


def matching_offset(frames, truth, rows):
    """The offset o with frames[i] == truth.counts(rows[o + i]) for all i, or None."""
    for offset in range(len(rows) - len(frames) + 1):
        if all(np.array_equal(f.counts, truth.counts(rows[offset + i])) for i, f in enumerate(frames)):
            return offset
    return None


@pytest.mark.parametrize("protocol", _other_protocols(poll=True))
def test_a_poll_driven_format_answers_each_poll_with_the_latest_scan(run, protocol):
    poll = PROTOCOLS[protocol].poll
    mat, host = run(protocol, shape=PROTOCOLS[protocol].default_shape or (16, 10), rate_hz=100.0)
    assert host.read(0.1) == []  # nothing unasked
    for _ in range(15):
        host.port.write(poll)
        time.sleep(0.02)
        host._feed()
    host.read(0.1)
    scans = mat.truth.scans
    rows = np.flatnonzero(scans["fate"] == "sent")
    assert len(host.frames) == 15 == rows.size
    assert matching_offset(host.frames, mat.truth, rows) == 0
    assert (scans["fate"] == "unpolled").sum() > 15


@pytest.mark.parametrize("protocol", _other_protocols(poll=False))
def test_a_free_running_format_streams_from_the_start(run, protocol):
    shape = PROTOCOLS[protocol].default_shape or (12, 8)
    mat, host = run(protocol, shape=shape, rate_hz=100.0)
    frames = host.read(0.6)
    assert len(frames) >= 50
    rows = np.flatnonzero(mat.truth.scans["fate"] == "sent")
    assert matching_offset(frames, mat.truth, rows) is not None
    assert max(int(f.counts.max()) for f in frames) <= PROTOCOLS[protocol].max_count


def test_the_tcp_link_streams_and_unplugs(run):
    mat, host = run(link="tcp", faults=Faults(unplugs=[(0.4, 0.3)]))
    assert mat.url.startswith("socket://127.0.0.1:")
    host.send(pmat1.GET_INFO)
    assert pmat1.parse_info(host.reply(pmat1.INFO).body)["model"] == "virtual mat"
    host.start(100)
    t_failed = read_until_unplugged(host, 1.5)
    assert len(host.frames) >= 30
    assert_frames_match_truth(host.frames, mat.truth)
    host.close()
    while True:  # the port comes back on the same URL, once the mat is plugged back
        try:
            host = Host(mat.url, shape=mat.shape)
            break
        except serial.SerialException:
            assert time.monotonic_ns() - t_failed < 10e9
            time.sleep(0.01)
    connected_ns = time.monotonic_ns()
    assert connected_ns >= [t for t, kind, _ in mat.truth.events if kind == "replug"][0]
    try:
        host.start(100)
        frames = []
        while len(frames) < 15 and time.monotonic_ns() - connected_ns < 10e9:
            frames += host.read(0.05)
        assert len(frames) >= 15
        assert_frames_match_truth(frames, mat.truth)
    finally:
        host.close()


def test_the_truth_knows_the_walk_behind_each_scan():
    mat = VirtualMat(shape=(64, 48), pitch_mm=(10.0, 12.5), rate_hz=50.0, walk_s=3.0, link="tcp")
    trial = mat.truth.walk_trial
    n = trial.sizes["time"]
    assert n == 150
    r0, c0 = mat.truth.window
    window = trial.pressure.values[:, r0 : r0 + 64, c0 : c0 + 48]
    for scan in (0, 77, n + 77):
        np.testing.assert_array_equal(mat.truth.pressure_kpa(scan), window[scan % n])
    assert float(window.max()) > 200.0  # the mat sees the walk
    assert mat.truth.counts(77).shape == (64, 48)
    assert np.array_equal(mat.truth.counts(77), mat.truth.counts(77))  # recomputed, deterministic
    small = VirtualMat("pmat1", shape=(10, 16), walk_s=3.0, link="tcp")
    assert small.truth.pressure_kpa(0).shape == (10, 16)
    assert max(float(small.truth.pressure_kpa(k).max()) for k in range(0, 300, 5)) > 100.0


def test_pressure_frames_play_instead_of_a_walk_and_set_pressure_starts_at_the_next_scan(run):
    empty, bladder = np.zeros((16, 16)), np.full((16, 16), 200.0)
    mat, host = run(shape=(16, 16), frames_kpa=empty)
    assert mat.truth.walk_trial is None and mat.truth.walk_truth is None
    host.start(100)
    before = host.read(0.3)
    mat.set_pressure(bladder)
    after = host.read(0.4)
    starts = [detail for _, kind, detail in mat.truth.events if kind == "pressure"]
    assert len(starts) == 1 and starts[0]["n_frames"] == 1
    first = starts[0]["first_scan"]
    scan = scan_of(mat.truth)
    seen = np.array([scan[frame.seq] for frame in before + after])
    assert (seen < first).sum() >= 20 and (seen >= first).sum() >= 30
    assert all(scan[frame.seq] < first for frame in before)
    for frame, k in zip(before + after, seen):
        np.testing.assert_array_equal(mat.truth.pressure_kpa(k), bladder if k >= first else empty)
        np.testing.assert_array_equal(frame.counts, mat.truth.counts(k))
    # What the host read under the bladder is the sensor's response to 200 kPa, within the read noise.
    sensor = mat.sensor
    ok = ~sensor.dead & ~sensor.hot
    mean = np.mean([frame.counts for frame, k in zip(before + after, seen) if k >= first], axis=0)
    expected = sensor.offset_counts + sensor.gain * sensor.ideal_counts(200.0)
    assert np.abs(mean[ok] - expected[ok]).max() < 1.0
    assert np.array([frame.counts for frame in before])[:, ok].max() < 20  # the empty mat: offset and noise


def test_pressure_frames_loop_from_the_scan_they_start_at():
    frames = np.arange(3, dtype=float)[:, None, None] * np.ones((3, 4, 4))
    mat = VirtualMat(shape=(4, 4), frames_kpa=frames, link="tcp")
    assert [float(mat.truth.pressure_kpa(k)[0, 0]) for k in range(7)] == [0, 1, 2, 0, 1, 2, 0]
    scanner = mat.truth._scanner
    scanner.request(frames[::-1] + 10)  # as set_pressure does; the device starts it at its next scan
    assert scanner.begin(5) == 3
    assert [float(mat.truth.pressure_kpa(k)[0, 0]) for k in range(3, 10)] == [0, 1, 12, 11, 10, 12, 11]
    for bad, message in ((np.zeros((4, 5)), r"frames_kpa must have shape \(4, 4\)"),
                         (-np.ones((4, 4)), "frames_kpa must be finite and >= 0"),
                         (np.zeros((0, 4, 4)), "frames_kpa must have shape")):  # fmt: skip
        with pytest.raises(ValueError, match=message):
            VirtualMat(shape=(4, 4), frames_kpa=bad, link="tcp")
    with pytest.raises(ValueError, match="pressure_kpa must have shape"):
        mat.set_pressure(np.zeros(4))


def test_stop_is_idempotent_and_leaves_nothing_behind(run):
    mat = run(host=False)
    directory = os.path.dirname(mat.url)
    assert os.path.islink(mat.url)
    mat.stop()
    mat.stop()
    assert not os.path.exists(directory)
    assert not mat._thread.is_alive()
    with pytest.raises(RuntimeError, match="cannot be started again"):
        mat.start()


def test_virtual_mat_rejects_bad_arguments():
    with pytest.raises(ValueError, match="protocol must be one of"):
        VirtualMat("nope")
    with pytest.raises(ValueError, match="link must be one of"):
        VirtualMat(link="usb")
    with pytest.raises(ValueError, match="sensor is bound to shape"):
        VirtualMat(shape=(8, 8), sensor=SensorModel(shape=(4, 4)))
    with pytest.raises(ValueError, match="rate_hz must be"):
        VirtualMat(rate_hz=0)
    with pytest.raises(ValueError, match="bursts"):
        Faults(bursts=[(0.1, 0)])
    with pytest.raises(RuntimeError, match="call start"):
        VirtualMat(shape=(8, 8), walk_s=1.0, link="tcp").url


# --------------------------------------------------------------------------------------
# documentation


def _documented(doc):
    return [name.strip() for param in doc["Parameters"] for name in param.name.split(",")]


def _parameters(func):
    return [name for name in inspect.signature(func).parameters if name != "self"]


@pytest.mark.parametrize("cls", [VirtualMat, SensorModel, Faults], ids=lambda c: c.__name__)
def test_classes_document_their_parameters_with_an_example(cls):
    doc = ClassDoc(cls)
    assert _documented(doc) == _parameters(cls.__init__)
    assert "".join(doc["Examples"]).strip()


PUBLIC_METHODS = [
    getattr(cls, name)
    for cls in (VirtualMat, SensorModel, Faults, MatTruth)
    for name, member in vars(cls).items()
    if not name.startswith("_") and inspect.isfunction(member)
]


@pytest.mark.parametrize("method", PUBLIC_METHODS, ids=lambda m: m.__qualname__)
def test_methods_document_their_parameters_with_an_example(method):
    doc = FunctionDoc(method)
    assert _documented(doc) == _parameters(method)
    assert doc["Summary"] and "".join(doc["Examples"]).strip()


# -- calibration scenarios ---------------------------------------------------------------------


def test_calibration_scenarios_carry_what_they_say():
    from plantar.drivers.sim.bench import scenario_pressure_kpa

    mat = VirtualMat(shape=(64, 48), pitch_mm=8.0, walk_s=2.0, link="tcp", body_mass_kg=60.0)
    cell_m2 = 8e-3 * 8e-3
    assert not scenario_pressure_kpa(mat, "empty").any()
    np.testing.assert_array_equal(scenario_pressure_kpa(mat, "uniform", pressure_kpa=250.0), np.full((64, 48), 250.0))
    feet = {stance: scenario_pressure_kpa(mat, "standing", body_mass_kg=80.0, stance=stance)
            for stance in ("left", "right", "both")}  # fmt: skip
    for stance, p in feet.items():  # every stance carries the whole body weight
        assert p.sum() * 1000 * cell_m2 == pytest.approx(80.0 * 9.80665, rel=1e-9), stance
    centre_x = {s: (feet[s].sum(axis=0) * np.arange(48)).sum() / feet[s].sum() for s in ("left", "right")}
    assert centre_x["left"] != pytest.approx(centre_x["right"], abs=2.0)  # two feet, side by side
    walk = scenario_pressure_kpa(mat, "walk", body_mass_kg=60.0)  # the mat's own walker, frame for frame
    assert walk.shape == (200, 64, 48)
    for scan in (0, 57, 199):
        np.testing.assert_array_equal(walk[scan], mat.truth.pressure_kpa(scan))
    with pytest.raises(ValueError, match="scenario must be one of"):
        scenario_pressure_kpa(mat, "bladder")
    with pytest.raises(ValueError, match="stance must be one of"):
        scenario_pressure_kpa(mat, "standing", stance="one")
    with pytest.raises(ValueError, match="pressure_kpa must be a positive number"):
        scenario_pressure_kpa(mat, "uniform", pressure_kpa=-5.0)


def test_a_walkway_longer_than_the_calibration_floor_gets_its_standing_footprints():
    """A 3.2 m walkway (400 rows of 8 mm) is longer than the 2.4 m floor the footprints were first taken from."""
    from plantar.drivers.sim import bench_calibration
    from plantar.drivers.sim.bench import standing_pressure_kpa

    mat = VirtualMat(shape=(400, 100), pitch_mm=8.0, walk_s=1.0, link="tcp")
    feet = standing_pressure_kpa(mat, body_mass_kg=70.0)
    for stance, p in feet.items():
        assert p.shape == (400, 100), stance
        assert p.sum() * 1000 * 8e-3 * 8e-3 == pytest.approx(70.0 * 9.80665, rel=1e-9), stance
    assert bench_calibration(mat).attrs["device"] == "plantar virtual mat (serial VM-0001)"


def test_simulate_understands_what_is_typed_to_it():
    from plantar.cli import _scenario_command

    assert _scenario_command("uniform 300\n") == {"scenario": "uniform", "pressure_kpa": 300.0}
    assert _scenario_command("Standing LEFT") == {"scenario": "standing", "stance": "left"}
    assert _scenario_command("standing") == {"scenario": "standing"}
    assert _scenario_command("empty") == {"scenario": "empty"}
    assert _scenario_command("walk") == {"scenario": "walk"}
    assert _scenario_command("   \n") is None
    for wrong in ("uniform", "uniform -3", "uniform nan", "standing on one foot", "bladder 200"):
        with pytest.raises(ValueError, match="not understood"):
            _scenario_command(wrong)
