"""Clinic records: patients, visits, trials and reports in a database, trial files in a folder.

A clinic is a folder holding a database (SQLite by default; PostgreSQL by URL for
several workstations) and the NetCDF trial files. The database holds metadata
and sha256 hashes, never pressure frames; its schema is built and upgraded by
Alembic revisions shipped with plantar. Nothing in plantar's core imports this
package.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> import plantar
>>> from plantar.clinic import Clinic
>>> with Clinic.init(Path(tempfile.mkdtemp()) / "clinic") as clinic:
...     _ = clinic.add_patient("P001", name="Jane Example", birth_year=1961)
...     visit = clinic.add_visit("P001", date="2024-03-01", complaint="right heel pain")
...     walk, _ = plantar.synth.walk(seed=0, passes=1)
...     _ = clinic.add_trial(walk, visit=visit, kind="barefoot")
...     clinic.check()["ok"]
True
"""

from ._models import CONDITION_KINDS
from ._store import Clinic, ClinicError

__all__ = ["CONDITION_KINDS", "Clinic", "ClinicError"]
