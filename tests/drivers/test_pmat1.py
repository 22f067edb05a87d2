"""PMAT/1: the specification's golden vectors, byte-exact, and every error path of the decoder."""

import struct
import zlib

import numpy as np
import pytest

from plantar.drivers import get_protocol, pmat1
from plantar.drivers.pmat1 import Pmat1Parser

# Copied from the golden vectors of PROTOCOL-PMAT1.md.
GOLDEN_U8 = bytes.fromhex(
    """
    50 4d 41 54 01 01 00 00 16 00 00 00 07 00 00 00 40 42 0f 00 00 00 00 00 02 00 03 00 01 00 00 00
    00 01 02 fa 00 ff 49 30 1a 9c
    """
)
GOLDEN_ZERO_RUN = bytes.fromhex(
    """
    50 4d 41 54 01 01 00 00 18 00 00 00 08 00 00 00 80 84 1e 00 00 00 00 00 02 00 03 00 03 00 00 00
    05 00 00 00 04 00 07 00 64 4d 33 e0
    """
)
CELLS_U8 = [[0x00, 0x01, 0x02], [0xFA, 0x00, 0xFF]]
CELLS_ZERO_RUN = [[5, 0, 0], [0, 0, 7]]


def _packet(version=1, ptype=pmat1.FRAME, n_body=None, seq=0, body=b""):
    """A packet with a correct CRC but any header fields."""
    n_body = len(body) if n_body is None else n_body
    head = struct.pack("<4sBBHII", b"PMAT", version, ptype, 0, n_body, seq)
    return head + body + struct.pack("<I", zlib.crc32(head + body))


def _frame_packet(payload, *, rows=2, cols=3, encoding=pmat1.ENCODING_ZERO_RUN, seq=0):
    body = struct.pack("<QHHBBH", 0, rows, cols, encoding, 0, 0) + payload
    return _packet(seq=seq, body=body)


def test_golden_vectors_are_42_and_44_bytes():
    assert (len(GOLDEN_U8), len(GOLDEN_ZERO_RUN)) == (42, 44)


def test_golden_vectors_encode_byte_exact():
    assert (
        pmat1.encode_frame(CELLS_U8, seq=7, t_device_us=1_000_000, encoding=pmat1.ENCODING_U8) == GOLDEN_U8
    )
    assert (
        pmat1.encode_frame(CELLS_ZERO_RUN, seq=8, t_device_us=2_000_000, encoding=pmat1.ENCODING_ZERO_RUN)
        == GOLDEN_ZERO_RUN
    )
    assert pmat1.encode_zero_run(np.ravel(CELLS_ZERO_RUN)) == bytes.fromhex("05 00 00 00 04 00 07 00")


def test_golden_vectors_decode():
    parser = Pmat1Parser()
    first, second = parser.feed(GOLDEN_U8 + GOLDEN_ZERO_RUN, t_host_ns=11)
    assert first.counts.tolist() == CELLS_U8 and first.counts.dtype == np.uint16
    assert (first.seq, first.t_device_us, first.flags, first.t_host_ns) == (7, 1_000_000, 0, 11)
    assert second.counts.tolist() == CELLS_ZERO_RUN
    assert (second.seq, second.t_device_us, second.flags) == (8, 2_000_000, 0)
    assert parser.stats.junk_bytes == 0 and parser.pending() == 0 and parser.stats.errors() == 0


def test_golden_vectors_split_at_every_byte():
    stream = b"boot\r\n" + GOLDEN_U8 + b"\x00PMA" + GOLDEN_ZERO_RUN
    for cut in range(len(stream) + 1):
        parser = Pmat1Parser()
        frames = parser.feed(stream[:cut]) + parser.feed(stream[cut:])
        assert [f.seq for f in frames] == [7, 8], cut
        assert [f.counts.tolist() for f in frames] == [CELLS_U8, CELLS_ZERO_RUN]
        assert parser.stats.junk_bytes == 10 and parser.pending() == 0


