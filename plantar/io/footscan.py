"""RSscan footscan "Dynamic Roll off" exports (``.xls``, Excel 97).

Grammar
-------
One sheet. Column A opens with ``Dynamic Roll offfor measurement: <name>``,
``Patient name: <name>``, ``Measurement done on <dd-mm-yyyy>``, ``Scanning speed;
for the left foot: <f> Hertz, for the right foot: <f> Hertz``, ``Right foot data``
(or ``Left foot data``), ``Right rectangle position``, then ``Rectangle bottom``,
``Rectangle left``, ``Rectangle width`` and ``Rectangle height``, each followed on
the next row by its value (in sensors). Then one block per frame: a row with
``Frame <i> (<t> ms)`` in column A, ``height`` rows of ``width`` numbers (the force
on each sensor in N), and a blank row. A file holding both feet is refused (one
trial per foot is the plan; it is not written yet).

Pressure is force / sensor area: the plate's sensors are 5.08 mm wide (along a
row, x) and 7.62 mm long (along a column, y), so kPa = N / (5.08 mm x 7.62 mm) =
N x 25.83 kPa/N. The sensor size is not in the file; it is that of every footscan
plate (RSscan International), and the pitch of the trial.

Orientation
-----------
Row 0 of a frame is the heel end of the rectangle and column 0 its left side,
seen from above, so both are kept as they are::

    x = (left + col) * 5.08 mm      y = (bottom + row) * 7.62 mm

with ``left`` and ``bottom`` the rectangle position, read as the number of
sensors to the left of and below the rectangle on the plate. The side is the
trial attr ``side`` (``"left"``/``"right"``). Checked on
``rsscan-footscan/footscan_test.xls`` (a right foot): the toe line slopes back
toward +x and the lateral midfoot contact lies at +x of the heel-to-forefoot
axis, as for a right foot seen from above with its toes toward +y; the centre of
pressure rolls toward +y. ``time`` comes from the ``(<t> ms)`` of every frame.
"""

import datetime
import re

import numpy as np

from ..utils import logger
from ._dispatch import FileFormat
from ._vendor import build_trial, check_plausible, implausible_pressure, parse_error

#: Sensor size of footscan plates in mm: (along x = across the plate, along y).
SENSOR_MM = (5.08, 7.62)
OLE2_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
#: kPa per N of force on one sensor.
KPA_PER_N = 1.0 / (SENSOR_MM[0] * SENSOR_MM[1] * 1e-6) / 1e3

_FRAME = re.compile(r"^Frame\s+(\d+)\s*\(\s*([-\d.]+)\s*ms\s*\)\s*$")
_RECTANGLE = ("Rectangle bottom", "Rectangle left", "Rectangle width", "Rectangle height")
_XL_EMPTY, _XL_TEXT, _XL_NUMBER, _XL_BLANK = 0, 1, 2, 6


def sniff(head):
    r"""Tell whether the first bytes of a file are an OLE2 compound file (Excel 97).

    The sheet's text lies beyond the bytes read for sniffing (at about 12 kB in a
    footscan export), so the signature is all there is to check; footscan is the
    only OLE2 format plantar registers, and its reader then checks the content.

    Parameters
    ----------
    head : bytes
        The first bytes of the file (up to 4096).

    Returns
    -------
    is_ole2 : bool
        True if they start with the OLE2 signature.

    Examples
    --------
    >>> from plantar.io import footscan
    >>> footscan.sniff(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    True
    >>> footscan.sniff(b"PK\x03\x04")  # an .xlsx (zip) file
    False
    """
    return head.startswith(OLE2_SIGNATURE)


def read(path):
    """Read a footscan Dynamic Roll off export (``.xls``) into a trial.

    Use :func:`plantar.read`, which calls this and checks the result.

    Parameters
    ----------
    path : pathlib.Path
        The file.

    Returns
    -------
    trial : xarray.Dataset
        Pressure in kPa (force per sensor / sensor area), the rectangle placed
        on the plate (``origin_mm``), toes toward +y; attr ``side``.

    Raises
    ------
    plantar.io.FileFormatError
        If the workbook does not open (not Excel 97, truncated), a header row is
        missing or wrong, or a frame has a row, a cell or a number too many or too
        few; the message names the file, the spreadsheet row (as "line") and the
        cell or field.

    Examples
    --------
    The conversion: 1 N on one 5.08 mm x 7.62 mm sensor is

    >>> from plantar.io import footscan
    >>> width_mm, length_mm = footscan.SENSOR_MM
    >>> round(1.0 / (width_mm * length_mm * 1e-6) / 1e3, 2)  # kPa
    25.83
    """
    types, values = _load_sheet(path)
    return _trial_from_sheet(path, types, values)


