"""plantar.analyze on long in-shoe recordings: does it stay linear in the recording's length?

A synthetic pair of insoles (``plantar.synth.insoles``: both feet on one grid, 100 Hz,
float32) walking for 1, 2, 5, 10, 20 and 60 min (6,000 to 360,000 frames). Printed
for each length, measured in this one run:

- analyze() time, and the parts of it spent in footstep segmentation and side
  assignment (timed inside the same call);
- output size: the analysis's bytes (sum of its variables' nbytes) / the pressure
  array's bytes                                                        target <= 0.2
- peak memory: (the array + the peak of the allocations traced while analyze()
  runs, as in benchmarks/analyze.py) / the array                      target <= 1.2

and the time exponent: the slope of log(time) against log(frames), fitted over all
lengths, for analyze() and each part                                  target <= 1.05
(and, beside it, the exponent of analyze()'s CPU time: on a machine busier than one
other core the wall time measures the scheduler as much as the work)

Memory is traced in a second call (tracing slows the call down), up to
``--trace-minutes`` (default 5 min; the ratio does not depend on the length).
Lengths from 5 min on are timed once, shorter ones as the best of three. The whole
run takes about 5 min on a quiet 2-core machine and three times that on a busy one
(``--max-minutes 20`` stops earlier).
Second case, insoles of irregular sensors (``--case sensors``, or ``both``, the default):
one minute of ``plantar.synth.sensor_insoles`` (96 sensors per insole, about a pedar insole) repeated
to each length, analysed by the insole rule; printed: time and the time exponent
(target <= 1.05) and the output / input bytes (reported: it is the per-step series and
regional force curves, a constant share of an input of only 196 values per frame).
Run: ``python benchmarks/analyze_long.py [--max-minutes 20] [--busy 1] [--case grid|sensors|both]``.
"""

import argparse
import time
import tracemalloc

import numpy as np

import plantar
from plantar.steps import FootstepSegmentation, SideAssignment
from timing import BusyCores, MachineLoad, add_load_arguments

LENGTHS_MIN = (1, 2, 5, 10, 20, 60)
TARGETS = dict(exponent=1.05, output=0.2, memory=1.2)


class _TimedSegmentation(FootstepSegmentation):
    """Footstep segmentation that adds the time it takes to ``seconds``."""

    seconds = 0.0

    def _segment_checked(self, trial):
        start = time.perf_counter()
        result = super()._segment_checked(trial)
        type(self).seconds += time.perf_counter() - start
        return result


class _TimedSides(SideAssignment):
    """Side assignment that adds the time it takes to ``seconds``."""

    seconds = 0.0

    def assign(self, **kwargs):
        start = time.perf_counter()
        result = super().assign(**kwargs)
        type(self).seconds += time.perf_counter() - start
        return result


def _timed_analysis(trial):
    """(analysis, total s, segmentation s, side assignment s, total CPU s) of one analyze() call."""
    _TimedSegmentation.seconds = _TimedSides.seconds = 0.0
    start, start_cpu = time.perf_counter(), time.process_time()
    analysis = plantar.analyze(trial, segmentation=_TimedSegmentation(), sides=_TimedSides())
    return (analysis, time.perf_counter() - start, _TimedSegmentation.seconds, _TimedSides.seconds,
            time.process_time() - start_cpu)  # fmt: skip


def _slope(frames, seconds):
    """Least-squares slope of log(seconds) against log(frames)."""
    return float(np.polyfit(np.log(frames), np.log(seconds), 1)[0])


def _sensor_trial(base, minutes):
    """The one-minute sensor recording ``base`` repeated ``minutes`` times (same sensors, 100 Hz)."""
    return plantar.make_sensor_trial(
        np.tile(base.pressure.values, (minutes, 1)), sensor_number=base.sensor_number.values,
        sensor_side=base.sensor_side.values, sensor_x_mm=base.sensor_x.values, sensor_y_mm=base.sensor_y.values,
        sensor_area_mm2=base.sensor_area.values, outline_x_mm=base.outline_x.values,
        outline_y_mm=base.outline_y.values, rate_hz=float(base.attrs["sampling_rate_hz"]),
    )  # fmt: skip


