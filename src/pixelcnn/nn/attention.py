"""Causal multi-head self-attention over the sampling order, whole or one element at a time.

PixelSNAIL (Chen et al. 2018, "PixelSNAIL: An Improved Autoregressive Generative
Model") follows blocks of causal convolutions with self-attention, so that every
position reads the whole past, where a stack of convolutions reaches only a cone.
As in the paper, keys and values read the raw image beside the layer's input and
queries read the layer's input alone; both read the position (the "background":
the row and the column as extra channels, see :func:`background`).

Elements. With G colour groups (G = C for a likelihood that draws one colour at a
time, 1 for one that draws a whole pixel) the map is a sequence of M = H*W*G
*elements* in sampling order: element ``m = (i*W + j)*G + g`` is group ``g`` of
pixel ``(i, j)``. The input's channels come in G contiguous groups under the
masked convolutions' rule: group ``g`` at pixel ``p`` depends only on the
sub-pixels before ``(p, g)``. Then

- the query of element ``(p, g)`` reads input groups ``<= g`` at ``p`` (a 1x1
  mask-B convolution) and its position;
- its key and value read input groups ``<= g`` at ``p``, the image's colours of
  groups ``<= g`` at ``p`` (mask B: the element's own colours included) and
  its position (the key);
- query ``m`` attends to a learned null element and to elements ``0 .. m-1``:
  strictly earlier ones.

So the output of element ``(p, g)`` depends only on sub-pixels before it: the
latest it reads are the colours of element ``m-1``. The null element gives the
first query something to attend to. In one pass this is
``scaled_dot_product_attention(q, [null, k_0 .. k_{M-2}], [null, v_0 .. v_{M-2}],
is_causal=True)``: the keys shifted by one, so the causal mask's diagonal is the
previous element, and no ``[B, heads, M, M]`` map is made where a fused kernel
serves (queries, keys and values share one width for that reason).

Cached (:mod:`pixelcnn.nn.step`): an :class:`AttentionRun` keeps the shifted keys
and values of every element, ``[B, heads, M, width / heads]``. At the step of element
``m`` the key and value of element ``m-1`` become final (its colours were drawn at
the previous step), so they are computed from the input kept from that step and the
image now on the canvas and written at index ``m``; then the one query of each head
attends to indices ``0 .. m``. A whole step (completing a partial image) fills every
index in one pass.

Not implemented: the paper's narrower keys (16 channels against 128 for the values)
and attention over downsampled maps.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from pixelcnn.errors import ConfigError, PixelCNNError
from pixelcnn.nn.conv import MaskedConv2d
from pixelcnn.nn.step import Step


class CausalSelfAttention(nn.Module):
    """Multi-head attention from each element to the elements before it.

    Args:
        channels: width of the layer input ``x``, in ``groups`` colour groups.
        image_channels: width of the encoded image (the input encoder's features,
            colour-major; in ``groups`` groups, one per colour when ``groups`` > 1).
        width: channels of the queries, keys and values of one element, all heads together;
            also the output's channels per group.
        heads: attention heads; must divide ``width``.
        groups: G, elements per pixel.
        size: ``(H, W)`` of the maps (for the background channels).
        dropout: rate of attention dropout in training.

    Shapes: ``x`` ``[B, channels, H, W]`` -> ``[B, groups * width, H, W]`` (output group ``g``
    is element ``(p, g)``'s attention over its heads).
    """

    def __init__(self, channels: int, image_channels: int, width: int, heads: int, groups: int,
                 size: tuple[int, int], dropout: float = 0.0):
        super().__init__()
        if heads < 1 or width % heads:
            raise ConfigError(f"heads = {heads} must divide the attention width {width} "
                              f"(each head takes an equal share of it)")
        self.width, self.heads, self.groups, self.dropout = width, heads, groups, dropout
        self.size = tuple(size)
        self.query = MaskedConv2d(channels, groups * width, 1, "B", groups)
        self.key_value = MaskedConv2d(channels, groups * 2 * width, 1, "B", groups)  # per group: key, then value
        self.image_key_value = MaskedConv2d(image_channels, groups * 2 * width, 1, "B", groups, bias=False)
        self.register_buffer("background", background(self.size), persistent=False)  # [P, H, W]
        # shared maps of the background: no weight belongs to one position
        self.query_position = nn.Linear(self.background.shape[0], groups * width, bias=False)
        self.key_position = nn.Linear(self.background.shape[0], groups * width, bias=False)
        self.null = nn.Parameter(torch.randn(2, heads, width // heads))  # the null key and value

    def forward(self, x: torch.Tensor, image: torch.Tensor, prepare, step: Step | None = None) -> torch.Tensor:
        """Attend over ``x`` ``[B, channels, H, W]`` (the step's region with a step); ``image``
        is the whole input map (levels, also in a step) and ``prepare`` maps any pixels of it
        to encoded features, as in :meth:`~pixelcnn.nn.MaskedConv2d.read_image`."""
        if step is None:
            return self._whole(x, prepare(image))[0]
        run = self._run(step)
        if step.is_position:
            return run.position(x, image, prepare, step.rows[0], step.cols[0], step.group)
        if (step.rows, step.cols) != ((0, self.size[0]), (0, self.size[1])):
            raise PixelCNNError("attention is computed over the whole map or one position at a time")
        out, keys, values = self._whole(x, prepare(image))
        run.fill(keys, values)
        return out

    def _whole(self, x: torch.Tensor, features: torch.Tensor):
        """The output ``[B, G*width, H, W]`` and the shifted keys and values ``[B, heads, M, d]``."""
        b, _, h, w = x.shape
        g, n = self.groups, self.heads
        q = self.query(x) + self.positions(self.query_position)  # [B, G*width, H, W]
        kv = (self.key_value(x) + self.image_key_value(features)).view(b, g, 2, self.width, h, w)
        k = kv[:, :, 0] + self.positions(self.key_position).view(g, self.width, h, w)  # [B, G, width, H, W]
        q, k, v = (sequence(t, g, n) for t in (q, k, kv[:, :, 1]))  # [B, heads, M, d]
        null = self.null.to(k.dtype)[:, None, :, None].expand(2, b, n, 1, k.shape[-1])
        k = torch.cat([null[0], k[:, :, :-1]], dim=2)  # element m's key at index m + 1
        v = torch.cat([null[1], v[:, :, :-1]], dim=2)
        out = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0,
                                             is_causal=True)
        return unsequence(out, g, h, w), k, v

    def positions(self, project: nn.Linear) -> torch.Tensor:
        """``project`` of the background at every position: ``[G*width, H, W]``."""
        return torch.einsum("op,phw->ohw", project.weight, self.background)

    def _run(self, step: Step) -> "AttentionRun":
        state = step.cache.state(self)
        if "run" not in state:
            state["run"] = AttentionRun(self, step.cache.batch)
        return state["run"]

    def extra_repr(self) -> str:
        return f"width={self.width}, heads={self.heads}, groups={self.groups}, size={self.size}, dropout={self.dropout}"


def sequence(t: torch.Tensor, groups: int, heads: int) -> torch.Tensor:
    """A map ``[B, G*heads*d, H, W]`` (or ``[B, G, heads*d, H, W]``) as the elements' sequence
    ``[B, heads, H*W*G, d]`` in sampling order."""
    b, h, w = t.shape[0], t.shape[-2], t.shape[-1]
    t = t.reshape(b, groups, heads, -1, h, w).permute(0, 2, 4, 5, 1, 3)  # [B, heads, H, W, G, d]
    # contiguous: the fused kernels want each element's d numbers side by side
    return t.reshape(b, heads, h * w * groups, -1).contiguous()


def unsequence(s: torch.Tensor, groups: int, h: int, w: int) -> torch.Tensor:
    """Inverse of :func:`sequence`: ``[B, heads, H*W*G, d]`` -> ``[B, G*heads*d, H, W]``."""
    b, heads, _, d = s.shape
    return s.view(b, heads, h, w, groups, d).permute(0, 4, 1, 5, 2, 3).reshape(b, groups * heads * d, h, w)


def background(size: tuple[int, int]) -> torch.Tensor:
    """Position channels of a map of ``size`` ``(H, W)``: ``[P, H, W]``, the same for rows and
    for columns: the coordinate ``t`` as ``t / n - 1/2`` (the paper's background) and
    ``sin``, ``cos`` of ``2 pi t / period`` for periods 4, 8, ... up to twice the longer side,
    so that a dot product of two positions' projections can depend on their offset."""
    longest = max(size)
    periods = [4.0]
    while periods[-1] < 2 * longest:
        periods.append(2 * periods[-1])
    channels = []
    for axis, n in enumerate(size):
        t = torch.arange(n, dtype=torch.float64)
        waves = [t / n - 0.5] + [f(2 * math.pi * t / p) for p in periods for f in (torch.sin, torch.cos)]
        for wave in waves:
            channels.append(wave[:, None].expand(size) if axis == 0 else wave[None, :].expand(size))
    return torch.stack(channels).float()


class AttentionRun:
    """State of ``layer`` (a :class:`CausalSelfAttention`) during one incremental run over
    ``batch`` images: the weights (read once), the shifted keys and values, and the input
    of the last element stepped, whose key and value the next step completes."""

    def __init__(self, layer: CausalSelfAttention, batch: int):
        self.layer = layer
        g, width, n = layer.groups, layer.width, layer.heads
        weights = [conv.masked_weight().detach()[:, :, 0, 0] for conv in
                   (layer.query, layer.key_value, layer.image_key_value)]  # [out, in] each
        biases = [layer.query.bias.detach(), layer.key_value.bias.detach()]
        # per group: (query weight [in, width], query bias, key-value weights [in, 2w], [image, 2w], bias)
        self.plans = []
        for group in range(g):
            q, kv = slice(group * width, (group + 1) * width), slice(group * 2 * width, (group + 1) * 2 * width)
            self.plans.append((weights[0][q].t().contiguous(), biases[0][q], weights[1][kv].t().contiguous(),
                               weights[2][kv].t().contiguous(), biases[1][kv]))
        self.query_position = layer.positions(layer.query_position).detach()  # [G*width, H, W]
        self.key_position = layer.positions(layer.key_position).detach()
        h, w = layer.size
        d = width // n
        self.keys = weights[0].new_zeros(batch, n, h * w * g, d)
        self.values = torch.zeros_like(self.keys)
        self.keys[:, :, 0], self.values[:, :, 0] = layer.null.detach()  # index 0: the null element
        self.last = None  # (element, input [B, channels], i, j, group) of the last step
        self.filled = False  # a whole pass wrote every index
        self.out = weights[0].new_zeros(batch, g * width)
        self.out4 = self.out.view(batch, g * width, 1, 1)

    def fill(self, keys: torch.Tensor, values: torch.Tensor) -> None:
        """Take the shifted keys and values of a whole pass (final for every known element)."""
        self.keys.copy_(keys)
        self.values.copy_(values)
        self.filled, self.last = True, None

    def position(self, x: torch.Tensor, image: torch.Tensor, prepare, i: int, j: int, group) -> torch.Tensor:
        """The output of element ``(i, j, group)`` from ``x`` ``[B, channels, 1, 1]`` (groups up
        to ``group`` meaningful): ``[B, G*width, 1, 1]``, a view of a buffer the next step
        overwrites; only the group's channels are computed."""
        layer = self.layer
        g = group if layer.groups > 1 else 0
        if g is None:
            raise PixelCNNError("a one-position step of attention over colour groups names its group")
        m = (i * layer.size[1] + j) * layer.groups + g
        if self.last is not None and self.last[0] == m - 1:
            self._complete(m, image, prepare)
        elif m and not (self.filled and self.last is None):
            raise PixelCNNError(f"attention steps go through the elements in order: element {m} after "
                                f"{'none' if self.last is None else self.last[0]}")
        x = x.reshape(x.shape[0], -1)
        wq, bq = self.plans[g][:2]
        width, n = layer.width, layer.heads
        cols = slice(g * width, (g + 1) * width)
        q = torch.addmm(bq + self.query_position[cols, i, j], x, wq).view(x.shape[0], n, 1, -1)
        out = F.scaled_dot_product_attention(q, self.keys[:, :, : m + 1], self.values[:, :, : m + 1])
        self.out[:, cols] = out.view(x.shape[0], width)
        self.last = (m, x.clone(), i, j, g)
        return self.out4

    def _complete(self, m: int, image: torch.Tensor, prepare) -> None:
        """Write the key and value of element ``m - 1`` (the last step's, final now) at index ``m``."""
        _, x, i, j, g = self.last
        layer = self.layer
        _, _, wkv, wimage, bkv = self.plans[g]
        features = prepare(image[:, :, i : i + 1, j : j + 1]).reshape(x.shape[0], -1)  # [B, image channels]
        kv = torch.addmm(torch.addmm(bkv, x, wkv), features.to(x.dtype), wimage)  # [B, 2*width]
        width, n = layer.width, layer.heads
        key = kv[:, :width] + self.key_position[g * width : (g + 1) * width, i, j]
        self.keys[:, :, m] = key.view(x.shape[0], n, -1)
        self.values[:, :, m] = kv[:, width:].view(x.shape[0], n, -1)
