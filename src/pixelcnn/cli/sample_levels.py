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
    """The VQ-VAE of ``--decoder``, checked against the two priors before any sampling: its maps
    are top and bottom, each of the size the matching prior draws, with a codebook that holds its codes."""
    from pixelcnn.training.runtime import pick_device
    from pixelcnn.vqvae import load
    from pixelcnn.vqvae.decoding import check_decodes

    decoder = load(args.decoder, device=pick_device(args.device))
    maps = {name: (prior.config.levels, tuple(prior.config.image_size)) for name, prior in (("top", top),
                                                                                          ("bottom", bottom))}
    check_decodes(decoder, args.decoder, maps, f"--checkpoint {args.checkpoint} --then {args.then}")
    return decoder
