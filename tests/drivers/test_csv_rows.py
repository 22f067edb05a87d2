"""The csv-rows encoder and decoder: separators, markers, learning the shape, banners, every error path."""

import numpy as np
import pytest

from plantar.drivers import csv_rows, get_protocol
from plantar.drivers.csv_rows import CsvRowsParser, encode_frame

A = [[0, 1, 2], [3, 4, 500]]
B = [[9, 8, 7], [65535, 0, 1]]
A_TEXT = b"0,1,2\r\n3,4,500\r\n\r\n"  # 18 bytes
B_TEXT = b"9,8,7\r\n65535,0,1\r\n\r\n"
BANNER = b"Booting v1.2...\r\n"  # 17 bytes


def _counts(frames):
    return [f.counts.tolist() for f in frames]


def test_hand_vectors():
    assert encode_frame(A) == A_TEXT
    assert encode_frame(B) == B_TEXT
    assert encode_frame(A, marker="-----") == b"0,1,2\r\n3,4,500\r\n-----\r\n"
    parser = CsvRowsParser(shape=(2, 3))
    frames = parser.feed(A_TEXT + B_TEXT, t_host_ns=3)
    assert _counts(frames) == [A, B]
    frame = frames[0]
    assert frame.counts.dtype == np.uint16
    assert (frame.seq, frame.t_device_us, frame.flags, frame.t_host_ns) == (None, None, 0, 3)
    assert parser.stats.junk_bytes == 0 and parser.pending() == 0 and parser.stats.errors() == 0


@pytest.mark.parametrize(
    "text",
    [
        b"0 1 2\n3 4 500\n\n",  # spaces, LF only
        b"0\t1\t2\r\n3\t4\t500\r\n  \r\n",  # tabs; a separator of spaces
        b"0, 1, 2,\r\n 3 ,4,  500 \r\n\r\n",  # comma and space, trailing commas
        b"   0    1    2\r\n   3    4  500\r\n\r\n",  # printf padding
    ],
)
def test_tolerated_spellings(text):
    parser = CsvRowsParser(shape=(2, 3))
    assert _counts(parser.feed(text)) == [A]
    assert parser.stats.junk_bytes == 0


def test_round_trip_of_random_frames():
    rng = np.random.default_rng(7)
    for shape in [(1, 1), (4, 7), (48, 48)]:
        for marker in (None, "-----", "START"):
            frames = [rng.integers(0, 65536, shape), np.zeros(shape, int)]
            stream = b"".join(encode_frame(c, marker=marker) for c in frames)
            parser = CsvRowsParser(shape=shape, marker=marker)
            decoded = parser.feed(stream[:3]) + parser.feed(stream[3:])
            assert len(decoded) == 2
            for got, want in zip(decoded, frames):
                np.testing.assert_array_equal(got.counts, want)
            assert parser.stats.junk_bytes == 0 and parser.pending() == 0 and parser.stats.errors() == 0


def test_split_at_every_byte():
    stream = BANNER + A_TEXT + BANNER + B_TEXT
    for cut in range(len(stream) + 1):
        parser = CsvRowsParser(shape=(2, 3))
        frames = parser.feed(stream[:cut]) + parser.feed(stream[cut:])
        assert _counts(frames) == [A, B]
        assert parser.stats.junk_bytes == 2 * len(BANNER)


def test_banners_and_extra_blank_lines_are_junk_but_not_errors():
    parser = CsvRowsParser(shape=(2, 3))
    frames = parser.feed(BANNER + A_TEXT + b"\r\n\r\n" + b"scan rate 20 Hz\n" + B_TEXT)
    assert _counts(frames) == [A, B]
    assert parser.stats.junk_bytes == 17 + 4 + 16
    assert parser.stats.errors() == 0


def test_a_reboot_banner_ends_a_cut_frame():
    parser = CsvRowsParser(shape=(2, 3))
    frames = parser.feed(b"0,1,2\r\n" + BANNER + A_TEXT)
    assert _counts(frames) == [A]
    assert parser.stats.bad_lengths == 1 and parser.stats.junk_bytes == 7 + 17


