"""``pixelcnn compress`` / ``decompress`` through the real CLI: round trips, and bad input as one line
with nothing written."""

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from pixelcnn.cli.main import main


def tiny_run(root, name, seed):
    """A two-step run of a few hundred weights on 8x8 gray images of 4 levels (about a second)."""
    return ["-q", "train", "--out", str(root / name), f"data.name={root / 'tiny.npz'}", "data.levels=4",
            "model.name=pixelcnn-seed", "model.hidden=8", "model.layers=1", "train.batch_size=16",
            "train.epochs=0", "train.max_steps=2", "train.sample_count=0", "train.progress=false",
            "train.eval_batch_size=64", "train.threads=1", f"train.seed={seed}"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("compress")
    rng = np.random.default_rng(0)
    images = (rng.integers(0, 4, (50, 8, 8)) * 85).astype(np.uint8)  # exactly the 4 levels' values
    np.savez(root / "tiny.npz", train=images[:40], test=images[40:])
    assert main(tiny_run(root, "run", 0)) == 0
    assert main(tiny_run(root, "other", 1)) == 0
    pngs = root / "pngs"
    pngs.mkdir()
    for k in range(4):
        Image.fromarray(images[k]).save(pngs / f"{k}.png")
    np.save(root / "arr.npy", images[4:7])
    assert main(["-q", "compress", "--checkpoint", str(root / "run"), str(pngs), str(root / "arr.npy"),
                 "--out", str(root / "good.pxz")]) == 0
    return root, images[:7]


def test_round_trip_through_pngs_and_npy(setup, tmp_path, capsys):
    root, images = setup
    run = str(root / "run")
    capsys.readouterr()
    assert main(["decompress", "--checkpoint", run, str(root / "good.pxz"), "--out", str(tmp_path / "back.npy"),
                 "--json"]) == 0
    assert '"images": 7' in capsys.readouterr().out
    back = np.load(tmp_path / "back.npy")
    assert back.shape == (7, 1, 8, 8) and np.array_equal(back[:, 0], images)
    assert main(["-q", "decompress", "--checkpoint", run, str(root / "good.pxz"), "--out", str(tmp_path / "d")]) == 0
    pngs = sorted((tmp_path / "d").iterdir())
    assert [p.name for p in pngs][:2] == ["000000.png", "000001.png"]
    assert np.array_equal(np.stack([np.asarray(Image.open(p)) for p in pngs]), images)
    # the decompressed PNGs compress again to the same file
    assert main(["-q", "compress", "--checkpoint", run, str(tmp_path / "d"), "--out", str(tmp_path / "again.pxz")]) == 0
    assert (tmp_path / "again.pxz").read_bytes() == (root / "good.pxz").read_bytes()


def test_quantize_is_asked_for_and_said(setup, tmp_path, capsys):
    root, images = setup
    odd = images[:2].copy()
    odd[0, 0, 0] = 100  # not one of the 4 levels' values
    np.save(tmp_path / "odd.npy", odd)
    args = ["compress", "--checkpoint", str(root / "run"), str(tmp_path / "odd.npy"), "--out", str(tmp_path / "q.pxz")]
    assert main(args) == 2
    assert "--quantize" in capsys.readouterr().err and not (tmp_path / "q.pxz").exists()
    assert main([*args, "--quantize", "--json"]) == 0
    captured = capsys.readouterr()
    assert "quantized" in captured.err and '"lossy": true' in captured.out
    assert main(["-q", "decompress", "--checkpoint", str(root / "run"), str(tmp_path / "q.pxz"),
                 "--out", str(tmp_path / "q.npy")]) == 0
    back = np.load(tmp_path / "q.npy")[:, 0]
    assert back[0, 0, 0] == 85 and np.array_equal(back[1], odd[1])


def damaged_copy(name, change):
    def make(root, tmp):
        data = bytearray((root / "good.pxz").read_bytes())
        change(data)
        (tmp / name).write_bytes(bytes(data))
        return tmp / name
    return make


def flip(k):
    def change(data):
        data[k] ^= 1
    return change


def future(data):
    data[8:10] = struct.pack("<H", 7)
    data[-4:] = struct.pack("<I", zlib.crc32(bytes(data[:-4])))


def truncate(data):
    del data[-3:]


def empty(data):
    data.clear()


def text_file(root, tmp):
    (tmp / "f.txt").write_text("hello\n")
    return tmp / "f.txt"


def folder_with(kind):
    def make(root, tmp):
        folder = tmp / "in"
        folder.mkdir()
        Image.fromarray(np.zeros((8, 8), np.uint8)).save(folder / "a.png")
        if kind == "text":
            (folder / "notes.txt").write_text("not an image")
        elif kind == "rgb":
            Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(folder / "b.png")
        elif kind == "size":
            Image.fromarray(np.zeros((9, 8), np.uint8)).save(folder / "b.png")
        return folder
    return make


def existing(root, tmp):
    (tmp / "taken.pxz").write_bytes(b"keep me")
    return tmp / "taken.pxz"


DECOMPRESS = ["decompress", "--checkpoint", "{run}", "{input}", "--out", "{tmp}/out.npy"]
COMPRESS = ["compress", "--checkpoint", "{run}", "{input}", "--out", "{tmp}/out.pxz"]
CASES = [
    ("damaged-header", DECOMPRESS, damaged_copy("a.pxz", flip(20)), "damaged"),
    ("damaged-payload", DECOMPRESS, damaged_copy("a.pxz", flip(-10)), "damaged"),
    ("truncated", DECOMPRESS, damaged_copy("a.pxz", truncate), "truncated"),
    ("empty", DECOMPRESS, damaged_copy("a.pxz", empty), "empty"),
    ("foreign", DECOMPRESS, text_file, "not a pixelcnn compressed file"),
    ("future-version", DECOMPRESS, damaged_copy("a.pxz", future), "version 7, newer"),
    ("wrong-checkpoint", [*DECOMPRESS[:2], "{other}", *DECOMPRESS[3:]], damaged_copy("a.pxz", lambda d: None),
     "another model"),
    ("folder-with-non-image", COMPRESS, folder_with("text"), "notes.txt: not a readable image"),
    ("wrong-mode", COMPRESS, folder_with("rgb"), "image mode RGB"),
    ("wrong-size", COMPRESS, folder_with("size"), "9x8 pixels"),
    ("compress-out-exists", [*COMPRESS[:5], "{tmp}/taken.pxz"], lambda r, t: (existing(r, t), r / "arr.npy")[1],
     "exists; pass --force"),
    ("decompress-out-exists", [*DECOMPRESS[:5], "{tmp}/taken.pxz"], damaged_copy("a.pxz", lambda d: None),
     "exists; pass --force"),
]


@pytest.mark.parametrize("args,make,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_and_writes_nothing(setup, tmp_path, capsys, args, make, expected):
    root, _ = setup
    work = tmp_path / "work"
    work.mkdir()
    (work / "taken.pxz").write_bytes(b"keep me")
    source = make(root, work)
    before = sorted(p.name for p in work.rglob("*"))
    names = {"run": root / "run", "other": root / "other", "input": source, "tmp": work}
    capsys.readouterr()
    status = main([a.format(**names) for a in args])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1, err
    assert expected in err[0], err[0]
    assert sorted(p.name for p in work.rglob("*")) == before
    assert (work / "taken.pxz").read_bytes() == b"keep me"


def test_force_overwrites(setup, tmp_path):
    root, _ = setup
    out = tmp_path / "x.pxz"
    out.write_bytes(b"old")
    assert main(["-q", "compress", "--checkpoint", str(root / "run"), str(root / "arr.npy"), "--out", str(out),
                 "--force"]) == 0
    assert out.read_bytes()[:8] == b"PIXCNNZ\n"
