"""Tekscan ASCII movies (``.asf``) and Tekscan CSV exports (same grammar).

Grammar
-------
A header of ``KEY value`` lines (the key is the first whitespace-delimited token;
the line after ``COMMENTS:`` is the comment) ends at the line ``ASCII_DATA @@``.
Then, per frame, a line ``Frame <n>`` (possibly followed by comma fields such as
``Frame 1, 0,, 12/2/2019 6:21:52.34PM,,,Raw Sum=,,310``), ``ROWS`` lines of ``COLS``
comma-separated cells and a blank line; the file ends with the line ``@@``. A cell
is a number in ``UNITS`` or ``B``, a sensel outside the trimmed sensor outline,
read as NaN. Line endings may be LF or CRLF.

Header fields used: ``ROWS``, ``COLS``, ``ROW_SPACING`` and ``COL_SPACING`` (in
``mm``, ``cm``/``centimeters`` or ``in``/``inches``), ``SECONDS_PER_FRAME``,
``UNITS`` (``KPa``, ``MPa``, ``PSI`` = 6.894757 kPa, ``mmHg`` = 0.1333224 kPa),
and, when present, ``START_FRAME``/``END_FRAME`` (checked against the frames found),
``TIME`` (+ ``MICRO_SECOND``) for ``start_time``, ``CALIBRATION_POINT_1 <load>
(Kgs|Lbs) ...`` for ``body_mass_kg``, ``SENSOR_TYPE``, ``HARDWARE``, ``VERSION``,
``SATURATION_PRESSURE``, ``NOISE_THRESHOLD``, ``CALIBRATION_MODE_1`` and the comment.
A file in ``raw`` units (uncalibrated sensor readings, 0-255 on F-Scan) is read
as a raw recording (schema ``counts/1``): the readings in ``counts``, the frame
numbers in ``seq``, and the sensor outline in ``outline`` (0 where the file has
``B``). It is never taken for kPa: turn it into a trial with a calibration
(:func:`plantar.calibration.apply`) or a linear scale
(:func:`plantar.calibration.scale`). ``CALIBRATION_POINT_1 <load> (Kgs) <raw
sum> (Raw Sum) ...`` states Tekscan's own one-point calibration, linear through
zero: ``kpa_per_count_stated = load x g / raw sum / sensel area``, kept as an
attr in raw and calibrated files alike. On both insoles of the F-Scan walk in
``tekscan-fscan`` it gives 255 x scale = the stated ``SATURATION_PRESSURE``
(1514.73 and 553.64 kPa) and every kPa cell is a reading times it, rounded.
``MIRROR_ROW 1`` / ``MIRROR_COL 1`` say that the export flipped the rows (the
toe end last) or the columns; the reader flips them back, so that a mirrored
export reads as the unmirrored one, and says so in the attr ``mirrored_in_file``.

Orientation
-----------
Row 0 of a Tekscan frame is the toe end of the sensor, column 0 is on the left of
Tekscan's picture of the foot seen from above. The reader keeps columns as they
are and reverses the rows, so that the toes point to +y::

    x = col * COL_SPACING            (column 0 at x = 0)
    y = (ROWS - 1 - row) * ROW_SPACING  (the toe row at the largest y)

Checked on the F-Scan walk in ``tekscan-fscan`` (left and right insoles): in the
left file the lateral midfoot contact lies at -x of the heel-to-forefoot axis and
the hallux at +x; the right file is the mirror image. ``time`` is ``(n - n0) *
SECONDS_PER_FRAME`` for frame number ``n`` (``n0`` the first frame in the file);
the frame numbers are kept in the variable ``frame_number``.

Parsing is vectorised: the lines are classified with numpy, and the cells are
decoded by pandas' C parser in chunks of frames, written straight into the
trial's array (toes toward +y). The C parser accepts more than the grammar (signs,
exponents, spaces, quotes, ``inf``), so its values are used only when the rows
hold nothing but digits, dots, commas, ``B`` and line ends and every cell was
read (as many NaN as ``B`` cells); otherwise the cells are decoded one by one by
:func:`plantar.io._vendor.parse_table`, which names the first wrong cell. Either
way a cell's value is the correctly rounded double of its text, rounded to
float32. See ``benchmarks/read_tekscan.py`` for the speed.
"""

import datetime
import io
import operator
import re
import warnings

import numpy as np
import pandas as pd

