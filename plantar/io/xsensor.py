"""XSENSOR X4 CSV exports (Foot & Gait insoles).

Grammar
-------
UTF-8 (with or without a byte-order mark), every line padded with commas, blank
lines in between. A global header: ``File:,<name>``, ``Units:,mmHg`` (or ``kPa``,
``PSI``), ``Threshold:,<p>``. Then per frame: ``FRAME,<n>``, ``Date,<yyyy Mon dd>``,
``Time,<hh:mm:ss.fff>``, and for each insole a ``SENSOR,<name>`` block whose name
ends in ``-LF`` or ``-RF`` (left or right foot): ``Rows``, ``Columns``, ``Sensel
Width (cm)``, ``Sensel Height (cm)``, statistics lines (``Average Pressure``,
``Peak Pressure``, ``Contact Area (cm²)``, ``Est. Load (N)``, ...), then
``SENSELS`` and ``Rows`` lines of ``Columns`` pressures. ``GROUP`` blocks (the
vendor's regions) follow: ``GROUP,<n>``, ``Name``, ``Cells,<k>``, statistics,
then ``SENSELS`` and the region's ``k`` values, 20 to a line. Their values are
not kept, but every block must hold its ``k`` values and every frame must have
as many lines as the first, so that a truncated last frame is noticed. Frame
numbers must count up by one.

Truncation: the export states no frame count and has no end marker, so a file
cut exactly between two frames cannot be told from a complete recording (it
reads as the frames before the cut, each one whole); a cut anywhere inside a
frame is refused.

The per-frame statistics the file states are kept, per insole, as the variables
``average_pressure_reported_<side>`` and ``peak_pressure_reported_<side>``
(kPa; mean and maximum of the loaded sensels), ``contact_area_reported_<side>``
(mm²) and ``load_reported_<side>`` (N), with ``<side>`` = ``left`` / ``right``.

Sensel size: the file rounds it to 0.01 cm (``0.86``); its contact areas (loaded
sensels x sensel area) give the area to four digits (0.7412 cm² = (0.8609 cm)²
for HX210 insoles). When that area agrees with the stated size to its rounding,
the trial's pitch is derived from it, so that sum(kPa) x sensel area reproduces
the file's ``Est. Load``; otherwise the stated size is used.

Layout and orientation
----------------------
Row 0 of an insole is its toe end, column 0 its left side seen from above: rows
are reversed so that the toes point to +y, columns are kept. A file with both
insoles gives ONE trial with the insoles side by side on one grid: the left
insole in columns 0 .. n-1, one column of NaN (no sensor), the right insole in
columns n+1 .. 2n. The attr ``side_split_x_mm`` is the x of the NaN column:
sensels at smaller x belong to the left foot, at larger x to the right foot. (The
insoles' true positions relative to each other are not measured; the layout is a
convention.) A file with one insole gives a trial of that insole with the attr
``side``. Checked on ``xsensor/xsensor_data.csv``: in the left insole the toe
line slopes back toward -x and the lateral midfoot contact lies at -x of the
foot axis; the right insole is the mirror image. ``time`` comes from the
per-frame time stamps (not evenly spaced: 13 or 14 ms apart);
``sampling_rate_hz`` is the mean rate.
"""

import datetime
import re

import numpy as np

from ._dispatch import FileFormat
from .._schema import MAX_PRESSURE_KPA
from ._vendor import KPA_PER_MMHG, KPA_PER_PSI, build_trial, check_plausible, implausible_pressure, parse_error

_UNITS_TO_KPA = {"mmhg": KPA_PER_MMHG, "kpa": 1.0, "psi": KPA_PER_PSI}
_SIDES = {"LF": "left", "RF": "right"}
#: Largest stated pressure (threshold, average, peak) accepted, in the file's units; the
#: sensels themselves are held to MAX_PRESSURE_KPA once in kPa.
_MAX_STATED = MAX_PRESSURE_KPA
#: File statistic -> (variable prefix, unit in the trial, long name).
_STATISTICS = {
    "Average Pressure": (
        "average_pressure_reported",
        "kPa",
        "average pressure of the loaded sensels stated in the file",
    ),
    "Peak Pressure": ("peak_pressure_reported", "kPa", "peak pressure stated in the file"),
    "Contact Area": ("contact_area_reported", "mm2", "contact area stated in the file"),
    "Est. Load": ("load_reported", "N", "estimated load stated in the file"),
}
#: First fields that start a block: the sensel rows of an insole end at the next one.
_BLOCK_KEYS = ("SENSOR", "GROUP", "FRAME")


