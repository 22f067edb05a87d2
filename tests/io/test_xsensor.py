"""XSENSOR X4 CSV exports: the real bilateral excerpt and small files written here."""

import datetime

import numpy as np
import pytest
from vendor_helpers import (
    apparent_side,
    assert_names,
    assert_round_trip,
    landmarks,
    real_file,
    run_convert,
)

import plantar
from plantar.io import FileFormatError, known_formats, xsensor

KPA_PER_MMHG = 0.1333224
#: The export prints statistics to 0.01 (mmHg, cm², N): they are exact to half of that.
ROUNDING = 0.005


# --------------------------------------------------------------------------------------
# small files written by the tests

STAT_LINES = ("Average Pressure (mmHg)", "Minimum Pressure (mmHg)", "Peak Pressure (mmHg)", "Contact Area (cm²)",
              "Total Area (cm²)", "Contact %", "Est. Load (N)", "Std Dev.")  # fmt: skip


def _insole(n=3, rows=5, cols=3, seed=0):
    """mmHg frames of one insole, 0 below the 51.72 mmHg threshold."""
    rng = np.random.default_rng(seed)
    frames = np.round(rng.uniform(0, 900, (n, rows, cols)), 2)
    return np.where(frames < 51.72, 0.0, frames)


def _statistics(frame, area_cm2=0.7412):
    loaded = frame[frame > 0]
    return {
        "Average Pressure (mmHg)": loaded.mean() if loaded.size else 0.0,
        "Minimum Pressure (mmHg)": loaded.min() if loaded.size else 0.0,
        "Peak Pressure (mmHg)": loaded.max() if loaded.size else 0.0,
        "Contact Area (cm²)": loaded.size * area_cm2,
        "Total Area (cm²)": frame.size * area_cm2,
        "Contact %": 100.0 * loaded.size / frame.size,
        "Est. Load (N)": frame.sum() * 133.322 * area_cm2 * 1e-4,
        "Std Dev.": loaded.std() if loaded.size else 0.0,
    }


def csv_lines(insoles, *, stamps=None, first_frame=1464, units="mmHg", size="0.86", names=None, omit=()):
    """Lines of an X4 export; ``insoles`` maps "LF"/"RF" to (frame, row, col) mmHg, in file order."""
    n = len(next(iter(insoles.values())))
    start = datetime.datetime(2022, 8, 16, 8, 21, 17, 982000)
    stamps = stamps or [start + datetime.timedelta(milliseconds=13.5 * k) for k in range(n)]
    lines = ['File:,"C:\\XSENSOR\\walk.XSN"', f"Units:,{units}", "Threshold:,51.72"]
    for k in range(n):
        lines += [
            f"FRAME,{first_frame + k}",
            f"Date,{stamps[k]:%Y %b %d}",
            f"Time,{stamps[k]:%H:%M:%S}.{stamps[k].microsecond // 1000:03d}",
        ]
        for code, frames in insoles.items():
            name = (names or {}).get(code, f"HX210.11.31.M11-DFM-{code} S0073")
            rows, cols = frames.shape[1:]
            block = [
                f"SENSOR,{name}",
                f"Rows,{rows}",
                f"Columns,{cols}",
                f"Sensel Width (cm),{size}",
                f"Sensel Height (cm),{size}",
            ]
            block += [f"{key},{value:.2f}" for key, value in _statistics(frames[k]).items()]
            block += ["SENSELS"] + [",".join(f"{v:g}" for v in row) for row in frames[k]]
            lines += [line for line in block if line.split(",")[0] not in omit]
        lines += ["GROUP,1", "Name,Left Heel", "Cells,3", "Average Pressure (mmHg),0", "SENSELS", "0,0,0"]
    return lines


def write(path, lines, newline="\n"):
    """Write the lines as XSENSOR does: a BOM, every line padded with commas, blank lines between."""
    padded = []
    for line in lines:
        padded += [line + "," * max(0, 19 - line.count(",")), "," * 19]
    path.write_bytes((newline.join(padded) + newline).encode("utf-8-sig"))
    return path


def line_of(lines, text, start=0):
    """1-based line number in the written file of ``lines[i] == text`` (i >= start); see write()."""
    return 2 * lines.index(text, start) + 1


# --------------------------------------------------------------------------------------
# the real excerpt


