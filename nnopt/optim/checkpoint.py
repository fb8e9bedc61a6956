"""Checkpoints: ``(theta, optimizer state, rng state, sampler, history)`` in one
``.npz`` file, written atomically.

The file is written to a temporary file in the same directory, flushed to
disk and renamed over the target (``os.replace``), so a run interrupted at
any moment leaves either the previous checkpoint or the new one, never a
torn file.  Loading never unpickles (``allow_pickle=False``); the optimizer
state is rebuilt from the template ``optimizer.init(theta)`` and checked
against the stored structure.
"""
from __future__ import annotations

import json
import os
import tempfile

import numpy as np

__all__ = ["save_checkpoint", "load_checkpoint", "tree_flatten", "tree_unflatten",
           "tree_signature", "CheckpointError"]

FORMAT = "nnopt.optim.checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint that cannot be used for this run."""


def tree_flatten(tree):
    """Leaves of a state (nested tuples/NamedTuples of arrays), depth first."""
    if isinstance(tree, tuple):
        out = []
        for t in tree:
            out.extend(tree_flatten(t))
        return out
    return [tree]


def tree_signature(tree):
    """A string naming the structure, leaf dtypes and shapes of a state."""
    if isinstance(tree, tuple):
        name = type(tree).__name__
        return f"{name}({','.join(tree_signature(t) for t in tree)})"
    a = np.asarray(tree)
    return f"{a.dtype.str}{list(a.shape)}"


def tree_unflatten(template, leaves):
    """Rebuild a state shaped like ``template`` from ``leaves``."""
    it = iter(leaves)

    def build(t):
        if isinstance(t, tuple):
            items = [build(x) for x in t]
            return type(t)(*items) if hasattr(t, "_fields") else type(t)(items)
        leaf = next(it)
        if isinstance(t, np.ndarray):
            return np.array(leaf, dtype=t.dtype)
        return type(t)(np.asarray(leaf).item())

    out = build(template)
    rest = list(it)
    if rest:
        raise CheckpointError(f"checkpoint: {len(rest)} optimizer-state arrays left over")
    return out


def save_checkpoint(path, *, theta, opt_state, rng_state, sampler, history, meta,
                    extra=None):
    """Write a checkpoint atomically (see the module docstring)."""
    path = os.fspath(path)
    arrays = {"theta": np.asarray(theta)}
    for i, leaf in enumerate(tree_flatten(opt_state)):
        arrays[f"state_{i:05d}"] = np.asarray(leaf)
    for k, v in history.as_dict().items():
        arrays[f"history_{k}"] = v
    if sampler.get("perm") is not None:
        arrays["sampler_perm"] = np.asarray(sampler["perm"])
    for k, v in (extra or {}).items():
        arrays[f"extra_{k}"] = np.asarray(v)
    m = dict(meta)
    m.update(format=FORMAT, version=VERSION, rng_state=_jsonable(rng_state),
             sampler_pos=int(sampler.get("pos", 0)), state_signature=tree_signature(opt_state),
             n_state=len(tree_flatten(opt_state)))
    arrays["meta"] = np.asarray(json.dumps(m, sort_keys=True))
    directory = os.path.dirname(os.path.abspath(path)) or "."
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".ckpt-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename durable
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:  # pragma: no cover - platforms without directory fsync
        pass


def load_checkpoint(path, template_state):
    """Read a checkpoint; return a dict with theta, opt_state, rng_state, sampler,
    history (dict of arrays), meta and extra."""
    path = os.fspath(path)
    try:
        z = np.load(path, allow_pickle=False)
    except Exception as exc:
        raise CheckpointError(f"checkpoint {path!r} cannot be read: {exc}") from exc
    with z:
        if "meta" not in z.files:
            raise CheckpointError(f"checkpoint {path!r} is not an nnopt checkpoint (no meta)")
        meta = json.loads(str(z["meta"]))
        if meta.get("format") != FORMAT:
            raise CheckpointError(f"checkpoint {path!r} has format {meta.get('format')!r}")
        sig = tree_signature(template_state)
        if meta["state_signature"] != sig:
            raise CheckpointError(
                f"checkpoint {path!r} holds the state of a different optimizer or parameter "
                f"vector:\n  stored:   {meta['state_signature']}\n  expected: {sig}"
            )
        leaves = [z[f"state_{i:05d}"] for i in range(meta["n_state"])]
        opt_state = tree_unflatten(template_state, leaves)
        history = {k[len("history_"):]: z[k] for k in z.files if k.startswith("history_")}
        extra = {k[len("extra_"):]: z[k] for k in z.files if k.startswith("extra_")}
        sampler = {"perm": z["sampler_perm"] if "sampler_perm" in z.files else None,
                   "pos": meta["sampler_pos"]}
        theta = z["theta"]
    return {"theta": theta, "opt_state": opt_state, "rng_state": _from_json(meta["rng_state"]),
            "sampler": sampler, "history": history, "meta": meta, "extra": extra}


def _jsonable(x):
    # bit-generator states hold Python ints (up to 128 bits): JSON keeps them exactly
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, np.ndarray):
        return {"__ndarray__": x.tolist(), "dtype": x.dtype.str}
    if isinstance(x, np.integer):
        return int(x)
    return x


def _from_json(x):
    if isinstance(x, dict):
        if "__ndarray__" in x:
            return np.asarray(x["__ndarray__"], dtype=x["dtype"])
        return {k: _from_json(v) for k, v in x.items()}
    return x
