"""novel pliance ASCII exports (.asc): the real standing foot and small files written here."""

import numpy as np
import pytest
from vendor_helpers import (
    apparent_side,
    assert_names,
    assert_round_trip,
    landmarks,
    real_file,
    run_convert,
    widest_fraction,
)

import plantar
from plantar.io import FileFormatError, known_formats, pliance

#: Forces and COP are printed to 0.001 (N, cm): exact to half of that.
FORCE_TOLERANCE_N = 0.01  # README: force = sum(kPa x area) within 0.01 N
COP_TOLERANCE_MM = 0.0005 * 10 + 0.005  # the printed 0.001 cm, plus the pressures' own rounding
WIDTH_CM, LENGTH_CM = 0.528, 1.028


# --------------------------------------------------------------------------------------
# small files written by the tests


def _frames(n=4, rows=3, cols=2, seed=0):
    """kPa frames (time, y, x) with y upward (row 0 = smallest y); frame 0 unloaded."""
    rng = np.random.default_rng(seed)
    frames = np.round(rng.uniform(0, 200, (n, rows, cols)), 3)
    frames[0] = 0.0
    return frames


def asc_lines(frames, *, dt=1 / 24, t0=1.0, lead=2, units="kPa", rate="24", drop_times=(), omit=(), geometry=None):
    """Lines of a pliance export of ``frames``; the force/COP table covers ``lead`` more frames each side."""
    n, rows, cols = frames.shape
    ids = [4 + c * 32 + (rows - 1 - j) for c in range(cols) for j in range(rows)]  # down each column, like the s2160
    cells = [(j, c) for c in range(cols) for j in range(rows)]
    area = WIDTH_CM * LENGTH_CM
    xc = np.array([(c + 0.5) * WIDTH_CM for j, c in cells])
    yc = np.array([(j + 0.5) * LENGTH_CM for j, c in cells])
    lines = [
        "file name: 2112170R_1.mat date/time 17.06.23 15.21",
        "mat type s2160_001",
        f"total times [secs]: {(n + 2 * lead) * dt:.3f} time per frame [secs]: {dt:.5f} scanning rate [Hz]: {rate}",
        f"pressure values in {units}",
        "",
        "",
        "electrical:",
        "time[secs]" + "".join(f"{i:8d}" for i in ids),
    ]
    lines = [line for k, line in enumerate(lines) if k not in omit]
    times = t0 + dt * np.arange(n)
    for k in range(n):
        if k in drop_times:
            continue
        lines.append(f"{times[k]:11.5f}" + "".join(f"{frames[k, j, c]:8.3f}" for j, c in cells))
    lines.append("        MPP" + "".join(f"{frames[:, j, c].max():8.3f}" for j, c in cells))
    lines += ["", "", " time[secs] force[N]   x[cm]   y[cm]", ""]
    for k in range(-lead, n + lead):
        t = t0 + dt * k
        p = np.array([frames[k, j, c] for j, c in cells]) if 0 <= k < n else np.zeros(len(cells))
        force = p.sum() * area * 0.1
        if p.sum() > 0:
            x = cols * WIDTH_CM - (p * xc).sum() / p.sum()  # novel's COP frame: turned by 180 degrees
            y = rows * LENGTH_CM - (p * yc).sum() / p.sum()
            lines.append(f"{t:11.5f}{force:9.3f}{x:8.3f}{y:8.3f}")
        else:
            lines.append(f"{t:11.5f}{force:9.3f}       -       -")
    lines += ["", "", "sensor" + "".join(f"{i:9d}" for i in ids), "corner[cm]"]
    geometry = geometry or {}
    corners = {
        "x[0]": xc - WIDTH_CM / 2, "y[0]": yc + LENGTH_CM / 2, "x[1]": xc - WIDTH_CM / 2, "y[1]": yc - LENGTH_CM / 2,
        "x[2]": xc + WIDTH_CM / 2, "y[2]": yc - LENGTH_CM / 2, "x[3]": xc + WIDTH_CM / 2, "y[3]": yc + LENGTH_CM / 2,
        "x[c]": xc, "y[c]": yc, "area": np.full(len(cells), area),
    }  # fmt: skip
    for key, values in corners.items():
        values = geometry.get(key, values)
        lines.append(f"{key:<5}" + "".join(f"{v:9.4f}" for v in values))
    return lines


def write(path, lines, newline="\n"):
    path.write_bytes((newline.join(lines) + newline).encode("latin-1"))
    return path


