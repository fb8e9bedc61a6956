"""Fixtures of the curvature tests."""
import pytest

from curv_problems import make_objective


@pytest.fixture
def mse_problem():
    return make_objective("mse", weight_decay=0.01)


@pytest.fixture
def ce_problem():
    return make_objective("cross_entropy", sizes=(3, 5, 4, 3))
