"""Building blocks: masks, masked convolutions, per-position layers, the step protocol."""

from pixelcnn.nn.conv import MaskedConv2d
from pixelcnn.nn.layers import GroupedLayerNorm, gate, make_norm, scale_levels
from pixelcnn.nn.masks import channel_groups, colour_mask, conv_mask, spatial_mask, support_box
from pixelcnn.nn.step import Cache, Step

__all__ = [
    "Cache",
    "GroupedLayerNorm",
    "MaskedConv2d",
    "Step",
    "channel_groups",
    "colour_mask",
    "conv_mask",
    "gate",
    "make_norm",
    "scale_levels",
    "spatial_mask",
    "support_box",
]
