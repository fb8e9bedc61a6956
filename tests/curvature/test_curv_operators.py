"""Hessian, GGN and Fisher operators against dense matrices built independently."""
import numpy as np
import pytest
import scipy.linalg
import scipy.sparse.linalg as sla

import nnopt
import nnopt.numpy as nnp
from curv_problems import make_objective
from nnopt.curvature import (
    block_diagonal, fisher_matrix, fisher_operator, ggn_matrix, ggn_operator, hessian_matrix,
    hessian_operator, per_example_losses,
)

LOSSES = [
    ("mse", (3, 5, 4, 2)),
    ("cross_entropy", (3, 5, 4, 3)),
    ("binary_cross_entropy", (3, 5, 2)),
]


def _rel(a, b):
    return np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300)


def _reference_ggn(obj, theta):
    """J^T H_L J + wd I from nnopt.jacobian and an explicitly built H_L."""
    net, X = obj.net, obj.X
    Z = net(theta, X)
    J = nnopt.jacobian(lambda th: net(th, X), mode="fwd")(theta).reshape(Z.size, -1)
    if obj.loss_name == "mse":
        HL = 2.0 / Z.size * np.eye(Z.size)
    elif obj.loss_name == "cross_entropy":
        P = np.exp(Z - Z.max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        HL = scipy.linalg.block_diag(*[(np.diag(p) - np.outer(p, p)) / Z.shape[0] for p in P])
    else:
        s = 1.0 / (1.0 + np.exp(-Z.ravel()))
        HL = np.diag(s * (1 - s)) / Z.size
    return J.T @ HL @ J + obj.weight_decay * np.eye(J.shape[1])


@pytest.mark.parametrize("loss,sizes", LOSSES)
def test_hessian_operator_matches_dense_hessian(loss, sizes):
    obj, theta = make_objective(loss, sizes=sizes, weight_decay=0.03)
    H = obj.hess(theta)
    rng = np.random.default_rng(1)
    V = rng.normal(size=(obj.n_params, 3))
    modes = ["auto", "rev", "fwd"] + (["compiled"] if loss != "binary_cross_entropy" else [])
    for mode in modes:
        op = hessian_operator(obj, theta, mode=mode)
        assert _rel(op.matmat(V), H @ V) < 1e-12
        assert _rel(op.matvec(V[:, 0]), H @ V[:, 0]) < 1e-12
        assert op.n_matvecs == 4
        b = obj.net.layout.blocks[1].slice
        opb = hessian_operator(obj, theta, mode=mode, block=b)
        assert _rel(opb.matmat(V[b]), H[b, b] @ V[b]) < 1e-12
    assert hessian_operator(obj, theta).path == ("rev" if loss == "binary_cross_entropy" else "compiled")
    assert hessian_operator(lambda th: obj(th), theta).path == "rev"
    if loss == "binary_cross_entropy":
        with pytest.raises(ValueError, match="mode='compiled' needs"):
            hessian_operator(obj, theta, mode="compiled")
    Hd = hessian_matrix(obj, theta)
    assert _rel(Hd, H) < 1e-13
    assert _rel(hessian_matrix(obj, theta, block=1), H[b, b]) < 1e-13
    assert np.max(np.abs(Hd - Hd.T)) <= 1e-13 * np.max(np.abs(Hd))


@pytest.mark.parametrize("loss,sizes", LOSSES)
def test_ggn_equals_jt_hl_j(loss, sizes):
    obj, theta = make_objective(loss, sizes=sizes, weight_decay=0.02)
    G_ref = _reference_ggn(obj, theta)
    G = ggn_matrix(obj, theta)
    assert _rel(G, G_ref) < 1e-12
    op = ggn_operator(obj, theta)
    v = np.random.default_rng(2).normal(size=obj.n_params)
    assert _rel(op.matvec(v), G_ref @ v) < 1e-12
    assert _rel(op.dense(), G_ref) < 1e-12
    # symmetric positive semidefinite (weight decay shifts the spectrum by exactly wd)
    assert np.max(np.abs(G - G.T)) <= 1e-13 * np.max(np.abs(G))
    ev = np.linalg.eigvalsh(G)
    assert ev.min() >= obj.weight_decay - 1e-12 * ev.max()


def test_ggn_equals_hessian_for_linear_model_with_mse():
    # a linear model has no second-order term: GGN = Hessian exactly
    obj, theta = make_objective("mse", sizes=(4, 3), activation="tanh")
    assert _rel(ggn_matrix(obj, theta), hessian_matrix(obj, theta)) < 1e-12


def test_ggn_generic_loss_matches_closed_form():
    obj, theta = make_objective("mse", sizes=(3, 4, 2))
    custom = nnopt.Objective(obj.net, lambda z, y: nnp.mean(nnp.square(z - y)), obj.X, obj.Y)
    assert custom.loss_name not in ("mse",)
    assert _rel(ggn_matrix(custom, theta), ggn_matrix(obj, theta)) < 1e-12
    v = np.random.default_rng(0).normal(size=obj.n_params)
    assert _rel(ggn_operator(custom, theta).matvec(v), ggn_operator(obj, theta).matvec(v)) < 1e-12


@pytest.mark.parametrize("loss,sizes", LOSSES)
def test_fisher_matches_per_example_gradients(loss, sizes):
    obj, theta = make_objective(loss, sizes=sizes, weight_decay=0.05)
    ell = per_example_losses(obj)
    data_loss = obj.fun(theta) - 0.5 * obj.weight_decay * theta @ theta
    assert abs(np.mean(ell(theta)) - data_loss) < 1e-14 * max(1.0, abs(data_loss))
    # per-example gradients one example at a time, through batch objectives
    rows = []
    for i in range(obj.n_samples):
        b = nnopt.Objective(obj.net, obj._loss_spec, obj.X[i:i + 1], obj.Y[i:i + 1])
        rows.append(b.jac(theta))
    Gr = np.array(rows)
    F_ref = Gr.T @ Gr / obj.n_samples
    assert _rel(fisher_matrix(obj, theta), F_ref) < 1e-12
    v = np.random.default_rng(3).normal(size=obj.n_params)
    assert _rel(fisher_operator(obj, theta).matvec(v), F_ref @ v) < 1e-12


@pytest.mark.parametrize("kind", ["hessian", "ggn", "fisher"])
def test_layer_blocks_equal_blocks_of_full_matrix(kind, mse_problem):
    obj, theta = mse_problem
    full = {"hessian": hessian_matrix, "ggn": ggn_matrix, "fisher": fisher_matrix}[kind](obj, theta)
    blocks = block_diagonal(obj, theta, kind)
    assert [b.name for b in blocks] == [b.name for b in obj.net.layout.blocks]
    make = {"hessian": hessian_operator, "ggn": ggn_operator, "fisher": fisher_operator}[kind]
    for b in blocks:
        ref = full[b.slice, b.slice]
        assert _rel(b.matrix, ref) < 1e-12
        op = make(obj, theta, block=b.name)
        assert op.shape == ref.shape
        v = np.random.default_rng(4).normal(size=op.shape[0])
        assert _rel(op.matvec(v), ref @ v) < 1e-12
    # layer index, parameter name and slice select the same block
    b1 = obj.net.layout.blocks[1]
    spec = obj.net.layout.specs[2]
    v = np.random.default_rng(5).normal(size=b1.slice.stop - b1.slice.start)
    ref = full[b1.slice, b1.slice] @ v
    for block in (b1.layer, b1, b1.slice):
        assert _rel(make(obj, theta, block=block).matvec(v), ref) < 1e-12
    vw = v[: spec.slice.stop - spec.slice.start]
    assert _rel(make(obj, theta, block=spec.name).matvec(vw), full[spec.slice, spec.slice] @ vw) < 1e-12


def test_minibatch_operator_is_the_batch_hessian(mse_problem):
    obj, theta = mse_problem
    idx = np.arange(0, obj.n_samples, 3)
    sub = obj.batch(idx)
    v = np.random.default_rng(0).normal(size=obj.n_params)
    assert _rel(hessian_operator(sub, theta).matvec(v), sub.hess(theta) @ v) < 1e-12
    assert not np.allclose(sub.hess(theta), obj.hess(theta))


def test_plain_function_and_scipy_linear_operator():
    def rosen(x):
        return nnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

    x = np.array([-1.2, 1.0, 0.5, 0.3, 1.1])
    H = nnopt.hessian(rosen)(x)
    op = hessian_operator(rosen, x)
    lo = op.aslinearoperator()
    assert isinstance(lo, sla.LinearOperator)
    v = np.arange(5.0)
    assert _rel(lo @ v, H @ v) < 1e-13
    assert _rel(sla.aslinearoperator(op).matvec(v), H @ v) < 1e-13
    assert _rel(op @ np.eye(5), H) < 1e-13
    assert op.matvec(v[:, None]).shape == (5, 1)
    vals = sla.eigsh(lo, k=2, which="LA")[0]
    assert _rel(np.sort(vals), np.linalg.eigvalsh(H)[-2:]) < 1e-10


@pytest.mark.parametrize("make", [hessian_operator, ggn_operator, fisher_operator])
def test_float32_operators_stay_float32(make):
    obj, theta = make_objective("mse", dtype=np.float32, weight_decay=0.01)
    op = make(obj, theta)
    assert op.dtype == np.float32
    v = np.ones(obj.n_params, dtype=np.float32)
    w = op.matvec(v)
    assert w.dtype == np.float32
    assert op.dense().dtype == np.float32
    obj64 = obj.astype(np.float64)
    w64 = make(obj64, theta.astype(np.float64)).matvec(v.astype(np.float64))
    assert _rel(w.astype(np.float64), w64) < 1e3 * np.finfo(np.float32).eps
    with pytest.raises(TypeError, match="float64.*float32|dtype"):
        op.matvec(v.astype(np.float64))


def test_bad_input_errors(mse_problem):
    obj, theta = mse_problem
    with pytest.raises(ValueError, match=r"theta must have shape \(%d,\)" % obj.n_params):
        hessian_operator(obj, theta[:-1])
    with pytest.raises(TypeError, match="float32"):
        hessian_operator(obj, theta.astype(np.float32))
    with pytest.raises(TypeError, match="NumPy array"):
        hessian_operator(obj, list(theta))
    op = hessian_operator(obj, theta)
    with pytest.raises(ValueError, match=r"v must have shape \(%d,\), got \(3,\)" % obj.n_params):
        op.matvec(np.ones(3))
    with pytest.raises(ValueError, match="matmat"):
        op.matmat(np.ones(obj.n_params))
    with pytest.raises(TypeError, match="needs an nnopt.Objective"):
        ggn_operator(lambda x: nnp.sum(x ** 2), theta)
    with pytest.raises(ValueError, match="no block or parameter named 'nope'"):
        hessian_operator(obj, theta, block="nope")
    with pytest.raises(ValueError, match="not a layer with parameters"):
        hessian_operator(obj, theta, block=17)
    with pytest.raises(ValueError, match="needs a layout"):
        hessian_operator(lambda x: nnp.sum(x ** 2), theta, block=0)
    with pytest.raises(ValueError, match="mode must be"):
        hessian_operator(obj, theta, mode="backward")
    with pytest.raises(ValueError, match="finite"):
        hessian_operator(obj, np.full_like(theta, np.nan))
    with pytest.raises(ValueError, match="kind must be one of"):
        block_diagonal(obj, theta, "laplacian")
