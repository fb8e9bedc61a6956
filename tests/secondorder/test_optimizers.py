"""Every second-order optimizer decreases the loss on an autoencoder and a
CNN, keeps float32 in float32, and rejects bad input clearly."""
import numpy as np
import pytest

from nnopt.optim.base import EmptyState, OptimizerStateError
from nnopt.optim.oracle import Oracle
from nnopt.secondorder import foof, gauss_newton, hessian_free, kbfgs, kbfgs_l, kfac, newton

OPTIMIZERS = {
    "kfac": lambda: kfac(learning_rate=0.3, damping=1e-2),
    "kfac_adaptive": lambda: kfac(learning_rate=0.3, damping=1e-1, adaptive_damping=True, damping_update_every=2,
                                  momentum=0.5, damping_mode="tikhonov", fisher="exact"),
    "foof": lambda: foof(learning_rate=1.0, damping=1e-2),  # no G^{-1}: steps scale like the gradient
    "kbfgs": lambda: kbfgs(learning_rate=0.3, damping=0.1),
    "kbfgs_l": lambda: kbfgs_l(learning_rate=0.3, damping=0.1, memory=5),
    "hessian_free": lambda: hessian_free(damping=1e-2, max_cg_iters=30),
    "newton": lambda: newton(damping=1e-2, max_params=300),
    "gauss_newton": lambda: gauss_newton(damping=1e-3, max_params=300),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_decreases_the_autoencoder_loss_in_its_dtype(name, dtype, autoencoder, train):
    obj = autoencoder.astype(dtype)
    theta = obj.net.init(seed=0, dtype=dtype)
    steps = 4 if name == "newton" else 12
    losses, theta1, state = train(OPTIMIZERS[name](), obj, theta, steps)
    assert theta1.dtype == dtype
    assert all(a.dtype == dtype for a in state if isinstance(a, np.ndarray) and a.dtype.kind == "f" and a.ndim)
    assert np.all(np.isfinite(losses))
    assert losses[-1] < 0.9 * losses[0]


@pytest.mark.parametrize("name", sorted(set(OPTIMIZERS) - {"newton"}))
def test_decreases_the_cnn_loss(name, cnn, train):
    theta = cnn.net.init(seed=0)
    steps = 3 if name == "gauss_newton" else 8
    losses, _, _ = train(OPTIMIZERS[name](), cnn, theta, steps)
    assert np.all(np.isfinite(losses))
    assert losses[-1] < 0.9 * losses[0]


def test_minibatches_through_the_oracle(autoencoder):
    """The optimizers read the current minibatch from the Oracle the training loop builds."""
    theta = autoencoder.net.init(seed=1)
    opt = kfac(learning_rate=0.3)
    state = opt.init(theta)
    rng = np.random.default_rng(0)
    first = autoencoder.fun(theta)
    for _ in range(30):
        batch = autoencoder.batch(rng.choice(autoencoder.n_samples, 16, replace=False))
        value, g = batch.value_and_grad(theta)
        u, state = opt.update(g, state, theta, value=value, oracle=Oracle(batch))
        theta = theta + u
    assert autoencoder.fun(theta) < 0.8 * first


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_bad_input_is_rejected_clearly(name, autoencoder):
    opt = OPTIMIZERS[name]()
    theta = autoencoder.net.init(seed=0)
    state = opt.init(theta)
    g = autoencoder.jac(theta)
    with pytest.raises(TypeError, match="params must be a real floating-point vector"):
        opt.init(np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match="grads has shape"):
        opt.update(g[:-1], state, theta, oracle=autoencoder)
    with pytest.raises(TypeError, match="grads has dtype float32 but the optimizer state is float64"):
        opt.update(g.astype(np.float32), state, theta, oracle=autoencoder)
    with pytest.raises(ValueError, match="needs params"):
        opt.update(g, state, None, oracle=autoencoder)
    with pytest.raises(OptimizerStateError, match="state must be the"):
        opt.update(g, EmptyState(), theta, oracle=autoencoder)
    with pytest.raises(ValueError, match="pass oracle="):
        opt.update(g, state, theta)


def test_hyperparameter_errors():
    with pytest.raises(ValueError, match="kfac: learning_rate must be in"):
        kfac(learning_rate=-1.0)
    with pytest.raises(ValueError, match="kfac: damping_mode must be one of"):
        kfac(damping_mode="diag")
    with pytest.raises(ValueError, match="kfac: fisher must be one of"):
        kfac(fisher="true")
    with pytest.raises(ValueError, match="inverse_update_every must be a positive integer"):
        foof(inverse_update_every=0)
    with pytest.raises(ValueError, match="ema_decay must be in"):
        kfac(ema_decay=1.0)
    with pytest.raises(TypeError, match="seed must be a non-negative integer"):
        kfac(seed=-1)
    with pytest.raises(ValueError, match="hessian_free: damping must be in"):
        hessian_free(damping=0.0)
    with pytest.raises(ValueError, match="max_cg_iters must be a positive integer"):
        hessian_free(max_cg_iters=0)


def test_a_non_finite_curvature_gives_a_non_finite_update_not_an_exception(autoencoder):
    theta = autoencoder.net.init(seed=0)
    theta[0] = np.nan
    opt = kfac()
    u, _ = opt.update(np.zeros_like(theta), opt.init(theta), theta, oracle=autoencoder)
    assert not np.all(np.isfinite(u))


@pytest.mark.parametrize("name", ["kfac", "kbfgs_l", "hessian_free"])
def test_with_the_training_loop_minibatches_and_checkpoint_resume(name, autoencoder, tmp_path):
    from nnopt.optim import train

    make = {
        "kfac": lambda: kfac(learning_rate=0.3, net=autoencoder.net),
        "kbfgs_l": lambda: kbfgs_l(learning_rate=0.3, damping=0.1, memory=3, net=autoencoder.net),
        "hessian_free": lambda: hessian_free(damping=1e-2, max_cg_iters=10),
    }[name]
    theta = autoencoder.net.init(seed=0)
    full = train(autoencoder, make(), theta, steps=8, batch_size=16, seed=1, progress=False)
    assert full.status == 0 and full.history.loss[-1] < full.history.loss[0]
    ck = tmp_path / "run.npz"
    train(autoencoder, make(), theta, steps=4, batch_size=16, seed=1, progress=False, checkpoint=ck)
    resumed = train(autoencoder, make(), theta, steps=8, batch_size=16, seed=1, progress=False, checkpoint=ck,
                    resume=True)
    np.testing.assert_array_equal(resumed.theta, full.theta)
