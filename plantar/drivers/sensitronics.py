"""Sensitronics FSR matrix arrays: the ``sensitronics-zrle`` stream, encoder and decoder.

The Sensitronics matrix-array firmware scans its grid continuously and sends every
scan at 115200 baud, unasked, as bytes:

- a byte 1 .. 254 is one cell's value (the firmware shifts its 10-bit ADC reading
  right by 2 and clamps 255 to 254, so ``FF`` never occurs inside a frame);
- ``00 n`` is a run of ``n`` zero cells, 1 <= n <= 254 (a longer run is sent as
  several pairs);
- ``FF`` ends the frame.

Cells are row-major; the default grid is 10 rows by 16 columns, so an idle frame is
the three bytes ``00 a0 ff``. The format has no header, checksum, scan counter or
clock, so frames carry ``seq=None`` and ``t_device_us=None``; the only integrity
check is that a frame expands to exactly rows * cols cells.

Decoding rules, as this decoder applies them:

- every ``FF`` ends a frame; the bytes since the previous ``FF`` are its body;
- a body that does not expand to exactly rows * cols cells is dropped: it counts
  one in ``stats.bad_lengths`` (and in ``stats.rejects["cells"]``) and its
  bytes, with the ``FF``, count as junk. This
  includes a ``00`` with no count after it, a zero-length run ``00 00``, and an
  empty body (two ``FF`` in a row). The first body after connecting to a running
  device is usually the tail of a frame and is dropped this way;
- a valid body is at most 2 * rows * cols bytes (every cell a ``00 01`` pair), so
  once more bytes than that arrive without an ``FF`` they are counted as junk and
  dropped until the next ``FF``, which closes one bad frame. The decoder therefore
  never holds more than 2 * rows * cols bytes.

The format has no sync pattern: after arbitrary junk, the frame whose ``FF`` first
follows the junk is lost (it merges with the junk), and every frame after it is
decoded. Each frame is expanded with a few numpy calls (``np.frombuffer``,
``np.repeat``), whatever its size.

What cannot be caught: the cell count is the only check the format allows. A
lost or added byte, a run count changed, or a cell turned into ``00`` or ``FF``
almost always changes the count and is caught; but every byte value 1 .. 254 is
a possible reading (the 10-bit ADC shifted right by 2), so a cell value changed
into another one gives a frame with a wrong value. Under random bit flips about
two in five corrupted frames pass this way (``tests/drivers/decode_attack.py``
measures it). Nor can one frame be judged against its neighbours: a foot
landing changes a cell from 0 to the rail between two scans, and a single
loaded sensel is a real reading.
"""

import numpy as np

from ._checks import DecoderStats
from ._frame import Frame, FrameParser, _check_shape

#: ``(rows, cols)`` of the Sensitronics demo array when the caller gives none.
DEFAULT_SHAPE = (10, 16)
#: The byte that ends a frame.
END = 0xFF
#: Largest cell value the format can carry (255 would read as the end of a frame).
MAX_VALUE = 254
#: Longest zero run one ``00 n`` pair can carry.
MAX_RUN = 254


def encode_frame(counts, *, seq=None, t_device_us=None, flags=0):
    """Return one scan as the Sensitronics firmware sends it.

    Values are clamped to 0 .. 254 as the firmware does (255 and above become
    254, negative values 0), so the ``FF`` that ends the frame never occurs
    inside it. Runs of zero cells become ``00 n`` pairs, at most 254 cells each.

    Parameters
    ----------
    counts : array_like of int, shape (rows, cols)
        Sensor counts, row-major.
    seq : int | None
        Accepted for the common encoder signature and ignored: the format has no
        scan counter.
    t_device_us : int | None
        Accepted and ignored: the format has no device clock.
    flags : int
        Accepted and ignored: the format has no flags.

    Returns
    -------
    frame : bytes
        The cell bytes and zero runs, then ``FF``.

    Examples
    --------
    >>> import numpy as np
    >>> from plantar.drivers import sensitronics
    >>> sensitronics.encode_frame(np.zeros((10, 16), int)).hex(" ")
    '00 a0 ff'
    >>> sensitronics.encode_frame([[7, 0, 0, 300]]).hex(" ")
    '07 00 02 fe ff'
    """
    del seq, t_device_us, flags
    counts = np.asarray(counts)
    if counts.ndim != 2:
        raise ValueError(f"counts must be 2-D (rows, cols), got shape {counts.shape}")
    _check_shape(counts.shape)
    cells = np.clip(counts, 0, MAX_VALUE).astype(np.uint8).ravel()
    zero = cells == 0
    # Bytes each cell contributes: 1 for a value, 2 for the first zero of every
    # piece of at most MAX_RUN zeros in a run, 0 for the other zeros.
    size = (~zero).astype(np.int64)
    zero_at = np.flatnonzero(zero)
    if zero_at.size:
        edges = np.diff(np.concatenate(([0], zero.view(np.int8), [0])))
        starts = np.flatnonzero(edges == 1)
        ends = np.flatnonzero(edges == -1)
        run_of = np.repeat(np.arange(starts.size), ends - starts)
        piece_head = (zero_at - starts[run_of]) % MAX_RUN == 0
        heads = zero_at[piece_head]
        size[heads] = 2
    offset = np.cumsum(size) - size
    out = np.zeros(int(size.sum()) + 1, np.uint8)
    out[offset[~zero]] = cells[~zero]
    if zero_at.size:
        out[offset[heads] + 1] = np.minimum(ends[run_of][piece_head] - heads, MAX_RUN)
    out[-1] = END
    return out.tobytes()


