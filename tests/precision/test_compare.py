"""nnopt.precision.compare: float32 and float64 runs from one start, with
rounding errors against mpmath along the way; Objective(accumulate="float64")."""
from fractions import Fraction

import numpy as np
import pytest

import nnopt
import nnopt.numpy as nnp
from nnopt import precision
from nnopt.minimize import Status
from nnopt.nn import MLP
from nnopt.precision import PrecisionComparison, PrecisionTrajectory, compare

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)


def _mlp_objective():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (24, 2))
    Y = np.sin(2 * X[:, :1]) * np.cos(X[:, 1:])
    net = MLP([2, 6, 1], activation="tanh")
    return nnopt.Objective(net, "mse", X, Y), net.init(seed=1)


@pytest.fixture(scope="module")
def mlp_run():
    obj, theta0 = _mlp_objective()
    return obj, theta0, compare(obj, theta0, maxiter=15, gtol=0.0, max_reference_points=6)


def _rosen(x):
    return nnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def _big_plus_tiny(n=4096, seed=0):
    """An mse objective whose terms are one 1.0 and n - 1 tiny squares (2^-26 .. 2^-24).

    With the identity model w x + b at w = 1, b = 0 the outputs are X exactly,
    so the float32 terms are fl32(x_i^2).  Their float64 sum is exact (all
    bits lie between 2^1 and 2^-47) and n is a power of two, so
    fl32(float64 mean) is the correctly rounded mean of the float32 terms.
    """
    rng = np.random.default_rng(seed)
    X = np.empty((n, 1), dtype=np.float32)
    X[0] = 1.0
    X[1:, 0] = (rng.uniform(1, 2, n - 1) * 2.0 ** -13).astype(np.float32)
    Y = np.zeros((n, 1), dtype=np.float32)
    return MLP([1, 1], activation="identity"), X, Y, np.array([1.0, 0.0])


def test_runs_start_from_the_same_rounded_point_and_keep_their_dtypes(mlp_run):
    obj, theta0, cmp = mlp_run
    assert isinstance(cmp, PrecisionComparison) and cmp.dtypes == (F32, F64)
    assert cmp.theta0["float64"].dtype == F64 and np.array_equal(cmp.theta0["float64"], theta0)
    x32 = cmp.theta0["float32"]
    assert x32.dtype == F32 and np.array_equal(x32, theta0.astype(np.float32))  # rounded once
    for name, dt in (("float32", F32), ("float64", F64)):
        res, tr = cmp.results[name], cmp.trajectories[name]
        assert isinstance(tr, PrecisionTrajectory) and cmp[dt] is tr and tr.dtype == dt
        assert res.x.dtype == dt and res.nit == 15
        h = res.history
        assert h.fun.dtype == dt and h.grad_norm.dtype == dt
        assert tr.loss is h.fun and tr.grad_norm is h.grad_norm
        assert np.array_equal(tr.iteration, np.arange(res.nit + 1))
        # the recorded start is the loss of the cast objective at the rounded start
        assert h.fun[0] == obj.astype(dt).fun(cmp.theta0[name])
        assert tr.unit_roundoff == np.finfo(dt).eps / 2
    # the runs really are different computations
    assert cmp.results["float32"].fun != cmp.results["float64"].fun


def test_reference_points_are_few_and_include_both_ends(mlp_run):
    _, _, cmp = mlp_run
    for tr in cmp.trajectories.values():
        ref = tr.reference_iteration
        assert ref[0] == 0 and ref[-1] == tr.iteration[-1] and 2 <= len(ref) <= 6
        measured = np.zeros(len(tr.iteration), dtype=bool)
        measured[ref] = True
        for arr in (tr.loss_rel_error, tr.grad_rel_error, tr.loss_exact):
            assert arr.dtype == F64 and arr.shape == tr.iteration.shape
            assert np.all(np.isfinite(arr[measured])) and np.all(np.isnan(arr[~measured]))


