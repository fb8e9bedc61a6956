"""Named optimizers: one-line compositions of transforms, with their update rules.

Throughout, ``g_t`` is the (minibatch) gradient at ``w_t``, ``eta_t`` the
learning rate (a float or a schedule), and the update is
``w_{t+1} = w_t + u_t``.  For the methods PyTorch also has (SGD, momentum,
Nesterov, AdaGrad, RMSProp, Adam, AdamW, AMSGrad, AdaMax, NAdam, AdaDelta),
the defaults and the update rule are exactly ``torch.optim``'s (torch 2.x),
including the placement of ``eps``, the bias corrections, AdaGrad's initial
accumulator, NAdam's momentum decay and AMSGrad's maximum.  Other published
variants are options.
"""
from __future__ import annotations

import difflib
import functools

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
from .averaging import tail_average
from .base import GradientTransformation, at, chain, hyper
from .basic import (
    add_decayed_weights,
    normalize,
    scale_by_learning_rate,
    scale_by_sqrt_loss,
    trace,
)
from .clipping import clip_by_weight_norm
from .flat_minima import entropy_gradient, replicated_sgd
from .noise import add_noise, label_noise_gradient
from .sam import sam_gradient
from .step_tuned import step_tuned_sgd
from .trust_ratio import scale_by_lars, scale_by_trust_ratio

__all__ = [
    "sgd", "momentum", "nesterov", "adagrad", "delayed_adagrad", "adadelta", "rmsprop",
    "adam", "adamw", "amsgrad", "adamax", "nadam", "padam", "lars", "lamb",
    "generalized_signsgd", "signsgd", "sam", "label_noise_sgd", "normalized_gd",
    "sqrt_loss_gd", "sibert_sgd", "step_tuned_sgd", "gadam", "gadamx", "entropy_sgd",
    "replicated_sgd", "noisy_sgd", "get_optimizer", "OPTIMIZERS",
]


def _wd(weight_decay, where):
    wd = hyper(weight_decay, "weight_decay", where)
    return [] if (not callable(wd) and wd == 0.0) else [add_decayed_weights(wd)]


def _momentum(momentum, nesterov, where, dampening=0.0):
    if not callable(momentum):
        hyper(momentum, "momentum", where, high=1.0, high_open=True)
        if momentum == 0.0:
            if nesterov:
                raise ValueError(f"{where}: Nesterov momentum requires momentum > 0")
            return []
    return [trace(momentum, nesterov=nesterov, dampening=dampening)]


# ---------------------------------------------------------------------------
# SGD family
# ---------------------------------------------------------------------------


def sgd(learning_rate=1e-3, momentum=0.0, nesterov=False, *, dampening=0.0, weight_decay=0.0):
    """Stochastic gradient descent with optional heavy-ball or Nesterov momentum
    (Robbins & Monro 1951; Polyak 1964; Sutskever, Martens, Dahl & Hinton 2013), torch's form.

    .. math::

        g_t \\leftarrow g_t + \\lambda w_t, \\quad b_1 = g_1,\\
        b_t = \\mu_t b_{t-1} + (1-\\tau) g_t, \\quad
        u_t = -\\eta_t\\, b_t \\ \\ (\\text{Nesterov: } -\\eta_t (g_t + \\mu_t b_t)).

    ``momentum`` may be a schedule, e.g. Sutskever et al.'s
    :func:`~nnopt.optim.schedules.sutskever_momentum_schedule`.
    Defaults as ``torch.optim.SGD`` (lr 1e-3).
    """
    w = "sgd"
    return chain(*_wd(weight_decay, w), *_momentum(momentum, nesterov, w, dampening),
                 scale_by_learning_rate(learning_rate))


def momentum(learning_rate=1e-2, momentum=0.9, *, dampening=0.0, weight_decay=0.0):
    """Heavy-ball momentum (Polyak 1964): :func:`sgd` with ``momentum=0.9``."""
    return sgd(learning_rate, momentum, False, dampening=dampening, weight_decay=weight_decay)


