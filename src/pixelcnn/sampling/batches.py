"""Many samples at once: in batches, and per class (what ``pixelcnn sample`` draws)."""

from __future__ import annotations

import torch

from pixelcnn.errors import PixelCNNError
from pixelcnn.nn.condition import move_cond
from pixelcnn.sampling.samplers import sample


def per_class_labels(model, per_class: int) -> torch.Tensor:
    """Labels ``[classes * per_class]``: ``per_class`` of each class of a class-conditional model, in order."""
    classes = getattr(model.config, "num_classes", 0)
    if not classes:
        raise PixelCNNError("the model is not class-conditional: there is no class to draw per")
    if isinstance(per_class, bool) or not isinstance(per_class, int) or per_class < 1:
        raise PixelCNNError(f"the images per class must be a whole number >= 1, got {per_class!r}")
    return torch.arange(classes).repeat_interleave(per_class)


def sample_in_batches(model, n: int, *, cond=None, batch_size: int = 64, **options) -> torch.Tensor:
    """``n`` images drawn ``batch_size`` at a time: long levels ``[n, C, H, W]`` on the CPU.

    ``cond``: labels ``[n]``, vectors ``[n, D]``, maps, or a dict of them, sliced batch by batch; ``options`` go to
    :func:`~pixelcnn.sampling.sample` (``generator`` runs on through the batches, so the
    images depend on ``batch_size``).
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise PixelCNNError(f"batch_size must be a whole number >= 1, got {batch_size!r}")
    counts = {len(t) for t in (cond.values() if isinstance(cond, dict) else [cond]) if t is not None}
    if counts - {n}:
        raise PixelCNNError(f"cond gives {min(counts - {n})} conditions for {n} images")
    device = next(model.parameters()).device
    chunks = []
    for start in range(0, n, batch_size):
        size = min(batch_size, n - start)
        part = move_cond(cond, lambda t: t[start : start + size].to(device))
        chunks.append(sample(model, size, cond=part, **options).cpu())
    return torch.cat(chunks)
