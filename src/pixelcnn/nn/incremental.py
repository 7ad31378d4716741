"""One masked convolution during an incremental run (see :mod:`pixelcnn.nn.step`).

A :class:`MaskedRun` keeps the layer's input map (channels-last and zero-padded
by the kernel's box, so every window is a plain slice) and computes outputs
for regions of it:

- a region of rows (a row of the vertical stack, or the whole image) is one
  ordinary convolution over the slab of memory it reads;
- one position splits the kernel in two. The rows above the centre are
  complete as soon as a row starts, so their contribution to the whole row
  is one convolution, done once per row (as efficient as a full forward
  pass). Each position then adds only its own row's taps (the left part and
  the centre, colour-masked): a small matrix product on a view of memory.
  A 1x1 convolution reads no neighbour, so it keeps no memory at all: at a
  position it multiplies its input directly (channels of later colours in
  the input are never read: the colour mask closes them).

Each activation is thus computed once per run. The weights are read once, at
the start of the run; a run must not outlive a weight update.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from pixelcnn.errors import PixelCNNError


class MaskedRun:
    """State of ``conv`` (a :class:`~pixelcnn.nn.MaskedConv2d`) during one run over
    ``batch`` input maps of ``size``."""

    def __init__(self, conv, batch: int, size: tuple[int, int]):
        self.conv = conv
        top, bottom, left, right = self.box = conv.box
        height, self.width = size
        self.padded_width = self.width + left + right
        self.pointwise = self.box == (0, 0, 0, 0)
        self._memory_shape = (batch, height + top + bottom, self.padded_width, conv.in_channels)
        self._memory = None
        weight = conv.masked_weight().detach()  # [out, in, top+1+bottom, left+1+right]
        self.weight = weight
        self.bias = None if conv.bias is None else conv.bias.detach()
        # rows above the centre; channels-last so the row convolution reads memory without a reorder
        self.above_weight = weight[:, :, :top].contiguous(memory_format=torch.channels_last)
        self.plans: dict = {}  # group -> what position() needs for it (see _plan)
        self.row = None  # the output row whose above-contributions are in self.above
        self.image_row = None  # for a first layer: the image row last stored (rows above it are too)
        self.above = None  # [B, W*out]: above-rows contribution plus bias, for self.row
        # Output of the last position computed, reused every step: [B, out] and its [B, out, 1, 1] view.
        self.out = weight.new_zeros(batch, conv.out_channels)
        self.out4 = self.out.view(batch, conv.out_channels, 1, 1)

    @property
    def memory(self) -> torch.Tensor:
        """The input map ``[B, H+top+bottom, W+left+right, in]``, made on first use."""
        if self._memory is None:
            self._memory = self.conv.weight.new_zeros(self._memory_shape)
            self._flat = self._memory.view(self._memory_shape[0], -1)  # the same memory, a row per image
        return self._memory

    def write_region(self, x: torch.Tensor, step) -> None:
        """Store the meaningful channels of region tensor ``x`` ``[B, in, rows, cols]``."""
        top, _, left, _ = self.box
        (r0, r1), (c0, c1) = step.rows, step.cols
        ins = self.conv.group_slice(step.group, self.conv.in_channels)
        self.memory[:, r0 + top : r1 + top, c0 + left : c1 + left, ins] = x[:, ins].permute(0, 2, 3, 1)

    def write_rows(self, rows: torch.Tensor, first: int) -> None:
        """Store whole rows ``[B, in, n, W]`` starting at image row ``first``."""
        top, _, left, _ = self.box
        n, w = rows.shape[-2:]
        self.memory[:, first + top : first + top + n, left : left + w] = rows.permute(0, 2, 3, 1)

    def region(self, step, x: torch.Tensor | None = None) -> torch.Tensor:
        """Outputs ``[B, out, rows, cols]`` of a region of rows (one convolution), from
        the region tensor ``x`` when given (1x1 convolutions) or from memory;
        channels outside the step's colour group are zero."""
        (r0, r1), (c0, c1) = step.rows, step.cols
        if x is None or not self.pointwise:
            if x is not None:
                self.write_region(x, step)
            top, bottom, left, right = self.box
            x = self.memory[:, r0 : r1 + top + bottom, c0 : c1 + left + right].permute(0, 3, 1, 2)
        outs = self.conv.group_slice(step.group, self.conv.out_channels)
        bias = None if self.bias is None else self.bias[outs]
        y = F.conv2d(x, self.weight[outs], bias)
        if outs == slice(None):
            return y
        return torch.constant_pad_nd(y, (0, 0, 0, 0, outs.start, self.conv.out_channels - outs.stop))

    def position(self, x: torch.Tensor | None, i: int, j: int, group: int | None) -> torch.Tensor:
        """Store position ``(i, j)`` of ``x`` ``[B, in, 1, 1]`` (None: already stored) and
        return the outputs there, ``[B, out, 1, 1]``. Only the channels of ``group`` are
        computed; the others keep whatever they held (callers never read them). The
        result is a view of a buffer that the next position overwrites."""
        plan = self.plans.get(group) or self._plan(group)
        in_lo, in_hi, out_lo, out_hi, weight, bias, out = plan
        cin = self.conv.in_channels
        if self.pointwise and x is not None:
            reads = weight.shape[0]
            if reads:
                x = x.reshape(x.shape[0], cin)
                torch.addmm(bias, x if reads == cin else x[:, :reads], weight, out=out)
            else:  # mask A on the first colour: nothing to read
                out.copy_(bias)
            return self.out4
        top, left = self.box[0], self.box[2]
        flat = self._flat if self._memory is not None else self.memory.view(self._memory_shape[0], -1)
        at = ((i + top) * self.padded_width + j) * cin  # flat offset of the window's first tap
        if x is not None:
            centre = at + left * cin
            x = x.reshape(x.shape[0], cin)
            flat[:, centre + in_lo : centre + in_hi] = x if in_hi - in_lo == cin else x[:, in_lo:in_hi]
        if top:
            if self.row != i:
                self._start_row(i)
            cout = self.conv.out_channels
            base = self.above[:, j * cout : (j + 1) * cout] if out_hi - out_lo == cout else \
                self.above[:, j * cout + out_lo : j * cout + out_hi]
        else:
            base = bias
        window = flat[:, at : at + (left + 1) * cin]  # the centre row's open taps, a view
        torch.addmm(base, window, weight, out=out)
        return self.out4

    def _plan(self, group: int | None) -> tuple:
        """Channel ranges and centre-row weight of ``group``, worked out once per run:
        ``(in_lo, in_hi, out_lo, out_hi, weight [(left+1)*in, out_g], bias_g, output view)``."""
        conv = self.conv
        if conv.kind not in ("A", "B"):
            raise PixelCNNError(f"a {conv.kind!r} convolution cannot be computed one position at a time")
        ins = conv.group_slice(group, conv.in_channels)
        outs = conv.group_slice(group, conv.out_channels)
        top, _, left, _ = self.box
        row = self.weight[outs, :, top, : left + 1]  # [out_g, in, left+1]: taps right of the centre are closed
        flat = row.permute(2, 1, 0).reshape(-1, row.shape[0]).contiguous()
        bias = self.bias[outs] if self.bias is not None else flat.new_zeros(flat.shape[1])
        if self.pointwise:  # read only the input channels the colour mask opens: those of earlier colours
            opened = conv.mask[outs, :, 0, 0].any(0).nonzero().flatten().tolist()
            flat = flat[: len(opened)]
            assert opened == list(range(len(opened))), "colour groups are contiguous, so the open inputs are a prefix"
        out_lo, out_hi = outs.start or 0, conv.out_channels if outs.stop is None else outs.stop
        plan = (
            ins.start or 0, conv.in_channels if ins.stop is None else ins.stop,
            out_lo, out_hi, flat, bias,
            self.out if outs == slice(None) else self.out[:, out_lo:out_hi],  # where the group's outputs go
        )
        self.plans[group] = plan
        return plan

    def _start_row(self, i: int) -> None:
        """Contribution of the rows above row ``i`` (complete by now) to every output of row ``i``."""
        top = self.box[0]
        slab = self.memory[:, i : i + top].permute(0, 3, 1, 2)  # [B, in, top, W+left+right]
        slab = slab.contiguous(memory_format=torch.channels_last)
        above = F.conv2d(slab, self.above_weight, self.bias)  # [B, out, 1, W]
        self.above = above[:, :, 0].transpose(1, 2).reshape(above.shape[0], -1)  # [B, W*out]
        self.row = i
