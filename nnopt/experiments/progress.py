"""Progress of a sweep: the event passed to callbacks, and a terminal progress bar.

:func:`~nnopt.experiments.sweep` reports progress only through a callback
that receives a :class:`SweepProgress`. :class:`ProgressBar` is one such
callback: a one-line bar on stderr (runs done / total, failures, runs reused
from the store, elapsed time, ETA). ``progress="auto"`` uses it only when
stderr is a terminal, so logs and CI output stay clean.
"""
from __future__ import annotations

import sys
import time
from typing import NamedTuple, Optional

__all__ = ["SweepProgress", "ProgressBar", "resolve_progress"]


class SweepProgress(NamedTuple):
    """State of a sweep, passed to the ``progress`` callback.

    Attributes
    ----------
    total : int
        Runs in the sweep (configurations x seeds).
    done : int
        Runs finished, including those reused from the store and failed ones.
    failed : int
        Runs that finished with status "failed".
    reused : int
        Runs found already finished in the store (not recomputed).
    elapsed_s : float
        Seconds since the sweep started.
    eta_s : float or None
        Estimated seconds left (from the rate of runs computed so far); None
        before the first computed run finishes.
    record : dict or None
        The record that just finished; None for the first and last events.
    final : bool
        True for the last event, sent once when the sweep ends or is
        interrupted.
    """

    total: int
    done: int
    failed: int
    reused: int
    elapsed_s: float
    eta_s: Optional[float]
    record: Optional[dict]
    final: bool


def _hms(seconds):
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h:d}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class ProgressBar:
    """Terminal progress bar for sweeps; a callback for ``sweep(progress=...)``.

    Parameters
    ----------
    stream : file-like, optional
        Where to draw; ``sys.stderr`` (looked up at each call) by default.
    width : int
        Characters in the bar itself.
    min_interval : float
        Minimum seconds between redraws (the last event always draws).
    label : str
        Text in front of the bar.

    Examples
    --------
    >>> import io
    >>> from nnopt.experiments import ProgressBar, SweepProgress
    >>> buf = io.StringIO()
    >>> bar = ProgressBar(stream=buf, width=10, min_interval=0)
    >>> bar(SweepProgress(4, 2, 1, 0, 3.0, 3.0, None, False))
    >>> print(buf.getvalue().strip())
    sweep [#####.....] 2/4  1 failed  00:03 elapsed  ETA 00:03
    """

    def __init__(self, stream=None, width=30, min_interval=0.1, label="sweep"):
        self.stream = stream
        self.width = int(width)
        self.min_interval = float(min_interval)
        self.label = label
        self._last = -float("inf")
        self._len = 0

    def format(self, ev):
        """Return the bar's text for event ``ev`` (no carriage return)."""
        frac = ev.done / ev.total if ev.total else 1.0
        filled = int(round(frac * self.width))
        bar = "#" * filled + "." * (self.width - filled)
        parts = [f"{self.label} [{bar}] {ev.done}/{ev.total}"]
        if ev.failed:
            parts.append(f"{ev.failed} failed")
        if ev.reused:
            parts.append(f"{ev.reused} reused")
        parts.append(f"{_hms(ev.elapsed_s)} elapsed")
        if not ev.final and ev.eta_s is not None and ev.done < ev.total:
            parts.append(f"ETA {_hms(ev.eta_s)}")
        return "  ".join(parts)

    def __call__(self, ev):
        now = time.monotonic()
        if not ev.final and now - self._last < self.min_interval and ev.done < ev.total:
            return
        self._last = now
        stream = self.stream if self.stream is not None else sys.stderr
        text = self.format(ev)
        pad = " " * max(0, self._len - len(text))
        self._len = len(text)
        stream.write("\r" + text + pad + ("\n" if ev.final else ""))
        stream.flush()


def resolve_progress(progress):
    """Turn the ``progress`` argument of a sweep into a callback or None.

    ``"auto"``: a :class:`ProgressBar` on stderr if stderr is a terminal;
    ``True``: a :class:`ProgressBar` on stderr; ``False``/``None``: nothing;
    a callable: itself.
    """
    if progress is None or progress is False:
        return None
    if progress is True:
        return ProgressBar()
    if isinstance(progress, str):
        if progress != "auto":
            raise ValueError(f"progress: expected 'auto', True, False, None or a callable, got {progress!r}")
        try:
            tty = sys.stderr is not None and sys.stderr.isatty()
        except (AttributeError, ValueError):
            tty = False
        return ProgressBar() if tty else None
    if callable(progress):
        return progress
    raise TypeError(
        f"progress: expected 'auto', True, False, None or a callable, got {type(progress).__name__} {progress!r}")
