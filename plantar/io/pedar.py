"""novel pedar in-shoe insole ASCII exports (``.asc``).

Grammar
-------
Latin-1 text, tab separated. Header lines: ``file name: <name>\\tdate/time <dd.mm.yy>
<hh.mm>``, ``sensor type: <type>`` (the insole size is the type's first letter or
two: ``y-1865l-1870r-...`` is size ``y``, ``xw_...`` the wide size ``xw``), ``total
time [secs]: <t>\\ttime per frame [secs]: <dt>\\tscanning rate [Hz]: <f>``,
``pressure values in kPa``, optionally ``mask definition:`` followed by ``left
insole: 1,2,...`` and ``right insole: ...``. Then a line ``time[secs]`` followed by
the sensor numbers (1..99 of the left insole, then 1..99 of the right), and one row
per frame: its time in s (the first frame at ``dt``), then the pressure of every
sensor in kPa. Every line of the table ends with a tab.

Geometry
--------
The file states no geometry. The sensor areas per insole size are novel's published
ones, and the layout is novel's drawing of both insoles side by side in one 0..1 box
(both from the R package pressuRe by S. Telfer, MIT licence; see
``plantar/io/data/README.md``). The drawing is scaled to mm by one factor per size,
``sqrt(median(published area / drawn area))`` over the 99 sensors, the same along x
and y (the drawing's aspect is the insole's): 305.7 mm per unit for size ``y`` (an
insole 280 mm long and 90 mm wide). ``sensor_area`` is the published area, with
which force = sum(kPa x area); the drawn outlines, so scaled, differ from it by a
few % per sensor (10th .. 90th percentile of the ratio: -5 .. +6 % for size ``y``).

Orientation (checked on a real walk): toes toward +y, the left insole at smaller x,
medial sides facing each other (the hallux sensor 96 lies at the inner edge and
carries the highest toe pressure), the heel sensors the first loaded at contact.
The first block of columns is the left insole, as the ``mask definition`` lists it.

Time: ``time`` is the file's frame time minus that of the first frame; the
``start_time`` is the header's ``date/time`` (read as dd.mm.yy, novel's order).

Truncation: the header states the recording's length (``total time``); a file
with fewer frames than ``total time / time per frame``, a frame row with fewer
cells, or a last row cut inside its last cell (no closing tab) is refused.
"""

import datetime
import functools
import io
import re
from importlib import resources

import numpy as np
import pandas as pd

from .._schema import make_sensor_trial
from ._dispatch import FileFormat
from ._vendor import check_plausible, implausible_pressure, parse_error

ENCODING = "latin-1"
#: Sensors per pedar insole.
N_SENSORS = 99
#: Lines searched for the header fields.
_HEADER_LINES = 30
_TYPE = re.compile(r"^sensor type:\s*(\S+)", re.MULTILINE)


def sniff(head):
    r"""Tell whether the first bytes of a file are a novel pedar ASCII export.

    Parameters
    ----------
    head : bytes
        The first bytes of the file (up to 4096).

    Returns
    -------
    is_pedar : bool
        True if they hold a ``sensor type:`` line and ``pressure values in`` (a
        pliance export has ``mat type`` instead).

    Examples
    --------
    >>> from plantar.io import pedar
    >>> pedar.sniff(b"file name:  walk.sol\tdate/time  25.04.23 10.49\nsensor type:  y-1865l\n"
    ...             b"total time [secs]:  1.0\ttime per frame [secs]:  0.01\tscanning rate [Hz]:   100\n"
    ...             b"pressure values in  kPa\n")
    True
    >>> pedar.sniff(b"file name: a.mat date/time 17.06.23 15.21\nmat type s2160_001\n")
    False
    """
    return b"\nsensor type:" in head and b"pressure values in" in head and b"\nmat type" not in head