from .._schema import MAX_PRESSURE_KPA, STANDARD_GRAVITY_M_S2, make_counts
from ..utils import logger
from ._dispatch import FileFormat
from ._vendor import (
    _BLOCK_BYTES,
    _MAX_CELL_CHARS,
    KPA_PER_MMHG,
    KPA_PER_PSI,
    build_trial,
    check_plausible,
    find_byte,
    implausible_pressure,
    parse_error,
    parse_table,
)

_DATA_MARKER = re.compile(rb"^ASCII_DATA @@[ \t]*\r?$", re.MULTILINE)
#: A line starting with ``Frame``, matched from the newline before it (much faster than ``^`` in MULTILINE).
_FRAME_LINE = re.compile(rb"\n(Frame[ \t]+(\d+)[^\n]*)")
#: The bytes of a row of numbers with LF line ends (B cells and CR are counted apart).
_NUMBER_BYTES = b"0123456789,.\n"
#: Cells decoded per chunk by the C parser (about 1 MB of float32, which stays in the cache).
_CHUNK_CELLS = 1 << 18
_KEY = re.compile(r"^[A-Z][A-Z0-9_]*:?$")

#: Pressure units -> factor to kPa.
UNITS_TO_KPA = {"kpa": 1.0, "mpa": 1000.0, "psi": KPA_PER_PSI, "mmhg": KPA_PER_MMHG}
#: Length units of ROW_SPACING / COL_SPACING -> factor to mm.
LENGTH_TO_MM = {
    "mm": 1.0,
    "millimeters": 1.0,
    "millimetres": 1.0,
    "cm": 10.0,
    "centimeters": 10.0,
    "centimetres": 10.0,
    "in": 25.4,
    "inch": 25.4,
    "inches": 25.4,
}
_LB_IN_KG = 0.45359237
#: Most rows or columns a sensor may have, and the largest frame number read.
_MAX_SENSELS_A_SIDE = 10_000
_MAX_FRAME_NUMBER = 10**9
_TIME_FORMATS = (
    "%A, %d %B %Y %I:%M:%S %p",
    "%A, %B %d, %Y %I:%M:%S %p",
    "%A, %d %B %Y %H:%M:%S",
    "%A, %B %d, %Y %H:%M:%S",
    "%a %b %d %H:%M:%S %Y",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
)


def sniff(head):
    r"""Tell whether the first bytes of a file are a Tekscan ASCII movie or CSV export.

    Parameters
    ----------
    head : bytes
        The first bytes of the file (up to 4096).

    Returns
    -------
    is_tekscan : bool
        True if the file starts with ``DATA_TYPE`` or holds the line ``ASCII_DATA @@``.

    Examples
    --------
    >>> from plantar.io import tekscan
    >>> tekscan.sniff(b"DATA_TYPE MOVIE\r\nVERSION Tekscan 6.33\r\n")
    True
    >>> tekscan.sniff(b"FRAME,1\n")
    False
    """
    head = head.lstrip(b"\xef\xbb\xbf")
    return head.startswith(b"DATA_TYPE") or _DATA_MARKER.search(head) is not None


