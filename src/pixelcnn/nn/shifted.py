"""Shifted, strided and transposed convolutions of PixelCNN++ (Salimans et al. 2017).

Instead of masking a centred kernel, PixelCNN++ pads a small kernel on one
side so that it only reaches up (and left). An output at ``(i, j)`` reads
the ``kh x kw`` window of input rows ``[s*i - top, s*i - top + kh)`` and
columns ``[s*j - left, s*j - left + kw)`` (``s`` the stride). For a 2x3
kernel (``o`` = the output's own position, ``#`` = read)::

    "down"         "down", shift "down"     "down-right" 2x2     "down-right" 2x1, shift "right"
    # # #          # # #                    # #                  #
    # o #          # # #                    # o                  # o
                     o

- "down" (``top = kh - 1``, centred columns) sees its own row and the rows
  above; shifted down one row it sees only rows above: the ``u`` stream,
  whose every value depends on earlier rows only;
- "down-right" (``top = kh - 1``, ``left = kw - 1``) sees the window ending at
  its own position; shifted right one column it sees only positions before
  it: the ``ul`` stream, whose every value depends on earlier pixels only.

With stride 2 the output map is ``ceil(H / 2) x ceil(W / 2)``; the window of
low-resolution ``(i, j)`` ends at high-resolution ``(2i, 2j)``, so it is
complete once that position is. The transposed layers go back up: output
``(r, c)`` receives input ``(i, j)`` through tap ``(r - 2i, c - 2j + left)``;
with ``kh <= 2`` a row (and, for "down-right" 2x2, a position) receives from
exactly one input row (position) ``(r // 2, c // 2)``, which depends only on
what precedes ``(2 (r // 2), 2 (c // 2))``, itself not after ``(r, c)``: the
causal structure survives, for any size. Outputs past an odd edge are
cropped (7 -> 4 -> 8, cropped to 7).

Every layer here can be weight-normalised (:mod:`pixelcnn.nn.weight_norm`)
and run incrementally (:mod:`pixelcnn.nn.shifted_runs`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from pixelcnn.errors import ConfigError
from pixelcnn.nn.layers import conv1x1
from pixelcnn.nn.shifted_runs import conv_run, nin_position
from pixelcnn.nn.weight_norm import WeightNorm

KINDS = ("down", "down-right")


def reach(kernel: tuple[int, int], kind: str, shift: str | None = None) -> tuple[int, int]:
    """``(top, left)``: how far above and left of the output the window starts."""
    kh, kw = kernel
    if kind not in KINDS:
        raise ConfigError(f"unknown shifted convolution {kind!r}; expected one of {KINDS}")
    if shift not in (None, "down", "right"):
        raise ConfigError(f"shift must be None, 'down' or 'right', got {shift!r}")
    top = kh - 1 + (shift == "down")
    left = ((kw - 1) // 2 if kind == "down" else kw - 1) + (shift == "right")
    return top, left


def concat_elu(x: torch.Tensor) -> torch.Tensor:
    """``[elu(x), elu(-x)]`` on the channels: ``[B, n, H, W]`` -> ``[B, 2n, H, W]``."""
    return F.elu(torch.cat([x, -x], dim=1))


class _Weighted(nn.Module):
    """A weight ``v`` (optionally weight-normalised) and a bias; ``out_dim`` is v's output axis."""

    def _make(self, shape: tuple[int, ...], out_dim: int, weight_norm: bool, init_scale: float = 1.0) -> None:
        out = shape[out_dim]
        self.init_scale = init_scale  # output scale asked of initialize_from_data
        self.weight = nn.Parameter(torch.empty(shape))
        self.bias = nn.Parameter(torch.zeros(out))
        fan_in = math.prod(shape) // out
        nn.init.normal_(self.weight, std=1.0 / math.sqrt(fan_in))
        self.weight_norm = WeightNorm(out, out_dim) if weight_norm else None

    def effective_weight(self) -> torch.Tensor:
        """The weight the layer applies (``g * v / ||v||`` under weight normalisation)."""
        return self.weight if self.weight_norm is None else self.weight_norm(self.weight)


