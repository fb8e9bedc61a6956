"""Public entry points: Taylor bounds of a function and verified ranges."""
from __future__ import annotations

import itertools
import numbers

import numpy as np

from . import taylor as T
from .backend import get_backend
from .interval import BoundsError, Interval
from .trace import interpret
from .. import numpy as nnp

__all__ = ["taylor_bounds", "TaylorBounds", "enclose", "make_box"]


def _as_real_array(x, name):
    if isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{name} must be a real number or array, got a bool")
    try:
        arr = np.asarray(x)
    except Exception as exc:  # pragma: no cover - message only
        raise TypeError(f"{name} must be a real number or array, got {type(x).__name__}") from exc
    if arr.dtype.kind not in "iuf" or arr.dtype.kind == "c":
        raise TypeError(f"{name} must be real (float or int), got dtype {arr.dtype}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {x!r}")
    return arr


def _check_degree(degree, name="degree", low=0, high=12):
    if not isinstance(degree, (int, np.integer)) or isinstance(degree, bool):
        raise TypeError(f"{name} must be an integer, got {type(degree).__name__} {degree!r}")
    if not low <= degree <= high:
        raise ValueError(f"{name} must be in [{low}, {high}], got {degree}")
    return int(degree)


def _input_dtype(*arrays):
    dts = [a.dtype for a in arrays if a.dtype.kind == "f"]
    return np.result_type(*dts) if dts else np.dtype(np.float64)


def _check_callable(f):
    if not callable(f):
        raise TypeError(f"f must be a callable written with nnopt.numpy, got {type(f).__name__}")


class TaylorBounds:
    """The result of :func:`taylor_bounds`.

    Attributes
    ----------
    coefficients : list
        For ``i = 0..degree``: an enclosure ``(lo, hi)`` of ``f^(i)(x0)/i!``
        (a plain float where the enclosure is a single number, hence exact).
        For vector input, ``(lo, hi)`` arrays of shape ``out + (n,)*i``
        (symmetric tensors); for array output, of shape ``out``.
    remainder : tuple
        ``(lo, hi)`` with ``f(x) - sum_i c_i (x-x0)^i in [lo, hi] (x-x0)^(degree+1)``
        for every ``x`` in the trust region (tensor contraction for vector input).
    degree : int
        The degree reached (lower than requested only where ``f`` is not that
        many times differentiable at ``x0``, e.g. a kink of ``relu`` at ``x0``).
    requested_degree, x0, trust_region, range, backend
        ``range`` is a verified enclosure ``(lo, hi)`` of ``f`` over the trust region.
    """

    def __init__(self, tm, x0, trust_region, requested, scalar_input, bk):
        self._tm = tm
        self.x0 = x0
        self.trust_region = trust_region
        self.requested_degree = requested
        self.degree = tm.degree
        self.backend = bk
        self.scalar_input = scalar_input
        n = tm.ctx.n
        S = tm.shape
        self.coefficients = []
        for i, c in enumerate(tm.coeffs):
            if c is None:
                c = Interval.zeros(S + (1, n ** i), bk)
            self.coefficients.append(_present(c, S, n, i, scalar_input, symmetric=True))
        R = tm.rem
        if R is None:
            R = Interval.zeros(S + (1, n ** (tm.degree + 1)), bk)
        self.remainder = _present(R, S, n, tm.degree + 1, scalar_input, symmetric=False, exact_as_float=False)
        lo, hi = tm.rng.to_floats()
        self.range = (_squeeze_b(lo, S), _squeeze_b(hi, S))

    def __repr__(self):
        return (f"TaylorBounds(degree={self.degree}, coefficients={self.coefficients!r}, "
                f"remainder={self.remainder!r})")

    # -- evaluation ----------------------------------------------------------------
    def _poly(self, x, side):
        if not self.scalar_input:
            raise NotImplementedError("evaluation helpers are for scalar input")
        x = np.asarray(x, dtype=np.float64)
        z = x - float(self.x0)
        total = np.zeros_like(z)
        for i, c in enumerate(self.coefficients):
            lo, hi = (c, c) if not isinstance(c, tuple) else c
            mid = 0.5 * (np.asarray(lo) + np.asarray(hi))
            total = total + mid * z ** i
        rlo, rhi = self.remainder
        zk = z ** (self.degree + 1)
        r = np.where(zk >= 0, rhi, rlo) if side > 0 else np.where(zk >= 0, rlo, rhi)
        return total + r * zk

    def upper(self, x):
        """The majorizer ``sum c_i z^i + max(R z^(k+1))`` at points ``x`` (float
        evaluation with midpoint coefficients: for plotting, not a certificate)."""
        return self._poly(x, +1)

    def lower(self, x):
        """The minorizer (for plotting, like :meth:`upper`)."""
        return self._poly(x, -1)


