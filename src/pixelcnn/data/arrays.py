"""Images and codes stored as numpy arrays in ``.npy`` and ``.npz`` files.

Format (numpy's NPY/NPZ, https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html),
read with ``allow_pickle=False``. Images (``data.kind=pixels``) must be uint8
and shaped ``[N, H, W]`` (gray), ``[N, H, W, C]`` or ``[N, C, H, W]`` with C 1
or 3; a shape where both readings fit (e.g. ``[N, 3, 5, 3]``) is refused as
ambiguous. Codes (``data.kind=codes``) are integer maps of any integer dtype
shaped ``[N, H, W]`` or ``[N, C, H, W]`` (:mod:`pixelcnn.data.codes`).

An ``.npz`` holds, for ``field`` "" (the default), either

* ``images`` (else its first array whose name does not end in ``labels``)
  and optionally ``labels``: one set, split like a folder; or
* arrays named after splits, ``train``, ``valid``, ``test``, each with
  optional labels ``train_labels``, ``valid_labels``, ``test_labels``.

A ``field`` (``data.field=top``) names one kind of array among several in the
file (a VQ-VAE's ``top`` and ``bottom`` codes): arrays ``top_train``,
``top_valid``, ``top_test`` (any of them) are its splits, else the array
``top`` is one set. The labels of an array ``X`` are ``X_labels``, else those
of its split, ``train_labels`` (``labels`` for one set), which several fields
share. Labels are non-negative integers ``[N]``.

Read lazily (``load_dataset(..., lazy=True)``, as training does), a ``.npy``
file is memory-mapped instead (:class:`pixelcnn.data.source.MappedArray`).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import torch

from pixelcnn.errors import DataError
from pixelcnn.labels import check_labels

SPLIT_KEYS = ("train", "valid", "test")
ARRAY_SUFFIXES = (".npy", ".npz")


def read_array_file(
    path: str | Path, key: str | None = None, *, levels: int = 0
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Images (or codes) and labels of a ``.npy`` / ``.npz`` file.

    Args:
        path: the file.
        key: for an ``.npz``, the array to read ("train", "images", "top_train", …);
            None: ``images`` or the first array. Must be None for ``.npy``.
        levels: 0 for images; K for codes in ``[0, K)`` (checked by
            :func:`pixelcnn.data.codes.codes_levels`), read as :func:`pixelcnn.levels.level_dtype`.

    Returns:
        images: uint8 ``[N, C, H, W]`` (codes: ``level_dtype(K)``); labels: int64 ``[N]`` or None.
    """
    from pixelcnn.data.codes import to_codes

    path = Path(path)
    if path.suffix == ".npy" and key is None:
        images, labels, where = _load(path, None), None, str(path)
    elif path.suffix == ".npz":
        names = npz_names(path)
        key = key if key is not None else _default_key(names, path)
        if key not in names:
            raise DataError(f"{path}: no array '{key}' (arrays: {', '.join(names)})")
        label_key = labels_key(names, key)
        images = _load(path, key)
        labels = _load(path, label_key) if label_key else None
        where = f"{path}['{key}']"
    else:
        raise DataError(f"{path}: expected a .npy file, or a .npz file (optionally with a key)")
    images = to_codes(images, levels, where) if levels else to_nchw(images, where)
    if path.suffix == ".npy" and len(images) == 0:  # a whole set to split: nothing to split
        raise DataError(f"{where} holds no images")
    return images, None if labels is None else check_labels(labels, n=len(images), where=f"{where}: ")


def field_arrays(path: str | Path, field: str = "") -> dict[str, str]:
    """The arrays of an ``.npz`` that ``field`` names (module docstring), by split:
    ``{"train": "top_train", ...}``, or ``{"all": name}`` for one set to split like a folder."""
    path = Path(path)
    names = npz_names(path)
    prefix = f"{field}_" if field else ""
    keyed = {split: prefix + split for split in SPLIT_KEYS if prefix + split in names}
    if keyed:
        return keyed
    if not field:
        return {"all": _default_key(names, path)}
    if field in names:
        return {"all": field}
    wanted = ", ".join(repr(n) for n in (field, *(prefix + s for s in SPLIT_KEYS)))
    raise DataError(f"{path}: data.field = {field} names no array (looked for {wanted}; arrays: {', '.join(names)})")


