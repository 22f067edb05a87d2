"""The sensitronics-zrle encoder and decoder: hand-made vectors, round trips, every error path."""

import numpy as np
import pytest

from plantar.drivers import get_protocol, sensitronics
from plantar.drivers.sensitronics import SensitronicsParser, encode_frame

IDLE_10x16 = bytes.fromhex("00 a0 ff")
# [[0, 9, 0], [0, 0, 254]]: a run of 1 zero, 9, a run of 3 zeros, 254, end.
SMALL_2x3 = bytes.fromhex("00 01 09 00 03 fe ff")


def _feed_all(parser, stream):
    return parser.feed(stream, t_host_ns=5)


def test_idle_frame_of_the_demo_array_is_three_bytes():
    assert encode_frame(np.zeros((10, 16), np.uint16)) == IDLE_10x16
    parser = SensitronicsParser()
    (frame,) = _feed_all(parser, IDLE_10x16)
    assert frame.shape == (10, 16) and frame.counts.dtype == np.uint16
    assert not frame.counts.any()
    assert (frame.seq, frame.t_device_us, frame.flags, frame.t_host_ns) == (None, None, 0, 5)
    assert parser.stats.junk_bytes == 0 and parser.pending() == 0 and parser.stats.frames == 1


def test_small_hand_vector():
    counts = [[0, 9, 0], [0, 0, 254]]
    assert encode_frame(counts) == SMALL_2x3
    (frame,) = SensitronicsParser(shape=(2, 3)).feed(SMALL_2x3)
    assert frame.counts.tolist() == counts


def test_values_are_clamped_as_the_firmware_does():
    assert encode_frame([[255, 1000, -3, 1]]) == bytes.fromhex("fe fe 00 01 01 ff")
    (frame,) = SensitronicsParser(shape=(1, 4)).feed(encode_frame([[255, 254, 253, 1]]))
    assert frame.counts.tolist() == [[254, 254, 253, 1]]


@pytest.mark.parametrize(
    ("n_zeros", "hex_runs"),
    [(253, "00 fd"), (254, "00 fe"), (255, "00 fe 00 01"), (600, "00 fe 00 fe 00 5c"), (508, "00 fe 00 fe")],
)
def test_long_zero_runs_are_split_at_254(n_zeros, hex_runs):
    counts = np.zeros((1, n_zeros + 2), int)
    counts[0, 0] = counts[0, -1] = 7
    encoded = encode_frame(counts)
    assert encoded == bytes.fromhex(f"07 {hex_runs} 07 ff")
    (frame,) = SensitronicsParser(shape=counts.shape).feed(encoded)
    np.testing.assert_array_equal(frame.counts, counts)


def test_unmerged_zero_runs_decode_too():
    # A firmware may send every zero cell as its own pair: the worst case, 2 bytes per cell.
    parser = SensitronicsParser(shape=(2, 2))
    (frame,) = parser.feed(bytes.fromhex("00 01 00 01 00 01 00 01 ff"))
    assert frame.counts.tolist() == [[0, 0], [0, 0]]


def test_round_trip_of_random_frames():
    rng = np.random.default_rng(3)
    for shape in [(10, 16), (1, 1), (3, 7), (16, 16), (1, 700)]:
        counts = rng.integers(0, 255, shape) * (rng.random(shape) < 0.4)
        frames = [counts, np.zeros(shape, int), np.full(shape, 254)]
        stream = b"".join(encode_frame(c) for c in frames)
        parser = SensitronicsParser(shape=shape)
        decoded = parser.feed(stream[:5]) + parser.feed(stream[5:])
        assert len(decoded) == 3
        for got, want in zip(decoded, frames):
            np.testing.assert_array_equal(got.counts, want)
        assert parser.stats.junk_bytes == 0 and parser.pending() == 0 and parser.stats.errors() == 0


def test_a_frame_split_at_every_byte_is_decoded_once():
    stream = encode_frame([[0, 9, 0], [0, 0, 254]]) + encode_frame([[1, 2, 3], [4, 5, 6]])
    for cut in range(len(stream) + 1):
        parser = SensitronicsParser(shape=(2, 3))
        frames = parser.feed(stream[:cut]) + parser.feed(stream[cut:])
        assert [f.counts.tolist() for f in frames] == [[[0, 9, 0], [0, 0, 254]], [[1, 2, 3], [4, 5, 6]]]


