"""PMAT/1, the reference wire protocol: packet encoders and the decoder.

Every packet is ``"PMAT"``, version, type, a reserved u16, the body length, a
sequence number, the body and a CRC-32 (``zlib.crc32``) over everything before it;
all integers little-endian. FRAME bodies carry the device clock, the shape, an
encoding (u8 cells, u16 cells or u16 zero-run) and flags. The specification,
with golden vectors, is ``PROTOCOL-PMAT1.md`` in the project's shared documents;
``drivers/pmat1/`` holds the device-side copy.

The decoder finds packets with :meth:`bytes.find`, checks them with
:func:`zlib.crc32` and expands cells with numpy, so its cost per frame is a few
calls, whatever the frame's size.
"""

import collections
import json
import struct
import zlib

import numpy as np

from ._checks import DecoderStats
from ._frame import Frame, FrameParser

MAGIC = b"PMAT"
VERSION = 1
HEADER = struct.Struct("<4sBBHII")  # magic, version, type, reserved, body length, seq
FRAME_HEADER = struct.Struct("<QHHBBH")  # t_dev_us, rows, cols, encoding, flags, reserved
CRC = struct.Struct("<I")
#: A body longer than this is corruption (the specification's limit).
MAX_BODY_BYTES = 16 * 1024 * 1024

# Packet types, device -> host
FRAME = 0x01
INFO = 0x02
ACK = 0x03
LOG = 0x04
PONG = 0x05
# Packet types, host -> device
GET_INFO = 0x81
START = 0x82
STOP = 0x83
PING = 0x84

#: Packet types this version defines; a header of any other type is corruption.
TYPES = (FRAME, INFO, ACK, LOG, PONG, GET_INFO, START, STOP, PING)
#: Longest body of a packet other than FRAME this decoder accepts (INFO, LOG, replies, commands).
MAX_REPLY_BODY_BYTES = 4096

#: Cell encodings of a FRAME body.
ENCODING_U8 = 1
ENCODING_U16 = 2
ENCODING_ZERO_RUN = 3
ENCODINGS = (ENCODING_U8, ENCODING_U16, ENCODING_ZERO_RUN)

_U16 = np.dtype("<u2")
# Bodies must be longer than this, per type: a FRAME needs its 16-byte head and a cell.
_SHORTEST = [-1] * 256
_SHORTEST[FRAME] = 16

#: A packet other than a FRAME: its ``type``, ``seq``, raw ``body``, receive time, and how many of
#: the frames the same ``feed`` returned came before it in the stream (``frames_before``).
Packet = collections.namedtuple("Packet", "type seq body t_host_ns frames_before", defaults=(0,))


def encode_packet(packet_type, seq, body=b""):
    """Return one PMAT/1 packet: header, body and CRC-32.

    Parameters
    ----------
    packet_type : int
        One of the type codes (``FRAME``, ``INFO``, ... ``PING``).
    seq : int
        Scan counter for FRAME, request id for commands (0 .. 2**32 - 1).
    body : bytes-like
        The body.

    Returns
    -------
    packet : bytes

    Examples
    --------
    >>> from plantar.drivers import pmat1
    >>> pmat1.encode_packet(pmat1.GET_INFO, 1).hex(" ")
    '50 4d 41 54 01 81 00 00 00 00 00 00 01 00 00 00 75 00 e4 92'
    """
    head = HEADER.pack(MAGIC, VERSION, packet_type, 0, len(body), seq & 0xFFFFFFFF)
    crc = zlib.crc32(body, zlib.crc32(head))
    return b"".join((head, body, CRC.pack(crc)))


