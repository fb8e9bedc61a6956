"""Timing helpers shared by the benchmark scripts (tests never time anything).

Each helper calls ``fn`` once (warm-up, compilation), doubles the number of
calls per sample until a sample lasts ``min_time / repeat`` (at most 2^16
calls), then takes ``repeat`` samples and returns a per-call time.
"""
from __future__ import annotations

import time

import numpy as np

__all__ = ["median_time", "best_time"]


def _samples(fn, min_time, repeat, clock):
    fn()
    n = 1
    while True:
        t0 = clock()
        for _ in range(n):
            fn()
        if clock() - t0 > min_time / repeat or n >= 1 << 16:
            break
        n *= 2
    out = []
    for _ in range(repeat):
        t0 = clock()
        for _ in range(n):
            fn()
        out.append((clock() - t0) / n)
    return out


def median_time(fn, min_time=0.3, repeat=7):
    """Median per-call wall-clock time (seconds)."""
    return float(np.median(_samples(fn, min_time, repeat, time.perf_counter)))


def best_time(fn, min_time=0.2, repeat=5):
    """Best per-call process CPU time (seconds): less sensitive to other load."""
    return float(min(_samples(fn, min_time, repeat, time.process_time)))
