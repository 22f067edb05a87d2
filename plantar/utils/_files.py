"""Writing output files safely: whole or not at all, never over a file by accident.

Every file plantar writes (trials, calibrations, CSV tables, the report) goes
through :func:`output_files`:

- each output is first written to a temporary file in its own folder (a dot-file,
  ``.NAME.RANDOM.tmp.EXT``), created with the permissions the user's umask allows;
- only when every output is complete (flushed and synced to disk) is each moved to
  its name; a failure (an exception, a full disk) removes the temporary files and
  leaves nothing new behind;
- without ``overwrite``, a name is claimed atomically (a hard link, which fails if
  the name exists), so of two writers racing for one name exactly one wins, and a
  file that appears while writing is never replaced;
- a full disk is reported as :class:`DiskFullError`, one line naming the file.

:func:`check_output` runs the same checks up front, so that a command fails before
its work, not after.
"""

import contextlib
import csv
import errno
import io
import os
import uuid
from pathlib import Path

#: errno values that mean "no room left" (a full disk or an exceeded quota).
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)
#: Text cells starting with one of these are formulas to a spreadsheet (OWASP's list).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class DiskFullError(OSError):
    """An output could not be written because its disk (or quota) is full.

    Nothing was left behind: no partial file, no temporary file. The message is
    one line naming the file; ``errno`` is ``errno.ENOSPC``.
    """

    def __init__(self, message):
        super().__init__(message)
        self.errno = errno.ENOSPC


def check_output(path, *, overwrite=False):
    """Check that ``path`` can be written, before doing the work that makes it.

    Parameters
    ----------
    path : str | os.PathLike
        The output file.
    overwrite : bool
        Whether an existing file may be replaced.

    Returns
    -------
    path : pathlib.Path
        The same path.

    Raises
    ------
    FileNotFoundError
        If the folder does not exist.
    PermissionError
        If the folder is not writable.
    IsADirectoryError
        If ``path`` is a folder.
    FileExistsError
        If ``path`` exists and ``overwrite`` is False.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from plantar.utils._files import check_output
    >>> check_output(Path(tempfile.mkdtemp()) / "steps.csv").name
    'steps.csv'
    >>> check_output("/no/such/folder/steps.csv")
    Traceback (most recent call last):
    ...
    FileNotFoundError: cannot write '/no/such/folder/steps.csv': folder '/no/such/folder' does not exist
    """
    path = Path(os.fspath(path))
    folder = path.parent
    if not folder.is_dir():
        raise FileNotFoundError(f"cannot write '{path}': folder '{folder}' does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot write '{path}': folder '{folder}' is not writable")
    if path.is_dir():
        raise IsADirectoryError(f"cannot write '{path}': it is a folder")
    if not overwrite and (path.exists() or path.is_symlink()):
        raise FileExistsError(f"'{path}' exists; pass overwrite=True (--overwrite) to replace it")
    return path


@contextlib.contextmanager
def output_files(*paths, overwrite=False, size_bytes=None):
    """Write one or more files through temporary files moved into place together.

    Parameters
    ----------
    *paths : str | os.PathLike
        The output files.
    overwrite : bool
        Replace existing files. Otherwise an existing file (also one that appears
        while writing) is an error and none of ``paths`` is written.
    size_bytes : int | None
        The total size about to be written, if known: refused up front (nothing
        written) if the disk has less free space.

    Yields
    ------
    temporary : list of pathlib.Path
        One empty temporary file per path, in the same folder, to write to.

    Raises
    ------
    DiskFullError
        If the disk is (or becomes) full; nothing is left behind.
    FileExistsError
        If a path exists and ``overwrite`` is False; files already moved into
        place by this call are removed again.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from plantar.utils._files import output_files
    >>> out = Path(tempfile.mkdtemp()) / "a.txt"
    >>> with output_files(out) as (tmp,):
    ...     _ = tmp.write_text("hello")
    >>> out.read_text()
    'hello'
    >>> with output_files(out) as (tmp,):
    ...     _ = tmp.write_text("again")
    Traceback (most recent call last):
    ...
    FileExistsError: ... exists; pass overwrite=True (--overwrite) to replace it
    """
    paths = [check_output(path, overwrite=overwrite) for path in paths]
    if size_bytes is not None:
        for folder in dict.fromkeys(p.parent for p in paths):
            _check_free_space(folder, size_bytes, paths[0])
    temporary, moved = [], []
    current = paths[0]
    try:
        for path in paths:
            current = path
            temporary.append(_create_temporary(path))
        yield temporary
        for tmp, path in zip(temporary, paths):
            current = path
            _sync(tmp)
        for tmp, path in zip(temporary, paths):
            current = path
            if overwrite:
                os.replace(tmp, path)
            else:
                inode = os.stat(tmp).st_ino
                _link(tmp, path)
                moved.append((path, inode))
        for folder in dict.fromkeys(p.parent for p in paths):
            _sync_folder(folder)
    except BaseException as exc:
        for path, inode in moved:  # names claimed for an incomplete set: give them back
            with contextlib.suppress(OSError):
                if os.stat(path).st_ino == inode:
                    os.unlink(path)
        if _is_disk_full(exc):
            raise DiskFullError(f"disk full writing '{current}': nothing was written") from exc
        raise
    finally:
        for tmp in temporary:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