@pytest.mark.parametrize(
    "text",
    [
        b"0,1,2\r\n\r\n",  # too few rows
        b"0,1,2\r\n3,4,5\r\n6,7,8\r\n\r\n",  # too many rows
        b"0,1,2\r\n3,4\r\n\r\n",  # a short row
        b"0,1,2\r\n3,4,5,6\r\n\r\n",  # a long row
        b"0,1\r\n2,3\r\n\r\n",  # rows of equal length, but not the mat's
    ],
)
def test_a_frame_of_the_wrong_shape_is_dropped_and_counted(text):
    parser = CsvRowsParser(shape=(2, 3))
    frames = parser.feed(A_TEXT + text + B_TEXT)
    assert _counts(frames) == [A, B]
    assert parser.stats.bad_lengths == 1 and parser.stats.junk_bytes == len(text)


@pytest.mark.parametrize(
    "line",
    [b"0,1,65536\r\n", b"0,-1,2\r\n", b"0,1.5,2\r\n", b"0," + b"0" * 19 + b",2\r\n", b",,,\r\n", b"0;1;2\r\n"],
)
def test_a_line_that_is_not_a_row_is_junk(line):
    parser = CsvRowsParser(shape=(2, 3))
    # Between frames it costs nothing; inside one it drops the rows before it.
    frames = parser.feed(A_TEXT + line + B_TEXT + b"3,4,5\r\n" + line + A_TEXT)
    assert _counts(frames) == [A, B, A]
    assert parser.stats.bad_lengths == 1
    assert parser.stats.junk_bytes == 2 * len(line) + 7


def test_the_shape_is_learned_from_three_frames_after_separators():
    parser = CsvRowsParser()
    # The first lines may be the tail of a scan cut by connecting: junk, no error.
    assert parser.feed(b"4,500\r\n\r\n" + A_TEXT + B_TEXT) == []
    assert parser.shape is None and parser.pending() == len(A_TEXT) + len(B_TEXT)
    # The third frame of the same shape teaches it; the two held frames come out first, in order.
    frames = parser.feed(A_TEXT)
    assert _counts(frames) == [A, B, A]
    assert parser.shape == (2, 3) and parser.pending() == 0
    assert parser.stats.junk_bytes == 9 and parser.stats.errors() == 0
    # The learned shape holds: one frame of another shape is dropped.
    frames = parser.feed(b"1,2\r\n3,4\r\n\r\n" + A_TEXT)
    assert _counts(frames) == [A]
    assert parser.stats.bad_lengths == 1 and parser.stats.rejects == {"shape": 1} and parser.shape == (2, 3)
    # reset keeps it.
    parser.reset()
    assert parser.shape == (2, 3)


def test_a_stray_line_at_connect_does_not_teach_the_shape():
    # The frames of the defect: one stray number and a blank line before 50 frames of 6 x 5.
    counts = np.arange(30).reshape(6, 5)
    stream = b"\n7\n\n" + b"".join(encode_frame(counts + k) for k in range(50))
    for cuts in ([len(stream)], [1, 3, 5, 40, 200], range(0, len(stream), 7)):
        parser = CsvRowsParser()
        frames = []
        start = 0
        for cut in list(cuts) + [len(stream)]:
            frames += parser.feed(stream[start:cut])
            start = cut
        assert parser.shape == (6, 5)
        assert len(frames) == 50  # none lost: the three that taught the shape are delivered too
        for k, frame in enumerate(frames):
            np.testing.assert_array_equal(frame.counts, counts + k)
        # The 1 x 1 "frame" was outvoted: junk, no error, while learning.
        assert parser.stats.errors() == 0 and parser.stats.junk_bytes == 4 and parser.pending() == 0


@pytest.mark.parametrize("junk", [b"Booting v1.2...\r\n", b"\r\n1\r\n\r\n7 7 7 7\r\n\r\n", b"ok\r\n\r\n3\r\n4\r\n\r\n"])
def test_junk_lines_at_connect_cost_at_most_the_first_frame(junk):
    frames_in = [np.full((4, 3), k) for k in range(10)]
    parser = CsvRowsParser()
    frames = parser.feed(junk + b"".join(encode_frame(c) for c in frames_in))
    # A frame right after a junk line may be a cut scan, so it is junk while learning.
    lost = 1 if junk.endswith(b"...\r\n") else 0
    assert [f.counts.tolist() for f in frames] == [c.tolist() for c in frames_in[lost:]]
    assert parser.shape == (4, 3) and parser.stats.errors() == 0


