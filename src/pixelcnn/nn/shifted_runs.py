"""Shifted, strided and transposed convolutions during an incremental run.

Fast generation after Ramachandran et al. 2017 ("Fast Generation for
Convolutional Autoregressive Models"): a layer computes an output only when
the inputs it reads are known, and keeps what it has read in a cache so
nothing is computed twice. A network drives its layers at their own rates
(see :mod:`pixelcnn.models.pixelcnn_pp`):

- a row of a "down" map (the ``u`` stream) once the rows above are known: one
  ordinary convolution over the few rows the kernel covers;
- a position of a "down-right" map (the ``ul`` stream) once the positions
  before it are known: one matrix product over the window;
- a strided layer stores every input it is given and computes an output when
  its window is complete (low-resolution ``(i, j)`` at high-resolution
  ``(2i, 2j)``);
- a transposed layer, given one input row (position), computes all the
  outputs it feeds at once (2 rows; 2x2 positions) and keeps them until they
  are read.

Memory is a ring of padded rows, channels last, as deep as the rows from
the first one an output reads to the newest input row written before the
output is read: ``top + 1`` (output row ``i`` reads padded rows from ``s*i``;
input row ``s*i`` is padded row ``s*i + top``, and an output row is finished,
every position of it, before input row ``s*i + 1`` is written). A transposed
layer's ``kh = stride`` output rows of one input row are read before the next
input row writes, so its ring is ``kh`` deep. A row written a position at a
time still holds an old row right of the last write: only "down-right" layers
are run by positions, and their windows never reach right of their position
on its own row ("down" layers are run by whole rows).
Runs speak the protocol of :mod:`pixelcnn.nn.step` and live in its
:class:`~pixelcnn.nn.step.Cache` (never in a state dict) and
read the weights once, when made: a run must not outlive a weight update.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from pixelcnn.nn.step import Cache, Step


def nin_position(layer, x: torch.Tensor, step: Step) -> torch.Tensor:
    """A 1x1 layer at the position of ``step``: ``[B, in, 1, 1]`` -> ``[B, out, 1, 1]``,
    with the weight normalised once per run."""
    state = step.cache.state(layer)
    if "flat" not in state:  # [in, out]
        state["flat"] = layer.effective_weight().detach()[:, :, 0, 0].t().contiguous()
        state["bias"] = layer.bias.detach()
    out = torch.addmm(state["bias"], x.reshape(x.shape[0], -1), state["flat"])
    return out.view(out.shape[0], -1, 1, 1)


def conv_run(cache: Cache, conv, size: tuple[int, int]) -> "ShiftedRun":
    """The run of ``conv`` (a ShiftedConv2d reading a map of ``size``) in ``cache``."""
    state = cache.state(conv)
    if "run" not in state:
        state["run"] = ShiftedRun(conv, cache.batch, size)
    return state["run"]


def transposed_run(cache: Cache, conv, size: tuple[int, int]) -> "TransposedRun":
    """The run of ``conv`` (a ShiftedConvTranspose2d writing a map of ``size``) in ``cache``."""
    state = cache.state(conv)
    if "run" not in state:
        state["run"] = TransposedRun(conv, cache.batch, size)
    return state["run"]


class _Ring:
    """Rows of a map, channels last, in ``depth`` slots: row ``r`` lives in slot ``r % depth``."""

    def __init__(self, like: torch.Tensor, batch: int, depth: int, width: int, channels: int):
        self.depth = depth
        self.memory = like.new_zeros(batch, depth, width, channels)

    def write(self, r: int, cols: slice | int, values: torch.Tensor) -> None:
        """Store ``values`` ``[B, cols, channels]`` (or ``[B, channels]`` for one column) in row ``r``."""
        self.memory[:, r % self.depth, cols] = values

    def rows(self, first: int, n: int, cols: slice = slice(None)) -> torch.Tensor:
        """Columns ``cols`` of rows ``first .. first + n - 1`` (``n <= depth``): ``[B, n, cols, channels]``,
        a view of memory unless the rows wrap round the last slot."""
        start = first % self.depth
        if start + n <= self.depth:
            return self.memory[:, start : start + n, cols]
        wrapped = start + n - self.depth
        return torch.cat([self.memory[:, start:, cols], self.memory[:, :wrapped, cols]], dim=1)

    def row(self, r: int) -> torch.Tensor:
        return self.memory[:, r % self.depth]


class ShiftedRun:
    """A :class:`~pixelcnn.nn.shifted.ShiftedConv2d` reading an input map of ``size``."""

    def __init__(self, conv, batch: int, size: tuple[int, int]):
        self.conv = conv
        weight = conv.effective_weight().detach()  # [out, in, kh, kw]
        self.weight, self.bias = weight, conv.bias.detach()
        kh, kw = conv.kernel
        left, right, top, _ = conv.padding()
        self.top, self.left, self.stride = top, left, conv.stride
        self.out_width = -(-size[1] // conv.stride)
        # rows from the first an output reads to the newest input row written before it is read
        self.ring = _Ring(weight, batch, top + 1, size[1] + left + right, conv.in_channels)
        self.flat = weight.permute(2, 3, 1, 0).reshape(-1, conv.out_channels)  # [kh*kw*in, out], window order

    def write(self, x: torch.Tensor, i: int, j: int | None = None) -> None:
        """Store input row ``i`` (``x`` ``[B, in, 1, W]``) or position ``(i, j)`` (``[B, in, 1, 1]``)."""
        if j is None:
            self.ring.write(i + self.top, slice(self.left, self.left + x.shape[-1]), x[:, :, 0].transpose(1, 2))
        else:
            self.ring.write(i + self.top, self.left + j, x.reshape(x.shape[0], -1))

    def row(self, i: int) -> torch.Tensor:
        """Output row ``i``: ``[B, out, 1, W_out]``."""
        kh = self.conv.kernel[0]
        slab = self.ring.rows(self.stride * i, kh).permute(0, 3, 1, 2)  # [B, in, kh, padded W]
        return F.conv2d(slab, self.weight, self.bias, stride=self.stride)[..., : self.out_width]

    def position(self, i: int, j: int) -> torch.Tensor:
        """Output at ``(i, j)``: ``[B, out, 1, 1]``."""
        kh, kw = self.conv.kernel
        s = self.stride
        window = self.ring.rows(s * i, kh, slice(s * j, s * j + kw))  # [B, kh, kw, in]
        out = torch.addmm(self.bias, window.reshape(window.shape[0], -1), self.flat)
        return out.view(out.shape[0], -1, 1, 1)

    def step(self, x: torch.Tensor, step: Step) -> torch.Tensor:
        """Stride 1: store ``x``, one row or one position of the input (:meth:`Step.at`),
        and return the output there."""
        i, j = step.rows[0], (step.cols[0] if step.is_position else None)
        self.write(x, i, j)
        return self.row(i) if j is None else self.position(i, j)


class TransposedRun:
    """A :class:`~pixelcnn.nn.shifted.ShiftedConvTranspose2d` writing an output map of ``size``."""

    def __init__(self, conv, batch: int, size: tuple[int, int]):
        self.conv = conv
        kh, kw = conv.kernel
        if kh != conv.stride:
            raise ValueError(f"incremental transposed convolutions need kernel height == stride, got {conv.kernel}")
        weight = conv.effective_weight().detach()  # [in, out, kh, kw]
        self.weight, self.bias = weight, conv.bias.detach()
        self.size = size
        self.ring = _Ring(weight, batch, kh, size[1], conv.out_channels)
        self.flat = weight.reshape(conv.in_channels, -1)  # [in, out*kh*kw]

    def write_row(self, x: torch.Tensor, i: int) -> None:
        """Input row ``i`` (``[B, in, 1, w]``) -> output rows ``s*i .. s*i + kh - 1``, kept."""
        h, w = self.size
        s, left = self.conv.stride, self.conv.left
        y = F.conv_transpose2d(x, self.weight, self.bias, stride=s)[..., left : left + w]  # [B, out, kh, W]
        for di in range(min(self.conv.kernel[0], h - s * i)):
            self.ring.write(s * i + di, slice(None), y[:, :, di].transpose(1, 2))

    def write_position(self, x: torch.Tensor, i: int, j: int) -> None:
        """Input position ``(i, j)`` (``[B, in, 1, 1]``) -> the ``kh x kw`` outputs it alone feeds."""
        h, w = self.size
        s, (kh, kw) = self.conv.stride, self.conv.kernel
        if self.conv.left or kw != s:
            raise ValueError("incremental positions need a down-right kernel as wide as the stride")
        y = (x.reshape(x.shape[0], -1) @ self.flat).view(-1, self.conv.out_channels, kh, kw)
        y = (y + self.bias[:, None, None]).permute(0, 2, 3, 1)  # [B, kh, kw, out]
        rows, cols = min(kh, h - s * i), min(kw, w - s * j)
        for di in range(rows):
            self.ring.write(s * i + di, slice(s * j, s * j + cols), y[:, di, :cols])

    def row(self, r: int) -> torch.Tensor:
        """Output row ``r``: ``[B, out, 1, W]``."""
        return self.ring.row(r).transpose(1, 2).unsqueeze(2)

    def position(self, r: int, c: int) -> torch.Tensor:
        """Output at ``(r, c)``: ``[B, out, 1, 1]``."""
        return self.ring.row(r)[:, c].reshape(self.ring.memory.shape[0], -1, 1, 1)
