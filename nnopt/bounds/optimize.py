"""Verified global minimisation by branch and bound on Taylor enclosures."""
from __future__ import annotations

import numpy as np

from .api import _check_callable, _check_degree, evaluate_boxes, make_box
from .backend import get_backend
from .interval import BoundsError

__all__ = ["global_minimize", "GlobalMinimizeResult"]


class GlobalMinimizeResult:
    """Result of :func:`global_minimize` (attributes like scipy's OptimizeResult).

    Attributes
    ----------
    value : (lo, hi)
        Verified enclosure of the global minimum value of ``f`` on the box.
    boxes : ndarray (m, n, 2)
        Boxes ``[low, high]`` whose union contains every global minimiser.
    x : float or ndarray
        The best point found; ``f(x) <= value[1]`` (verified).
    success : bool
        ``value[1] - value[0] <= tol`` was reached.
    status : int
        0 success, 1 iteration limit, 2 box limit, 3 boxes too small to split.
    message : str
    nit, nfev : int
        Iterations and boxes enclosed.
    """

    def __init__(self, **kw):
        self.__dict__.update(kw)

    def __repr__(self):
        return (f"GlobalMinimizeResult(value={self.value}, success={self.success}, "
                f"n_boxes={len(self.boxes)}, x={self.x!r}, nit={self.nit}, message={self.message!r})")


def _local_refine(f, x, lo, hi, scalar):
    """A few L-BFGS-B steps in floating point (any point is fine: it is only
    used for a verified upper bound afterwards)."""
    import scipy.optimize

    from ..autodiff.transforms import value_and_grad

    vg = value_and_grad(f)

    def fun(v):
        arg = v[0] if scalar else v
        val, g = vg(np.asarray(arg, dtype=np.float64))
        return float(val), np.atleast_1d(np.asarray(g, dtype=np.float64))

    try:
        res = scipy.optimize.minimize(fun, x, jac=True, method="L-BFGS-B",
                                      bounds=list(zip(lo, hi)), options={"maxiter": 50})
        xr = np.clip(res.x, lo, hi)
        if np.all(np.isfinite(xr)):
            return xr
    except Exception:  # any failure of the float refinement is harmless
        pass
    return None


