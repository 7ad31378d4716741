"""Which input sub-pixels the distribution of one sub-pixel depends on, found by gradients.

The receptive field of sub-pixel ``(c, i, j)`` is the set of input sub-pixels
with a non-zero gradient of its log-probabilities. Masks confine it to the
past (rows above, pixels to the left, earlier colours of the same pixel); the
kernel sizes and the depth bound how far into the past it can extend (the
*reach*); and a stack of mask-B convolutions leaves a *blind spot* inside that
reach: the wedge above and to the right of the pixel that no path of causal
kernels enters (van den Oord et al. 2016b, "Conditional Image Generation with
PixelCNN Decoders", figure 1). Gated PixelCNN's vertical and horizontal stacks
remove it. ``receptive_field("pixelcnn", (6, 6), size=(8, 13), layers=2)``
(a 7x7 mask A, then two residual blocks with 3x3 mask B)::

    - - - - - - - - - - - - -      #  seen: non-zero gradient
    - # # # # # # # # # # # -      o  blind spot: earlier, within reach, not seen
    - # # # # # # # # # # # -      -  out of reach: earlier, beyond the kernels' extent
    - # # # # # # # # # # # -      X  the target sub-pixel
    - # # # # # # # # # # o -      .  future: at or after the target
    - # # # # # # # # # o o -      !  leak: a future sub-pixel that is seen
    - # # # # # X . . . . . .         (a causality bug; never expected)
    . . . . . . . . . . . . .

Method: one backward pass of ``w . params(c, i, j)`` (random ``w``; the
parameters of the likelihood's step that draws sub-pixel ``c`` of pixel
``(i, j)``) through a float64 copy of the network, for a batch of random level
images; a sub-pixel is seen if its gradient is non-zero for any image (one
image may switch a ReLU off or saturate a gate). A preset name gets random
weights (every parameter ~ N(0, 0.5^2)), so the result is the structure of the
architecture; a model object keeps its weights, so the result is what those
weights do. A tiny network (a channel or two per colour) may need more
``inputs`` before every path shows. The reach is the same computation with every mask of every
:class:`~pixelcnn.nn.MaskedConv2d` opened (its kernel box, no longer causal),
restricted to the past.

A likelihood that draws several colours in one step (the logistic mixture
draws a whole pixel) makes each colour depend on the earlier colours of its
step through the likelihood itself, not the network; those are marked seen.

Not implemented: gradient magnitudes (only zero / non-zero are reported) and
conditioning inputs (labels and vectors only add biases, so they change no
dependence on the image).
"""

from __future__ import annotations

import copy
import math
import operator
from dataclasses import dataclass
from pathlib import Path

import torch

from pixelcnn.errors import ConfigError, PixelCNNError
from pixelcnn.models.config import likelihood_of
from pixelcnn.nn.inputs import subpixel_gradient

FUTURE, OUT_OF_REACH, BLIND, SEEN, TARGET, LEAK = range(6)
KINDS = ("future", "out of reach", "blind spot", "seen", "target", "leak")
SYMBOLS = ".-o#X!"
COLOURS = (  # RGB of each kind in the picture
    (255, 255, 255),  # future: white
    (214, 214, 214),  # out of reach: light grey
    (247, 148, 29),  # blind spot: orange
    (44, 90, 160),  # seen: dark blue
    (214, 39, 40),  # target: red
    (204, 0, 204),  # leak: magenta
)
GRID_LINE = (150, 150, 150)
LEGEND = (SEEN, BLIND, OUT_OF_REACH, TARGET, FUTURE)  # the kinds explained below a picture and a text