def labels_key(names: list[str], key: str) -> str | None:
    """The labels of array ``key``: ``key_labels``, else its split's (module docstring), else None."""
    split = next((s for s in SPLIT_KEYS if key == s or key.endswith("_" + s)), None)
    for name in (f"{key}_labels", f"{split}_labels" if split else "labels"):
        if name in names:
            return name
    return None


def array_file_splits(path: str | Path, field: str = "") -> list[str]:
    """Splits an array file offers: its split keys, else "train", "test", "all"."""
    path = Path(path)
    if path.suffix == ".npz":
        keyed = [k for k in field_arrays(path, field) if k != "all"]
        if keyed:
            return keyed
    elif field:
        raise DataError(f"{path}: data.field = {field} names arrays of an .npz file; a .npy file holds one array")
    return ["train", "test", "all"]


def npz_names(path: Path) -> list[str]:
    """Names of the arrays in an ``.npz`` file."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            return list(archive.files)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise DataError(f"{path}: not a readable .npz file ({e})") from None


def npz_num_classes(path: Path) -> int:
    """1 + the largest label over every ``*labels`` array of an ``.npz`` (0 if none)."""
    names = [n for n in npz_names(path) if n.endswith("labels")]
    tops = [int(_load(path, n).max(initial=-1)) for n in names]
    return max(tops, default=-1) + 1


def array_layout(shape: tuple, dtype: np.dtype, where: str) -> str:
    """How a uint8 array of ``shape`` holds images: "nhw", "nhwc" or "nchw" (else DataError)."""
    if dtype != np.uint8:
        raise DataError(f"{where}: dtype {dtype}, expected uint8 (values 0..255)")
    if len(shape) == 3:
        return "nhw"
    if len(shape) != 4:
        raise DataError(f"{where}: shape {list(shape)}, expected [N, H, W], [N, H, W, C] or [N, C, H, W]")
    last, second = shape[3] in (1, 3), shape[1] in (1, 3)
    if last and second:
        raise DataError(f"{where}: shape {list(shape)} is ambiguous: channels first or last?")
    if last:
        return "nhwc"
    if second:
        return "nchw"
    raise DataError(f"{where}: shape {list(shape)}: expected 1 or 3 channels, first or last")


def to_nchw(array: np.ndarray, where: str) -> torch.Tensor:
    """uint8 array ``[N, H, W]``, ``[N, H, W, C]`` or ``[N, C, H, W]`` → tensor ``[N, C, H, W]``."""
    layout = array_layout(array.shape, array.dtype, where)
    if layout == "nhw":
        return torch.from_numpy(np.ascontiguousarray(array[:, None]))
    if layout == "nhwc":
        return torch.from_numpy(np.ascontiguousarray(array.transpose(0, 3, 1, 2)))
    return torch.from_numpy(np.ascontiguousarray(array))


def _default_key(names: list[str], path: Path) -> str:
    if "images" in names:
        return "images"
    candidates = [n for n in names if not n.endswith("labels")]
    if not candidates:
        raise DataError(f"{path}: no image array (arrays: {', '.join(names) or 'none'})")
    return candidates[0]


def _load(path: Path, key: str | None) -> np.ndarray:
    """One array of a ``.npy`` (key None) or ``.npz`` file, without unpickling."""
    try:
        if key is None:
            array = np.load(path, allow_pickle=False)
        else:
            with np.load(path, allow_pickle=False) as archive:
                array = archive[key]
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        detail = (str(e).splitlines() or [""])[0]
        raise DataError(
            f"{path}: cannot read {'array ' + repr(key) if key else 'the array'} ({detail})"
        ) from None
    if not isinstance(array, np.ndarray):
        raise DataError(f"{path}: holds a .npz archive, not one array; rename it to .npz")
    return array
