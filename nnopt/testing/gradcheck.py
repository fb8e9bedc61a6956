"""Derivative checkers: random inner-product tests against finite differences.

For a function ``f`` of arrays ``x = (x_1, ..., x_k)`` with Jacobian ``J``,
random directions ``u`` (input space) and ``v`` (output space) give three
numbers that must agree:

* forward mode      ``<v, J u>``   from :func:`nnopt.jvp`;
* reverse mode      ``<J^T v, u>`` from :func:`nnopt.vjp`;
* central differences ``<v, (f(x + h u) - f(x - h u)) / (2 h)>``, whose
  error is ``O(h^2 f''') + O(macheps |f| / h)``.

Checks of order 2 apply the same test to the derivative functions
``(x, u) -> J(x) u`` and ``(x, v) -> J(x)^T v`` themselves (with respect to
all of their arguments), which exercises every second-derivative rule in
both modes.  This is the test of HIPS/autograd's ``test_util.check_grads``
(Maclaurin, Duvenaud, Adams), with tolerances derived from the dtype.
"""
from __future__ import annotations

import numpy as np

from ..autodiff.transforms import hessian, hvp, jvp, vjp

__all__ = ["check_grads", "check_hvp", "default_tolerances"]

_MODES = ("fwd", "rev")


# ---------------------------------------------------------------------------
# tolerances
# ---------------------------------------------------------------------------


def default_tolerances(dtype):
    """The finite-difference step and tolerances used for ``dtype``.

    Parameters
    ----------
    dtype : dtype-like
        A real floating dtype (float32 or float64).

    Returns
    -------
    dict
        ``eps = macheps**(1/3)``, the relative step that balances the
        truncation error ``h^2 |f'''| / 6`` of central differences against
        their rounding error ``macheps |f| / h``; ``rtol = atol =
        macheps**(1/2)``.  For float64: ``eps ~ 6.1e-6``, ``rtol ~ 1.5e-8``;
        for float32: ``eps ~ 4.9e-3``, ``rtol ~ 3.5e-4``.
    """
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"default_tolerances: expected a real floating dtype, got {dtype}")
    macheps = float(np.finfo(dtype).eps)
    return {"eps": macheps ** (1.0 / 3.0), "rtol": macheps ** 0.5, "atol": macheps ** 0.5}


class _Tols:
    __slots__ = ("eps", "rtol", "atol", "macheps", "dtype")

    def __init__(self, dtype, eps, rtol, atol):
        d = default_tolerances(dtype)
        self.dtype = np.dtype(dtype)
        self.macheps = float(np.finfo(dtype).eps)
        self.eps = d["eps"] if eps is None else _positive(eps, "eps")
        self.rtol = d["rtol"] if rtol is None else _nonneg(rtol, "rtol")
        self.atol = d["atol"] if atol is None else _nonneg(atol, "atol")

    def describe(self):
        return (
            f"dtype {self.dtype}, eps={self.eps:.3g}, rtol={self.rtol:.3g}, atol={self.atol:.3g}"
        )


def _positive(value, name):
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"check_grads: {name} must be a positive number, got {value!r}") from None
    if not value > 0 or not np.isfinite(value):
        raise ValueError(f"check_grads: {name} must be a positive finite number, got {value!r}")
    return value


def _nonneg(value, name):
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"check_grads: {name} must be a number >= 0, got {value!r}") from None
    if not value >= 0 or not np.isfinite(value):
        raise ValueError(f"check_grads: {name} must be a finite number >= 0, got {value!r}")
    return value


# ---------------------------------------------------------------------------
# small helpers on arrays and tuples of arrays
# ---------------------------------------------------------------------------


def _flatten(tree):
    if isinstance(tree, (tuple, list)):
        leaves, defs = [], []
        for t in tree:
            lv, d = _flatten(t)
            leaves.extend(lv)
            defs.append((len(lv), d))
        return leaves, (type(tree), defs)
    return [tree], None


def _unflatten(defn, leaves):
    if defn is None:
        return leaves[0]
    kind, defs = defn
    out, k = [], 0
    for n, d in defs:
        out.append(_unflatten(d, leaves[k:k + n]))
        k += n
    return kind(out)


