"""dtype faithfulness: every optimizer and transform keeps float32 in float32 and
float64 in float64, in its updates and its state; update never mutates its inputs."""
import numpy as np
import pytest

import nnopt.optim as optim
from nnopt.optim import schedules as S

from optim_problems import LeastSquares

# every transform and optimizer, with settings that exercise its options
FACTORIES = {
    "identity": lambda: optim.identity(),
    "scale": lambda: optim.scale(-0.1),
    "scale_by_schedule": lambda: optim.scale_by_schedule(S.cosine_decay_schedule(-0.1, 10)),
    "scale_by_learning_rate": lambda: optim.scale_by_learning_rate(S.exponential_decay(0.1, 0.9)),
    "trace": lambda: optim.trace(S.sutskever_momentum_schedule(0.9, 2), nesterov=True),
    "trace-dampening": lambda: optim.trace(0.9, dampening=0.2),
    "add_decayed_weights": lambda: optim.add_decayed_weights(1e-2),
    "add_decayed_weights-schedule": lambda: optim.add_decayed_weights(S.linear_schedule(0.1, 0.0, 5)),
    "normalize": lambda: optim.normalize(),
    "scale_by_sqrt_loss": lambda: optim.scale_by_sqrt_loss(),
    "scale_by_rss": lambda: optim.scale_by_rss(0.1),
    "scale_by_delayed_adagrad": lambda: optim.scale_by_delayed_adagrad(),
    "scale_by_delayed_adagrad-global": lambda: optim.scale_by_delayed_adagrad(coordinate_wise=False),
    "scale_by_rms-centered": lambda: optim.scale_by_rms(centered=True),
    "scale_by_adadelta": lambda: optim.scale_by_adadelta(),
    "scale_by_adam-power": lambda: optim.scale_by_adam(power=0.125),
    "scale_by_adam-ams-corrected": lambda: optim.scale_by_adam(amsgrad=True, amsgrad_max="corrected"),
    "scale_by_adamax": lambda: optim.scale_by_adamax(),
    "scale_by_nadam-optax": lambda: optim.scale_by_nadam(variant="optax"),
    "scale_by_generalized_sign": lambda: optim.scale_by_generalized_sign(),
    "scale_by_trust_ratio-blocks": lambda: optim.scale_by_trust_ratio(blocks=[(0, 2), (2, 5)]),
    "scale_by_lars": lambda: optim.scale_by_lars(weight_decay=0.1),
    "clip": lambda: optim.clip(0.1),
    "clip_by_global_norm": lambda: optim.clip_by_global_norm(0.1),
    "clip_by_weight_norm": lambda: optim.clip_by_weight_norm(0.1, 0.01),
    "apply_if_finite": lambda: optim.apply_if_finite(optim.adam(1e-2)),
    "add_noise": lambda: optim.add_noise(0.1),
    "label_noise_gradient": lambda: optim.label_noise_gradient(0.1),
    "sam_gradient-m": lambda: optim.sam_gradient(0.05, m=8),
    "entropy_gradient": lambda: optim.entropy_gradient(langevin_steps=3),
    "tail_average": lambda: optim.tail_average(optim.sgd(0.1), start=1),
    "ema_average": lambda: optim.ema_average(optim.sgd(0.1)),
    "lookahead": lambda: optim.lookahead(optim.sgd(0.1), sync_period=2),
    "nadamw": lambda: optim.get_optimizer("nadamw", 1e-2, weight_decay=0.1),
    "label_noise_sgd": lambda: optim.label_noise_sgd(0.1, sigma=0.1, momentum=0.5),
}
for _name in optim.OPTIMIZERS:
    if _name == "sam":
        FACTORIES["sam"] = lambda: optim.sam(optim.adam(1e-2), rho=0.05)
    elif _name not in FACTORIES:
        FACTORIES[_name] = (lambda n: lambda: optim.get_optimizer(n))(_name)

# scalar bookkeeping kept as Python-float-valued 0-d float64 arrays on purpose
SCALAR_FLOAT64 = {("ScaleByNadamState", "mu_product"), ("EmaAverageState", "correction"),
                  ("StepTunedState", "gamma")}


def walk(state, owner=None, field=None):
    if isinstance(state, tuple):
        fields = getattr(state, "_fields", None)
        for i, s in enumerate(state):
            if isinstance(s, tuple):
                yield from walk(s)
            else:
                yield type(state).__name__, fields[i] if fields else str(i), s
    else:  # pragma: no cover
        yield owner, field, state


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_dtype_preserved_and_inputs_untouched(name, dtype):
    obj = LeastSquares.random(n=32, d=5, seed=0, dtype=dtype)
    opt = FACTORIES[name]()
    theta = np.linspace(-1, 1, 5).astype(dtype)
    state = opt.init(theta)
    for k in range(4):
        f, g = obj.value_and_grad(theta)
        assert g.dtype == dtype
        keep = (theta.copy(), g.copy(), [np.copy(x) for _, _, x in walk(state)])
        updates, new_state = opt.update(g, state, theta, value=f, oracle=obj)
        # purity: nothing passed in was modified
        np.testing.assert_array_equal(theta, keep[0])
        np.testing.assert_array_equal(g, keep[1])
        for (_, _, x), x0 in zip(walk(state), keep[2]):
            np.testing.assert_array_equal(x, x0)
        assert isinstance(updates, np.ndarray) and updates.dtype == dtype, updates.dtype
        assert updates.shape == theta.shape
        for owner, field, leaf in walk(new_state):
            assert isinstance(leaf, np.ndarray), (owner, field, type(leaf))
            if leaf.dtype.kind == "f" and (owner, field) not in SCALAR_FLOAT64:
                assert leaf.dtype == dtype, (owner, field, leaf.dtype)
            elif leaf.dtype.kind != "f":
                assert leaf.dtype == np.int64 and leaf.ndim == 0, (owner, field, leaf.dtype)
        assert type(new_state) is type(state)
        theta = optim.apply_updates(theta, updates)
        state = new_state
    assert theta.dtype == dtype
    avg = optim.averaged_params(state)
    assert avg is None or avg.dtype == dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_train_keeps_dtype(dtype):
    obj = LeastSquares.random(n=40, d=4, seed=1, dtype=dtype)
    res = optim.train(obj, optim.gadam(1e-2), np.zeros(4, dtype), steps=12, batch_size=8,
                      progress=False)
    assert res.theta.dtype == dtype and res.theta_averaged.dtype == dtype
    assert res.history.loss.dtype == np.float64  # the record is plain float64 numbers
