"""The Taylor-mode kernels: Numba equals the NumPy reference (float32 and
float64, odd sizes, empty batches, non-contiguous inputs), and the reference
equals nested forward mode of the engine (forward) and its reverse mode
(backward)."""
import numpy as np
import pytest

import nnopt
import nnopt.numpy as nnp
from nnopt.kernels import taylor
from nnopt.kernels.taylor import cpu, reference

DTYPES = [np.float32, np.float64]
JETS = [(0, 0), (1, 1), (1, 2), (2, 1), (2, 3)]        # (order, directions)
ACTS = ["identity", "tanh", "sigmoid"]


def _tol(dtype):
    return 50 * np.finfo(dtype).eps


def _close(got, ref, dtype):
    assert got.dtype == ref.dtype == dtype and got.shape == ref.shape
    scale = max(1.0, float(np.abs(ref).max(initial=0)))
    np.testing.assert_allclose(got, ref, rtol=_tol(dtype), atol=_tol(dtype) * scale)


def _layer(rng, order, D, n, a, w, dtype):
    S = 1 + order * D
    X = rng.normal(size=(S, n, a)).astype(dtype)
    W = (rng.normal(size=(a, w)) / np.sqrt(a)).astype(dtype)
    b = rng.normal(size=w).astype(dtype)
    return X, W, b


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("order,D", JETS)
@pytest.mark.parametrize("n,a,w", [(1, 1, 1), (7, 3, 5), (0, 4, 3), (33, 17, 9), (5, 2, 1)])
def test_cpu_equals_reference(dtype, act, order, D, n, a, w):
    rng = np.random.default_rng(n * 100 + a * 10 + w)
    X, W, b = _layer(rng, order, D, n, a, w, dtype)
    Y_r, A_r = reference.forward(X, W, b, act, order)
    Y_c, A_c = cpu.forward(X, W, b, act, order)
    _close(Y_c, Y_r, dtype)
    _close(A_c, A_r, dtype)
    Abar = rng.normal(size=A_r.shape).astype(dtype)
    for need_gx in (True, False):
        ref = reference.backward(Abar, X, Y_r, A_r, W, act, order, need_gx)
        got = cpu.backward(Abar, X, Y_r, A_r, W, act, order, need_gx)
        for r, c in zip(ref, got):
            if r is None:
                assert c is None
            else:
                _close(c, r, dtype)
    if n == 0:
        gX, gW, gb = got
        assert not gW.any() and not gb.any()


def _act(act):
    return {"identity": lambda z: z, "tanh": nnp.tanh, "sigmoid": nnp.sigmoid}[act]


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("order,D", JETS)
def test_reference_forward_is_the_taylor_expansion(act, order, D):
    """Along the curve x(h) = X_0 + sum_k h^k X_{k,q}, the layer's output has
    Taylor coefficients A_{k,q} = (d/dh)^k act(x(h) W + b) / k! (nested jvp)."""
    rng = np.random.default_rng(order * 10 + D)
    X, W, b = _layer(rng, order, D, 6, 4, 5, np.float64)
    Y, A = reference.forward(X, W, b, act, order)
    f = _act(act)
    for q in range(D):
        x1 = X[1 + q]
        x2 = X[1 + D + q] if order == 2 else np.zeros_like(x1)

        def g(h, x1=x1, x2=x2):
            return f((X[0] + h * x1 + h * h * x2) @ W + b)

        h0, one = np.zeros((6, 4)), np.ones((6, 4))
        _, d1 = nnopt.jvp(g, (h0,), (one,))
        np.testing.assert_allclose(A[1 + q], d1, rtol=1e-13, atol=1e-14)
        if order == 2:
            _, d2 = nnopt.jvp(lambda h: nnopt.jvp(g, (h,), (one,))[1], (h0,), (one,))
            np.testing.assert_allclose(A[1 + D + q], d2 / 2, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(A[0], np.asarray(f(X[0] @ W + b)), rtol=1e-15)


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("order,D", JETS)
def test_reference_backward_is_the_adjoint(act, order, D):
    """backward is the vector-Jacobian product of forward: the same numbers as
    the engine's reverse mode of the jet written with nnopt.numpy."""
    rng = np.random.default_rng(order * 10 + D + 1)
    X, W, b = _layer(rng, order, D, 5, 3, 4, np.float64)
    Y, A = reference.forward(X, W, b, act, order)
    Abar = rng.normal(size=A.shape)
    f = _act(act)

    def jet(Xv, Wv, bv):
        y = [Xv[s] @ Wv for s in range(X.shape[0])]
        y0 = y[0] + bv
        a0 = f(y0)
        ones = np.ones((5, 4))
        d = nnopt.jvp(f, (y0,), (ones,))[1]
        dd = nnopt.jvp(lambda z: nnopt.jvp(f, (z,), (ones,))[1], (y0,), (ones,))[1]
        out = [a0] + [d * y[1 + q] for q in range(D)]
        if order == 2:
            out += [d * y[1 + D + q] + 0.5 * dd * y[1 + q] * y[1 + q] for q in range(D)]
        return nnp.stack(out)

    value, pull = nnopt.vjp(jet, X, W, b)
    np.testing.assert_allclose(value, A, rtol=1e-13, atol=1e-14)
    gX_e, gW_e, gb_e = pull(Abar)
    gX, gW, gb = reference.backward(Abar, X, Y, A, W, act, order)
    for got, ref in ((gX, gX_e), (gW, gW_e), (gb, gb_e)):
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-13)


