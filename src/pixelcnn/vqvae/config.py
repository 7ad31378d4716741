"""The VQ-VAE's frozen config, its named presets, and the sizes of its code maps.

One level (van den Oord et al. 2017) has a bottom map only; two levels
(Razavi et al. 2019, VQ-VAE-2) add a top map, coarser by the ratio of the
strides. A map at stride ``s`` of an ``H x W`` image is ``ceil(H / s) x
ceil(W / s)``: every halving rounds up (:func:`map_size`), so odd sizes work
(28 x 28 at strides 4 and 8: a 7 x 7 bottom and a 4 x 4 top map).

Every field's type and range is checked by :func:`~pixelcnn.coerce.check_fields`
(one line naming the field, the value and what is allowed), then how the
strides combine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pixelcnn.coerce import at_least, between, check_fields, one_of
from pixelcnn.config import setting
from pixelcnn.errors import ConfigError
from pixelcnn.levels import MAX_LEVELS
from pixelcnn.models.config import make_config, replace_config
from pixelcnn.models.registry import Preset


@dataclass(frozen=True)
class VQVAEConfig:
    """Settings of :class:`~pixelcnn.vqvae.model.VQVAE`.

    ``hidden``: width of the encoder and decoder stacks; ``res_blocks`` residual
    blocks (ReLU, 3x3 to ``res_hidden``, ReLU, 1x1 back) end each stack.
    ``maps``: 1 (bottom only) or 2 (bottom and top). ``bottom_codes`` and
    ``top_codes``: codebook sizes K; ``code_dim``: the length of a code vector.
    ``bottom_stride``: the bottom map's stride from the image, a power of 2;
    ``top_stride``: the top map's, a larger power of 2 (unused with one map).
    ``beta``: weight of the commitment loss. ``decay``: the codebooks' moving
    average; a code whose average count of vectors per batch falls below
    ``restart_below`` restarts at a vector of the batch (0: never). The threshold
    is well below a code's share of a batch's vectors (CIFAR-10 at batch 32: 2,048
    bottom and 512 top vectors for 512 codes each): near that share, codes in
    ordinary use keep restarting, the top codes never settle and the decoder
    learns to do without them.
    ``in_channels`` and ``image_size`` come from the data.
    """

    ARCH = "vqvae"
    in_channels: int = setting(3, at_least(1))
    image_size: tuple[int, int] = setting((32, 32), at_least(1))
    hidden: int = setting(128, at_least(2))
    res_blocks: int = setting(2, at_least(0))
    res_hidden: int = setting(32, at_least(1))
    maps: int = setting(2, one_of(1, 2))
    bottom_codes: int = setting(512, between(2, MAX_LEVELS))
    top_codes: int = setting(512, between(2, MAX_LEVELS))
    code_dim: int = setting(64, at_least(1))
    bottom_stride: int = setting(4, at_least(2))
    top_stride: int = setting(8, at_least(4))
    beta: float = setting(0.25, at_least(0.0))
    decay: float = setting(0.99, between(0.0, 1.0, low_open=True, high_open=True))
    restart_below: float = setting(0.1, at_least(0.0, "0: no restarts"))

    def __post_init__(self):
        check_fields(self, self.ARCH)
        for name in ("bottom_stride", "top_stride"):
            if not _power_of_two(getattr(self, name)):
                raise ConfigError(f"{self.ARCH}.{name} must be a power of 2, got {getattr(self, name)}")
        if self.maps == 2 and self.top_stride <= self.bottom_stride:
            raise ConfigError(f"{self.ARCH}.top_stride ({self.top_stride}) must be larger than bottom_stride "
                              f"({self.bottom_stride}): the top map is the coarser one")

    @property
    def map_names(self) -> tuple[str, ...]:
        """The code maps, coarsest first: ("top", "bottom") or ("bottom",)."""
        return ("top", "bottom") if self.maps == 2 else ("bottom",)

    def codes(self, name: str) -> int:
        """K of map ``name``."""
        return self.top_codes if name == "top" else self.bottom_codes

    def stride(self, name: str) -> int:
        """The stride of map ``name`` from the image."""
        return self.top_stride if name == "top" else self.bottom_stride

    def map_shape(self, name: str) -> tuple[int, int]:
        """``(h, w)`` of map ``name``."""
        return tuple(map_size(s, self.stride(name)) for s in self.image_size)


def map_size(size: int, stride: int) -> int:
    """The length of a side of ``size`` after log2(``stride``) halvings that round up: ceil(size / stride)."""
    for _ in range(int(math.log2(stride))):
        size = -(-size // 2)
    return size


def _power_of_two(n: int) -> bool:
    return n >= 1 and n & (n - 1) == 0


PRESETS: dict[str, Preset] = {
    "vqvae": Preset(VQVAEConfig(), "VQ-VAE-2 (Razavi et al. 2019): a bottom map at stride 4 and a top map at "
                                   "stride 8, EMA codebooks of 512 codes, residual conv stacks of width 128"),
}


def vqvae_config(name: str, **overrides) -> VQVAEConfig:
    """The config of VQ-VAE preset ``name`` with ``overrides`` applied (checked)."""
    if name not in PRESETS:
        raise ConfigError(f"unknown VQ-VAE {name!r}; known: {', '.join(PRESETS)}")
    return replace_config(PRESETS[name].config, **overrides) if overrides else PRESETS[name].config


def config_from_dict(data: dict) -> VQVAEConfig:
    """A config from its JSON form (``config_to_dict``'s, with ``"arch": "vqvae"``)."""
    data = dict(data)
    arch = data.pop("arch", None)
    if arch != VQVAEConfig.ARCH:
        raise ConfigError(f"not a VQ-VAE config (arch {arch!r})")
    return make_config(VQVAEConfig, data)
