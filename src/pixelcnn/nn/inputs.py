"""Input encoders: how integer levels become the first layer's input.

A model config's ``input`` names one (``"scaled"``, or ``{"name":
"embedding", "dim": 16}``). An encoder maps levels ``[B, C, H, W]`` in ``[0,
L)`` to features ``[B, C * E, H, W]``: E channels per colour, colour-major
(the E channels of colour c are ``c*E .. (c+1)*E - 1``), so the first layer's
colour groups see whole sub-pixels. Each position's features depend on that
position alone, so the encoder keeps every network's causality.

- ``scaled`` (E = 1): ``-1 + 2l / (L - 1)``, for levels that are values on a
  scale (pixel intensities);
- ``embedding`` (E = ``dim``): a learned table of L vectors, shared by the
  colours, for levels that are labels (the codes of a VQ-VAE) or many.

A float tensor given to an encoder is taken as features already encoded:
the gradient probes (causality tests, the receptive-field inspector)
differentiate there, with :func:`subpixel_gradient`.
"""

from __future__ import annotations

import torch
from torch import nn

from pixelcnn.nn.layers import scale_levels
from pixelcnn.parts import Registry

INPUTS = Registry("input encoder", fixed=("levels", "colours"))


@INPUTS.register("scaled")
class Scaled(nn.Module):
    """Levels -> one float in ``[-1, 1]`` per sub-pixel (level 0 -> -1, level L-1 -> 1)."""

    per_colour = 1

    def __init__(self, levels: int, colours: int):
        super().__init__()
        self.levels, self.colours = levels, colours
        self.channels = colours
        self.register_buffer("_like", torch.zeros(()), persistent=False)  # follows .double(), .to()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.is_floating_point():
            return x
        return scale_levels(x, self.levels, self._like.dtype)


@INPUTS.register("embedding")
class Embedding(nn.Module):
    """Levels -> a learned ``dim``-vector per sub-pixel, from one table of ``levels`` rows."""

    def __init__(self, levels: int, colours: int, dim: int = 16):
        super().__init__()
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            from pixelcnn.errors import ConfigError

            raise ConfigError(f"input option dim must be an integer >= 1, got {dim!r}")
        self.levels, self.colours, self.per_colour = levels, colours, dim
        self.channels = colours * dim
        self.table = nn.Embedding(levels, dim)
        nn.init.normal_(self.table.weight, std=1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.is_floating_point():
            return x
        b, c, h, w = x.shape
        e = self.table(x.long())  # [B, C, H, W, E]
        return e.permute(0, 1, 4, 2, 3).reshape(b, c * self.per_colour, h, w)

    def extra_repr(self) -> str:
        return f"levels={self.levels}, colours={self.colours}, dim={self.per_colour}"


def make_input(spec, *, levels: int, colours: int) -> nn.Module:
    """The encoder ``spec`` names for ``colours``-channel images of ``levels`` levels."""
    return INPUTS.build(spec, levels=levels, colours=colours)


def subpixel_gradient(network: nn.Module, x: torch.Tensor, objective, cond=None) -> torch.Tensor:
    """``|d objective(network(features)) / d features|`` summed over each sub-pixel's
    features, where ``features = network.encoder(x)``: ``[B, C, H, W]``.

    ``x`` levels ``[B, C, H, W]``; ``objective`` maps the parameter map to a scalar.
    Zero exactly where the objective does not depend on that sub-pixel.
    """
    encoder = network.encoder
    features = encoder(x.long()).detach().requires_grad_(True)  # [B, C*E, H, W]
    objective(network(features, cond)).backward()
    b, _, h, w = features.shape
    return features.grad.abs().view(b, encoder.colours, -1, h, w).sum(2)