def sniff(head):
    r"""Tell whether the first bytes of a file are an XSENSOR X4 CSV export.

    Parameters
    ----------
    head : bytes
        The first bytes of the file (up to 4096).

    Returns
    -------
    is_xsensor : bool
        True if they hold a ``FRAME,`` line and a ``SENSOR,`` line.

    Examples
    --------
    >>> from plantar.io import xsensor
    >>> xsensor.sniff(b"\xef\xbb\xbfFile:,walk.XSN\nUnits:,mmHg\nFRAME,1\nSENSOR,HX210-LF\n")
    True
    >>> xsensor.sniff(b"Frame 1\n0,0,0\n")
    False
    """
    head = head.lstrip(b"\xef\xbb\xbf")
    return (
        b"\nFRAME," in head
        and b"\nSENSOR," in head
        or (head.startswith(b"File:,") and b"\nUnits:," in head and b"\nFRAME," in head)
    )


def read(path):
    r"""Read an XSENSOR X4 CSV export into a trial.

    Use :func:`plantar.read`, which calls this and checks the result.

    Parameters
    ----------
    path : pathlib.Path
        The file.

    Returns
    -------
    trial : xarray.Dataset
        Pressure in kPa, toes toward +y; both insoles side by side (attr
        ``side_split_x_mm``) or one insole (attr ``side``); the file's per-frame
        statistics per insole; ``time`` from the frames' time stamps.

    Raises
    ------
    plantar.io.FileFormatError
        If a frame breaks the grammar (a field missing, a sensel row or cell too
        many or too few, a cell that is not a number, a frame missing or cut
        short); the message names the file, the line and the field.

    Examples
    --------
    One frame of a 2 x 2 left insole:

    >>> import pathlib, tempfile
    >>> import plantar
    >>> lines = ["File:,walk.XSN", "Units:,mmHg", "Threshold:,51.72", "FRAME,7",
    ...          "Date, 2022 Aug 16", "Time, 08:21:17.982", "SENSOR,HX210.11.31.M11-DFM-LF S0073",
    ...          "Rows,2", "Columns,2", "Sensel Width (cm),0.86", "Sensel Height (cm),0.86",
    ...          "Average Pressure (mmHg),150", "Peak Pressure (mmHg),200",
    ...          "Contact Area (cm\u00b2),1.48", "Est. Load (N),2.96", "SENSELS", "100,200", "0,0"]
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "walk.csv"
    >>> _ = path.write_text("\n".join(line + ",,," for line in lines) + "\n", encoding="utf-8-sig")
    >>> trial = plantar.read(path)
    >>> trial.attrs["side"], trial.attrs["start_time"]
    ('left', '2022-08-16T08:21:17.982000')
    >>> trial.pressure.values[0]  # mmHg x 0.1333224; the toe row at the larger y
    array([[ 0.     ,  0.     ],
           [13.33224, 26.66448]], dtype=float32)
    >>> float(trial.load_reported_left[0])
    2.96
    """
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise parse_error(path, line, "text", "not UTF-8") from None
    # (line number, cells without the trailing padding) of every non-blank line
    numbered = [(i, line.rstrip("\r").rstrip(",")) for i, line in enumerate(text.split("\n"), start=1)]
    lines = [(i, line) for i, line in numbered if line.strip()]
    first_field = [line.split(",", 1)[0].strip() for _, line in lines]
    header = _read_global_header(path, lines, first_field)
    frame_at = [k for k, key in enumerate(first_field) if key == "FRAME"]
    if not frame_at:
        raise parse_error(path, lines[-1][0] if lines else 1, "'FRAME' line", "none found")
    bounds = frame_at[1:] + [len(lines)]
    frames = [_read_frame(path, lines, first_field, a, b) for a, b in zip(frame_at, bounds)]
    # the GROUP blocks are not read, but must be complete: every frame as long as the first
    sizes = np.diff(frame_at + [len(lines)])
    if np.any(sizes != sizes[0]):
        k = int(np.argmax(sizes != sizes[0]))
        raise parse_error(
            path,
            lines[bounds[k] - 1][0],
            f"frame {frames[k]['number']}",
            f"{sizes[k]} lines where the first frame has {sizes[0]} (truncated or malformed?)",
        )
    first = frames[0]
    sides = [s["side"] for s in first["insoles"]]
    for frame in frames[1:]:
        if [s["side"] for s in frame["insoles"]] != sides or any(
            (s["rows"], s["cols"], s["size_cm"]) != (f["rows"], f["cols"], f["size_cm"])
            for s, f in zip(frame["insoles"], first["insoles"])
        ):
            raise parse_error(
                path, frame["line"], f"frame {frame['number']}", "its insoles differ from those of the first frame"
            )
    numbers = np.array([f["number"] for f in frames])
    if np.any(np.diff(numbers) != 1):
        k = int(np.argmax(np.diff(numbers) != 1)) + 1
        raise parse_error(
            path,
            frames[k]["line"],
            "FRAME",
            f"frame {numbers[k]} follows frame {numbers[k - 1]}: frames must count up by one (a missing frame?)",
        )
    stamps = [f["stamp"] for f in frames]
    time_s = np.array([(s - stamps[0]).total_seconds() for s in stamps])
    if np.any(np.diff(time_s) <= 0):
        k = int(np.argmax(np.diff(time_s) <= 0)) + 1
        raise parse_error(
            path, frames[k]["time_line"], "Time", f"{stamps[k].time()} does not follow {stamps[k - 1].time()}"
        )
    pressure, statistics = _sensels(path, lines, frames, header["kpa_per_unit"])
    rows, cols = first["insoles"][0]["rows"], first["insoles"][0]["cols"]
    pitch_mm = _pitch_mm(first["insoles"][0]["size_cm"], statistics, pressure)
    per_frame, attrs = {}, {}
    for side, stats in zip(sides, statistics):
        for key, (prefix, units, long_name) in _STATISTICS.items():
            per_frame[f"{prefix}_{side}"] = (stats[key], units, f"{long_name} ({side} insole)")
    flipped = pressure[:, :, ::-1, :]  # row 0 is the toe end: toes toward +y
    if len(sides) == 2:
        if sides != ["left", "right"]:
            flipped, sides = flipped[::-1], sides[::-1]
        gap = np.full((len(frames), rows, 1), np.nan, np.float32)
        grid = np.concatenate([flipped[0], gap, flipped[1]], axis=2)
        attrs["side_split_x_mm"] = cols * pitch_mm[0]
        for insole in first["insoles"]:
            attrs[f"sensor_{insole['side']}"] = insole["name"]
    else:
        grid = flipped[0]
        attrs["side"] = sides[0]
        attrs["sensor"] = first["insoles"][0]["name"]
    # the mean rate; a file of one frame has no rate, and gets 1 Hz
    rate_hz = (len(frames) - 1) / time_s[-1] if len(frames) > 1 else 1.0
    check_plausible(path, frames[-1]["time_line"], "Time", rate_hz, "rate")
    return build_trial(
        path,
        grid,
        pitch_mm=pitch_mm,
        rate_hz=rate_hz,
        time_s=time_s,
        origin_mm=(0.0, 0.0),
        per_frame={**per_frame, "frame_number": (numbers.astype(np.int32), "1", "frame number in the source file")},
        device="XSENSOR X4",
        source_format="XSENSOR X4 CSV export",
        layout="insole",
        start_time=stamps[0].isoformat(),
        threshold_kpa=header["threshold"] * header["kpa_per_unit"],
        units_in_file=header["units"],
        original_file=header["file"],
        sensel_size_stated_cm=float(first["insoles"][0]["size_cm"][0]),
        **attrs,
    )


