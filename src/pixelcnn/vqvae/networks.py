"""The VQ-VAE's encoders and decoders: strided convolutions and residual stacks.

As in VQ-VAE-2 (Razavi et al. 2019, Figure 2a): an encoder is 4x4 convolutions of
stride 2 (one per halving), a 3x3 convolution and a residual stack; a decoder
is a 3x3 convolution, a residual stack and 4x4 transposed convolutions of
stride 2 (one per doubling). A residual block is ReLU, 3x3 convolution to a
narrower width, ReLU, 1x1 convolution back, added to its input (van den Oord
et al. 2017, section 4.1).

Odd sizes: a halving pads a map of odd height or width by one row or column
(bottom, right) so that it rounds up, and a doubling crops its output to the
size of the finer map it restores. Maps are ``[B, channels, h, w]``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ResidualStack(nn.Module):
    """``blocks`` residual blocks of width ``width`` (``hidden`` inside), then a ReLU."""

    def __init__(self, width: int, hidden: int, blocks: int):
        super().__init__()
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.ReLU(), nn.Conv2d(width, hidden, 3, padding=1), nn.ReLU(), nn.Conv2d(hidden, width, 1))
            for _ in range(blocks))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = x + block(x)
        return F.relu(x)


class Halve(nn.Module):
    """A 4x4 convolution of stride 2: ``[B, i, h, w]`` -> ``[B, o, ceil(h/2), ceil(w/2)]``."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 4, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        return self.conv(F.pad(x, (0, w % 2, 0, h % 2)))  # an odd side rounds up


class Double(nn.Module):
    """A 4x4 transposed convolution of stride 2: ``[B, i, h, w]`` -> ``[B, o, H, W]`` for a
    finer size ``(H, W)`` with ``ceil(H/2) = h`` and ``ceil(W/2) = w`` (its output of
    ``2h x 2w`` cropped)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv = nn.ConvTranspose2d(in_channels, out_channels, 4, stride=2, padding=1)

    def forward(self, x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        return self.conv(x)[..., : size[0], : size[1]]


class Encoder(nn.Module):
    """``[B, in, H, W]`` -> ``[B, hidden, h, w]``: ``halvings`` :class:`Halve` layers (each followed
    by a ReLU), a 3x3 convolution and a residual stack."""

    def __init__(self, in_channels: int, hidden: int, res_blocks: int, res_hidden: int, halvings: int):
        super().__init__()
        widths = [in_channels] + [max(hidden // 2, 1)] + [hidden] * (halvings - 1)
        self.layers = nn.ModuleList(Halve(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.conv = nn.Conv2d(widths[-1], hidden, 3, padding=1)
        self.residual = ResidualStack(hidden, res_hidden, res_blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = F.relu(layer(x))
        return self.residual(self.conv(x))


class Upsample(nn.Module):
    """``[B, in, h, w]`` -> ``[B, out, *sizes[-1]]``: ``doublings`` :class:`Double` layers, to the
    finer sizes ``sizes`` in turn, of width ``width`` between them (ReLU between)."""

    def __init__(self, in_channels: int, out_channels: int, width: int, doublings: int):
        super().__init__()
        widths = [in_channels] + [width] * (doublings - 1) + [out_channels]
        self.layers = nn.ModuleList(Double(a, b) for a, b in zip(widths[:-1], widths[1:]))

    def forward(self, x: torch.Tensor, sizes: list[tuple[int, int]]) -> torch.Tensor:
        for k, (layer, size) in enumerate(zip(self.layers, sizes)):
            x = layer(x if k == 0 else F.relu(x), size)
        return x


class Decoder(nn.Module):
    """``[B, in, h, w]`` -> ``[B, out, H, W]``: a 3x3 convolution to ``hidden``, a residual stack,
    then :class:`Upsample` through ``sizes`` (the finer sizes, the output's last)."""

    def __init__(self, in_channels: int, out_channels: int, hidden: int, res_blocks: int, res_hidden: int,
                 doublings: int):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, hidden, 3, padding=1)
        self.residual = ResidualStack(hidden, res_hidden, res_blocks)
        self.upsample = Upsample(hidden, out_channels, max(hidden // 2, 1), doublings)

    def forward(self, x: torch.Tensor, sizes: list[tuple[int, int]]) -> torch.Tensor:
        return self.upsample(self.residual(self.conv(x)), sizes)
