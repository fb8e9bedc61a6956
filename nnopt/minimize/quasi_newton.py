"""Quasi-Newton approximations behind one interface (as SciPy's
``HessianUpdateStrategy``): ``initialize(n, approx_type)``, ``update(s, y)``,
``dot(p)``, ``get_matrix()``.

``approx_type="inv_hess"`` approximates the inverse Hessian ``H`` (the
search direction is ``-H.dot(g)``), ``"hess"`` the Hessian ``B`` (for trust
regions).  With ``s = x_{k+1} - x_k`` and ``y = g_{k+1} - g_k``:

* :class:`BFGS` -- :math:`H_+ = (I - \\rho s y^T) H (I - \\rho y s^T) + \\rho s s^T`,
  :math:`\\rho = 1 / y^T s`; :math:`B_+ = B - B s s^T B / s^T B s + y y^T / y^T s`
  (Nocedal & Wright, eqs. 6.17 and 6.19).  Skipped when
  :math:`y^T s \\le \\sqrt{\\epsilon} \\|s\\| \\|y\\|` (no positive curvature).
* :class:`SR1` -- :math:`B_+ = B + r r^T / r^T s`, :math:`r = y - B s`
  (and the dual formula for ``H``), skipped when
  :math:`|r^T s| < \\sqrt{\\epsilon} \\|s\\| \\|r\\|` (N&W eq. 6.26).
* :class:`LBFGS` -- the last ``m`` pairs; ``inv_hess``: two-loop recursion
  (N&W Algorithm 7.4) with :math:`H_0 = \\gamma I`,
  :math:`\\gamma = s^T y / y^T y` of the newest pair (eq. 7.20); ``hess``:
  the compact representation of Byrd, Nocedal & Schnabel (1994), N&W eq. 7.24.

The first update scales the initial matrix (``init_scale="auto"``):
:math:`H_0 = (s^T y / y^T y) I` or :math:`B_0 = (y^T y / s^T y) I` (N&W eq. 6.20).
All arrays keep the dtype given to ``initialize``.
"""
from __future__ import annotations

import numpy as np
from scipy.linalg.lapack import get_lapack_funcs

__all__ = ["QuasiNewtonApproximation", "BFGS", "SR1", "LBFGS"]

_TYPES = ("hess", "inv_hess")


class QuasiNewtonApproximation:
    """Base class: the interface of ``scipy.optimize.HessianUpdateStrategy``."""

    def __init__(self, init_scale="auto"):
        if not (init_scale == "auto" or (isinstance(init_scale, (int, float)) and init_scale > 0)):
            raise ValueError(f"init_scale: expected 'auto' or a positive number, got {init_scale!r}")
        self.init_scale = init_scale
        self.n = None
        self.approx_type = None
        self.dtype = None
        self.n_updates = 0
        self.n_skipped = 0

    def initialize(self, n, approx_type, dtype=np.float64):
        """Start from the (scaled) identity in dimension ``n``."""
        if approx_type not in _TYPES:
            raise ValueError(f"approx_type: expected 'hess' or 'inv_hess', got {approx_type!r}")
        self.n = int(n)
        self.approx_type = approx_type
        self.dtype = np.dtype(dtype)
        self.n_updates = 0
        self.n_skipped = 0
        self._reset()

    def _check(self, v, name):
        if self.n is None:
            raise RuntimeError(f"{type(self).__name__}: call initialize(n, approx_type) first")
        v = np.asarray(v)
        if v.shape != (self.n,):
            raise ValueError(f"{name}: expected shape ({self.n},), got {v.shape}")
        if v.dtype != self.dtype:
            raise TypeError(f"{name}: expected dtype {self.dtype}, got {v.dtype}")
        return v

    def _first_scale(self, s, y):
        """Scale of the initial matrix at the first update (``auto``) or the given one."""
        dt = self.dtype.type
        if self.init_scale != "auto":
            return dt(self.init_scale)
        sy, yy = np.dot(s, y), np.dot(y, y)
        with np.errstate(all="ignore"):
            scale = sy / yy if self.approx_type == "inv_hess" else yy / sy
        if not (np.isfinite(scale) and scale > 0):
            scale = abs(scale) if np.isfinite(scale) and scale != 0 else dt(1)
        return dt(scale)

    def update(self, s, y):
        """Update with ``s = x_new - x`` and ``y = g_new - g``; returns False if skipped."""
        s = self._check(s, "s")
        y = self._check(y, "y")
        if not (np.isfinite(s @ s) and np.isfinite(y @ y)) or not np.any(s):
            self.n_skipped += 1
            return False
        done = self._update(s, y)
        if done:
            self.n_updates += 1
        else:
            self.n_skipped += 1
        return done

    def dot(self, p):
        """The product of the approximation (``B`` or ``H``) with ``p``."""
        p = self._check(p, "p")
        return self._dot(p)

    def get_matrix(self):
        """The approximation as a dense ``(n, n)`` array."""
        if self.n is None:
            raise RuntimeError(f"{type(self).__name__}: call initialize(n, approx_type) first")
        return self._matrix()


