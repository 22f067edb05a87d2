"""Timing shared by the benchmark scripts."""

import time


def best_time(func, repeats):
    """The shortest of ``repeats`` runs of ``func()``, in s (the least disturbed by other load)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best