def _float_input(x, what):
    if isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{what}: expected a real floating-point array, got a bool")
    if isinstance(x, (int, np.integer)):
        raise TypeError(
            f"{what}: expected a real floating-point array, got the integer {x!r}; "
            "pass a float or a float32/float64 array"
        )
    x = np.asarray(x) if not isinstance(x, np.ndarray) else x
    if x.dtype.kind != "f":
        raise TypeError(
            f"{what}: expected a real floating-point array (float32 or float64), got dtype "
            f"{x.dtype}" + ("; for mpmath arrays use nnopt.precision" if x.dtype == object else "")
        )
    return x


def _as_args(args, fname):
    if isinstance(args, (tuple, list)):
        args = tuple(args)
    else:
        args = (args,)
    if not args:
        raise ValueError(f"{fname}: args must hold at least one array")
    return tuple(_float_input(a, f"{fname}: args[{i}]") for i, a in enumerate(args))


def _leaves_of_output(out, what):
    leaves, treedef = _flatten(out)
    arrays = []
    for k, leaf in enumerate(leaves):
        a = np.asarray(leaf)
        if a.dtype.kind != "f":
            raise TypeError(
                f"{what}: output {k} has dtype {a.dtype}; check_grads needs real floating outputs"
            )
        arrays.append(a)
    return arrays, treedef


def _inner(a_leaves, b_leaves):
    """sum_k <a_k, b_k> in float64, and sum_k sum |a_k * b_k| (its magnitude)."""
    total, mag = 0.0, 0.0
    for a, b in zip(a_leaves, b_leaves):
        p = np.asarray(a, dtype=np.float64) * np.asarray(b, dtype=np.float64)
        total += float(np.sum(p))
        mag += float(np.sum(np.abs(p)))
    return total, mag


def _random_like(rng, leaves, scale_by_value):
    """Random normal directions, jointly of unit norm; each leaf is then
    scaled by max(1, max|x|) so that x +- h u is a relative step of size h."""
    raw = [rng.standard_normal(np.shape(x)) for x in leaves]
    norm = np.sqrt(sum(float(np.sum(r * r)) for r in raw)) or 1.0
    out = []
    for r, x in zip(raw, leaves):
        s = 1.0
        if scale_by_value and np.size(x):
            s = max(1.0, float(np.max(np.abs(x))))
        out.append((r * (s / norm)).astype(np.asarray(x).dtype))
    return out


def _lowest_precision(dtypes):
    return max(dtypes, key=lambda d: np.finfo(d).eps)


# ---------------------------------------------------------------------------
# check_grads
# ---------------------------------------------------------------------------


