"""novel pliance ASCII exports (``.asc``).

Grammar
-------
Latin-1 text. Header lines: ``file name: <name> date/time <dd.mm.yy> <hh.mm>``,
``mat type <type>``, ``total times [secs]: <t> time per frame [secs]: <dt>
scanning rate [Hz]: <f>``, ``pressure values in kPa``. Then a line ``time[secs]``
followed by the sensor ids, one row per frame (its time in s, then the pressure of
every sensor in kPa), and summary rows (``MPP`` = per-sensor maximum, ``MVP``).
Then a table ``time[secs] force[N] x[cm] y[cm]`` with one row per frame of the
whole recording (``-`` = no centre of pressure), and the sensor geometry: a
``sensor`` line of ids, ``corner[cm]``, rows ``x[0]``, ``y[0]`` .. ``x[3]``, ``y[3]``
(corners), ``x[c]``, ``y[c]`` (centre) and ``area`` (cm²).

The sensors are placed on a grid from their centres; they must be rectangles of
one size (the s2160 mat: 28 x 29 sensors of 5.28 x 10.28 mm). A grid cell without
a sensor is NaN. The file's force and centre of pressure of each pressure frame
(matched by time) are kept as ``force_reported`` (N) and ``cop_x_reported``,
``cop_y_reported`` (mm, NaN where the file has ``-``), converted into the trial's
coordinates: novel states the COP in the geometry's frame turned by 180 degrees
(x' = x_min + x_max - x, y' = y_min + y_max - y over the sensor corners), so the
reader turns it back. The ``MPP`` row is kept as ``peak_pressure_reported`` (y, x).

Orientation
-----------
The sensor geometry is taken as novel's picture of the mat seen from above,
x to the right and y up, and kept as it is, with the mat frame's origin at the
centre of the sensor with the smallest x and y::

    x = 10 * (x[c] - min x[c])   y = 10 * (y[c] - min y[c])      (mm)

The mat has no preferred direction: the toes point wherever the person faced. In
``novel-pliance/pliance_test.asc`` (one foot standing) they point toward +y, and
the picture is a left foot: the toe line slopes back toward -x and the lateral
forefoot contact lies at -x of the foot axis. The file does not state the side
(its name ends in ``R``); read with x mirrored it would be a right foot.

Time: ``time`` is the file's frame time minus that of the first frame (the times
are printed to 10 µs, so steps are 0.04166 or 0.04167 s). ``start_time`` is the
``date/time`` of the header, read as dd.mm.yy (novel's German date order; the
file does not say), plus the first frame's time; the header text is kept in
``start_time_text``.
"""

import datetime
import re

import numpy as np

from ._dispatch import FileFormat
from ._vendor import build_trial, check_plausible, implausible_pressure, parse_error

ENCODING = "latin-1"
_GEOMETRY_ROWS = ("x[0]", "y[0]", "x[1]", "y[1]", "x[2]", "y[2]", "x[3]", "y[3]", "x[c]", "y[c]", "area")
#: Most grid cells along x or y the sensor centres may spread over.
_MAX_GRID = 10_000
_COP_HEADER = re.compile(r"^\s*time\[secs\]\s+force\[N\]\s+x\[cm\]\s+y\[cm\]\s*$")


def sniff(head):
    r"""Tell whether the first bytes of a file are a novel pliance ASCII export.

    Parameters
    ----------
    head : bytes
        The first bytes of the file (up to 4096).

    Returns
    -------
    is_pliance : bool
        True if they hold a ``mat type`` line and a ``time[secs]`` header.

    Examples
    --------
    >>> from plantar.io import pliance
    >>> pliance.sniff(b"file name: a.mat date/time 17.06.23 15.21\nmat type s2160_001\n"
    ...               b"pressure values in kPa\ntime[secs]   4   5\n")
    True
    >>> pliance.sniff(b"DATA_TYPE MOVIE\n")
    False
    """
    return b"\nmat type" in head and b"time[secs]" in head


