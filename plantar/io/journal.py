"""Recording journals (``*.pmrec``): what the recorder writes as frames arrive.

The journal is a sequence of records framed exactly like PMAT/1 packets
(``"PMAT"``, version, type, length, seq, body, CRC-32), with record types of its
own that never appear on the wire:

========  =====  ==========================================================
type      code   body
========  =====  ==========================================================
META      0x40   UTF-8 JSON: protocol, port, device INFO, pitch, rate, trial
                 attributes, wall-clock and monotonic start times
RX        0x41   ``t_host_ns`` i64, ``t_device_us`` u64 (all ones = none),
                 rows u16, cols u16, encoding u8 (3), flags u8, lost u16 (frames
                 the session counted lost just before this one, 65535 = at least
                 that many; 0 in journals before version 2), then the cells as
                 PMAT/1 zero-run words; header seq = scan counter
EVENT     0x42   UTF-8 JSON: ``t_host_ns``, ``kind`` and details
END       0x43   UTF-8 JSON: the session's final statistics
========  =====  ==========================================================

Records are only ever appended (:class:`plantar.drivers.recorder.Recorder`), so a
recording cut short by a crash, a kill or a power loss still reads: this reader
takes every record whose CRC holds and ignores a torn last one.
"""

import datetime
import json
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from .._schema import make_counts
from ..utils import logger
from ._dispatch import FileFormat, FileFormatError

META = 0x40
RX = 0x41
EVENT = 0x42
END = 0x43
RX_HEADER = struct.Struct("<qQHHBBH")
NO_CLOCK = 0xFFFFFFFFFFFFFFFF
#: Journal format version written in the header record: 2 stores the session's
#: count of frames lost before each frame in the RX header's last field.
JOURNAL_VERSION = 2
#: Largest frame a journal may declare, in sensels (far beyond any pressure mat).
MAX_CELLS = 1 << 22
#: The RX header's count of frames lost before a frame saturates at this value.
LOST_SATURATED = 0xFFFF
#: Journal file name ending.
JOURNAL_SUFFIX = ".pmrec"
_FLAGS_DOC = (
    "frame flags: 1 device overrun, 2 saturated, 16 first after a reconnect, "
    "32 first after a device reboot, 64 first after lost frames"
)

def sniff(head):
    """Return True if ``head`` starts a journal (a META record).

    Parameters
    ----------
    head : bytes
        The first bytes of a file.

    Returns
    -------
    is_journal : bool

    Examples
    --------
    >>> from plantar.io import journal
    >>> journal.sniff(b"PMAT\\x01\\x40\\x00\\x00")
    True
    """
    return head[:6] == b"PMAT" + bytes((1, META))


