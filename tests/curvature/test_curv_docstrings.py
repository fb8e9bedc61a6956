"""The examples in the docstrings of nnopt.curvature run and print what they claim."""
import doctest
import importlib

import pytest


@pytest.mark.parametrize("name", ["lanczos", "trace", "density", "sharpness", "operators"])
def test_docstring_examples(name):
    # import_module: the package re-exports functions named like some of its modules
    module = importlib.import_module(f"nnopt.curvature.{name}")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
