"""Composition, wrappers and the oracle interface; clear errors on bad input."""
import numpy as np
import pytest

import nnopt.optim as optim
from nnopt.optim import schedules as S

from optim_problems import LeastSquares, TinyMLP


def test_chain_composes_and_merges_hyperparams():
    lr = S.cosine_decay_schedule(0.1, 10)
    opt = optim.chain(optim.clip_by_global_norm(1.0), optim.trace(0.9), optim.scale_by_learning_rate(lr))
    assert opt.hyperparams["learning_rate"] is lr and opt.hyperparams["momentum"] == 0.9
    g = np.array([3.0, 4.0])
    x = np.zeros(2)
    s = opt.init(x)
    u, s = opt.update(g, s, x)
    np.testing.assert_allclose(u, -0.1 * g / 5.0, rtol=1e-15)
    assert isinstance(s, optim.ChainState) and len(s.inner) == 3


def test_clipping_transforms():
    x = np.ones(3)
    g = np.array([3.0, -0.5, 4.0])
    u, _ = optim.clip(1.0).update(g, optim.clip(1.0).init(x))
    np.testing.assert_array_equal(u, [1.0, -0.5, 1.0])
    t = optim.clip_by_global_norm(2.0)
    u, _ = t.update(g, t.init(x))
    assert np.linalg.norm(u) == pytest.approx(2.0)
    u, _ = t.update(0.1 * g, t.init(x))
    np.testing.assert_array_equal(u, 0.1 * g)
    t = optim.clip_by_weight_norm(0.1, 0.05)  # threshold ||w|| sqrt(2 * 0.05 / 0.1) = ||w||
    u, _ = t.update(g, t.init(x), x)
    assert np.linalg.norm(u) == pytest.approx(np.sqrt(3.0))


def test_apply_if_finite_skips_bad_steps():
    opt = optim.apply_if_finite(optim.adam(0.1), max_consecutive_errors=2)
    x = np.zeros(2)
    s = opt.init(x)
    u, s = opt.update(np.array([1.0, 1.0]), s, x)
    good = s.inner_state
    u, s = opt.update(np.array([np.nan, 1.0]), s, x)
    np.testing.assert_array_equal(u, 0.0)
    assert s.inner_state is good and int(s.notfinite_count) == 1 and int(s.total_notfinite) == 1
    u, s_recover = opt.update(np.array([1.0, 1.0]), s, x)  # a good step after a bad one
    assert np.isfinite(u).all() and int(s_recover.notfinite_count) == 0
    assert int(s_recover.total_notfinite) == 1
    with np.errstate(invalid="ignore"):
        u, s = opt.update(np.array([np.inf, 1.0]), s, x)  # second in a row: passed through
    assert not np.isfinite(u).all() and int(s.notfinite_count) == 2
    assert s.inner_state is not good  # so that a divergence check further out sees it


def test_sam_m_sharpness_chunks():
    obj = LeastSquares.random(n=12, d=3, seed=0)
    x = np.array([0.3, -0.2, 0.1])
    rho = 0.05
    # m equal to the batch size is plain SAM
    full = optim.sam_gradient(rho)
    a, _ = full.update(obj.value_and_grad(x)[1], full.init(x), x, oracle=obj)
    same = optim.sam_gradient(rho, m=12)
    b, _ = same.update(obj.value_and_grad(x)[1], same.init(x), x, oracle=obj)
    np.testing.assert_array_equal(a, b)
    # m = 5: chunks 0-4, 5-9, 10-11, weighted by size
    t = optim.sam_gradient(rho, m=5)
    c, _ = t.update(obj.value_and_grad(x)[1], t.init(x), x, oracle=obj)
    ref = np.zeros(3)
    for idx in (range(0, 5), range(5, 10), range(10, 12)):
        sub = obj.batch(np.array(idx))
        gi = sub.value_and_grad(x)[1]
        ref += len(idx) / 12 * sub.value_and_grad(x + rho * gi / np.linalg.norm(gi))[1]
    np.testing.assert_allclose(c, ref, rtol=1e-13)
    with pytest.raises(TypeError, match="m-sharpness needs an objective over examples"):
        t.update(np.ones(3), t.init(x), x, oracle=lambda w: (w @ w, 2 * w))