@pytest.fixture(scope="module")
def real():
    path = real_file("xsensor", "xsensor_data.csv")
    return path, plantar.read(path)


def _insole_of(trial, side):
    split = trial.attrs["side_split_x_mm"]
    return trial.pressure.sel(x=trial.x < split if side == "left" else trial.x > split)


def test_real_layout_and_timing(real):
    path, trial = real
    assert trial.pressure.shape == (101, 31, 23)
    split = trial.attrs["side_split_x_mm"]
    assert split == pytest.approx(trial.x.values[11])
    assert np.isnan(trial.pressure.sel(x=split).values).all()  # the gap column
    assert not np.isnan(trial.pressure.values[:, :, :11]).any() and not np.isnan(trial.pressure.values[:, :, 12:]).any()
    assert trial.attrs["sensor_left"].endswith("-LF S0073") and trial.attrs["sensor_right"].endswith("-RF S0073")
    np.testing.assert_array_equal(trial.frame_number.values, np.arange(1464, 1565))
    steps = np.diff(trial.time.values)
    assert set(np.round(steps, 3)) == {0.013, 0.014}  # time stamps, not a nominal rate
    assert trial.attrs["sampling_rate_hz"] == pytest.approx(100 / trial.time.values[-1])
    assert trial.attrs["start_time"] == "2022-08-16T08:21:17.982000"
    assert trial.attrs["units_in_file"] == "mmHg"
    assert trial.attrs["sensel_size_stated_cm"] == 0.86
    assert trial.attrs["sensor_pitch_x_mm"] == pytest.approx(8.609, abs=5e-4)  # (0.7411 cm2) ** 0.5
    for name in trial.variables:
        assert trial[name].attrs["units"] and trial[name].attrs["long_name"]


@pytest.mark.parametrize("side", ["left", "right"])
def test_real_average_and_peak_pressure(real, side):
    """The file's Average/Peak Pressure = mean/max of the loaded sensels, to the export's rounding."""
    _, trial = real
    p = _insole_of(trial, side).astype(np.float64)
    loaded = p.where(p > 0)
    average = loaded.mean(("y", "x")).fillna(0).values
    peak = loaded.max(("y", "x")).fillna(0).values
    # the statistic and every sensel are printed to 0.01 mmHg: two roundings of 0.005
    tolerance_kpa = 2 * ROUNDING * KPA_PER_MMHG
    np.testing.assert_allclose(average, trial[f"average_pressure_reported_{side}"].values, rtol=0, atol=tolerance_kpa)
    np.testing.assert_allclose(peak, trial[f"peak_pressure_reported_{side}"].values, rtol=0, atol=tolerance_kpa)
    assert trial[f"average_pressure_reported_{side}"].attrs["units"] == "kPa"


@pytest.mark.parametrize("side", ["left", "right"])
def test_real_contact_area(real, side):
    """Contact Area = loaded sensels x 0.7412 cm² (README), and x the trial's own sensel area."""
    _, trial = real
    count = (_insole_of(trial, side) > 0).sum(("y", "x")).values
    stated_mm2 = trial[f"contact_area_reported_{side}"].values
    # README's 0.7412 cm2 is itself rounded: 0.0002 cm2 x 193 sensels + 0.005 cm2
    np.testing.assert_allclose(count * 74.12, stated_mm2, rtol=0, atol=ROUNDING * 100 + count.max() * 0.02)
    area_mm2 = trial.attrs["sensor_pitch_x_mm"] * trial.attrs["sensor_pitch_y_mm"]
    np.testing.assert_allclose(count * area_mm2, stated_mm2, rtol=0, atol=ROUNDING * 100 + 0.01)


@pytest.mark.parametrize("side", ["left", "right"])
def test_real_estimated_load(real, side):
    """Est. Load (N) = sum(kPa) x sensel area, within 0.1 % (and the export's 0.005 N)."""
    _, trial = real
    area_m2 = trial.attrs["sensor_pitch_x_mm"] * trial.attrs["sensor_pitch_y_mm"] * 1e-6
    load = _insole_of(trial, side).sum(("y", "x")).values * 1e3 * area_m2
    stated = trial[f"load_reported_{side}"].values
    np.testing.assert_allclose(load, stated, rtol=1e-3, atol=ROUNDING)
    # README's formula: sum(mmHg) x 133.322 Pa x 0.7412 cm2
    readme = _insole_of(trial, side).sum(("y", "x")).values / KPA_PER_MMHG * 133.322 * 0.7412e-4
    np.testing.assert_allclose(readme, stated, rtol=1e-3, atol=ROUNDING)
    assert stated.max() > 200  # a walking adult (the right insole is early in stance here)


