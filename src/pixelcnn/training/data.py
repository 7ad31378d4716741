"""Images for training and evaluation, as levels, in a reproducible order.

A split is an indexable source of images (:mod:`pixelcnn.data.source`): a
tensor in memory, a memory-mapped ``.npy`` file or a folder whose files are
decoded when read. Levels are held in :func:`pixelcnn.levels.level_dtype` (uint8
for L <= 256) and become long tensors batch by batch. Codes (``data.kind=codes``)
are levels already, in ``[0, K)``; pixels are quantised
(:func:`pixelcnn.levels.quantise`, the one home of quantisation), with K from
:func:`data_levels`. A split in memory is quantised whole; one read
on demand is quantised batch by batch, only the rows a process needs, with
static and dynamic binarisation drawn image by image (fixed by seed, epoch
and the image's place, :func:`pixelcnn.levels.binarize`), so its draw differs
from the whole-array draw of the same images in memory.

The order of an epoch is a pure function of ``(seed, epoch)``, and so is the
dynamic binarisation, so a run stopped after any batch resumes exactly.
With several processes (``torchrun``), each takes its share of every global
batch (see :class:`TrainStream`). With ``data.workers`` > 0, the batches of a
split read on demand are read ahead by that many DataLoader worker processes;
the batches are the same. On CUDA they are put in pinned memory, so that the
copy to the device can overlap (written for GPUs, not run on one by the tests).

A split fits a model when its channels, size and levels are the model's, and a
class-conditional model has its labels: :func:`check_split` says so in one line
before anything is scored (``pixelcnn eval``, the trainer, the report).

Validation: the set's own ``valid`` split, else one carved from ``train``
(``data.valid_fraction``, see :mod:`pixelcnn.data.splits`); the test split is
used for validation only when ``data.valid_split=test`` says so, and then
nothing is carved off ``train``.

Not implemented: reading evaluation batches ahead with workers (evaluation
reads in the calling process).
"""

from __future__ import annotations

import atexit
import copy
import signal
import weakref
from dataclasses import dataclass

import numpy as np
import torch

from pixelcnn.data import dataset_splits, load_dataset
from pixelcnn.data.codes import codes_levels
from pixelcnn.data.source import Images, InMemory, as_index, read_all
from pixelcnn.errors import DataError
from pixelcnn.nn.condition import move_cond
from pixelcnn.levels import MAX_PIXEL_LEVELS, quantise


def data_levels(data_cfg) -> int:
    """L, the number of levels of the configured data: ``data.levels``, else 256 for pixels, or
    for codes 1 + the largest code of the file (:func:`pixelcnn.data.codes.codes_levels`, which
    also checks that every code lies in ``[0, L)``). The model takes its levels from here."""
    if data_cfg.kind == "codes":
        return codes_levels(data_cfg.name, data_cfg.field, data_cfg.levels)
    return data_cfg.levels or MAX_PIXEL_LEVELS


def with_levels(data_cfg):
    """``data_cfg`` with ``levels`` set to :func:`data_levels` (a run saves this resolved section)."""
    import dataclasses

    levels = data_levels(data_cfg)
    return data_cfg if data_cfg.levels == levels else dataclasses.replace(data_cfg, levels=levels)


def _quantise(values: torch.Tensor, data_cfg, **draw) -> torch.Tensor:
    """:func:`pixelcnn.levels.quantise` with the kind, levels and binarisation of ``data_cfg``
    (whose ``levels`` is resolved, see :func:`with_levels`)."""
    return quantise(values, data_cfg.levels, kind=data_cfg.kind, binarize=data_cfg.binarize, **draw)


