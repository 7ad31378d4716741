"""``pixelcnn decompress``: a file made by ``pixelcnn compress`` back to its images."""

from __future__ import annotations

from pixelcnn.cli.common import add_checkpoint_args, add_command

EXAMPLES = """
  # one PNG per image, 000000.png, 000001.png, ... in the order they were compressed
  pixelcnn decompress --checkpoint runs/mnist5k digits.pxz --out digits/

  # one uint8 array [N, C, H, W]; sizes as JSON
  pixelcnn decompress --checkpoint runs/mnist5k digits.pxz --out digits.npy --json
"""


def register(sub) -> None:
    parser = add_command(sub, "decompress", "decompress a file made by 'pixelcnn compress' (same checkpoint)",
                         EXAMPLES, run)
    add_checkpoint_args(parser)
    parser.add_argument("file", metavar="FILE", help="the compressed file")
    parser.add_argument("--out", required=True, metavar="DIR|FILE.npy",
                        help="a folder for one PNG per image, or an .npy file")
    parser.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    parser.add_argument("--json", action="store_true", help="print sizes and bits/dim as JSON")


def run(args) -> int:
    from pathlib import Path

    from pixelcnn.cli.common import load_checkpoint, print_json, show_progress
    from pixelcnn.compression import decompress
    from pixelcnn.compression.files import check_output, write_outputs
    from pixelcnn.errors import DataError

    out = check_output(args.out, args.force, folder_ok=Path(args.out).suffix != ".npy")
    try:
        data = Path(args.file).read_bytes()
    except FileNotFoundError:
        raise DataError(f"{args.file}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{args.file}: a folder, not a compressed file") from None
    model, _ = load_checkpoint(args)
    images = decompress(model, data, progress=show_progress(args))
    write_outputs(images, out, model.config.levels)
    n, dims = images.shape[0], images[0].numel()
    if args.json:
        print_json({"file": args.file, "out": str(out), "images": n, "bytes": len(data),
                    "bits_per_dim": 8 * len(data) / (n * dims)})
    else:
        print(f"decompressed {n} images from {len(data)} bytes: wrote {out}")
    return 0
