"""Tekscan ASCII movies (.asf) and CSV exports: real F-Scan files and small files written here."""

import subprocess
import sys

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
from plantar.io import FileFormatError, known_formats
from plantar.io import tekscan

SENSEL_AREA_M2 = (5.08e-3) ** 2


# --------------------------------------------------------------------------------------
# small files written by the tests


def _frames(n=3, rows=6, cols=4, seed=0):
    """Integer kPa frames with a trimmed outline (NaN = B) at two corners."""
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 400, (n, rows, cols)).astype(float)
    frames[:, 0, 0] = frames[:, -1, -1] = np.nan
    frames[1] = np.where(np.isnan(frames[1]), np.nan, 0.0)  # an unloaded frame
    return frames


def _cell(value):
    if np.isnan(value):
        return "B"
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def asf_lines(
    frames,
    *,
    units="KPa",
    row_spacing="5.08 mm",
    col_spacing="5.08 mm",
    seconds_per_frame="0.01",
    start_frame=1,
    time="Thursday, 16 February 2017 11:26:22 a.m.",
    calibration="75.0001 (Kgs) 4798 (Raw Sum) 240 (Number of Loaded Cells)",
    frame_suffix="",
    omit=(),
    extra=(),
):
    """The lines (without line ends) of a Tekscan movie holding ``frames`` (NaN = B)."""
    n, rows, cols = frames.shape
    header = [
        ("DATA_TYPE", "MOVIE"),
        ("VERSION", "Tekscan Pressure Measurement System 6.33"),
        ("HARDWARE", "116-1974-1"),
        ("SENSOR_TYPE", "FSCAN"),
        ("ROWS", str(rows)),
        ("COLS", str(cols)),
        ("ROW_SPACING", row_spacing),
        ("COL_SPACING", col_spacing),
        ("SENSEL_AREA", "25.8064 mm2"),
        ("NOISE_THRESHOLD", "3"),
        ("SECONDS_PER_FRAME", seconds_per_frame),
        ("TIME", time),
        ("SATURATION_PRESSURE", "1514.73 KPa"),
        ("CALIBRATION_POINT_1", calibration),
        ("CALIBRATION_MODE_1", "Walk"),
        ("COMMENTS:", ""),
        ("START_FRAME", str(start_frame)),
        ("END_FRAME", str(start_frame + n - 1)),
        ("UNITS", units),
        ("MIRROR_ROW", "0"),
        ("MIRROR_COL", "0"),
        *extra,
    ]
    lines = []
    for key, value in header:
        if key in omit:
            continue
        lines.append(f"{key} {value}".rstrip())
        if key == "COMMENTS:":
            lines.append("written by the plantar tests")
    lines += ["ASCII_DATA @@", ""]
    for k, frame in enumerate(frames):
        lines.append(f"Frame {start_frame + k}{frame_suffix}")
        lines += [",".join(_cell(v) for v in row) for row in frame]
        lines.append("")
    lines.append("@@")
    return lines


def write(path, lines, newline="\n"):
    path.write_bytes((newline.join(lines) + newline).encode("latin-1"))
    return path


def line_of(lines, text, start=0):
    """1-based line number of the first line equal to ``text`` at or after index ``start``."""
    return lines.index(text, start) + 1


# --------------------------------------------------------------------------------------
# the real F-Scan walk (left and right insole)


@pytest.fixture(scope="module", params=["FrasP01L", "FrasP01R"])
def real(request):
    path = real_file("tekscan-fscan", f"{request.param}.asf")
    return path, plantar.read(path)


def _first_frame_cells(path):
    """Frame 1 of the file as text cells, read line by line (independently of the reader)."""
    lines = path.read_text(encoding="latin-1").splitlines()
    start = lines.index("Frame 1") + 1
    return [line.split(",") for line in lines[start : start + 60]]


