"""Levels: the integers in ``[0, L)`` every model reads, and quantisation from 8-bit pixels.

This is the one place that knows how 8-bit values map to levels, and which
dtype holds levels. Level ``l`` covers the uint8 bin
``[l * 256 / L, (l + 1) * 256 / L)``, so L = 256 is the identity and L = 2
thresholds at 128. Binarisation for binary models (L = 2) comes in three
kinds: a fixed threshold, a stochastic draw made once with a fixed seed
(static) and a new draw every epoch (dynamic), each draw taking value ``v``
to 1 with probability ``v / 255``.

Two kinds of data become levels (``data.kind``): ``pixels``, uint8 values
quantised to L <= 256 levels, and ``codes``, integer maps already in
``[0, K)`` with K up to 65,536, which pass through unchanged. Levels are
stored in the narrowest dtype that holds L and that torch computes with
everywhere (:func:`level_dtype`: uint8, int16 or int32; torch's uint16 lacks
``min``, ``max`` and indexed writes on the CPU).
"""

from __future__ import annotations

import hashlib

import torch

from pixelcnn.errors import ConfigError

BINARIZE = ("none", "threshold", "static", "dynamic")
KINDS = ("pixels", "codes")
MAX_LEVELS = 65_536  # codes: K <= 2**16
MAX_PIXEL_LEVELS = 256  # pixels: 8-bit values


def check_levels(levels: int, most: int = MAX_LEVELS) -> int:
    """``levels`` if it is an integer in ``[2, most]``, else a ConfigError."""
    if not isinstance(levels, int) or isinstance(levels, bool) or not 2 <= levels <= most:
        raise ConfigError(f"levels must be an integer in [2, {most}], got {levels!r}")
    return levels


def level_dtype(levels: int) -> torch.dtype:
    """The narrowest dtype that holds the levels ``0 .. levels - 1``: uint8, int16 or int32."""
    check_levels(levels)
    if levels <= 256:
        return torch.uint8
    return torch.int16 if levels <= 2**15 else torch.int32


def to_levels(images: torch.Tensor, levels: int) -> torch.Tensor:
    """uint8 ``[..]`` in 0..255 -> long levels ``[..]`` in ``[0, levels)``, ``levels <= 256``."""
    check_levels(levels, MAX_PIXEL_LEVELS)
    if images.dtype != torch.uint8:
        raise ConfigError(f"to_levels expects uint8 images, got {images.dtype}")
    return images.long() * levels // 256


def quantise(values: torch.Tensor, levels: int, *, kind: str = "pixels", binarize: str = "none",
             seed: int = 0, epoch: int = 0, index: torch.Tensor | None = None) -> torch.Tensor:
    """Data as stored -> levels in ``[0, levels)``, dtype :func:`level_dtype`, shape unchanged.

    ``kind="pixels"``: uint8 values, binarised first unless ``binarize`` is "none"
    (see :func:`binarize` for ``seed``, ``epoch`` and ``index``), then
    :func:`to_levels`. ``kind="codes"``: already levels (checked against ``levels``
    when read, :mod:`pixelcnn.data.codes`), returned as they are.
    """
    if kind == "codes":
        return values
    if kind != "pixels":
        raise ConfigError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if binarize != "none":
        values = _binarize(values, binarize, seed=seed, epoch=epoch, index=index)
    return to_levels(values, levels).to(level_dtype(levels))


def fixed_binarize(method: str) -> str:
    """The binarisation for scoring or completing given images: a random draw would make the
    result depend on the draw, so every method but "none" becomes "threshold"."""
    return "none" if method == "none" else "threshold"


