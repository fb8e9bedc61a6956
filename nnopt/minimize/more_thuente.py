"""The More-Thuente line search for the strong Wolfe conditions.

Finds a step ``alpha`` with

.. math::

    \\phi(\\alpha) \\le \\phi(0) + c_1 \\alpha \\phi'(0), \\qquad
    |\\phi'(\\alpha)| \\le c_2 |\\phi'(0)|,

using safeguarded cubic and quadratic interpolation inside an interval of
uncertainty ``[stx, sty]`` that is guaranteed to contain such a step.  In the
first stage the search works on the auxiliary function
:math:`\\psi(\\alpha) = \\phi(\\alpha) - \\phi(0) - c_1 \\alpha \\phi'(0)`, and
switches to :math:`\\phi` once a step with :math:`\\psi \\le 0` and
:math:`\\phi' \\ge 0` is found.

Reference: J. J. More and D. J. Thuente, "Line search algorithms with
guaranteed sufficient decrease", ACM TOMS 20(3), 286-307 (1994); this is a
transcription of MINPACK-2 ``dcsrch`` and ``dcstep`` (same constants:
``xtrapl = 1.1``, ``xtrapu = 4``, bisection when the interval does not shrink
by 0.66 per two steps), with all arithmetic in the dtype of ``x``.

Additions to ``dcsrch``: a trial where ``f`` or ``phi'`` is NaN/Inf is
treated as too long (the step is halved towards ``stx`` and becomes an upper
bound); the default ``alpha_min`` is the dtype's resolution along ``d``
(``x + alpha d == x`` below it) and ``xtol`` defaults to ``64 eps``.
"""
from __future__ import annotations

import numpy as np

from ._linefun import LineSearchStatus as S

__all__ = ["more_thuente", "dcstep"]

_XTRAPL = 1.1
_XTRAPU = 4.0
_P5 = 0.5
_P66 = 0.66


