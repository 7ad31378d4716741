"""CIFAR-10 batches, binary and python versions.

Format (Krizhevsky 2009, https://www.cs.toronto.edu/~kriz/cifar.html):

* binary version, ``data_batch_1.bin`` … ``data_batch_5.bin`` and
  ``test_batch.bin``: records of 3073 bytes, one label byte (0..9) then
  1024 red, 1024 green and 1024 blue bytes, each a row-major 32×32 plane;
* python version, ``data_batch_1`` … ``data_batch_5`` and ``test_batch``: a
  pickled dict with ``b"data"`` (uint8 ``[N, 3072]``, same plane order) and
  ``b"labels"`` (N ints).

Pickles are read by a restricted unpickler that can rebuild numpy arrays and
nothing else, so a tampered file cannot run code.

Download: when no batch is found, ``cifar-10-binary.tar.gz`` (162 MB) is
downloaded from the authors' page, checked against its published MD5, and its
six ``.bin`` batches (and ``batches.meta.txt``) are unpacked into
``cifar-10-batches-bin/`` of the first search folder; the archive is then
deleted. Only those named regular members are read from the archive, so a
crafted archive cannot write elsewhere. The binary version is chosen because
it needs no unpickling.

Not implemented: CIFAR-100 (two label bytes a record, other pickle keys) and
reading the ``.tar.gz`` archives without extracting them.
"""

from __future__ import annotations

import codecs
import importlib
import logging
import os
import pickle
import re
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from pixelcnn.data.dataset import Dataset
from pixelcnn.data.download import DEFAULT_TIMEOUT, Remote, download_file, resolve_mirrors
from pixelcnn.data.files import describe_dirs, search_dirs
from pixelcnn.errors import DataError

NAME = "cifar10"
RECORD_BYTES = 1 + 3 * 32 * 32
BATCH_SIZE = 10000
SPLIT_STEMS = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}
SUBFOLDERS = ("", "cifar-10-batches-bin", "cifar-10-batches-py")
MIRRORS = ("https://www.cs.toronto.edu/~kriz/",)
ARCHIVE = Remote("cifar-10-binary.tar.gz", "md5:c32a1d4ab5d03f1284b67883e8d87530")
ARCHIVE_URL = MIRRORS[0] + ARCHIVE.filename
ARCHIVE_FOLDER = "cifar-10-batches-bin"
ARCHIVE_MEMBERS = tuple(f"{s}.bin" for stems in SPLIT_STEMS.values() for s in stems) + (
    "batches.meta.txt",
)
NUM_CLASSES = 10
CLASS_NAMES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)


log = logging.getLogger(__name__)


def load_cifar10(split: str, data_dir: str | Path | None = None, download: bool = True) -> Dataset:
    """Split ``train`` (the batches found of 5) or ``test`` of CIFAR-10.

    Batches are looked for in each search folder (:mod:`pixelcnn.data.files`)
    and its ``cifar-10-batches-bin`` / ``cifar-10-batches-py`` sub-folder; the
    first folder holding any batch of the split is used, a ``.bin`` batch
    preferred over the pickle of the same name. With ``download``, the binary
    version is fetched when no batch of the split is found.
    """
    dirs = search_dirs(NAME, data_dir)
    paths = find_cifar_batches(dirs, split)
    stems = SPLIT_STEMS[split]
    if not paths and download:
        try:
            download_cifar10(data_dir)
        except DataError as e:
            raise DataError(f"{NAME} {split}: no batch found locally and {e}") from None
        paths = find_cifar_batches(dirs, split)
    if not paths:
        wanted = f"{stems[0]}[.bin]" + (f" .. {stems[-1]}" if len(stems) > 1 else "")
        raise DataError(
            f"{NAME} {split}: no batch ({wanted}) found; "
            f"looked in {describe_dirs(dirs)} and their cifar-10-batches-bin/-py sub-folders; "
            f"pass download=True, or download {ARCHIVE_URL} and extract it there"
        )
    if len(paths) < len(stems):
        _warn_once("%s %s: using %d of %d batches, %s", NAME, split, len(paths), len(stems), [p.name for p in paths])
    parts = [read_cifar_file(p) for p in paths]
    for path, (images, _) in zip(paths, parts, strict=True):
        expected = _declared_records(path) or BATCH_SIZE
        if len(images) != expected:
            raise DataError(
                f"{path}: {len(images)} images, expected {expected} in "
                + ("a CIFAR-10 batch" if expected == BATCH_SIZE else "a file named for its first records")
            )
        if expected != BATCH_SIZE:
            _warn_once("%s %s: using the first %d images of a batch (%s)", NAME, split, expected, path.name)
    images = torch.cat([images for images, _ in parts])
    labels = torch.cat([labels for _, labels in parts])
    return Dataset(images, labels, NUM_CLASSES, NAME, split, CLASS_NAMES)