class _Dense(QuasiNewtonApproximation):
    """A dense matrix approximation (small problems)."""

    def _reset(self):
        self.M = np.eye(self.n, dtype=self.dtype)
        self._scaled = False

    def reset(self):
        """Back to the identity."""
        self._reset()

    def _dot(self, p):
        return self.M @ p

    def _matrix(self):
        return self.M.copy()

    def _scale_first(self, s, y):
        if not self._scaled:
            self.M = self.M * self._first_scale(s, y)
            self._scaled = True


class BFGS(_Dense):
    """Dense BFGS approximation of the Hessian or its inverse (see module docstring)."""

    def _update(self, s, y):
        dt = self.dtype.type
        eps = np.finfo(self.dtype).eps
        sy = np.dot(s, y)
        if not sy > np.sqrt(dt(eps)) * np.sqrt(np.dot(s, s) * np.dot(y, y)):
            return False
        self._scale_first(s, y)
        if self.approx_type == "inv_hess":
            rho = dt(1) / sy
            Hy = self.M @ y
            yHy = np.dot(y, Hy)
            self.M = self.M + (rho * rho * yHy + rho) * np.outer(s, s) - rho * (
                np.outer(Hy, s) + np.outer(s, Hy))
        else:
            Bs = self.M @ s
            sBs = np.dot(s, Bs)
            self.M = self.M - np.outer(Bs, Bs) / sBs + np.outer(y, y) / sy
        return True


class SR1(_Dense):
    """Dense symmetric-rank-one approximation (see module docstring).

    SR1 matrices need not be positive definite: use them with a trust region
    (``minimize(..., method="sr1")``).  In the inverse form the first update
    after the ``auto`` scaling ``H_0 = (s^T y / y^T y) I`` is always skipped
    (``s - H_0 y`` is orthogonal to ``y``).
    """

    def __init__(self, init_scale="auto", skip_tol=None):
        super().__init__(init_scale)
        self.skip_tol = skip_tol

    def _update(self, s, y):
        dt = self.dtype.type
        r_tol = dt(np.sqrt(np.finfo(self.dtype).eps) if self.skip_tol is None else self.skip_tol)
        self._scale_first(s, y)
        if self.approx_type == "hess":
            u, w = y - self.M @ s, s      # B += u u^T / u^T s
        else:
            u, w = s - self.M @ y, y      # H += u u^T / u^T y
        uw = np.dot(u, w)
        if not abs(uw) >= r_tol * np.sqrt(np.dot(u, u) * np.dot(w, w)) or uw == 0:
            return False
        self.M = self.M + np.outer(u, u) / uw
        return True


