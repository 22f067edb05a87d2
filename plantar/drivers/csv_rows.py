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
- **Learning the shape.** With ``shape=None`` the decoder takes ``rows`` and
  ``cols`` from the first frame that has a separator before it and rows of equal
  length, and holds to that shape from then on. Frames before it that do not
  follow a separator (the first lines of the stream, or lines after a junk line)
  may be the tail of a scan cut by connecting, so they are junk and no error.
  Until the shape is known, no other errors are counted either, except a frame
  after a separator whose rows differ in length.
- **Bounds.** A line longer than ``16 * cols + 256`` bytes (before its LF;
  ``16 * 65535 + 256`` while the shape is unknown) is junk: its bytes are counted
  as junk as they arrive. A frame that grows past ``rows`` rows (or past 65535
  rows or 16 MiB while the shape is unknown) is dropped as junk, counts one in
  ``stats.bad_lengths`` once the shape is known, and the rows after it are junk
  up to the next separator or junk line. So the decoder's memory is bounded.

Each row is checked with one regular expression and converted with one numpy
call; a frame is stacked with one more.
"""

import re

import numpy as np

from ._frame import Frame, FrameParser, _check_shape

#: Largest cell value (u16).
MAX_VALUE = 65535
#: Bytes a frame in progress may hold while the shape is unknown.
MAX_FRAME_BYTES = 16 * 1024 * 1024

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
        ``(rows, cols)`` of the mat, or None to learn it from the first frame
        that follows a separator (see the module's rules).
    marker : str | None
        The line that separates scans, e.g. ``"-----"`` or ``"START"``; None
        for a blank line.

    Examples
    --------
    >>> from plantar.drivers import csv_rows
    >>> parser = csv_rows.CsvRowsParser(shape=(2, 3))
    >>> stream = b"Booting v1.2...\\r\\n" + csv_rows.encode_frame([[0, 1, 2], [3, 4, 500]])
    >>> frames = parser.feed(stream[:25]) + parser.feed(stream[25:])
    >>> frames[0].counts.tolist(), parser.stats.junk_bytes
    ([[0, 1, 2], [3, 4, 500]], 17)

    Learning the shape, with a marker line:

    >>> parser = csv_rows.CsvRowsParser(marker="-----")
    >>> stream = b"7 8\\n-----\\n1 2 3\\n4 5 6\\n-----\\n"
    >>> [f.counts.tolist() for f in parser.feed(stream)], parser.shape
    ([[[1, 2, 3], [4, 5, 6]]], (2, 3))
    """

    name = "csv-rows"

    def __init__(self, shape=None, *, marker=None):
        super().__init__(shape)
        self.marker = marker
        self._separator = _check_marker(marker)
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

    def pending(self):
        """Return the number of bytes held: the rows of the frame in progress and a partial line."""
        return self._held + len(self._buffer)

    def _max_line(self):
        cols = _MAX_DIM if self.shape is None else self.shape[1]
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
                frame = self._line(bytes(buf[pos:end]), size, t_host_ns)
                if frame is not None:
                    frames.append(frame)
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
            return None
        values = parse_row(stripped)
        if values is None:
            self.stats.junk_bytes += size
            self._junk_line()
            return None
        if self._skipping:
            self.stats.junk_bytes += size
            return None
        self._rows.append(values)
        self._held += size
        if self.shape is None:
            overflow = len(self._rows) > _MAX_DIM or self._held > MAX_FRAME_BYTES
        else:
            overflow = len(self._rows) > self.shape[0]
        if overflow:
            self._drop()
            self._skipping = True
        return None

    def _drop(self):
        """Drop the rows in progress as junk; an error once the shape is known."""
        if self._rows and self.shape is not None:
            self.stats.bad_lengths += 1
        self.stats.junk_bytes += self._held
        self._rows = []
        self._held = 0

    def _junk_line(self):
        self._drop()
        self._skipping = False
        self._after = _AFTER_JUNK

    def _end_frame(self, size, t_host_ns):
        rows, after = self._rows, self._after
        self._after = _AFTER_SEPARATOR
        if self._skipping or not rows:
            self._skipping = False
            self.stats.junk_bytes += size
            return None
        n_bytes = self._held + size
        self._rows = []
        self._held = 0
        cols = {row.size for row in rows}
        if self.shape is None:
            if after != _AFTER_SEPARATOR:
                self.stats.junk_bytes += n_bytes
                return None
            if len(cols) != 1 or len(rows) > _MAX_DIM or max(cols) > _MAX_DIM:
                self.stats.bad_lengths += 1
                self.stats.junk_bytes += n_bytes
                return None
            self.shape = (len(rows), rows[0].size)
        elif len(rows) != self.shape[0] or cols != {self.shape[1]}:
            self.stats.bad_lengths += 1
            self.stats.junk_bytes += n_bytes
            return None
        return Frame(np.stack(rows), None, None, t_host_ns, 0)