@functools.lru_cache(maxsize=1)
def _geometry_tables():
    """(sizes -> areas (99,), polygons (199, 4, 2)) from the package data."""
    data = resources.files("plantar.io") / "data"
    areas = pd.read_csv(io.StringIO((data / "pedar_sensor_areas_mm2.csv").read_text()))
    polygons = pd.read_csv(io.StringIO((data / "pedar_sensor_polygons_normalised.csv").read_text()))
    corners = polygons[["x1", "y1", "x2", "y2", "x3", "y3", "x4", "y4"]].to_numpy(float).reshape(-1, 4, 2)
    table = {size: areas[size].to_numpy(float) for size in areas.columns if size != "sensor"}
    return table, corners


def insole_geometry(size):
    r"""The sensor layout of a pedar insole size in mm (trial frame) and its published areas.

    Parameters
    ----------
    size : str
        The insole size (``"a"``, ``"u"``, ``"v"``, ``"w"``, ``"x"``, ``"y"``,
        ``"z"``, ``"uw"``, ``"xw"``, ``"vw"``).

    Returns
    -------
    geometry : dict
        ``area_mm2`` (99,) published areas; ``outline_x_mm``, ``outline_y_mm``
        (2, 99, 4) corners of the left (index 0) and right (1) insole's sensors;
        ``centre_x_mm``, ``centre_y_mm`` (2, 99) polygon centroids;
        ``mm_per_unit`` the drawing's scale; ``split_x_mm`` the x between the
        insoles.

    Raises
    ------
    KeyError
        If the size is unknown.

    Examples
    --------
    >>> from plantar.io.pedar import insole_geometry
    >>> g = insole_geometry("y")
    >>> round(g["mm_per_unit"], 1), float(g["area_mm2"][0])
    (305.7, 192.0)
    >>> bool(g["centre_x_mm"][0].max() < g["split_x_mm"] < g["centre_x_mm"][1].min())
    True
    """
    table, corners = _geometry_tables()
    if size not in table:
        raise KeyError(size)
    area = table[size]
    sides = [corners[100:199], corners[0:99]]  # left, right
    drawn = np.stack([_polygon_area(c) for c in sides])
    scale = float(np.sqrt(np.median(area / drawn[1])))
    xs = np.stack([c[..., 0] for c in sides]) * scale
    ys = np.stack([c[..., 1] for c in sides]) * scale
    cx, cy = _polygon_centroid(xs, ys)
    split = 0.5 * (xs[0].max() + xs[1].min())
    return {
        "area_mm2": area,
        "outline_x_mm": xs,
        "outline_y_mm": ys,
        "centre_x_mm": cx,
        "centre_y_mm": cy,
        "mm_per_unit": scale,
        "split_x_mm": float(split),
    }


def _polygon_area(corners):
    x, y = corners[..., 0], corners[..., 1]
    return 0.5 * np.abs(np.sum(x * np.roll(y, -1, -1) - np.roll(x, -1, -1) * y, axis=-1))


def _polygon_centroid(x, y):
    cross = x * np.roll(y, -1, -1) - np.roll(x, -1, -1) * y
    twice_area = cross.sum(-1)
    cx = ((x + np.roll(x, -1, -1)) * cross).sum(-1) / (3.0 * twice_area)
    cy = ((y + np.roll(y, -1, -1)) * cross).sum(-1) / (3.0 * twice_area)
    return cx, cy


