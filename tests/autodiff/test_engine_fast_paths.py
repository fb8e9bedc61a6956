"""The engine's fast paths keep its semantics: graphs are freed without the
cyclic garbage collector, the unary/binary call paths dispatch like the
generic one, and outer products are computed bit for bit as np.matmul."""
import gc
import weakref

import numpy as np
import pytest

import nnopt
import nnopt.numpy as nnp
from nnopt.autodiff.core import BinaryPrimitive, Primitive, UnaryPrimitive
from nnopt.autodiff.rules.elementwise import cos, multiply, sin
from nnopt.autodiff.rules.linalg import matmul
from nnopt.kernels.dense import reference


def _recording_sin(log):
    """sin whose outputs are watched through weak references."""

    def impl(x):
        out = np.sin(x)
        log.append(weakref.ref(out))
        return out

    p = UnaryPrimitive("watched_sin", impl)
    p.defvjp(lambda g, ans, x: multiply(g, cos(x)))
    p.defjvp(lambda t, ans, x: multiply(t, cos(x)))
    return p


@pytest.mark.parametrize("transform", ["grad", "vjp", "hvp", "jacobian"])
def test_recorded_graph_is_freed_by_reference_counting(transform):
    log = []
    wsin = _recording_sin(log)

    def f(x):
        y = x
        for _ in range(5):
            y = wsin(y)
        return nnp.sum(y * y)

    x = np.linspace(0.1, 0.9, 7)
    gc.collect()
    gc.disable()
    try:
        if transform == "grad":
            g = nnopt.grad(f)(x)
        elif transform == "vjp":
            out, pullback = nnopt.vjp(f, x)
            g = pullback(np.float64(1.0))[0]
            del out, pullback
        elif transform == "hvp":
            g = nnopt.hvp(f, x, np.ones_like(x))
        else:
            g = nnopt.jacobian(lambda z: wsin(wsin(z)))(x)
        assert log and all(ref() is None for ref in log)  # no reference cycles keep them
    finally:
        gc.enable()
    assert np.all(np.isfinite(g))


def _generic_twins():
    """Generic-Primitive copies of sin and multiply with the same rules."""
    gsin = Primitive("generic_sin", np.sin)
    gmul = Primitive("generic_multiply", np.multiply)
    gsin.defvjp(lambda g, ans, x: gmul(g, cos(x)))
    gsin.defjvp(lambda t, ans, x: gmul(t, cos(x)))
    gmul.defvjp(lambda g, ans, x, y: gmul(g, y), lambda g, ans, x, y: gmul(g, x))
    gmul.defjvp(lambda t, ans, x, y: gmul(t, y), lambda t, ans, x, y: gmul(x, t))
    return gsin, gmul


def test_unary_and_binary_call_paths_match_the_generic_path():
    assert isinstance(sin, UnaryPrimitive) and isinstance(multiply, BinaryPrimitive)
    gsin, gmul = _generic_twins()

    def f(s, m):  # the outer variable enters at the inner level and vice versa
        def g(x, y):
            return nnp.sum(s(m(x, y)) * m(y, y))

        return g

    x = np.array([0.3, -0.7, 1.1])
    y = np.array([0.5, 0.2, -0.4])
    for fast_s, fast_m, slow_s, slow_m in [(sin, multiply, gsin, gmul)]:
        fa, sl = f(fast_s, fast_m), f(slow_s, slow_m)
        # mixed levels: y traced by the outer grad, x by the inner one
        outer = lambda fn: nnopt.grad(lambda yy: nnp.sum(nnopt.grad(fn, 0)(x, yy) ** 2))(y)  # noqa: E731
        np.testing.assert_array_equal(outer(fa), outer(sl))
        np.testing.assert_array_equal(nnopt.hessian(lambda z: fa(z, y))(x), nnopt.hessian(lambda z: sl(z, y))(x))
        np.testing.assert_array_equal(
            nnopt.jvp(nnopt.grad(lambda z: fa(z, y)), (x,), (y,))[1],
            nnopt.jvp(nnopt.grad(lambda z: sl(z, y)), (x,), (y,))[1],
        )


def test_nondiff_binary_primitives_strip_tracers():
    def f(x):
        mask = nnp.greater(x, 0.0)  # a comparison of a tracer: a plain boolean array
        assert type(mask) is np.ndarray and mask.dtype == bool
        return nnp.sum(nnp.where(mask, x * x, -x))

    x = np.array([-1.0, 0.5, 2.0])
    np.testing.assert_array_equal(nnopt.grad(f)(x), np.where(x > 0, 2 * x, -1.0))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("a_shape, b_shape", [((5, 1), (1, 4)), ((3, 6, 1), (1, 2)), ((0, 1), (1, 3)), ((2, 1), (1, 0))])
def test_outer_product_matmul_is_bit_identical(a_shape, b_shape, dtype):
    rng = np.random.default_rng(0)
    a = rng.normal(size=a_shape).astype(dtype)
    b = rng.normal(size=b_shape).astype(dtype)
    if a.size:
        a.flat[0] = -0.0  # signed zeros: NumPy's loop gives +0 for 0 * x
        a.flat[-1] = 0.0
    if b.size:
        b.flat[0] = -2.5
    expected = np.matmul(a, b)
    for got in (reference.matmul(a, b), matmul(a, b)):
        assert got.dtype == expected.dtype and got.shape == expected.shape
        assert got.tobytes() == expected.tobytes()


def test_docs_speed_code_blocks_run():
    import pathlib
    import re

    text = (pathlib.Path(__file__).resolve().parents[2] / "docs" / "speed.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 3
    exec(compile("\n".join(blocks), "docs/speed.md", "exec"), {"__name__": "docs_speed"})  # noqa: S102