@pytest.mark.parametrize("side", ["left", "right"])
def test_real_orientation(real, side):
    """Each insole is a foot of its side seen from above, toes toward +y."""
    _, trial = real
    p = _insole_of(trial, side)
    peak = p.max("time").values
    x, y = p.x.values, p.y.values
    insole = (y.min(), y.max())  # the left insole only shows the forefoot: use the insole's length
    assert apparent_side(peak, x, y, foot_y_mm=insole) == side, landmarks(peak, x, y, foot_y_mm=insole)
    # the toe end of the insole (the file's row 0) is at the largest y
    np.testing.assert_array_equal(p.values[:, -1, :], p.values[:, ::-1, :][:, 0, :])


def test_real_values_match_the_text(real):
    """The right insole of frame 1500, read line by line independently of the reader."""
    path, trial = real
    lines = [line.rstrip(",") for line in path.read_text(encoding="utf-8-sig").split("\n") if line.strip(",")]
    frame = lines.index("FRAME,1500")
    sensor = next(i for i in range(frame, len(lines)) if lines[i].startswith("SENSOR,") and "-RF" in lines[i])
    start = lines.index("SENSELS", sensor) + 1
    mmhg = np.array([[float(v) for v in lines[start + r].split(",")] for r in range(31)])
    right = _insole_of(trial, "right").values[1500 - 1464]
    np.testing.assert_allclose(right[::-1], mmhg * KPA_PER_MMHG, rtol=1e-6)


def test_real_round_trip(real, tmp_path):
    assert_round_trip(real[1], tmp_path)


def test_real_convert_command(real, tmp_path):
    path, trial = real
    converted = run_convert(path, tmp_path)
    np.testing.assert_array_equal(converted.pressure.values, trial.pressure.values)
    assert converted.attrs["side_split_x_mm"] == trial.attrs["side_split_x_mm"]


def test_real_file_is_recognised_by_content(real):
    path, _ = real
    head = path.read_bytes()[:4096]
    assert [f.name for f in known_formats().values() if f.sniff(head)] == ["xsensor"]


# --------------------------------------------------------------------------------------
# grammar


def test_two_insoles_side_by_side(tmp_path):
    left, right = _insole(seed=1), _insole(seed=2)
    trial = plantar.read(write(tmp_path / "w.csv", csv_lines({"LF": left, "RF": right})))
    p = trial.pressure.values
    assert p.shape == (3, 5, 7)
    np.testing.assert_allclose(p[:, :, :3], left[:, ::-1] * KPA_PER_MMHG, rtol=1e-6)
    np.testing.assert_allclose(p[:, :, 4:], right[:, ::-1] * KPA_PER_MMHG, rtol=1e-6)
    assert np.isnan(p[:, :, 3]).all()
    assert trial.attrs["side_split_x_mm"] == pytest.approx(trial.x.values[3])
    assert "side" not in trial.attrs


def test_right_insole_first_in_the_file(tmp_path):
    left, right = _insole(seed=1), _insole(seed=2)
    trial = plantar.read(write(tmp_path / "w.csv", csv_lines({"RF": right, "LF": left})))
    np.testing.assert_allclose(trial.pressure.values[:, :, :3], left[:, ::-1] * KPA_PER_MMHG, rtol=1e-6)
    np.testing.assert_allclose(
        trial.load_reported_right.values, np.round(right.sum(axis=(1, 2)) * 133.322 * 0.7412e-4, 2)
    )


def test_one_insole(tmp_path):
    trial = plantar.read(write(tmp_path / "r.csv", csv_lines({"RF": _insole()})))
    assert trial.attrs["side"] == "right"
    assert "side_split_x_mm" not in trial.attrs
    assert trial.pressure.shape == (3, 5, 3)
    assert "load_reported_right" in trial and "load_reported_left" not in trial


