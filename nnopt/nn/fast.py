"""A compiled-path loss, gradient and Hessian-vector product for plain
stacks of dense layers.

For a :class:`~nnopt.nn.Sequential` made only of fused :class:`Dense`
layers (identity/tanh/sigmoid/relu) with the ``mse`` or ``cross_entropy``
loss, the loss and its gradient are computed layer by layer with the dense
kernels, with no per-operation tracing.  :class:`nnopt.Objective` chooses
it automatically for ``fun``/``jac``/``hessp``/``hess`` on plain arrays;
the test suite checks it against the general engine.  Derivatives nested
inside other transforms always use the general engine.

The Hessian-vector product is Pearlmutter's R-operator (Pearlmutter 1994,
"Fast exact multiplication by the Hessian"): a forward pass of directional
derivatives R{.} followed by the backward pass differentiated along the same
direction, for a whole block of K directions at once (batched matrix
products).

The dense Hessian (and any block of its columns: ``hvp`` recognises a block
of unit vectors) is assembled in closed form, layer block by layer block
(Bishop 1992, "Exact calculation of the Hessian matrix for the multilayer
perceptron"; the per-sample Hessian backpropagation of Dangel, Harmeling and
Hennig 2020, "Modular block-diagonal curvature approximations").  With the
input of layer j extended by a constant 1, abar_j = [a_(j-1), 1], so that
its weights and bias form one matrix Theta_j = [W_j; b_j] (the order of
theta), the gradient is dL/dTheta_j[r, s] = sum_n abar_j[n, r] delta_j[n, s]
with delta_j = dL/dz_j, and for layers i <= j

    d2L / dTheta_i[p, q] dTheta_j[r, s]
        = sum_n abar_i[n, p] ( JA_ji[n, q, r] delta_j[n, s]
                               + abar_j[n, r] D_ji[n, q, s] ),

    JA_ji = d abar_j / d z_i   (zero for i = j and in the bias column),
    D_ji  = d delta_j / d z_i = (d z_j / d z_i) Hz_j,
    Hz_j  = d2L / dz_j^2 = diag(act'_j) W_(j+1) Hz_(j+1) W_(j+1)^T diag(act'_j)
            + diag(dL/da_j * act''_j),

all per sample n (Hz_L from the loss's Hessian in the network output).  Each
block of columns is then one matrix product per layer over the samples.
"""
from __future__ import annotations

import threading
from typing import NamedTuple

import numba
import numpy as np

from .. import config, kernels
from ..autodiff.rules.dense import ACTIVATIONS
from ..kernels.blas_threads import parallel_region_safe, single_threaded_blas
from ..kernels.dense.reference import matmul as _matmul
from ..kernels.mlp import CODES as _ACT_CODES
from ..kernels.mlp import LOSSES as _LOSS_CODES
from ..kernels.mlp.reference import loss_and_cotangent
from .layers import Dense

__all__ = ["supports", "stack_plan", "StackPlan", "batch_chunks", "value_and_grad", "hvp", "hessian"]


def supports(net, loss_name):
    """True when ``net`` with ``loss_name`` can take the compiled path."""
    layers = getattr(net, "layers", None)
    if not layers or loss_name not in ("mse", "cross_entropy"):
        return False
    return all(
        type(layer) is Dense and layer.bias and layer.activation in ACTIVATIONS for layer in layers
    )


class StackPlan(NamedTuple):
    """What the whole-stack kernels (:mod:`nnopt.kernels.mlp`) need besides theta."""

    dims: np.ndarray   # layer widths, int64 (L + 1,)
    codes: np.ndarray  # activation codes, int64 (L,)
    loss: int          # loss code
    X: np.ndarray      # inputs, C-contiguous
    T: np.ndarray      # targets (mse) or one-hot labels (cross-entropy), C-contiguous
    work: np.ndarray   # scratch reused across calls (kernels.mlp workspace_size / chunk_workspace_size)
    lock: threading.Lock  # held while a call uses ``work``; a concurrent call allocates its own
    chunks: int = 1    # row blocks of the batch (batch_chunks)