def test_split_in_three_at_every_pair_of_bytes():
    stream = GOLDEN_ZERO_RUN
    for i in range(len(stream) + 1):
        for j in range(i, len(stream) + 1):
            parser = Pmat1Parser()
            frames = parser.feed(stream[:i]) + parser.feed(stream[i:j]) + parser.feed(stream[j:])
            assert [f.seq for f in frames] == [8]


def test_a_corrupted_crc_is_counted_and_the_next_packet_decodes():
    bad = bytearray(GOLDEN_U8)
    bad[-1] ^= 0x01
    parser = Pmat1Parser()
    frames = parser.feed(bytes(bad) + GOLDEN_ZERO_RUN)
    assert [f.seq for f in frames] == [8]
    assert parser.stats.crc_errors == 1 and parser.stats.errors() == 1
    assert parser.stats.junk_bytes == len(GOLDEN_U8)


def test_a_flipped_payload_bit_fails_the_crc():
    bad = bytearray(GOLDEN_ZERO_RUN)
    bad[33] ^= 0x40
    parser = Pmat1Parser()
    assert parser.feed(bytes(bad)) == []
    assert parser.stats.crc_errors == 1


def test_a_bad_version_is_counted_and_skipped():
    bad = _packet(version=2, body=GOLDEN_U8[16:-4])
    parser = Pmat1Parser()
    frames = parser.feed(bad + GOLDEN_U8)
    assert [f.seq for f in frames] == [7]
    assert parser.stats.bad_versions == 1 and parser.stats.errors() == 1
    assert parser.stats.junk_bytes == len(bad)


def test_a_body_length_over_the_limit_is_corruption():
    bad = _packet(n_body=pmat1.MAX_BODY_BYTES + 1)
    parser = Pmat1Parser()
    frames = parser.feed(bad + GOLDEN_U8)
    # It does not wait for 16 MiB: the next packet decodes at once.
    assert [f.seq for f in frames] == [7]
    assert parser.stats.bad_lengths == 1 and parser.stats.junk_bytes == len(bad)


def test_with_a_known_shape_a_longer_body_is_corruption():
    header_only = GOLDEN_U8[:8] + struct.pack("<I", 1000) + GOLDEN_U8[12:16]
    parser = Pmat1Parser(shape=(2, 3))
    frames = parser.feed(header_only + GOLDEN_U8)
    assert [f.seq for f in frames] == [7]
    assert parser.stats.bad_lengths == 1 and parser.pending() == 0


def test_with_a_known_shape_a_frame_of_another_shape_is_dropped():
    parser = Pmat1Parser(shape=(3, 2))
    assert parser.feed(GOLDEN_U8) == []
    assert parser.stats.bad_lengths == 1 and parser.stats.junk_bytes == len(GOLDEN_U8)


@pytest.mark.parametrize(
    "payload",
    [
        "05 00 00 00 03 00 07 00",  # runs give 5 cells, not 6
        "05 00 00 00 05 00 07 00",  # runs give 7 cells
        "05 00 00 00 00 00 07 00",  # a zero count
        "05 00 01 00 02 00 03 00 04 00 00 00",  # a zero word without its count
        "05 00 00 00 04 00 07",  # an odd number of bytes
    ],
)
def test_a_zero_run_of_the_wrong_decoded_length_is_dropped(payload):
    bad = _frame_packet(bytes.fromhex(payload))
    parser = Pmat1Parser()
    frames = parser.feed(GOLDEN_U8 + bad + GOLDEN_ZERO_RUN)
    assert [f.seq for f in frames] == [7, 8]
    assert parser.stats.bad_lengths == 1 and parser.stats.crc_errors == 0
    assert parser.stats.junk_bytes == len(bad)


@pytest.mark.parametrize(
    ("encoding", "payload"),
    [(pmat1.ENCODING_U8, "01 02 03 04 05"), (pmat1.ENCODING_U16, "01 00 02 00 03 00 04 00 05 00 06"), (9, "00")],
)
def test_a_payload_of_the_wrong_size_or_an_unknown_encoding_is_dropped(encoding, payload):
    bad = _frame_packet(bytes.fromhex(payload), encoding=encoding)
    parser = Pmat1Parser()
    assert parser.feed(bad) == []
    assert parser.stats.bad_lengths == 1 and parser.stats.junk_bytes == len(bad)


