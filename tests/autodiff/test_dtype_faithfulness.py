"""dtype faithfulness: float32 stays float32 (and float64 float64) through
every primitive and every transform, with no temporaries of the other dtype."""
import importlib
import pkgutil

import numpy as np
import pytest

import nnopt
import nnopt.numpy as nnp
from nnopt.autodiff.core import Primitive
import nnopt.autodiff.rules
from nnopt.autodiff.rules.dense import dense
from nnopt.autodiff.rules.shape import block

RULE_MODULES = [m.name for m in pkgutil.iter_modules(nnopt.autodiff.rules.__path__)]


def _all_primitives():
    prims = {}
    for m in RULE_MODULES:
        mod = importlib.import_module(f"nnopt.autodiff.rules.{m}")
        for v in vars(mod).values():
            if isinstance(v, Primitive):
                prims[id(v)] = v
    return list(prims.values())


@pytest.fixture
def dtype_log(monkeypatch):
    """Record the dtype of every floating array any primitive produces."""
    log = []
    for p in _all_primitives():
        impl = p.impl

        def recorded(*args, _impl=impl, _name=p.name, **params):
            out = _impl(*args, **params)
            dt = getattr(out, "dtype", None)
            if dt is not None and dt.kind == "f":
                log.append((_name, dt))
            elif dt is not None:
                log.append((_name, None))  # comparisons: seen, no float dtype
            return out

        monkeypatch.setattr(p, "impl", recorded)
    return log


def _u(shape, dtype, lo=0.3, hi=1.4, seed=0):
    return np.random.default_rng(seed).uniform(lo, hi, shape).astype(dtype)


# f(x, y) with x of shape (3, 4) and y of shape (4,); values in (0.3, 1.4)
CASES = {
    "arith": lambda x, y: (x + y) * (x - 1.0) / (y + 2) - 3 * x ** 2 + 2.0 ** y + x ** y
    - nnp.stop_gradient(x) * x,
    "exp_log": lambda x, y: nnp.exp(x) + nnp.log(x) + nnp.log1p(y) + nnp.expm1(x) + nnp.sqrt(x),
    "trig": lambda x, y: nnp.sin(x) * nnp.cos(y) + nnp.tan(x) + nnp.arctan(x) + nnp.sinh(y) * nnp.cosh(x),
    "activations": lambda x, y: nnp.tanh(x) + nnp.sigmoid(x) + nnp.softplus(x) + nnp.relu(x - 0.8)
    + nnp.elu(x - 0.8) + nnp.gelu(x) + nnp.erf(y),
    "nonsmooth": lambda x, y: nnp.abs(x - 0.8) + nnp.maximum(x, y) + nnp.minimum(x, 0.7)
    + nnp.clip(x, 0.5, 1.0) + nnp.where(x > 0.8, x, 0.0) + nnp.sign(x - 0.8) * x,
    "reductions": lambda x, y: nnp.sum(x, axis=0) + nnp.mean(x, axis=0) + nnp.max(x, axis=0)
    + nnp.min(x, axis=0, keepdims=True) + nnp.var(x, axis=0) + nnp.std(x, axis=0) + nnp.norm(x, axis=0)
    + nnp.logsumexp(x, axis=0),
    "casts_and_comparisons": lambda x, y: nnp.astype(x, x.dtype) * nnp.where(nnp.less(x, 0.8), x, y)
    + nnp.where((x <= 0.9) & (x >= 0.5) & nnp.not_equal(x, 0.7) & ~nnp.equal(x, 0.6), x, 1.0),
    "softmax": lambda x, y: nnp.softmax(x, axis=0) + nnp.log_softmax(x) + nnp.logaddexp(x, y),
    "linalg": lambda x, y: x @ y + nnp.einsum("ij,j->i", x, y) + nnp.dot(x, y) + nnp.sum(nnp.outer(y, y)),
    "shapes": lambda x, y: nnp.concatenate([x, y[None]], axis=0)[1:].T.reshape(-1)
    + nnp.stack([y, y, y]).ravel() + nnp.sin(x[np.array([0, 2, 2])]).ravel()
    + nnp.broadcast_to(y, (3, 4)).ravel()
    + nnp.moveaxis(block(x.ravel(), 0, 12, (2, 3, 2)), 0, 2).ravel() + nnp.squeeze(x[:, :1]).sum(),
    "dense": lambda x, y: dense(x, x.T @ x, y, act="tanh") + dense(x, x.T @ x, y, act="relu"),
}

DTYPES = [np.float32, np.float64]


def _scalar(f):
    return lambda x, y: nnp.sum(f(x, y))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", sorted(CASES))
