"""Where a run's data lies, recorded so that the run works from any working directory.

A run config names its data by a registered name (``mnist5k``) or a path
(a folder of images, an ``.npy``/``.npz`` file), and may name a folder of
files (``data.data_dir``). A path given relative to the directory the run
was started in means nothing from another one, so a new run records these
paths as absolute paths. Data that moved later is named again with an
override: ``eval --data``, ``score --images``, ``train --resume RUN
data.name=NEW`` (or ``data.data_dir=NEW``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from pixelcnn.config import RunConfig


def anchor_data(cfg: RunConfig) -> RunConfig:
    """``cfg`` with a data path (``data.name`` when it is not a registered name but a path that
    exists, ``data.data_dir`` and ``data.decoder``) made absolute."""
    from pixelcnn.data.registry import dataset_names

    data = cfg.data
    changes = {}
    if data.name not in dataset_names() and Path(data.name).exists():
        changes["name"] = str(Path(data.name).resolve())
    if data.data_dir:
        changes["data_dir"] = str(Path(data.data_dir).resolve())
    if data.decoder:
        changes["decoder"] = str(Path(data.decoder).resolve())
    if not changes:
        return cfg
    return dataclasses.replace(cfg, data=dataclasses.replace(data, **changes))