@dataclass(frozen=True)
class ReceptiveField:
    """What sub-pixel ``(channel, *pixel)`` sees.

    ``seen``: bool ``[C, H, W]``, non-zero gradient; ``reach``: bool ``[C, H, W]``,
    the past sub-pixels the unmasked kernels extend to (always includes the
    seen past ones).
    """

    seen: torch.Tensor
    reach: torch.Tensor
    pixel: tuple[int, int]
    channel: int

    @property
    def earlier(self) -> torch.Tensor:
        """bool ``[C, H, W]``: every sub-pixel before the target (the most a causal model may see)."""
        return earlier(tuple(self.seen.shape), self.pixel, self.channel)

    @property
    def blind(self) -> torch.Tensor:
        """bool ``[C, H, W]``: earlier sub-pixels within reach that are not seen."""
        return self.reach & ~self.seen

    def kinds(self) -> torch.Tensor:
        """uint8 ``[C, H, W]``: the kind of every cell (FUTURE, OUT_OF_REACH, BLIND, SEEN, TARGET, LEAK)."""
        past = self.earlier
        out = torch.full(self.seen.shape, FUTURE, dtype=torch.uint8)
        out[past] = OUT_OF_REACH
        out[self.reach] = BLIND
        out[self.seen & past] = SEEN
        out[self.seen & ~past] = LEAK
        out[(self.channel, *self.pixel)] = LEAK if self.seen[(self.channel, *self.pixel)] else TARGET
        return out

    def counts(self) -> dict:
        """Sub-pixel counts: ``earlier`` (before the target), ``within_reach``, ``seen``,
        ``blind``, ``out_of_reach`` (all among the earlier ones) and ``leaks`` (seen, not earlier)."""
        past = self.earlier
        n = lambda t: int(t.sum())  # noqa: E731
        return {"earlier": n(past), "within_reach": n(self.reach), "seen": n(self.seen & past),
                "blind": n(self.blind), "out_of_reach": n(past & ~self.reach), "leaks": n(self.seen & ~past)}

    def summary(self) -> str:
        """One line, e.g. ``seen 351 of 406 earlier sub-pixels; blind spot: 55; out of reach: 0``."""
        k = self.counts()
        line = (f"seen {k['seen']} of {k['earlier']} earlier sub-pixels; blind spot: {k['blind']}; "
                f"out of reach: {k['out_of_reach']}")
        return line + (f"; LEAKS (seen at or after the target): {k['leaks']}" if k["leaks"] else "")


def receptive_field(model, pixel: tuple[int, int], channel: int = 0, *, size=None, inputs: int = 4,
                    generator: torch.Generator | None = None, **overrides) -> ReceptiveField:
    """The receptive field of sub-pixel ``(channel, *pixel)``, by gradients.

    Args:
        model: a preset name (built with ``overrides``, e.g. ``in_channels=3``,
            and random weights) or an :class:`~pixelcnn.models.model.AutoregressiveModel`
            (its weights as they are; it is copied, never modified).
        pixel: ``(i, j)``, row and column of the target.
        channel: colour of the target, in ``[0, C)``.
        size: ``(H, W)`` or an int; default the model's image size.
        inputs: random level images whose gradients are pooled.
        generator: randomness of the inputs (and of a preset's weights); default seed 0.

    Runs on the CPU in float64: one forward and backward pass for the field and one for the reach.
    """
    if inputs < 1:
        raise ConfigError(f"inputs must be at least 1, got {inputs}")
    g = generator if generator is not None else torch.Generator().manual_seed(0)
    network, config = _probe_network(model, size, overrides, g)
    h, w = _size(size, config.image_size)
    shape = (config.in_channels, h, w)
    pixel, channel = _check_target(shape, pixel, channel)
    block = _block(likelihood_of(config), channel)
    x = torch.randint(0, config.levels, (inputs, *shape), generator=g)  # [N, C, H, W] levels
    weights = torch.randn(block[1].stop - block[1].start, generator=g, dtype=torch.float64)  # [P / G]
    seen = _dependence(network, x, pixel, block, weights)
    _open_masks(network)
    past = earlier(shape, pixel, channel)
    reach = (_dependence(network, x, pixel, block, weights) | seen) & past
    return ReceptiveField(seen=seen, reach=reach, pixel=pixel, channel=channel)


def _block(likelihood, channel: int) -> tuple[slice, slice]:
    """The colours drawn with ``channel`` in one step and the parameter channels of that
    step (the likelihood's causal group)."""
    g = channel // (likelihood.colours // likelihood.groups)
    return slice(likelihood.group_colours(g).start, channel), likelihood.group_params(g)