class _XlrdLog:
    """A file-like sink for xlrd's messages: they go to the plantar logger (debug), never to stdout."""

    def __init__(self, path):
        self._path = path
        self._pending = ""

    def write(self, text):
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            if line.strip():
                logger.debug("xlrd, reading '%s': %s", self._path, line.rstrip())
        return len(text)

    def flush(self):
        if self._pending.strip():
            logger.debug("xlrd, reading '%s': %s", self._path, self._pending.rstrip())
        self._pending = ""


def _load_sheet(path):
    """Cell types and values (row, column) of the workbook's first sheet."""
    import xlrd  # only needed here

    log = _XlrdLog(path)
    try:
        book = xlrd.open_workbook(str(path), on_demand=True, logfile=log, verbosity=0)
        try:
            sheet = book.sheet_by_index(0)
            types = np.array([sheet.col_types(c) for c in range(sheet.ncols)], dtype=np.int8).T.reshape(
                sheet.nrows, sheet.ncols
            )
            values = np.array([sheet.col_values(c) for c in range(sheet.ncols)], dtype=object).T.reshape(
                sheet.nrows, sheet.ncols
            )
        finally:
            book.release_resources()
    except Exception as exc:  # xlrd raises many kinds (KeyError, AssertionError, struct.error, ...) on a corrupt file
        first = (str(exc).strip().splitlines() or [""])[0]
        detail = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
        raise parse_error(
            path, None, "workbook", f"not a readable Excel 97 file: truncated or corrupt ({detail[:80]})"
        ) from None
    finally:
        log.flush()
    return types, values


def _trial_from_sheet(path, types, values):
    column_a = [v if isinstance(v, str) else "" for v in values[:, 0]] if values.size else []
    header = _read_header(path, column_a, types, values)
    frames, numbers, times = _read_frames(path, column_a, types, values, header)
    side = header["side"]
    trial = build_trial(
        path,
        frames / (SENSOR_MM[0] * SENSOR_MM[1] * 1e-6) / 1e3,  # N per sensor -> kPa
        pitch_mm=SENSOR_MM,
        rate_hz=header["rate_hz"],
        time_s=(times - times[0]) / 1e3,
        origin_mm=(header["left"] * SENSOR_MM[0], header["bottom"] * SENSOR_MM[1]),
        per_frame={"frame_number": (numbers.astype(np.int32), "1", "frame number in the source file")},
        device="RSscan footscan",
        source_format="footscan Dynamic Roll off export (.xls)",
        layout="window",  # one foot's roll-off in a rectangle cut out of the plate
        start_time=header["date"],
        subject=header["patient"],
        side=side,
        measurement=header["measurement"],
        start_time_text=header["date_text"],
    )
    return trial


def _row_of(column_a, text, path, *, after=0):
    """Index of the first row at or after ``after`` whose column A starts with ``text``."""
    for r in range(after, len(column_a)):
        if column_a[r].strip().lower().startswith(text.lower()):
            return r
    # name the row where the header should have ended: the first frame, or the last row
    end = next((r for r in range(after, len(column_a)) if column_a[r].startswith("Frame")), len(column_a))
    raise parse_error(
        path,
        end + 1 if end < len(column_a) else len(column_a),
        f"'{text}' row",
        "not found in column A up to here (not a footscan Dynamic Roll off export?)",
    )


