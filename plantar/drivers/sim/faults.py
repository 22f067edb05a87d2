"""Faults the virtual mat can inject: line noise, banners, lost frames, reboots, unplugs.

Every time in a :class:`Faults` schedule is in seconds of host time after the
device first started streaming: the first START for PMAT/1, the first poll for
a poll-driven format, :meth:`VirtualMat.start <plantar.drivers.sim.VirtualMat.start>`
for a free-running one.
"""

import math
import numbers

import numpy as np


class Faults:
    """A seeded schedule of faults for :class:`~plantar.drivers.sim.VirtualMat`.

    Bit flips and byte drops touch only the bytes of frames, never replies
    (INFO, ACK, PONG), banners or junk lines, so handshakes stay testable while
    the frame stream is corrupted.

    Parameters
    ----------
    seed : int
        Seed of the bit flips, byte drops and junk text (frame ``k``'s errors
        come from a generator seeded by ``(seed, k)``).
    bit_error_rate : float
        Probability that each bit of a frame is flipped on the wire (0 .. 0.1).
    byte_drop_rate : float
        Probability that each byte of a frame is lost on the wire (0 .. 0.1).
    banner : bytes
        Written at boot and after every reboot, before the INFO, e.g.
        ``b"virtual mat bootloader v1\\r\\n"``.
    junk_every_s : float | None
        Write a short line of text between frames every this many seconds.
    bursts : sequence of (float, int)
        ``(at_s, n_frames)``: the device skips sending ``n_frames`` consecutive
        scans from ``at_s``; the next frame it sends has ``FLAG_DEVICE_OVERRUN``.
        Only streaming formats have bursts; a poll-driven device answers every poll.
    reboots : sequence of float
        ``at_s`` of device resets: the scan counter and the device clock restart
        at 0, the banner and an INFO are sent unprompted, and a PMAT/1 device
        stops streaming until the next START.
    unplugs : sequence of (float, float)
        ``(at_s, duration_s)``: the link disappears for ``duration_s`` seconds
        (the pty and its path vanish, or the TCP server closes), then comes back
        on a new pty behind the same path, or on the same port. Afterwards a
        PMAT/1 device is idle until the next START.
    unplug_reboots : bool
        The device is powered by the link: it does not scan while unplugged and
        reboots on replug. If False it is self-powered and keeps scanning.

    Examples
    --------
    >>> from plantar.drivers.sim import Faults
    >>> faults = Faults(seed=1, bit_error_rate=1e-3, bursts=[(0.5, 3)])
    >>> faults.bursts
    ((0.5, 3),)
    """

    def __init__(
        self,
        *,
        seed=0,
        bit_error_rate=0.0,
        byte_drop_rate=0.0,
        banner=b"",
        junk_every_s=None,
        bursts=(),
        reboots=(),
        unplugs=(),
        unplug_reboots=False,
    ):
        for name, value in (("bit_error_rate", bit_error_rate), ("byte_drop_rate", byte_drop_rate)):
            if not (isinstance(value, numbers.Real) and 0 <= value <= 0.1):
                raise ValueError(f"{name} must be a number in 0 .. 0.1, got {value!r}")
        if not isinstance(banner, (bytes, bytearray)):
            raise ValueError(f"banner must be bytes, got {type(banner).__name__}")
        if junk_every_s is not None and not _positive(junk_every_s):
            raise ValueError(f"junk_every_s must be None or a positive number, got {junk_every_s!r}")
        self.seed = seed
        self.bit_error_rate = float(bit_error_rate)
        self.byte_drop_rate = float(byte_drop_rate)
        self.banner = bytes(banner)
        self.junk_every_s = junk_every_s
        self.bursts = tuple(_pairs(bursts, "bursts", "(at_s, n_frames)", _check_burst))
        self.reboots = tuple(_at_s(v, "reboots") for v in reboots)
        self.unplugs = tuple(_pairs(unplugs, "unplugs", "(at_s, duration_s)", _check_unplug))
        self.unplug_reboots = bool(unplug_reboots)

    def __repr__(self):
        return (
            f"Faults(seed={self.seed!r}, bit_error_rate={self.bit_error_rate!r}, "
            f"byte_drop_rate={self.byte_drop_rate!r}, banner={self.banner!r}, "
            f"junk_every_s={self.junk_every_s!r}, bursts={self.bursts!r}, reboots={self.reboots!r}, "
            f"unplugs={self.unplugs!r}, unplug_reboots={self.unplug_reboots!r})"
        )

    @property
    def corrupts(self):
        """True if frames' bytes can be corrupted (a bit error or byte drop rate above 0)."""
        return self.bit_error_rate > 0 or self.byte_drop_rate > 0

    def corrupt(self, packet, rng):
        """Pass the bytes of one frame through the faulty line.

        Parameters
        ----------
        packet : bytes
            The frame as encoded.
        rng : numpy.random.Generator
            Source of the errors.

        Returns
        -------
        packet : bytes
            The bytes as the host receives them.
        n_flipped_bits : int
            Bits flipped.
        n_dropped_bytes : int
            Bytes lost.

        Examples
        --------
        >>> import numpy as np
        >>> from plantar.drivers.sim import Faults
        >>> out, flips, drops = Faults(bit_error_rate=0.01).corrupt(bytes(1000), np.random.default_rng(0))
        >>> len(out), flips > 0, drops
        (1000, True, 0)
        """
        n_bytes = len(packet)
        n_flips = int(rng.binomial(8 * n_bytes, self.bit_error_rate)) if self.bit_error_rate else 0
        n_drops = int(rng.binomial(n_bytes, self.byte_drop_rate)) if self.byte_drop_rate else 0
        if not (n_flips or n_drops):
            return packet, 0, 0
        data = np.frombuffer(packet, np.uint8).copy()
        if n_flips:
            bits = rng.choice(8 * n_bytes, n_flips, replace=False)
            np.bitwise_xor.at(data, bits // 8, (1 << (bits % 8)).astype(np.uint8))
        if n_drops:
            data = np.delete(data, rng.choice(n_bytes, n_drops, replace=False))
        return data.tobytes(), n_flips, n_drops

    def junk_line(self, rng):
        """Return one line of the text a chatty firmware prints between frames.

        Parameters
        ----------
        rng : numpy.random.Generator
            Source of the numbers in the line.

        Returns
        -------
        line : bytes
            ASCII text ending in CRLF (never containing a packet magic).

        Examples
        --------
        >>> import numpy as np
        >>> from plantar.drivers.sim import Faults
        >>> Faults().junk_line(np.random.default_rng(0)).endswith(b"\\r\\n")
        True
        """
        vbat_mv, temp_c = int(rng.integers(3200, 4200)), float(rng.normal(31.0, 0.5))
        return f"dbg: vbat={vbat_mv}mV temp={temp_c:.1f}C\r\n".encode("ascii")


def _positive(value):
    return isinstance(value, numbers.Real) and math.isfinite(value) and value > 0


def _at_s(value, name):
    if not (isinstance(value, numbers.Real) and math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} times must be numbers >= 0 (seconds), got {value!r}")
    return float(value)


def _check_burst(at_s, n_frames):
    if not (isinstance(n_frames, numbers.Integral) and n_frames >= 1):
        raise ValueError(f"bursts: n_frames must be an integer >= 1, got {n_frames!r}")
    return _at_s(at_s, "bursts"), int(n_frames)


def _check_unplug(at_s, duration_s):
    if not _positive(duration_s):
        raise ValueError(f"unplugs: duration_s must be a positive number, got {duration_s!r}")
    return _at_s(at_s, "unplugs"), float(duration_s)


def _pairs(values, name, form, check):
    for value in values:
        try:
            first, second = value
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a sequence of {form}, got {value!r}") from None
        yield check(first, second)
