"""Registered MNIST-family sets read from files: ``mnist``, ``fashion-mnist``, ``binarized-mnist``.

* ``mnist`` (LeCun, Cortes & Burges) and ``fashion-mnist`` (Xiao, Rasul &
  Vollgraf 2017): the four standard IDX files, ``train-images-idx3-ubyte``,
  ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
  ``t10k-labels-idx1-ubyte`` (plain or ``.gz``); splits ``train`` (60,000)
  and ``test`` (10,000). The SHA-256 of every file's uncompressed content is
  checked on each load, and missing files are downloaded on request.
* ``binarized-mnist`` (Salakhutdinov & Murray 2008; files of Larochelle &
  Murray 2011): ``binarized_mnist_{train,valid,test}.amat`` (plain or
  ``.gz``); splits ``train`` (50,000), ``valid`` and ``test`` (10,000 each);
  no labels; values stored as 0 and 255. Not downloaded.

Where files are looked for: :mod:`pixelcnn.data.files`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from pixelcnn.data.amat import read_amat
from pixelcnn.data.dataset import Dataset
from pixelcnn.data.download import DEFAULT_TIMEOUT, download_file, resolve_mirrors
from pixelcnn.data.files import (
    ENV_DATA_DIR,
    check_sha256,
    find_file,
    missing_file_error,
    read_bytes,
    search_dirs,
)
from pixelcnn.data.idx import idx_images, idx_labels
from pixelcnn.errors import DataError

IDX_SPLITS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", 60000),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", 10000),
}
AMAT_SPLITS = {"train": 50000, "valid": 10000, "test": 10000}


@dataclass(frozen=True)
class IdxSet:
    """Where to download an IDX set from and what its files must hash to."""

    mirrors: tuple[str, ...]
    sha256: dict[str, str]  # uncompressed file name -> SHA-256 hex of its content
    class_names: tuple[str, ...]


IDX_SETS = {
    "mnist": IdxSet(
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ),
        sha256={  # of the official files' uncompressed content
            "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        },
        class_names=tuple(str(d) for d in range(10)),
    ),
    "fashion-mnist": IdxSet(
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        sha256={  # of the official files' uncompressed content (also Debian's dataset-fashion-mnist)
            "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        },
        class_names=(
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),
    ),
}


def load_idx_dataset(
    name: str, split: str, data_dir: str | Path | None = None, download: bool = True
) -> Dataset:
    """Split ``train`` or ``test`` of ``mnist`` or ``fashion-mnist``, checksums verified."""
    source = IDX_SETS[name]
    images_file, labels_file, count = IDX_SPLITS[split]
    dirs = search_dirs(name, data_dir)
    images = idx_images(*_verified_content(name, images_file, dirs, download))
    labels = idx_labels(*_verified_content(name, labels_file, dirs, download))
    if len(images) != count or len(labels) != count:
        raise DataError(
            f"{name} {split}: {len(images)} images and {len(labels)} labels, expected {count}"
        )
    return Dataset(images, labels, len(source.class_names), name, split, source.class_names)


def download_idx_dataset(
    name: str,
    data_dir: str | Path | None = None,
    *,
    mirrors: Sequence[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[Path]:
    """Download the IDX files of ``name`` that are not already present; return all four paths."""
    source = IDX_SETS[name]
    dirs = search_dirs(name, data_dir)
    urls = resolve_mirrors(source.mirrors, mirrors)
    paths = []
    for filename, sha256 in source.sha256.items():
        found = find_file(filename, dirs)
        paths.append(found or download_file(filename, dirs[0], sha256, urls, timeout=timeout))
    return paths


def load_binarized_mnist(
    split: str, data_dir: str | Path | None = None, download: bool = True
) -> Dataset:
    """Split ``train``, ``valid`` or ``test`` of binarized MNIST: 0/255 images, no labels."""
    name, filename = "binarized-mnist", f"binarized_mnist_{split}.amat"
    dirs = search_dirs(name, data_dir)
    path = find_file(filename, dirs)
    if path is None:
        raise missing_file_error(
            name,
            filename,
            dirs,
            "no download is built in: copy the .amat files (Larochelle & Murray 2011) there",
        )
    images = read_amat(path)
    if len(images) != AMAT_SPLITS[split]:
        raise DataError(f"{path}: {len(images)} images, expected {AMAT_SPLITS[split]}")
    return Dataset(images, None, 0, name, split)


def _verified_content(
    name: str, filename: str, dirs: list[Path], download: bool
) -> tuple[bytes, Path]:
    """Uncompressed content of ``filename`` (downloaded if missing and allowed) and its path."""
    source = IDX_SETS[name]
    path = find_file(filename, dirs)
    if path is None and download:
        try:
            path = download_file(
                filename, dirs[0], source.sha256[filename], resolve_mirrors(source.mirrors)
            )
        except DataError as e:
            raise DataError(f"{name}: {filename}[.gz] not found locally and {e}") from None
    if path is None:
        raise missing_file_error(
            name,
            filename,
            dirs,
            f"copy the IDX files there, set {ENV_DATA_DIR} to a folder holding {name}/, "
            "or pass download=True",
        )
    raw = read_bytes(path)
    check_sha256(raw, source.sha256[filename], path)
    return raw, path
