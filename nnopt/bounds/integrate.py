"""Verified integration of a scalar function by Taylor enclosures."""
from __future__ import annotations

import numpy as np

from .api import _as_real_array, _check_callable, _check_degree, mid_and_z
from . import taylor as T
from .backend import get_backend
from .interval import BoundsError, Interval
from .trace import interpret

__all__ = ["integrate", "ToleranceNotReached"]


class ToleranceNotReached(BoundsError):
    """The verified enclosure could not be made as narrow as asked.

    ``enclosure`` holds the best verified ``(lo, hi)`` reached.
    """

    def __init__(self, message, enclosure):
        super().__init__(message)
        self.enclosure = enclosure


def _power_integral(zl, zu, i, bk):
    """Interval enclosing int_{zl}^{zu} z^i dz = (zu^(i+1) - zl^(i+1)) / (i+1)."""
    U = Interval(zu, zu, bk).pow_int(i + 1)
    L = Interval(zl, zl, bk).pow_int(i + 1)
    return (U - L) * Interval.point(np.float64(1.0), bk) / Interval.point(np.float64(i + 1), bk)


def _piece_integrals(f, lo, hi, degree, bk):
    """Interval enclosures of int_{lo_j}^{hi_j} f for arrays of pieces."""
    X0, Z = mid_and_z(lo.reshape(-1, 1), hi.reshape(-1, 1), bk)
    ctx = T.Context(Z, degree, bk)
    tm = interpret(f, ctx, X0, np.float64, True)
    if tm.shape != ():
        raise BoundsError(f"integrate: f must return a scalar, got shape {tm.shape}")
    zl = Z.lo.reshape(-1, 1)
    zu = Z.hi.reshape(-1, 1)
    zero = bk.zeros(zl.shape)
    total = None
    for i, c in enumerate(tm.coeffs):
        if c is None:
            continue
        term = c * _power_integral(zl, zu, i, bk)
        total = term if total is None else total + term
    m = tm.degree + 1
    R = tm.rem
    if R is not None:
        # int r(z) z^m dz with r(z) in R: split where z^m changes sign
        rt = R * _power_integral(zl, zero, m, bk) + R * _power_integral(zero, zu, m, bk)
        total = rt if total is None else total + rt
    if total is None:
        total = Interval.zeros(zl.shape, bk)
    total = total.broadcast_to((lo.size, 1)).reshape((-1,))
    # the natural enclosure: range times length (guards against a degraded degree)
    length = Interval(zu, zu, bk) - Interval(zl, zl, bk)
    nat = (tm.rng.broadcast_to((lo.size, 1)) * length).reshape((-1,))
    lo_ = np.maximum(total.lo, nat.lo)
    hi_ = np.minimum(total.hi, nat.hi)
    return Interval(lo_, hi_, bk)


def integrate(f, a, b, tol=1e-8, *, degree=5, max_pieces=20000, backend=None):
    """A verified enclosure of ``int_a^b f(x) dx`` of width at most ``tol``.

    The interval is cut into pieces; on each, a degree-``k`` Taylor
    enclosure around the midpoint ``f(x) = sum_i c_i z^i + r(x) z^(k+1)``,
    ``r in R``, integrates exactly: ``sum_i c_i int z^i + R int z^(k+1)``
    (split where ``z^(k+1)`` changes sign), intersected with
    ``range(f) * length``.  Pieces with wide enclosures are bisected until the
    total width is at most ``tol`` (AutoBound's "bounding integrals" use of
    Taylor enclosures, Streeter & Dillon 2022, with outward rounding).

    Parameters
    ----------
    f : callable written with :mod:`nnopt.numpy`, scalar to scalar
    a, b : finite floats
    tol : float > 0
    degree : int
        Degree of the enclosures (odd degrees integrate the remainder with a
        sign-definite weight).
    max_pieces : int
    backend : see :func:`nnopt.bounds.taylor_bounds`

    Returns
    -------
    (lo, hi) : floats with ``lo <= int_a^b f <= hi`` and ``hi - lo <= tol``
        (:class:`mpmath.mpf` numbers with the mpmath backend, so that widths
        below the float64 resolution can be certified)

    Raises
    ------
    ToleranceNotReached
        With ``.enclosure`` the best verified enclosure, when ``max_pieces``
        pieces do not reach ``tol``.

    Examples
    --------
    >>> import nnopt.numpy as nnp
    >>> from nnopt.bounds import integrate
    >>> lo, hi = integrate(lambda x: nnp.exp(-x * x), 0.0, 1.0, 1e-10)
    """
    _check_callable(f)
    a = float(_as_real_array(a, "a"))
    b = float(_as_real_array(b, "b"))
    if not isinstance(tol, (int, float, np.floating, np.integer)) or isinstance(tol, bool) or not tol > 0:
        raise ValueError(f"tol must be a positive number, got {tol!r}")
    k = _check_degree(degree)
    if not isinstance(max_pieces, (int, np.integer)) or max_pieces < 1:
        raise ValueError(f"max_pieces must be a positive integer, got {max_pieces!r}")
    bk = get_backend(backend)
    if a == b:
        return 0.0, 0.0
    if a > b:
        lo, hi = integrate(f, b, a, tol, degree=degree, max_pieces=max_pieces, backend=backend)
        if bk.is_mp:  # exact negation (mpf's own operator rounds to mp.prec)
            return bk.neg(np.asarray(hi, dtype=object)).item(), bk.neg(np.asarray(lo, dtype=object)).item()
        return -hi, -lo
    L = np.array([a])
    H = np.array([b])
    enc = _piece_integrals(f, L, H, k, bk)
    while True:
        total = enc.sum()
        if bk.is_mp:  # certificates keep the backend's precision
            tlo, thi = total.lo.item(), total.hi.item()
            width = float(bk.sub_up(total.hi, total.lo).item())
        else:
            tlo, thi = (float(v) for v in total.to_floats())
            width = thi - tlo
        if width <= tol:
            return tlo, thi
        widths = enc.width()
        share = tol / (2.0 * max(L.size, 1))
        split = widths > share
        if not np.any(split):
            split = widths >= np.max(widths)
        if L.size + int(np.sum(split)) > max_pieces:
            raise ToleranceNotReached(
                f"integrate: {L.size} pieces reach a verified width of {width:.3g} > tol={tol:.3g}; "
                f"raise max_pieces or degree, or loosen tol",
                (tlo, thi),
            )
        SL, SH = L[split], H[split]
        M = 0.5 * (SL + SH)
        ok = (M > SL) & (M < SH)
        if not np.all(ok):
            raise ToleranceNotReached(
                f"integrate: pieces cannot be split further; verified width {width:.3g} > tol={tol:.3g}",
                (tlo, thi),
            )
        NL = np.concatenate([SL, M])
        NH = np.concatenate([M, SH])
        new = _piece_integrals(f, NL, NH, k, bk)
        keep = ~split
        L = np.concatenate([L[keep], NL])
        H = np.concatenate([H[keep], NH])
        enc = Interval.concatenate([enc[keep], new])
