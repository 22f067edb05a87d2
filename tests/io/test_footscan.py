"""RSscan footscan Dynamic Roll off exports (.xls): the real step and sheets made here.

xlrd reads Excel 97 files but cannot write them, so the grammar tests hand the
reader a workbook made in memory (``FakeBook``) in place of xlrd's, behind a file
with the OLE2 signature: everything after opening the workbook is the real path
through ``plantar.read``.
"""

import numpy as np
import pytest
import xlrd
from vendor_helpers import (
    apparent_side,
    assert_names,
    assert_round_trip,
    cop_progression_mm,
    landmarks,
    real_file,
    run_convert,
)

import plantar
from plantar.io import FileFormatError, footscan, known_formats

KPA_PER_N = 1.0 / (5.08e-3 * 7.62e-3) / 1e3


# --------------------------------------------------------------------------------------
# a workbook in memory


class FakeSheet:
    """The part of xlrd's Sheet the reader uses, from a list of rows of str / float / None."""

    def __init__(self, rows):
        self.nrows = len(rows)
        self.ncols = max((len(r) for r in rows), default=0)
        self._rows = [list(r) + [None] * (self.ncols - len(r)) for r in rows]

    def col_types(self, c):
        return [
            xlrd.XL_CELL_EMPTY if r[c] is None else xlrd.XL_CELL_TEXT if isinstance(r[c], str) else xlrd.XL_CELL_NUMBER
            for r in self._rows
        ]

    def col_values(self, c):
        return ["" if r[c] is None else r[c] for r in self._rows]


class FakeBook:
    def __init__(self, rows):
        self.sheet = FakeSheet(rows)

    def sheet_by_index(self, index):
        return self.sheet

    def release_resources(self):
        pass


def _frames(n=4, rows=5, cols=3, seed=0):
    rng = np.random.default_rng(seed)
    frames = np.round(rng.uniform(0, 20, (n, rows, cols)), 1)
    frames[:, :, 0] = 0.0
    return frames


def sheet_rows(
    frames, *, side="Right", bottom=6, left=40, times_ms=None, date="07-07-2011", rates=(0.0, 500.0), omit=()
):
    """Rows of a Dynamic Roll off sheet holding ``frames`` (N per sensor, row 0 = heel end)."""
    n, height, width = frames.shape
    times_ms = 2.0 * np.arange(n) if times_ms is None else times_ms
    header = [
        ["Dynamic Roll offfor measurement: Barefoot_2"],
        ["Patient name: NA"],
        [f"Measurement done on {date}"],
        [f"Scanning speed;  for the left foot: {rates[0]:.2f} Hertz, for the right foot: {rates[1]:.2f} Hertz"],
        [],
        [f"{side} foot data"],
        [],
        [f"{side} rectangle position"],
    ]
    for name, value in (
        ("Rectangle bottom", bottom),
        ("Rectangle left", left),
        ("Rectangle width", width),
        ("Rectangle height", height),
    ):
        if name not in omit:
            header += [[name], [float(value)]]
    rows = header + [[]]
    for k, frame in enumerate(frames):
        rows.append([f"Frame {k} ({times_ms[k]:.2f} ms)"])
        rows += [list(map(float, row)) for row in frame]
        rows.append([])
    return rows[:-1]


@pytest.fixture
def fake_xls(tmp_path, monkeypatch):
    """Write a file with the OLE2 signature whose workbook is ``rows``; return its path."""

    def make(rows, name="step.xls"):
        monkeypatch.setattr(xlrd, "open_workbook", lambda *args, **kwargs: FakeBook(rows))
        path = tmp_path / name
        path.write_bytes(footscan.OLE2_SIGNATURE + bytes(504))
        return path

    return make


def row_of(rows, text):
    """1-based spreadsheet row of the first row whose column A is ``text``."""
    return next(i for i, r in enumerate(rows) if r and r[0] == text) + 1


# --------------------------------------------------------------------------------------
# the real step


