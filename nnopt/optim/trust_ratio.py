"""Layer-wise trust ratios: LARS and LAMB.

Both rescale the step of each *block* of parameters (a layer) by the ratio of
the block's weight norm to its update norm.  Parameters are one flat vector;
``blocks`` says where the layers are: a sequence of slices, of
``(start, stop)`` pairs, or of objects with a ``slice`` attribute,
partitioning ``range(n)``: ``blocks=net.layout`` (one block per parameter
array) or ``blocks=net.layout.blocks`` (one per layer).  Without ``blocks``
the whole vector is one block.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .base import (
    EmptyState,
    GradientTransformation,
    check_params,
    check_state,
    hyper,
    need_params,
)

__all__ = ["scale_by_trust_ratio", "scale_by_lars", "normalize_blocks", "LarsState"]


def normalize_blocks(blocks, n, where):
    """Return the block start offsets (sorted, a partition of ``range(n)``) or None."""
    if blocks is None:
        return None
    if hasattr(blocks, "slices") and not isinstance(blocks, (list, tuple)):
        blocks = blocks.slices
    spans = []
    for i, b in enumerate(blocks):
        if isinstance(b, slice):
            s = b
        elif hasattr(b, "slice") and isinstance(b.slice, slice):
            s = b.slice
        elif isinstance(b, (tuple, list)) and len(b) == 2:
            s = slice(int(b[0]), int(b[1]))
        else:
            raise TypeError(f"{where}: blocks[{i}] must be a slice, a (start, stop) pair or have a "
                            f".slice attribute, got {type(b).__name__}")
        start, stop, step = s.indices(n)
        if step != 1:
            raise ValueError(f"{where}: blocks[{i}] must be a contiguous slice, got {s}")
        if s.stop is not None and s.stop > n:
            raise ValueError(f"{where}: blocks[{i}] = {s} is outside the parameter vector of size {n}")
        spans.append((start, stop))
    spans.sort()
    pos = 0
    for start, stop in spans:
        if start != pos or stop <= start:
            raise ValueError(
                f"{where}: blocks must partition range({n}) into non-empty contiguous slices; "
                f"got spans {spans}"
            )
        pos = stop
    if pos != n:
        raise ValueError(f"{where}: blocks cover range(0, {pos}) but the parameter vector has size {n}")
    return np.array([s for s, _ in spans], dtype=np.intp)


def _block_norms(x, starts):
    """Per-block Euclidean norms, expanded back to one value per coordinate."""
    if starts is None:
        return np.sqrt(np.dot(x, x))
    sq = np.add.reduceat(x * x, starts)
    sizes = np.diff(np.append(starts, x.shape[0]))
    return np.repeat(np.sqrt(sq), sizes)


def _ratio(num, den, where_ok):
    """``num / den`` where ``where_ok``, else 1 (zero weights or zero update)."""
    if np.ndim(num) == 0:
        return num / den if where_ok else 1.0
    out = np.ones_like(num)
    np.divide(num, den, out=out, where=where_ok)
    return out


def scale_by_trust_ratio(trust_coefficient=1.0, eps=0.0, blocks=None):
    """Trust-ratio scaling (LAMB, You et al. 2020, Algorithm 2, with phi = identity).

    .. math:: d^{(l)} = c\\, \\frac{\\|w^{(l)}\\|}{\\|u^{(l)}\\| + \\epsilon}\\, u^{(l)}

    per block ``l``; the ratio is 1 where the weight or update norm is 0.
    """
    where = "scale_by_trust_ratio"
    c = hyper(trust_coefficient, "trust_coefficient", where, allow_schedule=False)
    e = hyper(eps, "eps", where, allow_schedule=False)
    cache = {}

    def init_fn(params):
        check_params(params, where + ".init")
        cache["starts"] = normalize_blocks(blocks, params.shape[0], where)
        return EmptyState()

    def update_fn(grads, state, params=None, *, value=None, oracle=None):
        check_state(state, EmptyState, where + ".update")
        p = need_params(params, grads, where + ".update")
        starts = cache.get("starts") if blocks is not None else None
        if blocks is not None and starts is None:
            starts = cache["starts"] = normalize_blocks(blocks, p.shape[0], where)
        wn = _block_norms(p, starts)
        un = _block_norms(grads, starts)
        ok = (wn > 0) & (un > 0)
        r = _ratio(wn, un + e, ok)
        return grads * (c * r if np.ndim(r) == 0 else r * c), state

    return GradientTransformation(init_fn, update_fn)


class LarsState(NamedTuple):
    """LARS is stateless apart from the momentum that follows it."""


def scale_by_lars(trust_coefficient=0.001, weight_decay=0.0, eps=0.0, blocks=None):
    """LARS local learning rates (You, Gitman & Ginsburg 2017, Algorithm 1).

    .. math::

        \\lambda^{(l)} = \\eta_{\\rm trust}\\, \\frac{\\|w^{(l)}\\|}
            {\\|\\nabla L(w^{(l)})\\| + \\beta \\|w^{(l)}\\| + \\epsilon},
        \\qquad d^{(l)} = \\lambda^{(l)} (\\nabla L(w^{(l)}) + \\beta w^{(l)}),

    with trust coefficient ``eta_trust`` and weight decay ``beta``;
    ``lambda = 1`` where a norm is 0.  The paper then applies momentum to
    ``gamma_t d`` (see :func:`nnopt.optim.lars`).
    """
    where = "scale_by_lars"
    c = hyper(trust_coefficient, "trust_coefficient", where, allow_schedule=False)
    wd = hyper(weight_decay, "weight_decay", where, allow_schedule=False)
    e = hyper(eps, "eps", where, allow_schedule=False)
    cache = {}

    def init_fn(params):
        check_params(params, where + ".init")
        cache["starts"] = normalize_blocks(blocks, params.shape[0], where)
        return LarsState()

    def update_fn(grads, state, params=None, *, value=None, oracle=None):
        check_state(state, LarsState, where + ".update")
        p = need_params(params, grads, where + ".update")
        starts = cache.get("starts") if blocks is not None else None
        if blocks is not None and starts is None:
            starts = cache["starts"] = normalize_blocks(blocks, p.shape[0], where)
        wn = _block_norms(p, starts)
        gn = _block_norms(grads, starts)
        ok = (wn > 0) & (gn > 0)
        lam = _ratio(c * wn, gn + wd * wn + e, ok)
        d = grads + wd * p if wd != 0.0 else grads
        return d * lam, state

    return GradientTransformation(init_fn, update_fn)
