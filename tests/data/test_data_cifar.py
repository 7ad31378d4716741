"""CIFAR-10 readers: binary and python batches, the restricted unpickler, the real files."""

from __future__ import annotations

import os
import pickle
import pickletools

import numpy as np
import pytest
import torch
from data_helpers import cifar_records, shared, write_cifar_binary

from pixelcnn.data import load_dataset, read_cifar_binary, read_cifar_pickle
from pixelcnn.errors import DataError


def test_binary_batch_planes_and_labels(tmp_path):
    pixels, labels = cifar_records(3)
    images, got = read_cifar_binary(write_cifar_binary(tmp_path / "b.bin", pixels, labels))
    assert images.dtype == torch.uint8 and images.shape == (3, 3, 32, 32)
    assert got.dtype == torch.int64 and got.tolist() == labels.tolist()
    # record 1, green plane (bytes 1024..2047), row 2, column 5
    assert int(images[1, 1, 2, 5]) == int(pixels[1, 1024 + 2 * 32 + 5])
    assert np.array_equal(images.reshape(3, -1).numpy(), pixels)


def test_binary_batch_wrong_size_and_label(tmp_path):
    pixels, labels = cifar_records(2)
    path = write_cifar_binary(tmp_path / "cut.bin", pixels, labels)
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(DataError, match=r"cut.bin: 6145 bytes is not a positive multiple of 3073"):
        read_cifar_binary(path)
    labels[1] = 12
    with pytest.raises(DataError, match=r"label 12 of image 1 is not in 0..9"):
        read_cifar_binary(write_cifar_binary(tmp_path / "lab.bin", pixels, labels))


@pytest.mark.parametrize("protocol", [2, 4, 5])
@pytest.mark.parametrize("key_type", [bytes, str])
def test_python_batch_any_protocol(tmp_path, protocol, key_type):
    pixels, labels = cifar_records(4, seed=1)
    batch = {
        key_type(b"data") if key_type is bytes else "data": pixels,
        key_type(b"labels") if key_type is bytes else "labels": [int(v) for v in labels],
        b"batch_label": b"testing batch 1 of 1",
    }
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps(batch, protocol=protocol))
    images, got = read_cifar_pickle(path)
    assert np.array_equal(images.reshape(4, -1).numpy(), pixels)
    assert got.tolist() == labels.tolist()


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_pickle_with_forbidden_class_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": _Exploit(marker), b"labels": []}, protocol=2))
    assert "system" in str(
        list(pickletools.genops(path.read_bytes()))
    )  # the pickle does hold the call
    with pytest.raises(
        DataError,
        match=r"data_batch_1: refers to (posix|nt|os)\.system, which a CIFAR-10 pickle never needs",
    ):
        read_cifar_pickle(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x80\x04garbage", "not a valid CIFAR-10 pickle"),
        (
            pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 1]})[:-20],
            "not a valid CIFAR-10 pickle",
        ),
        (pickle.dumps([1, 2]), "the pickle holds a list, expected a dict"),
        (pickle.dumps({b"labels": [0]}), r"the pickle has no 'data' entry \(keys: labels\)"),
        (
            pickle.dumps({b"data": np.zeros((2, 3072), np.float32), b"labels": [0, 1]}),
            r"'data' is float32 \[2, 3072\], expected a uint8 array \[N, 3072\]",
        ),
        (
            pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}),
            "1 labels for 2 images",
        ),
    ],
    ids=["garbage", "truncated", "list", "no-data", "float-data", "few-labels"],
)
def test_corrupt_or_wrong_pickles(tmp_path, content, message):
    path = tmp_path / "test_batch"
    path.write_bytes(content)
    with pytest.raises(DataError, match=f"test_batch: {message}"):
        read_cifar_pickle(path)


def test_registered_set_reads_python_subfolder(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    pixels, labels = cifar_records(10000, seed=2)
    (folder / "test_batch").write_bytes(pickle.dumps({b"data": pixels, b"labels": labels.tolist()}))
    data = load_dataset("cifar10", "test", data_dir=tmp_path)
    assert data.images.shape == (10000, 3, 32, 32) and data.num_classes == 10
    assert np.array_equal(data.labels.numpy(), labels)
    with pytest.raises(
        DataError,
        match=r"cifar10 train: no batch \(data_batch_1\[.bin\] .. data_batch_5\) found; "
        r"looked in .*cifar-10-binary.tar.gz",
    ):
        load_dataset("cifar10", "train", data_dir=tmp_path, download=False)


def test_registered_set_checks_batch_size(tmp_path):
    pixels, labels = cifar_records(5)
    write_cifar_binary(tmp_path / "test_batch.bin", pixels, labels)
    with pytest.raises(DataError, match=r"test_batch.bin: 5 images, expected 10000"):
        load_dataset("cifar10", "test", data_dir=tmp_path)


def test_first_records_file_stands_in_for_a_missing_batch(tmp_path):
    pixels, labels = cifar_records(7, seed=3)
    write_cifar_binary(tmp_path / "test_batch_first7.bin", pixels, labels)
    write_cifar_binary(tmp_path / "test_batch_first3.bin", pixels[:3], labels[:3])
    data = load_dataset("cifar10", "test", data_dir=tmp_path)
    assert data.images.shape == (7, 3, 32, 32)  # the largest N
    assert np.array_equal(data.labels.numpy(), labels)
    write_cifar_binary(tmp_path / "test_batch_first9.bin", pixels, labels)  # names 9 records, holds 7
    with pytest.raises(DataError, match=r"test_batch_first9.bin: 7 images, expected 9"):
        load_dataset("cifar10", "test", data_dir=tmp_path)
    write_cifar_binary(tmp_path / "test_batch.bin", pixels, labels)  # a whole batch wins, and is checked
    with pytest.raises(DataError, match=r"test_batch.bin: 7 images, expected 10000"):
        load_dataset("cifar10", "test", data_dir=tmp_path)


@pytest.mark.real_data
def test_real_cifar_files():
    folder = shared("cifar10")
    images, labels = read_cifar_binary(folder / "test_batch_first1000.bin")
    assert images.shape == (1000, 3, 32, 32) and labels.shape == (1000,)
    assert labels[:10].tolist() == [
        3,
        8,
        8,
        0,
        6,
        6,
        1,
        6,
        3,
        1,
    ]  # cat, ship, ship, airplane, frog, ...
    first = (folder / "test_batch_first1000.bin").read_bytes()[:3073]
    assert np.array_equal(images[0].reshape(-1).numpy(), np.frombuffer(first[1:], np.uint8))
    data = load_dataset("cifar10", "train", data_dir=folder, valid_fraction=0)  # the whole batch
    assert data.images.shape == (10000, 3, 32, 32)
    assert load_dataset("cifar10", "test", data_dir=folder).images.shape == (1000, 3, 32, 32)
    assert data.labels[:10].tolist() == [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]
    assert torch.bincount(data.labels, minlength=10).min() > 900
    assert (
        data.class_names[6] == "frog" and (folder / "classes.txt").read_text().split()[6] == "frog"
    )
