"""Small models of every registered preset and likelihood, for fast property tests."""

from __future__ import annotations

import dataclasses

import torch

import pixelcnn
from pixelcnn.likelihoods import list_likelihoods
from pixelcnn.models import preset_config
from pixelcnn.nn.inputs import INPUTS, subpixel_gradient
from pixelcnn.parts import merge_spec

# every network with every likelihood: the registry-wide tests run over these
PAIRS = [(name, likelihood) for name in pixelcnn.list_models() for likelihood in list_likelihoods()]
# every input encoder but the default (the other registry-wide tests run with "scaled"), small
INPUT_SPECS = [{"name": "embedding", "dim": 3} if name == "embedding" else name for name in INPUTS.names()
               if name != "scaled"]


def declares_cached(name: str) -> bool:
    """Whether the network of preset ``name`` declares a cached (fast) sampler."""
    from pixelcnn.models.registry import NETWORKS

    return bool(getattr(NETWORKS[preset_config(name).ARCH], "supports_cached", False))


# the fast-sampling tests run over exactly the networks that declare a cached sampler
CACHED_PAIRS = [(name, likelihood) for name, likelihood in PAIRS if declares_cached(name)]


def small_overrides(name: str, channels: int, levels: int, size: tuple[int, int], **extra) -> dict:
    """Overrides that shrink preset ``name`` to a few hundred weights' worth of layers."""
    fields = {f.name for f in dataclasses.fields(preset_config(name))}
    base = preset_config(name)
    out = {"in_channels": channels, "levels": levels, "image_size": size}
    if "hidden" in fields:
        out["hidden"] = 12
    if "layers" in fields:
        out["layers"] = 2
    if "blocks" in fields:  # attention blocks
        out["blocks"] = 2
    if "head" in fields and base.head:
        out["head"] = 12
    if "dropout" in fields:  # two passes of a training-mode model must agree; test_pixelcnn_pp.py tests dropout
        out["dropout"] = 0.0
    out.update(extra)
    likelihood = out.get("likelihood", base.likelihood)
    if merge_spec(likelihood, {})["name"] == "logistic-mixture":  # two components are enough to test
        out["likelihood"] = merge_spec(likelihood, {"mixtures": 2})
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


def step_blocks(model) -> list[tuple[slice, slice]]:
    """For each sampling step inside a pixel (the likelihood's causal groups): the colours
    it draws and its block of parameter channels."""
    return model.likelihood.steps()


def block_gradient(model, x: torch.Tensor, b: int, i: int, j: int, block: slice, cond=None) -> torch.Tensor:
    """|d (w . params[b, block, i, j]) / d input| for a random w, at the input encoder's output
    and summed over each sub-pixel's features: ``[B, C, H, W]`` (float64)."""
    weights = torch.randn(block.stop - block.start, dtype=torch.float64, generator=torch.Generator().manual_seed(7))
    return subpixel_gradient(model.network, x, lambda params: (params[b, block, i, j] * weights).sum(), cond)
