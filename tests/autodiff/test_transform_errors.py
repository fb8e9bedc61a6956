"""Bad input gets a clear error naming the argument, the expectation and what was given;
NumPy functions outside the differentiable subset refuse traced values."""
import math

import numpy as np
import pytest

import nnopt
import nnopt.numpy as nnp
from nnopt import UnsupportedOperationError

X = np.array([0.5, 1.0, 1.5])


def _sum(x):
    return nnp.sum(x * x)


@pytest.mark.parametrize(
    "bad, kind",
    [
        (np.arange(3), "integer dtype int64"),
        (np.ones(3, dtype=np.int32), "integer dtype int32"),
        (np.ones(3, dtype=complex), "complex dtype complex128"),
        (np.ones(3, dtype=bool), "boolean dtype bool"),
        (3, "integer 3"),
        (True, "bool"),
    ],
)
def test_grad_refuses_non_real_floating_inputs(bad, kind):
    with pytest.raises(TypeError, match=r"grad: argument 0: expected a real floating-point array") as info:
        nnopt.grad(_sum)(bad)
    assert kind in str(info.value)


def test_every_transform_names_the_bad_input():
    ints = np.arange(3)
    with pytest.raises(TypeError, match=r"jvp: primals\[0\].*integer"):
        nnopt.jvp(_sum, (ints,), (X,))
    with pytest.raises(TypeError, match=r"jvp: tangents\[0\].*integer"):
        nnopt.jvp(_sum, (X,), (ints,))
    with pytest.raises(TypeError, match=r"vjp: primals\[1\].*complex"):
        nnopt.vjp(lambda a, b: a * b, X, X.astype(complex))
    with pytest.raises(TypeError, match=r"jacobian: argument 0.*integer"):
        nnopt.jacobian(nnp.sin)(ints)
    with pytest.raises(TypeError, match=r"grad: argument 1.*integer"):
        nnopt.grad(lambda a, b: nnp.sum(a * b), argnums=1)(X, ints)
    with pytest.raises(TypeError, match=r"jvp: primals\[0\].*integer"):
        nnopt.hvp(_sum, ints, X)


def test_grad_refuses_non_scalar_outputs():
    with pytest.raises(TypeError, match=r"grad: f must return a scalar \(shape \(\)\), got shape \(3,\)"):
        nnopt.grad(lambda x: x * 2)(X)
    with pytest.raises(TypeError, match="got a tuple"):
        nnopt.grad(lambda x: (nnp.sum(x), nnp.sum(x)))(X)
    with pytest.raises(TypeError, match="floating-point scalar, got dtype"):
        nnopt.grad(lambda x: nnp.sum(x > 1))(X)
    with pytest.raises(TypeError, match=r"got shape \(3,\)"):
        nnopt.hessian(lambda x: x)(X)


def test_shape_and_count_mismatches():
    with pytest.raises(ValueError, match=r"tangents\[0\] has shape \(4,\), primals\[0\] has shape \(3,\)"):
        nnopt.jvp(_sum, (X,), (np.ones(4),))
    with pytest.raises(TypeError, match=r"tangents\[0\] has dtype float32, primals\[0\] has dtype float64"):
        nnopt.jvp(_sum, (X,), (np.ones(3, np.float32),))
    with pytest.raises(ValueError, match="1 primals but 2 tangents"):
        nnopt.jvp(_sum, (X,), (X, X))
    with pytest.raises(TypeError, match="tuples"):
        nnopt.jvp(_sum, X, X)
    _, pullback = nnopt.vjp(lambda x: x * 2, X)
    with pytest.raises(ValueError, match=r"cotangent 0 has shape \(4,\), the output has shape \(3,\)"):
        pullback(np.ones(4))
    with pytest.raises(ValueError, match="tangents"):
        nnopt.hvp(_sum, X, np.ones(4))
    with pytest.raises(ValueError, match="argnums=2 but the function was given 1 arguments"):
        nnopt.grad(_sum, argnums=2)(X)
    with pytest.raises(ValueError, match="broadcast"):  # NumPy's own message
        nnopt.grad(lambda x: nnp.sum(x + np.ones(4)))(X)
    with pytest.raises(ValueError, match="mismatch in its core dimension"):
        nnopt.grad(lambda x: nnp.sum(np.ones((2, 4)) @ x))(X)
    with pytest.raises(ValueError, match="mode must be"):
        nnopt.jacobian(nnp.sin, mode="sideways")(X)
    for t in (nnopt.grad, nnopt.value_and_grad):
        with pytest.raises(TypeError, match="f must be callable"):
            t("not a function")(X)


