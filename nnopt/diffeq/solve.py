"""``solve(problem, ...)``: train a neural form and return a :class:`Solution`."""
from __future__ import annotations

import numbers
import time

import numpy as np

from ..nn import MLP
from . import collocation as _col
from .forms import PenaltyForm, make_form
from .lm import levenberg_marquardt
from .residuals import ResidualSystem
from .solution import Solution

__all__ = ["solve", "default_net", "default_points", "default_maxiter", "default_init", "METHODS"]

METHODS = ("lm", "lbfgs", "bfgs", "cg", "newton-cg", "adam")


def default_net(problem):
    """The network :func:`solve` uses when none is given.

    1-D problems: one hidden layer of 30 tanh units (``[1, 30, m]``, 91
    weights for a scalar equation); d-D problems: two hidden layers of 12 tanh
    units (``[d, 12, 12, 1]``, 205 weights in 2-D).
    """
    m = problem.n_components
    if problem.d == 1:
        return MLP([1, 30, m], activation="tanh")
    return MLP([problem.d, 12, 12, m], activation="tanh")


def default_points(problem):
    """Default number of collocation points: 100 in 1-D, 300 in 2-D, 8^d above."""
    if problem.d == 1:
        return 100
    if problem.d == 2:
        return 300
    return 8 ** problem.d


def default_maxiter(problem, method):
    """Default iterations: Levenberg-Marquardt 1000 in 1-D and 300 in d-D;
    quasi-Newton and CG 5000; first-order methods 20000."""
    if method == "lm":
        return 1000 if problem.d == 1 else 300
    if method in ("lbfgs", "bfgs", "cg", "newton-cg"):
        return 5000
    return 20000


def default_init(net, seed, dtype, first_scale=None):
    """Weights for a neural form: ``net.init(seed)`` with the first layer
    redrawn, ``W_1 ~ N(0, first_scale^2)``, ``b_1 ~ U(-first_scale, first_scale)``;
    ``first_scale`` defaults to 4 for one input and 1 for several (the best
    of the sweeps reported in ``docs/diffeq.md``).

    On inputs mapped to ``[-1, 1]`` Glorot weights of a 1-input layer are
    small (std ~ 0.25): every hidden unit is nearly linear and the Jacobian
    nearly rank-deficient.  Spreading the first layer's slopes and offsets
    gives features of different shapes across the domain (as in random
    feature / extreme learning machine bases); Levenberg-Marquardt then
    converges several orders of magnitude further in the same iterations.
    """
    theta = net.init(seed=seed, dtype=np.float64)
    specs = net.layout.specs
    if first_scale is None:
        first_scale = 4.0 if specs and specs[0].shape[0] == 1 else 1.0
    if len(specs) >= 2 and first_scale:
        rng = np.random.default_rng([int(seed), 7919])
        w, b = specs[0], specs[1]
        theta[w.slice] = rng.normal(0.0, first_scale, w.slice.stop - w.slice.start)
        theta[b.slice] = rng.uniform(-first_scale, first_scale, b.slice.stop - b.slice.start)
    return theta.astype(dtype)


def _check_int(v, name, low=1, allow_none=True):
    if v is None and allow_none:
        return None
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v < low:
        raise ValueError(f"solve: {name} must be an integer >= {low}, got {v!r}")
    return int(v)


def _make_points(problem, points, collocation, rng, dtype):
    lows, highs = problem.lows, problem.highs
    if points is None or isinstance(points, (int, np.integer)) and not isinstance(points, bool):
        n = default_points(problem) if points is None else _check_int(points, "points")
        return _col.points(collocation, n, lows, highs, rng, dtype), n
    if isinstance(points, numbers.Number):
        raise ValueError(f"solve: points must be an integer count or an array of points, got {points!r}")
    return _col.check_points(points, lows, highs, name="points").astype(dtype), None


def _boundary_points(problem, form, count, collocation, rng, dtype):
    if not isinstance(form, PenaltyForm):
        return None
    lows, highs = problem.lows, problem.highs
    out = {}
    for i, f in enumerate(problem.functionals):
        if problem.d == 1:
            x = f.terms[0][1]
            out[i] = np.array([[x]], dtype=dtype)
        else:
            side = 0 if f.terms[0][1] == lows[f.axis] else 1
            out[i] = _col.face_points(collocation, count, lows, highs, f.axis, side, rng, dtype)
    return out


