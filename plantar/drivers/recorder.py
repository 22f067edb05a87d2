"""Crash-safe recording: frames go to a journal as they arrive.

The journal format is described in :mod:`plantar.io.journal`, which reads it.
A writer thread takes the frames queued every :data:`DRAIN_INTERVAL_S` (50 ms)
and hands their records to the operating system at once, so killing the recorder
loses at most what arrived in the last 50 ms, and the file is synced to disk
every second, so a power loss loses at most the last second. When a
recording ends, the journal becomes a NetCDF raw recording and is removed.
"""

import dataclasses
import errno
import itertools
import json
import os
import queue
import shutil
import threading
import time
import zlib
from pathlib import Path

import numpy as np

from .._version import __version__
from ..io.journal import (
    END,
    EVENT,
    JOURNAL_SUFFIX,
    JOURNAL_VERSION,
    LOST_SATURATED,
    META,
    NO_CLOCK,
    RX,
    RX_HEADER,
    _build_raw,
    read_journal,
)
from ..utils import logger
from . import pmat1
from ._frame import FLAG_AFTER_REBOOT, FLAG_AFTER_RECONNECT


#: Seconds between two writes of what the reader queued: the frames of a read reach the operating
#: system this much later at most (well within the second a power cut may cost).
DRAIN_INTERVAL_S = 0.05


class Recorder:
    """Append frames to a journal from any thread; a writer thread does the disk work.

    Parameters
    ----------
    path : str | pathlib.Path
        The journal to create (``.pmrec``); an existing file is never replaced.
    metadata : dict
        JSON-serialisable description of the session (see ``Session.metadata``);
        its ``shape`` (or ``info`` ``rows`` and ``cols``) is the frame shape the
        journal declares, and the reader refuses frames of another.
    fsync_interval_s : float
        Seconds between syncs of the journal to disk.

    Attributes
    ----------
    frames_written : int
        Frames in the journal so far.
    frames : int
        Frames handed to :meth:`write` (written, or queued to be).
    lost_frames, reboots, reconnects : int
        The session's counts over the recorded frames after the first (frames
        lost just before each, device reboots and reconnects flagged on them):
        exactly what the journal's reader reports as ``frames_lost``,
        ``device_reboots`` and ``reconnects``.
    """

    def __init__(self, path, metadata, *, fsync_interval_s=1.0):
        self.path = Path(path)
        try:
            self._file = open(self.path, "xb")
        except FileExistsError:
            raise FileExistsError(
                f"journal '{self.path}' exists: it may hold an unfinished recording; recover it with "
                f"'plantar convert {self.path} -o recovered.nc', or remove it"
            ) from None
        now_ns = time.time_ns()
        meta = dict(metadata)
        meta.update(
            start_wall_ns=now_ns,
            start_monotonic_ns=time.monotonic_ns(),
            plantar_version=__version__,
            journal_version=JOURNAL_VERSION,
        )
        self._fsync_interval_s = float(fsync_interval_s)
        self._queue = queue.SimpleQueue()
        self._closed = threading.Event()  # set once the END record is queued: write it now
        self._lock = threading.Lock()
        self._closing = False
        self._error = None
        self.frames_written = 0
        self.frames = self.lost_frames = self.reboots = self.reconnects = 0
        try:
            self._write_now([pmat1.encode_packet(META, 0, _json(meta))])
            os.fsync(self._file.fileno())
        except OSError as exc:
            self._file.close()
            self.path.unlink(missing_ok=True)  # nothing recorded yet
            raise _write_error(self.path, exc, 0) from None
        self._thread = threading.Thread(target=self._run, name=f"plantar recorder {self.path.name}", daemon=True)
        self._thread.start()

    def write(self, frame):
        """Queue one frame for the journal (cheap; safe from the reader thread).

        Frames written after :meth:`close` began are ignored (and not counted).

        Parameters
        ----------
        frame : Frame
            The frame.
        """
        self.write_frames([frame])

    def write_frames(self, frames):
        """Queue frames for the journal, oldest first (cheap; safe from the reader thread).

        The writer encodes and writes the frames queued together in one go;
        a session hands over the frames of each read of its port at once
        (``session.add_sink(recorder.write_frames, batch=True)``). Frames
        written after :meth:`close` began are ignored (and not counted).

        Parameters
        ----------
        frames : list of Frame
            The frames.
        """
        frames = list(frames)
        with self._lock:
            if self._closing or not frames:
                return
            counted = frames if self.frames else frames[1:]  # the first frame's losses predate the recording
            for frame in counted:
                self.lost_frames += frame.lost_before
                self.reboots += bool(frame.flags & FLAG_AFTER_REBOOT)
                self.reconnects += bool(frame.flags & FLAG_AFTER_RECONNECT)
            self.frames += len(frames)
            self._queue.put(frames)

    def event(self, kind, **detail):
        """Queue an event record (``kind`` and details, with the host time).

        Parameters
        ----------
        kind : str
            What happened, e.g. ``"port_lost"``.
        **detail
            JSON-serialisable details.
        """
        with self._lock:
            if not self._closing:
                self._queue.put(("event", dict(detail, kind=kind, t_host_ns=time.monotonic_ns())))

    def check(self):
        """Raise the writer's error (e.g. disk full), if it had one.

        Raises
        ------
        OSError
            What the writer met, in one line (``disk full: ...`` when the disk
            is full); the journal keeps every record written before it.
        """
        if self._error is not None:
            raise _write_error(self.path, self._error, self.frames_written)

    def close(self, stats=None):
        """Write everything queued, an END record, sync, and close the journal.

        Parameters
        ----------
        stats : dict | callable | None
            Final statistics for the END record, or a function returning them,
            called once no frame can be added any more.
        """
        with self._lock:
            if self._closing:
                return
            self._closing = True
        if callable(stats):
            stats = stats()
        with self._lock:
            self._queue.put(("end", stats or {}))
            self._queue.put(None)
        self._closed.set()
        self._thread.join()
        try:
            self._file.close()
        except OSError as exc:  # the last bytes did not fit: the journal keeps what was written
            self._error = self._error or exc
        self.check()

    def _run(self):
        try:
            self._write_until_closed()
        except Exception as exc:  # noqa: BLE001  (never die silently: check() and close() raise it)
            self._error = exc

    def _write_until_closed(self):
        last_sync = time.monotonic()
        stop = False
        while not stop:
            # Wake up every DRAIN_INTERVAL_S (or at once when closing) and take all that is queued:
            # waking up for each read of the port would cost more than encoding and writing it.
            self._closed.wait(DRAIN_INTERVAL_S)
            items = []
            while True:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            records, frames, n_frames = [], [], 0
            for item in items + [()]:  # () ends the last run of frames
                if isinstance(item, list):
                    frames += item
                    continue
                if frames:  # the frames queued one after the other, encoded at once
                    records += _rx_records(frames)
                    n_frames += len(frames)
                    frames = []
                if item is None:
                    stop = True
                elif item:
                    kind, body = item
                    records.append(pmat1.encode_packet(END if kind == "end" else EVENT, 0, _json(body)))
            if self._error is None and records:
                try:
                    self._write_now(records)
                    self.frames_written += n_frames
                except OSError as exc:
                    self._error = exc  # raised by check(); the journal keeps what was written
            if self._error is None and (stop or time.monotonic() - last_sync >= self._fsync_interval_s):
                try:
                    os.fsync(self._file.fileno())
                except OSError as exc:
                    self._error = exc
                last_sync = time.monotonic()

    def _write_now(self, records):
        self._file.write(b"".join(records))
        self._file.flush()


