"""``pixelcnn vqvae train`` and ``pixelcnn vqvae encode``: a VQ-VAE, and the codes of a data set."""

from __future__ import annotations

from pixelcnn.cli.common import add_checkpoint_args, add_command, positive_int, print_json

EXAMPLES = """
  # train a VQ-VAE on the digits in the package (two maps: 4x4 top, 7x7 bottom), then encode them
  pixelcnn vqvae train --config vqvae-mnist5k --out runs/vq
  pixelcnn vqvae encode --checkpoint runs/vq --data mnist5k --out codes.npz

  # then a prior over the top codes, and one over the bottom codes
  pixelcnn train --data codes.npz data.kind=codes data.field=top data.levels=64 --out runs/top
"""

TRAIN_EXAMPLES = """
  # the embedded mnist5k digits (CPU-sized: a few minutes)
  pixelcnn vqvae train --config vqvae-mnist5k --out runs/vq

  # CIFAR-10 from local batches (data_batch_1.bin .., test_batch.bin)
  pixelcnn vqvae train --config vqvae-cifar10 --out runs/vq-cifar data.data_dir=/data/cifar10

  # one map only, a larger codebook, the same overrides as pixelcnn train
  pixelcnn vqvae train --config vqvae-mnist5k --out runs/vq1 model.maps=1 model.bottom_codes=256

  # continue a stopped run exactly where it stopped
  pixelcnn vqvae train --resume runs/vq train.max_steps=3000
"""

ENCODE_EXAMPLES = """
  # top_train, top_valid, top_test, bottom_train, ..., train_labels, ... of every split
  pixelcnn vqvae encode --checkpoint runs/vq --data mnist5k --out codes.npz

  # replace an existing file; read CIFAR-10 from a folder
  pixelcnn vqvae encode --checkpoint runs/vq-cifar --data cifar10 --data-dir /data/cifar10 --out c.npz --force
"""


def register(sub) -> None:
    parser = add_command(sub, "vqvae", "VQ-VAEs: train one, encode a data set into code maps for priors",
                         EXAMPLES, _no_command)
    commands = parser.add_subparsers(dest="vqvae_command", metavar="COMMAND", required=True)
    from pixelcnn.cli.train import add_train_args

    train = add_command(commands, "train", "train a VQ-VAE (config file + key=value overrides, as pixelcnn train)",
                        TRAIN_EXAMPLES, run_train)
    add_train_args(train, "model.maps=1, model.bottom_codes=256, train.lr=3e-4", "vqvae-mnist5k, vqvae-cifar10")
    encode = add_command(commands, "encode", "write the code maps of every split of a data set to an .npz file",
                         ENCODE_EXAMPLES, run_encode)
    add_checkpoint_args(encode)
    encode.add_argument("--data", required=True, metavar="NAME|PATH",
                        help="the data set to encode: a registered name or a path")
    encode.add_argument("--data-dir", metavar="DIR", help="where the data set's files are (data.data_dir)")
    encode.add_argument("--out", required=True, metavar="NPZ", help="the .npz file of codes to write")
    encode.add_argument("--force", action="store_true", help="replace --out if it exists")
    encode.add_argument("--batch-size", type=positive_int, default=256, help="images per batch (default 256)")
    encode.add_argument("--json", action="store_true", help="print what was written as JSON")


def _no_command(args) -> int:  # argparse asks for a command first
    return 2


def run_train(args) -> int:
    from pixelcnn.cli.train import train

    return train(args, "vqvae")


def run_encode(args) -> int:
    from pixelcnn.cli.common import data_section, load_checkpoint, show_progress
    from pixelcnn.vqvae import encode_dataset
    from pixelcnn.vqvae.extract import check_output

    check_output(args.out, args.force)  # before the VQ-VAE is read
    vq, info = load_checkpoint(args, "vqvae")
    data = data_section(info, args.data, args.data_dir)
    written = encode_dataset(vq, data, args.out, force=args.force, batch_size=args.batch_size,
                             progress=show_progress(args))
    if args.json:
        print_json(written)
    else:
        splits = ", ".join(f"{name} {n}" for name, n in written["splits"].items())
        maps = ", ".join(f"{name} {h}x{w} of {written['codes'][name]} codes" for name, (h, w) in written["maps"].items())
        print(f"codes: {written['out']}  ({maps}; images: {splits})")
    return 0