def check_grads(f, args, order=2, modes=("fwd", "rev"), eps=None, rtol=None, atol=None, rng=None):
    """Check the derivatives of ``f`` at ``args`` to the given order.

    For random directions ``u`` in the input space and ``v`` in the output
    space, with ``J`` the Jacobian of ``f`` at ``x = args``:

    * ``"fwd"``: ``<v, jvp(f, x, u)>`` must match the central difference
      ``<v, (f(x + eps u) - f(x - eps u)) / (2 eps)>``;
    * ``"rev"``: ``<vjp(v), u>`` must match the same central difference, and
      (when both modes are checked) ``<vjp(v), u> == <v, jvp(u)>`` up to
      rounding.

    With ``order >= 2`` the check recurses on the derivative functions
    ``(x, u) -> J(x) u`` (``"fwd"``) and ``(x, v) -> J(x)^T v`` (``"rev"``),
    each checked in all ``modes``, as in HIPS/autograd's ``check_grads``.

    A comparison ``a`` (derivative) vs ``b`` (finite difference) passes when
    ``|a - b| <= atol + rtol * max(|a|, |b|) + noise``, where
    ``noise = 100 macheps sum|v| (|f(x+eps u)| + |f(x-eps u)|) / (2 eps)``
    bounds the rounding error of the difference quotient.  The directions
    are scaled by ``max(1, max|x_i|)`` per argument, so ``eps`` is a relative
    step.  Inner products are accumulated in float64.

    Parameters
    ----------
    f : callable
        ``f(*args)`` returning a floating array or a tuple/list of arrays,
        written with :mod:`nnopt.numpy`.
    args : array or tuple of arrays
        The point; real floating arrays (float32 or float64).  A single array
        stands for ``(array,)``.
    order : int, default 2
        Highest derivative order checked (>= 1).
    modes : sequence of {"fwd", "rev"} (or one of them as a string)
    eps, rtol, atol : float, optional
        Step and tolerances; defaults from ``np.finfo`` of the lowest-precision
        argument dtype (see :func:`default_tolerances`).
    rng : numpy.random.Generator or int, optional
        Source of the random directions; default ``np.random.default_rng(0)``
        (reproducible).

    Tangents must also have their output's shape and dtype, and cotangents
    their argument's (dtype faithfulness).

    Raises
    ------
    AssertionError
        With the order, the mode, the function checked (``f``, ``jvp(f)``,
        ``vjp(f)``, ...) and the two numbers, when a check fails.
    TypeError, ValueError
        For bad arguments, or when ``f`` returns non-floating or non-finite
        values at ``args``.

    Examples
    --------
    >>> import numpy as np, nnopt.numpy as nnp
    >>> from nnopt.testing import check_grads
    >>> check_grads(lambda x, W: nnp.tanh(W @ x), (np.ones(3), np.eye(3)))
    """
    if not callable(f):
        raise TypeError(f"check_grads: f must be callable, got {type(f).__name__}")
    args = _as_args(args, "check_grads")
    if isinstance(order, (bool, np.bool_)) or not isinstance(order, (int, np.integer)):
        raise TypeError(f"check_grads: order must be an int >= 1, got {order!r}")
    if order < 1:
        raise ValueError(f"check_grads: order must be >= 1, got {order}")
    if isinstance(modes, str):
        modes = (modes,)
    modes = tuple(modes)
    if not modes or any(m not in _MODES for m in modes):
        raise ValueError(f"check_grads: modes must be a non-empty subset of {_MODES}, got {modes!r}")
    if rng is None or isinstance(rng, (int, np.integer)):
        rng = np.random.default_rng(0 if rng is None else int(rng))
    elif not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"check_grads: rng must be a numpy.random.Generator or an int seed, got {type(rng).__name__}"
        )
    tols = _Tols(_lowest_precision([a.dtype for a in args]), eps, rtol, atol)
    _check(f, args, order, 1, modes, tols, rng, "f")


def _fail(level, mode, name, what_a, a, what_b, b, diff, tol, tols):
    raise AssertionError(
        f"check_grads: order {level}, mode '{mode}', checking {name}: {what_a} = {a:.17g} "
        f"but {what_b} = {b:.17g}; |difference| = {diff:.3g} > tolerance {tol:.3g} "
        f"({tols.describe()})"
    )