_warned: set[str] = set()


def _warn_once(message: str, *args) -> None:
    """Log a warning about partial data once per process: a run reads the train
    batches twice (its train split, and the validation images carved from them)."""
    text = message % args
    if text not in _warned:
        _warned.add(text)
        log.warning(text)


def download_cifar10(
    data_dir: str | Path | None = None,
    *,
    mirrors: Sequence[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[Path]:
    """Download and unpack the binary version unless all six batches are found; return their paths."""
    dirs = search_dirs(NAME, data_dir)
    found = find_cifar_batches(dirs, "train") + find_cifar_batches(dirs, "test")
    if len(found) == len(ARCHIVE_MEMBERS) - 1:
        return found
    archive = download_file(ARCHIVE, dirs[0], resolve_mirrors(MIRRORS, mirrors), timeout=timeout)
    paths = unpack_batches(archive, dirs[0] / ARCHIVE_FOLDER)
    archive.unlink()
    return [p for p in paths if p.suffix == ".bin"]


def unpack_batches(archive: Path, dest: Path) -> list[Path]:
    """Copy the :data:`ARCHIVE_MEMBERS` of a verified ``cifar-10-binary.tar.gz`` into ``dest``.

    Each file is written beside its final name and moved into place whole, so
    an interrupted unpack leaves no partial batch under a batch's name.
    """
    dest.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".unpack.", dir=dest))
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for name in ARCHIVE_MEMBERS:
                _copy_member(tar, f"{ARCHIVE_FOLDER}/{name}", staging / name, archive)
        for name in ARCHIVE_MEMBERS:
            os.replace(staging / name, dest / name)
    except (tarfile.TarError, EOFError, OSError) as e:
        raise DataError(f"{archive}: cannot unpack ({type(e).__name__}: {e})") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [dest / name for name in ARCHIVE_MEMBERS]


def _copy_member(tar: tarfile.TarFile, member: str, target: Path, archive: Path) -> None:
    try:
        info = tar.getmember(member)
    except KeyError:
        raise DataError(f"{archive}: no {member} in the archive; not the CIFAR-10 binary version") from None
    source = tar.extractfile(info) if info.isfile() else None
    if source is None:
        raise DataError(f"{archive}: {member} is not a regular file")
    with source, open(target, "wb") as out:
        shutil.copyfileobj(source, out, 1 << 20)


def find_cifar_batches(dirs: list[Path], split: str) -> list[Path]:
    """Batch files of ``split`` in the first folder (or known sub-folder) holding any.

    Where a whole batch is absent, a file ``<batch>_first<N>.bin`` (the first N
    records of that batch, the largest N found) stands in for it.
    """
    for folder in (d / sub for d in dirs for sub in SUBFOLDERS):
        found = []
        for stem in SPLIT_STEMS[split]:
            candidates = [folder / f"{stem}.bin", folder / stem, *_first_records_files(folder, stem)]
            found += [p for p in candidates if p.is_file()][:1]
        if found:
            return found
    return []


def _first_records_files(folder: Path, stem: str) -> list[Path]:
    """``<stem>_first<N>.bin`` files of ``folder``, largest N first."""
    if not folder.is_dir():
        return []
    files = [p for p in folder.glob(f"{stem}_first*.bin") if _declared_records(p) is not None]
    return sorted(files, key=_declared_records, reverse=True)


def _declared_records(path: Path) -> int | None:
    """N of a ``<batch>_first<N>.bin`` file name, else None."""
    match = re.fullmatch(r".+_first([1-9][0-9]*)\.bin", path.name)
    return int(match.group(1)) if match else None


def read_cifar_binary(path: str | Path) -> tuple[torch.Tensor, torch.Tensor]:
    """Images and labels of a CIFAR-10 binary batch (any number of records).

    Returns:
        images: uint8 ``[N, 3, 32, 32]`` (RGB); labels: int64 ``[N]`` in 0..9.
    """
    path = Path(path)
    try:
        raw = np.fromfile(path, dtype=np.uint8)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None
    if raw.size == 0 or raw.size % RECORD_BYTES:
        raise DataError(
            f"{path}: {raw.size} bytes is not a positive multiple of {RECORD_BYTES} "
            "(1 label byte + 3072 pixel bytes a record): truncated or not a CIFAR-10 binary batch"
        )
    records = raw.reshape(-1, RECORD_BYTES)
    return _images_and_labels(records[:, 1:], records[:, 0], path)


