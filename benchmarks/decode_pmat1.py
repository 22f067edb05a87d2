"""PMAT/1 decoding speed on realistic walking frames.

Takes the frames a virtual mat sends while a synthetic 70 kg walker crosses it
(sensor gain spread, noise, the firmware's dead band, zero-run encoding), for a
64 x 64 mat and a 128 x 256 walkway, and feeds the stream to the decoder in reads
of a given size, as a reader thread gets them from a USB port. Prints, measured
in this one run:

- wire bytes per frame (zero-run), and the share of frames with a foot on the mat
  (the others carry only the mat's two hot sensels)
- decoding speed in MB/s of wire bytes, per read size   target >= 100 MB/s
- speed / target                                        target >= 1
- the same per second of this process's CPU time (MB/CPU s): what the decoder
  does with the CPU it gets, less dependent on what else the machine runs

USB 2.0 high speed carries at most about 53 MB/s of bulk data (480 Mbit/s less
protocol overhead), so a decoder at 100 MB/s keeps up with any USB mat on one
core. Checks that every frame decodes to what was encoded. Times are the best of
several repeats; the machine's load during the timing is printed with them. Exits 0
when every speed meets the target, 1 if not.
Run: ``python benchmarks/decode_pmat1.py [--busy 1]``.
"""

import argparse

import numpy as np
import time

from timing import BusyCores, MachineLoad, add_load_arguments

from plantar.drivers import pmat1
from plantar.drivers.sim import VirtualMat

TARGET_MB_S = 100.0


def walking_stream(shape, pitch_mm, rate_hz, seconds, seed=0):
    """Encoded frames of a walk over a virtual mat, and the frames themselves."""
    mat = VirtualMat("pmat1", shape=shape, pitch_mm=pitch_mm, rate_hz=rate_hz, walk_s=seconds, seed=seed)
    n = int(seconds * rate_hz)
    frames = [mat.truth.counts(k) for k in range(n)]
    packets = [pmat1.encode_frame(f, seq=k, t_device_us=int(k * 1e6 / rate_hz)) for k, f in enumerate(frames)]
    with_foot = np.mean([mat.truth.pressure_kpa(k).any() for k in range(n)])
    return b"".join(packets), frames, with_foot


def decode_all(stream, read_bytes):
    parser = pmat1.Pmat1Parser()
    n = 0
    for start in range(0, len(stream), read_bytes):
        n += len(parser.feed(stream[start : start + read_bytes]))
    return n


def best_times(func, repeats):
    """The shortest wall time and the shortest CPU time of ``repeats`` runs of ``func()``, in s."""
    wall = cpu = float("inf")
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        func()
        wall, cpu = min(wall, time.perf_counter() - start), min(cpu, time.process_time() - start_cpu)
    return wall, cpu


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="walk length per mat (default: 20 s)")
    ap.add_argument("--repeats", type=int, default=5)
    add_load_arguments(ap)
    args = ap.parse_args()
    streams = []
    for shape, rate_hz in (((64, 64), 200.0), ((128, 256), 100.0)):
        stream, frames, loaded = walking_stream(shape, 8.0, rate_hz, args.seconds)
        parser = pmat1.Pmat1Parser()
        decoded = parser.feed(stream)
        assert len(decoded) == len(frames) and parser.stats.errors() == 0
        assert all(np.array_equal(d.counts, f) for d, f in zip(decoded, frames))
        streams.append((shape, stream, len(frames), loaded))
    print(f"{'mat':>9}  {'B/frame':>8}  {'a foot':>6}  {'read size':>9}  {'MB/s':>7}  {'/ target':>8}  {'MB/CPU s':>8}")
    slowest = float("inf")
    with BusyCores(args.busy), MachineLoad() as load:
        for shape, stream, n_frames, loaded in streams:
            for read_bytes in (16384, 65536, 262144):
                seconds, cpu_s = best_times(lambda: decode_all(stream, read_bytes), args.repeats)
                mb_s = len(stream) / seconds / 1e6
                slowest = min(slowest, mb_s)
                print(f"{shape[0]:>4} x {shape[1]:<3}  {len(stream) / n_frames:8.0f}  {loaded:6.0%}  "
                      f"{read_bytes:9d}  {mb_s:7.1f}  {mb_s / TARGET_MB_S:8.2f}  "
                      f"{len(stream) / max(cpu_s, 1e-9) / 1e6:8.1f}")  # fmt: skip
    print(load.line())
    ok = slowest >= TARGET_MB_S
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
