"""The ``pixelcnn`` command: one thin file per subcommand, the logic in the library.

One error boundary for every command: an error the user can fix
(:class:`~pixelcnn.errors.PixelCNNError`, a bad option, a file that cannot be
written) prints one line and exits with status 2, and nothing already saved is
touched. Anything else is a bug: one line saying so and exit status 1; the full
traceback with ``--debug`` or ``PIXELCNN_DEBUG=1``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback

from pixelcnn.cli.common import add_global_args
from pixelcnn.errors import PixelCNNError

EPILOG = """examples:
  pixelcnn train --config mnist5k --out runs/mnist5k
  pixelcnn sample --checkpoint runs/mnist5k -n 64 --out samples.png
  pixelcnn vqvae train --config vqvae-mnist5k --out runs/vq
  pixelcnn models

Run 'pixelcnn COMMAND --help' for the options and examples of a command;
the guides are in docs/ (docs/index.md)."""

COMMANDS = ("train", "eval", "score", "report", "sample", "complete", "compress", "decompress", "receptive_field",
            "models", "vqvae")


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and exit status 2) like every other error."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    from pixelcnn import __version__

    parser = Parser(
        prog="pixelcnn",
        description="Autoregressive image models of the PixelCNN family: train, score, sample.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"pixelcnn {__version__}")
    add_global_args(parser, False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = __import__(f"pixelcnn.cli.{name}", fromlist=["register"])
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # key=value overrides may stand on both sides of an option: `train a=1 --out DIR b=2`
        if hasattr(args, "overrides") and all("=" in e and not e.startswith("-") for e in extra):
            args.overrides = [*args.overrides, *extra]
        else:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    debug = args.debug or os.environ.get("PIXELCNN_DEBUG", "") not in ("", "0")
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s",
                        stream=sys.stderr, force=True)
    name = f"pixelcnn {args.command}"
    try:
        return int(args.run(args) or 0)
    except PixelCNNError as e:
        return _fail(name, f"error: {_one_line(e)}", debug, 2)
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        return _fail(name, "error: out of memory; try a smaller batch, image or model", debug, 2)
    except ModuleNotFoundError as e:  # an optional package this command needs is not installed
        return _fail(name, f"error: a package this command needs is not installed: {_one_line(e)} "
                           f"(pip install {e.name or 'it'})", debug, 2)
    except OSError as e:  # a disk that is full, a file that cannot be written: the user can fix it
        return _fail(name, f"error: {_one_line(e)}", debug, 2)
    except Exception as e:  # noqa: BLE001 - the boundary: anything else is a bug of ours
        if _out_of_memory(e):
            return _fail(name, f"error: out of memory ({_one_line(e)[:200]}); try a smaller batch, image or model",
                         debug, 2)
        hint = "" if debug else "; rerun with --debug (or PIXELCNN_DEBUG=1) for the traceback"
        return _fail(name, f"internal error (a bug in pixelcnn, please report it): "
                           f"{type(e).__name__}: {_one_line(e)}{hint}", debug, 1)


def _fail(name: str, line: str, debug: bool, status: int) -> int:
    if debug:
        traceback.print_exc()
    print(f"{name}: {line}", file=sys.stderr)
    return status


def _out_of_memory(error: Exception) -> bool:
    """torch's allocation failures: a CUDA OutOfMemoryError, or a RuntimeError of the CPU allocator."""
    import torch

    return isinstance(error, torch.OutOfMemoryError) or (
        isinstance(error, RuntimeError) and "can't allocate memory" in str(error))


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= 500 else text[:497] + "..."


if __name__ == "__main__":
    sys.exit(main())
