"""Step 5: the calibration file, ``*.pmcal.nc`` (NetCDF-4 through h5netcdf)."""

import os
from pathlib import Path

import numpy as np
import xarray as xr

from ..io.netcdf import _storable
from ..utils._files import write_bytes
from ._common import ARRAY_ATTRS, _check_raw, _check_same_mat, _content_id, check_calibration

#: The file name ending of calibration files.
SUFFIX = ".pmcal.nc"


def save(cal, path, *, overwrite=False):
    """Write a calibration to a NetCDF-4 file (``*.pmcal.nc``), atomically.

    The file is written under a temporary name and moved into place only when
    complete; an existing file is never replaced unless ``overwrite``.

    Parameters
    ----------
    cal : xarray.Dataset
        A calibration (schema ``pmcal/1``).
    path : str | pathlib.Path
        Output file; its name should end in ``.pmcal.nc``.
    overwrite : bool
        Replace an existing file.

    Raises
    ------
    ValueError
        If ``cal`` is not a valid calibration, or its ``calibration_id`` does
        not match its content (it was edited after it was made).
    FileExistsError
        If ``path`` exists and ``overwrite`` is False.

    See Also
    --------
    load

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> import plantar
    >>> from plantar import calibration
    >>> rest = plantar.make_counts(np.zeros((100, 4, 4), np.uint16), pitch_mm=10.0, rate_hz=50.0)
    >>> path = Path(tempfile.mkdtemp()) / "mat.pmcal.nc"
    >>> calibration.save(calibration.tare(rest), path)
    >>> path.exists()
    True
    """
    check_calibration(cal)
    if cal.attrs["calibration_id"] != _content_id(cal):
        raise ValueError(
            "cal was changed after it was made (its calibration_id no longer matches its content): "
            "rebuild it with tare / equilibrate / fit instead of editing it"
        )
    path = Path(path)
    out = cal.copy(deep=False)
    out.attrs = _storable(out.attrs)
    encoding = {name: {"_FillValue": None} for name in out.variables}
    # Built in memory, then written through a temporary file (HDF5 never meets a full disk).
    write_bytes(path, out.to_netcdf(engine="h5netcdf", encoding=encoding), overwrite=overwrite)


def load(path, *, raw=None):
    """Read a calibration file; optionally check that it belongs to a recording's mat.

    Parameters
    ----------
    path : str | pathlib.Path
        A file written by :func:`save`.
    raw : xarray.Dataset | None
        A raw recording (schema ``counts/1``); if given, a calibration of
        another mat (device, shape or pitch differ) is refused.

    Returns
    -------
    cal : xarray.Dataset
        The calibration, loaded into memory, identical to what was saved.

    Raises
    ------
    ValueError
        If the file is not a calibration, its content does not match its
        ``calibration_id`` (corrupted or edited), or it is for another mat than ``raw``.

    See Also
    --------
    save, apply

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> import plantar
    >>> from plantar import calibration
    >>> rest = plantar.make_counts(np.zeros((100, 4, 4), np.uint16), pitch_mm=10.0, rate_hz=50.0)
    >>> cal = calibration.tare(rest)
    >>> path = Path(tempfile.mkdtemp()) / "mat.pmcal.nc"
    >>> calibration.save(cal, path)
    >>> calibration.load(path, raw=rest).identical(cal)
    True
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no calibration file '{path}'")
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        cal = ds.load()
    for var in cal.variables.values():
        var.encoding = {}
    for key in ARRAY_ATTRS:
        if key in cal.attrs:
            cal.attrs[key] = np.atleast_1d(np.asarray(cal.attrs[key], dtype=np.float64))
    try:
        check_calibration(cal)
    except ValueError as exc:
        raise ValueError(f"'{path}' is not a plantar calibration file: {exc}") from None
    if cal.attrs["calibration_id"] != _content_id(cal):
        raise ValueError(
            f"'{path}' does not match its calibration_id {cal.attrs['calibration_id']!r}: "
            "the file was edited or is corrupt; do not use it"
        )
    if raw is not None:
        _check_raw(raw)
        _check_same_mat(raw, cal)
    return cal
