"""docs/diffeq.md runs as written; the examples' entry points exist."""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_docs_diffeq_code_blocks_run(capsys):
    text = (ROOT / "docs" / "diffeq.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 7
    namespace = {"__name__": "docs_diffeq"}
    exec(compile("\n".join(blocks), "docs/diffeq.md", "exec"), namespace)  # noqa: S102
    out = capsys.readouterr().out
    assert "4 2" in out and "4 4 3" in out and "float32 float32 True" in out
    assert namespace["sol"].errors["max_abs"] < 1e-5
    assert namespace["sol_any"].path == "generic"
