"""Helpers shared by the vendor readers: error messages, building the trial, fast cell parsing.

Every vendor reader raises :class:`FileFormatError` through :func:`parse_error`, so
that a message always names the file, the line (1-based, as a text editor counts)
and the field. :func:`parse_table` turns lines of delimited numbers into floats
with numpy alone (no Python loop over cells), and reports the first cell that is
not a number.
"""

import numpy as np

from .._schema import MAX_PRESSURE_KPA, PITCH_LIMITS_MM, RATE_LIMITS_HZ, make_trial
from ._dispatch import FileFormatError

#: 1 psi in kPa (NIST SP 811: 6.894757 kPa).
KPA_PER_PSI = 6.894757
#: 1 mmHg in kPa (NIST SP 811: 0.1333224 kPa).
KPA_PER_MMHG = 0.1333224

_COMMA, _NEWLINE = 44, 10
_ZERO, _DOT, _B = 48, 46, 66


def parse_error(path, line, field, problem):
    r"""A :class:`FileFormatError` naming the file, the line and the field.

    Parameters
    ----------
    path : pathlib.Path
        The file.
    line : int | None
        1-based line number (for a spreadsheet, the 1-based row); ``None`` when
        the problem concerns the file as a whole.
    field : str
        What was being read, e.g. ``"header field 'ROWS'"``.
    problem : str
        What is wrong, e.g. ``"missing"``.

    Returns
    -------
    error : FileFormatError
        To be raised by the caller.

    Examples
    --------
    >>> from pathlib import Path
    >>> from plantar.io._vendor import parse_error
    >>> str(parse_error(Path("walk.asf"), 9, "header field 'ROWS'", "missing"))
    "cannot read 'walk.asf': line 9: header field 'ROWS': missing"
    """
    where = f"line {line}: " if line is not None else ""
    return FileFormatError(f"cannot read '{path}': {where}{field}: {problem}")


def check_plausible(path, line, field, value, kind):
    r"""Refuse a rate or a sensor pitch outside what any pressure system uses.

    The limits are those of :func:`plantar.check_trial` (``RATE_LIMITS_HZ``,
    ``PITCH_LIMITS_MM``); checking them where the file states the value names
    the line and the field.

    Parameters
    ----------
    path : pathlib.Path
        The file.
    line : int | None
        1-based line (or spreadsheet row) stating the value.
    field : str
        The field, e.g. ``"header field 'SECONDS_PER_FRAME'"``.
    value : float
        The frame rate in Hz (``kind="rate"``) or a pitch in mm (``kind="pitch"``).
    kind : {"rate", "pitch"}
        What ``value`` is.

    Raises
    ------
    FileFormatError
        If ``value`` is not finite or lies outside the limits.

    Examples
    --------
    >>> from pathlib import Path
    >>> from plantar.io._vendor import check_plausible
    >>> check_plausible(Path("walk.asf"), 14, "header field 'SECONDS_PER_FRAME'", 100.0, "rate")
    >>> check_plausible(Path("walk.asf"), 14, "header field 'SECONDS_PER_FRAME'", 1e300, "rate")
    Traceback (most recent call last):
    ...
    plantar.io._dispatch.FileFormatError: cannot read 'walk.asf': line 14: header field 'SECONDS_PER_FRAME': a frame rate of 1e+300 Hz is implausible (plantar reads 1 .. 20000 Hz)
    """
    (low, high), unit, what = {
        "rate": (RATE_LIMITS_HZ, "Hz", "a frame rate"),
        "pitch": (PITCH_LIMITS_MM, "mm", "a sensor pitch"),
    }[kind]
    if not (np.isfinite(value) and low <= value <= high):
        raise parse_error(
            path, line, field, f"{what} of {value:g} {unit} is implausible (plantar reads {low:g} .. {high:g} {unit})"
        )


def implausible_pressure(pressure_kpa):
    r"""Index of the first pressure that is negative, not finite or above the limit, or None.

    NaN (no sensor) is allowed. The limit is that of :func:`plantar.check_trial`
    (``MAX_PRESSURE_KPA``, 100 MPa).

    Parameters
    ----------
    pressure_kpa : numpy.ndarray
        Pressure in kPa, any shape.

    Returns
    -------
    index : tuple of int | None
        The index (as ``numpy.unravel_index`` gives it) of the first bad value.

    Examples
    --------
    >>> import numpy as np
    >>> from plantar.io._vendor import implausible_pressure
    >>> implausible_pressure(np.array([[0.0, np.nan], [3.4e38, 12.0]]))
    (1, 0)
    >>> implausible_pressure(np.array([0.0, 250.0])) is None
    True
    """
    values = np.asarray(pressure_kpa)
    with np.errstate(invalid="ignore"):
        bad = (values < 0) | np.isinf(values) | (values >= MAX_PRESSURE_KPA)
    if not bad.any():
        return None
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(bad)), values.shape))