def to_uint8(levels_: torch.Tensor, levels: int, how: str = "centre") -> torch.Tensor:
    """Levels -> uint8 for display or saving.

    ``how="centre"``: the centre of each level's bin (round-trips through
    :func:`to_levels`); ``how="stretch"``: spread levels over 0..255 so the
    lowest is black and the highest white (binary images as black and white).
    """
    check_levels(levels)
    x = levels_.long()
    if how == "centre":  # the middle of the uint8 values whose level is x
        lo = (x * 256 + levels - 1) // levels
        hi = ((x + 1) * 256 + levels - 1) // levels - 1
        values = (lo + hi + 1) // 2
    elif how == "stretch":
        values = torch.round(x.double() * 255.0 / (levels - 1))
    else:
        raise ConfigError(f"how must be 'centre' or 'stretch', got {how!r}")
    return values.clamp(0, 255).to(torch.uint8)


def false_colour(codes: torch.Tensor, levels: int) -> torch.Tensor:
    """Code maps ``[N, 1, H, W]`` in ``[0, levels)`` -> uint8 RGB ``[N, 3, H, W]``, one colour per
    code: hues a golden angle apart (neighbouring codes look unlike, as their indices say
    nothing about nearness), brightness alternating over four steps."""
    check_levels(levels)
    k = codes[:, 0].long().double()
    hue = torch.remainder(k * 0.6180339887498949, 1.0) * 6  # [N, H, W] in [0, 6)
    value = 1.0 - 0.15 * torch.remainder(k, 4)
    saturation = 0.7
    rgb = []  # HSV to RGB: channel n is v - v s max(0, min(k, 4 - k, 1)) with k = (n + hue) mod 6
    for n in (5, 3, 1):
        k_n = torch.remainder(hue + n, 6)
        rgb.append(value * (1 - saturation * torch.minimum(k_n, 4 - k_n).clamp(0, 1)))
    return torch.stack(rgb, 1).mul(255).round().clamp(0, 255).to(torch.uint8)


def picture(levels_: torch.Tensor, levels: int, ordered: bool = True) -> torch.Tensor:
    """Levels -> uint8 images to look at: grey (or colour) levels stretched over 0..255, or,
    for one channel of unordered codes (a VQ-VAE's), :func:`false_colour`."""
    if not ordered and levels_.shape[1] == 1:
        return false_colour(levels_, levels)
    return to_uint8(levels_, levels, how="stretch")


def binarize(images: torch.Tensor, method: str, *, seed: int = 0, epoch: int = 0,
             index: torch.Tensor | None = None) -> torch.Tensor:
    """uint8 images -> uint8 images of 0 and 255 (so that 2 levels read them as 0 and 1).

    ``method``: "threshold" (``v >= 128``), "static" (a draw fixed by ``seed``)
    or "dynamic" (a draw fixed by ``seed`` and ``epoch``, new each epoch).
    The draw depends only on the seed, the epoch and the whole array, never on
    global random state, so a resumed run sees the same data.

    ``index``: long ``[N]``, the images' places in their split, for a split read
    batch by batch (:mod:`pixelcnn.data.source`): each image then gets its own
    draw, fixed by ``(seed, epoch, its place)``, whatever batch it comes in.
    This draw differs from the whole-array draw of the same images.
    """
    if method == "threshold":
        bits = images >= 128
    elif method in ("static", "dynamic"):
        e = epoch if method == "dynamic" else 0
        if index is None:
            g = torch.Generator().manual_seed(seed * 1_000_003 + e)
            u = torch.rand(images.shape, generator=g)
        else:
            u = torch.empty(images.shape)
            for k, i in enumerate(index.tolist()):
                g = torch.Generator().manual_seed(_image_seed(seed, e, i))
                u[k] = torch.rand(images.shape[1:], generator=g)
        bits = u * 255.0 < images.float()
    else:
        raise ConfigError(f"binarize must be one of {BINARIZE[1:]}, got {method!r}")
    return bits.to(torch.uint8) * 255


_binarize = binarize  # for :func:`quantise`, whose argument of the same name hides it


def _image_seed(seed: int, epoch: int, place: int) -> int:
    """A generator seed for one image's draw; distinct (seed, epoch, place) never share one
    in practice (SHA-256, not arithmetic that wraps between epochs of large sets)."""
    digest = hashlib.sha256(f"binarize/{seed}/{epoch}/{place}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1

