"""Step 5: the calibration file, ``*.pmcal.nc`` (NetCDF-4 through h5netcdf)."""

import os
from pathlib import Path

import h5py
import numpy as np
import xarray as xr

from ..io import FileFormatError
from ..io.netcdf import _HDF5_OFFSETS, HDF5_SIGNATURE, _storable
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


def load(path, *, raw=None, check_mat=True):
    """Read a calibration file; optionally check that it belongs to a recording's mat.

    Parameters
    ----------
    path : str | pathlib.Path
        A file written by :func:`save`.
    raw : xarray.Dataset | None
        A raw recording (schema ``counts/1``); if given, a calibration of
        another mat is refused: another device, shape or pitch, or (for mats
        that send no serial number) readings at rest that do not match the
        tare's (see :func:`apply`).
    check_mat : bool
        Compare ``raw``'s readings at rest with the tare's (the mat's
        fingerprint); False skips that comparison (device, shape and pitch
        are always checked).

    Returns
    -------
    cal : xarray.Dataset
        The calibration, loaded into memory, identical to what was saved.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    plantar.io.FileFormatError
        If the file is empty, not NetCDF-4, truncated or corrupt, not a
        calibration (the message names the missing or malformed variable or
        attribute), or its content does not match its ``calibration_id``
        (corrupted or edited). The message names the file, in one line.
    ValueError
        If it is for another mat than ``raw``.

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
    >>> _ = path.write_bytes(path.read_bytes()[:1000])     # truncated
    >>> try:
    ...     calibration.load(path)
    ... except plantar.io.FileFormatError as exc:
    ...     print(str(path) in str(exc), "truncated or corrupt" in str(exc))
    True True
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no calibration file '{path}'")
    cal = _read(path)
    if raw is not None:
        _check_raw(raw)
        try:
            _check_same_mat(raw, cal, check_fingerprint=check_mat)
        except ValueError as exc:
            raise ValueError(f"calibration '{path}' does not fit raw: {exc}") from None
    return cal


def _read(path):
    """The calibration in ``path``, checked; every failure a one-line FileFormatError naming the file."""
    with open(path, "rb") as f:
        head = f.read(4096)
    if not head:
        raise FileFormatError(f"cannot read calibration '{path}': the file is empty")
    if not _is_hdf5(head):
        raise FileFormatError(
            f"cannot read calibration '{path}': not a calibration file (no NetCDF-4/HDF5 signature)"
        )
    try:
        # Opened and its attrs read by h5py first: h5netcdf, failing there, leaves a half-made
        # object whose finaliser prints a traceback.
        with h5py.File(path, "r") as f:
            dict(f.attrs.items())
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            cal = ds.load()
    except Exception as exc:  # h5py and h5netcdf raise OSError, KeyError, RuntimeError, ValueError ...
        raise FileFormatError(
            f"cannot read calibration '{path}': the file is truncated or corrupt ({_first_line(exc)})"
        ) from None
    for var in cal.variables.values():
        var.encoding = {}
    for key in ARRAY_ATTRS:
        if key in cal.attrs:
            try:
                cal.attrs[key] = np.atleast_1d(np.asarray(cal.attrs[key], dtype=np.float64))
            except (TypeError, ValueError):
                raise FileFormatError(
                    f"'{path}' is not a plantar calibration file: attr {key!r} is not an array of numbers"
                ) from None
    try:
        check_calibration(cal)
        matches = cal.attrs["calibration_id"] == _content_id(cal)
    except Exception as exc:  # a corrupt attr can be of any type: name it, whatever fails
        raise FileFormatError(f"'{path}' is not a plantar calibration file: {_first_line(exc)}") from None
    if not matches:
        raise FileFormatError(
            f"'{path}' does not match its calibration_id {cal.attrs['calibration_id']!r}: "
            "the file was edited or is corrupt; do not use it"
        )
    return cal


def _is_hdf5(head):
    return any(head[i : i + 8] == HDF5_SIGNATURE for i in _HDF5_OFFSETS)


def _first_line(exc):
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
