"""Time of the loading report: one 60 s trial, three conditions of about 20 steps, and the demo.

Measured in this one run, beside the machine's load during it:

One 60 s walkway trial (2 m x 0.5 m, 5 mm sensels, 100 Hz, about 58 foot
contacts; 960 MB in memory), saved as NetCDF:

- ``plantar report trial.nc`` as a process / a process that only loads the
  array (imports plantar, reads the file, touches every value)      (ratio)
- write_report() of the loaded trial: analysis, every figure, HTML + CSV +
  JSON, in s                                                        target <= 2 s
  (and of it: the analysis alone, and write_report given the analysis)

Three conditions of the demo walker (barefoot, shod, orthotic; 7 passes over
the 2 m x 0.5 m mat, about 20 foot contacts each):

- ``plantar report`` of the three files / a process that loads them  (ratio)
- write_report() of the three trials, in s                          target <= 2.5 s
  (and write_report given their analyses)
- size of the HTML file, plotly.js included / 8 MB                  target <= 1

``plantar demo`` (three conditions recorded from the virtual mat, calibrated,
analysed, compared, report written), as a process, in s             target <= 25 s

Each time is the median of ``--repeats`` runs (processes: of ``--repeats``
processes). Run: ``python benchmarks/report.py [--busy 1] [--no-demo]``.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import plantar
from plantar.report import write_report
from timing import BusyCores, MachineLoad, add_load_arguments

TARGET_ONE_S = 2.0
TARGET_THREE_S = 2.5
TARGET_DEMO_S = 25.0
TARGET_BYTES = 8e6

LOAD_ONLY = "import sys, plantar\nfor path in sys.argv[1:]:\n    float(plantar.read(path).pressure.values.sum())"


def _median_time(func, repeats, cpu=None):
    """Median wall time of ``repeats`` runs of ``func()``, s; with a list ``cpu``, append their median CPU time."""
    times, cpu_times = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        func()
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - start_cpu)
    if cpu is not None:
        cpu.append(statistics.median(cpu_times))
    return statistics.median(times)


def _process(args, env, cwd):
    subprocess.run([sys.executable, *args], check=True, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)  # fmt: skip


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="repeats of each time (default 3)")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the one trial, s (default 60)")
    parser.add_argument("--passes", type=int, default=7, help="passes per condition (default 7)")
    parser.add_argument("--no-demo", action="store_true", help="do not time plantar demo")
    add_load_arguments(parser)
    args = parser.parse_args()

    # The processes run the plantar this script imports.
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(Path(plantar.__file__).parents[1])] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])))  # fmt: skip
    one, truth = plantar.synth.walk(seed=0, duration_s=args.seconds)
    walks = plantar.datasets.demo_walks(seed=0, passes=args.passes)
    three = {label: trial for label, (trial, _) in walks.items()}
    print(f"one trial: {one.sizes['time']} frames of {one.sizes['y']} x {one.sizes['x']} sensels "
          f"({one.pressure.nbytes / 1e6:.0f} MB), {truth.sizes['step']} foot contacts")  # fmt: skip
    for label, (trial, truth) in walks.items():
        print(f"{label}: {trial.sizes['time']} frames, {truth.sizes['step']} foot contacts "
              f"({int(truth.complete.sum())} complete)")  # fmt: skip

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        one_nc = folder / "one.nc"
        plantar.io.save(one, one_nc)
        three_nc = [folder / f"{label}.nc" for label in three]
        for path, trial in zip(three_nc, three.values()):
            plantar.io.save(trial, path)
        one_analysis = plantar.analyze(one)  # also warms up imports and caches
        three_analyses = {label: plantar.analyze(trial) for label, trial in three.items()}
        out = folder / "out"
        out.mkdir()

        def report(trials, **kwargs):
            return write_report(trials, out / "report.html", overwrite=True, verbose="error", **kwargs)

        with BusyCores(args.busy), MachineLoad() as load:
            r = args.repeats
            load_one = _median_time(lambda: _process(["-c", LOAD_ONLY, str(one_nc)], env, out), r)
            cli_one = _median_time(lambda: _process(["-m", "plantar", "report", str(one_nc), "-o", "r1.html",
                                                     "--overwrite"], env, out), r)  # fmt: skip
            cpu = []  # this process's CPU time of the in-process runs, s: what the machine's load does not change
            report_one = _median_time(lambda: report([one]), r, cpu)
            analyze_one = _median_time(lambda: plantar.analyze(one), r, cpu)
            given_one = _median_time(lambda: report([one], analyses=[one_analysis]), r, cpu)
            load_three = _median_time(lambda: _process(["-c", LOAD_ONLY, *map(str, three_nc)], env, out), r)
            cli_three = _median_time(lambda: _process(["-m", "plantar", "report", *map(str, three_nc), "-o",
                                                       "r3.html", "--overwrite"], env, out), r)  # fmt: skip
            report_three = _median_time(lambda: report(three), r, cpu)
            given_three = _median_time(lambda: report(three, analyses=three_analyses), r, cpu)
            html_bytes = (out / "report.html").stat().st_size
            demo = None
            if not args.no_demo:
                before = os.times()
                demo = _median_time(lambda: _process(["-m", "plantar", "demo", "-o", "demo", "--overwrite"], env, out),
                                    1)  # fmt: skip
                after = os.times()
                demo_cpu = (after.children_user + after.children_system) - (before.children_user + before.children_system)
                demo_out = out / "demo"
                lost = [int(plantar.read(demo_out / f"{label}.counts.nc").attrs["frames_lost"]) for label in three]
                contacts = [plantar.analyze(plantar.read(demo_out / f"{label}.nc")).sizes["step"] for label in three]

    import plotly.offline

    plotlyjs = len(plotly.offline.get_plotlyjs().encode())
    print(f"one {args.seconds:g} s trial: plantar report {cli_one:.2f} s vs a process that loads it {load_one:.2f} s "
          f"= {cli_one / load_one:.1f} x")  # fmt: skip
    print(f"  write_report: {report_one:.2f} s (target <= {TARGET_ONE_S:g} s), of which analyze {analyze_one:.2f} s; "
          f"given the analysis {given_one:.2f} s")  # fmt: skip
    print(f"  CPU time of this process: {cpu[0]:.2f} s, analyze {cpu[1]:.2f} s, given the analysis {cpu[2]:.2f} s")
    print(f"three conditions: plantar report {cli_three:.2f} s vs a process that loads them {load_three:.2f} s "
          f"= {cli_three / load_three:.1f} x")  # fmt: skip
    print(f"  write_report: {report_three:.2f} s (target <= {TARGET_THREE_S:g} s); given the analyses "
          f"{given_three:.2f} s")  # fmt: skip
    print(f"  CPU time of this process: {cpu[3]:.2f} s; given the analyses {cpu[4]:.2f} s")
    print(f"  report.html: {html_bytes / 1e6:.2f} MB, of which plotly.js {plotlyjs / 1e6:.2f} MB; "
          f"ratio to the {TARGET_BYTES / 1e6:g} MB target: {html_bytes / TARGET_BYTES:.2f}")  # fmt: skip
    if demo is not None:
        print(f"plantar demo: {demo:.1f} s (target <= {TARGET_DEMO_S:g} s), {demo_cpu:.1f} s of CPU; "
              f"foot contacts {contacts}; frames lost in the recordings {lost}")  # fmt: skip
    print(f"times: median of {args.repeats}" + ("; the demo once" if demo is not None else ""))
    print(load.line())
    ok = report_one <= TARGET_ONE_S and report_three <= TARGET_THREE_S and html_bytes <= TARGET_BYTES
    ok = ok and (demo is None or demo <= TARGET_DEMO_S)
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
