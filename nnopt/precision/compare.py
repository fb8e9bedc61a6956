"""float32 against float64: one optimisation run in each dtype, from the same
start, with the rounding error of the loss and the gradient measured against
mpmath at a few iterates along each trajectory.

Each run is an ordinary :func:`nnopt.minimize.minimize` run; a callback keeps
copies of a few iterates (never more than ``max_reference_points``), and
after the run the loss and gradient at those iterates are computed again in
the run's dtype and, through the mpmath interpreter
(:mod:`nnopt.precision.reference`), exactly.  The relative differences are
the rounding errors of the arithmetic in that dtype at that point: the
iterate and the data are taken as exact, so the rounding of the data to
float32 and the different paths of the two runs are not counted.
"""
from __future__ import annotations

import numbers
from typing import NamedTuple

import mpmath
import numpy as np

from .. import autodiff
from ..minimize import minimize
from .error import relative_error
from .reference import check_dps
from .reference import value_and_grad as _mp_value_and_grad

__all__ = ["compare", "PrecisionComparison", "PrecisionTrajectory"]

_ALLOWED = (np.dtype(np.float32), np.dtype(np.float64))


class PrecisionTrajectory(NamedTuple):
    """One run of :func:`compare`: its curves and its rounding errors.

    The arrays are aligned: entry ``k`` belongs to iteration ``k`` (entry 0
    is the start).  The error arrays hold NaN except at the reference
    iterations.

    Attributes
    ----------
    dtype : numpy.dtype
        The run's dtype.
    iteration : ndarray of int64
        ``0, 1, ..., nit``.
    loss, grad_norm : ndarray (the run's dtype)
        The run's history (``OptimizeResult.history.fun`` and ``.grad_norm``).
    loss_rel_error : ndarray of float64
        ``|f_dtype(x_k) - f(x_k)| / |f(x_k)|`` at the reference iterations:
        the loss as the run computes it (``fun``/``value_and_grad`` of the
        objective, with ``accumulate`` if set) against the exact loss at the
        same iterate ``x_k`` (``dps`` digits).
    grad_rel_error : ndarray of float64
        ``||g_dtype(x_k) - grad f(x_k)||_2 / ||grad f(x_k)||_2``, likewise.
    loss_exact : ndarray of float64
        ``f(x_k)`` from the mpmath evaluation, rounded to float64.
    reference_iteration : ndarray of int64
        The iterations where the errors were measured (always 0 and ``nit``).
    unit_roundoff : float
        ``np.finfo(dtype).eps / 2``; errors divided by it are in units of
        one rounding.
    """

    dtype: np.dtype
    iteration: np.ndarray
    loss: np.ndarray
    grad_norm: np.ndarray
    loss_rel_error: np.ndarray
    grad_rel_error: np.ndarray
    loss_exact: np.ndarray
    reference_iteration: np.ndarray
    unit_roundoff: float