def _value(line):
    return line.split(",", 1)[1].strip() if "," in line else ""


def _read_global_header(path, lines, first_field):
    end = first_field.index("FRAME") if "FRAME" in first_field else len(lines)
    found = {first_field[k].rstrip(":"): (lines[k][0], _value(lines[k][1])) for k in range(end)}
    for key in ("Units", "Threshold"):
        if key not in found:
            raise parse_error(
                path,
                lines[end][0] if end < len(lines) else 1,
                f"header field '{key}:'",
                "missing before the first FRAME",
            )
    line, units = found["Units"]
    if units.lower() not in _UNITS_TO_KPA:
        raise parse_error(
            path, line, "header field 'Units:'", f"{units!r} is not a pressure unit plantar reads (mmHg, kPa, PSI)"
        )
    line, threshold = found["Threshold"]
    try:
        number = float(threshold)
    except ValueError:
        number = float("nan")
    if not (np.isfinite(number) and 0 <= number < _MAX_STATED):
        raise parse_error(path, line, "header field 'Threshold:'", f"{threshold!r} is not a pressure")
    threshold = number
    file_name = found.get("File", (0, ""))[1].strip('"')
    return {"units": units, "kpa_per_unit": _UNITS_TO_KPA[units.lower()], "threshold": threshold, "file": file_name}