def test_noncontiguous_inputs():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3, 10, 8))[:, ::2, ::2]
    W = rng.normal(size=(8, 12))[::2, ::2]
    b = rng.normal(size=12)[::2]
    for act in ACTS:
        Y, A = reference.forward(X, W, b, act, 2)
        Yc, Ac = cpu.forward(X, W, b, act, 2)
        np.testing.assert_allclose(Ac, A, rtol=1e-13, atol=1e-13)
        Abar = rng.normal(size=(3, 10, 12))[:, ::2, ::2]
        for r, c in zip(reference.backward(Abar, X, Y, A, W, act, 2),
                        cpu.backward(Abar, X[:, :, :], Y[:, :, :], A, W, act, 2)):
            np.testing.assert_allclose(c, r, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n,a,m", [(7, 1, 5), (6, 2, 3), (9, 5, 4), (0, 3, 2), (4, 3, 0)])
def test_matmul_into(dtype, n, a, m):
    rng = np.random.default_rng(n + a + m)
    x = rng.normal(size=(n, a)).astype(dtype)
    W = rng.normal(size=(a, m)).astype(dtype)
    want = x.astype(np.float64) @ W.astype(np.float64)
    for mod in (reference, cpu):
        out = np.full((n, m), np.nan, dtype=dtype)
        mod.matmul_into(x, W, out)
        np.testing.assert_allclose(out, want, rtol=_tol(dtype), atol=_tol(dtype) * max(1, a))
        # transposed (Fortran-ordered) operands, as the backward pass passes them
        out2 = np.full((n, m), np.nan, dtype=dtype)
        mod.matmul_into(np.asfortranarray(x), np.asfortranarray(W), out2)
        np.testing.assert_allclose(out2, want, rtol=_tol(dtype), atol=_tol(dtype) * max(1, a))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("O,S,n,m", [(1, 3, 7, 1), (2, 7, 5, 2), (1, 1, 0, 1), (3, 2, 4, 3)])
def test_affine_head(dtype, O, S, n, m):
    rng = np.random.default_rng(O * 1000 + S * 100 + n)
    Q = rng.normal(size=(O, S, n, m)).astype(dtype)
    c0 = rng.normal(size=(O, n)).astype(dtype)
    Z = rng.normal(size=(S, n, m)).astype(dtype)
    r = (c0.astype(np.float64) + np.einsum("osic,sic->oi", Q.astype(np.float64), Z.astype(np.float64)))
    want_zbar = np.einsum("osic,oi->sic", Q.astype(np.float64), 2 * r)
    for mod in (reference, cpu):
        Zbar = np.full_like(Z, np.nan)
        loss = mod.affine_loss(Q, c0, Z, Zbar)
        assert abs(float(loss) - float(np.sum(r * r))) <= 10 * _tol(dtype) * max(1.0, float(np.sum(r * r)))
        np.testing.assert_allclose(Zbar, want_zbar, rtol=10 * _tol(dtype), atol=10 * _tol(dtype) * 10)
        R = c0.copy()
        mod.affine_rows(Q, Z, R)
        np.testing.assert_allclose(R, r, rtol=10 * _tol(dtype), atol=10 * _tol(dtype) * 10)
        Zb2 = np.full_like(Z, np.nan)
        mod.affine_rows_vjp(Q, (2 * r).astype(dtype), Zb2)
        np.testing.assert_allclose(Zb2, want_zbar, rtol=10 * _tol(dtype), atol=10 * _tol(dtype) * 10)
        if dtype == np.float32:
            assert Zbar.dtype == R.dtype == np.float32


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("S,N,a1,w", [(3, 7, 4, 5), (7, 5, 3, 1), (1, 6, 2, 3), (2, 4, 5, 2), (3, 0, 3, 2)])
def test_per_row_backward(dtype, S, N, a1, w):
    """rows_outer / backward_rows_step: per-point weight gradients written to
    rows of J (rows[i] < 0: skipped), Numba against the reference."""
    rng = np.random.default_rng(S * 100 + N * 10 + w)
    X = rng.normal(size=(S * N, a1)).astype(dtype)
    H = rng.normal(size=(S, N, w)).astype(dtype)
    rows = rng.permutation(N + 3)[:N].astype(np.int64) - 2        # some rows negative
    P = 3 + a1 * w + 2
    want = np.zeros((N + 3, P))
    for i in range(N):
        if rows[i] >= 0:
            want[rows[i], 3:3 + a1 * w] = np.einsum("sp,sq->pq", X.reshape(S, N, a1)[:, i].astype(np.float64),
                                                    H[:, i].astype(np.float64)).ravel()
    for mod in (reference, cpu):
        J = np.zeros((N + 3, P), dtype=dtype)
        mod.rows_outer(X, H, J, rows, 3)
        np.testing.assert_allclose(J, want, rtol=_tol(dtype), atol=_tol(dtype) * S * 10)
    order, D = (2, (S - 1) // 2) if S % 2 else (1, S - 1)
    G = rng.normal(size=(S, N, w)).astype(dtype)
    Y = rng.normal(size=(S, N, w)).astype(dtype)
    T = np.tanh(Y[0])
    W = rng.normal(size=(a1 - 1, w)).astype(dtype)
    out = {}
    for mod in (reference, cpu):
        J = np.zeros((N + 3, P), dtype=dtype)
        Gp = np.full((S * N, a1 - 1), np.nan, dtype=dtype)
        WT = np.empty((w, a1 - 1), dtype=dtype)
        mod.backward_rows_step(G.copy(), Y, T, np.empty_like(G), 1, order, X, W, WT, Gp, True, J, rows, 3)
        # the summed version: the same gradient summed over the rows, in [W; b] form
        gWb = np.full((a1, w), np.nan, dtype=dtype)
        Gp2 = np.full((S * N, a1 - 1), np.nan, dtype=dtype)
        mod.backward_step(G.copy(), Y, T, np.empty_like(G), 1, order, X, gWb, W, WT, Gp2, True)
        out[mod] = (J, Gp, gWb, Gp2)
        if N:
            full = np.zeros((N + 3, P), dtype=np.float64)
            mod.backward_rows_step(G.copy(), Y, T, np.empty_like(G), 1, order, X, W, WT, Gp, True, full,
                                   np.arange(N, dtype=np.int64), 3)
            np.testing.assert_allclose(full.sum(axis=0)[3:3 + a1 * w], gWb.ravel(), rtol=10 * _tol(dtype),
                                       atol=10 * _tol(dtype) * max(1.0, float(np.abs(gWb).max())))
            np.testing.assert_allclose(Gp2, Gp, rtol=_tol(dtype), atol=_tol(dtype))
    for r, c in zip(out[reference], out[cpu]):
        _close(c, r, dtype)


def test_bad_arguments_are_named():
    X, W, b = _layer(np.random.default_rng(0), 2, 1, 3, 2, 2, np.float64)
    with pytest.raises(ValueError, match="act must be one of"):
        reference.forward(X, W, b, "relu", 2)
    with pytest.raises(ValueError, match="order must be 0, 1 or 2"):
        cpu.forward(X, W, b, "tanh", 3)
    with pytest.raises(ValueError, match="1 \\+ 2 \\* D streams, got 2"):
        cpu.forward(X[:2], W, b, "tanh", 2)


def test_select_follows_the_backend():
    with nnopt.config.using(backend="numpy"):
        assert taylor.select() is reference
    with nnopt.config.using(backend="numba"):
        assert taylor.select() is cpu
    with nnopt.config.using(backend="cuda"):
        assert taylor.select() is cpu
