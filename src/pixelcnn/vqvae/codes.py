"""Images to code maps and back: :func:`encode` and :func:`decode`, in batches.

``encode(vq, images)`` gives ``{"top": [N, h, w], "bottom": [N, h, w]}`` (a
one-map VQ-VAE gives ``bottom`` only), long codes in ``[0, K)`` of each map;
``decode(vq, top=..., bottom=...)`` gives images as 8-bit levels, long
``[N, C, H, W]`` in ``[0, 256)``. Both run in batches of ``batch_size`` on the
VQ-VAE's device and return tensors on the CPU. What they are given is checked
first, with one line for each fault: images of another shape or range than
the VQ-VAE's, a map missing or too many, a map of another size than the
VQ-VAE's, codes outside a codebook's ``[0, K)``.
"""

from __future__ import annotations

import torch

from pixelcnn.errors import PixelCNNError
from pixelcnn.vqvae.model import evaluating, to_levels


@torch.inference_mode()
def encode(vq, images: torch.Tensor, *, batch_size: int = 256) -> dict[str, torch.Tensor]:
    """The code maps of ``images`` (integer levels ``[N, C, H, W]`` in ``[0, 256)``): ``{map: long [N, h, w]}``."""
    images = vq.check_images(images)
    _check_batch(batch_size)
    device = next(vq.parameters()).device
    with evaluating(vq):
        parts = [vq.encode(images[i : i + batch_size].to(device)) for i in range(0, images.shape[0], batch_size)]
    return {name: _join([p[name] for p in parts], (0, *vq.config.map_shape(name)))
            for name in vq.config.map_names}


@torch.inference_mode()
def decode(vq, *, top: torch.Tensor | None = None, bottom: torch.Tensor | None = None,
           batch_size: int = 256) -> torch.Tensor:
    """Images, long levels ``[N, C, H, W]`` in ``[0, 256)``, from code maps ``[N, h, w]`` of every
    map of ``vq`` (``bottom``, and ``top`` for a two-map VQ-VAE)."""
    codes = check_codes(vq, {"top": top, "bottom": bottom})
    _check_batch(batch_size)
    device = next(vq.parameters()).device
    with evaluating(vq):
        parts = [to_levels(vq.decode({k: v[i : i + batch_size].to(device) for k, v in codes.items()}))
                 for i in range(0, codes["bottom"].shape[0], batch_size)]
    c = vq.config
    return _join(parts, (0, c.in_channels, *c.image_size))


def check_codes(vq, maps: dict) -> dict[str, torch.Tensor]:
    """``maps`` (``{name: codes or None}``) as long tensors, one for each map of ``vq`` and no
    other, of its size and in its codebooks' range; one line naming the first fault."""
    c = vq.config
    given = {name: value for name, value in maps.items() if value is not None}
    extra = sorted(set(given) - set(c.map_names))
    if extra:
        raise PixelCNNError(f"this VQ-VAE has {'maps ' + ' and '.join(c.map_names) if c.maps == 2 else 'one map, bottom'}; "
                            f"it has no {', '.join(extra)} map")
    missing = [name for name in c.map_names if name not in given]
    if missing:
        raise PixelCNNError(f"this VQ-VAE decodes {' and '.join(c.map_names)} codes; give {', '.join(missing)}")
    out, n = {}, None
    for name in c.map_names:
        codes = given[name]
        h, w = c.map_shape(name)
        k = c.codes(name)
        if not isinstance(codes, torch.Tensor) or codes.dtype.is_floating_point or codes.dtype.is_complex \
                or codes.dtype == torch.bool:
            what = codes.dtype if isinstance(codes, torch.Tensor) else type(codes).__name__
            raise PixelCNNError(f"{name} codes must be an integer torch.Tensor, got {what}")
        if codes.dim() != 3 or tuple(codes.shape[1:]) != (h, w):
            raise PixelCNNError(f"{name} codes must have shape [N, {h}, {w}] (this VQ-VAE's {name} map), "
                                f"got {list(codes.shape)}")
        if n is not None and codes.shape[0] != n:
            raise PixelCNNError(f"the code maps hold different numbers of images: top {n}, bottom {codes.shape[0]}")
        n = codes.shape[0]
        if codes.numel() and (int(codes.min()) < 0 or int(codes.max()) >= k):
            raise PixelCNNError(f"{name} codes must lie in [0, {k}) (the {name} codebook's size), got values in "
                                f"[{int(codes.min())}, {int(codes.max())}]")
        out[name] = codes.long()
    return out


def _check_batch(batch_size: int) -> None:
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise PixelCNNError(f"batch_size must be a whole number >= 1, got {batch_size!r}")


def _join(parts: list[torch.Tensor], empty: tuple) -> torch.Tensor:
    """The batches' results, on the CPU, one after the other (``empty`` shape when there are none)."""
    return torch.cat([p.cpu() for p in parts]) if parts else torch.zeros(empty, dtype=torch.long)
