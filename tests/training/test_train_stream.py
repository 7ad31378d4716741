"""The training stream's shares across processes, checked directly (no processes started)."""

import pytest
import torch

from pixelcnn.config import DataSection
from pixelcnn.training.data import TrainStream
from pixelcnn.training.distributed import shard
from pixelcnn.training.runtime import Processes


def numbered_stream(n: int) -> TrainStream:
    """A stream whose image i holds the level i in each of its 2 sub-pixels (so levels name images)."""
    images = torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 1, 1, 2).contiguous()
    return TrainStream(images, None, DataSection(name="numbered", levels=256), seed=3)


def share(stream, epoch, position, batch, rank, world):
    b = stream.batch(epoch, position, batch, rank, world)
    return b.levels[: b.real, 0, 0, 0].tolist(), b


@pytest.mark.parametrize("n", [35, 36, 5])
@pytest.mark.parametrize("world", [2, 3, 4])
@pytest.mark.parametrize("batch", [1, 3, 8])
def test_the_processes_batches_at_a_step_are_one_batch_of_k_times_the_size(n, world, batch):
    stream = numbered_stream(n)
    for epoch in (0, 1):
        position, steps, seen = 0, 0, []
        while position < n:
            whole, one = share(stream, epoch, position, batch * world, 0, 1)  # one process, batch k*B
            parts = [share(stream, epoch, position, batch, r, world) for r in range(world)]
            together = [i for ids, _ in parts for i in ids]
            assert sorted(together) == sorted(whole)  # the same images, none twice
            assert {b.total for _, b in parts} == {one.total} == {len(whole)}
            sizes = [b.real for _, b in parts]
            assert max(sizes) - min(sizes) <= 1  # even shares; a short last batch leaves some ranks one fewer
            for _, b in parts:  # every rank runs a batch, an empty share as one image that does not count
                assert b.levels.shape[0] == max(b.real, 1)
            position += one.total
            steps += 1
            seen += whole
        assert sorted(seen) == list(range(n))  # an epoch: every image once
        assert steps == stream.batches_per_epoch(batch * world)  # the same number of steps on every rank


def test_a_resumed_epoch_continues_at_the_first_image_not_trained_on_whatever_the_new_global_batch():
    stream = numbered_stream(35)
    order, _ = share(stream, 2, 0, 35, 0, 1)  # the epoch's whole order
    before = [i for p in range(0, 12, 4) for r in range(2) for i in share(stream, 2, p, 2, r, 2)[0]]
    assert sorted(before) == sorted(order[:12])  # 3 steps of a global batch of 4 (2 processes x 2)
    rest = []
    position = 12
    while position < 35:  # 3 processes x 5 from there
        parts = [share(stream, 2, position, 5, r, 3) for r in range(3)]
        rest += [i for ids, _ in parts for i in ids]
        position += parts[0][1].total
    assert sorted(before + rest) == list(range(35))
    assert sorted(rest) == sorted(order[12:])


def test_an_empty_share_runs_one_image_that_does_not_count():
    stream = numbered_stream(9)  # a global batch of 8, then 1 image for 2 processes
    ids, b = share(stream, 0, 8, 4, 1, 2)
    assert ids == [] and b.real == 0 and b.total == 1 and b.levels.shape[0] == 1


@pytest.mark.parametrize("world", [1, 2, 3, 5])
def test_evaluation_shards_cover_every_image_once(world):
    for n in range(0, 13):
        parts = [shard(n, Processes(rank=r, world=world)) for r in range(world)]
        covered = [i for p in parts for i in range(n)[p]]
        assert covered == list(range(n))
        assert max(len(range(n)[p]) for p in parts) - min(len(range(n)[p]) for p in parts) <= 1
