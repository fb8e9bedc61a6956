"""Compare the optimizers of nnopt.optim on one task: a small tanh MLP fitting a 2-d function.

Every optimizer trains the same network from the same initialisation on the
same minibatches (same seed) and is evaluated on held-out data; the figure
plots the training loss against gradient evaluations, so that methods using
several gradients per step (SAM, step-tuned SGD, Entropy-SGD) pay for them.

    python examples/optim_compare.py [--steps 1500] [--out docs/img/optim_compare.png]
"""
import argparse

import numpy as np

import nnopt
import nnopt.optim as optim
from nnopt.nn import MLP


def task(n, seed):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, size=(n, 2))
    Y = np.sin(2 * X[:, :1]) * np.cos(X[:, 1:]) + 0.05 * rng.standard_normal((n, 1))
    return X, Y


def optimizers(steps):
    cos = optim.cosine_decay_schedule
    return {
        "SGD": optim.sgd(0.1),
        "momentum": optim.sgd(0.05, momentum=0.9),
        "Nesterov (Sutskever schedule)": optim.sgd(0.05, optim.sutskever_momentum_schedule(0.9), nesterov=True),
        "AdaGrad": optim.adagrad(0.05),
        "delayed AdaGrad": optim.delayed_adagrad(0.2),
        "AdaDelta": optim.adadelta(1.0),
        "RMSProp": optim.rmsprop(1e-3),
        "Adam": optim.adam(3e-3),
        "AdamW": optim.adamw(3e-3, weight_decay=1e-2),
        "AMSGrad": optim.amsgrad(3e-3),
        "AdaMax": optim.adamax(5e-3),
        "NAdam": optim.nadam(3e-3),
        "Adam, cosine decay": optim.adam(cos(5e-3, steps)),
        "LAMB": optim.lamb(5e-3),
        "LARS": optim.lars(5.0, momentum=0.9),
        "generalized signSGD": optim.generalized_signsgd(2e-3),
        "SAM(SGD+momentum)": optim.sam(optim.sgd(0.05, momentum=0.9), rho=0.05),
        "step-tuned SGD": optim.step_tuned_sgd(0.5),
        "Entropy-SGD": optim.entropy_sgd(1.0, momentum=0.9, gamma=0.3, langevin_steps=5,
                                         langevin_lr=0.05),
        "label-noise SGD": optim.label_noise_sgd(0.1, sigma=0.1),
        "Gadam": optim.gadam(3e-3, average_start=steps // 2),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--out", default=None, help="save the figure here (PNG)")
    args = ap.parse_args()

    X, Y = task(512, 0)
    Xt, Yt = task(512, 1)
    net = MLP([2, 32, 32, 1], "tanh")
    train_obj = nnopt.Objective(net, "mse", X, Y)
    test_obj = nnopt.Objective(net, "mse", Xt, Yt)
    theta0 = net.init(seed=0)
    results = {}
    print(f"{'optimizer':30s} {'train':>10s} {'test':>10s} {'grads':>7s} {'ms/step':>8s}")
    for name, opt in optimizers(args.steps).items():
        res = optim.train(train_obj, opt, theta0, steps=args.steps, batch_size=args.batch_size,
                          seed=0, eval_objective=test_obj, eval_every=100, progress=False)
        theta = res.theta_averaged if res.theta_averaged is not None else res.theta
        results[name] = res
        print(f"{name:30s} {train_obj.fun(theta):10.3e} {test_obj.fun(theta):10.3e} "
              f"{res.nfev:7d} {1e3 * np.median(res.history.time):8.2f}  {'' if res.success else res.message}")

    if args.out:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(1, 2, figsize=(12, 4.5))
        k = 25
        for i, (name, res) in enumerate(results.items()):
            h = res.history
            style = "-" if i < 10 else "--"
            smooth = np.convolve(h.loss, np.ones(k) / k, mode="valid")
            ax[0].semilogy(h.n_grad_evals[k - 1:], smooth, style, label=name, lw=1)
            ax[1].semilogy(h.eval_step, h.eval_loss, style, label=name, lw=1)
        ax[0].set_xlabel("gradient evaluations")
        ax[0].set_ylabel("minibatch loss (running mean of 25)")
        ax[0].set_xlim(0, args.steps)
        ax[1].set_xlabel("step")
        ax[1].set_ylabel("held-out loss")
        ax[1].legend(fontsize=6, ncol=2)
        fig.suptitle("MLP 2-32-32-1 (tanh) on sin(2x) cos(y), batch 32, same init and minibatches")
        fig.tight_layout()
        fig.savefig(args.out, dpi=110)
        print(f"saved {args.out}")


if __name__ == "__main__":
    main()
