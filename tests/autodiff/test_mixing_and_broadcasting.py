"""Plain ndarrays and traced values mix freely; broadcasting derivatives for random shapes."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnopt
import nnopt.numpy as nnp
from nnopt.testing import check_grads

RNG = np.random.default_rng(11)
A = RNG.normal(size=(4, 3))
X = RNG.uniform(0.5, 1.5, 3)

# (function with x traced, closed-form gradient of its sum)
MIXED = {
    "A @ x": (lambda x: A @ x, lambda x: A.sum(axis=0)),
    "x @ A.T": (lambda x: x @ A.T, lambda x: A.sum(axis=0)),
    "A * x": (lambda x: A * x, lambda x: A.sum(axis=0)),
    "x * A": (lambda x: x * A, lambda x: A.sum(axis=0)),
    "x + 1.0": (lambda x: x + 1.0, lambda x: np.ones(3)),
    "1.0 - x": (lambda x: 1.0 - x, lambda x: -np.ones(3)),
    "x / 2": (lambda x: x / 2, lambda x: np.full(3, 0.5)),
    "np.exp(x)": (lambda x: np.exp(x), lambda x: np.exp(x)),
    "np.tanh(x)": (lambda x: np.tanh(x), lambda x: 1 - np.tanh(x) ** 2),
    "np.sum(x)": (lambda x: np.sum(x), lambda x: np.ones(3)),
    "np.sum(A * x, axis=0)": (lambda x: np.sum(A * x, axis=0), lambda x: A.sum(axis=0)),
    "np.mean(x)": (lambda x: np.mean(x), lambda x: np.full(3, 1 / 3)),
    "np.dot(A, x)": (lambda x: np.dot(A, x), lambda x: A.sum(axis=0)),
    "np.matmul(A, x)": (lambda x: np.matmul(A, x), lambda x: A.sum(axis=0)),
    "np.maximum(x, 1.0)": (lambda x: np.maximum(x, 1.0), lambda x: (x > 1.0).astype(float)),
    "np.where(x > 1, x, 0)": (lambda x: np.where(x > 1, x, 0.0), lambda x: (x > 1).astype(float)),
    "np.concatenate": (lambda x: np.concatenate([x, A[0]]), lambda x: np.ones(3)),
    "np.stack": (lambda x: np.stack([x, A[1]]), lambda x: np.ones(3)),
    "np.reshape": (lambda x: np.reshape(x, (3, 1)) * A.T, lambda x: A.sum(axis=0)),
    "np.einsum": (lambda x: np.einsum("ij,j->i", A, x), lambda x: A.sum(axis=0)),
    "np.square": (lambda x: np.square(x), lambda x: 2 * x),
    "x ** 2": (lambda x: x ** 2, lambda x: 2 * x),
    "np.abs(-x)": (lambda x: np.abs(-x), lambda x: np.ones(3)),
    "x.sum()": (lambda x: x.sum(), lambda x: np.ones(3)),
    "x.T @ A.T": (lambda x: x.T @ A.T, lambda x: A.sum(axis=0)),
    "np.ones_like(x) * x": (lambda x: np.ones_like(x) * x, lambda x: np.ones(3)),
}


@pytest.mark.parametrize("name", sorted(MIXED))
def test_plain_arrays_and_traced_values_mix(name):
    f, g = MIXED[name]
    got = nnopt.grad(lambda x: nnp.sum(f(x)))(X)
    np.testing.assert_allclose(got, g(X), rtol=1e-14, atol=1e-15)
    # the plain evaluation is unchanged, and both modes agree
    np.testing.assert_allclose(nnp.sum(f(X)), np.sum(f(X)))
    check_grads(f, (X,), order=1)


def test_results_of_plain_numpy_are_plain_arrays():
    out = nnp.tanh(A) @ X + 1.0
    assert type(out) is np.ndarray and out.dtype == np.float64
    assert type(nnp.sum(A)) in (np.float64, np.ndarray)


def test_tracer_shape_attributes():
    def f(x):
        assert x.shape == (3,) and x.ndim == 1 and x.size == 3 and len(x) == 3
        assert x.dtype == np.float64 and np.shape(x) == (3,) and np.ndim(x) == 1
        assert [xi.shape for xi in x] == [(), (), ()]  # iteration yields traced elements
        return nnp.sum(nnp.stack(list(x)) * 2)

    np.testing.assert_array_equal(nnopt.grad(f)(X), 2.0)


# --- hypothesis: binary ops with randomly broadcast shapes -------------------


@st.composite
def broadcast_pair(draw):
    """Two shapes that broadcast together (some axes 1, some missing)."""
    ndim = draw(st.integers(0, 3))
    base = draw(st.lists(st.integers(1, 3), min_size=ndim, max_size=ndim))
    shapes = []
    for _ in range(2):
        drop = draw(st.integers(0, ndim))
        s = [1 if draw(st.booleans()) else n for n in base[drop:]]
        shapes.append(tuple(s))
    return shapes


OPS = {
    "add": nnp.add,
    "multiply": nnp.multiply,
    "divide": nnp.divide,
    "power": nnp.power,
    "where": lambda a, b: nnp.where(a > 1.0, a, b),
    "logaddexp": nnp.logaddexp,
}


@settings(max_examples=25, deadline=None, derandomize=True)
@given(shapes=broadcast_pair(), op=st.sampled_from(sorted(OPS)), seed=st.integers(0, 2**16))
def test_broadcasting_derivatives(shapes, op, seed):
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.5, 1.5, shapes[0])
    b = rng.uniform(0.5, 1.5, shapes[1])
    f = OPS[op]
    assert f(a, b).shape == np.broadcast_shapes(a.shape, b.shape)
    if op == "where":
        a = np.where(np.abs(a - 1.0) < 0.05, 1.2, a)  # stay off the switch
    check_grads(f, (np.asarray(a), np.asarray(b)), order=2)
    ga, gb = nnopt.grad(lambda a, b: nnp.sum(f(a, b)), argnums=(0, 1))(a, b)
    assert ga.shape == np.shape(a) and gb.shape == np.shape(b)


@settings(max_examples=15, deadline=None, derandomize=True)
@given(
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    data=st.data(),
)
def test_reduction_axes_and_keepdims(shape, data):
    ndim = len(shape)
    axis = data.draw(
        st.one_of(
            st.none(),
            st.integers(-ndim, ndim - 1),
            st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(tuple),
        )
    )
    keepdims = data.draw(st.booleans())
    op = data.draw(st.sampled_from(["sum", "mean", "logsumexp", "var", "max"]))
    x = np.arange(np.prod(shape), dtype=np.float64).reshape(shape) * 0.37 % 1.3  # distinct values
    x = x + np.linspace(0, 0.01, x.size).reshape(shape)
    f = getattr(nnp, op)
    out = f(x, axis=axis, keepdims=keepdims)
    ref = {"logsumexp": None, "var": np.var, "max": np.max, "sum": np.sum, "mean": np.mean}[op]
    if ref is not None:
        np.testing.assert_allclose(out, ref(x, axis=axis, keepdims=keepdims), rtol=1e-13)
    check_grads(lambda x: f(x, axis=axis, keepdims=keepdims), (x,), order=2)
