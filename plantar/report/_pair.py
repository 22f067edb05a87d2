"""Two one-foot recordings (one file per insole, e.g. Tekscan F-Scan) as one condition with both feet."""

import re
from pathlib import Path

import numpy as np

from .._schema import make_trial

#: A file stem that ends in its side: ``FrasP01L``, ``walk_left``, ``s1-R``, ``trial 3 right``.
_SIDE_STEM = re.compile(r"^(?P<stem>.*?)(?:[ _\-.]?)(?P<side>left|right|l|r)$", re.IGNORECASE)


def file_side(trial):
    """The foot of a one-foot recording: its attr ``side``, else the end of its file name, else None.

    Parameters
    ----------
    trial : xarray.Dataset
        A trial or an analysis of one foot (e.g. one F-Scan insole file).

    Returns
    -------
    side : {"left", "right"} | None
        The foot, or None when neither the attr ``side`` nor a file name
        ending in L/R or left/right says it (or the trial holds both feet).

    Examples
    --------
    >>> import numpy as np, plantar
    >>> from plantar.report import file_side
    >>> trial = plantar.make_trial(np.zeros((2, 3, 2)), pitch_mm=5.0, rate_hz=50.0, source_file="FrasP01L.asf")
    >>> file_side(trial)
    'left'
    """
    side = str(trial.attrs.get("side", "") or "")
    if side in ("left", "right"):
        return side
    if "side_split_x_mm" in trial.attrs:
        return None
    match = _SIDE_STEM.match(Path(str(trial.attrs.get("source_file", "") or "")).stem)
    if match is None or not match.group("stem"):
        return None
    return "left" if match.group("side").lower().startswith("l") else "right"


def _stem(trial):
    match = _SIDE_STEM.match(Path(str(trial.attrs.get("source_file", "") or "")).stem)
    return match.group("stem").rstrip(" _-.").lower() if match else None


def can_pair(first, second):
    """True when two recordings are the two feet of one walk.

    They must be one foot each (left and right, by attr ``side`` or file
    name), in-shoe or one-foot recordings with the same frame rate and sensor
    pitch, recorded at the same time (``start_time``, to the second) and, when
    both names end in the side, with the same name before it.
    """
    sides = {file_side(first), file_side(second)}
    if sides != {"left", "right"}:
        return False
    for name in ("sampling_rate_hz", "sensor_pitch_x_mm", "sensor_pitch_y_mm"):
        if float(first.attrs.get(name, 0)) != float(second.attrs.get(name, 0)):
            return False
    start = (str(first.attrs.get("start_time", "")), str(second.attrs.get("start_time", "")))
    if not start[0] or start[0][:19] != start[1][:19]:
        return False
    stems = (_stem(first), _stem(second))
    return None in stems or stems[0] == stems[1]


def pair_feet(left, right, *, condition=None):
    """One trial with both feet from two one-foot recordings (one file per insole).

    The two insoles go side by side on one grid, as a two-insole file is read
    (:mod:`plantar.io.xsensor`): the left insole, one column of NaN (no
    sensor), then the right insole; the attr ``side_split_x_mm`` is the x of the
    NaN column, so the analysis gives each step its foot. Frames are matched by
    their time from the start of each recording (both start together: they were
    recorded at once); the longer recording is cut to the shorter.

    Parameters
    ----------
    left, right : xarray.Dataset
        Trials of the left and the right foot (``trial/1``), with the same frame
        rate and sensor pitch. Their order is checked against their side when
        it is known (:func:`file_side`).
    condition : str | None
        Condition of the result; default the left trial's.

    Returns
    -------
    trial : xarray.Dataset
        One trial of both feet. Its attrs are the left trial's, with
        ``source_file`` naming both files and per-foot attrs that differ (e.g.
        the calibration) kept as ``<name>_left`` and ``<name>_right``.

    Examples
    --------
    >>> import numpy as np, plantar
    >>> from plantar.report import pair_feet
    >>> frames = np.zeros((4, 6, 3))
    >>> left = plantar.make_trial(frames, pitch_mm=5.0, rate_hz=50.0, side="left", layout="insole")
    >>> right = plantar.make_trial(frames, pitch_mm=5.0, rate_hz=50.0, side="right", layout="insole")
    >>> both = pair_feet(left, right)
    >>> dict(both.sizes), both.attrs["side_split_x_mm"]
    ({'time': 4, 'y': 6, 'x': 7}, 15.0)
    """
    sides = (file_side(left), file_side(right))
    if sides == ("right", "left"):
        raise ValueError("pair_feet(left, right): the first trial is of the right foot and the second of the left")
    for name in ("sampling_rate_hz", "sensor_pitch_x_mm", "sensor_pitch_y_mm"):
        a, b = float(left.attrs[name]), float(right.attrs[name])
        if a != b:
            raise ValueError(f"the two feet must have the same {name} to be paired, got {a:g} and {b:g}")
    n = min(left.sizes["time"], right.sizes["time"])
    rows = max(left.sizes["y"], right.sizes["y"])
    pitch_x, pitch_y = float(left.attrs["sensor_pitch_x_mm"]), float(left.attrs["sensor_pitch_y_mm"])

    def grid(trial):
        values = trial["pressure"].values[:n]
        if values.shape[1] < rows:  # pad the shorter insole at its heel end (small y)
            pad = np.full((n, rows - values.shape[1], values.shape[2]), np.nan, np.float32)
            values = np.concatenate([pad, values], axis=1)
        return values

    a, b = grid(left), grid(right)
    gap = np.full((n, rows, 1), np.nan, np.float32)
    pressure = np.concatenate([a, gap, b], axis=2)
    attrs = {k: v for k, v in left.attrs.items() if k not in ("plantar_schema", "sampling_rate_hz",
                                                            "sensor_pitch_x_mm", "sensor_pitch_y_mm", "side")}  # fmt: skip
    for key in set(left.attrs) | set(right.attrs):
        if key in ("plantar_schema", "side", "source_file", "plantar_version"):
            continue
        va, vb = left.attrs.get(key), right.attrs.get(key)
        if va != vb and key not in ("sampling_rate_hz", "sensor_pitch_x_mm", "sensor_pitch_y_mm"):
            attrs.pop(key, None)
            if va not in (None, ""):
                attrs[f"{key}_left"] = va
            if vb not in (None, ""):
                attrs[f"{key}_right"] = vb
    from .._schema import TRIAL_ATTRS

    for key, (_, default) in TRIAL_ATTRS.items():  # a required attr that differed: say both
        if key not in attrs and default is not None and key not in ("plantar_schema",):
            va, vb = left.attrs.get(key, default), right.attrs.get(key, default)
            attrs[key] = va if va == vb else (f"{va} (left), {vb} (right)" if isinstance(va, str) else va)
    attrs["source_file"] = f"{left.attrs.get('source_file', '')} + {right.attrs.get('source_file', '')}".strip(" +")
    if condition is not None:
        attrs["condition"] = str(condition)
    attrs["side_split_x_mm"] = float(left.sizes["x"]) * pitch_x
    time_s = left["time"].values[:n] - float(left["time"].values[0])
    trial = make_trial(pressure, pitch_mm=(pitch_x, pitch_y), rate_hz=float(left.attrs["sampling_rate_hz"]),
                       time_s=time_s, **attrs)  # fmt: skip
    return trial
