"""The training loss as a module, so that DistributedDataParallel sees it.

DDP averages gradients through hooks that its own ``forward`` arms; a loss
computed by calling ``model.log_prob`` beside the wrapper would never arm
them. :class:`Loss` makes the negative log-likelihood the output of a
``forward``, and the trainer wraps this module (not the model) in DDP. The
model itself stays unwrapped for evaluation, sampling and checkpoints.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from pixelcnn.nn.condition import as_condition


class Loss(nn.Module):
    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, cond=None) -> torch.Tensor:
        """Negative log-likelihood of each image in nats, float32 ``[B]``, for levels ``x`` ``[B, C, H, W]``.

        The batch and its labels are the trainer's own, checked when the data was read, so the
        model's checks (which read values back from the device) are skipped."""
        cond = as_condition(cond)
        if cond.labels is not None:  # a new Condition: the caller's is left as it was
            cond = dataclasses.replace(cond, labels=cond.labels.long())
        return -self.model.trusted_log_prob_map(x.long(), cond).flatten(1).sum(1).float()


def weighted_mean(nats: torch.Tensor, real: int, total: int, dims: int) -> torch.Tensor:
    """This process's part of the global batch's mean nats per sub-pixel (a scalar).

    ``nats`` ``[b]``: its first ``real`` entries count; ``total`` images make the
    global batch. The parts of all processes sum to the mean over the global
    batch, so a short last batch split unevenly (or a process with no image)
    still weighs every image alike, exactly as one process would.
    """
    return nats[:real].sum() / (total * dims)
