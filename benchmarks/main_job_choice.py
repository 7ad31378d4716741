"""Which network should the main job train? Every preset and likelihood in one run.

Run every preset with each likelihood (categorical, discretized
logistic mixture) on mnist5k for the same minutes, with the main job's own
recipe (``src/pixelcnn/configs/mnist5k.yaml``: batch 32, lr 8e-3 after a
30-step warm-up, gradients clipped to 1, EMA 0.995), plus the residual
``pixelcnn`` at 2h = 96, 8 blocks, 5x5 (the job's network before this
comparison). Rows are compared on the **validation** split (450 digits carved
from the training digits); the test split is scored too, for the record, and
never used to choose. ``incumbent`` in the JSON names the row that is the job's
current network.

A row whose training diverges (non-finite loss) is recorded as such and retried
once at ``--retry-lr``. ``pixelcnn-pp-cifar`` (53.7M parameters, the paper's GPU
network) is left out: one step of it takes longer on a CPU than the whole budget.

``--recipes`` adds the job's current network at other batch sizes and learning
rates (the choice of its recipe, on the validation split).

    python benchmarks/main_job_choice.py --minutes 3 --recipes
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

from machine import describe
from pixelcnn.config import apply_overrides, from_dict, load_file
from pixelcnn.errors import PixelCNNError
from pixelcnn.evaluation.likelihood import evaluate
from pixelcnn.training import Trainer
from pixelcnn.training.data import load_split

PRESETS = ("pixelcnn", "pixelcnn-seed", "gated-pixelcnn", "pixelcnn-pp", "pixelsnail")
LIKELIHOODS = ("categorical", "logistic-mixture")
RESIDUAL = {"hidden": 96, "layers": 8, "kernel": 5, "head": 192}  # the residual network the job compared against
RECIPES = ((64, 8e-3), (16, 8e-3), (32, 4e-3), (32, 1.2e-2))  # (batch, lr) besides the job's (32, 8e-3)


def main_job_config() -> dict:
    return load_file(str(resources.files("pixelcnn") / "configs" / "mnist5k.yaml"))


def train_row(config: dict, minutes: float, seed: int) -> dict:
    """Train ``config`` for ``minutes``; EMA weights score the validation and test splits."""
    cfg = from_dict(apply_overrides(config, [
        "train.epochs=0", "train.max_steps=0", f"train.max_minutes={minutes}", f"train.seed={seed}",
        "train.sample_every_epoch=false", "train.sample_count=0", "train.progress=false"]))
    with tempfile.TemporaryDirectory() as run_dir:
        trainer = Trainer(cfg, Path(run_dir))
        start = time.monotonic()
        try:
            summary = trainer.run()
        except PixelCNNError as e:  # a diverged run names itself; the others keep their rows
            return {"diverged": str(e).splitlines()[0], "steps": trainer.step}
        valid = evaluate(trainer.eval_model, load_split(cfg.data, "valid", seed=seed).levels,
                         batch_size=cfg.train.eval_batch_size)
        wall = time.monotonic() - start
        params = sum(p.numel() for p in trainer.model.parameters())
    return {
        "steps": summary["steps"],
        "images_per_s": round(summary["steps"] * cfg.train.batch_size / max(summary["seconds"], 1e-9), 1),
        "parameters": params,
        "valid_bits_per_dim": round(valid.bits_per_dim, 4),
        "test_bits_per_dim": round(summary["test"]["bits_per_dim"], 4),
        "test_nats_per_image": round(summary["test"]["nats_per_image"], 2),
        "wall_seconds_with_eval": round(wall, 1),
    }


def with_model(config: dict, name: str, overrides: dict) -> dict:
    return {**config, "model": {"name": name, "overrides": overrides}}


def candidates(job: dict, recipes: bool) -> dict[str, dict]:
    rows = {}
    for likelihood in LIKELIHOODS:
        rows[f"residual pixelcnn (2h=96, 8 blocks, 5x5), {likelihood}"] = with_model(
            job, "pixelcnn", {**RESIDUAL, "likelihood": likelihood})
        for preset in PRESETS:
            rows[f"{preset}, {likelihood}"] = with_model(job, preset, {"likelihood": likelihood})
    if recipes:
        for batch, lr in RECIPES:
            rows[f"the job's network, batch {batch}, lr {lr:g}"] = apply_overrides(
                job, [f"train.batch_size={batch}", f"train.lr={lr}"])
    return rows


def incumbent_of(job: dict, rows: dict[str, dict]) -> str | None:
    """The row whose model section is the job's (its current network)."""
    same = [name for name, cfg in rows.items() if cfg["model"] == job["model"] and cfg["train"] == job["train"]]
    return same[0] if same else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=3.0, help="training budget of every row")
    parser.add_argument("--recipes", action="store_true", help="also other batch sizes and rates of the job's net")
    parser.add_argument("--only", default="", help="comma-separated substrings: run only rows whose name holds one")
    parser.add_argument("--retry-lr", type=float, default=2e-3, help="rate of the second try of a diverged row")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    job = main_job_config()
    rows = candidates(job, args.recipes)
    if args.only:
        keys = [k for k in args.only.split(",") if k]
        rows = {name: cfg for name, cfg in rows.items() if any(k in name for k in keys)}
    results = {}
    for name, config in rows.items():
        results[name] = train_row(config, args.minutes, args.seed)
        print(json.dumps({name: results[name]}), file=sys.stderr, flush=True)  # rows survive a later failure
        if "diverged" in results[name]:
            retry = apply_overrides(config, [f"train.lr={args.retry_lr}"])
            results[f"{name}, lr {args.retry_lr:g}"] = train_row(retry, args.minutes, args.seed)
            print(json.dumps({f"{name}, lr {args.retry_lr:g}": results[f"{name}, lr {args.retry_lr:g}"]}),
                  file=sys.stderr, flush=True)
    scored = {name: r["valid_bits_per_dim"] for name, r in results.items() if "valid_bits_per_dim" in r}
    incumbent = incumbent_of(job, rows)
    best = min(scored, key=scored.get) if scored else None
    print(json.dumps({
        "benchmark": "main_job_choice",
        "machine": describe(),
        "minutes_per_row": args.minutes,
        "recipe": {k: job["train"][k] for k in ("batch_size", "lr", "warmup_steps", "grad_clip", "ema_decay")},
        "results": results,
        "best_on_valid": best,
        "incumbent": incumbent,
        "incumbent_best": best == incumbent if incumbent in scored else None,
    }, indent=2))


if __name__ == "__main__":
    main()
