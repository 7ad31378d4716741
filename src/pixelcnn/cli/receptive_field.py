"""``pixelcnn receptive-field``: which input sub-pixels one sub-pixel's distribution depends on."""

from __future__ import annotations

from pixelcnn.cli.common import add_command, print_json, seed

EXAMPLES = """
  # the blind spot of the original PixelCNN, and Gated PixelCNN without one
  pixelcnn receptive-field --model pixelcnn --pixel 14,14 --out rf-pixelcnn.png
  pixelcnn receptive-field --model gated-pixelcnn --pixel 14,14 --out rf-gated.png

  # colour: what the G sub-pixel of pixel (5, 5) sees in a 10x10 RGB image
  pixelcnn receptive-field --model pixelcnn --channels 3 --channel 1 --pixel 5,5 --size 10

  # a trained model, its own weights; counts as JSON
  pixelcnn receptive-field --checkpoint runs/mnist5k --pixel 20,6 --json

  # prints '#' seen, 'o' blind spot, '-' out of reach, 'X' target, '.' future
"""


def register(sub) -> None:
    parser = add_command(sub, "receptive_field", "show which input sub-pixels a sub-pixel's distribution "
                         "depends on (found by gradients): the blind spot of PixelCNN", EXAMPLES, run)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", metavar="NAME", help="a registered preset, with random weights (see 'pixelcnn models')")
    source.add_argument("--checkpoint", metavar="RUN", help="a trained run or checkpoint directory, its own weights")
    parser.add_argument("--weights", choices=("ema", "raw"), default="ema",
                        help="with --checkpoint: EMA weights (default, when kept) or the raw training weights")
    parser.add_argument("--pixel", required=True, metavar="I,J", help="row and column of the target pixel")
    parser.add_argument("--channel", type=int, default=0, help="colour of the target sub-pixel (default 0)")
    parser.add_argument("--size", metavar="H,W", help="image size, or one number for a square (default: the model's)")
    parser.add_argument("--channels", type=int, metavar="C", help="with --model: colour channels (default: the preset's)")
    parser.add_argument("--inputs", type=int, default=4, help="random images whose gradients are pooled (default 4)")
    parser.add_argument("--seed", type=seed, default=0, help="seed of the random images and weights (default 0)")
    parser.add_argument("--out", metavar="PNG", help="also draw the field as a picture")
    parser.add_argument("--scale", type=int, default=16, help="pixels per cell in the picture (default 16)")
    parser.add_argument("--json", action="store_true", help="print the counts as JSON instead of the drawing")


def run(args) -> int:
    import torch

    from pixelcnn.cli.common import check_output
    from pixelcnn.errors import ConfigError
    from pixelcnn.evaluation import receptive_field, render_png, render_text

    pixel = parse_ints(args.pixel, "--pixel", "I,J", lengths=(2,))
    size = parse_ints(args.size, "--size", "H,W", lengths=(1, 2)) if args.size else None
    if size is not None and min(size) < 1:
        raise ConfigError(f"--size must be positive, got {args.size!r}")
    if args.inputs < 1 or args.scale < 1:
        raise ConfigError("--inputs and --scale must be at least 1")
    if args.out:
        check_output(args.out)
    overrides = {}
    if not (args.checkpoint or args.model):
        raise ConfigError("give --model NAME or --checkpoint RUN (an empty name names nothing)")
    if args.checkpoint:
        if args.channels is not None:
            raise ConfigError("--channels applies to --model presets; a checkpoint has its own")
        from pixelcnn.training import load
        from pixelcnn.training.kinds import require_kind

        require_kind(args.checkpoint, "autoregressive")
        model = load(args.checkpoint, weights=args.weights)
    else:
        model = args.model
        if args.channels is not None:
            overrides["in_channels"] = args.channels
    if size is not None:
        size = size * 2 if len(size) == 1 else size
    _check_memory(model, overrides, size, args.inputs)
    g = torch.Generator().manual_seed(args.seed)
    field = receptive_field(model, pixel, args.channel, size=size, inputs=args.inputs, generator=g, **overrides)
    if args.json:
        c, h, w = field.seen.shape
        print_json({"model": args.model or args.checkpoint, "pixel": list(field.pixel), "channel": field.channel,
                    "size": [h, w], "channels": c, **field.counts()})
    else:
        print(render_text(field))
        print(field.summary())
    if args.out:
        k = field.counts()
        colour = f", channel {field.channel}" if field.seen.shape[0] > 1 else ""
        title = (f"{args.model or 'checkpoint'}, pixel {field.pixel}{colour}: "
                 f"{k['seen']} of {k['earlier']} earlier sub-pixels seen, blind spot {k['blind']}")
        out = render_png(field, args.out, scale=args.scale, title=title)
        if not args.json:
            print(f"wrote {out}")
    return 0


def _check_memory(model, overrides: dict, size, inputs: int) -> None:
    """Refuse up front a field that would not fit in memory (it runs in float64 on the CPU)."""
    import torch

    from pixelcnn.models import preset_config
    from pixelcnn.training.runtime import activation_bytes, check_memory

    config = preset_config(model, **overrides) if isinstance(model, str) else model.config
    size = tuple(size or config.image_size)
    check_memory(activation_bytes(config, inputs, size, bytes_per_number=8),
                 f"the receptive field at {size[0]}x{size[1]} with {inputs} input(s)", torch.device("cpu"),
                 "use a smaller --size or fewer --inputs")


def parse_ints(text: str, flag: str, form: str, lengths: tuple[int, ...]) -> tuple[int, ...]:
    """``"3,4"`` -> ``(3, 4)``; anything else is a ConfigError naming ``flag``."""
    from pixelcnn.errors import ConfigError

    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        values = ()
    if len(values) not in lengths:
        raise ConfigError(f"{flag} must look like {form} (integers separated by a comma), got {text!r}")
    return values
