"""The resume policy, shared by ``pixelcnn train --resume`` and the Python API: a resumed run
keeps its saved config, and only settings that do not change what it learns may change."""

from __future__ import annotations

from pathlib import Path

from pixelcnn.config import RunConfig, apply_overrides, from_dict
from pixelcnn.errors import CheckpointError, ConfigError

# train.batch_size may change with the number of processes (it is per process): the epoch goes on
# from the first image not yet trained on; data.name and data.data_dir: the same images moved
RESUMABLE = frozenset({
    "train.batch_size", "train.epochs", "train.max_steps", "train.max_minutes", "train.log_every",
    "train.progress", "train.checkpoint_every", "train.sample_every_epoch", "train.sample_count",
    "train.device", "train.threads", "train.keep_checkpoints", "train.eval_batch_size",
    "data.data_dir", "data.name",
})


def resumed_config(run_dir: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> RunConfig:
    """The run config saved in ``run_dir`` with ``overrides`` (``section.key=value``, only
    :data:`RESUMABLE` keys) applied; one line for anything else, a missing or damaged config."""
    from pixelcnn.training.checkpoint import check_run_dir, read_meta

    run_dir = Path(run_dir)
    saved = read_meta(check_run_dir(run_dir)).get("run")
    if not isinstance(saved, dict):
        raise CheckpointError(f"{run_dir} holds no run config (config.json has no 'run' entry); it cannot be resumed")
    for item in overrides:
        key = item.partition("=")[0].strip()
        if key not in RESUMABLE:
            raise ConfigError(f"{key} cannot change when resuming (it would change the run); "
                              f"allowed: {', '.join(sorted(RESUMABLE))}")
    try:
        from_dict(saved)
    except ConfigError as e:
        raise CheckpointError(f"the run config saved in {run_dir} is damaged: {e}") from None
    return from_dict(apply_overrides(saved, list(overrides)))  # the overrides checked like any other