def find_byte(buf, value, start=0):
    r"""Offsets of every byte equal to ``value`` in ``buf[start:]`` (as offsets in ``buf``).

    Works in 4 MB blocks: one comparison over a whole 100 MB file costs several
    times more, in page faults on the temporary mask.

    Parameters
    ----------
    buf : numpy.ndarray of uint8
        The text.
    value : int
        The byte value to find (e.g. ``10`` for a newline).
    start : int
        Offset in ``buf`` to search from.

    Returns
    -------
    offsets : numpy.ndarray of int64
        Offsets in ``buf``, in increasing order.

    Examples
    --------
    >>> import numpy as np
    >>> from plantar.io._vendor import find_byte
    >>> find_byte(np.frombuffer(b"a\nbc\nd\n", np.uint8), ord("\n"))
    array([1, 4, 6])
    """
    found = [np.flatnonzero(buf[i : i + _BLOCK_BYTES] == value) + i for i in range(start, buf.size, _BLOCK_BYTES)]
    return np.concatenate(found) if found else np.zeros(0, np.int64)


def parse_table(buf, starts, stops, *, n_cols, out, separator=_COMMA):
    r"""Parse lines of ``n_cols`` numbers from byte ranges of a text, with numpy.

    The ranges ``buf[starts[i]:stops[i]]`` hold whole lines, each ended by a
    newline; cells are split by ``separator``. A cell is ``digits``,
    ``digits.digits``, ``.digits`` or ``digits.``, or the single letter ``B``
    (Tekscan's "no sensel here"), which becomes NaN. A number's value is its
    digits read as an integer divided by a power of ten: the correctly rounded
    float that ``float()`` gives too.

    The ranges are taken in blocks of about 4 MB (so that the work stays in the
    processor's cache and no large temporary arrays are made); within a block
    the cells are grouped by length, and each group is decoded at once as a
    (cells x characters) array of digits. No Python loop runs over cells.

    Parameters
    ----------
    buf : numpy.ndarray of uint8
        The text.
    starts, stops : numpy.ndarray of int
        Byte ranges holding the lines to read, in order.
    n_cols : int
        Cells expected on every line.
    out : numpy.ndarray of float32
        Receives the values, line after line; its size must be the number of
        lines times ``n_cols``.
    separator : int
        Byte value between cells.

    Returns
    -------
    problem : tuple of (int, str) | None
        ``None`` if every line held ``n_cols`` numbers; otherwise the byte offset
        in ``buf`` of the first wrong cell (or of the start of the first line with
        a wrong cell count) and what is wrong with it.

    Examples
    --------
    >>> import numpy as np
    >>> from plantar.io._vendor import parse_table
    >>> text = np.frombuffer(b"B,12,0.5\n7,.25,300\n", np.uint8)
    >>> out = np.empty(6, np.float32)
    >>> parse_table(text, [0], [text.size], n_cols=3, out=out) is None
    True
    >>> out.tolist()
    [nan, 12.0, 0.5, 7.0, 0.25, 300.0]
    >>> parse_table(np.frombuffer(b"1,x2,3\n", np.uint8), [0], [7], n_cols=3, out=np.empty(3, np.float32))
    (2, "'x2' is not a number")
    """
    starts = np.asarray(starts, np.int64)
    stops = np.asarray(stops, np.int64)
    sizes = stops - starts
    cumulative = np.concatenate([[0], np.cumsum(sizes)])
    # ranges [first[b], first[b + 1]) make block b
    first = np.unique(np.searchsorted(cumulative, np.arange(0, cumulative[-1], _BLOCK_BYTES), side="right") - 1)
    first = np.append(first, starts.size)
    n_done = 0
    for b0, b1 in zip(first[:-1].tolist(), first[1:].tolist()):
        if b1 - b0 == 1:
            piece = buf[starts[b0] : stops[b0]]
        else:
            piece = np.concatenate([buf[s:e] for s, e in zip(starts[b0:b1].tolist(), stops[b0:b1].tolist())])
        values, problem = _parse_block(piece, n_cols, separator)
        if problem is not None:
            at, what = problem
            r = b0 + int(np.searchsorted(cumulative[b0 + 1 : b1 + 1] - cumulative[b0], at, side="right"))
            return int(starts[r] + at - (cumulative[r] - cumulative[b0])), what
        if n_done + values.size > out.size:
            return int(starts[b0]), f"more cells than the {out.size} expected"
        out[n_done : n_done + values.size] = values
        n_done += values.size
    if n_done != out.size:
        return int(stops[-1]) if stops.size else 0, f"{n_done} cells where {out.size} were expected"
    return None


#: Bytes of text parsed at a time by :func:`parse_table`.
_BLOCK_BYTES = 1 << 22
#: Longest cell :func:`parse_table` reads (its digits stay exact in float64).
_MAX_CELL_CHARS = 15
_POW10 = 10.0 ** np.arange(_MAX_CELL_CHARS + 1)


