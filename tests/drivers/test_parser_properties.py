"""Properties every decoder in the registry must have, whatever bytes it is fed.

(a) ``feed`` never raises, and the frames, counters and held bytes do not depend
    on how the stream is cut into chunks;
(b) a valid stream split at any boundary gives exactly the frames of the whole;
(c) valid frames among junk are recovered;
(d) every byte fed is a frame's (or a packet's), junk, or pending;
(e) every refused frame or packet is counted once, under its reason;
(f) the checks that go beyond the length: a corrupt PMAT/1 header never holds
    later frames back beyond its bound, a Kitronyx line misspelled on the wire
    is refused, and csv-rows learns its shape through any junk at connect.
"""

import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from plantar.drivers import PROTOCOLS, pmat1

NAMES = sorted(PROTOCOLS)
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Junk after which the next frame starts cleanly, and how many frames after it may be lost.
SYNC = {"pmat1": (b"", 0), "sensitronics-zrle": (b"", 1), "kitronyx-csv": (b"\n", 0), "csv-rows": (b"\n", 1)}
BANNERS = [b"Booting v1.2...\r\n", b"Snowboard ready\r\n", b"ERR: adc timeout\n", b"\r\n", b"\xfe\x80 noise!\n"]


def test_every_registered_protocol_is_covered():
    assert set(SYNC) == set(PROTOCOLS)


# --------------------------------------------------------------------------------------
# helpers


def _key(frame):
    counts = frame.counts
    return (counts.shape, counts.dtype.str, counts.tobytes(), frame.seq, frame.t_device_us, frame.flags, frame.t_host_ns)


def _feed(parser, stream, cuts=()):
    """Feed ``stream`` cut at ``cuts``; return the frames' keys."""
    frames = []
    start = 0
    for cut in sorted(cuts) + [len(stream)]:
        frames += parser.feed(stream[start:cut], t_host_ns=0)
        start = cut
    return [_key(f) for f in frames]


def _state(parser):
    return parser.stats, parser.pending()


def _frame(draw, protocol, shape):
    """Draw one valid frame of ``shape``: its expected key and its encoded bytes."""
    top = protocol.max_count
    values = st.one_of(st.just(0), st.integers(0, top), st.sampled_from([1, top]))
    counts = draw(hnp.arrays(np.int64, shape, elements=values))
    seq = draw(st.integers(0, 2**32 - 1)) if protocol.has_seq else None
    t_us = draw(st.integers(0, 2**64 - 1)) if protocol.has_clock else None
    encoded = protocol.encode(counts, seq=seq or 0, t_device_us=t_us or 0, flags=0)
    return (shape, "<u2", counts.astype(np.uint16).tobytes(), seq, t_us, 0, 0), encoded


@st.composite
def _frames(draw, protocol, *, min_frames=1, max_frames=4):
    """A small shape and valid frames of it: ``(shape, [(key, encoded), ...])``."""
    shape = (draw(st.integers(1, 4)), draw(st.integers(1, 5)))
    n = draw(st.integers(min_frames, max_frames))
    return shape, [_frame(draw, protocol, shape) for _ in range(n)]


def _pmat1_packets():
    return st.one_of(
        st.dictionaries(st.sampled_from(["vendor", "model", "rows"]), st.integers(0, 99)).map(pmat1.encode_info),
        st.binary(max_size=20).map(lambda text: pmat1.encode_packet(pmat1.LOG, 0, text)),
    )


