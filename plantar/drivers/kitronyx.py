"""Kitronyx Snowboard: the ``kitronyx-csv`` stream, encoder and decoder.

The Snowboard answers each poll with one scan. The host sends ``A`` (any byte
will do; Kitronyx's own monitor sends ``A``); the board replies, at 115200 baud,
with one ASCII line of rows * cols decimal values 0 .. 255 separated by commas and
ended by CRLF. The default grid is 16 rows (drive lines) by 10 columns (sense
lines), row-major by drive line, so a frame is at most 640 bytes and the link
carries about 18 frames a second. The format has no header, checksum, scan counter
or clock: frames carry ``seq=None`` and ``t_device_us=None``.

Decoding rules, as this decoder applies them:

- the stream is cut into lines at LF; a CR before it is ignored, so a bare LF
  ending is accepted;
- a line of exactly rows * cols values 0 .. 255, spelled as the Snowboard prints
  them (Arduino's ``Serial.print`` of each byte: decimal without leading zeros
  or signs, one comma between values, no spaces, no comma at the end), is a
  frame, and its bytes, LF included, are the frame's;
- a line of comma-separated numbers (spaces or tabs around a value and one
  comma at the end allowed) that is not such a frame is a corrupt frame: its
  bytes are junk and it counts one in ``stats.rejects`` under its reason:
  ``"length"`` (another count of values, also in ``stats.bad_lengths``),
  ``"range"`` (a value above 255) or ``"spelling"`` (a leading zero, a space, a
  trailing comma: a digit or a separator changed on the wire), the last two
  also in ``stats.implausible``;
- every other line is junk without being an error: a boot banner, a blank line,
  text, a value of more than 18 digits;
- a line longer than 8 * rows * cols + 64 bytes (before its LF) cannot be a
  frame: its bytes are counted as junk as they arrive and dropped up to its LF,
  so the decoder never holds more than that many bytes.

What cannot be caught: the line has no checksum, so a digit changed into another
digit (``17`` read as ``13``), a digit lost or added inside a value, and any
corruption that leaves a canonical line of rows * cols values 0 .. 255 give a
frame with wrong values. Under random bit flips about a fifth of the corrupted
frames still pass this way (``tests/drivers/decode_attack.py`` measures it).

Each line is checked with one regular expression and converted with one numpy
call, whatever its length.
"""

import re

import numpy as np

from ._checks import DecoderStats
from ._frame import Frame, FrameParser, _check_shape

#: ``(rows, cols)`` of the Snowboard when the caller gives none.
DEFAULT_SHAPE = (16, 10)
#: Largest cell value (u8).
MAX_VALUE = 255
#: The byte that asks the board for one frame.
POLL = b"A"

_VALUES = re.compile(rb"[0-9]+(?:[ \t]*,[ \t]*[0-9]+)*(?:[ \t]*,)?")
# A line exactly as the firmware prints it: byte values without leading zeros, commas between.
_CANONICAL = re.compile(rb"(?:0|[1-9][0-9]{0,2})(?:,(?:0|[1-9][0-9]{0,2}))*\r?")
_MAX_DIGITS = 18


def encode_frame(counts, *, seq=None, t_device_us=None, flags=0):
    """Return one scan as the Snowboard sends it in reply to a poll.

    Parameters
    ----------
    counts : array_like of int, shape (rows, cols)
        Sensor counts 0 .. 255, row-major.
    seq : int | None
        Accepted for the common encoder signature and ignored: the format has no
        scan counter.
    t_device_us : int | None
        Accepted and ignored: the format has no device clock.
    flags : int
        Accepted and ignored: the format has no flags.

    Returns
    -------
    line : bytes
        The values joined by commas, then CRLF.

    Examples
    --------
    >>> from plantar.drivers import kitronyx
    >>> kitronyx.encode_frame([[0, 12], [255, 3]])
    b'0,12,255,3\\r\\n'
    """
    del seq, t_device_us, flags
    counts = np.asarray(counts)
    if counts.ndim != 2:
        raise ValueError(f"counts must be 2-D (rows, cols), got shape {counts.shape}")
    _check_shape(counts.shape)
    if counts.min() < 0 or counts.max() > MAX_VALUE:
        raise ValueError(f"counts must lie in 0 .. {MAX_VALUE}, got {counts.min()} .. {counts.max()}")
    return ",".join(map(str, counts.astype(np.int64).ravel().tolist())).encode("ascii") + b"\r\n"


