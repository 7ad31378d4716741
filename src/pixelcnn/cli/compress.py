"""``pixelcnn compress``: images to one file of about -log2 p(x) bits, coded with the model."""

from __future__ import annotations

from pixelcnn.cli.common import add_checkpoint_args, add_command, positive_int

EXAMPLES = """
  # a folder of PNGs (every file in it must be an image of the model's mode and size)
  pixelcnn compress --checkpoint runs/mnist5k digits/ --out digits.pxz

  # files and arrays together (uint8 [N,H,W], [N,H,W,C] or [N,C,H,W]); sizes as JSON
  pixelcnn compress --checkpoint runs/mnist5k a.png b.png more.npy --out some.pxz --json

  # 8-bit images for a model of fewer levels: rounded, which is lossy
  pixelcnn compress --checkpoint runs/binary photos/ --out photos.pxz --quantize
"""


def register(sub) -> None:
    parser = add_command(sub, "compress", "compress images losslessly with a trained model", EXAMPLES, run)
    add_checkpoint_args(parser)
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, folders of images, .npy arrays")
    parser.add_argument("--out", required=True, metavar="FILE", help="the compressed file to write")
    parser.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    parser.add_argument("--quantize", action="store_true",
                        help="round values the model's levels do not hold exactly (lossy)")
    parser.add_argument("--batch-size", type=positive_int, default=64, help="images coded together (default 64)")
    parser.add_argument("--json", action="store_true", help="print sizes and bits/dim as JSON")


def run(args) -> int:
    import logging

    from pixelcnn.atomic import atomic_write
    from pixelcnn.cli.common import load_checkpoint, print_json, show_progress
    from pixelcnn.compression import HEADER_BYTES, compress, ideal_bits
    from pixelcnn.compression.files import check_output, read_inputs

    out = check_output(args.out, args.force, folder_ok=False)
    model, _ = load_checkpoint(args)
    cfg = model.config
    shape = (cfg.in_channels, *cfg.image_size)
    images, lossy = read_inputs(args.inputs, shape, cfg.levels, quantize=args.quantize)
    if lossy:
        logging.getLogger("pixelcnn").warning("quantized: some values were rounded to the model's %d levels; "
                                              "decompressing gives the rounded images", cfg.levels)
    data = compress(model, images, batch=args.batch_size, progress=show_progress(args))
    atomic_write(out, lambda f: f.write(data))
    n, dims = images.shape[0], images[0].numel()
    if args.json:
        ideal = ideal_bits(model, images)
        print_json({"file": str(out), "images": n, "bytes": len(data), "bytes_per_image": len(data) / n,
                    "header_bytes": HEADER_BYTES + 4 * n, "bits_per_dim": 8 * len(data) / (n * dims),
                    "ideal_bits_per_dim": ideal / (n * dims), "lossy": lossy})
    else:
        print(f"compressed {n} images into {len(data)} bytes ({8 * len(data) / (n * dims):.4f} bits/dim): "
              f"wrote {out}")
    return 0
