"""Shared docstring parameter text, filled in with :func:`fill_doc`.

A docstring line that holds only ``%(name)s`` is replaced by ``docdict[name]``,
indented to match. Write each shared parameter once here.
"""

import re

docdict = {}

docdict["trial"] = """\
trial : xarray.Dataset
    A trial (schema ``trial/1``): variable ``pressure`` in kPa with dims
    ``(time, y, x)``, coordinates ``time`` in s and ``y``, ``x`` in mm in the mat
    frame. See :func:`plantar.make_trial`."""

docdict["dataset_trial_or_counts"] = """\
ds : xarray.Dataset
    A trial in kPa (schema ``trial/1``) or a raw recording in counts
    (schema ``counts/1``)."""

docdict["pitch_mm"] = """\
pitch_mm : float | tuple of float
    Sensor pitch (centre-to-centre distance) in mm: one number for square
    sensors, or ``(x, y)`` when columns and rows differ (footscan plates are
    5.08 x 7.62 mm)."""

docdict["rate_hz"] = """\
rate_hz : float
    Nominal frame rate in Hz, stored as ``sampling_rate_hz``."""

docdict["time_s"] = """\
time_s : array_like of float | None
    Frame times in s, strictly increasing and starting at 0. ``None`` (default)
    spaces the frames evenly at ``1 / rate_hz``."""

docdict["origin_mm"] = """\
origin_mm : tuple of float
    ``(x, y)`` position in mm, in the mat frame, of the centre of element
    ``[0, 0]`` of the array: ``(0, 0)`` for a whole mat, the window's offset for
    a window cut from a larger plate."""

docdict["trial_attrs"] = """\
**attrs
    Trial attributes: ``device``, ``source_format``, ``source_file``,
    ``start_time`` (ISO 8601), ``subject``, ``condition`` (e.g. ``"barefoot"``),
    ``body_mass_kg`` (0 = unknown), ``calibration_id``, and any further
    attribute of type str, int, float or 1-D numeric array (so NetCDF keeps it)."""

docdict["verbose"] = """\
verbose : bool | str | int | None
    Log level for this call only (``True`` = ``"info"``); ``None`` keeps the
    level set with :func:`plantar.set_log_level`."""

_PLACEHOLDER = re.compile(r"^(?P<indent>[ \t]*)%\((?P<key>\w+)\)s[ \t]*$", re.MULTILINE)


def fill_doc(func):
    """Fill ``%(name)s`` placeholder lines in a docstring from :data:`docdict`.

    Parameters
    ----------
    func : callable
        Function or class whose ``__doc__`` holds placeholders.

    Returns
    -------
    func : callable
        The same object, with its docstring filled in.

    Examples
    --------
    >>> from plantar.utils.docs import fill_doc
    >>> @fill_doc
    ... def f(trial):
    ...     '''Do something.
    ...
    ...     Parameters
    ...     ----------
    ...     %(trial)s
    ...     '''
    >>> "trial : xarray.Dataset" in f.__doc__
    True
    """
    doc = func.__doc__
    if not doc:
        return func

    def replace(match):
        key = match.group("key")
        if key not in docdict:
            raise KeyError(f"{func.__qualname__}: no shared docstring entry {key!r}")
        indent = match.group("indent")
        return "\n".join(indent + line if line else line for line in docdict[key].splitlines())

    func.__doc__ = _PLACEHOLDER.sub(replace, doc)
    return func
