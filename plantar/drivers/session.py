"""A session with one mat: the port, one reader thread, statistics, reconnection.

:func:`open_mat` opens the port, performs the protocol's handshake and starts a
reader thread that feeds the bytes to the protocol's decoder. Each decoded frame
is checked against the previous one's scan counter (lost frames, device reboots),
stamped with session flags, and handed to the sinks: :meth:`Session.frames`
iterators, :meth:`Session.read` and the crash-safe recorder behind
:meth:`Session.record`. When the port disappears (USB unplug), the thread closes
it, retries with back-off, repeats the handshake and carries on; the first frame
after the gap is flagged, so the recording shows it.
"""

import collections
import dataclasses
import struct
import threading
import time

import serial

from ..utils import fill_doc, logger, verbose as _verbose
from . import pmat1
from ._frame import (
    FLAG_AFTER_LOSS,
    FLAG_AFTER_REBOOT,
    FLAG_AFTER_RECONNECT,
)
from ._transport import PortError, open_port
from .protocols import get_protocol

#: Back-off between reconnection attempts, in s (the last value repeats).
RECONNECT_BACKOFF_S = (0.25, 0.5, 1.0, 2.0)
_ACK = struct.Struct("<IB")
_BULK_TIMEOUT_S = 0.005


class DeviceError(ConnectionError):
    """The device did not answer as its protocol says; the message names the port."""


@dataclasses.dataclass
class SessionStats:
    """What a session has seen so far.

    Attributes
    ----------
    frames : int
        Frames received and handed on.
    lost_frames : int
        Frames the device scanned but that never arrived, from gaps in the scan
        counter (formats with a counter only).
    crc_errors : int
        Packets dropped because their checksum failed.
    bad_packets : int
        Packets or frames dropped for an impossible length, shape, version or
        an implausible value (the decoder's ``stats.rejects`` gives the reasons).
    junk_bytes : int
        Bytes that belonged to no valid packet (boot banners, line noise).
    bytes_in : int
        Bytes read from the port.
    reboots : int
        Device reboots (the scan counter restarted, or the device announced
        itself unprompted while streaming).
    reconnects : int
        Times the port was lost and opened again.
    gaps_ns : list of tuple
        ``(lost, back)`` host monotonic times in ns of each time the port was lost
        and streaming resumed.
    connected : bool
        Whether the port is open now.
    frame_rate_hz : float
        Frames received over the last second, per second.
    """

    frames: int = 0
    lost_frames: int = 0
    crc_errors: int = 0
    bad_packets: int = 0
    junk_bytes: int = 0
    bytes_in: int = 0
    reboots: int = 0
    reconnects: int = 0
    gaps_ns: list = dataclasses.field(default_factory=list)
    connected: bool = False
    frame_rate_hz: float = 0.0


