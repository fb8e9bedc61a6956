"""The residual vector of a neural form and its exact Jacobian.

The weighted residual vector stacks blocks of rows:

* the equation at the collocation points, ``R(p_i, u(p_i), Du(p_i), ...)``;
* for penalty forms, each condition at its boundary points,
  ``L(u)(q_i) - value(q_i)``;

each block scaled by ``sqrt(weight / rows)``, so that ``||r||^2`` is the
sum of the blocks' weighted mean squared defects (the loss).

Two evaluation paths give the same numbers:

*fast* -- for a stack of dense layers and an affine form (trial, penalty,
``(A, B)``) with a point-wise residual: the network's Taylor jets come from
:func:`nnopt.diffeq.jets.mlp_jets`, the form is the linear map of
:meth:`~nnopt.diffeq.forms.TrialForm.linearize`, the residual's partial
derivatives with respect to ``u, du, ...`` come from one reverse pass of the
user's residual (``nnopt.vjp``), and the Jacobian rows from the per-point
reverse sweep :func:`~nnopt.diffeq.jets.mlp_jets_vjp` -- a few array
operations per layer for the whole Jacobian.

The fast path has a compiled form (:mod:`nnopt.diffeq.compiled`, chosen
by :meth:`ResidualSystem.check` for Dense tanh / sigmoid / identity stacks and
jets of order <= 2): ``value_and_grad`` always, ``residual`` and
``residual_and_jacobian`` for linear equations; the NumPy form below stays
for everything else and as the reference it is tested against.

*generic* -- any network and any form: the same quantities written as one
function of the weights through the transforms (nested ``jvp`` for input
derivatives), the Jacobian by :func:`nnopt.jacobian`.  It is the reference
the fast path is tested against.

A residual is *point-wise* when row ``i`` depends only on the values at
point ``i`` (true for differential equations; false e.g. for an integral
term such as ``nnp.mean(u)``).  It is checked once at set-up with a random
directional derivative; a residual that couples points takes the generic path.
"""
from __future__ import annotations

import numpy as np

import nnopt.numpy as nnp

from ..autodiff import jacobian, jvp, value_and_grad, vjp
from ..autodiff.core import getval
from . import compiled as _compiled
from .forms import PenaltyForm
from .jets import JetBasis, generic_jets, mlp_jets, mlp_jets_vjp, mlp_supported

__all__ = ["ResidualSystem"]


class _Block:
    """Rows of one kind: points, linearisation of the form, how rows are made."""

    def __init__(self, name, points, lin, weight, kind, target=None, betas_index=None):
        self.name = name
        self.points = points
        self.lin = lin
        self.weight = float(weight)
        self.kind = kind          # "equation" or "condition"
        self.target = target      # condition values (n,)
        self.n = points.shape[0]
        self.betas_index = betas_index
        self.n_out = None         # residual components per point (set at check time)
        self.scale = None
        self.F = None             # per set: (n, m, n_beta, S) stream map
        self.sens = None          # constant residual partials (linear equations)


