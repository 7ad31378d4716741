"""Saving images: sample grids as PNG, uint8 arrays as ``.npz``."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from pixelcnn import atomic


def make_grid(images: torch.Tensor, nrow: int | None = None, pad: int = 2) -> np.ndarray:
    """uint8 ``[N, C, H, W]`` (C = 1 or 3) -> one uint8 image ``[rows*(H+pad)+pad, ..., C]``."""
    n, c, h, w = images.shape
    nrow = nrow or max(1, math.ceil(math.sqrt(n)))
    rows = max(1, math.ceil(n / nrow))
    grid = np.full((rows * (h + pad) + pad, nrow * (w + pad) + pad, c), 255, dtype=np.uint8)
    arr = images.permute(0, 2, 3, 1).cpu().numpy()
    for k in range(n):
        r, q = divmod(k, nrow)
        top, left = pad + r * (h + pad), pad + q * (w + pad)
        grid[top : top + h, left : left + w] = arr[k]
    return grid


def grid_bytes(n: int, c: int, h: int, w: int, nrow: int | None = None, scale: int = 1, pad: int = 2) -> int:
    """Memory of :func:`save_grid`'s picture of ``n`` images ``[C, H, W]``: the grid and its enlarged copy."""
    nrow = nrow or max(1, math.ceil(math.sqrt(n)))
    rows = max(1, math.ceil(n / nrow))
    pixels = (rows * (h + pad) + pad) * (nrow * (w + pad) + pad)
    return pixels * c * (1 + scale * scale)


def save_grid(images: torch.Tensor, path: str | Path, nrow: int | None = None, scale: int = 1) -> Path:
    """Write uint8 ``[N, C, H, W]`` images as one PNG grid (atomically)."""
    grid = make_grid(images, nrow)
    picture = Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid)
    if scale > 1:
        picture = picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)
    return atomic.atomic_write(path, lambda f: picture.save(f, format="PNG"))


def save_npz(path: str | Path, **arrays) -> Path:
    """Write arrays (tensors are converted) to ``.npz`` (atomically)."""
    data = {k: (v.cpu().numpy() if isinstance(v, torch.Tensor) else v) for k, v in arrays.items()}
    return atomic.atomic_write(path, lambda f: np.savez_compressed(f, **data))
