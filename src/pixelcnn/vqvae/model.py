"""The VQ-VAE: encoder, vector quantisers and decoder, with one or two code maps.

One map (van den Oord et al. 2017, "Neural Discrete Representation Learning"):
the encoder maps an image to a bottom map at ``bottom_stride``, each vector is
quantised to its nearest code (:mod:`pixelcnn.vqvae.quantiser`), and the
decoder maps the codes back to an image.

Two maps (Razavi et al. 2019, "Generating Diverse High-Fidelity Images with
VQ-VAE-2", Figure 2a): the bottom encoder's features are encoded further, to a
top map at ``top_stride``, and quantised; the top codes are decoded to the
bottom map's size and joined with the bottom encoder's features, from which
the bottom map is quantised. So the bottom codes hold what the top codes
miss. The decoder reads the bottom codes and the top codes upsampled.

Units at the boundary: images are 8-bit levels, long ``[B, C, H, W]`` in
``[0, 256)``, scaled to ``[-1, 1]`` inside (:func:`~pixelcnn.nn.layers.scale_levels`);
code maps are long ``[B, h, w]`` in ``[0, K)``. The training loss of an image
(:class:`VQVAELoss`) is its squared error summed over its sub-pixels, in
``[-1, 1]`` units, plus beta times its commitment loss times its sub-pixels:
divided by C * H * W it is the mean squared error plus beta times the
commitment loss, the loss of the papers.

Not implemented: the papers' priors (trained here as PixelCNNs over the code
maps, ``pixelcnn train data.kind=codes``), and more than two levels.
"""

from __future__ import annotations

import contextlib
import math

import torch
from torch import nn

from pixelcnn.errors import PixelCNNError
from pixelcnn.nn.layers import scale_levels
from pixelcnn.vqvae.config import VQVAEConfig, map_size
from pixelcnn.vqvae.networks import Decoder, Encoder, Upsample
from pixelcnn.vqvae.quantiser import VectorQuantiser

LEVELS = 256  # images are 8-bit


