"""Data sets named by a path: a folder of images, or a ``.npy`` / ``.npz`` file.

Splits. A folder, a ``.npy`` file or an ``.npz`` file without split arrays is
one set: split ``"all"`` is every image in file order; ``"train"`` and
``"test"`` are a deterministic 90 % / 10 % hold-out, stratified by class when
there are labels (:func:`pixelcnn.data.splits.holdout_indices`), so the two
never overlap. An ``.npz`` with arrays ``train`` / ``valid`` / ``test`` offers
exactly those splits. For folders already split on disk (``root/train``,
``root/test``), name each sub-folder and ask for split ``"all"``.

Formats: :mod:`pixelcnn.data.images` and :mod:`pixelcnn.data.arrays`. With
``lazy=True`` a ``.npy`` file is memory-mapped and a folder's files are
decoded when read (:mod:`pixelcnn.data.source`); the hold-out is then a set of
indices into them. An ``.npz`` file is always read whole.

Codes (``levels`` K > 0, :mod:`pixelcnn.data.codes`) come from ``.npy`` /
``.npz`` files only, split by the same rules. ``field`` picks arrays of an
``.npz`` (:mod:`pixelcnn.data.arrays`).
"""

from __future__ import annotations

from pathlib import Path

import torch

from pixelcnn.data.arrays import ARRAY_SUFFIXES, array_file_splits, field_arrays, npz_num_classes, read_array_file
from pixelcnn.data.dataset import Dataset
from pixelcnn.data.images import open_image_folder, read_image_folder
from pixelcnn.data.source import Images, MappedArray, take
from pixelcnn.data.splits import HOLDOUT_SPLITS, holdout_indices
from pixelcnn.errors import DataError


def is_data_path(name: str | Path) -> bool:
    """Whether ``name`` is an existing folder or ``.npy`` / ``.npz`` file."""
    path = Path(name).expanduser()
    return path.is_dir() or (path.is_file() and path.suffix in ARRAY_SUFFIXES)


def path_splits(path: str | Path, field: str = "") -> list[str]:
    """Splits the folder or array file at ``path`` offers (``field``: see :mod:`pixelcnn.data.arrays`)."""
    path = Path(path).expanduser()
    if path.is_file():
        return array_file_splits(path, field)
    if field:
        raise DataError(f"{path}: data.field = {field} names arrays of an .npz file, not a folder")
    return list(HOLDOUT_SPLITS)


def load_path_dataset(
    path: str | Path,
    split: str,
    *,
    channels: int | None = None,
    image_size: tuple[int, int] | None = None,
    lazy: bool = False,
    field: str = "",
    levels: int = 0,
) -> Dataset:
    """Split ``split`` of the folder or array file at ``path``.

    ``channels`` and ``image_size`` are applied while reading a folder (whose
    images may differ in size); for arrays, :func:`load_dataset` applies them.
    ``lazy``: a folder or ``.npy`` file gives an :class:`~pixelcnn.data.source.Images`
    source, not a tensor. ``field``: the arrays of an ``.npz`` to read.
    ``levels``: 0 for images; K for codes in ``[0, K)`` (checked already, see
    :func:`pixelcnn.data.codes.codes_levels`).
    """
    path = Path(path).expanduser()
    splits = path_splits(path, field)
    if split not in splits:
        raise DataError(f"{path}: no split '{split}'; choose from {', '.join(splits)}")
    if path.is_dir():
        read = open_image_folder if lazy else read_image_folder
        images, labels, classes = read(path, channels=channels, image_size=image_size)
    elif lazy and path.suffix == ".npy":
        images, labels, classes = MappedArray(path, levels), None, ()
    elif path.suffix == ".npy":
        (images, labels), classes = read_array_file(path, levels=levels), ()
    else:
        arrays = field_arrays(path, field)
        images, labels = read_array_file(path, arrays.get(split, arrays.get("all")), levels=levels)
        if "all" not in arrays:  # an .npz with one array per split
            num_classes = npz_num_classes(path) if labels is not None else 0
            return Dataset(images, labels, num_classes, str(path), split, levels=levels)
        classes = ()
    return _holdout(images, labels, classes, str(path), split, levels)


def _holdout(
    images: torch.Tensor | Images,
    labels: torch.Tensor | None,
    classes: tuple[str, ...],
    name: str,
    split: str,
    levels: int = 0,
) -> Dataset:
    """The ``split`` part of one set of images ``[N, C, H, W]`` and labels ``[N]`` or None."""
    num_classes = len(classes) or (0 if labels is None else int(labels.max()) + 1)
    index = torch.from_numpy(
        holdout_indices(None if labels is None else labels.numpy(), len(images), split)
    )
    if len(index) == 0:
        raise DataError(
            f"{name}: split '{split}' is empty ({len(images)} images, 10 % held out for test); "
            "use split 'all'"
        )
    part_labels = None if labels is None else labels[index]
    return Dataset(take(images, index), part_labels, num_classes, name, split, classes, levels)
