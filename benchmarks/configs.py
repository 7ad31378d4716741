"""The bundled configs' figures: train a config (or read a finished run) and record its test score.

Each entry of ``benchmarks/results/configs.json`` is one run of a bundled config
(``src/pixelcnn/configs/*.yaml``): the command, the steps, the training time, the
test bits/dim and nats/image from the run's ``metrics.jsonl``, and the machine.
The README's results table is made from this file.

    python benchmarks/configs.py mnist5k                       # train runs/mnist5k, then record it
    python benchmarks/configs.py mnist5k --run runs/mnist5k    # record a run that already finished
                                                               # (give its overrides too: they are recorded)
    python benchmarks/configs.py cifar10-pp --out runs/cifar-pp data.data_dir=DIR data.download=false
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from machine import describe

RESULTS = Path(__file__).parent / "results" / "configs.json"


def records(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]


def last_record(run: Path, kind: str) -> dict:
    found = [r for r in records(run) if r.get("kind") == kind]
    if not found:
        raise SystemExit(f"{run} has no {kind!r} record in metrics.jsonl; did the run finish?")
    return found[-1]


def record(config: str, run: Path, command: str) -> dict:
    from pixelcnn.training.checkpoint import read_state, resolve_checkpoint

    test = last_record(run, "test")
    valid = [r for r in records(run) if r.get("kind") == "valid"]
    state = read_state(resolve_checkpoint(run))
    return {"config": config, "command": command, "steps": test["step"],
            "train_seconds": round(float(state["train_seconds"]), 1), "test_split": test.get("split"),
            "test_images": test.get("images"), "test_bits_per_dim": round(test["bits_per_dim"], 4),
            "test_nats_per_image": round(test["nats_per_image"], 2),
            "valid_bits_per_dim": round(valid[-1]["bits_per_dim"], 4) if valid else None,
            "machine": describe()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("config", help="a bundled config name, e.g. mnist5k")
    parser.add_argument("--out", help="the run directory to train into (default runs/CONFIG)")
    parser.add_argument("--run", help="record this finished run instead of training")
    parser.add_argument("overrides", nargs="*", help="key=value overrides for the training run")
    args = parser.parse_args()
    run = Path(args.run or args.out or f"runs/{args.config}")
    argv = ["train", "--config", args.config, "--out", str(run), *args.overrides]
    if not args.run:
        from pixelcnn.cli.main import main as pixelcnn

        if pixelcnn(argv) != 0:
            sys.exit("training failed")
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    results[args.config] = record(args.config, run, "pixelcnn " + shlex.join(argv))
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results[args.config], indent=2))


if __name__ == "__main__":
    main()