def encode_frame(counts, *, seq, t_device_us, encoding=ENCODING_ZERO_RUN, flags=0):
    """Return the FRAME packet of one scan.

    Parameters
    ----------
    counts : array_like of int, shape (rows, cols)
        Sensor counts, 0 .. 255 for ``ENCODING_U8``, 0 .. 65535 otherwise.
    seq : int
        The device's scan counter.
    t_device_us : int
        Device clock at scan start, in microseconds.
    encoding : {1, 2, 3}
        ``ENCODING_U8``, ``ENCODING_U16`` or ``ENCODING_ZERO_RUN``.
    flags : int
        ``FLAG_DEVICE_OVERRUN`` and ``FLAG_SATURATED`` bits.

    Returns
    -------
    packet : bytes

    Examples
    --------
    >>> import numpy as np
    >>> from plantar.drivers import pmat1
    >>> packet = pmat1.encode_frame(np.array([[5, 0, 0], [0, 0, 7]]), seq=8,
    ...                             t_device_us=2_000_000)
    >>> len(packet), packet[-4:].hex(" ")
    (44, '64 4d 33 e0')
    """
    counts = np.asarray(counts)
    if counts.ndim != 2:
        raise ValueError(f"counts must be 2-D (rows, cols), got shape {counts.shape}")
    rows, cols = counts.shape
    if encoding == ENCODING_U8:
        if counts.size and (counts.min() < 0 or counts.max() > 255):
            raise ValueError("counts must lie in 0 .. 255 for encoding 1 (u8)")
        payload = counts.astype(np.uint8).tobytes()
    elif encoding == ENCODING_U16:
        payload = counts.astype(_U16).tobytes()
    elif encoding == ENCODING_ZERO_RUN:
        payload = encode_zero_run(counts.ravel())
    else:
        raise ValueError(f"encoding must be one of {ENCODINGS}, got {encoding!r}")
    head = FRAME_HEADER.pack(t_device_us, rows, cols, encoding, flags, 0)
    return encode_packet(FRAME, seq, head + payload)


def encode_info(info):
    """Return the INFO packet carrying a device description.

    Parameters
    ----------
    info : dict
        ``vendor``, ``model``, ``serial``, ``firmware``, ``rows``, ``cols``,
        ``adc_bits``, ``pitch_mm`` ([x, y]), ``rate_hz``, ``encodings``.

    Returns
    -------
    packet : bytes

    Examples
    --------
    >>> from plantar.drivers import pmat1
    >>> pmat1.encode_info({"rows": 2, "cols": 3})[:6]
    b'PMAT\\x01\\x02'
    """
    return encode_packet(INFO, 0, json.dumps(info, separators=(",", ":")).encode())


def encode_start(request_id, *, rate_hz, encoding=ENCODING_ZERO_RUN):
    """Return the host's START command.

    Parameters
    ----------
    request_id : int
        Echoed by the device's ACK.
    rate_hz : int
        Scan rate to run at, in Hz (1 .. 65535).
    encoding : {1, 2, 3}
        Cell encoding of the FRAMEs to send.

    Returns
    -------
    packet : bytes

    Examples
    --------
    >>> from plantar.drivers import pmat1
    >>> len(pmat1.encode_start(2, rate_hz=100))
    23
    """
    return encode_packet(START, request_id, struct.pack("<HB", int(rate_hz), encoding))


def encode_zero_run(cells):
    """Encode cells as PMAT/1 zero-run words (encoding 3).

    A non-zero cell is one u16 word; a run of zero cells is a zero word followed
    by the run's length (runs longer than 65535 are split).

    Parameters
    ----------
    cells : array_like of int, 1-D
        Cell values 0 .. 65535.

    Returns
    -------
    payload : bytes

    Examples
    --------
    >>> from plantar.drivers import pmat1
    >>> pmat1.encode_zero_run([5, 0, 0, 0, 0, 7]).hex(" ")
    '05 00 00 00 04 00 07 00'
    """
    words, _ = _encode_zero_runs(np.asarray(cells).reshape(1, -1))
    return words.tobytes()


