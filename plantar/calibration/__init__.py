"""Calibration: from raw counts to kPa.

A calibration is an :class:`xarray.Dataset` (schema ``pmcal/1``) built step by step
from raw recordings (schema ``counts/1``) of the same mat:

1. :func:`tare`: per-sensel offset and noise from unloaded frames; stuck-high and
   noisy sensels.
2. :func:`equilibrate`: per-sensel gain under one or several uniform
   pressures; dead and uncovered sensels.
3. :func:`fit`: the load curve (linear, power law, exponential, or a monotone
   table through four or more pressure levels) from known forces and
   pressures (a walk over whole strides on the mat), chosen by held-out
   error; a calibrated range beyond the sensor's rated or a plausible
   maximum is refused.
4. :func:`apply`: a raw recording to a trial in kPa, with per-cell flags of
   saturated and extrapolated readings.
   :func:`scale` instead applies one linear factor to every sensel (a
   vendor's stated calibration, such as a Tekscan raw export's).
5. :func:`save` / :func:`load`: the ``*.pmcal.nc`` file, tied to its mat (by
   device, shape and pitch, and by its readings at rest).

Each step returns a new Dataset; none changes its inputs. The procedure and the
maths follow the project's research notes on drivers and calibration (section 4.5).
"""

from ._apply import apply, scale
from ._common import SCHEMA_CAL, STATUS, check_calibration
from ._curve import MIN_TABLE_LEVELS, MIN_WALK_STRIDES, MODEL_FORMULAS, MODELS, PLAUSIBLE_MAX_KPA, curve_kpa, fit
from ._equilibrate import equilibrate
from ._file import SUFFIX, load, save
from ._tare import tare

__all__ = [
    "MIN_TABLE_LEVELS",
    "MIN_WALK_STRIDES",
    "MODELS",
    "MODEL_FORMULAS",
    "PLAUSIBLE_MAX_KPA",
    "SCHEMA_CAL",
    "STATUS",
    "SUFFIX",
    "apply",
    "check_calibration",
    "curve_kpa",
    "equilibrate",
    "fit",
    "load",
    "save",
    "scale",
    "tare",
]
