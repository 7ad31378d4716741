"""Map encoders: the small network that turns a condition map into features.

A model config's ``cond_map`` names one:

- ``"none"`` (the default): the model takes no map;
- ``{"name": "codes", "levels": K, "size": [h, w]}``: integer codes ``[B, h, w]``
  in ``[0, K)`` (a VQ-VAE-2 bottom prior's top codes), through a learned table;
- ``{"name": "features", "channels": Cc, "size": [h, w]}``: floats ``[B, Cc, h, w]``.

Both take ``dim`` (the feature width, 32) and ``layers`` (residual 3x3
convolutions, 2). A map is known in full before sampling, so nothing is
masked: the convolutions are ordinary, and a summary of the whole map (its
mean features, through a linear layer) is added at every position, so every
position sees all of it. The features are resized to each resolution the
network uses (bilinear, antialiased when shrinking); each conditioned layer
adds its own 1x1 projection of them (:class:`pixelcnn.nn.condition.Conditioning`).
"""

from __future__ import annotations

import operator

import torch
import torch.nn.functional as F
from torch import nn

from pixelcnn.errors import ConfigError, PixelCNNError
from pixelcnn.levels import MAX_LEVELS
from pixelcnn.nn.condition import Condition, as_condition
from pixelcnn.parts import Registry

COND_MAPS = Registry("condition map")


@COND_MAPS.register("none")
class NoMap(nn.Module):
    """No condition map: zero features."""

    width = 0

    def bind(self, cond) -> Condition:
        return as_condition(cond)


class MapEncoder(nn.Module):
    """The shared part of the map encoders: residual 3x3 layers and the whole-map summary."""

    def __init__(self, size, dim: int, layers: int):
        super().__init__()
        self.size = _size(size)
        self.width = _whole("dim", dim, 1)
        layers = _whole("layers", layers, 0)
        self.convs = nn.ModuleList(nn.Conv2d(dim, dim, 3, padding=1) for _ in range(layers))
        self.summary = nn.Linear(dim, dim)

    def bind(self, cond) -> Condition:
        """``cond`` as a Condition that computes its features with this encoder."""
        cond = as_condition(cond)
        if cond.encoder is not self:
            cond = Condition(cond.labels, cond.vector, cond.map, self)
        return cond

    def encode(self, m: torch.Tensor) -> torch.Tensor:
        """Features ``[B, dim, h, w]`` of a checked map."""
        h = self.embed(m)
        for conv in self.convs:
            h = h + conv(torch.relu(h))
        return h + self.summary(h.mean(dim=(2, 3)))[:, :, None, None]

    def resized(self, m: torch.Tensor, size: tuple[int, int], memo: dict) -> torch.Tensor:
        """The features of map ``m`` at ``size`` (the map's own size computed once, in ``memo``)."""
        if self.size not in memo:
            memo[self.size] = self.encode(m)
        h = memo[self.size]
        if size == self.size:
            return h
        shrink = size[0] < self.size[0] or size[1] < self.size[1]
        return F.interpolate(h, size=size, mode="bilinear", align_corners=False, antialias=shrink)


@COND_MAPS.register("codes")
class CodeMap(MapEncoder):
    """Integer codes ``[B, h, w]`` in ``[0, levels)`` -> features, through a learned table."""

    def __init__(self, levels: int, size, dim: int = 32, layers: int = 2):
        super().__init__(size, dim, layers)
        self.levels = _whole("levels", levels, 2, MAX_LEVELS)
        self.table = nn.Embedding(levels, dim)

    def embed(self, m: torch.Tensor) -> torch.Tensor:
        return self.table(m.long()).permute(0, 3, 1, 2)

    def shape(self, batch: int) -> tuple[int, ...]:
        return (batch, *self.size)


@COND_MAPS.register("features")
class FeatureMap(MapEncoder):
    """Floats ``[B, channels, h, w]`` -> features, through a 1x1 convolution."""

    def __init__(self, channels: int, size, dim: int = 32, layers: int = 2):
        super().__init__(size, dim, layers)
        self.channels = _whole("channels", channels, 1)
        self.input = nn.Conv2d(channels, dim, 1)

    def embed(self, m: torch.Tensor) -> torch.Tensor:
        return self.input(m.to(self.input.weight.dtype))

    def shape(self, batch: int) -> tuple[int, ...]:
        return (batch, self.channels, *self.size)


def check_map(network: nn.Module, m, batch: int, name: str) -> torch.Tensor | None:
    """Condition map ``m`` checked against ``network.cond_map``: one line on any mismatch."""
    encoder = getattr(network, "cond_map", None)
    if encoder is None or not encoder.width:
        if m is not None:
            raise PixelCNNError(f"this {name} model takes no condition map (cond_map = none)")
        return None
    want = encoder.shape(batch)
    codes = isinstance(encoder, CodeMap)
    kind = f"integer codes in [0, {encoder.levels})" if codes else "floats"
    if m is None:
        raise PixelCNNError(f"this {name} model is conditioned on a map: give cond={{'map': ...}}, "
                            f"{kind} of shape {list(want)}")
    if not isinstance(m, torch.Tensor):
        raise PixelCNNError(f"a condition map must be a torch.Tensor, got {type(m).__name__}")
    if codes == (m.is_floating_point() or m.is_complex() or m.dtype == torch.bool):
        raise PixelCNNError(f"this {name} model's condition map holds {kind}, got dtype {m.dtype}")
    if tuple(m.shape) != want:
        raise PixelCNNError(f"the condition map must have shape {list(want)}, got {list(m.shape)}")
    if codes and m.numel() and (int(m.min()) < 0 or int(m.max()) >= encoder.levels):
        raise PixelCNNError(f"condition codes must lie in [0, {encoder.levels}), "
                            f"got values in [{int(m.min())}, {int(m.max())}]")
    if not codes and not bool(torch.isfinite(m).all()):
        raise PixelCNNError("the condition map holds NaN or infinite values")
    device = next(network.parameters()).device
    return (m.long() if codes else m).to(device)


def make_cond_map(spec) -> nn.Module:
    """The map encoder ``spec`` names."""
    return COND_MAPS.build(spec)


def _whole(name: str, value, low: int, high: int | None = None) -> int:
    try:
        if isinstance(value, bool):
            raise TypeError
        value = operator.index(value)
    except TypeError:
        raise ConfigError(f"cond_map option {name} must be a whole number, got {value!r}") from None
    if value < low or (high is not None and value > high):
        span = f">= {low}" if high is None else f"in [{low}, {high:,}]"
        raise ConfigError(f"cond_map option {name} must be {span}, got {value}")
    return value


def _size(size) -> tuple[int, int]:
    if isinstance(size, int) and not isinstance(size, bool):
        size = (size, size)
    if not isinstance(size, (list, tuple)) or len(size) != 2:
        raise ConfigError(f"cond_map option size must be [height, width], got {size!r}")
    return _whole("size", size[0], 1), _whole("size", size[1], 1)