@pytest.fixture(scope="module")
def real():
    path = real_file("rsscan-footscan", "footscan_test.xls")
    return path, plantar.read(path)


def test_real_frames_side_timing(real):
    path, trial = real
    assert trial.pressure.shape == (329, 38, 20)
    assert trial.attrs["side"] == "right"
    assert trial.attrs["sampling_rate_hz"] == 500.0
    np.testing.assert_allclose(trial.time.values, np.arange(329) * 0.002, atol=1e-12)
    assert (trial.attrs["sensor_pitch_x_mm"], trial.attrs["sensor_pitch_y_mm"]) == (5.08, 7.62)
    assert trial.attrs["start_time"] == "2011-07-07"
    assert trial.attrs["measurement"] == "Barefoot_2"
    assert trial.attrs["subject"] == ""  # "Patient name: NA"
    assert trial.attrs["source_file"] == path.name
    for name in trial.variables:
        assert trial[name].attrs["units"] and trial[name].attrs["long_name"]


def test_real_contact_frames(real):
    _, trial = real
    loaded = (trial.pressure.sum(("y", "x")) > 0).values
    assert loaded.sum() == 327  # README: contact lasts 327 of 329 frames


def test_real_kpa_conversion(real):
    """Frame 150 read cell by cell with xlrd: kPa x sensor area gives back the N in the sheet."""
    path, trial = real
    sheet = xlrd.open_workbook(str(path)).sheet_by_index(0)
    start = next(r for r in range(sheet.nrows) if str(sheet.cell_value(r, 0)).startswith("Frame 150 "))
    newton = np.array([sheet.row_values(start + 1 + i)[:20] for i in range(38)], dtype=float)
    np.testing.assert_allclose(trial.pressure.values[150], newton * KPA_PER_N, rtol=1e-6)
    np.testing.assert_allclose(trial.pressure.values[150] / KPA_PER_N, newton, atol=1e-5)


def test_real_rectangle_position(real):
    _, trial = real
    assert trial.x.values[0] == pytest.approx(40 * 5.08)
    assert trial.y.values[0] == pytest.approx(6 * 7.62)


def test_real_orientation(real):
    """A right foot with its toes toward +y: toe line and lateral midfoot at +x."""
    _, trial = real
    peak = trial.pressure.max("time").values
    assert apparent_side(peak, trial.x.values, trial.y.values) == "right", landmarks(
        peak, trial.x.values, trial.y.values
    )
    progression = cop_progression_mm(trial)
    assert progression.size == 1 and progression[0] > 150


def test_real_round_trip(real, tmp_path):
    assert_round_trip(real[1], tmp_path)


def test_real_convert_command(real, tmp_path):
    path, trial = real
    converted = run_convert(path, tmp_path)
    np.testing.assert_array_equal(converted.pressure.values, trial.pressure.values)
    assert converted.attrs["side"] == "right"


def test_real_file_is_recognised_by_content(real):
    path, _ = real
    head = path.read_bytes()[:4096]
    assert [f.name for f in known_formats().values() if f.sniff(head)] == ["footscan"]


def test_truncated_real_workbook(real, tmp_path):
    """The first half of the real file, written to a temporary file: the workbook does not open."""
    path, _ = real
    cut = tmp_path / "cut.xls"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(FileFormatError) as exc:
        plantar.read(cut)
    assert_names(exc, cut, "workbook", "truncated")


# --------------------------------------------------------------------------------------
# grammar, on sheets made here


def test_synthetic_values_orientation_and_placement(fake_xls):
    frames = _frames()
    trial = plantar.read(fake_xls(sheet_rows(frames, bottom=2, left=10, times_ms=[0.0, 2.0, 4.0, 7.0])))
    np.testing.assert_allclose(trial.pressure.values, frames * KPA_PER_N, rtol=1e-6)  # row 0 (heel) at the smallest y
    np.testing.assert_allclose(trial.x.values, (10 + np.arange(3)) * 5.08)
    np.testing.assert_allclose(trial.y.values, (2 + np.arange(5)) * 7.62)
    np.testing.assert_allclose(trial.time.values, [0.0, 0.002, 0.004, 0.007])
    assert trial.attrs["side"] == "right"