@pytest.mark.parametrize(
    "fn, name",
    [
        (lambda z: np.linalg.inv(nnp.reshape(z, (3, 1)) * z), "numpy.linalg.inv"),
        (lambda z: np.sort(z), "numpy.sort"),
        (lambda z: np.cumsum(z), "numpy.cumsum"),
        (lambda z: np.linalg.norm(z), "numpy.linalg.norm"),
        (lambda z: np.floor(z), "numpy.floor"),
        (lambda z: np.arctan2(z, z), "numpy.arctan2"),
        (lambda z: np.isfinite(z) * z, "numpy.isfinite"),
        (lambda z: np.add.reduce(z), "numpy.add.reduce"),
        (lambda z: np.diff(z), "numpy.diff"),
        (lambda z: np.prod(z), "numpy.prod"),
    ],
)
@pytest.mark.parametrize("transform", ["grad", "jvp", "hvp"])
def test_numpy_functions_outside_the_subset_refuse_traced_values(fn, name, transform):
    def f(x):
        return nnp.sum(fn(x))

    with pytest.raises(UnsupportedOperationError) as info:
        if transform == "grad":
            nnopt.grad(f)(X)
        elif transform == "jvp":
            nnopt.jvp(f, (X,), (X,))
        else:
            nnopt.hvp(f, X, X)
    assert name in str(info.value)
    assert isinstance(info.value, TypeError)  # catchable as a TypeError too


def test_out_argument_is_refused():
    with pytest.raises(UnsupportedOperationError, match="out="):
        nnopt.grad(lambda z: nnp.sum(np.exp(z, out=np.empty(3))))(X)


@pytest.mark.parametrize("convert", [np.asarray, np.array, lambda z: np.asarray(z, dtype=np.float64)])
def test_converting_a_traced_value_to_ndarray_is_refused(convert):
    with pytest.raises(UnsupportedOperationError, match="converted to a plain NumPy array"):
        nnopt.grad(lambda z: nnp.sum(convert(z)))(X)
    with pytest.raises(UnsupportedOperationError):
        nnopt.jvp(lambda z: convert(z), (X,), (X,))


@pytest.mark.parametrize("convert", [float, int, complex, math.exp])
def test_python_number_of_a_traced_value_is_refused(convert):
    with pytest.raises(TypeError, match="would drop its derivative"):
        nnopt.grad(lambda z: convert(nnp.sum(z)))(X)


def test_in_place_assignment_is_refused():
    def f(z):
        z[0] = 1.0
        return nnp.sum(z)

    with pytest.raises(TypeError, match="in-place assignment"):
        nnopt.grad(f)(X)

    def g(z):  # storing a traced value into a plain array
        a = np.zeros(3)
        a[:] = z
        return nnp.sum(a)

    with pytest.raises(UnsupportedOperationError, match="converted to a plain NumPy array"):
        nnopt.grad(g)(X)


def test_traced_indices_and_repeated_einsum_indices_are_refused():
    with pytest.raises(IndexError):
        nnopt.grad(lambda z: nnp.sum(z[z]))(X)
    with pytest.raises(NotImplementedError, match="repeated index"):
        nnopt.grad(lambda z: nnp.einsum("ii->", nnp.outer(z, z)))(X)
    with pytest.raises(NotImplementedError, match="ord"):
        nnopt.grad(lambda z: nnp.norm(z, ord=1))(X)


def test_outside_transforms_plain_numpy_still_works():
    # the refusals are about traced values only
    assert np.sort(X)[0] == 0.5
    assert np.asarray(nnp.exp(X)).dtype == np.float64
