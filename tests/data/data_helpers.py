"""Helpers for the data tests: the shared real data and tiny file writers."""

from __future__ import annotations

import gzip
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
