"""The compiled path of :class:`~nnopt.diffeq.ResidualSystem`: loss, gradient, Jacobian.

For the common case -- a stack of biased :class:`~nnopt.nn.Dense` layers
with tanh, sigmoid or identity activations, input jets of order <= 2 (the
value and the first and second derivatives along the basis directions) and
an affine form -- the loss and its gradient are a fixed sequence of array
operations on buffers allocated once, with the jets stored stream-major
(:mod:`nnopt.kernels.taylor`):

1. forward, per group of points sharing a :class:`~nnopt.diffeq.JetBasis`,
   per layer: one BLAS product for all ``S`` streams and the bias at once,
   ``Y = [X, 1_0] [W; b]`` -- the layer input carries a constant column, 1 on
   stream 0 and 0 on the derivative streams, and ``[W; b]`` is the layer's
   slice of ``theta`` itself (the layout stores ``b`` after ``W``), so no
   copy is made; then NumPy's vectorised ``tanh`` of stream 0 and one Numba
   kernel for the other streams (Faa di Bruno to order 2);
2. the head: a *linear* residual is affine in the network's jet ``Z``, so
   each weighted residual row is
   ``r[o, i] = c0[o, i] + sum_{s, c} Q[o, s, i, c] Z[s, i, c]`` with ``Q``
   (the form's map composed with the residual's constant partial derivatives
   and the row scaling) and ``c0`` (the scaled residual at the form's
   particular part) computed once at set-up; one kernel returns
   ``sum r^2`` and the jet's cotangent ``2 r Q``.  A nonlinear residual gets
   its partials from one reverse pass of the user's function
   (``nnopt.vjp``), as on the NumPy path;
3. backward, per layer: one Numba kernel for the activation's reverse step
   and two BLAS products, ``[gW; gb] = [X, 1_0]^T Ybar`` written straight into
   the gradient vector and ``Xbar = Ybar W^T``.

When every block is linear, the residual vector and its Jacobian (the
calls of Levenberg-Marquardt) take the same forward sweep and a reverse
sweep per residual component in which every point's weight gradient is kept
(outer products ``[X, 1_0]_i^T Ybar_i``, one row of ``J`` per residual).

The whole call is a fixed list of (kernel, arguments) pairs built at set-up:
``theta`` is copied into a buffer of our own, on which every weight view was
made once, and nothing is validated per call beyond
:meth:`CompiledPath.accepts` (a plain vector of the system's dtype and
length).  The buffers make a system unsafe to share between threads.
:meth:`ResidualSystem.check` chooses the path; tests compare it with the
NumPy Taylor path and the general engine.
"""
from __future__ import annotations

import numpy as np
import scipy.special

import nnopt.numpy as nnp

from ..autodiff import vjp
from ..kernels import taylor as _taylor
from ..nn.layers import Dense

__all__ = ["CompiledPath", "unsupported_reason"]


def unsupported_reason(system):
    """Why ``system`` cannot take the compiled path (None when it can)."""
    if not system.affine:
        return "the form is not affine"
    layers = getattr(system.net, "layers", None)
    if not layers:
        return "the network is not a stack of layers"
    specs = system.net.layout.specs
    for i, layer in enumerate(layers):
        if type(layer) is not Dense or not layer.bias:
            return f"layer {layer!r} is not a biased Dense layer"
        if layer.activation not in _taylor.CODES:
            return f"activation {layer.activation!r} (compiled: {', '.join(_taylor.ACTIVATIONS)})"
        if specs[2 * i].slice.stop != specs[2 * i + 1].slice.start:
            return "the parameter layout does not store each bias right after its weights"
    if system.dtype not in (np.float32, np.float64):
        return f"dtype {system.dtype}"
    for basis, *_ in system.groups:
        if basis.order > 2:
            return f"input derivatives of order {basis.order} (compiled: up to 2)"
    return None


def _augmented(S, N, w, dtype):
    """A jet buffer (S, N, w + 1) whose last column is 1 on stream 0, else 0."""
    buf = np.zeros((S, N, w + 1), dtype=dtype)
    buf[0, :, w] = 1
    return buf


