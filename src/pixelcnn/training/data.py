"""Images for training and evaluation, as levels, in a reproducible order.

Levels are kept as uint8 (L <= 256) and become long tensors batch by batch.
The order of an epoch is a pure function of ``(seed, epoch)``, and so is the
dynamic binarisation, so a run stopped after any batch resumes exactly.
With several processes (``torchrun``), each takes its share of every global
batch (see :class:`TrainStream`).

Validation: the set's own ``valid`` split, else one carved from ``train``
(``data.valid_fraction``, see :mod:`pixelcnn.data.splits`); the test split is
used for validation only when ``data.valid_split=test`` says so, and then
nothing is carved off ``train``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from pixelcnn.data import dataset_splits, load_dataset
from pixelcnn.errors import DataError
from pixelcnn.levels import binarize, to_levels


@dataclass
class Split:
    """One split: ``images`` uint8 ``[N, C, H, W]`` as stored, ``levels`` uint8 of the
    same shape in ``[0, L)``, ``labels`` long ``[N]`` or None."""

    name: str
    images: torch.Tensor
    levels: torch.Tensor
    labels: torch.Tensor | None
    num_classes: int
    class_names: tuple = ()


def quantise(images: torch.Tensor, data_cfg, *, seed: int = 0, epoch: int = 0) -> torch.Tensor:
    """uint8 pixel values -> uint8 levels, binarising first when the config asks to."""
    method = data_cfg.binarize
    if method != "none":
        images = binarize(images, method, seed=seed, epoch=epoch)
    return to_levels(images, data_cfg.levels).to(torch.uint8)


def load_split(data_cfg, split: str, *, seed: int = 0) -> Split:
    """Load ``split`` of the configured data set and quantise it (eval splits use epoch 0)."""
    ds = load_dataset(
        data_cfg.name,
        split,
        data_dir=data_cfg.data_dir or None,
        download=data_cfg.download,
        image_size=tuple(data_cfg.image_size) if min(data_cfg.image_size) > 0 else None,
        channels=data_cfg.channels or None,
        valid_fraction=carve_fraction(data_cfg),
    )
    levels = quantise(ds.images, data_cfg, seed=seed)
    return Split(split, ds.images, levels, ds.labels, ds.num_classes, tuple(getattr(ds, "class_names", ()) or ()))


def carve_fraction(data_cfg) -> float:
    """``data.valid_fraction``, or 0 when validation is pointed at another split on purpose."""
    return data_cfg.valid_fraction if data_cfg.valid_split in ("", "valid") else 0.0


def validation_split_name(data_cfg) -> str:
    """The configured validation split, else "valid" (the set's own or carved from train)."""
    if data_cfg.valid_split:
        return data_cfg.valid_split
    if "valid" in dataset_splits(data_cfg.name, carve_fraction(data_cfg)):
        return "valid"
    raise DataError(
        f"{data_cfg.name} has no validation split with data.valid_fraction=0; "
        "set data.valid_fraction > 0, or data.valid_split=test to validate on the test split"
    )


@dataclass
class Batch:
    """One process's part of a global batch: ``levels`` long ``[b, C, H, W]``, ``labels`` long
    ``[b]`` or None. The first ``real`` images are its share; ``total`` counts the images of
    the whole global batch (every process's share together). A process whose share is
    empty (a short last batch of an epoch, fewer images than processes) gets one image of
    the batch to run with ``real = 0``, so that every process computes the same graph."""

    levels: torch.Tensor
    labels: torch.Tensor | None
    real: int
    total: int


class TrainStream:
    """Batches of the training split in the order of each epoch.

    An epoch is the training images in the order ``_order(epoch)``, a pure
    function of ``(seed, epoch)``. It is cut into global batches of ``size``
    images from a position counted in images (the last one may be short); with
    ``world`` processes, rank ``r`` takes images ``r, r + world, ...`` of each
    global batch. So the processes' batches at a step together hold exactly the
    images of one process's batch of the global size, every process takes the
    same number of batches in an epoch, and a resumed run continues at the
    first image not yet trained on, whatever its global batch.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor | None, data_cfg, seed: int):
        if images.shape[0] == 0:
            raise DataError(f"the training split of {data_cfg.name} has no images")
        self.images, self.labels, self.data_cfg, self.seed = images, labels, data_cfg, seed
        self._epoch, self._levels, self._perm = None, None, None

    def __len__(self) -> int:
        return self.images.shape[0]

    def batches_per_epoch(self, size: int) -> int:
        """Global batches of ``size`` images in one epoch (the last may be short)."""
        return -(-len(self) // size)

    def batch(self, epoch: int, position: int, batch_size: int, rank: int = 0, world: int = 1) -> Batch:
        """The share of ``rank`` of the global batch of ``batch_size * world`` images that starts at image
        ``position`` of ``epoch``."""
        whole = self._order(epoch)[position : position + batch_size * world]  # [n <= batch_size * world]
        take = whole[rank::world]
        real = int(take.numel())
        if real == 0:
            take = whole[:1]
        levels = self._epoch_levels(epoch)[take].long()
        labels = None if self.labels is None else self.labels[take]
        return Batch(levels, labels, real, int(whole.numel()))

    def _order(self, epoch: int) -> torch.Tensor:
        self._prepare(epoch)
        return self._perm

    def _epoch_levels(self, epoch: int) -> torch.Tensor:
        self._prepare(epoch)
        return self._levels

    def _prepare(self, epoch: int) -> None:
        if self._epoch == epoch:
            return
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        self._perm = torch.randperm(len(self), generator=g)
        if self._levels is None or self.data_cfg.binarize == "dynamic":  # a new draw each epoch
            e = epoch if self.data_cfg.binarize == "dynamic" else 0
            self._levels = quantise(self.images, self.data_cfg, seed=self.seed, epoch=e)
        self._epoch = epoch