def earlier(shape: tuple[int, int, int], pixel: tuple[int, int], channel: int) -> torch.Tensor:
    """bool ``[C, H, W]``: the sub-pixels before ``(channel, *pixel)`` in raster order
    (rows above, pixels to the left, colours ``< channel`` of the pixel itself)."""
    c, h, w = shape
    i, j = pixel
    order = torch.arange(h * w).view(h, w)  # [H, W] raster index of each pixel
    out = (order < i * w + j).expand(c, h, w).clone()
    out[:channel, i, j] = True
    return out


def render_text(field: ReceptiveField) -> str:
    """The field as characters, one line per row, cells separated by spaces
    (``#`` seen, ``o`` blind spot, ``-`` out of reach, ``X`` target, ``.`` future,
    ``!`` leak), a titled block per colour when C > 1, then a legend line."""
    kinds = field.kinds()  # [C, H, W]
    blocks = []
    for c in range(kinds.shape[0]):
        rows = [" ".join(SYMBOLS[k] for k in row.tolist()) for row in kinds[c]]
        title = [f"{_channel_name(c, kinds.shape[0])}:"] if kinds.shape[0] > 1 else []
        blocks.append("\n".join(title + rows))
    legend = "  ".join(f"{SYMBOLS[k]} {KINDS[k]}" for k in LEGEND)
    return "\n\n".join(blocks) + "\n" + legend


def render_png(field: ReceptiveField, path: str | Path, *, scale: int = 16, legend: bool = True,
               title: str | None = None) -> Path:
    """Write :func:`field_picture` as a PNG (atomically, its folder made if missing); returns the path."""
    from pixelcnn.images import save_png

    return save_png(field_picture(field, scale=scale, legend=legend, title=title), path)


