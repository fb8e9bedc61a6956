"""Derivatives of a network with respect to its inputs: Taylor mode.

A neural form needs, at every collocation point, the network's value and its
partial derivatives with respect to the input up to the order of the
equation (and one more for Neumann constructions).  This module computes
them for a whole batch of points at once by propagating *univariate Taylor
series* through the network (forward, or Taylor, mode):

    N(p + h v) = z_0 + z_1 h + z_2 h^2 + ... + z_K h^K + O(h^{K+1}),

one series per direction ``v`` and point ``p``, with normalised coefficients
``z_k = D_v^k N(p) / k!``.  Mixed partial derivatives of order ``k`` are
recovered exactly from ``z_k`` along the directions ``v = i`` for all
multi-indices ``|i| = K`` (Griewank, Utke & Walther 2000, "Evaluating higher
derivative tensors by forward propagation of univariate Taylor series",
Math. Comp. 69, 1117-1130); see :class:`JetBasis`.

Through a dense layer ``a = act(x W + b)`` the coefficients propagate as::

    y_0 = x_0 W + b,   y_k = x_k W                         (k >= 1)
    a_k = sum_{j=1}^{k} act^(j)(y_0) / j! * [(y - y_0)^j]_k  (Faa di Bruno)

where ``[s^j]_k`` is the k-th coefficient of the j-th power of the series.
For tanh, sigmoid and sin the derivatives ``act^(j)`` are polynomials in the
activation itself (``tanh' = 1 - tanh^2`` ...); other activations get them
from nested :func:`nnopt.jvp`.

:func:`mlp_jets` is written with :mod:`nnopt.numpy`, so it runs on plain
arrays (float32, float64, mpmath objects) and is differentiable with respect
to the weights by the transforms.  :func:`mlp_jets_vjp` is its reverse pass
written directly in NumPy (the compiled path of :mod:`nnopt.diffeq`): given
cotangents of the output coefficients it returns either the gradient or, for
the Levenberg-Marquardt method, the per-point gradients (rows of the
Jacobian) in one sweep -- every point is its own Taylor series, so the
per-point weight gradients are outer products ``x_k^T ybar_k`` per point
(Goodfellow 2015, "Efficient per-example gradient computations").  Tests
check it against the transforms.  :func:`generic_jets` gives the same
coefficients for any network through nested :func:`nnopt.jvp`.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

import nnopt.numpy as nnp

from ..autodiff import jvp
from ..autodiff.core import getval
from ..nn import activations as _activations
from ..nn.layers import Dense

__all__ = [
    "JetBasis",
    "activation_derivatives",
    "mlp_supported",
    "mlp_jets",
    "mlp_jets_vjp",
    "generic_jets",
    "multi_indices",
]


# ---------------------------------------------------------------------------
# multi-indices and the direction basis
# ---------------------------------------------------------------------------


def multi_indices(d, order):
    """All multi-indices ``alpha`` in ``d`` variables with ``|alpha| <= order``,
    graded (by total order, then lexicographically from the first variable)."""
    out = []
    for k in range(order + 1):
        level = [a for a in itertools.product(range(k, -1, -1), repeat=d) if sum(a) == k]
        out.extend(sorted(level, reverse=True))
    return out


class JetBasis:
    """Directions and the linear map from Taylor coefficients to partials.

    For ``d`` input variables and derivative order ``K`` the directions are
    the multi-indices ``v`` with ``|v| = K`` read as vectors (one direction
    ``v = 1`` when ``d = 1``).  A *jet* is an array ``Z`` of shape
    ``(n, S, m)`` with ``S = 1 + K * D`` streams: stream 0 holds the value,
    stream ``1 + (k - 1) D + j`` the normalised coefficient ``z_k`` along
    direction ``j``.  Since ``z_k(v) = sum_{|a|=k} v^a / a! * d^a N``, the
    partials of order ``k`` follow by a (consistent, full column rank) least
    squares solve, precomputed as the matrix :attr:`to_partials` of shape
    ``(len(alphas), S)``.

    Attributes
    ----------
    d, order : int
    directions : ndarray (D, d)
    alphas : list of tuple
        The multi-indices of the partials, graded (see :func:`multi_indices`).
    index : dict
        Multi-index -> row of :attr:`to_partials`.
    to_partials : ndarray (len(alphas), S)
    """

    def __init__(self, d, order):
        if d < 1 or order < 0:
            raise ValueError(f"JetBasis: need d >= 1 and order >= 0, got d={d}, order={order}")
        self.d, self.order = int(d), int(order)
        if order == 0:
            dirs = np.zeros((0, d))
        elif d == 1:
            dirs = np.ones((1, 1))
        else:
            dirs = np.array([a for a in multi_indices(d, order) if sum(a) == order], dtype=float)
            dirs /= order  # unit coordinate sum: coefficients of comparable size
        self.directions = dirs
        D = len(dirs)
        self.n_directions = D
        self.n_streams = 1 + order * D
        self.alphas = multi_indices(d, order)
        self.index = {a: i for i, a in enumerate(self.alphas)}
        M = np.zeros((len(self.alphas), self.n_streams))
        M[0, 0] = 1.0
        for k in range(1, order + 1):
            level = [a for a in self.alphas if sum(a) == k]
            # V[j, a] = v_j^a / a!
            V = np.array(
                [[np.prod([v[i] ** a[i] / math.factorial(a[i]) for i in range(d)]) for a in level] for v in dirs]
            )
            if np.linalg.matrix_rank(V) < len(level):  # pragma: no cover - mathematical guarantee
                raise RuntimeError(f"JetBasis: directions do not determine the order-{k} partials")
            R = np.linalg.pinv(V)
            cols = slice(1 + (k - 1) * D, 1 + k * D)
            for r, a in enumerate(level):
                M[self.index[a], cols] = R[r]
        self.to_partials = M

    def input_streams(self, X, shift, scale):
        """The input jet ``(n, S, d)`` of the points ``X`` (n, d) after the
        affine map ``xi = (X - shift) * scale`` that the network sees
        (plain arrays: points are data, never differentiated)."""
        X = np.asarray(X)
        n, dtype = X.shape[0], X.dtype
        if dtype != object:
            shift, scale = np.asarray(shift, dtype=dtype), np.asarray(scale, dtype=dtype)
        Z = np.zeros((n, self.n_streams, self.d), dtype=dtype)
        if dtype == object:
            Z[...] = X[:, :1, None] * 0  # exact zeros of the object kind
        Z[:, 0, :] = (X - shift) * scale
        if self.order > 0:
            Z[:, 1:1 + self.n_directions, :] = np.asarray(self.directions * scale)
        return Z

    def partials(self, Z):
        """Partials ``(n, len(alphas), m)`` from a jet ``Z`` (n, S, m)."""
        return _apply_streams(self.to_partials.astype(_dtype(Z)), Z)

    def __repr__(self):
        return f"JetBasis(d={self.d}, order={self.order}, {self.n_streams} streams)"


def _apply_streams(M, Z):
    """``out[n, a, m] = sum_s M[a, s] Z[n, s, m]`` for arrays or tracers."""
    if _is_traced(Z):
        return nnp.einsum("as,nsm->nam", M, Z)
    return np.matmul(M, Z)


def _is_traced(x):
    from ..autodiff.core import Tracer

    return isinstance(x, Tracer)


def _dtype(x):
    v = getval(x)
    return v.dtype if hasattr(v, "dtype") else np.result_type(v)


# ---------------------------------------------------------------------------
# activations: derivatives of every order
# ---------------------------------------------------------------------------


def _poly_chain(order, dp):
    """Coefficients (lowest first) of the polynomials ``P_j`` with
    ``act^(j)(y) = P_j(act(y))`` when ``act' = dp(act)`` (a polynomial)."""
    P = [np.array([0.0, 1.0])]
    for _ in range(order):
        der = np.polynomial.polynomial.polyder(P[-1])
        P.append(np.polynomial.polynomial.polymul(der, dp))
    return P