def _read_frame(path, lines, first_field, start, stop):
    """One frame's number, time stamp and insole blocks (the sensel lines are parsed later)."""
    line_no, text = lines[start]
    number = _value(text)
    if not number.isdigit():
        raise parse_error(path, line_no, "FRAME", f"{number!r} is not a frame number")
    frame = {"number": int(number), "line": line_no, "insoles": []}
    fields = {}
    k = start + 1
    while k < stop and first_field[k] != "SENSOR":
        fields[first_field[k]] = (lines[k][0], _value(lines[k][1]))
        k += 1
    for key in ("Date", "Time"):
        if key not in fields:
            raise parse_error(path, lines[k - 1][0], f"'{key}' of frame {number}", "missing")
    try:
        stamp = datetime.datetime.strptime(f"{fields['Date'][1]} {fields['Time'][1]}", "%Y %b %d %H:%M:%S.%f")
    except ValueError:
        raise parse_error(
            path,
            fields["Time"][0],
            f"'Date'/'Time' of frame {number}",
            f"{fields['Date'][1]!r} {fields['Time'][1]!r} is not 'yyyy Mon dd' 'hh:mm:ss.fff'",
        ) from None
    frame["stamp"], frame["time_line"] = stamp, fields["Time"][0]
    while k < stop and first_field[k] == "SENSOR":
        insole, k = _read_insole(path, lines, first_field, k, stop, number)
        frame["insoles"].append(insole)
    if not frame["insoles"]:
        raise parse_error(path, lines[min(k, stop - 1)][0], f"'SENSOR' of frame {number}", "missing")
    while k < stop:
        k = _check_group(path, lines, first_field, k, stop, number)
    if len({s["side"] for s in frame["insoles"]}) != len(frame["insoles"]) or len(frame["insoles"]) > 2:
        raise parse_error(path, line_no, f"frame {number}", "expected one left (-LF) and/or one right (-RF) insole")
    return frame


def _read_insole(path, lines, first_field, k, stop, number):
    """The SENSOR block starting at line index ``k``; returns it and the index after it."""
    line_no, text = lines[k]
    name = _value(text)
    side = re.search(r"-(LF|RF)\b", name)
    if side is None:
        raise parse_error(
            path, line_no, f"SENSOR of frame {number}", f"{name!r} does not end in -LF or -RF: which foot is it?"
        )
    insole = {"name": name, "side": _SIDES[side.group(1)], "line": line_no}
    fields = {}
    k += 1
    while k < stop and first_field[k] not in ("SENSELS", "SENSOR", "GROUP"):
        fields[re.sub(r"\s*\(.*\)$", "", first_field[k])] = (lines[k][0], _value(lines[k][1]))
        k += 1
    where = f"{insole['side']} insole of frame {number}"

    def number_of(key, kind=float):
        if key not in fields:
            raise parse_error(path, lines[k - 1][0], f"'{key}' of the {where}", "missing")
        at, value = fields[key]
        try:
            result = kind(value)
        except ValueError:
            raise parse_error(path, at, f"'{key}' of the {where}", f"{value!r} is not a number") from None
        if not np.isfinite(result) or result < 0 or (key.endswith("Pressure") and result >= _MAX_STATED):
            raise parse_error(path, at, f"'{key}' of the {where}", f"{value!r} is not a valid value")
        return result

    insole["rows"], insole["cols"] = number_of("Rows", int), number_of("Columns", int)
    insole["size_cm"] = (number_of("Sensel Width"), number_of("Sensel Height"))
    if min(insole["rows"], insole["cols"], *insole["size_cm"]) <= 0:
        raise parse_error(path, line_no, where, "rows, columns and sensel size must be positive")
    for key, size_cm in zip(("Sensel Width", "Sensel Height"), insole["size_cm"]):
        check_plausible(path, fields[key][0], f"'{key}' of the {where}", 10.0 * size_cm, "pitch")
    insole["statistics"] = {key: number_of(key) for key in _STATISTICS}
    if k >= stop or first_field[k] != "SENSELS":
        raise parse_error(path, lines[min(k, stop - 1)][0], f"'SENSELS' of the {where}", "missing")
    first_row = k + 1
    n_rows = 0
    while first_row + n_rows < stop and first_field[first_row + n_rows] not in _BLOCK_KEYS:
        n_rows += 1
    if n_rows != insole["rows"]:
        at = first_row + min(n_rows, insole["rows"])
        line = lines[at][0] if at < len(lines) else lines[-1][0]
        truncated = " (truncated?)" if at >= len(lines) else ""
        problem = (
            f"{n_rows} rows, expected {insole['rows']}{truncated}"
            if n_rows < insole["rows"]
            else f"more than {insole['rows']} rows"
        )
        raise parse_error(path, line, f"sensels of the {where}", problem)
    insole["sensel_lines"] = range(first_row, first_row + n_rows)
    return insole, first_row + n_rows


