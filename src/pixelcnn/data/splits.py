"""Deterministic splits that are the same on every machine: test hold-outs and validation carves.

Permutations come from sorting SHA-256 digests of ``"seed/salt/index"``, not
from a random number generator, so they depend on no library version.

Two uses:

* :func:`holdout_indices`: a set that comes as one pile (a folder of images,
  a single array, the 5,000 mnist5k digits) is cut into ``train`` and
  ``test`` (10 % of every class held out).
* :func:`carve_valid`: a set without a validation split gets one carved from
  its training split (``valid_fraction`` of every class, 10 % by default); the
  set's ``train`` split then means the remaining training images. The carve
  uses its own fixed seed, never the training seed, so the validation images
  are a pure function of the data set and never change between runs.

Not implemented: k-fold or grouped splits.
"""

from __future__ import annotations

import dataclasses
import hashlib
from fractions import Fraction

import numpy as np
import torch

from pixelcnn.data.dataset import Dataset
from pixelcnn.data.source import take
from pixelcnn.errors import DataError

HOLDOUT_SPLITS = ("train", "test", "all")
TEST_PERCENT = 10
VALID_FRACTION = 0.1  # default share of every class carved off the training split
VALID_SEED = 0  # fixed for ever: changing it changes every set's validation images


def stable_permutation(n: int, seed: int = 0, salt: str = "") -> np.ndarray:
    """A permutation of ``range(n)`` fixed by ``(seed, salt)``; int64 ``[n]``."""
    keys = [hashlib.sha256(f"{seed}/{salt}/{i}".encode()).digest() for i in range(n)]
    return np.array(sorted(range(n), key=keys.__getitem__), dtype=np.int64)


def holdout_size(n: int, percent: float = TEST_PERCENT) -> int:
    """Images of a group of ``n`` held out: ``ceil(n * percent / 100)``, 0 if n < 2."""
    return _share_of(n, Fraction(str(percent)) / 100)


def _share_of(n: int, share: Fraction) -> int:
    """``ceil(n * share)`` in exact arithmetic (in floats 100 * 0.07 is 7.000000000000001, whose ceil is 8), 0 if n < 2."""
    return 0 if n < 2 else -(-n * share.numerator // share.denominator)


def _per_group(groups: np.ndarray, share: Fraction, seed: int, salt: str) -> list[tuple]:
    """For each group in order: (held-out indices, the rest), ``share`` of it held out,
    picked by a permutation fixed by ``(seed, salt, group)``."""
    parts = []
    for group in np.unique(groups):
        members = np.flatnonzero(groups == group)
        members = members[stable_permutation(len(members), seed, f"{salt}class{group}")]
        k = _share_of(len(members), share)
        parts.append((members[:k], members[k:]))
    return parts


def holdout_indices(
    labels: np.ndarray | None, n: int, split: str, *, percent: int = TEST_PERCENT, seed: int = 0
) -> np.ndarray:
    """Indices (int64) of ``split`` in a data set of ``n`` images.

    ``"all"`` is every index in order. ``"test"`` holds ``percent`` % of the
    images of every class (of all images when ``labels`` is None), chosen by a
    fixed-seed permutation within the class; ``"train"`` holds the rest. Each
    of the two is then shuffled with a fixed seed.

    Args:
        labels: int ``[n]`` class of each image, or None.
        n: number of images.
        split: "train", "test" or "all".
    """
    if split == "all":
        return np.arange(n, dtype=np.int64)
    if split not in HOLDOUT_SPLITS:
        raise DataError(f"unknown split '{split}'; choose from {', '.join(HOLDOUT_SPLITS)}")
    groups = np.zeros(n, np.int64) if labels is None else np.asarray(labels)
    parts = _per_group(groups, Fraction(str(percent)) / 100, seed, "")
    picked = np.concatenate([held if split == "test" else rest for held, rest in parts])
    return picked[stable_permutation(len(picked), seed, split)]


def carve_valid(labels: np.ndarray | None, n: int, fraction: float = VALID_FRACTION) -> np.ndarray:
    """Bool mask ``[n]`` of the training images that form the validation split.

    ``fraction`` of every class (of all images when ``labels`` is None),
    rounded up, none from a class of fewer than 2 images; picked by a
    permutation fixed by :data:`VALID_SEED`, so the same images every time.
    """
    if not 0 <= fraction < 1:
        raise DataError(f"valid_fraction must be in [0, 1), got {fraction}")
    groups = np.zeros(n, np.int64) if labels is None else np.asarray(labels)
    held = np.zeros(n, dtype=bool)
    for part, _ in _per_group(groups, Fraction(str(fraction)), VALID_SEED, "valid/"):
        held[part] = True
    return held


def split_off_valid(train: Dataset, split: str, fraction: float = VALID_FRACTION) -> Dataset:
    """The ``"valid"`` carve of a whole training split, or the ``"train"`` rest; order kept.
    Images read on demand stay so: the part is a :class:`~pixelcnn.data.source.Subset` (indices)."""
    labels = None if train.labels is None else train.labels.numpy()
    held = carve_valid(labels, len(train), fraction)
    index = torch.from_numpy(np.flatnonzero(held if split == "valid" else ~held))
    if len(index) == 0:
        raise DataError(
            f"{train.name}: the {split} split would be empty "
            f"({len(train)} training images, valid_fraction {fraction})"
        )
    part_labels = None if train.labels is None else train.labels[index]
    return dataclasses.replace(train, images=take(train.images, index), labels=part_labels, split=split)