class LBFGS(QuasiNewtonApproximation):
    """Limited-memory BFGS: the ``m`` most recent pairs ``(s, y)``.

    The pairs are kept as rows of two ``(m, n)`` arrays together with the
    small matrices ``S^T Y`` and ``Y^T Y`` (updated with two matrix-vector
    products per pair), so that ``H p`` and ``B p`` each cost four
    matrix-vector products and a ``2m``-size solve (the compact forms of
    Byrd, Nocedal & Schnabel 1994, eqs. 3.1 and 2.17; N&W eq. 7.24) instead
    of the ``4m`` vector operations of the two-loop recursion (N&W Algorithm
    7.4, kept as :meth:`two_loop` for reference; the tests check they agree).

    Parameters
    ----------
    m : int
        Memory (number of pairs kept), default 10.
    """

    def __init__(self, m=10):
        super().__init__("auto")
        if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1:
            raise ValueError(f"m: expected a positive integer memory size, got {m!r}")
        self.m = int(m)

    def _reset(self):
        m, n, dt = self.m, self.n, self.dtype
        self._trtrs = get_lapack_funcs("trtrs", dtype=dt)
        self._S = np.zeros((m, n), dtype=dt)
        self._Y = np.zeros((m, n), dtype=dt)
        self._SY = np.zeros((m, m), dtype=dt)   # (S^T Y)_ij = s_i . y_j
        self._YY = np.zeros((m, m), dtype=dt)
        self.k = 0

    def reset(self):
        """Forget all pairs (back to the identity)."""
        self._reset()

    @property
    def S(self):
        """The stored steps, oldest first, shape ``(k, n)``."""
        return self._S[:self.k]

    @property
    def Y(self):
        """The stored gradient differences, oldest first, shape ``(k, n)``."""
        return self._Y[:self.k]

    @property
    def gamma(self):
        """``s^T y / y^T y`` of the newest pair (1 with no pairs)."""
        k = self.k
        if k == 0:
            return self.dtype.type(1)
        return self._SY[k - 1, k - 1] / self._YY[k - 1, k - 1]

    def _update(self, s, y):
        dt = self.dtype.type
        sy = np.dot(s, y)
        if not sy > np.sqrt(dt(np.finfo(self.dtype).eps)) * np.sqrt(np.dot(s, s) * np.dot(y, y)):
            return False
        S, Y, SY, YY = self._S, self._Y, self._SY, self._YY
        if self.k == self.m:  # drop the oldest pair
            S[:-1] = S[1:]
            Y[:-1] = Y[1:]
            SY[:-1, :-1] = SY[1:, 1:]
            YY[:-1, :-1] = YY[1:, 1:]
            self.k -= 1
        k = self.k
        S[k] = s
        Y[k] = y
        SY[k, :k + 1] = Y[:k + 1] @ s
        SY[:k + 1, k] = S[:k + 1] @ y
        YY[k, :k + 1] = YY[:k + 1, k] = Y[:k + 1] @ y
        self.k = k + 1
        return True

    def _dot(self, p):
        if self.approx_type == "inv_hess":
            return self._compact_inv_dot(p)
        return self._compact_hess_dot(p)

    def _compact_inv_dot(self, g):
        """``H g = gamma g + S t - gamma Y u`` with ``u = R^{-1} S^T g``,
        ``t = R^{-T} ((D + gamma Y^T Y) u - gamma Y^T g)``, ``R`` the upper
        triangle of ``S^T Y`` and ``D`` its diagonal (Byrd, Nocedal &
        Schnabel 1994, eq. 3.1)."""
        k = self.k
        gamma = self.gamma
        if k == 0:
            return gamma * g
        S, Y = self._S[:k], self._Y[:k]
        SY = self._SY[:k, :k]
        trtrs = self._trtrs
        a = S @ g
        b = gamma * (Y @ g)
        u, info = trtrs(SY, a, lower=0, trans=0)        # R u = a (reads the upper triangle only)
        w = np.diagonal(SY) * u + gamma * (self._YY[:k, :k] @ u) - b
        t, info2 = trtrs(SY, w, lower=0, trans=1)       # R^T t = w
        if info or info2:  # singular R cannot happen with s_i^T y_i > 0; be safe
            return self.two_loop(g)
        return gamma * g + t @ S - gamma * (u @ Y)

    def two_loop(self, q):
        """``H q`` by the two-loop recursion (Nocedal & Wright, Algorithm 7.4)."""
        S, Y = self.S, self.Y
        k = self.k
        rho = [self.dtype.type(1) / self._SY[i, i] for i in range(k)]
        q = np.array(q, dtype=self.dtype, copy=True)
        a = [None] * k
        for i in range(k - 1, -1, -1):
            a[i] = rho[i] * (S[i] @ q)
            q -= a[i] * Y[i]
        q *= self.gamma   # H_0 = gamma I
        for i in range(k):
            q += (a[i] - rho[i] * (Y[i] @ q)) * S[i]
        return q

    def _compact_hess_dot(self, p):
        """``B p`` from the compact representation (N&W eq. 7.24):

        ``B = delta I - [delta S, Y] [[delta S^T S, L], [L^T, -D]]^{-1} [delta S^T; Y^T]``
        with ``delta = 1/gamma``, ``L`` the strictly lower part of ``S^T Y``,
        ``D = diag(s_i^T y_i)``.
        """
        dt = self.dtype.type
        delta = dt(1) / self.gamma
        k = self.k
        if k == 0:
            return delta * p
        S, Y = self._S[:k], self._Y[:k]
        SY = self._SY[:k, :k]
        L = np.tril(SY, -1)
        D = np.diag(np.diagonal(SY))
        M = np.block([[delta * (S @ S.T), L], [L.T, -D]])
        w = np.concatenate([delta * (S @ p), Y @ p])
        z = np.linalg.solve(M, w)
        return delta * p - (delta * (z[:k] @ S) + z[k:] @ Y)

    def _matrix(self):
        eye = np.eye(self.n, dtype=self.dtype)
        return np.stack([self._dot(e) for e in eye], axis=1)
