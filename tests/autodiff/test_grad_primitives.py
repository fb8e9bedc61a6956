"""Every primitive of nnopt.numpy: derivatives to order 2, both modes, float64.

Each case is a function of one or more arrays evaluated at a random point
away from kinks and ties; check_grads compares forward and reverse mode with
central differences and with each other, and recurses on the derivative
functions (second-order rules in all four mode combinations).
"""
import numpy as np
import pytest

import nnopt.numpy as nnp
from nnopt.autodiff.rules.dense import dense
from nnopt.autodiff.rules.shape import block
from nnopt.testing import check_grads

RNG = np.random.default_rng(20240611)


def U(*shape, lo=-1.5, hi=1.5):
    return np.asarray(RNG.uniform(lo, hi, shape))


def away_from(*shape, kink=0.0, gap=0.2, spread=1.5):
    """Uniform values with |x - kink| >= gap (no point at a kink)."""
    mag = RNG.uniform(gap, spread, shape)
    return kink + np.where(RNG.random(shape) < 0.5, -mag, mag)


def distinct(*shape):
    """Values whose pairwise gaps are >= 0.1 (no ties for max/min/sort-like ops)."""
    n = int(np.prod(shape))
    vals = np.arange(n) * 0.1 + RNG.uniform(0, 0.02, n)
    return RNG.permutation(vals).reshape(shape) - 0.05 * n


POS = dict(lo=0.3, hi=2.0)

