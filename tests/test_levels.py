import pytest
import torch

from pixelcnn.errors import ConfigError
from pixelcnn.levels import binarize, fixed_binarize, level_dtype, quantise, to_levels, to_uint8


def test_256_levels_are_the_identity():
    v = torch.arange(256, dtype=torch.uint8)
    assert torch.equal(to_levels(v, 256), v.long())
    assert torch.equal(to_uint8(v.long(), 256), v)


@pytest.mark.parametrize("levels", [2, 3, 4, 16, 100, 255])
def test_levels_cover_equal_bins_and_centres_round_trip(levels):
    v = torch.arange(256, dtype=torch.uint8)
    lv = to_levels(v, levels)
    assert lv.min() == 0 and lv.max() == levels - 1
    counts = torch.bincount(lv, minlength=levels)
    assert counts.max() - counts.min() <= 1  # bins as equal as 256 / L allows
    centres = to_uint8(torch.arange(levels), levels)
    assert torch.equal(to_levels(centres, levels), torch.arange(levels))


def test_two_levels_threshold_at_128_and_stretch_gives_black_and_white():
    assert to_levels(torch.tensor([0, 127, 128, 255], dtype=torch.uint8), 2).tolist() == [0, 0, 1, 1]
    assert to_uint8(torch.tensor([0, 1]), 2, how="stretch").tolist() == [0, 255]
    assert to_uint8(torch.tensor([0, 1]), 2, how="centre").tolist() == [64, 192]


def test_binarisation_kinds():
    x = torch.full((2000,), 64, dtype=torch.uint8)
    assert binarize(x, "threshold").unique().tolist() == [0]
    static = binarize(x, "static", seed=1)
    assert set(static.unique().tolist()) == {0, 255}
    assert abs(float((static == 255).float().mean()) - 64 / 255) < 0.03  # P(1) = v / 255
    assert torch.equal(static, binarize(x, "static", seed=1, epoch=5))  # static ignores the epoch
    assert not torch.equal(binarize(x, "dynamic", seed=1, epoch=0), binarize(x, "dynamic", seed=1, epoch=1))
    assert torch.equal(binarize(x, "dynamic", seed=1, epoch=3), binarize(x, "dynamic", seed=1, epoch=3))
    assert torch.equal(binarize(torch.tensor([0, 255], dtype=torch.uint8), "dynamic", epoch=2),
                       torch.tensor([0, 255], dtype=torch.uint8))


def test_level_errors():
    with pytest.raises(ConfigError, match="levels must be an integer in"):
        to_levels(torch.zeros(2, dtype=torch.uint8), 1)
    with pytest.raises(ConfigError, match="expects uint8"):
        to_levels(torch.zeros(2), 4)
    with pytest.raises(ConfigError, match="binarize must be"):
        binarize(torch.zeros(2, dtype=torch.uint8), "random")


def test_level_dtype_is_the_narrowest_that_holds_the_levels():
    assert [level_dtype(k) for k in (2, 256, 257, 2**15, 2**15 + 1, 65_536)] == [
        torch.uint8, torch.uint8, torch.int16, torch.int16, torch.int32, torch.int32]
    with pytest.raises(ConfigError, match=r"levels must be an integer in \[2, 65536\], got 65537"):
        level_dtype(65_537)


def test_quantise_is_to_levels_after_binarising_and_codes_pass_through():
    v = torch.arange(256, dtype=torch.uint8)
    q = quantise(v, 16)
    assert q.dtype == torch.uint8 and torch.equal(q.long(), to_levels(v, 16))
    assert torch.equal(quantise(v, 2, binarize="threshold").long(), to_levels(binarize(v, "threshold"), 2))
    codes = torch.tensor([0, 999, 65_535], dtype=torch.int32)
    assert quantise(codes, 65_536, kind="codes") is codes
    with pytest.raises(ConfigError, match=r"levels must be an integer in \[2, 256\], got 1000"):
        quantise(v, 1000)  # pixels: at most 256 levels
    assert fixed_binarize("dynamic") == fixed_binarize("static") == "threshold" and fixed_binarize("none") == "none"


def test_false_colour_gives_every_code_its_own_colour_and_pictures_keep_pixels_grey():
    from pixelcnn.levels import false_colour, picture

    codes = torch.arange(64).view(1, 1, 8, 8)
    rgb = false_colour(codes, 64)
    assert rgb.shape == (1, 3, 8, 8) and rgb.dtype == torch.uint8
    colours = {tuple(c) for c in rgb[0].permute(1, 2, 0).reshape(-1, 3).tolist()}
    assert len(colours) == 64
    assert torch.equal(false_colour(codes, 64), rgb)  # the same code, the same colour
    grey = picture(torch.tensor([[[[0, 3]]]]), 4)
    assert grey.shape == (1, 1, 1, 2) and grey.flatten().tolist() == [0, 255]
    assert picture(codes, 64, ordered=False).shape == (1, 3, 8, 8)