def _read_header(path, column_a, types, values):
    title = _row_of(column_a, "Dynamic Roll off", path)
    measurement = column_a[title].split(":", 1)[1].strip() if ":" in column_a[title] else ""
    patient = ""
    for r in range(title, min(title + 10, len(column_a))):
        if column_a[r].startswith("Patient name:"):
            patient = column_a[r].split(":", 1)[1].strip()
    if patient.upper() in ("NA", "N/A"):
        patient = ""
    date, date_text = "", ""
    for r in range(title, min(title + 10, len(column_a))):
        found = re.search(r"Measurement done on\s*(\d{1,2})[-./](\d{1,2})[-./](\d{4})", column_a[r])
        if found:
            date_text = column_a[r].split("Measurement done on", 1)[1].strip()
            first, second, year = (int(g) for g in found.groups())
            # dd-mm-yyyy as RSscan writes it; a day-month order that cannot be told apart stays unread
            if first == second or first > 12:
                try:
                    date = datetime.date(year, second, first).isoformat()
                except ValueError:
                    raise parse_error(path, r + 1, "Measurement done on", f"{date_text!r} is not a date") from None
    speed_row = _row_of(column_a, "Scanning speed", path)
    speeds = {}
    for side, hz in re.findall(r"for the (left|right) foot:\s*([\d.]+)\s*Hertz", column_a[speed_row], re.IGNORECASE):
        try:
            speeds[side.lower()] = float(hz)
        except ValueError:
            raise parse_error(path, speed_row + 1, "Scanning speed", f"{hz!r} Hertz is not a number") from None
    feet = [r for r, text in enumerate(column_a) if re.match(r"^(Left|Right) foot data\s*$", text.strip())]
    if not feet:
        end = next((r for r, text in enumerate(column_a) if text.startswith("Frame")), len(column_a))
        raise parse_error(
            path,
            end + 1 if end < len(column_a) else len(column_a),
            "'Left foot data' or 'Right foot data' row",
            "not found in column A up to here",
        )
    if len(feet) > 1:
        raise parse_error(
            path, feet[1] + 1, "foot data", "the file holds both feet; plantar reads one foot per footscan file"
        )
    side = column_a[feet[0]].strip().split()[0].lower()
    if side not in speeds:
        raise parse_error(
            path, speed_row + 1, "Scanning speed", f"no rate given for the {side} foot in {column_a[speed_row]!r}"
        )
    if not speeds[side] > 0:
        raise parse_error(path, speed_row + 1, "Scanning speed", f"the rate of the {side} foot is {speeds[side]:g} Hz")
    check_plausible(path, speed_row + 1, "Scanning speed", speeds[side], "rate")
    rectangle = {}
    for name in _RECTANGLE:
        r = _row_of(column_a, name, path, after=feet[0])
        if r + 1 >= types.shape[0] or types[r + 1, 0] != _XL_NUMBER:
            raise parse_error(path, r + 2, f"'{name}'", "no number in the row below it")
        number = float(values[r + 1, 0])
        limit = {"width": 256, "height": types.shape[0]}.get(name.split()[1], 10_000)  # 256: an xls row's cells
        if not np.isfinite(number) or number != int(number) or number < 0 or number > limit or (
            name in _RECTANGLE[2:] and number == 0
        ):
            raise parse_error(path, r + 2, f"'{name}'", f"{number:g} is not a valid number of sensors")
        rectangle[name.split()[1]] = int(number)
    return dict(
        measurement=measurement,
        patient=patient,
        date=date,
        date_text=date_text,
        side=side,
        rate_hz=speeds[side],
        after=feet[0],
        **rectangle,
    )


