"""Kinds of model the trainer trains: what differs between an autoregressive prior and a VQ-VAE.

The :class:`~pixelcnn.training.Trainer` owns what every run shares: the loop,
the data stream, checkpoints, exact resume, the EMA of the weights, metrics,
progress bars, signals and several processes. A *kind* answers the rest for
one family of models, through these members (a small protocol; each kind is
a plain object):

- ``name``: saved as ``model_kind`` in config.json (a run saved without it
  is autoregressive); ``what``: the kind in words, and ``trains_with``: the
  command that trains it;
- ``presets``: the names ``model.name`` may take for this kind;
- ``check_run(cfg)``: how the model section combines with the data section,
  checked with the run config, before any data is read; ``check_split(config,
  split)``: one line if a split does not fit the model, before the first step;
- ``model_config(cfg, train)``: the model's config from the preset, its
  overrides, and the training split's shape and classes;
- ``build(config)``, ``config_from_dict(data)``: the model, and its config
  read back from config.json;
- ``memory(config, batch)``: bytes a training step needs, estimated from the
  config alone;
- ``loss(model)``: a module whose ``forward(levels, cond)`` gives each image's
  loss ``[B]``, summed over its sub-pixels (the trainer divides by them);
- ``figure`` and ``train_figure(mean)``: the name and value of the training
  figure, from the batch's loss per sub-pixel (bits/dim; the loss itself);
- ``evaluate(model, split, data, batch_size, procs, device)``: a split's
  figures, a flat record of numbers for metrics.jsonl; ``describe(figures)``:
  one line of them;
- ``pictures``, ``picture_note(cfg)`` and ``picture(model, path, cfg, split)``:
  the run's folder of per-epoch pictures, what the final one shows, and the
  picture (sample grids; reconstructions of validation images), or None.

:data:`AUTOREGRESSIVE` is the PixelCNN family; the VQ-VAE's kind is
:data:`pixelcnn.vqvae.kind.VQVAE_KIND`.
"""

from __future__ import annotations

from pathlib import Path

from pixelcnn.errors import CheckpointError, PixelCNNError
from pixelcnn.training.samples import write_sample_grid


class Autoregressive:
    """PixelCNN-family models over levels (:mod:`pixelcnn.models`): trained by likelihood, scored in
    bits/dim, pictured by samples."""

    name = "autoregressive"
    what = "an autoregressive model"
    trains_with = "pixelcnn train"
    figure = "bpd"
    pictures = "samples"

    @property
    def presets(self) -> list[str]:
        from pixelcnn.models import list_models

        return list_models()

    def check_run(self, cfg) -> None:
        from pixelcnn.config import check_model_levels, check_model_order, check_model_section
        from pixelcnn.levels import MAX_PIXEL_LEVELS

        d = cfg.data
        check_model_section(cfg.model, d)
        if d.kind == "pixels" or d.levels:  # otherwise K is known once the codes are read
            check_model_levels(cfg.model, d.levels or MAX_PIXEL_LEVELS)
        check_model_order(cfg.model, d)

    def model_config(self, cfg, train):
        from pixelcnn.models import preset_config

        _, c, h, w = train.levels.shape
        overrides = {"in_channels": c, "image_size": (h, w), "levels": cfg.data.levels}
        if cfg.data.conditional:
            if not train.num_classes:
                raise PixelCNNError(f"data.conditional is set but {cfg.data.name} has no class labels")
            overrides["num_classes"] = train.num_classes
        overrides.update(cfg.model.overrides)
        if cfg.data.cond_field:  # the map encoder's levels and size come from the data
            from pixelcnn.training.data import cond_map_spec

            overrides["cond_map"] = cond_map_spec(cfg.data, cfg.model.overrides.get("cond_map"))
        config = preset_config(cfg.model.name, **overrides)
        if cfg.data.decoder:  # the VQ-VAE that pictures the samples fits them, checked before any step
            from pixelcnn.vqvae.decoding import load_run_decoder

            load_run_decoder(cfg.data, config)
        return config

    def check_split(self, config, split) -> None:
        from pixelcnn.training.data import check_split

        check_split(config, split)

    def build(self, config):
        from pixelcnn.models import build_model

        return build_model(config)

    def config_from_dict(self, data: dict):
        from pixelcnn.models import config_from_dict

        return config_from_dict(data)

    def memory(self, config, batch: int) -> int:
        from pixelcnn.training.runtime import activation_bytes, weight_count_estimate

        # fp32 weights, gradients, two Adam moments and the EMA copy, plus one step's activations
        return 5 * 4 * weight_count_estimate(config) + activation_bytes(config, batch, config.image_size)

    def loss(self, model):
        from pixelcnn.training.loss import Loss

        return Loss(model)

    def train_figure(self, mean: float) -> float:
        from pixelcnn.units import bits

        return bits(mean)  # nats per sub-pixel -> bits/dim

    def evaluate(self, model, split, data, *, batch_size: int, procs, device) -> dict:
        from pixelcnn.training import distributed
        from pixelcnn.training.data import check_split

        levels, cond = check_split(model.config, split)
        return distributed.evaluate_across(model, levels, cond, batch_size=batch_size, procs=procs,
                                           device=device).to_dict()

    def describe(self, figures: dict) -> str:
        return f"bits/dim {figures['bits_per_dim']:.4f}"

    def picture_note(self, cfg) -> str:
        return f"samples: drawing {cfg.train.sample_count} images"

    def picture(self, model, path: Path, cfg, split) -> Path:
        return write_sample_grid(model, path, cfg, split.maps)  # a map-conditioned prior is given the split's maps


AUTOREGRESSIVE = Autoregressive()


def all_kinds() -> dict:
    """Every kind by name."""
    from pixelcnn.vqvae.kind import VQVAE_KIND

    return {kind.name: kind for kind in (AUTOREGRESSIVE, VQVAE_KIND)}


def kind_of(model_name: str):
    """The kind whose preset ``model_name`` is (autoregressive for a name no kind knows: its
    registry then says that the name is unknown)."""
    for kind in all_kinds().values():
        if kind is not AUTOREGRESSIVE and model_name in kind.presets:
            return kind
    return AUTOREGRESSIVE


def kind_named(name: str, where: str = "this run"):
    """The kind called ``name`` (config.json's ``model_kind``); one line if there is none."""
    kinds = all_kinds()
    if name not in kinds:
        raise CheckpointError(f"{where} holds a model of kind {name!r}, which this pixelcnn does not know "
                              f"(known: {', '.join(kinds)})")
    return kinds[name]


def kind_of_meta(meta: dict, where: str = "this run"):
    """The kind of the run whose config.json is ``meta``."""
    return kind_named(meta.get("model_kind", AUTOREGRESSIVE.name), where)


def require_kind(path, name: str) -> None:
    """One line, before any weight is read, unless the run or checkpoint at ``path`` holds a
    model of kind ``name``."""
    from pixelcnn.training.checkpoint import read_meta

    held, wanted = kind_of_meta(read_meta(path), str(path)), kind_named(name)
    if held is not wanted:
        raise CheckpointError(f"{path} holds {held.what}, not {wanted.what} (trained with {held.trains_with})")
