"""Masked 2-D convolution, usable whole or one region at a time.

The mask is applied functionally on every call (``weight * mask``), so masked
weights get exactly zero gradient and no optimiser ever moves them. Only the
box of the kernel that holds open taps (see :func:`~pixelcnn.nn.masks.support_box`)
is convolved: a 7x7 mask-B kernel costs a 4x7 convolution.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from pixelcnn.errors import ConfigError
from pixelcnn.nn.masks import channel_groups, conv_mask, support_box
from pixelcnn.nn.incremental import MaskedRun
from pixelcnn.nn.layers import conv1x1, conv_padded
from pixelcnn.nn.step import Step
from pixelcnn.nn.weight_norm import WeightNorm


class MaskedConv2d(nn.Module):
    """A convolution whose weight is multiplied by a causal mask.

    Args:
        in_channels, out_channels: channel counts; for kinds "A" and "B" both
            must be divisible by ``colour_groups``.
        kernel: odd size or odd ``(kh, kw)``.
        kind: "A", "B", "V" or "full" (see :func:`~pixelcnn.nn.masks.spatial_mask`).
        colour_groups: number of colours C; channels split into C contiguous
            groups (only meaningful for kinds "A" and "B").
        weight_norm: the weight is ``g * (v * mask) / ||v * mask||`` per output
            channel (:mod:`pixelcnn.nn.weight_norm`; the norm counts the open
            taps only); gains and biases are set from data before training by
            :func:`~pixelcnn.nn.weight_norm.initialize_from_data`.

    Shapes: ``x`` ``[B, in, H, W]`` -> ``[B, out, H, W]`` (same size, zero padding).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel: int | tuple[int, int],
        kind: str = "B",
        colour_groups: int = 1,
        bias: bool = True,
        weight_norm: bool = False,
    ):
        super().__init__()
        self.in_channels, self.out_channels, self.kind = in_channels, out_channels, kind
        self.groups = colour_groups if kind in ("A", "B") else 1
        if self.groups > 1:
            channel_groups(in_channels, self.groups, "input channels")
            channel_groups(out_channels, self.groups, "output channels")
        mask = conv_mask(in_channels, out_channels, kernel, kind, self.groups)
        self.register_buffer("mask", mask, persistent=False)
        self.kernel = tuple(mask.shape[-2:])
        self.box = support_box(mask.flatten(0, 1).bool().any(0))
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, *self.kernel))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        if weight_norm and not bias:
            raise ConfigError("a weight-normalised convolution needs a bias (its data-dependent initialisation sets it)")
        self.weight_norm = WeightNorm(out_channels, 0) if weight_norm else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # Kaiming-uniform over the taps that are actually open, so a masked
        # layer starts with the same output scale as an unmasked one.
        fan_in = max(float(self.mask.sum(dim=(1, 2, 3)).max()), 1.0)
        bound = math.sqrt(3.0 / fan_in)
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def masked_weight(self) -> torch.Tensor:
        """``weight * mask`` cropped to the open box: ``[out, in, top+1+bottom, left+1+right]``."""
        top, bottom, left, right = self.box
        ch, cw = self.kernel[0] // 2, self.kernel[1] // 2
        weight = self.weight * self.mask
        if self.weight_norm is not None:
            weight = self.weight_norm(weight)
        return weight[:, :, ch - top : ch + bottom + 1, cw - left : cw + right + 1]

    def forward(self, x: torch.Tensor, step: Step | None = None) -> torch.Tensor:
        """Convolve ``x`` ``[B, in, H, W]``; with ``step``, ``x`` is the step's region
        and only the region is computed (see :mod:`pixelcnn.nn.step`)."""
        if step is None:
            return self._whole(x)
        run = self._run(step)
        if step.is_position:
            return run.position(x, step.rows[0], step.cols[0], self._group(step))
        return run.region(step, x)

    def _whole(self, x: torch.Tensor) -> torch.Tensor:
        """The ordinary convolution of a whole map, zero-padded by the box (one-sided)."""
        top, bottom, left, right = self.box
        if not (top or bottom or left or right):
            return conv1x1(x, self.masked_weight(), self.bias)
        return conv_padded(x, self.masked_weight(), self.bias, (left, right, top, bottom))

    def read_image(self, image: torch.Tensor, prepare, step: Step | None = None) -> torch.Tensor:
        """First layer: convolve ``prepare(image)``, where ``image`` is the whole
        input map (also in a step) and ``prepare`` maps any rows of it to floats
        ``[B, in, rows, W]``. In a step only the rows the step reads are prepared."""
        if step is None:
            return self(prepare(image))
        run = self._run(step)
        top, bottom = self.box[:2]
        (r0, r1), c0 = step.rows, step.cols[0]
        if step.is_position:
            # within a row only the row itself changes; the rows above are stored when it starts
            first = r0 if run.image_row == r0 else max(r0 - top, 0)
            run.write_rows(prepare(image[:, :, first : r0 + 1]), first)
            run.image_row = r0
            return run.position(None, r0, c0, self._group(step))
        a, b = max(r0 - top, 0), min(r1 + bottom, image.shape[-2])
        run.write_rows(prepare(image[:, :, a:b]), a)
        run.image_row = None
        return run.region(step)

    def _run(self, step: Step) -> MaskedRun:
        state = step.cache.state(self)
        run = state.get("run")
        if run is None:
            run = state["run"] = MaskedRun(self, step.cache.batch, step.map_size)
        return run

    def _group(self, step: Step) -> int | None:
        return step.group if self.groups > 1 else None

    def group_slice(self, group: int | None, channels: int) -> slice:
        """Channels of colour ``group`` among ``channels`` (all of them for None or one group)."""
        if group is None or self.groups == 1:
            return slice(None)
        width = channels // self.groups
        return slice(group * width, (group + 1) * width)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel={self.kernel}, kind={self.kind!r}, "
            f"colour_groups={self.groups}, bias={self.bias is not None}, weight_norm={self.weight_norm is not None}"
        )