def read_journal(path):
    """Read a recording journal (``.pmrec``), complete or cut short, as a raw recording.

    Every record whose CRC holds is read. A corrupt record (a flipped bit
    anywhere, a lost byte) costs that record alone: the reader resynchronises on
    the next valid record (magic and CRC) and says which records it could not
    read (attributes ``journal_records_lost``, ``journal_frames_lost`` and
    ``journal_lost_seq``, and a warning). A torn last record, as a crash or a
    full disk leaves it, is ignored. Frame records whose shape is not the one
    the header record declares are refused before they are decoded, so memory
    stays proportional to the declared frames.

    Parameters
    ----------
    path : str | pathlib.Path
        The journal.

    Returns
    -------
    raw : xarray.Dataset
        Schema ``counts/1``: ``counts``, with per-frame ``seq``, ``t_device``,
        ``t_host`` and ``flags``; ``time`` follows the device's scan counter and
        clock, in host seconds (see :func:`scan_times`). ``frames_lost`` is the
        session's count of frames lost on the way from the device.

    Raises
    ------
    FileFormatError
        If the file is not a journal, its header record is unreadable, it
        declares an implausible frame shape or no sensor pitch, or it holds no
        frame; the message names the file (and the record where there is one).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from plantar.drivers import Frame, recorder
    >>> from plantar.io import journal
    >>> path = Path(tempfile.mkdtemp()) / "walk.pmrec"
    >>> rec = recorder.Recorder(path, {"protocol": "pmat1", "rate_hz": 100, "pitch_mm": 5.0})
    >>> for i in range(3):
    ...     rec.write(Frame(np.full((2, 2), i, np.uint16), seq=i, t_host_ns=i * 10_000_000))
    >>> rec.close()
    >>> raw = journal.read_journal(path)
    >>> raw.time.values, raw.attrs["sampling_rate_hz"]
    (array([0.  , 0.01, 0.02]), 100.0)
    """
    from ..drivers import pmat1  # the drivers import this module: import at call time

    path = Path(path)
    with open(path, "rb") as f:
        data = f.read()
    if not data:
        raise FileFormatError(f"cannot read '{path}': the file is empty")
    records, gaps, torn = _records(data)
    if not records or records[0][:2] != (0, META):
        if not sniff(data[:8]) and not any(r[1] in (RX, EVENT, END) for r in records):
            raise FileFormatError(f"cannot read '{path}': not a plantar recording journal")
        raise FileFormatError(f"cannot read '{path}': its header record (META, at byte 0) is corrupt")
    view = memoryview(data)
    meta = _json_record(path, view, records[0], "header record (META)")
    if not isinstance(meta, dict):
        raise FileFormatError(f"cannot read '{path}': its header record (META, at byte 0) is not a JSON object")
    shape = _declared_shape(path, meta)
    end, events = None, []
    heads = []  # RX records: (payload start, end, seq, t_device_us, rows, cols, encoding, flags)
    extra = []  # per RX record: (t_host_ns, lost_before, record start)
    bad = []  # unreadable records: (byte offset, reason)
    refused = {}  # shape -> number of frame records of that shape
    for start, rtype, seq, body_start, body_end in records[1:]:
        if rtype == RX:
            if body_end - body_start < RX_HEADER.size:
                bad.append((start, "frame record too short"))
                continue
            th, td, rows, cols, encoding, fl, lost = RX_HEADER.unpack_from(data, body_start)
            if encoding != pmat1.ENCODING_ZERO_RUN:
                bad.append((start, f"unknown cell encoding {encoding}"))
                continue
            if shape is not None and (rows, cols) != shape:
                refused[(rows, cols)] = refused.get((rows, cols), 0) + 1
                continue
            heads.append((body_start + RX_HEADER.size, body_end, seq, td, rows, cols, encoding, fl))
            extra.append((th, lost, start))
        elif rtype == EVENT:
            events.append(_json_record(path, view, (start, rtype, seq, body_start, body_end), "event record"))
        elif rtype == END:
            end = _json_record(path, view, (start, rtype, seq, body_start, body_end), "closing record (END)")
        elif rtype != META:
            bad.append((start, f"unknown record type 0x{rtype:02x}"))
    if shape is None and heads:
        # A header from before shapes were declared: the frames' most common shape, bounded.
        shapes = [(h[4], h[5]) for h in heads]
        shape = max(set(shapes), key=shapes.count)
        _check_shape(path, shape, "its frames have")
        keep = [i for i, s in enumerate(shapes) if s == shape]
        for i, s in enumerate(shapes):
            if s != shape:
                refused[s] = refused.get(s, 0) + 1
        heads, extra = [heads[i] for i in keep], [extra[i] for i in keep]
    if refused:
        logger.warning(
            "'%s': refused %d frame records whose shape is not the %d x %d its header declares (%s)",
            path, sum(refused.values()), shape[0], shape[1],
            ", ".join(f"{n} of {r} x {c}" for (r, c), n in sorted(refused.items())),
        )  # fmt: skip
    # Every frame's cells in one pass, as the wire decoder does; the frames all have one shape now.
    malformed = np.array([(h[1] - h[0]) % 2 == 1 for h in heads], bool)  # not whole words
    if malformed.any():
        bad += [(extra[i][2], "frame cells do not decode") for i in np.flatnonzero(malformed).tolist()]
        heads, extra = [h for h, m in zip(heads, malformed) if not m], [e for e, m in zip(extra, malformed) if not m]
    if heads:
        payloads = b"".join([view[h[0] : h[1]] for h in heads])
        flat, malformed = pmat1._expand_zero_runs(payloads, [h[1] - h[0] for h in heads], shape[0] * shape[1])
        del payloads
    else:
        flat, malformed = np.empty(0, np.uint16), np.zeros(0, bool)
    view.release()
    keep = np.flatnonzero(~malformed).tolist()
    bad += [(extra[i][2], "frame cells do not decode") for i in np.flatnonzero(malformed).tolist()]
    if not keep:
        raise FileFormatError(f"cannot read '{path}': the recording holds no frame")
    counts = flat.reshape(len(keep), shape[0], shape[1])
    del flat
    seqs = np.array([heads[i][2] for i in keep], np.int64)
    flags = np.array([heads[i][7] for i in keep], np.uint8)
    t_dev_us = np.array([heads[i][3] for i in keep], np.uint64)
    t_host = np.array([extra[i][0] for i in keep], np.int64)
    lost_before = np.array([extra[i][1] for i in keep], np.int64)
    t_dev = np.where(t_dev_us == np.uint64(NO_CLOCK), np.nan, t_dev_us / 1e6)
    if not _has_seq(meta):
        lost_before = np.zeros(seqs.size, np.int64)
    elif int(meta.get("journal_version", 1)) < 2:
        lost_before = None  # written before the session's count was journalled: from the counter
    try:
        raw = _build_raw(counts, seqs, t_host, t_dev, flags, meta, end, lost_before=lost_before)
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        raise FileFormatError(f"cannot read '{path}': {str(exc).strip() or type(exc).__name__}") from None
    raw.attrs["source_file"] = str(path)
    if gaps or bad or refused:
        wire = frame_losses(seqs, flags, lost_before)
        _report_journal_losses(path, raw, gaps, bad, sum(refused.values()), wire)
    if end is None:
        raw.attrs["journal_complete"] = 0
        logger.warning("'%s' ends without its closing record: the recording was cut short", path)
    elif torn:
        logger.warning("'%s': ignored a torn record after the closing record", path)
    return raw