def read_cifar_pickle(path: str | Path) -> tuple[torch.Tensor, torch.Tensor]:
    """Images and labels of a CIFAR-10 python-version batch (a restricted pickle).

    Returns:
        images: uint8 ``[N, 3, 32, 32]`` (RGB); labels: int64 ``[N]`` in 0..9.
    """
    path = Path(path)
    batch = _unpickle(path)
    if not isinstance(batch, dict):
        raise DataError(f"{path}: the pickle holds a {type(batch).__name__}, expected a dict")
    data, labels = _entry(batch, "data", path), _entry(batch, "labels", path)
    if (
        not isinstance(data, np.ndarray)
        or data.dtype != np.uint8
        or data.ndim != 2
        or data.shape[1] != 3072
    ):
        what = (
            f"{data.dtype} {list(data.shape)}"
            if isinstance(data, np.ndarray)
            else type(data).__name__
        )
        raise DataError(f"{path}: 'data' is {what}, expected a uint8 array [N, 3072]")
    try:
        labels = np.asarray(labels, dtype=np.int64)
    except (TypeError, ValueError):
        raise DataError(f"{path}: 'labels' is not a list of integers") from None
    return _images_and_labels(data, labels, path)


def read_cifar_file(path: str | Path) -> tuple[torch.Tensor, torch.Tensor]:
    """Binary batch when the name ends in ``.bin``, else a python-version pickle."""
    path = Path(path)
    return read_cifar_binary(path) if path.suffix == ".bin" else read_cifar_pickle(path)


def _images_and_labels(
    pixels: np.ndarray, labels: np.ndarray, path: Path
) -> tuple[torch.Tensor, torch.Tensor]:
    """pixels: uint8 ``[N, 3072]``; labels: ``[N]`` integers."""
    if labels.shape != (len(pixels),):
        raise DataError(f"{path}: {labels.size} labels for {len(pixels)} images")
    bad = np.flatnonzero((labels < 0) | (labels >= NUM_CLASSES))
    if bad.size:
        raise DataError(
            f"{path}: label {int(labels[bad[0]])} of image {int(bad[0])} is not in 0..9: "
            "not a CIFAR-10 batch"
        )
    images = torch.from_numpy(pixels.reshape(-1, 3, 32, 32).copy())
    return images, torch.from_numpy(labels.astype(np.int64))


def _entry(batch: dict, key: str, path: Path) -> object:
    for candidate in (key.encode(), key):
        if candidate in batch:
            return batch[candidate]
    keys = ", ".join(sorted(k.decode() if isinstance(k, bytes) else str(k) for k in batch))
    raise DataError(f"{path}: the pickle has no '{key}' entry (keys: {keys})")


def _unpickle(path: Path) -> object:
    try:
        with open(path, "rb") as f:
            return _RestrictedUnpickler(f, path).load()
    except DataError:
        raise
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except Exception as e:  # any malformed pickle: opcodes, arguments, truncation
        detail = (str(e).splitlines() or [""])[0][:200]
        raise DataError(
            f"{path}: not a valid CIFAR-10 pickle ({type(e).__name__}: {detail})"
        ) from None


def _numpy_module(name: str):
    """``numpy._core.<name>`` (numpy 2) or ``numpy.core.<name>`` (numpy 1)."""
    try:
        return importlib.import_module(f"numpy._core.{name}")
    except ImportError:
        return importlib.import_module(f"numpy.core.{name}")


def _allowed_globals() -> dict[tuple[str, str], object]:
    """Everything a plain-data pickle of numpy arrays refers to, by (module, name)."""
    multiarray, numeric = _numpy_module("multiarray"), _numpy_module("numeric")
    table: dict[tuple[str, str], object] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): codecs.encode,  # bytes in protocol-2 pickles
        ("builtins", "bytearray"): bytearray,
    }
    for prefix in ("numpy.core", "numpy._core"):
        table[(f"{prefix}.multiarray", "_reconstruct")] = multiarray._reconstruct
        table[(f"{prefix}.multiarray", "scalar")] = multiarray.scalar
        table[(f"{prefix}.numeric", "_frombuffer")] = numeric._frombuffer  # protocol 5
    return table


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that refuses every global except numpy array reconstruction."""

    allowed = _allowed_globals()

    def __init__(self, file, path: Path) -> None:
        super().__init__(file, encoding="bytes")  # CIFAR pickles come from Python 2
        self.path = path

    def find_class(self, module: str, name: str) -> object:
        try:
            return self.allowed[(module, name)]
        except KeyError:
            raise DataError(
                f"{self.path}: refers to {module}.{name}, which a CIFAR-10 "
                "pickle never needs; refusing to load it (the file may be malicious)"
            ) from None
