"""PyTorch (CPU, eager) peer, written the way a PyTorch user would.

* loss + gradient: per-layer leaf tensors, ``torch.addmm`` (what ``nn.Linear``
  runs), ``F.mse_loss`` / ``F.cross_entropy``, ``torch.autograd.grad``;
* HVP: double backward (``autograd.grad`` with ``create_graph=True``, then
  ``autograd.grad(g, params, grad_outputs=v)``);
* dense Hessian: ``torch.func`` forward-over-reverse HVPs, ``vmap``-ed over
  the unit vectors in chunks of 256 (the fully vectorised
  ``torch.func.hessian`` needs several GB at this size; the MSE is written
  out because ``F.mse_loss`` fails under ``vmap(jvp(grad))`` in torch 2.13);
* neural form: ``autograd.grad`` with ``create_graph=True`` twice for u', u'';
* LeNet-5: ``F.conv2d``, ``F.avg_pool2d``, ``torch.tanh``.

``options["compile"]`` wraps the loss + gradient in ``torch.compile``
(inductor; the first call compiles, its time is reported separately).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from . import Impl

NAME = "PyTorch"
HESSIAN_CHUNK = 256


def version():
    return torch.__version__


def set_threads(n):
    if n:
        torch.set_num_threads(int(n))


def _t(a):
    return torch.from_numpy(np.ascontiguousarray(a))


def _leaves(problem):
    return [_t(p).clone().requires_grad_(True) for p in problem.params]


def _flat(tensors):
    return np.concatenate([t.detach().numpy().ravel() for t in tensors])


def _mlp(ps, X):
    L = len(ps) // 2
    h = X
    for i in range(L):
        h = torch.addmm(ps[2 * i + 1], h, ps[2 * i])
        if i < L - 1:
            h = torch.tanh(h)
    return h


def _loss(out, Y, loss):
    return F.mse_loss(out, Y) if loss == "mse" else F.cross_entropy(out, Y)


def _loss_func(out, Y, loss):
    """For torch.func: F.mse_loss fails under vmap(jvp(grad)) ("ZeroTensors are immutable")."""
    return ((out - Y) ** 2).mean() if loss == "mse" else F.cross_entropy(out, Y)


def _lenet(ps, X):
    h = F.avg_pool2d(torch.tanh(F.conv2d(X, ps[0], ps[1], padding=2)), 2)
    h = F.avg_pool2d(torch.tanh(F.conv2d(h, ps[2], ps[3])), 2)
    h = h.reshape(h.shape[0], -1)
    h = torch.tanh(torch.addmm(ps[5], h, ps[4]))
    h = torch.tanh(torch.addmm(ps[7], h, ps[6]))
    return torch.addmm(ps[9], h, ps[8])


def _value_grad(problem, compile_=False):
    ps = _leaves(problem)
    X, Y = _t(problem.X), _t(problem.Y)
    model = _lenet if problem.kind == "lenet" else _mlp

    def step(ps):
        loss = _loss(model(ps, X), Y, problem.loss)
        return loss, torch.autograd.grad(loss, ps)

    if compile_:
        step = torch.compile(step)

    def run():
        return step(ps)

    return Impl(run, lambda out: {"value": out[0].item(), "grad": _flat(out[1])}, compiled=compile_)


def _hvp(problem):
    ps = _leaves(problem)
    X, Y = _t(problem.X), _t(problem.Y)
    V = [_t(v) for v in problem.split(problem.V)]
    model = _lenet if problem.kind == "lenet_hvp" else _mlp

    def run():
        loss = _loss(model(ps, X), Y, problem.loss)
        g = torch.autograd.grad(loss, ps, create_graph=True)
        return torch.autograd.grad(g, ps, grad_outputs=V)

    return Impl(run, lambda out: {"hvp": _flat(out)})


def _hessian(problem):
    theta = _t(problem.theta)
    X, Y = _t(problem.X), _t(problem.Y)
    shapes = [p.shape for p in problem.params]

    def f(th):
        ps, k = [], 0
        for s in shapes:
            n = int(np.prod(s))
            ps.append(th[k:k + n].reshape(s))
            k += n
        return _loss_func(_mlp(ps, X), Y, problem.loss)

    def hvp(v):
        return torch.func.jvp(torch.func.grad(f), (theta,), (v,))[1]

    H_of = torch.func.vmap(hvp, chunk_size=HESSIAN_CHUNK)

    def run():
        return H_of(torch.eye(theta.numel(), dtype=theta.dtype))

    return Impl(run, lambda out: {"hess": out.numpy()})


def _neural_form(problem):
    ex = problem.extra
    T, c, k = ex["T"], ex["c"], ex["k"]
    ps = _leaves(problem)
    t = _t(problem.X)

    def run():
        tt = t.clone().requires_grad_(True)
        N = _mlp(ps, ((tt - T / 2) * (2 / T)).unsqueeze(1))[:, 0]
        s = tt / T
        u = 1 + s * s * N
        du = torch.autograd.grad(u.sum(), tt, create_graph=True)[0]
        ddu = torch.autograd.grad(du.sum(), tt, create_graph=True)[0]
        r = ddu + c * du + k * u
        loss = (r * r).mean()
        return loss, torch.autograd.grad(loss, ps)

    return Impl(run, lambda out: {"value": out[0].item(), "grad": _flat(out[1])})


def build(problem, compile=False, **options):  # noqa: A002 (mirrors torch.compile)
    if problem.kind in ("grad", "lenet"):
        return _value_grad(problem, compile)
    if compile:
        return None
    if problem.kind in ("hvp", "lenet_hvp"):
        return _hvp(problem)
    if problem.kind == "hessian":
        return _hessian(problem)
    if problem.kind == "neural_form":
        return _neural_form(problem)
    return None
