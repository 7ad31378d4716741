"""The configuration of a training run: frozen dataclasses, files and overrides.

A run config has three sections, each a frozen dataclass:

- ``model``: a preset name plus overrides of its fields (``model.hidden=64``);
  the preset decides the kind of model (an autoregressive prior or a VQ-VAE,
  :mod:`pixelcnn.training.kinds`);
- ``data``: which data set, of which kind (pixels or codes), how it becomes levels;
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

from pixelcnn.coerce import above, at_least, between, check_fields, one_of
from pixelcnn.errors import ConfigError
from pixelcnn.levels import BINARIZE, KINDS, MAX_LEVELS, MAX_PIXEL_LEVELS
from pixelcnn.parts import merge_spec


def setting(default, allowed: dict | None = None):
    """A config field with its allowed range (see :mod:`pixelcnn.coerce`)."""
    if isinstance(default, (dict, list)):
        return field(default_factory=lambda: type(default)(default), metadata=allowed or {})
    return field(default=default, metadata=allowed or {})


@dataclass(frozen=True)
class ModelSection:
    """``name``: a registered preset; ``overrides``: fields of its config to change.

    ``in_channels``, ``image_size`` and ``levels`` come from the data; give
    ``in_channels`` and ``image_size`` here only to force a value. ``levels`` has
    one home, the data (``data.levels``): a ``model.levels`` that differs from the
    data's is refused.
    """

    name: str = "pixelcnn-seed"
    overrides: dict = setting({})

    def __post_init__(self):
        check_fields(self, "model")


@dataclass(frozen=True)
class DataSection:
    """Which data, and how it becomes levels in ``[0, levels)``.

    ``kind``: ``pixels``, images of 8-bit values quantised to ``levels`` <= 256
    (0 means 256); or ``codes``, integer maps already in ``[0, K)`` read from a
    ``.npy`` / ``.npz`` file named by ``name`` (any integer dtype, shape
    ``[N, H, W]`` or ``[N, C, H, W]``; :mod:`pixelcnn.data.codes`). For codes K is
    ``levels`` when given (it must cover every code), else 1 + the largest code
    of the file; K is at most 65,536. The model takes its levels from here.
    Codes are not resized, converted or binarised.

    ``field`` picks arrays of an ``.npz`` file: empty reads arrays ``train``,
    ``valid``, ``test`` (else ``images``, else the first array); ``field=top``
    reads ``top_train``, ``top_valid``, ``top_test`` (else the one array
    ``top``), with labels ``top_train_labels``, else ``train_labels`` (shared by
    every field; :mod:`pixelcnn.data.arrays`).

    ``cond_field`` names arrays of the same ``.npz`` file holding a code map per
    image (``cond_field=top``: ``top_train``, ...; a VQ-VAE-2 bottom prior is
    conditioned on the top codes): the model is then conditioned on that map
    (its ``cond_map`` is a ``codes`` encoder, whose levels and size come from
    the data), and every split must hold as many maps as images.

    ``decoder``: a VQ-VAE run whose decoder turns the samples of a prior over its
    codes into images, for the run's sample grids and report: the prior's
    ``field`` is ``bottom``, given ``cond_field=top`` for a two-map VQ-VAE
    (:mod:`pixelcnn.vqvae.decoding`). Without it codes are shown in false colour.

    ``ordered``: whether the levels are ordered (nearby levels mean nearby
    things), which a likelihood such as the logistic mixture assumes. Pixels
    always are; codes are not unless this says so (a VQ-VAE's code indices are
    arbitrary labels). :func:`levels_ordered` gives the answer for either kind.

    ``valid_split`` empty means "valid": the set's own validation split, or,
    for a set without one, ``valid_fraction`` of every class of its training
    split, carved off by a fixed seed (not ``train.seed``), so the same images
    every run; ``train`` then means the remaining training images. Set
    ``valid_split=test`` to validate on the test split on purpose (nothing is
    carved off then).
    ``binarize`` is one of none, threshold, static, dynamic (for levels = 2).
    ``image_size`` ``[H, W]`` centre-crops and resizes every image, ``channels``
    converts to 1 (gray) or 3 (RGB); 0 keeps what the set has.
    ``workers``: DataLoader processes reading training batches ahead, for data
    read on demand (a memory-mapped ``.npy`` file, a folder of images); 0 reads
    them in the training process. The batches are the same either way.
    """

    name: str = "mnist5k"
    kind: str = setting("pixels", one_of(*KINDS))
    field: str = ""
    cond_field: str = ""
    decoder: str = ""
    ordered: bool = False
    data_dir: str = ""
    image_size: tuple[int, int] = setting((0, 0), at_least(0, "0: keep the set's size"))
    channels: int = setting(0, one_of(0, 1, 3))
    train_split: str = "train"
    valid_split: str = ""
    valid_fraction: float = setting(0.1, between(0, 1, high_open=True))
    test_split: str = "test"
    levels: int = setting(0, between(0, MAX_LEVELS, note="0: from the data: 256 for pixels, 1 + the largest code"))
    binarize: str = setting("none", one_of(*BINARIZE))
    download: bool = True
    conditional: bool = False
    workers: int = setting(0, at_least(0, "0: read in the training process"))

    def __post_init__(self):
        check_fields(self, "data")
        if self.levels == 1:
            raise ConfigError(f"data.levels must be 0 (from the data) or in [2, {MAX_LEVELS}], got 1")


def levels_ordered(data: DataSection) -> bool:
    """Whether the data's levels are ordered: always for pixels, for codes as ``data.ordered`` says."""
    return data.kind == "pixels" or data.ordered