class Session:
    """One mat on one port; made by :func:`open_mat`.

    Parameters
    ----------
    url : str
        The port (see :func:`open_port`).
    protocol : str
        Registry name of the wire format (see :data:`PROTOCOLS`).
    shape : tuple of int | None
        ``(rows, cols)``; default from the device (PMAT/1 INFO) or the format.
    rate_hz : float | None
        Scan rate to ask for (PMAT/1) or to poll at (poll-driven formats);
        default the device's own.
    encoding : int
        PMAT/1 cell encoding to ask for (3 = zero-run).
    pitch_mm : float | tuple of float | None
        Sensor pitch, ``(x, y)`` or one number; default from the device (PMAT/1
        INFO). Needed to turn frames into a recording for formats that do not
        report it.
    baudrate : int | None
        Baud rate; default the format's.
    timeout_s : float
        How long to wait for the device to answer, in s.
    reconnect : bool
        Reopen the port when it disappears, and carry on.
    stall_s : float
        If no frame arrives for this long while streaming, repeat the handshake
        (a device that rebooted silently waits for START again), in s.

    Attributes
    ----------
    info : dict
        What the device said about itself (PMAT/1 INFO), or the format's defaults.
    protocol : Protocol
        The wire format.
    """

    def __init__(
        self,
        url,
        *,
        protocol="pmat1",
        shape=None,
        rate_hz=None,
        encoding=pmat1.ENCODING_ZERO_RUN,
        pitch_mm=None,
        baudrate=None,
        timeout_s=3.0,
        reconnect=True,
        stall_s=1.0,
    ):
        self.url = str(url)
        self.protocol = get_protocol(protocol)
        self._shape = shape
        self._rate_hz = rate_hz
        self._encoding = encoding
        self._pitch_mm = pitch_mm
        self._baudrate = baudrate or self.protocol.baudrate
        self._timeout_s = float(timeout_s)
        self._reconnect_enabled = bool(reconnect)
        self._stall_s = float(stall_s)
        self.info = {}
        self._parser = self.protocol.parser(shape=shape or self.protocol.default_shape)
        self._port = None
        self._lock = threading.Lock()
        self._sinks = []
        self._stop = threading.Event()
        self._thread = None
        self._stats = SessionStats()
        self._request_id = 0
        self._last_seq = None
        self._last_t_device_us = None
        self._next_seq = 0
        self._reboot_pending = False
        self._after_reconnect = False
        self._info_requests = set()  # request ids of GET_INFOs sent and not answered yet
        self._bulk = False
        self._last_frame_ns = None
        self._last_poll_ns = 0
        self._started_ns = 0
        self._recent = collections.deque()
        self.latest = None
        self.error = None

    # ------------------------------------------------------------------ opening

    def open(self):
        """Open the port, perform the handshake and start the reader thread.

        Returns
        -------
        session : Session
            This session.

        Raises
        ------
        PortError
            If the port cannot be opened.
        DeviceError
            If the device does not answer as the protocol says within ``timeout_s``.
        """
        port = self._open_port()
        try:
            self._handshake(port)
        except BaseException:
            port.close()
            raise
        self._port = port
        self._stats.connected = True
        self._started_ns = time.monotonic_ns()
        self._thread = threading.Thread(target=self._run, name=f"plantar reader {self.url}", daemon=True)
        self._thread.start()
        return self

    def _open_port(self):
        port = open_port(self.url, baudrate=self._baudrate)
        # Socket ports report at most one byte waiting; read them in bulk with a short
        # timeout instead, so a frame never arrives one byte per call.
        self._bulk = any(name in type(port).__module__ for name in ("socket", "rfc2217"))
        if self._bulk:
            port.timeout = _BULK_TIMEOUT_S
        return port

    def _handshake(self, port):
        """Talk to the device until it streams; raise DeviceError if it does not."""
        deadline = time.monotonic() + self._timeout_s
        received = bytearray()
        parser = self._parser
        if self.protocol.name == "pmat1":
            request = self._new_request()
            self._info_requests.add(request)  # answered here or, if the boot INFO came first, later
            self._send(port, pmat1.encode_packet(pmat1.GET_INFO, request))
            info = None
            while info is None and time.monotonic() < deadline:
                data = self._read(port)
                received += data[: 64 - len(received)] if len(received) < 64 else b""
                parser.feed(data)
                while parser.packets:
                    packet = parser.packets.popleft()
                    if packet.type == pmat1.INFO:
                        self._info_requests.discard(packet.seq)
                        info = pmat1.parse_info(packet.body)
            if info is None:
                raise DeviceError(self._no_answer(received, "a PMAT/1 INFO packet after GET_INFO"))
            self._set_info(info)
            request = self._new_request()
            rate = int(round(self._rate_hz or info.get("rate_hz") or 100))
            self._send(port, pmat1.encode_start(request, rate_hz=rate, encoding=self._encoding))
            status = None
            while status is None and time.monotonic() < deadline + self._timeout_s:
                parser.feed(self._read(port))
                while parser.packets:
                    packet = parser.packets.popleft()
                    if packet.type == pmat1.ACK and len(packet.body) >= _ACK.size:
                        ack_id, ack_status = _ACK.unpack_from(packet.body)
                        if ack_id == request:
                            status = ack_status
            if status is None:
                raise DeviceError(f"{self.url}: the device sent INFO but did not acknowledge START")
            if status != 0:
                raise DeviceError(
                    f"{self.url}: the device refused START at {rate} Hz with encoding "
                    f"{self._encoding} (status {status}; it offers encodings {info.get('encodings')})"
                )
            self._rate_hz = rate
            return
        # Formats without a handshake: poll if the format is polled, wait for a frame.
        rows, cols = self._shape or self.protocol.default_shape or (None, None)
        self.info = {"rows": rows, "cols": cols, "rate_hz": self._rate_hz, "protocol": self.protocol.name}
        while time.monotonic() < deadline:
            if self.protocol.poll:
                self._send(port, self.protocol.poll)
            data = self._read(port)
            received += data[: 64 - len(received)] if len(received) < 64 else b""
            frames = parser.feed(data)
            if frames:
                rows, cols = frames[-1].shape
                self.info.update(rows=rows, cols=cols)
                return
        expected = f"{self.protocol.name} frames" + (" after a poll" if self.protocol.poll else "")
        raise DeviceError(self._no_answer(received, expected))

    def _no_answer(self, received, expected):
        if not received:
            return (
                f"{self.url} sent nothing within {self._timeout_s:g} s: expected {expected}; "
                "is the mat connected and powered, and is this its port?"
            )
        return (
            f"{self.url} answered within {self._timeout_s:g} s, but not with {expected}: "
            f"got {bytes(received[:24])!r}...; is protocol={self.protocol.name!r} right for this device?"
        )

    def _set_info(self, info):
        self.info = info
        try:
            shape = (int(info["rows"]), int(info["cols"]))
        except (KeyError, TypeError, ValueError):
            return
        if self._shape is None:
            self._parser.shape = shape

    def _new_request(self):
        self._request_id = self._request_id % 0xFFFFFFFF + 1  # 1 .. 2**32 - 1: an unprompted INFO has 0
        return self._request_id

    def _read(self, port):
        """The bytes waiting (at least one, or none after the read timeout)."""
        if self._bulk:
            return port.read(65536)
        data = port.read(max(1, port.in_waiting))
        # A read that waited for the first byte returns only that: take what came with it too, so that
        # a packet arriving at once is decoded and handed on in one turn instead of two.
        waiting = port.in_waiting
        return data + port.read(waiting) if waiting else data

    @staticmethod
    def _send(port, data):
        port.write(data)
        port.flush()

    # ------------------------------------------------------------ reader thread

    def _run(self):
        try:
            self._loop()
        except Exception as exc:  # noqa: BLE001  (keep what was recorded; say why streaming stopped)
            self.error = exc
            logger.error("%s: the reader stopped: %s", self.url, exc)
            self._stop.set()
            self._close_port()

    def _loop(self):
        while not self._stop.is_set():
            port = self._port
            if port is None:
                if not self._reopen():
                    break
                continue
            try:
                data = self._read(port)
            except (serial.SerialException, OSError, TypeError, AttributeError) as exc:
                # TypeError/AttributeError: pyserial's posix port after close from another thread.
                self._port_lost(exc)
                continue
            now = time.monotonic_ns()
            if data:
                self._handle_packets()  # any left from the handshake came before these bytes
                frames = self._parser.feed(data, now)
                done = 0
                packets = getattr(self._parser, "packets", None)
                while packets:  # packets and frames in the order they came: a reboot's INFO flags what follows it
                    cut = min(max(packets[0].frames_before, done), len(frames))
                    if cut > done:
                        self._accept(frames[done:cut])
                        done = cut
                    self._handle_packets(1)
                if len(frames) > done:
                    self._accept(frames[done:])
            self._keep_streaming(port, now)
        self._close_port()

    def _keep_streaming(self, port, now):
        """Poll polled devices; repeat the handshake of a device that went quiet."""
        try:
            if self.protocol.poll:
                period_ns = 1e9 / self._rate_hz if self._rate_hz else 0
                answered = self._last_frame_ns is not None and self._last_frame_ns >= self._last_poll_ns
                overdue = now - self._last_poll_ns > max(self._timeout_s * 1e9 / 10, 3 * period_ns)
                if (answered or overdue) and now - self._last_poll_ns >= period_ns:
                    self._last_poll_ns = now
                    self._send(port, self.protocol.poll)
            elif self.protocol.name == "pmat1":
                since = self._last_frame_ns or self._started_ns
                if now - since > self._stall_s * 1e9:
                    logger.info("%s: no frames for %.1f s; asking the device to start again", self.url, self._stall_s)
                    self._restart_pmat1(port)
                    self._started_ns = now
        except (serial.SerialException, OSError) as exc:
            self._port_lost(exc)

    def _restart_pmat1(self, port):
        request = self._new_request()
        self._info_requests.add(request)
        self._send(port, pmat1.encode_packet(pmat1.GET_INFO, request))
        rate = int(round(self._rate_hz or self.info.get("rate_hz") or 100))
        self._send(port, pmat1.encode_start(self._new_request(), rate_hz=rate, encoding=self._encoding))

    def _handle_packets(self, n=None):
        """Act on the decoder's packets other than frames (all of them, or the first ``n``)."""
        packets = getattr(self._parser, "packets", None)
        while packets and (n is None or n > 0):
            n = None if n is None else n - 1
            packet = packets.popleft()
            if packet.type == pmat1.INFO:
                info = pmat1.parse_info(packet.body)
                if info is not None:
                    self.info = info
                if packet.seq in self._info_requests:  # the reply to a GET_INFO (its request id)
                    self._info_requests.discard(packet.seq)
                else:
                    # Announced unprompted: the device booted and waits for START.
                    logger.warning("%s: the device restarted (it announced itself unprompted)", self.url)
                    self._reboot_pending = True
                    try:
                        rate = int(round(self._rate_hz or self.info.get("rate_hz") or 100))
                        self._send(self._port, pmat1.encode_start(self._new_request(), rate_hz=rate,
                                                                  encoding=self._encoding))  # fmt: skip
                    except (serial.SerialException, OSError) as exc:
                        self._port_lost(exc)
            elif packet.type == pmat1.ACK and len(packet.body) >= _ACK.size:
                ack_id, status = _ACK.unpack_from(packet.body)
                if status:
                    logger.warning("%s: the device refused request %d (status %d)", self.url, ack_id, status)
            elif packet.type == pmat1.LOG:
                logger.info("%s says: %s", self.url, packet.body.decode("utf-8", "replace").strip())

    def _accept(self, frames):
        """Check the frames of one read against the scan counter, flag them and hand them to the sinks."""
        with self._lock:
            stats = self._stats
            for frame in frames:
                self._check(frame, stats)
            self.latest = frames[-1]
            last_ns = frames[-1].t_host_ns
            recent = self._recent
            recent.extend(f.t_host_ns for f in frames)
            while recent and recent[0] < last_ns - 1_000_000_000:
                recent.popleft()
            sinks = tuple(self._sinks)
        for sink, batch in sinks:
            if batch:
                sink(frames)
            else:
                for frame in frames:
                    sink(frame)

    def _check(self, frame, stats):
        """Number, flag and count one frame (with the lock held)."""
        flags = frame.flags
        if frame.seq is None:
            frame.seq = self._next_seq
            self._next_seq = (self._next_seq + 1) & 0xFFFFFFFF
        elif self._last_seq is not None:
            step = (frame.seq - self._last_seq) & 0xFFFFFFFF
            clock, last_clock = frame.t_device_us, self._last_t_device_us
            clock_restarted = clock is not None and last_clock is not None and clock < last_clock
            # A reboot: the device said so (an INFO with no request id), or its counter or clock restarted.
            if self._reboot_pending or clock_restarted or step == 0 or step >= 2**31:
                stats.reboots += 1
                flags |= FLAG_AFTER_REBOOT
                logger.warning("%s: device reboot (scan counter %d -> %d)", self.url, self._last_seq, frame.seq)
            elif step > 1:
                frame.lost_before = step - 1
                stats.lost_frames += step - 1
                flags |= FLAG_AFTER_LOSS
        elif self._reboot_pending:
            stats.reboots += 1
            flags |= FLAG_AFTER_REBOOT
        self._reboot_pending = False
        self._last_seq = frame.seq
        self._last_t_device_us = frame.t_device_us
        if self._after_reconnect:
            flags |= FLAG_AFTER_RECONNECT
            self._after_reconnect = False
            if stats.gaps_ns and stats.gaps_ns[-1][1] is None:
                stats.gaps_ns[-1] = (stats.gaps_ns[-1][0], frame.t_host_ns)
        frame.flags = flags
        stats.frames += 1
        self._last_frame_ns = frame.t_host_ns

    # ------------------------------------------------------------- reconnection

    def _port_lost(self, exc):
        now = time.monotonic_ns()
        logger.warning("%s: port lost (%s)", self.url, str(exc).strip().splitlines()[0] if str(exc) else exc)
        self._close_port()
        with self._lock:
            self._stats.connected = False
            self._stats.gaps_ns.append((now, None))
            self._after_reconnect = True
            self._last_frame_ns = None  # the stall timer restarts from the reconnection
        self._parser.reset()
        if not self._reconnect_enabled:
            self.error = PortError(f"port {self.url!r} was lost: {exc}")
            self._stop.set()

    def _reopen(self):
        """Retry opening the port with back-off; True once streaming again."""
        attempt = 0
        while not self._stop.is_set():
            delay = RECONNECT_BACKOFF_S[min(attempt, len(RECONNECT_BACKOFF_S) - 1)]
            if self._stop.wait(delay):
                return False
            attempt += 1
            try:
                port = self._open_port()
            except PortError:
                continue
            try:
                if self.protocol.name == "pmat1":
                    self._restart_pmat1(port)
                elif self.protocol.poll:
                    self._send(port, self.protocol.poll)
            except (serial.SerialException, OSError):
                port.close()
                continue
            self._port = port
            self._started_ns = time.monotonic_ns()
            with self._lock:
                self._stats.reconnects += 1
                self._stats.connected = True
            logger.warning("%s: port back after %d attempt(s); streaming again", self.url, attempt)
            return True
        return False

    def _close_port(self):
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except Exception:  # noqa: BLE001  (closing a vanished port may fail in any way)
                pass

    # ------------------------------------------------------------------ outputs

    @property
    def stats(self):
        """A snapshot of the :class:`SessionStats`, with the decoder's counters."""
        with self._lock:
            stats = dataclasses.replace(self._stats, gaps_ns=list(self._stats.gaps_ns))
            recent = len(self._recent)
        parser = self._parser.stats
        stats.crc_errors = parser.crc_errors
        # Every refusal but a checksum's: length, shape, version, and the plausibility checks.
        stats.bad_packets = parser.errors() - parser.crc_errors
        stats.junk_bytes = parser.junk_bytes
        stats.bytes_in = parser.bytes_in
        stats.frame_rate_hz = float(recent)
        return stats

    def add_sink(self, sink, *, batch=False):
        """Call ``sink(frame)`` on the reader thread for every frame from now on.

        Parameters
        ----------
        sink : callable
            Must return quickly (hand the frame to a queue for slow work).
        batch : bool
            Call ``sink(frames)`` instead, once per read of the port, with the
            list of frames that read brought (oldest first, never empty).
        """
        with self._lock:
            self._sinks.append((sink, bool(batch)))

    def remove_sink(self, sink):
        """Stop calling a sink added with :meth:`add_sink`.

        Parameters
        ----------
        sink : callable
            The sink.
        """
        with self._lock:
            for i, (added, _) in enumerate(self._sinks):
                if added == sink:
                    del self._sinks[i]
                    break

    def frames(self, *, timeout_s=None, max_buffered=10_000):
        """Iterate over the frames as they arrive.

        Parameters
        ----------
        timeout_s : float | None
            Stop when no frame arrives for this long, in s; None waits forever
            (until the session closes).
        max_buffered : int
            Frames kept when the consumer falls behind; the oldest are dropped.

        Yields
        ------
        frame : Frame
            Each frame, with the session's flags set.
        """
        buffer = collections.deque(maxlen=max_buffered)
        ready = threading.Condition()

        def sink(frame):
            with ready:
                buffer.append(frame)
                ready.notify()

        self.add_sink(sink)
        try:
            while True:
                with ready:
                    if not buffer:
                        ready.wait_for(lambda: buffer or self.closed, timeout=timeout_s)
                    if not buffer:
                        return
                    frame = buffer.popleft()
                yield frame
        finally:
            self.remove_sink(sink)

    @property
    def closed(self):
        """Whether the session has stopped."""
        return self._stop.is_set()

    @fill_doc
    @_verbose
    def read(self, *, seconds=None, n_frames=None, verbose=None, **attrs):
        """Collect frames in memory and return them as a raw recording.

        Parameters
        ----------
        seconds : float | None
            Collect for this long, in s.
        n_frames : int | None
            Or collect this many frames.
        %(verbose)s
        **attrs
            Trial attributes such as ``subject`` or ``condition``.

        Returns
        -------
        raw : xarray.Dataset
            A raw recording (schema ``counts/1``).
        """
        from .recorder import frames_to_counts

        if (seconds is None) == (n_frames is None):
            raise ValueError("give seconds or n_frames, not both and not neither")
        collected = []
        clocks = dict(start_wall_ns=time.time_ns(), start_monotonic_ns=time.monotonic_ns())  # for start_time
        deadline = None if seconds is None else time.monotonic() + seconds
        for frame in self.frames(timeout_s=max(self._timeout_s, 1.0)):
            collected.append(frame)
            if n_frames is not None and len(collected) >= n_frames:
                break
            if deadline is not None and time.monotonic() >= deadline:
                break
        if not collected:
            raise DeviceError(f"{self.url}: no frames arrived")
        return frames_to_counts(collected, {**self.metadata(**attrs), **clocks})

    def metadata(self, **attrs):
        """Return what a recording of this session stores about the device and session.

        Parameters
        ----------
        **attrs
            ``subject``, ``condition``, ``body_mass_kg`` and any other trial attribute.

        Returns
        -------
        metadata : dict
            JSON-serialisable: ``protocol``, ``url``, ``info``, ``shape`` (``[rows,
            cols]`` of the frames, or None if not known yet), ``rate_hz``,
            ``pitch_mm`` and the attributes.
        """
        pitch = self._pitch_mm if self._pitch_mm is not None else self.info.get("pitch_mm")
        shape = self._parser.shape or (self.info.get("rows"), self.info.get("cols"))
        return {
            "protocol": self.protocol.name,
            "url": self.url,
            "info": self.info,
            "shape": list(shape) if None not in shape else None,
            "rate_hz": self._rate_hz or self.info.get("rate_hz"),
            "pitch_mm": pitch,
            "attrs": attrs,
        }

    @fill_doc
    @_verbose
    def record(self, path, *, seconds=None, overwrite=False, keep_journal=False, status=None,
               status_interval_s=0.5, verbose=None, **attrs):  # fmt: skip
        """Record to disk, crash-safe, and finish with a NetCDF raw recording.

        Frames go to a journal (``path`` with the suffix ``.pmrec``) as they arrive,
        flushed per frame and synced to disk every second, so a crash, a kill or a
        power loss keeps everything up to the last second; ``plantar.read`` opens a
        journal too. At the end (``seconds`` elapsed, Ctrl-C, or the session closed)
        the journal becomes ``path``, a NetCDF raw recording (schema ``counts/1``)
        with uniform, drift-corrected time, and is removed.

        Parameters
        ----------
        path : str | pathlib.Path
            The NetCDF file to write (``.nc``).
        seconds : float | None
            Record for this long, in s; None until Ctrl-C.
        overwrite : bool
            Replace ``path`` if it exists (an existing journal is never replaced).
        keep_journal : bool
            Keep the journal after the NetCDF file is written.
        status : callable | None
            Called as ``status(stats, latest_frame)`` every ``status_interval_s`` s
            on the calling thread, for a live status line, and once more when the
            recording stops. ``stats`` is the recording's :class:`SessionStats`:
            its ``frames``, ``lost_frames``, ``reboots`` and ``reconnects`` are
            counted over the recorded frames, so the last call shows exactly
            what the file states (``frames_lost``, ``device_reboots``,
            ``reconnects``); the decoder's counters are those since the
            recording began.
        status_interval_s : float
            Seconds between status calls.
        %(verbose)s
        **attrs
            Trial attributes: ``subject``, ``condition``, ``body_mass_kg``, ...

        Returns
        -------
        path : pathlib.Path
            The NetCDF file written.
        """
        from .recorder import _record

        return _record(self, path, seconds=seconds, overwrite=overwrite, keep_journal=keep_journal,
                      status=status, status_interval_s=status_interval_s, **attrs)  # fmt: skip

    def close(self):
        """Stop streaming (PMAT/1 STOP), stop the reader thread and close the port."""
        if self._stop.is_set() and self._thread is None:
            return
        port = self._port
        if port is not None and self.protocol.name == "pmat1":
            try:
                self._send(port, pmat1.encode_packet(pmat1.STOP, self._new_request()))
            except (serial.SerialException, OSError):
                pass
        self._stop.set()
        if port is not None and hasattr(port, "cancel_read"):
            try:
                port.cancel_read()
            except Exception:  # noqa: BLE001
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._close_port()
        with self._lock:
            self._stats.connected = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        s = self.stats
        return (
            f"<Session {self.url} {self.protocol.name} frames={s.frames} lost={s.lost_frames} "
            f"reboots={s.reboots} reconnects={s.reconnects}{'' if s.connected else ' disconnected'}>"
        )


