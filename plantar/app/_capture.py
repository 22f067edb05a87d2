"""Capture in the server: one mat session, a live ring buffer of its frames, and at most one recording.

The recording runs on a thread of the server process through the same
crash-safe recorder as ``plantar record`` (a journal synced to disk every
second, turned into a NetCDF raw recording at the end), so a page that closes
or reloads changes nothing; when it stops, the recording is calibrated and
added to its visit through :class:`plantar.clinic.Clinic`.
"""

import collections
import datetime
import threading
import time

import numpy as np

from ..drivers._frame import FLAG_SATURATED
from ..utils import logger
from ._live import DISPLAY_CELLS
from ._quality import MIN_COMPLETE_STEPS, trial_quality

#: Folder of the clinic where raw recordings (and, after a crash, their journals) are kept.
RECORDINGS = "recordings"


class CaptureError(RuntimeError):
    """A capture request that cannot be done now (no mat, a recording already running, ...)."""


class Capture:
    """The server's capture controller: one mat, a live view of it, and one recording at a time.

    Parameters
    ----------
    clinic : plantar.clinic.Clinic
        Where recordings go.
    min_steps : int
        Complete steps per side a condition needs (see :func:`trial_quality`).
    keep_frames : int
        Frames kept for the live view (the centre-of-pressure trail is drawn
        over them).

    Examples
    --------
    >>> import tempfile, time
    >>> from pathlib import Path
    >>> from plantar.clinic import Clinic
    >>> from plantar.app import Capture
    >>> from plantar.drivers.sim import VirtualMat
    >>> clinic = Clinic.init(Path(tempfile.mkdtemp()) / "clinic")
    >>> capture = Capture(clinic)
    >>> mat = VirtualMat(shape=(128, 32), walk_s=2.0).start()
    >>> capture.connect(mat.url)["rows"]
    128
    >>> time.sleep(0.5)
    >>> capture.live()["map"].shape  # pooled by 2 x 2 to at most 64 cells a side
    (64, 16)
    >>> capture.close(); mat.stop(); clinic.close()
    """

    def __init__(self, clinic, *, min_steps=MIN_COMPLETE_STEPS, keep_frames=100):
        self.clinic = clinic
        self.min_steps = int(min_steps)
        self._lock = threading.Lock()
        self._frames = collections.deque(maxlen=int(keep_frames))
        self._drawn = collections.deque(maxlen=400)
        self._session = None
        self._mat = None
        self._calibration = None
        self._view = None
        self._thread = None
        self._stop = None
        self._recording = None
        self._stats = None
        self.last = None
        self.error = None

    # ------------------------------------------------------------------ the mat

    def connect(self, url, *, protocol="pmat1", calibration=None, **options):
        """Open a mat on a port and keep its latest frames for the live view.

        Parameters
        ----------
        url : str
            The port (see :func:`plantar.drivers.open_mat`).
        protocol : str
            Its wire format.
        calibration : str | os.PathLike | xarray.Dataset | None
            The mat's calibration; recordings need one to be stored in kPa.
        **options
            Passed to :func:`plantar.drivers.open_mat`.

        Returns
        -------
        info : dict
            What the device says about itself (``rows``, ``cols``, ...).

        Raises
        ------
        CaptureError
            While a recording runs.
        """
        from .. import calibration as _calibration
        from ..drivers import open_mat

        with self._lock:
            if self.recording:
                raise CaptureError("a recording is running: stop it before changing the mat")
        self.disconnect()
        cal = calibration
        if cal is not None and not hasattr(cal, "attrs"):
            cal = _calibration.load(cal)
        session = open_mat(url, protocol=protocol, verbose="warning", **options)
        session.add_sink(self._keep, batch=True)
        with self._lock:
            self._session, self._calibration = session, cal
            self._view = None  # the live view starts anew (see live)
            self._frames.clear()
        logger.info("capture: connected to %s", url)
        return {"rows": session.info.get("rows"), "cols": session.info.get("cols"), **session.info}

    def connect_virtual(self, *, seed=0, condition="barefoot", **mat):
        """Start a calibrated virtual mat (the demo walker walking on it) and connect to it.

        Parameters
        ----------
        seed : int
            Seed of the sensor and the walk.
        condition : str
            The demo walker's condition (see :func:`plantar.datasets.demo_walker`).
        **mat
            ``shape``, ``pitch_mm``, ``rate_hz``; default the demo mat
            (:data:`plantar.drivers.sim.DEMO_MAT`).

        Returns
        -------
        info : dict
            What the virtual mat says about itself.
        """
        from ..datasets import demo_walker
        from ..drivers.sim import DEMO_MAT, SensorModel, VirtualMat, bench_calibration
        from ..drivers.sim.demo import DEMO_SERIAL

        settings = {**DEMO_MAT, **mat}
        walker = demo_walker(condition)
        virtual = VirtualMat(
            "pmat1", seed=int(seed), walk_s=30.0, serial_number=DEMO_SERIAL, body_mass_kg=walker["body_mass_kg"],
            condition=walker["condition"], offload=walker["offload"],
            sensor=SensorModel(seed=int(seed)).for_shape(settings["shape"]), **settings,
        )  # fmt: skip
        cal = bench_calibration(virtual)
        virtual.start()
        try:
            info = self.connect(virtual.url, calibration=cal)
        except BaseException:
            virtual.stop()
            raise
        self._mat = virtual
        return info

    def disconnect(self):
        """Close the mat (and the virtual mat this controller started).

        Raises
        ------
        CaptureError
            While a recording runs.
        """
        with self._lock:
            if self.recording:
                raise CaptureError("a recording is running: stop it before closing the mat")
            session, mat = self._session, self._mat
            self._session = self._mat = self._calibration = None
        if session is not None:
            session.close()
        if mat is not None:
            mat.stop()

    @property
    def connected(self):
        """Whether a mat is open."""
        return self._session is not None and not self._session.closed

    @property
    def recording(self):
        """Whether a recording is running (or being stored)."""
        return self._thread is not None and self._thread.is_alive()

    def _keep(self, frames):
        """Session sink (reader thread): keep the latest frames, nothing more."""
        self._frames.extend(frames)

    # ------------------------------------------------------------------ recording

    def start(self, *, visit, kind, label=None):
        """Start recording a condition of a visit, on a thread of this process.

        Parameters
        ----------
        visit : int
            The visit's id.
        kind : {"barefoot", "shod", "orthotic"}
            The kind of condition.
        label : str | None
            The condition's label, e.g. ``"orthotic A"``; default: ``kind``.

        Returns
        -------
        status : dict
            See :meth:`status`.

        Raises
        ------
        CaptureError
            Without a mat, without a calibration, or while a recording runs.
        plantar.clinic.ClinicError
            If there is no such visit.
        """
        from ..clinic import CONDITION_KINDS
        from ..drivers.recorder import _record_raw

        if kind not in CONDITION_KINDS:
            raise CaptureError(f"kind must be one of {CONDITION_KINDS}, got {kind!r}")
        code = self.clinic.visit(visit)["patient"]
        label = str(label).strip() if label and str(label).strip() else kind
        with self._lock:
            if self.recording:
                raise CaptureError(f"a recording is running ({self._recording['label']}): stop it first")
            if not self.connected:
                raise CaptureError("no mat is connected: pick a mat first")
            if self._calibration is None:
                raise CaptureError("the mat has no calibration: a recording could not be stored in kPa")
            stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
            folder = self.clinic.folder / RECORDINGS / code
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            path = folder / f"v{int(visit)}-{kind}-{stamp}.nc"
            stop = threading.Event()
            self._recording = {"visit": int(visit), "kind": kind, "label": label, "patient": code,
                               "path": path, "started": time.monotonic()}  # fmt: skip
            self._stats = None
            self.error = None
            self._stop = stop
            session, cal = self._session, self._calibration

            def run():
                try:
                    _, raw = _record_raw(session, path, stop=stop, status=self._status_line, subject=code,
                                         condition=label)  # fmt: skip
                    row = self.clinic.add_trial(raw, visit=visit, kind=kind, label=label, calibration=cal)
                    trial = self.clinic.read_trial(row["uid"])
                    self.last = {**row, "quality": trial_quality(trial, min_steps=self.min_steps)}
                    logger.info("capture: stored %s trial %s of visit %d", kind, row["uid"], visit)
                except Exception as exc:  # noqa: BLE001  (said in the page; the journal stays on disk)
                    self.error = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                    logger.error("capture: recording of visit %d failed: %s", visit, self.error)

            self._thread = threading.Thread(target=run, name="plantar capture", daemon=True)
            self._thread.start()
        return self.status()

    def _status_line(self, stats, latest):
        self._stats = stats

    def stop(self, *, wait_s=120.0):
        """Stop the recording, and wait until it is stored in the clinic.

        Parameters
        ----------
        wait_s : float
            Wait this long at most for the recording to be stored, in s.

        Returns
        -------
        status : dict
            See :meth:`status`; ``last`` holds the stored trial's row and
            ``quality`` (:func:`trial_quality`).

        Raises
        ------
        CaptureError
            If no recording runs.
        """
        with self._lock:
            thread, stop = self._thread, self._stop
            if thread is None or not thread.is_alive():
                raise CaptureError("no recording is running")
        stop.set()
        thread.join(timeout=wait_s)
        return self.status()

    def status(self):
        """The controller's state, for the page.

        Returns
        -------
        status : dict
            ``state`` (``"no mat"``, ``"ready"`` or ``"recording"``),
            ``condition`` (the label recording, or None), ``visit``,
            ``elapsed_s``, ``frames`` and ``lost`` (of the recording so far),
            ``last`` (the last stored trial with its ``quality``, or None) and
            ``error`` (why the last recording failed, or None).
        """
        recording = self._recording if self.recording else None
        stats = self._stats
        if recording is not None:
            state = "recording"
        else:
            state = "ready" if self.connected else "no mat"
        return {
            "state": state,
            "condition": None if recording is None else recording["label"],
            "visit": None if recording is None else recording["visit"],
            "elapsed_s": 0.0 if recording is None else time.monotonic() - recording["started"],
            "frames": 0 if stats is None or recording is None else int(stats.frames),
            "lost": 0 if stats is None or recording is None else int(stats.lost_frames),
            "last": self.last,
            "error": self.error,
        }

    # ------------------------------------------------------------------ live view

    def live(self, *, cells=DISPLAY_CELLS):
        """The latest frame for the live view, pooled to at most ``cells`` a side, with its trail and loads.

        Each frame is worked on once (pressure, total, centre of pressure:
        :class:`plantar.app._live.LiveView`), so a call costs one frame's
        split and pooling whatever the mat's size.

        Parameters
        ----------
        cells : int
            Largest side of the map; bigger mats are pooled by the maximum of
            each block of sensels.

        Returns
        -------
        live : dict
            :meth:`plantar.app._live.LiveView.state` (``map`` in kPa with a
            calibration holding a load curve, else counts above the noise
            floor, or counts without a calibration; ``trail_row``,
            ``trail_col``; ``force_left``, ``force_right`` and their shares
            ``load_left``, ``load_right`` per foot; ``peak``;
            ``saturated_cells``; ...), and ``frame_rate_hz``, ``lost``
            (frames lost since connecting), ``drawn_hz`` (new frames handed
            out per second, over the last 2 s), ``age_ms`` (from the frame's
            arrival to now), ``arrived_unix_ms`` (its arrival, wall clock) and
            ``seq`` (an id of the latest frame); ``{"map": None, "seq": None}``
            before the first frame.
        """
        from ._live import LiveView

        with self._lock:
            session, frames = self._session, list(self._frames)
            if not frames or session is None:
                return {"map": None, "seq": None}
            view = self._view
            rows, cols = frames[-1].counts.shape
            if view is None or view.shape != (rows, cols) or view.pool[0] != -(-max(rows, cols) // int(cells)):
                pitch = session.info.get("pitch_mm") or (1.0, 1.0)  # [x, y]
                if self._calibration is not None:
                    pitch = (self._calibration.attrs["sensor_pitch_x_mm"], self._calibration.attrs["sensor_pitch_y_mm"])
                view = self._view = LiveView((rows, cols), pitch_mm=(float(pitch[1]), float(pitch[0])),
                                             calibration=self._calibration, adc_bits=session.info.get("adc_bits"),
                                             keep_frames=self._frames.maxlen, cells=cells)  # fmt: skip
            done = view.seq
            new = [f for f in frames if done is None or f.t_host_ns > done]
            if new:
                view.add(np.stack([f.counts for f in new]), keys=[f.t_host_ns for f in new])
            live = view.state()
            latest = frames[-1]
            now_ns = time.monotonic_ns()
            key = latest.t_host_ns
            if not self._drawn or self._drawn[-1][1] != key:
                self._drawn.append((now_ns, key))
            recent = [t for t, _ in self._drawn if now_ns - t <= 2_000_000_000]
        stats = session.stats
        span_s = (recent[-1] - recent[0]) / 1e9 if len(recent) > 1 else 0.0
        return {
            **live, "saturated": bool(latest.flags & FLAG_SATURATED), "frame_rate_hz": float(stats.frame_rate_hz),
            "lost": int(stats.lost_frames), "drawn_hz": (len(recent) - 1) / span_s if span_s > 0 else 0.0,
            "age_ms": (now_ns - latest.t_host_ns) / 1e6, "seq": key,
            "arrived_unix_ms": (time.time_ns() - (now_ns - latest.t_host_ns)) / 1e6,
        }  # fmt: skip

    def close(self, *, wait_s=120.0):
        """Stop a running recording (it is stored), then close the mat.

        Parameters
        ----------
        wait_s : float
            Wait this long at most for a running recording to be stored, in s.
        """
        if self.recording:
            self.stop(wait_s=wait_s)
        self.disconnect()

