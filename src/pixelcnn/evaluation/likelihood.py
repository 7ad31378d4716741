"""Exact log-likelihoods of sets of images: :func:`log_probs`, the loop that scores images batch
by batch, and :func:`evaluate`, a whole split's nats/image and bits/dim.

Everything in the package that scores many images with a model goes through
:func:`log_probs` (per-image scores and maps in :mod:`pixelcnn.evaluation.scoring`,
the compressor's ideal size, the trainer's validation through :func:`evaluate`), so
batching, eval mode, inference mode, the device, labels and the float64 sum live here once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from pixelcnn.errors import ConfigError
from pixelcnn.nn.condition import move_cond
from pixelcnn.units import bits_per_dim


@dataclass(frozen=True)
class Score:
    """Totals over ``images`` images of ``dims`` sub-pixels each.

    ``nats_per_image`` = total NLL / images; ``bits_per_dim`` = total NLL /
    (images * dims * ln 2).
    """

    images: int
    dims: int
    nats_per_image: float
    bits_per_dim: float

    def to_dict(self) -> dict:
        return asdict(self)


@torch.inference_mode()
def log_probs(model, levels, labels=None, *, batch_size: int = 256, per_pixel: bool = False,
              progress: bool = False) -> torch.Tensor:
    """``log p`` of every image of ``levels``, scored ``batch_size`` images at a time: the one
    loop through which every set of images is scored (a split's bits/dim, per-image scores
    and maps, the compressor's ideal size, the trainer's validation and test).

    Args:
        model: a pixelcnn model; it runs in eval mode on its own device and is left in the
            mode it was in.
        levels: integer levels in ``[0, L)``, ``[N, C, H, W]``: a tensor, or anything with a
            ``shape`` whose ``[i:j]`` gives one (a split's lazily read levels).
        labels: what the model is given with each image: ``[N]`` class labels, a dict of
            labels and maps (see :mod:`pixelcnn.nn.condition`), or None.
        batch_size: images per forward pass.
        per_pixel: give each pixel's ``log p`` (its colours summed) instead of each image's.
        progress: show a progress bar over the batches.

    Returns:
        float64 ``[N]``: ``log p(x)`` of each image in nats; with ``per_pixel``, float32
        ``[N, H, W]``. On the CPU; no image is dropped.
    """
    if batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
    n, _, h, w = levels.shape
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    starts = range(0, n, batch_size)
    if progress:
        from tqdm import tqdm

        starts = tqdm(starts, desc="scoring", unit="batch", leave=False)
    parts = []
    try:
        for start in starts:
            x = levels[start : start + batch_size].to(device)
            cond = move_cond(labels, lambda t: t[start : start + batch_size].to(device))
            # [B, C, H, W], or [B, 1, H, W] for a likelihood that does not factor over colours
            logp = model.log_prob_map(x, cond)
            parts.append(logp.float().sum(1).cpu() if per_pixel else logp.flatten(1).sum(1).double().cpu())
    finally:
        model.train(was_training)
    if parts:
        return torch.cat(parts)
    return torch.zeros(0, h, w) if per_pixel else torch.zeros(0, dtype=torch.float64)


def evaluate(model, levels: torch.Tensor, labels=None, *, batch_size: int = 256,
             progress: bool = False) -> Score:
    """Score every image of ``levels`` (integer ``[N, C, H, W]``, a tensor or anything whose
    ``[i:j]`` gives one, such as a split's lazily read levels); no batch is dropped.
    ``labels``: what the model is given with each image (labels ``[N]``, a dict of labels
    and maps, see :mod:`pixelcnn.nn.condition`), or None.

    The sum runs in float64, so the result does not depend on the batch size
    beyond float32 rounding inside the network.
    """
    total = log_probs(model, levels, labels, batch_size=batch_size, progress=progress).sum()
    n, dims = levels.shape[0], model.dims
    nll = -float(total)
    return Score(images=n, dims=dims, nats_per_image=nll / max(n, 1), bits_per_dim=bits_per_dim(nll, dims, n))