def test_learning_waits_for_a_separator_after_junk():
    parser = CsvRowsParser()
    frames = parser.feed(BANNER + A_TEXT + B_TEXT + A_TEXT + B_TEXT)
    assert _counts(frames) == [B, A, B]
    assert parser.stats.junk_bytes == len(BANNER) + len(A_TEXT) and parser.stats.errors() == 0


def test_unequal_rows_after_a_separator_are_counted_while_learning():
    parser = CsvRowsParser(learn_frames=1)
    frames = parser.feed(b"\r\n" + b"1,2\r\n3\r\n\r\n" + B_TEXT)
    assert _counts(frames) == [B]
    assert parser.stats.bad_lengths == 1 and parser.stats.junk_bytes == 2 + 10


def test_a_corrupt_frame_does_not_break_the_learning_run():
    parser = CsvRowsParser()
    frames = parser.feed(b"\r\n" + A_TEXT + b"1,2\r\n3\r\n\r\n" + B_TEXT + A_TEXT)
    assert _counts(frames) == [A, B, A]
    assert parser.stats.rejects == {"shape": 1}


def test_a_learned_shape_is_relearned_when_another_keeps_coming():
    small = [[1, 2], [3, 4]]
    small_text = encode_frame(small)
    parser = CsvRowsParser()
    assert _counts(parser.feed(b"\r\n" + A_TEXT * 3)) == [A, A, A]
    # Two frames of another shape are held; a frame of the learned shape drops them as errors.
    assert parser.feed(small_text * 2) == []
    assert _counts(parser.feed(A_TEXT)) == [A]
    assert parser.stats.rejects == {"shape": 2} and parser.relearned == 0
    # Three in a row: the device now sends 2 x 2 frames; they are all delivered.
    frames = parser.feed(small_text * 3)
    assert _counts(frames) == [small] * 3
    assert parser.shape == (2, 2) and parser.relearned == 1 and parser.stats.rejects == {"shape": 2}
    assert _counts(parser.feed(small_text)) == [small]


def test_a_given_shape_is_never_relearned():
    parser = CsvRowsParser(shape=(2, 3))
    assert parser.feed(encode_frame([[1, 2], [3, 4]]) * 5) == []
    assert parser.shape == (2, 3) and parser.stats.rejects == {"shape": 5} and parser.pending() == 0


def test_a_value_above_the_adc_range_makes_the_frame_corrupt():
    parser = CsvRowsParser(shape=(2, 3), max_value=1023)
    bad = b"0,1,2\r\n3,4,5000\r\n\r\n"
    frames = parser.feed(A_TEXT + bad + A_TEXT)
    assert _counts(frames) == [A, A]
    assert parser.stats.rejects == {"range": 1} and parser.stats.implausible == 1
    assert parser.stats.junk_bytes == len(bad)
    with pytest.raises(ValueError, match="max_value"):
        CsvRowsParser(max_value=70000)
    with pytest.raises(ValueError, match="learn_frames"):
        CsvRowsParser(learn_frames=0)


def test_junk_while_learning_is_not_counted_as_an_error():
    parser = CsvRowsParser(learn_frames=1)
    assert parser.feed(b"\r\n1,2\r\n" + BANNER + A_TEXT) == []
    assert parser.stats.errors() == 0 and parser.shape is None
    assert parser.stats.junk_bytes == 2 + 5 + 17 + len(A_TEXT)


def test_marker_lines():
    parser = CsvRowsParser(shape=(2, 3), marker="-----")
    text = b"-----\r\n0,1,2\r\n\r\n3,4,500\r\n  -----  \r\n"
    frames = parser.feed(text)
    assert _counts(frames) == [A]
    # The leading marker closes no frame; the blank line inside the frame is skipped. Both are junk.
    assert parser.stats.junk_bytes == 7 + 2 and parser.stats.errors() == 0


