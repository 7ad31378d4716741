"""Masks that make convolutions causal in the PixelCNN ordering.

Sub-pixels are ordered row by row (top to bottom), pixel by pixel (left to
right) and, inside a pixel, colour by colour (R, then G, then B). A masked
convolution zeroes every weight that would let an output see an input at or
after its own position in that order (van den Oord et al. 2016, "Pixel
Recurrent Neural Networks", section 3.4).

Three pure functions build the masks; :class:`pixelcnn.nn.MaskedConv2d` keeps
the result in a buffer and multiplies it into the weight on every forward pass.
"""

from __future__ import annotations

import torch

from pixelcnn.errors import ConfigError

SPATIAL_KINDS = ("A", "B", "V", "full")


def spatial_mask(kernel: int | tuple[int, int], kind: str) -> torch.Tensor:
    """Which kernel taps an output may read, as a bool tensor ``[kh, kw]``.

    ``kernel`` is an odd size or an odd ``(kh, kw)`` pair; the output sits at
    the centre tap ``(kh // 2, kw // 2)``. For a 5x5 kernel (``#`` = 1)::

        kind "A"         kind "B"         kind "V"         kind "full"
        # # # # #        # # # # #        # # # # #        # # # # #
        # # # # #        # # # # #        # # # # #        # # # # #
        # # . . .        # # # . .        # # # # #        # # # # #
        . . . . .        . . . . .        . . . . .        # # # # #
        . . . . .        . . . . .        . . . . .        # # # # #

    "A" excludes the centre (first layer: a sub-pixel must not see itself),
    "B" includes it (later layers: the centre holds earlier information).
    "V" is the vertical stack of Gated PixelCNN: all rows up to and including
    the centre row; its output is shifted down one row before a causal stack
    reads it. A ``1 x k`` kernel gives the horizontal stack (left part of a
    row); a ``k x 1`` kernel gives a column. For the centre tap of "A" and
    "B" the colour rule of :func:`colour_mask` applies on top.
    """
    kh, kw = _pair(kernel)
    mask = torch.zeros(kh, kw, dtype=torch.bool)
    ch, cw = kh // 2, kw // 2
    if kind == "full":
        mask[:] = True
    elif kind == "V":
        mask[: ch + 1] = True
    elif kind in ("A", "B"):
        mask[:ch] = True
        mask[ch, :cw] = True
        mask[ch, cw] = kind == "B"
    else:
        raise ConfigError(f"unknown mask kind {kind!r}; expected one of {SPATIAL_KINDS}")
    return mask


def channel_groups(channels: int, groups: int, what: str = "channels") -> torch.Tensor:
    """Colour group of each channel, as a long tensor ``[channels]``.

    Channels are split into ``groups`` contiguous blocks of equal size: with
    6 channels and 3 colours the groups are ``[0, 0, 1, 1, 2, 2]`` (R, R, G,
    G, B, B). The split must be exact so every colour gets the same width.
    """
    if groups < 1:
        raise ConfigError(f"the number of colour groups must be >= 1, got {groups}")
    if channels % groups:
        raise ConfigError(
            f"{what} = {channels} is not divisible by the {groups} colour channels; "
            f"use a multiple of {groups}"
        )
    return torch.arange(channels) // (channels // groups)


def colour_mask(in_channels: int, out_channels: int, groups: int, kind: str) -> torch.Tensor:
    """Which input channels an output channel may read at the centre tap.

    Returns a bool tensor ``[out_channels, in_channels]``. With ``groups``
    colours, output group ``c`` sees input groups ``< c`` (kind "A") or
    ``<= c`` (kind "B"). For 3 colours and one channel per group::

        kind "A"   in: R G B       kind "B"   in: R G B
        out R          . . .       out R          # . .
        out G          # . .       out G          # # .
        out B          # # .       out B          # # #

    With one group (grayscale), "A" hides the centre and "B" shows it.
    """
    g_out = channel_groups(out_channels, groups, "output channels")
    g_in = channel_groups(in_channels, groups, "input channels")
    if kind == "A":
        return g_out[:, None] > g_in[None, :]
    if kind == "B":
        return g_out[:, None] >= g_in[None, :]
    raise ConfigError(f"colour masks are of kind 'A' or 'B', got {kind!r}")


def conv_mask(
    in_channels: int,
    out_channels: int,
    kernel: int | tuple[int, int],
    kind: str,
    groups: int = 1,
) -> torch.Tensor:
    """The full weight mask ``[out_channels, in_channels, kh, kw]`` as floats.

    Taps before the centre are open to every channel, taps after it are
    closed, and the centre tap follows :func:`colour_mask`. Kinds "V" and
    "full" do not split channels by colour (everything they read comes from
    earlier rows, or they are not causal at all).
    """
    spatial = spatial_mask(kernel, kind)
    kh, kw = spatial.shape
    mask = spatial.expand(out_channels, in_channels, kh, kw).clone()
    if kind in ("A", "B"):
        mask[:, :, kh // 2, kw // 2] = colour_mask(in_channels, out_channels, groups, kind)
    return mask.float()


def support_box(taps: torch.Tensor) -> tuple[int, int, int, int]:
    """Reach of a kernel around its centre: ``(top, bottom, left, right)``.

    ``taps`` is a bool ``[kh, kw]`` of taps open for at least one channel pair
    (``conv_mask(...).flatten(0, 1).any(0)``). The result counts the rows above
    / below and the columns left / right of the centre that the kernel reads;
    the centre itself is always inside the box. A masked convolution only needs
    this box of its kernel, so it pads and convolves with the box alone.
    """
    kh, kw = taps.shape
    rows = taps.any(dim=1).nonzero().flatten().tolist() + [kh // 2]
    cols = taps.any(dim=0).nonzero().flatten().tolist() + [kw // 2]
    ch, cw = kh // 2, kw // 2
    return ch - min(rows), max(rows) - ch, cw - min(cols), max(cols) - cw


def _pair(kernel: int | tuple[int, int]) -> tuple[int, int]:
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else tuple(kernel)
    if kh < 1 or kw < 1 or kh % 2 == 0 or kw % 2 == 0:
        raise ConfigError(f"kernel sizes must be odd and positive, got {kh}x{kw}")
    return kh, kw