def _safe_junk(name, shape):
    """Junk that cannot make or spoil a frame of this format (see each format's rules)."""
    if name == "pmat1":
        return st.binary(min_size=1, max_size=40)  # streams with a stray "PMAT" are rejected below
    if name == "sensitronics-zrle":
        # A run marker without its count before the FF: never a frame; FF resynchronises.
        return st.binary(max_size=40).map(lambda b: b.replace(b"\xff", b"") + b"\x00\xff")
    first = st.sampled_from(b"ABCabcxyz!.:#").map(lambda c: bytes([c]))
    rest = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30).map(str.encode)
    lines = st.tuples(first, rest, st.sampled_from([b"\n", b"\r\n"])).map(b"".join)
    junk = st.one_of(lines, st.sampled_from(BANNERS))
    if name == "kitronyx-csv":
        n = shape[0] * shape[1]
        wrong = st.lists(st.integers(0, 255), min_size=1, max_size=2 * n).filter(lambda v: len(v) != n)
        return st.one_of(
            junk, wrong.map(lambda v: ",".join(map(str, v)).encode() + b"\r\n"), _misspelled_line(n)
        )
    # csv-rows: a scan cut short by a reboot: rows, then the banner.
    rows = st.lists(st.lists(st.integers(0, 65535), min_size=1, max_size=6), max_size=5)
    cut = st.tuples(rows, st.sampled_from(BANNERS[:3])).map(
        lambda rb: b"".join(",".join(map(str, r)).encode() + b"\r\n" for r in rb[0]) + rb[1]
    )
    return st.one_of(junk, cut)


@st.composite
def _misspelled_line(draw, n):
    """A line of ``n`` values 0 .. 255 spelled as the Snowboard never prints one."""
    tokens = [str(v) for v in draw(st.lists(st.integers(0, 255), min_size=n, max_size=n))]
    at = draw(st.integers(0, n - 1))
    how = draw(st.sampled_from(["zero", "space", "comma", "range"]))
    if how == "zero":
        tokens[at] = "0" + tokens[at]
    elif how == "space":
        tokens[at] = draw(st.sampled_from([" ", "\t"])) + tokens[at]
    elif how == "range":
        tokens[at] = str(draw(st.integers(256, 999)))
    line = ",".join(tokens) + ("," if how == "comma" else "")
    return line.encode() + b"\r\n"


def _no_stray_magic(stream, junk_spans):
    """True if no b"PMAT" starts inside junk (the PMAT/1 property holds for such junk)."""
    at = stream.find(b"PMAT")
    while at >= 0:
        if any(start <= at < end for start, end in junk_spans):
            return False
        at = stream.find(b"PMAT", at + 1)
    return True


@st.composite
def _mixed_stream(draw, name, *, truncate=True):
    """Valid frames (and PMAT/1 packets) among safe junk, and maybe a truncated frame at the end.

    Returns the shape to give the parser, the stream, the expected frame keys, the
    bytes of those frames and packets, the junk bytes, the length of the truncated
    frame, and the chunk cuts. A PMAT/1 parser gets no shape: the stream carries it
    (and a parser given a small shape rejects INFO and LOG packets longer than a frame).
    """
    protocol = PROTOCOLS[name]
    shape, frames = draw(_frames(protocol, max_frames=5))
    junk = _safe_junk(name, shape)
    pieces = []  # (kind, bytes, key)
    for key, encoded in frames:
        for _ in range(draw(st.integers(0, 2))):
            pieces.append(("junk", draw(junk), None))
        if name == "pmat1" and draw(st.booleans()):
            pieces.append(("packet", draw(_pmat1_packets()), None))
        pieces.append(("frame", encoded, key))
    if draw(st.booleans()):
        pieces.append(("junk", draw(junk), None))
    tail = b""
    if truncate and draw(st.booleans()):
        _, encoded = _frame(draw, protocol, shape)
        tail = encoded[: draw(st.integers(0, len(encoded) - 1))]
    stream = b""
    spans = []
    for kind, data, _ in pieces:
        if kind == "junk":
            spans.append((len(stream), len(stream) + len(data)))
        stream += data
    stream += tail
    if name == "pmat1":
        assume(_no_stray_magic(stream, spans))
    keys = [key for kind, _, key in pieces if kind == "frame"]
    good_bytes = sum(len(data) for kind, data, _ in pieces if kind != "junk")
    junk_bytes = sum(len(data) for kind, data, _ in pieces if kind == "junk")
    cuts = draw(st.lists(st.integers(0, len(stream)), max_size=8))
    if name == "pmat1":
        shape = None
    return shape, stream, keys, good_bytes, junk_bytes, len(tail), cuts


