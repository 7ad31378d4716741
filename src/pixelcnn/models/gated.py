"""Gated PixelCNN (van den Oord et al. 2016b, "Conditional Image Generation with PixelCNN Decoders").

Two stacks remove the blind spot of the original PixelCNN:

- the vertical stack convolves with kernels open on every row up to and
  including the current one (mask "V"), so it sees whole rows above; it is
  shifted down one row before the horizontal stack reads it, through a 1x1
  "link" convolution, so no information from the current row leaks;
- the horizontal stack convolves along the current row (``1 x k`` kernels,
  mask A in the first layer, B after it, colour-masked at the centre), with a
  residual connection and a skip connection to the output.

Every layer uses the gate ``tanh(a) * sigmoid(b)``; class labels and a dense
vector add biases to the gates of both stacks (eq. 4 of the paper).

Fast sampling: the vertical stack is advanced one row at a time, when the row
above is complete, and the horizontal stack one sub-pixel at a time.

Class labels and vectors add a bias to both stacks of every layer (the
paper's eq. 4); a condition map (``cond_map``) adds a 1x1 projection of its
features there, position by position (the paper's section 2.3, with a map
encoder in place of its deconvolutional network).

Not implemented: the paper's PixelCNN auto-encoder.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from pixelcnn.models.config import cond_map_field, cond_map_of, check, check_common, input_field, likelihood_field, likelihood_of, register_config
from pixelcnn.nn import MaskedConv2d, Step, gate
from pixelcnn.nn.condition import Conditioning


@register_config
@dataclass(frozen=True)
class GatedPixelCNNConfig:
    """Settings of :class:`GatedPixelCNN`.

    ``hidden`` is the width p of each stack (gates read 2p channels);
    ``layers`` counts gated layers after the first; ``head`` is the width of
    the hidden 1x1 output layer. ``norm``: "weight" normalises the weight of
    every convolution (gains and biases set from a batch before training), or
    "none".
    """

    ARCH = "gated"
    in_channels: int = 1
    levels: int = 256
    image_size: tuple[int, int] = (28, 28)
    hidden: int = 48
    layers: int = 7
    kernel_in: int = 7
    kernel: int = 3
    head: int = 96
    norm: str = "none"
    num_classes: int = 0
    cond_dim: int = 0
    likelihood: dict = likelihood_field("categorical")
    input: dict = input_field("scaled")
    cond_map: dict = cond_map_field()

    def __post_init__(self):
        check_common(self)
        check(self.norm in ("none", "weight"), f"norm must be 'none' or 'weight', got {self.norm!r}")
        c = likelihood_of(self).groups
        check(self.hidden % c == 0, f"hidden = {self.hidden} must be a multiple of the {c} colour group(s)")
        check(self.head >= c and self.head % c == 0, f"head = {self.head} must be a positive multiple of the {c} colour group(s)")


class GatedLayer(nn.Module):
    """One layer of both stacks. ``first`` reads the image (C channels, mask A);
    the horizontal stack keeps ``c`` causal colour groups. The first layer has no
    residual (its input is the image) and neither has the last: only its skip output
    reaches the head, so a residual there would be a weight that no loss depends on.
    ``dropout`` (a rate) acts on the gated output of the horizontal stack in training.
    ``cfg`` is any model config with this one's ``hidden``, ``kernel_in``, ``kernel``,
    ``norm``, ``num_classes``, ``cond_dim`` and ``cond_map`` (PixelSNAIL's builds on it)."""

    def __init__(self, cfg, first: bool, c: int, inputs: int, last: bool = False,
                 dropout: float = 0.0):
        super().__init__()
        p = cfg.hidden
        width, k = (inputs, cfg.kernel_in) if first else (p, cfg.kernel)
        self.first, self.groups = first, c
        wn = cfg.norm == "weight"
        self.vconv = MaskedConv2d(width, 2 * p, k, "V", weight_norm=wn)
        self.hconv = MaskedConv2d(width, 2 * p, (1, k), "A" if first else "B", c, weight_norm=wn)
        self.link = MaskedConv2d(2 * p, 2 * p, 1, "full", weight_norm=wn)
        self.skip = MaskedConv2d(p, p, 1, "B", c, weight_norm=wn)
        self.res = None if first or last else MaskedConv2d(p, p, 1, "B", c, weight_norm=wn)
        self.dropout = nn.Dropout(dropout) if dropout else None
        maps = cond_map_of(cfg).width
        conditional = cfg.num_classes or cfg.cond_dim or maps
        self.vcond = Conditioning(cfg.num_classes, cfg.cond_dim, 2 * p, maps) if conditional else None
        self.hcond = Conditioning(cfg.num_classes, cfg.cond_dim, 2 * p, maps) if conditional else None

    def vertical(self, v, x, encoder, cond, step: Step | None) -> tuple[torch.Tensor, torch.Tensor]:
        """The vertical stack: ``v`` the previous layer's pre-activation (the first layer reads
        the levels ``x`` through ``encoder``) -> this layer's pre-activation and its link
        (1x1, not yet shifted down)."""
        pre = self.vconv.read_image(x, encoder, step) if self.first else self.vconv(gate(v), step)
        if self.vcond is not None:
            pre = pre + self.vcond(cond, pre, step)
        return pre, self.link(pre)

    def horizontal(self, h, x, encoder, link, cond, step: Step | None) -> tuple[torch.Tensor, torch.Tensor]:
        """The horizontal stack: ``h`` the previous layer's output (the first layer reads the
        image), ``link`` the shifted vertical link -> this layer's output and its skip output."""
        pre = self.hconv.read_image(x, encoder, step) if self.first else self.hconv(h, step)
        pre = pre + link
        if self.hcond is not None:
            pre = pre + self.hcond(cond, pre, step)
        g = gate(pre, self.groups)
        if self.dropout is not None:
            g = self.dropout(g)
        out = self.skip(g, step)
        if self.res is None:  # the first layer starts the stack; the last one's h is not read
            return g, out
        return h + self.res(g, step), out


class GatedPixelCNN(nn.Module):
    """Integer levels ``[B, C, H, W]`` -> parameters ``[B, params, H, W]`` in ``groups``
    causal channel groups (see :mod:`pixelcnn.likelihoods`)."""

    supports_cached = True

    def __init__(self, config: GatedPixelCNNConfig, params: int, groups: int, encoder: nn.Module):
        super().__init__()
        self.config = cfg = config
        self.groups = c = groups
        self.encoder = encoder
        self.cond_map = cond_map_of(cfg)
        self.layers = nn.ModuleList(GatedLayer(cfg, first=k == 0, c=c, inputs=encoder.channels, last=k == cfg.layers)
                                    for k in range(cfg.layers + 1))
        wn = cfg.norm == "weight"
        self.head = nn.ModuleList([
            MaskedConv2d(cfg.hidden, cfg.head, 1, "B", c, weight_norm=wn),
            MaskedConv2d(cfg.head, params, 1, "B", c, weight_norm=wn),
        ])

    def retired_keys(self) -> tuple[str, ...]:
        """Key prefixes that checkpoints of earlier versions hold and this network does not:
        the residual of the last layer, which no output depended on (dropped on load)."""
        return (f"layers.{len(self.layers) - 1}.res.",) if len(self.layers) > 1 else ()

    @property
    def output_layer(self) -> MaskedConv2d:
        """The last layer (zeroing it makes every distribution uniform)."""
        return self.head[-1]

    def forward(self, x: torch.Tensor, cond=None, step: Step | None = None) -> torch.Tensor:
        """``x`` levels ``[B, C, H, W]`` (the whole image, also in a step); ``cond`` a
        checked condition (:mod:`pixelcnn.nn.condition`). Returns the parameters of the step's region
        (:mod:`pixelcnn.nn.step`), of the whole image without one."""
        cond = self.cond_map.bind(cond)
        links = vertical_links(self.layers, self.encoder, x, cond, step)
        h = skip = None
        for layer, link in zip(self.layers, links):
            h, out = layer.horizontal(h, x, self.encoder, link, cond, step)
            skip = out if skip is None else skip + out
        return self.head[1](torch.relu(self.head[0](torch.relu(skip), step)), step)


def vertical_links(layers, encoder, x: torch.Tensor, cond, step: Step | None) -> list:
    """What the vertical stack of ``layers`` (:class:`GatedLayer`) adds to each layer of the
    horizontal stack over the step's region: every link shifted down one row.

    At a one-pixel step the vertical stack computes row ``i - 1`` the first time row ``i``
    is visited (that row is complete by then); its links serve the whole of row ``i``.
    """
    if step is None or not step.is_position:
        return [shift_down(link) for link in _vertical(layers, encoder, x, cond, step)]
    (i, _), (j, _) = step.rows, step.cols
    state = step.cache.state(layers)
    if state.get("row") != i:
        state["links"] = [0.0] * len(layers) if i == 0 else \
            _vertical(layers, encoder, x, cond, Step.row(step.cache, i - 1))
        state["row"] = i
    return [v if isinstance(v, float) else v[..., j : j + 1] for v in state["links"]]


def _vertical(layers, encoder, x, cond, step: Step | None) -> list[torch.Tensor]:
    """The link of every layer: 1x1 of the vertical pre-activations, not yet shifted."""
    links, v = [], None
    for layer in layers:
        v, link = layer.vertical(v, x, encoder, cond, step)
        links.append(link)
    return links


def shift_down(t: torch.Tensor) -> torch.Tensor:
    """Move every row one down (row 0 becomes zeros): ``[B, C, H, W]`` -> same shape.

    The last row is dropped before padding, so the padded map is the output itself and
    not one row larger (fewer zero fills and copies).
    """
    return F.pad(t[:, :, :-1], (0, 0, 1, 0))
