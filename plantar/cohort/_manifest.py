"""Which files make a study: a manifest CSV, or one inferred from the files' names."""

import glob
import os
import re
from pathlib import Path

import pandas as pd

#: Columns of a manifest, in order; ``file``, ``subject`` and ``condition`` are required.
MANIFEST_COLUMNS = ["file", "subject", "condition", "visit", "trial", "body_mass_kg", "side"]
_REQUIRED = ("file", "subject", "condition")
_FIELD = re.compile(r"\{(\w+)\}")
_SIDES = ("", "left", "right")


def read_manifest(path):
    """Read a study's manifest: which file is which subject, condition, visit and trial.

    The manifest is a CSV file with a header. ``file`` (relative to the
    manifest's folder, or absolute), ``subject`` and ``condition`` are required;
    ``visit``, ``trial`` (default: the file's number among the files of its
    subject, condition and visit, from 1), ``body_mass_kg`` (kg; empty or 0 =
    take the file's own) and ``side`` (``left`` or ``right`` for a file that
    holds one foot only, such as one insole; empty = find out from the data)
    are optional. Other columns are ignored.

    Parameters
    ----------
    path : str | os.PathLike
        The manifest CSV.

    Returns
    -------
    manifest : pandas.DataFrame
        Columns :data:`MANIFEST_COLUMNS`, ``file`` as absolute paths (str),
        ``visit``, ``trial`` and ``side`` as str, ``body_mass_kg`` as float
        (NaN = not given).

    Raises
    ------
    ValueError
        If a required column is missing, a required cell is empty, a side is
        not ``left``/``right``, a body mass is not a number, a file is listed
        twice, or two files have the same subject, condition, visit, trial and
        side; the message names the manifest and the line.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from plantar.cohort import read_manifest
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "study.csv").write_text("file,subject,condition,trial\\n"
    ...                                       "s01_shod_1.nc,s01,shod,1\\ns01_shod_2.nc,s01,shod,2\\n")
    >>> manifest = read_manifest(folder / "study.csv")
    >>> manifest[["subject", "condition", "trial"]].values.tolist()
    [['s01', 'shod', '1'], ['s01', 'shod', '2']]
    >>> pathlib.Path(manifest.file[0]).name
    's01_shod_1.nc'
    """
    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ValueError(f"cannot read the manifest '{path}': {str(exc).splitlines()[0]}") from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = [c for c in _REQUIRED if c not in frame.columns]
    if missing:
        raise ValueError(f"manifest '{path}' has no column {', '.join(map(repr, missing))}; "
                         f"it needs {', '.join(_REQUIRED)} "
                         "(and may have visit, trial, body_mass_kg, side)")  # fmt: skip
    frame["file"] = [str(f) if Path(f).is_absolute() else str(path.parent / f) for f in frame["file"].str.strip()]
    return _checked(frame, f"manifest '{path}'", line_offset=2)


def manifest_from_pattern(source, pattern, *, exclude=None):
    """A manifest inferred from file names, e.g. ``"{subject}_{condition}_{trial}.asf"``.

    Each ``{field}`` of the pattern matches one part of a file's path relative
    to the folder, without ``/`` (fields: ``subject``, ``condition``, ``visit``,
    ``trial``, ``side``; any other name is matched and ignored); the rest must
    match literally. The pattern may hold folders, e.g.
    ``"{subject}/{condition}/trial{trial}.nc"``.

    Parameters
    ----------
    source : str | os.PathLike
        The study's folder (searched recursively), or a glob such as
        ``"data/*.asf"`` (then names are matched relative to the folder the
        glob starts in).
    pattern : str
        The file name pattern; it must hold ``{subject}`` and ``{condition}``.
    exclude : str | os.PathLike | None
        A folder whose files are left out (e.g. the output folder inside the
        study's folder).

    Returns
    -------
    manifest : pandas.DataFrame
        As :func:`read_manifest` returns, one row per matching file (sorted by
        path).
    unmatched : list of str
        The files found that do not match the pattern.

    Raises
    ------
    ValueError
        If the pattern lacks ``{subject}`` or ``{condition}`` or repeats a
        field, or the source holds no file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from plantar.cohort import manifest_from_pattern
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ("s01_barefoot_1.nc", "s01_shod_1.nc", "notes.txt"):
    ...     _ = (folder / name).write_text("")
    >>> manifest, unmatched = manifest_from_pattern(folder, "{subject}_{condition}_{trial}.nc")
    >>> manifest[["subject", "condition", "trial"]].values.tolist()
    [['s01', 'barefoot', '1'], ['s01', 'shod', '1']]
    >>> [pathlib.Path(f).name for f in unmatched]
    ['notes.txt']
    """
    fields = _FIELD.findall(pattern)
    if "subject" not in fields or "condition" not in fields:
        raise ValueError(f"pattern must hold {{subject}} and {{condition}}, got {pattern!r}")
    if len(set(fields)) != len(fields):
        raise ValueError(f"pattern must not repeat a field, got {pattern!r}")
    regex = re.compile(_pattern_regex(pattern))
    root, files = list_files(source)
    if exclude is not None:
        skip = Path(exclude).resolve()
        files = [f for f in files if skip not in Path(f).parents]
    rows, unmatched = [], []
    for file in files:
        match = regex.fullmatch(Path(file).relative_to(root).as_posix())
        if match is None:
            unmatched.append(file)
            continue
        row = {name: value for name, value in match.groupdict().items() if name in MANIFEST_COLUMNS}
        rows.append({"file": file, **row})
    frame = pd.DataFrame(rows, columns=list(dict.fromkeys(["file", *fields]))).fillna("")
    frame = frame[[c for c in frame.columns if c in MANIFEST_COLUMNS]]
    return _checked(frame, f"pattern {pattern!r}", line_offset=None), unmatched