def nesterov(learning_rate=1e-2, momentum=0.9, *, weight_decay=0.0):
    """Nesterov's accelerated gradient in Sutskever et al.'s (2013) form:
    :func:`sgd` with ``nesterov=True``."""
    return sgd(learning_rate, momentum, True, weight_decay=weight_decay)


def noisy_sgd(learning_rate=1e-2, eta=0.01, gamma=0.55, *, momentum=0.0, seed=0):
    """SGD on gradients with annealed Gaussian noise (Neelakantan et al. 2015):
    ``u_t = -eta_t (g_t + N(0, eta / (1 + t)^gamma))`` (see :func:`~nnopt.optim.noise.add_noise`)."""
    return chain(add_noise(eta, gamma, seed), *_momentum(momentum, False, "noisy_sgd"),
                 scale_by_learning_rate(learning_rate))


def normalized_gd(learning_rate=1e-2):
    """Normalised gradient descent, ``u_t = -eta_t g_t / ||g_t||`` (Arora, Li &
    Panigrahi 2022, ICML: at the edge of stability it reduces sharpness)."""
    return chain(normalize(), scale_by_learning_rate(learning_rate))


def sqrt_loss_gd(learning_rate=1e-2):
    """Gradient descent on ``sqrt(L)``, ``u_t = -eta_t g_t / (2 sqrt(L(w_t)))``
    (Arora, Li & Panigrahi 2022, Sec. 4).  Needs ``value=`` in ``update``."""
    return chain(scale_by_sqrt_loss(), scale_by_learning_rate(learning_rate))


def sibert_sgd(learning_rate=1e-2, weight_decay=1e-2, momentum=0.0):
    """The SIBERT recipe (Li, Bhojanapalli, Zaheer, Reddi & Kumar 2022, ICML): SGD
    with weight decay and global clipping of the loss gradient at
    ``||w|| sqrt(2 lambda / eta)``:

    .. math::

        g \\leftarrow g \\min\\big(1, \\|w\\| \\sqrt{2\\lambda/\\eta} / \\|g\\|\\big), \\qquad
        u = -\\eta (g + \\lambda w)\\ \\text{(with optional momentum)}.

    Meant for scale-invariant networks, where it makes training robust to
    the initial weight norm and learning rate.
    """
    return chain(clip_by_weight_norm(learning_rate, weight_decay),
                 add_decayed_weights(weight_decay), *_momentum(momentum, False, "sibert_sgd"),
                 scale_by_learning_rate(learning_rate))


def label_noise_sgd(learning_rate=1e-2, sigma=0.1, *, momentum=0.0, kind="gaussian",
                    n_classes=None, seed=0, perturb=None):
    """Label-noise SGD (Blanc et al. 2020; Damian, Ma & Lee 2021): SGD on the gradient
    with freshly perturbed targets ``y + sigma xi_t`` (or flipped labels), see
    :func:`~nnopt.optim.noise.label_noise_gradient`.  Needs ``oracle=``."""
    return chain(label_noise_gradient(sigma, kind=kind, n_classes=n_classes, seed=seed,
                                      perturb=perturb),
                 *_momentum(momentum, False, "label_noise_sgd"),
                 scale_by_learning_rate(learning_rate))


# ---------------------------------------------------------------------------
# AdaGrad family
# ---------------------------------------------------------------------------


def adagrad(learning_rate=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
            eps=1e-10):
    """AdaGrad (Duchi, Hazan & Singer 2011), ``torch.optim.Adagrad``'s rule.

    .. math::

        g_t \\leftarrow g_t + \\lambda w_t, \\quad
        s_t = s_{t-1} + g_t^2 \\ (s_0 = \\text{initial\\_accumulator\\_value}), \\quad
        u_t = -\\frac{\\eta}{1 + (t-1)\\,\\text{lr\\_decay}} \\frac{g_t}{\\sqrt{s_t} + \\epsilon}.
    """
    w = "adagrad"
    lr = hyper(learning_rate, "learning_rate", w)
    dec = hyper(lr_decay, "lr_decay", w, allow_schedule=False)
    if dec != 0.0:
        base = lr

        def lr_sched(step):
            return at(base, int(step)) / (1.0 + int(step) * dec)

        lr = lr_sched
    return chain(*_wd(weight_decay, w), scale_by_rss(initial_accumulator_value, eps),
                 scale_by_learning_rate(lr))


