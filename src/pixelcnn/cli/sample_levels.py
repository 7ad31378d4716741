"""``pixelcnn sample --then``: top codes, bottom codes given them, and images through a decoder."""

from __future__ import annotations

import argparse


def run_two_level(args) -> int:
    import torch

    from pixelcnn.cli.common import check_grid_memory, check_output, class_labels, load_checkpoint, show_progress
    from pixelcnn.errors import ConfigError
    from pixelcnn.images import save_grid, save_npz
    from pixelcnn.sampling import sample_two_level
    from pixelcnn.sampling.two_level import check_pair

    if not args.then:
        raise ConfigError("--decoder decodes the codes of two priors: give the second with --then RUN")
    if args.per_class:
        raise ConfigError("--per-class draws from one prior; with --then give --class K and -n")
    out = check_output(args.out, (".png", ".npz"))
    if out.suffix.lower() == ".png" and not args.decoder:
        raise ConfigError("--then draws codes; give --decoder VQRUN to turn them into images, "
                          "or --out FILE.npz to keep the codes")
    n = 64 if args.n is None else args.n
    top, _ = load_checkpoint(args)
    bottom, _ = load_checkpoint(argparse.Namespace(**{**vars(args), "checkpoint": args.then}))
    check_pair(top, bottom)
    decoder = load_decoder(args, top, bottom) if args.decoder else None
    if decoder is not None:
        check_grid_memory(decoder, n, None, args.scale, "samples")
    conditional = top if getattr(top.config, "num_classes", 0) else bottom
    labels = class_labels(conditional, args.label, n, args.checkpoint if conditional is top else args.then)
    g = torch.Generator(device=next(top.parameters()).device).manual_seed(args.seed)
    codes = sample_two_level(top, bottom, n, labels=labels, batch_size=args.batch_size, temperature=args.temperature,
                             generator=g, method=args.method, progress=args.progress and show_progress(args))
    arrays = dict(codes) if labels is None else {**codes, "labels": labels}
    if decoder is None:
        save_npz(out, **arrays)
        print(f"wrote {out} ({n} pairs of code maps)")
        return 0
    from pixelcnn.vqvae import decode

    images = decode(decoder, top=codes["top"], bottom=codes["bottom"], batch_size=args.batch_size)
    save_grid(images.to(torch.uint8), out, scale=args.scale)
    npz = save_npz(out.with_suffix(".npz"), images=images.to(torch.uint8), **arrays)
    print(f"wrote {out} and {npz} ({n} images)")
    return 0


def load_decoder(args, top, bottom):
    """The VQ-VAE of ``--decoder``, checked against the two priors before any sampling: two maps,
    each prior's levels and map size those of the matching codebook and map."""
    from pixelcnn.errors import PixelCNNError
    from pixelcnn.training.runtime import pick_device
    from pixelcnn.vqvae import load

    decoder = load(args.decoder, device=pick_device(args.device))
    c = decoder.config
    if tuple(c.map_names) != ("top", "bottom") and tuple(c.map_names) != ("bottom", "top"):
        raise PixelCNNError(f"{args.decoder} decodes one code map; --then samples two (top and bottom)")
    for name, prior, run in (("top", top, args.checkpoint), ("bottom", bottom, args.then)):
        have = (prior.config.levels, tuple(prior.config.image_size))
        want = (c.codes(name), tuple(c.map_shape(name)))
        if have != want:  # one code map per image: check_pair has checked it
            raise PixelCNNError(f"{run} draws {have[0]} codes on {have[1][0]}x{have[1][1]} maps but the decoder's "
                                f"{name} map holds {want[0]} codes on {want[1][0]}x{want[1][1]}")
    return decoder
