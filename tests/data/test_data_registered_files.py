"""Registered sets read through ``load_dataset`` from small generated files in their real formats.

The same lookups and readers as on a user's files (``PIXELCNN_DATA_DIR`` with a folder
per set, or ``data_dir``): MNIST and Fashion-MNIST as gzip-compressed IDX files under
their official names (their checksums swapped for the generated files' own), binarized
MNIST as ``.amat.gz`` text, CIFAR-10 as binary batch records. What only the real files
show (their checksums, counts, first labels) is in test_data_real.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from data_helpers import amat_text, cifar_records, digits, write, write_cifar_binary, write_idx_set

from pixelcnn.data import cifar, load_dataset, mnist


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_an_idx_set_reads_both_splits_from_its_gzip_files(tmp_path, monkeypatch, name):
    splits = {"train": digits(9, seed=1), "test": digits(4, seed=2)}
    write_idx_set(tmp_path / name, monkeypatch, splits, name)
    monkeypatch.setenv("PIXELCNN_DATA_DIR", str(tmp_path))  # a folder per set, as users keep them
    test = load_dataset(name, "test", download=False)
    assert test.images.shape == (4, 1, 28, 28) and test.images.dtype == torch.uint8
    assert np.array_equal(test.images[:, 0].numpy(), splits["test"][0])
    assert test.labels.tolist() == splits["test"][1].tolist()
    assert test.num_classes == 10 and test.class_names == mnist.IDX_SETS[name].class_names
    train = load_dataset(name, "train", download=False, valid_fraction=0)
    assert np.array_equal(train.images[:, 0].numpy(), splits["train"][0])
    assert train.labels.tolist() == splits["train"][1].tolist()


def test_binarized_mnist_reads_amat_gz_and_stays_binary_when_resized(tmp_path, monkeypatch):
    bits = np.random.default_rng(3).integers(0, 2, (6, 784)).astype(np.uint8)
    (tmp_path / "binarized-mnist").mkdir()
    write(tmp_path / "binarized-mnist" / "binarized_mnist_valid.amat", amat_text(bits), compress=True)
    monkeypatch.setitem(mnist.AMAT_SPLITS, "valid", 6)
    monkeypatch.setenv("PIXELCNN_DATA_DIR", str(tmp_path))
    valid = load_dataset("binarized-mnist", "valid", download=False)
    assert valid.images.shape == (6, 1, 28, 28) and valid.labels is None and valid.num_classes == 0
    assert np.array_equal(valid.images.reshape(6, 784).numpy(), bits * 255)
    small = load_dataset("binarized-mnist", "valid", image_size=(14, 14), download=False)
    assert small.images.shape == (6, 1, 14, 14)
    assert torch.unique(small.images).tolist() == [0, 255]  # nearest resampling keeps it binary


def test_cifar10_train_from_the_first_records_of_one_batch(tmp_path, caplog, monkeypatch):
    monkeypatch.setattr(cifar, "_warned", set())  # as in a fresh process
    pixels, labels = cifar_records(20, seed=5)
    write_cifar_binary(tmp_path / "data_batch_1_first20.bin", pixels, labels)
    rgb = load_dataset("cifar10", "train", data_dir=tmp_path, valid_fraction=0, download=False)
    assert rgb.images.shape == (20, 3, 32, 32) and rgb.num_classes == 10 and rgb.class_names[6] == "frog"
    assert np.array_equal(rgb.images.reshape(20, -1).numpy(), pixels)  # R, G, B planes in record order
    assert rgb.labels.tolist() == labels.tolist()
    gray = load_dataset("cifar10", "train", data_dir=tmp_path, channels=1, valid_fraction=0, download=False)
    r, g, b = (rgb.images[:, k].int() for k in range(3))
    assert torch.equal(gray.images[:, 0].int(), (19595 * r + 38470 * g + 7471 * b + 32768) >> 16)
    load_dataset("cifar10", "valid", data_dir=tmp_path, download=False)  # carved from the same batch
    assert caplog.text.count("using 1 of 5 batches") == 1
    assert caplog.text.count("using the first 20 images of a batch") == 1
