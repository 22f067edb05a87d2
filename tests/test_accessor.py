import inspect

import numpy as np
import xarray as xr

import plantar
from plantar._accessor import PlantarAccessor


def _methods():
    return {n: m for n, m in inspect.getmembers(PlantarAccessor, inspect.isfunction) if not n.startswith("_")}


def test_every_accessor_method_forwards_to_the_public_function_of_the_same_name():
    methods = _methods()
    assert methods, "the accessor has no methods"
    for name, method in methods.items():
        func = getattr(plantar, name)
        assert method.__wrapped__ is func, name
        assert method.__doc__ == func.__doc__, name


def test_accessor_gives_the_same_results_and_caches_nothing(tmp_path):
    frames = np.zeros((3, 2, 2))
    frames[1] = 50.0
    trial = plantar.make_trial(frames, pitch_mm=5.0, rate_hz=100.0, body_mass_kg=50.0)
    xr.testing.assert_identical(trial.plantar.total_force(), plantar.total_force(trial))
    assert trial.plantar.describe() == plantar.describe(trial)
    trial.plantar.save(tmp_path / "t.nc")
    xr.testing.assert_identical(plantar.read(tmp_path / "t.nc"), trial)
    changed = trial.copy(deep=True)
    changed["pressure"][:] = 10.0
    assert changed.plantar.describe()["peak_pressure_kpa"] == 10.0  # nothing cached from before
    assert vars(trial.plantar) == {"_ds": trial}