class VQVAE(nn.Module):
    """A VQ-VAE built from a :class:`~pixelcnn.vqvae.config.VQVAEConfig`."""

    def __init__(self, config: VQVAEConfig):
        super().__init__()
        c = self.config = config
        down = int(math.log2(c.bottom_stride))  # halvings from the image to the bottom map
        self.encoder = Encoder(c.in_channels, c.hidden, c.res_blocks, c.res_hidden, down)
        self.quantisers = nn.ModuleDict({
            name: VectorQuantiser(c.codes(name), c.code_dim, decay=c.decay, restart_below=c.restart_below)
            for name in c.map_names})
        if c.maps == 2:
            up = int(math.log2(c.top_stride // c.bottom_stride))  # halvings from the bottom map to the top map
            self.top_encoder = Encoder(c.hidden, c.hidden, c.res_blocks, c.res_hidden, up)
            self.top_in = nn.Conv2d(c.hidden, c.code_dim, 1)
            self.top_decoder = Decoder(c.code_dim, c.code_dim, c.hidden, c.res_blocks, c.res_hidden, up)
            self.top_upsample = Upsample(c.code_dim, c.code_dim, c.code_dim, up)
        self.bottom_in = nn.Conv2d(c.hidden + (c.code_dim if c.maps == 2 else 0), c.code_dim, 1)
        self.decoder = Decoder(c.code_dim * c.maps, c.in_channels, c.hidden, c.res_blocks, c.res_hidden, down)

    @property
    def name(self) -> str:
        return self.config.ARCH

    @property
    def dims(self) -> int:
        """Sub-pixels per image, C * H * W."""
        c = self.config
        return c.in_channels * c.image_size[0] * c.image_size[1]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, dict, torch.Tensor]:
        """``(reconstruction, codes, commitment)`` of levels ``x`` (long ``[B, C, H, W]`` in
        ``[0, 256)``, checked by the caller): floats ``[B, C, H, W]`` in ``[-1, 1]`` units,
        ``{map: long [B, h, w]}``, and each image's commitment loss summed over the maps ``[B]``."""
        quantised, codes, commitment = self._quantise(x)
        return self._decode(quantised), codes, commitment

    def _quantise(self, x: torch.Tensor) -> tuple[dict, dict, torch.Tensor]:
        c = self.config
        features = self.encoder(scale_levels(x, LEVELS, torch.float32))  # [B, hidden, hb, wb]
        quantised, codes, commitment = {}, {}, 0.0
        if c.maps == 2:
            quantised["top"], codes["top"], commitment = self.quantisers["top"](self.top_in(self.top_encoder(features)))
            top = self.top_decoder(quantised["top"], self._sizes("top", c.bottom_stride))  # [B, D, hb, wb]
            features = torch.cat([top, features], 1)
        quantised["bottom"], codes["bottom"], bottom = self.quantisers["bottom"](self.bottom_in(features))
        return quantised, codes, commitment + bottom

    def _decode(self, quantised: dict) -> torch.Tensor:
        """Floats ``[B, C, H, W]`` from the quantised maps ``{map: [B, D, h, w]}``."""
        c = self.config
        parts = [quantised["bottom"]]
        if c.maps == 2:
            parts.insert(0, self.top_upsample(quantised["top"], self._sizes("top", c.bottom_stride)))
        return self.decoder(torch.cat(parts, 1), self._sizes("bottom", 1))

    def _sizes(self, name: str, stride: int) -> list[tuple[int, int]]:
        """The sizes of the maps between map ``name`` and the finer ``stride`` (that one
        included), finest last: what the doublings from map ``name`` crop to."""
        out, s = [], self.config.stride(name) // 2
        while s >= stride:
            out.append(tuple(map_size(n, s) for n in self.config.image_size))
            s //= 2
        return out

    def encode(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The code maps of levels ``x`` (long ``[B, C, H, W]`` in ``[0, 256)``, checked by the
        caller): ``{map: long [B, h, w]}``."""
        return self._quantise(x)[1]

    def decode(self, codes: dict[str, torch.Tensor]) -> torch.Tensor:
        """Floats ``[B, C, H, W]`` (``[-1, 1]`` units) from code maps ``{map: long [B, h, w]}``
        in ``[0, K)``, checked by the caller."""
        return self._decode({name: self.quantisers[name].lookup(codes[name]) for name in self.config.map_names})

    def check_images(self, x) -> torch.Tensor:
        """``x`` as long levels, or one line saying why it is not a batch of this VQ-VAE's images."""
        c = self.config
        want = (c.in_channels, *c.image_size)
        if not isinstance(x, torch.Tensor):
            raise PixelCNNError(f"images must be a torch.Tensor, got {type(x).__name__}")
        if x.dtype.is_floating_point or x.dtype.is_complex or x.dtype == torch.bool:
            raise PixelCNNError(f"images must hold 8-bit levels, integers in [0, {LEVELS}), got dtype {x.dtype}")
        if x.dim() != 4 or tuple(x.shape[1:]) != want:
            raise PixelCNNError(f"this VQ-VAE reads images of shape [N, {want[0]}, {want[1]}, {want[2]}], "
                                f"got {list(x.shape)}")
        if x.numel() and (int(x.min()) < 0 or int(x.max()) >= LEVELS):
            raise PixelCNNError(f"image levels must lie in [0, {LEVELS}), got values in [{int(x.min())}, {int(x.max())}]")
        return x.long()


@contextlib.contextmanager
def evaluating(vq: nn.Module):
    """``vq`` in eval mode (its codebooks do not learn) for the block, then back as it was."""
    was_training = vq.training
    vq.eval()
    try:
        yield vq
    finally:
        vq.train(was_training)


def to_levels(y: torch.Tensor) -> torch.Tensor:
    """Decoder outputs in ``[-1, 1]`` units -> the nearest 8-bit levels, long in ``[0, 256)``
    (the inverse of :func:`~pixelcnn.nn.layers.scale_levels` at 256 levels, rounded and clamped)."""
    return ((y.float() + 1) * ((LEVELS - 1) / 2)).round().clamp(0, LEVELS - 1).long()


class VQVAELoss(nn.Module):
    """The training loss as a module (so that DDP sees it; see :mod:`pixelcnn.training.loss`):
    ``forward(levels, cond)`` gives each image's loss ``[B]`` (module docstring); ``cond`` is unused."""

    def __init__(self, model: VQVAE):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, cond=None) -> torch.Tensor:
        x = x.long()
        reconstruction, _, commitment = self.model(x)
        error = (reconstruction.float() - scale_levels(x, LEVELS, torch.float32)).pow(2).flatten(1).sum(1)  # [B]
        return error + self.model.config.beta * self.model.dims * commitment
