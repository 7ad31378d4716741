"""The pictures a report makes with the run's latest model: completions, likelihood maps, receptive field.

Each returns PNG bytes and a caption, or raises :class:`~pixelcnn.errors.PixelCNNError`
with one line saying why it cannot be drawn (the report shows that line instead).
Randomness is fixed (seed 0), so a report regenerated from the same checkpoint
shows the same pictures.
"""

from __future__ import annotations

import torch

from pixelcnn.errors import DataError
from pixelcnn.evaluation.heatmap import heatmap_picture
from pixelcnn.images import grid_picture, png_bytes
from pixelcnn.levels import to_uint8
from pixelcnn.nn.condition import move_cond

EXAMPLES, COMPLETIONS = 4, 5


def example_images(meta: dict, model_config, count: int = EXAMPLES):
    """The first ``count`` images of the run's test split as levels ``[n, C, H, W]``, their
    conditions (labels, or labels and code maps; None for a model that is not conditional) and
    where they come from; DataError when the split does not fit the model of ``model_config``."""
    from pixelcnn.config import from_dict
    from pixelcnn.training.data import check_split, load_split

    data = from_dict(meta["run"]).data
    split = data.test_split or data.valid_split or "test"
    levels, labels = check_split(model_config, load_split(data, split, seed=meta["run"]["train"]["seed"]))
    return levels[:count].long(), move_cond(labels, lambda t: t[:count]), f"{data.name} {split}"


def completion_grid(model, levels: torch.Tensor, labels, scale: int = 3) -> tuple[bytes, str]:
    """Each image, its top half, then completions of the bottom half; one row per image."""
    cfg = model.config
    n, h = levels.shape[0], cfg.image_size[0]
    keep = h // 2
    device = next(model.parameters()).device
    known = levels.repeat_interleave(COMPLETIONS, 0).to(device)  # [n * k, C, H, W]
    mask = torch.zeros_like(known, dtype=torch.bool)
    mask[:, :, :keep] = True
    cond = _cond(model, labels, COMPLETIONS, device)
    g = torch.Generator(device=device).manual_seed(0)
    done = model.sample(known.shape[0], cond=cond, known=known, known_mask=mask, generator=g).cpu()
    rows = []
    for k in range(n):
        kept = levels[k].clone()
        kept[:, keep:] = 0
        rows += [levels[k : k + 1], kept[None], done[k * COMPLETIONS : (k + 1) * COMPLETIONS]]
    shown = to_uint8(torch.cat(rows), cfg.levels, how="stretch")
    picture = grid_picture(shown, nrow=2 + COMPLETIONS, scale=scale)
    return png_bytes(picture), (f"each row: a test image, its top {keep} of {h} rows, then {COMPLETIONS} samples "
                                f"of the other rows given them (seed 0)")


def likelihood_maps(model, levels: torch.Tensor, labels) -> tuple[list[bytes], str]:
    """A heat map picture per image (one colour scale for all), least likely first."""
    from pixelcnn.evaluation.scoring import score_images

    scores = score_images(model, levels, _cond(model, labels, 1, next(model.parameters()).device))
    bits = scores.maps / torch.log(torch.tensor(2.0))
    top = float(bits.max())
    order = torch.argsort(scores.nats, descending=True).tolist()
    shown = to_uint8(levels, model.config.levels, how="stretch")
    pictures = [png_bytes(heatmap_picture(shown[k], bits[k], top=top, scale=6,
                                          title=f"test image {k}: {float(scores.bits_per_dim[k]):.3f} bits/dim"))
                for k in order]
    return pictures, ("-log2 p of each pixel given the pixels before it (colours summed); bright = surprising; "
                      "one colour scale for all; the least likely image first")


def receptive_field_picture(model) -> tuple[bytes, str]:
    """The receptive field of the centre pixel's first colour, found by gradients through this model."""
    from pixelcnn.evaluation.fields import field_picture, receptive_field

    h, w = model.config.image_size
    field = receptive_field(model, (h // 2, w // 2), 0, generator=torch.Generator().manual_seed(0))
    data = png_bytes(field_picture(field, scale=max(4, min(12, 336 // max(h, w)))))
    return data, f"pixel {field.pixel}, channel 0: {field.summary()}"


def _cond(model, labels, repeat: int, device):
    """The conditions of each image (labels, maps), each repeated ``repeat`` times, on ``device``."""
    if not model.conditional:
        return None
    if labels is None:
        raise DataError("the model is conditional but the test split has no labels or maps for it")
    return move_cond(labels, lambda t: t.repeat_interleave(repeat, 0).to(device))