_POLY_CACHE = {}


def _polys(kind, order):
    """Coefficient lists (highest degree first, Python floats) of ``P_1..P_order``."""
    key = (kind, order)
    if key not in _POLY_CACHE:
        dp = {"tanh": np.array([1.0, 0.0, -1.0]), "sigmoid": np.array([0.0, 1.0, -1.0])}[kind]
        _POLY_CACHE[key] = [
            [float(c) for c in np.trim_zeros(P, "b")[::-1]] for P in _poly_chain(order, dp)
        ]
    return _POLY_CACHE[key]


def _horner(coeffs, a):
    """Evaluate a polynomial (coefficients highest degree first) at ``a``."""
    if not coeffs:
        return a * 0
    if len(coeffs) == 1:
        return a * 0 + coeffs[0]
    out = a * coeffs[0] + coeffs[1]
    for c in coeffs[2:]:
        out = out * a
        if c != 0.0:
            out = out + c
    return out


def activation_derivatives(activation, y, order):
    """``[act(y), act'(y), ..., act^(order)(y)]`` element-wise.

    ``activation`` is a name known to :mod:`nnopt.nn.activations` or a
    callable written with :mod:`nnopt.numpy`.  tanh, sigmoid, softplus and
    sin use closed forms; others use nested forward mode (``jvp`` with unit
    tangents, valid because activations act element-wise).
    """
    name, fn = _activations.get(activation)
    if name in ("identity", "linear"):
        return [y] + [y * 0 + 1.0] * (order >= 1) + [y * 0] * max(order - 1, 0)
    if name in ("tanh", "sigmoid", "logistic"):
        kind = "tanh" if name == "tanh" else "sigmoid"
        a = nnp.tanh(y) if kind == "tanh" else nnp.sigmoid(y)
        P = _polys(kind, order)
        return [a] + [_horner(P[j], a) for j in range(1, order + 1)]
    if name == "softplus":
        out = [nnp.softplus(y)]
        if order >= 1:
            s = nnp.sigmoid(y)
            P = _polys("sigmoid", order - 1)
            out += [s] + [_horner(P[j], s) for j in range(1, order)]
        return out
    if name == "sin":
        s, c = nnp.sin(y), nnp.cos(y)
        cyc = [s, c, -s, -c]
        return [cyc[j % 4] for j in range(order + 1)]
    # generic: nested forward mode through the element-wise function
    out = [fn(y)]
    f = fn
    for _ in range(order):
        f = _derivative_fn(f, y)
        out.append(f(y))
    return out