class Nin(_Weighted):
    """A 1x1 convolution ("network in network"): ``[B, in, H, W]`` -> ``[B, out, H, W]``."""

    def __init__(self, in_channels: int, out_channels: int, weight_norm: bool = True):
        super().__init__()
        self._make((out_channels, in_channels, 1, 1), 0, weight_norm)

    def forward(self, x: torch.Tensor, step=None) -> torch.Tensor:
        """With a one-position ``step``, the weight prepared once per run is used."""
        if step is not None and step.is_position:
            return nin_position(self, x, step)
        return conv1x1(x, self.effective_weight(), self.bias)


class ShiftedConv2d(_Weighted):
    """A convolution reading only up (and left); see the module docstring.

    Shapes: ``[B, in, H, W]`` -> ``[B, out, ceil(H / stride), ceil(W / stride)]``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel: tuple[int, int], kind: str,
                 shift: str | None = None, stride: int = 1, weight_norm: bool = True, init_scale: float = 1.0):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel, self.kind, self.shift, self.stride = tuple(kernel), kind, shift, stride
        self.top, self.left = reach(self.kernel, kind, shift)
        self._make((out_channels, in_channels, *self.kernel), 0, weight_norm, init_scale)

    def padding(self) -> tuple[int, int, int, int]:
        """``(left, right, top, bottom)`` zero padding that makes every window a plain slice."""
        kh, kw = self.kernel
        return self.left, max(kw - 1 - self.left, 0), self.top, max(kh - 1 - self.top, 0)

    def forward(self, x: torch.Tensor, step=None) -> torch.Tensor:
        """The whole map, or (a ``step``, see :mod:`pixelcnn.nn.step`) one row or
        position of a stride-1 layer: ``x`` is then that row ``[B, in, 1, W]`` or
        position ``[B, in, 1, 1]`` of the input, and the same region comes out."""
        if step is not None:
            return conv_run(step.cache, self, step.map_size).step(x, step)
        h, w = x.shape[-2:]
        y = F.conv2d(F.pad(x, self.padding()), self.effective_weight(), self.bias, stride=self.stride)
        return y[..., : -(-h // self.stride), : -(-w // self.stride)]

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel={self.kernel}, kind={self.kind!r}, "
                f"shift={self.shift!r}, stride={self.stride}, weight_norm={self.weight_norm is not None}")


class ShiftedConvTranspose2d(_Weighted):
    """Up-sampling by ``stride``: ``[B, in, h, w]`` -> ``[B, out, H, W]`` for a target
    size with ``ceil(H / stride) == h`` (the size the matching down-sampling started from).
    ``kh`` and ``kw - left`` must be at least ``stride`` so every output is covered."""

    def __init__(self, in_channels: int, out_channels: int, kernel: tuple[int, int], kind: str,
                 stride: int = 2, weight_norm: bool = True):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel, self.kind, self.stride = tuple(kernel), kind, stride
        reach(self.kernel, kind)  # checks the kind
        self.left = (self.kernel[1] - 1) // 2 if kind == "down" else 0  # columns cropped on the left
        if self.kernel[0] < stride or self.kernel[1] - self.left < stride:
            raise ConfigError(f"a {kind} transposed kernel {self.kernel} leaves outputs of stride {stride} uncovered")
        self._make((in_channels, out_channels, *self.kernel), 1, weight_norm)

    def forward(self, x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        h, w = size
        y = F.conv_transpose2d(x, self.effective_weight(), self.bias, stride=self.stride)
        return y[..., :h, self.left : self.left + w]

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel={self.kernel}, kind={self.kind!r}, "
                f"stride={self.stride}, weight_norm={self.weight_norm is not None}")
