"""Neural forms: how the network ``N`` becomes a candidate solution ``u``.

Three kinds, all affine in the network (which is what lets the solver
compute exact Jacobians fast):

* :class:`TrialForm` -- the trial solution of Lagaris, Likas & Fotiadis
  (1998, IEEE Trans. Neural Networks 9(5), 987-1000), built automatically
  from the conditions, so that ``u`` satisfies them exactly for every weight
  vector::

      u = A(p) + H[N](p)

  Along each axis with conditions, ``H`` multiplies by a polynomial factor
  ``B`` vanishing at the Dirichlet-type conditions (``s^n`` for an initial
  value problem of order n, ``s (1 - s)`` for a two-point Dirichlet problem,
  ``s = (x - a) / (b - a)``) and corrects the remaining (Neumann, Robin)
  conditions by subtracting their functionals of ``B N``::

      H_k[N] = B N - sum_j B psi_j L_j(B N),     L_i(B psi_j) = delta_ij

  For the mixed problem of Lagaris' paper (Dirichlet at y = 0, Neumann at
  y = 1) this is exactly his ``y [N(x, y) - N(x, 1) - dN/dy(x, 1)]``.  On a
  box ``H`` is the product of the axis operators.  ``A`` is the transfinite
  (Boolean-sum) interpolation of the data, ``A = (I - prod_k (I - P_k)) G``
  with ``P_k G = sum_j phi_j L_j(G)`` and ``L_i(phi_j) = delta_ij``: for
  Dirichlet data on a rectangle it is Lagaris' ``A(x, y)``; it only ever
  evaluates the data on the faces.
* :class:`PenaltyForm` -- ``u = N``; every condition becomes extra residual
  rows ``weight * (L(N) - value)`` at boundary points (soft constraints).
* :class:`AffineForm` -- a user trial solution ``u = A(p) + B(p) N(p)``, and
  :class:`CustomForm`, any ``u = form(p, N)`` (differentiated generically).

Every form answers :meth:`linearize`: for points ``P`` it returns the
partial derivatives of ``u`` as ``A_jets + sum_s G_s . (partials of N at the
point set X_s)`` -- the point sets being ``P`` itself and its projections onto
condition faces.
"""
from __future__ import annotations

import itertools
import math
from typing import NamedTuple

import numpy as np
from numpy.polynomial import Polynomial

import nnopt.numpy as nnp

from ..autodiff import jvp
from ..autodiff.core import getval
from .jets import JetBasis, generic_jets, multi_indices

__all__ = ["TrialForm", "PenaltyForm", "AffineForm", "CustomForm", "Linearization", "PointSet", "make_form"]


class PointSet(NamedTuple):
    """Network partials needed at ``points`` (n, d) up to ``basis.order``;
    ``G`` (n, m, n_beta, n_alpha) maps them (per component) into the
    partials of ``u``."""

    points: np.ndarray
    basis: JetBasis
    G: np.ndarray


class Linearization(NamedTuple):
    """``U[:, b, c] = A[:, b, c] + sum_s sum_a G_s[:, c, b, a] dN_c^a(X_s)``.

    ``betas`` lists the multi-indices of ``U``'s second axis.
    """

    A: np.ndarray
    sets: list
    betas: list


# ---------------------------------------------------------------------------
# polynomials and functionals along one axis
# ---------------------------------------------------------------------------


def _apply_functional(terms, poly, lo, length):
    """L(poly) for ``poly`` a Polynomial in s = (x - lo) / length."""
    total = 0.0
    for w, x, k in terms:
        s = (x - lo) / length
        total += w * poly.deriv(k)(s) / length ** k if k else w * poly(s)
    return total


def _dual_polys(funcs, lo, length, factor=None, where="conditions"):
    """Polynomials q_j = factor * psi_j with L_i(q_j) = delta_ij (factor: Polynomial or None)."""
    q = len(funcs)
    if q == 0:
        return []
    base = factor if factor is not None else Polynomial([1.0])
    best = None
    candidates = [tuple(range(q))] + [
        c for c in sorted(itertools.combinations(range(q + 4), q), key=lambda c: (sum(c), c))
        if c != tuple(range(q))
    ]
    for expo in candidates:
        polys = [base * Polynomial([0.0] * e + [1.0]) for e in expo]
        M = np.array([[_apply_functional(f.terms, p, lo, length) for p in polys] for f in funcs])
        if not np.all(np.isfinite(M)):
            continue
        cond = np.linalg.cond(M)
        if cond < 1e10:
            best = (polys, M)
            break
    if best is None:
        labels = "; ".join(f.label for f in funcs)
        raise ValueError(
            f"{where}: the conditions ({labels}) are not independent: no polynomial satisfies them "
            "separately (two conditions of the same kind at the same point?)"
        )
    polys, M = best
    Minv = np.linalg.inv(M)
    out = []
    for j in range(q):
        p = Polynomial([0.0])
        for l_ in range(q):
            p = p + Minv[l_, j] * polys[l_]
        out.append(p)
    return out