def delayed_adagrad(learning_rate=0.1, beta=1.0, exponent=0.5, coordinate_wise=True):
    """SGD with delayed AdaGrad step sizes (Li & Orabona 2019, AISTATS):

    .. math:: u_t = -\\frac{\\alpha}{(\\beta + \\sum_{i<t} g_i^2)^{1/2+\\epsilon}} g_t,

    per coordinate (or with ``||g_i||^2``, ``coordinate_wise=False``);
    ``exponent = 1/2 + epsilon``.  See
    :func:`~nnopt.optim.adaptive.scale_by_delayed_adagrad`.
    """
    return chain(scale_by_delayed_adagrad(beta, exponent, coordinate_wise),
                 scale_by_learning_rate(learning_rate))


def adadelta(learning_rate=1.0, rho=0.9, eps=1e-6, weight_decay=0.0):
    """AdaDelta (Zeiler 2012), ``torch.optim.Adadelta``'s rule (with a learning rate, default 1):

    .. math::

        v_t = \\rho v_{t-1} + (1-\\rho) g_t^2, \\quad
        d_t = \\frac{\\sqrt{a_{t-1} + \\epsilon}}{\\sqrt{v_t + \\epsilon}} g_t, \\quad
        a_t = \\rho a_{t-1} + (1-\\rho) d_t^2, \\quad u_t = -\\eta d_t.
    """
    return chain(*_wd(weight_decay, "adadelta"), scale_by_adadelta(rho, eps),
                 scale_by_learning_rate(learning_rate))


def rmsprop(learning_rate=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
            centered=False):
    """RMSProp (Tieleman & Hinton 2012), ``torch.optim.RMSprop``'s rule.

    .. math::

        v_t = \\alpha v_{t-1} + (1-\\alpha) g_t^2, \\quad
        \\bar v_t = v_t - m_t^2 \\text{ (centered, } m_t = \\alpha m_{t-1} + (1-\\alpha) g_t),

        b_t = \\mu b_{t-1} + g_t / (\\sqrt{\\bar v_t} + \\epsilon), \\quad u_t = -\\eta b_t.
    """
    w = "rmsprop"
    return chain(*_wd(weight_decay, w), scale_by_rms(alpha, eps, centered),
                 *_momentum(momentum, False, w), scale_by_learning_rate(learning_rate))


# ---------------------------------------------------------------------------
# Adam family
# ---------------------------------------------------------------------------


def adam(learning_rate=1e-3, b1=0.9, b2=0.999, eps=1e-8, *, weight_decay=0.0, amsgrad=False):
    """Adam (Kingma & Ba 2015, Algorithm 1), ``torch.optim.Adam``'s rule.

    .. math::

        g_t \\leftarrow g_t + \\lambda w_t, \\quad
        m_t = \\beta_1 m_{t-1} + (1-\\beta_1) g_t, \\quad
        v_t = \\beta_2 v_{t-1} + (1-\\beta_2) g_t^2,

        u_t = -\\frac{\\eta}{1-\\beta_1^t} \\frac{m_t}{\\sqrt{v_t}/\\sqrt{1-\\beta_2^t} + \\epsilon}.

    ``weight_decay`` is L2 ("coupled"); for decoupled decay use :func:`adamw`.
    """
    return chain(*_wd(weight_decay, "adam"), scale_by_adam(b1, b2, eps, amsgrad=amsgrad),
                 scale_by_learning_rate(learning_rate))


