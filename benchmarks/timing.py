"""Timing and machine load shared by the benchmark scripts.

Every benchmark prints, beside its ratios, how busy the machine was while it ran
(:class:`MachineLoad`): a ratio measured while other processes held the cores is
not the same claim as one measured on a quiet machine, and the README quotes both.
"""

import os
import time


def best_time(func, repeats):
    """The shortest of ``repeats`` runs of ``func()``, in s (the least disturbed by other load)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def _busy_and_total_jiffies():
    """CPU time of all cores since boot from /proc/stat, in clock ticks: (busy, total); None off Linux."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    values = [int(v) for v in fields[1:9]]  # user nice system idle iowait irq softirq steal
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def _own_cpu_s():
    """CPU time of this process and its waited-for children, s."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class MachineLoad:
    """How busy the machine was during a ``with`` block, and how much of it was this benchmark.

    On exit: ``cores`` (the machine's), ``machine_cores_busy`` (all processes, in
    cores: 1.0 = one core fully busy on average), ``own_cores`` (this process and
    its children) and ``others_cores`` (the rest, i.e. other load the benchmark
    competed with), averaged over the block's wall time; ``loadavg_1min`` at exit.
    Processes the benchmark starts but does not wait for (a mat simulated in
    another process) count as other load unless ``extra_own_cpu_s`` is given.

    Examples
    --------
    >>> with MachineLoad() as load:
    ...     _ = sum(range(10**6))
    >>> load.cores >= 1 and load.own_cores >= 0
    True
    """

    def __init__(self):
        self.cores = os.cpu_count() or 1
        self.extra_own_cpu_s = 0.0

    def __enter__(self):
        self._jiffies = _busy_and_total_jiffies()
        self._own = _own_cpu_s()
        self._wall = time.perf_counter()
        return self

    def __exit__(self, *exc):
        wall = max(time.perf_counter() - self._wall, 1e-9)
        self.wall_s = wall
        self.own_cores = (_own_cpu_s() - self._own + self.extra_own_cpu_s) / wall
        end = _busy_and_total_jiffies()
        if end is not None and self._jiffies is not None and end[1] > self._jiffies[1]:
            busy_fraction = (end[0] - self._jiffies[0]) / (end[1] - self._jiffies[1])
            self.machine_cores_busy = busy_fraction * self.cores
        else:
            self.machine_cores_busy = float("nan")
        self.others_cores = max(0.0, self.machine_cores_busy - self.own_cores)
        self.loadavg_1min = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        return False

    def line(self):
        """One line for the benchmark's output: the machine's load during the run."""
        quiet = "quiet" if self.others_cores < 0.25 else "busy"
        return (
            f"machine: {self.cores} cores; during the run other processes used {self.others_cores:.2f} "
            f"cores and this benchmark {self.own_cores:.2f} (load average {self.loadavg_1min:.2f}): {quiet}"
        )


def _spin(stop):
    while not stop.is_set():
        sum(range(10_000))


class BusyCores:
    """Keep ``n`` other processes spinning on the CPU during a ``with`` block.

    ``python benchmarks/X.py --busy 1`` measures the benchmark on a 2-core
    machine with the other core busy, the condition the targets are set for.
    ``n = 0`` does nothing.

    Examples
    --------
    >>> with BusyCores(0):
    ...     pass
    """

    def __init__(self, n):
        self.n = int(n)
        self._procs = []

    def __enter__(self):
        if self.n <= 0:
            return self
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        self._stop = context.Event()
        self._procs = [context.Process(target=_spin, args=(self._stop,), daemon=True) for _ in range(self.n)]
        for p in self._procs:
            p.start()
        return self

    def __exit__(self, *exc):
        if self._procs:
            self._stop.set()
            for p in self._procs:
                p.join(5)
                if p.is_alive():
                    p.kill()
        return False


def add_load_arguments(parser):
    """The ``--busy N`` option every benchmark takes (default 0: measure the machine as it is)."""
    parser.add_argument("--busy", type=int, default=0, metavar="N",
                        help="keep N other processes spinning during the run (N=1 on 2 cores: the other core busy)")
