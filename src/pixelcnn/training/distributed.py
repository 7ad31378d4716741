"""Data-parallel training over several processes: ``torch.distributed`` and DistributedDataParallel.

``torchrun`` starts one process per device and sets ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``; :func:`from_environment`
reads them, and the same ``pixelcnn train`` command then trains one model on
all of them (Li et al. 2020, "PyTorch Distributed: Experiences on Accelerating
Data Parallel Training", VLDB). Each process holds a full copy of the model,
takes its share of every global batch, and DDP averages the gradients, so the
k processes take the step that one process would take on their images
together. Backend: NCCL when the processes run on CUDA devices (one process per
device, ``cuda:LOCAL_RANK``), gloo on CPUs.

Everything else that has to agree across processes goes through the small
collectives here: a sum in float64 (losses, evaluation totals), an "any" over
flags (stop signals, the time limit) and a gather of objects (random states).
With one process each is the identity and nothing is initialised.

Not implemented: sharded weights or optimiser state (FSDP/ZeRO), gradient
accumulation, model parallelism, and elastic changes of the world while a run
goes on (a run restarted with another world resumes from its checkpoint).
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist

from pixelcnn.errors import ConfigError
from pixelcnn.training.runtime import Processes
from pixelcnn.units import bits_per_dim


def from_environment(env=None) -> Processes:
    """This process's place among ``torchrun``'s processes; rank 0 of 1 when not launched by it."""
    env = os.environ if env is None else env
    if "WORLD_SIZE" not in env:
        return Processes()
    try:
        world = int(env["WORLD_SIZE"])
        rank = int(env.get("RANK", "0"))
        local = int(env.get("LOCAL_RANK", str(rank)))
    except ValueError:
        raise ConfigError("RANK, WORLD_SIZE and LOCAL_RANK must be integers (torchrun sets them)") from None
    if world < 1 or not 0 <= rank < world or local < 0:
        raise ConfigError(f"RANK={rank} and WORLD_SIZE={world} do not describe a process of the run "
                          f"(0 <= RANK < WORLD_SIZE); launch the processes with torchrun")
    if world > 1 and not (env.get("MASTER_ADDR") and env.get("MASTER_PORT")):
        raise ConfigError("WORLD_SIZE > 1 but MASTER_ADDR or MASTER_PORT is not set; launch the processes "
                          "with torchrun, which sets them")
    return Processes(rank=rank, world=world, local_rank=local)


def process_device(device: torch.device, procs: Processes) -> torch.device:
    """The device of this process: with several processes on CUDA, ``cuda:LOCAL_RANK``."""
    if procs.world == 1:
        return device
    if device.type == "cuda":
        if device.index is not None:
            raise ConfigError(f"train.device={device} names one GPU, but {procs.world} processes each need their "
                              f"own; use train.device=cuda (or auto): process LOCAL_RANK uses cuda:LOCAL_RANK")
        if procs.local_rank >= torch.cuda.device_count():
            raise ConfigError(f"LOCAL_RANK={procs.local_rank} but this node has {torch.cuda.device_count()} "
                              f"CUDA device(s); start at most one process per GPU (--nproc_per_node)")
        device = torch.device("cuda", procs.local_rank)
        torch.cuda.set_device(device)
        return device
    if device.type != "cpu":
        raise ConfigError(f"training on several processes runs on CUDA (NCCL) or on CPUs (gloo), not on {device.type}")
    return device


def backend(device: torch.device) -> str:
    return "nccl" if device.type == "cuda" else "gloo"


JOIN_SECONDS = 120.0  # how long the processes wait for each other to start (PIXELCNN_JOIN_TIMEOUT)


def start(procs: Processes, device: torch.device) -> bool:
    """Join the process group (from torchrun's environment) if this run has several processes and
    nobody has yet; True when this call started it (then :func:`stop` ends it).

    The processes meet at ``MASTER_ADDR:MASTER_PORT`` within ``PIXELCNN_JOIN_TIMEOUT`` seconds
    (120 by default): ``WORLD_SIZE`` set without the other processes (no torchrun) is one clear
    error, not a wait without end. Collectives later keep torch's own, longer timeout.
    """
    if procs.world == 1 or dist.is_initialized():
        return False
    store = _meet(procs)
    dist.init_process_group(backend(device), store=store, rank=procs.rank, world_size=procs.world,
                            device_id=device if device.type == "cuda" else None)
    return True


def _meet(procs: Processes):
    """The store all processes of the run share, once all of them have joined it."""
    import logging
    from datetime import timedelta

    from torch.distributed.rendezvous import _create_c10d_store

    try:
        seconds = float(os.environ.get("PIXELCNN_JOIN_TIMEOUT", JOIN_SECONDS))
    except ValueError:
        raise ConfigError(f"PIXELCNN_JOIN_TIMEOUT must be a number of seconds, got "
                          f"{os.environ['PIXELCNN_JOIN_TIMEOUT']!r}") from None
    addr, port = os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"])
    logging.getLogger("pixelcnn").info("waiting up to %.0f s for the %d processes of the run to join at %s:%d",
                                       seconds, procs.world, addr, port)
    try:
        store = _create_c10d_store(addr, port, procs.rank, procs.world, timedelta(seconds=seconds))
    except (RuntimeError, ValueError, OSError) as e:  # DistStoreError, a port in use or unreachable
        raise ConfigError(f"WORLD_SIZE={procs.world} but the other processes did not join at {addr}:{port} within "
                          f"{seconds:.0f} s ({type(e).__name__}); start them all with torchrun "
                          f"(torchrun --nproc_per_node={procs.world} -m pixelcnn.cli.main ...), or unset "
                          f"WORLD_SIZE to train in one process") from None
    from torch.distributed.constants import default_pg_timeout

    store.set_timeout(default_pg_timeout)
    return dist.PrefixStore("default_pg", store)


def stop() -> None:
    """Leave the process group. Drop every DDP wrapper first: one freed after the group can
    hang the process as it goes."""
    import gc

    gc.collect()
    if dist.is_initialized():
        dist.destroy_process_group()


def wrap(module: torch.nn.Module, procs: Processes, device: torch.device) -> torch.nn.Module:
    """``module`` as DistributedDataParallel when there are several processes, else itself.

    Buffers are not broadcast at each forward: a model's buffers are its fixed
    masks (equal everywhere) and caches outside the weights.
    """
    if procs.world == 1:
        return module
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=ids, broadcast_buffers=False)


def sum_across(values: list[float] | torch.Tensor, procs: Processes, device: torch.device) -> list[float]:
    """The sum over every process of each value, in float64 (exact for counts below 2**53)."""
    if isinstance(values, torch.Tensor):
        total = values.detach().double().reshape(-1)
    else:
        total = torch.tensor(values, dtype=torch.float64)
    if procs.world > 1:
        total = total.to(device)
        dist.all_reduce(total, op=dist.ReduceOp.SUM)
    return total.cpu().tolist()


def any_of(flags: list[bool], procs: Processes, device: torch.device) -> list[bool]:
    """For each flag: is it set on any process? (All processes then take the same branch.)"""
    if procs.world == 1:
        return list(flags)
    return [s > 0 for s in sum_across([float(bool(f)) for f in flags], procs, device)]


def gather(obj, procs: Processes) -> list:
    """``obj`` of every process, in rank order (every process gets the list)."""
    if procs.world == 1:
        return [obj]
    out = [None] * procs.world
    dist.all_gather_object(out, obj)
    return out


def shard(n: int, procs: Processes) -> slice:
    """The contiguous part of ``n`` items that this process takes: the parts of all ranks cover
    ``0..n`` once, with sizes differing by at most one (some are empty when n < world)."""
    return slice(procs.rank * n // procs.world, (procs.rank + 1) * n // procs.world)


def evaluate_across(model, levels, labels, *, batch_size: int, procs: Processes, device: torch.device):
    """:func:`pixelcnn.evaluation.evaluate` of the whole split, each process scoring its
    :func:`shard`; the totals are summed in float64, so the score is the one-process score up
    to float rounding, and every image is counted once.

    ``levels``: ``[N, C, H, W]``, a tensor or a split's :class:`~pixelcnn.training.data.Levels`
    (then each process reads only its shard, batch by batch)."""

    from pixelcnn.evaluation import evaluate
    from pixelcnn.evaluation.likelihood import Score
    from pixelcnn.nn.condition import move_cond
    from pixelcnn.training.data import Levels

    if procs.world == 1:
        return evaluate(model, levels, labels, batch_size=batch_size)
    part = shard(levels.shape[0], procs)
    mine_levels = levels.rows(part) if isinstance(levels, Levels) else levels[part]
    mine = evaluate(model, mine_levels, move_cond(labels, lambda t: t[part]), batch_size=batch_size)
    nll, n = sum_across([mine.nats_per_image * mine.images, mine.images], procs, device)
    n = int(n)
    return Score(images=n, dims=mine.dims, nats_per_image=nll / max(n, 1),
                 bits_per_dim=bits_per_dim(nll, mine.dims, n))


# ---------------------------------------------------------------- random states
# Data order and binarisation are pure functions of (seed, epoch), and sampling
# takes its own generator; the global torch generator is drawn from by dropout
# (PixelCNN++ with dropout > 0, e.g. the pixelcnn-pp-cifar preset). Each process's
# state is saved in every checkpoint, so such a model resumes exactly.

def rng_state(device: torch.device) -> dict:
    """This process's random state: the CPU generator and, on CUDA, its own device's."""
    cuda = [torch.cuda.get_rng_state(device)] if device.type == "cuda" else []
    return {"torch": torch.get_rng_state(), "cuda": cuda}


def seed_process(seed: int, rank: int, step: int) -> None:
    """A fresh state for rank ``rank`` at ``step``: distinct per rank (rank 0 of a new run keeps
    the state that ``torch.manual_seed(seed)`` and building the model left)."""
    torch.manual_seed(((seed * 1_000_003 + rank) * 1_000_033 + step) % 2**63)


def restore_rng(saved: dict, procs: Processes, seed: int, step: int, device: torch.device) -> None:
    """Restore rank r's saved state; a rank the checkpoint has no state for (the run had fewer
    processes) gets :func:`seed_process` of (seed, rank, step). States of ranks beyond this
    run's world are dropped."""
    ranks = saved.get("ranks")
    if ranks is None:  # a single-process checkpoint of format 1 before multi-process training
        ranks = [{"torch": saved["torch"], "cuda": saved.get("cuda") or []}]
    if procs.rank >= len(ranks):
        seed_process(seed, procs.rank, step)
        return
    mine = ranks[procs.rank]
    torch.set_rng_state(mine["torch"])
    if device.type == "cuda" and mine.get("cuda"):
        torch.cuda.set_rng_state(mine["cuda"][0], device)
