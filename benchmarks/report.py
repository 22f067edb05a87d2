"""Time and size of the loading report for three conditions of about 20 steps each.

The demo walker (70 kg, right heel offloaded) walks barefoot, shod and with the
orthotic, 7 passes over the 2 m x 0.5 m demo mat each (about 20 foot contacts per
condition). Printed, measured in this one run:

- time of write_report() from the three trials (analysis, comparison, every
  figure, HTML + CSV + JSON) / 10 s target                      target <= 1
- size of the HTML file, plotly.js included / 8 MB target        target <= 1

Times are the best of a few repeats. Run: ``python benchmarks/report.py``.
"""

import argparse
import tempfile
import time
from pathlib import Path

import plantar
from plantar.report import write_report

TARGET_S = 10.0
TARGET_BYTES = 8e6


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=7, help="passes per condition (default 7)")
    parser.add_argument("--repeats", type=int, default=3, help="repeats (default 3)")
    args = parser.parse_args()

    walks = plantar.datasets.demo_walks(seed=0, passes=args.passes)
    trials = {label: trial for label, (trial, _) in walks.items()}
    for label, (trial, truth) in walks.items():
        print(f"{label}: {trial.sizes['time']} frames, {truth.sizes['step']} foot contacts "
              f"({int(truth.complete.sum())} complete)")  # fmt: skip

    with tempfile.TemporaryDirectory() as folder:
        best, sizes = float("inf"), {}
        for k in range(args.repeats):
            out = Path(folder) / f"report{k}.html"
            start = time.perf_counter()
            paths = write_report(trials, out, verbose="error")
            best = min(best, time.perf_counter() - start)
            sizes = {kind: path.stat().st_size for kind, path in paths.items()}
    import plotly.offline

    plotlyjs = len(plotly.offline.get_plotlyjs().encode())
    print(f"write_report: {best:.2f} s (best of {args.repeats}); ratio to the {TARGET_S:g} s target: "
          f"{best / TARGET_S:.2f}")  # fmt: skip
    print(f"report.html: {sizes['html'] / 1e6:.2f} MB, of which plotly.js {plotlyjs / 1e6:.2f} MB; "
          f"ratio to the {TARGET_BYTES / 1e6:g} MB target: {sizes['html'] / TARGET_BYTES:.2f}")  # fmt: skip
    print(f"report.csv: {sizes['csv'] / 1e6:.2f} MB, report.json: {sizes['json'] / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
