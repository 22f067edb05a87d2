"""The reference PMAT/1 firmware (drivers/pmat1/firmware), built for the PC and checked by the host decoder.

``host_test`` runs the portable C code (encoders, command parser, device state
machine on a simulated clock and link) and writes what a mat would send; this test
decodes that stream with :class:`plantar.drivers.pmat1.Pmat1Parser` and compares it
with the specification's golden vectors, with the host encoder's bytes and with the
pattern the simulated sensor reads.
"""

import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest

from plantar.drivers import FLAG_DEVICE_OVERRUN, FLAG_SATURATED, pmat1

FIRMWARE = Path(__file__).resolve().parents[2] / "drivers" / "pmat1" / "firmware"
CC = shutil.which("cc") or shutil.which("gcc")
CFLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-O2"]

pytestmark = pytest.mark.skipif(CC is None, reason="no C compiler (cc or gcc)")

# Copied from the golden vectors of drivers/pmat1/PROTOCOL.md.
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

# What host_test.c describes and does (see the comment at its top).
INFO = {
    "vendor": "plantar",
    "model": 'reference "PMAT/1" \\ host test',
    "serial": "HT-0001",
    "firmware": "pmat1-ref 1.0",
    "rows": 8,
    "cols": 12,
    "adc_bits": 12,
    "pitch_mm": [8.5, 10],
    "rate_hz": 100,
    "encodings": [1, 2, 3],
}
T0_US = 0xFFFF0000  # the simulated micros() at boot, just below 2**32
PAT_SHAPE = (12, 20)
BIG_SIDE = 300
# The session's frames at 100 Hz: scans 6, 7 and 8 fall while the link is stalled and
# are dropped (the first scan of the stall, 5, still fits in the transmit buffer).
SESSION_SEQS = [0, 1, 2, 3, 4, 5, 9, 10, 11, 12, 13]


def pattern(k, rows, cols):
    """The cells host_test.c's pattern(k, r, c) gives, as a (rows, cols) array."""
    r, c = np.mgrid[0:rows, 0:cols].astype(np.int64)
    values = (k * 1009 + r * 131 + c * 71) % (250 if k % 3 == 0 else 4096) + 1
    return np.where((k * 7 + r * 3 + c * 5) % 11 < 4, 0, values).astype(np.uint16)


