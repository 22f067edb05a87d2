"""Crash-safe recording: frames go to a journal as they arrive.

The journal format is described in :mod:`plantar.io.journal`, which reads it.
Each record is flushed to the operating system as soon as it is written, so
killing the recorder loses nothing already received, and the file is synced to
disk every second, so a power loss loses at most the last second. When a
recording ends, the journal becomes a NetCDF raw recording and is removed.
"""

import json
import os
import queue
import threading
import time
from pathlib import Path

import numpy as np

from .._version import __version__
from ..io.journal import END, EVENT, JOURNAL_SUFFIX, META, NO_CLOCK, RX, RX_HEADER, _build_raw, read_journal
from ..utils import logger
from . import pmat1


class Recorder:
    """Append frames to a journal from any thread; a writer thread does the disk work.

    Parameters
    ----------
    path : str | pathlib.Path
        The journal to create (``.pmrec``); an existing file is never replaced.
    metadata : dict
        JSON-serialisable description of the session (see ``Session.metadata``).
    fsync_interval_s : float
        Seconds between syncs of the journal to disk.

    Attributes
    ----------
    frames_written : int
        Frames in the journal so far.
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
        )
        self._fsync_interval_s = float(fsync_interval_s)
        self._queue = queue.SimpleQueue()
        self._error = None
        self.frames_written = 0
        self._write_now([pmat1.encode_packet(META, 0, _json(meta))])
        os.fsync(self._file.fileno())
        self._thread = threading.Thread(target=self._run, name=f"plantar recorder {self.path.name}", daemon=True)
        self._thread.start()

    def write(self, frame):
        """Queue one frame for the journal (cheap; safe from the reader thread).

        Parameters
        ----------
        frame : Frame
            The frame.
        """
        self._queue.put(frame)

    def event(self, kind, **detail):
        """Queue an event record (``kind`` and details, with the host time).

        Parameters
        ----------
        kind : str
            What happened, e.g. ``"port_lost"``.
        **detail
            JSON-serialisable details.
        """
        self._queue.put(("event", dict(detail, kind=kind, t_host_ns=time.monotonic_ns())))

    def check(self):
        """Raise the writer's error (e.g. disk full), if it had one.

        Raises
        ------
        OSError
            What the writer met; the journal holds everything before it.
        """
        if self._error is not None:
            raise OSError(f"cannot write journal '{self.path}': {self._error}")

    def close(self, stats=None):
        """Write everything queued, an END record, sync, and close the journal.

        Parameters
        ----------
        stats : dict | None
            Final session statistics for the END record.
        """
        self._queue.put(("end", stats or {}))
        self._queue.put(None)
        self._thread.join()
        self._file.close()
        self.check()

    def _run(self):
        last_sync = time.monotonic()
        stop = False
        while not stop:
            try:
                items = [self._queue.get(timeout=0.2)]
            except queue.Empty:
                items = []
            while True:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            records = []
            for item in items:
                if item is None:
                    stop = True
                elif isinstance(item, tuple):
                    kind, body = item
                    records.append(pmat1.encode_packet(END if kind == "end" else EVENT, 0, _json(body)))
                else:
                    records.append(_rx_record(item))
            if self._error is None and records:
                try:
                    self._write_now(records)
                    self.frames_written += sum(1 for item in items if not isinstance(item, tuple) and item is not None)
                except OSError as exc:
                    self._error = exc
                    logger.error("cannot write journal '%s': %s", self.path, exc)
            if self._error is None and (stop or time.monotonic() - last_sync >= self._fsync_interval_s):
                try:
                    os.fsync(self._file.fileno())
                except OSError as exc:
                    self._error = exc
                last_sync = time.monotonic()

    def _write_now(self, records):
        self._file.write(b"".join(records))
        self._file.flush()


def _json(obj):
    return json.dumps(obj, separators=(",", ":"), default=_plain).encode("utf-8")


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _rx_record(frame):
    t_dev = NO_CLOCK if frame.t_device_us is None else int(frame.t_device_us)
    rows, cols = frame.counts.shape
    head = RX_HEADER.pack(int(frame.t_host_ns), t_dev, rows, cols, pmat1.ENCODING_ZERO_RUN, frame.flags & 0xFF, 0)
    return pmat1.encode_packet(RX, frame.seq or 0, head + pmat1.encode_zero_run(frame.counts.ravel()))


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


def _record(session, path, *, seconds=None, overwrite=False, keep_journal=False, status=None,
           status_interval_s=0.5, **attrs):  # fmt: skip
    """Record a session; see :meth:`Session.record` (this is its implementation).

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
        ``status(stats, latest_frame)``, called every ``status_interval_s``.
    status_interval_s : float
        Seconds between status calls.
    **attrs
        Trial attributes.

    Returns
    -------
    path : pathlib.Path
        The NetCDF file written.
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
    session.add_sink(recorder.write)
    logger.info("recording from %s into %s", session.url, journal)
    started = time.monotonic()
    interrupted = False
    try:
        while not session.closed:
            left = None if seconds is None else seconds - (time.monotonic() - started)
            if left is not None and left <= 0:
                break
            time.sleep(status_interval_s if left is None else min(status_interval_s, left))
            recorder.check()
            if status is not None:
                status(session.stats, session.latest)
    except KeyboardInterrupt:
        interrupted = True
        logger.info("stopped by Ctrl-C after %.1f s", time.monotonic() - started)
    finally:
        session.remove_sink(recorder.write)
        stats = session.stats
        end = {k: v for k, v in vars(stats).items() if isinstance(v, (int, float, bool))}
        recorder.close(end)
    if recorder.frames_written == 0:
        journal.unlink()
        raise ConnectionError(
            f"no frames arrived from {session.url} in {time.monotonic() - started:.1f} s; nothing was recorded"
        )
    raw = read_journal(journal)
    raw.attrs["source_file"] = session.url
    save(raw, path, overwrite=overwrite)
    if not keep_journal:
        journal.unlink()
    if session.error is not None:
        logger.error("%s: recording ended early, when the session stopped: %s", path, session.error)
    logger.info(
        "%s: %d frames, %d lost, %.1f s%s", path, raw.sizes["time"], raw.attrs["frames_lost"],
        float(raw.time[-1]), " (interrupted)" if interrupted else "",
    )  # fmt: skip
    return path