def _encode_zero_runs(cells):
    """Encode the frames of ``cells`` (n_frames, n_cells) as zero-run words, all in one pass.

    Returns the words of all frames, one after the other (little-endian u16),
    and the number of words of each frame. Runs never cross from one frame to
    the next; each frame's words are exactly :func:`encode_zero_run`'s.
    """
    cells = np.asarray(cells).astype(_U16, copy=False)
    if cells.size == 0:
        return np.empty(0, _U16), np.zeros(cells.shape[0], np.int64)
    zero = cells == 0
    # A token (one word, or a zero word and a count) starts at each non-zero cell, at each
    # zero cell after a non-zero one and at each frame's first cell; it lasts to the next.
    token = ~zero
    token[:, 1:] |= zero[:, 1:] & token[:, :-1]
    token[:, 0] = True
    at = np.flatnonzero(token)
    length = np.diff(at, append=zero.size)
    is_run = zero.reshape(-1)[at]
    if is_run.any() and length[is_run].max() > 65535:  # a count says at most 65535: split longer runs
        long = is_run & (length > 65535)
        token.reshape(-1)[np.concatenate([np.arange(a + 65535, a + n, 65535)
                                          for a, n in zip(at[long].tolist(), length[long].tolist())])] = True
        at = np.flatnonzero(token)
        length = np.diff(at, append=zero.size)
        is_run = zero.reshape(-1)[at]
    size = 1 + is_run
    word_at = np.cumsum(size) - size
    out = np.empty(int(size.sum()), _U16)
    out[word_at] = cells.reshape(-1)[at]
    out[word_at[is_run] + 1] = length[is_run]
    n_words = np.count_nonzero(token, axis=1) + np.count_nonzero(token & zero, axis=1)
    return out, n_words


def decode_zero_run(payload, n_cells):
    """Expand PMAT/1 zero-run words (encoding 3) into cells.

    Parameters
    ----------
    payload : bytes-like
        The words, u16 little-endian.
    n_cells : int
        The number of cells the frame must have.

    Returns
    -------
    cells : numpy.ndarray of uint16 | None
        The cells, or None if the words are malformed (odd length, a zero word
        without a count, a zero count) or do not give exactly ``n_cells`` cells.

    Examples
    --------
    >>> from plantar.drivers import pmat1
    >>> pmat1.decode_zero_run(bytes.fromhex("0500000004000700"), 6)
    array([5, 0, 0, 0, 0, 7], dtype=uint16)
    """
    payload = bytes(payload)
    if len(payload) % 2:
        return None
    flat, bad = _expand_zero_runs(payload, [len(payload)], [int(n_cells)])
    return None if bad[0] else flat