def test_real_header_fields(real):
    path, trial = real
    a = trial.attrs
    assert trial.pressure.shape == (205, 60, 21)
    assert a["sensor_pitch_x_mm"] == a["sensor_pitch_y_mm"] == 5.08
    assert a["sampling_rate_hz"] == pytest.approx(31.25)
    np.testing.assert_allclose(np.diff(trial.time.values), 0.032, rtol=1e-12)
    np.testing.assert_array_equal(trial.frame_number.values, np.arange(1, 206))
    assert a["start_time"] == "2017-02-16T11:26:22"
    assert a["start_time_text"] == "Thursday, 16 February 2017 11:26:22 a.m."
    assert a["body_mass_kg"] == pytest.approx(75.0001)
    assert a["units_in_file"] == "KPa"
    assert a["device"] == "Tekscan FSCAN"
    assert a["source_file"] == path.name
    assert a["source_format"].startswith("Tekscan ASCII movie")
    assert a["calibration_mode"] == "Walk"
    assert a["comments"] == "overground walk p10"
    assert a["saturation_pressure_kpa"] == (1514.73 if path.stem.endswith("L") else 553.643)
    for name in trial.variables:
        assert trial[name].attrs["units"] and trial[name].attrs["long_name"]


def test_real_b_cells_are_nan_and_values_match_the_text(real):
    path, trial = real
    cells = _first_frame_cells(path)
    is_b = np.array([[c == "B" for c in row] for row in cells])
    values = np.array([[np.nan if c == "B" else float(c) for c in row] for row in cells])
    frame = trial.pressure.values[0][::-1]  # back to the file's row order (row 0 = toes)
    np.testing.assert_array_equal(np.isnan(frame), is_b)
    np.testing.assert_array_equal(frame, values)
    # the outline is the same in every frame
    assert (np.isnan(trial.pressure.values) == np.isnan(trial.pressure.values[0])).all()
    assert is_b.sum() == 305


def test_real_peak_force_and_quirks(real):
    path, trial = real
    force = trial.pressure.fillna(0).sum(("y", "x")).values * 1e3 * SENSEL_AREA_M2
    expected = 924.0 if path.stem.endswith("L") else 784.0  # README: "peaks near"
    assert force.max() == pytest.approx(expected, abs=1.0)
    if path.stem.endswith("L"):
        assert np.count_nonzero(force == 0) == 71  # README: 71 all-zero frames
    assert np.nanmax(trial.pressure.values) <= trial.attrs["saturation_pressure_kpa"] + 1


def test_real_orientation(real):
    """Toes toward +y, hallux side and lateral midfoot where a left/right foot has them."""
    path, trial = real
    side = "left" if path.stem.endswith("L") else "right"
    peak = trial.pressure.max("time").values
    assert apparent_side(peak, trial.x.values, trial.y.values) == side, landmarks(peak, trial.x.values, trial.y.values)
    progression = cop_progression_mm(trial)
    assert progression.size >= 5  # about 6 steps per foot
    assert (progression > 50).all(), progression  # every stance rolls from heel to toes, toward +y


def test_real_round_trip(real, tmp_path):
    assert_round_trip(real[1], tmp_path)


def test_real_convert_command(real, tmp_path):
    path, trial = real
    converted = run_convert(path, tmp_path)
    np.testing.assert_array_equal(converted.pressure.values, trial.pressure.values)
    assert converted.attrs == trial.attrs


def test_real_files_are_recognised_by_content(real):
    path, _ = real
    head = path.read_bytes()[:4096]
    assert [f.name for f in known_formats().values() if f.sniff(head)] == ["tekscan"]


# --------------------------------------------------------------------------------------
# grammar variants


def test_synthetic_values_orientation_and_times(tmp_path):
    frames = _frames()
    path = write(tmp_path / "walk.asf", asf_lines(frames))
    trial = plantar.read(path)
    np.testing.assert_array_equal(trial.pressure.values, frames[:, ::-1, :].astype(np.float32))
    np.testing.assert_allclose(trial.time.values, [0.0, 0.01, 0.02])
    np.testing.assert_allclose(trial.x.values, 5.08 * np.arange(4))
    np.testing.assert_allclose(trial.y.values, 5.08 * np.arange(6))
    assert trial.attrs["sampling_rate_hz"] == pytest.approx(100.0)


def test_lf_and_crlf_read_the_same(tmp_path):
    lines = asf_lines(_frames())
    lf = plantar.read(write(tmp_path / "lf.asf", lines, "\n"))
    crlf = plantar.read(write(tmp_path / "crlf.asf", lines, "\r\n"))
    assert crlf.drop_attrs(deep=False).identical(lf.drop_attrs(deep=False))
    assert {k: v for k, v in crlf.attrs.items() if k != "source_file"} == {
        k: v for k, v in lf.attrs.items() if k != "source_file"
    }


