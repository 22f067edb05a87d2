"""Where ``plantar demo`` spends its time: wall and CPU time of each stage, in a fresh process.

Runs the stages of ``plantar demo`` (default: three conditions recorded for 12 s
each from calibrated virtual mats, at once) one after the other in a process of
its own, as the command does, and prints for each its wall time and the process's
CPU time (all its threads; the virtual mats' threads run in the same process, as
in the command):

- imports          plantar, its command line and the virtual mat
- virtual mats     the sensor model and each condition's synthetic walk
- bench calibration of the demo mat (tare, equilibration, load curve)
- recording        the three mats streamed and recorded at once, in real time
- calibration      counts to kPa for the three recordings
- NetCDF writes    the three trials and the three raw recordings
- report           analysis, comparison, figures, HTML + CSV + JSON

then the sum, against the target for the whole command (<= 25 s;
``benchmarks/report.py`` times the command itself), with the machine's load during
the run. Exits 0 when the sum meets the target, 1 if not.

Run: ``python benchmarks/demo.py [--busy 1] [--seconds 12]`` (about 30 s).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from timing import BusyCores, MachineLoad, add_load_arguments

TARGET_S = 25.0


def _cpu_s():
    times = os.times()
    return times.user + times.system


def stages(out, seconds, seed=0):
    """Run the demo's stages in this process; return ``[(stage, wall s, CPU s), ...]``."""
    done = []
    mark = [time.perf_counter(), _cpu_s()]

    def lap(name):
        now = [time.perf_counter(), _cpu_s()]
        done.append((name, now[0] - mark[0], now[1] - mark[1]))
        mark[:] = now

    import concurrent.futures

    import plantar
    import plantar.cli  # noqa: F401  (the command imports it)
    from plantar import calibration, datasets, io
    from plantar.drivers.sim import DEMO_MAT, VirtualMat, bench_calibration
    from plantar.drivers.sim.demo import DEMO_SERIAL, _record
    from plantar.drivers.sim.sensor import SensorModel
    from plantar.report import Report
    from plantar.utils import use_log_level

    lap("imports")
    conditions = list(datasets.DEMO_CONDITIONS)
    sensor = SensorModel(seed=seed).for_shape(DEMO_MAT["shape"])
    mats = {}
    for k, label in enumerate(conditions):
        kwargs = datasets.demo_walker(label)
        mats[label] = VirtualMat(
            "pmat1", seed=seed + k, walk_s=max(seconds, 4.0) + 1.0, serial_number=DEMO_SERIAL,
            body_mass_kg=kwargs["body_mass_kg"], condition=kwargs["condition"], offload=kwargs["offload"],
            sensor=sensor, **DEMO_MAT,
        )  # fmt: skip
    lap("virtual mats (synthetic walks)")
    with use_log_level("warning"):
        cal = bench_calibration(mats[conditions[0]])
    lap("bench calibration")
    for mat in mats.values():
        mat.start()
    try:
        with concurrent.futures.ThreadPoolExecutor(len(mats)) as pool:
            futures = {label: pool.submit(_record, mat.url, seconds, label) for label, mat in mats.items()}
            raws = {label: future.result() for label, future in futures.items()}
    finally:
        for mat in mats.values():
            mat.stop()
    lap(f"recording ({seconds:g} s, three mats at once)")
    with concurrent.futures.ThreadPoolExecutor(len(raws)) as pool:
        trials = dict(zip(raws, pool.map(calibration.apply, raws.values(), [cal] * len(raws))))
    lap("calibration (counts to kPa)")
    for label in conditions:
        trials[label].attrs.update(condition=label, subject="demo")
        io.save(trials[label], out / f"{label}.nc", overwrite=True)
        io.save(raws[label], out / f"{label}.counts.nc", overwrite=True)
    lap("NetCDF writes (3 trials, 3 recordings)")
    report = Report(title="Plantar pressure report: demo", subject="demo")
    for label, trial in trials.items():
        report.add_trial(trial, label=label)
    report.add_summary(baseline="barefoot")
    report.save(out / "report.html", overwrite=True)
    lap("report (analysis, comparison, figures, files)")
    return done


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=None, help="recording length per condition (default: the demo's)")
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    add_load_arguments(ap)
    args = ap.parse_args()
    if args.child is not None:  # the fresh process: run the stages, hand the times back as JSON
        print(json.dumps(stages(args.child, args.seconds)))
        return 0
    if args.seconds is None:
        from plantar.cli import DEMO_SECONDS

        args.seconds = DEMO_SECONDS
    with tempfile.TemporaryDirectory() as out, BusyCores(args.busy), MachineLoad() as load:
        started = time.perf_counter()
        child = subprocess.run([sys.executable, __file__, "--child", out, "--seconds", str(args.seconds)],
                               capture_output=True, text=True, check=True)  # fmt: skip
        process_s = time.perf_counter() - started
    done = json.loads(child.stdout.strip().splitlines()[-1])
    total_wall = sum(wall for _, wall, _ in done)
    total_cpu = sum(cpu for _, _, cpu in done)
    print(f"{'stage':<48}  {'wall s':>7}  {'CPU s':>7}  {'share':>6}")
    for name, wall, cpu in done:
        print(f"{name:<48}  {wall:7.2f}  {cpu:7.2f}  {wall / total_wall:6.0%}")
    print(f"{'all stages':<48}  {total_wall:7.2f}  {total_cpu:7.2f}")
    print(f"the process, start to end: {process_s:.1f} s; the demo's stages {total_wall:.1f} s (target <= "
          f"{TARGET_S:g} s for 'plantar demo'; ratio to target {total_wall / TARGET_S:.2f})")  # fmt: skip
    print(load.line())
    ok = total_wall <= TARGET_S
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
