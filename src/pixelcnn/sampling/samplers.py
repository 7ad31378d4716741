"""Sampling one step at a time, slowly and obviously, or fast with caches.

Both samplers run the same loop over the model's order (rows, then columns,
then the likelihood's causal groups inside a pixel: one per colour for the
categorical, one whole pixel for the logistic mixture) and differ only in how
they get the parameters of the next step:

- ``reference``: a full forward pass of the network over the canvas, every
  step (H*W*G passes: the yardstick, kept because it is obviously right);
- ``fast``: the network's incremental pass (Ramachandran et al. 2017;
  :mod:`pixelcnn.nn.step`), ``network(canvas, cond, Step.pixel(...))``, which
  computes each activation once from per-layer caches. A network declares it
  with ``supports_cached = True``; for one that does not, "fast" falls back to
  the reference sampler and says so.

What a step draws is the likelihood's business (``likelihood.sample``). Given
the same generator both samplers return identical images, and the tests
check it.
"""

from __future__ import annotations

import logging
import operator

import torch

from pixelcnn.errors import PixelCNNError
from pixelcnn.nn import Cache, Step

METHODS = ("fast", "reference")

log = logging.getLogger("pixelcnn")


class ReferenceSteps:
    """Parameters ``[B, P]`` at (i, j) from a full forward pass over the canvas."""

    def __init__(self, network, canvas: torch.Tensor, cond):
        self.network, self.canvas, self.cond = network, canvas, cond

    def __call__(self, i: int, j: int, group: int) -> torch.Tensor:
        return self.network(self.canvas, self.cond)[:, :, i, j]


class CachedSteps:
    """Parameters ``[B, P]`` at (i, j) from the network's incremental pass.

    When the first sub-pixels are known for the whole batch (completion), one
    full pass fills every cache first, so stepping starts where sampling does.
    """

    def __init__(self, network, canvas: torch.Tensor, cond, prefilled: bool):
        self.network, self.canvas, self.cond = network, canvas, cond
        n, _, h, w = canvas.shape
        self.cache = Cache(n, h, w)
        if prefilled:
            network(canvas, cond, Step.whole(self.cache))

    def __call__(self, i: int, j: int, group: int) -> torch.Tensor:
        # a view of the network's output buffer, overwritten at the next step
        return self.network(self.canvas, self.cond, Step.pixel(self.cache, i, j, group))[:, :, 0, 0]


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
        n: how many images, a whole number >= 1, drawn together (their memory is
            estimated first: too many for the device is one clear error).
        cond: class labels ``[n]`` (long), a vector ``[n, D]``, or a dict of both;
            required by a conditional model.
        temperature: >= 0; 1 samples the model, 0 takes the most likely value
            (see the likelihood for what it scales).
        generator: the source of randomness (on the model's device).
        method: "fast" (cached; the reference sampler for a network without
            caches) or "reference" (one full pass per step).
        known, known_mask: a partial image (levels, broadcastable to
            ``[n, C, H, W]``) and a bool mask of its known sub-pixels; those are
            kept as given and only the others are drawn, each given the
            sub-pixels before it.
        progress: show a progress bar on stderr.
        on_step: called as ``on_step(i, j, group, params)`` before each draw
            (``params`` ``[n, P]``).
    """
    n = _count(n)
    from pixelcnn.training.runtime import check_forward_memory

    cfg = model.config
    canvas_bytes = 2 * n * cfg.in_channels * cfg.image_size[0] * cfg.image_size[1] * 8  # the canvas and its copy
    check_forward_memory(model, n, f"sampling {n:,} images at once", "draw fewer images per call "
                         "(pixelcnn sample draws --batch-size at a time)", canvas_bytes)
    with torch.inference_mode():  # no autograd bookkeeping: a step is many small operations
        canvas = _sample(model, n, cond, temperature, generator, method, known, known_mask, progress, on_step)
    return canvas.clone()  # an ordinary tensor again, usable with autograd


def _count(n) -> int:
    if isinstance(n, bool):
        raise PixelCNNError(f"the number of images must be a whole number >= 1, got {n!r}")
    try:
        n = operator.index(n)
    except TypeError:
        raise PixelCNNError(f"the number of images must be a whole number >= 1, got {n!r}") from None
    if n < 1:
        raise PixelCNNError(f"the number of images must be >= 1, got {n}")
    return n


def _sample(model, n, cond, temperature, generator, method, known, known_mask, progress, on_step):
    if method not in METHODS:
        raise PixelCNNError(f"unknown sampling method {method!r}; expected one of {METHODS}")
    if not temperature >= 0:
        raise PixelCNNError(f"temperature must be >= 0, got {temperature}")
    likelihood = model.likelihood
    device = next(model.parameters()).device
    canvas, mask = _start_canvas(model, n, known, known_mask, device)
    cond = model.check_cond(cond, n)
    order = _remaining(mask, likelihood.groups)
    for i, j, g, params in walk(model, canvas, cond, order, method=method, progress=progress):
        if on_step is not None:
            on_step(i, j, g, params.clone())
        colours = likelihood.group_colours(g)
        given, held = canvas[:, :, i, j], mask[:, :, i, j]
        draw = likelihood.sample(params, g, given=given, known=held if known is not None else None,
                                 temperature=temperature, generator=generator)
        if known is not None:
            draw = torch.where(held[:, colours], given[:, colours], draw)
        canvas[:, colours, i, j] = draw
    return canvas


def walk(model, canvas: torch.Tensor, cond, order, *, method: str = "fast", progress: bool = False,
         desc: str = "sampling"):
    """The model's steps over ``canvas`` (long ``[B, C, H, W]``): yields ``(i, j, group, params)``
    (``params`` ``[B, P]``, valid until the next step) for each step of ``order``, in eval mode.

    The caller writes the step's colours into the canvas before taking the next
    step. Sampling and lossless coding (:mod:`pixelcnn.compression`) share this
    loop, so both compute the same parameters from the same canvas.
    """
    network = model.network
    if method == "fast" and not getattr(network, "supports_cached", False):
        log.warning("%s has no cached sampler; sampling with the reference sampler (one full pass per step)",
                    model.name)
        method = "reference"
    was_training = model.training
    model.eval()
    try:
        if method == "fast":
            steps = CachedSteps(network, canvas, cond, prefilled=bool(order) and order[0] != (0, 0, 0))
        else:
            steps = ReferenceSteps(network, canvas, cond)
        for i, j, g in _progress(order, progress, desc):
            yield i, j, g, steps(i, j, g)
    finally:
        model.train(was_training)


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


def _remaining(mask: torch.Tensor, groups: int) -> list[tuple[int, int, int]]:
    """Steps ``(i, j, group)`` in sampling order, from the position of the first step
    not known for every image (the cached layers rely on a position's groups being
    computed in order; known ones are drawn and discarded like any other) to the last
    step unknown in some image. A step is known when all its colours are."""
    _, c, h, w = mask.shape
    everyone = mask.all(dim=0).view(groups, c // groups, h, w).all(dim=1)  # [G, H, W]
    unknown = (~everyone.permute(1, 2, 0).flatten()).nonzero()  # in sampling order
    if unknown.numel() == 0:
        return []
    first = int(unknown[0]) // groups * groups  # a position always starts at its first group
    last = int(unknown[-1]) + 1
    return [(k // (w * groups), (k // groups) % w, k % groups) for k in range(first, last)]


def _progress(order, enabled: bool, desc: str = "sampling"):
    if not enabled:
        return order
    from tqdm import tqdm

    return tqdm(order, desc=desc, unit="step", leave=False)
