"""docs/bounds.md and the bounds examples run as written."""
import pathlib
import re
import runpy

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_docs_bounds_code_blocks_run(capsys):
    text = (ROOT / "docs" / "bounds.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 6
    namespace = {"__name__": "docs_bounds"}
    exec(compile("\n".join(blocks), "docs/bounds.md", "exec"), namespace)  # noqa: S102
    out = capsys.readouterr().out
    assert "log is not real-valued" in out


def test_remainder_plot_example(tmp_path):
    mod = runpy.run_path(str(ROOT / "examples" / "bounds_remainder_plots.py"))
    rows = mod["bounds_table"](degrees=(1,))
    assert [r[0] for r in rows] == ["exp", "log", "sigmoid"]
    assert all(lo <= hi for _, _, lo, hi in rows)
    path = mod["main"](outdir=tmp_path, degrees=(1,))
    assert path.exists()


def test_global_min_example_functions():
    mod = runpy.run_path(str(ROOT / "examples" / "bounds_global_min.py"))
    res, _ = mod["run"](mod["camel"], [(-3, 3), (-2, 2)], 1e-4)
    assert res.value[0] <= -1.0316284534898774 <= res.value[1]


def test_mm_training_example_small():
    mod = runpy.run_path(str(ROOT / "examples" / "bounds_mm_training.py"))
    results = mod["compare"](steps=4, n=16)
    assert set(results) == {"regression", "classification"}
    for row in results.values():
        mm = row["MM (safe rate)"][1]
        assert np.all(np.diff(mm) <= 1e-12)
        assert set(row) == {"GD", "Adam", "AdaGrad", "MM (safe rate)"}