def _derivative_fn(f, like):
    def df(z):
        ones = np.ones(np.shape(getval(z)), dtype=_dtype(z))
        return jvp(f, (z,), (ones,))[1]

    return df


# ---------------------------------------------------------------------------
# the forward Taylor sweep through a stack of dense layers
# ---------------------------------------------------------------------------


def mlp_supported(net):
    """True when ``net`` is a stack of biased :class:`~nnopt.nn.Dense` layers
    (any element-wise activation), which :func:`mlp_jets` handles."""
    layers = getattr(net, "layers", None)
    return bool(layers) and all(type(layer) is Dense and layer.bias for layer in layers)


def _weights(net, theta):
    specs = net.layout.specs
    out = []
    for k in range(0, len(specs), 2):
        w, b = specs[k], specs[k + 1]
        out.append((nnp.reshape(theta[w.slice], w.shape), theta[b.slice], w, b))
    return out


def _series_powers(ys, K):
    """``P[j][k]`` = k-th coefficient of (sum_{m>=1} y_m h^m)^j for 1 <= j <= k <= K."""
    P = {1: {k: ys[k] for k in range(1, K + 1)}}
    for j in range(2, K + 1):
        P[j] = {}
        for k in range(j, K + 1):
            acc = None
            for m in range(1, k - j + 2):
                term = ys[m] * P[j - 1][k - m]
                acc = term if acc is None else acc + term
            P[j][k] = acc
    return P


def _act_coefficients(activation, y0, order):
    """``[act(y0), act'(y0)/1!, ..., act^(order)(y0)/order!]``: the Taylor
    coefficients of the activation at ``y0`` (closed forms for tanh up to
    order 3, the case of second-order equations)."""
    if activation == "tanh" and order <= 3:
        a = nnp.tanh(y0)
        s = 1.0 - a * a                              # first derivative, 1 - a^2
        out = [a, s]
        if order >= 2:
            out.append(-(a * s))                     # second derivative / 2 = -a (1 - a^2)
        if order >= 3:
            out.append(s * (a * a - 1.0 / 3.0))      # third derivative / 6 = (1 - a^2)(a^2 - 1/3)
        return out[: order + 1]
    derivs = activation_derivatives(activation, y0, order)
    return [derivs[0]] + [derivs[j] / float(math.factorial(j)) for j in range(1, order + 1)]


