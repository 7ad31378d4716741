"""Folders of image files (PNG, JPEG, BMP, GIF, WebP, TIFF), read with Pillow.

Files are taken recursively, sorted by their path relative to the folder.
Hidden files and folders (name starting with ".") and files whose extension
is not an image extension are skipped; a file with an image extension that
Pillow cannot decode is an error. Alpha is dropped, not composited.

Labels: when the folder holds only sub-folders (no image directly in it),
each sub-folder is a class and the classes are the sorted sub-folder names;
otherwise there are no labels.

Read lazily (:func:`open_image_folder`, as training does), only each file's
header is read up front (its mode and size, for the checks above); the pixels
are decoded when a batch needs them. A file whose header reads but whose
pixels do not decode then stops training with one line naming it.

Not implemented: 16-bit and floating-point images (modes I, I;16, F), and
animated images beyond their first frame.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from pixelcnn.data.source import ImageFiles
from pixelcnn.data.transform import check_size, fit_image
from pixelcnn.errors import DataError
from pixelcnn.images import open_picture, picture_header

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"})
GRAY_MODES = frozenset({"1", "L", "LA", "La"})


def list_images(folder: str | Path) -> tuple[list[Path], list[int] | None, tuple[str, ...]]:
    """Image files of ``folder``, their class indices (or None) and the class names."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder")
    top_images = [p for p in folder.iterdir() if _is_image(p)]
    subfolders = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if top_images or not subfolders:
        return _images_under(folder), None, ()
    files, labels = [], []
    for label, sub in enumerate(subfolders):
        found = _images_under(sub)
        files += found
        labels += [label] * len(found)
    return files, labels, tuple(p.name for p in subfolders)


def read_image_folder(
    folder: str | Path, *, channels: int | None = None, image_size: tuple[int, int] | None = None
) -> tuple[torch.Tensor, torch.Tensor | None, tuple[str, ...]]:
    """Images, labels and class names of a folder of images.

    Args:
        folder: the folder (see the module docstring for layout and labels).
        channels: 1 (gray), 3 (RGB), or None: 1 when every image is gray
            (Pillow modes 1, L, LA), else 3.
        image_size: ``(H, W)`` to centre-crop and resize every image to, or
            None: every image must then have the size of the first.

    Returns:
        images: uint8 ``[N, C, H, W]``; labels: int64 ``[N]`` or None; class names.
    """
    files, labels, classes = _listed(folder, channels, image_size)
    arrays, all_gray = [], True
    for path in files:
        array, gray = read_image(path, channels, image_size)
        _check_same_size(array, arrays[0] if arrays else array, path, files[0])
        arrays.append(array)
        all_gray &= gray
    images = np.stack(arrays)  # [N, C, H, W]
    if channels is None and all_gray:
        images = np.ascontiguousarray(images[:, :1])
    label_tensor = None if labels is None else torch.tensor(labels, dtype=torch.int64)
    return torch.from_numpy(images), label_tensor, classes


def open_image_folder(
    folder: str | Path, *, channels: int | None = None, image_size: tuple[int, int] | None = None
) -> tuple[ImageFiles, torch.Tensor | None, tuple[str, ...]]:
    """:func:`read_image_folder` without decoding: images as an :class:`ImageFiles` source
    (each file decoded when read), the same values as reading the folder whole."""
    files, labels, classes = _listed(folder, channels, image_size)
    sizes, all_gray = [], True
    for path in files:
        mode, size = _header(path)
        if image_size is None:
            _check_same_size_hw(size, sizes[0] if sizes else size, path, files[0])
        sizes.append(size)
        all_gray &= mode in GRAY_MODES
    c = channels or (1 if all_gray else 3)
    h, w = image_size or sizes[0]
    label_tensor = None if labels is None else torch.tensor(labels, dtype=torch.int64)
    return ImageFiles(files, (len(files), c, h, w), channels, image_size), label_tensor, classes


def _listed(folder, channels, image_size):
    """The files, labels and classes of a folder, after checking the options."""
    files, labels, classes = list_images(folder)
    if not files:
        raise DataError(f"{folder}: no image files ({', '.join(sorted(IMAGE_SUFFIXES))})")
    if image_size is not None:
        check_size(image_size)
    if channels not in (None, 1, 3):
        raise DataError(f"channels must be 1 (gray), 3 (RGB) or None, got {channels}")
    return files, labels, classes


def _header(path: Path) -> tuple[str, tuple[int, int]]:
    """Mode and ``(H, W)`` of an image file, read from its header only."""
    mode, size = picture_header(path)
    _check_mode(mode, path)
    return mode, size


def read_image(
    path: Path, channels: int | None, image_size: tuple[int, int] | None
) -> tuple[np.ndarray, bool]:
    """uint8 ``[C, H, W]`` of one image file (C = 3 when ``channels`` is None); is it gray?"""
    image = open_picture(path)
    mode = image.mode
    _check_mode(mode, path)
    image = image.convert("L" if channels == 1 else "RGB")
    if image_size is not None:
        image = fit_image(image, image_size)
    array = np.asarray(image)
    array = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)
    return array, mode in GRAY_MODES


def _check_mode(mode: str, path: Path) -> None:
    if mode.startswith("I") or mode == "F":
        raise DataError(f"{path}: image mode {mode} (16-bit or float) is not supported; save it as 8-bit")


def _check_same_size(array: np.ndarray, first: np.ndarray, path: Path, first_path: Path) -> None:
    _check_same_size_hw(array.shape[1:], first.shape[1:], path, first_path)


def _check_same_size_hw(size: tuple, first: tuple, path: Path, first_path: Path) -> None:
    if tuple(size) != tuple(first):
        (h, w), (h0, w0) = size, first
        raise DataError(
            f"{path}: image is {h}x{w} (HxW) but {first_path.name} is {h0}x{w0}; "
            "pass image_size to centre-crop and resize all images"
        )


def _images_under(folder: Path) -> list[Path]:
    files = [p for p in folder.rglob("*") if _is_image(p) and not _hidden(p, folder)]
    return sorted(files, key=lambda p: p.relative_to(folder).as_posix())


def _is_image(path: Path) -> bool:
    return (
        path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".") and path.is_file()
    )


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)
