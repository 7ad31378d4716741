"""Run training jobs in several CPU processes (gloo on 127.0.0.1), for the multi-process tests.

``spawn(world, jobs, out)`` starts ``world`` processes with torchrun's
environment variables set, and each runs the jobs in order. A job is a dict:
``{"cli": [args], "out": name}`` runs ``pixelcnn <args>`` (which joins and
leaves the process group itself, as under torchrun, through MASTER_PORT); it
comes alone, as joining a second group after leaving one sometimes hangs in
gloo. Other jobs share one process group: ``{"run": dir, "overrides": [...], "resume": bool}`` trains
(as ``Trainer``; with ``"sigterm": [rank, step]`` that rank alone gets SIGTERM
during that step), ``{"evaluate": checkpoint, "levels": file, "out": name}``
scores saved levels with :func:`evaluate_across`. Processes other than rank 0
fail if they try to write a checkpoint, a config or a sample grid. Each rank
writes ``out/<name>-rank<r>.json`` with what the test checks afterwards.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path

import torch


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn(world: int, jobs: list[dict], out: Path, timeout: float = 120.0) -> None:
    import torch.multiprocessing as mp

    # fork: the children start with torch and pixelcnn already imported (spawn takes ~10 s to import
    # them again here); safe because each child computes on one thread, outside OpenMP's pool
    ctx = mp.start_processes(_worker, args=(world, free_port(), jobs, str(out)), nprocs=world, join=False,
                             start_method="fork")
    deadline = time.monotonic() + timeout
    while not ctx.join(timeout=1):
        if time.monotonic() > deadline:  # a hang (a collective some rank never reached) fails the test
            for p in ctx.processes:
                if p.is_alive():
                    p.kill()
            raise TimeoutError(f"the {world} training processes did not finish in {timeout} s")


def _worker(rank: int, world: int, port: int, jobs: list[dict], out: str) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    import faulthandler

    faulthandler.dump_traceback_later(60, exit=True)  # a hang shows where it hangs, then ends
    import torch.distributed as dist

    from pixelcnn.config import resolve
    from pixelcnn.training import Trainer
    from pixelcnn.training import checkpoint as ckpt
    from pixelcnn.training import distributed
    from pixelcnn.training import kinds

    if rank > 0:
        def refuse(*args, **kwargs):
            raise AssertionError(f"rank {rank} wrote to the run directory")

        ckpt.save_checkpoint = ckpt.write_json = kinds.write_sample_grid = refuse
    procs = distributed.from_environment()
    trainer = None
    assert len(jobs) == 1 or not any("cli" in job for job in jobs), "a CLI job comes alone"
    for job in jobs:
        record: dict = {}
        if "cli" in job:
            import contextlib
            import io

            from pixelcnn.cli.main import main

            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                record["status"] = main(job["cli"])
            record["stdout"] = printed.getvalue()
            record["group_left"] = not dist.is_initialized()
            name = job["out"]
        elif not dist.is_initialized():
            dist.init_process_group("gloo", rank=rank, world_size=world)
        if "run" in job:
            trainer = Trainer(resolve(None, job["overrides"]), job["run"], resume=job.get("resume", False), procs=procs)
            record["rng_at_start"] = torch.get_rng_state().tolist()
            if job.get("sigterm", [None])[0] == rank:
                _sigterm_during(trainer, job["sigterm"][1])
            record["summary"] = trainer.run(stop_on_signals="sigterm" in job)
            name = Path(job["run"]).name
        elif "evaluate" in job:
            model = ckpt.load(job["evaluate"], weights="raw")
            saved = torch.load(job["levels"])
            score = distributed.evaluate_across(model, saved["levels"], saved.get("labels"), batch_size=3,
                                                procs=procs, device=torch.device("cpu"))
            record["score"] = score.to_dict()
            record["shard"] = [distributed.shard(saved["levels"].shape[0], procs).start,
                               distributed.shard(saved["levels"].shape[0], procs).stop]
            name = job["out"]
        Path(out, f"{name}-rank{rank}.json").write_text(json.dumps(record))
    trainer = None  # its DDP wrapper goes before the group it uses
    distributed.stop()
    # leave at once: a forked child sometimes hangs in the destructors of the objects it inherited
    sys.stderr.flush()
    os._exit(0)


def _sigterm_during(trainer, step: int) -> None:
    """Send this process SIGTERM during step ``step`` (counted from 1) of ``trainer``."""
    import signal

    original = trainer._train_step

    def step_then_signal(batch):
        out = original(batch)
        if trainer.step == step - 1:
            os.kill(os.getpid(), signal.SIGTERM)
        return out

    trainer._train_step = step_then_signal