def solve(problem, *, net=None, form="trial", method="lm", points=None, collocation=None,
          boundary_points=None, resample=None, seed=0, dtype=np.float64, maxiter=None, theta0=None,
          penalty_weight=1.0, learning_rate=1e-3, max_time=None, callback=None, grid=None,
          fast=None, options=None):
    """Solve ``problem`` with a neural form.

    Parameters
    ----------
    problem : ODE or PDE
    net : model, optional
        ``net(theta, X)`` with ``X`` of shape (n, d); default
        :func:`default_net`.  It sees the domain mapped to ``[-1, 1]^d``.
        Stacks of Dense layers take the fast (Taylor-mode) path.
    form : {"trial", "penalty"}, pair (A, B), callable or form object
        ``"trial"`` (default): Lagaris' trial solution built from the
        conditions, exact for every network.  ``"penalty"``: ``u = N`` plus
        weighted condition rows.  ``(A, B)``: ``u = A + B N``.  A callable
        ``form(points, N)``: any form.
    method : str or optimizer
        ``"lm"`` (default): Levenberg-Marquardt on the residual vector with
        the exact Jacobian.  ``"lbfgs"``, ``"bfgs"``, ``"cg"``,
        ``"newton-cg"``: full-batch minimisation of the loss
        (:func:`nnopt.minimize.minimize` when available, else
        :func:`scipy.optimize.minimize`).  ``"adam"`` or any optimizer with
        ``init``/``update`` (an :mod:`nnopt.optim` transformation): first-order
        steps of the loss gradient.
    points : int or array, optional
        Number of collocation points (default :func:`default_points`) or the
        points themselves (inside the domain; (n,) in 1-D, (n, d) otherwise).
    collocation : str, optional
        ``"equidistant"``, ``"chebyshev"``, ``"random"``, ``"sobol"`` or
        ``"halton"`` (default: ``"chebyshev"`` in 1-D, ``"sobol"`` otherwise).
    boundary_points : int, optional
        Points per face for penalty forms of PDEs (default ``sqrt(points)``).
    resample : int, optional
        Draw fresh collocation points every ``resample`` iterations (random
        and quasi-random schemes).
    seed : int
        Seeds the initial weights and all random points.
    dtype : float32 or float64
        Precision of the whole run (default float64).
    maxiter : int, optional
        Iterations (default :func:`default_maxiter`: LM 1000 in 1-D, 300 in
        d-D; 5000 for the quasi-Newton methods and CG; 20000 for first-order
        methods).
    theta0 : array, optional
        Initial weights (default :func:`default_init`).
    penalty_weight : float
        Weight of the condition rows of a penalty form.
    learning_rate : float
        Step size of ``"adam"``.
    max_time : float, optional
        Wall-clock limit in seconds.
    callback : callable, optional
        ``callback(theta, loss)`` after each accepted iteration; raise
        ``StopIteration`` to stop.
    grid : array, optional
        Evaluation grid for the errors (default 1001 points in 1-D, 101 x 101 in 2-D).
    fast : bool, optional
        Force or forbid the Taylor-mode path (default: when supported).
    options : dict, optional
        Extra options for the method (LM: ``damping``, ``scaling``, ``gtol``,
        ``xtol``, ``ftol``, ``tau``).

    Returns
    -------
    Solution
    """
    from .problems import ODE, PDE

    if not isinstance(problem, (ODE, PDE)):
        raise TypeError(f"solve: problem must be an nnopt.diffeq.ODE or PDE, got {type(problem).__name__}")
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"solve: dtype must be float32 or float64, got {dtype}")
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"solve: seed must be an integer, got {seed!r}")
    collocation = collocation or ("chebyshev" if problem.d == 1 else "sobol")
    if collocation not in _col.SCHEMES:
        raise ValueError(f"solve: collocation must be one of {_col.SCHEMES}, got {collocation!r}")
    resample = _check_int(resample, "resample")
    if resample is not None and _is_array(points):
        raise ValueError("solve: resample draws fresh points; give points as a count, not an array")
    if resample is not None and collocation in ("equidistant", "chebyshev"):
        raise ValueError(f"solve: resample needs a random scheme (random, sobol, halton), not {collocation!r}")
    options = dict(options or {})
    rng = np.random.default_rng([int(seed), 104729])
    net = default_net(problem) if net is None else net
    if not callable(net) or not hasattr(net, "n_params"):
        raise TypeError("solve: net must be a model with n_params and net(theta, X) (e.g. nnopt.nn.MLP)")
    n_out = _net_outputs(net, problem, dtype)
    if n_out != problem.n_components:
        raise ValueError(
            f"solve: the network has {n_out} outputs but the problem has {problem.n_components} component(s)"
        )
    form_obj = make_form(problem, form, penalty_weight)
    P, n_points = _make_points(problem, points, collocation, rng, dtype)
    if boundary_points is None:
        boundary_points = max(int(round(np.sqrt(P.shape[0]))), 4)
    boundary_points = _check_int(boundary_points, "boundary_points")
    Bp = _boundary_points(problem, form_obj, boundary_points, collocation, rng, dtype)
    lows, highs = problem.lows, problem.highs
    shift = (lows + highs) / 2
    scale = 2.0 / (highs - lows)

    def build(P_, Bp_):
        return ResidualSystem(problem, form_obj, net, P_, dtype, shift, scale, boundary=Bp_, fast=fast)

    system = build(P, Bp)
    if theta0 is None:
        theta = default_init(net, seed, dtype)
    else:
        theta = np.asarray(theta0)
        if theta.shape != (net.n_params,):
            raise ValueError(f"solve: theta0 must have shape ({net.n_params},), got {theta.shape}")
        if theta.dtype != dtype:
            raise TypeError(f"solve: theta0 has dtype {theta.dtype} but dtype={dtype}; cast it explicitly")
        theta = theta.copy()
    system.check(theta)

    start = time.perf_counter()
    if isinstance(method, str) and method not in METHODS:
        raise ValueError(f"solve: method must be one of {METHODS} or an optimizer with init/update, got {method!r}")
    maxiter = default_maxiter(problem, method) if maxiter is None else _check_int(maxiter, "maxiter", low=0)
    if method == "lm":
        theta, history, result = _run_lm(system, theta, maxiter, resample, build, problem, n_points,
                                         collocation, rng, dtype, form_obj, boundary_points, max_time, callback,
                                         options)
        system = result.pop("system")
    elif method in ("lbfgs", "bfgs", "cg", "newton-cg"):
        theta, history, result = _run_quasi_newton(system, theta, method, maxiter, max_time, callback, options)
    else:
        theta, history, result = _run_first_order(system, theta, method, maxiter, learning_rate, resample,
                                                  build, problem, n_points, collocation, rng, dtype, form_obj,
                                                  boundary_points, max_time, callback)
        system = result.pop("system", system)
    elapsed = time.perf_counter() - start
    return Solution(system, theta, history, result, system.blocks[0].points, method if isinstance(method, str)
                    else type(method).__name__, elapsed, seed, grid=None if grid is None else
                    _col.check_points(grid, lows, highs, name="grid").astype(dtype))


