"""The embedded default set ``mnist5k``: sizes, stratification, determinism."""

from __future__ import annotations

import json

import pytest
import torch
from make_mnist5k_golden import GOLDEN, SPLITS, fingerprint

from pixelcnn.data import dataset_splits, load_dataset
from pixelcnn.data.mnist5k import read_mnist5k
from pixelcnn.errors import DataError


@pytest.fixture(scope="module")
def splits():
    return {s: load_dataset("mnist5k", s) for s in SPLITS}


def test_sizes_and_stratification(splits):
    assert dataset_splits("mnist5k") == list(SPLITS)
    train, valid, test = (splits[s] for s in SPLITS)
    assert len(train) == 4050 and len(valid) == 450 and len(test) == 500
    assert torch.bincount(train.labels).tolist() == [405] * 10
    assert torch.bincount(valid.labels).tolist() == [45] * 10
    assert torch.bincount(test.labels).tolist() == [50] * 10
    assert train.num_classes == valid.num_classes == test.num_classes == 10


def test_images_look_like_mnist(splits):
    images = splits["train"].images
    assert images.dtype == torch.uint8 and images.shape == (4050, 1, 28, 28)
    assert int(images.max()) == 255 and int(images.min()) == 0
    assert 0.05 < images.float().mean() / 255 < 0.25  # mostly black background
    assert int(images[:, :, 0, :].max()) < 64  # the top row is (nearly) empty, as in MNIST


def test_splits_are_disjoint_and_shuffled(splits):
    train_rows = {bytes(x.numpy()) for x in splits["train"].images}
    test_rows = {bytes(x.numpy()) for x in splits["test"].images}
    assert not train_rows & test_rows
    assert splits["train"].labels[:20].unique().numel() > 3  # not sorted by class any more


def test_deterministic_and_matches_golden(splits):
    again = load_dataset("mnist5k", "test")
    assert torch.equal(again.images, splits["test"].images)
    assert torch.equal(again.labels, splits["test"].labels)
    golden = json.loads(GOLDEN.read_text())
    assert {s: fingerprint(s) for s in SPLITS} == golden


def test_unknown_split_and_unreadable_embedded_file(monkeypatch, tmp_path):
    with pytest.raises(DataError, match=r"mnist5k has no split 'dev'; choose from train, valid, test"):
        load_dataset("mnist5k", "dev")
    (tmp_path / "mnist5k.npz").write_bytes(b"PK\x03\x04 not really a zip")
    monkeypatch.setattr("pixelcnn.data.mnist5k.resources.files", lambda package: tmp_path)
    read_mnist5k.cache_clear()
    try:
        with pytest.raises(DataError, match=r"^pixelcnn/data/mnist5k.npz: missing or unreadable \(.*reinstall"):
            read_mnist5k()
    finally:
        read_mnist5k.cache_clear()
