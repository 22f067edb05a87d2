"""novel emed list exports (``.lst``).

Grammar
-------
Latin-1 text, one page per frame, each page ended by a line holding a form feed
(``\\x0c``). A page holds ``Page <n>``; ``File: <original file>`` and
``Matrix: <cols>x<rows>`` (the whole plate, e.g. ``64x95``); ``Sensor area: 0.25 cm²``
and ``Time/picture:10.0 ms``; ``Sensor size: 0.500x0.500 cm``; ``Pict-No.: <k>``;
then a line of the plate column numbers of the exported window followed by
``Force``; one line per plate row: the row number, the pressures in kPa and the
row force (N); and a line ``Force`` with the column forces and the total force
(N) of the frame. Newer exports separate the cells with tabs; older ones (whose
header names ``novel munich/st.paul/london``) pad them with spaces, so cells are
split on any run of blanks. No cell is ever empty. Pages without a ``Pict-No.`` (summary pictures such as the
maximum-pressure picture) are skipped. Every page must show the same window.
The export closes with one more form feed line after the last page's, an empty
page.

Truncation: the format states no page count, so a cut file is recognised by
what it breaks: a page without its ``Force`` line or its form feed, a table
row with too few cells, or the closing empty page missing (a file cut right
after a page's form feed). Picture numbers must count up by one.

The total force stated on each page is kept as the variable ``force_reported``
(N); it equals sum(kPa) x sensor area (0.025 N per kPa for 0.25 cm² sensors) to
the export's rounding (0.005 N). The row forces and the column forces are not kept.

Orientation
-----------
Plate rows and columns are numbered from 1 (``Matrix: 64x95`` = 64 columns, 95
rows), and the heel of a step lies at the high row numbers: the person walks
toward row 1. The picture is read as novel prints it, seen from above, so that
plate column ``c`` and row ``r`` (of ``n_rows`` on the plate) are at::

    x = (c - 1) * sensor width         (column 1 at x = 0)
    y = (n_rows - r) * sensor height   (the last row at y = 0; toes toward +y)

The trial holds only the exported window, at its true place on the plate
(``origin_mm`` is the position of its first column and last row). The first
sensor size is taken as the width (along x); the file does not say, and the
plates in use have square sensors. The example file ``novel-emed/emed_test.lst``,
read this way, shows a right foot: its toe line slopes back toward +x and its
lateral midfoot contact lies at +x of the heel-to-forefoot axis. Which foot it
was is not stated in the file, so this only shows that the picture is a
consistent, unmirrored foot if novel's print is seen from above.
"""

import re

import numpy as np

from ._dispatch import FileFormat
from ._vendor import build_trial, check_plausible, implausible_pressure, parse_error

ENCODING = "latin-1"
_PAGE = re.compile(r"^\s*Page\s+(\d+)\s*$")
_PICT = re.compile(r"Pict-No\.:\s*(\d+)")
_FIELDS = {
    "Matrix": re.compile(r"Matrix:\s*(\d+)\s*x\s*(\d+)"),
    "Sensor area": re.compile(r"Sensor area:\s*([\d.]+)\s*(cm²|cm2|mm²|mm2)"),
    "Time/picture": re.compile(r"Time/picture:\s*([\d.]+)\s*(ms|s)\b"),
    "Sensor size": re.compile(r"Sensor size:\s*([\d.]+)\s*x\s*([\d.]+)\s*(cm|mm)"),
}
#: Most sensors along one side of a plate that the reader accepts in ``Matrix``.
_MAX_PLATE_SENSORS = 10_000
_AREA_TO_MM2 = {"cm²": 100.0, "cm2": 100.0, "mm²": 1.0, "mm2": 1.0}


def sniff(head):
    r"""Tell whether the first bytes of a file are a novel emed list export.

    Parameters
    ----------
    head : bytes
        The first bytes of the file (up to 4096).

    Returns
    -------
    is_emed : bool
        True if they hold a ``Page <n>`` line and a ``Pict-No.`` line.

    Examples
    --------
    >>> from plantar.io import emed
    >>> emed.sniff(b"\n\t\t\t\tPage 1\n\n\tFile: 2.dat\n\tPict-No.: 1  Force[N]=sum*sensor_area\n")
    True
    >>> emed.sniff(b"DATA_TYPE MOVIE\n")
    False
    """
    return b"Pict-No." in head and re.search(rb"^\s*Page\s+\d+", head, re.MULTILINE) is not None


