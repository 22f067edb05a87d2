"""The ``ds.plantar`` accessor: a namespace of one-line forwards, nothing more.

``ds.plantar.f(...)`` is ``plantar.f(ds, ...)``, with the same docstring. Nothing is
cached: the accessor holds only the Dataset it was reached from.
"""

import functools

import xarray as xr

from ._schema import check_counts, check_trial
from .analyze import analyze, to_table
from .balance import balance
from .io import save
from .metrics import cop, describe, total_force
from .offloading import offloading


def _forward(func):
    """Make ``func(ds, ...)`` an accessor method ``ds.plantar.func(...)``."""

    @functools.wraps(func)
    def method(self, *args, **kwargs):
        return func(self._ds, *args, **kwargs)

    return method


@xr.register_dataset_accessor("plantar")
class PlantarAccessor:
    """Plantar functions as methods of a trial: ``trial.plantar.save(path)``."""

    def __init__(self, ds):
        self._ds = ds

    analyze = _forward(analyze)
    balance = _forward(balance)
    check_trial = _forward(check_trial)
    check_counts = _forward(check_counts)
    cop = _forward(cop)
    describe = _forward(describe)
    offloading = _forward(offloading)
    save = _forward(save)
    to_table = _forward(to_table)
    total_force = _forward(total_force)
