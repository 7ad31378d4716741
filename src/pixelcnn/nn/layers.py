"""Per-position layers: normalisation, gating and the input scaling.

None of these mixes positions or images, so they work unchanged on the region
tensors of an incremental pass (:mod:`pixelcnn.nn.step`). BatchNorm is
deliberately absent: in training mode its statistics mix every position of
every image, so an output would see future pixels.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from pixelcnn.errors import ConfigError
from pixelcnn.nn.masks import channel_groups


class GroupedLayerNorm(nn.Module):
    """LayerNorm over the channels of each colour group, at each position.

    ``x`` ``[B, channels, H, W]``: channels split into ``groups`` contiguous
    blocks (as in :func:`~pixelcnn.nn.masks.channel_groups`); each block is
    normalised on its own, so colour group ``c`` never sees a later colour.
    """

    def __init__(self, channels: int, groups: int = 1, eps: float = 1e-5):
        super().__init__()
        channel_groups(channels, groups, "normalised channels")
        self.groups, self.eps = groups, eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        if h == w == 1 and self.groups == 1:  # one position (fast sampling)
            return F.layer_norm(x.view(b, c), (c,), self.weight, self.bias, self.eps).view(b, c, 1, 1)
        x = x.movedim(1, -1)  # [B, H, W, C]
        if self.groups == 1:
            return F.layer_norm(x, (c,), self.weight, self.bias, self.eps).movedim(-1, 1)
        g = F.layer_norm(x.reshape(b, h, w, self.groups, c // self.groups), (c // self.groups,), eps=self.eps)
        return torch.addcmul(self.bias, g.reshape(b, h, w, c), self.weight).movedim(-1, 1)


def make_norm(kind: str, channels: int, groups: int) -> nn.Module:
    """``"layer"`` -> :class:`GroupedLayerNorm`; ``"none"`` and ``"weight"`` (weight
    normalisation lives in the convolutions themselves) -> identity."""
    if kind == "layer":
        return GroupedLayerNorm(channels, groups)
    if kind in ("none", "weight"):
        return nn.Identity()
    raise ConfigError(f"unknown norm {kind!r}; expected 'layer', 'weight' or 'none'")


def gate(x: torch.Tensor, groups: int = 1) -> torch.Tensor:
    """Gated activation ``tanh(a) * sigmoid(b)`` (van den Oord et al. 2016b, eq. 2).

    ``x`` ``[B, 2n, H, W]`` -> ``[B, n, H, W]``. Each colour group of ``x``
    holds its own ``a`` then ``b`` halves, so the result keeps the groups
    contiguous and group ``c`` of the output reads only group ``c`` of ``x``.
    """
    if groups == 1:
        a, g = x.chunk(2, dim=1)
        return torch.tanh(a) * torch.sigmoid(g)
    b, c, h, w = x.shape
    pairs = x.view(b, groups, 2, c // (2 * groups), h, w)
    out = torch.tanh(pairs[:, :, 0]) * torch.sigmoid(pairs[:, :, 1])
    return out.reshape(b, c // 2, h, w)


SMALL_MAP = 16  # positions: below this, conv1x1 is one matrix multiply (measured on CPUs)


def conv1x1(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """A 1x1 convolution, ``x`` ``[B, in, H, W]``, ``weight`` ``[out, in, 1, 1]`` -> ``[B, out, H, W]``.

    One batched matrix multiply, ``weight @ x[b]`` over the ``H * W`` positions of each
    image, on a contiguous (NCHW) copy of ``x`` where it is laid out otherwise: on CPUs
    this beats the convolution library's 1x1 kernels, forward and backward. Channels-last
    input (the view :class:`GroupedLayerNorm` returns) is copied rather than handed to the
    convolution library, because the copy is of the narrow input, while a channels-last
    output would be copied again, wider, by the likelihood. A graph being compiled goes to
    ``F.conv2d``, which TorchInductor handles better than the batched form.
    ``benchmarks/throughput.py`` and ``benchmarks/profile_step.py`` measure the effect.

    A map of fewer than ``SMALL_MAP`` positions (a row or a few positions of an
    incremental run) is one matrix multiply over all ``B * H * W`` positions instead:
    the batched form's products, ``H * W`` columns each, are too narrow to be fast.
    """
    if x.dim() != 4 or torch.compiler.is_compiling():
        return F.conv2d(x, weight, bias)
    b, c, h, w = x.shape
    out = weight.shape[0]
    if h * w < SMALL_MAP:
        rows = x.permute(0, 2, 3, 1).reshape(b * h * w, c)  # [B*H*W, in]
        matrix = weight.view(out, c).t()
        y = rows @ matrix if bias is None else torch.addmm(bias, rows, matrix)
        return y.view(b, h * w, out).transpose(1, 2).contiguous().view(b, out, h, w)
    x = x.contiguous()
    flat = x.view(b, c, h * w)  # [B, in, HW]
    matrix = weight.view(1, out, c).expand(b, out, c)  # [B, out, in], no copy
    y = torch.bmm(matrix, flat) if bias is None else torch.baddbmm(bias.view(1, out, 1), matrix, flat)
    return y.view(b, out, h, w)


def conv_padded(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                padding: tuple[int, int, int, int]) -> torch.Tensor:
    """``F.conv2d(F.pad(x, padding), weight, bias)``, ``padding`` ``(left, right, top, bottom)``.

    The part of the padding that is the same on both sides of a dimension is left to the
    convolution; only the rest is copied in with ``F.pad`` (a 7x7 mask-B box, 4x7, pads
    three rows above in a copy and three columns each side in the convolution). The sums
    are the same, and the convolution library's own padding is cheaper than a padded copy
    (``benchmarks/throughput.py`` measures whole networks). PixelCNN++'s shifted
    convolutions (:mod:`pixelcnn.nn.shifted`) keep ``F.pad``, where this split does not pay.
    """
    left, right, top, bottom = padding
    rows, cols = min(top, bottom), min(left, right)
    rest = (left - cols, right - cols, top - rows, bottom - rows)
    if any(rest):
        x = F.pad(x, rest)
    return F.conv2d(x, weight, bias, padding=(rows, cols))


def scale_levels(x: torch.Tensor, levels: int, dtype: torch.dtype) -> torch.Tensor:
    """Integer levels ``[0, L)`` -> floats in ``[-1, 1]`` (level 0 -> -1, level L-1 -> 1)."""
    return x.to(dtype) * (2.0 / (levels - 1)) - 1.0
