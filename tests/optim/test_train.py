"""The training loop: minibatching, history, callbacks, divergence, checkpoints."""
import io
import os

import numpy as np
import pytest

import nnopt.numpy as nnp
import nnopt.optim as optim
from nnopt.optim import schedules as S

from optim_problems import LeastSquares, Quadratic


class Recording(LeastSquares):
    """LeastSquares that records the minibatch indices it is asked for."""

    def __init__(self, X, Y, log=None):
        super().__init__(X, Y)
        self.log = [] if log is None else log

    def batch(self, idx):
        self.log.append(np.array(idx))
        return LeastSquares(self.X[idx], self.Y[idx])


def make(n=50, d=4, seed=0, dtype=np.float64):
    return LeastSquares.random(n=n, d=d, seed=seed, dtype=dtype)


def same_run(a, b):
    np.testing.assert_array_equal(a.theta, b.theta)
    for name in ("loss", "grad_norm", "learning_rate", "param_norm", "update_norm", "step",
                 "epoch", "n_grad_evals", "eval_step", "eval_loss"):
        np.testing.assert_array_equal(getattr(a.history, name), getattr(b.history, name), err_msg=name)
    for x, y in zip(optim.checkpoint.tree_flatten(a.state), optim.checkpoint.tree_flatten(b.state)):
        np.testing.assert_array_equal(x, y)


def test_reproducible_by_seed_and_history_fields():
    obj = make()
    kw = dict(steps=30, batch_size=8, progress=False)
    opt = optim.sgd(S.exponential_decay(0.1, 0.95), momentum=0.9)
    a = optim.train(obj, opt, np.zeros(4), seed=3, **kw)
    b = optim.train(obj, opt, np.zeros(4), seed=3, **kw)
    c = optim.train(obj, opt, np.zeros(4), seed=4, **kw)
    same_run(a, b)
    assert not np.array_equal(a.theta, c.theta)
    h = a.history
    assert len(h) == 30 and a.nit == 30 and a.status == 0 and a.success
    np.testing.assert_array_equal(h.step, np.arange(30))
    np.testing.assert_allclose(h.learning_rate, 0.1 * 0.95 ** np.arange(30), rtol=1e-15)
    assert np.all(h.time > 0) and np.all(np.isfinite(h.loss))
    np.testing.assert_array_equal(h.n_grad_evals, np.arange(1, 31))
    assert h.param_norm[0] == 0.0
    assert a.fun == h.loss[-1]
    assert isinstance(a, optim.TrainResult) and a.x is a.theta


def test_without_replacement_each_example_once_per_epoch():
    base = make(n=23)
    obj = Recording(base.X, base.Y)
    res = optim.train(obj, optim.sgd(0.01), np.zeros(4), epochs=3, batch_size=5, seed=0,
                      progress=False)
    assert res.nit == 3 * 5 and res.epoch == 3  # ceil(23 / 5) = 5 steps per epoch
    np.testing.assert_array_equal(res.history.epoch, np.repeat([0, 1, 2], 5))
    sizes = [len(i) for i in obj.log]
    assert sizes == [5, 5, 5, 5, 3] * 3
    for e in range(3):
        np.testing.assert_array_equal(np.sort(np.concatenate(obj.log[5 * e:5 * e + 5])), np.arange(23))
    # with replacement: batch_size draws per step, from the seeded generator
    obj2 = Recording(base.X, base.Y)
    optim.train(obj2, optim.sgd(0.01), np.zeros(4), steps=4, batch_size=6, seed=9, replace=True,
                progress=False)
    rng = np.random.default_rng(9)
    for idx in obj2.log:
        np.testing.assert_array_equal(idx, rng.integers(0, 23, size=6))


def test_full_batch_with_plain_function_and_epochs():
    A = np.diag([1.0, 3.0])

    def f(w):
        return 0.5 * nnp.sum(w * (A @ w)) - nnp.sum(w)

    res = optim.train(f, optim.adam(0.1), np.zeros(2), epochs=200, progress=False)
    assert res.nit == 200
    np.testing.assert_allclose(res.theta, [1.0, 1.0 / 3.0], atol=1e-3)
    with pytest.raises(TypeError, match="batch_size needs an objective with batch"):
        optim.train(f, optim.adam(0.1), np.zeros(2), steps=5, batch_size=2, progress=False)


def test_sam_counts_two_gradients_and_oracle_resample_uses_run_rng():
    obj = make()
    res = optim.train(obj, optim.sam(optim.sgd(0.05)), np.zeros(4), steps=5, batch_size=10,
                      progress=False)
    np.testing.assert_array_equal(res.history.n_grad_evals, 2 * np.arange(1, 6))
    res = optim.train(obj, optim.sam(optim.sgd(0.05), m=4), np.zeros(4), steps=2, batch_size=10,
                      progress=False)
    assert res.nfev == 2 * (1 + 2 * 3)  # one minibatch gradient + 2 per chunk (4, 4, 2)
    ent = optim.entropy_sgd(0.5, gamma=0.5, langevin_steps=4, noise=1e-3)
    a = optim.train(obj, ent, np.zeros(4), steps=6, batch_size=10, seed=1, progress=False)
    b = optim.train(obj, ent, np.zeros(4), steps=6, batch_size=10, seed=1, progress=False)
    same_run(a, b)
    assert a.nfev == 6 * 4


