"""Nested transforms: derivatives of functions that themselves differentiate.

The neural-form case: a small network u(t; w), a loss built from u''(t)
(derivatives with respect to the *input* t), and its gradient and Hessian
with respect to the weights w.
"""
import numpy as np
import pytest

import nnopt
import nnopt.numpy as nnp
from nnopt.testing import check_grads, check_hvp

H = 4  # hidden units
T = np.linspace(0.0, 1.5, 6)


def u(t, w):
    """u(t; w) = sum_j a_j tanh(c_j t + b_j) + d, elementwise in t."""
    c, b, a, d = w[0:H], w[H:2 * H], w[2 * H:3 * H], w[3 * H]
    z = nnp.reshape(t, (-1, 1)) * c + b
    return nnp.reshape(nnp.tanh(z) @ a, nnp.shape(t)) + d


def u_tt(t, w):
    """u''(t) by differentiating twice with respect to the input t.

    u is elementwise in t, so d/dt sum(u(t)) is the vector u'(t)."""
    du = nnopt.grad(lambda s: nnp.sum(u(s, w)))
    return nnopt.grad(lambda s: nnp.sum(du(s)))(t)


def loss(w):
    """Residual of the oscillator u'' + u = 0 plus the initial condition u(0) = 1."""
    r = u_tt(T, w) + u(T, w)
    return nnp.mean(r ** 2) + (u(np.zeros(1), w)[0] - 1.0) ** 2


def _w(seed=0):
    return np.random.default_rng(seed).normal(size=3 * H + 1) * 0.8


def test_second_input_derivative_matches_closed_form():
    w = _w()
    c, b, a = w[0:H], w[H:2 * H], w[2 * H:3 * H]
    th = np.tanh(np.outer(T, c) + b)
    expected = (-2 * th * (1 - th ** 2) * c ** 2) @ a
    np.testing.assert_allclose(u_tt(T, w), expected, rtol=1e-13, atol=1e-14)
    # the same one point at a time (a scalar input), and by forward mode
    for k, t in enumerate(T):
        scalar = nnopt.grad(nnopt.grad(lambda s: u(s, w)))(np.float64(t))
        assert scalar == pytest.approx(expected[k], rel=1e-13, abs=1e-14)
        d1 = lambda s: nnopt.jvp(lambda r: u(r, w), (s,), (np.ones_like(s),))[1]  # noqa: E731
        fwd = nnopt.jvp(d1, (np.float64(t),), (np.float64(1.0),))[1]
        assert fwd == pytest.approx(expected[k], rel=1e-13, abs=1e-14)


def test_gradient_of_neural_form_loss():
    check_grads(loss, (_w(1),), order=1)


def test_hessian_of_neural_form_loss_matches_finite_differences():
    w = _w(2)
    Hs = nnopt.hessian(loss)(w)
    g = nnopt.grad(loss)
    h = 1e-5
    n = w.size
    fd = np.empty((n, n))
    for j in range(n):
        e = np.zeros(n)
        e[j] = h
        fd[:, j] = (g(w + e) - g(w - e)) / (2 * h)
    np.testing.assert_allclose(Hs, fd, rtol=1e-6, atol=1e-7 * np.abs(Hs).max())
    np.testing.assert_allclose(Hs, Hs.T, rtol=1e-12, atol=1e-12 * np.abs(Hs).max())
    check_hvp(loss, w)


def test_no_perturbation_confusion():
    # d/dx [ x * d/dy (x + y) ] = d/dx [ x * 1 ] = 1, in every mode combination
    def inner_rev(x):
        return x * nnopt.grad(lambda y: x + y)(np.float64(2.0))

    def inner_fwd(x):
        return x * nnopt.jvp(lambda y: x + y, (np.float64(2.0),), (np.float64(1.0),))[1]

    one = np.float64(1.0)
    for inner in (inner_rev, inner_fwd):
        assert nnopt.grad(inner)(np.float64(3.0)) == 1.0
        assert nnopt.jvp(inner, (np.float64(3.0),), (one,))[1] == 1.0
    # a closure over the outer x inside an inner derivative:
    # f(x) = d/dy [x y^2] at y = x = 2 x^2, so f'(x) = 4 x
    f = lambda x: nnopt.grad(lambda y: x * y * y)(x)  # noqa: E731
    assert nnopt.grad(f)(np.float64(1.5)) == pytest.approx(6.0)


def test_jvp_of_grad_and_grad_of_jvp_agree():
    rng = np.random.default_rng(7)
    W = rng.normal(size=(3, 3))
    x, v = rng.normal(size=3), rng.normal(size=3)

    def f(x):
        return nnp.sum(nnp.sin(W @ x) * x)

    a = nnopt.jvp(nnopt.grad(f), (x,), (v,))[1]                                # fwd over rev
    b = nnopt.grad(lambda x: nnopt.jvp(f, (x,), (v,))[1])(x)                   # rev over fwd
    c = nnopt.grad(lambda x: nnp.sum(nnopt.grad(f)(x) * v))(x)                 # rev over rev
    d = nnopt.jvp(lambda x: nnopt.jvp(f, (x,), (v,))[1], (x,), (np.eye(3)[0],))[1]  # fwd over fwd
    np.testing.assert_allclose(a, b, rtol=1e-13)
    np.testing.assert_allclose(a, c, rtol=1e-13)
    assert d == pytest.approx(a[0], rel=1e-13)