def _squeeze_b(a, S):
    return a.reshape(S) if a.size == int(np.prod(S, dtype=np.int64)) else a.reshape(S + (-1,))


def _symmetrize(I, S, n, i):
    """Average over the permutations of the i tensor axes (interval arithmetic)."""
    if i < 2 or n == 1:
        return I
    nd = len(S)
    perms = list(itertools.permutations(range(i)))
    total = None
    for p in perms:
        axes = tuple(range(nd)) + tuple(nd + q for q in p)
        t = I.transpose(axes)
        total = t if total is None else total + t
    return total * Interval.point(np.float64(1.0), I.bk) / Interval.point(np.float64(len(perms)), I.bk)


def _present(I, S, n, i, scalar_input, symmetric, exact_as_float=True):
    """(lo, hi) floats (or a float when exact) from a tensor of shape S + (1, n**i)."""
    I = I.broadcast_to(S + (1, n ** i)) if I.shape[:-2] != S else I
    I = I.reshape(S + (n ** i,))
    if scalar_input:
        I = I.reshape(S)
    else:
        I = I.reshape(S + (n,) * i)
        if symmetric:
            I = _symmetrize(I, S, n, i)
    lo, hi = I.to_floats()
    if lo.shape == ():
        lo, hi = float(lo), float(hi)
        if exact_as_float and lo == hi:
            return lo
        return (lo, hi)
    return (lo, hi)


def taylor_bounds(f, x0, trust_region, degree, *, backend=None, pieces=1):
    """Verified Taylor polynomial and remainder bound of ``f`` around ``x0``.

    For every ``x`` in the trust region ``[a, b]`` (a box for vector input)

    .. math::

        f(x) - \\sum_{i=0}^{k} c_i (x - x_0)^i \\in [R_{lo}, R_{hi}]\\,(x - x_0)^{k+1},
        \\qquad c_i = f^{(i)}(x_0)/i! \\in C_i,

    computed by interval Taylor-mode propagation through the ``nnopt.numpy``
    operations of ``f`` with the sharp elementary enclosures of AutoBound
    (Streeter & Dillon 2022, "Automatically bounding the Taylor remainder
    series", arXiv:2212.11429), rounded outward.  Sound for the exact real
    function (float32 inputs are converted exactly).

    Parameters
    ----------
    f : callable
        ``f(x)`` written with :mod:`nnopt.numpy`; ``x`` is a scalar (scalar
        ``x0``) or a 1-D array.  May return an array.
    x0 : float or 1-D array
        Expansion point, inside the trust region.
    trust_region : (a, b)
        Scalars, or arrays shaped like ``x0``.
    degree : int
        ``k >= 0``.
    backend : None, "mpmath", int or backend instance
        ``None``: float64 with outward rounding; ``"mpmath"`` or a precision
        in bits: :class:`~nnopt.bounds.backend.MPBackend`.
    pieces : int
        Scalar input only: compute the remainder on this many pieces of the
        trust region (one batched pass) and take the hull; sharper for
        compositions (the inner ranges are narrower), same cost per piece.

    Returns
    -------
    TaylorBounds
        ``.coefficients``, ``.remainder``, ``.degree``, ``.range``.

    Examples
    --------
    >>> import nnopt.numpy as nnp
    >>> from nnopt.bounds import taylor_bounds
    >>> tb = taylor_bounds(nnp.exp, 0.0, (-1.0, 1.0), 1)
    >>> tb.coefficients
    [1.0, 1.0]
    >>> lo, hi = tb.remainder   # [exp(-1), exp(1) - 2] (sharp)
    """
    _check_callable(f)
    k = _check_degree(degree)
    bk = get_backend(backend)
    x0a = _as_real_array(x0, "x0")
    if x0a.ndim > 1:
        raise ValueError(f"x0 must be a scalar or a 1-D array, got shape {x0a.shape}")
    if not isinstance(trust_region, (tuple, list)) or len(trust_region) != 2:
        raise ValueError(
            "trust_region must be a pair (a, b) of scalars or of arrays shaped like x0, "
            f"got {trust_region!r}"
        )
    a = _as_real_array(trust_region[0], "trust_region[0]")
    b = _as_real_array(trust_region[1], "trust_region[1]")
    try:
        a = np.broadcast_to(a, x0a.shape)
        b = np.broadcast_to(b, x0a.shape)
    except ValueError:
        raise ValueError(
            f"trust_region bounds must be scalars or shaped like x0 {x0a.shape}, got {np.shape(a)} and {np.shape(b)}"
        ) from None
    if np.any(a > x0a) or np.any(x0a > b):
        raise ValueError(f"x0 must lie in the trust region: need a <= x0 <= b, got a={a}, x0={x0a}, b={b}")
    scalar = x0a.ndim == 0
    dtype = _input_dtype(x0a, a, b)
    n = 1 if scalar else x0a.shape[0]
    X0 = Interval.point(x0a.reshape(1, n), bk)
    A = Interval.point(a.reshape(1, n), bk)
    Bv = Interval.point(b.reshape(1, n), bk)
    Z = Interval((A - X0).lo, (Bv - X0).hi, bk)
    zero = bk.zeros((1, n))
    Z = Interval(np.minimum(Z.lo, zero), np.maximum(Z.hi, zero), bk)
    if not isinstance(pieces, (int, np.integer)) or isinstance(pieces, bool) or pieces < 1:
        raise ValueError(f"pieces must be a positive integer, got {pieces!r}")
    if pieces > 1 and n != 1:
        raise ValueError("pieces > 1 is only supported for a scalar (one-dimensional) input")
    tm = taylor_tm(f, X0, Z, Interval(A.lo, Bv.hi, bk), k, bk, scalar, dtype, pieces=pieces)
    return TaylorBounds(tm, x0a if not scalar else x0a.item(), (a, b), k, scalar, bk)


