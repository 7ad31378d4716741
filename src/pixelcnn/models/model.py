"""What a user holds: a network, a likelihood and the config that made them.

Units at this boundary: images are integer levels in ``[0, L)`` of shape
``[B, C, H, W]``; log-likelihoods are natural logs (nats) per image;
bits/dim = total nats / (N * C * H * W * ln 2).
"""

from __future__ import annotations

import torch
from torch import nn

from pixelcnn.errors import PixelCNNError
from pixelcnn.labels import check_labels
from pixelcnn.nn.condition import Condition, as_condition
from pixelcnn.nn.condition_map import check_map
from pixelcnn.units import bits_per_dim


class AutoregressiveModel(nn.Module):
    """A PixelCNN-family model: ``network(x) -> params``, ``likelihood.log_prob_map(x, params)``.

    The network knows nothing of its output's layout; the likelihood
    (:mod:`pixelcnn.likelihoods`) owns it.
    """

    def __init__(self, config, network: nn.Module, likelihood):
        super().__init__()
        self.config = config
        self.network = network
        self.likelihood = likelihood

    @property
    def name(self) -> str:
        return self.config.ARCH

    @property
    def dims(self) -> int:
        """Sub-pixels per image, C * H * W."""
        return self.config.in_channels * self.config.image_size[0] * self.config.image_size[1]

    @property
    def conditional(self) -> bool:
        """Whether the model needs a condition: labels, vectors or a map."""
        cfg, encoder = self.config, getattr(self.network, "cond_map", None)
        return bool(getattr(cfg, "num_classes", 0) or getattr(cfg, "cond_dim", 0) or
                    (encoder is not None and encoder.width))

    def forward(self, x: torch.Tensor, cond=None) -> torch.Tensor:
        """The likelihood's parameter map ``[B, P, H, W]`` for every position."""
        x = self.check_images(x)
        return self.network(x, self.check_cond(cond, x.shape[0]))

    def log_prob_map(self, x: torch.Tensor, cond=None) -> torch.Tensor:
        """Log-probabilities in nats given everything before: ``[B, C, H, W]`` per sub-pixel
        for a likelihood that factors over sub-pixels (categorical), ``[B, 1, H, W]`` per
        pixel for one that does not (logistic mixture). Its sum is :meth:`log_prob`."""
        x = self.check_images(x)
        return self.trusted_log_prob_map(x, self.check_cond(cond, x.shape[0]))

    def trusted_log_prob_map(self, x: torch.Tensor, cond=None) -> torch.Tensor:
        """:meth:`log_prob_map` of levels checked already (long ``[B, C, H, W]`` in ``[0, L)``)
        and a checked condition. Nothing is checked, so nothing waits for the
        device: the training step's batches were checked when their data was read."""
        return self.likelihood.log_prob_map(x, self.network(x, cond))

    def log_prob(self, x: torch.Tensor, cond=None) -> torch.Tensor:
        """Exact log-likelihood of each image in nats: ``[B]``."""
        return self.log_prob_map(x, cond).flatten(1).sum(1)

    def bits_per_dim(self, x: torch.Tensor, cond=None) -> torch.Tensor:
        """Mean negative log-likelihood over the batch in bits per sub-pixel (a scalar)."""
        return bits_per_dim(-self.log_prob(x, cond).sum(), self.dims, x.shape[0])

    def sample(self, n: int, **kwargs) -> torch.Tensor:
        """Draw ``n`` images; see :func:`pixelcnn.sampling.sample` for the options."""
        from pixelcnn.sampling import sample

        return sample(self, n, **kwargs)

    def check_images(self, x: torch.Tensor) -> torch.Tensor:
        """Validate a batch of levels and return it as long; one clear error otherwise."""
        cfg = self.config
        want = (cfg.in_channels, *cfg.image_size)
        if not isinstance(x, torch.Tensor):
            raise PixelCNNError(f"images must be a torch.Tensor, got {type(x).__name__}")
        if x.dtype.is_floating_point or x.dtype.is_complex or x.dtype == torch.bool:
            raise PixelCNNError(
                f"images must hold integer levels in [0, {cfg.levels}), got dtype {x.dtype}; "
                "convert with pixelcnn.levels.to_levels"
            )
        if x.dim() != 4 or tuple(x.shape[1:]) != want:
            raise PixelCNNError(
                f"images must have shape [B, {want[0]}, {want[1]}, {want[2]}], got {list(x.shape)}"
            )
        # a compiled graph (train.compile) cannot branch on values: the trainer's batches are its own levels
        if x.numel() and not torch.compiler.is_compiling() and (int(x.min()) < 0 or int(x.max()) >= cfg.levels):
            raise PixelCNNError(
                f"image levels must lie in [0, {cfg.levels}), got values in "
                f"[{int(x.min())}, {int(x.max())}]"
            )
        return x.long()

    def check_cond(self, cond, batch: int) -> Condition:
        """Validate a condition (see :func:`~pixelcnn.nn.condition.as_condition`)."""
        cond = as_condition(cond)
        labels, vector = cond.labels, cond.vector
        classes = getattr(self.config, "num_classes", 0)
        dim = getattr(self.config, "cond_dim", 0)
        if classes and labels is None:
            raise PixelCNNError(f"this {self.name} model is class-conditional ({classes} classes): "
                                f"give labels, integers of shape [{batch}] in [0, {classes})")
        if dim and vector is None:
            raise PixelCNNError(f"this {self.name} model is conditioned on vectors: give cond of shape [{batch}, {dim}]")
        if labels is not None:
            if not classes:
                raise PixelCNNError(f"this {self.name} model is not class-conditional (num_classes = 0)")
            labels = check_labels(labels, n=batch, classes=classes, error=PixelCNNError)
        if vector is not None:
            if not dim:
                raise PixelCNNError(f"this {self.name} model takes no conditioning vector (cond_dim = 0)")
            if vector.shape != (batch, dim):
                raise PixelCNNError(f"conditioning vectors must have shape [{batch}, {dim}], got {list(vector.shape)}")
        return Condition(labels, vector, check_map(self.network, cond.map, batch, self.name))
