"""VQ-VAEs: images to discrete code maps and back, for priors over codes.

A VQ-VAE (van den Oord et al. 2017, "Neural Discrete Representation
Learning") encodes an image into maps of discrete codes, each the index of the
nearest vector of a learned codebook, and decodes the codes back to an image.
With two maps (Razavi et al. 2019, "Generating Diverse High-Fidelity Images
with VQ-VAE-2") a top map at stride 8 holds the coarse structure and a bottom
map at stride 4 the rest. A PixelCNN trained on the code maps
(``pixelcnn train data.kind=codes``) is then a prior whose samples decode to
images.

>>> import pixelcnn
>>> vq = pixelcnn.vqvae.load("runs/vq")                    # a trained VQ-VAE     # doctest: +SKIP
>>> codes = pixelcnn.vqvae.encode(vq, images)             # {"top": [N, 4, 4], "bottom": [N, 8, 8]}  # doctest: +SKIP
>>> pixelcnn.vqvae.decode(vq, **codes)                    # levels [N, 3, 32, 32] in [0, 256)  # doctest: +SKIP

Train one with ``pixelcnn vqvae train``; ``pixelcnn vqvae encode`` writes the
codes of every split of a data set to an ``.npz`` file. ``pixelcnn.load`` loads
a VQ-VAE run too (returning the VQ-VAE); :func:`load` also says so when the run
holds another kind of model.
"""

from pixelcnn.vqvae.codes import check_codes, decode, encode
from pixelcnn.vqvae.config import PRESETS, VQVAEConfig, vqvae_config
from pixelcnn.vqvae.extract import encode_dataset
from pixelcnn.vqvae.figures import evaluate, psnr, usage
from pixelcnn.vqvae.model import VQVAE
from pixelcnn.vqvae.quantiser import VectorQuantiser


def load(path, *, weights: str = "ema", device="cpu") -> VQVAE:
    """The VQ-VAE saved in a run or checkpoint directory (see :func:`pixelcnn.load`); one line
    if the run holds another kind of model."""
    return load_run(path, weights=weights, device=device)[0]


def load_run(path, *, weights: str = "ema", device="cpu"):
    """``(vq, info)``: the VQ-VAE saved at ``path`` and its :class:`~pixelcnn.training.RunInfo`."""
    from pixelcnn.training.checkpoint import load_run as _load_run
    from pixelcnn.training.kinds import require_kind

    require_kind(path, "vqvae")
    return _load_run(path, weights=weights, device=device)


__all__ = [
    "PRESETS",
    "VQVAE",
    "VQVAEConfig",
    "VectorQuantiser",
    "check_codes",
    "decode",
    "encode",
    "encode_dataset",
    "evaluate",
    "load",
    "load_run",
    "psnr",
    "usage",
    "vqvae_config",
]
