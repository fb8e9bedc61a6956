"""Initialisation and momentum (Sutskever, Martens, Dahl & Hinton 2013) on a deep autoencoder.

A small version of the paper's experiment: a deep autoencoder with logistic
units, 20-64-32-3-32-64-20, learns data lying on a 3-d nonlinear manifold.  We
compare the paper's recipe (sparse initialisation, Nesterov momentum with the
slowly increasing schedule mu_t = min(1 - 2^(-1 - log2(floor(t/250) + 1)), mu_max))
with plain SGD, classical momentum, a large constant momentum from the start,
and a dense (Glorot) initialisation.

    python examples/optim_sutskever_momentum.py [--steps 3000] [--out docs/img/optim_sutskever.png]
"""
import argparse

import numpy as np

import nnopt
import nnopt.optim as optim
from nnopt.nn import MLP


def data(n=1000, d=20, latent=3, seed=0):
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, latent))
    A = rng.standard_normal((latent, d))
    B = rng.standard_normal((d, d)) / np.sqrt(d)
    return np.tanh(np.tanh(Z @ A) @ B)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--mu-max", type=float, default=0.99)
    ap.add_argument("--batch-size", type=int, default=100)
    ap.add_argument("--activation", default="sigmoid")
    ap.add_argument("--out", default=None, help="save the figure here (PNG)")
    args = ap.parse_args()

    X = data()
    sizes = [20, 64, 32, 3, 32, 64, 20]
    schedule = optim.sutskever_momentum_schedule(args.mu_max, period=250)
    runs = {
        "sparse init, NAG + schedule (paper)": ("sparse", optim.sgd(args.lr, schedule, nesterov=True)),
        "sparse init, momentum + schedule": ("sparse", optim.sgd(args.lr, schedule)),
        f"sparse init, NAG, mu = {args.mu_max} from the start":
            ("sparse", optim.sgd(args.lr, args.mu_max, nesterov=True)),
        "sparse init, plain SGD": ("sparse", optim.sgd(args.lr)),
        "Glorot init, NAG + schedule": ("glorot_normal", optim.sgd(args.lr, schedule, nesterov=True)),
    }
    results = {}
    for label, (init, opt) in runs.items():
        net = MLP(sizes, args.activation, init=init)
        obj = nnopt.Objective(net, "mse", X, X)
        res = optim.train(obj, opt, net.init(seed=0), steps=args.steps,
                          batch_size=args.batch_size, seed=0, progress=False)
        results[label] = res
        print(f"{label:45s} final train loss {obj.fun(res.theta):.3e} ({res.message})")

    if args.out:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(1, 2, figsize=(11, 4))
        for label, res in results.items():
            h = res.history
            k = 25  # a running mean over 25 minibatches makes the curves readable
            smooth = np.convolve(h.loss, np.ones(k) / k, mode="valid")
            ax[0].semilogy(h.step[k - 1:], smooth, label=label)
        ax[0].set_xlabel("step")
        ax[0].set_ylabel("minibatch loss (running mean)")
        ax[0].set_title(f"deep {args.activation} autoencoder 20-64-32-3-32-64-20")
        ax[0].legend(fontsize=7)
        t = np.arange(args.steps)
        ax[1].plot(t, schedule(t))
        ax[1].set_xlabel("step")
        ax[1].set_ylabel("momentum mu_t")
        ax[1].set_title("Sutskever et al. (2013) momentum schedule")
        fig.tight_layout()
        fig.savefig(args.out, dpi=110)
        print(f"saved {args.out}")


if __name__ == "__main__":
    main()
