"""Run records on disk: one JSON file per run, plus one ``.npz`` for its arrays.

A *store* is a directory. A finished run with key ``K`` (see
:func:`~nnopt.experiments.run_key`) is the file ``K.json``; if its result
holds NumPy arrays or NumPy scalars they are in ``K.npz`` (plain
:func:`numpy.savez`, no pickles), so every array keeps its dtype: a float32
loss curve is read back as float32. Python numbers, strings, booleans,
``None``, lists and dicts stay in the JSON (non-finite floats are written as
``NaN``/``Infinity``, as Python's :mod:`json` does). In the JSON an array is a
placeholder ``{"__ndarray__": NAME, "dtype": ..., "shape": [...]}`` naming its
entry in the ``.npz``.

Writes are atomic: each file goes to a temporary file in the same directory,
is flushed and fsync'ed, then renamed over the target with :func:`os.replace`
(and the directory is fsync'ed). The ``.npz`` is written before the JSON and
the JSON is what makes a record exist, so a crash or Ctrl-C at any moment
leaves either the complete old state or the complete new record, never half
of one. Reading needs only NumPy and :mod:`json`::

    rec = json.load(open(K + ".json"))
    arrays = np.load(K + ".npz")        # if rec["arrays"] is not None
"""
from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .grid import natural_sort_key

__all__ = ["load", "Store", "RECORD_FORMAT"]

#: Format tag written in every record.
RECORD_FORMAT = "nnopt-record/1"

_TMP_PREFIX = ".tmp-"


# ----------------------------------------------------------------- encoding
def encode_result(result):
    """Split a run's result into a JSON tree and a dict of arrays.

    Parameters
    ----------
    result : object
        What the run function returned. A Mapping is stored as is; anything
        else ``x`` is stored as ``{"value": x}`` (``None`` as ``{}``).

    Returns
    -------
    tree : dict
        JSON-ready result with array placeholders.
    arrays : dict[str, numpy.ndarray]
        The arrays, by their ``.npz`` entry name (the dotted path in the result).

    Raises
    ------
    TypeError
        If a value cannot be stored (object arrays, arbitrary objects,
        non-str dict keys).
    """
    if result is None:
        result = {}
    elif not isinstance(result, Mapping):
        result = {"value": result}
    arrays = {}

    def enc(obj, path):
        # NumPy first: np.float64 is also a Python float, and must stay np.float64.
        if isinstance(obj, (np.ndarray, np.generic)):
            arr = np.asarray(obj)
            if arr.dtype.hasobject:
                raise TypeError(
                    f"result[{path!r}]: object arrays cannot be stored without pickle; "
                    f"convert to a numeric or string dtype")
            name = path or "value"
            while name in arrays:
                name += "_"
            arrays[name] = arr
            ph = {"__ndarray__": name, "dtype": arr.dtype.str, "shape": list(arr.shape)}
            if isinstance(obj, np.generic):
                ph["scalar"] = True
            return ph
        if obj is None or isinstance(obj, (bool, int, float, str)):
            return obj
        if isinstance(obj, Mapping):
            out = {}
            for k, v in obj.items():
                if not isinstance(k, str):
                    raise TypeError(
                        f"result[{path!r}]: dict keys must be str, got {type(k).__name__} {k!r}")
                out[k] = enc(v, f"{path}.{k}" if path else k)
            return out
        if isinstance(obj, (list, tuple)):
            return [enc(v, f"{path}.{i}" if path else str(i)) for i, v in enumerate(obj)]
        raise TypeError(
            f"result[{path!r}]: cannot store a value of type {type(obj).__name__}; "
            f"return numbers, strings, booleans, None, NumPy arrays/scalars, "
            f"or lists/dicts of them")

    tree = enc(result, "")
    return tree, arrays


