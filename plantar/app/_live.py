"""The live view of a mat: its latest frame pooled for drawing, the centre-of-pressure trail and a force per foot.

:class:`LiveView` turns the frames a mat sends into what the page draws; it
works on each frame once, as it arrives (the pressure, its total and centre of
pressure are kept per frame), so a poll costs one pooled frame whatever the
mat's size. :func:`split_feet` is the live left/right split of one frame.
:func:`payload` packs the view for the page (the map as base64 uint16, the
trail, the forces and the status line) and :func:`add_live_route` serves it as
a read-only JSON route of the app's Flask server, which the page's script
(``assets/live.js``) fetches and draws on a canvas, always the newest frame.

The left/right split, live, of a walk
-------------------------------------
The loaded cells of the frame are grouped into footprints: cells closer than
``gap_mm`` across and ``gap_along_mm`` along the walk (Chebyshev distance,
by a maximum filter of that size) are one footprint, so toes go with their
forefoot and two feet, a step length apart along the walk, stay apart. The
walk's axis is the one the centre of pressure moved most along over the kept
frames (the mat's long axis when it hardly moved), its direction the way the
centre of pressure went over the latest ones. With two footprints or more, the
walking line runs midway across between the two heaviest, and each footprint
is left or right of it, facing the way of walking; with one, the line of the
last frame with two is used (at first, the middle of the mat across). This is
for walking: two feet standing side by side closer than ``gap_mm`` are one
footprint, on one side.
"""

import base64

import numpy as np

from ..calibration._common import STATUS
from ..viz._common import pool_max

#: Largest side of the live map in cells; bigger mats are pooled (maximum of each square block of sensels).
DISPLAY_CELLS = 64

#: Footprints closer than this across the walk are one (toes and forefoot), in mm.
GAP_ACROSS_MM = 40.0

#: Footprints closer than this along the walk are one (heel and forefoot of a high-arched foot), in mm.
GAP_ALONG_MM = 80.0

#: A footprint smaller than this (a few noisy sensels) never places the walking line, in mm^2.
MIN_FOOTPRINT_MM2 = 400.0

#: Frames of the trail whose movement gives the direction of walking (0.3 s at 100 frames/s).
DIRECTION_FRAMES = 30

#: The centre of pressure must move this far over the kept frames to tell the walk's axis, in mm.
MIN_TRAVEL_MM = 50.0