def read(path):
    r"""Read a Tekscan ASCII movie or CSV export into a trial.

    Use :func:`plantar.read`, which calls this and checks the result.

    Parameters
    ----------
    path : pathlib.Path
        The file.

    Returns
    -------
    trial : xarray.Dataset
        Pressure in kPa, NaN where the file has ``B``, toes toward +y; the frame
        numbers in ``frame_number``; the header fields as attrs. For a file in
        ``raw`` units, a raw recording in counts (see the module notes).

    Raises
    ------
    plantar.io.FileFormatError
        If the file breaks the grammar (a header field missing or wrong, a frame
        missing, a row or cell too many or too few, a cell that is not a number,
        the file cut short); the message names the file, the
        line and the field.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import plantar
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "insole.asf"
    >>> _ = path.write_text(
    ...     "DATA_TYPE MOVIE\nROWS 2\nCOLS 3\nROW_SPACING 5.08 mm\nCOL_SPACING 0.508 cm\n"
    ...     "SECONDS_PER_FRAME 0.01\nUNITS PSI\nASCII_DATA @@\n\n"
    ...     "Frame 1\nB,10,20\n0,30,B\n\n@@\n")
    >>> trial = plantar.read(path)
    >>> trial.pressure.values[0]  # the file's row 0 (toe end) is at the largest y
    array([[  0.     , 206.8427 ,       nan],
           [      nan,  68.94757, 137.89514]], dtype=float32)
    >>> trial.y.values, trial.x.values
    (array([0.  , 5.08]), array([ 0.  ,  5.08, 10.16]))
    """
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = b"   " + raw[3:]  # keep byte offsets (and line numbers) unchanged
    marker = _DATA_MARKER.search(raw)
    if marker is None:
        last_line = raw.count(b"\n") + (0 if raw.endswith(b"\n") else 1)
        raise parse_error(
            path, last_line, "'ASCII_DATA @@'", "not found: the header never ends (not a Tekscan movie, or truncated)"
        )
    marker_line = raw.count(b"\n", 0, marker.start()) + 1
    header_text = raw[: marker.start()].replace(b"\r\n", b"\n").decode("latin-1")
    header = _read_header(path, header_text, marker_line)
    layout = _frame_layout(path, raw, min(marker.end() + 1, len(raw)), marker_line, header)
    frame_numbers = layout["frame_numbers"]
    if layout["data_bytes"] < frame_numbers.size * header["rows"] * header["cols"] * 2:  # a cell is >= 2 bytes
        raise parse_error(
            path,
            header["lines"]["COLS"],
            "header field 'COLS'",
            f"{header['cols']} columns do not fit in the frames' rows (too few cells)",
        )
    pressure = _parse_frames(raw, layout, header)
    if pressure is None:  # the text is not plainly numbers and B: decode it cell by cell, naming what is wrong
        logger.debug("'%s': frames read cell by cell", path)
        pressure = _parse_frames_exactly(path, raw.replace(b"\r\n", b"\n"), marker_line, header)
    if header["mirror_rows"]:  # the export flipped the rows (toe end last): flip them back
        pressure = pressure[:, ::-1, :]
    if header["mirror_cols"]:
        pressure = pressure[:, :, ::-1]
    spf = header["seconds_per_frame"]
    time_s = (frame_numbers - frame_numbers[0]) * spf
    start_time = header["start"]
    if start_time is not None:
        start_time = (start_time + datetime.timedelta(seconds=(int(frame_numbers[0]) - 1) * spf)).isoformat()
    common = dict(
        pitch_mm=(header["col_spacing_mm"], header["row_spacing_mm"]),
        rate_hz=1.0 / spf,
        time_s=time_s,
        origin_mm=(0.0, 0.0),
        device=header["device"],
        source_format=header["source_format"],
        layout=header["layout"],
        start_time=start_time or "",
        body_mass_kg=header["body_mass_kg"],
        **header["extra"],
    )
    if header["is_raw"]:
        return _raw_recording(path, pressure, frame_numbers, header, common)
    return build_trial(
        path,
        np.ascontiguousarray(pressure),
        per_frame={"frame_number": (frame_numbers.astype(np.int32), "1", "frame number in the source file")},
        **common,
    )


def _raw_recording(path, readings, frame_numbers, header, common):
    """A ``UNITS raw`` movie as a raw recording: counts, and the sensor outline (cells not ``B``)."""
    inside = ~np.isnan(readings)
    outline = inside.all(axis=0)
    if not np.array_equal(outline, inside.any(axis=0)):
        frame, row, col = np.argwhere(inside != outline)[0]
        raise parse_error(
            path, None, f"frame {frame_numbers[frame]}", f"the 'B' cells change from frame to frame (row {row}, column {col})"
        )
    counts = np.where(inside, readings, 0.0)
    wrong = (counts != np.round(counts)) | (counts > np.iinfo(np.uint16).max)
    if wrong.any():
        frame = int(np.argmax(wrong.any(axis=(1, 2))))
        raise parse_error(
            path,
            None,
            f"frame {frame_numbers[frame]}",
            f"{counts[frame][wrong[frame]][0]:g} is not a raw reading (an integer 0 .. 65535)",
        )
    recording = make_counts(counts.astype(np.uint16), seq=frame_numbers, source_file=path.name, **common)
    recording["outline"] = (
        ("y", "x"),
        outline.astype(np.uint8),
        {"units": "1", "long_name": "sensel inside the trimmed sensor outline (0 where the file has 'B')"},
    )
    return recording


