"""Images in and out of Pillow, in one place: pictures of uint8 ``[C, H, W]`` images and grids,
PNG files and bytes, reading image files, and the font the drawings label with.

The package's images are uint8 ``[C, H, W]`` with C = 1 (Pillow mode L) or 3 (RGB);
pictures are enlarged by whole factors with nearest-neighbour resampling, so every
image pixel stays a sharp square. Files are written atomically
(:mod:`pixelcnn.atomic`); a file Pillow cannot read is one :class:`~pixelcnn.errors.DataError`
line naming it. Uint8 arrays are saved as ``.npz`` here too.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from pixelcnn import atomic
from pixelcnn.errors import DataError

# what Pillow raises for a file it cannot read: missing, truncated, corrupt, not an image, a decompression bomb
READ_ERRORS = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)


def to_picture(image) -> Image.Image:
    """uint8 ``[C, H, W]`` (C = 1 or 3; a tensor or an array) -> a Pillow picture, mode L or RGB."""
    array = image.cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    return Image.fromarray(np.ascontiguousarray(array[0] if array.shape[0] == 1 else array.transpose(1, 2, 0)))


def enlarge(picture: Image.Image, scale: int) -> Image.Image:
    """``picture`` ``scale`` times as wide and high, each pixel a ``scale x scale`` square."""
    if scale <= 1:
        return picture
    return picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)


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


def grid_picture(images: torch.Tensor, nrow: int | None = None, scale: int = 1) -> Image.Image:
    """uint8 ``[N, C, H, W]`` images as one picture: :func:`make_grid`, enlarged ``scale`` times."""
    return enlarge(to_picture(make_grid(images, nrow).transpose(2, 0, 1)), scale)


def save_grid(images: torch.Tensor, path: str | Path, nrow: int | None = None, scale: int = 1) -> Path:
    """Write uint8 ``[N, C, H, W]`` images as one PNG grid (atomically)."""
    return save_png(grid_picture(images, nrow, scale), path)


def save_png(picture: Image.Image, path: str | Path) -> Path:
    """Write ``picture`` as a PNG file (atomically, its folder made if missing); returns the path."""
    return atomic.atomic_write(path, lambda f: picture.save(f, format="PNG"))


def png_bytes(picture: Image.Image, **options) -> bytes:
    """``picture`` as PNG bytes; ``options`` go to Pillow's PNG writer (``optimize``, ``compress_level``)."""
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", **options)
    return buffer.getvalue()


def open_picture(path) -> Image.Image:
    """The picture of an image file (a path or a binary file object), decoded whole, in the mode
    it is stored in; DataError naming the file when Pillow cannot read it."""
    try:
        with Image.open(path) as image:
            image.load()
            return image.copy()  # the file is closed on leaving; the copy keeps the pixels
    except READ_ERRORS as e:
        raise _unreadable(path, e) from None


def picture_header(path) -> tuple[str, tuple[int, int]]:
    """Mode and ``(H, W)`` of an image file (a path or a binary file object), from its header
    alone; DataError naming the file when Pillow cannot read it."""
    try:
        with Image.open(path) as image:
            return image.mode, (image.height, image.width)
    except READ_ERRORS as e:
        raise _unreadable(path, e) from None


def _unreadable(path, error: Exception) -> DataError:
    return DataError(f"{path}: not a readable image ({type(error).__name__}: {error})")


def font(size: int):
    """Pillow's built-in font, ``size`` pixels high where the Pillow version can scale it."""
    try:
        return ImageFont.load_default(size=size)  # Pillow >= 10.1: a scalable font
    except TypeError:
        return ImageFont.load_default()


def text_width(text: str, face) -> float:
    """Width in pixels of ``text`` written in the font ``face`` (0 for no text)."""
    return ImageDraw.Draw(Image.new("RGB", (1, 1))).textlength(text, font=face) if text else 0.0


def save_npz(path: str | Path, **arrays) -> Path:
    """Write arrays (tensors are converted) to ``.npz`` (atomically)."""
    data = {k: (v.cpu().numpy() if isinstance(v, torch.Tensor) else v) for k, v in arrays.items()}
    return atomic.atomic_write(path, lambda f: np.savez_compressed(f, **data))