def split_feet(frame, *, axis, direction, line, pitch_mm, gap_mm=GAP_ACROSS_MM, gap_along_mm=GAP_ALONG_MM,
               min_footprint_mm2=MIN_FOOTPRINT_MM2):  # fmt: skip
    """Split one frame's load between the left and the right foot.

    Parameters
    ----------
    frame : numpy.ndarray
        One frame, 2-D ``(rows, cols)``, >= 0 (kPa or counts above the noise);
        cells above 0 are loaded.
    axis : {0, 1}
        The walk's axis: 0 along the rows (``y``), 1 along the columns (``x``).
    direction : {1, -1}
        Walking towards increasing (1) or decreasing (-1) index along ``axis``.
    line : float | None
        Position of the walking line across the walk, in sensels (a column
        index for ``axis=0``); used when one footprint is on the mat. None:
        the middle of the mat across.
    pitch_mm : tuple of float
        Sensel pitch ``(along y, along x)``, in mm.
    gap_mm, gap_along_mm : float
        Loaded cells closer than this across and along the walk are one
        footprint, in mm.
    min_footprint_mm2 : float
        Footprints smaller than this (noise) are given a side but never
        place the walking line, in mm^2.

    Returns
    -------
    left, right : float
        The sum of the frame over the cells of each foot (in the frame's
        unit; times the cell area: the force).
    line : float | None
        The walking line: midway across between the two heaviest footprints
        when there are two or more of at least ``min_footprint_mm2``, else
        ``line`` as given.

    Notes
    -----
    Left is left facing the way of walking, in the ``(x, y)`` axes of the
    mat: a foot is on the left when the cross product of the walking
    direction with its offset from the line is positive (walking towards
    increasing ``y``, the left foot is at smaller ``x``).

    Examples
    --------
    Two feet, walking towards increasing rows: the one at smaller columns is
    the left foot.

    >>> import numpy as np
    >>> from plantar.app._live import split_feet
    >>> frame = np.zeros((100, 40))
    >>> frame[10:30, 5:12] = 1.0      # the rear foot, at smaller x
    >>> frame[70:90, 25:32] = 2.0     # the front foot
    >>> split_feet(frame, axis=0, direction=1, line=None, pitch_mm=(5.0, 5.0))
    (140.0, 280.0, 18.0)
    >>> split_feet(frame, axis=0, direction=-1, line=None, pitch_mm=(5.0, 5.0))[:2]  # walking back
    (280.0, 140.0)

    One foot down and a noisy sensel: the walking line stays where it was.

    >>> frame[10:30, 5:12] = 0.0
    >>> frame[50, 2] = 3.0
    >>> split_feet(frame, axis=0, direction=1, line=18.0, pitch_mm=(5.0, 5.0))
    (3.0, 280.0, 18.0)
    """
    from scipy import ndimage

    frame = np.asarray(frame)
    loaded = frame > 0
    if not loaded.any():
        return 0.0, 0.0, line
    across = 1 - int(axis)
    size = [0, 0]
    size[axis] = 2 * int(np.ceil(gap_along_mm / pitch_mm[axis] / 2)) + 1
    size[across] = 2 * int(np.ceil(gap_mm / pitch_mm[across] / 2)) + 1
    grown = ndimage.maximum_filter(loaded, size=size, mode="constant", cval=False)
    labels, count = ndimage.label(grown, structure=np.ones((3, 3), bool))
    labels = np.where(loaded, labels, 0)
    index = np.arange(1, count + 1)
    weights = ndimage.sum_labels(frame, labels, index)
    position = np.arange(frame.shape[across], dtype=float)
    coords = np.broadcast_to(position[:, None] if across == 0 else position[None, :], frame.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        centre = ndimage.sum_labels(frame * coords, labels, index) / weights
    # facing the way of walking, left is where cross(direction, offset) > 0 in the mat's (x, y) axes
    sign = -int(direction) if axis == 0 else int(direction)
    area_mm2 = ndimage.sum_labels(loaded, labels, index) * (pitch_mm[0] * pitch_mm[1])
    feet = np.flatnonzero(area_mm2 >= min_footprint_mm2)
    if len(feet) >= 2:
        heaviest = feet[np.argsort(weights[feet])[::-1][:2]]
        line = float(centre[heaviest].mean())
    elif line is None:
        line = (frame.shape[across] - 1) / 2
    is_left = sign * (centre - line) > 0
    return float(weights[is_left].sum()), float(weights[~is_left].sum()), line


def walking_axis(trail_row, trail_col, shape, pitch_mm, *, frames=DIRECTION_FRAMES, min_travel_mm=MIN_TRAVEL_MM):
    """The walk's axis and direction from the centre-of-pressure trail.

    Parameters
    ----------
    trail_row, trail_col : numpy.ndarray
        Centre of pressure of the kept frames, oldest first, in sensels (NaN
        where a frame is empty).
    shape : tuple of int
        The mat's ``(rows, cols)``.
    pitch_mm : tuple of float
        Sensel pitch ``(along y, along x)``, in mm.
    frames : int
        The latest this many loaded frames give the direction.
    min_travel_mm : float
        Below this movement over the trail, the axis is the mat's longer
        side (rows on a square mat).

    Returns
    -------
    axis : {0, 1}
        0: along the rows (``y``); 1: along the columns (``x``).
    direction : {1, -1}
        Towards increasing or decreasing index along ``axis``: the way the
        centre of pressure moved over the latest frames; when it has not
        moved by a sensel (a foot just down, or nobody on the mat), away from
        the nearer end of the mat (a walk starts at one end).

    Examples
    --------
    >>> import numpy as np
    >>> from plantar.app._live import walking_axis
    >>> rows = np.linspace(300.0, 100.0, 50)           # moving up the rows
    >>> walking_axis(rows, np.full(50, 20.0), (400, 100), (5.0, 5.0))
    (0, -1)
    >>> walking_axis(np.full(50, 30.0), np.full(50, 120.0), (64, 128), (8.0, 8.0))  # toes still, at the far end
    (1, -1)
    """
    points = np.column_stack([np.asarray(trail_row, float), np.asarray(trail_col, float)])
    points = points[np.isfinite(points).all(axis=1)]
    travel = np.ptp(points * np.asarray(pitch_mm, float), axis=0) if len(points) else np.zeros(2)
    axis = int(np.argmax(travel)) if travel.max() >= min_travel_mm else (0 if shape[0] >= shape[1] else 1)
    recent = points[-int(frames) :, axis]
    moved = recent[-1] - recent[0] if len(recent) else 0.0
    if abs(moved) >= 1.0:
        return axis, int(np.sign(moved))
    return axis, (-1 if len(recent) and recent[-1] > (shape[axis] - 1) / 2 else 1)


class LiveView:
    """What the live view draws of a mat, from its frames as they arrive.

    Parameters
    ----------
    shape : tuple of int
        The mat's ``(rows, cols)``.
    pitch_mm : tuple of float
        Sensel pitch ``(along y, along x)``, in mm.
    calibration : xarray.Dataset | None
        The mat's calibration. With one, sensels it marks dead or hot read 0,
        the others count above their tare and the larger of 6 x their read
        noise and 1 % of their range (noise stays off the map), and with a
        load curve the frame is in kPa (the curve of
        :func:`plantar.calibration.apply`, without in-painting). Without one,
        the frames are the counts.
    adc_bits : int | None
        The mat's ADC resolution; without a calibration, a reading at
        ``2 ** adc_bits - 1`` is saturated.
    keep_frames : int
        Frames of the centre-of-pressure trail.
    cells : int
        Largest side of the map; bigger mats are pooled by the maximum of
        each square block of sensels.

    Examples
    --------
    >>> import numpy as np
    >>> from plantar.app._live import LiveView
    >>> view = LiveView((128, 32), pitch_mm=(5.0, 5.0))
    >>> frame = np.zeros((128, 32), np.uint16)
    >>> frame[40:50, 4:10] = 100
    >>> view.add(frame[None], keys=[1])
    >>> live = view.state()
    >>> live["map"].shape, live["pool"], live["peak"], live["unit"]
    ((64, 16), (2, 2), 100.0, 'counts')
    >>> live["force_left"], live["force_right"]    # 60 cells of 100 counts, left of the walk down the rows
    (6000.0, 0.0)
    """

    def __init__(self, shape, *, pitch_mm, calibration=None, adc_bits=None, keep_frames=100, cells=DISPLAY_CELLS):
        self.shape = tuple(int(n) for n in shape)
        self.pitch_mm = tuple(float(p) for p in pitch_mm)
        factor = -(-max(self.shape) // int(cells))  # square blocks: the map keeps the mat's shape
        self.pool = (factor, factor)
        self.keep_frames = int(keep_frames)
        cal = calibration
        self._good = self._floor = self._offset = self._gain = self._curve = None
        self._rail = None if adc_bits is None else np.full(self.shape, 2 ** int(adc_bits) - 1, np.float32)
        self.unit = "counts"
        if cal is not None:
            self._good = cal["status"].values == STATUS["ok"]
            self._floor = (cal["offset_counts"].values + np.maximum(
                6 * cal["noise_counts"].values, 0.01 * cal["saturation_counts"].values)).astype(np.float32)  # fmt: skip
            self._rail = cal["saturation_counts"].values.astype(np.float32)
            if cal.attrs.get("model", ""):
                from ..calibration._curve import _params

                self._offset = cal["offset_counts"].values.astype(np.float32)
                self._gain = cal["gain"].values.astype(np.float32)
                self._curve = (cal.attrs["model"], _params(cal))
                self.unit = "kPa"
        self._trail = np.full((0, 3), np.nan)  # per kept frame: total, row, col (sensels)
        self._keys = []
        self._frame = self._counts = None
        self._line = None
        self._state = None

    def values(self, counts):
        """Frames as the view shows them: kPa (or counts above the noise, or counts), float32.

        Parameters
        ----------
        counts : numpy.ndarray
            Frames ``(n, rows, cols)`` of counts.

        Returns
        -------
        frames : numpy.ndarray
            ``(n, rows, cols)`` float32, 0 on dead and hot sensels and below
            the noise floor.
        """
        frames = np.asarray(counts, dtype=np.float32)
        if self._good is None or self._good.shape != frames.shape[1:]:
            return frames.copy()
        above = (frames > self._floor) & self._good
        if self._curve is None:
            return np.where(above, frames - self._floor, 0.0).astype(np.float32)
        from ..calibration._curve import curve_kpa

        e = np.where(above, (frames - self._offset) * self._gain, 0.0).astype(np.float32)
        return curve_kpa(self._curve[0], self._curve[1], e).astype(np.float32, copy=False)

    def add(self, counts, *, keys):
        """Take new frames, oldest first.

        Parameters
        ----------
        counts : numpy.ndarray
            ``(n, rows, cols)`` counts.
        keys : sequence
            An id per frame (the latest is the map's ``seq``).
        """
        counts = np.asarray(counts)[-self.keep_frames :]
        keys = list(keys)[-self.keep_frames :]
        if not len(keys):
            return
        frames = self.values(counts)
        rows, cols = self.shape
        total = frames.sum(axis=(1, 2), dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            row = (frames.sum(axis=2) @ np.arange(rows)) / total
            col = (frames.sum(axis=1) @ np.arange(cols)) / total
        self._trail = np.concatenate([self._trail, np.column_stack([total, row, col])])[-self.keep_frames :]
        self._keys = (self._keys + keys)[-self.keep_frames :]
        self._frame, self._counts = frames[-1], counts[-1]

    def clear(self):
        """Forget the frames (a new mat)."""
        self._trail = np.full((0, 3), np.nan)
        self._keys = []
        self._frame = self._counts = None
        self._line = None
        self._state = None

    @property
    def seq(self):
        """The id of the latest frame, or None."""
        return self._keys[-1] if self._keys else None

    def state(self):
        """The view of the latest frame.

        Returns
        -------
        live : dict
            ``map`` (2-D float array, the latest frame pooled by the maximum
            of each ``pool`` block, or None before the first frame), ``pool``
            (``(rows, cols)`` sensels per cell), ``unit`` (``"kPa"`` or
            ``"counts"``), ``trail_row``, ``trail_col`` (centre of pressure of
            the kept frames in map cells, NaN where a frame is empty),
            ``force_left``, ``force_right`` (the latest frame's load on each
            foot, :func:`split_feet`: in N with kPa, else in counts),
            ``load_left``, ``load_right`` (their shares, %), ``peak`` (the
            latest frame's highest cell, in ``unit``), ``saturated_cells``
            (sensels of the latest frame at their ADC rail, on sensels not
            marked dead or hot; None when the rail is unknown), ``axis`` and
            ``direction`` of the walk (:func:`walking_axis`), ``line`` (the
            walking line across it, sensels) and ``seq``.
        """
        if self._frame is None:
            return {"map": None, "seq": None}
        if self._state is not None and self._state["seq"] == self.seq:
            return dict(self._state)
        factor = self.pool[0]
        total, row, col = self._trail.T
        trail_row = (row - (factor - 1) / 2) / factor  # sensel s lies in cell s // factor, drawn at its index
        trail_col = (col - (factor - 1) / 2) / factor
        axis, direction = walking_axis(row, col, self.shape, self.pitch_mm)
        left, right, self._line = split_feet(self._frame, axis=axis, direction=direction, line=self._line,
                                             pitch_mm=self.pitch_mm)  # fmt: skip
        if self.unit == "kPa":  # kPa x mm^2 = mN
            area = self.pitch_mm[0] * self.pitch_mm[1] / 1000.0
            left, right = left * area, right * area
        share = 100.0 * np.array([left, right]) / max(left + right, 1e-12)
        saturated = None
        if self._rail is not None and self._rail.shape == self._counts.shape:
            hit = self._counts >= self._rail
            if self._good is not None:
                hit &= self._good
            saturated = int(np.count_nonzero(hit))
        self._state = {
            "map": pool_max(self._frame, self.pool), "pool": self.pool, "unit": self.unit,
            "trail_row": trail_row, "trail_col": trail_col, "force_left": left, "force_right": right,
            "load_left": float(share[0]), "load_right": float(share[1]), "peak": float(self._frame.max()),
            "saturated_cells": saturated, "axis": axis, "direction": direction, "line": self._line,
            "seq": self.seq,
        }  # fmt: skip
        return dict(self._state)


def encode_map(values):
    """A 2-D map as the page gets it: uint16 little-endian, 0 to the map's maximum, in base64.

    Parameters
    ----------
    values : numpy.ndarray
        2-D map, >= 0.

    Returns
    -------
    data : str
        Base64 of the row-major uint16 levels ``round(values / scale * 65535)``.
    scale : float
        The value of level 65535 (the map's maximum; 0 for an empty map).

    Examples
    --------
    >>> import numpy as np
    >>> from plantar.app._live import decode_map, encode_map
    >>> values = np.array([[0.0, 100.0], [250.0, 12.5]])
    >>> data, scale = encode_map(values)
    >>> scale, bool(np.abs(decode_map(data, scale, values.shape) - values).max() <= scale / 131070)
    (250.0, True)
    """
    values = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0)
    scale = float(values.max()) if values.size else 0.0
    levels = np.zeros(values.shape, "<u2") if scale <= 0 else np.rint(values / scale * 65535).astype("<u2")
    return base64.b64encode(levels.tobytes()).decode("ascii"), max(scale, 0.0)


def decode_map(data, scale, shape):
    """The map of :func:`encode_map` back, as float64 (each value within ``scale / 131070``).

    Parameters
    ----------
    data : str
        Base64 of the uint16 levels.
    scale : float
        The value of level 65535.
    shape : tuple of int
        ``(rows, cols)``.

    Returns
    -------
    values : numpy.ndarray
        The map.

    Examples
    --------
    >>> from plantar.app._live import decode_map, encode_map
    >>> decode_map(*encode_map([[3.0, 0.0]]), (1, 2)).tolist()
    [[3.0, 0.0]]
    """
    levels = np.frombuffer(base64.b64decode(data), dtype="<u2").reshape(shape)
    return levels.astype(np.float64) * (float(scale) / 65535)


def status_text(live, status):
    """The capture's status line: the mat's frames/s, frames lost, peak and saturated cells (and the recording).

    Parameters
    ----------
    live : dict
        :meth:`plantar.app.Capture.live`.
    status : dict
        :meth:`plantar.app.Capture.status`.

    Returns
    -------
    text : str
        One line.

    Examples
    --------
    >>> from plantar.app._live import status_text
    >>> status_text({"map": None}, {"state": "no mat"})
    'no mat connected: pick one and press Connect'
    """
    if live.get("map") is None:
        mat = "no mat connected: pick one and press Connect" if status["state"] == "no mat" else "waiting for frames"
    else:
        peak = f"{live['peak']:.0f} {live['unit']}"
        saturated = "unknown" if live["saturated_cells"] is None else str(live["saturated_cells"])
        mat = (f"{live['frame_rate_hz']:.0f} frames/s from the mat, lost {live['lost']}, peak {peak}, "
               f"saturated cells {saturated}")  # fmt: skip
    if status["state"] == "recording":
        return (f"RECORDING {status['condition']}: {status['elapsed_s']:.0f} s, {status['frames']} frames, "
                f"{status['lost']} lost | {mat}")  # fmt: skip
    return mat


def payload(capture, *, after=None):
    """The live view for the page: the latest frame, its trail, forces and the status line, as JSON-able data.

    Parameters
    ----------
    capture : plantar.app.Capture
        The capture controller.
    after : str | None
        The ``seq`` the page drew last: if it is still the latest frame's,
        the payload says so (``unchanged``) without the map.

    Returns
    -------
    payload : dict
        ``seq`` (str id of the frame, or None before the first), ``status``
        (:func:`status_text`), ``recording`` (bool), ``unchanged`` (the
        latest frame is ``after``) and, with a new frame: ``rows``, ``cols``
        (of the map), ``pool``, ``map`` and ``scale`` (:func:`encode_map`),
        ``unit``, ``trail`` (``[row, col]`` per kept frame in map cells,
        rounded to 0.01, None where a frame is empty), ``left``, ``right``
        (force on each foot, in ``force_unit``: N, or counts without a load
        curve), ``left_pct``, ``right_pct`` and ``arrived_unix_ms`` (when the
        frame arrived from the mat, wall clock).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from plantar.clinic import Clinic
    >>> from plantar.app import Capture
    >>> from plantar.app._live import payload
    >>> clinic = Clinic.init(Path(tempfile.mkdtemp()) / "clinic")
    >>> payload(Capture(clinic))
    {'seq': None, 'status': 'no mat connected: pick one and press Connect', 'recording': False, 'unchanged': False}
    >>> clinic.close()
    """
    live = capture.live()
    status = capture.status()
    seq = None if live.get("seq") is None else str(live["seq"])
    out = {"seq": seq, "status": status_text(live, status), "recording": status["state"] == "recording",
           "unchanged": seq is not None and seq == after}  # fmt: skip
    if live.get("map") is None or out["unchanged"]:
        return out
    data, scale = encode_map(live["map"])
    trail = np.round(np.column_stack([live["trail_row"], live["trail_col"]]), 2)
    finite = np.isfinite(trail).all(axis=1).tolist()
    total = live["force_left"] + live["force_right"]
    out.update({
        "rows": int(live["map"].shape[0]), "cols": int(live["map"].shape[1]), "pool": list(live["pool"]),
        "map": data, "scale": scale, "unit": live["unit"],
        "trail": [p if ok else None for p, ok in zip(trail.tolist(), finite)],
        "left": round(live["force_left"], 1), "right": round(live["force_right"], 1),
        "force_unit": "N" if live["unit"] == "kPa" else "counts",
        "left_pct": round(100.0 * live["force_left"] / total, 1) if total > 0 else 0.0,
        "right_pct": round(100.0 * live["force_right"] / total, 1) if total > 0 else 0.0,
        "arrived_unix_ms": live["arrived_unix_ms"],
    })  # fmt: skip
    return out


#: The live view's route on the app's server (read-only: GET).
LIVE_ROUTE = "/live/latest.json"


def add_live_route(app, capture):
    """Serve :func:`payload` at :data:`LIVE_ROUTE` on the app's Flask server (GET only, never cached).

    ``?after=SEQ`` leaves the map out while the latest frame is still
    ``SEQ`` (the status line only), so a page polling faster than the mat
    sends frames gets each once.
    A plain Flask route: whatever guards the server's other requests
    (``before_request``) guards it too.

    Parameters
    ----------
    app : dash.Dash
        The app.
    capture : plantar.app.Capture
        Its capture controller.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from plantar.clinic import Clinic
    >>> from plantar.app import make_app
    >>> clinic = Clinic.init(Path(tempfile.mkdtemp()) / "clinic")
    >>> app = make_app(clinic)
    >>> answer = app.server.test_client().get("/live/latest.json")
    >>> answer.status_code, answer.get_json()["seq"], answer.headers["Cache-Control"]
    (200, None, 'no-store')
    >>> app.server.test_client().post("/live/latest.json").status_code
    405
    >>> app.capture.close(); clinic.close()
    """
    import flask

    def latest():
        response = flask.jsonify(payload(capture, after=flask.request.args.get("after")))
        response.headers["Cache-Control"] = "no-store"
        return response

    app.server.add_url_rule(LIVE_ROUTE, "plantar_live", latest, methods=["GET"])


def live_view(interval_ms):
    """The capture page's live view: the status line, the map's canvas and the two foot bars (Dash components).

    ``assets/live.js`` fills them from :data:`LIVE_ROUTE`: the status line,
    the map's title and the bars' labels as text, the map on the canvas
    (plotly's Viridis from 0 to the frame's peak, the centre-of-pressure
    trail of the last kept frames in white).

    Parameters
    ----------
    interval_ms : int
        Milliseconds between two polls at least.

    Returns
    -------
    components : list
        The status line (``#capture-status``) and the view (``#live-view``,
        holding ``#live-map`` and ``#live-bars``).

    Examples
    --------
    >>> from plantar.app._live import live_view
    >>> status, view = live_view(25)
    >>> status.id, view.id, view.to_plotly_json()["props"]["data-url"]
    ('capture-status', 'live-view', '/live/latest.json')
    """
    import json

    import plotly.colors
    from dash import html

    stops = plotly.colors.make_colorscale(plotly.colors.sequential.Viridis)

    def bar(side, colour):
        return html.Div([
            html.Div(html.Div(id=f"live-bar-{side}", style={"position": "absolute", "bottom": 0, "width": "100%",
                                                             "height": "0%", "background": colour}),
                     style={"position": "relative", "height": "360px", "width": "70px", "margin": "0 auto",
                            "border": "1px solid #ccc"}),
            html.Div(f"{side} foot", style={"textAlign": "center", "fontWeight": "bold"}),
            html.Div(id=f"live-bar-{side}-text", style={"textAlign": "center", "fontFamily": "monospace"}),
        ], style={"width": "110px"})  # fmt: skip

    return [
        html.Div(id="capture-status", style={"fontFamily": "monospace"}),
        html.Div([
            html.Div([html.Div(id="live-map-title", style={"textAlign": "center", "height": "1.3em"}),
                      html.Div(html.Canvas(id="live-canvas"), id="live-canvas-box",
                               style={"width": "420px", "height": "420px", "display": "flex",
                                      "justifyContent": "center", "alignItems": "flex-start"})],
                     id="live-map", style={"width": "420px", "margin": "10px 20px 10px 0"}),
            html.Div([html.Div("load per foot", style={"textAlign": "center"}),
                      html.Div([bar("left", "#1f77b4"), bar("right", "#d62728")], style={"display": "flex"})],
                     id="live-bars", style={"margin": "10px 0"}),
        ], id="live-view", style={"display": "flex"},
           **{"data-url": LIVE_ROUTE, "data-interval-ms": str(int(interval_ms)),
              "data-colorscale": json.dumps([[float(p), c] for p, c in stops])}),
    ]  # fmt: skip
