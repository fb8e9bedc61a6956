"""The whole-stack kernels: Numba equals the NumPy reference, and the reference
equals the general differentiation engine (value, gradient, Hessian-vector product)."""
import numpy as np
import pytest

import nnopt
from nnopt.kernels.mlp import CODES, LOSSES, cpu, reference
from nnopt.nn import Dense, Sequential

CASES = [  # sizes, activations, loss
    ([1, 20, 20, 1], ["tanh", "tanh", None], "mse"),
    ([3, 7, 5, 4], ["tanh", "sigmoid", "relu"], "cross_entropy"),
    ([4, 6, 3], ["relu", None], "mse"),
    ([2, 9, 1], ["sigmoid", "tanh"], "mse"),
    ([5, 3], [None], "cross_entropy"),
]


def _problem(sizes, acts, loss, n, dtype, seed=0):
    rng = np.random.default_rng(seed)
    dims = np.array(sizes, dtype=np.int64)
    codes = np.array([CODES[a or "identity"] for a in acts], dtype=np.int64)
    P = sum(sizes[i] * sizes[i + 1] + sizes[i + 1] for i in range(len(sizes) - 1))
    theta = (0.7 * rng.normal(size=P)).astype(dtype)
    v = rng.normal(size=P).astype(dtype)
    X = rng.normal(size=(n, sizes[0])).astype(dtype)
    if loss == "mse":
        T = rng.normal(size=(n, sizes[-1])).astype(dtype)
    else:
        T = np.eye(sizes[-1], dtype=dtype)[rng.integers(0, sizes[-1], n)]
    return theta, v, X, T, dims, codes, LOSSES[loss]


def _close(a, b, dtype, factor=200):
    tol = factor * np.finfo(dtype).eps
    scale = max(1.0, float(np.abs(b).max(initial=0)))
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol * scale)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [0, 1, 17, 130])
@pytest.mark.parametrize("sizes, acts, loss", CASES)
def test_cpu_equals_reference(sizes, acts, loss, n, dtype):
    theta, v, X, T, dims, codes, lcode = _problem(sizes, acts, loss, n, dtype)
    value, grad = cpu.value_and_grad(theta, X, T, dims, codes, lcode)
    rvalue, rgrad = reference.value_and_grad(theta, X, T, dims, codes, lcode)
    hv = cpu.hvp(theta, v, X, T, dims, codes, lcode)
    rhv = reference.hvp(theta, v, X, T, dims, codes, lcode)
    assert grad.dtype == hv.dtype == rgrad.dtype == rhv.dtype == dtype
    assert grad.shape == hv.shape == theta.shape
    if n == 0:
        assert np.isnan(value) and np.isnan(rvalue)
        assert not grad.any() and not hv.any() and not rgrad.any() and not rhv.any()
        return
    _close(np.float64(value), np.float64(rvalue), dtype)
    _close(grad, rgrad, dtype)
    _close(hv, rhv, dtype)