def read(path):
    r"""Read a novel pliance ASCII export into a trial.

    Use :func:`plantar.read`, which calls this and checks the result.

    Parameters
    ----------
    path : pathlib.Path
        The file.

    Returns
    -------
    trial : xarray.Dataset
        Pressure in kPa on the grid of the sensor geometry; the file's force
        (``force_reported``, N) and centre of pressure (``cop_x_reported``,
        ``cop_y_reported``, mm in the trial's coordinates) per frame; the
        per-sensor maximum ``peak_pressure_reported`` (kPa).

    Raises
    ------
    plantar.io.FileFormatError
        If the file breaks the grammar (a header field missing, a frame missing,
        a row with too many or too few cells, a cell that is not a number, the
        force table or the geometry missing or cut short); the message names the
        file, the line and the field.

    Examples
    --------
    Two frames of a mat of 1 x 2 sensors (5.28 mm wide, 10.28 mm long):

    >>> import pathlib, tempfile
    >>> import plantar
    >>> text = "\n".join([
    ...     "file name: stand.mat date/time 17.06.23 15.21", "mat type s2160_001",
    ...     "total times [secs]: 0.125 time per frame [secs]: 0.04167 scanning rate [Hz]: 24",
    ...     "pressure values in kPa", "", "electrical:",
    ...     "time[secs]   4   5",
    ...     "  0.04167   10.000   30.000", "  0.08333    0.000    0.000",
    ...     "      MPP   10.000   30.000", "",
    ...     " time[secs] force[N]   x[cm]   y[cm]", "",
    ...     "  0.04167    2.171   0.264   1.285", "  0.08333    0.000       -       -", "",
    ...     "sensor   4   5", "corner[cm]",
    ...     "x[0]   0.0000   0.0000", "y[0]   2.0560   1.0280", "x[1]   0.0000   0.0000",
    ...     "y[1]   1.0280   0.0000", "x[2]   0.5280   0.5280", "y[2]   1.0280   0.0000",
    ...     "x[3]   0.5280   0.5280", "y[3]   2.0560   1.0280", "x[c]   0.2640   0.2640",
    ...     "y[c]   1.5420   0.5140", "area   0.5428   0.5428", ""])
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "stand.asc"
    >>> _ = path.write_text(text, encoding="latin-1")
    >>> trial = plantar.read(path)
    >>> trial.pressure.values[0]  # sensor 5 (y[c] 0.514 cm) at y = 0
    array([[30.],
           [10.]], dtype=float32)
    >>> float(trial.force_reported[0]), float(trial.cop_y_reported[0])  # COP turned back: mm
    (2.171, 2.57)
    """
    lines = path.read_bytes().decode(ENCODING).replace("\r\n", "\n").split("\n")
    if lines[-1] == "":
        lines.pop()  # the file's last line end
    header = _read_header(path, lines)
    ids_line = next((i for i, line in enumerate(lines) if line.startswith("time[secs]")), None)
    if ids_line is None:
        raise parse_error(path, len(lines), "'time[secs]' line of sensor ids", "missing")
    ids = lines[ids_line].split()[1:]
    if not ids or not all(i.isdigit() for i in ids):
        raise parse_error(path, ids_line + 1, "sensor ids", "expected 'time[secs]' followed by sensor numbers")
    n_sensors = len(ids)
    first = ids_line + 1
    last = first
    # the frame rows run to the first blank line or summary row; every one must be numbers
    while last < len(lines) and lines[last].strip() and lines[last].split()[0] not in ("MPP", "MVP"):
        last += 1
    if last == first:
        raise parse_error(path, first + 1, "frames", "no pressure rows after the sensor ids")
    table = _numbers(path, lines, range(first, last), n_sensors + 1, "pressure row")
    times, pressure = table[:, 0], table[:, 1:]
    bad = implausible_pressure(pressure)
    if bad is not None:
        row, col = bad
        raise parse_error(
            path, first + row + 1, f"sensor {ids[col]}", f"{pressure[row, col]:g} kPa is not a pressure (0 .. 100000 kPa)"
        )
    dt = header["dt"]
    steps = np.diff(times)
    wrong = np.flatnonzero(np.abs(steps - dt) > 0.25 * dt)
    if wrong.size:
        k = int(wrong[0]) + 1
        missing = " (a missing frame?)" if steps[k - 1] > dt else ""
        raise parse_error(
            path,
            first + k + 1,
            "time[secs]",
            f"{times[k]:g} s follows {times[k - 1]:g} s, expected a step of {dt:g} s{missing}",
        )
    summary = _summary_rows(path, lines, last, n_sensors)
    cop_times, force, cop_x, cop_y, cop_line = _read_cop_table(path, lines)
    geometry = _read_geometry(path, lines, ids)
    match = np.searchsorted(cop_times, times - 1e-4)
    match = np.minimum(match, cop_times.size - 1)
    unmatched = np.flatnonzero(np.abs(cop_times[match] - times) > 1e-4)
    if unmatched.size:
        k = int(unmatched[0])
        raise parse_error(
            path,
            cop_line + 1,
            "force/COP table",
            f"no row for the pressure frame at {times[k]:g} s (line {first + k + 1})",
        )
    force, cop_x, cop_y = force[match], cop_x[match], cop_y[match]

    rows, cols, row_of, col_of, pitch_x, pitch_y, extent = geometry
    grid = np.full((times.size, rows, cols), np.nan, np.float32)
    grid[:, row_of, col_of] = pressure
    peak = np.full((rows, cols), np.nan)
    if "MPP" in summary:
        peak[row_of, col_of] = summary["MPP"]
    x_min, x_max, y_min, y_max, xc_min, yc_min = extent
    # the file's COP frame is the geometry's turned by 180 degrees
    cop_x_mm = 10.0 * ((x_min + x_max - cop_x) - xc_min)
    cop_y_mm = 10.0 * ((y_min + y_max - cop_y) - yc_min)
    start_time = ""
    if header["start"] is not None:
        start_time = (header["start"] + datetime.timedelta(seconds=float(times[0]))).isoformat()
    trial = build_trial(
        path,
        grid,
        pitch_mm=(pitch_x, pitch_y),
        rate_hz=header["rate_hz"],
        time_s=times - times[0],
        origin_mm=(0.0, 0.0),
        per_frame={
            "force_reported": (force, "N", "total force stated in the file"),
            "cop_x_reported": (cop_x_mm, "mm", "centre of pressure x stated in the file (mat frame)"),
            "cop_y_reported": (cop_y_mm, "mm", "centre of pressure y stated in the file (mat frame)"),
        },
        device=f"novel pliance ({header['mat']})" if header["mat"] else "novel pliance",
        source_format="novel pliance ASCII export (.asc)",
        layout="mat",
        start_time=start_time,
        start_time_text=header["start_text"],
        mat_type=header["mat"],
        original_file=header["file"],
        first_frame_time_s=float(times[0]),
    )
    trial["peak_pressure_reported"] = (
        ("y", "x"),
        peak,
        {"units": "kPa", "long_name": "per-sensor maximum stated in the file (MPP)"},
    )
    return trial


