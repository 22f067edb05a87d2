"""Generic microcontroller mats: the ``csv-rows`` stream, encoder and decoder.

Many home-built mats (an Arduino or ESP32 scanning a velostat or FSR grid) print
each scan as text, one line per sensor row, and separate scans with a blank line
or a marker line such as ``-----`` or ``START``. There is no header, checksum,
scan counter or clock: frames carry ``seq=None`` and ``t_device_us=None``.

Decoding rules, as this decoder applies them:

- **Lines.** The stream is cut into lines at LF; a line's bytes include its LF.
  Spaces, tabs and a CR at either end of a line are ignored.
- **Rows.** A line made only of decimal digits, commas, spaces and tabs, with at
  least one digit, is a row. Commas and runs of spaces or tabs all separate
  values, so ``1,2,3``, ``1, 2, 3``, ``1 2 3``, ``1,2,3,`` (a trailing comma) and
  ``1,,2`` (read as two values) are rows. A value must have at most 18 digits
  and lie in 0 .. 65535; otherwise the line is not a row.
- **Separators.** With ``marker=None`` (the default) a blank line (empty or only
  whitespace) is a separator. With a marker, a line equal to the marker is a
  separator, and a blank line is junk that changes nothing.
- **Frames.** The rows read since the last separator or junk line form a frame
  when the next separator arrives; the frame's bytes are its rows' and the
  separator's. It is accepted if it has ``rows`` rows of ``cols`` values each;
  otherwise it counts one in ``stats.bad_lengths`` and its bytes are junk. A
  separator with no rows before it (a second blank line, or a marker printed
  before each frame) is junk and no error. A marker printed before each scan,
  like ``START``, therefore works, but each frame is delivered when the next
  marker arrives.
- **Junk lines.** Any other line (a boot banner, a log message, a line cut short
  by a reconnect) is junk. It ends the frame in progress: rows read before it
  are junk too and, once the shape is known, count one in ``stats.bad_lengths``.
  After a device reboots mid-scan, its banner thus keeps the cut scan from
  spoiling the first new one.
- **Learning the shape.** With ``shape=None`` the decoder learns ``rows`` and
  ``cols`` from ``learn_frames`` (default 3) consecutive frames of the same
  shape that each follow a separator and have rows of equal length. It holds
  those frames (they count in :meth:`~CsvRowsParser.pending`) and delivers them
  all, in order, once the shape is learned, so no frame is lost to learning. A
  candidate of another shape restarts the count, and the candidates before it
  are junk: a stray line at connect (``7`` then a blank line) is thus one
  frame of shape 1 x 1 that the real frames outvote. Frames that do not follow
  a separator (the first lines of the stream, or lines after a junk line) may
  be the tail of a scan cut by connecting, so while learning they are junk and
  no error. Until the shape is known, no other errors are counted either,
  except a frame after a separator whose rows differ in length.
- **Re-learning.** A learned shape is not final: if ``learn_frames``
  consecutive frames after separators have one other shape, with no frame of
  the learned shape between them, the decoder takes the new shape (logging a
  warning and counting one in :attr:`~CsvRowsParser.relearned`) and delivers
  those frames. Until then each is held; a frame of the learned shape drops
  the held ones, each counting one in ``stats.bad_lengths`` and
  ``stats.rejects["shape"]``. A shape given by the caller is never re-learned:
  a frame of another shape is dropped at once.
- **Bounds.** A line longer than ``16 * cols + 256`` bytes (before its LF;
  ``16 * 65535 + 256`` while the shape is unknown or learned) is junk: its
  bytes are counted as junk as they arrive. A frame that grows past ``rows``
  rows (past 65535 rows or 16 MiB while the shape is unknown or learned) is
  dropped as junk, counts one in ``stats.bad_lengths`` once the shape is
  known, and the rows after it are junk up to the next separator or junk line.
  At most ``learn_frames - 1`` complete frames are held besides the frame in
  progress. So the decoder's memory is bounded.

What cannot be caught: the text has no checksum, so a digit changed into
another digit, or lost or added inside a value, gives a frame with a wrong
value; only a change that breaks a row's length, the row count, the separator
or the value range (above ``max_value``, 65535 unless given) is detected.
Under random bit flips about a fifth of the corrupted frames still pass
(``tests/drivers/decode_attack.py`` measures it).

Each row is checked with one regular expression and converted with one numpy
call; a frame is stacked with one more.
"""