def dcstep(stx, fx, dx, sty, fy, dy, stp, fp, dp, brackt, stpmin, stpmax):
    """One safeguarded step of the More-Thuente search (MINPACK-2 ``dcstep``).

    Given the interval end points ``stx`` (best step so far), ``sty`` and the
    trial ``stp`` with their function values and derivatives, compute the
    next trial step and update the interval.

    Returns
    -------
    (stx, fx, dx, sty, fy, dy, stp, brackt)
    """
    sgnd = dp * np.sign(dx)
    if fp > fx:
        # Case 1: higher function value; the minimum is bracketed.  Take the
        # cubic step if closer to stx, else the average of cubic and quadratic.
        theta = 3 * (fx - fp) / (stp - stx) + dx + dp
        s = max(abs(theta), abs(dx), abs(dp))
        gamma = s * np.sqrt((theta / s) ** 2 - (dx / s) * (dp / s))
        if stp < stx:
            gamma = -gamma
        p = (gamma - dx) + theta
        q = ((gamma - dx) + gamma) + dp
        r = p / q
        stpc = stx + r * (stp - stx)
        stpq = stx + ((dx / ((fx - fp) / (stp - stx) + dx)) / 2) * (stp - stx)
        if abs(stpc - stx) < abs(stpq - stx):
            stpf = stpc
        else:
            stpf = stpc + (stpq - stpc) / 2
        brackt = True
    elif sgnd < 0:
        # Case 2: lower value, derivatives of opposite sign; bracketed.  Take
        # the step farther from stp (cubic or secant).
        theta = 3 * (fx - fp) / (stp - stx) + dx + dp
        s = max(abs(theta), abs(dx), abs(dp))
        gamma = s * np.sqrt((theta / s) ** 2 - (dx / s) * (dp / s))
        if stp > stx:
            gamma = -gamma
        p = (gamma - dp) + theta
        q = ((gamma - dp) + gamma) + dx
        r = p / q
        stpc = stp + r * (stx - stp)
        stpq = stp + (dp / (dp - dx)) * (stx - stp)
        if abs(stpc - stp) > abs(stpq - stp):
            stpf = stpc
        else:
            stpf = stpq
        brackt = True
    elif abs(dp) < abs(dx):
        # Case 3: lower value, same-sign derivatives, |derivative| decreases.
        # The cubic step is used only if the cubic tends to infinity in the
        # direction of the step or its minimum lies beyond stp.
        theta = 3 * (fx - fp) / (stp - stx) + dx + dp
        s = max(abs(theta), abs(dx), abs(dp))
        gamma = s * np.sqrt(max(0, (theta / s) ** 2 - (dx / s) * (dp / s)))
        if stp > stx:
            gamma = -gamma
        p = (gamma - dp) + theta
        q = (gamma + (dx - dp)) + gamma
        r = p / q
        if r < 0 and gamma != 0:
            stpc = stp + r * (stx - stp)
        elif stp > stx:
            stpc = stpmax
        else:
            stpc = stpmin
        stpq = stp + (dp / (dp - dx)) * (stx - stp)
        if brackt:
            # A minimizer has been bracketed: the step closer to stp, kept
            # inside 66% of the way to sty.
            stpf = stpc if abs(stpc - stp) < abs(stpq - stp) else stpq
            if stp > stx:
                stpf = min(stp + _P66 * (sty - stp), stpf)
            else:
                stpf = max(stp + _P66 * (sty - stp), stpf)
        else:
            # Not bracketed: the step farther from stp, within the limits.
            stpf = stpc if abs(stpc - stp) > abs(stpq - stp) else stpq
            stpf = min(stpmax, stpf)
            stpf = max(stpmin, stpf)
    else:
        # Case 4: lower value, same-sign derivatives, |derivative| does not
        # decrease.  Cubic step through sty and stp if bracketed, else a limit.
        if brackt:
            theta = 3 * (fp - fy) / (sty - stp) + dy + dp
            s = max(abs(theta), abs(dy), abs(dp))
            gamma = s * np.sqrt((theta / s) ** 2 - (dy / s) * (dp / s))
            if stp > sty:
                gamma = -gamma
            p = (gamma - dp) + theta
            q = ((gamma - dp) + gamma) + dy
            r = p / q
            stpc = stp + r * (sty - stp)
            stpf = stpc
        elif stp > stx:
            stpf = stpmax
        else:
            stpf = stpmin

    # Update the interval which contains a minimizer.
    if fp > fx:
        sty, fy, dy = stp, fp, dp
    else:
        if sgnd < 0:
            sty, fy, dy = stx, fx, dx
        stx, fx, dx = stp, fp, dp
    return stx, fx, dx, sty, fy, dy, stpf, brackt


