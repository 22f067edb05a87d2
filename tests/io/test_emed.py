"""novel emed list exports (.lst): the real step and small files written here."""

import numpy as np
import pytest
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
from plantar.io import FileFormatError, emed, known_formats

#: The export prints forces to 0.01 N: they are exact to half of that.
FORCE_ROUNDING_N = 0.005


# --------------------------------------------------------------------------------------
# small files written by the tests


def _frames(n=3, rows=4, cols=3, seed=0):
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 60, (n, rows, cols)) * 5.0  # emed steps of 5 kPa
    frames[:, 0, :] = 0.0
    frames[0] = 0.0
    return frames


def lst_lines(
    frames,
    *,
    first_col=26,
    first_row=30,
    matrix="64x95",
    area="0.25 cm²",
    picture="10.0 ms",
    size="0.500x0.500 cm",
    first_pict=1,
    omit=(),
):
    """The lines of an emed list export holding ``frames`` (kPa, plate rows top to bottom)."""
    n, rows, cols = frames.shape
    lines = []
    for k, frame in enumerate(frames):
        header = {
            "page": f"\t\t\t\tPage {k + 1}",
            "file": f"\tFile: C:\\novel\\data\\2.dat \tMatrix: {matrix} ",
            "area": f"\tSensor area: {area}\tTime/picture:{picture}",
            "mv": "\tMV over frames",
            "size": f"\tSensor size: {size}",
            "copyright": "\tnovel munich/st.paul/london",
            "pict": f"\tPict-No.: {first_pict + k}  Force[N]=sum*sensor_area in row/column",
        }
        lines.append("")
        for key, text in header.items():
            if key not in omit:
                lines.append(text)
            if key == "page":
                lines.append("")
        lines.append("")
        lines.append("\t" + "\t".join(str(first_col + c) for c in range(cols)) + "\tForce")
        for r, row in enumerate(frame):
            cells = [f"{v:.2f}" for v in row] + [f"{row.sum() * 0.025:.2f}"]
            lines.append(f"{first_row + r}\t" + "\t".join(cells))
        column_forces = [f"{v * 0.025:.2f}" for v in frame.sum(axis=0)] + [f"{frame.sum() * 0.025:.2f}"]
        lines.append("Force\t" + "\t".join(column_forces))
        lines.append("\x0c")
    lines.append("\x0c")
    return lines


def write(path, lines, newline="\n"):
    path.write_bytes((newline.join(lines) + newline).encode("latin-1"))
    return path


def line_of(lines, start_text, start=0):
    """1-based number of the first line starting with ``start_text`` at or after index ``start``."""
    return next(i for i in range(start, len(lines)) if lines[i].startswith(start_text)) + 1


# --------------------------------------------------------------------------------------
# the real step


@pytest.fixture(scope="module")
def real():
    path = real_file("novel-emed", "emed_test.lst")
    return path, plantar.read(path)


def test_real_shape_timing_and_attrs(real):
    path, trial = real
    assert trial.pressure.shape == (106, 54, 22)
    assert trial.attrs["sensor_pitch_x_mm"] == trial.attrs["sensor_pitch_y_mm"] == 5.0
    assert trial.attrs["sampling_rate_hz"] == pytest.approx(100.0)
    np.testing.assert_allclose(np.diff(trial.time.values), 0.01, atol=1e-12)
    np.testing.assert_array_equal(trial.frame_number.values, np.arange(1, 107))
    assert trial.attrs["device"] == "novel emed"
    assert trial.attrs["source_file"] == path.name
    assert trial.attrs["start_time"] == ""  # the file states no date
    assert trial.attrs["plate_columns"] == 64 and trial.attrs["plate_rows"] == 95
    for name in trial.variables:
        assert trial[name].attrs["units"] and trial[name].attrs["long_name"]


def test_real_window_is_placed_on_the_plate(real):
    """Columns 26..47 and rows 30..83 of the 64 x 95 plate, row 95 at y = 0."""
    _, trial = real
    np.testing.assert_allclose(trial.x.values, (np.arange(26, 48) - 1) * 5.0)
    np.testing.assert_allclose(trial.y.values, (95 - np.arange(83, 29, -1)) * 5.0)


def test_real_force_matches_the_stated_force(real):
    """sum(kPa) x sensor area = the page's total force, to the export's rounding, on every page."""
    _, trial = real
    area_m2 = trial.attrs["sensor_pitch_x_mm"] * trial.attrs["sensor_pitch_y_mm"] * 1e-6
    force = trial.pressure.sum(("y", "x")).values.astype(np.float64) * 1e3 * area_m2
    error = np.abs(force - trial.force_reported.values)
    assert error.max() <= FORCE_ROUNDING_N + 1e-6, error.max()
    assert trial.force_reported.attrs["units"] == "N"
    assert trial.force_reported.values.max() > 500  # a barefoot step of an adult