def _records(data):
    """Find every valid record; return them, the unreadable stretches and whether the tail is torn.

    Returns ``(records, gaps, torn)``: ``records`` as ``(start, type, seq, body
    start, body end)``; ``gaps`` as ``(first byte, end byte, records in it)``
    for each stretch of bytes between valid records (``records in it`` counts
    the record headers found there, at least one); ``torn`` is True when the
    file ends inside a record whose header is intact (a write cut short).
    """
    from ..drivers import pmat1

    size = len(data)
    view = memoryview(data)
    records, gaps = [], []
    pos = prev_end = 0
    while True:
        start = data.find(pmat1.MAGIC, pos)
        if start < 0 or size - start < pmat1.HEADER.size:
            break
        _, version, rtype, _, n_body, seq = pmat1.HEADER.unpack_from(data, start)
        body_end = start + pmat1.HEADER.size + n_body
        if (
            version != pmat1.VERSION
            or n_body > pmat1.MAX_BODY_BYTES  # no record is longer (a frame of MAX_CELLS is 8 MiB at most)
            or body_end + 4 > size
            or zlib.crc32(view[start:body_end]) != pmat1.CRC.unpack_from(data, body_end)[0]
        ):
            pos = start + 1  # resynchronise on the next valid record
            continue
        if start != prev_end:
            gaps.append((prev_end, start))
        records.append((start, rtype, seq, start + pmat1.HEADER.size, body_end))
        pos = prev_end = body_end + 4
    view.release()
    torn = False
    if prev_end < size:
        tail = data[prev_end:]
        head = tail[: pmat1.HEADER.size]
        if len(head) < pmat1.HEADER.size:
            torn = (pmat1.MAGIC + bytes((pmat1.VERSION,))).startswith(head[:5])
        else:
            _, version, _, _, n_body, _ = pmat1.HEADER.unpack(head)
            torn = head[:4] == pmat1.MAGIC and version == pmat1.VERSION and len(tail) < pmat1.HEADER.size + n_body + 4
        if torn and data.find(pmat1.MAGIC + bytes((pmat1.VERSION,)), prev_end + 1) >= 0:
            torn = False  # another record header follows: corruption, not a write cut short
        if not torn:
            gaps.append((prev_end, size))
    marker = pmat1.MAGIC + bytes((pmat1.VERSION,))
    counted = [(a, b, max(1, data.count(marker, a, b))) for a, b in gaps]
    return records, counted, torn


