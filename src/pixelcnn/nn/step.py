"""The incremental forward pass behind fast sampling.

Ramachandran et al. 2017 ("Fast Generation for Convolutional Autoregressive
Models") observe that sampling a PixelCNN one sub-pixel at a time by full
forward passes recomputes every activation H*W*C times. Each layer only needs
to compute the outputs that the newly known values make computable, reading
what earlier layers already computed from a cache.

Here a model's ordinary ``forward(x, cond, step=None)`` doubles as the
incremental pass: given a :class:`Step`, every tensor that flows between
layers covers only the step's *region* (a rectangle of positions, and
possibly a single colour group), and each layer that looks at neighbours
(a :class:`~pixelcnn.nn.MaskedConv2d`) writes what it receives into its
cached input map and reads its receptive field from there. Elementwise
layers need nothing special. Layers must follow the raster order: within a
pass over a region, only values at or before the region may be read.

Colour groups: when ``Step.group`` is ``c``, a layer computes only the
channels of colour group ``c``. The groups before ``c`` of a region tensor
still hold what the same position's earlier steps computed (a run takes a
position's colours in order, from the first), so groups ``<= c`` are
meaningful; later groups may hold anything, and colour masks never read them.
``group=None`` means every channel is computed.

The cache lives outside the weights (a plain object, never in a state dict)
and is made anew for every sampling run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class Cache:
    """Per-layer state of one incremental run over ``batch`` images of ``height x width``."""

    batch: int
    height: int
    width: int
    _store: dict = field(default_factory=dict, repr=False)

    def state(self, layer: torch.nn.Module) -> dict:
        """The mutable state dict of ``layer`` in this run (created empty on first use)."""
        return self._store.setdefault(id(layer), {})


@dataclass(frozen=True)
class Step:
    """One call of the incremental pass: compute outputs for a region only.

    ``rows`` and ``cols`` are half-open ranges of output positions; ``group``
    is the colour group to compute, or ``None`` for all channels.
    """

    cache: Cache
    rows: tuple[int, int]
    cols: tuple[int, int]
    group: int | None = None

    @staticmethod
    def pixel(cache: Cache, i: int, j: int, group: int | None) -> "Step":
        return Step(cache, (i, i + 1), (j, j + 1), group)

    @staticmethod
    def row(cache: Cache, i: int) -> "Step":
        return Step(cache, (i, i + 1), (0, cache.width), None)

    @staticmethod
    def whole(cache: Cache) -> "Step":
        """Every position at once: a full forward pass that also fills the caches."""
        return Step(cache, (0, cache.height), (0, cache.width), None)

    def region(self, t: torch.Tensor) -> torch.Tensor:
        """The step's region of a whole map ``t`` ``[B, C, H, W]``."""
        return t[..., self.rows[0] : self.rows[1], self.cols[0] : self.cols[1]]

