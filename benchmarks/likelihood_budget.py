"""Test likelihood for the same wall-clock training budget, in one run.

Each row trains for the same minutes, then its EMA weights score the whole
test split. Groups (``--only`` picks some):

- ``mnist5k`` (8-bit, 256 levels): test bits/dim;
- ``binarized-mnist`` (the standard .amat files: the fixed binarization of
  the published tables, 2 levels): test nats/image, the unit of the papers
  (PixelCNN: 81.30; PixelSNAIL: 78.61 with dynamic binarization; see
  ../shared/data/README.md);
- ``cifar10``: train on the first CIFAR-10 training batch (10,000 images, less
  the carved validation tenth), test on the first 1,000 test images
  (targets: pixelcnn-pp beats pixelcnn and gated-pixelcnn; pixelsnail beats
  pixelcnn-pp, here and on binarized-mnist);
- ``seed``: which normalisation learns most, on mnist5k at batch 64,
  lr 1e-3: the tutorial's BatchNorm network (benchmarks/references.py, plain
  eager, re-measured here) against ``pixelcnn-seed`` with weight
  normalisation and with LayerNorm (target: weight norm scores at least as
  well as BatchNorm).

Every preset runs with its own likelihood (``pixelcnn`` and ``gated-pixelcnn``:
categorical; ``pixelcnn-pp`` and ``pixelsnail``: logistic mixture), on the
three image sets; ``--models`` picks some.

The JSON gives, per row: the test score, steps, images/s, parameters, and the
machine.

    python benchmarks/likelihood_budget.py --minutes 5 --only cifar10,seed --seed-minutes 8
    python benchmarks/likelihood_budget.py --minutes 3 --only mnist5k,binarized-mnist,cifar10 \
        --models gated-pixelcnn,pixelcnn-pp,pixelsnail
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from machine import describe
from pixelcnn.config import resolve
from pixelcnn.training import Trainer
from references import train_tutorial

GROUPS = ("mnist5k", "binarized-mnist", "cifar10", "seed")
MODELS = ("pixelcnn", "gated-pixelcnn", "pixelcnn-pp", "pixelsnail")


def run_one(model: str, data: list[str], minutes: float, seed: int, extra: list[str],
            keep: Path | None = None) -> dict:
    """Train ``model`` on ``data`` for ``minutes`` and score the test split; ``keep``: the run
    directory to keep (with a final grid of 64 samples, drawn after the clock stops), else a
    temporary one."""
    overrides = [f"model.name={model}", "train.epochs=0", f"train.max_minutes={minutes}", f"train.seed={seed}",
                 "train.sample_every_epoch=false", f"train.sample_count={64 if keep else 0}", "train.progress=false",
                 *data, *extra]
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(resolve(None, overrides), keep or Path(tmp))
        start = time.monotonic()
        summary = trainer.run()
        wall = time.monotonic() - start
        params = sum(p.numel() for p in trainer.model.parameters())
        batch = trainer.cfg.train.batch_size
    test = summary["test"]
    return {
        "steps": summary["steps"],
        "train_seconds": summary["seconds"],
        "images_per_s": round(summary["steps"] * batch / max(summary["seconds"], 1e-9), 1),
        "parameters": params,
        "test_bits_per_dim": round(test["bits_per_dim"], 4),
        "test_nats_per_image": round(test["nats_per_image"], 2),
        "test_images": test["images"],
        "wall_seconds_with_eval": round(wall, 1),
    }


def budget_targets(results: dict) -> dict:
    """The targets whose rows ran: pixelcnn-pp against the older networks on cifar10, and
    pixelsnail against pixelcnn-pp on cifar10 and binarized-mnist (lower test figure wins)."""
    targets = {}
    bpd = {m: r["test_bits_per_dim"] for m, r in results.get("cifar10", {}).items()}
    if {"pixelcnn", "gated-pixelcnn", "pixelcnn-pp"} <= bpd.keys():
        targets["cifar10: pixelcnn-pp beats pixelcnn and gated-pixelcnn"] = bpd["pixelcnn-pp"] < min(
            bpd["pixelcnn"], bpd["gated-pixelcnn"])
    for name in ("cifar10", "binarized-mnist"):
        rows = results.get(name, {})
        if {"pixelsnail", "pixelcnn-pp"} <= rows.keys():
            targets[f"{name}: pixelsnail beats pixelcnn-pp"] = (
                rows["pixelsnail"]["test_bits_per_dim"] < rows["pixelcnn-pp"]["test_bits_per_dim"])
    return targets


def cifar_npz(cifar_dir: Path, out: Path) -> Path:
    """The shared CIFAR-10 files as one .npz data set: train = data_batch_1 (10,000),
    test = test_batch_first1000 (1,000), with labels."""
    from pixelcnn.data.cifar import read_cifar_binary

    train, train_labels = read_cifar_binary(cifar_dir / "data_batch_1.bin")
    test, test_labels = read_cifar_binary(cifar_dir / "test_batch_first1000.bin")
    np.savez(out, train=train.numpy(), test=test.numpy(), train_labels=train_labels.numpy(),
             test_labels=test_labels.numpy())
    return out


def seed_rows(minutes: float, seed: int) -> dict:
    """Tutorial BatchNorm network against pixelcnn-seed (weight norm, LayerNorm), batch 64, lr 1e-3."""
    from pixelcnn.config import DataSection
    from pixelcnn.training.data import load_split

    data = DataSection(name="mnist5k", levels=256)
    train, test = load_split(data, "train").levels, load_split(data, "test").levels
    same = ["data.name=mnist5k", "data.levels=256", "train.batch_size=64", "train.lr=1e-3"]
    return {
        "tutorial BatchNorm (plain eager reference)": train_tutorial(train, test, minutes=minutes, seed=seed),
        "pixelcnn-seed norm=weight": run_one("pixelcnn-seed", same + ["model.norm=weight"], minutes, seed, []),
        "pixelcnn-seed norm=layer": run_one("pixelcnn-seed", same + ["model.norm=layer"], minutes, seed, []),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=5.0, help="training budget per model and data set")
    parser.add_argument("--seed-minutes", type=float, default=8.0, help="budget of each row of the seed group")
    parser.add_argument("--only", default=",".join(GROUPS), help=f"comma-separated groups of {GROUPS}")
    parser.add_argument("--binarized-dir", default="../shared/data/binarized-mnist",
                        help="folder with binarized_mnist_{train,valid,test}.amat[.gz]")
    parser.add_argument("--cifar-dir", default="../shared/data/cifar10",
                        help="folder with data_batch_1.bin and test_batch_first1000.bin")
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma-separated presets of {MODELS}")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="keep every run in DIR/SET/MODEL, with a final grid of 64 samples")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("overrides", nargs="*", help="extra train.* overrides for every library run, e.g. train.lr=3e-3")
    args = parser.parse_args()
    groups = [g for g in args.only.split(",") if g]
    models = [m for m in args.models.split(",") if m]
    unknown = sorted(set(groups) - set(GROUPS))
    if unknown:
        parser.error(f"unknown groups {unknown}; known: {GROUPS}")
    if sorted(set(models) - set(MODELS)):
        parser.error(f"unknown models {sorted(set(models) - set(MODELS))}; known: {MODELS}")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        sets = {
            "mnist5k": ["data.name=mnist5k", "data.levels=256"],
            "binarized-mnist": ["data.name=binarized-mnist", "data.levels=2", f"data.data_dir={args.binarized_dir}",
                                "data.download=false"],
        }
        if "cifar10" in groups:
            npz = cifar_npz(Path(args.cifar_dir), Path(tmp) / "cifar10-subset.npz")
            sets["cifar10"] = [f"data.name={npz}", "data.levels=256"]
        for name, data in sets.items():
            if name in groups:
                results[name] = {}
                for m in models:
                    keep = args.keep / name / m if args.keep else None
                    results[name][m] = run_one(m, data, args.minutes, args.seed, args.overrides, keep)
                    print(json.dumps({name: {m: results[name][m]}}), file=sys.stderr, flush=True)
    targets = budget_targets(results)
    if "seed" in groups:
        results["seed"] = rows = seed_rows(args.seed_minutes, args.seed)
        targets["seed: weight norm at least as good as the tutorial's BatchNorm"] = (
            rows["pixelcnn-seed norm=weight"]["test_bits_per_dim"]
            <= rows["tutorial BatchNorm (plain eager reference)"]["test_bits_per_dim"])
    print(json.dumps({
        "benchmark": "likelihood_budget",
        "command": "python benchmarks/likelihood_budget.py " + shlex.join(sys.argv[1:]),
        "machine": describe(),
        "minutes_per_model": args.minutes,
        "seed_minutes": args.seed_minutes if "seed" in groups else None,
        "results": results,
        "targets_met": targets,
    }, indent=2))


if __name__ == "__main__":
    main()