def _check(f, args, order, level, modes, tols, rng, name):
    k = len(args)
    out_leaves, out_def = _leaves_of_output(f(*args), f"check_grads: {name}")
    for j, o in enumerate(out_leaves):
        if not np.all(np.isfinite(o)):
            raise ValueError(
                f"check_grads: {name} returned non-finite values (output {j}) at the check "
                "point; choose a point where f is finite"
            )
    us = _random_like(rng, args, scale_by_value=True)
    vs = _random_like(rng, out_leaves, scale_by_value=False)

    # central differences along u, in each argument's dtype
    h = tols.eps
    xp = tuple((a + a.dtype.type(h) * u).astype(a.dtype) for a, u in zip(args, us))
    xm = tuple((a - a.dtype.type(h) * u).astype(a.dtype) for a, u in zip(args, us))
    fp, _ = _leaves_of_output(f(*xp), f"check_grads: {name}")
    fm, _ = _leaves_of_output(f(*xm), f"check_grads: {name}")
    fp = [np.asarray(p, np.float64) for p in fp]
    fm = [np.asarray(m, np.float64) for m in fm]
    fd, _ = _inner(vs, [(p - m) / (2.0 * h) for p, m in zip(fp, fm)])
    # rounding error of the difference quotient: macheps |f| / h, with a
    # factor 100 for the rounding inside f itself
    _, fsum = _inner([np.abs(v) for v in vs], [np.abs(p) + np.abs(m) for p, m in zip(fp, fm)])
    noise = 100.0 * tols.macheps * fsum / (2.0 * h)
    what_fd = "central differences <v, (f(x + eps u) - f(x - eps u)) / (2 eps)>"

    def close(a, b):
        diff = abs(a - b)
        tol = tols.atol + tols.rtol * max(abs(a), abs(b)) + noise
        return diff <= tol, diff, tol

    jv = None
    if "fwd" in modes:
        _, tout = jvp(f, args, us)
        t_leaves, _ = _leaves_of_output(tout, f"check_grads: jvp of {name}")
        for j, (t, o) in enumerate(zip(t_leaves, out_leaves)):
            if t.shape != o.shape or t.dtype != o.dtype:
                raise AssertionError(
                    f"check_grads: order {level}, mode 'fwd', checking {name}: tangent {j} has "
                    f"shape {t.shape} dtype {t.dtype}, the output has shape {o.shape} dtype {o.dtype}"
                )
        jv, jv_mag = _inner(vs, t_leaves)
        ok, diff, tol = close(jv, fd)
        if not ok:
            _fail(level, "fwd", name, "forward mode <v, J u>", jv, what_fd, fd, diff, tol, tols)
    if "rev" in modes:
        _, pullback = vjp(f, *args)
        cts = pullback(_unflatten(out_def, vs))
        ct_leaves = [np.asarray(c) for c in cts]
        for i, (c, a) in enumerate(zip(ct_leaves, args)):
            if c.shape != a.shape or c.dtype != a.dtype:
                raise AssertionError(
                    f"check_grads: order {level}, mode 'rev', checking {name}: the cotangent of "
                    f"argument {i} has shape {c.shape} dtype {c.dtype}, the argument has shape "
                    f"{a.shape} dtype {a.dtype}"
                )
        vj, vj_mag = _inner(ct_leaves, us)
        ok, diff, tol = close(vj, fd)
        if not ok:
            _fail(level, "rev", name, "reverse mode <J^T v, u>", vj, what_fd, fd, diff, tol, tols)
        if jv is not None:  # the two modes agree up to rounding
            diff = abs(vj - jv)
            tol = tols.atol + tols.rtol * (vj_mag + jv_mag)
            if not diff <= tol:
                _fail(level, "fwd vs rev", name, "reverse mode <J^T v, u>", vj,
                      "forward mode <v, J u>", jv, diff, tol, tols)
    if order <= 1:
        return
    if "fwd" in modes:

        def jvp_f(*xu):
            return jvp(f, xu[:k], xu[k:])[1]

        _check(jvp_f, args + tuple(us), order - 1, level + 1, modes, tols, rng, f"jvp({name})")
    if "rev" in modes:

        def vjp_f(*xv):
            return vjp(f, *xv[:k])[1](_unflatten(out_def, list(xv[k:])))

        _check(vjp_f, args + tuple(vs), order - 1, level + 1, modes, tols, rng, f"vjp({name})")


# ---------------------------------------------------------------------------
# check_hvp
# ---------------------------------------------------------------------------


