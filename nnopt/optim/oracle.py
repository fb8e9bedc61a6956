"""The gradient oracle: how methods that need more than one gradient get it.

Most optimizers only see the gradient at the current parameters.  SAM needs a
second gradient at a perturbed point of the *same* minibatch (and, with
m-sharpness, per sub-batch); step-tuned SGD a gradient after a half step;
Entropy-SGD and replicated SGD gradients on *fresh* minibatches; label-noise
SGD a gradient with perturbed targets; GD on sqrt(L) the loss value.  They get
it through the keyword-only ``oracle=`` argument of ``update``, an
:class:`Oracle` over the current minibatch objective, never through globals.

:func:`nnopt.train` builds the oracle for every step.  In a hand-written loop,
pass the minibatch objective (or a plain function) and ``update`` wraps it::

    loss, g = batch.value_and_grad(theta)
    updates, state = opt.update(g, state, theta, value=loss, oracle=batch)

An objective is anything with ``value_and_grad(theta) -> (value, grad)``
(``nnopt.Objective`` and its ``batch(indices)``), an object with
``fun``/``jac``, or a callable ``f(theta) -> scalar`` written with
``nnopt.numpy`` (differentiated with :func:`nnopt.value_and_grad`).
"""
from __future__ import annotations

import numpy as np

__all__ = ["Oracle", "as_oracle", "value_and_grad_fn"]


def value_and_grad_fn(objective, where="oracle"):
    """Return ``theta -> (value, grad)`` for an objective object or a plain function."""
    vg = getattr(objective, "value_and_grad", None)
    if callable(vg):
        return vg
    fun, jac = getattr(objective, "fun", None), getattr(objective, "jac", None)
    if callable(fun) and callable(jac):
        return lambda theta: (fun(theta), jac(theta))
    if callable(objective):
        from ..autodiff import value_and_grad

        return value_and_grad(objective)
    raise TypeError(
        f"{where}: expected an objective with value_and_grad(theta), an object with fun/jac, "
        f"or a callable f(theta) -> scalar; got {type(objective).__name__}"
    )


class Oracle:
    """Loss and gradient access to the current minibatch, plus fresh minibatches.

    Parameters
    ----------
    objective : object or callable
        The minibatch objective (see the module docstring).
    source : object, optional
        The full objective with ``batch(indices)`` and ``n_samples``, from
        which :meth:`resample` draws fresh minibatches.
    batch_size : int, optional
        Size of the fresh minibatches (default: the full objective).
    rng : numpy.random.Generator, optional
        Random source for :meth:`resample`; in :func:`nnopt.train` it is the
        run's generator, so resampling is reproducible and checkpointed.

    Attributes
    ----------
    n_evals : int
        Gradient evaluations made through this oracle and its children.
    """

    __slots__ = ("objective", "source", "batch_size", "rng", "_vg", "_counter")

    def __init__(self, objective, *, source=None, batch_size=None, rng=None, _counter=None,
                 _vg=None):
        self.objective = objective
        self.source = source
        self.batch_size = batch_size
        self.rng = rng
        self._vg = _vg if _vg is not None else value_and_grad_fn(objective, "Oracle")
        self._counter = _counter if _counter is not None else [0]

    @property
    def n_evals(self):
        return self._counter[0]

    def value_and_grad(self, theta):
        """``(f_B(theta), grad f_B(theta))`` on the current minibatch ``B``."""
        self._counter[0] += 1
        return self._vg(theta)

    def grad(self, theta):
        return self.value_and_grad(theta)[1]

    def resample(self):
        """An oracle on a fresh minibatch of the same size.

        Indices are drawn uniformly without replacement within the batch from
        ``rng``.  Without a ``source`` and ``rng`` (full batch, or a plain
        function) it returns ``self``: the fresh batch is the whole data.
        """
        if self.source is None or self.batch_size is None:
            return self
        if self.rng is None:
            raise ValueError("Oracle.resample: this oracle has a source but no rng to sample with")
        n = _n_samples(self.source, "Oracle.resample")
        idx = np.sort(self.rng.choice(n, size=min(self.batch_size, n), replace=False))
        return Oracle(self.source.batch(idx), source=self.source, batch_size=self.batch_size,
                      rng=self.rng, _counter=self._counter)

    def split(self, m):
        """Oracles on consecutive chunks of ``m`` examples of the current minibatch.

        Needs the minibatch objective to have ``n_samples`` and
        ``batch(indices)`` (indices relative to the minibatch).  Used by SAM's
        m-sharpness.  A last chunk smaller than ``m`` is kept.
        """
        obj = self.objective
        if not hasattr(obj, "batch"):
            raise TypeError(
                "Oracle.split: the minibatch objective has no batch(indices) method; m-sharpness "
                "needs an objective over examples (e.g. nnopt.Objective), not a plain function"
            )
        n = _n_samples(obj, "Oracle.split")
        if not isinstance(m, (int, np.integer)) or m < 1:
            raise ValueError(f"Oracle.split: m must be a positive integer, got {m!r}")
        if m >= n:
            return [self]
        return [
            Oracle(obj.batch(np.arange(s, min(s + m, n))), source=self.source,
                   batch_size=self.batch_size, rng=self.rng, _counter=self._counter)
            for s in range(0, n, m)
        ]

    def with_objective(self, objective):
        """An oracle on another objective (e.g. with noisy targets), sharing the counter."""
        return Oracle(objective, source=self.source, batch_size=self.batch_size, rng=self.rng,
                      _counter=self._counter)


def _n_samples(obj, where):
    n = getattr(obj, "n_samples", None)
    if n is None:
        raise TypeError(f"{where}: the objective has no n_samples attribute (number of examples)")
    return int(n)


def as_oracle(oracle, where):
    """Wrap ``oracle`` into an :class:`Oracle`; raise if it is missing."""
    if oracle is None:
        raise ValueError(
            f"{where}: this method needs the loss/gradient at other points; pass "
            "oracle=<the minibatch objective or a function f(theta)> to update "
            "(nnopt.train does this for you)"
        )
    if isinstance(oracle, Oracle):
        return oracle
    return Oracle(oracle)
