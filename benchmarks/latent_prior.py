"""Priors over VQ-VAE codes against a prior over pixels, in one run, on CIFAR-10 and mnist5k.

For each set: a two-map VQ-VAE (``--cifar-vqvae``/``--mnist-vqvae`` reads a
finished run; otherwise the bundled ``vqvae-cifar10`` / ``vqvae-mnist5k``
config is trained into ``--out``), its test PSNR and codebook usage; the
codes of every split (``pixelcnn vqvae encode``); a top prior (``pixelsnail``,
attention over the whole top map) and a bottom prior given the top map
(``pixelcnn-pp`` with two resolutions, as the maps are small: 8x8 and 4x4 on
CIFAR-10), both with the categorical over the codebook and the width of the
pixel-space ``pixelcnn-pp`` preset (``--width``), each trained for
``--minutes``. The bottom prior names the VQ-VAE (``data.decoder``), so its
run writes decoded sample grids.

Figures: each prior's test bits per code, and its nats per image over the
image's C x H x W dimensions (bits per image dim; the two priors' sum is the
code length of an image's codes, not a likelihood of its pixels: the VQ-VAE
is lossy); the seconds to sample 64 images through both priors and decode them,
against the cached sampler of ``pixelcnn-pp`` (the preset, width ``--width``)
drawing 64 images in pixel space on the same machine in the same run (its
weights are untrained: the draw's cost does not depend on their values). The
two are timed in turn ``--repeats`` times, each figure the fastest of its
repeats (other load only slows a run down); a latent timing is the mean of as
many draws (each its own 64 images) as span one pixel-space draw, so that both
timings are as long and as exposed to other load (the fastest of many short
timings would favour the short one).
Target: latent sampling and decoding in <= 1/10 of the pixel-space time on
CIFAR-10. ``--grid`` writes the 64 decoded CIFAR-10 samples as a PNG.

    python benchmarks/latent_prior.py --cifar-vqvae runs/vq-cifar --cifar-dir ../shared/data/cifar10 \\
        --minutes 4 --out runs/latent --grid docs/latent-prior-cifar10.png
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
import time
from pathlib import Path

import torch

from machine import describe
from pixelcnn.cli.train import bundled_config
from pixelcnn.config import resolve
from pixelcnn.images import save_grid
from pixelcnn.models import build_model, preset_config
from pixelcnn.sampling import sample_two_level
from pixelcnn.training import Trainer
from pixelcnn.vqvae import decode, encode_dataset, load_run
from vqvae import figures as vq_figures

RESULTS = Path(__file__).parent / "results" / "latent_prior.json"
COUNT = 64  # images drawn by each sampler


def vq_run(name: str, given: str | None, out: Path, config: str, overrides: list[str]) -> tuple[Path, str]:
    """The VQ-VAE run for set ``name``: ``given``, or ``config`` trained into ``out / name / vq``."""
    if given:
        return Path(given), f"given: {given}"
    run = out / name / "vq"
    Trainer(resolve(bundled_config(config), [*overrides, "train.progress=false"]), run).run()
    return run, f"pixelcnn vqvae train --config {config} --out {run} {shlex.join(overrides)}".strip()


def train_prior(codes: Path, run: Path, field: str, model: str, width: int, minutes: float, extra: list[str]):
    """A prior over the ``field`` codes of ``codes`` trained for ``minutes``: (EMA model, summary)."""
    overrides = [f"data.name={codes}", "data.kind=codes", f"data.field={field}", f"model.name={model}",
                 "model.likelihood=categorical", f"model.hidden={width}", "train.epochs=0",
                 f"train.max_minutes={minutes}", "train.batch_size=32", "train.lr=2e-3", "train.warmup_steps=30",
                 "train.ema_decay=0.995", "train.sample_every_epoch=false", "train.sample_count=16",
                 "train.progress=false", *extra]
    trainer = Trainer(resolve(None, overrides), run)
    summary = trainer.run()
    return trainer.eval_model.eval(), summary


def prior_row(model, summary: dict, image_dims: int, minutes: float) -> dict:
    test = summary["test"]
    return {
        "preset": model.name,
        "parameters": sum(p.numel() for p in model.parameters()),
        "codes": model.config.levels,
        "map": list(model.config.image_size),
        "minutes": minutes,
        "steps": summary["steps"],
        "test_bits_per_code": round(test["bits_per_dim"], 4),
        "test_nats_per_image": round(test["nats_per_image"], 2),
        "test_bits_per_image_dim": round(test["nats_per_image"] / math.log(2) / image_dims, 4),
    }


def seconds(fn) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def one_set(name: str, vq_path: Path, out: Path, minutes: float, width: int,
            repeats: int) -> tuple[dict, torch.Tensor]:
    """Every figure of one set, and its 64 decoded samples."""
    vq, info = load_run(vq_path)
    c = vq.config
    dims = c.in_channels * c.image_size[0] * c.image_size[1]
    codes = out / name / "codes.npz"
    codes.parent.mkdir(parents=True, exist_ok=True)
    encode_dataset(vq, info.data, codes, force=True)
    top, top_summary = train_prior(codes, out / name / "top", "top", "pixelsnail", width, minutes, [])
    bottom, bottom_summary = train_prior(codes, out / name / "bottom", "bottom", "pixelcnn-pp", width, minutes,
                                         ["model.resolutions=2", "data.cond_field=top", f"data.decoder={vq_path}"])
    rows = {"top": prior_row(top, top_summary, dims, minutes), "bottom": prior_row(bottom, bottom_summary, dims,
                                                                                     minutes)}
    pixel_model = build_model(preset_config("pixelcnn-pp", in_channels=c.in_channels,
                                            image_size=tuple(c.image_size), levels=256, hidden=width)).eval()
    def latent_draw(seed: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(seed)
        return decode(vq, **sample_two_level(top, bottom, COUNT, generator=g, batch_size=COUNT))

    with torch.inference_mode():
        single, images = seconds(lambda: latent_draw(0))
        latent = pixel = math.inf
        for _ in range(repeats):
            took, _ = seconds(lambda: pixel_model.sample(COUNT, generator=torch.Generator().manual_seed(0)))
            pixel = min(pixel, took)
            draws = max(1, math.ceil(took / single))  # the latent timing spans the pixel draw's time
            took, _ = seconds(lambda: [latent_draw(seed) for seed in range(1, draws + 1)])
            latent = min(latent, took / draws)
            single = min(single, latent)
    return {
        "vqvae": {"run": str(vq_path), **{k: v for k, v in vq_figures(vq_path).items() if k in ("steps", "test")}},
        "image": [c.in_channels, *c.image_size],
        "priors": rows,
        "both_priors_bits_per_image_dim": round(rows["top"]["test_bits_per_image_dim"]
                                                + rows["bottom"]["test_bits_per_image_dim"], 4),
        "sample_and_decode_seconds": round(latent, 3),
        "latent_draws_per_timing": draws,
        "pixel_space_pixelcnn_pp_seconds": round(pixel, 3),
        "pixel_space_parameters": sum(p.numel() for p in pixel_model.parameters()),
        "latent_over_pixel": round(latent / pixel, 4),
    }, images


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cifar-vqvae", metavar="RUN", help="a trained vqvae-cifar10 run (else one is trained)")
    parser.add_argument("--mnist-vqvae", metavar="RUN", help="a trained vqvae-mnist5k run (else one is trained)")
    parser.add_argument("--cifar-dir", default="../shared/data/cifar10",
                        help="folder with data_batch_1.bin and test_batch_first1000.bin, for a VQ-VAE trained here")
    parser.add_argument("--only", default="cifar10,mnist5k", help="comma-separated sets of cifar10, mnist5k")
    parser.add_argument("--minutes", type=float, default=4.0, help="training minutes of each prior")
    parser.add_argument("--width", type=int, default=32, help="the priors' and the pixel model's width (hidden)")
    parser.add_argument("--repeats", type=int, default=3, help="timings of each sampler; the fastest counts")
    parser.add_argument("--out", type=Path, default=Path("runs/latent"), help="runs and codes go here")
    parser.add_argument("--grid", type=Path, help="write the decoded CIFAR-10 samples here (PNG)")
    parser.add_argument("--json", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    for name in ("width", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1, got {getattr(args, name)}")
    if not args.minutes > 0:
        parser.error(f"--minutes must be above 0, got {args.minutes}")
    sets = {
        "cifar10": (args.cifar_vqvae, "vqvae-cifar10", [f"data.data_dir={args.cifar_dir}", "data.download=false"]),
        "mnist5k": (args.mnist_vqvae, "vqvae-mnist5k", []),
    }
    chosen = [s for s in args.only.split(",") if s]
    if not chosen or set(chosen) - set(sets):
        parser.error(f"--only takes comma-separated sets of {', '.join(sets)}, got {args.only!r}")
    results, trained_with = {}, {}
    for name in chosen:
        given, config, overrides = sets[name]
        run, trained_with[name] = vq_run(name, given, args.out, config, overrides)
        results[name], images = one_set(name, run, args.out, args.minutes, args.width, args.repeats)
        if name == "cifar10" and args.grid:
            save_grid(images.to(torch.uint8), args.grid, scale=2)
        print(json.dumps({name: results[name]}), file=sys.stderr, flush=True)
    targets = {}
    if "cifar10" in results:
        targets["cifar10: sample and decode <= 1/10 of pixel-space pixelcnn-pp"] = (
            results["cifar10"]["latent_over_pixel"] <= 0.1)
    report = {
        "benchmark": "latent_prior",
        "command": "python benchmarks/latent_prior.py " + shlex.join(sys.argv[1:] if argv is None else argv),
        "machine": describe(),
        "threads": torch.get_num_threads(),
        "vqvae_trained_with": trained_with,
        "results": results,
        "targets_met": targets,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