def line_of(lines, start_text):
    return next(i for i, line in enumerate(lines) if line.startswith(start_text)) + 1


# --------------------------------------------------------------------------------------
# the real standing foot


@pytest.fixture(scope="module")
def real():
    path = real_file("novel-pliance", "pliance_test.asc")
    return path, plantar.read(path)


def test_real_geometry_timing_and_attrs(real):
    path, trial = real
    assert trial.pressure.shape == (281, 29, 28)
    assert not np.isnan(trial.pressure.values).any()  # 812 sensors fill the 28 x 29 grid
    assert trial.attrs["sensor_pitch_x_mm"] == 5.28 and trial.attrs["sensor_pitch_y_mm"] == 10.28
    assert trial.attrs["sampling_rate_hz"] == 24.0
    np.testing.assert_allclose(np.diff(trial.time.values), 1 / 24, atol=1e-5)  # printed to 10 us
    assert trial.attrs["first_frame_time_s"] == pytest.approx(5.79167)
    assert trial.attrs["start_time"] == "2023-06-17T15:21:05.791670"  # dd.mm.yy, + the first frame's time
    assert trial.attrs["start_time_text"] == "17.06.23 15.21"
    assert trial.attrs["mat_type"] == "s2160_001"
    assert trial.attrs["source_file"] == path.name
    for name in trial.variables:
        assert trial[name].attrs["units"] and trial[name].attrs["long_name"]


def test_real_force_per_frame(real):
    """The file's force = sum(kPa x sensor area) within 0.01 N, every frame."""
    _, trial = real
    area_m2 = trial.attrs["sensor_pitch_x_mm"] * trial.attrs["sensor_pitch_y_mm"] * 1e-6
    force = trial.pressure.astype(np.float64).sum(("y", "x")).values * 1e3 * area_m2
    np.testing.assert_allclose(force, trial.force_reported.values, rtol=0, atol=FORCE_TOLERANCE_N)
    assert trial.force_reported.values.max() > 200  # one foot on the mat


def test_real_cop_per_frame(real):
    """The file's COP, in the trial's coordinates, = the pressure-weighted centroid of the sensels."""
    _, trial = real
    p = trial.pressure.astype(np.float64)
    total = p.sum(("y", "x"))
    cop_x = ((p * p.x).sum(("y", "x")) / total).values
    cop_y = ((p * p.y).sum(("y", "x")) / total).values
    np.testing.assert_allclose(cop_x, trial.cop_x_reported.values, rtol=0, atol=COP_TOLERANCE_MM)
    np.testing.assert_allclose(cop_y, trial.cop_y_reported.values, rtol=0, atol=COP_TOLERANCE_MM)
    assert not np.isnan(trial.cop_x_reported.values).any()  # loaded in every exported frame
    assert trial.cop_x_reported.attrs["units"] == "mm"


def test_real_peak_pressure_row(real):
    _, trial = real
    np.testing.assert_allclose(trial.pressure.max("time").values, trial.peak_pressure_reported.values, atol=5e-4)


def test_real_values_match_the_text(real):
    """Frame 100 and the geometry, read line by line independently of the reader."""
    path, trial = real
    lines = path.read_text(encoding="latin-1").split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("time[secs]"))
    values = np.array(lines[start + 100].split()[1:], dtype=float)
    geometry = {
        line.split()[0]: np.array(line.split()[1:], dtype=float) for line in lines if line.startswith(("x[c]", "y[c]"))
    }
    x, y = 10 * (geometry["x[c]"] - 0.264), 10 * (geometry["y[c]"] - 0.514)
    cols = np.rint(x / 5.28).astype(int)
    rows = np.rint(y / 10.28).astype(int)
    np.testing.assert_allclose(trial.pressure.values[99][rows, cols], values, rtol=1e-6)
    np.testing.assert_allclose(trial.x.values[cols], x, atol=1e-9)
    np.testing.assert_allclose(trial.y.values[rows], y, atol=1e-9)


def test_real_orientation(real):
    """Toes toward +y; in the file's own coordinates the picture is a left foot."""
    _, trial = real
    peak = trial.pressure.max("time").values
    x, y = trial.x.values, trial.y.values
    assert widest_fraction(peak, x, y) > 0.5  # the forefoot (wider than the heel) at the larger y
    assert apparent_side(peak, x, y) == "left", landmarks(peak, x, y)


def test_real_round_trip(real, tmp_path):
    assert_round_trip(real[1], tmp_path)