def test_psi_units_are_converted(tmp_path):
    frames = _frames()
    frames[2, 3, 2] = 12.5  # a decimal cell
    kpa = plantar.read(write(tmp_path / "kpa.asf", asf_lines(frames)))
    psi = plantar.read(write(tmp_path / "psi.asf", asf_lines(frames, units="PSI")))
    np.testing.assert_allclose(psi.pressure.values, kpa.pressure.values * 6.894757, rtol=1e-6)
    assert psi.attrs["units_in_file"] == "PSI"


def test_mpa_and_mmhg_units(tmp_path):
    frames = _frames() % 90  # below 100 MPa even when read as MPa
    kpa = plantar.read(write(tmp_path / "kpa.asf", asf_lines(frames))).pressure.values
    mpa = plantar.read(write(tmp_path / "mpa.asf", asf_lines(frames, units="MPa"))).pressure.values
    mmhg = plantar.read(write(tmp_path / "mmhg.asf", asf_lines(frames, units="mmHg"))).pressure.values
    assert np.nanmax(kpa) > 50
    np.testing.assert_allclose(mpa, kpa * 1000, rtol=1e-6)
    np.testing.assert_allclose(mmhg, kpa * 0.1333224, rtol=1e-6)


@pytest.mark.parametrize(
    ("spacing", "expected_mm"),
    [("5.08 mm", 5.08), ("0.508 cm", 5.08), ("0.508 centimeters", 5.08), ("0.2 inches", 5.08), ("0.25 in", 6.35)],
)
def test_spacing_units(tmp_path, spacing, expected_mm):
    trial = plantar.read(write(tmp_path / "s.asf", asf_lines(_frames(), row_spacing="0.7 cm", col_spacing=spacing)))
    assert trial.attrs["sensor_pitch_x_mm"] == pytest.approx(expected_mm)
    assert trial.attrs["sensor_pitch_y_mm"] == pytest.approx(7.0)


def test_extra_fields_after_frame_lines(tmp_path):
    frames = _frames()
    plain = plantar.read(write(tmp_path / "plain.asf", asf_lines(frames)))
    extra = plantar.read(
        write(tmp_path / "extra.asf", asf_lines(frames, frame_suffix=", 0,, 12/2/2019 6:21:52.34PM,,,Raw Sum=,,310"))
    )
    np.testing.assert_array_equal(extra.pressure.values, plain.pressure.values)


def test_start_frame_shifts_start_time_not_time(tmp_path):
    trial = plantar.read(write(tmp_path / "s.asf", asf_lines(_frames(), start_frame=11, seconds_per_frame="0.5")))
    np.testing.assert_array_equal(trial.frame_number.values, [11, 12, 13])
    np.testing.assert_allclose(trial.time.values, [0.0, 0.5, 1.0])
    assert trial.attrs["start_time"] == "2017-02-16T11:26:27"  # frame 11 is 10 x 0.5 s after frame 1


def test_unreadable_time_is_kept_as_text(tmp_path):
    trial = plantar.read(write(tmp_path / "t.asf", asf_lines(_frames(), time="sometime on a Tuesday")))
    assert trial.attrs["start_time"] == ""
    assert trial.attrs["start_time_text"] == "sometime on a Tuesday"


def test_body_mass_in_pounds_and_absent(tmp_path):
    lbs = plantar.read(write(tmp_path / "lbs.asf", asf_lines(_frames(), calibration="165.347 (Lbs) 4798 (Raw Sum)")))
    assert lbs.attrs["body_mass_kg"] == pytest.approx(75.0, abs=1e-3)
    none = plantar.read(write(tmp_path / "none.asf", asf_lines(_frames(), omit=("CALIBRATION_POINT_1",))))
    assert none.attrs["body_mass_kg"] == 0.0


def test_comments_end_at_the_next_key(tmp_path):
    lines = asf_lines(_frames())
    at = lines.index("written by the plantar tests")
    lines[at : at + 1] = ["first line of a comment", "and a second one"]
    lines.insert(at + 2, lines.pop(lines.index("ROWS 6")))  # a key without "_" right after the comment
    trial = plantar.read(write(tmp_path / "c.asf", lines))
    assert trial.attrs["comments"] == "first line of a comment and a second one"
    assert trial.pressure.shape == (3, 6, 4)


