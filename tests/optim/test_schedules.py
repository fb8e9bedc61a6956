"""Every schedule matches its closed form, at scalar steps and on arrays."""
import math

import numpy as np
import pytest

from nnopt.optim import schedules as S

T = np.arange(0, 400)


def check(sched, closed_form, steps=T):
    vals = sched(steps)
    assert vals.dtype == np.float64 and vals.shape == steps.shape
    ref = np.array([closed_form(int(t)) for t in steps])
    np.testing.assert_allclose(vals, ref, rtol=1e-13, atol=1e-15)
    for t in (0, 1, 7, int(steps[-1])):
        v = sched(t)
        assert isinstance(v, float)
        assert v == pytest.approx(closed_form(t), rel=1e-13, abs=1e-15)


def test_constant():
    check(S.constant_schedule(0.3), lambda t: 0.3)


def test_piecewise_constant():
    check(S.piecewise_constant_schedule(1.0, {100: 0.5, 250: 0.1}),
          lambda t: 1.0 * (0.5 if t >= 100 else 1) * (0.1 if t >= 250 else 1))


def test_step():
    check(S.step_schedule(0.1, 30, gamma=0.5), lambda t: 0.1 * 0.5 ** (t // 30))


def test_exponential():
    check(S.exponential_decay(0.1, 0.99), lambda t: 0.1 * 0.99 ** t)
    check(S.exponential_decay(0.1, 0.5, transition_steps=50, staircase=True),
          lambda t: 0.1 * 0.5 ** (t // 50))
    check(S.exponential_decay(0.1, 0.5, transition_steps=50, end_value=0.02),
          lambda t: max(0.1 * 0.5 ** (t / 50), 0.02))


def test_exponential_horizon_li_zhuang_orabona():
    T_, beta = 300, 2.0
    alpha = (beta / T_) ** (1 / T_)
    check(S.exponential_decay_horizon(0.5, T_, beta), lambda t: 0.5 * alpha ** t)
    # it decays from eta_0 to eta_0 * beta / T over the horizon
    assert S.exponential_decay_horizon(0.5, T_, beta)(T_) == pytest.approx(0.5 * beta / T_)


def test_cosine():
    check(S.cosine_decay_schedule(0.1, 200),
          lambda t: 0.1 * 0.5 * (1 + math.cos(math.pi * min(t, 200) / 200)))
    check(S.cosine_decay_schedule(0.1, 200, alpha=0.1, exponent=2.0),
          lambda t: 0.1 * (0.9 * (0.5 * (1 + math.cos(math.pi * min(t, 200) / 200))) ** 2 + 0.1))


def sgdr(t, eta_max, T0, mult, eta_min):
    Ti, start = T0, 0
    while t - start >= Ti:
        start += Ti
        Ti *= mult
    return eta_min + (eta_max - eta_min) * 0.5 * (1 + math.cos(math.pi * (t - start) / Ti))


def test_cosine_restarts_sgdr():
    check(S.cosine_restarts_schedule(0.1, 50), lambda t: sgdr(t, 0.1, 50, 1, 0.0))
    check(S.cosine_restarts_schedule(0.1, 10, t_mult=2.0, min_value=0.01),
          lambda t: sgdr(t, 0.1, 10, 2, 0.01), steps=np.arange(0, 1300))
    check(S.cosine_restarts_schedule(0.1, 7, t_mult=1.5), lambda t: sgdr(t, 0.1, 7, 1.5, 0.0))


def test_polynomial_linear_warmup():
    check(S.polynomial_schedule(1.0, 0.1, 2.0, 100, transition_begin=20),
          lambda t: (0.9) * (1 - min(max(t - 20, 0), 100) / 100) ** 2 + 0.1)
    check(S.linear_schedule(0.0, 1.0, 100), lambda t: min(t, 100) / 100)
    check(S.linear_warmup(0.5, 40), lambda t: 0.5 * min(t, 40) / 40)


def test_join_and_warmup_cosine():
    s = S.join_schedules([S.constant_schedule(1.0), S.exponential_decay(0.5, 0.9)], [100])
    check(s, lambda t: 1.0 if t < 100 else 0.5 * 0.9 ** (t - 100))
    check(S.warmup_cosine_decay_schedule(0.0, 1.0, 50, 300, end_value=0.1),
          lambda t: t / 50 if t < 50 else
          0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(t - 50, 250) / 250)))


def test_one_cycle_like_torch():
    total, peak, pct, div, fdiv = 200, 1.0, 0.3, 25.0, 1e4
    init, low = peak / div, peak / div / fdiv
    up, down = pct * total - 1, total - 1

    def ref(t):
        def ann(a, b, f):
            return b + (a - b) / 2 * (math.cos(math.pi * f) + 1)
        if t <= up:
            return ann(init, peak, t / up)
        return ann(peak, low, (t - up) / (down - up))

    check(S.one_cycle_schedule(total, peak, pct, div, fdiv), ref, steps=np.arange(total))


def test_sutskever_momentum():
    def ref(t, mmax=0.99):
        return min(1 - 2 ** (-1 - math.log2(t // 250 + 1)), mmax)

    check(S.sutskever_momentum_schedule(0.99), ref, steps=np.arange(0, 40000, 37))
    s = S.sutskever_momentum_schedule(0.995)
    assert [s(0), s(250), s(500), s(750)] == pytest.approx([0.5, 0.75, 5 / 6, 0.875])
    assert s(10**6) == 0.995


def test_get_schedule_by_name_and_errors():
    assert S.get_schedule("cosine", 0.1, 100)(100) == pytest.approx(0.0, abs=1e-18)
    with pytest.raises(ValueError, match="unknown schedule name 'cosin'.*'cosine'"):
        S.get_schedule("cosin", 0.1, 10)
    with pytest.raises(ValueError, match="decay_steps must be >= 1"):
        S.cosine_decay_schedule(0.1, 0)
    with pytest.raises(ValueError, match="step must be >= 0"):
        S.constant_schedule(1.0)(-1)
    with pytest.raises(TypeError, match="step must be an integer"):
        S.constant_schedule(1.0)(1.5)
    with pytest.raises(ValueError, match="mu_max must be < 1"):
        S.sutskever_momentum_schedule(1.0)
    with pytest.raises(ValueError, match="strictly increasing"):
        S.join_schedules([S.constant_schedule(1.0)] * 3, [10, 5])
