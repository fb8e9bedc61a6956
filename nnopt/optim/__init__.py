"""Stochastic first-order optimizers as pure ``(init, update)`` pairs, schedules,
and the training loop.

    import nnopt.optim as optim
    opt = optim.adam(1e-3)
    state = opt.init(theta)
    updates, state = opt.update(grads, state, theta)
    theta = optim.apply_updates(theta, updates)

or ``result = optim.train(objective, opt, theta0, steps=1000, batch_size=32)``.

Modules: :mod:`~nnopt.optim.base` (protocol, chain), :mod:`~nnopt.optim.schedules`,
:mod:`~nnopt.optim.basic`, :mod:`~nnopt.optim.adaptive`, :mod:`~nnopt.optim.trust_ratio`,
:mod:`~nnopt.optim.clipping`, :mod:`~nnopt.optim.noise`, :mod:`~nnopt.optim.averaging`,
:mod:`~nnopt.optim.sam`, :mod:`~nnopt.optim.step_tuned`, :mod:`~nnopt.optim.flat_minima`,
:mod:`~nnopt.optim.alias` (named optimizers), :mod:`~nnopt.optim.oracle`,
:mod:`~nnopt.optim.train`, :mod:`~nnopt.optim.history`, :mod:`~nnopt.optim.callbacks`,
:mod:`~nnopt.optim.checkpoint`.
"""
from . import schedules
from .adaptive import (
    scale_by_adadelta,
    scale_by_adam,
    scale_by_adamax,
    scale_by_delayed_adagrad,
    scale_by_generalized_sign,
    scale_by_nadam,
    scale_by_rms,
    scale_by_rss,
)
from .alias import (
    OPTIMIZERS,
    adadelta,
    adagrad,
    adam,
    adamax,
    adamw,
    amsgrad,
    delayed_adagrad,
    entropy_sgd,
    gadam,
    gadamx,
    generalized_signsgd,
    get_optimizer,
    label_noise_sgd,
    lamb,
    lars,
    momentum,
    nadam,
    nesterov,
    noisy_sgd,
    normalized_gd,
    padam,
    rmsprop,
    sam,
    sgd,
    sibert_sgd,
    signsgd,
    sqrt_loss_gd,
)
from .averaging import averaged_params, ema_average, lookahead, tail_average
from .base import (
    ChainState,
    EmptyState,
    GradientTransformation,
    OptimizerStateError,
    apply_updates,
    chain,
    identity,
)
from .basic import (
    add_decayed_weights,
    normalize,
    scale,
    scale_by_learning_rate,
    scale_by_schedule,
    scale_by_sqrt_loss,
    trace,
)
from .callbacks import Callback, EarlyStopping, ProgressBar, StepInfo
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .clipping import apply_if_finite, clip, clip_by_global_norm, clip_by_weight_norm
from .flat_minima import entropy_gradient, replicated_sgd
from .history import History
from .noise import add_noise, label_noise_gradient, perturb_targets
from .oracle import Oracle
from .sam import sam_gradient
from .schedules import (
    SCHEDULES,
    constant_schedule,
    cosine_decay_schedule,
    cosine_restarts_schedule,
    exponential_decay,
    exponential_decay_horizon,
    get_schedule,
    join_schedules,
    linear_schedule,
    linear_warmup,
    one_cycle_schedule,
    piecewise_constant_schedule,
    polynomial_schedule,
    step_schedule,
    sutskever_momentum_schedule,
    warmup_cosine_decay_schedule,
)
from .step_tuned import step_tuned_sgd
from .train import TrainResult, train
from .trust_ratio import scale_by_lars, scale_by_trust_ratio

__all__ = [
    # protocol
    "GradientTransformation", "EmptyState", "ChainState", "OptimizerStateError",
    "apply_updates", "chain", "identity", "Oracle",
    # named optimizers
    "sgd", "momentum", "nesterov", "noisy_sgd", "normalized_gd", "sqrt_loss_gd", "sibert_sgd",
    "label_noise_sgd", "adagrad", "delayed_adagrad", "adadelta", "rmsprop", "adam", "adamw",
    "amsgrad", "adamax", "nadam", "padam", "gadam", "gadamx", "lars", "lamb",
    "generalized_signsgd", "signsgd", "sam", "entropy_sgd", "replicated_sgd", "step_tuned_sgd",
    "get_optimizer", "OPTIMIZERS",
    # transforms
    "scale", "scale_by_learning_rate", "scale_by_schedule", "trace", "add_decayed_weights",
    "normalize", "scale_by_sqrt_loss", "scale_by_rss", "scale_by_delayed_adagrad",
    "scale_by_rms", "scale_by_adadelta", "scale_by_adam", "scale_by_adamax", "scale_by_nadam",
    "scale_by_generalized_sign", "scale_by_trust_ratio", "scale_by_lars", "clip",
    "clip_by_global_norm", "clip_by_weight_norm", "apply_if_finite", "add_noise",
    "label_noise_gradient", "perturb_targets", "sam_gradient", "entropy_gradient",
    "tail_average", "ema_average", "lookahead", "averaged_params",
    # schedules
    "schedules", "SCHEDULES", "get_schedule", "constant_schedule", "piecewise_constant_schedule",
    "step_schedule", "exponential_decay", "exponential_decay_horizon", "cosine_decay_schedule",
    "cosine_restarts_schedule", "polynomial_schedule", "linear_schedule", "linear_warmup",
    "warmup_cosine_decay_schedule", "one_cycle_schedule", "join_schedules",
    "sutskever_momentum_schedule",
    # training
    "train", "TrainResult", "History", "Callback", "EarlyStopping", "ProgressBar", "StepInfo",
    "save_checkpoint", "load_checkpoint", "CheckpointError",
]


# Kronecker-factored and second-order methods (issue: K-FAC, K-BFGS, FOOF, HF),
# exposed here beside the first-order catalogue; imported last (they use nnopt.optim).
from ..secondorder import foof, gauss_newton, hessian_free, kbfgs, kbfgs_l, kfac, newton  # noqa: E402
__all__ += ["kfac", "kbfgs", "kbfgs_l", "foof", "hessian_free", "newton", "gauss_newton"]