def test_recognised_by_content_whatever_the_name(tmp_path):
    path = write(tmp_path / "export.txt", asf_lines(_frames()))
    assert plantar.read(path).attrs["source_format"].startswith("Tekscan")
    csv = write(tmp_path / "export.csv", asf_lines(_frames()))
    assert plantar.read(csv).pressure.shape == (3, 6, 4)


# --------------------------------------------------------------------------------------
# the frames are decoded by a C parser: the values are those of the text, cell by cell


def _decimal_cells(n=4, rows=7, cols=5, seed=3):
    """Text cells of every form the grammar allows (digits, digits.digits, .digits, digits., B), below 100."""
    rng = np.random.default_rng(seed)
    cells = np.empty((n, rows, cols), object)
    for index in np.ndindex(cells.shape):
        whole = "".join(rng.integers(0, 10, int(rng.integers(0, 3))).astype(str))
        fraction = "".join(rng.integers(0, 10, int(rng.integers(0, 11))).astype(str))
        cells[index] = whole + "." + fraction if whole + fraction and rng.random() < 0.8 else whole or "0"
    cells[:, 0, 0] = cells[:, -1, -1] = "B"
    cells[1, 2, :5] = ["5.", ".25", "007", "0", "B"]
    return cells


def _cell_lines(cells, **options):
    """Movie lines holding ``cells`` (strings) instead of numbers."""
    lines = asf_lines(np.zeros(cells.shape), **options)
    at = [i for i, line in enumerate(lines) if line.startswith("Frame ")]
    for k, i in enumerate(at):
        lines[i + 1 : i + 1 + cells.shape[1]] = [",".join(row) for row in cells[k]]
    return lines


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize(("units", "kpa_per_unit"), [("KPa", 1.0), ("PSI", 6.894757), ("MPa", 1000.0), ("mmHg", 0.1333224)])
def test_cells_read_as_the_correctly_rounded_float_of_their_text(tmp_path, monkeypatch, newline, units, kpa_per_unit):
    """Bit for bit: float32(float(text)) times the float32 unit factor, B = NaN, by the C parser's path."""
    cells = _decimal_cells()
    path = write(tmp_path / "d.asf", _cell_lines(cells, units=units), newline)
    expected = np.array([np.nan if c == "B" else float(c) for c in cells.ravel()]).astype(np.float32)
    expected = (expected * np.float32(kpa_per_unit)).reshape(cells.shape)[:, ::-1, :]

    def exact_path_not_expected(*args):
        raise AssertionError("a valid file was decoded cell by cell")

    monkeypatch.setattr(tekscan, "_parse_frames_exactly", exact_path_not_expected)
    values = plantar.read(path).pressure.values
    assert values.dtype == np.float32
    np.testing.assert_array_equal(values.view(np.uint32), expected.view(np.uint32))


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_the_c_parser_and_the_cell_by_cell_decoding_agree(tmp_path, newline):
    cells = _decimal_cells(n=6, rows=9, cols=7, seed=8)
    path = write(tmp_path / "d.asf", _cell_lines(cells, units="PSI"), newline)
    raw = path.read_bytes()
    marker_line = raw.count(b"\n", 0, raw.index(b"ASCII_DATA @@")) + 1
    header = tekscan._read_header(path, raw[: raw.index(b"ASCII_DATA @@")].decode("latin-1"), marker_line)
    exact = tekscan._parse_frames_exactly(path, raw.replace(b"\r\n", b"\n"), marker_line, header)
    np.testing.assert_array_equal(plantar.read(path).pressure.values.view(np.uint32), exact.view(np.uint32))


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_real_files_are_read_by_the_c_parser(real, monkeypatch, newline, tmp_path):
    path, trial = real
    copy = tmp_path / path.name
    copy.write_bytes(path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", newline.encode()))

    def exact_path_not_expected(*args):
        raise AssertionError("a valid file was decoded cell by cell")

    monkeypatch.setattr(tekscan, "_parse_frames_exactly", exact_path_not_expected)
    again = plantar.read(copy).pressure.values
    np.testing.assert_array_equal(again.view(np.uint32), trial.pressure.values.view(np.uint32))


@pytest.mark.parametrize(
    "row",
    [
        "F,1,2,3",  # a row the C parser would take for a comment
        "Frame 9",  # a frame line where a row belongs
        "1,2,3,4\r\r",  # a carriage return left before the line end
        "1,2\r3,4",  # a lone carriage return: a line end to a CSV parser
        "1,2,3,4,",  # an empty last cell
        "1,2,3",  # a cell too few (the C parser would fill it with NaN)
        '1,"2",3,4',  # quotes a CSV parser would strip
        "1, 2,3,4",  # a space a C parser would skip
        "1,2,3,4\x00",  # a NUL byte, where a C string would end
    ],
)
def test_rows_a_csv_parser_would_accept_are_refused(tmp_path, row):
    lines = asf_lines(_frames())
    target = line_of(lines, "Frame 2") + 3
    lines[target - 1] = row
    path = write(tmp_path / "r.asf", lines)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {target}")
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize(("cell", "value"), [("000000000000012", 12.0), ("1.0000000000005", 1.0000000000005)])
def test_cells_of_15_characters_are_read(tmp_path, newline, cell, value):
    lines = asf_lines(_frames())
    for k in range(1, 4):  # one cell per frame, at every place in a row
        target = line_of(lines, f"Frame {k}") + 2 + k
        cells = lines[target - 1].split(",")
        cells[k] = cell
        lines[target - 1] = ",".join(cells)
    pressure = plantar.read(write(tmp_path / "c.asf", lines, newline)).pressure.values
    assert [pressure[k - 1, 6 - (2 + k), k] for k in range(1, 4)] == [np.float32(value)] * 3


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("cell", ["0000000000000012", "1.00000000000005", "12345678901234567890123"])
@pytest.mark.parametrize("column", [0, 1, 3])
def test_a_cell_of_more_than_15_characters_is_refused(tmp_path, newline, cell, column):
    """What the cell-by-cell decoding cannot read exactly is refused, wherever the cell lies in the row."""
    lines = asf_lines(_frames())
    target = line_of(lines, "Frame 2") + 3
    cells = lines[target - 1].split(",")
    cells[column] = cell
    lines[target - 1] = ",".join(cells)
    path = write(tmp_path / "c.asf", lines, newline)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {target}", "frame 2", "row 3", f"column {column + 1}", f"'{cell}' is not a number")


def test_a_row_ending_in_two_carriage_returns_is_refused(tmp_path):
    lines = asf_lines(_frames())
    target = line_of(lines, "Frame 2") + 3
    path = tmp_path / "cr.asf"
    text = "\r\n".join(lines) + "\r\n"
    at = len("\r\n".join(lines[: target - 1])) + 2  # start of the target line
    path.write_bytes(text[:at].encode() + text[at:].replace("\r\n", "\r\r\n", 1).encode())
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {target}", "frame 2", "row 3")


# --------------------------------------------------------------------------------------
# raw readings and mirrored exports


def test_real_stated_scale_is_tekscans_calibration(real):
    """CALIBRATION_POINT_1's linear factor: 255 counts reach the stated saturation, every cell is a reading x it."""
    _, trial = real
    k = trial.attrs["kpa_per_count_stated"]
    assert 255 * k == pytest.approx(trial.attrs["saturation_pressure_kpa"], abs=0.005)  # printed to 0.01 kPa
    kpa = trial.pressure.values[np.isfinite(trial.pressure.values)]
    np.testing.assert_array_equal(np.round(np.round(kpa / k) * k), kpa)


def _as_raw_export(path, k):
    """The lines of a real kPa movie rewritten as the raw export it was made from (counts = kPa / k)."""
    lines = path.read_text(encoding="latin-1").splitlines()
    out, in_data = [], False
    for line in lines:
        if line.startswith("UNITS"):
            line = "UNITS raw"
        elif line.startswith("SATURATION_PRESSURE"):
            line = "SATURATION_PRESSURE 255 raw"
        elif line.startswith("ASCII_DATA"):
            in_data = True
        elif in_data and line[:1] in "0123456789B" and line:
            line = ",".join(c if c == "B" else str(round(int(c) / k)) for c in line.split(","))
        out.append(line)
    return out


def test_real_raw_export_reads_as_counts_and_scales_to_the_kpa_export(real, tmp_path):
    path, trial = real
    k = trial.attrs["kpa_per_count_stated"]
    raw = plantar.read(write(tmp_path / "raw.asf", _as_raw_export(path, k)))
    assert raw.attrs["plantar_schema"] == "counts/1" and "pressure" not in raw
    assert int(raw.counts.max()) <= 255 and raw.attrs["saturation_counts"] == 255
    np.testing.assert_array_equal(raw.outline.values == 1, np.isfinite(trial.pressure.values[0]))
    np.testing.assert_array_equal(raw.seq.values, trial.frame_number.values)
    assert raw.attrs["kpa_per_count_stated"] == k and raw.attrs["body_mass_kg"] == pytest.approx(75.0001)
    with pytest.raises(ValueError, match="raw recording in 'counts'.*calibration.scale"):
        plantar.analyze(raw)
    kpa = plantar.calibration.scale(raw)
    np.testing.assert_array_equal(np.round(kpa.pressure.values), trial.pressure.values)  # NaN where B, too
    assert kpa.attrs["kpa_per_count_source"] == "stated in the file"
    again = plantar.read(plantar.save(raw, tmp_path / "raw.nc") or tmp_path / "raw.nc")
    np.testing.assert_array_equal(again.outline.values, raw.outline.values)
    np.testing.assert_array_equal(again.counts.values, raw.counts.values)


def test_raw_export_with_a_given_scale_and_without_one(tmp_path):
    frames = np.where(np.isnan(_frames()), np.nan, np.round(np.nan_to_num(_frames()) / 10))
    raw = plantar.read(write(tmp_path / "raw.asf", asf_lines(frames, units="raw", calibration="75 (Kgs)")))
    assert "kpa_per_count_stated" not in raw.attrs  # no raw sum: no stated factor
    with pytest.raises(ValueError, match="states no kPa per count"):
        plantar.calibration.scale(raw)
    trial = plantar.calibration.scale(raw, kpa_per_count=2.5)
    np.testing.assert_array_equal(trial.pressure.values, (frames[:, ::-1, :] * 2.5).astype(np.float32))
    for bad in (0.0, -1.0, np.nan, "two"):
        with pytest.raises(ValueError, match="kpa_per_count"):
            plantar.calibration.scale(raw, kpa_per_count=bad)


def test_calibrate_scale_command(tmp_path):
    frames = np.where(np.isnan(_frames()), np.nan, np.round(np.nan_to_num(_frames()) / 10))
    src = write(tmp_path / "raw.asf", asf_lines(frames, units="raw"))
    out = tmp_path / "walk.nc"
    done = subprocess.run([sys.executable, "-m", "plantar", "calibrate", "scale", str(src), "--kpa-per-count", "stated",
                           "-o", str(out)], capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    k = 75.0001 * 9.80665 / 4798 / 25.8064e-6 / 1000
    np.testing.assert_allclose(plantar.read(out).pressure.values, frames[:, ::-1, :] * k, rtol=1e-6)
    kpa_file = write(tmp_path / "kpa.asf", asf_lines(_frames()))
    done = subprocess.run([sys.executable, "-m", "plantar", "calibrate", "scale", str(kpa_file), "--kpa-per-count", "2",
                           "-o", str(tmp_path / "x.nc")], capture_output=True, text=True)  # fmt: skip
    error = done.stderr.strip().splitlines()[-1]  # after the log line naming the format read
    assert done.returncode != 0 and error.startswith("plantar: ") and "already a trial in kPa" in error


@pytest.mark.parametrize(
    ("flags", "flip"),
    [(("1", "0"), (1,)), (("0", "1"), (2,)), (("1", "1"), (1, 2))],
)
def test_mirrored_export_reads_as_the_unmirrored_one(tmp_path, flags, flip):
    frames = _frames()
    plain = plantar.read(write(tmp_path / "plain.asf", asf_lines(frames)))
    mirrored = [
        line.replace("MIRROR_ROW 0", f"MIRROR_ROW {flags[0]}").replace("MIRROR_COL 0", f"MIRROR_COL {flags[1]}")
        for line in asf_lines(np.flip(frames, axis=flip))
    ]
    trial = plantar.read(write(tmp_path / "mirrored.asf", mirrored))
    np.testing.assert_array_equal(trial.pressure.values, plain.pressure.values)
    expected = {(1,): "rows", (2,): "columns", (1, 2): "rows and columns"}[flip]
    assert trial.attrs["mirrored_in_file"] == expected and "mirrored_in_file" not in plain.attrs


# --------------------------------------------------------------------------------------
# bad input: FileFormatError naming the file, the line and the field


def test_raw_cell_that_is_not_a_reading_is_refused(tmp_path):
    frames = np.where(np.isnan(_frames()), np.nan, 3.0)
    frames[2, 3, 1] = 2.5
    path = write(tmp_path / "raw.asf", asf_lines(frames, units="raw"))
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, "frame 3", "2.5 is not a raw reading")


def test_unknown_units(tmp_path):
    lines = asf_lines(_frames(), units="furlongs")
    path = write(tmp_path / "u.asf", lines)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {line_of(lines, 'UNITS furlongs')}", "UNITS", "furlongs")


def test_unknown_spacing_unit(tmp_path):
    lines = asf_lines(_frames(), col_spacing="5 parsecs")
    path = write(tmp_path / "u.asf", lines)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {line_of(lines, 'COL_SPACING 5 parsecs')}", "COL_SPACING")


@pytest.mark.parametrize("key", ["ROWS", "COLS", "ROW_SPACING", "COL_SPACING", "SECONDS_PER_FRAME", "UNITS"])
def test_missing_header_field(tmp_path, key):
    lines = asf_lines(_frames(), omit=(key,))
    path = write(tmp_path / "m.asf", lines)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {line_of(lines, 'ASCII_DATA @@')}", f"'{key}'", "missing")


def test_bad_header_value(tmp_path):
    lines = [line.replace("ROWS 6", "ROWS six") for line in asf_lines(_frames())]
    path = write(tmp_path / "b.asf", lines)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {line_of(lines, 'ROWS six')}", "ROWS", "'six'")


@pytest.mark.parametrize("value", ["2", "yes"])
def test_mirror_flag_other_than_0_or_1_is_refused(tmp_path, value):
    lines = [line.replace("MIRROR_COL 0", f"MIRROR_COL {value}") for line in asf_lines(_frames())]
    path = write(tmp_path / "mirror.asf", lines)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {line_of(lines, f'MIRROR_COL {value}')}", "MIRROR_COL", "not 0 or 1")


def test_garbage_in_a_cell(tmp_path):
    lines = asf_lines(_frames())
    target = line_of(lines, "Frame 3") + 3  # row 3 of frame 3 (1-based line number)
    cells = lines[target - 1].split(",")
    cells[2] = "1x7"
    lines[target - 1] = ",".join(cells)
    path = write(tmp_path / "g.asf", lines, "\r\n")
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {target}", "frame 3", "row 3", "column 3", "'1x7'")


@pytest.mark.parametrize("cell", ["", "-5", "1.2.3", "nan", "B7", "1e3", ".", "+5", " 5", "5 ", "inf", "1E3", "0x1a", "BB"])
def test_cells_that_are_not_numbers(tmp_path, cell):
    lines = asf_lines(_frames())
    target = line_of(lines, "Frame 1") + 4
    cells = lines[target - 1].split(",")
    cells[1] = cell
    lines[target - 1] = ",".join(cells)
    path = write(tmp_path / "c.asf", lines)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {target}", "frame 1", "row 4", "column 2")


def test_wrong_number_of_cells_in_a_row(tmp_path):
    lines = asf_lines(_frames())
    target = line_of(lines, "Frame 2") + 5
    lines[target - 1] += ",0"
    path = write(tmp_path / "w.asf", lines)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {target}", "frame 2", "row 5", "5 cells, expected 4")


def test_a_row_too_few(tmp_path):
    lines = asf_lines(_frames())
    missing = line_of(lines, "Frame 2") + 6  # the last row of frame 2
    del lines[missing - 1]
    path = write(tmp_path / "r.asf", lines)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {missing}", "rows", "frame 2 has 5 rows, expected 6")


def test_a_row_too_many(tmp_path):
    lines = asf_lines(_frames())
    extra = line_of(lines, "Frame 1") + 7
    lines.insert(extra - 1, "0,0,0,0")
    path = write(tmp_path / "r.asf", lines)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {extra}", "rows", "frame 1 has more than 6 rows")


def test_missing_frame(tmp_path):
    lines = asf_lines(_frames(4))
    start = line_of(lines, "Frame 2")
    del lines[start - 1 : start + 7]  # Frame 2: its line, 6 rows and the blank line
    path = write(tmp_path / "f.asf", lines)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {line_of(lines, 'Frame 3')}", "frame number", "frame 2 is missing")


def test_frame_count_must_match_end_frame(tmp_path):
    lines = [line.replace("END_FRAME 3", "END_FRAME 4") for line in asf_lines(_frames())]
    path = write(tmp_path / "e.asf", lines)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {line_of(lines, '@@')}", "END_FRAME is 4")


@pytest.mark.parametrize("keep_lines", [3, 25, 40, -2])
def test_truncated_file(tmp_path, keep_lines):
    """Cut anywhere (in the header, inside a frame, before the closing @@): always an error."""
    lines = asf_lines(_frames())
    text = "\n".join(lines[:keep_lines]) + "\n"
    path = tmp_path / "cut.asf"
    path.write_text(text)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path, format="tekscan")
    assert_names(exc, path, "line ")


