"""``.amat`` reader on tiny generated files and on the real binarized MNIST files."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch
from data_helpers import amat_text, shared, write

from pixelcnn.data import read_amat
from pixelcnn.data.files import read_bytes
from pixelcnn.errors import DataError


@pytest.mark.parametrize("compress", [False, True])
def test_values_become_0_and_255(tmp_path, compress):
    bits = np.array([[0, 1, 1, 0, 0, 1], [1, 1, 1, 0, 0, 0]], np.uint8)
    path = write(tmp_path / "t.amat", amat_text(bits), compress)

    images = read_amat(path, image_size=(2, 3))

    assert images.dtype == torch.uint8 and images.shape == (2, 1, 2, 3)
    assert np.array_equal(images.reshape(2, 6).numpy(), bits * 255)


def test_float_spelling_uses_general_parser(tmp_path):
    path = write(tmp_path / "f.amat", b"0.0 1.0\t1e0 0\r\n\n1 1 0 0.\n")
    images = read_amat(path, image_size=(2, 2))
    assert images.reshape(2, 4).tolist() == [[0, 255, 255, 0], [255, 255, 0, 0]]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"0 1 1\n1 0 1 1\n", r"line 1 has 3 values, expected 4"),
        (b"0 1 2 1\n", r"line 1 holds the value 2; binary images need 0 or 1"),
        (b"0 1 10 1\n", r"line 1 holds the value 10"),
        (b"0 1 x 1\n", r"line 1 holds a value that is not a number"),
        (b"\n \n", r"no images"),
    ],
)
def test_bad_content_names_file_and_line(tmp_path, text, message):
    path = write(tmp_path / "bad.amat", text)
    with pytest.raises(DataError, match=rf"bad.amat: {message}"):
        read_amat(path, image_size=(2, 2))


@pytest.mark.real_data
def test_real_binarized_mnist_test_set():
    path = shared("binarized-mnist", "binarized_mnist_test.amat.gz")
    expected = "e6687bfea3f820c174f33b7865140b2a2dd2930ef786f35d45795fc193b5ab2c"
    assert hashlib.sha256(read_bytes(path)).hexdigest() == expected
    images = read_amat(path)
    assert images.shape == (10000, 1, 28, 28)
    assert torch.unique(images).tolist() == [0, 255]
    assert 0.05 < (images == 255).float().mean() < 0.25  # digits cover a small part of the frame


@pytest.mark.slow
@pytest.mark.real_data
def test_real_binarized_mnist_train_set():
    images = read_amat(shared("binarized-mnist", "binarized_mnist_train.amat.gz"))
    assert images.shape == (50000, 1, 28, 28)
    assert torch.unique(images).tolist() == [0, 255]
