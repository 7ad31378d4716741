"""``pixelcnn train``: train a model; the run directory holds everything it writes."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

from pixelcnn.cli.common import add_command, print_json

EXAMPLES = """
  # the default job: the 5,000 MNIST digits that ship inside the package
  pixelcnn train --config mnist5k --out runs/mnist5k

  # a config file plus overrides (section.key=value, values parsed as YAML)
  pixelcnn train --config my.yaml --out runs/a train.lr=3e-4 model.hidden=96

  # a prior over integer codes (a VQ-VAE's): K = 1 + the largest code, or data.levels
  pixelcnn train --data codes.npz data.kind=codes data.field=top --out runs/prior

  # binarized MNIST with a Gated PixelCNN, stopping after 30 minutes
  pixelcnn train --out runs/bin data.name=binarized-mnist data.levels=2 \\
      model.name=gated-pixelcnn train.max_minutes=30

  # continue a stopped run exactly where it stopped (limits may be raised)
  pixelcnn train --resume runs/mnist5k train.epochs=40

  # continue a run whose data file moved
  pixelcnn train --resume runs/mine data.name=/new/place/digits.npz

  # SIGTERM or Ctrl-C ends the current step, saves a checkpoint and prints how to resume;
  # train.max_minutes counts the training time of every session together

  # 8 GPUs of one node (train.batch_size is per process: a global batch of 8 x 32)
  torchrun --standalone --nproc_per_node=8 -m pixelcnn.cli.main train --config mnist5k \
      --out runs/ddp train.batch_size=32

  # resume that run on 4 GPUs with the same global batch (4 x 64)
  torchrun --standalone --nproc_per_node=4 -m pixelcnn.cli.main train --resume runs/ddp train.batch_size=64
"""


def register(sub) -> None:
    parser = add_command(sub, "train", "train a model (config file + key=value overrides)", EXAMPLES, run)
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                        help="config overrides such as train.lr=3e-4, model.name=gated-pixelcnn, data.levels=2")
    parser.add_argument("--config", metavar="FILE|NAME",
                        help="a YAML/JSON run config, or the name of a bundled one (mnist5k)")
    parser.add_argument("--data", metavar="NAME|PATH", help="the data set: a registered name or a path "
                        "(the same as data.name=...)")
    parser.add_argument("--out", metavar="DIR", help="the run directory (default runs/<data>-<model>)")
    parser.add_argument("--resume", metavar="RUN", help="continue the run in this directory")
    parser.add_argument("--json", action="store_true", help="print the final summary as JSON")


def run(args) -> int:
    import logging

    from pixelcnn.config import resolve
    from pixelcnn.errors import ConfigError
    from pixelcnn.training.distributed import from_environment
    from pixelcnn.training.resume import resumed_config
    from pixelcnn.training.runtime import Interrupted, StopSignals

    procs = from_environment()  # torchrun's processes; rank 0 of 1 without it
    if not procs.is_main:  # one log for the run: rank 0's
        logging.getLogger("pixelcnn").setLevel(logging.WARNING)

    if args.resume:
        if args.config or args.out or args.data:
            raise ConfigError("--resume continues a run with its saved config; do not give --config, --out or --data")
        run_dir = Path(args.resume)
        cfg = resumed_config(run_dir, args.overrides)
    else:
        data = [f"data.name={args.data}"] if args.data else []
        cfg = resolve(bundled_config(args.config) if args.config else None, data + args.overrides)
        run_dir = Path(args.out or f"runs/{cfg.data.name}-{cfg.model.name}")
        if (run_dir / "latest").exists():
            raise ConfigError(f"{run_dir} already holds a run; continue it with --resume {run_dir} or choose another --out")
    # a signal anywhere outside the training loop (which stops after its step instead) ends the
    # command at once with the resume line; the loop's own handler takes over while it runs
    try:
        with StopSignals(at_once=True):
            return _train(args, cfg, run_dir, procs)
    except Interrupted as e:
        if procs.is_main:
            _say_interrupted(run_dir, f"stopped by {e.signal_name}")
        return 128 + int(getattr(signal, e.signal_name))


def _train(args, cfg, run_dir: Path, procs) -> int:
    from pixelcnn.training import Trainer

    trainer = Trainer(cfg, run_dir, resume=bool(args.resume), procs=procs)
    summary = trainer.run()
    if procs.is_main and not summary.get("interrupted"):
        import logging

        from pixelcnn.evaluation.report import write_report

        logging.getLogger("pixelcnn").info("writing the report")
        summary["report"] = str(write_report(run_dir))
    if args.json and procs.is_main:
        print_json(summary)
    if summary.get("interrupted"):
        if procs.is_main:
            _say_interrupted(run_dir, summary["stopped"])
        return 128 + int(getattr(signal, summary["interrupted"]))
    if not args.json and procs.is_main:
        _print_summary(run_dir, summary)
    return 0


def _say_interrupted(run_dir: Path, stopped: str) -> None:
    """One line: where the run stopped and how to go on (once, from rank 0)."""
    from pixelcnn.errors import PixelCNNError
    from pixelcnn.training.checkpoint import read_state, resolve_checkpoint

    try:
        path = resolve_checkpoint(run_dir)
        step = read_state(path)["step"]
    except PixelCNNError:
        print(f"pixelcnn train: {stopped} before the first checkpoint; nothing to resume: start the run again "
              f"with the same command", file=sys.stderr)
        return
    print(f"pixelcnn train: {stopped} after step {step}; checkpoint saved in {path}; continue with: "
          f"pixelcnn train --resume {run_dir}", file=sys.stderr)


def bundled_config(name: str) -> str:
    """A config file path, or the bundled ``configs/<name>.yaml`` of the package."""
    if Path(name).is_file():
        return name
    from importlib import resources

    candidate = resources.files("pixelcnn") / "configs" / f"{name}.yaml"
    return str(candidate) if candidate.is_file() else name


def _print_summary(run_dir: Path, summary: dict) -> None:
    test = summary.get("test")
    print(f"run: {run_dir}  ({summary['steps']} steps, {summary['seconds']} s; {summary['stopped']})")
    if test:
        print(f"test bits/dim: {test['bits_per_dim']:.4f}  "
              f"({test['nats_per_image']:.2f} nats/image over {test['images']} images of the {test['split']} split)")
    if summary.get("samples"):
        print(f"samples: {summary['samples']}")
    if summary.get("report"):
        print(f"report: {summary['report']}  (pixelcnn report {run_dir} rewrites it)")

