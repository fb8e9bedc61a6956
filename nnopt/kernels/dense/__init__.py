"""Fused dense layer ``act(x @ W + b)`` and its backward pass.

Signatures shared by ``reference.py`` (NumPy) and ``cpu.py`` (Numba):

``forward(x, W, b, act) -> a``
    ``a = act(x @ W + b)`` with ``x`` (batch, n_in), ``W`` (n_in, n_out),
    ``b`` (n_out,); ``act`` one of :data:`ACTIVATIONS`.
``backward(g, a, x, W, act, need_gx=True) -> (gx, gW, gb)``
    cotangents for ``g`` = dL/da, using ``act'`` expressed through the
    output ``a`` (tanh: 1 - a^2; sigmoid: a (1 - a); relu: 1[a > 0]);
    ``gx`` is None when ``need_gx`` is false (the first layer).
"""
ACTIVATIONS = ("identity", "tanh", "sigmoid", "relu")
