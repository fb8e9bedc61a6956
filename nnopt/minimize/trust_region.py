"""Trust-region steps with a dense model Hessian (exact Newton, SR1).

The subproblem

.. math::  \\min_p\\; m(p) = f + g^T p + \\tfrac12 p^T B p \\quad \\text{s.t.}\\quad \\|p\\|_2 \\le \\Delta

is solved exactly in the eigenbasis of ``B = Q diag(lambda) Q^T``:
``p(sigma) = -Q diag(1/(lambda + sigma)) Q^T g`` with ``sigma = 0`` if that
is an interior minimizer, else ``sigma >= max(0, -lambda_min)`` the root of
``1/||p(sigma)|| - 1/Delta`` (safeguarded Newton, More & Sorensen 1983), and
the "hard case" (``g`` orthogonal to the eigenspace of ``lambda_min``) closed
by a step along that eigenvector (Nocedal & Wright, Sec. 4.3).  One ``eigh``
per model: for small problems.

Step acceptance and radius update follow N&W Algorithm 4.1, with the ratio
``rho = (ared + delta_k) / (pred + delta_k)``, ``delta_k = 10 eps max(1, |f|)``
(Conn, Gould & Toint, *Trust-Region Methods*, Sec. 17.4.2), so that rounding
noise in ``f`` near a minimizer does not reject good steps.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["solve_subproblem", "TRStep", "ratio", "next_radius", "radius_floor"]


class TRStep(NamedTuple):
    p: np.ndarray
    pred: np.generic       # m(0) - m(p) >= 0
    on_boundary: bool


def solve_subproblem(B, g, radius, maxiter=100):
    """Exact solution of the trust-region subproblem (see module docstring)."""
    dt = g.dtype.type
    eps = np.finfo(g.dtype).eps
    lam, Q = np.linalg.eigh(B)
    gt = Q.T @ g
    radius = dt(radius)

    def p_of(sigma):
        with np.errstate(all="ignore"):
            return -gt / (lam + sigma)

    def pred_of(pt):
        return -(np.dot(gt, pt) + dt(0.5) * np.dot(lam * pt, pt))

    lmin = lam[0]
    lscale = max(np.max(np.abs(lam)), dt(np.finfo(g.dtype).tiny))
    if lmin > 0:
        pt = p_of(dt(0))
        if np.sqrt(np.dot(pt, pt)) <= radius:
            return TRStep(Q @ pt, pred_of(pt), False)
    gnorm = np.sqrt(np.dot(g, g))
    lo = max(dt(0), -lmin)
    if lmin <= 0:
        # Hard case: g (numerically) orthogonal to the lambda_min eigenspace, so
        # ||p(sigma)|| stays below the radius as sigma -> -lambda_min; complete
        # p(-lambda_min) by a step along the eigenvector (N&W eq. 4.45).
        tied = lam <= lmin + dt(np.sqrt(eps)) * lscale
        if np.sqrt(np.dot(gt[tied], gt[tied])) <= dt(np.sqrt(eps)) * gnorm:
            pt = np.zeros_like(gt)
            free = ~tied
            pt[free] = -gt[free] / (lam[free] - lmin)
            pn2 = np.dot(pt, pt)
            if pn2 <= radius * radius:
                i = np.flatnonzero(tied)[0]
                tau = np.sqrt(radius * radius - pn2)
                pt[i] = -tau if gt[i] > 0 else tau
                return TRStep(Q @ pt, pred_of(pt), True)
    # boundary solution: ||p(sigma)|| = radius, sigma in (lo, hi]
    hi = gnorm / radius - lmin + lscale * dt(eps)
    hi = max(hi, lo)
    # start left of the root, where Newton on the concave 1/||p|| - 1/radius is monotone
    sigma = lo if lmin > 0 else lo + max(dt(eps) * lscale, (hi - lo) * dt(1e-6))
    for _ in range(maxiter):
        pt = p_of(sigma)
        pn = np.sqrt(np.dot(pt, pt))
        if not np.isfinite(pn):
            sigma = lo + (sigma - lo) * 2 if sigma > lo else hi
            continue
        if abs(pn - radius) <= dt(10) * dt(eps) * radius:
            break
        if pn > radius:
            lo = sigma
        else:
            hi = sigma
        # Newton on 1/||p|| - 1/radius:  sigma += (pn/radius - 1) * pn^2 / (p^T (B + sigma)^-1 p)
        with np.errstate(all="ignore"):
            w = np.dot(pt, pt / (lam + sigma))
            new = sigma + (pn / radius - 1) * pn * pn / w
        if not (np.isfinite(new) and lo < new < hi):
            new = lo + dt(0.5) * (hi - lo)
        if new == sigma:
            break
        sigma = new
    pt = p_of(sigma)
    pn = np.sqrt(np.dot(pt, pt))
    if pn > radius:  # rounding: pull back onto the ball
        pt = pt * (radius / pn)
    return TRStep(Q @ pt, pred_of(pt), True)


def ratio(f, f_new, pred):
    """``(ared + delta) / (pred + delta)`` with ``delta = 10 eps max(1, |f|)``."""
    dt = type(f)
    delta = dt(10) * dt(np.finfo(type(f)).eps) * max(dt(1), abs(f))
    with np.errstate(all="ignore"):
        return ((f - f_new) + delta) / (pred + delta)


def next_radius(radius, rho, step_norm, on_boundary, max_radius):
    """N&W Algorithm 4.1: shrink to ``||p|| / 4`` if ``rho < 1/4``; double
    (up to ``max_radius``) if ``rho > 3/4`` and the step hit the boundary."""
    dt = type(radius)
    if not rho >= dt(0.25):
        return dt(0.25) * step_norm
    if rho > dt(0.75) and on_boundary:
        return min(dt(2) * radius, dt(max_radius))
    return radius


def radius_floor(x):
    """Below this radius a step cannot change ``x``: ``eps max(1, ||x||)``."""
    dt = x.dtype.type
    return dt(np.finfo(x.dtype).eps) * max(dt(1), np.sqrt(np.dot(x, x)))