class _Axis:
    """The conditions of one component along one axis and their operators."""

    def __init__(self, funcs, lo, hi, where):
        self.funcs = list(funcs)
        self.lo, self.hi = lo, hi
        self.length = L = hi - lo
        # Dirichlet-type factor: consecutive single-term derivative conditions at an end
        factored = set()
        expo = {}
        for end in (lo, hi):
            r = 0
            while True:
                hit = [
                    i for i, f in enumerate(self.funcs)
                    if i not in factored and len(f.terms) == 1 and f.terms[0][1] == end and f.terms[0][2] == r
                ]
                if not hit:
                    break
                factored.add(hit[0])
                r += 1
            expo[end] = r
        s = Polynomial([0.0, 1.0])
        B = Polynomial([1.0])
        for _ in range(expo[lo]):
            B = B * s
        for _ in range(expo[hi]):
            B = B * (1 - s)
        self.B = B
        self.factored = sorted(factored)
        self.rest = [f for i, f in enumerate(self.funcs) if i not in factored]
        # the correction polynomials B psi_j, L_i(B psi_j) = delta_ij over the rest
        self.Bpsi = _dual_polys(self.rest, lo, L, factor=B, where=where)
        # the dual basis for the particular part: L_i(phi_j) = delta_ij over all conditions
        self.phi = _dual_polys(self.funcs, lo, L, where=where)

    def h_terms(self):
        """``H[N] = sum coef(s) * d^k N(x fixed or free)``: list of (Polynomial, k, x or None)."""
        L = self.length
        terms = {(0, None): self.B}
        for f, bpsi in zip(self.rest, self.Bpsi):
            for w, x, m in f.terms:
                s = (x - self.lo) / L
                for l_ in range(m + 1):
                    Bder = self.B.deriv(m - l_)(s) if m - l_ else self.B(s)
                    c = -w * math.comb(m, l_) * Bder / L ** (m - l_)
                    if c == 0:
                        continue
                    key = (l_, x)
                    terms[key] = terms.get(key, Polynomial([0.0])) + c * bpsi
        return [(poly, k, x) for (k, x), poly in terms.items()]


class _Term(NamedTuple):
    component: int
    polys: tuple      # one Polynomial (in s_axis) per axis, or None for 1
    alpha: tuple      # derivative orders of N, per axis
    fixed: tuple      # sorted ((axis, x), ...)


def _poly_value(poly, s, der, length):
    """d^der/dx^der poly((x - lo)/length) at s (plain array)."""
    if poly is None:
        return np.ones_like(s) if der == 0 else np.zeros_like(s)
    p = poly.deriv(der) if der else poly
    return p(s) / length ** der


def _nnp_poly(poly, s):
    """Evaluate a Polynomial at s with nnopt.numpy (differentiable, any dtype)."""
    coef = [float(c) for c in poly.coef]
    while len(coef) > 1 and coef[-1] == 0.0:
        coef.pop()
    out = s * 0 + coef[-1]
    for c in coef[-2::-1]:
        out = out * s + c
    return out


def _set_coord(p, axis, x):
    """``p`` (n, d) with column ``axis`` replaced by the constant ``x``
    (differentiable in the other columns)."""
    d = np.shape(getval(p))[1]
    dtype = getval(p).dtype
    mask = np.ones(d, dtype=dtype if dtype != object else float)
    mask[axis] = 0
    other = np.zeros(d, dtype=mask.dtype)
    other[axis] = x
    if dtype == object:
        return p * mask + other
    return p * mask + other.astype(dtype)


def _axis_derivative(f, axis, order):
    """p -> d^order f / dx_axis^order (p) by nested jvp."""
    for _ in range(order):
        f = _jvp_along(f, axis)
    return f


