"""plantar: plantar pressure analysis for pressure-sensing mats.

The public functions are re-exported here; ``ds.plantar.<function>()`` forwards to
them. See the README for the data model and a first run.
"""

from . import datasets, io, regions, synth
from ._accessor import PlantarAccessor
from ._schema import check_counts, check_trial, make_counts, make_trial
from ._version import __version__
from .io import read, save
from .metrics import describe, total_force
from .utils import set_log_level, use_log_level

__all__ = [
    "PlantarAccessor",
    "__version__",
    "check_counts",
    "check_trial",
    "datasets",
    "describe",
    "io",
    "make_counts",
    "make_trial",
    "read",
    "regions",
    "save",
    "set_log_level",
    "synth",
    "total_force",
    "use_log_level",
]