def _json_record(path, view, record, what):
    start, _, _, body_start, body_end = record
    try:
        return json.loads(bytes(view[body_start:body_end]))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FileFormatError(f"cannot read '{path}': its {what} at byte {start} is not valid JSON ({exc})") from None


def _declared_shape(path, meta):
    """``(rows, cols)`` the header record declares (``shape``, else the device INFO), or None."""
    shape = meta.get("shape")
    if shape is None:
        info = meta.get("info") or {}
        if isinstance(info, dict) and info.get("rows") is not None and info.get("cols") is not None:
            shape = (info["rows"], info["cols"])
    if shape is None:
        return None
    try:
        rows, cols = (int(v) for v in shape)
    except (TypeError, ValueError):
        raise FileFormatError(f"cannot read '{path}': its header record declares a frame shape {shape!r}") from None
    _check_shape(path, (rows, cols), "its header record declares")
    return rows, cols


def _check_shape(path, shape, who):
    rows, cols = shape
    if not (1 <= rows <= 65535 and 1 <= cols <= 65535 and rows * cols <= MAX_CELLS):
        raise FileFormatError(
            f"cannot read '{path}': {who} {rows} x {cols} sensels a frame "
            f"(more than {MAX_CELLS} sensels is not a pressure mat)"
        )


def _report_journal_losses(path, raw, gaps, bad, n_refused, wire):
    """Say which journal records could not be read: attributes and one warning.

    ``wire`` is the session's count of frames lost before each frame; the
    counter's holes beyond it are frames whose journal records are missing.
    """
    from ..drivers._frame import FLAG_AFTER_REBOOT

    n_records = sum(n for _, _, n in gaps) + len(bad) + n_refused
    seq = raw.seq.values.astype(np.int64)
    flags = raw.flags.values.astype(np.int64)
    step = np.diff(seq) % 2**32
    same_boot = ((flags[1:] & FLAG_AFTER_REBOOT) == 0) & (step > 0) & (step < 2**31)
    missing = np.where(same_boot, step - 1 - wire[1:], 0)
    at = np.flatnonzero(missing > 0)
    ranges = [(int(seq[i] + 1) % 2**32, int(seq[i + 1] - 1) % 2**32) for i in at]
    text = " ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in ranges)
    raw.attrs.update(
        journal_records_lost=int(n_records),
        journal_frames_lost=int(missing[at].sum()),
        journal_lost_seq=text,
    )
    where = ", ".join(f"bytes {a}-{b}" for a, b, _ in gaps[:5]) + (" ..." if len(gaps) > 5 else "")
    if bad:
        where += (", " if where else "") + f"{len(bad)} malformed"
    if n_refused:
        where += (", " if where else "") + f"{n_refused} of another shape"
    logger.warning(
        "'%s': %d journal records could not be read (%s); the frames with seq %s are missing from the recording",
        path, n_records, where, text or "(none between its first and last frame)",
    )  # fmt: skip


