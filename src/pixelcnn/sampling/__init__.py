"""Exact autoregressive sampling: a reference sampler and a cached fast one."""

from pixelcnn.sampling.batches import per_class_labels, sample_in_batches
from pixelcnn.sampling.samplers import METHODS, sample
from pixelcnn.sampling.two_level import sample_two_level

__all__ = ["METHODS", "per_class_labels", "sample", "sample_in_batches", "sample_two_level"]
