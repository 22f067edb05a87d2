"""Recording journals: torn tails, corrupt records, and the scan-time fit against analytic truth."""

import json
import logging
import struct
import tracemalloc
import zlib

import numpy as np
import pytest

import plantar
from plantar.drivers import FLAG_AFTER_REBOOT, FLAG_AFTER_RECONNECT, Frame, Recorder, pmat1
from plantar.io import FileFormatError
from plantar.io.journal import MAX_CELLS, RX, RX_HEADER, read_journal, scan_times

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
    assert raw.sizes["time"] == 29 and raw.attrs["frames_lost"] == 0  # none lost on the wire
    assert raw.attrs["journal_records_lost"] == 1 and raw.attrs["journal_frames_lost"] == 1
    assert raw.attrs["journal_lost_seq"] == str(int(np.setdiff1d(np.arange(30), raw.seq.values)[0]))


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


def _record_starts(data):
    """Byte offsets of the records of an intact journal, walking their lengths."""
    starts, pos = [], 0
    while pos < len(data):
        starts.append(pos)
        pos += 20 + int.from_bytes(data[pos + 8 : pos + 12], "little")
    return starts


def test_every_header_bit_flip_costs_only_its_own_record(tmp_path, caplog):
    """Flip each bit of each record's length field, and three bits of every other header and CRC byte.

    A frame record's flip loses that frame alone, and the reader names it; the
    header record's is a one-line error naming the file; the closing record's
    loses no frame.
    """
    n = 6
    frames = [Frame(np.full((3, 4), k + 1, np.uint16), seq=100 + k, t_device_us=10_000 * k,
                    t_host_ns=10_000_000 * k + 400_000) for k in range(n)]  # fmt: skip
    path = _journal(tmp_path, frames)
    data = path.read_bytes()
    starts = _record_starts(data)
    assert len(starts) == n + 2  # META, the frames, END
    mutant = tmp_path / "mutant.pmrec"
    outcomes = {"frame": 0, "meta": 0, "end": 0}
    for r, start in enumerate(starts):
        size = 20 + int.from_bytes(data[start + 8 : start + 12], "little")
        for offset in [*range(16), *range(size - 4, size)]:  # the header and the CRC
            for bit in range(8) if 8 <= offset < 12 else (0, 3, 7):
                b = bytearray(data)
                b[start + offset] ^= 1 << bit
                mutant.write_bytes(bytes(b))
                where = f"record {r}, byte {offset}, bit {bit}"
                if r == 0:
                    with pytest.raises(FileFormatError, match=r"mutant\.pmrec.*header record") as info:
                        read_journal(mutant)
                    assert "\n" not in str(info.value), where
                    outcomes["meta"] += 1
                    continue
                caplog.clear()
                with caplog.at_level(logging.WARNING, logger="plantar"):
                    raw = read_journal(mutant)
                if r == len(starts) - 1:  # END: every frame is there
                    np.testing.assert_array_equal(raw.seq.values, np.arange(100, 100 + n), err_msg=where)
                    outcomes["end"] += 1
                    continue
                k = r - 1
                kept = np.delete(np.arange(n), k)
                np.testing.assert_array_equal(raw.seq.values, 100 + kept, err_msg=where)
                np.testing.assert_array_equal(raw.counts.values[:, 0, 0], kept + 1, err_msg=where)
                np.testing.assert_allclose(raw.time.values, (kept - kept[0]) * 0.01, atol=1e-9, err_msg=where)
                assert raw.attrs["frames_lost"] == 0, where
                assert raw.attrs["journal_records_lost"] == 1, where
                if 0 < k < n - 1:  # between two frames: the counter tells which
                    assert raw.attrs["journal_frames_lost"] == 1, where
                    assert raw.attrs["journal_lost_seq"] == str(100 + k), where
                assert "mutant.pmrec" in caplog.text and "could not be read" in caplog.text, where
                outcomes["frame"] += 1
    per_record = 4 * 8 + 16 * 3
    assert outcomes == {"frame": n * per_record, "meta": per_record, "end": per_record}


def test_a_flipped_length_bit_never_drops_the_rest(tmp_path):
    """The reproducer's case: 300 frames, one bit of the 7th record's length."""
    frames = [Frame(np.full((4, 4), i % 4000, np.uint16), seq=i, t_host_ns=i * 10_000_000) for i in range(300)]
    path = _journal(tmp_path, frames)
    data = bytearray(path.read_bytes())
    start = _record_starts(bytes(data))[6]
    data[start + 10] ^= 0x10  # the length now points far beyond the end of the file
    path.write_bytes(bytes(data))
    raw = read_journal(path)
    assert raw.sizes["time"] == 299 and 5 not in raw.seq.values
    assert raw.attrs["journal_lost_seq"] == "5" and "journal_complete" not in raw.attrs