def scan_times(seq, t_host_ns, flags, *, has_seq, rate_hz=None, t_device_s=None):
    """Place frames at the times the device scanned them, in host seconds.

    Within one boot of the device, a frame's scan index follows from its scan
    counter, so lost frames leave exact holes. Where the device stopped
    scanning for a while without rebooting (a reconnect, a restart of the
    stream: its counter then no longer measures time), the device clock places
    the frames after the pause, so a pause is a gap in time, never a stretch.
    The scan period is fitted in host seconds, which removes the device clock's
    drift: a least-squares line (one intercept per boot) through the earliest
    arrival in each half second, since arrival latency is never negative but is
    sometimes long. Each boot after a reboot (counter and clock restart) is
    placed on the host clock from its earliest-arriving frame, never
    interpolated across the reboot. Formats without a counter are placed by
    arrival time, rounded to the scan grid, and start a new run at each
    reconnect.

    Parameters
    ----------
    seq : array_like of int
        Scan counter per frame (0 .. 2**32 - 1; it wraps).
    t_host_ns : array_like of int
        Host monotonic receive time per frame, in ns.
    flags : array_like of int
        Session flags per frame (a new boot after a reboot; without a counter,
        a new run after a reconnect too).
    has_seq : bool
        Whether ``seq`` is the device's scan counter (else a receive count).
    rate_hz : float | None
        Nominal scan rate, used when there are too few frames to fit one.
    t_device_s : array_like of float | None
        Device clock at each scan's start, in s (NaN where the device gives
        none); places frames across a pause of the device within a boot.

    Returns
    -------
    time_s : numpy.ndarray of float64
        Frame times in s, 0 at the first frame; on one uniform grid within a
        stretch of continuous scanning.
    scan : numpy.ndarray of int64
        Scan index of each frame (0 for the first): ``time_s`` in periods, rounded.
    rate_hz : float
        The fitted scan rate (1 / period), in Hz of the host clock.

    Examples
    --------
    Scans 5 and 6, then the device pauses for 1 s (its clock says so, its
    counter does not) and scans 7 and 8:

    >>> import numpy as np
    >>> from plantar.io.journal import scan_times
    >>> t = np.array([0, 10, 1020, 1030]) * 1_000_000 + 300_000
    >>> clock = np.array([0.05, 0.06, 1.07, 1.08])
    >>> time_s, scan, rate = scan_times([5, 6, 7, 8], t, [0, 0, 16, 0], has_seq=True, t_device_s=clock)
    >>> np.round(time_s, 3).tolist(), round(rate, 3)
    ([0.0, 0.01, 1.02, 1.03], 100.0)
    """
    from ..drivers._frame import FLAG_AFTER_REBOOT, FLAG_AFTER_RECONNECT

    seq = np.asarray(seq, np.int64)
    t = np.asarray(t_host_ns, np.int64)
    t = (t - t[0]).astype(np.float64) / 1e9
    flags = np.asarray(flags, np.int64)
    n = seq.size
    new_run = np.zeros(n, bool)
    new_run[0] = True
    after_reconnect = flags[1:] & FLAG_AFTER_RECONNECT != 0
    if has_seq:
        step = np.diff(seq) % 2**32
        new_run[1:] |= (flags[1:] & FLAG_AFTER_REBOOT != 0) | (step == 0) | (step >= 2**31)
        advance = step.astype(np.float64)
        clock = np.full(n, np.nan) if t_device_s is None else np.asarray(t_device_s, np.float64)
        d_clock = np.diff(clock)
        timed = ~new_run[1:] & np.isfinite(d_clock)
        period_dev = _device_period(d_clock, step, timed)
        if period_dev is None:
            timed[:] = False
        else:
            paused = timed & (np.abs(d_clock - step * period_dev) > period_dev / 4)
            backwards = paused & (d_clock <= 0)
            new_run[1:] |= backwards  # a clock that jumps back: a restart the counter missed
            paused &= ~backwards
            advance = np.where(paused, d_clock / period_dev, advance)
        new_run[1:] |= after_reconnect & ~timed  # a pause no clock measures: placed on the host clock
        advance = np.where(new_run[1:], 0.0, advance)
    else:
        new_run[1:] |= flags[1:] & (FLAG_AFTER_REBOOT | FLAG_AFTER_RECONNECT) != 0
        gaps = np.diff(t)
        period = np.median(gaps[~new_run[1:]]) if np.any(~new_run[1:]) else 1.0 / (rate_hz or 1.0)
        advance = np.where(new_run[1:], 0, np.maximum(1, np.round(gaps / period))).astype(np.float64)
    run = np.cumsum(new_run) - 1
    local = np.concatenate(([0.0], np.cumsum(advance)))
    local = local - local[np.flatnonzero(new_run)][run]
    period = _envelope_period(t, local, run, rate_hz)
    n_runs = run[-1] + 1
    intercept = np.full(n_runs, np.inf)
    np.minimum.at(intercept, run, t - period * local)
    offset = intercept - intercept[0]
    if not has_seq:
        offset = np.round(offset / period) * period
    last = np.zeros(n_runs)
    np.maximum.at(last, run, local)
    for r in range(1, n_runs):  # loop over runs (reboots), not frames
        offset[r] = max(offset[r], offset[r - 1] + (last[r - 1] + 1) * period)
    time_s = offset[run] + period * local
    return time_s, np.round(time_s / period).astype(np.int64), 1.0 / period


