"""Data larger than memory: a memory-mapped .npy trains and is scored batch by batch, reading
only the rows it needs, with the results of the same images held in memory."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from training_helpers import tiny_overrides

from pixelcnn.cli.main import main
from pixelcnn.config import resolve
from pixelcnn.data.source import MappedArray
from pixelcnn.evaluation import evaluate
from pixelcnn.models import create_model
from pixelcnn.training import Trainer
from pixelcnn.training import checkpoint as ckpt
from pixelcnn.training.data import TrainStream, load_split
from pixelcnn.training.distributed import evaluate_across, shard
from pixelcnn.training.runtime import Processes

SHAPE = (3, 64, 64)


def rgb64(path, n, seed=0):
    """``n`` random 3x64x64 uint8 images, channels last, saved as .npy (and the array)."""
    images = np.random.default_rng(seed).integers(0, 256, (n, 64, 64, 3), dtype=np.uint8)
    np.save(path, images)
    return images


def run_overrides(path, *extra):
    return tiny_overrides(path, "model.hidden=12", "train.batch_size=8", "train.max_steps=2", "train.sample_count=0",
                          *extra)


def test_a_memory_mapped_npy_trains_as_the_same_images_in_memory_reading_only_its_batches(tmp_path, monkeypatch, capsys):
    images = rgb64(tmp_path / "big.npy", 300)
    np.savez(tmp_path / "same.npz", images=images)  # one array: split 90/10 like the .npy, but read whole
    split = load_split(resolve(None, run_overrides(tmp_path / "big.npy")).data, "train")
    assert isinstance(split.images.base.base.array, np.memmap)  # train = carve of the hold-out of the map
    assert split.levels.shape == (243, *SHAPE)

    read = []
    original = MappedArray.read
    monkeypatch.setattr(MappedArray, "read", lambda self, index: read.append(len(index)) or original(self, index))
    Trainer(resolve(None, run_overrides(tmp_path / "big.npy", "data.test_split=")), tmp_path / "mapped").run()
    assert read == [8, 8]  # two steps of 8 images; nothing else read
    Trainer(resolve(None, run_overrides(tmp_path / "same.npz", "data.test_split=")), tmp_path / "whole").run()
    mapped, whole = (load_file(ckpt.resolve_checkpoint(tmp_path / r) / "model.safetensors")
                     for r in ("mapped", "whole"))
    assert mapped.keys() == whole.keys()
    assert all(torch.equal(mapped[k], whole[k]) for k in mapped)
    read.clear()
    scores = []
    for run, name in (("mapped", "big.npy"), ("whole", "same.npz")):  # pixelcnn eval, batch by batch
        assert main(["eval", "--checkpoint", str(tmp_path / run), "--data", str(tmp_path / name), "--split", "test",
                     "--batch-size", "10", "--json"]) == 0
        scores.append(json.loads(capsys.readouterr().out))
    assert scores[0]["images"] == 30 and scores[0]["bits_per_dim"] == scores[1]["bits_per_dim"]
    assert read == [10, 10, 10]


@pytest.mark.parametrize("world", [1, 2])
def test_scoring_a_mapped_split_reads_it_batch_by_batch_and_scores_as_in_memory(tmp_path, monkeypatch, world):
    rgb64(tmp_path / "big.npy", 120)
    data = resolve(None, run_overrides(tmp_path / "big.npy")).data
    mapped = load_split(data, "train")
    in_memory = mapped.levels[:]  # uint8 [97, 3, 64, 64], read whole
    model = create_model("pixelcnn-seed", in_channels=3, image_size=(64, 64), levels=4, hidden=12, layers=1)
    read = []
    original = MappedArray.read
    monkeypatch.setattr(MappedArray, "read", lambda self, index: read.append(len(index)) or original(self, index))
    cpu = torch.device("cpu")
    if world == 1:
        score = evaluate_across(model, mapped.levels, None, batch_size=16, procs=Processes(), device=cpu)
        assert score == evaluate(model, in_memory, None, batch_size=16)
        assert max(read) == 16 and sum(read) == 97
        return
    for r in range(world):  # each rank's shard, read batch by batch (the sum across ranks: test_distributed)
        part = shard(97, Processes(rank=r, world=world))
        read.clear()
        mine = evaluate(model, mapped.levels.rows(part), None, batch_size=16)
        assert mine == evaluate(model, in_memory[part], None, batch_size=16)
        assert sum(read) == len(range(97)[part]) and max(read) <= 16


def test_binarising_a_split_read_on_demand_draws_each_image_the_same_in_any_batch(tmp_path):
    rgb64(tmp_path / "big.npy", 40)
    data = resolve(None, run_overrides(tmp_path / "big.npy", "data.levels=2", "data.binarize=dynamic")).data
    split = load_split(data, "train")
    stream = TrainStream(split.images, None, data, seed=3)
    one = stream.batch(1, 0, 12).levels  # [12, 3, 64, 64] in {0, 1}
    order = stream._order(1)[:12]
    apart = [TrainStream(split.images, None, data, seed=3).batch(1, k, 1).levels[0] for k in range(12)]
    assert torch.equal(one, torch.stack(apart))  # image by image, whatever batch it came in
    assert not torch.equal(one, stream.batch(2, 0, 32).levels[torch.argsort(stream._order(2))[order]])  # new epoch, new draw
    pixels = split.images.read(order).long()  # [12, 3, 64, 64] 0..255
    assert set(one.unique().tolist()) <= {0, 1}
    assert abs(one.float().mean() - pixels.float().mean() / 255) < 0.02  # P(1) = v / 255


def anon_mb() -> float:
    """This process's own resident memory (RssAnon); a memory map's pages are file pages, not counted."""
    for line in open("/proc/self/status"):
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    pytest.skip("no RssAnon in /proc/self/status (not Linux)")


def memory_figures(big, small, run, overrides) -> dict:
    """Train on ``big`` after a warm-up on ``small``; the growth of this process's memory
    over the run, and, as the control, over reading ``big`` whole."""
    Trainer(resolve(None, [*overrides, f"data.name={small}"]), f"{run}-warm").run()  # imports, allocator, threads
    before = anon_mb()
    Trainer(resolve(None, overrides), run).run()
    trained = anon_mb()
    # the control runs in a fresh process: here, np.load may reuse memory that earlier tests of
    # the session freed, and then grows nothing
    loaded = float(subprocess.run([sys.executable, "-c", LOAD_WHOLE, big], capture_output=True, text=True,
                                  check=True).stdout)
    return {"file_mb": round(os.path.getsize(big) / 2**20, 1), "train_mb": round(trained - before, 1),
            "load_whole_mb": round(loaded, 1)}


LOAD_WHOLE = """
import sys
import numpy as np
def anon_mb():
    return next(int(line.split()[1]) / 1024 for line in open("/proc/self/status") if line.startswith("RssAnon:"))
