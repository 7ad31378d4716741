"""Images read on demand: a split as an indexable source instead of one tensor.

A data set larger than memory cannot be read whole. :func:`pixelcnn.data.load_dataset`
with ``lazy=True`` gives a split whose ``images`` is an :class:`Images`
source: its ``shape`` ``(N, C, H, W)`` is known at once, and
``read(index)`` returns only the rows asked for, as uint8 ``[len(index), C, H, W]``
(codes, ``data.kind=codes``: their level dtype, :func:`pixelcnn.levels.level_dtype`).

* :class:`InMemory`: a tensor already in memory (registered sets, ``.npz`` files);
* :class:`MappedArray`: a ``.npy`` file, memory-mapped (numpy's ``mmap_mode="r"``),
  so only the pages of the rows read are touched, and the operating system
  may drop them again (they are file pages, not the process's own memory);
* :class:`ImageFiles`: a folder of images, each file decoded when its row is read;
* :class:`Subset` (hold-outs and validation carves: indices, not copies) and
  :class:`Converted` (channels and size changed batch by batch) wrap another source.

A source holds no open file handle or memory map across a pickle, so DataLoader
worker processes may take it (each reopens the file).

Not implemented: memory-mapped ``.npz`` files (a zip archive, possibly
compressed, is read whole), sharded files (WebDataset-style tar shards), and
caching decoded images of a folder between epochs.
"""

from __future__ import annotations

import mmap
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np
import torch

from pixelcnn.errors import DataError

Index = Sequence[int] | np.ndarray | torch.Tensor


class Images(Protocol):
    """What a split's images must offer to be trained on and scored batch by batch."""

    shape: tuple[int, int, int, int]  # (N, C, H, W)
    in_memory: bool  # True: the rows are already in memory (reading them costs no I/O)

    def __len__(self) -> int: ...

    def read(self, index: Index) -> torch.Tensor:
        """uint8 ``[len(index), C, H, W]``, rows in the order of ``index``."""
        ...


def as_index(index: Index) -> np.ndarray:
    """``index`` as int64 numpy ``[n]``."""
    if isinstance(index, torch.Tensor):
        return index.numpy().astype(np.int64, copy=False)
    return np.asarray(index, dtype=np.int64).reshape(-1)


class InMemory:
    """A uint8 tensor ``[N, C, H, W]`` already in memory."""

    in_memory = True

    def __init__(self, tensor: torch.Tensor):
        self.tensor = tensor
        self.shape = tuple(tensor.shape)

    def __len__(self) -> int:
        return self.shape[0]

    def read(self, index: Index) -> torch.Tensor:
        return self.tensor[torch.from_numpy(as_index(index))]


class MappedArray:
    """A ``.npy`` file memory-mapped read-only; :meth:`read` copies only the rows asked for.

    Images (``levels`` 0): uint8 shaped ``[N, H, W]``, ``[N, H, W, C]`` or ``[N, C, H, W]``.
    Codes (``levels`` K): any integer dtype shaped ``[N, H, W]`` or ``[N, C, H, W]``, read as
    :func:`~pixelcnn.levels.level_dtype` of K (the range is checked by
    :func:`pixelcnn.data.codes.codes_levels`).
    """

    in_memory = False

    def __init__(self, path: str | Path, levels: int = 0):
        from pixelcnn.data.arrays import array_layout
        from pixelcnn.data.codes import code_layout, numpy_dtype

        self.path = Path(path)
        array = self.open(self.path)
        self.dtype = numpy_dtype(levels) if levels else None
        self.layout = (code_layout if levels else array_layout)(array.shape, array.dtype, str(self.path))
        n, *rest = array.shape
        if n == 0:
            raise DataError(f"{self.path} holds no images")
        if self.layout == "nhw":
            self.shape = (n, 1, *rest)
        elif self.layout == "nhwc":
            self.shape = (n, rest[2], rest[0], rest[1])
        else:
            self.shape = (n, *rest)
        self._array = array

    @staticmethod
    def open(path: Path) -> np.ndarray:
        """The array of the ``.npy`` file at ``path``, memory-mapped read-only."""
        try:
            array = np.load(path, mmap_mode="r", allow_pickle=False)
        except FileNotFoundError:
            raise DataError(f"{path}: no such file") from None
        except (OSError, ValueError, EOFError) as e:
            detail = (str(e).splitlines() or [""])[0]
            raise DataError(f"{path}: cannot read the array ({detail})") from None
        if not isinstance(array, np.ndarray):
            raise DataError(f"{path}: holds a .npz archive, not one array; rename it to .npz")
        view = getattr(array, "_mmap", None)  # numpy keeps the mmap.mmap of a memmap here
        if view is not None and hasattr(mmap, "MADV_RANDOM"):
            # batches come in random order: read-ahead around each row would read (and cache) 4x
            # more than the rows asked for, evicting pages that are still wanted when the file > RAM
            view.madvise(mmap.MADV_RANDOM)
        return array

    @property
    def array(self) -> np.ndarray:
        """The memory map (``np.memmap``), reopened after a pickle."""
        if self._array is None:
            self._array = self.open(self.path)
        return self._array

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_array": None}  # a pickled memmap would be a full copy

    def __len__(self) -> int:
        return self.shape[0]

    def read(self, index: Index) -> torch.Tensor:
        rows = self.array[as_index(index)]  # fancy indexing copies just these rows
        if self.layout == "nhw":
            rows = rows[:, None]
        elif self.layout == "nhwc":
            rows = rows.transpose(0, 3, 1, 2)
        return torch.from_numpy(np.ascontiguousarray(rows, dtype=self.dtype))


