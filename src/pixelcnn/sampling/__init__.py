"""Exact autoregressive sampling: a reference sampler and a cached fast one."""

from pixelcnn.sampling.samplers import METHODS, sample

__all__ = ["METHODS", "sample"]
