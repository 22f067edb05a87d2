"""plantar: plantar pressure analysis for pressure-sensing mats.

The public functions are re-exported here; ``ds.plantar.<function>()`` forwards to
them. See the README for the data model and a first run.
"""

from . import calibration, cohort, datasets, drivers, geometry, insoles, io, metrics, regions, steps, synth
from ._accessor import PlantarAccessor
from ._schema import check_counts, check_trial, is_sensor_trial, make_counts, make_sensor_trial, make_trial
from ._version import __version__
from .analyze import analyze, to_table, upgrade_analysis
from .balance import balance, balance_table
from .cohort import batch, group_compare, pixel_compare
from .compare import compare, comparison_table
from .followup import FollowupResult, followup
from .io import read, save
from .metrics import cop, describe, total_force
from .offloading import offloading
from .utils import set_log_level, use_log_level

__all__ = [
    "FollowupResult",
    "PlantarAccessor",
    "__version__",
    "analyze",
    "balance",
    "balance_table",
    "batch",
    "check_counts",
    "check_trial",
    "cohort",
    "compare",
    "comparison_table",
    "cop",
    "datasets",
    "describe",
    "followup",
    "geometry",
    "group_compare",
    "insoles",
    "io",
    "is_sensor_trial",
    "make_counts",
    "make_sensor_trial",
    "make_trial",
    "metrics",
    "offloading",
    "pixel_compare",
    "read",
    "regions",
    "save",
    "set_log_level",
    "steps",
    "synth",
    "to_table",
    "total_force",
    "upgrade_analysis",
    "use_log_level",
]


def __getattr__(name):
    # plantar.viz imports plotly: load it on first use, so the core never does.
    if name == "viz":
        import importlib

        return importlib.import_module(".viz", __name__)
    raise AttributeError(f"module 'plantar' has no attribute {name!r}")