class Levels:
    """A split's images as levels in ``[0, L)`` (:func:`pixelcnn.levels.level_dtype`), quantised when read.

    ``levels[i:j]`` or ``levels[index]`` gives ``[n, C, H, W]``; ``shape`` is
    ``(N, C, H, W)``. A split in memory is quantised whole on first read and kept;
    one read on demand reads and quantises just the rows asked for.
    :meth:`rows` is a window of consecutive rows (a process's shard), read the same way.
    """

    def __init__(self, images: Images, data_cfg, *, seed: int = 0, epoch: int = 0):
        data_cfg = with_levels(data_cfg)
        self.images, self.data_cfg, self.seed, self.epoch = images, data_cfg, seed, epoch
        self._start, self._stop = 0, len(images)
        self._whole: list = []  # the quantised split in memory, shared with windows

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (self._stop - self._start, *self.images.shape[1:])

    def __len__(self) -> int:
        return self._stop - self._start

    def __getitem__(self, key) -> torch.Tensor:
        if isinstance(key, slice):
            key = np.arange(*key.indices(len(self)))
        return self.read(key)

    def read(self, index) -> torch.Tensor:
        """Levels ``[len(index), C, H, W]`` of rows ``index`` (of this window)."""
        index = as_index(index) + self._start
        if self.images.in_memory:
            if not self._whole:
                self._whole.append(_quantise(read_all(self.images), self.data_cfg, seed=self.seed, epoch=self.epoch))
            return self._whole[0][torch.from_numpy(index)]
        place = torch.from_numpy(index)
        return _quantise(self.images.read(index), self.data_cfg, seed=self.seed, epoch=self.epoch, index=place)

    def rows(self, part: slice) -> "Levels":
        """Rows ``part`` (a slice with step 1) of this window, not read yet."""
        start, stop, _ = part.indices(len(self))
        window = copy.copy(self)  # shares the quantised split, if in memory
        window._start, window._stop = self._start + start, self._start + max(start, stop)
        return window


@dataclass
class Split:
    """One split: ``images`` ``[N, C, H, W]`` as stored (a tensor when in memory, else
    a source, see :mod:`pixelcnn.data.source`), ``levels`` the same images as levels in ``[0, L)``
    (:class:`Levels`, read on demand), ``labels`` long ``[N]`` or None, ``maps`` the code
    map of each image (``data.cond_field``), long ``[N, h, w]``, or None."""

    name: str
    images: torch.Tensor | Images
    levels: Levels
    labels: torch.Tensor | None
    num_classes: int
    class_names: tuple = ()
    maps: torch.Tensor | None = None

    def conditions(self, data_cfg):
        """What the model is given with each image, as the data config asks: None, the
        labels ``[N]``, or a dict of ``labels`` and ``map`` (see :mod:`pixelcnn.nn.condition`)."""
        labels = self.labels if data_cfg.conditional else None
        if self.maps is None:
            return labels
        return {"map": self.maps} if labels is None else {"labels": labels, "map": self.maps}


def load_split(data_cfg, split: str, *, seed: int = 0) -> Split:
    """Open ``split`` of the configured data set, to be read and quantised batch by batch
    (eval splits use epoch 0); ``.npy`` files are memory-mapped, folders read file by file."""
    data_cfg = with_levels(data_cfg)
    ds = load_dataset(
        data_cfg.name,
        split,
        data_dir=data_cfg.data_dir or None,
        download=data_cfg.download,
        image_size=tuple(data_cfg.image_size) if min(data_cfg.image_size) > 0 else None,
        channels=data_cfg.channels or None,
        valid_fraction=carve_fraction(data_cfg),
        lazy=True,
        kind=data_cfg.kind,
        field=data_cfg.field,
        levels=data_cfg.levels,
    )
    levels = Levels(ds.images, data_cfg, seed=seed)
    images = ds.images.tensor if isinstance(ds.images, InMemory) else ds.images  # a tensor when in memory
    maps = load_maps(data_cfg, split, len(images)) if data_cfg.cond_field else None
    return Split(split, images, levels, ds.labels, ds.num_classes, tuple(getattr(ds, "class_names", ()) or ()),
                 maps)