@dataclass(frozen=True)
class TrainSection:
    """Optimisation and stopping. A run stops at the first limit reached
    (0 means no limit). Learning rate: linear warm-up, then ``schedule``
    ("constant", "cosine" over ``max_steps``, or "exponential" with ``lr_decay`` per step).
    ``precision``: the forward pass of training in "fp32" or "bf16" (autocast; the
    weights stay fp32 and evaluation is always fp32); "auto" picks bf16 where the
    hardware computes it natively (CPUs with AVX512-BF16/AMX, CUDA with bf16).
    ``compile``: the training step's network and loss run through ``torch.compile``
    (TorchInductor; needs a C++ compiler on CPUs); evaluation, sampling and checkpoints
    use the plain module, so checkpoints are the same either way.
    ``max_minutes`` counts training time summed over resumes, like the step and epoch limits."""

    seed: int = setting(0, between(0, 2**63 - 1))  # what torch's generators take
    batch_size: int = setting(64, at_least(1))
    optimizer: str = setting("adam", one_of("adam", "adamw"))
    lr: float = setting(1e-3, above(0.0))
    weight_decay: float = setting(0.0, at_least(0.0))
    betas: tuple[float, float] = setting((0.9, 0.999), between(0.0, 1.0, high_open=True))
    schedule: str = setting("constant", one_of("constant", "cosine", "exponential"))
    warmup_steps: int = setting(0, at_least(0))
    lr_decay: float = setting(1.0, between(0.0, 1.0, low_open=True))
    grad_clip: float = setting(1.0, at_least(0.0, "0: no clipping"))
    ema_decay: float = setting(0.999, between(0.0, 1.0, high_open=True, note="0: no EMA"))
    epochs: int = setting(10, at_least(0, "0: no limit"))
    max_steps: int = setting(0, at_least(0, "0: no limit"))
    max_minutes: float = setting(0.0, at_least(0.0, "0: no limit"))
    eval_batch_size: int = setting(256, at_least(1))
    log_every: int = setting(20, at_least(1))
    checkpoint_every: int = setting(0, at_least(0, "0: at epoch ends only"))
    sample_every_epoch: bool = True
    sample_count: int = setting(64, at_least(0, "0: none"))
    sample_method: str = setting("fast", one_of("fast", "reference"))
    keep_checkpoints: int = setting(2, at_least(1))
    device: str = "auto"
    precision: str = setting("auto", one_of("auto", "fp32", "bf16"))
    compile: bool = setting(False)
    threads: int = setting(0, at_least(0, "0: torch's default"))
    progress: bool = True

    def __post_init__(self):
        check_fields(self, "train")


@dataclass(frozen=True)
class RunConfig:
    model: ModelSection = field(default_factory=ModelSection)
    data: DataSection = field(default_factory=DataSection)
    train: TrainSection = field(default_factory=TrainSection)

    def __post_init__(self):
        check_run_config(self)


SECTIONS = {"model": ModelSection, "data": DataSection, "train": TrainSection}
MODEL_PARTS = ("likelihood", "input", "cond_map")  # model fields that are registered parts with options


def check_run_config(cfg: RunConfig) -> None:
    """What no single field can say: how fields combine. Each field was checked on its own already."""
    t, d = cfg.train, cfg.data
    check_data_section(d)
    if d.binarize != "none" and d.levels != 2:
        raise ConfigError(f"data.binarize = {d.binarize} needs data.levels = 2, got {d.levels}")
    if t.schedule == "cosine" and not t.max_steps:
        raise ConfigError("train.schedule = cosine needs train.max_steps (the length of the cosine)")
    if not (t.epochs or t.max_steps or t.max_minutes):
        raise ConfigError("set at least one of train.epochs, train.max_steps, train.max_minutes")
    from pixelcnn.training.kinds import kind_of

    kind_of(cfg.model.name).check_run(cfg)  # the model section and how it fits the data