def check_hvp(f, x, v=None, eps=None, rtol=None, atol=None, rng=None):
    """Check ``hvp(f, x, v)`` against the dense Hessian and finite differences.

    Three checks, for scalar-valued ``f`` and ``H = hessian(f)(x)``
    (flattened to ``n x n``):

    1. ``H`` is symmetric up to rounding:
       ``|H - H^T| <= rtol (|H| + |H^T|) + atol`` elementwise;
    2. ``hvp(f, x, v) == H @ v`` up to rounding:
       ``|hvp - H v| <= rtol |H| |v| + atol`` elementwise;
    3. ``hvp`` matches central differences of the gradient,
       ``(grad f(x + eps v) - grad f(x - eps v)) / (2 eps)``, in the 2-norm,
       with the tolerance rule of :func:`check_grads`.

    Parameters
    ----------
    f : callable
        Scalar-valued function of one array, written with :mod:`nnopt.numpy`.
    x : array
        Real floating array (float32 or float64).
    v : array, optional
        Direction, same shape and dtype as ``x``; default a random unit
        vector scaled by ``max(1, max|x|)``.
    eps, rtol, atol : float, optional
        Defaults from :func:`default_tolerances` for ``x.dtype``.
    rng : numpy.random.Generator or int, optional
        For the random ``v``; default ``np.random.default_rng(0)``.

    Raises
    ------
    AssertionError
        Naming the failed check and the numbers.
    """
    from ..autodiff.transforms import grad

    if not callable(f):
        raise TypeError(f"check_hvp: f must be callable, got {type(f).__name__}")
    x = _float_input(x, "check_hvp: x")
    if rng is None or isinstance(rng, (int, np.integer)):
        rng = np.random.default_rng(0 if rng is None else int(rng))
    elif not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"check_hvp: rng must be a numpy.random.Generator or an int seed, got {type(rng).__name__}"
        )
    if v is None:
        v = _random_like(rng, [x], scale_by_value=True)[0]
    else:
        v = _float_input(v, "check_hvp: v")
        if v.shape != x.shape:
            raise ValueError(f"check_hvp: v has shape {v.shape}, x has shape {x.shape}")
        if v.dtype != x.dtype:
            raise TypeError(f"check_hvp: v has dtype {v.dtype}, x has dtype {x.dtype}")
    tols = _Tols(x.dtype, eps, rtol, atol)
    n = x.size

    hv = np.asarray(hvp(f, x, v))
    if hv.shape != x.shape or hv.dtype != x.dtype:
        raise AssertionError(
            f"check_hvp: hvp returned shape {hv.shape} dtype {hv.dtype}, expected shape "
            f"{x.shape} dtype {x.dtype}"
        )
    H = np.asarray(hessian(f)(x))
    if H.shape != x.shape + x.shape:
        raise AssertionError(f"check_hvp: hessian has shape {H.shape}, expected {x.shape + x.shape}")
    H = H.reshape(n, n).astype(np.float64)
    absH = np.abs(H)

    asym = np.abs(H - H.T)
    bound = tols.rtol * (absH + absH.T) + tols.atol
    if np.any(asym > bound):
        i, j = np.unravel_index(np.argmax(asym - bound), asym.shape)
        raise AssertionError(
            f"check_hvp: the Hessian is not symmetric: H[{i},{j}] = {H[i, j]:.17g} but "
            f"H[{j},{i}] = {H[j, i]:.17g} ({tols.describe()})"
        )

    vf = v.reshape(n).astype(np.float64)
    hvf = hv.reshape(n).astype(np.float64)
    dense = H @ vf
    err = np.abs(hvf - dense)
    bound = tols.rtol * (absH @ np.abs(vf)) + tols.atol
    if np.any(err > bound):
        i = int(np.argmax(err - bound))
        raise AssertionError(
            f"check_hvp: hvp(f, x, v)[{i}] = {hvf[i]:.17g} but (hessian(f)(x) @ v)[{i}] = "
            f"{dense[i]:.17g}; |difference| = {err[i]:.3g} > tolerance {bound[i]:.3g} "
            f"({tols.describe()})"
        )

    h = tols.eps
    g = grad(f)
    gp = np.asarray(g((x + x.dtype.type(h) * v).astype(x.dtype)), np.float64).reshape(n)
    gm = np.asarray(g((x - x.dtype.type(h) * v).astype(x.dtype)), np.float64).reshape(n)
    fd = (gp - gm) / (2.0 * h)
    noise = 100.0 * tols.macheps * float(np.linalg.norm(np.abs(gp) + np.abs(gm))) / (2.0 * h)
    diff = float(np.linalg.norm(hvf - fd))
    tol = tols.atol + tols.rtol * max(float(np.linalg.norm(hvf)), float(np.linalg.norm(fd))) + noise
    if not diff <= tol:
        raise AssertionError(
            f"check_hvp: ||hvp(f, x, v)|| = {np.linalg.norm(hvf):.17g} differs from central "
            f"differences of grad f along v (norm {np.linalg.norm(fd):.17g}) by {diff:.3g} > "
            f"tolerance {tol:.3g} ({tols.describe()})"
        )