def cond_map_spec(data_cfg, given=None) -> dict:
    """The model's ``cond_map`` for ``data.cond_field``'s maps: a ``codes`` encoder with their
    levels and size, and the other options of ``given`` (``model.cond_map.dim=64``). One line
    if ``given`` names another kind of map, or levels or a size that the data does not have."""
    from pixelcnn.parts import merge_spec

    maps = load_maps(data_cfg, data_cfg.train_split)
    spec = {"name": "codes", "levels": codes_levels(data_cfg.name, data_cfg.cond_field), "size": list(maps.shape[1:])}
    given = merge_spec(given or "codes", {})
    for key, value in spec.items():
        if key in given and (list(given[key]) if key == "size" else given[key]) != value:
            raise DataError(f"model.cond_map {key} = {given[key]} conflicts with the {data_cfg.cond_field} "
                            f"maps of {data_cfg.name} ({value}); they come from the data: drop it")
    return {**given, **spec}


def load_maps(data_cfg, split: str, count: int | None = None) -> torch.Tensor:
    """The code maps ``[N, h, w]`` (long) of ``split`` in ``data.cond_field``'s arrays: one
    per image (``count``), else one line of DataError."""
    field = data_cfg.cond_field
    ds = load_dataset(data_cfg.name, split, kind="codes", field=field, valid_fraction=carve_fraction(data_cfg),
                      levels=codes_levels(data_cfg.name, field))
    maps = ds.images
    if maps.shape[1] != 1:
        raise DataError(f"{data_cfg.name} {field}: condition maps must be one code map per image "
                        f"([N, h, w]), got {maps.shape[1]} channels")
    if count is not None and len(maps) != count:
        raise DataError(f"{data_cfg.name}: the {split} split holds {count} images but {len(maps)} "
                        f"{field} maps (data.cond_field); they must pair up")
    return maps[:, 0].long()


def check_split(model_config, split: Split, owner: str = "the model", *,
                labels: bool = True) -> tuple[Levels, torch.Tensor | dict | None]:
    """The levels and the conditions to score ``split`` with a model of ``model_config``.

    One DataError line when the split does not fit the model: other channels or size, other
    levels, or (with ``labels``) no labels for a class-conditional model or no code maps
    (``data.cond_field``) for a model conditioned on them, ``owner`` naming the model in
    that line. The conditions are the labels, a dict of labels and maps, or None (also
    without ``labels``: a caller that gives its own). Only shapes are looked at: nothing is read.
    """
    want = (model_config.in_channels, *model_config.image_size)
    got = tuple(split.levels.shape[1:])
    if got != want:
        raise DataError(f"the {split.name} images are {got[0]}x{got[1]}x{got[2]} (C x H x W) "
                        f"but the model was trained on {want[0]}x{want[1]}x{want[2]}")
    data = split.levels.data_cfg
    if data.levels != model_config.levels:
        raise DataError(f"the {split.name} images are read as {data.levels} levels "
                        f"but the model was trained on {model_config.levels}")
    if not labels:
        return split.levels, None
    found = None
    if getattr(model_config, "num_classes", 0):
        if split.labels is None:
            raise DataError(f"{owner} is class-conditional but {data.name} {split.name} has no labels to score it with")
        found = split.labels
    if (getattr(model_config, "cond_map", None) or {"name": "none"})["name"] == "none":
        return split.levels, found
    if split.maps is None:
        raise DataError(f"{owner} is conditioned on code maps but {data.name} {split.name} has none "
                        f"(name them with data.cond_field)")
    return split.levels, {"labels": found, "map": split.maps}


def carve_fraction(data_cfg) -> float:
    """``data.valid_fraction``, or 0 when validation is pointed at another split on purpose."""
    return data_cfg.valid_fraction if data_cfg.valid_split in ("", "valid") else 0.0


def validation_split_name(data_cfg) -> str:
    """The configured validation split, else "valid" (the set's own or carved from train)."""
    if data_cfg.valid_split:
        return data_cfg.valid_split
    if "valid" in dataset_splits(data_cfg.name, carve_fraction(data_cfg), data_cfg.field):
        return "valid"
    raise DataError(
        f"{data_cfg.name} has no validation split with data.valid_fraction=0; "
        "set data.valid_fraction > 0, or data.valid_split=test to validate on the test split"
    )


