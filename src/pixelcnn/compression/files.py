"""Images in and out of the compressor: image files, folders and ``.npy`` arrays, strictly.

Compression is lossless, so nothing is converted silently: an image must have
the model's channels (Pillow mode L or 1 for a gray model, RGB for a colour
one), its size, and values its levels hold exactly. With L < 256 levels,
a uint8 value is exact when it is one of the L evenly spread values
``round(l * 255 / (L - 1))`` (black to white; what ``decompress`` writes
back); any other value is refused unless ``quantize`` is asked for, which
maps values to levels by :func:`pixelcnn.levels.to_levels` and loses the
difference. A folder is read recursively (hidden files skipped, paths
sorted) and every file in it must be a readable image. File names are not
stored: images come back as ``000000.png``, ``000001.png``, … in input order.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from pixelcnn.errors import DataError, PixelCNNError
from pixelcnn.levels import to_levels, to_uint8

MODES = {1: ("L", "1"), 3: ("RGB",)}


def read_inputs(paths, shape: tuple[int, int, int], levels: int, *, quantize: bool = False):
    """Levels (long ``[N, C, H, W]``) of every image of ``paths`` (files, folders, ``.npy``) and
    whether quantising changed any value; DataError naming the first image that does not fit."""
    parts, names = [], []
    for path in map(Path, paths):
        if path.is_dir():
            files = _files_under(path)
            if not files:
                raise DataError(f"{path}: no files")
            for file in files:
                parts.append(_read_image(file, shape))
                names.append(str(file))
        elif path.suffix == ".npy":
            from pixelcnn.data.arrays import read_array_file

            images, _ = read_array_file(path)
            if tuple(images.shape[1:]) != shape:
                raise DataError(f"{path}: images of shape {list(images.shape[1:])}, the model takes {list(shape)}")
            parts.append(images)
            names += [f"{path}[{k}]" for k in range(len(images))]
        elif path.is_file():
            parts.append(_read_image(path, shape))
            names.append(str(path))
        else:
            raise DataError(f"{path}: no such file or folder")
    if not parts:
        raise DataError("no input images")
    pixels = torch.cat(parts)  # uint8 [N, C, H, W]
    coded = to_levels(pixels, levels)
    inexact = (to_uint8(coded, levels, how="stretch") != pixels).flatten(1).any(1)
    if bool(inexact.any()) and not quantize:
        first = names[int(inexact.nonzero()[0])]
        raise DataError(f"{first}: has values the model's {levels} levels do not hold exactly; "
                        f"pass --quantize (quantize=True) to round them, which loses the difference")
    return coded, bool(inexact.any())


def write_outputs(images: torch.Tensor, out: str | Path, levels: int) -> Path:
    """Write long levels ``[N, C, H, W]`` as uint8: an ``.npy`` array, or one PNG per image in a folder."""
    from pixelcnn.atomic import atomic_write
    from pixelcnn.images import save_png, to_picture

    out = Path(out)
    pixels = to_uint8(images, levels, how="stretch").cpu().numpy()  # [N, C, H, W]
    if out.suffix == ".npy":
        return atomic_write(out, lambda f: np.save(f, pixels, allow_pickle=False))
    out.mkdir(parents=True, exist_ok=True)
    for k, image in enumerate(pixels):
        save_png(to_picture(image), out / f"{k:06d}.png")
    return out


def check_output(out: str | Path, force: bool, *, folder_ok: bool) -> Path:
    """An output path that may be written: an existing one only with ``force``; one clear line otherwise."""
    out = Path(out)
    if out.exists():
        is_folder = out.is_dir()
        if is_folder and not folder_ok:
            raise PixelCNNError(f"{out} is a folder; name a file")
        if (not is_folder or any(out.iterdir())) and not force:
            raise PixelCNNError(f"{out} exists; pass --force to overwrite it")
    elif not out.parent.is_dir():
        raise PixelCNNError(f"cannot write {out}: the folder {out.parent} does not exist")
    return out


def _files_under(folder: Path) -> list[Path]:
    files = [p for p in folder.rglob("*") if p.is_file()
             and not any(part.startswith(".") for part in p.relative_to(folder).parts)]
    return sorted(files, key=lambda p: p.relative_to(folder).as_posix())


def _read_image(path: Path, shape: tuple[int, int, int]) -> torch.Tensor:
    """uint8 ``[1, C, H, W]`` of one image file that has exactly the model's mode and size."""
    from pixelcnn.images import open_picture

    c, h, w = shape
    image = open_picture(path)
    mode, size = image.mode, (image.height, image.width)
    if mode not in MODES[c]:
        raise DataError(f"{path}: image mode {mode}, the model takes {' or '.join(MODES[c])} "
                        f"({'gray' if c == 1 else 'colour'}, {c} channel{'s' if c > 1 else ''})")
    if size != (h, w):
        raise DataError(f"{path}: {size[0]}x{size[1]} pixels (HxW), the model takes {h}x{w}")
    array = np.asarray(image.convert("L" if c == 1 else "RGB"))
    array = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)
    return torch.from_numpy(np.array(array, dtype=np.uint8, copy=True))[None]
