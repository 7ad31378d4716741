"""``pixelcnn score``: each image's exact likelihood, bits/dim and rank; optional per-pixel heat maps."""

from __future__ import annotations

from pixelcnn.cli.common import add_checkpoint_args, add_command, positive_int

EXAMPLES = """
  # a folder of images: one CSV row per image (rank 1 = the least likely)
  pixelcnn score --checkpoint runs/mnist5k --images my-digits/ --out scores.csv

  # a data set split, with a heat map of every image's per-pixel surprise
  pixelcnn score --checkpoint runs/mnist5k --images mnist5k:test --out scores.csv --maps maps/

  # colour photos of another size, converted for a 28x28 gray model
  pixelcnn score --checkpoint runs/mnist5k --images photos/ --resize --gray --out scores.csv

  # an array file (uint8 [N,H,W], [N,H,W,C] or [N,C,H,W]); a conditional model given the class
  pixelcnn score --checkpoint runs/cond --images digits.npy --class 3 --out scores.csv
"""


def register(sub) -> None:
    parser = add_command(sub, "score", "score images: nats, bits/dim and rank of each, per-pixel heat maps",
                         EXAMPLES, run)
    add_checkpoint_args(parser)
    parser.add_argument("--images", required=True, metavar="PATH",
                        help="a folder of images, an .npy/.npz file (path[:key]) or a data set split (name[:split])")
    parser.add_argument("--out", required=True, metavar="CSV", help="the CSV to write (image, label, nats, "
                        "bits_per_dim, rank)")
    parser.add_argument("--maps", metavar="DIR", help="also write a heat map PNG per image (colour bar in bits)")
    parser.add_argument("--resize", action="store_true", help="centre-crop and resize images of another size")
    parser.add_argument("--gray", action="store_true", help="convert colour images to gray (luma) for a gray model")
    parser.add_argument("--class", dest="label", type=int, help="the class of every image (class-conditional models)")
    parser.add_argument("--data-dir", help="where a named data set's files are")
    parser.add_argument("--batch-size", type=positive_int, default=256, help="images per forward pass (default 256)")


def run(args) -> int:
    import sys

    from pixelcnn.cli.common import check_output_file, check_output_folder, load_checkpoint
    from pixelcnn.evaluation.scoring import score_source, write_maps, write_scores_csv

    check_output_file(args.out)  # every output checked before any work
    if args.maps:
        check_output_folder(args.maps, "--maps")
    model, info = load_checkpoint(args)
    binarize = info.data.binarize
    scored = score_source(model, args.images, label=args.label, resize=args.resize, gray=args.gray,
                          binarize=binarize, data_dir=args.data_dir, batch_size=args.batch_size)
    for problem in scored.problems:
        print(f"skipped: {problem}", file=sys.stderr)
    out = write_scores_csv(args.out, scored.names, scored.scores, scored.labels)
    mean = float(scored.scores.bits_per_dim.mean())
    print(f"scored {len(scored.names)} images ({mean:.4f} bits/dim on average), "
          f"skipped {len(scored.problems)}: wrote {out}")
    if args.maps:
        folder = write_maps(args.maps, scored)
        print(f"heat maps: {folder}")
    return 0
