"""Hessians, Jacobians, HVPs and third derivatives against closed forms."""
import itertools

import numpy as np
import pytest

import nnopt
import nnopt.numpy as nnp
from nnopt.testing import check_hvp, problems

RTOL = 1e-12


def _rel_err(a, b):
    return np.max(np.abs(a - b)) / np.max(np.abs(b))


def test_hessian_of_quadratic_is_A():
    rng = np.random.default_rng(0)
    M = rng.normal(size=(6, 6))
    A = M + M.T
    b = rng.normal(size=6)
    x = rng.normal(size=6)

    def f(x):
        return 0.5 * x @ (A @ x) + b @ x

    H = nnopt.hessian(f)(x)
    assert _rel_err(H, A) < RTOL
    assert _rel_err(nnopt.grad(f)(x), A @ x + b) < RTOL
    for v in rng.normal(size=(3, 6)):
        assert _rel_err(nnopt.hvp(f, x, v), A @ v) < RTOL
    # a non-symmetric A: the Hessian is its symmetric part
    assert _rel_err(nnopt.hessian(lambda x: 0.5 * x @ (M @ x))(x), 0.5 * (M + M.T)) < RTOL


def test_hessian_of_log_sum_exp_of_linear_map():
    rng = np.random.default_rng(1)
    A = rng.normal(size=(7, 4))
    x = rng.normal(size=4)

    def f(x):
        return nnp.sum(nnp.log(1 + nnp.exp(A @ x)))

    s = 1 / (1 + np.exp(-(A @ x)))
    assert _rel_err(nnopt.grad(f)(x), A.T @ s) < RTOL
    assert _rel_err(nnopt.hessian(f)(x), A.T @ np.diag(s * (1 - s)) @ A) < RTOL
    # the same with softplus (its own primitive)
    assert _rel_err(nnopt.hessian(lambda x: nnp.sum(nnp.softplus(A @ x)))(x),
                    A.T @ np.diag(s * (1 - s)) @ A) < RTOL


@pytest.mark.parametrize("n", [2, 5])
def test_hessian_of_rosenbrock(n):
    p = problems.rosenbrock(n)
    for x in (p.x0, p.x_star, np.linspace(-1, 1.5, n)):
        assert _rel_err(nnopt.hessian(p.fun)(x), p.hess(x)) < RTOL
        v = np.arange(1.0, n + 1)
        assert _rel_err(nnopt.hvp(p.fun, x, v), p.hess(x) @ v) < RTOL
    # the classic numbers at the minimum (1, 1): [[802, -400], [-400, 200]]
    if n == 2:
        np.testing.assert_array_equal(nnopt.hessian(p.fun)(np.ones(2)), [[802.0, -400.0], [-400.0, 200.0]])


def test_hvp_equals_hessian_times_v_on_composites():
    rng = np.random.default_rng(2)
    W = rng.normal(size=(3, 5))

    def f(x):
        h = nnp.tanh(W @ x)
        return nnp.logsumexp(h) + nnp.sum(nnp.sigmoid(x) * x ** 2) + nnp.norm(h) ** 3

    for seed in range(3):
        x = rng.normal(size=5)
        check_hvp(f, x, rng=seed)
        v = rng.normal(size=5)
        np.testing.assert_allclose(nnopt.hvp(f, x, v), nnopt.hessian(f)(x) @ v, rtol=1e-12, atol=1e-13)


def test_hessian_of_matrix_argument_and_argnums():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(2, 3))
    y = rng.normal(size=3)

    def f(X, y):
        return nnp.sum((X @ y) ** 2)

    # d2/dX2 of sum_i (X_i . y)^2 = 2 delta_ik y_j y_l
    H = nnopt.hessian(f)(X, y)
    assert H.shape == (2, 3, 2, 3)
    expected = 2 * np.einsum("ik,j,l->ijkl", np.eye(2), y, y)
    np.testing.assert_allclose(H, expected, rtol=RTOL, atol=1e-14)
    Hy = nnopt.hessian(f, argnums=1)(X, y)
    np.testing.assert_allclose(Hy, 2 * X.T @ X, rtol=RTOL)


