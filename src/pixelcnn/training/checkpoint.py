"""Checkpoints that describe themselves and never unpickle code.

A run directory holds::

    config.json            the resolved run config (format version, model, data, train)
    latest                 the name of the newest complete checkpoint (one line)
    checkpoints/step-000000123/
        config.json        the same, so a checkpoint copied elsewhere still loads
        model.safetensors  training weights
        ema.safetensors    EMA (Polyak) weights, used for evaluation and sampling
        state.safetensors  optimiser tensors and random-number-generator states
        state.json         step, epoch, position in the epoch, optimiser structure

A checkpoint is written into a temporary directory, renamed into place, and
only then named in ``latest`` (itself replaced atomically), so a kill at any
moment leaves the previous checkpoint complete and named.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from safetensors.torch import save as save_tensors

from pixelcnn import atomic
from pixelcnn.errors import CheckpointError, ConfigError
from pixelcnn.training.kinds import kind_of_meta
from pixelcnn.training.runtime import pick_device

FORMAT = "pixelcnn-checkpoint"
FORMAT_VERSION = 1
FILES = ("config.json", "model.safetensors", "state.safetensors", "state.json")


def save_checkpoint(run_dir: Path, meta: dict, weights: dict, ema: dict | None, state: dict, keep: int = 2) -> Path:
    """Write a checkpoint of ``state["step"]`` and point ``latest`` at it.

    ``meta`` is the config.json content; ``weights``/``ema`` are state dicts;
    ``state`` is nested plain data and tensors (optimiser, RNG, counters).
    """
    run_dir = Path(run_dir)
    root = run_dir / "checkpoints"
    root.mkdir(parents=True, exist_ok=True)
    name = f"step-{state['step']:09d}"
    final = root / name
    if all((final / f).is_file() for f in FILES):  # this step is saved already (runs are deterministic)
        # but the training time went on (an evaluation, the writing itself): keep it, or a run stopped
        # by train.max_minutes would resume with time left
        write_json(final / "state.json", split_tensors(state)[0])
        _write_text(run_dir / "latest", f"checkpoints/{name}\n")
        return final
    try:
        tmp = Path(tempfile.mkdtemp(dir=root, prefix=f".{name}."))
        os.chmod(tmp, atomic.dir_mode())  # mkdtemp makes 0700; the checkpoint gets what mkdir would give
    except OSError as e:
        raise _not_saved(root, name, atomic.write_error(root, e)) from None
    try:
        write_json(tmp / "config.json", meta)
        _write_tensors(tmp / "model.safetensors", weights)
        if ema is not None:
            _write_tensors(tmp / "ema.safetensors", ema)
        structure, tensors = split_tensors(state)
        _write_tensors(tmp / "state.safetensors", tensors)
        write_json(tmp / "state.json", structure)
        if final.exists():  # an incomplete leftover of a killed run, never named in latest
            shutil.rmtree(final)
        os.replace(tmp, final)
    except atomic.WriteError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise _not_saved(root, name, e) from None
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise _not_saved(root, name, atomic.write_error(final, e)) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    try:
        _write_text(run_dir / "latest", f"checkpoints/{name}\n")
    except atomic.WriteError as e:
        raise _not_saved(root, name, e) from None
    _prune(root, keep, final)
    return final


def _write_tensors(path: Path, tensors: dict) -> None:
    data = save_tensors(_contiguous(tensors))  # [bytes] the safetensors file
    atomic.atomic_write(path, lambda f: f.write(data), durable=True)


def _not_saved(root: Path, name: str, error: atomic.WriteError) -> atomic.WriteError:
    """``error`` saying that checkpoint ``name`` was not saved and what is intact."""
    run_dir = root.parent
    try:
        last = f"the last good checkpoint, {_read_latest(run_dir)}, is intact" if (run_dir / "latest").is_file() \
            else "no checkpoint had been saved before"
    except CheckpointError:
        last = "the checkpoints saved before are untouched"
    return atomic.WriteError(f"{error}; checkpoint {name} was not saved ({last})", error.errno)


def resolve_checkpoint(path: str | Path) -> Path:
    """A run directory (via ``latest``) or a checkpoint directory -> the checkpoint directory."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"no checkpoint at {path}: the path does not exist")
    if (path / "latest").is_file():
        path = path / _read_latest(path)
    missing = [f for f in FILES if not (path / f).is_file()]
    if missing:
        raise CheckpointError(f"{path} is not a pixelcnn checkpoint or run directory (missing {', '.join(missing)})")
    return path


