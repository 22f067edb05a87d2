"""The kitronyx-csv encoder and decoder: hand-made lines, round trips, banners, every error path."""

import numpy as np
import pytest

from plantar.drivers import get_protocol, kitronyx
from plantar.drivers.kitronyx import KitronyxParser, encode_frame

SMALL_2x2 = b"0,12,255,3\r\n"
BANNER = b"Snowboard v2.1 ready\r\n"  # 22 bytes


def test_small_hand_vector():
    assert encode_frame([[0, 12], [255, 3]]) == SMALL_2x2
    parser = KitronyxParser(shape=(2, 2))
    (frame,) = parser.feed(SMALL_2x2, t_host_ns=9)
    assert frame.counts.tolist() == [[0, 12], [255, 3]] and frame.counts.dtype == np.uint16
    assert (frame.seq, frame.t_device_us, frame.flags, frame.t_host_ns) == (None, None, 0, 9)
    assert parser.stats.junk_bytes == 0 and parser.pending() == 0


def test_idle_frame_of_the_snowboard():
    line = ",".join(["0"] * 160).encode() + b"\r\n"
    assert encode_frame(np.zeros((16, 10), int)) == line and len(line) == 321
    parser = KitronyxParser()
    (frame,) = parser.feed(line)
    assert frame.shape == (16, 10) and not frame.counts.any()


def test_row_major_by_drive_line():
    counts = np.arange(160).reshape(16, 10)
    (frame,) = KitronyxParser().feed(encode_frame(counts))
    np.testing.assert_array_equal(frame.counts, counts)


@pytest.mark.parametrize("line", [b"0,12,255,3\r\n", b"0,12,255,3\n"])
def test_a_bare_lf_ending_is_accepted(line):
    parser = KitronyxParser(shape=(2, 2))
    (frame,) = parser.feed(line)
    assert frame.counts.tolist() == [[0, 12], [255, 3]]
    assert parser.stats.junk_bytes == 0


@pytest.mark.parametrize(
    "line",
    [
        b"0, 12 ,255,3\r\n",  # spaces: a digit 0 with bit 4 flipped reads as a space
        b"  0,12,255,3\r\n",
        b"0,12,255,3 \t\r\n",
        b"0,12,255,3,\r\n",  # a trailing comma
        b"000,012,255,3\r\n",  # leading zeros: Serial.print never writes them
        b"0,12,255,03\r\n",
    ],
)
def test_a_line_not_spelled_as_the_firmware_prints_is_a_corrupt_frame(line):
    parser = KitronyxParser(shape=(2, 2))
    frames = parser.feed(SMALL_2x2 + line + SMALL_2x2)
    assert len(frames) == 2
    assert parser.stats.rejects == {"spelling": 1} and parser.stats.implausible == 1
    assert parser.stats.errors() == 1 and parser.stats.bad_lengths == 0
    assert parser.stats.junk_bytes == len(line)


def test_poll_byte():
    assert KitronyxParser.poll == b"A" == KitronyxParser(shape=(1, 1)).poll


def test_round_trip_of_random_frames():
    rng = np.random.default_rng(5)
    for shape in [(16, 10), (1, 1), (4, 7)]:
        frames = [rng.integers(0, 256, shape), np.zeros(shape, int), np.full(shape, 255)]
        stream = b"".join(encode_frame(c) for c in frames)
        parser = KitronyxParser(shape=shape)
        decoded = parser.feed(stream[:7]) + parser.feed(stream[7:])
        assert len(decoded) == 3
        for got, want in zip(decoded, frames):
            np.testing.assert_array_equal(got.counts, want)
        assert parser.stats.junk_bytes == 0 and parser.pending() == 0 and parser.stats.errors() == 0


def test_split_at_every_byte():
    stream = SMALL_2x2 + BANNER + SMALL_2x2
    for cut in range(len(stream) + 1):
        parser = KitronyxParser(shape=(2, 2))
        frames = parser.feed(stream[:cut]) + parser.feed(stream[cut:])
        assert len(frames) == 2 and parser.stats.junk_bytes == len(BANNER)