def adamw(learning_rate=1e-3, b1=0.9, b2=0.999, eps=1e-8, *, weight_decay=1e-2, amsgrad=False):
    """AdamW (Loshchilov & Hutter 2019, Algorithm 2), ``torch.optim.AdamW``'s rule:
    decoupled weight decay,

    .. math:: u_t = -\\eta \\Big(\\frac{\\hat m_t}{\\sqrt{\\hat v_t} + \\epsilon} + \\lambda w_t\\Big)

    (torch's ``w <- w (1 - eta lambda)`` then the Adam step).
    """
    return chain(scale_by_adam(b1, b2, eps, amsgrad=amsgrad), *_wd(weight_decay, "adamw"),
                 scale_by_learning_rate(learning_rate))


def amsgrad(learning_rate=1e-3, b1=0.9, b2=0.999, eps=1e-8, *, weight_decay=0.0,
            amsgrad_max="raw"):
    """AMSGrad (Reddi, Kale & Kumar 2018), ``torch.optim.Adam(amsgrad=True)``'s rule.

    .. math::

        \\hat v^{\\max}_t = \\max(\\hat v^{\\max}_{t-1}, v_t), \\qquad
        u_t = -\\frac{\\eta}{1-\\beta_1^t} \\frac{m_t}{\\sqrt{\\hat v^{\\max}_t}/\\sqrt{1-\\beta_2^t} + \\epsilon}.

    ``amsgrad_max="corrected"`` takes the maximum of the bias-corrected
    ``v_t / (1 - b2^t)`` instead (optax's form).
    """
    return chain(*_wd(weight_decay, "amsgrad"),
                 scale_by_adam(b1, b2, eps, amsgrad=True, amsgrad_max=amsgrad_max),
                 scale_by_learning_rate(learning_rate))


def adamax(learning_rate=2e-3, b1=0.9, b2=0.999, eps=1e-8, *, weight_decay=0.0):
    """AdaMax (Kingma & Ba 2015, Algorithm 2), ``torch.optim.Adamax``'s rule.

    .. math::

        m_t = \\beta_1 m_{t-1} + (1-\\beta_1) g_t, \\quad
        u_t = \\max(\\beta_2 u_{t-1}, |g_t| + \\epsilon), \\quad
        \\Delta w_t = -\\frac{\\eta}{1-\\beta_1^t} \\frac{m_t}{u_t}.
    """
    return chain(*_wd(weight_decay, "adamax"), scale_by_adamax(b1, b2, eps),
                 scale_by_learning_rate(learning_rate))


def nadam(learning_rate=2e-3, b1=0.9, b2=0.999, eps=1e-8, *, weight_decay=0.0,
          momentum_decay=4e-3, decoupled_weight_decay=False, variant="torch"):
    """NAdam (Dozat 2016), ``torch.optim.NAdam``'s rule, with the momentum schedule
    ``mu_t = b1 (1 - 0.5 * 0.96^(t * momentum_decay))``:

    .. math::

        u_t = -\\eta\\Big(\\frac{1-\\mu_t}{1-\\prod_{i\\le t}\\mu_i} g_t
              + \\frac{\\mu_{t+1}}{1-\\prod_{i\\le t+1}\\mu_i} m_t\\Big)
              \\Big/ \\Big(\\sqrt{v_t/(1-\\beta_2^t)} + \\epsilon\\Big).

    ``decoupled_weight_decay=True`` is NAdamW; ``variant="optax"`` is optax's
    constant-momentum NAdam (see :func:`~nnopt.optim.adaptive.scale_by_nadam`).
    """
    d = scale_by_nadam(b1, b2, eps, momentum_decay, variant)
    if decoupled_weight_decay:
        return chain(d, *_wd(weight_decay, "nadam"), scale_by_learning_rate(learning_rate))
    return chain(*_wd(weight_decay, "nadam"), d, scale_by_learning_rate(learning_rate))


