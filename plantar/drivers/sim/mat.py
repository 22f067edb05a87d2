"""The virtual mat: a synthetic walk, seen through a sensor model, sent over a pty or TCP.

One background thread plays the device: it scans on its own (slightly drifting)
clock, answers PMAT/1 commands or poll bytes, writes frames without blocking and
injects the faults it was given. Everything it did is kept in
:attr:`VirtualMat.truth`, so a test can compare what the host received with what
the device sent, scan by scan.
"""

import bisect
import contextlib
import dataclasses
import heapq
import json
import math
import numbers
import os
import select
import shutil
import socket
import struct
import tempfile
import threading
import time
from collections import deque

import numpy as np

from ... import synth
from ..._version import __version__
from ...utils import logger
from .. import pmat1
from .._frame import FLAG_DEVICE_OVERRUN, FLAG_SATURATED, _check_shape
from ..protocols import get_protocol
from ._links import PtyLink, TcpLink
from .faults import Faults
from .sensor import SensorModel

#: Fastest scan rate the virtual device accepts, in Hz (in the constructor and in START).
MAX_RATE_HZ = 1000
#: What happened to a scan: see :attr:`MatTruth.scans`.
FATES = ("sent", "corrupted", "dropped", "unplugged", "unpolled")
#: The walk is simulated on a floor at least this long (y) and wide (x), in mm; a
#: smaller mat sees the window of that floor that the walk loads most.
MIN_FLOOR_MM = (800.0, 400.0)

_SENT, _CORRUPTED, _DROPPED, _UNPLUGGED, _UNPOLLED = range(len(FATES))
_FIELDS = ("boot", "seq", "t_device_us", "t_scan_ns", "t_host_ns", "fate", "flags", "max_count")
#: Bytes the device keeps queued for a poll-driven host before it ignores further polls.
_MAX_POLL_BACKLOG = 65536


class _Scanner:
    """Scan index -> true pressure and counts; pure, so the truth can recompute any scan.

    The pressure is a list of segments ``(first scan, frames)``: from its first
    scan on, a segment's frames play in a loop until the next segment starts.
    A new segment requested by :meth:`VirtualMat.set_pressure` starts at the
    next scan the device performs (:meth:`begin`).
    """

    def __init__(self, frames_kpa, sensor, seed):
        self.sensor = sensor
        self.seed = seed
        self._starts, self._frames = [0], [frames_kpa]
        self._pending = None
        self._lock = threading.Lock()

    def pressure_kpa(self, scan):
        with self._lock:
            i = bisect.bisect_right(self._starts, scan) - 1
            first, frames = self._starts[i], self._frames[i]
        return frames[(scan - first) % len(frames)]

    def request(self, frames_kpa):
        with self._lock:
            self._pending = frames_kpa

    def begin(self, scan):
        """Start the requested segment at ``scan`` (about to be performed); return its frame count or None."""
        with self._lock:
            frames, self._pending = self._pending, None
            if frames is None:
                return None
            if self._starts[-1] == scan:  # requested twice before a scan: the last request wins
                self._frames[-1] = frames
            else:
                self._starts.append(scan)
                self._frames.append(frames)
            return len(frames)

    def counts(self, scan, max_count):
        rng = np.random.default_rng((self.seed, 0, scan))
        counts = self.sensor.counts(self.pressure_kpa(scan), rng)
        if max_count < self.sensor.rail_counts:
            np.minimum(counts, max_count, out=counts)
        return counts


