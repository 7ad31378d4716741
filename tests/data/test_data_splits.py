"""Validation splits carved off training splits: fixed, disjoint, stratified, switchable."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pixelcnn.config import resolve
from pixelcnn.data import dataset_splits, load_dataset
from pixelcnn.data.splits import carve_valid, holdout_size
from pixelcnn.errors import ConfigError, DataError
from pixelcnn.training.data import load_split, validation_split_name


def test_carve_is_stratified_with_exact_rounding():
    labels = np.repeat(np.arange(4), [450, 20, 1, 7])
    held = carve_valid(labels, len(labels), 0.1)
    assert np.bincount(labels[held], minlength=4).tolist() == [45, 2, 0, 1]
    # in floats 100 * 0.07 is 7.000000000000001; the carve must take 7 of 100, not 8
    assert carve_valid(None, 100, 0.07).sum() == 7
    assert carve_valid(None, 30, 0.25).sum() == 8
    assert holdout_size(450, 10) == 45


def test_carve_is_a_pure_function_of_the_data():
    labels = np.repeat(np.arange(3), 40)
    first = carve_valid(labels, len(labels), 0.1)
    assert np.array_equal(first, carve_valid(labels.copy(), len(labels), 0.1))
    # the pick within a class is not simply the first images of the class
    assert not np.array_equal(np.flatnonzero(first[:40]), np.arange(4))
    with pytest.raises(DataError, match=r"valid_fraction must be in \[0, 1\), got 1"):
        carve_valid(labels, len(labels), 1)


def test_mnist5k_valid_is_fixed_stratified_and_disjoint():
    assert dataset_splits("mnist5k") == ["train", "valid", "test"]
    train, valid, test = (load_dataset("mnist5k", s) for s in ("train", "valid", "test"))
    assert len(train) == 4050 and len(valid) == 450 and len(test) == 500
    assert torch.bincount(valid.labels).tolist() == [45] * 10
    assert torch.bincount(train.labels).tolist() == [405] * 10
    rows = {s.split: {bytes(x.numpy()) for x in s.images} for s in (train, valid, test)}
    assert not rows["train"] & rows["valid"] and not rows["valid"] & rows["test"]
    whole = load_dataset("mnist5k", "train", valid_fraction=0)  # the 4,500 training digits
    assert len(whole) == 4500 and rows["train"] | rows["valid"] == {bytes(x.numpy()) for x in whole.images}
    assert torch.equal(load_dataset("mnist5k", "valid").images, valid.images)


def test_unlabelled_array_gets_a_carve_and_fraction_zero_removes_it(tmp_path):
    images = np.repeat(np.arange(40, dtype=np.uint8), 4).reshape(40, 2, 2)
    np.save(tmp_path / "a.npy", images)
    name = str(tmp_path / "a.npy")
    assert dataset_splits(name) == ["train", "valid", "test", "all"]
    train, valid = load_dataset(name, "train"), load_dataset(name, "valid")
    assert len(train) == 32 and len(valid) == 4 and valid.labels is None
    values = train.images[:, 0, 0, 0].tolist() + valid.images[:, 0, 0, 0].tolist()
    assert sorted(values) == sorted(load_dataset(name, "train", valid_fraction=0).images[:, 0, 0, 0].tolist())
    assert dataset_splits(name, valid_fraction=0) == ["train", "test", "all"]
    with pytest.raises(DataError, match=r"a.npy has no split 'valid' \(valid_fraction is 0\)"):
        load_dataset(name, "valid", valid_fraction=0)


def test_a_set_with_its_own_valid_split_keeps_it(tmp_path):
    pixels = np.zeros((6, 1, 2, 2), np.uint8)
    np.savez(tmp_path / "s.npz", train=pixels, valid=pixels[:2] + 1, test=pixels[:3])
    name = str(tmp_path / "s.npz")
    assert dataset_splits(name) == ["train", "valid", "test"]
    assert len(load_dataset(name, "train")) == 6 and int(load_dataset(name, "valid").images.max()) == 1
    assert dataset_splits("binarized-mnist") == ["train", "valid", "test"]


def test_training_config_picks_valid_and_test_only_on_purpose():
    data = resolve(None, ["train.seed=5"]).data
    assert validation_split_name(data) == "valid"
    # the carve does not move with the training seed
    assert torch.equal(load_split(data, "valid", seed=5).images, load_split(data, "valid", seed=0).images)
    on_test = resolve(None, ["data.valid_split=test"]).data
    assert validation_split_name(on_test) == "test" and len(load_split(on_test, "train").images) == 4500
    none = resolve(None, ["data.valid_fraction=0"]).data
    with pytest.raises(DataError, match=r"mnist5k has no validation split with data.valid_fraction=0"):
        validation_split_name(none)
    with pytest.raises(ConfigError, match=r"data.valid_fraction must be in \[0, 1\)"):
        resolve(None, ["data.valid_fraction=1.5"])
