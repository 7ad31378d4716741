"""Output distributions: what a network's parameter map means.

A likelihood owns everything about its parameters, and nothing else in the
library knows their layout:

- ``channels``: P, the parameter channels a network must output per position;
- ``groups``: G, how many causal channel groups the network must keep. The
  P channels form G contiguous blocks of equal width; block ``g`` may depend
  on every earlier pixel and on the channels of groups ``< g`` of the current
  pixel. The categorical has one group per colour (it draws a sub-pixel at a
  time); the logistic mixture has one group (it draws a whole pixel at once);
- ``log_prob_map(x, params)``: log-probabilities in nats, ``[B, map_channels,
  H, W]``: per sub-pixel (``map_channels = C``) when the distribution factors
  over sub-pixels, per pixel (``map_channels = 1``) when it does not. Summed,
  it is always the exact log-likelihood of the image;
- ``sample(params, group, ...)``: what one sampling step draws: the colours of
  ``group`` at one position;
- ``check_params(params)``: one clear error for a map of the wrong shape.

Use :func:`make_likelihood` to build one by name (the ``likelihood`` field of
a model config).
"""

from __future__ import annotations

from pixelcnn.errors import ConfigError
from pixelcnn.likelihoods.categorical import Categorical
from pixelcnn.likelihoods.logistic_mixture import DiscretizedLogisticMixture

LIKELIHOODS = {"categorical": Categorical, "logistic-mixture": DiscretizedLogisticMixture}


def make_likelihood(name: str, *, levels: int, colours: int, mixtures: int = 1):
    """The likelihood ``name`` for ``colours``-channel images of ``levels`` levels.

    ``mixtures`` (K) is read by the logistic mixture only.
    """
    if name == "categorical":
        return Categorical(levels, colours)
    if name == "logistic-mixture":
        return DiscretizedLogisticMixture(levels, colours, mixtures)
    raise ConfigError(f"unknown likelihood {name!r}; known: {', '.join(LIKELIHOODS)}")


__all__ = ["Categorical", "DiscretizedLogisticMixture", "LIKELIHOODS", "make_likelihood"]
