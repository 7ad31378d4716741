"""Channel conversion, resizing and deterministic splits."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch
from PIL import Image

from pixelcnn.data import holdout_indices, stable_permutation
from pixelcnn.data.splits import holdout_size
from pixelcnn.data.transform import fit_image, luma, resize_images, to_channels
from pixelcnn.errors import DataError


def test_luma_equals_pillow_convert():
    rgb = np.random.default_rng(0).integers(0, 256, (9000, 3), dtype=np.uint8)
    rgb = np.concatenate(
        [rgb, np.array([[255, 255, 255], [0, 0, 0], [255, 0, 0], [1, 2, 3]], np.uint8)]
    )
    reference = np.asarray(Image.fromarray(rgb[None]).convert("L"))[0]
    ours = luma(torch.from_numpy(rgb.T.copy())[None, :, None, :])  # [1, 3, 1, K]
    assert np.array_equal(ours[0, 0, 0].numpy(), reference)


def test_to_channels_both_ways():
    gray = torch.arange(12, dtype=torch.uint8).reshape(1, 1, 3, 4)
    rgb = to_channels(gray, 3)
    assert rgb.shape == (1, 3, 3, 4) and all(torch.equal(rgb[:, c], gray[:, 0]) for c in range(3))
    assert torch.equal(to_channels(rgb, 1), gray)  # equal planes convert back exactly
    with pytest.raises(DataError, match="channels must be 1"):
        to_channels(gray, 2)


def test_fit_image_crops_centre_of_tall_image():
    tall = np.zeros((9, 3), np.uint8)
    tall[3:6] = 255  # the centred 3x3 square
    out = np.asarray(fit_image(Image.fromarray(tall), (3, 3)))
    assert out.tolist() == [[255] * 3] * 3


def test_resize_binary_stays_binary_and_bilinear_does_not():
    images = torch.zeros(2, 1, 28, 28, dtype=torch.uint8)
    images[:, :, 5:20:2, 5:20] = 255
    nearest = resize_images(images, (13, 17), binary=True)
    smooth = resize_images(images, (13, 17))
    assert nearest.shape == smooth.shape == (2, 1, 13, 17)
    assert set(nearest.unique().tolist()) <= {0, 255}
    assert len(smooth.unique()) > 2
    assert resize_images(images, (28, 28)) is images
    with pytest.raises(DataError, match="image_size must be"):
        resize_images(images, (0, 4))


def test_stable_permutation_is_a_fixed_permutation():
    p = stable_permutation(50, seed=3, salt="x")
    assert sorted(p.tolist()) == list(range(50))
    assert np.array_equal(p, stable_permutation(50, seed=3, salt="x"))
    assert not np.array_equal(p, stable_permutation(50, seed=4, salt="x"))
    # defined by SHA-256 digests alone, so the same on any machine and library version
    digests = [hashlib.sha256(f"0/y/{i}".encode()).digest() for i in range(6)]
    assert stable_permutation(6, seed=0, salt="y").tolist() == sorted(
        range(6), key=digests.__getitem__
    )


def test_holdout_is_stratified_disjoint_and_complete():
    labels = np.repeat(np.arange(3), [10, 20, 1])
    train = holdout_indices(labels, len(labels), "train")
    test = holdout_indices(labels, len(labels), "test")
    assert np.bincount(labels[test], minlength=3).tolist() == [1, 2, 0]
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(31))
    assert holdout_indices(None, 4, "all").tolist() == [0, 1, 2, 3]
    assert [holdout_size(n) for n in (1, 2, 5, 10, 11, 500)] == [0, 1, 1, 1, 2, 50]
    with pytest.raises(DataError, match="unknown split 'dev'"):
        holdout_indices(None, 4, "dev")