import re

import numpy as np

from ..utils import logger
from ._checks import DecoderStats
from ._frame import Frame, FrameParser, _check_shape

#: Largest cell value (u16).
MAX_VALUE = 65535
#: Bytes a frame in progress may hold while the shape is unknown.
MAX_FRAME_BYTES = 16 * 1024 * 1024
#: Consecutive frames of one shape that teach the decoder that shape.
LEARN_FRAMES = 3

_ROW = re.compile(rb"[0-9, \t]+")
_MAX_DIGITS = 18
_MAX_DIM = 65535
# What preceded the frame in progress.
_AFTER_START, _AFTER_SEPARATOR, _AFTER_JUNK = 0, 1, 2


def _check_marker(marker):
    if marker is None:
        return None
    if not isinstance(marker, str):
        raise ValueError(f"marker must be None or a str, got {marker!r}")
    try:
        encoded = marker.strip().encode("ascii")
    except UnicodeEncodeError:
        raise ValueError(f"marker must be ASCII text, got {marker!r}") from None
    if not encoded or b"\n" in encoded or b"\r" in encoded or encoded != marker.encode("ascii"):
        raise ValueError(f"marker must be non-empty text on one line, without surrounding whitespace, got {marker!r}")
    if _ROW.fullmatch(encoded):
        raise ValueError(f"marker must not read as a row of numbers, got {marker!r}")
    return encoded


def encode_frame(counts, *, seq=None, t_device_us=None, flags=0, marker=None):
    """Return one scan as a generic microcontroller mat prints it.

    Parameters
    ----------
    counts : array_like of int, shape (rows, cols)
        Sensor counts 0 .. 65535, row-major.
    seq : int | None
        Accepted for the common encoder signature and ignored: the format has no
        scan counter.
    t_device_us : int | None
        Accepted and ignored: the format has no device clock.
    flags : int
        Accepted and ignored: the format has no flags.
    marker : str | None
        The line that ends a scan, e.g. ``"-----"``; None for a blank line.

    Returns
    -------
    text : bytes
        Each row's values joined by commas and ended by CRLF, then the separator
        line (CRLF, or the marker and CRLF).

    Examples
    --------
    >>> from plantar.drivers import csv_rows
    >>> csv_rows.encode_frame([[0, 12], [300, 4]])
    b'0,12\\r\\n300,4\\r\\n\\r\\n'
    >>> csv_rows.encode_frame([[1, 2]], marker="-----")
    b'1,2\\r\\n-----\\r\\n'
    """
    del seq, t_device_us, flags
    separator = _check_marker(marker) or b""
    counts = np.asarray(counts)
    if counts.ndim != 2:
        raise ValueError(f"counts must be 2-D (rows, cols), got shape {counts.shape}")
    _check_shape(counts.shape)
    if counts.min() < 0 or counts.max() > MAX_VALUE:
        raise ValueError(f"counts must lie in 0 .. {MAX_VALUE}, got {counts.min()} .. {counts.max()}")
    lines = [",".join(map(str, row)) for row in counts.astype(np.int64).tolist()]
    return "\r\n".join(lines).encode("ascii") + b"\r\n" + separator + b"\r\n"


def parse_row(line):
    """Return the values of one row line.

    Parameters
    ----------
    line : bytes
        One line, with or without its CR or LF.

    Returns
    -------
    values : numpy.ndarray of uint16 | None
        The values, or None if the line is not a row: anything but digits,
        commas, spaces and tabs, no digit at all, a value of more than 18 digits
        or above 65535.

    Examples
    --------
    >>> from plantar.drivers import csv_rows
    >>> csv_rows.parse_row(b"0, 12\\t300,\\r\\n")
    array([  0,  12, 300], dtype=uint16)
    >>> csv_rows.parse_row(b"Ready.\\r\\n") is None
    True
    """
    line = bytes(line).strip()
    if not _ROW.fullmatch(line):
        return None
    tokens = line.replace(b",", b" ").split()
    if not tokens:
        return None
    tokens = np.array(tokens)
    if tokens.dtype.itemsize > _MAX_DIGITS:
        return None
    values = tokens.astype(np.int64)
    if values.max() > MAX_VALUE:
        return None
    return values.astype(np.uint16)


