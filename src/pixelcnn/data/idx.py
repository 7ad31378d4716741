"""IDX files, the format of MNIST and Fashion-MNIST.

Format (LeCun et al., http://yann.lecun.com/exdb/mnist/): a big-endian header
of two zero bytes, a type byte (0x08 = unsigned byte) and a byte ``d`` giving
the number of dimensions, then ``d`` big-endian uint32 sizes, then the data in
row-major order. Images have magic number 0x00000803 and sizes ``[N, H, W]``;
labels have 0x00000801 and ``[N]``. Files may be gzip-compressed (``.gz``).

Not implemented: the other IDX element types (int8, int16, int32, float32,
float64), which no image set of this kind uses.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path

import numpy as np
import torch

from pixelcnn.data.files import read_bytes
from pixelcnn.errors import DataError

UBYTE = 0x08
IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801


def parse_idx(raw: bytes, path: str | Path, magic: int | None = None) -> np.ndarray:
    """Array held in IDX content ``raw`` (read from ``path``, named in errors).

    Args:
        raw: the uncompressed file content.
        path: the file, for error messages.
        magic: the required magic number, or None for any unsigned-byte IDX.

    Returns:
        a read-only uint8 array with the sizes the header announces.
    """
    if len(raw) < 4:
        raise DataError(
            f"{path}: truncated IDX file: {len(raw)} bytes, less than the 4-byte magic number"
        )
    found = int.from_bytes(raw[:4], "big")
    if raw[0] or raw[1] or raw[2] != UBYTE or (magic is not None and found != magic):
        want = f"0x{magic:08x}" if magic is not None else "0x000008NN"
        raise DataError(f"{path}: wrong magic number 0x{found:08x}, expected {want} (IDX)")
    header = 4 + 4 * raw[3]
    if len(raw) < header:
        raise DataError(
            f"{path}: truncated IDX file: expected at least {header} header bytes, got {len(raw)}"
        )
    dims = struct.unpack(f">{raw[3]}I", raw[4:header])
    expected = header + math.prod(dims)
    if len(raw) < expected:
        raise DataError(
            f"{path}: truncated IDX file: expected {expected} bytes for sizes {list(dims)}, "
            f"got {len(raw)}"
        )
    if len(raw) > expected:
        raise DataError(
            f"{path}: {len(raw) - expected} bytes after the {expected} bytes its header announces"
        )
    return np.frombuffer(raw, np.uint8, offset=header).reshape(dims)


def read_idx(path: str | Path) -> np.ndarray:
    """Array of any unsigned-byte IDX file (plain or ``.gz``)."""
    return parse_idx(read_bytes(path), path)


def idx_images(raw: bytes, path: str | Path) -> torch.Tensor:
    """uint8 images ``[N, 1, H, W]`` from IDX image content ``raw``."""
    array = parse_idx(raw, path, IMAGES_MAGIC)
    if array.ndim != 3:
        raise DataError(f"{path}: {array.ndim} sizes in the header, expected 3 (N, H, W)")
    return torch.from_numpy(array[:, None].copy())


def idx_labels(raw: bytes, path: str | Path) -> torch.Tensor:
    """int64 labels ``[N]`` from IDX label content ``raw``."""
    array = parse_idx(raw, path, LABELS_MAGIC)
    if array.ndim != 1:
        raise DataError(f"{path}: {array.ndim} sizes in the header, expected 1 (N)")
    return torch.from_numpy(array.astype(np.int64))


def read_idx_images(path: str | Path) -> torch.Tensor:
    """uint8 images ``[N, 1, H, W]`` of an IDX image file (plain or ``.gz``)."""
    return idx_images(read_bytes(path), path)


def read_idx_labels(path: str | Path) -> torch.Tensor:
    """int64 labels ``[N]`` of an IDX label file (plain or ``.gz``)."""
    return idx_labels(read_bytes(path), path)