def check_model_order(model: ModelSection, data: DataSection) -> None:
    """A likelihood that treats levels as ordered values (the logistic mixture) is refused on
    codes unless ``data.ordered`` says they are ordered."""
    from pixelcnn.likelihoods import LIKELIHOODS
    from pixelcnn.models import preset_config

    spec = merge_spec(preset_config(model.name).likelihood, model.overrides.get("likelihood", {}))
    name = LIKELIHOODS.spec(spec, "model.likelihood")["name"]
    if LIKELIHOODS.get(name).ordered and not levels_ordered(data):
        raise ConfigError(f"the {name} likelihood treats levels as ordered values, and codes "
                          f"(data.kind = codes) are labels unless data.ordered = true: use "
                          f"model.likelihood=categorical, or set data.ordered=true if the codes are ordered")


def check_data_section(d: DataSection) -> None:
    """How the data fields combine with the kind of data."""
    if d.kind == "pixels" and d.levels > MAX_PIXEL_LEVELS:
        raise ConfigError(f"data.levels = {d.levels}: pixels have at most {MAX_PIXEL_LEVELS} levels; "
                          f"integer maps of more levels are data.kind=codes")
    if d.cond_field and not d.name.endswith(".npz"):
        raise ConfigError(f"data.cond_field = {d.cond_field} names arrays of an .npz file; {d.name} is not one")
    if d.cond_field and d.cond_field == d.field:
        raise ConfigError(f"data.cond_field = {d.cond_field} is also data.field: a model cannot be given "
                          f"what it models")
    if d.decoder and (d.kind != "codes" or not d.field):
        raise ConfigError("data.decoder decodes a VQ-VAE's code maps: it needs data.kind=codes and data.field "
                          "naming a map (bottom; with data.cond_field=top for a two-map VQ-VAE)")
    if d.kind == "codes":
        for key, value, plain in (("image_size", d.image_size, (0, 0)), ("channels", d.channels, 0),
                                  ("binarize", d.binarize, "none")):
            if value != plain:
                raise ConfigError(f"data.{key} applies to pixels; codes (data.kind = codes) are read as is")


def check_model_levels(model: ModelSection, levels: int) -> None:
    """``levels`` has one home, the data: a ``model.levels`` override must agree with it."""
    given = model.overrides.get("levels")
    if given is not None and given != levels:
        raise ConfigError(f"model.levels = {given} conflicts with the data's {levels} levels; levels come "
                          f"from the data: drop model.levels, or set data.levels")


def check_model_section(model: ModelSection, data: DataSection | None = None) -> None:
    """The preset exists and each override is of the right type and range, before any data is
    loaded (how the fields combine with the data's shape is checked when the model is built).
    With ``data.cond_field`` the model's condition map is a ``codes`` one (its levels and size
    come from the data), so options of that kind are what ``model.cond_map`` may set."""
    from pixelcnn.models import preset_config
    from pixelcnn.models.config import check_values

    overrides = dict(model.overrides)
    if data is not None and data.cond_field and "cond_map" in overrides:
        from pixelcnn.nn.condition_map import COND_MAPS

        COND_MAPS.spec(merge_spec("codes", overrides.pop("cond_map")), "model.cond_map")
    check_values(preset_config(model.name), overrides, prefix="model")


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
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of sections (model, data, train), "
                          f"not a {type(data).__name__}")
    return data


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """Apply ``section.key=value`` strings to nested dicts (a new dict is returned).

    ``model.<field>=v`` sets a preset override, except ``model.name``; a part of the model
    (``likelihood``, ``input``) also takes ``model.<part>.<option>=v``
    (``model.likelihood.mixtures=10``), merged with the part's name and options in force.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"a run config must be a mapping of sections, got {type(data).__name__}")
    out = json.loads(json.dumps(data))  # a deep copy of plain data
    for item in overrides:
        key, sep, raw = item.partition("=")
        parts = key.strip().split(".")
        option = parts.pop() if len(parts) == 3 and parts[0] == "model" and parts[1] in MODEL_PARTS else None
        if not sep or len(parts) != 2 or parts[0] not in SECTIONS:
            raise ConfigError(f"overrides look like section.key=value with section in {sorted(SECTIONS)}, got {item!r}")
        section, name = parts
        value = _parse_value(raw)
        target = out.setdefault(section, {})
        if target is None:
            target = out[section] = {}
        if not isinstance(target, dict):
            raise ConfigError(f"config section {section!r} must be a mapping, got {target!r}")
        if section == "model" and name != "name":
            if not isinstance(target.get("overrides") or {}, dict):
                raise ConfigError(f"model.overrides must be a mapping, got {target['overrides']!r}")
            overrides = target.get("overrides") or {}
            if option is not None:  # model.likelihood.mixtures=10: an option of the part
                value = {option: value}
            if name in MODEL_PARTS and name in overrides:
                value = merge_spec(overrides[name], value)
            target["overrides"] = {**overrides, name: value}
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
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - fields)
    if unknown:
        raise ConfigError(f"unknown {name} setting(s) {unknown}; known: {sorted(fields)}")
    return cls(**values)  # each section checks its fields' types and ranges