def _is_array(x):
    return isinstance(x, (np.ndarray, list, tuple))


def _net_outputs(net, problem, dtype):
    theta = np.zeros(net.n_params, dtype=dtype)
    X = np.zeros((1, problem.d), dtype=dtype)
    try:
        out = net(theta, X)
    except Exception as exc:
        raise ValueError(
            f"solve: the network does not accept inputs of shape (n, {problem.d}) for this problem: {exc}"
        ) from exc
    return int(np.shape(out)[1]) if np.ndim(out) == 2 else 1


def _fresh(problem, n_points, collocation, rng, dtype, form_obj, boundary_points):
    P = _col.points(collocation, n_points, problem.lows, problem.highs, rng, dtype)
    Bp = _boundary_points(problem, form_obj, boundary_points, collocation, rng, dtype)
    return P, Bp


def _run_lm(system, theta, maxiter, resample, build, problem, n_points, collocation, rng, dtype, form_obj,
            boundary_points, max_time, callback, options):
    lm_opts = {k: options.pop(k) for k in ("damping", "scaling", "gtol", "xtol", "ftol", "tau") if k in options}
    if options:
        raise ValueError(f"solve: unknown options for method 'lm': {sorted(options)}")
    chunks = [maxiter] if resample is None else [resample] * (maxiter // resample) + (
        [maxiter % resample] if maxiter % resample else [])
    hist = {k: [] for k in ("loss", "grad_norm", "damping", "accepted", "time")}
    mu = None
    t0 = time.perf_counter()
    result = None
    for ci, it in enumerate(chunks):
        if ci > 0:
            P, Bp = _fresh(problem, n_points, collocation, rng, dtype, form_obj, boundary_points)
            system = build(P, Bp)
            system.check(theta)
        remaining = None if max_time is None else max(max_time - (time.perf_counter() - t0), 0.0)
        if remaining == 0.0 and ci > 0:
            break
        cb = None if callback is None else (lambda x, F: callback(x, 2 * F))
        result = levenberg_marquardt(system.residual, theta, fun_and_jac=system.residual_and_jacobian, maxiter=it,
                                     mu0=mu, max_time=remaining, callback=cb, **lm_opts)
        h = result.history
        skip = 1 if ci > 0 else 0
        off = hist["time"][-1] if hist["time"] else 0.0
        hist["loss"].extend(2 * h["fun"][skip:])
        hist["grad_norm"].extend(2 * h["grad_norm"][skip:])
        hist["damping"].extend(h["damping"][skip:])
        hist["accepted"].extend(h["accepted"][skip:])
        hist["time"].extend(h["time"][skip:] + off)
        theta, mu = result.x, result.damping
        if result.status not in (0, 1) or (resample is None and result.status == 0):
            break
    history = {k: np.asarray(v) for k, v in hist.items()}
    res = dict(result)
    res["nit"] = len(history["loss"]) - 1
    res["system"] = system  # the last one: the Solution evaluates with it
    return theta, history, res


