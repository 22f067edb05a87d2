"""The clinic app: a local web app (Dash) over the clinic records, the recorder and the loading report.

``plantar clinic serve`` starts it on 127.0.0.1 (other addresses only when the
clinic has a password, which the app then asks for). The app is a thin layer: the
patients, visits, trials and reports are :class:`plantar.clinic.Clinic`'s, the
recording is :class:`Capture`'s (the crash-safe recorder of ``plantar
record``, on a thread of the server), the report is
:meth:`plantar.clinic.Clinic.write_visit_report`'s. Nothing in plantar's core
imports this package; it needs ``dash``.

Examples
--------
>>> import plantar
>>> from plantar.app import trial_quality
>>> walk, _ = plantar.synth.walk(seed=0, passes=1)
>>> trial_quality(walk)["frames"] == walk.sizes["time"]
True
"""

from ._capture import DISPLAY_CELLS, Capture, CaptureError
from ._quality import MIN_COMPLETE_STEPS, trial_quality

__all__ = ["DISPLAY_CELLS", "MIN_COMPLETE_STEPS", "Capture", "CaptureError", "make_app", "serve", "trial_quality"]


def __getattr__(name):  # the web layer (dash) only when asked for
    if name in ("make_app", "serve"):
        from . import _web

        return getattr(_web, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
