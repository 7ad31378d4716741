"""IDX reader on small generated files (MNIST's names, sizes and gzip) and on the real MNIST files."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch
from data_helpers import digits, idx_bytes, shared, write

from pixelcnn.data import read_idx, read_idx_images, read_idx_labels
from pixelcnn.data.files import read_bytes
from pixelcnn.errors import DataError

MNIST_SHA256 = {  # ../shared/data/README.md, of the uncompressed content
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}


@pytest.mark.parametrize("compress", [False, True])
def test_images_and_labels_round_trip(tmp_path, compress):
    images = np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5) * 4
    labels = np.array([2, 0, 9], np.uint8)
    image_path = write(tmp_path / "images-idx3-ubyte", idx_bytes(images), compress)
    label_path = write(tmp_path / "labels-idx1-ubyte", idx_bytes(labels), compress)

    got_images, got_labels = read_idx_images(image_path), read_idx_labels(label_path)

    assert got_images.dtype == torch.uint8 and got_images.shape == (3, 1, 4, 5)
    assert np.array_equal(got_images[:, 0].numpy(), images)
    assert got_labels.dtype == torch.int64 and got_labels.tolist() == [2, 0, 9]
    assert np.array_equal(read_idx(image_path), images)


def test_truncated_file_says_expected_and_got(tmp_path):
    data = idx_bytes(np.zeros((2, 3, 3), np.uint8))
    path = write(tmp_path / "x-idx3-ubyte", data[:-5])
    with pytest.raises(
        DataError,
        match=rf"x-idx3-ubyte: truncated IDX file: expected {len(data)} bytes .* "
        rf"got {len(data) - 5}",
    ):
        read_idx_images(path)


def test_truncated_gzip_is_named(tmp_path):
    packed = (
        write(tmp_path / "x-idx1-ubyte", idx_bytes(np.zeros(1000, np.uint8)), compress=True)
    ).read_bytes()
    path = tmp_path / "cut-idx1-ubyte.gz"
    path.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(DataError, match="cut-idx1-ubyte.gz: truncated gzip"):
        read_idx_labels(path)


def test_wrong_magic_number(tmp_path):
    path = write(tmp_path / "labels", idx_bytes(np.zeros(4, np.uint8)))
    with pytest.raises(
        DataError, match=r"labels: wrong magic number 0x00000801, expected 0x00000803"
    ):
        read_idx_images(path)


def test_trailing_bytes_and_missing_file(tmp_path):
    path = write(tmp_path / "long", idx_bytes(np.zeros(4, np.uint8)) + b"xx")
    with pytest.raises(DataError, match="2 bytes after the 12 bytes"):
        read_idx_labels(path)
    with pytest.raises(DataError, match="nothing-here: no such file"):
        read_idx_labels(tmp_path / "nothing-here")


def test_not_gzip_despite_name(tmp_path):
    path = tmp_path / "fake.gz"
    path.write_bytes(b"plain text, not gzip")
    with pytest.raises(DataError, match="fake.gz: not a gzip file"):
        read_idx(path)


def test_mnist_shaped_files_read_back_every_value(tmp_path):
    images, labels = digits(12, seed=4)
    image_path = write(tmp_path / "t10k-images-idx3-ubyte", idx_bytes(images), compress=True)
    label_path = write(tmp_path / "t10k-labels-idx1-ubyte", idx_bytes(labels), compress=True)
    assert image_path.name == "t10k-images-idx3-ubyte.gz"
    got = read_idx_images(image_path)
    assert got.shape == (12, 1, 28, 28) and got.dtype == torch.uint8
    assert np.array_equal(got[:, 0].numpy(), images)
    assert read_idx_labels(label_path).tolist() == labels.tolist()
    assert hashlib.sha256(read_bytes(image_path)).hexdigest() == hashlib.sha256(idx_bytes(images)).hexdigest()


@pytest.mark.real_data
def test_real_mnist_test_split_files():
    folder = shared("mnist")
    for name, digest in MNIST_SHA256.items():
        assert hashlib.sha256(read_bytes(folder / f"{name}.gz")).hexdigest() == digest
    images = read_idx_images(folder / "t10k-images-idx3-ubyte.gz")
    labels = read_idx_labels(folder / "t10k-labels-idx1-ubyte.gz")
    assert images.shape == (10000, 1, 28, 28) and int(images.max()) == 255
    assert labels.shape == (10000,) and labels[:5].tolist() == [7, 2, 1, 0, 4]
    assert torch.bincount(labels).tolist() == [
        980,
        1135,
        1032,
        1010,
        982,
        892,
        958,
        1028,
        974,
        1009,
    ]