def _check_group(path, lines, first_field, k, stop, number):
    """Check the GROUP block at line index ``k`` holds its ``Cells`` values; return the index after it."""
    line_no, text = lines[k]
    if first_field[k] != "GROUP":
        raise parse_error(path, line_no, f"frame {number}", f"expected a 'GROUP' block, got {text.strip()[:40]!r}")
    end = k + 1
    while end < stop and first_field[end] not in ("SENSELS", "GROUP"):
        end += 1
    cells = [lines[i] for i in range(k + 1, end) if first_field[i] == "Cells"]
    where = f"GROUP {_value(text)} of frame {number}"
    if not cells or not _value(cells[0][1]).isdigit():
        raise parse_error(path, cells[0][0] if cells else line_no, f"'Cells' of {where}", "missing or not a count")
    n_cells = int(_value(cells[0][1]))
    if end >= stop or first_field[end] != "SENSELS":
        raise parse_error(path, lines[min(end, stop) - 1][0], f"'SENSELS' of {where}", "missing (truncated?)")
    after = end + 1
    while after < stop and first_field[after] not in _BLOCK_KEYS:
        after += 1
    found = sum(len(lines[i][1].split(",")) for i in range(end + 1, after))
    if found != n_cells:
        raise parse_error(
            path,
            lines[after - 1][0],
            f"sensels of {where}",
            f"{found} values where 'Cells' states {n_cells}" + (" (truncated?)" if after == len(lines) else ""),
        )
    return after


def _sensels(path, lines, frames, kpa_per_unit):
    """Pressure (insole, frame, row, col) in kPa and the stated statistics, parsed at once."""
    n_insoles = len(frames[0]["insoles"])
    rows, cols = frames[0]["insoles"][0]["rows"], frames[0]["insoles"][0]["cols"]
    indices = [i for frame in frames for insole in frame["insoles"] for i in insole["sensel_lines"]]
    try:
        values = np.array(",".join(lines[i][1] for i in indices).split(","), dtype=np.float64)
        ok = values.size == len(indices) * cols and np.all(np.isfinite(values)) and np.all(values >= 0)
    except ValueError:
        ok = False
    if not ok:  # name the line and the cell
        for i in indices:
            line_no, text = lines[i]
            cells = text.split(",")
            if len(cells) != cols:
                raise parse_error(path, line_no, "sensel row", f"{len(cells)} cells, expected {cols}")
            for c, cell in enumerate(cells, start=1):
                try:
                    number = float(cell)
                except ValueError:
                    number = float("nan")
                if not (np.isfinite(number) and number >= 0):
                    raise parse_error(path, line_no, f"sensel column {c}", f"{cell!r} is not a pressure")
    values = values.reshape(len(frames), n_insoles, rows, cols).transpose(1, 0, 2, 3)
    pressure = (values * kpa_per_unit).astype(np.float32)
    bad = implausible_pressure(pressure)
    if bad is not None:
        side, frame, row, col = bad
        line_no, text = lines[frames[frame]["insoles"][side]["sensel_lines"][row]]
        raise parse_error(
            path, line_no, f"sensel column {col + 1}", f"{text.split(',')[col]!r} is not a plausible pressure"
        )
    statistics = []
    for j in range(n_insoles):
        stats = {key: np.array([f["insoles"][j]["statistics"][key] for f in frames]) for key in _STATISTICS}
        stats["Average Pressure"] = stats["Average Pressure"] * kpa_per_unit
        stats["Peak Pressure"] = stats["Peak Pressure"] * kpa_per_unit
        stats["Contact Area"] = stats["Contact Area"] * 100.0  # cm2 -> mm2
        statistics.append(stats)
    return pressure, statistics


def _pitch_mm(size_cm, statistics, pressure):
    """Sensel pitch (x, y) in mm: from the stated contact areas if they agree with the stated size."""
    stated = np.array(size_cm) * 10.0
    area_mm2 = sum(s["Contact Area"].sum() for s in statistics)
    count = sum(np.count_nonzero(p > 0, axis=(1, 2)).sum() for p in pressure)
    if count and area_mm2 > 0:
        scale = np.sqrt(area_mm2 / count / np.prod(stated))
        precise = stated * scale
        if np.all(np.abs(precise - stated) <= 0.05 + 1e-9):  # within the stated 0.01 cm rounding
            return float(precise[0]), float(precise[1])
    return float(stated[0]), float(stated[1])


FORMAT = FileFormat(
    name="xsensor",
    description="XSENSOR X4 CSV export",
    extensions=(".csv",),
    sniff=sniff,
    reader=read,
)