def read(path):
    r"""Read a novel emed list export into a trial.

    Use :func:`plantar.read`, which calls this and checks the result.

    Parameters
    ----------
    path : pathlib.Path
        The file.

    Returns
    -------
    trial : xarray.Dataset
        Pressure in kPa of the exported window, placed on the plate
        (``origin_mm``), toes toward +y; the stated total force per frame in
        ``force_reported`` (N) and the picture numbers in ``frame_number``.

    Raises
    ------
    plantar.io.FileFormatError
        If a page breaks the grammar (a header field missing, a row or cell too
        many or too few, a cell that is not a number, a picture missing, the file
        cut short); the message names the file, the line and the field.

    Examples
    --------
    A page of a 2 x 2 window (plate columns 26-27, rows 30-31):

    >>> import pathlib, tempfile
    >>> import plantar
    >>> page = ["\t\t\t\tPage 1", "", "\tFile: walk.dat \tMatrix: 64x95 ",
    ...         "\tSensor area: 0.25 cm\xb2\tTime/picture:10.0 ms", "\tSensor size: 0.500x0.500 cm",
    ...         "\tPict-No.: 1  Force[N]=sum*sensor_area in row/column", "",
    ...         "\t26\t27\tForce", "30\t10.00\t0.00\t0.25", "31\t20.00\t40.00\t1.50",
    ...         "Force\t0.75\t1.00\t1.75", "\x0c", "\x0c"]
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "step.lst"
    >>> _ = path.write_bytes("\n".join(page).encode("latin-1"))
    >>> trial = plantar.read(path)
    >>> trial.pressure.values[0]  # plate row 31 (toward the heel) at the smaller y
    array([[20., 40.],
           [10.,  0.]], dtype=float32)
    >>> trial.x.values, trial.y.values  # (column - 1) x 5 mm, (95 - row) x 5 mm
    (array([125., 130.]), array([320., 325.]))
    >>> float(trial.force_reported[0])
    1.75
    """
    text = path.read_bytes().decode(ENCODING).replace("\r\n", "\n")
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the file's last line end
    page_lines = [i for i, line in enumerate(lines) if _PAGE.match(line)]
    if not page_lines:
        raise parse_error(path, 1, "'Page <n>' line", "not found: not a novel emed list export")
    bounds = page_lines[1:] + [len(lines)]
    _check_closing_page(path, lines, page_lines[-1])
    fields, pictures, windows = None, [], []
    for first, last in zip(page_lines, bounds):
        page = _read_page(path, lines, first, last)
        if page is None:
            continue  # a summary picture, not a frame
        if fields is None:
            fields = page["fields"]
        elif page["fields"] != fields:
            raise parse_error(
                path, first + 1, "page header", f"differs from the first page's ({page['fields']} vs {fields})"
            )
        if windows:
            w = windows[0]
            if not np.array_equal(page["rows"], w["rows"]):
                raise parse_error(
                    path,
                    page["force_line"] + 1,
                    "rows",
                    f"page {page['page']} has {page['rows'].size} rows ({_span(page['rows'])}), "
                    f"the first page {w['rows'].size} ({_span(w['rows'])})",
                )
            if not np.array_equal(page["cols"], w["cols"]):
                raise parse_error(
                    path,
                    page["table_line"] + 1,
                    "column numbers",
                    f"page {page['page']} shows columns {_span(page['cols'])}, the first page {_span(w['cols'])}",
                )
        pictures.append(page["pict"])
        windows.append(page)
    if not windows:
        raise parse_error(path, len(lines), "frames", "no page with a 'Pict-No.' picture")
    pressure, force = _read_tables(path, lines, windows)
    pictures = np.array(pictures)
    steps = np.diff(pictures)
    if np.any(steps != 1):
        k = int(np.argmax(steps != 1)) + 1
        raise parse_error(
            path,
            windows[k]["pict_line"] + 1,
            "Pict-No.",
            f"picture {pictures[k]} follows picture {pictures[k - 1]}: pictures must count up by one (a missing page?)",
        )
    n_cols_plate, n_rows_plate = fields["Matrix"]
    rows, cols = windows[0]["rows"], windows[0]["cols"]
    if rows.min() < 1 or rows.max() > n_rows_plate or cols.min() < 1 or cols.max() > n_cols_plate:
        raise parse_error(
            path,
            windows[0]["table_line"] + 1,
            "window",
            f"rows {_span(rows)} x columns {_span(cols)} lie outside the {n_cols_plate}x{n_rows_plate} plate",
        )
    if np.any(np.diff(rows) != 1) or np.any(np.diff(cols) != 1):
        raise parse_error(path, windows[0]["table_line"] + 1, "window", "row and column numbers must count up by one")
    width_mm, height_mm = fields["Sensor size"]
    area_mm2 = fields["Sensor area"]
    if not np.isclose(area_mm2, width_mm * height_mm, rtol=1e-3):
        raise parse_error(
            path,
            windows[0]["first_line"] + 1,
            "Sensor area",
            f"{area_mm2:g} mm² is not the sensor size {width_mm:g} x {height_mm:g} mm",
        )
    dt_s = fields["Time/picture"]
    header = windows[0]
    return build_trial(
        path,
        pressure[:, ::-1, :],  # heel at the high row numbers: toes toward +y
        pitch_mm=(width_mm, height_mm),
        rate_hz=1.0 / dt_s,
        time_s=(pictures - pictures[0]) * dt_s,
        origin_mm=((cols[0] - 1) * width_mm, (n_rows_plate - rows[-1]) * height_mm),
        per_frame={
            "force_reported": (force, "N", "total force stated in the file"),
            "frame_number": (pictures.astype(np.int32), "1", "picture number in the source file"),
        },
        device="novel emed",
        source_format="novel emed list export (.lst)",
        layout="window",  # one contact, cut out of the plate recording by novel's software
        start_time="",
        plate_columns=int(n_cols_plate),
        plate_rows=int(n_rows_plate),
        sensor_area_mm2=float(area_mm2),
        original_file=header["original_file"],
    )


