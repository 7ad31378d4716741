"""Class labels: the one place that checks them.

A label is an integer in ``[0, classes)``; a batch or a split has one per
image, shape ``[N]``. Every boundary that takes labels checks them here: array
files and data sets (:mod:`pixelcnn.data`), a model's ``cond``
(:meth:`pixelcnn.models.model.AutoregressiveModel.check_cond`), the class given to
``score`` and to the CLI's ``--class``. Each passes the error class of its
layer and a prefix naming where the labels came from, so the line reads the
same everywhere.
"""

from __future__ import annotations

import numpy as np
import torch

from pixelcnn.errors import ConfigError, DataError, PixelCNNError


def check_labels(labels: torch.Tensor | np.ndarray, *, n: int | None = None, classes: int | None = None,
                 where: str = "", error: type[PixelCNNError] = DataError) -> torch.Tensor:
    """``labels`` as int64 ``[n]`` (on its device), or one line of ``error``.

    Args:
        labels: integers, a tensor or a numpy array.
        n: the number of labels expected (None: any ``[N]``).
        classes: labels must lie in ``[0, classes)``; None: any non-negative integer.
        where: a prefix for the message, such as ``"data.npz['train']: "``.
    """
    if isinstance(labels, np.ndarray):
        integer = np.issubdtype(labels.dtype, np.integer)
    elif isinstance(labels, torch.Tensor):
        integer = not (labels.dtype.is_floating_point or labels.dtype.is_complex or labels.dtype == torch.bool)
    else:
        raise error(f"{where}labels must be a tensor or an array of integers, got {type(labels).__name__}")
    if not integer:
        raise error(f"{where}labels have dtype {labels.dtype}, expected integers")
    if labels.ndim != 1 or (n is not None and len(labels) != n):
        raise error(f"{where}labels have shape {list(labels.shape)}, expected [{'N' if n is None else n}]")
    if len(labels):
        low, high = int(labels.min()), int(labels.max())
        if low < 0 or (classes is not None and high >= classes):
            top = "" if classes is None else f", {classes}"
            raise error(f"{where}labels must lie in [0{top or ', ...'}), got {low}..{high}")
    labels = torch.from_numpy(labels) if isinstance(labels, np.ndarray) else labels
    return labels.long()


def check_label(label: int, classes: int, name: str = "the class label", error: type[PixelCNNError] = ConfigError
                ) -> int:
    """One label ``label`` (the class of every image) in ``[0, classes)``, or one line of ``error``."""
    if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label < classes:
        raise error(f"{name} must be in [0, {classes}), got {label!r}")
    return label