@fill_doc
@_verbose
def open_mat(url, *, protocol="pmat1", shape=None, rate_hz=None, encoding=pmat1.ENCODING_ZERO_RUN,
             pitch_mm=None, baudrate=None, timeout_s=3.0, reconnect=True, verbose=None):  # fmt: skip
    """Connect to a mat and start streaming.

    Parameters
    ----------
    url : str
        The port: ``/dev/ttyACM0``, ``COM3``, ``socket://host:port``, ``loop://`` or
        any other pyserial URL, or the path :class:`~plantar.drivers.sim.VirtualMat`
        prints.
    protocol : str
        Registry name of the wire format (see :data:`PROTOCOLS`).
    shape : tuple of int | None
        ``(rows, cols)``; default from the device (PMAT/1) or the format.
    rate_hz : float | None
        Scan rate to ask for (PMAT/1) or to poll at (poll-driven formats), in Hz.
    encoding : int
        PMAT/1 cell encoding to ask for (3 = zero-run).
    pitch_mm : float | tuple of float | None
        Sensor pitch in mm, ``(x, y)`` or one number, for formats that do not report it.
    baudrate : int | None
        Baud rate; default the format's.
    timeout_s : float
        How long to wait for the device to answer, in s.
    reconnect : bool
        Reopen the port and carry on when it disappears.
    %(verbose)s

    Returns
    -------
    session : Session
        Streaming; close it (or use it as a context manager) when done.

    Raises
    ------
    PortError
        If the port does not exist or is in use.
    DeviceError
        If nothing, or something else than the protocol, arrives within ``timeout_s``.

    Examples
    --------
    >>> from plantar.drivers import open_mat
    >>> from plantar.drivers.sim import VirtualMat
    >>> with VirtualMat("pmat1", shape=(32, 32), walk_s=2.0) as mat:
    ...     with open_mat(mat.url, protocol="pmat1") as session:
    ...         raw = session.read(n_frames=10)
    >>> raw.counts.shape
    (10, 32, 32)
    """
    return Session(url, protocol=protocol, shape=shape, rate_hz=rate_hz, encoding=encoding,
                   pitch_mm=pitch_mm, baudrate=baudrate, timeout_s=timeout_s,
                   reconnect=reconnect).open()  # fmt: skip
