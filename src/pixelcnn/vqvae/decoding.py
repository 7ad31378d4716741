"""Which VQ-VAE decodes a prior's codes, checked against the prior before any work.

A VQ-VAE decodes an image from all of its code maps at once: ``bottom``
alone for a one-map VQ-VAE, ``top`` and ``bottom`` for a two-map one. A prior
trained with ``data.field=bottom`` (and ``data.cond_field=top`` for two maps)
therefore gives the decoder everything it needs: its samples and the maps
they were drawn given. A prior over the top map alone does not; its samples
become images through a bottom prior (``pixelcnn sample --then``).

:func:`check_decodes` is the one test of a decoder against the maps it is
given: the same map names, each of the decoder's size, with codes inside the
decoder's codebook (a prior's K is 1 + the largest code of its data unless
``data.levels`` says more, so it may be smaller than the codebook).
"""

from __future__ import annotations

from pixelcnn.errors import PixelCNNError

Maps = dict[str, tuple[int, tuple[int, int]]]  # map name -> (levels, (h, w))


def check_decodes(vq, where: str, maps: Maps, what: str) -> None:
    """One line unless the VQ-VAE ``vq`` (saved at ``where``) decodes exactly the code maps
    ``maps`` that ``what`` gives: the same map names, sizes, and levels within its codebooks."""
    _check_map_names(vq.config.map_names, where, maps, what)
    c = vq.config
    for name, (levels, size) in maps.items():
        want = (c.codes(name), tuple(c.map_shape(name)))
        if tuple(size) != want[1] or levels > want[0]:
            raise PixelCNNError(f"{what} gives {levels} codes on {_size(size)} {name} maps but the decoder "
                                f"{where} reads {want[0]} codes on {_size(want[1])} maps")


def _check_map_names(names: tuple[str, ...], where: str, maps, what: str) -> None:
    """One line unless ``maps`` names exactly the decoder's code maps ``names``."""
    if set(maps) != set(names):
        given = " and ".join(maps) or "no"
        hint = (": a top prior's samples are decoded through its bottom prior "
                "(pixelcnn sample --checkpoint TOP --then BOTTOM --decoder VQRUN)" if set(maps) == {"top"} else "")
        raise PixelCNNError(f"the decoder {where} reads {' and '.join(names)} code maps; {what} gives "
                            f"{given}{hint}")


def prior_maps(data, config) -> Maps:
    """The code maps a prior trained on ``data`` (its :class:`~pixelcnn.config.DataSection`)
    with model config ``config`` gives a decoder: its own (``data.field``) and the map it is
    conditioned on (``data.cond_field``)."""
    maps = {data.field: (config.levels, tuple(config.image_size))}
    if data.cond_field:
        spec = config.cond_map
        maps[data.cond_field] = (spec["levels"], tuple(spec["size"]))
    return maps


def load_run_decoder(data, config, device="cpu"):
    """The VQ-VAE run of ``data.decoder`` (or None), checked against the maps of the prior
    with model config ``config``; one line if it is missing, not a VQ-VAE, or does not fit."""
    if not data.decoder:
        return None
    from pixelcnn.vqvae import load

    vq = load(data.decoder, device=device)
    check_decodes(vq, data.decoder, prior_maps(data, config), "this prior")
    return vq


def _size(size) -> str:
    return f"{size[0]}x{size[1]}"
