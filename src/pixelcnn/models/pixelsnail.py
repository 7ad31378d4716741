"""PixelSNAIL (Chen et al. 2018, "PixelSNAIL: An Improved Autoregressive Generative Model").

Blocks of gated residual convolutions, each followed by causal self-attention,
so that every output reads the whole past: a convolution reaches a cone of
nearby pixels, attention reaches any earlier one.

- The convolutions are Gated PixelCNN's two stacks (:mod:`pixelcnn.models.gated`):
  a vertical stack over the rows above, shifted down into a horizontal stack
  along the row, gated, with residual and skip connections. No blind spot, and
  ``G`` causal colour groups (G = C for the categorical, 1 for the logistic mixture).
- After every ``layers`` gated layers an attention block
  (:class:`~pixelcnn.nn.attention.CausalSelfAttention`, which reads the image for its
  keys and values, as in the paper) attends from the horizontal stack over every
  earlier element (a pixel's colour group), and
  ``h + res(gate(mix(elu(h)) + read(elu(attention))))`` carries the result on,
  colour-masked (1x1, mask B). Dropout acts on the gated outputs of every layer.
- Every gated layer and every attention block adds a skip output; two 1x1 layers
  (ReLU, colour-masked) turn their sum into the likelihood's parameters.

Class labels, vectors and condition maps add their biases to the gated layers
(:class:`~pixelcnn.nn.condition.Conditioning`), as in Gated PixelCNN.

Fast sampling: the stacks advance as in Gated PixelCNN (the vertical stack a row at
a time, the horizontal stack a sub-pixel at a time) and each attention layer keeps
the keys and values of the elements drawn so far, so a step computes one query per
head against them (:class:`~pixelcnn.nn.attention.AttentionRun`).

Differences from the paper's network: the convolutions are Gated PixelCNN's stacks
(the paper uses PixelCNN++'s down-right shifted stream alone, whose blind spot the
attention covers), keys are as wide as values, and the background adds waves of the
row and the column to the paper's coordinates; queries and keys read it through
linear maps. Not implemented: the paper's attention over downsampled maps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from pixelcnn.coerce import one_of
from pixelcnn.models.config import cond_map_field, cond_map_of, check, check_common, input_field, likelihood_field, likelihood_of, register_config
from pixelcnn.models.gated import GatedLayer, vertical_links
from pixelcnn.nn import MaskedConv2d, Step, gate
from pixelcnn.nn.attention import CausalSelfAttention


@register_config
@dataclass(frozen=True)
class PixelSNAILConfig:
    """Settings of :class:`PixelSNAIL`.

    ``hidden`` is the width of both stacks; ``blocks`` counts attention blocks, each after
    ``layers`` gated layers (a first gated layer reads the image before them all);
    ``heads`` attention heads share ``attention_width`` channels of queries, keys and
    values per element; ``head`` is the width of the hidden 1x1 output layer; ``dropout``
    the rate on every gated output and ``attention_dropout`` the rate on the attention
    weights (in training); ``norm`` "weight" normalises every convolution but the
    attention's own projections, or "none".
    """

    ARCH = "pixelsnail"
    in_channels: int = 1
    levels: int = 256
    image_size: tuple[int, int] = (28, 28)
    hidden: int = 48
    blocks: int = 2
    layers: int = 2
    kernel_in: int = 7
    kernel: int = 3
    heads: int = 2
    attention_width: int = 32
    head: int = 96
    dropout: float = 0.0
    attention_dropout: float = 0.0
    norm: str = field(default="none", metadata=one_of("none", "weight"))
    num_classes: int = 0
    cond_dim: int = 0
    likelihood: dict = likelihood_field("logistic-mixture")
    input: dict = input_field("scaled")
    cond_map: dict = cond_map_field()

    def __post_init__(self):
        check_common(self)
        c = likelihood_of(self).groups
        check(self.hidden % c == 0, f"hidden = {self.hidden} must be a multiple of the {c} colour group(s)")
        check(self.head >= c and self.head % c == 0, f"head = {self.head} must be a positive multiple of the {c} colour group(s)")
        check(self.attention_width % self.heads == 0, f"heads = {self.heads} must divide attention_width = "
              f"{self.attention_width} (each head takes an equal share of the queries, keys and values)")


class AttentionBlock(nn.Module):
    """Attention from the horizontal stack ``h`` over the past, carried on by a gated residual:
    returns ``h`` updated (unchanged in the ``last`` block, whose skip output alone is read)
    and the skip output."""

    def __init__(self, cfg: PixelSNAILConfig, groups: int, image_channels: int, last: bool):
        super().__init__()
        p, wn = cfg.hidden, cfg.norm == "weight"
        self.groups = groups
        self.attend = CausalSelfAttention(p, image_channels, cfg.attention_width, cfg.heads, groups,
                                          cfg.image_size, cfg.attention_dropout)
        self.mix = MaskedConv2d(p, 2 * p, 1, "B", groups, weight_norm=wn)
        self.read = MaskedConv2d(groups * cfg.attention_width, 2 * p, 1, "B", groups, weight_norm=wn)
        self.dropout = nn.Dropout(cfg.dropout) if cfg.dropout else None
        self.skip = MaskedConv2d(p, p, 1, "B", groups, weight_norm=wn)
        self.res = None if last else MaskedConv2d(p, p, 1, "B", groups, weight_norm=wn)

    def forward(self, h, x, encoder, step: Step | None) -> tuple[torch.Tensor, torch.Tensor]:
        a = self.attend(h, x, encoder, step)  # [B, G*attention_width, H, W]
        g = gate(self.mix(F.elu(h), step) + self.read(F.elu(a), step), self.groups)
        if self.dropout is not None:
            g = self.dropout(g)
        out = self.skip(g, step)
        return (h if self.res is None else h + self.res(g, step)), out


class PixelSNAIL(nn.Module):
    """Integer levels ``[B, C, H, W]`` -> parameters ``[B, params, H, W]`` in ``groups``
    causal channel groups (see :mod:`pixelcnn.likelihoods`)."""

    supports_cached = True

    def __init__(self, config: PixelSNAILConfig, params: int, groups: int, encoder: nn.Module):
        super().__init__()
        self.config = cfg = config
        self.groups = c = groups
        self.encoder = encoder
        self.cond_map = cond_map_of(cfg)
        self.layers = nn.ModuleList(GatedLayer(cfg, first=k == 0, c=c, inputs=encoder.channels, dropout=cfg.dropout)
                                    for k in range(1 + cfg.blocks * cfg.layers))
        self.blocks = nn.ModuleList(AttentionBlock(cfg, c, encoder.channels, last=b == cfg.blocks - 1)
                                    for b in range(cfg.blocks))
        wn = cfg.norm == "weight"
        self.head = nn.ModuleList([
            MaskedConv2d(cfg.hidden, cfg.head, 1, "B", c, weight_norm=wn),
            MaskedConv2d(cfg.head, params, 1, "B", c, weight_norm=wn),
        ])

    @property
    def output_layer(self) -> MaskedConv2d:
        """The last layer (zeroing it makes every distribution uniform)."""
        return self.head[-1]

    def forward(self, x: torch.Tensor, cond=None, step: Step | None = None) -> torch.Tensor:
        """``x`` levels ``[B, C, H, W]`` (the whole image, also in a step); ``cond`` a checked
        condition (:mod:`pixelcnn.nn.condition`). Returns the parameters of the step's region
        (:mod:`pixelcnn.nn.step`: the whole image, or one pixel), of the whole image without one."""
        cond = self.cond_map.bind(cond)
        links = vertical_links(self.layers, self.encoder, x, cond, step)
        h, skip = self.layers[0].horizontal(None, x, self.encoder, links[0], cond, step)
        per = self.config.layers
        for b, block in enumerate(self.blocks):
            for k in range(1 + b * per, 1 + (b + 1) * per):
                h, out = self.layers[k].horizontal(h, x, self.encoder, links[k], cond, step)
                skip = skip + out
            h, out = block(h, x, self.encoder, step)
            skip = skip + out
        return self.head[1](torch.relu(self.head[0](torch.relu(skip), step)), step)
