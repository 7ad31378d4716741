"""A plug-in package for the tests, installed by tests/test_plugins.py through entry points
on a temporary path (never imported from here directly):

- ``pixelcnn.likelihoods``: ``biased-categorical``, a categorical whose logits get a learned
  bias per level: a likelihood that holds a parameter;
- ``pixelcnn.models``: ``register`` adds the preset ``tiny-plugin`` (a small
  ``pixelcnn-seed`` network with that likelihood).
"""

import torch
import torch.nn.functional as F
from torch import nn

from pixelcnn.likelihoods import Likelihood


class BiasedCategorical(Likelihood):
    """Softmax over ``levels`` per sub-pixel of ``logits + bias``, ``bias`` ``[L]`` learned."""

    def __init__(self, levels: int, colours: int, spread: float = 0.5):
        super().__init__(levels, colours)
        self.channels, self.groups, self.map_channels = colours * levels, colours, colours
        g = torch.Generator().manual_seed(0)
        self.bias = nn.Parameter(torch.randn(levels, generator=g) * spread)

    def log_prob_map(self, x, params):
        self.check_params(params)
        b, _, h, w = params.shape
        logits = params.float().view(b, self.colours, self.levels, h, w) + self.bias.view(1, 1, -1, 1, 1).to(params.dtype)
        return F.log_softmax(logits, dim=2).gather(2, x.long().unsqueeze(2)).squeeze(2)

    def sample(self, params, group, *, given=None, known=None, temperature=1.0, generator=None):
        logits = params[:, self.group_params(group)] + self.bias.to(params.dtype)  # [B, L]
        if temperature == 0:
            return logits.argmax(-1, keepdim=True)
        cdf = F.softmax(logits / temperature, dim=-1).cumsum(-1)
        u = torch.rand((cdf.shape[0], 1), generator=generator, dtype=cdf.dtype, device=cdf.device)
        return torch.searchsorted(cdf, u).clamp_(max=self.levels - 1)


def register():
    from pixelcnn.models import preset_config, register_model

    config = preset_config("pixelcnn-seed", hidden=12, layers=1, likelihood="biased-categorical")
    register_model("tiny-plugin", config, "a plug-in's preset: pixelcnn-seed, 12 channels, a learned-bias categorical")