def test_uneven_time_stamps(tmp_path):
    start = datetime.datetime(2022, 8, 16, 23, 59, 59, 990000)
    stamps = [start + datetime.timedelta(milliseconds=ms) for ms in (0, 13, 27)]  # across midnight
    trial = plantar.read(write(tmp_path / "t.csv", csv_lines({"LF": _insole()}, stamps=stamps)))
    np.testing.assert_allclose(trial.time.values, [0.0, 0.013, 0.027])
    assert trial.attrs["sampling_rate_hz"] == pytest.approx(2 / 0.027)


def test_lf_and_crlf_read_the_same(tmp_path):
    lines = csv_lines({"LF": _insole(), "RF": _insole(seed=4)})
    lf = plantar.read(write(tmp_path / "lf.csv", lines))
    crlf = plantar.read(write(tmp_path / "crlf.csv", lines, "\r\n"))
    np.testing.assert_array_equal(crlf.pressure.values, lf.pressure.values)
    np.testing.assert_array_equal(crlf.time.values, lf.time.values)


def test_kpa_units(tmp_path):
    frames = _insole()
    trial = plantar.read(write(tmp_path / "k.csv", csv_lines({"LF": frames}, units="kPa")))
    np.testing.assert_allclose(trial.pressure.values, frames[:, ::-1], rtol=1e-6)


def test_recognised_by_content_whatever_the_name(tmp_path):
    assert plantar.read(write(tmp_path / "walk.txt", csv_lines({"LF": _insole()}))).attrs["device"] == "XSENSOR X4"


# --------------------------------------------------------------------------------------
# bad input


def test_garbage_in_a_cell(tmp_path):
    lines = csv_lines({"LF": _insole(), "RF": _insole(seed=3)})
    frame = lines.index("FRAME,1465")
    row = lines.index("SENSELS", lines.index("SENSOR,HX210.11.31.M11-DFM-RF S0073", frame)) + 2
    cells = lines[row].split(",")
    cells[1] = "12o.5"
    lines[row] = ",".join(cells)
    path = write(tmp_path / "g.csv", lines)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {2 * row + 1}", "sensel column 2", "'12o.5'")


def test_a_cell_too_many(tmp_path):
    lines = csv_lines({"LF": _insole()})
    row = lines.index("SENSELS") + 1
    lines[row] += ",5"
    path = write(tmp_path / "c.csv", lines)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {2 * row + 1}", "sensel row", "4 cells, expected 3")


def test_a_row_too_few(tmp_path):
    lines = csv_lines({"LF": _insole(), "RF": _insole(seed=3)})
    frame = lines.index("FRAME,1466")
    sensels = lines.index("SENSELS", frame)
    del lines[sensels + 5]  # the left insole's last row
    path = write(tmp_path / "r.csv", lines)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {2 * (sensels + 5) + 1}", "left insole of frame 1466", "4 rows, expected 5")


def test_missing_frame(tmp_path):
    lines = csv_lines({"LF": _insole(4)})
    first, second = lines.index("FRAME,1465"), lines.index("FRAME,1466")
    del lines[first:second]
    path = write(tmp_path / "m.csv", lines)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {line_of(lines, 'FRAME,1466')}", "FRAME", "frame 1466 follows frame 1464")


@pytest.mark.parametrize("key", ["Rows", "Sensel Width (cm)", "Est. Load (N)"])
def test_missing_field(tmp_path, key):
    lines = csv_lines({"LF": _insole()}, omit=(key,))
    path = write(tmp_path / "f.csv", lines)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {line_of(lines, 'SENSELS') - 2}", f"'{key.split(' (')[0]}'", "missing")


def test_missing_units(tmp_path):
    lines = [line for line in csv_lines({"LF": _insole()}) if not line.startswith("Units:")]
    path = write(tmp_path / "u.csv", lines)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {line_of(lines, 'FRAME,1464')}", "'Units:'", "missing")


def test_insole_without_a_side(tmp_path):
    lines = csv_lines({"LF": _insole()}, names={"LF": "HX210 insole S0073"})
    path = write(tmp_path / "s.csv", lines)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {line_of(lines, 'SENSOR,HX210 insole S0073')}", "SENSOR", "-LF or -RF")


def test_time_going_back(tmp_path):
    start = datetime.datetime(2022, 8, 16, 8, 0, 0)
    stamps = [start, start + datetime.timedelta(seconds=1), start + datetime.timedelta(seconds=0.5)]
    lines = csv_lines({"LF": _insole()}, stamps=stamps)
    path = write(tmp_path / "t.csv", lines)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {line_of(lines, 'Time,08:00:00.500')}", "Time")


@pytest.mark.parametrize("cut", ["GROUP,1", "SENSELS", "Est. Load (N)"])
def test_truncated_file(tmp_path, cut):
    lines = csv_lines({"LF": _insole(), "RF": _insole(seed=3)})
    last_frame = lines.index("FRAME,1466")
    keep = next(i for i in range(len(lines) - 1, last_frame, -1) if lines[i].startswith(cut))
    path = write(tmp_path / "t.csv", lines[:keep])
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, "line ", "frame 1466")


