"""What every decoder produces (:class:`Frame`) and the counters it keeps.

A decoder (a :class:`FrameParser` subclass) turns the bytes of one wire format into
frames of sensor counts. It is pure: no port, no thread, no clock of its own; the
caller passes the host receive time with the bytes. It never raises on bad bytes:
it counts them in :attr:`FrameParser.stats` and continues at the next good frame.
"""

import dataclasses
import time

import numpy as np

#: Frame flag set by the device: it skipped sending at least one scan before this one.
FLAG_DEVICE_OVERRUN = 0x01
#: Frame flag set by the device: some cell is at the ADC rail.
FLAG_SATURATED = 0x02
#: Frame flag set by the session: the first frame after the port was lost and reopened.
FLAG_AFTER_RECONNECT = 0x10
#: Frame flag set by the session: the first frame after the device rebooted.
FLAG_AFTER_REBOOT = 0x20
#: Frame flag set by the session: frames were lost (a gap in ``seq``) just before this one.
FLAG_AFTER_LOSS = 0x40


@dataclasses.dataclass(eq=False, slots=True)
class Frame:
    """One scan of the mat, as decoded from the wire.

    Parameters
    ----------
    counts : numpy.ndarray of uint16, shape (rows, cols)
        Sensor counts, row-major as the device scans them.
    seq : int | None
        The device's scan counter, or None if the format has none.
    t_device_us : int | None
        Device clock at scan start in microseconds, or None if the format has none.
    t_host_ns : int
        Host monotonic clock (:func:`time.monotonic_ns`) when the bytes that
        completed the frame were received, in nanoseconds.
    flags : int
        Bit field of ``FLAG_*`` values (device flags in bits 0-3, session flags
        in bits 4-7).
    lost_before : int
        Frames the device scanned since the previous frame of the same boot that
        never arrived, as the session counted them from the scan counter (0
        across a reboot, and for formats without a counter).
    zero_run : bytes | None
        The cells as PMAT/1 zero-run words (encoding 3) exactly as they arrived
        and decoded to ``counts``, when the wire carried them so; a recorder
        journals them as they are instead of encoding ``counts`` again. None
        otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> from plantar.drivers import Frame
    >>> frame = Frame(np.zeros((2, 3), np.uint16), seq=7, t_device_us=10, t_host_ns=0)
    >>> frame.shape
    (2, 3)
    """

    counts: np.ndarray
    seq: object = None
    t_device_us: object = None
    t_host_ns: int = 0
    flags: int = 0
    lost_before: int = 0
    zero_run: object = dataclasses.field(default=None, repr=False)

    @property
    def shape(self):
        """``(rows, cols)`` of the frame."""
        return self.counts.shape

    def __repr__(self):
        return (
            f"<Frame {self.counts.shape[0]}x{self.counts.shape[1]} seq={self.seq} "
            f"t_device_us={self.t_device_us} flags=0x{self.flags:02x} "
            f"max={int(self.counts.max()) if self.counts.size else 0}>"
        )


@dataclasses.dataclass
class ParserStats:
    """Counters a decoder keeps; every byte fed is eventually a frame's, junk, or pending.

    Attributes
    ----------
    bytes_in : int
        Bytes fed so far.
    frames : int
        Frames decoded.
    packets : int
        Valid packets other than frames (replies, logs), for formats that have them.
    junk_bytes : int
        Bytes that belonged to no valid packet or frame (banners, noise, the bytes
        of corrupt packets).
    crc_errors : int
        Packets whose checksum did not match.
    bad_lengths : int
        Packets or frames with an impossible length or cell count.
    bad_versions : int
        Packets of an unknown protocol version.
    """

    bytes_in: int = 0
    frames: int = 0
    packets: int = 0
    junk_bytes: int = 0
    crc_errors: int = 0
    bad_lengths: int = 0
    bad_versions: int = 0

    def errors(self):
        """Return the number of corrupt packets or frames seen (CRC, length, version)."""
        return self.crc_errors + self.bad_lengths + self.bad_versions


class FrameParser:
    """Base class of the decoders: ``feed(bytes) -> list[Frame]``.

    Subclasses implement :meth:`_feed` and may set :attr:`poll` (the bytes a host
    sends to ask a poll-driven device for one frame).

    Parameters
    ----------
    shape : tuple of int | None
        ``(rows, cols)`` expected from the device, or None to accept what the
        stream says (formats that carry their shape) or the format's default.
    """

    #: Registry name of the format, e.g. ``"pmat1"``.
    name = ""
    #: Bytes that ask a poll-driven device for one frame; None for free-running formats.
    poll = None

    def __init__(self, shape=None):
        self.shape = None if shape is None else _check_shape(shape)
        self.stats = ParserStats()

    def feed(self, data, t_host_ns=None):
        """Decode the next bytes of the stream.

        Parameters
        ----------
        data : bytes-like
            The bytes, in any chunking: a frame split across calls is completed
            when its last byte arrives.
        t_host_ns : int | None
            Host monotonic time at which ``data`` was received, in ns; default now.

        Returns
        -------
        frames : list of Frame
            The frames completed by these bytes, oldest first. Corrupt data never
            raises; it is counted in :attr:`stats`.
        """
        if t_host_ns is None:
            t_host_ns = time.monotonic_ns()
        self.stats.bytes_in += len(data)
        frames = self._feed(data, t_host_ns)
        self.stats.frames += len(frames)
        return frames

    def reset(self):
        """Forget any partial packet (after a reconnect); keep the counters."""
        raise NotImplementedError

    def pending(self):
        """Return the number of bytes held while waiting for the rest of a frame."""
        raise NotImplementedError

    def _feed(self, data, t_host_ns):
        raise NotImplementedError


def _check_shape(shape):
    try:
        rows, cols = (int(v) for v in shape)
    except (TypeError, ValueError):
        raise ValueError(f"shape must be (rows, cols), got {shape!r}") from None
    if rows < 1 or cols < 1 or rows > 65535 or cols > 65535:
        raise ValueError(f"shape must be two integers in 1 .. 65535, got {shape!r}")
    return rows, cols