def _read_header(path, text, marker_line):
    """The header fields, checked; ``marker_line`` is the line of ``ASCII_DATA @@``."""
    fields, lines = {}, {}
    comment_next = False
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.strip()
        if not line:
            continue
        key, value = (line.split(None, 1) + [""])[:2]
        if comment_next and not _KEY.match(key):  # the comment runs to the next KEY line
            fields["COMMENTS"] = (fields.get("COMMENTS", "") + " " + line).strip()
            continue
        comment_next = key == "COMMENTS:"
        if comment_next:
            fields["COMMENTS"] = value.strip()
            continue
        fields[key] = value.strip()
        lines[key] = number

    def get(key):
        if key not in fields:
            raise parse_error(path, marker_line, f"header field '{key}'", "missing (the header ends here)")
        return fields[key]

    def fail(key, problem):
        return parse_error(path, lines[key], f"header field '{key}'", problem)

    def positive_int(key, most=_MAX_FRAME_NUMBER):
        value = get(key)
        if not re.fullmatch(r"\d+", value) or int(value) == 0:
            raise fail(key, f"{value!r} is not a positive integer")
        if int(value) > most:
            raise fail(key, f"{value} is more than the {most} plantar reads")
        return int(value)

    def positive_float(text, key):
        try:
            number = float(text)
        except ValueError:
            number = float("nan")
        if not (np.isfinite(number) and number > 0):
            raise fail(key, f"{text!r} is not a positive number")
        return number

    def spacing_mm(key):
        parts = get(key).split()
        if len(parts) != 2 or parts[1].lower() not in LENGTH_TO_MM:
            raise fail(key, f"{get(key)!r} is not '<number> <unit>' with unit one of {sorted(LENGTH_TO_MM)}")
        return positive_float(parts[0], key) * LENGTH_TO_MM[parts[1].lower()]

    rows, cols = positive_int("ROWS", _MAX_SENSELS_A_SIDE), positive_int("COLS", _MAX_SENSELS_A_SIDE)
    row_spacing_mm, col_spacing_mm = spacing_mm("ROW_SPACING"), spacing_mm("COL_SPACING")
    for key, spacing in (("ROW_SPACING", row_spacing_mm), ("COL_SPACING", col_spacing_mm)):
        check_plausible(path, lines[key], f"header field '{key}'", spacing, "pitch")
    seconds_per_frame = positive_float((get("SECONDS_PER_FRAME").split() or [""])[0], "SECONDS_PER_FRAME")
    check_plausible(
        path, lines["SECONDS_PER_FRAME"], "header field 'SECONDS_PER_FRAME'", 1.0 / seconds_per_frame, "rate"
    )
    units = get("UNITS")
    is_raw = units.lower() == "raw"
    if not is_raw and units.lower() not in UNITS_TO_KPA:
        raise fail("UNITS", f"{units!r} is not a pressure unit plantar reads (KPa, MPa, PSI, mmHg, or raw)")
    mirror = {}
    for key in ("MIRROR_ROW", "MIRROR_COL"):
        if fields.get(key, "0") not in ("0", "1"):
            raise fail(key, f"{fields[key]!r} is not 0 or 1")
        mirror[key] = fields.get(key, "0") == "1"
    first = last = None
    if "START_FRAME" in fields:
        first = positive_int("START_FRAME")
    if "END_FRAME" in fields:
        last = positive_int("END_FRAME")

    start, start_text = None, fields.get("TIME", "")
    if start_text:
        normalised = re.sub(r"\s+", " ", start_text.replace("a.m.", "AM").replace("p.m.", "PM"))
        for fmt in _TIME_FORMATS:
            try:
                start = datetime.datetime.strptime(normalised, fmt)
                break
            except ValueError:
                continue
        if start is not None and re.fullmatch(r"\d+", fields.get("MICRO_SECOND", "")):
            start += datetime.timedelta(microseconds=int(fields["MICRO_SECOND"]))

    body_mass_kg = 0.0
    kpa_per_count = None
    calibration = re.match(
        r"([\d.]+)\s*\((kgs?|lbs?)\)(?:\s*([\d.]+)\s*\(raw sum\))?", fields.get("CALIBRATION_POINT_1", ""), re.IGNORECASE
    )
    if calibration:
        load = positive_float(calibration.group(1), "CALIBRATION_POINT_1")
        body_mass_kg = load if calibration.group(2).lower().startswith("kg") else load * _LB_IN_KG
        if calibration.group(3) is not None:
            raw_sum = positive_float(calibration.group(3), "CALIBRATION_POINT_1")
            # Tekscan's one-point calibration is linear through zero: the calibration load spread over
            # the raw sum, per sensel area (N / mm2 = MPa, x 1000 for kPa)
            kpa_per_count = body_mass_kg * STANDARD_GRAVITY_M_S2 / raw_sum / (row_spacing_mm * col_spacing_mm) * 1e3

    sensor = fields.get("SENSOR_TYPE", "")
    extra = {"start_time_text": start_text, "units_in_file": units}
    if kpa_per_count is not None:
        extra["kpa_per_count_stated"] = kpa_per_count
    flipped = [name for key, name in (("MIRROR_ROW", "rows"), ("MIRROR_COL", "columns")) if mirror[key]]
    if flipped:
        extra["mirrored_in_file"] = " and ".join(flipped)
    for key, attr in (
        ("SENSOR_TYPE", "sensor_type"),
        ("HARDWARE", "hardware"),
        ("VERSION", "software"),
        ("CALIBRATION_MODE_1", "calibration_mode"),
        ("COMMENTS", "comments"),
    ):
        if fields.get(key):
            extra[attr] = fields[key]
    saturation = re.match(r"([\d.]+)\s*(\w+)", fields.get("SATURATION_PRESSURE", ""))
    if saturation and saturation.group(2).lower() == "raw" and re.fullmatch(r"\d+", saturation.group(1)):
        extra["saturation_counts"] = int(saturation.group(1))
    elif saturation and saturation.group(2).lower() in UNITS_TO_KPA:
        kpa = positive_float(saturation.group(1), "SATURATION_PRESSURE") * UNITS_TO_KPA[saturation.group(2).lower()]
        if kpa >= MAX_PRESSURE_KPA:
            raise fail("SATURATION_PRESSURE", f"{kpa:g} kPa is not a plausible pressure")
        extra["saturation_pressure_kpa"] = kpa
    if re.fullmatch(r"\d+", fields.get("NOISE_THRESHOLD", "")):
        extra["noise_threshold"] = int(fields["NOISE_THRESHOLD"])
    return dict(
        rows=rows,
        cols=cols,
        row_spacing_mm=row_spacing_mm,
        col_spacing_mm=col_spacing_mm,
        seconds_per_frame=seconds_per_frame,
        kpa_per_unit=1.0 if is_raw else UNITS_TO_KPA[units.lower()],
        is_raw=is_raw,
        mirror_rows=mirror["MIRROR_ROW"],
        mirror_cols=mirror["MIRROR_COL"],
        first=first,
        last=last,
        start=start,
        body_mass_kg=body_mass_kg,
        device=f"Tekscan {sensor}".strip(),
        # F-Scan sensors are in-shoe insoles; MatScan, Strideway and walkways are mats.
        layout="insole" if "FSCAN" in sensor.upper().replace("-", "") else "mat",
        source_format="Tekscan ASCII movie" + (f" ({fields['VERSION']})" if fields.get("VERSION") else ""),
        extra=extra,
        lines=lines,
    )