def test_real_values_match_the_text(real):
    """Page 50, read line by line independently of the reader."""
    path, trial = real
    pages = path.read_bytes().decode("latin-1").split("\x0c")
    page = next(p for p in pages if "Pict-No.: 50 " in p)
    rows = [line.split("\t") for line in page.split("\n") if line[:1].isdigit()]
    table = np.array([[float(v) for v in row[1:-1]] for row in rows])
    np.testing.assert_array_equal(trial.pressure.values[49][::-1], table.astype(np.float32))


def test_real_orientation(real):
    """Toes toward +y; read as novel prints it (seen from above) the step is a right foot."""
    _, trial = real
    peak = trial.pressure.max("time").values
    assert apparent_side(peak, trial.x.values, trial.y.values) == "right", landmarks(
        peak, trial.x.values, trial.y.values
    )
    progression = cop_progression_mm(trial)
    assert progression.size == 1 and progression[0] > 150  # one step rolling heel to toes toward +y


def test_real_round_trip(real, tmp_path):
    assert_round_trip(real[1], tmp_path)


def test_real_convert_command(real, tmp_path):
    path, trial = real
    converted = run_convert(path, tmp_path)
    np.testing.assert_array_equal(converted.pressure.values, trial.pressure.values)
    np.testing.assert_array_equal(converted.force_reported.values, trial.force_reported.values)


def test_real_file_is_recognised_by_content(real):
    path, _ = real
    head = path.read_bytes()[:4096]
    assert [f.name for f in known_formats().values() if f.sniff(head)] == ["emed"]


# --------------------------------------------------------------------------------------
# the older, space-separated export ("novel munich/st.paul/london")


@pytest.fixture(scope="module")
def older():
    path = real_file("novel-emed-older", "NP21_2386.lst")
    return path, plantar.read(path)


def test_older_export_shape_and_window(older):
    """78 pictures of columns 20..41 and rows 21..74 of the 64 x 95 plate, 10 ms apart."""
    _, trial = older
    assert trial.pressure.shape == (78, 54, 22)
    assert trial.attrs["sampling_rate_hz"] == pytest.approx(100.0)
    np.testing.assert_array_equal(trial.frame_number.values, np.arange(1, 79))
    np.testing.assert_allclose(trial.x.values, (np.arange(20, 42) - 1) * 5.0)
    np.testing.assert_allclose(trial.y.values, (95 - np.arange(74, 20, -1)) * 5.0)
    assert trial.attrs["original_file"].endswith("NP21\\2386.dat")  # a path with a space in it


def test_older_export_force_matches_every_page(older):
    """sum(kPa) x 0.25 cm² = the page's stated total force, to the export's rounding, on all 78 pages."""
    _, trial = older
    force = trial.pressure.sum(("y", "x")).values.astype(np.float64) * 0.025
    error = np.abs(force - trial.force_reported.values)
    assert error.max() <= FORCE_ROUNDING_N + 1e-6, error.max()
    assert trial.force_reported.values.max() == pytest.approx(904.5)  # page 38's total, as printed


def test_older_export_values_match_the_text(older):
    """Page 40, split on blanks independently of the reader."""
    path, trial = older
    pages = path.read_bytes().decode("latin-1").split("\x0c")
    page = next(p for p in pages if "Pict-No.: 40 " in p)
    rows = [line.split() for line in page.split("\n") if line[:1].isdigit()]
    table = np.array([[float(v) for v in row[1:-1]] for row in rows])
    np.testing.assert_array_equal(trial.pressure.values[39][::-1], table.astype(np.float32))


def test_older_export_is_a_step_toward_plus_y(older):
    path, trial = older
    progression = cop_progression_mm(trial)
    assert progression.size == 1 and progression[0] > 150
    head = path.read_bytes()[:4096]
    assert [f.name for f in known_formats().values() if f.sniff(head)] == ["emed"]


def test_space_separated_cells_read_like_tabs(tmp_path):
    """The older export pads its cells with spaces; the values are the same as with tabs."""
    frames = _frames(n=4, rows=5, cols=3, seed=3)
    lines = lst_lines(frames)
    tabs = plantar.read(write(tmp_path / "tabs.lst", lines))
    spaced = [line.replace("\t", "        ") for line in lines]
    spaces = plantar.read(write(tmp_path / "spaces.lst", spaced))
    np.testing.assert_array_equal(spaces.pressure.values, tabs.pressure.values)
    np.testing.assert_array_equal(spaces.pressure.values, frames[:, ::-1, :].astype(np.float32))
    np.testing.assert_array_equal(spaces.force_reported.values, tabs.force_reported.values)
    assert spaces.attrs["original_file"] == tabs.attrs["original_file"] == "C:\\novel\\data\\2.dat"


