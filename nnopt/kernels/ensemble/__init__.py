"""Training many small MLPs at once: full-batch gradient descent with heavy-ball
momentum on the MSE loss, for an ensemble of E networks of one architecture
(different initial points and step sizes), as in seed and step-size sweeps.

Shared signature of ``reference.py`` (NumPy, vectorised over the ensemble),
``cpu.py`` (Numba, parallel over networks) and ``cuda.py`` (one CUDA block per
network, the whole training loop inside one kernel launch):

``train(thetas, X, Y, sizes, act, lrs, steps, momentum) -> (thetas, losses, nit)``

* ``thetas`` (E, P): flat parameters in the :class:`nnopt.nn.MLP` layout
  (per layer ``W`` (n_in, n_out) row-major, then ``b``); not modified;
* ``X`` (N, n_in), ``Y`` (N, n_out); ``sizes`` the layer widths;
* ``act`` the hidden activation (identity, tanh, sigmoid, relu); the output
  layer is linear; loss ``mean((net(theta, X) - Y)**2)``;
* ``lrs`` (E,) step sizes; ``momentum`` beta in ``v <- beta v + g``,
  ``theta <- theta - lr v``;
* returns the final parameters, ``losses`` (E, steps) with the loss *before*
  each step (NaN after a network stopped), and ``nit`` (E,) the number of
  steps taken: a network whose loss becomes non-finite stops there and keeps
  its last parameters.
"""
