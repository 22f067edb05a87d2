"""Native file size and read speed of a walkway recording.

A 2 m x 0.5 m walkway at 5 mm pitch (400 x 100 sensels) recording 60 s of walking
back and forth at 100 Hz (6000 frames). Printed, measured in this one run:

- file size / raw float32 size          target < 0.15
- plantar.read time / np.load time      target < 3
- plantar.save time / np.save time      (for information)

Times are the best of several repeats, interleaved, so that both sides see the
same machine load and page cache; the machine's load during the run is printed.
Run: ``python benchmarks/netcdf_io.py [--busy 1]``.
"""

import argparse
import os
import tempfile
import time

import numpy as np

import plantar
from timing import BusyCores, MachineLoad, add_load_arguments, best_time


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="recording length (default 60)")
    parser.add_argument("--repeats", type=int, default=5, help="repeats per timing (default 5)")
    add_load_arguments(parser)
    args = parser.parse_args()

    start = time.perf_counter()
    trial, truth = plantar.synth.walk(seed=0, duration_s=args.seconds)
    generate_s = time.perf_counter() - start
    pressure = trial.pressure.values
    raw_bytes = pressure.nbytes
    print(f"trial: {pressure.shape[0]} frames x {pressure.shape[1]} x {pressure.shape[2]} sensels, "
          f"{raw_bytes / 1e6:.0f} MB as float32, {truth.sizes['step']} foot contacts "
          f"(synthesised in {generate_s:.1f} s)")  # fmt: skip

    with (
        BusyCores(args.busy),
        MachineLoad() as load,
        tempfile.TemporaryDirectory(dir=os.environ.get("PLANTAR_BENCH_DIR")) as folder,
    ):
        nc_path = os.path.join(folder, "walk.nc")
        npy_path = os.path.join(folder, "walk.npy")
        save_times, npsave_times, read_times, load_times = [], [], [], []
        for _ in range(args.repeats):
            save_times.append(best_time(lambda: plantar.save(trial, nc_path, overwrite=True), 1))
            npsave_times.append(best_time(lambda: np.save(npy_path, pressure), 1))
            read_times.append(best_time(lambda: plantar.read(nc_path), 1))
            load_times.append(best_time(lambda: np.load(npy_path), 1))
        file_bytes = os.path.getsize(nc_path)
        back = plantar.read(nc_path)
        assert back.identical(trial), "round trip is not exact"

    size_ratio = file_bytes / raw_bytes
    read_ratio = min(read_times) / min(load_times)
    save_ratio = min(save_times) / min(npsave_times)
    print(f"file size:  {file_bytes / 1e6:.1f} MB = {size_ratio:.3f} x raw float32   (target < 0.15)")
    print(f"read:       {min(read_times):.3f} s vs np.load {min(load_times):.3f} s = {read_ratio:.2f} x   (target < 3)")
    print(f"save:       {min(save_times):.3f} s vs np.save {min(npsave_times):.3f} s = {save_ratio:.2f} x")
    print(load.line())
    ok = size_ratio < 0.15 and read_ratio < 3
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