def test_real_convert_command(real, tmp_path):
    path, trial = real
    converted = run_convert(path, tmp_path)
    np.testing.assert_array_equal(converted.pressure.values, trial.pressure.values)
    np.testing.assert_array_equal(converted.cop_y_reported.values, trial.cop_y_reported.values)


def test_real_file_is_recognised_by_content(real):
    path, _ = real
    head = path.read_bytes()[:4096]
    assert [f.name for f in known_formats().values() if f.sniff(head)] == ["pliance"]


# --------------------------------------------------------------------------------------
# grammar


def test_synthetic_values_geometry_and_cop(tmp_path):
    frames = _frames()
    trial = plantar.read(write(tmp_path / "s.asc", asc_lines(frames)))
    np.testing.assert_allclose(trial.pressure.values, frames, atol=1e-4)
    np.testing.assert_allclose(trial.x.values, [0.0, 5.28])
    np.testing.assert_allclose(trial.y.values, [0.0, 10.28, 20.56])
    p = frames[1:]
    cop_x = (p * trial.x.values).sum(axis=(1, 2)) / p.sum(axis=(1, 2))
    cop_y = (p * trial.y.values[:, None]).sum(axis=(1, 2)) / p.sum(axis=(1, 2))
    np.testing.assert_allclose(trial.cop_x_reported.values[1:], cop_x, atol=COP_TOLERANCE_MM)
    np.testing.assert_allclose(trial.cop_y_reported.values[1:], cop_y, atol=COP_TOLERANCE_MM)
    assert np.isnan(trial.cop_x_reported.values[0]) and trial.force_reported.values[0] == 0.0


def test_lf_and_crlf_read_the_same(tmp_path):
    lines = asc_lines(_frames())
    lf = plantar.read(write(tmp_path / "lf.asc", lines))
    crlf = plantar.read(write(tmp_path / "crlf.asc", lines, "\r\n"))
    np.testing.assert_array_equal(crlf.pressure.values, lf.pressure.values)
    np.testing.assert_array_equal(crlf.cop_x_reported.values, lf.cop_x_reported.values)


def test_a_grid_cell_without_a_sensor_is_nan(tmp_path):
    lines = asc_lines(_frames(rows=3, cols=2))
    # drop the first sensor of the file (the bottom left one, y = 0, x = 0) everywhere
    drop = lambda line: " ".join(line.split()[:1] + line.split()[2:])  # noqa: E731
    first = line_of(lines, "time[secs]") - 1
    for i in range(first, line_of(lines, "        MPP")):  # the ids, the frames and the MPP row
        lines[i] = drop(lines[i])
    geometry = line_of(lines, "sensor") - 1
    lines[geometry] = drop(lines[geometry])
    for i in range(geometry + 2, geometry + 13):
        lines[i] = drop(lines[i])
    trial = plantar.read(write(tmp_path / "hole.asc", lines))
    assert trial.pressure.shape == (4, 3, 2)
    assert np.isnan(trial.pressure.values[:, 0, 0]).all()
    assert not np.isnan(trial.pressure.values.reshape(4, -1)[:, 1:]).any()


def test_recognised_by_content_whatever_the_name(tmp_path):
    assert plantar.read(write(tmp_path / "stand.txt", asc_lines(_frames()))).attrs["device"].startswith("novel pliance")


# --------------------------------------------------------------------------------------
# bad input


def test_missing_frame(tmp_path):
    lines = asc_lines(_frames(5), drop_times=(2,))
    path = write(tmp_path / "m.asc", lines)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {line_of(lines, '    1.12500')}", "time[secs]", "missing frame")


def test_garbage_in_a_cell(tmp_path):
    lines = asc_lines(_frames())
    target = line_of(lines, "    1.08333")
    cells = lines[target - 1].split()
    cells[3] = "12,5"
    lines[target - 1] = "   ".join(cells)
    path = write(tmp_path / "g.asc", lines)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {target}", "pressure row, cell 4", "'12,5'")


def test_garbage_in_a_time_cell(tmp_path):
    """A bad time must not end the frames early (which would drop the rest of them)."""
    lines = asc_lines(_frames(5))
    target = line_of(lines, "    1.08333")
    lines[target - 1] = lines[target - 1].replace("1.08333", "1.08x33")
    path = write(tmp_path / "g.asc", lines)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {target}", "pressure row, cell 1", "'1.08x33'")


def test_a_cell_too_few(tmp_path):
    lines = asc_lines(_frames())
    target = line_of(lines, "    1.12500")
    lines[target - 1] = lines[target - 1].rsplit(None, 1)[0]
    path = write(tmp_path / "c.asc", lines)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {target}", "pressure row", "6 cells, expected 7")


