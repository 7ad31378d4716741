"""Conditioning on a class label and/or a dense vector (van den Oord et al. 2016b, eq. 4).

A condition becomes a per-image bias ``[B, channels, 1, 1]`` added to a
layer's pre-activations; it is the same at every position, so it never
breaks causality.
"""

from __future__ import annotations

import torch
from torch import nn


def split_cond(cond) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """``cond`` as ``(labels [B] long, vector [B, D] float)``, either may be None.

    Accepts None, an integer tensor of labels, a float tensor of vectors, or a
    dict with keys ``"labels"`` and/or ``"vector"``.
    """
    if cond is None:
        return None, None
    if isinstance(cond, dict):
        return cond.get("labels"), cond.get("vector")
    if torch.is_floating_point(cond):
        return None, cond
    return cond, None


class Conditioning(nn.Module):
    """Class embedding plus a linear map of the dense vector -> bias ``[B, channels, 1, 1]``."""

    def __init__(self, num_classes: int, cond_dim: int, channels: int):
        super().__init__()
        self.embed = nn.Embedding(num_classes, channels) if num_classes else None
        self.project = nn.Linear(cond_dim, channels, bias=False) if cond_dim else None

    def forward(self, labels: torch.Tensor | None, vector: torch.Tensor | None) -> torch.Tensor | float:
        bias = 0.0
        if self.embed is not None and labels is not None:
            bias = bias + self.embed(labels)
        if self.project is not None and vector is not None:
            bias = bias + self.project(vector)
        return bias if isinstance(bias, float) else bias[:, :, None, None]
