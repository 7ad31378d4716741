"""PixelCNN++ (Salimans et al. 2017, "PixelCNN++: Improving the PixelCNN with
Discretized Logistic Mixture Likelihood and Other Modifications").

Two streams replace masked convolutions (:mod:`pixelcnn.nn.shifted`):

- ``u``, down-shifted: every value depends on earlier rows only;
- ``ul``, down-right-shifted: every value depends on earlier pixels only; it
  also reads ``u`` at its own position.

Both are stacks of gated ResNet blocks (concatenated ELU, a shifted
convolution, dropout, a second convolution, ``a * sigmoid(b)``, plus the
input), over ``resolutions`` (3 in the paper) resolutions joined by stride-2
shifted convolutions going down and stride-2 transposed ones coming up. As in
the paper's U-Net-like layout, the down pass keeps every block's output and
the up pass reads them back, last first, through 1x1 ("nin") shortcuts; the
top resolution has ``layers`` blocks each way, the others ``layers`` down and
``layers + 1`` up. The input carries a channel of ones, so that the zero
padding is visible. Any size works: odd sizes halve up (7 -> 4 -> 2) and the
transposed layers crop back (2 -> 4 -> 8, cropped to 7).

Output for G likelihood groups (the network knows P and G only):

- G = 1 (the logistic mixture, which models a whole pixel given the earlier
  pixels): a 1x1 layer over ``elu(ul)``, as in the paper. No output depends
  on the current pixel.
- G = C (the categorical, one group per colour): block ``g`` of the P
  channels may also read colours ``< g`` of the current pixel, which ``ul``
  never sees. A two-layer colour-masked head adds that dependence: a hidden
  layer ``nin(elu(ul))`` plus a mask-A 1x1 over the current pixel's colours
  (hidden group ``g`` reads colours ``< g``), ELU, and a mask-B 1x1 to the P
  channels (block ``g`` reads hidden group ``<= g``). This keeps the streams
  of the paper unchanged and makes the within-pixel part a small per-pixel
  network: the simplest design that is exactly causal.

Weight normalisation (``norm="weight"``) is in every shifted and 1x1 layer
except the colour-masked head; its data-dependent initialisation is a
separate call, :func:`pixelcnn.nn.weight_norm.initialize_from_data`.
Class labels and vectors add a bias to the gates of every block, as in the
paper's conditional model; a condition map (``cond_map``) adds its features,
resized to the block's resolution.

Fast sampling (Ramachandran et al. 2017): ``u`` advances a row at a time
(every resolution when its row is complete), ``ul`` a position at a time; a
coarser level computes at position ``(i, j)`` when the full-resolution pixel
``(2^k i, 2^k j)`` is reached, and its transposed layer leaves the finer
outputs waiting (:mod:`pixelcnn.nn.shifted_runs`). Each activation is
computed once per run.

Not implemented: the paper's Adamax and Polyak averaging (the trainer owns
optimisers and EMA), its 8-GPU data parallelism, and its initialisation of
``u`` and ``ul`` inside one convolution.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from pixelcnn.errors import ConfigError, PixelCNNError
from pixelcnn.coerce import at_least, check_fields, one_of
from pixelcnn.models.config import cond_map_field, cond_map_of, FIELD_RANGES, check_parts, input_field, likelihood_field, register_config
from pixelcnn.nn import MaskedConv2d
from pixelcnn.nn.condition import Conditioning
from pixelcnn.nn.shifted import Nin, ShiftedConv2d, ShiftedConvTranspose2d, concat_elu
from pixelcnn.nn.shifted_runs import conv_run, transposed_run
from pixelcnn.nn.step import Step


@register_config
@dataclass(frozen=True)
class PixelCNNPPConfig:
    """Settings of :class:`PixelCNNPP` (the defaults are the paper's CIFAR-10 network).

    ``hidden`` is the width of both streams (the paper's ``nr_filters``),
    ``layers`` the gated ResNet blocks per stage (``nr_resnet``),
    ``resolutions`` the number of resolutions, ``dropout`` the rate inside
    every block, ``norm`` "weight" or "none", ``likelihood`` the output
    distribution (see :mod:`pixelcnn.likelihoods`), ``input`` the input encoder
    (see :mod:`pixelcnn.nn.inputs`).
    """

    ARCH = "pixelcnn-pp"
    in_channels: int = 3
    levels: int = 256
    image_size: tuple[int, int] = (32, 32)
    hidden: int = 160
    layers: int = 5
    resolutions: int = field(default=3, metadata=at_least(1))
    dropout: float = 0.5
    norm: str = field(default="weight", metadata=one_of("weight", "none"))
    num_classes: int = 0
    cond_dim: int = 0
    likelihood: dict = likelihood_field("logistic-mixture")
    input: dict = input_field("scaled")
    cond_map: dict = cond_map_field()

    def __post_init__(self):
        check_fields(self, self.ARCH, FIELD_RANGES)  # check_common less its odd-kernel rule: no kernel fields here
        check_parts(self)


class GatedResnet(nn.Module):
    """``x + a * sigmoid(b)``, ``[a, b] = conv(dropout(celu(conv(celu(x)) + nin(celu(aux)))))``
    with ``celu`` the concatenated ELU; ``kind`` "down" (the u stream) or "down-right" (ul)."""

    def __init__(self, cfg: PixelCNNPPConfig, kind: str, aux: int):
        super().__init__()
        n, wn = cfg.hidden, cfg.norm == "weight"
        kernel = (2, 3) if kind == "down" else (2, 2)
        self.conv1 = ShiftedConv2d(2 * n, n, kernel, kind, weight_norm=wn)
        self.nin = Nin(2 * aux, n, weight_norm=wn) if aux else None
        self.dropout = nn.Dropout(cfg.dropout)
        self.conv2 = ShiftedConv2d(2 * n, 2 * n, kernel, kind, weight_norm=wn, init_scale=0.1)
        maps = cond_map_of(cfg).width
        conditional = cfg.num_classes or cfg.cond_dim or maps
        self.cond = Conditioning(cfg.num_classes, cfg.cond_dim, 2 * n, maps) if conditional else None

    def forward(self, x: torch.Tensor, aux: torch.Tensor | None, cond, at: Step | None = None) -> torch.Tensor:
        h = self.conv1(concat_elu(x), at)
        if self.nin is not None:
            h = h + self.nin(concat_elu(aux), at)
        h = self.conv2(self.dropout(concat_elu(h)), at)
        if self.cond is not None:
            h = h + self.cond(cond, h, at)
        a, b = h.chunk(2, dim=1)
        return x + a * torch.sigmoid(b)


class Stage(nn.Module):
    """The blocks of one resolution in one pass: ``u`` blocks and ``ul`` blocks, paired."""

    def __init__(self, cfg: PixelCNNPPConfig, blocks: int, up: bool):
        super().__init__()
        n = cfg.hidden
        self.u = nn.ModuleList(GatedResnet(cfg, "down", n if up else 0) for _ in range(blocks))
        self.ul = nn.ModuleList(GatedResnet(cfg, "down-right", 2 * n if up else n) for _ in range(blocks))


class Head(nn.Module):
    """``elu(ul)`` (and for G > 1 the current pixel's colours) -> the P parameters."""

    def __init__(self, cfg: PixelCNNPPConfig, params: int, groups: int, inputs: int):
        super().__init__()
        n, c, wn = cfg.hidden, inputs, cfg.norm == "weight"
        self.groups = groups
        if groups == 1:
            self.out = Nin(n, params, weight_norm=wn)
            return
        width = -(-n // groups) * groups  # every colour group gets the same width
        self.context = Nin(n, width, weight_norm=wn)
        self.colours = MaskedConv2d(c, width, 1, "A", groups)
        self.out = MaskedConv2d(width, params, 1, "B", groups)

    def forward(self, ul: torch.Tensor, pixels: torch.Tensor, at: Step | None = None) -> torch.Tensor:
        """``ul`` ``[B, n, h, w]``, ``pixels`` the encoded image there ``[B, C*E, h, w]``."""
        h = F.elu(ul)
        if self.groups == 1:
            return self.out(h, at)
        return self.out(F.elu(self.context(h, at) + self.colours(pixels)))


class PixelCNNPP(nn.Module):
    """Integer levels ``[B, C, H, W]`` -> parameters ``[B, P, H, W]`` in G causal groups."""

    supports_cached = True

    def __init__(self, config: PixelCNNPPConfig, params: int, groups: int, encoder: nn.Module):
        super().__init__()
        self.config = cfg = config
        self.encoder = encoder
        self.cond_map = cond_map_of(cfg)
        c, n, wn, top = cfg.in_channels, cfg.hidden, cfg.norm == "weight", cfg.resolutions - 1
        e = encoder.channels
        if groups not in (1, c):
            raise ConfigError(f"pixelcnn-pp supports 1 or in_channels = {c} likelihood groups, got {groups}")
        if params % groups:
            raise ConfigError(f"{params} parameter channels do not split into {groups} groups")
        self.params, self.groups = params, groups
        self.u_in = ShiftedConv2d(e + 1, n, (2, 3), "down", shift="down", weight_norm=wn)
        self.ul_in_up = ShiftedConv2d(e + 1, n, (1, 3), "down", shift="down", weight_norm=wn)
        self.ul_in_left = ShiftedConv2d(e + 1, n, (2, 1), "down-right", shift="right", weight_norm=wn)
        self.down = nn.ModuleList(Stage(cfg, cfg.layers, up=False) for _ in range(cfg.resolutions))
        self.up = nn.ModuleList(Stage(cfg, cfg.layers + (k < top), up=True) for k in range(cfg.resolutions))
        self.down_u = nn.ModuleList(ShiftedConv2d(n, n, (2, 3), "down", stride=2, weight_norm=wn) for _ in range(top))
        self.down_ul = nn.ModuleList(ShiftedConv2d(n, n, (2, 2), "down-right", stride=2, weight_norm=wn) for _ in range(top))
        self.up_u = nn.ModuleList(ShiftedConvTranspose2d(n, n, (2, 3), "down", weight_norm=wn) for _ in range(top))
        self.up_ul = nn.ModuleList(ShiftedConvTranspose2d(n, n, (2, 2), "down-right", weight_norm=wn) for _ in range(top))
        self.head = Head(cfg, params, groups, e)

    @property
    def output_layer(self) -> nn.Module:
        """The last layer (zeroing it makes every parameter zero)."""
        return self.head.out

    def forward(self, x: torch.Tensor, cond=None, step: Step | None = None) -> torch.Tensor:
        """``x`` levels ``[B, C, H, W]`` (or encoded features, for gradients; the whole
        image, also in a step); ``cond`` a checked condition (:mod:`pixelcnn.nn.condition`). Returns the
        parameters of the step's region (:mod:`pixelcnn.nn.step`), of the whole image
        without one.

        A one-pixel step computes each activation once per run (see :meth:`_pixel`).
        Any other step (the sampler's prefill of a known prefix) is one whole pass,
        cut to the region; the next pixel step catches the caches up over the pixels
        before it."""
        cond = self.cond_map.bind(cond)
        if step is not None and step.is_position:
            return self._pixel(x, cond, step)
        out = self._whole(x, cond)
        return out if step is None else step.region(out)

    def _whole(self, x: torch.Tensor, cond) -> torch.Tensor:
        pixels, image = self._prepare(x)
        top = self.config.resolutions - 1
        sizes = level_sizes(tuple(x.shape[-2:]), top + 1)
        u = self.u_in(image)
        ul = self.ul_in_up(image) + self.ul_in_left(image)
        u_pushes, ul_pushes = [], []
        for k in range(top + 1):
            if k:
                u, ul = self.down_u[k - 1](u), self.down_ul[k - 1](ul)
            u_pushes.append(self._u_down(k, u, cond))
            ul_pushes.append(self._ul_down(k, ul, u_pushes[k][1:], cond))
            u, ul = u_pushes[k][-1], ul_pushes[k][-1]
        for k in reversed(range(top + 1)):
            if k == top:
                u, ul = u_pushes[k].pop(), ul_pushes[k].pop()
            else:
                u, ul = self.up_u[k](u, sizes[k]), self.up_ul[k](ul, sizes[k])
            us = self._u_up(k, u, u_pushes[k], cond)
            ul = self._ul_up(k, ul, us, ul_pushes[k], cond)
            u = us[-1]
        return self.head(ul, pixels)

    # The four passes of one resolution, shared by the whole-image and the incremental runs.

    def _u_down(self, k, u, cond, at=None) -> list[torch.Tensor]:
        """``[u, block outputs...]`` of the down pass at level ``k``."""
        pushes = [u]
        for block in self.down[k].u:
            u = block(u, None, cond, at)
            pushes.append(u)
        return pushes

    def _ul_down(self, k, ul, us, cond, at=None) -> list[torch.Tensor]:
        pushes = [ul]
        for block, u in zip(self.down[k].ul, us):
            ul = block(ul, u, cond, at)
            pushes.append(ul)
        return pushes

    def _u_up(self, k, u, pushes, cond, at=None) -> list[torch.Tensor]:
        """The block outputs of the up pass at level ``k``; pops ``pushes``."""
        outs = []
        for block in self.up[k].u:
            u = block(u, pushes.pop(), cond, at)
            outs.append(u)
        return outs

    def _ul_up(self, k, ul, us, pushes, cond, at=None) -> torch.Tensor:
        for block, u in zip(self.up[k].ul, us):
            ul = block(ul, torch.cat([u, pushes.pop()], dim=1), cond, at)
        return ul

    def _prepare(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Levels -> (encoded pixels ``[B, C*E, h, w]``, the same plus a channel of ones)."""
        pixels = self.encoder(x)
        return pixels, torch.cat([pixels, torch.ones_like(pixels[:, :1])], dim=1)

    # Fast sampling.

    def _pixel(self, x: torch.Tensor, cond, step: Step) -> torch.Tensor:
        """Parameters ``[B, P, 1, 1]`` at the step's pixel ``(i, j)`` (its group and those
        before it are meaningful). Pixels must come in raster order; pixels skipped since
        the last call (a known prefix) are caught up."""
        (i, _), (j, _), cache = step.rows, step.cols, step.cache
        state = cache.state(self)
        h, w = x.shape[-2:]
        if not state:
            state.update(done=0, sizes=level_sizes((h, w), self.config.resolutions), u_down={}, u_up={})
        target = i * w + j
        if target < state["done"] - 1:
            raise PixelCNNError(f"pixel ({i}, {j}) comes before the pixels this run has computed")
        while state["done"] <= target:
            r, c = divmod(state["done"], w)
            if c == 0:
                self._row(x, cond, cache, state, r)
            state["context"] = self._position(x, cond, cache, state, r, c)
            state["done"] += 1
        pixels = self._prepare(x[:, :, i : i + 1, j : j + 1])[0]
        return self.head(state["context"], pixels, Step.at(cache, (h, w), i, j))

    def _row(self, x, cond, cache, state, i) -> None:
        """Start image row ``i``: the u stream at every level whose row starts here."""
        size = state["sizes"][0]
        u_in, ul_up = conv_run(cache, self.u_in, size), conv_run(cache, self.ul_in_up, size)
        if i:
            above = self._prepare(x[:, :, i - 1 : i])[1]  # complete: the row above
            for layer in (self.u_in, self.ul_in_up, self.ul_in_left):
                conv_run(cache, layer, size).write(above, i - 1)
        state["ul_in_up"] = ul_up.row(i)
        self._u_row(0, i, u_in.row(i), cond, cache, state)

    def _u_row(self, k, i, u, cond, cache, state) -> None:
        """Row ``i`` of level ``k`` of the u stream, down and up, and the coarser rows it makes ready."""
        sizes, top = state["sizes"], self.config.resolutions - 1
        at = Step.at(cache, sizes[k], i)
        pushes = self._u_down(k, u, cond, at)
        state["u_down"][k] = pushes[1:]
        if k < top:
            down = conv_run(cache, self.down_u[k], sizes[k])
            down.write(pushes[-1], i)
            if i % 2 == 0:  # the coarser row's window (rows 2i' - 1, 2i') is complete
                self._u_row(k + 1, i // 2, down.row(i // 2), cond, cache, state)
            start = transposed_run(cache, self.up_u[k], sizes[k]).row(i)
        else:
            start = pushes.pop()
        state["u_up"][k] = outs = self._u_up(k, start, pushes, cond, at)
        if k:
            transposed_run(cache, self.up_u[k - 1], sizes[k - 1]).write_row(outs[-1], i)

    def _position(self, x, cond, cache, state, i, j) -> torch.Tensor:
        """Pixel ``(i, j)``: the ul stream there (and at coarser positions it makes ready)."""
        size = state["sizes"][0]
        left = conv_run(cache, self.ul_in_left, size)
        if j:
            left.write(self._prepare(x[:, :, i : i + 1, j - 1 : j])[1], i, j - 1)
        ul = state["ul_in_up"][..., j : j + 1] + left.position(i, j)
        return self._ul_position(0, i, j, ul, cond, cache, state)

    def _ul_position(self, k, i, j, ul, cond, cache, state) -> torch.Tensor:
        sizes, top = state["sizes"], self.config.resolutions - 1
        at = Step.at(cache, sizes[k], i, j)
        pushes = self._ul_down(k, ul, [u[..., j : j + 1] for u in state["u_down"][k]], cond, at)
        if k < top:
            down = conv_run(cache, self.down_ul[k], sizes[k])
            down.write(pushes[-1], i, j)
            if i % 2 == 0 and j % 2 == 0:  # the coarser window ends here
                self._ul_position(k + 1, i // 2, j // 2, down.position(i // 2, j // 2), cond, cache, state)
            start = transposed_run(cache, self.up_ul[k], sizes[k]).position(i, j)
        else:
            start = pushes.pop()
        ul = self._ul_up(k, start, [u[..., j : j + 1] for u in state["u_up"][k]], pushes, cond, at)
        if k:
            transposed_run(cache, self.up_ul[k - 1], sizes[k - 1]).write_position(ul, i, j)
        return ul


def level_sizes(size: tuple[int, int], levels: int) -> list[tuple[int, int]]:
    """Map sizes of each resolution: ``(7, 5)`` -> ``[(7, 5), (4, 3), (2, 2)]``."""
    sizes = [tuple(size)]
    for _ in range(levels - 1):
        h, w = sizes[-1]
        sizes.append((-(-h // 2), -(-w // 2)))
    return sizes