def global_minimize(f, box, tol=1e-6, *, degree=1, max_iter=500, max_boxes=100000,
                    batch=64, local=True, backend=None):
    """Verified global minimum of ``f`` over a box, by branch and bound.

    Boxes are enclosed with a Taylor enclosure of ``degree`` centred at their
    midpoint (its range gives a lower bound, its constant coefficient a
    verified upper bound of ``f`` at the midpoint); boxes whose lower bound
    exceeds the best verified upper bound ``U`` cannot contain a global
    minimiser and are discarded; the others are bisected along their widest
    side (Moore-Skelboe algorithm, Ratschek & Rokne 1988, "New Computer
    Methods for Global Optimization", ch. 5).  Points found by a local
    L-BFGS-B refinement in floating point also give verified upper bounds.

    Parameters
    ----------
    f : callable written with :mod:`nnopt.numpy`, returning a scalar
    box : (a, b) for a scalar input, or a sequence of (low, high) pairs
    tol : float > 0
        Target width of the enclosure of the minimum value.
    degree : int
        Degree of the enclosures (-1: plain interval arithmetic).
    max_iter, max_boxes : int
        Limits (the result reports ``success=False`` when one is hit).
    batch : int
        Boxes bisected per iteration (their children are enclosed in one
        batched pass).
    local : bool
        Refine the best point with L-BFGS-B for better upper bounds.
    backend : see :func:`nnopt.bounds.taylor_bounds`

    Returns
    -------
    GlobalMinimizeResult
        ``.value = (lo, hi)`` contains the global minimum value; the union of
        ``.boxes`` contains all global minimisers.

    Examples
    --------
    >>> import nnopt.numpy as nnp
    >>> from nnopt.bounds import global_minimize
    >>> res = global_minimize(lambda x: (x[0] - 1) ** 2 + nnp.sin(3 * x[1]), [(-2, 2), (-2, 2)])
    """
    _check_callable(f)
    if not isinstance(tol, (int, float, np.floating, np.integer)) or isinstance(tol, bool) or not tol > 0:
        raise ValueError(f"tol must be a positive number, got {tol!r}")
    d = _check_degree(degree, low=-1)
    for name, v in (("max_iter", max_iter), ("max_boxes", max_boxes), ("batch", batch)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    bk = get_backend(backend)
    lo0, hi0, scalar = make_box(box)
    lo0 = lo0.astype(np.float64)
    hi0 = hi0.astype(np.float64)
    n = lo0.size
    scale = np.where(hi0 > lo0, hi0 - lo0, 1.0)

    nfev = 0
    best_u = np.inf
    best_x = 0.5 * (lo0 + hi0)

    def enclose_many(L, H):
        nonlocal nfev, best_u, best_x
        tm = evaluate_boxes(f, L, H, d, bk, scalar)
        if tm.shape != ():
            raise BoundsError(f"global_minimize: f must return a scalar, got shape {tm.shape}")
        nfev += L.shape[0]
        lb = bk.to_float(tm.rng.lo.reshape(-1), -1)
        lb = np.broadcast_to(lb, (L.shape[0],)).copy()
        if d >= 0 and tm.coeffs[0] is not None:
            ub = bk.to_float(np.broadcast_to(tm.coeffs[0].hi, (1, L.shape[0], 1)).reshape(-1), +1)
            mids = np.minimum(np.maximum(0.5 * L + 0.5 * H, L), H)  # the expansion points
            j = int(np.argmin(ub))
            if ub[j] < best_u:
                best_u = float(ub[j])
                best_x = np.asarray(mids[j], dtype=np.float64)
        return lb

    def point_upper(x):
        nonlocal nfev, best_u, best_x
        tm = evaluate_boxes(f, x.reshape(1, -1), x.reshape(1, -1), -1, bk, scalar)
        nfev += 1
        u = float(bk.to_float(tm.rng.hi.reshape(-1), +1)[0])
        if u < best_u:
            best_u, best_x = u, x.copy()

    L = lo0.reshape(1, n)
    H = hi0.reshape(1, n)
    lb = enclose_many(L, H)
    point_upper(0.5 * (lo0 + hi0))
    if local:
        xr = _local_refine(f, best_x, lo0, hi0, scalar)
        if xr is not None:
            point_upper(xr)

    status, message = 1, "iteration limit reached before the tolerance"
    nit = 0
    small = np.zeros(1, dtype=bool)
    for nit in range(1, max_iter + 1):
        keep = lb <= best_u
        L, H, lb, small = L[keep], H[keep], lb[keep], small[keep]
        if L.shape[0] == 0:
            raise BoundsError("global_minimize internal error: every box was discarded")
        LB = float(np.min(lb))
        if best_u - LB <= tol:
            status, message = 0, "tolerance reached"
            break
        if L.shape[0] > max_boxes:
            status, message = 2, "box limit reached before the tolerance"
            break
        cand = np.where(~small)[0]
        if cand.size == 0:
            status, message = 3, "the remaining boxes are too small to split further"
            break
        order = cand[np.argsort(lb[cand])[:batch]]
        rest = np.ones(L.shape[0], dtype=bool)
        rest[order] = False
        PL, PH = L[order], H[order]
        w = (PH - PL) / scale
        dim = np.argmax(w, axis=1)
        rows = np.arange(PL.shape[0])
        mid = 0.5 * (PL[rows, dim] + PH[rows, dim])
        CL1, CH1 = PL.copy(), PH.copy()
        CL2, CH2 = PL.copy(), PH.copy()
        CH1[rows, dim] = mid
        CL2[rows, dim] = mid
        CL = np.concatenate([CL1, CL2])
        CH = np.concatenate([CH1, CH2])
        clb = enclose_many(CL, CH)
        csmall = np.max((CH - CL) / scale, axis=1) <= 1e-13
        if local and nit % 10 == 0:
            xr = _local_refine(f, best_x, lo0, hi0, scalar)
            if xr is not None:
                point_upper(xr)
        L = np.concatenate([L[rest], CL])
        H = np.concatenate([H[rest], CH])
        lb = np.concatenate([lb[rest], clb])
        small = np.concatenate([small[rest], csmall])
    keep = lb <= best_u
    L, H, lb = L[keep], H[keep], lb[keep]
    LB = float(np.min(lb))
    boxes = np.stack([L, H], axis=-1)
    x = float(best_x[0]) if scalar else best_x
    return GlobalMinimizeResult(
        value=(LB, float(best_u)), boxes=boxes, x=x, success=status == 0, status=status,
        message=message, nit=nit, nfev=nfev,
    )
