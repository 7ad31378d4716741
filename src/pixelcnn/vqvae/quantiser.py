"""Vector quantisation with a codebook learned by moving averages, and dead-code restarts.

Each vector ``z`` of an encoder's output map is replaced by its nearest code
``e_k`` (Euclidean distance) of a codebook of K codes (van den Oord et al.
2017, "Neural Discrete Representation Learning", section 3.1). Gradients pass
straight through: the decoder reads ``z + sg(e_k - z)``, whose value is
``e_k`` and whose gradient is the identity. The commitment loss
``||z - sg(e_k)||^2`` (weighted by beta = 0.25 in the paper) keeps the encoder
near its codes.

The codebook gets no gradient: it learns by exponential moving averages
(appendix A.1 of that paper; Razavi et al. 2019, "Generating Diverse
High-Fidelity Images with VQ-VAE-2", section 3.1). In training mode each
forward updates, with decay ``gamma``,

    N_k <- gamma N_k + (1 - gamma) n_k       (n_k: vectors of the batch nearest to code k)
    m_k <- gamma m_k + (1 - gamma) sum_k z   (their sum)
    e_k <- m_k / N~_k,   N~_k = (N_k + eps) / (N + K eps) * N,  N = sum_k N_k

where ``N~_k`` is ``N_k`` with Laplace smoothing, so that a code that took
nothing is not divided by zero. A code whose average count ``N_k`` falls
below ``restart_below`` vectors per batch is dead: it restarts at a vector of
the batch drawn at random, with ``N_k = restart_below`` and
``m_k = restart_below * e_k`` (random restarts of codes below a count, as in
Dhariwal et al. 2020, "Jukebox"). It stays only if it takes vectors in the
next batches. Every count starts at the threshold (1 without restarts), with
``m_k = N_k e_k``, so every code that the first batch leaves untaken restarts at
a vector of the data at once.

The codebook, counts and sums are buffers: saved in checkpoints, and copied
(not averaged) into the EMA of the weights. The draws of restarts come from
torch's global generator, which the trainer saves in every checkpoint, so a
resumed run restarts the same codes at the same vectors. With several
processes (DDP), the counts and sums are summed over the processes and rank 0's
draw is used, so every process keeps the same codebook. Quantisation runs in
float32, also under autocast.

Not implemented: a codebook learned by gradients (the paper's other option);
restarts by k-means.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class VectorQuantiser(nn.Module):
    """``codes`` codes of length ``dim``; ``forward(z)`` quantises maps ``[B, dim, h, w]``."""

    def __init__(self, codes: int, dim: int, *, decay: float = 0.99, restart_below: float = 0.1, eps: float = 1e-5):
        super().__init__()
        self.codes, self.dim, self.decay, self.restart_below, self.eps = codes, dim, decay, restart_below, eps
        codebook = torch.randn(codes, dim)
        start = restart_below if restart_below > 0 else 1.0  # below the threshold after one step untaken
        self.register_buffer("codebook", codebook)  # [K, D] the codes e_k
        self.register_buffer("counts", torch.full((codes,), start))  # [K] N_k: average vectors per batch
        self.register_buffer("sums", codebook * start)  # [K, D] m_k: average sum of those vectors

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(quantised, index, commitment)`` for encoder outputs ``z`` ``[B, D, h, w]``:
        ``z + sg(e - z)`` ``[B, D, h, w]`` (float32; ``e`` when ``z`` needs no gradient, so that
        decoding the codes gives the same images), the codes ``[B, h, w]`` (long) and each
        image's commitment loss ``[B]``, the mean of ``(z - sg(e))^2`` over its map. In
        training mode the codebook learns from the batch (module docstring)."""
        with torch.autocast(z.device.type, enabled=False):
            z = z.float()
            b, d, h, w = z.shape
            flat = z.permute(0, 2, 3, 1).reshape(-1, d)  # [N, D], N = B h w
            index = self.nearest(flat)  # [N]
            e = F.embedding(index, self.codebook).view(b, h, w, d).permute(0, 3, 1, 2)  # [B, D, h, w]
            if self.training:
                self._learn(flat.detach(), index)
            commitment = (z - e).pow(2).flatten(1).mean(1)  # [B]; e is a buffer: no gradient
            quantised = z + (e - z).detach() if z.requires_grad else e  # e itself where no gradient flows
            return quantised, index.view(b, h, w), commitment

    def nearest(self, flat: torch.Tensor) -> torch.Tensor:
        """The index of the nearest code of each vector of ``flat`` ``[N, D]``: ``[N]``."""
        book = self.codebook
        distance = flat.pow(2).sum(1, keepdim=True) - 2 * flat @ book.t() + book.pow(2).sum(1)  # [N, K]
        return distance.argmin(1)

    def lookup(self, index: torch.Tensor) -> torch.Tensor:
        """The codes of ``index`` ``[B, h, w]`` (long, in ``[0, K)``) as a map ``[B, D, h, w]``."""
        return F.embedding(index, self.codebook).permute(0, 3, 1, 2)

    @torch.no_grad()
    def _learn(self, flat: torch.Tensor, index: torch.Tensor) -> None:
        """One moving-average step of the codebook from a batch's vectors ``flat`` ``[N, D]``
        and their nearest codes ``index`` ``[N]``, then restarts of dead codes."""
        gamma, k = self.decay, self.codes
        taken = torch.bincount(index, minlength=k).float()  # [K] n_k
        summed = torch.zeros_like(self.sums).index_add_(0, index, flat)  # [K, D]
        group = _process_group()
        if group:
            torch.distributed.all_reduce(taken)
            torch.distributed.all_reduce(summed)
        self.counts.mul_(gamma).add_(taken, alpha=1 - gamma)
        self.sums.mul_(gamma).add_(summed, alpha=1 - gamma)
        total = self.counts.sum()
        smoothed = (self.counts + self.eps) / (total + k * self.eps) * total  # [K] N~_k
        codebook = self.sums / smoothed[:, None]
        if self.restart_below > 0:
            # a draw at every step, dead codes or not: no wait for the device to say whether any is dead
            picks = flat[torch.randint(flat.shape[0], (k,), device=flat.device)]  # [K, D]
            if group:
                torch.distributed.broadcast(picks, 0)
            dead = (self.counts < self.restart_below)[:, None]  # [K, 1]
            codebook = torch.where(dead, picks, codebook)
            self.sums.copy_(torch.where(dead, picks * self.restart_below, self.sums))
            self.counts.copy_(torch.where(dead[:, 0], self.restart_below, self.counts))
        self.codebook.copy_(codebook)

    def extra_repr(self) -> str:
        return f"codes={self.codes}, dim={self.dim}, decay={self.decay}, restart_below={self.restart_below}"


def _process_group() -> bool:
    """Whether several processes train together (their codebook statistics are then summed)."""
    dist = torch.distributed
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1
