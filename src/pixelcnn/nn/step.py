"""The one incremental protocol behind fast sampling.

Ramachandran et al. 2017 ("Fast Generation for Convolutional Autoregressive
Models") observe that sampling a PixelCNN one sub-pixel at a time by full
forward passes recomputes every activation H*W*C times. Each layer only needs
to compute the outputs that the newly known values make computable, reading
what earlier layers already computed from a cache.

Every layer and every network speaks one protocol: ``forward(x, ..., step=None)``.
With a :class:`Step`, ``x`` is the step's *region* of the layer's input map (a
rectangle of positions of a map of ``step.size``, and possibly a single colour
group) and the layer returns the same region of its output map, keeping what
it needs in ``step.cache.state(self)``. Elementwise layers need nothing
special. A network's ``forward(x, cond, step)`` returns the likelihood's
parameters over the step's region; the sampler asks for one pixel at a time
(:meth:`Step.pixel`) and, to complete a partial image, first for the whole
known image (:meth:`Step.whole`). A new layer type therefore implements its
``forward`` for a step and nothing in the sampler.

Regions come in raster order: within a pass over a region, only values at or
before the region may be read. Layers that change resolution (strided and
transposed convolutions) map regions between sizes, so the network that owns
them drives them at their own rates (see :mod:`pixelcnn.nn.shifted_runs`).

Colour groups: when ``Step.group`` is ``c``, a layer computes only the
channels of colour group ``c``. The groups before ``c`` of a region tensor
still hold what the same position's earlier steps computed (a run takes a
position's colours in order, from the first), so groups ``<= c`` are
meaningful; later groups may hold anything, and colour masks never read them.
``group=None`` means every channel is computed.

The cache lives outside the weights (a plain object, never in a state dict)
and is made anew for every sampling run; runs read the weights once, so a run
must not outlive a weight update.
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

    ``rows`` and ``cols`` are half-open ranges of output positions of a map of
    ``size`` (``(height, width)``; the image's when None); ``group`` is the
    colour group to compute, or ``None`` for all channels.
    """

    cache: Cache
    rows: tuple[int, int]
    cols: tuple[int, int]
    group: int | None = None
    size: tuple[int, int] | None = None

    @staticmethod
    def pixel(cache: Cache, i: int, j: int, group: int | None = None) -> "Step":
        return Step(cache, (i, i + 1), (j, j + 1), group)

    @staticmethod
    def row(cache: Cache, i: int) -> "Step":
        return Step(cache, (i, i + 1), (0, cache.width), None)

    @staticmethod
    def whole(cache: Cache) -> "Step":
        """Every position at once: a full forward pass that also fills the caches."""
        return Step(cache, (0, cache.height), (0, cache.width), None)

    @staticmethod
    def at(cache: Cache, size: tuple[int, int], i: int, j: int | None = None) -> "Step":
        """Row ``i`` (``j`` None) or position ``(i, j)`` of a map of ``size`` (a coarser
        resolution of the image, for networks that change resolution)."""
        cols = (0, size[1]) if j is None else (j, j + 1)
        return Step(cache, (i, i + 1), cols, None, tuple(size))

    @property
    def map_size(self) -> tuple[int, int]:
        """``(height, width)`` of the map the step's region lies in."""
        return self.size if self.size is not None else (self.cache.height, self.cache.width)

    @property
    def is_position(self) -> bool:
        """Whether the region is one position."""
        return self.rows[1] - self.rows[0] == 1 and self.cols[1] - self.cols[0] == 1

    def region(self, t: torch.Tensor) -> torch.Tensor:
        """The step's region of a whole map ``t`` ``[B, C, H, W]``."""
        return t[..., self.rows[0] : self.rows[1], self.cols[0] : self.cols[1]]