def parse_values(line):
    """Return the values of one comma-separated line of decimal integers.

    Parameters
    ----------
    line : bytes
        One line, with or without its CR or LF.

    Returns
    -------
    values : numpy.ndarray of int64 | None
        The values, or None if the line is not comma-separated decimal integers
        of at most 18 digits (spaces or tabs around a value and one trailing
        comma are allowed).

    Examples
    --------
    >>> from plantar.drivers import kitronyx
    >>> kitronyx.parse_values(b"0, 12,255,\\r\\n")
    array([  0,  12, 255])
    >>> kitronyx.parse_values(b"Snowboard v1.0\\r\\n") is None
    True
    """
    line = bytes(line).strip()
    if not _VALUES.fullmatch(line):
        return None
    tokens = np.array(line.replace(b",", b" ").split())
    if tokens.dtype.itemsize > _MAX_DIGITS:
        return None
    return tokens.astype(np.int64)


class KitronyxParser(FrameParser):
    """Decoder of the ``kitronyx-csv`` stream (replies to :attr:`poll`).

    Parameters
    ----------
    shape : tuple of int | None
        ``(rows, cols)`` of the board; None for the Snowboard's 16 x 10. The line
        does not carry its shape, so a line of any other count of values is
        dropped.

    Examples
    --------
    >>> from plantar.drivers import kitronyx
    >>> parser = kitronyx.KitronyxParser(shape=(2, 2))
    >>> parser.poll
    b'A'
    >>> stream = b"Snowboard ready\\r\\n" + kitronyx.encode_frame([[0, 12], [255, 3]])
    >>> frames = parser.feed(stream[:20]) + parser.feed(stream[20:])
    >>> frames[0].counts.tolist(), parser.stats.junk_bytes
    ([[0, 12], [255, 3]], 17)
    """

    name = "kitronyx-csv"
    poll = POLL

    def __init__(self, shape=None):
        super().__init__(shape)
        self.stats = DecoderStats()
        if self.shape is None:
            self.shape = DEFAULT_SHAPE
        rows, cols = self.shape
        self._max_line = 8 * rows * cols + 64
        self._buffer = bytearray()
        self._discarding = False

    def reset(self):
        """Forget any partial line (after a reconnect); keep the counters."""
        self._buffer.clear()
        self._discarding = False

    def pending(self):
        """Return the number of bytes held while waiting for the end of a line."""
        return len(self._buffer)

    def _feed(self, data, t_host_ns):
        buf = self._buffer
        buf += data
        stats = self.stats
        frames = []
        pos = 0
        while True:
            end = buf.find(b"\n", pos)
            if end < 0:
                break
            if self._discarding or end - pos > self._max_line:
                stats.junk_bytes += end + 1 - pos
            else:
                frame = self._line(buf[pos:end], t_host_ns)
                if frame is None:
                    stats.junk_bytes += end + 1 - pos
                else:
                    frames.append(frame)
            self._discarding = False
            pos = end + 1
        if self._discarding or len(buf) - pos > self._max_line:
            stats.junk_bytes += len(buf) - pos
            pos = len(buf)
            self._discarding = True
        del buf[:pos]
        return frames

    def _line(self, line, t_host_ns):
        values = parse_values(line)
        if values is None:
            return None
        rows, cols = self.shape
        if values.size != rows * cols:
            self.stats.reject("length")
            return None
        if values.max() > MAX_VALUE:
            self.stats.reject("range")
            return None
        if not _CANONICAL.fullmatch(line):
            self.stats.reject("spelling")
            return None
        return Frame(values.astype(np.uint16).reshape(rows, cols), None, None, t_host_ns, 0)
