"""A categorical distribution over L discrete levels for every sub-pixel.

The network's parameters are unnormalised logits ``[B, C, L, H, W]``; the
likelihood normalises them with a log-softmax over the L levels. All
log-probabilities are natural logs (nats).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


class Categorical:
    """Softmax over ``levels`` values per sub-pixel (van den Oord et al. 2016a)."""

    def __init__(self, levels: int):
        self.levels = levels

    def log_prob_map(self, x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        """Log-probability of each sub-pixel: ``x`` ``[B, C, H, W]`` levels,
        ``logits`` ``[B, C, L, H, W]`` -> nats ``[B, C, H, W]``."""
        if logits.dtype in (torch.bfloat16, torch.float16):  # mixed-precision training: normalise in fp32
            logits = logits.float()
        logp = F.log_softmax(logits, dim=2)
        return logp.gather(2, x.unsqueeze(2)).squeeze(2)

    def sample(
        self,
        logits: torch.Tensor,
        *,
        temperature: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Draw levels from ``logits`` ``[..., L]`` -> long ``[...]``.

        Uses one uniform number per draw (inverse CDF), so the random stream
        advances the same way whatever the logits are; temperature 0 takes the
        most likely level and draws nothing.
        """
        if temperature == 0:
            return logits.argmax(dim=-1)
        if temperature != 1:
            logits = logits / temperature
        cdf = F.softmax(logits, dim=-1).cumsum(dim=-1)
        u = torch.rand((*cdf.shape[:-1], 1), generator=generator, device=cdf.device, dtype=cdf.dtype)
        index = torch.searchsorted(cdf, u).squeeze(-1)  # the first level whose CDF reaches u
        return index.clamp_(max=self.levels - 1)