def _write_error(path, exc, n_frames):
    """One line saying why the journal could not be written, and how to recover what it holds."""
    full = getattr(exc, "errno", None) in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))
    reason = "disk full" if full else (exc.strerror or str(exc) or type(exc).__name__)
    if n_frames == 0:
        return OSError(f"{reason}: cannot write journal '{path}'; nothing was recorded")
    return OSError(
        f"{reason}: cannot write journal '{path}'; it keeps the first {n_frames} frames: recover them with "
        f"'plantar convert {path} -o RECORDING.nc' where there is space"
    )


def _json(obj):
    return json.dumps(obj, separators=(",", ":"), default=_plain).encode("utf-8")


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _rx_records(frames):
    """The RX records of frames: the zero-run words they arrived as, or their cells encoded at once per shape."""
    payloads = [frame.zero_run for frame in frames]
    missing = [i for i, words in enumerate(payloads) if words is None]
    for shape, group in itertools.groupby(missing, key=lambda i: frames[i].counts.shape):
        group = list(group)
        cells = np.stack([frames[i].counts for i in group]).reshape(len(group), -1)
        words, n_words = pmat1._encode_zero_runs(cells)
        encoded, end = words.tobytes(), 0
        for i, size in zip(group, (2 * n_words).tolist()):
            payloads[i] = encoded[end : end + size]
            end += size
    records = []
    for frame, words in zip(frames, payloads):
        rows, cols = frame.counts.shape
        t_dev = NO_CLOCK if frame.t_device_us is None else int(frame.t_device_us)
        lost = min(int(frame.lost_before), LOST_SATURATED)
        head = RX_HEADER.pack(int(frame.t_host_ns), t_dev, rows, cols, pmat1.ENCODING_ZERO_RUN,
                              frame.flags & 0xFF, lost)  # fmt: skip
        records.append(pmat1.encode_packet(RX, frame.seq or 0, head + words))
    return records


