"""Frozen model configurations and their JSON form.

Every architecture has one frozen dataclass holding everything needed to
rebuild the network; ``config_to_dict`` / ``config_from_dict`` round-trip it
through JSON with an ``"arch"`` key naming the architecture.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from pixelcnn.coerce import coerce
from pixelcnn.errors import ConfigError
from pixelcnn.likelihoods import LIKELIHOODS, make_likelihood

_ARCHS: dict[str, type] = {}


def register_config(cls: type) -> type:
    """Class decorator: make ``cls`` (a frozen dataclass with ``ARCH``) loadable by name."""
    _ARCHS[cls.ARCH] = cls
    return cls


def config_to_dict(config: Any) -> dict:
    """``{"arch": ..., field: value, ...}`` with tuples as lists (JSON-ready)."""
    out = {"arch": config.ARCH}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def config_from_dict(data: dict) -> Any:
    """Inverse of :func:`config_to_dict`; unknown architectures or fields are errors."""
    data = dict(data)
    arch = data.pop("arch", None)
    if arch not in _ARCHS:
        raise ConfigError(f"unknown model architecture {arch!r}; known: {sorted(_ARCHS)}")
    return make_config(_ARCHS[arch], data)


def make_config(cls: type, values: dict) -> Any:
    """Build ``cls(**values)`` with clear errors for unknown fields and wrong types."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(f"unknown {cls.ARCH} setting(s) {unknown}; known: {sorted(fields)}")
    clean = {k: coerce(f"{cls.ARCH}.{k}", v, fields[k].default) for k, v in values.items()}
    return cls(**clean)


def replace_config(config: Any, **overrides) -> Any:
    """``config`` with some fields changed, checked like :func:`make_config`."""
    return make_config(type(config), {**dataclasses.asdict(config), **overrides})


def check(condition: bool, message: str) -> None:
    """Raise :class:`ConfigError` with ``message`` unless ``condition``."""
    if not condition:
        raise ConfigError(message)


def check_common(cfg) -> None:
    """The checks every model config shares: channels, levels, size, depth, conditioning."""
    check(cfg.in_channels >= 1, f"in_channels must be >= 1, got {cfg.in_channels}")
    check(2 <= cfg.levels <= 256, f"levels must be in [2, 256], got {cfg.levels}")
    check(min(cfg.image_size) >= 1, f"image_size must be positive, got {cfg.image_size}")
    check(cfg.layers >= 0, f"layers must be >= 0, got {cfg.layers}")
    check(cfg.kernel_in % 2 == 1 and cfg.kernel % 2 == 1 and min(cfg.kernel_in, cfg.kernel) >= 1,
          f"kernel sizes must be odd, got kernel_in = {cfg.kernel_in}, kernel = {cfg.kernel}")
    check(cfg.num_classes >= 0 and cfg.cond_dim >= 0, "num_classes and cond_dim must be >= 0")
    check(cfg.likelihood in LIKELIHOODS, f"likelihood must be one of {sorted(LIKELIHOODS)}, got {cfg.likelihood!r}")
    check(cfg.mixtures >= 1, f"mixtures must be >= 1, got {cfg.mixtures}")


def likelihood_of(cfg):
    """The output distribution a model config names (see :mod:`pixelcnn.likelihoods`)."""
    return make_likelihood(cfg.likelihood, levels=cfg.levels, colours=cfg.in_channels, mixtures=cfg.mixtures)
