"""The Pillow helpers of pixelcnn.images: pictures of [C, H, W] images and grids, PNG files and
bytes, reading image files (errors as one DataError line), text widths."""

import io

import numpy as np
import pytest
import torch

from pixelcnn.errors import DataError
from pixelcnn.images import (enlarge, font, grid_picture, open_picture, picture_header, png_bytes, save_grid,
                             save_png, text_width, to_picture)


def random_images(n, c, h, w, seed=0):
    return torch.randint(0, 256, (n, c, h, w), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("channels,mode", [(1, "L"), (3, "RGB")])
def test_to_picture_keeps_every_value_in_place(channels, mode):
    image = random_images(1, channels, 4, 6)[0]  # [C, 4, 6]
    for given in (image, image.numpy()):
        picture = to_picture(given)
        assert picture.mode == mode and picture.size == (6, 4)  # Pillow: (width, height)
        back = np.asarray(picture)
        back = back[None] if back.ndim == 2 else back.transpose(2, 0, 1)
        assert np.array_equal(back, image.numpy())


def test_enlarge_makes_each_pixel_a_square():
    image = random_images(1, 1, 3, 5)[0]
    big = np.asarray(enlarge(to_picture(image), 4))
    assert big.shape == (12, 20)
    assert np.array_equal(big, np.kron(image[0].numpy(), np.ones((4, 4), np.uint8)))
    picture = to_picture(image)
    assert enlarge(picture, 1) is picture


def test_grid_puts_image_k_at_row_k_div_nrow_and_column_k_mod_nrow(tmp_path):
    images = random_images(5, 3, 4, 4)
    picture = grid_picture(images, nrow=3, scale=2)
    assert picture.size == (2 * (3 * 6 + 2), 2 * (2 * 6 + 2))  # 3 x 2 cells of 4 + 2 padding pixels
    path = save_grid(images, tmp_path / "sub" / "grid.png", nrow=3, scale=2)
    grid = np.asarray(open_picture(path))  # [H, W, 3]
    assert np.array_equal(grid, np.asarray(picture))
    for k in range(5):
        r, q = divmod(k, 3)
        top, left = 2 * (2 + 6 * r), 2 * (2 + 6 * q)
        cell = grid[top : top + 8 : 2, left : left + 8 : 2].transpose(2, 0, 1)
        assert np.array_equal(cell, images[k].numpy()), k
    assert (grid[:4] == 255).all()  # the padding is white


def test_png_files_and_bytes_round_trip(tmp_path):
    image = random_images(1, 1, 7, 9)[0]
    data = png_bytes(to_picture(image), optimize=True, compress_level=9)
    assert data.startswith(b"\x89PNG")
    assert np.array_equal(np.asarray(open_picture(io.BytesIO(data))), image[0].numpy())
    path = save_png(to_picture(image), tmp_path / "a" / "b.png")
    assert path.read_bytes()[:4] == b"\x89PNG"
    assert picture_header(path) == ("L", (7, 9))
    assert np.array_equal(np.asarray(open_picture(path)), image[0].numpy())
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["b.png"]  # no temporary file left


def test_unreadable_files_are_one_data_error_naming_them(tmp_path):
    good = save_png(to_picture(random_images(1, 1, 64, 64)[0]), tmp_path / "good.png")
    cut = tmp_path / "cut.png"
    cut.write_bytes(good.read_bytes()[:100])  # the header survives, the pixels do not
    assert picture_header(cut) == ("L", (64, 64))
    with pytest.raises(DataError, match=r"cut.png: not a readable image \("):
        open_picture(cut)
    (tmp_path / "text.png").write_text("not an image")
    for read in (open_picture, picture_header):
        with pytest.raises(DataError, match=r"text.png: not a readable image \(UnidentifiedImageError"):
            read(tmp_path / "text.png")
        with pytest.raises(DataError, match=r"missing.png: not a readable image \(FileNotFoundError"):
            read(tmp_path / "missing.png")


def test_text_width_grows_with_the_text():
    small = font(12)
    assert text_width("", small) == 0
    assert 0 < text_width("bits", small) < text_width("bits/dim", small)
    assert text_width("bits", font(24)) >= text_width("bits", small)
