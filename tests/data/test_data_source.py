"""A split opened lazily (memory-mapped .npy, folder decoded on demand) holds exactly the images
and labels of the same split read whole, whatever the layout, split and conversion."""

import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from pixelcnn.data import load_dataset
from pixelcnn.data.source import MappedArray, read_all, read_rows
from pixelcnn.errors import DataError

SPLITS = ("valid", "test")  # valid: a carve of the hold-out; test: the hold-out
CONVERSIONS = [{}, {"channels": 1}, {"channels": 3, "image_size": (4, 6)}]


@pytest.fixture(params=["nhw", "nhwc", "nchw"])
def npy(tmp_path, request):
    shape = {"nhw": (30, 6, 7), "nhwc": (30, 6, 7, 3), "nchw": (30, 3, 6, 7)}[request.param]
    path = tmp_path / f"{request.param}.npy"
    np.save(path, np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8))
    return path


@pytest.fixture(params=["gray", "mixed"])
def folder(tmp_path, request):
    """Two class folders; "gray": all gray 6x7; "mixed": RGB and gray of different sizes."""
    rng = np.random.default_rng(1)
    for k in range(24):
        sub = tmp_path / "pics" / f"c{k % 2}"
        sub.mkdir(parents=True, exist_ok=True)
        h, w = (6, 7) if request.param == "gray" else (6 + k % 3, 7 + k % 2)
        image = Image.fromarray((rng.random((h, w, 3)) * 255).astype(np.uint8))
        (image.convert("L") if request.param == "gray" or k % 5 == 0 else image).save(sub / f"{k:02d}.png")
    return tmp_path / "pics", request.param


def same(path, split, **convert):
    lazy, whole = (load_dataset(str(path), split, lazy=lz, **convert) for lz in (True, False))
    assert not isinstance(lazy.images, torch.Tensor) and lazy.images.shape == tuple(whole.images.shape)
    assert torch.equal(read_all(lazy.images), whole.images)
    assert (lazy.labels is None and whole.labels is None) or torch.equal(lazy.labels, whole.labels)
    index = [len(whole) - 1, 0, len(whole) // 2]
    assert torch.equal(read_rows(lazy.images, index), whole.images[index])  # any rows, any order
    return lazy


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize("convert", CONVERSIONS)
def test_a_memory_mapped_npy_holds_the_images_of_the_file_read_whole(npy, split, convert):
    lazy = same(npy, split, **convert)
    again = pickle.loads(pickle.dumps(lazy.images))  # what a DataLoader worker gets
    assert len(pickle.dumps(lazy.images)) < 2000  # the map, not its contents
    assert torch.equal(read_all(again), read_all(lazy.images))


@pytest.mark.parametrize("split", SPLITS)
def test_a_folder_read_on_demand_holds_the_images_of_the_folder_read_whole(folder, split):
    path, kind = folder
    if kind == "mixed":  # sizes differ: they must be fitted (and a size given)
        with pytest.raises(DataError, match="image is"):
            load_dataset(str(path), split, lazy=True)
        same(path, split, image_size=(5, 5))
        same(path, split, image_size=(5, 5), channels=1)
    else:
        assert same(path, split).images.shape[1] == 1  # all gray: one channel
        same(path, split, channels=3)


def test_a_bad_npy_is_refused_when_opened(tmp_path):
    np.save(tmp_path / "f.npy", np.zeros((3, 5, 5), np.float32))
    with pytest.raises(DataError, match="dtype float32"):
        MappedArray(tmp_path / "f.npy")
    np.save(tmp_path / "e.npy", np.zeros((0, 5, 5), np.uint8))
    with pytest.raises(DataError, match="no images"):
        MappedArray(tmp_path / "e.npy")
    (tmp_path / "x.npy").write_bytes(b"not an array")
    with pytest.raises(DataError, match="cannot read"):
        MappedArray(tmp_path / "x.npy")