def test_other_packets_are_kept_for_the_session():
    info = pmat1.encode_info({"rows": 2, "cols": 3})
    parser = Pmat1Parser()
    frames = parser.feed(info + GOLDEN_U8)
    assert len(frames) == 1 and parser.stats.packets == 1
    (packet,) = parser.packets
    assert packet.type == pmat1.INFO and pmat1.parse_info(packet.body) == {"rows": 2, "cols": 3}
    assert parser.stats.bytes_in == 20 + len(packet.body) + len(GOLDEN_U8)


def test_junk_is_counted_and_a_split_magic_is_held():
    parser = Pmat1Parser()
    assert parser.feed(b"hello PM") == []
    assert parser.stats.junk_bytes + parser.pending() == 8 and parser.pending() <= 3
    frames = parser.feed(b"x" + GOLDEN_U8)
    assert len(frames) == 1 and parser.stats.junk_bytes == 9


def test_reset_drops_a_partial_packet():
    parser = Pmat1Parser()
    parser.feed(GOLDEN_U8[:30])
    assert parser.pending() == 30
    parser.reset()
    assert parser.pending() == 0
    assert [f.seq for f in parser.feed(GOLDEN_ZERO_RUN)] == [8]


def test_registered_protocol():
    protocol = get_protocol("pmat1")
    assert protocol.parser is Pmat1Parser and protocol.parser.name == "pmat1"
    assert (protocol.has_seq, protocol.has_clock, protocol.default_shape) == (True, True, None)
    assert protocol.encode(np.array(CELLS_ZERO_RUN), seq=8, t_device_us=2_000_000, flags=0) == GOLDEN_ZERO_RUN


def test_with_a_known_shape_an_info_longer_than_a_frame_is_kept():
    info = pmat1.encode_info({"vendor": "plantar", "model": "virtual", "rows": 2, "cols": 3})
    parser = Pmat1Parser(shape=(2, 3))
    frames = parser.feed(info + GOLDEN_U8)
    assert len(frames) == 1
    assert parser.stats.packets == 1 and parser.stats.errors() == 0


# --------------------------------------------------------------------------------------
# A corrupt header holds good frames back for at most one maximum frame


def _walk_of_frames(n=2000, shape=(64, 64)):
    counts = np.zeros(shape, np.uint16)
    counts[10:30, 20:40] = 500
    return [pmat1.encode_frame(counts + (k % 7), seq=k, t_device_us=k * 10_000) for k in range(n)]


@pytest.mark.parametrize(
    ("ptype", "n_body", "shape", "reason"),
    [
        (0x7F, 16 * 2**20 - 1, (64, 64), "type"),  # the header of the defect: an unknown type
        (0x7F, 16 * 2**20 - 1, None, "type"),
        (pmat1.LOG, 16 * 2**20 - 1, None, "length"),  # longer than any reply
        (pmat1.INFO, pmat1.MAX_REPLY_BODY_BYTES + 1, (64, 64), "length"),
        (pmat1.FRAME, 16 * 2**20 - 1, (64, 64), "length"),  # longer than the known shape allows
        (pmat1.FRAME, 16 * 2**20 - 1, None, "length"),  # refused once its declared shape is read
        (pmat1.FRAME, 16, None, "length"),  # no room for a cell
        (pmat1.FRAME, 30_000, None, "length"),
    ],
)
def test_a_fake_header_is_refused_without_holding_frames_back(ptype, n_body, shape, reason):
    packets = _walk_of_frames()
    fake = b"PMAT" + bytes([1, ptype]) + b"\0\0" + struct.pack("<II", n_body, 0)
    stream = fake + b"".join(packets)
    parser = Pmat1Parser(shape=shape)
    seqs = []
    largest = 0
    for start in range(0, len(stream), 4096):
        seqs += [f.seq for f in parser.feed(stream[start : start + 4096])]
        largest = max(largest, parser.pending())
    assert seqs == list(range(2000))
    assert parser.pending() == 0
    # Never more held than one read and the largest packet that may be in progress.
    assert largest < 4096 + max(len(p) for p in packets)
    assert parser.stats.rejects == {reason: 1} and parser.stats.errors() == 1
    assert parser.stats.junk_bytes == len(fake)


