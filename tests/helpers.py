"""Small models of every registered preset and likelihood, for fast property tests."""

from __future__ import annotations

import dataclasses

import torch

import pixelcnn
from pixelcnn.likelihoods import LIKELIHOODS
from pixelcnn.models import preset_config

# every network with every likelihood: the registry-wide tests run over these
PAIRS = [(name, likelihood) for name in pixelcnn.list_models() for likelihood in LIKELIHOODS]


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
    out = {"in_channels": channels, "levels": levels, "image_size": size, "mixtures": 2}
    if "hidden" in fields:
        out["hidden"] = 12
    if "layers" in fields:
        out["layers"] = 2
    if "head" in fields and base.head:
        out["head"] = 12
    if "dropout" in fields:  # two passes of a training-mode model must agree; test_pixelcnn_pp.py tests dropout
        out["dropout"] = 0.0
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


def step_blocks(model) -> list[tuple[slice, slice]]:
    """For each sampling step inside a pixel (the likelihood's causal groups): the colours
    it draws and its block of parameter channels."""
    lik = model.likelihood
    width, per_group = lik.colours // lik.groups, lik.channels // lik.groups
    return [(slice(g * width, (g + 1) * width), slice(g * per_group, (g + 1) * per_group)) for g in range(lik.groups)]


def block_gradient(model, x: torch.Tensor, b: int, i: int, j: int, block: slice, cond=(None, None)) -> torch.Tensor:
    """|d (w . params[b, block, i, j]) / d x| for a random w: ``[B, C, H, W]`` (float64)."""
    xf = x.double().requires_grad_(True)
    params = model.network(xf, cond)  # float input: the network scales it differentiably
    weights = torch.randn(block.stop - block.start, dtype=params.dtype, generator=torch.Generator().manual_seed(7))
    (params[b, block, i, j] * weights).sum().backward()
    return xf.grad.abs()
