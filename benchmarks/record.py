"""Recording from a virtual mat in another process: the recorder's CPU and lost frames.

A virtual 64 x 64 mat at 200 Hz (PMAT/1, zero-run frames of a synthetic walk)
runs in a process of its own and serves a pseudo-terminal, as a USB mat serves
its port; ``plantar record`` records it for 60 s in a third process, exactly as
a user runs it against a real mat. So neither the simulator's work nor this
script's is in what is measured, and the simulator cannot be held up by the
recorder's threads. Prints, measured in this one run:

- frames the mat sent that the recording lacks                    target 0
- frames the mat dropped because the host did not read them        target 0
  (its output backed up) and frames the recording counts lost (must be equal)
- whether the simulator kept up: scans it sent later than 10 ms after they
  were due (it sends a late scan late, never skips it) and its own CPU
- the recorder process's CPU time (everything: start-up, reading, decoding,
  the journal, the NetCDF at the end) per second recorded   target <= 10 % of a core
- on Linux, the same split into start-up, recording (per s) and finishing, each
  with its share of the recorder's CPU, and the steady state alone against the
  target (the target is for the total)

with the machine's load during the run. Exits 0 when every target is met, 1 if not.

Run: ``python benchmarks/record.py [--busy 1]`` (about 70 s).
"""

import argparse
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from timing import BusyCores, MachineLoad, add_load_arguments

import plantar

TARGET_CPU = 0.10
SHAPE = (64, 64)
#: A scan sent this long after it was due counts as late, in ns.
LATE_NS = 10_000_000


def serve_mat(conn, rate_hz, link):
    """The simulator's process: run a virtual mat until told to stop, then send back what it did."""
    from plantar.drivers.sim import VirtualMat

    with VirtualMat("pmat1", shape=SHAPE, pitch_mm=8.0, rate_hz=rate_hz, walk_s=20.0, link=link) as mat:
        cpu_start = time.process_time()
        conn.send(mat.url)
        conn.recv()
        cpu_s = time.process_time() - cpu_start
    scans = mat.truth.scans
    backlog = [t for t, kind, _ in mat.truth.events if kind == "backlog"]
    conn.send({
        "seq": scans["seq"], "fate": scans["fate"], "t_scan_ns": scans["t_scan_ns"],
        "t_host_ns": scans["t_host_ns"], "backlog_ns": np.array(backlog, np.int64), "cpu_s": cpu_s,
    })  # fmt: skip


