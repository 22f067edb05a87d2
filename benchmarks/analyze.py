"""Speed and memory of plantar.analyze on a walkway recording.

A 2 m x 0.5 m walkway at 5 mm pitch (400 x 100 sensels), 100 Hz, 60 s of walking
back and forth (6000 frames, about 60 steps). Printed, measured in this one run:

- analyze() time / one pass over the array (float(pressure.sum()))   target <= 20
- peak memory during analyze() / the array's size                     target <= 3

The memory is the peak of the allocations traced while analyze() runs (Python and
numpy both report to tracemalloc), plus the array itself, which is already there.
Times are the best of several repeats. Run: ``python benchmarks/analyze.py``.
"""

import argparse
import tracemalloc

import plantar
from timing import best_time


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="recording length (default 60)")
    parser.add_argument("--repeats", type=int, default=5, help="repeats per timing (default 5)")
    args = parser.parse_args()

    trial, truth = plantar.synth.walk(seed=0, duration_s=args.seconds)
    pressure = trial.pressure.values
    print(f"trial: {pressure.shape[0]} frames x {pressure.shape[1]} x {pressure.shape[2]} sensels "
          f"({pressure.nbytes / 1e6:.0f} MB), {truth.sizes['step']} foot contacts")  # fmt: skip

    plantar.analyze(trial)  # warm up imports and caches
    one_pass = best_time(lambda: float(pressure.sum()), args.repeats * 4)
    analysis_s = best_time(lambda: plantar.analyze(trial), args.repeats)

    tracemalloc.start()
    analysis = plantar.analyze(trial)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    time_ratio = analysis_s / one_pass
    memory_ratio = (pressure.nbytes + peak) / pressure.nbytes
    print(f"steps found: {analysis.sizes['step']} ({int(analysis.complete.sum())} complete)")
    print(f"analyze:  {analysis_s:.3f} s vs one pass {one_pass:.4f} s = {time_ratio:.1f} x   (target <= 20)")
    print(f"memory:   peak {peak / 1e6:.0f} MB above the {pressure.nbytes / 1e6:.0f} MB array "
          f"= {memory_ratio:.2f} x the array   (target <= 3)")  # fmt: skip
    ok = time_ratio <= 20 and memory_ratio <= 3
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