@dataclass
class Batch:
    """One process's part of a global batch: ``levels`` long ``[b, C, H, W]``, ``cond`` what the
    model is given with them (labels ``[b]``, a dict of labels and maps, or None). The
    first ``real`` images are its share; ``total`` counts the images of
    the whole global batch (every process's share together). A process whose share is
    empty (a short last batch of an epoch, fewer images than processes) gets one image of
    the batch to run with ``real = 0``, so that every process computes the same graph."""

    levels: torch.Tensor
    cond: torch.Tensor | dict | None
    real: int
    total: int


class TrainStream:
    """Batches of the training split in the order of each epoch.

    An epoch is the training images in the order ``_order(epoch)``, a pure
    function of ``(seed, epoch)``. It is cut into global batches of ``size``
    images from a position counted in images (the last one may be short); with
    ``world`` processes, rank ``r`` takes images ``r, r + world, ...`` of each
    global batch. So the processes' batches at a step together hold exactly the
    images of one process's batch of the global size, every process takes the
    same number of batches in an epoch, and a resumed run continues at the
    first image not yet trained on, whatever its global batch.

    ``images``: a uint8 tensor ``[N, C, H, W]`` or a source read on demand; a
    process then reads only the rows of its own shares. ``cond``: what the model
    is given with each image (:meth:`Split.conditions`), or None. ``workers`` (default
    ``data.workers``): DataLoader processes that read such a source ahead, once
    the calls go in order (each call asks for the batch after the last one);
    ``pin``: give batches in pinned memory (for a CUDA device).
    """

    def __init__(self, images: torch.Tensor | Images, cond, data_cfg, seed: int, *,
                 workers: int | None = None, pin: bool = False):
        if images.shape[0] == 0:
            raise DataError(f"the training split of {data_cfg.name} has no images")
        self.images = InMemory(images) if isinstance(images, torch.Tensor) else images
        data_cfg = with_levels(data_cfg)
        self.cond, self.data_cfg, self.seed, self.pin = cond, data_cfg, seed, pin
        self.workers = getattr(data_cfg, "workers", 0) if workers is None else workers
        self._epoch, self._levels, self._perm = None, None, None
        self._next, self._ahead = None, None  # the call expected next; the workers' batches

    def __len__(self) -> int:
        return self.images.shape[0]

    def batches_per_epoch(self, size: int) -> int:
        """Global batches of ``size`` images in one epoch (the last may be short)."""
        return -(-len(self) // size)

    def batch(self, epoch: int, position: int, batch_size: int, rank: int = 0, world: int = 1) -> Batch:
        """The share of ``rank`` of the global batch of ``batch_size * world`` images that starts at image
        ``position`` of ``epoch``."""
        key = (epoch, position, batch_size, rank, world)
        in_order = key == self._next
        if not in_order:
            self.close()
        if in_order and self._ahead is None and self.workers > 0 and not self.images.in_memory:
            self._ahead = _read_ahead(self, key)
        got = next(self._ahead) if self._ahead is not None else self.read(*key)
        if isinstance(got, DataError):  # raised in a worker: one line here, not the worker's traceback
            raise got
        self._next = self._after(key)
        levels, cond, real, total = got
        if self.pin:
            levels, cond = levels.pin_memory(), move_cond(cond, lambda t: t.pin_memory())
        return Batch(levels, cond, real, total)

    def read(self, epoch: int, position: int, batch_size: int, rank: int, world: int) -> tuple:
        """``(levels, cond, real, total)`` of :meth:`batch`, read now in this process."""
        whole = self._order(epoch)[position : position + batch_size * world]  # [n <= batch_size * world]
        take = whole[rank::world]
        real = int(take.numel())
        if real == 0:
            take = whole[:1]
        if self.images.in_memory:
            levels = self._epoch_levels(epoch)[take].long()
        else:
            levels = _quantise(self.images.read(take), self.data_cfg, seed=self.seed,
                              epoch=self._levels_epoch(epoch), index=take).long()
        return levels, move_cond(self.cond, lambda t: t[take]), real, int(whole.numel())

    def close(self) -> None:
        """Stop the workers reading ahead, if any (a later call in order starts new ones)."""
        if self._ahead is not None:
            self._ahead.stop()
        self._ahead = None

    def _after(self, key: tuple) -> tuple:
        """The call that continues ``key``: the next global batch, or the next epoch's first."""
        epoch, position, batch_size, rank, world = key
        position += batch_size * world
        if position >= len(self):
            epoch, position = epoch + 1, 0
        return (epoch, position, batch_size, rank, world)

    def _order(self, epoch: int) -> torch.Tensor:
        self._prepare(epoch)
        return self._perm

    def _epoch_levels(self, epoch: int) -> torch.Tensor:
        self._prepare(epoch)
        if self._levels is None or self._levels[0] != self._levels_epoch(epoch):  # a new draw each epoch
            e = self._levels_epoch(epoch)
            self._levels = (e, _quantise(read_all(self.images), self.data_cfg, seed=self.seed, epoch=e))
        return self._levels[1]

    def _levels_epoch(self, epoch: int) -> int:
        return epoch if self.data_cfg.binarize == "dynamic" else 0

    def _prepare(self, epoch: int) -> None:
        if self._epoch == epoch:
            return
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        self._perm = torch.randperm(len(self), generator=g)
        self._epoch = epoch

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_ahead": None, "_levels": None}  # what a worker process needs


class _Calls(torch.utils.data.Dataset):
    """A DataLoader's view of a stream: item ``key`` is :meth:`TrainStream.read` of that call,
    or the DataError it raised (so that the training process raises it as one line)."""

    def __init__(self, stream: TrainStream):
        self.stream = stream

    def __getitem__(self, key: tuple):
        try:
            return self.stream.read(*key)
        except DataError as e:
            return e


def _calls_from(stream: TrainStream, key: tuple):
    while True:  # epoch after epoch; the stream stops reading when a call is out of order
        yield key
        key = stream._after(key)


_READING_AHEAD: weakref.WeakSet = weakref.WeakSet()  # streams whose workers may still run


class _Ahead:
    """A DataLoader iterator whose workers are killed when it is stopped or dropped.

    The workers ignore SIGTERM (see :func:`_ignore_stop_signals`), and DataLoader's own
    shutdown did not always reach them (workers left waiting on their index queue), after
    which multiprocessing's exit handler, which SIGTERMs its children and joins them, waited
    forever. Nothing a worker holds needs a clean exit: it only reads.
    """

    def __init__(self, batches):
        self.batches = batches

    def __next__(self):
        return next(self.batches)

    def stop(self) -> None:
        for worker in getattr(self.batches, "_workers", ()):
            if worker.is_alive():
                worker.kill()
                worker.join()

    def __del__(self) -> None:
        self.stop()


def _close_all() -> None:
    """At exit, before multiprocessing's own handler (which would SIGTERM the workers, and they
    ignore it, then wait for them): stop every stream's workers."""
    for stream in list(_READING_AHEAD):
        stream.close()


def _read_ahead(stream: TrainStream, key: tuple):
    """The results of the calls from ``key`` on, read ahead by ``stream.workers`` processes."""
    if not _READING_AHEAD:
        atexit.unregister(_close_all)
        atexit.register(_close_all)  # registered after multiprocessing's handler, so it runs first
    _READING_AHEAD.add(stream)
    loader = torch.utils.data.DataLoader(
        _Calls(stream), batch_size=None, sampler=_calls_from(stream, key), num_workers=stream.workers,
        collate_fn=_as_is, worker_init_fn=_ignore_stop_signals,
        generator=torch.Generator().manual_seed(stream.seed))  # no draw from global state
    return _Ahead(iter(loader))


def _as_is(item):
    return item


def _ignore_stop_signals(worker: int) -> None:
    """A scheduler's SIGTERM or a Ctrl-C reaches every process of the job: the training process
    finishes its step and checkpoints, then stops its workers. A worker that died of the signal
    first would instead end training with DataLoader's "worker exited unexpectedly"."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
