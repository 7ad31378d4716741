"""Per-pixel negative log-likelihood drawn as a heat map beside its image, with a colour bar in bits.

Picture, left to right: the image, its map (``-log2 p`` of each pixel given
the pixels before it, dark = expected, bright = surprising) and a colour bar
labelled in bits, under an optional title line. Drawn with Pillow; the
colour scale is a fixed ramp from black through purple, red and orange to
pale yellow, so that brightness grows with the value (readable in gray too).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from pixelcnn.errors import ConfigError
from pixelcnn.images import enlarge, font, save_png, text_width, to_picture

RAMP = np.array([(0, 0, 4), (60, 15, 110), (140, 40, 110), (210, 70, 70), (245, 140, 30), (252, 250, 170)],
                dtype=np.float64)  # anchor colours, evenly spaced from 0 to the top of the scale


def colourise(values: np.ndarray, top: float) -> np.ndarray:
    """float ``[...]`` in ``[0, top]`` -> uint8 RGB ``[..., 3]`` along :data:`RAMP` (clipped outside)."""
    t = np.clip(np.asarray(values, dtype=np.float64) / max(top, 1e-12), 0.0, 1.0) * (len(RAMP) - 1)
    low = np.minimum(np.floor(t).astype(int), len(RAMP) - 2)
    frac = (t - low)[..., None]
    return np.round(RAMP[low] * (1 - frac) + RAMP[low + 1] * frac).astype(np.uint8)


def heatmap_picture(image: torch.Tensor, bits: torch.Tensor, *, top: float | None = None, scale: int = 8,
                    title: str = "") -> Image.Image:
    """The picture for one image.

    Args:
        image: uint8 ``[C, H, W]`` (C = 1 or 3), as it is shown.
        bits: ``[H, W]``, ``-log2 p`` of each pixel.
        top: the value drawn brightest (default: the map's largest value);
            give several pictures one ``top`` to compare them.
        scale: screen pixels per image pixel.
        title: a line above the panels.
    """
    if scale < 1:
        raise ConfigError(f"scale must be >= 1, got {scale}")
    values = bits.detach().double().cpu().numpy()
    top = float(values.max()) if top is None else float(top)
    top = top if top > 0 else 1.0
    h, w = values.shape
    ph, pw = h * scale, w * scale
    small = font(12)
    margin, gap, bar = 8, 8, 14
    head = 20 if title else 0
    labels = [f"{top * k / 4:.2f}" for k in range(5)]
    label_w = max(int(text_width(t, small)) for t in labels + ["bits"])
    width = margin + pw + gap + pw + gap + bar + 4 + label_w + margin
    size = (max(width, 2 * margin + int(text_width(title, small))), margin + head + ph + 16 + margin)
    picture = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(picture)
    if title:
        draw.text((margin, margin), title, fill=(0, 0, 0), font=small)
    top_y = margin + head
    picture.paste(enlarge(to_picture(image).convert("RGB"), scale), (margin, top_y))
    x_map = margin + pw + gap
    picture.paste(enlarge(Image.fromarray(colourise(values, top)), scale), (x_map, top_y))
    x_bar = x_map + pw + gap
    ramp = colourise(np.linspace(top, 0, ph)[:, None].repeat(bar, 1), top)  # [ph, bar, 3], top value at the top
    picture.paste(Image.fromarray(ramp), (x_bar, top_y))
    draw.rectangle([x_bar, top_y, x_bar + bar - 1, top_y + ph - 1], outline=(0, 0, 0))
    for k, text in enumerate(labels):
        y = top_y + ph - 1 - round(k * (ph - 1) / 4)
        draw.line([x_bar + bar, y, x_bar + bar + 3, y], fill=(0, 0, 0))
        draw.text((x_bar + bar + 5, y - 6), text, fill=(0, 0, 0), font=small)
    draw.text((x_bar, top_y + ph + 2), "bits", fill=(0, 0, 0), font=small)
    return picture


def save_heatmap(path: str | Path, image: torch.Tensor, bits: torch.Tensor, **options) -> Path:
    """Write :func:`heatmap_picture` as a PNG; returns the path."""
    return save_png(heatmap_picture(image, bits, **options), path)