def _bomb(tmp_path, meta, rows, cols, n, name="bomb.pmrec"):
    """A journal whose frame records have valid CRCs and declare rows x cols zero cells in a few bytes."""
    words, left = [], rows * cols
    while left:
        k = min(left, 65535)
        words += [0, k]
        left -= k
    payload = np.array(words, "<u2").tobytes()
    out = bytearray(pmat1.encode_packet(0x40, 0, json.dumps(meta).encode()))
    for s in range(n):
        head = RX_HEADER.pack(s * 10_000_000, 0xFFFFFFFFFFFFFFFF, rows, cols, pmat1.ENCODING_ZERO_RUN, 0, 0)
        out += pmat1.encode_packet(RX, s, head + payload)
    path = tmp_path / name
    path.write_bytes(bytes(out))
    return path


def test_a_journal_bomb_is_refused_before_it_is_decoded(tmp_path, caplog):
    """Frame records declaring another shape than the header's are refused unread; memory stays small."""
    meta = {**META, "shape": [6, 5], "journal_version": 2}
    good = _journal(tmp_path, _frames(20, np.random.default_rng(6)))
    bomb = _bomb(tmp_path, meta, 6000, 6000, 3)  # 216 MB of cells from a few kB
    data = good.read_bytes()
    end = _record_starts(data)[-1]
    mixed = tmp_path / "mixed.pmrec"
    mixed.write_bytes(data[:end] + bomb.read_bytes()[_record_starts(bomb.read_bytes())[1] :] + data[end:])
    tracemalloc.start()
    with caplog.at_level(logging.WARNING, logger="plantar"):
        raw = read_journal(mixed)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert raw.sizes["time"] == 20 and raw.counts.shape[1:] == (6, 5)
    assert peak < 20e6  # the 20 real frames and the file, not 216 MB
    assert "mixed.pmrec" in caplog.text and "refused 3 frame records" in caplog.text and "6000 x 6000" in caplog.text
    assert raw.attrs["journal_records_lost"] == 3
    # Only bombs: nothing is left, and that is the error.
    with pytest.raises(FileFormatError, match=r"bomb\.pmrec.*holds no frame"):
        read_journal(bomb)
    # A header that itself declares an implausible shape, or no shape and implausible frames.
    with pytest.raises(FileFormatError, match=rf"huge\.pmrec.*12000 x 12000.*more than {MAX_CELLS}"):
        read_journal(_bomb(tmp_path, {**meta, "shape": [12000, 12000]}, 12000, 12000, 2, "huge.pmrec"))
    undeclared = {k: v for k, v in META.items() if k != "info"}
    with pytest.raises(FileFormatError, match=r"old\.pmrec.*its frames have 3000 x 3000 sensels"):
        read_journal(_bomb(tmp_path, undeclared, 3000, 3000, 2, "old.pmrec"))


def test_every_journal_error_is_one_line_naming_the_file(tmp_path):
    """Missing pitch, a header that is not JSON, an empty file: FileFormatError naming the file."""
    no_pitch = {k: v for k, v in META.items() if k != "pitch_mm"}
    path = tmp_path / "nopitch.pmrec"
    rec = Recorder(path, no_pitch)
    for f in _frames(3, np.random.default_rng(7)):
        rec.write(f)
    rec.close()
    with pytest.raises(FileFormatError, match=r"nopitch\.pmrec.*sensor pitch"):
        plantar.read(path)
    garbled = tmp_path / "garbled.pmrec"
    garbled.write_bytes(pmat1.encode_packet(0x40, 0, b"{not json"))
    with pytest.raises(FileFormatError, match=r"garbled\.pmrec.*header record \(META\) at byte 0.*JSON"):
        read_journal(garbled)
    empty = tmp_path / "empty.pmrec"
    empty.write_bytes(b"")
    with pytest.raises(FileFormatError, match=r"empty\.pmrec.*empty"):
        read_journal(empty)
    # A frame record too short for its header, with a valid CRC: skipped and counted.
    short = tmp_path / "short.pmrec"
    data = _journal(tmp_path, _frames(4, np.random.default_rng(8))).read_bytes()
    cut = _record_starts(data)[2]
    short.write_bytes(data[:cut] + pmat1.encode_packet(RX, 1, b"\x00" * 5) + data[cut:])
    raw = read_journal(short)
    assert raw.sizes["time"] == 4 and raw.attrs["journal_records_lost"] == 1