def _jvp_along(f, axis):
    def df(p):
        pv = getval(p)
        e = np.zeros(np.shape(pv), dtype=pv.dtype if pv.dtype != object else float)
        e[:, axis] = 1
        if pv.dtype == object:
            import mpmath

            e = np.vectorize(mpmath.mpf, otypes=[object])(e)
        return jvp(f, (p,), (e,))[1]

    return df


def _data_fn(value):
    """A function of p (n, d) -> (n,) from a number or a callable."""
    if callable(value):
        return value
    v = float(value)

    def const(p):
        return getval(p)[:, 0] * 0 + v if getval(p).dtype == object else np.full(np.shape(getval(p))[0], v, dtype=getval(p).dtype)

    return const


# ---------------------------------------------------------------------------
# the forms
# ---------------------------------------------------------------------------


class _Form:
    kind = "form"
    exact_conditions = False

    def boundary_blocks(self, problem, points_per_face, rng_points):  # noqa: D401
        """Penalty rows (none for forms that satisfy the conditions)."""
        return []


def _u_betas(problem):
    return multi_indices(problem.d, problem.order) if problem.d > 1 else [(k,) for k in range(problem.order + 1)]


class TrialForm(_Form):
    """The Lagaris trial solution, built automatically from a problem's conditions.

    ``u_c(p) = A_c(p) + H_c[N_c](p)`` satisfies every condition exactly (to
    rounding) for every network; see the module docstring for ``A`` and ``H``.

    Parameters
    ----------
    problem : ODE or PDE
    check_consistency : bool
        Check that boundary data of faces that meet agree where they meet
        (a trial solution cannot satisfy inconsistent data).
    """

    kind = "trial"
    exact_conditions = True

    def __init__(self, problem, check_consistency=True):
        self.problem = problem
        d, m = problem.d, problem.n_components
        self.axes = {}  # (component, axis) -> _Axis
        where = f"{type(problem).__name__} conditions"
        for c in range(m):
            for k in range(d):
                funcs = [f for f in problem.functionals if f.component == c and f.axis == k]
                if funcs:
                    lo, hi = problem.domain[k] if d > 1 else problem.domain
                    self.axes[(c, k)] = _Axis(funcs, lo, hi, where)
        self.terms = []
        for c in range(m):
            per_axis = []
            for k in range(d):
                ax = self.axes.get((c, k))
                per_axis.append([(None, 0, None)] if ax is None else ax.h_terms())
            for combo in itertools.product(*per_axis):
                polys = tuple(t[0] for t in combo)
                alpha = tuple(t[1] for t in combo)
                fixed = tuple((k, t[2]) for k, t in enumerate(combo) if t[2] is not None)
                self.terms.append(_Term(c, polys, alpha, fixed))
        if check_consistency and d > 1:
            self._check_consistency()

    # -- the particular part A (Boolean sum of the axis interpolants) --------
    def _corner_value(self, c, S, js, choice):
        """D_{S,j}: the data of functional js[choice] with the others applied to it."""
        kstar = S[choice]
        fstar = self.axes[(c, kstar)].funcs[js[choice]]
        base = _data_fn(fstar.value)
        x_star = fstar.terms[0][1]

        def f0(p):
            return base(_set_coord(p, kstar, x_star))

        f = f0
        for idx, k in enumerate(S):
            if idx == choice:
                continue
            func = self.axes[(c, k)].funcs[js[idx]]
            f = _apply_functional_fn(f, func, k)
        return f

    def _choice(self, c, S, js):
        orders = [self.axes[(c, k)].funcs[j].order for k, j in zip(S, js)]
        return int(np.argmax(orders))

    def particular(self, c):
        """``A_c`` as a function of p (n, d) written with nnopt.numpy."""
        prob = self.problem
        d = prob.d
        axes = [k for k in range(d) if (c, k) in self.axes]
        pieces = []
        for r in range(1, len(axes) + 1):
            for S in itertools.combinations(axes, r):
                sign = 1.0 if r % 2 == 1 else -1.0
                for js in itertools.product(*[range(len(self.axes[(c, k)].funcs)) for k in S]):
                    data = self._corner_value(c, S, js, self._choice(c, S, js))
                    phis = [(k, self.axes[(c, k)].phi[j]) for k, j in zip(S, js)]
                    pieces.append((sign, phis, data))

        def A(p):
            total = None
            for sign, phis, data in pieces:
                term = data(p)
                for k, phi in phis:
                    ax = self.axes[(c, k)]
                    term = term * _nnp_poly(phi, (p[:, k] - ax.lo) / ax.length)
                term = term * sign if sign != 1.0 else term
                total = term if total is None else total + term
            if total is None:
                return getval(p)[:, 0] * 0
            return total

        return A

    def _check_consistency(self):
        prob = self.problem
        rng = np.random.default_rng(12345)
        for c in range(prob.n_components):
            axes = [k for k in range(prob.d) if (c, k) in self.axes]
            for r in range(2, len(axes) + 1):
                for S in itertools.combinations(axes, r):
                    for js in itertools.product(*[range(len(self.axes[(c, k)].funcs)) for k in S]):
                        P = np.column_stack([rng.uniform(lo, hi, 5) for lo, hi in prob.domain])
                        vals = []
                        for choice in range(len(S)):
                            try:
                                vals.append(np.asarray(self._corner_value(c, S, js, choice)(P), dtype=float))
                            except Exception:  # pragma: no cover - data without derivatives
                                continue
                        if len(vals) < 2:
                            continue
                        scale = max(1.0, max(float(np.max(np.abs(v))) for v in vals))
                        for v in vals[1:]:
                            if np.max(np.abs(v - vals[0])) > 1e-6 * scale:
                                labels = " and ".join(self.axes[(c, k)].funcs[j].label for k, j in zip(S, js))
                                raise ValueError(
                                    f"PDE: the boundary data of {labels} disagree where the faces meet "
                                    f"(difference {np.max(np.abs(v - vals[0])):.3g}); a trial solution "
                                    "cannot satisfy both -- make the data consistent or use form='penalty'"
                                )

    # -- linearisation -----------------------------------------------------
    def linearize(self, points, dtype, order=None):
        prob = self.problem
        d, m = prob.d, prob.n_components
        q = prob.order if order is None else order
        betas = multi_indices(d, q)
        bindex = {b: i for i, b in enumerate(betas)}
        n = points.shape[0]
        P64 = np.asarray(points, dtype=np.float64)
        # particular part: jets of A_c (plain float64 setup computation, cast once)
        A = np.zeros((n, len(betas), m), dtype=np.float64)
        basis_u = JetBasis(d, q)
        for c in range(m):
            Z = generic_jets(self.particular(c), P64, basis_u)
            A[:, :, c] = basis_u.partials(Z)[:, :, 0]
        # network terms grouped by point set
        sets = {}
        for t in self.terms:
            fixed_axes = {k for k, _ in t.fixed}
            for beta in betas:
                for gamma in multi_indices(d, sum(beta)):
                    if any(g > b for g, b in zip(gamma, beta)) or any(gamma[k] for k in fixed_axes):
                        continue
                    coef = float(np.prod([math.comb(b, g) for b, g in zip(beta, gamma)]))
                    val = np.full(n, coef)
                    for k in range(d):
                        lo, hi = prob.domain[k] if d > 1 else prob.domain
                        L = hi - lo
                        s = (P64[:, k] - lo) / L
                        val = val * _poly_value(t.polys[k], s, beta[k] - gamma[k], L)
                    if not np.any(val):
                        continue
                    alpha = tuple(a + g for a, g in zip(t.alpha, gamma))
                    sets.setdefault(t.fixed, []).append((t.component, bindex[beta], alpha, val))
        out_sets = []
        for fixed, entries in sets.items():
            K = max(sum(a) for _, _, a, _ in entries)
            basis = JetBasis(d, K)
            G = np.zeros((n, m, len(betas), len(basis.alphas)), dtype=np.float64)
            for c, bi, alpha, val in entries:
                G[:, c, bi, basis.index[alpha]] += val
            X = P64.copy()
            for k, x in fixed:
                X[:, k] = x
            out_sets.append(PointSet(X.astype(dtype), basis, G.astype(dtype)))
        return Linearization(A.astype(dtype), out_sets, betas)

    def apply(self, N, p):
        """``u(p)`` (n, m) for a network function ``N(q) -> (n, m)`` (generic, any dtype)."""
        prob = self.problem
        d = prob.d
        cols = []
        for c in range(prob.n_components):
            total = self.particular(c)(p)
            for t in self.terms:
                if t.component != c:
                    continue

                def Nc(q, c=c):
                    return N(q)[:, c]

                f = Nc
                for k in range(d):
                    f = _axis_derivative(f, k, t.alpha[k])
                q_ = p
                for k, x in t.fixed:
                    q_ = _set_coord(q_, k, x)
                val = f(q_)
                for k in range(d):
                    if t.polys[k] is not None:
                        lo, hi = prob.domain[k] if d > 1 else prob.domain
                        val = val * _nnp_poly(t.polys[k], (p[:, k] - lo) / (hi - lo))
                total = total + val
            cols.append(nnp.reshape(total, (-1, 1)))
        return cols[0] if len(cols) == 1 else nnp.concatenate(cols, axis=1)

    def describe(self):
        """A readable description of the trial solution (for reports)."""
        lines = []
        for (c, k), ax in sorted(self.axes.items()):
            lines.append(
                f"component {c}, axis {k}: factor B(s) = {ax.B}, {len(ax.rest)} correction(s), "
                f"{len(ax.funcs)} condition(s)"
            )
        return "\n".join(lines)

    def __repr__(self):
        return f"TrialForm({self.problem!r}, {len(self.terms)} network terms)"