@st.composite
def _any_stream(draw, name):
    """Arbitrary bytes, truncated valid streams, and concatenations of both; with chunk cuts."""
    protocol = PROTOCOLS[name]
    shape, frames = draw(_frames(protocol))
    valid = b"".join(encoded for _, encoded in frames)
    part = st.one_of(
        st.binary(max_size=60),
        st.integers(0, len(valid)).map(lambda n: valid[:n]),
        st.integers(0, len(valid)).map(lambda n: valid[n:]),
        st.just(valid),
        st.sampled_from(BANNERS),
    )
    stream = b"".join(draw(st.lists(part, min_size=1, max_size=5)))
    if draw(st.booleans()):  # flip a few bits
        data = bytearray(stream)
        for at in draw(st.lists(st.integers(0, max(len(data) - 1, 0)), max_size=3)):
            if data:
                data[at] ^= 1 << draw(st.integers(0, 7))
        stream = bytes(data)
    cuts = draw(st.lists(st.integers(0, len(stream)), max_size=10))
    return shape, stream, cuts, draw(st.booleans())


# --------------------------------------------------------------------------------------
# (a) never raises; the result does not depend on the chunking


@pytest.mark.parametrize("name", NAMES)
@SETTINGS
@given(data=st.data())
def test_any_bytes_in_any_chunking_never_raise(name, data):
    shape, stream, cuts, give_shape = data.draw(_any_stream(name))
    protocol = PROTOCOLS[name]
    whole = protocol.parser(shape=shape if give_shape else None)
    chunked = protocol.parser(shape=shape if give_shape else None)
    expected = _feed(whole, stream)
    assert _feed(chunked, stream, cuts) == expected
    assert _state(chunked) == _state(whole)
    stats = whole.stats
    assert stats.bytes_in == len(stream)
    assert 0 <= stats.junk_bytes and 0 <= whole.pending() and stats.junk_bytes + whole.pending() <= len(stream)
    if not expected and not stats.packets:
        assert stats.junk_bytes + whole.pending() == len(stream)
    for shape_, dtype, *_ in expected:
        assert dtype == "<u2" and len(shape_) == 2
        if whole.shape is not None:
            assert shape_ == whole.shape
    if not protocol.has_seq:
        assert all(seq is None and t_us is None and flags == 0 for *_, seq, t_us, flags, _ in expected)
    # (e) every refusal is counted once, under a reason.
    assert sum(stats.rejects.values()) == stats.errors()
    # A byte-by-byte feed also agrees (on a short prefix, to keep the run quick).
    prefix = stream[:120]
    one = protocol.parser(shape=shape if give_shape else None)
    ref = protocol.parser(shape=shape if give_shape else None)
    assert _feed(one, prefix, range(1, len(prefix))) == _feed(ref, prefix)
    assert _state(one) == _state(ref)


# --------------------------------------------------------------------------------------
# (b) a valid stream split at any boundary gives the frames of the whole


@pytest.mark.parametrize("name", NAMES)
@settings(SETTINGS, max_examples=60)
@given(data=st.data())
def test_valid_stream_split_anywhere_gives_the_same_frames(name, data):
    protocol = PROTOCOLS[name]
    shape, frames = data.draw(_frames(protocol, max_frames=3))
    stream = b"".join(encoded for _, encoded in frames)
    keys = [key for key, _ in frames]
    whole = protocol.parser(shape=shape)
    assert _feed(whole, stream) == keys
    assert whole.stats.junk_bytes == 0 and whole.pending() == 0 and whole.stats.errors() == 0
    for cut in range(len(stream) + 1):
        parser = protocol.parser(shape=shape)
        assert _feed(parser, stream, [cut]) == keys, cut
        assert _state(parser) == _state(whole)
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=12))
    parser = protocol.parser(shape=shape)
    assert _feed(parser, stream, cuts) == keys
    assert _state(parser) == _state(whole)