@pytest.mark.parametrize("sizes, acts, loss", CASES)
def test_reference_equals_general_engine(sizes, acts, loss):
    theta, v, X, T, dims, codes, lcode = _problem(sizes, acts, loss, 23, np.float64, seed=1)
    net = Sequential([Dense(sizes[i], sizes[i + 1], activation=a) for i, a in enumerate(acts)])
    Y = T if loss == "mse" else np.argmax(T, axis=1)
    obj = nnopt.Objective(net, loss, X, Y, fast=False, cache=False)
    value, grad = reference.value_and_grad(theta, X, T, dims, codes, lcode)
    evalue, egrad = obj.value_and_grad(theta)
    np.testing.assert_allclose(value, evalue, rtol=1e-13)
    np.testing.assert_allclose(grad, egrad, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(reference.hvp(theta, v, X, T, dims, codes, lcode), obj.hessp(theta, v),
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dense_path_same_for_noncontiguous_arrays(dtype):
    """Non-contiguous theta, v or data take the layer-wise path; the results agree."""
    from nnopt.nn import fast

    sizes, acts = [3, 8, 5, 2], ["tanh", "relu", None]
    net = Sequential([Dense(sizes[i], sizes[i + 1], activation=a) for i, a in enumerate(acts)])
    rng = np.random.default_rng(4)
    X = rng.normal(size=(11, 6)).astype(dtype)[:, ::2]
    Y = rng.normal(size=(11, 2)).astype(dtype)
    theta = net.init(seed=1, dtype=dtype)
    v = rng.normal(size=theta.size).astype(dtype)
    strided = np.repeat(theta, 2)[::2]
    plan = fast.stack_plan(net, "mse", np.ascontiguousarray(X), Y)
    assert plan is not None and fast.stack_plan(net, "mse", X, Y) is None
    value, grad = fast.value_and_grad(net, "mse", theta, np.ascontiguousarray(X), Y, plan=plan)
    for th, data in ((strided, np.ascontiguousarray(X)), (theta, X)):
        v2, g2 = fast.value_and_grad(net, "mse", th, data, Y)
        _close(np.float64(v2), np.float64(value), dtype)
        _close(g2, grad, dtype)
    hv = fast.hvp(net, "mse", theta, v, np.ascontiguousarray(X), Y, plan=plan)
    _close(fast.hvp(net, "mse", strided, np.repeat(v, 2)[::2], X, Y), hv, dtype)


@pytest.mark.parametrize("sizes, acts, loss", CASES[:2])
def test_reused_workspace_gives_the_same_results(sizes, acts, loss):
    theta, v, X, T, dims, codes, lcode = _problem(sizes, acts, loss, 29, np.float64, seed=5)
    work = np.full(cpu.workspace_size(dims, X.shape[0]), np.nan)  # stale contents must not matter
    value, grad = cpu.value_and_grad(theta, X, T, dims, codes, lcode)
    hv = cpu.hvp(theta, v, X, T, dims, codes, lcode)
    for _ in range(2):
        v2, g2 = cpu.value_and_grad(theta, X, T, dims, codes, lcode, work)
        assert v2 == value and np.array_equal(g2, grad)
        assert np.array_equal(cpu.hvp(theta, v, X, T, dims, codes, lcode, work), hv)
    assert cpu.workspace_size(dims, X.shape[0]) == reference.workspace_size(dims, X.shape[0])
    with pytest.raises(ValueError, match="work is shorter"):
        cpu.value_and_grad(theta, X, T, dims, codes, lcode, work[:10])


def test_objective_shared_between_threads():
    """Concurrent calls on one Objective: one uses the plan's workspace, the others their own."""
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(6)
    net = Sequential([Dense(4, 16, activation="tanh"), Dense(16, 16, activation="tanh"), Dense(16, 2)])
    obj = nnopt.Objective(net, "mse", rng.normal(size=(300, 4)), rng.normal(size=(300, 2)), cache=False)
    thetas = [net.init(seed=s) for s in range(8)]
    expected = [obj.value_and_grad(th) for th in thetas]

    def run(i):
        return [obj.value_and_grad(thetas[i % 8]) for _ in range(30)]

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(run, range(16)))
    for i, res in enumerate(results):
        for value, grad in res:
            assert value == expected[i % 8][0] and np.array_equal(grad, expected[i % 8][1])


# ---------------------------------------------------------------------------
# the batch in row blocks
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [0, 1, 17, 130])
@pytest.mark.parametrize("chunks", [1, 3, 4])
@pytest.mark.parametrize("sizes, acts, loss", CASES[:3])
def test_chunked_cpu_equals_reference(sizes, acts, loss, chunks, n, dtype):
    theta, v, X, T, dims, codes, lcode = _problem(sizes, acts, loss, n, dtype, seed=7)
    value, grad = cpu.value_and_grad_chunks(theta, X, T, dims, codes, lcode, chunks)
    rvalue, rgrad = reference.value_and_grad_chunks(theta, X, T, dims, codes, lcode, chunks)
    hv = cpu.hvp_chunks(theta, v, X, T, dims, codes, lcode, chunks)
    rhv = reference.hvp_chunks(theta, v, X, T, dims, codes, lcode, chunks)
    assert grad.dtype == hv.dtype == rgrad.dtype == rhv.dtype == dtype
    if n == 0:
        assert np.isnan(value) and np.isnan(rvalue)
        assert not grad.any() and not hv.any()
        return
    _close(np.float64(value), np.float64(rvalue), dtype)
    _close(grad, rgrad, dtype)
    _close(hv, rhv, dtype)
    # the blocks are shares of the whole batch's mean
    _close(rgrad, reference.value_and_grad(theta, X, T, dims, codes, lcode)[1], dtype)
    _close(rhv, reference.hvp(theta, v, X, T, dims, codes, lcode), dtype)


def test_chunked_results_do_not_depend_on_threads_or_parallelism():
    import numba

    theta, v, X, T, dims, codes, lcode = _problem([3, 7, 5, 4], ["tanh", "sigmoid", "relu"], "cross_entropy",
                                                  301, np.float64, seed=8)
    work = np.full(cpu.chunk_workspace_size(dims, 301, 4), np.nan)  # stale contents must not matter
    value, grad = cpu.value_and_grad_chunks(theta, X, T, dims, codes, lcode, 4, work)
    hv = cpu.hvp_chunks(theta, v, X, T, dims, codes, lcode, 4, work)
    old = numba.get_num_threads()
    try:
        for threads in {1, old}:
            numba.set_num_threads(threads)
            for parallel in (True, False):
                v2, g2 = cpu.value_and_grad_chunks(theta, X, T, dims, codes, lcode, 4, parallel=parallel)
                assert v2 == value and np.array_equal(g2, grad)
                assert np.array_equal(cpu.hvp_chunks(theta, v, X, T, dims, codes, lcode, 4, work,
                                                     parallel=parallel), hv)
    finally:
        numba.set_num_threads(old)