def taylor_tm(f, X0, Z, box, k, bk, scalar, dtype, pieces=1):
    """TM of ``f`` around X0 over X0 + Z (``Z``: Interval (1, n); ``box``: the
    exact region, Interval (1, n)).

    ``pieces > 1`` (one-dimensional input only): the trust region is cut into
    pieces and the enclosure computed for each in one batched pass (the
    expansion point, hence the true coefficients, is the same); the remainder
    is the hull of the pieces' remainders, the coefficients the intersection.
    Pieces away from the expansion point are refined further (see
    :func:`_pieces_tm`).  For ``n = 1`` the remainder of any two valid forms is
    the same number ``(f(x) - T_k(x)) / z^(k+1)``, so they may be combined.
    """
    n = Z.shape[1]
    if n == 1 and pieces > 1:
        return _pieces_tm(f, X0, Z, k, bk, scalar, dtype, int(pieces))
    ctx = T.Context(Z, k, bk, box=box)
    return interpret(f, ctx, X0, dtype, scalar)


def _piece_edges(fl, fh, P):
    """Edges (in z = x - x0) of P uniform pieces of [fl, fh], plus 0 and a
    geometric refinement of the two pieces next to 0 (the expansion point)."""
    tiny = 1e-12 * (fh - fl)  # linspace may miss 0 by a rounding error: snap to 0
    e = {0.0 if abs(v) <= tiny and fl <= 0.0 <= fh else v for v in np.linspace(fl, fh, P + 1).tolist()}
    if fl < 0 < fh:
        e.add(0.0)
    step = (fh - fl) / P
    for end in (fl, fh):
        L = min(abs(end), step)
        for j in range(1, 5):
            e.add(float(np.sign(end) * L * 2.0 ** -j))
    return np.array(sorted(v for v in e if fl <= v <= fh))