_UFUNCS = {1: np.tanh, 2: scipy.special.expit}


class _Group:
    """The buffers of one group of points (one jet basis), and their views."""

    def __init__(self, basis, X, shift, scale, shapes, codes, dtype):
        self.order = basis.order
        self.S = S = basis.n_streams
        self.N = N = X.shape[0]
        SN = S * N
        L = len(shapes)
        Z0 = basis.input_streams(np.asarray(X, dtype=dtype), shift, scale)     # (N, S, d)
        X0 = _augmented(S, N, basis.d, dtype)
        X0[:, :, :basis.d] = np.swapaxes(Z0, 0, 1)
        self.Xa = [X0.reshape(SN, basis.d + 1)]     # layer inputs [X, 1_0] as (S N, a + 1)
        self.Y, self.Y2, self.T, self.A, self.G, self.G2, self.H = [], [], [], [], [], [], []
        for li, ((a, w), code) in enumerate(zip(shapes, codes)):
            Y = np.empty((S, N, w), dtype=dtype)
            self.Y.append(Y)
            self.Y2.append(Y.reshape(SN, w))
            self.T.append(np.empty((N, w), dtype=dtype) if code else Y[0])
            if li < L - 1:
                Aa = _augmented(S, N, w, dtype)     # the jet kernel writes columns :w
                self.Xa.append(Aa.reshape(SN, w + 1))
                self.A.append(Aa)
            else:
                self.A.append(np.empty_like(Y) if code else Y)
            G = np.empty_like(Y)                     # cotangent of the layer's output
            self.G.append(G)
            self.G2.append(G.reshape(SN, w))
            self.H.append(np.empty_like(Y) if code else G)   # cotangent of its pre-activation
        self.Y0 = [Y[0] for Y in self.Y]
        # the layer below's output cotangent (a dummy for the first layer, which has none)
        self.G_prev = [self.G2[li - 1] if li else np.empty((0, 0), dtype=dtype) for li in range(L)]


