"""The VQ-VAE as a kind of model for the trainer (see :mod:`pixelcnn.training.kinds`).

A VQ-VAE run is a run like any other (run directory, checkpoints, exact
resume, EMA of the weights when ``train.ema_decay`` > 0, metrics, report); what
differs: the model is a :class:`~pixelcnn.vqvae.model.VQVAE` of a VQ-VAE
preset, it reads 8-bit pixels (``data.levels`` 256) without labels, its
training figure is the loss per sub-pixel (:class:`~pixelcnn.vqvae.model.VQVAELoss`),
its splits are scored by reconstruction PSNR and codebook usage
(:mod:`pixelcnn.vqvae.figures`), and its pictures are reconstructions of the
first ``train.sample_count`` validation images, in ``reconstructions/``.
"""

from __future__ import annotations

from pathlib import Path

import torch

from pixelcnn.errors import ConfigError, DataError
from pixelcnn.vqvae import figures
from pixelcnn.vqvae.config import PRESETS, config_from_dict, vqvae_config
from pixelcnn.vqvae.model import LEVELS, VQVAE, VQVAELoss


class VQVAEKind:
    name = "vqvae"
    what = "a VQ-VAE"
    trains_with = "pixelcnn vqvae train"
    figure = "loss"
    pictures = "reconstructions"

    @property
    def presets(self) -> list[str]:
        return list(PRESETS)

    def check_run(self, cfg) -> None:
        from pixelcnn.models.config import check_values

        check_values(vqvae_config(cfg.model.name), cfg.model.overrides, prefix="model")
        d = cfg.data
        if d.kind != "pixels":
            raise ConfigError("a VQ-VAE encodes images: data.kind must be pixels, got codes")
        if d.levels not in (0, LEVELS):
            raise ConfigError(f"a VQ-VAE reads 8-bit images: data.levels must be {LEVELS} (or 0), got {d.levels}")
        if d.conditional:
            raise ConfigError("a VQ-VAE is not class-conditional: drop data.conditional")

    def model_config(self, cfg, train):
        _, c, h, w = train.levels.shape
        return vqvae_config(cfg.model.name, **{"in_channels": c, "image_size": (h, w), **cfg.model.overrides})

    def check_split(self, config, split) -> None:
        want = (config.in_channels, *config.image_size)
        got = tuple(split.levels.shape[1:])
        if got != want:
            raise DataError(f"the {split.name} images are {got[0]}x{got[1]}x{got[2]} (C x H x W) "
                            f"but the VQ-VAE was trained on {want[0]}x{want[1]}x{want[2]}")

    def build(self, config) -> VQVAE:
        return VQVAE(config)

    def config_from_dict(self, data: dict):
        return config_from_dict(data)

    def memory(self, config, batch: int) -> int:
        with torch.device("meta"):  # counts the weights without allocating them
            weights = sum(p.numel() for p in VQVAE(config).parameters())
        h, w = config.image_size
        # every layer's activations at most 8 maps of the width at full size, and their gradients
        activations = 2 * 8 * config.hidden * h * w * batch
        bh, bw = config.map_shape("bottom")
        distances = 3 * batch * bh * bw * max(config.bottom_codes, config.top_codes)
        return 4 * (5 * weights + activations + distances)

    def loss(self, model) -> VQVAELoss:
        return VQVAELoss(model)

    def train_figure(self, mean: float) -> float:
        return mean

    def evaluate(self, model, split, data, *, batch_size: int, procs, device) -> dict:
        return figures.evaluate(model, split.levels, batch_size=batch_size, procs=procs, device=device)

    def describe(self, record: dict) -> str:
        return figures.describe(record)

    def picture_note(self, cfg) -> str:
        return f"reconstructions: {cfg.train.sample_count} validation images"

    def picture(self, model, path: Path, cfg, split) -> Path:
        return figures.write_reconstructions(model, split.levels[: cfg.train.sample_count], path)


VQVAE_KIND = VQVAEKind()