def _read_frames(path, column_a, types, values, header):
    """(frame, row, col) forces in N, the frame numbers and times in ms, all checked."""
    height, width = header["height"], header["width"]
    starts, numbers, times = [], [], []
    for r in range(header["after"], len(column_a)):
        if column_a[r].startswith("Frame"):
            found = _FRAME.match(column_a[r].strip())
            if found is None:
                raise parse_error(
                    path, r + 1, "frame header", f"expected 'Frame <i> (<t> ms)', got {column_a[r][:40]!r}"
                )
            try:
                time_ms = float(found.group(2))
            except ValueError:
                time_ms = float("nan")
            if not (np.isfinite(time_ms) and len(found.group(1)) <= 9):
                raise parse_error(path, r + 1, "frame header", f"{column_a[r].strip()[:40]!r}: not a frame number and time")
            starts.append(r)
            numbers.append(int(found.group(1)))
            times.append(time_ms)
    if not starts:
        raise parse_error(path, len(column_a), "frames", "no 'Frame <i> (<t> ms)' row")
    starts = np.array(starts)
    n_rows, n_cols = types.shape
    if n_cols < width:
        raise parse_error(path, starts[0] + 2, "frame rows", f"{n_cols} columns, expected {width} (Rectangle width)")
    # each frame: height rows of width numbers right after its header, then a blank row
    next_start = np.append(starts[1:], n_rows)
    blank_row = np.append(~np.isin(types, (_XL_NUMBER, _XL_TEXT)).any(axis=1), True)  # + one past the end
    rows = starts[:, None] + 1 + np.arange(height)
    ended = blank_row[np.minimum(rows, n_rows)] | (rows >= next_start[:, None])
    if ended.any():
        k = int(np.argmax(ended.any(axis=1)))
        found = int(np.argmax(ended[k]))
        at = int(rows[k, found])
        hint = " (truncated?)" if at >= n_rows else ""
        raise parse_error(
            path, min(at + 1, n_rows), "rows", f"frame {numbers[k]} has {found} rows, expected {height}{hint}"
        )
    block_types = types[rows]  # (frame, row, col)
    wrong = np.isin(block_types, (_XL_NUMBER, _XL_TEXT))  # beyond the width: must be empty
    wrong[:, :, :width] = block_types[:, :, :width] != _XL_NUMBER
    if wrong.any():
        k, i, j = np.argwhere(wrong)[0]
        cell = f"{_column_letter(j)}{rows[k, i] + 1}"
        got = values[rows[k, i], j]
        raise parse_error(
            path,
            rows[k, i] + 1,
            f"cell {cell} of frame {numbers[k]}",
            f"{got!r} is not a force" if j < width else f"unexpected {got!r} beyond the {width} columns",
        )
    # every row with content after the first frame belongs to a frame (its header or rows)
    claimed = np.zeros(n_rows, bool)
    claimed[starts] = True
    claimed[rows.ravel()] = True
    stray = np.flatnonzero(~blank_row[:n_rows] & ~claimed & (np.arange(n_rows) > starts[0]))
    if stray.size:
        k = int(np.searchsorted(starts, stray[0]) - 1)
        raise parse_error(path, int(stray[0]) + 1, "rows", f"frame {numbers[k]} has more than {height} rows")
    forces = values[rows][:, :, :width].astype(np.float64)
    bad = implausible_pressure(np.where(np.isnan(forces), -1.0, forces) * KPA_PER_N)
    if bad is not None:
        k, i, j = bad
        raise parse_error(
            path,
            rows[k, i] + 1,
            f"cell {_column_letter(j)}{rows[k, i] + 1}",
            f"{forces[k, i, j]} is not a force on one sensor (0 .. {100_000 / KPA_PER_N:.0f} N)",
        )
    numbers, times = np.array(numbers), np.array(times)
    if np.any(np.diff(numbers) != 1):
        k = int(np.argmax(np.diff(numbers) != 1)) + 1
        raise parse_error(
            path,
            starts[k] + 1,
            "frame number",
            f"Frame {numbers[k]} follows Frame {numbers[k - 1]}: frames must count up by one (a missing frame?)",
        )
    if np.any(np.diff(times) <= 0):
        k = int(np.argmax(np.diff(times) <= 0)) + 1
        raise parse_error(path, starts[k] + 1, "frame time", f"{times[k]:g} ms does not follow {times[k - 1]:g} ms")
    if times.size > 1:
        period_ms = 1e3 / header["rate_hz"]
        median_ms = float(np.median(np.diff(times)))
        if abs(median_ms - period_ms) > 0.01 * period_ms:
            k = int(np.argmax(np.abs(np.diff(times) - period_ms) > 0.01 * period_ms)) + 1
            raise parse_error(
                path,
                starts[k] + 1,
                "frame time",
                f"the frames are {median_ms:g} ms apart (median), but the scanning speed is "
                f"{header['rate_hz']:g} Hertz ({period_ms:g} ms)",
            )
    return forces, numbers, times


def _column_letter(index):
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


FORMAT = FileFormat(
    name="footscan",
    description="RSscan footscan Dynamic Roll off export",
    extensions=(".xls",),
    sniff=sniff,
    reader=read,
)