def _read_header(path, lines):
    head = "\n".join(lines[:12])
    last = max(min(12, len(lines)), 1)

    def find(pattern, field):
        found = re.search(pattern, head, re.MULTILINE)
        if found is None:
            raise parse_error(path, last, f"header field '{field}'", f"missing from lines 1-{last}")
        return found

    units_line = next((i for i, line in enumerate(lines[:12]) if line.startswith("pressure values in")), None)
    if units_line is None:
        raise parse_error(
            path, last, "header field 'pressure values in'", f"missing from lines 1-{last}: the pressure units are not stated"
        )
    units = lines[units_line].split("pressure values in", 1)[1].strip()
    if units.lower() != "kpa":
        raise parse_error(
            path,
            units_line + 1,
            "header field 'pressure values in'",
            f"{units!r}: plantar reads pliance exports in kPa",
        )
    timing = find(
        r"time per frame \[secs\]:\s*([\d.]+)\s+scanning rate \[Hz\]:\s*([\d.]+)", "time per frame / scanning rate"
    )
    timing_line = head[: timing.start()].count("\n") + 1
    try:
        dt, rate = float(timing.group(1)), float(timing.group(2))
    except ValueError:
        raise parse_error(path, timing_line, "header field 'time per frame [secs]'", "not a number") from None
    check_plausible(path, timing_line, "header field 'scanning rate [Hz]'", rate, "rate")
    if not (dt > 0 and rate > 0 and abs(dt * rate - 1) < 1e-3):
        raise parse_error(
            path, timing_line, "header field 'scanning rate [Hz]'", f"{rate:g} Hz does not match {dt:g} s per frame"
        )
    mat = re.search(r"^mat type\s+(\S+)", head, re.MULTILINE)
    name = re.search(
        r"^file name:\s*(.*?)\s+date/time\s+(\d{1,2})\.(\d{1,2})\.(\d{2,4})\s+(\d{1,2})[.:](\d{2})", head, re.MULTILINE
    )
    start, start_text, file_name = None, "", ""
    if name:
        file_name = name.group(1)
        day, month, year, hour, minute = (int(g) for g in name.group(2, 3, 4, 5, 6))
        start_text = head[name.start(2) : name.end(6)]
        try:
            start = datetime.datetime(year + 2000 if year < 100 else year, month, day, hour, minute)
        except ValueError:
            start = None
    return {
        "dt": dt,
        "rate_hz": rate,
        "mat": mat.group(1) if mat else "",
        "start": start,
        "start_text": start_text,
        "file": file_name,
    }