def _pieces_tm(f, X0, Z, k, bk, scalar, dtype, P):
    """The TM of f around X0 computed on pieces of Z (see :func:`taylor_tm`).

    The whole trust region is batch element 0, the pieces follow, all in one
    pass.  The coefficients of the result are those of the whole region
    (element 0): the Taylor coefficients at x0 of the branch that every
    non-smooth operation takes at x0.  A piece that contains x0 takes the
    same branches there (its range contains h(x0)), and a kink exactly at x0
    lowers the degree of the whole batch, so its coefficients have the same
    true values and may be intersected with them.  A piece away from x0 may
    lie on another branch of ``relu``/``where``/... (another polynomial): its
    remainder is rewritten for the reference coefficients,
    ``r = R_p + sum_i (C_p,i - C_i) z^(i-k-1)`` (z is bounded away from 0
    there), unless its coefficient tensors are shared with element 0 (no
    batch dependence: the same operations, hence the same values).

    Pieces away from the expansion point get a second, often much sharper,
    remainder: the range over the piece of
    ``r(x) = (f(x) - sum_i C_i (x - x0)^i) / (x - x0)^(k+1)`` itself (a Taylor
    enclosure of ``r`` centred in the piece, where ``x - x0`` is bounded away
    from 0 and ``r`` varies little).
    """
    zl, zh = Z.lo[0, 0], Z.hi[0, 0]
    fl, fh = float(bk.to_float(np.asarray(zl), -1)), float(bk.to_float(np.asarray(zh), +1))
    inner = _piece_edges(fl, fh, P)
    inner = inner[(inner > fl) & (inner < fh)]
    if bk.is_mp:
        edges = [zl] + [bk.asarray(v) for v in inner] + [zh]
        lo = np.array([zl] + edges[:-1], dtype=object).reshape(-1, 1)
        hi = np.array([zh] + edges[1:], dtype=object).reshape(-1, 1)
    else:
        edges = np.concatenate([[zl], inner, [zh]])
        lo = np.concatenate([[zl], edges[:-1]]).reshape(-1, 1)
        hi = np.concatenate([[zh], edges[1:]]).reshape(-1, 1)
    Zp = Interval(lo, hi, bk)  # element 0: the whole region
    ctx = T.Context(Zp, k, bk)
    tm = interpret(f, ctx, X0, dtype, scalar)
    nb = Zp.shape[0]
    far = (np.greater(Zp.lo, 0) | np.less(Zp.hi, 0)).reshape(-1)
    near = ~far

    def hull(I):
        return Interval(np.min(I.lo, axis=-2, keepdims=True), np.max(I.hi, axis=-2, keepdims=True), bk)

    def meet(I):
        """Intersection over element 0 and the pieces containing x0."""
        if I.shape[-2] == 1:
            return I
        sub = I[(Ellipsis, np.where(near)[0], slice(None))]
        lo_ = np.max(sub.lo, axis=-2, keepdims=True)
        hi_ = np.min(sub.hi, axis=-2, keepdims=True)
        if np.any(np.greater(lo_, hi_)):  # cannot happen for valid enclosures
            raise BoundsError(
                "nnopt.bounds internal error: the pieces containing x0 gave disjoint "
                "coefficient enclosures (please report this with the function)"
            )
        return Interval(lo_, hi_, bk)

    coeffs = [None if c is None else meet(c) for c in tm.coeffs]
    d = tm.degree
    S = tm.shape
    R = tm.rem if tm.rem is not None else Interval.zeros(S + (1, 1), bk)
    R = R.broadcast_to(S + (nb, 1))
    if d >= 0 and np.any(far):
        R = _rebase_far_pieces(tm, coeffs, R, Zp, far, bk, S)
        R = _refine_far_pieces(f, X0, Zp, far, coeffs, R, d, bk, scalar, dtype, S)
    full = T.Context(Z, k, bk)
    pieces = np.arange(nb) > 0
    rem = hull(R[(Ellipsis, np.where(pieces)[0], slice(None))])
    rem = rem.intersect(R[(Ellipsis, slice(0, 1), slice(None))])
    rng = tm.rng.broadcast_to(S + (nb, 1))
    rng = hull(rng[(Ellipsis, np.where(pieces)[0], slice(None))]).intersect(rng[(Ellipsis, slice(0, 1), slice(None))])
    return T.TM(full, coeffs, rem, rng, S)