@dataclasses.dataclass(eq=False, repr=False)
class MatTruth:
    """What a :class:`VirtualMat` did: every scan, every fault, and the walk behind them.

    Read it after :meth:`VirtualMat.stop` (reading while the mat runs is safe
    and gives a snapshot).

    Parameters
    ----------
    walk_trial : xarray.Dataset | None
        The trial :func:`plantar.synth.walk` returned (on the floor the walk was
        simulated on; the mat is ``window`` of it); None if the mat was given
        its pressure frames (``frames_kpa``).
    walk_truth : xarray.Dataset | None
        The walk's ground truth per step (None as ``walk_trial``).
    window : tuple of int
        ``(row, col)`` of the mat's first sensel in ``walk_trial``'s grid
        (``(0, 0)`` unless the mat is smaller than :data:`MIN_FLOOR_MM`).
    events : list of tuple
        ``(t_host_ns, kind, detail)`` of every injected fault and every START
        and STOP received, in order; ``t_host_ns`` is :func:`time.monotonic_ns`,
        ``kind`` one of ``"banner"``, ``"junk"``, ``"burst"``, ``"reboot"``,
        ``"unplug"``, ``"replug"``, ``"bitflip"``, ``"byte_drop"``, ``"start"``,
        ``"stop"``, ``"pressure"`` (a new pressure from
        :meth:`VirtualMat.set_pressure`: ``first_scan``, ``n_frames``), and
        ``detail`` a dict. One kind is not injected but says why the device
        skipped a scan on its own: ``"backlog"`` (more than a frame was still
        unwritten because the host is not reading; that frame is dropped).

    Examples
    --------
    >>> from plantar.drivers.sim import VirtualMat
    >>> mat = VirtualMat(shape=(8, 8), walk_s=1.0, link="tcp")
    >>> mat.truth.scans["scan"].size, mat.truth.pressure_kpa(0).shape
    (0, (8, 8))
    """

    walk_trial: object
    walk_truth: object
    window: tuple
    events: list = dataclasses.field(default_factory=list)
    _scanner: object = None
    _log: dict = dataclasses.field(default_factory=lambda: {name: [] for name in _FIELDS})
    _lock: object = dataclasses.field(default_factory=threading.Lock)

    @property
    def scans(self):
        """One record per scan, as a dict of 1-D numpy arrays (index = scan index).

        ``scan`` (int64, 0, 1, 2, ... over the whole run, across reboots),
        ``boot`` (int64, 0 until the first reboot), ``seq`` (int64, the scan
        counter the device sent; 0 after each boot), ``t_device_us`` (int64,
        device clock at scan start, µs; 0 at each boot), ``t_scan_ns`` (int64,
        host monotonic time the scan was due: the device's scan grid on the host
        clock, free of the thread's wake-up jitter), ``t_host_ns`` (int64, host monotonic
        time its last byte was written to the link; -1 if it never was),
        ``fate`` (str: ``"sent"``, ``"corrupted"`` (its bytes got a bit flip or
        lost a byte), ``"dropped"`` (the device skipped it: an injected burst or
        a host not reading; the next frame sent carries
        ``FLAG_DEVICE_OVERRUN``), ``"unplugged"`` (scanned, or still being
        written, while the link was down), ``"unpolled"`` (poll-driven formats:
        no poll asked for it)), ``flags`` (int64, device flags sent, 0 if not
        sent) and ``max_count`` (int64, the largest count the frame could carry:
        the ADC rail or the encoding's limit, which clamps the counts).
        """
        with self._lock:
            log = {name: np.array(values, dtype=np.int64) for name, values in self._log.items()}
        log["fate"] = np.array(FATES, dtype=str)[log["fate"]] if log["fate"].size else np.array([], str)
        return {"scan": np.arange(log["boot"].size, dtype=np.int64), **log}

    def counts(self, scan):
        """Return the counts of one scan, exactly as the device encoded them.

        Parameters
        ----------
        scan : int
            Scan index (see :attr:`scans`). Recomputed, not stored: the read
            noise of scan ``k`` comes from a generator seeded by ``(seed, 0, k)``.

        Returns
        -------
        counts : numpy.ndarray of uint16, shape (rows, cols)
            The counts before any wire error (for a dropped scan, what would
            have been sent).

        Examples
        --------
        >>> from plantar.drivers.sim import VirtualMat
        >>> VirtualMat(shape=(8, 8), walk_s=1.0, link="tcp").truth.counts(0).dtype
        dtype('uint16')
        """
        scan = int(scan)
        with self._lock:
            n = len(self._log["max_count"])
            max_count = self._log["max_count"][scan] if 0 <= scan < n else None
        if max_count is None:
            if scan < 0:
                raise ValueError(f"scan must be >= 0, got {scan}")
            max_count = 65535  # a scan not performed yet: the ADC's reading, unclamped
        return self._scanner.counts(scan, max_count)

    def pressure_kpa(self, scan):
        """Return the true pressure of one scan, from the synthetic walk or the frames given.

        Parameters
        ----------
        scan : int
            Scan index; scan ``k`` shows walk frame ``k % n_frames`` (or frame
            ``(k - first) % n_frames`` of the pressure set at scan ``first``
            by :meth:`VirtualMat.set_pressure`).

        Returns
        -------
        pressure_kpa : numpy.ndarray of float32, shape (rows, cols)
            Pressure on each sensel in kPa.

        Examples
        --------
        >>> from plantar.drivers.sim import VirtualMat
        >>> VirtualMat(shape=(8, 8), walk_s=1.0, link="tcp").truth.pressure_kpa(3).dtype
        dtype('float32')
        """
        return self._scanner.pressure_kpa(int(scan)).copy()

    def _append(self, **fields):
        with self._lock:
            for name in _FIELDS:
                self._log[name].append(fields[name])
            return len(self._log["boot"]) - 1

    def _set(self, row, name, value):
        with self._lock:
            self._log[name][row] = value

    def _get(self, row, name):
        with self._lock:
            return self._log[name][row]


