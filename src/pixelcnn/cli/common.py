"""Pieces several subcommands share: help formatting and loading a checkpoint."""

from __future__ import annotations

import argparse
import json


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
    return parser


def positive_int(text: str) -> int:
    """An argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def add_checkpoint_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True, metavar="RUN",
                        help="a run directory (its latest checkpoint) or a checkpoint directory")
    parser.add_argument("--weights", choices=("ema", "raw"), default="ema",
                        help="EMA weights (default, when the run kept them) or the raw training weights")
    parser.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N or mps")


def load_checkpoint(args):
    from pixelcnn.training.checkpoint import load
    from pixelcnn.training.runtime import pick_device

    return load(args.checkpoint, weights=args.weights, device=pick_device(args.device))


def print_json(data) -> None:
    print(json.dumps(data, indent=2))


def data_section(model, name: str | None = None, data_dir: str | None = None):
    """The data settings a checkpoint was trained with (levels, binarisation), for data set
    ``name`` (default: the training set) read from ``data_dir``."""
    from pixelcnn.config import DataSection, from_dict

    saved = from_dict(model.checkpoint_meta["run"]).data
    changes = {"name": name or saved.name}
    if data_dir is not None:
        changes["data_dir"] = data_dir
    values = {**saved.__dict__, **changes}
    return DataSection(**values)


def add_sampling_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--temperature", type=float, default=1.0, help="divides the logits; 0 takes the mode (default 1)")
    parser.add_argument("--method", choices=("fast", "reference"), default="fast",
                        help="fast: cached incremental sampler (default); reference: one full pass per sub-pixel")
    parser.add_argument("--scale", type=positive_int, default=1, help="enlarge the PNG this many times (default 1)")
