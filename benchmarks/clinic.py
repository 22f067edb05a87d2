"""The clinic store stays interactive: adding a 60 s trial, listing 1,000 patients x 5 visits.

- add a trial: ``Clinic.add_trial`` of a 60 s walkway recording (2 m x 0.5 m at
  5 mm, 400 x 100 sensels, 100 Hz, 6000 frames): writing its NetCDF file
  (as plantar.save does; its sha256 taken from the bytes as they are written, not
  read back), then adding its row. Printed beside it: plantar.save of the same
  trial alone, so the store's own cost (its row) shows.
- list the clinic: ``Clinic.patients()`` (visits, trials and first/last visit per
  patient) of 1,000 patients with 5 visits each and 3 trial rows per visit
  (15,000 rows), and ``Clinic.patient(code)`` (one patient with visits and trials).

Targets: each under 0.5 s. Times are the best of several repeats; the machine's
load during the run is printed. Run:
``python benchmarks/clinic.py [--busy 1] [--database-url postgresql://...]``
(the PostgreSQL database must exist and be empty).
"""

import argparse
import datetime
import os
import tempfile
import time
from pathlib import Path

import plantar
from plantar.clinic import Clinic
from plantar.clinic._models import Patient, Trial, Visit
from timing import BusyCores, MachineLoad, add_load_arguments, best_time

TARGET_S = 0.5


def fill(clinic, n_patients, n_visits, n_trials):
    """Rows of a large clinic, inserted in bulk (the listing is what is timed, not the filling)."""
    from sqlalchemy import insert
    from sqlalchemy.orm import Session

    start = datetime.date(2023, 1, 2)
    with Session(clinic._writer) as session, session.begin():
        session.execute(insert(Patient), [{"id": p + 1, "code": f"B{p:05d}", "name": f"Patient {p}",
                                           "birth_year": 1940 + p % 60} for p in range(n_patients)])  # fmt: skip
        visits = [{"id": p * n_visits + v + 1, "patient_id": p + 1, "date": start + datetime.timedelta(weeks=4 * v + p % 7)}
                  for p in range(n_patients) for v in range(n_visits)]  # fmt: skip
        session.execute(insert(Visit), visits)
        kinds = ("barefoot", "shod", "orthotic")
        session.execute(insert(Trial), [
            {"uid": f"{visit['id']:08d}{k:024d}", "visit_id": visit["id"], "condition_kind": kinds[k % 3],
             "label": kinds[k % 3], "description": "", "path": f"trials/x/v{visit['id']}/{k}.nc", "sha256": "0" * 64,
             "size_bytes": 1, "device": "bench", "calibration_id": "", "recorded_utc": "", "sampling_rate_hz": 100.0,
             "frame_count": 6000, "duration_s": 60.0, "source_format": "netcdf"}
            for visit in visits for k in range(n_trials)])  # fmt: skip
        if session.bind.dialect.name == "postgresql":
            for table in ("patients", "visits", "trials"):
                session.execute(__import__("sqlalchemy").text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"))  # fmt: skip


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="trial length in s (default 60)")
    parser.add_argument("--patients", type=int, default=1000, help="patients in the listed clinic (default 1000)")
    parser.add_argument("--visits", type=int, default=5, help="visits per patient (default 5)")
    parser.add_argument("--repeats", type=int, default=3, help="repeats per timing (default 3)")
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default: SQLite in the folder)")
    add_load_arguments(parser)
    args = parser.parse_args()

    trial, _ = plantar.synth.walk(seed=0, duration_s=args.seconds)
    print(f"trial: {trial.sizes['time']} frames x {trial.sizes['y']} x {trial.sizes['x']} sensels "
          f"({trial.pressure.nbytes / 1e6:.0f} MB as float32)")  # fmt: skip
    with (
        BusyCores(args.busy),
        MachineLoad() as load,
        tempfile.TemporaryDirectory(dir=os.environ.get("PLANTAR_BENCH_DIR")) as tmp,
    ):
        tmp = Path(tmp)
        with Clinic.init(tmp / "clinic", url=args.database_url) as clinic:
            fill(clinic, args.patients, args.visits, 3)
            clinic.add_patient("P001")
            visit = clinic.add_visit("P001", date="2024-03-01")
            add_times, save_times = [], []
            for k in range(args.repeats):  # interleaved, so both see the same load and page cache
                start = time.perf_counter()
                clinic.add_trial(trial, visit=visit, kind="barefoot")
                add_times.append(time.perf_counter() - start)
                save_times.append(best_time(lambda: plantar.save(trial, tmp / f"alone{k}.nc"), 1))
            list_s = best_time(clinic.patients, args.repeats)
            n_listed = len(clinic.patients())
            show_s = best_time(lambda: clinic.patient(f"B{args.patients // 2:05d}"), args.repeats)
            backend = clinic._engine.dialect.name
    add_s, save_s = min(add_times), min(save_times)
    print(f"database: {backend}")
    print(f"add a {args.seconds:g} s trial: {add_s:.3f} s (plantar.save alone {save_s:.3f} s; "
          f"row {add_s - save_s:+.3f} s)   (target < {TARGET_S} s)")  # fmt: skip
    print(f"list {n_listed} patients x {args.visits} visits: {list_s:.3f} s   (target < {TARGET_S} s)")
    print(f"show one patient with visits and trials: {show_s:.3f} s   (target < {TARGET_S} s)")
    print(load.line())
    ok = add_s < TARGET_S and list_s < TARGET_S and show_s < TARGET_S
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