def _frame_layout(path, raw, body_start, marker_line, header):
    """Where the frames are, all checked: a dict of arrays and offsets.

    Every line after ``ASCII_DATA @@`` is classified at once (blank, ``Frame``,
    ``@@``, or data); then each frame must be its header line, exactly ``ROWS``
    data lines and blank lines up to the next frame or the closing ``@@``. A
    carriage return before a line's newline belongs to the line end, so a CRLF
    file gives the same lines (and errors) as its LF copy.

    Returns ``frame_numbers``; ``starts`` and ``stops``, the byte range of each
    frame's rows (with their line ends); ``data_bytes``, the bytes those rows
    would take with LF line ends; ``first_offset`` and ``end_offset``, where the
    first ``Frame`` line and the closing ``@@`` line start; ``frame_text``, the
    ``Frame`` lines; ``crlf_data`` and ``crlf_blank``, how many data lines and
    blank lines (between the first frame and ``@@``) end with CRLF.
    """
    rows = header["rows"]
    buf = np.frombuffer(raw, np.uint8)
    newlines = find_byte(buf, 10, body_start)
    line_starts = np.empty(newlines.size + 1, np.int64)
    line_starts[0] = body_start
    np.add(newlines, 1, out=line_starts[1:])
    line_ends = np.append(newlines, len(raw))
    if line_starts[-1] == len(raw):  # the file ends with a newline: no last line
        line_starts, line_ends = line_starts[:-1], line_ends[:-1]
    # a CR right before a newline is part of the line end (an empty line's byte before is a newline)
    crlf = buf[np.maximum(line_ends - 1, 0)] == 13
    if crlf.size and line_ends[-1] == len(raw):
        crlf[-1] = False
    text_ends = line_ends - crlf
    blank = text_ends == line_starts
    first_byte = buf[np.minimum(line_starts, len(raw) - 1)] if len(raw) else np.zeros(0, np.uint8)
    is_frame = first_byte == ord("F")
    is_frame &= ~blank
    is_end = first_byte == ord("@")
    is_end &= ~blank
    is_data = ~(blank | is_frame | is_end)
    count_type = np.int32 if line_starts.size < 2**31 - 1 else np.int64

    def line_no(i):
        return marker_line + 1 + int(i)

    # every line that starts with "Frame": the character before it is the previous line's newline
    found = _FRAME_LINE.findall(raw, body_start - 1)  # (line, number) of each; all its lines start with F
    frame_lines = np.flatnonzero(is_frame)
    if len(found) != frame_lines.size:
        matched = np.searchsorted(line_starts, [m.start() + 1 for m in _FRAME_LINE.finditer(raw, body_start - 1)])
        bad = np.setdiff1d(frame_lines, matched)[0]
        raise parse_error(
            path, line_no(bad), "frame line", f"expected 'Frame <n>', got {raw[line_starts[bad]:text_ends[bad]][:40]!r}"
        )
    end_lines = np.flatnonzero(is_end)
    if end_lines.size == 0:
        raise parse_error(
            path,
            line_no(max(len(line_starts) - 1, 0)),
            "closing '@@'",
            "not found before the end of the file (truncated?)",
        )
    if raw[line_starts[end_lines[0]] : text_ends[end_lines[0]]].strip() != b"@@":
        raise parse_error(path, line_no(end_lines[0]), "closing '@@'", "expected a line '@@'")
    end = int(end_lines[0])
    frame_lines = frame_lines[frame_lines < end]
    if frame_lines.size == 0:
        raise parse_error(path, line_no(end), "frames", "none before the closing '@@'")
    if np.count_nonzero(~blank[end + 1 :]):
        raise parse_error(
            path, line_no(end + 1 + np.argmax(~blank[end + 1 :])), "end of file", "text after the closing '@@'"
        )
    first_frame_line = int(frame_lines[0])
    if np.count_nonzero(~blank[:first_frame_line]):
        bad = int(np.argmax(~blank[:first_frame_line]))
        raise parse_error(path, line_no(bad), "body", "expected 'Frame <n>' as the first line after 'ASCII_DATA @@'")

    # rows: exactly ROWS data lines right after each Frame line, then blank lines
    cum_data = np.zeros(line_starts.size + 1, count_type)
    np.cumsum(is_data, dtype=count_type, out=cum_data[1:])
    cum_text = np.zeros(line_starts.size + 1, count_type)
    np.cumsum(~blank, dtype=count_type, out=cum_text[1:])
    next_boundary = np.append(frame_lines[1:], end)
    data_after = np.minimum(frame_lines + 1 + rows, next_boundary)
    n_rows = cum_data[data_after] - cum_data[frame_lines + 1]
    contiguous = n_rows == (data_after - frame_lines - 1)
    trailing_text = cum_text[next_boundary] - cum_text[data_after]
    wrong = np.flatnonzero((n_rows != rows) | ~contiguous | (trailing_text != 0))
    found = found[: frame_lines.size]
    numbers = np.array(list(map(operator.itemgetter(1), found)))
    if numbers.dtype.itemsize > len(str(_MAX_FRAME_NUMBER)) - 1:  # digits enough for a number too big
        big = next((k for k, text in enumerate(numbers.tolist()) if int(text) > _MAX_FRAME_NUMBER), None)
        if big is not None:
            raise parse_error(
                path, line_no(frame_lines[big]), "frame number", f"{numbers[big].decode()} is not a frame number"
            )
    frame_numbers = numbers.astype(np.int64)
    if wrong.size:
        k = int(wrong[0])
        h = int(frame_lines[k])
        segment = is_data[h + 1 : next_boundary[k]]
        found = int(np.argmax(~segment)) if not segment.all() else segment.size
        if found < rows:
            at, problem = h + 1 + found, f"frame {frame_numbers[k]} has {found} rows, expected {rows}"
        else:
            at, problem = h + 1 + rows, f"frame {frame_numbers[k]} has more than {rows} rows"
        raise parse_error(path, line_no(at), "rows", problem)
    steps = np.diff(frame_numbers)
    if np.any(steps != 1):
        k = int(np.argmax(steps != 1)) + 1
        expected = int(frame_numbers[k - 1]) + 1
        problem = (
            f"Frame {frame_numbers[k]} follows Frame {frame_numbers[k - 1]}: frame {expected} is missing"
            if frame_numbers[k] > expected
            else f"Frame {frame_numbers[k]} follows Frame {frame_numbers[k - 1]}: frames must count up by one"
        )
        raise parse_error(path, line_no(frame_lines[k]), "frame number", problem)
    if header["first"] is not None and frame_numbers[0] != header["first"]:
        raise parse_error(
            path,
            line_no(frame_lines[0]),
            "frame number",
            f"the first frame is {frame_numbers[0]}, but START_FRAME is {header['first']}",
        )
    if header["last"] is not None and frame_numbers[-1] != header["last"]:
        raise parse_error(
            path,
            line_no(end),
            "frames",
            f"the last frame is {frame_numbers[-1]}, but END_FRAME is {header['last']} (missing frames or truncated)",
        )
    starts = line_starts[frame_lines + 1]
    stops = line_ends[frame_lines + rows] + 1
    # between the first frame and "@@", every data line is a frame's row (checked above)
    crlf_data = int(np.count_nonzero(crlf[first_frame_line:end] & is_data[first_frame_line:end]))
    return dict(
        frame_numbers=frame_numbers,
        starts=starts,
        stops=stops,
        data_bytes=int(np.sum(stops - starts)) - crlf_data,
        first_offset=int(line_starts[first_frame_line]),
        end_offset=int(line_starts[end]),
        frame_text=b"".join(map(operator.itemgetter(0), found)),
        crlf_data=crlf_data,
        crlf_blank=int(np.count_nonzero(crlf[first_frame_line:end] & blank[first_frame_line:end])),
    )


