"""docs/autodiff.md and examples/rounding_error_mlp.py run as written."""
import pathlib
import re
import runpy

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_docs_autodiff_code_blocks_run(capsys):
    text = (ROOT / "docs" / "autodiff.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 8
    namespace = {"__name__": "docs_autodiff"}
    exec(compile("\n".join(blocks), "docs/autodiff.md", "exec"), namespace)  # noqa: S102
    out = capsys.readouterr().out
    assert "numpy.sort is not supported" in out


def test_rounding_error_example_runs():
    mod = runpy.run_path(str(ROOT / "examples" / "rounding_error_mlp.py"))
    rows = mod["main"](widths=(3,), n=8, dps=30)
    assert [r[1] for r in rows] == ["float32", "float64"]
    for _, _, value, grad, grad_max in rows:
        assert np.isfinite(value) and np.isfinite(grad) and grad_max >= 0
