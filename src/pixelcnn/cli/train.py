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
    add_train_args(parser, "train.lr=3e-4, model.name=gated-pixelcnn, data.levels=2", "mnist5k, cifar10-pp")


def add_train_args(parser, overrides: str, bundled: str) -> None:
    """The options of a training command: ``overrides`` and ``bundled`` configs name examples."""
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help=f"config overrides such as {overrides}")
    parser.add_argument("--config", metavar="FILE|NAME",
                        help=f"a YAML/JSON run config, or the name of a bundled one ({bundled})")
    parser.add_argument("--data", metavar="NAME|PATH", help="the data set: a registered name or a path "
                        "(the same as data.name=...)")
    parser.add_argument("--out", metavar="DIR", help="the run directory (default runs/<data>-<model>)")
    parser.add_argument("--resume", metavar="RUN", help="continue the run in this directory")
    parser.add_argument("--json", action="store_true", help="print the final summary as JSON")


def run(args) -> int:
    return train(args, "autoregressive")


def train(args, kind: str) -> int:
    """``pixelcnn train`` or ``pixelcnn vqvae train``: a run of a model of ``kind``
    (:mod:`pixelcnn.training.kinds`), whose presets are the ones ``model.name`` may name."""
    import logging

    from pixelcnn.config import apply_overrides, from_dict
    from pixelcnn.errors import ConfigError
    from pixelcnn.training.distributed import from_environment
    from pixelcnn.training.kinds import kind_named
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
        _check_kind(cfg.model.name, kind)
    else:
        data = [f"data.name={args.data}"] if args.data else []
        merged = apply_overrides(_with_model(_config_file(args.config), kind), data + args.overrides)
        model = merged.get("model")
        if isinstance(model, dict) and isinstance(model.get("name"), str):
            _check_kind(model["name"], kind)  # before the model section is checked against the presets
        cfg = from_dict(merged)
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
            _say_interrupted(run_dir, f"stopped by {e.signal_name}", kind_named(kind).trains_with)
        return 128 + int(getattr(signal, e.signal_name))


def _config_file(name: str | None) -> dict:
    from pixelcnn.config import load_file

    return load_file(bundled_config(name)) if name else {}


def _with_model(data: dict, kind: str) -> dict:
    """``data`` (a run config as nested dicts) with the first preset of ``kind`` as ``model.name``
    when it names no model (the run config's default model is autoregressive)."""
    from pixelcnn.training.kinds import AUTOREGRESSIVE, kind_named

    model = data.get("model") or {}
    if kind == AUTOREGRESSIVE.name or not isinstance(model, dict) or model.get("name"):
        return data
    return {**data, "model": {**model, "name": kind_named(kind).presets[0]}}


def _check_kind(name: str, kind: str) -> None:
    """One line when model ``name`` is not a preset of ``kind``, the kind the command trains (a name
    no kind knows is left to the autoregressive registry, which lists its presets)."""
    from pixelcnn.errors import ConfigError
    from pixelcnn.training.kinds import kind_named, kind_of

    held, wanted = kind_of(name), kind_named(kind)
    if held is wanted:
        return
    it = f"; it is {held.what}: train it with {held.trains_with}" if name in held.presets else ""
    raise ConfigError(f"model.name = {name} is not {wanted.what} (known: {', '.join(wanted.presets)}){it}")


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
            _say_interrupted(run_dir, summary["stopped"], trainer.kind.trains_with)
        return 128 + int(getattr(signal, summary["interrupted"]))
    if not args.json and procs.is_main:
        _print_summary(run_dir, summary, trainer.kind)
    return 0


def _say_interrupted(run_dir: Path, stopped: str, command: str) -> None:
    """One line: where the run stopped and how to go on (once, from rank 0)."""
    from pixelcnn.errors import PixelCNNError
    from pixelcnn.training.checkpoint import read_state, resolve_checkpoint

    try:
        path = resolve_checkpoint(run_dir)
        step = read_state(path)["step"]
    except PixelCNNError:
        print(f"{command}: {stopped} before the first checkpoint; nothing to resume: start the run again "
              f"with the same command", file=sys.stderr)
        return
    print(f"{command}: {stopped} after step {step}; checkpoint saved in {path}; continue with: "
          f"{command} --resume {run_dir}", file=sys.stderr)


def bundled_config(name: str) -> str:
    """A config file path, or the bundled ``configs/<name>.yaml`` of the package."""
    if Path(name).is_file():
        return name
    from importlib import resources

    candidate = resources.files("pixelcnn") / "configs" / f"{name}.yaml"
    return str(candidate) if candidate.is_file() else name


def _print_summary(run_dir: Path, summary: dict, kind) -> None:
    test = summary.get("test")
    print(f"run: {run_dir}  ({summary['steps']} steps, {summary['seconds']} s; {summary['stopped']})")
    if test and "bits_per_dim" in test:
        print(f"test bits/dim: {test['bits_per_dim']:.4f}  "
              f"({test['nats_per_image']:.2f} nats/image over {test['images']} images of the {test['split']} split)")
    elif test:
        print(f"test: {kind.describe(test)}  ({test['images']} images of the {test['split']} split)")
    if summary.get(kind.pictures):
        print(f"{kind.pictures}: {summary[kind.pictures]}")
    if summary.get("report"):
        print(f"report: {summary['report']}  (pixelcnn report {run_dir} rewrites it)")

