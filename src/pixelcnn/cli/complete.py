"""``pixelcnn complete``: keep the top rows of an image and sample the rest."""

from __future__ import annotations

from pathlib import Path

from pixelcnn.cli.common import add_checkpoint_args, add_command, add_sampling_args, data_section, positive_int

EXAMPLES = """
  # the top 14 rows of a digit, 8 ways to finish it
  pixelcnn complete --checkpoint runs/mnist5k --image digit.png --keep-rows 14 -n 8 --out completions.png

  # an image of a data set instead of a file
  pixelcnn complete --checkpoint runs/mnist5k --data mnist5k --split test --index 7 --keep-rows 12 --out c.png

  # a class-conditional model: finish the digit as a 3
  pixelcnn complete --checkpoint runs/cond --image digit.png --keep-rows 10 --class 3 --out as-three.png
"""


def register(sub) -> None:
    parser = add_command(sub, "complete", "complete the bottom of an image given its top rows", EXAMPLES, run)
    add_checkpoint_args(parser)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--image", help="a PNG/JPEG file (converted to the model's channels and size)")
    source.add_argument("--data", help="a data set name or path; pick the image with --split and --index")
    parser.add_argument("--split", default="test", help="split of --data (default test)")
    parser.add_argument("--index", type=int, default=0, help="image of --data (default 0)")
    parser.add_argument("--data-dir", help="where the data set's files are")
    parser.add_argument("--keep-rows", type=int, required=True, help="rows kept from the top of the image")
    parser.add_argument("-n", type=positive_int, default=8, help="number of completions (default 8)")
    parser.add_argument("--class", dest="label", type=int, help="class label for a class-conditional model (required by one)")
    parser.add_argument("--out", required=True, help="PNG (.png): the image, its kept rows, then the completions; "
                        "the .npz goes beside it")
    add_sampling_args(parser)


def run(args) -> int:
    import torch

    from pixelcnn.cli.common import check_grid_memory, check_output, class_labels, load_checkpoint
    from pixelcnn.errors import PixelCNNError
    from pixelcnn.images import save_grid, save_npz
    from pixelcnn.levels import level_dtype, to_uint8

    out = check_output(args.out)
    model, info = load_checkpoint(args)
    cfg = model.config
    h = cfg.image_size[0]
    if not 0 <= args.keep_rows <= h:
        raise PixelCNNError(f"--keep-rows must be between 0 and the image height {h}, got {args.keep_rows}")
    labels = class_labels(model, args.label, args.n, args.checkpoint)
    check_grid_memory(model, args.n + 2, args.n + 2, args.scale, "completions")  # + original, kept rows
    truth = _source_levels(model, info, args)  # long [1, C, H, W]
    mask = torch.zeros_like(truth, dtype=torch.bool)
    mask[:, :, : args.keep_rows] = True
    device = next(model.parameters()).device
    g = torch.Generator(device=device).manual_seed(args.seed)
    cond = None if labels is None else labels.to(device)
    done = model.sample(args.n, cond=cond, known=truth.to(device), known_mask=mask.to(device),
                        temperature=args.temperature, generator=g, method=args.method).cpu()
    kept = torch.where(mask, truth, torch.zeros_like(truth))
    shown = torch.cat([truth, kept, done])
    save_grid(to_uint8(shown, cfg.levels, how="stretch"), out, nrow=shown.shape[0], scale=args.scale)
    extra = {} if labels is None else {"labels": labels}
    dtype = level_dtype(cfg.levels)
    npz = save_npz(out.with_suffix(".npz"), levels=done.to(dtype), known=truth[0].to(dtype), keep_rows=args.keep_rows,
                   **extra)
    print(f"wrote {out} (original, kept rows, {args.n} completions) and {npz}")
    return 0


def _source_levels(model, info, args):
    """The image to complete as long levels ``[1, C, H, W]``, quantised as in training."""
    import torch

    from pixelcnn.data.images import read_image
    from pixelcnn.data.source import read_rows
    from pixelcnn.errors import DataError
    from pixelcnn.levels import fixed_binarize, quantise
    from pixelcnn.training.data import check_split, load_split

    cfg = model.config
    data = data_section(info, args.data, args.data_dir)
    if args.image and data.kind == "codes":
        raise DataError("--image is a picture; this model reads codes: name them with --data and --index")
    if args.image:
        pixels = torch.tensor(read_image(Path(args.image), cfg.in_channels, cfg.image_size)[0])[None]
    else:
        split = load_split(data, args.split)
        check_split(cfg, split, labels=False)  # the class comes from --class
        images = split.images
        if not 0 <= args.index < len(images):
            raise DataError(f"--index {args.index} is outside the {len(images)} images of {data.name} {args.split}")
        pixels = read_rows(images, [args.index])  # [1, C, H, W]
    # one image: a clean threshold, not a random draw
    return quantise(torch.as_tensor(pixels), cfg.levels, kind=data.kind, binarize=fixed_binarize(data.binarize)).long()