# --------------------------------------------------------------------------------------
# (c) frames among junk are recovered


@pytest.mark.parametrize("name", NAMES)
@SETTINGS
@given(data=st.data())
def test_frames_after_arbitrary_junk_are_recovered(name, data):
    """After any junk and the format's resync (LF for lines, nothing else), frames come through.

    The formats without a sync pattern may lose the first frame: sensitronics-zrle
    the frame whose FF first follows the junk, csv-rows the frame whose separator
    does. PMAT/1 loses none, for junk without b"PMAT".
    """
    protocol = PROTOCOLS[name]
    sync, lost = SYNC[name]
    shape, frames = data.draw(_frames(protocol, min_frames=lost + 1, max_frames=4))
    junk = data.draw(st.one_of(st.binary(max_size=80), st.sampled_from(BANNERS)))
    stream = junk + sync + b"".join(encoded for _, encoded in frames)
    if name == "pmat1":
        assume(stream.find(b"PMAT") == len(junk))
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=6))
    parser = protocol.parser(shape=shape)
    got = _feed(parser, stream, cuts)
    want = [key for key, _ in frames][lost:]
    assert len(got) >= len(want)
    assert got[len(got) - len(want) :] == want
    assert parser.pending() == 0


@pytest.mark.parametrize("name", NAMES)
@settings(SETTINGS, max_examples=150)
@given(data=st.data())
def test_frames_among_junk_are_all_recovered(name, data):
    """Junk lines (banners, logs, blank lines) for the line formats, junk ending in FF for
    sensitronics-zrle, junk without b"PMAT" for PMAT/1: between frames, it costs no frame."""
    shape, stream, keys, _, junk_bytes, _, cuts = data.draw(_mixed_stream(name, truncate=False))
    parser = PROTOCOLS[name].parser(shape=shape)
    assert _feed(parser, stream, cuts) == keys
    # Only a PMAT/1 parser holds back junk: up to 3 bytes that may start a magic.
    assert parser.stats.junk_bytes + parser.pending() == junk_bytes
    assert parser.pending() <= (3 if name == "pmat1" else 0)


def test_a_boot_banner_costs_the_line_formats_nothing():
    for name in ("kitronyx-csv", "csv-rows"):
        protocol = PROTOCOLS[name]
        frame = protocol.encode(np.arange(6).reshape(2, 3), seq=0, t_device_us=0, flags=0)
        parser = protocol.parser(shape=(2, 3))
        frames = parser.feed(b"Booting v1.2...\r\n" + frame + b"Booting v1.2...\r\n" + frame)
        assert len(frames) == 2 and parser.stats.junk_bytes == 34 and parser.stats.errors() == 0


# --------------------------------------------------------------------------------------
# (d) every byte is accounted for


@pytest.mark.parametrize("name", NAMES)
@settings(SETTINGS, max_examples=150)
@given(data=st.data())
def test_every_byte_is_a_frames_junk_or_pending(name, data):
    shape, stream, keys, good_bytes, _, n_tail, cuts = data.draw(_mixed_stream(name))
    parser = PROTOCOLS[name].parser(shape=shape)
    assert _feed(parser, stream, cuts) == keys
    stats = parser.stats
    packet_bytes = sum(20 + len(p.body) for p in getattr(parser, "packets", ()))
    assert stats.packets == len(getattr(parser, "packets", ()))
    assert stats.bytes_in == len(stream)
    assert stats.bytes_in == good_bytes + stats.junk_bytes + parser.pending()
    frame_bytes = good_bytes - packet_bytes
    assert stats.bytes_in == frame_bytes + packet_bytes + stats.junk_bytes + parser.pending()
    # A truncated last frame is held, not thrown away.
    assert parser.pending() >= n_tail
    assert sum(stats.rejects.values()) == stats.errors()