def test_rounding_errors_are_on_the_scale_of_each_dtypes_eps(mlp_run):
    _, _, cmp = mlp_run
    median = {}
    for name, tr in cmp.trajectories.items():
        ref = tr.reference_iteration
        le = tr.loss_rel_error[ref] / tr.unit_roundoff
        ge = tr.grad_rel_error[ref] / tr.unit_roundoff
        # not zero: the float results are not the exact reals ...
        assert np.all(le > 0) and np.all(ge > 0)
        assert le.max() > 0.1 and ge.max() > 0.1
        # ... and not huge: a modest multiple of one rounding (a small, well-conditioned loss)
        assert le.max() < 100 and ge.max() < 1000, (name, le, ge)
        median[name] = np.median(tr.grad_rel_error[ref]), np.median(tr.loss_rel_error[ref])
    # float32 errors are many orders of magnitude above float64's (eps ratio 2**29)
    assert median["float32"][0] > 1e5 * median["float64"][0]
    assert median["float32"][1] > 1e5 * median["float64"][1]


def test_exact_loss_agrees_with_the_mpmath_interpreter(mlp_run):
    obj, _, cmp = mlp_run
    for name, dt in (("float32", F32), ("float64", F64)):
        tr = cmp.trajectories[name]
        exact0 = precision.evaluate(obj.astype(dt), cmp.theta0[name], dps=30)
        assert tr.loss_exact[0] == float(exact0)
        # and the error reported at the start is |f_dtype - f| / |f|
        f0 = float(tr.loss[0])
        assert tr.loss_rel_error[0] == pytest.approx(abs(f0 - float(exact0)) / abs(float(exact0)), rel=1e-6)


def test_reference_every_and_the_cap_on_a_plain_function():
    calls = []
    cmp = compare(_rosen, np.array([-1.2, 1.0, 0.8]), method="gd", reference_every=5,
                  max_reference_points=None, maxiter=23, gtol=0.0, callback=lambda r: calls.append(r.nit))
    for name, tr in cmp.trajectories.items():
        assert list(tr.reference_iteration) == [0, 5, 10, 15, 20, 23]
        assert tr.loss.dtype == np.dtype(name)
    assert calls == list(range(1, 24)) * 2  # the user's callback still runs, once per iteration and run
    # a cap thins the grid to fewer points, evenly spaced, keeping both ends
    cmp = compare(_rosen, np.array([-1.2, 1.0, 0.8]), method="gd", dtypes=("float64",),
                  max_reference_points=5, maxiter=40, gtol=0.0)
    ref = cmp.trajectories["float64"].reference_iteration
    assert len(ref) <= 5 and ref[0] == 0 and ref[-1] == 40
    assert len(set(np.diff(ref[:-1]))) == 1  # one stride between the grid points
    # reference_every with a cap: the stride grows by doubling, staying a multiple of 3
    cmp = compare(_rosen, np.array([-1.2, 1.0, 0.8]), method="gd", dtypes=("float32",),
                  reference_every=3, max_reference_points=4, maxiter=30, gtol=0.0)
    ref = cmp.trajectories["float32"].reference_iteration
    assert len(ref) <= 4 and ref[-1] == 30 and np.all(ref[:-1] % 3 == 0)


def test_plain_function_errors_and_a_callback_stop():
    def stop_at_3(r):
        if r.nit == 3:
            raise StopIteration

    cmp = compare(_rosen, np.array([-1.2, 1.0]), method="cg", callback=stop_at_3)
    for name, tr in cmp.trajectories.items():
        res = cmp.results[name]
        assert res.status == Status.CALLBACK and res.nit == 3
        assert tr.reference_iteration[-1] == 3
        ref = tr.reference_iteration
        # Rosenbrock's gradient cancels (100 (x2 - x1^2) terms): a few hundred u at most
        assert np.all(tr.loss_rel_error[ref] < 50 * tr.unit_roundoff)
        assert np.all(tr.grad_rel_error[ref] < 1000 * tr.unit_roundoff)


def test_plain_function_that_computes_in_float64_is_refused_clearly():
    data = np.linspace(0.0, 1.0, 5)  # float64 data used as is: promotes a float32 theta

    def leaky(theta):
        return nnp.sum((theta - data) ** 2)

    with pytest.raises(TypeError, match=r"X\.astype\(theta\.dtype\)"):
        compare(leaky, np.zeros(5))

    def faithful(theta):
        return nnp.sum((theta - data.astype(theta.dtype)) ** 2)

    cmp = compare(faithful, np.zeros(5), method="lbfgs", maxiter=5)
    assert cmp.results["float32"].x.dtype == F32