class CsvRowsParser(FrameParser):
    """Decoder of the ``csv-rows`` stream: one text line per row, a separator after each scan.

    Parameters
    ----------
    shape : tuple of int | None
        ``(rows, cols)`` of the mat, or None to learn it from the stream (see
        the module's rules).
    marker : str | None
        The line that separates scans, e.g. ``"-----"`` or ``"START"``; None
        for a blank line.
    learn_frames : int
        Consecutive frames of one shape that teach the decoder that shape
        (1 .. 100; 1 takes the first frame after a separator).
    max_value : int | None
        Largest count the mat's ADC gives, e.g. 1023 for a 10-bit ADC; a frame
        with a larger value is corrupt. None for 65535.

    Attributes
    ----------
    relearned : int
        Times a learned shape was replaced by another one.

    Examples
    --------
    >>> from plantar.drivers import csv_rows
    >>> parser = csv_rows.CsvRowsParser(shape=(2, 3))
    >>> stream = b"Booting v1.2...\\r\\n" + csv_rows.encode_frame([[0, 1, 2], [3, 4, 500]])
    >>> frames = parser.feed(stream[:25]) + parser.feed(stream[25:])
    >>> frames[0].counts.tolist(), parser.stats.junk_bytes
    ([[0, 1, 2], [3, 4, 500]], 17)

    Learning the shape, with a marker line: a stray line is outvoted, and the
    frames that taught the shape are delivered once it is learned.

    >>> parser = csv_rows.CsvRowsParser(marker="-----", learn_frames=2)
    >>> stream = b"-----\\n7 8\\n-----\\n1 2 3\\n4 5 6\\n-----\\n"
    >>> parser.feed(stream), parser.shape, parser.pending()
    ([], None, 18)
    >>> frames = parser.feed(b"7 8 9\\n1 1 1\\n-----\\n")
    >>> [f.counts.tolist() for f in frames], parser.shape, parser.pending()
    ([[[1, 2, 3], [4, 5, 6]], [[7, 8, 9], [1, 1, 1]]], (2, 3), 0)
    """

    name = "csv-rows"

    def __init__(self, shape=None, *, marker=None, learn_frames=LEARN_FRAMES, max_value=None):
        super().__init__(shape)
        self.stats = DecoderStats()
        self.marker = marker
        self._separator = _check_marker(marker)
        if not (isinstance(learn_frames, int) and 1 <= learn_frames <= 100):
            raise ValueError(f"learn_frames must be an integer in 1 .. 100, got {learn_frames!r}")
        if max_value is None:
            max_value = MAX_VALUE
        if not (isinstance(max_value, int) and 1 <= max_value <= MAX_VALUE):
            raise ValueError(f"max_value must be None or an integer in 1 .. {MAX_VALUE}, got {max_value!r}")
        self.learn_frames = learn_frames
        self.max_value = max_value
        self.relearned = 0
        self._learned = self.shape is None  # the shape comes from the stream, not the caller
        self._buffer = bytearray()
        self.reset()

    def reset(self):
        """Forget any partial line or frame (after a reconnect); keep the counters and the shape."""
        self._buffer.clear()
        self._discarding = False  # dropping the rest of an over-long line
        self._skipping = False  # dropping rows up to the next separator or junk line
        self._rows = []
        self._held = 0  # bytes of the rows in self._rows
        self._after = _AFTER_START
        self._candidates = []  # (frame, bytes) of consecutive frames of a shape not (yet) taken
        self._candidate_bytes = 0

    def pending(self):
        """Return the number of bytes held: frames awaiting a shape, the frame in progress and a partial line."""
        return self._candidate_bytes + self._held + len(self._buffer)

    def _open_bounds(self):
        """True while frames of any shape may arrive (the shape is unknown or learned)."""
        return self._learned

    def _max_line(self):
        cols = _MAX_DIM if self._open_bounds() else self.shape[1]
        return 16 * cols + 256

    def _feed(self, data, t_host_ns):
        buf = self._buffer
        buf += data
        frames = []
        pos = 0
        while True:
            end = buf.find(b"\n", pos)
            if end < 0:
                break
            size = end + 1 - pos
            if self._discarding or end - pos > self._max_line():
                self.stats.junk_bytes += size
                self._junk_line()
            else:
                frames += self._line(bytes(buf[pos:end]), size, t_host_ns)
            self._discarding = False
            pos = end + 1
        if self._discarding or len(buf) - pos > self._max_line():
            self.stats.junk_bytes += len(buf) - pos
            pos = len(buf)
            self._discarding = True
        del buf[:pos]
        return frames

    def _line(self, line, size, t_host_ns):
        stripped = line.strip()
        if self._separator is None:
            if not stripped:
                return self._end_frame(size, t_host_ns)
        elif stripped == self._separator:
            return self._end_frame(size, t_host_ns)
        elif not stripped:
            self.stats.junk_bytes += size
            return []
        values = parse_row(stripped)
        if values is None:
            self.stats.junk_bytes += size
            self._junk_line()
            return []
        if self._skipping:
            self.stats.junk_bytes += size
            return []
        if int(values.max()) > self.max_value:
            # A value the ADC cannot give: the frame in progress is corrupt.
            self.stats.reject("range")
            self.stats.junk_bytes += self._held + size
            self._rows = []
            self._held = 0
            self._skipping = True
            return []
        self._rows.append(values)
        self._held += size
        if self._open_bounds():
            overflow = len(self._rows) > _MAX_DIM or self._held > MAX_FRAME_BYTES
        else:
            overflow = len(self._rows) > self.shape[0]
        if overflow:
            self._drop()
            self._skipping = True
        return []

    def _drop(self):
        """Drop the rows in progress as junk; an error once the shape is known."""
        if self._rows and self.shape is not None:
            self.stats.reject("length")
        self.stats.junk_bytes += self._held
        self._rows = []
        self._held = 0

    def _junk_line(self):
        self._drop()
        self._skipping = False
        self._after = _AFTER_JUNK

    def _drop_candidates(self):
        """Drop the frames held for another shape: junk, and errors once a shape is known."""
        if self._candidates and self.shape is not None:
            self.stats.reject("shape", len(self._candidates))
        self.stats.junk_bytes += self._candidate_bytes
        self._candidates = []
        self._candidate_bytes = 0

    def _end_frame(self, size, t_host_ns):
        rows, after = self._rows, self._after
        self._after = _AFTER_SEPARATOR
        if self._skipping or not rows:
            self._skipping = False
            self.stats.junk_bytes += size
            return []
        n_bytes = self._held + size
        self._rows = []
        self._held = 0
        cols = {row.size for row in rows}
        shape = (len(rows), rows[0].size) if len(cols) == 1 and len(rows) <= _MAX_DIM else None
        if shape is not None and shape == self.shape:
            self._drop_candidates()
            return [Frame(np.stack(rows), None, None, t_host_ns, 0)]
        if shape is None:  # rows of unequal length: an error unless it may be a cut scan
            if self.shape is not None or after == _AFTER_SEPARATOR:
                self.stats.reject("shape")
            self.stats.junk_bytes += n_bytes
            return []
        if not self._learned or after != _AFTER_SEPARATOR:
            # Another shape than the one given, or a frame that may be the tail of a cut scan.
            if self.shape is not None:
                self.stats.reject("shape")
            self.stats.junk_bytes += n_bytes
            return []
        if self._candidates and self._candidates[0][0].shape != shape:
            self._drop_candidates()
        self._candidates.append((Frame(np.stack(rows), None, None, t_host_ns, 0), n_bytes))
        self._candidate_bytes += n_bytes
        if len(self._candidates) < self.learn_frames:
            return []
        if self.shape is not None:
            self.relearned += 1
            logger.warning(
                "csv-rows: the frame shape changed from %dx%d to %dx%d (%d frames in a row)",
                *self.shape, *shape, len(self._candidates),
            )  # fmt: skip
        self.shape = shape
        frames = [frame for frame, _ in self._candidates]
        self._candidates = []
        self._candidate_bytes = 0
        return frames
