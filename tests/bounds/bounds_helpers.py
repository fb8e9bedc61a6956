"""Shared helpers for the bounds tests: a grammar of random functions with an
independent mpmath evaluator, and high-precision Taylor coefficients."""
import mpmath
import numpy as np

import nnopt
import nnopt.numpy as nnp
from nnopt.autodiff.rules.elementwise import is_mp

mp = mpmath
DPS = 50


def _mpf(v):
    return mp.mpf(float(v))


# name -> (nnopt version, mpmath version); all defined on the whole real line
UNARY = {
    "exp": (nnp.exp, mp.exp),
    "tanh": (nnp.tanh, mp.tanh),
    "sigmoid": (nnp.sigmoid, lambda u: 1 / (1 + mp.exp(-u))),
    "sin": (nnp.sin, mp.sin),
    "cos": (nnp.cos, mp.cos),
    "arctan": (nnp.arctan, mp.atan),
    "softplus": (nnp.softplus, lambda u: mp.log1p(mp.exp(u))),
    "erf": (nnp.erf, mp.erf),
    "square": (lambda u: u * u, lambda u: u * u),
    "cube": (lambda u: u ** 3, lambda u: u ** 3),
    "sqrt1": (lambda u: nnp.sqrt(1 + u * u), lambda u: mp.sqrt(1 + u * u)),
    "log1": (lambda u: nnp.log(1 + u * u), lambda u: mp.log(1 + u * u)),
    "log1p_sq": (lambda u: nnp.log1p(u * u), lambda u: mp.log1p(u * u)),
    "expm1": (nnp.expm1, mp.expm1),
    "sinh": (nnp.sinh, mp.sinh),
    "cosh": (nnp.cosh, mp.cosh),
    "relu": (nnp.relu, lambda u: u if u > 0 else mp.mpf(0)),
    "elu": (nnp.elu, lambda u: u if u > 0 else mp.expm1(u)),
    "elu_half": (lambda u: nnp.elu(u, 0.5), lambda u: u if u > 0 else mp.mpf(0.5) * mp.expm1(u)),
    "abs": (nnp.abs, mp.fabs),
    "neg": (lambda u: -u, lambda u: -u),
    "recip1": (lambda u: 1 / (1 + u * u), lambda u: 1 / (1 + u * u)),
    "tan_small": (lambda u: nnp.tan(0.5 * nnp.tanh(u)), lambda u: mp.tan(mp.mpf(0.5) * mp.tanh(u))),
    "pow15": (lambda u: (1 + u * u) ** 1.5, lambda u: (1 + u * u) ** mp.mpf(1.5)),
    # gelu written out with the float constant 1/sqrt(2) (nnp.gelu uses the exact
    # constant in the mpmath interpreter and the float one otherwise)
    "gelu": (lambda u: u * 0.5 * (nnp.erf(u * 0.7071067811865476) + 1),
             lambda u: u * mp.mpf(0.5) * (mp.erf(u * mp.mpf(0.7071067811865476)) + 1)),
}

BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: a + b),
    "sub": (lambda a, b: a - b, lambda a, b: a - b),
    "mul": (lambda a, b: a * b, lambda a, b: a * b),
    "max": (nnp.maximum, lambda a, b: max(a, b)),
    "min": (nnp.minimum, lambda a, b: min(a, b)),
    "where": (lambda a, b: nnp.where(a > b, a, 0.5 * b), lambda a, b: a if a > b else mp.mpf(0.5) * b),
    "lse": (lambda a, b: nnp.logsumexp(nnp.stack([a, b])), lambda a, b: mp.log(mp.exp(a) + mp.exp(b))),
}

SMOOTH_UNARY = [k for k in UNARY if k not in ("relu", "abs", "elu", "elu_half")]
SMOOTH_BINARY = ["add", "sub", "mul", "lse"]


def build(tree):
    """(nnopt function, mpmath function) of x for an expression tree."""
    kind = tree[0]
    if kind == "x":
        return (lambda x: x), (lambda x: x)
    if not has_x(tree):
        # a subexpression without x is an ordinary float computation (NumPy),
        # before any bound is involved: both sides use its float64 value
        v = float(np.asarray(build_const(tree)))
        return (lambda x: _const_like(x, v)), (lambda x: mp.mpf(v))
    if kind == "c":
        v = float(tree[1])
        return (lambda x: _const_like(x, v)), (lambda x: mp.mpf(v))
    if kind in UNARY:
        f, g = build(tree[1])
        nf, mf = UNARY[kind]
        return (lambda x: nf(f(x))), (lambda x: mf(g(x)))
    f1, g1 = build(tree[1])
    f2, g2 = build(tree[2])
    nf, mf = BINARY[kind]
    return (lambda x: nf(f1(x), f2(x))), (lambda x: mf(g1(x), g2(x)))