# --------------------------------------------------------------------------------------
# (f) the checks beyond the length


@settings(SETTINGS, max_examples=100)
@given(
    ptype=st.integers(0, 255),
    version=st.sampled_from([1, 1, 1, 2]),
    n_body=st.one_of(st.integers(0, 2**32 - 1), st.integers(0, 5000)),
    give_shape=st.booleans(),
    read=st.integers(1, 700),
    n_frames=st.integers(20, 60),
)
def test_a_corrupt_pmat1_header_never_holds_frames_back_beyond_its_bound(
    ptype, version, n_body, give_shape, read, n_frames
):
    """Any 16-byte header before good frames: every frame comes out, and while waiting the
    decoder holds at most the largest packet the shape (or 4 KiB for another type) allows."""
    shape = (8, 8)
    packets = [pmat1.encode_frame(np.full(shape, k + 1), seq=k, t_device_us=k) for k in range(n_frames)]
    fake = b"PMAT" + bytes([version, ptype]) + b"\0\0" + struct.pack("<II", n_body, 0)
    stream = fake + b"".join(packets)
    parser = pmat1.Pmat1Parser(shape=shape if give_shape else None)
    seqs = []
    bound = 20 + max(pmat1.MAX_REPLY_BODY_BYTES, 16 + 4 * shape[0] * shape[1])
    for start in range(0, len(stream), read):
        seqs += [f.seq for f in parser.feed(stream[start : start + read])]
        assert parser.pending() <= bound + read
    held = bound + read >= len(stream) - len(fake)  # the fake may still be waited for at the end
    if not held or parser.pending() == 0:
        assert seqs == list(range(n_frames))
    assert parser.stats.errors() == sum(parser.stats.rejects.values()) <= 1


@settings(SETTINGS, max_examples=100)
@given(data=st.data())
def test_kitronyx_refuses_every_misspelled_line(data):
    shape = (data.draw(st.integers(1, 4)), data.draw(st.integers(1, 5)))
    protocol = PROTOCOLS["kitronyx-csv"]
    (key, good), = [_frame(data.draw, protocol, shape)]
    bad = data.draw(_misspelled_line(shape[0] * shape[1]))
    parser = protocol.parser(shape=shape)
    assert _feed(parser, good + bad + good) == [key, key]
    assert parser.stats.implausible == 1 and parser.stats.errors() == 1
    assert parser.stats.junk_bytes == len(bad)


@settings(SETTINGS, max_examples=100)
@given(data=st.data())
def test_csv_rows_learns_its_shape_through_junk_at_connect(data):
    """Junk lines, stray rows and stray frames of other shapes, a blank line, then frames:
    without a given shape every frame is delivered once three have taught the shape."""
    protocol = PROTOCOLS["csv-rows"]
    shape, frames = data.draw(_frames(protocol, min_frames=3, max_frames=6))
    stray_rows = st.lists(st.lists(st.integers(0, 65535), min_size=1, max_size=6), min_size=1, max_size=4)
    stray = stray_rows.map(lambda rows: b"".join(",".join(map(str, r)).encode() + b"\n" for r in rows) + b"\n")
    junk = data.draw(st.lists(st.one_of(_safe_junk("csv-rows", shape), stray), max_size=6))
    stream = b"".join(junk) + b"\r\n" + b"".join(encoded for _, encoded in frames)
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=6))
    parser = protocol.parser(shape=None)
    got = _feed(parser, stream, cuts)
    want = [key for key, _ in frames]
    assert parser.shape == shape
    # Stray frames of the right shape are frames too; the real ones all come last.
    assert got[len(got) - len(want) :] == want
    assert parser.pending() == 0