def _numbers(path, lines, indices, n_cells, what, *, skip=0, dash_nan=False):
    """Rows of ``n_cells`` whitespace-separated numbers, parsed at once; errors name the line and cell.

    ``skip`` leading fields of every line (a label such as ``MPP`` or ``x[c]``) are
    not numbers and are left out; cells are counted from the start of the line.
    """
    indices = list(indices)
    fields = [lines[i].split()[skip:] for i in indices]
    text = " ".join(" ".join(f) for f in fields)
    if dash_nan:
        text = re.sub(r"(?<!\S)-(?!\S)", "nan", text)
    try:
        values = np.array(text.split(), dtype=np.float64)
        ok = values.size == len(indices) * n_cells
    except ValueError:
        ok = False
    if not ok:
        for i, cells in zip(indices, fields):
            if len(cells) != n_cells:
                raise parse_error(path, i + 1, what, f"{len(cells) + skip} cells, expected {n_cells + skip}")
            for k, cell in enumerate(cells, start=1 + skip):
                if dash_nan and cell == "-":
                    continue
                try:
                    float(cell)
                except ValueError:
                    raise parse_error(path, i + 1, f"{what}, cell {k}", f"{cell!r} is not a number") from None
    values = values.reshape(len(indices), n_cells)
    bad = ~np.isfinite(values) if not dash_nan else np.isinf(values)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise parse_error(path, indices[row] + 1, f"{what}, cell {col + 1 + skip}", "not a finite number")
    return values


def _summary_rows(path, lines, start, n_sensors):
    """The MPP / MVP rows after the frames, by label."""
    summary = {}
    i = start
    while i < len(lines) and lines[i].split()[:1] and lines[i].split()[0] in ("MPP", "MVP"):
        label = lines[i].split()[0]
        summary[label] = _numbers(path, lines, [i], n_sensors, f"{label} row", skip=1)[0]
        i += 1
    return summary


def _read_cop_table(path, lines):
    head = next((i for i, line in enumerate(lines) if _COP_HEADER.match(line)), None)
    if head is None:
        raise parse_error(path, len(lines), "'time[secs] force[N] x[cm] y[cm]' table", "missing (truncated file?)")
    i = head + 1
    while i < len(lines) and not lines[i].strip():
        i += 1
    first = i
    while i < len(lines) and lines[i].strip():
        i += 1
    if i == first:
        raise parse_error(path, head + 1, "force/COP table", "no rows")
    table = _numbers(path, lines, range(first, i), 4, "force/COP row", dash_nan=True)
    if np.any(np.isnan(table[:, :2])):
        row = int(np.argwhere(np.isnan(table[:, :2]))[0, 0])
        raise parse_error(path, first + row + 1, "force/COP row", "'-' where a time or a force is expected")
    return table[:, 0], table[:, 1], table[:, 2], table[:, 3], head