def _cpu_s(pid):
    """CPU time of a running process from /proc (Linux), in s; None elsewhere or once it has ended."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def record_process(url, seconds, out):
    """Run ``plantar record`` in a process of its own; return its CPU (total, and by phase) and wall time."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(Path(plantar.__file__).parents[1]),
                                                                     os.environ.get("PYTHONPATH")])))  # fmt: skip
    journal = out.with_suffix(".pmrec")
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "plantar", "-q", "record", "--port", url, "--seconds", str(seconds), "-o", str(out)],
        env=env, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    phases = {}  # "journal": (t, CPU) when the recording began; "samples": (t, CPU) in its middle
    marks = []
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)  # not proc.poll(): it would discard the usage
        if pid:
            break
        now = time.monotonic()
        if "journal" not in phases and journal.exists():
            phases["journal"] = (now, _cpu_s(proc.pid))
            marks = [now + 1.0, now + seconds - 0.5]  # the recording's middle: no start, no finish
        if marks and now >= marks[0]:
            phases.setdefault("samples", []).append((now, _cpu_s(proc.pid)))
            marks.pop(0)
        time.sleep(0.02)
    wall = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"plantar record failed (exit status {proc.returncode})")
    return usage.ru_utime + usage.ru_stime, wall, phases


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="recording length (default 60 s)")
    ap.add_argument("--rate-hz", type=float, default=200.0, help="scan rate (default 200 Hz)")
    ap.add_argument("--link", choices=("pty", "tcp"), default="pty", help="the mat's link (default pty)")
    add_load_arguments(ap)
    args = ap.parse_args()
    out = Path(tempfile.mkdtemp()) / "walk.nc"
    context = multiprocessing.get_context("spawn")
    here, there = context.Pipe()
    sim = context.Process(target=serve_mat, args=(there, args.rate_hz, args.link), daemon=True)
    sim.start()
    url = here.recv()
    with BusyCores(args.busy), MachineLoad() as load:
        try:
            cpu, wall, phases = record_process(url, args.seconds, out)
        finally:
            here.send("stop")
            mat = here.recv()
            load.extra_own_cpu_s = mat["cpu_s"]  # the simulator's CPU is this benchmark's, not other load
    sim.join(10)

    raw = plantar.read(out)
    first, last = int(raw.seq.values[0]), int(raw.seq.values[-1])
    span = (mat["seq"] >= first) & (mat["seq"] <= last)
    sent = set(mat["seq"][span & (mat["fate"] == "sent")].tolist())
    missing = len(sent - set(raw.seq.values.tolist()))
    t_first, t_last = mat["t_scan_ns"][span][[0, -1]]
    backlog = int(np.count_nonzero((mat["backlog_ns"] >= t_first) & (mat["backlog_ns"] <= t_last)))
    written = span & (mat["t_host_ns"] >= 0)
    late_ns = mat["t_host_ns"][written] - mat["t_scan_ns"][written]
    n_late = int(np.count_nonzero(late_ns > LATE_NS))
    share = cpu / args.seconds
    print(f"recorded {raw.sizes['time']} frames of {SHAPE[0]} x {SHAPE[1]} at {raw.attrs['sampling_rate_hz']:.2f} Hz "
          f"over {float(raw.time[-1]):.1f} s ({os.path.getsize(out) / 1e6:.1f} MB); the mat sent {len(sent)}")  # fmt: skip
    print(f"sent but not recorded: {missing} (target 0); dropped by the mat because the host lagged: {backlog} "
          f"(target 0); counted lost in the recording: {raw.attrs['frames_lost']} (= {backlog} expected)")  # fmt: skip
    print(f"simulator (its own process): {n_late} of {int(written.sum())} scans sent more than "
          f"{LATE_NS / 1e6:g} ms late (latest {late_ns.max() / 1e6:.1f} ms), {backlog} dropped; "
          f"{mat['cpu_s'] / wall:.1%} of a core: {'kept up' if backlog == 0 else 'DID NOT KEEP UP'}")  # fmt: skip
    samples = phases.get("samples", [])
    if "journal" in phases and phases["journal"][1] is not None and len(samples) == 2 and None not in dict(samples).values():
        (t1, c1), (t2, c2) = samples
        start_cpu = phases["journal"][1]
        steady = (c2 - c1) / (t2 - t1)
        finish = cpu - start_cpu - steady * args.seconds
        print(f"recorder by phase: start-up {start_cpu:.2f} s CPU ({start_cpu / cpu:.0%} of its CPU); recording "
              f"{steady:.1%} of a core ({steady * args.seconds / cpu:.0%}); finishing (journal to NetCDF) about "
              f"{finish:.2f} s CPU ({finish / cpu:.0%})")  # fmt: skip
        print(f"steady state alone: {steady:.1%} of a core (target <= {TARGET_CPU:.0%}: "
              f"{'met' if steady <= TARGET_CPU else 'MISSED'}); start-up and finish add "
              f"{(start_cpu + finish) / args.seconds:.1%} of a core over {args.seconds:g} s")  # fmt: skip
    print(f"recorder process: {cpu:.2f} s CPU for {args.seconds:g} s recorded ({wall:.1f} s wall) = {share:.1%} "
          f"of one core (target <= {TARGET_CPU:.0%}; ratio to target {share / TARGET_CPU:.2f})")  # fmt: skip
    print(load.line())
    ok = missing == 0 and backlog == 0 and raw.attrs["frames_lost"] == backlog and share <= TARGET_CPU
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