class VirtualMat:
    """A simulated pressure mat that behaves on the wire like a real device.

    A walk from :func:`plantar.synth.walk` (looped), or the pressure frames
    it is given (``frames_kpa``, then :meth:`set_pressure` while it runs: an
    empty mat, a bladder, a person standing still, as in a calibration
    session), is read through a
    :class:`SensorModel` and sent in any registered wire format over a
    pseudo-terminal (open :attr:`url` with :func:`serial.serial_for_url`) or a
    TCP socket (``socket://`` URL), by one background thread that never
    busy-waits. :attr:`truth` records every scan and fault.

    Device behaviour, by format:

    - PMAT/1 (``"pmat1"``): at boot the device writes the banner (if any) and an
      INFO (lost if nobody has the port open yet, as on real hardware), then is
      idle. GET_INFO -> INFO (``seq`` = request id); START (``<HB`` rate_hz,
      encoding) -> ACK status 0 and streaming at that rate and encoding from
      now, or ACK status 1 and no change for a rate outside 1 ..
      :data:`MAX_RATE_HZ` or an encoding not in (1, 2, 3); STOP -> ACK, idle;
      PING (u64 host ns) -> PONG (that u64, device clock u64 µs). ``seq``
      counts every scan performed while streaming since boot (sent or not),
      continuing across STOP/START and unplugs, and restarts at 0 only at a
      reboot. Encoding 1 clamps counts at 255 (and flags SATURATED).
    - Poll-driven formats (``protocol.poll`` set): the device scans
      continuously from boot and answers each poll with its latest scan
      (repeating it if no newer one exists).
    - Other formats stream every scan from boot (bytes written before the host
      opens the port are lost, like a real device's).

    Counts above the format's ``max_count`` are clamped to it. SATURATED is set
    when any cell is at the rail or at that limit (a hot sensel always is).
    After an unplug the link comes back with a PMAT/1 device idle until the
    next START; other formats resume on their own.

    Pacing: a streaming device scans every ``1 / rate_hz`` s of its own clock,
    which is ``(1 + clock_drift_ppm * 1e-6) / rate_hz`` s of host time; the
    device clock (``t_device_us``) starts at 0 at each boot. A frame is never
    cut short: if more than a frame's bytes are still unwritten when the next
    is due (the host is not reading), that frame is dropped and the next frame
    sent carries ``FLAG_DEVICE_OVERRUN``, as a real device's would. The scans
    are timed as by a hardware timer: if the thread wakes late (a busy host
    machine), the scans that were due are performed at their times
    (``t_scan_ns``, ``t_device_us``) and sent late, none skipped.

    Parameters
    ----------
    protocol : str
        Wire format: a name in :data:`plantar.drivers.PROTOCOLS`.
    shape : tuple of int
        ``(rows, cols)``; rows run along y (the walking direction), columns along x.
    pitch_mm : float | tuple of float
        Sensel pitch in mm, or ``(x, y)``.
    rate_hz : float
        Scan rate in Hz (1 .. 1000) until a START says otherwise; also the
        frame rate of the walk.
    seed : int
        Seed (>= 0) of the walk, the read noise and the default sensor model.
    walk_s : float
        Length of the synthetic walk in s; it loops (walking back and forth)
        as long as the mat runs: scan ``k`` shows walk frame ``k % n_frames``.
    body_mass_kg : float
        Walker's body mass in kg.
    condition : {"barefoot", "shod"}
        Footwear, passed to :func:`plantar.synth.walk`.
    offload : dict of str to float | None
        Regional offloading, passed to :func:`plantar.synth.walk`.
    frames_kpa : array_like of float | None
        The true pressure to play instead of a walk, in kPa: one field
        ``(rows, cols)``, held, or frames ``(n, rows, cols)``, played in a loop
        (scan ``k`` shows frame ``k % n``); NaN counts as 0. The walk's
        parameters (``walk_s``, ``body_mass_kg``, ``condition``, ``offload``)
        are then unused. :meth:`set_pressure` changes it while the mat runs.
    sensor : SensorModel | None
        The sensor model (bound to ``shape`` here if it has no shape yet).
        Default ``SensorModel(seed=seed)`` with a 12-bit ADC, or an ADC as wide
        as the format's ``max_count`` when that is smaller (8 bits for u8 formats).
    faults : Faults | None
        Faults to inject; default none.
    link : {"pty", "tcp"}
        ``"pty"`` (Linux, macOS) or ``"tcp"`` (a server on 127.0.0.1, any OS).
    clock_drift_ppm : float
        Error of the device's crystal in ppm: its clock and its scan period run
        ``1 + clock_drift_ppm * 1e-6`` times slower than the host's clock
        (negative: faster).
    serial_number : str
        Serial number reported in the INFO.

    Attributes
    ----------
    truth : MatTruth
        Every scan, every fault and the walk.
    sensor : SensorModel
        The sensor model in use, bound to ``shape``.
    error : BaseException | None
        What stopped the device thread, if it failed.

    Examples
    --------
    >>> import serial
    >>> from plantar.drivers import pmat1
    >>> from plantar.drivers.sim import VirtualMat
    >>> with VirtualMat("pmat1", shape=(16, 16), walk_s=1.0, link="tcp") as mat:
    ...     port = serial.serial_for_url(mat.url, timeout=0.5)
    ...     _ = port.write(pmat1.encode_packet(pmat1.GET_INFO, 1))
    ...     parser = pmat1.Pmat1Parser()
    ...     while not parser.packets:
    ...         _ = parser.feed(port.read(64))
    ...     port.close()
    >>> pmat1.parse_info(parser.packets[0].body)["model"]
    'virtual mat'
    """

    def __init__(
        self,
        protocol="pmat1",
        *,
        shape=(64, 64),
        pitch_mm=8.0,
        rate_hz=100.0,
        seed=0,
        walk_s=20.0,
        body_mass_kg=70.0,
        condition="barefoot",
        offload=None,
        frames_kpa=None,
        sensor=None,
        faults=None,
        link="pty",
        clock_drift_ppm=30.0,
        serial_number="VM-0001",
    ):
        self.protocol = get_protocol(protocol)
        self.shape = _check_shape(shape)
        self.pitch_mm = _pitch_xy(pitch_mm)
        if not (isinstance(rate_hz, numbers.Real) and 1 <= rate_hz <= MAX_RATE_HZ):
            raise ValueError(f"rate_hz must be a number in 1 .. {MAX_RATE_HZ}, got {rate_hz!r}")
        if not (isinstance(seed, numbers.Integral) and seed >= 0):
            raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
        if not (isinstance(walk_s, numbers.Real) and math.isfinite(walk_s) and walk_s > 0):
            raise ValueError(f"walk_s must be a positive number, got {walk_s!r}")
        if link not in ("pty", "tcp"):
            raise ValueError(f"link must be one of ('pty', 'tcp'), got {link!r}")
        if link == "pty" and os.name != "posix":
            raise ValueError("link='pty' needs Linux or macOS; use link='tcp'")
        if not (isinstance(clock_drift_ppm, numbers.Real) and abs(clock_drift_ppm) < 1e5):
            raise ValueError(f"clock_drift_ppm must be a number in -1e5 .. 1e5, got {clock_drift_ppm!r}")
        if faults is None:
            faults = Faults()
        if not isinstance(faults, Faults):
            raise ValueError(f"faults must be a Faults or None, got {type(faults).__name__}")
        if sensor is None:
            sensor = SensorModel(seed=int(seed), adc_bits=min(12, int(self.protocol.max_count).bit_length()))
        if not isinstance(sensor, SensorModel):
            raise ValueError(f"sensor must be a SensorModel or None, got {type(sensor).__name__}")
        if sensor.shape is not None and sensor.shape != self.shape:
            raise ValueError(f"sensor is bound to shape {sensor.shape}, but the mat's shape is {self.shape}")
        self.rate_hz = float(rate_hz)
        self.seed = int(seed)
        self.walk_s = float(walk_s)
        self.link = link
        self.clock_drift_ppm = float(clock_drift_ppm)
        self.serial_number = str(serial_number)
        self.sensor = sensor.for_shape(self.shape)
        self.faults = faults
        if frames_kpa is None:
            frames, trial, truth, window = _walk_frames(
                self.shape, self.pitch_mm, self.rate_hz, self.seed, self.walk_s,
                body_mass_kg=body_mass_kg, condition=condition, offload=offload,
            )  # fmt: skip
        else:
            frames, trial, truth, window = _pressure_frames(frames_kpa, self.shape, "frames_kpa"), None, None, (0, 0)
        self.truth = MatTruth(trial, truth, window, _scanner=_Scanner(frames, self.sensor, self.seed))
        self.error = None
        self._pmat1 = self.protocol.name == "pmat1"
        self._poll = bytes(self.protocol.poll) if self.protocol.poll else None
        self._thread = None
        self._link = None
        self._dir = None
        self._wake = None
        self._stopping = threading.Event()
        self._state_lock = threading.Lock()
        self._started = False
        self._stopped = False
        self._cur_rate_hz = self.rate_hz

    # ----------------------------------------------------------------------------------
    # public

    def __repr__(self):
        state = "stopped" if self._stopped else "running" if self._started else "not started"
        url = self._link.url if self._link is not None else None
        return f"<VirtualMat {self.protocol.name} {self.shape[0]}x{self.shape[1]} {state} url={url!r}>"

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self):
        """The URL to open with :func:`serial.serial_for_url`: a stable path or ``socket://``.

        For a pty, a symlink in a private temporary directory that points at the
        current ``/dev/pts/N`` (re-pointed after an unplug; absent while
        unplugged); for TCP, ``socket://127.0.0.1:PORT``.
        """
        if self._link is None:
            raise RuntimeError("the virtual mat has no link yet: call start() first")
        return self._link.url

    @property
    def info(self):
        """The PMAT/1 INFO content (dict): vendor, model, serial, firmware, shape, ADC, pitch, rate.

        ``rate_hz`` is the current scan rate: the constructor's until a START
        sets another, and again after a reboot.
        """
        return {
            "vendor": "plantar",
            "model": "virtual mat",
            "serial": self.serial_number,
            "firmware": f"plantar-sim {__version__}",
            "rows": self.shape[0],
            "cols": self.shape[1],
            "adc_bits": self.sensor.adc_bits,
            "pitch_mm": [self.pitch_mm[0], self.pitch_mm[1]],
            "rate_hz": self._cur_rate_hz,
            "encodings": list(pmat1.ENCODINGS),
        }

    def set_pressure(self, pressure_kpa):
        """Put a new pressure on the mat: from the next scan on, the mat reads it.

        Like a person stepping on or off: scans already performed keep the old
        pressure; :attr:`truth` records the scan the new one starts at (event
        ``"pressure"``), so :meth:`MatTruth.pressure_kpa` knows every scan's.

        Parameters
        ----------
        pressure_kpa : array_like of float
            True pressure in kPa: one field ``(rows, cols)``, held, or frames
            ``(n, rows, cols)``, played in a loop from the next scan on; NaN
            counts as 0.

        Raises
        ------
        ValueError
            If the shape is not the mat's, or a value is negative or infinite.

        Examples
        --------
        >>> import numpy as np
        >>> from plantar.drivers.sim import VirtualMat
        >>> mat = VirtualMat(shape=(8, 8), frames_kpa=np.zeros((8, 8)), link="tcp")
        >>> mat.set_pressure(np.full((8, 8), 200.0))      # takes effect at the next scan
        >>> float(mat.truth.pressure_kpa(0).max())        # no scan yet: still the empty mat
        0.0
        """
        self.truth._scanner.request(_pressure_frames(pressure_kpa, self.shape, "pressure_kpa"))

    def start(self):
        """Open the link and start the device thread.

        Returns
        -------
        mat : VirtualMat
            ``self``, so that ``mat = VirtualMat(...).start()`` works.

        Examples
        --------
        >>> from plantar.drivers.sim import VirtualMat
        >>> mat = VirtualMat(shape=(8, 8), walk_s=1.0, link="tcp").start()
        >>> mat.stop()
        """
        with self._state_lock:
            if self._stopped:
                raise RuntimeError("a stopped VirtualMat cannot be started again; make a new one")
            if self._started:
                return self
            if self.link == "pty":
                self._dir = tempfile.mkdtemp(prefix="plantar-vmat-")
                self._link = PtyLink(self._dir)
            else:
                self._link = TcpLink()
            try:
                self._link.open()
                self._wake = socket.socketpair()  # wakes the thread at stop(); selectable on every OS
                for sock in self._wake:
                    sock.setblocking(False)
            except BaseException:
                self._release()
                raise
            self._reset_state()
            self._started = True
            self._thread = threading.Thread(target=self._run, name="plantar-virtual-mat", daemon=True)
            self._thread.start()
        logger.info("virtual mat (%s) at %s", self.protocol.name, self._link.url)
        return self

    def stop(self):
        """Stop the device thread, close the link and remove the temporary directory.

        Calling it again does nothing. If the device thread failed, its error is
        re-raised (once) as a :class:`RuntimeError`.

        Examples
        --------
        >>> from plantar.drivers.sim import VirtualMat
        >>> mat = VirtualMat(shape=(8, 8), walk_s=1.0, link="tcp").start()
        >>> mat.stop(); mat.stop()
        """
        with self._state_lock:
            if self._stopped or not self._started:
                self._stopped = True
                return
            self._stopped = True
            self._stopping.set()
            with contextlib.suppress(OSError):
                self._wake[1].send(b"x")
            self._thread.join(timeout=10.0)
            if self._thread.is_alive():  # pragma: no cover - the loop always wakes within ms
                logger.warning("virtual mat: the device thread did not stop")
            self._release()
        if self.error is not None:
            raise RuntimeError("the virtual mat's device thread failed") from self.error

    def _release(self):
        if self._link is not None:
            self._link.close()
        if self._wake is not None:
            for sock in self._wake:
                sock.close()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)

    # ----------------------------------------------------------------------------------
    # the device thread

    def _reset_state(self):
        self._boot = -1
        self._seq = 0
        self._boot_ns = 0
        self._powered = True
        self._streaming = False
        self._encoding = pmat1.ENCODING_ZERO_RUN
        self._epoch_ns = 0
        self._epoch_dev_us = 0
        self._n_in_epoch = 0
        self._overrun = False
        self._t0_ns = None
        self._schedule = []  # heap of (t_ns, order, kind, arg)
        self._n_scheduled = 0
        self._bursts = []  # [start_ns, remaining, n_frames]
        self._out = bytearray()
        self._pending = deque()  # (cumulative end offset, row)
        self._queued = 0
        self._written = 0
        self._last_frame_len = 0
        self._parser = pmat1.Pmat1Parser()
        self._poll_buf = b""
        self._latest = None  # (row, packet) of the latest scan of a poll-driven device
        self._repeats = (None, 0)  # (row, times sent) of the latest polled scan
        self._n_scans = 0
        self._junk_rng = np.random.default_rng((int(self.faults.seed), 2))

    def _run(self):
        try:
            self._boot_device(time.monotonic_ns(), reboot=False)
            while not self._stopping.is_set():
                self._advance(time.monotonic_ns())
                self._flush()
                wake = self._wake[0].fileno()
                wfd = self._link.write_fd()
                readable = _wait([wake, *self._link.read_fds()], [wfd] if (self._out and wfd is not None) else [],
                                 self._timeout_s())  # fmt: skip
                for fd in readable:
                    if fd == wake:
                        with contextlib.suppress(OSError):
                            self._wake[0].recv(64)
                        continue
                    data = self._link.read(fd)
                    if data:
                        self._received(data, time.monotonic_ns())
        except Exception as err:  # keep the test's process alive; stop() re-raises
            self.error = err
            logger.error("virtual mat: the device thread failed", exc_info=True)

    def _timeout_s(self):
        wake = min(self._next_scan_ns(), self._schedule[0][0] if self._schedule else math.inf)
        if wake == math.inf:
            return 1.0
        return min(1.0, max(0.0, (wake - time.monotonic_ns()) * 1e-9))

    # -- clocks and scans

    def _period_ns(self):
        return 1e9 / self._cur_rate_hz * (1.0 + self.clock_drift_ppm * 1e-6)

    def _device_us(self, t_ns):
        return int((t_ns - self._boot_ns) / 1e3 / (1.0 + self.clock_drift_ppm * 1e-6))

    def _scanning(self):
        return self._powered and self._streaming

    def _next_scan_ns(self):
        if not self._scanning():
            return math.inf
        return self._epoch_ns + math.ceil(self._n_in_epoch * self._period_ns())

    def _start_epoch(self, t_ns):
        self._epoch_ns = t_ns
        self._epoch_dev_us = self._device_us(t_ns)
        self._n_in_epoch = 0

    def _advance(self, now):
        """Fire the faults and perform the scans due by ``now``, in time order."""
        while True:
            t_event = self._schedule[0][0] if self._schedule else math.inf
            t_scan = self._next_scan_ns()
            if min(t_event, t_scan) > now:
                return
            if t_event <= t_scan:
                _, _, kind, arg = heapq.heappop(self._schedule)
                self._fire(kind, arg, time.monotonic_ns())
            else:
                limit = min(now, t_event - 1)
                n_due = int((limit - self._epoch_ns) // self._period_ns()) + 1
                self._scan(max(1, n_due - self._n_in_epoch))

    def _scan(self, n):
        """Perform the ``n`` scans that are due, each at its own time, as a hardware timer would."""
        period_ns = self._period_ns()
        period_us = 1e6 / self._cur_rate_hz
        max_count = self._max_count()
        for _ in range(n):
            k, row, seq = self._n_in_epoch, self._n_scans, self._seq
            n_frames = self.truth._scanner.begin(row)
            if n_frames is not None:
                self._event("pressure", {"first_scan": row, "n_frames": n_frames}, time.monotonic_ns())
            t_scan_ns = self._epoch_ns + math.ceil(k * period_ns)
            t_device_us = self._epoch_dev_us + round(k * period_us)
            self._n_in_epoch += 1
            self._n_scans += 1
            self._seq += 1
            packet, flags = None, 0
            if not self._link.up:
                fate = _UNPLUGGED
            elif self._poll is not None:
                fate = _UNPOLLED
                self._latest = (row, None)
            elif self._burst(row, seq, t_scan_ns):
                fate = _DROPPED
                self._overrun = True
            elif len(self._out) > max(self._last_frame_len, 256):  # the host is not reading
                self._event("backlog", {"scan": row, "seq": seq, "unwritten_bytes": len(self._out)}, t_scan_ns)
                fate = _DROPPED
                self._overrun = True
            else:
                packet, flags = self._packet(row, seq, t_device_us, max_count)
                packet, fate = self._corrupt(packet, row, seq)
            self.truth._append(
                boot=self._boot, seq=seq, t_device_us=t_device_us, t_scan_ns=t_scan_ns,
                t_host_ns=-1, fate=fate, flags=flags, max_count=max_count,
            )  # fmt: skip
            if packet is not None:
                self._queue(packet, row)
                self._last_frame_len = len(packet)

    def _burst(self, row, seq, t_scan_ns):
        for burst in self._bursts:
            start_ns, remaining, n_frames = burst
            if remaining and t_scan_ns >= start_ns:
                if remaining == n_frames:
                    self._event("burst", {"n_frames": n_frames, "first_scan": row, "first_seq": seq}, t_scan_ns)
                burst[1] -= 1
                return True
        return False

    def _max_count(self):
        limit = int(self.protocol.max_count)
        if self._pmat1 and self._encoding == pmat1.ENCODING_U8:
            limit = 255
        return min(limit, self.sensor.rail_counts)

    def _packet(self, row, seq, t_device_us, max_count):
        counts = self.truth._scanner.counts(row, max_count)
        flags = FLAG_DEVICE_OVERRUN if self._overrun else 0
        if counts.size and int(counts.max()) >= max_count:
            flags |= FLAG_SATURATED
        kwargs = {"encoding": self._encoding} if self._pmat1 else {}
        packet = self.protocol.encode(counts, seq=seq, t_device_us=t_device_us, flags=flags, **kwargs)
        self._overrun = False
        return packet, flags

    def _corrupt(self, packet, row, seq, repeat=0):
        """Pass a frame through the faulty line; return its bytes and its fate."""
        if not self.faults.corrupts:
            return packet, _SENT
        rng = np.random.default_rng((int(self.faults.seed), 1, row, repeat))
        packet, n_bits, n_bytes = self.faults.corrupt(packet, rng)
        now = time.monotonic_ns()
        if n_bits:
            self._event("bitflip", {"scan": row, "seq": seq, "bits": n_bits}, now)
        if n_bytes:
            self._event("byte_drop", {"scan": row, "seq": seq, "bytes": n_bytes}, now)
        return packet, (_CORRUPTED if n_bits or n_bytes else _SENT)

    # -- bytes out

    def _queue(self, data, row=None):
        if not self._link.up:
            return
        self._out += data
        self._queued += len(data)
        if row is not None:
            self._pending.append((self._queued, row))
        self._flush()

    def _flush(self):
        link = self._link
        while self._out and link.up:
            n = link.write(bytes(self._out[:65536]))
            if n <= 0:
                break
            del self._out[:n]
            self._written += n
            if self._pending and self._pending[0][0] <= self._written:
                now = time.monotonic_ns()
                while self._pending and self._pending[0][0] <= self._written:
                    _, row = self._pending.popleft()
                    if self.truth._get(row, "t_host_ns") < 0:
                        self.truth._set(row, "t_host_ns", now)

    # -- bytes in

    def _received(self, data, now):
        if self._pmat1:
            self._parser.feed(data, now)
            while self._parser.packets:
                self._command(self._parser.packets.popleft(), now)
        elif self._poll is not None:
            buf = self._poll_buf + data
            n_polls = buf.count(self._poll)
            tail = buf[buf.rfind(self._poll) + len(self._poll) :] if n_polls else buf
            self._poll_buf = tail[len(tail) - (len(self._poll) - 1) :] if len(self._poll) > 1 else b""
            if n_polls and self._t0_ns is None:
                self._begin_schedule(now)
            for _ in range(n_polls):
                self._answer_poll()

    def _answer_poll(self):
        if self._latest is None or len(self._out) > _MAX_POLL_BACKLOG:
            return
        row, packet = self._latest
        with self.truth._lock:
            seq, t_device_us, max_count, prior = (
                self.truth._log[name][row] for name in ("seq", "t_device_us", "max_count", "fate")
            )
        if packet is None:  # the first poll of this scan: encode it once
            packet, flags = self._packet(row, seq, t_device_us, max_count)
            self.truth._set(row, "flags", flags)
            self._latest = (row, packet)
            self._repeats = (row, 0)
        repeat = self._repeats[1]
        self._repeats = (row, repeat + 1)
        data, fate = self._corrupt(packet, row, seq, repeat)
        self.truth._set(row, "fate", _CORRUPTED if prior == _CORRUPTED else fate)
        self._queue(data, row)
        self._last_frame_len = len(data)

    def _command(self, packet, now):
        kind, request = packet.type, packet.seq
        if kind == pmat1.GET_INFO:
            self._queue(pmat1.encode_packet(pmat1.INFO, request, self._info_body()))
        elif kind == pmat1.START:
            rate_hz, encoding = struct.unpack("<HB", packet.body) if len(packet.body) == 3 else (0, 0)
            ok = 1 <= rate_hz <= MAX_RATE_HZ and encoding in pmat1.ENCODINGS
            self._event("start", {"rate_hz": rate_hz, "encoding": encoding, "status": 0 if ok else 1}, now)
            if ok:
                self._cur_rate_hz = float(rate_hz)
                self._encoding = encoding
                self._streaming = True
                self._start_epoch(now)
                if self._t0_ns is None:
                    self._begin_schedule(now)
            self._queue(_ack(request, 0 if ok else 1))
        elif kind == pmat1.STOP:
            self._event("stop", {}, now)
            self._streaming = False
            self._queue(_ack(request, 0))
        elif kind == pmat1.PING and len(packet.body) == 8:
            (host_ns,) = struct.unpack("<Q", packet.body)
            body = struct.pack("<QQ", host_ns, max(0, self._device_us(now)))
            self._queue(pmat1.encode_packet(pmat1.PONG, request, body))
        else:
            logger.debug("virtual mat: ignored packet type 0x%02x", kind)

    def _info_body(self):
        return json.dumps(self.info, separators=(",", ":")).encode()

    # -- boot and faults

    def _boot_device(self, now, *, reboot):
        self._boot += 1
        if reboot:
            self._event("reboot", {"boot": self._boot}, now)
        self._seq = 0
        self._boot_ns = now
        self._cur_rate_hz = self.rate_hz
        self._encoding = pmat1.ENCODING_ZERO_RUN
        self._overrun = False
        self._parser.reset()
        self._latest = None
        self._streaming = not self._pmat1  # PMAT/1 waits for START; the others scan from boot
        self._start_epoch(now)
        if self._t0_ns is None and self._streaming and self._poll is None:
            self._begin_schedule(now)
        if self._link.up:
            if self.faults.banner:
                self._event("banner", {"bytes": len(self.faults.banner)}, now)
                self._queue(self.faults.banner)
            if self._pmat1:
                self._queue(pmat1.encode_packet(pmat1.INFO, 0, self._info_body()))

    def _begin_schedule(self, t0_ns):
        self._t0_ns = t0_ns
        faults = self.faults
        for at_s in faults.reboots:
            self._at(t0_ns + at_s * 1e9, "reboot")
        for at_s, duration_s in faults.unplugs:
            self._at(t0_ns + at_s * 1e9, "unplug", duration_s)
        if faults.junk_every_s is not None:
            self._at(t0_ns + faults.junk_every_s * 1e9, "junk")
        self._bursts = [[t0_ns + round(at_s * 1e9), n, n] for at_s, n in faults.bursts]

    def _at(self, t_ns, kind, arg=None):
        self._n_scheduled += 1
        heapq.heappush(self._schedule, (int(round(t_ns)), self._n_scheduled, kind, arg))

    def _fire(self, kind, arg, now):
        if kind == "reboot":
            self._boot_device(now, reboot=True)
        elif kind == "junk":
            if self._link.up:
                line = self.faults.junk_line(self._junk_rng)
                self._event("junk", {"bytes": len(line)}, now)
                self._queue(line)
            self._at(now + self.faults.junk_every_s * 1e9, "junk")
        elif kind == "unplug":
            if not self._link.up:
                return  # already unplugged
            self._event("unplug", {"duration_s": arg}, now)
            self._link.close()
            for _, row in self._pending:  # bytes the host will never see
                self.truth._set(row, "fate", _UNPLUGGED)
            self._pending.clear()
            self._out.clear()
            self._written = self._queued
            if self.faults.unplug_reboots:
                self._powered = False
            self._at(now + arg * 1e9, "replug")
        elif kind == "replug":
            self._link.open()
            self._parser.reset()
            self._poll_buf = b""
            self._event("replug", {"url": self._link.url}, now)
            if not self._powered:
                self._powered = True
                self._boot_device(now, reboot=True)
            elif self._pmat1:
                self._streaming = False  # the port closed: idle until the next START

    def _event(self, kind, detail, t_ns):
        logger.debug("virtual mat: %s %s", kind, detail)
        with self.truth._lock:
            self.truth.events.append((int(t_ns), kind, detail))


def _wait(read_fds, write_fds, timeout_s):
    """Block until a fd is readable or writable or ``timeout_s`` passes; return the readable fds.

    ``select`` keeps microsecond timeouts; ``poll`` (millisecond timeouts) only serves fds past 1023.
    """
    if max(read_fds + write_fds) >= 1024 and hasattr(select, "poll"):  # beyond select's FD_SETSIZE
        poller = select.poll()
        for fd in read_fds:
            poller.register(fd, select.POLLIN)
        for fd in write_fds:
            poller.register(fd, select.POLLOUT | (select.POLLIN if fd in read_fds else 0))
        events = poller.poll(timeout_s * 1e3)
        return [fd for fd, event in events if event & (select.POLLIN | select.POLLHUP | select.POLLERR)]
    readable, _, _ = select.select(read_fds, write_fds, [], timeout_s)
    return readable


def _ack(request_id, status):
    return pmat1.encode_packet(pmat1.ACK, request_id, struct.pack("<IB", request_id & 0xFFFFFFFF, status))


def _pitch_xy(pitch_mm):
    if isinstance(pitch_mm, numbers.Real):
        pitch = (float(pitch_mm), float(pitch_mm))
    else:
        try:
            pitch = tuple(float(v) for v in pitch_mm)
        except (TypeError, ValueError):
            pitch = ()
    if len(pitch) != 2 or not all(math.isfinite(p) and p > 0 for p in pitch):
        raise ValueError(f"pitch_mm must be a positive number or (x, y), got {pitch_mm!r}")
    return pitch


def _pressure_frames(pressure_kpa, shape, name):
    """Pressure given to the mat as float32 frames (n, rows, cols), NaN as 0, checked."""
    try:
        p = np.array(pressure_kpa, dtype=np.float32)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of pressures in kPa, got {type(pressure_kpa).__name__}") from None
    if p.ndim == 2:
        p = p[None]
    if p.ndim != 3 or p.shape[1:] != tuple(shape) or p.shape[0] == 0:
        raise ValueError(f"{name} must have shape {tuple(shape)} or (n, {shape[0]}, {shape[1]}), got {p.shape}")
    p = np.nan_to_num(p, nan=0.0, posinf=np.inf, neginf=-np.inf)
    if not np.all(np.isfinite(p)) or p.min() < 0:
        raise ValueError(f"{name} must be finite and >= 0 kPa (NaN counts as 0)")
    return np.ascontiguousarray(p)


def _walk_frames(shape, pitch_mm, rate_hz, seed, walk_s, **walk_kwargs):
    """Simulate the walk; return its pressure frames cropped to the mat, the walk and the window."""
    rows, cols = shape
    pitch_x, pitch_y = pitch_mm
    floor_rows = max(rows, math.ceil(MIN_FLOOR_MM[0] / pitch_y))
    floor_cols = max(cols, math.ceil(MIN_FLOOR_MM[1] / pitch_x))
    trial, truth = synth.walk(
        seed=seed, duration_s=walk_s, mat_length_mm=floor_rows * pitch_y, mat_width_mm=floor_cols * pitch_x,
        pitch_mm=(pitch_x, pitch_y), rate_hz=rate_hz, **walk_kwargs,
    )  # fmt: skip
    pressure = np.asarray(trial.pressure.values, dtype=np.float32)
    if not np.isfinite(pressure).all():  # one pass; rewrite (a copy) only a walk that needs it
        pressure = np.nan_to_num(pressure, nan=0.0)
    n, n_rows, n_cols = pressure.shape
    if n_rows < rows or n_cols < cols:  # rounding of the grid: pad with unloaded sensels
        pressure = np.pad(pressure, ((0, 0), (0, max(0, rows - n_rows)), (0, max(0, cols - n_cols))))
        n, n_rows, n_cols = pressure.shape
    # The window of the floor the walk loads most (the whole floor when it is the mat).
    load = np.zeros((n_rows + 1, n_cols + 1))
    load[1:, 1:] = pressure.sum(axis=0, dtype=np.float64).cumsum(0).cumsum(1)
    sums = load[rows:, cols:] - load[:-rows, cols:] - load[rows:, :-cols] + load[:-rows, :-cols]
    r0, c0 = (int(v) for v in np.unravel_index(np.argmax(sums), sums.shape))
    frames = pressure[:, r0 : r0 + rows, c0 : c0 + cols].copy()  # never the trial's own array
    return frames, trial, truth, (r0, c0)