def _apply_functional_fn(f, func, axis):
    """p -> L(f) with L = sum w d^k/dx_axis^k at x_axis = x."""
    parts = []
    for w, x, k in func.terms:
        g = _axis_derivative(f, axis, k)
        parts.append((w, x, g))

    def Lf(p):
        total = None
        for w, x, g in parts:
            v = g(_set_coord(p, axis, x))
            v = v * w if w != 1.0 else v
            total = v if total is None else total + v
        return total

    return Lf


class PenaltyForm(_Form):
    """``u = N``; the conditions become weighted residual rows (soft constraints).

    Parameters
    ----------
    problem : ODE or PDE
    weight : float
        Weight of the condition rows in the loss (each condition's mean
        squared defect is multiplied by it).
    """

    kind = "penalty"

    def __init__(self, problem, weight=1.0):
        if not np.isfinite(weight) or weight <= 0:
            raise ValueError(f"PenaltyForm: weight must be a positive number, got {weight!r}")
        self.problem = problem
        self.weight = float(weight)

    def linearize(self, points, dtype, order=None):
        prob = self.problem
        d, m = prob.d, prob.n_components
        q = prob.order if order is None else order
        betas = multi_indices(d, q)
        basis = JetBasis(d, q)
        n = points.shape[0]
        G = np.zeros((n, m, len(betas), len(basis.alphas)), dtype=dtype)
        for i, b in enumerate(betas):
            G[:, :, i, basis.index[b]] = 1
        A = np.zeros((n, len(betas), m), dtype=dtype)
        return Linearization(A, [PointSet(np.asarray(points, dtype=dtype), basis, G)], betas)

    def condition_rows(self, func, points, dtype):
        """Linearisation of one condition's functional at boundary ``points``:
        returns (Linearization with one beta, target values (n,))."""
        prob = self.problem
        d, m = prob.d, prob.n_components
        K = func.order
        basis = JetBasis(d, K)
        n = points.shape[0]
        G = np.zeros((n, m, 1, len(basis.alphas)), dtype=np.float64)
        for w, x, k in func.terms:
            alpha = tuple(k if i == func.axis else 0 for i in range(d))
            G[:, func.component, 0, basis.index[alpha]] += w
        X = np.asarray(points, dtype=np.float64).copy()
        X[:, func.axis] = func.terms[0][1]
        value = _data_fn(func.value)(X)
        value = np.asarray(value, dtype=np.float64).reshape(-1)
        if value.shape != (n,):
            raise ValueError(
                f"{func.label}: the boundary data function must return shape ({n},) for {n} points, "
                f"got {np.shape(value)}"
            )
        if not np.all(np.isfinite(value)):
            raise ValueError(f"{func.label}: the boundary data are not finite at some boundary points")
        lin = Linearization(np.zeros((n, 1, m), dtype=dtype), [PointSet(X.astype(dtype), basis, G.astype(dtype))], [None])
        return lin, value.astype(dtype)

    def apply(self, N, p):
        return N(p)

    def __repr__(self):
        return f"PenaltyForm(weight={self.weight})"