def more_thuente(phi, alpha0=1.0, *, c1=1e-4, c2=0.9, xtol=None, alpha_min=None, alpha_max=None,
                 maxfev=20):
    """More-Thuente line search for the strong Wolfe conditions.

    Parameters
    ----------
    phi : LineFunction
        The objective along the ray, ``phi(alpha) = f(x + alpha d)``.
    alpha0 : float
        First trial step (> 0).
    c1, c2 : float
        Sufficient-decrease and curvature constants, ``0 < c1 < c2 < 1``
        (``c1 < 1/2`` for fast convergence of Newton-type methods; ``c2 = 0.9``
        for quasi-Newton, ``c2 = 0.1``-``0.4`` for nonlinear CG).
    xtol : float, optional
        Stop (status ``ROUNDING``) when the relative width of the interval of
        uncertainty is at most ``xtol``; default ``64 * eps`` of the dtype.
    alpha_min, alpha_max : float, optional
        Bounds on the step; default ``alpha_min`` is the dtype's resolution
        along ``d`` (:meth:`LineFunction.alpha_min`), ``alpha_max`` is
        ``min(1e10, sqrt(finfo.max))``.
    maxfev : int
        Maximum number of evaluations (each is one ``f`` and one gradient).

    Returns
    -------
    LineSearchResult
        ``success`` means the strong Wolfe conditions hold at ``alpha``.
        Otherwise ``alpha`` is the last trial step (``ROUNDING``, ``STEP_MAX``,
        ``STEP_MIN``, as ``dcsrch`` returns its warnings), or the best step
        found (``MAXFEV``), or 0 (``NONFINITE``, ``NOT_DESCENT``).
    """
    dt = phi.dtype.type
    fi = np.finfo(phi.dtype)
    finit, ginit = phi.phi0, phi.dphi0
    if not ginit < 0:
        return phi.result(0, S.NOT_DESCENT)
    c1, c2 = dt(c1), dt(c2)
    xtol = dt(64 * fi.eps) if xtol is None else dt(xtol)
    stpmin = phi.alpha_min() if alpha_min is None else dt(alpha_min)
    stpmax = dt(min(1e10, np.sqrt(fi.max))) if alpha_max is None else dt(alpha_max)
    if not stpmin < stpmax:
        return phi.result(0, S.STEP_MIN)
    stp = min(max(dt(alpha0), stpmin), stpmax)

    zero = dt(0)
    brackt = False
    stage = 1
    gtest = c1 * ginit
    width = stpmax - stpmin
    width1 = width / dt(_P5)
    stx, fx, gx = zero, finit, ginit
    sty, fy, gy = zero, finit, ginit
    stmin = zero
    stmax = stp + dt(_XTRAPU) * stp

    trials = 0
    with np.errstate(all="ignore"):
        while True:
            trials += 1  # counts cached re-visits too, so the loop is bounded by maxfev
            f, g = phi.value_and_slope(stp)
            if not (np.isfinite(f) and np.isfinite(g)):
                # Too long a step: make it an upper bound and halve towards stx.
                if stp > stx:
                    stpmax = min(stpmax, stp)
                    stmax = min(stmax, stp)
                new = stx + dt(_P5) * (stp - stx)
                if new == stx or new == stp or new < stpmin:
                    return phi.result(stx, S.NONFINITE if stx == 0 else S.ROUNDING)
                if trials >= maxfev:
                    return phi.result(stx, S.NONFINITE if stx == 0 else S.MAXFEV)
                stp = new
                continue

            ftest = finit + stp * gtest
            if stage == 1 and f <= ftest and g >= 0:
                stage = 2

            status = None
            if brackt and (stp <= stmin or stp >= stmax):
                status = S.ROUNDING
            if brackt and stmax - stmin <= xtol * stmax:
                status = S.ROUNDING
            if stp == stpmax and f <= ftest and g <= gtest:
                status = S.STEP_MAX
            if stp == stpmin and (f > ftest or g >= gtest):
                status = S.STEP_MIN
            if f <= ftest and abs(g) <= c2 * (-ginit):
                status = S.CONVERGED
            if status is not None:
                return phi.result(stp, status)

            # In the first stage, use the modified function psi when it helps
            # (a lower psi value but not a sufficient decrease yet).
            if stage == 1 and f <= fx and f > ftest:
                fm = f - stp * gtest
                fxm = fx - stx * gtest
                fym = fy - sty * gtest
                gm = g - gtest
                gxm = gx - gtest
                gym = gy - gtest
                stx, fxm, gxm, sty, fym, gym, stp_new, brackt = dcstep(
                    stx, fxm, gxm, sty, fym, gym, stp, fm, gm, brackt, stmin, stmax)
                fx = fxm + stx * gtest
                fy = fym + sty * gtest
                gx = gxm + gtest
                gy = gym + gtest
            else:
                stx, fx, gx, sty, fy, gy, stp_new, brackt = dcstep(
                    stx, fx, gx, sty, fy, gy, stp, f, g, brackt, stmin, stmax)
            phi.pin(stx)
            stp = stp_new

            # Decide if a bisection step is needed.
            if brackt:
                if abs(sty - stx) >= dt(_P66) * width1:
                    stp = stx + dt(_P5) * (sty - stx)
                width1 = width
                width = abs(sty - stx)

            # Set the minimum and maximum steps allowed for stp.
            if brackt:
                stmin = min(stx, sty)
                stmax = max(stx, sty)
            else:
                stmin = stp + dt(_XTRAPL) * (stp - stx)
                stmax = stp + dt(_XTRAPU) * (stp - stx)

            if not np.isfinite(stp):  # degenerate interpolation: bisect
                stp = stx + dt(_P5) * (sty - stx) if brackt else stmax
            stp = max(stp, stpmin)
            stp = min(stp, stpmax)

            # If further progress is not possible, let stp be the best point.
            if (brackt and (stp <= stmin or stp >= stmax)) or (
                    brackt and stmax - stmin <= xtol * stmax):
                stp = stx

            if trials >= maxfev:
                return phi.result(stx, S.MAXFEV)
