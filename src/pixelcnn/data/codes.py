"""Codes: integer maps already in ``[0, K)``, such as the latent codes of a VQ-VAE.

``data.kind=codes`` reads a ``.npy`` or ``.npz`` file (naming of arrays,
splits, labels and ``data.field``: :mod:`pixelcnn.data.arrays`) whose arrays
have any integer dtype and shape ``[N, H, W]`` or ``[N, C, H, W]`` (channels
first; no other layout is guessed). Codes are not quantised, resized or
converted: they are the levels the model reads.

K, the number of levels, is ``data.levels`` when given, which must then
cover every code of the file; else 1 + the largest code of the file, over
every array the field names (all splits, so that K does not depend on which
split a rare code fell in), and at least 2. K is at most 65,536. Codes are
held in :func:`pixelcnn.levels.level_dtype` of K (uint8, int16 or int32).

The smallest and largest code of a file are read once per file version
(path, size, modification time) and kept, so the splits of one file are
checked against K without reading it again; a ``.npy`` file is scanned
memory-mapped, in chunks.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch

from pixelcnn.errors import DataError
from pixelcnn.levels import MAX_LEVELS, level_dtype

_CHUNK = 1 << 24  # codes per step of a scan: bounds the temporaries of min / max


def code_layout(shape: tuple, dtype: np.dtype, where: str) -> str:
    """How an integer array of ``shape`` holds codes: "nhw" or "nchw" (else DataError)."""
    if not np.issubdtype(dtype, np.integer):
        raise DataError(f"{where}: dtype {dtype}; codes must be integers (data.kind=codes), "
                        f"not {'floats' if np.issubdtype(dtype, np.floating) else dtype}")
    if len(shape) not in (3, 4) or min(shape[1:]) < 1:
        raise DataError(f"{where}: shape {list(shape)}; codes must be shaped [N, H, W] or [N, C, H, W]")
    return "nhw" if len(shape) == 3 else "nchw"


def to_codes(array: np.ndarray, levels: int, where: str) -> torch.Tensor:
    """Integer codes ``[N, H, W]`` or ``[N, C, H, W]`` in ``[0, levels)`` → tensor ``[N, C, H, W]``
    of :func:`~pixelcnn.levels.level_dtype`; the range was checked by :func:`codes_levels`."""
    layout = code_layout(array.shape, array.dtype, where)
    array = array[:, None] if layout == "nhw" else array
    return torch.from_numpy(np.ascontiguousarray(array, dtype=numpy_dtype(levels)))


def numpy_dtype(levels: int) -> np.dtype:
    """The numpy twin of :func:`~pixelcnn.levels.level_dtype`."""
    return np.dtype(str(level_dtype(levels)).removeprefix("torch."))


def codes_levels(path: str | Path, field: str = "", levels: int = 0) -> int:
    """K of the codes file at ``path``: ``levels`` if given (it must cover every code), else
    1 + its largest code (at least 2). One line of DataError for a float array, a wrong
    shape, a negative code, a code of 65,536 or more, or codes that ``levels`` does not cover."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"{path}: no such file; data.kind = codes reads a .npy or .npz file of integer codes")
    stat = path.stat()
    low, high, where = _code_range(str(path.resolve()), field, stat.st_size, stat.st_mtime_ns)
    if low < 0:
        raise DataError(f"{where}: code {low} is negative; codes must lie in [0, K)")
    if high >= MAX_LEVELS:
        raise DataError(f"{where}: code {high} needs K = {high + 1} levels, above the most, {MAX_LEVELS:,}")
    if levels and high >= levels:
        raise DataError(f"{where}: code {high} is outside [0, {levels}) (data.levels = {levels}); "
                        f"set data.levels to at least {high + 1}, or 0 to take K from the data")
    return levels or max(high + 1, 2)


@functools.lru_cache(maxsize=16)
def _code_range(path: str, field: str, size: int, mtime_ns: int) -> tuple[int, int, str]:
    """``(smallest, largest code, where the largest is)`` over the arrays ``field`` names
    (``size`` and ``mtime_ns`` key the cache: a rewritten file is read again)."""
    from pixelcnn.data.arrays import _load, field_arrays

    file = Path(path)
    if file.suffix == ".npy":
        if field:
            raise DataError(f"{file}: data.field = {field} names arrays of an .npz file; a .npy file holds one array")
        return (*_scan(_open_mapped(file), str(file)), str(file))
    if file.suffix != ".npz":
        raise DataError(f"{file}: codes come from a .npy or .npz file")
    ranges = []
    for key in field_arrays(file, field).values():
        where = f"{file}['{key}']"
        ranges.append((*_scan(_load(file, key), where), where))
    low = min(r[0] for r in ranges)
    return (low, *max((r[1], r[2]) for r in ranges))


def _scan(array: np.ndarray, where: str) -> tuple[int, int]:
    """The smallest and largest value of an integer code array, read in chunks."""
    code_layout(array.shape, array.dtype, where)
    if array.shape[0] == 0:
        raise DataError(f"{where} holds no codes")
    rows = max(1, _CHUNK // max(1, int(np.prod(array.shape[1:]))))
    low, high = None, None
    for start in range(0, len(array), rows):
        part = np.asarray(array[start : start + rows])
        lo, hi = int(part.min()), int(part.max())
        low, high = lo if low is None else min(low, lo), hi if high is None else max(high, hi)
    return low, high


def _open_mapped(path: Path) -> np.ndarray:
    from pixelcnn.data.source import MappedArray

    return MappedArray.open(path)
