"""Record encoding, atomic writes, the store and load()."""
import json
import os

import numpy as np
import pytest

from nnopt.experiments import load
from nnopt.experiments import records as R


def _rec(key, status="ok", result=None, config=None, seed=0):
    return {"key": key, "config": config or {"a": 1}, "seed": seed, "status": status,
            "result": result, "error": None if status == "ok" else "ValueError: x",
            "traceback": None, "elapsed_s": 0.0, "nnopt_version": "t", "fn": "m.f",
            "finished": "", "host": "h", "pid": 1}


def test_encode_decode_roundtrip_keeps_types_and_dtypes():
    res = {"c32": np.arange(3, dtype=np.float32), "c16": np.ones(2, np.float16),
           "i": np.arange(2, dtype=np.int64), "s32": np.float32(1.5), "s64": np.float64(2.5),
           "zero_d": np.asarray(3.0), "py": 1.25, "n": 3, "b": True, "none": None, "txt": "ok",
           "lst": [1, np.float32(2.0), (3, 4)], "nested": {"eig": np.array([[1.0, 2.0]])},
           "file": np.zeros(1), "allow_pickle": np.ones(1)}
    tree, arrays = R.encode_result(res)
    json.dumps(tree)  # JSON-ready
    out = R.decode_result(json.loads(json.dumps(tree)), arrays)
    assert out["c32"].dtype == np.float32 and out["c16"].dtype == np.float16
    assert type(out["s32"]) is np.float32 and type(out["s64"]) is np.float64
    assert isinstance(out["zero_d"], np.ndarray) and out["zero_d"].shape == ()
    assert type(out["py"]) is float and type(out["n"]) is int and out["b"] is True
    assert out["lst"][2] == [3, 4] and type(out["lst"][1]) is np.float32
    np.testing.assert_array_equal(out["nested"]["eig"], res["nested"]["eig"])
    assert out["none"] is None and out["txt"] == "ok"


def test_non_dict_results_are_wrapped():
    assert R.encode_result(None)[0] == {}
    tree, arrays = R.encode_result(np.float32(2.0))
    assert R.decode_result(tree, arrays) == {"value": np.float32(2.0)}


@pytest.mark.parametrize("bad, words", [
    ({"o": np.array([object()])}, "object arrays"),
    ({"f": lambda: 0}, "cannot store"),
    ({1: 2.0}, "keys must be str"),
])
def test_unstorable_results_raise(bad, words):
    with pytest.raises(TypeError, match=words):
        R.encode_result(bad)


def test_store_write_read_with_arrays(tmp_path):
    st = R.Store(tmp_path / "s")
    tree, arrays = R.encode_result({"curve": np.arange(4, dtype=np.float32), "x": 1.0})
    st.write(_rec("k1", result=tree), arrays)
    assert sorted(os.listdir(st.path)) == ["k1.json", "k1.npz"]
    # plain json + numpy can read it
    raw = json.load(open(st.path / "k1.json"))
    assert raw["arrays"] == "k1.npz" and raw["result"]["x"] == 1.0
    assert np.load(st.path / "k1.npz")["curve"].dtype == np.float32
    rec = st.read("k1")
    assert rec["result"]["curve"].dtype == np.float32 and st.is_done("k1")


def test_failed_record_replaces_arrays(tmp_path):
    st = R.Store(tmp_path)
    tree, arrays = R.encode_result({"curve": np.zeros(2)})
    st.write(_rec("k", result=tree), arrays)
    st.write(_rec("k", status="failed"), {})
    assert not (tmp_path / "k.npz").exists() and not st.is_done("k")
    assert load(tmp_path)[0]["status"] == "failed"


def test_crash_during_write_leaves_old_record_and_no_temp(tmp_path, monkeypatch):
    st = R.Store(tmp_path)
    st.write(_rec("k", result={"v": 1}), {})
    before = (tmp_path / "k.json").read_bytes()

    def boom(*a, **k):
        raise KeyboardInterrupt  # Ctrl-C between writing and renaming
    monkeypatch.setattr(R.os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        st.write(_rec("k", result={"v": 2}), {})
    monkeypatch.undo()
    assert (tmp_path / "k.json").read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["k.json"]


def test_load_sorted_filtered_and_ignores_temporaries(tmp_path):
    st = R.Store(tmp_path)
    for i, lr in enumerate([10.0, 2.0, 0.5]):
        st.write(_rec(f"k{i}", result={"v": lr}, config={"lr": lr}), {})
    st.write(_rec("kf", status="failed", config={"lr": 1.0}), {})
    (tmp_path / ".tmp-k9.json.abc").write_text("{half")
    recs = load(tmp_path)
    assert [r["config"]["lr"] for r in recs] == [0.5, 1.0, 2.0, 10.0]
    assert len(load(tmp_path, status="ok")) == 3
    assert [r["key"] for r in load(tmp_path, status="failed")] == ["kf"]
    assert "format" not in recs[0] and "arrays" not in recs[0]


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="store"):
        load(tmp_path / "missing")
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        load(f)
    with pytest.raises(ValueError, match="status"):
        load(tmp_path, status="done")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="bad.json"):
        load(tmp_path)


def test_file_permissions_follow_umask(tmp_path):
    st = R.Store(tmp_path)
    st.write(_rec("k", result={"v": 1}), {})
    old = os.umask(0o022)
    os.umask(old)
    assert (tmp_path / "k.json").stat().st_mode & 0o777 == 0o666 & ~old
