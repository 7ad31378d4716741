"""The images to score: a folder, an ``.npy`` / ``.npz`` array, or a named data set split.

Sources (readers of :mod:`pixelcnn.data`):

* a folder: every image file under it (:func:`pixelcnn.data.images.list_images`),
  read one by one, so that a file that cannot be decoded, or does not fit the
  model, is reported and skipped while the rest are scored; labels from
  sub-folders as in training;
* ``file.npy``, ``file.npz`` or ``file.npz:key``: one array (and its labels);
* ``name:split`` (``mnist5k:test``, ``fashion-mnist:test``) or a bare
  registered name (its test split).

Fitting images to the model ``(C, H, W)``, only where it is safe or asked for:

* a gray image for an RGB model: repeated into three planes (lossless, always);
* an RGB image whose three planes are equal, for a gray model: one plane (lossless, always);
* other RGB images for a gray model: luma, only with ``gray=True``;
* another size: centre-crop and resize, only with ``resize=True``.

Anything else is a problem, one line per image; an array or data set whose
images do not fit is one problem for all of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from pixelcnn.errors import DataError


@dataclass(frozen=True)
class ImageSet:
    """Images ready to quantise: uint8 ``[N, C, H, W]``, one name each, labels ``[N]`` or None,
    and one line for each image that was left out."""

    images: torch.Tensor
    names: list[str]
    labels: torch.Tensor | None
    problems: list[str] = field(default_factory=list)


def read_images(source: str | Path, shape: tuple[int, int, int], *, resize: bool = False, gray: bool = False,
                data_dir: str | Path | None = None) -> ImageSet:
    """The images of ``source`` fitted to ``shape = (C, H, W)`` (see the module docstring).

    Raises DataError when the source cannot be read or no image fits.
    """
    path = Path(str(source)).expanduser()
    if path.is_dir():
        found = _read_folder(path, shape, resize, gray)
    else:
        images, labels, where = _read_whole(str(source), data_dir)
        fitted, problem = fit(images, shape, resize=resize, gray=gray)
        if fitted is None:
            raise DataError(f"{where}: {problem}")
        found = ImageSet(fitted, [f"{where}[{k}]" for k in range(len(fitted))], labels)
    if len(found.images) == 0:
        raise DataError(f"{source}: no image could be scored:\n" + "\n".join(found.problems))
    return found


def fit(images: torch.Tensor, shape: tuple[int, int, int], *, resize: bool, gray: bool):
    """uint8 ``[N, C', H', W']`` fitted to ``shape``; returns ``(images, None)`` or ``(None, problem)``."""
    from pixelcnn.data.transform import resize_images, to_channels

    c, h, w = shape
    have = images.shape[1]
    if have != c:
        if c == 1 and have == 3 and not gray and not _planes_equal(images):
            return None, "colour image for a gray model; pass --gray (gray=True) to convert it by luma"
        if c == 3 and have == 1:
            images = to_channels(images, 3)
        elif c == 1 and have == 3:
            images = images[:, :1].contiguous() if _planes_equal(images) else to_channels(images, 1)
        else:
            return None, f"{have} channels, the model takes {c}"
    if tuple(images.shape[2:]) != (h, w):
        if not resize:
            got = "x".join(map(str, images.shape[2:]))
            return None, f"{got} pixels (HxW), the model takes {h}x{w}; pass --resize (resize=True) to fit it"
        images = resize_images(images, (h, w))
    return images, None


def _planes_equal(images: torch.Tensor) -> bool:
    return bool((images[:, 0] == images[:, 1]).all() and (images[:, 0] == images[:, 2]).all())


def _read_folder(folder: Path, shape, resize: bool, gray: bool) -> ImageSet:
    """Every image file of ``folder``, one at a time; a bad or unfitting one becomes a problem line."""
    from pixelcnn.data.images import list_images, read_image

    files, labels, _ = list_images(folder)
    if not files:
        raise DataError(f"{folder}: no image files")
    kept, names, kept_labels, problems = [], [], [], []
    for k, file in enumerate(files):
        try:
            array, is_gray = read_image(file, None, None)  # uint8 [3, H, W]
        except DataError as e:
            problems.append(str(e))
            continue
        image = torch.from_numpy(np.ascontiguousarray(array[:1] if is_gray else array))[None]
        fitted, problem = fit(image, shape, resize=resize, gray=gray)
        if fitted is None:
            problems.append(f"{file}: {problem}")
            continue
        kept.append(fitted)
        names.append(file.relative_to(folder).as_posix())
        if labels is not None:
            kept_labels.append(labels[k])
    images = torch.cat(kept) if kept else torch.zeros(0, *shape, dtype=torch.uint8)
    label_tensor = torch.tensor(kept_labels, dtype=torch.int64) if labels is not None else None
    return ImageSet(images, names, label_tensor, problems)


def _read_whole(source: str, data_dir) -> tuple[torch.Tensor, torch.Tensor | None, str]:
    """Images and labels of an array file (``path[:key]``) or a data set (``name[:split]``)."""
    from pixelcnn.data import dataset_names, load_dataset
    from pixelcnn.data.arrays import read_array_file

    name, colon, part = source.rpartition(":")
    if not colon:
        name, part = source, ""
    path = Path(name).expanduser()
    if path.suffix in (".npy", ".npz") and (path.is_file() or name not in dataset_names()):
        images, labels = read_array_file(path, part or None)
        return images, labels, source
    if name in dataset_names():
        split = part or "test"
        ds = load_dataset(name, split, data_dir=data_dir)
        return ds.images, ds.labels, f"{name}:{split}"
    raise DataError(f"{source}: not a folder, an .npy/.npz file (path[:key]) nor a registered data set "
                    f"(name[:split]; registered: {', '.join(dataset_names())})")