def test_label_noise_gradient_uses_perturbed_targets():
    obj = LeastSquares.random(n=10, d=3, seed=1)
    x = np.zeros(3)
    t = optim.label_noise_gradient(0.3, seed=4)
    g, s = t.update(obj.value_and_grad(x)[1], t.init(x), x, oracle=obj)
    rng = np.random.default_rng([4, 0, 0])
    Yn = obj.Y + 0.3 * rng.standard_normal(obj.Y.shape)
    np.testing.assert_allclose(g, obj.with_targets(Yn).value_and_grad(x)[1], rtol=1e-14)
    g2, _ = t.update(obj.value_and_grad(x)[1], s, x, oracle=obj)
    assert not np.allclose(g, g2)  # fresh noise at the next step
    # label flipping for integer labels through a custom perturbation
    t = optim.label_noise_gradient(0.5, kind="flip", n_classes=3)
    with pytest.raises(TypeError, match="needs integer labels"):
        t.update(np.zeros(3), t.init(x), x, oracle=obj)
    with pytest.raises(TypeError, match=r"must expose its targets as \.Y"):
        optim.label_noise_gradient(0.1).update(np.zeros(3), t.init(x), x,
                                               oracle=lambda w: (0.0, w))


def test_oracle_methods_need_an_oracle():
    x = np.zeros(2)
    for opt in (optim.sam(optim.sgd(0.1)), optim.step_tuned_sgd(), optim.entropy_sgd(),
                optim.replicated_sgd(), optim.label_noise_sgd()):
        with pytest.raises(ValueError, match="pass oracle="):
            opt.update(np.ones(2), opt.init(x), x)
    t = optim.sqrt_loss_gd(0.1)
    with pytest.raises(ValueError, match="needs the loss value"):
        t.update(np.ones(2), t.init(x), x)


def test_oracle_accepts_objects_functions_and_nnp_functions():
    import nnopt.numpy as nnp

    x = np.array([1.0, 2.0])
    opt = optim.sam(optim.sgd(0.1), rho=0.1)
    ref = None
    for oracle in (lambda w: nnp.sum(w ** 2),          # nnp function, differentiated for us
                   type("O", (), {"value_and_grad": lambda self, w: (w @ w, 2 * w)})(),
                   type("F", (), {"fun": lambda self, w: w @ w, "jac": lambda self, w: 2 * w})()):
        u, _ = opt.update(2 * x, opt.init(x), x, oracle=oracle)
        ref = u if ref is None else ref
        np.testing.assert_allclose(u, ref, rtol=1e-15)
    e = 0.1 * x / np.linalg.norm(x)
    np.testing.assert_allclose(ref, -0.1 * 2 * (x + e), rtol=1e-15)


def test_trust_ratio_blocks_and_zero_norms():
    t = optim.scale_by_trust_ratio(blocks=[slice(0, 2), slice(2, 4)])
    w = np.array([0.0, 0.0, 3.0, 4.0])
    g = np.array([1.0, 1.0, 0.0, 2.0])
    u, _ = t.update(g, t.init(w), w)
    np.testing.assert_allclose(u, [1.0, 1.0, 0.0, 5.0])  # ratio 1 where ||w|| = 0
    with pytest.raises(ValueError, match="must partition"):
        optim.lamb(blocks=[slice(0, 2), slice(3, 4)]).init(w)
    with pytest.raises(ValueError, match="cover range"):
        optim.lamb(blocks=[slice(0, 2)]).init(w)


def test_mlp_training_with_autodiff_objective():
    obj = TinyMLP.random(n=24, d=2, hidden=5, seed=3, dtype=np.float32)
    th0 = obj.init(seed=0)
    res = optim.train(obj, optim.adam(0.05), th0, epochs=10, batch_size=8, progress=False)
    assert res.theta.dtype == np.float32
    assert obj.fun(res.theta) < 0.5 * obj.fun(th0)