def _read_latest(run_dir: Path) -> str:
    """What ``latest`` names, checked: ``checkpoints/step-N``, an existing directory."""
    raw = (run_dir / "latest").read_bytes()
    try:
        name = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        name = ""
    if not LATEST.fullmatch(name):
        raise CheckpointError(f"{run_dir / 'latest'} is corrupt: it should name a checkpoint like "
                              f"checkpoints/step-000000123, it holds {raw[:40]!r}")
    if not (run_dir / name).is_dir():
        raise CheckpointError(f"{run_dir / 'latest'} names {run_dir / name}, which does not exist")
    return name


LATEST = re.compile(r"checkpoints/step-\d+")


def check_run_dir(path: str | Path) -> Path:
    """``path`` is a run directory that training can resume; one clear line if not.

    A checkpoint directory inside a run is refused with the run to give instead
    (resuming writes into the run, never inside a checkpoint).
    """
    path = Path(path)
    if (path / "latest").is_file():
        return path
    run = path.parent.parent
    if path.parent.name == "checkpoints" and (run / "latest").is_file():
        latest = _read_latest(run)
        which = "its latest checkpoint" if (run / latest).resolve() == path.resolve() else (
            f"its latest checkpoint {latest}; to go back to {path.name}, copy the run and point its "
            f"'latest' file at checkpoints/{path.name}")
        raise CheckpointError(f"{path} is a checkpoint of the run {run}; resume the run with --resume {run} "
                              f"(it continues from {which})")
    resolve_checkpoint(path)  # says what is wrong with it
    raise CheckpointError(f"{path} is a checkpoint, not a run directory; only a run (with its 'latest' file) "
                          f"can be resumed")


def check_writable(path: str | Path, *, make_parents: bool = True) -> None:
    """``path`` (a file or directory to be written) can be written, or one clear line, before any work.

    ``make_parents``: missing directories above ``path`` will be created (a run
    directory); without it they must exist (an output file).
    """
    path = Path(path)
    if not make_parents and not path.parent.is_dir():
        raise CheckpointError(f"cannot write {path}: the directory {path.parent} does not exist")
    target = path
    while not target.exists() and target.parent != target:  # where the first write lands
        target = target.parent
    if target != path and not target.is_dir():
        raise CheckpointError(f"cannot write {path}: {target} is not a directory")
    if path.is_dir() and not make_parents:
        raise CheckpointError(f"cannot write {path}: it is a directory")
    if path.exists() and not path.is_dir() and make_parents:
        raise CheckpointError(f"cannot write into {path}: it is a file, not a directory")
    place = target if target.is_dir() else target.parent
    if not os.access(place, os.W_OK | os.X_OK) or (target.is_file() and not os.access(target, os.W_OK)):
        raise CheckpointError(f"cannot write {path}: permission denied")


