"""Lossless coding of images with a model's own distributions and a range coder.

Each sub-pixel is coded with the distribution the model gives it given
everything before it (``likelihood.coding_steps``), in the sampler's order, so
a file costs about the model's ``-log2 p(x)`` bits. The coder is
`constriction <https://bamler-lab.github.io/constriction/>`_'s range coder
(Rust core, batches from NumPy).

Exactness: the decoder must compute bit-identical distributions. Encoder and
decoder therefore run one routine, :func:`_code`: the same cached steps of the
sampler (:func:`pixelcnn.sampling.samplers.walk`) over a canvas filled sub-pixel
by sub-pixel, the same batches of images, the model's own dtype, eval and
inference mode. They differ only in whether a step's symbols are read from
the image (encoding) or from the stream (decoding). constriction quantises each
distribution to integer frequencies of 24 bits (its fast quantiser, in Rust,
deterministic for the same floats), giving every level at least one, so any
image can be coded however unlikely the model finds it.

Floats can differ between machines, thread counts, libraries and pixelcnn
builds, so a file is safest decoded where it was written; a stream the decoder
cannot follow, or an image whose checksum differs, turns any disagreement into
a clear error.

Not implemented: conditional models (the condition is not stored).
"""

from __future__ import annotations

import numpy as np
import torch

from pixelcnn.compression.container import (CompressedFileError, Header, image_checksums, model_id, pack,
                                            unpack)
from pixelcnn.errors import PixelCNNError

BATCH = 64  # images coded together by default


def compress(model, images: torch.Tensor, *, batch: int = BATCH, progress: bool = False) -> bytes:
    """The bytes of a file holding ``images`` (long levels ``[N, C, H, W]``) coded with ``model``.

    ``batch``: images coded together (the decoder uses the same, read from the file).
    """
    import constriction

    _check_model(model)
    images = model.check_images(images).cpu()
    if images.shape[0] < 1:
        raise PixelCNNError("nothing to compress: no images")
    if not isinstance(batch, int) or batch < 1:
        raise PixelCNNError(f"batch must be a whole number >= 1, got {batch!r}")
    encoder = constriction.stream.queue.RangeEncoder()
    family = constriction.stream.model.Categorical(perfect=False)

    def encode(probs, first, k, ch, i, j):
        symbols = images[first : first + k, ch, i, j].numpy().astype(np.int32)
        encoder.encode(symbols, family, probs)
        return symbols

    _code(model, images.shape[0], batch, encode, progress, "compressing")
    cfg = model.config
    header = Header(model_id(model), (cfg.in_channels, *cfg.image_size), cfg.levels, images.shape[0],
                    batch, image_checksums(images))
    return pack(header, encoder.get_compressed())


DISAGREES = ("this machine or pixelcnn build computed other probabilities than the one that wrote the file "
             "(decode it where it was written)")


def decompress(model, data: bytes, *, progress: bool = False) -> torch.Tensor:
    """The images (long levels ``[N, C, H, W]``) of a file made by :func:`compress` with ``model``."""
    import constriction

    header, words = unpack(data)
    _check_model(model)
    _check_header(model, header)
    decoder = constriction.stream.queue.RangeDecoder(words)
    family = constriction.stream.model.Categorical(perfect=False)

    def decode(probs, first, k, ch, i, j):
        try:
            return decoder.decode(family, probs)
        except AssertionError:  # the stream left the range these probabilities allow
            raise CompressedFileError(f"does not decode with this model's probabilities (image {first} onwards): "
                                      f"{DISAGREES}") from None

    images = _code(model, header.count, header.batch, decode, progress, "decompressing")
    got = image_checksums(images)
    bad = [k for k, (a, b) in enumerate(zip(got, header.checksums)) if a != b]
    if bad:
        raise CompressedFileError(
            f"{len(bad)} of {header.count} images decoded differently from what was encoded (first: image {bad[0]}): "
            f"{DISAGREES}")
    return images


def ideal_bits(model, images: torch.Tensor, *, batch: int = 256) -> float:
    """``-log2 p(x)`` summed over ``images``: the size an ideal coder would reach, in bits."""
    import math

    from pixelcnn.evaluation.likelihood import log_probs

    return -float(log_probs(model, images, batch_size=batch).sum()) / math.log(2)


def _code(model, count: int, batch: int, symbols_of, progress: bool, desc: str) -> torch.Tensor:
    """The coding loop both directions share: for each batch of images, walk the sampler's
    steps; at each colour, call ``symbols_of(probs [k, L], first, k, colour, i, j) -> int32 [k]``
    with the model's distribution (a NumPy array of its dtype), which encodes the image's
    symbols or decodes them; write them into the canvas. Returns the canvas, long ``[N, C, H, W]``."""
    from pixelcnn.sampling.samplers import _remaining, walk

    cfg = model.config
    lik = model.likelihood
    c, (h, w) = cfg.in_channels, cfg.image_size
    width = c // lik.groups
    device = _device(model)
    out = torch.empty(count, c, h, w, dtype=torch.long)
    order = _remaining(torch.zeros(1, c, h, w, dtype=torch.bool), lik.groups)
    bar = _bar(progress, len(order) * -(-count // batch), desc)
    with torch.inference_mode():
        for first in range(0, count, batch):
            k = min(batch, count - first)
            canvas = torch.zeros(k, c, h, w, dtype=torch.long, device=device)
            for i, j, g, params in walk(model, canvas, None, order):
                steps = lik.coding_steps(params, g)
                probs = next(steps)  # [k, L]
                for n in range(width):
                    ch = g * width + n
                    symbols = symbols_of(probs.cpu().numpy(), first, k, ch, i, j)
                    canvas[:, ch, i, j] = torch.from_numpy(np.asarray(symbols, dtype=np.int64)).to(device)
                    if n + 1 < width:
                        probs = steps.send(canvas[:, ch, i, j])
                if bar is not None:
                    bar.update()
            out[first : first + k] = canvas.cpu()
    if bar is not None:
        bar.close()
    return out


def _bar(enabled: bool, total: int, desc: str):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="step", leave=False)


def _device(model) -> torch.device:
    return next(model.parameters()).device


def _check_model(model) -> None:
    cfg = model.config
    if model.conditional:
        raise PixelCNNError(f"this {model.name} model is conditional; compression supports unconditional models only")
    if not hasattr(model.likelihood, "coding_steps"):
        raise PixelCNNError(f"the {model.likelihood.name} likelihood does not expose coding distributions")


def _check_header(model, header: Header) -> None:
    cfg = model.config
    shape = (cfg.in_channels, *cfg.image_size)
    if header.model_id != model_id(model):
        raise CompressedFileError("made with another model: its model identity does not match this checkpoint's "
                                  "(weights or config differ); decompress with the checkpoint that compressed it")
    if header.shape != shape or header.levels != cfg.levels:
        raise CompressedFileError(f"holds {header.shape} images of {header.levels} levels, "
                                  f"the model takes {shape} with {cfg.levels}")