def _parse_frames(raw, layout, header):
    """The pressure of every frame (kPa, toes toward +y), decoded by pandas' C parser; None if in doubt.

    The fast path for the frames of a valid file. It reads the text between
    the first ``Frame`` line and the closing ``@@`` in chunks of frames, with
    ``Frame`` lines taken for comments and blank lines skipped, and returns
    None (so that :func:`_parse_frames_exactly` decides, and names what is
    wrong) unless it can tell that the cell-by-cell decoding would read the
    same values: the rows hold only digits, dots, commas, ``B`` and their line
    ends (no sign, exponent, space or other text the C parser would accept),
    no cell is longer than the cell-by-cell decoding reads (15 characters), the
    C parser read every cell as a number or ``B`` (so no empty cell and no short
    row), as many NaN as ``B`` cells, and no pressure of 100 MPa or more.
    A cell of digits and one dot is the correctly rounded double of its text,
    as :func:`plantar.io._vendor.parse_table` reads it, rounded to float32.
    """
    rows, cols = header["rows"], header["cols"]
    n_frames = layout["frame_numbers"].size
    head, tail = raw[: layout["first_offset"]], raw[layout["end_offset"] :]
    # what the rows hold besides digits, dots, commas and newlines: B cells and CRLF ends, nothing else
    left = [part.translate(None, _NUMBER_BYTES) for part in (raw, head, tail, layout["frame_text"])]
    in_rows = len(left[0]) - sum(len(part) for part in left[1:]) - layout["crlf_blank"]
    n_b = left[0].count(b"B") - sum(part.count(b"B") for part in left[1:])
    del left, head, tail
    if in_rows != n_b + layout["crlf_data"] or _has_long_cell(raw, layout["starts"], layout["stops"]):
        return None
    pressure = np.empty((n_frames, rows, cols), np.float32)
    kpa_per_unit = np.float32(header["kpa_per_unit"])
    chunk_frames = max(1, _CHUNK_CELLS // (rows * cols))
    stream = io.BytesIO(raw)
    stream.seek(layout["first_offset"])
    done = n_nan = 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a warning from the parser means: decode cell by cell
            chunks = pd.read_csv(
                stream,
                sep=",",
                header=None,
                dtype=np.float32,
                na_values=["B"],
                keep_default_na=False,
                comment="F",
                skip_blank_lines=True,
                engine="c",
                low_memory=False,
                nrows=n_frames * rows,
                chunksize=chunk_frames * rows,
            )
            with chunks:
                for chunk in chunks:
                    values = chunk.to_numpy(np.float32)
                    if values.shape[1] != cols or values.shape[0] % rows or done + values.shape[0] // rows > n_frames:
                        return None
                    n_nan += np.count_nonzero(np.isnan(values))
                    if kpa_per_unit != 1:
                        values *= kpa_per_unit
                    if values.size and np.fmax.reduce(values, axis=None) >= MAX_PRESSURE_KPA:
                        return None
                    k = values.shape[0] // rows
                    pressure[done : done + k, ::-1, :] = values.reshape(k, rows, cols)  # toes toward +y
                    done += k
    except (ValueError, OverflowError, Warning):
        return None
    if done != n_frames or n_nan != n_b:
        return None
    return pressure


def _has_long_cell(raw, starts, stops):
    """Whether a row (in ``starts``/``stops``) holds a cell longer than the cell-by-cell decoding reads.

    Called once the rows are known to hold only digits, dots, B, commas and line
    ends: a cell's bytes are then the ones >= 46 ("."), and a long cell is a long
    run of them. Any run of 15 or more covers an aligned 8-byte word of them,
    found 8 bytes at a time (a byte below 128 is >= 46 if adding 82 sets its top
    bit, with no carry to the next byte); each such word inside a row is then
    measured up to 8 bytes either side.
    """
    longest = _MAX_CELL_CHARS
    words = np.frombuffer(raw, np.uint64, count=len(raw) // 8)
    found = []
    for i in range(0, words.size, _BLOCK_BYTES // 8):
        block = words[i : i + _BLOCK_BYTES // 8] + np.uint64(0x5252525252525252)
        block &= np.uint64(0x8080808080808080)
        found.append(np.flatnonzero(block == np.uint64(0x8080808080808080)) + i)
    at = np.concatenate(found) * 8 if found else np.zeros(0, np.int64)
    frame = np.searchsorted(stops, at, side="right")
    at = at[(frame < starts.size) & (starts[np.minimum(frame, starts.size - 1)] <= at)]
    if at.size == 0:
        return False
    buf = np.frombuffer(raw, np.uint8)
    side = np.arange(1, 9)  # a run of 16 or more reaches 8 bytes before or after one of its aligned words
    before = buf[np.maximum(at[:, None] - side, 0)] >= 46  # nearest first
    after = buf[np.minimum(at[:, None] + 7 + side, len(raw) - 1)] >= 46
    run_before = np.argmax(~np.pad(before, ((0, 0), (0, 1))), axis=1)
    run_after = np.argmax(~np.pad(after, ((0, 0), (0, 1))), axis=1)
    return bool(np.any(run_before + 8 + run_after > longest))


def _parse_frames_exactly(path, raw, marker_line, header):
    """The pressure of every frame (kPa, toes toward +y), decoded cell by cell from an LF text.

    Raises the :class:`FileFormatError` naming the line, frame, row and column of
    the first cell that is not a number (or of a row of too many or too few cells),
    else of the first implausible pressure.
    """
    layout = _frame_layout(path, raw, min(_DATA_MARKER.search(raw).end() + 1, len(raw)), marker_line, header)
    frame_numbers, starts, stops = layout["frame_numbers"], layout["starts"], layout["stops"]
    n_frames = frame_numbers.size
    buf = np.frombuffer(raw, np.uint8)
    values = np.empty(n_frames * header["rows"] * header["cols"], np.float32)
    problem = parse_table(buf, starts, stops, n_cols=header["cols"], out=values)
    if problem is not None:
        offset, what = problem
        line = raw.count(b"\n", 0, offset) + 1
        frame = int(np.searchsorted(stops, offset, side="right"))
        row = raw.count(b"\n", int(starts[min(frame, n_frames - 1)]), offset) + 1
        col = raw.count(b",", raw.rfind(b"\n", 0, offset) + 1, offset) + 1
        field = f"cell of frame {frame_numbers[min(frame, n_frames - 1)]}, row {row}"
        if not what.endswith(f"expected {header['cols']}"):
            field += f", column {col}"
        raise parse_error(path, line, field, what)
    frames = values.reshape(n_frames, header["rows"], header["cols"])
    if header["kpa_per_unit"] != 1.0:
        frames *= np.float32(header["kpa_per_unit"])
    bad = implausible_pressure(frames)  # parse_table reads no minus sign: too high is what remains
    if bad is not None:
        frame, row, col = bad
        line = raw.count(b"\n", 0, int(starts[frame])) + 1 + row
        raise parse_error(
            path,
            line,
            f"cell of frame {frame_numbers[frame]}, row {row + 1}, column {col + 1}",
            f"{frames[bad]:g} kPa is not a plausible pressure (0 .. 100000 kPa)",
        )
    return np.ascontiguousarray(frames[:, ::-1, :])  # row 0 is the toe end: toes toward +y


FORMAT = FileFormat(
    name="tekscan",
    description="Tekscan ASCII movie",
    extensions=(".asf", ".csv"),
    sniff=sniff,
    reader=read,
)