def frames_to_counts(frames, metadata):
    """Turn frames received by a session into a raw recording.

    Parameters
    ----------
    frames : list of Frame
        The frames, in arrival order, with ``seq`` set.
    metadata : dict
        As ``Session.metadata()`` returns it.

    Returns
    -------
    raw : xarray.Dataset
        Schema ``counts/1``, as :func:`read_journal` gives it.

    Examples
    --------
    >>> import numpy as np
    >>> from plantar.drivers import Frame, recorder
    >>> frames = [Frame(np.zeros((2, 2), np.uint16), seq=s, t_host_ns=s * 5_000_000) for s in (0, 1, 3)]
    >>> raw = recorder.frames_to_counts(frames, {"protocol": "pmat1", "rate_hz": 200, "pitch_mm": 5.0})
    >>> raw.time.values
    array([0.   , 0.005, 0.015])
    """
    return _build_raw(
        np.stack([f.counts for f in frames]),
        np.array([f.seq for f in frames], np.int64),
        np.array([f.t_host_ns for f in frames], np.int64),
        np.array([np.nan if f.t_device_us is None else f.t_device_us / 1e6 for f in frames]),
        np.array([f.flags & 0xFF for f in frames], np.uint8),
        metadata,
        None,
        lost_before=np.array([f.lost_before for f in frames], np.int64),
    )


def journal_path(path):
    """Return the journal path of a recording ``path`` (``walk.nc`` -> ``walk.pmrec``).

    Parameters
    ----------
    path : str | pathlib.Path
        The NetCDF file the recording will become.

    Returns
    -------
    journal : pathlib.Path

    Examples
    --------
    >>> from plantar.drivers.recorder import journal_path
    >>> journal_path("walks/walk.nc").as_posix()
    'walks/walk.pmrec'
    """
    path = Path(path)
    return path.with_suffix(JOURNAL_SUFFIX) if path.suffix else path.with_name(path.name + JOURNAL_SUFFIX)


def _record(session, path, **kwargs):
    """Record a session; see :meth:`Session.record` (this is its implementation).

    Takes the arguments of :func:`_record_raw`; returns the NetCDF file written.
    """
    return _record_raw(session, path, **kwargs)[0]


def _record_raw(session, path, *, seconds=None, overwrite=False, keep_journal=False, status=None,
                status_interval_s=0.5, stop=None, **attrs):  # fmt: skip
    """Record a session into ``path``; return the file and the raw recording it holds.

    Parameters
    ----------
    session : Session
        An open session.
    path : str | pathlib.Path
        The NetCDF file to write.
    seconds : float | None
        Duration in s; None until Ctrl-C.
    overwrite : bool
        Replace ``path`` if it exists.
    keep_journal : bool
        Keep the journal after the NetCDF file is written.
    status : callable | None
        ``status(stats, latest)`` with the recording's :class:`SessionStats`,
        called every ``status_interval_s`` and once more when recording stops.
    status_interval_s : float
        Seconds between status calls.
    stop : threading.Event | None
        Stop recording when this is set (from another thread), as Ctrl-C does.
    **attrs
        Trial attributes.

    Returns
    -------
    path : pathlib.Path
        The NetCDF file written.
    raw : xarray.Dataset
        What it holds (schema ``counts/1``), so that a caller need not read it back.
    """
    from ..io import save

    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"'{path}' exists; pass overwrite=True (--overwrite) to replace it")
    metadata = session.metadata(**attrs)
    if metadata["pitch_mm"] is None:
        raise ValueError(
            f"protocol {session.protocol.name!r} does not report the sensor pitch: give pitch_mm"
        )
    journal = journal_path(path)
    recorder = Recorder(journal, metadata)
    baseline = session.stats
    session.add_sink(recorder.write_frames, batch=True)
    logger.info("recording from %s into %s", session.url, journal)
    started = time.monotonic()
    interrupted = False
    try:
        while not session.closed:
            left = None if seconds is None else seconds - (time.monotonic() - started)
            if (left is not None and left <= 0) or (stop is not None and stop.is_set()):
                break
            wait_s = status_interval_s if left is None else min(status_interval_s, left)
            if stop is None:
                time.sleep(wait_s)
            elif stop.wait(wait_s):
                logger.info("stopped after %.1f s", time.monotonic() - started)
            recorder.check()
            if status is not None:
                status(_recording_stats(session.stats, baseline, recorder), session.latest)
    except KeyboardInterrupt:
        interrupted = True
        logger.info("stopped by Ctrl-C after %.1f s", time.monotonic() - started)
    finally:
        session.remove_sink(recorder.write_frames)
        final = []

        def end_stats():  # once the recorder takes no more frames: its counts are final
            final.append(_recording_stats(session.stats, baseline, recorder))
            return {k: v for k, v in vars(final[0]).items() if isinstance(v, (int, float, bool))}

        recorder.close(end_stats)
    if status is not None:
        status(final[0], session.latest)
    if recorder.frames_written == 0:
        journal.unlink()
        raise ConnectionError(
            f"no frames arrived from {session.url} in {time.monotonic() - started:.1f} s; nothing was recorded"
        )
    raw = read_journal(journal)
    raw.attrs["source_file"] = session.url
    _save_or_keep_journal(save, raw, path, journal, overwrite)
    if not keep_journal:
        journal.unlink()
    if session.error is not None:
        logger.error("%s: recording ended early, when the session stopped: %s", path, session.error)
    logger.info(
        "%s: %d frames, %d lost, %.1f s%s", path, raw.sizes["time"], raw.attrs["frames_lost"],
        float(raw.time[-1]), " (interrupted)" if interrupted else "",
    )  # fmt: skip
    return path, raw