def read(path):
    r"""Read a novel pedar ASCII export into a trial of irregular sensors.

    Use :func:`plantar.read`, which calls this and checks the result.

    Parameters
    ----------
    path : pathlib.Path
        The file.

    Returns
    -------
    trial : xarray.Dataset
        Pressure in kPa per sensor (dims ``(time, sensor)``), both insoles, each
        sensor with its side, number, published area and outline in mm.

    Raises
    ------
    plantar.io.FileFormatError
        If the file breaks the grammar, names an unknown insole size, or is cut
        short; the message names the file, the line and the field.

    Examples
    --------
    A 2-frame export of a size ``y`` pair with 10 kPa on the left heel's sensor 1:

    >>> import pathlib, tempfile
    >>> import plantar
    >>> numbers = "\t".join(str(k) for k in range(1, 100))
    >>> row = lambda t, first: f"{t:.5f}\t" + "\t".join([f"{first:.3f}"] + ["0.000"] * 197) + "\t"
    >>> text = "\n".join([
    ...     "file name:  walk.sol\tdate/time  25.04.23 10.49", "sensor type:  y-1865l-1870r ",
    ...     "total time [secs]:  0.020\ttime per frame [secs]:  0.01000\tscanning rate [Hz]:   100",
    ...     "pressure values in  kPa", "", f"time[secs]    \t{numbers}\t{numbers}\t",
    ...     row(0.01, 10.0), row(0.02, 0.0)])
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "walk.asc"
    >>> _ = path.write_text(text, encoding="latin-1")
    >>> trial = plantar.read(path)
    >>> trial.sizes["sensor"], str(trial.sensor_side.values[0]), int(trial.sensor_number.values[0])
    (198, 'left', 1)
    >>> float((trial.pressure * trial.sensor_area).sum("sensor")[0]) / 1000  # N: 10 kPa x 192 mm²
    1.92
    """
    text = path.read_bytes().decode(ENCODING)
    lines = text.split("\n")
    header = _read_header(path, lines)
    ids_line = header["ids_line"]
    masked = [side for side in ("left", "right") if header[f"mask_{side}"]]
    sides, numbers = _sensor_columns(path, lines, ids_line, masked)
    n_sensors = numbers.size
    first = ids_line + 1
    end = len(lines)
    while end > first and not lines[end - 1].strip():
        end -= 1  # the line ends after the last row
    if end == first:
        raise parse_error(path, first + 1, "frames", "no frame rows after the sensor numbers")
    table = _read_table(path, lines, first, end - first, n_sensors)
    times, pressure = table[:, 0], table[:, 1:]
    if not lines[end - 1].rstrip("\r").endswith("\t"):
        raise parse_error(path, end, f"frame row, cell {n_sensors + 1}", "the row does not end with a tab: cut short")
    bad = implausible_pressure(pressure)
    if bad is not None:
        row, col = bad
        raise parse_error(
            path,
            first + row + 1,
            f"sensor {sides[col]} {numbers[col]} (cell {col + 2})",
            f"{pressure[row, col]:g} kPa is not a pressure (0 .. 100000 kPa)",
        )
    dt = header["dt"]
    steps = np.diff(times)
    wrong = np.flatnonzero(np.abs(steps - dt) > 0.25 * dt)
    if wrong.size:
        k = int(wrong[0]) + 1
        raise parse_error(path, first + k + 1, "time[secs]", f"{times[k]:g} s follows {times[k - 1]:g} s, expected a step of {dt:g} s")
    expected = int(round(header["total_s"] / dt))
    if times.size != expected:
        raise parse_error(
            path,
            first + times.size,
            "frames",
            f"{times.size} frame rows, but the header states {header['total_s']:g} s at {dt:g} s per frame "
            f"({expected} frames){': the file is cut short' if times.size < expected else ''}",
        )
    geometry = insole_geometry(header["size"])
    side_index = (sides == "right").astype(int)
    k = numbers - 1
    outline_x = geometry["outline_x_mm"][side_index, k]
    outline_y = geometry["outline_y_mm"][side_index, k]
    trial = make_sensor_trial(
        pressure,
        sensor_number=numbers,
        sensor_side=sides,
        sensor_x_mm=geometry["centre_x_mm"][side_index, k],
        sensor_y_mm=geometry["centre_y_mm"][side_index, k],
        sensor_area_mm2=geometry["area_mm2"][k],
        outline_x_mm=outline_x,
        outline_y_mm=outline_y,
        rate_hz=header["rate_hz"],
        time_s=times - times[0],
        device=f"novel pedar (insole size {header['size']})",
        source_format="novel pedar ASCII export (.asc)",
        source_file=path.name,
        start_time=header["start"],
        start_time_text=header["start_text"],
        original_file=header["file"],
        sensor_type=header["type"],
        insole_size=header["size"],
        mask_left=header["mask_left"],
        mask_right=header["mask_right"],
        first_frame_time_s=float(times[0]),
        side_split_x_mm=geometry["split_x_mm"],
        **({"side": str(sides[0])} if np.unique(sides).size == 1 else {}),
        sensor_geometry=(
            f"novel pedar insole size {header['size']}: published sensor areas; outlines from novel's layout "
            f"drawing scaled by {geometry['mm_per_unit']:.1f} mm per unit (the median ratio of published to "
            "drawn area); both from the R package pressuRe (S. Telfer, MIT licence)"
        ),
        sensor_area_source="published (novel, per insole size, via pressuRe)",
    )
    return trial


