"""Frozen model configurations and their JSON form.

Every architecture has one frozen dataclass holding everything needed to
rebuild the network; ``config_to_dict`` / ``config_from_dict`` round-trip it
through JSON with an ``"arch"`` key naming the architecture.
"""

from __future__ import annotations

import dataclasses
from typing import Any

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
    clean = {k: _coerce(cls.ARCH, k, v, fields[k].default) for k, v in values.items()}
    return cls(**clean)


def replace_config(config: Any, **overrides) -> Any:
    """``config`` with some fields changed, checked like :func:`make_config`."""
    return make_config(type(config), {**dataclasses.asdict(config), **overrides})


def _coerce(arch: str, name: str, value: Any, default: Any) -> Any:
    """Match the type of the field's default (JSON gives lists and ints)."""
    if isinstance(default, tuple):
        if isinstance(value, int) and not isinstance(value, bool):
            value = (value, value)
        if not isinstance(value, (list, tuple)) or len(value) != len(default):
            raise ConfigError(f"{arch}.{name} must be a pair like {list(default)}, got {value!r}")
        return tuple(_coerce(arch, name, v, d) for v, d in zip(value, default))
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{arch}.{name} must be true or false, got {value!r}")
        return value
    if isinstance(default, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise ConfigError(f"{arch}.{name} must be an integer, got {value!r}")
        return value
    if isinstance(default, float):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ConfigError(f"{arch}.{name} must be a number, got {value!r}")
        return float(value)
    if isinstance(default, str) and not isinstance(value, str):
        raise ConfigError(f"{arch}.{name} must be a string, got {value!r}")
    return value


def check(condition: bool, message: str) -> None:
    """Raise :class:`ConfigError` with ``message`` unless ``condition``."""
    if not condition:
        raise ConfigError(message)
