"""Frozen model configurations and their JSON form.

Every architecture has one frozen dataclass holding everything needed to
rebuild the network; ``config_to_dict`` / ``config_from_dict`` round-trip it
through JSON with an ``"arch"`` key naming the architecture.

Every field's type and range is checked in one place, :func:`check_common`
(called by each config's ``__post_init__``), so ``create_model``, checkpoints
and run-config overrides all get the same one-line errors. A field's range is
declared once: in :data:`FIELD_RANGES` by name (one line per field, shared by
all architectures), or in the field's own metadata where an architecture
needs a different one (``field(default=..., metadata=at_least(1))``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from pixelcnn.coerce import at_least, between, allowed_for, check_fields, check_value
from pixelcnn.errors import ConfigError
from pixelcnn.levels import MAX_LEVELS
from pixelcnn.likelihoods import LIKELIHOODS, make_likelihood
from pixelcnn.nn.condition_map import COND_MAPS, make_cond_map
from pixelcnn.nn.inputs import INPUTS, make_input
from pixelcnn.parts import merge_spec

_ARCHS: dict[str, type] = {}

# The allowed values of model config fields, by name. A new field with a range is one line here.
FIELD_RANGES = {
    name: meta["allowed"]
    for name, meta in {
        "in_channels": at_least(1),
        "levels": between(2, MAX_LEVELS),
        "image_size": at_least(1),
        "hidden": at_least(1),
        "layers": at_least(0),
        "kernel_in": at_least(1),
        "kernel": at_least(1),
        "head": at_least(0, "0: no hidden output layer"),
        "num_classes": at_least(0, "0: not class-conditional"),
        "cond_dim": at_least(0, "0: no conditioning vector"),
        "dropout": between(0.0, 1.0, high_open=True),
        "blocks": at_least(1),
        "heads": at_least(1),
        "attention_width": at_least(1),
        "attention_dropout": between(0.0, 1.0, high_open=True),
    }.items()
}


def likelihood_field(default: str = "categorical"):
    """A model config's ``likelihood``: a spec of :data:`~pixelcnn.likelihoods.LIKELIHOODS`."""
    return dataclasses.field(default_factory=lambda: {"name": default}, metadata={"part": LIKELIHOODS})


def input_field(default: str = "scaled"):
    """A model config's ``input``: a spec of :data:`~pixelcnn.nn.inputs.INPUTS`."""
    return dataclasses.field(default_factory=lambda: {"name": default}, metadata={"part": INPUTS})


def cond_map_field():
    """A model config's ``cond_map``: a spec of :data:`~pixelcnn.nn.condition_map.COND_MAPS`."""
    return dataclasses.field(default_factory=lambda: {"name": "none"}, metadata={"part": COND_MAPS})


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
    """Inverse of :func:`config_to_dict`; unknown architectures or fields are errors.
    Configs written before ``mixtures`` became an option of the likelihood are migrated."""
    data = dict(data)
    arch = data.pop("arch", None)
    if arch not in _ARCHS:
        raise ConfigError(f"unknown model architecture {arch!r}; known: {sorted(_ARCHS)}")
    if "mixtures" in data:
        data = migrate_mixtures(data, data.get("likelihood", "categorical"))
    return make_config(_ARCHS[arch], data)


def migrate_mixtures(values: dict, likelihood) -> dict:
    """``values`` with an old ``mixtures`` field moved into the likelihood spec, where
    ``likelihood`` (the spec in force) is the logistic mixture; the categorical ignored it."""
    values = dict(values)
    mixtures = values.pop("mixtures")
    if LIKELIHOODS.spec(likelihood)["name"] == "logistic-mixture":
        values["likelihood"] = merge_spec(values.get("likelihood", likelihood), {"mixtures": mixtures})
    return values


def make_config(cls: type, values: dict) -> Any:
    """Build ``cls(**values)`` with clear errors for unknown fields and wrong types."""
    _check_names(cls, values)
    return cls(**values)  # __post_init__ -> check_common checks each field's type and range


def replace_config(config: Any, **overrides) -> Any:
    """``config`` with some fields changed, checked like :func:`make_config`. A part's spec
    (``likelihood``, ``input``) is merged: options alone update the part in force."""
    _check_names(type(config), overrides)
    parts = {f.name for f in dataclasses.fields(config) if f.metadata.get("part")}
    merged = {k: merge_spec(getattr(config, k), v) if k in parts else v for k, v in overrides.items()}
    return make_config(type(config), {**dataclasses.asdict(config), **merged})


def check_values(config: Any, values: dict, prefix: str) -> None:
    """Check ``values`` (changes to ``config``'s fields) one by one, without building a config:
    unknown names, types and ranges. How the fields combine is checked when the config is built."""
    _check_names(type(config), values)
    fields = {f.name: f for f in dataclasses.fields(config)}
    for name, value in values.items():
        part = fields[name].metadata.get("part")
        if part is not None:
            part.spec(merge_spec(getattr(config, name), value), f"{prefix}.{name}")
        else:
            check_value(f"{prefix}.{name}", value, getattr(config, name), allowed_for(fields[name], FIELD_RANGES))


def _check_names(cls: type, values: dict) -> None:
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - fields)
    if unknown:
        hint = ("; the logistic mixture's components are an option of the likelihood: "
                "model.likelihood.mixtures=K" if "mixtures" in unknown else "")
        raise ConfigError(f"unknown {cls.ARCH} setting(s) {unknown}; known: {sorted(fields)}{hint}")


def check(condition: bool, message: str) -> None:
    """Raise :class:`ConfigError` with ``message`` unless ``condition``."""
    if not condition:
        raise ConfigError(message)


def check_common(cfg) -> None:
    """The checks every model config shares: each field's type and range, the parts' options,
    then odd kernels."""
    check_fields(cfg, cfg.ARCH, FIELD_RANGES)
    check_parts(cfg)
    check(cfg.kernel_in % 2 == 1 and cfg.kernel % 2 == 1,
          f"kernel sizes must be odd, got kernel_in = {cfg.kernel_in}, kernel = {cfg.kernel}")


def check_parts(cfg) -> None:
    """Build the likelihood, the input encoder and the map encoder once, so their options are
    checked with the config."""
    likelihood_of(cfg)
    input_of(cfg)
    cond_map_of(cfg)


def likelihood_of(cfg):
    """The output distribution a model config names (see :mod:`pixelcnn.likelihoods`)."""
    return make_likelihood(cfg.likelihood, levels=cfg.levels, colours=cfg.in_channels)


def input_of(cfg):
    """The input encoder a model config names (see :mod:`pixelcnn.nn.inputs`)."""
    return make_input(cfg.input, levels=cfg.levels, colours=cfg.in_channels)


def cond_map_of(cfg):
    """The condition map encoder a model config names (see :mod:`pixelcnn.nn.condition_map`)."""
    return make_cond_map(getattr(cfg, "cond_map", "none"))