def test_truncated_mid_line(tmp_path):
    lines = asf_lines(_frames())
    text = "\n".join(lines) + "\n"
    path = tmp_path / "cut.asf"
    path.write_text(text[: text.index("Frame 3") + 20])
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, "line ")


def test_text_after_the_end(tmp_path):
    lines = asf_lines(_frames()) + ["Frame 99"]
    path = write(tmp_path / "after.asf", lines)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {len(lines)}")


def test_sniff():
    assert tekscan.sniff(b"DATA_TYPE MOVIE\r\nVERSION x\r\n")
    assert tekscan.sniff(b"\xef\xbb\xbfDATA_TYPE MOVIE\n")
    assert tekscan.sniff(b"ROWS 4\nCOLS 4\nASCII_DATA @@\n")
    assert not tekscan.sniff(b"FRAME,1\nSENSOR,x\n")
    assert not tekscan.sniff(b"")


# --------------------------------------------------------------------------------------
# implausible header values and cells: refused where the file states them


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("ROWS", "99999999999999999999", "more than the 10000"),
        ("COLS", "99999999999", "more than the 10000"),
        ("SECONDS_PER_FRAME", "1e-300", "a frame rate of 1e+300 Hz is implausible"),
        ("SECONDS_PER_FRAME", "5", "a frame rate of 0.2 Hz is implausible"),
        ("ROW_SPACING", "1e308 mm", "a sensor pitch of 1e+308 mm is implausible"),
        ("COL_SPACING", "1e-320 mm", "is implausible"),
        ("START_FRAME", "99999999999999999999999", "more than the"),
        ("SATURATION_PRESSURE", "1.2.3 KPa", "is not a positive number"),
    ],
)
def test_implausible_header_values_name_their_line(tmp_path, key, value, problem):
    lines = asf_lines(_frames())
    at = next(i for i, line in enumerate(lines) if line.split()[0] == key)
    lines[at] = f"{key} {value}"
    path = write(tmp_path / "h.asf", lines)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {at + 1}", f"'{key}'", problem)


@pytest.mark.parametrize("cell", ["999999999999999", "100000"])
def test_a_cell_of_100_mpa_or_more_is_refused_with_its_line(tmp_path, cell):
    lines = asf_lines(_frames())
    at = line_of(lines, "Frame 3") + 2  # row 2 of frame 3 (1-based line of the row)
    cells = lines[at - 1].split(",")
    cells[1] = cell
    lines[at - 1] = ",".join(cells)
    path = write(tmp_path / "c.asf", lines)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {at}", "frame 3, row 2, column 2", "not a plausible pressure")


def test_a_huge_frame_number_names_its_line(tmp_path):
    lines = asf_lines(_frames())
    at = line_of(lines, "Frame 2")
    lines[at - 1] = "Frame 99999999999999999999"
    path = write(tmp_path / "f.asf", lines)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {at}", "frame number")
