"""Registered sets on the real files of ../shared/data and of Debian's dataset-fashion-mnist.

Only what the real files can show: their provenance (mnist5k is the first 500 of
each class of MNIST train), their sizes, checksums and first labels. Every test
here is marked ``real_data`` and skips where the files are absent; the same
readers and lookups run on generated files in test_data_registered_files.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from data_helpers import SHARED, shared

from pixelcnn.data import cifar, load_dataset

FASHION = Path("/usr/share/datasets/fashion-mnist")
pytestmark = pytest.mark.real_data


@pytest.fixture
def shared_env(monkeypatch):
    """PIXELCNN_DATA_DIR pointing at ../shared/data (folders named like the sets)."""
    shared()
    monkeypatch.setenv("PIXELCNN_DATA_DIR", str(SHARED))


def test_mnist5k_is_the_first_500_of_each_class_of_mnist_train(shared_env):
    """The provenance stated in pixelcnn.data.mnist5k, checked against the official files."""
    from pixelcnn.data import read_mnist5k

    images, labels = read_mnist5k()
    train = load_dataset("mnist", "train", download=False, valid_fraction=0)
    first = torch.cat([torch.nonzero(train.labels == c).flatten()[:500] for c in range(10)])
    assert torch.equal(train.images[first], torch.from_numpy(images.copy()))
    assert torch.equal(train.labels[first], torch.from_numpy(labels.copy()))


def test_mnist_both_splits(shared_env):
    test = load_dataset("mnist", "test", download=False)
    assert test.images.shape == (10000, 1, 28, 28) and test.labels[0] == 7
    assert test.num_classes == 10 and test.class_names[7] == "7"
    train = load_dataset("mnist", "train", download=False, valid_fraction=0)  # checksums verified
    assert train.images.shape == (60000, 1, 28, 28)
    assert train.labels[:5].tolist() == [5, 0, 4, 1, 9]
    assert torch.bincount(train.labels).tolist() == [
        5923,
        6742,
        5958,
        6131,
        5842,
        5421,
        5918,
        6265,
        5851,
        5949,
    ]


def test_binarized_mnist_valid_stays_binary_when_resized(shared_env):
    valid = load_dataset("binarized-mnist", "valid")
    assert (
        valid.images.shape == (10000, 1, 28, 28) and valid.labels is None and valid.num_classes == 0
    )
    assert torch.unique(valid.images).tolist() == [0, 255]
    small = load_dataset("binarized-mnist", "valid", image_size=(14, 14))
    assert small.images.shape == (10000, 1, 14, 14)
    assert torch.unique(small.images).tolist() == [0, 255]


def test_cifar10_train_from_one_batch(shared_env, caplog, monkeypatch):
    monkeypatch.setattr(cifar, "_warned", set())  # as in a fresh process
    data = load_dataset("cifar10", "train", channels=1, valid_fraction=0)
    assert data.images.shape == (10000, 1, 32, 32) and data.num_classes == 10
    load_dataset("cifar10", "valid")  # carved from the same batches: no second warning
    assert caplog.text.count("using 1 of 5 batches") == 1


@pytest.mark.skipif(
    not FASHION.is_dir(), reason=f"{FASHION} absent: apt-get install dataset-fashion-mnist"
)
def test_fashion_mnist_from_debian_package():
    test = load_dataset("fashion-mnist", "test", download=False)
    assert test.images.shape == (10000, 1, 28, 28)
    assert test.labels[0] == 9 and test.class_names[9] == "Ankle boot"
    assert torch.bincount(test.labels).tolist() == [1000] * 10


@pytest.mark.slow
@pytest.mark.skipif(
    not FASHION.is_dir(), reason=f"{FASHION} absent: apt-get install dataset-fashion-mnist"
)
def test_fashion_mnist_train_from_debian_package():
    train = load_dataset("fashion-mnist", "train", download=False, valid_fraction=0)
    assert train.labels[0] == 9 and torch.bincount(train.labels).tolist() == [6000] * 10
