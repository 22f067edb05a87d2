"""The demo session: one calibrated virtual mat per condition, recorded at once over the wire."""

import concurrent.futures

from ... import calibration
from ...datasets import DEMO_CONDITIONS, demo_walker
from ...utils import fill_doc, logger, use_log_level, verbose
from ..session import open_mat
from .bench import bench_calibration
from .mat import VirtualMat
from .sensor import SensorModel

#: The demo mat: 2 m x 0.5 m of 8 mm sensels (250 x 64), 100 Hz.
DEMO_MAT = dict(shape=(250, 64), pitch_mm=8.0, rate_hz=100.0)

#: Serial number of the demo mat.
DEMO_SERIAL = "VM-0100"


@fill_doc
@verbose
def record_demo(conditions=tuple(DEMO_CONDITIONS), *, seconds=12.0, seed=0, verbose=None):
    """Record the demo walker in each condition from a calibrated virtual mat.

    The demo mat (:data:`DEMO_MAT`: 2 m x 0.5 m, 8 mm sensels, 100 Hz, PMAT/1
    over a pseudo-terminal, serial :data:`DEMO_SERIAL`) is calibrated by the
    bench procedure on its sensor model (:func:`bench_calibration`). Each
    condition is one walk of the demo walker
    (:func:`plantar.datasets.demo_walker`) back and forth over that mat; to save
    time the conditions are recorded at once, from one virtual mat each with the
    same sensor and serial, through :func:`plantar.drivers.open_mat` in real
    time (the recording places frames on the host clock, so the mat sends no
    faster than real time), and the counts are turned into kPa with
    :func:`plantar.calibration.apply`, the three recordings at once.

    Parameters
    ----------
    conditions : sequence of str
        Conditions from :data:`plantar.datasets.DEMO_CONDITIONS`.
    seconds : float
        Recording length per condition, in s (they run in parallel, in real
        time); the walker makes about one foot contact per second.
    seed : int
        Seed of the sensor and of the walks (condition k walks with ``seed + k``).
    %(verbose)s

    Returns
    -------
    recordings : dict of str to (xarray.Dataset, xarray.Dataset, xarray.Dataset)
        Per condition ``(trial, raw, cal)``: the calibrated trial (kPa), the
        raw recording (counts) and the calibration.

    Examples
    --------
    >>> from plantar.drivers.sim.demo import record_demo
    >>> recordings = record_demo(["barefoot"], seconds=1.0, verbose="error")
    >>> trial, raw, cal = recordings["barefoot"]
    >>> trial.attrs["calibration_id"] == cal.attrs["calibration_id"]
    True
    """
    conditions = list(conditions)
    unknown = [c for c in conditions if c not in DEMO_CONDITIONS]
    if unknown or not conditions:
        raise ValueError(f"conditions must be some of {tuple(DEMO_CONDITIONS)}, got {tuple(conditions)!r}")
    if not (seconds > 0):
        raise ValueError(f"seconds must be a positive number of s, got {seconds!r}")
    # One mat, as in a clinic: the same sensor and serial for every condition (recorded at once here).
    sensor = SensorModel(seed=int(seed)).for_shape(DEMO_MAT["shape"])
    mats = {}
    for k, label in enumerate(conditions):
        kwargs = demo_walker(label)
        mats[label] = VirtualMat(
            "pmat1", seed=seed + k, walk_s=max(float(seconds), 4.0) + 1.0, serial_number=DEMO_SERIAL,
            body_mass_kg=kwargs["body_mass_kg"], condition=kwargs["condition"], offload=kwargs["offload"],
            sensor=sensor, **DEMO_MAT,
        )  # fmt: skip
    logger.info("calibrating the virtual mat %s by the bench procedure", DEMO_SERIAL)
    with use_log_level("warning"):  # the bench procedure's own log would drown the demo's
        cal = bench_calibration(mats[conditions[0]])
    for mat in mats.values():
        mat.start()
    try:
        logger.info("recording %s for %g s", ", ".join(conditions), seconds)
        with concurrent.futures.ThreadPoolExecutor(len(mats)) as pool:
            futures = {label: pool.submit(_record, mat.url, seconds, label) for label, mat in mats.items()}
            raws = {label: future.result() for label, future in futures.items()}
    finally:
        for mat in mats.values():
            mat.stop()
    # Nothing else runs while the mats stream (the host must keep up with them); then the three
    # recordings are calibrated at once.
    with concurrent.futures.ThreadPoolExecutor(len(raws)) as pool:
        trials = dict(zip(raws, pool.map(calibration.apply, raws.values(), [cal] * len(raws))))
    out = {}
    for label in conditions:
        trial = trials[label]
        trial.attrs.update(condition=label, subject="demo", body_mass_kg=demo_walker(label)["body_mass_kg"])
        out[label] = (trial, raws[label], cal)
    return out


def _record(url, seconds, label):
    with open_mat(url, protocol="pmat1", verbose="warning") as session:
        return session.read(seconds=seconds, condition=label, subject="demo", verbose="warning")