def decode_body(body, n_cells):
    """Expand the bytes of one frame (without its ``FF``) into cells.

    Parameters
    ----------
    body : bytes-like
        Cell values 1 .. 254 and ``00 n`` zero runs.
    n_cells : int
        The number of cells the frame must have.

    Returns
    -------
    cells : numpy.ndarray of uint16 | None
        The cells, or None if the body is malformed (a ``00`` without a count,
        a zero count, an ``FF``) or does not give exactly ``n_cells`` cells.

    Examples
    --------
    >>> from plantar.drivers import sensitronics
    >>> sensitronics.decode_body(bytes.fromhex("07 00 02 fe"), 4)
    array([  7,   0,   0, 254], dtype=uint16)
    >>> sensitronics.decode_body(bytes.fromhex("07 00 00 fe"), 4) is None
    True
    """
    raw = np.frombuffer(bytes(body), np.uint8)
    if raw.size == 0 or raw.size > 2 * n_cells or (raw == END).any():
        return None
    zero_at = np.flatnonzero(raw == 0)
    if zero_at.size == 0:
        return raw.astype(np.uint16) if raw.size == n_cells else None
    if zero_at[-1] == raw.size - 1:
        return None
    runs = raw[zero_at + 1]
    # A count is never 0, so a zero byte is always a marker, never a count.
    if not runs.all():
        return None
    if raw.size - 2 * zero_at.size + int(runs.sum(dtype=np.int64)) != n_cells:
        return None
    repeats = np.ones(raw.size, np.int64)
    repeats[zero_at] = runs
    repeats[zero_at + 1] = 0
    return np.repeat(raw, repeats).astype(np.uint16)


class SensitronicsParser(FrameParser):
    """Decoder of the ``sensitronics-zrle`` stream.

    Parameters
    ----------
    shape : tuple of int | None
        ``(rows, cols)`` of the array; None for the demo array's 10 x 16. The
        stream does not carry its shape, so a frame of any other cell count is
        dropped.

    Examples
    --------
    >>> import numpy as np
    >>> from plantar.drivers import sensitronics
    >>> parser = sensitronics.SensitronicsParser(shape=(2, 3))
    >>> stream = b"\\x05\\x06\\xff" + sensitronics.encode_frame([[0, 9, 0], [0, 0, 254]])
    >>> frames = parser.feed(stream[:4]) + parser.feed(stream[4:])
    >>> frames[0].counts.tolist(), frames[0].seq
    ([[0, 9, 0], [0, 0, 254]], None)
    >>> parser.stats.bad_lengths, parser.stats.junk_bytes
    (1, 3)
    """

    name = "sensitronics-zrle"

    def __init__(self, shape=None):
        super().__init__(shape)
        self.stats = DecoderStats()
        if self.shape is None:
            self.shape = DEFAULT_SHAPE
        self._buffer = bytearray()
        self._discarding = False

    def reset(self):
        """Forget any partial frame (after a reconnect); keep the counters."""
        self._buffer.clear()
        self._discarding = False

    def pending(self):
        """Return the number of bytes held while waiting for the end of a frame."""
        return len(self._buffer)

    def _feed(self, data, t_host_ns):
        buf = self._buffer
        buf += data
        stats = self.stats
        rows, cols = self.shape
        n_cells = rows * cols
        frames = []
        pos = 0
        while True:
            end = buf.find(b"\xff", pos)
            if end < 0:
                break
            cells = None if self._discarding else decode_body(buf[pos:end], n_cells)
            if cells is None:
                stats.reject("cells")
                stats.junk_bytes += end + 1 - pos
            else:
                frames.append(Frame(cells.reshape(rows, cols), None, None, t_host_ns, 0))
            self._discarding = False
            pos = end + 1
        if self._discarding or len(buf) - pos > 2 * n_cells:
            # No valid body is this long: drop it now, close it at the next FF.
            stats.junk_bytes += len(buf) - pos
            pos = len(buf)
            self._discarding = True
        del buf[:pos]
        return frames