def _rebase_far_pieces(tm, coeffs, R, Zp, far, bk, S):
    """Remainders of the far pieces for the reference coefficients ``coeffs``:
    f = sum_i C_p,i z^i + R_p z^(d+1) = sum_i C_i z^i + r z^(d+1) gives
    r = R_p + sum_i (C_p,i - C_i) z^(i-d-1), z in the piece (0 not in it)."""
    d = tm.degree
    idx = np.where(far)[0]
    Zf = Zp[(idx, slice(None))]  # (nf, 1)
    corr = None
    for i, (cp, c) in enumerate(zip(tm.coeffs, coeffs)):
        if cp is None or cp.shape[-2] == 1:
            continue  # no batch dependence: the piece's coefficient is the reference
        diff = cp[(Ellipsis, idx, slice(None))] - c
        with np.errstate(all="ignore"):
            zp = Zf.pow_int(d + 1 - i).recip()  # z^(i-d-1), 0 not in Zf
        term = diff * zp
        corr = term if corr is None else corr + term
    if corr is None:
        return R
    cur = R[(Ellipsis, idx, slice(None))] + corr
    new_lo = np.array(R.lo, copy=True)
    new_hi = np.array(R.hi, copy=True)
    new_lo[(Ellipsis, idx, slice(None))] = cur.lo
    new_hi[(Ellipsis, idx, slice(None))] = cur.hi
    return Interval(new_lo, new_hi, bk)


def _refine_far_pieces(f, X0, Zp, far, coeffs, R, d, bk, scalar, dtype, S):
    x0 = X0.lo.reshape(()) if not bk.is_mp else X0.lo.reshape(()).item()
    x0v = x0 if bk.is_mp else float(x0)
    C = [None if c is None else c.reshape(S) for c in coeffs]

    def g(x):
        z = nnp.subtract(x, x0v)
        p = None  # Horner with the traced z first (the coefficients are Intervals)
        for c in reversed(C):
            if p is not None:
                p = nnp.multiply(z, p)
            if c is not None:
                p = c if p is None else nnp.add(p, c)
        out = f(x)
        g = out if p is None else nnp.subtract(out, p)
        # r = g / z^(d+1) as one function: its enclosure keeps the correlation
        return nnp.divide(g, nnp.power(z, d + 1))

    idx = np.where(far)[0]
    zlo = Zp.lo.reshape(-1)[idx]
    zhi = Zp.hi.reshape(-1)[idx]
    Zf = Interval(zlo.reshape(-1, 1), zhi.reshape(-1, 1), bk)
    absb = Interval.point(np.asarray(x0v if not bk.is_mp else X0.lo.reshape(())), bk) + Zf
    alo = bk.to_float(absb.lo, -1).reshape(-1)
    ahi = bk.to_float(absb.hi, +1).reshape(-1)
    # each far piece in SUB sub-pieces (r is enclosed with a degree-1 form on each)
    SUB = 8
    t = np.linspace(0.0, 1.0, SUB + 1)
    sl = alo[:, None] + (ahi - alo)[:, None] * t[None, :-1]
    sh = alo[:, None] + (ahi - alo)[:, None] * t[None, 1:]
    sl[:, 0], sh[:, -1] = alo, ahi  # cover the piece exactly
    try:
        gt = evaluate_boxes(g, sl.reshape(-1, 1), sh.reshape(-1, 1), 1, bk, scalar, dtype)
    except Exception:  # an optional refinement: keep the composition remainder
        return R
    rr = gt.rng.broadcast_to(S + (idx.size * SUB, 1)).reshape(S + (idx.size, SUB))
    q = Interval(np.min(rr.lo, axis=-1, keepdims=True), np.max(rr.hi, axis=-1, keepdims=True), bk)
    cur = R[(Ellipsis, idx, slice(None))]
    lo_ = np.maximum(cur.lo, q.lo)
    hi_ = np.minimum(cur.hi, q.hi)
    ok = np.less_equal(lo_, hi_)
    lo_ = np.where(ok, lo_, cur.lo)
    hi_ = np.where(ok, hi_, cur.hi)
    new_lo = np.array(R.lo, copy=True)
    new_hi = np.array(R.hi, copy=True)
    new_lo[(Ellipsis, idx, slice(None))] = lo_
    new_hi[(Ellipsis, idx, slice(None))] = hi_
    return Interval(new_lo, new_hi, bk)