def test_jacobian_forward_and_reverse_agree_with_closed_form():
    rng = np.random.default_rng(4)
    W = rng.normal(size=(4, 3))
    x = rng.normal(size=3)

    def f(x):
        return nnp.tanh(W @ x)

    expected = (1 - np.tanh(W @ x) ** 2)[:, None] * W
    for mode in ("rev", "fwd", "auto"):
        np.testing.assert_allclose(nnopt.jacobian(f, mode=mode)(x), expected, rtol=RTOL)
    # shapes: out.shape + x.shape
    J = nnopt.jacobian(lambda X: nnp.sin(X).T)(rng.normal(size=(2, 3)))
    assert J.shape == (3, 2, 2, 3)


def _d_rev(f):
    return nnopt.grad(f)


def _d_fwd(f):
    def df(x):
        return nnopt.jvp(f, (x,), (np.ones_like(x),))[1]

    return df


THIRD = {
    "sin_exp": (lambda x: nnp.sin(x) * nnp.exp(x), lambda x: 2 * np.exp(x) * (np.cos(x) - np.sin(x))),
    "tanh": (nnp.tanh, lambda x: (1 - np.tanh(x) ** 2) * (6 * np.tanh(x) ** 2 - 2)),
    "log1p": (nnp.log1p, lambda x: 2 / (1 + x) ** 3),
}


@pytest.mark.parametrize("modes", list(itertools.product(("rev", "fwd"), repeat=3)), ids="-".join)
@pytest.mark.parametrize("name", sorted(THIRD))
def test_third_derivatives_of_scalar_functions(name, modes):
    f, f3 = THIRD[name]
    d = f
    for m in modes:
        d = _d_rev(d) if m == "rev" else _d_fwd(d)
    for x in (np.float64(0.37), np.float64(-0.8), np.float64(1.9)):
        assert d(x) == pytest.approx(f3(x), rel=1e-12, abs=1e-13)


def test_third_derivatives_against_mpmath():
    mpmath = pytest.importorskip("mpmath")
    from nnopt import precision

    cases = {
        "sigmoid": (nnp.sigmoid, lambda x: 1 / (1 + mpmath.exp(-x))),
        "x_pow_x": (lambda x: x ** x, lambda x: x ** x),
    }
    for name, (f, T) in cases.items():
        d3 = _d_fwd(_d_rev(_d_rev(f)))
        for x in (0.37, 1.9):
            with mpmath.workdps(40):
                got = d3(precision.to_mp(np.array(x)))
                ref = mpmath.diff(T, mpmath.mpf(x), 3)
                assert abs(got - ref) < mpmath.mpf(10) ** -30 * max(1, abs(ref)), name
            assert d3(np.float64(x)) == pytest.approx(float(ref), rel=1e-12)


def test_fourth_derivative_by_nesting_hessians():
    # the Hessian of a gradient-norm: d^2/dx^2 |grad f|^2 involves 3rd derivatives
    rng = np.random.default_rng(5)
    A = rng.normal(size=(3, 3))
    A = A + A.T
    x = rng.normal(size=3)

    def f(x):
        return 0.5 * x @ (A @ x) + nnp.sum(x ** 4) / 12

    def gnorm2(x):
        g = nnopt.grad(f)(x)
        return nnp.sum(g * g)

    # grad f = A x + x^3/3; closed form of the Hessian of |grad f|^2:
    # 2 (J^T J + sum_i g_i Hess(g_i)), J = A + diag(x^2), Hess(g_i) = 2 x_i e_i e_i^T
    g = A @ x + x ** 3 / 3
    J = A + np.diag(x ** 2)
    expected = 2 * (J.T @ J + np.diag(2 * g * x))
    np.testing.assert_allclose(nnopt.hessian(gnorm2)(x), expected, rtol=1e-12, atol=1e-12)