def test_the_file_counts_exactly_the_losses_the_session_counted(tmp_path):
    """frames_lost is the sum of the session's per-frame counts after the first frame, as journalled."""
    seqs = [10, 11, 15, 16, 20, 3, 4, 9]  # 3 lost, 3 lost, a reboot, 4 lost
    lost = [7, 0, 3, 0, 3, 0, 0, 4]  # the first frame's 7 were lost before the recording began
    flags = [0, 0, 64, 0, 64, FLAG_AFTER_REBOOT, 0, 64]
    frames = [Frame(np.zeros((2, 2), np.uint16), seq=s, t_device_us=None, t_host_ns=i * 10_000_000,
                    flags=f, lost_before=n) for i, (s, f, n) in enumerate(zip(seqs, flags, lost))]  # fmt: skip
    path = tmp_path / "walk.pmrec"
    rec = Recorder(path, META)
    for f in frames:
        rec.write(f)
    rec.close()
    assert (rec.frames, rec.lost_frames, rec.reboots) == (8, 10, 1)
    raw = read_journal(path)
    assert raw.attrs["frames_lost"] == rec.lost_frames == 10 and raw.attrs["device_reboots"] == 1
    assert "journal_records_lost" not in raw.attrs


def test_scan_times_follow_the_device_clock_across_a_pause_and_a_reboot():
    """Analytic truth: 100 Hz on a clock 0.2 % slow; a 2.37 s pause the counter does not see; a reboot.

    Segment 1 scans from counter 500; the device then stops scanning for 2.37 s
    (a reconnect: its counter resumes where it stopped, its clock does not);
    segment 2 scans on a new phase; then the device reboots (counter and clock
    restart at 0) and segment 3 starts 1.5 s later. 5 % of frames are lost,
    latency is 0.2-3 ms and 2 % of frames are held 80 ms.
    """
    rng = np.random.default_rng(9)
    drift = 1.002
    period = 0.01 * drift
    n1, n2, n3 = 1000, 600, 700
    t1 = np.arange(n1) * period
    t2 = t1[-1] + 2.37 * drift + np.arange(n2) * period  # not a whole number of periods
    t3 = t2[-1] + 1.5 + np.arange(n3) * period
    t_scan = np.concatenate([t1, t2, t3])
    seq = np.concatenate([500 + np.arange(n1), 500 + n1 + np.arange(n2), np.arange(n3)])
    clock = np.concatenate([t1, t2, t3 - t3[0] + 0.004]) / drift  # device seconds; restarts at the reboot
    flags = np.zeros(t_scan.size, np.int64)
    flags[n1] = FLAG_AFTER_RECONNECT
    flags[n1 + n2] = FLAG_AFTER_REBOOT
    keep = rng.random(t_scan.size) > 0.05
    keep[[0, n1, n1 + n2]] = True  # the flagged first frames arrive (a lost one moves the flag on)
    latency = rng.uniform(0.2e-3, 3e-3, t_scan.size)
    latency[rng.random(t_scan.size) < 0.02] += 0.08
    t_host = ((t_scan + latency + 40.0) * 1e9).astype(np.int64)
    for with_clock in (True, False):
        k = np.flatnonzero(keep)
        time_s, _, rate = scan_times(seq[k], t_host[k], flags[k], has_seq=True, rate_hz=100,
                                     t_device_s=clock[k] if with_clock else None)  # fmt: skip
        assert rate == pytest.approx(1 / period, rel=5e-5)  # 2000 ppm drift corrected to 50 ppm
        # Every frame within a fraction of a period of its true scan time, through both breaks.
        np.testing.assert_allclose(time_s, t_scan[k] - t_scan[k[0]], atol=period / 5)
        # The pause and the reboot are gaps in time, the rate is the device's throughout.
        dt = np.diff(time_s)
        brk = np.isin(k[1:], [n1, n1 + n2])
        np.testing.assert_allclose(dt[brk], np.diff(t_scan[k])[brk], atol=period / 5)
        assert np.allclose(dt[~brk] / np.diff(k)[~brk], period, rtol=1e-3)