class Pmat1Parser(FrameParser):
    """Decoder of the PMAT/1 stream.

    FRAME packets become :class:`Frame` objects; the other packets (INFO, ACK,
    LOG, PONG, or commands when listening to a host) are appended to
    :attr:`packets` for the session to read.

    Parameters
    ----------
    shape : tuple of int | None
        ``(rows, cols)`` the device announced (in its INFO). When given, a FRAME
        of another shape, or a FRAME body longer than that shape allows, is
        corruption.

    Notes
    -----
    Besides the version and the CRC, a header is checked before the decoder
    waits for its body, so that a corrupt header (or line noise that starts
    with the magic) never holds good packets back for long:

    - a type this version does not define is refused at once (reason
      ``"type"``);
    - a body longer than :data:`MAX_REPLY_BODY_BYTES` for a packet other than
      FRAME, or, for a FRAME, longer than 16 + 4 * rows * cols bytes for the
      known shape (16 MiB when no shape is known) or shorter than 17 bytes, is
      refused at once (``"length"``);
    - as soon as the 16 bytes that declare a FRAME's shape and encoding have
      arrived, a body length that shape and encoding cannot have (not exactly
      rows * cols bytes for u8 or 2 * rows * cols for u16; odd, or outside
      2 .. 4 * rows * cols bytes of zero-run words), zero cells, or another
      shape than the known one is refused (``"length"``), without waiting for
      the rest.

    After a refusal the search for the magic resumes at the byte after it. So
    while a packet is incomplete the decoder holds at most 36 + 4 * rows * cols
    bytes (the largest FRAME of the known shape, or of the shape the FRAME
    declares when none is known) or 4116 bytes (another packet), whichever is
    larger. Refusals are counted by reason in ``stats.rejects`` (``"version"``,
    ``"type"``, ``"length"``, ``"crc"``, ``"shape"``, ``"cells"``).

    Attributes
    ----------
    packets : collections.deque of Packet
        Valid non-FRAME packets, oldest first; the caller pops them.

    Examples
    --------
    >>> import numpy as np
    >>> from plantar.drivers import pmat1
    >>> parser = pmat1.Pmat1Parser()
    >>> stream = b"boot\\r\\n" + pmat1.encode_frame(np.eye(2, dtype=int), seq=3, t_device_us=0)
    >>> frames = parser.feed(stream[:10]) + parser.feed(stream[10:])
    >>> frames[0].seq, frames[0].counts.tolist(), parser.stats.junk_bytes
    (3, [[1, 0], [0, 1]], 6)
    """

    name = "pmat1"

    def __init__(self, shape=None):
        super().__init__(shape)
        self.stats = DecoderStats()
        self.packets = collections.deque()
        self._buffer = bytearray()
        # Largest body per packet type; -1: a type this version does not define.
        self._limits = [-1] * 256
        for ptype in TYPES:
            self._limits[ptype] = MAX_REPLY_BODY_BYTES

    def reset(self):
        """Forget any partial packet (after a reconnect); keep the counters."""
        self._buffer.clear()

    def pending(self):
        """Return the number of bytes held while waiting for the rest of a packet."""
        return len(self._buffer)

    def _max_body(self):
        if self.shape is None:
            return MAX_BODY_BYTES
        return min(MAX_BODY_BYTES, FRAME_HEADER.size + 4 * self.shape[0] * self.shape[1])

    def _frame_misfit(self, buf, start, n_body):
        """Why the FRAME at ``start`` cannot be one: ``"shape"``, ``"length"``, or None if it can.

        Its declared shape must be the known one, have cells, and allow its body
        length in its encoding.
        """
        rows, cols, encoding = FRAME_HEADER.unpack_from(buf, start + 16)[1:4]
        n_cells = rows * cols
        payload = n_body - FRAME_HEADER.size
        if self.shape is not None and (rows, cols) != self.shape:
            return "shape"
        if encoding == ENCODING_ZERO_RUN:
            fits = payload % 2 == 0 and 2 <= payload <= 4 * n_cells
        elif encoding == ENCODING_U16:
            fits = payload == 2 * n_cells
        else:
            fits = encoding == ENCODING_U8 and payload == n_cells
        return None if fits and n_cells else "length"

    def _feed(self, data, t_host_ns):
        buf = self._buffer
        buf += data
        stats = self.stats
        view = memoryview(buf)
        size = len(buf)
        pos = 0
        junk = 0
        limits, shortest = self._limits, _SHORTEST
        limits[FRAME] = self._max_body()  # the session sets the shape once the device tells it
        find, unpack, crc32, unpack_crc = buf.find, HEADER.unpack_from, zlib.crc32, CRC.unpack_from
        unpack_frame = FRAME_HEADER.unpack_from
        heads = []  # (payload start, payload end, seq, t_dev_us, rows, cols, encoding, flags)
        found = []  # other packets: (type, seq, body, FRAMEs found before it)
        try:
            while True:
                start = find(MAGIC, pos)
                if start < 0:
                    keep = max(pos, size - 3)  # a magic may be split across feeds
                    junk += keep - pos
                    pos = keep
                    break
                junk += start - pos
                pos = start
                if size - start < 16:
                    break
                _, version, ptype, _, n_body, seq = unpack(buf, start)
                if not (version == VERSION and shortest[ptype] < n_body <= limits[ptype]):
                    reason = "version" if version != VERSION else "type" if limits[ptype] < 0 else "length"
                    stats.reject(reason)
                    junk += 1
                    pos = start + 1
                    continue
                body_end = start + 16 + n_body
                if body_end + 4 > size:
                    # Incomplete: refuse a FRAME whose declared shape rules out its length now.
                    if ptype != FRAME or size - start < 32:
                        break
                    reason = self._frame_misfit(buf, start, n_body)
                    if reason is None:
                        break
                    stats.reject(reason)
                    junk += 1
                    pos = start + 1
                    continue
                if crc32(view[start:body_end]) != unpack_crc(buf, body_end)[0]:
                    # Counted as it would have been had it been refused while incomplete.
                    stats.reject((ptype == FRAME and self._frame_misfit(buf, start, n_body)) or "crc")
                    junk += 1
                    pos = start + 1
                    continue
                pos = body_end + 4
                if ptype == FRAME:
                    heads.append((start + 32, body_end, seq) + unpack_frame(buf, start + 16)[:5])
                else:
                    stats.packets += 1
                    found.append((ptype, seq, bytes(view[start + 16 : body_end]), len(heads)))
            stats.junk_bytes += junk
            frames, kept = self._frames(view, heads, t_host_ns) if heads else ([], [])
        finally:
            view.release()
        if found:
            decoded = [0]  # frames decoded from the first k FRAMEs found, k = 0, 1, ...
            for ok in kept:
                decoded.append(decoded[-1] + ok)
            for ptype, seq, body, k in found:
                self.packets.append(Packet(ptype, seq, body, t_host_ns, decoded[k]))
        del buf[:pos]
        return frames

    def _frames(self, view, heads, t_host_ns):
        """Decode the FRAME bodies found in one feed (their CRC holds), zero-run payloads all at once.

        Returns the frames, and for each body whether it became one.
        """
        shape, stats = self.shape, self.stats
        cells = [None] * len(heads)
        wire = [None] * len(heads)
        zero_run = []
        for i, (start, end, _, _, rows, cols, encoding, _) in enumerate(heads):
            n_cells = rows * cols
            if n_cells == 0 or (shape is not None and (rows, cols) != shape):
                continue
            if encoding == ENCODING_ZERO_RUN:
                if (end - start) % 2 == 0:
                    zero_run.append(i)
            elif encoding == ENCODING_U16 and end - start == 2 * n_cells:
                cells[i] = np.frombuffer(view[start:end], _U16).astype(np.uint16).reshape(rows, cols)
            elif encoding == ENCODING_U8 and end - start == n_cells:
                cells[i] = np.frombuffer(view[start:end], np.uint8).astype(np.uint16).reshape(rows, cols)
        if zero_run:
            chosen = [heads[i] for i in zero_run]
            payloads = b"".join([view[h[0] : h[1]] for h in chosen])
            sizes = [h[1] - h[0] for h in chosen]
            decoded = _split(*_expand_zero_runs(payloads, sizes, [h[4] * h[5] for h in chosen]), chosen)
            end = 0
            for i, size, c in zip(zero_run, sizes, decoded):
                cells[i] = c
                wire[i] = payloads[end : end + size]  # the recorder journals these words as they came
                end += size
        frames = []
        for head, c, words in zip(heads, cells, wire):
            if c is None:
                rows, cols = head[4:6]
                stats.reject("shape" if shape is not None and (rows, cols) != shape else "cells")
                stats.junk_bytes += head[1] - head[0] + 36
            else:
                frames.append(Frame(c, head[2], head[3], t_host_ns, head[7], 0, words))
        return frames, [c is not None for c in cells]


