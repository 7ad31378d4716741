"""``pixelcnn sample``: draw images from a trained model."""

from __future__ import annotations

from pixelcnn.cli.common import add_checkpoint_args, add_command, add_sampling_args, positive_int

EXAMPLES = """
  pixelcnn sample --checkpoint runs/mnist5k -n 64 --out samples.png --seed 1
  pixelcnn sample --checkpoint runs/mnist5k -n 16 --out cold.png --temperature 0.8
  pixelcnn sample --checkpoint runs/cond --class 3 -n 8 --out threes.png
  pixelcnn sample --checkpoint runs/cond --per-class 8 --out classes.png   # a row per class
  pixelcnn sample --checkpoint runs/top --then runs/bottom --decoder runs/vq -n 64 --out grid.png
  pixelcnn sample --checkpoint runs/top --then runs/bottom -n 64 --out codes.npz   # the two code maps
"""


def register(sub) -> None:
    parser = add_command(sub, "sample", "draw images; writes a PNG grid and an .npz of the images", EXAMPLES, run)
    add_checkpoint_args(parser)
    parser.add_argument("-n", type=positive_int, help="number of images (default 64)")
    parser.add_argument("--batch-size", type=positive_int, default=64, help="images sampled at once (default 64)")
    parser.add_argument("--out", required=True, help="PNG grid to write (.png); the .npz goes beside it")
    parser.add_argument("--class", dest="label", type=int,
                        help="class label for a class-conditional model (it needs --class or --per-class)")
    parser.add_argument("--per-class", type=positive_int,
                        help="this many images of every class, one row per class (instead of --class and -n)")
    parser.add_argument("--progress", action="store_true", help="show a progress bar")
    parser.add_argument("--then", metavar="RUN", help="a second prior, conditioned on the codes --checkpoint draws "
                        "(a VQ-VAE-2 bottom prior given top codes): both levels are sampled")
    parser.add_argument("--decoder", metavar="RUN", help="the VQ-VAE whose decoder turns the two code maps into images")
    add_sampling_args(parser)


def run(args) -> int:
    import torch

    from pixelcnn.cli.common import check_grid_memory, check_output, class_labels, load_checkpoint, show_progress
    from pixelcnn.errors import ConfigError, PixelCNNError
    from pixelcnn.images import save_grid, save_npz
    from pixelcnn.levels import level_dtype, picture, to_uint8
    from pixelcnn.sampling import per_class_labels, sample_in_batches

    if args.per_class and (args.label is not None or args.n is not None):
        raise ConfigError("give --class K and -n, or --per-class N, not both")
    if args.then or args.decoder:
        from pixelcnn.cli.sample_levels import run_two_level

        return run_two_level(args)
    args.n = 64 if args.n is None else args.n
    out = check_output(args.out)
    model, info = load_checkpoint(args)
    nrow = None
    if args.per_class:
        if not getattr(model.config, "num_classes", 0):
            raise PixelCNNError(f"{args.checkpoint} is not class-conditional; drop --per-class")
        labels, nrow = per_class_labels(model, args.per_class), args.per_class
    else:
        labels = class_labels(model, args.label, args.n, args.checkpoint)
    n = labels.numel() if labels is not None else args.n
    check_grid_memory(model, n, nrow, args.scale, "samples")
    g = torch.Generator(device=next(model.parameters()).device).manual_seed(args.seed)
    levels = sample_in_batches(model, n, cond=labels, batch_size=args.batch_size, temperature=args.temperature,
                               generator=g, method=args.method, progress=args.progress and show_progress(args))
    save_grid(picture(levels, model.config.levels, info.ordered), out, nrow=nrow, scale=args.scale)
    arrays = {"levels": levels.to(level_dtype(model.config.levels)), "images": to_uint8(levels, model.config.levels)}
    if labels is not None:
        arrays["labels"] = labels
    npz = save_npz(out.with_suffix(".npz"), **arrays)
    print(f"wrote {out} and {npz} ({n} images)")
    return 0