ELEMENTWISE = {
    "exp": (nnp.exp, U(3, 4)),
    "log": (nnp.log, U(3, 4, **POS)),
    "log1p": (nnp.log1p, U(3, 4, lo=-0.6, hi=2.0)),
    "expm1": (nnp.expm1, U(3, 4)),
    "sqrt": (nnp.sqrt, U(3, 4, **POS)),
    "sin": (nnp.sin, U(3, 4)),
    "cos": (nnp.cos, U(3, 4)),
    "tan": (nnp.tan, U(3, 4, lo=-1.2, hi=1.2)),
    "sinh": (nnp.sinh, U(3, 4)),
    "cosh": (nnp.cosh, U(3, 4)),
    "tanh": (nnp.tanh, U(3, 4)),
    "arctan": (nnp.arctan, U(3, 4)),
    "sigmoid": (nnp.sigmoid, U(3, 4, lo=-4, hi=4)),
    "softplus": (nnp.softplus, U(3, 4, lo=-4, hi=4)),
    "erf": (nnp.erf, U(3, 4)),
    "gelu": (nnp.gelu, U(3, 4, lo=-3, hi=3)),
    "square": (nnp.square, U(3, 4)),
    "reciprocal": (nnp.reciprocal, U(3, 4, **POS)),
    "negative": (nnp.negative, U(3, 4)),
    "abs": (nnp.abs, away_from(3, 4)),
    "relu": (nnp.relu, away_from(3, 4)),
    "elu": (nnp.elu, away_from(3, 4)),
    "elu_alpha": (lambda x: nnp.elu(x, alpha=0.7), away_from(3, 4)),
    "power_int": (lambda x: x ** 3, U(3, 4)),
    "power_float": (lambda x: x ** 2.5, U(3, 4, **POS)),
    "power_half": (lambda x: x ** 0.5, U(3, 4, **POS)),
    "power_neg": (lambda x: x ** -2, U(3, 4, **POS)),
    "rpow": (lambda x: 2.0 ** x, U(3, 4)),
    "clip": (lambda x: nnp.clip(x, -0.5, 0.7), away_from(3, 4, kink=0.1, gap=0.05, spread=0.4) * 3),
    "astype_same": (lambda x: nnp.astype(x, np.float64), U(3, 4)),
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise(name):
    f, x = ELEMENTWISE[name]
    check_grads(f, (x,), order=2, modes=("fwd", "rev"))


# binary operations with broadcasting: (3, 4) with (4,), (3, 1), () and (2, 3, 4)
BINARY = {
    "add": nnp.add,
    "subtract": nnp.subtract,
    "multiply": nnp.multiply,
    "divide": nnp.divide,
    "power": nnp.power,
    "maximum": nnp.maximum,
    "minimum": nnp.minimum,
    "logaddexp": nnp.logaddexp,
    "op_add": lambda a, b: a + b,
    "op_rsub": lambda a, b: b - a,
    "op_truediv": lambda a, b: a / b,
    "op_pow": lambda a, b: a ** b,
}
SHAPES = [((3, 4), (4,)), ((3, 1), (3, 4)), ((3, 4), ()), ((4,), (2, 3, 4)), ((2, 1, 4), (3, 1))]


@pytest.mark.parametrize("shapes", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_broadcasting(name, shapes):
    f = BINARY[name]
    sa, sb = shapes
    if name in ("maximum", "minimum"):
        # a in (0.3, 1.5) + lots of distinct values: no ties with b
        a = distinct(*sa) if sa else np.float64(0.0)
        b = distinct(*sb) + 0.05 if sb else np.array(0.05)
        a, b = np.asarray(a), np.asarray(b)
    else:
        a, b = U(*sa, lo=0.4, hi=1.6), U(*sb, lo=0.4, hi=1.6)
    check_grads(f, (a, b))


REDUCTIONS = {
    "sum": nnp.sum,
    "mean": nnp.mean,
    "max": nnp.max,
    "min": nnp.min,
    "logsumexp": nnp.logsumexp,
    "var": nnp.var,
    "var_ddof": lambda x, axis=None, keepdims=False: nnp.var(x, axis=axis, ddof=1, keepdims=keepdims),
    "std": nnp.std,
    "norm": nnp.norm,
}
AXES = [None, 0, 1, -1, (0, 2)]


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reductions(name, axis, keepdims):
    f = REDUCTIONS[name]
    x = distinct(2, 3, 4)
    check_grads(lambda x: f(x, axis=axis, keepdims=keepdims), (x,))


@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_family(name, axis):
    f = getattr(nnp, name)
    check_grads(lambda x: f(x, axis=axis), (U(3, 4, 2, lo=-2, hi=2),))


def test_max_min_with_ties_split_the_derivative():
    # At a tie the derivative is shared equally (JAX convention); the
    # directional derivative is then the average, a valid element of the
    # subdifferential, and both modes agree.
    import nnopt

    x = np.array([1.0, 3.0, 3.0, -2.0])
    np.testing.assert_array_equal(nnopt.grad(nnp.max)(x), [0.0, 0.5, 0.5, 0.0])
    np.testing.assert_array_equal(nnopt.grad(nnp.min)(-x), [0.0, 0.5, 0.5, 0.0])
    u = np.array([0.3, 1.0, -2.0, 0.5])
    _, t = nnopt.jvp(nnp.max, (x,), (u,))
    assert t == pytest.approx(0.5 * (1.0 - 2.0))
    X = np.array([[1.0, 2.0, 2.0], [5.0, 5.0, 5.0]])
    np.testing.assert_allclose(
        nnopt.grad(lambda X: nnp.sum(nnp.max(X, axis=1)))(X),
        [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]],
    )
    # maximum/minimum of two arrays: 1/2 each at ties
    a, b = np.array([1.0, 2.0]), np.array([1.0, 3.0])
    ga, gb = nnopt.grad(lambda a, b: nnp.sum(nnp.maximum(a, b)), argnums=(0, 1))(a, b)
    np.testing.assert_array_equal(ga, [0.5, 0.0])
    np.testing.assert_array_equal(gb, [0.5, 1.0])
    # relu'(0) = 0, elu'(0) = alpha, abs'(0) = 0 (PyTorch / JAX)
    z = np.zeros(1)
    assert nnopt.grad(lambda z: nnp.sum(nnp.relu(z)))(z)[0] == 0.0
    assert nnopt.grad(lambda z: nnp.sum(nnp.elu(z, alpha=0.7)))(z)[0] == 0.7
    assert nnopt.grad(lambda z: nnp.sum(nnp.abs(z)))(z)[0] == 0.0


SHAPE_OPS = {
    "reshape": (lambda x: nnp.reshape(x, (4, 6)), (2, 3, 4)),
    "reshape_method": (lambda x: x.reshape(-1, 2), (2, 3, 4)),
    "ravel": (nnp.ravel, (2, 3, 4)),
    "transpose": (nnp.transpose, (2, 3, 4)),
    "transpose_axes": (lambda x: nnp.transpose(x, (1, 2, 0)), (2, 3, 4)),
    "T": (lambda x: x.T, (3, 4)),
    "swapaxes": (lambda x: nnp.swapaxes(x, 0, 2), (2, 3, 4)),
    "moveaxis": (lambda x: nnp.moveaxis(x, 0, -1), (2, 3, 4)),
    "expand_dims": (lambda x: nnp.expand_dims(x, 1), (3, 4)),
    "squeeze": (lambda x: nnp.squeeze(x, axis=1), (3, 1, 4)),
    "squeeze_all": (nnp.squeeze, (3, 1, 4, 1)),
    "broadcast_to": (lambda x: nnp.broadcast_to(x, (2, 3, 4)), (3, 1)),
    "getitem_int": (lambda x: x[1], (3, 4)),
    "getitem_ints": (lambda x: x[1, -1], (3, 4)),
    "getitem_slice": (lambda x: x[1:, ::2], (3, 4)),
    "getitem_negstep": (lambda x: x[::-1, 1:3], (3, 4)),
    "getitem_none_ellipsis": (lambda x: x[None, ..., 2], (2, 3, 4)),
    "getitem_fancy": (lambda x: x[np.array([2, 0, 2, 1])], (3, 4)),
    "getitem_fancy_2d": (lambda x: x[np.array([0, 2, 2]), np.array([1, 1, 3])], (3, 4)),
    "getitem_fancy_slice": (lambda x: x[:, np.array([3, 0, 3])], (3, 4)),
    "getitem_mask": (lambda x: x[np.array([True, False, True])], (3, 4)),
    "getitem_mask_2d": (lambda x: x[np.arange(12).reshape(3, 4) % 3 == 0], (3, 4)),
    "getitem_list": (lambda x: x[[0, 0, 1]], (3, 4)),
    "block": (lambda t: block(t, 2, 8, (2, 3)), (10,)),
}


@pytest.mark.parametrize("name", sorted(SHAPE_OPS))
def test_shape_ops(name):
    f, shape = SHAPE_OPS[name]
    check_grads(lambda x: nnp.sin(f(x)), (U(*shape),))


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concatenate_and_stack(axis):
    a, b, c = U(2, 3), U(2, 3), U(2, 3)
    check_grads(lambda a, b, c: nnp.concatenate([a, b, a * c], axis=axis), (a, b, c))
    check_grads(lambda a, b, c: nnp.stack([a, b, c], axis=axis), (a, b, c))
    check_grads(lambda a, b: nnp.hstack([a, b]), (a, b), order=1)
    check_grads(lambda a, b: nnp.vstack([a, b[0]]), (a, b), order=1)


def test_concatenate_unequal_sizes_and_constants():
    a, b = U(2, 3), U(2, 5)
    const = np.ones((2, 1))
    check_grads(lambda a, b: nnp.concatenate([a, const, b], axis=1), (a, b))
    check_grads(lambda a: nnp.concatenate([a, np.zeros((1, 3))], axis=None), (a,))


def test_where():
    x, y = U(3, 4), U(4)
    cond = U(3, 4) > 0
    check_grads(lambda x, y: nnp.where(cond, x * x, y), (x, y))
    check_grads(lambda x: nnp.where(x > 0.2, nnp.sin(x), 0.0), (away_from(3, 4, kink=0.2, gap=0.05),))
    check_grads(lambda x: nnp.where(cond, 1.0, x), (x,))


MATMUL_SHAPES = [
    ((4,), (4,)),
    ((3, 4), (4,)),
    ((4,), (4, 2)),
    ((3, 4), (4, 2)),
    ((2, 3, 4), (4, 5)),
    ((3, 4), (2, 4, 5)),
    ((2, 3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (5, 4, 2)),
    ((2, 3, 4), (4,)),
    ((4,), (2, 4, 3)),
]


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=lambda s: f"{s[0]}@{s[1]}")
def test_matmul(shapes):
    sa, sb = shapes
    check_grads(lambda a, b: a @ b, (U(*sa), U(*sb)))
    check_grads(nnp.matmul, (U(*sa), U(*sb)), order=1)


def test_dot_inner_outer_vdot():
    check_grads(nnp.dot, (U(3, 4), U(4, 2)))
    check_grads(nnp.dot, (U(4), U(4)))
    check_grads(nnp.dot, (U(), U(3)))
    check_grads(nnp.inner, (U(3, 4), U(4)))
    check_grads(nnp.outer, (U(3), U(4)))
    check_grads(nnp.vdot, (U(2, 3), U(2, 3)))


EINSUM = {
    "matmul": ("ij,jk->ik", [(3, 4), (4, 2)]),
    "matmul_implicit": ("ij,jk", [(3, 4), (4, 2)]),
    "batched": ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    "outer": ("i,j->ij", [(3,), (4,)]),
    "inner": ("i,i->", [(4,), (4,)]),
    "row_sums": ("ij->i", [(3, 4)]),
    "total": ("ijk->", [(2, 3, 4)]),
    "permute": ("ijk->kij", [(2, 3, 4)]),
    "bilinear": ("i,ij,j->", [(3,), (3, 4), (4,)]),
    "three_way": ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    "sum_out_free": ("ij,k->ik", [(3, 4), (2,)]),
    "ellipsis": ("...ij,...jk->...ik", [(2, 3, 4), (2, 4, 5)]),
    "ellipsis_bcast": ("...ij,jk->...ik", [(2, 2, 3, 4), (4, 5)]),
    "ellipsis_reduce": ("...i->...", [(2, 3, 4)]),
    "hadamard": ("ij,ij->ij", [(3, 4), (3, 4)]),
}


@pytest.mark.parametrize("name", sorted(EINSUM))
def test_einsum(name):
    spec, shapes = EINSUM[name]
    args = tuple(U(*s) for s in shapes)
    check_grads(lambda *ops: nnp.einsum(spec, *ops), args)
    np.testing.assert_allclose(nnp.einsum(spec, *args), np.einsum(spec, *args), rtol=1e-13)


@pytest.mark.parametrize("act", ["identity", "tanh", "sigmoid", "relu"])
def test_fused_dense(act):
    X, W, b = U(5, 3), U(3, 4), U(4)
    if act == "relu":  # keep pre-activations away from 0
        b = b + np.where(np.abs(X @ W + b).min() < 0.05, 0.3, 0.0)
    check_grads(lambda X, W, b: dense(X, W, b, act=act), (X, W, b))


def test_astype_between_float_dtypes():
    # float32 -> float64 is exact: derivatives are checked with float32 steps
    x32 = U(3, 4).astype(np.float32)
    check_grads(lambda x: nnp.exp(nnp.astype(x, np.float64)), (x32,))
    check_grads(lambda x: nnp.exp(x.astype(np.float32)), (x32,))


def test_stop_gradient_blocks_the_derivative():
    import nnopt

    x = U(3, 4)
    # d/dx [x * c] with c = x held constant is c, not 2 x
    np.testing.assert_array_equal(nnopt.grad(lambda x: nnp.sum(x * nnp.stop_gradient(x)))(x), x)
    _, t = nnopt.jvp(lambda x: nnp.stop_gradient(x) * 3.0, (x,), (np.ones_like(x),))
    np.testing.assert_array_equal(t, np.zeros_like(x))
    # nested: the Hessian of sum(x^2 * stop(x)) is diag(2 x)
    v = U(4)
    np.testing.assert_allclose(
        nnopt.hessian(lambda v: nnp.sum(v * v * nnp.stop_gradient(v)))(v), np.diag(2 * v), rtol=1e-15
    )


def test_multi_output_function():
    # a tuple of outputs of different shapes
    check_grads(lambda x, y: (nnp.sin(x) * y, nnp.sum(x * x)), (U(3), U(3)))