before = anon_mb()
whole = np.load(sys.argv[1])
print(anon_mb() - before)
"""


def sparse_rgb64(path, n):
    """A .npy of ``n`` 3x64x64 images that takes almost no disk: zeros but for the first 64."""
    array = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(n, 64, 64, 3))
    array[:64] = np.random.default_rng(0).integers(0, 256, (64, 64, 64, 3), dtype=np.uint8)
    array.flush()
    del array


def files(tmp_path, n, *extra):
    sparse_rgb64(tmp_path / "big.npy", n)
    rgb64(tmp_path / "small.npy", 40)
    overrides = run_overrides(tmp_path / "big.npy", "data.test_split=", *extra)
    return str(tmp_path / "big.npy"), str(tmp_path / "small.npy"), str(tmp_path / "run"), overrides


def test_training_on_a_file_does_not_load_it_into_memory(tmp_path):
    got = memory_figures(*files(tmp_path, 17_000))  # 3x64x64 images, 200 MB (sparse on disk)
    print(got)
    assert got["load_whole_mb"] > 0.9 * got["file_mb"]  # the control: what loading it would cost
    assert got["train_mb"] < 0.1 * got["file_mb"]


PROBE = """
import json, resource, sys
sys.path.insert(0, sys.argv[1])
from test_large_data import memory_figures
got = memory_figures(*sys.argv[2:5], json.loads(sys.argv[5]))
got["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # with file pages
print(json.dumps(got))
"""


@pytest.mark.slow
def test_a_few_gigabytes_train_and_score_without_loading_them(tmp_path):
    """In a fresh process: 250,000 images (2.9 GB, sparse on disk), 2 steps, 25,000 test images scored."""
    big, small, run, overrides = files(tmp_path, 250_000, "data.test_split=test", "train.eval_batch_size=64")
    out = subprocess.run([sys.executable, "-c", PROBE, str(Path(__file__).parent), big, small, run,
                          json.dumps(overrides)], capture_output=True, text=True, timeout=1200)
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    print(got)
    assert got["load_whole_mb"] > 0.9 * got["file_mb"]
    assert got["train_mb"] < 0.05 * got["file_mb"]  # measured 57 and 90 MB: allocator and index arrays
