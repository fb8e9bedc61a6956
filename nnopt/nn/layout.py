"""Where each layer's parameters live in the flat parameter vector."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["ParamSpec", "LayerBlock", "Layout"]


class ParamSpec(NamedTuple):
    """One parameter array: ``theta[slice].reshape(shape)``."""

    name: str          # e.g. "0.W"
    layer: int         # index of the layer in the model
    param: str         # e.g. "W", "b"
    slice: slice
    shape: tuple
    kind: str          # the layer's kind, e.g. "dense"


class LayerBlock(NamedTuple):
    """All parameters of one layer (contiguous in theta)."""

    layer: int
    name: str
    kind: str
    slice: slice
    params: tuple      # of ParamSpec


class Layout:
    """Names, slices, shapes and kinds of a model's parameters.

    Iterating gives :class:`ParamSpec` entries in order; ``blocks`` groups
    them per layer for layer-wise methods (K-FAC, block Hessians).
    """

    def __init__(self, specs):
        self.specs = tuple(specs)
        self.n_params = self.specs[-1].slice.stop if self.specs else 0
        blocks = []
        for spec in self.specs:
            if blocks and blocks[-1][0] == spec.layer:
                blocks[-1][1].append(spec)
            else:
                blocks.append((spec.layer, [spec]))
        self.blocks = tuple(
            LayerBlock(
                layer,
                f"{layer}.{ps[0].kind}",
                ps[0].kind,
                slice(ps[0].slice.start, ps[-1].slice.stop),
                tuple(ps),
            )
            for layer, ps in blocks
        )

    def __iter__(self):
        return iter(self.specs)

    def __len__(self):
        return len(self.specs)

    def __getitem__(self, name):
        for spec in self.specs:
            if spec.name == name:
                return spec
        raise KeyError(f"no parameter named {name!r}; names: {[s.name for s in self.specs]}")

    def unflatten(self, theta):
        """Dict name -> array view (or traced slice) of ``theta``."""
        return {s.name: theta[s.slice].reshape(s.shape) for s in self.specs}

    def flatten(self, arrays, dtype=None):
        """Inverse of :meth:`unflatten` for plain arrays."""
        out = np.empty(self.n_params, dtype=dtype or np.result_type(*arrays.values()))
        for s in self.specs:
            a = np.asarray(arrays[s.name])
            if a.shape != s.shape:
                raise ValueError(f"flatten: {s.name} has shape {a.shape}, expected {s.shape}")
            out[s.slice] = a.ravel()
        return out

    def __repr__(self):
        lines = [f"Layout({self.n_params} parameters)"]
        for s in self.specs:
            lines.append(f"  {s.name:<12} {s.kind:<10} {str(s.shape):<14} [{s.slice.start}:{s.slice.stop}]")
        return "\n".join(lines)
