"""Products: matmul and einsum with their derivative rules.

Both are bilinear, so each JVP is the product with one factor replaced by its
tangent, and each VJP a product of the cotangent with the other factor(s).
"""
from __future__ import annotations

import string

import numpy as np

from ...kernels.dense import reference as _dense_kernels
from ..core import BinaryPrimitive, Primitive, shape_of
from .elementwise import multiply, unbroadcast
from .shape import broadcast_to, reshape, swapaxes

__all__ = ["matmul", "einsum"]


_shape = shape_of


def _matmul_impl(a, b):
    if type(a) is np.ndarray and type(b) is np.ndarray:
        return _dense_kernels.matmul(a, b)  # outer products without NumPy's slow loop
    return np.matmul(a, b)


matmul = BinaryPrimitive("matmul", _matmul_impl)


def _matmul_vjp_a(g, ans, a, b):
    sa, sb = _shape(a), _shape(b)
    if len(sa) == 1 and len(sb) == 1:
        return multiply(g, b)
    if len(sb) == 1:  # (..., n, k) @ (k,) -> (..., n)
        return unbroadcast(multiply(reshape(g, _shape(g) + (1,)), b), sa)
    if len(sa) == 1:  # (k,) @ (..., k, m) -> (..., m)
        gb = matmul(b, reshape(g, _shape(g) + (1,)))
        return unbroadcast(reshape(gb, _shape(gb)[:-1]), sa)
    return unbroadcast(matmul(g, swapaxes(b, -1, -2)), sa)


def _matmul_vjp_b(g, ans, a, b):
    sa, sb = _shape(a), _shape(b)
    if len(sa) == 1 and len(sb) == 1:
        return multiply(g, a)
    if len(sa) == 1:  # (k,) @ (..., k, m): outer products
        gg = reshape(g, _shape(g)[:-1] + (1,) + _shape(g)[-1:])
        return unbroadcast(multiply(reshape(a, sa + (1,)), gg), sb)
    if len(sb) == 1:  # (..., n, k) @ (k,)
        ga = matmul(swapaxes(a, -1, -2), reshape(g, _shape(g) + (1,)))
        return unbroadcast(reshape(ga, _shape(ga)[:-1]), sb)
    return unbroadcast(matmul(swapaxes(a, -1, -2), g), sb)


matmul.defvjp(_matmul_vjp_a, _matmul_vjp_b)
matmul.defjvp(
    lambda t, ans, a, b: matmul(t, b),
    lambda t, ans, a, b: matmul(a, t),
)


# ---------------------------------------------------------------------------
# einsum
# ---------------------------------------------------------------------------


def parse_subscripts(subscripts, shapes):
    """Explicit-form subscripts: (list of input terms, output term).

    Ellipses are replaced by fresh letters; implicit outputs follow NumPy
    (letters that occur once, in alphabetical order).
    """
    subscripts = subscripts.replace(" ", "")
    if "->" in subscripts:
        lhs, out = subscripts.split("->")
    else:
        lhs, out = subscripts, None
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(
            f"einsum: {len(terms)} terms in the subscripts but {len(shapes)} operands"
        )
    used = set(subscripts)
    spare = [c for c in string.ascii_letters if c not in used]
    ell_letters = None
    new_terms = []
    for term, shape in zip(terms, shapes):
        if "..." in term:
            n_ell = len(shape) - (len(term) - 3)
            if ell_letters is None or len(ell_letters) < n_ell:
                ell_letters = spare[: max(n_ell, len(ell_letters or ""))]
            term = term.replace("...", "".join(ell_letters[len(ell_letters) - n_ell:]))
        if len(term) != len(shape):
            raise ValueError(f"einsum: term '{term}' does not match operand shape {shape}")
        new_terms.append(term)
    if out is None:
        counts = {}
        for term in new_terms:
            for c in term:
                counts[c] = counts.get(c, 0) + 1
        ell = "".join(ell_letters or "")
        out = ell + "".join(sorted(c for c, k in counts.items() if k == 1 and c not in ell))
    elif "..." in out:
        out = out.replace("...", "".join(ell_letters or ""))
    return new_terms, out


_BLAS_EINSUM_SIZE = 4096
"""Two float operands, the larger with at least this many elements: NumPy's
``optimize=True`` (which hands a contraction that is a matrix product to
BLAS through ``tensordot``) instead of its plain loops.  The plain loops
took half the time of a LeNet-5 Hessian-vector product (the convolution's
second-order rules are einsums over the patch tensor): 0.57 of 1.14 s for
three products; below a few thousand elements the path search costs more
than it saves."""


def _einsum_impl(subscripts, *operands):
    optimize = len(operands) > 2 or (
        all(getattr(o, "dtype", None) is not None and o.dtype.kind == "f" for o in operands)
        and max(o.size for o in operands) >= _BLAS_EINSUM_SIZE
    )
    return np.einsum(subscripts, *operands, optimize=optimize)


_einsum = Primitive("einsum", _einsum_impl)


def _einsum_vjp(g, ans, subscripts, *operands, argnums=()):
    terms, out = parse_subscripts(subscripts, [_shape(o) for o in operands])
    results = []
    for i in argnums:
        k = i - 1  # argument 0 is the subscripts string
        target = terms[k]
        if len(set(target)) != len(target):
            raise NotImplementedError(
                "einsum: derivative of an operand with a repeated index "
                f"('{target}') is not supported; take the diagonal explicitly"
            )
        others = [terms[j] for j in range(len(terms)) if j != k]
        available = set(out).union(*others) if others else set(out)
        reduced = "".join(c for c in target if c in available)
        spec = ",".join([out] + others) + "->" + reduced
        ops = [g] + [operands[j] for j in range(len(operands)) if j != k]
        ct = _einsum(spec, *ops)
        shape = _shape(operands[k])
        if reduced != target:  # letters summed away in the forward pass
            kept = tuple(shape[p] if c in available else 1 for p, c in enumerate(target))
            ct = broadcast_to(reshape(ct, kept), shape)
        results.append(ct)
    return results


def _einsum_jvp(tangents, ans, subscripts, *operands):
    total = None
    for k, t in enumerate(tangents[1:]):
        if t is None:
            continue
        ops = list(operands)
        ops[k] = t
        term = _einsum(subscripts, *ops)
        total = term if total is None else total + term
    return total


_einsum.defvjp_all(_einsum_vjp)
_einsum.defjvp_all(_einsum_jvp)


def einsum(subscripts, *operands):
    """Differentiable ``numpy.einsum`` (explicit or implicit form, ellipses).

    The derivative of an operand whose term repeats an index (``'ii->i'``)
    is not supported and raises ``NotImplementedError``.
    """
    if not isinstance(subscripts, str):
        raise TypeError("einsum: the first argument must be a subscripts string")
    terms, out = parse_subscripts(subscripts, [_shape(o) for o in operands])
    return _einsum(",".join(terms) + "->" + out, *operands)