def _sensor_case(lengths):
    """Time and output of analyze() on sensor insoles of each length; return (exponent, largest output ratio)."""
    base, _, _ = plantar.synth.sensor_insoles(seed=0, duration_s=60.0, fine_pitch_mm=8.0)
    plantar.analyze(base)  # warm up
    rows = []
    print(f"sensor insoles ({base.sizes['sensor']} sensors)")
    print(f"{'min':>4} {'frames':>8} {'steps':>6} {'input MB':>9} {'analyze s':>10} {'cpu s':>8} {'output/in':>10}")
    for minutes in lengths:
        trial = _sensor_trial(base, minutes)
        pressure = trial.pressure.values
        runs = []
        for _ in range(3 if minutes < 5 else 1):
            start, start_cpu = time.perf_counter(), time.process_time()
            analysis = plantar.analyze(trial)
            runs.append((time.perf_counter() - start, time.process_time() - start_cpu))
        total, cpu = min(r[0] for r in runs), min(r[1] for r in runs)
        output = sum(v.nbytes for v in analysis.variables.values()) / pressure.nbytes
        rows.append((pressure.shape[0], total, cpu, output))
        print(f"{minutes:>4} {pressure.shape[0]:>8} {analysis.sizes['step']:>6} {pressure.nbytes / 1e6:>9.0f} "
              f"{total:>10.2f} {cpu:>8.2f} {output:>10.3f}", flush=True)  # fmt: skip
        del trial, pressure, analysis
    frames, total, cpu, output = (np.array(column) for column in zip(*rows))
    exponent = _slope(frames, total)
    print(f"sensor insoles: time exponent {exponent:.3f} (target <= {TARGETS['exponent']}), cpu time exponent "
          f"{_slope(frames, cpu):.3f}; output {output.min():.3f} .. {output.max():.3f} x the input")  # fmt: skip
    return exponent, float(output.max())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-minutes", type=float, default=60.0, help="stop after this length (default 60)")
    parser.add_argument("--trace-minutes", type=float, default=5.0,
                        help="trace memory up to this length (default 5)")  # fmt: skip
    parser.add_argument("--case", choices=("grid", "sensors", "both"), default="both",
                        help="the grid insoles, the insoles of irregular sensors, or both (default)")  # fmt: skip
    add_load_arguments(parser)
    args = parser.parse_args()
    lengths = [m for m in LENGTHS_MIN if m <= args.max_minutes]
    if len(lengths) < 2:
        parser.error("--max-minutes must allow at least two lengths (>= 2)")

    if args.case == "sensors":
        with BusyCores(args.busy), MachineLoad() as load:
            exponent, _ = _sensor_case(lengths)
        print(load.line())
        ok = exponent <= TARGETS["exponent"]
        print("targets met" if ok else "TARGETS MISSED")
        return 0 if ok else 1
    plantar.analyze(plantar.synth.insoles(seed=0, duration_s=10.0)[0])  # warm up imports and caches
    rows = []
    print(f"{'min':>4} {'frames':>8} {'steps':>6} {'input MB':>9} {'analyze s':>10} {'segment s':>10} "
          f"{'sides s':>8} {'output/in':>10} {'memory/in':>10}")  # fmt: skip
    with BusyCores(args.busy), MachineLoad() as load:
        for minutes in lengths:
            trial, _ = plantar.synth.insoles(seed=0, duration_s=60.0 * minutes)
            pressure = trial.pressure.values
            runs = [_timed_analysis(trial) for _ in range(3 if minutes < 5 else 1)]
            analysis, total, segment, sides, cpu = min(runs, key=lambda run: run[1])
            cpu = min(run[4] for run in runs)
            output = sum(v.nbytes for v in analysis.variables.values()) / pressure.nbytes
            memory = float("nan")
            if minutes <= args.trace_minutes:
                del analysis, runs
                tracemalloc.start()
                analysis = plantar.analyze(trial)
                _, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
                memory = (pressure.nbytes + peak) / pressure.nbytes
            rows.append((pressure.shape[0], total, segment, sides, output, memory, cpu))
            print(f"{minutes:>4} {pressure.shape[0]:>8} {analysis.sizes['step']:>6} {pressure.nbytes / 1e6:>9.0f} "
                  f"{total:>10.2f} {segment:>10.2f} {sides:>8.3f} {output:>10.3f} "
                  f"{'-' if np.isnan(memory) else f'{memory:.2f}':>10}", flush=True)  # fmt: skip
            del trial, pressure, analysis
        sensor_exponent = _sensor_case(lengths)[0] if args.case == "both" else 0.0

    frames, total, segment, sides, output, memory, cpu = (np.array(column) for column in zip(*rows))
    exponent = _slope(frames, total)
    rest = np.clip(total - segment - sides, 1e-9, None)
    print(f"time exponent (log-log slope over {len(rows)} lengths): analyze {exponent:.3f}   (target <= "
          f"{TARGETS['exponent']}); segmentation {_slope(frames, segment):.3f}, side assignment "
          f"{_slope(frames, np.clip(sides, 1e-9, None)):.3f}, the rest {_slope(frames, rest):.3f}")  # fmt: skip
    print(f"cpu time exponent: analyze {_slope(frames, cpu):.3f} (not a target; the work without the waiting on a "
          f"busy machine)")  # fmt: skip
    print(f"output:   at most {output.max():.3f} x the input   (target <= {TARGETS['output']})")
    traced = memory[np.isfinite(memory)]
    print(f"memory:   peak at most {traced.max():.2f} x the input, traced up to {args.trace_minutes:g} min   "
          f"(target <= {TARGETS['memory']})")  # fmt: skip
    print(load.line())
    ok = (exponent <= TARGETS["exponent"] and output.max() <= TARGETS["output"] and traced.max() <= TARGETS["memory"]
          and sensor_exponent <= TARGETS["exponent"])
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
