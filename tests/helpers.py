"""Small models of every registered preset, for fast property tests."""

from __future__ import annotations

import dataclasses

import torch

import pixelcnn
from pixelcnn.models import preset_config


def small_overrides(name: str, channels: int, levels: int, size: tuple[int, int], **extra) -> dict:
    """Overrides that shrink preset ``name`` to a few hundred weights' worth of layers."""
    fields = {f.name for f in dataclasses.fields(preset_config(name))}
    base = preset_config(name)
    out = {"in_channels": channels, "levels": levels, "image_size": size}
    if "hidden" in fields:
        out["hidden"] = 12
    if "layers" in fields:
        out["layers"] = 2
    if "head" in fields and base.head:
        out["head"] = 12
    out.update(extra)
    return out


def small_model(name: str, channels: int = 1, levels: int = 4, size=(4, 5), seed: int = 0, **extra):
    """A randomly initialised float64 model of preset ``name``."""
    torch.manual_seed(seed)
    model = pixelcnn.create_model(name, **small_overrides(name, channels, levels, size, **extra)).double()
    _randomise(model)
    return model


def _randomise(model) -> None:
    """Give every parameter (biases, norms too) a random value so no path is silently zero."""
    g = torch.Generator().manual_seed(1234)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.5)