def write_bytes(path, data, *, overwrite=False):
    """Write ``data`` to ``path`` through a temporary file (see :func:`output_files`).

    Parameters
    ----------
    path : str | os.PathLike
        The output file.
    data : bytes-like
        The whole content.
    overwrite : bool
        Replace an existing file.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from plantar.utils._files import write_bytes
    >>> out = Path(tempfile.mkdtemp()) / "a.bin"
    >>> write_bytes(out, b"abc")
    >>> out.read_bytes()
    b'abc'
    """
    data = memoryview(data)
    with output_files(path, overwrite=overwrite, size_bytes=data.nbytes) as (tmp,):
        with open(tmp, "wb") as f:
            f.write(data)


def write_text(path, text, *, overwrite=False):
    """Write ``text`` (UTF-8) to ``path`` through a temporary file (see :func:`output_files`).

    Parameters
    ----------
    path : str | os.PathLike
        The output file.
    text : str
        The whole content.
    overwrite : bool
        Replace an existing file.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from plantar.utils._files import write_text
    >>> out = Path(tempfile.mkdtemp()) / "a.json"
    >>> write_text(out, "{}")
    >>> out.read_text()
    '{}'
    """
    write_bytes(path, text.encode("utf-8"), overwrite=overwrite)


def csv_text(frame):
    """A table as CSV text in which no text cell is a spreadsheet formula.

    A text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
    return is prefixed with a single quote, so that spreadsheets show it as text
    (the OWASP rule against CSV injection). Numbers, negative ones included, are
    written as numbers. Lines end in CR LF (RFC 4180), so that a cell holding a
    line break of either kind is quoted.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table; written without its index.

    Returns
    -------
    text : str
        The CSV.

    Examples
    --------
    >>> import pandas as pd
    >>> from plantar.utils._files import csv_text
    >>> csv_text(pd.DataFrame({"label": ["=1+1", "-x", "ok"], "value": [-1.5, 2.0, 3.0]})).splitlines()
    ['label,value', "'=1+1,-1.5", "'-x,2.0", 'ok,3.0']
    """
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    frame = frame.copy()
    for column in frame.columns:
        if not (is_numeric_dtype(frame[column]) or is_bool_dtype(frame[column])):  # text, or mixed
            frame[column] = _text_cells(frame[column])
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    return buffer.getvalue()


def write_csv(frame, path, *, overwrite=False):
    """Write a table as CSV (see :func:`csv_text`) through a temporary file.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table; written without its index.
    path : str | os.PathLike
        The output file.
    overwrite : bool
        Replace an existing file.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import pandas as pd
    >>> from plantar.utils._files import write_csv
    >>> out = Path(tempfile.mkdtemp()) / "t.csv"
    >>> write_csv(pd.DataFrame({"a": ["@SUM(A1)"]}), out)
    >>> out.read_bytes()
    b"a\\r\\n'@SUM(A1)\\r\\n"
    """
    write_text(path, csv_text(frame), overwrite=overwrite)


def _text_cells(column):
    """A column with its text cells that start like a formula prefixed by a quote (:func:`_text_cell` of each).

    Each distinct text is tested once (a report's columns repeat a few names over many rows); a text never
    equals a number, so grouping equal values changes no other cell.
    """
    import pandas as pd

    try:
        codes, uniques = pd.factorize(column)
    except TypeError:  # unhashable cells: one by one
        return column.map(_text_cell)
    formulas = [i for i, value in enumerate(uniques) if isinstance(value, str) and value.startswith(FORMULA_PREFIXES)]
    if not formulas:
        return column
    cells = column.to_numpy(dtype=object, copy=True)
    for i in formulas:
        cells[codes == i] = "'" + uniques[i]
    return pd.Series(cells, index=column.index, name=column.name)


def _text_cell(value):
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _temporary_name(path):
    return path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.tmp{path.suffix}")


def _create_temporary(path):
    """A new empty file beside ``path``; mode 0666 less the umask, as open() would give."""
    while True:
        tmp = _temporary_name(path)
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return tmp
        except FileExistsError:
            continue


def _link(tmp, path):
    """Give ``tmp`` the name ``path`` unless that name exists, atomically."""
    try:
        os.link(tmp, path)  # fails if path exists, even if it appeared a moment ago
        return
    except FileExistsError:
        raise FileExistsError(f"'{path}' exists; pass overwrite=True (--overwrite) to replace it") from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
    # A file system without hard links: claim the name with an exclusive create, then fill it.
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except FileExistsError:
        raise FileExistsError(f"'{path}' exists; pass overwrite=True (--overwrite) to replace it") from None
    os.replace(tmp, path)


def _sync(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_folder(folder):
    with contextlib.suppress(OSError):  # not every file system lets a folder be synced
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _check_free_space(folder, size_bytes, path):
    try:
        stat = os.statvfs(folder)
    except (OSError, AttributeError):  # no statvfs (Windows) or no answer: the write itself will tell
        return
    free = stat.f_bavail * stat.f_frsize
    if size_bytes > free:
        raise DiskFullError(
            f"disk full writing '{path}': {_megabytes(size_bytes)} needed, {_megabytes(free)} free; "
            "nothing was written"
        )


def _megabytes(size):
    return f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.1f} kB"


def _is_disk_full(exc):
    """True if ``exc`` (or what caused it) is a full disk, as Python or HDF5 reports it."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, DiskFullError):
            return False  # already explained
        if isinstance(exc, OSError) and exc.errno in _NO_SPACE:
            return True
        if "No space left on device" in str(exc) or "errno = 28" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False