def list_files(source):
    """The files of a folder (recursively, hidden ones left out) or of a glob: (root folder, sorted paths)."""
    text = os.fspath(source)
    if glob.has_magic(text):
        parts = Path(text).parts
        first = next(i for i, part in enumerate(parts) if glob.has_magic(part))
        root = Path(*parts[:first]) if first else Path(".")
        files = sorted(p for p in glob.glob(text, recursive=True) if Path(p).is_file())
        return root.resolve(), [str(Path(p).resolve()) for p in files]
    root = Path(text)
    if not root.is_dir():
        raise FileNotFoundError(f"study folder '{root}' does not exist (give a folder or a glob such as 'data/*.asf')")
    files = sorted(p for p in root.rglob("*") if p.is_file()
                   and not any(part.startswith(".") for part in p.relative_to(root).parts))  # fmt: skip
    return root.resolve(), [str(p.resolve()) for p in files]


def _pattern_regex(pattern):
    out, last = [], 0
    for match in _FIELD.finditer(pattern):
        out.append(re.escape(pattern[last : match.start()]))
        out.append(f"(?P<{match.group(1)}>[^/]+?)")
        last = match.end()
    out.append(re.escape(pattern[last:]))
    return "".join(out)


def _checked(frame, where, *, line_offset):
    """Fill the optional columns, check every row; ``line_offset``: CSV line of row 0 (None: no lines)."""
    frame = frame.copy()
    for column in MANIFEST_COLUMNS:
        if column not in frame.columns:
            frame[column] = ""
    frame = frame[MANIFEST_COLUMNS].reset_index(drop=True)
    for column in ("file", "subject", "condition", "visit", "trial", "side"):
        frame[column] = frame[column].astype(str).str.strip()

    def at(i):
        return f"{where}, line {i + line_offset}" if line_offset is not None else f"{where}, file '{frame.file[i]}'"

    for i in range(len(frame)):
        for column in _REQUIRED:
            if not frame.at[i, column]:
                raise ValueError(f"{at(i)}: {column} is empty")
        side = frame.at[i, "side"].lower()
        if side not in _SIDES:
            raise ValueError(f"{at(i)}: side must be left, right or empty, got {frame.at[i, 'side']!r}")
        frame.at[i, "side"] = side
    mass = pd.to_numeric(frame["body_mass_kg"].replace("", "nan"), errors="coerce")
    bad = mass.isna() & ~frame["body_mass_kg"].astype(str).str.strip().isin(["", "nan"])
    if bad.any():
        i = int(bad.idxmax())
        raise ValueError(f"{at(i)}: body_mass_kg must be a number of kg, got {frame.at[i, 'body_mass_kg']!r}")
    frame["body_mass_kg"] = mass.where(mass > 0).astype(float)
    repeated = frame["file"].duplicated()
    if repeated.any():
        i = int(repeated.idxmax())
        raise ValueError(f"{at(i)}: file '{frame.at[i, 'file']}' is listed twice")
    # Trials without a number: their order among the files of the same subject, condition and visit.
    order = frame.groupby(["subject", "condition", "visit"]).cumcount() + 1
    frame["trial"] = frame["trial"].where(frame["trial"] != "", order.astype(str))
    same = frame.duplicated(["subject", "condition", "visit", "trial", "side"])
    if same.any():
        i = int(same.idxmax())
        raise ValueError(f"{at(i)}: subject {frame.at[i, 'subject']!r}, condition {frame.at[i, 'condition']!r}, visit "
                         f"{frame.at[i, 'visit']!r}, trial {frame.at[i, 'trial']!r} and side {frame.at[i, 'side']!r} "
                         "are those of an earlier file; give each file its own trial (or side)")  # fmt: skip
    return frame