@pytest.mark.parametrize(("omit", "field"), [(2, "scanning rate"), (3, "pressure values in")])
def test_missing_header_field(tmp_path, omit, field):
    path = write(tmp_path / "h.asc", asc_lines(_frames(), omit=(omit,)))
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, field, "missing")


def test_units_other_than_kpa(tmp_path):
    lines = asc_lines(_frames(), units="N/cm2")
    path = write(tmp_path / "u.asc", lines)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, "line 4", "pressure values in", "'N/cm2'")


def test_rate_and_frame_time_disagree(tmp_path):
    path = write(tmp_path / "r.asc", asc_lines(_frames(), rate="50"))
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, "line 3", "scanning rate")


def test_frame_without_a_force_row(tmp_path):
    lines = asc_lines(_frames(), lead=0)
    force_rows = [i for i, line in enumerate(lines) if line.startswith("    1.12500")]
    del lines[force_rows[1]]  # the pressure row stays, its force/COP row goes
    path = write(tmp_path / "f.asc", lines)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {line_of(lines, ' time[secs] force[N]')}", "force/COP table", "1.125 s")


def test_geometry_not_a_grid(tmp_path):
    frames = _frames()
    xc = np.array([0.264, 0.264, 0.264, 0.792, 0.792, 0.9])  # the last sensor off the grid
    lines = asc_lines(frames, geometry={"x[c]": xc})
    path = write(tmp_path / "g.asc", lines)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {line_of(lines, 'x[c]')}", "sensor geometry centres", "one grid")


@pytest.mark.parametrize("cut_at", [" time[secs] force[N]", "sensor", "y[2]", "MPP"])
def test_truncated_file(tmp_path, cut_at):
    lines = asc_lines(_frames())
    keep = next(i for i, line in enumerate(lines) if line.strip().startswith(cut_at.strip()))
    path = write(tmp_path / "t.asc", lines[:keep])
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, "line ")


def test_sniff():
    assert pliance.sniff(b"file name: x.mat date/time 17.06.23 15.21\nmat type s2160_001\ntime[secs]  4\n")
    assert not pliance.sniff(b"DATA_TYPE MOVIE\n")
    assert not pliance.sniff(b"")


def test_bad_number_in_the_geometry(tmp_path):
    lines = asc_lines(_frames())
    target = line_of(lines, "y[c]")
    lines[target - 1] = lines[target - 1].replace("0.5140", "0.5l40", 1)
    path = write(tmp_path / "b.asc", lines)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {target}", "geometry row 'y[c]', cell 2", "'0.5l40'")


def test_bad_number_in_the_peak_row(tmp_path):
    lines = asc_lines(_frames())
    target = line_of(lines, "        MPP")
    lines[target - 1] += "   1.000"
    path = write(tmp_path / "b.asc", lines)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {target}", "MPP row", "8 cells, expected 7")


# --------------------------------------------------------------------------------------
# implausible values: refused where the file states them


@pytest.mark.parametrize("cell", ["3.4e38", "100000.0", "inf"])
def test_an_implausible_pressure_names_its_line_and_sensor(tmp_path, cell):
    lines = asc_lines(_frames())
    at = line_of(lines, "time[secs]") + 2  # the second frame
    fields = lines[at - 1].split()
    fields[2] = cell
    lines[at - 1] = "   ".join(fields)
    path = write(tmp_path / "p.asc", lines)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {at}", "sensor" if cell != "inf" else "pressure row")


def test_an_implausible_rate_names_its_line(tmp_path):
    path = write(tmp_path / "r.asc", asc_lines(_frames(), dt=1 / 30000, rate="30000"))
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, "line 3", "scanning rate", "a frame rate of 30000 Hz is implausible")


def test_a_header_without_its_fields_names_the_lines_searched(tmp_path):
    lines = asc_lines(_frames(), omit=(3,))  # no 'pressure values in' line
    path = write(tmp_path / "h.asc", lines)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, "line 12", "'pressure values in'", "missing from lines 1-12")


def test_sensor_centres_spread_beyond_any_mat_are_refused(tmp_path):
    lines = asc_lines(_frames())
    at = line_of(lines, "x[c]")
    values = lines[at - 1].split()
    values[-1] = "1e15"  # 10^15 cm: a sensor beyond any mat (the corners are not checked against it)
    lines[at - 1] = " ".join(values)
    path = write(tmp_path / "g.asc", lines)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, f"line {at}", "sensor geometry centres", "more than 10000 pitches")