def _parse_block(piece, n_cols, separator):
    """Values of the whole lines in ``piece``, or (offset in piece, problem)."""
    is_sep = piece == separator
    is_sep |= piece == _NEWLINE
    ends = np.flatnonzero(is_sep)
    line_ends = np.flatnonzero(piece[ends] == _NEWLINE)
    cells_per_line = np.diff(line_ends, prepend=-1)
    wrong = np.flatnonzero(cells_per_line != n_cols)
    if wrong.size:
        line = int(wrong[0])
        line_start = 0 if line == 0 else int(ends[line_ends[line - 1]]) + 1
        return None, (line_start, f"{int(cells_per_line[line])} cells, expected {n_cols}")
    lengths = np.empty(ends.size, np.int64)
    if ends.size:
        lengths[0] = ends[0]
        np.subtract(ends[1:], ends[:-1] + 1, out=lengths[1:])
    values = np.empty(ends.size, np.float64)
    bad = np.zeros(ends.size, bool)
    for length in np.flatnonzero(np.bincount(lengths)).tolist():
        idx = np.flatnonzero(lengths == length)
        if length == 0 or length > _MAX_CELL_CHARS:
            bad[idx] = True
            continue
        chars = piece[(ends[idx] - length)[:, None] + np.arange(length)]
        digits = chars - np.uint8(_ZERO)  # bytes below '0' wrap around to > 9
        all_digits = (digits <= 9).all(axis=1)
        values[idx] = digits.astype(np.float64) @ _POW10[length - 1 :: -1]
        odd = np.flatnonzero(~all_digits)
        if odd.size:
            values[idx[odd]], bad[idx[odd]] = _odd_cells(chars[odd], digits[odd])
    if bad.any():
        cell = int(np.argmax(bad))
        text = piece[int(ends[cell] - lengths[cell]) : int(ends[cell])].tobytes()
        what = "empty cell" if not text else f"{text.decode('latin-1')!r} is not a number"
        return None, (int(ends[cell] - lengths[cell]), what)
    return values, None


def _odd_cells(chars, digits):
    """Values of cells that are not all digits: one dot, or the letter B."""
    n, length = chars.shape
    is_dot = chars == _DOT
    is_digit = digits <= 9
    ok = (is_dot.sum(axis=1) == 1) & ((is_digit | is_dot).all(axis=1)) & (is_digit.sum(axis=1) > 0)
    dot_at = np.argmax(is_dot, axis=1)
    # digits left of the dot count one place higher than their column says
    place = (length - 1 - np.arange(length))[None, :] - (np.arange(length)[None, :] < dot_at[:, None])
    place = np.where(is_digit, place, 0)
    mantissa = np.where(is_digit, digits, 0).astype(np.float64) * _POW10[place]
    values = mantissa.sum(axis=1) / _POW10[length - 1 - dot_at]
    is_b = (length == 1) & (chars[:, 0] == _B)
    values[is_b] = np.nan
    return values, ~(ok | is_b)


def build_trial(path, pressure_yx, *, pitch_mm, rate_hz, time_s, origin_mm, per_frame, **attrs):
    """:func:`plantar.make_trial` plus the per-frame variables a file states.

    Parameters
    ----------
    path : pathlib.Path
        The file read; its name becomes the attr ``source_file``.
    pressure_yx : numpy.ndarray, shape (n_frames, n_rows, n_cols)
        Pressure in kPa, in (time, y, x) order, already in the mat frame.
    pitch_mm : float | tuple of float
        Sensor pitch in mm, one number or ``(x, y)``.
    rate_hz : float
        Nominal frame rate in Hz.
    time_s : numpy.ndarray of float
        Frame times in s, from 0.
    origin_mm : tuple of float
        ``(x, y)`` of the centre of element ``[0, 0]`` in mm.
    per_frame : dict
        Variable name -> ``(values, units, long_name)``, one value per frame.
    **attrs
        Trial attributes (``device``, ``source_format``, ``start_time``, ...).

    Returns
    -------
    trial : xarray.Dataset
        The trial, with every per-frame variable on the ``time`` dim.

    Examples
    --------
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from plantar.io._vendor import build_trial
    >>> trial = build_trial(Path("walk.asf"), np.zeros((2, 3, 3)), pitch_mm=5.0, rate_hz=100.0,
    ...                     time_s=np.array([0.0, 0.01]), origin_mm=(0.0, 0.0),
    ...                     per_frame={"force_reported": ([0.0, 1.5], "N", "total force stated in the file")})
    >>> trial.attrs["source_file"], trial.force_reported.attrs["units"]
    ('walk.asf', 'N')
    """
    trial = make_trial(
        pressure_yx,
        pitch_mm=pitch_mm,
        rate_hz=rate_hz,
        time_s=time_s,
        origin_mm=origin_mm,
        source_file=path.name,
        **attrs,
    )
    for name, (values, units, long_name) in per_frame.items():
        trial[name] = ("time", np.asarray(values), {"units": units, "long_name": long_name})
    return trial