def _check_closing_page(path, lines, last_page):
    """The export ends with an empty page: a form feed line right after the last page's form feed."""
    tail = [lines[i].strip(" \t\r") for i in range(last_page, len(lines))]
    tail = [line for line in tail if line]  # str.strip() would take the form feeds too
    if tail[-2:] == ["\x0c", "\x0c"]:
        return
    if tail[-1] != "\x0c":
        return  # the last page itself is incomplete: _read_page says where
    raise parse_error(
        path,
        len(lines),
        "end of file",
        "the closing empty page (a second form feed after the last page's) is missing: "
        "the file was cut after a page (truncated?)",
    )


def _span(numbers):
    return f"{numbers[0]}..{numbers[-1]}" if len(numbers) else "none"


def _read_page(path, lines, first, last):
    """Header fields and the table's place on one page; None for a summary page."""
    page = {"page": int(_PAGE.match(lines[first]).group(1)), "first_line": first}
    pict_line = next((i for i in range(first, last) if "Pict-No." in lines[i]), None)
    if pict_line is None:
        if not any("\x0c" in lines[i] for i in range(first, last)):
            raise parse_error(
                path, last, "page end", f"page {page['page']} ends without its form feed (truncated?)"
            )
        return None
    match = _PICT.search(lines[pict_line])
    if match is None:
        raise parse_error(path, pict_line + 1, "Pict-No.", f"no picture number in {lines[pict_line].strip()!r}")
    page["pict"], page["pict_line"] = int(match.group(1)), pict_line
    header = "\n".join(lines[first:pict_line])
    fields = {}
    for name, pattern in _FIELDS.items():
        found = pattern.search(header)
        if found is None:
            raise parse_error(
                path,
                pict_line + 1,
                f"header field '{name}'",
                f"missing from page {page['page']} (lines {first + 1}-{pict_line + 1})",
            )
        fields[name] = found.groups()
    try:
        n_cols, n_rows = int(fields["Matrix"][0]), int(fields["Matrix"][1])
        area = float(fields["Sensor area"][0]) * _AREA_TO_MM2[fields["Sensor area"][1]]
        dt = float(fields["Time/picture"][0]) * (1e-3 if fields["Time/picture"][1] == "ms" else 1.0)
        scale = 10.0 if fields["Sensor size"][2] == "cm" else 1.0
        size = (float(fields["Sensor size"][0]) * scale, float(fields["Sensor size"][1]) * scale)
    except ValueError as exc:
        raise parse_error(path, pict_line + 1, "page header", f"a number does not read: {exc}") from None
    if min(n_cols, n_rows, area, dt, *size) <= 0:
        raise parse_error(
            path, first + 1, "page header", "the matrix, sensor size, sensor area and time per picture must be positive"
        )
    header_line = {name: first + 1 + next(k for k, line in enumerate(lines[first:pict_line]) if name + ":" in line)
                   for name in ("Matrix", "Time/picture", "Sensor size")}  # fmt: skip
    if max(n_cols, n_rows) > _MAX_PLATE_SENSORS:
        raise parse_error(
            path, header_line["Matrix"], "header field 'Matrix'",
            f"{n_cols}x{n_rows} is not a plate (at most {_MAX_PLATE_SENSORS} sensors a side)",
        )  # fmt: skip
    check_plausible(path, header_line["Time/picture"], "header field 'Time/picture'", 1.0 / dt, "rate")
    for pitch in size:
        check_plausible(path, header_line["Sensor size"], "header field 'Sensor size'", pitch, "pitch")
    page["fields"] = {"Matrix": (n_cols, n_rows), "Sensor area": area, "Time/picture": dt, "Sensor size": size}
    file_match = re.search(r"File:\s*(.*?)\s+Matrix:", header)
    page["original_file"] = file_match.group(1) if file_match else ""
    # the table: column numbers + 'Force', row lines, then the 'Force' line
    table = next((i for i in range(pict_line + 1, last) if lines[i].strip()), None)
    if table is None:
        raise parse_error(path, last, "column numbers", f"page {page['page']} has no table (truncated?)")
    head = lines[table].split()
    if not head or head[-1] != "Force" or not all(h.isdigit() for h in head[:-1]) or len(head) < 2:
        raise parse_error(
            path,
            table + 1,
            "column numbers",
            f"expected plate column numbers then 'Force', got {lines[table].strip()[:60]!r}",
        )
    page["cols"] = np.array([int(h) for h in head[:-1]])
    force_line = next((i for i in range(table + 1, last) if lines[i].startswith("Force")), None)
    if force_line is None:
        raise parse_error(path, last, "'Force' line", f"page {page['page']} ends without its 'Force' line (truncated?)")
    row_numbers = []
    for i in range(table + 1, force_line):
        number = lines[i].split(None, 1)[0] if lines[i].strip() else ""
        if not number.isdigit():
            raise parse_error(path, i + 1, "row number", f"expected a plate row number, got {number[:20]!r}")
        row_numbers.append(int(number))
    rest = [i for i in range(force_line + 1, last) if lines[i].strip() and lines[i].strip() != "\x0c"]
    if rest:
        raise parse_error(
            path, rest[0] + 1, "page end", f"unexpected text after the 'Force' line: {lines[rest[0]].strip()[:40]!r}"
        )
    if not any("\x0c" in lines[i] for i in range(force_line + 1, last)):
        problem = (
            "the file ends before the page's form feed (truncated?)"
            if last == len(lines)
            else "no form feed ends the page"
        )
        raise parse_error(path, last, "page end", problem)
    page["rows"] = np.array(row_numbers)
    page["table_line"], page["force_line"] = table, force_line
    return page


