"""Exact negative log-likelihood over a whole split, in nats/image and bits/dim."""

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
def evaluate(model, levels: torch.Tensor, labels=None, *, batch_size: int = 256,
             progress: bool = False) -> Score:
    """Score every image of ``levels`` (integer ``[N, C, H, W]``, a tensor or anything whose
    ``[i:j]`` gives one, such as a split's lazily read levels); no batch is dropped.
    ``labels``: what the model is given with each image (labels ``[N]``, a dict of labels
    and maps, see :mod:`pixelcnn.nn.condition`), or None.

    The sum runs in float64, so the result does not depend on the batch size
    beyond float32 rounding inside the network.
    """
    if batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    total = torch.zeros((), dtype=torch.float64)
    starts = range(0, levels.shape[0], batch_size)
    if progress:
        from tqdm import tqdm

        starts = tqdm(starts, desc="evaluating", unit="batch", leave=False)
    try:
        for start in starts:
            x = levels[start : start + batch_size].to(device)
            cond = move_cond(labels, lambda t: t[start : start + batch_size].to(device))
            total += model.log_prob(x, cond).double().sum().cpu()
    finally:
        model.train(was_training)
    n, dims = levels.shape[0], model.dims
    nll = -float(total)
    return Score(images=n, dims=dims, nats_per_image=nll / max(n, 1), bits_per_dim=bits_per_dim(nll, dims, n))