def padam(learning_rate=0.1, b1=0.9, b2=0.999, eps=1e-8, *, partial=0.125, weight_decay=0.0):
    """Padam, partially adaptive momentum estimation (Chen & Gu 2018; Chen et al. 2020, IJCAI):

    .. math:: u_t = -\\eta\\, \\hat m_t / ((\\hat v^{\\max}_t)^p + \\epsilon), \\qquad p \\in (0, 1/2],

    with AMSGrad's maximum; ``p = 1/2`` is AMSGrad, ``p -> 0`` SGD with
    momentum.  ``weight_decay`` is decoupled.
    """
    return chain(scale_by_adam(b1, b2, eps, amsgrad=True, power=partial),
                 *_wd(weight_decay, "padam"), scale_by_learning_rate(learning_rate))


def gadam(learning_rate=1e-3, b1=0.9, b2=0.999, eps=1e-8, *, weight_decay=0.0,
          average_start=0, average_every=1):
    """Gadam (Granziol, Wan, Garipov, Vetrov & Roberts 2021, Iterate Averaging as
    Regularization for Stochastic Gradient Descent / "Gadam"): AdamW with
    decoupled weight decay plus tail iterate averaging from step
    ``average_start`` (every ``average_every`` steps).  The trajectory is
    AdamW's; the averaged iterate (``averaged_params(state)``,
    ``result.theta_averaged``) is the one to evaluate.
    """
    return tail_average(adamw(learning_rate, b1, b2, eps, weight_decay=weight_decay),
                        average_start, average_every)


def gadamx(learning_rate=0.1, b1=0.9, b2=0.999, eps=1e-8, *, partial=0.125, weight_decay=0.0,
           average_start=0, average_every=1):
    """GadamX (Granziol et al. 2021): partially adaptive Padam (exponent ``partial``)
    with decoupled weight decay plus tail iterate averaging."""
    return tail_average(padam(learning_rate, b1, b2, eps, partial=partial,
                              weight_decay=weight_decay), average_start, average_every)


def lars(learning_rate=1.0, momentum=0.9, *, weight_decay=0.0, trust_coefficient=0.001,
         eps=0.0, nesterov=False, blocks=None):
    """LARS (You, Gitman & Ginsburg 2017, Large Batch Training of Convolutional
    Networks, Algorithm 1):

    .. math::

        \\lambda^{(l)} = \\eta_{\\rm trust} \\frac{\\|w^{(l)}\\|}{\\|g^{(l)}\\| + \\beta\\|w^{(l)}\\|},
        \\quad b_t = m b_{t-1} + \\gamma_t \\lambda^{(l)} (g^{(l)} + \\beta w^{(l)}), \\quad u_t = -b_t,

    per block ``l`` of ``blocks`` (see :mod:`nnopt.optim.trust_ratio`).
    """
    return chain(scale_by_lars(trust_coefficient, weight_decay, eps, blocks),
                 *_momentum(momentum, nesterov, "lars"), scale_by_learning_rate(learning_rate))


def lamb(learning_rate=1e-3, b1=0.9, b2=0.999, eps=1e-6, *, weight_decay=0.0, blocks=None):
    """LAMB (You, Li, Reddi, Hseu, Kumar, Bhojanapalli, Song, Demmel, Keutzer &
    Hsieh 2020, Large Batch Optimization for Deep Learning, Algorithm 2):

    .. math::

        r_t = \\frac{\\hat m_t}{\\sqrt{\\hat v_t} + \\epsilon} + \\lambda w_t, \\qquad
        u^{(l)}_t = -\\eta_t \\frac{\\|w^{(l)}_t\\|}{\\|r^{(l)}_t\\|} r^{(l)}_t.
    """
    return chain(scale_by_adam(b1, b2, eps), *_wd(weight_decay, "lamb"),
                 scale_by_trust_ratio(blocks=blocks), scale_by_learning_rate(learning_rate))


def generalized_signsgd(learning_rate=1e-3, b1=0.9, b2=0.99, eps=1e-8):
    """Generalized SignSGD (Crawshaw et al. 2022, NeurIPS, Algorithm 1):
    ``u_t = -eta_t m_t / (sqrt(v_t) + eps)`` without bias correction; see
    :func:`~nnopt.optim.adaptive.scale_by_generalized_sign`."""
    return chain(scale_by_generalized_sign(b1, b2, eps), scale_by_learning_rate(learning_rate))