def test_bad_input_errors():
    x = np.zeros(3)
    with pytest.raises(ValueError, match="unknown optimizer name 'adamm'.*'adam'"):
        optim.get_optimizer("adamm")
    with pytest.raises(ValueError, match=r"learning_rate must be in \[0.0, inf\], got -0.1"):
        optim.adam(-0.1)
    with pytest.raises(ValueError, match=r"b1 must be in \[0.0, 1.0\), got 1.0"):
        optim.adam(1e-3, b1=1.0)
    with pytest.raises(ValueError, match=r"b2 must be in \[0.0, 1.0\), got -0.5"):
        optim.nadam(b2=-0.5)
    with pytest.raises(ValueError, match="momentum must be in"):
        optim.sgd(0.1, momentum=1.5)
    with pytest.raises(ValueError, match=r"learning_rate\(0\) must be in"):
        optim.sgd(lambda t: -1.0)
    with pytest.raises(TypeError, match="learning_rate must be a real number"):
        optim.sgd("0.1")
    with pytest.raises(ValueError, match="Nesterov momentum requires momentum > 0"):
        optim.sgd(0.1, nesterov=True)
    opt = optim.adam(1e-3)
    s = opt.init(x)
    with pytest.raises(ValueError, match=r"grads has shape \(4,\).*shape \(3,\)"):
        opt.update(np.zeros(4), s, x)
    with pytest.raises(TypeError, match="grads has dtype float32 but the optimizer state is float64"):
        opt.update(np.zeros(3, np.float32), s, x)
    with pytest.raises(optim.OptimizerStateError, match="was it made by another optimizer"):
        opt.update(np.zeros(3), optim.sgd(0.1, momentum=0.9).init(x), x)
    with pytest.raises(optim.OptimizerStateError, match="ScaleByAdamState.*ScaleByNadamState"):
        opt.update(np.zeros(3), optim.nadam().init(x), x)
    with pytest.raises(ValueError, match="one flat 1-D vector"):
        opt.init(np.zeros((2, 2)))
    with pytest.raises(TypeError, match="real floating-point vector"):
        opt.init(np.zeros(3, dtype=np.int64))
    with pytest.raises(TypeError, match="must be a 1-D NumPy array"):
        opt.init([0.0, 1.0])
    with pytest.raises(ValueError, match="needs params"):
        optim.adamw(1e-3).update(np.zeros(3), optim.adamw(1e-3).init(x))
    with pytest.raises(TypeError, match="argument 1 must be a GradientTransformation"):
        optim.chain(optim.sgd(0.1), "adam")
    with pytest.raises(TypeError, match="base must be an optimizer"):
        optim.sam(0.1)
    with pytest.raises(ValueError, match="amsgrad_max must be one of"):
        optim.amsgrad(amsgrad_max="max")
    with pytest.raises(ValueError, match="updates has shape"):
        optim.apply_updates(x, np.zeros(2))


def test_with_nnopt_objective():
    import nnopt
    from nnopt.nn import MLP

    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 2))
    Y = np.sin(X[:, :1] + X[:, 1:])
    obj = nnopt.Objective(MLP([2, 6, 1]), "mse", X, Y)
    theta0 = obj.net.init(seed=0)
    f0 = obj.fun(theta0)
    for opt in (optim.adam(0.02), optim.sam(optim.sgd(0.1), rho=0.02, m=5),
                optim.label_noise_sgd(0.1, sigma=0.05)):
        res = optim.train(obj, opt, theta0, epochs=8, batch_size=10, progress=False)
        assert res.status == 0 and obj.fun(res.theta) < 0.7 * f0
    # label noise on an nnopt.Objective: the gradient with noisy targets
    t = optim.label_noise_gradient(0.2, seed=1)
    g, _ = t.update(obj.jac(theta0), t.init(theta0), theta0, oracle=obj)
    Yn = obj.Y + 0.2 * np.random.default_rng([1, 0, 0]).standard_normal(obj.Y.shape)
    np.testing.assert_allclose(g, nnopt.Objective(obj.net, "mse", X, Yn).jac(theta0), rtol=1e-12)