# -- accumulate="float64" -------------------------------------------------------


def test_accumulate_float64_gives_the_correctly_rounded_sum_of_the_float32_terms():
    net, X, Y, theta = _big_plus_tiny()
    th = theta.astype(np.float32)
    plain = nnopt.Objective(net, "mse", X, Y)
    acc = nnopt.Objective(net, "mse", X, Y, accumulate="float64")
    terms = np.square(X - Y).ravel()  # the float32 per-element terms the loss sums
    exact = sum((Fraction(float(t)) for t in terms), Fraction(0)) / terms.size
    assert Fraction(float(exact)) == exact  # exact in float64, so one rounding to float32 below
    correctly_rounded = np.float32(float(exact))
    u = np.finfo(np.float32).eps / 2
    v_plain, g_plain = plain.value_and_grad(th)
    v_acc, g_acc = acc.value_and_grad(th)
    # naive float32 summation loses digits here: the tiny terms added to 1.0 vanish
    assert abs(float(v_plain) - float(exact)) > 4 * u * float(exact)
    assert type(v_acc) is np.float32 and v_acc == correctly_rounded and acc.fun(th) == correctly_rounded
    # the gradient is the plain float32 one, bit for bit
    assert g_acc.dtype == F32 and np.array_equal(g_acc, g_plain)
    assert np.array_equal(acc.hessp(th, th), plain.hessp(th, th))


def test_accumulate_with_weight_decay_and_the_other_losses():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 3)).astype(np.float32)
    net = MLP([3, 4, 2], activation="tanh")
    th = net.init(seed=0, dtype=np.float32)
    out = net(th, X)
    cases = [
        ("mse", rng.normal(size=(300, 2)).astype(np.float32),
         lambda Y: np.square(out - Y)),
        ("cross_entropy", rng.integers(0, 2, 300),
         lambda Y: np.asarray(nnp.logsumexp(out, axis=-1)) - out[np.arange(300), Y]),
        ("binary_cross_entropy", rng.integers(0, 2, (300, 2)).astype(np.float32),
         lambda Y: np.asarray(nnp.softplus(out)) - out * Y),
    ]
    for loss, Y, terms_of in cases:
        obj = nnopt.Objective(net, loss, X, Y, weight_decay=0.1, accumulate="float64")
        terms = terms_of(obj.Y).astype(np.float64)
        expected = terms.sum() / terms.size + 0.05 * np.sum(np.square(th).astype(np.float64))
        assert obj.fun(th) == np.float32(expected), loss
        plain = nnopt.Objective(net, loss, X, Y, weight_decay=0.1)
        assert np.array_equal(obj.jac(th), plain.jac(th))
        assert obj.fun(th) == pytest.approx(plain.fun(th), rel=1e-5)


def test_accumulate_is_kept_by_astype_batch_and_with_targets():
    net, X, Y, theta = _big_plus_tiny(n=64)
    acc = nnopt.Objective(net, "mse", X, Y, accumulate=np.float64)
    assert acc.accumulate == "float64" and "accumulate='float64'" in repr(acc)
    assert acc.astype(np.float64).accumulate == "float64"
    assert acc.astype(np.float32).accumulate == "float64"
    assert acc.astype(np.float32, accumulate=None).accumulate is None
    assert acc.batch(np.arange(10)).accumulate == "float64"
    assert acc.with_targets(Y + 1).accumulate == "float64"
    plain = nnopt.Objective(net, "mse", X, Y)
    assert plain.accumulate is None and plain.astype(np.float32, accumulate="float64").accumulate == "float64"
    # in float64 the option changes nothing
    t64 = theta.astype(np.float64)
    assert acc.astype(np.float64).fun(t64) == plain.astype(np.float64).fun(t64)


def test_accumulate_bad_input():
    net, X, Y, _ = _big_plus_tiny(n=16)
    for bad in ("float32", "float128x", True, 3):
        with pytest.raises(ValueError, match="accumulate must be None or 'float64'"):
            nnopt.Objective(net, "mse", X, Y, accumulate=bad)

    def my_loss(out, target):
        return nnp.sum(nnp.abs(out - target))

    with pytest.raises(ValueError, match="built-in loss"):
        nnopt.Objective(net, my_loss, X, Y, accumulate="float64")
    # the built-in function passed as a callable is still the built-in loss
    assert nnopt.Objective(net, nnopt.nn.mse, X, Y, accumulate="float64").accumulate == "float64"