def _read_header(path, lines):
    head = "\n".join(lines[:_HEADER_LINES])
    last = max(min(_HEADER_LINES, len(lines)), 1)

    def line_of(match):
        return head[: match.start()].count("\n") + 1

    kind = _TYPE.search(head)
    if kind is None:
        raise parse_error(path, last, "header field 'sensor type:'", f"missing from lines 1-{last}")
    type_text = kind.group(1)
    size = re.match(r"[a-zA-Z]+", type_text)
    table, _ = _geometry_tables()
    size = size.group(0).lower() if size else ""
    if size not in table:
        size = size[:1]
    if size not in table:
        raise parse_error(
            path,
            line_of(kind),
            "header field 'sensor type:'",
            f"{type_text!r}: unknown insole size (plantar knows the areas of sizes {', '.join(table)})",
        )
    units = re.search(r"^pressure values in\s*(\S*)", head, re.MULTILINE)
    if units is None:
        raise parse_error(path, last, "header field 'pressure values in'", f"missing from lines 1-{last}")
    if units.group(1).lower() != "kpa":
        raise parse_error(path, line_of(units), "header field 'pressure values in'", f"{units.group(1)!r}: plantar reads pedar exports in kPa")
    timing = re.search(
        r"total time \[secs\]:\s*(\S+)\s+time per frame \[secs\]:\s*(\S+)\s+scanning rate \[Hz\]:\s*(\S+)", head
    )
    if timing is None:
        raise parse_error(path, last, "header field 'total time / time per frame / scanning rate'", f"missing from lines 1-{last}")
    timing_line = line_of(timing)
    try:
        total, dt, rate = (float(g) for g in timing.group(1, 2, 3))
    except ValueError:
        raise parse_error(path, timing_line, "header field 'total time [secs]'", "not a number") from None
    check_plausible(path, timing_line, "header field 'scanning rate [Hz]'", rate, "rate")
    if not (dt > 0 and abs(dt * rate - 1) < 1e-3):
        raise parse_error(path, timing_line, "header field 'scanning rate [Hz]'", f"{rate:g} Hz does not match {dt:g} s per frame")
    if not (np.isfinite(total) and total > 0):
        raise parse_error(path, timing_line, "header field 'total time [secs]'", f"{total:g} s is not a duration")
    ids_line = next((i for i, line in enumerate(lines) if line.startswith("time[secs]")), None)
    if ids_line is None:
        raise parse_error(path, len(lines), "'time[secs]' line of sensor numbers", "missing")
    name = re.search(r"^file name:\s*(.*?)\s+date/time\s+(\d{1,2})\.(\d{1,2})\.(\d{2,4})\s+(\d{1,2})[.:](\d{2})", head, re.MULTILINE)
    start, start_text, file_name = "", "", ""
    if name:
        file_name = name.group(1)
        start_text = head[name.start(2) : name.end(6)]
        day, month, year, hour, minute = (int(g) for g in name.group(2, 3, 4, 5, 6))
        try:
            start = datetime.datetime(year + 2000 if year < 100 else year, month, day, hour, minute).isoformat()
        except ValueError:
            start = ""
    masks = {}
    for side in ("left", "right"):
        found = re.search(rf"^{side} insole:\s*(.*?)\s*$", head, re.MULTILINE)
        masks[side] = found.group(1) if found else ""
    return {
        "size": size,
        "type": type_text,
        "total_s": total,
        "dt": dt,
        "rate_hz": rate,
        "ids_line": ids_line,
        "start": start,
        "start_text": start_text,
        "file": file_name,
        "mask_left": masks["left"],
        "mask_right": masks["right"],
    }


