"""A folder of images read lazily, with DataLoader workers reading ahead, gives the batches of the
folder read whole; a file that does not decode stops training with one line naming it."""

import multiprocessing
import os
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file
from training_helpers import tiny_overrides

from pixelcnn.config import resolve
from pixelcnn.data import load_dataset
from pixelcnn.errors import DataError
from pixelcnn.training import Trainer
from pixelcnn.training import checkpoint as ckpt
from pixelcnn.training.data import TrainStream, load_split

# torch suggests no more workers than the cores this process may use (one, when pinned)
pytestmark = pytest.mark.filterwarnings("ignore:This DataLoader will create")


@pytest.fixture
def folder(tmp_path):
    """42 images in 3 class folders, 8x10 RGB PNGs (one of them gray)."""
    rng = np.random.default_rng(2)
    root = tmp_path / "pics"
    for k in range(42):
        sub = root / f"class{k % 3}"
        sub.mkdir(parents=True, exist_ok=True)
        pixels = (rng.random((8, 10, 3)) * 255).astype(np.uint8)
        image = Image.fromarray(pixels).convert("L") if k == 7 else Image.fromarray(pixels)
        image.save(sub / f"{k:02d}.png")
    return root


def batches(stream, epochs, size, rank=0, world=1):
    out = []
    for epoch in range(epochs):
        position = 0
        while position < len(stream):
            b = stream.batch(epoch, position, size, rank, world)
            out.append((b.levels, b.cond, b.real, b.total))
            position += b.total
    return out


@pytest.mark.parametrize("rank, world", [(0, 1), (1, 2)])
def test_workers_reading_a_folder_lazily_give_the_batches_of_the_folder_read_whole(folder, rank, world):
    data = resolve(None, tiny_overrides(folder, "data.workers=2", "train.max_steps=1")).data
    lazy = load_split(data, "train")
    assert not isinstance(lazy.images, torch.Tensor)  # read file by file
    whole = load_dataset(str(folder), "train")  # read whole, as before
    assert isinstance(whole.images, torch.Tensor) and torch.equal(lazy.labels, whole.labels)
    ahead = TrainStream(lazy.images, lazy.labels, data, seed=1)
    got = batches(ahead, 2, 5, rank, world)
    assert len(multiprocessing.active_children()) >= 2  # the workers that read ahead
    want = batches(TrainStream(whole.images, whole.labels, data, seed=1), 2, 5, rank, world)
    assert len(got) == len(want) == 2 * -(-len(whole) // (5 * world))
    for (levels, labels, real, total), (levels0, labels0, real0, total0) in zip(got, want):
        assert torch.equal(levels, levels0) and torch.equal(labels, labels0) and (real, total) == (real0, total0)
    ahead.close()


def test_training_with_workers_ends_with_the_weights_of_training_without(folder, tmp_path):
    for workers in (0, 2):
        cfg = resolve(None, tiny_overrides(folder, f"data.workers={workers}", "data.conditional=true",
                                           "model.hidden=12", "train.batch_size=4", "train.max_steps=5", "train.sample_count=0"))
        Trainer(cfg, tmp_path / f"run{workers}").run()
    one, two = (load_file(ckpt.resolve_checkpoint(tmp_path / f"run{w}") / "model.safetensors") for w in (0, 2))
    assert all(torch.equal(one[k], two[k]) for k in one)


def test_a_file_that_does_not_decode_stops_training_with_one_line_naming_it(folder, tmp_path):
    bad = sorted(folder.rglob("*.png"))[4]
    bad.write_bytes(bad.read_bytes()[:60])  # the header reads; the pixels do not
    data = resolve(None, tiny_overrides(folder, "data.workers=2", "train.max_steps=1")).data
    split = load_split(data, "all")
    stream = TrainStream(split.images, None, data, seed=1)
    with pytest.raises(DataError) as e:
        batches(stream, 1, 4)
    assert str(bad) in str(e.value) and "\n" not in str(e.value)
    stream.close()


def test_a_sigterm_to_every_process_of_the_job_still_finishes_the_step_and_checkpoints(folder, tmp_path, monkeypatch):
    """A scheduler signals the workers too; the run stops as without workers (see test_preemption)."""
    original = Trainer._train_step

    def step_then_signal(self, batch):
        out = original(self, batch)
        if self.step == 2:  # during the third step, with the workers reading ahead
            workers = multiprocessing.active_children()
            assert len(workers) >= 2
            # from another process, as a scheduler's (a worker signalled by its parent exits quietly)
            subprocess.run(["kill", "-TERM", *(str(p.pid) for p in workers), str(os.getpid())], check=True)
            time.sleep(0.5)  # time for the workers to die, were they to
        return out

    monkeypatch.setattr(Trainer, "_train_step", step_then_signal)
    cfg = resolve(None, tiny_overrides(folder, "data.workers=2", "model.hidden=12", "train.batch_size=4",
                                       "train.max_steps=100", "train.sample_count=0"))
    summary = Trainer(cfg, tmp_path / "run").run()
    assert summary["interrupted"] == "SIGTERM" and summary["steps"] == 3
    assert ckpt.read_state(ckpt.resolve_checkpoint(tmp_path / "run"))["step"] == 3


HOLD_AND_EXIT = """
import sys
from pixelcnn.config import DataSection
from pixelcnn.training.data import TrainStream, load_split
cfg = DataSection(name=sys.argv[1], levels=256, workers=2)
split = load_split(cfg, "train")
stream = TrainStream(split.images, None, cfg, seed=0)
stream.batch(0, 0, 4)
stream.batch(0, 4, 4)  # in order: the workers read ahead
held = stream._ahead.batches  # the loader's iterator, held past the stream's close at exit
print("read", flush=True)
"""


def test_process_exits_while_workers_are_held(folder):
    """The workers ignore SIGTERM; a process holding their iterator must still exit (it used to
    hang in multiprocessing's exit handler, which SIGTERMs its children and joins them)."""
    done = subprocess.run([sys.executable, "-c", HOLD_AND_EXIT, str(folder)], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "read"