class PrecisionComparison:
    """What :func:`compare` returns.

    Attributes
    ----------
    method : str
        The :func:`~nnopt.minimize.minimize` method of every run.
    dtypes : tuple of numpy.dtype
    theta0 : dict
        The starting point of each run, keyed by dtype name (``"float32"``,
        ``"float64"``): the given ``theta0`` cast once.
    results : dict
        The :class:`~nnopt.minimize.OptimizeResult` of each run (with its
        full ``history``), keyed by dtype name.
    trajectories : dict
        A :class:`PrecisionTrajectory` per dtype name.
    dps : int
        Digits of the mpmath references.
    accumulate : None or str
        The ``accumulate`` option given to :func:`compare`.
    """

    def __init__(self, method, dtypes, theta0, results, trajectories, dps, accumulate):
        self.method = method
        self.dtypes = tuple(dtypes)
        self.theta0 = theta0
        self.results = results
        self.trajectories = trajectories
        self.dps = dps
        self.accumulate = accumulate

    def __getitem__(self, dtype):
        """The :class:`PrecisionTrajectory` of ``dtype`` (a dtype or its name)."""
        return self.trajectories[np.dtype(dtype).name]

    def summary(self):
        """One dict per run: ``dtype``, ``nit``, ``message``, ``final_loss``,
        ``best_loss``, and the median and largest loss and gradient errors
        over the reference points in units of the dtype's unit roundoff
        (``loss_err_median_u``, ``loss_err_max_u``, ``grad_err_median_u``,
        ``grad_err_max_u``)."""
        rows = []
        for name, tr in self.trajectories.items():
            res = self.results[name]
            le = tr.loss_rel_error[tr.reference_iteration] / tr.unit_roundoff
            ge = tr.grad_rel_error[tr.reference_iteration] / tr.unit_roundoff
            rows.append({
                "dtype": name, "nit": int(res.nit), "message": str(res.message),
                "final_loss": float(tr.loss[-1]), "best_loss": float(np.min(tr.loss)),
                "loss_err_median_u": float(np.median(le)), "loss_err_max_u": float(np.max(le)),
                "grad_err_median_u": float(np.median(ge)), "grad_err_max_u": float(np.max(ge)),
            })
        return rows

    def plot(self, ax=None):
        """Loss curves (log scale) and rounding-error curves, one colour per dtype.

        Left panel: the loss of each run against the iteration, with the
        exact loss at the reference iterates as open circles.  Right panel:
        the relative rounding errors of the loss (circles) and the gradient
        (squares) at the reference iterates, with each dtype's unit roundoff
        as a dotted line.

        Parameters
        ----------
        ax : pair of matplotlib Axes, optional
            Where to draw; by default a new two-panel Figure on the Agg
            canvas (no pyplot state, works without a display).

        Returns
        -------
        matplotlib.figure.Figure
        """
        if ax is None:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure

            fig = Figure(figsize=(10.0, 3.8), layout="constrained")
            FigureCanvasAgg(fig)
            axes = fig.subplots(1, 2)
        else:
            try:
                axes = list(ax)
            except TypeError:
                axes = None
            if axes is None or len(axes) != 2:
                raise ValueError(f"ax: expected a pair of matplotlib Axes (loss panel, error panel), got {ax!r}")
            fig = axes[0].figure
        a_loss, a_err = axes
        positive = True
        for i, (name, tr) in enumerate(self.trajectories.items()):
            color = f"C{i}"
            ref = tr.reference_iteration
            a_loss.plot(tr.iteration, tr.loss.astype(np.float64), color=color, label=name)
            a_loss.plot(ref, tr.loss_exact[ref], "o", mfc="none", color=color, ms=5)
            positive = positive and bool(np.all(tr.loss > 0))
            a_err.plot(ref, tr.loss_rel_error[ref], "o-", color=color, label=f"loss, {name}")
            a_err.plot(ref, tr.grad_rel_error[ref], "s--", color=color, label=f"gradient, {name}")
            a_err.axhline(tr.unit_roundoff, color=color, ls=":", lw=1)
        if positive:
            a_loss.set_yscale("log")
        a_loss.set_xlabel("iteration")
        a_loss.set_ylabel("loss")
        a_loss.set_title(f"{self.method}: loss (o: exact at the iterate)")
        a_loss.legend()
        a_err.set_yscale("log")
        a_err.set_xlabel("iteration")
        a_err.set_ylabel("relative rounding error")
        a_err.set_title(f"rounding error vs {self.dps}-digit reference (dotted: eps/2)")
        a_err.legend(fontsize="small")
        return fig

    def __repr__(self):
        parts = [f"{r['dtype']}: nit={r['nit']}, loss={r['final_loss']:.4g}, "
                 f"loss err ~{r['loss_err_median_u']:.3g}u, grad err ~{r['grad_err_median_u']:.3g}u"
                 for r in self.summary()]
        return f"PrecisionComparison(method={self.method!r}; " + "; ".join(parts) + ")"


