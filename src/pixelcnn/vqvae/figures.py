"""How well a VQ-VAE reconstructs, and how much of its codebooks it uses, over a whole split.

Reconstruction: the decoder's output rounded to 8-bit levels
(:func:`~pixelcnn.vqvae.model.to_levels`) against the image. The MSE is the
mean of the squared differences of levels over every sub-pixel of the split,
and PSNR = 10 log10(255^2 / MSE) in dB: one figure for the split (not a mean
of per-image PSNRs; infinite when every image comes back exactly).

Codebook usage of each map, from how often each code occurs over the split
(p_k: the share of code k among the map's positions):

- ``perplexity`` = exp(-sum_k p_k ln p_k): K when every code is used equally
  often, 1 when a single code is used;
- ``used``: the fraction of the K codes that occur at least once.

With several processes each scores its shard of the split and the totals are
summed (in float64), so the figures are those of one process.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from pixelcnn.vqvae.model import LEVELS, evaluating, to_levels


def psnr(mse: float, peak: int = LEVELS - 1) -> float:
    """Peak signal-to-noise ratio in dB of a mean squared error ``mse`` of 8-bit levels."""
    return math.inf if mse <= 0 else 10 * math.log10(peak * peak / mse)


def usage(counts: torch.Tensor) -> tuple[float, float]:
    """``(perplexity, used)`` of a codebook whose codes occurred ``counts`` ``[K]`` times."""
    counts = counts.double()
    p = counts[counts > 0] / counts.sum()
    return math.exp(float(-(p * p.log()).sum())), float((counts > 0).double().mean())


def reconstruct(vq, x: torch.Tensor) -> tuple[torch.Tensor, dict]:
    """``(levels, codes)``: the reconstruction of levels ``x`` (long ``[B, C, H, W]``, checked by the
    caller) as long levels ``[B, C, H, W]`` in ``[0, 256)``, and its codes ``{map: [B, h, w]}``."""
    y, codes, _ = vq(x)
    return to_levels(y), codes


@torch.inference_mode()
def evaluate(vq, levels, *, batch_size: int = 256, procs=None, device=None) -> dict:
    """The figures of the module docstring over ``levels`` (``[N, C, H, W]``, a tensor or anything
    whose ``[i:j]`` gives one, such as a split's :class:`~pixelcnn.training.data.Levels`), as a flat
    record: ``images``, ``dims``, ``mse``, ``psnr``, and ``<map>_perplexity``, ``<map>_used`` per map.

    ``procs``: this process's place among several (:class:`~pixelcnn.training.runtime.Processes`;
    None: one process), each scoring its shard; ``device``: where the totals are summed."""
    from pixelcnn.training import distributed
    from pixelcnn.training.data import Levels
    from pixelcnn.training.runtime import Processes

    procs = procs or Processes()
    on = next(vq.parameters()).device
    part = distributed.shard(levels.shape[0], procs)
    mine = levels.rows(part) if isinstance(levels, Levels) else levels[part]
    names = vq.config.map_names
    error = torch.zeros((), dtype=torch.float64)
    counts = {name: torch.zeros(vq.config.codes(name), dtype=torch.float64) for name in names}
    with evaluating(vq):
        for start in range(0, mine.shape[0], batch_size):
            x = mine[start : start + batch_size].to(on).long()
            y, codes = reconstruct(vq, x)
            error += (y - x).double().pow(2).sum().cpu()
            for name in names:
                counts[name] += torch.bincount(codes[name].flatten(), minlength=counts[name].numel()).double().cpu()
    totals = distributed.sum_across(torch.cat([error.reshape(1), *counts.values()]), procs, device or on)
    n, dims = levels.shape[0], vq.dims
    mse = totals[0] / max(n * dims, 1)
    out = {"images": n, "dims": dims, "mse": mse, "psnr": psnr(mse)}
    at = 1
    for name in names:
        k = vq.config.codes(name)
        out[f"{name}_perplexity"], out[f"{name}_used"] = usage(torch.tensor(totals[at : at + k]))
        at += k
    return out


def describe(figures: dict) -> str:
    """One line of the figures of :func:`evaluate`."""
    maps = ", ".join(f"{name} codes used {figures[name + '_used']:.1%} (perplexity {figures[name + '_perplexity']:.1f})"
                     for name in ("top", "bottom") if name + "_used" in figures)
    return f"PSNR {figures['psnr']:.2f} dB (MSE {figures['mse']:.2f}), {maps}"


@torch.inference_mode()
def write_reconstructions(vq, levels: torch.Tensor, path: str | Path, per_row: int = 8) -> Path:
    """A PNG grid of ``levels`` (long ``[n, C, H, W]`` in ``[0, 256)``) and their reconstructions:
    rows of up to ``per_row`` images, each row of originals followed by its reconstructions."""
    from pixelcnn.images import save_grid

    x = levels.long().to(next(vq.parameters()).device)
    with evaluating(vq):
        y, _ = reconstruct(vq, x)
    rows = [t for start in range(0, x.shape[0], per_row) for t in (x[start:start + per_row], y[start:start + per_row])]
    pad = [r.new_full((per_row - r.shape[0], *r.shape[1:]), LEVELS - 1) for r in rows]  # white, like the grid
    grid = torch.cat([torch.cat([r, p]) for r, p in zip(rows, pad)]).to(torch.uint8).cpu()
    return save_grid(grid, path, nrow=per_row)