def _act_taylor(activation, ys, K, record):
    """Taylor coefficients of act(y) from those of y (list ys[0..K])."""
    c = _act_coefficients(activation, ys[0], K + (1 if record is not None else 0))
    P = _series_powers(ys, K)
    out = [c[0]]
    for k in range(1, K + 1):
        acc = None
        for j in range(1, k + 1):
            term = c[j] * P[j][k]
            acc = term if acc is None else acc + term
        out.append(acc)
    if record is not None:
        record.update(c=c, P=P, ys=ys)
    return out


def mlp_jets(net, theta, X, basis, shift=0.0, scale=1.0, tape=None):
    """Taylor jet ``(n, S, n_out)`` of ``net(theta, (X - shift) * scale)``.

    Parameters
    ----------
    net : nnopt.nn.Sequential
        A stack of biased Dense layers (see :func:`mlp_supported`).
    theta : array (n_params,)
        Weights; may be a tracer (the sweep is written with nnopt.numpy).
    X : array (n, d)
        Points.
    basis : JetBasis
        Directions and order.
    shift, scale : float or array (d,)
        The affine input map; derivatives are with respect to ``X``.
    tape : list, optional
        When a list is given (plain arrays only), the intermediate values
        needed by :func:`mlp_jets_vjp` are appended to it.

    Returns
    -------
    Z : array (n, S, n_out)
        Stream 0: the value; stream ``1 + (k-1) D + j``: ``D_{v_j}^k N / k!``.
    """
    K, D = basis.order, basis.n_directions
    n = np.shape(getval(X))[0]
    # plain arrays take NumPy directly (the same operations, no dispatch)
    xp = np if isinstance(theta, np.ndarray) and theta.dtype != object else nnp
    Z = basis.input_streams(X, shift, scale)
    for layer, (W, b, _, _) in zip(net.layers, _weights(net, theta)):
        S, a = np.shape(getval(Z))[1], np.shape(getval(W))[0]
        Y = (Z.reshape(n * S, a) @ W).reshape(n, S, -1)
        y0 = Y[:, 0:1, :] + b
        record = {} if tape is not None else None
        ys = [y0] + [Y[:, 1 + (k - 1) * D: 1 + k * D, :] for k in range(1, K + 1)]
        if layer.activation in ("identity", "linear"):
            outs = ys
            if record is not None:
                record.update(c=None, P=None, ys=ys)
        else:
            outs = _act_taylor(layer.activation, ys, K, record)
        if tape is not None:
            record.update(x=Z, W=W, activation=layer.activation)
            tape.append(record)
        Z = outs[0] if K == 0 else xp.concatenate(outs, axis=1)
    return Z


def mlp_jets_vjp(net, tape, Zbar, per_row=True, out=None):
    """Reverse sweep of :func:`mlp_jets` (plain NumPy).

    Parameters
    ----------
    net : nnopt.nn.Sequential
    tape : list
        Filled by ``mlp_jets(..., tape=tape)``.
    Zbar : ndarray (n, S, n_out)
        Cotangent of the output jet.
    per_row : bool
        True: return the per-point gradients, an array ``(n, n_params)``
        whose row ``i`` is ``d <Zbar[i], Z[i]> / d theta`` (rows of a
        Jacobian when each point's cotangent selects one residual).  False:
        return their sum, the gradient ``(n_params,)``.
    out : ndarray, optional
        Buffer for the result.
    """
    specs = net.layout.specs
    n, S, _ = Zbar.shape
    dtype = Zbar.dtype
    if out is None:
        out = np.empty((n, net.n_params) if per_row else (net.n_params,), dtype=dtype)
    G = Zbar
    L = len(tape)
    for li in range(L - 1, -1, -1):
        rec = tape[li]
        Ybar = _act_taylor_vjp(rec, G)  # (n, S, n_out_layer)
        x, W = rec["x"], rec["W"]
        wspec, bspec = specs[2 * li], specs[2 * li + 1]
        if per_row:
            Jw = out[:, wspec.slice].reshape(n, *wspec.shape)
            assert np.shares_memory(Jw, out)  # a view, written in place
            np.matmul(np.swapaxes(x, 1, 2), Ybar, out=Jw)
            out[:, bspec.slice] = Ybar[:, 0, :]
        else:
            a = x.shape[2]
            out[wspec.slice] = (x.reshape(-1, a).T @ Ybar.reshape(-1, Ybar.shape[2])).ravel()
            out[bspec.slice] = Ybar[:, 0, :].sum(axis=0)
        if li > 0:
            G = (Ybar.reshape(-1, Ybar.shape[2]) @ W.T).reshape(n, S, -1)
    return out