def _device_period(d_clock, step, timed):
    """The scan period on the device's clock, from frames whose counter and clock agree; None if unknown."""
    ok = timed & (step > 0) & (d_clock > 0)
    if not np.any(ok):
        return None
    rough = float(np.median(d_clock[ok] / step[ok]))
    if not rough > 0:
        return None
    agree = ok & (np.abs(d_clock - step * rough) <= rough / 4)
    return float(np.sum(d_clock[agree]) / np.sum(step[agree])) if np.any(agree) else rough


def _envelope_period(t, k, run, rate_hz):
    """Scan period from the lower envelope of arrival time against scan index.

    Arrival is scan time plus a latency that is never negative but sometimes
    long (a frame held behind a corrupt one, a busy host). So the period is
    that of the line, one intercept per run, that lies below every arrival and
    closest to them on the whole (the least sum of latencies): it rests on the
    fastest arrivals, wherever they are, and ignores every delay. The sum is
    convex in the period, so a golden-section search finds it.
    """
    fallback = 1.0 / rate_hz if rate_hz else 1.0
    n_runs = int(run.max()) + 1
    n = np.bincount(run, minlength=n_runs)
    # A first guess from each run's first and last frames (frames read together share an arrival time,
    # so frame-to-frame steps can mislead); the least-latency line lies within a quarter of it.
    starts = np.flatnonzero(np.diff(run, prepend=-1))  # runs are contiguous, and k grows within each
    ends = np.append(starts[1:], run.size) - 1
    span_k, span_t = k[ends] - k[starts], t[ends] - t[starts]
    if not np.any(span_k > 0):
        return fallback
    rough = float(np.sum(span_t[span_k > 0]) / np.sum(span_k[span_k > 0]))
    if not rough > 0:
        return fallback
    floor = np.empty(n_runs)

    def total_latency(period):
        residual = t - period * k
        floor.fill(np.inf)
        np.minimum.at(floor, run, residual)
        return float(np.sum(residual) - np.sum(n * floor))

    low, high = 0.75 * rough, 1.35 * rough
    golden = (math.sqrt(5.0) - 1.0) / 2.0
    a, b = high - golden * (high - low), low + golden * (high - low)
    fa, fb = total_latency(a), total_latency(b)
    while high - low > 1e-12 * rough:
        if fa <= fb:
            high, b, fb = b, a, fa
            a = high - golden * (high - low)
            fa = total_latency(a)
        else:
            low, a, fa = a, b, fb
            b = low + golden * (high - low)
            fb = total_latency(b)
    period = float(low + high) / 2.0
    return period if period > 0 else rough


def frame_losses(seq, flags, lost_before=None):
    """Frames lost just before each frame, as the session counts them.

    Parameters
    ----------
    seq : array_like of int
        Scan counter per frame.
    flags : array_like of int
        Session flags per frame.
    lost_before : array_like of int | None
        The session's own count per frame, as journalled (65535 = at least
        that many: taken from the counter); None to take every count from the
        counter (the counter's step minus one within a boot).

    Returns
    -------
    lost : numpy.ndarray of int64
        Per frame; the recording's ``frames_lost`` is the sum over all frames
        but the first (its losses happened before the recording began).

    Examples
    --------
    >>> from plantar.io.journal import frame_losses
    >>> frame_losses([7, 8, 11, 0], [0, 0, 64, 32]).tolist()
    [0, 0, 2, 0]
    """
    from ..drivers._frame import FLAG_AFTER_REBOOT

    seq = np.asarray(seq, np.int64)
    flags = np.asarray(flags, np.int64)
    step = np.diff(seq) % 2**32
    reboot = (flags[1:] & FLAG_AFTER_REBOOT != 0) | (step == 0) | (step >= 2**31)
    from_counter = np.concatenate(([0], np.where(reboot, 0, step - 1)))
    if lost_before is None:
        return from_counter
    lost = np.asarray(lost_before, np.int64).copy()
    saturated = lost >= LOST_SATURATED
    lost[saturated] = np.maximum(from_counter[saturated], LOST_SATURATED)
    return lost


