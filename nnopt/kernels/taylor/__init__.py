"""Taylor-mode (jet) propagation through a dense layer, orders 0 to 2.

A *jet* of a batch of ``n`` points with ``w`` features is stored stream-major
as an array ``(S, n, w)``, ``S = 1 + order * D``: stream 0 holds the values,
streams ``1 .. D`` the first and streams ``D + 1 .. 2 D`` the second
normalised Taylor coefficients along ``D`` input directions ``v_q``::

    f(p + h v_q) = f_0 + f_{1,q} h + f_{2,q} h^2 + O(h^3),
    f_{1,q} = D_v f,  f_{2,q} = D_v^2 f / 2

(the layout of :mod:`nnopt.diffeq.jets`, with the stream axis first so that
each stream is one contiguous block: a layer's product is then one matrix
product ``(S n, a) @ (a, w)`` and the activation of stream 0 one vectorised
call).  Through ``a = act(y)``, with ``d = act'(y_0)``, ``e = act''(y_0)/2``::

    a_0 = act(y_0),   a_{1,q} = d y_{1,q},   a_{2,q} = d y_{2,q} + e y_{1,q}^2

and, for the reverse pass, with ``e' = act'''(y_0)/2``::

    ybar_0     = d abar_0 + sum_q [ 2 e (abar_{1,q} y_{1,q} + abar_{2,q} y_{2,q})
                                    + e' abar_{2,q} y_{1,q}^2 ]
    ybar_{1,q} = d abar_{1,q} + 2 e y_{1,q} abar_{2,q}
    ybar_{2,q} = d abar_{2,q}

``d, e, e'`` are polynomials in ``a_0`` (tanh: ``1 - a^2``, ``-a d``,
``d (3 a^2 - 1)``; sigmoid: ``a (1 - a)``, ``d (1 - 2a) / 2``,
``d (1 - 6a + 6a^2) / 2``; identity: 1, 0, 0).  This is Faa di Bruno's
formula truncated at order 2 (Griewank & Walther 2008, "Evaluating
Derivatives", 2nd ed., chapter 13, propagation of univariate Taylor
coefficients).

Signatures shared by ``reference.py`` (NumPy) and ``cpu.py`` (Numba).  The
layer functions validate their arguments and allocate their results:

``forward(X, W, b, act, order) -> (Y, A)``
    The layer ``a = act(x W + b)``: ``Y_s = X_s W`` (+ ``b`` on stream 0)
    and ``A`` the jet of ``act(Y)``; ``X`` (S, n, a), ``W`` (a, w), ``b`` (w,).
``backward(Abar, X, Y, A, W, act, order, need_gx=True) -> (gX, gW, gb)``
    ``gW = sum_s X_s^T Ybar_s``, ``gb = sum_i Ybar_0``, ``gX_s = Ybar_s W^T``
    (``gX`` is None when ``need_gx`` is false).

The step functions are what :mod:`nnopt.diffeq.compiled` calls: they write
into buffers the caller owns, validate nothing, and take the activation as
its code (:data:`CODES`: 0 identity, 1 tanh, 2 sigmoid); in ``cpu.py`` they
are the compiled functions themselves (no Python frame per call).  The 3-D
arrays are C-contiguous jets; ``X`` below is a layer input ``[x, 1_0]`` as a
matrix (S n, a + 1) whose last column is 1 on stream 0 and 0 elsewhere, so
that one product with ``Wb = [W; b]`` (a + 1, w) adds the bias:

``activation(y0, code, out)``
    ``out = act(y0)``, NumPy's vectorised ``tanh`` / SciPy's ``expit`` in both.
``jet_forward(Y, T, A, code, order)``
    ``A`` = the jet of ``act(Y)`` given ``T = act(Y[0])``; ``A`` may have
    more columns than ``Y`` (they are left alone).
``jet_backward(Abar, Y, T, Ybar, code, order)``
    The cotangent ``Ybar`` of ``Y`` from ``Abar`` (``Ybar`` must not share
    memory with ``Abar``).
``matmul_into(x, W, out)``
    ``out = x @ W`` for 2-D arrays (C or Fortran order).
``forward_step(Y, T, A, code, order, X_next, Wb_next, Y_next)``
    ``jet_forward``, then the next layer's product ``Y_next = X_next Wb_next``.
``backward_step(G, Y, T, H, code, order, X, gWb, W, WT, G_prev, need_gx)``
    ``H = jet_backward(G)`` (``H`` unused for the identity: ``G`` is its own
    cotangent), ``gWb = X^T H`` (weights and bias at once) and, when
    ``need_gx``, ``G_prev = H W^T`` (``WT`` (w, a) is scratch for ``W^T``).
``rows_outer(X, H, J, rows, col0)``
    Per-point weight gradients, ``J[rows[i], col0 + p w + q] +=
    sum_s X[s n + i, p] H[s, i, q]`` (``rows[i] < 0``: skipped).
``backward_rows_step(G, Y, T, H, code, order, X, W, WT, G_prev, need_gx, J, rows, col0)``
    ``backward_step`` with the weight gradient per point (``rows_outer``).
``affine_loss(Q, c0, Z, Zbar) -> loss``
    Residual rows ``r[o, i] = c0[o, i] + sum_{s,c} Q[o, s, i, c] Z[s, i, c]``
    (a linear equation written on the network's jet ``Z`` (S, n, m)); returns
    ``sum r^2`` and writes its cotangent ``Zbar = sum_o 2 r[o] Q[o]``.
``affine_rows(Q, Z, R)`` and ``affine_rows_vjp(Q, G, Zbar)``
    The two halves, for rows that draw on several jets: ``R += Q . Z`` and
    ``Zbar = sum_o G[o] Q[o]``.

``act`` is one of :data:`ACTIVATIONS`; ``order`` is 0, 1 or 2 and fixes
``D = (S - 1) / order``.
"""
from __future__ import annotations

from ... import config

__all__ = ["ACTIVATIONS", "CODES", "select"]

ACTIVATIONS = ("identity", "linear", "tanh", "sigmoid", "logistic")
CODES = {"identity": 0, "linear": 0, "tanh": 1, "sigmoid": 2, "logistic": 2}


def select():
    """The Taylor-mode kernels for the configured backend.

    ``"numpy"`` gives ``reference``, ``"numba"`` gives ``cpu``.  There is no
    CUDA version: under the ``"cuda"`` backend (whose arrays are host NumPy
    arrays at this level) the Numba CPU kernels run.
    """
    from . import cpu, reference

    return reference if config.get("backend") == "numpy" else cpu