def _act_taylor_vjp(rec, Abar):
    """Cotangent of the layer's pre-activation jet from that of its output."""
    ys, c, P = rec["ys"], rec["c"], rec["P"]
    if c is None:  # identity
        return Abar
    K = len(ys) - 1
    n, S, w = Abar.shape
    if K == 0:
        return Abar * c[1]
    D = (S - 1) // K
    ab = [Abar[:, 0:1, :]] + [Abar[:, 1 + (k - 1) * D: 1 + k * D, :] for k in range(1, K + 1)]
    Ybar = np.empty_like(Abar)
    # ybar_0 = abar_0 act'(y0) + sum_D sum_k abar_k sum_j (j+1) c_{j+1} P_j[k]
    y0bar = ab[0] * c[1]
    acc = None
    for k in range(1, K + 1):
        inner = None
        for j in range(1, k + 1):
            term = (j + 1) * c[j + 1] * P[j][k]
            inner = term if inner is None else inner + term
        t = ab[k] * inner
        acc = t if acc is None else acc + t
    y0bar = y0bar + acc.sum(axis=1, keepdims=True)
    Ybar[:, 0:1, :] = y0bar
    # ybar_m = sum_{k>=m} abar_k sum_{j=1}^{k-m+1} j c_j P_{j-1}[k-m]
    for m in range(1, K + 1):
        acc = None
        for k in range(m, K + 1):
            inner = None
            for j in range(1, k - m + 2):
                if j == 1:
                    if k - m != 0:
                        continue
                    term = c[1]
                else:
                    if k - m < j - 1:
                        continue
                    term = j * c[j] * P[j - 1][k - m]
                inner = term if inner is None else inner + term
            if inner is None:
                continue
            t = ab[k] * inner
            acc = t if acc is None else acc + t
        Ybar[:, 1 + (m - 1) * D: 1 + m * D, :] = acc
    return Ybar


# ---------------------------------------------------------------------------
# any network: nested forward mode
# ---------------------------------------------------------------------------


def generic_jets(fn, X, basis):
    """Taylor jet ``(n, S, m)`` of ``fn(X)`` by nested :func:`nnopt.jvp`.

    ``fn`` maps points ``(n, d)`` to values ``(n,)`` or ``(n, m)`` and must
    act point by point.  Along each direction ``v`` the k-th derivative is
    ``k`` nested jvps with the tangent ``v`` on every point (``2^k`` passes:
    the reference and fallback, not the fast path).
    """
    K, D = basis.order, basis.n_directions
    dtype = _dtype(X)
    n = np.shape(getval(X))[0]

    def as2(v):
        return nnp.reshape(v, (n, -1)) if len(np.shape(getval(v))) == 1 else v

    value = as2(fn(X))
    streams = [nnp.reshape(value, (n, 1, -1))]
    per_order = [[None] * D for _ in range(K)]
    for j in range(D):
        v = np.broadcast_to(basis.directions[j].astype(dtype), np.shape(getval(X))).copy()
        f = fn
        for k in range(1, K + 1):
            f = _nest(f, v)
            per_order[k - 1][j] = as2(f(X)) / float(math.factorial(k))
    for k in range(K):
        for j in range(D):
            streams.append(nnp.reshape(per_order[k][j], (n, 1, -1)))
    return nnp.concatenate(streams, axis=1) if len(streams) > 1 else streams[0]


def _nest(f, v):
    def df(x):
        return jvp(f, (x,), (v,))[1]

    return df
