"""The base class and registry of likelihoods (see :mod:`pixelcnn.likelihoods`)."""

from __future__ import annotations

import torch
from torch import nn

from pixelcnn.errors import PixelCNNError
from pixelcnn.parts import Registry

LIKELIHOODS = Registry("likelihood", "pixelcnn.likelihoods", fixed=("levels", "colours"))


def register_likelihood(name: str):
    """Class decorator: register a :class:`Likelihood` subclass as ``name``. The class is
    constructed as ``cls(levels=L, colours=C, **options)``; options come from the config."""
    return LIKELIHOODS.register(name)


class Likelihood(nn.Module):
    """What a network's parameter map means. Subclasses set, in ``__init__``:

    - ``channels``: P, the parameter channels per position;
    - ``groups``: G, the causal channel groups (sampling steps per pixel); the P
      channels form G contiguous blocks of ``P / G``, and the C colours G blocks
      of ``C / G``: step ``g`` draws the colours of block ``g`` from the
      parameters of block ``g``, which may see the colours of blocks ``< g``;
    - ``map_channels``: the channels of :meth:`log_prob_map` (C per sub-pixel, or
      1 per pixel when the distribution does not factor over sub-pixels);

    and implement :meth:`log_prob_map` and :meth:`sample`. ``ordered`` says whether
    the distribution assumes the levels are ordered (a value scale, not labels).
    A likelihood may hold parameters: they train, save and load with the model.
    """

    name = "likelihood"  # set by register_likelihood
    ordered = False

    def __init__(self, levels: int, colours: int):
        super().__init__()
        self.levels, self.colours = levels, colours

    def extra_repr(self) -> str:
        return f"levels={self.levels}, colours={self.colours}"

    def check_params(self, params: torch.Tensor) -> None:
        """One clear error for a parameter map of the wrong shape."""
        if params.dim() < 2 or params.shape[1] != self.channels:
            raise PixelCNNError(f"{self.name} parameters must have {self.channels} channels, shape "
                                f"[B, {self.channels}, ...] ({self!r}), got {list(params.shape)}")

    def group_colours(self, group: int) -> slice:
        """The colours that sampling step ``group`` draws."""
        width = self.colours // self.groups
        return slice(group * width, (group + 1) * width)

    def group_params(self, group: int) -> slice:
        """The parameter channels of step ``group``."""
        width = self.channels // self.groups
        return slice(group * width, (group + 1) * width)

    def steps(self) -> list[tuple[slice, slice]]:
        """``(colours, parameter channels)`` of each sampling step inside a pixel."""
        return [(self.group_colours(g), self.group_params(g)) for g in range(self.groups)]

    def log_prob_map(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        """Log-probabilities in nats: ``x`` levels ``[B, C, H, W]``, ``params`` ``[B, P, H, W]``
        -> ``[B, map_channels, H, W]``, whose sum is the exact log-likelihood."""
        raise NotImplementedError

    def sample(self, params: torch.Tensor, group: int, *, given: torch.Tensor | None = None,
               known: torch.Tensor | None = None, temperature: float = 1.0,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw the colours of ``group`` at one position: ``params`` ``[B, P]`` -> levels
        ``[B, C / G]``. ``given`` ``[B, C]`` and ``known`` (bool ``[B, C]``) describe a
        partly known pixel (completion)."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        return self.log_prob_map(x, params)