@pytest.mark.parametrize("ptype", [pmat1.INFO, pmat1.LOG, pmat1.FRAME])
def test_a_fake_header_of_a_plausible_length_delays_frames_by_at_most_its_length(ptype):
    # A LOG or INFO header declaring 4000 bytes is waited for, then fails its CRC;
    # the frames it covered are decoded then. None is lost.
    packets = _walk_of_frames(200, shape=(8, 8))
    fake = b"PMAT" + bytes([1, ptype]) + b"\0\0" + struct.pack("<II", 4000, 0)
    stream = fake + b"".join(packets)
    parser = Pmat1Parser(shape=(8, 8))
    seqs = []
    for start in range(0, len(stream), 64):
        seqs += [f.seq for f in parser.feed(stream[start : start + 64])]
        assert parser.pending() <= 4000 + 20 + 64
    assert seqs == list(range(200))
    expected = {"crc": 1} if ptype != pmat1.FRAME else {"length": 1}
    assert parser.stats.rejects == expected


def test_a_frame_whose_declared_shape_rules_out_its_length_is_refused_before_its_body():
    # u8 2 x 3 must have a 22-byte body; this one says 1000.
    head = struct.pack("<4sBBHII", b"PMAT", 1, pmat1.FRAME, 0, 1000, 0)
    head += struct.pack("<QHHBBH", 0, 2, 3, pmat1.ENCODING_U8, 0, 0)
    parser = Pmat1Parser()
    assert parser.feed(head + GOLDEN_U8)[0].seq == 7
    assert parser.stats.rejects == {"length": 1} and parser.pending() == 0


def test_a_corrupt_frame_is_counted_the_same_in_any_chunking():
    # A bad length is found before the CRC whether the packet is whole or not.
    bad = bytearray(GOLDEN_U8)
    bad[8] = 0x17  # body length 23 for a u8 2 x 3 frame (22)
    bad = bytes(bad) + b"\0"
    for cut in range(len(bad) + 1):
        parser = Pmat1Parser()
        frames = parser.feed(bad[:cut]) + parser.feed(bad[cut:] + GOLDEN_ZERO_RUN)
        assert [f.seq for f in frames] == [8]
        assert parser.stats.rejects == {"length": 1}, cut


def test_refusals_are_counted_by_reason():
    bad_crc = bytearray(GOLDEN_U8)
    bad_crc[-1] ^= 1
    stream = (
        _packet(version=2, body=GOLDEN_U8[16:-4]) + bytes(bad_crc) + _packet(ptype=0x42, body=b"x")
        + _frame_packet(bytes.fromhex("05 00 00 00 03 00 07 00")) + GOLDEN_U8
    )  # fmt: skip
    parser = Pmat1Parser()
    assert [f.seq for f in parser.feed(stream)] == [7]
    assert parser.stats.rejects == {"version": 1, "crc": 1, "type": 1, "cells": 1}
    assert (parser.stats.bad_versions, parser.stats.crc_errors, parser.stats.bad_lengths) == (1, 1, 1)
    assert parser.stats.implausible == 1 and parser.stats.errors() == 4


def _zero_run_reference(cells):
    """Zero-run words of one frame, word by word from the specification (the slow, obvious way)."""
    words, i = [], 0
    while i < len(cells):
        if cells[i]:
            words.append(int(cells[i]))
            i += 1
            continue
        n = 0
        while i < len(cells) and cells[i] == 0 and n < 65535:
            n += 1
            i += 1
        words += [0, n]
    return struct.pack(f"<{len(words)}H", *words)


