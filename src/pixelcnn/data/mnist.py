"""Registered MNIST-family sets read from files: ``mnist``, ``fashion-mnist``, ``binarized-mnist``.

* ``mnist`` (LeCun, Cortes & Burges) and ``fashion-mnist`` (Xiao, Rasul &
  Vollgraf 2017): the four standard IDX files, ``train-images-idx3-ubyte``,
  ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
  ``t10k-labels-idx1-ubyte`` (plain or ``.gz``); splits ``train`` (60,000)
  and ``test`` (10,000). The SHA-256 of every file's uncompressed content is
  checked on each load (so a copy compressed anew is accepted); a missing
  file is downloaded as the official ``.gz``, checked against its published
  MD5 (:mod:`pixelcnn.data.download`).
* ``binarized-mnist`` (Salakhutdinov & Murray 2008; files of Larochelle &
  Murray 2011): ``binarized_mnist_{train,valid,test}.amat`` (plain or
  ``.gz``); splits ``train`` (50,000), ``valid`` and ``test`` (10,000 each);
  no labels; values stored as 0 and 255. A missing file is downloaded from
  Larochelle's page and checked against the SHA-256 of the official file
  (the SHA-1 that others publish for it agrees).

Where files are looked for: :mod:`pixelcnn.data.files`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from pixelcnn.data.amat import read_amat
from pixelcnn.data.dataset import Dataset
from pixelcnn.data.download import (
    DEFAULT_TIMEOUT,
    Remote,
    download_file,
    find_or_download,
    resolve_mirrors,
)
from pixelcnn.data.files import check_sha256, find_file, read_bytes, search_dirs
from pixelcnn.data.idx import idx_images, idx_labels
from pixelcnn.errors import DataError

IDX_SPLITS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", 60000),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", 10000),
}
AMAT_SPLITS = {"train": 50000, "valid": 10000, "test": 10000}
AMAT_MIRRORS = ("http://www.cs.toronto.edu/~larocheh/public/datasets/binarized_mnist/",)
AMAT_SHA256 = {  # of the official .amat files, served uncompressed
    "train": "ad693b29f94c14277b095f5238ddefbbdaaae0939789dd2f4f0205278cee3e4d",
    "valid": "1de3d397c40fe8eeb33dafd4099a1f665ec01e96d9be234aaeeac8a34930e2e2",
    "test": "e6687bfea3f820c174f33b7865140b2a2dd2930ef786f35d45795fc193b5ab2c",
}


@dataclass(frozen=True)
class IdxSet:
    """Where to download an IDX set from and what its files must hash to."""

    mirrors: tuple[str, ...]
    sha256: dict[str, str]  # uncompressed file name -> SHA-256 hex of its content
    gz_md5: dict[str, str]  # uncompressed file name -> published MD5 of the official .gz
    class_names: tuple[str, ...]

    def remote(self, filename: str) -> Remote:
        """The official ``<filename>.gz`` and its published MD5."""
        return Remote(f"{filename}.gz", f"md5:{self.gz_md5[filename]}")


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
        gz_md5={
            "train-images-idx3-ubyte": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte": "d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte": "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte": "ec29112dd5afa0611ce80d1b7f02629c",
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
        gz_md5={
            "train-images-idx3-ubyte": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte": "25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte": "bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte": "bb300cfdad3c16e7a12a480ee83cd310",
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
    for filename in source.sha256:
        found = find_file(filename, dirs)
        paths.append(found or download_file(source.remote(filename), dirs[0], urls, timeout=timeout))
    return paths


def load_binarized_mnist(
    split: str, data_dir: str | Path | None = None, download: bool = True
) -> Dataset:
    """Split ``train``, ``valid`` or ``test`` of binarized MNIST: 0/255 images, no labels."""
    name, filename = "binarized-mnist", f"binarized_mnist_{split}.amat"
    dirs = search_dirs(name, data_dir)
    remote = Remote(filename, f"sha256:{AMAT_SHA256[split]}")
    path = find_or_download(name, filename, dirs, remote, AMAT_MIRRORS, download=download)
    images = read_amat(path)
    if len(images) != AMAT_SPLITS[split]:
        raise DataError(f"{path}: {len(images)} images, expected {AMAT_SPLITS[split]}")
    return Dataset(images, None, 0, name, split)


def download_binarized_mnist(
    data_dir: str | Path | None = None,
    *,
    mirrors: Sequence[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[Path]:
    """Download the ``.amat`` files that are not already present; return all three paths."""
    dirs = search_dirs("binarized-mnist", data_dir)
    urls = resolve_mirrors(AMAT_MIRRORS, mirrors)
    paths = []
    for split, sha256 in AMAT_SHA256.items():
        filename = f"binarized_mnist_{split}.amat"
        found = find_file(filename, dirs)
        remote = Remote(filename, f"sha256:{sha256}")
        paths.append(found or download_file(remote, dirs[0], urls, timeout=timeout))
    return paths


def _verified_content(
    name: str, filename: str, dirs: list[Path], download: bool
) -> tuple[bytes, Path]:
    """Uncompressed content of ``filename`` (downloaded if missing and allowed) and its path."""
    source = IDX_SETS[name]
    remote = source.remote(filename)
    path = find_or_download(name, filename, dirs, remote, source.mirrors, download=download)
    raw = read_bytes(path)
    check_sha256(raw, source.sha256[filename], path)
    return raw, path