class _Recorder:
    """The callback that keeps copies of the iterates at the reference iterations.

    Iterates are kept at multiples of ``stride``; when more than
    ``max_points - 1`` are held (one place stays free for the last iterate),
    the stride doubles and every other one is dropped, so the points end up
    evenly spread over however long the run turns out to be, and at most
    ``max_points`` copies of ``x`` are ever held.
    """

    def __init__(self, x0, stride, max_points, user_callback):
        self.stride = stride
        self.max_points = max_points
        self.points = {0: np.array(x0, copy=True)}
        self.user_callback = user_callback

    def __call__(self, intermediate):
        k = int(intermediate.nit)
        if k % self.stride == 0:
            self.points[k] = np.array(intermediate.x, copy=True)
            if self.max_points is not None and len(self.points) > self.max_points - 1:
                self.stride *= 2
                self.points = {i: x for i, x in self.points.items() if i % self.stride == 0}
        if self.user_callback is not None:
            self.user_callback(intermediate)

    def finish(self, nit, x):
        points = dict(self.points)
        points[int(nit)] = np.array(x, copy=True)
        return sorted(points.items())


def _check_dtypes(dtypes):
    if isinstance(dtypes, (str, np.dtype, type)):
        dtypes = (dtypes,)
    try:
        items = list(dtypes)
    except TypeError:
        raise TypeError(f"dtypes: expected a sequence of dtypes such as ('float32', 'float64'), "
                        f"got {type(dtypes).__name__}") from None
    if not items:
        raise ValueError("dtypes: expected at least one dtype, got an empty sequence")
    out = []
    for d in items:
        try:
            dt = None if isinstance(d, (bool, np.bool_)) else np.dtype(d)
        except TypeError:
            dt = None
        if dt is None or dt not in _ALLOWED:
            raise ValueError(f"dtypes: expected float32 or float64, got {d!r}")
        if dt in out:
            raise ValueError(f"dtypes: {dt.name} is given twice in {tuple(items)!r}")
        out.append(dt)
    return out


def _check_positive_int(value, name, low, allow_none=True):
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an integer >= {low} or None, got {type(value).__name__} {value!r}")
    if value < low:
        raise ValueError(f"{name}: expected an integer >= {low} or None, got {value}")
    return int(value)


