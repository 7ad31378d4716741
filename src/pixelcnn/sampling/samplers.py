"""Sampling one sub-pixel at a time, slowly and obviously, or fast with caches.

Both samplers run the same loop over sub-pixels in the model's order (rows,
then columns, then colours) and differ only in how they get the distribution
of the next sub-pixel:

- ``reference``: a full forward pass of the network over the canvas, every
  step (H*W*C passes: the yardstick, kept because it is obviously right);
- ``fast``: the network's incremental ``step`` (Ramachandran et al. 2017),
  which computes each activation once from per-layer caches.

Given the same generator they return identical images, and the tests check it.
"""

from __future__ import annotations

import torch

from pixelcnn.errors import PixelCNNError
from pixelcnn.nn import Cache, Step

METHODS = ("fast", "reference")


class ReferenceSteps:
    """Distribution of sub-pixel (c, i, j) from a full forward pass over the canvas."""

    def __init__(self, network, canvas: torch.Tensor, cond):
        self.network, self.canvas, self.cond = network, canvas, cond

    def __call__(self, i: int, j: int, c: int) -> torch.Tensor:
        return self.network(self.canvas, self.cond)[:, c, :, i, j]


class CachedSteps:
    """Distribution of sub-pixel (c, i, j) from the network's incremental step.

    When the first sub-pixels are known for the whole batch (completion), one
    full pass fills every cache first, so stepping starts where sampling does.
    """

    def __init__(self, network, canvas: torch.Tensor, cond, prefilled: bool):
        self.network, self.canvas, self.cond = network, canvas, cond
        n, _, h, w = canvas.shape
        self.cache = Cache(n, h, w)
        if prefilled:
            network(canvas, cond, Step.whole(self.cache))

    def __call__(self, i: int, j: int, c: int) -> torch.Tensor:
        # a view of the network's output buffer, overwritten at the next step
        return self.network.step(self.canvas, i, j, c, self.cache, self.cond)


def sample(
    model,
    n: int,
    *,
    cond=None,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
    method: str = "fast",
    known: torch.Tensor | None = None,
    known_mask: torch.Tensor | None = None,
    progress: bool = False,
    on_step=None,
) -> torch.Tensor:
    """Draw ``n`` images from ``model``: long levels ``[n, C, H, W]``.

    Args:
        cond: class labels ``[n]`` (long), a vector ``[n, D]``, or a dict of both.
        temperature: divides the logits; 0 takes the most likely level.
        generator: the source of randomness (on the model's device).
        method: "fast" (cached) or "reference" (one full pass per sub-pixel).
        known, known_mask: a partial image (levels, broadcastable to
            ``[n, C, H, W]``) and a bool mask of its known sub-pixels; those are
            kept as given and only the others are drawn.
        progress: show a progress bar on stderr.
        on_step: called as ``on_step(i, j, c, params)`` before each draw.
    """
    with torch.inference_mode():  # no autograd bookkeeping: a step is many small operations
        canvas = _sample(model, n, cond, temperature, generator, method, known, known_mask, progress, on_step)
    return canvas.clone()  # an ordinary tensor again, usable with autograd


def _sample(model, n, cond, temperature, generator, method, known, known_mask, progress, on_step):
    if method not in METHODS:
        raise PixelCNNError(f"unknown sampling method {method!r}; expected one of {METHODS}")
    if not temperature >= 0:
        raise PixelCNNError(f"temperature must be >= 0, got {temperature}")
    cfg = model.config
    device = next(model.parameters()).device
    canvas, mask = _start_canvas(model, n, known, known_mask, device)
    cond = model.check_cond(cond, n)
    order = _remaining(mask, cfg.in_channels)
    was_training = model.training
    model.eval()
    try:
        if method == "fast":
            steps = CachedSteps(model.network, canvas, cond, prefilled=len(order) < canvas[0].numel())
        else:
            steps = ReferenceSteps(model.network, canvas, cond)
        for i, j, c in _progress(order, progress):
            params = steps(i, j, c)
            if on_step is not None:
                on_step(i, j, c, params.clone())
            draw = model.likelihood.sample(params, temperature=temperature, generator=generator)
            if known is not None:
                draw = torch.where(mask[:, c, i, j], canvas[:, c, i, j], draw)
            canvas[:, c, i, j] = draw
    finally:
        model.train(was_training)
    return canvas


def _start_canvas(model, n, known, known_mask, device):
    """The canvas (long ``[n, C, H, W]``) and the bool mask of known sub-pixels."""
    shape = (n, model.config.in_channels, *model.config.image_size)
    if (known is None) != (known_mask is None):
        raise PixelCNNError("give both known and known_mask, or neither")
    if known is None:
        return torch.zeros(shape, dtype=torch.long, device=device), torch.zeros(shape, dtype=torch.bool, device=device)
    try:
        known = torch.as_tensor(known, device=device).expand(shape)
        mask = torch.as_tensor(known_mask, device=device).expand(shape)
    except RuntimeError:
        raise PixelCNNError(
            f"known {list(known.shape)} and known_mask {list(known_mask.shape)} must broadcast to {list(shape)}"
        ) from None
    if mask.dtype != torch.bool:
        raise PixelCNNError(f"known_mask must be a bool tensor, got {mask.dtype}")
    canvas = torch.where(mask, known, torch.zeros_like(known))
    return model.check_images(canvas).clone(), mask


def _remaining(mask: torch.Tensor, channels: int) -> list[tuple[int, int, int]]:
    """Sub-pixels ``(i, j, c)`` in sampling order, from the position of the first sub-pixel
    not known for every image (the cached layers rely on a position's colours being
    computed in order; known ones are drawn and discarded like any other) to the last
    sub-pixel unknown in some image."""
    everyone = mask.all(dim=0).permute(1, 2, 0).flatten()  # [H*W*C] in sampling order
    unknown = (~everyone).nonzero()
    if unknown.numel() == 0:
        return []
    _, h, w = mask.shape[1:]
    first = int(unknown[0]) // channels * channels  # a position always starts at its first colour
    last = int(unknown[-1]) + 1
    return [(k // (w * channels), (k // channels) % w, k % channels) for k in range(first, last)]


def _progress(order, enabled: bool):
    if not enabled:
        return order
    from tqdm import tqdm

    return tqdm(order, desc="sampling", unit="sub-pixel", leave=False)
