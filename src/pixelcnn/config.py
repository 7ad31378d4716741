"""The configuration of a training run: frozen dataclasses, files and overrides.

A run config has three sections, each a frozen dataclass:

- ``model``: a preset name plus overrides of its fields (``model.hidden=64``);
- ``data``: which data set, how it is quantised (levels, binarisation);
- ``train``: optimisation, stopping, logging.

It is read from YAML or JSON and changed by ``key=value`` overrides with
dotted keys (``train.lr=3e-4``); values are parsed as YAML scalars. The
resolved config is saved as ``config.json`` next to the run.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pixelcnn.coerce import coerce
from pixelcnn.errors import ConfigError
from pixelcnn.levels import BINARIZE


@dataclass(frozen=True)
class ModelSection:
    """``name``: a registered preset; ``overrides``: fields of its config to change.

    ``in_channels``, ``image_size`` and ``levels`` come from the data; give
    them here only to force a value.
    """

    name: str = "pixelcnn-seed"
    overrides: dict = field(default_factory=dict)


@dataclass(frozen=True)
class DataSection:
    """Which images, and how they become levels in ``[0, levels)``.

    ``valid_split`` empty means "valid": the set's own validation split, or,
    for a set without one, ``valid_fraction`` of every class of its training
    split, carved off by a fixed seed (not ``train.seed``), so the same images
    every run; ``train`` then means the remaining training images. Set
    ``valid_split=test`` to validate on the test split on purpose (nothing is
    carved off then).
    ``binarize`` is one of none, threshold, static, dynamic (for levels = 2).
    ``image_size`` ``[H, W]`` centre-crops and resizes every image, ``channels``
    converts to 1 (gray) or 3 (RGB); 0 keeps what the set has.
    """

    name: str = "mnist5k"
    data_dir: str = ""
    image_size: tuple[int, int] = (0, 0)
    channels: int = 0
    train_split: str = "train"
    valid_split: str = ""
    valid_fraction: float = 0.1
    test_split: str = "test"
    levels: int = 256
    binarize: str = "none"
    download: bool = True
    conditional: bool = False


@dataclass(frozen=True)
class TrainSection:
    """Optimisation and stopping. A run stops at the first limit reached
    (0 means no limit). Learning rate: linear warm-up, then ``schedule``
    ("constant", "cosine" over ``max_steps``, or "exponential" with ``lr_decay`` per step).
    ``precision``: the forward pass of training in "fp32" or "bf16" (autocast; the
    weights stay fp32 and evaluation is always fp32); "auto" picks bf16 where the
    hardware computes it natively (CPUs with AVX512-BF16/AMX, CUDA with bf16)."""

    seed: int = 0
    batch_size: int = 64
    optimizer: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    schedule: str = "constant"
    warmup_steps: int = 0
    lr_decay: float = 1.0
    grad_clip: float = 1.0
    ema_decay: float = 0.999
    epochs: int = 10
    max_steps: int = 0
    max_minutes: float = 0.0
    eval_batch_size: int = 256
    log_every: int = 20
    checkpoint_every: int = 0
    sample_every_epoch: bool = True
    sample_count: int = 64
    sample_method: str = "fast"
    keep_checkpoints: int = 2
    device: str = "auto"
    precision: str = "auto"
    threads: int = 0
    progress: bool = True


@dataclass(frozen=True)
class RunConfig:
    model: ModelSection = field(default_factory=ModelSection)
    data: DataSection = field(default_factory=DataSection)
    train: TrainSection = field(default_factory=TrainSection)

    def __post_init__(self):
        check_run_config(self)


SECTIONS = {"model": ModelSection, "data": DataSection, "train": TrainSection}


def check_run_config(cfg: RunConfig) -> None:
    t, d = cfg.train, cfg.data
    if d.binarize not in BINARIZE:
        raise ConfigError(f"data.binarize must be one of {BINARIZE}, got {d.binarize!r}")
    if d.binarize != "none" and d.levels != 2:
        raise ConfigError(f"data.binarize = {d.binarize} needs data.levels = 2, got {d.levels}")
    if not 2 <= d.levels <= 256:
        raise ConfigError(f"data.levels must be in [2, 256], got {d.levels}")
    if not 0 <= d.valid_fraction < 1:
        raise ConfigError(f"data.valid_fraction must be in [0, 1), got {d.valid_fraction}")
    if t.optimizer not in ("adam", "adamw"):
        raise ConfigError(f"train.optimizer must be adam or adamw, got {t.optimizer!r}")
    if t.schedule not in ("constant", "cosine", "exponential"):
        raise ConfigError(f"train.schedule must be constant, cosine or exponential, got {t.schedule!r}")
    if t.schedule == "cosine" and not t.max_steps:
        raise ConfigError("train.schedule = cosine needs train.max_steps (the length of the cosine)")
    if t.batch_size < 1 or t.eval_batch_size < 1:
        raise ConfigError("train.batch_size and train.eval_batch_size must be >= 1")
    if t.log_every < 1 or t.keep_checkpoints < 1:
        raise ConfigError("train.log_every and train.keep_checkpoints must be >= 1")
    if t.checkpoint_every < 0 or t.sample_count < 0:
        raise ConfigError("train.checkpoint_every and train.sample_count must be >= 0 (0: none)")
    if not 0 <= t.ema_decay < 1:
        raise ConfigError(f"train.ema_decay must be in [0, 1), got {t.ema_decay}")
    if t.lr <= 0:
        raise ConfigError(f"train.lr must be > 0, got {t.lr}")
    if not (t.epochs or t.max_steps or t.max_minutes):
        raise ConfigError("set at least one of train.epochs, train.max_steps, train.max_minutes")
    if t.precision not in ("auto", "fp32", "bf16"):
        raise ConfigError(f"train.precision must be auto, fp32 or bf16, got {t.precision!r}")
    if t.sample_method not in ("fast", "reference"):
        raise ConfigError(f"train.sample_method must be fast or reference, got {t.sample_method!r}")


def to_dict(cfg: RunConfig) -> dict:
    out = dataclasses.asdict(cfg)
    out["train"]["betas"] = list(cfg.train.betas)
    return out


def from_dict(data: dict) -> RunConfig:
    """Build a RunConfig from nested dicts; unknown sections or keys are errors."""
    if not isinstance(data, dict):
        raise ConfigError(f"a run config must be a mapping of sections, got {type(data).__name__}")
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise ConfigError(f"unknown config section(s) {unknown}; sections are {sorted(SECTIONS)}")
    sections = {}
    for name, cls in SECTIONS.items():
        values = data.get(name) or {}
        if not isinstance(values, dict):
            raise ConfigError(f"config section {name!r} must be a mapping, got {values!r}")
        sections[name] = _section(cls, name, values)
    return RunConfig(**sections)


def load_file(path: str | Path) -> dict:
    """A YAML or JSON config file as nested dicts."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        text = path.read_text()
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError, UnicodeDecodeError) as e:
        raise ConfigError(f"config file {path} is not valid {'JSON' if path.suffix == '.json' else 'YAML'}: "
                          f"{str(e).splitlines()[0]}") from None
    return data or {}


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """Apply ``section.key=value`` strings to nested dicts (a new dict is returned).

    ``model.<field>=v`` sets a preset override, except ``model.name``.
    """
    out = json.loads(json.dumps(data))  # a deep copy of plain data
    for item in overrides:
        key, sep, raw = item.partition("=")
        parts = key.strip().split(".")
        if not sep or len(parts) != 2 or parts[0] not in SECTIONS:
            raise ConfigError(f"overrides look like section.key=value with section in {sorted(SECTIONS)}, got {item!r}")
        section, name = parts
        value = _parse_value(raw)
        target = out.setdefault(section, {})
        if section == "model" and name != "name":
            target.setdefault("overrides", {})[name] = value
        else:
            target[name] = value
    return out


def resolve(config_file: str | None, overrides: list[str]) -> RunConfig:
    data = load_file(config_file) if config_file else {}
    return from_dict(apply_overrides(data, overrides))


def _parse_value(raw: str) -> Any:
    try:
        return yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        return raw


def _section(cls, name: str, values: dict):
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(f"unknown {name} setting(s) {unknown}; known: {sorted(fields)}")
    clean = {}
    for key, value in values.items():
        default = getattr(cls(), key)
        clean[key] = coerce(f"{name}.{key}", value, default)
    return cls(**clean)
