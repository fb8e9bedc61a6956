"""The examples in the docstrings of nnopt.experiments run and give what they show."""
import doctest
import importlib

import pytest

MODULES = ["grid", "executors", "progress", "report", "sweep"]  # those with runnable examples


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    mod = importlib.import_module(f"nnopt.experiments.{name}")
    res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert res.attempted > 0 and res.failed == 0
