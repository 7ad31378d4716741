"""The data set every loader returns: images in memory, or a source read on demand.

Images are always ``uint8`` in ``[N, C, H, W]`` with values 0..255, whatever
the file format; codes (``levels`` K > 0, :mod:`pixelcnn.data.codes`) are
integers in ``[0, K)`` of :func:`pixelcnn.levels.level_dtype`. A binary set (binarized MNIST) stores 0 and 255, so that
quantising to ``L`` levels by ``level = v * L // 256`` gives 0 and 1 for
``L = 2``. Labels are ``int64`` in ``[0, num_classes)``, or ``None``.
``images`` is a tensor, or, for a split loaded with ``lazy=True``, an
:class:`pixelcnn.data.source.Images` source of the same shape whose rows are
read when asked for (labels are always in memory).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from pixelcnn.errors import DataError
from pixelcnn.labels import check_labels
from pixelcnn.levels import level_dtype


@dataclass(frozen=True, eq=False)
class Dataset:
    """Images and optional class labels of one split.

    Attributes:
        images: uint8 tensor ``[N, C, H, W]``, values 0..255, or an
            :class:`~pixelcnn.data.source.Images` source of that shape.
        labels: int64 tensor ``[N]`` in ``[0, num_classes)``, or None.
        num_classes: number of classes; 0 when there are no labels.
        name: registered name, or the path the data came from.
        split: the split name ("train", "test", "valid" or "all").
        class_names: one name per class when known, else empty.
        levels: 0 for images (uint8 pixel values); K for codes in ``[0, K)``.

    ``eq=False``: tensors have no single truth value, so data sets compare
    by identity.
    """

    images: torch.Tensor
    labels: torch.Tensor | None
    num_classes: int
    name: str
    split: str
    class_names: tuple[str, ...] = ()
    levels: int = 0

    def __post_init__(self) -> None:
        _check_images(self.images, self.where, level_dtype(self.levels) if self.levels else torch.uint8)
        _check_labels(self.labels, self.num_classes, len(self.images), self.where)
        if self.class_names and len(self.class_names) != self.num_classes:
            raise DataError(
                f"{self.where}: {len(self.class_names)} class names for {self.num_classes} classes"
            )

    @property
    def where(self) -> str:
        """``"name split"``, for error messages."""
        return f"{self.name} {self.split}"

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one image."""
        _, c, h, w = self.images.shape
        return (c, h, w)

    def __len__(self) -> int:
        return len(self.images)


def _check_images(images: object, where: str, dtype: torch.dtype) -> None:
    if hasattr(images, "read") and hasattr(images, "shape"):  # a source: of its dtype by construction
        if len(images.shape) != 4 or min(images.shape[1:]) < 1 or images.shape[0] == 0:
            raise DataError(f"{where}: images have shape {list(images.shape)}, expected [N, C, H, W], N > 0")
        return
    if not isinstance(images, torch.Tensor):
        raise DataError(f"{where}: images must be a torch.Tensor, got {type(images).__name__}")
    if images.dtype != dtype:
        raise DataError(f"{where}: images have dtype {images.dtype}, expected {dtype}")
    if images.ndim != 4 or min(images.shape[1:], default=0) < 1:
        raise DataError(f"{where}: images have shape {list(images.shape)}, expected [N, C, H, W]")
    if len(images) == 0:
        raise DataError(f"{where}: no images")


def _check_labels(labels: object, num_classes: int, n: int, where: str) -> None:
    if labels is None:
        if num_classes != 0:
            raise DataError(f"{where}: num_classes is {num_classes} but there are no labels")
        return
    if not isinstance(labels, torch.Tensor) or labels.dtype != torch.int64:
        raise DataError(f"{where}: labels must be an int64 torch.Tensor")
    if num_classes < 1:
        raise DataError(f"{where}: labels given but num_classes is {num_classes}")
    check_labels(labels, n=n, classes=num_classes, where=f"{where}: ")