def _check_theta0(theta0, n_params):
    arr = np.asarray(theta0)
    if arr.dtype.kind != "f":
        raise TypeError(f"theta0: expected a real floating-point array (float64), got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"theta0: expected a 1-D parameter vector, got shape {arr.shape}")
    if n_params is not None and arr.shape[0] != n_params:
        raise ValueError(f"theta0: expected shape ({n_params},) (the objective's n_params), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("theta0: must be finite (found NaN or Inf)")
    return arr.astype(np.float64)  # exact for float32 and float64 input


def compare(objective, theta0, method="cg", dtypes=("float32", "float64"), reference_every=None, dps=30,
            max_reference_points=10, accumulate=None, **minimize_options):
    r"""Run the same optimisation in several dtypes and measure its rounding error.

    For each dtype ``d``, :func:`nnopt.minimize.minimize` runs on the
    objective in ``d`` from ``theta0`` cast once to ``d`` (the float32
    start is the float64 start rounded to nearest).  At a few reference
    iterates :math:`x_k` of each run, the loss and gradient are computed
    again as the run computes them, in ``d``, and exactly (mpmath with
    ``dps`` digits, inputs converted exactly), giving

    .. math::

        e_f(k) = \frac{|\hat f(x_k) - f(x_k)|}{|f(x_k)|}, \qquad
        e_g(k) = \frac{\|\hat g(x_k) - \nabla f(x_k)\|_2}{\|\nabla f(x_k)\|_2},

    the rounding errors of the arithmetic in ``d`` at the run's own
    iterates (of order ``eps(d)`` times a condition number).  The
    iterate and the data in ``d`` are taken as exact: the float32 run's
    reference is the exact loss of the float32 data.

    mpmath is slow: each reference point costs one forward and one reverse
    pass in ``dps``-digit arithmetic, about 50 microseconds per
    multiply-add of the forward pass at 30 digits (measured: 0.03 s for an
    MLP [2, 5, 1] on 20 samples, 5.5 s for [4, 32, 32, 2] on 100 samples,
    1.2e5 multiply-adds), times two dtypes and ``max_reference_points``.
    Keep the reference points few, and the objective small (a ``batch``
    of the data), on big problems.

    Parameters
    ----------
    objective : nnopt.Objective or callable
        * An object with ``astype(dtype)`` (:class:`nnopt.Objective`): each
          run uses ``objective.astype(d)`` (data cast once), its
          ``value_and_grad`` (or ``fun``/``jac``) for the float values, and
          ``objective.astype(d)(theta)`` (a :mod:`nnopt.numpy` function) for
          the mpmath reference.
        * A plain callable ``f(theta) -> scalar`` written with
          :mod:`nnopt.numpy`: used unchanged in every dtype, since such a
          function computes in the dtype of ``theta``.  It must keep that
          dtype: data it closes over must be cast to ``theta.dtype`` inside
          (``X.astype(theta.dtype)``), or a float32 run fails with a
          ``TypeError``.  The gradient is :func:`nnopt.value_and_grad`.
    theta0 : array_like, float64
        The common start, shape ``(n_params,)`` (float32 is accepted; it
        converts exactly).  Cast once to each dtype.
    method : str, default "cg"
        A :func:`~nnopt.minimize.minimize` method (not ``"lm"``).
    dtypes : sequence of dtypes, default ("float32", "float64")
        Each float32 or float64, each once.
    reference_every : int or None
        Measure at iterations ``0, r, 2r, ...`` (and at the last); ``None``:
        spread the points evenly over the run, whatever its length.
    dps : int, default 30
        Digits of the references; at least the dtype's decimal precision
        plus 5 (20 for float64).
    max_reference_points : int or None, default 10
        At most this many reference points per run (>= 2, counting the
        start and the end).  When ``reference_every`` would give more, its
        stride is doubled until they fit.  ``None``: no cap.
    accumulate : None or "float64"
        Passed to the objective of every run narrower than float64
        (``objective.astype(d, accumulate=...)``): the float32 loss value is
        summed in float64 and rounded once (see :class:`nnopt.Objective`);
        the gradient stays float32.  ``None`` keeps the objective's own
        option.  Needs an :class:`nnopt.Objective`.
    **minimize_options
        Passed to every :func:`~nnopt.minimize.minimize` call (``maxiter``,
        ``gtol``, ``beta``, ``line_search``, ``callback``, ...).  ``jac``
        cannot be given: the gradient is the objective's own.

    Returns
    -------
    PrecisionComparison
        ``results`` (one OptimizeResult per dtype name), ``trajectories``
        (one :class:`PrecisionTrajectory` per dtype name), ``theta0``,
        ``summary()`` and ``plot()``.

    Examples
    --------
    >>> import numpy as np, nnopt
    >>> from nnopt.nn import MLP
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-1, 1, (20, 2)); Y = np.sin(3 * X[:, :1])
    >>> net = MLP([2, 5, 1], activation="tanh")
    >>> obj = nnopt.Objective(net, "mse", X, Y)
    >>> cmp = nnopt.precision.compare(obj, net.init(seed=0), maxiter=30, max_reference_points=4)
    >>> tr = cmp.trajectories["float32"]
    >>> tr.loss.dtype, len(tr.reference_iteration) <= 4
    (dtype('float32'), True)
    >>> bool(np.nanmax(tr.grad_rel_error) < 1e3 * tr.unit_roundoff)
    True
    """
    dts = _check_dtypes(dtypes)
    reference_every = _check_positive_int(reference_every, "reference_every", 1)
    max_reference_points = _check_positive_int(max_reference_points, "max_reference_points", 2)
    dps = check_dps(dps, "compare")
    for dt in dts:
        need = np.finfo(dt).precision + 5
        if dps < need:
            raise ValueError(f"dps: {dps} digits cannot measure {dt.name} rounding errors "
                             f"(about 1e-{np.finfo(dt).precision}); use dps >= {need}")
    if accumulate is not None:
        try:
            acc = None if isinstance(accumulate, (bool, np.bool_)) else np.dtype(accumulate)
        except TypeError:
            acc = None
        if acc is None or acc != np.float64:
            raise ValueError(f"accumulate: expected None or 'float64', got {accumulate!r}")
        accumulate = "float64"
    if not isinstance(method, str):
        raise TypeError(f"method: expected a string, got {type(method).__name__}")
    if method.lower() == "lm":
        raise ValueError("method: 'lm' minimizes a residual vector; compare measures a scalar loss, "
                         "use another method (e.g. 'cg', 'lbfgs', 'newton-cg')")
    if "jac" in minimize_options:
        raise TypeError("compare: jac cannot be given; the gradient is the objective's own "
                        "(its value_and_grad/jac, or nnopt.value_and_grad of a plain function)")
    user_callback = minimize_options.pop("callback", None)
    if user_callback is not None and not callable(user_callback):
        raise TypeError(f"callback: expected a callable or None, got {type(user_callback).__name__}")

    has_astype = callable(getattr(objective, "astype", None)) and not isinstance(objective, np.ndarray)
    if has_astype:
        if not callable(objective):
            raise TypeError(f"objective: {type(objective).__name__} has astype but is not callable as "
                            "objective(theta); compare needs the nnopt.numpy function for the mpmath reference")
    elif not callable(objective):
        raise TypeError(f"objective: expected an nnopt.Objective or a callable f(theta) written with "
                        f"nnopt.numpy, got {type(objective).__name__}")
    if accumulate is not None and not has_astype:
        raise ValueError("accumulate: needs an objective with an accumulate option (nnopt.Objective); "
                         "a plain function sums however it is written")
    theta0 = _check_theta0(theta0, getattr(objective, "n_params", None) if has_astype else None)

    # set every run up (and check it) before spending time on any of them
    runs = []
    for dt in dts:
        if has_astype:
            narrower = np.finfo(dt).eps > np.finfo(np.float64).eps
            obj = (objective.astype(dt, accumulate=accumulate) if accumulate is not None and narrower
                   else objective.astype(dt))
            vg = getattr(obj, "value_and_grad", None)
            if not callable(vg):
                vg = (lambda o: (lambda x: (o.fun(x), o.jac(x))))(obj)
            run_fun = obj
        else:
            obj = objective
            vg = autodiff.value_and_grad(objective)
            run_fun = objective
        x0 = theta0.astype(dt)
        if not has_astype:
            f0 = np.asarray(objective(x0))
            if f0.dtype != dt:
                raise TypeError(
                    f"objective: returned dtype {f0.dtype} for a {dt.name} theta; a plain function is used "
                    f"unchanged in every dtype, so it must compute in theta's dtype (cast data it closes "
                    f"over, e.g. X.astype(theta.dtype)) or pass an nnopt.Objective"
                )
        runs.append((dt, obj, vg, run_fun, x0))

    results, trajectories, starts = {}, {}, {}
    for dt, obj, vg, run_fun, x0 in runs:
        rec = _Recorder(x0, reference_every or 1, max_reference_points, user_callback)
        res = minimize(run_fun, x0, method=method, callback=rec, **minimize_options)
        hist = res.history
        n = len(hist.fun)
        loss_err = np.full(n, np.nan)
        grad_err = np.full(n, np.nan)
        loss_exact = np.full(n, np.nan)
        points = rec.finish(n - 1, res.x)
        for k, x in points:
            value, g = vg(x)
            value_ref, g_ref = _mp_value_and_grad(obj, x, dps=dps)
            with mpmath.workdps(dps):
                loss_err[k] = relative_error(value, value_ref)
                grad_err[k] = relative_error(g, g_ref)
            loss_exact[k] = float(value_ref)
        name = dt.name
        starts[name] = x0
        results[name] = res
        trajectories[name] = PrecisionTrajectory(
            dtype=dt,
            iteration=np.arange(n, dtype=np.int64),
            loss=hist.fun,
            grad_norm=hist.grad_norm,
            loss_rel_error=loss_err,
            grad_rel_error=grad_err,
            loss_exact=loss_exact,
            reference_iteration=np.array([k for k, _ in points], dtype=np.int64),
            unit_roundoff=float(np.finfo(dt).eps) / 2,
        )
    return PrecisionComparison(method, dts, starts, results, trajectories, dps, accumulate)
