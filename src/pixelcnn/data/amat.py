"""``.amat`` text files of statically binarized MNIST.

Format (Larochelle & Murray 2011, after Salakhutdinov & Murray 2008): one
image a line, ``H * W`` values ``0`` or ``1`` separated by white space, in
row-major order; plain text or gzip-compressed (``.gz``). Blank lines are
ignored. Values are stored here as 0 and 255 (see :mod:`pixelcnn.data.dataset`).

The common layout (single-character values, spaces) is parsed without a
Python loop per value; any other spelling (``0.0``, ``1e0``) falls back to a
slower general parser with the same checks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from pixelcnn.data.files import read_bytes
from pixelcnn.errors import DataError

_SPACE = b" \t\r"


def read_amat(path: str | Path, image_size: tuple[int, int] = (28, 28)) -> torch.Tensor:
    """Binary images of an ``.amat`` file.

    Args:
        path: the file, plain or ``.gz``.
        image_size: ``(H, W)``; each line must hold ``H * W`` values.

    Returns:
        uint8 tensor ``[N, 1, H, W]`` with values 0 and 255.
    """
    raw = read_bytes(path)
    size = image_size[0] * image_size[1]
    fast = not raw.translate(None, b"01\n" + _SPACE) and not any(
        pair in raw for pair in (b"00", b"01", b"10", b"11")
    )
    bits = _parse_fast(raw, path, size) if fast else _parse_slow(raw, path, size)
    return torch.from_numpy(bits.reshape(-1, 1, *image_size) * np.uint8(255))


def _parse_fast(raw: bytes, path: str | Path, size: int) -> np.ndarray:
    """uint8 ``[N, size]`` of 0/1 from content of single-character values."""
    rows = []
    for number, line in enumerate(raw.split(b"\n"), start=1):
        row = line.translate(None, _SPACE)
        if row:
            _check_count(len(row), size, path, number)
            rows.append(row)
    _check_any(rows, path)
    return np.frombuffer(b"".join(rows), np.uint8).reshape(-1, size) - np.uint8(ord("0"))


def _parse_slow(raw: bytes, path: str | Path, size: int) -> np.ndarray:
    """uint8 ``[N, size]`` of 0/1 from content spelled in any numeric form."""
    rows = []
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            row = np.array(line.split(), dtype=np.float64)
        except ValueError:
            raise DataError(f"{path}: line {number} holds a value that is not a number") from None
        _check_count(len(row), size, path, number)
        if not np.isin(row, (0.0, 1.0)).all():
            bad = row[~np.isin(row, (0.0, 1.0))][0]
            raise DataError(
                f"{path}: line {number} holds the value {bad:g}; binary images need 0 or 1"
            )
        rows.append(row.astype(np.uint8))
    _check_any(rows, path)
    return np.stack(rows)


def _check_count(count: int, size: int, path: str | Path, number: int) -> None:
    if count != size:
        raise DataError(f"{path}: line {number} has {count} values, expected {size}")


def _check_any(rows: list, path: str | Path) -> None:
    if not rows:
        raise DataError(f"{path}: no images (the file is empty)")
