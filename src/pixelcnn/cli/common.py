"""Pieces several subcommands share: help formatting, loading a checkpoint, checking outputs."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_command(sub, name: str, help: str, examples: str, run) -> argparse.ArgumentParser:
    """A subcommand parser whose help ends with worked examples."""
    parser = sub.add_parser(
        name.replace("_", "-"),
        help=help,
        description=help,
        epilog="examples:\n" + examples.strip("\n"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(run=run)
    add_global_args(parser, argparse.SUPPRESS)
    return parser


def add_global_args(parser: argparse.ArgumentParser, default) -> None:
    """-q and --debug, accepted before and after the command name (``SUPPRESS`` after it, so
    that a subcommand does not reset what was given before it)."""
    parser.add_argument("-q", "--quiet", action="store_true", default=default,
                        help="only warnings and errors on stderr (no progress bars)")
    parser.add_argument("--debug", action="store_true", default=default,
                        help="print the full traceback of an error (also PIXELCNN_DEBUG=1)")


def show_progress(args) -> bool:
    """Progress bars: not with -q, and not when stderr is a file or a pipe (no carriage-return spam)."""
    import sys

    return not args.quiet and sys.stderr.isatty()


def positive_int(text: str) -> int:
    """An argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def seed(text: str) -> int:
    """An argparse type: a random seed, a whole number in [0, 2**63)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"must be in [0, 2**63), got {value}")
    return value


def add_checkpoint_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True, metavar="RUN",
                        help="a run directory (its latest checkpoint) or a checkpoint directory")
    parser.add_argument("--weights", choices=("ema", "raw"),
                        help="EMA or raw training weights (default: EMA when the run kept them, else raw)")
    parser.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N or mps")


def load_checkpoint(args, kind: str = "autoregressive"):
    """``(model, info)`` of ``--checkpoint`` (see :func:`pixelcnn.load_run`), a model of ``kind``
    (:mod:`pixelcnn.training.kinds`); ``--weights ema`` on a run that kept no EMA weights, or a
    missing EMA file of a run that kept them, is an error."""
    from pixelcnn.errors import CheckpointError
    from pixelcnn.training.checkpoint import load_run, read_meta, resolve_checkpoint
    from pixelcnn.training.kinds import require_kind
    from pixelcnn.training.runtime import pick_device

    device = pick_device(args.device)
    ckpt = resolve_checkpoint(args.checkpoint)
    require_kind(args.checkpoint, kind)
    if args.weights == "ema" and not (ckpt / "ema.safetensors").is_file():
        decay = read_meta(ckpt).get("run", {}).get("train", {}).get("ema_decay")
        if decay == 0:
            raise CheckpointError(f"{args.checkpoint} has no EMA weights (it was trained with train.ema_decay = 0); "
                                  f"use --weights raw")
    return load_run(args.checkpoint, weights=args.weights or "ema", device=device)


def check_output(path: str, suffixes: tuple[str, ...] = (".png",)) -> Path:
    """An output file named on the command line: the right kind, in a directory that exists and
    can be written, checked before any work is done."""
    from pixelcnn.errors import ConfigError
    from pixelcnn.training.checkpoint import check_writable

    out = Path(path)
    if out.suffix.lower() not in suffixes:
        raise ConfigError(f"--out must be a {' or '.join(suffixes)} file, got {path!r}")
    check_writable(out, make_parents=False)
    return out


def check_output_file(path: str, option: str = "--out") -> Path:
    """An output file of any name: not a directory, in a folder that exists or can be made, writable."""
    from pixelcnn.errors import ConfigError
    from pixelcnn.training.checkpoint import check_writable

    out = Path(path)
    if out.is_dir():
        raise ConfigError(f"{option} {path} is a directory; give a file")
    check_writable(out.parent, make_parents=True)
    if out.exists():
        check_writable(out, make_parents=False)
    return out


def check_output_folder(path: str, option: str) -> Path:
    """An output folder: not a file, existing or creatable, writable."""
    from pixelcnn.errors import ConfigError
    from pixelcnn.training.checkpoint import check_writable

    out = Path(path)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{option} {path} is a file; give a folder")
    check_writable(out, make_parents=True)
    return out


def class_labels(model, label: int | None, n: int, checkpoint: str):
    """Labels ``[n]`` for a class-conditional model (``--class``), None for one that is not;
    a missing or out-of-range ``--class`` is one clear line."""
    import torch

    from pixelcnn.errors import ConfigError
    from pixelcnn.labels import check_label

    classes = getattr(model.config, "num_classes", 0)
    if not classes:
        if label is not None:
            raise ConfigError(f"{checkpoint} is not class-conditional; drop --class")
        return None
    if label is None:
        raise ConfigError(f"{checkpoint} is class-conditional ({classes} classes); give --class K with K in [0, {classes})")
    check_label(label, classes, "--class")
    return torch.full((n,), label)


def print_json(data) -> None:
    print(json.dumps(data, indent=2))


def data_section(info, name: str | None = None, data_dir: str | None = None):
    """The data settings a checkpoint was trained with (levels, binarisation; ``info`` its
    :class:`~pixelcnn.training.RunInfo`), for data set ``name`` (default: the training set)
    read from ``data_dir``."""
    from pixelcnn.config import DataSection

    saved = info.data
    changes = {"name": name or saved.name}
    if data_dir is not None:
        changes["data_dir"] = data_dir
    values = {**saved.__dict__, **changes}
    return DataSection(**values)


def add_sampling_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=seed, default=0, help="random seed in [0, 2**63) (default 0)")
    parser.add_argument("--temperature", type=float, default=1.0, help="divides the logits; 0 takes the mode (default 1)")
    parser.add_argument("--method", choices=("fast", "reference"), default="fast",
                        help="fast: cached incremental sampler (default); reference: one full pass per sub-pixel")
    parser.add_argument("--scale", type=positive_int, default=1, help="enlarge the PNG this many times (default 1)")


def check_grid_memory(model, n: int, nrow, scale: int, what: str) -> None:
    """``n`` images kept until the end (long levels, their copies, uint8) and their PNG grid
    at ``scale``, estimated before any draw (the draw checks its own memory)."""
    import torch

    from pixelcnn.images import grid_bytes
    from pixelcnn.training.runtime import check_memory

    c, (h, w) = model.config.in_channels, model.config.image_size
    need = n * c * h * w * (8 + 8 + 1 + 1) + grid_bytes(n, c, h, w, nrow, scale)
    check_memory(need, f"{n:,} {what} and their grid at --scale {scale}", torch.device("cpu"),
                 "use a smaller -n or --scale")
