"""The registry of named data sets, and :func:`load_dataset`, the one entry point.

Each registered set is a :class:`DatasetSpec`: its splits, a loader, and
optionally a downloader. ``name`` may instead be a path (a folder of images
or an ``.npy`` / ``.npz`` file, see :mod:`pixelcnn.data.local`); a registered
name wins over a folder of the same name in the working directory (write
``./mnist`` for the folder).

Validation splits. A set with a ``train`` split but no ``valid`` split of its
own gets one: :func:`pixelcnn.data.splits.split_off_valid` carves
``valid_fraction`` of every class (10 % by default) off ``train``, and
``train`` then means the remaining images. ``valid_fraction=0`` turns the carve
off. Sets with their own ``valid`` split (binarized-mnist) keep it.

Kinds. ``kind="pixels"`` (the default) gives uint8 images in 0..255;
``kind="codes"`` gives integer codes in ``[0, K)`` from a ``.npy`` / ``.npz``
file (:mod:`pixelcnn.data.codes`), split by the same rules, never resized.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable, Sequence

import torch

from pixelcnn.data import cifar, mnist, mnist5k
from pixelcnn.data.codes import codes_levels
from pixelcnn.data.dataset import Dataset
from pixelcnn.data.download import DEFAULT_TIMEOUT
from pixelcnn.data.local import is_data_path, load_path_dataset, path_splits
from pixelcnn.data.source import Converted, InMemory
from pixelcnn.data.splits import VALID_FRACTION, split_off_valid
from pixelcnn.data.transform import check_size, resize_images, to_channels
from pixelcnn.errors import DataError
from pixelcnn.levels import KINDS

DEFAULT_DATASET = "mnist5k"


@dataclass(frozen=True)
class DatasetSpec:
    """A registered data set.

    Attributes:
        name: the registered name.
        splits: split names, the usual training split first.
        load: ``load(split, data_dir, download) -> Dataset``.
        description: one line for help texts.
        binary: images hold only 0 and 255 (resized by nearest neighbour).
        download: ``download(data_dir, mirrors=, timeout=) -> list[Path]``, or None.
    """

    name: str
    splits: tuple[str, ...]
    load: Callable[[str, str | Path | None, bool], Dataset]
    description: str
    binary: bool = False
    download: Callable[..., list[Path]] | None = None


_REGISTRY: dict[str, DatasetSpec] = {}


def register_dataset(spec: DatasetSpec) -> None:
    """Add ``spec`` to the registry (a name may be registered once)."""
    if spec.name in _REGISTRY:
        raise ValueError(f"data set '{spec.name}' is already registered")
    _REGISTRY[spec.name] = spec


def dataset_names() -> list[str]:
    """Registered names, the default (``mnist5k``) first."""
    return list(_REGISTRY)


def dataset_spec(name: str) -> DatasetSpec:
    """The spec of registered set ``name``."""
    if name not in _REGISTRY:
        raise DataError(f"unknown data set '{name}'; registered: {', '.join(_REGISTRY)}")
    return _REGISTRY[name]


def dataset_splits(name: str, valid_fraction: float = VALID_FRACTION, field: str = "") -> list[str]:
    """Split names of a registered set, or of the folder / array file at path ``name``.

    Includes the carved ``valid`` split (see the module docstring) unless
    ``valid_fraction`` is 0. ``field``: which arrays of an ``.npz`` (:mod:`pixelcnn.data.arrays`).
    """
    own = _own_splits(name, field)
    if _carves(own, valid_fraction):
        return own[:1] + ["valid"] + own[1:]
    return own


def _own_splits(name: str, field: str = "") -> list[str]:
    if name not in _REGISTRY and is_data_path(name):
        return path_splits(name, field)
    if field:
        raise DataError(f"data.field = {field} names arrays of an .npz file; {name} is a registered set")
    return list(dataset_spec(name).splits)


def _carves(own: list[str], valid_fraction: float) -> bool:
    """Whether a set with splits ``own`` gets a validation split carved from ``train``."""
    return valid_fraction > 0 and "train" in own and "valid" not in own


def load_dataset(
    name: str,
    split: str = "train",
    *,
    data_dir: str | Path | None = None,
    download: bool = True,
    image_size: tuple[int, int] | None = None,
    channels: int | None = None,
    valid_fraction: float = VALID_FRACTION,
    lazy: bool = False,
    kind: str = "pixels",
    field: str = "",
    levels: int = 0,
) -> Dataset:
    """Load one split of a data set into memory, or open it to be read on demand (``lazy``).

    Args:
        name: a registered name (:func:`dataset_names`) or the path of a
            folder of images or of an ``.npy`` / ``.npz`` file.
        split: a split of the set (:func:`dataset_splits`).
        data_dir: folder holding the files of a registered set (also
            ``data_dir/<name>`` is searched); see :mod:`pixelcnn.data.files`
            for the default search.
        download: fetch missing files of sets that can be downloaded.
        image_size: ``(H, W)`` to centre-crop and resize to; None keeps the size.
        channels: 1 (gray) or 3 (RGB); None keeps the set's own.
        valid_fraction: share of every class of ``train`` carved off as
            ``valid`` in sets without a validation split; 0 for none.
        lazy: give ``images`` as an :class:`~pixelcnn.data.source.Images`
            source: a ``.npy`` file memory-mapped, a folder's files decoded
            when read, hold-outs and carves as indices, conversions applied
            batch by batch; other sets are read whole and wrapped in
            :class:`~pixelcnn.data.source.InMemory`.
        kind: "pixels" or "codes" (a ``.npy`` / ``.npz`` file of integer codes).
        field: which arrays of an ``.npz`` file (:mod:`pixelcnn.data.arrays`).
        levels: for codes, K (the codes must lie in ``[0, K)``); 0 takes K from the
            file (:func:`pixelcnn.data.codes.codes_levels`). Ignored for pixels.

    Returns:
        a :class:`Dataset`: uint8 images ``[N, C, H, W]`` in 0..255, or codes in
        ``[0, K)`` with ``Dataset.levels`` K.
    """
    if image_size is not None:
        check_size(image_size)
    if kind not in KINDS:
        raise DataError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if kind == "codes":
        levels = _codes_levels(name, field, levels, image_size, channels)
    else:
        levels = 0
    if name not in _REGISTRY and not is_data_path(name):
        raise DataError(
            f"unknown data set '{name}': not a registered name ({', '.join(_REGISTRY)}) "
            "nor an existing folder or .npy/.npz file (see docs/data.md)"
        )
    own = _own_splits(name, field)
    splits = dataset_splits(name, valid_fraction, field)
    if split not in splits:
        why = " (valid_fraction is 0)" if split == "valid" and _carves(own, 1.0) else ""
        raise DataError(f"{name} has no split '{split}'{why}; choose from {', '.join(splits)}")
    carve = split in ("train", "valid") and _carves(own, valid_fraction)
    read = "train" if carve else split
    if name in _REGISTRY:
        spec = _REGISTRY[name]
        dataset, binary = spec.load(read, data_dir, download), spec.binary
    else:
        dataset = load_path_dataset(name, read, channels=channels, image_size=image_size, lazy=lazy,
                                    field=field, levels=levels)
        binary = False
    if carve:
        dataset = split_off_valid(dataset, split, valid_fraction)
    dataset = adapt(dataset, image_size=image_size, channels=channels, binary=binary)
    if lazy and isinstance(dataset.images, torch.Tensor):
        dataset = dataclasses.replace(dataset, images=InMemory(dataset.images))
    return dataset


def _codes_levels(name: str, field: str, levels: int, image_size, channels) -> int:
    """K of the codes file ``name`` (:func:`pixelcnn.data.codes.codes_levels`), after checking that
    ``name`` is such a file and nothing asks to convert the codes."""
    if name in _REGISTRY or not Path(name).expanduser().is_file():
        raise DataError(f"data.kind = codes reads a .npy or .npz file of integer codes; {name} is "
                        f"{'a registered image set' if name in _REGISTRY else 'not such a file'}")
    if image_size is not None or channels is not None:
        raise DataError("codes are read as they are: image_size and channels apply to pixels only")
    return codes_levels(name, field, levels)


def download_dataset(
    name: str,
    data_dir: str | Path | None = None,
    *,
    mirrors: Sequence[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[Path]:
    """Download the missing files of registered set ``name``; return the paths of all its files."""
    spec = dataset_spec(name)
    if spec.download is None:
        raise DataError(f"{name} has no built-in download")
    return spec.download(data_dir, mirrors=mirrors, timeout=timeout)


def adapt(
    dataset: Dataset,
    *,
    image_size: tuple[int, int] | None = None,
    channels: int | None = None,
    binary: bool = False,
) -> Dataset:
    """``dataset`` with its images converted to ``channels`` and resized to ``image_size``
    (at once in memory; batch by batch, when read, for a source)."""
    images = dataset.images
    if not isinstance(images, torch.Tensor):
        _, c, h, w = images.shape
        keep_c = channels in (None, c)
        keep_size = image_size is None or tuple(image_size) == (h, w)
        if keep_c and keep_size:
            return dataset
        images = Converted(images, None if keep_c else channels, None if keep_size else tuple(image_size), binary)
        return dataclasses.replace(dataset, images=images)
    if channels is not None:
        images = to_channels(images, channels)
    if image_size is not None:
        images = resize_images(images, image_size, binary=binary)
    return dataset if images is dataset.images else dataclasses.replace(dataset, images=images)


def _register_builtins() -> None:
    register_dataset(
        DatasetSpec(
            mnist5k.NAME,
            mnist5k.SPLITS,
            mnist5k.load_mnist5k,
            "5,000 MNIST digits shipped in the package (the default; no download)",
        )
    )
    for name, what in (("mnist", "MNIST digits"), ("fashion-mnist", "Fashion-MNIST clothes")):
        register_dataset(
            DatasetSpec(
                name,
                tuple(mnist.IDX_SPLITS),
                partial(mnist.load_idx_dataset, name),
                f"{what}, 28x28 gray, 60,000 + 10,000 (IDX files)",
                download=partial(mnist.download_idx_dataset, name),
            )
        )
    register_dataset(
        DatasetSpec(
            "binarized-mnist",
            tuple(mnist.AMAT_SPLITS),
            mnist.load_binarized_mnist,
            "statically binarized MNIST, 28x28, 50,000 + 10,000 + 10,000 (.amat files)",
            binary=True,
            download=mnist.download_binarized_mnist,
        )
    )
    register_dataset(
        DatasetSpec(
            cifar.NAME,
            tuple(cifar.SPLIT_STEMS),
            cifar.load_cifar10,
            "CIFAR-10, 32x32 RGB, 50,000 + 10,000 (binary or python batches)",
            download=cifar.download_cifar10,
        )
    )


_register_builtins()