def test_compare_passes_accumulate_to_the_float32_run():
    net, X, Y, theta = _big_plus_tiny()
    obj = nnopt.Objective(net, "mse", X, Y)
    u = np.finfo(np.float32).eps / 2
    kw = dict(dtypes=("float32",), method="gd", maxiter=0)
    naive = compare(obj, theta, **kw).trajectories["float32"]
    acc = compare(obj, theta, accumulate="float64", **kw).trajectories["float32"]
    # against the exact loss (exact squares): the float32 terms' rounding (<= u) plus one rounding
    assert naive.loss_rel_error[0] > 4 * u
    assert acc.loss_rel_error[0] <= 2 * u
    assert acc.loss[0] == nnopt.Objective(net, "mse", X, Y, accumulate="float64").fun(theta.astype(np.float32))
    assert acc.grad_rel_error[0] == naive.grad_rel_error[0]  # the gradient is untouched


# -- plotting and bad input -------------------------------------------------------


def test_plot_draws_loss_and_error_panels(mlp_run):
    _, _, cmp = mlp_run
    fig = cmp.plot()
    a_loss, a_err = fig.axes
    assert a_loss.get_yscale() == "log" and a_err.get_yscale() == "log"
    assert len(a_loss.get_lines()) == 4 and len(a_err.get_lines()) == 6
    from matplotlib.figure import Figure

    fig2 = Figure()
    axes = fig2.subplots(1, 2)
    assert cmp.plot(ax=axes) is fig2
    with pytest.raises(ValueError, match="ax: expected a pair"):
        cmp.plot(ax=axes[0])
    rows = cmp.summary()
    assert [r["dtype"] for r in rows] == ["float32", "float64"] and rows[0]["nit"] == 15
    assert "float32" in repr(cmp)


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(dtypes=("float32", "float31")), ValueError, r"dtypes: expected float32 or float64, got 'float31'"),
    (dict(dtypes=("int32",)), ValueError, "dtypes: expected float32 or float64"),
    (dict(dtypes=("float16",)), ValueError, "dtypes: expected float32 or float64"),
    (dict(dtypes=("float64", np.float64)), ValueError, "given twice"),
    (dict(dtypes=()), ValueError, "at least one dtype"),
    (dict(reference_every=0), ValueError, r"reference_every: expected an integer >= 1 or None, got 0"),
    (dict(reference_every=-2), ValueError, "reference_every"),
    (dict(reference_every=2.5), TypeError, "reference_every"),
    (dict(max_reference_points=1), ValueError, "max_reference_points"),
    (dict(dps=12), ValueError, r"dps: 12 digits .* float64"),
    (dict(dps=0), ValueError, "dps must be >= 1"),
    (dict(accumulate="float16"), ValueError, "accumulate: expected None or 'float64'"),
    (dict(method="lm"), ValueError, "method: 'lm'"),
    (dict(jac=True), TypeError, "jac cannot be given"),
    (dict(callback=3), TypeError, "callback"),
])
def test_bad_input(kwargs, exc, match):
    obj, theta0 = _mlp_objective()
    with pytest.raises(exc, match=match):
        compare(obj, theta0, **kwargs)


def test_bad_theta0_and_objective():
    obj, theta0 = _mlp_objective()
    with pytest.raises(ValueError, match=rf"theta0: expected shape \({obj.n_params},\).*got \({obj.n_params - 1},\)"):
        compare(obj, theta0[:-1])
    with pytest.raises(TypeError, match="theta0: expected a real floating-point array"):
        compare(obj, np.zeros(obj.n_params, dtype=int))
    with pytest.raises(ValueError, match="theta0: expected a 1-D"):
        compare(obj, theta0[None, :])
    bad = theta0.copy()
    bad[2] = np.nan
    with pytest.raises(ValueError, match="theta0: must be finite"):
        compare(obj, bad)
    with pytest.raises(TypeError, match="objective: expected an nnopt.Objective or a callable"):
        compare(3.0, theta0)
    with pytest.raises(ValueError, match="accumulate: needs an objective"):
        compare(_rosen, np.zeros(3), accumulate="float64")
