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
                 rows u16, cols u16, encoding u8 (3), flags u8, reserved u16,
                 then the cells as PMAT/1 zero-run words; header seq = scan counter
EVENT     0x42   UTF-8 JSON: ``t_host_ns``, ``kind`` and details
END       0x43   UTF-8 JSON: the session's final statistics
========  =====  ==========================================================

Records are only ever appended (:class:`plantar.drivers.recorder.Recorder`), so a
recording cut short by a crash, a kill or a power loss still reads: this reader
takes every record whose CRC holds and ignores a torn last one.
"""

import datetime
import json
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

    Parameters
    ----------
    path : str | pathlib.Path
        The journal.

    Returns
    -------
    raw : xarray.Dataset
        Schema ``counts/1``: ``counts``, with per-frame ``seq``, ``t_device``,
        ``t_host`` and ``flags``; ``time`` on the device's scan grid, in host
        seconds (see :func:`scan_times`).

    Raises
    ------
    FileFormatError
        If the file is not a journal or holds no frame; the message names the file.

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
    if not sniff(data[:8]):
        raise FileFormatError(f"cannot read '{path}': not a plantar recording journal")
    meta, end, events = None, None, []
    heads = []  # RX records: (payload start, end, seq, t_device_us, rows, cols, encoding, flags)
    view = memoryview(data)
    size = len(data)
    pos = corrupt = 0
    while True:
        start = data.find(pmat1.MAGIC, pos)
        if start < 0 or size - start < pmat1.HEADER.size:
            break
        _, version, rtype, _, n_body, seq = pmat1.HEADER.unpack_from(data, start)
        body_end = start + pmat1.HEADER.size + n_body
        if version != pmat1.VERSION or body_end + 4 > size:
            if body_end + 4 > size and version == pmat1.VERSION:
                break  # the torn last record of a recording cut short
            corrupt += 1
            pos = start + 1
            continue
        if zlib.crc32(view[start:body_end]) != pmat1.CRC.unpack_from(data, body_end)[0]:
            corrupt += 1
            pos = start + 1
            continue
        body = view[start + pmat1.HEADER.size : body_end]
        pos = body_end + 4
        if rtype == RX:
            th, td, rows, cols, encoding, fl, _ = RX_HEADER.unpack_from(body)
            if encoding != pmat1.ENCODING_ZERO_RUN:
                corrupt += 1
                continue
            payload = start + pmat1.HEADER.size + RX_HEADER.size
            heads.append((payload, body_end, seq, td, rows, cols, encoding, fl))
        elif rtype == META and meta is None:
            meta = json.loads(bytes(body))
        elif rtype == EVENT:
            events.append(json.loads(bytes(body)))
        elif rtype == END:
            end = json.loads(bytes(body))
    if meta is None:
        raise FileFormatError(f"cannot read '{path}': its header record is corrupt")
    # Every frame's cells in one pass, as the wire decoder does.
    cells = pmat1._decode_zero_runs(view, heads) if heads else []
    view.release()
    kept = [(head, c) for head, c in zip(heads, cells) if c is not None]
    corrupt += len(heads) - len(kept)
    if not kept:
        raise FileFormatError(f"cannot read '{path}': the recording holds no frame")
    shapes = [c.shape for _, c in kept]
    keep = max(set(shapes), key=shapes.count)
    if len(set(shapes)) > 1:
        logger.warning("'%s': dropping %d frames whose shape is not %s", path, len(kept) - shapes.count(keep), keep)
        kept = [(head, c) for head, c in kept if c.shape == keep]
    frames = [c for _, c in kept]
    seqs, flags = (np.array([head[i] for head, _ in kept], np.int64) for i in (2, 7))
    t_dev_us = np.array([head[3] for head, _ in kept], np.uint64)
    t_host = np.array([RX_HEADER.unpack_from(data, head[0] - RX_HEADER.size)[0] for head, _ in kept], np.int64)
    t_dev = np.where(t_dev_us == np.uint64(NO_CLOCK), np.nan, t_dev_us / 1e6)
    if corrupt:
        logger.warning("'%s': skipped %d corrupt records", path, corrupt)
    raw = _build_raw(np.stack(frames), seqs, t_host, t_dev, flags.astype(np.uint8), meta, end)
    raw.attrs["source_file"] = str(path)
    if end is None:
        raw.attrs["journal_complete"] = 0
        logger.warning("'%s' ends without its closing record: the recording was cut short", path)
    return raw


def scan_times(seq, t_host_ns, flags, *, has_seq, rate_hz=None):
    """Place frames on the device's uniform scan grid, in host seconds.

    Within a run of frames without a device reboot, a frame's scan index follows
    from its scan counter, so lost frames leave exact holes. The scan period is
    fitted in host seconds, which removes the device clock's drift: a least-squares
    line (one intercept per run) through the earliest arrival in each half second,
    since arrival latency is never negative but is sometimes long. Each run's start
    is then placed from its earliest-arriving frame. Formats without a counter are placed by arrival
    time, rounded to the grid.

    Parameters
    ----------
    seq : array_like of int
        Scan counter per frame (0 .. 2**32 - 1; it wraps).
    t_host_ns : array_like of int
        Host monotonic receive time per frame, in ns.
    flags : array_like of int
        Session flags per frame (a new run starts after a reboot, or, without
        a counter, after a reconnect).
    has_seq : bool
        Whether ``seq`` is the device's scan counter (else a receive count).
    rate_hz : float | None
        Nominal scan rate, used when there are too few frames to fit one.

    Returns
    -------
    time_s : numpy.ndarray of float64
        Frame times in s, 0 at the first frame, on a uniform grid.
    scan : numpy.ndarray of int64
        Scan index of each frame on that grid (0 for the first).
    rate_hz : float
        The fitted scan rate (1 / period), in Hz of the host clock.

    Examples
    --------
    >>> import numpy as np
    >>> from plantar.io.journal import scan_times
    >>> t = np.array([0, 10, 30, 40]) * 1_000_000 + 300_000
    >>> time_s, scan, rate = scan_times([5, 6, 8, 9], t, [0, 0, 0, 0], has_seq=True)
    >>> scan.tolist(), round(rate, 3)
    ([0, 1, 3, 4], 100.0)
    """
    from ..drivers._frame import FLAG_AFTER_REBOOT, FLAG_AFTER_RECONNECT

    seq = np.asarray(seq, np.int64)
    t = np.asarray(t_host_ns, np.int64)
    t = (t - t[0]).astype(np.float64) / 1e9
    flags = np.asarray(flags, np.int64)
    n = seq.size
    new_run = np.zeros(n, bool)
    new_run[0] = True
    if has_seq:
        step = np.diff(seq) % 2**32
        new_run[1:] |= (flags[1:] & FLAG_AFTER_REBOOT != 0) | (step == 0) | (step >= 2**31)
        step = np.where(new_run[1:], 0, step)
    else:
        new_run[1:] |= flags[1:] & (FLAG_AFTER_REBOOT | FLAG_AFTER_RECONNECT) != 0
        gaps = np.diff(t)
        period = np.median(gaps[~new_run[1:]]) if np.any(~new_run[1:]) else 1.0 / (rate_hz or 1.0)
        step = np.where(new_run[1:], 0, np.maximum(1, np.round(gaps / period))).astype(np.int64)
    run = np.cumsum(new_run) - 1
    local = np.concatenate(([0], np.cumsum(step)))
    local = local - local[np.flatnonzero(new_run)][run]
    period = _envelope_period(t, local, run, rate_hz)
    n_runs = run[-1] + 1
    intercept = np.full(n_runs, np.inf)
    np.minimum.at(intercept, run, t - period * local)
    offset = np.round((intercept - intercept[0]) / period).astype(np.int64)
    last = np.zeros(n_runs, np.int64)
    np.maximum.at(last, run, local)
    for r in range(1, n_runs):  # loop over runs (reboots), not frames
        offset[r] = max(offset[r], offset[r - 1] + last[r - 1] + 1)
    scan = offset[run] + local
    return scan * period, scan, 1.0 / period


def _envelope_period(t, k, run, rate_hz, window_s=0.5):
    """Scan period from the lower envelope of arrival time against scan index.

    Arrival is scan time plus a latency that is never negative but sometimes long
    (a frame held behind a corrupt one, a busy host). So the earliest arrival in
    each ``window_s`` of each run is kept, and the period is the least-squares
    slope through those points, one intercept per run.
    """
    fallback = 1.0 / rate_hz if rate_hz else 1.0
    same_run = run[1:] == run[:-1]
    dk, dt = np.diff(k)[same_run], np.diff(t)[same_run]
    if not np.any(dk > 0):
        return fallback
    rough = float(np.median(dt[dk > 0] / dk[dk > 0])) or fallback
    if not rough > 0:
        rough = fallback
    group = run * (int(k.max() * rough / window_s) + 2) + np.floor(k * rough / window_s).astype(np.int64)
    order = np.lexsort((t - rough * k, group))
    first = np.ones(order.size, bool)
    first[1:] = group[order][1:] != group[order][:-1]
    pick = order[first]
    kp, tp, rp = k[pick].astype(np.float64), t[pick], run[pick]
    n_runs = int(run.max()) + 1
    n = np.bincount(rp, minlength=n_runs)
    k_mean = np.bincount(rp, kp, n_runs) / np.maximum(n, 1)
    t_mean = np.bincount(rp, tp, n_runs) / np.maximum(n, 1)
    dkp = kp - k_mean[rp]
    denominator = float(np.sum(dkp * dkp))
    if denominator <= 0:
        return rough
    period = float(np.sum(dkp * (tp - t_mean[rp]))) / denominator
    return period if period > 0 else rough


def _build_raw(counts, seq, t_host_ns, t_device_s, flags, meta, end):
    has_seq = meta.get("protocol") in (None, "pmat1") or bool(meta.get("has_seq", False))
    from ..drivers.protocols import PROTOCOLS

    protocol = PROTOCOLS.get(meta.get("protocol"))
    if protocol is not None:
        has_seq = protocol.has_seq
    nominal = meta.get("rate_hz") or 0
    time_s, scan, rate = scan_times(seq, t_host_ns, flags, has_seq=has_seq, rate_hz=nominal or None)
    pitch = meta.get("pitch_mm")
    if pitch is None:
        raise FileFormatError(
            "the recording does not say the sensor pitch (the device does not report it): "
            "record with pitch_mm given"
        )
    info = meta.get("info") or {}
    attrs = dict(meta.get("attrs") or {})
    device = " ".join(str(info[k]) for k in ("vendor", "model") if info.get(k)) or meta.get("protocol", "")
    if info.get("serial"):
        device += f" (serial {info['serial']})"
    start_ns = meta.get("start_wall_ns", 0) + (int(t_host_ns[0]) - meta.get("start_monotonic_ns", int(t_host_ns[0])))
    start = datetime.datetime.fromtimestamp(start_ns / 1e9, tz=datetime.timezone.utc)
    from ..drivers._frame import FLAG_AFTER_REBOOT, FLAG_AFTER_RECONNECT

    reboots = int(np.count_nonzero(flags & FLAG_AFTER_REBOOT))
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
    lost = _lost_frames(scan, flags)
    raw.attrs.update(
        nominal_rate_hz=float(nominal),
        protocol=str(meta.get("protocol", "")),
        device_info=json.dumps(info, separators=(",", ":")),
        frames_lost=int(lost),
        device_reboots=reboots,
        reconnects=int(np.count_nonzero(flags & FLAG_AFTER_RECONNECT)),
    )
    if end:
        for key in ("crc_errors", "bad_packets", "junk_bytes"):
            if key in end:
                raw.attrs[key] = int(end[key])
    return raw


def _lost_frames(scan, flags):
    """Holes in the scan grid within runs (holes across a reboot are unknown)."""
    from ..drivers._frame import FLAG_AFTER_REBOOT

    step = np.diff(scan)
    within = (flags[1:] & FLAG_AFTER_REBOOT) == 0
    return int(np.sum(np.where(within, step - 1, 0)))


FORMAT = FileFormat(
    name="pmrec",
    description="plantar recording journal",
    extensions=(JOURNAL_SUFFIX,),
    sniff=sniff,
    reader=read_journal,
)