def signsgd(learning_rate=1e-3):
    """signSGD (Bernstein, Wang, Azizzadenesheli & Anandkumar 2018): ``u_t = -eta_t sign(g_t)``;
    generalized SignSGD with ``b1 = b2 = eps = 0``."""
    return generalized_signsgd(learning_rate, 0.0, 0.0, 0.0)


def sam(base, rho=0.05, m=None):
    """Sharpness-aware minimisation (Foret et al. 2021) around any ``base`` optimizer:
    ``base`` follows ``g = grad L_B(w + rho grad L_B(w) / ||grad L_B(w)||)``
    (with m-sharpness when ``m`` is given), see :func:`~nnopt.optim.sam.sam_gradient`.

    Example: ``sam(sgd(0.1, momentum=0.9), rho=0.05)``.  Needs ``oracle=``.
    """
    if not isinstance(base, GradientTransformation):
        raise TypeError(f"sam: base must be an optimizer (GradientTransformation), e.g. sgd(0.1); "
                        f"got {type(base).__name__}")
    return chain(sam_gradient(rho, m), base)


def entropy_sgd(learning_rate=1.0, momentum=0.0, nesterov=False, *, gamma=0.03, gamma_growth=1e-3,
                langevin_steps=20, langevin_lr=0.1, noise=1e-4, alpha=0.75, seed=0):
    """Entropy-SGD (Chaudhari et al. 2017, Algorithm 1): SGD (optionally with
    momentum) on the local-entropy gradient ``gamma_t (w - <w'>)`` estimated by
    ``langevin_steps`` SGLD steps; see :func:`~nnopt.optim.flat_minima.entropy_gradient`.
    Needs ``oracle=``."""
    return chain(entropy_gradient(gamma, gamma_growth, langevin_steps, langevin_lr, noise, alpha,
                                  seed),
                 *_momentum(momentum, nesterov, "entropy_sgd"),
                 scale_by_learning_rate(learning_rate))


OPTIMIZERS = {
    "sgd": sgd,
    "momentum": momentum,
    "nesterov": nesterov,
    "noisy_sgd": noisy_sgd,
    "normalized_gd": normalized_gd,
    "sqrt_loss_gd": sqrt_loss_gd,
    "sibert_sgd": sibert_sgd,
    "label_noise_sgd": label_noise_sgd,
    "adagrad": adagrad,
    "delayed_adagrad": delayed_adagrad,
    "adadelta": adadelta,
    "rmsprop": rmsprop,
    "adam": adam,
    "adamw": adamw,
    "amsgrad": amsgrad,
    "adamax": adamax,
    "nadam": nadam,
    "nadamw": functools.partial(nadam, decoupled_weight_decay=True),
    "padam": padam,
    "gadam": gadam,
    "gadamx": gadamx,
    "lars": lars,
    "lamb": lamb,
    "generalized_signsgd": generalized_signsgd,
    "signsgd": signsgd,
    "sam": sam,
    "entropy_sgd": entropy_sgd,
    "replicated_sgd": replicated_sgd,
    "step_tuned_sgd": step_tuned_sgd,
}


def get_optimizer(name, *args, **kwargs):
    """Build a named optimizer, e.g. ``get_optimizer("adam", 1e-3)``.

    Names: the keys of :data:`OPTIMIZERS` (lower case).
    """
    if not isinstance(name, str):
        raise TypeError(f"get_optimizer: name must be a string, got {type(name).__name__}")
    key = name.lower()
    if key not in OPTIMIZERS:
        close = difflib.get_close_matches(key, OPTIMIZERS, n=3)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else "."
        raise ValueError(
            f"get_optimizer: unknown optimizer name {name!r}{hint} Known: {', '.join(sorted(OPTIMIZERS))}"
        )
    return OPTIMIZERS[key](*args, **kwargs)