def test_space_separated_row_with_a_cell_missing_names_its_line(tmp_path):
    lines = [line.replace("\t", "    ") for line in lst_lines(_frames(n=2, rows=3, cols=3))]
    bad = line_of(lines, "31 ")
    lines[bad - 1] = lines[bad - 1].rsplit("    ", 2)[0] + "    0.10"  # one pressure dropped
    with pytest.raises(FileFormatError, match=rf"line {bad}: row: 3 cells, expected 3 pressures and a force"):
        plantar.read(write(tmp_path / "cut.lst", lines))


# --------------------------------------------------------------------------------------
# grammar


def test_synthetic_values_and_placement(tmp_path):
    frames = _frames()
    trial = plantar.read(write(tmp_path / "s.lst", lst_lines(frames, first_col=10, first_row=50)))
    np.testing.assert_array_equal(trial.pressure.values, frames[:, ::-1, :].astype(np.float32))
    np.testing.assert_allclose(trial.x.values, [45.0, 50.0, 55.0])
    np.testing.assert_allclose(trial.y.values, [(95 - 53) * 5.0, (95 - 52) * 5.0, (95 - 51) * 5.0, (95 - 50) * 5.0])
    np.testing.assert_allclose(trial.force_reported.values, np.round(frames.sum(axis=(1, 2)) * 0.025, 2))


def test_lf_and_crlf_read_the_same(tmp_path):
    lines = lst_lines(_frames())
    lf = plantar.read(write(tmp_path / "lf.lst", lines))
    crlf = plantar.read(write(tmp_path / "crlf.lst", lines, "\r\n"))
    np.testing.assert_array_equal(crlf.pressure.values, lf.pressure.values)
    np.testing.assert_array_equal(crlf.force_reported.values, lf.force_reported.values)


def test_units_of_the_header(tmp_path):
    trial = plantar.read(
        write(tmp_path / "u.lst", lst_lines(_frames(), area="25 mm²", picture="0.02 s", size="5x5 mm"))
    )
    assert trial.attrs["sensor_pitch_x_mm"] == 5.0
    assert trial.attrs["sampling_rate_hz"] == pytest.approx(50.0)


def test_summary_pages_are_skipped(tmp_path):
    lines = lst_lines(_frames())
    summary = lst_lines(_frames(1, seed=3))
    summary = [line.replace("Pict-No.: 1 ", "MPP ").replace("Pict-No.: 1", "MPP") for line in summary]
    trial = plantar.read(write(tmp_path / "s.lst", lines[:-1] + summary))
    assert trial.sizes["time"] == 3


def test_recognised_by_content_whatever_the_name(tmp_path):
    assert plantar.read(write(tmp_path / "step.txt", lst_lines(_frames()))).attrs["device"] == "novel emed"


# --------------------------------------------------------------------------------------
# bad input


def test_missing_page(tmp_path):
    lines = lst_lines(_frames(4))
    start = line_of(lines, "\t\t\t\tPage 2") - 1
    end = line_of(lines, "\t\t\t\tPage 3") - 1
    del lines[start - 1 : end - 1]
    path = write(tmp_path / "m.lst", lines)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {line_of(lines, chr(9) + 'Pict-No.: 3')}", "Pict-No.", "picture 3 follows picture 1")


def test_garbage_in_a_cell(tmp_path):
    lines = lst_lines(_frames())
    target = line_of(lines, "32\t", line_of(lines, "\t\t\t\tPage 2"))
    cells = lines[target - 1].split("\t")
    cells[2] = "4O.00"
    lines[target - 1] = "\t".join(cells)
    path = write(tmp_path / "g.lst", lines)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {target}", "column 2", "'4O.00'")


def test_a_row_too_few(tmp_path):
    lines = lst_lines(_frames())
    page2 = line_of(lines, "\t\t\t\tPage 2")
    del lines[line_of(lines, "32\t", page2) - 1]
    path = write(tmp_path / "r.lst", lines)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {line_of(lines, 'Force', page2)}", "rows", "page 2 has 3 rows")


def test_a_cell_too_many(tmp_path):
    lines = lst_lines(_frames())
    target = line_of(lines, "31\t", line_of(lines, "\t\t\t\tPage 3"))
    lines[target - 1] += "\t0.00"
    path = write(tmp_path / "c.lst", lines)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {target}", "row", "5 cells, expected 3 pressures and a force")


def test_bad_row_number(tmp_path):
    lines = lst_lines(_frames())
    target = line_of(lines, "31\t")
    lines[target - 1] = "3l" + lines[target - 1][2:]
    path = write(tmp_path / "n.lst", lines)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {target}", "row number", "'3l'")


@pytest.mark.parametrize(("key", "field"), [("size", "Sensor size"), ("area", "Sensor area"), ("file", "Matrix")])
def test_missing_header_field(tmp_path, key, field):
    lines = lst_lines(_frames(), omit=(key,))
    path = write(tmp_path / "h.lst", lines)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {line_of(lines, chr(9) + 'Pict-No.: 1')}", f"'{field}'", "missing")