def field_picture(field: ReceptiveField, *, scale: int = 16, legend: bool = True, title: str | None = None):
    """Draw the field as a grid of ``scale``-pixel cells, like the mask pictures of tutorials (a Pillow picture).

    Layout, top to bottom, inside a ``scale``-pixel margin: ``title`` (a
    ``scale``-high band, if given); the colour names (a ``scale``-high band,
    if C > 1); one panel of ``H x W`` cells per colour, side by side ``scale``
    pixels apart, each ``W * scale + 1`` wide and ``H * scale + 1`` high
    (1-pixel grid lines); with ``legend``, a ``2 * scale``-high legend band.
    The picture widens to fit its texts. The target pixel is outlined in red
    on every panel. Colours: :data:`COLOURS`.
    """
    from PIL import Image, ImageDraw

    from pixelcnn.images import font, text_width

    if scale < 4:
        raise ConfigError(f"scale must be at least 4 pixels per cell, got {scale}")
    kinds = field.kinds()  # [C, H, W]
    c, h, w = kinds.shape
    small = font(max(8, scale * 3 // 4))
    panel = (w * scale + 1, h * scale + 1)
    bands = [text for text in (title,) if text] + (["colours"] if c > 1 else [])
    top = scale * (1 + len(bands))
    needed = [c * panel[0] + (c - 1) * scale, text_width(title or "", small)]
    if legend:
        needed.append(sum(2 * scale + 4 + text_width(KINDS[k], small) for k in LEGEND) - scale)
    size = (2 * scale + math.ceil(max(needed)), top + panel[1] + scale + (2 * scale if legend else 0))
    picture = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(picture)
    if title:
        _text(draw, (scale, scale), scale, title, small)
    for ch in range(c):
        left = scale + ch * (panel[0] + scale)
        if c > 1:
            _text(draw, (left, top - scale), scale, _channel_name(ch, c), small)
        _draw_panel(draw, kinds[ch], (left, top), scale, field.pixel)
    if legend:
        x, y = scale, top + panel[1] + scale // 2
        for k in LEGEND:
            draw.rectangle([x, y, x + scale, y + scale], fill=COLOURS[k], outline=GRID_LINE)
            x = _text(draw, (x + scale + 4, y), scale, KINDS[k], small) + scale
    return picture


def _draw_panel(draw, kinds: torch.Tensor, corner: tuple[int, int], scale: int, pixel: tuple[int, int]) -> None:
    """One colour: ``kinds`` uint8 ``[H, W]`` as filled cells with grid lines, the target pixel outlined."""
    left, top = corner
    for i, row in enumerate(kinds.tolist()):
        for j, kind in enumerate(row):
            x, y = left + j * scale, top + i * scale
            draw.rectangle([x, y, x + scale, y + scale], fill=COLOURS[kind], outline=GRID_LINE)
    x, y = left + pixel[1] * scale, top + pixel[0] * scale
    draw.rectangle([x, y, x + scale, y + scale], outline=COLOURS[TARGET], width=max(1, scale // 8))


def _text(draw, corner: tuple[int, int], height: int, text: str, font) -> int:
    """Write ``text`` centred vertically in a band ``height`` high; returns the x where it ends."""
    x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font)
    draw.text((corner[0], corner[1] + (height - (y1 - y0)) // 2 - y0), text, fill=(0, 0, 0), font=font)
    return corner[0] + int(draw.textlength(text, font=font))


def _probe_network(model, size, overrides: dict, g: torch.Generator):
    """A float64 CPU copy of the network to differentiate, and its config."""
    from pixelcnn.models import create_model

    if isinstance(model, str):
        if size is not None:
            overrides = {**overrides, "image_size": size}
        with torch.random.fork_rng(devices=[]):  # the initialisation must not move the caller's global RNG
            network = create_model(model, **overrides).network.double()
        with torch.no_grad():
            for p in network.parameters():
                p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.5)
    elif hasattr(model, "network") and hasattr(model, "config"):
        if overrides:
            raise ConfigError(f"settings {sorted(overrides)} apply to a preset name, not to a built model")
        network = copy.deepcopy(model.network).to("cpu", torch.float64)
    else:
        raise ConfigError(f"model must be a preset name or a pixelcnn model, got {type(model).__name__}")
    return network.eval().requires_grad_(False), getattr(model, "config", None) or network.config


def _dependence(network, x: torch.Tensor, pixel, block: tuple[slice, slice], weights: torch.Tensor) -> torch.Tensor:
    """bool ``[C, H, W]``: inputs with a non-zero gradient of ``weights . params[:, block, i, j]``
    for any of the images ``x`` ``[N, C, H, W]`` (levels), taken at the input encoder's output,
    plus the colours of the same step before the target, which the likelihood itself reads
    (``block[0]``)."""
    grad = subpixel_gradient(network, x, lambda params: (params[:, block[1], pixel[0], pixel[1]] * weights).sum())
    if not torch.isfinite(grad).all():
        raise PixelCNNError("the gradients overflowed (non-finite); the model's weights are too large to probe")
    seen = (grad != 0).any(0)
    seen[block[0], pixel[0], pixel[1]] = True
    return seen


def _open_masks(network) -> None:
    """Open every mask (within each kernel's box), so gradients show the kernels' extent."""
    from pixelcnn.nn import MaskedConv2d

    for module in network.modules():
        if isinstance(module, MaskedConv2d):
            module.mask.fill_(1.0)


def _size(size, default: tuple[int, int]) -> tuple[int, int]:
    if size is None:
        return tuple(default)
    hw = (size, size) if isinstance(size, int) else tuple(size)
    if len(hw) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in hw):
        raise ConfigError(f"size must be a positive int or (H, W), got {size!r}")
    return hw


def _check_target(shape, pixel, channel) -> tuple[tuple[int, int], int]:
    c, h, w = shape
    try:
        i, j = (operator.index(v) for v in pixel)
        channel = operator.index(channel)
    except (TypeError, ValueError):
        raise ConfigError(f"pixel must be two integers (row, column) and channel an integer, "
                          f"got pixel={pixel!r}, channel={channel!r}") from None
    if not (0 <= i < h and 0 <= j < w):
        raise ConfigError(f"pixel ({i}, {j}) is outside the {h}x{w} image (rows 0..{h - 1}, columns 0..{w - 1})")
    if not 0 <= channel < c:
        raise ConfigError(f"channel {channel} is out of range: the model has {c} colour channel(s) (0..{c - 1})")
    return (i, j), channel


def _channel_name(c: int, channels: int) -> str:
    return f"channel {c} ({'RGB'[c]})" if channels == 3 else f"channel {c}"
