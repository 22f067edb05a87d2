"""Recording journals: torn tails, corrupt records, and the scan-time fit against analytic truth."""

import numpy as np
import pytest

import plantar
from plantar.drivers import FLAG_AFTER_REBOOT, Frame, Recorder
from plantar.io import FileFormatError
from plantar.io.journal import scan_times

META = {"protocol": "pmat1", "rate_hz": 100, "pitch_mm": [5.0, 7.5], "info": {"vendor": "v", "model": "m"},
        "attrs": {"subject": "S", "condition": "shod", "body_mass_kg": 70.0}}  # fmt: skip


def _frames(n, rng, shape=(6, 5)):
    counts = rng.integers(0, 3, (n,) + shape) * rng.integers(0, 4096, (n,) + shape)
    return [Frame(c.astype(np.uint16), seq=k, t_device_us=k * 10_000, t_host_ns=k * 10_000_000 + 500_000)
            for k, c in enumerate(counts)]  # fmt: skip


def _journal(tmp_path, frames, *, close=True):
    path = tmp_path / "walk.pmrec"
    rec = Recorder(path, META)
    for f in frames:
        rec.write(f)
    rec.close({"crc_errors": 2, "junk_bytes": 10}) if close else rec._queue.put(None)
    if not close:
        rec._thread.join()
        rec._file.close()
    return path


def test_a_journal_reads_back_exactly(tmp_path):
    frames = _frames(50, np.random.default_rng(0))
    raw = plantar.read(_journal(tmp_path, frames))
    plantar.check_counts(raw)
    np.testing.assert_array_equal(raw.counts.values, np.stack([f.counts for f in frames]))
    np.testing.assert_allclose(raw.time.values, np.arange(50) * 0.01, atol=1e-9)
    np.testing.assert_allclose(raw.t_device.values, np.arange(50) * 0.01)
    assert raw.attrs["sampling_rate_hz"] == pytest.approx(100.0, rel=1e-9)
    assert (raw.attrs["sensor_pitch_x_mm"], raw.attrs["sensor_pitch_y_mm"]) == (5.0, 7.5)
    assert raw.attrs["subject"] == "S" and raw.attrs["crc_errors"] == 2 and raw.attrs["frames_lost"] == 0
    assert "journal_complete" not in raw.attrs


@pytest.mark.parametrize("cut", [1, 7, 33, 150])
def test_a_torn_journal_keeps_every_whole_record(tmp_path, cut):
    frames = _frames(40, np.random.default_rng(1))
    path = _journal(tmp_path, frames, close=False)
    data = path.read_bytes()
    path.write_bytes(data[:-cut])  # as after a kill -9 in the middle of a write
    # The frame records that lie wholly before the cut.
    ends, start = [], data.find(b"PMAT\x01\x41")
    while start >= 0:
        ends.append(start + 20 + int.from_bytes(data[start + 8 : start + 12], "little"))
        start = data.find(b"PMAT\x01\x41", start + 1)
    whole = sum(end <= len(data) - cut for end in ends)
    raw = plantar.read(path)
    n = raw.sizes["time"]
    assert n == whole >= 40 - cut // 40 - 1 and raw.attrs["journal_complete"] == 0
    np.testing.assert_array_equal(raw.counts.values, np.stack([f.counts for f in frames[:n]]))


def test_a_corrupt_record_in_the_middle_is_skipped(tmp_path):
    frames = _frames(30, np.random.default_rng(2))
    path = _journal(tmp_path, frames)
    data = bytearray(path.read_bytes())
    middle = data.find(b"PMAT", len(data) // 2)
    data[middle + 40] ^= 0xFF
    path.write_bytes(bytes(data))
    raw = plantar.read(path)
    assert raw.sizes["time"] == 29 and raw.attrs["frames_lost"] == 1


def test_not_a_journal_or_empty_is_named(tmp_path):
    path = tmp_path / "empty.pmrec"
    Recorder(path, META).close()
    with pytest.raises(FileFormatError, match="empty.pmrec.*no frame"):
        plantar.read(path)
    other = tmp_path / "x.pmrec"
    other.write_bytes(b"hello")
    with pytest.raises(FileFormatError, match="x.pmrec"):
        plantar.read(other)


def test_an_existing_journal_is_never_replaced(tmp_path):
    path = _journal(tmp_path, _frames(3, np.random.default_rng(3)))
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="unfinished recording"):
        Recorder(path, META)
    assert path.read_bytes() == before


def test_scan_times_against_a_drifting_clock_with_losses_jitter_and_a_reboot():
    """Analytic truth: scans every 1/200 s of a clock 0.3 % slow, latency 0.2-3 ms, some held 80 ms."""
    rng = np.random.default_rng(4)
    period = 1 / 200 * 1.003
    scan = np.arange(4000)
    keep = rng.random(scan.size) > 0.05  # 5 % lost
    keep[2000:2100] = False  # the device reboots here
    scan = scan[keep]
    t_scan = scan * period
    latency = rng.uniform(0.2e-3, 3e-3, scan.size)
    held = rng.random(scan.size) < 0.02
    latency[held] += 0.08
    t_host = ((t_scan + latency + 12.0) * 1e9).astype(np.int64)
    seq = np.where(scan < 2000, scan + 1000, scan - 2100)  # counter restarts at 0
    flags = np.where(scan == scan[scan >= 2100][0], FLAG_AFTER_REBOOT, 0)
    time_s, got_scan, rate = scan_times(seq, t_host, flags, has_seq=True, rate_hz=200)
    assert rate == pytest.approx(1 / period, rel=3e-5)  # the 3000 ppm drift corrected to 30 ppm
    np.testing.assert_array_equal(got_scan, scan - scan[0])  # the reboot gap placed to the scan
    np.testing.assert_allclose(time_s, t_scan - t_scan[0], atol=1e-3)  # within 1 ms over 20 s


def test_scan_times_without_a_counter_round_arrivals_to_the_grid():
    rng = np.random.default_rng(5)
    scan = np.sort(rng.choice(1000, 900, replace=False))
    t_host = ((scan * 0.02 + rng.uniform(0, 2e-3, scan.size)) * 1e9).astype(np.int64)
    time_s, got, rate = scan_times(np.arange(scan.size), t_host, np.zeros(scan.size, int), has_seq=False)
    assert rate == pytest.approx(50.0, rel=1e-4)
    np.testing.assert_array_equal(got, scan - scan[0])
