"""Checking a config value against the type of its field's default.

JSON and YAML give lists for tuples, ints for floats and so on; every config
of the library (model configs, run configs) goes through :func:`coerce`.
"""

from __future__ import annotations

from typing import Any

from pixelcnn.errors import ConfigError


def coerce(key: str, value: Any, default: Any) -> Any:
    """``value`` converted to the type of ``default``, or a ConfigError naming ``key``."""
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{key} must be true or false, got {value!r}")
        return value
    if isinstance(default, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise ConfigError(f"{key} must be an integer, got {value!r}")
        return value
    if isinstance(default, float):
        if isinstance(value, str):  # YAML 1.1 reads 3e-4 (no dot) as a string
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key} must be a number, got {value!r}")
        return float(value)
    if isinstance(default, tuple):
        if isinstance(value, int) and not isinstance(value, bool):
            value = (value,) * len(default)  # image_size=28 means 28 x 28
        if not isinstance(value, (list, tuple)) or len(value) != len(default):
            raise ConfigError(f"{key} must be a list like {list(default)}, got {value!r}")
        return tuple(coerce(key, v, d) for v, d in zip(value, default))
    if isinstance(default, dict):
        if not isinstance(value, dict):
            raise ConfigError(f"{key} must be a mapping, got {value!r}")
        return dict(value)
    if isinstance(default, str):
        if value is None:
            return ""
        if not isinstance(value, str):
            raise ConfigError(f"{key} must be a string, got {value!r}")
    return value
