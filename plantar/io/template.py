"""Published mean peak-pressure images (templates), such as MUN104, as reference maps.

A template is not a recording: it is the mean peak-pressure image of a group of
people's feet, published as a result (MUN104: 104 subjects, left and right;
Pataky et al. 2011, Gait Posture 33:418). It has no time, no steps and no sensor
of its own, so :func:`plantar.read` refuses it; :func:`read_template` gives it
the shape of the aligned mean maps of :func:`plantar.geometry.aligned_peak_maps`
(a ``mean_peak_pressure_map`` per side on ``along_mm`` x ``across_mm``), to
show beside a cohort's maps or to register a study's maps to.

The file: comma-separated integers, one image row per line, no header, row 0 at
the heel end, columns from the foot's left to its right seen from above (the
hallux at high columns in the left foot's image, at low ones in the right
foot's). Either one CSV (its side from the name's last letter, ``L`` or ``R``,
or given) or a zip of the two.
"""

import io
import zipfile
from pathlib import Path

import numpy as np
import xarray as xr

from ._dispatch import FileFormatError

#: The pixel size assumed when the template does not state it, mm (MUN104's 63 x 27 image spans a foot of
#: about 270 mm at 5 mm; the authors' pedobarographs were 5 mm sensors).
DEFAULT_PITCH_MM = 5.0
_SIDES = {"L": "left", "R": "right"}


def read_template(path, *, pitch_mm=DEFAULT_PITCH_MM, side=None):
    """Read a published mean peak-pressure image (a template such as MUN104).

    Parameters
    ----------
    path : str | os.PathLike
        One CSV of the image (its side from the name's last letter, ``L`` or
        ``R``, unless ``side`` is given) or a zip holding a left and a right
        CSV.
    pitch_mm : float
        Pixel size in mm (the file does not state it): the ``along_mm`` and
        ``across_mm`` spacing.
    side : {"left", "right"} | None
        The side of a single CSV whose name does not end in L or R.

    Returns
    -------
    template : xarray.Dataset
        ``mean_peak_pressure_map`` (side, along_mm, across_mm), float32, in the
        file's values (units stated nowhere; attr ``units`` "kPa", as the
        image's range suggests, and ``units_stated`` "no"); ``along_mm`` from
        the image's heel-end row (0) toward the toes, ``across_mm`` from its
        middle column, + to the foot's right seen from above. Attrs
        ``source_file``, ``pitch_mm`` and ``frame``.

    Raises
    ------
    plantar.io.FileFormatError
        If the file is not such an image: a cell that is not a number >= 0, rows
        of different lengths, two images of different shapes, a zip without a
        left and a right CSV, or a CSV whose side is unknown (one line, naming
        the file and where).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from plantar.io import read_template
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "TEMPLATEL.csv").write_text("0,0,0\\n0,120,40\\n0,300,0\\n")
    >>> template = read_template(folder / "TEMPLATEL.csv")
    >>> template.mean_peak_pressure_map.sel(side="left").values.max()
    np.float32(300.0)
    >>> template.along_mm.values.tolist(), template.across_mm.values.tolist()
    ([0.0, 5.0, 10.0], [-5.0, 0.0, 5.0])
    """
    path = Path(path)
    if not (isinstance(pitch_mm, (int, float)) and np.isfinite(pitch_mm) and pitch_mm > 0):
        raise ValueError(f"pitch_mm must be a positive number of mm, got {pitch_mm!r}")
    if side not in (None, "left", "right"):
        raise ValueError(f"side must be 'left', 'right' or None, got {side!r}")
    if not path.is_file():
        raise FileNotFoundError(f"no such file: '{path}'")
    images = {}
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                letter = Path(name).stem[-1:].upper()
                if Path(name).suffix.lower() == ".csv" and letter in _SIDES:
                    images[_SIDES[letter]] = _image(archive.read(name), f"{path}:{name}")
        if set(images) != {"left", "right"}:
            raise FileFormatError(f"cannot read '{path}' as a template: the zip holds no left and right CSV "
                                  f"(names ending in L.csv and R.csv), found {sorted(archive.namelist())}")  # fmt: skip
    else:
        letter = path.stem[-1:].upper()
        which = side or _SIDES.get(letter)
        if which is None:
            raise FileFormatError(f"cannot read '{path}' as a template: its side is not in its name (ending in L "
                                  "or R); give side='left' or 'right'")  # fmt: skip
        images[which] = _image(path.read_bytes(), str(path))
    sides = [s for s in ("left", "right") if s in images]
    shapes = {images[s].shape for s in sides}
    if len(shapes) > 1:
        raise FileFormatError(f"cannot read '{path}' as a template: the left and right images differ in shape "
                              f"({images['left'].shape[0]} x {images['left'].shape[1]} and "
                              f"{images['right'].shape[0]} x {images['right'].shape[1]})")  # fmt: skip
    rows, cols = shapes.pop()
    pitch = float(pitch_mm)
    along = np.arange(rows) * pitch
    across = (np.arange(cols) - (cols - 1) / 2) * pitch
    mm = {"units": "mm"}
    return xr.Dataset(
        {"mean_peak_pressure_map": (("side", "along_mm", "across_mm"), np.stack([images[s] for s in sides]), {
            "units": "kPa", "units_stated": "no", "long_name": "mean peak pressure of the template's feet",
            "definition": "the published image's values, as given"})},
        coords={"side": ("side", sides),
                "along_mm": ("along_mm", along, {**mm, "long_name": "along the image from its heel-end row"}),
                "across_mm": ("across_mm", across, {**mm, "long_name": "across the image from its middle, + to the "
                                                          "foot's right seen from above"})},
        attrs={"source_file": str(path), "pitch_mm": pitch, "source_format": "template",
               "frame": "the image's own: row 0 at the heel end, columns from the foot's left to its right seen "
                        "from above; pixel size assumed (not stated by the file)"},
    )  # fmt: skip


def _image(data, where):
    """One image from a CSV's bytes: float32 (rows, cols), every cell a number >= 0."""
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise FileFormatError(f"cannot read '{where}' as a template: it is not a text CSV of numbers") from None
    lines = [line for line in text.splitlines() if line.strip()]
    widths = {len(line.split(",")) for line in lines}
    if not lines or len(widths) != 1:
        bad = next((k for k, line in enumerate(lines, 1) if len(line.split(",")) != len(lines[0].split(","))), 1)
        raise FileFormatError(f"cannot read '{where}' as a template: line {bad} has not as many cells as line 1")
    try:
        image = np.loadtxt(io.StringIO("\n".join(lines)), delimiter=",", dtype=np.float64, ndmin=2)
    except ValueError as exc:
        raise FileFormatError(f"cannot read '{where}' as a template: {str(exc).splitlines()[0]}") from None
    bad = ~np.isfinite(image) | (image < 0)
    if bad.any():
        row, col = (int(v) for v in np.argwhere(bad)[0])
        raise FileFormatError(f"cannot read '{where}' as a template: line {row + 1}, column {col + 1} is "
                              f"{image[row, col]:g}, not a pressure >= 0")  # fmt: skip
    return image.astype(np.float32)


__all__ = ["DEFAULT_PITCH_MM", "read_template"]