def _has_seq(meta):
    """Whether the recording's ``seq`` is the device's scan counter (else a receive count)."""
    from ..drivers.protocols import PROTOCOLS

    protocol = PROTOCOLS.get(meta.get("protocol"))
    if protocol is not None:
        return protocol.has_seq
    return meta.get("protocol") in (None, "pmat1") or bool(meta.get("has_seq", False))


def _build_raw(counts, seq, t_host_ns, t_device_s, flags, meta, end, *, lost_before=None):
    from ..drivers._frame import FLAG_AFTER_REBOOT, FLAG_AFTER_RECONNECT

    has_seq = _has_seq(meta)
    pitch = meta.get("pitch_mm")
    if pitch is None:
        raise ValueError(
            "the recording does not say the sensor pitch (the device does not report it): "
            "record with pitch_mm given"
        )
    nominal = meta.get("rate_hz") or 0
    time_s, _, rate = scan_times(seq, t_host_ns, flags, has_seq=has_seq, rate_hz=nominal or None,
                                 t_device_s=t_device_s)  # fmt: skip
    info = meta.get("info") or {}
    attrs = dict(meta.get("attrs") or {})
    device = " ".join(str(info[k]) for k in ("vendor", "model") if info.get(k)) or meta.get("protocol", "")
    if info.get("serial"):
        device += f" (serial {info['serial']})"
    start_ns = meta.get("start_wall_ns", 0) + (int(t_host_ns[0]) - meta.get("start_monotonic_ns", int(t_host_ns[0])))
    start = datetime.datetime.fromtimestamp(start_ns / 1e9, tz=datetime.timezone.utc)
    attrs.setdefault("subject", "")
    attrs.setdefault("condition", "")
    raw = make_counts(
        counts,
        pitch_mm=tuple(pitch) if isinstance(pitch, (list, tuple)) else pitch,
        rate_hz=rate,
        time_s=time_s,
        seq=seq % 2**32,
        t_device_s=t_device_s,
        device=device,
        source_format=f"plantar recording ({meta.get('protocol', '?')})",
        source_file=str(meta.get("url", "")),
        start_time=start.isoformat(timespec="milliseconds"),
        **attrs,
    )
    raw = raw.assign_coords(
        t_host=("time", (t_host_ns - t_host_ns[0]) / 1e9, {"units": "s", "long_name": "host receive time"}),
    )
    raw["flags"] = ("time", flags, {"units": "1", "long_name": _FLAGS_DOC})
    lost = frame_losses(seq, flags, lost_before if has_seq else np.zeros(seq.size, np.int64))
    after = flags[1:].astype(np.int64)  # the first frame's flags tell of what came before the recording
    raw.attrs.update(
        nominal_rate_hz=float(nominal),
        protocol=str(meta.get("protocol", "")),
        device_info=json.dumps(info, separators=(",", ":")),
        frames_lost=int(lost[1:].sum()),
        device_reboots=int(np.count_nonzero(after & FLAG_AFTER_REBOOT)),
        reconnects=int(np.count_nonzero(after & FLAG_AFTER_RECONNECT)),
    )
    if end:
        for key in ("crc_errors", "bad_packets", "junk_bytes"):
            if key in end:
                raw.attrs[key] = int(end[key])
    return raw


FORMAT = FileFormat(
    name="pmrec",
    description="plantar recording journal",
    extensions=(JOURNAL_SUFFIX,),
    sniff=sniff,
    reader=read_journal,
)


