"""The codes of a whole data set, every split, in one ``.npz`` file for training priors.

:func:`encode_dataset` writes, for each split ``S`` of the data set (its own
splits, and ``valid`` when the data section carves one off ``train``, as the
VQ-VAE's run did), the arrays ``top_S`` and ``bottom_S`` (a one-map VQ-VAE
writes ``bottom_S`` only), codes ``[N, h, w]`` in the narrowest integer dtype
that holds K, and ``S_labels`` ``[N]`` (int64) when the set has labels. These
are the names :mod:`pixelcnn.data.arrays` reads with ``data.field=top`` or
``data.field=bottom``, labels shared by both fields.

Everything that can be checked is checked before the first image is encoded,
one line each: an output file that exists (unless ``force``), a data set that
is missing, images of another size or number of channels than the VQ-VAE
reads. Images are read and encoded in batches; the file is written
atomically (:mod:`pixelcnn.atomic`), so it is never left half-written.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from pixelcnn.errors import ConfigError, DataError
from pixelcnn.vqvae.model import evaluating


def encode_dataset(vq, data, out: str | Path, *, force: bool = False, batch_size: int = 256,
                   progress: bool = False) -> dict:
    """Encode every split of ``data`` (a :class:`~pixelcnn.config.DataSection`, or a data set's
    name or path) with VQ-VAE ``vq`` into the ``.npz`` file ``out``; returns what was written:
    ``{"out": path, "splits": {split: images}, "maps": {map: [h, w]}, "codes": {map: K}}``."""
    from pixelcnn.config import DataSection
    from pixelcnn.data import dataset_splits
    from pixelcnn.training.data import carve_fraction, load_split

    data = DataSection(name=data) if isinstance(data, str) else data
    out = check_output(out, force)
    if data.kind != "pixels":
        raise DataError(f"a VQ-VAE encodes images; {data.name} is read as {data.kind}")
    splits = {name: load_split(data, name) for name in dataset_splits(data.name, carve_fraction(data))}
    c = vq.config
    want = (c.in_channels, *c.image_size)
    for name, split in splits.items():
        got = tuple(split.levels.shape[1:])
        if got != want:
            raise DataError(f"the {name} split of {data.name} holds images of {_shape(got)}; this VQ-VAE was "
                            f"trained on {_shape(want)}")
    arrays = {}
    for name, split in splits.items():
        for field, codes in _encode_split(vq, split, name, batch_size, progress).items():
            arrays[f"{field}_{name}"] = codes
        if split.labels is not None:
            arrays[f"{name}_labels"] = split.labels.numpy().astype(np.int64)
    from pixelcnn.images import save_npz

    save_npz(out, **arrays)
    return {"out": str(out), "splits": {name: len(split.levels) for name, split in splits.items()},
            "maps": {name: list(c.map_shape(name)) for name in c.map_names},
            "codes": {name: c.codes(name) for name in c.map_names}}


def check_output(out: str | Path, force: bool = False) -> Path:
    """``out`` as a path, if it can take the codes: an ``.npz`` file that does not exist (or
    ``force``), in a folder that exists and can be written; one line otherwise."""
    from pixelcnn.training.checkpoint import check_writable

    out = Path(out)
    if out.suffix != ".npz":
        raise ConfigError(f"the codes go to an .npz file, got {str(out)!r}")
    if out.exists() and not force:
        raise ConfigError(f"{out} exists; give --force (force=True) to replace it")
    check_writable(out, make_parents=False)
    return out


@torch.inference_mode()
def _encode_split(vq, split, name: str, batch_size: int, progress: bool) -> dict[str, np.ndarray]:
    """``{map: codes [N, h, w]}`` of one split, read and encoded ``batch_size`` images at a time."""
    from pixelcnn.data.codes import numpy_dtype

    c = vq.config
    n = len(split.levels)
    out = {m: np.zeros((n, *c.map_shape(m)), dtype=numpy_dtype(c.codes(m))) for m in c.map_names}
    device = next(vq.parameters()).device
    starts = range(0, n, batch_size)
    if progress:
        from tqdm import tqdm

        starts = tqdm(starts, desc=f"encoding {name}", unit="batch", leave=False)
    with evaluating(vq):
        for start in starts:
            codes = vq.encode(split.levels[start : start + batch_size].to(device).long())
            for m in c.map_names:
                out[m][start : start + batch_size] = codes[m].cpu().numpy()
    return out


def _shape(shape: tuple) -> str:
    return f"{shape[0]} channel{'s' if shape[0] != 1 else ''} of {shape[1]}x{shape[2]}"
