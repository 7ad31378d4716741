"""``.npy`` / ``.npz`` files: layouts, labels, splits and refusals."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pixelcnn.data import dataset_splits, load_dataset, read_array_file
from pixelcnn.errors import DataError


def images(*shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


@pytest.mark.parametrize(
    ("shape", "to_nchw"),
    [
        ((5, 4, 3), lambda a: a[:, None]),
        ((5, 4, 6, 3), lambda a: a.transpose(0, 3, 1, 2)),
        ((5, 4, 6, 1), lambda a: a.transpose(0, 3, 1, 2)),
        ((5, 3, 4, 6), lambda a: a),
    ],
)
def test_npy_layouts(tmp_path, shape, to_nchw):
    array = images(*shape)
    np.save(tmp_path / "x.npy", array)
    got, labels = read_array_file(tmp_path / "x.npy")
    assert got.dtype == torch.uint8 and labels is None
    assert np.array_equal(got.numpy(), to_nchw(array))


def test_npz_images_and_labels(tmp_path):
    array, labels = images(6, 4, 4), np.array([0, 1, 2, 0, 1, 2])
    np.savez(tmp_path / "x.npz", images=array, labels=labels)
    got, got_labels = read_array_file(tmp_path / "x.npz")
    assert np.array_equal(got[:, 0].numpy(), array)
    assert got_labels.dtype == torch.int64 and got_labels.tolist() == labels.tolist()


def test_npz_first_array_and_split_keys(tmp_path):
    np.savez(tmp_path / "first.npz", pixels=images(3, 2, 2))
    assert read_array_file(tmp_path / "first.npz")[0].shape == (3, 1, 2, 2)
    np.savez(
        tmp_path / "split.npz",
        train=images(4, 2, 2),
        test=images(2, 2, 2, seed=1),
        test_labels=np.array([3, 1]),
    )
    name = str(tmp_path / "split.npz")
    assert dataset_splits(name) == ["train", "valid", "test"]
    test = load_dataset(name, "test")
    assert test.labels.tolist() == [3, 1] and test.num_classes == 4
    assert load_dataset(name, "train", valid_fraction=0).labels is None
    with pytest.raises(DataError, match=r"split.npz has no split 'all'; choose from train, valid, test"):
        load_dataset(name, "all")


def test_single_array_holdout_and_conversion(tmp_path):
    np.save(tmp_path / "x.npy", images(30, 4, 4, 3))
    name = str(tmp_path / "x.npy")
    train, test = (
        load_dataset(name, "train"),
        load_dataset(name, "test", channels=1, image_size=(2, 2)),
    )
    assert len(train) == 24 and train.images.shape[1:] == (3, 4, 4)  # 27 less 3 carved for valid
    assert test.images.shape == (3, 1, 2, 2)


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((2, 4, 4), np.float32), r"dtype float32, expected uint8"),
        (np.zeros((2, 4), np.uint8), r"shape \[2, 4\], expected \[N, H, W\]"),
        (np.zeros((2, 3, 4, 3), np.uint8), r"shape \[2, 3, 4, 3\] is ambiguous"),
        (np.zeros((2, 5, 4, 4), np.uint8), r"shape \[2, 5, 4, 4\]: expected 1 or 3 channels"),
    ],
    ids=["float", "2d", "ambiguous", "5-channels"],
)
def test_bad_arrays(tmp_path, array, message):
    np.save(tmp_path / "bad.npy", array)
    with pytest.raises(DataError, match=rf"bad.npy: {message}"):
        read_array_file(tmp_path / "bad.npy")


def test_bad_labels_and_pickled_objects(tmp_path):
    np.savez(tmp_path / "l.npz", images=images(3, 2, 2), labels=np.array([0.5, 1, 2]))
    with pytest.raises(DataError, match=r"l.npz\['images'\]: labels have dtype float64"):
        read_array_file(tmp_path / "l.npz")
    np.savez(tmp_path / "n.npz", images=images(3, 2, 2), labels=np.array([0, 1]))
    with pytest.raises(DataError, match=r"labels have shape \[2\], expected \[3\]"):
        read_array_file(tmp_path / "n.npz")
    np.save(tmp_path / "o.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(
        DataError, match=r"o.npy: cannot read the array \(Object arrays cannot be loaded"
    ):
        read_array_file(tmp_path / "o.npy")
    (tmp_path / "z.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match=r"z.npz: not a readable .npz file"):
        read_array_file(tmp_path / "z.npz")