def test_area_must_match_the_sensor_size(tmp_path):
    path = write(tmp_path / "a.lst", lst_lines(_frames(), area="0.30 cm²"))
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, "line 2", "Sensor area")


def test_window_outside_the_plate(tmp_path):
    path = write(tmp_path / "o.lst", lst_lines(_frames(), first_row=93))
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, "window", "outside the 64x95 plate")


@pytest.mark.parametrize("cut_before", ["Force\t", "\x0c", "32\t"])
def test_truncated_file(tmp_path, cut_before):
    lines = lst_lines(_frames())
    last_page = line_of(lines, "\t\t\t\tPage 3")
    keep = line_of(lines, cut_before, last_page) - 1
    path = write(tmp_path / "t.lst", lines[:keep])
    with pytest.raises(FileFormatError, match="truncated") as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {keep}")  # the last line of what is left


def test_not_a_page_file(tmp_path):
    path = write(tmp_path / "x.lst", ["hello", "world"])
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, "line 1", "Page")


def test_sniff():
    assert emed.sniff(b"\n\t\t\t\tPage 1\n\n\tFile: x.dat \tMatrix: 64x95 \n\tPict-No.: 1  Force")
    assert not emed.sniff(b"Page 1 of my diary\n")
    assert not emed.sniff(b"")


# --------------------------------------------------------------------------------------
# truncation the format reveals, and implausible values


def test_a_file_cut_after_a_page_is_refused(tmp_path):
    """The export closes with an empty page: without it, a file cut between pages would read as fewer frames."""
    lines = lst_lines(_frames())
    path = write(tmp_path / "p.lst", lines[:-1])  # the closing form feed gone: 3 whole pages
    with pytest.raises(FileFormatError, match="truncated") as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {len(lines) - 1}", "closing empty page")
    second = line_of(lines, "\t\t\t\tPage 3") - 2  # right after page 2's form feed
    path = write(tmp_path / "q.lst", lines[:second])
    with pytest.raises(FileFormatError, match="truncated"):
        plantar.read(path)


@pytest.mark.parametrize("keep_until", ["\tFile:", "\tSensor size", "\tnovel munich"])
def test_a_page_cut_before_its_picture_number_is_refused(tmp_path, keep_until):
    """A page cut in its header has no Pict-No. yet: it is not a summary page, it is truncated."""
    lines = lst_lines(_frames())
    keep = line_of(lines, keep_until, line_of(lines, "\t\t\t\tPage 3"))
    path = write(tmp_path / "h.lst", lines[:keep])
    with pytest.raises(FileFormatError, match="page 3 ends without its form feed") as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {keep}")


def test_every_cut_of_the_real_step_near_its_end_is_refused(real, tmp_path):
    """Every line boundary of the last page (and the closing page), and a cut inside every fourth line."""
    path, trial = real
    data = path.read_bytes()
    last_page = data.rindex(b"\t\t\t\tPage 106")
    ends = [i + 1 for i in range(last_page, len(data) - 1) if data[i] == 10]
    cuts = ends + [e - 3 for e in ends[::4]] + [len(data) - 1]
    target = tmp_path / "cut.lst"
    for at in cuts:
        target.write_bytes(data[:at])
        with pytest.raises(FileFormatError) as exc:
            plantar.read(target)
        assert str(target) in str(exc.value) and "\n" not in str(exc.value)


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("Time/picture:10.0 ms", "Time/picture:0.0000001 ms", "Time/picture"),
        ("Sensor size: 0.500x0.500 cm", "Sensor size: 0.500x999.0 cm", "Sensor size"),
        ("Matrix: 64x95", "Matrix: 64x99999999999999999999", "Matrix"),
    ],
)
def test_implausible_header_values_are_refused(tmp_path, old, new, field):
    lines = [line.replace(old, new) for line in lst_lines(_frames())]
    path = write(tmp_path / "i.lst", lines)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    first_page_line = next(i for i, line in enumerate(lines) if field + ":" in line) + 1
    assert_names(exc, path, f"line {first_page_line}", f"'{field}'", "implausible" if field != "Matrix" else "not a plate")


@pytest.mark.parametrize("cell", ["3.4e38", "nan", "inf", "100000.00"])
def test_an_implausible_cell_is_refused_with_its_line(tmp_path, cell):
    lines = lst_lines(_frames())
    at = line_of(lines, "32\t", line_of(lines, "\t\t\t\tPage 2"))
    cells = lines[at - 1].split("\t")
    cells[2] = cell
    lines[at - 1] = "\t".join(cells)
    path = write(tmp_path / "c.lst", lines)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {at}", "column 2", "not a pressure")
