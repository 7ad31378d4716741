"""Two-level sampling, as VQ-VAE-2 samples (Razavi et al. 2019): top codes from one prior,
then bottom codes from a second prior given them (trained with ``data.cond_field=top``).

Both levels use the cached sampler, so no level runs a full pass per code. A VQ-VAE's
decoder then turns the two maps into images (:mod:`pixelcnn.vqvae`).
"""

from __future__ import annotations

import torch

from pixelcnn.errors import PixelCNNError
from pixelcnn.sampling.batches import sample_in_batches


def check_pair(top, bottom) -> None:
    """One line unless ``bottom`` is conditioned on code maps of the size and levels ``top`` draws."""
    from pixelcnn.nn.condition_map import CodeMap

    encoder = getattr(bottom.network, "cond_map", None)
    if not isinstance(encoder, CodeMap):
        raise PixelCNNError(f"the second prior ({bottom.name}) is not conditioned on a code map; "
                            f"train it with data.cond_field naming the first prior's codes")
    if top.config.in_channels != 1:
        raise PixelCNNError(f"the first prior draws {top.config.in_channels} code maps per image; "
                            f"the second prior reads one")
    size = tuple(top.config.image_size)
    if (encoder.levels, encoder.size) != (top.config.levels, size):
        raise PixelCNNError(f"the second prior reads {encoder.levels} codes on {encoder.size[0]}x{encoder.size[1]} "
                            f"maps but the first draws {top.config.levels} codes on {size[0]}x{size[1]} maps")


def sample_two_level(top, bottom, n: int, *, labels: torch.Tensor | None = None, batch_size: int = 64,
                     **options) -> dict[str, torch.Tensor]:
    """``n`` top code maps from ``top``, then ``n`` bottom maps from ``bottom`` given them:
    ``{"top": [n, h, w], "bottom": [n, H, W]}``, long, on the CPU.

    ``labels`` ``[n]`` go to each prior that is class-conditional; ``options``
    (``temperature``, ``generator``, ``method``, ``progress``) to both samplers, top first.
    """
    check_pair(top, bottom)
    takers = [m for m in (top, bottom) if getattr(m.config, "num_classes", 0)]
    if labels is not None and not takers:
        raise PixelCNNError("neither prior is class-conditional; drop the labels")
    top_codes = sample_in_batches(top, n, cond=labels if top in takers else None, batch_size=batch_size,
                                  **options)[:, 0]
    cond = {"map": top_codes, "labels": labels if bottom in takers else None}
    bottom_codes = sample_in_batches(bottom, n, cond=cond, batch_size=batch_size, **options)[:, 0]
    return {"top": top_codes, "bottom": bottom_codes}
