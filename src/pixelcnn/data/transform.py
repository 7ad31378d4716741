"""Changing the number of channels and the size of images.

Resizing, the same for every source: centre-crop the largest box with the
aspect ratio of the target size, then resize it to the target size with
Pillow (bilinear, antialiased when shrinking; nearest for binary sets, so
that they stay binary). RGB to gray uses Pillow's ITU-R 601-2 luma,
``L = (19595 R + 38470 G + 7471 B + 32768) >> 16``; gray to RGB repeats the plane.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from pixelcnn.errors import DataError


def fit_image(
    image: Image.Image, size: tuple[int, int], resample: int = Image.Resampling.BILINEAR
) -> Image.Image:
    """Centre-crop ``image`` to the aspect ratio of ``size = (H, W)``, then resize to it."""
    h, w = size
    width, height = image.size
    if (height, width) == (h, w):
        return image
    if width * h > height * w:  # too wide: crop columns
        crop = max(1, (height * w + h // 2) // h)
        left = (width - crop) // 2
        box = (left, 0, left + crop, height)
    else:  # too tall: crop rows
        crop = max(1, (width * h + w // 2) // w)
        top = (height - crop) // 2
        box = (0, top, width, top + crop)
    return image.resize((w, h), resample=resample, box=box)


def resize_images(
    images: torch.Tensor, size: tuple[int, int], *, binary: bool = False
) -> torch.Tensor:
    """uint8 ``[N, C, H, W]`` → uint8 ``[N, C, *size]`` by :func:`fit_image`, plane by plane."""
    check_size(size)
    n, c, h, w = images.shape
    if (h, w) == tuple(size):
        return images
    resample = Image.Resampling.NEAREST if binary else Image.Resampling.BILINEAR
    planes = images.reshape(n * c, h, w).numpy()
    out = np.empty((n * c, *size), np.uint8)
    for i, plane in enumerate(planes):
        out[i] = np.asarray(fit_image(Image.fromarray(plane, "L"), size, resample))
    return torch.from_numpy(out).reshape(n, c, *size)


def to_channels(images: torch.Tensor, channels: int) -> torch.Tensor:
    """uint8 ``[N, C, H, W]`` → uint8 ``[N, channels, H, W]`` (C and channels in 1, 3)."""
    c = images.shape[1]
    if channels not in (1, 3):
        raise DataError(f"channels must be 1 (gray) or 3 (RGB), got {channels}")
    if c == channels:
        return images
    if c == 1:
        return images.expand(-1, 3, -1, -1).contiguous()
    if c == 3:
        return luma(images)
    raise DataError(f"cannot convert images with {c} channels to {channels}")


def luma(images: torch.Tensor) -> torch.Tensor:
    """uint8 RGB ``[N, 3, H, W]`` → gray ``[N, 1, H, W]``, exactly as Pillow's ``convert("L")``."""
    out = torch.empty((len(images), 1, *images.shape[2:]), dtype=torch.uint8)
    for start in range(0, len(images), 4096):  # chunks bound the int32 temporaries
        r, g, b = images[start : start + 4096].to(torch.int32).unbind(1)
        out[start : start + 4096, 0] = ((19595 * r + 38470 * g + 7471 * b + 32768) >> 16).to(
            torch.uint8
        )
    return out


def check_size(size: tuple[int, int]) -> None:
    """Raise DataError unless ``size`` is ``(H, W)`` of two positive ints."""
    if len(size) != 2 or not all(isinstance(s, int) and s > 0 for s in size):
        raise DataError(f"image_size must be (height, width) of positive integers, got {size}")