class AffineForm(_Form):
    """A user trial solution ``u = A(p) + B(p) * N(p)``.

    ``A`` and ``B`` are functions written with :mod:`nnopt.numpy` of the
    points (``t`` of shape (n,) for an ODE, ``p`` (n, d) for a PDE) returning
    ``(n,)`` or ``(n, m)``.  The user is responsible for ``A`` satisfying the
    conditions and ``B`` vanishing on them.
    """

    kind = "affine"
    exact_conditions = True

    def __init__(self, problem, A, B):
        for name, f in (("A", A), ("B", B)):
            if not callable(f):
                raise TypeError(f"AffineForm: {name} must be a function of the points, got {type(f).__name__}")
        self.problem = problem
        self.A, self.B = A, B

    def _wrap(self, f):
        prob = self.problem
        m = prob.n_components

        def g(p):
            x = p[:, 0] if prob.d == 1 else p
            v = f(x)
            if np.ndim(getval(v)) == 0:
                v = getval(p)[:, 0] * 0 + v
            v = nnp.reshape(v, (np.shape(getval(p))[0], -1))
            if np.shape(getval(v))[1] == 1 and m > 1:
                v = nnp.concatenate([v] * m, axis=1)
            return v

        return g

    def linearize(self, points, dtype, order=None):
        prob = self.problem
        d, m = prob.d, prob.n_components
        q = prob.order if order is None else order
        betas = multi_indices(d, q)
        basis = JetBasis(d, q)
        P64 = np.asarray(points, dtype=np.float64)
        n = P64.shape[0]
        Aj = basis.partials(generic_jets(self._wrap(self.A), P64, basis))
        Bj = basis.partials(generic_jets(self._wrap(self.B), P64, basis))
        for name, arr in (("A", Aj), ("B", Bj)):
            if arr.shape[2] != m:
                raise ValueError(f"AffineForm: {name} returns {arr.shape[2]} components, the problem has {m}")
        G = np.zeros((n, m, len(betas), len(basis.alphas)))
        for bi, beta in enumerate(betas):
            for alpha in multi_indices(d, sum(beta)):
                if any(a > b for a, b in zip(alpha, beta)):
                    continue
                coef = float(np.prod([math.comb(b, a) for b, a in zip(beta, alpha)]))
                rest = tuple(b - a for b, a in zip(beta, alpha))
                G[:, :, bi, basis.index[alpha]] += coef * Bj[:, basis.index[rest], :]
        return Linearization(Aj.astype(dtype), [PointSet(P64.astype(dtype), basis, G.astype(dtype))], betas)

    def apply(self, N, p):
        return self._wrap(self.A)(p) + self._wrap(self.B)(p) * N(p)

    def __repr__(self):
        return "AffineForm(A, B)"