def _read_tables(path, lines, pages):
    """Pressure (frame, row, col) in kPa and the stated total force of every page, parsed at once."""
    n_rows, n_cols = pages[0]["rows"].size, pages[0]["cols"].size
    row_lines = [i for p in pages for i in range(p["table_line"] + 1, p["force_line"])]
    force_lines = [p["force_line"] for p in pages]
    try:
        rows = np.array(" ".join(lines[i] for i in row_lines).split(), dtype=float)
        forces = np.array(" ".join(lines[i][len("Force") :] for i in force_lines).split(), dtype=float)
        ok = rows.size == len(row_lines) * (n_cols + 2) and forces.size == len(force_lines) * (n_cols + 1)
    except ValueError:
        ok = False
    if not ok:  # find the line and the cell
        for i in row_lines + force_lines:
            cells = lines[i].split()[1:]
            if len(cells) != n_cols + 1:
                raise parse_error(
                    path,
                    i + 1,
                    "row" if i not in force_lines else "'Force' line",
                    f"{len(cells)} cells, expected {n_cols} pressures and a force",
                )
            for k, cell in enumerate(cells, start=1):
                try:
                    float(cell)
                except ValueError:
                    field = f"column {k}" if k <= n_cols else "force"
                    raise parse_error(path, i + 1, field, f"{cell!r} is not a number") from None
        raise parse_error(path, None, "tables", "inconsistent number of cells")  # not reached
    table = rows.reshape(len(pages), n_rows, n_cols + 2)
    pressure = table[:, :, 1:-1]
    bad = implausible_pressure(np.where(np.isnan(pressure), -1.0, pressure))
    if bad is not None:
        frame, row, col = bad
        line = pages[frame]["table_line"] + 2 + row
        raise parse_error(
            path, line, f"column {col + 1}", f"{pressure[frame, row, col]} is not a pressure (0 .. 100000 kPa)"
        )
    forces = forces.reshape(len(pages), n_cols + 1)
    if not np.all(np.isfinite(forces)):
        frame, col = np.argwhere(~np.isfinite(forces))[0]
        raise parse_error(path, pages[frame]["force_line"] + 1, "'Force' line", f"{forces[frame, col]} is not a force")
    total = forces[:, -1]
    return pressure, total


FORMAT = FileFormat(
    name="emed",
    description="novel emed list export",
    extensions=(".lst",),
    sniff=sniff,
    reader=read,
)