class _LossObjective:
    """The loss of a residual system as an objective for :func:`nnopt.minimize.minimize`."""

    def __init__(self, system):
        self.system = system

    def value_and_grad(self, x):
        return self.system.value_and_grad(x)

    def fun(self, x):
        return self.system.value_and_grad(x)[0]

    def jac(self, x):
        return self.system.value_and_grad(x)[1]

    def hessp(self, x, v):
        from ..autodiff import hvp

        return np.asarray(hvp(self.system.loss, x, v))


def _run_quasi_newton(system, theta, method, maxiter, max_time, callback, options):
    """Full-batch minimisation of the loss with :func:`nnopt.minimize.minimize`."""
    from ..minimize import minimize

    def cb(res):
        callback(res.x, float(res.fun))

    opts = {"gtol": 0.0, **options}
    res = minimize(_LossObjective(system), theta, method=method, maxiter=maxiter, max_time=max_time,
                   callback=None if callback is None else cb, **opts)
    h = res.history
    history = {"loss": np.asarray(h.fun), "grad_norm": np.asarray(h.grad_norm), "time": np.asarray(h.time)}
    out = {"success": bool(res.success), "status": int(res.status), "message": res.message, "nit": int(res.nit)}
    return np.asarray(res.x), history, out


def _adam(learning_rate):
    """Adam (Kingma & Ba 2015) from :mod:`nnopt.optim`."""
    from .. import optim

    return optim.adam(learning_rate)


def _run_first_order(system, theta, method, maxiter, learning_rate, resample, build, problem, n_points,
                     collocation, rng, dtype, form_obj, boundary_points, max_time, callback):
    opt = _adam(learning_rate) if method == "adam" else method
    if not (hasattr(opt, "init") and hasattr(opt, "update")):
        raise TypeError(f"solve: method must be a name in {METHODS} or an optimizer with init/update, got {method!r}")
    state = opt.init(theta)
    hist = {"loss": [], "grad_norm": [], "time": []}
    t0 = time.perf_counter()
    status, message = 1, "Maximum number of iterations has been reached."
    prev = theta
    for k in range(maxiter + 1):
        if resample is not None and k > 0 and k % resample == 0:
            P, Bp = _fresh(problem, n_points, collocation, rng, dtype, form_obj, boundary_points)
            system = build(P, Bp)
            system.check(theta)
        v, g = system.value_and_grad(theta)
        hist["loss"].append(v)
        hist["grad_norm"].append(float(np.max(np.abs(g))))
        hist["time"].append(time.perf_counter() - t0)
        if not (np.isfinite(v) and np.all(np.isfinite(g))):
            status, message = 4, "The loss became non-finite; stopped at the last finite iterate."
            hist = {kk: vv[:-1] for kk, vv in hist.items()}
            theta = prev
            break
        if callback is not None:
            try:
                callback(theta, v)
            except StopIteration:
                status, message = 7, "The callback raised StopIteration."
                break
        if k == maxiter:
            break
        if max_time is not None and hist["time"][-1] > max_time:
            status, message = 6, "Time limit reached."
            break
        updates, state = opt.update(g.astype(dtype), state, theta)
        prev, theta = theta, (theta + updates).astype(dtype)
    return theta, {k: np.asarray(v) for k, v in hist.items()}, {
        "success": False, "status": status, "message": message, "nit": len(hist["loss"]) - 1, "system": system}
