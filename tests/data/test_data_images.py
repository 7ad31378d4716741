"""Folders of images: order, labels, channels, resizing, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from pixelcnn.data import dataset_splits, load_dataset, read_image_folder
from pixelcnn.errors import DataError


def save(path, array, **kwargs):
    """Save uint8 array [H, W] or [H, W, 3] as an image file (format from the suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, **kwargs)
    return path


def gray(value, h=4, w=6):
    return np.full((h, w), value, np.uint8)


def test_png_folder_sorted_by_name_recursively(tmp_path):
    save(tmp_path / "b.png", gray(20))
    save(tmp_path / "a.png", gray(10))
    save(tmp_path / "sub" / "c.png", gray(30))
    (tmp_path / "notes.txt").write_text("skipped: not an image extension")
    save(tmp_path / ".hidden.png", gray(99))

    images, labels, classes = read_image_folder(tmp_path)

    assert images.dtype == torch.uint8 and images.shape == (3, 1, 4, 6)
    assert images[:, 0, 0, 0].tolist() == [10, 20, 30]
    assert labels is None and classes == ()


def test_class_subfolders_give_labels(tmp_path):
    save(tmp_path / "dog" / "1.png", gray(1))
    save(tmp_path / "cat" / "2.png", gray(2))
    save(tmp_path / "cat" / "3.png", gray(3))
    images, labels, classes = read_image_folder(tmp_path)
    assert classes == ("cat", "dog")
    assert labels.tolist() == [0, 0, 1]
    assert images[:, 0, 0, 0].tolist() == [2, 3, 1]


def test_rgb_png_exact_and_jpeg_close(tmp_path):
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    save(tmp_path / "a.png", rgb)
    smooth = np.repeat(np.linspace(0, 255, 8, dtype=np.uint8)[None, :, None], 8, 0).repeat(3, 2)
    save(tmp_path / "b.jpg", smooth, quality=95)

    images, _, _ = read_image_folder(tmp_path)

    assert images.shape == (2, 3, 8, 8)
    assert np.array_equal(images[0].permute(1, 2, 0).numpy(), rgb)
    assert np.abs(images[1].permute(1, 2, 0).numpy().astype(int) - smooth).max() <= 8


def test_channels_conversion_matches_pillow(tmp_path):
    rgb = np.random.default_rng(1).integers(0, 256, (5, 5, 3), dtype=np.uint8)
    save(tmp_path / "a.png", rgb)
    gray_images, _, _ = read_image_folder(tmp_path, channels=1)
    assert np.array_equal(gray_images[0, 0].numpy(), np.asarray(Image.fromarray(rgb).convert("L")))
    save(tmp_path / "a.png", gray(77, 5, 5))
    rgb_images, _, _ = read_image_folder(tmp_path, channels=3)
    assert rgb_images.shape == (1, 3, 5, 5) and bool((rgb_images == 77).all())


def test_image_size_centre_crops_then_resizes(tmp_path):
    wide = np.zeros((4, 8), np.uint8)
    wide[:, 2:6] = 200  # the centred 4x4 square is bright, the sides dark
    save(tmp_path / "wide.png", wide)
    save(tmp_path / "small.png", gray(50, 2, 2))
    images, _, _ = read_image_folder(tmp_path, image_size=(4, 4))
    assert images.shape == (2, 1, 4, 4)
    assert images[0, 0].unique().tolist() == [50]  # small.png sorts first, upscaled
    assert images[1, 0].unique().tolist() == [200]  # the dark sides were cropped away


def test_wrong_image_size_names_file_and_sizes(tmp_path):
    save(tmp_path / "a.png", gray(1, 4, 6))
    save(tmp_path / "b.png", gray(1, 5, 6))
    with pytest.raises(
        DataError, match=r"b.png: image is 5x6 \(HxW\) but a.png is 4x6; pass image_size"
    ):
        read_image_folder(tmp_path)


def test_corrupt_png_is_named(tmp_path):
    save(tmp_path / "a.png", gray(1))
    (tmp_path / "b.png").write_bytes(b"this is not a png")
    with pytest.raises(DataError, match=r"b.png: not a readable image"):
        read_image_folder(tmp_path)


def test_truncated_png_is_named(tmp_path):
    path = save(
        tmp_path / "a.png", np.random.default_rng(2).integers(0, 256, (64, 64), dtype=np.uint8)
    )
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(DataError, match=r"a.png: not a readable image"):
        read_image_folder(tmp_path)


def test_empty_or_missing_folder(tmp_path):
    (tmp_path / "readme.txt").write_text("no images")
    with pytest.raises(DataError, match=r"no image files"):
        read_image_folder(tmp_path)
    with pytest.raises(DataError, match=r"absent: no such folder"):
        read_image_folder(tmp_path / "absent")


def test_folder_splits_are_a_disjoint_holdout(tmp_path):
    for i in range(20):
        save(tmp_path / f"{i:02d}.png", gray(i))
    name = str(tmp_path)
    assert dataset_splits(name) == ["train", "valid", "test", "all"]
    train, valid, test, everything = (load_dataset(name, s) for s in ("train", "valid", "test", "all"))
    assert len(train) == 16 and len(valid) == 2 and len(test) == 2
    assert everything.images[:, 0, 0, 0].tolist() == list(range(20))
    values = [v for s in (train, valid, test) for v in s.images[:, 0, 0, 0].tolist()]
    assert sorted(values) == list(range(20))
    assert train.name == name and train.split == "train" and train.labels is None


def test_labelled_folder_through_load_dataset(tmp_path):
    for i in range(10):
        save(tmp_path / "a" / f"{i}.png", gray(i, 3, 3))
        save(tmp_path / "b" / f"{i}.png", gray(100 + i, 3, 3))
    test = load_dataset(str(tmp_path), "test", channels=3, image_size=(6, 6))
    assert test.images.shape == (2, 3, 6, 6) and test.num_classes == 2
    assert sorted(test.labels.tolist()) == [0, 1] and test.class_names == ("a", "b")
