"""The sample grid a run writes each epoch (and at the end)."""

from __future__ import annotations

from pathlib import Path

import torch

from pixelcnn.images import save_grid
from pixelcnn.levels import to_uint8


def write_sample_grid(model, path: Path, cfg) -> Path:
    """``cfg.train.sample_count`` samples from ``model`` with a fixed seed, as a PNG.

    Class-conditional models get one row per class. The fixed seed makes the
    grids of successive epochs comparable.
    """
    n = cfg.train.sample_count
    classes = getattr(model.config, "num_classes", 0)
    cond, nrow = None, None
    if classes:
        per_class = max(1, n // classes)
        cond = torch.arange(classes).repeat_interleave(per_class).to(next(model.parameters()).device)
        n, nrow = cond.numel(), per_class
    g = torch.Generator(device=next(model.parameters()).device).manual_seed(cfg.train.seed)
    levels = model.sample(n, cond=cond, generator=g, method=cfg.train.sample_method)
    images = to_uint8(levels.cpu(), model.config.levels, how="stretch")
    return save_grid(images, path, nrow=nrow)