class CompiledPath:
    """Loss, gradient, residual and Jacobian of a checked :class:`ResidualSystem` (see the module docstring)."""

    def __init__(self, system):
        reason = unsupported_reason(system)
        if reason is not None:
            raise ValueError(f"ResidualSystem: no compiled path: {reason}")
        self.system = system
        self.dtype = dt = system.dtype
        self.kern = _taylor.select()
        net = system.net
        specs = net.layout.specs
        self.n_params = net.n_params
        self.codes = [_taylor.CODES[layer.activation] for layer in net.layers]
        self.ufuncs = [_UFUNCS.get(c) for c in self.codes]
        wspecs = [specs[2 * i] for i in range(len(net.layers))]
        bspecs = [specs[2 * i + 1] for i in range(len(net.layers))]
        self.shapes = [s.shape for s in wspecs]
        self.slices = [slice(w.slice.start, b.slice.stop) for w, b in zip(wspecs, bspecs)]
        self.groups = [
            _Group(basis, X, system.shift, system.scale, self.shapes, self.codes, dt)
            for basis, X, _, _ in system.groups
        ]
        # W^T scratch per layer (the backward product runs on a contiguous copy: see kernels.taylor.cpu)
        self._WT = [np.empty((w, a), dtype=dt) for a, w in self.shapes]
        # theta is copied into a buffer of our own, on which every weight view is made once
        self._theta = np.zeros(self.n_params, dtype=dt)
        Wb = [self._theta[sl].reshape(a + 1, w) for sl, (a, w) in zip(self.slices, self.shapes)]
        W = [m[:-1] for m in Wb]
        # gradient buffers (one per group) and their [gW; gb] views; a call returns a copy
        self._grads = [np.zeros(self.n_params, dtype=dt) for _ in self.groups]
        gWbs = [[gr[sl].reshape(a + 1, w) for sl, (a, w) in zip(self.slices, self.shapes)] for gr in self._grads]
        # the whole computation as a fixed list of (function, arguments) on those buffers
        self._forward_ops, self._head_ops, self._backward_ops = [], [], []
        for g, gWb in zip(self.groups, gWbs):
            self._schedule(g, Wb, W, gWb)
        where = {}
        for gi, (_, _, members, offs) in enumerate(system.groups):
            for (bi, si), a, e in zip(members, offs[:-1], offs[1:]):
                where[(bi, si)] = (gi, int(a), int(e))
        # rows of the residual vector: block by block, point-major (row i * n_out + o of a block)
        self.n_rows = sum(b.n * b.n_out for b in system.blocks)
        self.n_pass = max(b.n_out for b in system.blocks)
        row_off = np.cumsum([0] + [b.n * b.n_out for b in system.blocks])
        # per group and residual component o, the Jacobian row of each point's cotangent (-1: none)
        self._rows = [np.full((self.n_pass, g.N), -1, dtype=np.int64) for g in self.groups]
        self._linear_heads = []            # (row offset, Qs, c0, Zv, Gv) of every block, if all are linear
        for bi, b in enumerate(system.blocks):
            sets = [where[(bi, si)] for si in range(len(b.lin.sets))]
            for gi, a, e in sets:
                for o in range(b.n_out):
                    self._rows[gi][o, a:e] = row_off[bi] + np.arange(b.n) * b.n_out + o
            # views of the network's output jet and of its cotangent, per point set
            Zv = [self.groups[gi].A[-1][:, a:e] for gi, a, e in sets]
            Gv = [self.groups[gi].G[-1][:, a:e] for gi, a, e in sets]
            sens, c0 = self._linear_parts(b)
            if sens is None:
                self._head_ops.append((self._vjp_head, (b, Zv, Gv)))
                self._linear_heads = None
                continue
            sc = b.scale.astype(dt)
            Sn = np.stack(sens)                                         # (O, n, n_beta, m)
            Qs = [np.ascontiguousarray(np.einsum("onbc,ncbs->osnc", Sn, F) * sc, dtype=dt) for F in b.F]
            c0 = np.ascontiguousarray(c0 * sc, dtype=dt)
            if len(sets) == 1:
                self._head_ops.append((self.kern.affine_loss, (Qs[0], c0, Zv[0], Gv[0])))
            else:
                self._head_ops.append((self._multi_head, (Qs, c0, Zv, Gv)))
            if self._linear_heads is not None:
                self._linear_heads.append((int(row_off[bi]), Qs, c0, Zv, Gv))
        self._Wb, self._W = Wb, W
        self._cols = [sl.start for sl in self.slices]

    def _schedule(self, g, Wb, W, gWb):
        """Append the forward and backward operations of group ``g``."""
        kern, K, last = self.kern, g.order, len(self.codes) - 1
        fwd, bwd = self._forward_ops, self._backward_ops
        fwd.append((kern.matmul_into, (g.Xa[0], Wb[0], g.Y2[0])))
        for li, code in enumerate(self.codes):
            if code:
                fwd.append((self.ufuncs[li], (g.Y0[li], g.T[li])))
            if li < last:
                fwd.append((kern.forward_step, (g.Y[li], g.T[li], g.A[li], code, K, g.Xa[li + 1], Wb[li + 1],
                                                g.Y2[li + 1])))
            elif code:
                fwd.append((kern.jet_forward, (g.Y[li], g.T[li], g.A[li], code, K)))
        for li in range(last, -1, -1):
            bwd.append((kern.backward_step, (g.G[li], g.Y[li], g.T[li], g.H[li], self.codes[li], K, g.Xa[li],
                                             gWb[li], W[li], self._WT[li], g.G_prev[li], li > 0)))

    def _linear_parts(self, b):
        """(constant partials (n, n_beta, m) per residual component, the
        residual at the form's particular part (O, n)), or (None, None)."""
        sysm = self.system
        if b.kind == "condition":
            E = np.zeros((b.n, 1, sysm.m), dtype=self.dtype)
            E[:, 0, b.component] = 1
            return [E], (b.lin.A[:, 0, b.component] - b.target).reshape(1, -1)
        if getattr(b, "sens", None) is None:
            return None, None
        R0 = np.asarray(nnp.reshape(sysm._block_rows(b, b.lin.A), (b.n, -1)))
        return list(b.sens), R0.T

    def accepts(self, theta):
        """True when ``theta`` is a plain vector of the system's dtype and length."""
        return (
            type(theta) is np.ndarray and theta.dtype == self.dtype and theta.ndim == 1
            and theta.shape[0] == self.n_params
        )

    def _multi_head(self, Qs, c0, Zv, Gv):
        """A linear block whose rows draw on several point sets."""
        kern = self.kern
        R = c0.copy()
        for Q, Z in zip(Qs, Zv):
            kern.affine_rows(Q, Z, R)
        R2 = 2 * R
        for Q, G in zip(Qs, Gv):
            kern.affine_rows_vjp(Q, R2, G)
        return float(np.vdot(R, R))

    def _vjp_head(self, b, Zv, Gv):
        """A nonlinear residual: its partials from one reverse pass of the user's function."""
        sysm = self.system
        U = sysm._block_U(b, [np.swapaxes(Z, 0, 1) for Z in Zv])         # (n, S, m) views
        R, pull = vjp(lambda Uv: nnp.reshape(sysm._block_rows(b, Uv), (b.n, -1)), U)
        R = np.asarray(R)
        sc2 = b.scale * b.scale
        Ub = pull((2 * sc2) * R)[0]
        for F, G in zip(b.F, Gv):
            G[...] = np.einsum("ncbs,nbc->snc", F, Ub)
        return float(sc2 * np.sum(R * R))

    @property
    def has_jacobian(self):
        """True when every block is linear (:meth:`residual` and
        :meth:`residual_and_jacobian` are available)."""
        return self._linear_heads is not None

    def _residual_rows(self):
        """The weighted residual vector from the network jets just computed."""
        r = np.empty(self.n_rows, dtype=self.dtype)
        for off, Qs, c0, Zv, _ in self._linear_heads:
            R = c0.copy()
            for Q, Z in zip(Qs, Zv):
                self.kern.affine_rows(Q, Z, R)
            r[off:off + R.size] = R.T.ravel()
        return r

    def residual(self, theta):
        """The weighted residual vector (needs :attr:`has_jacobian`)."""
        np.copyto(self._theta, theta)
        for f, args in self._forward_ops:
            f(*args)
        return self._residual_rows()

    def residual_and_jacobian(self, theta):
        """``(r, J)``: the residual vector and its Jacobian (needs :attr:`has_jacobian`).

        Row ``i`` of ``J`` is the gradient of ``r_i``: for each residual
        component ``o`` the cotangent of the network's jet at point ``i`` is
        ``Q[o, :, i, :]``; the reverse pass is the batched one (every point is
        its own Taylor series), with the weight gradient kept per point, as
        the outer products ``sum_s [X, 1_0]_{s,i}^T Ybar_{s,i}`` (Goodfellow
        2015, "Efficient per-example gradient computations")."""
        r = self.residual(theta)
        J = np.zeros((self.n_rows, self.n_params), dtype=self.dtype)
        kern, codes = self.kern, self.codes
        for o in range(self.n_pass):
            for _, Qs, _, _, Gv in self._linear_heads:
                for Q, G in zip(Qs, Gv):
                    if o < Q.shape[0]:
                        G[...] = Q[o]
                    else:
                        G[...] = 0
            for g, rows in zip(self.groups, self._rows):
                K = g.order
                for li in range(len(codes) - 1, -1, -1):
                    kern.backward_rows_step(g.G[li], g.Y[li], g.T[li], g.H[li], codes[li], K, g.Xa[li], self._W[li],
                                            self._WT[li], g.G_prev[li], li > 0, J, rows[o], self._cols[li])
        return r, J

    def value_and_grad(self, theta):
        """``(loss, gradient)`` at ``theta`` (a vector that :meth:`accepts`)."""
        np.copyto(self._theta, theta)
        for f, args in self._forward_ops:
            f(*args)
        total = 0.0
        for f, args in self._head_ops:
            total += f(*args)
        for f, args in self._backward_ops:
            f(*args)
        grad = self._grads[0].copy()
        for part in self._grads[1:]:
            grad += part
        return float(total), grad
