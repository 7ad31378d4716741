"""The original PixelCNN (van den Oord et al. 2016a, "Pixel Recurrent Neural Networks").

A 7x7 mask-A convolution, then either residual blocks (ReLU, 1x1 down to
half width, kxk mask B, 1x1 back up; the paper's Figure 5) or plain mask-B
layers (the classic tutorial network), then 1x1 output layers giving the
parameter map of the model's likelihood (:mod:`pixelcnn.likelihoods`): by
default a categorical distribution over L levels for every sub-pixel.

Not implemented: BatchNorm (it leaks future pixels in training mode) and the
paper's PixelRNN variants. The network has a blind spot (see
``pixelcnn receptive-field``); Gated PixelCNN removes it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from pixelcnn.models.config import cond_map_field, cond_map_of, check, check_common, input_field, likelihood_field, likelihood_of, register_config
from pixelcnn.nn import MaskedConv2d, Step, make_norm
from pixelcnn.nn.condition import Conditioning


NORMS = ("none", "layer", "weight")


@register_config
@dataclass(frozen=True)
class PixelCNNConfig:
    """Settings of :class:`PixelCNN`.

    ``hidden`` is the width of the main stream (2h in the paper); ``layers``
    counts residual blocks (``block="residual"``) or mask-B layers after the
    first (``block="plain"``). ``head`` is the width of the hidden 1x1 output
    layer (0: a single 1x1 output layer). ``norm``: "layer" (per-position
    LayerNorm, one group per colour), "weight" (weight normalisation of every
    convolution, gains and biases set from a batch before training) or "none".
    """

    ARCH = "pixelcnn"
    in_channels: int = 1
    levels: int = 256
    image_size: tuple[int, int] = (28, 28)
    hidden: int = 192
    layers: int = 12
    block: str = "residual"
    kernel_in: int = 7
    kernel: int = 3
    head: int = 768
    norm: str = "none"
    num_classes: int = 0
    cond_dim: int = 0
    likelihood: dict = likelihood_field("categorical")
    input: dict = input_field("scaled")
    cond_map: dict = cond_map_field()

    def __post_init__(self):
        check_common(self)
        c = likelihood_of(self).groups
        check(self.block in ("residual", "plain"), f"block must be 'residual' or 'plain', got {self.block!r}")
        check(self.norm in NORMS, f"norm must be one of {NORMS}, got {self.norm!r}")
        width = 2 * c if self.block == "residual" else c
        check(self.hidden % width == 0, f"hidden = {self.hidden} must be a multiple of {width} "
              f"(the {c} causal colour group(s) of the {self.likelihood['name']} output"
              f"{' times 2 for the residual bottleneck' if width > c else ''})")
        check(self.head % c == 0, f"head = {self.head} must be a multiple of the {c} colour group(s)")


class ResidualBlock(nn.Module):
    """ReLU, 1x1 (n -> n/2), ReLU, kxk mask B, ReLU, 1x1 (n/2 -> n), plus the input."""

    def __init__(self, channels: int, kernel: int, colours: int, norm: str):
        super().__init__()
        half, wn = channels // 2, norm == "weight"
        self.norms = nn.ModuleList(make_norm(norm, n, colours) for n in (channels, half, half)) if norm == "layer" else None
        self.convs = nn.ModuleList([
            MaskedConv2d(channels, half, 1, "B", colours, weight_norm=wn),
            MaskedConv2d(half, half, kernel, "B", colours, weight_norm=wn),
            MaskedConv2d(half, channels, 1, "B", colours, weight_norm=wn),
        ])

    def forward(self, x: torch.Tensor, step: Step | None = None) -> torch.Tensor:
        h = x
        for k, conv in enumerate(self.convs):
            h = conv(torch.relu(self.norms[k](h) if self.norms is not None else h), step)
        return x + h


class PlainLayer(nn.Module):
    """kxk mask B, normalisation, ReLU."""

    def __init__(self, channels: int, kernel: int, colours: int, norm: str):
        super().__init__()
        self.conv = MaskedConv2d(channels, channels, kernel, "B", colours, weight_norm=norm == "weight")
        self.norm = make_norm(norm, channels, colours)

    def forward(self, x: torch.Tensor, step: Step | None = None) -> torch.Tensor:
        return torch.relu(self.norm(self.conv(x, step)))


class PixelCNN(nn.Module):
    """Integer levels ``[B, C, H, W]`` -> parameters ``[B, params, H, W]`` in ``groups``
    causal channel groups (see :mod:`pixelcnn.likelihoods`)."""

    supports_cached = True

    def __init__(self, config: PixelCNNConfig, params: int, groups: int, encoder: nn.Module):
        super().__init__()
        self.config = cfg = config
        self.encoder = encoder
        c, n = groups, cfg.hidden
        wn = cfg.norm == "weight"
        self.conv_in = MaskedConv2d(encoder.channels, n, cfg.kernel_in, "A", c, weight_norm=wn)
        self.cond_map = cond_map_of(cfg)
        self.cond = Conditioning(cfg.num_classes, cfg.cond_dim, n, self.cond_map.width)
        if cfg.block == "plain":
            self.norm_in = make_norm(cfg.norm, n, c)
            self.blocks = nn.ModuleList(PlainLayer(n, cfg.kernel, c, cfg.norm) for _ in range(cfg.layers))
        else:
            self.norm_in = nn.Identity()
            self.blocks = nn.ModuleList(ResidualBlock(n, cfg.kernel, c, cfg.norm) for _ in range(cfg.layers))
        widths = [n, cfg.head] if cfg.head else [n]
        self.head = nn.ModuleList(MaskedConv2d(a, b, 1, "B", c, weight_norm=wn)
                                  for a, b in zip(widths, widths[1:] + [params]))

    def forward(self, x: torch.Tensor, cond=None, step: Step | None = None) -> torch.Tensor:
        """``x`` levels ``[B, C, H, W]`` (the whole image, also in a step);
        ``cond`` a checked condition (:mod:`pixelcnn.nn.condition`). Returns the parameters of the step's region
        (:mod:`pixelcnn.nn.step`), of the whole image without one."""
        cond = self.cond_map.bind(cond)
        h = self.conv_in.read_image(x, self.encoder, step)
        if self.config.block == "plain":
            h = torch.relu(self.norm_in(h))
        h = h + self.cond(cond, h, step)
        for block in self.blocks:
            h = block(h, step)
        for conv in self.head:
            h = conv(torch.relu(h), step)
        return h

    @property
    def output_layer(self) -> MaskedConv2d:
        """The last layer (zeroing it makes every distribution uniform)."""
        return self.head[-1]