def test_banner_and_blank_lines_are_junk_but_not_errors():
    parser = KitronyxParser(shape=(2, 2))
    frames = parser.feed(BANNER + b"\r\n" + SMALL_2x2 + b"\n" + b"ok\n" + SMALL_2x2)
    assert len(frames) == 2
    assert parser.stats.junk_bytes == len(BANNER) + 2 + 1 + 3
    assert parser.stats.errors() == 0


@pytest.mark.parametrize(
    ("line", "rejects"),
    [
        (b"0,12,255\r\n", {"length": 1}),  # too few values
        (b"0,12,255,3,4\r\n", {"length": 1}),  # too many values
        (b"1,2,3,\r\n", {"length": 1}),  # a trailing comma is no value
        (b"0,12,256,3\r\n", {"range": 1}),  # a value above 255
        (b"0,12,-1,3\r\n", {}),  # a sign
        (b"0,12,,3\r\n", {}),  # an empty field
        (b"0;12;255;3\r\n", {}),  # another separator
        (b"0,1x,255,3\r\n", {}),  # a cut or noisy line
        (b"0," + b"1" * 19 + b",2,3\r\n", {}),  # more digits than any count has
    ],
)
def test_a_bad_line_is_dropped_and_counted(line, rejects):
    parser = KitronyxParser(shape=(2, 2))
    frames = parser.feed(SMALL_2x2 + line + SMALL_2x2)
    assert len(frames) == 2
    assert parser.stats.rejects == rejects
    assert parser.stats.bad_lengths == rejects.get("length", 0)
    assert parser.stats.errors() == sum(rejects.values())
    assert parser.stats.junk_bytes == len(line)


def test_a_line_without_newline_is_capped():
    parser = KitronyxParser(shape=(2, 2))  # a line holds at most 8 * 4 + 64 = 96 bytes
    parser.feed(b"1," * 48)
    assert parser.pending() == 96 and parser.stats.junk_bytes == 0
    parser.feed(b"1")
    assert parser.pending() == 0 and parser.stats.junk_bytes == 97
    for _ in range(50):
        parser.feed(b"2," * 1000)
        assert parser.pending() == 0
    frames = parser.feed(b"3\r\n" + SMALL_2x2)
    assert len(frames) == 1
    assert parser.stats.junk_bytes == 97 + 100_000 + 3
    assert parser.stats.errors() == 0  # an over-long line is junk, not counted as a frame


def test_a_complete_over_long_line_is_junk():
    parser = KitronyxParser(shape=(2, 2))
    line = b" " * 100 + b"0,12,255,3\r\n"
    assert parser.feed(line + SMALL_2x2)[0].counts.tolist() == [[0, 12], [255, 3]]
    assert parser.stats.junk_bytes == len(line) and parser.stats.frames == 1


def test_reset_drops_a_partial_line():
    parser = KitronyxParser(shape=(2, 2))
    parser.feed(b"0,12,")
    parser.reset()
    assert parser.pending() == 0
    assert len(parser.feed(SMALL_2x2)) == 1


def test_parse_values():
    assert kitronyx.parse_values(b"1,2,3").tolist() == [1, 2, 3]
    assert kitronyx.parse_values(b"") is None
    assert kitronyx.parse_values(b",1") is None
    assert kitronyx.parse_values(b"1 2") is None


def test_encoder_checks_its_input():
    with pytest.raises(ValueError, match=r"counts must lie in 0 \.\. 255"):
        encode_frame([[0, 256]])
    with pytest.raises(ValueError, match=r"counts must lie in 0 \.\. 255"):
        encode_frame([[-1, 0]])
    with pytest.raises(ValueError, match="counts must be 2-D"):
        encode_frame([1, 2])
    assert encode_frame([[7]], seq=1, t_device_us=2, flags=1) == b"7\r\n"


def test_registered_protocol():
    protocol = get_protocol("kitronyx-csv")
    assert protocol.parser is KitronyxParser and protocol.parser.name == "kitronyx-csv"
    assert protocol.default_shape == (16, 10) and protocol.baudrate == 115200 and protocol.poll == b"A"
    assert (protocol.has_seq, protocol.has_clock, protocol.max_count) == (False, False, 255)
    assert protocol.encode(np.ones((1, 2), int), seq=0, t_device_us=0, flags=0) == b"1,1\r\n"