def _recording_stats(now, baseline, recorder):
    """The statistics of one recording: what its file states, and the decoder's counts since it began.

    Parameters
    ----------
    now : SessionStats
        The session's statistics now.
    baseline : SessionStats
        The session's statistics when the recording began.
    recorder : Recorder
        The recording's journal writer.

    Returns
    -------
    stats : SessionStats
        ``frames``, ``lost_frames``, ``reboots`` and ``reconnects`` counted over
        the recorded frames (the numbers the recording's file holds); decoder
        counters (``crc_errors``, ``bad_packets``, ``junk_bytes``, ``bytes_in``)
        and ``gaps_ns`` since the recording began; ``connected`` and
        ``frame_rate_hz`` as the session's now.
    """
    return dataclasses.replace(
        now,
        frames=recorder.frames,
        lost_frames=recorder.lost_frames,
        reboots=recorder.reboots,
        reconnects=recorder.reconnects,
        crc_errors=now.crc_errors - baseline.crc_errors,
        bad_packets=now.bad_packets - baseline.bad_packets,
        junk_bytes=now.junk_bytes - baseline.junk_bytes,
        bytes_in=now.bytes_in - baseline.bytes_in,
        gaps_ns=now.gaps_ns[len(baseline.gaps_ns) :],
    )


def _save_or_keep_journal(save, raw, path, journal, overwrite):
    """Write the NetCDF recording; on failure keep the journal and say how to recover it, in one line."""
    recover = f"the recording is safe in its journal '{journal}': convert it with 'plantar convert {journal} -o {path}'"
    folder = path.parent if str(path.parent) else Path(".")
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        free = None
    needed = _netcdf_bytes(raw)
    if free is not None and free < needed:  # HDF5 on a full disk does not fail cleanly: do not start
        raise OSError(
            f"disk full: '{path}' needs about {needed / 1e6:.1f} MB, {free / 1e6:.1f} MB are free; {recover} where "
            "there is space"
        )
    try:
        save(raw, path, overwrite=overwrite)
    except (OSError, RuntimeError) as exc:
        full = getattr(exc, "errno", None) == errno.ENOSPC or "no space" in str(exc).lower()
        reason = "disk full" if full else (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        where = " where there is space" if full else ""
        raise OSError(f"{reason}: cannot write '{path}'; {recover}{where}") from None


def _netcdf_bytes(raw):
    """About the size of ``raw`` as NetCDF, in bytes, with a margin: its frames deflated as the writer does."""
    from ..io.netcdf import DEFLATE_LEVEL

    counts = raw.counts.values
    every = max(1, counts.shape[0] // 256)  # a sample of frames across the recording
    sample = zlib.compress(np.ascontiguousarray(counts[::every]).tobytes(), DEFLATE_LEVEL)
    frames = len(sample) * counts.shape[0] / counts[::every].shape[0]
    return int(1.1 * (frames + 40 * counts.shape[0]) + 64_000)
