"""Output distributions: what a network's parameter map means.

A likelihood (:class:`Likelihood`, a ``torch.nn.Module``) owns everything about
its parameters, and nothing else in the library knows their layout:

- ``channels``: P, the parameter channels a network must output per position;
- ``groups``: G, how many causal channel groups the network must keep. The
  P channels form G contiguous blocks of equal width; block ``g`` may depend
  on every earlier pixel and on the channels of groups ``< g`` of the current
  pixel. The categorical has one group per colour (it draws a sub-pixel at a
  time); the logistic mixture has one group (it draws a whole pixel at once).
  :meth:`~Likelihood.group_colours` and :meth:`~Likelihood.group_params` say
  which colours and parameter channels belong to group ``g``;
- ``log_prob_map(x, params)``: log-probabilities in nats, ``[B, map_channels,
  H, W]``: per sub-pixel (``map_channels = C``) when the distribution factors
  over sub-pixels, per pixel (``map_channels = 1``) when it does not. Summed,
  it is always the exact log-likelihood of the image;
- ``sample(params, group, ...)``: what one sampling step draws: the colours of
  ``group`` at one position;
- ``check_params(params)``: one clear error for a map of the wrong shape;
- ``ordered``: whether the levels must be ordered values (the logistic
  mixture) or may be labels (the categorical).

A model config names its likelihood by a spec: ``"categorical"`` or
``{"name": "logistic-mixture", "mixtures": 10}``; :func:`make_likelihood`
builds one. :func:`register_likelihood` adds a class, and other packages add
theirs through the ``pixelcnn.likelihoods`` entry-point group.
"""

from __future__ import annotations

from pixelcnn.likelihoods.base import LIKELIHOODS, Likelihood, register_likelihood
from pixelcnn.likelihoods.categorical import Categorical
from pixelcnn.likelihoods.logistic_mixture import DiscretizedLogisticMixture


def make_likelihood(spec, *, levels: int, colours: int) -> Likelihood:
    """The likelihood ``spec`` names (a name, or a mapping with a name and options) for
    ``colours``-channel images of ``levels`` levels."""
    return LIKELIHOODS.build(spec, levels=levels, colours=colours)


def list_likelihoods() -> list[str]:
    """Names of the registered likelihoods, plug-ins included."""
    return LIKELIHOODS.names()


__all__ = ["Categorical", "DiscretizedLogisticMixture", "LIKELIHOODS", "Likelihood", "list_likelihoods",
           "make_likelihood", "register_likelihood"]