def test_chunked_bad_arguments():
    theta, v, X, T, dims, codes, lcode = _problem([4, 6, 3], ["relu", None], "mse", 40, np.float64)
    for mod in (cpu, reference):
        for bad in (0, -1, 2.0, True):
            with pytest.raises(ValueError, match="chunks must be a positive integer"):
                mod.value_and_grad_chunks(theta, X, T, dims, codes, lcode, bad)
    with pytest.raises(ValueError, match="chunk_workspace_size"):
        cpu.hvp_chunks(theta, v, X, T, dims, codes, lcode, 2, np.empty(10))
    with pytest.raises(ValueError, match="work has dtype float32"):
        cpu.hvp_chunks(theta, v, X, T, dims, codes, lcode, 2, np.empty(10**5, dtype=np.float32))
    bad = [  # (theta, v, X, T), message
        ((theta[:-1], v, X, T), r"theta must be a float vector of \d+ entries"),
        ((theta, v[:-1], X, T), r"v must be a float vector"),
        ((theta, v, X[:, :3], T), r"X must have shape \(n, 4\)"),
        ((theta, v, X, T[:-1]), r"T must have shape \(40, 3\)"),
        ((theta, v, X.astype(np.float32), T), "X has dtype float32"),
        ((theta, v.astype(np.float32), X, T), "v has dtype float32"),
    ]
    for mod in (cpu, reference):
        for (th, vv, x, t), msg in bad:
            with pytest.raises(ValueError, match=msg):
                mod.hvp_chunks(th, vv, x, t, dims, codes, lcode, 2)
            if not msg.startswith("v"):
                with pytest.raises(ValueError, match=msg):
                    mod.value_and_grad_chunks(th, x, t, dims, codes, lcode, 2)
    # a NaN in the data is not hidden: it reaches the loss and the gradient
    Xn = X.copy()
    Xn[5, 1] = np.nan
    value, grad = cpu.value_and_grad_chunks(theta, Xn, T, dims, codes, lcode, 2)
    assert np.isnan(value) and np.isnan(grad).any()
    assert cpu.chunk_workspace_size(dims, 40, 3) == reference.chunk_workspace_size(dims, 40, 3)
    assert cpu.n_params(dims) == reference.n_params(dims) == theta.size


def test_batch_chunks_policy_and_blocked_plan_equals_engine():
    from nnopt.nn import fast

    assert fast.batch_chunks([10, 50, 50, 50, 1], 1000) == 4  # narrow layers, long batch
    assert fast.batch_chunks([10, 50, 50, 50, 1], 100000) == 8
    assert fast.batch_chunks([1, 20, 20, 1], 100) == 1  # short batch
    assert fast.batch_chunks([784, 256, 256, 10], 256) == 1  # wide layers: BLAS threads instead
    assert fast.batch_chunks([784, 1024, 1024, 10], 4096) == 1
    rng = np.random.default_rng(9)
    net = Sequential([Dense(3, 12, activation="tanh"), Dense(12, 12, activation="sigmoid"), Dense(12, 4)])
    X = rng.normal(size=(517, 3))
    y = rng.integers(0, 4, 517)
    fast_obj = nnopt.Objective(net, "cross_entropy", X, y, cache=False)
    assert fast_obj._plan is not None and fast_obj._plan.chunks == 4
    slow = nnopt.Objective(net, "cross_entropy", X, y, fast=False, cache=False)
    theta = net.init(seed=2)
    v = rng.normal(size=theta.size)
    value, grad = fast_obj.value_and_grad(theta)
    evalue, egrad = slow.value_and_grad(theta)
    np.testing.assert_allclose(value, evalue, rtol=1e-13)
    np.testing.assert_allclose(grad, egrad, rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(fast_obj.hessp(theta, v), slow.hessp(theta, v), rtol=1e-10, atol=1e-13)


def test_parallel_region_safe_in_main_and_worker_threads():
    from concurrent.futures import ThreadPoolExecutor

    import numba

    from nnopt.kernels.blas_threads import parallel_region_safe

    assert parallel_region_safe()  # the main thread
    with ThreadPoolExecutor(1) as pool:
        in_worker = pool.submit(parallel_region_safe).result()
    try:
        layer = numba.threading_layer()
    except ValueError:
        layer = None
    assert in_worker == (layer in ("omp", "tbb"))
