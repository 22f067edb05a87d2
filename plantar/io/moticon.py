"""Moticon OpenGo sensor insole text exports (``.txt``, tab separated, or ``.csv``, semicolons).

Grammar
-------
UTF-8 text. Header lines start with ``#``: ``# Start time: dd.mm.yyyy hh:mm:ss.fff``,
``# Duration: mm:ss.fff``, ``# Sensor insoles: Left SN..., Right SN...``, ``# Size:
<n>``, ``# Recording type``, ``# Name``, ``# Notes``, ``# Tag`` (optional ``# Start
timestamp``), and last ``# time`` followed by the column names. Then one row per
sample: its time in s, and per insole (``left ...``, ``right ...``) 16 pressures
``pressure <k>[N/cm²]`` (x 10 = kPa), the IMU (``acceleration X/Y/Z[g]``,
``angular X/Y/Z[dps]``), ``total force[N]``, ``center of pressure X/Y[-0.5...+0.5]``;
optionally ``<side> steps[]`` (the vendor's step detection: 11/21 heel strike, 15/25
toe off of the left/right foot, empty otherwise), ``<side> COP velocity[1]`` and
manually set events as a pair of columns ``<group> label[]`` and ``<group>[]``. The
CSV variant separates cells with ``;`` (and may write decimal commas).

The export merges both insoles onto one clock: a row where one insole sent no sample
has that insole's cells empty. Such a sample is NaN in every variable of that side
(pressure, force, COP, IMU); a row with only some of a side's cells empty is refused.

Variables
---------
``pressure`` (kPa) per sensor; per side ``s``: ``force_reported_s`` (N, the file's
total force), ``cop_x_reported_s`` / ``cop_y_reported_s`` (mm, the file's COP in the
trial frame, with the estimated insole size below), ``cop_vendor_x_s`` /
``cop_vendor_y_s`` (the file's COP in insole units: X heel -0.5 to toe +0.5, Y
lateral -0.5 to medial +0.5), ``acc_x_s`` .. ``acc_z_s`` (g), ``ang_x_s`` .. ``ang_z_s``
(deg/s), ``cop_velocity_reported_s`` when present, and ``step_event_s`` (int8: 1 heel
strike, 2 toe off, 0 none). Manually set events become ``event_<group>`` (int16: the
event's value, 0 none; the label in the attr ``event_labels``).

Geometry
--------
Moticon publishes neither its sensors' positions nor their areas. The reader uses a
layout derived from the vendor's own numbers (``plantar/io/data/README.md``): each
sensor's centre in insole units and its share of the effective area. The file's
total force is then fitted by one factor (least squares over every frame): the
effective area of the insole pair, so that force = sum(kPa x ``sensor_area``)
reproduces the file's ``total force`` (within its 1 N rounding on the example
exports) and the area-weighted centroid of the sensor centres its COP. The size in
mm is an estimate: length and width from that area with the shape of a pedar insole
(area = 0.756 x length x width, width = 0.322 x length); outlines are squares of each
sensor's effective area. Because the areas are fitted, not published, the attr
``force_variable = "force_reported"`` tells force-based analysis to use the file's
total force.

Truncation: the header states the duration; a file whose last sample lies more than
half a sample period before it, or whose last row has fewer cells, is refused.
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

ENCODING = "utf-8"
#: Pressure sensors per Moticon OpenGo insole.
N_SENSORS = 16
#: 1 N/cm² in kPa.
KPA_PER_N_CM2 = 10.0
#: Estimated insole shape (from novel pedar's layout): area = FILL x length x width, width = ASPECT x length.
FILL, ASPECT = 0.756, 0.322
#: Gap between the two insoles in the trial frame, as a fraction of the insole length.
GAP = 0.2
#: Plausible total force of one insole in N (the export's own range is 0 .. a few kN).
FORCE_LIMITS_N = (0.0, 100_000.0)
#: Plausible centre of pressure in insole units (the export's range is -0.5 .. +0.5).
COP_LIMIT = 1.0
#: Vendor step codes -> (side, event): 1 heel strike, 2 toe off.
STEP_CODES = {11: ("left", 1), 15: ("left", 2), 21: ("right", 1), 25: ("right", 2)}
_COLUMN = re.compile(r"^(left|right) (.*?)\s*\[(.*)\]$")


def sniff(head):
    r"""Tell whether the first bytes of a file are a Moticon OpenGo text export.

    Parameters
    ----------
    head : bytes
        The first bytes of the file (up to 4096).

    Returns
    -------
    is_moticon : bool
        True if it starts with ``# Start time:`` (or ``# Start timestamp:``).

    Examples
    --------
    >>> from plantar.io import moticon
    >>> moticon.sniff(b"# Start time: 27.09.2023 10:21:14.922\n# Duration: 00:17.496\n"
    ...               b"# Sensor insoles: Left SN5968, Right SN9171\n")
    True
    >>> moticon.sniff(b"time;left pressure 1\n")
    False
    """
    return head.lstrip(b"\xef\xbb\xbf").startswith(b"# Start time")


@functools.lru_cache(maxsize=1)
def sensor_layout():
    r"""The derived Moticon OpenGo sensor layout (insole units, area shares).

    Returns
    -------
    layout : pandas.DataFrame
        One row per sensor 1..16: ``x_insole`` (heel -0.5 .. toe +0.5),
        ``y_insole`` (lateral -0.5 .. medial +0.5), ``area_share`` (sums to 1).

    Examples
    --------
    >>> from plantar.io.moticon import sensor_layout
    >>> layout = sensor_layout()
    >>> len(layout), round(float(layout.area_share.sum()), 2)
    (16, 1.0)
    """
    text = (resources.files("plantar.io") / "data" / "moticon_opengo_sensors.csv").read_text()
    layout = pd.read_csv(io.StringIO(text), index_col="sensor")
    layout["area_share"] /= layout["area_share"].sum()  # the table's shares are rounded to 4 decimals
    return layout


def read(path):
    r"""Read a Moticon OpenGo text export into a trial of irregular sensors.

    Use :func:`plantar.read`, which calls this and checks the result.

    Parameters
    ----------
    path : pathlib.Path
        The file.

    Returns
    -------
    trial : xarray.Dataset
        Pressure in kPa per sensor (dims ``(time, sensor)``) of the insoles in
        the file, with the file's force, COP, IMU and events per side.

    Raises
    ------
    plantar.io.FileFormatError
        If the file breaks the grammar or is cut short; the message names the
        file, the line and the field.

    Examples
    --------
    Two samples of a left insole, 1 N/cm² on every sensor:

    >>> import pathlib, tempfile
    >>> import plantar
    >>> names = "\t".join(["time"] + [f"left pressure {k}[N/cm²]" for k in range(1, 17)]
    ...                   + ["left total force[N]"])
    >>> rows = ["0.00\t" + "\t".join(["1.00"] * 16) + "\t200.00", "0.01\t" + "\t".join(["1.00"] * 16) + "\t200.00"]
    >>> text = "\n".join(["# Start time: 27.09.2023 10:21:14.922", "# Duration: 00:00.010",
    ...                   "# Sensor insoles: Left SN1", "# Size: 7", f"# {names}", *rows, ""])
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "walk.txt"
    >>> _ = path.write_text(text, encoding="utf-8")
    >>> trial = plantar.read(path)
    >>> float(trial.pressure[0, 0]), float(trial.force_reported_left[0])
    (10.0, 200.0)
    >>> round(float((trial.pressure * trial.sensor_area).sum("sensor")[0]) / 1000, 3)  # N, the fitted areas
    200.0
    """
    raw = path.read_bytes()
    try:
        text = raw.decode(ENCODING).lstrip("\ufeff")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise parse_error(path, line, "text", "not UTF-8") from None
    lines = text.split("\n")
    header, names_line = _read_header(path, lines)
    names = header["names"]
    sep = header["sep"]
    first = names_line + 1
    n_rows = len(lines) - first
    if lines[-1] == "":
        n_rows -= 1
    if n_rows <= 0:
        raise parse_error(path, first + 1, "samples", "no data rows after the column names")
    body = lines[first : first + n_rows]
    columns = _classify(path, names_line + 1, names)
    _check_cell_counts(path, body, first, sep, len(names))
    decimal = "," if sep == ";" and any("," in row for row in body[:50]) else "."
    label_cols = [k for k, c in enumerate(columns) if c[0] == "label"]
    try:
        frame = pd.read_csv(
            io.StringIO("\n".join(body)),
            sep=sep,
            header=None,
            names=range(len(names)),
            dtype={k: (str if k in label_cols else np.float64) for k in range(len(names))},
            decimal=decimal,
            engine="c",
            skip_blank_lines=False,
            keep_default_na=False,
            na_values=[""],
        )
    except ValueError:
        _raise_bad_cell(path, body, first, sep, columns, decimal)
    values = {k: frame[k].to_numpy() for k in range(len(names)) if k not in label_cols}
    for k, v in values.items():
        if np.isinf(v).any():
            row = int(np.argmax(np.isinf(v)))
            raise parse_error(path, first + row + 1, f"column '{names[k]}'", "not a finite number")
    time = values[0]
    if np.isnan(time).any():
        row = int(np.argmax(np.isnan(time)))
        raise parse_error(path, first + row + 1, "column 'time'", "empty cell")
    steps = np.diff(time)
    if np.any(steps <= 0):
        row = int(np.argmax(steps <= 0)) + 1
        raise parse_error(path, first + row + 1, "column 'time'", f"{time[row]:g} s does not follow {time[row - 1]:g} s")
    rate = 1.0 / float(np.median(steps)) if steps.size else 100.0
    check_plausible(path, first + 2, "column 'time'", rate, "rate")
    if header["duration_s"] is not None and time[-1] < header["duration_s"] - 0.5 / rate:
        raise parse_error(
            path,
            first + n_rows,
            "samples",
            f"the last sample is at {time[-1]:g} s but the header states a duration of {header['duration_s']:g} s: "
            "the file is cut short",
        )
    sides = [s for s in ("left", "right") if any(c[0] == "pressure" and c[1] == s for c in columns)]
    if not sides:
        raise parse_error(path, names_line + 1, "column names", "no 'left pressure' or 'right pressure' columns")
    per_side, pressure_blocks = {}, []
    for side in sides:
        per_side[side] = _side_values(path, first, names, columns, values, side)
        pressure_blocks.append(per_side[side]["pressure"])
    pressure = np.concatenate(pressure_blocks, axis=1) * KPA_PER_N_CM2
    bad = implausible_pressure(pressure)
    if bad is not None:
        row, col = bad
        raise parse_error(path, first + row + 1, f"{sides[col // N_SENSORS]} pressure {col % N_SENSORS + 1}",
                          f"{pressure[row, col] / KPA_PER_N_CM2:g} N/cm² is not a pressure")
    layout = sensor_layout()
    share = layout["area_share"].to_numpy()
    total_area, fitted = _fit_total_area(per_side, share, header["size"])
    length = float(np.sqrt(total_area / (FILL * ASPECT)))
    width = ASPECT * length
    centres = {"left": 0.5 * width, "right": 1.5 * width + GAP * length}

    def to_trial_x(side, y_insole):
        medial = 1.0 if side == "left" else -1.0  # the medial sides face each other
        return centres[side] + medial * width * y_insole

    def to_trial_y(x_insole):
        return (x_insole + 0.5) * length

    area = share * total_area
    half = 0.5 * np.sqrt(area)
    square_x, square_y = np.array([-1.0, 1.0, 1.0, -1.0]), np.array([-1.0, -1.0, 1.0, 1.0])
    sx, sy, ox, oy, side_of, number = [], [], [], [], [], []
    for side in sides:
        cx = to_trial_x(side, layout["y_insole"].to_numpy())
        cy = to_trial_y(layout["x_insole"].to_numpy())
        sx.append(cx)
        sy.append(cy)
        ox.append(cx[:, None] + half[:, None] * square_x)
        oy.append(cy[:, None] + half[:, None] * square_y)
        side_of += [side] * N_SENSORS
        number.append(np.arange(1, N_SENSORS + 1))
    how = "fitted to the file's total force" if fitted else f"not fittable (no loaded sample): a size-{header['size']} estimate"
    trial = make_sensor_trial(
        pressure,
        sensor_number=np.concatenate(number),
        sensor_side=np.array(side_of),
        sensor_x_mm=np.concatenate(sx),
        sensor_y_mm=np.concatenate(sy),
        sensor_area_mm2=np.tile(area, len(sides)),
        outline_x_mm=np.concatenate(ox),
        outline_y_mm=np.concatenate(oy),
        rate_hz=rate,
        time_s=time - time[0],
        device=f"Moticon OpenGo (insole size {header['size']})" if header["size"] else "Moticon OpenGo",
        source_format="Moticon OpenGo text export" + (" (.csv, semicolons)" if sep == ";" else " (.txt)"),
        source_file=path.name,
        start_time=header["start"],
        start_time_text=header["start_text"],
        duration_text=header["duration_text"],
        insole_size=header["size_text"],
        serial_numbers=header["serials"],
        recording_type=header["recording_type"],
        recording_name=header["name"],
        notes=header["notes"],
        tag=header["tag"],
        first_frame_time_s=float(time[0]),
        side_split_x_mm=float(0.5 * (centres["left"] + centres["right"])),
        force_variable="force_reported",
        insole_length_mm=length,
        insole_width_mm=width,
        sensor_geometry=(
            "Moticon OpenGo, positions not published: sensor centres derived from the vendor's COP (insole units), "
            f"scaled to an estimated insole {length:.0f} mm x {width:.0f} mm; outlines unknown, drawn as squares "
            "of each sensor's effective area"
        ),
        sensor_area_source=(
            "not published: effective areas (including the gaps between sensors) derived from the vendor's total "
            f"force; each insole's total effective area {total_area:.0f} mm2 {how}"
        ),
        **({"side": sides[0]} if len(sides) == 1 else {}),
    )
    for side in sides:
        v = per_side[side]
        _add(trial, f"force_reported_{side}", v["force"], "N", f"total force of the {side} insole stated in the file")
        if v["cop"] is not None:
            cop_x, cop_y = v["cop"]
            _add(trial, f"cop_x_reported_{side}", to_trial_x(side, cop_y), "mm",
                 f"centre of pressure x of the {side} insole stated in the file (trial frame, estimated insole size)")
            _add(trial, f"cop_y_reported_{side}", to_trial_y(cop_x), "mm",
                 f"centre of pressure y of the {side} insole stated in the file (trial frame, estimated insole size)")
            _add(trial, f"cop_vendor_x_{side}", cop_x, "1",
                 f"centre of pressure X of the {side} insole stated in the file (insole units, heel -0.5 to toe +0.5)")
            _add(trial, f"cop_vendor_y_{side}", cop_y, "1",
                 f"centre of pressure Y of the {side} insole stated in the file (insole units, lateral -0.5 to medial +0.5)")
        for key, units, what in (("acc", "g", "acceleration"), ("ang", "deg/s", "angular velocity")):
            for axis, series in zip("xyz", v[key] or ()):
                _add(trial, f"{key}_{axis}_{side}", series, units, f"{what} {axis.upper()} of the {side} insole's IMU")
        if v["cop_velocity"] is not None:
            _add(trial, f"cop_velocity_reported_{side}", v["cop_velocity"], "1",
                 f"COP velocity of the {side} insole stated in the file (vendor's units)")
    _add_step_events(path, first, trial, names, columns, values, sides)
    _add_user_events(path, trial, names, columns, frame, values)
    return trial


def _add(trial, name, values, units, long_name):
    trial[name] = ("time", np.asarray(values), {"units": units, "long_name": long_name})


def _read_header(path, lines):
    fields, names_line = {}, None
    for i, line in enumerate(lines):
        body = line[1:] if line.startswith("#") else line  # the names' line may come without '#'
        body = body.strip().rstrip("\r")
        if body.startswith("time") and ("\t" in body or ";" in body):
            names_line = i
            break
        if not line.startswith("#"):
            break
        key, _, value = body.partition(":")
        fields[key.strip()] = (value.strip(), i + 1)
    if names_line is None:
        raise parse_error(path, len(fields) + 1, "'# time' line of column names", "missing")
    names_text = lines[names_line].lstrip("#").strip().rstrip("\r")
    sep = "\t" if "\t" in names_text else ";"
    names = [n.strip() for n in names_text.split(sep)]
    start, start_text = "", ""
    if "Start time" in fields:
        start_text, line_no = fields["Start time"]
        try:
            start = datetime.datetime.strptime(start_text, "%d.%m.%Y %H:%M:%S.%f").isoformat()
        except ValueError:
            raise parse_error(path, line_no, "header field 'Start time'", f"{start_text!r} is not dd.mm.yyyy hh:mm:ss.fff") from None
    duration_s, duration_text = None, ""
    if "Duration" in fields:
        duration_text, line_no = fields["Duration"]
        found = re.fullmatch(r"(?:(\d+):)?(\d+):(\d+(?:\.\d*)?)", duration_text)
        if found is None:
            raise parse_error(path, line_no, "header field 'Duration'", f"{duration_text!r} is not [hh:]mm:ss.fff")
        hours = int(found.group(1) or 0)
        duration_s = 3600 * hours + 60 * int(found.group(2)) + float(found.group(3))
    size = 0
    if "Size" in fields:
        value, line_no = fields["Size"]
        if value:
            if not value.isdigit() or not 0 < int(value) < 100:
                raise parse_error(path, line_no, "header field 'Size'", f"{value!r} is not an insole size")
            size = int(value)
    size_text = str(size) if size else ""

    def text(key):
        return fields.get(key, ("", 0))[0]

    return {
        "names": names,
        "sep": sep,
        "start": start,
        "start_text": start_text,
        "duration_s": duration_s,
        "duration_text": duration_text,
        "size": size,
        "size_text": size_text,
        "serials": text("Sensor insoles"),
        "recording_type": text("Recording type"),
        "name": text("Name"),
        "notes": text("Notes"),
        "tag": text("Tag"),
    }, names_line


def _classify(path, line, names):
    """Per column: ('time',), ('pressure', side, k), ('acc'|'ang', side, axis), ('force', side),
    ('cop', side, axis), ('steps', side), ('cop_velocity', side), ('label', group),
    ('event', group) or ('other', name)."""
    if names[0] != "time":
        raise parse_error(path, line, "column 1", f"{names[0]!r}: expected 'time'")
    out = [("time",)]
    seen = set()
    for k, name in enumerate(names[1:], start=1):
        if name.endswith(" label[]") and k + 1 < len(names) and names[k + 1] == name[: -len(" label[]")] + "[]":
            out.append(("label", name[: -len(" label[]")]))
            continue
        if out[-1][0] == "label" and name == out[-1][1] + "[]":
            out.append(("event", out[-1][1]))
            continue
        found = _COLUMN.match(name)
        kind = ("other", name)
        if found:
            side, what, units = found.groups()
            number = re.fullmatch(r"pressure (\d+)", what)
            axis = re.fullmatch(r"(acceleration|angular|center of pressure) ([XYZ])", what)
            if number and units in ("N/cm²", "N/cm2"):
                kind = ("pressure", side, int(number.group(1)))
            elif axis:
                key = {"acceleration": "acc", "angular": "ang", "center of pressure": "cop"}[axis.group(1)]
                kind = (key, side, axis.group(2))
            elif what == "total force" and units == "N":
                kind = ("force", side)
            elif what == "steps":
                kind = ("steps", side)
            elif what == "COP velocity":
                kind = ("cop_velocity", side)
        if kind in seen:
            raise parse_error(path, line, f"column {k + 1}", f"{name!r} appears twice")
        seen.add(kind)
        out.append(kind)
    return out


def _check_cell_counts(path, body, first, sep, n_cols):
    """Every row must have as many cells as there are column names (counted with numpy)."""
    joined = ("\n".join(body) + "\n").encode(ENCODING)
    buf = np.frombuffer(joined, np.uint8)
    newlines = np.flatnonzero(buf == 10)
    seps = np.concatenate([[0], np.cumsum(buf == ord(sep))])[newlines]
    per_line = np.diff(seps, prepend=0)
    wrong = np.flatnonzero(per_line != n_cols - 1)
    if wrong.size:
        k = int(wrong[0])
        last = " (the last row: the file is cut short)" if k == len(body) - 1 else ""
        raise parse_error(path, first + k + 1, "row", f"{int(per_line[k]) + 1} cells, expected {n_cols}{last}")


def _raise_bad_cell(path, body, first, sep, columns, decimal):
    for i, row in enumerate(body):
        for k, cell in enumerate(row.rstrip("\r").split(sep)):
            if columns[k][0] == "label" or not cell.strip():
                continue
            try:
                float(cell.replace(",", ".") if decimal == "," else cell)
            except ValueError:
                raise parse_error(path, first + i + 1, f"column {k + 1}", f"{cell.strip()!r} is not a number") from None
    raise parse_error(path, first + 1, "rows", "cannot be read as numbers")


def _side_values(path, first, names, columns, values, side):
    """One insole's columns; a sample without data (all the side's core cells empty) is NaN."""
    index = {c: k for k, c in enumerate(columns) if len(c) > 1 and c[0] not in ("label", "event", "other") and c[1] == side}
    numbers = sorted(c[2] for c in index if c[0] == "pressure")
    if numbers != list(range(1, N_SENSORS + 1)):
        raise parse_error(path, first, f"'{side} pressure' columns",
                          f"sensors {numbers}: expected 1 .. {N_SENSORS} (Moticon OpenGo)")
    if ("force", side) not in index:
        raise parse_error(path, first, f"column '{side} total force[N]'", "missing")
    core = [k for c, k in index.items() if c[0] in ("pressure", "acc", "ang", "force", "cop")]
    empty = np.stack([np.isnan(values[k]) for k in core], axis=1)
    partial = empty.any(axis=1) & ~empty.all(axis=1)
    if partial.any():
        row = int(np.argmax(partial))
        k = core[int(np.argmax(empty[row]))]
        raise parse_error(path, first + row + 1, f"column '{names[k]}'", "empty cell while the insole's other cells hold a sample")
    pressure = np.stack([values[index[("pressure", side, n)]] for n in range(1, N_SENSORS + 1)], axis=1)
    force = values[index[("force", side)]]
    low, high = FORCE_LIMITS_N
    with np.errstate(invalid="ignore"):
        checks = [(index[("force", side)], (force < low) | (force > high), f"a force outside {low:g} .. {high:g} N")]
        checks += [(index[("cop", side, a)], np.abs(values[index[("cop", side, a)]]) > COP_LIMIT,
                    f"a centre of pressure outside -{COP_LIMIT:g} .. {COP_LIMIT:g} insole units")
                   for a in "XY" if ("cop", side, a) in index]
    for k, bad, what in checks:
        if bad.any():
            row = int(np.argmax(bad))
            raise parse_error(path, first + row + 1, f"column '{names[k]}'", f"{values[k][row]:g} is {what}")

    def triple(key):
        cols = [index.get((key, side, a)) for a in "XYZ"]
        return [values[k] for k in cols] if all(k is not None for k in cols) else None

    cop = [index.get(("cop", side, a)) for a in "XY"]
    return {
        "pressure": pressure,
        "force": force,
        "cop": (values[cop[0]], values[cop[1]]) if None not in cop else None,
        "acc": triple("acc"),
        "ang": triple("ang"),
        "cop_velocity": values[index[("cop_velocity", side)]] if ("cop_velocity", side) in index else None,
    }


def _fit_total_area(per_side, share, size):
    """Effective area of one insole (mm²) whose shares reproduce the file's total force; (area, fitted)."""
    model, force = [], []
    for v in per_side.values():
        ok = np.isfinite(v["force"]) & np.isfinite(v["pressure"]).all(axis=1)
        model.append((v["pressure"][ok] * KPA_PER_N_CM2) @ share / 1000.0)  # N per mm² of total area
        force.append(v["force"][ok])
    model, force = np.concatenate(model), np.concatenate(force)
    denominator = float(model @ model)
    if denominator > 0:
        return float(model @ force) / denominator, True
    # no loaded sample: the effective area scales about linearly with the size (20 480 mm² at size 7, 14 400 at 3)
    return 14_400.0 + (max(size, 1) - 3) * 1_520.0, False


