"""Per-image scores: exact negative log-likelihood, bits/dim, rank, and per-pixel maps.

A PixelCNN gives the exact probability of every image, so an image's score is
its negative log-likelihood, ``-log p(x)`` in nats, and its bits/dim is that
over ``C * H * W * ln 2``. The per-pixel map is ``-log p`` of each pixel given
the pixels before it (summed over the pixel's colours), so a map sums exactly
to its image's score: it shows where in the image the surprise lies. Ranks
order the scored images from the least likely (rank 1) to the most likely,
which is the order an anomaly search reads them in.

Not implemented: scores of sub-pixels of one colour (the map sums a pixel's
colours, the one form every likelihood can give).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import torch

from pixelcnn.errors import ConfigError
from pixelcnn.units import bits_per_dim


@dataclass(frozen=True)
class Scores:
    """Scores of ``N`` images of ``dims`` sub-pixels each.

    Attributes:
        nats: float64 ``[N]``, ``-log p(x)`` of each image in nats.
        bits_per_dim: float64 ``[N]``, ``nats / (dims * ln 2)``.
        maps: float32 ``[N, H, W]``, ``-log p`` of each pixel (its colours summed) in nats;
            ``maps[k].sum() == nats[k]`` up to float32 rounding.
        dims: sub-pixels per image, ``C * H * W``.
    """

    nats: torch.Tensor
    bits_per_dim: torch.Tensor
    maps: torch.Tensor
    dims: int

    def __len__(self) -> int:
        return self.nats.shape[0]

    @property
    def ranks(self) -> torch.Tensor:
        """int64 ``[N]``: 1 for the least likely image; tied scores share the smaller rank."""
        return rank_descending(self.nats)


def score_images(model, images: torch.Tensor, cond=None, *, batch_size: int = 256) -> Scores:
    """Score every image of ``images`` with ``model``.

    Args:
        model: a pixelcnn model (e.g. from :func:`pixelcnn.load`).
        images: integer levels in ``[0, L)``, ``[N, C, H, W]`` (the model's shape).
        cond: labels ``[N]`` for a class-conditional model, else None.
        batch_size: images per forward pass.

    Returns:
        :class:`Scores`; the model is left in the mode it was in.
    """
    from pixelcnn.evaluation.likelihood import log_probs
    from pixelcnn.training.runtime import check_forward_memory

    n, _, h, w = images.shape
    check_forward_memory(model, max(min(batch_size, n), 1), f"scoring {n:,} images in batches of {batch_size}",
                         "use a smaller batch size (--batch-size) or fewer images", 2 * n * h * w * 8)
    maps = -log_probs(model, images, cond, batch_size=batch_size, per_pixel=True)  # [N, H, W]
    nats = maps.double().flatten(1).sum(1)  # [N]
    dims = math.prod(images.shape[1:])
    return Scores(nats=nats, bits_per_dim=bits_per_dim(nats, dims), maps=maps, dims=dims)


def rank_descending(values: torch.Tensor) -> torch.Tensor:
    """int64 ``[N]``: 1 + the number of values strictly greater (ties share the smaller rank)."""
    ordered = torch.sort(values, descending=True).values  # [N]
    # for each value, the count of strictly greater ones is its first position in the descending order
    first = torch.searchsorted(-ordered, -values, right=False)
    return first + 1


def write_scores_csv(path: str | Path, names: list[str], scores: Scores, labels: torch.Tensor | None = None) -> Path:
    """Write one row per image: ``name, label, nats, bits_per_dim, rank`` (rank 1 = least likely)."""
    import io

    from pixelcnn import atomic

    ranks = scores.ranks.tolist()
    f = io.StringIO(newline="")
    writer = csv.writer(f)
    writer.writerow(["image", "label", "nats", "bits_per_dim", "rank"])
    for k, name in enumerate(names):
        label = "" if labels is None else int(labels[k])
        writer.writerow([name, label, f"{float(scores.nats[k]):.4f}", f"{float(scores.bits_per_dim[k]):.6f}",
                         ranks[k]])
    return atomic.atomic_text(path, f.getvalue())  # a failed write leaves no half table


@dataclass(frozen=True)
class ScoredImages:
    """The result of :func:`score_source`: ``images`` uint8 ``[N, C, H, W]`` as the model sees
    them (for display), their ``names``, ``labels`` ``[N]`` or None, ``scores``, and one line
    per image left out (``problems``)."""

    images: torch.Tensor
    names: list[str]
    labels: torch.Tensor | None
    scores: Scores
    problems: list[str]


def score_source(model, source, *, label: int | None = None, resize: bool = False, gray: bool = False,
                 binarize: str = "none", data_dir=None, batch_size: int = 256) -> ScoredImages:
    """Read, fit, quantise and score the images of ``source`` (see :mod:`pixelcnn.evaluation.inputs`).

    Args:
        model: a pixelcnn model.
        source: a folder, ``file.npy``, ``file.npz[:key]`` or ``name[:split]``.
        label: the class of every image, for a class-conditional model (default: the source's labels).
        resize, gray: convert images of another size / colour images for a gray model.
        binarize: the run's ``data.binarize``; anything but "none" thresholds at 128 (a random
            draw would make an image's score depend on the draw).
        data_dir: where a named data set's files are.
    """
    from pixelcnn.errors import DataError
    from pixelcnn.evaluation.inputs import read_images
    from pixelcnn.labels import check_label
    from pixelcnn.levels import fixed_binarize, quantise, to_uint8

    cfg = model.config
    classes = getattr(cfg, "num_classes", 0)
    if label is not None and not classes:
        raise ConfigError("this model is not class-conditional; drop the class label")
    if label is not None:
        check_label(label, classes)
    found = read_images(source, (cfg.in_channels, *cfg.image_size), resize=resize, gray=gray, data_dir=data_dir)
    labels = found.labels
    if classes:
        if label is not None:
            labels = torch.full((len(found.names),), label, dtype=torch.int64)
        elif labels is None:
            raise DataError(f"the model is class-conditional but {source} has no labels; give the class (--class)")
    levels = quantise(found.images, cfg.levels, binarize=fixed_binarize(binarize)).long()  # [N, C, H, W]
    scores = score_images(model, levels, labels if classes else None, batch_size=batch_size)
    shown = to_uint8(levels, cfg.levels, how="stretch")
    return ScoredImages(shown, found.names, found.labels if label is None else labels, scores, found.problems)


def write_maps(folder: str | Path, scored: ScoredImages) -> Path:
    """One heat map PNG per image in ``folder`` (``00000.png``, ...; one colour scale for all, so
    they compare) and ``maps.npz`` (``names``, ``bits`` float32 ``[N, H, W]``). Numbered maps
    that an earlier call left in the folder beyond these images are removed."""
    import numpy as np

    from pixelcnn.evaluation.heatmap import save_heatmap
    from pixelcnn.images import save_npz

    folder = Path(folder)
    bits = scored.scores.maps / math.log(2)  # [N, H, W]
    top = float(bits.max()) if len(bits) else 1.0
    ranks = scored.scores.ranks.tolist()
    for k, name in enumerate(scored.names):
        title = f"{name}: {float(scored.scores.bits_per_dim[k]):.3f} bits/dim, rank {ranks[k]} of {len(ranks)}"
        save_heatmap(folder / f"{k:05d}.png", scored.images[k], bits[k], top=top, title=title)
    save_npz(folder / "maps.npz", names=np.array(scored.names), bits=bits)
    for old in folder.glob("[0-9][0-9][0-9][0-9][0-9]*.png"):  # maps of an earlier, larger set
        if old.stem.isdigit() and int(old.stem) >= len(scored.names):
            old.unlink()
    return folder
