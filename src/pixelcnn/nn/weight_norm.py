"""Weight normalisation with data-dependent initialisation (Salimans & Kingma 2016).

A layer's weight is ``w = g * v / ||v||``, with one gain ``g`` per output
channel and the norm taken over everything else. Nothing depends on a batch
or on other positions, so unlike BatchNorm it never leaks future pixels, and
a forward pass never changes a parameter.

The data-dependent initialisation is a separate, explicit call made once
before training, :func:`initialize_from_data`: one forward pass of a real
batch under ``no_grad`` in which every weight-normalised layer, in the order
the pass reaches it, sets ``g`` and its bias so that its outputs over the
batch have mean 0 and standard deviation ``scale`` per channel (times
the layer's ``init_scale`` if it has one: 0.1 for the last convolution of a
residual block, as in the paper); later layers
then see the initialised outputs. It deliberately mixes positions and images
(batch statistics), which is why it is never part of ``forward``.

A layer takes part by holding a :class:`WeightNorm` in an attribute named
``weight_norm`` and a bias in ``bias``; its output has channels on dim 1 and
is affine in ``(g, bias)`` as ``conv(x, v / ||v||) * g + bias``.
"""

from __future__ import annotations

import torch
from torch import nn


class WeightNorm(nn.Module):
    """``g * v / ||v||`` with the norm over every dim of ``v`` except ``dim``
    (the output channels: 0 for a convolution's ``[out, in, kh, kw]`` weight,
    1 for a transposed convolution's ``[in, out, kh, kw]``)."""

    def __init__(self, channels: int, dim: int = 0):
        super().__init__()
        self.dim = dim
        self.gain = nn.Parameter(torch.ones(channels))

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        dims = [d for d in range(v.dim()) if d != self.dim]
        # clamped so an all-zero v (a zeroed output layer) gives zero weights, not NaN
        norm = torch.linalg.vector_norm(v, dim=dims, keepdim=True).clamp_min(1e-12)
        shape = [1] * v.dim()
        shape[self.dim] = -1
        return v * (self.gain.view(shape) / norm)


def weight_normed_layers(model: nn.Module) -> list[nn.Module]:
    """Every module of ``model`` that takes part in weight normalisation."""
    return [m for m in model.modules() if isinstance(getattr(m, "weight_norm", None), WeightNorm)]


DEAD = 1e-6  # below this standard deviation over the batch a channel counts as constant


@torch.no_grad()
def initialize_from_data(model: nn.Module, x: torch.Tensor, cond=None, scale: float = 1.0) -> int:
    """Set the gains and biases of ``model``'s weight-normalised layers from one batch.

    ``model`` is called as ``model(x)`` (or ``model(x, cond)`` when ``cond`` is
    given): an :class:`~pixelcnn.models.AutoregressiveModel` with levels
    ``[B, C, H, W]``, or a network. Run it once, before training, on a batch
    large enough for stable statistics (the paper uses a few hundred images).
    Dropout is off during the pass. Returns the number of layers initialised.
    """
    layers = weight_normed_layers(model)
    pending = {}  # id(layer) -> its hook handle, until the pass reaches it

    def initialise(module, inputs, output):
        dims = [d for d in range(output.dim()) if d != 1]
        mean = output.mean(dim=dims)
        target = scale * getattr(module, "init_scale", 1.0)  # a layer may ask for smaller outputs
        std = output.std(dim=dims, unbiased=False)
        # a channel constant over the batch (a map too small for its kernel, say) has no scale to
        # set: it keeps the target gain, where 1 / std would multiply it by up to 1e8 a layer
        gain = torch.where(std > DEAD, target / std.clamp_min(DEAD), torch.full_like(std, target))
        module.weight_norm.gain.copy_(gain)
        module.bias.copy_(-mean * gain)
        pending.pop(id(module)).remove()  # a layer called twice is initialised once
        shape = [1] * output.dim()
        shape[1] = -1
        return (output - mean.view(shape)) * gain.view(shape)

    for layer in layers:
        if layer.bias is None:
            raise ValueError(f"{type(layer).__name__} has weight normalisation but no bias to initialise")
        layer.weight_norm.gain.fill_(1.0)
        layer.bias.zero_()
        pending[id(layer)] = layer.register_forward_hook(initialise)
    was_training = model.training
    model.eval()
    try:
        model(x) if cond is None else model(x, cond)
    finally:
        model.train(was_training)
        for handle in pending.values():  # layers the pass did not reach keep g = 1, bias = 0
            handle.remove()
    return len(layers) - len(pending)
