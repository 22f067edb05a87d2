"""``read()`` and ``save()``: the one entry point for every file format.

Each format registers a :class:`FileFormat`: a name, the file name endings it
usually has, a ``sniff`` test on the first bytes of a file, and a reader that returns
a trial. :func:`read` picks the format from the content first and from the file name
ending second, so a renamed file still opens and a wrong ending does not mislead. The
name is only a fallback: a file whose content a format recognises goes to that format
whatever its ending (a pedar ``.asc`` is never handed to the pliance reader), and the
ending alone decides only when it is one format's and not a generic one (``.txt``);
otherwise the file is "not a format plantar knows".
"""

import dataclasses
import os
import re
from pathlib import Path
from typing import Callable

from .._schema import SCHEMA_COUNTS, SCHEMA_TRIAL, check_counts, check_trial
from ..utils import fill_doc, logger, verbose as _verbose

#: Bytes read from the start of a file for sniffing.
SNIFF_BYTES = 4096


class FileFormatError(ValueError):
    """A file is of an unknown format, truncated, corrupt or not a plantar trial.

    The message always names the file.
    """


@dataclasses.dataclass(frozen=True)
class FileFormat:
    """A file format that :func:`plantar.read` can open.

    Parameters
    ----------
    name : str
        Short name, as passed to ``plantar.read(path, format=name)``.
    description : str
        What the format is, for messages (e.g. ``"Tekscan ASCII movie"``).
    extensions : tuple of str
        File name endings the format usually has (lower case, with the dot).
    sniff : callable
        ``sniff(head: bytes) -> bool``: True if the first bytes of a file are this
        format's. Must not raise.
    reader : callable
        ``reader(path: pathlib.Path) -> xarray.Dataset``: the trial or raw recording.
    name_fallback : bool
        True (default) if a file whose content no format recognises is handed to
        this reader when its name ending is this format's alone (the reader then
        says what is wrong). False for a generic ending such as ``.txt``: a text
        file of no known format is then "not a format plantar knows".
    """

    name: str
    description: str
    extensions: tuple
    sniff: Callable[[bytes], bool]
    reader: Callable
    name_fallback: bool = True


_FORMATS = {}


def register_format(file_format):
    """Add a :class:`FileFormat` to those :func:`plantar.read` knows.

    Parameters
    ----------
    file_format : FileFormat
        The format; its name must not be taken yet.

    Examples
    --------
    >>> from plantar.io import known_formats
    >>> "netcdf" in known_formats()
    True
    """
    if file_format.name in _FORMATS:
        raise ValueError(f"a file format named {file_format.name!r} is already registered")
    _FORMATS[file_format.name] = file_format


def known_formats():
    """Return the formats :func:`plantar.read` knows, by name.

    Returns
    -------
    formats : dict of str to FileFormat
        A copy of the registry, in registration order.

    Examples
    --------
    >>> from plantar.io import known_formats
    >>> fmt = known_formats()["netcdf"]
    >>> fmt.extensions
    ('.nc',)
    """
    return dict(_FORMATS)


def _describe_formats():
    return ", ".join(f"{f.name} ({' '.join(f.extensions)})" for f in _FORMATS.values())


@fill_doc
@_verbose
def read(path, *, format=None, verbose=None):
    """Read a trial from a native NetCDF file or any supported vendor file.

    The format is recognised from the file's content, then from its name ending;
    pass ``format`` to force one. The whole file is read and checked before
    anything is returned: a truncated or corrupt file raises, it never gives a
    half-read trial.

    Parameters
    ----------
    path : str | os.PathLike
        The file.
    format : str | None
        Name of the format (see :func:`plantar.io.known_formats`); ``None``
        (default) recognises it.
    %(verbose)s

    Returns
    -------
    trial : xarray.Dataset
        A trial in kPa (schema ``trial/1``) or, for raw acquisition files, a raw
        recording in counts (schema ``counts/1``).

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    plantar.io.FileFormatError
        If the format is unknown, or the file is truncated, corrupt or not a
        plantar trial; the message names the file.

    See Also
    --------
    save

    Examples
    --------
    >>> import os, tempfile
    >>> import plantar
    >>> trial, truth = plantar.synth.walk(seed=1, passes=1)
    >>> path = os.path.join(tempfile.mkdtemp(), "walk.nc")
    >>> plantar.save(trial, path)
    >>> again = plantar.read(path)
    >>> again.identical(trial)
    True
    """
    path = Path(os.fspath(path))
    if not path.exists():
        raise FileNotFoundError(f"no such file: '{path}'")
    if path.is_dir():
        raise FileFormatError(f"cannot read '{path}': it is a directory, not a file")
    if path.stat().st_size == 0:
        raise FileFormatError(f"cannot read '{path}': the file is empty")
    if format is not None:
        if format not in _FORMATS:
            raise FileFormatError(
                f"cannot read '{path}': unknown format {format!r}; known formats: {_describe_formats()}"
            )
        file_format = _FORMATS[format]
    else:
        file_format = _recognise(path)
    logger.info("reading '%s' as %s", path, file_format.description)
    try:
        ds = file_format.reader(path)
    except (FileFormatError, FileNotFoundError):
        raise
    except Exception as exc:  # any reader failure must name the file
        raise FileFormatError(
            f"cannot read '{path}' as {file_format.description}: {_one_line(exc)}"
        ) from exc
    _check_result(ds, path)
    return ds