def _split(flat, bad, heads):
    """The (rows, cols) frames of ``heads`` in ``flat`` (None for each ``bad`` one): views of one array if one shape."""
    good = [h for h, b in zip(heads, bad.tolist()) if not b]
    shapes = {(h[4], h[5]) for h in good}
    if len(shapes) == 1:
        block = list(flat.reshape((len(good),) + shapes.pop()))
        if len(good) == len(heads):
            return block
    else:
        block, stop = [], 0
        for h in good:
            block.append(flat[stop : stop + h[4] * h[5]].reshape(h[4], h[5]))
            stop += h[4] * h[5]
    frames = iter(block)
    return [None if b else next(frames) for b in bad.tolist()]


def _expand_zero_runs(payloads, sizes, n_cells):
    """Expand the zero-run payloads of many frames, one after the other in ``payloads``, all at once.

    ``sizes`` are the payloads' lengths in bytes (even), ``n_cells`` the cells
    each frame must have. Returns the cells of the well-formed frames one after
    the other (uint16), and a boolean array: which frames are malformed (no
    words, a zero word without a count, a count of 0, or not exactly
    ``n_cells`` cells). A value word stands for one cell, a zero word for the
    run its count gives, the count for none: the running sum of these spans
    gives each word's last cell, where the values are dropped into an array of
    zeros, so the runs cost nothing but that array.
    """
    n_words = np.asarray(sizes, np.int64) // 2
    n_cells = np.asarray(n_cells, np.int64)  # one per frame, or one for all
    if not n_words.all():  # no words: nothing to expand (and no last word to look at)
        return _expand_some(payloads, n_words, n_cells, n_words != 0)
    words = np.frombuffer(payloads, _U16)
    last = np.cumsum(n_words) - 1  # index of each frame's last word
    zero = words == 0
    bad = zero[last]  # a frame that ends in a zero word: a run without its count
    if bad.any():
        zero[last[bad]] = False  # so that no run takes its count from the next frame
    zero_at = np.flatnonzero(zero)
    runs = words[zero_at + 1]
    if not runs.all():  # a run of no cells
        bad[np.searchsorted(last, zero_at[runs == 0])] = True
    span = np.ones(words.size, np.int64)  # the cells each word stands for: 1 for a value,
    span[zero_at] = runs  # the count for a run,
    span[zero_at + 1] = 0  # none for the count
    end = np.cumsum(span)  # each word's cells end here
    ends = end[last]  # and each frame's
    frame_cells = ends.copy()
    frame_cells[1:] -= ends[:-1]
    bad |= frame_cells != n_cells
    if bad.any():  # the frames' cells would be misplaced: expand the well-formed frames alone
        return _expand_some(payloads, n_words, n_cells, ~bad)
    values = words.copy()
    values[zero_at + 1] = 0  # a count lands on the last cell of its run: a zero
    cells = np.zeros(int(ends[-1]), np.uint16)
    end -= 1
    cells[end] = values  # a run's zero word lands on its last cell too
    return cells, bad


def _expand_some(payloads, n_words, n_cells, keep):
    """:func:`_expand_zero_runs` of the frames ``keep`` says (the others are malformed)."""
    bad = ~keep
    kept = np.flatnonzero(keep)
    if not kept.size:
        return np.zeros(0, np.uint16), bad
    n_cells = np.broadcast_to(n_cells, n_words.shape)
    ends = 2 * np.cumsum(n_words)
    view = memoryview(payloads)
    chosen = b"".join([view[e - 2 * n : e] for e, n in zip(ends[kept].tolist(), n_words[kept].tolist())])
    view.release()
    flat, bad[kept] = _expand_zero_runs(chosen, n_words[kept] * 2, n_cells[kept])
    return flat, bad


def parse_info(body):
    """Decode an INFO body into a dict.

    Parameters
    ----------
    body : bytes
        The body of an INFO packet (UTF-8 JSON object).

    Returns
    -------
    info : dict | None
        The device description, or None if the body is not a JSON object.

    Examples
    --------
    >>> from plantar.drivers import pmat1
    >>> pmat1.parse_info(b'{"rows": 2, "cols": 3}')
    {'rows': 2, 'cols': 3}
    """
    try:
        info = json.loads(bytes(body).decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return info if isinstance(info, dict) else None
