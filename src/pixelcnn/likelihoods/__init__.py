"""Likelihoods: each owns ``log_prob(x, params)`` and ``sample(params)``."""

from pixelcnn.likelihoods.categorical import Categorical

__all__ = ["Categorical"]