RESUME_CASES = {
    "adam-eval": (lambda: optim.adam(S.cosine_decay_schedule(0.05, 40)), True),
    "entropy-sgd": (lambda: optim.entropy_sgd(0.5, gamma=0.5, langevin_steps=3, noise=1e-3), False),
    "label-noise-momentum": (lambda: optim.label_noise_sgd(0.05, sigma=0.1, momentum=0.9), False),
    "gadam": (lambda: optim.gadam(0.02, average_start=5), True),
}


class Interrupt(optim.Callback):
    def __init__(self, at):
        self.at = at

    def on_step(self, info):
        if info.step == self.at:
            raise KeyboardInterrupt


@pytest.mark.parametrize("name", sorted(RESUME_CASES))
def test_checkpoint_resume_is_bit_identical(tmp_path, name):
    mk, with_eval = RESUME_CASES[name]
    obj, held = make(n=40, seed=1), make(n=20, seed=2)
    kw = dict(steps=40, batch_size=7, seed=5, progress=False,
              eval_objective=held if with_eval else None, eval_every=6)
    full = optim.train(obj, mk(), np.zeros(4), **kw)
    path = tmp_path / "run.npz"
    early = optim.EarlyStopping(patience=1000, monitor="loss")
    with pytest.raises(KeyboardInterrupt):
        optim.train(obj, mk(), np.zeros(4), checkpoint=path, checkpoint_every=5,
                    callbacks=[early, Interrupt(17)], **kw)
    assert path.exists()
    ck = optim.load_checkpoint(path, mk().init(np.zeros(4)))
    assert ck["meta"]["step"] == 17  # interrupted inside step 17: saved as of its start
    early2 = optim.EarlyStopping(patience=1000, monitor="loss")
    resumed = optim.train(obj, mk(), np.zeros(4), checkpoint=path, resume=True,
                          callbacks=[early2], **kw)
    same_run(full, resumed)
    assert early2.best == early.best or early2.best <= early.best
    assert [p.name for p in tmp_path.iterdir()] == ["run.npz"]  # no temporary files left


def test_interrupt_inside_a_step_resumes_from_the_step_start(tmp_path):
    obj = make(n=30, seed=3)

    class Flaky(LeastSquares):
        calls = 0

        def batch(self, idx):
            Flaky.calls += 1
            if Flaky.calls == 12:  # after the sampler advanced, before the update
                raise KeyboardInterrupt
            return LeastSquares(self.X[idx], self.Y[idx])

    kw = dict(steps=20, batch_size=4, seed=2, progress=False)
    full = optim.train(obj, optim.adam(0.05), np.zeros(4), **kw)
    path = tmp_path / "c.npz"
    with pytest.raises(KeyboardInterrupt):
        optim.train(Flaky(obj.X, obj.Y), optim.adam(0.05), np.zeros(4), checkpoint=path,
                    checkpoint_every=100, **kw)
    assert optim.load_checkpoint(path, optim.adam(0.05).init(np.zeros(4)))["meta"]["step"] == 11
    resumed = optim.train(obj, optim.adam(0.05), np.zeros(4), checkpoint=path, resume=True, **kw)
    same_run(full, resumed)


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    obj = make()
    path = tmp_path / "a.npz"
    optim.train(obj, optim.sgd(0.1), np.zeros(4), steps=3, checkpoint=path, progress=False)
    before = path.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(optim.checkpoint.np, "savez", boom)
    with pytest.raises(OSError, match="disk full"):
        optim.train(obj, optim.sgd(0.1), np.zeros(4), steps=5, checkpoint=path, progress=False)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["a.npz"]