def decode_result(tree, arrays):
    """Inverse of :func:`encode_result`: put the arrays back into the JSON tree."""
    def dec(obj):
        if isinstance(obj, dict):
            if "__ndarray__" in obj:
                arr = arrays[obj["__ndarray__"]]
                return arr[()] if obj.get("scalar") else arr
            return {k: dec(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [dec(v) for v in obj]
        return obj
    return dec(tree)


def _json_dumps(obj):
    return json.dumps(obj, indent=1, sort_keys=False, allow_nan=True)


def normalise_record(rec, arrays):
    """Return the public form of a record (what :func:`load` gives) from its JSON dict."""
    out = dict(rec)
    out["config"] = rec["config"]
    if rec.get("result") is not None:
        out["result"] = decode_result(rec["result"], arrays)
    out.pop("arrays", None)
    out.pop("format", None)
    return out


# ------------------------------------------------------------ atomic writes
def _fsync_dir(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # e.g. platforms without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path, write):
    """Write ``path`` atomically: ``write(fileobj)`` into a temp file, fsync, ``os.replace``.

    Parameters
    ----------
    path : str or Path
        Target file.
    write : callable
        Called with a binary file object open on the temporary file.
    """
    path = Path(path)
    # Not tempfile.mkstemp: its files are mode 0600; this one gets the
    # usual permissions (0666 less the umask), like any file we write.
    while True:
        tmp = path.parent / f"{_TMP_PREFIX}{path.name}.{secrets.token_hex(6)}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(path.parent)


def atomic_write_text(path, text):
    """Write a text file atomically (UTF-8)."""
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def _write_npz(fileobj, arrays):
    """Write ``arrays`` as an uncompressed ``.npz`` (what :func:`numpy.savez` writes).

    Written by hand so that any entry name works (``np.savez(f, **arrays)``
    breaks on an entry called ``file`` or ``allow_pickle``).
    """
    import zipfile
    with zipfile.ZipFile(fileobj, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, arr in arrays.items():
            with zf.open(name + ".npy", "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asanyarray(arr), allow_pickle=False)


# -------------------------------------------------------------------- store
def check_store_path(store, create):
    """Validate a store path; return it as a Path.

    ``create=True`` creates the directory, ``False`` requires it to exist,
    ``None`` only checks the type and that it is not a file.
    """
    if not isinstance(store, (str, os.PathLike)):
        raise TypeError(f"store: expected a directory path (str or Path), got {type(store).__name__} {store!r}")
    path = Path(store)
    if path.exists() and not path.is_dir():
        raise ValueError(f"store: {str(path)!r} is a file, expected a directory for the run records")
    if create:
        path.mkdir(parents=True, exist_ok=True)
    elif create is False and not path.is_dir():
        raise FileNotFoundError(f"store: no such directory {str(path)!r}")
    return path


class Store:
    """A directory of run records (see the module docstring for the format).

    Parameters
    ----------
    path : str or Path
        The directory; created if missing.
    """

    def __init__(self, path, create=True):
        self.path = check_store_path(path, create)

    def json_path(self, key):
        return self.path / f"{key}.json"

    def npz_path(self, key):
        return self.path / f"{key}.npz"

    def read_raw(self, key):
        """Return the JSON dict of record ``key``, or None if absent or unreadable."""
        try:
            with open(self.json_path(key), "rb") as f:
                rec = json.loads(f.read().decode("utf-8"))
        except (OSError, ValueError):
            return None
        return rec if isinstance(rec, dict) and rec.get("format") == RECORD_FORMAT else None

    def is_done(self, key):
        """True if ``key`` has a readable record with status "ok" (and its arrays)."""
        rec = self.read_raw(key)
        if rec is None or rec.get("status") != "ok":
            return False
        return rec.get("arrays") is None or self.npz_path(key).is_file()

    def read(self, key):
        """Return the public record ``key`` (arrays loaded). Raises ValueError if unreadable."""
        path = self.json_path(key)
        try:
            with open(path, "rb") as f:
                rec = json.loads(f.read().decode("utf-8"))
        except (OSError, ValueError) as e:
            raise ValueError(f"store: cannot read record {str(path)!r}: {e}") from e
        if not isinstance(rec, dict) or rec.get("format") != RECORD_FORMAT:
            raise ValueError(f"store: {str(path)!r} is not an nnopt run record")
        arrays = {}
        if rec.get("arrays"):
            npz = self.path / rec["arrays"]
            try:
                with np.load(npz, allow_pickle=False) as z:
                    arrays = {name: z[name] for name in z.files}
            except (OSError, ValueError) as e:
                raise ValueError(f"store: cannot read the arrays {str(npz)!r} of record {str(path)!r}: {e}") from e
        return normalise_record(rec, arrays)

    def write(self, rec, arrays):
        """Write one record atomically: the arrays (if any) first, then the JSON."""
        key = rec["key"]
        rec = dict(rec)
        rec["format"] = RECORD_FORMAT
        rec["arrays"] = f"{key}.npz" if arrays else None
        text = _json_dumps(rec)  # serialise before touching the disk
        if arrays:
            atomic_write(self.npz_path(key), lambda f: _write_npz(f, arrays))
        atomic_write_text(self.json_path(key), text)
        if not arrays:
            # An older failed or superseded record may have left arrays behind.
            try:
                os.unlink(self.npz_path(key))
            except FileNotFoundError:
                pass

    def keys(self):
        """Keys of all records in the store (by file name), sorted."""
        return sorted(p.name[:-5] for p in self.path.glob("*.json")
                      if not p.name.startswith(_TMP_PREFIX))

    def remove_stale_temporaries(self):
        """Delete temp files left by writers that no longer run on this host.

        Temp names hold no pid, so only files older than one hour are removed:
        a live writer holds its temp file for milliseconds.
        """
        import time
        now = time.time()
        for p in self.path.glob(f"{_TMP_PREFIX}*"):
            try:
                if now - p.stat().st_mtime > 3600:
                    p.unlink()
            except OSError:
                pass


def load(store, status=None):
    """Read every run record of a store.

    Parameters
    ----------
    store : str or Path
        The store directory written by :func:`~nnopt.experiments.sweep`.
    status : {None, "ok", "failed"}
        Keep only records with this status.

    Returns
    -------
    list[dict]
        One dict per run, sorted by configuration (numbers numerically) and
        seed, with keys ``key``, ``config`` (canonical: dtypes as names),
        ``seed``, ``status`` (``"ok"`` or ``"failed"``), ``result`` (what the
        run function returned, arrays with their dtypes; None for a failed
        run), ``error`` (``"Type: message"`` for a failed run, else None),
        ``traceback``, ``elapsed_s``, ``nnopt_version``, ``fn``,
        ``finished``, ``host``.

    Raises
    ------
    ValueError
        If ``store`` is a file, ``status`` is not valid, or a record cannot be
        read (the message names the file).
    FileNotFoundError
        If the directory does not exist.

    Examples
    --------
    >>> from nnopt.experiments import load
    >>> records = load("results/lr-scan/records")          # doctest: +SKIP
    >>> [r["result"]["final_loss"] for r in records if r["status"] == "ok"]  # doctest: +SKIP
    """
    if status not in (None, "ok", "failed"):
        raise ValueError(f"status: expected None, 'ok' or 'failed', got {status!r}")
    st = Store(store, create=False)
    recs = [st.read(k) for k in st.keys()]
    if status is not None:
        recs = [r for r in recs if r["status"] == status]
    recs.sort(key=lambda r: (natural_sort_key(r["config"]), r["seed"], r["key"]))
    return recs