class ResidualSystem:
    """Residual vector, Jacobian and loss of a problem + form + network.

    Parameters
    ----------
    problem : ODE or PDE
    form : a form from :mod:`nnopt.diffeq.forms`
    net : model with ``net(theta, X)`` (X of shape (n, d))
    points : ndarray (n, d)
        Interior collocation points.
    boundary : dict, optional
        For penalty forms: functional index -> boundary points (k, d).
    dtype : numpy dtype
    shift, scale : ndarray (d,)
        The network sees ``(p - shift) * scale``.
    fast : bool or None
        Force (True) or forbid (False) the fast path; None: when supported.
    compiled : bool or None
        Force (True: a ValueError saying why when it is not available) or
        forbid (False) the compiled form of the fast path
        (:mod:`nnopt.diffeq.compiled`: Dense layers with tanh, sigmoid or
        identity activations, jets of order <= 2; ``value_and_grad``, and
        ``residual`` / ``residual_and_jacobian`` for linear equations);
        None: when supported.  :meth:`check` sets it up; :attr:`compiled`
        then says whether it is in use.
    """

    def __init__(self, problem, form, net, points, dtype, shift, scale, boundary=None, fast=None,
                 compiled=None):
        self.problem, self.form, self.net = problem, form, net
        self.dtype = np.dtype(dtype)
        self.shift = np.asarray(shift, dtype=self.dtype)
        self.scale = np.asarray(scale, dtype=self.dtype)
        self.n_params = net.n_params
        self.m = problem.n_components
        self.blocks = []
        lin = form.linearize(points, self.dtype)
        self.affine = lin is not None
        eq = _Block("equation", points, lin, 1.0, "equation")
        if lin is not None:
            eq.betas_index = {b: i for i, b in enumerate(lin.betas)}
        self.blocks.append(eq)
        if isinstance(form, PenaltyForm):
            for i, func in enumerate(problem.functionals):
                bp = boundary[i]
                blin, target = form.condition_rows(func, bp, self.dtype)
                blk = _Block(func.label, bp, blin, form.weight, "condition", target=target)
                blk.component = func.component
                self.blocks.append(blk)
        supported = mlp_supported(net) and self.affine
        self.fast = supported if fast is None else bool(fast)
        if self.fast and not supported:
            raise ValueError("ResidualSystem: the fast path needs a stack of Dense layers and an affine form")
        self._prepare()
        self._want_compiled = compiled
        self._compiled = None
        if compiled:
            reason = _compiled.unsupported_reason(self) if self.fast else "the fast path is off"
            if reason is not None:
                raise ValueError(f"ResidualSystem: compiled=True, but there is no compiled path: {reason}")

    @property
    def compiled(self):
        """True when :meth:`value_and_grad` runs the compiled path (after :meth:`check`)."""
        return self._compiled is not None

    # -- set-up -------------------------------------------------------------
    def _prepare(self):
        if self.affine:
            for b in self.blocks:
                b.F = [
                    np.einsum("ncba,as->ncbs", s.G, s.basis.to_partials.astype(self.dtype))
                    for s in b.lin.sets
                ]
            # group point sets by jet basis: one network sweep per group
            groups = {}
            for bi, b in enumerate(self.blocks):
                for si, s in enumerate(b.lin.sets):
                    groups.setdefault((s.basis.d, s.basis.order), []).append((bi, si))
            self.groups = []
            for (d, K), members in groups.items():
                X = np.concatenate([self.blocks[bi].lin.sets[si].points for bi, si in members], axis=0)
                offs = np.cumsum([0] + [self.blocks[bi].n for bi, _ in members])
                self.groups.append((JetBasis(d, K), X, members, offs))

    def network(self, theta):
        """The network as a function of points: ``q -> net(theta, (q - shift) * scale)``."""
        shift, scale = self.shift, self.scale

        def N(q):
            out = self.net(theta, (q - shift) * scale)
            return out

        return N

    # -- the forms' partials U ------------------------------------------------
    def _block_U(self, b, Zs):
        """U (n, n_beta, m) from the stream arrays of the block's point sets."""
        U = b.lin.A
        for F, Z in zip(b.F, Zs):
            if isinstance(Z, np.ndarray) and isinstance(U, np.ndarray):
                U = U + np.einsum("ncbs,nsc->nbc", F, Z)
            else:
                U = U + nnp.einsum("ncbs,nsc->nbc", F, Z)
        return U

    def _block_rows(self, b, U):
        """The (unscaled) rows (n, n_out) of a block from its U."""
        if b.kind == "condition":
            return nnp.reshape(U[:, 0, b.component] - b.target, (-1, 1))
        prob = self.problem
        if prob.kind == "ode":
            R = prob.evaluate_residual(b.points, U)
        else:
            R = prob.evaluate_residual(b.points, U, b.betas_index)
        return R

    def _network_streams(self, theta, tape=None):
        """Per block, per point set: the network jet (n, S, m)."""
        out = [[None] * len(b.lin.sets) for b in self.blocks]
        tapes = []
        for basis, X, members, offs in self.groups:
            tp = [] if tape is not None else None
            if self.fast:
                Z = mlp_jets(self.net, theta, X, basis, self.shift, self.scale, tape=tp)
            else:
                Z = generic_jets(self.network(theta), X, basis)
            tapes.append(tp)
            for (bi, si), a, e in zip(members, offs[:-1], offs[1:]):
                out[bi][si] = Z[a:e]
        if tape is not None:
            tape.extend(tapes)
        return out

    # -- checks at set-up --------------------------------------------------------
    def check(self, theta):
        """Validate shapes, finiteness and point-wise structure at ``theta``.

        Raises ValueError naming the residual when it returns the wrong shape
        or non-finite values; sets :attr:`fast` to False (with a reason in
        :attr:`path_note`) if the residual couples points.
        """
        self.path_note = "fast" if self.fast else "generic"
        if not self.affine:
            r = np.asarray(self.residual(theta))
            self._check_rows(r)
            return
        Zs = self._network_streams(theta)
        for b, Z in zip(self.blocks, Zs):
            U = self._block_U(b, Z)
            R = getval(self._block_rows(b, U))
            R = np.asarray(R)
            self._check_block(b, R)
            if b.kind == "equation" and self.fast:
                if not self._pointwise(b, U):
                    self.fast = False
                    self.path_note = "generic (the residual couples collocation points)"
                else:
                    b.sens = self._constant_sensitivities(b, U)
        for b in self.blocks:
            b.scale = np.sqrt(b.weight / (b.n * b.n_out)).astype(self.dtype)
        self._compiled = None
        if self._want_compiled is not False:
            reason = _compiled.unsupported_reason(self) if self.fast else self.path_note
            if reason is None:
                self._compiled = _compiled.CompiledPath(self)
            elif self._want_compiled:
                raise ValueError(f"ResidualSystem: compiled=True, but there is no compiled path: {reason}")

    def _check_block(self, b, R):
        n = b.n
        prob = self.problem
        if b.kind == "equation":
            want = (n,) if not prob.system else (n, prob.n_components)
            shape = np.shape(R)
            if shape == (n,) or (prob.system and len(shape) == 2 and shape[0] == n):
                pass
            else:
                raise ValueError(
                    f"{type(prob).__name__}: residual must return an array of shape {want} for {n} points "
                    f"(one value per point{' and component' if prob.system else ''}), got shape {shape}"
                )
            dt = np.asarray(R).dtype
            if dt.kind != "f":
                raise TypeError(f"{type(prob).__name__}: residual must return floating values, got dtype {dt}")
            if dt != self.dtype:
                raise TypeError(
                    f"{type(prob).__name__}: residual returned dtype {dt} for {self.dtype} inputs; "
                    "write it with nnopt.numpy and Python scalars so that the dtype is kept"
                )
            bad = ~np.isfinite(R)
            if np.any(bad):
                idx = np.nonzero(bad.reshape(n, -1).any(axis=1))[0]
                raise ValueError(
                    f"{type(prob).__name__}: residual returned NaN or inf at {idx.size} of {n} collocation "
                    f"points at the initial network (first at t/p = {np.asarray(b.points)[idx[0]].tolist()})"
                )
            b.n_out = 1 if np.ndim(R) == 1 else np.shape(R)[1]
        else:
            b.n_out = 1

    def _check_rows(self, r):
        if r.dtype != self.dtype:
            raise TypeError(
                f"{type(self.problem).__name__}: residual returned dtype {r.dtype} for {self.dtype} inputs; "
                "write it with nnopt.numpy and Python scalars so that the dtype is kept"
            )
        if not np.all(np.isfinite(r)):
            raise ValueError(f"{type(self.problem).__name__}: residual returned NaN or inf at the initial network")
        blk = self.blocks[0]
        if r.size % blk.n:
            raise ValueError(
                f"{type(self.problem).__name__}: residual must return one value per point (and component), "
                f"got {r.size} values for {blk.n} points"
            )
        blk.n_out = r.size // blk.n
        blk.scale = np.sqrt(blk.weight / r.size).astype(self.dtype)

    def _pointwise(self, b, U):
        """Random directional test of point-wise dependence of the residual on U."""
        rng = np.random.default_rng(0)
        T = rng.standard_normal(np.shape(U)).astype(self.dtype)

        def R(Uv):
            return nnp.reshape(self._block_rows(b, Uv), (b.n, -1))

        _, dr = jvp(R, (U,), (T,))
        out, pull = vjp(R, U)
        pred = np.zeros_like(dr)
        for c in range(dr.shape[1]):
            ct = np.zeros_like(out)
            ct[:, c] = 1
            Ub = pull(ct)[0]
            pred[:, c] = np.sum(Ub * T, axis=(1, 2))
        tol = 1e3 * np.finfo(self.dtype).eps * (1 + np.max(np.abs(dr)))
        return bool(np.max(np.abs(pred - dr)) <= tol)

    def _constant_sensitivities(self, b, U):
        """For a residual affine in (u, du, ...) (a linear equation), its
        partial derivatives do not depend on the weights: compute them once
        (one cotangent per residual component) and skip the reverse pass of
        the residual at every iteration.  Returns None for nonlinear residuals."""
        rng = np.random.default_rng(1)

        def R(Uv):
            return nnp.reshape(self._block_rows(b, Uv), (b.n, -1))

        T = rng.standard_normal(np.shape(U)).astype(self.dtype)
        U2 = (U + rng.standard_normal(np.shape(U))).astype(self.dtype)
        _, d1 = jvp(R, (U,), (T,))
        _, d2 = jvp(R, (U2,), (T,))
        diff = np.asarray(R(U + T)) - np.asarray(R(U)) - d1
        tol = 1e3 * np.finfo(self.dtype).eps * (1 + np.max(np.abs(d1)) + np.max(np.abs(np.asarray(R(U)))))
        if np.max(np.abs(d1 - d2)) > tol or np.max(np.abs(diff)) > tol:
            return None
        out, pull = vjp(R, U)
        sens = []
        for c in range(np.shape(out)[1]):
            ct = np.zeros_like(out)
            ct[:, c] = 1
            sens.append(np.asarray(pull(ct)[0]))
        return sens

    # -- evaluations -----------------------------------------------------------
    def residual(self, theta):
        """The weighted residual vector (plain arrays: fast; tracers: the
        generic differentiable path)."""
        if not self.affine:
            return self._custom_rows(theta)
        cp = self._compiled
        if cp is not None and cp.has_jacobian and cp.accepts(theta):
            return cp.residual(theta)
        traced = not isinstance(theta, np.ndarray)
        if traced or not self.fast:
            Zs = self._generic_streams(theta)
        else:
            tapes = []
            Zs = self._network_streams(theta, tape=tapes)
            self._cache = (theta.copy(), Zs, tapes)
        rows = []
        for b, Z in zip(self.blocks, Zs):
            R = self._block_rows(b, self._block_U(b, Z))
            R = nnp.reshape(R, (-1,))
            rows.append(R * b.scale if b.scale is not None else R)
        return rows[0] if len(rows) == 1 else nnp.concatenate(rows)

    def _generic_streams(self, theta):
        out = [[None] * len(b.lin.sets) for b in self.blocks]
        for basis, X, members, offs in self.groups:
            if mlp_supported(self.net):
                Z = mlp_jets(self.net, theta, X, basis, self.shift, self.scale)
            else:
                Z = generic_jets(self.network(theta), X, basis)
            for (bi, si), a, e in zip(members, offs[:-1], offs[1:]):
                out[bi][si] = Z[a:e]
        return out

    def _custom_rows(self, theta):
        prob = self.problem
        b = self.blocks[0]
        N = self.network(theta)
        basis = JetBasis(prob.d, prob.order)
        Z = generic_jets(lambda p: self.form.apply(N, p), b.points, basis)
        U = basis.partials(Z)
        if prob.kind == "ode":
            R = prob.evaluate_residual(b.points, U)
        else:
            R = prob.evaluate_residual(b.points, U, {a: i for i, a in enumerate(basis.alphas)})
        R = nnp.reshape(R, (-1,))
        return R * b.scale if b.scale is not None else R

    def residual_and_jacobian(self, theta):
        """``(r, J)``: the weighted residual vector and its Jacobian ``(rows, n_params)``
        (compiled, :mod:`nnopt.diffeq.compiled`, for linear equations and
        plain vectors of the system's dtype when :attr:`compiled`)."""
        cp = self._compiled
        if cp is not None and cp.has_jacobian and cp.accepts(theta):
            return cp.residual_and_jacobian(theta)
        if not self.fast:
            r = np.asarray(self.residual(theta))
            J = jacobian(self.residual, mode="rev")(theta)
            return r, np.asarray(J)
        cache = getattr(self, "_cache", None)
        if cache is not None and cache[0].shape == theta.shape and np.array_equal(cache[0], theta):
            _, Zs, tapes = cache
        else:
            tapes = []
            Zs = self._network_streams(theta, tape=tapes)
        self._cache = None
        rows, pulls, outs = [], [], []
        for b, Z in zip(self.blocks, Zs):
            U = self._block_U(b, Z)
            if b.kind == "condition":
                R = np.asarray(self._block_rows(b, U))
                pulls.append(None)
            elif getattr(b, "sens", None) is not None:  # linear equation: constant partials
                R = np.asarray(nnp.reshape(self._block_rows(b, U), (b.n, -1)))
                pulls.append(None)
            else:
                R, pull = vjp(lambda Uv, b=b: nnp.reshape(self._block_rows(b, Uv), (b.n, -1)), U)
                pulls.append(pull)
            outs.append(R)
            rows.append(R.reshape(-1) * b.scale)
        r = np.concatenate(rows) if len(rows) > 1 else rows[0]
        J = np.zeros((r.shape[0], self.n_params), dtype=self.dtype)
        row_off = np.cumsum([0] + [b.n * b.n_out for b in self.blocks])
        n_pass = max(b.n_out for b in self.blocks)
        for c_r in range(n_pass):
            # cotangents of every point set's streams for residual component c_r
            Zbars = [[None] * len(b.lin.sets) for b in self.blocks]
            for bi, b in enumerate(self.blocks):
                if c_r >= b.n_out:
                    continue
                if b.kind == "condition":
                    Ub = np.zeros((b.n, 1, self.m), dtype=self.dtype)
                    c = self._condition_component(b)
                    Ub[:, 0, c] = 1
                elif getattr(b, "sens", None) is not None:
                    Ub = b.sens[c_r]
                else:
                    ct = np.zeros_like(outs[bi])
                    ct[:, c_r] = 1
                    Ub = pulls[bi](ct)[0]
                for si, F in enumerate(b.F):
                    Zbars[bi][si] = np.einsum("ncbs,nbc->nsc", F, Ub)
            for (basis, X, members, offs), tape in zip(self.groups, tapes):
                if all(Zbars[bi][si] is None for bi, si in members):
                    continue
                Zbar = np.concatenate([
                    Zbars[bi][si] if Zbars[bi][si] is not None
                    else np.zeros((self.blocks[bi].n,) + Zs[bi][si].shape[1:], dtype=self.dtype)
                    for bi, si in members
                ], axis=0)
                Jg = mlp_jets_vjp(self.net, tape, Zbar, per_row=True)
                for (bi, si), a, e in zip(members, offs[:-1], offs[1:]):
                    b = self.blocks[bi]
                    if c_r >= b.n_out:
                        continue
                    rows_idx = row_off[bi] + np.arange(b.n) * b.n_out + c_r
                    if b.n_out == 1:
                        J[row_off[bi]:row_off[bi] + b.n] += Jg[a:e]
                    else:
                        J[rows_idx] += Jg[a:e]
        for bi, b in enumerate(self.blocks):
            J[row_off[bi]:row_off[bi + 1]] *= b.scale
        return r, J

    def _condition_component(self, b):
        return b.component

    def loss(self, theta):
        """``||r||^2``: the weighted mean squared residual."""
        r = self.residual(theta)
        return nnp.sum(r * r)

    def value_and_grad(self, theta):
        """``(loss, gradient)``; the fast path sums the per-point reverse sweep
        (compiled, :mod:`nnopt.diffeq.compiled`, for plain vectors of the
        system's dtype when :attr:`compiled`)."""
        cp = self._compiled
        if cp is not None and cp.accepts(theta):
            return cp.value_and_grad(theta)
        if not self.fast:
            v, g = value_and_grad(self.loss)(theta)
            return float(v), np.asarray(g)
        tapes = []
        Zs = self._network_streams(theta, tape=tapes)
        total = 0.0
        Zbars = [[None] * len(b.lin.sets) for b in self.blocks]
        for bi, (b, Z) in enumerate(zip(self.blocks, Zs)):
            U = self._block_U(b, Z)
            if b.kind == "condition":
                R = np.asarray(self._block_rows(b, U))
                Ub = np.zeros((b.n, 1, self.m), dtype=self.dtype)
                Ub[:, 0, self._condition_component(b)] = (2 * b.scale * b.scale) * R[:, 0]
            elif getattr(b, "sens", None) is not None:
                R = np.asarray(nnp.reshape(self._block_rows(b, U), (b.n, -1)))
                w = (2 * b.scale * b.scale) * R
                Ub = sum(b.sens[c] * w[:, c, None, None] for c in range(R.shape[1]))
            else:
                R, pull = vjp(lambda Uv, b=b: nnp.reshape(self._block_rows(b, Uv), (b.n, -1)), U)
                Ub = pull((2 * b.scale * b.scale) * R)[0]
            total += float(b.scale * b.scale * np.sum(R * R))
            for si, F in enumerate(b.F):
                Zbars[bi][si] = np.einsum("ncbs,nbc->nsc", F, Ub)
        g = np.zeros(self.n_params, dtype=self.dtype)
        for (basis, X, members, offs), tape in zip(self.groups, tapes):
            Zbar = np.concatenate([Zbars[bi][si] for bi, si in members], axis=0)
            g += mlp_jets_vjp(self.net, tape, Zbar, per_row=False)
        return total, g

    def u_partials(self, theta, points, order=None):
        """Partials of the form ``u`` at new points: (U (n, n_beta, m), betas)."""
        prob = self.problem
        q = prob.order if order is None else order
        if not self.affine:
            N = self.network(theta)
            basis = JetBasis(prob.d, q)
            Z = generic_jets(lambda p: self.form.apply(N, p), points, basis)
            return basis.partials(Z), basis.alphas
        lin = self.form.linearize(points, self.dtype, order=q)
        U = lin.A
        for s in lin.sets:
            if mlp_supported(self.net):
                Z = mlp_jets(self.net, theta, s.points, s.basis, self.shift, self.scale)
            else:
                Z = generic_jets(self.network(theta), s.points, s.basis)
            Np = s.basis.partials(Z)
            U = U + np.einsum("ncba,nac->nbc", s.G, Np)
        return U, lin.betas
