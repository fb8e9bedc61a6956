"""Run functions for the experiments tests.

They live in a module (not in the test files) so that worker processes can
unpickle them by reference.
"""
import os
import time

import numpy as np

CALLS = []  # (config, seed) of calls made in this process (InlineExecutor tests)
# seconds per slow_run (worker processes read XP_SLEEP); tests set it to 0 when resuming in-process
SLEEP = float(os.environ.get("XP_SLEEP", "0.05"))


def quad_run(lr, dtype, seed, steps=20):
    """GD on 0.5 * |x|^2 in ``dtype``: a loss curve (array in dtype) and scalars."""
    dt = np.dtype(dtype)
    x = np.random.default_rng(seed).standard_normal(4).astype(dt)
    losses = []
    for _ in range(steps):
        losses.append(dt.type(0.5) * (x @ x))
        x = x - dt.type(lr) * x
    curve = np.asarray(losses, dtype=dt)
    return {"loss": curve, "final": curve[-1], "py_final": float(curve[-1]),
            "tag": f"lr={lr}", "nested": {"x": x, "n": len(losses)}}


def counting_run(a, seed):
    CALLS.append((a, seed))
    return {"value": float(a * 10 + seed)}


def failing_run(a, seed):
    if a == 2:
        raise ValueError(f"bad a={a} at seed {seed}")
    return {"value": float(a + seed)}


def slow_run(a, seed):
    time.sleep(SLEEP)
    return {"value": np.full(3, a + seed, dtype=np.float32), "pid": os.getpid()}


def pid_run(a, seed):
    return {"pid": os.getpid()}


def die_run(a, seed):
    if a == 1:
        os._exit(3)  # the worker process dies: not an exception
    return {"value": a}


def always_die(a, seed):
    os._exit(4)
