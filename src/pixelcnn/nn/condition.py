"""What a model is conditioned on, and how each layer adds it.

A condition is known in full before sampling starts, so every position may
see all of it: it never breaks causality. It has up to three parts:

- class labels ``[B]`` (van den Oord et al. 2016b, eq. 4) and dense vectors
  ``[B, D]``: one bias per image, the same at every position;
- a map: codes ``[B, h, w]`` or floats ``[B, Cc, h, w]`` (a VQ-VAE-2 bottom
  prior's top codes). The model's map encoder (:mod:`pixelcnn.nn.condition_map`)
  turns it into features at every resolution the network uses, and each
  layer adds a 1x1 projection of them.

Each conditioned layer owns a :class:`Conditioning`. During an incremental run
(:mod:`pixelcnn.nn.step`) the map's features are computed once per run, and a
step projects the features of its region only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from pixelcnn.nn.layers import conv1x1


@dataclass
class Condition:
    """The parts of a condition, each optional; ``encoder`` (the model's map encoder) is
    attached by :meth:`pixelcnn.nn.condition_map.MapEncoder.bind`."""

    labels: torch.Tensor | None = None
    vector: torch.Tensor | None = None
    map: torch.Tensor | None = None
    encoder: nn.Module | None = field(default=None, repr=False)
    _features: dict = field(default_factory=dict, repr=False)

    def features(self, size: tuple[int, int], step=None) -> torch.Tensor:
        """The map's features at ``size``: ``[B, F, *size]``, once per forward pass (once
        per run with a ``step``)."""
        memo = self._features if step is None else step.cache.state(self.encoder)
        key = tuple(size)
        if key not in memo:
            memo[key] = self.encoder.resized(self.map, key, memo)
        return memo[key]

    def features_last(self, size: tuple[int, int], step) -> torch.Tensor:
        """:meth:`features` channels last, ``[B, *size, F]``, once per run of ``step``."""
        memo = step.cache.state(self.encoder)
        key = ("channels last", tuple(size))
        if key not in memo:
            memo[key] = self.features(size, step).permute(0, 2, 3, 1).contiguous()
        return memo[key]


def as_condition(cond) -> Condition:
    """``cond`` as a :class:`Condition`.

    Accepts None, a Condition, a ``(labels, vector)`` pair, a dict with keys
    ``"labels"``, ``"vector"`` and/or ``"map"``, or one tensor: integer ``[B]``
    labels, float ``[B, D]`` vectors, integer ``[B, h, w]`` code maps or float
    ``[B, Cc, h, w]`` maps.
    """
    if cond is None:
        return Condition()
    if isinstance(cond, Condition):
        return cond
    if isinstance(cond, tuple):
        return Condition(*cond)
    if isinstance(cond, dict):
        return Condition(cond.get("labels"), cond.get("vector"), cond.get("map"))
    if isinstance(cond, torch.Tensor):
        floating = torch.is_floating_point(cond)
        if cond.dim() == (4 if floating else 3):
            return Condition(map=cond)
        return Condition(vector=cond) if floating else Condition(labels=cond)
    return Condition(labels=cond)  # anything else: checked (and refused) as labels


def move_cond(cond, fn):
    """``fn`` applied to every tensor of a condition given as None, a tensor, or a dict of
    tensors (rows of a batch: ``move_cond(cond, lambda t: t[index])``, or a device move)."""
    if cond is None:
        return None
    if isinstance(cond, dict):
        return {k: None if v is None else fn(v) for k, v in cond.items()}
    return fn(cond)


class Conditioning(nn.Module):
    """Class embedding, linear map of the vector and 1x1 projection of the map features
    -> a bias broadcastable to ``[B, channels, H, W]``."""

    def __init__(self, num_classes: int, cond_dim: int, channels: int, map_features: int = 0):
        super().__init__()
        self.embed = nn.Embedding(num_classes, channels) if num_classes else None
        self.project = nn.Linear(cond_dim, channels, bias=False) if cond_dim else None
        self.map = nn.Conv2d(map_features, channels, 1, bias=False) if map_features else None
        if self.map is not None:
            nn.init.normal_(self.map.weight, std=map_features ** -0.5)

    def forward(self, cond: Condition, like: torch.Tensor, step=None) -> torch.Tensor | float:
        """The bias for a layer output ``like`` (the whole map, or the step's region of a
        map of ``step.map_size``)."""
        parts = []
        if self.embed is not None and cond.labels is not None:
            parts.append(self.embed(cond.labels)[:, :, None, None])
        if self.project is not None and cond.vector is not None:
            parts.append(self.project(cond.vector)[:, :, None, None])
        if self.map is not None and cond.map is not None:
            parts.append(self._map_bias(cond, like, step))
        return sum(parts[1:], parts[0]) if parts else 0.0

    def _map_bias(self, cond: Condition, like: torch.Tensor, step) -> torch.Tensor:
        if step is None:
            return conv1x1(cond.features(like.shape[-2:]), self.map.weight, None)
        state = step.cache.state(self)
        if "weight" not in state:  # read once per run: [F, channels]
            state["weight"] = self.map.weight.detach().flatten(1).t()
        # the step's region only: a position's features are a row of the channels-last map
        (top, bottom), (left, right) = step.rows, step.cols
        region = cond.features_last(step.map_size, step)[:, top:bottom, left:right]  # [B, h, w, F]
        b, h, w, f = region.shape
        return (region.reshape(-1, f) @ state["weight"]).view(b, h, w, -1).permute(0, 3, 1, 2)
