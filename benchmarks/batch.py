"""Speed-up of plantar.batch on a local Dask cluster over a plain loop, and memory per worker.

A synthetic study of 40 trials (10 subjects x 2 conditions x 2 trials, 3 passes over a 2 m x 0.5 m
walkway at 5 mm and 100 Hz each) is written once (``--keep DIR`` reuses it). Printed, measured in
this one run, beside how busy the machine was:

- the plain loop: ``plantar.batch(..., scheduler="serial")``, every file in this process;
- ``plantar.batch`` on a local cluster of 2 worker processes (one task per worker at a time):
  warm (the cluster started and plantar imported on the workers, as over a study of hundreds of
  files) and cold (starting the cluster inside the call, as ``plantar batch`` does);
- speed-up = loop / cluster, warm                                        target >= 1.7
- peak resident memory of each worker process, MB, beside the largest trial's pressure array:
  each worker holds one trial at a time, so its peak follows the largest trial, not the study.

Both runs write into fresh output folders (no cache). On a 2-core machine the speed-up can only
approach 2 when nothing else runs: read it with the load line. Linux shares the CPU between
sessions first (autogroup scheduling), so while other sessions keep the cores busy the workers
together get about what the loop alone got, and the speed-up falls to 1 or below; the CPU each
part used is printed too, with the speed-up two free cores would give from it. Run:
``python benchmarks/batch.py`` (``--busy 1`` keeps one core busy meanwhile).
"""

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import plantar
from plantar.cohort import synthetic_study
from plantar.cohort._batch import _local_cluster, _peak_rss_mb
from timing import BusyCores, MachineLoad, add_load_arguments

TARGET_SPEEDUP = 1.7


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="folder for the study's files, made once and reused")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    add_load_arguments(parser)
    args = parser.parse_args()
    import distributed

    root = Path(tempfile.mkdtemp(prefix="plantar-batch-bench-"))
    data = args.keep or root / "data"
    if not (data / "manifest.csv").is_file():
        started = time.perf_counter()
        manifest, _ = synthetic_study(data, n_subjects=10, conditions={"barefoot": {}, "shod": {"condition": "shod"}},
                                      trials=2, passes=3, seed=1)  # fmt: skip
        manifest.to_csv(data / "manifest.csv", index=False)
        print(f"wrote the study's {len(manifest)} trials in {time.perf_counter() - started:.0f} s")
    manifest = data / "manifest.csv"
    largest = max(plantar.read(p).pressure.nbytes for p in sorted(data.glob("*.nc")))
    sizes = sum(p.stat().st_size for p in data.glob("*.nc"))
    print(f"study: 40 trials, {sizes / 1e6:.0f} MB of files; largest pressure array {largest / 1e6:.0f} MB")
    plantar.analyze(plantar.read(next(data.glob("*.nc"))), verbose="error")  # imports and caches warm
    try:
        with BusyCores(args.busy), MachineLoad() as load:
            started, cpu = time.perf_counter(), time.process_time()
            serial = plantar.batch(data, root / "serial", manifest=manifest, scheduler="serial", verbose="error")
            loop_s, loop_cpu_s = time.perf_counter() - started, time.process_time() - cpu

            started = time.perf_counter()
            cluster = _local_cluster(args.workers)  # the cluster plantar.batch starts, kept for the warm run
            client = distributed.Client(cluster)
            client.run(__import__, "plantar.cohort._batch")  # import plantar on every worker
            start_s = time.perf_counter() - started
            workers_cpu = client.run(time.process_time)
            started, cpu = time.perf_counter(), time.process_time()
            parallel = plantar.batch(data, root / "cluster", manifest=manifest, scheduler=client, verbose="error")
            warm_s, driver_cpu_s = time.perf_counter() - started, time.process_time() - cpu
            workers_cpu = {w: t - workers_cpu[w] for w, t in client.run(time.process_time).items()}
            peaks = client.run(_peak_rss_mb)
            client.close()
            cluster.close()

            started = time.perf_counter()
            plantar.batch(data, root / "cold", manifest=manifest, n_workers=args.workers, verbose="error")
            cold_s = time.perf_counter() - started
    finally:
        shutil.rmtree(root / "serial", ignore_errors=True)
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    assert serial["table"].equals(parallel["table"]), "the cluster's table differs from the loop's"
    assert (parallel["status"].status == "ok").all()
    speedup = loop_s / warm_s
    # What two free cores would give: the busiest worker's CPU, or all the CPU (workers, scheduler and
    # driver) shared by the two cores, whichever is longer; the loop takes its own CPU time.
    ideal_s = max(max(workers_cpu.values()), (sum(workers_cpu.values()) + driver_cpu_s) / 2)
    print(f"plain loop:            {loop_s:6.1f} s ({loop_s / 40:.2f} s per trial)")
    print(f"cluster, warm:         {warm_s:6.1f} s on {args.workers} workers  (starting it took {start_s:.1f} s)")
    print(f"cluster, cold:         {cold_s:6.1f} s (the call starts and stops the cluster: speed-up "
          f"{loop_s / cold_s:.2f} x)")  # fmt: skip
    print(f"speed-up, warm:        {speedup:6.2f} x   (target >= {TARGET_SPEEDUP:g})")
    print(f"CPU: loop {loop_cpu_s:.1f} s; cluster workers {', '.join(f'{t:.1f}' for t in workers_cpu.values())} s "
          f"and scheduler + driver {driver_cpu_s:.1f} s: on {args.workers} free cores about "
          f"{loop_cpu_s / ideal_s:.2f} x")  # fmt: skip
    for address, peak in sorted(peaks.items()):
        print(f"worker {address}: peak resident memory {peak:.0f} MB")
    print(load.line())
    ok = speedup >= TARGET_SPEEDUP
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