def _read_geometry(path, lines, ids):
    """Grid shape, each sensor's row and column, the pitch (mm) and the mat's extent (cm)."""
    head = next((i for i, line in enumerate(lines) if line.startswith("sensor ") or line.strip() == "sensor"), None)
    if head is None:
        raise parse_error(path, len(lines), "sensor geometry ('sensor' line)", "missing (truncated file?)")
    if lines[head].split()[1:] != ids:
        raise parse_error(path, head + 1, "sensor geometry ids", "differ from the ids of the pressure rows")
    rows_at = {}
    for i in range(head + 1, min(head + 2 + len(_GEOMETRY_ROWS), len(lines))):
        key = lines[i].split()[:1]
        if key and key[0] in _GEOMETRY_ROWS:
            rows_at[key[0]] = i
    missing = [key for key in _GEOMETRY_ROWS if key not in rows_at]
    if missing:
        expected_at = head + 3 + _GEOMETRY_ROWS.index(missing[0])  # after 'sensor' and 'corner[cm]'
        raise parse_error(
            path, min(expected_at, len(lines)), f"sensor geometry row '{missing[0]}'", "missing (truncated file?)"
        )
    g = {
        key: _numbers(path, lines, [rows_at[key]], len(ids), f"geometry row '{key}'", skip=1)[0]
        for key in _GEOMETRY_ROWS
    }
    xs = np.stack([g[f"x[{k}]"] for k in range(4)])
    ys = np.stack([g[f"y[{k}]"] for k in range(4)])
    width, height = xs.max(0) - xs.min(0), ys.max(0) - ys.min(0)
    if np.ptp(width) > 1e-3 or np.ptp(height) > 1e-3 or np.any(width <= 0) or np.any(height <= 0):
        raise parse_error(
            path,
            rows_at["x[0]"] + 1,
            "sensor geometry",
            "the sensors are not rectangles of one size: not a grid plantar can hold",
        )
    # the corners are printed in cm to four decimals: drop the float noise of their differences
    pitch_x, pitch_y = round(float(width.mean()), 6), round(float(height.mean()), 6)
    if not np.allclose(g["area"], pitch_x * pitch_y, rtol=1e-3):
        raise parse_error(
            path,
            rows_at["area"] + 1,
            "sensor geometry 'area'",
            f"differs from the corners' {pitch_x:g} x {pitch_y:g} cm",
        )
    check_plausible(path, rows_at["x[0]"] + 1, "sensor geometry", 10.0 * pitch_x, "pitch")
    check_plausible(path, rows_at["y[0]"] + 1, "sensor geometry", 10.0 * pitch_y, "pitch")
    xc, yc = g["x[c]"], g["y[c]"]
    col = (xc - xc.min()) / pitch_x
    row = (yc - yc.min()) / pitch_y
    if max(col.max(), row.max()) >= _MAX_GRID:
        raise parse_error(
            path, rows_at["x[c]"] + 1, "sensor geometry centres", f"the sensors spread over more than {_MAX_GRID} pitches"
        )
    if np.max(np.abs(col - np.rint(col))) > 0.01 or np.max(np.abs(row - np.rint(row))) > 0.01:
        raise parse_error(path, rows_at["x[c]"] + 1, "sensor geometry centres", "the sensors do not lie on one grid")
    col, row = np.rint(col).astype(int), np.rint(row).astype(int)
    n_rows, n_cols = int(row.max()) + 1, int(col.max()) + 1
    if np.unique(row * n_cols + col).size != len(ids):
        raise parse_error(path, rows_at["x[c]"] + 1, "sensor geometry centres", "two sensors share a grid cell")
    extent = (xs.min(), xs.max(), ys.min(), ys.max(), xc.min(), yc.min())
    return n_rows, n_cols, row, col, round(10.0 * pitch_x, 6), round(10.0 * pitch_y, 6), extent


FORMAT = FileFormat(
    name="pliance",
    description="novel pliance ASCII export",
    extensions=(".asc",),
    sniff=sniff,
    reader=read,
)
