"""Data sets as uint8 tensors ``[N, C, H, W]`` in 0..255: registry, loaders, readers.

Integer codes in ``[0, K)`` (``load_dataset(..., kind="codes")``, K up to 65,536)
come from ``.npy`` / ``.npz`` files: :mod:`pixelcnn.data.codes`.

Registered sets: ``mnist5k`` (default, shipped in the package), ``mnist``,
``fashion-mnist``, ``binarized-mnist``, ``cifar10``; any folder of images or
``.npy`` / ``.npz`` file can be named by its path. ``load_dataset(..., lazy=True)``
opens a split to be read on demand instead (a ``.npy`` memory-mapped, a
folder decoded file by file; :mod:`pixelcnn.data.source`). Every bad input raises
:class:`pixelcnn.errors.DataError` with one line naming the file and the fault.
"""

from pixelcnn.data.amat import read_amat
from pixelcnn.data.arrays import read_array_file
from pixelcnn.data.cifar import read_cifar_binary, read_cifar_file, read_cifar_pickle
from pixelcnn.data.codes import codes_levels
from pixelcnn.data.dataset import Dataset
from pixelcnn.data.download import Remote, download_file
from pixelcnn.data.files import search_dirs
from pixelcnn.data.idx import read_idx, read_idx_images, read_idx_labels
from pixelcnn.data.images import read_image_folder
from pixelcnn.data.mnist5k import read_mnist5k
from pixelcnn.data.registry import (
    DEFAULT_DATASET,
    DatasetSpec,
    dataset_names,
    dataset_spec,
    dataset_splits,
    download_dataset,
    load_dataset,
    register_dataset,
)
from pixelcnn.data.splits import holdout_indices, stable_permutation

__all__ = [
    "DEFAULT_DATASET",
    "Dataset",
    "DatasetSpec",
    "Remote",
    "codes_levels",
    "dataset_names",
    "dataset_spec",
    "dataset_splits",
    "download_dataset",
    "download_file",
    "holdout_indices",
    "load_dataset",
    "read_amat",
    "read_array_file",
    "read_cifar_binary",
    "read_cifar_file",
    "read_cifar_pickle",
    "read_idx",
    "read_idx_images",
    "read_idx_labels",
    "read_image_folder",
    "read_mnist5k",
    "register_dataset",
    "search_dirs",
    "stable_permutation",
]
