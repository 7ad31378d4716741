"""The registry, load_dataset dispatch, folder lookup and Dataset invariants."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
import torch
from data_helpers import digits, idx_bytes, write

from pixelcnn.data import (
    Dataset,
    dataset_names,
    dataset_spec,
    dataset_splits,
    load_dataset,
    search_dirs,
)
from pixelcnn.errors import DataError, PixelCNNError


def test_registered_names():
    assert dataset_names() == ["mnist5k", "mnist", "fashion-mnist", "binarized-mnist", "cifar10"]
    assert dataset_splits("binarized-mnist") == ["train", "valid", "test"]


@pytest.mark.parametrize("name", dataset_names())
def test_every_registered_set_loads_or_explains_in_one_line(name, tmp_path):
    """With no files and no download, each set either needs no files or names what it missed."""
    split = dataset_splits(name)[-1]
    assert dataset_spec(name).description
    try:
        data = load_dataset(name, split, data_dir=tmp_path, download=False)
    except DataError as error:
        message = str(error)
        assert "\n" not in message and str(tmp_path) in message and name in message
    else:
        assert data.images.dtype == torch.uint8 and data.images.ndim == 4 and data.split == split


def test_unknown_name_and_split():
    with pytest.raises(
        DataError, match=r"unknown data set 'nope': not a registered name \(mnist5k, mnist"
    ):
        load_dataset("nope")
    with pytest.raises(
        DataError, match=r"cifar10 has no split 'valid' \(valid_fraction is 0\); choose from train, test"
    ):
        load_dataset("cifar10", "valid", valid_fraction=0)
    with pytest.raises(DataError, match="unknown data set 'nope'"):
        dataset_splits("nope")
    assert issubclass(DataError, PixelCNNError)


def test_search_dirs_precedence(tmp_path, monkeypatch):
    assert search_dirs("mnist", tmp_path) == [tmp_path, tmp_path / "mnist"]
    monkeypatch.setenv("PIXELCNN_DATA_DIR", str(tmp_path / "env"))
    assert search_dirs("mnist") == [tmp_path / "env" / "mnist"]
    monkeypatch.delenv("PIXELCNN_DATA_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert search_dirs("mnist") == [
        tmp_path / "xdg" / "pixelcnn" / "mnist",
        Path("/usr/share/datasets/mnist"),
    ]


def test_missing_directory_is_named(tmp_path):
    absent = tmp_path / "absent"
    where = re.escape(f"looked in {absent} (no such folder), {absent / 'cifar10'} (no such folder)")
    with pytest.raises(
        DataError, match=rf"^cifar10 test: no batch \(test_batch\[.bin\]\) found; {where}"
    ):
        load_dataset("cifar10", "test", data_dir=absent, download=False)
    where = re.escape(f"looked in {absent} (no such folder)")
    with pytest.raises(
        DataError, match=rf"^binarized-mnist: binarized_mnist_valid.amat\[.gz\] not found; {where}"
    ):
        load_dataset("binarized-mnist", "valid", data_dir=absent, download=False)


def test_wrong_checksum_of_local_file(tmp_path):
    images, labels = digits(3)
    write(tmp_path / "t10k-images-idx3-ubyte", idx_bytes(images), compress=True)
    write(tmp_path / "t10k-labels-idx1-ubyte", idx_bytes(labels))
    with pytest.raises(
        DataError,
        match=r"t10k-images-idx3-ubyte.gz: wrong checksum: SHA-256 of the content is "
        + hashlib.sha256(idx_bytes(images)).hexdigest()
        + r", expected 0fa7898d",
    ):
        load_dataset("mnist", "test", data_dir=tmp_path, download=False)


def test_channels_and_size_of_a_registered_set():
    data = load_dataset("mnist5k", "test", channels=3, image_size=(32, 32))
    assert data.images.shape == (500, 3, 32, 32)
    assert torch.equal(data.images[:, 0], data.images[:, 2])
    assert data.labels.shape == (500,)


def make(images=None, labels=None, num_classes=0):
    images = torch.zeros(2, 1, 3, 3, dtype=torch.uint8) if images is None else images
    return Dataset(images, labels, num_classes, "toy", "train")


def test_dataset_invariants():
    assert len(make()) == 2 and make().image_shape == (1, 3, 3)
    assert make(labels=torch.tensor([0, 4]), num_classes=5).num_classes == 5
    with pytest.raises(DataError, match=r"toy train: images have dtype torch.float32"):
        make(images=torch.zeros(2, 1, 3, 3))
    with pytest.raises(DataError, match=r"images have shape \[2, 3, 3\], expected \[N, C, H, W\]"):
        make(images=torch.zeros(2, 3, 3, dtype=torch.uint8))
    with pytest.raises(DataError, match=r"labels must lie in \[0, 5\), got 0..5"):
        make(labels=torch.tensor([0, 5]), num_classes=5)
    with pytest.raises(DataError, match=r"labels have shape \[3\], expected \[2\]"):
        make(labels=torch.tensor([0, 1, 1]), num_classes=2)
    with pytest.raises(DataError, match=r"num_classes is 3 but there are no labels"):
        make(num_classes=3)
    with pytest.raises(DataError, match=r"no images"):
        make(images=torch.zeros(0, 1, 3, 3, dtype=torch.uint8))