def _build(tmp_path_factory, name, *defines):
    out = tmp_path_factory.mktemp("firmware") / name
    sources = [str(FIRMWARE / "host_test.c"), str(FIRMWARE / "pmat1.c")]
    result = subprocess.run([CC, *CFLAGS, *defines, "-o", str(out), *sources], capture_output=True,
                            timeout=60, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return out


def _run(program, *args, stdin=None):
    """Run a built program; return its stdout, failing with its stderr if it fails."""
    result = subprocess.run([str(program), *map(str, args)], input=stdin, capture_output=True,
                            timeout=30, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result.stdout


@pytest.fixture(scope="module")
def host_test(tmp_path_factory):
    return _build(tmp_path_factory, "host_test")


@pytest.fixture(scope="module")
def commands(tmp_path_factory):
    """HEAD and TAIL command files: junk and corrupt packets around real commands."""
    bad_version = bytearray(pmat1.encode_packet(pmat1.GET_INFO, 4))
    bad_version[4] = 2
    bad_version[-4:] = struct.pack("<I", zlib.crc32(bytes(bad_version[:-4])))
    corrupted = bytearray(pmat1.encode_start(7, rate_hz=100, encoding=pmat1.ENCODING_U16))
    corrupted[17] ^= 0x40  # a bit of the rate: the CRC no longer matches
    head = b"".join((
        b"\r\nboot banner v1 PM PMA\x00\xff",  # text and partial magics
        bytes(bad_version),
        pmat1.encode_packet(pmat1.GET_INFO, 5),
        pmat1.encode_start(6, rate_hz=100, encoding=9),  # refused
        bytes(corrupted),  # ignored
        pmat1.encode_packet(pmat1.PING, 10, struct.pack("<Q", 123456789)),
        pmat1.encode_start(8, rate_hz=100, encoding=pmat1.ENCODING_U16),
    ))  # fmt: skip
    tail = b"line noise" + pmat1.encode_packet(pmat1.STOP, 11)
    folder = tmp_path_factory.mktemp("commands")
    (folder / "head.bin").write_bytes(head)
    (folder / "tail.bin").write_bytes(tail)
    return folder / "head.bin", folder / "tail.bin", head + tail


@pytest.fixture(scope="module")
def stream(host_test, commands):
    head, tail, _ = commands
    return _run(host_test, head, tail)


@pytest.fixture(scope="module")
def decoded(stream):
    parser = pmat1.Pmat1Parser()
    # In uneven pieces, as a serial port would deliver it.
    frames, pos, size = [], 0, 1
    while pos < len(stream):
        frames += parser.feed(stream[pos : pos + size])
        pos += size
        size = size * 3 % 1021 + 1
    return frames, list(parser.packets), parser


def test_the_stream_decodes_without_errors(decoded, stream):
    frames, _, parser = decoded
    stats = parser.stats
    assert (stats.crc_errors, stats.bad_lengths, stats.bad_versions, stats.junk_bytes) == (0, 0, 0, 0)
    assert parser.pending() == 0
    assert len(frames) == 2 + 9 + 1 + len(SESSION_SEQS)
    assert stats.bytes_in == len(stream)


def test_golden_vectors_are_byte_exact(stream):
    (n_info,) = struct.unpack_from("<I", stream, 8)
    start = 16 + n_info + 4
    assert stream[start : start + len(GOLDEN_U8)] == GOLDEN_U8
    start += len(GOLDEN_U8)
    assert stream[start : start + len(GOLDEN_ZERO_RUN)] == GOLDEN_ZERO_RUN


def test_info_is_the_json_the_host_expects(decoded):
    _, packets, _ = decoded
    assert (packets[0].type, packets[0].seq) == (pmat1.INFO, 0)
    assert pmat1.parse_info(packets[0].body) == INFO


def test_pattern_frames_match_the_host_encoder_byte_for_byte(decoded, stream):
    frames, _, _ = decoded
    by_seq = {f.seq: f for f in frames[2:12]}
    expected = []
    for encoding in pmat1.ENCODINGS:
        for j in range(3):
            seq = 100 + 3 * (encoding - 1) + j
            cells = pattern(seq, *PAT_SHAPE)
            frame = by_seq[seq]
            flags = 0
            if encoding == pmat1.ENCODING_U8:
                flags = FLAG_SATURATED if cells.max() > 255 else 0
                cells = np.minimum(cells, 255)
            assert frame.counts.shape == PAT_SHAPE
            np.testing.assert_array_equal(frame.counts, cells)
            assert (frame.t_device_us, frame.flags) == (1000 * seq, flags)
            expected.append(pmat1.encode_frame(cells, seq=seq, t_device_us=1000 * seq, encoding=encoding,
                                               flags=flags))  # fmt: skip
    # seq 102 has small values; the other u8 frames are clamped at 255 and flagged.
    assert [by_seq[s].flags for s in (100, 101, 102)] == [FLAG_SATURATED, FLAG_SATURATED, 0]
    block = b"".join(expected)
    start = stream.index(GOLDEN_ZERO_RUN) + len(GOLDEN_ZERO_RUN)
    assert stream[start : start + len(block)] == block


def test_long_zero_runs_are_split_as_the_host_encoder_splits_them(decoded, stream):
    frames, _, _ = decoded
    big = frames[11]
    cells = np.zeros(BIG_SIDE * BIG_SIDE, np.uint16)
    cells[[5, 70000, BIG_SIDE * BIG_SIDE - 1]] = [1, 65535, 42]
    cells = cells.reshape(BIG_SIDE, BIG_SIDE)
    assert (big.seq, big.t_device_us, big.flags) == (200, 200_000, FLAG_DEVICE_OVERRUN)
    np.testing.assert_array_equal(big.counts, cells)
    packet = pmat1.encode_frame(cells, seq=200, t_device_us=200_000, flags=FLAG_DEVICE_OVERRUN)
    assert packet in stream
    assert b"\x00\x00\xff\xff" in packet  # a run of 65535 zero cells, then the rest


def test_the_device_answers_commands_and_ignores_junk_and_corrupt_packets(decoded):
    _, packets, _ = decoded
    replies = [(p.type, p.seq) for p in packets[1:]]
    assert replies == [
        (pmat1.INFO, 0),  # at boot
        (pmat1.INFO, 5),  # GET_INFO 5
        (pmat1.ACK, 6),  # START 6 with encoding 9: refused
        (pmat1.PONG, 10),  # PING 10 (START 7 was corrupt: no answer)
        (pmat1.ACK, 8),  # START 8
        (pmat1.ACK, 11),  # STOP 11
        (pmat1.LOG, 0),  # host_test's counters
    ]
    by_id = {p.seq: p for p in packets[1:-1]}
    assert pmat1.parse_info(by_id[5].body) == INFO
    assert struct.unpack("<IB", by_id[6].body) == (6, 1)
    assert struct.unpack("<IB", by_id[8].body) == (8, 0)
    assert struct.unpack("<IB", by_id[11].body) == (11, 0)
    assert struct.unpack("<QQ", by_id[10].body) == (123456789, T0_US)


def test_the_device_parser_counts_what_the_host_parser_counts(decoded, commands):
    _, packets, _ = decoded
    _, _, sent = commands
    log = packets[-1].body.decode()
    counters = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", log)}
    reference = pmat1.Pmat1Parser()
    reference.feed(sent)
    assert reference.stats.crc_errors == 1 and reference.stats.bad_versions == 1
    for name in ("packets", "junk_bytes", "crc_errors", "bad_lengths", "bad_versions"):
        assert counters[name] == getattr(reference.stats, name), name
    assert counters["packets"] == 5  # GET_INFO, START 6, PING, START 8, STOP
    assert (counters["scans"], counters["frames_sent"], counters["frames_dropped"]) == (14, 11, 3)
    assert counters["replies_dropped"] == 0


def test_streamed_frames_follow_the_scan_counter_clock_and_overrun_rules(decoded):
    frames, _, _ = decoded
    session = frames[12:]
    assert [f.seq for f in session] == SESSION_SEQS
    previous = None
    for frame in session:
        elapsed_us = frame.t_device_us - T0_US
        # The device clock runs on across the 32-bit wrap of micros() (at 65.5 ms).
        assert elapsed_us == 10_000 * frame.seq
        assert frame.counts.shape == (INFO["rows"], INFO["cols"])
        cells = pattern(elapsed_us // 1000, INFO["rows"], INFO["cols"])
        np.testing.assert_array_equal(frame.counts, cells)
        gap = previous is not None and frame.seq != previous + 1
        assert bool(frame.flags & FLAG_DEVICE_OVERRUN) == gap, frame
        assert bool(frame.flags & FLAG_SATURATED) == (cells.max() >= 2 ** INFO["adc_bits"] - 1), frame
        previous = frame.seq
    assert session[-1].t_device_us - T0_US <= 130_000  # nothing after STOP


def test_both_crc_implementations_give_the_same_stream(tmp_path_factory, commands, stream):
    bitwise = _build(tmp_path_factory, "host_test_bitwise", "-DPMAT1_CRC_BITWISE")
    head, tail, _ = commands
    assert _run(bitwise, head, tail) == stream


def test_commands_can_come_from_stdin(host_test, commands):
    head, _, _ = commands
    parser = pmat1.Pmat1Parser()
    frames = parser.feed(_run(host_test, "-", stdin=head.read_bytes()))
    assert parser.stats.errors() == 0
    # Without the TAIL's STOP the device streams to the end of the run (160 ms).
    assert frames[-1].t_device_us - T0_US == 160_000
    assert [p.type for p in parser.packets][-2:] == [pmat1.ACK, pmat1.LOG]