def test_left_foot(fake_xls):
    trial = plantar.read(fake_xls(sheet_rows(_frames(), side="Left", rates=(250.0, 0.0), times_ms=4.0 * np.arange(4))))
    assert trial.attrs["side"] == "left"
    assert trial.attrs["sampling_rate_hz"] == 250.0


@pytest.mark.parametrize(
    ("date", "iso"), [("07-07-2011", "2011-07-07"), ("25-12-2010", "2010-12-25"), ("03-07-2011", "")]
)
def test_dates(fake_xls, date, iso):
    """dd-mm-yyyy; a date whose day and month could be swapped is kept only as text."""
    trial = plantar.read(fake_xls(sheet_rows(_frames(), date=date)))
    assert trial.attrs["start_time"] == iso
    assert trial.attrs["start_time_text"] == date


@pytest.mark.parametrize("name", ["Rectangle bottom", "Rectangle left", "Rectangle width", "Rectangle height"])
def test_missing_rectangle_field(fake_xls, name):
    rows = sheet_rows(_frames(), omit=(name,))
    path = fake_xls(rows)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {row_of(rows, 'Frame 0 (0.00 ms)')}", f"'{name}'", "not found")


def test_rectangle_value_not_a_number(fake_xls):
    rows = sheet_rows(_frames())
    at = row_of(rows, "Rectangle width")
    rows[at] = ["twenty"]
    path = fake_xls(rows)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {at + 1}", "'Rectangle width'")


def test_garbage_in_a_cell(fake_xls):
    rows = sheet_rows(_frames())
    target = row_of(rows, "Frame 2 (4.00 ms)") + 3  # the third row of frame 2
    rows[target - 1][1] = "1,5"
    path = fake_xls(rows)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {target}", f"cell B{target}", "frame 2", "'1,5'")


def test_a_row_too_few(fake_xls):
    rows = sheet_rows(_frames())
    start = row_of(rows, "Frame 1 (2.00 ms)")
    del rows[start]  # frame 1 loses its first row
    path = fake_xls(rows)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(
        exc, path, f"line {start + 5}", "rows", "frame 1 has 4 rows, expected 5"
    )  # a blank row where row 5 should be


def test_a_row_too_many(fake_xls):
    rows = sheet_rows(_frames())
    start = row_of(rows, "Frame 1 (2.00 ms)")
    rows.insert(start + 5, [0.0, 0.0, 0.0])
    path = fake_xls(rows)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {start + 6}", "rows", "frame 1 has more than 5 rows")


def test_a_number_beyond_the_width(fake_xls):
    rows = sheet_rows(_frames())
    target = row_of(rows, "Frame 3 (6.00 ms)") + 2
    rows[target - 1] = rows[target - 1] + [1.0]
    path = fake_xls(rows)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {target}", f"cell D{target}", "beyond the 3 columns")


def test_missing_frame(fake_xls):
    rows = sheet_rows(_frames())
    start = row_of(rows, "Frame 1 (2.00 ms)")
    del rows[start - 1 : start + 6]  # the frame header, its 5 rows and the blank row
    path = fake_xls(rows)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {row_of(rows, 'Frame 2 (4.00 ms)')}", "frame number", "Frame 2 follows Frame 0")


def test_truncated_last_frame(fake_xls):
    rows = sheet_rows(_frames())[:-2]
    path = fake_xls(rows)
    with pytest.raises(FileFormatError, match="truncated") as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {len(rows)}", "rows", "frame 3 has 3 rows")


def test_bad_frame_header(fake_xls):
    rows = sheet_rows(_frames())
    at = row_of(rows, "Frame 2 (4.00 ms)")
    rows[at - 1] = ["Frame 2 (4.00 seconds)"]
    path = fake_xls(rows)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {at}", "frame header")


