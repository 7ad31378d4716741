"""Checking a config value against its field's type and declared range.

JSON and YAML give lists for tuples, ints for floats and so on; every config
of the library (model configs, run configs) goes through :func:`coerce` for
the type and :func:`check_fields` for the range, in one place:

- the type is that of the field's default (a tuple also fixes the length);
- every float is finite (no ``nan``, no ``1e999``);
- the range is an :class:`Allowed` declared per field, in the dataclass
  field's metadata (``field(default=1e-3, metadata=above(0))``) or in a table
  keyed by field name passed to :func:`check_fields`. A tuple's range applies
  to each of its items.

The error names the field, the value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from pixelcnn.errors import ConfigError


@dataclass(frozen=True)
class Allowed:
    """The values a field may take: an interval (ends open or closed) and/or a set of choices."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple = ()
    note: str = ""  # what a special value means, e.g. "0: no limit"

    def holds(self, value) -> bool:
        if self.choices and value not in self.choices:
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        if self.high is not None and (value >= self.high if self.high_open else value > self.high):
            return False
        return True

    def describe(self) -> str:
        if self.choices:
            text = "one of " + ", ".join(map(str, self.choices))
        elif self.low is not None and self.high is not None:
            text = f"in {'(' if self.low_open else '['}{_num(self.low)}, {_num(self.high)}{')' if self.high_open else ']'}"
        elif self.low is not None:
            text = f"{'>' if self.low_open else '>='} {_num(self.low)}"
        else:
            text = f"{'<' if self.high_open else '<='} {_num(self.high)}"
        return f"{text} ({self.note})" if self.note else text


def at_least(low, note: str = "") -> dict:
    """Field metadata: ``value >= low``."""
    return {"allowed": Allowed(low=low, note=note)}


def above(low, note: str = "") -> dict:
    """Field metadata: ``value > low``."""
    return {"allowed": Allowed(low=low, low_open=True, note=note)}


def between(low, high, *, low_open: bool = False, high_open: bool = False, note: str = "") -> dict:
    """Field metadata: ``low <= value <= high`` (``<`` at an end that is open)."""
    return {"allowed": Allowed(low=low, high=high, low_open=low_open, high_open=high_open, note=note)}


def one_of(*choices) -> dict:
    """Field metadata: ``value in choices``."""
    return {"allowed": Allowed(choices=tuple(choices))}


def check_fields(obj, prefix: str, table: dict | None = None) -> None:
    """Check every field of dataclass instance ``obj`` (type, finiteness, range).

    Fields are normalised in place (a list becomes a tuple, 2.0 an int), so a
    frozen config built directly is the same as one built from a file. The
    range comes from the field's metadata, else from ``table[field name]``.
    """
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        part = f.metadata.get("part")  # a registry (pixelcnn.parts): a name, or a name and options
        if part is not None:
            clean = part.spec(value, f"{prefix}.{f.name}")
        else:
            clean = check_value(f"{prefix}.{f.name}", value, field_default(f), allowed_for(f, table))
        if clean is not value:
            object.__setattr__(obj, f.name, clean)


def check_value(key: str, value: Any, default: Any, allowed: Allowed | None) -> Any:
    """``value`` coerced to the type of ``default`` and checked against ``allowed``."""
    value = coerce(key, value, default)
    if allowed is None:
        return value
    for item in value if isinstance(value, tuple) else (value,):
        if not allowed.holds(item):
            raise ConfigError(f"{key} must be {allowed.describe()}, got {_show(value)}")
    return value


def allowed_for(f: dataclasses.Field, table: dict | None = None) -> Allowed | None:
    return f.metadata.get("allowed") or (table or {}).get(f.name)


def field_default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    return f.default_factory()  # type: ignore[misc]


def coerce(key: str, value: Any, default: Any) -> Any:
    """``value`` converted to the type of ``default``, or a ConfigError naming ``key``."""
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{key} must be true or false, got {_show(value)}")
        return value
    if isinstance(default, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise ConfigError(f"{key} must be an integer, got {_show(value)}")
        return value
    if isinstance(default, float):
        if isinstance(value, str):  # YAML 1.1 reads 3e-4 (no dot) as a string
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key} must be a number, got {_show(value)}")
        if not math.isfinite(value):
            raise ConfigError(f"{key} must be a finite number, got {_show(value)}")
        return value if type(value) is float else float(value)
    if isinstance(default, tuple):
        if isinstance(value, int) and not isinstance(value, bool):
            value = (value,) * len(default)  # image_size=28 means 28 x 28
        if not isinstance(value, (list, tuple)) or len(value) != len(default):
            raise ConfigError(f"{key} must be a list of {len(default)} like {list(default)}, got {_show(value)}")
        items = tuple(coerce(key, v, d) for v, d in zip(value, default))
        return value if isinstance(value, tuple) and all(a is b for a, b in zip(items, value)) else items
    if isinstance(default, dict):
        if not isinstance(value, dict):
            raise ConfigError(f"{key} must be a mapping, got {_show(value)}")
        return value
    if isinstance(default, str):
        if value is None:
            return ""
        if not isinstance(value, str):
            raise ConfigError(f"{key} must be a string, got {_show(value)}")
    return value


def _num(x) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def _show(value) -> str:
    """A value for an error line: short, and one line."""
    text = repr(list(value) if isinstance(value, tuple) else value)
    return text if len(text) <= 60 else text[:57] + "..."
