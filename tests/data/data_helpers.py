"""Helpers for the data tests: small files in the real formats, and the shared real data.

The writers make files in the formats of the registered sets (IDX, gzip-compressed under
MNIST's names; ``.amat`` text; CIFAR-10 binary batch records), so every reader and the
registry's lookup run on generated files wherever the tests run. :func:`shared` is for
the few tests marked ``real_data``: what only the real files can show (their checksums,
counts and first labels); they skip where ``../shared/data`` is absent.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest

SHARED = (Path(__file__).parents[2] / ".." / "shared" / "data").resolve()


def shared(*parts: str) -> Path:
    """Path under the shared real-data folder; skips the test when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not available: {path} is absent (see ../shared/data/README.md)")
    return path


def idx_bytes(array: np.ndarray) -> bytes:
    """IDX encoding of a uint8 array (header type 0x08)."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def write(path: Path, data: bytes, compress: bool = False) -> Path:
    """Write ``data`` to ``path`` (gzip-compressed to ``path.gz`` when asked)."""
    if compress:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


def digits(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random MNIST-shaped images uint8 ``[n, 28, 28]`` and labels uint8 ``[n]`` in 0..9."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n).astype(np.uint8)


def write_idx_set(folder: Path, monkeypatch, splits: dict, name: str = "mnist") -> Path:
    """The IDX files of registered set ``name`` (``mnist`` or ``fashion-mnist``) for ``splits``
    (split -> (images ``[N, 28, 28]``, labels ``[N]``)), gzip-compressed under the official file
    names in ``folder``. The registry's checksums, split sizes and mirrors are swapped for these
    files' own (``monkeypatch``), so that ``load_dataset`` reads and verifies them as it does
    the real ones, and a download can only reach 127.0.0.1."""
    from pixelcnn.data import mnist

    folder.mkdir(parents=True, exist_ok=True)
    source = mnist.IDX_SETS[name]
    sha256, md5 = dict(source.sha256), dict(source.gz_md5)
    for split, (images, labels) in splits.items():
        images_file, labels_file, _ = mnist.IDX_SPLITS[split]
        for filename, array in ((images_file, images), (labels_file, labels)):
            raw = idx_bytes(np.asarray(array, np.uint8))
            sha256[filename] = hashlib.sha256(raw).hexdigest()
            md5[filename] = hashlib.md5(write(folder / filename, raw, compress=True).read_bytes()).hexdigest()
        monkeypatch.setitem(mnist.IDX_SPLITS, split, (images_file, labels_file, len(images)))
    swapped = dataclasses.replace(source, mirrors=("http://127.0.0.1:9/",), sha256=sha256, gz_md5=md5)
    monkeypatch.setitem(mnist.IDX_SETS, name, swapped)
    return folder


def amat_text(bits: np.ndarray, sep: str = " ") -> bytes:
    """``.amat`` content: one line per image of ``bits`` ``[N, H*W]`` (0/1)."""
    return "".join(sep.join(str(v) for v in row) + " \n" for row in bits).encode()


def cifar_records(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random CIFAR-10 pixels uint8 ``[n, 3072]`` (R, G, B planes) and labels ``[n]`` in 0..9."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 3072), dtype=np.uint8), rng.integers(0, 10, n).astype(np.uint8)


def write_cifar_binary(path: Path, pixels: np.ndarray, labels: np.ndarray) -> Path:
    """A CIFAR-10 binary batch: per record one label byte, then the 3072 pixel bytes."""
    path.write_bytes(np.concatenate([labels[:, None], pixels], axis=1).tobytes())
    return path