@pytest.mark.parametrize(
    "body",
    [
        "05 06",  # too few cells
        "01 02 03 04 05 06 07",  # too many cells
        "00 06 01",  # too many cells through a run
        "01 00 00 02 03 04",  # a zero-length run
        "01 02 03 04 05 00",  # a run marker without its count
        "",  # an empty frame (two FF in a row)
    ],
)
def test_a_corrupt_frame_is_dropped_and_counted(body):
    good = encode_frame([[1, 2, 3], [0, 0, 0]])
    bad = bytes.fromhex(body) + b"\xff"
    parser = SensitronicsParser(shape=(2, 3))
    frames = parser.feed(good + bad + good)
    assert len(frames) == 2
    assert parser.stats.bad_lengths == 1 and parser.stats.errors() == 1
    assert parser.stats.junk_bytes == len(bad)
    assert parser.pending() == 0


def test_junk_before_the_first_ff_costs_the_first_frame():
    # No sync pattern: a banner merges with the first frame, which is dropped.
    frame = encode_frame([[1, 0, 3], [0, 0, 6]])
    parser = SensitronicsParser(shape=(2, 3))
    frames = parser.feed(b"Booting v1.2...\r\n" + frame + frame + frame)
    assert len(frames) == 2
    assert parser.stats.bad_lengths == 1
    assert parser.stats.junk_bytes == 17 + len(frame)


def test_junk_ending_in_ff_costs_nothing_more():
    frame = encode_frame([[1, 0, 3], [0, 0, 6]])
    parser = SensitronicsParser(shape=(2, 3))
    frames = parser.feed(b"\x07\x07\xff" + frame + frame)
    assert len(frames) == 2
    assert (parser.stats.bad_lengths, parser.stats.junk_bytes) == (1, 3)


def test_a_stream_without_ff_is_capped():
    parser = SensitronicsParser()  # 10 x 16: a valid body is at most 320 bytes
    assert parser.feed(b"\x01" * 320) == []
    assert parser.pending() == 320 and parser.stats.junk_bytes == 0
    assert parser.feed(b"\x01") == []
    assert parser.pending() == 0 and parser.stats.junk_bytes == 321
    for _ in range(100):
        parser.feed(b"\x02" * 1000)
        assert parser.pending() == 0
    assert parser.stats.junk_bytes == 100_321 and parser.stats.bad_lengths == 0
    # The FF that ends the over-long frame closes one bad frame; the next frame decodes.
    frames = parser.feed(b"\x03\xff" + IDLE_10x16)
    assert len(frames) == 1
    assert parser.stats.bad_lengths == 1 and parser.stats.junk_bytes == 100_323
    assert parser.stats.bytes_in == parser.stats.junk_bytes + len(IDLE_10x16)


def test_worst_case_frame_is_not_capped():
    body = bytes.fromhex("00 01") * 160
    parser = SensitronicsParser()
    assert parser.feed(body) == []
    assert len(parser.feed(b"\xff")) == 1


def test_reset_drops_a_partial_frame():
    parser = SensitronicsParser(shape=(2, 3))
    parser.feed(b"\x01\x02\x03")
    assert parser.pending() == 3
    parser.reset()
    assert parser.pending() == 0
    (frame,) = parser.feed(SMALL_2x3)
    assert frame.counts.tolist() == [[0, 9, 0], [0, 0, 254]]
    assert parser.stats.bytes_in == 3 + len(SMALL_2x3)


def test_decode_body_rejects_an_ff_and_an_oversized_body():
    assert sensitronics.decode_body(b"\x01\xff", 2) is None
    assert sensitronics.decode_body(bytes.fromhex("00 01") * 3, 2) is None
    assert sensitronics.decode_body(b"", 1) is None


def test_encoder_checks_its_input():
    with pytest.raises(ValueError, match="counts must be 2-D"):
        encode_frame([1, 2, 3])
    with pytest.raises(ValueError, match="shape must be"):
        encode_frame(np.zeros((0, 3)))
    # seq, t_device_us and flags are accepted and ignored: the format has none.
    assert encode_frame([[1]], seq=5, t_device_us=10, flags=3) == b"\x01\xff"


def test_parser_checks_its_shape():
    with pytest.raises(ValueError, match="shape must be"):
        SensitronicsParser(shape=(0, 3))


def test_registered_protocol():
    protocol = get_protocol("sensitronics-zrle")
    assert protocol.parser is SensitronicsParser and protocol.parser.name == "sensitronics-zrle"
    assert protocol.default_shape == (10, 16) and protocol.baudrate == 115200
    assert (protocol.poll, protocol.has_seq, protocol.has_clock, protocol.max_count) == (None, False, False, 254)
    assert protocol.encode(np.zeros((10, 16), int), seq=1, t_device_us=2, flags=0) == IDLE_10x16