def test_every_transform_keeps_the_dtype(name, dtype, dtype_log):
    f = CASES[name]
    dtype = np.dtype(dtype)
    x, y = _u((3, 4), dtype), _u((4,), dtype, seed=1)
    s = _scalar(f)

    out = f(x, y)
    assert out.dtype == dtype
    value, (gx, gy) = nnopt.value_and_grad(s, argnums=(0, 1))(x, y)
    assert value.dtype == dtype and gx.dtype == dtype and gy.dtype == dtype
    out_j, t = nnopt.jvp(f, (x, y), (np.ones_like(x), np.ones_like(y)))
    assert out_j.dtype == dtype and t.dtype == dtype
    _, pullback = nnopt.vjp(f, x, y)
    assert all(c.dtype == dtype for c in pullback(np.ones_like(out)))
    assert nnopt.hvp(lambda x: s(x, y), x, np.ones_like(x)).dtype == dtype
    assert nnopt.hessian(lambda y: s(x, y))(y).dtype == dtype
    assert nnopt.jacobian(lambda y: f(x, y))(y).dtype == dtype
    assert nnopt.jacobian(lambda y: f(x, y), mode="fwd")(y).dtype == dtype
    assert nnopt.grad(lambda y: nnp.sum(nnopt.grad(lambda x: s(x, y))(x) ** 2))(y).dtype == dtype

    # no temporary of another floating dtype was created anywhere
    others = sorted({n for n, dt in dtype_log if dt is not None and dt != dtype})
    assert not others, f"{dtype} run produced other-dtype temporaries in {others}"
    assert dtype_log  # the recorder did see the computation


def test_the_cases_cover_every_primitive(dtype_log):
    x, y = _u((3, 4), np.float32), _u((4,), np.float32, seed=1)
    for f in CASES.values():
        nnopt.hvp(lambda x: _scalar(f)(x, y), x, np.ones_like(x))
    seen = {name for name, _ in dtype_log}
    missing = sorted({p.name for p in _all_primitives()} - seen)
    assert not missing, f"add these primitives to CASES: {missing}"


def test_recorder_sees_a_float64_temporary(dtype_log):
    # the check above can fail: an explicit float64 constant promotes
    x = _u((3,), np.float32)
    nnopt.grad(lambda x: nnp.sum(x * np.float64(2.0)))(x)
    assert any(dt == np.float64 for _, dt in dtype_log)


@pytest.mark.parametrize(
    "f",
    [
        lambda x: x * 2.0,
        lambda x: 2.0 * x,
        lambda x: x + 1,
        lambda x: 1 - x,
        lambda x: x / 3.0,
        lambda x: 3.0 / x,
        lambda x: x ** 2.5,
        lambda x: 2.0 ** x,
        lambda x: nnp.maximum(x, 0.5),
        lambda x: nnp.where(x > 0.8, x, 0.0),
        lambda x: nnp.clip(x, 0.5, 1.0),
        lambda x: nnp.elu(x - 0.8, alpha=0.5),
        lambda x: nnp.mean(x) * x,
        lambda x: nnp.var(x, ddof=1) + x,
    ],
)
def test_python_scalars_do_not_promote(f, dtype_log):
    x = _u((5,), np.float32)
    assert f(x).dtype == np.float32
    assert nnopt.grad(lambda x: nnp.sum(f(x)))(x).dtype == np.float32
    assert nnopt.hvp(lambda x: nnp.sum(f(x)), x, np.ones_like(x)).dtype == np.float32
    assert all(dt in (None, np.float32) for _, dt in dtype_log)


def test_scalar_inputs_keep_their_dtype():
    for dtype in (np.float32, np.float64):
        x = dtype(0.7)
        d3 = nnopt.grad(nnopt.grad(nnopt.grad(nnp.tanh)))(x)
        assert d3.dtype == dtype
        assert nnopt.grad(lambda x: x * x)(x).dtype == dtype


def test_explicit_mixing_follows_numpy_and_gradients_match_inputs():
    # mixing is an explicit choice: a float64 array promotes (NumPy rules),
    # and each gradient comes back in its own input's dtype
    x32 = _u((3,), np.float32)
    c64 = _u((3,), np.float64)
    assert (x32 * c64).dtype == np.float64
    g32, g64 = nnopt.grad(lambda a, b: nnp.sum(a * b), argnums=(0, 1))(x32, c64)
    assert g32.dtype == np.float32 and g64.dtype == np.float64
    np.testing.assert_allclose(g32, c64.astype(np.float32))
    # an explicit cast is differentiable and its derivative casts back
    g = nnopt.grad(lambda a: nnp.sum(nnp.astype(a, np.float64) ** 2))(x32)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, 2 * x32, rtol=1e-7)
