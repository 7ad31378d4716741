"""Deterministic train/test splits that are the same on every machine.

Permutations come from sorting SHA-256 digests of ``"seed/salt/index"``, not
from a random number generator, so they depend on no library version.
"""

from __future__ import annotations

import hashlib

import numpy as np

from pixelcnn.errors import DataError

HOLDOUT_SPLITS = ("train", "test", "all")
TEST_PERCENT = 10


def stable_permutation(n: int, seed: int = 0, salt: str = "") -> np.ndarray:
    """A permutation of ``range(n)`` fixed by ``(seed, salt)``; int64 ``[n]``."""
    keys = [hashlib.sha256(f"{seed}/{salt}/{i}".encode()).digest() for i in range(n)]
    return np.array(sorted(range(n), key=keys.__getitem__), dtype=np.int64)


def holdout_size(n: int, percent: int = TEST_PERCENT) -> int:
    """Images of a group of ``n`` held out for test: ``ceil(n * percent / 100)``, 0 if n < 2."""
    return 0 if n < 2 else -(-n * percent // 100)


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
    chosen = []
    for group in np.unique(groups):
        members = np.flatnonzero(groups == group)
        members = members[stable_permutation(len(members), seed, f"class{group}")]
        k = holdout_size(len(members), percent)
        chosen.append(members[:k] if split == "test" else members[k:])
    picked = np.concatenate(chosen)
    return picked[stable_permutation(len(picked), seed, split)]