def read_meta(path: str | Path) -> dict:
    """The config.json of a checkpoint, checked for format, version and shape."""
    ckpt = resolve_checkpoint(path)
    try:
        meta = json.loads((ckpt / "config.json").read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{ckpt / 'config.json'} is corrupt: {e}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{ckpt} was not written by pixelcnn (config.json has no '{FORMAT}' format)")
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(
            f"{ckpt} has checkpoint format version {version}; this pixelcnn reads version {FORMAT_VERSION}"
        )
    # "model" rebuilds the network; "data" and "run" (the training config) are needed to resume
    wrong = [key for key in ("model", "data", "run") if (key == "model" or key in meta) and not isinstance(meta.get(key), dict)]
    if wrong:
        raise CheckpointError(f"{ckpt / 'config.json'} is damaged: its {', '.join(wrong)} entry is "
                              f"missing or not a mapping")
    return _migrate(meta)


def _migrate(meta: dict) -> dict:
    """A config.json written before ``mixtures`` became an option of the likelihood, as it
    reads now: the run's model overrides move ``mixtures`` into their likelihood spec (the
    model config itself is migrated by :func:`~pixelcnn.models.config_from_dict`)."""
    from pixelcnn.models import preset_config
    from pixelcnn.models.config import migrate_mixtures

    model = (meta.get("run") or {}).get("model")
    overrides = model.get("overrides") if isinstance(model, dict) else None
    if isinstance(overrides, dict) and "mixtures" in overrides:
        try:
            base = overrides.get("likelihood") or preset_config(model.get("name")).likelihood
            model["overrides"] = migrate_mixtures(overrides, base)
        except ConfigError:
            pass  # an unknown preset: the run config's own check says so where it is used
    return meta


@dataclass(frozen=True)
class RunInfo:
    """What a checkpoint says about the run that wrote it (returned beside the model by
    :func:`load_run`): where it is, which weights were loaded, and its config.json."""

    checkpoint: Path  # the checkpoint directory the weights came from
    weights: str  # "ema" or "raw"
    meta: dict  # its config.json, in this version's form

    @property
    def model_kind(self) -> str:
        """The kind of model (:mod:`pixelcnn.training.kinds`): "autoregressive" or "vqvae"."""
        return self.meta.get("model_kind", "autoregressive")

    @property
    def step(self) -> int | None:
        """The training step of the checkpoint (from its name), or None."""
        match = re.fullmatch(r"step-(\d+)", self.checkpoint.name)
        return int(match.group(1)) if match else None

    @property
    def run(self):
        """The run config it was trained with (:class:`~pixelcnn.config.RunConfig`)."""
        from pixelcnn.config import from_dict

        try:
            return from_dict(self.meta.get("run") or {})
        except ConfigError as e:
            raise CheckpointError(f"{self.checkpoint}: the saved run config is damaged: {e}") from None

    @property
    def data(self):
        """The data settings it was trained with (:class:`~pixelcnn.config.DataSection`)."""
        return self.run.data

    @property
    def seed(self) -> int:
        return self.run.train.seed

    @property
    def ordered(self) -> bool:
        """Whether the model's levels are ordered values (pixels) rather than codes that are
        labels; checkpoints from before codes existed held pixels."""
        return bool((self.meta.get("data") or {}).get("ordered", True))


def load(path: str | Path, *, weights: str = "ema", device: str | torch.device = "cpu"):
    """The model saved at ``path`` (run or checkpoint directory), ready to use; see :func:`load_run`."""
    return load_run(path, weights=weights, device=device)[0]


def load_run(path: str | Path, *, weights: str = "ema", device: str | torch.device = "cpu"):
    """``(model, info)``: the model saved at ``path`` (run or checkpoint directory), ready to
    use, and its :class:`RunInfo`. The model is of the run's kind: an autoregressive model, or a
    :class:`~pixelcnn.vqvae.VQVAE` (``info.model_kind`` says which).

    ``weights="ema"`` gives the EMA weights (the training weights of a run trained
    with ``train.ema_decay = 0``, which keeps none; a run that kept them and lacks
    the file is an error naming it); ``weights="raw"`` gives the training weights.
    Weights that are not all finite are refused.
    """
    if weights not in ("ema", "raw"):
        raise ConfigError(f"weights must be 'ema' or 'raw', got {weights!r}")
    device = pick_device(device)  # before any work: a missing CUDA is one line, not an assertion
    ckpt = resolve_checkpoint(path)
    meta = read_meta(ckpt)
    kind = kind_of_meta(meta, str(ckpt))
    try:
        model = kind.build(kind.config_from_dict(meta["model"]))
    except (KeyError, TypeError, ValueError, ConfigError) as e:
        raise CheckpointError(f"{ckpt} describes a model this pixelcnn cannot build: {e}") from None
    name = weights_file(ckpt, meta, weights)
    load_weights(model, ckpt / name)
    return model.to(device).eval(), RunInfo(ckpt, "ema" if name == "ema.safetensors" else "raw", meta)


def weights_file(ckpt: Path, meta: dict, weights: str) -> str:
    """The file of ``weights`` ("ema" or "raw") in checkpoint ``ckpt``, whose config is ``meta``."""
    if weights == "raw" or (ckpt / "ema.safetensors").is_file():
        return "model.safetensors" if weights == "raw" else "ema.safetensors"
    train = meta.get("run", {}).get("train", {}) if isinstance(meta.get("run"), dict) else {}
    if isinstance(train, dict) and train.get("ema_decay") == 0:
        return "model.safetensors"  # the run kept no EMA: its training weights are its weights
    raise CheckpointError(f"{ckpt / 'ema.safetensors'} is missing (the run kept EMA weights, train.ema_decay = "
                          f"{train.get('ema_decay') if isinstance(train, dict) else '?'}); restore the file, or "
                          f"use the training weights with --weights raw (weights='raw')")


def load_weights(model: torch.nn.Module, file: Path) -> None:
    """Load a safetensors state dict into ``model``; any mismatch, or a weight that is not
    finite, is a CheckpointError."""
    tensors = _drop_retired(model, read_tensors(file))
    own = model.state_dict()
    missing = sorted(set(own) - set(tensors))
    extra = sorted(set(tensors) - set(own))
    wrong = sorted(k for k in set(own) & set(tensors) if own[k].shape != tensors[k].shape)
    if missing or extra or wrong:
        detail = "; ".join(
            f"{what}: {', '.join(keys[:3])}{' ...' if len(keys) > 3 else ''}"
            for what, keys in (("missing", missing), ("unexpected", extra), ("wrong shape", wrong))
            if keys
        )
        raise CheckpointError(f"{file} does not fit this {model.name} model ({detail})")
    broken = [k for k, v in tensors.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if broken:
        raise CheckpointError(f"{file} holds non-finite weights (NaN or infinity in {', '.join(broken[:3])}"
                              f"{' ...' if len(broken) > 3 else ''}); it cannot be used")
    model.load_state_dict(tensors)


def _drop_retired(model: torch.nn.Module, tensors: dict) -> dict:
    """``tensors`` without the weights an earlier version of the network saved and this one
    has no use for (its ``retired_keys()`` prefixes, under ``network.``)."""
    network = getattr(model, "network", None)
    retired = tuple(f"network.{p}" for p in getattr(network, "retired_keys", tuple)())
    if not retired:
        return tensors
    own = model.state_dict()
    return {k: v for k, v in tensors.items() if k in own or not k.startswith(retired)}


def read_tensors(file: Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(str(file))
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{file} is corrupt or truncated ({e})") from None


def read_state(ckpt: Path) -> dict:
    """The training state saved by :func:`save_checkpoint` (nested data and tensors), checked for shape."""
    try:
        structure = json.loads((ckpt / "state.json").read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{ckpt / 'state.json'} is corrupt: {e}") from None
    try:
        state = join_tensors(structure, read_tensors(ckpt / "state.safetensors"))
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{ckpt / 'state.json'} is damaged ({e})") from None
    counters = ("step", "epoch", "batch_index", "ema_updates")
    ok = isinstance(state, dict) and all(type(state.get(k)) is int and state[k] >= 0 for k in counters)
    if not (ok and isinstance(state.get("optimizer"), dict) and isinstance(state.get("rng"), dict)):
        raise CheckpointError(f"{ckpt / 'state.json'} is damaged: it should hold the counters "
                              f"{', '.join(counters)}, the optimizer state and the random states")
    return state


def split_tensors(obj: Any, prefix: str = "") -> tuple[Any, dict]:
    """Nested dicts/lists with tensors -> (JSON-ready structure, flat tensor dict)."""
    tensors: dict[str, torch.Tensor] = {}

    def walk(o, key):
        if isinstance(o, torch.Tensor):
            tensors[key] = o.detach().cpu()
            return {"__tensor__": key}
        if isinstance(o, dict):
            return {"__dict__": [[walk(k, f"{key}.k{i}"), walk(v, f"{key}.{i}")] for i, (k, v) in enumerate(o.items())]}
        if isinstance(o, (list, tuple)):
            return [walk(v, f"{key}.{i}") for i, v in enumerate(o)]
        return o

    return walk(obj, prefix or "s"), tensors


def join_tensors(structure: Any, tensors: dict) -> Any:
    """Inverse of :func:`split_tensors`."""
    if isinstance(structure, dict) and "__tensor__" in structure:
        key = structure["__tensor__"]
        if key not in tensors:
            raise CheckpointError(f"training state is missing tensor {key}")
        return tensors[key]
    if isinstance(structure, dict) and "__dict__" in structure:
        return {join_tensors(k, tensors): join_tensors(v, tensors) for k, v in structure["__dict__"]}
    if isinstance(structure, list):
        return [join_tensors(v, tensors) for v in structure]
    return structure


def _contiguous(tensors: dict) -> dict:
    return {k: v.detach().cpu().contiguous() for k, v in tensors.items()}


def write_json(path: Path, data) -> None:
    _write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def _write_text(path: Path, text: str) -> None:
    atomic.atomic_text(path, text, durable=True)  # flushed to disk before the rename: it may name a checkpoint


def _prune(root: Path, keep: int, current: Path) -> None:
    """Delete all but the ``keep`` newest checkpoints (never the current one) and stale temporaries."""
    done = sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("step-"))
    for old in done[: max(len(done) - max(keep, 1), 0)]:
        if old != current:
            shutil.rmtree(old, ignore_errors=True)
    for tmp in root.glob(".step-*"):
        shutil.rmtree(tmp, ignore_errors=True)