def make_box(box, name="box"):
    """Parse a box: a pair (a, b) of numbers (scalar input) or a sequence of
    (low, high) pairs (vector input).  Returns (lo, hi, scalar_input)."""
    if isinstance(box, np.ndarray) and box.ndim == 2 and box.shape[1] == 2:
        pairs = box
        scalar = False
    elif (isinstance(box, (tuple, list)) and len(box) == 2
          and all(isinstance(v, numbers.Real) or (isinstance(v, np.ndarray) and v.ndim == 0) for v in box)):
        pairs = np.asarray([box])
        scalar = True
    else:
        try:
            pairs = np.asarray(box)
        except Exception:  # pragma: no cover
            pairs = None
        if pairs is None or pairs.ndim != 2 or pairs.shape[1] != 2 or pairs.shape[0] == 0:
            raise ValueError(
                f"{name} must be a sequence of (low, high) pairs, one per dimension (or one pair "
                f"(a, b) for a scalar input), got {box!r}"
            )
        scalar = False
    if pairs.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {pairs.dtype}")
    lo, hi = pairs[:, 0], pairs[:, 1]
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
        raise ValueError(f"{name} must be bounded and finite, got {box!r}")
    if np.any(lo > hi):
        raise ValueError(f"{name} needs low <= high in every dimension, got {box!r}")
    return lo, hi, scalar


def mid_and_z(lo, hi, bk):
    """Midpoints (inside the boxes) and Z = box - mid, for boxes (B, n)."""
    lo = np.asarray(lo, dtype=np.float64)
    hi = np.asarray(hi, dtype=np.float64)
    L = Interval.point(lo, bk)
    H = Interval.point(hi, bk)
    box = Interval(L.lo, H.hi, bk)
    midf = np.minimum(np.maximum(0.5 * lo + 0.5 * hi, lo), hi)  # a float point of the box
    X0 = Interval.point(midf, bk)
    Z = Interval((Interval(box.lo, box.lo, bk) - X0).lo, (Interval(box.hi, box.hi, bk) - X0).hi, bk)
    zero = bk.zeros(Z.shape)
    Z = Interval(np.minimum(Z.lo, zero), np.maximum(Z.hi, zero), bk)
    return X0, Z


def evaluate_boxes(f, lo, hi, degree, bk, scalar, dtype=np.float64):
    """TM of f over each box (lo[b], hi[b]) (arrays (B, n)), centred at the box mid."""
    X0, Z = mid_and_z(lo, hi, bk)
    box = Interval(Interval.point(np.asarray(lo, dtype=np.float64), bk).lo,
                   Interval.point(np.asarray(hi, dtype=np.float64), bk).hi, bk)
    ctx = T.Context(Z, degree, bk, box=box)
    return interpret(f, ctx, X0, dtype, scalar)


def enclose(f, box, *, degree=1, backend=None):
    """A verified enclosure ``(lo, hi)`` of the range of ``f`` over ``box``.

    The range of a Taylor enclosure of ``degree`` centred at the box midpoint,
    intersected at every step with plain interval arithmetic (``degree=-1``
    is plain interval arithmetic, ``0`` the mean-value form).

    Parameters
    ----------
    f : callable written with :mod:`nnopt.numpy`
    box : (a, b) for a scalar input, or a sequence of (low, high) pairs
    degree : int in [-1, 12]
    backend : see :func:`taylor_bounds`

    Returns
    -------
    (lo, hi) : floats, or arrays shaped like ``f``'s output

    Examples
    --------
    >>> import nnopt.numpy as nnp
    >>> from nnopt.bounds import enclose
    >>> lo, hi = enclose(lambda x: nnp.sin(x[0]) * x[1], [(0, 1), (-1, 2)])
    """
    _check_callable(f)
    d = _check_degree(degree, low=-1)
    bk = get_backend(backend)
    lo, hi, scalar = make_box(box)
    dtype = _input_dtype(np.asarray(lo), np.asarray(hi))
    tm = evaluate_boxes(f, lo.reshape(1, -1), hi.reshape(1, -1), d, bk, scalar, dtype)
    l_, h_ = tm.rng.to_floats()
    S = tm.shape
    l_, h_ = l_.reshape(S), h_.reshape(S)
    if S == ():
        return float(l_), float(h_)
    return l_, h_