def test_sniff():
    assert xsensor.sniff(b"\xef\xbb\xbfFile:,x\n,,,\nUnits:,mmHg\nFRAME,1\nSENSOR,HX-LF\n")
    assert not xsensor.sniff(b"DATA_TYPE MOVIE\n")
    assert not xsensor.sniff(b"")


# --------------------------------------------------------------------------------------
# truncation the format reveals (and the one it cannot), implausible values


@pytest.mark.parametrize("keep_values", [0, 1, 2])
def test_a_region_block_cut_short_is_refused(tmp_path, keep_values):
    """The last GROUP block must hold its 'Cells' values, even in a file of one frame."""
    lines = csv_lines({"LF": _insole(1)})
    lines[-1] = ",".join(["0"] * keep_values) if keep_values else lines[-1]
    if not keep_values:
        del lines[-1]
    path = write(tmp_path / "g.csv", lines)
    with pytest.raises(FileFormatError, match="truncated") as exc:
        plantar.read(path)
    assert_names(exc, path, "line ", "GROUP 1 of frame 1464", f"{keep_values} values where 'Cells' states 3")


def test_the_real_excerpt_cut_inside_a_region_block(real, tmp_path):
    """The cut of the defect report: inside the last GROUP of a frame, once read as 45 frames."""
    path, _ = real
    target = tmp_path / "cut.csv"
    target.write_bytes(path.read_bytes()[:800819])
    with pytest.raises(FileFormatError) as exc:
        plantar.read(target)
    assert_names(exc, target, "line 27053", "GROUP 8 of frame 1509", "42 values where 'Cells' states 51")


def test_a_cut_between_frames_reads_the_whole_frames_before_it(real, tmp_path):
    """What the format cannot reveal: it states no frame count and has no end marker."""
    path, trial = real
    data = path.read_bytes()
    at = data.index(b"\nFRAME,1510,") + 1
    target = tmp_path / "cut.csv"
    target.write_bytes(data[:at])
    cut = plantar.read(target)
    assert cut.sizes["time"] == 1510 - 1464
    np.testing.assert_array_equal(cut.pressure.values, trial.pressure.values[: 1510 - 1464])


@pytest.mark.parametrize(
    ("line", "value", "field"),
    [
        ("Sensel Width (cm)", "1e300", "'Sensel Width' of the left insole"),
        ("Peak Pressure (mmHg)", "3.4e38", "'Peak Pressure' of the left insole"),
        ("Threshold:", "nan", "'Threshold:'"),
    ],
)
def test_implausible_stated_values_are_refused(tmp_path, line, value, field):
    lines = csv_lines({"LF": _insole()})
    at = next(i for i, text in enumerate(lines) if text.startswith(line + ","))
    lines[at] = f"{line},{value}"
    path = write(tmp_path / "s.csv", lines)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {2 * at + 1}", field)


def test_a_sensel_of_100_mpa_or_more_is_refused_with_its_line(tmp_path):
    lines = csv_lines({"LF": _insole(), "RF": _insole(seed=3)})
    row = lines.index("SENSELS", lines.index("FRAME,1465")) + 3
    cells = lines[row].split(",")
    cells[2] = "750063"  # mmHg: 100.0001 MPa
    lines[row] = ",".join(cells)
    path = write(tmp_path / "p.csv", lines)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {2 * row + 1}", "sensel column 3", "not a plausible pressure")


def test_time_stamps_of_an_implausible_rate_are_refused(tmp_path):
    start = datetime.datetime(2022, 8, 16, 8, 21, 17)
    stamps = [start + datetime.timedelta(seconds=5 * k) for k in range(3)]  # 0.2 Hz
    path = write(tmp_path / "r.csv", csv_lines({"LF": _insole()}, stamps=stamps))
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, "line ", "Time", "a frame rate of 0.2 Hz is implausible")