def _const_like(x, v):
    """The constant v; an mpf when the function runs on mpmath numbers (so that
    a constant picked by ``where`` is not carried on as a Python float into
    float arithmetic by the mpmath interpreter)."""
    return mp.mpf(v) if is_mp(x) else v


def build_const(tree):
    kind = tree[0]
    if kind == "c":
        return float(tree[1])
    if kind in UNARY:
        return UNARY[kind][0](build_const(tree[1]))
    return BINARY[kind][0](build_const(tree[1]), build_const(tree[2]))


def has_x(tree):
    if tree[0] == "x":
        return True
    if tree[0] == "c":
        return False
    return any(has_x(t) for t in tree[1:])


def taylor_mp(f, x0, k, region=None):
    """[f^(i)(x0)/i!] for i <= k at DPS digits via nested nnopt.jvp on mpmath
    numbers (the branch of relu/abs/max/where active at x0).

    With ``region = (a, b)`` the derivatives are taken at ``x0 +- eps`` inside
    the region (to the right unless x0 = b): the one-sided derivatives that
    taylor_bounds documents, which differ from the point conventions
    (relu'(0) = 0, elu''(0) = alpha) where a switch sits exactly at x0 = a or
    b, or where a relu/elu argument touches 0 at x0 without changing sign.
    ``eps = |x0| 10**-(DPS-8)`` (``10**-400`` at x0 = 0) is far below the
    distance from x0 to any other switch point a float computation can make,
    and changes the coefficients by a relative 1e-42, far below the
    tolerances.
    """
    one = np.array(mp.mpf(1), dtype=object)
    fs = [f]
    for _ in range(k):
        g = fs[-1]
        fs.append(lambda x, g=g: nnopt.jvp(g, (x,), (one,))[1])
    xm = mp.mpf(float(x0))
    if region is not None:
        side = 1 if float(x0) < float(region[1]) else -1
        eps = abs(xm) * mp.mpf(10) ** -(DPS - 8) if xm != 0 else mp.mpf(10) ** -400
        xm += side * eps
    x = np.array(xm, dtype=object)
    out = []
    for i, g in enumerate(fs):
        v = g(x)
        v = v.item() if isinstance(v, np.ndarray) else v
        out.append(mp.mpf(v) / mp.factorial(i))
    return out


def pair(c):
    """Coefficient as (lo, hi) whether returned as a float or a pair."""
    return c if isinstance(c, tuple) else (c, c)


def samples(a, b, n=120):
    xs = np.unique(np.concatenate([np.linspace(a, b, n), [a, b, np.nextafter(a, b), np.nextafter(b, a)]]))
    return xs[(xs >= a) & (xs <= b)]


def check_taylor(tb, mf, x0, a, b, n=120, rel=mp.mpf(10) ** -25, coeffs=None):
    """Assert the TaylorBounds ``tb`` of a scalar function: true coefficients
    inside their enclosures and the true remainder inside ``tb.remainder``."""
    k = tb.degree
    if coeffs is None:
        raise ValueError("pass the true coefficients")
    c = coeffs[: k + 1]
    for i, ci in enumerate(c):
        lo, hi = pair(tb.coefficients[i])
        tol = rel * (1 + abs(ci))
        assert lo - tol <= ci <= hi + tol, (i, lo, hi, ci)
    rlo, rhi = tb.remainder
    x0m = mp.mpf(float(x0))
    for x in samples(a, b, n):
        z = mp.mpf(float(x)) - x0m
        if abs(z) < 1e-6:
            continue
        fx = mf(mp.mpf(float(x)))
        terms = [ci * z ** i for i, ci in enumerate(c)]
        r = (fx - sum(terms)) / z ** (k + 1)
        # the mpmath truth carries errors ~10**-DPS of the terms it cancels
        tol = mp.mpf(10) ** -(DPS - 10) * (1 + abs(fx) + sum(abs(t) for t in terms)) / abs(z) ** (k + 1)
        assert rlo - tol <= r <= rhi + tol, (float(x), float(r), rlo, rhi)
