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