def _sensor_columns(path, lines, ids_line, masks):
    """Sides and numbers of the sensor columns: two runs of numbers 1..99, left first.

    ``masks`` lists the sides with a mask definition line; a file of one run of numbers
    is that insole's when exactly one is given.
    """
    cells = lines[ids_line].rstrip("\r").split("\t")[1:]
    if cells and not cells[-1].strip():
        cells = cells[:-1]
    try:
        numbers = np.array([int(c) for c in cells])
    except ValueError:
        raise parse_error(path, ids_line + 1, "sensor numbers", "expected 'time[secs]' followed by sensor numbers") from None
    if numbers.size == 0 or numbers.min() < 1 or numbers.max() > N_SENSORS:
        raise parse_error(path, ids_line + 1, "sensor numbers", f"expected numbers 1 .. {N_SENSORS}")
    breaks = np.flatnonzero(np.diff(numbers) <= 0) + 1
    if breaks.size == 0 and len(masks) == 1:
        return np.full(numbers.size, masks[0]), numbers  # one insole, named by its mask line
    if breaks.size != 1:
        raise parse_error(
            path,
            ids_line + 1,
            "sensor numbers",
            "expected two increasing runs of sensor numbers (left insole, then right), "
            "or one run and the mask definition of one insole",
        )
    sides = np.where(np.arange(numbers.size) < breaks[0], "left", "right")
    return sides, numbers


def _read_table(path, lines, first, n_rows, n_sensors):
    """The frame rows as floats (time, then the sensors), parsed by pandas' C parser."""
    n_cols = n_sensors + 1
    block = "\n".join(lines[first : first + n_rows])
    try:
        table = pd.read_csv(
            io.StringIO(block),
            sep="\t",
            header=None,
            names=range(n_cols + 1),
            usecols=range(n_cols),
            dtype=np.float64,
            engine="c",
            skip_blank_lines=False,
        ).to_numpy()
        ok = table.shape == (n_rows, n_cols) and np.isfinite(table).all()
    except (ValueError, pd.errors.ParserError):
        ok = False
    if not ok:
        _raise_first_bad_cell(path, lines, first, n_rows, n_cols)
    return table


def _raise_first_bad_cell(path, lines, first, n_rows, n_cols):
    for i in range(first, first + n_rows):
        cells = lines[i].rstrip("\r").split("\t")
        if cells and not cells[-1].strip():
            cells = cells[:-1]
        if len(cells) != n_cols:
            raise parse_error(path, i + 1, "frame row", f"{len(cells)} cells, expected {n_cols} (time and {n_cols - 1} sensors)")
        for k, cell in enumerate(cells, start=1):
            try:
                value = float(cell)
            except ValueError:
                raise parse_error(path, i + 1, f"frame row, cell {k}", f"{cell.strip()!r} is not a number") from None
            if not np.isfinite(value):
                raise parse_error(path, i + 1, f"frame row, cell {k}", "not a finite number")
    raise parse_error(path, first + 1, "frame rows", "cannot be read as numbers")


FORMAT = FileFormat(
    name="pedar",
    description="novel pedar ASCII export",
    extensions=(".asc",),
    sniff=sniff,
    reader=read,
)