_BLOCK_ROWS = 128
_BLOCK_WIDTH = 128


def batch_chunks(dims, n):
    """Row blocks the whole-stack kernels split a batch of n rows into: one
    Numba thread per block, each with its own partial gradient, summed in
    block order afterwards (so the numbers do not depend on the thread count).

    Blocks pay where BLAS threads do not: narrow layers over a long batch.
    For the MLP [10,50,50,50,1] at batch 1000 on 2 cores, 4 blocks took the
    loss and gradient from 1.5-1.7 ms (one call, BLAS on 2 threads) to
    0.83-1.0 ms and the HVP from 2.5-3.5 ms to 1.5-2.3 ms; at [784,256,256,10]
    (batch 256) blocks were no faster than 2 BLAS threads (measured).  So:
    blocks only where every layer is at most 128 wide, of at least 128 rows,
    a power of two of them (at most 8), and only while the partial results
    (``chunks`` times the parameter count) stay small next to the
    activations (n times the summed layer widths); one thread runs the
    blocks about as fast as the whole batch.
    """
    dims = [int(d) for d in dims]
    if max(dims) > _BLOCK_WIDTH:
        return 1
    P = sum((dims[l] + 1) * dims[l + 1] for l in range(len(dims) - 1))
    chunks = 1
    while 2 * chunks <= min(8, n // _BLOCK_ROWS):
        chunks *= 2
    while chunks > 1 and chunks * P > n * sum(dims[1:]):
        chunks //= 2
    return chunks


def stack_plan(net, loss_name, X, Y, onehot=None):
    """The :class:`StackPlan` of a supported dense stack on data (X, Y), or None
    where the whole-stack kernels do not apply (parameters not laid out layer by
    layer, targets of another shape or dtype, non-contiguous data)."""
    if not supports(net, loss_name):
        return None
    offset = 0
    for spec in net.layout.specs:  # W_1, b_1, W_2, ... back to back in theta
        if spec.slice.start != offset:
            return None
        offset = spec.slice.stop
    dims = np.array([net.layers[0].n_in] + [layer.n_out for layer in net.layers], dtype=np.int64)
    codes = np.array([_ACT_CODES[layer.activation] for layer in net.layers], dtype=np.int64)
    T = Y if loss_name == "mse" else onehot
    X = np.asarray(X)
    if (X.ndim != 2 or X.shape[1] != dims[0] or T is None or T.shape != (X.shape[0], dims[-1])
            or T.dtype != X.dtype or not (X.flags.c_contiguous and T.flags.c_contiguous)):
        return None
    from ..kernels.mlp import reference as _mlp_reference

    n = X.shape[0]
    chunks = batch_chunks(dims, n)
    size = (_mlp_reference.workspace_size(dims, n) if chunks == 1
            else _mlp_reference.chunk_workspace_size(dims, n, chunks))
    work = np.empty(size, dtype=X.dtype)
    return StackPlan(dims, codes, _LOSS_CODES[loss_name], X, T, work, threading.Lock(), chunks)


def _run(plan, kern, name, *args):
    """The kernel ``name`` (value_and_grad, hvp) of module ``kern`` on (*args, the plan's
    data) with the plan's workspace, or a fresh one while another thread holds it.
    A plan with row blocks runs them on Numba's threads (BLAS held to one thread
    meanwhile), or one after another in a concurrent call and in a thread
    other than the main one under Numba's "workqueue" threading layer, which
    must not be entered from two threads at once (``parallel_region_safe``)."""
    p = plan
    mine = p.lock.acquire(blocking=False)
    try:
        work = p.work if mine else None
        if p.chunks == 1:
            return getattr(kern, name)(*args, p.X, p.T, p.dims, p.codes, p.loss, work)
        chunked = getattr(kern, name + "_chunks")
        if mine and numba.get_num_threads() > 1 and parallel_region_safe():
            with single_threaded_blas():
                return chunked(*args, p.X, p.T, p.dims, p.codes, p.loss, p.chunks, work)
        return chunked(*args, p.X, p.T, p.dims, p.codes, p.loss, p.chunks, work, parallel=False)
    finally:
        if mine:
            p.lock.release()


def _stack_kernels(plan, theta):
    """The whole-stack kernel module for this call, or None (another backend, theta
    of another dtype or not contiguous)."""
    if plan is None or config.get("backend") != "numba":
        return None
    if theta.dtype != plan.X.dtype or not theta.flags.c_contiguous:
        return None
    return kernels.select("mlp")


def value_and_grad(net, loss_name, theta, X, Y, onehot=None, plan=False):
    """Loss and gradient of ``loss(net(theta, X), Y)`` by layer-wise backprop
    (one compiled call for the whole stack where :mod:`nnopt.kernels.mlp` applies).

    ``plan``: the :func:`stack_plan` of these arguments when the caller keeps
    it (None: it does not apply); by default it is made here."""
    if plan is False:
        plan = stack_plan(net, loss_name, X, Y, onehot)
    kern = _stack_kernels(plan, theta)
    if kern is not None:
        value, grad = _run(plan, kern, "value_and_grad", theta)
        return theta.dtype.type(value), grad
    kern = kernels.select("dense")
    specs = net.layout.specs
    Ws, bs = [], []
    for k in range(0, len(specs), 2):
        w, b = specs[k], specs[k + 1]
        Ws.append(theta[w.slice].reshape(w.shape))
        bs.append(theta[b.slice])
    acts = [X]
    a = X
    for layer, W, b in zip(net.layers, Ws, bs):
        a = kern.forward(a, W, b, layer.activation)
        acts.append(a)
    value, g, _ = loss_and_cotangent(a, Y if loss_name == "mse" else onehot, _LOSS_CODES[loss_name])
    grad = np.empty_like(theta)
    for i in range(len(Ws) - 1, -1, -1):
        gx, gW, gb = kern.backward(g, acts[i + 1], acts[i], Ws[i], net.layers[i].activation, i > 0)
        w, b = specs[2 * i], specs[2 * i + 1]
        grad[w.slice] = gW.ravel()
        grad[b.slice] = gb
        g = gx
    return value, grad


def _unpack(net, theta):
    """Per-layer W and b views of theta (P,) or of a block of vectors (K, P)."""
    specs = net.layout.specs
    Ws, bs = [], []
    for k in range(0, len(specs), 2):
        w, b = specs[k], specs[k + 1]
        Ws.append(theta[..., w.slice].reshape(theta.shape[:-1] + w.shape))
        bs.append(theta[..., b.slice])
    return Ws, bs


def _derivs(a, act):
    """(act'(z), act''(z)) written through the output a = act(z); None = 1 / 0."""
    if act == "tanh":
        d1 = 1 - a * a
        return d1, -2 * a * d1
    if act == "sigmoid":
        d1 = a * (1 - a)
        return d1, d1 * (1 - 2 * a)
    if act == "relu":
        return (a > 0).astype(a.dtype), None
    return None, None


def hvp(net, loss_name, theta, V, X, Y, onehot=None, plan=False):
    """H(theta) @ V of ``loss(net(theta, X), Y)`` for V of shape (P,) or (P, K).

    R-forward:  R{z_l} = R{a_(l-1)} W_l + a_(l-1) V_Wl + V_bl,  R{a_l} = act'(z_l) R{z_l};
    R-backward: R{delta_l} = R{g_l} act'(z_l) + g_l act''(z_l) R{z_l},
                R{g_(l-1)} = R{delta_l} W_l^T + delta_l V_Wl^T,
                H V |_W_l = R{a_(l-1)}^T delta_l + a_(l-1)^T R{delta_l},  H V |_b_l = sum R{delta_l};
    with R{g_L} = 2 R{a_L} / size (mse) or (diag(p) - p p^T) R{a_L} / n (cross-entropy).
    """
    single = V.ndim == 1
    if single and V.dtype == theta.dtype and V.flags.c_contiguous:
        if plan is False:
            plan = stack_plan(net, loss_name, X, Y, onehot)
        kern = _stack_kernels(plan, theta)
        if kern is not None:
            return _run(plan, kern, "hvp", theta, V)
    if not single:
        cols = _unit_columns(V)
        if cols is not None:  # columns of the identity: columns of the Hessian
            parts = _curvature_parts(net, loss_name, theta, X, Y, onehot)
            return _hessian_columns(parts, cols)
    Vk = V[None, :] if single else np.ascontiguousarray(V.T)  # (K, P)
    K = Vk.shape[0]
    Ws, bs = _unpack(net, theta)
    VWs, Vbs = _unpack(net, Vk)
    kern = kernels.select("dense")
    L = len(Ws)
    acts, Rzs, Racts = [X], [], [None]  # R{a_0} = R{X} = 0
    for i, layer in enumerate(net.layers):
        a_in = acts[-1]
        acts.append(kern.forward(a_in, Ws[i], bs[i], layer.activation))
        Rz = _matmul(a_in, VWs[i]) if i == 0 else _matmul(Racts[-1], Ws[i]) + _matmul(a_in, VWs[i])
        Rz += Vbs[i][:, None, :]
        d1, _ = _derivs(acts[-1], layer.activation)
        Rzs.append(Rz)
        Racts.append(Rz if d1 is None else Rz * d1)
    out, Rout = acts[-1], Racts[-1]
    if loss_name == "mse":
        g = (out - Y) * (2.0 / out.size)
        Rg = Rout * (2.0 / out.size)
    else:
        n = out.shape[0]
        e = np.exp(out - out.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
        g = (p - onehot) / n
        Rg = (p * Rout - p * np.sum(p * Rout, axis=-1, keepdims=True)) / n
    HV = np.empty((K, theta.size), dtype=theta.dtype)
    specs = net.layout.specs
    for i in range(L - 1, -1, -1):
        d1, d2 = _derivs(acts[i + 1], net.layers[i].activation)
        delta = g if d1 is None else g * d1
        Rdelta = Rg if d1 is None else Rg * d1
        if d2 is not None:
            Rdelta = Rdelta + (g * d2) * Rzs[i]
        a_in = acts[i]
        HW = a_in.T @ Rdelta
        if i > 0:
            HW = HW + np.swapaxes(Racts[i], 1, 2) @ delta
        w, b = specs[2 * i], specs[2 * i + 1]
        HV[:, w.slice] = HW.reshape(K, -1)
        HV[:, b.slice] = Rdelta.sum(axis=1)
        if i > 0:
            Rg = _matmul(Rdelta, Ws[i].T) + _matmul(delta, np.swapaxes(VWs[i], 1, 2))
            g = _matmul(delta, Ws[i].T)
    return HV[0] if single else HV.T


# ---------------------------------------------------------------------------
# the dense Hessian in closed form
# ---------------------------------------------------------------------------


def _unit_columns(V):
    """Row indices of the ones if every column of V is a unit vector, else None."""
    K = V.shape[1]
    if K == 0 or np.count_nonzero(V) != K:
        return None
    rows = np.argmax(V != 0, axis=0)
    if not np.all(V[rows, np.arange(K)] == 1):
        return None
    return rows


class _Parts:
    """Per-sample curvature quantities of one network at one theta (module
    docstring), computed on first use: ``abar[i]``, ``delta[i]``, ``Hz(j)``,
    ``JA(j, i)`` (i < j) and ``D(j, i)`` (i <= j)."""

    def __init__(self, net, loss_name, theta, X, Y, onehot):
        Ws, bs = _unpack(net, theta)
        kern = kernels.select("dense")
        dtype = theta.dtype
        acts = [X]
        for layer, W, b in zip(net.layers, Ws, bs):
            acts.append(kern.forward(acts[-1], W, b, layer.activation))
        n = X.shape[0]
        self.Ws = Ws
        self.derivs = []
        for i, layer in enumerate(net.layers):
            d1, d2 = _derivs(acts[i + 1], layer.activation)
            self.derivs.append((np.ones_like(acts[i + 1]) if d1 is None else d1, d2))
        out = acts[-1]
        if loss_name == "mse":
            g = (out - Y) * (2.0 / out.size)
            k = np.arange(out.shape[1])
            Ha = np.zeros((n, k.size, k.size), dtype=dtype)
            Ha[:, k, k] = 2.0 / out.size
        else:
            e = np.exp(out - out.max(axis=1, keepdims=True))
            p = e / e.sum(axis=1, keepdims=True)
            g = (p - onehot) / n
            Ha = -p[:, :, None] * p[:, None, :]
            k = np.arange(p.shape[1])
            Ha[:, k, k] += p
            Ha /= n
        L = len(Ws)
        self._Ha_top = Ha
        self.g = [None] * L  # dL/da_j
        self.delta = [None] * L  # dL/dz_j
        for j in range(L - 1, -1, -1):
            if j < L - 1:
                g = _matmul(self.delta[j + 1], Ws[j + 1].T)
            self.g[j] = g
            self.delta[j] = g * self.derivs[j][0]
        self.abar = [np.concatenate([a, np.ones((n, 1), dtype=dtype)], axis=1) for a in acts[:-1]]
        self._memo = {}
        specs = net.layout.specs
        self.rows = []
        for k in range(0, len(specs), 2):
            w, b = specs[k], specs[k + 1]
            rows = np.concatenate([np.arange(w.slice.start, w.slice.stop), np.arange(b.slice.start, b.slice.stop)])
            if not np.array_equal(rows, np.arange(rows[0], rows[0] + rows.size)):
                raise NotImplementedError("fast.hessian: a layer's W and b must be contiguous in theta")
            self.rows.append(rows)
        self.din = [W.shape[0] for W in Ws]
        self.dout = [W.shape[1] for W in Ws]
        self.P = theta.size
        self.dtype = dtype

    def _get(self, key, make):
        value = self._memo.get(key)
        if value is None:
            value = self._memo[key] = make()
        return value

    def Hz(self, j):
        """d2L/dz_j^2 per sample, (n, dout_j, dout_j)."""
        def make():
            if j == len(self.Ws) - 1:
                Ha = self._Ha_top
            else:
                # Ha = W Hz W^T per sample, as two single matrix products:
                # B = Hz W^T, then Ha = (W B)^T = B^T W^T (Ha is symmetric)
                W = self.Ws[j + 1]
                Hz = self.Hz(j + 1)
                n, d1 = Hz.shape[0], Hz.shape[1]
                B = _matmul(Hz.reshape(n * d1, d1), W.T).reshape(n, d1, W.shape[0])
                Bt = np.ascontiguousarray(B.transpose(0, 2, 1)).reshape(-1, d1)
                Ha = _matmul(Bt, W.T).reshape(n, W.shape[0], W.shape[0])
            d1, d2 = self.derivs[j]
            H = d1[:, :, None] * Ha * d1[:, None, :]
            if d2 is not None:
                k = np.arange(H.shape[1])
                H[:, k, k] += self.g[j] * d2
            return H
        return self._get(("Hz", j), make)

    def JA(self, j, i):
        """d abar_j / d z_i without the bias column, (n, dout_i, din_j), i < j - 1.

        For j = i + 1 it is diag(act'_i), never formed: see ``derivs``."""
        assert j > i + 1
        return self._get(("JA", j, i), lambda: self.Kz(j - 1, i) * self.derivs[j - 1][0][:, None, :])

    def Kz(self, j, i):
        """d z_j / d z_i, (n, dout_i, dout_j), i < j."""
        def make():
            if j == i + 1:  # diag(act'_i) W_j
                return self.derivs[i][0][:, :, None] * self.Ws[j]
            J = self.JA(j, i)
            n, di, dk = J.shape
            return _matmul(J.reshape(n * di, dk), self.Ws[j]).reshape(n, di, -1)
        return self._get(("Kz", j, i), make)

    def D(self, j, i):
        """d delta_j / d z_i = (d z_j / d z_i) Hz_j, (n, dout_i, dout_j), i <= j."""
        if i == j:
            return self.Hz(j)
        return self._get(("D", j, i), lambda: _matmul(self.Kz(j, i), self.Hz(j)))


def _curvature_parts(net, loss_name, theta, X, Y, onehot):
    return _Parts(net, loss_name, theta, X, Y, onehot)


def _slab(parts, j, r_lo, r_hi, out, row_layers, upper=False, s_lo=0, s_hi=None):
    """Columns (r, s), r_lo <= r < r_hi, s_lo <= s < s_hi (default: all s),
    of layer j's block column: out[rows_i, :] = H[rows_i, those columns] for
    the layers i in ``row_layers``.

    ``out`` has shape (P, (r_hi - r_lo) * (s_hi - s_lo)) and its rows follow
    theta.  With ``upper``, the diagonal block (i = j) gets only its rows
    p < r_hi (the rest follows by symmetry).  Each layer pair costs one or
    two matrix products over the samples n whose operands are small (outer
    products of activations, or of activations and deltas, against the
    per-sample D and JA); the result is written with one strided copy into
    the (p, q) x (r, s) layout of theta.
    """
    n = parts.abar[0].shape[0]
    if s_hi is None:
        s_hi = parts.dout[j]
    R, S = r_hi - r_lo, s_hi - s_lo
    a_r = parts.abar[j][:, r_lo:r_hi]  # (n, R)
    delta_j = parts.delta[j][:, s_lo:s_hi]
    for i in row_layers:
        din, di = parts.din[i], parts.dout[i]
        rows = parts.rows[i]
        p_hi = r_hi if upper and i == j else din + 1
        # a view (p, q, r, s) of the output block: theta's rows of layer i are contiguous
        O = out[rows[0]:rows[0] + p_hi * di].reshape(p_hi, di, R, S)
        if i <= j:
            # sum_n abar_i[n, p] abar_j[n, r] D_ji[n, q, s]
            M = (parts.abar[i][:, :p_hi, None] * a_r[:, None, :]).reshape(n, -1)
            D = parts.D(j, i)[:, :, s_lo:s_hi].reshape(n, -1)
            O[...] = _matmul(M.T, D).reshape(p_hi, R, di, S).transpose(0, 2, 1, 3)
            r_top = min(r_hi, parts.din[j])
            if i == j - 1 and r_top > r_lo:
                # + sum_n abar_i[n, p] act'_i[n, q] [q = r] delta_j[n, s]
                d1 = parts.derivs[i][0][:, r_lo:r_top]
                G = _matmul((parts.abar[i][:, :, None] * d1[:, None, :]).reshape(n, -1).T, delta_j)
                rr = np.arange(r_lo, r_top)
                O[:, rr, rr - r_lo, :] += G.reshape(din + 1, r_top - r_lo, S)
            elif i < j - 1 and r_top > r_lo:
                # + sum_n abar_i[n, p] JA_ji[n, q, r] delta_j[n, s]  (r < din_j)
                N = (parts.abar[i][:, :, None] * delta_j[:, None, :]).reshape(n, -1)
                JA = parts.JA(j, i)[:, :, r_lo:r_top].reshape(n, -1)
                T = _matmul(N.T, JA).reshape(din + 1, S, di, r_top - r_lo)
                O[:, :, :r_top - r_lo, :] += T.transpose(0, 2, 3, 1)
        else:
            # sum_n abar_i[n, p] abar_j[n, r] D_ij[n, s, q]
            M = (parts.abar[i][:, :, None] * a_r[:, None, :]).reshape(n, -1)
            D = parts.D(i, j)[:, s_lo:s_hi, :].reshape(n, -1)
            O[...] = _matmul(M.T, D).reshape(din + 1, R, S, di).transpose(0, 3, 1, 2)
            # + sum_n delta_i[n, q] abar_j[n, r] JA_ij[n, s, p]  (p < din_i)
            N = (parts.delta[i][:, :, None] * a_r[:, None, :]).reshape(n, -1)
            if i == j + 1:  # JA_ij = diag(act'_j): only p = s
                G = _matmul(N.T, parts.derivs[j][0][:, s_lo:s_hi]).reshape(di, R, S)
                ss = np.arange(s_lo, s_hi)
                O[ss, :, :, ss - s_lo] += G.transpose(2, 0, 1)
            else:
                T = _matmul(N.T, parts.JA(i, j)[:, s_lo:s_hi, :].reshape(n, -1)).reshape(di, R, S, din)
                O[:din] += T.transpose(3, 0, 1, 2)


def _hessian_columns(parts, cols):
    """H[:, cols] from the closed form (``cols``: parameter indices)."""
    L = len(parts.rows)
    H = np.empty((parts.P, cols.size), dtype=parts.dtype)
    where_layer = np.empty(parts.P, dtype=np.intp)
    where_rs = np.empty(parts.P, dtype=np.intp)
    for j, rows in enumerate(parts.rows):
        where_layer[rows] = j
        where_rs[rows] = np.arange(rows.size)
    for j in range(L):
        sel = np.flatnonzero(where_layer[cols] == j)
        if sel.size == 0:
            continue
        local = where_rs[cols[sel]]
        dj = parts.dout[j]
        if _is_range(sel) and _is_range(local):
            # a contiguous run of columns (as Objective.hess asks for): computed in
            # place, a partial row r of the (r, s) grid at either end on its own
            c0, l0, l1 = sel[0], local[0], local[-1] + 1
            pieces = []
            r0, r1 = -(-l0 // dj), l1 // dj  # whole rows r0 <= r < r1
            if r0 > r1:  # within one row
                pieces.append((l0 // dj, l0 // dj + 1, l0 % dj, l1 - (l0 // dj) * dj))
            else:
                if l0 < r0 * dj:
                    pieces.append((r0 - 1, r0, l0 % dj, dj))
                chunk = max(1, 512 // dj)
                for r in range(r0, r1, chunk):
                    pieces.append((r, min(r + chunk, r1), 0, dj))
                if r1 * dj < l1:
                    pieces.append((r1, r1 + 1, 0, l1 - r1 * dj))
            for r_lo, r_hi, s_lo, s_hi in pieces:
                start = c0 + r_lo * dj + s_lo - l0
                width = (r_hi - r_lo) * (s_hi - s_lo)
                _slab(parts, j, r_lo, r_hi, H[:, start:start + width], range(L), s_lo=s_lo, s_hi=s_hi)
            continue
        # any other set of columns: whole rows r, then the wanted columns
        r_all = np.unique(local // dj)
        chunk = max(1, 512 // dj)
        for c in range(0, r_all.size, chunk):
            r_lo, r_hi = r_all[c], r_all[min(c + chunk, r_all.size) - 1] + 1
            in_chunk = np.flatnonzero((local >= r_lo * dj) & (local < r_hi * dj))
            slab = np.empty((parts.P, (r_hi - r_lo) * dj), dtype=parts.dtype)
            _slab(parts, j, r_lo, r_hi, slab, range(L))
            H[:, sel[in_chunk]] = slab[:, local[in_chunk] - r_lo * dj]
    return H


def _is_range(idx):
    return idx.size > 0 and idx[-1] - idx[0] == idx.size - 1 and bool(np.all(np.diff(idx) == 1))


def hessian(net, loss_name, theta, X, Y, onehot=None):
    """The exact dense Hessian of ``loss(net(theta, X), Y)``, shape (P, P).

    Parameters
    ----------
    net : a plain dense stack (``supports(net, loss_name)``), e.g. an MLP
    loss_name : ``"mse"`` or ``"cross_entropy"``
    theta : (P,) float array; the computation runs in its dtype
    X, Y : data as :class:`nnopt.Objective` holds them (``Y`` of the
        network's output shape for ``mse``)
    onehot : (n, n_classes) one-hot labels, required for ``cross_entropy``

    Assembled in closed form (module docstring) block column by block
    column: the blocks on and above the block diagonal are computed, those
    below are their transposes, and the diagonal blocks are symmetrised, so
    the result is exactly symmetric.  The cost is about n P^2 multiply-adds
    in matrix products (n samples), against about 3 n P^2 for P
    Hessian-vector products, and with far larger products.

    Examples
    --------
    >>> import numpy as np, nnopt
    >>> from nnopt.nn import MLP, fast
    >>> X, Y = np.ones((4, 2)), np.zeros((4, 1))
    >>> net = MLP([2, 3, 1]); theta = net.init(seed=0)
    >>> H = fast.hessian(net, "mse", theta, X, Y)
    >>> bool(np.allclose(H, nnopt.hessian(nnopt.Objective(net, "mse", X, Y, fast=False))(theta)))
    True
    """
    if not supports(net, loss_name):
        raise ValueError(
            f"fast.hessian: needs a stack of Dense layers with bias and a fused activation "
            f"{ACTIVATIONS} and loss 'mse' or 'cross_entropy'; got {net!r} with loss {loss_name!r}"
        )
    theta = np.asarray(theta)
    if theta.shape != (net.n_params,) or theta.dtype.kind != "f":
        raise ValueError(
            f"fast.hessian: theta must be a float array of shape ({net.n_params},), "
            f"got {theta.dtype} {theta.shape}"
        )
    if loss_name == "cross_entropy" and onehot is None:
        raise ValueError("fast.hessian: cross_entropy needs the one-hot labels 'onehot'")
    parts = _curvature_parts(net, loss_name, theta, X, Y, onehot)
    P = theta.size
    H = np.empty((P, P), dtype=theta.dtype)
    L = len(parts.rows)
    for j in range(L):
        dj = parts.dout[j]
        cols = parts.rows[j]
        c0 = cols[0]
        chunk = max(1, 512 // dj)
        bounds = list(range(0, parts.din[j] + 1, chunk)) + [parts.din[j] + 1]
        for r_lo, r_hi in zip(bounds[:-1], bounds[1:]):
            out = H[:, c0 + r_lo * dj:c0 + r_hi * dj]
            _slab(parts, j, r_lo, r_hi, out, range(j + 1), upper=True)
        for i in range(j):  # blocks left of the diagonal: transposes
            ri = parts.rows[i]
            H[cols[0]:cols[-1] + 1, ri[0]:ri[-1] + 1] = H[ri[0]:ri[-1] + 1, cols[0]:cols[-1] + 1].T
        _mirror_upper(H[cols[0]:cols[-1] + 1, cols[0]:cols[-1] + 1], [b * dj for b in bounds])
    return H


def _mirror_upper(H, bounds):
    """Complete a symmetric H whose blocks (a, b), a <= b, of the partition
    ``bounds`` are computed: lower blocks are transposes, diagonal blocks
    are symmetrised, (A + A^T) / 2."""
    for a, (a0, a1) in enumerate(zip(bounds[:-1], bounds[1:])):
        A = H[a0:a1, a0:a1]
        S = (A + A.T) * 0.5
        A[...] = S
        for b0, b1 in zip(bounds[a + 1:-1], bounds[a + 2:]):
            H[b0:b1, a0:a1] = H[a0:a1, b0:b1].T
