"""The sample grid a run writes each epoch (and at the end)."""

from __future__ import annotations

from pathlib import Path

import torch

from pixelcnn.images import save_grid
from pixelcnn.config import levels_ordered
from pixelcnn.levels import picture


def write_sample_grid(model, path: Path, cfg, maps: torch.Tensor | None = None) -> Path:
    """``cfg.train.sample_count`` samples from ``model`` with a fixed seed, as a PNG.

    Class-conditional models get one row per class. A model conditioned on a map
    is given ``maps`` (the first of the validation split), one per sample. Codes
    are decoded into images by the VQ-VAE that ``data.decoder`` names (with the
    maps they were drawn given); without one, codes that are not ordered (a
    VQ-VAE's) are shown in false colour. The fixed seed makes the grids of
    successive epochs comparable.
    """
    n = cfg.train.sample_count
    device = next(model.parameters()).device
    classes = getattr(model.config, "num_classes", 0)
    cond, nrow = None, None
    if classes:
        per_class = max(1, n // classes)
        cond = torch.arange(classes).repeat_interleave(per_class).to(device)
        n, nrow = cond.numel(), per_class
    if maps is not None:
        n = min(n, len(maps))
        labels = None if cond is None else cond[:n]
        cond = {"labels": labels, "map": maps[:n].to(device)}
    g = torch.Generator(device=device).manual_seed(cfg.train.seed)
    levels = model.sample(n, cond=cond, generator=g, method=cfg.train.sample_method)
    if cfg.data.decoder:
        from pixelcnn.vqvae.codes import decode
        from pixelcnn.vqvae.decoding import load_run_decoder

        vq = load_run_decoder(cfg.data, model.config, device)
        d = cfg.data
        codes = {d.field: levels[:, 0], **({d.cond_field: cond["map"]} if d.cond_field else {})}
        return save_grid(decode(vq, **codes).to(torch.uint8), path, nrow=nrow)
    images = picture(levels.cpu(), model.config.levels, levels_ordered(cfg.data))  # codes in false colour
    return save_grid(images, path, nrow=nrow)