class ImageFiles:
    """Image files decoded one by one when read (see :mod:`pixelcnn.data.images` for the rules).

    ``channels``: 1 or 3, what each file is converted to; ``gray_source``: the
    channels were chosen as 1 because every file is gray (then read as RGB and
    the first plane kept, exactly as when the folder is read whole).
    """

    in_memory = False

    def __init__(self, files: list[Path], shape: tuple[int, int, int, int], channels: int | None,
                 image_size: tuple[int, int] | None):
        self.files, self.shape = files, shape
        self.channels, self.image_size = channels, image_size

    def __len__(self) -> int:
        return self.shape[0]

    def read(self, index: Index) -> torch.Tensor:
        from pixelcnn.data.images import read_image

        index = as_index(index)
        out = np.empty((len(index), *self.shape[1:]), np.uint8)  # [b, C, H, W]
        for k, i in enumerate(index):
            array, _ = read_image(self.files[i], self.channels, self.image_size)
            if array.shape[1:] != self.shape[2:]:
                raise DataError(f"{self.files[i]}: image is {array.shape[1]}x{array.shape[2]} (HxW) but "
                                f"{self.files[0].name} is {self.shape[2]}x{self.shape[3]}; the file changed "
                                f"since the folder was listed, or pass image_size")
            out[k] = array[: self.shape[1]]
        return torch.from_numpy(out)


class Subset:
    """Rows ``index`` of another source, in that order (a hold-out or a validation carve)."""

    def __init__(self, base: Images, index: Index):
        self.base, self.index = base, as_index(index)
        self.shape = (len(self.index), *base.shape[1:])
        self.in_memory = base.in_memory

    def __len__(self) -> int:
        return self.shape[0]

    def read(self, index: Index) -> torch.Tensor:
        return self.base.read(self.index[as_index(index)])


class Converted:
    """Another source with its images converted to ``channels`` and fitted to ``image_size``
    (:mod:`pixelcnn.data.transform`), batch by batch."""

    def __init__(self, base: Images, channels: int | None, image_size: tuple[int, int] | None,
                 binary: bool = False):
        self.base, self.channels, self.image_size, self.binary = base, channels, image_size, binary
        _, c, h, w = base.shape
        self.shape = (len(base), channels or c, *(image_size or (h, w)))
        self.in_memory = base.in_memory

    def __len__(self) -> int:
        return self.shape[0]

    def read(self, index: Index) -> torch.Tensor:
        from pixelcnn.data.transform import resize_images, to_channels

        images = self.base.read(index)
        if self.channels is not None:
            images = to_channels(images, self.channels)
        if self.image_size is not None:
            images = resize_images(images, self.image_size, binary=self.binary)
        return images


def take(images: torch.Tensor | Images, index: Index) -> torch.Tensor | Images:
    """Rows ``index`` of ``images``: a copy of a tensor's rows, a :class:`Subset` of a source."""
    if isinstance(images, torch.Tensor):
        return read_rows(images, index)
    return Subset(images, index)


def read_rows(images: torch.Tensor | Images, index: Index) -> torch.Tensor:
    """uint8 ``[len(index), C, H, W]``: rows ``index`` of a tensor or a source."""
    if isinstance(images, torch.Tensor):
        return images[torch.from_numpy(as_index(index))]
    return images.read(index)


def read_all(images: Images, chunk: int = 4096) -> torch.Tensor:
    """Every image of ``images`` in memory, uint8 ``[N, C, H, W]`` (for sources small enough)."""
    if isinstance(images, InMemory):
        return images.tensor
    parts = [images.read(np.arange(s, min(s + chunk, len(images)))) for s in range(0, len(images), chunk)]
    return torch.cat(parts)
