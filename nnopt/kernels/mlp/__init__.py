"""A whole stack of dense layers in one call: loss, gradient, Hessian-vector product.

Signatures shared by ``reference.py`` (NumPy) and ``cpu.py`` (one Numba
kernel per call, no per-layer Python overhead):

``value_and_grad(theta, X, T, dims, codes, loss, work=None) -> (value, grad)``
    the loss of the network ``a_l = act_l(a_(l-1) W_l + b_l)``, ``a_0 = X``,
    and its gradient in ``theta``, for ``theta`` laid out layer by layer as
    ``W_1`` (row-major, shape ``(dims[0], dims[1])``), ``b_1``, ``W_2``, ...;
    ``codes[l]`` the activation code of layer ``l`` (:data:`CODES`);
    ``loss`` 0 for the mean squared error against ``T`` (shape of the output)
    and 1 for the mean cross-entropy with one-hot targets ``T``.
``hvp(theta, v, X, T, dims, codes, loss, work=None) -> Hv``
    the exact Hessian-vector product (Pearlmutter's R-operator, see
    :func:`nnopt.nn.fast.hvp`) for one vector ``v``.
``workspace_size(dims, n) -> int``
    the length of ``work``: a scratch vector of theta's dtype that the
    compiled kernels reuse across calls instead of allocating their
    intermediates each time (fresh allocations of a few megabytes cost page
    faults on every call: a reused workspace took the HVP of an MLP
    [10,50,50,50,1] at batch 1000 from 7.9 ms to 4.8-5.2 ms).  One
    workspace must not be used by two calls at the same time.

``value_and_grad_chunks(theta, X, T, dims, codes, loss, chunks, work=None, parallel=True)``,
``hvp_chunks(theta, v, X, T, dims, codes, loss, chunks, work=None, parallel=True)``
    the same with the batch split into ``chunks`` row blocks (rows
    ``[c n / chunks, (c + 1) n / chunks)``), each block's share of the mean
    computed on its own (on Numba's threads when ``parallel``) and the shares
    summed in block order, so the result does not depend on the thread
    count; ``work`` of length ``chunk_workspace_size(dims, n, chunks)``.
    The caller keeps BLAS on one thread meanwhile
    (:func:`nnopt.kernels.blas_threads.single_threaded_blas`);
    :func:`nnopt.nn.fast.batch_chunks` says when blocks pay.

``theta``, ``v``, ``X`` and ``T`` share one float dtype (float32 or float64),
which is kept throughout.
"""
CODES = {"identity": 0, "tanh": 1, "sigmoid": 2, "relu": 3}
LOSSES = {"mse": 0, "cross_entropy": 1}
