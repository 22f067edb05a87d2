"""The virtual mat: a simulated pressure mat on a pty or a TCP socket, for tests without hardware.

A synthetic walk (:func:`plantar.synth.walk`) is read through a sensor model
(:class:`SensorModel`: per-sensel gain and offset, noise, dead and hot sensels,
a dead band), encoded in any registered wire format
(:data:`plantar.drivers.PROTOCOLS`) and sent by :class:`VirtualMat` over a
pseudo-terminal or a local TCP server, paced by its own drifting clock, with
the faults a real link has (:class:`Faults`). What it sent is kept in
:attr:`VirtualMat.truth` (a :class:`MatTruth`).

Examples
--------
>>> from plantar.drivers.sim import VirtualMat
>>> with VirtualMat(shape=(8, 8), walk_s=1.0, link="tcp") as mat:
...     mat.url.startswith("socket://127.0.0.1:")
True
"""

from .bench import bench_calibration
from .demo import DEMO_MAT, record_demo
from .faults import Faults
from .mat import FATES, MAX_RATE_HZ, MIN_FLOOR_MM, MatTruth, VirtualMat
from .sensor import CURVES, SensorModel

__all__ = ["CURVES", "DEMO_MAT", "FATES", "MAX_RATE_HZ", "MIN_FLOOR_MM", "Faults", "MatTruth", "SensorModel",
           "VirtualMat", "bench_calibration", "record_demo"]  # fmt: skip
