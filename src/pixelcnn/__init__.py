"""pixelcnn: autoregressive image models of the PixelCNN family.

Images are integer levels in ``[0, L)`` of shape ``[B, C, H, W]``;
log-likelihoods are in nats; bits/dim = nats / (C * H * W * ln 2).

>>> import pixelcnn
>>> model = pixelcnn.create_model("pixelcnn-seed", levels=2)
>>> model.log_prob(x)                  # [B] nats           # doctest: +SKIP
>>> model.sample(16, generator=g)      # [16, 1, 28, 28]    # doctest: +SKIP
>>> pixelcnn.load("runs/mnist5k")       # a trained model     # doctest: +SKIP
>>> pixelcnn.compress(model, x)        # bytes of about -log2 p(x) bits  # doctest: +SKIP
>>> pixelcnn.vqvae.encode(vq, x)       # a VQ-VAE's code maps  # doctest: +SKIP
"""

from pixelcnn import levels, vqvae
from pixelcnn.compression import compress, decompress
from pixelcnn.errors import CheckpointError, ConfigError, DataError, PixelCNNError
from pixelcnn.models import build_model, create_model, list_models


def load(path, *, weights: str = "ema", device="cpu"):
    """The model saved in a run or checkpoint directory (see :func:`pixelcnn.training.checkpoint.load`):
    an autoregressive model, or the :class:`~pixelcnn.vqvae.VQVAE` of a ``pixelcnn vqvae train`` run.

    ``device``: "cpu", "cuda", "cuda:N", "mps" or "auto"; one that this machine lacks is a ConfigError."""
    from pixelcnn.training.checkpoint import load as _load

    return _load(path, weights=weights, device=device)


def load_run(path, *, weights: str = "ema", device="cpu"):
    """``(model, info)``: the model saved in a run or checkpoint directory and what its run
    was (:class:`pixelcnn.training.RunInfo`: the checkpoint, the weights loaded, the run config)."""
    from pixelcnn.training.checkpoint import load_run as _load_run

    return _load_run(path, weights=weights, device=device)


__all__ = [
    "CheckpointError",
    "ConfigError",
    "DataError",
    "PixelCNNError",
    "build_model",
    "compress",
    "decompress",
    "create_model",
    "levels",
    "list_models",
    "load",
    "load_run",
    "vqvae",
]


def _version() -> str:
    """The installed distribution's version (pyproject.toml's ``version``, the one place it is set)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pixelcnn")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"


__version__ = _version()