def test_resume_checks_the_run(tmp_path):
    obj = make()
    path = tmp_path / "r.npz"
    optim.train(obj, optim.adam(0.1), np.zeros(4), steps=3, batch_size=5, checkpoint=path,
                progress=False)
    with pytest.raises(optim.CheckpointError, match="different optimizer"):
        optim.train(obj, optim.sgd(0.1, momentum=0.9), np.zeros(4), steps=6, batch_size=5,
                    checkpoint=path, resume=True, progress=False)
    with pytest.raises(optim.CheckpointError, match="batch_size=5, this run has batch_size=6"):
        optim.train(obj, optim.adam(0.1), np.zeros(4), steps=6, batch_size=6, checkpoint=path,
                    resume=True, progress=False)
    # resuming a finished run of the same length does nothing more
    r = optim.train(obj, optim.adam(0.1), np.zeros(4), steps=3, batch_size=5, checkpoint=path,
                    resume=True, progress=False)
    assert r.nit == 3 and len(r.history) == 3
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(optim.CheckpointError, match="cannot be read"):
        optim.train(obj, optim.adam(0.1), np.zeros(4), steps=3, checkpoint=bad, resume=True,
                    progress=False)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_divergence_keeps_last_finite_iterate_and_history():
    q = Quadratic()
    seen = [q.x0]  # seen[i] = theta_i
    res = optim.train(q, optim.sgd(0.5), q.x0, steps=5000, progress=False,
                      callbacks=[lambda info: seen.append(info.theta)])
    assert res.status == 2 and not res.success and "diverged at step" in res.message
    h = res.history
    k = len(h) - 1  # the step that diverged
    assert k < 5000 and np.all(np.isfinite(h.loss[:k]))
    assert np.all(np.isfinite(res.theta))
    if "update is not finite" in res.message:
        # theta_k had a finite loss and gradient, its update overflowed
        np.testing.assert_array_equal(res.theta, seen[k])
    else:
        # theta_k had a non-finite loss or gradient: keep theta_{k-1}
        assert not np.isfinite(h.loss[k]) or not np.isfinite(h.grad_norm[k])
        np.testing.assert_array_equal(res.theta, seen[k - 1])
    f_last, g_last = q.value_and_grad(res.theta)
    assert np.isfinite(f_last) and np.all(np.isfinite(g_last))
    assert res.fun == h.loss[k - 1] or res.fun == h.loss[k]
    # relative threshold: stop early, at the first loss above 100x the first
    res = optim.train(q, optim.sgd(0.25), q.x0, steps=1000, divergence_threshold=100.0,
                      progress=False)
    assert res.status == 2 and "100 x initial loss" in res.message
    assert res.history.loss[-1] > 100 * res.history.loss[0] >= res.history.loss[-2]


def test_callbacks_early_stopping_and_progress():
    obj, held = make(n=60, seed=0), make(n=30, seed=1)
    es = optim.EarlyStopping(patience=2, monitor="eval_loss")
    res = optim.train(obj, optim.sgd(0.5), np.zeros(4), steps=500, batch_size=10,
                      eval_objective=held, eval_every=5, callbacks=[es], progress=False)
    assert res.status == 1 and "EarlyStopping" in res.message
    assert res.nit < 500 and len(res.history.eval_loss) >= 3
    assert es.best == res.history.eval_loss.min()
    assert es.best_theta is not None
    # a plain function callback stops the run by returning True
    res = optim.train(obj, optim.sgd(0.1), np.zeros(4), steps=50, progress=False,
                      callbacks=[lambda info: info.step == 9])
    assert res.status == 1 and res.nit == 10
    # the progress bar writes lines to a non-terminal stream
    buf = io.StringIO()
    optim.train(obj, optim.sgd(0.1), np.zeros(4), steps=20, progress=False,
                callbacks=[optim.ProgressBar(stream=buf)])
    lines = buf.getvalue().splitlines()
    assert 2 <= len(lines) <= 12 and lines[-1].startswith("[") and "20/20" in lines[-1]


def test_train_errors():
    obj = make()
    with pytest.raises(ValueError, match="exactly one of steps and epochs"):
        optim.train(obj, optim.sgd(0.1), np.zeros(4), progress=False)
    with pytest.raises(ValueError, match="exactly one of steps and epochs"):
        optim.train(obj, optim.sgd(0.1), np.zeros(4), steps=3, epochs=2, progress=False)
    with pytest.raises(TypeError, match="optimizer must be a GradientTransformation"):
        optim.train(obj, "adam", np.zeros(4), steps=3, progress=False)
    with pytest.raises(ValueError, match="theta0.*1-D"):
        optim.train(obj, optim.sgd(0.1), np.zeros((2, 2)), steps=3, progress=False)
    with pytest.raises(TypeError, match="theta0.*float"):
        optim.train(obj, optim.sgd(0.1), np.zeros(4, dtype=int), steps=3, progress=False)
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        optim.train(obj, optim.sgd(0.1), np.zeros(4), steps=3, batch_size=0, progress=False)
    with pytest.raises(ValueError, match="resume=True needs checkpoint"):
        optim.train(obj, optim.sgd(0.1), np.zeros(4), steps=3, resume=True, progress=False)
    with pytest.raises(ValueError, match="theta0 has 3 entries but the objective has n_params=4"):
        optim.train(obj, optim.sgd(0.1), np.zeros(3), steps=3, progress=False)
    with pytest.raises(ValueError, match="gradient has shape"):
        optim.train(_BadGrad(), optim.sgd(0.1), np.zeros(4), steps=3, progress=False)


class _BadGrad:
    def value_and_grad(self, w):
        return 0.0, np.zeros(3)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_resuming_a_diverged_run_diverges_the_same_way(tmp_path):
    q = Quadratic()
    path = tmp_path / "d.npz"
    a = optim.train(q, optim.sgd(0.5), q.x0, steps=5000, checkpoint=path, checkpoint_every=50,
                    progress=False)
    assert a.status == 2
    b = optim.train(q, optim.sgd(0.5), q.x0, steps=5000, checkpoint=path, resume=True,
                    progress=False)
    assert b.status == 2 and b.message == a.message
    np.testing.assert_array_equal(a.theta, b.theta)
    np.testing.assert_array_equal(a.history.loss, b.history.loss)