def _recognise(path):
    with open(path, "rb") as f:
        head = f.read(SNIFF_BYTES)
    for file_format in _FORMATS.values():
        if file_format.sniff(head):
            return file_format
    suffix = "".join(path.suffixes[-1:]).lower()
    claimed = [f for f in _FORMATS.values() if suffix in f.extensions]
    if len(claimed) == 1 and claimed[0].name_fallback:
        return claimed[0]  # its reader explains what is wrong with the content
    # no format, several (.csv, .asc) or a generic ending (.txt): the content is none of theirs
    hint = ""
    if head.startswith(b"PK") or re.fullmatch(rb"[0-9.,\s]+", head[:4096] or b"x"):
        hint = "; a published mean image (a template such as MUN104) reads with plantar.io.read_template"
    raise FileFormatError(
        f"cannot read '{path}': not a format plantar knows (known: {_describe_formats()}){hint}"
    )


def _check_result(ds, path):
    schema = ds.attrs.get("plantar_schema")
    check = {SCHEMA_TRIAL: check_trial, SCHEMA_COUNTS: check_counts}.get(schema)
    if check is None:
        raise FileFormatError(
            f"'{path}' is not a plantar trial: attr 'plantar_schema' is {schema!r}, "
            f"expected {SCHEMA_TRIAL!r} or {SCHEMA_COUNTS!r}"
        )
    try:
        check(ds)
    except ValueError as exc:
        raise FileFormatError(f"'{path}' is not a valid plantar trial: {exc}") from exc


def _one_line(exc):
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


@fill_doc
@_verbose
def save(ds, path, *, overwrite=False, verbose=None):
    """Save a trial or raw recording as a compressed NetCDF-4 file.

    The file is written to a temporary name next to ``path`` and renamed into
    place only when complete, so an interrupted save never leaves a partial file
    under ``path``. Values, coordinates and attributes round-trip exactly through
    :func:`read`. Pressure is stored in chunks of up to 64 frames x 32 x 32
    sensels, deflate-compressed; chunks holding only zeros are not written at
    all, so an empty walkway costs next to nothing on disk and to read back.
    Every variable carries checksums (HDF5's Fletcher-32 per chunk, and a CRC-32
    per variable and of the attributes): :func:`read` refuses a file in which
    any bit of a value, coordinate or attribute changed. The file is built in
    memory and the free space checked first, so a full disk gives
    :class:`~plantar.utils._files.DiskFullError` and leaves nothing behind. Any
    NetCDF-4 reader opens the file.

    Parameters
    ----------
    %(dataset_trial_or_counts)s
    path : str | os.PathLike
        Output file; its name must end in ``.nc``.
    overwrite : bool
        Replace an existing file. Default False: an existing recording is never
        replaced by accident.
    %(verbose)s

    Raises
    ------
    FileExistsError
        If ``path`` exists and ``overwrite`` is False.
    ValueError
        If ``ds`` is not a valid trial or raw recording, or ``path`` does not end
        in ``.nc``.

    See Also
    --------
    read

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import plantar
    >>> trial = plantar.make_trial(np.zeros((10, 8, 4)), pitch_mm=5.0, rate_hz=100.0)
    >>> path = os.path.join(tempfile.mkdtemp(), "empty.nc")
    >>> plantar.save(trial, path)
    >>> plantar.read(path).pressure.shape
    (10, 8, 4)
    """
    from . import netcdf

    path = Path(os.fspath(path))
    if path.suffix.lower() != ".nc":
        raise ValueError(f"plantar.save writes NetCDF: give a file name ending in .nc, got '{path}'")
    if path.exists() and not overwrite:
        raise FileExistsError(f"'{path}' exists; pass overwrite=True to replace it")
    schema = ds.attrs.get("plantar_schema") if hasattr(ds, "attrs") else None
    if schema == SCHEMA_COUNTS:
        check_counts(ds)
    else:
        check_trial(ds)
    netcdf.write(ds, path, overwrite=overwrite)
