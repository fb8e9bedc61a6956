"""JAX (CPU, ``jax.jit``) peer, written the way a JAX user would.

Everything is one jitted function of the per-layer parameters:
``jit(value_and_grad(loss))``; the HVP is forward-over-reverse
``jvp(grad(loss))``; the dense Hessian maps that HVP over the unit vectors
with ``lax.map(..., batch_size=256)`` (the fully vectorised ``jax.hessian``
needs several GB at this size); the neural form nests ``jvp`` in the input
inside ``grad`` in the weights; LeNet-5 uses ``lax.conv_general_dilated``.
The first call (trace + XLA compile) is timed separately.

Thread count: the suite sets ``XLA_FLAGS`` before JAX is imported
(``--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1`` for
one thread).
"""
from __future__ import annotations

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from . import Impl  # noqa: E402

NAME = "JAX jit"
HESSIAN_CHUNK = 256


def version():
    return jax.__version__


def set_threads(n):
    """Set through XLA_FLAGS by the suite before import."""


def _mlp(ps, X):
    L = len(ps) // 2
    h = X
    for i in range(L):
        h = h @ ps[2 * i] + ps[2 * i + 1]
        if i < L - 1:
            h = jnp.tanh(h)
    return h


def _loss(out, Y, loss):
    if loss == "mse":
        return jnp.mean((out - Y) ** 2)
    logp = jax.nn.log_softmax(out, axis=-1)
    return -jnp.mean(jnp.take_along_axis(logp, Y[:, None], axis=1))


def _pool2(h):
    N, C, H, W = h.shape
    return h.reshape(N, C, H // 2, 2, W // 2, 2).mean(axis=(3, 5))


def _conv(x, W, b, pad):
    y = jax.lax.conv_general_dilated(x, W, (1, 1), [(pad, pad), (pad, pad)],
                                     dimension_numbers=("NCHW", "OIHW", "NCHW"))
    return y + b[None, :, None, None]


def _lenet(ps, X):
    h = _pool2(jnp.tanh(_conv(X, ps[0], ps[1], 2)))
    h = _pool2(jnp.tanh(_conv(h, ps[2], ps[3], 0)))
    h = h.reshape(h.shape[0], -1)
    h = jnp.tanh(h @ ps[4] + ps[5])
    h = jnp.tanh(h @ ps[6] + ps[7])
    return h @ ps[8] + ps[9]


def _flat(arrays):
    return np.concatenate([np.asarray(a).ravel() for a in arrays])


def _impl(fn, args, convert):
    def run():
        return jax.block_until_ready(fn(*args))

    return Impl(run, convert, compiled=True)


def build(problem, **options):
    ps = [jnp.asarray(p) for p in problem.params]
    kind = problem.kind
    if kind in ("grad", "lenet", "hvp", "hessian", "lenet_hvp"):
        # data are arguments of the jitted function (not baked-in constants), as in a training loop
        X, Y = jnp.asarray(problem.X), jnp.asarray(problem.Y)
        model = _lenet if kind in ("lenet", "lenet_hvp") else _mlp

        def loss(ps, X, Y):
            return _loss(model(ps, X), Y, problem.loss)

        if kind in ("grad", "lenet"):
            vg = jax.jit(jax.value_and_grad(loss))
            return _impl(vg, (ps, X, Y), lambda out: {"value": float(out[0]), "grad": _flat(out[1])})
        if kind in ("hvp", "lenet_hvp"):
            V = [jnp.asarray(v) for v in problem.split(problem.V)]
            hvp = jax.jit(lambda ps, v, X, Y: jax.jvp(lambda q: jax.grad(loss)(q, X, Y), (ps,), (v,))[1])
            return _impl(hvp, (ps, V, X, Y), lambda out: {"hvp": _flat(out)})
        shapes = [p.shape for p in problem.params]
        sizes = [int(np.prod(s)) for s in shapes]

        def loss_flat(th, X, Y):
            parts, k = [], 0
            for s, n in zip(shapes, sizes):
                parts.append(th[k:k + n].reshape(s))
                k += n
            return loss(parts, X, Y)

        def hess(th, X, Y):
            g = lambda q: jax.grad(loss_flat)(q, X, Y)  # noqa: E731
            hvp = lambda v: jax.jvp(g, (th,), (v,))[1]  # noqa: E731
            return jax.lax.map(hvp, jnp.eye(th.shape[0], dtype=th.dtype), batch_size=HESSIAN_CHUNK)

        return _impl(jax.jit(hess), (jnp.asarray(problem.theta), X, Y), lambda out: {"hess": np.asarray(out)})
    if kind == "neural_form":
        ex = problem.extra
        T, c, k = ex["T"], ex["c"], ex["k"]

        def loss(ps, t):
            ones = jnp.ones_like(t)

            def u(tt):
                s = tt / T
                return 1 + s * s * _mlp(ps, ((tt - T / 2) * (2 / T))[:, None])[:, 0]

            def du(tt):
                return jax.jvp(u, (tt,), (ones,))

            (uu, d1), (_, d2) = jax.jvp(du, (t,), (ones,))
            r = d2 + c * d1 + k * uu
            return jnp.mean(r * r)

        vg = jax.jit(jax.value_and_grad(loss))
        return _impl(vg, (ps, jnp.asarray(problem.X)), lambda out: {"value": float(out[0]), "grad": _flat(out[1])})
    return None