def test_no_rate_for_the_side(fake_xls):
    rows = sheet_rows(_frames(), rates=(500.0, 0.0))
    path = fake_xls(rows)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, "line 4", "Scanning speed", "0 Hz")


def test_both_feet_are_refused(fake_xls):
    rows = sheet_rows(_frames())
    rows = rows[:8] + [["Left foot data"]] + rows[8:]
    path = fake_xls(rows)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, "line 9", "both feet")


def test_not_a_roll_off_sheet(fake_xls):
    path = fake_xls([["Balance test"], [1.0, 2.0]])
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, "line 2", "'Dynamic Roll off' row")


def test_not_an_excel_file(tmp_path):
    path = tmp_path / "step.xls"
    path.write_bytes(b"this is text, not a workbook\n" * 10)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)  # recognised by its name, refused by the reader
    assert_names(exc, path, "workbook", "not a readable Excel 97 file")


def test_sniff():
    assert footscan.sniff(footscan.OLE2_SIGNATURE + bytes(10))
    assert not footscan.sniff(b"PK\x03\x04")
    assert not footscan.sniff(b"")


# --------------------------------------------------------------------------------------
# corrupt workbooks, implausible values, and nothing printed


@pytest.mark.parametrize("force_n", [1e20, 3872.0, float("nan"), float("inf")])
def test_an_implausible_force_names_its_cell(fake_xls, force_n):
    """3872 N on one 5.08 x 7.62 mm sensor is 100 MPa."""
    rows = sheet_rows(_frames())
    target = row_of(rows, "Frame 1 (2.00 ms)") + 2
    rows[target - 1][2] = force_n
    path = fake_xls(rows)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {target}", f"cell C{target}", "is not a force on one sensor")


def test_frame_times_that_contradict_the_scanning_speed(fake_xls):
    rows = sheet_rows(_frames(), times_ms=20.0 * np.arange(4))  # 50 Hz frames, 500 Hz stated
    path = fake_xls(rows)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {row_of(rows, 'Frame 1 (20.00 ms)')}", "frame time", "500 Hertz (2 ms)")


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("Scanning speed;  for the left foot: 0.00 Hertz, for the right foot: 1e9.00 Hertz", "Scanning speed"),
        ("Scanning speed;  for the left foot: 0.00 Hertz, for the right foot: 1.2.3 Hertz", "Scanning speed"),
        ("Measurement done on 31-13-2011", "Measurement done on"),
    ],
)
def test_unreadable_header_values_name_their_row(fake_xls, text, field):
    rows = sheet_rows(_frames())
    at = next(i for i, r in enumerate(rows) if r and r[0].startswith(text.split()[0]))
    rows[at] = [text]
    path = fake_xls(rows)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {at + 1}", field)


@pytest.mark.parametrize("error", [KeyError(203), AssertionError(), IndexError("array index out of range")])
def test_whatever_xlrd_raises_on_a_corrupt_sheet_is_a_file_format_error(tmp_path, monkeypatch, error):
    class BrokenBook(FakeBook):
        def sheet_by_index(self, index):
            raise error

    monkeypatch.setattr(xlrd, "open_workbook", lambda *args, **kwargs: BrokenBook([]))
    path = tmp_path / "broken.xls"
    path.write_bytes(footscan.OLE2_SIGNATURE + bytes(504))
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, "workbook", "truncated or corrupt", type(error).__name__)
    assert "\n" not in str(exc.value)


def test_a_truncated_real_workbook_prints_nothing(tmp_path, capfd, caplog):
    """xlrd writes its warnings to stdout unless told otherwise: they go to the plantar logger."""
    source = real_file("rsscan-footscan", "footscan_test.xls")
    path = tmp_path / "cut.xls"
    path.write_bytes(source.read_bytes()[:1224942])
    with caplog.at_level("DEBUG", logger="plantar"):
        with pytest.raises(FileFormatError) as exc:
            plantar.read(path)
    assert_names(exc, path, "workbook", "truncated or corrupt")
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert any("xlrd" in record.getMessage() and "WARNING" in record.getMessage() for record in caplog.records)