def test_frames_encoded_together_are_each_encoded_as_alone():
    """Runs stop at each frame's end, and runs longer than a count are split, as in a frame alone."""
    rng = np.random.default_rng(5)
    batches = [(rng.random((5, 97)) < share) * rng.integers(1, 65536, (5, 97)) for share in (0.0, 0.1, 0.5, 1.0)]
    long = np.zeros((3, 140_000), np.int64)
    long[1, 0], long[2, -1], long[2, 65_535] = 9, 4, 65535
    for cells in batches + [long]:
        words, n_words = pmat1._encode_zero_runs(cells)
        ends = np.cumsum(2 * n_words)
        payload = words.tobytes()
        assert ends[-1] == len(payload)
        for frame, end, size in zip(cells, ends, 2 * n_words):
            assert payload[end - size : end] == _zero_run_reference(frame.tolist())
            assert pmat1.decode_zero_run(payload[end - size : end], frame.size).tolist() == frame.tolist()


def test_a_decoded_frame_keeps_the_words_it_arrived_as():
    """Valid words that are not the encoder's (a run split in two) decode, and are kept as they came."""
    words = struct.pack("<6H", 5, 0, 2, 0, 2, 7)  # [5, 0, 0, 0, 0, 7] with its run in two pieces
    body = pmat1.FRAME_HEADER.pack(0, 2, 3, pmat1.ENCODING_ZERO_RUN, 0, 0) + words
    u16 = pmat1.encode_frame(np.ones((2, 3), int), seq=2, t_device_us=0, encoding=pmat1.ENCODING_U16)
    frames = Pmat1Parser().feed(pmat1.encode_packet(pmat1.FRAME, 1, body) + u16)
    assert frames[0].counts.tolist() == [[5, 0, 0], [0, 0, 7]] and frames[0].zero_run == words
    assert frames[1].counts.tolist() == [[1, 1, 1], [1, 1, 1]] and frames[1].zero_run is None


def _zero_run_decode_reference(payload, n_cells):
    """The cells of one frame's zero-run words, word by word from the specification; None if malformed."""
    words = struct.unpack(f"<{len(payload) // 2}H", payload)
    cells, i = [], 0
    while i < len(words):
        if words[i]:
            cells.append(words[i])
            i += 1
        elif i + 1 == len(words) or words[i + 1] == 0:  # a zero word without a count, or a run of nothing
            return None
        else:
            cells += [0] * words[i + 1]
            i += 2
    return cells if words and len(cells) == n_cells else None


def test_frames_expanded_together_are_each_expanded_as_alone():
    """Well-formed and malformed frames in one batch: each well-formed one is its words, the rest are refused."""
    rng = np.random.default_rng(11)
    n_malformed = 0
    for _ in range(400):
        n_cells = int(rng.integers(1, 60))
        payloads = []
        for _ in range(int(rng.integers(1, 8))):
            cells = (rng.random(n_cells) < rng.random()) * rng.integers(1, 65536, n_cells)
            words = bytearray(pmat1.encode_zero_run(cells))
            fault = rng.random()
            if fault < 0.15:  # a word replaced by a small value: a zero word, a count of 0, a wrong run
                i = int(rng.integers(0, len(words) // 2))
                words[2 * i : 2 * i + 2] = struct.pack("<H", int(rng.integers(0, 3)))
            elif fault < 0.25:  # words lost at the end, or all of them
                del words[max(0, len(words) - 2 * int(rng.integers(1, 4))) :]
            payloads.append(bytes(words))
        expected = [_zero_run_decode_reference(p, n_cells) for p in payloads]
        flat, bad = pmat1._expand_zero_runs(b"".join(payloads), [len(p) for p in payloads], n_cells)
        assert bad.tolist() == [e is None for e in expected]
        assert flat.dtype == np.uint16 and flat.tolist() == [c for e in expected if e is not None for c in e]
        n_malformed += int(bad.sum())
    assert n_malformed > 100  # the batches did mix malformed frames among well-formed ones
