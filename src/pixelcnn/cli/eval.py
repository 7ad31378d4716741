"""``pixelcnn eval``: exact negative log-likelihood of a whole split."""

from __future__ import annotations

from pixelcnn.cli.common import (add_checkpoint_args, add_command, data_section, load_checkpoint, positive_int,
                                 print_json, show_progress)

EXAMPLES = """
  pixelcnn eval --checkpoint runs/mnist5k --data mnist5k --split test
  pixelcnn eval --checkpoint runs/mnist5k --split test --json
  pixelcnn eval --checkpoint runs/bin --data binarized-mnist --split valid --data-dir ~/data
"""


def register(sub) -> None:
    parser = add_command(sub, "eval", "score a split: nats/image and bits/dim over every image", EXAMPLES, run)
    add_checkpoint_args(parser)
    parser.add_argument("--data", help="data set name or path (default: the one the model was trained on)")
    parser.add_argument("--split", default="test", help="split to score (default test)")
    parser.add_argument("--data-dir", help="where the data set's files are")
    parser.add_argument("--batch-size", type=positive_int, default=256, help="images per forward pass (default 256)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args) -> int:
    from pixelcnn.evaluation import evaluate
    from pixelcnn.training.data import check_split, load_split

    model, info = load_checkpoint(args)
    data = data_section(info, args.data, args.data_dir)
    split = load_split(data, args.split, seed=info.seed)
    levels, labels = check_split(model.config, split, args.checkpoint)
    score = evaluate(model, levels, labels, batch_size=args.batch_size, progress=not args.json and show_progress(args))
    result = {"checkpoint": args.checkpoint, "data": data.name, "split": args.split, **score.to_dict()}
    if args.json:
        print_json(result)
    else:
        print(f"{data.name} {args.split}: {score.bits_per_dim:.4f} bits/dim, "
              f"{score.nats_per_image:.2f} nats/image ({score.images} images)")
    return 0