def test_a_marker_before_each_frame_delivers_each_frame_at_the_next_marker():
    parser = CsvRowsParser(shape=(2, 3), marker="START")
    assert parser.feed(b"START\r\n0,1,2\r\n3,4,500\r\n") == []
    assert parser.pending() == 16
    assert _counts(parser.feed(b"START\r\n9,8,7\r\n")) == [A]
    assert parser.stats.junk_bytes == 7


def test_in_marker_mode_a_blank_line_does_not_end_a_frame():
    parser = CsvRowsParser(shape=(2, 3), marker="-----")
    assert parser.feed(A_TEXT) == []
    assert parser.stats.junk_bytes == 2 and parser.pending() == 16


@pytest.mark.parametrize("marker", ["", "  ", "12", "1, 2", "a\nb", " START", b"START", 5, "énd"])
def test_a_bad_marker_is_refused(marker):
    with pytest.raises(ValueError, match="marker must"):
        CsvRowsParser(marker=marker)
    with pytest.raises(ValueError, match="marker must"):
        encode_frame([[1]], marker=marker)


def test_too_many_rows_without_a_separator_are_dropped():
    parser = CsvRowsParser(shape=(2, 3))
    frames = parser.feed(b"1,2,3\r\n" * 1000)
    assert frames == [] and parser.pending() == 0
    assert parser.stats.bad_lengths == 1 and parser.stats.junk_bytes == 7000
    frames = parser.feed(b"\r\n" + A_TEXT)
    assert _counts(frames) == [A]
    assert parser.stats.bad_lengths == 1 and parser.stats.junk_bytes == 7002


def test_a_junk_line_also_ends_the_dropping():
    parser = CsvRowsParser(shape=(2, 3))
    frames = parser.feed(b"1,2,3\r\n" * 5 + BANNER + A_TEXT)
    assert _counts(frames) == [A]
    assert parser.stats.bad_lengths == 1 and parser.stats.junk_bytes == 35 + 17


def test_a_line_without_newline_is_capped():
    parser = CsvRowsParser(shape=(2, 3))  # a line holds at most 16 * 3 + 256 = 304 bytes
    parser.feed(b"1" * 304)
    assert parser.pending() == 304
    parser.feed(b"1")
    assert parser.pending() == 0 and parser.stats.junk_bytes == 305
    for _ in range(50):
        parser.feed(b"1" * 1000)
        assert parser.pending() == 0
    frames = parser.feed(b"\r\n" + A_TEXT)
    assert _counts(frames) == [A]
    assert parser.stats.junk_bytes == 50_305 + 2 and parser.stats.errors() == 0


def test_pending_holds_the_rows_of_the_frame_in_progress():
    parser = CsvRowsParser(shape=(2, 3))
    parser.feed(b"0,1,2\r\n3,4")
    assert parser.pending() == 10
    parser.reset()
    assert parser.pending() == 0
    assert _counts(parser.feed(A_TEXT)) == [A]


def test_parse_row():
    assert csv_rows.parse_row(b"1 2,3").tolist() == [1, 2, 3]
    assert csv_rows.parse_row(b"65535").tolist() == [65535]
    assert csv_rows.parse_row(b"") is None
    assert csv_rows.parse_row(b" , ") is None
    assert csv_rows.parse_row(b"65536") is None


def test_encoder_checks_its_input():
    with pytest.raises(ValueError, match=r"counts must lie in 0 \.\. 65535"):
        encode_frame([[0, 65536]])
    with pytest.raises(ValueError, match="counts must be 2-D"):
        encode_frame([1, 2])
    assert encode_frame([[7]], seq=1, t_device_us=2, flags=1) == b"7\r\n\r\n"


def test_registered_protocol():
    protocol = get_protocol("csv-rows")
    assert protocol.parser is CsvRowsParser and protocol.parser.name == "csv-rows"
    assert protocol.default_shape is None and protocol.baudrate == 115200 and protocol.poll is None
    assert (protocol.has_seq, protocol.has_clock, protocol.max_count) == (False, False, 65535)
    assert protocol.encode(np.array(A), seq=0, t_device_us=0, flags=0) == A_TEXT