def _add_step_events(path, first, trial, names, columns, values, sides):
    for k, c in enumerate(columns):
        if c[0] != "steps":
            continue
        codes = values[k]
        given = np.isfinite(codes)
        known = np.isin(codes, list(STEP_CODES))
        wrong = given & ~known
        if wrong.any():
            row = int(np.argmax(wrong))
            raise parse_error(path, first + row + 1, f"column '{names[k]}'",
                              f"{codes[row]:g} is not a step code ({', '.join(str(c) for c in STEP_CODES)})")
        for side in ("left", "right"):
            event = np.zeros(codes.size, np.int8)
            for code, (code_side, value) in STEP_CODES.items():
                if code_side == side:
                    event[codes == code] = value
            if event.any() or side == c[1]:
                name = f"step_event_{side}"
                if name in trial:
                    event = np.maximum(event, trial[name].values)
                trial[name] = ("time", event, {
                    "units": "1",
                    "long_name": f"step events of the {side} foot stated in the file (1 heel strike, 2 toe off, 0 none)",
                })


def _add_user_events(path, trial, names, columns, frame, values):
    for k, c in enumerate(columns):
        if c[0] != "label":
            continue
        labels = frame[k].fillna("").astype(str).to_numpy()
        event_values = values[k + 1]
        marked = labels != ""
        value = np.where(marked, np.nan_to_num(event_values, nan=1.0), 0.0).astype(np.int16)
        slug = re.sub(r"[^0-9a-z]+", "_", c[1].lower()).strip("_") or "events"
        trial[f"event_{slug}"] = ("time", value, {
            "units": "1",
            "long_name": f"events '{c[1]}' set in the vendor's software (their value, 0 none)",
            "event_labels": ", ".join(sorted(set(labels[marked]))),
        })


FORMAT = FileFormat(
    name="moticon",
    description="Moticon OpenGo text export",
    extensions=(".txt", ".csv"),
    sniff=sniff,
    reader=read,
    name_fallback=False,
)
