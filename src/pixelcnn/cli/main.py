"""The ``pixelcnn`` command: one thin file per subcommand, the logic in the library.

Errors the user can fix (:class:`~pixelcnn.errors.PixelCNNError`) print one
line and exit with status 2; nothing already saved is touched.
"""

from __future__ import annotations

import argparse
import logging
import sys

from pixelcnn.errors import PixelCNNError

COMMANDS = ("train", "eval", "score", "report", "sample", "complete", "receptive_field", "models")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pixelcnn",
        description="Autoregressive image models of the PixelCNN family: train, score, sample.",
        epilog="Run 'pixelcnn COMMAND --help' for the options and examples of a command.",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors on stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = __import__(f"pixelcnn.cli.{name}", fromlist=["register"])
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        return int(args.run(args) or 0)
    except PixelCNNError as e:
        print(f"pixelcnn {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"pixelcnn {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
