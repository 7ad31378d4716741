"""Codes (``kind="codes"``): integer maps in [0, K) read from .npy / .npz files, K, fields and refusals."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pixelcnn.data import dataset_splits, load_dataset
from pixelcnn.data.codes import codes_levels
from pixelcnn.errors import DataError
from pixelcnn.levels import level_dtype


def codes(*shape, high, dtype=np.uint16, seed=0):
    """Random codes in [0, high] with ``high`` itself present (so that K from the data is high + 1)."""
    array = np.random.default_rng(seed).integers(0, high + 1, shape).astype(dtype)
    array.flat[0] = high
    return array


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.uint16, np.int16, np.int32, np.uint32, np.int64, np.uint64])
def test_any_integer_dtype_reads_as_the_narrowest_level_dtype(tmp_path, dtype):
    high = 100 if np.iinfo(dtype).max < 1000 else 999
    array = codes(12, 2, 3, high=high, dtype=dtype)
    np.save(tmp_path / "c.npy", array)
    ds = load_dataset(str(tmp_path / "c.npy"), "all", kind="codes")
    assert ds.levels == high + 1
    assert ds.images.dtype == level_dtype(high + 1) == (torch.uint8 if high < 256 else torch.int16)
    assert ds.images.shape == (12, 1, 2, 3)
    assert np.array_equal(ds.images[:, 0].numpy(), array)


def test_channels_first_codes_keep_their_channels(tmp_path):
    array = codes(10, 2, 3, 4, high=40, dtype=np.int64)  # [N, C, H, W] with C = 2
    np.save(tmp_path / "c.npy", array)
    ds = load_dataset(str(tmp_path / "c.npy"), "all", kind="codes")
    assert ds.images.shape == (10, 2, 3, 4) and np.array_equal(ds.images.numpy(), array)


def test_levels_from_the_data_or_from_data_levels(tmp_path):
    np.save(tmp_path / "c.npy", codes(10, 2, 2, high=999))
    path = str(tmp_path / "c.npy")
    assert codes_levels(path) == 1000
    assert codes_levels(path, levels=4096) == 4096
    ds = load_dataset(path, "all", kind="codes", levels=40_000)
    assert ds.levels == 40_000 and ds.images.dtype == torch.int32  # 40,000 > 2**15: int32 holds it
    np.save(tmp_path / "zeros.npy", np.zeros((3, 2, 2), np.uint8))
    assert codes_levels(str(tmp_path / "zeros.npy")) == 2  # at least 2 levels


def test_k_is_65536_at_the_edge(tmp_path):
    np.save(tmp_path / "c.npy", codes(6, 2, 2, high=65_535))
    ds = load_dataset(str(tmp_path / "c.npy"), "all", kind="codes")
    assert ds.levels == 65_536 and ds.images.dtype == torch.int32 and int(ds.images.max()) == 65_535


def test_k_counts_every_split_of_the_field(tmp_path):
    """A code that appears only in the test array still counts: K does not depend on the split."""
    np.savez(tmp_path / "c.npz", train=codes(8, 2, 2, high=10), test=codes(4, 2, 2, high=700, seed=1))
    assert codes_levels(str(tmp_path / "c.npz")) == 701
    train = load_dataset(str(tmp_path / "c.npz"), "train", kind="codes", valid_fraction=0)
    assert train.levels == 701 and train.images.dtype == torch.int16


def test_a_field_names_split_arrays_with_shared_labels(tmp_path):
    top, bottom = codes(20, 2, 2, high=511), codes(20, 4, 4, high=300, seed=1)
    labels = np.arange(20) % 4
    np.savez(tmp_path / "vq.npz", top_train=top[:15], top_test=top[15:], bottom_train=bottom[:15],
             bottom_test=bottom[15:], train_labels=labels[:15], test_labels=labels[15:])
    path = str(tmp_path / "vq.npz")
    assert dataset_splits(path, field="top") == ["train", "valid", "test"]
    test = load_dataset(path, "test", kind="codes", field="top")
    assert test.images.shape == (5, 1, 2, 2) and test.labels.tolist() == labels[15:].tolist()
    assert test.levels == codes_levels(path, "top")
    bottom_test = load_dataset(path, "test", kind="codes", field="bottom")
    assert np.array_equal(bottom_test.images[:, 0].numpy(), bottom[15:])
    assert bottom_test.labels.tolist() == labels[15:].tolist()


def test_a_field_names_one_set_split_like_a_folder(tmp_path):
    np.savez(tmp_path / "one.npz", top=codes(30, 2, 2, high=5), top_labels=np.arange(30) % 3)
    path = str(tmp_path / "one.npz")
    assert dataset_splits(path, field="top") == ["train", "valid", "test", "all"]
    train, test = (load_dataset(path, s, kind="codes", field="top") for s in ("train", "test"))
    assert len(train) + len(test) + len(load_dataset(path, "valid", kind="codes", field="top")) == 30
    assert test.num_classes == 3 and train.levels == 6


def test_pixels_read_through_a_field_too(tmp_path):
    np.savez(tmp_path / "p.npz", faces_train=np.zeros((4, 2, 2), np.uint8), faces_test=np.ones((2, 2, 2), np.uint8))
    got = load_dataset(str(tmp_path / "p.npz"), "test", field="faces")
    assert got.images.dtype == torch.uint8 and int(got.images.max()) == 1 and got.levels == 0


def test_memory_mapped_codes_read_as_in_memory(tmp_path):
    array = codes(40, 3, 3, high=1200, dtype=np.int64)
    np.save(tmp_path / "c.npy", array)
    lazy = load_dataset(str(tmp_path / "c.npy"), "train", kind="codes", lazy=True)
    whole = load_dataset(str(tmp_path / "c.npy"), "train", kind="codes")
    rows = np.arange(len(whole))
    assert lazy.images.read(rows).dtype == torch.int16
    assert torch.equal(lazy.images.read(rows), whole.images)


# --- refusals: one line each, naming the file and the fault ------------------------------------------

@pytest.mark.parametrize(
    ("array", "levels", "message"),
    [
        (np.full((3, 2, 2), 7, np.int32) - np.eye(2, dtype=np.int32) * 9, 0, r"code -2 is negative"),
        (np.full((3, 2, 2), 70_000, np.int64), 0, r"code 70000 needs K = 70001 levels, above the most, 65,536"),
        (np.full((3, 2, 2), 16, np.uint16), 16, r"code 16 is outside \[0, 16\) \(data.levels = 16\)"),
        (np.zeros((3, 2, 2), np.float32), 0, r"dtype float32; codes must be integers \(data.kind=codes\), not floats"),
        (np.zeros((3, 2, 2), bool), 0, r"dtype bool; codes must be integers"),
        (np.zeros((3, 4), np.uint16), 0, r"shape \[3, 4\]; codes must be shaped \[N, H, W\] or \[N, C, H, W\]"),
        (np.zeros((3, 1, 2, 2, 2), np.uint16), 0, r"shape \[3, 1, 2, 2, 2\]; codes must be shaped"),
        (np.zeros((0, 2, 2), np.uint16), 0, r"holds no codes"),
    ],
    ids=["negative", "above-65536", "not-covered", "float", "bool", "2d", "5d", "empty"],
)
def test_bad_codes_get_one_line(tmp_path, array, levels, message):
    np.save(tmp_path / "bad.npy", array)
    with pytest.raises(DataError, match=rf"bad.npy:? {message}") as info:
        load_dataset(str(tmp_path / "bad.npy"), "all", kind="codes", levels=levels)
    assert "\n" not in str(info.value)


def test_a_missing_field_and_other_misuse_get_one_line(tmp_path):
    np.savez(tmp_path / "vq.npz", top_train=codes(4, 2, 2, high=3))
    path = str(tmp_path / "vq.npz")
    with pytest.raises(DataError, match=r"data.field = bottom names no array \(looked for 'bottom', 'bottom_train'"):
        load_dataset(path, "train", kind="codes", field="bottom")
    np.save(tmp_path / "c.npy", codes(4, 2, 2, high=3))
    with pytest.raises(DataError, match=r"c.npy: data.field = top names arrays of an .npz file"):
        load_dataset(str(tmp_path / "c.npy"), "all", kind="codes", field="top")
    with pytest.raises(DataError, match=r"data.kind = codes reads a .npy or .npz file of integer codes; mnist5k is a"):
        load_dataset("mnist5k", "train", kind="codes")
    with pytest.raises(DataError, match=r"image_size and channels apply to pixels only"):
        load_dataset(str(tmp_path / "c.npy"), "all", kind="codes", image_size=(4, 4))
    with pytest.raises(DataError, match=r"kind must be one of pixels, codes"):
        load_dataset(str(tmp_path / "c.npy"), "all", kind="tokens")


def test_a_rewritten_file_is_read_again(tmp_path):
    path = tmp_path / "c.npy"
    np.save(path, codes(4, 2, 2, high=9))
    assert codes_levels(str(path)) == 10
    np.save(path, codes(5, 2, 2, high=99))  # another size: the cached range is not used
    assert codes_levels(str(path)) == 100


def test_training_batches_of_mapped_codes_equal_those_in_memory(tmp_path):
    """A .npy of codes is memory-mapped for training; its batches are the codes, as long, in [0, K)."""
    from pixelcnn.config import DataSection
    from pixelcnn.training.data import TrainStream, load_split

    array = codes(40, 3, 3, high=2000, dtype=np.uint16)
    np.save(tmp_path / "c.npy", array)
    np.savez(tmp_path / "c.npz", images=array)
    mapped, whole = (load_split(DataSection(name=str(tmp_path / f), kind="codes"), "train", seed=1)
                     for f in ("c.npy", "c.npz"))
    assert not isinstance(mapped.images, torch.Tensor) and isinstance(whole.images, torch.Tensor)
    assert mapped.levels.data_cfg.levels == whole.levels.data_cfg.levels == 2001
    a = TrainStream(mapped.images, None, mapped.levels.data_cfg, seed=1).batch(0, 8, 8)
    b = TrainStream(whole.images, None, whole.levels.data_cfg, seed=1).batch(0, 8, 8)
    assert a.levels.dtype == torch.long and torch.equal(a.levels, b.levels)
    assert torch.equal(mapped.levels[:5].long(), whole.levels[:5].long())