class CustomForm(_Form):
    """Any user form ``u = form(p, N)``; derivatives by nested forward mode.

    ``form(x, N)`` receives the points (``t`` (n,) for an ODE, ``p`` (n, d)
    for a PDE) and the network as a function ``N(x)`` of points of the same
    kind, returning ``(n,)`` (or ``(n, m)``).  Slower than the affine forms
    (the Jacobian is built row by row).
    """

    kind = "custom"

    def __init__(self, problem, form):
        if not callable(form):
            raise TypeError(f"CustomForm: form must be callable form(points, N), got {type(form).__name__}")
        self.problem = problem
        self.form = form

    def linearize(self, points, dtype, order=None):
        return None

    def apply(self, N, p):
        prob = self.problem
        one_d = prob.d == 1

        def Nx(x):
            q = nnp.reshape(x, (-1, 1)) if one_d else x
            v = N(q)
            return v[:, 0] if (np.shape(getval(v))[1] == 1) else v

        x = p[:, 0] if one_d else p
        v = self.form(x, Nx)
        return nnp.reshape(v, (np.shape(getval(p))[0], -1))

    def __repr__(self):
        return "CustomForm(form)"


def make_form(problem, form, penalty_weight=1.0):
    """A form object from ``form``: 'trial', 'penalty', a form instance,
    a pair ``(A, B)`` (an :class:`AffineForm`) or a callable ``form(p, N)``."""
    if form is None or (isinstance(form, str) and form == "trial"):
        return TrialForm(problem)
    if isinstance(form, str):
        if form == "penalty":
            return PenaltyForm(problem, penalty_weight)
        raise ValueError(
            f"solve: form must be 'trial', 'penalty', a pair (A, B), a callable form(points, N) "
            f"or a form object, got {form!r}"
        )
    if isinstance(form, _Form):
        return form
    if isinstance(form, tuple) and len(form) == 2 and all(callable(f) for f in form):
        return AffineForm(problem, *form)
    if callable(form):
        return CustomForm(problem, form)
    raise TypeError(f"solve: form must be 'trial', 'penalty', a pair (A, B) or a callable, got {type(form).__name__}")
