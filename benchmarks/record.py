"""Recording from the virtual mat: lost frames and the recorder's CPU use.

Starts a virtual 64 x 64 mat at 200 Hz (PMAT/1, zero-run frames of a synthetic
walk) on a pseudo-terminal in this process, and records it for 60 s with
``plantar record`` in a separate process, as a clinic would. Prints, measured in
this one run:

- frames the mat sent that the recording lacks          target 0
- frames the mat dropped because the host did not read (its output backed up)
                                                        target 0
  (the mat's own thread, when held up by other load, sends its scans late but
  never skips one)
- the recorder process's CPU time / wall time           target < 15 % of one core
  (everything: start-up, reading, decoding, the journal, the NetCDF at the end)

Run: ``python benchmarks/record.py`` (about 70 s).
"""

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


import plantar
from plantar.drivers.sim import VirtualMat

TARGET_CPU = 0.15


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--rate-hz", type=float, default=200.0)
    args = ap.parse_args()
    out = Path(tempfile.mkdtemp()) / "walk.nc"
    with VirtualMat("pmat1", shape=(64, 64), pitch_mm=8.0, rate_hz=args.rate_hz, walk_s=20.0) as mat:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        subprocess.run(
            [sys.executable, "-m", "plantar", "-q", "record", "--port", mat.url, "--seconds", str(args.seconds),
             "-o", str(out)],
            check=True,
        )  # fmt: skip
        wall = time.monotonic() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    raw = plantar.read(out)
    scans = mat.truth.scans
    first, last = int(raw.seq.values[0]), int(raw.seq.values[-1])
    span = (scans["seq"] >= first) & (scans["seq"] <= last)
    sent = set(scans["seq"][span & (scans["fate"] == "sent")].tolist())
    missing = len(sent - set(raw.seq.values.tolist()))
    t_first, t_last = scans["t_scan_ns"][span][[0, -1]]
    backlog = sum(1 for t, kind, _ in mat.truth.events if kind == "backlog" and t_first <= t <= t_last)
    print(f"recorded {raw.sizes['time']} frames of 64 x 64 at {raw.attrs['sampling_rate_hz']:.2f} Hz over "
          f"{float(raw.time[-1]):.1f} s ({os.path.getsize(out) / 1e6:.1f} MB); the mat sent {len(sent)}")  # fmt: skip
    print(f"sent but not recorded: {missing} (target 0); dropped by the mat because the host lagged: {backlog} "
          f"(target 0); counted lost in the recording: {raw.attrs['frames_lost']} (= {backlog} expected)")  # fmt: skip
    print(f"recorder process: {cpu:.2f} s CPU in {wall:.1f} s wall = {cpu / wall:.1%} of one core "
          f"(target < {TARGET_CPU:.0%}; ratio to target {cpu / wall / TARGET_CPU:.2f})")  # fmt: skip


if __name__ == "__main__":
    main()
